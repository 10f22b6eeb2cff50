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

/// A scan of `input` with `options`, written to `*out`. (With a password
/// it learns the tickets of the KDC exchanges it reads.)
unsafe fn scan_into(
    input: crate::scan::Input<'_>,
    options: *const smbsign_options,
    out: *mut *mut smbsign_scan,
) -> smbsign_result {
    // SAFETY: NULL or made by smbsign_options_new (caller's promise).
    let scan_options =
        unsafe { options.as_ref() }.map_or_else(ScanOptions::default, |o| o.scan_options());
    let report = match Scanner::new(scan_options).scan(input) {
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
    // SAFETY: non-NULL (checked by the callers), writable.
    unsafe { out.write(Box::into_raw(Box::new(scan))) };
    SMBSIGN_OK
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
    // SAFETY: same contract, no options.
    unsafe { smbsign_scan_file_with(path, std::ptr::null(), out) }
}

/// As `smbsign_scan_file`, with `options` (NULL: defaults): with
/// credentials, every signature is verified and the connections' sessions
/// carry the verdicts. The options are read, not kept.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_file_with(
    path: *const c_char,
    options: *const smbsign_options,
    out: *mut *mut smbsign_scan,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if path.is_null() || out.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: NUL-terminated (caller's promise).
        let path = unsafe { CStr::from_ptr(path) };
        let path = std::path::PathBuf::from(path.to_string_lossy().into_owned());
        // SAFETY: `out` checked; `options` NULL or live.
        unsafe { scan_into(crate::scan::Input::Path(&path), options, out) }
    })
}

/// Scan a capture held in memory (`len` bytes at `data`, any format
/// `smbsign_scan_file` reads), with `options` (NULL: defaults). The bytes
/// are read during the call only. Returns SMBSIGN_NOT_A_CAPTURE,
/// SMBSIGN_NULL_PARAMETER; ownership as for `smbsign_scan_file`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_memory(
    data: *const u8,
    len: usize,
    options: *const smbsign_options,
    out: *mut *mut smbsign_scan,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if out.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: checked against NULL; the caller promises `len` bytes.
        let Some(data) = (unsafe { bytes(data, len) }) else {
            return SMBSIGN_NULL_PARAMETER;
        };
        // SAFETY: `out` checked; `options` NULL or live.
        unsafe { scan_into(data.into(), options, out) }
    })
}

