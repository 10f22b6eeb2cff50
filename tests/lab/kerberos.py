#!/usr/bin/env python3
"""The Kerberos lab: a real Samba AD DC (samba-tool domain provision) in a
network namespace, real MIT kinit and Samba smbclient logging on with
Kerberos, real captures.

Regenerates tests/captures/kerberos/*.pcap, the keytab and manifest.json.
Run as root on Debian 12:

    apt-get install -y samba samba-ad-dc samba-ad-provision winbind krb5-user smbclient tcpdump
    python3 tests/lab/kerberos.py               # all cases
    python3 tests/lab/kerberos.py krb-smb311-gmac

All traffic stays in the namespace `smbsign-krb`, created here and deleted
again; its loopback holds the DC, dc1.lab.example = 10.88.0.10 (the
namespace's /etc/hosts names it: `ip netns exec` bind-mounts
/etc/netns/smbsign-krb/hosts). The client names the server, not its
address, so a service ticket for cifs/dc1.lab.example is requested.

Each case is captured twice at once: ports 88 and 445 (`NAME.pcap`: the
AS and TGS exchanges with the KDC, then SMB), and port 445 alone
(`NAME-smb.pcap`: only the keytab can give the keys). The manifest's
"expect" block comes from how each case was made.
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

NS = "smbsign-krb"
ADDR = "10.88.0.10"
REALM = "LAB.EXAMPLE"
HOST = "dc1.lab.example"
USER = "bob"
PASSWORD = "B0b!Passw0rd"
ADMIN_PASSWORD = "Adm1n!Passw0rd"
OUT = lab.ROOT / "tests" / "captures" / "kerberos"
KEYTAB = "dc1.keytab"
USER_KEYTAB = "bob.keytab"

AES = "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96"
RC4 = "arcfour-hmac"

# name: (smbclient options, kinit's enctypes, expect). With RC4 only, kinit's
# AS exchange uses RC4 (the user's key and the TGT session key); smbclient's
# own TGS request still gets an AES256 service ticket and session key from
# Samba 4.17's KDC (neither "kerberos encryption types = legacy" nor the
# service's msDS-SupportedEncryptionTypes = 4 changed that), so the RC4 is
# in the KDC exchange: the keytab-only capture of that case has none.
CASES = {
    "krb-smb21": (["-m", "SMB2_10", "--option=client min protocol=SMB2_10"], AES,
                  dict(dialect="2.1", signing_algorithm="HMAC-SHA256", etype=18)),
    "krb-smb30": (["-m", "SMB3_00", "--option=client min protocol=SMB3_00"], AES,
                  dict(dialect="3.0", signing_algorithm="AES-128-CMAC", etype=18)),
    "krb-smb302": (["-m", "SMB3_02", "--option=client min protocol=SMB3_02"], AES,
                   dict(dialect="3.0.2", signing_algorithm="AES-128-CMAC", etype=18)),
    "krb-smb311-cmac": (["-m", "SMB3_11",
                         "--option=client smb3 signing algorithms=AES-128-CMAC"], AES,
                        dict(dialect="3.1.1", signing_algorithm="AES-128-CMAC", etype=18)),
    "krb-smb311-gmac": (["-m", "SMB3_11",
                         "--option=client smb3 signing algorithms=AES-128-GMAC"], AES,
                        dict(dialect="3.1.1", signing_algorithm="AES-128-GMAC", etype=18)),
    "krb-rc4": (["-m", "SMB3_11"], RC4,
                dict(dialect="3.1.1", etype=18, kdc_etype=23, weak_auth=["kerberos-rc4"])),
    "krb-client-required": (["-m", "SMB3_11", "--option=client signing=required"], AES,
                            dict(dialect="3.1.1", client_signing="required", etype=18)),
    # Encrypted with AES-256-GCM: its cipher keys come from the whole
    # 32-byte Kerberos session key.
    "krb-smb311-aes256-encrypted": (["-m", "SMB3_11", "--option=client smb encrypt=required",
                                     "--option=client smb3 encryption algorithms=AES-256-GCM"],
                                    AES, dict(dialect="3.1.1", cipher="AES-256-GCM", etype=18,
                                              encrypted=True)),
}


def sh(*cmd, ns=True, **kw):
    full = ["ip", "netns", "exec", NS, *cmd] if ns else list(cmd)
    return subprocess.run(full, check=True, **kw)


def krb5_conf(path, enctypes):
    path.write_text(f"""[libdefaults]
  default_realm = {REALM}
  dns_lookup_realm = false
  dns_lookup_kdc = false
  rdns = false
  allow_weak_crypto = true
  default_tkt_enctypes = {enctypes}
  default_tgs_enctypes = {enctypes}
  permitted_enctypes = {enctypes}
[realms]
  {REALM} = {{
    kdc = {ADDR}
  }}
[domain_realm]
  .lab.example = {REALM}
  lab.example = {REALM}
