//! Tree connects against Wireshark: for every lab and corpus capture, the
//! TREE_CONNECT (SMB2) and TREE_CONNECT_ANDX (SMB1) requests smbsign
//! reports are the frames and paths tshark decodes (`smb2.tree`,
//! `smb.path`), and the responses the share types tshark shows
//! (`smb2.share_type`, `smb.service`). Expectations come from tshark, never
//! from smbsign's own output.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// (frame, what) pairs: requests with their path, responses with their
/// share type ("disk", "pipe", "print", or an SMB1 service smbsign names
/// no type for).
#[derive(Debug, Default, PartialEq, Eq)]
struct Trees {
    requests: BTreeSet<(u64, String)>,
    responses: BTreeSet<(u64, String)>,
}

fn smb1_service_type(service: &str) -> String {
    match service {
        "A:" => "disk".into(),
        "IPC" => "pipe".into(),
        s if s.starts_with("LPT") => "print".into(),
        s => format!("service {s}"),
    }
}

/// `ports`: the TCP ports besides 445 and 139 smbsign found SMB on, for
/// tshark's "Decode As".
fn tshark_trees(path: &Path, ports: &BTreeSet<u16>) -> Trees {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(path);
    for p in ports {
        cmd.arg("-d").arg(format!("tcp.port=={p},nbss"));
    }
    let out = cmd
        .args(["-Y", "(smb.cmd == 0x75 || smb2.cmd == 3) && tcp"])
        .args(["-T", "fields", "-E", "occurrence=a", "-E", "separator=/t"])
        .args([
            "-e",
            "frame.number",
            "-e",
            "smb.cmd",
            "-e",
            "smb.flags.response",
        ])
        .args(["-e", "smb.path", "-e", "smb.service", "-e", "smb.nt_status"])
        .args([
            "-e",
            "smb2.cmd",
            "-e",
            "smb2.flags.response",
            "-e",
            "smb2.tree",
        ])
        .args(["-e", "smb2.share_type", "-e", "smb2.nt_status"])
        .output()
        .expect("run tshark");
    assert!(out.status.success(), "tshark failed on {}", path.display());
    let mut t = Trees::default();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let col: Vec<&str> = line.split('\t').collect();
        let get = |k: usize| col.get(k).copied().unwrap_or("");
        let Ok(frame) = get(0).parse::<u64>() else {
            continue;
        };
        let response = |k: usize| matches!(get(k), "1" | "True");
        if get(1).split(',').any(|c| c == "0x75") {
            if !response(2) {
                // The header's TID adds the path it maps to first; the
                // request's own path is the last.
                if let Some(p) = get(3).split(',').next_back().filter(|p| !p.is_empty()) {
                    t.requests.insert((frame, p.to_owned()));
                }
            } else if get(5).is_empty() || get(5) == "0x00000000" {
                // Error responses carry no service.
                if let Some(s) = get(4).split(',').next_back().filter(|s| !s.is_empty()) {
                    t.responses.insert((frame, smb1_service_type(s)));
                }
            }
        }
        if get(6).split(',').any(|c| c == "3") {
            if !response(7) {
                if let Some(p) = get(8).split(',').find(|p| !p.is_empty()) {
                    t.requests.insert((frame, p.to_owned()));
                }
            } else if let Some(s) = get(9).split(',').find(|s| !s.is_empty()) {
                let name = match s {
                    "0x01" | "1" => "disk".to_owned(),
                    "0x02" | "2" => "pipe".to_owned(),
                    "0x03" | "3" => "print".to_owned(),
                    s => s.to_owned(),
                };
                t.responses.insert((frame, name));
            }
        }
    }
    t
}

