//! Posture: the reading of a connection's signing state that an auditor
//! acts on — the KB's Security Mode table, findings with stable codes,
//! severities, evidence and fixes, and the typed report every front end
//! reads (and that is serialised to JSON in one place, `report.rs`).
//!
//! - `finding.rs`: codes, severities, findings and their fixes;
//! - `rules.rs`: the rules from a connection's model to its findings;
//! - `attacks.rs`: the attack rules one connection answers alone (target
//!   name, MIC removal, validate-negotiate, 3.1.1 preauth);
//! - `weak_auth.rs`: NTLMv1, LM and clear-text logons;
//! - `weakened.rs`: a side weaker than its system's default;
//! - `encryption.rs`: requests in clear on encrypting sessions, encryption
//!   negotiated and not used;
//! - `report.rs`: the report of a connection and its JSON;
//! - `modes.rs`: the KB's reading of SecurityMode values;
//! - `kb.rs`: the article's configuration knowledge as data;
//! - `fixes.rs`: the fixes findings propose, as typed parts (Group Policy,
//!   registry, Samba, …) and the sentence made of them;
//! - `os.rs`: the systems an NTLMSSP VERSION names and today's defaults.
#![forbid(unsafe_code)]

mod attacks;
mod encryption;
mod finding;
mod fixes;
pub mod kb;
mod modes;
pub mod os;
mod report;
mod rules;
#[cfg(test)]
mod tests;
mod weak_auth;
mod weakened;

pub use attacks::{STRIPPED_FLAGS, spn_host};
pub use finding::{Evidence, Finding, FindingCode, Fix, Peer, Severity, side_name};
pub use modes::{
    describe_smb1_security_mode, describe_smb2_security_mode, smb1_security_mode_summary,
};
pub use report::{
    ConnectionReport, ExportedKey, KerberosReport, KeyReport, LinkFacts, SessionReport, Transport,
    TreeConnectReport, endpoint_ip, session_id_string,
};
pub use rules::{findings, findings_at, findings_between, sort_findings};

use crate::conn::{Connection, MessageAnnotation};
use crate::wire::nbss::SmbFamily;

/// Findings whose evidence is in frame `frame` (MIC removal, target name,
/// validate-negotiate, 3.1.1 preauth, NTLMv1, LM and clear-text logons,
/// Kerberos RC4, …), for tools that annotate PDUs: checked only when the
/// frame holds an AUTHENTICATE (or a pre-NTLMSSP logon), a VALIDATE
/// message or a session's final SESSION_SETUP response.
pub fn frame_attack_findings(
    c: &Connection,
    frame: u64,
    server: Option<std::net::IpAddr>,
) -> Vec<FindingCode> {
    let v = &c.validate;
    let concerned = c
        .ntlm
        .iter()
        .any(|l| l.auth.as_ref().is_some_and(|a| a.frame == frame))
        || c.legacy.iter().any(|l| l.frame == frame)
        || v.request.as_ref().is_some_and(|q| q.frame == frame)
        || v.response.as_ref().is_some_and(|r| r.frame == frame)
        || c.sessions
            .iter()
            .any(|s| s.established_frame == Some(frame));
    if !concerned {
        return Vec::new();
    }
    findings_at(c, server)
        .into_iter()
        .filter(|f| f.frames.contains(&frame))
        .map(|f| f.code)
        .collect()
}

/// Findings that concern one message, for tools that annotate PDUs (the
/// plugin): posture findings on the NEGOTIATE response that revealed them,
/// guest/anonymous on the SESSION_SETUP response that established the
/// session, unsigned-while-required on the message itself, encryption on
/// transform messages.
pub fn message_findings(c: &Connection, a: &MessageAnnotation) -> Vec<FindingCode> {
    let mut out = Vec::new();
    if a.unsigned_while_required {
        out.push(FindingCode::UnsignedWhileRequired);
    }
    if a.family == SmbFamily::Transform {
        out.push(FindingCode::EncryptionInUse);
    }
    // SMB1 whose negotiation the capture missed: said on its first message.
    let smb1_unnegotiated =
        a.family == SmbFamily::Smb1 && c.counts.negotiate_responses == 0 && c.counts.smb1 == 1;
    if smb1_unnegotiated {
        out.push(FindingCode::Smb1InUse);
    }
    if a.is_negotiate_response() {
        out.extend(findings(c).into_iter().map(|f| f.code).filter(|code| {
            matches!(
                code,
                FindingCode::SigningNotRequired
                    | FindingCode::SigningDisabled
                    | FindingCode::SigningMismatch
                    | FindingCode::Smb1InUse
            )
        }));
    } else if a.is_first_setup_request(c.counts.session_setup_requests) {
        // An SMB1 client says it requires signing only here (Flags2).
        out.extend(
            findings(c)
                .into_iter()
                .map(|f| f.code)
                .filter(|code| *code == FindingCode::SigningMismatch),
        );
    }
    if a.session_flags.is_some()
        && let Some(s) = c.session(a.session_id)
    {
        if s.guest {
            out.push(FindingCode::GuestSession);
        }
        if s.anonymous && s.established() {
            out.push(FindingCode::AnonymousSession);
        }
    }
    out.dedup();
    out
}
