//! The C enums and plain structs, filled from the typed model (never from
//! report strings).

#![allow(clippy::missing_safety_doc)]

use crate::conn::{AuthMechanism, Connection, MessageAnnotation, Verdict};
use crate::posture::{self, FindingCode, Severity};
use crate::wire::nbss::SmbFamily;
use crate::wire::{MacAlgorithm, SigningSetting};
use std::ffi::c_char;

/// Which direction a PDU travelled (pass as a plain integer).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum smbsign_direction {
    SMBSIGN_TO_SERVER = 0,
    SMBSIGN_TO_CLIENT = 1,
}

/// Which SMB family a message belongs to.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum smbsign_protocol {
    SMBSIGN_PROTOCOL_NONE = 0,
    SMBSIGN_PROTOCOL_SMB1 = 1,
    SMBSIGN_PROTOCOL_SMB2 = 2,
    /// SMB3 TRANSFORM_HEADER (0xFD): encrypted.
    SMBSIGN_PROTOCOL_TRANSFORM = 3,
    /// SMB3 COMPRESSION_TRANSFORM_HEADER (0xFC).
    SMBSIGN_PROTOCOL_COMPRESSION = 4,
}

/// A side's signing setting.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum smbsign_signing {
    SMBSIGN_SIGNING_UNKNOWN = 0,
    SMBSIGN_SIGNING_DISABLED = 1,
    SMBSIGN_SIGNING_ENABLED = 2,
    SMBSIGN_SIGNING_REQUIRED = 3,
}

/// Signature verdict of one message. Without credentials signed messages
/// are `NOT_VERIFIED`; add them with `smbsign_analyzer_add_credentials`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum smbsign_verdict {
    SMBSIGN_VERDICT_NOT_VERIFIED = 0,
    SMBSIGN_VERDICT_VALID = 1,
    SMBSIGN_VERDICT_FORGED = 2,
    SMBSIGN_VERDICT_UNSIGNED_WHILE_REQUIRED = 3,
    SMBSIGN_VERDICT_EXEMPT = 4,
    SMBSIGN_VERDICT_NO_KEY = 5,
    SMBSIGN_VERDICT_NOT_SIGNED = 6,
    /// Signed, key known, but only part of the message was given.
    SMBSIGN_VERDICT_UNVERIFIABLE = 7,
}

/// Finding codes (same values as the CLI's codes, in this order).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum smbsign_finding_code {
    SMBSIGN_FINDING_SIGNING_NOT_REQUIRED = 1,
    SMBSIGN_FINDING_SIGNING_DISABLED = 2,
    SMBSIGN_FINDING_SIGNING_MISMATCH = 3,
    SMBSIGN_FINDING_UNSIGNED_WHILE_REQUIRED = 4,
    SMBSIGN_FINDING_GUEST_SESSION = 5,
    SMBSIGN_FINDING_ANONYMOUS_SESSION = 6,
    SMBSIGN_FINDING_SMB1_IN_USE = 7,
    SMBSIGN_FINDING_ENCRYPTION_IN_USE = 8,
    SMBSIGN_FINDING_DECODE_ERROR = 9,
    SMBSIGN_FINDING_BAD_SIGNATURE = 10,
    SMBSIGN_FINDING_WRONG_CREDENTIALS = 11,
    SMBSIGN_FINDING_CLOSED_AFTER_NEGOTIATE = 12,
    SMBSIGN_FINDING_TREE_CONNECT_DENIED = 13,
    /// One NTLM AUTHENTICATE on two connections to different servers (0.3.0).
    SMBSIGN_FINDING_NTLM_RELAY = 14,
    /// MsvAvTargetName names another server than the one that got it.
    SMBSIGN_FINDING_NTLM_TARGET_MISMATCH = 15,
    /// MIC or signing flags stripped (CVE-2019-1040, CVE-2025-54918).
    SMBSIGN_FINDING_NTLM_MIC_REMOVED = 16,
    /// With credentials, the MIC does not verify.
    SMBSIGN_FINDING_NTLM_MIC_INVALID = 17,
    /// The NEGOTIATE was altered (validate-negotiate, 3.1.1 preauth, legs).
    SMBSIGN_FINDING_NEGOTIATE_TAMPERED = 18,
    /// SMB2 dialects removed on the way: the connection fell to SMB1.
    SMBSIGN_FINDING_DOWNGRADED_TO_SMB1 = 19,
    /// A logon with an NTLMv1 response (crackable, or turned into the NT
    /// hash with a chosen challenge).
    SMBSIGN_FINDING_NTLMV1_IN_USE = 20,
    /// A real LM response was sent.
    SMBSIGN_FINDING_LM_RESPONSE_SENT = 21,
    /// An SMB1 logon sent the password in clear text.
    SMBSIGN_FINDING_PLAINTEXT_PASSWORD = 22,
    /// A Kerberos logon used RC4-HMAC (deprecated).
    SMBSIGN_FINDING_KERBEROS_RC4 = 23,
    /// (With credentials) an SMB3 encrypted message whose AEAD tag does not
    /// verify: altered in flight.
    SMBSIGN_FINDING_BAD_ENCRYPTION_TAG = 24,
    /// A request in clear on a session (or share) that encrypts.
    SMBSIGN_FINDING_UNENCRYPTED_IN_ENCRYPTED_SESSION = 25,
    /// Both sides could encrypt; nothing was encrypted.
    SMBSIGN_FINDING_ENCRYPTION_NOT_USED = 26,
    /// A side does not require signing although its system (named by the
    /// NTLMSSP VERSION, or a domain controller by its SYSVOL/NETLOGON
    /// shares) requires it by default (added after 0.3.0).
    SMBSIGN_FINDING_SIGNING_WEAKENED_FROM_DEFAULT = 27,
}

