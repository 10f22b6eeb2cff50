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

pub use legs::{Leg, LegId};

use crate::posture::ConnectionReport;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;

/// Logons (AUTHENTICATE proofs and server challenges) remembered.
pub const MAX_INDEXED: usize = 65_536;
/// Reports that carry a logon, held until the end of the run so that a
/// partner found later (in a later file) can still mark them.
pub const MAX_HELD: usize = 4_096;
/// Servers remembered as having negotiated SMB2.
pub const MAX_SMB2_SERVERS: usize = 65_536;

/// What the index points at: a leg, and which of its logons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    leg: LegId,
    logon: usize,
}

/// Correlates the reports of one run.
#[derive(Debug, Default)]
pub struct Correlator {
    legs: HashMap<LegId, Leg>,
    held: VecDeque<(LegId, ConnectionReport)>,
    proofs: HashMap<Vec<u8>, Seen>,
    challenges: HashMap<[u8; 8], Seen>,
    order: VecDeque<Key>,
    smb2_servers: HashSet<IpAddr>,
    next: LegId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Proof(Vec<u8>),
    Challenge([u8; 8]),
}

impl Correlator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Take one finished report. Reports without an NTLM logon or an SMB1
    /// downgrade to judge go straight to `emit`; the others are held
    /// until `finish` (or until `MAX_HELD` are waiting).
    pub fn push(&mut self, report: ConnectionReport, emit: &mut impl FnMut(ConnectionReport)) {
        if let Some(ip) = crate::posture::server_ip(&report.server)
            && report.is_smb2()
            && self.smb2_servers.len() < MAX_SMB2_SERVERS
        {
            self.smb2_servers.insert(ip);
        }
        let leg = Leg::of(self.next, &report);
        if !leg.worth_holding() {
            emit(report);
            return;
        }
        self.next += 1;
        let id = leg.id;
        let partners = self.index(&leg);
        self.legs.insert(id, leg);
        self.held.push_back((id, report));
        for (mine, theirs) in partners {
            self.link(mine, theirs);
        }
        while self.held.len() > MAX_HELD {
            if let Some((id, r)) = self.held.pop_front() {
                self.legs.remove(&id);
                emit(r);
            }
        }
    }

    /// End of the run: judge what needs every report (downgrades against
    /// servers that spoke SMB2 elsewhere) and hand on the held reports in
    /// the order they came.
    pub fn finish(mut self, emit: &mut impl FnMut(ConnectionReport)) {
        for (id, report) in &mut self.held {
            if let Some(leg) = self.legs.get(id) {
                rules::downgrade_against_servers(leg, &self.smb2_servers, report);
            }
        }
        for (_, mut r) in self.held.drain(..) {
            crate::posture::sort_findings(&mut r.findings);
            emit(r);
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
            let mut keys = Vec::new();
            if let Some(p) = &logon.proof {
                keys.push(Key::Proof(p.clone()));
            }
            if let Some(c) = logon.challenge {
                keys.push(Key::Challenge(c));
            }
            for key in keys {
                let map_hit = match &key {
                    Key::Proof(p) => self.proofs.get(p).copied(),
                    Key::Challenge(c) => self.challenges.get(c).copied(),
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
            match old {
                Key::Proof(p) => self.proofs.remove(&p),
                Key::Challenge(c) => self.challenges.remove(&c),
            };
        }
        match &key {
            Key::Proof(p) => self.proofs.insert(p.clone(), seen),
            Key::Challenge(c) => self.challenges.insert(*c, seen),
        };
        self.order.push_back(key);
    }

    /// Two legs share a logon: judge the pair and mark both reports.
    fn link(&mut self, mine: Seen, theirs: Seen) {
        let (Some(a), Some(b)) = (self.legs.get(&mine.leg), self.legs.get(&theirs.leg)) else {
            return;
        };
        let judged = rules::judge_pair(a, mine.logon, b, theirs.logon);
        for (id, findings) in [(a.id, judged.0), (b.id, judged.1)] {
            if let Some((_, r)) = self.held.iter_mut().find(|(k, _)| *k == id) {
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
