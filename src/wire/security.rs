//! Signing facts of the protocol, each decoded in one place: the
//! SecurityMode bits of each family, the setting a side advertised with
//! them, the dialect in force and the MAC algorithm it implies.

use super::smb1::{SMB1_FLAGS2_SECURITY_SIGNATURE, SMB1_FLAGS2_SECURITY_SIGNATURE_REQUIRED};
use super::smb2::{SigningAlgorithm, Smb2Dialect};
use std::fmt;

/// Signing setting one side advertised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum SigningSetting {
    Disabled = 1,
    Enabled = 2,
    Required = 3,
}

impl SigningSetting {
    pub const ALL: [SigningSetting; 3] = [
        SigningSetting::Disabled,
        SigningSetting::Enabled,
        SigningSetting::Required,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningSetting::Disabled => "disabled",
            SigningSetting::Enabled => "enabled",
            SigningSetting::Required => "required",
        }
    }

    /// The setting from its name, or from what Samba and Windows call it
    /// (`auto`, `mandatory`, `on`, `off`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "disabled" | "off" => Some(SigningSetting::Disabled),
            "enabled" | "on" | "auto" => Some(SigningSetting::Enabled),
            "required" | "mandatory" => Some(SigningSetting::Required),
            _ => None,
        }
    }

    /// An SMB1 client's setting from the Flags2 of its SESSION_SETUP_ANDX
    /// request (Windows sets these bits; Samba's client does not).
    pub fn from_smb1_flags2(flags2: u16) -> Self {
        if flags2 & SMB1_FLAGS2_SECURITY_SIGNATURE_REQUIRED != 0 {
            SigningSetting::Required
        } else if flags2 & SMB1_FLAGS2_SECURITY_SIGNATURE != 0 {
            SigningSetting::Enabled
        } else {
            SigningSetting::Disabled
        }
    }
}

impl fmt::Display for SigningSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SMB1 NEGOTIATE response SecurityMode (MS-CIFS 2.2.4.52.2; the KB's 3, 7
/// and 15): 8 bits in NT LM 0.12 responses, 16 in LANMAN ones.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Smb1SecurityMode(pub u16);

impl Smb1SecurityMode {
    /// Bit 0: user-level (set) or share-level (clear) security.
    pub const USER_SECURITY: u16 = 0x01;
    /// Bit 1: challenge/response passwords.
    pub const ENCRYPT_PASSWORDS: u16 = 0x02;
    /// Bit 2: security signatures enabled.
    pub const SIGNATURES_ENABLED: u16 = 0x04;
    /// Bit 3: security signatures required.
    pub const SIGNATURES_REQUIRED: u16 = 0x08;

    pub fn user_security(self) -> bool {
        self.0 & Self::USER_SECURITY != 0
    }
    pub fn encrypt_passwords(self) -> bool {
        self.0 & Self::ENCRYPT_PASSWORDS != 0
    }
    pub fn signing_enabled(self) -> bool {
        self.0 & Self::SIGNATURES_ENABLED != 0
    }
    pub fn signing_required(self) -> bool {
        self.0 & Self::SIGNATURES_REQUIRED != 0
    }
    /// The KB's reading: required when bit 3 is set, else enabled when bit 2
    /// is, else disabled.
    pub fn setting(self) -> SigningSetting {
        if self.signing_required() {
            SigningSetting::Required
        } else if self.signing_enabled() {
            SigningSetting::Enabled
        } else {
            SigningSetting::Disabled
        }
    }
}

impl fmt::Debug for Smb1SecurityMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Smb1SecurityMode(0x{:02x})", self.0)
    }
}

/// SMB2 NEGOTIATE / SESSION_SETUP SecurityMode (MS-SMB2 2.2.3, 2.2.4).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Smb2SecurityMode(pub u16);

impl Smb2SecurityMode {
    pub const SIGNING_ENABLED: u16 = 0x0001;
    pub const SIGNING_REQUIRED: u16 = 0x0002;

