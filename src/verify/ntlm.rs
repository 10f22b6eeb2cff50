//! NTLM session keys (MS-NLMP 3.3, 3.4.5): the NT and LM hashes, NTLMv2
//! with the NTProofStr check and NTLMv1 with the DES response check (a
//! wrong password is told apart from a forged signature either way),
//! NTLMv1 with and without extended session security, LM_KEY and
//! NON_NT_SESSION_KEY, the KEY_EXCH unwrap and the MIC check; and the SMB1
//! logon without extended security, whose responses arrive in
//! SESSION_SETUP_ANDX (MS-CIFS 3.2.4.2.4).

use crate::wire::ntlmssp::{
    NTLMSSP_MIC_OFFSET, NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, NTLMSSP_NEGOTIATE_KEY_EXCH,
    NTLMSSP_NEGOTIATE_LM_KEY, NTLMSSP_REQUEST_NON_NT_SESSION_KEY, NtlmsspAuthenticateRecord,
};
use des::Des;
use des::cipher::BlockCipherEncrypt;
use hmac::{Hmac, KeyInit, Mac};
use md4::{Digest, Md4};
use md5::Md5;
use rc4::{Rc4, StreamCipher};

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut m = <Hmac<Md5> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// NT hash: MD4(UTF-16LE(password)).
pub fn nt_hash(password: &str) -> [u8; 16] {
    Md4::digest(utf16le(password)).into()
}

/// DES of one block under a 56-bit key given as 7 bytes, spread over the
/// 8 key bytes DES takes (MS-NLMP 6; the low bit of each is parity, which
/// DES ignores).
fn des_7(key7: &[u8], block: &[u8; 8]) -> [u8; 8] {
    let k = key7;
    let key = [
        k[0],
        (k[0] << 7) | (k[1] >> 1),
        (k[1] << 6) | (k[2] >> 2),
        (k[2] << 5) | (k[3] >> 3),
        (k[3] << 4) | (k[4] >> 4),
        (k[4] << 3) | (k[5] >> 5),
        (k[5] << 2) | (k[6] >> 6),
        k[6] << 1,
    ];
    let cipher = Des::new_from_slice(&key).expect("8-byte DES key");
    let mut b = (*block).into();
    cipher.encrypt_block(&mut b);
    b.into()
}

/// DESL (MS-NLMP 6): the 16-byte key as three 7-byte DES keys (the last
/// padded with zeros), each encrypting `data`: the NTLMv1 and LM responses.
pub fn desl(key: &[u8; 16], data: &[u8; 8]) -> [u8; 24] {
    let mut k3 = [0u8; 7];
    k3[..2].copy_from_slice(&key[14..]);
    let mut out = [0u8; 24];
    out[..8].copy_from_slice(&des_7(&key[..7], data));
    out[8..16].copy_from_slice(&des_7(&key[7..14], data));
    out[16..].copy_from_slice(&des_7(&k3, data));
    out
}

/// LMOWFv1: the uppercased password (at most 14 characters, padded with
/// zeros) as two DES keys encrypting "KGS!@#$%". None when the password has
/// no LM hash: longer than 14, or outside ASCII (its OEM code page is the
/// client's, not known here).
pub fn lm_hash(password: &str) -> Option<[u8; 16]> {
    if password.len() > 14 || !password.is_ascii() {
        return None;
    }
    let mut p = [0u8; 14];
    p[..password.len()].copy_from_slice(password.to_ascii_uppercase().as_bytes());
    let mut h = [0u8; 16];
    h[..8].copy_from_slice(&des_7(&p[..7], b"KGS!@#$%"));
    h[8..].copy_from_slice(&des_7(&p[7..], b"KGS!@#$%"));
    Some(h)
}

/// The secrets of one user: the NT hash, and the LM hash when a password
/// was given (an NT hash alone has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserHashes<'a> {
    pub nt: &'a [u8; 16],
    pub lm: Option<&'a [u8; 16]>,
}