/// Finding severities.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum smbsign_severity {
    SMBSIGN_SEVERITY_INFO = 0,
    SMBSIGN_SEVERITY_WARNING = 1,
    SMBSIGN_SEVERITY_ERROR = 2,
}

/// Authentication mechanism of a session.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum smbsign_mechanism {
    SMBSIGN_MECHANISM_UNKNOWN = 0,
    SMBSIGN_MECHANISM_NTLMSSP = 1,
    SMBSIGN_MECHANISM_KERBEROS = 2,
    /// SMB1 without extended security (LM/NTLM responses in SESSION_SETUP).
    SMBSIGN_MECHANISM_LEGACY = 3,
    /// Kerberos through IAKERB (macOS and Heimdal clients).
    SMBSIGN_MECHANISM_IAKERB = 4,
    /// NEGOEX (MS-NEGOEX).
    SMBSIGN_MECHANISM_NEGOEX = 5,
    /// Another SPNEGO mechanism (see the session's mechanism OID).
    SMBSIGN_MECHANISM_OTHER = 6,
}

/// MAC algorithm of a dialect (values from 1; 0 = unknown).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum smbsign_mac {
    SMBSIGN_MAC_UNKNOWN = 0,
    /// SMB1: MD5 with sequence numbers.
    SMBSIGN_MAC_MD5 = 1,
    SMBSIGN_MAC_HMAC_SHA256 = 2,
    SMBSIGN_MAC_AES_CMAC = 3,
    SMBSIGN_MAC_AES_GMAC = 4,
}

/// What smbsign read from one SMB message. Plain data: copy it freely.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct smbsign_pdu_annotation {
    pub protocol: smbsign_protocol,
    /// SMB1 command byte or SMB2 command.
    pub command: u16,
    /// The header's response bit; false for transform and compression
    /// headers, which have none.
    pub is_response: bool,
    /// NT status (responses) or the header's status/channel field.
    pub status: u32,
    /// SMB2 MessageId, SMB1 MID.
    pub message_id: u64,
    /// SMB2 SessionId, SMB1 UID, transform header SessionId.
    pub session_id: u64,
    /// SMB2 SIGNED flag / SMB1 Flags2 SECURITY_SIGNATURE.
    pub flags_signed: bool,
    /// 8 (SMB1) or 16 (SMB2, transform); 0 otherwise.
    pub signature_len: u8,
    pub signature: [u8; 16],
    /// NEGOTIATE messages: the SecurityMode field and its two signing bits.
    pub has_security_mode: bool,
    pub security_mode: u16,
    pub signing_enabled: bool,
    pub signing_required: bool,
    /// NEGOTIATE responses: the selected dialect ("3.1.1", "NT LM 0.12"),
    /// NUL-terminated; empty otherwise.
    pub dialect: [c_char; 32],
    /// SESSION_SETUP responses: SMB2 SessionFlags or SMB1 Action.
    pub has_session_flags: bool,
    pub session_flags: u16,
    pub verdict: smbsign_verdict,
    /// For a FORGED message: the signature it should carry (first
    /// `signature_len` bytes).
    pub has_expected_signature: bool,
    pub expected_signature: [u8; 16],
    /// Exempt from signing (negotiate, session setup, oplock break,
    /// interim response, guest/anonymous session, session id 0…).
    pub exempt: bool,
    /// Byte offset and length of this message inside the PDU (compounds).
    pub offset: u32,
    pub length: u32,
    /// The message's session as known so far (SMB2 SessionId / SMB1 UID).
    pub session_known: bool,
    pub session_guest: bool,
    pub session_anonymous: bool,
    /// Findings that concern this message: bit (code - 1) set for each
    /// `smbsign_finding_code` (e.g. signing-not-required on the negotiate
    /// response, guest-session on the session setup response).
    pub finding_mask: u32,
    /// Counted as signed (0.2.0): the header's flag, or for SMB1 a real
    /// signature once signing is active (Samba signs without setting the
    /// flag). The same rule as the connection's signed_messages.
    pub is_signed: bool,
}

