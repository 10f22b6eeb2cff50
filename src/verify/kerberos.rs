//! Kerberos session keys from a capture (RFC 4120, MS-KILE 3.1.1.2):
//! the SMB session key of a SESSION_SETUP whose blob carries an AP-REQ.
//!
//! 1. The service ticket is decrypted with a keytab key (key usage 2): the
//!    one of its principal, enctype and kvno, else every key of that
//!    enctype in turn (a machine keytab names `DC1$@REALM`, the ticket
//!    `cifs/dc1.realm`). Or, when the capture held the user's exchange
//!    with the KDC, the ticket's session key is already known from the
//!    TGS-REP (`learn_kdc`).
//! 2. The authenticator is decrypted with the ticket session key (usage
//!    11); it may carry a subkey.
//! 3. The AP-REP's enc-part is decrypted with the ticket session key
//!    (usage 12); it may carry a subkey.
//! 4. The SMB session key is the AP-REP subkey, else the authenticator
//!    subkey, else the ticket session key (the GSS-API acceptor's rule).
//!
//! DER through picky-krb; AES-CTS-HMAC-SHA1-96 (17, 18) through its
//! RFC 3962 ciphers; RC4-HMAC (23, RFC 4757) from RustCrypto's rc4, hmac
//! and md5.

use super::keytab::KeytabKey;
pub use crate::wire::kerberos::{principal_text, text};
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use picky_krb::crypto::CipherSuite;
use picky_krb::data_types::{EncryptedData, EncryptionKey};
use picky_krb::messages::{ApRep, ApReq};
use rc4::{Rc4, StreamCipher};

use crate::wire::kerberos::{
    Etype, USAGE_AP_REP, USAGE_AP_REQ_AUTHENTICATOR, USAGE_AS_REP, USAGE_TGS_REP_SESSION,
    USAGE_TGS_REP_SUBKEY, USAGE_TGS_REQ_AUTHENTICATOR, USAGE_TICKET,
};

const ETYPE_AES128: i32 = Etype::Aes128CtsHmacSha196.0;
const ETYPE_AES256: i32 = Etype::Aes256CtsHmacSha196.0;
const ETYPE_RC4_HMAC: i32 = Etype::Rc4Hmac.0;

/// Why decryption gave nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecryptError {
    /// The integrity check failed: the wrong key.
    Integrity,
    /// An encryption type smbsign does not implement.
    Unsupported,
}

/// RC4-HMAC decryption (RFC 4757 3): the checksum, then the encrypted
/// confounder and message, keyed from the usage number (3 is sent as 8).
fn rc4_hmac_decrypt(key: &[u8], usage: i32, data: &[u8]) -> Result<Vec<u8>, DecryptError> {
    let hmac = |k: &[u8], parts: &[&[u8]]| -> [u8; 16] {
        let mut m = <Hmac<Md5> as KeyInit>::new_from_slice(k).expect("any key length");
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    };
    if data.len() < 24 {
        return Err(DecryptError::Integrity);
    }
    let usage = if usage == USAGE_AS_REP { 8 } else { usage };
    let k1 = hmac(key, &[&(usage as u32).to_le_bytes()]);
    let (checksum, cipher) = data.split_at(16);
    let k3 = hmac(&k1, &[checksum]);
    let mut plain = cipher.to_vec();
    <Rc4 as rc4::KeyInit>::new_from_slice(&k3)
        .expect("16-byte RC4 key")
        .apply_keystream(&mut plain);
    if !super::mac_eq(&hmac(&k1, &[&plain]), checksum) {
        return Err(DecryptError::Integrity);
    }
    Ok(plain.split_off(8))
}

/// Decrypt `cipher` of encryption type `etype` with `key` for `usage`.
pub fn decrypt(etype: i32, key: &[u8], usage: i32, cipher: &[u8]) -> Result<Vec<u8>, DecryptError> {
    let suite = match etype {
        ETYPE_RC4_HMAC => return rc4_hmac_decrypt(key, usage, cipher),
        ETYPE_AES128 => CipherSuite::Aes128CtsHmacSha196,
        ETYPE_AES256 => CipherSuite::Aes256CtsHmacSha196,
        _ => return Err(DecryptError::Unsupported),
    };
    if key.len() != suite.cipher().key_size() {
        return Err(DecryptError::Integrity);
    }
    suite
        .cipher()
        .decrypt(key, usage, cipher)
        .map_err(|_| DecryptError::Integrity)
}

