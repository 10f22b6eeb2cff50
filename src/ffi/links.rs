//! Relay links for PDU-by-PDU hosts: as AUTHENTICATE messages are fed, the
//! analyzer indexes their proofs; the same proof on a connection to
//! another server links the two frames (the plugin's
//! `smbsign.relay.peer_frame`), and a snapshot of either connection is
//! correlated with the other (its ntlm-relay and MITM findings).

#![allow(clippy::missing_safety_doc)]

use super::*;
use crate::conn::Connection;
use std::collections::{HashMap, VecDeque};

/// Proofs remembered (the oldest are forgotten beyond it).
pub const MAX_LINKED_PROOFS: usize = 65_536;

/// One AUTHENTICATE as the index keeps it.
#[derive(Debug, Clone, Copy)]
struct Sighting {
    conn: u64,
    frame: u64,
}

#[derive(Debug, Default)]
pub(super) struct Links {
    proofs: HashMap<Vec<u8>, Sighting>,
    order: VecDeque<Vec<u8>>,
    /// AUTHENTICATE frame -> the other leg's connection and frame.
    peers: HashMap<u64, Sighting>,
    /// Connection -> the connections it is linked with.
    partners: HashMap<u64, Vec<u64>>,
}

impl Links {
    /// Index the AUTHENTICATEs `conn` (id `id`, server `server`) received
    /// in `frame`; true when one links to another connection.
    pub fn on_frame(
        &mut self,
        id: u64,
        frame: u64,
        conn: &Connection,
        server_of: impl Fn(u64) -> Option<String>,
    ) -> bool {
        let mut linked = false;
        let this_server = server_of(id).unwrap_or_default();
        for logon in &conn.ntlm {
            let Some(auth) = logon
                .auth
                .as_ref()
                .filter(|a| a.frame == frame && !a.anonymous)
            else {
                continue;
            };
            if auth.proof.len() < 16 || auth.proof.iter().all(|b| *b == 0) {
                continue;
            }
            let here = Sighting { conn: id, frame };
            match self.proofs.get(&auth.proof).copied() {
                Some(there) if there.conn != id => {
                    let other = server_of(there.conn).unwrap_or_default();
                    if this_server.is_empty() || other.is_empty() || other == this_server {
                        continue;
                    }
                    self.peers.insert(frame, there);
                    self.peers.insert(there.frame, here);
                    for (a, b) in [(id, there.conn), (there.conn, id)] {
                        let list = self.partners.entry(a).or_default();
                        if !list.contains(&b) && list.len() < 16 {
                            list.push(b);
                        }
                    }
                    linked = true;
                }
                Some(_) => {}
                None => {
                    if self.order.len() >= MAX_LINKED_PROOFS
                        && let Some(old) = self.order.pop_front()
                        && let Some(gone) = self.proofs.remove(&old)
                    {
                        self.peers.remove(&gone.frame);
                    }
                    self.proofs.insert(auth.proof.clone(), here);
                    self.order.push_back(auth.proof.clone());
                }
            }
        }
        linked
    }

    pub fn peer_frame(&self, frame: u64) -> Option<u64> {
        self.peers.get(&frame).map(|s| s.frame)
    }

    pub fn partners(&self, id: u64) -> &[u64] {
        self.partners.get(&id).map_or(&[], Vec::as_slice)
    }
}

