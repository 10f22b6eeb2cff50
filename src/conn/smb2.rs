//! The SMB2/3 path of the state machine: negotiate, session setup, tree
//! connect, signing in force, and the signature of every message.

use super::annotation::{HeaderFacts, MessageAnnotation};
use super::model::{Connection, Tally};
use super::setup::{PendingSetup, SetupResponse};
use crate::verify::Verdict;
use crate::wire::nbss::SmbFamily;
use crate::wire::ntlmssp::find_ntlmssp;
use crate::wire::smb2::{
    self, Cipher, NegotiateContextType, SMB2_SESSION_FLAG_ENCRYPT_DATA, SMB2_SESSION_FLAG_IS_GUEST,
    SMB2_SESSION_FLAG_IS_NULL, SigningAlgorithm, Smb2Command, Smb2HeaderRecord,
};
use crate::wire::{Dialect, NtStatus, SecurityMode, Smb2SecurityMode, WireError, flatten};

impl Connection {
    /// One SMB2 message of a PDU (a compound part), at `offset` in it.
    pub(super) fn on_smb2(
        &mut self,
        frame: u64,
        msg: &[u8],
        offset: usize,
        complete: bool,
    ) -> Result<MessageAnnotation, WireError> {
        let (_, h) = smb2::parse_smb2_header(msg).map_err(flatten)?;
        let mut ann = MessageAnnotation::from_header(
            HeaderFacts {
                family: SmbFamily::Smb2,
                command: h.command.0,
                is_response: h.is_response(),
                status: h.status,
                message_id: h.message_id,
                session_id: h.session_id,
                flags_signed: h.is_signed(),
                signature: h.signature,
            },
            (offset, msg.len()),
        );
        if h.command == Smb2Command::Negotiate {
            ann.exempt();
            ann.verdict = Verdict::Exempt;
            self.on_smb2_negotiate(&h, msg, complete, &mut ann)?;
            return Ok(ann);
        }
        self.count_message(h.is_signed(), h.is_response());
        match h.command {
            Smb2Command::SessionSetup => {
                ann.exempt();
                if h.is_response() {
                    self.on_smb2_setup_response(frame, &h, msg, &mut ann);
                } else {
                    self.on_smb2_setup_request(frame, &h, msg);
                }
            }
            Smb2Command::TreeConnect if h.is_response() => {
                self.on_smb2_tree_connect_response(frame, &h, msg);
            }
            Smb2Command::TreeConnect => self.on_smb2_tree_connect_request(frame, &h, msg),
            Smb2Command::Ioctl => self.on_smb2_ioctl(frame, &h, msg),
            _ => {}
        }
        if exempt_from_signing(&h) {
            ann.exempt();
        }
        if !self.decrypting && !h.is_response() && h.command != Smb2Command::SessionSetup {
            self.note_if_cleartext_on_encrypted(frame, &h);
        }
        if !ann.exempt && !h.is_signed() {
            // Messages of an encrypted session that show up in clear were
            // decrypted by the capturing tool: they never carried a signature.
            ann.unsigned_while_required = self
                .session(h.session_id)
                .is_some_and(|s| s.established() && s.signing_required && !s.encrypted);
            if ann.unsigned_while_required {
                self.note_unsigned_while_required(h.is_response());
            }
        }
        if !h.is_signed() {
            ann.verdict = ann.unsigned_verdict();
        } else if let Some(v) = self.smb2_verdict(frame, &h, msg, complete, &mut ann) {
            ann.verdict = v;
        } else {
            ann.verdict = Verdict::Deferred;
            return Ok(ann);
        }
        self.tally_verdict(frame, h.session_id, ann.verdict);
        Ok(ann)
    }