/// NTOWFv2 / ResponseKeyNT: HMAC-MD5(NT hash, UTF-16LE(UPPER(user) || domain)).
pub fn ntowf_v2(nt_hash: &[u8; 16], user: &str, domain: &str) -> [u8; 16] {
    let mut who = utf16le(&user.to_uppercase());
    who.extend(utf16le(domain));
    hmac_md5(nt_hash, &[&who])
}

/// Result of trying one NT hash against a captured AUTHENTICATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NtlmKey {
    /// The exported session key, and whether the MIC was checked and held
    /// (None when the message carries no MIC or the exchange was not
    /// captured whole).
    Key {
        key: [u8; 16],
        mic_ok: Option<bool>,
        v2: bool,
    },
    /// NTLMv2 NTProofStr does not match: wrong password (or user/domain).
    WrongCredentials,
    /// A variant smbsign cannot derive (LM_KEY / NON_NT_SESSION_KEY v1).
    Unsupported(&'static str),
}

/// The NTLMv1 response `nt_hash` gives for `server_challenge`: with
/// extended session security the challenge is first mixed with the
/// client's (the first 8 bytes of the LM field), MS-NLMP 3.3.1.
fn ntlmv1_response(
    nt_hash: &[u8; 16],
    server_challenge: &[u8],
    lm_response: &[u8],
    ess: bool,
) -> [u8; 24] {
    let mut challenge = [0u8; 8];
    if ess {
        let mixed = Md5::new()
            .chain_update(server_challenge)
            .chain_update(&lm_response[..8])
            .finalize();
        challenge.copy_from_slice(&mixed[..8]);
    } else {
        challenge.copy_from_slice(&server_challenge[..8]);
    }
    desl(nt_hash, &challenge)
}

/// KeyExchangeKey of an NTLMv1 logon (MS-NLMP 3.4.5.1), or why it cannot
/// be had: LM_KEY and NON_NT_SESSION_KEY need the LM hash (a password, not
/// an NT hash).
fn ntlmv1_kxkey(
    hashes: UserHashes<'_>,
    server_challenge: &[u8],
    auth: &NtlmsspAuthenticateRecord<'_>,
    ess: bool,
) -> Result<[u8; 16], &'static str> {
    let base: [u8; 16] = Md4::digest(hashes.nt).into();
    let lm8 = auth.lm_response.get(..8);
    if ess {
        let lm8 = lm8.ok_or("NTLMv1 with extended session security but no client challenge")?;
        return Ok(hmac_md5(&base, &[server_challenge, lm8]));
    }
    if auth.flags & NTLMSSP_NEGOTIATE_LM_KEY != 0 {
        let lm = hashes
            .lm
            .ok_or("NTLMv1 LM_KEY needs the password (the LM hash)")?;
        let data: [u8; 8] = lm8
            .ok_or("NTLMv1 LM_KEY without an LM response")?
            .try_into()
            .expect("8 bytes");
        let mut second = [0xBDu8; 7];
        second[0] = lm[7];
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&des_7(&lm[..7], &data));
        k[8..].copy_from_slice(&des_7(&second, &data));
        return Ok(k);
    }
    if auth.flags & NTLMSSP_REQUEST_NON_NT_SESSION_KEY != 0 {
        let lm = hashes
            .lm
            .ok_or("NTLMv1 NON_NT_SESSION_KEY needs the password (the LM hash)")?;
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&lm[..8]);
        return Ok(k);
    }
    Ok(base)
}

