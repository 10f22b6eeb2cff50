//! A leg: what correlation keeps of one connection's report (its
//! endpoints, its NTLM logons, both sides' NEGOTIATE), small enough to keep
//! many thousands.

use crate::conn::{ClientOffer, MicField, ServerAnswer};
use crate::posture::{ConnectionReport, Peer, server_ip};
use crate::wire::{Dialect, SigningSetting};
use std::net::IpAddr;

pub type LegId = u64;

/// One NTLM logon of a leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegLogon {
    pub user: String,
    /// NTProofStr (NTLMv2) or NT response (NTLMv1).
    pub proof: Option<Vec<u8>>,
    pub challenge: Option<[u8; 8]>,
    pub auth_frame: Option<u64>,
    pub challenge_frame: Option<u64>,
    pub target_name: Option<String>,
    pub mic: Option<MicField>,
    pub flags: Option<u32>,
    pub succeeded: bool,
    pub status: Option<String>,
}

/// One connection as correlation sees it.
#[derive(Debug, Clone)]
pub struct Leg {
    pub id: LegId,
    pub file: Option<String>,
    pub client: String,
    pub server: String,
    pub first_frame: Option<u64>,
    pub dialect: Option<Dialect>,
    pub server_signing: Option<SigningSetting>,
    pub client_offer: ClientOffer,
    pub server_answer: ServerAnswer,
    pub logons: Vec<LegLogon>,
}

impl Leg {
    pub fn of(id: LegId, r: &ConnectionReport) -> Self {
        let logons = r
            .facts
            .ntlm
            .iter()
            .filter(|l| !l.auth.as_ref().is_some_and(|a| a.anonymous))
            .map(|l| LegLogon {
                user: l.auth.as_ref().map(|a| a.user.clone()).unwrap_or_default(),
                // An empty or all-zero proof names nobody.
                proof: l
                    .auth
                    .as_ref()
                    .map(|a| a.proof.clone())
                    .filter(|p| p.len() >= 16 && p.iter().any(|b| *b != 0)),
                challenge: l.challenge.as_ref().map(|c| c.server_challenge),
                auth_frame: l.auth.as_ref().map(|a| a.frame),
                challenge_frame: l.challenge.as_ref().map(|c| c.frame),
                target_name: l.auth.as_ref().and_then(|a| a.target_name.clone()),
                mic: l.auth.as_ref().map(|a| a.mic),
                flags: l.auth.as_ref().map(|a| a.flags),
                succeeded: l.succeeded(),
                status: l.status.map(|s| s.to_string()),
            })
            .filter(|l| l.proof.is_some() || l.challenge.is_some())
            .collect();
        Leg {
            id,
            file: r.file.clone(),
            client: r.client.clone(),
            server: r.server.clone(),
            first_frame: r.first_frame,
            dialect: r.dialect.clone(),
            server_signing: r.server_signing,
            client_offer: r.facts.client.clone(),
            server_answer: r.facts.server.clone(),
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
        server_ip(&self.client)
    }
    pub fn server_ip(&self) -> Option<IpAddr> {
        server_ip(&self.server)
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
