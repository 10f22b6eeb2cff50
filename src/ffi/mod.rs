//! The C ABI (`include/smbsign.h`, generated from these files by cbindgen).
//!
//! Conventions, after rustls-ffi:
//! - every function returns an `smbsign_result` (or a pointer / count that
//!   documents its failure value); outputs go through out-parameters that
//!   are written only on success;
//! - every exported body runs inside a panic boundary: a bug in smbsign never
//!   unwinds into, or aborts, the host (Wireshark, a C tool);
//! - pointers are checked for NULL, lengths against NULL buffers, and enums
//!   coming from C are taken as integers and validated;
//! - objects are opaque, made by `_new` (or a producing call) and released
//!   by `_free`; freeing NULL is a no-op; strings the library returns are
//!   owned by the object they came from unless the function says otherwise.
//!
//! This is the only module with `unsafe` code. Its files:
//! - `types.rs`: the C enums and plain structs, filled from the typed model;
//! - `names.rs`: the name of every enum value (`smbsign_*_name`);
//! - `options.rs`: secrets and limits for scans and analyzers;
//! - `analyzer.rs`: PDU-by-PDU analysis for hosts that parse captures;
//! - `connection.rs`: immutable connection snapshots;
//! - `evidence.rs`: a finding's compared values and other connection;
//! - `fixes.rs`: a finding's fixes, per side and per setting;
//! - `scan.rs`: file, memory and descriptor scans.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

use std::panic::{AssertUnwindSafe, catch_unwind};

mod analyzer;
mod connection;
mod evidence;
mod fixes;
mod links;
mod names;
mod options;
mod scan;
mod tunnel;
mod types;

pub use analyzer::*;
pub use connection::*;
pub use evidence::*;
pub use fixes::*;
pub use links::smbsign_analyzer_relay_peer;
pub use names::*;
pub use options::*;
pub use scan::*;
pub use tunnel::*;
pub use types::*;

use std::ffi::{CString, c_char};

/// Library version, major part. Checked against Cargo.toml by a test.
pub const SMBSIGN_VERSION_MAJOR: u32 = 0;
/// Library version, minor part.
pub const SMBSIGN_VERSION_MINOR: u32 = 3;
/// Library version, patch part.
pub const SMBSIGN_VERSION_PATCH: u32 = 0;
/// (major << 16) | (minor << 8) | patch.
pub const SMBSIGN_VERSION_NUMBER: u32 =
    (SMBSIGN_VERSION_MAJOR << 16) | (SMBSIGN_VERSION_MINOR << 8) | SMBSIGN_VERSION_PATCH;

/// Connections one analyzer tracks at once. Past this the least recently
/// fed eighth is dropped (their state is lost; feeding them again starts
/// afresh), so a hostile capture cannot grow memory without bound.
pub const SMBSIGN_MAX_CONNECTIONS: usize = 65_536;

/// Largest PDU accepted by `smbsign_analyzer_feed` (the NBSS length field
/// is 24 bits).
pub const SMBSIGN_MAX_PDU: usize = 0x00FF_FFFF;

/// Status of every call. Values are stable.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum smbsign_result {
    SMBSIGN_OK = 0,
    /// A required pointer was NULL (or a NULL buffer came with a non-zero length).
    SMBSIGN_NULL_PARAMETER = 1,
    /// An integer argument is out of range (e.g. an unknown direction).
    SMBSIGN_INVALID_PARAMETER = 2,
    /// The bytes do not start with an SMB1/SMB2/transform/compression magic.
    SMBSIGN_NOT_SMB = 3,
    /// An SMB message whose header or body could not be decoded.
    SMBSIGN_MALFORMED = 4,
    /// The PDU (after a leading NBSS header, if any) is larger than
    /// `SMBSIGN_MAX_PDU`.
    SMBSIGN_TOO_LARGE = 5,
    /// No such connection (never fed, or closed).
    SMBSIGN_NOT_FOUND = 6,
    /// A file could not be opened or read.
    SMBSIGN_IO_ERROR = 7,
    /// A file is not a pcap/pcapng/NetXRay capture.
    SMBSIGN_NOT_A_CAPTURE = 8,
    /// An index is past the end of a list.
    SMBSIGN_OUT_OF_RANGE = 9,
    /// Credentials were added, but a connection was fed before any existed
    /// and stays unverified (0.2.0).
    SMBSIGN_CREDENTIALS_TOO_LATE = 10,
    /// Part of a PDU could not be decoded (one part of an SMB2 compound, or
    /// a message body after a good header), but annotations for what did
    /// decode are written, as on SMBSIGN_OK; the decode error is recorded
    /// (0.3.0).
    SMBSIGN_PARTIAL = 11,
    /// smbsign hit an internal error (a Rust panic, caught at the boundary).
    SMBSIGN_PANIC = 99,
}

