//! Connection state: what one SMB connection negotiated and did, built from
//! its messages in wire order. Fed whole SMB messages (the bytes after the
//! 4-byte NBSS header, or a prefix of them) with a direction and a frame
//! number; knows nothing of captures, files or output formats.
#![forbid(unsafe_code)]

pub mod signing;

pub use signing::{KeyState, Verdict};

use crate::verify::Credentials;
use crate::wire::nbss::{SmbFamily, smb_family};
use crate::wire::ntlmssp::{NtlmsspRecord, find_ntlmssp};
use crate::wire::smb1::{self, Smb1Command, Smb1NegotiateResponseRecord};
use crate::wire::smb2::{
    self, Cipher, NegotiateContextType, SigningAlgorithm, Smb2Command, Smb2Dialect,
};
use crate::wire::spnego::{Mechanism, blob_mechanism};
use crate::wire::{NtStatus, WireError};
use signing::Signing;
use std::sync::Arc;

/// Which way a message travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToServer,
    ToClient,
}

/// Signing setting one side advertised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SigningSetting {
    Disabled,
    Enabled,
    Required,
}

impl SigningSetting {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningSetting::Disabled => "disabled",
            SigningSetting::Enabled => "enabled",
            SigningSetting::Required => "required",
        }
    }
    /// SMB1 NEGOTIATE response SecurityMode (the KB's 3 / 7 / 15).
    pub fn from_smb1_security_mode(mode: u8) -> Self {
        if mode & smb1::NEGOTIATE_SECURITY_SIGNATURES_REQUIRED != 0 {
            SigningSetting::Required
        } else if mode & smb1::NEGOTIATE_SECURITY_SIGNATURES_ENABLED != 0 {
            SigningSetting::Enabled
        } else {
            SigningSetting::Disabled
        }
    }
    /// SMB2 SecurityMode: signing is always possible in SMB2, so a clear
    /// ENABLED bit still means "enabled" (MS-SMB2 3.3.5.4 ignores it).
    pub fn from_smb2_security_mode(mode: u16) -> Self {
        if mode & smb2::SMB2_NEGOTIATE_SIGNING_REQUIRED != 0 {
            SigningSetting::Required
        } else {
            SigningSetting::Enabled
        }
    }
    /// SMB1 client: Flags2 of its SESSION_SETUP_ANDX request.
    pub fn from_smb1_flags2(flags2: u16) -> Self {
        if flags2 & smb1::SMB1_FLAGS2_SECURITY_SIGNATURE_REQUIRED != 0 {
            SigningSetting::Required
        } else if flags2 & smb1::SMB1_FLAGS2_SECURITY_SIGNATURE != 0 {
            SigningSetting::Enabled
        } else {
            SigningSetting::Disabled
        }
    }
}

/// The dialect in force on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialect {
    /// An SMB1 dialect string such as "NT LM 0.12".
    Smb1(String),
    Smb2(Smb2Dialect),
}

impl Dialect {
    /// JSON spelling: the SMB1 dialect string or "2.1", "3.1.1"…; the raw
    /// value in hex for SMB2 values with no name (pre-release servers).
    pub fn name(&self) -> String {
        match self {
            Dialect::Smb1(s) => s.clone(),
            Dialect::Smb2(d) => d
                .name()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("0x{:04x}", d.0)),
        }
    }
    pub fn is_smb1(&self) -> bool {
        matches!(self, Dialect::Smb1(_))
    }
}

/// How a session authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMechanism {
    Ntlmssp,
    Kerberos,
    /// SMB1 without extended security: passwords in the SESSION_SETUP itself.
    Plain,
    Unknown,
}

impl AuthMechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMechanism::Ntlmssp => "ntlmssp",
            AuthMechanism::Kerberos => "kerberos",
            AuthMechanism::Plain => "plain",
            AuthMechanism::Unknown => "unknown",
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
    pub guest: bool,
    pub anonymous: bool,
    pub encrypted: bool,
    /// A SESSION_SETUP response with STATUS_SUCCESS was seen.
    pub established: bool,
    /// Frame of that response.
    pub established_frame: Option<u64>,
    /// Final status of the last SESSION_SETUP response, when not success.
    pub failed_status: Option<NtStatus>,
    /// Signing was in force for this session (required by a side and not
    /// exempt as guest/anonymous), decided when it was established.
    pub signing_required: bool,
    /// Signature verdicts of this session's messages (with credentials).
    pub verified: u64,
    pub forged: u64,
    pub no_key: u64,
    pub unverifiable: u64,
    pub unsigned_while_required: u64,
    pub forged_frames: Vec<u64>,
}

impl Session {
    fn new(id: u64, smb1: bool) -> Self {
        Session {
            id,
            smb1,
            user: None,
            mechanism: AuthMechanism::Unknown,
            guest: false,
            anonymous: false,
            encrypted: false,
            established: false,
            established_frame: None,
            failed_status: None,
            signing_required: false,
            verified: 0,
            forged: 0,
            no_key: 0,
            unverifiable: 0,
            unsigned_while_required: 0,
            forged_frames: Vec::new(),
        }
    }
}

/// What the session setup request of a message id told us, kept until its
/// response names the session.
#[derive(Debug, Clone, Default)]
struct PendingSetup {
    message_id: u64,
    user: Option<String>,
    mechanism: Option<AuthMechanism>,
    anonymous: bool,
    smb2_security_mode: Option<u8>,
}

