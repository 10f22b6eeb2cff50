//! Per-connection signing state for verification: the secrets each
//! session's authentication exposes (NTLMSSP messages, the 3.1.1 preauth
//! hash chain), the keys derived from them with the user's credentials, the
//! SMB1 sequence numbers, and the verdict of every signed message. Exists
//! only when credentials were given.

use crate::verify::decrypt::{DecryptError, Decryptor};
use crate::verify::kdf;
use crate::verify::kerberos::{self, KerberosError};
use crate::verify::mac::{self, Smb2Signer};
use crate::verify::ntlm::{self, LegacyKey, LegacyLogon, NtlmKey};
use crate::verify::{Credentials, mac_eq};
use crate::wire::NtStatus;
use crate::wire::ntlmssp::{NtlmsspRecord, ntlmssp_token, parse_ntlmssp};
use crate::wire::smb2::{Cipher, Smb2Dialect};
use crate::wire::spnego::{Krb5TokenKind, krb5_message};
use crate::wire::{MacAlgorithm, Smb1Header, Smb2Header};
use std::collections::HashMap;
use std::sync::Arc;

/// Per-connection tables keyed by session ids the capture chose: ahash,
/// because SipHash showed in the profile of many short connections.
type Map<K, V> = HashMap<K, V, ahash::RandomState>;

/// Signature verdict of one message (docs/signing.md, verdicts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No credentials were given: nothing was checked.
    NotVerified,
    /// The MAC matches.
    Valid,
    /// Signing in force, key known, MAC does not match.
    Forged,
    /// Not signed although signing was in force.
    UnsignedWhileRequired,
    /// Exempt from signing (negotiate, interim responses, oplock breaks…).
    Exempt,
    /// Signed, but no key is known for its session.
    NoKey,
    /// Not signed, and nothing required it.
    NotSigned,
    /// Signed, key known, but the capture holds only part of the message.
    Unverifiable,
    /// The MAC was left to another thread (`Connection::lend_mac_batch`);
    /// the verdict is counted when it comes back.
    Deferred,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::NotVerified => "not-verified",
            Verdict::Valid => "valid",
            Verdict::Forged => "forged",
            Verdict::UnsignedWhileRequired => "unsigned-while-required",
            Verdict::Exempt => "exempt",
            Verdict::NoKey => "no-key",
            Verdict::NotSigned => "not-signed",
            Verdict::Unverifiable => "unverifiable",
            Verdict::Deferred => "deferred",
        }
    }
}

/// Where a session's key stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// Authentication not finished yet.
    Pending,
    /// Keys ready: SMB2 signing key, SMB1 MAC key.
    Ready {
        signing_key: [u8; 16],
        session_key: [u8; 16],
    },
    /// No key: no matching credentials, Kerberos without a session key…
    NoKey(&'static str),
    /// The given password / NT hash does not match the NTLM exchange.
    WrongCredentials,
}

#[derive(Debug, Clone)]
struct Secrets {
    preauth: Option<[u8; 64]>,
    negotiate: Vec<u8>,
    challenge: Vec<u8>,
    authenticate: Vec<u8>,
    key: KeyState,
    mic_ok: Option<bool>,
    /// SMB1 without extended security: the MAC key is the session key
    /// followed by the response (longer than `key`'s 16 bytes).
    smb1_mac_key: Option<Vec<u8>>,
    /// Kerberos: the AP-REQ and AP-REP (DER), and what the logon told.
    krb_ap_req: Vec<u8>,
    krb_ap_rep: Vec<u8>,
    kerberos: Option<KerberosFacts>,
    /// Why the given secrets were judged wrong (which check failed).
    wrong: Option<&'static str>,
    /// The whole session key once derived (32 bytes from Kerberos AES256;
    /// the SMB3 AES-256 cipher keys use all of it).
    full_key: Vec<u8>,
}

/// What a Kerberos logon told once its key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerberosFacts {
    /// `REALM\user`, the client principal of the ticket.
    pub user: String,
    pub ticket_etype: i32,
    pub session_etype: i32,
    /// RC4-HMAC anywhere on the way (ticket, keys, the KDC exchange).
    pub rc4: bool,
}

