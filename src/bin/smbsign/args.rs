//! Command-line arguments of `scan` and `explain`.

use smbsign::posture::{FindingCode, Severity};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// A SecurityMode value (decimal or 0x hex) from a NEGOTIATE response.
    #[arg(long, value_name = "N", value_parser = parse_number)]
    pub security_mode: Option<u16>,
    /// The value / scenario is SMB2 or SMB3 (16-bit SecurityMode).
    #[arg(long, conflicts_with = "smb1")]
    pub smb2: bool,
    /// The scenario is SMB1 (the default for --security-mode).
    #[arg(long)]
    pub smb1: bool,
    /// Client signing setting: disabled, enabled or required.
    #[arg(long, value_name = "SETTING", value_parser = parse_setting, requires = "server")]
    pub client: Option<smbsign::conn::SigningSetting>,
    /// Server signing setting: disabled, enabled or required.
    #[arg(long, value_name = "SETTING", value_parser = parse_setting, requires = "client")]
    pub server: Option<smbsign::conn::SigningSetting>,
    /// A system: from the KB "Windows 98", "Windows NT 4.0", "Windows 2000",
    /// "Windows XP", "Windows Server 2003"; today's "Windows 10", "Windows
    /// 11" (before and from 24H2), "2016"/"2019"/"2022", "2025", "domain
    /// controller", "Samba" (short forms like "2003" work).
    #[arg(long, value_name = "SYSTEM")]
    pub os: Option<String>,
    /// With --os: dc (domain controller) or member.
    #[arg(long, value_name = "ROLE", default_value = "any")]
    pub role: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_number(s: &str) -> Result<u16, String> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u16::from_str_radix(h, 16),
        None => s.parse(),
    };
    v.map_err(|_| format!("'{s}' is not a number (decimal or 0x hex, 0-65535)"))
}

fn parse_setting(s: &str) -> Result<smbsign::conn::SigningSetting, String> {
    smbsign::conn::SigningSetting::parse(s)
        .ok_or_else(|| format!("'{s}' is not one of disabled, enabled, required"))
}

/// What every reading command takes: the captures, the secrets to verify
/// with, how many files at once, and the relay-target list.
#[derive(clap::Args, Debug)]
pub struct InputArgs {
    /// pcap or pcapng files (gzip-compressed or not), directories (walked
    /// recursively; files recognised by their magic), or - for standard
    /// input.
    #[arg(required = true, value_name = "FILE|DIR|-")]
    pub files: Vec<PathBuf>,
    /// Scan this many files at once (default: the number of cores). The
    /// output is the same whatever N is.
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// No progress bar (as --no-progress).
    #[arg(short, long)]
    pub quiet: bool,
    /// Write the servers that do not require signing to FILE, one address
    /// per line (as NetExec's --gen-relay-list writes and ntlmrelayx.py -tf
    /// reads): servers seen answering NEGOTIATE without SIGNING_REQUIRED and
    /// never with it. Servers seen both ways are named on stderr instead.
    #[arg(long, value_name = "FILE")]
    pub relay_list: Option<PathBuf>,
    #[command(flatten)]
    pub secrets: SecretArgs,
}

