//! What smbsign needs from SPNEGO (RFC 4178) security blobs: which
//! mechanism a session setup used. The GSS-API framing and SPNEGO's
//! NegotiationToken are read as DER with RustCrypto's `der` crate: the
//! mechanism is the one whose token a negTokenInit carries (its first
//! mechType), or the one a negTokenResp names in supportedMech. A blob
//! that is not DER (or no SPNEGO at all, as SMB1 and Wireshark allow) is
//! recognised by the mechanism's own framing.

use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Reader, SliceReader, Tag, Tagged};

/// SPNEGO 1.3.6.1.5.5.2.
const SPNEGO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.2");
/// Kerberos 5 (RFC 4121) and Microsoft's variant of its OID.
const KRB5_DOTTED: &str = "1.2.840.113554.1.2.2";
const KRB5: ObjectIdentifier = ObjectIdentifier::new_unwrap(KRB5_DOTTED);
const MS_KRB5: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.48018.1.2.2");
/// IAKERB (draft-ietf-kitten-iakerb; macOS and Heimdal clients).
const IAKERB_DOTTED: &str = "1.3.6.1.5.2.5";
const IAKERB: ObjectIdentifier = ObjectIdentifier::new_unwrap(IAKERB_DOTTED);
/// NTLMSSP (MS-NLMP).
const NTLMSSP_DOTTED: &str = "1.3.6.1.4.1.311.2.2.10";
const NTLMSSP: ObjectIdentifier = ObjectIdentifier::new_unwrap(NTLMSSP_DOTTED);
/// NEGOEX (MS-NEGOEX).
const NEGOEX_DOTTED: &str = "1.3.6.1.4.1.311.2.2.30";
const NEGOEX: ObjectIdentifier = ObjectIdentifier::new_unwrap(NEGOEX_DOTTED);

/// Kerberos 5 OIDs DER-encoded with their tag and length, and the GSS-API
/// krb5 token ids (RFC 4121 4.1) that follow them in a bare token.
const KRB5_OID_DER: [&[u8]; 2] = [
    &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
    ],
    &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02,
    ],
];
const KRB5_AP_REQ: &[u8] = &[0x01, 0x00];
const KRB5_AP_REP: &[u8] = &[0x02, 0x00];

/// Authentication mechanism carried by a session setup blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Ntlmssp,
    Kerberos,
    Iakerb,
    Negoex,
    /// Any other mechanism, by its OID.
    Other(ObjectIdentifier),
}

impl Mechanism {
    fn from_oid(oid: ObjectIdentifier) -> Self {
        match oid {
            o if o == KRB5 || o == MS_KRB5 => Mechanism::Kerberos,
            o if o == IAKERB => Mechanism::Iakerb,
            o if o == NTLMSSP => Mechanism::Ntlmssp,
            o if o == NEGOEX => Mechanism::Negoex,
            o => Mechanism::Other(o),
        }
    }

    /// The OID in dotted form (the Kerberos one for Kerberos). Known
    /// mechanisms copy a literal: formatting an OID costs more than the
    /// rest of a session setup's bookkeeping.
    pub fn oid(&self) -> Option<String> {
        Some(match self {
            Mechanism::Ntlmssp => NTLMSSP_DOTTED.to_owned(),
            Mechanism::Kerberos => KRB5_DOTTED.to_owned(),
            Mechanism::Iakerb => IAKERB_DOTTED.to_owned(),
            Mechanism::Negoex => NEGOEX_DOTTED.to_owned(),
            Mechanism::Other(o) => o.to_string(),
        })
    }
}

/// Mechanism of the token inside a session setup blob. An OID in a
/// mechTypes list alone does not count: a client lists mechanisms it then
/// does not use, and a server's NEGOTIATE hints name them all.
pub fn blob_mechanism(blob: &[u8]) -> Option<Mechanism> {
    if super::ntlmssp::signature_at(blob).is_some() {
        return Some(Mechanism::Ntlmssp);
    }
    spnego_mechanism(blob).or_else(|| bare_krb5(blob))
}

/// One DER element and what follows it.
fn element(bytes: &[u8]) -> Option<(AnyRef<'_>, &[u8])> {
    let mut r = SliceReader::new(bytes).ok()?;
    let any: AnyRef<'_> = r.decode().ok()?;
    let rest = r.read_slice(r.remaining_len()).ok()?;
    Some((any, rest))
}

