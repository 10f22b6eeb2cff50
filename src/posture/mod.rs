//! Posture: the reading of a connection's signing state that an auditor
//! acts on — the KB's Security Mode table, findings with stable codes and
//! severities, and the report object the CLI, the C API and the plugin share.
#![forbid(unsafe_code)]

pub mod kb;

use crate::conn::{AuthMechanism, Connection, SigningSetting};
use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
#[repr(u32)]
pub enum Severity {
    Info = 0,
    Warning = 1,
    Error = 2,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// Finding codes. The numeric values are stable (the C API exposes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum FindingCode {
    SigningNotRequired = 1,
    SigningDisabled = 2,
    SigningMismatch = 3,
    UnsignedWhileRequired = 4,
    GuestSession = 5,
    AnonymousSession = 6,
    Smb1InUse = 7,
    EncryptionInUse = 8,
    DecodeError = 9,
    BadSignature = 10,
    WrongCredentials = 11,
    ClosedAfterNegotiate = 12,
    TreeConnectDenied = 13,
}

impl FindingCode {
    pub const ALL: [FindingCode; 13] = [
        FindingCode::SigningNotRequired,
        FindingCode::SigningDisabled,
        FindingCode::SigningMismatch,
        FindingCode::UnsignedWhileRequired,
        FindingCode::GuestSession,
        FindingCode::AnonymousSession,
        FindingCode::Smb1InUse,
        FindingCode::EncryptionInUse,
        FindingCode::DecodeError,
        FindingCode::BadSignature,
        FindingCode::WrongCredentials,
        FindingCode::ClosedAfterNegotiate,
        FindingCode::TreeConnectDenied,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::SigningNotRequired => "signing-not-required",
            FindingCode::SigningDisabled => "signing-disabled",
            FindingCode::SigningMismatch => "signing-mismatch",
            FindingCode::UnsignedWhileRequired => "unsigned-while-required",
            FindingCode::GuestSession => "guest-session",
            FindingCode::AnonymousSession => "anonymous-session",
            FindingCode::Smb1InUse => "smb1-in-use",
            FindingCode::EncryptionInUse => "encryption-in-use",
            FindingCode::DecodeError => "decode-error",
            FindingCode::BadSignature => "bad-signature",
            FindingCode::WrongCredentials => "wrong-credentials",
            FindingCode::ClosedAfterNegotiate => "closed-after-negotiate",
            FindingCode::TreeConnectDenied => "tree-connect-denied",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
    pub fn severity(self) -> Severity {
        match self {
            FindingCode::SigningNotRequired => Severity::Warning,
            FindingCode::SigningDisabled => Severity::Warning,
            FindingCode::SigningMismatch => Severity::Error,
            FindingCode::UnsignedWhileRequired => Severity::Error,
            FindingCode::GuestSession => Severity::Warning,
            FindingCode::AnonymousSession => Severity::Info,
            FindingCode::Smb1InUse => Severity::Warning,
            FindingCode::EncryptionInUse => Severity::Info,
            FindingCode::DecodeError => Severity::Warning,
            FindingCode::BadSignature => Severity::Error,
            FindingCode::WrongCredentials => Severity::Error,
            FindingCode::ClosedAfterNegotiate => Severity::Error,
            FindingCode::TreeConnectDenied => Severity::Error,
        }
    }
}

impl Serialize for FindingCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One finding on a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    /// What was seen, and (when a setting explains it) what to change.
    pub message: String,
    /// The setting to change, on which side: Group Policy name and registry
    /// value (KB 887429), and Samba's equivalent. Null when no setting
    /// explains the finding.
    pub remediation: Option<String>,
}

impl Finding {
    fn new(code: FindingCode, message: String) -> Self {
        Finding {
            code,
            severity: code.severity(),
            message,
            remediation: None,
        }
    }

    /// Attach a remediation; the message names it too (the plugin's
    /// expert info shows the message).
    fn fix(mut self, side: &str, what: String) -> Self {
        let text = format!("on the {side}, {what}. {}", kb::POLICY_ADVICE);
        self.message = format!("{} Fix: {text}", self.message);
        self.remediation = Some(text);
        self
    }
}

