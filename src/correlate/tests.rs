//! Correlation on the attack lab's captures, leg by leg: the tests in
//! tests/attacks.rs replay whole runs; these check the index's bounds.

use super::*;
use crate::posture::ConnectionReport;

fn reports(name: &str) -> Vec<ConnectionReport> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/captures/attacks")
        .join(name);
    let mut out = Vec::new();
    crate::scan::Scanner::default()
        .scan_each(&path, |_| {}, |r| out.push(r))
        .unwrap();
    out
}

/// The index forgets its oldest logons beyond MAX_INDEXED, and holds no
/// more than MAX_HELD reports: pushing many distinct logons keeps both
/// bounded, and a report pushed past the cap is handed on at once.
#[test]
fn index_and_held_reports_stay_bounded() {
    let base = reports("relay-auto-victim.pcap").remove(0);
    let mut c = Correlator::new();
    let mut emitted = 0usize;
    for k in 0..(MAX_HELD + 10) as u32 {
        let mut r = base.clone();
        r.client = format!("10.0.{}.{}:1000", k >> 8 & 255, k & 255);
        for l in &mut r.facts.ntlm {
            if let Some(a) = l.auth.as_mut() {
                a.proof[..4].copy_from_slice(&k.to_le_bytes());
            }
            if let Some(ch) = l.challenge.as_mut() {
                ch.server_challenge[..4].copy_from_slice(&k.to_le_bytes());
            }
        }
        c.push(r, &mut |_| emitted += 1);
    }
    assert_eq!(emitted, 10, "the oldest beyond MAX_HELD are handed on");
    assert!(c.held.len() <= MAX_HELD && c.arrival.len() <= MAX_HELD);
    assert!(c.order.len() <= MAX_INDEXED && c.proofs.len() + c.challenges.len() <= MAX_INDEXED);
    let mut rest = 0;
    c.finish(&mut |r| {
        rest += 1;
        assert!(
            r.findings
                .iter()
                .all(|f| f.code != crate::posture::FindingCode::NtlmRelay)
        );
    });
    assert_eq!(rest, MAX_HELD);
}

/// One logon replayed to many servers links each report to at most
/// MAX_PEERS others: a report's findings stay bounded.
#[test]
fn a_logon_replayed_everywhere_links_a_bounded_number_of_peers() {
    let base = reports("relay-auto-target.pcap").remove(0);
    let mut c = Correlator::new();
    for k in 0..200u32 {
        let mut r = base.clone();
        r.server = format!("10.1.{}.{}:445", k >> 8 & 255, k & 255);
        c.push(r, &mut |_| {});
    }
    let mut most = 0;
    c.finish(&mut |r| {
        let n = r
            .findings
            .iter()
            .filter(|f| f.code == crate::posture::FindingCode::NtlmRelay)
            .count();
        most = most.max(n);
    });
    assert!((1..=MAX_PEERS).contains(&most), "{most}");
}

/// In a window smaller than the run, the first leg's report goes out
/// before its partner comes, unmarked; the partner still finds the leg
/// (its index keys keep it) and names it as its peer.
#[test]
fn a_partner_after_the_window_still_finds_the_first_leg() {
    let victim = reports("relay-auto-victim.pcap").remove(0);
    let target = reports("relay-auto-target.pcap").remove(0);
    let filler = reports("relay-auto-target.pcap").remove(0);
    let mut c = Correlator::with_hold(4);
    let mut out = Vec::new();
    c.push(victim, &mut |r| out.push(r));
    for k in 0..8u32 {
        let mut r = filler.clone();
        r.server = format!("10.2.0.{k}:445");
        for l in &mut r.facts.ntlm {
            if let Some(a) = l.auth.as_mut() {
                a.proof[..4].copy_from_slice(&(k + 1).to_le_bytes());
            }
            if let Some(ch) = l.challenge.as_mut() {
                ch.server_challenge[..4].copy_from_slice(&(k + 1).to_le_bytes());
            }
        }
        c.push(r, &mut |r| out.push(r));
    }
    assert!(
        !out.is_empty(),
        "the victim's report went out with the window"
    );
    c.push(target, &mut |r| out.push(r));
    c.finish(&mut |r| out.push(r));
    let relayed = out
        .iter()
        .find(|r| r.server.starts_with("10.99.0.3"))
        .expect("the relayed leg");
    let f = relayed
        .findings
        .iter()
        .find(|f| f.code == crate::posture::FindingCode::NtlmRelay)
        .expect("ntlm-relay on the later leg");
    assert_eq!(f.peer.as_ref().unwrap().role, "victim");
}