/// Largest number of sessions tracked per connection; later ones are counted
/// but not described (a hostile peer can invent session ids freely).
pub const MAX_SESSIONS: usize = 256;
/// Frame numbers remembered per kind of problem.
pub const MAX_FRAMES_LISTED: usize = 16;
/// Outstanding session-setup requests remembered per connection.
const MAX_PENDING: usize = 64;

/// Per-message facts for callers that annotate PDUs (the C API, the plugin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAnnotation {
    pub family: SmbFamily,
    /// SMB1 command byte or SMB2 command.
    pub command: u16,
    pub is_response: bool,
    pub status: NtStatus,
    pub message_id: u64,
    pub session_id: u64,
    pub signed: bool,
    /// Signature field: 8 bytes (SMB1) or 16 (SMB2, transform header);
    /// `signature_len` says which.
    pub signature: [u8; 16],
    pub signature_len: u8,
    /// NEGOTIATE only: the SecurityMode field of this message.
    pub security_mode: Option<u16>,
    /// NEGOTIATE response only.
    pub dialect: Option<String>,
    /// SESSION_SETUP response only (SMB2 SessionFlags, SMB1 Action).
    pub session_flags: Option<u16>,
    /// Signing was in force for this message and it was not signed.
    pub unsigned_while_required: bool,
    /// This message is exempt from signing (negotiate, session setup,
    /// oplock break, interim response, guest/anonymous, session id 0…).
    pub exempt: bool,
    /// Byte offset of this message inside the PDU (compound chains).
    pub offset: usize,
    pub length: usize,
    /// Signature verdict (verification needs credentials).
    pub verdict: Verdict,
    /// For a forged message, the signature it should have carried.
    pub expected_signature: Option<[u8; 16]>,
}

impl MessageAnnotation {
    /// An annotation from a message header, before the command is looked at.
    #[allow(clippy::too_many_arguments)]
    fn header(
        family: SmbFamily,
        command: u16,
        is_response: bool,
        status: NtStatus,
        (message_id, session_id): (u64, u64),
        signed: bool,
        signature: &[u8],
        (offset, length): (usize, usize),
    ) -> Self {
        MessageAnnotation {
            family,
            command,
            is_response,
            status,
            message_id,
            session_id,
            signed,
            signature: sig16(signature),
            signature_len: signature.len().min(16) as u8,
            security_mode: None,
            dialect: None,
            session_flags: None,
            unsigned_while_required: false,
            exempt: false,
            offset,
            length,
            verdict: Verdict::NotVerified,
            expected_signature: None,
        }
    }
}

/// Everything known about one SMB connection.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub first_frame: Option<u64>,
    pub last_frame: Option<u64>,
    /// SMB1 dialect strings the client offered.
    pub smb1_dialects_offered: Vec<String>,
    /// SMB2 dialects the client offered.
    pub smb2_dialects_offered: Vec<Smb2Dialect>,
    pub dialect: Option<Dialect>,
    pub server_security_mode: Option<u16>,
    pub server_security_mode_smb1: bool,
    pub client_security_mode: Option<u16>,
    /// SMB1 client's Flags2 on its first SESSION_SETUP_ANDX request.
    pub smb1_client_flags2: Option<u16>,
    /// SMB2 client's SecurityMode on its first SESSION_SETUP request.
    pub smb2_setup_security_mode: Option<u8>,
    pub signing_algorithm: Option<SigningAlgorithm>,
    pub signing_algorithms_offered: Vec<SigningAlgorithm>,
    pub cipher: Option<Cipher>,
    pub server_capabilities: Option<u32>,
    pub sessions: Vec<Session>,
    pub sessions_dropped: u64,
    pub negotiate_requests: u64,
    pub negotiate_responses: u64,
    pub session_setup_requests: u64,
    pub signed_messages: u64,
    pub unsigned_messages: u64,
    /// The same messages split by direction (request / response bit).
    pub requests: u64,
    pub responses: u64,
    pub encrypted_messages: u64,
    pub compressed_messages: u64,
    pub smb1_messages: u64,
    pub smb2_messages: u64,
    pub unsigned_while_required: u64,
    pub unsigned_while_required_frames: Vec<u64>,
    /// SMB1 signing became active (MS-CIFS 3.2.5.3) at this frame.
    pub smb1_signing_active_frame: Option<u64>,
    /// TREE_CONNECT answered STATUS_ACCESS_DENIED (the KB's server-requires /
    /// client-disabled scenario), first frame.
    pub tree_connect_denied_frame: Option<u64>,
    pub tree_connects_ok: u64,
    /// Messages that could not be decoded, and the first reason.
    pub decode_errors: u64,
    pub first_decode_error: Option<(u64, WireError)>,
    /// The capture layer saw the connection close (FIN/RST).
    pub closed: bool,
    /// Verification state, present when credentials were given.
    pub signing: Option<Box<Signing>>,
    pub verified_messages: u64,
    pub forged_messages: u64,
    pub no_key_messages: u64,
    pub unverifiable_messages: u64,
    pub forged_frames: Vec<u64>,
    /// The PDU being processed is whole (not a prefix kept by the capture).
    complete: bool,
    /// Full length of the PDU being processed (more than its bytes when
    /// only a prefix was kept).
    message_total: usize,
    pending: Vec<PendingSetup>,
    client_dialect_request_mid: Option<u64>,
    /// Where SMB2 MACs go instead of being computed here (see
    /// `lend_mac_batch`).
    mac_batch: Option<MacBatch>,
}

/// SMB2 messages whose MAC is left to another thread: copies of the whole
/// messages in one buffer, each with its session's keyed signer. One buffer
/// for many messages keeps the hand-over cheap (most signed messages are
/// small: one allocation and one channel send per batch, not per message).
#[derive(Debug, Clone, Default)]
pub struct MacBatch {
    bytes: Vec<u8>,
    jobs: Vec<MacJob>,
}

