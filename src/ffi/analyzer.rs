//! PDU-by-PDU analysis for hosts that parse captures themselves (the
//! Wireshark plugin, C tools), and the stateless decoder.

#![allow(clippy::missing_safety_doc)]

use super::types::{copy_str, mac_of, signing_of};
use super::*;
use crate::conn::{Connection, Direction, MessageAnnotation};
use crate::posture::{ConnectionReport, Transport};
use crate::wire::nbss;
use std::collections::HashMap;
use std::ffi::{CStr, c_char};

/// Opaque: a set of connections fed PDU by PDU.
pub struct smbsign_analyzer {
    conns: HashMap<u64, AnalyzerConn, ahash::RandomState>,
    /// Endpoints named for ids not fed an SMB message yet: a connection is
    /// made on its first SMB message, not by naming it.
    named: HashMap<u64, Transport, ahash::RandomState>,
    tick: u64,
    /// Credentials for connections created from now on.
    creds: Option<std::sync::Arc<crate::verify::Credentials>>,
    /// Why the last call that failed on this analyzer failed.
    last_error: Option<std::ffi::CString>,
    /// Connections kept at once (SMBSIGN_MAX_CONNECTIONS or less).
    max_connections: usize,
    /// AUTHENTICATEs seen on two connections (relays).
    pub(super) links: super::links::Links,
}

impl smbsign_analyzer {
    /// Remember why a call failed, and return its status.
    fn fail(&mut self, status: smbsign_result, why: String) -> smbsign_result {
        self.last_error = Some(cstring(&why));
        status
    }
}

struct AnalyzerConn {
    conn: Connection,
    /// The endpoints the host named (their addresses read once).
    endpoints: Transport,
    last_use: u64,
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
            named: HashMap::default(),
            tick: 0,
            creds: None,
            last_error: None,
            max_connections: SMBSIGN_MAX_CONNECTIONS,
            links: Default::default(),
        }))
    })
}

/// Create an analyzer that verifies with the credentials of `options` and
/// keeps at most their connection limit (NULL: as `smbsign_analyzer_new`).
/// The options are copied. Ownership and thread-safety as for
/// `smbsign_analyzer_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_analyzer_new_with(
    options: *const smbsign_options,
) -> *mut smbsign_analyzer {
    boundary(std::ptr::null_mut(), || {
        let a = smbsign_analyzer_new();
        // SAFETY: NULL or made by smbsign_options_new; `a` just made.
        if let (Some(o), Some(an)) = (unsafe { options.as_ref() }, unsafe { a.as_mut() }) {
            an.creds =
                (!o.credentials.is_empty()).then(|| std::sync::Arc::new(o.credentials.clone()));
            an.max_connections = o.max_connections;
        }
        a
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
/// newlines or ';', each `password USER:PASSWORD`, `nt-hash USER:HEX32`,
/// `keytab PATH` or `session-key SESSIONID:HEX` (USER may be `DOMAIN\user`; the session id
/// as the JSON and `smbsign_session.session_id` show it — `0x` and 4 hex
/// digits for an SMB1 UID, 16 for an SMB2 SessionId — or any hex form of
/// the same number). The text is copied. They apply to every
/// connection whose first SMB message comes after this call (naming its
/// endpoints does not count), and to connections that already verify, for
/// the sessions whose keys are not derived yet.
///
/// Returns SMBSIGN_INVALID_PARAMETER (nothing added) when an entry does
/// not parse, and SMBSIGN_CREDENTIALS_TOO_LATE when they were added but
/// some connection was fed before any credentials existed: its messages
/// were not kept for verification, and it stays unverified.
/// Thread-safety: as for the analyzer.
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
        if let Err(e) = creds.add_file_text(&text) {
            return a.fail(SMBSIGN_INVALID_PARAMETER, format!("credentials: {}", e.0));
        }
        a.install_credentials(creds)
    })
}

