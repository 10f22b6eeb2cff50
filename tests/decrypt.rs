//! SMB3 decryption on the lab's encrypted captures: with the session's
//! keys (the NTLM password, or the Kerberos keytab for the AES-256-GCM
//! session with its 32-byte key) every TRANSFORM message's AEAD tag
//! verifies and its plaintext is analysed; a copy with one tag byte
//! flipped, or one ciphertext byte, is flagged `bad-encryption-tag` at
//! exactly the frame that was changed.

mod common;

use smbsign::posture::{ConnectionReport, FindingCode};
use smbsign::scan::{ScanOptions, Scanner};
use smbsign::verify::Credentials;
use std::path::PathBuf;
use std::sync::Arc;

fn ntlm() -> Credentials {
    let mut c = Credentials::default();
    c.add_password("LAB\\smblab:Passw0rd!").unwrap();
    c
}

fn keytab() -> Credentials {
    let mut c = Credentials::default();
    c.add_keytab_file(&common::repo().join("tests/captures/kerberos/dc1.keytab"))
        .unwrap();
    c
}

/// (capture, credentials, cipher): the lab's encrypted captures. The
/// cipher is the one the lab's client allowed (`client smb3 encryption
/// algorithms`); 3.0 has no negotiate context, its cipher is AES-128-CCM.
fn cases() -> Vec<(PathBuf, Credentials, Option<&'static str>)> {
    let caps = common::repo().join("tests/captures");
    let mut v = vec![
        (
            caps.join("smb311-encrypted.pcap"),
            ntlm(),
            Some("AES-128-GCM"),
        ),
        (caps.join("smb30-encrypted.pcap"), ntlm(), None),
        (
            caps.join("smb311-share-encrypted.pcap"),
            ntlm(),
            Some("AES-128-GCM"),
        ),
        (
            caps.join("kerberos/krb-smb311-aes256-encrypted-smb.pcap"),
            keytab(),
            Some("AES-256-GCM"),
        ),
    ];
    for (file, cipher) in [
        ("smb311-encrypted-aes-128-ccm.pcap", "AES-128-CCM"),
        ("smb311-encrypted-aes-128-gcm.pcap", "AES-128-GCM"),
        ("smb311-encrypted-aes-256-ccm.pcap", "AES-256-CCM"),
        ("smb311-encrypted-aes-256-gcm.pcap", "AES-256-GCM"),
    ] {
        v.push((caps.join(file), ntlm(), Some(cipher)));
    }
    v
}

fn scan_bytes(bytes: &[u8], creds: &Credentials) -> ConnectionReport {
    let out = Scanner::new(ScanOptions::with_credentials(Arc::new(creds.clone())))
        .scan(bytes)
        .unwrap();
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.connections.len(), 1);
    out.connections.into_iter().next().unwrap()
}

/// (frame number, offset of its data) of a legacy pcap.
fn frames(bytes: &[u8]) -> Vec<(u64, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 24;
    let mut n = 0;
    while at + 16 <= bytes.len() {
        let incl = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        n += 1;
        out.push((n, at + 16, incl));
        at += 16 + incl;
    }
    out
}

#[test]
fn every_tag_verifies_and_the_plaintext_is_analysed() {
    for (path, creds, cipher) in cases() {
        let r = scan_bytes(&std::fs::read(&path).unwrap(), &creds);
        let ctx = format!("{}: {}", path.display(), serde_json::to_string(&r).unwrap());
        assert_eq!(r.cipher.map(|c| c.name()), cipher, "{ctx}");
        assert!(r.encrypted_messages >= 30, "{ctx}");
        assert_eq!(r.decrypted_messages, Some(r.encrypted_messages), "{ctx}");
        assert_eq!(r.bad_tag_messages, Some(0), "{ctx}");
        assert_eq!(r.decode_errors, 0, "{ctx}");
        // The inner messages were analysed: more messages than the
        // cleartext negotiate and session setup alone.
        assert!(r.requests + r.responses >= r.encrypted_messages, "{ctx}");
        assert!(
            !r.findings
                .iter()
                .any(|f| f.code == FindingCode::BadEncryptionTag)
        );
        // Where signing was not required, the finding says that the
        // encrypted sessions were protected anyway.
        if let Some(f) = r
            .findings
            .iter()
            .find(|f| f.code == FindingCode::SigningNotRequired)
        {
            assert!(
                f.message
                    .contains("Encrypted sessions were protected anyway"),
                "{ctx}"
            );
        }
        // Without credentials nothing is decrypted.
        let plain = Scanner::default().scan(&path).unwrap().connections;
        assert_eq!(plain[0].decrypted_messages, None);
    }
}

