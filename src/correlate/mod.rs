//! Cross-connection correlation: the same NTLM logon on two connections.
//! Fed finished connection reports from any number of captures, it finds
//! relays (one AUTHENTICATE, or one server challenge, at two servers), the
//! two legs of a man in the middle whose NEGOTIATE differs, and SMB1
//! downgrades, and adds those findings to both legs' reports.
//!
//! Bounded: at most `MAX_INDEXED` logons are indexed (the oldest are
//! forgotten) and at most `MAX_HELD` reports wait for a partner; beyond
//! that the oldest is handed on with what it has.
#![forbid(unsafe_code)]

mod legs;
mod rules;
#[cfg(test)]
mod tests;

pub use legs::{Leg, LegId, link_keys};

use crate::posture::ConnectionReport;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;

/// Logons (AUTHENTICATE proofs and server challenges) remembered.
pub const MAX_INDEXED: usize = 65_536;
/// Reports that carry a logon, held until the end of the run so that a
/// partner found later (in a later file) can still mark them.
pub const MAX_HELD: usize = 4_096;
/// What a streaming scan of one capture holds: a relay's two legs end
/// close together, so a report waits while this many later reports with a
/// logon come; holding thousands cost about 15% of scan time (their
/// memory) on the benchmark. A partner that comes later still gets its
/// finding, naming this leg; only this leg's own report goes out without.
pub const ONE_CAPTURE_HOLD: usize = 256;
/// Servers remembered as having negotiated SMB2.
pub const MAX_SMB2_SERVERS: usize = 65_536;
/// Other legs one report is linked to (a logon replayed to many servers
/// names the first few; a hostile capture cannot grow a report without
/// bound).
pub const MAX_PEERS: usize = 8;

/// What the index points at: a leg, and which of its logons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    leg: LegId,
    logon: usize,
}

/// Correlates the reports of one run.
#[derive(Debug, Default)]
pub struct Correlator {
    legs: Map<LegId, Box<Leg>>,
    /// Held reports, and the order they came in.
    held: Map<LegId, Box<ConnectionReport>>,
    arrival: VecDeque<LegId>,
    /// Links made per leg (at most MAX_PEERS are judged).
    links: Map<LegId, usize>,
    /// Index keys that point at each leg: a leg whose report went out
    /// stays while a key can still reach it, and goes with its last key.
    keyed: Map<LegId, u32>,
    /// Keyed by the proof's first 16 bytes (random for NTLMv1 and v2
    /// alike) and the 8-byte challenge: no allocation per key.
    proofs: Map<u128, Seen>,
    challenges: Map<u64, Seen>,
    order: VecDeque<Key>,
    smb2_servers: HashSet<IpAddr, ahash::RandomState>,
    next: LegId,
    /// Reports held at most (MAX_HELD unless told).
    hold: usize,
}

type Map<K, V> = HashMap<K, V, ahash::RandomState>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Proof(u128),
    Challenge(u64),
}

fn proof_key(p: &[u8]) -> u128 {
    let mut k = [0u8; 16];
    k.copy_from_slice(&p[..16]);
    u128::from_le_bytes(k)
}

impl Correlator {
    /// A correlator that holds up to MAX_HELD reports.
    pub fn new() -> Self {
        Self::with_hold(MAX_HELD)
    }

    /// A correlator that holds up to `hold` reports (at most MAX_HELD).
    pub fn with_hold(hold: usize) -> Self {
        Correlator {
            hold: hold.min(MAX_HELD),
            ..Self::default()
        }
    }

    /// Take one finished report. Reports without an NTLM logon or an SMB1
    /// downgrade to judge go straight to `emit`; the others are held
    /// until `finish` (or until `MAX_HELD` are waiting).
    pub fn push(&mut self, mut report: ConnectionReport, emit: &mut impl FnMut(ConnectionReport)) {
        if report.is_smb2()
            && self.smb2_servers.len() < MAX_SMB2_SERVERS
            && let Some(ip) = report.server_ip
        {
            self.smb2_servers.insert(ip);
        }
        if !Leg::wanted(&report) {
            emit(report);
            return;
        }
        let leg = Leg::of(self.next, &mut report);
        if !leg.worth_holding() {
            emit(report);
            return;
        }
        self.next += 1;
        let id = leg.id;
        let partners = self.index(&leg);
        self.legs.insert(id, Box::new(leg));
        self.held.insert(id, Box::new(report));
        self.arrival.push_back(id);
        for (mine, theirs) in partners {
            self.link(mine, theirs);
        }
        while self.held.len() > self.hold {
            let Some(id) = self.arrival.pop_front() else {
                break;
            };
            if !self.keyed.contains_key(&id) {
                self.forget_leg(id);
            }
            if let Some(r) = self.held.remove(&id) {
                emit(*r);
            }
        }
    }

