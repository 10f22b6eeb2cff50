//! One row per server and per client, merged over every connection report
//! of a run (any number of captures): what each host negotiated, how it
//! signs, what it was called, and the worst that was found on it.

use crate::posture::{ConnectionReport, FindingCode, Severity};
use crate::wire::SigningSetting;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Names, clients, servers and users kept per host (the counts go on).
pub const MAX_LISTED: usize = 32;

/// A server's signing posture over the NEGOTIATE responses seen from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Posture {
    /// Responses that did not require signing, none that did (SMB1
    /// servers with signing off, then those with it enabled).
    Disabled,
    Enabled,
    /// Some responses required signing and some did not.
    Mixed,
    /// No NEGOTIATE response was seen: nothing is guessed.
    Unknown,
    Required,
}

impl Posture {
    /// Exposure rank for sorting: not requiring signing (disabled or
    /// enabled alike: both can be relayed to) first, required last.
    pub fn exposure(self) -> u8 {
        match self {
            Posture::Disabled | Posture::Enabled => 0,
            Posture::Mixed => 1,
            Posture::Unknown => 2,
            Posture::Required => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Posture::Disabled => "disabled",
            Posture::Enabled => "enabled",
            Posture::Mixed => "mixed",
            Posture::Unknown => "unknown",
            Posture::Required => "required",
        }
    }

    /// Counted observations to a posture.
    fn of(required: u64, enabled: u64, disabled: u64) -> Self {
        match (required, enabled + disabled) {
            (0, 0) => Posture::Unknown,
            (_, 0) => Posture::Required,
            (0, _) if enabled == 0 => Posture::Disabled,
            (0, _) => Posture::Enabled,
            _ => Posture::Mixed,
        }
    }
}

/// How signing settings were observed: one count per connection that
/// showed the side's setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Observed {
    pub required: u64,
    pub enabled: u64,
    pub disabled: u64,
}

impl Observed {
    fn add(&mut self, s: Option<SigningSetting>) {
        match s {
            Some(SigningSetting::Required) => self.required += 1,
            Some(SigningSetting::Enabled) => self.enabled += 1,
            Some(SigningSetting::Disabled) => self.disabled += 1,
            None => {}
        }
    }
    pub fn posture(&self) -> Posture {
        Posture::of(self.required, self.enabled, self.disabled)
    }
}

/// The worst finding on a host, and where it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorstFinding {
    pub code: FindingCode,
    pub severity: Severity,
    pub message: String,
    pub file: Option<String>,
    pub client: String,
    pub server: String,
}

/// A bounded, ordered set of strings (first seen first), with the count of
/// distinct values past the bound.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub values: Vec<String>,
    pub more: u64,
    #[serde(skip)]
    seen_more: BTreeSet<String>,
}

impl Listed {
    fn add(&mut self, v: &str) {
        if v.is_empty() || self.values.iter().any(|x| x.eq_ignore_ascii_case(v)) {
            return;
        }
        if self.values.len() < MAX_LISTED {
            self.values.push(v.to_owned());
        } else if self.seen_more.len() < 4096 && self.seen_more.insert(v.to_ascii_lowercase()) {
            self.more += 1;
        }
    }
    pub fn len(&self) -> u64 {
        self.values.len() as u64 + self.more
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Counters both kinds of row keep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tallies {
    pub connections: u64,
    pub sessions: u64,
    /// Sessions with signing in force, and the others that were
    /// established (not encrypted-only guests or anonymous alike: all).
    pub sessions_signed: u64,
    pub sessions_unsigned: u64,
    /// Sessions whose signatures all verified (at least one), and those
    /// with a forged one (credentials given).
    pub sessions_verified: u64,
    pub sessions_forged: u64,
    pub signed_messages: u64,
    pub unsigned_messages: u64,
    pub encrypted_messages: u64,
    /// Findings by code.
    pub findings: BTreeMap<String, u64>,
}

impl Tallies {
    fn add(&mut self, r: &ConnectionReport) {
        self.connections += 1;
        self.signed_messages += r.signed_messages;
        self.unsigned_messages += r.unsigned_messages;
        self.encrypted_messages += r.encrypted_messages;
        for s in &r.sessions {
            self.sessions += 1;
            if s.signing_required {
                self.sessions_signed += 1;
            } else if s.established {
                self.sessions_unsigned += 1;
            }
            match (s.verified, s.forged) {
                (_, Some(f)) if f > 0 => self.sessions_forged += 1,
                (Some(v), _) if v > 0 => self.sessions_verified += 1,
                _ => {}
            }
        }
        for f in &r.findings {
            *self.findings.entry(f.code.as_str().to_owned()).or_default() += 1;
        }
    }
}

/// One server, over every connection to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerHost {
    pub address: String,
    pub names: Listed,
    /// The system its NTLM CHALLENGEs name ("Windows Server 2022"), and
    /// the VERSION they carried ("10.0 build 20348").
    pub os: Option<String>,
    pub os_version: Option<String>,
    pub dialects: BTreeSet<String>,
    /// Connections per negotiated dialect.
    pub dialect_connections: BTreeMap<String, u64>,
    /// A client offered it SMB1 dialects; an SMB1 dialect was negotiated.
    pub smb1_offered: bool,
    pub smb1_accepted: bool,
    /// Its NEGOTIATE responses, counted by what they said.
    pub signing_observed: Observed,
    pub signing: Option<Posture>,
    /// "used" (TRANSFORM messages seen), "offered" (a cipher or the
    /// capability, never used), "none", or "unknown" (no response seen).
    pub encryption: &'static str,
    pub ntlmv1: bool,
    pub clients: Listed,
    #[serde(flatten)]
    pub tallies: Tallies,
    pub worst_finding: Option<WorstFinding>,
    #[serde(skip)]
    cipher_offered: bool,
}

/// One client, over every connection it made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClientHost {
    pub address: String,
    pub os: Option<String>,
    pub os_version: Option<String>,
    /// The dialects its NEGOTIATE requests offered.
    pub offered: BTreeSet<String>,
    pub smb1_offered: bool,
    /// What its NEGOTIATE requests said of signing, counted.
    pub signing_observed: Observed,
    pub signing: Option<Posture>,
    pub ntlmv1: bool,
    pub servers: Listed,
    pub users: Listed,
    #[serde(flatten)]
    pub tallies: Tallies,
    pub worst_finding: Option<WorstFinding>,
}