impl smbsign_pdu_annotation {
    pub(super) fn empty() -> Self {
        smbsign_pdu_annotation {
            protocol: smbsign_protocol::SMBSIGN_PROTOCOL_NONE,
            command: 0,
            is_response: false,
            status: 0,
            message_id: 0,
            session_id: 0,
            flags_signed: false,
            signature_len: 0,
            signature: [0; 16],
            has_security_mode: false,
            security_mode: 0,
            signing_enabled: false,
            signing_required: false,
            dialect: [0; 32],
            has_session_flags: false,
            session_flags: 0,
            verdict: smbsign_verdict::SMBSIGN_VERDICT_NOT_VERIFIED,
            has_expected_signature: false,
            expected_signature: [0; 16],
            exempt: false,
            offset: 0,
            length: 0,
            session_known: false,
            session_guest: false,
            session_anonymous: false,
            finding_mask: 0,
            is_signed: false,
        }
    }

    pub(super) fn from_message(a: &MessageAnnotation, conn: &Connection) -> Self {
        let mut out = Self::empty();
        out.protocol = protocol_of(a.family);
        out.command = a.command;
        out.is_response = a.is_response;
        out.status = a.status.0;
        out.message_id = a.message_id;
        out.session_id = a.session_id;
        out.flags_signed = a.flags_signed;
        out.is_signed = a.signed;
        out.signature = a.signature;
        out.signature_len = a.signature_len;
        if let Some(mode) = a.security_mode {
            out.has_security_mode = true;
            out.security_mode = mode.raw();
            out.signing_enabled = mode.signing_enabled();
            out.signing_required = mode.signing_required();
        }
        if let Some(d) = &a.dialect {
            copy_str(&mut out.dialect, &d.name());
        }
        if let Some(f) = a.session_flags {
            out.has_session_flags = true;
            out.session_flags = f;
        }
        out.exempt = a.exempt;
        out.verdict = verdict_of(a.verdict);
        if let Some(e) = a.expected_signature {
            out.has_expected_signature = true;
            out.expected_signature = e;
        }
        out.offset = a.offset.min(u32::MAX as usize) as u32;
        out.length = a.length.min(u32::MAX as usize) as u32;
        if let Some(sess) = conn.session(a.session_id) {
            out.session_known = true;
            out.session_guest = sess.guest;
            out.session_anonymous = sess.anonymous;
        }
        out.finding_mask = posture::message_findings(conn, a)
            .into_iter()
            .fold(0, |m, c| m | 1u32 << (c as u32 - 1));
        out
    }
}

