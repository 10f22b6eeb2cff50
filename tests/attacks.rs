//! The attack lab's captures (tests/captures/attacks, made by
//! tests/lab/attacks.py with ntlmrelayx, a rewriting MITM and smbclient):
//! each detection as the case was made, both legs in one file and split
//! over two, the negative controls clean, and the lab and corpus clean of
//! attack findings (the one corpus capture whose README says a proxy sat in
//! the path is named).

mod common;

use serde_json::Value;
use smbsign::correlate::Correlator;
use smbsign::posture::{ConnectionReport, FindingCode};
use smbsign::scan::{ScanOptions, Scanner};
use smbsign::wire::SigningSetting;
use std::path::PathBuf;
use std::sync::Arc;

const ATTACK_CODES: [FindingCode; 6] = [
    FindingCode::NtlmRelay,
    FindingCode::NtlmTargetMismatch,
    FindingCode::NtlmMicRemoved,
    FindingCode::NtlmMicInvalid,
    FindingCode::NegotiateTampered,
    FindingCode::DowngradedToSmb1,
];

fn dir() -> PathBuf {
    common::repo().join("tests/captures/attacks")
}

fn manifest() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("manifest.json")).unwrap()).unwrap()
}

fn password(m: &Value) -> Arc<smbsign::verify::Credentials> {
    let c = &m["credentials"];
    let mut creds = smbsign::verify::Credentials::default();
    creds
        .add_password(&format!(
            "{}:{}",
            c["user"].as_str().unwrap(),
            c["password"].as_str().unwrap()
        ))
        .unwrap();
    Arc::new(creds)
}

/// Scan files as one run (the CLI's way): each report through one correlator.
fn run(files: &[PathBuf], options: ScanOptions) -> Vec<ConnectionReport> {
    let scanner = Scanner::new(options);
    let mut c = Correlator::new();
    let mut out = Vec::new();
    for f in files {
        scanner
            .scan_each(f, |_| {}, |r| c.push(r, &mut |r| out.push(r)))
            .unwrap();
    }
    c.finish(&mut |r| out.push(r));
    out
}

fn has(r: &ConnectionReport, code: FindingCode) -> bool {
    r.findings.iter().any(|f| f.code == code)
}

fn with(reports: &[ConnectionReport], code: FindingCode) -> Vec<&ConnectionReport> {
    reports.iter().filter(|r| has(r, code)).collect()
}

/// The leg the relay opened (its relay finding points at the victim).
fn relayed_leg(reports: &[ConnectionReport]) -> Option<&ConnectionReport> {
    reports.iter().find(|r| {
        r.findings.iter().any(|f| {
            f.code == FindingCode::NtlmRelay && f.peer.as_ref().is_some_and(|p| p.role == "victim")
        })
    })
}

