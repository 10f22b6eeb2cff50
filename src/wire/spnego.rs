//! What smbsign needs from SPNEGO (RFC 4178) security blobs: which
//! mechanism a session setup used. The blob is not decoded as DER; the
//! mechanism's own token is recognised by its framing, which is what
//! Wireshark does when SPNEGO is absent too.

/// Kerberos 5 OID 1.2.840.113554.1.2.2 and Microsoft's variant
/// 1.2.840.48018.1.2.2, DER-encoded with their tag and length.
const KRB5_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
];
const MS_KRB5_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02,
];
/// GSS-API krb5 token ids (RFC 4121 4.1) that follow the OID.
const KRB5_AP_REQ: &[u8] = &[0x01, 0x00];
const KRB5_AP_REP: &[u8] = &[0x02, 0x00];

/// Authentication mechanism carried by a session setup blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Ntlmssp,
    Kerberos,
}

/// Mechanism of the token inside a session setup blob: NTLMSSP when the
/// blob carries an NTLMSSP message, Kerberos when it carries a GSS krb5
/// AP-REQ or AP-REP (an OID in a mechTypes list alone does not count: a
/// client lists mechanisms it then does not use).
pub fn blob_mechanism(blob: &[u8]) -> Option<Mechanism> {
    if memchr::memmem::find(blob, super::ntlmssp::NTLMSSP_SIGNATURE).is_some() {
        return Some(Mechanism::Ntlmssp);
    }
    for oid in [KRB5_OID, MS_KRB5_OID] {
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

    #[test]
    fn kerberos_ap_req_recognised_oid_list_alone_is_not() {
        let mut b = vec![0x60, 0x82, 0x01, 0x00];
        b.extend_from_slice(KRB5_OID);
        b.extend_from_slice(KRB5_AP_REQ);
        b.push(0x6e);
        assert_eq!(blob_mechanism(&b), Some(Mechanism::Kerberos));
        let mut list = vec![0x30, 0x0b];
        list.extend_from_slice(MS_KRB5_OID);
        assert_eq!(blob_mechanism(&list), None);
        assert_eq!(
            blob_mechanism(b"xxNTLMSSP\0\x01\0\0\0"),
            Some(Mechanism::Ntlmssp)
        );
    }
}