/// The KB's reading of an SMB1 NEGOTIATE response SecurityMode, bit by bit
/// (article: "bit 0: 0 = share, 1 = user; bit 1: encrypt passwords; bit 2:
/// Security Signatures enabled; bit 3: Security Signatures required").
pub fn describe_smb1_security_mode(mode: u8) -> Vec<&'static str> {
    let mut out = vec![if mode & 0x01 != 0 {
        "user level security"
    } else {
        "share level security"
    }];
    if mode & 0x02 != 0 {
        out.push("encrypt passwords");
    }
    if mode & 0x04 != 0 {
        out.push("security signatures (SMB sequence numbers) enabled");
    }
    if mode & 0x08 != 0 {
        out.push("security signatures (SMB sequence numbers) required");
    }
    out
}

/// One-line summary in the KB's terms: 3 = signing disabled, 7 = enabled but
/// not required, 15 = enabled and required.
pub fn smb1_security_mode_summary(mode: u8) -> &'static str {
    match SigningSetting::from_smb1_security_mode(mode) {
        SigningSetting::Disabled => "SMB signing is disabled at the server",
        SigningSetting::Enabled => "SMB signing is enabled and not required at the server",
        SigningSetting::Required => "SMB signing is enabled and required at the server",
    }
}

/// Bits of the 16-bit SMB2 SecurityMode.
pub fn describe_smb2_security_mode(mode: u16) -> Vec<&'static str> {
    let mut out = Vec::new();
    if mode & 0x1 != 0 {
        out.push("signing enabled");
    }
    if mode & 0x2 != 0 {
        out.push("signing required");
    }
    if out.is_empty() {
        out.push("signing not required (SMB2+ always allows signing)");
    }
    out
}

