//! The name of every enum value the C API returns, from the library's one
//! table each, so that C tools and the plugin keep no copies. Each returns
//! a static NUL-terminated string; an unknown value gives NULL.

use super::boundary;
use crate::conn::AuthMechanism;
use crate::posture::{FindingCode, Severity};
use crate::wire::{MacAlgorithm, SigningSetting, smb2::Cipher};
use std::ffi::{CStr, c_char};

// Literal values, so that cbindgen can write them; a test keeps each equal
// to the length of the Rust table it counts.
/// Number of finding codes: they run from 1 to SMBSIGN_FINDING_COUNT.
pub const SMBSIGN_FINDING_COUNT: u32 = 27;
/// Number of severities (0 .. SMBSIGN_SEVERITY_COUNT - 1).
pub const SMBSIGN_SEVERITY_COUNT: u32 = 3;
/// Number of mechanisms (0 .. SMBSIGN_MECHANISM_COUNT - 1).
pub const SMBSIGN_MECHANISM_COUNT: u32 = 7;
/// Signing settings run from 0 (unknown) to SMBSIGN_SIGNING_COUNT - 1.
pub const SMBSIGN_SIGNING_COUNT: u32 = 4;
/// MAC algorithms run from 0 (unknown) to SMBSIGN_MAC_COUNT - 1.
pub const SMBSIGN_MAC_COUNT: u32 = 5;

/// Static strings with their NUL, as C wants them.
fn c(s: &'static str) -> *const c_char {
    // Every name below is a literal without NUL bytes; the table is built
    // once, so the pointers stay valid for the program's life.
    static TABLE: std::sync::OnceLock<std::sync::Mutex<Vec<(&'static str, &'static CStr)>>> =
        std::sync::OnceLock::new();
    let t = TABLE.get_or_init(Default::default);
    let mut t = t.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, cs)) = t.iter().find(|(k, _)| *k == s) {
        return cs.as_ptr();
    }
    let leaked: &'static CStr = Box::leak(
        std::ffi::CString::new(s)
            .unwrap_or_default()
            .into_boxed_c_str(),
    );
    t.push((s, leaked));
    leaked.as_ptr()
}

fn name_or_null(n: Option<&'static str>) -> *const c_char {
    n.map_or(std::ptr::null(), c)
}

/// Stable code of a finding, e.g. "signing-not-required"; NULL if unknown.
/// Ownership: static. Thread-safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_finding_code_name(code: u32) -> *const c_char {
    boundary(std::ptr::null(), || {
        name_or_null(
            FindingCode::ALL
                .into_iter()
                .find(|f| *f as u32 == code)
                .map(FindingCode::as_str),
        )
    })
}

/// Short label of a finding code (for an expert-info summary), e.g. "Server
/// does not require signing"; NULL if unknown. Ownership: static.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_finding_code_summary(code: u32) -> *const c_char {
    boundary(std::ptr::null(), || {
        name_or_null(
            FindingCode::ALL
                .into_iter()
                .find(|f| *f as u32 == code)
                .map(FindingCode::summary),
        )
    })
}

/// Severity of a finding code as an `smbsign_severity` value, or
/// UINT32_MAX for an unknown code. Thread-safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_finding_code_severity(code: u32) -> u32 {
    boundary(u32::MAX, || {
        FindingCode::ALL
            .into_iter()
            .find(|f| *f as u32 == code)
            .map_or(u32::MAX, |f| f.severity() as u32)
    })
}

/// "not-verified", "valid", "forged", "unsigned-while-required", "exempt",
/// "no-key", "not-signed", "unverifiable" for an `smbsign_verdict` value;
/// NULL if out of range. Ownership: static.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_verdict_name(verdict: u32) -> *const c_char {
    use crate::conn::Verdict;
    boundary(std::ptr::null(), || {
        let all = [
            Verdict::NotVerified,
            Verdict::Valid,
            Verdict::Forged,
            Verdict::UnsignedWhileRequired,
            Verdict::Exempt,
            Verdict::NoKey,
            Verdict::NotSigned,
            Verdict::Unverifiable,
        ];
        name_or_null(
            all.into_iter()
                .find(|v| super::types::verdict_of(*v) as u32 == verdict)
                .map(Verdict::as_str),
        )
    })
}

/// Verdicts run from 0 to SMBSIGN_VERDICT_COUNT - 1.
pub const SMBSIGN_VERDICT_COUNT: u32 = 8;

/// "info", "warning", "error"; NULL if unknown. Ownership: static.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_severity_name(severity: u32) -> *const c_char {
    boundary(std::ptr::null(), || {
        name_or_null(
            Severity::ALL
                .into_iter()
                .find(|s| *s as u32 == severity)
                .map(Severity::as_str),
        )
    })
}

/// "disabled", "enabled", "required" for an `smbsign_signing` value, NULL
/// for UNKNOWN and out-of-range values. Ownership: static.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_signing_name(signing: u32) -> *const c_char {
    boundary(std::ptr::null(), || {
        name_or_null(
            SigningSetting::ALL
                .into_iter()
                .find(|s| *s as u32 == signing)
                .map(SigningSetting::as_str),
        )
    })
}

