//! The KB article's configuration knowledge ("Overview of Server Message
//! Block signing", KB 887429), as data in one place: default signing
//! settings per system, the Group Policy names in both wordings with the
//! registry values they set, and the connection outcome of every pair of
//! client and server settings. `smbsign explain`, the remediation in
//! findings and the README tables are all generated from here.
#![forbid(unsafe_code)]

use crate::wire::SigningSetting;
use serde::Serialize;

pub use super::fixes::{
    Setting, SettingKind, SettingPart, disable_smb1_fix, enable_signing_fix, kerberos_aes_fix,
    lm_compat_fix, mic_removal_fix, negotiate_integrity_fix, reject_unencrypted_fix,
    require_signing_fix, target_name_fix,
};

/// Which service a setting belongs to: the Workstation service (client,
/// outgoing connections) or the Server service (incoming).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Client,
    Server,
}

/// "Enable" (sign if the other side agrees) or "Require" (always sign).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Knob {
    Enable,
    Require,
}

/// A signing policy and the registry value it sets (REG_DWORD, 0 disable /
/// 1 enable). Windows Server 2003 and XP word it "Microsoft network
/// client/server: Digitally sign communications (…)", Windows 2000
/// "Digitally sign client/server communication (…)".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub side: Side,
    pub knob: Knob,
    pub policy_xp_2003: &'static str,
    pub policy_2000: &'static str,
    pub registry_key: &'static str,
    pub value_name: &'static str,
}

const WORKSTATION_KEY: &str =
    "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\LanManWorkstation\\Parameters";
const SERVER_KEY: &str =
    "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\LanManServer\\Parameters";
const NT4_CLIENT_KEY: &str =
    "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Rdr\\Parameters";
const WIN98_KEY: &str = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\VxD\\VNetsup";

/// Group Policy location (the article's note).
pub const POLICY_PATH: &str =
    "Computer Configuration\\Windows Settings\\Security Settings\\Local Policies\\Security Options";

/// The article's advice on where to change settings.
pub const POLICY_ADVICE: &str = "Use Group Policy: a local registry change does not function \
     correctly if there is an overriding domain policy.";

pub const POLICIES: [Policy; 4] = [
    Policy {
        side: Side::Client,
        knob: Knob::Enable,
        policy_xp_2003: "Microsoft network client: Digitally sign communications (if server agrees)",
        policy_2000: "Digitally sign client communication (when possible)",
        registry_key: WORKSTATION_KEY,
        value_name: "EnableSecuritySignature",
    },
    Policy {
        side: Side::Client,
        knob: Knob::Require,
        policy_xp_2003: "Microsoft network client: Digitally sign communications (always)",
        policy_2000: "Digitally sign client communication (always)",
        registry_key: WORKSTATION_KEY,
        value_name: "RequireSecuritySignature",
    },
    Policy {
        side: Side::Server,
        knob: Knob::Enable,
        policy_xp_2003: "Microsoft network server: Digitally sign communications (if client agrees)",
        policy_2000: "Digitally sign server communication (when possible)",
        registry_key: SERVER_KEY,
        value_name: "EnableSecuritySignature",
    },
    Policy {
        side: Side::Server,
        knob: Knob::Require,
        policy_xp_2003: "Microsoft network server: Digitally sign communications (always)",
        policy_2000: "Digitally sign server communication (always)",
        registry_key: SERVER_KEY,
        value_name: "RequireSecuritySignature",
    },
];

/// The policy for one side and knob.
pub fn policy(side: Side, knob: Knob) -> &'static Policy {
    POLICIES
        .iter()
        .find(|p| p.side == side && p.knob == knob)
        .expect("every side and knob has a policy")
}

/// Role a default applies to, where the article distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Any,
    DomainController,
    Member,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "any" => Some(Role::Any),
            "dc" | "domain-controller" => Some(Role::DomainController),
            "member" | "workstation" | "server" | "standalone" => Some(Role::Member),
            _ => None,
        }
    }
}