/// Summary of one connection's posture, as the CLI's JSON object. Strings
/// are owned by the `smbsign_connection` and valid until it is freed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct smbsign_connection_info {
    /// "ip:port" ("[v6]:port"), or "" when the caller never said.
    pub client: *const c_char,
    pub server: *const c_char,
    /// "NT LM 0.12", "2.0.2" … "3.1.1"; NULL when no negotiate was seen.
    pub dialect: *const c_char,
    pub has_server_security_mode: bool,
    pub server_security_mode: u16,
    pub has_client_security_mode: bool,
    pub client_security_mode: u16,
    pub server_signing: smbsign_signing,
    pub client_signing: smbsign_signing,
    /// "MD5", "HMAC-SHA256", "AES-128-CMAC", "AES-128-GMAC"; NULL if unknown.
    pub signing_algorithm: *const c_char,
    pub signed_messages: u64,
    pub unsigned_messages: u64,
    pub encrypted_messages: u64,
    pub requests: u64,
    pub responses: u64,
    pub unsigned_while_required: u64,
    pub decode_errors: u64,
    pub session_count: usize,
    pub finding_count: usize,
    // 0.2.0: the rest of what the JSON says, typed.
    /// SMB2 dialect value (0x0311 …; 0 for SMB1 or none).
    pub dialect_code: u16,
    pub signing_mac: smbsign_mac,
    /// ENCRYPTION_CAPABILITIES cipher id (0 when none; see smbsign_cipher_name).
    pub cipher: u16,
    pub compressed_messages: u64,
    pub has_first_frame: bool,
    pub first_frame: u64,
    pub last_frame: u64,
    /// The capture shows the connection ending (FIN or RST).
    pub closed: bool,
    pub gap_bytes: u64,
    pub resyncs: u64,
    /// Verification ran (credentials were given); the totals are 0 otherwise.
    pub verifying: bool,
    pub verified_messages: u64,
    pub forged_messages: u64,
    pub no_key_messages: u64,
    pub unverifiable_messages: u64,
}

/// The signing posture of a connection so far, by value (no allocation:
/// cheap enough to ask after every PDU).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct smbsign_posture {
    pub server_signing: smbsign_signing,
    pub client_signing: smbsign_signing,
    pub has_server_security_mode: bool,
    pub server_security_mode: u16,
    pub has_client_security_mode: bool,
    pub client_security_mode: u16,
    /// Negotiated dialect, NUL-terminated; empty when not seen.
    pub dialect: [c_char; 32],
    /// MAC algorithm for the dialect, NUL-terminated; empty when unknown.
    pub signing_algorithm: [c_char; 32],
    pub signed_messages: u64,
    pub unsigned_messages: u64,
    pub unsigned_while_required: u64,
    /// SMB2 dialect value (e.g. 0x0311; 0x02FF for the wildcard); 0 for SMB1
    /// or when no negotiate was seen (0.2.0).
    pub dialect_code: u16,
    /// MAC of the dialect as an `smbsign_mac` value (0.2.0).
    pub signing_mac: smbsign_mac,
    /// The bits of the last NEGOTIATE SecurityModes, read for their family
    /// (SMB1 0x04/0x08, SMB2 0x01/0x02); false when not seen (0.2.0).
    pub server_signing_enabled: bool,
    pub server_signing_required: bool,
    pub client_signing_enabled: bool,
    pub client_signing_required: bool,
}

pub(super) fn copy_str(dst: &mut [c_char; 32], src: &str) {
    for (d, b) in dst.iter_mut().zip(src.bytes().take(31)) {
        *d = b as c_char;
    }
}

pub(super) fn signing_of(s: Option<SigningSetting>) -> smbsign_signing {
    use SigningSetting as S;
    match s {
        None => smbsign_signing::SMBSIGN_SIGNING_UNKNOWN,
        Some(S::Disabled) => smbsign_signing::SMBSIGN_SIGNING_DISABLED,
        Some(S::Enabled) => smbsign_signing::SMBSIGN_SIGNING_ENABLED,
        Some(S::Required) => smbsign_signing::SMBSIGN_SIGNING_REQUIRED,
    }
}

/// One finding. `message` is owned by the `smbsign_connection`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct smbsign_finding {
    pub code: smbsign_finding_code,
    pub severity: smbsign_severity,
    /// Stable code as text, e.g. "signing-not-required".
    pub code_name: *const c_char,
    pub message: *const c_char,
}

/// One session. `user` is owned by the `smbsign_connection` (NULL if unknown).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct smbsign_session {
    pub session_id: u64,
    pub user: *const c_char,
    pub mechanism: smbsign_mechanism,
    pub guest: bool,
    pub anonymous: bool,
    pub encrypted: bool,
    pub established: bool,
}

/// Where a session's key stands (verification only).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum smbsign_key_state {
    /// No credentials were given: nothing is known.
    SMBSIGN_KEY_NOT_VERIFYING = 0,
    /// Authentication not finished.
    SMBSIGN_KEY_PENDING = 1,
    SMBSIGN_KEY_READY = 2,
    /// The credentials do not match the logon (never reported as forgery).
    SMBSIGN_KEY_WRONG_CREDENTIALS = 3,
    /// No key: no matching credentials, Kerberos without a key…
    SMBSIGN_KEY_NONE = 4,
}

