//! The model of one SMB connection: what each side offered and answered,
//! its sessions, and grouped counters. Plain data with read-only helpers;
//! the state machine that fills it is in `smb1.rs`, `smb2.rs` and
//! `setup.rs`.

use crate::verify::{KeyState, MacBatch, Signing};
use crate::wire::smb2::{Cipher, SigningAlgorithm, Smb2Dialect};
use crate::wire::{
    Dialect, MacAlgorithm, NtStatus, SecurityMode, SigningSetting, Smb2SecurityMode, WireError,
};

/// Largest number of sessions tracked per connection; later ones are counted
/// but not described (a hostile peer can invent session ids freely).
pub const MAX_SESSIONS: usize = 256;
/// Frame numbers remembered per kind of problem.
pub const MAX_FRAMES_LISTED: usize = 16;

/// How a session authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum AuthMechanism {
    Unknown = 0,
    Ntlmssp = 1,
    Kerberos = 2,
    /// SMB1 without extended security: LM/NTLM responses (or a plaintext
    /// password) in the SESSION_SETUP_ANDX itself.
    Legacy = 3,
    /// Kerberos through IAKERB (MS-KILE 3.1.5.x; macOS and Heimdal clients).
    Iakerb = 4,
    /// NEGOEX (MS-NEGOEX), which carries further mechanisms inside.
    Negoex = 5,
    /// A SPNEGO mechanism smbsign does not name; its OID is kept.
    Other = 6,
}

impl AuthMechanism {
    pub const ALL: [AuthMechanism; 7] = [
        AuthMechanism::Unknown,
        AuthMechanism::Ntlmssp,
        AuthMechanism::Kerberos,
        AuthMechanism::Legacy,
        AuthMechanism::Iakerb,
        AuthMechanism::Negoex,
        AuthMechanism::Other,
    ];

    /// The JSON spelling. Legacy logons print as "unknown" with
    /// `legacy_auth: true`, as the report always did.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMechanism::Unknown | AuthMechanism::Legacy => "unknown",
            AuthMechanism::Ntlmssp => "ntlmssp",
            AuthMechanism::Kerberos => "kerberos",
            AuthMechanism::Iakerb => "iakerb",
            AuthMechanism::Negoex => "negoex",
            AuthMechanism::Other => "other",
        }
    }
}

/// One TREE_CONNECT (SMB2) or TREE_CONNECT_ANDX (SMB1): the request's
/// path, the response's share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeConnect {
    pub request_frame: u64,
    pub message_id: u64,
    pub session_id: u64,
    /// `\\server\share`, as the client sent it.
    pub path: String,
    pub response_frame: Option<u64>,
    pub status: Option<crate::wire::NtStatus>,
    pub tree_id: Option<u32>,
    pub share_type: Option<crate::wire::smb2::ShareType>,
    pub share_flags: Option<u32>,
    /// SMB1: the service the response named ("A:", "IPC", "LPT1:", "COMM").
    pub service: Option<String>,
    /// Sent inside a TRANSFORM message (seen once decrypted).
    pub decrypted: bool,
}

/// TREE_CONNECTs remembered per connection.
pub const MAX_TREE_CONNECTS: usize = 64;

/// Signature verdict totals, per connection and per session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub verified: u64,
    pub forged: u64,
    pub no_key: u64,
    pub unverifiable: u64,
    pub unsigned_while_required: u64,
    pub forged_frames: Vec<u64>,
    pub unsigned_frames: Vec<u64>,
    /// SMB3 TRANSFORM messages whose tag verified (their plaintext was
    /// analysed), and those whose tag did not, with their first frames.
    /// Kept apart from the signature verdicts above.
    pub decrypted: u64,
    pub bad_tags: u64,
    pub bad_tag_frames: Vec<u64>,
}

fn note_frame(frames: &mut Vec<u64>, frame: u64) {
    if frames.len() < MAX_FRAMES_LISTED && frames.last() != Some(&frame) {
        frames.push(frame);
    }
}

impl Tally {
    /// A frame of a listed kind (the first few are kept).
    pub fn note(frames: &mut Vec<u64>, frame: u64) {
        note_frame(frames, frame);
    }

    /// A TRANSFORM message whose tag did not verify.
    pub fn note_bad_tag(&mut self, frame: u64) {
        self.bad_tags += 1;
        note_frame(&mut self.bad_tag_frames, frame);
    }

    pub fn count(&mut self, frame: u64, verdict: crate::verify::Verdict) {
        use crate::verify::Verdict;
        match verdict {
            Verdict::Valid => self.verified += 1,
            Verdict::Forged => {
                self.forged += 1;
                note_frame(&mut self.forged_frames, frame);
            }
            Verdict::NoKey => self.no_key += 1,
            Verdict::Unverifiable => self.unverifiable += 1,
            Verdict::UnsignedWhileRequired => {
                self.unsigned_while_required += 1;
                note_frame(&mut self.unsigned_frames, frame);
            }
            _ => {}
        }
    }
}

