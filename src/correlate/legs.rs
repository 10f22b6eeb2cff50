//! A leg: what correlation keeps of one connection's report (its
//! endpoints, its NTLM logons, both sides' NEGOTIATE), small enough to keep
//! many thousands.

use crate::conn::{ClientOffer, NtlmLogon, ServerAnswer};
use crate::posture::{ConnectionReport, Peer, spn_host};
use crate::wire::NtStatus;
use crate::wire::{Dialect, SigningSetting};
use std::net::IpAddr;

pub type LegId = u64;

/// One NTLM logon of a leg, compact: a run keeps thousands, so it holds
/// one string and plain values (what judging a pair needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegLogon {
    user: String,
    /// The first 16 bytes of the NTProofStr (NTLMv2) or NT response
    /// (NTLMv1): random, so they identify it.
    proof: Option<[u8; 16]>,
    challenge: Option<[u8; 8]>,
    auth_frame: Option<u64>,
    challenge_frame: Option<u64>,
    /// MsvAvTargetName names its own server's address (the client
    /// addressed this server: a victim addresses the relay).
    pub aims_at_own_server: bool,
    succeeded: bool,
    status: Option<NtStatus>,
}

impl LegLogon {
    fn of(l: &NtlmLogon, server: Option<IpAddr>) -> Self {
        let auth = l.auth.as_ref();
        let target_ip = auth
            .and_then(|a| a.target_name.as_deref())
            .and_then(|t| spn_host(t).parse::<IpAddr>().ok());
        LegLogon {
            user: auth.map(|a| a.user.clone()).unwrap_or_default(),
            proof: auth
                .map(|a| a.proof.as_slice())
                .filter(|p| p.len() >= 16 && p.iter().any(|b| *b != 0))
                .and_then(|p| p[..16].try_into().ok()),
            challenge: l.challenge.as_ref().map(|c| c.server_challenge),
            auth_frame: auth.map(|a| a.frame),
            challenge_frame: l.challenge.as_ref().map(|c| c.frame),
            aims_at_own_server: target_ip.is_some() && target_ip == server,
            succeeded: l.succeeded(),
            status: l.status,
        }
    }
    pub fn user(&self) -> &str {
        &self.user
    }
    pub fn proof(&self) -> Option<&[u8]> {
        self.proof.as_ref().map(|p| &p[..])
    }
    pub fn challenge(&self) -> Option<[u8; 8]> {
        self.challenge
    }
    pub fn auth_frame(&self) -> Option<u64> {
        self.auth_frame
    }
    pub fn challenge_frame(&self) -> Option<u64> {
        self.challenge_frame
    }
    pub fn succeeded(&self) -> bool {
        self.succeeded
    }
    pub fn status(&self) -> Option<String> {
        self.status.map(|s| s.to_string())
    }
}

/// One connection as correlation sees it.
#[derive(Debug, Clone)]
pub struct Leg {
    pub id: LegId,
    pub file: Option<String>,
    pub client: String,
    pub server: String,
    /// The endpoints' addresses, read once.
    client_addr: Option<IpAddr>,
    server_addr: Option<IpAddr>,
    pub first_frame: Option<u64>,
    pub dialect: Option<Dialect>,
    pub server_signing: Option<SigningSetting>,
    pub client_offer: ClientOffer,
    pub server_answer: ServerAnswer,
    pub logons: Vec<LegLogon>,
}

impl Leg {
    /// Worth a leg at all (checked before building one): an NTLM logon
    /// with a proof or a challenge, or SMB1 answered to an SMB2 offer.
    pub fn wanted(r: &ConnectionReport) -> bool {
        let logon = r
            .facts
            .ntlm
            .iter()
            .any(|l| l.challenge.is_some() || l.auth.as_ref().is_some_and(|a| !a.anonymous));
        logon
            || (r.dialect.as_ref().is_some_and(Dialect::is_smb1)
                && !smb2_strings(&r.facts.client).is_empty())
    }

    /// The leg of `r`; its facts move into the leg (the report keeps
    /// everything else).
    pub fn of(id: LegId, r: &mut ConnectionReport) -> Self {
        let facts = std::mem::take(&mut r.facts);
        let server = r.server_ip;
        let logons = facts
            .ntlm
            .iter()
            .filter(|l| !l.auth.as_ref().is_some_and(|a| a.anonymous))
            .map(|l| LegLogon::of(l, server))
            .filter(|l| l.proof.is_some() || l.challenge.is_some())
            .collect();
        Leg {
            id,
            file: r.file.clone(),
            client: r.client.clone(),
            server: r.server.clone(),
            client_addr: r.client_ip,
            server_addr: server,
            first_frame: r.first_frame,
            dialect: r.dialect.clone(),
            server_signing: r.server_signing,
            client_offer: facts.client,
            server_answer: facts.server,
            logons,
        }
    }

    /// Held for a partner: it carries a logon, or an SMB1 answer to a
    /// client that offered SMB2 (judged against the run's servers).
    pub fn worth_holding(&self) -> bool {
        !self.logons.is_empty() || self.offered_smb2_got_smb1()
    }

    pub fn offered_smb2_got_smb1(&self) -> bool {
        self.dialect.as_ref().is_some_and(Dialect::is_smb1)
            && !smb2_strings(&self.client_offer).is_empty()
    }

    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client_addr
    }
    pub fn server_ip(&self) -> Option<IpAddr> {
        self.server_addr
    }

    /// A reference to this leg from a finding on the other, at `frame`.
    pub fn peer(&self, frame: Option<u64>, role: &'static str) -> Peer {
        Peer {
            file: self.file.clone(),
            client: self.client.clone(),
            server: self.server.clone(),
            first_frame: self.first_frame,
            frame,
            role,
        }
    }
}

/// The SMB2 dialect strings ("SMB 2.002", "SMB 2.???") of an SMB1
/// multi-protocol NEGOTIATE.
pub fn smb2_strings(offer: &ClientOffer) -> Vec<&str> {
    offer
        .smb1_dialects
        .iter()
        .map(String::as_str)
        .filter(|d| d.starts_with("SMB 2."))
        .collect()
}

/// The keys correlation links connections by (each named NTLM logon's
/// proof and server challenge, as `Leg::of` keeps and `Correlator` indexes
/// them), as text, for a report not yet correlated: a join on
/// them across many captures (the Spark example) finds the connections
/// that may be legs of one relay, to judge together.
pub fn link_keys(r: &ConnectionReport) -> Vec<String> {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut keys = Vec::new();
    let named = r.facts.ntlm.iter();
    for l in named.filter(|l| !l.auth.as_ref().is_some_and(|a| a.anonymous)) {
        let logon = LegLogon::of(l, None);
        if let Some(p) = logon.proof() {
            keys.push(format!("proof:{}", hex(p)));
        }
        if let Some(c) = logon.challenge() {
            keys.push(format!("challenge:{}", hex(&c)));
        }
    }
    keys.sort();
    keys.dedup();
    keys
}