    pub fn signing_enabled(self) -> bool {
        self.0 & Self::SIGNING_ENABLED != 0
    }
    pub fn signing_required(self) -> bool {
        self.0 & Self::SIGNING_REQUIRED != 0
    }
    /// SMB2 can always sign, so a clear ENABLED bit still reads "enabled"
    /// (MS-SMB2 3.3.5.4 ignores it): required or enabled.
    pub fn setting(self) -> SigningSetting {
        if self.signing_required() {
            SigningSetting::Required
        } else {
            SigningSetting::Enabled
        }
    }
}

impl fmt::Debug for Smb2SecurityMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Smb2SecurityMode(0x{:04x})", self.0)
    }
}

/// A NEGOTIATE SecurityMode of either family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityMode {
    Smb1(Smb1SecurityMode),
    Smb2(Smb2SecurityMode),
}

impl SecurityMode {
    /// The field's value as on the wire.
    pub fn raw(self) -> u16 {
        match self {
            SecurityMode::Smb1(m) => m.0,
            SecurityMode::Smb2(m) => m.0,
        }
    }
    pub fn signing_enabled(self) -> bool {
        match self {
            SecurityMode::Smb1(m) => m.signing_enabled(),
            SecurityMode::Smb2(m) => m.signing_enabled(),
        }
    }
    pub fn signing_required(self) -> bool {
        match self {
            SecurityMode::Smb1(m) => m.signing_required(),
            SecurityMode::Smb2(m) => m.signing_required(),
        }
    }
    pub fn setting(self) -> SigningSetting {
        match self {
            SecurityMode::Smb1(m) => m.setting(),
            SecurityMode::Smb2(m) => m.setting(),
        }
    }
    pub fn is_smb1(self) -> bool {
        matches!(self, SecurityMode::Smb1(_))
    }
}

/// The MAC that signs a dialect's messages (MS-SMB2 3.1.4.1, MS-SMB
/// 3.1.5.1). Values are stable (the C API exposes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum MacAlgorithm {
    /// SMB1: MD5 over the MAC key, the message and a sequence number.
    Md5 = 1,
    HmacSha256 = 2,
    AesCmac = 3,
    AesGmac = 4,
}

impl MacAlgorithm {
    pub const ALL: [MacAlgorithm; 4] = [
        MacAlgorithm::Md5,
        MacAlgorithm::HmacSha256,
        MacAlgorithm::AesCmac,
        MacAlgorithm::AesGmac,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MacAlgorithm::Md5 => "MD5",
            MacAlgorithm::HmacSha256 => "HMAC-SHA256",
            MacAlgorithm::AesCmac => "AES-128-CMAC",
            MacAlgorithm::AesGmac => "AES-128-GMAC",
        }
    }
}

/// The dialect in force on a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// An SMB1 dialect string such as "NT LM 0.12".
    Smb1(String),
    Smb2(Smb2Dialect),
}

