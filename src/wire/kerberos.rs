//! Kerberos facts smbsign names (RFC 3961 8, RFC 4120 7.5): encryption
//! types and key usages. The messages themselves are DER, decoded with
//! picky-krb where they are used (`verify/kerberos.rs`); the GSS-API
//! framing that finds them in a security blob is in `spnego.rs`.

use picky_krb::data_types::PrincipalName;
use rusticata_macros::newtype_enum;

/// `comp1/comp2` of a principal name.
pub fn principal_text(p: &PrincipalName) -> String {
    p.name_string
        .0
        .0
        .iter()
        .map(text)
        .collect::<Vec<_>>()
        .join("/")
}

/// A KerberosString (IA5 characters).
pub fn text(s: &picky_asn1::wrapper::GeneralStringAsn1) -> String {
    s.0.to_string()
}

/// The service an AP-REQ's ticket is for, `sname@realm` (e.g.
/// `cifs/fs1.corp.example@CORP.EXAMPLE`): the ticket's realm and sname are
/// outside its encrypted part, so no key is needed. None when the DER does
/// not parse as an AP-REQ.
pub fn ap_req_service(ap_req: &[u8]) -> Option<String> {
    let req: picky_krb::messages::ApReq = picky_asn1_der::from_bytes(ap_req).ok()?;
    let ticket = &req.0.ticket.0.0;
    Some(format!(
        "{}@{}",
        principal_text(&ticket.sname.0),
        text(&ticket.realm.0)
    ))
}

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
