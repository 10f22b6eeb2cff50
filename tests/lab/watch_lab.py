#!/usr/bin/env python3
"""Live capture in a network namespace, for tests/watch.rs.

    python3 tests/lab/watch_lab.py SMBSIGN OUT_DIR

As root: creates a network namespace (its own loopback), starts two Samba
smbd there (127.0.0.1 with `server signing = auto`, 127.0.0.2 with
`server signing = mandatory`), records lo with tcpdump and at the same time
runs `SMBSIGN watch -i lo --json` on it, drives smbclient against each
server, stops tcpdump, then stops the watch with SIGINT. Writes
OUT_DIR/watch.pcap, watch.jsonl (the watch's stdout), watch.err and
watch.rc, and deletes the namespace again. No traffic leaves it.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402

SERVERS = [("127.0.0.1", "auto"), ("127.0.0.2", "mandatory")]
FILTER = "tcp port 445"


def wait_port(ns, host, port):
    for _ in range(100):
        r = subprocess.run(["ip", "netns", "exec", ns, "bash", "-c",
                            f"exec 3<>/dev/tcp/{host}/{port}"], capture_output=True)
        if r.returncode == 0:
            return
        time.sleep(0.1)
    raise SystemExit(f"smbd did not start on {host}:{port} in {ns}")


def main():
    if os.geteuid() != 0:
        raise SystemExit("the watch lab needs root (network namespace, capture)")
    smbsign, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    ns = f"smbsign-watch-{os.getpid()}"
    inside = ["ip", "netns", "exec", ns]
    lab.sh(["ip", "netns", "add", ns])
    procs = []
    try:
        lab.sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        # The second server's address, on the namespace's own loopback.
        lab.sh(["ip", "-n", ns, "addr", "add", "127.0.0.2/8", "dev", "lo"])
        for host, signing in SERVERS:
            d = lab.prepare_lab(prefix=f"smbsign-watch-{signing}-")
            case = dict(name=signing, server={**lab.proto("SMB3_11"), "server signing": signing,
                                               "interfaces": f"{host}/32"})
            conf = lab.write_conf(d, case, 445)
            procs.append(subprocess.Popen(inside + ["smbd", "-F", "--no-process-group", "-s",
                                                    str(conf)], start_new_session=True,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_port(ns, host, 445)
        pcap = out / "watch.pcap"
        tcpdump = subprocess.Popen(inside + ["tcpdump", "-q", "-i", "lo", "-s", "0", "-U", "-w",
                                             str(pcap), FILTER],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        watch = subprocess.Popen(inside + [smbsign, "watch", "-i", "lo", "--json", "-f", FILTER,
                                           "--duration", "120"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        listening = watch.stderr.readline()
        if "listening" not in listening:
            raise SystemExit(f"smbsign watch did not start: {listening}")
        time.sleep(1.5)  # tcpdump opens its socket too
        cconf = out / "client.conf"
        cconf.write_text("[global]\n  workgroup = LAB\n")
        for host, _ in SERVERS:
            subprocess.run(inside + ["smbclient", "-s", str(cconf), f"//{host}/share",
                                     f"--user={lab.DOMAIN}/{lab.USER}%{lab.PASSWORD}",
                                     "-m", "SMB3_11", "-c", "ls; get hello.txt /dev/null"],
                           capture_output=True, timeout=60)
        time.sleep(1.5)
        tcpdump.send_signal(signal.SIGINT)
        tcpdump.wait(timeout=20)
        watch.send_signal(signal.SIGINT)
        stdout, stderr = watch.communicate(timeout=30)
        (out / "watch.jsonl").write_text(stdout)
        (out / "watch.err").write_text(listening + stderr)
        (out / "watch.rc").write_text(str(watch.returncode))
        os.chmod(pcap, 0o644)
    finally:
        for p in procs:
            lab.stop(p)
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
        for pid in pids.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "delete", ns])


if __name__ == "__main__":
    main()
