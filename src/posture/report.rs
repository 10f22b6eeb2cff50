//! The report of one connection, typed, and its JSON: the one place the
//! model is serialised. Front ends read the typed fields (the C API copies
//! them into C structs, the CLI prints them); the JSON field names are the
//! contract and stay.

use super::finding::Finding;
use super::rules::findings_between;
use crate::conn::{
    AuthMechanism, ClientOffer, Connection, KeyState, NtlmLogon, ServerAnswer, Session,
};
use crate::wire::kerberos::Etype;
use crate::wire::smb2::Cipher;
use crate::wire::smb2_compression::CompressionAlgorithm;
use crate::wire::{Dialect, MacAlgorithm, SecurityMode, SigningSetting};
use serde::{Serialize, Serializer};
use std::net::{IpAddr, SocketAddr};

/// "0x…" as the JSON shows session ids: 16 hex digits for SMB2, 4 for SMB1 UIDs.
pub fn session_id_string(id: u64, smb1: bool) -> String {
    if smb1 {
        format!("0x{id:04x}")
    } else {
        format!("0x{id:016x}")
    }
}

/// Where a session's key stands, as the report says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyReport {
    Pending,
    Ready,
    WrongCredentials,
    NoKey(&'static str),
}

impl KeyReport {
    fn of(k: &KeyState) -> Self {
        match k {
            KeyState::Pending => KeyReport::Pending,
            KeyState::Ready { .. } => KeyReport::Ready,
            KeyState::WrongCredentials => KeyReport::WrongCredentials,
            KeyState::NoKey(why) => KeyReport::NoKey(why),
        }
    }
    pub fn text(&self) -> String {
        match self {
            KeyReport::Pending => "pending".into(),
            KeyReport::Ready => "ready".into(),
            KeyReport::WrongCredentials => "wrong-credentials".into(),
            KeyReport::NoKey(why) => format!("no-key: {why}"),
        }
    }
}

impl Serialize for KeyReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

fn as_name<S: Serializer, T>(
    v: &Option<T>,
    s: S,
    name: impl Fn(&T) -> String,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => s.serialize_str(&name(x)),
        None => s.serialize_none(),
    }
}
fn ser_dialect<S: Serializer>(v: &Option<Dialect>, s: S) -> Result<S::Ok, S::Error> {
    as_name(v, s, Dialect::name)
}
fn ser_setting<S: Serializer>(v: &Option<SigningSetting>, s: S) -> Result<S::Ok, S::Error> {
    as_name(v, s, |x| x.as_str().into())
}
fn ser_mac<S: Serializer>(v: &Option<MacAlgorithm>, s: S) -> Result<S::Ok, S::Error> {
    as_name(v, s, |x| x.name().into())
}
fn ser_cipher<S: Serializer>(v: &Option<Cipher>, s: S) -> Result<S::Ok, S::Error> {
    as_name(v, s, |x| x.name().into())
}
fn ser_mode<S: Serializer>(v: &Option<SecurityMode>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(m) => s.serialize_u16(m.raw()),
        None => s.serialize_none(),
    }
}
fn ser_mechanism<S: Serializer>(v: &AuthMechanism, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_str())
}
fn ser_session_id<S: Serializer>(v: &(u64, bool), s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&session_id_string(v.0, v.1))
}

/// One session of the report.
#[derive(Debug, Clone, Serialize)]
pub struct SessionReport {
    /// (id, is SMB1): printed as the JSON's "0x…" string.
    #[serde(rename = "session_id", serialize_with = "ser_session_id")]
    pub id: (u64, bool),
    pub user: Option<String>,
    #[serde(serialize_with = "ser_mechanism")]
    pub mechanism: AuthMechanism,
    /// The SPNEGO mechanism's OID, when one named it.
    pub mechanism_oid: Option<String>,
    /// Kerberos: the service principal the ticket was for
    /// (`cifs/fs1.corp.example@CORP.EXAMPLE`).
    pub service_principal: Option<String>,
    /// SMB1 SESSION_SETUP_ANDX without extended security: LM/NTLM
    /// challenge-response (or plaintext) passwords, no NTLMSSP.
    pub legacy_auth: bool,
    pub guest: bool,
    pub anonymous: bool,
    pub encrypted: bool,
    pub established: bool,
    pub signing_required: bool,
    /// Verification (with credentials): messages whose MAC matched, did not
    /// match (frames listed), were unsigned though signing was in force,
    /// or were signed with no key known. Null without credentials.
    pub verified: Option<u64>,
    pub forged: Option<u64>,
    pub unsigned_while_required: u64,
    pub no_key: Option<u64>,
    pub forged_frames: Vec<u64>,
    /// Null without credentials.
    pub key: Option<KeyReport>,
    /// NTLM MIC check result when a key was derived and the message had one.
    pub ntlm_mic_valid: Option<bool>,
    /// Kerberos logons whose key was found: the ticket's enctypes.
    pub kerberos: Option<KerberosReport>,
}

