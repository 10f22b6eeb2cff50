//! How a scan or an analyzer runs: the secrets to verify with and the
//! limits, gathered in one handle that `smbsign_scan_file_with`,
//! `smbsign_scan_memory`, `smbsign_scan_fd` and `smbsign_analyzer_new_with`
//! take.

#![allow(clippy::missing_safety_doc)]

use super::*;
use crate::scan::ScanOptions;
use crate::verify::Credentials;
use std::ffi::{CStr, CString, c_char};

/// Opaque: secrets and limits for scans and analyzers.
pub struct smbsign_options {
    pub(super) credentials: Credentials,
    pub(super) max_connections: usize,
    last_error: Option<CString>,
}

impl smbsign_options {
    /// The Rust scan options these stand for.
    pub(super) fn scan_options(&self) -> ScanOptions {
        ScanOptions {
            credentials: (!self.credentials.is_empty())
                .then(|| std::sync::Arc::new(self.credentials.clone())),
            max_flows: self.max_connections,
            ..ScanOptions::default()
        }
    }

    fn fail(&mut self, why: String) -> smbsign_result {
        self.last_error = Some(cstring(&why));
        SMBSIGN_INVALID_PARAMETER
    }
}

/// New options: no secrets, default limits. Returns NULL only if a panic
/// was caught. Ownership: the caller frees it with `smbsign_options_free`;
/// scans and analyzers copy what they need, so it may be freed right after.
/// Thread-safety: one thread at a time; `const` uses from several threads
/// are fine.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_options_new() -> *mut smbsign_options {
    boundary(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(smbsign_options {
            credentials: Credentials::default(),
            max_connections: crate::capture::MAX_FLOWS,
            last_error: None,
        }))
    })
}

/// Free options. NULL is fine; not twice.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_options_free(options: *mut smbsign_options) {
    boundary((), || {
        if !options.is_null() {
            // SAFETY: made by smbsign_options_new, not yet freed.
            drop(unsafe { Box::from_raw(options) });
        }
    })
}

/// Run `f` on the options and a C string argument, both checked for NULL.
unsafe fn with_text(
    options: *mut smbsign_options,
    text: *const c_char,
    f: impl FnOnce(&mut smbsign_options, &str) -> smbsign_result,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if options.is_null() || text.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: made by smbsign_options_new; NUL-terminated text.
        let (o, text) = unsafe { (&mut *options, CStr::from_ptr(text)) };
        f(o, &text.to_string_lossy())
    })
}

/// Add secrets as text, as `smbsign_analyzer_add_credentials` takes them
/// (`password USER:PASS`, `nt-hash USER:HEX32`, `session-key ID:HEX`,
/// `keytab PATH`, separated by newlines or ';'). Nothing is added when an entry does not
/// parse: SMBSIGN_INVALID_PARAMETER, and `smbsign_options_last_error`
/// names the entry and field.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_options_add_credentials(
    options: *mut smbsign_options,
    text: *const c_char,
) -> smbsign_result {
    // SAFETY: checked in with_text.
    unsafe {
        with_text(options, text, |o, text| {
            let mut c = o.credentials.clone();
            match c.add_file_text(&text.replace(';', "\n")) {
                Ok(()) => {
                    o.credentials = c;
                    SMBSIGN_OK
                }
                Err(e) => o.fail(format!("credentials: {}", e.0)),
            }
        })
    }
}

/// Add a password for USER (`DOMAIN\user` or `user`). The password may
/// contain any character; both strings are copied.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_options_add_password(
    options: *mut smbsign_options,
    user: *const c_char,
    password: *const c_char,
) -> smbsign_result {
    if password.is_null() {
        return SMBSIGN_NULL_PARAMETER;
    }
    // SAFETY: checked in with_text; `password` checked above.
    unsafe {
        with_text(options, user, |o, user| {
            let password = CStr::from_ptr(password).to_string_lossy();
            match o.credentials.add_password(&format!("{user}:{password}")) {
                Ok(()) => SMBSIGN_OK,
                Err(e) => o.fail(e.0),
            }
        })
    }
}

/// Add an NT hash (32 hex digits) for USER.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_options_add_nt_hash(
    options: *mut smbsign_options,
    user: *const c_char,
    hex32: *const c_char,
) -> smbsign_result {
    if hex32.is_null() {
        return SMBSIGN_NULL_PARAMETER;
    }
    // SAFETY: checked in with_text; `hex32` checked above.
    unsafe {
        with_text(options, user, |o, user| {
            let hex = CStr::from_ptr(hex32).to_string_lossy();
            match o.credentials.add_nt_hash(&format!("{user}:{hex}")) {
                Ok(()) => SMBSIGN_OK,
                Err(e) => o.fail(e.0),
            }
        })
    }
}

