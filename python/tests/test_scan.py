"""The Python package against the CLI: on every lab capture and every
capture of the public corpus, `smbsign.scan` gives the same connections and
hosts as `smbsign scan --json` and `smbsign hosts --json`; `scan_many`
the same as the CLI over all of them at once (relays across files, the
relay list); bytes the same as the file; errors the CLI's messages.

The CLI is `$SMBSIGN_CLI` (tests/run.sh passes the build it tested), or
target/debug/smbsign. The corpus is `$SMBSIGN_CORPUS` or ../shared/corpus:
missing, its tests fail under CI and skip, loudly, elsewhere.
"""

import json
import os
import pathlib
import subprocess

import pytest

import smbsign

REPO = pathlib.Path(__file__).resolve().parents[2]
LAB = REPO / "tests" / "captures"
PASSWORD = "LAB\\smblab:Passw0rd!"
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz", ".cap")


def cli_path():
    path = os.environ.get("SMBSIGN_CLI") or str(REPO / "target" / "debug" / "smbsign")
    if not os.access(path, os.X_OK):
        pytest.fail(f"the smbsign CLI is not built at {path} (cargo build, or set SMBSIGN_CLI)")
    return path


def captures_under(folder):
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.name.endswith(CAPTURE_SUFFIXES)
    )


def lab_captures():
    return captures_under(LAB)


def corpus_dir():
    return pathlib.Path(os.environ.get("SMBSIGN_CORPUS", REPO.parent / "shared" / "corpus")).resolve()


def corpus_captures():
    folder = corpus_dir()
    if not folder.is_dir():
        if os.environ.get("CI") not in (None, "", "false"):
            pytest.fail(f"the corpus is required under CI: {folder} is missing")
        print(f"\n*** SKIPPING corpus comparisons: {folder} is missing ***\n")
        return []
    return captures_under(folder)


def cli(*args):
    out = subprocess.run([cli_path(), *args], capture_output=True)
    return out


def json_lines(data):
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def all_captures():
    return lab_captures() + corpus_captures()


@pytest.fixture(scope="module")
def every_capture():
    files = all_captures()
    assert len(files) >= 40, files
    return files


def test_scan_equals_the_cli_on_every_capture(every_capture):
    compared = 0
    for path in every_capture:
        args = ["--password", PASSWORD] if LAB in path.parents else []
        out = cli("scan", "--json", "--no-progress", *args, str(path))
        theirs = json_lines(out.stdout)
        try:
            kw = {"password": PASSWORD} if args else {}
            result = smbsign.scan(str(path), **kw)
        except smbsign.TruncatedCaptureError as e:
            # The CLI says the same and exits 2, having printed what it read.
            assert out.returncode == 2, path
            assert e.reason in out.stderr.decode(), (path, e.reason, out.stderr)
            result = e.result
        else:
            assert out.returncode in (0, 1), (path, out.stderr)
        mine = [c.to_dict() for c in result.connections]
        assert mine == theirs, path
        hosts = json_lines(cli("hosts", "--json", "--no-progress", *args, str(path)).stdout)
        assert [h.to_dict() for h in result.hosts] == hosts, path
        compared += len(mine)
    assert compared >= 100, compared


def test_scan_many_equals_the_cli_over_all_captures_at_once(every_capture, tmp_path):
    files = [str(p) for p in every_capture]
    relay_list = tmp_path / "relay.txt"
    out = cli("scan", "--json", "--no-progress", "-j", "2", *files)
    result = smbsign.scan_many(files, jobs=2)
    assert [c.to_dict() for c in result.connections] == json_lines(out.stdout)
    hosts = cli("hosts", "--json", "--no-progress", "--relay-list", str(relay_list), *files)
    assert [h.to_dict() for h in result.hosts] == json_lines(hosts.stdout)
    assert result.relay_targets == relay_list.read_text().split()
    # Whatever the number of threads, the same result.
    one = smbsign.scan_many(files, jobs=1)
    assert one.to_dict()["connections"] == result.to_dict()["connections"]
    # A file the CLI cannot read is an error of its own, the rest read.
    failed = {f.name: f.error for f in result.errors}
    for line in out.stderr.decode().splitlines():
        if line.startswith("smbsign: ") and ": " in line[9:]:
            name, reason = line[9:].split(": ", 1)
            if name in failed:
                assert failed[name] == reason


def test_relays_split_over_two_files_are_found_as_the_cli_finds_them():
    attacks = LAB / "attacks"
    victim, target = attacks / "relay-auto-victim.pcap", attacks / "relay-auto-target.pcap"
    result = smbsign.scan_many([victim, target], jobs=2)
    codes = [code for c in result.connections for code in c.finding_codes]
    # How the capture was made (tests/captures/attacks/manifest.json): a relay.
    manifest = json.loads((attacks / "manifest.json").read_text())
    assert "relay-auto" in json.dumps(manifest)
    assert "ntlm-relay" in codes
    out = cli("scan", "--json", "--no-progress", str(victim), str(target))
    assert [c.to_dict() for c in result.connections] == json_lines(out.stdout)


