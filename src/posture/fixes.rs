//! The fixes findings propose, built from typed parts: each part is one
//! setting in one place (a Group Policy, a registry value, a Samba option,
//! an update, a command), so that front ends can show one item per setting
//! and the JSON can list them, while the sentence a report prints is made
//! from the same parts.
#![forbid(unsafe_code)]

use super::kb::{Knob, Side, policy};
use serde::Serialize;
use std::fmt;

/// Where a part of a fix is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SettingKind {
    /// A Group Policy (Security Options), as the article names it.
    GroupPolicy,
    /// The registry value the policy sets, or sets by itself.
    Registry,
    /// The smb.conf option of Samba (or its KDC).
    Samba,
    /// A Windows update to install.
    Update,
    /// A PowerShell command.
    Powershell,
    /// An account attribute in the directory.
    Directory,
    /// Advice that is not a setting by itself.
    Note,
}

impl SettingKind {
    /// The label a part is shown under.
    pub fn label(self) -> &'static str {
        match self {
            SettingKind::GroupPolicy => "Group Policy",
            SettingKind::Registry => "registry",
            SettingKind::Samba => "Samba",
            SettingKind::Update => "update",
            SettingKind::Powershell => "PowerShell",
            SettingKind::Directory => "directory",
            SettingKind::Note => "note",
        }
    }
}

/// One setting of a fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingPart {
    pub kind: SettingKind,
    pub text: String,
}

/// A fix: where it applies (when not the side itself) and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Setting {
    /// "the target 10.0.0.5" when the fix is for another host than the
    /// connection's own side.
    pub scope: Option<String>,
    pub parts: Vec<SettingPart>,
}

impl Setting {
    fn new() -> Self {
        Setting::default()
    }

    fn part(mut self, kind: SettingKind, text: impl Into<String>) -> Self {
        self.parts.push(SettingPart {
            kind,
            text: text.into(),
        });
        self
    }

    fn extend(mut self, other: Setting) -> Self {
        self.parts.extend(other.parts);
        self
    }

    /// The same fix, for another host.
    pub fn on(mut self, scope: String) -> Self {
        self.scope = Some(scope);
        self
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(scope) = &self.scope {
            write!(f, "on {scope}: ")?;
        }
        for (k, p) in self.parts.iter().enumerate() {
            let sep = if k == 0 { "" } else { "; " };
            write!(f, "{sep}{}: {}", p.kind.label(), p.text)?;
        }
        Ok(())
    }
}

/// What to change so that `side` requires signing (the fix for relay
/// exposure), in the article's terms plus Samba's.
pub fn require_signing_fix(side: Side) -> Setting {
    signing_fix(side, Knob::Require)
}

/// What to change so that `side` enables signing.
pub fn enable_signing_fix(side: Side) -> Setting {
    signing_fix(side, Knob::Enable)
}

fn signing_fix(side: Side, knob: Knob) -> Setting {
    let p = policy(side, knob);
    let samba = match (side, knob) {
        (Side::Server, Knob::Require) => "server signing = mandatory",
        (Side::Server, Knob::Enable) => "server signing = auto",
        (Side::Client, Knob::Require) => "client signing = required",
        (Side::Client, Knob::Enable) => "client signing = desired",
    };
    Setting::new()
        .part(
            SettingKind::GroupPolicy,
            format!(
                "enable \"{}\" (Windows 2000: \"{}\")",
                p.policy_xp_2003, p.policy_2000
            ),
        )
        .part(
            SettingKind::Registry,
            format!("{}\\{} = 1 (REG_DWORD)", p.registry_key, p.value_name),
        )
        .part(SettingKind::Samba, format!("\"{samba}\""))
}

/// The fix for a removed or invalid NTLM MIC (CVE-2019-1040 and the partial
/// removal CVE-2025-54918): patch, then require what makes a relayed logon
/// useless.
pub fn mic_removal_fix() -> Setting {
    Setting::new()
        .part(
            SettingKind::Update,
            "install the Windows updates for CVE-2019-1040 (June 2019) and CVE-2025-54918 \
             (September 2025), which reject an AUTHENTICATE whose MIC was removed",
        )
        .extend(require_signing_fix(Side::Server))
        .part(
            SettingKind::GroupPolicy,
            "require Extended Protection for Authentication where it applies: \"Domain \
             controller: LDAP server channel binding token requirements\" = Always",
        )
        .part(
            SettingKind::Registry,
            "HKLM\\System\\CurrentControlSet\\Services\\NTDS\\Parameters\\\
             LdapEnforceChannelBinding = 2 (REG_DWORD)",
        )
        .part(
            SettingKind::Note,
            "Samba's smbd checks the MIC itself and needs \"server signing = mandatory\"",
        )
}