/// Scan a capture read from the open file descriptor `fd` to its end (a
/// pipe, a socket, a file), with `options` (NULL: defaults). The
/// descriptor is read, not closed. Returns SMBSIGN_IO_ERROR,
/// SMBSIGN_NOT_A_CAPTURE, SMBSIGN_INVALID_PARAMETER (negative fd),
/// SMBSIGN_NULL_PARAMETER; ownership as for `smbsign_scan_file`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_scan_fd(
    fd: i32,
    options: *const smbsign_options,
    out: *mut *mut smbsign_scan,
) -> smbsign_result {
    use std::os::fd::FromRawFd;
    boundary(SMBSIGN_PANIC, || {
        if out.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        if fd < 0 {
            return SMBSIGN_INVALID_PARAMETER;
        }
        // SAFETY: the caller's open descriptor; ManuallyDrop keeps it open.
        let file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
        let reader: &std::fs::File = &file;
        // SAFETY: `out` checked; `options` NULL or live.
        unsafe { scan_into(crate::scan::Input::Reader(Box::new(reader)), options, out) }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/captures")
            .join(name)
    }

    /// The first connection's verified count through the C scan.
    unsafe fn verified(scan: *const smbsign_scan) -> u64 {
        // SAFETY: a live scan with at least one connection.
        unsafe {
            (*smbsign_scan_connection(scan, 0))
                .report
                .verified_messages
                .unwrap_or(0)
        }
    }

    /// Issue 16: Kerberos through the C API, with a keytab (file and
    /// memory) and with a password whose KDC exchange is in the capture,
    /// or learnt from another file for a descriptor scan.
    #[test]
    fn kerberos_verifies_through_the_c_api() {
        let dir = lab("kerberos");
        let smb = CString::new(dir.join("krb-smb302-smb.pcap").display().to_string()).unwrap();
        let both = CString::new(dir.join("krb-smb302.pcap").display().to_string()).unwrap();
        let keytab = CString::new(dir.join("dc1.keytab").display().to_string()).unwrap();
        let keytab_bytes = std::fs::read(dir.join("dc1.keytab")).unwrap();
        // SAFETY: live handles, buffers of the given sizes.
        unsafe {
            let all_verified = |s: *const smbsign_scan| {
                let r = &(*smbsign_scan_connection(s, 0)).report;
                r.verified_messages == Some(r.signed_messages) && r.signed_messages > 20
            };
            let o = smbsign_options_new();
            assert_eq!(smbsign_options_add_keytab(o, keytab.as_ptr()), SMBSIGN_OK);
            let mut s = std::ptr::null_mut();
            assert_eq!(smbsign_scan_file_with(smb.as_ptr(), o, &mut s), SMBSIGN_OK);
            assert!(all_verified(s));
            smbsign_scan_free(s);
            smbsign_options_free(o);

            let o = smbsign_options_new();
            let r = smbsign_options_add_keytab_memory(o, keytab_bytes.as_ptr(), keytab_bytes.len());
            assert_eq!(r, SMBSIGN_OK);
            assert_eq!(
                smbsign_options_add_keytab_memory(o, b"nope".as_ptr(), 4),
                SMBSIGN_INVALID_PARAMETER
            );
            let why = CStr::from_ptr(smbsign_options_last_error(o))
                .to_string_lossy()
                .into_owned();
            assert!(why.contains("not a keytab"), "{why}");
            smbsign_options_free(o);

            let o = smbsign_options_new();
            assert_eq!(
                smbsign_options_add_password(o, c"LAB\\bob".as_ptr(), c"B0b!Passw0rd".as_ptr()),
                SMBSIGN_OK
            );
            let mut s = std::ptr::null_mut();
            assert_eq!(smbsign_scan_file_with(both.as_ptr(), o, &mut s), SMBSIGN_OK);
            assert!(all_verified(s));
            smbsign_scan_free(s);
            let mut learnt = 0usize;
            assert_eq!(
                smbsign_options_learn_kdc_file(o, both.as_ptr(), &mut learnt),
                SMBSIGN_OK
            );
            assert!(learnt >= 1);
            let f = std::fs::File::open(dir.join("krb-smb302-smb.pcap")).unwrap();
            let mut s = std::ptr::null_mut();
            use std::os::fd::AsRawFd;
            assert_eq!(smbsign_scan_fd(f.as_raw_fd(), o, &mut s), SMBSIGN_OK);
            assert!(all_verified(s));
            smbsign_scan_free(s);
            assert_eq!(
                smbsign_options_learn_kdc_file(o, keytab.as_ptr(), std::ptr::null_mut()),
                SMBSIGN_NOT_A_CAPTURE
            );
            smbsign_options_free(o);
        }
    }

    /// Issue 14, gap 1: a file, memory or descriptor scan verifies with the
    /// options' credentials, as the CLI does.
    #[test]
    fn scans_with_options_verify_like_the_cli() {
        let path = lab("smb311-gmac.pcap");
        let mut creds = crate::verify::Credentials::default();
        creds.add_password("LAB\\smblab:Passw0rd!").unwrap();
        let want = Scanner::new(ScanOptions::with_credentials(std::sync::Arc::new(creds)))
            .scan(&path)
            .unwrap()
            .connections[0]
            .verified_messages
            .unwrap();
        assert!(want > 10);
        let bytes = std::fs::read(&path).unwrap();
        let cpath = CString::new(path.display().to_string()).unwrap();
        // SAFETY: live handles, buffers of the given sizes.
        unsafe {
            let o = smbsign_options_new();
            assert_eq!(
                smbsign_options_add_password(o, c"LAB\\smblab".as_ptr(), c"Passw0rd!".as_ptr()),
                SMBSIGN_OK
            );
            let mut s = std::ptr::null_mut();
            assert_eq!(
                smbsign_scan_file_with(cpath.as_ptr(), o, &mut s),
                SMBSIGN_OK
            );
            assert_eq!(verified(s), want);
            smbsign_scan_free(s);
            assert_eq!(
                smbsign_scan_memory(bytes.as_ptr(), bytes.len(), o, &mut s),
                SMBSIGN_OK
            );
            assert_eq!(verified(s), want);
            smbsign_scan_free(s);
            let f = std::fs::File::open(&path).unwrap();
            use std::os::fd::AsRawFd;
            assert_eq!(smbsign_scan_fd(f.as_raw_fd(), o, &mut s), SMBSIGN_OK);
            assert_eq!(verified(s), want);
            smbsign_scan_free(s);
            // Without options: no verification.
            assert_eq!(
                smbsign_scan_memory(bytes.as_ptr(), bytes.len(), std::ptr::null(), &mut s),
                SMBSIGN_OK
            );
            assert_eq!(verified(s), 0);
            smbsign_scan_free(s);
            // Garbage and NULLs: statuses, nothing written.
            let mut untouched = std::ptr::null_mut();
            assert_eq!(
                smbsign_scan_memory(b"nope".as_ptr(), 4, o, &mut untouched),
                SMBSIGN_NOT_A_CAPTURE
            );
            assert!(untouched.is_null());
            assert_eq!(
                smbsign_scan_memory(std::ptr::null(), 4, o, &mut untouched),
                SMBSIGN_NULL_PARAMETER
            );
            assert_eq!(
                smbsign_scan_fd(-1, o, &mut untouched),
                SMBSIGN_INVALID_PARAMETER
            );
            assert_eq!(
                smbsign_scan_fd(0, o, std::ptr::null_mut()),
                SMBSIGN_NULL_PARAMETER
            );
            assert_eq!(
                smbsign_options_add_credentials(o, c"password nocolon".as_ptr()),
                SMBSIGN_INVALID_PARAMETER
            );
            let e = CStr::from_ptr(smbsign_options_last_error(o))
                .to_string_lossy()
                .into_owned();
            assert!(e.contains("line 1") && !e.contains("nocolon"), "{e}");
            assert_eq!(
                smbsign_options_add_session_key(o, 5, [0u8; 3].as_ptr(), 3),
                SMBSIGN_INVALID_PARAMETER
            );
            assert_eq!(
                smbsign_options_set_max_connections(o, 0),
                SMBSIGN_INVALID_PARAMETER
            );
            assert_eq!(
                smbsign_options_set_max_connections(std::ptr::null_mut(), 5),
                SMBSIGN_NULL_PARAMETER
            );
            assert!(smbsign_options_last_error(std::ptr::null()).is_null());
            // An analyzer made from the options verifies from its first PDU.
            let a = smbsign_analyzer_new_with(o);
            assert!(!a.is_null());
            smbsign_analyzer_free(a);
            smbsign_options_free(o);
            smbsign_options_free(std::ptr::null_mut());
        }
    }
}
