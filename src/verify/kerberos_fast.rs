//! Kerberos FAST (RFC 6113) as far as a TGS reply needs it: clients that
//! armor their TGS-REQ (Samba's, whenever the KDC offers FAST) get a
//! TGS-REP whose enc-part is keyed with the subkey strengthened by a key
//! the KDC sends inside the armored reply.
//!
//! - armor key (implicit TGS armor, 5.4.1.1) = KRB-FX-CF2(subkey, TGT
//!   session key, "subkeyarmor", "ticketarmor");
//! - the TGS-REP's PA-FX-FAST (136) holds KrbFastArmoredRep, whose
//!   enc-fast-rep (key usage 52) is a KrbFastResponse with an optional
//!   strengthen-key;
//! - reply key = KRB-FX-CF2(strengthen-key, subkey, "strengthenkey",
//!   "replykey").
//!
//! KRB-FX-CF2 (5.1) is random-to-key(PRF+(K1, pepper1) XOR PRF+(K2,
//! pepper2)); the AES PRF (RFC 3962 6) encrypts the first 16 bytes of
//! SHA-1(input) under DK(key, "prf"), the RC4-HMAC one (RFC 4757 3) is
//! HMAC-SHA1(key, input). AES, SHA-1 and HMAC are RustCrypto's, DK is
//! picky-krb's.

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use picky_asn1::wrapper::{
    Asn1SequenceOf, ExplicitContextTag0, ExplicitContextTag1, ExplicitContextTag2,
    ExplicitContextTag3, IntegerAsn1, Optional,
};
use picky_krb::crypto::aes::{AesSize, derive_key};
use picky_krb::data_types::{EncryptedData, EncryptionKey, PaData};
use serde::Deserialize;
use sha1::{Digest, Sha1};

/// PA-FX-FAST (RFC 6113 7.2) and KEY_USAGE_FAST_REP.
pub const PA_FX_FAST: i64 = 136;
const USAGE_FAST_REP: i32 = 52;

/// KrbFastArmoredRep ::= SEQUENCE { enc-fast-rep [0] EncryptedData }.
#[derive(Debug, Deserialize)]
struct KrbFastArmoredRep {
    enc_fast_rep: ExplicitContextTag0<EncryptedData>,
}

/// KrbFastResponse ::= SEQUENCE { padata [0], strengthen-key [1]
/// OPTIONAL, finished [2] OPTIONAL (skipped), nonce [3] }.
#[derive(Debug, Deserialize)]
struct KrbFastResponse {
    _padata: ExplicitContextTag0<Asn1SequenceOf<PaData>>,
    #[serde(default)]
    strengthen_key: Optional<Option<ExplicitContextTag1<EncryptionKey>>>,
    #[serde(default)]
    _finished: Optional<Option<ExplicitContextTag2<picky_asn1_der::Asn1RawDer>>>,
    #[serde(default)]
    _nonce: Optional<Option<ExplicitContextTag3<IntegerAsn1>>>,
}

fn aes_size(etype: i32) -> Option<AesSize> {
    match etype {
        17 => Some(AesSize::Aes128),
        18 => Some(AesSize::Aes256),
        _ => None,
    }
}

/// The PRF of an encryption type: RFC 3962 6 for AES (16 bytes), RFC
/// 4757 3 for RC4-HMAC (HMAC-SHA1 of the key, 20 bytes).
fn prf(etype: i32, key: &[u8], input: &[u8]) -> Option<Vec<u8>> {
    if etype == 23 {
        let mut m = <hmac::Hmac<Sha1> as hmac::KeyInit>::new_from_slice(key).ok()?;
        hmac::Mac::update(&mut m, input);
        return Some(hmac::Mac::finalize(m).into_bytes().to_vec());
    }
    let size = aes_size(etype)?;
    let dk = derive_key(key, b"prf", &size).ok()?;
    let digest = Sha1::digest(input);
    let mut block: [u8; 16] = digest[..16].try_into().expect("16 of 20 bytes");
    match size {
        AesSize::Aes128 => aes::Aes128::new_from_slice(&dk)
            .ok()?
            .encrypt_block((&mut block).into()),
        AesSize::Aes256 => aes::Aes256::new_from_slice(&dk)
            .ok()?
            .encrypt_block((&mut block).into()),
    }
    Some(block.to_vec())
}

/// PRF+ (RFC 6113 5.1): PRF(key, 1 || pepper) || PRF(key, 2 || pepper)…
fn prf_plus(etype: i32, key: &[u8], pepper: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len + 16);
    let mut counter = 1u8;
    while out.len() < len {
        let mut input = vec![counter];
        input.extend_from_slice(pepper);
        out.extend_from_slice(&prf(etype, key, &input)?);
        counter = counter.checked_add(1)?;
    }
    out.truncate(len);
    Some(out)
}

/// KRB-FX-CF2(K1, K2, pepper1, pepper2), of K1's encryption type.
pub fn cf2(
    etype1: i32,
    k1: &[u8],
    etype2: i32,
    k2: &[u8],
    p1: &[u8],
    p2: &[u8],
) -> Option<Vec<u8>> {
    let len = k1.len();
    let a = prf_plus(etype1, k1, p1, len)?;
    let b = prf_plus(etype2, k2, p2, len)?;
    Some(a.iter().zip(&b).map(|(x, y)| x ^ y).collect())
}

/// The reply key of a FAST-armored TGS exchange, from the TGS-REP's
/// PA-DATA: None when the reply is not armored or nothing decrypts.
pub fn tgs_reply_key(
    rep_padata: &[PaData],
    subkey: (i32, &[u8]),
    tgt_session: (i32, &[u8]),
) -> Option<(i32, Vec<u8>)> {
    let pa = rep_padata
        .iter()
        .find(|p| super::kerberos::int(&p.padata_type.0) == PA_FX_FAST)?;
    // PA-FX-FAST-REPLY ::= CHOICE { armored-data [0] KrbFastArmoredRep }.
    let armored: ExplicitContextTag0<KrbFastArmoredRep> =
        picky_asn1_der::from_bytes(&pa.padata_data.0.0).ok()?;
    let armor = cf2(
        subkey.0,
        subkey.1,
        tgt_session.0,
        tgt_session.1,
        b"subkeyarmor",
        b"ticketarmor",
    )?;
    let e = &armored.0.enc_fast_rep.0;
    let etype = super::kerberos::int(&e.etype.0) as i32;
    let plain = super::kerberos::decrypt(etype, &armor, USAGE_FAST_REP, &e.cipher.0.0).ok()?;
    let response: KrbFastResponse = picky_asn1_der::from_bytes(&plain).ok()?;
    let strengthen = response.strengthen_key.0.as_ref()?;
    let s_etype = super::kerberos::int(&strengthen.0.key_type.0) as i32;
    let key = cf2(
        s_etype,
        &strengthen.0.key_value.0.0,
        subkey.0,
        subkey.1,
        b"strengthenkey",
        b"replykey",
    )?;
    Some((s_etype, key))
}