/// One message of a `MacBatch`.
#[derive(Debug, Clone)]
pub struct MacJob {
    pub frame: u64,
    pub session: u64,
    signer: Arc<crate::verify::mac::Smb2Signer>,
    range: std::ops::Range<usize>,
}

impl MacBatch {
    fn push(
        &mut self,
        frame: u64,
        session: u64,
        signer: Arc<crate::verify::mac::Smb2Signer>,
        msg: &[u8],
    ) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(msg);
        self.jobs.push(MacJob {
            frame,
            session,
            signer,
            range: start..self.bytes.len(),
        });
    }

    /// Messages in the batch.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Message bytes in the batch.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    pub fn jobs(&self) -> &[MacJob] {
        &self.jobs
    }

    /// Compute every verdict, in order, into `out`.
    pub fn run(&self, scratch: &mut Vec<u8>, out: &mut Vec<Verdict>) {
        for j in &self.jobs {
            let msg = &self.bytes[j.range.clone()];
            out.push(signing::smb2_verdict(&j.signer, msg, scratch).0);
        }
    }

    /// Empty it, keeping the buffers (unless a very large message grew them).
    pub fn clear(&mut self) {
        self.bytes.clear();
        if self.bytes.capacity() > 4 * 1024 * 1024 {
            self.bytes = Vec::new();
        }
        self.jobs.clear();
    }
}

impl Connection {
    pub fn new() -> Self {
        Self::default()
    }

    /// A connection that verifies signatures with `creds`.
    pub fn with_credentials(creds: Arc<Credentials>) -> Self {
        Connection {
            signing: Some(Box::new(Signing::new(creds))),
            ..Self::default()
        }
    }

    /// Whether this connection verifies signatures.
    pub fn verifies(&self) -> bool {
        self.signing.is_some()
    }

    /// Key state of a session (None without credentials or for an unknown
    /// session).
    pub fn key_state(&self, session: u64) -> Option<&KeyState> {
        self.signing.as_ref()?.key_state(session)
    }

    /// Record a message's verdict in the connection and session counts.
    fn count_verdict(
        &mut self,
        frame: u64,
        session: u64,
        ann: &mut MessageAnnotation,
        (verdict, expected): (Verdict, Option<[u8; 16]>),
    ) {
        ann.verdict = verdict;
        ann.expected_signature = expected;
        self.tally_verdict(frame, session, verdict);
    }

    /// Count a verdict in the connection's and its session's totals.
    fn tally_verdict(&mut self, frame: u64, session: u64, verdict: Verdict) {
        match verdict {
            Verdict::Valid => self.verified_messages += 1,
            Verdict::Forged => {
                self.forged_messages += 1;
                if self.forged_frames.len() < MAX_FRAMES_LISTED
                    && self.forged_frames.last() != Some(&frame)
                {
                    self.forged_frames.push(frame);
                }
            }
            Verdict::NoKey => self.no_key_messages += 1,
            Verdict::Unverifiable => self.unverifiable_messages += 1,
            _ => {}
        }
        if let Some(s) = self.sessions.iter_mut().find(|s| s.id == session) {
            match verdict {
                Verdict::Valid => s.verified += 1,
                Verdict::Forged => {
                    s.forged += 1;
                    if s.forged_frames.len() < MAX_FRAMES_LISTED
                        && s.forged_frames.last() != Some(&frame)
                    {
                        s.forged_frames.push(frame);
                    }
                }
                Verdict::NoKey => s.no_key += 1,
                Verdict::Unverifiable => s.unverifiable += 1,
                Verdict::UnsignedWhileRequired => s.unsigned_while_required += 1,
                _ => {}
            }
        }
    }

    /// Verdict of a message that is not signed.
    fn unsigned_verdict(ann: &MessageAnnotation) -> (Verdict, Option<[u8; 16]>) {
        if ann.unsigned_while_required {
            (Verdict::UnsignedWhileRequired, None)
        } else if ann.exempt {
            (Verdict::Exempt, None)
        } else {
            (Verdict::NotSigned, None)
        }
    }

    /// Signing setting the server advertised in its last NEGOTIATE response.
    pub fn server_signing(&self) -> Option<SigningSetting> {
        let mode = self.server_security_mode?;
        Some(if self.server_security_mode_smb1 {
            SigningSetting::from_smb1_security_mode(mode as u8)
        } else {
            SigningSetting::from_smb2_security_mode(mode)
        })
    }

    /// Signing setting the client advertised: SMB2 NEGOTIATE SecurityMode
    /// (raised to required by a SESSION_SETUP that requires it). SMB1
    /// requests carry no security mode: the Flags2 signature bits of the
    /// client's SESSION_SETUP are the evidence when set (Windows sets them;
    /// Samba does not), and signing that became active with a server that
    /// only enables it shows the client enabled it. Otherwise unknown.
    pub fn client_signing(&self) -> Option<SigningSetting> {
        if let Some(mode) = self.client_security_mode {
            let setup_requires = self
                .smb2_setup_security_mode
                .is_some_and(|m| m as u16 & smb2::SMB2_NEGOTIATE_SIGNING_REQUIRED != 0);
            let s = SigningSetting::from_smb2_security_mode(mode);
            return Some(if setup_requires {
                SigningSetting::Required
            } else {
                s
            });
        }
        if self.server_security_mode_smb1 || self.dialect.as_ref().is_some_and(Dialect::is_smb1) {
            let from_flags = self
                .smb1_client_flags2
                .map(SigningSetting::from_smb1_flags2)
                .filter(|s| *s != SigningSetting::Disabled);
            let from_activity = self
                .smb1_signing_active_frame
                .map(|_| SigningSetting::Enabled);
            return from_flags.max(from_activity);
        }
        self.smb2_setup_security_mode
            .map(|m| SigningSetting::from_smb2_security_mode(m as u16))
    }