/// Servers (and clients) kept: past it, new hosts are counted, not kept,
/// so that a live watch over hours stays bounded.
pub const MAX_HOSTS: usize = 65_536;

/// Every host of a run.
#[derive(Debug, Default)]
pub struct Hosts {
    servers: BTreeMap<String, ServerHost>,
    clients: BTreeMap<String, ClientHost>,
    /// Connections whose server or client was past `MAX_HOSTS`.
    pub not_kept: u64,
}

/// A report's endpoint as a host: the address without the port.
fn host_of(ip: Option<std::net::IpAddr>, endpoint: &str) -> String {
    match ip {
        Some(ip) => ip.to_string(),
        None => endpoint.to_owned(),
    }
}

fn worse(current: &Option<WorstFinding>, r: &ConnectionReport) -> Option<WorstFinding> {
    // Findings are sorted most severe first.
    let f = r.findings.first()?;
    if current.as_ref().is_some_and(|w| w.severity >= f.severity) {
        return None;
    }
    Some(WorstFinding {
        code: f.code,
        severity: f.severity,
        message: f.message.clone(),
        file: r.file.clone(),
        client: r.client.clone(),
        server: r.server.clone(),
    })
}

fn has(r: &ConnectionReport, code: FindingCode) -> bool {
    r.findings.iter().any(|f| f.code == code)
}