impl Secrets {
    fn new() -> Self {
        Secrets {
            preauth: None,
            negotiate: Vec::new(),
            challenge: Vec::new(),
            authenticate: Vec::new(),
            key: KeyState::Pending,
            mic_ok: None,
            smb1_mac_key: None,
            krb_ap_req: Vec::new(),
            krb_ap_rep: Vec::new(),
            kerberos: None,
            wrong: None,
            full_key: Vec::new(),
        }
    }
}

/// Why a TRANSFORM message gave no plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransformVerdict {
    /// No key for its session (or its cipher is not known).
    NoKey,
    /// Its tag does not verify: altered in flight.
    BadTag,
    /// The capture kept only part of it.
    Truncated,
}

impl From<DecryptError> for TransformVerdict {
    fn from(e: DecryptError) -> Self {
        match e {
            DecryptError::BadTag => TransformVerdict::BadTag,
            DecryptError::Truncated => TransformVerdict::Truncated,
        }
    }
}

/// Secrets kept per connection are bounded like sessions.
const MAX_SECRETS: usize = 256;
const MAX_PENDING: usize = 64;
/// SMB1: how far from the tracked sequence number a match is accepted
/// (Samba's diagnostics try ±5 too).
const SMB1_SEQ_WINDOW: u32 = 5;

/// Verification state of one connection.
#[derive(Debug, Clone)]
pub struct Signing {
    creds: Arc<Credentials>,
    negotiate_request_hash: Option<[u8; 64]>,
    connection_hash: Option<[u8; 64]>,
    pending_hash: Vec<(u64, [u8; 64])>,
    pending_negotiate: Vec<(u64, Vec<u8>)>,
    secrets: Map<u64, Secrets>,
    /// SMB1: MAC key once signing is active, next request sequence number,
    /// and expected response sequence number per (PID, MID).
    smb1_key: Option<Vec<u8>>,
    /// SMB1 without extended security: the NEGOTIATE response's challenge,
    /// and each SESSION_SETUP_ANDX request's responses by MID until its
    /// response names the UID.
    smb1_challenge: Option<[u8; 8]>,
    pending_legacy: Vec<(u64, LegacyLogon)>,
    /// Kerberos AP-REQs of first session setup requests (session id 0) by
    /// message id, until the response names the session.
    pending_krb: Vec<(u64, Vec<u8>)>,
    smb1_next_seq: u32,
    smb1_responses: Map<(u32, u16), u32>,
    pub smb1_seq_adjusted: u64,
    /// Keyed MACs per session, prepared on first use.
    signers: Map<u64, Arc<Smb2Signer>>,
    /// Keyed SMB3 ciphers per (session, client-to-server), on first use.
    decryptors: Map<(u64, bool), Arc<Decryptor>>,
    scratch: Vec<u8>,
}

fn push_bounded<T>(v: &mut Vec<(u64, T)>, id: u64, item: T) {
    if v.len() >= MAX_PENDING {
        v.remove(0);
    }
    v.retain(|(k, _)| *k != id);
    v.push((id, item));
}

fn take<T>(v: &mut Vec<(u64, T)>, id: u64) -> Option<T> {
    let k = v.iter().position(|(x, _)| *x == id)?;
    Some(v.remove(k).1)
}

impl Signing {
    pub fn new(creds: Arc<Credentials>) -> Self {
        Signing {
            creds,
            negotiate_request_hash: None,
            connection_hash: None,
            pending_hash: Vec::new(),
            pending_negotiate: Vec::new(),
            secrets: Map::default(),
            smb1_key: None,
            smb1_challenge: None,
            pending_legacy: Vec::new(),
            pending_krb: Vec::new(),
            smb1_next_seq: 0,
            smb1_responses: Map::default(),
            smb1_seq_adjusted: 0,
            signers: Map::default(),
            decryptors: Map::default(),
            scratch: Vec::new(),
        }
    }

    /// Use these credentials for the keys derived from now on (sessions
    /// already keyed keep their keys).
    pub fn set_credentials(&mut self, creds: Arc<Credentials>) {
        self.creds = creds;
    }