/// "ntlmssp", "kerberos", "iakerb", "negoex", "other", "unknown" (legacy
/// logons too) for an `smbsign_mechanism` value; NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_mechanism_name(mechanism: u32) -> *const c_char {
    boundary(std::ptr::null(), || {
        name_or_null(
            AuthMechanism::ALL
                .into_iter()
                .find(|m| *m as u32 == mechanism)
                .map(AuthMechanism::as_str),
        )
    })
}

/// "MD5", "HMAC-SHA256", "AES-128-CMAC", "AES-128-GMAC" for an
/// `smbsign_mac` value; NULL for UNKNOWN and out of range.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_mac_name(mac: u32) -> *const c_char {
    boundary(std::ptr::null(), || {
        name_or_null(
            MacAlgorithm::ALL
                .into_iter()
                .find(|m| *m as u32 == mac)
                .map(MacAlgorithm::name),
        )
    })
}

/// An SMB2 dialect as people write it ("2.1", "3.1.1", "2.???" for the
/// wildcard); NULL for values with no name. Ownership: static.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_dialect_name(dialect: u16) -> *const c_char {
    use crate::wire::smb2::Smb2Dialect;
    boundary(std::ptr::null(), || {
        let d = Smb2Dialect(dialect);
        name_or_null(if d == Smb2Dialect::Wildcard {
            Some("2.???")
        } else {
            d.name()
        })
    })
}

/// An SMB3 cipher id ("AES-128-CCM" …); NULL for unknown ids.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_cipher_name(cipher: u16) -> *const c_char {
    boundary(std::ptr::null(), || {
        let name = Cipher(cipher).name();
        name_or_null((name != "unknown").then_some(name))
    })
}

/// An SMB2 command ("SESSION_SETUP" …), or with `smb1` an SMB1 command
/// ("SMB_COM_NEGOTIATE" …); NULL for commands with no name here.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_command_name(smb1: bool, command: u16) -> *const c_char {
    use crate::wire::names;
    boundary(std::ptr::null(), || {
        name_or_null(if smb1 {
            u8::try_from(command)
                .ok()
                .and_then(|c| names::smb1_command_name(crate::wire::smb1::Smb1Command(c)))
        } else {
            names::smb2_command_name(crate::wire::smb2::Smb2Command(command))
        })
    })
}

/// An NT status ("STATUS_ACCESS_DENIED" …); NULL for statuses with no name
/// here. Ownership: static.
#[unsafe(no_mangle)]
pub extern "C" fn smbsign_status_name(status: u32) -> *const c_char {
    boundary(std::ptr::null(), || {
        name_or_null(crate::wire::names::nt_status_name(crate::wire::NtStatus(
            status,
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(p: *const c_char) -> Option<String> {
        // SAFETY: NULL or a static NUL-terminated name.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }

    #[test]
    fn counts_match_the_tables_and_every_value_has_its_name() {
        assert_eq!(SMBSIGN_FINDING_COUNT as usize, FindingCode::ALL.len());
        assert_eq!(SMBSIGN_SEVERITY_COUNT as usize, Severity::ALL.len());
        assert_eq!(SMBSIGN_MECHANISM_COUNT as usize, AuthMechanism::ALL.len());
        assert_eq!(
            SMBSIGN_SIGNING_COUNT as usize,
            SigningSetting::ALL.len() + 1
        );
        assert_eq!(SMBSIGN_MAC_COUNT as usize, MacAlgorithm::ALL.len() + 1);
        for code in 1..=SMBSIGN_FINDING_COUNT {
            let name = text(smbsign_finding_code_name(code)).expect("named");
            assert_eq!(FindingCode::parse(&name).map(|c| c as u32), Some(code));
            assert!(text(smbsign_finding_code_summary(code)).is_some());
            assert!(smbsign_finding_code_severity(code) < SMBSIGN_SEVERITY_COUNT);
        }
        assert!(smbsign_finding_code_name(0).is_null());
        assert!(smbsign_finding_code_name(SMBSIGN_FINDING_COUNT + 1).is_null());
        assert_eq!(smbsign_finding_code_severity(99), u32::MAX);
        assert_eq!(text(smbsign_signing_name(3)).as_deref(), Some("required"));
        assert!(smbsign_signing_name(0).is_null());
        assert_eq!(text(smbsign_mac_name(4)).as_deref(), Some("AES-128-GMAC"));
        assert!(smbsign_mac_name(5).is_null());
        assert_eq!(text(smbsign_mechanism_name(4)).as_deref(), Some("iakerb"));
        assert_eq!(text(smbsign_dialect_name(0x0311)).as_deref(), Some("3.1.1"));
        assert_eq!(text(smbsign_dialect_name(0x02ff)).as_deref(), Some("2.???"));
        assert!(smbsign_dialect_name(0x0222).is_null());
        assert_eq!(text(smbsign_cipher_name(4)).as_deref(), Some("AES-256-GCM"));
        assert!(smbsign_cipher_name(9).is_null());
        assert_eq!(
            text(smbsign_command_name(true, 0x73)).as_deref(),
            Some("SMB_COM_SESSION_SETUP_ANDX")
        );
        assert!(smbsign_command_name(true, 0x1073).is_null());
        assert_eq!(
            text(smbsign_command_name(false, 3)).as_deref(),
            Some("TREE_CONNECT")
        );
        assert_eq!(
            text(smbsign_status_name(0)).as_deref(),
            Some("STATUS_SUCCESS")
        );
        // The same pointer every time: static, never freed.
        assert_eq!(smbsign_severity_name(1), smbsign_severity_name(1));
    }
}