/// The elements of a constructed value, with their context tag numbers.
fn fields(value: &[u8]) -> Vec<(Tag, AnyRef<'_>)> {
    let mut out = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let Some((any, r)) = element(rest) else {
            break;
        };
        out.push((any.tag(), any));
        rest = r;
    }
    out
}

fn context(tag: Tag) -> Option<u32> {
    match tag {
        Tag::ContextSpecific { number, .. } => Some(number.value()),
        _ => None,
    }
}

/// The mechanism a SPNEGO NegotiationToken uses, wrapped in the GSS-API
/// InitialContextToken (client) or bare (server's negTokenResp).
fn spnego_mechanism(blob: &[u8]) -> Option<Mechanism> {
    let (outer, _) = element(blob)?;
    let token = match outer.tag() {
        Tag::Application { number, .. } if number.value() == 0 => {
            let (oid, inner) = element(outer.value())?;
            if ObjectIdentifier::try_from(oid).ok()? != SPNEGO {
                return None;
            }
            element(inner)?.0
        }
        _ => outer,
    };
    // NegotiationToken: [0] negTokenInit or [1] negTokenResp, each a SEQUENCE.
    let kind = context(token.tag())?;
    let (seq, _) = element(token.value())?;
    let parts = fields(seq.value());
    let part = |n: u32| {
        parts
            .iter()
            .find(|(t, _)| context(*t) == Some(n))
            .map(|p| p.1)
    };
    match kind {
        0 => {
            part(2)?; // mechToken: the token of the first mechType
            let (list, _) = element(part(0)?.value())?;
            let (first, _) = element(list.value())?;
            let oid = ObjectIdentifier::try_from(first).ok()?;
            Some(Mechanism::from_oid(oid))
        }
        1 => {
            let (oid, _) = element(part(1)?.value())?;
            let oid = ObjectIdentifier::try_from(oid).ok()?;
            Some(Mechanism::from_oid(oid))
        }
        _ => None,
    }
}

/// Which Kerberos message a GSS-API krb5 token carries (RFC 4121 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Krb5TokenKind {
    ApReq,
    ApRep,
}

/// The Kerberos message (the DER of an AP-REQ or AP-REP, bounded by its
/// own length) inside a session setup blob: the GSS-API krb5 token framing
/// (its OID, then the token id) wherever SPNEGO put it (the negTokenInit's
/// mechToken, the negTokenResp's responseToken) or bare.
pub fn krb5_message(blob: &[u8]) -> Option<(Krb5TokenKind, &[u8])> {
    for oid in KRB5_OID_DER {
        let mut from = 0;
        while let Some(p) = memchr::memmem::find(&blob[from..], oid) {
            let after = &blob[from + p + oid.len()..];
            let kind = if after.starts_with(KRB5_AP_REQ) {
                Some(Krb5TokenKind::ApReq)
            } else if after.starts_with(KRB5_AP_REP) {
                Some(Krb5TokenKind::ApRep)
            } else {
                None
            };
            if let Some(kind) = kind {
                let der = &after[2..];
                let (_, rest) = element(der)?;
                return Some((kind, &der[..der.len() - rest.len()]));
            }
            from += p + 1;
        }
    }
    None
}