/// The secrets to verify with.
#[derive(clap::Args, Debug)]
pub struct SecretArgs {
    /// Verify signatures of sessions of USER (DOMAIN\user or user) with
    /// this password: NTLM logons, and Kerberos logons whose KDC exchange
    /// (port 88) is in one of the files. Repeatable.
    #[arg(long, value_name = "USER:PASSWORD")]
    pub password: Vec<String>,
    /// As --password, with the NT hash (32 hex digits). Repeatable.
    #[arg(long, value_name = "USER:HEX32")]
    pub nt_hash: Vec<String>,
    /// Session key (16 or 32 bytes hex) for a session id as the JSON shows
    /// it (for Kerberos sessions when neither a keytab nor the KDC exchange
    /// is at hand). Repeatable.
    #[arg(long, value_name = "SESSIONID:HEX")]
    pub session_key: Vec<String>,
    /// Verify Kerberos sessions with the service keys of this MIT keytab
    /// (ktutil, `samba-tool domain exportkeytab`, ktpass). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub keytab: Vec<PathBuf>,
    /// Read secrets from a file instead of the command line: lines
    /// "password USER:PASS", "nt-hash USER:HEX32", "session-key ID:HEX",
    /// "keytab PATH".
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Print JSON lines (one object per connection) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when a finding of this severity or worse (info, warning,
    /// error), or with this code (e.g. signing-not-required), is present.
    #[arg(long, value_name = "LEVEL|CODE", value_parser = parse_fail_on)]
    pub fail_on: Vec<FailOn>,
    /// Write the SMB2/3 keys derived while verifying (NTLM and Kerberos)
    /// to FILE, one line per session in Wireshark's "SMB2 session keys"
    /// table format: session id as on the wire, session key, server-to-
    /// client and client-to-server cipher keys (32 bytes for AES-256, whose
    /// lines leave the session key empty for Wireshark 4.0's sake).
    #[arg(long, value_name = "FILE")]
    pub export_keys: Option<PathBuf>,
    /// Write a pcapng copy of the capture (one input file) in which every
    /// SMB3 TRANSFORM message that decrypted is replaced by the messages
    /// inside, with TCP sequence numbers, lengths and checksums fixed, so
    /// that any tool reads them. Needs credentials.
    #[arg(long, value_name = "OUT.pcapng")]
    pub decrypt_to: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct HostsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// One JSON object per host (servers, then clients) instead of a table.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV (one header line, then one row per host) instead of a table.
    #[arg(long)]
    pub csv: bool,
}

#[derive(clap::Args, Debug)]
pub struct WatchArgs {
    /// The interface to capture on (as tcpdump -i names it).
    #[arg(short, long, value_name = "IFACE")]
    pub interface: String,
    /// A capture filter (BPF, as tcpdump takes it) instead of
    /// "tcp port 445 or tcp port 139".
    #[arg(short, long, value_name = "BPF")]
    pub filter: Option<String>,
    /// One JSON object per finding (and per host in the summary), for a
    /// SIEM.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Stop after this many packets.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    #[command(flatten)]
    pub secrets: SecretArgs,
}

impl WatchArgs {
    pub fn credentials(
        &self,
    ) -> Result<Option<std::sync::Arc<smbsign::verify::Credentials>>, String> {
        self.secrets.credentials(&[])
    }
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Write one self-contained HTML file (inline CSS and SVG, no script,
    /// nothing fetched): summary, hosts, findings with evidence and fixes,
    /// connections, charts.
    #[arg(long, value_name = "OUT.html")]
    pub html: PathBuf,
}

impl SecretArgs {
    /// The credentials given, or None when there are none. With a
    /// password and several files, the Kerberos tickets of every file's KDC
    /// exchanges are learnt first (the exchange may be in another file).
    pub fn credentials(
        &self,
        sources: &[crate::inputs::Source],
    ) -> Result<Option<std::sync::Arc<smbsign::verify::Credentials>>, String> {
        let secrets = smbsign::verify::Secrets {
            passwords: self.password.clone(),
            nt_hashes: self.nt_hash.clone(),
            session_keys: self.session_key.clone(),
            keytabs: self.keytab.clone(),
            credentials_file: self.credentials.clone(),
        };
        smbsign::scan::many::run_credentials(&secrets, sources)
    }
}

impl InputArgs {
    pub fn credentials(
        &self,
        sources: &[crate::inputs::Source],
    ) -> Result<Option<std::sync::Arc<smbsign::verify::Credentials>>, String> {
        self.secrets.credentials(sources)
    }

    /// Workers for `-j` (default: the cores this process may use).
    pub fn jobs(&self) -> usize {
        self.jobs.map(usize::from).unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Severity(Severity),
    Code(FindingCode),
}

fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    if let Some(sev) = Severity::parse(s) {
        return Ok(FailOn::Severity(sev));
    }
    if let Some(code) = FindingCode::parse(s) {
        return Ok(FailOn::Code(code));
    }
    let codes: Vec<&str> = FindingCode::ALL.iter().map(|c| c.as_str()).collect();
    Err(format!(
        "'{s}' is neither a severity (info, warning, error) nor a finding code ({})",
        codes.join(", ")
    ))
}
