//! NetBIOS session service framing (RFC 1002 4.3) as used on port 139, and the
//! "direct hosting" framing of port 445 (same 4-byte header, type 0, 24-bit length).

use super::{WireError, WireResult};
use nom::Parser as _;
use nom::bytes::complete::take;
use nom::number::complete::{be_u8, be_u24};
use rusticata_macros::newtype_enum;

/// NBSS packet type (first byte of the 4-byte header).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NbssType(pub u8);

newtype_enum! {
impl debug NbssType {
    SessionMessage = 0x00,
    SessionRequest = 0x81,
    PositiveResponse = 0x82,
    NegativeResponse = 0x83,
    RetargetResponse = 0x84,
    KeepAlive = 0x85,
}
}

/// Length of the NBSS header that precedes every SMB message.
pub const NBSS_HEADER_LEN: usize = 4;

/// Largest message smbsign accepts as plausible: SMB3 allows 8 MiB payloads
/// plus headers; the 24-bit length field caps at 16 MiB anyway.
pub const NBSS_MAX_LEN: usize = 0x00FF_FFFF;

/// The four leading bytes of every SMB-family message.
pub const SMB1_MAGIC: &[u8; 4] = b"\xffSMB";
pub const SMB2_MAGIC: &[u8; 4] = b"\xfeSMB";
pub const SMB2_TRANSFORM_MAGIC: &[u8; 4] = b"\xfdSMB";
pub const SMB2_COMPRESSION_MAGIC: &[u8; 4] = b"\xfcSMB";

/// One NBSS header; the payload is not part of the record because the
/// capture layer skips over bodies it does not need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NbssHeaderRecord {
    pub packet_type: NbssType,
    /// Payload length: 17 bits on port 139 (flags bit 0 extends it), 24 bits
    /// for direct hosting. Read as 24 bits, which covers both.
    pub length: u32,
}

/// Parse the 4-byte NBSS header.
pub fn parse_nbss_header(i: &[u8]) -> WireResult<'_, NbssHeaderRecord> {
    let (i, packet_type) = be_u8.parse(i)?;
    let (i, length) = be_u24.parse(i)?;
    Ok((
        i,
        NbssHeaderRecord {
            packet_type: NbssType(packet_type),
            length,
        },
    ))
}

/// A complete NBSS packet with its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NbssRecord<'a> {
    pub header: NbssHeaderRecord,
    pub data: &'a [u8],
}

/// Parse a complete NBSS packet (header and payload).
pub fn parse_nbss_record(i: &[u8]) -> WireResult<'_, NbssRecord<'_>> {
    let (i, header) = parse_nbss_header(i)?;
    let (i, data) = take(header.length as usize).parse(i)?;
    Ok((i, NbssRecord { header, data }))
}

/// Which SMB family a message starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmbFamily {
    Smb1,
    Smb2,
    Transform,
    Compression,
}

/// Classify a message by its first four bytes.
pub fn smb_family(msg: &[u8]) -> Option<SmbFamily> {
    let magic: &[u8] = msg.get(..4)?;
    if magic == SMB1_MAGIC {
        Some(SmbFamily::Smb1)
    } else if magic == SMB2_MAGIC {
        Some(SmbFamily::Smb2)
    } else if magic == SMB2_TRANSFORM_MAGIC {
        Some(SmbFamily::Transform)
    } else if magic == SMB2_COMPRESSION_MAGIC {
        Some(SmbFamily::Compression)
    } else {
        None
    }
}

/// True when `buf` begins with an NBSS session message header followed by an
/// SMB magic and a length a real message could have. Used to recognise SMB on
/// any port and to resynchronise after a gap.
pub fn looks_like_smb_message(buf: &[u8]) -> bool {
    if buf.len() < 8 || buf[0] != 0 {
        return false;
    }
    let len = u32::from_be_bytes([0, buf[1], buf[2], buf[3]]) as usize;
    let Some(family) = smb_family(&buf[4..]) else {
        return false;
    };
    let min = match family {
        SmbFamily::Smb1 => 32,
        SmbFamily::Smb2 => 64,
        SmbFamily::Transform => 52,
        SmbFamily::Compression => 8,
    };
    len >= min
}

/// True when `buf` starts with a NetBIOS session request/response/keep-alive
/// of the lengths RFC 1002 allows (port 139 session establishment).
pub fn looks_like_nbss_control(buf: &[u8]) -> bool {
    let Ok((_, h)) = parse_nbss_header(buf) else {
        return false;
    };
    match h.packet_type {
        NbssType::SessionRequest => (4..=256).contains(&h.length),
        NbssType::PositiveResponse | NbssType::KeepAlive => h.length == 0,
        NbssType::NegativeResponse => h.length == 1,
        NbssType::RetargetResponse => h.length == 6,
        _ => false,
    }
}

impl From<nom::Err<WireError>> for WireError {
    fn from(e: nom::Err<WireError>) -> Self {
        super::flatten(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // tests/captures/smb1-mode15.pcap frame 4: the first bytes of the TCP
    // payload of the NEGOTIATE request (NBSS length 0x3e).
    #[test]
    fn nbss_header_and_magic() {
        let bytes = [0x00, 0x00, 0x00, 0x3e, 0xff, b'S', b'M', b'B', 0x72];
        let (rest, h) = parse_nbss_header(&bytes).unwrap();
        assert_eq!(h.packet_type, NbssType::SessionMessage);
        assert_eq!(h.length, 0x3e);
        assert_eq!(smb_family(rest), Some(SmbFamily::Smb1));
        assert!(looks_like_smb_message(&bytes));
        assert!(parse_nbss_record(&bytes).is_err());
    }

    #[test]
    fn nbss_control_packets() {
        assert!(looks_like_nbss_control(&[0x85, 0, 0, 0]));
        assert!(looks_like_nbss_control(&[0x82, 0, 0, 0]));
        assert!(!looks_like_nbss_control(&[0x85, 0, 0, 9]));
        assert_eq!(format!("{:?}", NbssType(0x99)), "NbssType(153 / 0x99)");
    }
}
