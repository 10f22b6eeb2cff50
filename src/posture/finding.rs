//! Findings: stable codes, severities, the evidence message, and one fix
//! per side that is actually misconfigured.

use super::kb::{self, Setting, SettingPart, Side};
use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[repr(u32)]
pub enum Severity {
    Info = 0,
    Warning = 1,
    Error = 2,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Error];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
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
    NtlmRelay = 14,
    NtlmTargetMismatch = 15,
    NtlmMicRemoved = 16,
    NtlmMicInvalid = 17,
    NegotiateTampered = 18,
    DowngradedToSmb1 = 19,
    Ntlmv1InUse = 20,
    LmResponseSent = 21,
    PlaintextPassword = 22,
    KerberosRc4 = 23,
    BadEncryptionTag = 24,
    UnencryptedInEncryptedSession = 25,
    EncryptionNotUsed = 26,
    SigningWeakenedFromDefault = 27,
}

impl FindingCode {
    pub const ALL: [FindingCode; 27] = [
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
        FindingCode::NtlmRelay,
        FindingCode::NtlmTargetMismatch,
        FindingCode::NtlmMicRemoved,
        FindingCode::NtlmMicInvalid,
        FindingCode::NegotiateTampered,
        FindingCode::DowngradedToSmb1,
        FindingCode::Ntlmv1InUse,
        FindingCode::LmResponseSent,
        FindingCode::PlaintextPassword,
        FindingCode::KerberosRc4,
        FindingCode::BadEncryptionTag,
        FindingCode::UnencryptedInEncryptedSession,
        FindingCode::EncryptionNotUsed,
        FindingCode::SigningWeakenedFromDefault,
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
            FindingCode::NtlmRelay => "ntlm-relay",
            FindingCode::NtlmTargetMismatch => "ntlm-target-mismatch",
            FindingCode::NtlmMicRemoved => "ntlm-mic-removed",
            FindingCode::NtlmMicInvalid => "ntlm-mic-invalid",
            FindingCode::NegotiateTampered => "negotiate-tampered",
            FindingCode::DowngradedToSmb1 => "downgraded-to-smb1",
            FindingCode::Ntlmv1InUse => "ntlmv1-in-use",
            FindingCode::LmResponseSent => "lm-response-sent",
            FindingCode::PlaintextPassword => "plaintext-password",
            FindingCode::KerberosRc4 => "kerberos-rc4",
            FindingCode::BadEncryptionTag => "bad-encryption-tag",
            FindingCode::UnencryptedInEncryptedSession => "unencrypted-in-encrypted-session",
            FindingCode::EncryptionNotUsed => "encryption-not-used",
            FindingCode::SigningWeakenedFromDefault => "signing-weakened-from-default",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn severity(self) -> Severity {
        use FindingCode::*;
        match self {
            SigningMismatch
            | UnsignedWhileRequired
            | BadSignature
            | WrongCredentials
            | ClosedAfterNegotiate
            | TreeConnectDenied
            | NtlmRelay
            | NtlmMicRemoved
            | NtlmMicInvalid
            | NegotiateTampered
            | PlaintextPassword
            | BadEncryptionTag
            | UnencryptedInEncryptedSession => Severity::Error,
            SigningNotRequired
            | SigningDisabled
            | GuestSession
            | Smb1InUse
            | DecodeError
            | NtlmTargetMismatch
            | DowngradedToSmb1
            | Ntlmv1InUse
            | LmResponseSent
            | KerberosRc4
            | SigningWeakenedFromDefault => Severity::Warning,
            AnonymousSession | EncryptionInUse | EncryptionNotUsed => Severity::Info,
        }
    }

    /// A short label (what the expert-info summary and GUI show).
    pub fn summary(self) -> &'static str {
        use FindingCode::*;
        match self {
            SigningNotRequired => "Server does not require signing",
            SigningDisabled => "Signing disabled",
            SigningMismatch => "Signing required by one side, disabled by the other",
            UnsignedWhileRequired => "Unsigned message while signing was in force",
            GuestSession => "Guest session (never signed)",
            AnonymousSession => "Anonymous session (not signed)",
            Smb1InUse => "SMB1 in use",
            EncryptionInUse => "SMB3 encryption in use",
            DecodeError => "Message could not be decoded",
            BadSignature => "Bad signature",
            WrongCredentials => "Credentials do not match the logon",
            ClosedAfterNegotiate => "Connection closed right after negotiate",
            TreeConnectDenied => "TREE_CONNECT denied by a server that requires signing",
            NtlmRelay => "NTLM logon relayed to another server",
            NtlmTargetMismatch => "NTLM logon meant for another server",
            NtlmMicRemoved => "NTLM MIC removed (CVE-2019-1040)",
            NtlmMicInvalid => "NTLM MIC does not verify",
            NegotiateTampered => "NEGOTIATE altered in flight",
            DowngradedToSmb1 => "Downgraded to SMB1 in flight",
            Ntlmv1InUse => "NTLMv1 logon",
            LmResponseSent => "LM response sent",
            PlaintextPassword => "Password sent in clear text",
            KerberosRc4 => "Kerberos with RC4-HMAC",
            BadEncryptionTag => "Encrypted message whose tag does not verify",
            UnencryptedInEncryptedSession => "Request in clear on an encrypted session",
            EncryptionNotUsed => "Encryption negotiated but not used",
            SigningWeakenedFromDefault => "Signing weaker than the system's default",
        }
    }
}