/// One authenticated (or attempted) session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SMB2 SessionId, or SMB1 UID.
    pub id: u64,
    pub smb1: bool,
    pub user: Option<String>,
    pub mechanism: AuthMechanism,
    /// The SPNEGO mechanism OID in dotted form, for `AuthMechanism::Other`
    /// (and the named ones when seen).
    pub mechanism_oid: Option<String>,
    /// Kerberos: the service principal its ticket was for.
    pub service_principal: Option<String>,
    pub guest: bool,
    /// A null logon was attempted (no user, no password).
    pub anonymous: bool,
    pub encrypted: bool,
    /// A SESSION_SETUP response with STATUS_SUCCESS was seen, at this frame.
    pub established_frame: Option<u64>,
    /// Final status of the last SESSION_SETUP response, when not success.
    pub failed_status: Option<NtStatus>,
    /// Signing was in force for this session (required by a side and not
    /// exempt as guest/anonymous), decided when it was established.
    pub signing_required: bool,
    /// Verdicts of this session's messages.
    pub tally: Tally,
    /// TRANSFORM messages of this session, and its requests sent in clear
    /// once it was encrypted (or on a share that requires encryption),
    /// with their first frames.
    pub transforms: u64,
    /// The SESSION_SETUP response set SMB2_SESSION_FLAG_ENCRYPT_DATA: every
    /// message of the session must be encrypted (per-share encryption
    /// leaves the session's other trees, and TREE_CONNECT, in clear).
    pub encrypt_data: bool,
    pub cleartext_requests: u64,
    pub cleartext_frames: Vec<u64>,
}

impl Session {
    pub fn new(id: u64, smb1: bool) -> Self {
        Session {
            id,
            smb1,
            user: None,
            mechanism: AuthMechanism::Unknown,
            mechanism_oid: None,
            service_principal: None,
            guest: false,
            anonymous: false,
            encrypted: false,
            established_frame: None,
            failed_status: None,
            signing_required: false,
            tally: Tally::default(),
            transforms: 0,
            encrypt_data: false,
            cleartext_requests: 0,
            cleartext_frames: Vec::new(),
        }
    }
    pub fn established(&self) -> bool {
        self.established_frame.is_some()
    }
}

/// What the client offered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOffer {
    /// SMB1 dialect strings of its NEGOTIATE.
    pub smb1_dialects: Vec<String>,
    /// SMB2 dialects of its NEGOTIATE.
    pub smb2_dialects: Vec<Smb2Dialect>,
    /// SecurityMode of its SMB2 NEGOTIATE request.
    pub security_mode: Option<Smb2SecurityMode>,
    /// SIGNING_CAPABILITIES it listed (3.1.1).
    pub signing_algorithms: Vec<SigningAlgorithm>,
    /// SMB1: Flags2 of its first SESSION_SETUP_ANDX request.
    pub smb1_setup_flags2: Option<u16>,
    /// SMB2: SecurityMode of its first SESSION_SETUP request.
    pub setup_security_mode: Option<Smb2SecurityMode>,
    /// SMB2 NEGOTIATE request: Capabilities and ClientGuid.
    pub capabilities: Option<u32>,
    pub client_guid: Option<[u8; 16]>,
    /// SMB1 NEGOTIATE request header: PID (high and low), MID and Flags2,
    /// which a proxy that forwards the request keeps.
    pub smb1_request_ids: Option<(u32, u16, u16)>,
    /// Frame of its (last) NEGOTIATE request.
    pub negotiate_frame: Option<u64>,
}

/// What the server answered in its (last) NEGOTIATE response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerAnswer {
    pub security_mode: Option<SecurityMode>,
    pub capabilities: Option<u32>,
    /// First algorithm of its SIGNING_CAPABILITIES context (3.1.1).
    pub signing_algorithm: Option<SigningAlgorithm>,
    /// Its ENCRYPTION_CAPABILITIES choice (3.1.1).
    pub cipher: Option<Cipher>,
    /// The capture cut the response inside its negotiate contexts: what
    /// they chose is unknown, not absent.
    pub contexts_truncated: bool,
    /// ServerGuid (SMB2, and SMB1 with extended security).
    pub server_guid: Option<[u8; 16]>,
    /// Frame of its (last) NEGOTIATE response.
    pub negotiate_frame: Option<u64>,
}

