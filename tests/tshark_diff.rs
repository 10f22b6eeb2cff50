//! Differential test against Wireshark: for every lab capture and every
//! corpus capture, per TCP connection, smbsign's dialect, security modes and
//! signed/unsigned message counts agree with tshark's `smb.sm`,
//! `smb2.sec_mode`, `smb2.dialect`, `smb.flags2.sec_sig` with
//! `smb.signature` (SMB1 signed = the bit or a real signature) and
//! `smb2.flags.signature`.

mod common;

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
    requests: u64,
    responses: u64,
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
    "smb.signature",
];

/// An SMB1 header counts as signed when tshark shows the Flags2 bit, or a
/// SecuritySignature that is neither zero nor the "BSRSPYL " placeholder
/// (Samba 4.17 signs without setting the bit).
fn smb1_signed(flag: Option<&&str>, signature: Option<&&str>) -> bool {
    let sig: String = signature.map_or("", |s| s).replace(':', "");
    let real = !sig.is_empty()
        && sig.chars().any(|c| c != '0')
        && !sig.eq_ignore_ascii_case("4253525350594c20");
    flag == Some(&"1") || real
}

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

fn run_tshark(path: &Path, extra_ports: &BTreeSet<u16>) -> BTreeMap<u64, Tshark> {
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
    let mut conns: BTreeMap<u64, Tshark> = BTreeMap::new();
    for line in text.lines() {
        let col: Vec<&str> = line.split('\t').collect();
        let get = |k: usize| col.get(k).copied().unwrap_or("");
        let list = |k: usize| -> Vec<&str> {
            let v = get(k);
            if v.is_empty() {
                Vec::new()
            } else {
                v.split(',').collect()
            }
        };
        let Ok(stream) = get(0).parse::<u64>() else {
            continue; // SMB over NetBEUI/IPX: not TCP, not smbsign's scope
        };
        let c = conns.entry(stream).or_default();
        let src_ip = if get(1).is_empty() { get(2) } else { get(1) };
        let dst_ip = if get(4).is_empty() { get(5) } else { get(4) };
        c.endpoints.insert(endpoint(src_ip, get(3)));
        c.endpoints.insert(endpoint(dst_ip, get(6)));

        // SMB1: one sec_sig per header; a frame holding a NEGOTIATE holds
        // nothing else (negotiate is never chained).
        let smb1_cmds = list(7);
        let smb1_sig = list(9);
        let smb1_signature = list(18);
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
            for (k, s) in smb1_sig.iter().enumerate() {
                if smb1_signed(Some(s), smb1_signature.get(k)) {
                    c.signed += 1
                } else {
                    c.unsigned += 1
                }
                if smb1_resp.get(k) == Some(&"1") {
                    c.responses += 1
                } else {
                    c.requests += 1
                }
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
            if sig.get(k) == Some(&"1") {
                c.signed += 1
            } else {
                c.unsigned += 1
            }
            if resp.get(k) == Some(&"1") {
                c.responses += 1
            } else {
                c.requests += 1
            }
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
fn compare(path: &Path, malformed: bool) -> Vec<String> {
    let out = match smbsign::scan::Scanner::default().scan(path) {
        Ok(o) => o,
        Err(e) => return vec![format!("smbsign could not read it: {e}")],
    };
    let mut problems = Vec::new();
    if let Some(e) = &out.error {
        problems.push(format!("smbsign read error: {e}"));
    }
    let ports: BTreeSet<u16> = out
        .connections
        .iter()
        .filter_map(|r| r.server.rsplit(':').next()?.parse().ok())
        .filter(|p| *p != 445 && *p != 139)
        .collect();
    let tshark = run_tshark(path, &ports);
    // Connections on one 4-tuple (port reuse) pair up in order of appearance.
    let mut by_pair: BTreeMap<BTreeSet<String>, Vec<&Tshark>> = BTreeMap::new();
    for t in tshark.values() {
        by_pair.entry(t.endpoints.clone()).or_default().push(t);
    }
    let mut ours: BTreeMap<BTreeSet<String>, Vec<&ConnectionReport>> = BTreeMap::new();
    for r in &out.connections {
        ours.entry([r.client.clone(), r.server.clone()].into())
            .or_default()
            .push(r);
    }
    for (key, reports) in &ours {
        let theirs = by_pair.get(key).cloned().unwrap_or_default();
        // tshark also lists the TCP connections that carried no SMB.
        let theirs: Vec<&Tshark> = if theirs.len() > reports.len() {
            theirs.into_iter().filter(|t| is_smb(t)).collect()
        } else {
            theirs
        };
        if theirs.len() != reports.len() {
            problems.push(format!(
                "{key:?}: smbsign reports {} connection(s), tshark {}",
                reports.len(),
                theirs.len()
            ));
            continue;
        }
        for (r, t) in reports.iter().zip(theirs) {
            check(r, t, malformed, &mut problems);
        }
    }
    // Every TCP connection where tshark saw SMB must be reported by smbsign.
    for t in tshark.values() {
        if is_smb(t) && !ours.contains_key(&t.endpoints) {
            problems.push(format!(
                "{:?}: SMB per tshark, missing from smbsign",
                t.endpoints
            ));
        }
    }
    problems
}

fn is_smb(t: &Tshark) -> bool {
    t.signed + t.unsigned > 0 || t.server_mode.is_some() || t.client_mode.is_some()
}

fn check(r: &ConnectionReport, t: &Tshark, malformed: bool, problems: &mut Vec<String>) {
    let who = format!("{} -> {}", r.client, r.server);
    let mut differ = |what: &str, ours: String, theirs: String| {
        if ours != theirs {
            problems.push(format!("{who}: {what}: smbsign {ours}, tshark {theirs}"));
        }
    };
    if malformed {
        // Hostile captures (corpus note "MALFORMED"): tshark stops at the
        // first malformed PDU, smbsign resynchronises on the next SMB
        // header. Require that smbsign saw at least what tshark saw.
        if r.signed_messages + r.unsigned_messages < t.signed + t.unsigned {
            differ(
                "messages (malformed capture)",
                (r.signed_messages + r.unsigned_messages).to_string(),
                format!(">= {}", t.signed + t.unsigned),
            );
        }
        return;
    }
    if t.requests == 0 && r.requests > 0 && t.responses == r.responses {
        // Wireshark's NBSS dissector cannot ask TCP for more data when a
        // stream's first segment is shorter than the 4-byte NBSS header, so
        // it decodes nothing from that side ("NBSS Continuation Message").
        // Compare the side it did decode.
        eprintln!(
            "note: {who}: tshark decoded no requests ({} seen by smbsign); compared responses only",
            r.requests
        );
        return;
    }
    differ(
        "signed",
        r.signed_messages.to_string(),
        t.signed.to_string(),
    );
    differ(
        "unsigned",
        r.unsigned_messages.to_string(),
        t.unsigned.to_string(),
    );
    differ("requests", r.requests.to_string(), t.requests.to_string());
    differ(
        "responses",
        r.responses.to_string(),
        t.responses.to_string(),
    );
    differ(
        "server security mode",
        format!("{:?}", r.server_security_mode.map(|m| m.raw())),
        format!("{:?}", t.server_mode),
    );
    differ(
        "client security mode",
        format!("{:?}", r.client_security_mode),
        format!("{:?}", t.client_mode),
    );
    if t.dialect.is_some() {
        differ(
            "dialect",
            format!("{:?}", r.dialect.as_ref().map(|d| d.name())),
            format!("{:?}", t.dialect),
        );
    }
}

#[test]
fn lab_captures_agree_with_tshark() {
    if !common::have_tool("tshark") {
        return;
    }
    let mut failures = Vec::new();
    let mut files = common::lab_captures();
    // The Kerberos lab's captures too (their KDC traffic is not SMB).
    let krb = common::repo().join("tests/captures/kerberos");
    let mut krb: Vec<_> = std::fs::read_dir(&krb)
        .expect("tests/captures/kerberos")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| common::is_capture_name(p))
        .collect();
    krb.sort();
    assert!(krb.len() >= 14, "{} Kerberos captures", krb.len());
    files.extend(krb);
    for p in files {
        for problem in compare(&p, false) {
            failures.push(format!("{}: {problem}", p.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements with tshark:\n{}",
        failures.join("\n")
    );
}

#[test]
fn corpus_captures_agree_with_tshark() {
    if !common::have_tool("tshark") {
        return;
    }
    let mut failures = Vec::new();
    let files = common::corpus_captures();
    let malformed = common::corpus_notes();
    for p in &files {
        let hostile = malformed.get(p).is_some_and(|n| n.starts_with("MALFORMED"));
        for problem in compare(p, hostile) {
            failures.push(format!("{}: {problem}", p.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements with tshark:\n{}",
        failures.join("\n")
    );
}
