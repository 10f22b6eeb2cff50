//! The C ABI (`include/smbsign.h`, generated from this file by cbindgen).
//!
//! Conventions, after rustls-ffi:
//! - every function returns an `smbsign_result` (or a pointer / count that
//!   documents its failure value); outputs go through out-parameters that
//!   are written only on success;
//! - every exported body runs inside a panic boundary: a bug in smbsign never
//!   unwinds into, or aborts, the host (Wireshark, a C tool);
//! - pointers are checked for NULL, lengths against NULL buffers, and enums
//!   coming from C are taken as integers and validated;
//! - objects are opaque, made by `_new` (or a producing call) and released
//!   by `_free`; freeing NULL is a no-op; strings the library returns are
//!   owned by the object they came from unless the function says otherwise.
//!
//! This is the only module with `unsafe` code.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

use crate::capture::{self, CaptureError};
use crate::conn::{Connection, Direction, MessageAnnotation};
use crate::posture::{self, ConnectionReport, FindingCode, Severity};
use crate::wire::nbss::{self, SmbFamily};
use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Library version, major part. Checked against Cargo.toml by a test.
pub const SMBSIGN_VERSION_MAJOR: u32 = 0;
/// Library version, minor part.
pub const SMBSIGN_VERSION_MINOR: u32 = 1;
/// Library version, patch part.
pub const SMBSIGN_VERSION_PATCH: u32 = 0;
/// (major << 16) | (minor << 8) | patch.
pub const SMBSIGN_VERSION_NUMBER: u32 =
    (SMBSIGN_VERSION_MAJOR << 16) | (SMBSIGN_VERSION_MINOR << 8) | SMBSIGN_VERSION_PATCH;

/// Connections one analyzer tracks at once. Past this the least recently
/// fed eighth is dropped (their state is lost; feeding them again starts
/// afresh), so a hostile capture cannot grow memory without bound.
pub const SMBSIGN_MAX_CONNECTIONS: usize = 65_536;

/// Largest PDU accepted by `smbsign_analyzer_feed` (the NBSS length field
/// is 24 bits).
pub const SMBSIGN_MAX_PDU: usize = 0x00FF_FFFF;

/// Status of every call. Values are stable.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum smbsign_result {
    SMBSIGN_OK = 0,
    /// A required pointer was NULL (or a NULL buffer came with a non-zero length).
    SMBSIGN_NULL_PARAMETER = 1,
    /// An integer argument is out of range (e.g. an unknown direction).
    SMBSIGN_INVALID_PARAMETER = 2,
    /// The bytes do not start with an SMB1/SMB2/transform/compression magic.
    SMBSIGN_NOT_SMB = 3,
    /// An SMB message whose header or body could not be decoded.
    SMBSIGN_MALFORMED = 4,
    /// The buffer is larger than `SMBSIGN_MAX_PDU`.
    SMBSIGN_TOO_LARGE = 5,
    /// No such connection (never fed, or closed).
    SMBSIGN_NOT_FOUND = 6,
    /// A file could not be opened or read.
    SMBSIGN_IO_ERROR = 7,
    /// A file is not a pcap/pcapng/NetXRay capture.
    SMBSIGN_NOT_A_CAPTURE = 8,
    /// An index is past the end of a list.
    SMBSIGN_OUT_OF_RANGE = 9,
    /// smbsign hit an internal error (a Rust panic, caught at the boundary).
    SMBSIGN_PANIC = 99,
}

use smbsign_result::*;

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
}

/// What smbsign read from one SMB message. Plain data: copy it freely.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct smbsign_pdu_annotation {
    pub protocol: smbsign_protocol,
    /// SMB1 command byte or SMB2 command.
    pub command: u16,
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
}

