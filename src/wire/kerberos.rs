//! Kerberos facts smbsign names (RFC 3961 8, RFC 4120 7.5): encryption
//! types and key usages. The messages themselves are DER, decoded with
//! picky-krb where they are used (`verify/kerberos.rs`); the GSS-API
//! framing that finds them in a security blob is in `spnego.rs`.

use rusticata_macros::newtype_enum;

/// A Kerberos encryption type number; unknown ones survive and print.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Etype(pub i32);

newtype_enum! {
impl debug Etype {
    Aes128CtsHmacSha196 = 17,
    Aes256CtsHmacSha196 = 18,
    Aes128CtsHmacSha256128 = 19,
    Aes256CtsHmacSha384192 = 20,
    Rc4Hmac = 23,
}
}

impl Etype {
    /// The name Kerberos tools print (MIT's `klist -e`).
    pub fn name(self) -> String {
        match self {
            Self::Aes128CtsHmacSha196 => "aes128-cts-hmac-sha1-96".into(),
            Self::Aes256CtsHmacSha196 => "aes256-cts-hmac-sha1-96".into(),
            Self::Aes128CtsHmacSha256128 => "aes128-cts-hmac-sha256-128".into(),
            Self::Aes256CtsHmacSha384192 => "aes256-cts-hmac-sha384-192".into(),
            Self::Rc4Hmac => "rc4-hmac".into(),
            Etype(other) => format!("etype {other}"),
        }
    }
}

/// Key usage numbers (RFC 4120 7.5.1) of the messages smbsign decrypts.
pub const USAGE_TICKET: i32 = 2;
pub const USAGE_AS_REP: i32 = 3;
pub const USAGE_TGS_REQ_AUTHENTICATOR: i32 = 7;
pub const USAGE_TGS_REP_SESSION: i32 = 8;
pub const USAGE_TGS_REP_SUBKEY: i32 = 9;
pub const USAGE_AP_REQ_AUTHENTICATOR: i32 = 11;
pub const USAGE_AP_REP: i32 = 12;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_unknown_values() {
        assert_eq!(Etype(18).name(), "aes256-cts-hmac-sha1-96");
        assert_eq!(Etype::Rc4Hmac.name(), "rc4-hmac");
        assert_eq!(Etype(99).name(), "etype 99");
        assert_eq!(format!("{:?}", Etype(99)), "Etype(99 / 0x63)");
    }
}