#[test]
fn a_flipped_tag_or_ciphertext_byte_is_flagged_at_its_frame() {
    for (path, creds, _) in cases() {
        let bytes = std::fs::read(&path).unwrap();
        // The 10th frame that carries a TRANSFORM message.
        let (frame, off, len) = frames(&bytes)
            .into_iter()
            .filter(|(_, off, len)| {
                memchr::memmem::find(&bytes[*off..off + len], b"\xfdSMB").is_some()
            })
            .nth(10)
            .expect("encrypted frames");
        let fd = off + memchr::memmem::find(&bytes[off..off + len], b"\xfdSMB").unwrap();
        for (what, at) in [("tag", fd + 4 + 5), ("ciphertext", fd + 52 + 7)] {
            let mut copy = bytes.clone();
            copy[at] ^= 0x01;
            let r = scan_bytes(&copy, &creds);
            let ctx = format!(
                "{} {what}: {}",
                path.display(),
                serde_json::to_string(&r).unwrap()
            );
            assert_eq!(r.bad_tag_messages, Some(1), "{ctx}");
            assert_eq!(r.bad_tag_frames, vec![frame], "{ctx}");
            assert_eq!(
                r.decrypted_messages,
                Some(r.encrypted_messages - 1),
                "{ctx}"
            );
            let f = r
                .findings
                .iter()
                .find(|f| f.code == FindingCode::BadEncryptionTag)
                .unwrap_or_else(|| panic!("{ctx}"));
            assert_eq!(f.frames, vec![frame], "{ctx}");
            // A bad tag is not a bad signature.
            assert_eq!(r.forged_messages, Some(0), "{ctx}");
        }
    }
}

/// Tree connects are in every report: the lab clients connect to
/// `\\HOST\share` (tests/lab: `smbclient //HOST/share`); inside the
/// tunnel they are seen once decrypted.
#[test]
fn tree_connects_are_reported_cleartext_and_decrypted() {
    for (path, creds, _) in cases() {
        let r = scan_bytes(&std::fs::read(&path).unwrap(), &creds);
        let share = r
            .tree_connects
            .iter()
            .find(|t| t.path.ends_with("\\share"))
            .unwrap_or_else(|| panic!("{}: {:?}", path.display(), r.tree_connects));
        let per_share = path.display().to_string().contains("share-encrypted");
        // Per-share encryption: the TREE_CONNECT goes in clear and its
        // response asks for encryption; otherwise it is inside the tunnel.
        assert_eq!(share.decrypted, !per_share, "{}", path.display());
        assert!(share.encrypt_data || !per_share, "{}", path.display());
        assert_eq!(share.share_type.as_deref(), Some("disk"));
        assert_eq!(share.status.as_deref(), Some("Success"));
        let inside = if per_share { 0 } else { 2 };
        assert!(
            r.decrypted_commands
                .get("TREE_CONNECT")
                .copied()
                .unwrap_or(0)
                >= inside,
            "{}",
            path.display()
        );
        assert!(r.decrypted_commands.get("READ").is_some_and(|n| *n >= 1));
    }
    let clear = common::repo().join("tests/captures/smb311-gmac.pcap");
    let r = &Scanner::default().scan(&clear).unwrap().connections[0];
    let paths: Vec<&str> = r.tree_connects.iter().map(|t| t.path.as_str()).collect();
    assert_eq!(paths, vec!["\\\\127.0.0.1\\IPC$", "\\\\127.0.0.1\\share"]);
    assert!(
        r.tree_connects
            .iter()
            .all(|t| !t.decrypted && t.response_frame.is_some())
    );
}