/// Exported session key for `auth`, given its user's hashes and the
/// CHALLENGE's ServerChallenge. `negotiate` and `challenge` are the raw
/// NTLMSSP messages, for the MIC (empty when not captured). The response
/// is checked first (NTProofStr for v2, the DES response for v1), so a
/// wrong password is `WrongCredentials`, never a bad key.
pub fn session_key(
    hashes: UserHashes<'_>,
    server_challenge: &[u8],
    auth: &NtlmsspAuthenticateRecord<'_>,
    negotiate: &[u8],
    challenge: &[u8],
) -> NtlmKey {
    let nt = auth.nt_response;
    let (kxkey, v2) = if nt.len() > 24 {
        // NTLMv2: check NTProofStr before trusting anything.
        let user = auth.user_name();
        let domain = auth.domain_name();
        let key_nt = ntowf_v2(hashes.nt, &user, &domain);
        let (proof, blob) = nt.split_at(16);
        let expected = hmac_md5(&key_nt, &[server_challenge, blob]);
        if !super::mac_eq(&expected, proof) {
            return NtlmKey::WrongCredentials;
        }
        (hmac_md5(&key_nt, &[proof]), true)
    } else if nt.len() == 24 && server_challenge.len() == 8 {
        // Samba applies extended session security to v1 only when both
        // responses are 24 bytes (ntlmssp_server.c).
        let ess = auth.flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY != 0
            && auth.lm_response.len() == 24;
        let expected = ntlmv1_response(hashes.nt, server_challenge, auth.lm_response, ess);
        if !super::mac_eq(&expected, nt) {
            return NtlmKey::WrongCredentials;
        }
        match ntlmv1_kxkey(hashes, server_challenge, auth, ess) {
            Ok(k) => (k, false),
            Err(why) => return NtlmKey::Unsupported(why),
        }
    } else {
        return NtlmKey::Unsupported("no NT response (anonymous or LM only)");
    };
    let key = if auth.flags & NTLMSSP_NEGOTIATE_KEY_EXCH != 0
        && auth.encrypted_random_session_key.len() == 16
    {
        let mut k = [0u8; 16];
        k.copy_from_slice(auth.encrypted_random_session_key);
        let mut rc4 = <Rc4 as rc4::KeyInit>::new_from_slice(&kxkey).expect("16-byte RC4 key");
        rc4.apply_keystream(&mut k);
        k
    } else {
        kxkey
    };
    let mic_ok = match auth.mic {
        Some(mic) if !negotiate.is_empty() && !challenge.is_empty() => {
            let mut zeroed = auth.raw.to_vec();
            zeroed[NTLMSSP_MIC_OFFSET..NTLMSSP_MIC_OFFSET + 16].fill(0);
            let expected = hmac_md5(&key, &[negotiate, challenge, &zeroed]);
            Some(super::mac_eq(&expected, mic))
        }
        _ => None,
    };
    NtlmKey::Key { key, mic_ok, v2 }
}

/// An SMB1 logon without extended security (SESSION_SETUP_ANDX, WordCount
/// 13): the challenge came in the NEGOTIATE response, the responses in the
/// request's password fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyLogon {
    pub user: String,
    pub domain: String,
    /// OEMPassword: the LM (or LMv2) response, or a clear-text password.
    pub lm_response: Vec<u8>,
    /// UnicodePassword: the NT (or NTLMv2) response.
    pub nt_response: Vec<u8>,
    /// The response's Action has SMB_SETUP_USE_LANMAN_KEY (0x0002): the
    /// server keyed signing with the LM session key (MS-CIFS 2.2.4.53.2).
    pub use_lanman_key: bool,
}

/// What a legacy logon yields with one user's hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyKey {
    /// The SMB1 MAC key: the session key followed by the response it came
    /// from, exactly as sent (MS-CIFS 3.2.5.3; Samba smb1_sesssetup.c).
    MacKey {
        session_key: [u8; 16],
        mac_key: Vec<u8>,
    },
    WrongCredentials,
    Unsupported(&'static str),
}

