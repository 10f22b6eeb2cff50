//! The KB's knowledge in the product: the README tables are generated from
//! the same data as `explain` and the findings (regenerate with
//! `SMBSIGN_REGEN_README=1 cargo test --test kb`); `explain` answers all
//! three kinds of question; and for the lab's SMB1 cases the prediction
//! matches what real Samba did, or the manifest says where Samba differs.

mod common;

use smbsign::conn::SigningSetting;
use smbsign::posture::FindingCode;
use smbsign::posture::kb::{self, Outcome, Protocol};
use std::process::Command;

const BEGIN: &str = "<!-- kb-tables:begin (generated from src/posture/kb.rs; regenerate: SMBSIGN_REGEN_README=1 cargo test --test kb) -->";
const END: &str = "<!-- kb-tables:end -->";

#[test]
fn readme_tables_are_generated_from_the_data() {
    let path = common::repo().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme
        .find(BEGIN)
        .expect("README has the kb-tables markers")
        + BEGIN.len();
    let end = readme.find(END).expect("end marker");
    let want = format!("\n{}", kb::render_markdown());
    if std::env::var_os("SMBSIGN_REGEN_README").is_some() {
        let fresh = format!("{}{}{}", &readme[..start], want, &readme[end..]);
        std::fs::write(&path, fresh).unwrap();
        return;
    }
    assert!(
        readme[start..end] == want,
        "README KB tables drifted from src/posture/kb.rs: run SMBSIGN_REGEN_README=1 cargo test --test kb"
    );
}

fn explain(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_smbsign"))
        .arg("explain")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn explain_security_mode_in_the_kbs_words() {
    let (code, text) = explain(&["--security-mode", "7"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("Security Signatures (SMB sequence numbers) enabled"),
        "{text}"
    );
    assert!(text.contains("enabled and not required"), "{text}");
    let (_, text) = explain(&["--security-mode", "0x0f", "--json"]);
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["signing"], "required");
    assert_eq!(v["bits"][3]["set"], true);
    let (_, text) = explain(&["--security-mode", "3", "--json"]);
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["signing"], "disabled");
    let (_, text) = explain(&["--security-mode", "1", "--smb2", "--json"]);
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(
        (v["protocol"].as_str(), v["signing"].as_str()),
        (Some("smb2"), Some("enabled"))
    );
}

/// The expected outcome of every client/server pair, written out from the
/// sources, not computed: SMB1 from the KB article's "SMB signing
/// scenarios" (both enabled or both required, or both disabled, succeed;
/// client required + server disabled closes after negotiate with 1240;
/// client disabled + server required gets STATUS_ACCESS_DENIED; a side
/// that only enables signing signs with a side that requires it and not
/// with one that disables it), SMB2/3 from Microsoft's effective-behaviour
/// table (signed when either side requires signing).
const SMB1_MATRIX: [(&str, &str, &str); 9] = [
    ("disabled", "disabled", "succeeds-unsigned"),
    ("disabled", "enabled", "succeeds-unsigned"),
    ("disabled", "required", "access-denied"),
    ("enabled", "disabled", "succeeds-unsigned"),
    ("enabled", "enabled", "succeeds-signed"),
    ("enabled", "required", "succeeds-signed"),
    ("required", "disabled", "closed-after-negotiate"),
    ("required", "enabled", "succeeds-signed"),
    ("required", "required", "succeeds-signed"),
];
const SMB2_MATRIX: [(&str, &str, &str); 9] = [
    ("disabled", "disabled", "succeeds-unsigned"),
    ("disabled", "enabled", "succeeds-unsigned"),
    ("disabled", "required", "succeeds-signed"),
    ("enabled", "disabled", "succeeds-unsigned"),
    ("enabled", "enabled", "succeeds-unsigned"),
    ("enabled", "required", "succeeds-signed"),
    ("required", "disabled", "succeeds-signed"),
    ("required", "enabled", "succeeds-signed"),
    ("required", "required", "succeeds-signed"),
];

