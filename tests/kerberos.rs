//! Kerberos verification on the Kerberos lab's captures (a real Samba AD
//! DC, kinit and smbclient; tests/lab/kerberos.py): with the DC's keytab
//! alone, and with the user's password alone when the capture holds the
//! KDC exchange (or another file of the run does), every signed message
//! is valid and the session names its user; a wrong keytab or password is
//! `wrong-credentials`, never a forgery. Expectations come from the
//! manifest the lab wrote from each case's configuration.

mod common;

use serde_json::Value;
use smbsign::posture::{ConnectionReport, FindingCode};
use smbsign::scan::{ScanOptions, Scanner};
use smbsign::verify::Credentials;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

fn dir() -> PathBuf {
    common::repo().join("tests/captures/kerberos")
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(dir().join("manifest.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest is JSON")
}

/// (case name, the file with the KDC exchange, the SMB-only file, expect).
fn cases() -> Vec<(String, PathBuf, PathBuf, Value)> {
    let m = manifest();
    let cases = m["cases"].as_object().expect("cases");
    assert!(cases.len() >= 7, "{} Kerberos cases", cases.len());
    cases
        .iter()
        .map(|(name, c)| {
            (
                name.clone(),
                dir().join(c["file"].as_str().unwrap()),
                dir().join(c["smb_only_file"].as_str().unwrap()),
                c["expect"].clone(),
            )
        })
        .collect()
}

fn password() -> String {
    let c = &manifest()["credentials"];
    format!(
        "{}:{}",
        c["user"].as_str().unwrap(),
        c["password"].as_str().unwrap()
    )
}

fn scan(creds: Credentials, path: &PathBuf) -> Vec<ConnectionReport> {
    let out = Scanner::new(ScanOptions::with_credentials(Arc::new(creds)))
        .scan(path)
        .unwrap();
    assert!(out.error.is_none(), "{}: {:?}", path.display(), out.error);
    out.connections
}

fn keytab(name: &str) -> Credentials {
    let mut c = Credentials::default();
    c.add_keytab_file(&dir().join(name)).unwrap();
    c
}

/// Every signed message valid, every session keyed and named. (An
/// encrypted session signs only its SESSION_SETUP response.)
fn all_valid(reports: &[ConnectionReport], ctx: &str) {
    assert_eq!(reports.len(), 1, "{ctx}");
    let r = &reports[0];
    let ctx = format!("{ctx}: {}", serde_json::to_string(r).unwrap());
    if r.encrypted_messages > 0 {
        assert!(
            r.encrypted_messages >= 25 && r.signed_messages >= 1,
            "{ctx}"
        );
    } else {
        assert!(r.signed_messages >= 25, "{ctx}");
    }
    assert_eq!(r.verified_messages, Some(r.signed_messages), "{ctx}");
    assert_eq!(r.forged_messages, Some(0), "{ctx}");
    assert_eq!(r.no_key_messages, Some(0), "{ctx}");
    for s in &r.sessions {
        assert_eq!(
            s.key.as_ref().map(|k| k.text()).as_deref(),
            Some("ready"),
            "{ctx}"
        );
        assert_eq!(s.user.as_deref(), Some("LAB.EXAMPLE\\bob"), "{ctx}");
        let k = s.kerberos.as_ref().expect("kerberos enctypes");
        assert_eq!(k.ticket_enctype, "aes256-cts-hmac-sha1-96", "{ctx}");
    }
}

#[test]
fn the_keytab_alone_verifies_every_kerberos_session() {
    for (name, both, smb, expect) in cases() {
        for file in [&both, &smb] {
            let reports = scan(keytab("dc1.keytab"), file);
            all_valid(&reports, &format!("{name} keytab {}", file.display()));
            let r = &reports[0];
            if let Some(d) = expect["dialect"].as_str() {
                assert_eq!(r.dialect.as_ref().map(|d| d.name()).as_deref(), Some(d));
            }
            if let Some(a) = expect["signing_algorithm"].as_str() {
                assert_eq!(r.signing_algorithm.map(|a| a.name()), Some(a), "{name}");
            }
            if let Some(c) = expect["cipher"].as_str() {
                assert_eq!(r.cipher.map(|c| c.name()), Some(c), "{name}");
            }
            let encrypted = expect["encrypted"].as_bool().unwrap_or(false);
            assert_eq!(r.encrypted_messages > 0, encrypted, "{name}");
        }
    }
}

#[test]
fn the_password_alone_verifies_through_the_kdc_exchange() {
    for (name, both, smb, expect) in cases() {
        let mut c = Credentials::default();
        c.add_password(&password()).unwrap();
        // The KDC exchange in the same file: learnt as the scan reads it.
        let reports = scan(c.clone(), &both);
        all_valid(&reports, &format!("{name} password"));
        // RC4 on the way is named; AES-only logons are not flagged.
        let rc4 = expect["weak_auth"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "kerberos-rc4"));
        let flagged = reports[0]
            .findings
            .iter()
            .find(|f| f.code == FindingCode::KerberosRc4);
        assert_eq!(flagged.is_some(), rc4, "{name}: kerberos-rc4");
        if let Some(f) = flagged {
            // Both sides are told to allow AES only.
            use smbsign::posture::kb::{Side, kerberos_aes_fix};
            let fixes: Vec<(Side, String)> = f
                .fixes
                .iter()
                .map(|x| (x.side, x.setting.clone()))
                .collect();
            assert_eq!(
                fixes,
                vec![
                    (Side::Client, kerberos_aes_fix(Side::Client).to_string()),
                    (Side::Server, kerberos_aes_fix(Side::Server).to_string())
                ]
            );
            assert!(f.message.contains("LAB.EXAMPLE\\bob"), "{}", f.message);
        }
        // The KDC exchange in another file of the run, read first.
        let other = c.clone();
        assert!(
            smbsign::scan::learn_kdc(&other, &both).unwrap() >= 1,
            "{name}"
        );
        all_valid(
            &scan(other, &smb),
            &format!("{name} password, KDC in another file"),
        );
        // Without it, the password gives no key (and says so), never a
        // forgery.
        let r = &scan(c, &smb)[0];
        assert_eq!(r.forged_messages, Some(0), "{name}");
        assert_eq!(r.verified_messages, Some(0), "{name}");
        let key = r.sessions[0].key.as_ref().map(|k| k.text()).unwrap();
        assert!(key.starts_with("no-key"), "{name}: {key}");
    }
}