/// Default settings of one system (enabled / required), with the registry
/// keys that hold them. None where the article says nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Defaults {
    pub os: &'static str,
    pub role: Role,
    pub client_enabled: Option<bool>,
    pub client_required: Option<bool>,
    pub server_enabled: Option<bool>,
    pub server_required: Option<bool>,
    pub client_key: &'static str,
    pub server_key: Option<&'static str>,
}

/// The article's defaults. Client: "enabled for outgoing SMB sessions" on
/// all five systems, never required. Server: enabled on Windows Server 2003,
/// 2000 and NT 4.0 domain controllers, required on Windows Server 2003
/// domain controllers; disabled elsewhere ("The default value for all other
/// computers that are running Windows NT 4.0 SP3 or later versions of
/// Windows is 0").
pub const DEFAULTS: [Defaults; 8] = [
    Defaults {
        os: "Windows 98",
        role: Role::Any,
        client_enabled: Some(true),
        client_required: Some(false),
        server_enabled: None,
        server_required: None,
        client_key: WIN98_KEY,
        server_key: None,
    },
    Defaults {
        os: "Windows NT 4.0",
        role: Role::DomainController,
        client_enabled: Some(true),
        client_required: Some(false),
        server_enabled: Some(true),
        server_required: Some(false),
        client_key: NT4_CLIENT_KEY,
        server_key: Some(SERVER_KEY),
    },
    Defaults {
        os: "Windows NT 4.0",
        role: Role::Member,
        client_enabled: Some(true),
        client_required: Some(false),
        server_enabled: Some(false),
        server_required: Some(false),
        client_key: NT4_CLIENT_KEY,
        server_key: Some(SERVER_KEY),
    },
    Defaults {
        os: "Windows 2000",
        role: Role::DomainController,
        client_enabled: Some(true),
        client_required: Some(false),
        server_enabled: Some(true),
        server_required: Some(false),
        client_key: WORKSTATION_KEY,
        server_key: Some(SERVER_KEY),
    },
    Defaults {
        os: "Windows 2000",
        role: Role::Member,
        client_enabled: Some(true),
        client_required: Some(false),
        server_enabled: Some(false),
        server_required: Some(false),
        client_key: WORKSTATION_KEY,
        server_key: Some(SERVER_KEY),
    },
    Defaults {
        os: "Windows XP",
        role: Role::Any,
        client_enabled: Some(true),
        client_required: Some(false),
        server_enabled: Some(false),
        server_required: Some(false),
        client_key: WORKSTATION_KEY,
        server_key: Some(SERVER_KEY),
    },
    Defaults {
        os: "Windows Server 2003",
        role: Role::DomainController,
        client_enabled: Some(true),
        client_required: Some(false),
        server_enabled: Some(true),
        server_required: Some(true),
        client_key: WORKSTATION_KEY,
        server_key: Some(SERVER_KEY),
    },
    Defaults {
        os: "Windows Server 2003",
        role: Role::Member,
        client_enabled: Some(true),
        client_required: Some(false),
        server_enabled: Some(false),
        server_required: Some(false),
        client_key: WORKSTATION_KEY,
        server_key: Some(SERVER_KEY),
    },
];

/// The registry value without a Group Policy that Windows 2000 needs for
/// Windows NT 4.0 clients to sign (the article names no key for it).
pub const W9X_VALUE: &str = "enableW9xsecuritysignature";

/// Defaults of a system ("Windows Server 2003", "2003", "xp"…); `role`
/// picks the domain controller or member row where the article has both.
pub fn defaults_for(os: &str, role: Role) -> Vec<&'static Defaults> {
    let want = os
        .to_ascii_lowercase()
        .replace("windows", "")
        .replace("server", "");
    let want = want.trim();
    DEFAULTS
        .iter()
        .filter(|d| {
            let name =
                d.os.to_ascii_lowercase()
                    .replace("windows", "")
                    .replace("server", "");
            name.trim() == want || name.trim().starts_with(want) && !want.is_empty()
        })
        .filter(|d| role == Role::Any || d.role == Role::Any || d.role == role)
        .collect()
}

