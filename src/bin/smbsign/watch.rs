//! `smbsign watch -i IFACE`: live capture through libpcap. Each
//! connection's findings print when it ends (FIN or RST), through the same
//! correlator as a file scan; on SIGINT or SIGTERM, or after `--duration`
//! or `--count`, the connections still open are reported and a host
//! summary follows. Memory is bounded by the scan's own caps (flows,
//! reassembly bytes, correlation window, hosts).

use crate::args::WatchArgs;
use smbsign::audit::Hosts;
use smbsign::capture::packet::LinkType;
use smbsign::correlate::Correlator;
use smbsign::posture::ConnectionReport;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long the loop sleeps when no packet is waiting.
const IDLE_WAIT: Duration = Duration::from_millis(20);

/// SMB over TCP and over NetBIOS.
pub const DEFAULT_FILTER: &str = "tcp port 445 or tcp port 139";

pub fn watch(args: WatchArgs) -> i32 {
    let credentials = match args.credentials() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smbsign: {e}");
            return 2;
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
            eprintln!("smbsign: cannot handle signal {sig}: {e}");
            return 2;
        }
    }
    let mut cap = match open(&args) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("smbsign: {message}");
            return 2;
        }
    };
    let link = LinkType(cap.get_datalink().0);
    if !link.supported() {
        eprintln!(
            "smbsign: {}: link type {} is not one smbsign reads",
            args.interface, link.0
        );
        return 2;
    }
    eprintln!(
        "smbsign: listening on {} ({}); findings print as each connection ends",
        args.interface,
        args.filter.as_deref().unwrap_or(DEFAULT_FILTER)
    );
    let scanner = smbsign::scan::Scanner::new(smbsign::scan::ScanOptions {
        credentials,
        ..smbsign::scan::ScanOptions::default()
    });
    let mut engine = scanner.engine();
    let mut live = Live::new(args.json);
    let started = Instant::now();
    let deadline = args.duration.map(|s| started + Duration::from_secs_f64(s));
    let mut frames = 0u64;
    let mut failed = false;
    while !stop.load(Ordering::Relaxed)
        && deadline.is_none_or(|d| Instant::now() < d)
        && args.count.is_none_or(|n| frames < n)
    {
        match cap.next_packet() {
            Ok(p) => {
                frames += 1;
                engine.frame(link, p.data);
                engine
                    .take_finished()
                    .into_iter()
                    .for_each(|r| live.report(r));
            }
            // Nothing waiting: look again shortly.
            Err(pcap::Error::TimeoutExpired) => std::thread::sleep(IDLE_WAIT),
            Err(e) => {
                eprintln!("smbsign: {}: {e}", args.interface);
                failed = true;
                break;
            }
        }
    }
    engine.finish().into_iter().for_each(|r| live.report(r));
    if let Ok(s) = cap.stats()
        && s.dropped > 0
    {
        eprintln!(
            "smbsign: {}: the kernel dropped {} packet(s): some connections may be reported with gaps",
            args.interface, s.dropped
        );
    }
    live.finish();
    if failed { 2 } else { 0 }
}

/// Open the interface with the filter, or say what is missing.
fn open(args: &WatchArgs) -> Result<pcap::Capture<pcap::Active>, String> {
    let filter = args.filter.as_deref().unwrap_or(DEFAULT_FILTER);
    let cap = pcap::Capture::from_device(args.interface.as_str())
        .and_then(|c| {
            c.promisc(false)
                .snaplen(65535)
                .immediate_mode(true)
                .timeout(200)
                .buffer_size(8 << 20)
                .open()
        })
        .map_err(|e| describe_open_error(&args.interface, &e))?;
    let mut cap = cap;
    cap.filter(filter, true)
        .map_err(|e| format!("filter {filter:?}: {e}"))?;
    // Non-blocking: with immediate mode libpcap may wait for a packet
    // forever, and the loop must see signals and the deadline.
    cap.setnonblock()
        .map_err(|e| format!("{}: {e}", args.interface))
}

fn describe_open_error(iface: &str, e: &pcap::Error) -> String {
    let text = e.to_string();
    if text.contains("ermission") || text.contains("not permitted") {
        format!(
            "{iface}: {text}. Capturing needs the CAP_NET_RAW capability (and CAP_NET_ADMIN): \
             run as root, or grant it once with \
             `sudo setcap cap_net_raw,cap_net_admin=eip $(command -v smbsign)`"
        )
    } else {
        format!("{iface}: {text}")
    }
}

/// Reports as they come: through the correlator, their findings printed,
/// their hosts counted.
struct Live {
    json: bool,
    correlator: Correlator,
    hosts: Hosts,
    out: std::io::Stdout,
}

impl Live {
    fn new(json: bool) -> Self {
        Live {
            json,
            correlator: Correlator::with_hold(smbsign::correlate::ONE_CAPTURE_HOLD),
            hosts: Hosts::new(),
            out: std::io::stdout(),
        }
    }

    fn report(&mut self, r: ConnectionReport) {
        let (json, hosts, out) = (self.json, &mut self.hosts, &self.out);
        self.correlator
            .push(r, &mut |r| print_findings(json, hosts, out, &r));
    }

    fn finish(mut self) {
        let (json, hosts, out) = (self.json, &mut self.hosts, &self.out);
        self.correlator
            .finish(&mut |r| print_findings(json, hosts, out, &r));
        let mut out = self.out.lock();
        let _ = crate::hosts::write_summary(&mut out, &self.hosts, self.json);
        let _ = out.flush();
    }
}

#[derive(serde::Serialize)]
struct LiveFinding<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    client: &'a str,
    server: &'a str,
    first_frame: Option<u64>,
    #[serde(flatten)]
    finding: &'a smbsign::posture::Finding,
}

fn print_findings(json: bool, hosts: &mut Hosts, out: &std::io::Stdout, r: &ConnectionReport) {
    hosts.add(r);
    let mut out = out.lock();
    for f in &r.findings {
        let _ = if json {
            serde_json::to_writer(
                &mut out,
                &LiveFinding {
                    kind: "finding",
                    client: &r.client,
                    server: &r.server,
                    first_frame: r.first_frame,
                    finding: f,
                },
            )
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out))
        } else {
            writeln!(
                out,
                "{} -> {}: {} {}: {}",
                r.client,
                r.server,
                f.severity.as_str(),
                f.code.as_str(),
                f.message
            )
        };
    }
    let _ = out.flush();
}