    fn secrets(&mut self, id: u64) -> Option<&mut Secrets> {
        if !self.secrets.contains_key(&id) && self.secrets.len() >= MAX_SECRETS {
            return None;
        }
        Some(self.secrets.entry(id).or_insert_with(Secrets::new))
    }

    pub fn key_state(&self, session: u64) -> Option<&KeyState> {
        self.secrets.get(&session).map(|s| &s.key)
    }

    /// Sessions whose keys are ready: (session id, Session.SessionKey).
    pub fn session_keys(&self) -> Vec<(u64, [u8; 16])> {
        let mut v: Vec<(u64, [u8; 16])> = self
            .secrets
            .iter()
            .filter_map(|(id, s)| match s.key {
                KeyState::Ready { session_key, .. } => Some((*id, session_key)),
                _ => None,
            })
            .collect();
        v.sort();
        v
    }

    /// Which check judged the session's secrets wrong, when they were.
    pub fn wrong_reason(&self, session: u64) -> Option<&'static str> {
        self.secrets.get(&session).and_then(|s| s.wrong)
    }

    /// The Kerberos facts of a session whose key was found.
    pub fn kerberos(&self, session: u64) -> Option<&KerberosFacts> {
        self.secrets.get(&session).and_then(|s| s.kerberos.as_ref())
    }

    /// The plaintext of a TRANSFORM message of `session` sent the way
    /// `to_server` says, once its tag verified with the session's cipher
    /// key (3.0 and 3.0.2 use AES-128-CCM; 3.1.1 the negotiated `cipher`).
    pub fn decrypt(
        &mut self,
        session: u64,
        dialect: Smb2Dialect,
        cipher: Option<Cipher>,
        to_server: bool,
        msg: &[u8],
        original_size: usize,
    ) -> Result<Vec<u8>, TransformVerdict> {
        let d = self.decryptor(session, dialect, cipher, to_server)?;
        d.decrypt(msg, original_size)
            .map_err(TransformVerdict::from)
    }

    /// The keyed cipher for TRANSFORM messages of `session` sent the way
    /// `to_server` says (made on first use), for decrypting elsewhere.
    pub fn decryptor(
        &mut self,
        session: u64,
        dialect: Smb2Dialect,
        cipher: Option<Cipher>,
        to_server: bool,
    ) -> Result<Arc<Decryptor>, TransformVerdict> {
        if let Some(d) = self.decryptors.get(&(session, to_server)) {
            return Ok(d.clone());
        }
        let s = self.secrets.get(&session).ok_or(TransformVerdict::NoKey)?;
        if !matches!(s.key, KeyState::Ready { .. }) || s.full_key.is_empty() {
            return Err(TransformVerdict::NoKey);
        }
        let cipher = match dialect {
            Smb2Dialect::Smb311 => cipher.ok_or(TransformVerdict::NoKey)?,
            _ => Cipher::Aes128Ccm,
        };
        let (c2s, s2c) = kdf::cipher_keys(&s.full_key, dialect, Some(cipher), s.preauth.as_ref())
            .ok_or(TransformVerdict::NoKey)?;
        let key = if to_server { c2s } else { s2c };
        let d = Arc::new(Decryptor::new(cipher, &key).ok_or(TransformVerdict::NoKey)?);
        if self.decryptors.len() >= MAX_SECRETS * 2 {
            self.decryptors.clear();
        }
        self.decryptors.insert((session, to_server), d.clone());
        Ok(d)
    }

    /// A keyed session's whole key and its 3.1.1 preauth hash (for the
    /// cipher keys `--export-keys` writes).
    pub fn key_material(&self, session: u64) -> Option<(&[u8], Option<&[u8; 64]>)> {
        let s = self.secrets.get(&session)?;
        (!s.full_key.is_empty()).then_some((s.full_key.as_slice(), s.preauth.as_ref()))
    }

    pub fn mic_ok(&self, session: u64) -> Option<bool> {
        self.secrets.get(&session).and_then(|s| s.mic_ok)
    }

    /// SMB2 NEGOTIATE request (whole message): start of the 3.1.1 chain.
    pub fn on_negotiate_request(&mut self, msg: &[u8]) {
        self.negotiate_request_hash = Some(kdf::preauth_update(&[0; 64], msg));
        self.connection_hash = None;
    }

    /// SMB2 NEGOTIATE response: the connection's preauth hash for 3.1.1.
    pub fn on_negotiate_response(&mut self, msg: &[u8], dialect: Smb2Dialect) {
        self.connection_hash = match (dialect, self.negotiate_request_hash) {
            (Smb2Dialect::Smb311, Some(h)) => Some(kdf::preauth_update(&h, msg)),
            _ => None,
        };
    }

    /// SMB1 NEGOTIATE response without extended security: its challenge
    /// (EncryptionKey) is the one every legacy logon answers.
    pub fn on_smb1_challenge(&mut self, challenge: [u8; 8]) {
        self.smb1_challenge = Some(challenge);
    }

    /// SMB1 SESSION_SETUP_ANDX request without extended security: its
    /// responses wait for the reply that names the UID.
    pub fn on_legacy_setup_request(&mut self, message_id: u64, logon: LegacyLogon) {
        push_bounded(&mut self.pending_legacy, message_id, logon);
    }

    /// SMB1 SESSION_SETUP_ANDX response without extended security: its
    /// Action (SMB_SETUP_USE_LANMAN_KEY picks the LM session key).
    pub fn on_legacy_setup_action(&mut self, message_id: u64, action: u16) {
        if let Some((_, l)) = self
            .pending_legacy
            .iter_mut()
            .find(|(m, _)| *m == message_id)
        {
            l.use_lanman_key = action & 0x0002 != 0;
        }
    }

    /// A session setup request: the preauth hash step and the NTLMSSP
    /// messages it carries.
    pub fn on_setup_request(&mut self, session: u64, message_id: u64, msg: &[u8], blob: &[u8]) {
        let token = ntlmssp_token(blob).map(<[u8]>::to_vec);
        let ap_req = match token {
            None => krb5_message(blob)
                .filter(|(kind, _)| *kind == Krb5TokenKind::ApReq)
                .map(|(_, der)| der.to_vec()),
            Some(_) => None,
        };
        let conn_hash = self.connection_hash;
        if session == 0 {
            if let Some(req) = ap_req.clone() {
                push_bounded(&mut self.pending_krb, message_id, req);
            }
            if let Some(h) = conn_hash {
                push_bounded(
                    &mut self.pending_hash,
                    message_id,
                    kdf::preauth_update(&h, msg),
                );
            }
            if let Some(t) = token.filter(|t| t.get(8) == Some(&1)) {
                push_bounded(&mut self.pending_negotiate, message_id, t);
            }
            return;
        }
        let Some(s) = self.secrets(session) else {
            return;
        };
        // Samba stops the chain once the session has a key (re-auth).
        if matches!(s.key, KeyState::Pending)
            && let Some(base) = s.preauth.or(conn_hash)
        {
            s.preauth = Some(kdf::preauth_update(&base, msg));
        }
        if let Some(t) = token {
            match t.get(8) {
                Some(1) => s.negotiate = t,
                Some(3) => s.authenticate = t,
                _ => {}
            }
        }
        if let Some(req) = ap_req {
            s.krb_ap_req = req;
        }
    }

    /// A session setup response. On success, derive the session's keys.
    #[allow(clippy::too_many_arguments)]
    pub fn on_setup_response(
        &mut self,
        session: u64,
        message_id: u64,
        status: NtStatus,
        msg: &[u8],
        blob: &[u8],
        dialect: Option<Smb2Dialect>,
        anonymous_or_guest: bool,
    ) {
        let hash = take(&mut self.pending_hash, message_id);
        let negotiate = take(&mut self.pending_negotiate, message_id);
        let legacy = take(&mut self.pending_legacy, message_id);
        let ap_req = take(&mut self.pending_krb, message_id);
        let ap_rep = krb5_message(blob)
            .filter(|(kind, _)| *kind == Krb5TokenKind::ApRep)
            .map(|(_, der)| der.to_vec());
        let smb1_challenge = self.smb1_challenge;
        let token = ntlmssp_token(blob).map(<[u8]>::to_vec);
        let creds = self.creds.clone();
        let Some(s) = self.secrets(session) else {
            return;
        };
        if let Some(n) = negotiate {
            s.negotiate = n;
        }
        if let Some(t) = token.filter(|t| t.get(8) == Some(&2)) {
            s.challenge = t;
        }
        if let Some(req) = ap_req {
            s.krb_ap_req = req;
        }
        if let Some(rep) = ap_rep {
            s.krb_ap_rep = rep;
        }
        let base = hash.or(s.preauth);
        if status == NtStatus::MoreProcessingRequired {
            if matches!(s.key, KeyState::Pending)
                && let Some(h) = base
            {
                s.preauth = Some(kdf::preauth_update(&h, msg));
            }
            return;
        }
        if status != NtStatus::Success || !matches!(s.key, KeyState::Pending) {
            return;
        }
        // The final response is not hashed (MS-SMB2 3.2.5.3.1).
        s.preauth = base;
        if anonymous_or_guest {
            s.key = KeyState::NoKey("guest or anonymous session");
            return;
        }
        if let Some(l) = legacy {
            s.key = legacy_key(&creds, session, smb1_challenge, &l, s);
            return;
        }
        let session_key = match derive_session_key(&creds, session, s) {
            Ok(k) => k,
            Err(state) => {
                s.key = state;
                return;
            }
        };
        let signing_key = match dialect {
            Some(Smb2Dialect::Smb300 | Smb2Dialect::Smb302) => kdf::smb30_signing_key(&session_key),
            Some(Smb2Dialect::Smb311) => match s.preauth {
                Some(h) => kdf::smb311_signing_key(&session_key, &h),
                None => {
                    s.key = KeyState::NoKey("3.1.1 preauth exchange not captured");
                    return;
                }
            },
            _ => kdf::session_key_16(&session_key),
        };
        s.key = KeyState::Ready {
            signing_key,
            session_key: kdf::session_key_16(&session_key),
        };
        s.full_key = session_key;
    }

    /// The keyed signer for a signed SMB2 message of this session, or the
    /// verdict when there is nothing to compute (no key, only a prefix, a
    /// dialect with no known MAC).
    pub fn smb2_signer(
        &mut self,
        session: u64,
        complete: bool,
        algorithm: Option<MacAlgorithm>,
    ) -> Result<Arc<Smb2Signer>, Verdict> {
        let key = match self.secrets.get(&session).map(|s| &s.key) {
            Some(KeyState::Ready { signing_key, .. }) => *signing_key,
            _ => return Err(Verdict::NoKey),
        };
        if !complete {
            return Err(Verdict::Unverifiable);
        }
        let Some(alg) = algorithm.filter(|a| *a != MacAlgorithm::Md5) else {
            return Err(Verdict::NoKey);
        };
        let signer = match self.signers.get(&session) {
            Some(s) if s.algorithm() == alg => s,
            _ => {
                if self.signers.len() >= MAX_SECRETS {
                    self.signers.clear();
                }
                let Some(signer) = Smb2Signer::new(alg, &key) else {
                    return Err(Verdict::NoKey);
                };
                self.signers.insert(session, Arc::new(signer));
                &self.signers[&session]
            }
        };
        Ok(signer.clone())
    }

    /// Verdict on a signed SMB2 message with its session's signer, in line.
    pub fn smb2_verdict(&mut self, signer: &Smb2Signer, msg: &[u8]) -> (Verdict, Option<[u8; 16]>) {
        smb2_verdict(signer, msg, &mut self.scratch)
    }

    /// SMB1: the successful SESSION_SETUP that activates signing (MS-CIFS
    /// 3.2.5.3). Its request was sequence 0, this response is 1.
    pub fn smb1_activate(&mut self, session: u64) -> bool {
        if self.smb1_key.is_some() {
            return true;
        }
        let Some(s) = self.secrets.get(&session) else {
            return false;
        };
        match &s.key {
            KeyState::Ready { session_key, .. } => {
                self.smb1_key = Some(s.smb1_mac_key.clone().unwrap_or(session_key.to_vec()));
                self.smb1_next_seq = 2;
                true
            }
            _ => false,
        }
    }

    /// Verify an SMB1 message with signing active, tracking sequence numbers.
    /// `seq_override` forces the number (the activating response uses 1).
    #[allow(clippy::too_many_arguments)]
    pub fn verify_smb1(
        &mut self,
        msg: &[u8],
        complete: bool,
        is_response: bool,
        pid: u32,
        mid: u16,
        is_cancel: bool,
        seq_override: Option<u32>,
    ) -> (Verdict, Option<[u8; 16]>) {
        let Some(key) = self.smb1_key.clone() else {
            return (Verdict::NoKey, None);
        };
        let seq = match seq_override {
            Some(s) => s,
            None if is_response => match self.smb1_responses.get(&(pid, mid)) {
                Some(s) => *s,
                None => self.smb1_next_seq.wrapping_sub(1),
            },
            None => {
                let s = self.smb1_next_seq;
                if is_cancel {
                    self.smb1_next_seq = s.wrapping_add(1);
                } else {
                    self.smb1_next_seq = s.wrapping_add(2);
                    if self.smb1_responses.len() > 4096 {
                        self.smb1_responses.clear();
                    }
                    self.smb1_responses.insert((pid, mid), s.wrapping_add(1));
                }
                s
            }
        };
        if !complete {
            return (Verdict::Unverifiable, None);
        }
        let sig = &msg[Smb1Header::SIGNATURE];
        let Some(expected) = mac::smb1_signature(&key, msg, seq) else {
            return (Verdict::Unverifiable, None);
        };
        if mac_eq(&expected, sig) {
            return (Verdict::Valid, None);
        }
        // A match a few numbers away is a tracking slip, not a forgery;
        // resynchronise on it (and say so in the counts).
        for d in 1..=SMB1_SEQ_WINDOW {
            for cand in [seq.wrapping_add(d), seq.wrapping_sub(d)] {
                if mac::smb1_signature(&key, msg, cand).is_some_and(|e| mac_eq(&e, sig)) {
                    self.smb1_seq_adjusted += 1;
                    if !is_response {
                        self.smb1_next_seq = cand.wrapping_add(2);
                        self.smb1_responses.insert((pid, mid), cand.wrapping_add(1));
                    }
                    return (Verdict::Valid, None);
                }
            }
        }
        let mut wide = [0u8; 16];
        wide[..8].copy_from_slice(&expected);
        (Verdict::Forged, Some(wide))
    }
}

