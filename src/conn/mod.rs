//! Connection state: what one SMB connection negotiated and did, built from
//! its messages in wire order. Fed PDUs that the framer classified once
//! (family, kept bytes, declared length) with a direction and a frame
//! number; knows nothing of captures, files or output formats.
//!
//! - `model.rs`: the connection, each side's offer, sessions, counters;
//! - `smb1.rs`, `smb2.rs`: the two families' paths;
//! - `setup.rs`: session setup for both;
//! - `ntlm.rs`: each NTLM exchange's evidence (relay, MIC removal);
//! - `validate.rs`: FSCTL_VALIDATE_NEGOTIATE_INFO and TREE_CONNECT names;
//! - `annotation.rs`: per-message facts for callers that annotate PDUs.
#![forbid(unsafe_code)]

mod annotation;
mod compression;
mod model;
mod ntlm;
mod setup;
mod smb1;
mod smb2;
#[cfg(test)]
mod tests;
mod trees;
mod validate;

pub use crate::verify::{KeyState, MacBatch, MacJob, Verdict};
pub use crate::wire::{Dialect, SigningSetting};
pub use annotation::MessageAnnotation;
pub use model::{
    AuthMechanism, ClientOffer, Connection, Counts, Decompression, MAX_FRAMES_LISTED, MAX_SESSIONS,
    MAX_TREE_CONNECTS, ServerAnswer, Session, Tally, TreeConnect,
};
pub use ntlm::{LegacyFacts, MAX_NTLM_LOGONS, MicField, NtlmAuth, NtlmChallenge, NtlmLogon};
pub use smb1::{SMB1_BSRSPYL, smb1_signature_present};
pub use validate::{ValidateNegotiate, ValidateRequest, ValidateResponse};

use crate::verify::{Credentials, Signing};
use crate::wire::nbss::SmbFamily;
use crate::wire::smb2 as wire_smb2;
use crate::wire::{NtStatus, Pdu, WireError, flatten};
use std::sync::Arc;

/// Which way a message travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Direction {
    ToServer = 0,
    ToClient = 1,
}

impl Connection {
    pub fn new() -> Self {
        Self::default()
    }

    /// A connection that verifies signatures with `creds`.
    pub fn with_credentials(creds: Arc<Credentials>) -> Self {
        Connection {
            verify: Some(Box::new(Signing::new(creds))),
            ..Self::default()
        }
    }

    /// Start verifying with `creds` if this connection does not verify yet
    /// (credentials given after the connection was created). Returns false
    /// when it already verifies.
    pub fn add_credentials(&mut self, creds: Arc<Credentials>) -> bool {
        if self.verify.is_some() {
            return false;
        }
        self.verify = Some(Box::new(Signing::new(creds)));
        true
    }

    /// Feed one SMB PDU given as bytes (whole). See `on_message`.
    pub fn on_pdu(
        &mut self,
        dir: Direction,
        frame: u64,
        pdu: &[u8],
        out: Option<&mut Vec<MessageAnnotation>>,
    ) {
        self.on_pdu_prefix(dir, frame, pdu, pdu.len(), out);
    }

    /// As `on_pdu`, for a PDU of `total` bytes of which only `pdu` was kept
    /// (signatures of partial messages cannot be checked).
    pub fn on_pdu_prefix(
        &mut self,
        dir: Direction,
        frame: u64,
        pdu: &[u8],
        total: usize,
        out: Option<&mut Vec<MessageAnnotation>>,
    ) {
        match Pdu::classify(pdu, total) {
            Some(p) => self.on_message(dir, frame, p, out),
            None => {
                self.note_frame(frame);
                self.note_decode_error(frame, WireError::Malformed("not an SMB message"));
            }
        }
    }