/// A bare GSS-API krb5 AP-REQ or AP-REP (no SPNEGO around it).
fn bare_krb5(blob: &[u8]) -> Option<Mechanism> {
    for oid in KRB5_OID_DER {
        let mut from = 0;
        while let Some(p) = memchr::memmem::find(&blob[from..], oid) {
            let after = &blob[from + p + oid.len()..];
            if after.starts_with(KRB5_AP_REQ) || after.starts_with(KRB5_AP_REP) {
                return Some(Mechanism::Kerberos);
            }
            from += p + 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        assert!(value.len() < 128);
        let mut v = vec![tag, value.len() as u8];
        v.extend_from_slice(value);
        v
    }

    fn oid(o: ObjectIdentifier) -> Vec<u8> {
        let mut v = vec![0x06, o.as_bytes().len() as u8];
        v.extend_from_slice(o.as_bytes());
        v
    }

    /// negTokenInit { mechTypes [0] { first, … }, mechToken [2] token }
    /// wrapped in the GSS-API header, built as RFC 4178 4.2 lays it out.
    fn init(mechs: &[ObjectIdentifier], token: Option<&[u8]>) -> Vec<u8> {
        let list: Vec<u8> = mechs.iter().flat_map(|&m| oid(m)).collect();
        let mut seq = tlv(0xa0, &tlv(0x30, &list));
        if let Some(t) = token {
            seq.extend(tlv(0xa2, &tlv(0x04, t)));
        }
        let mut inner = oid(SPNEGO);
        inner.extend(tlv(0xa0, &tlv(0x30, &seq)));
        tlv(0x60, &inner)
    }

    #[test]
    fn spnego_names_the_mechanism_whose_token_it_carries() {
        let iakerb = init(&[IAKERB, KRB5], Some(b"\x05\x01tok"));
        assert_eq!(blob_mechanism(&iakerb), Some(Mechanism::Iakerb));
        assert_eq!(Mechanism::Iakerb.oid().as_deref(), Some("1.3.6.1.5.2.5"));
        let negoex = init(&[NEGOEX, NTLMSSP], Some(b"NEGOEXTS"));
        assert_eq!(blob_mechanism(&negoex), Some(Mechanism::Negoex));
        let odd = ObjectIdentifier::new_unwrap("1.2.3.4.5");
        let other = init(&[odd], Some(b"x"));
        assert_eq!(blob_mechanism(&other), Some(Mechanism::Other(odd)));
        assert_eq!(Mechanism::Other(odd).oid().as_deref(), Some("1.2.3.4.5"));
        // The literals the known mechanisms print are their OIDs.
        for (m, o) in [
            (Mechanism::Ntlmssp, NTLMSSP),
            (Mechanism::Kerberos, KRB5),
            (Mechanism::Iakerb, IAKERB),
            (Mechanism::Negoex, NEGOEX),
        ] {
            assert_eq!(m.oid(), Some(o.to_string()));
        }
        // A list of mechanisms without a token says nothing of the one used.
        assert_eq!(blob_mechanism(&init(&[KRB5, NTLMSSP], None)), None);
        // negTokenResp { negState [0], supportedMech [1] }.
        let mut resp = tlv(0xa0, &[0x0a, 0x01, 0x01]);
        resp.extend(tlv(0xa1, &oid(MS_KRB5)));
        let resp = tlv(0xa1, &tlv(0x30, &resp));
        assert_eq!(blob_mechanism(&resp), Some(Mechanism::Kerberos));
    }

    #[test]
    fn krb5_message_is_bounded_by_its_own_length() {
        // GSS framing, the AP-REQ token id, an [APPLICATION 14] element of
        // three bytes, then what SPNEGO puts after it (a mechListMIC).
        let mut b = vec![0x60, 0x10];
        b.extend_from_slice(KRB5_OID_DER[1]);
        b.extend_from_slice(KRB5_AP_REQ);
        b.extend_from_slice(&[0x6e, 0x03, 0x30, 0x01, 0x00, 0xa3, 0x02, 0x04, 0x00]);
        let (kind, der) = krb5_message(&b).unwrap();
        assert_eq!(kind, Krb5TokenKind::ApReq);
        assert_eq!(der, &[0x6e, 0x03, 0x30, 0x01, 0x00]);
        // A length past the end is no message.
        let cut = &b[..b.len() - 6];
        assert_eq!(krb5_message(cut), None);
        assert_eq!(krb5_message(b"no kerberos here"), None);
    }

    #[test]
    fn bare_kerberos_ap_req_recognised_oid_list_alone_is_not() {
        let mut b = vec![0x60, 0x82, 0x01, 0x00];
        b.extend_from_slice(KRB5_OID_DER[0]);
        b.extend_from_slice(KRB5_AP_REQ);
        b.push(0x6e);
        assert_eq!(blob_mechanism(&b), Some(Mechanism::Kerberos));
        let mut list = vec![0x30, 0x0b];
        list.extend_from_slice(KRB5_OID_DER[1]);
        assert_eq!(blob_mechanism(&list), None);
        assert_eq!(
            blob_mechanism(b"xxNTLMSSP\0\x01\0\0\0"),
            Some(Mechanism::Ntlmssp)
        );
    }
}
