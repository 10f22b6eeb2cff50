//! NTLM session keys (MS-NLMP 3.3, 3.4.5): the NT hash, NTLMv2 with the
//! NTProofStr check (a wrong password is told apart from a forged
//! signature), NTLMv1 with and without extended session security, the
//! KEY_EXCH unwrap and the MIC check.

use crate::wire::ntlmssp::{
    NTLMSSP_MIC_OFFSET, NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, NTLMSSP_NEGOTIATE_KEY_EXCH,
    NTLMSSP_NEGOTIATE_LM_KEY, NTLMSSP_REQUEST_NON_NT_SESSION_KEY, NtlmsspAuthenticateRecord,
};
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

/// Exported session key for `auth`, given the NT hash of its user and the
/// CHALLENGE's ServerChallenge. `negotiate` and `challenge` are the raw
/// NTLMSSP messages, for the MIC (empty when not captured).
pub fn session_key(
    nt_hash: &[u8; 16],
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
        let key_nt = ntowf_v2(nt_hash, &user, &domain);
        let (proof, blob) = nt.split_at(16);
        let expected = hmac_md5(&key_nt, &[server_challenge, blob]);
        if !super::mac_eq(&expected, proof) {
            return NtlmKey::WrongCredentials;
        }
        (hmac_md5(&key_nt, &[proof]), true)
    } else if nt.len() == 24 {
        let base: [u8; 16] = Md4::digest(nt_hash).into();
        if auth.flags & (NTLMSSP_NEGOTIATE_LM_KEY | NTLMSSP_REQUEST_NON_NT_SESSION_KEY) != 0 {
            return NtlmKey::Unsupported("NTLMv1 with LM_KEY or NON_NT_SESSION_KEY");
        }
        if auth.flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY != 0
            && auth.lm_response.len() >= 8
        {
            (
                hmac_md5(&base, &[server_challenge, &auth.lm_response[..8]]),
                false,
            )
        } else {
            (base, false)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::hex;

    // MS-NLMP 4.2.1 common values (docs/signing.md, vectors).
    const SERVER_CHALLENGE: &str = "0123456789abcdef";

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
        let got = session_key(&nt_hash("Password"), &hex(SERVER_CHALLENGE), &a, &[], &[]);
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
        let NtlmKey::Key { key, .. } =
            session_key(&nt_hash("Password"), &hex(SERVER_CHALLENGE), &a, &[], &[])
        else {
            panic!("no key")
        };
        assert_eq!(key.to_vec(), hex("8de40ccadbc14a82f15cb0ad0de95ca3"));
        // A wrong password is told apart.
        let a = auth(&nt, &[], &user, &domain, &enc, flags);
        assert_eq!(
            session_key(&nt_hash("wrong"), &hex(SERVER_CHALLENGE), &a, &[], &[]),
            NtlmKey::WrongCredentials
        );
    }

    // MS-NLMP 4.2.2 (v1 SessionBaseKey) and 4.2.3 (ESS KeyExchangeKey).
    #[test]
    fn ntlmv1_vectors() {
        let nt = hex("67c43011f30298a2ad35ece64f16331c44bdbed927841f94");
        let a = auth(&nt, &[], &[], &[], &[], 0);
        let NtlmKey::Key { key, v2, .. } =
            session_key(&nt_hash("Password"), &hex(SERVER_CHALLENGE), &a, &[], &[])
        else {
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
        let NtlmKey::Key { key, .. } =
            session_key(&nt_hash("Password"), &hex(SERVER_CHALLENGE), &a, &[], &[])
        else {
            panic!("no key")
        };
        assert_eq!(key.to_vec(), hex("eb93429a8bd952f8b89c55b87f475edc"));
    }
}