/// Message counters. `signed` + `unsigned` = `requests` + `responses`:
/// every SMB1/SMB2 message but NEGOTIATE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub negotiate_requests: u64,
    pub negotiate_responses: u64,
    pub session_setup_requests: u64,
    pub signed: u64,
    pub unsigned: u64,
    pub requests: u64,
    pub responses: u64,
    pub encrypted: u64,
    pub compressed: u64,
    pub smb1: u64,
    pub smb2: u64,
    pub tree_connects_ok: u64,
    /// Unsigned while signing was in force, by who sent them.
    pub unsigned_requests_while_required: u64,
    pub unsigned_responses_while_required: u64,
}

/// Everything known about one SMB connection.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub first_frame: Option<u64>,
    pub last_frame: Option<u64>,
    pub client: ClientOffer,
    pub server: ServerAnswer,
    pub dialect: Option<Dialect>,
    pub sessions: Vec<Session>,
    pub sessions_dropped: u64,
    pub counts: Counts,
    /// Verdicts of every message (unsigned-while-required counted with or
    /// without credentials; the rest with them).
    pub tally: Tally,
    /// SMB1 signing became active (MS-CIFS 3.2.5.3) at this frame.
    pub smb1_signing_active_frame: Option<u64>,
    /// TREE_CONNECT answered STATUS_ACCESS_DENIED (the KB's server-requires /
    /// client-disabled scenario), first frame.
    pub tree_connect_denied_frame: Option<u64>,
    /// Messages that could not be decoded, and the first reason.
    pub decode_errors: u64,
    pub first_decode_error: Option<(u64, WireError)>,
    /// The capture layer saw the connection close (FIN/RST).
    pub closed: bool,
    /// NTLM exchanges (the first `MAX_NTLM_LOGONS`).
    pub ntlm: Vec<super::ntlm::NtlmLogon>,
    /// The last AUTHENTICATE past that limit (its session still learns
    /// its user from it).
    pub(super) overflow_auth: Option<super::ntlm::NtlmAuth>,
    /// SMB1 logons without extended security (their responses' kinds).
    pub legacy: Vec<super::ntlm::LegacyFacts>,
    /// FSCTL_VALIDATE_NEGOTIATE_INFO, when the client sent one.
    pub validate: super::validate::ValidateNegotiate,
    /// Server names from TREE_CONNECT paths (`\\name\share`).
    pub tree_hosts: Vec<String>,
    /// TREE_CONNECTs (SMB1 and SMB2), cleartext or decrypted (at most
    /// `MAX_TREE_CONNECTS`).
    pub tree_connects: Vec<TreeConnect>,
    /// The messages being analysed came out of a TRANSFORM message.
    pub(super) decrypting: bool,
    /// Some TREE_CONNECT response set SHARE_FLAG_ENCRYPT_DATA (so requests
    /// in clear are checked against the trees, which most connections
    /// never need).
    pub(super) encrypting_trees: bool,
    /// COMPRESSION_TRANSFORM messages: decompressed, and why not.
    pub decompression: Decompression,
    /// Decrypted messages per SMB2 command (what ran inside the tunnel),
    /// by command code.
    pub decrypted_commands: std::collections::BTreeMap<u16, u64>,
    /// Verification state, present when credentials were given.
    pub verify: Option<Box<Signing>>,
    pub(super) pending: Vec<super::setup::PendingSetup>,
    /// Where SMB2 MACs go instead of being computed here.
    pub(super) mac_batch: Option<MacBatch>,
    /// What became of each TRANSFORM message, kept when asked for
    /// (`keep_plaintexts`): for writing a decrypted copy of the capture.
    pub(super) outcomes: Option<Box<TransformOutcomes>>,
}

/// What became of a connection's COMPRESSION_TRANSFORM messages.
#[derive(Debug, Clone, Default)]
pub struct Decompression {
    pub decompressed: u64,
    /// Payloads per algorithm (code) among those decompressed.
    pub algorithms: std::collections::BTreeMap<u16, u64>,
    /// Messages not decompressed, per reason (bounded: a few kinds).
    pub failures: std::collections::BTreeMap<String, u64>,
}

impl Decompression {
    pub fn note_failure(&mut self, why: String) {
        if self.failures.len() < 16 || self.failures.contains_key(&why) {
            *self.failures.entry(why).or_default() += 1;
        }
    }
}

/// The outcome of each TRANSFORM message of a connection, by its ordinal
/// (0 for the connection's first): its plaintext when it decrypted, None
/// when it did not (no key, a bad tag, cut short). Taken as they come
/// (`Connection::take_outcomes`); deferred ones come in when their job is
/// applied, so not always in ordinal order.
#[derive(Debug, Clone, Default)]
pub struct TransformOutcomes {
    pub(super) done: Vec<(u64, Option<Vec<u8>>)>,
    /// Ordinals of the TRANSFORM messages whose job is out, oldest first.
    pub(super) deferred: std::collections::VecDeque<u64>,
}