/// One TREE_CONNECT of the report (JSON `"tree_connects"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeConnectReport {
    pub path: String,
    pub frame: u64,
    pub response_frame: Option<u64>,
    /// "disk", "pipe", "print" (null without a response).
    pub share_type: Option<String>,
    pub share_flags: Option<u32>,
    /// SMB1: the service the TREE_CONNECT_ANDX response named ("A:",
    /// "IPC", "LPT1:", "COMM"); null for SMB2.
    pub service: Option<String>,
    /// SHARE_FLAG_ENCRYPT_DATA: the share requires encryption.
    pub encrypt_data: bool,
    pub status: Option<String>,
    /// Seen inside a TRANSFORM message, once decrypted.
    pub decrypted: bool,
    /// The tree id the response gave (null without a response).
    pub tree_id: Option<u32>,
    /// Typed forms of `status` and `share_type`, for front ends.
    #[serde(skip)]
    pub status_code: Option<crate::wire::NtStatus>,
    #[serde(skip)]
    pub share_type_code: Option<crate::wire::smb2::ShareType>,
}

impl TreeConnectReport {
    fn of(t: &crate::conn::TreeConnect) -> Self {
        TreeConnectReport {
            path: t.path.clone(),
            frame: t.request_frame,
            response_frame: t.response_frame,
            share_type: t.share_type.map(|s| s.name()),
            share_flags: t.share_flags,
            service: t.service.clone(),
            encrypt_data: t
                .share_flags
                .is_some_and(|f| f & crate::wire::smb2::SHARE_FLAG_ENCRYPT_DATA != 0),
            status: t.status.map(|s| s.to_string()),
            decrypted: t.decrypted,
            tree_id: t.tree_id,
            status_code: t.status,
            share_type_code: t.share_type,
        }
    }
}

/// An SMB2 command's name, or its code in hex.
fn command_name(code: u16) -> String {
    crate::wire::names::smb2_command_name(crate::wire::smb2::Smb2Command(code))
        .map_or_else(|| format!("0x{code:04x}"), str::to_owned)
}

/// The enctypes of a Kerberos logon (JSON `"kerberos"` of a session).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KerberosReport {
    /// The service ticket's enc-part, e.g. "aes256-cts-hmac-sha1-96".
    pub ticket_enctype: String,
    /// The ticket session key's.
    pub session_enctype: String,
    /// RC4-HMAC was used on the way (ticket, keys or the KDC exchange).
    pub rc4: bool,
}

impl SessionReport {
    fn build(c: &Connection, s: &Session) -> Self {
        let verifying = c.verifies();
        let kerberos = c.verify.as_ref().and_then(|v| v.kerberos(s.id));
        SessionReport {
            id: (s.id, s.smb1),
            // A Kerberos user is known once the ticket is decrypted.
            user: s.user.clone().or_else(|| kerberos.map(|k| k.user.clone())),
            mechanism: s.mechanism,
            mechanism_oid: s.mechanism_oid.clone(),
            service_principal: s.service_principal.clone(),
            legacy_auth: s.mechanism == AuthMechanism::Legacy,
            guest: s.guest,
            anonymous: s.anonymous,
            encrypted: s.encrypted,
            established: s.established(),
            signing_required: s.signing_required,
            verified: verifying.then_some(s.tally.verified),
            forged: verifying.then_some(s.tally.forged),
            unsigned_while_required: s.tally.unsigned_while_required,
            no_key: verifying.then_some(s.tally.no_key),
            forged_frames: s.tally.forged_frames.clone(),
            key: c.key_state(s.id).map(KeyReport::of),
            ntlm_mic_valid: c.verify.as_ref().and_then(|v| v.mic_ok(s.id)),
            kerberos: kerberos.map(|k| KerberosReport {
                ticket_enctype: Etype(k.ticket_etype).name(),
                session_enctype: Etype(k.session_etype).name(),
                rc4: k.rc4,
            }),
        }
    }
}

/// The facts `correlate` compares across connections.
#[derive(Debug, Clone, Default)]
pub struct LinkFacts {
    pub ntlm: Vec<NtlmLogon>,
    pub client: ClientOffer,
    pub server: ServerAnswer,
}