fn check_case(name: &str, case: &Value, reports: &[ConnectionReport], problems: &mut Vec<String>) {
    let e = &case["expect"];
    let mut expect = |what: &str, ok: bool| {
        if !ok {
            problems.push(format!("{name}: {what}"));
        }
    };
    let flag = |k: &str| e[k].as_bool();
    if let Some(relay) = flag("ntlm_relay") {
        let legs = with(reports, FindingCode::NtlmRelay);
        expect("ntlm-relay on both legs", (legs.len() == 2) == relay);
        if relay {
            for r in &legs {
                let f = r
                    .findings
                    .iter()
                    .find(|f| f.code == FindingCode::NtlmRelay)
                    .unwrap();
                let peer = f.peer.as_ref().unwrap();
                expect(
                    "the peer is the other leg",
                    peer.server != r.server && !f.frames.is_empty(),
                );
                expect(
                    "the evidence names the proof",
                    f.evidence.iter().any(|x| x.field == "nt_proof_str"),
                );
            }
        }
    }
    if let Some(signing) = e["relay_target_signing"].as_str() {
        let r = relayed_leg(reports);
        let required = r.and_then(|r| r.server_signing) == Some(SigningSetting::Required);
        expect("the relayed leg is known", r.is_some());
        expect("the target's signing", required == (signing == "required"));
        let msg = r.and_then(|r| r.findings.iter().find(|f| f.code == FindingCode::NtlmRelay));
        let says = msg.is_some_and(|f| f.message.contains("the relay could not sign"));
        expect(
            "says whether the relay could sign",
            says == (signing == "required"),
        );
    }
    if let Some(reflection) = flag("reflection") {
        let said = with(reports, FindingCode::NtlmRelay)
            .iter()
            .any(|r| r.findings.iter().any(|f| f.message.contains("reflection")));
        expect("reflection named", said == reflection);
    }
    if let Some(m) = flag("target_mismatch") {
        let on_relayed =
            relayed_leg(reports).is_some_and(|r| has(r, FindingCode::NtlmTargetMismatch));
        expect("ntlm-target-mismatch on the relayed leg", on_relayed == m);
    }
    if let Some(m) = flag("mic_removed") {
        expect(
            "ntlm-mic-removed",
            with(reports, FindingCode::NtlmMicRemoved).is_empty() != m,
        );
    }
    if let Some(t) = flag("negotiate_tampered") {
        let legs = with(reports, FindingCode::NegotiateTampered);
        expect("negotiate-tampered", legs.is_empty() != t);
        for field in e["tampered_fields"].as_array().into_iter().flatten() {
            let named = legs.iter().any(|r| {
                r.findings.iter().any(|f| {
                    f.code == FindingCode::NegotiateTampered
                        && f.evidence
                            .iter()
                            .any(|x| x.field == field.as_str().unwrap())
                })
            });
            expect(&format!("tampered field {field}"), named);
        }
    }
    if flag("validate_negotiate") == Some(true) && flag("negotiate_tampered") == Some(true) {
        let said = reports.iter().any(|r| {
            r.findings.iter().any(|f| {
                f.code == FindingCode::NegotiateTampered
                    && f.message.contains("FSCTL_VALIDATE_NEGOTIATE_INFO")
                    && f.message.contains("dropped the connection")
            })
        });
        expect(
            "validate-negotiate mismatch and the dropped connection",
            said,
        );
    }
    if let Some(d) = flag("downgraded_to_smb1") {
        expect(
            "downgraded-to-smb1",
            with(reports, FindingCode::DowngradedToSmb1).is_empty() != d,
        );
    }
    if flag("session_on_two_connections") == Some(true) {
        // Session binding: one session id established on two connections.
        let mut ids: Vec<u64> = reports
            .iter()
            .flat_map(|r| r.sessions.iter().filter(|s| s.established).map(|s| s.id.0))
            .collect();
        let all = ids.len();
        ids.sort_unstable();
        ids.dedup();
        expect("a session bound to a second channel", ids.len() < all);
    }
    if let Some(n) = e["connections"].as_u64() {
        expect("connections", reports.len() as u64 == n);
    }
    if let Some(n) = e["sessions"].as_u64() {
        expect(
            "sessions",
            reports.iter().map(|r| r.sessions.len() as u64).sum::<u64>() == n,
        );
    }
}