/// The long-term key of a password for `etype`: AES string-to-key with the
/// salt (RFC 3962), or the NT hash for RC4-HMAC (RFC 4757).
pub fn string_to_key(etype: i32, password: &str, salt: &str) -> Option<Vec<u8>> {
    match etype {
        ETYPE_RC4_HMAC => Some(super::ntlm::nt_hash(password).to_vec()),
        ETYPE_AES128 | ETYPE_AES256 => {
            let suite = if etype == ETYPE_AES128 {
                CipherSuite::Aes128CtsHmacSha196
            } else {
                CipherSuite::Aes256CtsHmacSha196
            };
            suite
                .cipher()
                .generate_key_from_password(password.as_bytes(), salt.as_bytes())
                .ok()
        }
        _ => None,
    }
}

pub(crate) fn int(i: &picky_asn1::wrapper::IntegerAsn1) -> i64 {
    let b = i.as_signed_bytes_be();
    if b.is_empty() || b.len() > 8 {
        return 0;
    }
    let mut v: i64 = if b[0] & 0x80 != 0 { -1 } else { 0 };
    for x in b {
        v = (v << 8) | *x as i64;
    }
    v
}

fn key_of(k: &EncryptionKey) -> (i32, Vec<u8>) {
    (int(&k.key_type.0) as i32, k.key_value.0.0.clone())
}

fn enc(e: &EncryptedData) -> (i32, Option<u32>, &[u8]) {
    (
        int(&e.etype.0) as i32,
        e.kvno.0.as_ref().map(|k| int(&k.0) as u32),
        &e.cipher.0.0,
    )
}

/// What the keys of one logon are made from: a ticket whose session key is
/// known (from the KDC exchange), by the ticket's cipher text.
#[derive(Clone, PartialEq, Eq)]
pub struct TicketSession {
    pub etype: i32,
    pub key: Vec<u8>,
    /// `user@REALM` of the TGS-REP.
    pub client: String,
    /// The RC4-HMAC enctypes seen on the way (the AS-REP's, the TGT's).
    pub rc4_on_the_way: bool,
}

impl std::fmt::Debug for TicketSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketSession")
            .field("etype", &self.etype)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// A Kerberos logon's SMB session key, and what it tells about the user.
#[derive(Clone, PartialEq, Eq)]
pub struct KerberosLogon {
    /// The GSS session key (16 or 32 bytes).
    pub key: Vec<u8>,
    /// `REALM\user` from the ticket.
    pub user: String,
    /// The ticket's enc-part enctype, and the session key's.
    pub ticket_etype: i32,
    pub session_etype: i32,
    /// RC4-HMAC anywhere on the way (ticket, session key, subkeys, KDC
    /// exchange).
    pub rc4: bool,
}

impl std::fmt::Debug for KerberosLogon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KerberosLogon")
            .field("user", &self.user)
            .field("ticket_etype", &self.ticket_etype)
            .field("session_etype", &self.session_etype)
            .finish_non_exhaustive()
    }
}

