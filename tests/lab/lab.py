#!/usr/bin/env python3
"""The smbsign lab: real Samba smbd on loopback, real clients (Samba's
smbclient, impacket), real captures (tcpdump / dumpcap).

Regenerates tests/captures/*.pcap[ng] and tests/captures/manifest.json.
Run as root on Debian 12 (it creates a Unix user and binds port 445):

    apt-get install -y samba smbclient tcpdump tshark python3-impacket
    python3 tests/lab/lab.py            # all cases
    python3 tests/lab/lab.py smb1-mode15 # one case

The manifest's "expect" block is written from each case's configuration
(what the settings must produce), never from smbsign's output, so the
tests that compare smbsign against it can fail.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "captures"
USER = "smblab"
PASSWORD = "Passw0rd!"
DOMAIN = "LAB"

SMB1 = {"server min protocol": "NT1", "server max protocol": "NT1"}


def proto(p):
    return {"server min protocol": p, "server max protocol": p}


# Each case: server options, client runs, and what the settings must yield.
# client runs: ("smbclient", [args]) or ("impacket", dialect)
CASES = [
    dict(name="smb1-mode3", server={**SMB1, "server signing": "disabled"},
         clients=[("smbclient", ["-m", "NT1", "--option=client min protocol=NT1"])],
         expect=dict(dialect="NT LANMAN 1.0", server_security_mode=3, server_signing="disabled",
                     signed=False),
         about="SMB1, server signing disabled: the KB's Security Mode 3"),
    dict(name="smb1-mode7", server={**SMB1, "server signing": "auto"},
         clients=[("smbclient", ["-m", "NT1", "--option=client min protocol=NT1"])],
         expect=dict(dialect="NT LANMAN 1.0", server_security_mode=7, server_signing="enabled"),
         about="SMB1, server signing enabled not required: Security Mode 7",
         samba_differs="Samba's smbclient default (client signing = if_required) signs only when the server requires it: against a server that merely enables signing (mode 7) the session runs unsigned, where the article's clients with signing enabled would sign."),
    dict(name="smb1-mode15", server={**SMB1, "server signing": "mandatory"},
         clients=[("smbclient", ["-m", "NT1", "--option=client min protocol=NT1"])],
         expect=dict(dialect="NT LANMAN 1.0", server_security_mode=15, server_signing="required",
                     signed=True),
         about="SMB1, server signing required: Security Mode 15, MD5-signed traffic"),
    dict(name="smb1-legacy-mode15",
         server={**SMB1, "server signing": "mandatory", "ntlm auth": "yes"},
         clients=[("smbclient", ["-m", "NT1", "--option=client min protocol=NT1",
                                 "--option=client use spnego=no",
                                 "--option=client ntlmv2 auth=no"])],
         expect=dict(server_security_mode=15, server_signing="required", legacy_auth=True,
                     signing_not_enforced=True, weak_auth=["ntlmv1-in-use"], key_derived=True),
         about="SMB1, server signing required (mode 15), a logon without extended security "
               "(NTLMv1 responses in SESSION_SETUP_ANDX)",
         samba_differs="Samba 4.17's smbd advertises mode 15 yet accepts this logon and then "
                       "exchanges only zero signatures with Samba's own client: signing is "
                       "advertised as required and not enforced."),
    dict(name="smb21-ntlmv1",
         server={**proto("SMB2_10"), "server signing": "mandatory", "ntlm auth": "yes"},
         clients=[("smbclient", ["-m", "SMB2_10", "--option=client min protocol=SMB2_10",
                                 "--option=client ntlmv2 auth=no"])],
         expect=dict(dialect="2.1", server_security_mode=3, server_signing="required", signed=True,
                     ntlm_version=1, weak_auth=["ntlmv1-in-use"]),
         about="SMB 2.1 signed, the client logs on with NTLMv1 (client ntlmv2 auth = no) "
               "inside SPNEGO"),
    dict(name="smb1-ntlmv1-signed",
         server={**SMB1, "server signing": "mandatory", "ntlm auth": "yes"},
         clients=[("smbclient", ["-m", "NT1", "--option=client min protocol=NT1",
                                 "--option=client use spnego=no",
                                 "--option=client ntlmv2 auth=no",
                                 "--option=client signing=required"])],
         expect=dict(dialect="NT LANMAN 1.0", server_security_mode=15, server_signing="required",
                     legacy_auth=True, ntlm_version=1, weak_auth=["ntlmv1-in-use"],
                     key_derived=True, client_rejected_setup=True),
         about="SMB1 without extended security: the challenge in the NEGOTIATE response, the "
               "NTLMv1 response in SESSION_SETUP_ANDX, the client requiring signing",
         samba_differs="Samba 4.17's smbd does not sign SMB1 logons without extended security: "
                       "its SESSION_SETUP_ANDX response carries the 'BSRSPYL ' placeholder, the "
                       "client (which requires signing) reports 'BAD SIG: seq 1' and gives up. "
                       "No available client and server pair signs such a session (impacket's "
                       "client and server leave signing off on this path), so the MAC key "
                       "(MD4(NT hash) followed by the NT response) is proven with the MS-NLMP "
                       "4.2.2 values in src/verify/ntlm.rs, and the capture proves the password "
                       "check and the key derivation."),
    dict(name="smb1-lanman-signed",
         server={**SMB1, "server signing": "mandatory", "ntlm auth": "yes", "lanman auth": "yes"},
         clients=[("smbclient", ["-m", "NT1", "--option=client min protocol=NT1",
                                 "--option=client use spnego=no",
                                 "--option=client ntlmv2 auth=no",
                                 "--option=client lanman auth=yes",
                                 "--option=client signing=required"])],
         expect=dict(dialect="NT LANMAN 1.0", server_security_mode=15, server_signing="required",
                     legacy_auth=True, ntlm_version=1,
                     weak_auth=["ntlmv1-in-use", "lm-response-sent"],
                     key_derived=True, client_rejected_setup=True),
         about="SMB1 without extended security: the challenge in the NEGOTIATE response, LM "
               "and NTLMv1 responses in SESSION_SETUP_ANDX, the client requiring signing",
         samba_differs="As smb1-ntlmv1-signed: Samba's smbd answers with the 'BSRSPYL ' "
                       "placeholder and the client gives up (BAD SIG: seq 1)."),
    dict(name="smb202-signed", server={**proto("SMB2_02"), "server signing": "mandatory"},
         clients=[("smbclient", ["-m", "SMB2_02", "--option=client min protocol=SMB2_02"])],
         expect=dict(dialect="2.0.2", server_security_mode=3, server_signing="required",
                     client_security_mode=1, client_signing="enabled", signed=True),
         about="SMB 2.0.2 signed with HMAC-SHA256"),
    dict(name="smb21-signed", server={**proto("SMB2_10"), "server signing": "mandatory"},
         clients=[("smbclient", ["-m", "SMB2_10", "--option=client min protocol=SMB2_10"])],
         expect=dict(dialect="2.1", server_security_mode=3, server_signing="required", signed=True),
         about="SMB 2.1 signed with HMAC-SHA256"),
    dict(name="smb30-signed", server={**proto("SMB3_00"), "server signing": "mandatory"},
         clients=[("smbclient", ["-m", "SMB3_00", "--option=client min protocol=SMB3_00"])],
         expect=dict(dialect="3.0", server_security_mode=3, server_signing="required", signed=True,
                     signing_algorithm="AES-128-CMAC"),
         about="SMB 3.0 signed with AES-128-CMAC"),
    dict(name="smb302-signed", server={**proto("SMB3_02"), "server signing": "mandatory"},
         clients=[("smbclient", ["-m", "SMB3_02", "--option=client min protocol=SMB3_02"])],
         expect=dict(dialect="3.0.2", server_security_mode=3, server_signing="required", signed=True,
                     signing_algorithm="AES-128-CMAC"),
         about="SMB 3.0.2 signed with AES-128-CMAC"),
    dict(name="smb311-gmac", server={**proto("SMB3_11"), "server signing": "mandatory",
                                     "server smb3 signing algorithms": "AES-128-GMAC"},
         clients=[("smbclient", ["-m", "SMB3_11"])],
         expect=dict(dialect="3.1.1", server_security_mode=3, server_signing="required", signed=True,
                     signing_algorithm="AES-128-GMAC"),
         about="SMB 3.1.1 signed with AES-128-GMAC (signing capabilities context)"),
    dict(name="smb311-cmac", server={**proto("SMB3_11"), "server signing": "mandatory",
                                     "server smb3 signing algorithms": "AES-128-CMAC"},
         clients=[("smbclient", ["-m", "SMB3_11"])],
         expect=dict(dialect="3.1.1", server_security_mode=3, server_signing="required", signed=True,
                     signing_algorithm="AES-128-CMAC"),
         about="SMB 3.1.1 signed with AES-128-CMAC"),
    dict(name="smb311-hmac", server={**proto("SMB3_11"), "server signing": "mandatory",
                                     "server smb3 signing algorithms": "HMAC-SHA256"},
         clients=[("smbclient", ["-m", "SMB3_11"])],
         expect=dict(dialect="3.1.1", server_security_mode=3, server_signing="required", signed=True,
                     signing_algorithm="HMAC-SHA256"),
         about="SMB 3.1.1 signed with HMAC-SHA256"),
    dict(name="smb311-client-required", server={**proto("SMB3_11"), "server signing": "auto"},
         clients=[("smbclient", ["-m", "SMB3_11", "--option=client signing=required"])],
         expect=dict(dialect="3.1.1", server_security_mode=1, server_signing="enabled",
                     client_security_mode=3, client_signing="required", signed=True),
         about="server signing enabled only, client requires it: traffic signed"),
    dict(name="smb311-unsigned", server={**proto("SMB3_11"), "server signing": "auto"},
         clients=[("smbclient", ["-m", "SMB3_11", "--option=client signing=disabled"])],
         expect=dict(dialect="3.1.1", server_security_mode=1, server_signing="enabled",
                     client_signing="enabled", signed=False),
         about="neither side requires signing: SMB3 traffic unsigned (NTLM relay exposure)"),
    dict(name="smb311-guest", server={**proto("SMB3_11"), "server signing": "auto"},
         clients=[("smbclient", ["-m", "SMB3_11", "--user=nosuchuser%whatever"])],
         expect=dict(dialect="3.1.1", server_signing="enabled", guest=True, signed=False),
         about="unknown user mapped to guest (map to guest = Bad User)"),
    dict(name="smb311-anonymous", server={**proto("SMB3_11"), "server signing": "auto"},
         clients=[("smbclient-list-anonymous", ["-m", "SMB3_11"])],
         expect=dict(dialect="3.1.1", server_signing="enabled", anonymous=True),
         about="null session share listing (smbclient -N -L)"),
    dict(name="smb311-encrypted", server={**proto("SMB3_11"), "server signing": "auto",
                                          "server smb encrypt": "required"},
         clients=[("smbclient", ["-m", "SMB3_11"])],
         expect=dict(dialect="3.1.1", server_signing="enabled", encrypted=True),
         about="server requires encryption: SMB3 transform messages"),
    dict(name="smb30-encrypted", server={**proto("SMB3_00"), "server signing": "auto",
                                         "server smb encrypt": "required"},
         clients=[("smbclient", ["-m", "SMB3_00", "--option=client min protocol=SMB3_00"])],
         expect=dict(dialect="3.0", server_signing="enabled", encrypted=True,
                     cipher="AES-128-CCM"),
         about="SMB 3.0, server requires encryption: AES-128-CCM transform messages"),
] + [
    dict(name=f"smb311-encrypted-{c.lower()}",
         server={**proto("SMB3_11"), "server signing": "auto", "server smb encrypt": "required"},
         clients=[("smbclient", ["-m", "SMB3_11",
                                 f"--option=client smb3 encryption algorithms={c}"])],
         expect=dict(dialect="3.1.1", server_signing="enabled", encrypted=True, cipher=c),
         about=f"SMB 3.1.1, server requires encryption, the client offers only {c}")
    for c in ["AES-128-CCM", "AES-128-GCM", "AES-256-CCM", "AES-256-GCM"]
] + [
    dict(name="smb311-share-encrypted", server={**proto("SMB3_11"), "server signing": "auto"},
         share={"smb encrypt": "required"},
         clients=[("smbclient", ["-m", "SMB3_11"])],
         expect=dict(dialect="3.1.1", server_signing="enabled", encrypted=True,
                     share_encrypt_data=True),
         about="SMB 3.1.1, encryption required on the share only (per-share encryption): "
               "the session in clear, the share's traffic encrypted"),
    dict(name="multiprotocol", server={"server min protocol": "NT1", "server max protocol": "SMB3",
                                       "server signing": "auto"},
         clients=[("smbclient", ["-m", "SMB3", "--option=client min protocol=NT1"])],
         expect=dict(dialect="3.1.1", server_signing="enabled", multiprotocol=True),
         about="SMB1 multi-protocol negotiate offering SMB2 dialects, answered with SMB2"),
    dict(name="two-connections", server={"server min protocol": "SMB3_02",
                                         "server max protocol": "SMB3_11",
                                         "server signing": "mandatory"},
         clients=[("smbclient", ["-m", "SMB3_11"]), ("smbclient", ["-m", "SMB3_02"])],
         expect=dict(connections=2, server_signing="required", signed=True),
         about="two connections (3.1.1 and 3.0.2) in one capture"),
    dict(name="ipv6", server={**proto("SMB3_11"), "server signing": "mandatory"}, host="::1",
         clients=[("smbclient", ["-m", "SMB3_11"])],
         expect=dict(dialect="3.1.1", server_signing="required", signed=True, ipv6=True),
         about="SMB over IPv6 loopback"),
    dict(name="port4455", server={**proto("SMB3_11"), "server signing": "mandatory"}, port=4455,
         clients=[("smbclient", ["-m", "SMB3_11"])],
         expect=dict(dialect="3.1.1", server_signing="required", signed=True, port=4455),
         about="SMB on a non-standard port (recognised by its framing)", dumpcap=True),
    dict(name="kb-client-requires-server-disabled",
         server={**SMB1, "server signing": "disabled"},
         clients=[("smbclient", ["-m", "NT1", "--option=client min protocol=NT1",
                                 "--option=client signing=required"])],
         expect=dict(dialect="NT LANMAN 1.0", server_security_mode=3, server_signing="disabled",
                     client_signing="required", mismatch=True, signed=True),
         about="KB scenario: client requires signing, server has it disabled",
         samba_differs="The article says the TCP session is closed after negotiate and the client "
                       "gets error 1240. Samba 4.17's smbd advertises mode 3 but, when the client "
                       "requires signing (Flags2 0x0014), signs anyway: the connection succeeds signed."),
    dict(name="kb-server-requires-client-disabled",
         server={**SMB1, "server signing": "mandatory"},
         clients=[("smbclient", ["-m", "NT1", "--option=client min protocol=NT1",
                                 "--option=client signing=disabled"])],
         expect=dict(dialect="NT LANMAN 1.0", server_security_mode=15, server_signing="required",
                     closed_after_negotiate=True),
         about="KB scenario: server requires signing, client has it disabled",
         samba_differs="The article says the client gets STATUS_ACCESS_DENIED on TREE_CONNECT or a "
                       "DFS referral. Samba's smbclient sees mode 15 in the negotiate response and "
                       "gives up before SESSION_SETUP (NT_STATUS_ACCESS_DENIED, 'client[disabled] "
                       "and server[required] mismatch'): the connection ends after negotiate."),
    dict(name="impacket-smb1", server={**SMB1, "server signing": "mandatory"},
         clients=[("impacket", "smb1")],
         expect=dict(dialect="NT LM 0.12", server_security_mode=15, server_signing="required",
                     signed=True),
         about="impacket SMB1 client against a signing-required server"),
    dict(name="impacket-smb21", server={**proto("SMB2_10"), "server signing": "auto"},
         clients=[("impacket", "smb2.1")],
         expect=dict(dialect="2.1", server_security_mode=1, server_signing="enabled"),
         about="impacket SMB 2.1 client, server signing not required"),
]


# Names a report must show as text, never as markup (the HTML report's
# test): a user and a share name holding tags, quotes and ampersands.
HOSTILE_USER = '<svg onload=alert("user")>&amp;x'
HOSTILE_SHARE = "<img src=x onerror=alert(1)>&\"q'"

CASES += [
    dict(name="hostile-names", server={**proto("SMB3_11"), "server signing": "auto"},
         clients=[("smbclient-raw", [f"//127.0.0.1/{HOSTILE_SHARE}", f"--user={HOSTILE_USER}%x",
                                     "-m", "SMB3_11", "-c", "ls"])],
         expect=dict(dialect="3.1.1", server_signing="enabled", guest=True,
                     user=HOSTILE_USER, tree_path=f"\\\\127.0.0.1\\{HOSTILE_SHARE}"),
         about="a user and a share name made of HTML markup, quotes and ampersands (an "
               "unknown user maps to guest; the share does not exist)"),
]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_user(lab):
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        sh(["useradd", "-M", "-s", "/usr/sbin/nologin", USER])


def write_conf(lab, case, port):
    d = lab
    opts = {
        "netbios name": "SMBLAB",
        "workgroup": DOMAIN,
        "server role": "standalone server",
        "interfaces": "127.0.0.1/8 ::1/128",
        "bind interfaces only": "yes",
        "smb ports": str(port),
        "private dir": f"{d}/private",
        "lock directory": f"{d}/lock",
        "state directory": f"{d}/state",
        "cache directory": f"{d}/cache",
        "pid directory": f"{d}/run",
        "ncalrpc dir": f"{d}/ncalrpc",
        "binddns dir": f"{d}/bind-dns",
        "log file": f"{d}/log.%m",
        "log level": "1",
        "passdb backend": f"tdbsam:{d}/private/passdb.tdb",
        "map to guest": "Bad User",
        "disable netbios": "yes",
        "load printers": "no",
        "printing": "bsd",
        "printcap name": "/dev/null",
        "disable spoolss": "yes",
        "server services": "smb",
        "ntlm auth": "ntlmv2-only",
    }
    opts.update(case["server"])
    lines = ["[global]"] + [f"  {k} = {v}" for k, v in opts.items()]
    lines += ["[share]", f"  path = {d}/share", "  read only = no", "  guest ok = yes"]
    lines += [f"  {k} = {v}" for k, v in case.get("share", {}).items()] + [""]
    conf = Path(d) / f"{case['name']}.conf"
    conf.write_text("\n".join(lines))
    return conf


def start_smbd(conf, port, host):
    p = subprocess.Popen(["smbd", "-F", "--no-process-group", "-s", str(conf)],
                         start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        r = subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/{host}/{port}"], capture_output=True)
        if r.returncode == 0:
            return p
        time.sleep(0.1)
    p.kill()
    raise SystemExit(f"smbd did not start on {host}:{port}")


def stop(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def run_client(lab, client, host, port):
    kind, arg = client
    cconf = Path(lab) / "client.conf"
    cconf.write_text("[global]\n  workgroup = LAB\n")
    # IPv6: name the server and give the address with -I (smbclient's
    # UNC parser does not take bracketed literals).
    target = "smblab" if ":" in host else host
    address = ["-I", host] if ":" in host else []
    if kind == "smbclient":
        cmd = ["smbclient", "-s", str(cconf), f"//{target}/share", *address, "-p", str(port),
               f"--user={DOMAIN}/{USER}%{PASSWORD}", *arg,
               "-c", "ls; get hello.txt /dev/null; put /etc/hostname upload.txt; ls"]
        # A --user in arg overrides the default one (guest case).
        if any(a.startswith("--user=") for a in arg):
            cmd.remove(f"--user={DOMAIN}/{USER}%{PASSWORD}")
    elif kind == "smbclient-raw":
        cmd = ["smbclient", "-s", str(cconf), "-p", str(port), *arg]
    elif kind == "smbclient-list-anonymous":
        cmd = ["smbclient", "-s", str(cconf), "--user=%", "-N", "-L", f"//{target}", *address, "-p", str(port),
               *arg]
    elif kind == "impacket":
        # Debian's python3-impacket lives in the system interpreter.
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        cmd = [python, str(Path(__file__).with_name("impacket_client.py")),
               host, str(port), arg, USER, PASSWORD, "share"]
    else:
        raise ValueError(kind)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return {"command": " ".join(cmd), "exit": r.returncode,
            "output": (r.stdout + r.stderr).strip().splitlines()[-6:]}


def run_case(lab, case):
    port = case.get("port", 445)
    host = case.get("host", "127.0.0.1")
    conf = write_conf(lab, case, port)
    ext = "pcapng" if case.get("dumpcap") else "pcap"
    out = OUT / f"{case['name']}.{ext}"
    if out.exists():
        out.unlink()
    smbd = start_smbd(conf, port, host)
    if case.get("dumpcap"):
        cap = subprocess.Popen(["dumpcap", "-q", "-i", "lo", "-f", f"tcp port {port}", "-w", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        cap = subprocess.Popen(["tcpdump", "-q", "-i", "lo", "-s", "0", "-U", "-w", str(out),
                                f"tcp port {port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    runs = [run_client(lab, c, host, port) for c in case["clients"]]
    time.sleep(1.0)
    cap.send_signal(signal.SIGINT)
    cap.wait(timeout=20)
    stop(smbd)
    os.chmod(out, 0o644)
    entry = {"file": out.name, "about": case["about"], "server_options": case["server"],
             "clients": runs, "expect": case["expect"]}
    if "samba_differs" in case:
        entry["samba_differs"] = case["samba_differs"]
    return entry


def prepare_lab(prefix="smbsign-lab-"):
    """A lab directory: Samba's state directories, a share with a file, the
    Unix user and its Samba account. Returns its path."""
    lab = tempfile.mkdtemp(prefix=prefix)
    os.chmod(lab, 0o755)
    for sub in ["private", "lock", "state", "cache", "run", "ncalrpc", "bind-dns", "share"]:
        os.makedirs(f"{lab}/{sub}", exist_ok=True)
    os.chmod(f"{lab}/share", 0o777)
    Path(f"{lab}/share/hello.txt").write_text("hello from the smbsign lab\n" * 2000)
    os.chmod(f"{lab}/share/hello.txt", 0o666)
    ensure_user(lab)
    # The Samba account, in the lab's own passdb.
    base = write_conf(lab, dict(name="base", server={}), 445)
    sh(["pdbedit", "-s", str(base), "-a", "-u", USER, "-t"], input=f"{PASSWORD}\n{PASSWORD}\n",
       text=True, stdout=subprocess.DEVNULL)
    return lab


def main():
    if os.geteuid() != 0:
        raise SystemExit("the lab needs root (useradd, port 445, capturing on lo)")
    names = set(sys.argv[1:])
    lab = prepare_lab()
    manifest_path = OUT / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest.setdefault("credentials", {"user": f"{DOMAIN}\\{USER}", "password": PASSWORD})
    manifest.setdefault("cases", {})
    for case in CASES:
        if names and case["name"] not in names:
            continue
        print("case", case["name"], flush=True)
        manifest["cases"][case["name"]] = run_case(lab, case)
    manifest["generated_by"] = "tests/lab/lab.py"
    manifest["samba"] = subprocess.run(["smbd", "--version"], capture_output=True,
                                       text=True).stdout.strip()
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    shutil.rmtree(lab, ignore_errors=True)


if __name__ == "__main__":
    main()
