//! SMB3 decryption (MS-SMB2 3.1.4.3, 3.2.5.1.1.1): a TRANSFORM message is
//! the 52-byte header, then the encrypted message. The AEAD's tag is the
//! header's Signature (offset 4, 16 bytes), its nonce the first 11 (CCM)
//! or 12 (GCM) bytes of the Nonce field (offset 20), and its associated
//! data the header from offset 20 to 52. RustCrypto's `ccm` and `aes-gcm`
//! over its `aes`; a tag that does not verify gives no plaintext.

use aes::{Aes128, Aes256};
use aes_gcm::aead::consts::{U11, U16};
use aes_gcm::{AeadInOut, Aes128Gcm, Aes256Gcm, KeyInit};
use ccm::Ccm;

use crate::wire::smb2::{Cipher, SMB2_TRANSFORM_HEADER_LEN};

type Aes128Ccm = Ccm<Aes128, U16, U11>;
type Aes256Ccm = Ccm<Aes256, U16, U11>;

/// A keyed SMB3 cipher, prepared once per session and direction.
#[derive(Clone)]
pub enum Decryptor {
    Aes128Ccm(Box<Aes128Ccm>),
    Aes128Gcm(Box<Aes128Gcm>),
    Aes256Ccm(Box<Aes256Ccm>),
    Aes256Gcm(Box<Aes256Gcm>),
}

impl std::fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "Decryptor({})", self.cipher().name())
    }
}

/// Why a TRANSFORM message gave no plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecryptError {
    /// The tag does not verify: the message (or its header) was altered,
    /// or the key is not this session's.
    BadTag,
    /// Shorter than its header says (the capture kept a prefix).
    Truncated,
}

impl Decryptor {
    /// The cipher keyed with `key` (16 bytes for AES-128, 32 for AES-256).
    pub fn new(cipher: Cipher, key: &[u8]) -> Option<Self> {
        Some(match cipher {
            Cipher::Aes128Ccm => {
                Decryptor::Aes128Ccm(Box::new(Aes128Ccm::new_from_slice(key).ok()?))
            }
            Cipher::Aes128Gcm => {
                Decryptor::Aes128Gcm(Box::new(Aes128Gcm::new_from_slice(key).ok()?))
            }
            Cipher::Aes256Ccm => {
                Decryptor::Aes256Ccm(Box::new(Aes256Ccm::new_from_slice(key).ok()?))
            }
            Cipher::Aes256Gcm => {
                Decryptor::Aes256Gcm(Box::new(Aes256Gcm::new_from_slice(key).ok()?))
            }
            _ => return None,
        })
    }

    pub fn cipher(&self) -> Cipher {
        match self {
            Decryptor::Aes128Ccm(_) => Cipher::Aes128Ccm,
            Decryptor::Aes128Gcm(_) => Cipher::Aes128Gcm,
            Decryptor::Aes256Ccm(_) => Cipher::Aes256Ccm,
            Decryptor::Aes256Gcm(_) => Cipher::Aes256Gcm,
        }
    }

    /// The plaintext of a whole TRANSFORM message (`msg` starts at its
    /// 0xFD 'SMB'), after its tag verified.
    pub fn decrypt(&self, msg: &[u8], original_size: usize) -> Result<Vec<u8>, DecryptError> {
        let h = SMB2_TRANSFORM_HEADER_LEN;
        let mut copy = msg
            .get(..h + original_size)
            .ok_or(DecryptError::Truncated)?
            .to_vec();
        self.decrypt_in_place(&mut copy, original_size)?;
        copy.drain(..h);
        Ok(copy)
    }

    /// Decrypt a whole TRANSFORM message where it lies: once its tag
    /// verified, `msg[52..52 + original_size]` holds the plaintext (on a
    /// bad tag the body is left as it was).
    pub fn decrypt_in_place(
        &self,
        msg: &mut [u8],
        original_size: usize,
    ) -> Result<(), DecryptError> {
        let h = SMB2_TRANSFORM_HEADER_LEN;
        if msg.len() < h + original_size {
            return Err(DecryptError::Truncated);
        }
        let (header, rest) = msg.split_at_mut(h);
        let tag: [u8; 16] = header[4..20].try_into().expect("16 bytes");
        let aad = &header[20..h];
        let n11: &[u8; 11] = header[20..31].try_into().expect("11 bytes");
        let n12: &[u8; 12] = header[20..32].try_into().expect("12 bytes");
        let out = (&mut rest[..original_size]).into();
        let tag = (&tag).into();
        let ok = match self {
            Decryptor::Aes128Ccm(c) => c.decrypt_inout_detached(n11.into(), aad, out, tag),
            Decryptor::Aes256Ccm(c) => c.decrypt_inout_detached(n11.into(), aad, out, tag),
            Decryptor::Aes128Gcm(c) => c.decrypt_inout_detached(n12.into(), aad, out, tag),
            Decryptor::Aes256Gcm(c) => c.decrypt_inout_detached(n12.into(), aad, out, tag),
        }
        .is_ok();
        if ok {
            Ok(())
        } else {
            Err(DecryptError::BadTag)
        }
    }
}