/// Why a Kerberos logon gave no key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KerberosError {
    /// Nothing to try: no keytab key of the ticket's enctype, and the
    /// ticket's session key was not learnt from a KDC exchange.
    NoKey(&'static str),
    /// Keys were tried and none decrypted (integrity check): the wrong
    /// keytab, or a changed password; which key failed.
    WrongKey(&'static str),
}

/// The SMB session key of the AP-REQ `ap_req` (DER) and, when captured,
/// its AP-REP, with these keytab keys and learnt ticket sessions.
pub fn logon_key(
    ap_req: &[u8],
    ap_rep: Option<&[u8]>,
    keytab: &[KeytabKey],
    learnt: &dyn Fn(&[u8]) -> Option<Learnt>,
) -> Result<KerberosLogon, KerberosError> {
    let req: ApReq = picky_asn1_der::from_bytes(ap_req)
        .map_err(|_| KerberosError::NoKey("the AP-REQ does not parse"))?;
    let ticket = &req.0.ticket.0.0;
    let (t_etype, t_kvno, t_cipher) = enc(&ticket.enc_part.0);
    let sname = format!(
        "{}@{}",
        principal_text(&ticket.sname.0),
        text(&ticket.realm.0)
    );
    let (session_etype, session_key, user, mut rc4) = match learnt(t_cipher) {
        Some(Learnt::Session(s)) => (s.etype, s.key, s.client, s.rc4_on_the_way),
        Some(Learnt::WrongPassword) => {
            return Err(KerberosError::WrongKey(
                "the password did not decrypt the user's AS-REP (integrity check)",
            ));
        }
        None => {
            let part = ticket_part(t_etype, t_kvno, &sname, t_cipher, keytab)?;
            let (etype, key) = key_of(&part.key.0);
            let user = format!("{}@{}", principal_text(&part.cname.0), text(&part.crealm.0));
            (etype, key, user, false)
        }
    };
    let (a_etype, _, a_cipher) = enc(&req.0.authenticator.0);
    let authenticator = decrypt(a_etype, &session_key, USAGE_AP_REQ_AUTHENTICATOR, a_cipher)
        .map_err(|_| {
            KerberosError::WrongKey("the ticket session key did not decrypt the authenticator")
        })?;
    let auth: picky_krb::data_types::Authenticator = picky_asn1_der::from_bytes(&authenticator)
        .map_err(|_| KerberosError::NoKey("the authenticator does not parse"))?;
    let mut chosen = (session_etype, session_key.clone());
    if let Some(sub) = auth.0.subkey.0.as_ref() {
        chosen = key_of(&sub.0);
    }
    if let Some(rep) = ap_rep.and_then(|b| picky_asn1_der::from_bytes::<ApRep>(b).ok()) {
        let (r_etype, _, r_cipher) = enc(&rep.0.enc_part.0);
        let part = decrypt(r_etype, &session_key, USAGE_AP_REP, r_cipher).map_err(|_| {
            KerberosError::WrongKey("the ticket session key did not decrypt the AP-REP")
        })?;
        if let Ok(p) = picky_asn1_der::from_bytes::<picky_krb::data_types::EncApRepPart>(&part)
            && let Some(sub) = p.0.subkey.0.as_ref()
        {
            chosen = key_of(&sub.0);
        }
    }
    rc4 |= [t_etype, session_etype, chosen.0].contains(&ETYPE_RC4_HMAC);
    Ok(KerberosLogon {
        key: chosen.1,
        user: realm_user(&user),
        ticket_etype: t_etype,
        session_etype,
        rc4,
    })
}

/// `user@REALM` as `REALM\user` (the form the report's users take).
fn realm_user(principal: &str) -> String {
    match principal.rsplit_once('@') {
        Some((user, realm)) => format!("{realm}\\{user}"),
        None => principal.to_owned(),
    }
}

/// The decrypted EncTicketPart: the key of the ticket's own principal,
/// enctype and kvno first, then every key of that enctype.
fn ticket_part(
    etype: i32,
    kvno: Option<u32>,
    sname: &str,
    cipher: &[u8],
    keytab: &[KeytabKey],
) -> Result<picky_krb::data_types::EncTicketPartInner, KerberosError> {
    let same_kvno = |k: &KeytabKey| kvno.is_none_or(|v| v == k.kvno);
    let mut candidates: Vec<&KeytabKey> = keytab
        .iter()
        .filter(|k| k.etype == etype && same_kvno(k) && k.principal.eq_ignore_ascii_case(sname))
        .collect();
    candidates.extend(
        keytab
            .iter()
            .filter(|k| k.etype == etype && !k.principal.eq_ignore_ascii_case(sname)),
    );
    if candidates.is_empty() {
        return Err(KerberosError::NoKey(
            "no keytab key of the ticket's enctype (and no KDC exchange for it)",
        ));
    }
    for k in candidates {
        if let Ok(plain) = decrypt(etype, &k.key, USAGE_TICKET, cipher)
            && let Ok(part) =
                picky_asn1_der::from_bytes::<picky_krb::data_types::EncTicketPart>(&plain)
        {
            return Ok(part.0);
        }
    }
    Err(KerberosError::WrongKey(
        "no keytab key of the ticket's enctype decrypted the ticket (integrity check)",
    ))
}

/// What a KDC exchange taught about one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Learnt {
    Session(TicketSession),
    /// The user's AS-REP did not decrypt with the given password: its
    /// tickets are the wrong password's, not unknown.
    WrongPassword,
}

