//! SMB3 key derivation (SP800-108 counter mode, HMAC-SHA256, MS-SMB2
//! 3.1.4.2) and the SMB 3.1.1 preauth integrity hash (MS-SMB2 3.2.5.2).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256, Sha512};

/// K = HMAC-SHA256(Ki, 00000001 || Label || 00 || Context || 00000080)[..16].
/// `label` and `context` include their terminating NUL where the spec's do.
pub fn sp800_108_128(ki: &[u8], label: &[u8], context: &[u8]) -> [u8; 16] {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(ki).expect("HMAC takes any key length");
    m.update(&1u32.to_be_bytes());
    m.update(label);
    m.update(&[0]);
    m.update(context);
    m.update(&128u32.to_be_bytes());
    let out = m.finalize().into_bytes();
    let mut k = [0u8; 16];
    k.copy_from_slice(&out[..16]);
    k
}

/// K = HMAC-SHA256(Ki, 00000001 || Label || 00 || Context || L) for L =
/// 128 or 256 bits: one HMAC block either way.
pub fn sp800_108(ki: &[u8], label: &[u8], context: &[u8], bits: u32) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(ki).expect("HMAC takes any key length");
    m.update(&1u32.to_be_bytes());
    m.update(label);
    m.update(&[0]);
    m.update(context);
    m.update(&bits.to_be_bytes());
    m.finalize().into_bytes()[..bits as usize / 8].to_vec()
}

/// The SMB3 cipher keys (MS-SMB2 3.2.5.3.1): (client-to-server,
/// server-to-client). 3.0 and 3.0.2 use "SMB2AESCCM" with "ServerIn " and
/// "ServerOut"; 3.1.1 "SMBC2SCipherKey" and "SMBS2CCipherKey" with the
/// session's preauth hash, and for the AES-256 ciphers the full session
/// key as Ki and L = 256. None before 3.0, or 3.1.1 without its hash.
pub fn cipher_keys(
    full_key: &[u8],
    dialect: crate::wire::smb2::Smb2Dialect,
    cipher: Option<crate::wire::smb2::Cipher>,
    preauth: Option<&[u8; 64]>,
) -> Option<(Vec<u8>, Vec<u8>)> {
    use crate::wire::smb2::{Cipher, Smb2Dialect};
    let k16 = session_key_16(full_key);
    match dialect {
        Smb2Dialect::Smb300 | Smb2Dialect::Smb302 => Some((
            sp800_108(&k16, b"SMB2AESCCM\0", b"ServerIn \0", 128),
            sp800_108(&k16, b"SMB2AESCCM\0", b"ServerOut\0", 128),
        )),
        Smb2Dialect::Smb311 => {
            let h = preauth?;
            let wide = matches!(cipher, Some(Cipher::Aes256Ccm | Cipher::Aes256Gcm));
            let (ki, bits): (&[u8], u32) = if wide { (full_key, 256) } else { (&k16, 128) };
            Some((
                sp800_108(ki, b"SMBC2SCipherKey\0", h, bits),
                sp800_108(ki, b"SMBS2CCipherKey\0", h, bits),
            ))
        }
        _ => None,
    }
}

/// Session.SessionKey: the first 16 bytes of the GSS key, zero-padded.
pub fn session_key_16(key: &[u8]) -> [u8; 16] {
    let mut k = [0u8; 16];
    let n = key.len().min(16);
    k[..n].copy_from_slice(&key[..n]);
    k
}

/// SMB 3.0 / 3.0.2 signing key.
pub fn smb30_signing_key(session_key: &[u8]) -> [u8; 16] {
    sp800_108_128(&session_key_16(session_key), b"SMB2AESCMAC\0", b"SmbSign\0")
}

/// SMB 3.1.1 signing key from the session's preauth integrity hash.
pub fn smb311_signing_key(session_key: &[u8], preauth_hash: &[u8; 64]) -> [u8; 16] {
    sp800_108_128(
        &session_key_16(session_key),
        b"SMBSigningKey\0",
        preauth_hash,
    )
}

