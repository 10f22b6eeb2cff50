//! The attack rules one connection can answer alone: an NTLM logon meant
//! for another server, a MIC (or signing flags) stripped from it, a MIC
//! that does not verify, and a NEGOTIATE that FSCTL_VALIDATE_NEGOTIATE_INFO
//! or the 3.1.1 preauth hash shows was altered. Cross-connection evidence
//! (the same logon on two connections) is `correlate`'s.

use super::finding::{Finding, FindingCode};
use super::kb::{self, Side};
use crate::conn::{Connection, KeyState, MicField, NtlmLogon};
use crate::wire::ntlmssp::{
    NTLMSSP_NEGOTIATE_ALWAYS_SIGN, NTLMSSP_NEGOTIATE_KEY_EXCH, NTLMSSP_NEGOTIATE_SIGN,
};
use crate::wire::smb2::Smb2Dialect;
use std::net::IpAddr;

/// Signing-related flags an attacker strips with the MIC.
pub const STRIPPED_FLAGS: [(u32, &str); 3] = [
    (NTLMSSP_NEGOTIATE_SIGN, "NEGOTIATE_SIGN"),
    (NTLMSSP_NEGOTIATE_ALWAYS_SIGN, "NEGOTIATE_ALWAYS_SIGN"),
    (NTLMSSP_NEGOTIATE_KEY_EXCH, "NEGOTIATE_KEY_EXCH"),
];

/// The connection's two addresses, where the capture gives them.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Peers {
    pub client: Option<IpAddr>,
    pub server: Option<IpAddr>,
}

pub(super) fn attacks(c: &Connection, peers: Peers, f: &mut Vec<Finding>) {
    for logon in &c.ntlm {
        target_mismatch(c, logon, peers, f);
        mic_removed(logon, f);
    }
    mic_invalid(c, f);
    validate_negotiate(c, f);
    preauth_altered(c, f);
}