def test_bytes_are_scanned_as_the_file():
    path = LAB / "smb311-gmac.pcap"
    from_file = smbsign.scan(path, password=PASSWORD).to_dict()["connections"]
    from_bytes = smbsign.scan(path.read_bytes(), password=PASSWORD, name=str(path))
    assert from_bytes.to_dict()["connections"] == from_file
    assert smbsign.scan(path.read_bytes()).connections[0].file == "<bytes>"


def test_typed_objects_carry_the_lab_configuration():
    # smb311-gmac: Samba "server signing = mandatory", smbclient with the
    # lab password, AES-128-GMAC (tests/captures/manifest.json).
    manifest = json.loads((LAB / "manifest.json").read_text())["cases"]["smb311-gmac"]["expect"]
    c = smbsign.scan(LAB / "smb311-gmac.pcap", password=PASSWORD).connections[0]
    assert c.dialect == manifest["dialect"]
    assert c.server_signing == manifest["server_signing"]
    assert isinstance(c.sessions[0], smbsign.Session)
    assert c.sessions[0].user == "LAB\\smblab"
    v = c.verification
    assert isinstance(v, smbsign.Verification)
    assert v.verified_messages == c.signed_messages and v.forged_messages == 0
    assert all(isinstance(f, smbsign.Finding) for f in c.findings)
    with pytest.raises(AttributeError, match="no field 'no_such_field'"):
        c.no_such_field


def test_a_wrong_password_is_wrong_credentials_never_forged():
    c = smbsign.scan(LAB / "smb311-gmac.pcap", password="LAB\\smblab:not-the-password").connections[0]
    assert "wrong-credentials" in c.finding_codes
    assert c.verification.forged_messages == 0
    assert "not-the-password" not in json.dumps(c.to_dict())


def test_errors_are_exceptions_with_the_cli_messages(tmp_path):
    missing = tmp_path / "missing.pcap"
    with pytest.raises(smbsign.CaptureNotFoundError) as e:
        smbsign.scan(missing)
    assert isinstance(e.value, FileNotFoundError)
    assert f"smbsign: {e.value}" in cli("scan", str(missing)).stderr.decode()

    text = tmp_path / "notes.txt"
    text.write_text("not a capture\n")
    with pytest.raises(smbsign.NotACaptureError) as e:
        smbsign.scan(text)
    assert f"smbsign: {e.value}" in cli("scan", str(text)).stderr.decode()

    # Cut a lab capture inside its last record: what was read comes along.
    whole = (LAB / "smb311-gmac.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole[: len(whole) - 100])
    with pytest.raises(smbsign.TruncatedCaptureError) as e:
        smbsign.scan(cut)
    out = cli("scan", "--json", "--no-progress", str(cut))
    assert out.returncode == 2
    assert f"smbsign: {e.value}" in out.stderr.decode()
    assert [c.to_dict() for c in e.value.result.connections] == json_lines(out.stdout)
    assert len(e.value.result.connections) == 1

    with pytest.raises(smbsign.CredentialsError, match="USER:PASSWORD"):
        smbsign.scan(LAB / "smb311-gmac.pcap", password="no-colon-here")
    with pytest.raises(TypeError):
        smbsign.scan(12345)


def test_tables_have_one_row_per_connection_and_finding_with_typed_columns():
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    result = smbsign.scan_many(lab_captures(), jobs=2)
    frame = smbsign.to_pandas(result)
    assert len(frame) == len(result.connections)
    assert str(frame["first_frame"].dtype) == "Int64"
    assert str(frame["closed"].dtype) == "boolean"
    assert str(frame["server_signing"].dtype) == "string"
    findings = smbsign.to_pandas(result, "findings")
    assert len(findings) == sum(len(c.findings) for c in result.connections)
    assert set(findings["code"]) == {f.code for c in result.connections for f in c.findings}
    table = smbsign.to_arrow(result, "findings")
    assert table.num_rows == len(findings)
    assert table.schema.field("frames").type == pa.list_(pa.int64())
    hosts = smbsign.to_pandas(result, "hosts")
    targets = set(hosts[hosts["relay_target"]]["address"])
    assert targets == set(result.relay_targets)
    with pytest.raises(ValueError, match="table: one of"):
        smbsign.to_pandas(result, "nope")
    assert isinstance(frame, pd.DataFrame)


def test_help_says_what_a_user_needs():
    doc = smbsign.scan.__doc__
    for word in ("password", "nt_hash", "session_key", "keytab", "credentials", "bytes",
                 "TruncatedCaptureError", "ScanResult"):
        assert word in doc, word
    assert "jobs" in smbsign.scan_many.__doc__
    stub = pathlib.Path(smbsign.__file__).with_suffix(".pyi")
    assert stub.exists() and "def scan(" in stub.read_text()
