//! SMB2 COMPRESSION_TRANSFORM_HEADER (MS-SMB2 2.2.42): the 0xFC 'SMB'
//! message in its two forms. Unchained: the header (16 bytes) with the
//! algorithm and the offset of the compressed part, the first `offset`
//! bytes of the original message in clear before it. Chained (flag
//! SMB2_COMPRESSION_FLAG_CHAINED): an 8-byte header, then payloads one
//! after another, each with its own algorithm. The header record itself is
//! `smb2::parse_smb2_compression_header`.

use super::WireResult;
use super::smb2::Smb2CompressionHeaderRecord;
use nom::Parser as _;
use nom::bytes::complete::take;
use nom::number::complete::{le_u8, le_u16, le_u32};
use rusticata_macros::newtype_enum;

/// CompressionAlgorithm (MS-SMB2 2.2.3.1.3, 2.2.42).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct CompressionAlgorithm(pub u16);

newtype_enum! {
impl debug CompressionAlgorithm {
    None = 0x0000,
    Lznt1 = 0x0001,
    Lz77 = 0x0002,
    Lz77Huffman = 0x0003,
    PatternV1 = 0x0004,
    Lz4 = 0x0005,
}
}

impl CompressionAlgorithm {
    pub fn name(self) -> String {
        match self {
            Self::None => "NONE".into(),
            Self::Lznt1 => "LZNT1".into(),
            Self::Lz77 => "LZ77".into(),
            Self::Lz77Huffman => "LZ77+Huffman".into(),
            Self::PatternV1 => "Pattern_V1".into(),
            Self::Lz4 => "LZ4".into(),
            CompressionAlgorithm(v) => format!("0x{v:04x}"),
        }
    }

    /// Whether a chained payload of this algorithm starts with its
    /// OriginalPayloadSize (2.2.42.2.1: the real compressors do).
    fn has_original_size(self) -> bool {
        !matches!(self, Self::None | Self::PatternV1)
    }
}

/// Flags of the unchained header: SMB2_COMPRESSION_FLAG_CHAINED.
pub const SMB2_COMPRESSION_FLAG_CHAINED: u16 = 0x0001;
pub const SMB2_COMPRESSION_HEADER_LEN: usize = 16;
/// The chained form's header: ProtocolId and OriginalCompressedSegmentSize.
pub const SMB2_COMPRESSION_CHAINED_HEADER_LEN: usize = 8;

/// One payload of a chained COMPRESSION_TRANSFORM message (2.2.42.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb2CompressionPayloadRecord<'a> {
    pub algorithm: CompressionAlgorithm,
    /// SMB2_COMPRESSION_FLAG_NONE or _CHAINED (informational here).
    pub flags: u16,
    /// Size of the payload once decompressed (absent for NONE and
    /// Pattern_V1, whose size is their data's or their repetitions').
    pub original_payload_size: Option<u32>,
    pub data: &'a [u8],
}

/// One chained payload header and its data.
pub fn parse_smb2_compression_payload(
    i: &[u8],
) -> WireResult<'_, Smb2CompressionPayloadRecord<'_>> {
    let (i, algorithm) = le_u16.parse(i)?;
    let algorithm = CompressionAlgorithm(algorithm);
    let (i, flags) = le_u16.parse(i)?;
    let (i, length) = le_u32.parse(i)?;
    // Length counts OriginalPayloadSize when it is there.
    let (i, body) = take(length as usize).parse(i)?;
    let (data, original_payload_size) = if algorithm.has_original_size() {
        let (data, size) = le_u32.parse(body)?;
        (data, Some(size))
    } else {
        (body, None)
    };
    Ok((
        i,
        Smb2CompressionPayloadRecord {
            algorithm,
            flags,
            original_payload_size,
            data,
        },
    ))
}

/// Pattern_V1's payload (2.2.42.2.2): one byte repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternV1Record {
    pub pattern: u8,
    pub repetitions: u32,
}