impl Connection {
    /// Whether this connection verifies signatures.
    pub fn verifies(&self) -> bool {
        self.verify.is_some()
    }

    /// Key state of a session (None without credentials or for an unknown
    /// session).
    pub fn key_state(&self, session: u64) -> Option<&KeyState> {
        self.verify.as_ref()?.key_state(session)
    }

    /// Signing setting the server advertised in its last NEGOTIATE response.
    pub fn server_signing(&self) -> Option<SigningSetting> {
        self.server.security_mode.map(SecurityMode::setting)
    }

    /// Signing setting the client advertised: SMB2 NEGOTIATE SecurityMode
    /// (raised to required by a SESSION_SETUP that requires it). SMB1
    /// requests carry no security mode: the Flags2 signature bits of the
    /// client's SESSION_SETUP are the evidence when set (Windows sets them;
    /// Samba does not), and signing that became active with a server that
    /// only enables it shows the client enabled it. Otherwise unknown.
    pub fn client_signing(&self) -> Option<SigningSetting> {
        let setup_requires = self
            .client
            .setup_security_mode
            .is_some_and(Smb2SecurityMode::signing_required);
        if let Some(mode) = self.client.security_mode {
            return Some(if setup_requires {
                SigningSetting::Required
            } else {
                mode.setting()
            });
        }
        let smb1_server = self.server.security_mode.is_some_and(SecurityMode::is_smb1);
        if smb1_server || self.dialect.as_ref().is_some_and(Dialect::is_smb1) {
            let from_flags = self
                .client
                .smb1_setup_flags2
                .map(SigningSetting::from_smb1_flags2)
                .filter(|s| *s != SigningSetting::Disabled);
            let from_activity = self
                .smb1_signing_active_frame
                .map(|_| SigningSetting::Enabled);
            return from_flags.max(from_activity);
        }
        self.client
            .setup_security_mode
            .map(Smb2SecurityMode::setting)
    }

    /// Either side requires signing (SMB2 rule, MS-SMB2 3.2.5.3.1 / 3.3.5.5).
    pub fn either_requires_signing(&self) -> bool {
        self.server_signing() == Some(SigningSetting::Required)
            || self.client_signing() == Some(SigningSetting::Required)
    }

    /// The MAC that signs this connection's messages.
    pub fn mac_algorithm(&self) -> Option<MacAlgorithm> {
        let d = self.dialect.as_ref()?;
        // 3.1.1 without a signing context means AES-CMAC; with the
        // contexts cut off by the capture it means nothing.
        let unknown = d.smb2() == Some(crate::wire::smb2::Smb2Dialect::Smb311)
            && self.server.signing_algorithm.is_none()
            && self.server.contexts_truncated;
        if unknown {
            return None;
        }
        d.signing_algorithm(self.server.signing_algorithm)
    }

    pub fn is_smb1(&self) -> bool {
        match &self.dialect {
            Some(d) => d.is_smb1(),
            None => self.counts.smb1 > 0 && self.counts.smb2 == 0,
        }
    }

    pub fn session(&self, id: u64) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == id)
    }

    /// The session, created on first use (None past `MAX_SESSIONS`).
    pub(super) fn session_mut(&mut self, id: u64, smb1: bool) -> Option<&mut Session> {
        if let Some(k) = self.sessions.iter().position(|s| s.id == id) {
            return Some(&mut self.sessions[k]);
        }
        if self.sessions.len() >= MAX_SESSIONS {
            self.sessions_dropped += 1;
            return None;
        }
        self.sessions.push(Session::new(id, smb1));
        self.sessions.last_mut()
    }

    /// Count a verdict in the connection's and its session's tallies.
    pub(super) fn tally_verdict(&mut self, frame: u64, session: u64, v: crate::verify::Verdict) {
        self.tally.count(frame, v);
        if let Some(s) = self.sessions.iter_mut().find(|s| s.id == session) {
            s.tally.count(frame, v);
        }
    }

    /// Count a non-NEGOTIATE message for the signed/unsigned totals.
    pub(super) fn count_message(&mut self, signed: bool, response: bool) {
        let c = &mut self.counts;
        if signed {
            c.signed += 1;
        } else {
            c.unsigned += 1;
        }
        if response {
            c.responses += 1;
        } else {
            c.requests += 1;
        }
    }

    /// A message that should have been signed was not.
    pub(super) fn note_unsigned_while_required(&mut self, is_response: bool) {
        if is_response {
            self.counts.unsigned_responses_while_required += 1;
        } else {
            self.counts.unsigned_requests_while_required += 1;
        }
    }

    pub(super) fn note_decode_error(&mut self, frame: u64, e: WireError) {
        self.decode_errors += 1;
        if self.first_decode_error.is_none() {
            self.first_decode_error = Some((frame, e));
        }
    }
}
