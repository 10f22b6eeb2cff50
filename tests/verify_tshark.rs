//! Cross-check with Wireshark: given the session keys smbsign derived
//! (`--export-keys`, Wireshark's SMB2 session key table format), tshark's
//! own verification (`smb2.good_signature` / `smb2.bad_signature`, two-pass)
//! agrees with smbsign's verdicts on the HMAC-SHA256 and AES-CMAC lab
//! captures, intact and with one byte flipped. On the AES-GMAC capture
//! tshark 4.0 reports every correctly signed message as bad (it computes no
//! GMAC), which smbsign verifies.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn smbsign_scan(capture: &Path, keys: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_smbsign"))
        .args([
            "scan",
            "--json",
            "--password",
            "LAB\\smblab:Passw0rd!",
            "--export-keys",
        ])
        .arg(keys)
        .arg(capture)
        .output()
        .unwrap();
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{out:?}"
    );
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    serde_json::from_str(&line).unwrap()
}

/// (good, bad) signature verdicts of tshark, counted per SMB2 message.
fn tshark_verdicts(capture: &Path, keys: &Path) -> (u64, u64) {
    let key = std::fs::read_to_string(keys).unwrap();
    let key = key.lines().next().expect("a derived session key");
    let out = Command::new("tshark")
        .args(["-2", "-n", "-r"])
        .arg(capture)
        .args(["-o", &format!("uat:smb2_seskey_list:{key}")])
        .args(["-o", "smb2.verify_signatures:TRUE"])
        .args([
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-e",
            "smb2.good_signature",
            "-e",
            "smb2.bad_signature",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut good, mut bad) = (0, 0);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut cols = line.split('\t');
        let count = |c: Option<&str>| {
            c.map_or(0, |v| {
                if v.is_empty() {
                    0
                } else {
                    v.split(',').count() as u64
                }
            })
        };
        good += count(cols.next());
        bad += count(cols.next());
    }
    (good, bad)
}

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("smbsign-vts-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn tampered(name: &str) -> PathBuf {
    let mut bytes = std::fs::read(common::repo().join("tests/captures").join(name)).unwrap();
    let at = memchr::memmem::find(&bytes, b"hello from the smbsign lab").unwrap();
    bytes[at + 3] ^= 0x20;
    let p = scratch().join(format!("tampered-{name}"));
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn hmac_and_cmac_verdicts_equal_wiresharks() {
    if !common::have_tool("tshark") {
        return;
    }
    for name in [
        "smb202-signed.pcap",
        "smb21-signed.pcap",
        "smb311-hmac.pcap",
        "smb30-signed.pcap",
        "smb302-signed.pcap",
        "smb311-cmac.pcap",
    ] {
        for (label, capture) in [
            ("intact", common::repo().join("tests/captures").join(name)),
            ("tampered", tampered(name)),
        ] {
            let keys = scratch().join(format!("{label}-{name}.keys"));
            let ours = smbsign_scan(&capture, &keys);
            let (good, bad) = tshark_verdicts(&capture, &keys);
            let verified = ours["verified_messages"].as_u64().unwrap();
            let forged = ours["forged_messages"].as_u64().unwrap();
            assert!(verified > 20, "{name} {label}");
            assert_eq!(
                (good, bad),
                (verified, forged),
                "{name} {label}: tshark (good, bad) vs smbsign"
            );
            assert_eq!(forged, u64::from(label == "tampered"), "{name} {label}");
        }
    }
}

#[test]
fn gmac_is_verified_where_wireshark_4_0_cannot() {
    if !common::have_tool("tshark") {
        return;
    }
    let version = Command::new("tshark").arg("--version").output().unwrap();
    if !String::from_utf8_lossy(&version.stdout).contains("4.0.") {
        eprintln!("note: tshark is not 4.0; its GMAC behaviour is not asserted");
        return;
    }
    let capture = common::repo().join("tests/captures/smb311-gmac.pcap");
    let keys = scratch().join("gmac.keys");
    let ours = smbsign_scan(&capture, &keys);
    let (good, bad) = tshark_verdicts(&capture, &keys);
    let verified = ours["verified_messages"].as_u64().unwrap();
    assert_eq!(ours["forged_messages"], 0);
    assert_eq!((good, bad), (0, verified), "tshark 4.0 computes no GMAC");
}

/// `--export-keys` writes the SMB3 cipher keys too: with them and a zeroed
/// session key (so tshark cannot derive its own), tshark decrypts the
/// encrypted lab capture; with neither, it does not.
#[test]
fn exported_cipher_keys_decrypt_in_wireshark() {
    if !common::have_tool("tshark") {
        return;
    }
    let capture = common::repo().join("tests/captures/smb311-encrypted.pcap");
    let keys = scratch().join("encrypted.keys");
    smbsign_scan(&capture, &keys);
    let line = std::fs::read_to_string(&keys).unwrap();
    let cols: Vec<&str> = line.lines().next().unwrap().split(',').collect();
    assert_eq!(cols.len(), 4);
    assert_eq!(cols[2].len(), 32, "AES-128: 16-byte cipher keys");
    let zero = "00".repeat(16);
    let trees = |entry: String| {
        let out = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&capture)
            .args(["-o", &format!("uat:smb2_seskey_list:{entry}")])
            .args(["-T", "fields", "-e", "smb2.tree"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("IPC$") || l.contains("share"))
            .count()
    };
    assert!(trees(format!("{},{zero},{},{}", cols[0], cols[2], cols[3])) >= 1);
    assert_eq!(trees(format!("{},{zero},\"\",\"\"", cols[0])), 0);
}
