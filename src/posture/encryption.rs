//! What SMB3 encryption did for a connection: requests sent in clear on a
//! session or share that encrypts, and encryption negotiated but never
//! used.

use super::finding::{Finding, FindingCode};
use super::kb::{self, Side};
use super::report::session_id_string;
use super::rules::frame_list;
use crate::conn::Connection;
use crate::wire::smb2::SMB2_GLOBAL_CAP_ENCRYPTION;

pub(super) fn encryption(c: &Connection, f: &mut Vec<Finding>) {
    // A session seen encrypting whose requests also went in clear. A
    // capture whose encrypted traffic a tool already decrypted shows no
    // TRANSFORM at all, and is not this.
    for s in c
        .sessions
        .iter()
        .filter(|s| s.transforms > 0 && s.cleartext_requests > 0)
    {
        f.push(
            Finding::new(
                FindingCode::UnencryptedInEncryptedSession,
                format!(
                    "session {} must be encrypted (its session flags or a share's said so, and {} \
                     TRANSFORM messages were sent), yet {} request(s) went in clear (frames {}): \
                     whoever sent them could read and alter them",
                    session_id_string(s.id, s.smb1),
                    s.transforms,
                    s.cleartext_requests,
                    frame_list(&s.cleartext_frames, s.cleartext_requests)
                ),
            )
            .frames(&s.cleartext_frames)
            .fix(Side::Server, kb::reject_unencrypted_fix()),
        );
    }
    let negotiated = encryption_offered(c);
    let logged_on = c
        .sessions
        .iter()
        .any(|s| s.established() && !s.guest && !s.anonymous);
    if negotiated && logged_on && c.counts.encrypted == 0 {
        let cipher = c
            .server
            .cipher
            .map(|x| format!(" ({})", x.name()))
            .unwrap_or_default();
        // Info, with no fix: encryption is a choice, not a setting the KB
        // calls misconfigured (`server smb encrypt = required`, or
        // Set-SmbServerConfiguration -EncryptData $true, turns it on).
        f.push(Finding::new(
            FindingCode::EncryptionNotUsed,
            format!(
                "both sides can encrypt{cipher}, but no message was encrypted: the traffic, \
                 file data included, went in clear (Samba: server smb encrypt = required; \
                 Windows: Set-SmbServerConfiguration -EncryptData $true)"
            ),
        ));
    }
}

/// The server offered SMB3 encryption: the capability (3.0, 3.0.2) or a
/// cipher (3.1.1), on an SMB 3.x connection only (the SMB1 capabilities
/// share the field, and 0x40 means another thing there).
pub fn encryption_offered(c: &Connection) -> bool {
    let smb3 = c
        .dialect
        .as_ref()
        .and_then(|d| d.smb2())
        .is_some_and(|d| d.0 >= 0x0300);
    smb3 && (c.server.cipher.is_some()
        || c.server
            .capabilities
            .is_some_and(|x| x & SMB2_GLOBAL_CAP_ENCRYPTION != 0))
}