impl smbsign_pdu_annotation {
    fn empty() -> Self {
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
        }
    }

    fn from_message(a: &MessageAnnotation, conn: &Connection) -> Self {
        let mut out = Self::empty();
        out.protocol = match a.family {
            SmbFamily::Smb1 => smbsign_protocol::SMBSIGN_PROTOCOL_SMB1,
            SmbFamily::Smb2 => smbsign_protocol::SMBSIGN_PROTOCOL_SMB2,
            SmbFamily::Transform => smbsign_protocol::SMBSIGN_PROTOCOL_TRANSFORM,
            SmbFamily::Compression => smbsign_protocol::SMBSIGN_PROTOCOL_COMPRESSION,
        };
        out.command = a.command;
        out.is_response = a.is_response;
        out.status = a.status.0;
        out.message_id = a.message_id;
        out.session_id = a.session_id;
        out.flags_signed = a.signed;
        out.signature = a.signature;
        out.signature_len = a.signature_len;
        if let Some(mode) = a.security_mode {
            out.has_security_mode = true;
            out.security_mode = mode;
            let (enabled, required) = match a.family {
                SmbFamily::Smb1 => (mode & 0x04 != 0, mode & 0x08 != 0),
                _ => (mode & 0x01 != 0, mode & 0x02 != 0),
            };
            out.signing_enabled = enabled;
            out.signing_required = required;
        }
        if let Some(d) = &a.dialect {
            copy_str(&mut out.dialect, d);
        }
        if let Some(f) = a.session_flags {
            out.has_session_flags = true;
            out.session_flags = f;
        }
        out.exempt = a.exempt;
        out.verdict = {
            use crate::conn::Verdict as V;
            use smbsign_verdict::*;
            match a.verdict {
                V::NotVerified => SMBSIGN_VERDICT_NOT_VERIFIED,
                V::Valid => SMBSIGN_VERDICT_VALID,
                V::Forged => SMBSIGN_VERDICT_FORGED,
                V::UnsignedWhileRequired => SMBSIGN_VERDICT_UNSIGNED_WHILE_REQUIRED,
                V::Exempt => SMBSIGN_VERDICT_EXEMPT,
                V::NoKey => SMBSIGN_VERDICT_NO_KEY,
                V::NotSigned => SMBSIGN_VERDICT_NOT_SIGNED,
                V::Unverifiable => SMBSIGN_VERDICT_UNVERIFIABLE,
                // The C API verifies in line; it never defers.
                V::Deferred => SMBSIGN_VERDICT_NOT_VERIFIED,
            }
        };
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
}

fn copy_str(dst: &mut [c_char; 32], src: &str) {
    for (d, b) in dst.iter_mut().zip(src.bytes().take(31)) {
        *d = b as c_char;
    }
}

