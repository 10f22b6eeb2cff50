//! The `smbsign` binary as users run it: output formats, exit codes, and
//! clear errors on bad input (never a panic or a backtrace).

mod common;

use std::process::Command;

fn smbsign() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smbsign"))
}

fn lab(name: &str) -> String {
    common::repo()
        .join("tests/captures")
        .join(name)
        .display()
        .to_string()
}

fn tmp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("smbsign-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn table_names_connection_and_findings() {
    let out = smbsign()
        .args(["scan", &lab("smb311-unsigned.pcap")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("127.0.0.1:445"), "{text}");
    assert!(text.contains("3.1.1"), "{text}");
    assert!(text.contains("signing-not-required"), "{text}");
}

#[test]
fn json_lines_carry_the_contract_keys() {
    let out = smbsign()
        .args([
            "scan",
            "--json",
            &lab("two-connections.pcap"),
            &lab("smb1-mode7.pcap"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for v in &lines {
        assert_eq!(v["type"], "connection");
        for key in [
            "client",
            "server",
            "dialect",
            "server_security_mode",
            "client_security_mode",
            "server_signing",
            "client_signing",
            "signed_messages",
            "unsigned_messages",
            "encrypted_messages",
            "sessions",
            "findings",
        ] {
            assert!(v.get(key).is_some(), "missing {key} in {v}");
        }
        for s in v["sessions"].as_array().unwrap() {
            assert!(s["session_id"].as_str().unwrap().starts_with("0x"));
            let m = s["mechanism"].as_str().unwrap();
            assert!(["ntlmssp", "kerberos", "unknown"].contains(&m), "{m}");
        }
    }
    assert_eq!(lines[2]["server_security_mode"], 7);
    assert_eq!(lines[2]["client_security_mode"], serde_json::Value::Null);
    assert_eq!(lines[2]["server_signing"], "enabled");
}

#[test]
fn fail_on_severity_and_code() {
    let run = |args: &[&str]| smbsign().args(args).output().unwrap().status.code();
    let unsigned = lab("smb311-unsigned.pcap");
    let signed = lab("smb311-gmac.pcap");
    assert_eq!(
        run(&["scan", "--fail-on", "signing-not-required", &unsigned]),
        Some(1)
    );
    assert_eq!(
        run(&["scan", "--fail-on", "signing-not-required", &signed]),
        Some(0)
    );
    assert_eq!(run(&["scan", "--fail-on", "warning", &unsigned]), Some(1));
    assert_eq!(run(&["scan", "--fail-on", "error", &unsigned]), Some(0));
    let out = smbsign()
        .args(["scan", "--fail-on", "bogus", &unsigned])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signing-not-required"));
}

fn assert_clean_error(out: &std::process::Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

#[test]
fn missing_file_is_one_clear_line() {
    let out = smbsign()
        .args(["scan", "/nonexistent/x.pcap"])
        .output()
        .unwrap();
    assert_clean_error(&out, "/nonexistent/x.pcap");
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn not_a_capture_is_named() {
    let p = tmp(
        "notes.txt",
        b"this is not a capture at all, just some text\n",
    );
    let out = smbsign()
        .args(["scan", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert_clean_error(&out, "not a pcap or pcapng capture");
    let p = tmp("empty.pcap", b"");
    let out = smbsign()
        .args(["scan", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert_clean_error(&out, "empty");
}

#[test]
fn truncated_capture_reports_what_was_read() {
    let full = std::fs::read(lab("smb311-gmac.pcap")).unwrap();
    let cut = tmp("cut.pcap", &full[..full.len() * 2 / 3 + 7]);
    let out = smbsign()
        .args(["scan", "--json", cut.to_str().unwrap()])
        .output()
        .unwrap();
    assert_clean_error(&out, "truncated");
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(v["dialect"], "3.1.1");
    assert!(v["signed_messages"].as_u64().unwrap() > 10);
}

#[test]
fn help_has_examples() {
    let out = smbsign().args(["scan", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Examples:") && text.contains("--fail-on"),
        "{text}"
    );
}
