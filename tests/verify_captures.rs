//! Signature verification on the lab captures (real Samba, known password):
//! every signed message valid, none forged, for SMB1 and every SMB2/3
//! dialect and signing algorithm; a copy with one byte flipped inside a
//! signed message reports exactly that message forged at its frame; a wrong
//! password is reported as wrong credentials, never as forgery.

mod common;

use smbsign::posture::{ConnectionReport, FindingCode};
use smbsign::verify::Credentials;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SIGNED: &[&str] = &[
    "smb1-mode15.pcap",
    "impacket-smb1.pcap",
    "kb-client-requires-server-disabled.pcap",
    "smb202-signed.pcap",
    "smb21-signed.pcap",
    "smb21-ntlmv1.pcap",
    "smb30-signed.pcap",
    "smb302-signed.pcap",
    "smb311-gmac.pcap",
    "smb311-cmac.pcap",
    "smb311-hmac.pcap",
    "smb311-client-required.pcap",
    "two-connections.pcap",
    "ipv6.pcap",
    "port4455.pcapng",
];

fn creds(password: &str) -> Arc<Credentials> {
    let mut c = Credentials::default();
    c.add_password(&format!("LAB\\smblab:{password}")).unwrap();
    c.add_password(&format!("smblab:{password}")).unwrap(); // impacket sends no domain
    Arc::new(c)
}

fn scan(path: &Path, password: &str) -> Vec<ConnectionReport> {
    let out = smbsign::scan::Scanner::new(smbsign::scan::ScanOptions::with_credentials(creds(
        password,
    )))
    .scan(path)
    .unwrap();
    assert!(out.error.is_none(), "{}: {:?}", path.display(), out.error);
    out.connections
}

fn lab(name: &str) -> PathBuf {
    common::repo().join("tests/captures").join(name)
}

#[test]
fn every_signed_lab_message_is_valid_with_the_password() {
    for name in SIGNED {
        for r in scan(&lab(name), "Passw0rd!") {
            let ctx = format!(
                "{name} {}: {}",
                r.client,
                serde_json::to_string(&r).unwrap()
            );
            assert!(r.verified_messages.unwrap() >= 25, "{ctx}");
            assert_eq!(r.forged_messages, Some(0), "{ctx}");
            assert_eq!(r.unsigned_while_required, 0, "{ctx}");
            assert!(
                !r.findings
                    .iter()
                    .any(|f| f.code == FindingCode::BadSignature),
                "{ctx}"
            );
            for s in &r.sessions {
                assert_eq!(
                    s.key.as_ref().map(|k| k.text()).as_deref(),
                    Some("ready"),
                    "{ctx}"
                );
                assert_eq!(s.forged, Some(0), "{ctx}");
                assert_eq!(s.no_key, Some(0), "{ctx}");
            }
        }
    }
}

#[test]
fn unsigned_guest_and_anonymous_sessions_have_no_key_and_no_forgery() {
    for name in [
        "smb311-guest.pcap",
        "smb311-anonymous.pcap",
        "smb311-unsigned.pcap",
    ] {
        for r in scan(&lab(name), "Passw0rd!") {
            assert_eq!(r.forged_messages, Some(0), "{name}");
        }
    }
}

#[test]
fn wrong_password_is_wrong_credentials_not_forgery() {
    for name in [
        "smb311-gmac.pcap",
        "smb21-signed.pcap",
        "smb1-mode15.pcap",
        // NTLMv1 (the DES response is checked) and SMB1 without extended
        // security (NTLMv1, and LM beside it).
        "smb21-ntlmv1.pcap",
        "smb1-ntlmv1-signed.pcap",
        "smb1-lanman-signed.pcap",
        "smb1-legacy-mode15.pcap",
    ] {
        let reports = scan(&lab(name), "not-the-password");
        let r = &reports[0];
        assert_eq!(r.forged_messages, Some(0), "{name}");
        assert_eq!(r.verified_messages, Some(0), "{name}");
        assert!(
            r.findings
                .iter()
                .any(|f| f.code == FindingCode::WrongCredentials),
            "{name}"
        );
        assert_eq!(
            r.sessions[0].key.as_ref().map(|k| k.text()).as_deref(),
            Some("wrong-credentials")
        );
    }
}

/// Frame numbers and file offsets of a legacy pcap's packet data.
fn pcap_frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap()) as usize;
        out.push((off + 16, caplen));
        off += 16 + caplen;
    }
    out
}