/// What the capture layer knows of a connection beyond its messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transport {
    /// "ip:port" ("[v6]:port"), or "" when nobody said.
    pub client: String,
    pub server: String,
    /// The endpoints' addresses, kept typed so that nothing parses the
    /// strings back (None when not known).
    pub client_ip: Option<IpAddr>,
    pub server_ip: Option<IpAddr>,
    /// Bytes the capture could not see (TCP gaps) and times the framer
    /// resynchronised on the next SMB header.
    pub gap_bytes: u64,
    pub resyncs: u64,
}

impl Transport {
    /// A capture's endpoints ("ip:port", "[v6]:port").
    pub fn of_sockets(client: SocketAddr, server: SocketAddr) -> Self {
        Transport {
            client: client.to_string(),
            server: server.to_string(),
            client_ip: Some(client.ip()),
            server_ip: Some(server.ip()),
            ..Transport::default()
        }
    }

    /// Endpoints a host named (the C API): read once here.
    pub fn of_names(client: String, server: String) -> Self {
        Transport {
            client_ip: endpoint_ip(&client),
            server_ip: endpoint_ip(&server),
            client,
            server,
            ..Transport::default()
        }
    }
}

/// The report of one connection (JSON `"type": "connection"`).
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionReport {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub file: Option<String>,
    pub client: String,
    pub server: String,
    pub first_frame: Option<u64>,
    pub last_frame: Option<u64>,
    #[serde(serialize_with = "ser_dialect")]
    pub dialect: Option<Dialect>,
    #[serde(serialize_with = "ser_mode")]
    pub server_security_mode: Option<SecurityMode>,
    pub client_security_mode: Option<u16>,
    /// The dialects the client's NEGOTIATE offered (SMB1 dialect strings,
    /// SMB2 dialects by name), and whether any was SMB1.
    pub offered_dialects: Vec<String>,
    pub offered_smb1: bool,
    #[serde(serialize_with = "ser_setting")]
    pub server_signing: Option<SigningSetting>,
    #[serde(serialize_with = "ser_setting")]
    pub client_signing: Option<SigningSetting>,
    #[serde(serialize_with = "ser_mac")]
    pub signing_algorithm: Option<MacAlgorithm>,
    #[serde(serialize_with = "ser_cipher")]
    pub cipher: Option<Cipher>,
    pub signed_messages: u64,
    pub unsigned_messages: u64,
    /// signed + unsigned split by the request/response bit.
    pub requests: u64,
    pub responses: u64,
    pub encrypted_messages: u64,
    /// The server offered SMB3 encryption (the capability, or a 3.1.1
    /// cipher), used or not.
    pub encryption_offered: bool,
    pub compressed_messages: u64,
    pub unsigned_while_required: u64,
    pub sessions: Vec<SessionReport>,
    pub findings: Vec<Finding>,
    pub gap_bytes: u64,
    pub resyncs: u64,
    pub decode_errors: u64,
    /// The capture shows the TCP connection ending (FIN or RST).
    pub closed: bool,
    /// Verification totals (null without credentials).
    pub verified_messages: Option<u64>,
    pub forged_messages: Option<u64>,
    pub no_key_messages: Option<u64>,
    pub unverifiable_messages: Option<u64>,
    pub forged_frames: Vec<u64>,
    /// SMB3 TRANSFORM messages decrypted (their tag verified) and those
    /// whose tag did not verify, with their first frames (null without
    /// credentials).
    pub decrypted_messages: Option<u64>,
    pub bad_tag_messages: Option<u64>,
    pub bad_tag_frames: Vec<u64>,
    /// SMB2 TREE_CONNECTs, cleartext or decrypted.
    pub tree_connects: Vec<TreeConnectReport>,
    /// Messages decrypted per SMB2 command (what ran inside the tunnel).
    pub decrypted_commands: std::collections::BTreeMap<String, u64>,
    /// The same by SMB2 command code, for front ends.
    #[serde(skip)]
    pub decrypted_command_codes: std::collections::BTreeMap<u16, u64>,
    /// COMPRESSION_TRANSFORM messages decompressed and analysed…
    pub decompressed_messages: u64,
    /// …their payloads per algorithm (LZNT1, LZ77+Huffman, LZ4,
    /// Pattern_V1, NONE)…
    pub compression_algorithms: std::collections::BTreeMap<String, u64>,
    /// …and those that were not, per reason (plain LZ77 is not
    /// decompressed).
    pub decompression_failures: std::collections::BTreeMap<String, u64>,
    /// The names the server went by: the computer names its NTLM
    /// CHALLENGEs gave (NetBIOS, DNS), the server part of tree-connect
    /// paths, the host of Kerberos service principals. First seen first.
    pub server_names: Vec<String>,
    /// The systems the NTLMSSP VERSION fields name: the server's from its
    /// CHALLENGE, the client's from its AUTHENTICATE (null when none had one).
    pub server_os: Option<super::os::OsReport>,
    pub client_os: Option<super::os::OsReport>,
    /// What cross-connection checks compare (never in the JSON): each
    /// NTLM exchange and both sides' NEGOTIATE.
    #[serde(skip)]
    pub facts: LinkFacts,
    /// The endpoints' addresses (never in the JSON: `client` and `server`
    /// print them).
    #[serde(skip)]
    pub client_ip: Option<IpAddr>,
    #[serde(skip)]
    pub server_ip: Option<IpAddr>,
    /// Session keys derived during verification (never in the JSON;
    /// `--export-keys` writes them for Wireshark).
    #[serde(skip)]
    pub session_keys: Vec<ExportedKey>,
}

