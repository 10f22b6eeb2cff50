//! The systems people run today, as far as the wire names them: the
//! Windows version and build an NTLMSSP VERSION carries (MS-NLMP 2.2.2.10),
//! what each release requires of SMB signing by default, and Samba's
//! defaults. The KB article (`kb.rs`) stops at Windows Server 2003; this
//! module carries on from there. Each default says where it comes from.

use crate::wire::ntlmssp::NtlmVersion;
use serde::Serialize;

/// A system named from an NTLMSSP VERSION.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsReport {
    /// "10.0 build 26100", as the VERSION says.
    pub version: String,
    /// "Windows 11 24H2 / Windows Server 2025"; for a build no release
    /// shipped with, the family ("Windows 10 or later").
    pub name: String,
    /// The VERSION, typed, for front ends (not in the JSON).
    #[serde(skip)]
    pub ntlm: NtlmVersion,
}

impl OsReport {
    pub fn of(v: NtlmVersion) -> Self {
        OsReport {
            version: v.to_string(),
            name: windows_name(v),
            ntlm: v,
        }
    }

    /// Windows 11 24H2 / Windows Server 2025 or later: the first releases
    /// that require signing by default beyond domain controllers.
    pub fn signs_by_default(&self) -> bool {
        is_windows(self.ntlm) && self.ntlm.major >= 10 && self.ntlm.build >= BUILD_24H2
    }
}

impl OsReport {
    /// The server's system: the VERSION of its latest NTLM CHALLENGE.
    pub fn of_server(c: &crate::conn::Connection) -> Option<Self> {
        c.ntlm
            .iter()
            .rev()
            .find_map(|l| l.challenge.as_ref()?.version)
            .map(Self::of)
    }

    /// The client's system: the VERSION of its latest NTLM AUTHENTICATE.
    pub fn of_client(c: &crate::conn::Connection) -> Option<Self> {
        c.ntlm
            .iter()
            .rev()
            .find_map(|l| l.auth.as_ref()?.version)
            .map(Self::of)
    }
}

/// Windows 11 24H2 and Windows Server 2025 share this build.
pub const BUILD_24H2: u16 = 26100;

/// Samba (and other non-Windows NTLM stacks) fill VERSION with 6.1 and
/// build 0; no Windows release has build 0.
fn is_windows(v: NtlmVersion) -> bool {
    v.build != 0
}

/// Windows release names by (major, minor, build), from Microsoft's
/// release information pages. Where a client and a server release share a
/// build, both are named: the VERSION cannot tell them apart.
const RELEASES: &[(u8, u8, u16, &str)] = &[
    (5, 0, 2195, "Windows 2000"),
    (5, 1, 2600, "Windows XP"),
    (5, 2, 3790, "Windows Server 2003 / Windows XP x64"),
    (6, 0, 6000, "Windows Vista"),
    (6, 0, 6001, "Windows Vista SP1 / Windows Server 2008"),
    (6, 0, 6002, "Windows Vista SP2 / Windows Server 2008 SP2"),
    (6, 0, 6003, "Windows Vista SP2 / Windows Server 2008 SP2"),
    (6, 1, 7600, "Windows 7 / Windows Server 2008 R2"),
    (6, 1, 7601, "Windows 7 SP1 / Windows Server 2008 R2 SP1"),
    (6, 2, 9200, "Windows 8 / Windows Server 2012"),
    (6, 3, 9600, "Windows 8.1 / Windows Server 2012 R2"),
    (10, 0, 10240, "Windows 10 1507"),
    (10, 0, 10586, "Windows 10 1511"),
    (10, 0, 14393, "Windows 10 1607 / Windows Server 2016"),
    (10, 0, 15063, "Windows 10 1703"),
    (10, 0, 16299, "Windows 10 1709"),
    (10, 0, 17134, "Windows 10 1803"),
    (10, 0, 17763, "Windows 10 1809 / Windows Server 2019"),
    (10, 0, 18362, "Windows 10 1903"),
    (10, 0, 18363, "Windows 10 1909"),
    (10, 0, 19041, "Windows 10 2004"),
    (10, 0, 19042, "Windows 10 20H2"),
    (10, 0, 19043, "Windows 10 21H1"),
    (10, 0, 19044, "Windows 10 21H2"),
    (10, 0, 19045, "Windows 10 22H2"),
    (10, 0, 20348, "Windows Server 2022"),
    (10, 0, 22000, "Windows 11 21H2"),
    (10, 0, 22621, "Windows 11 22H2"),
    (10, 0, 22631, "Windows 11 23H2"),
    (10, 0, 25398, "Windows Server 23H2"),
    (10, 0, 26100, "Windows 11 24H2 / Windows Server 2025"),
    (10, 0, 26200, "Windows 11 25H2"),
];

/// The release a VERSION names.
pub fn windows_name(v: NtlmVersion) -> String {
    if !is_windows(v) {
        return "not Windows (build 0: Samba's fixed VERSION)".into();
    }
    if let Some((.., name)) = RELEASES
        .iter()
        .find(|(ma, mi, b, _)| (*ma, *mi, *b) == (v.major, v.minor, v.build))
    {
        return (*name).to_owned();
    }
    match (v.major, v.minor) {
        (10, 0) if v.build > BUILD_24H2 => "Windows 11 24H2 / Windows Server 2025 or later".into(),
        (10, 0) => "Windows 10 / 11 or Windows Server 2016 or later".into(),
        (6, 0) => "Windows Vista / Windows Server 2008".into(),
        (6, 1) => "Windows 7 / Windows Server 2008 R2".into(),
        (6, 2) => "Windows 8 / Windows Server 2012".into(),
        (6, 3) => "Windows 8.1 / Windows Server 2012 R2".into(),
        _ => "Windows".into(),
    }
}

