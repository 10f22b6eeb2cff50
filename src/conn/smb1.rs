//! The SMB1 path of the state machine: negotiate, session setup (extended
//! security and legacy), AndX chains, signing activation (MS-CIFS 3.2.5.3)
//! and the signature of every message.

use super::annotation::{HeaderFacts, MessageAnnotation};
use super::model::{AuthMechanism, Connection};
use super::setup::{PendingSetup, SetupResponse, join_user};
use crate::verify::Verdict;
use crate::verify::ntlm::LegacyLogon;
use crate::wire::nbss::SmbFamily;
use crate::wire::ntlmssp::find_ntlmssp;
use crate::wire::smb1::{
    self, Smb1Command, Smb1HeaderRecord, Smb1NegotiateResponseRecord, Smb1SessionSetupRequestRecord,
};
use crate::wire::{
    Dialect, NtStatus, Pdu, SecurityMode, SigningSetting, Smb1SecurityMode, WireError, flatten,
};

/// The literal Windows writes into SMB1 SESSION_SETUP signatures before
/// signing is active (MS-SMB 3.2.4.1.1; Samba smb1_signing_sign_pdu).
pub const SMB1_BSRSPYL: &[u8; 8] = b"BSRSPYL ";

/// An SMB1 message carries a signature: the Flags2 bit, or a signature field
/// that is not zero (Samba signs without setting the flag). The
/// pre-activation placeholder "BSRSPYL " is never a signature, even with
/// the flag: Samba's smbd answers a logon without extended security with it
/// and never signs (lab capture smb1-ntlmv1-signed, frame 9).
pub fn smb1_signature_present(h: &Smb1HeaderRecord<'_>) -> bool {
    h.signature != SMB1_BSRSPYL && (h.is_signed() || h.signature != [0u8; 8])
}

impl Connection {
    pub(super) fn on_smb1(
        &mut self,
        frame: u64,
        pdu: Pdu<'_>,
    ) -> Result<MessageAnnotation, WireError> {
        let msg = pdu.bytes;
        let (body, h) = smb1::parse_smb1_header(msg).map_err(flatten)?;
        let mut ann = MessageAnnotation::from_header(
            HeaderFacts {
                family: SmbFamily::Smb1,
                command: h.command.0 as u16,
                is_response: h.is_response(),
                status: h.status,
                message_id: h.mid as u64,
                session_id: h.uid as u64,
                flags_signed: h.is_signed(),
                signature: h.signature,
            },
            (0, msg.len()),
        );
        if h.command == Smb1Command::Negotiate {
            ann.exempt();
            ann.verdict = Verdict::Exempt;
            if h.is_response() {
                self.server.negotiate_frame = self.last_frame;
                self.on_smb1_negotiate_response(body, &mut ann)?;
            } else {
                self.client.smb1_request_ids = Some((
                    (h.pid_high as u32) << 16 | h.pid_low as u32,
                    h.mid,
                    h.flags2,
                ));
                self.client.negotiate_frame = self.last_frame;
                self.on_smb1_negotiate_request(body)?;
            }
            return Ok(ann);
        }
        match h.command {
            Smb1Command::SessionSetupAndx => {
                ann.exempt();
                if h.is_response() {
                    self.on_smb1_setup_response(frame, &h, body, &mut ann);
                } else {
                    self.on_smb1_setup_request(frame, &h, body);
                }
            }
            Smb1Command::TreeConnectAndx => {
                self.on_smb1_tree_connect(frame, &h, body, smb1::SMB1_HEADER_LEN)
            }
            _ => {}
        }
        self.walk_andx_chain(frame, &h, pdu, body);
        // Signed: the Flags2 bit, or a real signature once signing is
        // active (Samba 4.17 signs without setting the bit). Counted after
        // the SESSION_SETUP that activates signing, which is signed itself.
        let present = smb1_signature_present(&h);
        let active = self.smb1_signing_active_frame.is_some_and(|a| frame >= a);
        ann.signed = h.is_signed() || (active && present);
        self.count_message(ann.signed, h.is_response());
        // Oplock break notifications from the server are never signed
        // (MS-CIFS 3.3.4.1): LOCKING_ANDX request with MID 0xFFFF.
        let oplock_break =
            h.command == Smb1Command::LockingAndx && !h.is_response() && h.mid == 0xFFFF;
        if oplock_break {
            ann.exempt();
        }
        if let Some(active) = self.smb1_signing_active_frame {
            let session_exempt = self
                .session(h.uid as u64)
                .is_some_and(|s| s.guest || s.anonymous);
            ann.unsigned_while_required =
                !ann.exempt && !session_exempt && frame > active && !present;
            if ann.unsigned_while_required {
                self.note_unsigned_while_required(h.is_response());
            }
        }
        (ann.verdict, ann.expected_signature) =
            self.smb1_verdict(frame, &h, pdu, present, oplock_break, &ann);
        self.tally_verdict(frame, h.uid as u64, ann.verdict);
        Ok(ann)
    }