#[test]
fn explain_scenarios_cover_the_whole_matrix() {
    for (matrix, flag) in [(SMB1_MATRIX, "--smb1"), (SMB2_MATRIX, "--smb2")] {
        for (c, s, want) in matrix {
            let (code, text) = explain(&["--client", c, "--server", s, flag, "--json"]);
            assert_eq!(code, 0);
            let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
            assert_eq!(v["outcome"], want, "client {c}, server {s} {flag}");
        }
    }
    let (_, text) = explain(&["--client", "required", "--server", "disabled", "--smb1"]);
    assert!(
        text.contains("1240") && text.contains("ERROR_LOGIN_WKSTA_RESTRICTION"),
        "{text}"
    );
    let (_, text) = explain(&["--client", "disabled", "--server", "required", "--smb1"]);
    assert!(text.contains("STATUS_ACCESS_DENIED"), "{text}");
}

#[test]
fn explain_defaults_with_policy_and_registry() {
    let (code, text) = explain(&["--os", "Windows Server 2003", "--role", "dc"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("LanManServer\\Parameters\\RequireSecuritySignature = 1"),
        "{text}"
    );
    assert!(
        text.contains("Microsoft network server: Digitally sign communications (always)"),
        "{text}"
    );
    let (_, text) = explain(&["--os", "nt 4.0", "--role", "member"]);
    assert!(
        text.contains("Rdr\\Parameters\\EnableSecuritySignature = 1"),
        "{text}"
    );
    assert!(
        text.contains("LanManServer\\Parameters\\EnableSecuritySignature = 0"),
        "{text}"
    );
    let (_, text) = explain(&["--os", "98", "--json"]);
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert!(
        v["client"]["registry_key"]
            .as_str()
            .unwrap()
            .ends_with("VxD\\VNetsup")
    );
    // Today's systems, each with its source.
    let (code, text) = explain(&["--os", "2025"]);
    assert_eq!(code, 0);
    assert!(text.contains("Windows Server 2025 defaults"), "{text}");
    assert!(
        text.contains("outbound (client) signing required: yes"),
        "{text}"
    );
    assert!(text.contains("source: "), "{text}");
    let (code, text) = explain(&["--os", "samba", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert!(
        v["inbound_required"]
            .as_str()
            .unwrap()
            .contains("domain controller")
    );
    assert!(v["source"].as_str().unwrap().contains("smb.conf"));
    let (code, _) = explain(&["--os", "OS/2 Warp"]);
    assert_eq!(code, 2);
}

/// Setting named in a lab case's configuration.
fn setting(s: &str) -> SigningSetting {
    match s {
        "disabled" => SigningSetting::Disabled,
        "mandatory" | "required" => SigningSetting::Required,
        _ => SigningSetting::Enabled, // Samba's auto / default / if_required
    }
}

#[test]
fn samba_lab_matches_the_prediction_or_the_manifest_says_why_not() {
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("tests/captures/manifest.json")).unwrap(),
    )
    .unwrap();
    let mut compared = 0;
    for (name, case) in manifest["cases"].as_object().unwrap() {
        let server_opts = &case["server_options"];
        if server_opts["server max protocol"] != "NT1" {
            continue;
        }
        let server = setting(server_opts["server signing"].as_str().unwrap_or("auto"));
        let command = case["clients"][0]["command"].as_str().unwrap();
        let client = if command.contains("client signing=required") {
            SigningSetting::Required
        } else if command.contains("client signing=disabled") {
            SigningSetting::Disabled
        } else {
            SigningSetting::Enabled
        };
        let predicted = kb::predict(Protocol::Smb1, client, server);
        let file = common::repo()
            .join("tests/captures")
            .join(case["file"].as_str().unwrap());
        let r = &smbsign::scan::Scanner::default()
            .scan(&file)
            .unwrap()
            .connections[0];
        let has = |c: FindingCode| r.findings.iter().any(|f| f.code == c);
        let observed = if has(FindingCode::ClosedAfterNegotiate) {
            Outcome::ClosedAfterNegotiate
        } else if has(FindingCode::TreeConnectDenied) {
            Outcome::AccessDenied
        } else if r.client_signing.map(|s| s.as_str()).is_some()
            && r.server_signing.map(|s| s.as_str()) != Some("disabled")
            || r.signed_messages > 0
        {
            Outcome::SucceedsSigned
        } else {
            Outcome::SucceedsUnsigned
        };
        if observed != predicted {
            assert!(
                case["samba_differs"]
                    .as_str()
                    .is_some_and(|t| !t.is_empty()),
                "{name}: predicted {predicted:?}, Samba did {observed:?}, and the manifest does not say why"
            );
        }
        compared += 1;
    }
    assert!(compared >= 6, "only {compared} SMB1 lab cases compared");
}
