//! Differential test against Wireshark: for every lab capture and every
//! corpus capture, per TCP connection, smbsign's dialect, security modes and
//! signed/unsigned message counts agree with tshark's `smb.sm`,
//! `smb2.sec_mode`, `smb2.dialect`, `smb.flags2.sec_sig` and
//! `smb2.flags.signature`.

mod common;

use smbsign::capture::scan_path;
use smbsign::posture::ConnectionReport;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// What tshark says about one TCP connection.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Tshark {
    endpoints: BTreeSet<String>,
    signed: u64,
    unsigned: u64,
    server_mode: Option<u16>,
    client_mode: Option<u16>,
    dialect: Option<String>,
    smb1_dialects: Vec<String>,
}

const FIELDS: &[&str] = &[
    "tcp.stream",
    "ip.src",
    "ipv6.src",
    "tcp.srcport",
    "ip.dst",
    "ipv6.dst",
    "tcp.dstport",
    "smb.cmd",
    "smb.flags.response",
    "smb.flags2.sec_sig",
    "smb.sm",
    "smb.dialect.name",
    "smb.dialect.index",
    "smb2.cmd",
    "smb2.flags.response",
    "smb2.flags.signature",
    "smb2.sec_mode",
    "smb2.dialect",
];

fn endpoint(ip: &str, port: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

fn hex_or_dec(s: &str) -> Option<u16> {
    let s = s.trim();
    s.strip_prefix("0x")
        .map(|h| u16::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| s.parse().ok())
}

fn dialect_name(hex: &str) -> Option<String> {
    Some(
        match hex_or_dec(hex)? {
            0x0202 => "2.0.2",
            0x0210 => "2.1",
            0x0300 => "3.0",
            0x0302 => "3.0.2",
            0x0311 => "3.1.1",
            0x02ff => return None,
            other => return Some(format!("0x{other:04x}")),
        }
        .to_string(),
    )
}

fn run_tshark(path: &Path, extra_ports: &BTreeSet<u16>) -> BTreeMap<String, Tshark> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(path);
    for p in extra_ports {
        cmd.arg("-d").arg(format!("tcp.port=={p},nbss"));
    }
    cmd.args(["-T", "fields", "-E", "occurrence=a", "-E", "separator=/t"]);
    for f in FIELDS {
        cmd.arg("-e").arg(f);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut conns: BTreeMap<String, Tshark> = BTreeMap::new();
    for line in text.lines() {
        let col: Vec<&str> = line.split('\t').collect();
        let get = |k: usize| col.get(k).copied().unwrap_or("");
        let list = |k: usize| -> Vec<&str> {
            let v = get(k);
            if v.is_empty() { Vec::new() } else { v.split(',').collect() }
        };
        let stream = get(0);
        if stream.is_empty() {
            continue; // SMB over NetBEUI/IPX: not TCP, not smbsign's scope
        }
        let c = conns.entry(stream.to_string()).or_default();
        let src_ip = if get(1).is_empty() { get(2) } else { get(1) };
        let dst_ip = if get(4).is_empty() { get(5) } else { get(4) };
        c.endpoints.insert(endpoint(src_ip, get(3)));
        c.endpoints.insert(endpoint(dst_ip, get(6)));

        // SMB1: one sec_sig per header; a frame holding a NEGOTIATE holds
        // nothing else (negotiate is never chained).
        let smb1_cmds = list(7);
        let smb1_sig = list(9);
        let smb1_resp = list(8);
        let negotiate1 = smb1_cmds.first() == Some(&"0x72");
        if negotiate1 {
            if smb1_resp.first() == Some(&"1") {
                if let Some(m) = list(10).last() {
                    c.server_mode = hex_or_dec(m);
                }
                if let Some(k) = list(12).last().and_then(|k| k.parse::<usize>().ok())
                    && let Some(d) = c.smb1_dialects.get(k)
                {
                    c.dialect = Some(d.clone());
                }
            } else {
                c.smb1_dialects = list(11).iter().map(|s| s.to_string()).collect();
            }
        } else {
            for s in &smb1_sig {
                if *s == "1" { c.signed += 1 } else { c.unsigned += 1 }
            }
        }

        // SMB2: cmd, response and signature flags align per header.
        let cmds = list(13);
        let resp = list(14);
        let sig = list(15);
        for (k, cmd) in cmds.iter().enumerate() {
            if *cmd == "0" {
                continue;
            }
            if sig.get(k) == Some(&"1") { c.signed += 1 } else { c.unsigned += 1 }
        }
        if !cmds.is_empty() && cmds.iter().all(|c| *c == "0") {
            let mode = list(16).last().and_then(|m| hex_or_dec(m));
            if resp.first() == Some(&"1") {
                if mode.is_some() {
                    c.server_mode = mode;
                }
                if let Some(d) = list(17).last().and_then(|d| dialect_name(d)) {
                    c.dialect = Some(d);
                }
            } else if mode.is_some() {
                c.client_mode = mode;
            }
        }
    }
    conns
}

/// Compare one capture; returns the mismatches as text.
fn compare(path: &Path) -> Vec<String> {
    let out = match scan_path(path, |_| {}) {
        Ok(o) => o,
        Err(e) => return vec![format!("smbsign could not read it: {e}")],
    };
    let mut problems = Vec::new();
    if let Some(e) = &out.error {
        problems.push(format!("smbsign read error: {e}"));
    }
    let ports: BTreeSet<u16> = out
        .reports
        .iter()
        .filter_map(|r| r.server.rsplit(':').next()?.parse().ok())
        .filter(|p| *p != 445 && *p != 139)
        .collect();
    let tshark = run_tshark(path, &ports);
    let by_pair: BTreeMap<BTreeSet<String>, &Tshark> = tshark
        .values()
        .map(|t| (t.endpoints.clone(), t))
        .collect();
    let mut matched = BTreeSet::new();
    for r in &out.reports {
        let key: BTreeSet<String> = [r.client.clone(), r.server.clone()].into();
        let Some(t) = by_pair.get(&key) else {
            problems.push(format!("{} -> {}: tshark shows no such connection", r.client, r.server));
            continue;
        };
        matched.insert(key);
        check(r, t, &mut problems);
    }
    // Every TCP connection where tshark saw SMB must be reported by smbsign.
    for t in tshark.values() {
        let smb = t.signed + t.unsigned > 0 || t.server_mode.is_some() || t.client_mode.is_some();
        if smb && !matched.contains(&t.endpoints) {
            problems.push(format!("{:?}: SMB per tshark, missing from smbsign", t.endpoints));
        }
    }
    problems
}

fn check(r: &ConnectionReport, t: &Tshark, problems: &mut Vec<String>) {
    let who = format!("{} -> {}", r.client, r.server);
    let mut differ = |what: &str, ours: String, theirs: String| {
        if ours != theirs {
            problems.push(format!("{who}: {what}: smbsign {ours}, tshark {theirs}"));
        }
    };
    differ("signed", r.signed_messages.to_string(), t.signed.to_string());
    differ("unsigned", r.unsigned_messages.to_string(), t.unsigned.to_string());
    differ(
        "server security mode",
        format!("{:?}", r.server_security_mode),
        format!("{:?}", t.server_mode),
    );
    differ(
        "client security mode",
        format!("{:?}", r.client_security_mode),
        format!("{:?}", t.client_mode),
    );
    if t.dialect.is_some() {
        differ("dialect", format!("{:?}", r.dialect), format!("{:?}", t.dialect));
    }
}

#[test]
fn lab_captures_agree_with_tshark() {
    if !common::have_tool("tshark") {
        return;
    }
    let mut failures = Vec::new();
    for p in common::lab_captures() {
        for problem in compare(&p) {
            failures.push(format!("{}: {problem}", p.display()));
        }
    }
    assert!(failures.is_empty(), "disagreements with tshark:\n{}", failures.join("\n"));
}

#[test]
fn corpus_captures_agree_with_tshark() {
    if !common::have_tool("tshark") {
        return;
    }
    let mut failures = Vec::new();
    let files = common::corpus_captures();
    for p in &files {
        for problem in compare(p) {
            failures.push(format!("{}: {problem}", p.display()));
        }
    }
    assert!(failures.is_empty(), "disagreements with tshark:\n{}", failures.join("\n"));
}
