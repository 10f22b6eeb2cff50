//! Signature verification: NTLM session keys from a captured NTLMSSP
//! exchange and user-given secrets, SMB3 key derivation and the 3.1.1
//! preauth integrity hash, and the MAC of every dialect. Pure functions over
//! bytes: connection state decides what to verify and keeps the verdicts.
//! Every primitive is a RustCrypto crate; comparisons are constant-time.
#![forbid(unsafe_code)]

pub mod batch;
pub mod decompress;
pub mod decrypt;
pub mod kdf;
pub mod kerberos;
mod kerberos_fast;
pub mod keytab;
pub mod mac;
pub mod ntlm;
mod secrets;
pub mod state;

pub use batch::{MacBatch, MacJob};
pub use ntlm::UserHashes;
pub use secrets::Secrets;
pub use state::{KeyState, Signing, TransformVerdict, Verdict};

use std::collections::HashMap;

/// Secrets a user gives smbsign to verify signatures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Users' hashes: from `--password USER:PASS` (hashed) or `--nt-hash`.
    pub users: Vec<UserSecret>,
    /// Session keys by session id (SMB2 SessionId, SMB1 UID): 16 or 32
    /// bytes, as Wireshark's SMB2 session key table.
    pub session_keys: HashMap<u64, Vec<u8>>,
    /// Service keys from keytabs (`--keytab`), for Kerberos tickets.
    pub keytab: Vec<keytab::KeytabKey>,
    /// Ticket session keys learnt from KDC exchanges, by the ticket's
    /// cipher text. Filled through a shared reference (`insert` takes
    /// `&self`), so that a scan learning as it reads the KDC exchange
    /// reaches connections already open, which hold the same
    /// `Arc<Credentials>`. Bounded by `MAX_TICKETS`.
    pub tickets: TicketStore,
}

/// The tickets learnt from KDC exchanges. A clone is a copy.
#[derive(Debug, Default)]
pub struct TicketStore(std::sync::RwLock<HashMap<Vec<u8>, kerberos::Learnt>>);

impl Clone for TicketStore {
    fn clone(&self) -> Self {
        let map = self.0.read().map(|m| m.clone()).unwrap_or_default();
        TicketStore(std::sync::RwLock::new(map))
    }
}

impl TicketStore {
    pub fn get(&self, cipher: &[u8]) -> Option<kerberos::Learnt> {
        self.0.read().ok()?.get(cipher).cloned()
    }

    /// File what was learnt of a ticket; false when the store is full.
    pub fn insert(&self, cipher: Vec<u8>, learnt: kerberos::Learnt) -> bool {
        let Ok(mut map) = self.0.write() else {
            return false;
        };
        if map.len() >= MAX_TICKETS && !map.contains_key(&cipher) {
            return false;
        }
        map.insert(cipher, learnt);
        true
    }

    pub fn len(&self) -> usize {
        self.0.read().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PartialEq for TicketStore {
    fn eq(&self, other: &Self) -> bool {
        let (Ok(a), Ok(b)) = (self.0.read(), other.0.read()) else {
            return false;
        };
        *a == *b
    }
}

impl Eq for TicketStore {}

/// Ticket session keys remembered from KDC exchanges.
pub const MAX_TICKETS: usize = 4096;

/// One user's secrets. The password itself is never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSecret {
    /// `DOMAIN\user` or `user`; matched case-insensitively.
    pub user: String,
    pub nt_hash: [u8; 16],
    /// The LM hash, from a password that has one (at most 14 ASCII
    /// characters); LM responses and LM-derived keys need it.
    pub lm_hash: Option<[u8; 16]>,
    /// The password itself, for Kerberos string-to-key (whose salt is only
    /// known from the KDC exchange). Never printed.
    pub password: Option<Password>,
}

/// A password held for Kerberos. Its Debug output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Why a credentials line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialError(pub String);

impl std::fmt::Display for CredentialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CredentialError {}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) || s.is_empty() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|k| u8::from_str_radix(s.get(k..k + 2)?, 16).ok())
        .collect()
}