/// Findings for one connection, most severe first.
pub fn findings(c: &Connection) -> Vec<Finding> {
    let mut f = Vec::new();
    let smb1 = c.is_smb1();
    let server = c.server_signing();
    let client = c.client_signing();

    if smb1 {
        f.push(Finding::new(
            FindingCode::Smb1InUse,
            format!(
                "the connection uses SMB1 ({}); SMB1 is deprecated and its signing uses MD5",
                c.dialect
                    .as_ref()
                    .map(|d| d.name())
                    .unwrap_or_else(|| "dialect not seen".into())
            ),
        ));
    }
    if let Some(s) = server
        && s != SigningSetting::Required
    {
        let mode = c.server_security_mode.unwrap_or(0);
        f.push(
            Finding::new(
                FindingCode::SigningNotRequired,
                format!(
                    "the server does not require signing (security mode 0x{mode:02x}, signing {}): \
                 sessions that do not sign can be relayed (NTLM relay) or tampered with.",
                    s.as_str()
                ),
            )
            .fix("server", kb::require_signing_fix(kb::Side::Server)),
        );
    }
    if smb1 {
        if server == Some(SigningSetting::Disabled) {
            f.push(
                Finding::new(
                    FindingCode::SigningDisabled,
                    format!(
                        "the server has SMB1 signing disabled (security mode {})",
                        c.server_security_mode.unwrap_or(0)
                    ),
                )
                .fix("server", kb::enable_signing_fix(kb::Side::Server)),
            );
        }
        if client == Some(SigningSetting::Disabled) {
            f.push(Finding::new(
                FindingCode::SigningDisabled,
                "the client has SMB1 signing disabled (its SESSION_SETUP carries no signature flags)"
                    .into(),
            )
        .fix("client", kb::enable_signing_fix(kb::Side::Client)));
        }
    }
    match (client, server) {
        (Some(SigningSetting::Required), Some(SigningSetting::Disabled)) => f.push(Finding::new(
            FindingCode::SigningMismatch,
            "the client requires signing and the server has it disabled: the KB's scenario \
                 where the connection is closed after negotiate and the client reports \
                 error 1240 (ERROR_LOGIN_WKSTA_RESTRICTION)"
                .into(),
        )),
        (Some(SigningSetting::Disabled), Some(SigningSetting::Required)) => f.push(Finding::new(
            FindingCode::SigningMismatch,
            "the server requires signing and the client has it disabled: the KB's scenario \
                 where TREE_CONNECT or a DFS referral fails with STATUS_ACCESS_DENIED"
                .into(),
        )),
        _ => {}
    }
    // The KB's failure scenarios, as they showed up on the wire.
    // Nothing at all after the negotiate exchange (a SESSION_SETUP response
    // with its request lost from the capture still counts as going on).
    let after_negotiate = c.requests + c.responses + c.encrypted_messages + c.compressed_messages;
    if c.closed && c.negotiate_responses > 0 && after_negotiate == 0 {
        let (cause, fix) = match (server, smb1) {
            (Some(SigningSetting::Disabled), true) => (
                "the KB's scenario \"client requires signing, server has it disabled\": the client \
                 closes the TCP session after negotiate and reports error 1240 \
                 (ERROR_LOGIN_WKSTA_RESTRICTION)",
                Some(("server", kb::enable_signing_fix(kb::Side::Server))),
            ),
            (Some(SigningSetting::Required), true) => (
                "the server requires signing; a client with signing disabled gives up here (Samba's \
                 smbclient: \"client[disabled] and server[required] mismatch\"; Windows clients go on \
                 and get STATUS_ACCESS_DENIED on TREE_CONNECT)",
                Some(("client", kb::enable_signing_fix(kb::Side::Client))),
            ),
            _ => (
                "the client did not accept the negotiated dialect or security mode",
                None,
            ),
        };
        let finding = Finding::new(
            FindingCode::ClosedAfterNegotiate,
            format!(
                "the connection was closed right after negotiate, with no SESSION_SETUP: {cause}."
            ),
        );
        f.push(match fix {
            Some((side, what)) => finding.fix(side, what),
            None => finding,
        });
    }
    if let Some(frame) = c.tree_connect_denied_frame
        && server == Some(SigningSetting::Required)
        && c.tree_connects_ok == 0
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
            .fix("client", kb::enable_signing_fix(kb::Side::Client)),
        );
    }
    if c.unsigned_while_required > 0 {
        f.push(
            Finding::new(
                FindingCode::UnsignedWhileRequired,
                format!(
                    "{} message(s) were not signed although signing was in force, frames {}",
                    c.unsigned_while_required,
                    frame_list(&c.unsigned_while_required_frames, c.unsigned_while_required)
                ),
            )
            .fix("server", kb::enable_signing_fix(kb::Side::Server))
            .fix("client", kb::enable_signing_fix(kb::Side::Client)),
        );
    }
    for s in &c.sessions {
        let who = s.user.as_deref().unwrap_or("(no user name)");
        if s.guest {
            f.push(Finding::new(
                FindingCode::GuestSession,
                format!(
                    "session {} ({who}) is a guest session: guest sessions are never signed",
                    session_id_string(s.id, s.smb1)
                ),
            ));
        }
        if s.anonymous {
            f.push(Finding::new(
                FindingCode::AnonymousSession,
                format!(
                    "session {} is anonymous (null session): it is not signed",
                    session_id_string(s.id, s.smb1)
                ),
            ));
        }
    }
    if c.encrypted_messages > 0 {
        f.push(Finding::new(
            FindingCode::EncryptionInUse,
            format!(
                "{} message(s) are encrypted (SMB3 transform){}; their signing cannot be inspected",
                c.encrypted_messages,
                c.cipher
                    .map(|x| format!(", cipher {}", x.name()))
                    .unwrap_or_default()
            ),
        ));
    }
    if c.forged_messages > 0 {
        f.push(Finding::new(
            FindingCode::BadSignature,
            format!(
                "{} message(s) carry a signature that does not match the session key: \
                 tampered with in transit, or a forged signature; frames {}",
                c.forged_messages,
                frame_list(&c.forged_frames, c.forged_messages)
            ),
        ));
    }
    for s in &c.sessions {
        if c.key_state(s.id) == Some(&crate::conn::KeyState::WrongCredentials) {
            f.push(Finding::new(
                FindingCode::WrongCredentials,
                format!(
                    "the password or NT hash given for {} does not match the NTLM exchange of \
                     session {} (NTProofStr differs): its signatures were not checked",
                    s.user.as_deref().unwrap_or("this user"),
                    session_id_string(s.id, s.smb1)
                ),
            ));
        }
    }
    if c.decode_errors > 0 {
        let (frame, e) = c.first_decode_error.expect("counted with first error");
        f.push(Finding::new(
            FindingCode::DecodeError,
            format!(
                "{} message(s) could not be decoded; first at frame {frame}: {e}",
                c.decode_errors
            ),
        ));
    }
    f.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));
    f
}

