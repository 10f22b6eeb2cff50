//! Immutable snapshots of one connection: summary, findings, sessions, JSON.

#![allow(clippy::missing_safety_doc)]

use super::types::{finding_code, mechanism_of, severity_of, signing_of};
use super::*;
use crate::posture::ConnectionReport;
use std::ffi::{CString, c_char};

/// Opaque: an immutable snapshot of one connection's posture.
pub struct smbsign_connection {
    pub(super) report: ConnectionReport,
    info: smbsign_connection_info,
    /// Owns the C strings the pointers in `info`, `findings` and `sessions` point into.
    _strings: Vec<CString>,
    findings: Vec<smbsign_finding>,
    sessions: Vec<smbsign_session>,
}

impl smbsign_connection {
    /// A snapshot of a typed report: every value is copied from its typed
    /// field, strings only where the C struct holds text.
    pub(super) fn new(report: ConnectionReport) -> Self {
        let mut strings: Vec<CString> = Vec::new();
        let mut keep = |s: &str| -> *const c_char {
            let c = cstring(s);
            let p = c.as_ptr();
            strings.push(c); // the heap buffer does not move with the Vec
            p
        };
        let info = smbsign_connection_info {
            client: keep(&report.client),
            server: keep(&report.server),
            dialect: report
                .dialect
                .as_ref()
                .map_or(std::ptr::null(), |d| keep(&d.name())),
            has_server_security_mode: report.server_security_mode.is_some(),
            server_security_mode: report.server_security_mode.map_or(0, |m| m.raw()),
            has_client_security_mode: report.client_security_mode.is_some(),
            client_security_mode: report.client_security_mode.unwrap_or(0),
            server_signing: signing_of(report.server_signing),
            client_signing: signing_of(report.client_signing),
            signing_algorithm: report
                .signing_algorithm
                .map_or(std::ptr::null(), |a| keep(a.name())),
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
                severity: severity_of(f.severity),
                code_name: keep(f.code.as_str()),
                message: keep(&f.message),
            })
            .collect();
        let sessions = report
            .sessions
            .iter()
            .map(|s| smbsign_session {
                session_id: s.id.0,
                user: s.user.as_deref().map_or(std::ptr::null(), &mut keep),
                mechanism: mechanism_of(s.mechanism),
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

pub(super) fn smbsign_connection_from(r: ConnectionReport) -> smbsign_connection {
    smbsign_connection::new(r)
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

/// Copy item `index` of one of a snapshot's lists into `*out`.
unsafe fn copy_item<T: Copy>(
    conn: *const smbsign_connection,
    index: usize,
    out: *mut T,
    list: impl FnOnce(&smbsign_connection) -> &[T],
) -> smbsign_result {
    // SAFETY: NULL or a live smbsign_connection (caller's promise).
    let Some(c) = (unsafe { conn.as_ref() }) else {
        return SMBSIGN_NULL_PARAMETER;
    };
    if out.is_null() {
        return SMBSIGN_NULL_PARAMETER;
    }
    let Some(item) = list(c).get(index) else {
        return SMBSIGN_OUT_OF_RANGE;
    };
    // SAFETY: non-NULL, writable (caller's promise).
    unsafe { out.write(*item) };
    SMBSIGN_OK
}

/// Copy finding `index` (0 ≤ index < finding_count) into `*out`. Strings
/// are owned by `conn`. Returns SMBSIGN_OUT_OF_RANGE past the end.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_get_finding(
    conn: *const smbsign_connection,
    index: usize,
    out: *mut smbsign_finding,
) -> smbsign_result {
    // SAFETY: the pointers are checked there.
    boundary(SMBSIGN_PANIC, || unsafe {
        copy_item(conn, index, out, |c| &c.findings)
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
    // SAFETY: the pointers are checked there.
    boundary(SMBSIGN_PANIC, || unsafe {
        copy_item(conn, index, out, |c| &c.sessions)
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