    /// Either side requires signing (SMB2 rule, MS-SMB2 3.2.5.3.1 / 3.3.5.5).
    fn smb2_signing_required(&self) -> bool {
        self.server_signing() == Some(SigningSetting::Required)
            || self.client_signing() == Some(SigningSetting::Required)
    }

    pub fn is_smb1(&self) -> bool {
        match &self.dialect {
            Some(d) => d.is_smb1(),
            None => self.smb1_messages > 0 && self.smb2_messages == 0,
        }
    }

    pub fn session(&self, id: u64) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == id)
    }

    fn session_mut(&mut self, id: u64, smb1: bool) -> Option<&mut Session> {
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

    /// Count a non-NEGOTIATE message for the signed/unsigned totals.
    fn count_message(&mut self, signed: bool, response: bool) {
        if signed {
            self.signed_messages += 1;
        } else {
            self.unsigned_messages += 1;
        }
        if response {
            self.responses += 1;
        } else {
            self.requests += 1;
        }
    }

    fn note_decode_error(&mut self, frame: u64, e: WireError) {
        self.decode_errors += 1;
        if self.first_decode_error.is_none() {
            self.first_decode_error = Some((frame, e));
        }
    }

    fn note_unsigned_while_required(&mut self, frame: u64) {
        self.unsigned_while_required += 1;
        if self.unsigned_while_required_frames.len() < MAX_FRAMES_LISTED
            && self.unsigned_while_required_frames.last() != Some(&frame)
        {
            self.unsigned_while_required_frames.push(frame);
        }
    }

    fn push_pending(&mut self, p: PendingSetup) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(p);
    }

    fn take_pending(&mut self, message_id: u64) -> Option<PendingSetup> {
        let k = self
            .pending
            .iter()
            .position(|p| p.message_id == message_id)?;
        Some(self.pending.remove(k))
    }

    /// Until `return_mac_batch`, append signed SMB2 messages with a known
    /// key to `batch` (their annotation says `Verdict::Deferred`) instead of
    /// computing their MAC; the caller computes them, on another thread if
    /// it likes, and hands each verdict back with `apply_mac_verdict`. SMB1
    /// MACs depend on sequence numbers guessed in order and stay in line.
    pub fn lend_mac_batch(&mut self, batch: MacBatch) {
        self.mac_batch = Some(batch);
    }

    /// Take back the batch lent with `lend_mac_batch`; MACs are computed in
    /// line again.
    pub fn return_mac_batch(&mut self) -> MacBatch {
        self.mac_batch.take().unwrap_or_default()
    }

    /// Count the verdict of a MAC computed elsewhere.
    pub fn apply_mac_verdict(&mut self, frame: u64, session: u64, verdict: Verdict) {
        self.tally_verdict(frame, session, verdict);
    }

    /// Feed one SMB PDU (the NBSS payload; possibly only a prefix of it when
    /// the capture layer skipped a large body). Returns nothing; facts land
    /// in `self`. When `out` is given, one annotation per SMB message is
    /// appended to it.
    pub fn on_pdu(
        &mut self,
        dir: Direction,
        frame: u64,
        pdu: &[u8],
        out: Option<&mut Vec<MessageAnnotation>>,
    ) {
        self.on_pdu_prefix(dir, frame, pdu, pdu.len(), out);
    }

    /// As `on_pdu`, for a PDU of `total` bytes of which the capture kept
    /// only `pdu` (signatures of partial messages cannot be checked).
    pub fn on_pdu_prefix(
        &mut self,
        dir: Direction,
        frame: u64,
        pdu: &[u8],
        total: usize,
        mut out: Option<&mut Vec<MessageAnnotation>>,
    ) {
        self.complete = pdu.len() >= total;
        self.message_total = total;
        if self.first_frame.is_none() {
            self.first_frame = Some(frame);
        }
        self.last_frame = Some(frame);
        match smb_family(pdu) {
            Some(SmbFamily::Smb1) => {
                self.smb1_messages += 1;
                match self.on_smb1(dir, frame, pdu) {
                    Ok(a) => {
                        if let Some(out) = out.as_deref_mut() {
                            out.push(a);
                        }
                    }
                    Err(e) => self.note_decode_error(frame, e),
                }
            }
            Some(SmbFamily::Smb2) => {
                let mut offset = 0;
                for part in smb2::smb2_compound_iter(pdu) {
                    match part {
                        Ok(msg) => {
                            self.smb2_messages += 1;
                            match self.on_smb2(dir, frame, msg, offset) {
                                Ok(a) => {
                                    if let Some(out) = out.as_deref_mut() {
                                        out.push(a);
                                    }
                                }
                                Err(e) => self.note_decode_error(frame, e),
                            }
                            offset += msg.len();
                        }
                        Err(e) => self.note_decode_error(frame, e),
                    }
                }
            }
            Some(SmbFamily::Transform) => {
                self.encrypted_messages += 1;
                match smb2::parse_smb2_transform_header(pdu) {
                    Ok((_, t)) => {
                        if let Some(s) = self.session_mut(t.session_id, false) {
                            s.encrypted = true;
                        }
                        if let Some(out) = out {
                            out.push(MessageAnnotation {
                                family: SmbFamily::Transform,
                                command: 0,
                                is_response: dir == Direction::ToClient,
                                status: NtStatus(0),
                                message_id: 0,
                                session_id: t.session_id,
                                signed: false,
                                signature: sig16(t.signature),
                                signature_len: t.signature.len().min(16) as u8,
                                security_mode: None,
                                dialect: None,
                                session_flags: None,
                                unsigned_while_required: false,
                                exempt: true,
                                offset: 0,
                                length: pdu.len(),
                                verdict: Verdict::Exempt,
                                expected_signature: None,
                            });
                        }
                    }
                    Err(e) => self.note_decode_error(frame, crate::wire::flatten(e)),
                }
            }
            Some(SmbFamily::Compression) => {
                self.compressed_messages += 1;
                if let Err(e) = smb2::parse_smb2_compression_header(pdu) {
                    self.note_decode_error(frame, crate::wire::flatten(e));
                }
            }
            None => self.note_decode_error(frame, WireError::Malformed("not an SMB message")),
        }
    }

    fn on_smb1(
        &mut self,
        dir: Direction,
        frame: u64,
        msg: &[u8],
    ) -> Result<MessageAnnotation, WireError> {
        let (body, h) = smb1::parse_smb1_header(msg).map_err(crate::wire::flatten)?;
        let mut ann = MessageAnnotation::header(
            SmbFamily::Smb1,
            h.command.0 as u16,
            h.is_response(),
            h.status,
            (h.mid as u64, h.uid as u64),
            h.is_signed(),
            h.signature,
            (0, msg.len()),
        );
        let _ = dir;
        if h.command == Smb1Command::Negotiate {
            ann.exempt = true;
            ann.verdict = Verdict::Exempt;
            if h.is_response() {
                self.negotiate_responses += 1;
                let (_, r) =
                    smb1::parse_smb1_response_negotiate(body).map_err(crate::wire::flatten)?;
                if let Some(mode) = r.security_mode() {
                    self.server_security_mode = Some(mode);
                    self.server_security_mode_smb1 = true;
                    ann.security_mode = Some(mode);
                }
                if let Smb1NegotiateResponseRecord::NtLm { capabilities, .. } = r {
                    self.server_capabilities = Some(capabilities);
                }
                let name = match r.dialect_index() {
                    Some(k) if k != 0xFFFF => self
                        .smb1_dialects_offered
                        .get(k as usize)
                        .cloned()
                        .or_else(|| {
                            matches!(r, Smb1NegotiateResponseRecord::NtLm { .. })
                                .then(|| "NT LM 0.12".to_owned())
                        }),
                    _ => None,
                };
                if let Some(name) = name {
                    ann.dialect = Some(name.clone());
                    self.dialect = Some(Dialect::Smb1(name));
                }
            } else {
                self.negotiate_requests += 1;
                let (_, r) =
                    smb1::parse_smb1_request_negotiate(body).map_err(crate::wire::flatten)?;
                self.smb1_dialects_offered = r
                    .dialects
                    .iter()
                    .map(|d| String::from_utf8_lossy(d).into_owned())
                    .collect();
                self.client_dialect_request_mid = Some(h.mid as u64);
            }
            return Ok(ann);
        }

        self.count_message(h.is_signed(), h.is_response());

        match h.command {
            Smb1Command::SessionSetupAndx => {
                ann.exempt = true;
                self.on_smb1_session_setup(frame, &h, body, &mut ann);
            }
            Smb1Command::TreeConnectAndx if h.is_response() => {
                self.on_tree_connect_response(frame, h.status)
            }
            _ => {}
        }
        // Chained commands: old clients send TREE_CONNECT_ANDX behind
        // SESSION_SETUP_ANDX. Most messages end their chain at once (AndXCommand
        // 0xFF), so only those that do not are walked.
        let chained = h.command.is_andx()
            && body.first().is_some_and(|&wc| wc >= 2)
            && body.get(1).is_some_and(|&c| c != smb1::SMB1_ANDX_NONE);
        if chained {
            let chain = smb1::parse_smb1_andx_chain(msg, self.message_total);
            for link in chain.links.iter().skip(1) {
                if link.command == Smb1Command::TreeConnectAndx && h.is_response() {
                    self.on_tree_connect_response(frame, h.status);
                }
            }
            if let Some(e) = chain.error {
                self.note_decode_error(frame, e);
            }
        }

        // Oplock break notifications from the server are never signed
        // (MS-CIFS 3.3.4.1): LOCKING_ANDX request with MID 0xFFFF.
        let oplock_break =
            h.command == Smb1Command::LockingAndx && !h.is_response() && h.mid == 0xFFFF;
        if oplock_break {
            ann.exempt = true;
        }
        if let Some(active) = self.smb1_signing_active_frame {
            let session_exempt = self
                .session(h.uid as u64)
                .is_some_and(|s| s.guest || s.anonymous);
            if !ann.exempt && !session_exempt && frame > active && !smb1_signature_present(&h) {
                ann.unsigned_while_required = true;
                self.note_unsigned_while_required(frame);
            }
        }
        let present = smb1_signature_present(&h);
        let complete = self.complete;
        let verdict = match (self.smb1_signing_active_frame, self.signing.as_mut()) {
            (Some(active), Some(sg)) if !oplock_break && frame >= active => {
                let activating = frame == active
                    && h.command == Smb1Command::SessionSetupAndx
                    && h.is_response();
                if activating && !sg.smb1_activate(h.uid as u64) {
                    (Verdict::NoKey, None)
                } else {
                    let pid = ((h.pid_high as u32) << 16) | h.pid_low as u32;
                    let v = sg.verify_smb1(
                        msg,
                        complete,
                        h.is_response(),
                        pid,
                        h.mid,
                        h.command == Smb1Command::NtCancel,
                        activating.then_some(1),
                    );
                    if present {
                        v
                    } else {
                        Self::unsigned_verdict(&ann)
                    }
                }
            }
            // Before activation the SESSION_SETUP exchange carries
            // placeholders or signs with a key not yet established.
            (_, Some(_)) if present && ann.exempt => (Verdict::Exempt, None),
            (_, Some(_)) if present => (Verdict::NoKey, None),
            (_, None) if present => (Verdict::NotVerified, None),
            _ => Self::unsigned_verdict(&ann),
        };
        self.count_verdict(frame, h.uid as u64, &mut ann, verdict);
        Ok(ann)
    }

    fn on_smb1_session_setup(
        &mut self,
        frame: u64,
        h: &smb1::Smb1HeaderRecord<'_>,
        body: &[u8],
        ann: &mut MessageAnnotation,
    ) {
        if !h.is_response() {
            self.session_setup_requests += 1;
            if self.smb1_client_flags2.is_none() {
                self.smb1_client_flags2 = Some(h.flags2);
            }
            let mut p = PendingSetup {
                message_id: h.mid as u64,
                ..Default::default()
            };
            match smb1::parse_smb1_request_session_setup(body, h.unicode()) {
                Ok((_, smb1::Smb1SessionSetupRequestRecord::Extended { security_blob, .. })) => {
                    describe_blob(security_blob, &mut p);
                    if let Some(sg) = self.signing.as_mut() {
                        sg.on_setup_request(h.uid as u64, h.mid as u64, &[], security_blob);
                    }
                }
                Ok((
                    _,
                    smb1::Smb1SessionSetupRequestRecord::Plain {
                        oem_password,
                        unicode_password,
                        account_name,
                        primary_domain,
                        ..
                    },
                )) => {
                    p.mechanism = Some(AuthMechanism::Plain);
                    p.anonymous = account_name.is_empty()
                        && unicode_password.is_empty()
                        && (oem_password.is_empty() || oem_password == [0]);
                    if !account_name.is_empty() {
                        p.user = Some(join_user(&primary_domain, &account_name));
                    }
                }
                Err(e) => self.note_decode_error(frame, crate::wire::flatten(e)),
            }
            // Later legs of an extended exchange carry the UID already.
            if h.uid != 0
                && let Some(s) = self.session_mut(h.uid as u64, true)
            {
                apply_pending(s, &p);
            }
            self.push_pending(p);
            return;
        }

        let pending = self.take_pending(h.mid as u64);
        let parsed = if h.status.is_error() && h.status != NtStatus::MoreProcessingRequired {
            None
        } else {
            smb1::parse_smb1_response_session_setup(body)
                .ok()
                .map(|(_, r)| r)
        };
        let server_requires = self.server_signing() == Some(SigningSetting::Required);
        let client_requires = h.flags2 & smb1::SMB1_FLAGS2_SECURITY_SIGNATURE_REQUIRED != 0
            || self
                .smb1_client_flags2
                .is_some_and(|f| SigningSetting::from_smb1_flags2(f) == SigningSetting::Required);
        // A real signature on the successful response shows signing started
        // even when neither side's settings are visible (Samba sets no
        // Flags2 bits).
        let signing_negotiated = server_requires || client_requires || smb1_signature_present(h);
        let already_active = self.smb1_signing_active_frame.is_some();
        if let Some(sg) = self.signing.as_mut() {
            let blob = parsed.as_ref().and_then(|r| r.security_blob).unwrap_or(&[]);
            let guestish = parsed.as_ref().is_some_and(|r| r.is_guest())
                || pending.as_ref().is_some_and(|p| p.anonymous);
            sg.on_setup_response(
                h.uid as u64,
                h.mid as u64,
                h.status,
                &[],
                blob,
                None,
                guestish,
            );
        }
        let Some(s) = self.session_mut(h.uid as u64, true) else {
            return;
        };
        if let Some(p) = &pending {
            apply_pending(s, p);
        }
        if let Some(r) = &parsed {
            ann.session_flags = Some(r.action);
            if r.is_guest() {
                s.guest = true;
            }
            if let Some(blob) = r.security_blob
                && s.mechanism == AuthMechanism::Unknown
                && let Some(m) = blob_mechanism(blob)
            {
                s.mechanism = mech(m);
            }
        }
        if h.status == NtStatus::Success {
            s.established = true;
            s.established_frame = Some(frame);
            s.failed_status = None;
            s.signing_required = signing_negotiated && !s.guest && !s.anonymous;
            // Activation: first successful non-guest, non-anonymous setup
            // when signing was negotiated (MS-CIFS 3.2.5.3).
            if s.signing_required && !already_active {
                self.smb1_signing_active_frame = Some(frame);
            }
        } else if h.status != NtStatus::MoreProcessingRequired {
            s.failed_status = Some(h.status);
        }
    }

    fn on_smb2(
        &mut self,
        dir: Direction,
        frame: u64,
        msg: &[u8],
        offset: usize,
    ) -> Result<MessageAnnotation, WireError> {
        let (_, h) = smb2::parse_smb2_header(msg).map_err(crate::wire::flatten)?;
        let _ = dir;
        let mut ann = MessageAnnotation::header(
            SmbFamily::Smb2,
            h.command.0,
            h.is_response(),
            h.status,
            (h.message_id, h.session_id),
            h.is_signed(),
            h.signature,
            (offset, msg.len()),
        );
        if h.command == Smb2Command::Negotiate {
            ann.exempt = true;
            ann.verdict = Verdict::Exempt;
            self.on_smb2_negotiate(&h, msg, &mut ann)?;
            return Ok(ann);
        }
        self.count_message(h.is_signed(), h.is_response());
        match h.command {
            Smb2Command::SessionSetup => {
                ann.exempt = true;
                self.on_smb2_session_setup(frame, &h, msg, &mut ann);
            }
            Smb2Command::TreeConnect if h.is_response() => {
                self.on_tree_connect_response(frame, h.status)
            }
            _ => {}
        }
        let interim = h.is_response() && h.is_async() && h.status == NtStatus::Pending;
        let notification = h.command == Smb2Command::OplockBreak && h.message_id == u64::MAX;
        let session_gone = h.is_response()
            && (h.status == NtStatus::UserSessionDeleted
                || h.status == NtStatus::NetworkSessionExpired);
        if interim || notification || session_gone || h.session_id == 0 {
            ann.exempt = true;
        }
        if !ann.exempt && !h.is_signed() {
            // Messages of an encrypted session that show up in clear were
            // decrypted by the capturing tool: they never carried a signature.
            let required = self
                .session(h.session_id)
                .is_some_and(|s| s.established && s.signing_required && !s.encrypted);
            if required {
                ann.unsigned_while_required = true;
                self.note_unsigned_while_required(frame);
            }
        }
        let verdict = if h.is_signed() {
            let dialect = match &self.dialect {
                Some(Dialect::Smb2(d)) => Some(*d),
                _ => None,
            };
            let algorithm = self.signing_algorithm;
            let complete = self.complete;
            match (self.signing.as_mut(), self.mac_batch.as_mut()) {
                (Some(sg), Some(batch)) => {
                    match sg.smb2_signer(h.session_id, complete, dialect, algorithm) {
                        Ok(signer) => {
                            batch.push(frame, h.session_id, signer, msg);
                            ann.verdict = Verdict::Deferred;
                            return Ok(ann);
                        }
                        Err(v) => (v, None),
                    }
                }
                (Some(sg), None) => sg.verify_smb2(h.session_id, msg, complete, dialect, algorithm),
                (None, _) => (Verdict::NotVerified, None),
            }
        } else {
            Self::unsigned_verdict(&ann)
        };
        self.count_verdict(frame, h.session_id, &mut ann, verdict);
        Ok(ann)
    }

    fn on_smb2_negotiate(
        &mut self,
        h: &smb2::Smb2HeaderRecord<'_>,
        msg: &[u8],
        ann: &mut MessageAnnotation,
    ) -> Result<(), WireError> {
        if h.is_response() {
            self.negotiate_responses += 1;
            if h.status != NtStatus::Success {
                return Ok(());
            }
            let (_, r) = smb2::parse_smb2_response_negotiate(msg).map_err(crate::wire::flatten)?;
            if let Some(sg) = self.signing.as_mut() {
                sg.on_negotiate_response(msg, r.dialect);
            }
            self.server_security_mode = Some(r.security_mode);
            self.server_security_mode_smb1 = false;
            self.server_capabilities = Some(r.capabilities);
            ann.security_mode = Some(r.security_mode);
            let d = Dialect::Smb2(r.dialect);
            ann.dialect = Some(d.name());
            self.dialect = Some(d);
            for c in &r.contexts {
                match c.context_type {
                    NegotiateContextType::SigningCapabilities => {
                        if let Ok(ids) = smb2::parse_context_id_list(c.data) {
                            self.signing_algorithm = ids.first().map(|&i| SigningAlgorithm(i));
                        }
                    }
                    NegotiateContextType::Encryption => {
                        if let Ok(ids) = smb2::parse_context_id_list(c.data) {
                            self.cipher = ids.first().map(|&i| Cipher(i));
                        }
                    }
                    _ => {}
                }
            }
        } else {
            self.negotiate_requests += 1;
            let (_, r) = smb2::parse_smb2_request_negotiate(msg).map_err(crate::wire::flatten)?;
            if let Some(sg) = self.signing.as_mut() {
                sg.on_negotiate_request(msg);
            }
            self.client_security_mode = Some(r.security_mode);
            ann.security_mode = Some(r.security_mode);
            self.smb2_dialects_offered = r.dialects.clone();
            for c in &r.contexts {
                if c.context_type == NegotiateContextType::SigningCapabilities
                    && let Ok(ids) = smb2::parse_context_id_list(c.data)
                {
                    self.signing_algorithms_offered =
                        ids.into_iter().map(SigningAlgorithm).collect();
                }
            }
        }
        Ok(())
    }

    fn on_smb2_session_setup(
        &mut self,
        frame: u64,
        h: &smb2::Smb2HeaderRecord<'_>,
        msg: &[u8],
        ann: &mut MessageAnnotation,
    ) {
        if !h.is_response() {
            self.session_setup_requests += 1;
            let mut p = PendingSetup {
                message_id: h.message_id,
                ..Default::default()
            };
            match smb2::parse_smb2_request_session_setup(msg) {
                Ok((_, r)) => {
                    describe_blob(r.security_blob, &mut p);
                    if let Some(sg) = self.signing.as_mut() {
                        sg.on_setup_request(h.session_id, h.message_id, msg, r.security_blob);
                    }
                    p.smb2_security_mode = Some(r.security_mode);
                    if self.smb2_setup_security_mode.is_none() {
                        self.smb2_setup_security_mode = Some(r.security_mode);
                    }
                }
                Err(e) => self.note_decode_error(frame, crate::wire::flatten(e)),
            }
            if h.session_id != 0
                && let Some(s) = self.session_mut(h.session_id, false)
            {
                apply_pending(s, &p);
            }
            self.push_pending(p);
            return;
        }
        let pending = self.take_pending(h.message_id);
        let parsed = if h.status.is_error() && h.status != NtStatus::MoreProcessingRequired {
            None
        } else {
            match smb2::parse_smb2_response_session_setup(msg) {
                Ok((_, r)) => Some(r),
                Err(e) => {
                    self.note_decode_error(frame, crate::wire::flatten(e));
                    None
                }
            }
        };
        let required = self.smb2_signing_required();
        let dialect = match &self.dialect {
            Some(Dialect::Smb2(d)) => Some(*d),
            _ => None,
        };
        if let Some(sg) = self.signing.as_mut() {
            let blob = parsed.as_ref().map_or(&[][..], |r| r.security_blob);
            let flags = parsed.as_ref().map_or(0, |r| r.session_flags);
            let guestish =
                flags & (smb2::SMB2_SESSION_FLAG_IS_GUEST | smb2::SMB2_SESSION_FLAG_IS_NULL) != 0
                    || pending.as_ref().is_some_and(|p| p.anonymous);
            sg.on_setup_response(
                h.session_id,
                h.message_id,
                h.status,
                msg,
                blob,
                dialect,
                guestish,
            );
        }
        if h.session_id == 0 {
            return;
        }
        let Some(s) = self.session_mut(h.session_id, false) else {
            return;
        };
        if let Some(p) = &pending {
            apply_pending(s, p);
        }
        if let Some(r) = &parsed {
            ann.session_flags = Some(r.session_flags);
            if r.session_flags & smb2::SMB2_SESSION_FLAG_IS_GUEST != 0 {
                s.guest = true;
            }
            if r.session_flags & smb2::SMB2_SESSION_FLAG_IS_NULL != 0 {
                s.anonymous = true;
            }
            if r.session_flags & smb2::SMB2_SESSION_FLAG_ENCRYPT_DATA != 0 {
                s.encrypted = true;
            }
            if s.mechanism == AuthMechanism::Unknown
                && let Some(m) = blob_mechanism(r.security_blob)
            {
                s.mechanism = mech(m);
            }
        }
        if h.status == NtStatus::Success {
            s.established = true;
            s.established_frame = Some(frame);
            s.failed_status = None;
            let setup_requires = pending
                .as_ref()
                .and_then(|p| p.smb2_security_mode)
                .is_some_and(|m| m as u16 & smb2::SMB2_NEGOTIATE_SIGNING_REQUIRED != 0);
            s.signing_required = (required || setup_requires) && !s.guest && !s.anonymous;
        } else if h.status != NtStatus::MoreProcessingRequired {
            s.failed_status = Some(h.status);
        }
    }

    /// TREE_CONNECT response (SMB1 or SMB2): STATUS_ACCESS_DENIED is the
    /// KB's "server requires, client disabled" symptom.
    fn on_tree_connect_response(&mut self, frame: u64, status: NtStatus) {
        if status == NtStatus::AccessDenied {
            self.tree_connect_denied_frame.get_or_insert(frame);
        } else if !status.is_error() {
            self.tree_connects_ok += 1;
        }
    }

    /// The capture layer saw FIN or RST.
    pub fn on_close(&mut self) {
        self.closed = true;
    }
}

