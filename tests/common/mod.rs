//! Helpers shared by the integration tests: where captures live, and
//! whether an external tool is there (a missing tool fails under CI and is
//! skipped loudly elsewhere).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The lab captures committed under tests/captures.
pub fn lab_captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/captures"))
        .expect("tests/captures exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_capture_name(p))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no lab captures in tests/captures");
    v
}

pub fn is_capture_name(p: &Path) -> bool {
    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    [".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz"]
        .iter()
        .any(|ext| n.ends_with(ext))
}

/// `../shared/corpus` (or $SMBSIGN_CORPUS) when it is there.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SMBSIGN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/corpus"));
    if dir.join("MANIFEST.tsv").is_file() {
        Some(dir)
    } else {
        if in_ci() {
            panic!(
                "CI must have the corpus at {} (or set SMBSIGN_CORPUS)",
                dir.display()
            );
        }
        eprintln!(
            "\n*** SKIPPING corpus checks: {} not found (set SMBSIGN_CORPUS) ***\n",
            dir.display()
        );
        None
    }
}

/// Every capture listed in the corpus manifest (keys and READMEs left out).
pub fn corpus_captures() -> Vec<PathBuf> {
    let Some(dir) = corpus_dir() else {
        return Vec::new();
    };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("read MANIFEST.tsv");
    let mut v: Vec<PathBuf> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .map(|p| dir.join(p))
        .filter(|p| is_capture_name(p))
        .collect();
    v.sort();
    assert!(
        v.len() >= 40,
        "corpus manifest lists only {} captures",
        v.len()
    );
    v
}

pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
}

/// True when `tool` runs. Under CI a missing tool is a failure.
pub fn have_tool(tool: &str) -> bool {
    let ok = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if in_ci() {
            panic!("{tool} is required under CI but is not installed");
        }
        eprintln!("\n*** SKIPPING: {tool} not installed (install it to run this test) ***\n");
    }
    ok
}

/// Corpus manifest notes by capture path.
pub fn corpus_notes() -> std::collections::BTreeMap<PathBuf, String> {
    let Some(dir) = corpus_dir() else {
        return Default::default();
    };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("read MANIFEST.tsv");
    manifest
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Some((dir.join(cols.first()?), cols.last()?.to_string()))
        })
        .collect()
}

/// `copies` copies of a lab capture's connection, 16 interleaved at a time,
/// each with its own client port (as `examples/scale_capture.rs` does).
pub fn replicated(path: &Path, copies: u32) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let mut frames = Vec::new();
    smbsign::capture::read_capture(&bytes[..], |_, d| frames.push(d.to_vec()), |_| {}).unwrap();
    let mut out = Vec::new();
    for first in (0..copies).step_by(16) {
        for f in &frames {
            for c in first..(first + 16).min(copies) {
                let mut f = f.clone();
                let off = 14 + (f[14] & 0x0f) as usize * 4; // Ethernet + IPv4
                for p in [off, off + 2] {
                    let port = u16::from_be_bytes([f[p], f[p + 1]]);
                    if port != 445 {
                        let np = 1024 + (port as u32 + c * 7) % 64_000;
                        f[p..p + 2].copy_from_slice(&(np as u16).to_be_bytes());
                    }
                }
                out.push(f);
            }
        }
    }
    out
}

/// Run the smbsign binary with `args`.
pub fn smbsign(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_smbsign"))
        .args(args)
        .output()
        .expect("run smbsign")
}

/// Each line of `out` as JSON.
pub fn json_lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}