    /// Feed one classified SMB PDU. Facts land in `self`; when `out` is
    /// given, one annotation per SMB message is appended to it. The SMB1
    /// and SMB2 headers say which way they travelled; `_dir` is the
    /// caller's word for the headers that do not (a transform message's
    /// cipher key depends on it once decryption exists).
    pub fn on_message(
        &mut self,
        dir: Direction,
        frame: u64,
        pdu: Pdu<'_>,
        mut out: Option<&mut Vec<MessageAnnotation>>,
    ) {
        self.note_frame(frame);
        let mut emit = |r: Result<MessageAnnotation, WireError>, c: &mut Connection| match r {
            Ok(a) => {
                if let Some(out) = out.as_deref_mut() {
                    out.push(a);
                }
            }
            Err(e) => c.note_decode_error(frame, e),
        };
        match pdu.family {
            SmbFamily::Smb1 => {
                self.counts.smb1 += 1;
                let r = self.on_smb1(frame, pdu);
                emit(r, self);
            }
            SmbFamily::Smb2 => {
                let mut offset = 0;
                for part in wire_smb2::smb2_compound_iter(pdu.bytes) {
                    let r = part.and_then(|msg| {
                        self.counts.smb2 += 1;
                        let at = offset;
                        offset += msg.len();
                        self.on_smb2(frame, msg, at, pdu.is_complete())
                    });
                    emit(r, self);
                }
            }
            SmbFamily::Transform => {
                self.counts.encrypted += 1;
                let r = self.on_transform(frame, dir, pdu);
                let settled = !matches!(
                    &r,
                    Ok(a) if matches!(a.verdict, Verdict::Deferred | Verdict::Valid | Verdict::Forged)
                );
                if settled {
                    // No decryption was tried (or it was cut short).
                    self.note_outcome(None, None);
                }
                emit(r, self);
            }
            SmbFamily::Compression => {
                self.counts.compressed += 1;
                if pdu.is_complete() {
                    self.on_compressed(frame, pdu.bytes);
                } else if let Err(e) = wire_smb2::parse_smb2_compression_header(pdu.bytes) {
                    self.note_decode_error(frame, flatten(e));
                } else {
                    self.decompression
                        .note_failure("cut short in the capture".into());
                }
            }
        }
    }

    fn note_frame(&mut self, frame: u64) {
        self.first_frame.get_or_insert(frame);
        self.last_frame = Some(frame);
    }

    /// An SMB3 TRANSFORM message: its session is encrypted. Its header has
    /// no response bit, so the annotation says none (`is_response` false,
    /// whatever way it travelled): the same from every path.
    fn on_transform(
        &mut self,
        frame: u64,
        dir: Direction,
        pdu: Pdu<'_>,
    ) -> Result<MessageAnnotation, WireError> {
        let (_, t) = wire_smb2::parse_smb2_transform_header(pdu.bytes).map_err(flatten)?;
        if let Some(s) = self.session_mut(t.session_id, false) {
            s.encrypted = true;
            s.transforms += 1;
        }
        let mut ann = MessageAnnotation::from_header(
            annotation::HeaderFacts {
                family: SmbFamily::Transform,
                command: 0,
                is_response: false,
                status: NtStatus(0),
                message_id: 0,
                session_id: t.session_id,
                flags_signed: false,
                signature: t.signature,
            },
            (0, pdu.bytes.len()),
        );
        ann.exempt();
        ann.verdict = self
            .decrypt_transform(frame, dir, &t, pdu)
            .unwrap_or(Verdict::Exempt);
        Ok(ann)
    }

    /// With verification: the TRANSFORM message's tag checked with its
    /// session's cipher key and, when it holds, the messages inside
    /// analysed like cleartext ones. With a MAC batch lent, the message
    /// goes into it instead (`Verdict::Deferred`; `apply_decrypted` brings
    /// the result back). None without credentials or before a 3.x dialect.
    fn decrypt_transform(
        &mut self,
        frame: u64,
        dir: Direction,
        t: &wire_smb2::Smb2TransformHeaderRecord<'_>,
        pdu: Pdu<'_>,
    ) -> Option<Verdict> {
        use crate::verify::TransformVerdict;
        let dialect = self.dialect.as_ref()?.smb2()?;
        let cipher = self.server.cipher;
        let v = self.verify.as_mut()?;
        let size = t.original_message_size as usize;
        if !pdu.is_complete() || pdu.bytes.len() < wire_smb2::SMB2_TRANSFORM_HEADER_LEN + size {
            return Some(Verdict::Unverifiable);
        }
        let to_server = dir == Direction::ToServer;
        let result = match self.mac_batch.as_mut() {
            Some(batch) => match v.decryptor(t.session_id, dialect, cipher, to_server) {
                Ok(d) => {
                    batch.push_transform(frame, t.session_id, d, pdu.bytes, size);
                    let ordinal = self.counts.encrypted.saturating_sub(1);
                    if let Some(o) = self.outcomes.as_mut() {
                        o.deferred.push_back(ordinal);
                    }
                    return Some(Verdict::Deferred);
                }
                Err(e) => Err(e),
            },
            None => v.decrypt(t.session_id, dialect, cipher, to_server, pdu.bytes, size),
        };
        Some(match result {
            Ok(plain) => self.apply_decrypted_now(frame, Verdict::Valid, &plain),
            Err(TransformVerdict::NoKey) => Verdict::NoKey,
            Err(TransformVerdict::Truncated) => Verdict::Unverifiable,
            Err(TransformVerdict::BadTag) => self.apply_decrypted_now(frame, Verdict::Forged, &[]),
        })
    }