    /// Chained commands: old clients send TREE_CONNECT_ANDX behind
    /// SESSION_SETUP_ANDX. Most messages end their chain at once (AndXCommand
    /// 0xFF), so only those that do not are walked.
    fn walk_andx_chain(&mut self, frame: u64, h: &Smb1HeaderRecord<'_>, pdu: Pdu<'_>, body: &[u8]) {
        let chained = h.command.is_andx()
            && body.first().is_some_and(|&wc| wc >= 2)
            && body.get(1).is_some_and(|&c| c != smb1::SMB1_ANDX_NONE);
        if !chained {
            return;
        }
        let chain = smb1::parse_smb1_andx_chain(pdu.bytes, pdu.total);
        for link in chain.links.iter().skip(1) {
            if link.command == Smb1Command::TreeConnectAndx {
                self.on_smb1_tree_connect(frame, h, link.block, link.offset);
            }
        }
        if let Some(e) = chain.error {
            self.note_decode_error(frame, e);
        }
    }

    /// The verdict of one SMB1 message. MACs need the sequence numbers
    /// guessed in order, so they are always computed in line.
    fn smb1_verdict(
        &mut self,
        frame: u64,
        h: &Smb1HeaderRecord<'_>,
        pdu: Pdu<'_>,
        present: bool,
        oplock_break: bool,
        ann: &MessageAnnotation,
    ) -> (Verdict, Option<[u8; 16]>) {
        match (self.smb1_signing_active_frame, self.verify.as_mut()) {
            (Some(active), Some(v)) if !oplock_break && frame >= active => {
                let activating = frame == active
                    && h.command == Smb1Command::SessionSetupAndx
                    && h.is_response();
                if activating && !v.smb1_activate(h.uid as u64) {
                    return (Verdict::NoKey, None);
                }
                let pid = ((h.pid_high as u32) << 16) | h.pid_low as u32;
                let verdict = v.verify_smb1(
                    pdu.bytes,
                    pdu.is_complete(),
                    h.is_response(),
                    pid,
                    h.mid,
                    h.command == Smb1Command::NtCancel,
                    activating.then_some(1),
                );
                if present {
                    verdict
                } else {
                    (ann.unsigned_verdict(), None)
                }
            }
            // Before activation the SESSION_SETUP exchange carries
            // placeholders or signs with a key not yet established.
            (_, Some(_)) if present && ann.exempt => (Verdict::Exempt, None),
            (_, Some(_)) if present => (Verdict::NoKey, None),
            (_, None) if present => (Verdict::NotVerified, None),
            _ => (ann.unsigned_verdict(), None),
        }
    }

    fn on_smb1_negotiate_request(&mut self, body: &[u8]) -> Result<(), WireError> {
        self.counts.negotiate_requests += 1;
        let (_, r) = smb1::parse_smb1_request_negotiate(body).map_err(flatten)?;
        self.client.smb1_dialects = r
            .dialects
            .iter()
            .map(|d| String::from_utf8_lossy(d).into_owned())
            .collect();
        Ok(())
    }

    fn on_smb1_negotiate_response(
        &mut self,
        body: &[u8],
        ann: &mut MessageAnnotation,
    ) -> Result<(), WireError> {
        self.counts.negotiate_responses += 1;
        let (_, r) = smb1::parse_smb1_response_negotiate(body).map_err(flatten)?;
        if let Some(mode) = r.security_mode() {
            let mode = SecurityMode::Smb1(Smb1SecurityMode(mode));
            self.server.security_mode = Some(mode);
            ann.security_mode = Some(mode);
        }
        if let Smb1NegotiateResponseRecord::NtLm { capabilities, .. } = r {
            self.server.capabilities = Some(capabilities);
        }
        if let (Some(c), Some(v)) = (r.challenge(), self.verify.as_mut()) {
            v.on_smb1_challenge(c);
        }
        self.server.server_guid = r.server_guid().and_then(|g| g.try_into().ok());
        let name = match r.dialect_index() {
            Some(k) if k != 0xFFFF => {
                self.client
                    .smb1_dialects
                    .get(k as usize)
                    .cloned()
                    .or_else(|| {
                        matches!(r, Smb1NegotiateResponseRecord::NtLm { .. })
                            .then(|| "NT LM 0.12".to_owned())
                    })
            }
            _ => None,
        };
        if let Some(name) = name {
            ann.dialect = Some(Dialect::Smb1(name.clone()));
            self.dialect = Some(Dialect::Smb1(name));
        }
        Ok(())
    }