pub fn parse_pattern_v1(i: &[u8]) -> WireResult<'_, PatternV1Record> {
    let (i, pattern) = le_u8.parse(i)?;
    let (i, _reserved1) = le_u8.parse(i)?;
    let (i, _reserved2) = le_u16.parse(i)?;
    let (i, repetitions) = le_u32.parse(i)?;
    Ok((
        i,
        PatternV1Record {
            pattern,
            repetitions,
        },
    ))
}

/// A COMPRESSION_TRANSFORM message laid out: its header, and either the
/// unchained parts or the chained payloads' bytes (walk them with
/// `parse_smb2_compression_payload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Smb2Compressed<'a> {
    Unchained {
        algorithm: CompressionAlgorithm,
        /// The first bytes of the original message, in clear.
        prefix: &'a [u8],
        compressed: &'a [u8],
    },
    Chained {
        payloads: &'a [u8],
    },
}

/// Split a whole COMPRESSION_TRANSFORM message (`msg`, from the 0xFC
/// magic) with its parsed header.
pub fn split_smb2_compressed<'a>(
    msg: &'a [u8],
    h: &Smb2CompressionHeaderRecord,
) -> WireResult<'a, Smb2Compressed<'a>> {
    if h.flags & SMB2_COMPRESSION_FLAG_CHAINED != 0 {
        let (payloads, _header) = take(SMB2_COMPRESSION_CHAINED_HEADER_LEN).parse(msg)?;
        return Ok((&[], Smb2Compressed::Chained { payloads }));
    }
    let (rest, _header) = take(SMB2_COMPRESSION_HEADER_LEN).parse(msg)?;
    let (compressed, prefix) = take(h.offset_or_length as usize).parse(rest)?;
    Ok((
        &[],
        Smb2Compressed::Unchained {
            algorithm: CompressionAlgorithm(h.compression_algorithm),
            prefix,
            compressed,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::smb2::parse_smb2_compression_header;

    // MS-SMB2 2.2.42.2: a chained message of a NONE payload and a
    // Pattern_V1 payload (laid out by hand from the spec's field table).
    #[test]
    fn chained_payloads_parse_in_order() {
        let mut m = b"\xfcSMB".to_vec();
        m.extend_from_slice(&(4u32 + 8).to_le_bytes());
        m.extend_from_slice(&[0, 0, 1, 0]); // NONE, CHAINED
        m.extend_from_slice(&4u32.to_le_bytes());
        m.extend_from_slice(b"\xfeSM");
        m.push(b'B');
        m.extend_from_slice(&[4, 0, 0, 0]); // Pattern_V1
        m.extend_from_slice(&8u32.to_le_bytes());
        m.extend_from_slice(&[0xAA, 0, 0, 0, 8, 0, 0, 0]);
        let (_, h) = parse_smb2_compression_header(&m).unwrap();
        assert_eq!(h.flags & SMB2_COMPRESSION_FLAG_CHAINED, 1);
        let (_, Smb2Compressed::Chained { payloads }) = split_smb2_compressed(&m, &h).unwrap()
        else {
            panic!("chained");
        };
        let (rest, first) = parse_smb2_compression_payload(payloads).unwrap();
        assert_eq!(first.algorithm, CompressionAlgorithm::None);
        assert_eq!(first.data, b"\xfeSMB");
        let (rest, second) = parse_smb2_compression_payload(rest).unwrap();
        assert!(rest.is_empty());
        assert_eq!(second.algorithm, CompressionAlgorithm::PatternV1);
        let (_, p) = parse_pattern_v1(second.data).unwrap();
        assert_eq!((p.pattern, p.repetitions), (0xAA, 8));
    }

    #[test]
    fn a_payload_longer_than_the_message_is_an_error() {
        let mut p = vec![1, 0, 0, 0];
        p.extend_from_slice(&100u32.to_le_bytes());
        p.extend_from_slice(&[0; 10]);
        assert!(parse_smb2_compression_payload(&p).is_err());
        assert_eq!(CompressionAlgorithm(9).name(), "0x0009");
    }
}
