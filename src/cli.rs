//! The `smbsign` command line: argument parsing, output formats and exit codes.
#![forbid(unsafe_code)]

use crate::capture::{self, CaptureError};
use crate::posture::{ConnectionReport, FindingCode, Severity};
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

const SCAN_EXAMPLES: &str = "\
Examples:
  smbsign scan capture.pcapng
      one row per SMB connection, then its findings
  smbsign scan --json a.pcap b.pcapng | jq 'select(.server_signing != \"required\")'
      JSON lines, one object per connection
  smbsign scan --fail-on warning capture.pcap
      exit 1 when any finding of severity warning or error is present
  smbsign scan --fail-on signing-not-required captures/*.pcap
      exit 1 when a server does not require signing (NTLM relay exposure)
  smbsign scan --password 'LAB\\alice:secret' --fail-on bad-signature capture.pcap
      verify every signature (NTLM sessions) and exit 1 on a forged one
  smbsign scan --session-key 0x00000000fa3dfb19:2a0f…  capture.pcap
      verify a Kerberos session with its session key (as Wireshark's table)
  smbsign scan --credentials secrets.txt capture.pcap
      lines 'password USER:PASS', 'nt-hash USER:HEX32', 'session-key ID:HEX'

Exit status: 0 no matching finding, 1 a --fail-on finding was present,
2 a file could not be read (a truncated capture is still reported as far as it goes).";

#[derive(Parser, Debug)]
#[command(
    name = "smbsign",
    version,
    about = "SMB signing analysis for packet captures",
    long_about = "Reads pcap/pcapng captures and tells, for every SMB1/SMB2/SMB3 connection, \
                  what client and server offered for signing, what was negotiated, whether the \
                  traffic was actually signed, and what an auditor should change."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Report the signing posture of every SMB connection in capture files.
    #[command(after_help = SCAN_EXAMPLES)]
    Scan(ScanArgs),
    /// Explain a Security Mode value, predict a client/server combination,
    /// or list a Windows version's defaults (KB 887429).
    #[command(after_help = EXPLAIN_EXAMPLES)]
    Explain(ExplainArgs),
}

const EXPLAIN_EXAMPLES: &str = "\
Examples:
  smbsign explain --security-mode 7          SMB1 NEGOTIATE SecurityMode, bit by bit
  smbsign explain --security-mode 0x03 --smb2
  smbsign explain --client required --server disabled --smb1
  smbsign explain --os 'Windows Server 2003' --role dc
  smbsign explain --os xp --json";

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
    pub client: Option<crate::conn::SigningSetting>,
    /// Server signing setting: disabled, enabled or required.
    #[arg(long, value_name = "SETTING", value_parser = parse_setting, requires = "client")]
    pub server: Option<crate::conn::SigningSetting>,
    /// A system from the KB: "Windows 98", "Windows NT 4.0", "Windows 2000",
    /// "Windows XP", "Windows Server 2003" (short forms like "2003" work).
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

fn parse_setting(s: &str) -> Result<crate::conn::SigningSetting, String> {
    use crate::conn::SigningSetting::*;
    match s.to_ascii_lowercase().as_str() {
        "disabled" | "off" => Ok(Disabled),
        "enabled" | "on" | "auto" => Ok(Enabled),
        "required" | "mandatory" => Ok(Required),
        _ => Err(format!("'{s}' is not one of disabled, enabled, required")),
    }
}

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// pcap or pcapng files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print JSON lines (one object per connection) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when a finding of this severity or worse (info, warning,
    /// error), or with this code (e.g. signing-not-required), is present.
    #[arg(long, value_name = "LEVEL|CODE", value_parser = parse_fail_on)]
    pub fail_on: Vec<FailOn>,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Verify signatures of NTLM sessions of USER (DOMAIN\user or user)
    /// with this password. Repeatable.
    #[arg(long, value_name = "USER:PASSWORD")]
    pub password: Vec<String>,
    /// As --password, with the NT hash (32 hex digits). Repeatable.
    #[arg(long, value_name = "USER:HEX32")]
    pub nt_hash: Vec<String>,
    /// Session key (16 or 32 bytes hex) for a session id as the JSON shows
    /// it; needed for Kerberos sessions. Repeatable.
    #[arg(long, value_name = "SESSIONID:HEX")]
    pub session_key: Vec<String>,
    /// Read secrets from a file instead of the command line: lines
    /// "password USER:PASS", "nt-hash USER:HEX32", "session-key ID:HEX".
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// Write the SMB2/3 session keys derived while verifying to FILE, one
    /// line per session in Wireshark's "SMB2 session keys" table format
    /// (session id as on the wire, key), for decrypting in Wireshark.
    #[arg(long, value_name = "FILE")]
    pub export_keys: Option<PathBuf>,
}

impl ScanArgs {
    /// The credentials given, or None when there are none.
    fn credentials(&self) -> Result<Option<std::sync::Arc<crate::verify::Credentials>>, String> {
        let mut c = crate::verify::Credentials::default();
        for p in &self.password {
            c.add_password(p).map_err(|e| e.to_string())?;
        }
        for h in &self.nt_hash {
            c.add_nt_hash(h).map_err(|e| e.to_string())?;
        }
        for k in &self.session_key {
            c.add_session_key(k).map_err(|e| e.to_string())?;
        }
        if let Some(path) = &self.credentials {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            c.add_file_text(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok((!c.is_empty()).then(|| std::sync::Arc::new(c)))
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

fn matches_fail_on(r: &ConnectionReport, rules: &[FailOn]) -> bool {
    r.findings.iter().any(|f| {
        rules.iter().any(|rule| match rule {
            FailOn::Severity(s) => f.severity >= *s,
            FailOn::Code(c) => f.code == *c,
        })
    })
}

/// Run the CLI; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Scan(args) => scan(args),
        Command::Explain(args) => explain(args),
    }
}

fn progress_bar(path: &std::path::Path, no_progress: bool) -> Option<indicatif::ProgressBar> {
    const MIN_SIZE: u64 = 64 * 1024 * 1024;
    if no_progress || !std::io::stderr().is_terminal() {
        return None;
    }
    let size = std::fs::metadata(path).ok()?.len();
    if size < MIN_SIZE {
        return None;
    }
    let pb = indicatif::ProgressBar::new(size);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .ok()?
        .progress_chars("=> "),
    );
    pb.set_message(path.display().to_string());
    Some(pb)
}

fn scan(args: ScanArgs) -> i32 {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut read_error = false;
    let mut fail = false;
    let credentials = match args.credentials() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smbsign: {e}");
            return 2;
        }
    };
    if args.export_keys.is_some() && credentials.is_none() {
        eprintln!(
            "smbsign: --export-keys needs credentials (--password, --nt-hash, --session-key or --credentials)"
        );
        return 2;
    }
    let mut exported: Vec<String> = Vec::new();
    for path in &args.files {
        let pb = progress_bar(path, args.no_progress);
        let mut last = 0u64;
        let progress = |n: u64| {
            if let Some(pb) = &pb
                && n - last > 4 << 20
            {
                pb.set_position(n);
                last = n;
            }
        };
        // JSON lines stream out as connections end (flat memory on huge
        // files); the table is for people and is printed per file.
        let mut table_reports = Vec::new();
        let mut stream_error: Option<std::io::Error> = None;
        let result = capture::scan_path_streaming(path, credentials.clone(), progress, |r| {
            if matches_fail_on(&r, &args.fail_on) {
                fail = true;
            }
            let smb2 = r
                .dialect
                .as_deref()
                .is_some_and(|d| d.starts_with(char::is_numeric));
            for (id, key) in r.session_keys.iter().filter(|_| smb2) {
                // Wireshark's smb2_seskey_list: session id bytes as on the
                // wire (little-endian), the session key, no cipher keys.
                let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
                exported.push(format!("{},{},\"\",\"\"", hex(&id.to_le_bytes()), hex(key)));
            }
            if args.json {
                if stream_error.is_none() {
                    let w = serde_json::to_writer(&mut out, &r)
                        .map_err(std::io::Error::other)
                        .and_then(|_| writeln!(out));
                    if let Err(e) = w {
                        stream_error = Some(e);
                    }
                }
            } else {
                table_reports.push(r);
            }
        });
        if let Some(pb) = pb {
            pb.finish_and_clear();
        }
        let (stats, error) = match result {
            Ok(o) => o,
            Err(e) => {
                eprintln!("smbsign: {}: {e}", path.display());
                read_error = true;
                continue;
            }
        };
        if let Some(e) = &error {
            eprintln!("smbsign: {}: {e}", path.display());
            read_error = true;
        }
        if stats.flows_evicted > 0 {
            eprintln!(
                "smbsign: {}: {} connection(s) reported before their end: more than {} were open at once",
                path.display(),
                stats.flows_evicted,
                capture::MAX_FLOWS
            );
        }
        if stats.memory_sheds > 0 {
            eprintln!(
                "smbsign: {}: reassembly memory reached {} MiB {} time(s): those connections stopped waiting for lost segments (counted in gap_bytes) and kept message headers only",
                path.display(),
                capture::MAX_HELD_BYTES >> 20,
                stats.memory_sheds
            );
        }
        table_reports.sort_by_key(|r| r.first_frame.unwrap_or(u64::MAX));
        let outcome = capture::ScanOutcome {
            reports: table_reports,
            stats,
            error,
        };
        let written = match stream_error {
            Some(e) => Err(e),
            None if args.json => Ok(()),
            None => write_table(&mut out, path, &outcome),
        };
        if let Err(e) = written {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return if read_error { 2 } else { i32::from(fail) };
            }
            eprintln!("smbsign: writing output: {e}");
            return 2;
        }
    }
    if out.flush().is_err() {
        return 2;
    }
    if let Some(path) = &args.export_keys {
        exported.dedup();
        let text: String = exported.iter().map(|l| format!("{l}\n")).collect();
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("smbsign: {}: {e}", path.display());
            return 2;
        }
    }
    if read_error { 2 } else { i32::from(fail) }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

fn write_table(
    out: &mut impl Write,
    path: &std::path::Path,
    o: &capture::ScanOutcome,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{}: {} frames, {} SMB connection(s){}",
        path.display(),
        o.stats.frames,
        o.reports.len(),
        match &o.error {
            Some(CaptureError::Truncated { .. }) => " (capture truncated; reported as far as read)",
            Some(_) => " (read stopped early)",
            None => "",
        }
    )?;
    if o.reports.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{:<24} {:<24} {:<11} {:<16} {:<16} {:>7} {:>8} {:>5}",
        "CLIENT",
        "SERVER",
        "DIALECT",
        "SERVER SIGNING",
        "CLIENT SIGNING",
        "SIGNED",
        "UNSIGNED",
        "ENC"
    )?;
    for r in &o.reports {
        let side = |s: Option<&str>, m: Option<u16>| match (s, m) {
            (Some(s), Some(m)) => format!("{s} (0x{m:02x})"),
            (Some(s), None) => s.to_string(),
            _ => "-".into(),
        };
        writeln!(
            out,
            "{:<24} {:<24} {:<11} {:<16} {:<16} {:>7} {:>8} {:>5}",
            r.client,
            r.server,
            opt(r.dialect.as_deref()),
            side(r.server_signing, r.server_security_mode),
            side(r.client_signing, r.client_security_mode),
            r.signed_messages,
            r.unsigned_messages,
            r.encrypted_messages
        )?;
        for s in &r.sessions {
            let verified = match (s.verified, s.forged, s.no_key) {
                (Some(v), Some(f), Some(n)) => format!(
                    " signatures: {v} valid, {f} forged, {n} without key{}",
                    s.key
                        .as_deref()
                        .map(|k| format!(" (key {k})"))
                        .unwrap_or_default()
                ),
                _ => String::new(),
            };
            writeln!(
                out,
                "    session {} {} {}{}{}{}{}",
                s.session_id,
                s.user.as_deref().unwrap_or("-"),
                s.mechanism,
                if s.guest { " guest" } else { "" },
                if s.anonymous { " anonymous" } else { "" },
                if s.encrypted { " encrypted" } else { "" },
                verified,
            )?;
        }
        for f in &r.findings {
            writeln!(
                out,
                "    {:<7} {}: {}",
                f.severity.as_str(),
                f.code.as_str(),
                f.message
            )?;
        }
    }
    Ok(())
}

fn explain(args: ExplainArgs) -> i32 {
    use crate::posture::kb;
    let mut out: Vec<serde_json::Value> = Vec::new();
    let mut text = String::new();
    if let Some(mode) = args.security_mode {
        if args.smb2 {
            let bits = [
                (0x1, "signing enabled (SMB2_NEGOTIATE_SIGNING_ENABLED)"),
                (0x2, "signing required (SMB2_NEGOTIATE_SIGNING_REQUIRED)"),
            ];
            let setting = crate::conn::SigningSetting::from_smb2_security_mode(mode);
            text.push_str(&format!("SMB2/3 SecurityMode {mode} (0x{mode:04x}):\n"));
            for (mask, meaning) in bits {
                text.push_str(&format!(
                    "  0x{mask:x} {} {meaning}\n",
                    if mode & mask != 0 { "set  " } else { "clear" }
                ));
            }
            text.push_str(&format!(
                "  => signing {}: SMB2+ can always sign; it signs when either side requires it\n",
                setting.as_str()
            ));
            out.push(serde_json::json!({
                "type": "security-mode", "protocol": "smb2", "value": mode,
                "bits": bits.iter().map(|(m, t)| serde_json::json!({"mask": m, "set": mode & m != 0, "meaning": t})).collect::<Vec<_>>(),
                "signing": setting.as_str(),
            }));
        } else {
            let m8 = (mode & 0xff) as u8;
            let bits = [
                (0x1, "0 = share, 1 = user (user level security)"),
                (0x2, "encrypt passwords"),
                (0x4, "Security Signatures (SMB sequence numbers) enabled"),
                (0x8, "Security Signatures (SMB sequence numbers) required"),
            ];
            text.push_str(&format!(
                "SMB1 NEGOTIATE response SecurityMode {mode} (0x{mode:02x}):\n"
            ));
            for (k, (mask, meaning)) in bits.iter().enumerate() {
                let set = m8 & mask != 0;
                let meaning = match (k, set) {
                    (0, true) => "user level security",
                    (0, false) => "share level security",
                    _ => meaning,
                };
                text.push_str(&format!(
                    "  bit {k} = {}: {meaning}{}\n",
                    u8::from(set),
                    if k > 0 && !set { " (not set)" } else { "" }
                ));
            }
            let summary = crate::posture::smb1_security_mode_summary(m8);
            text.push_str(&format!(
                "  => {summary} (the KB: 3 = disabled, 7 = enabled, 15 = required)\n"
            ));
            if mode > 0xff {
                text.push_str("  note: SMB1 SecurityMode is 8 bits (16 in LANMAN responses); higher bits ignored\n");
            }
            out.push(serde_json::json!({
                "type": "security-mode", "protocol": "smb1", "value": mode,
                "bits": bits.iter().enumerate().map(|(k, (m, t))| serde_json::json!({"bit": k, "mask": m, "set": m8 & m != 0, "meaning": t})).collect::<Vec<_>>(),
                "signing": crate::conn::SigningSetting::from_smb1_security_mode(m8).as_str(),
                "summary": summary,
            }));
        }
    }
    if let (Some(client), Some(server)) = (args.client, args.server) {
        let protocols: Vec<kb::Protocol> = match (args.smb1, args.smb2) {
            (true, _) => vec![kb::Protocol::Smb1],
            (_, true) => vec![kb::Protocol::Smb2],
            _ => vec![kb::Protocol::Smb1, kb::Protocol::Smb2],
        };
        for p in protocols {
            let outcome = kb::predict(p, client, server);
            let fix = match outcome {
                kb::Outcome::ClosedAfterNegotiate => Some(format!(
                    "on the server, {}",
                    kb::enable_signing_fix(kb::Side::Server)
                )),
                kb::Outcome::AccessDenied => Some(format!(
                    "on the client, {}",
                    kb::enable_signing_fix(kb::Side::Client)
                )),
                kb::Outcome::SucceedsUnsigned => Some(format!(
                    "to sign, on the server, {}",
                    kb::require_signing_fix(kb::Side::Server)
                )),
                kb::Outcome::SucceedsSigned => None,
            };
            let name = match p {
                kb::Protocol::Smb1 => "SMB1",
                kb::Protocol::Smb2 => "SMB2/SMB3",
            };
            text.push_str(&format!(
                "{name}: client signing {}, server signing {}: {}\n",
                client.as_str(),
                server.as_str(),
                outcome.describe()
            ));
            if let Some(f) = &fix {
                text.push_str(&format!("  fix: {f}\n"));
            }
            out.push(serde_json::json!({
                "type": "scenario", "protocol": p, "client": client.as_str(), "server": server.as_str(),
                "outcome": outcome, "description": outcome.describe(), "fix": fix,
            }));
        }
    }
    if let Some(os) = &args.os {
        let Some(role) = kb::Role::parse(&args.role) else {
            eprintln!(
                "smbsign: --role '{}' is not one of dc, member, any",
                args.role
            );
            return 2;
        };
        let rows = kb::defaults_for(os, role);
        if rows.is_empty() {
            let mut known: Vec<&str> = kb::DEFAULTS.iter().map(|d| d.os).collect();
            known.dedup();
            eprintln!(
                "smbsign: '{os}' is not a system the KB describes (it covers: {}); for newer Windows see \
                 the README's notes on modern Windows",
                known.join(", ")
            );
            return 2;
        }
        for d in rows {
            let yn = |v: Option<bool>| match v {
                Some(true) => "1",
                Some(false) => "0",
                None => "not described",
            };
            let role = match d.role {
                kb::Role::Any => String::new(),
                kb::Role::DomainController => " (domain controller)".into(),
                kb::Role::Member => " (member server / workstation)".into(),
            };
            text.push_str(&format!("{}{role} defaults (KB 887429):\n", d.os));
            let client_policies = kb::POLICIES.iter().filter(|p| p.side == kb::Side::Client);
            for p in client_policies {
                let v = match p.knob {
                    kb::Knob::Enable => d.client_enabled,
                    kb::Knob::Require => d.client_required,
                };
                text.push_str(&format!(
                    "  client: {}\\{} = {}\n",
                    d.client_key,
                    p.value_name,
                    yn(v)
                ));
                text.push_str(&format!(
                    "          policy \"{}\" / \"{}\"\n",
                    p.policy_xp_2003, p.policy_2000
                ));
            }
            for p in kb::POLICIES.iter().filter(|p| p.side == kb::Side::Server) {
                let v = match p.knob {
                    kb::Knob::Enable => d.server_enabled,
                    kb::Knob::Require => d.server_required,
                };
                match d.server_key {
                    Some(key) => {
                        text.push_str(&format!("  server: {key}\\{} = {}\n", p.value_name, yn(v)));
                        text.push_str(&format!(
                            "          policy \"{}\" / \"{}\"\n",
                            p.policy_xp_2003, p.policy_2000
                        ));
                    }
                    None => text.push_str(&format!(
                        "  server: {} not described by the KB\n",
                        p.value_name
                    )),
                }
            }
            out.push(serde_json::json!({
                "type": "defaults", "os": d.os, "role": d.role,
                "client": {"enabled": d.client_enabled, "required": d.client_required, "registry_key": d.client_key},
                "server": {"enabled": d.server_enabled, "required": d.server_required, "registry_key": d.server_key},
                "policies": kb::POLICIES,
                "policy_path": kb::POLICY_PATH,
                "advice": kb::POLICY_ADVICE,
            }));
        }
        text.push_str(&format!(
            "  ({}; Group Policy path: {})\n",
            kb::POLICY_ADVICE,
            kb::POLICY_PATH
        ));
    }
    if out.is_empty() {
        eprintln!(
            "smbsign: explain needs --security-mode N, --client X --server Y, or --os SYSTEM (see --help)"
        );
        return 2;
    }
    let rendered = if args.json {
        out.iter().map(|v| format!("{v}\n")).collect::<String>()
    } else {
        text
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(rendered.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("smbsign: writing output: {e}");
            2
        }
    }
}