    /// A request sent in clear on a session whose SESSION_SETUP response
    /// required encryption, or on a share whose TREE_CONNECT response did.
    fn note_if_cleartext_on_encrypted(&mut self, frame: u64, h: &Smb2HeaderRecord<'_>) {
        let session = self.session(h.session_id).is_some_and(|s| s.encrypt_data);
        if !session && !self.encrypting_trees {
            return;
        }
        let share = self.encrypting_trees
            && h.tree_id().is_some_and(|tid| {
                self.tree_connects.iter().any(|t| {
                    t.tree_id == Some(tid)
                        && t.session_id == h.session_id
                        && t.share_flags
                            .is_some_and(|f| f & smb2::SHARE_FLAG_ENCRYPT_DATA != 0)
                })
            });
        // Only a session already known (no new one for a stray id).
        if let Some(s) = self
            .sessions
            .iter_mut()
            .find(|s| s.id == h.session_id && !s.smb1)
            && s.established()
            && (session || share)
        {
            s.cleartext_requests += 1;
            Tally::note(&mut s.cleartext_frames, frame);
        }
    }

    /// Verdict of a signed message, or None when its MAC went to the batch.
    fn smb2_verdict(
        &mut self,
        frame: u64,
        h: &Smb2HeaderRecord<'_>,
        msg: &[u8],
        complete: bool,
        ann: &mut MessageAnnotation,
    ) -> Option<Verdict> {
        let algorithm = self.mac_algorithm();
        let Some(v) = self.verify.as_mut() else {
            return Some(Verdict::NotVerified);
        };
        let signer = match v.smb2_signer(h.session_id, complete, algorithm) {
            Ok(s) => s,
            Err(verdict) => return Some(verdict),
        };
        if let Some(batch) = self.mac_batch.as_mut() {
            batch.push(frame, h.session_id, signer, msg);
            return None;
        }
        let (verdict, expected) = v.smb2_verdict(&signer, msg);
        ann.expected_signature = expected;
        Some(verdict)
    }

    /// A NEGOTIATE. Contexts that run past a whole message make it
    /// malformed; past a prefix the capture kept (a short snaplen), the
    /// fields before the cut still count.
    fn on_smb2_negotiate(
        &mut self,
        h: &Smb2HeaderRecord<'_>,
        msg: &[u8],
        complete: bool,
        ann: &mut MessageAnnotation,
    ) -> Result<(), WireError> {
        const PAST_THE_END: WireError = WireError::Malformed("negotiate contexts past the message");
        if !h.is_response() {
            self.counts.negotiate_requests += 1;
            let (_, r) = smb2::parse_smb2_request_negotiate(msg).map_err(flatten)?;
            if r.contexts.truncated && complete {
                return Err(PAST_THE_END);
            }
            if let Some(v) = self.verify.as_mut() {
                v.on_negotiate_request(msg);
            }
            let mode = Smb2SecurityMode(r.security_mode);
            self.client.security_mode = Some(mode);
            self.client.capabilities = Some(r.capabilities);
            self.client.client_guid = r.client_guid.try_into().ok();
            self.client.negotiate_frame = self.last_frame;
            ann.security_mode = Some(SecurityMode::Smb2(mode));
            self.client.smb2_dialects = r.dialects.clone();
            for c in &r.contexts.list {
                if c.context_type == NegotiateContextType::SigningCapabilities
                    && let Ok(ids) = smb2::parse_context_id_list(c.data)
                {
                    self.client.signing_algorithms =
                        ids.into_iter().map(SigningAlgorithm).collect();
                }
            }
            return Ok(());
        }
        self.counts.negotiate_responses += 1;
        if h.status != NtStatus::Success {
            return Ok(());
        }
        let (_, r) = smb2::parse_smb2_response_negotiate(msg).map_err(flatten)?;
        if r.contexts.truncated && complete {
            return Err(PAST_THE_END);
        }
        if let Some(v) = self.verify.as_mut() {
            v.on_negotiate_response(msg, r.dialect);
        }
        let mode = SecurityMode::Smb2(Smb2SecurityMode(r.security_mode));
        self.server.security_mode = Some(mode);
        self.server.capabilities = Some(r.capabilities);
        self.server.server_guid = r.server_guid.try_into().ok();
        self.server.negotiate_frame = self.last_frame;
        ann.security_mode = Some(mode);
        let d = Dialect::Smb2(r.dialect);
        ann.dialect = Some(d.clone());
        self.dialect = Some(d);
        self.server.contexts_truncated = r.contexts.truncated;
        for c in &r.contexts.list {
            let first = || smb2::parse_context_id_list(c.data).ok()?.first().copied();
            match c.context_type {
                NegotiateContextType::SigningCapabilities => {
                    self.server.signing_algorithm = first().map(SigningAlgorithm)
                }
                NegotiateContextType::Encryption => self.server.cipher = first().map(Cipher),
                _ => {}
            }
        }
        Ok(())
    }

