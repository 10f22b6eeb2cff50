//! Weak authentication: NTLMv1 and LM responses, and passwords sent in
//! clear, from NTLMSSP AUTHENTICATE messages and SMB1 logons without
//! extended security; Kerberos with RC4-HMAC, from logons whose ticket was
//! decrypted. An NTLMv1 response to a known challenge can be
//! turned into the NT hash (the challenge is fixed by whoever answers the
//! NEGOTIATE), and an LM response is weaker still.

use super::finding::{Finding, FindingCode};
use super::kb::{self, Side};
use super::rules::frame_list;
use crate::conn::Connection;
use crate::wire::kerberos::Etype;

/// Frames named per finding.
const MAX_FRAMES: usize = 8;

pub(super) fn weak_auth(c: &Connection, f: &mut Vec<Finding>) {
    let ntlmssp = c
        .ntlm
        .iter()
        .filter_map(|l| l.auth.as_ref())
        .filter(|a| !a.anonymous)
        .map(|a| (a.frame, a.responses, false));
    let legacy = c.legacy.iter().map(|l| (l.frame, l.responses, l.plaintext));
    let (mut v1, mut lm, mut clear) = (Vec::new(), Vec::new(), Vec::new());
    for (frame, kinds, plaintext) in ntlmssp.chain(legacy) {
        for (hit, list) in [
            (kinds.ntlmv1, &mut v1),
            (kinds.lm, &mut lm),
            (plaintext, &mut clear),
        ] {
            if hit && list.len() < MAX_FRAMES {
                list.push(frame);
            }
        }
    }
    let found = |code, frames: &[u64], what: &str| {
        Finding::new(
            code,
            format!(
                "{what} (frames {})",
                frame_list(frames, frames.len() as u64)
            ),
        )
        .frames(frames)
        .fix(Side::Client, kb::lm_compat_fix(Side::Client))
        .fix(Side::Server, kb::lm_compat_fix(Side::Server))
    };
    if !v1.is_empty() {
        f.push(found(
            FindingCode::Ntlmv1InUse,
            &v1,
            "the client logged on with an NTLMv1 response (24 bytes); with the challenge, which \
             anyone answering the NEGOTIATE chooses, it can be cracked or turned into the NT hash",
        ));
    }
    if !lm.is_empty() {
        f.push(found(
            FindingCode::LmResponseSent,
            &lm,
            "the client sent an LM response (DES of the uppercased, 14-character password \
             hash); it is cracked in minutes",
        ));
    }
    if !clear.is_empty() {
        f.push(found(
            FindingCode::PlaintextPassword,
            &clear,
            "the client sent its password in clear text: the server's SecurityMode asked for no \
             challenge response",
        ));
    }
}

/// Kerberos logons that used RC4-HMAC (known once their ticket was
/// decrypted with a keytab or the KDC exchange).
pub(super) fn kerberos_rc4(c: &Connection, f: &mut Vec<Finding>) {
    let Some(v) = c.verify.as_ref() else {
        return;
    };
    let rc4: Vec<(u64, String)> = c
        .sessions
        .iter()
        .filter_map(|s| {
            let k = v.kerberos(s.id)?;
            k.rc4.then(|| {
                let etypes = [k.ticket_etype, k.session_etype]
                    .map(|e| Etype(e).name())
                    .join(", ");
                (s.id, format!("{} (ticket, session key: {etypes})", k.user))
            })
        })
        .collect();
    if rc4.is_empty() {
        return;
    }
    let who: Vec<String> = rc4.iter().map(|(id, w)| format!("0x{id:x} {w}")).collect();
    f.push(
        Finding::new(
            FindingCode::KerberosRc4,
            format!(
                "Kerberos logon(s) used RC4-HMAC (etype 23, deprecated: its key is the NT hash, and \
                 its tickets can be cracked offline): sessions {}",
                who.join("; ")
            ),
        )
        .evidence("enctype", Etype::Rc4Hmac.name(), Etype::Aes256CtsHmacSha196.name())
        .fix(Side::Client, kb::kerberos_aes_fix(Side::Client))
        .fix(Side::Server, kb::kerberos_aes_fix(Side::Server)),
    );
}
