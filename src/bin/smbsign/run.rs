//! Reading every capture of a run, `-j N` at a time, and handing their
//! reports on in input order: file after file, each file's reports as its
//! scan gives them, through one correlator for the whole run. Whatever N
//! is, the sink sees the same reports in the same order as with `-j 1`.
//!
//! Each file is scanned on a worker thread; its reports come back through
//! a bounded channel of its own, which the main thread drains in input
//! order. A worker that runs ahead waits on its full channel, so memory
//! stays bounded by the channel sizes, not by the files.

use crate::inputs::Source;
use smbsign::capture::{self, CaptureError, ScanStats};
use smbsign::correlate::Correlator;
use smbsign::posture::ConnectionReport;
use smbsign::scan::{Input, Scanner};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Reports a worker hands over at once (one wake-up of the main thread
/// per batch, not per report)…
const BATCH_REPORTS: usize = 64;
/// …and batches it may have ready before the main thread takes them.
const CHANNEL_BATCHES: usize = 8;

/// How one capture went.
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

enum Message {
    /// Reports, each with its JSON when the run renders it in the workers.
    Reports(Vec<(ConnectionReport, Option<Vec<u8>>)>),
    Done(Result<(ScanStats, Option<CaptureError>), CaptureError>),
}

/// Where progress goes (bytes read across the run, files done).
pub trait Progress: Sync {
    fn bytes(&self, n: u64);
    fn file_done(&self);
}

/// How a report becomes output bytes (`scan --json`), done on the worker
/// that scanned it so that the main thread only writes.
pub type Render = dyn Fn(&ConnectionReport) -> Vec<u8> + Sync;

/// Where the reports go: each with its rendering when `render` was given
/// and the correlator left the report as it was (a report it added a
/// finding to comes without: render it again).
pub type Sink<'a> = dyn FnMut(ConnectionReport, Option<Vec<u8>>) + 'a;

/// Scan `sources`, `jobs` at a time; every report goes through one
/// correlator (relays and MITM legs may be split over files) to `sink`.
/// `-j 1` runs everything on this thread, one file after another.
pub fn run(
    scanner: &Scanner,
    sources: &[Source],
    jobs: usize,
    progress: &dyn Progress,
    render: Option<&Render>,
    sink: &mut Sink<'_>,
) -> RunOutcome {
    // Across files every report waits for a partner (up to MAX_HELD); in
    // one capture the legs end close together and a window is enough.
    let mut correlator = if sources.len() > 1 {
        Correlator::new()
    } else {
        Correlator::with_hold(smbsign::correlate::ONE_CAPTURE_HOLD)
    };
    let mut outcome = RunOutcome {
        files: Vec::new(),
        read_error: false,
    };
    if jobs <= 1 || sources.len() <= 1 {
        for source in sources {
            let result = scan_source(scanner, source, progress, |r| {
                correlator.push(r, &mut |x| sink(x, None))
            });
            progress.file_done();
            finish_file(&source.name(), result, &mut outcome);
        }
        correlator.finish(&mut |x| sink(x, None));
        return outcome;
    }
    let jobs = jobs.min(sources.len());
    // Renderings made by the workers, until their report leaves the
    // correlator: keyed by the connection, with its findings' count then.
    let mut rendered: Rendered = Rendered::default();
    let next = AtomicUsize::new(0);
    let (senders, receivers): (Vec<_>, Vec<_>) = sources
        .iter()
        .map(|_| mpsc::sync_channel::<Message>(CHANNEL_BATCHES))
        .unzip();
    let mut deliver = |r: ConnectionReport, rendered: &mut Rendered| {
        let bytes = rendered
            .remove(&ReportKey::of(&r))
            .filter(|(n, _)| *n == r.findings.len())
            .map(|(_, b)| b);
        sink(r, bytes)
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (next, senders) = (&next, &senders);
            scope.spawn(move || {
                // Files are taken in input order, so the earliest file not
                // yet drained always has a worker: no wait can deadlock.
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(source) = sources.get(i) else {
                        return;
                    };
                    let tx = &senders[i];
                    let mut batch = Vec::with_capacity(BATCH_REPORTS);
                    // The main thread stops listening only when it is gone.
                    let result = scan_source(scanner, source, progress, |r| {
                        let bytes = render.map(|f| f(&r));
                        batch.push((r, bytes));
                        if batch.len() >= BATCH_REPORTS {
                            let full =
                                std::mem::replace(&mut batch, Vec::with_capacity(BATCH_REPORTS));
                            let _ = tx.send(Message::Reports(full));
                        }
                    });
                    if !batch.is_empty() {
                        let _ = tx.send(Message::Reports(batch));
                    }
                    let _ = tx.send(Message::Done(result));
                    progress.file_done();
                }
            });
        }
        for (source, rx) in sources.iter().zip(receivers) {
            for m in rx {
                match m {
                    Message::Reports(batch) => {
                        for (r, bytes) in batch {
                            if let Some(b) = bytes {
                                rendered.insert(ReportKey::of(&r), (r.findings.len(), b));
                            }
                            correlator.push(r, &mut |x| deliver(x, &mut rendered));
                        }
                    }
                    Message::Done(result) => {
                        finish_file(&source.name(), result, &mut outcome);
                        break;
                    }
                }
            }
        }
    });
    correlator.finish(&mut |x| deliver(x, &mut rendered));
    outcome
}

/// Renderings by connection, with the report's findings count then.
type Rendered = HashMap<ReportKey, (usize, Vec<u8>), ahash::RandomState>;

/// A connection of the run: its capture, endpoints and first frame.
#[derive(PartialEq, Eq, Hash)]
struct ReportKey(Option<String>, String, String, Option<u64>);

impl ReportKey {
    fn of(r: &ConnectionReport) -> Self {
        ReportKey(
            r.file.clone(),
            r.client.clone(),
            r.server.clone(),
            r.first_frame,
        )
    }
}

/// Scan one capture, each report to `each` (standard input's named `-`).
fn scan_source(
    scanner: &Scanner,
    source: &Source,
    progress: &dyn Progress,
    mut each: impl FnMut(ConnectionReport),
) -> Result<(ScanStats, Option<CaptureError>), CaptureError> {
    let mut last = 0u64;
    let tick = |n: u64| {
        if n - last > 1 << 20 {
            progress.bytes(n - last);
            last = n;
        }
    };
    let input = match source {
        Source::File(p) => Input::Path(p),
        Source::Stdin => Input::Reader(Box::new(std::io::stdin())),
    };
    let stdin = matches!(source, Source::Stdin);
    scanner.scan_each(input, tick, |mut r| {
        if stdin {
            r.file = Some("-".into());
        }
        each(r)
    })
}

fn finish_file(
    name: &str,
    result: Result<(ScanStats, Option<CaptureError>), CaptureError>,
    outcome: &mut RunOutcome,
) {
    let (stats, error) = match result {
        Ok(o) => o,
        Err(e) => {
            eprintln!("smbsign: {name}: {e}");
            outcome.read_error = true;
            return;
        }
    };
    if let Some(e) = &error {
        eprintln!("smbsign: {name}: {e}");
        outcome.read_error = true;
    }
    warn_limits(name, &stats);
    outcome.files.push(FileOutcome {
        name: name.to_owned(),
        stats,
        error,
    });
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
