//! `--decrypt-to`: the copy of each lab encrypted capture in which every
//! TRANSFORM message is replaced by its plaintext. Expectations come from
//! elsewhere: tshark decrypting the original with the exported keys gives
//! the per-frame SMB2 messages the copy must show tshark without keys, and
//! tshark checks every TCP checksum; smbsign's analysis of the copy must
//! be the original's, but for what encryption itself changes.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const PASSWORD: &str = "LAB\\smblab:Passw0rd!";

/// The lab's encrypted captures (the same list as tests/decrypt.rs).
fn cases() -> Vec<PathBuf> {
    let caps = common::repo().join("tests/captures");
    let mut v: Vec<PathBuf> = [
        "smb311-encrypted.pcap",
        "smb30-encrypted.pcap",
        "smb311-share-encrypted.pcap",
        "smb311-encrypted-aes-128-ccm.pcap",
        "smb311-encrypted-aes-128-gcm.pcap",
        "smb311-encrypted-aes-256-ccm.pcap",
        "smb311-encrypted-aes-256-gcm.pcap",
    ]
    .iter()
    .map(|f| caps.join(f))
    .collect();
    v.push(caps.join("kerberos/krb-smb311-aes256-encrypted-smb.pcap"));
    v
}

fn smbsign(path: &Path) -> Command {
    let mut cli = Command::new(env!("CARGO_BIN_EXE_smbsign"));
    cli.args(["scan", "--json", "--no-progress"]);
    if path.to_string_lossy().contains("kerberos") {
        cli.arg("--keytab")
            .arg(common::repo().join("tests/captures/kerberos/dc1.keytab"));
    } else {
        cli.args(["--password", PASSWORD]);
    }
    cli
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smbsign-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Scan `path` with its keys, writing `copy` (and `keys` when given);
/// the JSON reports.
fn scan_writing_copy(path: &Path, copy: &Path, keys: Option<&Path>) -> Vec<Value> {
    let mut cli = smbsign(path);
    cli.arg("--decrypt-to").arg(copy);
    if let Some(k) = keys {
        cli.arg("--export-keys").arg(k);
    }
    let out = cli.arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&out.stdout)
}

