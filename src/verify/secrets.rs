//! The secrets a user gives, as the CLI's flags and the Python package's
//! keywords name them, turned into `Credentials` in one place.
#![forbid(unsafe_code)]

use super::Credentials;
use std::path::PathBuf;

/// Secrets as given: `USER:PASSWORD`, `USER:NTHASH`, `SESSIONID:KEY`
/// entries, keytab files and a credentials file. (No `Debug`: it holds
/// passwords.)
#[derive(Clone, Default)]
pub struct Secrets {
    pub passwords: Vec<String>,
    pub nt_hashes: Vec<String>,
    pub session_keys: Vec<String>,
    pub keytabs: Vec<PathBuf>,
    pub credentials_file: Option<PathBuf>,
}

impl Secrets {
    /// The credentials, or an error naming the entry kind or file that is
    /// wrong (never the secret itself).
    pub fn credentials(&self) -> Result<Credentials, String> {
        let mut c = Credentials::default();
        for p in &self.passwords {
            c.add_password(p).map_err(|e| e.to_string())?;
        }
        for h in &self.nt_hashes {
            c.add_nt_hash(h).map_err(|e| e.to_string())?;
        }
        for k in &self.session_keys {
            c.add_session_key(k).map_err(|e| e.to_string())?;
        }
        for path in &self.keytabs {
            c.add_keytab_file(path).map_err(|e| e.to_string())?;
        }
        if let Some(path) = &self.credentials_file {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            c.add_file_text(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(c)
    }
}