/// The principal a FAST-armored reply names in clear (RFC 6112 3).
const ANONYMOUS: &str = "WELLKNOWN/ANONYMOUS@";

/// A TGT session key (or a TGS-REQ subkey, with the TGT session key it
/// came under, for FAST) learnt on the way.
struct TgsKey {
    etype: i32,
    key: Vec<u8>,
    usage: i32,
    rc4: bool,
    tgt: Option<(i32, Vec<u8>)>,
    /// The AS-REP's client (a FAST TGS-REP names the anonymous principal
    /// in clear).
    client: String,
}

impl TgsKey {
    /// The TGS-REP enc-part's plaintext: with this key, or (a subkey of a
    /// FAST-armored request) with the reply key the armored reply gives.
    fn open(&self, rep: &picky_krb::messages::KdcRep) -> Option<Vec<u8>> {
        let (etype, _, cipher) = enc(&rep.enc_part.0);
        if let Ok(p) = decrypt(etype, &self.key, self.usage, cipher) {
            return Some(p);
        }
        let (tgt, pa) = (self.tgt.as_ref()?, rep.padata.0.as_ref()?);
        let (_, reply) =
            super::kerberos_fast::tgs_reply_key(&pa.0.0, (self.etype, &self.key), (tgt.0, &tgt.1))?;
        decrypt(etype, &reply, self.usage, cipher).ok()
    }
}

/// PA-ETYPE-INFO2 (RFC 4120 5.2.7.5) salts by enctype, from PA-DATA.
fn salts_of(padata: &[picky_krb::data_types::PaData], out: &mut Vec<(i32, String)>) {
    for pa in padata {
        if int(&pa.padata_type.0) != 19 {
            continue;
        }
        let Ok(info) =
            picky_asn1_der::from_bytes::<picky_krb::data_types::EtypeInfo2>(&pa.padata_data.0.0)
        else {
            continue;
        };
        for e in &info.0 {
            if let Some(salt) = e.salt.0.as_ref() {
                out.push((int(&e.etype.0) as i32, text(&salt.0)));
            }
        }
    }
}

/// The users' passwords that may be `name` of `realm` (an entry without a
/// domain matches any; a domain matches the realm or its first label).
fn passwords_for<'a>(
    creds: &'a super::Credentials,
    name: &'a str,
    realm: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    let label = realm.split('.').next().unwrap_or(realm);
    creds.users.iter().filter_map(move |u| {
        let (d, who) = u.user.split_once('\\').unwrap_or(("", u.user.as_str()));
        let dom_ok = d.is_empty() || d.eq_ignore_ascii_case(realm) || d.eq_ignore_ascii_case(label);
        (who.eq_ignore_ascii_case(name) && dom_ok)
            .then_some(u.password.as_ref().map(|p| p.0.as_str()))
            .flatten()
    })
}

/// The EncKDCRepPart of a KDC-REP enc-part (AS or TGS form: Windows
/// answers an AS-REQ with either tag).
fn kdc_rep_part(plain: &[u8]) -> Option<picky_krb::messages::EncKdcRepPart> {
    if let Ok(p) = picky_asn1_der::from_bytes::<picky_krb::messages::EncAsRepPart>(plain) {
        return Some(p.0);
    }
    picky_asn1_der::from_bytes::<picky_krb::messages::EncTgsRepPart>(plain)
        .ok()
        .map(|p| p.0)
}

/// Learns ticket session keys from KDC messages, one at a time in capture
/// order, with the users' passwords: the AS-REP gives the TGT session key
/// (string-to-key with the PA-ETYPE-INFO2 salt, else the default one), a
/// TGS-REQ's authenticator its subkey, and the TGS-REP the service
/// ticket's session key, filed in the credentials' ticket store by the
/// ticket's cipher text. Bounded: `MAX_LEARNT_KEYS` TGT keys and subkeys,
/// `MAX_SALTS` salts (the oldest go).
#[derive(Default)]
pub struct KdcLearner {
    salts: Vec<(i32, String)>,
    tgs_keys: Vec<TgsKey>,
    wrong_users: Vec<String>,
}

pub const MAX_LEARNT_KEYS: usize = 1024;
pub const MAX_SALTS: usize = 256;

fn bounded<T>(v: &mut Vec<T>, cap: usize) {
    if v.len() > cap {
        let extra = v.len() - cap;
        v.drain(..extra);
    }
}

