//! NTLM exchanges as the evidence for relay and MIC-removal checks: what
//! each of NEGOTIATE, CHALLENGE and AUTHENTICATE said, per exchange, on one
//! connection. Filled from the session-setup blobs of both families.

use super::model::Connection;
use crate::wire::NtStatus;
use crate::wire::ntlmssp::{
    AvId, AvPairRecord, MSV_AV_FLAG_MIC_PRESENT, NtlmVersion, NtlmsspAuthenticateRecord,
    NtlmsspRecord, ResponseKinds, av_value, find_ntlmssp, parse_av_pairs, parse_ntlmv2_response,
    response_kinds,
};
use crate::wire::utf16le_lossy;

/// NTLM exchanges remembered per connection (later ones are not kept: a
/// hostile client can start exchanges freely).
pub const MAX_NTLM_LOGONS: usize = 16;

/// The CHALLENGE a server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtlmChallenge {
    pub frame: u64,
    pub server_challenge: [u8; 8],
    pub flags: u32,
    /// The names it gave itself: NetBIOS and DNS computer, domain and tree
    /// names from its AV pairs, one per line (one allocation: this is kept
    /// for every exchange); `names()` lists them.
    pub names: String,
    /// Its own computer names alone (NetBIOS, then DNS), as the hosts view
    /// shows them.
    pub computer_names: Vec<String>,
    /// The VERSION it sent: the server's Windows version and build.
    pub version: Option<NtlmVersion>,
}

/// How the AUTHENTICATE's MIC field looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MicField {
    /// No room for one: the payload starts before offset 88.
    Absent,
    /// Sixteen zero bytes.
    Zero,
    Present,
}

/// The AUTHENTICATE a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtlmAuth {
    pub frame: u64,
    pub flags: u32,
    /// DOMAIN\user as sent.
    pub user: String,
    /// NTLMv2: the NTProofStr (16 bytes); NTLMv1: the 24-byte NT response.
    pub proof: Vec<u8>,
    pub v2: bool,
    /// NTLMv2 AV pairs the proof covers: MsvAvTargetName, MsvAvFlags.
    pub target_name: Option<String>,
    pub av_flags: Option<u32>,
    pub mic: MicField,
    pub version_present: bool,
    /// The VERSION it sent: the client's Windows version and build.
    pub version: Option<NtlmVersion>,
    /// NTLMv1, a real LM response (weak-authentication findings).
    pub responses: ResponseKinds,
    pub anonymous: bool,
    /// The user name is not empty (`user` then names it).
    pub has_user: bool,
}

impl NtlmChallenge {
    /// The server's names, as sent.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.split('\n').filter(|n| !n.is_empty())
    }
}

impl NtlmAuth {
    /// MsvAvFlags says a MIC is present (bit 0x2).
    pub fn claims_mic(&self) -> bool {
        self.av_flags
            .is_some_and(|f| f & MSV_AV_FLAG_MIC_PRESENT != 0)
    }
}

/// One exchange: NEGOTIATE, CHALLENGE, AUTHENTICATE and its outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NtlmLogon {
    pub session_id: u64,
    pub negotiate_flags: Option<u32>,
    pub negotiate_frame: Option<u64>,
    pub challenge: Option<NtlmChallenge>,
    pub auth: Option<NtlmAuth>,
    /// Status of the SESSION_SETUP response to the AUTHENTICATE.
    pub status: Option<NtStatus>,
    pub status_frame: Option<u64>,
}

impl NtlmLogon {
    /// The AUTHENTICATE's logon succeeded.
    pub fn succeeded(&self) -> bool {
        self.status == Some(NtStatus::Success)
    }
}

fn text(b: &[u8]) -> String {
    utf16le_lossy(b)
}

fn names(pairs: &[AvPairRecord<'_>]) -> String {
    let mut out = String::new();
    for id in [
        AvId::NbComputerName,
        AvId::DnsComputerName,
        AvId::NbDomainName,
        AvId::DnsDomainName,
        AvId::DnsTreeName,
    ] {
        if let Some(v) = av_value(pairs, id) {
            if !out.is_empty() {
                out.push('\n');
            }
            // A newline inside a name would split it: such a name matches
            // nothing, which is what it deserves.
            crate::wire::push_utf16le_lossy(&mut out, v);
        }
    }
    out
}

fn auth_of(frame: u64, a: &NtlmsspAuthenticateRecord<'_>) -> NtlmAuth {
    let v2 = parse_ntlmv2_response(a.nt_response);
    let proof = match &v2 {
        Some(r) => r.nt_proof_str.to_vec(),
        None => a.nt_response.to_vec(),
    };
    let pairs = v2.as_ref().map(|r| r.av_pairs.as_slice()).unwrap_or(&[]);
    let user = a.user_name();
    let domain = a.domain_name();
    NtlmAuth {
        frame,
        flags: a.flags,
        user: super::setup::join_user(&domain, &user),
        proof,
        v2: v2.is_some(),
        target_name: av_value(pairs, AvId::TargetName).map(text),
        av_flags: av_value(pairs, AvId::Flags)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes),
        mic: match a.mic {
            None => MicField::Absent,
            Some(m) if m.iter().all(|b| *b == 0) => MicField::Zero,
            Some(_) => MicField::Present,
        },
        version_present: a.version.is_some(),
        version: a.version.and_then(NtlmVersion::parse),
        responses: response_kinds(a.lm_response, a.nt_response),
        anonymous: a.is_anonymous(),
        has_user: !a.user.is_empty(),
    }
}