/// How modern Windows differs from the article (each with its source).
pub const MODERN_NOTES: [(&str, &str); 3] = [
    (
        "SMB2 and SMB3 can always sign: signing is either required or not required; the \
         \"(if client agrees)\" / \"(if server agrees)\" settings apply to SMB1 only. Signing is used \
         when either side requires it.",
        "Microsoft, \"Microsoft network client: Digitally sign communications (always)\" \
         (Windows security policy settings reference, effective behaviour table for SMB v3 and v2)",
    ),
    (
        "By default SMB2/3 traffic to domain controllers is signed (their servers require it) and \
         other SMB2/3 traffic is not.",
        "same page: \"Default for domain controller SMB traffic\" / \"Default for all other SMB traffic\"",
    ),
    (
        "Newer Windows releases require SMB signing by default for outbound and inbound connections \
         (first in Windows 11 Insider builds); check the effective configuration with \
         Get-SmbClientConfiguration / Get-SmbServerConfiguration rather than registry values.",
        "Microsoft Storage at Microsoft blog, \"SMB signing required by default in Windows Insider\" (2023)",
    ),
];

/// Protocol family a prediction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Smb1,
    Smb2,
}

/// What happens to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    SucceedsSigned,
    SucceedsUnsigned,
    /// Client requires, server disabled (SMB1).
    ClosedAfterNegotiate,
    /// Server requires, client disabled (SMB1).
    AccessDenied,
}

impl Outcome {
    pub fn describe(self) -> &'static str {
        match self {
            Outcome::SucceedsSigned => "the connection succeeds and is signed",
            Outcome::SucceedsUnsigned => {
                "the connection succeeds unsigned (relay and tampering exposure)"
            }
            Outcome::ClosedAfterNegotiate => {
                "the TCP session is gracefully closed after the dialect negotiation and the client \
                 gets system error 1240 (ERROR_LOGIN_WKSTA_RESTRICTION): \"The account is not \
                 authorized to log in from this station.\""
            }
            Outcome::AccessDenied => {
                "the client receives STATUS_ACCESS_DENIED in the response to a Tree Connect or a \
                 Transact2 DFS referral"
            }
        }
    }
}

/// The article's scenarios for SMB1, and for SMB2+ the effective behaviour
/// table (where "disabled" does not exist: it acts as "not required").
pub fn predict(protocol: Protocol, client: SigningSetting, server: SigningSetting) -> Outcome {
    use SigningSetting::*;
    match protocol {
        Protocol::Smb1 => match (client, server) {
            (Required, Disabled) => Outcome::ClosedAfterNegotiate,
            (Disabled, Required) => Outcome::AccessDenied,
            (Disabled, _) | (_, Disabled) => Outcome::SucceedsUnsigned,
            _ => Outcome::SucceedsSigned,
        },
        Protocol::Smb2 => {
            if client == Required || server == Required {
                Outcome::SucceedsSigned
            } else {
                Outcome::SucceedsUnsigned
            }
        }
    }
}

