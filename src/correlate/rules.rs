//! What two legs that share a logon mean: a relay (and which leg is the
//! victim's), a man in the middle that changed the NEGOTIATE, an SMB1
//! downgrade. Judged from the protocol: addresses say only which way the
//! legs point, never who is who in a lab.

use super::legs::{Leg, LegLogon, smb2_strings};
use crate::posture::kb::{self, Side};
use crate::posture::{Finding, FindingCode};
use crate::wire::SigningSetting;
use std::collections::HashSet;
use std::net::IpAddr;

/// Which leg the victim opened (to the relay) and which the relay opened
/// (to the target), when the legs say.
fn roles<'a>(a: &'a Leg, b: &'a Leg, al: &LegLogon, bl: &LegLogon) -> (&'a Leg, &'a Leg, bool) {
    // The victim addressed the relay: its target name is its own server.
    match (al.aims_at_own_server, bl.aims_at_own_server) {
        (true, false) => return (a, b, true),
        (false, true) => return (b, a, true),
        _ => {}
    }
    // The relay is the victim leg's server and the relayed leg's client.
    let feeds = |x: &Leg, y: &Leg| x.server_ip().is_some() && x.server_ip() == y.client_ip();
    match (feeds(a, b), feeds(b, a)) {
        (true, false) => (a, b, true),
        (false, true) => (b, a, true),
        _ => (a, b, false),
    }
}

fn fingerprint(b: &[u8]) -> String {
    let hex: String = b.iter().take(6).map(|x| format!("{x:02x}")).collect();
    format!("{hex}…")
}

/// Findings for `a` and `b`, which share logon `ai` / `bi`.
pub fn judge_pair(a: &Leg, ai: usize, b: &Leg, bi: usize) -> (Vec<Finding>, Vec<Finding>) {
    let (al, bl) = (&a.logons[ai], &b.logons[bi]);
    if a.server.is_empty() || b.server.is_empty() || a.server == b.server {
        return (Vec::new(), Vec::new());
    }
    // A relay forwards the AUTHENTICATE unchanged: two AUTHENTICATEs with
    // different proofs over one server challenge are two logons (a server
    // that repeats its challenge), not a relay.
    let same_proof = match (al.proof(), bl.proof()) {
        (Some(p), Some(q)) if p != q => return (Vec::new(), Vec::new()),
        (Some(_), Some(_)) => true,
        _ => false,
    };
    // With only the challenge in common, the legs must also chain: the
    // server of one is the client of the other (the relay host). A client
    // that merely met two servers repeating one challenge does not.
    let chained = |x: &Leg, y: &Leg| x.server_ip().is_some() && x.server_ip() == y.client_ip();
    if !same_proof && !chained(a, b) && !chained(b, a) {
        return (Vec::new(), Vec::new());
    }
    let (v, r, known) = roles(a, b, al, bl);
    let (vl, rl) = if std::ptr::eq(v, a) {
        (al, bl)
    } else {
        (bl, al)
    };
    let mut for_v = Vec::new();
    let mut for_r = Vec::new();
    let (vf, rf) = relay(v, vl, r, rl, known);
    for_v.push(vf);
    for_r.push(rf);
    // The NEGOTIATEs are compared only when one AUTHENTICATE links the legs.
    if let Some((x, y)) = tampered(v, vl, r, rl).filter(|_| same_proof) {
        for_v.push(x);
        for_r.push(y);
    }
    if let Some((x, y)) = stripped_smb2(v, vl, r, rl).filter(|_| same_proof) {
        for_v.push(x);
        for_r.push(y);
    }
    let seal = |f: Vec<Finding>| f.into_iter().map(Finding::seal).collect();
    if std::ptr::eq(v, a) {
        (seal(for_v), seal(for_r))
    } else {
        (seal(for_r), seal(for_v))
    }
}