fn json_lines(b: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(b)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn tshark(args: &[&str], path: &Path, keys: Option<&str>) -> String {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(path);
    for line in keys.into_iter().flat_map(str::lines) {
        cmd.arg("-o").arg(format!("uat:smb2_seskey_list:{line}"));
    }
    let out = cmd.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Per frame: its SMB2 commands and message ids, as tshark decodes them.
fn smb2_by_frame(path: &Path, keys: Option<&str>) -> Vec<String> {
    tshark(
        &["-Y", "smb2", "-T", "fields", "-e", "frame.number"]
            .into_iter()
            .chain(["-e", "smb2.cmd", "-e", "smb2.msg_id", "-e", "smb2.tree"])
            .collect::<Vec<_>>(),
        path,
        keys,
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

#[test]
fn tshark_reads_the_copy_as_it_decrypts_the_original() {
    if !common::have_tool("tshark") {
        return;
    }
    let dir = temp_dir("decrypt-to-tshark");
    for (k, path) in cases().into_iter().enumerate() {
        let copy = dir.join(format!("copy{k}.pcapng"));
        let keys = dir.join(format!("keys{k}.txt"));
        scan_writing_copy(&path, &copy, Some(&keys));
        let table = std::fs::read_to_string(&keys).unwrap();
        let ctx = path.display().to_string();
        let expected = smb2_by_frame(&path, Some(&table));
        let got = smb2_by_frame(&copy, None);
        assert!(expected.len() > 20, "{ctx}: {} SMB2 frames", expected.len());
        assert_eq!(got, expected, "{ctx}: per-frame SMB2 messages differ");
        // Nothing encrypted is left, and every TCP checksum is right.
        let left = tshark(&["-Y", "smb2.header.transform.signature"], &copy, None);
        assert_eq!(left.lines().count(), 0, "{ctx}: {left}");
        let sums = tshark(
            &["-o", "tcp.check_checksum:TRUE", "-Y", "tcp"]
                .into_iter()
                .chain(["-T", "fields", "-e", "tcp.checksum.status"])
                .collect::<Vec<_>>(),
            &copy,
            None,
        );
        let bad: Vec<&str> = sums.lines().filter(|s| *s != "1").collect();
        assert!(sums.lines().count() > 20, "{ctx}");
        assert!(bad.is_empty(), "{ctx}: checksum statuses {bad:?}");
        // TCP sees no new holes: the sequence numbers line up.
        let lost = |p: &Path| {
            tshark(
                &[
                    "-Y",
                    "tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment",
                ],
                p,
                None,
            )
            .lines()
            .count()
        };
        assert_eq!(lost(&copy), lost(&path), "{ctx}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Fields that encryption itself changes: the copy has no TRANSFORM
/// messages (so nothing decrypted, sessions not marked encrypted, tree
/// connects seen in clear, and the messages that were inside, which are
/// not signed, count as unsigned where signing is required), and
/// findings about encryption differ.
fn without_encryption_fields(mut r: Value) -> Value {
    let o = r.as_object_mut().unwrap();
    for k in [
        "file",
        "encrypted_messages",
        "decrypted_messages",
        "decrypted_commands",
        "findings",
        "unsigned_while_required",
    ] {
        o.remove(k);
    }
    for s in o["sessions"].as_array_mut().unwrap() {
        let s = s.as_object_mut().unwrap();
        s.remove("encrypted");
        s.remove("unsigned_while_required");
    }
    for t in o["tree_connects"].as_array_mut().unwrap() {
        t.as_object_mut().unwrap().remove("decrypted");
    }
    r
}

#[test]
fn analysis_of_the_copy_is_the_originals() {
    let dir = temp_dir("decrypt-to-analysis");
    for (k, path) in cases().into_iter().enumerate() {
        let copy = dir.join(format!("copy{k}.pcapng"));
        let original = scan_writing_copy(&path, &copy, None);
        let out = smbsign(&path).arg(&copy).output().unwrap();
        assert!(out.status.success());
        let again = json_lines(&out.stdout);
        let ctx = path.display().to_string();
        assert_eq!(original.len(), again.len(), "{ctx}");
        for (a, b) in original.into_iter().zip(again) {
            assert!(a["decrypted_messages"].as_u64().unwrap() > 10, "{ctx}");
            assert_eq!(b["encrypted_messages"], 0, "{ctx}");
            // What ran inside the tunnel is now in clear: as many SMB2
            // messages, the same tree connects, sessions and verdicts.
            assert_eq!(
                without_encryption_fields(a),
                without_encryption_fields(b),
                "{ctx}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The 10th frame carrying a TRANSFORM message of a legacy pcap, and the
/// offset of its magic.
fn tenth_transform(bytes: &[u8]) -> (u64, usize) {
    let (mut at, mut n) = (24, 0u64);
    let mut seen = 0;
    while at + 16 <= bytes.len() {
        let incl = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        n += 1;
        let data = &bytes[at + 16..at + 16 + incl];
        if let Some(p) = memchr::memmem::find(data, b"\xfdSMB") {
            seen += 1;
            if seen == 11 {
                return (n, at + 16 + p);
            }
        }
        at += 16 + incl;
    }
    panic!("fewer than 11 TRANSFORM frames");
}

/// A message whose tag does not verify stays as it was (and the stream
/// around it stays consistent): only what decrypted is replaced.
#[test]
fn a_message_that_does_not_decrypt_is_left_encrypted() {
    if !common::have_tool("tshark") {
        return;
    }
    let dir = temp_dir("decrypt-to-tampered");
    let path = common::repo().join("tests/captures/smb311-encrypted-aes-128-gcm.pcap");
    let mut bytes = std::fs::read(&path).unwrap();
    let (frame, magic) = tenth_transform(&bytes);
    bytes[magic + 4 + 3] ^= 0x01; // a tag byte
    let tampered = dir.join("tampered.pcap");
    std::fs::write(&tampered, &bytes).unwrap();
    let copy = dir.join("copy.pcapng");
    let r = scan_writing_copy(&tampered, &copy, None);
    assert_eq!(r[0]["bad_tag_frames"], serde_json::json!([frame]));
    let left = tshark(
        &[
            "-Y",
            "smb2.header.transform.signature",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ],
        &copy,
        None,
    );
    assert_eq!(left.trim(), frame.to_string());
    let sums = tshark(
        &[
            "-o",
            "tcp.check_checksum:TRUE",
            "-Y",
            "tcp.checksum.status != 1",
        ],
        &copy,
        None,
    );
    assert_eq!(sums.lines().count(), 0, "{sums}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn decrypt_to_refuses_what_it_cannot_do_with_a_clear_error() {
    let dir = temp_dir("decrypt-to-errors");
    let cap = common::repo().join("tests/captures/smb311-encrypted.pcap");
    let copy = dir.join("copy.pcapng");
    let not_a_capture = dir.join("notes.txt");
    std::fs::write(&not_a_capture, "hello, not a capture\n").unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(env!("CARGO_BIN_EXE_smbsign"))
            .args(["scan", "--no-progress"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--decrypt-to".as_ref(), copy.as_ref(), cap.as_ref()]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--decrypt-to needs one capture file and credentials"),
        "{err}"
    );
    let pw: &std::ffi::OsStr = PASSWORD.as_ref();
    let (code, err) = run(&[
        "--password".as_ref(),
        pw,
        "--decrypt-to".as_ref(),
        copy.as_ref(),
        cap.as_ref(),
        cap.as_ref(),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("one capture file"), "{err}");
    let (code, err) = run(&[
        "--password".as_ref(),
        pw,
        "--decrypt-to".as_ref(),
        copy.as_ref(),
        not_a_capture.as_ref(),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("not a pcap or pcapng capture"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
