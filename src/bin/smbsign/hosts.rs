//! `smbsign hosts`: one row per server and per client over every capture
//! given, most exposed first; the relay-target list; and `smbsign report
//! --html`, the same view as one HTML file.

use crate::args::{HostsArgs, ReportArgs};
use smbsign::audit::{ClientHost, Hosts, Listed, ServerHost};
use std::io::Write;

pub fn hosts(args: HostsArgs) -> i32 {
    let mut hosts = Hosts::new();
    let Some((read_error, _)) = run_into(&args.input, &mut |r| hosts.add(&r)) else {
        return 2;
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = if args.csv {
        write_csv(&mut out, &hosts)
    } else {
        write_summary(&mut out, &hosts, args.json)
    }
    .and_then(|_| out.flush());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            eprintln!("smbsign: writing output: {e}");
            return 2;
        }
    }
    if let Some(path) = &args.input.relay_list
        && write_relay_list(&hosts, path).is_err()
    {
        return 2;
    }
    i32::from(read_error) * 2
}

/// Run every input of `args` (progress bar included) into `sink`. None
/// when nothing could run; else whether some input failed, and the run.
fn run_into(
    args: &crate::args::InputArgs,
    sink: &mut dyn FnMut(smbsign::posture::ConnectionReport),
) -> Option<(bool, crate::run::RunOutcome)> {
    let p = crate::run::prepare(args).ok()?;
    let bar = crate::run::Bar::new(&p.sources, args.quiet || args.no_progress);
    let outcome = crate::run::run(
        &p.scanner,
        &p.sources,
        args.jobs(),
        &bar,
        None,
        &mut |r, _| sink(r),
    );
    bar.finish();
    Some((p.read_error || outcome.read_error, outcome))
}

pub fn report(args: ReportArgs) -> i32 {
    let mut hosts = Hosts::new();
    let mut collected = smbsign::audit::html::Collected::default();
    let Some((read_error, outcome)) = run_into(&args.input, &mut |r| {
        hosts.add(&r);
        collected.add(r);
    }) else {
        return 2;
    };
    let run = smbsign::audit::html::RunSummary {
        files: outcome.files.len(),
        frames: outcome.files.iter().map(|f| f.stats.frames).sum(),
        connections: collected.total,
    };
    let page = smbsign::audit::html::render(&hosts, &collected, &run);
    if let Err(e) = std::fs::write(&args.html, page) {
        eprintln!("smbsign: {}: {e}", args.html.display());
        return 2;
    }
    if let Some(path) = &args.input.relay_list
        && write_relay_list(&hosts, path).is_err()
    {
        return 2;
    }
    i32::from(read_error) * 2
}

/// `--relay-list`: the servers seen not requiring signing and never
/// requiring it, one address per line; servers seen both ways on stderr.
pub fn write_relay_list(hosts: &Hosts, path: &std::path::Path) -> Result<(), ()> {
    let (targets, conflicting) = hosts.relay_targets();
    for h in conflicting {
        let o = &h.signing_observed;
        eprintln!(
            "smbsign: {}: left out of the relay list: {} connection(s) saw it require signing and {} did not",
            h.address,
            o.required,
            o.enabled + o.disabled
        );
    }
    let text: String = targets.iter().map(|h| format!("{}\n", h.address)).collect();
    std::fs::write(path, text).map_err(|e| eprintln!("smbsign: {}: {e}", path.display()))
}

/// The host rows: JSON lines or the aligned table.
pub fn write_summary(out: &mut impl Write, hosts: &Hosts, json: bool) -> std::io::Result<()> {
    if json {
        hosts.write_json_lines(out)
    } else {
        write_table(out, hosts)
    }
}

fn listed(l: &Listed) -> String {
    let mut s = l.values.join(",");
    if l.more > 0 {
        s.push_str(&format!(" (+{})", l.more));
    }
    s
}

fn joined<'a>(v: impl IntoIterator<Item = &'a String>) -> String {
    v.into_iter().cloned().collect::<Vec<_>>().join(",")
}

fn posture(p: Option<smbsign::audit::Posture>) -> &'static str {
    p.map_or("unknown", smbsign::audit::Posture::as_str)
}

fn worst(w: &Option<smbsign::audit::WorstFinding>) -> String {
    w.as_ref().map_or_else(
        || "-".into(),
        |w| format!("{} ({})", w.code.as_str(), w.severity.as_str()),
    )
}

/// The CSV's columns, one row per host (client rows leave the server-only
/// columns empty and the other way round).
const CSV_HEADER: [&str; 20] = [
    "role",
    "address",
    "names",
    "os",
    "os_version",
    "dialects",
    "smb1_offered",
    "smb1_accepted",
    "signing",
    "encryption",
    "ntlmv1",
    "peers",
    "connections",
    "sessions",
    "sessions_signed",
    "sessions_unsigned",
    "sessions_verified",
    "sessions_forged",
    "worst_finding",
    "users",
];

