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

    // signing.md §5.2: 3.0 session key -> signing key (SMBLibrary).
    #[test]
    fn smb30_signing_key_vector() {
        let k = smb30_signing_key(&hex("354024CBCA4F94AA51D4033E6E9B2F98"));
        assert_eq!(k.to_vec(), hex("7abdea9fca36c3f1eb5f195b03841c24"));
        // §5.4 regression value.
        let k = smb30_signing_key(&hex("B4546771B515F766A86735532DD6C4F0"));
        assert_eq!(k.to_vec(), hex("f773cd23c18fd1e08ee510cada7cf852"));
    }

    // signing.md §5.3: Microsoft's 3.1.1 preauth vector (via pike): the
    // hash after the second SESSION_SETUP request and the session key give
    // the signing key.
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

    #[test]
    fn preauth_chain_starts_from_zero() {
        let h0 = [0u8; 64];
        let h1 = preauth_update(&h0, b"abc");
        assert_ne!(h1, h0);
        assert_eq!(preauth_update(&h0, b"abc"), h1);
    }
}