/// The literal Windows writes into SMB1 SESSION_SETUP signatures before
/// signing is active (MS-SMB 3.2.4.1.1; Samba smb1_signing_sign_pdu).
pub const SMB1_BSRSPYL: &[u8; 8] = b"BSRSPYL ";

/// An SMB1 message carries a signature: the Flags2 bit, or a signature field
/// that is neither zero nor the pre-activation placeholder (Samba signs
/// without setting the flag).
pub fn smb1_signature_present(h: &smb1::Smb1HeaderRecord<'_>) -> bool {
    h.is_signed() || (h.signature != [0u8; 8] && h.signature != SMB1_BSRSPYL)
}

/// A signature field copied into a fixed buffer (no allocation per message).
fn sig16(sig: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    let n = sig.len().min(16);
    out[..n].copy_from_slice(&sig[..n]);
    out
}

fn mech(m: Mechanism) -> AuthMechanism {
    match m {
        Mechanism::Ntlmssp => AuthMechanism::Ntlmssp,
        Mechanism::Kerberos => AuthMechanism::Kerberos,
    }
}

fn join_user(domain: &str, user: &str) -> String {
    if domain.is_empty() {
        user.to_owned()
    } else {
        format!("{domain}\\{user}")
    }
}

/// Mechanism, user and anonymity from a session setup request's blob.
fn describe_blob(blob: &[u8], p: &mut PendingSetup) {
    if let Some(m) = blob_mechanism(blob) {
        p.mechanism = Some(mech(m));
    }
    if let Some(Ok(NtlmsspRecord::Authenticate(a))) = find_ntlmssp(blob) {
        p.anonymous = a.is_anonymous();
        let user = a.user_name();
        if !user.is_empty() {
            p.user = Some(join_user(&a.domain_name(), &user));
        }
    }
}

fn apply_pending(s: &mut Session, p: &PendingSetup) {
    if let Some(m) = p.mechanism {
        s.mechanism = m;
    }
    if p.user.is_some() {
        s.user = p.user.clone();
    }
    if p.anonymous {
        s.anonymous = true;
    }
}