fn signing_of(s: Option<crate::conn::SigningSetting>) -> smbsign_signing {
    use crate::conn::SigningSetting as S;
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

/// Opaque: a set of connections fed PDU by PDU.
pub struct smbsign_analyzer {
    conns: HashMap<u64, AnalyzerConn, ahash::RandomState>,
    tick: u64,
    /// Credentials for connections created from now on.
    creds: Option<std::sync::Arc<crate::verify::Credentials>>,
}

struct AnalyzerConn {
    conn: Connection,
    client: String,
    server: String,
    last_use: u64,
}

/// Opaque: an immutable snapshot of one connection's posture.
pub struct smbsign_connection {
    report: ConnectionReport,
    info: smbsign_connection_info,
    /// Owns the C strings the pointers in `info`, `findings` and `sessions` point into.
    _strings: Vec<CString>,
    findings: Vec<smbsign_finding>,
    sessions: Vec<smbsign_session>,
}

/// Opaque: the result of scanning a capture file.
pub struct smbsign_scan {
    connections: Vec<smbsign_connection>,
    error: Option<CString>,
    frames: u64,
}

/// Run `f`, turning a panic into `on_panic`.
fn boundary<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

impl smbsign_connection {
    fn new(report: ConnectionReport) -> Self {
        let mut strings: Vec<CString> = Vec::new();
        let mut keep = |s: &str| -> *const c_char {
            let c = cstring(s);
            let p = c.as_ptr();
            strings.push(c); // the heap buffer does not move with the Vec
            p
        };
        let signing = |s: Option<&str>| match s {
            Some("disabled") => smbsign_signing::SMBSIGN_SIGNING_DISABLED,
            Some("enabled") => smbsign_signing::SMBSIGN_SIGNING_ENABLED,
            Some("required") => smbsign_signing::SMBSIGN_SIGNING_REQUIRED,
            _ => smbsign_signing::SMBSIGN_SIGNING_UNKNOWN,
        };
        let info = smbsign_connection_info {
            client: keep(&report.client),
            server: keep(&report.server),
            dialect: report
                .dialect
                .as_deref()
                .map_or(std::ptr::null(), &mut keep),
            has_server_security_mode: report.server_security_mode.is_some(),
            server_security_mode: report.server_security_mode.unwrap_or(0),
            has_client_security_mode: report.client_security_mode.is_some(),
            client_security_mode: report.client_security_mode.unwrap_or(0),
            server_signing: signing(report.server_signing),
            client_signing: signing(report.client_signing),
            signing_algorithm: report.signing_algorithm.map_or(std::ptr::null(), &mut keep),
            signed_messages: report.signed_messages,
            unsigned_messages: report.unsigned_messages,
            encrypted_messages: report.encrypted_messages,
            requests: report.requests,
            responses: report.responses,
            unsigned_while_required: report.unsigned_while_required,
            decode_errors: report.decode_errors,
            session_count: report.sessions.len(),
            finding_count: report.findings.len(),
        };
        let findings = report
            .findings
            .iter()
            .map(|f| smbsign_finding {
                code: finding_code(f.code),
                severity: match f.severity {
                    Severity::Info => smbsign_severity::SMBSIGN_SEVERITY_INFO,
                    Severity::Warning => smbsign_severity::SMBSIGN_SEVERITY_WARNING,
                    Severity::Error => smbsign_severity::SMBSIGN_SEVERITY_ERROR,
                },
                code_name: keep(f.code.as_str()),
                message: keep(&f.message),
            })
            .collect();
        let sessions = report
            .sessions
            .iter()
            .map(|s| smbsign_session {
                session_id: u64::from_str_radix(s.session_id.trim_start_matches("0x"), 16)
                    .unwrap_or(0),
                user: s.user.as_deref().map_or(std::ptr::null(), &mut keep),
                mechanism: match (s.mechanism, s.legacy_auth) {
                    (_, true) => smbsign_mechanism::SMBSIGN_MECHANISM_LEGACY,
                    ("ntlmssp", _) => smbsign_mechanism::SMBSIGN_MECHANISM_NTLMSSP,
                    ("kerberos", _) => smbsign_mechanism::SMBSIGN_MECHANISM_KERBEROS,
                    _ => smbsign_mechanism::SMBSIGN_MECHANISM_UNKNOWN,
                },
                guest: s.guest,
                anonymous: s.anonymous,
                encrypted: s.encrypted,
                established: s.established,
            })
            .collect();
        smbsign_connection {
            report,
            info,
            _strings: strings,
            findings,
            sessions,
        }
    }
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
    }
}

/// A byte slice from C, checking NULL against the length.
unsafe fn bytes<'a>(data: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    if data.is_null() {
        return None;
    }
    // SAFETY: the caller promises `data` points to `len` readable bytes.
    Some(unsafe { std::slice::from_raw_parts(data, len) })
}

/// Library version as a static NUL-terminated string, e.g. "0.1.0".
///
/// Ownership: static, never free it. Thread-safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

/// A short static description of a result code ("ok", "null parameter"…).
///
/// Takes the code as an integer; unknown values give "unknown result".
/// Ownership: static, never free it. Thread-safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_result_name(result: u32) -> *const c_char {
    let s: &'static [u8] = match result {
        0 => b"ok\0",
        1 => b"null parameter\0",
        2 => b"invalid parameter\0",
        3 => b"not an SMB message\0",
        4 => b"malformed SMB message\0",
        5 => b"buffer too large\0",
        6 => b"no such connection\0",
        7 => b"I/O error\0",
        8 => b"not a capture file\0",
        9 => b"index out of range\0",
        99 => b"internal error (panic)\0",
        _ => b"unknown result\0",
    };
    s.as_ptr().cast()
}

/// Create an analyzer. Returns NULL only if a panic was caught.
///
/// Ownership: the caller owns the result; release it with
/// `smbsign_analyzer_free`. Thread-safety: an analyzer may move between
/// threads but must not be used by two threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_analyzer_new() -> *mut smbsign_analyzer {
    boundary(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(smbsign_analyzer {
            conns: HashMap::default(),
            tick: 0,
            creds: None,
        }))
    })
}

/// Free an analyzer and all its connection state. NULL is fine. Must not be
/// called twice with the same pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_analyzer_free(analyzer: *mut smbsign_analyzer) {
    boundary((), || {
        if !analyzer.is_null() {
            // SAFETY: made by smbsign_analyzer_new, not yet freed (caller's promise).
            drop(unsafe { Box::from_raw(analyzer) });
        }
    })
}