/// The session key of a Kerberos logon: from a keytab, or from the ticket's
/// session key learnt from the capture's KDC exchange.
fn kerberos_key(creds: &Credentials, s: &mut Secrets) -> Result<Vec<u8>, KeyState> {
    let rep = (!s.krb_ap_rep.is_empty()).then_some(s.krb_ap_rep.as_slice());
    let learnt = |cipher: &[u8]| creds.ticket_session(cipher);
    match kerberos::logon_key(&s.krb_ap_req, rep, &creds.keytab, &learnt) {
        Ok(l) => {
            s.kerberos = Some(KerberosFacts {
                user: l.user,
                ticket_etype: l.ticket_etype,
                session_etype: l.session_etype,
                rc4: l.rc4,
            });
            Ok(l.key)
        }
        Err(KerberosError::NoKey(why)) => Err(KeyState::NoKey(why)),
        Err(KerberosError::WrongKey(why)) => {
            s.wrong = Some(why);
            Err(KeyState::WrongCredentials)
        }
    }
}

/// The key state of an SMB1 logon without extended security: a user-given
/// session key (then the MAC key is it followed by the NT response), else
/// the user's hashes checked against the responses. Sets the session's MAC
/// key.
fn legacy_key(
    creds: &Credentials,
    session: u64,
    challenge: Option<[u8; 8]>,
    l: &LegacyLogon,
    s: &mut Secrets,
) -> KeyState {
    if let Some(k) = creds.session_keys.get(&session).filter(|k| k.len() == 16) {
        let response = if l.nt_response.is_empty() {
            &l.lm_response
        } else {
            &l.nt_response
        };
        let mut mac = k.clone();
        mac.extend_from_slice(response);
        s.smb1_mac_key = Some(mac);
        let key: [u8; 16] = k.as_slice().try_into().expect("16 bytes");
        return KeyState::Ready {
            signing_key: key,
            session_key: key,
        };
    }
    let Some(challenge) = challenge else {
        return KeyState::NoKey("the NEGOTIATE response's challenge was not captured");
    };
    let mut wrong = false;
    let mut unsupported = None;
    for h in creds.hashes_for(&l.domain, &l.user) {
        match ntlm::legacy_mac_key(h, &challenge, l) {
            LegacyKey::MacKey {
                session_key,
                mac_key,
            } => {
                s.smb1_mac_key = Some(mac_key);
                return KeyState::Ready {
                    signing_key: session_key,
                    session_key,
                };
            }
            LegacyKey::WrongCredentials => wrong = true,
            LegacyKey::Unsupported(why) => unsupported = Some(why),
        }
    }
    if wrong {
        s.wrong = Some("the SESSION_SETUP_ANDX challenge response differs");
        KeyState::WrongCredentials
    } else {
        KeyState::NoKey(unsupported.unwrap_or("no credentials for this user"))
    }
}