/// smbsign's tree connects, whether some connection reached the cap of
/// 64, and the server ports other than 445 and 139.
fn smbsign_trees(path: &Path) -> Result<(Trees, bool, BTreeSet<u16>), String> {
    let out = smbsign::scan::Scanner::default()
        .scan(path)
        .map_err(|e| e.to_string())?;
    let mut t = Trees::default();
    let mut capped = false;
    let ports = out
        .connections
        .iter()
        .filter_map(|r| r.server.rsplit(':').next()?.parse().ok())
        .filter(|p| *p != 445 && *p != 139)
        .collect();
    for c in &out.connections {
        capped |= c.tree_connects.len() >= 64;
        for tc in c.tree_connects.iter().filter(|tc| !tc.decrypted) {
            t.requests.insert((tc.frame, tc.path.clone()));
            if let Some(f) = tc.response_frame {
                if let Some(kind) = &tc.share_type {
                    t.responses.insert((f, kind.clone()));
                } else if let Some(s) = &tc.service {
                    t.responses.insert((f, smb1_service_type(s)));
                }
            }
        }
    }
    Ok((t, capped, ports))
}

/// The disagreements, and how many captures had tree connects.
/// Captures noted as re-segmented so that tshark cannot reassemble them
/// are compared one way: what tshark decodes, smbsign must report.
fn compare(files: &[std::path::PathBuf]) -> (Vec<String>, usize) {
    let (mut problems, mut with_trees) = (Vec::new(), 0);
    let notes = common::corpus_notes();
    for p in files {
        let (ours, capped, ports) = match smbsign_trees(p) {
            Ok(x) => x,
            Err(e) => {
                problems.push(format!("{}: {e}", p.display()));
                continue;
            }
        };
        let theirs = tshark_trees(p, &ports);
        let undissectable = notes.get(p).is_some_and(|n| n.contains("not dissectable"));
        if undissectable {
            for r in theirs.requests.difference(&ours.requests) {
                problems.push(format!("{}: request {r:?}: tshark only", p.display()));
            }
            for r in theirs.responses.difference(&ours.responses) {
                problems.push(format!("{}: response {r:?}: tshark only", p.display()));
            }
            continue;
        }
        if capped {
            // Past 64 per connection smbsign keeps only the first: those
            // must still be tshark's.
            for r in ours.requests.difference(&theirs.requests) {
                problems.push(format!("{}: request {r:?} not tshark's", p.display()));
            }
            continue;
        }
        for r in theirs.requests.symmetric_difference(&ours.requests) {
            let who = if ours.requests.contains(r) {
                "smbsign only"
            } else {
                "tshark only"
            };
            problems.push(format!("{}: request {r:?}: {who}", p.display()));
        }
        for r in theirs.responses.symmetric_difference(&ours.responses) {
            let who = if ours.responses.contains(r) {
                "smbsign only"
            } else {
                "tshark only"
            };
            problems.push(format!("{}: response {r:?}: {who}", p.display()));
        }
        with_trees += usize::from(!theirs.requests.is_empty());
    }
    (problems, with_trees)
}

#[test]
fn tree_connects_agree_with_tshark_on_lab_and_corpus() {
    if !common::have_tool("tshark") {
        return;
    }
    let mut files = common::lab_captures();
    files.extend(common::corpus_captures());
    let (problems, with_trees) = compare(&files);
    assert!(
        problems.is_empty(),
        "tree connects disagree with tshark:\n{}",
        problems.join("\n")
    );
    // Both dialects must have been exercised for the comparison to mean
    // anything (the lab has SMB1 and SMB2 tree connects).
    assert!(with_trees >= 20, "{with_trees} captures with tree connects");
}

/// SMB1 paths in both encodings: smbclient's Unicode ones (lab) and an
/// ASCII client's (arkime's smb-smb1-ascii.pcap, Flags2 without UNICODE).
#[test]
fn smb1_tree_connects_in_unicode_and_ascii() {
    if !common::have_tool("tshark") {
        return;
    }
    let lab = common::repo().join("tests/captures/smb1-mode15.pcap");
    let (ours, _, ports) = smbsign_trees(&lab).expect("scan");
    assert_eq!(ours, tshark_trees(&lab, &ports));
    assert!(
        ours.requests.iter().any(|(_, p)| p.ends_with("\\SHARE")),
        "{ours:?}"
    );
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let ascii = corpus.join("arkime/tests/pcap/smb-smb1-ascii.pcap");
    let (ours, _, ports) = smbsign_trees(&ascii).expect("scan");
    let theirs = tshark_trees(&ascii, &ports);
    assert!(!theirs.requests.is_empty());
    assert_eq!(ours, theirs);
}