/// Add secrets for signature verification, as text: entries separated by
/// newlines or ';', each `password USER:PASSWORD`, `nt-hash USER:HEX32` or
/// `session-key SESSIONID:HEX` (USER may be `DOMAIN\user`; the session id
/// as the JSON shows it). They apply to connections first fed after this
/// call. The text is copied.
///
/// Returns SMBSIGN_INVALID_PARAMETER (nothing added) when an entry does
/// not parse. Thread-safety: as for the analyzer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_analyzer_add_credentials(
    analyzer: *mut smbsign_analyzer,
    text: *const c_char,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if analyzer.is_null() || text.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: non-NULL; made by smbsign_analyzer_new; NUL-terminated.
        let (a, text) = unsafe { (&mut *analyzer, CStr::from_ptr(text)) };
        let text = text.to_string_lossy().replace(';', "\n");
        let mut creds = a.creds.as_deref().cloned().unwrap_or_default();
        if creds.add_file_text(&text).is_err() {
            return SMBSIGN_INVALID_PARAMETER;
        }
        a.creds = (!creds.is_empty()).then(|| std::sync::Arc::new(creds));
        SMBSIGN_OK
    })
}

/// Name a connection's endpoints (shown as `client` / `server` in its
/// posture), e.g. "10.0.0.1:49152" and "10.0.0.2:445". Creates the
/// connection if needed. Strings are copied.
///
/// Returns SMBSIGN_NULL_PARAMETER when any pointer is NULL.
/// Thread-safety: as for the analyzer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_analyzer_set_endpoints(
    analyzer: *mut smbsign_analyzer,
    conn_id: u64,
    client: *const c_char,
    server: *const c_char,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if analyzer.is_null() || client.is_null() || server.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: non-NULL, made by smbsign_analyzer_new; C strings are
        // NUL-terminated (caller's promise).
        let a = unsafe { &mut *analyzer };
        let (c, s) = unsafe { (CStr::from_ptr(client), CStr::from_ptr(server)) };
        let entry = a.entry(conn_id);
        entry.client = c.to_string_lossy().into_owned();
        entry.server = s.to_string_lossy().into_owned();
        SMBSIGN_OK
    })
}

impl smbsign_analyzer {
    fn entry(&mut self, conn_id: u64) -> &mut AnalyzerConn {
        self.tick += 1;
        if !self.conns.contains_key(&conn_id) && self.conns.len() >= SMBSIGN_MAX_CONNECTIONS {
            let mut ages: Vec<(u64, u64)> =
                self.conns.iter().map(|(k, c)| (c.last_use, *k)).collect();
            ages.sort_unstable();
            for (_, k) in ages.into_iter().take(SMBSIGN_MAX_CONNECTIONS / 8) {
                self.conns.remove(&k);
            }
        }
        let tick = self.tick;
        let creds = self.creds.clone();
        let e = self.conns.entry(conn_id).or_insert_with(|| AnalyzerConn {
            conn: match creds {
                Some(c) => Connection::with_credentials(c),
                None => Connection::new(),
            },
            client: String::new(),
            server: String::new(),
            last_use: tick,
        });
        e.last_use = tick;
        e
    }
}

/// Strip a leading NBSS header when the bytes carry one.
fn smb_payload(data: &[u8]) -> &[u8] {
    if nbss::smb_family(data).is_none()
        && data.len() >= 8
        && data[0] == 0
        && nbss::smb_family(&data[4..]).is_some()
    {
        &data[4..]
    } else {
        data
    }
}

fn write_annotations(
    anns: &[MessageAnnotation],
    conn: &Connection,
    out: *mut smbsign_pdu_annotation,
    out_cap: usize,
    out_count: *mut usize,
) {
    if !out.is_null() {
        for (k, a) in anns.iter().take(out_cap).enumerate() {
            // SAFETY: the caller promises `out` has room for `out_cap` items.
            unsafe {
                out.add(k)
                    .write(smbsign_pdu_annotation::from_message(a, conn))
            };
        }
    }
    if !out_count.is_null() {
        // SAFETY: non-NULL pointer to a size_t (caller's promise).
        unsafe { out_count.write(anns.len()) };
    }
}

