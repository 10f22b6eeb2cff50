//! SMB2 COMPRESSION_TRANSFORM messages back to the message they carry,
//! through maintained decompressors: `lznt1` (LZNT1), `xpress-huffman`
//! (LZ77+Huffman, MS-XCA 2.2.4) and `lz4_flex` (LZ4 blocks); Pattern_V1
//! and NONE are a byte repeated and bytes as they are. Plain LZ77 (MS-XCA
//! 2.2.3) is not decompressed: the crates that implement it neither bound
//! their output nor survive a truncated input. Every output is bounded by
//! the size the message declares, itself at most `MAX_DECOMPRESSED`.

use crate::wire::smb2::Smb2CompressionHeaderRecord;
use crate::wire::smb2_compression::{
    CompressionAlgorithm, Smb2Compressed, parse_pattern_v1, parse_smb2_compression_payload,
    split_smb2_compressed,
};

/// Largest message decompressed (the largest SMB2 message a server offers
/// is 8 MiB; twice that leaves room).
pub const MAX_DECOMPRESSED: usize = 16 * 1024 * 1024;

/// Why a COMPRESSION_TRANSFORM message was not decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecompressError {
    /// An algorithm smbsign does not decompress (plain LZ77, unknown codes).
    Unsupported(CompressionAlgorithm),
    /// The message declares more than `MAX_DECOMPRESSED` bytes.
    TooLarge(u64),
    /// The data does not decompress, or not to the size declared.
    Corrupt(String),
}

impl std::fmt::Display for DecompressError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unsupported(a) => write!(f, "{} is not decompressed", a.name()),
            Self::TooLarge(n) => write!(f, "declares {n} bytes (more than {MAX_DECOMPRESSED})"),
            Self::Corrupt(why) => write!(f, "does not decompress: {why}"),
        }
    }
}

/// The original message of COMPRESSION_TRANSFORM message `msg` (whose
/// header is `h`), and the algorithms it used.
pub fn decompress_message(
    msg: &[u8],
    h: &Smb2CompressionHeaderRecord,
) -> Result<(Vec<u8>, Vec<CompressionAlgorithm>), DecompressError> {
    let declared = h.original_compressed_segment_size as usize;
    if declared > MAX_DECOMPRESSED {
        return Err(DecompressError::TooLarge(declared as u64));
    }
    let corrupt = |e: nom::Err<crate::wire::WireError>| DecompressError::Corrupt(format!("{e:?}"));
    let mut out = Vec::with_capacity(declared);
    let mut used = Vec::new();
    match split_smb2_compressed(msg, h).map_err(corrupt)?.1 {
        Smb2Compressed::Unchained {
            algorithm,
            prefix,
            compressed,
        } => {
            out.extend_from_slice(prefix);
            let room = declared.checked_sub(prefix.len()).ok_or_else(|| {
                DecompressError::Corrupt("the offset passes the declared size".into())
            })?;
            decompress_into(algorithm, compressed, room, &mut out)?;
            used.push(algorithm);
        }
        Smb2Compressed::Chained { mut payloads } => {
            while !payloads.is_empty() {
                let (rest, p) = parse_smb2_compression_payload(payloads).map_err(corrupt)?;
                payloads = rest;
                let room = declared.saturating_sub(out.len());
                match p.algorithm {
                    CompressionAlgorithm::None => {
                        if p.data.len() > room {
                            return Err(too_much());
                        }
                        out.extend_from_slice(p.data);
                    }
                    CompressionAlgorithm::PatternV1 => {
                        let (_, pat) = parse_pattern_v1(p.data).map_err(corrupt)?;
                        if pat.repetitions as usize > room {
                            return Err(too_much());
                        }
                        out.resize(out.len() + pat.repetitions as usize, pat.pattern);
                    }
                    a => {
                        let size = p.original_payload_size.unwrap_or(0) as usize;
                        if size > room {
                            return Err(too_much());
                        }
                        decompress_into(a, p.data, size, &mut out)?;
                    }
                }
                used.push(p.algorithm);
            }
        }
    }
    if out.len() != declared {
        return Err(DecompressError::Corrupt(format!(
            "{} bytes, {declared} declared",
            out.len()
        )));
    }
    Ok((out, used))
}

fn too_much() -> DecompressError {
    DecompressError::Corrupt("the payloads pass the declared size".into())
}

