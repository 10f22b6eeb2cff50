//! Session setup, for both families: what a request tells (user,
//! mechanism, null logon) is kept until its response names the session,
//! and one `finish_session_setup` applies the response.

use super::model::{AuthMechanism, Connection};
use crate::wire::NtStatus;
use crate::wire::kerberos::ap_req_service;
use crate::wire::smb2::Smb2Dialect;
use crate::wire::spnego::{Krb5TokenKind, Mechanism, blob_mechanism, krb5_message};

/// Outstanding session-setup requests remembered per connection.
const MAX_PENDING: usize = 64;

/// What the session setup request of a message id told us, kept until its
/// response names the session.
#[derive(Debug, Clone, Default)]
pub(crate) struct PendingSetup {
    pub message_id: u64,
    pub user: Option<String>,
    pub mechanism: Option<(AuthMechanism, Option<String>)>,
    pub anonymous: bool,
    /// Kerberos: the service its AP-REQ's ticket is for.
    pub service_principal: Option<String>,
    /// SMB2: the request's SecurityMode.
    pub smb2_security_mode: Option<crate::wire::Smb2SecurityMode>,
}

impl PendingSetup {
    pub fn new(message_id: u64) -> Self {
        PendingSetup {
            message_id,
            ..Default::default()
        }
    }

    /// Mechanism, user and anonymity from a request's security blob and
    /// the AUTHENTICATE the connection read from it (read once, in
    /// `ntlm_on_request`).
    pub fn describe_blob(&mut self, blob: &[u8], auth: Option<&super::ntlm::NtlmAuth>) {
        if let Some(m) = blob_mechanism(blob) {
            if m == Mechanism::Kerberos
                && let Some((Krb5TokenKind::ApReq, der)) = krb5_message(blob)
            {
                self.service_principal = ap_req_service(der);
            }
            self.mechanism = Some(mechanism_of(&m));
        }
        if let Some(a) = auth {
            self.anonymous = a.anonymous;
            if a.has_user {
                self.user = Some(a.user.clone());
            }
        }
    }
}

/// The session's mechanism, and the OID that named it.
pub(crate) fn mechanism_of(m: &Mechanism) -> (AuthMechanism, Option<String>) {
    let kind = match m {
        Mechanism::Ntlmssp => AuthMechanism::Ntlmssp,
        Mechanism::Kerberos => AuthMechanism::Kerberos,
        Mechanism::Iakerb => AuthMechanism::Iakerb,
        Mechanism::Negoex => AuthMechanism::Negoex,
        Mechanism::Other(_) => AuthMechanism::Other,
    };
    (kind, m.oid())
}

pub(crate) fn join_user(domain: &str, user: &str) -> String {
    if domain.is_empty() {
        return user.to_owned();
    }
    let mut s = String::with_capacity(domain.len() + 1 + user.len());
    s.push_str(domain);
    s.push('\\');
    s.push_str(user);
    s
}

/// A SESSION_SETUP response, as either family's decoder read it.
pub(super) struct SetupResponse<'a> {
    pub smb1: bool,
    pub session_id: u64,
    pub message_id: u64,
    pub status: NtStatus,
    /// The whole message (SMB2: the 3.1.1 preauth hash covers it); empty
    /// for SMB1.
    pub msg: &'a [u8],
    /// Security blob of the response (empty when there is none).
    pub blob: &'a [u8],
    pub guest: bool,
    pub null: bool,
    pub encrypt_data: bool,
    /// The response could be decoded (its flags are meaningful).
    pub decoded: bool,
    /// The family's rule says signing is in force once it succeeds.
    pub signing_negotiated: bool,
}

impl Connection {
    /// A SESSION_SETUP request: remember what it says until its response,
    /// and tell a session that already exists (later legs of an exchange).
    pub(super) fn begin_session_setup(&mut self, session_id: u64, smb1: bool, p: PendingSetup) {
        self.counts.session_setup_requests += 1;
        if session_id != 0
            && let Some(s) = self.session_mut(session_id, smb1)
        {
            apply_pending(s, &p);
        }
        if self.pending.len() >= MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(p);
    }

    /// Apply a SESSION_SETUP response to its session. Returns true when the
    /// session was established with signing in force.
    pub(super) fn finish_session_setup(&mut self, frame: u64, r: SetupResponse<'_>) -> bool {
        let pending = self
            .pending
            .iter()
            .position(|p| p.message_id == r.message_id)
            .map(|k| self.pending.remove(k));
        self.ntlm_on_response(frame, r.session_id, r.status, r.blob);
        let dialect: Option<Smb2Dialect> = self.dialect.as_ref().and_then(|d| d.smb2());
        if let Some(v) = self.verify.as_mut() {
            let guestish = r.guest || r.null || pending.as_ref().is_some_and(|p| p.anonymous);
            v.on_setup_response(
                r.session_id,
                r.message_id,
                r.status,
                r.msg,
                r.blob,
                dialect,
                guestish,
            );
        }
        if r.session_id == 0 && !r.smb1 {
            return false;
        }
        let Some(s) = self.session_mut(r.session_id, r.smb1) else {
            return false;
        };
        if let Some(p) = &pending {
            apply_pending(s, p);
        }
        if r.decoded {
            s.guest |= r.guest;
            s.anonymous |= r.null;
            s.encrypted |= r.encrypt_data;
            s.encrypt_data |= r.encrypt_data;
            if s.mechanism == AuthMechanism::Unknown
                && let Some(m) = blob_mechanism(r.blob)
            {
                (s.mechanism, s.mechanism_oid) = mechanism_of(&m);
            }
        }
        if r.status == NtStatus::Success {
            s.established_frame = Some(frame);
            s.failed_status = None;
            let setup_requires = pending
                .as_ref()
                .and_then(|p| p.smb2_security_mode)
                .is_some_and(|m| m.signing_required());
            s.signing_required =
                (r.signing_negotiated || setup_requires) && !s.guest && !s.anonymous;
            s.signing_required
        } else {
            if r.status != NtStatus::MoreProcessingRequired {
                s.failed_status = Some(r.status);
            }
            false
        }
    }
}

fn apply_pending(s: &mut super::model::Session, p: &PendingSetup) {
    if let Some((m, oid)) = &p.mechanism {
        s.mechanism = *m;
        s.mechanism_oid.clone_from(oid);
    }
    if p.user.is_some() {
        s.user.clone_from(&p.user);
    }
    if p.anonymous {
        s.anonymous = true;
    }
    if p.service_principal.is_some() {
        s.service_principal.clone_from(&p.service_principal);
    }
}