fn frame_list(frames: &[u64], total: u64) -> String {
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

/// "0x…" as the JSON shows session ids: 16 hex digits for SMB2, 4 for SMB1 UIDs.
pub fn session_id_string(id: u64, smb1: bool) -> String {
    if smb1 {
        format!("0x{id:04x}")
    } else {
        format!("0x{id:016x}")
    }
}

/// JSON form of a session.
#[derive(Debug, Clone, Serialize)]
pub struct SessionReport {
    pub session_id: String,
    pub user: Option<String>,
    /// "ntlmssp", "kerberos" or "unknown".
    pub mechanism: &'static str,
    /// SMB1 SESSION_SETUP_ANDX without extended security: LM/NTLM
    /// challenge-response (or plaintext) passwords, no NTLMSSP.
    pub legacy_auth: bool,
    pub guest: bool,
    pub anonymous: bool,
    pub encrypted: bool,
    pub established: bool,
    pub signing_required: bool,
    /// Verification (with credentials): messages whose MAC matched, did not
    /// match (frames listed), were unsigned though signing was in force,
    /// or were signed with no key known. Null without credentials.
    pub verified: Option<u64>,
    pub forged: Option<u64>,
    pub unsigned_while_required: u64,
    pub no_key: Option<u64>,
    pub forged_frames: Vec<u64>,
    /// "ready", "wrong-credentials", "no-key: why", "pending"; null
    /// without credentials.
    pub key: Option<String>,
    /// NTLM MIC check result when a key was derived and the message had one.
    pub ntlm_mic_valid: Option<bool>,
}

/// The JSON object for one connection (`"type": "connection"`).
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionReport {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub file: Option<String>,
    pub client: String,
    pub server: String,
    pub first_frame: Option<u64>,
    pub last_frame: Option<u64>,
    pub dialect: Option<String>,
    pub server_security_mode: Option<u16>,
    pub client_security_mode: Option<u16>,
    pub server_signing: Option<&'static str>,
    pub client_signing: Option<&'static str>,
    pub signing_algorithm: Option<&'static str>,
    pub cipher: Option<&'static str>,
    pub signed_messages: u64,
    pub unsigned_messages: u64,
    /// signed + unsigned split by the request/response bit.
    pub requests: u64,
    pub responses: u64,
    pub encrypted_messages: u64,
    pub compressed_messages: u64,
    pub unsigned_while_required: u64,
    pub sessions: Vec<SessionReport>,
    pub findings: Vec<Finding>,
    /// Bytes the capture layer could not see (TCP gaps) and times it had to
    /// resynchronise on the next SMB header.
    pub gap_bytes: u64,
    pub resyncs: u64,
    pub decode_errors: u64,
    /// The capture shows the TCP connection ending (FIN or RST).
    pub closed: bool,
    /// Verification totals (null without credentials).
    pub verified_messages: Option<u64>,
    pub forged_messages: Option<u64>,
    pub no_key_messages: Option<u64>,
    pub unverifiable_messages: Option<u64>,
    pub forged_frames: Vec<u64>,
    /// Session keys derived during verification (never printed in the
    /// JSON; `--export-keys` writes them for Wireshark).
    #[serde(skip)]
    pub session_keys: Vec<(u64, [u8; 16])>,
}

/// Signing algorithm in force for an SMB2+ dialect (MS-SMB2 3.1.4.1).
pub fn signing_algorithm_name(c: &Connection) -> Option<&'static str> {
    use crate::conn::Dialect;
    use crate::wire::smb2::Smb2Dialect;
    Some(match c.dialect.as_ref()? {
        Dialect::Smb1(_) => "MD5",
        Dialect::Smb2(Smb2Dialect::Smb202 | Smb2Dialect::Smb210) => "HMAC-SHA256",
        Dialect::Smb2(Smb2Dialect::Smb300 | Smb2Dialect::Smb302) => "AES-128-CMAC",
        Dialect::Smb2(Smb2Dialect::Smb311) => c
            .signing_algorithm
            .map(|a| a.name())
            .unwrap_or("AES-128-CMAC"),
        Dialect::Smb2(_) => return None,
    })
}