impl KdcLearner {
    /// One KDC message (DER); returns the tickets it taught (0 or 1).
    pub fn learn(&mut self, creds: &super::Credentials, m: &[u8]) -> usize {
        use picky_krb::messages::{AsRep, KrbError, TgsRep, TgsReq};
        let n = match m.first() {
            Some(0x7e) => {
                if let Ok(e) = picky_asn1_der::from_bytes::<KrbError>(m)
                    && let Some(data) = e.0.e_data.0.as_ref()
                    && let Ok(pa) = picky_asn1_der::from_bytes::<
                        picky_asn1::wrapper::Asn1SequenceOf<picky_krb::data_types::PaData>,
                    >(&data.0.0)
                {
                    salts_of(&pa.0, &mut self.salts);
                }
                0
            }
            Some(0x6b) => {
                if let Ok(rep) = picky_asn1_der::from_bytes::<AsRep>(m) {
                    self.as_rep(creds, &rep.0);
                }
                0
            }
            Some(0x6c) => {
                if let Ok(req) = picky_asn1_der::from_bytes::<TgsReq>(m) {
                    self.tgs_req(&req.0);
                }
                0
            }
            Some(0x6d) => match picky_asn1_der::from_bytes::<TgsRep>(m) {
                Ok(rep) => self.tgs_rep(creds, &rep.0),
                Err(_) => 0,
            },
            _ => 0,
        };
        bounded(&mut self.salts, MAX_SALTS);
        bounded(&mut self.tgs_keys, MAX_LEARNT_KEYS);
        bounded(&mut self.wrong_users, MAX_SALTS);
        n
    }