/// Feed one SMB PDU of connection `conn_id` (an id the caller chooses, e.g.
/// Wireshark's tcp.stream) in wire order. `data` starts at the SMB magic
/// (0xFF/0xFE/0xFD/0xFC 'SMB'); a leading 4-byte NBSS header is skipped.
/// `direction` is an `smbsign_direction` value, `frame` the caller's frame
/// number (findings name it).
///
/// One annotation per SMB message in the PDU (an SMB2 compound holds
/// several) is written to `out[0 .. out_cap]`; `*out_count` (if not NULL)
/// receives the number of messages, which may exceed `out_cap`. `out` may be
/// NULL when `out_cap` is 0.
///
/// Returns SMBSIGN_OK, SMBSIGN_NOT_SMB (no magic: nothing recorded),
/// SMBSIGN_MALFORMED (recorded as a decode error), SMBSIGN_TOO_LARGE,
/// SMBSIGN_NULL_PARAMETER, SMBSIGN_INVALID_PARAMETER (direction).
/// Thread-safety: as for the analyzer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_analyzer_feed(
    analyzer: *mut smbsign_analyzer,
    conn_id: u64,
    direction: u32,
    frame: u64,
    data: *const u8,
    len: usize,
    out: *mut smbsign_pdu_annotation,
    out_cap: usize,
    out_count: *mut usize,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if analyzer.is_null() || (out.is_null() && out_cap > 0) {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: checked against NULL; the caller promises `len` bytes.
        let Some(data) = (unsafe { bytes(data, len) }) else {
            return SMBSIGN_NULL_PARAMETER;
        };
        let dir = match direction {
            0 => Direction::ToServer,
            1 => Direction::ToClient,
            _ => return SMBSIGN_INVALID_PARAMETER,
        };
        if len > SMBSIGN_MAX_PDU + 4 {
            return SMBSIGN_TOO_LARGE;
        }
        let pdu = smb_payload(data);
        if nbss::smb_family(pdu).is_none() {
            write_annotations(&[], &Connection::new(), out, out_cap, out_count);
            return SMBSIGN_NOT_SMB;
        }
        // SAFETY: non-NULL, made by smbsign_analyzer_new.
        let a = unsafe { &mut *analyzer };
        let entry = a.entry(conn_id);
        let errors_before = entry.conn.decode_errors;
        let mut anns = Vec::new();
        entry.conn.on_pdu(dir, frame, pdu, Some(&mut anns));
        let malformed = entry.conn.decode_errors > errors_before;
        write_annotations(&anns, &entry.conn, out, out_cap, out_count);
        if malformed {
            SMBSIGN_MALFORMED
        } else {
            SMBSIGN_OK
        }
    })
}

/// Tell the analyzer that connection `conn_id` ended (TCP FIN or RST): the
/// KB's failure scenarios ("closed after negotiate") are judged on it. The
/// state stays until `smbsign_analyzer_close`. Returns SMBSIGN_NOT_FOUND for
/// an unknown id. Thread-safety: as for the analyzer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_analyzer_mark_ended(
    analyzer: *mut smbsign_analyzer,
    conn_id: u64,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if analyzer.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: non-NULL, made by smbsign_analyzer_new.
        let a = unsafe { &mut *analyzer };
        match a.conns.get_mut(&conn_id) {
            Some(e) => {
                e.conn.on_close();
                SMBSIGN_OK
            }
            None => SMBSIGN_NOT_FOUND,
        }
    })
}

/// Forget connection `conn_id` (its id may then be reused for a new one).
/// Returns SMBSIGN_NOT_FOUND if it was not tracked.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_analyzer_close(
    analyzer: *mut smbsign_analyzer,
    conn_id: u64,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if analyzer.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: non-NULL, made by smbsign_analyzer_new.
        let a = unsafe { &mut *analyzer };
        match a.conns.remove(&conn_id) {
            Some(_) => SMBSIGN_OK,
            None => SMBSIGN_NOT_FOUND,
        }
    })
}

/// Number of connections the analyzer tracks (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_analyzer_connection_count(
    analyzer: *const smbsign_analyzer,
) -> usize {
    boundary(0, || {
        // SAFETY: NULL or made by smbsign_analyzer_new.
        unsafe { analyzer.as_ref() }.map_or(0, |a| a.conns.len())
    })
}