impl Hosts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Count one connection's report in for its server and its client.
    pub fn add(&mut self, r: &ConnectionReport) {
        self.add_server(r);
        self.add_client(r);
    }

    fn add_server(&mut self, r: &ConnectionReport) {
        let address = host_of(r.server_ip, &r.server);
        if self.servers.len() >= MAX_HOSTS && !self.servers.contains_key(&address) {
            self.not_kept += 1;
            return;
        }
        let h = self.servers.entry(address.clone()).or_default();
        h.address = address;
        for n in &r.server_names {
            h.names.add(n);
        }
        if let Some(os) = &r.server_os {
            h.os = Some(os.name.clone());
            h.os_version = Some(os.version.clone());
        }
        if let Some(d) = &r.dialect {
            let name = d.name();
            if h.dialects.len() < MAX_LISTED || h.dialects.contains(&name) {
                *h.dialect_connections.entry(name.clone()).or_default() += 1;
                h.dialects.insert(name);
            }
            h.smb1_accepted |= d.is_smb1();
        }
        h.smb1_offered |= r.offered_smb1;
        h.signing_observed.add(r.server_signing);
        h.signing = Some(h.signing_observed.posture());
        h.cipher_offered |= r.encryption_offered;
        h.ntlmv1 |= has(r, FindingCode::Ntlmv1InUse);
        h.clients.add(&host_of(r.client_ip, &r.client));
        h.tallies.add(r);
        h.encryption = if h.tallies.encrypted_messages > 0 {
            "used"
        } else if h.cipher_offered {
            "offered"
        } else if h.signing_observed.posture() == Posture::Unknown {
            "unknown"
        } else {
            "none"
        };
        if let Some(w) = worse(&h.worst_finding, r) {
            h.worst_finding = Some(w);
        }
    }

    fn add_client(&mut self, r: &ConnectionReport) {
        let address = host_of(r.client_ip, &r.client);
        if self.clients.len() >= MAX_HOSTS && !self.clients.contains_key(&address) {
            self.not_kept += 1;
            return;
        }
        let h = self.clients.entry(address.clone()).or_default();
        h.address = address;
        if let Some(os) = &r.client_os {
            h.os = Some(os.name.clone());
            h.os_version = Some(os.version.clone());
        }
        for d in &r.offered_dialects {
            if h.offered.len() < MAX_LISTED {
                h.offered.insert(d.clone());
            }
        }
        h.smb1_offered |= r.offered_smb1;
        h.signing_observed.add(r.client_signing);
        h.signing = Some(h.signing_observed.posture());
        h.ntlmv1 |= has(r, FindingCode::Ntlmv1InUse);
        h.servers.add(&host_of(r.server_ip, &r.server));
        for s in &r.sessions {
            if let Some(u) = &s.user {
                h.users.add(u);
            }
        }
        h.tallies.add(r);
        if let Some(w) = worse(&h.worst_finding, r) {
            h.worst_finding = Some(w);
        }
    }

    /// Servers, most exposed first: not requiring signing, then SMB1, then
    /// NTLMv1, then no encryption; then by address.
    pub fn servers(&self) -> Vec<&ServerHost> {
        let mut v: Vec<&ServerHost> = self.servers.values().collect();
        v.sort_by_key(|h| {
            let signing = h.signing.unwrap_or(Posture::Unknown);
            (
                signing.exposure(),
                !(h.smb1_accepted || h.smb1_offered),
                !h.ntlmv1,
                h.encryption == "used",
                signing,
                sortable_address(&h.address),
            )
        });
        v
    }

    /// Clients, most exposed first (the same order of concerns).
    pub fn clients(&self) -> Vec<&ClientHost> {
        let mut v: Vec<&ClientHost> = self.clients.values().collect();
        v.sort_by_key(|h| {
            let signing = h.signing.unwrap_or(Posture::Unknown);
            (
                signing.exposure(),
                !h.smb1_offered,
                !h.ntlmv1,
                signing,
                sortable_address(&h.address),
            )
        });
        v
    }

    /// The relay-target list: servers seen with SIGNING_REQUIRED clear and
    /// never with it set, by address. Servers seen both ways come back
    /// apart, for the caller to report.
    pub fn relay_targets(&self) -> (Vec<&ServerHost>, Vec<&ServerHost>) {
        let mut targets = Vec::new();
        let mut conflicting = Vec::new();
        for h in self.servers.values() {
            let o = &h.signing_observed;
            match (o.required, o.enabled + o.disabled) {
                (0, n) if n > 0 => targets.push(h),
                (r, n) if r > 0 && n > 0 => conflicting.push(h),
                _ => {}
            }
        }
        targets.sort_by_key(|h| sortable_address(&h.address));
        conflicting.sort_by_key(|h| sortable_address(&h.address));
        (targets, conflicting)
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty() && self.clients.is_empty()
    }
}

/// Addresses sort numerically (10.0.0.9 before 10.0.0.10), others after.
fn sortable_address(a: &str) -> (u8, Vec<u8>, String) {
    match a.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => (0, v4.octets().to_vec(), String::new()),
        Ok(std::net::IpAddr::V6(v6)) => (1, v6.octets().to_vec(), String::new()),
        Err(_) => (2, Vec::new(), a.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posture_from_observations() {
        assert_eq!(Posture::of(0, 0, 0), Posture::Unknown);
        assert_eq!(Posture::of(3, 0, 0), Posture::Required);
        assert_eq!(Posture::of(0, 2, 0), Posture::Enabled);
        assert_eq!(Posture::of(0, 0, 2), Posture::Disabled);
        assert_eq!(Posture::of(0, 1, 1), Posture::Enabled);
        assert_eq!(Posture::of(1, 1, 0), Posture::Mixed);
        assert!(Posture::Disabled < Posture::Required);
    }

    #[test]
    fn listed_is_bounded_and_counts_the_rest() {
        let mut l = Listed::default();
        for i in 0..(MAX_LISTED + 10) {
            l.add(&format!("h{i}"));
            l.add(&format!("H{i}"));
        }
        assert_eq!(l.values.len(), MAX_LISTED);
        assert_eq!(l.len(), MAX_LISTED as u64 + 10);
    }

    #[test]
    fn addresses_sort_numerically() {
        let mut v = vec!["10.0.0.10", "fe80::1", "10.0.0.9", "name"];
        v.sort_by_key(|a| sortable_address(a));
        assert_eq!(v, ["10.0.0.9", "10.0.0.10", "fe80::1", "name"]);
    }
}

#[derive(Serialize)]
struct Tagged<'a, T> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    host: &'a T,
}

impl Hosts {
    /// `smbsign hosts --json`: one JSON line per server, then per client,
    /// most exposed first, each tagged `"type": "server"` or `"client"`.
    pub fn write_json_lines(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        for h in self.servers() {
            let tagged = Tagged {
                kind: "server",
                host: h,
            };
            serde_json::to_writer(&mut *out, &tagged)?;
            writeln!(out)?;
        }
        for h in self.clients() {
            let tagged = Tagged {
                kind: "client",
                host: h,
            };
            serde_json::to_writer(&mut *out, &tagged)?;
            writeln!(out)?;
        }
        Ok(())
    }
}