    fn as_rep(&mut self, creds: &super::Credentials, rep: &picky_krb::messages::KdcRep) {
        if let Some(pa) = rep.padata.0.as_ref() {
            salts_of(&pa.0.0, &mut self.salts);
        }
        let name = principal_text(&rep.cname.0);
        let realm = text(&rep.crealm.0);
        let (etype, _, cipher) = enc(&rep.enc_part.0);
        let salt = self
            .salts
            .iter()
            .rev()
            .find(|(e, _)| *e == etype)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| format!("{realm}{}", name.replace('/', "")));
        let mut tried = false;
        for pw in passwords_for(creds, &name, &realm) {
            let Some(key) = string_to_key(etype, pw, &salt) else {
                continue;
            };
            tried = true;
            let plain = decrypt(etype, &key, USAGE_AS_REP, cipher)
                .or_else(|_| decrypt(etype, &key, USAGE_TGS_REP_SESSION, cipher));
            if let Some(part) = plain.ok().and_then(|p| kdc_rep_part(&p)) {
                let (k_etype, key) = key_of(&part.key.0);
                self.tgs_keys.push(TgsKey {
                    etype: k_etype,
                    key,
                    usage: USAGE_TGS_REP_SESSION,
                    rc4: etype == ETYPE_RC4_HMAC || k_etype == ETYPE_RC4_HMAC,
                    tgt: None,
                    client: format!("{name}@{realm}"),
                });
                return;
            }
        }
        if tried {
            self.wrong_users.push(format!("{name}@{realm}"));
        }
    }

    fn tgs_req(&mut self, req: &picky_krb::messages::KdcReq) {
        let Some(pa) = req.padata.0.as_ref() else {
            return;
        };
        for p in pa.0.0.iter().filter(|p| int(&p.padata_type.0) == 1) {
            let Ok(ap) = picky_asn1_der::from_bytes::<ApReq>(&p.padata_data.0.0) else {
                continue;
            };
            let (a_etype, _, a_cipher) = enc(&ap.0.authenticator.0);
            let found = self
                .tgs_keys
                .iter()
                .filter(|k| k.usage == USAGE_TGS_REP_SESSION)
                .find_map(|k| {
                    let plain =
                        decrypt(a_etype, &k.key, USAGE_TGS_REQ_AUTHENTICATOR, a_cipher).ok()?;
                    let auth: picky_krb::data_types::Authenticator =
                        picky_asn1_der::from_bytes(&plain).ok()?;
                    let sub = auth.0.subkey.0.as_ref()?;
                    let (etype, key) = key_of(&sub.0);
                    Some(TgsKey {
                        etype,
                        key,
                        usage: USAGE_TGS_REP_SUBKEY,
                        rc4: k.rc4 || etype == ETYPE_RC4_HMAC,
                        tgt: Some((k.etype, k.key.clone())),
                        client: k.client.clone(),
                    })
                });
            self.tgs_keys.extend(found);
        }
    }

    fn tgs_rep(&mut self, creds: &super::Credentials, rep: &picky_krb::messages::KdcRep) -> usize {
        let client = format!("{}@{}", principal_text(&rep.cname.0), text(&rep.crealm.0));
        let (etype, _, _) = enc(&rep.enc_part.0);
        let ticket = rep.ticket.0.0.enc_part.0.cipher.0.0.clone();
        let found = self
            .tgs_keys
            .iter()
            .rev()
            .find_map(|k| Some((kdc_rep_part(&k.open(rep)?)?, k.rc4, k.client.clone())));
        let entry = match found {
            Some((part, rc4, client)) => {
                let (k_etype, key) = key_of(&part.key.0);
                Learnt::Session(TicketSession {
                    etype: k_etype,
                    key,
                    client,
                    rc4_on_the_way: rc4 || etype == ETYPE_RC4_HMAC,
                })
            }
            // Its user's password failed on the AS-REP. A FAST reply names
            // the anonymous principal in clear: it is taken as the failed
            // user's when one failed.
            None if self
                .wrong_users
                .iter()
                .any(|u| u.eq_ignore_ascii_case(&client) || client.starts_with(ANONYMOUS)) =>
            {
                Learnt::WrongPassword
            }
            None => return 0,
        };
        let session = matches!(entry, Learnt::Session(_));
        (creds.tickets.insert(ticket, entry) && session) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // tests/captures/kerberos/bob.keytab: Samba's own keys for bob (kvno
    // 2), exported by tests/lab/kerberos.py after `samba-tool user create
    // bob 'B0b!Passw0rd'`; the default salt is the realm then the name.
    #[test]
    fn string_to_key_equals_sambas_keys() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/captures/kerberos/bob.keytab"
        );
        let keys = super::super::keytab::parse_keytab(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(keys.len(), 3);
        for k in &keys {
            assert_eq!(k.principal, "bob@LAB.EXAMPLE");
            let mine = string_to_key(k.etype, "B0b!Passw0rd", "LAB.EXAMPLEbob").unwrap();
            assert_eq!(mine, k.key, "etype {}", k.etype);
            assert_ne!(
                string_to_key(k.etype, "wrong", "LAB.EXAMPLEbob").unwrap(),
                k.key
            );
        }
        assert_eq!(string_to_key(19, "password", "x"), None);
    }

    #[test]
    fn rc4_hmac_round_trip_and_integrity() {
        // Encrypt as RFC 4757 3 says (an independent composition of the
        // same primitives), then decrypt; a flipped byte fails.
        let key = crate::verify::ntlm::nt_hash("Passw0rd!");
        let usage = 11u32;
        let mut plain = vec![0xAA; 8];
        plain.extend_from_slice(b"the message");
        let k1 = {
            let mut m = <Hmac<Md5> as KeyInit>::new_from_slice(&key).unwrap();
            m.update(&usage.to_le_bytes());
            m.finalize().into_bytes()
        };
        let checksum = {
            let mut m = <Hmac<Md5> as KeyInit>::new_from_slice(&k1).unwrap();
            m.update(&plain);
            m.finalize().into_bytes()
        };
        let k3 = {
            let mut m = <Hmac<Md5> as KeyInit>::new_from_slice(&k1).unwrap();
            m.update(&checksum);
            m.finalize().into_bytes()
        };
        let mut body = plain.clone();
        <Rc4 as rc4::KeyInit>::new_from_slice(&k3)
            .unwrap()
            .apply_keystream(&mut body);
        let mut data = checksum.to_vec();
        data.extend_from_slice(&body);
        assert_eq!(
            decrypt(ETYPE_RC4_HMAC, &key, 11, &data).unwrap(),
            b"the message"
        );
        data[20] ^= 1;
        assert_eq!(
            decrypt(ETYPE_RC4_HMAC, &key, 11, &data),
            Err(DecryptError::Integrity)
        );
        assert_eq!(decrypt(20, &key, 11, &data), Err(DecryptError::Unsupported));
    }
}