/// Append exactly `size` bytes decompressed from `data` with `algorithm`.
fn decompress_into(
    algorithm: CompressionAlgorithm,
    data: &[u8],
    size: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecompressError> {
    let wrong = |what: String| DecompressError::Corrupt(format!("{}: {what}", algorithm.name()));
    let start = out.len();
    match algorithm {
        CompressionAlgorithm::Lznt1 => {
            // Every LZNT1 chunk but the last holds 4096 bytes: a stream
            // with more chunks than `size` allows is refused before it is
            // decompressed, so the output stays bounded.
            if lznt1_chunks(data) > size / 4096 + 1 {
                return Err(wrong("more chunks than the size allows".into()));
            }
            let mut buf = Vec::with_capacity(size);
            lznt1::decompress(data, &mut buf).map_err(|e| wrong(format!("{e:?}")))?;
            out.extend_from_slice(&buf);
        }
        CompressionAlgorithm::Lz77Huffman => {
            let buf =
                xpress_huffman::decompress(data, size).map_err(|e| wrong(format!("{e:?}")))?;
            out.extend_from_slice(&buf);
        }
        CompressionAlgorithm::None => out.extend_from_slice(&data[..data.len().min(size)]),
        CompressionAlgorithm::Lz4 => {
            out.resize(start + size, 0);
            let n = lz4_flex::block::decompress_into(data, &mut out[start..])
                .map_err(|e| wrong(e.to_string()))?;
            out.truncate(start + n);
        }
        other => return Err(DecompressError::Unsupported(other)),
    }
    if out.len() - start != size {
        return Err(wrong(format!(
            "{} bytes, {size} declared",
            out.len() - start
        )));
    }
    Ok(())
}

/// Chunks of an LZNT1 stream, from their 2-byte headers (MS-XCA 2.5: the
/// low 12 bits are the chunk's size minus 3; a zero header ends it).
fn lznt1_chunks(mut data: &[u8]) -> usize {
    let mut n = 0;
    while let [a, b, ..] = *data {
        let header = u16::from_le_bytes([a, b]);
        if header == 0 {
            break;
        }
        n += 1;
        let len = (header & 0x0fff) as usize + 3;
        data = data.get(len..).unwrap_or_default();
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::smb2::parse_smb2_compression_header;

    fn unchained(alg: CompressionAlgorithm, prefix: &[u8], data: &[u8], size: u32) -> Vec<u8> {
        let mut m = b"\xfcSMB".to_vec();
        m.extend_from_slice(&size.to_le_bytes());
        m.extend_from_slice(&alg.0.to_le_bytes());
        m.extend_from_slice(&0u16.to_le_bytes());
        m.extend_from_slice(&(prefix.len() as u32).to_le_bytes());
        m.extend_from_slice(prefix);
        m.extend_from_slice(data);
        m
    }

    fn run(m: &[u8]) -> Result<Vec<u8>, DecompressError> {
        let (_, h) = parse_smb2_compression_header(m).unwrap();
        decompress_message(m, &h).map(|(out, _)| out)
    }

    // The lznt1 crate's published example: "Hello world" in one chunk.
    #[test]
    fn lznt1_vector() {
        let data = [
            0x0c, 0xb0, 0x00, b'H', b'e', b'l', b'l', b'o', b' ', b'w', b'o', 0x00, b'r', b'l',
            b'd',
        ];
        let m = unchained(CompressionAlgorithm::Lznt1, b"", &data, 11);
        assert_eq!(run(&m).unwrap(), b"Hello world");
        // Declared one byte short: refused, not truncated.
        let m = unchained(CompressionAlgorithm::Lznt1, b"", &data, 10);
        assert!(matches!(run(&m), Err(DecompressError::Corrupt(_))));
    }

    #[test]
    fn lz4_round_trip_with_a_clear_prefix() {
        let body = b"SMB2 READ data SMB2 READ data SMB2 READ data SMB2 READ data".repeat(20);
        let packed = lz4_flex::block::compress(&body);
        let m = unchained(
            CompressionAlgorithm::Lz4,
            b"HEAD",
            &packed,
            4 + body.len() as u32,
        );
        let out = run(&m).unwrap();
        assert_eq!(&out[..4], b"HEAD");
        assert_eq!(&out[4..], &body[..]);
    }

    #[test]
    fn bombs_and_unknown_algorithms_are_refused() {
        let m = unchained(CompressionAlgorithm::Lz77, b"", &[0; 8], 8);
        assert_eq!(
            run(&m),
            Err(DecompressError::Unsupported(CompressionAlgorithm::Lz77))
        );
        let m = unchained(CompressionAlgorithm::Lz4, b"", &[0; 8], 1 << 30);
        assert_eq!(run(&m), Err(DecompressError::TooLarge(1 << 30)));
        // Many tiny LZNT1 chunks (each "up to 4096 bytes") for a small size.
        let chunk = [0x00, 0xb0, 0x00]; // uncompressed-size 1 chunk of a literal flag
        let m = unchained(CompressionAlgorithm::Lznt1, b"", &chunk.repeat(100), 16);
        assert!(matches!(run(&m), Err(DecompressError::Corrupt(_))));
        // Truncated and garbage input: an error, never a panic.
        for alg in [
            CompressionAlgorithm::Lznt1,
            CompressionAlgorithm::Lz77Huffman,
            CompressionAlgorithm::Lz4,
        ] {
            for data in [&[0xffu8; 3][..], &[0x13; 300][..], &[][..]] {
                let m = unchained(alg, b"", data, 4096);
                assert!(run(&m).is_err(), "{alg:?}");
            }
        }
    }
}
