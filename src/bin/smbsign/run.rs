//! A run of the CLI over its inputs: the secrets read, the captures
//! named (`smbsign::scan::inputs`), the progress bar, and what each
//! capture's failure or limits say on stderr. The reading itself is
//! `smbsign::scan::many`.

use crate::inputs::Source;
use smbsign::capture::{self, CaptureError, ScanStats};
use smbsign::scan::Scanner;
pub use smbsign::scan::many::{Progress, Render, Sink};
use std::sync::atomic::{AtomicUsize, Ordering};

/// How one capture that could be read went.
pub struct FileOutcome {
    pub name: String,
    pub stats: ScanStats,
    /// Why reading stopped early (reports cover what was read).
    pub error: Option<CaptureError>,
}

/// What a run did, once every report went to the sink.
pub struct RunOutcome {
    /// The captures that could be read, in input order.
    pub files: Vec<FileOutcome>,
    /// Some capture could not be read, or stopped early.
    pub read_error: bool,
}

/// Scan `sources`, `jobs` at a time (`smbsign::scan::many::run`), then say
/// on stderr, in input order, which could not be read, which stopped
/// early and which reached a limit.
pub fn run(
    scanner: &Scanner,
    sources: &[Source],
    jobs: usize,
    progress: &dyn Progress,
    render: Option<&Render>,
    sink: &mut Sink<'_>,
) -> RunOutcome {
    let done = smbsign::scan::many::run(scanner, sources, jobs, progress, render, sink);
    let mut outcome = RunOutcome {
        files: Vec::new(),
        read_error: false,
    };
    for f in done.files {
        let (stats, error) = match f.result {
            Ok(o) => o,
            Err(e) => {
                eprintln!("smbsign: {}: {e}", f.name);
                outcome.read_error = true;
                continue;
            }
        };
        if let Some(e) = &error {
            eprintln!("smbsign: {}: {e}", f.name);
            outcome.read_error = true;
        }
        warn_limits(&f.name, &stats);
        outcome.files.push(FileOutcome {
            name: f.name,
            stats,
            error,
        });
    }
    outcome
}

fn warn_limits(name: &str, stats: &ScanStats) {
    if stats.flows_evicted > 0 {
        eprintln!(
            "smbsign: {name}: {} connection(s) reported before their end: more than {} were open at once",
            stats.flows_evicted,
            capture::MAX_FLOWS
        );
    }
    if stats.memory_sheds > 0 {
        eprintln!(
            "smbsign: {name}: reassembly memory reached {} MiB {} time(s): those connections stopped waiting for lost segments (counted in gap_bytes) and kept message headers only",
            capture::MAX_HELD_BYTES >> 20,
            stats.memory_sheds
        );
    }
}

/// The progress bar on stderr: bytes over the run's known size, and
/// files done. Hidden when stderr is not a terminal, with `--quiet`, or
/// for small runs.
pub struct Bar {
    pb: Option<indicatif::ProgressBar>,
    files: usize,
    done: AtomicUsize,
}

impl Bar {
    pub fn new(sources: &[Source], quiet: bool) -> Self {
        use std::io::IsTerminal;
        const MIN_SIZE: u64 = 64 * 1024 * 1024;
        let total: u64 = sources.iter().filter_map(Source::size).sum();
        let shown = !quiet && std::io::stderr().is_terminal() && total >= MIN_SIZE;
        let pb = shown.then(|| {
            let pb = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ) {
                pb.set_style(style.progress_chars("=> "));
            }
            pb.set_message(format!("0/{} files", sources.len()));
            pb
        });
        Bar {
            pb,
            files: sources.len(),
            done: AtomicUsize::new(0),
        }
    }

    pub fn finish(self) {
        if let Some(pb) = self.pb {
            pb.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn bytes(&self, n: u64) {
        if let Some(pb) = &self.pb {
            pb.inc(n);
        }
    }
    fn file_done(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(pb) = &self.pb {
            pb.set_message(format!("{done}/{} files", self.files));
        }
    }
}

/// A run ready to start: its captures, the scanner with the secrets
/// given, and whether naming the inputs already failed somewhere.
pub struct Prepared {
    pub sources: Vec<Source>,
    pub scanner: Scanner,
    pub credentials: Option<std::sync::Arc<smbsign::verify::Credentials>>,
    pub read_error: bool,
}

/// Expand the inputs (saying what a directory walk passed over) and read
/// the secrets. Err when nothing can run (the reason is on stderr).
pub fn prepare(args: &crate::args::InputArgs) -> Result<Prepared, ()> {
    let expanded = crate::inputs::expand(&args.files);
    for e in &expanded.errors {
        eprintln!("smbsign: {e}");
    }
    if expanded.skipped > 0 {
        eprintln!(
            "smbsign: skipped {} file(s) in the directories given that are not captures (by their first bytes)",
            expanded.skipped
        );
    }
    if expanded.sources.is_empty() {
        eprintln!("smbsign: no capture to read in the inputs given");
        return Err(());
    }
    let credentials = args.credentials(&expanded.sources).map_err(|e| {
        eprintln!("smbsign: {e}");
    })?;
    let scanner = Scanner::new(smbsign::scan::ScanOptions {
        credentials: credentials.clone(),
        ..smbsign::scan::ScanOptions::default()
    });
    Ok(Prepared {
        sources: expanded.sources,
        scanner,
        credentials,
        read_error: !expanded.errors.is_empty(),
    })
}