/// Add the service keys of the MIT keytab file at `path`, for Kerberos
/// sessions; as `smbsign_analyzer_add_credentials` otherwise (which
/// connections they apply to, SMBSIGN_CREDENTIALS_TOO_LATE). Returns
/// SMBSIGN_INVALID_PARAMETER (nothing added) when the file cannot be read
/// or is not a keytab. Thread-safety: as for the analyzer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_analyzer_add_keytab(
    analyzer: *mut smbsign_analyzer,
    path: *const c_char,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if analyzer.is_null() || path.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: non-NULL; made by smbsign_analyzer_new; NUL-terminated.
        let (a, path) = unsafe { (&mut *analyzer, CStr::from_ptr(path)) };
        let path = std::path::PathBuf::from(path.to_string_lossy().into_owned());
        let mut creds = a.creds.as_deref().cloned().unwrap_or_default();
        if let Err(e) = creds.add_keytab_file(&path) {
            return a.fail(SMBSIGN_INVALID_PARAMETER, e.0);
        }
        a.install_credentials(creds)
    })
}

impl smbsign_analyzer {
    /// Use `creds` from now on, for new connections and for the sessions of
    /// verifying ones whose keys are not derived yet.
    fn install_credentials(&mut self, creds: crate::verify::Credentials) -> smbsign_result {
        let a = self;
        a.creds = (!creds.is_empty()).then(|| std::sync::Arc::new(creds));
        let Some(creds) = a.creds.clone() else {
            return SMBSIGN_OK;
        };
        let mut too_late = 0;
        for e in a.conns.values_mut() {
            match e.conn.verify.as_mut() {
                Some(v) => v.set_credentials(creds.clone()),
                None => too_late += 1,
            }
        }
        if too_late > 0 {
            let why = format!(
                "credentials added, but {too_late} connection(s) fed before any existed stay unverified"
            );
            return a.fail(SMBSIGN_CREDENTIALS_TOO_LATE, why);
        }
        SMBSIGN_OK
    }
}

/// Why the last call on this analyzer that did not return SMBSIGN_OK
/// failed (which credential entry and field, which limit, which frame), or
/// NULL when none has failed, or for NULL. Never holds a secret.
///
/// Ownership: owned by the analyzer; valid until the next failing call on
/// it or until it is freed. Thread-safety: as for the analyzer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_analyzer_last_error(
    analyzer: *const smbsign_analyzer,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or made by smbsign_analyzer_new.
        unsafe { analyzer.as_ref() }
            .and_then(|a| a.last_error.as_ref())
            .map_or(std::ptr::null(), |e| e.as_ptr())
    })
}

/// Name a connection's endpoints (shown as `client` / `server` in its
/// posture), e.g. "10.0.0.1:49152" and "10.0.0.2:445", before or after its
/// first PDU. It does not create the connection: that happens on its first
/// SMB message, so naming a flow that turns out not to be SMB costs
/// nothing. Strings are copied.
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
        let (c, s) = (
            c.to_string_lossy().into_owned(),
            s.to_string_lossy().into_owned(),
        );
        match a.conns.get_mut(&conn_id) {
            Some(e) => e.endpoints = Transport::of_names(c, s),
            None => {
                if a.named.len() >= SMBSIGN_MAX_CONNECTIONS {
                    a.named.clear(); // bounded: names of flows never fed go first
                }
                a.named.insert(conn_id, Transport::of_names(c, s));
            }
        }
        SMBSIGN_OK
    })
}

impl smbsign_analyzer {
    /// The report of `e` (id `conn_id`), correlated with the connections
    /// its AUTHENTICATEs link it to (relay and MITM findings).
    fn correlated_report(&self, conn_id: u64, e: &AnalyzerConn) -> ConnectionReport {
        let build = |e: &AnalyzerConn| ConnectionReport::build(&e.conn, e.endpoints.clone());
        let partners = self.links.partners(conn_id);
        if partners.is_empty() {
            return build(e);
        }
        let mut c = crate::correlate::Correlator::new();
        let mut out = Vec::new();
        c.push(build(e), &mut |r| out.push(r));
        for p in partners {
            if let Some(pe) = self.conns.get(p) {
                c.push(build(pe), &mut |r| out.push(r));
            }
        }
        c.finish(&mut |r| out.push(r));
        let (client, server) = (&e.endpoints.client, &e.endpoints.server);
        let k = out
            .iter()
            .position(|r| &r.client == client && &r.server == server)
            .unwrap_or(0);
        out.swap_remove(k)
    }