impl Serialize for FindingCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The setting to change on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub side: Side,
    /// Group Policy name, registry value and Samba option, as one text
    /// made from `parts`.
    pub setting: String,
    /// The host the fix is for, when not the connection's own side (the
    /// target of a relay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The same settings one by one, each with where it is set.
    pub parts: Vec<SettingPart>,
}

/// One finding on a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    /// What was seen, then (when a setting explains it) "Fix: " and the
    /// fixes, once.
    pub message: String,
    /// The fixes as one text: per misconfigured side, the Group Policy
    /// name and registry value (KB 887429) and Samba's equivalent. Null
    /// when no setting explains the finding.
    pub remediation: Option<String>,
    /// The same fixes, one per side.
    pub fixes: Vec<Fix>,
    /// Frames that show it (the first few).
    pub frames: Vec<u64>,
    /// The values compared: each field, what this connection showed and
    /// what it was compared with (the NEGOTIATE, the other leg).
    pub evidence: Vec<Evidence>,
    /// The other connection of a cross-connection finding (relay, the
    /// other leg of a man in the middle).
    pub peer: Option<Peer>,
}

/// One compared value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub field: String,
    /// What this connection showed.
    pub seen: String,
    /// What it was compared with.
    pub expected: String,
}

/// The other connection a finding links to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peer {
    /// The capture it is in (null when it is the same one, or unnamed).
    pub file: Option<String>,
    pub client: String,
    pub server: String,
    pub first_frame: Option<u64>,
    /// The frame on the peer that matches (its AUTHENTICATE, NEGOTIATE).
    pub frame: Option<u64>,
    /// Its role: "victim" (client to relay), "relayed" (relay to target),
    /// "client-side" or "server-side" of a man in the middle.
    pub role: &'static str,
}

impl Finding {
    pub(crate) fn new(code: FindingCode, message: String) -> Self {
        Finding {
            code,
            severity: code.severity(),
            message,
            remediation: None,
            fixes: Vec::new(),
            frames: Vec::new(),
            evidence: Vec::new(),
            peer: None,
        }
    }

    /// Add a compared value.
    pub(crate) fn evidence(mut self, field: &str, seen: String, expected: String) -> Self {
        self.evidence.push(Evidence {
            field: field.to_owned(),
            seen,
            expected,
        });
        self
    }

    /// Add the fix for `side`; a second fix for the same side is ignored.
    pub(crate) fn fix(mut self, side: Side, setting: Setting) -> Self {
        if !self.fixes.iter().any(|f| f.side == side) {
            self.fixes.push(Fix {
                side,
                setting: setting.to_string(),
                scope: setting.scope,
                parts: setting.parts,
            });
        }
        self
    }

    pub(crate) fn frames(mut self, frames: &[u64]) -> Self {
        self.frames = frames.to_vec();
        self
    }

    /// What was seen: the message without its "Fix: " part (the fixes
    /// are in `fixes`), for front ends that show them apart.
    pub fn observation(&self) -> String {
        match &self.remediation {
            Some(r) => self.message.replacen(&format!(" Fix: {r}"), "", 1),
            None => self.message.clone(),
        }
    }

    /// Render the fixes into `remediation` and the message, once.
    pub(crate) fn seal(mut self) -> Self {
        if self.fixes.is_empty() {
            return self;
        }
        let sides: Vec<String> = self
            .fixes
            .iter()
            .map(|f| format!("on the {}, {}.", side_name(f.side), f.setting))
            .collect();
        let text = format!("{} {}", sides.join(" "), kb::POLICY_ADVICE);
        self.message = format!("{} Fix: {text}", self.message);
        self.remediation = Some(text);
        self
    }
}

pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Client => "client",
        Side::Server => "server",
    }
}