fn relay(v: &Leg, vl: &LegLogon, r: &Leg, rl: &LegLogon, known: bool) -> (Finding, Finding) {
    let reflection = known && r.server_ip().is_some() && r.server_ip() == v.client_ip();
    let how = match (vl.proof(), rl.proof()) {
        (Some(p), Some(q)) if p == q => "the same NTLM AUTHENTICATE (NTProofStr)",
        _ => "the same NTLM server challenge",
    };
    let outcome = if r.server_signing == Some(SigningSetting::Required) {
        "the target requires signing: the relay could not sign, so the session is of no use to it"
            .to_owned()
    } else if rl.succeeded() {
        "the target does not require signing: the relay got a usable session".to_owned()
    } else if let Some(s) = rl.status() {
        format!("the target refused the relayed logon ({s})")
    } else {
        "the outcome of the relayed logon was not captured".to_owned()
    };
    let kind = if reflection {
        "relayed back to the victim itself (reflection, as in CVE-2025-33073)"
    } else {
        "relayed"
    };
    let user = if vl.user().is_empty() {
        rl.user()
    } else {
        vl.user()
    };
    let message = format!(
        "{user}'s NTLM logon was {kind}: {how} went from {} to {} (frame {}) and from {} to {} \
         (frame {}); {outcome}",
        v.client,
        v.server,
        frame(vl),
        r.client,
        r.server,
        frame(rl),
    );
    let build = |this_leg: &Leg, this: &LegLogon, peer: &Leg, peer_logon: &LegLogon, role| {
        let mut f = Finding::new(FindingCode::NtlmRelay, message.clone())
            .frames(&frame_of(this).into_iter().collect::<Vec<_>>())
            .evidence("user", this.user().to_owned(), peer_logon.user().to_owned())
            .evidence("server", this_leg.server.clone(), peer.server.clone())
            .fix(
                Side::Server,
                kb::require_signing_fix(Side::Server).on(format!("the target {}", r.server)),
            );
        if let (Some(p), Some(q)) = (this.proof(), peer_logon.proof()) {
            f = f.evidence("nt_proof_str", fingerprint(p), fingerprint(q));
        }
        if let (Some(p), Some(q)) = (this.challenge(), peer_logon.challenge()) {
            f = f.evidence("server_challenge", fingerprint(&p), fingerprint(&q));
        }
        f.peer = Some(peer.peer(frame_of(peer_logon), role));
        f
    };
    let (v_role, r_role) = if known {
        ("relayed", "victim")
    } else {
        ("other-leg", "other-leg")
    };
    (build(v, vl, r, rl, v_role), build(r, rl, v, vl, r_role))
}

fn frame_of(l: &LegLogon) -> Option<u64> {
    l.auth_frame().or(l.challenge_frame())
}

fn frame(l: &LegLogon) -> String {
    frame_of(l).map_or_else(|| "?".into(), |f| f.to_string())
}

/// The NEGOTIATE differs between two legs that forwarded it: a request
/// whose ClientGuid (SMB2) or header ids (SMB1) both legs show came from
/// one client, a response whose ServerGuid both show came from one server.
fn tampered(v: &Leg, vl: &LegLogon, r: &Leg, rl: &LegLogon) -> Option<(Finding, Finding)> {
    let (c1, c2) = (&v.client_offer, &r.client_offer);
    let (s1, s2) = (&v.server_answer, &r.server_answer);
    let mut diffs: Vec<(&str, String, String)> = Vec::new();
    let mut differ = |field: &'static str, x: String, y: String| {
        if x != y {
            diffs.push((field, x, y));
        }
    };
    let same_smb2_client = c1.client_guid.is_some() && c1.client_guid == c2.client_guid;
    let same_smb1_client =
        c1.smb1_request_ids.is_some() && c1.smb1_request_ids == c2.smb1_request_ids;
    if same_smb2_client {
        let d = |o: &crate::conn::ClientOffer| {
            o.smb2_dialects
                .iter()
                .map(|x| format!("0x{:04x}", x.0))
                .collect::<Vec<_>>()
                .join(",")
        };
        differ("dialects", d(c1), d(c2));
        differ(
            "client_security_mode",
            format!("{:?}", c1.security_mode.map(|m| m.0)),
            format!("{:?}", c2.security_mode.map(|m| m.0)),
        );
        differ(
            "capabilities",
            format!("{:?}", c1.capabilities),
            format!("{:?}", c2.capabilities),
        );
    }
    if same_smb2_client || same_smb1_client {
        differ(
            "smb1_dialects",
            c1.smb1_dialects.join(","),
            c2.smb1_dialects.join(","),
        );
    }
    if s1.server_guid.is_some() && s1.server_guid == s2.server_guid {
        differ(
            "server_security_mode",
            format!("{:?}", s1.security_mode.map(|m| m.raw())),
            format!("{:?}", s2.security_mode.map(|m| m.raw())),
        );
        differ(
            "server_capabilities",
            format!("{:?}", s1.capabilities),
            format!("{:?}", s2.capabilities),
        );
        differ(
            "dialect",
            v.dialect.as_ref().map(|d| d.name()).unwrap_or_default(),
            r.dialect.as_ref().map(|d| d.name()).unwrap_or_default(),
        );
    }
    if diffs.is_empty() {
        return None;
    }
    let fields: Vec<&str> = diffs.iter().map(|d| d.0).collect();
    let message = format!(
        "the NEGOTIATE changed between the two legs of one logon ({} → {} and {} → {}), in {}: \
         a man in the middle rewrote it",
        v.client,
        v.server,
        r.client,
        r.server,
        fields.join(", ")
    );
    let build =
        |peer: &Leg, peer_logon: &LegLogon, role: &'static str, client_side: bool, this: &Leg| {
            let mut f = Finding::new(FindingCode::NegotiateTampered, message.clone())
                .frames(
                    &[
                        this.client_offer.negotiate_frame,
                        this.server_answer.negotiate_frame,
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>(),
                )
                .fix(Side::Client, kb::negotiate_integrity_fix(Side::Client))
                .fix(Side::Server, kb::negotiate_integrity_fix(Side::Server));
            for (field, x, y) in &diffs {
                let (seen, other) = if client_side { (x, y) } else { (y, x) };
                f = f.evidence(field, seen.clone(), other.clone());
            }
            f.peer = Some(peer.peer(frame_of(peer_logon), role));
            f
        };
    Some((
        build(r, rl, "server-side", true, v),
        build(v, vl, "client-side", false, r),
    ))
}