/// The signing defaults of one system, with where they come from
/// (`explain --os` prints these after the KB's five systems).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ModernDefaults {
    pub os: &'static str,
    /// Signing required on connections it makes (client side)…
    pub outbound_required: &'static str,
    /// …and on connections it accepts (server side).
    pub inbound_required: &'static str,
    /// Related defaults that change relay exposure.
    pub related: &'static str,
    pub source: &'static str,
}

const PYLE_2023: &str = "Microsoft Storage at Microsoft blog, Ned Pyle, \"SMB signing required \
     by default in Windows Insider\" (2023); Microsoft Learn, \"Control SMB signing behavior\"";
const PYLE_2024: &str = "Microsoft Storage at Microsoft blog, Ned Pyle, \"SMB security hardening \
     in Windows Server 2025 & Windows 11\" (2024): signing required for all Windows 11 24H2 \
     outbound and inbound connections and for all Windows Server 2025 outbound connections";
const SMB_CONF: &str = "Samba smb.conf(5), \"server signing\", \"client signing\" and \"client \
     ipc signing\" (Samba 4.x)";

pub const MODERN_DEFAULTS: [ModernDefaults; 6] = [
    ModernDefaults {
        os: "Windows 10 / Windows 11 before 24H2",
        outbound_required: "only to shares named SYSVOL and NETLOGON (UNC hardened paths)",
        inbound_required: "no",
        related: "SMB1 not installed on new installs since 1709; insecure guest logons off \
                  since 1709 on Enterprise and Education",
        source: PYLE_2023,
    },
    ModernDefaults {
        os: "Windows Server 2016 / 2019 / 2022 (member server)",
        outbound_required: "only to SYSVOL and NETLOGON",
        inbound_required: "no",
        related: "SMB1 not installed on new installs since Server 2019; insecure guest logons off",
        source: PYLE_2023,
    },
    ModernDefaults {
        os: "Windows domain controller",
        outbound_required: "only to SYSVOL and NETLOGON",
        inbound_required: "yes (Default Domain Controllers Policy)",
        related: "",
        source: "every version since Windows 2000: KB 887429 (this article) and Microsoft's \
                 \"Microsoft network server: Digitally sign communications (always)\" policy \
                 reference",
    },
    ModernDefaults {
        os: "Windows 11 24H2 (Pro, Enterprise, Education)",
        outbound_required: "yes",
        inbound_required: "yes",
        related: "insecure guest logons off on Pro too; SMB NTLM blocking available for \
                  outbound connections (off by default); Home edition requires neither",
        source: PYLE_2024,
    },
    ModernDefaults {
        os: "Windows Server 2025",
        outbound_required: "yes",
        inbound_required: "no (yes on a domain controller)",
        related: "SMB NTLM blocking available for outbound connections (off by default)",
        source: PYLE_2024,
    },
    ModernDefaults {
        os: "Samba 4.x",
        outbound_required: "no (client signing = default: offered, not required), except \
                            IPC$ connections (client ipc signing = default: required)",
        inbound_required: "yes on an Active Directory domain controller, otherwise no \
                           (server signing = default)",
        related: "SMB1 off by default since Samba 4.11 (server min protocol = SMB2_02)",
        source: SMB_CONF,
    },
];

/// The modern rows matching `os` (case-insensitive substring, "11",
/// "2025", "samba").
pub fn modern_defaults_for(os: &str) -> Vec<&'static ModernDefaults> {
    let want = os.to_ascii_lowercase();
    let want = want.trim();
    MODERN_DEFAULTS
        .iter()
        .filter(|d| !want.is_empty() && d.os.to_ascii_lowercase().contains(want))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u8, minor: u8, build: u16) -> NtlmVersion {
        NtlmVersion {
            major,
            minor,
            build,
            revision: 15,
        }
    }

    #[test]
    fn releases_from_versions() {
        assert_eq!(
            windows_name(v(10, 0, 26100)),
            "Windows 11 24H2 / Windows Server 2025"
        );
        assert_eq!(windows_name(v(10, 0, 20348)), "Windows Server 2022");
        assert_eq!(
            windows_name(v(6, 1, 7601)),
            "Windows 7 SP1 / Windows Server 2008 R2 SP1"
        );
        assert!(windows_name(v(6, 1, 0)).starts_with("not Windows"));
        assert!(windows_name(v(10, 0, 27000)).contains("or later"));
        assert!(OsReport::of(v(10, 0, 26100)).signs_by_default());
        assert!(!OsReport::of(v(10, 0, 22631)).signs_by_default());
        assert!(!OsReport::of(v(6, 1, 0)).signs_by_default());
    }

    #[test]
    fn modern_rows_by_name() {
        assert_eq!(modern_defaults_for("2025").len(), 1);
        assert!(
            modern_defaults_for("samba")[0]
                .inbound_required
                .starts_with("yes")
        );
        assert!(modern_defaults_for("").is_empty());
    }
}