/// One session's keys, for Wireshark's SMB2 key table.
#[derive(Clone, PartialEq, Eq)]
pub struct ExportedKey {
    pub session_id: u64,
    /// Session.SessionKey (the first 16 bytes: signing uses no more, and
    /// Wireshark 4.0 takes no more).
    pub session_key: [u8; 16],
    /// The whole key, the 3.1.1 preauth hash, the dialect and cipher: what
    /// the cipher keys are derived from (`cipher_keys`, only when asked).
    full_key: Vec<u8>,
    preauth: Option<[u8; 64]>,
    dialect: Option<crate::wire::smb2::Smb2Dialect>,
    cipher: Option<Cipher>,
}

impl ExportedKey {
    /// The SMB3 cipher keys, client-to-server and server-to-client (32
    /// bytes for the AES-256 ciphers, which use the whole session key).
    pub fn cipher_keys(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        crate::verify::kdf::cipher_keys(
            &self.full_key,
            self.dialect?,
            self.cipher,
            self.preauth.as_ref(),
        )
    }
}

impl std::fmt::Debug for ExportedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportedKey")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

/// The keys of every keyed session, with what its SMB3 cipher keys are
/// derived from.
fn exported_keys(c: &Connection) -> Vec<ExportedKey> {
    let Some(v) = c.verify.as_ref() else {
        return Vec::new();
    };
    let dialect = c.dialect.as_ref().and_then(|d| d.smb2());
    v.session_keys()
        .into_iter()
        .map(|(id, key)| {
            let (full, hash) = v.key_material(id).unwrap_or((&[], None));
            ExportedKey {
                session_id: id,
                session_key: key,
                full_key: full.to_vec(),
                preauth: hash.copied(),
                dialect,
                cipher: c.server.cipher,
            }
        })
        .collect()
}

/// The address of an "ip:port" / "[v6]:port" endpoint.
pub fn endpoint_ip(endpoint: &str) -> Option<IpAddr> {
    endpoint
        .parse::<SocketAddr>()
        .map(|a| a.ip())
        .ok()
        .or_else(|| endpoint.parse().ok())
}

/// Names a server went by, at most this many per connection.
pub const MAX_SERVER_NAMES: usize = 8;

fn server_names(c: &Connection) -> Vec<String> {
    let challenged = c
        .ntlm
        .iter()
        .filter_map(|l| l.challenge.as_ref())
        .flat_map(|ch| ch.computer_names.iter().map(String::as_str));
    let spns = c
        .sessions
        .iter()
        .filter_map(|s| s.service_principal.as_deref())
        .map(|p| super::spn_host(p.split('@').next().unwrap_or(p)));
    let mut out: Vec<String> = Vec::new();
    for n in challenged
        .chain(c.tree_hosts.iter().map(String::as_str))
        .chain(spns)
    {
        if out.len() >= MAX_SERVER_NAMES {
            break;
        }
        if !n.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(n)) {
            out.push(n.to_owned());
        }
    }
    out
}

impl LinkFacts {
    /// The connection's facts, moved out (for a connection that is done).
    pub fn take(c: &mut Connection) -> Self {
        LinkFacts {
            ntlm: std::mem::take(&mut c.ntlm),
            client: std::mem::take(&mut c.client),
            server: std::mem::take(&mut c.server),
        }
    }
}

