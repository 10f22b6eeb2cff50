//! The fixes of a finding for C: one per side, each as one sentence and
//! as its settings one by one (Group Policy, registry, Samba, …).

#![allow(clippy::missing_safety_doc)]

use super::connection::smbsign_connection;
use super::*;
use crate::posture::Finding;
use crate::posture::kb::{SettingKind, Side};

/// The side a fix is made on.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum smbsign_fix_side {
    SMBSIGN_FIX_CLIENT = 1,
    SMBSIGN_FIX_SERVER = 2,
}

/// One fix of a finding (added after 0.3.0): the side, and the setting to
/// change there (Group Policy name, registry value and Samba option, as
/// one sentence). `setting` is owned by the `smbsign_connection`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct smbsign_finding_fix {
    pub side: smbsign_fix_side,
    pub setting: *const c_char,
}

/// Where one setting of a fix is made (added after 0.3.0).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum smbsign_setting_kind {
    SMBSIGN_SETTING_GROUP_POLICY = 1,
    SMBSIGN_SETTING_REGISTRY = 2,
    SMBSIGN_SETTING_SAMBA = 3,
    SMBSIGN_SETTING_UPDATE = 4,
    SMBSIGN_SETTING_POWERSHELL = 5,
    SMBSIGN_SETTING_DIRECTORY = 6,
    SMBSIGN_SETTING_NOTE = 7,
}

/// One setting of a fix (added after 0.3.0): where it is made, the label
/// to show it under ("Group Policy", "registry", "Samba", …) and what to
/// set. Strings are owned by the `smbsign_connection`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct smbsign_fix_part {
    pub kind: smbsign_setting_kind,
    pub label: *const c_char,
    pub text: *const c_char,
}

fn kind_of(kind: SettingKind) -> smbsign_setting_kind {
    use smbsign_setting_kind::*;
    match kind {
        SettingKind::GroupPolicy => SMBSIGN_SETTING_GROUP_POLICY,
        SettingKind::Registry => SMBSIGN_SETTING_REGISTRY,
        SettingKind::Samba => SMBSIGN_SETTING_SAMBA,
        SettingKind::Update => SMBSIGN_SETTING_UPDATE,
        SettingKind::Powershell => SMBSIGN_SETTING_POWERSHELL,
        SettingKind::Directory => SMBSIGN_SETTING_DIRECTORY,
        SettingKind::Note => SMBSIGN_SETTING_NOTE,
    }
}

type Fixes = (
    Vec<Vec<smbsign_finding_fix>>,
    Vec<Vec<Vec<smbsign_fix_part>>>,
);

/// The C fixes of each finding and the parts of each fix; strings go
/// through `keep`.
pub(super) fn finding_fixes(
    findings: &[Finding],
    keep: &mut impl FnMut(&str) -> *const c_char,
) -> Fixes {
    let fixes = findings
        .iter()
        .map(|f| {
            f.fixes
                .iter()
                .map(|x| smbsign_finding_fix {
                    side: match x.side {
                        Side::Client => smbsign_fix_side::SMBSIGN_FIX_CLIENT,
                        Side::Server => smbsign_fix_side::SMBSIGN_FIX_SERVER,
                    },
                    setting: keep(&x.setting),
                })
                .collect()
        })
        .collect();
    let parts = findings
        .iter()
        .map(|f| {
            f.fixes
                .iter()
                .map(|x| {
                    x.parts
                        .iter()
                        .map(|p| smbsign_fix_part {
                            kind: kind_of(p.kind),
                            label: keep(p.kind.label()),
                            text: keep(&p.text),
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    (fixes, parts)
}

/// The number of fixes of finding `index` (0 for NULL, an index past the
/// end, or a finding no setting explains). Added after 0.3.0.
/// Thread-safety: a connection is immutable; any thread may read it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_finding_fix_count(
    conn: *const smbsign_connection,
    index: usize,
) -> usize {
    boundary(0, || {
        // SAFETY: NULL or a live smbsign_connection (caller's promise).
        unsafe { conn.as_ref() }
            .and_then(|c| c.fixes.get(index))
            .map_or(0, Vec::len)
    })
}

/// Copy fix `k` of finding `index` into `*out` (its setting is owned by
/// `conn`). Returns SMBSIGN_OUT_OF_RANGE when either index is past its
/// end, SMBSIGN_NULL_PARAMETER for NULL. Added after 0.3.0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_get_finding_fix(
    conn: *const smbsign_connection,
    index: usize,
    k: usize,
    out: *mut smbsign_finding_fix,
) -> smbsign_result {
    // SAFETY: the pointers are checked there.
    boundary(SMBSIGN_PANIC, || unsafe {
        super::connection::copy_item(conn, k, out, |c| {
            c.fixes.get(index).map_or(&[][..], Vec::as_slice)
        })
    })
}

/// The number of settings of fix `k` of finding `index` (0 for NULL or an
/// index past its end). Added after 0.3.0. Thread-safety: a connection is
/// immutable; any thread may read it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_finding_fix_part_count(
    conn: *const smbsign_connection,
    index: usize,
    k: usize,
) -> usize {
    boundary(0, || {
        // SAFETY: NULL or a live smbsign_connection (caller's promise).
        unsafe { conn.as_ref() }
            .and_then(|c| c.fix_parts.get(index))
            .and_then(|f| f.get(k))
            .map_or(0, Vec::len)
    })
}

/// Copy setting `j` of fix `k` of finding `index` into `*out` (strings
/// owned by `conn`). Returns SMBSIGN_OUT_OF_RANGE when an index is past
/// its end, SMBSIGN_NULL_PARAMETER for NULL. Added after 0.3.0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_get_finding_fix_part(
    conn: *const smbsign_connection,
    index: usize,
    k: usize,
    j: usize,
    out: *mut smbsign_fix_part,
) -> smbsign_result {
    // SAFETY: the pointers are checked there.
    boundary(SMBSIGN_PANIC, || unsafe {
        super::connection::copy_item(conn, j, out, |c| {
            c.fix_parts
                .get(index)
                .and_then(|f| f.get(k))
                .map_or(&[][..], Vec::as_slice)
        })
    })
}