#[test]
fn a_wrong_keytab_or_password_is_wrong_credentials() {
    for (name, both, smb, _) in cases() {
        // The user's own keytab holds no key of the service's.
        let r = &scan(keytab("bob.keytab"), &smb)[0];
        let mut c = Credentials::default();
        c.add_password("LAB\\bob:not-the-password").unwrap();
        let w = &scan(c, &both)[0];
        for (what, r) in [("keytab", r), ("password", w)] {
            let ctx = format!("{name} wrong {what}: {}", serde_json::to_string(r).unwrap());
            assert_eq!(r.forged_messages, Some(0), "{ctx}");
            assert_eq!(r.verified_messages, Some(0), "{ctx}");
            assert_eq!(
                r.sessions[0].key.as_ref().map(|k| k.text()).as_deref(),
                Some("wrong-credentials"),
                "{ctx}"
            );
            assert!(
                r.findings
                    .iter()
                    .any(|f| f.code == FindingCode::WrongCredentials),
                "{ctx}"
            );
        }
    }
}

#[test]
fn the_cli_takes_keytabs_and_learns_from_every_file() {
    let exe = env!("CARGO_BIN_EXE_smbsign");
    let (_, both, smb, _) = cases()
        .into_iter()
        .find(|c| c.0 == "krb-smb311-gmac")
        .unwrap();
    let keytab = dir().join("dc1.keytab");
    let out = Command::new(exe)
        .args(["scan", "--json", "--no-progress", "--keytab"])
        .arg(&keytab)
        .arg(&smb)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let r: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(r["forged_messages"], 0);
    assert_eq!(r["verified_messages"], r["signed_messages"]);
    assert_eq!(r["sessions"][0]["user"], "LAB.EXAMPLE\\bob");
    // The password, with the KDC exchange only in the second file.
    let out = Command::new(exe)
        .args(["scan", "--json", "--no-progress", "--password"])
        .arg(password())
        .arg(&smb)
        .arg(&both)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["verified_messages"], first["signed_messages"],
        "{text}"
    );
    // No secret reaches the output.
    let all = format!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains("B0b!Passw0rd"));
    // A keytab that is not one says so.
    let out = Command::new(exe)
        .args(["scan", "--keytab"])
        .arg(&smb)
        .arg(&smb)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a keytab"));
}