/// An SMB1 logon without extended security, as weak-authentication
/// findings see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyFacts {
    pub frame: u64,
    pub responses: ResponseKinds,
    /// The password went in clear: the server asked for no challenge
    /// response (SecurityMode bit 1 clear) and the client sent one.
    pub plaintext: bool,
}

impl Connection {
    /// An SMB1 SESSION_SETUP_ANDX request without extended security: what
    /// its password fields hold. `encrypted`: the server's SecurityMode asks
    /// for challenge responses (or was not seen).
    pub(super) fn note_legacy_logon(
        &mut self,
        frame: u64,
        oem: &[u8],
        unicode: &[u8],
        encrypted: bool,
    ) {
        let sent = |p: &[u8]| !p.is_empty() && p != [0];
        let plaintext = !encrypted && (sent(oem) || sent(unicode));
        if self.legacy.len() < MAX_NTLM_LOGONS {
            self.legacy.push(LegacyFacts {
                frame,
                responses: if plaintext {
                    ResponseKinds::default()
                } else {
                    response_kinds(oem, unicode)
                },
                plaintext,
            });
        }
    }

    /// A SESSION_SETUP request's blob: a NEGOTIATE starts an exchange, an
    /// AUTHENTICATE completes the one its session (or the latest) began.
    /// Returns the AUTHENTICATE as recorded, when the blob held one.
    pub(super) fn ntlm_on_request(
        &mut self,
        frame: u64,
        session_id: u64,
        ntlm: Option<&NtlmsspRecord<'_>>,
    ) -> Option<&NtlmAuth> {
        match ntlm {
            Some(NtlmsspRecord::Negotiate(n)) if self.ntlm.len() < MAX_NTLM_LOGONS => {
                self.ntlm.push(NtlmLogon {
                    session_id,
                    negotiate_flags: Some(n.flags),
                    negotiate_frame: Some(frame),
                    ..Default::default()
                });
            }
            Some(NtlmsspRecord::Authenticate(a)) => {
                let auth = auth_of(frame, a);
                let room = self.ntlm.len() < MAX_NTLM_LOGONS;
                let k = self
                    .ntlm
                    .iter()
                    .rposition(|l| {
                        l.auth.is_none() && session_id != 0 && l.session_id == session_id
                    })
                    .or_else(|| self.ntlm.iter().rposition(|l| l.auth.is_none()));
                match k {
                    Some(k) => self.ntlm[k].auth = Some(auth),
                    // An AUTHENTICATE whose NEGOTIATE the capture missed.
                    None if room => self.ntlm.push(NtlmLogon {
                        session_id,
                        auth: Some(auth),
                        ..Default::default()
                    }),
                    // No room: the session still learns its user.
                    None => {
                        self.overflow_auth = Some(auth);
                        return self.overflow_auth.as_ref();
                    }
                }
                let k = k.unwrap_or(self.ntlm.len() - 1);
                return self.ntlm[k].auth.as_ref();
            }
            _ => {}
        }
        None
    }

    /// A SESSION_SETUP response: its CHALLENGE, or the outcome of the
    /// exchange's AUTHENTICATE.
    pub(super) fn ntlm_on_response(
        &mut self,
        frame: u64,
        session_id: u64,
        status: NtStatus,
        blob: &[u8],
    ) {
        if let Some(Ok(NtlmsspRecord::Challenge(c))) = find_ntlmssp(blob) {
            let Ok(server_challenge) = c.server_challenge.try_into() else {
                return;
            };
            let pairs = parse_av_pairs(c.target_info);
            let challenge = NtlmChallenge {
                frame,
                server_challenge,
                flags: c.flags,
                names: names(&pairs),
                computer_names: [AvId::NbComputerName, AvId::DnsComputerName]
                    .into_iter()
                    .filter_map(|id| av_value(&pairs, id).map(text))
                    .filter(|n| !n.is_empty())
                    .collect(),
                version: c.version,
            };
            if let Some(l) = self.open_logon(0, |l| l.challenge.is_none() && l.auth.is_none()) {
                l.session_id = session_id;
                l.challenge = Some(challenge);
            }
            return;
        }
        if status == NtStatus::MoreProcessingRequired {
            return;
        }
        if let Some(l) = self.open_logon(session_id, |l| l.auth.is_some() && l.status.is_none()) {
            l.status = Some(status);
            l.status_frame = Some(frame);
        }
    }

    /// The latest exchange matching `open`, preferring one of `session_id`.
    fn open_logon(
        &mut self,
        session_id: u64,
        open: impl Fn(&NtlmLogon) -> bool,
    ) -> Option<&mut NtlmLogon> {
        let k = self
            .ntlm
            .iter()
            .rposition(|l| open(l) && session_id != 0 && l.session_id == session_id)
            .or_else(|| self.ntlm.iter().rposition(&open))?;
        self.ntlm.get_mut(k)
    }
}