/// The SMB1 MAC key of a logon without extended security. NTLMv1 (a
/// 24-byte NT response): MD4(NT hash). NTLMv2: the NTLMv2 session base key.
/// LM only: the LM hash's first 8 bytes and 8 zeros, keyed with the LM
/// response. Each response is checked before its key is trusted.
pub fn legacy_mac_key(hashes: UserHashes<'_>, challenge: &[u8; 8], l: &LegacyLogon) -> LegacyKey {
    let nt = if l.use_lanman_key {
        &[][..]
    } else {
        l.nt_response.as_slice()
    };
    if nt.len() > 24 {
        let key_nt = ntowf_v2(hashes.nt, &l.user, &l.domain);
        let (proof, blob) = nt.split_at(16);
        if !super::mac_eq(&hmac_md5(&key_nt, &[challenge, blob]), proof) {
            return LegacyKey::WrongCredentials;
        }
        return mac_key(hmac_md5(&key_nt, &[proof]), nt);
    }
    if nt.len() == 24 {
        if !super::mac_eq(&desl(hashes.nt, challenge), nt) {
            return LegacyKey::WrongCredentials;
        }
        return mac_key(Md4::digest(hashes.nt).into(), nt);
    }
    let lm = l.lm_response.as_slice();
    if nt.is_empty() && lm.len() == 24 {
        // LM only, or the server asked for the LM session key.
        let Some(lm_hash) = hashes.lm else {
            return LegacyKey::Unsupported("LM-only logon needs the password (the LM hash)");
        };
        if !super::mac_eq(&desl(lm_hash, challenge), lm) {
            return LegacyKey::WrongCredentials;
        }
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&lm_hash[..8]);
        return mac_key(k, lm);
    }
    LegacyKey::Unsupported("no challenge response (clear-text or anonymous logon)")
}