    /// Finding bits for frame `frame` of `conn_id`: its own attack evidence
    /// (MIC, target name, validate-negotiate, preauth) and a relay link to
    /// another connection's AUTHENTICATE.
    fn attack_mask(&mut self, conn_id: u64, frame: u64) -> u32 {
        let Some(e) = self.conns.get(&conn_id) else {
            return 0;
        };
        let server = e.endpoints.server_ip;
        let mut mask = crate::posture::frame_attack_findings(&e.conn, frame, server)
            .into_iter()
            .fold(0u32, |m, c| m | 1 << (c as u32 - 1));
        let conns = &self.conns;
        let server_of = |id: u64| conns.get(&id).map(|c| c.endpoints.server.clone());
        if self.links.on_frame(conn_id, frame, &e.conn, server_of) {
            mask |= 1 << (crate::posture::FindingCode::NtlmRelay as u32 - 1);
        }
        mask
    }

    fn entry(&mut self, conn_id: u64) -> &mut AnalyzerConn {
        self.tick += 1;
        if !self.conns.contains_key(&conn_id) && self.conns.len() >= self.max_connections {
            let mut ages: Vec<(u64, u64)> =
                self.conns.iter().map(|(k, c)| (c.last_use, *k)).collect();
            ages.sort_unstable();
            for (_, k) in ages.into_iter().take((self.max_connections / 8).max(1)) {
                self.conns.remove(&k);
            }
        }
        let tick = self.tick;
        let creds = self.creds.clone();
        let named = &mut self.named;
        let e = self.conns.entry(conn_id).or_insert_with(|| {
            let endpoints = named.remove(&conn_id).unwrap_or_default();
            AnalyzerConn {
                conn: match creds {
                    Some(c) => Connection::with_credentials(c),
                    None => Connection::new(),
                },
                endpoints,
                last_use: tick,
            }
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

/// OK when every message decoded, PARTIAL when some did, MALFORMED when
/// none did: outputs are written on the first two only.
fn decode_status(malformed: bool, decoded: usize) -> smbsign_result {
    match (malformed, decoded) {
        (false, _) => SMBSIGN_OK,
        (true, 0) => SMBSIGN_MALFORMED,
        (true, _) => SMBSIGN_PARTIAL,
    }
}

/// Write the annotations; `extra` (finding bits of this frame's attack
/// evidence) goes on its SESSION_SETUP and IOCTL messages.
fn write_annotations(
    anns: &[MessageAnnotation],
    conn: &Connection,
    extra: u32,
    out: *mut smbsign_pdu_annotation,
    out_cap: usize,
    out_count: *mut usize,
) {
    if !out.is_null() {
        for (k, a) in anns.iter().take(out_cap).enumerate() {
            let mut ann = smbsign_pdu_annotation::from_message(a, conn);
            if a.carries_attack_evidence() {
                ann.finding_mask |= extra;
            }
            // SAFETY: the caller promises `out` has room for `out_cap` items.
            unsafe { out.add(k).write(ann) };
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
/// number (findings name it): for a PDU split over several TCP segments,
/// the frame of the segment that completed it.
///
/// One annotation per SMB message in the PDU (an SMB2 compound holds
/// several) is written to `out[0 .. out_cap]`; `*out_count` (if not NULL)
/// receives the number of messages, which may exceed `out_cap`. `out` may be
/// NULL when `out_cap` is 0.
///
/// Returns SMBSIGN_OK, or SMBSIGN_PARTIAL when some messages decoded and
/// others did not (a compound with one bad part: the decoded ones are
/// written and the error is recorded). Outputs are written only on these
/// two. On SMBSIGN_NOT_SMB (no magic: nothing recorded), SMBSIGN_MALFORMED
/// (no message decoded; recorded as a decode error), SMBSIGN_TOO_LARGE,
/// SMBSIGN_NULL_PARAMETER and SMBSIGN_INVALID_PARAMETER (direction) nothing
/// is written; `smbsign_analyzer_last_error` says why.
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
        // SAFETY: non-NULL, made by smbsign_analyzer_new.
        let a = unsafe { &mut *analyzer };
        // SAFETY: checked against NULL; the caller promises `len` bytes.
        let Some(data) = (unsafe { bytes(data, len) }) else {
            return a.fail(
                SMBSIGN_NULL_PARAMETER,
                format!("NULL data with length {len}"),
            );
        };
        let dir = match direction {
            0 => Direction::ToServer,
            1 => Direction::ToClient,
            d => {
                let why =
                    format!("direction {d} is not SMBSIGN_TO_SERVER (0) or SMBSIGN_TO_CLIENT (1)");
                return a.fail(SMBSIGN_INVALID_PARAMETER, why);
            }
        };
        let pdu = smb_payload(data);
        if pdu.len() > SMBSIGN_MAX_PDU {
            let why = format!(
                "a PDU of {} bytes is larger than SMBSIGN_MAX_PDU ({SMBSIGN_MAX_PDU})",
                pdu.len()
            );
            return a.fail(SMBSIGN_TOO_LARGE, why);
        }
        if nbss::smb_family(pdu).is_none() {
            return a.fail(
                SMBSIGN_NOT_SMB,
                "the bytes do not start with an SMB magic".into(),
            );
        }
        let entry = a.entry(conn_id);
        let errors_before = entry.conn.decode_errors;
        let mut anns = Vec::new();
        entry.conn.on_pdu(dir, frame, pdu, Some(&mut anns));
        let malformed = entry.conn.decode_errors > errors_before;
        let status = decode_status(malformed, anns.len());
        // Attack evidence sits in SESSION_SETUP and IOCTL messages only:
        // the per-PDU callback does no more for the others.
        let extra = if anns.iter().any(MessageAnnotation::carries_attack_evidence) {
            a.attack_mask(conn_id, frame)
        } else {
            0
        };
        let entry = &a.conns[&conn_id];
        if status != SMBSIGN_MALFORMED {
            write_annotations(&anns, &entry.conn, extra, out, out_cap, out_count);
        }
        if malformed {
            let why = match entry.conn.first_decode_error {
                Some((f, e)) if f == frame => format!("frame {frame}: {e}"),
                _ => format!("frame {frame}: a message could not be decoded"),
            };
            return a.fail(status, why);
        }
        SMBSIGN_OK
    })
}

/// Tell the analyzer that connection `conn_id` ended: call it on the first
/// TCP FIN or RST (one is enough, the other side's is not awaited). The
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

/// The ids of the connections the analyzer tracks (those fed at least one
/// SMB message), in increasing order, into `out[0 .. cap]`; `*out_count`
/// receives their number, which may exceed `cap`. `out` may be NULL when
/// `cap` is 0. Thread-safety: as for the analyzer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_analyzer_connection_ids(
    analyzer: *const smbsign_analyzer,
    out: *mut u64,
    cap: usize,
    out_count: *mut usize,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if analyzer.is_null() || out_count.is_null() || (out.is_null() && cap > 0) {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: non-NULL, made by smbsign_analyzer_new.
        let a = unsafe { &*analyzer };
        let mut ids: Vec<u64> = a.conns.keys().copied().collect();
        ids.sort_unstable();
        // SAFETY: `out_count` checked, `out` checked against `cap`.
        unsafe { write_list(&ids, out, cap, out_count) };
        SMBSIGN_OK
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
            has_server_security_mode: c.server.security_mode.is_some(),
            server_security_mode: c.server.security_mode.map_or(0, |m| m.raw()),
            has_client_security_mode: c.client.security_mode.is_some(),
            client_security_mode: c.client.security_mode.map_or(0, |m| m.0),
            dialect: [0; 32],
            signing_algorithm: [0; 32],
            signed_messages: c.counts.signed,
            unsigned_messages: c.counts.unsigned,
            unsigned_while_required: c.tally.unsigned_while_required,
            dialect_code: c.dialect.as_ref().and_then(|d| d.smb2()).map_or(0, |d| d.0),
            signing_mac: mac_of(c.mac_algorithm()),
            server_signing_enabled: c.server.security_mode.is_some_and(|m| m.signing_enabled()),
            server_signing_required: c.server.security_mode.is_some_and(|m| m.signing_required()),
            client_signing_enabled: c.client.security_mode.is_some_and(|m| m.signing_enabled()),
            client_signing_required: c.client.security_mode.is_some_and(|m| m.signing_required()),
        };
        if let Some(d) = &c.dialect {
            copy_str(&mut p.dialect, &d.name());
        }
        if let Some(alg) = c.mac_algorithm() {
            copy_str(&mut p.signing_algorithm, alg.name());
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
        let report = a.correlated_report(conn_id, e);
        // SAFETY: non-NULL out-pointer (caller's promise it is writable).
        unsafe { out.write(Box::into_raw(Box::new(smbsign_connection::new(report)))) };
        SMBSIGN_OK
    })
}

/// Decode one SMB message on its own, without connection state, into
/// `out[0 .. out_cap]` (one annotation per message of a compound;
/// `*out_count` receives their number). A leading NBSS header is skipped.
///
/// Returns SMBSIGN_OK or SMBSIGN_PARTIAL (some messages malformed, the
/// decoded ones written), as for `smbsign_analyzer_feed`; on
/// SMBSIGN_NOT_SMB, SMBSIGN_MALFORMED (nothing decoded), SMBSIGN_TOO_LARGE
/// or SMBSIGN_NULL_PARAMETER nothing is written.
/// Thread-safety: any thread.
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
        let pdu = smb_payload(data);
        if pdu.len() > SMBSIGN_MAX_PDU {
            return SMBSIGN_TOO_LARGE;
        }
        if nbss::smb_family(pdu).is_none() {
            return SMBSIGN_NOT_SMB;
        }
        let mut conn = Connection::new();
        let mut anns = Vec::new();
        conn.on_pdu(Direction::ToServer, 0, pdu, Some(&mut anns));
        let status = decode_status(conn.decode_errors > 0, anns.len());
        if status != SMBSIGN_MALFORMED {
            write_annotations(&anns, &conn, 0, out, out_cap, out_count);
        }
        status
    })
}