/// The AES-256-GCM session's cipher keys come from the whole 32-byte
/// Kerberos key: tshark decrypts the session with the keys smbsign
/// exported and no session key (so it cannot derive them itself), and not
/// without them.
#[test]
fn exported_aes256_cipher_keys_decrypt_in_wireshark() {
    if !common::have_tool("tshark") {
        return;
    }
    let smb = dir().join("krb-smb311-aes256-encrypted-smb.pcap");
    let keys = std::env::temp_dir().join(format!("smbsign-krb256-{}.keys", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_smbsign"))
        .args(["scan", "--json", "--no-progress", "--keytab"])
        .arg(dir().join("dc1.keytab"))
        .arg("--export-keys")
        .arg(&keys)
        .arg(&smb)
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
    let line = std::fs::read_to_string(&keys).unwrap();
    let _ = std::fs::remove_file(&keys);
    let cols: Vec<&str> = line.trim().split(',').collect();
    assert_eq!(cols.len(), 4, "{line}");
    assert_eq!(cols[1], "\"\"", "no session key on an AES-256 line");
    assert_eq!(cols[2].len(), 64, "32-byte server-to-client key");
    assert_eq!(cols[3].len(), 64, "32-byte client-to-server key");
    let decrypted = |entry: &str| {
        let t = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&smb)
            .args(["-o", &format!("uat:smb2_seskey_list:{entry}")])
            .args(["-T", "fields", "-e", "smb2.tree"])
            .output()
            .unwrap();
        assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
        String::from_utf8_lossy(&t.stdout)
            .lines()
            .filter(|l| l.contains("share"))
            .count()
    };
    assert!(decrypted(line.trim()) >= 5);
    // A wrong key of the same size decrypts nothing.
    let wrong = "00".repeat(32);
    assert_eq!(decrypted(&format!("{},\"\",{wrong},{wrong}", cols[0])), 0);
}

/// tshark, given the keys smbsign derived from the keytab
/// (`--export-keys`), verifies the HMAC and CMAC captures' signatures the
/// same way (Wireshark 4.0 derives no SMB2 keys from a keytab itself).
#[test]
fn wireshark_agrees_with_the_keys_from_the_keytab() {
    if !common::have_tool("tshark") {
        return;
    }
    let scratch = std::env::temp_dir().join(format!("smbsign-krb-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    for name in ["krb-smb21", "krb-smb30", "krb-smb302", "krb-smb311-cmac"] {
        let smb = dir().join(format!("{name}-smb.pcap"));
        let keys = scratch.join(format!("{name}.keys"));
        let out = Command::new(env!("CARGO_BIN_EXE_smbsign"))
            .args(["scan", "--json", "--no-progress", "--keytab"])
            .arg(dir().join("dc1.keytab"))
            .arg("--export-keys")
            .arg(&keys)
            .arg(&smb)
            .output()
            .unwrap();
        let r: Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap())
                .unwrap();
        let key = std::fs::read_to_string(&keys).unwrap();
        let key = key.lines().next().expect("an exported key").to_string();
        // Frames tshark shows with `filter`, verifying with the key.
        let frames = |filter: &str| {
            let t = Command::new("tshark")
                .args(["-2", "-n", "-r"])
                .arg(&smb)
                .args(["-o", &format!("uat:smb2_seskey_list:{key}")])
                .args(["-o", "smb2.verify_signatures:TRUE"])
                .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
                .output()
                .unwrap();
            assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
            String::from_utf8_lossy(&t.stdout).lines().count() as u64
        };
        let good_frames = frames("smb2.good_signature");
        assert_eq!(frames("smb2.bad_signature"), 0, "{name}");
        // Frames, not messages: a compound frame counts once.
        assert!(good_frames >= 20, "{name}: {good_frames}");
        assert!(
            good_frames <= r["verified_messages"].as_u64().unwrap(),
            "{name}"
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
