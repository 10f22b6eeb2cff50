//! The evidence of a finding for C: the values compared, and the other
//! connection of a cross-connection finding (a relay's other leg).

#![allow(clippy::missing_safety_doc)]

use super::connection::smbsign_connection;
use super::*;
use crate::posture::Finding;

/// The role of the other connection a finding links to.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum smbsign_peer_role {
    /// No other connection.
    SMBSIGN_PEER_NONE = 0,
    /// The victim's leg (client to relay).
    SMBSIGN_PEER_VICTIM = 1,
    /// The relayed leg (relay to target).
    SMBSIGN_PEER_RELAYED = 2,
    /// A man in the middle's leg to the client.
    SMBSIGN_PEER_CLIENT_SIDE = 3,
    /// A man in the middle's leg to the server.
    SMBSIGN_PEER_SERVER_SIDE = 4,
    /// The other leg, when which is which cannot be told.
    SMBSIGN_PEER_OTHER_LEG = 5,
}

/// The other connection of a finding (0.3.0). Strings are owned by the
/// `smbsign_connection`; `file` is NULL when unnamed. `role` is
/// SMBSIGN_PEER_NONE (and the rest zero) for a finding of one connection.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct smbsign_finding_peer {
    pub role: smbsign_peer_role,
    pub file: *const c_char,
    pub client: *const c_char,
    pub server: *const c_char,
    pub has_first_frame: bool,
    pub first_frame: u64,
    /// The frame on the other connection that matches (its AUTHENTICATE).
    pub has_frame: bool,
    pub frame: u64,
}

/// One compared value of a finding (0.3.0); strings owned by the
/// `smbsign_connection`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct smbsign_finding_evidence {
    pub field: *const c_char,
    /// What this connection showed.
    pub seen: *const c_char,
    /// What it was compared with.
    pub expected: *const c_char,
}

/// What a connection snapshot keeps per finding beyond `smbsign_finding`.
pub(super) struct Links {
    pub peers: Vec<smbsign_finding_peer>,
    pub evidence: Vec<Vec<smbsign_finding_evidence>>,
    pub fixes: Vec<Vec<super::fixes::smbsign_finding_fix>>,
    pub fix_parts: Vec<Vec<Vec<super::fixes::smbsign_fix_part>>>,
    /// The message without its fixes.
    pub observations: Vec<*const c_char>,
}

fn role_of(role: &str) -> smbsign_peer_role {
    use smbsign_peer_role::*;
    match role {
        "victim" => SMBSIGN_PEER_VICTIM,
        "relayed" => SMBSIGN_PEER_RELAYED,
        "client-side" => SMBSIGN_PEER_CLIENT_SIDE,
        "server-side" => SMBSIGN_PEER_SERVER_SIDE,
        _ => SMBSIGN_PEER_OTHER_LEG,
    }
}

/// The C peer, evidence, fixes and observation of each finding; strings
/// go through `keep`.
pub(super) fn finding_links(
    findings: &[Finding],
    keep: &mut impl FnMut(&str) -> *const c_char,
) -> Links {
    let peers = findings
        .iter()
        .map(|f| match &f.peer {
            None => smbsign_finding_peer {
                role: smbsign_peer_role::SMBSIGN_PEER_NONE,
                file: std::ptr::null(),
                client: std::ptr::null(),
                server: std::ptr::null(),
                has_first_frame: false,
                first_frame: 0,
                has_frame: false,
                frame: 0,
            },
            Some(p) => smbsign_finding_peer {
                role: role_of(p.role),
                file: p.file.as_deref().map_or(std::ptr::null(), &mut *keep),
                client: keep(&p.client),
                server: keep(&p.server),
                has_first_frame: p.first_frame.is_some(),
                first_frame: p.first_frame.unwrap_or(0),
                has_frame: p.frame.is_some(),
                frame: p.frame.unwrap_or(0),
            },
        })
        .collect();
    let evidence = findings
        .iter()
        .map(|f| {
            f.evidence
                .iter()
                .map(|e| smbsign_finding_evidence {
                    field: keep(&e.field),
                    seen: keep(&e.seen),
                    expected: keep(&e.expected),
                })
                .collect()
        })
        .collect();
    let (fixes, fix_parts) = super::fixes::finding_fixes(findings, keep);
    let observations = findings.iter().map(|f| keep(&f.observation())).collect();
    Links {
        peers,
        evidence,
        fixes,
        fix_parts,
        observations,
    }
}

/// Copy the other connection of finding `index` into `*out` (role
/// SMBSIGN_PEER_NONE when there is none). Returns SMBSIGN_OUT_OF_RANGE past
/// the end, SMBSIGN_NULL_PARAMETER for NULL. Thread-safety: a connection
/// is immutable; any thread may read it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_get_finding_peer(
    conn: *const smbsign_connection,
    index: usize,
    out: *mut smbsign_finding_peer,
) -> smbsign_result {
    // SAFETY: the pointers are checked there.
    boundary(SMBSIGN_PANIC, || unsafe {
        super::connection::copy_item(conn, index, out, |c| &c.peers)
    })
}

/// The number of compared values of finding `index` (0 for NULL or an
/// index past the end).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_finding_evidence_count(
    conn: *const smbsign_connection,
    index: usize,
) -> usize {
    boundary(0, || {
        // SAFETY: NULL or a live smbsign_connection (caller's promise).
        unsafe { conn.as_ref() }
            .and_then(|c| c.evidence.get(index))
            .map_or(0, Vec::len)
    })
}

/// Copy compared value `k` of finding `index` into `*out`. Returns
/// SMBSIGN_OUT_OF_RANGE when either index is past its end.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_get_finding_evidence(
    conn: *const smbsign_connection,
    index: usize,
    k: usize,
    out: *mut smbsign_finding_evidence,
) -> smbsign_result {
    // SAFETY: the pointers are checked there.
    boundary(SMBSIGN_PANIC, || unsafe {
        super::connection::copy_item(conn, k, out, |c| {
            c.evidence.get(index).map_or(&[][..], Vec::as_slice)
        })
    })
}

/// What finding `index` saw: its message without the "Fix: " part (the
/// fixes are listed by `smbsign_connection_get_finding_fix`), owned by
/// `conn`; NULL for NULL or an index past the end. Added after 0.3.0.
/// Thread-safety: a connection is immutable; any thread may read it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_finding_observation(
    conn: *const smbsign_connection,
    index: usize,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or a live smbsign_connection (caller's promise).
        unsafe { conn.as_ref() }
            .and_then(|c| c.observations.get(index).copied())
            .unwrap_or(std::ptr::null())
    })
}