fn mac_key(session_key: [u8; 16], response: &[u8]) -> LegacyKey {
    let mut mac_key = session_key.to_vec();
    mac_key.extend_from_slice(response);
    LegacyKey::MacKey {
        session_key,
        mac_key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::hex;

    // MS-NLMP 4.2.1 common values (docs/signing.md, vectors).
    const SERVER_CHALLENGE: &str = "0123456789abcdef";

    fn hashes(nt: &[u8; 16]) -> UserHashes<'_> {
        UserHashes { nt, lm: None }
    }

    #[test]
    fn nt_hash_and_ntowfv2() {
        let h = nt_hash("Password");
        assert_eq!(h.to_vec(), hex("a4f49c406510bdcab6824ee7c30fd852"));
        assert_eq!(
            ntowf_v2(&h, "User", "Domain").to_vec(),
            hex("0c868a403bfd7a93a3001ef22ef02e3f")
        );
    }

    fn auth<'a>(
        nt: &'a [u8],
        lm: &'a [u8],
        user: &'a [u8],
        domain: &'a [u8],
        enc: &'a [u8],
        flags: u32,
    ) -> NtlmsspAuthenticateRecord<'a> {
        NtlmsspAuthenticateRecord {
            lm_response: lm,
            nt_response: nt,
            domain,
            user,
            workstation: &[],
            encrypted_random_session_key: enc,
            flags,
            version: None,
            mic: None,
            raw: &[],
        }
    }

    // MS-NLMP 4.2.4: NTLMv2 NTProofStr, SessionBaseKey and the RC4 key
    // exchange of RandomSessionKey 55..55.
    #[test]
    fn ntlmv2_vector() {
        let temp = hex("0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000
             02000c0044006f006d00610069006e0001000c005300650072007600650072000000000000000000");
        let mut nt = hex("68cd0ab851e51c96aabc927bebef6a1c");
        nt.extend_from_slice(&temp);
        let user = utf16le("User");
        let domain = utf16le("Domain");
        let enc = hex("c5dad2544fc9799094ce1ce90bc9d03e");
        let flags = crate::wire::ntlmssp::NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_KEY_EXCH;
        let a = auth(&nt, &[], &user, &domain, &enc, flags);
        let got = session_key(
            hashes(&nt_hash("Password")),
            &hex(SERVER_CHALLENGE),
            &a,
            &[],
            &[],
        );
        assert_eq!(
            got,
            NtlmKey::Key {
                key: [0x55; 16],
                mic_ok: None,
                v2: true
            }
        );
        // Without KEY_EXCH the key is the SessionBaseKey.
        let a = auth(
            &nt,
            &[],
            &user,
            &domain,
            &enc,
            crate::wire::ntlmssp::NTLMSSP_NEGOTIATE_UNICODE,
        );
        let NtlmKey::Key { key, .. } = session_key(
            hashes(&nt_hash("Password")),
            &hex(SERVER_CHALLENGE),
            &a,
            &[],
            &[],
        ) else {
            panic!("no key")
        };
        assert_eq!(key.to_vec(), hex("8de40ccadbc14a82f15cb0ad0de95ca3"));
        // A wrong password is told apart.
        let a = auth(&nt, &[], &user, &domain, &enc, flags);
        assert_eq!(
            session_key(
                hashes(&nt_hash("wrong")),
                &hex(SERVER_CHALLENGE),
                &a,
                &[],
                &[]
            ),
            NtlmKey::WrongCredentials
        );
    }

    // MS-NLMP 4.2.2 (v1 SessionBaseKey) and 4.2.3 (ESS KeyExchangeKey).
    #[test]
    fn ntlmv1_vectors() {
        let nt = hex("67c43011f30298a2ad35ece64f16331c44bdbed927841f94");
        let a = auth(&nt, &[], &[], &[], &[], 0);
        let NtlmKey::Key { key, v2, .. } = session_key(
            hashes(&nt_hash("Password")),
            &hex(SERVER_CHALLENGE),
            &a,
            &[],
            &[],
        ) else {
            panic!("no key")
        };
        assert!(!v2);
        assert_eq!(key.to_vec(), hex("d87262b0cde4b1cb7499becccdf10784"));
        let nt = hex("7537f803ae367128ca458204bde7caf81e97ed2683267232");
        let lm = hex("aaaaaaaaaaaaaaaa00000000000000000000000000000000");
        let a = auth(
            &nt,
            &lm,
            &[],
            &[],
            &[],
            NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
        );
        let NtlmKey::Key { key, .. } = session_key(
            hashes(&nt_hash("Password")),
            &hex(SERVER_CHALLENGE),
            &a,
            &[],
            &[],
        ) else {
            panic!("no key")
        };
        assert_eq!(key.to_vec(), hex("eb93429a8bd952f8b89c55b87f475edc"));
    }

    // MS-NLMP 4.2.2: LMOWFv1 and the two DESL responses.
    #[test]
    fn lm_hash_and_desl_vectors() {
        let lm = lm_hash("Password").unwrap();
        assert_eq!(lm.to_vec(), hex("e52cac67419a9a224a3b108f3fa6cb6d"));
        let chal: [u8; 8] = hex(SERVER_CHALLENGE).try_into().unwrap();
        assert_eq!(
            desl(&nt_hash("Password"), &chal).to_vec(),
            hex("67c43011f30298a2ad35ece64f16331c44bdbed927841f94")
        );
        assert_eq!(
            desl(&lm, &chal).to_vec(),
            hex("98def7b87f88aa5dafe2df779688a172def11c7d5ccdef13")
        );
        assert_eq!(lm_hash("fifteen-letters"), None);
        assert_eq!(lm_hash("pässword"), None);
    }

    // MS-NLMP 4.2.2: the EncryptedRandomSessionKey of RandomSessionKey
    // 55..55 under each NTLMv1 KeyExchangeKey (plain, NON_NT_SESSION_KEY,
    // LM_KEY) unwraps to it; a wrong password is told apart.
    #[test]
    fn ntlmv1_key_exchange_key_variants() {
        let nt = hex("67c43011f30298a2ad35ece64f16331c44bdbed927841f94");
        let lm = hex("98def7b87f88aa5dafe2df779688a172def11c7d5ccdef13");
        let h = nt_hash("Password");
        let lmh = lm_hash("Password").unwrap();
        let both = UserHashes {
            nt: &h,
            lm: Some(&lmh),
        };
        for (enc, extra) in [
            ("518822b1b3f350c8958682ecbb3e3cb7", 0),
            (
                "7452ca55c225a1ca04b48fae32cf56fc",
                NTLMSSP_REQUEST_NON_NT_SESSION_KEY,
            ),
            ("4cd7bb57d697ef9b549f02b8f9b37864", NTLMSSP_NEGOTIATE_LM_KEY),
        ] {
            let enc = hex(enc);
            let a = auth(&nt, &lm, &[], &[], &enc, NTLMSSP_NEGOTIATE_KEY_EXCH | extra);
            let got = session_key(both, &hex(SERVER_CHALLENGE), &a, &[], &[]);
            assert_eq!(
                got,
                NtlmKey::Key {
                    key: [0x55; 16],
                    mic_ok: None,
                    v2: false
                },
                "flags {extra:#x}"
            );
            // Without the LM hash the LM variants say what they need.
            let nt_only = session_key(hashes(&h), &hex(SERVER_CHALLENGE), &a, &[], &[]);
            assert_eq!(matches!(nt_only, NtlmKey::Unsupported(_)), extra != 0);
        }
        let a = auth(&nt, &lm, &[], &[], &[], 0);
        assert_eq!(
            session_key(
                hashes(&nt_hash("wrong")),
                &hex(SERVER_CHALLENGE),
                &a,
                &[],
                &[]
            ),
            NtlmKey::WrongCredentials
        );
    }

    // The SMB1 MAC key without extended security: the MS-NLMP 4.2.2
    // SessionBaseKey followed by the NT response (MS-CIFS 3.2.5.3); LM
    // only: the LM hash's first half, zeros, then the LM response.
    #[test]
    fn legacy_mac_keys() {
        let chal: [u8; 8] = hex(SERVER_CHALLENGE).try_into().unwrap();
        let nt = hex("67c43011f30298a2ad35ece64f16331c44bdbed927841f94");
        let lm = hex("98def7b87f88aa5dafe2df779688a172def11c7d5ccdef13");
        let h = nt_hash("Password");
        let lmh = lm_hash("Password").unwrap();
        let both = UserHashes {
            nt: &h,
            lm: Some(&lmh),
        };
        let logon = |lm: &[u8], nt: &[u8]| LegacyLogon {
            user: "User".into(),
            domain: "Domain".into(),
            lm_response: lm.to_vec(),
            nt_response: nt.to_vec(),
            use_lanman_key: false,
        };
        let mut want = hex("d87262b0cde4b1cb7499becccdf10784");
        want.extend_from_slice(&nt);
        assert_eq!(
            legacy_mac_key(both, &chal, &logon(&lm, &nt)),
            LegacyKey::MacKey {
                session_key: hex("d87262b0cde4b1cb7499becccdf10784").try_into().unwrap(),
                mac_key: want
            }
        );
        let LegacyKey::MacKey { mac_key, .. } = legacy_mac_key(both, &chal, &logon(&lm, &[]))
        else {
            panic!("LM-only key")
        };
        assert_eq!(&mac_key[..8], &lmh[..8]);
        assert_eq!(&mac_key[8..16], &[0u8; 8]);
        assert_eq!(&mac_key[16..], &lm[..]);
        // The same key when the server's Action asks for the LM key beside
        // an NT response.
        let lanman = LegacyLogon {
            use_lanman_key: true,
            ..logon(&lm, &nt)
        };
        assert_eq!(
            legacy_mac_key(both, &chal, &lanman),
            legacy_mac_key(both, &chal, &logon(&lm, &[]))
        );
        let wrong = nt_hash("wrong");
        assert_eq!(
            legacy_mac_key(hashes(&wrong), &chal, &logon(&lm, &nt)),
            LegacyKey::WrongCredentials
        );
        assert!(matches!(
            legacy_mac_key(hashes(&h), &chal, &logon(b"Passw0rd!", &[])),
            LegacyKey::Unsupported(_)
        ));
    }
}
