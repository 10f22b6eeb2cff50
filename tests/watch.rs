//! `smbsign watch` on a live interface: tests/lab/watch_lab.py runs two
//! real Samba servers in a network namespace (one with `server signing =
//! auto`, one with `mandatory`), captures the namespace's loopback with
//! tcpdump and with `smbsign watch -i lo --json` at the same time, drives
//! smbclient against both, and stops the watch with SIGINT. The live
//! findings must be the file capture's, the server that does not require
//! signing must be the one flagged, and the watch must end cleanly with a
//! host summary. Needs root (namespaces, capture); under CI it must run.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn live_findings_are_the_file_captures_and_the_watch_ends_cleanly() {
    if !is_root() {
        if common::in_ci() {
            panic!("CI runs as root: the watch test must run there");
        }
        eprintln!("\n*** SKIPPING the live watch test: it needs root (network namespace) ***\n");
        return;
    }
    for tool in ["smbd", "smbclient", "tcpdump"] {
        if !common::have_tool(tool) {
            return;
        }
    }
    let out = std::env::temp_dir().join(format!("smbsign-watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let lab = Command::new("python3")
        .arg(common::repo().join("tests/lab/watch_lab.py"))
        .arg(env!("CARGO_BIN_EXE_smbsign"))
        .arg(&out)
        .output()
        .expect("python3");
    assert!(lab.status.success(), "{lab:?}");
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    assert_eq!(read("watch.rc").trim(), "0", "{}", read("watch.err"));
    assert!(read("watch.err").contains("listening on lo"));

    let live: Vec<serde_json::Value> = read("watch.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let findings = |rows: &[serde_json::Value]| -> BTreeSet<(String, String, String)> {
        rows.iter()
            .map(|f| {
                let s = |k: &str| f[k].as_str().unwrap().to_owned();
                (s("client"), s("server"), s("code"))
            })
            .collect()
    };
    let live_findings = findings(
        &live
            .iter()
            .filter(|r| r["type"] == "finding")
            .cloned()
            .collect::<Vec<_>>(),
    );

    let scan = Command::new(env!("CARGO_BIN_EXE_smbsign"))
        .args(["scan", "--json"])
        .arg(out.join("watch.pcap"))
        .output()
        .unwrap();
    assert!(scan.status.success());
    let mut from_file = Vec::new();
    for l in String::from_utf8_lossy(&scan.stdout).lines() {
        let r: serde_json::Value = serde_json::from_str(l).unwrap();
        for f in r["findings"].as_array().unwrap() {
            let mut f = f.clone();
            f["client"] = r["client"].clone();
            f["server"] = r["server"].clone();
            from_file.push(f);
        }
    }
    assert_eq!(live_findings, findings(&from_file));
    assert_eq!(
        String::from_utf8_lossy(&scan.stdout).lines().count(),
        2,
        "two connections in the capture"
    );

    // The lab configured 127.0.0.1 with `server signing = auto` and
    // 127.0.0.2 with `mandatory`.
    let flagged: BTreeSet<&str> = live_findings
        .iter()
        .filter(|(_, _, c)| c == "signing-not-required")
        .map(|(_, s, _)| s.as_str())
        .collect();
    assert_eq!(flagged, BTreeSet::from(["127.0.0.1:445"]));
    let summary: Vec<&serde_json::Value> = live.iter().filter(|r| r["type"] == "server").collect();
    let posture = |a: &str| {
        summary
            .iter()
            .find(|r| r["address"] == a)
            .map(|r| r["signing"].as_str().unwrap().to_owned())
    };
    assert_eq!(posture("127.0.0.1").as_deref(), Some("enabled"));
    assert_eq!(posture("127.0.0.2").as_deref(), Some("required"));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn without_privileges_the_error_names_the_capability() {
    if !is_root() {
        // Already unprivileged: run directly.
        let out = Command::new(env!("CARGO_BIN_EXE_smbsign"))
            .args(["watch", "-i", "lo", "--duration", "1"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            err.contains("CAP_NET_RAW") && err.contains("setcap"),
            "{err}"
        );
        return;
    }
    // As root: drop to nobody for one run (a copy of the binary nobody can
    // read, in a world-readable directory).
    let dir = std::env::temp_dir().join(format!("smbsign-nopriv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("smbsign");
    std::fs::copy(env!("CARGO_BIN_EXE_smbsign"), &exe).unwrap();
    let run = |cmd: &str| {
        Command::new("chmod")
            .args(["755"])
            .arg(&dir)
            .status()
            .unwrap();
        Command::new("setpriv")
            .args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "--inh-caps=-all",
            ])
            .args(["sh", "-c", cmd])
            .output()
            .unwrap()
    };
    let out = run(&format!("{} watch -i lo --duration 1", exe.display()));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("CAP_NET_RAW") && err.contains("setcap"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