/// Which way an SMB1 or SMB2 PDU travelled, by its header's response bit:
/// SMBSIGN_TO_CLIENT for a response, SMBSIGN_TO_SERVER for a request, and 2
/// when the bytes carry no such bit (transform and compression headers,
/// not SMB, NULL). A leading NBSS header is skipped. For hosts that feed
/// PDUs without knowing the client's side. Thread-safety: any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_pdu_direction(data: *const u8, len: usize) -> u32 {
    boundary(2, || {
        // SAFETY: checked against NULL; the caller promises `len` bytes.
        let Some(data) = (unsafe { bytes(data, len) }) else {
            return 2;
        };
        let pdu = smb_payload(data);
        match crate::wire::Pdu::classify(pdu, pdu.len()).and_then(|p| p.is_response()) {
            Some(true) => smbsign_direction::SMBSIGN_TO_CLIENT as u32,
            Some(false) => smbsign_direction::SMBSIGN_TO_SERVER as u32,
            None => 2,
        }
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::scan::{PduEvent, ScanOptions, Scanner};
    use std::cell::RefCell;
    use std::rc::Rc;

    type Pdu = (u64, Direction, u64, Vec<u8>);

    pub(in crate::ffi) fn pdus(name: &str) -> Vec<Pdu> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/captures")
            .join(name);
        let out: Rc<RefCell<Vec<Pdu>>> = Rc::default();
        let sink = out.clone();
        // Whole messages, as verification keeps them.
        let mut any = crate::verify::Credentials::default();
        any.add_password("x:x").unwrap();
        let mut engine =
            Scanner::new(ScanOptions::with_credentials(std::sync::Arc::new(any))).engine();
        engine.set_pdu_hook(Box::new(move |e: PduEvent<'_>| {
            sink.borrow_mut()
                .push((e.connection, e.direction, e.frame, e.pdu.to_vec()))
        }));
        let bytes = std::fs::read(path).unwrap();
        crate::capture::read_capture(&bytes[..], |l, d| engine.frame(l, d), |_| {}).unwrap();
        drop(engine);
        Rc::try_unwrap(out).unwrap().into_inner()
    }

    /// Feed every PDU; the number of VALID verdicts.
    unsafe fn feed_all(a: *mut smbsign_analyzer, pdus: &[Pdu]) -> usize {
        let mut valid = 0;
        for (id, dir, frame, pdu) in pdus {
            let mut ann = [smbsign_pdu_annotation::empty(); 16];
            let mut n = 0usize;
            // SAFETY: a live analyzer; buffers of the given sizes.
            let r = unsafe {
                smbsign_analyzer_feed(
                    a,
                    *id,
                    *dir as u32,
                    *frame,
                    pdu.as_ptr(),
                    pdu.len(),
                    ann.as_mut_ptr(),
                    16,
                    &mut n,
                )
            };
            assert!(
                r == SMBSIGN_OK || r == SMBSIGN_PARTIAL || r == SMBSIGN_MALFORMED,
                "{r:?}"
            );
            valid += ann[..n.min(16)]
                .iter()
                .filter(|m| m.verdict == smbsign_verdict::SMBSIGN_VERDICT_VALID)
                .count();
        }
        valid
    }

    /// Bug (issue 14): credentials added after naming a connection's
    /// endpoints but before its first PDU were ignored, and all 53 signed
    /// messages of a 3.1.1 capture came back NOT_VERIFIED.
    #[test]
    fn credentials_after_naming_endpoints_still_verify() {
        let pdus = pdus("smb311-gmac.pcap");
        let mut creds = crate::verify::Credentials::default();
        creds.add_password("LAB\\smblab:Passw0rd!").unwrap();
        let want = Scanner::new(ScanOptions::with_credentials(std::sync::Arc::new(creds)))
            .scan(std::path::Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/captures/smb311-gmac.pcap"
            )))
            .unwrap()
            .connections[0]
            .verified_messages
            .unwrap();
        assert!(want > 10);
        let secret = c"password LAB\\smblab:Passw0rd!";
        // SAFETY: live analyzers, NUL-terminated strings.
        unsafe {
            let a = smbsign_analyzer_new();
            let id = pdus[0].0;
            assert_eq!(
                smbsign_analyzer_set_endpoints(
                    a,
                    id,
                    c"10.0.0.1:1".as_ptr(),
                    c"10.0.0.2:445".as_ptr()
                ),
                SMBSIGN_OK
            );
            assert_eq!(
                smbsign_analyzer_connection_count(a),
                0,
                "naming is not a connection"
            );
            assert_eq!(
                smbsign_analyzer_add_credentials(a, secret.as_ptr()),
                SMBSIGN_OK
            );
            assert_eq!(feed_all(a, &pdus) as u64, want);
            let mut p = std::mem::zeroed::<smbsign_posture>();
            assert_eq!(smbsign_analyzer_get_posture(a, id, &mut p), SMBSIGN_OK);
            smbsign_analyzer_free(a);

            // Fed before any credentials existed: said, not silent.
            let b = smbsign_analyzer_new();
            feed_all(b, &pdus[..1]);
            assert_eq!(
                smbsign_analyzer_add_credentials(b, secret.as_ptr()),
                SMBSIGN_CREDENTIALS_TOO_LATE
            );
            smbsign_analyzer_free(b);
        }
    }
}

