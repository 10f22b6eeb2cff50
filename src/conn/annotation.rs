//! Per-message facts for callers that annotate PDUs (the C API, the plugin).

use crate::verify::Verdict;
use crate::wire::nbss::SmbFamily;
use crate::wire::{Dialect, NtStatus, SecurityMode};

/// What the state machine read from one SMB message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAnnotation {
    pub family: SmbFamily,
    /// SMB1 command byte or SMB2 command.
    pub command: u16,
    pub is_response: bool,
    pub status: NtStatus,
    pub message_id: u64,
    pub session_id: u64,
    /// The header's signature flag (SMB2 SIGNED, SMB1 Flags2).
    pub flags_signed: bool,
    /// Counted as signed: the flag, or (SMB1) a real signature without it.
    pub signed: bool,
    /// Signature field: 8 bytes (SMB1) or 16 (SMB2, transform header);
    /// `signature_len` says which.
    pub signature: [u8; 16],
    pub signature_len: u8,
    /// NEGOTIATE only: the SecurityMode field of this message.
    pub security_mode: Option<SecurityMode>,
    /// NEGOTIATE response only.
    pub dialect: Option<Dialect>,
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

/// The header fields every annotation starts from.
pub(super) struct HeaderFacts<'a> {
    pub family: SmbFamily,
    pub command: u16,
    pub is_response: bool,
    pub status: NtStatus,
    pub message_id: u64,
    pub session_id: u64,
    pub flags_signed: bool,
    pub signature: &'a [u8],
}

impl MessageAnnotation {
    /// An annotation from a message header, before the command is looked
    /// at: `range` is where the message sits in its PDU.
    pub(super) fn from_header(h: HeaderFacts<'_>, (offset, length): (usize, usize)) -> Self {
        let mut signature = [0u8; 16];
        let n = h.signature.len().min(16);
        signature[..n].copy_from_slice(&h.signature[..n]);
        MessageAnnotation {
            family: h.family,
            command: h.command,
            is_response: h.is_response,
            status: h.status,
            message_id: h.message_id,
            session_id: h.session_id,
            flags_signed: h.flags_signed,
            signed: h.flags_signed,
            signature,
            signature_len: n as u8,
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

    /// Mark it exempt from signing.
    pub(super) fn exempt(&mut self) {
        self.exempt = true;
    }

    /// Verdict of a message that is not signed.
    pub(super) fn unsigned_verdict(&self) -> Verdict {
        if self.unsigned_while_required {
            Verdict::UnsignedWhileRequired
        } else if self.exempt {
            Verdict::Exempt
        } else {
            Verdict::NotSigned
        }
    }

    /// The connection's first SESSION_SETUP request (`setups` is the count
    /// of them so far, this one included).
    pub fn is_first_setup_request(&self, setups: u64) -> bool {
        use crate::wire::smb1::Smb1Command;
        use crate::wire::smb2::Smb2Command;
        let setup = match self.family {
            SmbFamily::Smb1 => self.command == Smb1Command::SessionSetupAndx.0 as u16,
            SmbFamily::Smb2 => self.command == Smb2Command::SessionSetup.0,
            _ => false,
        };
        setup && !self.is_response && setups == 1
    }

    /// A NEGOTIATE response that carried a SecurityMode.
    pub fn is_negotiate_response(&self) -> bool {
        use crate::wire::smb1::Smb1Command;
        use crate::wire::smb2::Smb2Command;
        let negotiate = match self.family {
            SmbFamily::Smb1 => self.command == Smb1Command::Negotiate.0 as u16,
            SmbFamily::Smb2 => self.command == Smb2Command::Negotiate.0,
            _ => false,
        };
        negotiate && self.is_response && self.security_mode.is_some()
    }

    /// A SESSION_SETUP or IOCTL message: where the attack evidence sits
    /// (the AUTHENTICATE, the final response, VALIDATE_NEGOTIATE_INFO).
    pub fn carries_attack_evidence(&self) -> bool {
        use crate::wire::smb1::Smb1Command;
        use crate::wire::smb2::Smb2Command;
        match self.family {
            SmbFamily::Smb1 => self.command == Smb1Command::SessionSetupAndx.0 as u16,
            SmbFamily::Smb2 => {
                self.command == Smb2Command::SessionSetup.0 || self.command == Smb2Command::Ioctl.0
            }
            _ => false,
        }
    }
}