/// The host part of an SPN such as `cifs/host:445` or `cifs/host/svc`.
pub fn spn_host(spn: &str) -> &str {
    let rest = spn.split_once('/').map_or(spn, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or(rest);
    // A bracketed or bare IPv6 literal keeps its colons.
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// `a` and `b` name the same machine: equal ignoring case, or one is the
/// other's first DNS label (NetBIOS name vs FQDN).
fn same_name(a: &str, b: &str) -> bool {
    fn first(s: &str) -> &str {
        s.split('.').next().unwrap_or(s)
    }
    a.eq_ignore_ascii_case(b)
        || (first(a).eq_ignore_ascii_case(first(b))
            && a.parse::<IpAddr>().is_err()
            && b.parse::<IpAddr>().is_err())
}

fn target_mismatch(c: &Connection, l: &NtlmLogon, peers: Peers, f: &mut Vec<Finding>) {
    let server = peers.server;
    let Some(auth) = &l.auth else { return };
    let Some(spn) = auth.target_name.as_deref().filter(|s| !s.is_empty()) else {
        return;
    };
    let host = spn_host(spn);
    if host.is_empty() {
        return;
    }
    // Compared by reference: this runs for every AUTHENTICATE; the
    // names are copied only for a finding's text.
    // A tree path naming the client's own address was written for a
    // forwarder on the client's side (a proxy or relay that passed the
    // client's messages on): it says nothing of this server's names.
    let forwarded = |n: &&str| peers.client.is_some() && n.parse::<IpAddr>().ok() == peers.client;
    let names = || {
        l.challenge.iter().flat_map(|ch| ch.names()).chain(
            c.tree_hosts
                .iter()
                .map(String::as_str)
                .filter(move |n| !forwarded(n)),
        )
    };
    let as_ip = host.parse::<IpAddr>().ok();
    let matches = (as_ip.is_some() && server == as_ip) || names().any(|n| same_name(n, host));
    // Nothing to compare with: no verdict. An address is compared with
    // the server's address only (unknown when the host did not say).
    let judged = match as_ip {
        Some(_) => server.is_some(),
        None => names().next().is_some(),
    };
    if matches || !judged {
        return;
    }
    let mut seen = std::collections::HashSet::new();
    let known = names()
        .filter(|n| seen.insert(n.to_ascii_lowercase()))
        .collect::<Vec<_>>()
        .join(", ");
    let address = server.map(|ip| ip.to_string()).unwrap_or_default();
    let server_is = match (known.is_empty(), address.is_empty()) {
        (false, false) => format!("{address} ({known})"),
        (false, true) => known.clone(),
        _ => address.clone(),
    };
    f.push(
        Finding::new(
            FindingCode::NtlmTargetMismatch,
            format!(
                "{}'s NTLM AUTHENTICATE (frame {}) names target {spn:?} but went to {server_is}: \
                 the logon was meant for another server, as when it is relayed",
                auth.user, auth.frame
            ),
        )
        .frames(&[auth.frame])
        .evidence("MsvAvTargetName", spn.to_owned(), server_is)
        .fix(Side::Server, kb::target_name_fix()),
    );
}

fn mic_removed(l: &NtlmLogon, f: &mut Vec<Finding>) {
    let Some(auth) = &l.auth else { return };
    if auth.anonymous {
        return;
    }
    let mut finding = None::<Finding>;
    let add = |finding: &mut Option<Finding>, field: &str, seen: String, expected: String| {
        let base = finding.take().unwrap_or_else(|| {
            Finding::new(FindingCode::NtlmMicRemoved, String::new()).frames(&[auth.frame])
        });
        *finding = Some(base.evidence(field, seen, expected));
    };
    if auth.claims_mic() {
        match (auth.mic, auth.version_present) {
            (MicField::Absent, _) => add(
                &mut finding,
                "MIC",
                "absent".into(),
                "present (MsvAvFlags 0x2)".into(),
            ),
            (MicField::Zero, false) => add(
                &mut finding,
                "MIC",
                "zero, VERSION removed".into(),
                "present (MsvAvFlags 0x2)".into(),
            ),
            _ => {}
        }
    }
    // A flag both the client's NEGOTIATE and the server's CHALLENGE set is
    // in the AUTHENTICATE unless someone cleared it.
    if let (Some(neg), Some(ch)) = (l.negotiate_flags, &l.challenge) {
        for (bit, name) in STRIPPED_FLAGS {
            if neg & bit != 0 && ch.flags & bit != 0 && auth.flags & bit == 0 {
                add(
                    &mut finding,
                    name,
                    "cleared".into(),
                    "set in NEGOTIATE and CHALLENGE".into(),
                );
            }
        }
    }
    if let Some(mut x) = finding {
        let what: Vec<String> = x
            .evidence
            .iter()
            .map(|e| format!("{} {}", e.field, e.seen))
            .collect();
        x.message = format!(
            "{}'s NTLM AUTHENTICATE (frame {}) was altered: {} (CVE-2019-1040 \"drop the MIC\"; \
             with flags stripped, CVE-2025-54918); the AV pairs the NTProofStr covers still say \
             a MIC was sent",
            auth.user,
            auth.frame,
            what.join(", ")
        );
        f.push(x.fix(Side::Server, kb::mic_removal_fix()));
    }
}

fn mic_invalid(c: &Connection, f: &mut Vec<Finding>) {
    let Some(v) = c.verify.as_deref() else { return };
    for s in &c.sessions {
        let key_ok = matches!(v.key_state(s.id), Some(KeyState::Ready { .. }));
        if key_ok && v.mic_ok(s.id) == Some(false) {
            let frame = c
                .ntlm
                .iter()
                .find(|l| l.session_id == s.id)
                .and_then(|l| l.auth.as_ref().map(|a| a.frame));
            f.push(
                Finding::new(
                    FindingCode::NtlmMicInvalid,
                    format!(
                        "session {}: the credentials verify the NTProofStr but not the MIC: the \
                         NEGOTIATE, CHALLENGE or AUTHENTICATE was changed on the way",
                        super::report::session_id_string(s.id, s.smb1)
                    ),
                )
                .frames(&frame.into_iter().collect::<Vec<_>>())
                .fix(Side::Server, kb::mic_removal_fix()),
            );
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn validate_negotiate(c: &Connection, f: &mut Vec<Finding>) {
    let v = &c.validate;
    let mut finding = Finding::new(FindingCode::NegotiateTampered, String::new());
    let mut frames = Vec::new();
    if let Some(q) = &v.request {
        frames.push(q.frame);
        let offer = &c.client;
        let dialects = |d: &[crate::wire::smb2::Smb2Dialect]| {
            d.iter()
                .map(|x| format!("0x{:04x}", x.0))
                .collect::<Vec<_>>()
                .join(",")
        };
        let pairs = [
            (
                "capabilities",
                offer.capabilities.map(|x| format!("0x{x:08x}")),
                format!("0x{:08x}", q.capabilities),
            ),
            (
                "client_guid",
                offer.client_guid.map(|g| hex(&g)),
                hex(&q.client_guid),
            ),
            (
                "client_security_mode",
                offer.security_mode.map(|m| format!("0x{:02x}", m.0)),
                format!("0x{:02x}", q.security_mode),
            ),
            (
                "dialects",
                (!offer.smb2_dialects.is_empty()).then(|| dialects(&offer.smb2_dialects)),
                dialects(&q.dialects),
            ),
        ];
        for (field, negotiate, validate) in pairs {
            if let Some(n) = negotiate.filter(|n| *n != validate) {
                finding = finding.evidence(field, n, validate);
            }
        }
    }
    if let Some(r) = &v.response {
        frames.push(r.frame);
        let answer = &c.server;
        let pairs = [
            (
                "server_capabilities",
                answer.capabilities.map(|x| format!("0x{x:08x}")),
                format!("0x{:08x}", r.capabilities),
            ),
            (
                "server_guid",
                answer.server_guid.map(|g| hex(&g)),
                hex(&r.server_guid),
            ),
            (
                "server_security_mode",
                answer.security_mode.map(|m| format!("0x{:02x}", m.raw())),
                format!("0x{:02x}", r.security_mode),
            ),
            (
                "dialect",
                c.dialect
                    .as_ref()
                    .and_then(|d| d.smb2())
                    .map(|d| format!("0x{:04x}", d.0)),
                format!("0x{:04x}", r.dialect.0),
            ),
        ];
        for (field, negotiate, validate) in pairs {
            if let Some(n) = negotiate.filter(|n| *n != validate) {
                finding = finding.evidence(field, n, validate);
            }
        }
    }
    if finding.evidence.is_empty() {
        return;
    }
    let fields: Vec<&str> = finding.evidence.iter().map(|e| e.field.as_str()).collect();
    let outcome = if v.response.is_none() && c.closed {
        "; the server then dropped the connection, as MS-SMB2 requires"
    } else if v.response.is_none() {
        "; no answer was seen"
    } else {
        ""
    };
    finding.message = format!(
        "FSCTL_VALIDATE_NEGOTIATE_INFO (frame {}) disagrees with the NEGOTIATE seen on this \
         connection in {}: the NEGOTIATE was altered in flight{outcome}",
        frames[0],
        fields.join(", ")
    );
    f.push(
        finding
            .frames(&frames)
            .fix(Side::Client, kb::negotiate_integrity_fix(Side::Client))
            .fix(Side::Server, kb::negotiate_integrity_fix(Side::Server)),
    );
}

/// 3.1.1 sessions whose logon the credentials verify (the key is ready)
/// but whose final SESSION_SETUP response, which the server signs with a
/// key bound to its preauth hash, does not: the NEGOTIATE or SESSION_SETUP
/// messages this side saw are not the ones the server saw. The frame of
/// that response, per session.
pub(super) fn preauth_mismatches(c: &Connection) -> Vec<(u64, bool, u64)> {
    let smb311 = c.dialect.as_ref().and_then(|d| d.smb2()) == Some(Smb2Dialect::Smb311);
    if !smb311 {
        return Vec::new();
    }
    c.sessions
        .iter()
        .filter(|s| matches!(c.key_state(s.id), Some(KeyState::Ready { .. })))
        .filter_map(|s| {
            let frame = s.established_frame?;
            s.tally
                .forged_frames
                .contains(&frame)
                .then_some((s.id, s.smb1, frame))
        })
        .collect()
}

fn preauth_altered(c: &Connection, f: &mut Vec<Finding>) {
    for (id, smb1, frame) in preauth_mismatches(c) {
        f.push(
            Finding::new(
                FindingCode::NegotiateTampered,
                format!(
                    "session {}: the credentials verify the logon, but the SESSION_SETUP \
                     response at frame {frame}, signed with a key bound to the 3.1.1 preauth \
                     hash, does not: the pre-authentication messages (NEGOTIATE, SESSION_SETUP) \
                     were altered on the way; this is not a forged message",
                    super::report::session_id_string(id, smb1)
                ),
            )
            .frames(&[frame])
            .evidence(
                "preauth_integrity",
                "the final SESSION_SETUP response does not verify".into(),
                "the NTProofStr verifies with the credentials".into(),
            )
            .fix(Side::Client, kb::negotiate_integrity_fix(Side::Client))
            .fix(Side::Server, kb::negotiate_integrity_fix(Side::Server)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spn_hosts_and_names() {
        assert_eq!(spn_host("cifs/10.99.0.2"), "10.99.0.2");
        assert_eq!(spn_host("cifs/fs1.corp.example:445"), "fs1.corp.example");
        assert_eq!(spn_host("HOST/fs1/corp.example"), "fs1");
        assert_eq!(spn_host("cifs/[fe80::1]:445"), "fe80::1");
        assert_eq!(spn_host("cifs/fe80::1"), "fe80::1");
        assert!(same_name("FS1", "fs1.corp.example"));
        assert!(!same_name("FS1", "FS2"));
        assert!(!same_name("10.0.0.1", "10.0.0.2"), "IP literals are whole");
    }
}
