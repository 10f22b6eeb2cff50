//! Fixed-offset views of the SMB1 and SMB2 headers, and a PDU classified
//! once. Every room that needs a header field (the framer deciding what to
//! keep, the MACs zeroing the signature, the state machine) reads it here,
//! never at a bare offset of its own.

use super::nbss::{SmbFamily, smb_family};
use super::smb1::{SMB1_FLAGS_REPLY, SMB1_FLAGS2_SECURITY_SIGNATURE, SMB1_HEADER_LEN, Smb1Command};
use super::smb2::{
    SMB2_FLAGS_ASYNC_COMMAND, SMB2_FLAGS_SERVER_TO_REDIR, SMB2_FLAGS_SIGNED, SMB2_HEADER_LEN,
    Smb2Command,
};
use super::{le16, le32};
use std::ops::Range;

/// The 32-byte SMB1 header (MS-CIFS 2.2.3.1), without decoding the rest.
#[derive(Debug, Clone, Copy)]
pub struct Smb1Header<'a>(&'a [u8]);

impl<'a> Smb1Header<'a> {
    /// Command byte.
    pub const COMMAND: usize = 4;
    /// Status (4 bytes).
    pub const STATUS: usize = 5;
    /// Flags byte (bit 7: reply).
    pub const FLAGS: usize = 9;
    /// Flags2 (2 bytes).
    pub const FLAGS2: usize = 10;
    /// SecuritySignature: 8 bytes inside SecurityFeatures.
    pub const SIGNATURE: Range<usize> = 14..22;

    /// A view when `msg` starts with the SMB1 magic and holds a whole header.
    pub fn peek(msg: &'a [u8]) -> Option<Self> {
        (msg.len() >= SMB1_HEADER_LEN && smb_family(msg) == Some(SmbFamily::Smb1))
            .then_some(Smb1Header(msg))
    }
    pub fn command(self) -> Smb1Command {
        Smb1Command(self.0[Self::COMMAND])
    }
    pub fn is_response(self) -> bool {
        self.0[Self::FLAGS] & SMB1_FLAGS_REPLY != 0
    }
    pub fn flags2(self) -> u16 {
        le16(self.0, Self::FLAGS2)
    }
    pub fn flags_signed(self) -> bool {
        self.flags2() & SMB1_FLAGS2_SECURITY_SIGNATURE != 0
    }
    pub fn signature(self) -> &'a [u8] {
        &self.0[Self::SIGNATURE]
    }
}

/// The 64-byte SMB2 header (MS-SMB2 2.2.1), without decoding the rest.
#[derive(Debug, Clone, Copy)]
pub struct Smb2Header<'a>(&'a [u8]);

impl<'a> Smb2Header<'a> {
    /// Command (2 bytes).
    pub const COMMAND: usize = 12;
    /// Flags (4 bytes).
    pub const FLAGS: usize = 16;
    /// NextCommand (4 bytes): offset of the next message of a compound.
    pub const NEXT_COMMAND: usize = 20;
    /// MessageId (8 bytes).
    pub const MESSAGE_ID: Range<usize> = 24..32;
    /// SessionId (8 bytes).
    pub const SESSION_ID: Range<usize> = 40..48;
    /// Signature (16 bytes).
    pub const SIGNATURE: Range<usize> = 48..64;
    /// Bytes a view needs to read the command and NextCommand.
    pub const PREFIX: usize = 24;