""")


def provision(work):
    dc = work / "dc"
    sh("samba-tool", "domain", "provision", f"--realm={REALM}", "--domain=LAB",
       "--server-role=dc", "--dns-backend=NONE", f"--adminpass={ADMIN_PASSWORD}",
       f"--targetdir={dc}", f"--host-ip={ADDR}", "--host-name=dc1",
       "--option=interfaces=lo", "--option=bind interfaces only=yes",
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conf = dc / "etc" / "smb.conf"
    text = conf.read_text()
    text = text[:text.index("[homes]")]
    text = text.replace("\tlog file = /var/log/samba/log.%m\n",
                        f"\tlog file = {dc}/log.%m\n\tpid directory = {dc}/run\n"
                        "\tload printers = no\n\tprinting = bsd\n\tprintcap name = /dev/null\n"
                        "\tdisable spoolss = yes\n")
    share = work / "share"
    share.mkdir()
    os.chmod(share, 0o777)
    (share / "hello.txt").write_text("hello from the smbsign kerberos lab\n" * 2000)
    text += f"[share]\n\tpath = {share}\n\tread only = No\n"
    conf.write_text(text)
    (dc / "run").mkdir(exist_ok=True)
    return conf


def start_dc(conf):
    p = subprocess.Popen(["ip", "netns", "exec", NS, "samba", "-i", "-M", "single", "-s",
                          str(conf)], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(150):
        r = subprocess.run(["ip", "netns", "exec", NS, "bash", "-c",
                            f"exec 3<>/dev/tcp/{ADDR}/445 && exec 4<>/dev/tcp/{ADDR}/88"],
                           capture_output=True)
        if r.returncode == 0:
            return p
        time.sleep(0.2)
    lab.stop(p)
    raise SystemExit("samba (AD DC) did not start")


def capture(path, bpf):
    return subprocess.Popen(["ip", "netns", "exec", NS, "tcpdump", "-q", "-i", "lo", "-s", "0",
                             "-U", "-w", str(path), bpf],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_case(work, name, options, enctypes, expect):
    conf = work / f"{name}.krb5.conf"
    krb5_conf(conf, enctypes)
    cache = work / f"{name}.ccache"
    env = {**os.environ, "KRB5_CONFIG": str(conf), "KRB5CCNAME": f"FILE:{cache}"}
    both, smb = OUT / f"{name}.pcap", OUT / f"{name}-smb.pcap"
    caps = [capture(both, "port 88 or port 445"), capture(smb, "port 445")]
    time.sleep(1.5)
    kinit = subprocess.run(["ip", "netns", "exec", NS, "kinit", f"{USER}@{REALM}"],
                           input=PASSWORD + "\n", text=True, capture_output=True, env=env,
                           timeout=30)
    cmd = ["ip", "netns", "exec", NS, "smbclient", f"//{HOST}/share", "--use-kerberos=required",
           f"--use-krb5-ccache={cache}", *options,
           "-c", "ls; get hello.txt /dev/null; put /etc/hostname upload.txt; ls"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    time.sleep(1.0)
    for c in caps:
        c.send_signal(signal.SIGINT)
        c.wait(timeout=20)
    for f in (both, smb):
        os.chmod(f, 0o644)
    return {"file": both.name, "smb_only_file": smb.name,
            "client": {"kinit_exit": kinit.returncode, "command": " ".join(cmd[4:]),
                       "exit": r.returncode,
                       "output": (r.stdout + r.stderr).strip().splitlines()[-4:]},
            "client_enctypes": enctypes, "expect": expect}


def main():
    if os.geteuid() != 0:
        raise SystemExit("the lab needs root (network namespace, capturing)")
    names = set(sys.argv[1:])
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="smbsign-krb-"))
    os.chmod(work, 0o755)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    etc = Path("/etc/netns") / NS
    dc = None
    try:
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", NS, "addr", "add", f"{ADDR}/32", "dev", "lo"], check=True)
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text(f"127.0.0.1 localhost\n{ADDR} {HOST} dc1\n")
        conf = provision(work)
        dc = start_dc(conf)
        sh("samba-tool", "user", "create", USER, PASSWORD, "-s", str(conf),
           stdout=subprocess.DEVNULL)
        keytab = OUT / KEYTAB
        keytab.unlink(missing_ok=True)
        sh("samba-tool", "domain", "exportkeytab", str(keytab), "--principal=DC1$", "-s",
           str(conf), stdout=subprocess.DEVNULL)
        os.chmod(keytab, 0o644)
        # The user's keys too: Samba's own string-to-key of the password,
        # an independent check of smbsign's.
        user_keytab = OUT / USER_KEYTAB
        user_keytab.unlink(missing_ok=True)
        sh("samba-tool", "domain", "exportkeytab", str(user_keytab), f"--principal={USER}", "-s",
           str(conf), stdout=subprocess.DEVNULL)
        os.chmod(user_keytab, 0o644)
        manifest_path = OUT / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        manifest["credentials"] = {"user": f"LAB\\{USER}", "principal": f"{USER}@{REALM}",
                                   "password": PASSWORD, "keytab": KEYTAB,
                                   "keytab_principal": f"DC1$@{REALM}",
                                   "user_keytab": USER_KEYTAB}
        manifest.setdefault("cases", {})
        for name, (options, enctypes, expect) in CASES.items():
            if names and name not in names:
                continue
            print("case", name, flush=True)
            manifest["cases"][name] = run_case(work, name, options, enctypes, expect)
        manifest["generated_by"] = "tests/lab/kerberos.py"
        manifest["samba"] = subprocess.run(["samba", "--version"], capture_output=True,
                                           text=True).stdout.strip()
        manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    finally:
        if dc is not None:
            lab.stop(dc)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        shutil.rmtree(etc, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