/// Everything the report knows of one session beyond `smbsign_session`:
/// verification tallies and key state. Strings are owned by the
/// `smbsign_connection`. Plain data.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct smbsign_session_detail {
    pub session_id: u64,
    pub smb1: bool,
    /// SMB1 logon without extended security (LM/NTLM responses).
    pub legacy_auth: bool,
    /// Signing was in force for the session.
    pub signing_required: bool,
    /// The SPNEGO mechanism OID in dotted form, or NULL.
    pub mechanism_oid: *const c_char,
    /// Verification ran (credentials were given); the counts below are 0
    /// otherwise, but `unsigned_while_required` counts either way.
    pub verifying: bool,
    pub verified: u64,
    pub forged: u64,
    pub no_key: u64,
    pub unsigned_while_required: u64,
    pub key_state: smbsign_key_state,
    /// Why there is no key (SMBSIGN_KEY_NONE), or NULL.
    pub key_detail: *const c_char,
    /// NTLM MIC: -1 not checked, 0 invalid, 1 valid.
    pub ntlm_mic: i32,
    /// Frames of the forged messages listed (first few).
    pub forged_frame_count: usize,
}

/// The C finding code for a posture finding code (same numeric value).
pub fn finding_code(c: FindingCode) -> smbsign_finding_code {
    use smbsign_finding_code::*;
    match c {
        FindingCode::SigningNotRequired => SMBSIGN_FINDING_SIGNING_NOT_REQUIRED,
        FindingCode::SigningDisabled => SMBSIGN_FINDING_SIGNING_DISABLED,
        FindingCode::SigningMismatch => SMBSIGN_FINDING_SIGNING_MISMATCH,
        FindingCode::UnsignedWhileRequired => SMBSIGN_FINDING_UNSIGNED_WHILE_REQUIRED,
        FindingCode::GuestSession => SMBSIGN_FINDING_GUEST_SESSION,
        FindingCode::AnonymousSession => SMBSIGN_FINDING_ANONYMOUS_SESSION,
        FindingCode::Smb1InUse => SMBSIGN_FINDING_SMB1_IN_USE,
        FindingCode::EncryptionInUse => SMBSIGN_FINDING_ENCRYPTION_IN_USE,
        FindingCode::DecodeError => SMBSIGN_FINDING_DECODE_ERROR,
        FindingCode::BadSignature => SMBSIGN_FINDING_BAD_SIGNATURE,
        FindingCode::WrongCredentials => SMBSIGN_FINDING_WRONG_CREDENTIALS,
        FindingCode::ClosedAfterNegotiate => SMBSIGN_FINDING_CLOSED_AFTER_NEGOTIATE,
        FindingCode::TreeConnectDenied => SMBSIGN_FINDING_TREE_CONNECT_DENIED,
        FindingCode::NtlmRelay => SMBSIGN_FINDING_NTLM_RELAY,
        FindingCode::NtlmTargetMismatch => SMBSIGN_FINDING_NTLM_TARGET_MISMATCH,
        FindingCode::NtlmMicRemoved => SMBSIGN_FINDING_NTLM_MIC_REMOVED,
        FindingCode::NtlmMicInvalid => SMBSIGN_FINDING_NTLM_MIC_INVALID,
        FindingCode::NegotiateTampered => SMBSIGN_FINDING_NEGOTIATE_TAMPERED,
        FindingCode::DowngradedToSmb1 => SMBSIGN_FINDING_DOWNGRADED_TO_SMB1,
        FindingCode::Ntlmv1InUse => SMBSIGN_FINDING_NTLMV1_IN_USE,
        FindingCode::LmResponseSent => SMBSIGN_FINDING_LM_RESPONSE_SENT,
        FindingCode::PlaintextPassword => SMBSIGN_FINDING_PLAINTEXT_PASSWORD,
        FindingCode::KerberosRc4 => SMBSIGN_FINDING_KERBEROS_RC4,
        FindingCode::BadEncryptionTag => SMBSIGN_FINDING_BAD_ENCRYPTION_TAG,
        FindingCode::UnencryptedInEncryptedSession => {
            SMBSIGN_FINDING_UNENCRYPTED_IN_ENCRYPTED_SESSION
        }
        FindingCode::EncryptionNotUsed => SMBSIGN_FINDING_ENCRYPTION_NOT_USED,
        FindingCode::SigningWeakenedFromDefault => SMBSIGN_FINDING_SIGNING_WEAKENED_FROM_DEFAULT,
    }
}