    /// End of the run: judge what needs every report (downgrades against
    /// servers that spoke SMB2 elsewhere) and hand on the held reports in
    /// the order they came.
    pub fn finish(mut self, emit: &mut impl FnMut(ConnectionReport)) {
        for id in std::mem::take(&mut self.arrival) {
            let Some(mut r) = self.held.remove(&id) else {
                continue;
            };
            if let Some(leg) = self.legs.get(&id) {
                rules::downgrade_against_servers(leg, &self.smb2_servers, &mut r);
            }
            // Only reports that gained findings need their order again.
            if self.links.contains_key(&id) || leg_downgraded(&r) {
                crate::posture::sort_findings(&mut r.findings);
            }
            emit(*r);
        }
    }

    /// Index the leg's logons; the earlier legs that share one.
    fn index(&mut self, leg: &Leg) -> Vec<(Seen, Seen)> {
        let mut partners = Vec::new();
        for (k, logon) in leg.logons.iter().enumerate() {
            let mine = Seen {
                leg: leg.id,
                logon: k,
            };
            let keys = [
                logon.proof().map(|p| Key::Proof(proof_key(p))),
                logon
                    .challenge()
                    .map(|c| Key::Challenge(u64::from_le_bytes(c))),
            ];
            for key in keys.into_iter().flatten() {
                let map_hit = match key {
                    Key::Proof(p) => self.proofs.get(&p).copied(),
                    Key::Challenge(c) => self.challenges.get(&c).copied(),
                };
                match map_hit {
                    Some(theirs) if theirs.leg != leg.id => {
                        if !partners
                            .iter()
                            .any(|(_, t): &(Seen, Seen)| t.leg == theirs.leg)
                        {
                            partners.push((mine, theirs));
                        }
                    }
                    Some(_) => {}
                    None => self.remember(key, mine),
                }
            }
        }
        partners
    }

    fn remember(&mut self, key: Key, seen: Seen) {
        if self.order.len() >= MAX_INDEXED
            && let Some(old) = self.order.pop_front()
        {
            let gone = match old {
                Key::Proof(p) => self.proofs.remove(&p),
                Key::Challenge(c) => self.challenges.remove(&c),
            };
            if let Some(gone) = gone {
                self.unkey(gone.leg);
            }
        }
        match key {
            Key::Proof(p) => self.proofs.insert(p, seen),
            Key::Challenge(c) => self.challenges.insert(c, seen),
        };
        *self.keyed.entry(seen.leg).or_default() += 1;
        self.order.push_back(key);
    }

    /// One index key of `leg` is gone; with the last, and its report out,
    /// the leg goes too.
    fn unkey(&mut self, leg: LegId) {
        let left = self.keyed.get_mut(&leg).map(|n| {
            *n -= 1;
            *n
        });
        if left == Some(0) {
            self.keyed.remove(&leg);
            if !self.held.contains_key(&leg) {
                self.forget_leg(leg);
            }
        }
    }

    fn forget_leg(&mut self, leg: LegId) {
        self.legs.remove(&leg);
        self.links.remove(&leg);
    }

    /// Two legs share a logon: judge the pair and mark both reports.
    fn link(&mut self, mine: Seen, theirs: Seen) {
        let full = |l: &Map<LegId, usize>, id| l.get(&id).copied().unwrap_or(0) >= MAX_PEERS;
        if full(&self.links, mine.leg) || full(&self.links, theirs.leg) {
            return;
        }
        let (Some(a), Some(b)) = (self.legs.get(&mine.leg), self.legs.get(&theirs.leg)) else {
            return;
        };
        let judged = rules::judge_pair(a, mine.logon, b, theirs.logon);
        for (id, findings) in [(a.id, judged.0), (b.id, judged.1)] {
            *self.links.entry(id).or_default() += 1;
            if let Some(r) = self.held.get_mut(&id) {
                for f in findings {
                    if !r
                        .findings
                        .iter()
                        .any(|x| x.code == f.code && x.peer == f.peer)
                    {
                        r.findings.push(f);
                    }
                }
            }
        }
    }
}

fn leg_downgraded(r: &ConnectionReport) -> bool {
    r.findings
        .iter()
        .any(|f| f.code == crate::posture::FindingCode::DowngradedToSmb1)
}

/// Correlate one capture's reports (in place, same order).
pub fn correlate_all(reports: Vec<ConnectionReport>) -> Vec<ConnectionReport> {
    let mut out = Vec::with_capacity(reports.len());
    let mut c = Correlator::new();
    for r in reports {
        c.push(r, &mut |r| out.push(r));
    }
    c.finish(&mut |r| out.push(r));
    out.sort_by_key(|r| r.first_frame.unwrap_or(u64::MAX));
    out
}
