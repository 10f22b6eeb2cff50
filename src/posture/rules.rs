//! The rules that turn a connection's model into findings, one function per
//! concern. Each fix names the side that is misconfigured, and only that
//! side.

use super::finding::{Finding, FindingCode};
use super::kb::{self, Side};
use super::report::session_id_string;
use crate::conn::{Connection, KeyState};
use crate::wire::SigningSetting;

/// Findings for one connection, most severe first.
pub fn findings(c: &Connection) -> Vec<Finding> {
    findings_at(c, None)
}

/// Findings for one connection whose server address is known (the
/// target-name check compares with it), most severe first.
pub fn findings_at(c: &Connection, server: Option<std::net::IpAddr>) -> Vec<Finding> {
    findings_between(c, None, server)
}

/// As [`findings_at`], with the client's address known too: a tree
/// connect path that names the client's own address says the messages
/// were forwarded, so it is no evidence of the server's name.
pub fn findings_between(
    c: &Connection,
    client: Option<std::net::IpAddr>,
    server: Option<std::net::IpAddr>,
) -> Vec<Finding> {
    let mut f = Vec::new();
    super::attacks::attacks(c, super::attacks::Peers { client, server }, &mut f);
    protocol(c, &mut f);
    server_posture(c, &mut f);
    mismatch(c, &mut f);
    kb_scenarios(c, &mut f);
    unsigned_while_required(c, &mut f);
    sessions(c, &mut f);
    super::weak_auth::weak_auth(c, &mut f);
    super::weak_auth::kerberos_rc4(c, &mut f);
    super::encryption::encryption(c, &mut f);
    super::weakened::weakened_defaults(c, &mut f);
    verification(c, &mut f);
    if c.decode_errors > 0
        && let Some((frame, e)) = c.first_decode_error
    {
        f.push(
            Finding::new(
                FindingCode::DecodeError,
                format!(
                    "{} message(s) could not be decoded; first at frame {frame}: {e}",
                    c.decode_errors
                ),
            )
            .frames(&[frame]),
        );
    }
    let mut f: Vec<Finding> = f.into_iter().map(Finding::seal).collect();
    sort_findings(&mut f);
    f
}

/// Most severe first, then by code (stable for findings added later).
pub fn sort_findings(f: &mut [Finding]) {
    f.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));
}

fn protocol(c: &Connection, f: &mut Vec<Finding>) {
    if c.is_smb1() {
        let dialect = c
            .dialect
            .as_ref()
            .map_or_else(|| "dialect not seen".into(), |d| d.name());
        f.push(Finding::new(
            FindingCode::Smb1InUse,
            format!(
                "the connection uses SMB1 ({dialect}); SMB1 is deprecated and its signing uses MD5"
            ),
        ));
    }
    if c.counts.encrypted > 0 {
        let cipher = c
            .server
            .cipher
            .map(|x| format!(", cipher {}", x.name()))
            .unwrap_or_default();
        let inspected = if c.verifies() {
            format!(
                "; {} decrypted with the session keys (tag verified) and analysed",
                c.tally.decrypted
            )
        } else {
            "; without credentials their contents cannot be inspected (the AEAD tag protects \
             their integrity)"
                .to_owned()
        };
        f.push(Finding::new(
            FindingCode::EncryptionInUse,
            format!(
                "{} message(s) are encrypted (SMB3 transform){cipher}{inspected}",
                c.counts.encrypted
            ),
        ));
    }
}

fn server_posture(c: &Connection, f: &mut Vec<Finding>) {
    let Some(mode) = c.server.security_mode else {
        return;
    };
    let server = mode.setting();
    if server != SigningSetting::Required {
        f.push(
            Finding::new(
                FindingCode::SigningNotRequired,
                format!(
                    "the server does not require signing (security mode 0x{:02x}, signing {server}): \
                     sessions that do not sign can be relayed (NTLM relay) or tampered with.{}",
                    mode.raw(),
                    encryption_note(c)
                ),
            )
            .fix(Side::Server, kb::require_signing_fix(Side::Server)),
        );
    }
    // SMB1 clients advertise nothing that reads "disabled" (Samba sets no
    // Flags2 bits at all), so only the server's side is judged here.
    if c.is_smb1() && server == SigningSetting::Disabled {
        f.push(
            Finding::new(
                FindingCode::SigningDisabled,
                format!(
                    "the server has SMB1 signing disabled (security mode {})",
                    mode.raw()
                ),
            )
            .fix(Side::Server, kb::enable_signing_fix(Side::Server)),
        );
    }
}