pub(super) fn protocol_of(f: SmbFamily) -> smbsign_protocol {
    match f {
        SmbFamily::Smb1 => smbsign_protocol::SMBSIGN_PROTOCOL_SMB1,
        SmbFamily::Smb2 => smbsign_protocol::SMBSIGN_PROTOCOL_SMB2,
        SmbFamily::Transform => smbsign_protocol::SMBSIGN_PROTOCOL_TRANSFORM,
        SmbFamily::Compression => smbsign_protocol::SMBSIGN_PROTOCOL_COMPRESSION,
    }
}

pub(super) fn verdict_of(v: Verdict) -> smbsign_verdict {
    use smbsign_verdict::*;
    match v {
        Verdict::NotVerified => SMBSIGN_VERDICT_NOT_VERIFIED,
        Verdict::Valid => SMBSIGN_VERDICT_VALID,
        Verdict::Forged => SMBSIGN_VERDICT_FORGED,
        Verdict::UnsignedWhileRequired => SMBSIGN_VERDICT_UNSIGNED_WHILE_REQUIRED,
        Verdict::Exempt => SMBSIGN_VERDICT_EXEMPT,
        Verdict::NoKey => SMBSIGN_VERDICT_NO_KEY,
        Verdict::NotSigned => SMBSIGN_VERDICT_NOT_SIGNED,
        Verdict::Unverifiable => SMBSIGN_VERDICT_UNVERIFIABLE,
        // The C API verifies in line; it never defers.
        Verdict::Deferred => SMBSIGN_VERDICT_NOT_VERIFIED,
    }
}

pub(super) fn severity_of(s: Severity) -> smbsign_severity {
    match s {
        Severity::Info => smbsign_severity::SMBSIGN_SEVERITY_INFO,
        Severity::Warning => smbsign_severity::SMBSIGN_SEVERITY_WARNING,
        Severity::Error => smbsign_severity::SMBSIGN_SEVERITY_ERROR,
    }
}

pub(super) fn mechanism_of(m: AuthMechanism) -> smbsign_mechanism {
    use smbsign_mechanism::*;
    match m {
        AuthMechanism::Unknown => SMBSIGN_MECHANISM_UNKNOWN,
        AuthMechanism::Ntlmssp => SMBSIGN_MECHANISM_NTLMSSP,
        AuthMechanism::Kerberos => SMBSIGN_MECHANISM_KERBEROS,
        AuthMechanism::Legacy => SMBSIGN_MECHANISM_LEGACY,
        AuthMechanism::Iakerb => SMBSIGN_MECHANISM_IAKERB,
        AuthMechanism::Negoex => SMBSIGN_MECHANISM_NEGOEX,
        AuthMechanism::Other => SMBSIGN_MECHANISM_OTHER,
    }
}

pub(super) fn mac_of(m: Option<MacAlgorithm>) -> smbsign_mac {
    use smbsign_mac::*;
    match m {
        None => SMBSIGN_MAC_UNKNOWN,
        Some(MacAlgorithm::Md5) => SMBSIGN_MAC_MD5,
        Some(MacAlgorithm::HmacSha256) => SMBSIGN_MAC_HMAC_SHA256,
        Some(MacAlgorithm::AesCmac) => SMBSIGN_MAC_AES_CMAC,
        Some(MacAlgorithm::AesGmac) => SMBSIGN_MAC_AES_GMAC,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MacAlgorithm;

    /// The C enums are the Rust enums value for value (plus 0 = unknown
    /// where the Rust side is an Option): a C tool and the JSON agree.
    #[test]
    fn c_enums_mirror_the_rust_enums_value_for_value() {
        for c in FindingCode::ALL {
            assert_eq!(finding_code(c) as u32, c as u32, "{c:?}");
        }
        for s in Severity::ALL {
            assert_eq!(severity_of(s) as u32, s as u32);
        }
        for m in AuthMechanism::ALL {
            assert_eq!(mechanism_of(m) as u32, m as u32, "{m:?}");
        }
        for s in SigningSetting::ALL {
            assert_eq!(signing_of(Some(s)) as u32, s as u32, "{s:?}");
        }
        assert_eq!(signing_of(None) as u32, 0);
        for m in MacAlgorithm::ALL {
            assert_eq!(mac_of(Some(m)) as u32, m as u32, "{m:?}");
        }
        assert_eq!(mac_of(None) as u32, 0);
    }
}