impl Dialect {
    /// As people write it: the SMB1 dialect string, "2.1", "3.1.1"…; the
    /// wildcard as "2.???" (what Wireshark calls it: the server asks for a
    /// second, SMB2 negotiate); unknown values in hex.
    pub fn name(&self) -> String {
        match self {
            Dialect::Smb1(s) => s.clone(),
            Dialect::Smb2(Smb2Dialect::Wildcard) => "2.???".to_owned(),
            Dialect::Smb2(d) => d
                .name()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("0x{:04x}", d.0)),
        }
    }

    pub fn is_smb1(&self) -> bool {
        matches!(self, Dialect::Smb1(_))
    }

    /// The SMB2 dialect value, None for SMB1.
    pub fn smb2(&self) -> Option<Smb2Dialect> {
        match self {
            Dialect::Smb2(d) => Some(*d),
            Dialect::Smb1(_) => None,
        }
    }

    /// The one rule for which MAC signs this dialect's messages. 3.1.1 uses
    /// the first algorithm of the server's SIGNING_CAPABILITIES context, or
    /// AES-CMAC when the server sent none; an id this code does not know,
    /// the wildcard and unknown dialects have no algorithm.
    pub fn signing_algorithm(&self, negotiated: Option<SigningAlgorithm>) -> Option<MacAlgorithm> {
        Some(match self {
            Dialect::Smb1(_) => MacAlgorithm::Md5,
            Dialect::Smb2(Smb2Dialect::Smb202 | Smb2Dialect::Smb210) => MacAlgorithm::HmacSha256,
            Dialect::Smb2(Smb2Dialect::Smb300 | Smb2Dialect::Smb302) => MacAlgorithm::AesCmac,
            Dialect::Smb2(Smb2Dialect::Smb311) => match negotiated {
                None | Some(SigningAlgorithm::AesCmac) => MacAlgorithm::AesCmac,
                Some(SigningAlgorithm::HmacSha256) => MacAlgorithm::HmacSha256,
                Some(SigningAlgorithm::AesGmac) => MacAlgorithm::AesGmac,
                Some(_) => return None,
            },
            Dialect::Smb2(_) => return None,
        })
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The KB's table: "3 = disabled, 7 = enabled, 15 = required".
    #[test]
    fn kb_security_modes_read_as_the_article_says() {
        assert_eq!(Smb1SecurityMode(3).setting(), SigningSetting::Disabled);
        assert_eq!(Smb1SecurityMode(7).setting(), SigningSetting::Enabled);
        assert_eq!(Smb1SecurityMode(15).setting(), SigningSetting::Required);
        assert!(Smb1SecurityMode(15).signing_enabled());
        assert!(!Smb1SecurityMode(7).signing_required());
        assert_eq!(Smb2SecurityMode(0).setting(), SigningSetting::Enabled);
        assert_eq!(Smb2SecurityMode(3).setting(), SigningSetting::Required);
        assert_eq!(SecurityMode::Smb1(Smb1SecurityMode(0x0f)).raw(), 0x0f);
    }

    /// MS-SMB2 3.1.4.1 and 2.2.3.1.7.
    #[test]
    fn one_rule_maps_dialects_to_macs() {
        let d = |v| Dialect::Smb2(Smb2Dialect(v));
        assert_eq!(
            d(0x0202).signing_algorithm(None),
            Some(MacAlgorithm::HmacSha256)
        );
        assert_eq!(
            d(0x0210).signing_algorithm(None),
            Some(MacAlgorithm::HmacSha256)
        );
        assert_eq!(
            d(0x0300).signing_algorithm(None),
            Some(MacAlgorithm::AesCmac)
        );
        assert_eq!(
            d(0x0302).signing_algorithm(None),
            Some(MacAlgorithm::AesCmac)
        );
        assert_eq!(
            d(0x0311).signing_algorithm(None),
            Some(MacAlgorithm::AesCmac)
        );
        assert_eq!(
            d(0x0311).signing_algorithm(Some(SigningAlgorithm(2))),
            Some(MacAlgorithm::AesGmac)
        );
        assert_eq!(
            d(0x0311).signing_algorithm(Some(SigningAlgorithm(0))),
            Some(MacAlgorithm::HmacSha256)
        );
        assert_eq!(d(0x0311).signing_algorithm(Some(SigningAlgorithm(7))), None);
        assert_eq!(d(0x02ff).signing_algorithm(None), None);
        assert_eq!(d(0x0222).signing_algorithm(None), None);
        assert_eq!(
            Dialect::Smb1("NT LM 0.12".into()).signing_algorithm(None),
            Some(MacAlgorithm::Md5)
        );
        assert_eq!(d(0x02ff).name(), "2.???");
        assert_eq!(d(0x0222).name(), "0x0222");
    }
}
