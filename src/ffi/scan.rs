//! Whole-file scans for C tools that do not parse captures.

#![allow(clippy::missing_safety_doc)]

use super::connection::smbsign_connection_from;
use super::*;
use crate::capture::CaptureError;
use crate::scan::{ScanOptions, Scanner};
use std::ffi::{CStr, CString, c_char};

/// Opaque: the result of scanning a capture file.
pub struct smbsign_scan {
    connections: Vec<smbsign_connection>,
    error: Option<CString>,
    frames: u64,
}

/// Scan a capture file (pcap, pcapng, gzip of either, NetXRay 2.x) and
/// write the result to `*out`. A capture that ends early still gives a scan
/// (check `smbsign_scan_error`).
///
/// Returns SMBSIGN_IO_ERROR (cannot open or read), SMBSIGN_NOT_A_CAPTURE,
/// SMBSIGN_NULL_PARAMETER. Ownership: the caller frees `*out` with
/// `smbsign_scan_free`. Thread-safety: any thread; scans are independent.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_file(
    path: *const c_char,
    out: *mut *mut smbsign_scan,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if path.is_null() || out.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: NUL-terminated (caller's promise).
        let path = unsafe { CStr::from_ptr(path) };
        let path = std::path::PathBuf::from(path.to_string_lossy().into_owned());
        let report = match Scanner::new(ScanOptions::default()).scan(&path) {
            Ok(r) => r,
            Err(CaptureError::Io(_)) => return SMBSIGN_IO_ERROR,
            Err(_) => return SMBSIGN_NOT_A_CAPTURE,
        };
        let scan = smbsign_scan {
            frames: report.stats.frames,
            error: report.error.map(|e| cstring(&e.to_string())),
            connections: report
                .connections
                .into_iter()
                .map(smbsign_connection_from)
                .collect(),
        };
        // SAFETY: non-NULL, writable.
        unsafe { out.write(Box::into_raw(Box::new(scan))) };
        SMBSIGN_OK
    })
}

/// Free a scan and every connection it holds. NULL is fine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_free(scan: *mut smbsign_scan) {
    boundary((), || {
        if !scan.is_null() {
            // SAFETY: made by smbsign_scan_file, not yet freed.
            drop(unsafe { Box::from_raw(scan) });
        }
    })
}

/// Number of SMB connections in the scan (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_connection_count(scan: *const smbsign_scan) -> usize {
    boundary(0, || {
        // SAFETY: NULL or a live scan.
        unsafe { scan.as_ref() }.map_or(0, |s| s.connections.len())
    })
}

/// Frames read from the file (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_frame_count(scan: *const smbsign_scan) -> u64 {
    boundary(0, || {
        // SAFETY: NULL or a live scan.
        unsafe { scan.as_ref() }.map_or(0, |s| s.frames)
    })
}

/// Connection `index` of the scan, borrowed: valid until the scan is freed;
/// never pass it to `smbsign_connection_free`. NULL when out of range.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_connection(
    scan: *const smbsign_scan,
    index: usize,
) -> *const smbsign_connection {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or a live scan.
        unsafe { scan.as_ref() }
            .and_then(|s| s.connections.get(index))
            .map_or(std::ptr::null(), |c| c as *const smbsign_connection)
    })
}

/// Why reading stopped early (e.g. "capture is truncated …"), or NULL when
/// the whole file was read, and NULL for a NULL scan. Owned by the scan:
/// valid until `smbsign_scan_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_error(scan: *const smbsign_scan) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or a live scan.
        unsafe { scan.as_ref() }
            .and_then(|s| s.error.as_ref())
            .map_or(std::ptr::null(), |e| e.as_ptr())
    })
}