/// What encryption did for integrity where signing was not required: the
/// sessions whose messages went in TRANSFORM (an AEAD tag protects them),
/// and the established ones that did not.
fn encryption_note(c: &Connection) -> String {
    if c.counts.encrypted == 0 {
        return String::new();
    }
    let live = || c.sessions.iter().filter(|s| s.established() && !s.smb1);
    let ids = |enc: bool| {
        live()
            .filter(|s| (s.transforms > 0) == enc)
            .map(|s| session_id_string(s.id, s.smb1))
            .collect::<Vec<_>>()
    };
    let (protected, exposed) = (ids(true), ids(false));
    let mut note = format!(
        " Encrypted sessions were protected anyway (the AEAD tag covers every message): {}.",
        if protected.is_empty() {
            "none".into()
        } else {
            protected.join(", ")
        }
    );
    if !exposed.is_empty() {
        note.push_str(&format!(" Not encrypted: {}.", exposed.join(", ")));
    }
    note
}

fn mismatch(c: &Connection, f: &mut Vec<Finding>) {
    match (c.client_signing(), c.server_signing()) {
        (Some(SigningSetting::Required), Some(SigningSetting::Disabled)) => f.push(
            Finding::new(
                FindingCode::SigningMismatch,
                "the client requires signing and the server has it disabled: the KB's scenario \
                 where the connection is closed after negotiate and the client reports \
                 error 1240 (ERROR_LOGIN_WKSTA_RESTRICTION)"
                    .into(),
            )
            .fix(Side::Server, kb::enable_signing_fix(Side::Server)),
        ),
        (Some(SigningSetting::Disabled), Some(SigningSetting::Required)) => f.push(
            Finding::new(
                FindingCode::SigningMismatch,
                "the server requires signing and the client has it disabled: the KB's scenario \
                 where TREE_CONNECT or a DFS referral fails with STATUS_ACCESS_DENIED"
                    .into(),
            )
            .fix(Side::Client, kb::enable_signing_fix(Side::Client)),
        ),
        _ => {}
    }
}

/// The KB's failure scenarios, as they showed up on the wire.
fn kb_scenarios(c: &Connection, f: &mut Vec<Finding>) {
    let server = c.server_signing();
    let smb1 = c.is_smb1();
    // Nothing at all after the negotiate exchange (a SESSION_SETUP response
    // with its request lost from the capture still counts as going on).
    let n = &c.counts;
    let after_negotiate = n.requests + n.responses + n.encrypted + n.compressed;
    if c.closed && n.negotiate_responses > 0 && after_negotiate == 0 {
        let (cause, fix) = match (server, smb1) {
            (Some(SigningSetting::Disabled), true) => (
                "the KB's scenario \"client requires signing, server has it disabled\": the client \
                 closes the TCP session after negotiate and reports error 1240 \
                 (ERROR_LOGIN_WKSTA_RESTRICTION)",
                Some(Side::Server),
            ),
            (Some(SigningSetting::Required), true) => (
                "the server requires signing; a client with signing disabled gives up here (Samba's \
                 smbclient: \"client[disabled] and server[required] mismatch\"; Windows clients go on \
                 and get STATUS_ACCESS_DENIED on TREE_CONNECT)",
                Some(Side::Client),
            ),
            _ => (
                "the client did not accept the negotiated dialect or security mode",
                None,
            ),
        };
        let mut finding = Finding::new(
            FindingCode::ClosedAfterNegotiate,
            format!(
                "the connection was closed right after negotiate, with no SESSION_SETUP: {cause}."
            ),
        );
        if let Some(side) = fix {
            finding = finding.fix(side, kb::enable_signing_fix(side));
        }
        f.push(finding.frames(&c.last_frame.into_iter().collect::<Vec<_>>()));
    }
    if let Some(frame) = c.tree_connect_denied_frame
        && server == Some(SigningSetting::Required)
        && n.tree_connects_ok == 0
    {
        f.push(
            Finding::new(
                FindingCode::TreeConnectDenied,
                format!(
                    "TREE_CONNECT was answered STATUS_ACCESS_DENIED (frame {frame}) by a server that \
                     requires signing: the KB's scenario \"server requires signing, client has it \
                     disabled\" is the likely cause."
                ),
            )
            .fix(Side::Client, kb::enable_signing_fix(Side::Client))
            .frames(&[frame]),
        );
    }
}

