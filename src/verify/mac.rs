//! The MAC of each dialect over a message whose signature field is treated
//! as zero (SMB2) or as the sequence number (SMB1).

use aes::Aes128;
use aes_gcm::{AeadInOut, Aes128Gcm, Nonce};
use cmac::Cmac;
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

use crate::wire::smb2::Smb2Command;
use crate::wire::{MacAlgorithm, Smb1Header, Smb2Header};

const SIG: std::ops::Range<usize> = Smb2Header::SIGNATURE;

/// A keyed SMB2 MAC, prepared once per session: HMAC's inner/outer pads,
/// CMAC's subkeys and AES key schedule are computed here, not per message.
#[derive(Clone)]
pub enum Smb2Signer {
    HmacSha256(Hmac<Sha256>),
    AesCmac(Box<Cmac<Aes128>>),
    AesGmac(Box<Aes128Gcm>),
}

impl std::fmt::Debug for Smb2Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.write_str(match self {
            Smb2Signer::HmacSha256(_) => "Smb2Signer(HMAC-SHA256)",
            Smb2Signer::AesCmac(_) => "Smb2Signer(AES-CMAC)",
            Smb2Signer::AesGmac(_) => "Smb2Signer(AES-GMAC)",
        })
    }
}

impl Smb2Signer {
    /// The keyed MAC; None for MD5, which is SMB1's (see `smb1_signature`).
    pub fn new(alg: MacAlgorithm, key: &[u8; 16]) -> Option<Self> {
        Some(match alg {
            MacAlgorithm::Md5 => return None,
            MacAlgorithm::HmacSha256 => Smb2Signer::HmacSha256(
                <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length"),
            ),
            MacAlgorithm::AesCmac => Smb2Signer::AesCmac(Box::new(
                <Cmac<Aes128> as KeyInit>::new_from_slice(key).expect("16-byte key"),
            )),
            MacAlgorithm::AesGmac => Smb2Signer::AesGmac(Box::new(
                Aes128Gcm::new_from_slice(key).expect("16-byte key"),
            )),
        })
    }

    pub fn algorithm(&self) -> MacAlgorithm {
        match self {
            Smb2Signer::HmacSha256(_) => MacAlgorithm::HmacSha256,
            Smb2Signer::AesCmac(_) => MacAlgorithm::AesCmac,
            Smb2Signer::AesGmac(_) => MacAlgorithm::AesGmac,
        }
    }

    /// Signature an SMB2 message should carry. `msg` is the whole message
    /// (from the header to NextCommand or the end); its signature bytes are
    /// ignored. `scratch` is reused for GMAC's contiguous AAD.
    pub fn sign(&self, msg: &[u8], scratch: &mut Vec<u8>) -> Option<[u8; 16]> {
        Smb2Header::peek(msg)?;
        let zero = [0u8; 16];
        let mut out = [0u8; 16];
        match self {
            Smb2Signer::HmacSha256(keyed) => {
                let mut m = keyed.clone();
                m.update(&msg[..SIG.start]);
                m.update(&zero);
                m.update(&msg[SIG.end..]);
                out.copy_from_slice(&m.finalize().into_bytes()[..16]);
            }
            Smb2Signer::AesCmac(keyed) => {
                let mut m = (**keyed).clone();
                m.update(&msg[..SIG.start]);
                m.update(&zero);
                m.update(&msg[SIG.end..]);
                out.copy_from_slice(&m.finalize().into_bytes());
            }
            Smb2Signer::AesGmac(cipher) => {
                scratch.clear();
                scratch.extend_from_slice(msg);
                scratch[SIG].fill(0);
                return gmac_zeroed(cipher, scratch);
            }
        }
        Some(out)
    }
}

/// SMB2 GMAC over a message whose signature field is already zero: the
/// AES-GCM tag of an empty plaintext with the message as AAD.
fn gmac_zeroed(cipher: &Aes128Gcm, msg: &[u8]) -> Option<[u8; 16]> {
    let h = Smb2Header::peek(msg)?;
    // Nonce: MessageId (LE64) || LE32(bit 0 = from the server,
    // bit 1 = CANCEL request).
    let mut role = u32::from(h.is_response());
    if h.command() == Smb2Command::Cancel && !h.is_response() {
        role |= 2;
    }
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(h.message_id_bytes());
    nonce[8..].copy_from_slice(&role.to_le_bytes());
    let mut empty: [u8; 0] = [];
    let tag = cipher
        .encrypt_inout_detached(&Nonce::from(nonce), msg, (&mut empty[..]).into())
        .ok()?;
    Some(tag.into())
}

impl Smb2Signer {
    /// As [`Smb2Signer::sign`], for a message the caller may write to: the
    /// signature field is zeroed where it lies for the MAC and put back
    /// after, so GMAC's AAD is the message itself (no copy).
    pub fn sign_in_place(&self, msg: &mut [u8]) -> Option<[u8; 16]> {
        let Smb2Signer::AesGmac(cipher) = self else {
            return self.sign(msg, &mut Vec::new());
        };
        let sent: [u8; 16] = msg.get(SIG)?.try_into().ok()?;
        msg[SIG].fill(0);
        let out = gmac_zeroed(cipher, msg);
        msg[SIG].copy_from_slice(&sent);
        out
    }
}