/// Copy the signing posture of connection `conn_id` so far into `*out`
/// (by value, no allocation). Returns SMBSIGN_NOT_FOUND for an unknown id.
/// Thread-safety: as for the analyzer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_analyzer_get_posture(
    analyzer: *const smbsign_analyzer,
    conn_id: u64,
    out: *mut smbsign_posture,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if analyzer.is_null() || out.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: non-NULL, made by smbsign_analyzer_new.
        let a = unsafe { &*analyzer };
        let Some(e) = a.conns.get(&conn_id) else {
            return SMBSIGN_NOT_FOUND;
        };
        let c = &e.conn;
        let mut p = smbsign_posture {
            server_signing: signing_of(c.server_signing()),
            client_signing: signing_of(c.client_signing()),
            has_server_security_mode: c.server_security_mode.is_some(),
            server_security_mode: c.server_security_mode.unwrap_or(0),
            has_client_security_mode: c.client_security_mode.is_some(),
            client_security_mode: c.client_security_mode.unwrap_or(0),
            dialect: [0; 32],
            signing_algorithm: [0; 32],
            signed_messages: c.signed_messages,
            unsigned_messages: c.unsigned_messages,
            unsigned_while_required: c.unsigned_while_required,
        };
        match &c.dialect {
            Some(crate::conn::Dialect::Smb1(name)) => copy_str(&mut p.dialect, name),
            Some(crate::conn::Dialect::Smb2(d)) => match d.name() {
                Some(name) => copy_str(&mut p.dialect, name),
                None => copy_str(&mut p.dialect, &format!("0x{:04x}", d.0)),
            },
            None => {}
        }
        if let Some(alg) = posture::signing_algorithm_name(c) {
            copy_str(&mut p.signing_algorithm, alg);
        }
        // SAFETY: non-NULL, writable (caller's promise).
        unsafe { out.write(p) };
        SMBSIGN_OK
    })
}

/// Snapshot the posture of connection `conn_id` into a new
/// `smbsign_connection` written to `*out`.
///
/// Ownership: the caller owns `*out`; free it with `smbsign_connection_free`.
/// The snapshot does not change when more PDUs are fed. Returns
/// SMBSIGN_NOT_FOUND for an unknown id.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_analyzer_connection(
    analyzer: *const smbsign_analyzer,
    conn_id: u64,
    out: *mut *mut smbsign_connection,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if analyzer.is_null() || out.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: non-NULL, made by smbsign_analyzer_new.
        let a = unsafe { &*analyzer };
        let Some(e) = a.conns.get(&conn_id) else {
            return SMBSIGN_NOT_FOUND;
        };
        let report = ConnectionReport::build(&e.conn, e.client.clone(), e.server.clone(), 0, 0);
        // SAFETY: non-NULL out-pointer (caller's promise it is writable).
        unsafe { out.write(Box::into_raw(Box::new(smbsign_connection::new(report)))) };
        SMBSIGN_OK
    })
}

/// Free a connection snapshot from `smbsign_analyzer_connection`. NULL is
/// fine. Never free a connection borrowed from an `smbsign_scan`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_free(conn: *mut smbsign_connection) {
    boundary((), || {
        if !conn.is_null() {
            // SAFETY: made by smbsign_analyzer_connection, not yet freed.
            drop(unsafe { Box::from_raw(conn) });
        }
    })
}

/// Copy the connection summary into `*out`. Its strings stay owned by
/// `conn` and are valid until `conn` (or its scan) is freed.
/// Thread-safety: a connection is immutable; any thread may read it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_get_info(
    conn: *const smbsign_connection,
    out: *mut smbsign_connection_info,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        // SAFETY: NULL or a live smbsign_connection.
        let Some(c) = (unsafe { conn.as_ref() }) else {
            return SMBSIGN_NULL_PARAMETER;
        };
        if out.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: non-NULL, writable (caller's promise).
        unsafe { out.write(c.info) };
        SMBSIGN_OK
    })
}

/// Copy finding `index` (0 ≤ index < finding_count) into `*out`. Strings
/// are owned by `conn`. Returns SMBSIGN_OUT_OF_RANGE past the end.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_get_finding(
    conn: *const smbsign_connection,
    index: usize,
    out: *mut smbsign_finding,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        // SAFETY: NULL or a live smbsign_connection.
        let Some(c) = (unsafe { conn.as_ref() }) else {
            return SMBSIGN_NULL_PARAMETER;
        };
        if out.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        let Some(f) = c.findings.get(index) else {
            return SMBSIGN_OUT_OF_RANGE;
        };
        // SAFETY: non-NULL, writable.
        unsafe { out.write(*f) };
        SMBSIGN_OK
    })
}