/// Messages not signed although signing was in force: the fix goes to the
/// side that sent them. A server that advertises "required" and sends
/// unsigned responses itself does not enforce what it advertises (Samba 4.17
/// after an SMB1 logon without extended security): that is said, and nobody
/// is told to enable a setting that is already on.
fn unsigned_while_required(c: &Connection, f: &mut Vec<Finding>) {
    let t = &c.tally;
    if t.unsigned_while_required == 0 {
        return;
    }
    let n = &c.counts;
    let mut finding = Finding::new(
        FindingCode::UnsignedWhileRequired,
        format!(
            "{} message(s) were not signed although signing was in force, frames {}",
            t.unsigned_while_required,
            frame_list(&t.unsigned_frames, t.unsigned_while_required)
        ),
    );
    let server_required = c.server_signing() == Some(SigningSetting::Required);
    if server_required && n.unsigned_responses_while_required > 0 {
        finding.message.push_str(&format!(
            "; the server advertises signing as required and does not enforce it: it accepted \
             {} unsigned request(s) and sent {} unsigned response(s)",
            n.unsigned_requests_while_required, n.unsigned_responses_while_required
        ));
        f.push(finding.frames(&t.unsigned_frames));
        return;
    }
    let senders = [
        (
            Side::Client,
            n.unsigned_requests_while_required,
            c.client_signing(),
        ),
        (
            Side::Server,
            n.unsigned_responses_while_required,
            c.server_signing(),
        ),
    ];
    for (side, count, setting) in senders.into_iter().filter(|s| s.1 > 0) {
        let who = super::finding::side_name(side);
        finding
            .message
            .push_str(&format!("; the {who} sent {count} of them"));
        if setting == Some(SigningSetting::Required) {
            finding
                .message
                .push_str(" although it advertises signing as required");
            continue;
        }
        let fix = if c.is_smb1() {
            kb::enable_signing_fix(side)
        } else {
            kb::require_signing_fix(side)
        };
        finding = finding.fix(side, fix);
    }
    f.push(finding.frames(&t.unsigned_frames));
}

fn sessions(c: &Connection, f: &mut Vec<Finding>) {
    for s in &c.sessions {
        let id = session_id_string(s.id, s.smb1);
        let who = s.user.as_deref().unwrap_or("(no user name)");
        let at: Vec<u64> = s.established_frame.into_iter().collect();
        if s.guest {
            f.push(
                Finding::new(
                    FindingCode::GuestSession,
                    format!(
                        "session {id} ({who}) is a guest session: guest sessions are never signed"
                    ),
                )
                .frames(&at),
            );
        }
        // A null logon the server refused is no anonymous session.
        if s.anonymous && s.established() {
            f.push(
                Finding::new(
                    FindingCode::AnonymousSession,
                    format!("session {id} is anonymous (null session): it is not signed"),
                )
                .frames(&at),
            );
        }
    }
}

fn verification(c: &Connection, f: &mut Vec<Finding>) {
    let t = &c.tally;
    // A final 3.1.1 SESSION_SETUP response that fails after a verified
    // logon is an altered negotiate (attacks.rs), not a forged message.
    let altered = super::attacks::preauth_mismatches(c).len() as u64;
    if t.forged > altered {
        f.push(
            Finding::new(
                FindingCode::BadSignature,
                format!(
                    "{} message(s) carry a signature that does not match the session key: \
                     tampered with in transit, or a forged signature; frames {}",
                    t.forged,
                    frame_list(&t.forged_frames, t.forged)
                ),
            )
            .frames(&t.forged_frames),
        );
    }
    if c.tally.bad_tags > 0 {
        f.push(
            Finding::new(
                FindingCode::BadEncryptionTag,
                format!(
                    "{} encrypted message(s) fail their AEAD tag with the session's cipher key \
                     (frames {}): altered in flight (ciphertext, nonce or header), or sent with \
                     another key",
                    c.tally.bad_tags,
                    frame_list(&c.tally.bad_tag_frames, c.tally.bad_tags)
                ),
            )
            .frames(&c.tally.bad_tag_frames),
        );
    }
    for s in &c.sessions {
        if c.key_state(s.id) == Some(&KeyState::WrongCredentials) {
            let why = c.verify.as_ref().and_then(|v| v.wrong_reason(s.id));
            f.push(Finding::new(
                FindingCode::WrongCredentials,
                format!(
                    "the secrets given for {} do not match the logon of session {} ({}): its \
                     signatures were not checked",
                    s.user.as_deref().unwrap_or("this user"),
                    session_id_string(s.id, s.smb1),
                    why.unwrap_or("no key derived from them checks out")
                ),
            ));
        }
    }
}

/// Frames as "1, 2, 3", with ", …" when `total` says more were seen.
pub(super) fn frame_list(frames: &[u64], total: u64) -> String {
    let mut s = frames
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if total as usize > frames.len() {
        s.push_str(", …");
    }
    s
}