/// Every case, both legs in one file.
#[test]
fn every_case_is_detected_as_it_was_made() {
    let m = manifest();
    let mut problems = Vec::new();
    let cases = m["cases"].as_object().unwrap();
    assert!(cases.len() >= 13, "{} cases", cases.len());
    for (name, case) in cases {
        let file = dir().join(case["files"]["both"].as_str().unwrap());
        let reports = run(&[file], ScanOptions::default());
        check_case(name, case, &reports, &mut problems);
        if case["kind"] == "clients" {
            for r in &reports {
                for code in ATTACK_CODES {
                    if has(r, code) {
                        problems.push(format!("{name} (negative control): {code:?}"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Each leg in its own file, scanned in one run (victim side first, then
/// target side, and the other way round): the relay is still found, on
/// both legs, each pointing at the other file.
#[test]
fn legs_in_two_files_are_linked() {
    let m = manifest();
    let mut linked = 0;
    for (name, case) in m["cases"].as_object().unwrap() {
        let files = &case["files"];
        let (Some(v), Some(t)) = (files["victim"].as_str(), files["target"].as_str()) else {
            continue;
        };
        for order in [[v, t], [t, v]] {
            let paths: Vec<PathBuf> = order.iter().map(|f| dir().join(f)).collect();
            let reports = run(&paths, ScanOptions::default());
            let legs = with(&reports, FindingCode::NtlmRelay);
            assert_eq!(legs.len(), 2, "{name} {order:?}");
            for r in legs {
                let f = r
                    .findings
                    .iter()
                    .find(|f| f.code == FindingCode::NtlmRelay)
                    .unwrap();
                let peer_file = f.peer.as_ref().unwrap().file.clone().unwrap();
                assert_ne!(
                    Some(peer_file),
                    r.file,
                    "{name}: the peer is in the other file"
                );
            }
            linked += 1;
        }
    }
    assert!(linked >= 14, "{linked}");
}

/// The CLI links the legs of two files too, in its JSON.
#[test]
fn cli_links_two_files() {
    let m = manifest();
    let case = &m["cases"]["relay-auto"]["files"];
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_smbsign"))
        .args(["scan", "--json"])
        .arg(dir().join(case["victim"].as_str().unwrap()))
        .arg(dir().join(case["target"].as_str().unwrap()))
        .output()
        .unwrap();
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let relays: Vec<&Value> = lines
        .iter()
        .flat_map(|r| r["findings"].as_array().unwrap())
        .filter(|f| f["code"] == "ntlm-relay")
        .collect();
    assert_eq!(relays.len(), 2);
    let roles: Vec<&str> = relays
        .iter()
        .map(|f| f["peer"]["role"].as_str().unwrap())
        .collect();
    assert!(
        roles.contains(&"victim") && roles.contains(&"relayed"),
        "{roles:?}"
    );
}

/// 3.1.1 through the MITM that cleared SIGNING_REQUIRED: with the password
/// the logon verifies, and the final SESSION_SETUP response's failure on
/// the client's leg is named as altered pre-authentication, not forgery.
#[test]
fn preauth_tampering_is_not_called_forgery() {
    let m = manifest();
    let case = &m["cases"]["mitm-clear-signing"];
    assert_eq!(case["expect"]["preauth_tampered"], true);
    let file = dir().join(case["files"]["victim"].as_str().unwrap());
    let reports = run(&[file], ScanOptions::with_credentials(password(&m)));
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    let f = r
        .findings
        .iter()
        .find(|f| f.code == FindingCode::NegotiateTampered);
    assert!(
        f.is_some_and(|f| f.message.contains("pre-authentication")),
        "{:?}",
        r.findings
    );
    assert!(!has(r, FindingCode::BadSignature), "{:?}", r.findings);
    assert!(!has(r, FindingCode::WrongCredentials));
    // The server's own leg verifies: its preauth hash is the server's.
    let file = dir().join(case["files"]["target"].as_str().unwrap());
    let reports = run(&[file], ScanOptions::with_credentials(password(&m)));
    assert!(reports.iter().all(|r| r.forged_messages == Some(0)));
}

/// A MIC that fails while the NTProofStr verifies: the NEGOTIATE token's
/// flags of a real 2.1 logon (smb21-signed.pcap) changed by one bit in
/// the capture's bytes (2.1 has no preauth hash, so signatures still
/// verify); with the password this is ntlm-mic-invalid.
#[test]
fn a_changed_negotiate_fails_the_mic() {
    let m = manifest();
    let mut bytes = std::fs::read(common::repo().join("tests/captures/smb21-signed.pcap")).unwrap();
    let at = bytes
        .windows(12)
        .position(|w| w == b"NTLMSSP\0\x01\0\0\0")
        .expect("a NEGOTIATE token");
    bytes[at + 12] ^= 0x04; // NTLMSSP_REQUEST_TARGET
    let report = Scanner::new(ScanOptions::with_credentials(password(&m)))
        .scan(&bytes[..])
        .unwrap();
    let r = &report.connections[0];
    assert!(has(r, FindingCode::NtlmMicInvalid), "{:?}", r.findings);
    assert!(r.verified_messages.unwrap() > 0, "signatures still verify");
    // Untouched, the MIC verifies.
    let clean = Scanner::new(ScanOptions::with_credentials(password(&m)))
        .scan(
            common::repo()
                .join("tests/captures/smb21-signed.pcap")
                .as_path(),
        )
        .unwrap();
    assert!(!has(&clean.connections[0], FindingCode::NtlmMicInvalid));
}

/// No attack finding on any lab capture, nor on the corpus but for the
/// one capture whose README says a proxy rewrote the traffic
/// (smb-eicar-andx: its AUTHENTICATE names the proxy, not the server).
#[test]
fn lab_and_corpus_show_no_attacks() {
    let proxied = "suricata-verify/tests/smb-eicar-andx/smbandx.pcap";
    let mut files = common::lab_captures();
    files.extend(common::corpus_captures());
    let mut problems = Vec::new();
    let mut proxy_seen = false;
    for file in &files {
        let Ok(report) = Scanner::default().scan(file.as_path()) else {
            continue;
        };
        for r in &report.connections {
            for f in r.findings.iter().filter(|f| ATTACK_CODES.contains(&f.code)) {
                if file.ends_with(proxied) && f.code == FindingCode::NtlmTargetMismatch {
                    proxy_seen = true;
                } else {
                    problems.push(format!("{}: {:?}: {}", file.display(), f.code, f.message));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    if common::corpus_dir().is_some() {
        assert!(
            proxy_seen,
            "the proxied capture's AUTHENTICATE names the proxy"
        );
    }
}
