#!/usr/bin/env python3
"""Benchmark inputs from the lab, recorded like a real network: real Samba
smbd and smbclient inside a network namespace whose loopback has MTU 1500
and segmentation offloads off (so frames look like Ethernet's), captured
with tcpdump and a large buffer (the drop count is checked). One capture
per kind: SMB1 signed, 2.1 signed, 3.0.2 signed (CMAC), 3.1.1 signed
(GMAC), 3.1.1 encrypted, and a metadata-heavy one (many small files).
Not committed: scale them with examples/scale_capture.rs for benches.

    apt-get install -y samba smbclient tcpdump ethtool iproute2
    python3 tests/lab/bench_lab.py OUT_DIR [SIZE_MB]

    python3 tests/lab/bench_lab.py OUT_DIR SIZE_MB CASE,CASE   (only those)

Run as root. SIZE_MB (default 64) is the size of the file each case reads
(twice) and writes. The encrypted cases sign and encrypt (signing
mandatory, encryption required), AES-128-GCM and AES-128-CCM.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402  (the lab's configuration writer and account)

NS = "smbsign-bench"

CASES = [
    ("bench-smb1-signed", {**lab.SMB1, "server signing": "mandatory"}, ["-m", "NT1", "--option=client min protocol=NT1"], "big"),
    ("bench-smb21-signed", {**lab.proto("SMB2_10"), "server signing": "mandatory"}, ["-m", "SMB2_10", "--option=client min protocol=SMB2_10"], "big"),
    ("bench-smb302-cmac", {**lab.proto("SMB3_02"), "server signing": "mandatory"}, ["-m", "SMB3_02", "--option=client min protocol=SMB3_02"], "big"),
    ("bench-smb311-gmac", {**lab.proto("SMB3_11"), "server signing": "mandatory", "server smb3 signing algorithms": "AES-128-GMAC"}, ["-m", "SMB3_11"], "big"),
    ("bench-smb311-encrypted", {**lab.proto("SMB3_11"), "server signing": "mandatory", "server smb encrypt": "required"}, ["-m", "SMB3_11"], "big"),
    ("bench-smb311-encrypted-ccm", {**lab.proto("SMB3_11"), "server signing": "mandatory", "server smb encrypt": "required"},
     ["-m", "SMB3_11", "--option=client smb3 encryption algorithms=AES-128-CCM"], "big"),
    ("bench-metadata", {**lab.proto("SMB3_11"), "server signing": "mandatory"}, ["-m", "SMB3_11"], "small"),
]


def ns(*cmd, **kw):
    return subprocess.run(["ip", "netns", "exec", NS, *cmd], **kw)


def main():
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespace, smbd, tcpdump)")
    out_dir = Path(sys.argv[1]).resolve()
    size_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    only = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else None
    cases = [c for c in CASES if only is None or c[0] in only]
    if only is not None and len(cases) != len(only):
        raise SystemExit(f"unknown case in {sorted(only)}; cases: {[c[0] for c in CASES]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        ns("ip", "link", "set", "lo", "up", "mtu", "1500", check=True)
        ns("ethtool", "-K", "lo", "tso", "off", "gso", "off", "gro", "off", capture_output=True)
        work = tempfile.mkdtemp(prefix="smbsign-bench-lab-")
        os.chmod(work, 0o755)
        for sub in ["private", "lock", "state", "cache", "run", "ncalrpc", "bind-dns", "share"]:
            os.makedirs(f"{work}/{sub}", exist_ok=True)
        os.chmod(f"{work}/share", 0o777)
        with open(f"{work}/share/big.bin", "wb") as f:
            f.write(os.urandom(1 << 20) * size_mb)
        small = Path(f"{work}/share/small")
        small.mkdir()
        for k in range(2000):
            (small / f"f{k:04}.txt").write_text(f"file {k}\n")
        subprocess.run(["chmod", "-R", "a+rwX", f"{work}/share"], check=True)
        lab.ensure_user(work)
        base = lab.write_conf(work, dict(name="base", server={}), 445)
        subprocess.run(["pdbedit", "-s", str(base), "-a", "-u", lab.USER, "-t"],
                       input=f"{lab.PASSWORD}\n{lab.PASSWORD}\n", text=True, capture_output=True, check=True)
        cconf = Path(work) / "client.conf"
        cconf.write_text("[global]\n  workgroup = LAB\n")
        for name, server, client_args, kind in cases:
            conf = lab.write_conf(work, dict(name=name, server=server), 445)
            smbd = subprocess.Popen(["ip", "netns", "exec", NS, "smbd", "-F", "--no-process-group", "-s", str(conf)],
                                    start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(100):
                if ns("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/445", capture_output=True).returncode == 0:
                    break
                time.sleep(0.1)
            out = out_dir / f"{name}.pcap"
            cap = subprocess.Popen(["ip", "netns", "exec", NS, "tcpdump", "-i", "lo", "-B", "262144", "-s", "0",
                                    "-w", str(out), "tcp port 445"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(1.5)
            if kind == "big":
                cmds = "get big.bin /dev/null; put /etc/hostname up.txt; get big.bin /dev/null"
            else:
                cmds = "cd small; prompt; mget *; ls"
            run_dir = tempfile.mkdtemp(prefix="smbsign-bench-get-")
            r = ns("smbclient", "-s", str(cconf), "//127.0.0.1/share", f"--user={lab.DOMAIN}/{lab.USER}%{lab.PASSWORD}",
                   *client_args, "-c", cmds, cwd=run_dir, capture_output=True, text=True, timeout=600)
            time.sleep(1.0)
            cap.send_signal(2)
            _, err = cap.communicate(timeout=60)
            lab.stop(smbd)
            dropped = re.search(r"(\d+) packets? dropped by kernel", err or "")
            print(f"{out.name}: {out.stat().st_size / 1e6:.1f} MB, client exit {r.returncode}, "
                  f"dropped by kernel: {dropped.group(1) if dropped else '?'}", flush=True)
            if dropped and int(dropped.group(1)) != 0:
                raise SystemExit(f"{name}: tcpdump dropped packets; raise -B")
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)


if __name__ == "__main__":
    main()