fn server_row(h: &ServerHost) -> Vec<String> {
    let mut row = vec![
        "server".into(),
        h.address.clone(),
        listed(&h.names),
        h.os.clone().unwrap_or_default(),
        h.os_version.clone().unwrap_or_default(),
        joined(&h.dialects),
        h.smb1_offered.to_string(),
        h.smb1_accepted.to_string(),
        posture(h.signing).into(),
        h.encryption.into(),
        h.ntlmv1.to_string(),
        listed(&h.clients),
    ];
    row.extend(tally_cells(&h.tallies));
    row.extend([worst(&h.worst_finding), String::new()]);
    row
}

/// The counters both kinds of row have, as the CSV's columns.
fn tally_cells(t: &smbsign::audit::Tallies) -> [String; 6] {
    [
        t.connections,
        t.sessions,
        t.sessions_signed,
        t.sessions_unsigned,
        t.sessions_verified,
        t.sessions_forged,
    ]
    .map(|n| n.to_string())
}

fn client_row(h: &ClientHost) -> Vec<String> {
    let mut row = vec![
        "client".into(),
        h.address.clone(),
        String::new(),
        h.os.clone().unwrap_or_default(),
        h.os_version.clone().unwrap_or_default(),
        joined(&h.offered),
        h.smb1_offered.to_string(),
        String::new(),
        posture(h.signing).into(),
        String::new(),
        h.ntlmv1.to_string(),
        listed(&h.servers),
    ];
    row.extend(tally_cells(&h.tallies));
    row.extend([worst(&h.worst_finding), listed(&h.users)]);
    row
}

fn write_csv(out: &mut impl Write, hosts: &Hosts) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_HEADER)?;
    for h in hosts.servers() {
        w.write_record(server_row(h))?;
    }
    for h in hosts.clients() {
        w.write_record(client_row(h))?;
    }
    w.flush()
}

fn write_table(out: &mut impl Write, hosts: &Hosts) -> std::io::Result<()> {
    let servers = hosts.servers();
    writeln!(out, "SERVERS ({}), most exposed first", servers.len())?;
    writeln!(
        out,
        "{:<40} {:<9} {:<5} {:<6} {:<8} {:<16} {:>7} {:>8} {:>8}  WORST FINDING",
        "ADDRESS",
        "SIGNING",
        "SMB1",
        "NTLMv1",
        "ENCRYPT",
        "DIALECTS",
        "CLIENTS",
        "SESSIONS",
        "UNSIGNED",
    )?;
    for h in &servers {
        let smb1 = match (h.smb1_accepted, h.smb1_offered) {
            (true, _) => "yes",
            (false, true) => "offrd",
            _ => "no",
        };
        writeln!(
            out,
            "{:<40} {:<9} {:<5} {:<6} {:<8} {:<16} {:>7} {:>8} {:>8}  {}",
            h.address,
            posture(h.signing),
            smb1,
            if h.ntlmv1 { "yes" } else { "no" },
            h.encryption,
            joined(&h.dialects),
            h.clients.len(),
            h.tallies.sessions,
            h.tallies.sessions_unsigned,
            worst(&h.worst_finding)
        )?;
        let mut about = Vec::new();
        if !h.names.is_empty() {
            about.push(format!("names: {}", listed(&h.names)));
        }
        if let (Some(os), Some(v)) = (&h.os, &h.os_version) {
            about.push(format!("os: {os} ({v})"));
        }
        if !about.is_empty() {
            writeln!(out, "    {}", about.join("; "))?;
        }
    }
    let clients = hosts.clients();
    writeln!(out, "\nCLIENTS ({})", clients.len())?;
    writeln!(
        out,
        "{:<40} {:<9} {:<5} {:<6} {:<24} {:>7}  WORST FINDING",
        "ADDRESS", "SIGNING", "SMB1", "NTLMv1", "OFFERED", "SERVERS"
    )?;
    for h in &clients {
        writeln!(
            out,
            "{:<40} {:<9} {:<5} {:<6} {:<24} {:>7}  {}",
            h.address,
            posture(h.signing),
            if h.smb1_offered { "yes" } else { "no" },
            if h.ntlmv1 { "yes" } else { "no" },
            joined(&h.offered),
            h.servers.len(),
            worst(&h.worst_finding)
        )?;
        if let (Some(os), Some(v)) = (&h.os, &h.os_version) {
            writeln!(out, "    os: {os} ({v})")?;
        }
    }
    Ok(())
}
