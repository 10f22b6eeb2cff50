//! Reading many captures, `jobs` at a time, and handing their reports on
//! in input order: file after file, each file's reports as its scan gives
//! them, through one correlator for the whole run. Whatever `jobs` is, the
//! sink sees the same reports in the same order as with one job. The CLI
//! (`scan`, `hosts`, `report`) and the Python package's `scan_many` run
//! through here.
//!
//! Each file is scanned on a worker thread; its reports come back through
//! a bounded channel of its own, which the calling thread drains in input
//! order. A worker that runs ahead waits on its full channel, so memory
//! stays bounded by the channel sizes, not by the files.
#![forbid(unsafe_code)]

use super::inputs::Source;
use super::{Input, Scanner};
use crate::capture::{CaptureError, ScanStats};
use crate::correlate::Correlator;
use crate::posture::ConnectionReport;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Reports a worker hands over at once (one wake-up of the main thread
/// per batch, not per report)…
const BATCH_REPORTS: usize = 64;
/// …and batches it may have ready before the main thread takes them.
const CHANNEL_BATCHES: usize = 8;

/// How one capture went: its counters and why reading stopped early
/// (reports cover what was read), or why it could not be read at all.
pub struct FileOutcome {
    pub name: String,
    pub result: Result<(ScanStats, Option<CaptureError>), CaptureError>,
}

/// What a run did, once every report went to the sink.
pub struct RunOutcome {
    /// Every capture, in input order.
    pub files: Vec<FileOutcome>,
}

impl RunOutcome {
    /// Some capture could not be read, or stopped early.
    pub fn read_error(&self) -> bool {
        self.files
            .iter()
            .any(|f| !matches!(f.result, Ok((_, None))))
    }
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn bytes(&self, _: u64) {}
    fn file_done(&self) {}
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
        Correlator::with_hold(crate::correlate::ONE_CAPTURE_HOLD)
    };
    let mut outcome = RunOutcome { files: Vec::new() };
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

/// Scan one capture, each report to `each` (standard input's named `-`,
/// bytes as given).
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
    let (input, named) = match source {
        Source::File(p) => (Input::Path(p), None),
        Source::Stdin => (Input::Reader(Box::new(std::io::stdin())), Some("-")),
        Source::Bytes { name, data } => (Input::Reader(Box::new(&data[..])), Some(name.as_str())),
    };
    scanner.scan_each(input, tick, |mut r| {
        if let Some(name) = named {
            r.file = Some(name.to_owned());
        }
        each(r)
    })
}

fn finish_file(
    name: &str,
    result: Result<(ScanStats, Option<CaptureError>), CaptureError>,
    outcome: &mut RunOutcome,
) {
    outcome.files.push(FileOutcome {
        name: name.to_owned(),
        result,
    });
}

/// The credentials for a run over `sources`: with several captures, the
/// Kerberos tickets of every capture's KDC exchanges are learnt first (the
/// exchange may be in another capture than the logon; standard input
/// cannot be read twice, and a capture that cannot be read is reported by
/// the scan). None when no secret was given.
pub fn run_credentials(
    secrets: &crate::verify::Secrets,
    sources: &[Source],
) -> Result<Option<std::sync::Arc<crate::verify::Credentials>>, String> {
    let c = secrets.credentials()?;
    if sources.len() > 1 && c.learns_from_kdc() {
        for path in sources.iter().filter_map(Source::path) {
            let _ = super::learn_kdc(&c, path);
        }
    }
    Ok((!c.is_empty()).then(|| std::sync::Arc::new(c)))
}