impl Credentials {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.session_keys.is_empty() && self.keytab.is_empty()
    }

    /// `USER:PASSWORD` (USER may be `DOMAIN\user`; the password may
    /// contain ':').
    pub fn add_password(&mut self, spec: &str) -> Result<(), CredentialError> {
        // Errors never repeat the entry: it may hold a secret.
        let (user, password) = spec.split_once(':').ok_or_else(|| {
            CredentialError("password entry: wants USER:PASSWORD, found no ':'".into())
        })?;
        self.users.push(UserSecret {
            user: user.to_string(),
            nt_hash: ntlm::nt_hash(password),
            lm_hash: ntlm::lm_hash(password),
            password: Some(Password(password.to_string())),
        });
        Ok(())
    }

    /// `USER:HEX32` (an NT hash, 16 bytes in hex).
    pub fn add_nt_hash(&mut self, spec: &str) -> Result<(), CredentialError> {
        let (user, hex) = spec.rsplit_once(':').ok_or_else(|| {
            CredentialError("nt-hash entry: wants USER:HEX32, found no ':'".into())
        })?;
        let bytes = unhex(hex).filter(|b| b.len() == 16).ok_or_else(|| {
            CredentialError(format!(
                "nt-hash entry for {user:?}: the hash is not 32 hex digits ({} characters)",
                hex.len()
            ))
        })?;
        let mut h = [0u8; 16];
        h.copy_from_slice(&bytes);
        self.users.push(UserSecret {
            user: user.to_string(),
            nt_hash: h,
            lm_hash: None,
            password: None,
        });
        Ok(())
    }

    /// `SESSIONID:HEX` with the session id as the JSON shows it (`0x…`, or
    /// plain hex) and a 16- or 32-byte key.
    pub fn add_session_key(&mut self, spec: &str) -> Result<(), CredentialError> {
        let (id, key) = spec.split_once(':').ok_or_else(|| {
            CredentialError("session-key entry: wants SESSIONID:HEX, found no ':'".into())
        })?;
        let id = u64::from_str_radix(id.trim().trim_start_matches("0x"), 16).map_err(|_| {
            CredentialError(format!(
                "session-key entry: the session id {id:?} is not hex"
            ))
        })?;
        let key = unhex(key)
            .filter(|k| k.len() == 16 || k.len() == 32)
            .ok_or_else(|| {
                CredentialError(format!(
                    "session-key entry for session 0x{id:x}: the key is not 32 or 64 hex digits ({} characters)",
                    key.len()
                ))
            })?;
        self.session_keys.insert(id, key);
        Ok(())
    }

    /// The keys of an MIT keytab file's bytes.
    pub fn add_keytab_bytes(&mut self, bytes: &[u8]) -> Result<(), CredentialError> {
        let keys = keytab::parse_keytab(bytes).map_err(|e| CredentialError(e.to_string()))?;
        if keys.is_empty() {
            return Err(CredentialError("the keytab holds no keys".into()));
        }
        self.keytab.extend(keys);
        Ok(())
    }

    /// The keys of an MIT keytab file.
    pub fn add_keytab_file(&mut self, path: &std::path::Path) -> Result<(), CredentialError> {
        let shown = path.display();
        let len = std::fs::metadata(path)
            .map_err(|e| CredentialError(format!("keytab {shown}: {e}")))?
            .len();
        if len > keytab::MAX_KEYTAB_BYTES as u64 {
            return Err(CredentialError(format!(
                "keytab {shown}: {len} bytes (at most {} are read)",
                keytab::MAX_KEYTAB_BYTES
            )));
        }
        let bytes =
            std::fs::read(path).map_err(|e| CredentialError(format!("keytab {shown}: {e}")))?;
        self.add_keytab_bytes(&bytes)
            .map_err(|e| CredentialError(format!("keytab {shown}: {e}")))
    }

    /// The session key of a ticket learnt from a KDC exchange.
    pub fn ticket_session(&self, cipher: &[u8]) -> Option<kerberos::Learnt> {
        self.tickets.get(cipher)
    }

    /// Whether a KDC exchange could teach these credentials anything (a
    /// password is there for string-to-key).
    pub fn learns_from_kdc(&self) -> bool {
        self.users.iter().any(|u| u.password.is_some())
    }

    /// A credentials file: one `password USER:PASS`, `nt-hash USER:HEX`,
    /// `session-key ID:HEX` or `keytab PATH` per line; `#` comments and
    /// blank lines ignored.
    pub fn add_file_text(&mut self, text: &str) -> Result<(), CredentialError> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (kind, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let rest = rest.trim();
            let r = match kind {
                "password" => self.add_password(rest),
                "nt-hash" => self.add_nt_hash(rest),
                "session-key" => self.add_session_key(rest),
                "keytab" => self.add_keytab_file(std::path::Path::new(rest)),
                other => Err(CredentialError(format!(
                    "unknown entry kind {other:?} (password, nt-hash, session-key or keytab)"
                ))),
            };
            r.map_err(|e| CredentialError(format!("line {}: {e}", n + 1)))?;
        }
        Ok(())
    }

    /// Hashes that may belong to `domain\user` (case-insensitive; an
    /// entry without a domain matches any domain).
    pub fn hashes_for<'a>(
        &'a self,
        domain: &'a str,
        user: &'a str,
    ) -> impl Iterator<Item = UserHashes<'a>> + 'a {
        self.users.iter().filter_map(move |s| {
            let who = s.user.as_str();
            let (d, u) = who.split_once('\\').unwrap_or(("", who));
            let user_ok = u.eq_ignore_ascii_case(user);
            let dom_ok = d.is_empty() || d.eq_ignore_ascii_case(domain);
            (user_ok && dom_ok).then_some(UserHashes {
                nt: &s.nt_hash,
                lm: s.lm_hash.as_ref(),
            })
        })
    }
}