    /// A view when `msg` starts with the SMB2 magic and holds a whole header.
    pub fn peek(msg: &'a [u8]) -> Option<Self> {
        (msg.len() >= SMB2_HEADER_LEN && smb_family(msg) == Some(SmbFamily::Smb2))
            .then_some(Smb2Header(msg))
    }
    /// A view of the first `PREFIX` bytes only (the framer's decision point):
    /// only `command`, `flags` and `next_command` may be read from it.
    pub fn peek_prefix(msg: &'a [u8]) -> Option<Self> {
        (msg.len() >= Self::PREFIX && smb_family(msg) == Some(SmbFamily::Smb2))
            .then_some(Smb2Header(msg))
    }
    pub fn command(self) -> Smb2Command {
        Smb2Command(le16(self.0, Self::COMMAND))
    }
    pub fn flags(self) -> u32 {
        le32(self.0, Self::FLAGS)
    }
    pub fn is_response(self) -> bool {
        self.flags() & SMB2_FLAGS_SERVER_TO_REDIR != 0
    }
    pub fn is_async(self) -> bool {
        self.flags() & SMB2_FLAGS_ASYNC_COMMAND != 0
    }
    pub fn is_signed(self) -> bool {
        self.flags() & SMB2_FLAGS_SIGNED != 0
    }
    pub fn next_command(self) -> u32 {
        le32(self.0, Self::NEXT_COMMAND)
    }
    /// MessageId bytes as on the wire (GMAC's nonce starts with them).
    pub fn message_id_bytes(self) -> &'a [u8] {
        &self.0[Self::MESSAGE_ID]
    }
    pub fn signature(self) -> &'a [u8] {
        &self.0[Self::SIGNATURE]
    }
}

/// One SMB PDU (the payload of an NBSS session message), classified once by
/// whoever framed it: its family, the bytes the capture kept, and the length
/// the NBSS header declared (more than `bytes.len()` when only a prefix of a
/// large message was kept).
#[derive(Debug, Clone, Copy)]
pub struct Pdu<'a> {
    pub family: SmbFamily,
    pub bytes: &'a [u8],
    pub total: usize,
}

impl<'a> Pdu<'a> {
    /// A PDU of `total` declared bytes of which `bytes` were kept; None when
    /// it does not start with an SMB magic.
    pub fn classify(bytes: &'a [u8], total: usize) -> Option<Self> {
        Some(Pdu {
            family: smb_family(bytes)?,
            bytes,
            total: total.max(bytes.len()),
        })
    }

    /// Every byte of the message is present.
    pub fn is_complete(&self) -> bool {
        self.bytes.len() >= self.total
    }

    /// The request/response bit of an SMB1 or SMB2 header; None for
    /// transform and compression headers, which carry none.
    pub fn is_response(&self) -> Option<bool> {
        match self.family {
            SmbFamily::Smb1 => Some(self.bytes.get(Smb1Header::FLAGS)? & SMB1_FLAGS_REPLY != 0),
            SmbFamily::Smb2 => Smb2Header::peek_prefix(self.bytes).map(Smb2Header::is_response),
            SmbFamily::Transform | SmbFamily::Compression => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A header laid out by hand (not from a capture): a signed READ
    // response, command 8, flags 0x09, NextCommand 0x68.
    #[test]
    fn smb2_view_reads_the_fixed_fields() {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\xfeSMB");
        h[12] = 8;
        h[16] = 0x09;
        h[20] = 0x68;
        h[24] = 7;
        h[48..64].fill(0xab);
        let v = Smb2Header::peek(&h).unwrap();
        assert_eq!(v.command(), Smb2Command::Read);
        assert!(v.is_response() && v.is_signed() && !v.is_async());
        assert_eq!(v.next_command(), 0x68);
        assert_eq!(v.message_id_bytes()[0], 7);
        assert_eq!(v.signature(), &[0xab; 16]);
        assert!(Smb2Header::peek(&h[..63]).is_none());
        let p = Pdu::classify(&h, 100).unwrap();
        assert_eq!(p.is_response(), Some(true));
        assert!(!p.is_complete());
    }

    #[test]
    fn smb1_view_reads_the_fixed_fields() {
        let mut h = vec![0u8; 32];
        h[..4].copy_from_slice(b"\xffSMB");
        h[4] = 0x73;
        h[9] = 0x80;
        h[10] = 0x04;
        h[14..22].copy_from_slice(b"BSRSPYL ");
        let v = Smb1Header::peek(&h).unwrap();
        assert_eq!(v.command(), Smb1Command::SessionSetupAndx);
        assert!(v.is_response() && v.flags_signed());
        assert_eq!(v.signature(), b"BSRSPYL ");
        assert!(Smb1Header::peek(&h[..31]).is_none());
    }
}
