//! Immutable snapshots of one connection: summary, findings, sessions, JSON.

#![allow(clippy::missing_safety_doc)]

use super::types::{finding_code, mac_of, mechanism_of, severity_of, signing_of};
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
    details: Vec<smbsign_session_detail>,
    pub(super) peers: Vec<super::evidence::smbsign_finding_peer>,
    pub(super) evidence: Vec<Vec<super::evidence::smbsign_finding_evidence>>,
    pub(super) fixes: Vec<Vec<super::fixes::smbsign_finding_fix>>,
    pub(super) fix_parts: Vec<Vec<Vec<super::fixes::smbsign_fix_part>>>,
    pub(super) observations: Vec<*const c_char>,
    pub(super) tunnel: super::tunnel::Tunnel,
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
            dialect_code: report
                .dialect
                .as_ref()
                .and_then(|d| d.smb2())
                .map_or(0, |d| d.0),
            signing_mac: mac_of(report.signing_algorithm),
            cipher: report.cipher.map_or(0, |c| c.0),
            compressed_messages: report.compressed_messages,
            has_first_frame: report.first_frame.is_some(),
            first_frame: report.first_frame.unwrap_or(0),
            last_frame: report.last_frame.unwrap_or(0),
            closed: report.closed,
            gap_bytes: report.gap_bytes,
            resyncs: report.resyncs,
            verifying: report.verified_messages.is_some(),
            verified_messages: report.verified_messages.unwrap_or(0),
            forged_messages: report.forged_messages.unwrap_or(0),
            no_key_messages: report.no_key_messages.unwrap_or(0),
            unverifiable_messages: report.unverifiable_messages.unwrap_or(0),
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
        let details = report
            .sessions
            .iter()
            .map(|s| {
                use crate::posture::KeyReport;
                use smbsign_key_state::*;
                let (key_state, key_detail) = match &s.key {
                    None => (SMBSIGN_KEY_NOT_VERIFYING, std::ptr::null()),
                    Some(KeyReport::Pending) => (SMBSIGN_KEY_PENDING, std::ptr::null()),
                    Some(KeyReport::Ready) => (SMBSIGN_KEY_READY, std::ptr::null()),
                    Some(KeyReport::WrongCredentials) => {
                        (SMBSIGN_KEY_WRONG_CREDENTIALS, std::ptr::null())
                    }
                    Some(KeyReport::NoKey(why)) => (SMBSIGN_KEY_NONE, keep(why)),
                };
                smbsign_session_detail {
                    session_id: s.id.0,
                    smb1: s.id.1,
                    legacy_auth: s.legacy_auth,
                    signing_required: s.signing_required,
                    mechanism_oid: s
                        .mechanism_oid
                        .as_deref()
                        .map_or(std::ptr::null(), &mut keep),
                    verifying: s.verified.is_some(),
                    verified: s.verified.unwrap_or(0),
                    forged: s.forged.unwrap_or(0),
                    no_key: s.no_key.unwrap_or(0),
                    unsigned_while_required: s.unsigned_while_required,
                    key_state,
                    key_detail,
                    ntlm_mic: s.ntlm_mic_valid.map_or(-1, i32::from),
                    forged_frame_count: s.forged_frames.len(),
                }
            })
            .collect();
        let links = super::evidence::finding_links(&report.findings, &mut keep);
        let tunnel = super::tunnel::Tunnel::of(&report, &mut keep);
        smbsign_connection {
            report,
            info,
            _strings: strings,
            findings,
            sessions,
            details,
            peers: links.peers,
            evidence: links.evidence,
            fixes: links.fixes,
            fix_parts: links.fix_parts,
            observations: links.observations,
            tunnel,
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
pub(super) unsafe fn copy_item<T: Copy>(
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

/// Copy the verification detail of session `index` (0 ≤ index <
/// session_count) into `*out`. Strings are owned by `conn`. Returns
/// SMBSIGN_OUT_OF_RANGE past the end. Thread-safety: a connection is
/// immutable; any thread may read it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_get_session_detail(
    conn: *const smbsign_connection,
    index: usize,
    out: *mut smbsign_session_detail,
) -> smbsign_result {
    // SAFETY: the pointers are checked there.
    boundary(SMBSIGN_PANIC, || unsafe {
        copy_item(conn, index, out, |c| &c.details)
    })
}

/// Copy the frames of forged messages (the first few: up to 16) into
/// `out[0 .. cap]` and their number into `*out_count` (which may exceed
/// `cap`): of session `session_index`, or of the whole connection when
/// `session_index` is SIZE_MAX. `out` may be NULL when `cap` is 0. Returns
/// SMBSIGN_OUT_OF_RANGE for a session index past the end.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_forged_frames(
    conn: *const smbsign_connection,
    session_index: usize,
    out: *mut u64,
    cap: usize,
    out_count: *mut usize,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        // SAFETY: NULL or a live smbsign_connection.
        let Some(c) = (unsafe { conn.as_ref() }) else {
            return SMBSIGN_NULL_PARAMETER;
        };
        if out_count.is_null() || (out.is_null() && cap > 0) {
            return SMBSIGN_NULL_PARAMETER;
        }
        let frames = if session_index == usize::MAX {
            &c.report.forged_frames
        } else {
            match c.report.sessions.get(session_index) {
                Some(s) => &s.forged_frames,
                None => return SMBSIGN_OUT_OF_RANGE,
            }
        };
        // SAFETY: `out_count` checked, `out` checked against `cap`.
        unsafe { write_list(frames, out, cap, out_count) };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(bytes: &[u8], secret: &std::ffi::CStr) -> *mut smbsign_scan {
        // SAFETY: live handles; `bytes` read during the call.
        unsafe {
            let o = smbsign_options_new();
            assert_eq!(
                smbsign_options_add_credentials(o, secret.as_ptr()),
                SMBSIGN_OK
            );
            let mut s = std::ptr::null_mut();
            assert_eq!(
                smbsign_scan_memory(bytes.as_ptr(), bytes.len(), o, &mut s),
                SMBSIGN_OK
            );
            smbsign_options_free(o);
            s
        }
    }

    /// Issue 14, gap 2: the per-session verification the JSON has, as typed
    /// C structs: tallies, key state, forged frames.
    #[test]
    fn session_detail_and_forged_frames_are_the_reports() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/captures/smb302-signed.pcap"
        );
        let mut bytes = std::fs::read(path).unwrap();
        let at = memchr::memmem::find(&bytes, b"hello from the smbsign lab").unwrap();
        bytes[at + 3] ^= 0x20; // one forged READ response
        let mut creds = crate::verify::Credentials::default();
        creds.add_password("LAB\\smblab:Passw0rd!").unwrap();
        let cli = crate::scan::Scanner::new(crate::scan::ScanOptions::with_credentials(
            std::sync::Arc::new(creds),
        ))
        .scan(&bytes[..])
        .unwrap()
        .connections;
        let want = &cli[0].sessions[0];
        assert_eq!(want.forged, Some(1));
        // SAFETY: live scans and connections; buffers of the given sizes.
        unsafe {
            let s = scan(&bytes, c"password LAB\\smblab:Passw0rd!");
            let c = smbsign_scan_connection(s, 0);
            let mut d = std::mem::zeroed::<smbsign_session_detail>();
            assert_eq!(
                smbsign_connection_get_session_detail(c, 0, &mut d),
                SMBSIGN_OK
            );
            assert!(d.verifying && d.signing_required);
            assert_eq!(d.key_state, smbsign_key_state::SMBSIGN_KEY_READY);
            assert_eq!(
                (d.verified, d.forged, d.no_key),
                (want.verified.unwrap(), 1, want.no_key.unwrap())
            );
            assert_eq!(d.forged_frame_count, 1);
            let mut frames = [0u64; 4];
            let mut n = 0usize;
            assert_eq!(
                smbsign_connection_forged_frames(c, 0, frames.as_mut_ptr(), 4, &mut n),
                SMBSIGN_OK
            );
            assert_eq!(&frames[..n], &want.forged_frames[..]);
            assert_eq!(
                smbsign_connection_forged_frames(c, usize::MAX, frames.as_mut_ptr(), 4, &mut n),
                SMBSIGN_OK
            );
            assert_eq!(&frames[..n], &cli[0].forged_frames[..]);
            assert_eq!(
                smbsign_connection_forged_frames(c, 9, frames.as_mut_ptr(), 4, &mut n),
                SMBSIGN_OUT_OF_RANGE
            );
            assert_eq!(
                smbsign_connection_forged_frames(c, 0, std::ptr::null_mut(), 4, &mut n),
                SMBSIGN_NULL_PARAMETER
            );
            assert_eq!(
                smbsign_connection_get_session_detail(c, 9, &mut d),
                SMBSIGN_OUT_OF_RANGE
            );
            assert_eq!(
                smbsign_connection_get_session_detail(std::ptr::null(), 0, &mut d),
                SMBSIGN_NULL_PARAMETER
            );
            smbsign_scan_free(s);

            // A wrong password: wrong-credentials, nothing verified or forged.
            let s = scan(&bytes, c"password LAB\\smblab:wrong");
            let c = smbsign_scan_connection(s, 0);
            assert_eq!(
                smbsign_connection_get_session_detail(c, 0, &mut d),
                SMBSIGN_OK
            );
            assert_eq!(
                d.key_state,
                smbsign_key_state::SMBSIGN_KEY_WRONG_CREDENTIALS
            );
            assert_eq!((d.verified, d.forged), (0, 0));
            smbsign_scan_free(s);
        }
    }

    /// Issue 14, gap 4: the analyzer lists its connections.
    #[test]
    fn analyzer_lists_its_connections() {
        let msg = {
            let mut h = vec![0u8; 64];
            h[..4].copy_from_slice(b"\xfeSMB");
            h[4] = 64;
            h[12] = 5;
            h.extend_from_slice(&[0; 8]);
            h
        };
        // SAFETY: a live analyzer; buffers of the given sizes.
        unsafe {
            let a = smbsign_analyzer_new();
            let mut n = 0usize;
            for id in [42u64, 7, 1000] {
                let r = smbsign_analyzer_feed(
                    a,
                    id,
                    0,
                    1,
                    msg.as_ptr(),
                    msg.len(),
                    std::ptr::null_mut(),
                    0,
                    &mut n,
                );
                assert!(r == SMBSIGN_OK || r == SMBSIGN_MALFORMED, "{r:?}");
            }
            assert_eq!(
                smbsign_analyzer_set_endpoints(a, 5, c"a".as_ptr(), c"b".as_ptr()),
                SMBSIGN_OK
            );
            let mut ids = [0u64; 2];
            assert_eq!(
                smbsign_analyzer_connection_ids(a, ids.as_mut_ptr(), 2, &mut n),
                SMBSIGN_OK
            );
            assert_eq!(
                (n, ids),
                (3, [7, 42]),
                "sorted, named-only ids left out, count past cap"
            );
            assert_eq!(
                smbsign_analyzer_connection_ids(a, std::ptr::null_mut(), 0, &mut n),
                SMBSIGN_OK
            );
            assert_eq!(n, 3);
            assert_eq!(
                smbsign_analyzer_connection_ids(a, std::ptr::null_mut(), 1, &mut n),
                SMBSIGN_NULL_PARAMETER
            );
            assert_eq!(
                smbsign_analyzer_connection_ids(std::ptr::null(), ids.as_mut_ptr(), 2, &mut n),
                SMBSIGN_NULL_PARAMETER
            );
            smbsign_analyzer_free(a);
        }
    }
}