/// The frame on the other leg of a relay that frame `frame` (an
/// AUTHENTICATE) belongs to: `*peer_frame` receives it. Returns SMBSIGN_OK,
/// SMBSIGN_NOT_FOUND (no link known yet: the other leg may come later in
/// the capture) or SMBSIGN_NULL_PARAMETER. Thread-safety: as for the
/// analyzer (read-only).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_analyzer_relay_peer(
    analyzer: *const smbsign_analyzer,
    frame: u64,
    peer_frame: *mut u64,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if analyzer.is_null() || peer_frame.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: non-NULL, made by smbsign_analyzer_new.
        let a = unsafe { &*analyzer };
        match a.links.peer_frame(frame) {
            Some(f) => {
                // SAFETY: non-NULL out-pointer (caller's promise).
                unsafe { peer_frame.write(f) };
                SMBSIGN_OK
            }
            None => SMBSIGN_NOT_FOUND,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// attacks/relay-auto.pcap fed PDU by PDU, as the plugin does: the two
    /// AUTHENTICATEs link to each other, the relayed frame's annotation
    /// carries ntlm-relay, and either connection's snapshot has the finding
    /// with its peer.
    #[test]
    fn relay_legs_link_in_the_analyzer() {
        let pdus = super::super::analyzer::tests::pdus("attacks/relay-auto.pcap");
        // SAFETY: a fresh analyzer, buffers of the given sizes.
        unsafe {
            let a = smbsign_analyzer_new();
            let mut relay_marked = Vec::new();
            for (id, dir, frame, pdu) in &pdus {
                let name = format!("10.0.0.{id}:445");
                let _ = smbsign_analyzer_set_endpoints(
                    a,
                    *id,
                    c"client".as_ptr(),
                    std::ffi::CString::new(name).unwrap().as_ptr(),
                );
                let mut ann = [smbsign_pdu_annotation::empty(); 8];
                let mut n = 0usize;
                let r = smbsign_analyzer_feed(
                    a,
                    *id,
                    *dir as u32,
                    *frame,
                    pdu.as_ptr(),
                    pdu.len(),
                    ann.as_mut_ptr(),
                    8,
                    &mut n,
                );
                assert!(r == SMBSIGN_OK || r == SMBSIGN_PARTIAL);
                let bit = 1 << (smbsign_finding_code::SMBSIGN_FINDING_NTLM_RELAY as u32 - 1);
                if ann[..n].iter().any(|m| m.finding_mask & bit != 0) {
                    relay_marked.push(*frame);
                }
            }
            assert_eq!(
                relay_marked.len(),
                1,
                "the second AUTHENTICATE: {relay_marked:?}"
            );
            let relayed = relay_marked[0];
            let mut peer = 0u64;
            assert_eq!(
                smbsign_analyzer_relay_peer(a, relayed, &mut peer),
                SMBSIGN_OK
            );
            let mut back = 0u64;
            assert_eq!(smbsign_analyzer_relay_peer(a, peer, &mut back), SMBSIGN_OK);
            assert_eq!(back, relayed);
            assert_eq!(
                smbsign_analyzer_relay_peer(a, 1, &mut back),
                SMBSIGN_NOT_FOUND
            );
            assert_eq!(
                smbsign_analyzer_relay_peer(a, 1, std::ptr::null_mut()),
                SMBSIGN_NULL_PARAMETER
            );
            let mut ids = [0u64; 4];
            let mut count = 0usize;
            smbsign_analyzer_connection_ids(a, ids.as_mut_ptr(), 4, &mut count);
            let mut with_relay = 0;
            for id in &ids[..count] {
                let mut c = std::ptr::null_mut();
                assert_eq!(smbsign_analyzer_connection(a, *id, &mut c), SMBSIGN_OK);
                let mut info = std::mem::zeroed::<smbsign_connection_info>();
                smbsign_connection_get_info(c, &mut info);
                for k in 0..info.finding_count {
                    let mut f = std::mem::MaybeUninit::<smbsign_finding>::uninit();
                    assert_eq!(
                        smbsign_connection_get_finding(c, k, f.as_mut_ptr()),
                        SMBSIGN_OK
                    );
                    let f = f.assume_init();
                    // The fixes one by one, and the message without them.
                    let fixes = smbsign_connection_finding_fix_count(c, k);
                    let mut x = smbsign_finding_fix {
                        side: smbsign_fix_side::SMBSIGN_FIX_CLIENT,
                        setting: std::ptr::null(),
                    };
                    for j in 0..fixes {
                        assert_eq!(
                            smbsign_connection_get_finding_fix(c, k, j, &mut x),
                            SMBSIGN_OK
                        );
                        let setting = std::ffi::CStr::from_ptr(x.setting).to_str().unwrap();
                        assert!(
                            std::ffi::CStr::from_ptr(f.message)
                                .to_str()
                                .unwrap()
                                .contains(setting)
                        );
                        // Each setting is in the sentence, under its label.
                        let parts = smbsign_connection_finding_fix_part_count(c, k, j);
                        assert!(parts >= 2, "{setting}");
                        let mut p = smbsign_fix_part {
                            kind: smbsign_setting_kind::SMBSIGN_SETTING_NOTE,
                            label: std::ptr::null(),
                            text: std::ptr::null(),
                        };
                        for i in 0..parts {
                            assert_eq!(
                                smbsign_connection_get_finding_fix_part(c, k, j, i, &mut p),
                                SMBSIGN_OK
                            );
                            let label = std::ffi::CStr::from_ptr(p.label).to_str().unwrap();
                            let text = std::ffi::CStr::from_ptr(p.text).to_str().unwrap();
                            assert!(setting.contains(&format!("{label}: {text}")), "{setting}");
                        }
                        assert_eq!(
                            smbsign_connection_get_finding_fix_part(c, k, j, parts, &mut p),
                            SMBSIGN_OUT_OF_RANGE
                        );
                    }
                    assert_eq!(
                        smbsign_connection_get_finding_fix(c, k, fixes, &mut x),
                        SMBSIGN_OUT_OF_RANGE
                    );
                    let seen = smbsign_connection_finding_observation(c, k);
                    let seen = std::ffi::CStr::from_ptr(seen).to_str().unwrap();
                    assert!(!seen.is_empty() && !seen.contains(" Fix: "), "{seen}");
                    if f.code == smbsign_finding_code::SMBSIGN_FINDING_NTLM_RELAY {
                        assert!(fixes >= 1, "a relay names the setting that stops it");
                        let mut p = std::mem::zeroed::<smbsign_finding_peer>();
                        assert_eq!(
                            smbsign_connection_get_finding_peer(c, k, &mut p),
                            SMBSIGN_OK
                        );
                        assert!(p.has_frame && (p.frame == peer || p.frame == relayed));
                        assert!(smbsign_connection_finding_evidence_count(c, k) >= 3);
                        let mut e = std::mem::zeroed::<smbsign_finding_evidence>();
                        assert_eq!(
                            smbsign_connection_get_finding_evidence(c, k, 0, &mut e),
                            SMBSIGN_OK
                        );
                        assert_eq!(std::ffi::CStr::from_ptr(e.field).to_str().unwrap(), "user");
                        assert_eq!(
                            smbsign_connection_get_finding_evidence(c, k, 99, &mut e),
                            SMBSIGN_OUT_OF_RANGE
                        );
                        with_relay += 1;
                    }
                }
                smbsign_connection_free(c);
            }
            assert_eq!(with_relay, 2, "both legs' snapshots");
            smbsign_analyzer_free(a);
        }
    }
}