/// The fix for NTLMv1, LM and clear-text logons: the LAN Manager
/// authentication level, on the side that sent (client) or accepted
/// (server) the weak response.
pub fn lm_compat_fix(side: Side) -> Setting {
    let samba = match side {
        Side::Client => {
            "\"client ntlmv2 auth = yes\", \"client lanman auth = no\" and \"client plaintext \
             auth = no\""
        }
        Side::Server => {
            "\"ntlm auth = ntlmv2-only\" (the default since 4.5) and \"lanman auth = no\""
        }
    };
    Setting::new()
        .part(
            SettingKind::GroupPolicy,
            "set \"Network security: LAN Manager authentication level\" to \"Send NTLMv2 \
             response only. Refuse LM & NTLM\"",
        )
        .part(
            SettingKind::Registry,
            "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\LmCompatibilityLevel = 5 \
             (REG_DWORD; 0-1 send LM and NTLM, 2 send NTLM only, 3 send NTLMv2 only, 4 also \
             refuse LM, 5 also refuse NTLM; the refusals apply where the account is checked, \
             the domain controller or the server)",
        )
        .part(SettingKind::Samba, samba)
}

/// The fix for Kerberos with RC4-HMAC: AES only, on the client and on the
/// accounts the KDC issues tickets for.
pub fn kerberos_aes_fix(side: Side) -> Setting {
    let fix = Setting::new()
        .part(
            SettingKind::GroupPolicy,
            "set \"Network security: Configure encryption types allowed for Kerberos\" to \
             AES128_HMAC_SHA1 and AES256_HMAC_SHA1 only",
        )
        .part(
            SettingKind::Registry,
            "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\Kerberos\\\
             Parameters\\SupportedEncryptionTypes = 0x18 (REG_DWORD)",
        );
    match side {
        Side::Client => fix.part(SettingKind::Samba, "\"kerberos encryption types = strong\""),
        Side::Server => fix
            .part(
                SettingKind::Directory,
                "on the service account set msDS-SupportedEncryptionTypes = 0x18 (AES128, \
                 AES256)",
            )
            .part(
                SettingKind::Samba,
                "on a Samba KDC \"kerberos encryption types = strong\"",
            ),
    }
}

/// The fix for requests sent in clear on an encrypting session: the
/// server refuses them.
pub fn reject_unencrypted_fix() -> Setting {
    Setting::new()
        .part(
            SettingKind::Powershell,
            "Set-SmbServerConfiguration -RejectUnencryptedAccess $true",
        )
        .part(
            SettingKind::Registry,
            "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters\\\
             RejectUnencryptedAccess = 1 (REG_DWORD; the default)",
        )
        .part(
            SettingKind::Samba,
            "\"server smb encrypt = required\" (or \"smb encrypt = required\" on the share)",
        )
}

/// The fix for a logon meant for another server: SPN target name validation.
pub fn target_name_fix() -> Setting {
    Setting::new()
        .part(
            SettingKind::GroupPolicy,
            "enable \"Microsoft network server: Server SPN target name validation level\" \
             (Accept if provided by client, or Required from client)",
        )
        .part(
            SettingKind::Registry,
            "HKLM\\System\\CurrentControlSet\\Services\\LanmanServer\\Parameters\\\
             SmbServerNameHardeningLevel = 1 or 2 (REG_DWORD)",
        )
        .part(
            SettingKind::Samba,
            "no such check: require signing (\"server signing = mandatory\") so that a \
             relayed logon cannot be used",
        )
}

/// The fix for an SMB1 downgrade: no SMB1 on either side.
pub fn disable_smb1_fix(side: Side) -> Setting {
    let (policy, registry, samba) = match side {
        Side::Server => (
            "\"Configure SMBv1 server\" (MS Security Guide) = Disabled",
            "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters\\SMB1 = 0 \
             (REG_DWORD)",
            "\"server min protocol = SMB2_02\"",
        ),
        Side::Client => (
            "\"Configure SMBv1 client driver\" (MS Security Guide) = Disable driver",
            "HKLM\\SYSTEM\\CurrentControlSet\\Services\\mrxsmb10\\Start = 4 (REG_DWORD)",
            "\"client min protocol = SMB2_02\"",
        ),
    };
    Setting::new()
        .part(SettingKind::GroupPolicy, policy)
        .part(SettingKind::Registry, registry)
        .part(SettingKind::Samba, samba)
}

/// The fix for a negotiate altered in flight: SMB 3.1.1's preauth
/// integrity and signing on both sides make the change fatal.
pub fn negotiate_integrity_fix(side: Side) -> Setting {
    let min = match side {
        Side::Server => "server min protocol = SMB3_11",
        Side::Client => "client min protocol = SMB3_11",
    };
    require_signing_fix(side)
        .part(
            SettingKind::Note,
            "where every peer supports it, allow only SMB 3.1.1, whose pre-authentication \
             integrity hash makes an altered NEGOTIATE fail the logon",
        )
        .part(SettingKind::Samba, format!("\"{min}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fix_reads_as_its_parts_in_order() {
        let fix = require_signing_fix(Side::Server);
        let kinds: Vec<_> = fix.parts.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [
                SettingKind::GroupPolicy,
                SettingKind::Registry,
                SettingKind::Samba
            ]
        );
        let text = fix.to_string();
        assert!(text.starts_with(
            "Group Policy: enable \"Microsoft network server: Digitally sign communications \
             (always)\""
        ));
        assert!(text.ends_with("; Samba: \"server signing = mandatory\""));
        let scoped = fix.on("the target 10.0.0.5".into()).to_string();
        assert!(scoped.starts_with("on the target 10.0.0.5: Group Policy: "));
    }
}