    fn on_smb1_setup_request(&mut self, frame: u64, h: &Smb1HeaderRecord<'_>, body: &[u8]) {
        self.client.smb1_setup_flags2.get_or_insert(h.flags2);
        let mut p = PendingSetup::new(h.mid as u64);
        match smb1::parse_smb1_request_session_setup(body, h.unicode()) {
            Ok((_, Smb1SessionSetupRequestRecord::Extended { security_blob, .. })) => {
                let ntlm = find_ntlmssp(security_blob).and_then(Result::ok);
                let auth = self.ntlm_on_request(frame, h.uid as u64, ntlm.as_ref());
                p.describe_blob(security_blob, auth);
                if let Some(v) = self.verify.as_mut() {
                    v.on_setup_request(h.uid as u64, h.mid as u64, &[], security_blob);
                }
            }
            Ok((
                _,
                Smb1SessionSetupRequestRecord::Plain {
                    oem_password,
                    unicode_password,
                    account_name,
                    primary_domain,
                    ..
                },
            )) => {
                p.mechanism = Some((AuthMechanism::Legacy, None));
                p.anonymous = account_name.is_empty()
                    && unicode_password.is_empty()
                    && (oem_password.is_empty() || oem_password == [0]);
                if !account_name.is_empty() {
                    p.user = Some(join_user(&primary_domain, &account_name));
                }
                let encrypted = !matches!(
                    self.server.security_mode,
                    Some(SecurityMode::Smb1(m)) if !m.encrypt_passwords()
                );
                self.note_legacy_logon(frame, oem_password, unicode_password, encrypted);
                if let Some(v) = self.verify.as_mut() {
                    v.on_legacy_setup_request(
                        h.mid as u64,
                        LegacyLogon {
                            user: account_name,
                            domain: primary_domain,
                            lm_response: oem_password.to_vec(),
                            nt_response: unicode_password.to_vec(),
                            use_lanman_key: false,
                        },
                    );
                }
            }
            Err(e) => self.note_decode_error(frame, flatten(e)),
        }
        self.begin_session_setup(h.uid as u64, true, p);
    }

    fn on_smb1_setup_response(
        &mut self,
        frame: u64,
        h: &Smb1HeaderRecord<'_>,
        body: &[u8],
        ann: &mut MessageAnnotation,
    ) {
        let parsed = if h.status.is_error() && h.status != NtStatus::MoreProcessingRequired {
            None
        } else {
            smb1::parse_smb1_response_session_setup(body)
                .ok()
                .map(|(_, r)| r)
        };
        let server_requires = self.server_signing() == Some(SigningSetting::Required);
        let client_requires =
            SigningSetting::from_smb1_flags2(h.flags2) == SigningSetting::Required
                || self.client.smb1_setup_flags2.is_some_and(|f| {
                    SigningSetting::from_smb1_flags2(f) == SigningSetting::Required
                });
        // A real signature on the successful response shows signing started
        // even when neither side's settings are visible (Samba sets no
        // Flags2 bits).
        let signing_negotiated = server_requires || client_requires || smb1_signature_present(h);
        ann.session_flags = parsed.as_ref().map(|r| r.action);
        if let (Some(r), Some(v)) = (parsed.as_ref(), self.verify.as_mut()) {
            v.on_legacy_setup_action(h.mid as u64, r.action);
        }
        let signing_on = self.finish_session_setup(
            frame,
            SetupResponse {
                smb1: true,
                session_id: h.uid as u64,
                message_id: h.mid as u64,
                status: h.status,
                msg: &[],
                blob: parsed.as_ref().and_then(|r| r.security_blob).unwrap_or(&[]),
                guest: parsed.as_ref().is_some_and(|r| r.is_guest()),
                null: false,
                encrypt_data: false,
                decoded: parsed.is_some(),
                signing_negotiated,
            },
        );
        // Activation: the first successful non-guest, non-anonymous setup
        // when signing was negotiated (MS-CIFS 3.2.5.3).
        if signing_on && self.smb1_signing_active_frame.is_none() {
            self.smb1_signing_active_frame = Some(frame);
        }
    }
}