/// SMB2 dialect strings the client-side leg offered are gone on the
/// server-side leg.
fn stripped_smb2(v: &Leg, vl: &LegLogon, r: &Leg, rl: &LegLogon) -> Option<(Finding, Finding)> {
    let offered = smb2_strings(&v.client_offer);
    let forwarded = smb2_strings(&r.client_offer);
    if offered.is_empty() || !forwarded.is_empty() || r.client_offer.smb1_dialects.is_empty() {
        return None;
    }
    let message = format!(
        "the client offered {} in its SMB1 NEGOTIATE ({} → {}), but the NEGOTIATE that reached \
         the server ({} → {}) offers none: the connection was downgraded to {} on the way",
        offered.join(", "),
        v.client,
        v.server,
        r.client,
        r.server,
        r.dialect
            .as_ref()
            .map_or_else(|| "SMB1".into(), |d| d.name())
    );
    let build =
        |peer: &Leg, peer_logon: &LegLogon, role: &'static str, seen: String, other: String| {
            let mut f = Finding::new(FindingCode::DowngradedToSmb1, message.clone())
                .evidence("smb1_dialects", seen, other)
                .fix(Side::Client, kb::disable_smb1_fix(Side::Client))
                .fix(Side::Server, kb::disable_smb1_fix(Side::Server));
            f.peer = Some(peer.peer(frame_of(peer_logon), role));
            f
        };
    let (a, b) = (
        v.client_offer.smb1_dialects.join(","),
        r.client_offer.smb1_dialects.join(","),
    );
    Some((
        build(r, rl, "server-side", a.clone(), b.clone()),
        build(v, vl, "client-side", b, a),
    ))
}

/// A client offered SMB2 in a multi-protocol NEGOTIATE and got SMB1 from a
/// server that negotiated SMB2 with others in this run.
pub fn downgrade_against_servers(
    leg: &Leg,
    smb2_servers: &HashSet<IpAddr, ahash::RandomState>,
    report: &mut crate::posture::ConnectionReport,
) {
    if !leg.offered_smb2_got_smb1() {
        return;
    }
    let Some(ip) = leg.server_ip() else { return };
    if !smb2_servers.contains(&ip) {
        return;
    }
    if report
        .findings
        .iter()
        .any(|f| f.code == FindingCode::DowngradedToSmb1)
    {
        return;
    }
    let offered = smb2_strings(&leg.client_offer).join(", ");
    let got = leg.dialect.as_ref().map(|d| d.name()).unwrap_or_default();
    report.findings.push(
        Finding::new(
            FindingCode::DowngradedToSmb1,
            format!(
                "the client offered {offered} but {} answered {got}, though it negotiated SMB2 \
                 with other clients in this run: the SMB2 dialects were removed on the way, or \
                 the server was made to refuse them",
                leg.server
            ),
        )
        .frames(
            &leg.server_answer
                .negotiate_frame
                .into_iter()
                .collect::<Vec<_>>(),
        )
        .evidence("dialect", got, "SMB2 (with other clients)".into())
        .fix(Side::Client, kb::disable_smb1_fix(Side::Client))
        .fix(Side::Server, kb::disable_smb1_fix(Side::Server))
        .seal(),
    );
}