/// One step of the preauth hash chain: SHA-512(H || message).
pub fn preauth_update(h: &[u8; 64], message: &[u8]) -> [u8; 64] {
    let mut d = Sha512::new();
    d.update(h);
    d.update(message);
    let out = d.finalize();
    let mut n = [0u8; 64];
    n.copy_from_slice(&out);
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::hex;

    // 3.0 session key -> signing key: SMBLibrary's test value; the second a
    // regression value (docs/signing.md, vectors).
    #[test]
    fn smb30_signing_key_vector() {
        let k = smb30_signing_key(&hex("354024CBCA4F94AA51D4033E6E9B2F98"));
        assert_eq!(k.to_vec(), hex("7abdea9fca36c3f1eb5f195b03841c24"));
        // §5.4 regression value.
        let k = smb30_signing_key(&hex("B4546771B515F766A86735532DD6C4F0"));
        assert_eq!(k.to_vec(), hex("f773cd23c18fd1e08ee510cada7cf852"));
    }

    // Microsoft's 3.1.1 vector (see below): the hash after the second
    // SESSION_SETUP request and the session key give the signing key.
    #[test]
    fn smb311_signing_key_vector() {
        let h = hex(
            "0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB79
             28622DDDAD522D9751640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01",
        );
        let mut hash = [0u8; 64];
        hash.copy_from_slice(&h);
        let k = smb311_signing_key(&hex("270E1BA896585EEB7AF3472D3B4C75A7"), &hash);
        assert_eq!(k.to_vec(), hex("73FE7A9A77BEF0BDE49C650D8CCB5F76"));
    }

    /// Microsoft's published 3.1.1 pre-authentication integrity vector (Open
    /// Specifications blog, "SMB 3.1.1 Pre-authentication integrity in
    /// Windows 10", 2015): the five messages of a NEGOTIATE and two-leg
    /// SESSION_SETUP exchange, the hash after each, and the signing key the
    /// last hash gives with the session key.
    #[test]
    fn smb311_preauth_chain_published_vector() {
        let steps: [(&str, &str); 5] = [
            (
                "FE534D4240000100000000000000800000000000000000000100000000000000FFFE000000000000
                 00000000000000000000000000000000000000000000000024000500000000003F000000ECD86F32
                 6276024F9F7752B89BB33F3A70000000020000000202100200030203110300000100260000000000
                 010020000100FA49E6578F1F3A9F4CD3E9CC14A67AA884B3D05844E0E5A118225C15887F32FF0000
                 0200060000000000020002000100",
                "DD94EFC5321BB618A2E208BA8920D2F422992526947A409B5037DE1E0FE8C7362B8C47122594CDE0
                 CE26AA9DFC8BCDBDE0621957672623351A7540F1E54A0426",
            ),
            (
                "FE534D4240000100000000000000010001000000000000000100000000000000FFFE000000000000
                 000000000000000000000000000000000000000000000000410001001103020039CBCAF329714942
                 BDCE5D60F09AB3FB2F000000000080000000800000008000D8DAE5ADCBAED00109094AB095AED001
                 80004001C00100006082013C06062B0601050502A08201303082012CA01A3018060A2B0601040182
                 3702021E060A2B06010401823702020AA282010C048201084E45474F455854530100000000000000
                 60000000700000007C7CC0FD06D6362D02DDE1CF343BFE292900F49750B4AA97934D9C4296B26E51
                 FD370471B235E15A50DAE15BD5489C87000000000000000060000000010000000000000000000000
                 5C33530DEAF90D4DB2EC4AE3786EC3084E45474F4558545303000000010000004000000098000000
                 7C7CC0FD06D6362D02DDE1CF343BFE295C33530DEAF90D4DB2EC4AE3786EC3084000000058000000
                 3056A05430523027802530233121301F06035504031318546F6B656E205369676E696E6720507562
                 6C6963204B65793027802530233121301F06035504031318546F6B656E205369676E696E67205075
                 626C6963204B6579010026000000000001002000010060A3C3B95C3C7CCD51EC536648D9B3AC74C4
                 83CA5B65385A251117BEB30712E50000020004000000000001000200",
                "324BFA92A4F3A190E466EBEA08D9C110DC88BFED758D9846ECC6F541CC1D02AE3C94A79F36011E99
                 7E13F841B91B50957AD07B19C8E2539C0B23FDAE09D2C513",
            ),
            (
                "FE534D4240000100000000000100800000000000000000000200000000000000FFFE000000000000
                 00000000000000000000000000000000000000000000000019000001010000000000000058004A00
                 0000000000000000604806062B0601050502A03E303CA00E300C060A2B06010401823702020AA22A
                 04284E544C4D5353500001000000978208E200000000000000000000000000000000060380250000
                 000F",
                "AC0B0F2B9986257700365E416D142A6EDC96DF03594A19E52A15F6BD0D041CD5D432F8ED42C55E33
                 197A50C9EC00F1462B50C592211B1471A04B56088FDFD5F9",
            ),
            (
                "FE534D4240000100160000C00100010001000000000000000200000000000000FFFE000000000000
                 190000000010000000000000000000000000000000000000090000004800B300A181B03081ADA003
                 0A0101A10C060A2B06010401823702020AA281970481944E544C4D53535000020000000C000C0038
                 00000015828AE20D1D8BA31179D008000000000000000050005000440000000A0092270000000F53
                 005500540033003100310002000C0053005500540033003100310001000C00530055005400330031
                 00310004000C0053005500540033003100310003000C0053005500540033003100310007000800A1
                 A1F5ADCBAED00100000000",
                "2729E3440DFDDD839E37193F6E8F20C20CEFB3469E453A70CD980EEC06B8835740A7376008563336
                 4C8989895ECE81BF102DEEB14D4B7D48AFA76901A7A38387",
            ),
            (
                "FE534D4240000100000000000100800000000000000000000300000000000000FFFE000000000000
                 1900000000100000000000000000000000000000000000001900000101000000000000005800CF01
                 0000000000000000A18201CB308201C7A0030A0101A28201AA048201A64E544C4D53535000030000
                 001800180090000000EE00EE00A80000000C000C00580000001A001A0064000000120012007E0000
                 001000100096010000158288E2060380250000000FECAC77A5F385A8BF9C38C706EEEDDCD3530055
                 005400330031003100610064006D0069006E006900730074007200610074006F0072004400520049
                 0056004500520033003100310000000000000000000000000000000000000000000000000063078E
                 B639FE03E20A231C3AE3BF23080101000000000000A1A1F5ADCBAED001BC4AD05F223CC90F000000
                 0002000C0053005500540033003100310001000C0053005500540033003100310004000C00530055
                 00540033003100310003000C0053005500540033003100310007000800A1A1F5ADCBAED001060004
                 00020000000800300030000000000000000000000000300000B61FEFCAA857EA57BF1EDCEBF8974B
                 8E0EBA5A6DFD9D07A31D11B548F8C9D0CC0A00100000000000000000000000000000000000090016
                 0063006900660073002F005300550054003300310031000000000000000000000000003B9BDFF38F
                 5EE8F9663F11A0F4C03A78A31204100100000063775A9A5FD97F0600000000",
                "0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB7928622DDDAD522D97
                 51640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01",
            ),
        ];
        let mut h = [0u8; 64];
        for (k, (message, want)) in steps.iter().enumerate() {
            h = preauth_update(&h, &hex(message));
            assert_eq!(h.to_vec(), hex(want), "hash after step {}", k + 1);
        }
        let key = smb311_signing_key(&hex("270E1BA896585EEB7AF3472D3B4C75A7"), &h);
        assert_eq!(key.to_vec(), hex("73FE7A9A77BEF0BDE49C650D8CCB5F76"));
    }
}