use smbsign_result::*;

/// Copy `items` into `out[0 .. cap]` and their number (which may exceed
/// `cap`) into `*out_count`. The caller checked `out_count` for NULL and
/// `out` for NULL with a non-zero `cap`.
unsafe fn write_list<T: Copy>(items: &[T], out: *mut T, cap: usize, out_count: *mut usize) {
    for (k, item) in items.iter().take(cap).enumerate() {
        // SAFETY: the caller promises room for `cap` items at `out`.
        unsafe { out.add(k).write(*item) };
    }
    // SAFETY: non-NULL (checked by the caller).
    unsafe { out_count.write(items.len()) };
}

/// Run `f`, turning a panic into `on_panic`.
fn boundary<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

/// A byte slice from C, checking NULL against the length.
unsafe fn bytes<'a>(data: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    if data.is_null() {
        return None;
    }
    // SAFETY: the caller promises `data` points to `len` readable bytes.
    Some(unsafe { std::slice::from_raw_parts(data, len) })
}

/// Library version as a static NUL-terminated string, e.g. "0.3.0".
///
/// Ownership: static, never free it. Thread-safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

/// A short static description of a result code ("ok", "null parameter"…).
///
/// Takes the code as an integer; unknown values give "unknown result".
/// Ownership: static, never free it. Thread-safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_result_name(result: u32) -> *const c_char {
    let s: &'static [u8] = match result {
        0 => b"ok\0",
        1 => b"null parameter\0",
        2 => b"invalid parameter\0",
        3 => b"not an SMB message\0",
        4 => b"malformed SMB message\0",
        5 => b"buffer too large\0",
        6 => b"no such connection\0",
        7 => b"I/O error\0",
        8 => b"not a capture file\0",
        9 => b"index out of range\0",
        10 => b"credentials came after a connection was fed: it stays unverified\0",
        11 => b"partly decoded: some messages were malformed\0",
        99 => b"internal error (panic)\0",
        _ => b"unknown result\0",
    };
    s.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::posture::FindingCode;
    use std::ffi::CStr;

    #[test]
    fn version_constants_match_cargo_toml() {
        let parse = |s: &str| s.parse::<u32>().unwrap();
        assert_eq!(
            SMBSIGN_VERSION_MAJOR,
            parse(env!("CARGO_PKG_VERSION_MAJOR"))
        );
        assert_eq!(
            SMBSIGN_VERSION_MINOR,
            parse(env!("CARGO_PKG_VERSION_MINOR"))
        );
        assert_eq!(
            SMBSIGN_VERSION_PATCH,
            parse(env!("CARGO_PKG_VERSION_PATCH"))
        );
        // SAFETY: static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(smbsign_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn finding_codes_keep_their_numbers() {
        for c in FindingCode::ALL {
            assert_eq!(finding_code(c) as u32, c as u32, "{c:?}");
        }
    }

    #[test]
    fn null_and_garbage_are_status_codes() {
        let a = smbsign_analyzer_new();
        let mut n = 0usize;
        unsafe {
            assert_eq!(
                smbsign_analyzer_feed(
                    a,
                    1,
                    0,
                    1,
                    std::ptr::null(),
                    5,
                    std::ptr::null_mut(),
                    0,
                    &mut n
                ),
                SMBSIGN_NULL_PARAMETER
            );
            assert_eq!(
                smbsign_analyzer_feed(
                    a,
                    1,
                    7,
                    1,
                    b"x".as_ptr(),
                    1,
                    std::ptr::null_mut(),
                    0,
                    &mut n
                ),
                SMBSIGN_INVALID_PARAMETER
            );
            let junk = [0xfeu8, b'S', b'M', b'B', 1, 2, 3];
            assert_eq!(
                smbsign_analyzer_feed(
                    a,
                    1,
                    0,
                    1,
                    junk.as_ptr(),
                    junk.len(),
                    std::ptr::null_mut(),
                    0,
                    &mut n
                ),
                SMBSIGN_MALFORMED
            );
            assert_eq!(smbsign_analyzer_close(a, 1), SMBSIGN_OK);
            assert_eq!(smbsign_analyzer_close(a, 1), SMBSIGN_NOT_FOUND);
            smbsign_analyzer_free(a);
            smbsign_analyzer_free(std::ptr::null_mut());
        }
    }
}