/// Add the service keys of the MIT keytab file at `path` (as `ktutil`,
/// `samba-tool domain exportkeytab` or `ktpass` write it), for Kerberos
/// sessions. The keys are copied; the file is read during the call.
/// Returns SMBSIGN_INVALID_PARAMETER (nothing added) when the file cannot
/// be read or is not a keytab: `smbsign_options_last_error` says which.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_options_add_keytab(
    options: *mut smbsign_options,
    path: *const c_char,
) -> smbsign_result {
    // SAFETY: checked in with_text.
    unsafe {
        with_text(options, path, |o, path| {
            match o.credentials.add_keytab_file(std::path::Path::new(path)) {
                Ok(()) => SMBSIGN_OK,
                Err(e) => o.fail(e.0),
            }
        })
    }
}

/// As `smbsign_options_add_keytab`, from `len` bytes at `data` (read
/// during the call only).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_options_add_keytab_memory(
    options: *mut smbsign_options,
    data: *const u8,
    len: usize,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if options.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: made by smbsign_options_new.
        let o = unsafe { &mut *options };
        // SAFETY: checked against NULL; the caller promises `len` bytes.
        let Some(data) = (unsafe { bytes(data, len) }) else {
            return SMBSIGN_NULL_PARAMETER;
        };
        if data.len() > crate::verify::keytab::MAX_KEYTAB_BYTES {
            return o.fail(format!("keytab: {len} bytes (too large)"));
        }
        match o.credentials.add_keytab_bytes(data) {
            Ok(()) => SMBSIGN_OK,
            Err(e) => o.fail(format!("keytab: {}", e.0)),
        }
    })
}

/// Learn the Kerberos ticket session keys of the KDC exchanges (port 88)
/// in the capture file at `path`, with the passwords added so far, so that
/// Kerberos sessions verify with a password in another capture, or in an
/// analyzer made from these options afterwards. (A scan learns from the
/// KDC exchanges of its own capture as it reads them.) Writes the number of tickets learnt to `*out_tickets`
/// when it is not NULL. Returns SMBSIGN_IO_ERROR, SMBSIGN_NOT_A_CAPTURE.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_options_learn_kdc_file(
    options: *mut smbsign_options,
    path: *const c_char,
    out_tickets: *mut usize,
) -> smbsign_result {
    // SAFETY: checked in with_text.
    unsafe {
        with_text(options, path, |o, path| {
            let path = std::path::Path::new(path);
            match crate::scan::learn_kdc(&o.credentials, path) {
                Ok(n) => {
                    if !out_tickets.is_null() {
                        // SAFETY: non-NULL, writable (caller's promise).
                        out_tickets.write(n);
                    }
                    SMBSIGN_OK
                }
                Err(crate::capture::CaptureError::Io(e)) => {
                    o.last_error = Some(cstring(&format!("{}: {e}", path.display())));
                    SMBSIGN_IO_ERROR
                }
                Err(e) => {
                    o.last_error = Some(cstring(&format!("{}: {e}", path.display())));
                    SMBSIGN_NOT_A_CAPTURE
                }
            }
        })
    }
}

/// Add the session key (16 or 32 bytes) of session `session_id` (SMB2
/// SessionId or SMB1 UID), e.g. a Kerberos session's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_options_add_session_key(
    options: *mut smbsign_options,
    session_id: u64,
    key: *const u8,
    len: usize,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        if options.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: made by smbsign_options_new.
        let o = unsafe { &mut *options };
        // SAFETY: checked against NULL; the caller promises `len` bytes.
        let Some(key) = (unsafe { bytes(key, len) }) else {
            return SMBSIGN_NULL_PARAMETER;
        };
        if key.len() != 16 && key.len() != 32 {
            return o.fail(format!(
                "session key for session 0x{session_id:x}: {len} bytes, not 16 or 32"
            ));
        }
        o.credentials.session_keys.insert(session_id, key.to_vec());
        SMBSIGN_OK
    })
}

/// Track at most `max` connections at once (default and upper bound
/// `SMBSIGN_MAX_CONNECTIONS`; at least 1).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_options_set_max_connections(
    options: *mut smbsign_options,
    max: usize,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        // SAFETY: NULL or made by smbsign_options_new.
        let Some(o) = (unsafe { options.as_mut() }) else {
            return SMBSIGN_NULL_PARAMETER;
        };
        if max == 0 || max > SMBSIGN_MAX_CONNECTIONS {
            return o.fail(format!(
                "max connections {max} is not between 1 and SMBSIGN_MAX_CONNECTIONS ({SMBSIGN_MAX_CONNECTIONS})"
            ));
        }
        o.max_connections = max;
        SMBSIGN_OK
    })
}

/// Why the last call on these options failed, or NULL. Never holds a
/// secret. Owned by the options; valid until their next failing call or
/// `smbsign_options_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_options_last_error(
    options: *const smbsign_options,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or made by smbsign_options_new.
        unsafe { options.as_ref() }
            .and_then(|o| o.last_error.as_ref())
            .map_or(std::ptr::null(), |e| e.as_ptr())
    })
}