/// The session key: a user-given key for this session id, else the NTLM
/// exported key from the user's password or NT hash.
fn derive_session_key(
    creds: &Credentials,
    session: u64,
    s: &mut Secrets,
) -> Result<Vec<u8>, KeyState> {
    if let Some(k) = creds.session_keys.get(&session) {
        return Ok(k.clone());
    }
    if s.authenticate.is_empty() && !s.krb_ap_req.is_empty() {
        return kerberos_key(creds, s);
    }
    if s.authenticate.is_empty() {
        return Err(KeyState::NoKey(
            "no NTLM or Kerberos exchange (give --session-key)",
        ));
    }
    let Ok((_, NtlmsspRecord::Authenticate(auth))) = parse_ntlmssp(&s.authenticate) else {
        return Err(KeyState::NoKey("NTLMSSP AUTHENTICATE does not parse"));
    };
    let Ok((_, NtlmsspRecord::Challenge(chal))) = parse_ntlmssp(&s.challenge) else {
        return Err(KeyState::NoKey("NTLMSSP CHALLENGE not captured"));
    };
    let user = auth.user_name();
    let domain = auth.domain_name();
    let mut wrong = false;
    let mut unsupported = None;
    for h in creds.hashes_for(&domain, &user) {
        match ntlm::session_key(h, chal.server_challenge, &auth, &s.negotiate, &s.challenge) {
            NtlmKey::Key { key, mic_ok, .. } => {
                s.mic_ok = mic_ok;
                return Ok(key.to_vec());
            }
            NtlmKey::WrongCredentials => wrong = true,
            NtlmKey::Unsupported(why) => unsupported = Some(why),
        }
    }
    Err(if wrong {
        s.wrong = Some(if auth.nt_response.len() > 24 {
            "the NTProofStr differs"
        } else {
            "the NTLMv1 response differs"
        });
        KeyState::WrongCredentials
    } else if let Some(why) = unsupported {
        KeyState::NoKey(why)
    } else {
        KeyState::NoKey("no credentials for this user")
    })
}

/// As `smb2_verdict`, for a message the caller may write to (no copy; the
/// message is as it was after).
pub fn smb2_verdict_in_place(signer: &Smb2Signer, msg: &mut [u8]) -> Verdict {
    let Some(expected) = signer.sign_in_place(msg) else {
        return Verdict::Unverifiable;
    };
    if mac_eq(&expected, &msg[Smb2Header::SIGNATURE]) {
        Verdict::Valid
    } else {
        Verdict::Forged
    }
}

/// Verdict on a whole signed SMB2 message with its session's signer: a pure
/// function of the two, so it can run on any thread.
pub fn smb2_verdict(
    signer: &Smb2Signer,
    msg: &[u8],
    scratch: &mut Vec<u8>,
) -> (Verdict, Option<[u8; 16]>) {
    let Some(expected) = signer.sign(msg, scratch) else {
        return (Verdict::Unverifiable, None);
    };
    if mac_eq(&expected, &msg[Smb2Header::SIGNATURE]) {
        (Verdict::Valid, None)
    } else {
        (Verdict::Forged, Some(expected))
    }
}