/// Copy session `index` (0 ≤ index < session_count) into `*out`. Strings
/// are owned by `conn`. Returns SMBSIGN_OUT_OF_RANGE past the end.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_get_session(
    conn: *const smbsign_connection,
    index: usize,
    out: *mut smbsign_session,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        // SAFETY: NULL or a live smbsign_connection.
        let Some(c) = (unsafe { conn.as_ref() }) else {
            return SMBSIGN_NULL_PARAMETER;
        };
        if out.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        let Some(s) = c.sessions.get(index) else {
            return SMBSIGN_OUT_OF_RANGE;
        };
        // SAFETY: non-NULL, writable.
        unsafe { out.write(*s) };
        SMBSIGN_OK
    })
}

/// The connection as the CLI's JSON object (one line, no newline), in a new
/// string written to `*out`. Ownership: the caller frees it with
/// `smbsign_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_to_json(
    conn: *const smbsign_connection,
    out: *mut *mut c_char,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        // SAFETY: NULL or a live smbsign_connection.
        let Some(c) = (unsafe { conn.as_ref() }) else {
            return SMBSIGN_NULL_PARAMETER;
        };
        if out.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        let json = serde_json::to_string(&c.report).unwrap_or_default();
        // SAFETY: non-NULL, writable.
        unsafe { out.write(cstring(&json).into_raw()) };
        SMBSIGN_OK
    })
}

/// Free a string returned by `smbsign_connection_to_json`. NULL is fine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_string_free(s: *mut c_char) {
    boundary((), || {
        if !s.is_null() {
            // SAFETY: made by CString::into_raw in this library.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

/// Decode one SMB message on its own, without connection state, into
/// `out[0 .. out_cap]` (one annotation per message of a compound;
/// `*out_count` receives their number). A leading NBSS header is skipped.
///
/// Returns SMBSIGN_OK, SMBSIGN_NOT_SMB, SMBSIGN_MALFORMED, SMBSIGN_TOO_LARGE
/// or SMBSIGN_NULL_PARAMETER. Thread-safety: any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_decode_message(
    data: *const u8,
    len: usize,
    out: *mut smbsign_pdu_annotation,
    out_cap: usize,
    out_count: *mut usize,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if out.is_null() && out_cap > 0 {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: checked against NULL; the caller promises `len` bytes.
        let Some(data) = (unsafe { bytes(data, len) }) else {
            return SMBSIGN_NULL_PARAMETER;
        };
        if len > SMBSIGN_MAX_PDU + 4 {
            return SMBSIGN_TOO_LARGE;
        }
        let pdu = smb_payload(data);
        if nbss::smb_family(pdu).is_none() {
            write_annotations(&[], &Connection::new(), out, out_cap, out_count);
            return SMBSIGN_NOT_SMB;
        }
        let mut conn = Connection::new();
        let mut anns = Vec::new();
        conn.on_pdu(Direction::ToServer, 0, pdu, Some(&mut anns));
        write_annotations(&anns, &conn, out, out_cap, out_count);
        if conn.decode_errors > 0 {
            SMBSIGN_MALFORMED
        } else {
            SMBSIGN_OK
        }
    })
}

/// Scan a capture file (pcap, pcapng, gzip of either, NetXRay 2.x) and
/// write the result to `*out`. A capture that ends early still gives a scan
/// (check `smbsign_scan_error`).
///
/// Returns SMBSIGN_IO_ERROR (cannot open or read), SMBSIGN_NOT_A_CAPTURE,
/// SMBSIGN_NULL_PARAMETER. Ownership: the caller frees `*out` with
/// `smbsign_scan_free`. Thread-safety: any thread; scans are independent.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_file(
    path: *const c_char,
    out: *mut *mut smbsign_scan,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if path.is_null() || out.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: NUL-terminated (caller's promise).
        let path = unsafe { CStr::from_ptr(path) };
        let path = std::path::PathBuf::from(path.to_string_lossy().into_owned());
        let outcome = match capture::scan_path(&path, |_| {}) {
            Ok(o) => o,
            Err(CaptureError::Io(_)) => return SMBSIGN_IO_ERROR,
            Err(_) => return SMBSIGN_NOT_A_CAPTURE,
        };
        let scan = smbsign_scan {
            frames: outcome.stats.frames,
            error: outcome.error.map(|e| cstring(&e.to_string())),
            connections: outcome
                .reports
                .into_iter()
                .map(smbsign_connection::new)
                .collect(),
        };
        // SAFETY: non-NULL, writable.
        unsafe { out.write(Box::into_raw(Box::new(scan))) };
        SMBSIGN_OK
    })
}