/// Frames of `path` that carry a TRANSFORM header, and of those the ones
/// in which tshark decoded an SMB2 header inside (it decrypted them), with
/// `keys` as Wireshark's `smb2_seskey_list` table (None: no keys).
fn tshark_decrypted(path: &std::path::Path, keys: Option<&str>) -> (usize, usize) {
    let mut cmd = std::process::Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(path);
    for line in keys.into_iter().flat_map(str::lines) {
        cmd.arg("-o").arg(format!("uat:smb2_seskey_list:{line}"));
    }
    let out = cmd
        .args(["-Y", "smb2.header.transform.signature"])
        .args(["-T", "fields", "-e", "frame.number", "-e", "smb2.cmd"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let inner = rows
        .iter()
        .filter(|l| l.split('\t').nth(1).is_some_and(|c| !c.is_empty()))
        .count();
    (rows.len(), inner)
}

/// `--export-keys` writes Wireshark's key table: with it tshark decrypts
/// every TRANSFORM frame of every lab encrypted capture (an SMB2 header
/// decoded inside each), and without it none.
#[test]
fn tshark_decrypts_with_the_exported_keys() {
    if !common::have_tool("tshark") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("smbsign-tshark-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (k, (path, _, _)) in cases().into_iter().enumerate() {
        let keys = dir.join(format!("keys{k}.txt"));
        let mut cli = std::process::Command::new(env!("CARGO_BIN_EXE_smbsign"));
        cli.args(["scan", "--no-progress", "--export-keys"])
            .arg(&keys);
        if path.to_string_lossy().contains("kerberos") {
            cli.arg("--keytab")
                .arg(common::repo().join("tests/captures/kerberos/dc1.keytab"));
        } else {
            cli.args(["--password", "LAB\\smblab:Passw0rd!"]);
        }
        let out = cli.arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let table = std::fs::read_to_string(&keys).unwrap();
        let (frames, none) = tshark_decrypted(&path, None);
        let (again, decrypted) = tshark_decrypted(&path, Some(&table));
        let ctx = format!("{}: {table}", path.display());
        assert!(frames > 10, "{ctx}: {frames} transform frames");
        assert_eq!(none, 0, "{ctx}: tshark decoded inside without keys");
        assert_eq!(again, frames, "{ctx}");
        assert_eq!(
            decrypted, frames,
            "{ctx}: tshark decrypted {decrypted} of {frames}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reports of frames scanned with decryption in line or on the second
/// thread (which analyses the plaintext when it comes back), through a
/// flow table of `max_flows`.
fn scan_frames_both_ways(frames: &[Vec<u8>], creds: &Credentials, max_flows: usize) -> [String; 2] {
    [false, true].map(|parallel| {
        let mut s = Scanner::new(ScanOptions {
            parallel_macs: parallel,
            max_flows,
            ..ScanOptions::with_credentials(Arc::new(creds.clone()))
        })
        .engine();
        for f in frames {
            s.frame(smbsign::capture::packet::LinkType::Ethernet, f);
        }
        let mut reports = s.take_finished();
        reports.extend(s.finish());
        serde_json::to_string(&reports).unwrap()
    })
}

/// Decryption on the second thread gives the reports decryption in line
/// gives: on every lab encrypted capture, on a copy with a flipped tag,
/// and on 300 interleaved copies (cleartext and encrypted messages of one
/// connection mixed, as per-share encryption has them) through a table of
/// 24 that evicts and sweeps while decryptions are out.
#[test]
fn decryption_on_a_second_thread_gives_the_same_reports() {
    assert!(
        std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 || !common::in_ci(),
        "CI machines have two cores: the parallel path must be exercised"
    );
    for (path, creds, _) in cases() {
        let mut frames = common::replicated(&path, 1);
        let [inline, parallel] = scan_frames_both_ways(&frames, &creds, 64);
        assert_eq!(inline, parallel, "{}", path.display());
        assert!(inline.contains("\"decrypted_messages\":"), "{inline}");
        let k = frames
            .iter()
            .position(|f| memchr::memmem::find(f, b"\xfdSMB").is_some())
            .unwrap();
        let at = memchr::memmem::find(&frames[k + 12], b"\xfdSMB").unwrap_or(0);
        frames[k + 12][at + 9] ^= 0x40;
        let [inline, parallel] = scan_frames_both_ways(&frames, &creds, 64);
        assert_eq!(inline, parallel, "{} (tampered)", path.display());
    }
    let caps = common::repo().join("tests/captures");
    for name in ["smb311-share-encrypted.pcap", "smb30-encrypted.pcap"] {
        let frames = common::replicated(&caps.join(name), 300);
        let [inline, parallel] = scan_frames_both_ways(&frames, &ntlm(), 24);
        assert_eq!(inline.matches("\"client\":").count(), 300, "{name}");
        assert!(
            inline == parallel,
            "{name}: in line {inline}\nsecond thread {parallel}"
        );
    }
}