/// One-off form of [`Smb2Signer::sign`].
pub fn smb2_signature(
    alg: MacAlgorithm,
    key: &[u8; 16],
    msg: &[u8],
    scratch: &mut Vec<u8>,
) -> Option<[u8; 16]> {
    Smb2Signer::new(alg, key)?.sign(msg, scratch)
}

/// SMB1 signature (MS-SMB 3.1.5.1): MD5(MACKey || message with the 8-byte
/// signature field = LE32(seq) || 0), first 8 bytes.
pub fn smb1_signature(mac_key: &[u8], msg: &[u8], seq: u32) -> Option<[u8; 8]> {
    Smb1Header::peek(msg)?;
    let sig = Smb1Header::SIGNATURE;
    let mut d = Md5::new();
    d.update(mac_key);
    d.update(&msg[..sig.start]);
    d.update(seq.to_le_bytes());
    d.update([0u8; 4]);
    d.update(&msg[sig.end..]);
    let full = d.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&full[..8]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::hex;

    // SMBLibrary's SMB2SigningTests.cs known answers (docs/signing.md).
    fn vector_message(session_byte: u8) -> Vec<u8> {
        let mut m = hex(
            "fe534d4240000100280100c00b00070009000000000000000400000000000000fffe0000010000000100000000040000",
        );
        m[40] = session_byte;
        m.extend_from_slice(&[0u8; 16]);
        m.extend_from_slice(&hex("0900000000000000ff"));
        m
    }

    #[test]
    fn hmac_sha256_vectors() {
        let mut s = Vec::new();
        let key: [u8; 16] = hex("D38354CC374339F0524F789146789921").try_into().unwrap();
        let m = vector_message(0x01);
        assert_eq!(m.len(), 73);
        let sig = smb2_signature(MacAlgorithm::HmacSha256, &key, &m, &mut s).unwrap();
        assert_eq!(sig.to_vec(), hex("fbd284340324c62fbebb65dd1051f3ae"));
        let key: [u8; 16] = hex("04E707571F8E0353B77A94C3653B87B5").try_into().unwrap();
        let sig = smb2_signature(
            MacAlgorithm::HmacSha256,
            &key,
            &vector_message(0x05),
            &mut s,
        )
        .unwrap();
        assert_eq!(sig.to_vec(), hex("a164ffe53d6811981f386772e387e06f"));
    }

    fn session_setup_response() -> Vec<u8> {
        hex(
            "FE534D4240000100000000000100010009000000000000000200000000000000
             00000000000000004D00002000700000 73F2CC56093ED2B5D710666CE4282DD1
             0900000048000900A1073005A0030A0100"
                .split_whitespace()
                .collect::<String>()
                .as_str(),
        )
    }

    #[test]
    fn cmac_vector() {
        let key: [u8; 16] = hex("7abdea9fca36c3f1eb5f195b03841c24").try_into().unwrap();
        let m = session_setup_response();
        let sig = smb2_signature(MacAlgorithm::AesCmac, &key, &m, &mut Vec::new()).unwrap();
        assert_eq!(sig.to_vec(), hex("73F2CC56093ED2B5D710666CE4282DD1"));
    }

    // A regression value (no published GMAC vector exists; docs/signing.md):
    // nonce 0200000000000000 01000000.
    #[test]
    fn gmac_vector() {
        let key: [u8; 16] = hex("73FE7A9A77BEF0BDE49C650D8CCB5F76").try_into().unwrap();
        let m = session_setup_response();
        let sig = smb2_signature(MacAlgorithm::AesGmac, &key, &m, &mut Vec::new()).unwrap();
        assert_eq!(sig.to_vec(), hex("3db72f98119bab0790e5096f83b718cb"));
    }

    #[test]
    fn in_place_signatures_equal_copied_ones_and_leave_the_message() {
        let mut m = session_setup_response();
        let before = m.clone();
        for alg in [
            MacAlgorithm::HmacSha256,
            MacAlgorithm::AesCmac,
            MacAlgorithm::AesGmac,
        ] {
            let signer = Smb2Signer::new(alg, &[7; 16]).unwrap();
            let copied = signer.sign(&m, &mut Vec::new());
            assert_eq!(signer.sign_in_place(&mut m), copied, "{alg:?}");
            assert_eq!(m, before);
        }
        let signer = Smb2Signer::new(MacAlgorithm::AesGmac, &[7; 16]).unwrap();
        assert!(signer.sign_in_place(&mut [0u8; 63]).is_none());
    }

    #[test]
    fn short_messages_have_no_signature() {
        assert!(
            smb2_signature(MacAlgorithm::AesCmac, &[0; 16], &[0; 63], &mut Vec::new()).is_none()
        );
        assert!(smb1_signature(&[0; 16], &[0; 31], 0).is_none());
    }
}