    fn on_smb2_setup_request(&mut self, frame: u64, h: &Smb2HeaderRecord<'_>, msg: &[u8]) {
        let mut p = PendingSetup::new(h.message_id);
        match smb2::parse_smb2_request_session_setup(msg) {
            Ok((_, r)) => {
                let ntlm = find_ntlmssp(r.security_blob).and_then(Result::ok);
                let auth = self.ntlm_on_request(frame, h.session_id, ntlm.as_ref());
                p.describe_blob(r.security_blob, auth);
                if let Some(v) = self.verify.as_mut() {
                    v.on_setup_request(h.session_id, h.message_id, msg, r.security_blob);
                }
                let mode = Smb2SecurityMode(r.security_mode as u16);
                p.smb2_security_mode = Some(mode);
                self.client.setup_security_mode.get_or_insert(mode);
            }
            Err(e) => self.note_decode_error(frame, flatten(e)),
        }
        self.begin_session_setup(h.session_id, false, p);
    }

    fn on_smb2_setup_response(
        &mut self,
        frame: u64,
        h: &Smb2HeaderRecord<'_>,
        msg: &[u8],
        ann: &mut MessageAnnotation,
    ) {
        let parsed = if h.status.is_error() && h.status != NtStatus::MoreProcessingRequired {
            None
        } else {
            match smb2::parse_smb2_response_session_setup(msg) {
                Ok((_, r)) => Some(r),
                Err(e) => {
                    self.note_decode_error(frame, flatten(e));
                    None
                }
            }
        };
        let flags = parsed.as_ref().map_or(0, |r| r.session_flags);
        if h.session_id != 0 {
            ann.session_flags = parsed.as_ref().map(|r| r.session_flags);
        }
        let signing_negotiated = self.either_requires_signing();
        self.finish_session_setup(
            frame,
            SetupResponse {
                smb1: false,
                session_id: h.session_id,
                message_id: h.message_id,
                status: h.status,
                msg,
                blob: parsed.as_ref().map_or(&[][..], |r| r.security_blob),
                guest: flags & SMB2_SESSION_FLAG_IS_GUEST != 0,
                null: flags & SMB2_SESSION_FLAG_IS_NULL != 0,
                encrypt_data: flags & SMB2_SESSION_FLAG_ENCRYPT_DATA != 0,
                decoded: parsed.is_some(),
                signing_negotiated,
            },
        );
    }
}

/// Messages MS-SMB2 never signs: interim responses, oplock break
/// notifications, responses about a session that is gone, and anything
/// outside a session.
fn exempt_from_signing(h: &Smb2HeaderRecord<'_>) -> bool {
    let interim = h.is_response() && h.is_async() && h.status == NtStatus::Pending;
    let notification = h.command == Smb2Command::OplockBreak && h.message_id == u64::MAX;
    let session_gone = h.is_response()
        && (h.status == NtStatus::UserSessionDeleted
            || h.status == NtStatus::NetworkSessionExpired);
    interim || notification || session_gone || h.session_id == 0
}
