//! Replays every fuzz entry point (fuzz/targets.rs) over the committed fuzz
//! seeds, the crash regressions, and every lab and corpus capture (as a
//! capture and PDU by PDU), on each `cargo test`: cheap, and no fuzzing
//! toolchain needed.

mod common;

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 6] = [
    ("pdu", targets::pdu),
    ("conn_sequence", targets::conn_sequence),
    ("capture", targets::capture),
    ("ntlmssp", targets::ntlmssp),
    ("verify", targets::verify),
    ("ffi", targets::ffi),
];

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn stored_corpus_and_regressions_replay() {
    let fuzz = common::repo().join("fuzz");
    let mut n = 0;
    for (name, target) in TARGETS {
        for f in files(&fuzz.join("seeds").join(name))
            .iter()
            .chain(files(&fuzz.join("regressions").join(name)).iter())
        {
            target(&std::fs::read(f).unwrap());
            n += 1;
        }
    }
    assert!(n >= 6, "only {n} stored inputs replayed");
}

#[test]
fn every_capture_through_every_target() {
    let mut caps = common::lab_captures();
    caps.extend(common::corpus_captures());
    for cap in &caps {
        let bytes = std::fs::read(cap).unwrap();
        targets::capture(&bytes);
        // Truncations at a few odd places (small files: the big ones only
        // repeat the same work).
        if bytes.len() < 256 * 1024 {
            for cut in [1, 7, 24, 25, 41, bytes.len() / 3, bytes.len() - 1] {
                if cut < bytes.len() {
                    targets::capture(&bytes[..cut]);
                }
            }
        }
        for (_, target) in TARGETS {
            target(&bytes[..bytes.len().min(4096)]);
        }
    }
}
