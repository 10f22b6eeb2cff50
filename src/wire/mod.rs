//! Wire decoding: pure nom parsers for NetBIOS session framing, SMB1, SMB2/3,
//! NTLMSSP and the bits of SPNEGO smbsign needs.
//!
//! Nothing here keeps state or does I/O. Records borrow from the input and
//! wire values are integer newtypes so unknown values survive and print.
//! Every other module depends on this one; this one depends on none of them.
#![forbid(unsafe_code)]

use rusticata_macros::newtype_enum;
pub mod header;
pub mod kerberos;
pub mod names;
pub mod nbss;
pub mod ntlmssp;
pub mod security;
pub mod smb1;
pub mod smb2;
pub mod smb2_compression;
pub mod smb2_ioctl;
pub mod spnego;

pub use header::{Pdu, Smb1Header, Smb2Header};
pub use security::{
    Dialect, MacAlgorithm, SecurityMode, SigningSetting, Smb1SecurityMode, Smb2SecurityMode,
};

use std::fmt;

/// Why a record could not be decoded. Carries no input bytes so it can be
/// stored and printed after the buffer is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// The buffer ended before the record did.
    Truncated,
    /// A magic number, structure size or length field is not what the
    /// protocol allows.
    Malformed(&'static str),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated => write!(f, "record truncated"),
            WireError::Malformed(what) => write!(f, "malformed: {what}"),
        }
    }
}

impl std::error::Error for WireError {}

impl<I> nom::error::ParseError<I> for WireError {
    fn from_error_kind(_input: I, kind: nom::error::ErrorKind) -> Self {
        match kind {
            nom::error::ErrorKind::Eof => WireError::Truncated,
            _ => WireError::Malformed("field"),
        }
    }
    fn append(_input: I, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// Result of every parser in this module.
pub type WireResult<'a, T> = nom::IResult<&'a [u8], T, WireError>;

/// Turn a nom error into the crate's error (complete parsers never return
/// `Incomplete`, but be total anyway).
pub fn flatten(e: nom::Err<WireError>) -> WireError {
    match e {
        nom::Err::Incomplete(_) => WireError::Truncated,
        nom::Err::Error(e) | nom::Err::Failure(e) => e,
    }
}

/// `buf[off..off+len]`, or `Truncated`/`Malformed` when it falls outside.
pub fn slice_at(buf: &[u8], off: usize, len: usize) -> Result<&[u8], WireError> {
    let end = off
        .checked_add(len)
        .ok_or(WireError::Malformed("offset overflow"))?;
    buf.get(off..end).ok_or(WireError::Truncated)
}

/// Little-endian helpers for fixed offsets already bounds-checked by the caller's length test.
pub(crate) fn le16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}
pub(crate) fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// NT status codes smbsign reasons about.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NtStatus(pub u32);

newtype_enum! {
impl debug NtStatus {
    Success = 0x0000_0000,
    Pending = 0x0000_0103,
    MoreProcessingRequired = 0xC000_0016,
    AccessDenied = 0xC000_0022,
    LogonFailure = 0xC000_006D,
    NotSupported = 0xC000_00BB,
    NetworkSessionExpired = 0xC000_035C,
    UserSessionDeleted = 0xC000_0203,
    InvalidParameter = 0xC000_000D,
}
}

impl NtStatus {
    pub fn is_error(self) -> bool {
        self.0 >> 30 == 3
    }
}

/// Decode UTF-16LE (lossy) as NTLMSSP and SMB use for names.
pub fn utf16le_lossy(b: &[u8]) -> String {
    // Decoded straight into the String (one allocation): this runs for
    // every user, domain and server name of every NTLM exchange.
    let mut out = String::with_capacity(b.len() / 2);
    push_utf16le_lossy(&mut out, b);
    out
}

/// Append UTF-16LE `b` to `out` (unpaired surrogates as U+FFFD).
pub fn push_utf16le_lossy(out: &mut String, b: &[u8]) {
    // Names are nearly always ASCII: copied through a stack buffer, one
    // `push_str` each, instead of a char at a time.
    let mut ascii = [0u8; 64];
    if b.len() <= 2 * ascii.len()
        && b.len().is_multiple_of(2)
        && b.chunks_exact(2).all(|c| c[1] == 0 && c[0] < 0x80)
    {
        let n = b.len() / 2;
        for (dst, src) in ascii.iter_mut().zip(b.iter().step_by(2)) {
            *dst = *src;
        }
        if let Ok(s) = std::str::from_utf8(&ascii[..n]) {
            out.push_str(s);
            return;
        }
    }
    let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    out.extend(char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)));
}

/// Hex fixture decoding for the parser tests (whitespace ignored).
#[cfg(test)]
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|k| u8::from_str_radix(&s[k..k + 2], 16).expect("hex fixture"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::utf16le_lossy;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn utf16le_names_decode_on_both_paths() {
        // ASCII (the stack-buffer path), non-ASCII, and longer than the
        // buffer all come back as they went in.
        let long = "A".repeat(65);
        for s in ["WIN-FS1", "", "Jürgen", "名前", long.as_str()] {
            assert_eq!(utf16le_lossy(&utf16(s)), s);
        }
        // An odd trailing byte is dropped; an unpaired surrogate is U+FFFD.
        assert_eq!(utf16le_lossy(b"A\0B"), "A");
        assert_eq!(utf16le_lossy(&[0x00, 0xd8, b'x', 0]), "\u{fffd}x");
    }
}