impl ConnectionReport {
    /// The report of a connection that is done: its facts are moved into
    /// the report, not copied (the connection keeps the rest).
    pub fn build_final(c: &mut Connection, t: Transport) -> Self {
        let mut r = Self::build_without_facts(c, t);
        r.facts = LinkFacts::take(c);
        r
    }

    pub fn build(c: &Connection, t: Transport) -> Self {
        let mut r = Self::build_without_facts(c, t);
        r.facts = LinkFacts {
            ntlm: c.ntlm.clone(),
            client: c.client.clone(),
            server: c.server.clone(),
        };
        r
    }

    fn build_without_facts(c: &Connection, t: Transport) -> Self {
        let verifying = c.verifies();
        let n = &c.counts;
        let findings = findings_between(c, t.client_ip, t.server_ip);
        ConnectionReport {
            kind: "connection",
            file: None,
            client: t.client,
            server: t.server,
            first_frame: c.first_frame,
            last_frame: c.last_frame,
            dialect: c.dialect.clone(),
            server_security_mode: c.server.security_mode,
            client_security_mode: c.client.security_mode.map(|m| m.0),
            offered_dialects: c
                .client
                .smb1_dialects
                .iter()
                .cloned()
                .chain(
                    c.client
                        .smb2_dialects
                        .iter()
                        .map(|d| Dialect::Smb2(*d).name()),
                )
                .collect(),
            offered_smb1: !c.client.smb1_dialects.is_empty(),
            server_signing: c.server_signing(),
            client_signing: c.client_signing(),
            signing_algorithm: c.mac_algorithm(),
            cipher: c.server.cipher,
            signed_messages: n.signed,
            unsigned_messages: n.unsigned,
            requests: n.requests,
            responses: n.responses,
            encrypted_messages: n.encrypted,
            encryption_offered: super::encryption::encryption_offered(c),
            compressed_messages: n.compressed,
            unsigned_while_required: c.tally.unsigned_while_required,
            sessions: c
                .sessions
                .iter()
                .map(|s| SessionReport::build(c, s))
                .collect(),
            findings,
            gap_bytes: t.gap_bytes,
            resyncs: t.resyncs,
            decode_errors: c.decode_errors,
            closed: c.closed,
            verified_messages: verifying.then_some(c.tally.verified),
            forged_messages: verifying.then_some(c.tally.forged),
            no_key_messages: verifying.then_some(c.tally.no_key),
            unverifiable_messages: verifying.then_some(c.tally.unverifiable),
            forged_frames: c.tally.forged_frames.clone(),
            decrypted_messages: verifying.then_some(c.tally.decrypted),
            bad_tag_messages: verifying.then_some(c.tally.bad_tags),
            bad_tag_frames: c.tally.bad_tag_frames.clone(),
            tree_connects: c.tree_connects.iter().map(TreeConnectReport::of).collect(),
            decrypted_commands: c
                .decrypted_commands
                .iter()
                .map(|(code, n)| (command_name(*code), *n))
                .collect(),
            decrypted_command_codes: c.decrypted_commands.clone(),
            decompressed_messages: c.decompression.decompressed,
            compression_algorithms: c
                .decompression
                .algorithms
                .iter()
                .map(|(a, n)| (CompressionAlgorithm(*a).name(), *n))
                .collect(),
            decompression_failures: c.decompression.failures.clone(),
            server_names: server_names(c),
            server_os: super::os::OsReport::of_server(c),
            client_os: super::os::OsReport::of_client(c),
            facts: LinkFacts::default(),
            client_ip: t.client_ip,
            server_ip: t.server_ip,
            session_keys: exported_keys(c),
        }
    }

    /// The connection speaks SMB2 or later (its keys go in Wireshark's
    /// SMB2 key table).
    pub fn is_smb2(&self) -> bool {
        self.dialect.as_ref().is_some_and(|d| !d.is_smb1())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id as the JSON prints it keys the same session when given back
    /// as `session-key ID:HEX`, for SMB1 UIDs and SMB2 SessionIds.
    #[test]
    fn json_session_ids_round_trip_through_session_keys() {
        for (id, smb1) in [(0x39bb, true), (0x0000_1234_0000_0025, false), (0, true)] {
            let text = session_id_string(id, smb1);
            assert_eq!(text.len(), if smb1 { 6 } else { 18 }, "{text}");
            let mut c = crate::verify::Credentials::default();
            c.add_session_key(&format!("{text}:{}", "00".repeat(16)))
                .unwrap();
            assert!(c.session_keys.contains_key(&id), "{text}");
        }
    }
}