/// The README's KB tables, rendered from the data above.
pub fn render_markdown() -> String {
    let yn = |v: Option<bool>| match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "—",
    };
    let mut s = String::new();
    s.push_str("Default settings (KB 887429):\n\n");
    s.push_str(
        "| system | role | client enabled | client required | server enabled | server required |\n",
    );
    s.push_str("|---|---|---|---|---|---|\n");
    for d in &DEFAULTS {
        let role = match d.role {
            Role::Any => "any",
            Role::DomainController => "domain controller",
            Role::Member => "member / workstation",
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            d.os,
            role,
            yn(d.client_enabled),
            yn(d.client_required),
            yn(d.server_enabled),
            yn(d.server_required)
        ));
    }
    s.push_str("\nGroup Policy and registry (REG_DWORD, 0 disable, 1 enable):\n\n");
    s.push_str(
        "| side | Windows XP / Server 2003 policy | Windows 2000 policy | registry value |\n",
    );
    s.push_str("|---|---|---|---|\n");
    for p in &POLICIES {
        s.push_str(&format!(
            "| {} | {} | {} | `{}\\{}` |\n",
            match p.side {
                Side::Client => "client (Workstation)",
                Side::Server => "server",
            },
            p.policy_xp_2003,
            p.policy_2000,
            p.registry_key,
            p.value_name
        ));
    }
    s.push_str(&format!(
        "\nWindows NT 4.0 keeps the client values under `{NT4_CLIENT_KEY}`, Windows 98 both under \
         `{WIN98_KEY}`; `{W9X_VALUE}` (no Group Policy) lets Windows NT 4.0 clients sign with \
         Windows 2000. {POLICY_ADVICE}\n"
    ));
    for proto in [Protocol::Smb1, Protocol::Smb2] {
        s.push_str(&format!(
            "\nOutcomes, {}:\n\n| client \\ server | disabled | enabled | required |\n|---|---|---|---|\n",
            match proto {
                Protocol::Smb1 => "SMB1 (the article's scenarios)",
                Protocol::Smb2 => "SMB2/SMB3 (signing always possible; \"disabled\" acts as not required)",
            }
        ));
        for c in [
            SigningSetting::Disabled,
            SigningSetting::Enabled,
            SigningSetting::Required,
        ] {
            s.push_str(&format!("| {} |", c.as_str()));
            for sv in [
                SigningSetting::Disabled,
                SigningSetting::Enabled,
                SigningSetting::Required,
            ] {
                let o = match predict(proto, c, sv) {
                    Outcome::SucceedsSigned => "signed",
                    Outcome::SucceedsUnsigned => "unsigned",
                    Outcome::ClosedAfterNegotiate => "fails: closed after negotiate, error 1240",
                    Outcome::AccessDenied => "fails: STATUS_ACCESS_DENIED on tree connect",
                };
                s.push_str(&format!(" {o} |"));
            }
            s.push('\n');
        }
    }
    s.push_str("\nModern Windows:\n\n");
    for (fact, source) in MODERN_NOTES {
        s.push_str(&format!("- {fact} ({source})\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use SigningSetting::*;

    #[test]
    fn smb1_matrix_is_the_articles() {
        let p = |c, s| predict(Protocol::Smb1, c, s);
        // "enabled or required at both ... or disabled at both: successful"
        for c in [Enabled, Required] {
            for s in [Enabled, Required] {
                assert_eq!(p(c, s), Outcome::SucceedsSigned);
            }
        }
        assert_eq!(p(Disabled, Disabled), Outcome::SucceedsUnsigned);
        assert_eq!(p(Required, Disabled), Outcome::ClosedAfterNegotiate);
        assert_eq!(p(Disabled, Required), Outcome::AccessDenied);
        assert_eq!(p(Enabled, Disabled), Outcome::SucceedsUnsigned);
        assert_eq!(p(Disabled, Enabled), Outcome::SucceedsUnsigned);
        assert!(Outcome::ClosedAfterNegotiate.describe().contains("1240"));
        assert!(
            Outcome::AccessDenied
                .describe()
                .contains("STATUS_ACCESS_DENIED")
        );
    }

    #[test]
    fn smb2_matrix_signs_when_either_requires_and_never_fails() {
        for c in [Disabled, Enabled, Required] {
            for s in [Disabled, Enabled, Required] {
                let o = predict(Protocol::Smb2, c, s);
                let want = if c == Required || s == Required {
                    Outcome::SucceedsSigned
                } else {
                    Outcome::SucceedsUnsigned
                };
                assert_eq!(o, want, "{c:?} {s:?}");
            }
        }
    }

    #[test]
    fn defaults_lookup() {
        let dc = defaults_for("Windows Server 2003", Role::DomainController);
        assert_eq!(dc.len(), 1);
        assert_eq!(
            (dc[0].server_enabled, dc[0].server_required),
            (Some(true), Some(true))
        );
        let xp = defaults_for("xp", Role::Any);
        assert_eq!(xp[0].server_enabled, Some(false));
        assert_eq!(defaults_for("Windows 2000", Role::Any).len(), 2);
        assert_eq!(
            defaults_for("Windows 98", Role::Any)[0].client_key,
            WIN98_KEY
        );
        assert!(defaults_for("Windows 10", Role::Any).is_empty());
        assert_eq!(
            policy(Side::Server, Knob::Require).value_name,
            "RequireSecuritySignature"
        );
        assert!(
            require_signing_fix(Side::Server)
                .to_string()
                .contains("LanManServer\\Parameters\\RequireSecuritySignature = 1")
        );
    }
}