#[cfg(test)]
mod consistency {
    use super::*;

    /// Issue 14, gap 7: the stateless decoder and the analyzer say the same
    /// of the same message, whatever direction the caller gave: every PDU
    /// of every lab capture decoded alone, and fed alone to a fresh
    /// analyzer each way.
    #[test]
    fn decoder_and_analyzer_agree_on_every_lab_pdu() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/captures");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.contains(".pcap") {
                continue;
            }
            for (_, _, _, pdu) in super::tests::pdus(&name) {
                let mut a = [smbsign_pdu_annotation::empty(); 16];
                let mut na = 0usize;
                // SAFETY: buffers of the given sizes.
                let ra = unsafe {
                    smbsign_decode_message(pdu.as_ptr(), pdu.len(), a.as_mut_ptr(), 16, &mut na)
                };
                for direction in [0u32, 1] {
                    let mut b = [smbsign_pdu_annotation::empty(); 16];
                    let mut nb = 0usize;
                    // SAFETY: a fresh analyzer; buffers of the given sizes.
                    let rb = unsafe {
                        let an = smbsign_analyzer_new();
                        let r = smbsign_analyzer_feed(
                            an,
                            1,
                            direction,
                            0,
                            pdu.as_ptr(),
                            pdu.len(),
                            b.as_mut_ptr(),
                            16,
                            &mut nb,
                        );
                        smbsign_analyzer_free(an);
                        r
                    };
                    assert_eq!(ra, rb, "{name}");
                    assert_eq!(na, nb, "{name}");
                    for (x, y) in a[..na.min(16)].iter().zip(&b[..nb.min(16)]) {
                        // A logon message alone shows a weak response
                        // (NTLMv1, LM, clear text): the analyzer, which
                        // keeps the logon, marks it; the stateless decoder
                        // cannot.
                        use crate::posture::FindingCode::*;
                        let weak = [Ntlmv1InUse, LmResponseSent, PlaintextPassword]
                            .iter()
                            .fold(0u32, |m, c| m | 1 << (*c as u32 - 1));
                        assert_eq!(y.finding_mask & !x.finding_mask & !weak, 0, "{name}");
                        let mut y = *y;
                        y.finding_mask = x.finding_mask;
                        assert_eq!(format!("{x:?}"), format!("{y:?}"), "{name}");
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    /// Issue 14, gap 6: outputs are written only on success. A compound
    /// whose second part is cut in its header still shows its first part
    /// (PARTIAL); a lone cut header decodes nothing (MALFORMED) and leaves
    /// the caller's count as it was. The compound is made from two real
    /// requests of smb311-unsigned.pcap (the lab has no compounds of its
    /// own): the first padded to 8 bytes and its NextCommand set.
    #[test]
    fn outputs_are_written_on_ok_and_partial_only() {
        let requests: Vec<Vec<u8>> = super::tests::pdus("smb311-unsigned.pcap")
            .into_iter()
            .map(|(_, _, _, pdu)| pdu)
            .filter(|p| p.len() > 64 && p[0] == 0xFE && p[16] & 1 == 0)
            .take(2)
            .collect();
        let mut compound = requests[0].clone();
        compound.resize(compound.len().div_ceil(8) * 8, 0);
        let first = compound.len();
        compound[20..24].copy_from_slice(&(first as u32).to_le_bytes());
        compound.extend_from_slice(&requests[1]);
        let mut n = 0usize;
        let mut whole = [smbsign_pdu_annotation::empty(); 4];
        // SAFETY: buffers of the given sizes.
        let r = unsafe {
            smbsign_decode_message(
                compound.as_ptr(),
                compound.len(),
                whole.as_mut_ptr(),
                4,
                &mut n,
            )
        };
        assert_eq!((r, n), (SMBSIGN_OK, 2), "the whole compound");
        let cut = &compound[..first + 10];
        let mut ann = [smbsign_pdu_annotation::empty(); 4];
        for feed in [true, false] {
            let mut n = 777usize;
            // SAFETY: a fresh analyzer; buffers of the given sizes.
            let run = |data: &[u8], n: &mut usize, ann: &mut [smbsign_pdu_annotation; 4]| unsafe {
                if feed {
                    let a = smbsign_analyzer_new();
                    let r = smbsign_analyzer_feed(
                        a,
                        1,
                        0,
                        5,
                        data.as_ptr(),
                        data.len(),
                        ann.as_mut_ptr(),
                        4,
                        n,
                    );
                    smbsign_analyzer_free(a);
                    r
                } else {
                    smbsign_decode_message(data.as_ptr(), data.len(), ann.as_mut_ptr(), 4, n)
                }
            };
            assert_eq!(run(cut, &mut n, &mut ann), SMBSIGN_PARTIAL);
            assert_eq!(n, 1, "the compound's first part");
            let mut n = 777usize;
            assert_eq!(run(&compound[..30], &mut n, &mut ann), SMBSIGN_MALFORMED);
            assert_eq!(n, 777, "nothing written on MALFORMED");
            assert_eq!(
                run(b"\x00\x01not smb at all", &mut n, &mut ann),
                SMBSIGN_NOT_SMB
            );
            assert_eq!(n, 777, "nothing written on NOT_SMB");
        }
    }
}