    /// Keep what became of each TRANSFORM message from now on, plaintext
    /// included, until taken (`take_outcomes`).
    pub fn keep_plaintexts(&mut self) {
        self.outcomes.get_or_insert_default();
    }

    /// The TRANSFORM outcomes settled since the last call: (ordinal,
    /// plaintext when it decrypted).
    pub fn take_outcomes(&mut self) -> Vec<(u64, Option<Vec<u8>>)> {
        self.outcomes
            .as_mut()
            .map(|o| std::mem::take(&mut o.done))
            .unwrap_or_default()
    }

    /// Record the outcome of a TRANSFORM message: the current one (`None`
    /// ordinal) or a deferred one.
    fn note_outcome(&mut self, ordinal: Option<u64>, plain: Option<&[u8]>) {
        let current = self.counts.encrypted.saturating_sub(1);
        if let Some(o) = self.outcomes.as_mut() {
            o.done
                .push((ordinal.unwrap_or(current), plain.map(<[u8]>::to_vec)));
        }
    }

    /// `apply_decrypted` for the TRANSFORM message being analysed.
    fn apply_decrypted_now(&mut self, frame: u64, verdict: Verdict, plain: &[u8]) -> Verdict {
        self.note_outcome(None, (verdict == Verdict::Valid).then_some(plain));
        self.analyse_decrypted(frame, verdict, plain)
    }

    /// The result of a TRANSFORM message of `frame`, decrypted here or
    /// elsewhere: `Valid` with its plaintext, which is analysed like
    /// cleartext; `Forged` for a tag that did not verify. Returns the
    /// verdict.
    pub fn apply_decrypted(&mut self, frame: u64, verdict: Verdict, plain: &[u8]) -> Verdict {
        if let Some(o) = self.outcomes.as_mut() {
            let ordinal = o.deferred.pop_front();
            self.note_outcome(ordinal, (verdict == Verdict::Valid).then_some(plain));
        }
        self.analyse_decrypted(frame, verdict, plain)
    }

    fn analyse_decrypted(&mut self, frame: u64, verdict: Verdict, plain: &[u8]) -> Verdict {
        match verdict {
            Verdict::Valid => {}
            Verdict::Forged => {
                self.tally.note_bad_tag(frame);
                return verdict;
            }
            other => return other,
        }
        self.tally.decrypted += 1;
        self.decrypting = true;
        if plain.starts_with(b"\xfcSMB") {
            // Compressed, then encrypted (MS-SMB2 3.1.4.4 compresses first).
            self.counts.compressed += 1;
            self.on_compressed(frame, plain);
        } else {
            self.analyse_smb2(frame, plain);
        }
        self.decrypting = false;
        Verdict::Valid
    }

    /// SMB2 messages of a whole PDU that was decrypted or decompressed
    /// (a compound chain): analysed like cleartext, and counted per
    /// command when they came out of the tunnel.
    fn analyse_smb2(&mut self, frame: u64, plain: &[u8]) {
        let mut offset = 0;
        for part in wire_smb2::smb2_compound_iter(plain) {
            let r = part.and_then(|msg| {
                self.counts.smb2 += 1;
                let at = offset;
                offset += msg.len();
                let ann = self.on_smb2(frame, msg, at, true)?;
                // Bounded: a few dozen codes exist.
                let known = self.decrypted_commands.contains_key(&ann.command);
                if self.decrypting && (known || self.decrypted_commands.len() < 64) {
                    *self.decrypted_commands.entry(ann.command).or_default() += 1;
                }
                Ok(ann)
            });
            if let Err(e) = r {
                self.note_decode_error(frame, e);
            }
        }
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

    /// The capture layer saw FIN or RST.
    pub fn on_close(&mut self) {
        self.closed = true;
    }
}