impl ConnectionReport {
    pub fn build(
        c: &Connection,
        client: String,
        server: String,
        gap_bytes: u64,
        resyncs: u64,
    ) -> Self {
        ConnectionReport {
            kind: "connection",
            file: None,
            client,
            server,
            first_frame: c.first_frame,
            last_frame: c.last_frame,
            dialect: c.dialect.as_ref().map(|d| d.name()),
            server_security_mode: c.server_security_mode,
            client_security_mode: c.client_security_mode,
            server_signing: c.server_signing().map(SigningSetting::as_str),
            client_signing: c.client_signing().map(SigningSetting::as_str),
            signing_algorithm: signing_algorithm_name(c),
            cipher: c.cipher.map(|x| x.name()),
            signed_messages: c.signed_messages,
            unsigned_messages: c.unsigned_messages,
            requests: c.requests,
            responses: c.responses,
            encrypted_messages: c.encrypted_messages,
            compressed_messages: c.compressed_messages,
            unsigned_while_required: c.unsigned_while_required,
            sessions: c
                .sessions
                .iter()
                .map(|s| SessionReport {
                    session_id: session_id_string(s.id, s.smb1),
                    user: s.user.clone(),
                    mechanism: match s.mechanism {
                        AuthMechanism::Plain => AuthMechanism::Unknown.as_str(),
                        m => m.as_str(),
                    },
                    legacy_auth: s.mechanism == AuthMechanism::Plain,
                    guest: s.guest,
                    anonymous: s.anonymous,
                    encrypted: s.encrypted,
                    established: s.established,
                    signing_required: s.signing_required,
                    verified: c.verifies().then_some(s.verified),
                    forged: c.verifies().then_some(s.forged),
                    unsigned_while_required: s.unsigned_while_required,
                    no_key: c.verifies().then_some(s.no_key),
                    forged_frames: s.forged_frames.clone(),
                    key: c.key_state(s.id).map(|k| match k {
                        crate::conn::KeyState::Pending => "pending".to_string(),
                        crate::conn::KeyState::Ready { .. } => "ready".to_string(),
                        crate::conn::KeyState::WrongCredentials => "wrong-credentials".to_string(),
                        crate::conn::KeyState::NoKey(why) => format!("no-key: {why}"),
                    }),
                    ntlm_mic_valid: c.signing.as_ref().and_then(|sg| sg.mic_ok(s.id)),
                })
                .collect(),
            findings: findings(c),
            gap_bytes,
            resyncs,
            decode_errors: c.decode_errors,
            closed: c.closed,
            verified_messages: c.verifies().then_some(c.verified_messages),
            forged_messages: c.verifies().then_some(c.forged_messages),
            no_key_messages: c.verifies().then_some(c.no_key_messages),
            unverifiable_messages: c.verifies().then_some(c.unverifiable_messages),
            forged_frames: c.forged_frames.clone(),
            session_keys: c
                .signing
                .as_ref()
                .map(|sg| sg.session_keys())
                .unwrap_or_default(),
        }
    }
}

/// Findings that concern one message, for tools that annotate PDUs (the
/// plugin): posture findings on the NEGOTIATE response that revealed them,
/// guest/anonymous on the SESSION_SETUP response that established the
/// session, unsigned-while-required on the message itself, encryption on
/// transform messages.
pub fn message_findings(c: &Connection, a: &crate::conn::MessageAnnotation) -> Vec<FindingCode> {
    use crate::wire::nbss::SmbFamily;
    let mut out = Vec::new();
    if a.unsigned_while_required {
        out.push(FindingCode::UnsignedWhileRequired);
    }
    if a.family == SmbFamily::Transform {
        out.push(FindingCode::EncryptionInUse);
    }
    let negotiate_response = a.is_response
        && a.security_mode.is_some()
        && ((a.family == SmbFamily::Smb1 && a.command == 0x72)
            || (a.family == SmbFamily::Smb2 && a.command == 0));
    if negotiate_response {
        out.extend(findings(c).into_iter().map(|f| f.code).filter(|code| {
            matches!(
                code,
                FindingCode::SigningNotRequired
                    | FindingCode::SigningDisabled
                    | FindingCode::SigningMismatch
                    | FindingCode::Smb1InUse
            )
        }));
    }
    if a.session_flags.is_some()
        && let Some(s) = c.session(a.session_id)
    {
        if s.guest {
            out.push(FindingCode::GuestSession);
        }
        if s.anonymous {
            out.push(FindingCode::AnonymousSession);
        }
    }
    out.dedup();
    out
}