/// Free a scan and every connection it holds. NULL is fine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_free(scan: *mut smbsign_scan) {
    boundary((), || {
        if !scan.is_null() {
            // SAFETY: made by smbsign_scan_file, not yet freed.
            drop(unsafe { Box::from_raw(scan) });
        }
    })
}

/// Number of SMB connections in the scan (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_connection_count(scan: *const smbsign_scan) -> usize {
    boundary(0, || {
        // SAFETY: NULL or a live scan.
        unsafe { scan.as_ref() }.map_or(0, |s| s.connections.len())
    })
}

/// Frames read from the file (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_frame_count(scan: *const smbsign_scan) -> u64 {
    boundary(0, || {
        // SAFETY: NULL or a live scan.
        unsafe { scan.as_ref() }.map_or(0, |s| s.frames)
    })
}

/// Connection `index` of the scan, borrowed: valid until the scan is freed;
/// never pass it to `smbsign_connection_free`. NULL when out of range.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_connection(
    scan: *const smbsign_scan,
    index: usize,
) -> *const smbsign_connection {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or a live scan.
        unsafe { scan.as_ref() }
            .and_then(|s| s.connections.get(index))
            .map_or(std::ptr::null(), |c| c as *const smbsign_connection)
    })
}

/// Why reading stopped early (e.g. "capture is truncated …"), or NULL when
/// the whole file was read. Owned by the scan.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_error(scan: *const smbsign_scan) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or a live scan.
        unsafe { scan.as_ref() }
            .and_then(|s| s.error.as_ref())
            .map_or(std::ptr::null(), |e| e.as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constants_match_cargo_toml() {
        let parse = |s: &str| s.parse::<u32>().unwrap();
        assert_eq!(
            SMBSIGN_VERSION_MAJOR,
            parse(env!("CARGO_PKG_VERSION_MAJOR"))
        );
        assert_eq!(
            SMBSIGN_VERSION_MINOR,
            parse(env!("CARGO_PKG_VERSION_MINOR"))
        );
        assert_eq!(
            SMBSIGN_VERSION_PATCH,
            parse(env!("CARGO_PKG_VERSION_PATCH"))
        );
        // SAFETY: static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(smbsign_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn finding_codes_keep_their_numbers() {
        for c in FindingCode::ALL {
            assert_eq!(finding_code(c) as u32, c as u32, "{c:?}");
        }
    }

    #[test]
    fn null_and_garbage_are_status_codes() {
        let a = smbsign_analyzer_new();
        let mut n = 0usize;
        unsafe {
            assert_eq!(
                smbsign_analyzer_feed(
                    a,
                    1,
                    0,
                    1,
                    std::ptr::null(),
                    5,
                    std::ptr::null_mut(),
                    0,
                    &mut n
                ),
                SMBSIGN_NULL_PARAMETER
            );
            assert_eq!(
                smbsign_analyzer_feed(
                    a,
                    1,
                    7,
                    1,
                    b"x".as_ptr(),
                    1,
                    std::ptr::null_mut(),
                    0,
                    &mut n
                ),
                SMBSIGN_INVALID_PARAMETER
            );
            let junk = [0xfeu8, b'S', b'M', b'B', 1, 2, 3];
            assert_eq!(
                smbsign_analyzer_feed(
                    a,
                    1,
                    0,
                    1,
                    junk.as_ptr(),
                    junk.len(),
                    std::ptr::null_mut(),
                    0,
                    &mut n
                ),
                SMBSIGN_MALFORMED
            );
            assert_eq!(smbsign_analyzer_close(a, 1), SMBSIGN_OK);
            assert_eq!(smbsign_analyzer_close(a, 1), SMBSIGN_NOT_FOUND);
            smbsign_analyzer_free(a);
            smbsign_analyzer_free(std::ptr::null_mut());
        }
    }
}
