//! The `smbsign` command line: a front end over the library (argument
//! parsing, output formats, exit codes). The library itself carries no
//! command-line dependencies.
#![forbid(unsafe_code)]

mod args;
mod docs;
mod explain;
mod hosts;
use smbsign::scan::inputs;
mod run;
mod scan;
#[cfg(feature = "live")]
mod watch;

#[cfg(feature = "live")]
use args::WatchArgs;
use args::{ExplainArgs, HostsArgs, ReportArgs, ScanArgs};
use clap::{Parser, Subcommand};

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
    /// One row per server and per client over every capture given, most
    /// exposed first (not requiring signing, SMB1, NTLMv1, no encryption).
    #[command(after_help = HOSTS_EXAMPLES)]
    Hosts(HostsArgs),
    /// Write the auditor's report of every capture given as one
    /// self-contained HTML file (`--html OUT.html`).
    Report(ReportArgs),
    /// Capture live on an interface (libpcap) and print findings as each
    /// connection ends; a host summary on SIGINT/SIGTERM.
    #[cfg(feature = "live")]
    #[command(after_help = WATCH_EXAMPLES)]
    Watch(WatchArgs),
    /// Explain a Security Mode value, predict a client/server combination,
    /// or list a Windows version's defaults (KB 887429).
    #[command(after_help = EXPLAIN_EXAMPLES)]
    Explain(ExplainArgs),
    /// Write the man pages and shell completions into DIR (for packages).
    #[command(hide = true)]
    GenerateDocs { dir: std::path::PathBuf },
}

const HOSTS_EXAMPLES: &str = "\
Examples:
  smbsign hosts captures/
      every capture under captures/ (recursively), one row per host
  smbsign hosts --relay-list targets.txt captures/ && ntlmrelayx.py -tf targets.txt
      the servers that do not require signing, for an active check
  smbsign hosts --csv -j 2 a.pcap b.pcapng.gz > hosts.csv
  tcpdump -i eth0 -w - port 445 | smbsign hosts -

A host whose NEGOTIATE response was never seen shows \"unknown\": nothing is guessed.";

#[cfg(feature = "live")]
const WATCH_EXAMPLES: &str = "\
Examples:
  sudo smbsign watch -i eth0
      findings as connections end; Ctrl-C prints the hosts seen
  sudo smbsign watch -i eth0 --json | tee findings.jsonl
  smbsign watch -i eth0 -f 'tcp port 445 or tcp port 4455' --duration 3600

Capturing needs CAP_NET_RAW (root, or: sudo setcap cap_net_raw,cap_net_admin=eip $(command -v smbsign)).";

const EXPLAIN_EXAMPLES: &str = "\
Examples:
  smbsign explain --security-mode 7          SMB1 NEGOTIATE SecurityMode, bit by bit
  smbsign explain --security-mode 0x03 --smb2
  smbsign explain --client required --server disabled --smb1
  smbsign explain --os 'Windows Server 2003' --role dc
  smbsign explain --os xp --json";

fn main() {
    let cli = Cli::parse();
    std::process::exit(match cli.command {
        Command::Scan(args) => scan::scan(args),
        Command::Hosts(args) => hosts::hosts(args),
        Command::Report(args) => hosts::report(args),
        #[cfg(feature = "live")]
        Command::Watch(args) => watch::watch(args),
        Command::Explain(args) => explain::explain(args),
        Command::GenerateDocs { dir } => docs::generate(&dir),
    });
}