/// Constant-time equality of two MACs.
pub fn mac_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
pub(crate) fn hex(s: &str) -> Vec<u8> {
    unhex(&s.chars().filter(|c| !c.is_whitespace()).collect::<String>()).expect("hex")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_specs() {
        let mut c = Credentials::default();
        c.add_password("LAB\\smblab:Pass:w0rd").unwrap();
        c.add_nt_hash("bob:a4f49c406510bdcab6824ee7c30fd852")
            .unwrap();
        c.add_session_key("0x00000000fa3dfb19:000102030405060708090a0b0c0d0e0f")
            .unwrap();
        assert_eq!(c.hashes_for("lab", "SMBLAB").count(), 1);
        assert_eq!(c.hashes_for("OTHER", "smblab").count(), 0);
        assert_eq!(c.hashes_for("ANY", "Bob").count(), 1);
        assert_eq!(c.session_keys[&0xfa3d_fb19].len(), 16);
        assert!(c.add_nt_hash("bob:abc").is_err());
        // Errors name the entry and the field, never the secret.
        let e = c
            .add_nt_hash("bob:0123456789abcdef0123456789abcde")
            .unwrap_err()
            .0;
        assert!(
            e.contains("nt-hash") && e.contains("bob") && !e.contains("0123456789"),
            "{e}"
        );
        let e = c.add_password("no-colon-secret").unwrap_err().0;
        assert!(!e.contains("no-colon-secret"), "{e}");
        let e = c.add_session_key("0x5:abcdefabcdef").unwrap_err().0;
        assert!(e.contains("0x5") && !e.contains("abcdef"), "{e}");
        assert!(c.add_session_key("zz:00").is_err());
        assert!(
            c.add_file_text("password x:y\nbogus 1\n")
                .unwrap_err()
                .0
                .contains("line 2")
        );
    }
}