#[test]
fn one_flipped_byte_is_exactly_one_forged_message_at_its_frame() {
    let marker = b"hello from the smbsign lab";
    for name in [
        "smb1-mode15.pcap",
        "smb202-signed.pcap",
        "smb21-signed.pcap",
        "smb30-signed.pcap",
        "smb302-signed.pcap",
        "smb311-gmac.pcap",
        "smb311-cmac.pcap",
        "smb311-hmac.pcap",
    ] {
        let mut bytes = std::fs::read(lab(name)).unwrap();
        let frames = pcap_frames(&bytes);
        // The READ response carrying hello.txt: flip a byte of its data,
        // in the last segment of the message (where the message completes).
        let (k, at) = frames
            .iter()
            .enumerate()
            .find_map(|(k, (off, len))| {
                let data = &bytes[*off..off + len];
                memchr::memmem::find(data, marker).map(|p| (k, off + p))
            })
            .unwrap_or_else(|| panic!("{name}: no READ data"));
        bytes[at + 3] ^= 0x20;
        let dir = std::env::temp_dir().join(format!("smbsign-tamper-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let copy = dir.join(name);
        std::fs::write(&copy, &bytes).unwrap();
        let reports = scan(&copy, "Passw0rd!");
        let r = &reports[0];
        let ctx = format!("{name}: {}", serde_json::to_string(r).unwrap());
        assert_eq!(r.forged_messages, Some(1), "{ctx}");
        // The message completes in this frame or a later segment of it.
        let forged = r.forged_frames[0];
        assert!(
            forged >= (k + 1) as u64 && forged <= (k + 1 + 64) as u64,
            "{ctx}"
        );
        assert!(
            r.findings
                .iter()
                .any(|f| f.code == FindingCode::BadSignature
                    && f.message.contains(&forged.to_string())),
            "{ctx}"
        );
        // Everything else still verifies.
        let clean = &scan(&lab(name), "Passw0rd!")[0];
        assert_eq!(
            r.verified_messages.unwrap() + 1,
            clean.verified_messages.unwrap(),
            "{ctx}"
        );
    }
}

/// Reports of a capture scanned with the MACs in line or on a second thread.
fn scan_both_ways(path: &Path, password: &str) -> (String, String) {
    let bytes = std::fs::read(path).unwrap();
    let run = |parallel: bool| {
        let mut s = smbsign::scan::Scanner::new(smbsign::scan::ScanOptions {
            parallel_macs: parallel,
            ..smbsign::scan::ScanOptions::with_credentials(creds(password))
        })
        .engine();
        smbsign::capture::read_capture(&bytes[..], |l, d| s.frame(l, d), |_| {}).unwrap();
        serde_json::to_string(&s.finish()).unwrap()
    };
    (run(false), run(true))
}

#[test]
fn macs_on_a_second_thread_give_the_same_reports() {
    assert!(
        std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 || !common::in_ci(),
        "CI machines have two cores: the parallel path must be exercised"
    );
    for name in SIGNED {
        let (inline, parallel) = scan_both_ways(&lab(name), "Passw0rd!");
        assert_eq!(inline, parallel, "{name}");
        assert!(inline.contains("\"verified_messages\":"), "{name}");
        // A wrong password: no key, no verdicts, same both ways.
        let (inline, parallel) = scan_both_ways(&lab(name), "wrong");
        assert_eq!(inline, parallel, "{name} (wrong password)");
    }
}

#[test]
fn second_thread_macs_survive_sweeps_evictions_and_a_forgery() {
    // 300 connections through a table of 24: closed connections linger
    // 4,096 frames (about 4 groups of 16 here), so the table overflows and
    // evicts, and the sweep retires others, while verdicts may still be out
    // on the worker.
    for name in [
        "smb21-signed.pcap",
        "smb311-gmac.pcap",
        "smb302-signed.pcap",
    ] {
        let mut frames = common::replicated(&lab(name), 300);
        // Tamper with one byte of one copy's READ data.
        let marker = b"hello from the smbsign lab";
        let k = frames
            .iter()
            .position(|f| memchr::memmem::find(f, marker).is_some())
            .unwrap();
        let at = memchr::memmem::find(&frames[k + 7], marker).unwrap();
        frames[k + 7][at + 3] ^= 0x20;
        let run = |parallel: bool| {
            let mut s = smbsign::scan::Scanner::new(smbsign::scan::ScanOptions {
                parallel_macs: parallel,
                max_flows: 24,
                ..smbsign::scan::ScanOptions::with_credentials(creds("Passw0rd!"))
            })
            .engine();
            let mut peak = 0;
            for f in &frames {
                s.frame(smbsign::capture::packet::LinkType::Ethernet, f);
                peak = peak.max(s.live_flows());
            }
            assert!(peak <= 24, "{name}: {peak} live");
            let mut reports = s.take_finished();
            reports.extend(s.finish());
            reports
        };
        let inline = run(false);
        let parallel = run(true);
        assert_eq!(inline.len(), 300, "{name}");
        assert_eq!(parallel.len(), 300, "{name}");
        for (a, b) in inline.iter().zip(&parallel) {
            let (a, b) = (
                serde_json::to_string(a).unwrap(),
                serde_json::to_string(b).unwrap(),
            );
            assert!(a == b, "{name}: in line {a}\nsecond thread {b}");
        }
        let forged: u64 = parallel.iter().map(|r| r.forged_messages.unwrap()).sum();
        assert_eq!(forged, 1, "{name}");
        assert!(
            parallel.iter().all(|r| r.verified_messages.unwrap() >= 25),
            "{name}"
        );
    }
}
