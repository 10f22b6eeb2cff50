//! The one entry point: `Scanner::new(options).scan(input)` reads a capture
//! (a path, a reader, bytes), runs every SMB connection through the
//! connection analysis (with verification when credentials are given,
//! SMB2 MACs on a second thread) and returns one typed report per
//! connection. `scan_each` streams the reports as connections end, and
//! `engine` gives the frame-by-frame machinery for callers that hold
//! packets themselves. `inputs` names captures (files, directories walked,
//! standard input) and `many` reads many of them, `jobs` at a time, through
//! one correlator.
#![forbid(unsafe_code)]

mod analysis;
pub mod decrypt_to;
pub mod inputs;
mod macs;
pub mod many;

pub use analysis::{PduEvent, PduHook};

use crate::capture::packet::LinkType;
use crate::capture::{
    CaptureError, FlowTable, MAX_FLOWS, MAX_HELD_BYTES, ScanStats, flows::SWEEP_EVERY, read_capture,
};
use crate::posture::ConnectionReport;
use crate::verify::Credentials;
use analysis::Analysis;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// How a scan runs.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Verify signatures with these (whole messages are then kept, up to
    /// 16 MiB each, instead of their headers).
    pub credentials: Option<Arc<Credentials>>,
    /// Compute SMB2 MACs on a second thread when verifying on a machine
    /// with more than one core. Verdicts and reports are the same as in
    /// line; only the time differs.
    pub parallel_macs: bool,
    /// Live connections tracked at once (`MAX_FLOWS`).
    pub max_flows: usize,
    /// Reassembly memory across all connections (`MAX_HELD_BYTES`).
    pub max_held_bytes: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            credentials: None,
            parallel_macs: true,
            max_flows: MAX_FLOWS,
            max_held_bytes: MAX_HELD_BYTES,
        }
    }
}

impl ScanOptions {
    /// Default options verifying with `credentials`.
    pub fn with_credentials(credentials: Arc<Credentials>) -> Self {
        ScanOptions {
            credentials: Some(credentials),
            ..Self::default()
        }
    }
}

/// What to scan.
pub enum Input<'a> {
    Path(&'a Path),
    Reader(Box<dyn Read + Send + 'a>),
}

impl<'a> From<&'a Path> for Input<'a> {
    fn from(p: &'a Path) -> Self {
        Input::Path(p)
    }
}

impl<'a> From<&'a std::path::PathBuf> for Input<'a> {
    fn from(p: &'a std::path::PathBuf) -> Self {
        Input::Path(p)
    }
}

impl<'a> From<&'a [u8]> for Input<'a> {
    fn from(b: &'a [u8]) -> Self {
        Input::Reader(Box::new(b))
    }
}

/// The result of scanning one capture: a report per connection (in order
/// of first appearance), counters, and the error that stopped reading
/// early (the reports then cover what was read).
#[derive(Debug)]
pub struct Report {
    pub connections: Vec<ConnectionReport>,
    pub stats: ScanStats,
    pub error: Option<CaptureError>,
}

/// Scans captures with one set of options.
#[derive(Debug, Clone, Default)]
pub struct Scanner {
    options: ScanOptions,
}

impl Scanner {
    pub fn new(options: ScanOptions) -> Self {
        Scanner { options }
    }

    /// Scan a whole capture. A file that cannot be opened, is empty or is
    /// not a capture is an `Err`; a truncated or corrupt one is reported as
    /// far as it was read, with `Report::error` saying why it stopped.
    pub fn scan<'a>(&self, input: impl Into<Input<'a>>) -> Result<Report, CaptureError> {
        let mut connections = Vec::new();
        let (stats, error) = self.scan_each(input, |_| {}, |r| connections.push(r))?;
        // The same logon on two of its connections: relay, MITM legs.
        let connections = crate::correlate::correlate_all(connections);
        Ok(Report {
            connections,
            stats,
            error,
        })
    }

    /// Scan a capture, handing each connection's report to `on_report` as
    /// soon as the connection is over (not at the end): memory then stays
    /// flat however many connections the capture holds. Reports come in
    /// the order the connections ended; those still open at the end follow
    /// in order of first appearance. `progress` is told the bytes read so
    /// far. Returns the counters and the error that stopped reading early.
    /// Reports are not correlated with each other: pass them through a
    /// `correlate::Correlator` (as the CLI does across its files) for the
    /// cross-connection findings.
    pub fn scan_each<'a>(
        &self,
        input: impl Into<Input<'a>>,
        progress: impl FnMut(u64),
        on_report: impl FnMut(ConnectionReport),
    ) -> Result<(ScanStats, Option<CaptureError>), CaptureError> {
        self.run(&mut self.engine(), input, progress, on_report)
    }

    /// Scan the capture at `input` (with credentials: only what decrypts
    /// changes) and write to `out` a pcapng copy of it in which every
    /// TRANSFORM message that decrypted is replaced by its plaintext
    /// (`decrypt_to`). The plaintexts wait in `out` + `.plaintext.tmp`,
    /// removed after. Returns the scan's report and what the copy came to.
    pub fn decrypt_to(
        &self,
        input: &Path,
        out: &Path,
    ) -> Result<(Report, decrypt_to::CopyStats), CaptureError> {
        let mut spill = out.as_os_str().to_owned();
        spill.push(".plaintext.tmp");
        let spill = std::path::PathBuf::from(spill);
        let log = decrypt_to::PlaintextLog::create(&spill)
            .map_err(|e| CaptureError::Io(format!("{}: {e}", spill.display())))?;
        let _ = std::fs::remove_file(&spill); // the open file stays ours
        let mut engine = self.engine();
        engine.table.sink.plaintexts = Some(log);
        let mut connections = Vec::new();
        let (stats, error) = self.run(&mut engine, input, |_| {}, |r| connections.push(r))?;
        let log = engine.table.sink.plaintexts.take();
        let log = log.ok_or_else(|| CaptureError::Io("the plaintext log was lost".into()))?;
        let copy = decrypt_to::write_copy(input, log, out)?;
        let report = Report {
            connections: crate::correlate::correlate_all(connections),
            stats,
            error,
        };
        Ok((report, copy))
    }

    fn run<'a>(
        &self,
        engine: &mut Engine,
        input: impl Into<Input<'a>>,
        mut progress: impl FnMut(u64),
        mut on_report: impl FnMut(ConnectionReport),
    ) -> Result<(ScanStats, Option<CaptureError>), CaptureError> {
        let (reader, file): (Box<dyn Read + Send + 'a>, Option<String>) = match input.into() {
            Input::Path(p) => {
                let f = std::fs::File::open(p).map_err(|e| CaptureError::Io(e.to_string()))?;
                (
                    Box::new(std::io::BufReader::with_capacity(0, f)),
                    Some(p.display().to_string()),
                )
            }
            Input::Reader(r) => (r, None),
        };
        let mut emit = |mut r: ConnectionReport| {
            r.file.clone_from(&file);
            on_report(r);
        };
        let result = read_capture(
            reader,
            |link, data| {
                engine.frame(link, data);
                if engine.frame_number().is_multiple_of(SWEEP_EVERY) {
                    engine.take_finished().into_iter().for_each(&mut emit);
                }
            },
            &mut progress,
        );
        if let Err(e @ (CaptureError::NotACapture | CaptureError::Empty | CaptureError::Io(_))) =
            &result
        {
            return Err(e.clone());
        }
        engine.finish().into_iter().for_each(&mut emit);
        Ok((engine.stats().clone(), result.err()))
    }

    /// The frame-by-frame machinery behind `scan`, for callers that read
    /// packets themselves.
    pub fn engine(&self) -> Engine {
        let o = &self.options;
        let sink = Analysis::new(o.credentials.clone(), o.parallel_macs);
        Engine {
            table: FlowTable::new(sink, o.max_flows, o.max_held_bytes, o.credentials.is_some()),
        }
    }
}

/// Learn Kerberos ticket session keys from the KDC exchanges (port 88,
/// UDP and TCP) of a capture, with the passwords in `credentials`: call it
/// for every capture of a run before scanning, so that a Kerberos session
/// verifies whichever file its AS and TGS exchanges are in. Returns the
/// tickets learnt; a file that is not a capture is an `Err`.
pub fn learn_kdc<'a>(
    credentials: &Credentials,
    input: impl Into<Input<'a>>,
) -> Result<usize, CaptureError> {
    let reader: Box<dyn Read + Send + 'a> = match input.into() {
        Input::Path(p) => {
            Box::new(std::fs::File::open(p).map_err(|e| CaptureError::Io(e.to_string()))?)
        }
        Input::Reader(r) => r,
    };
    let messages = crate::capture::kdc::kdc_messages(reader)?;
    let mut learner = crate::verify::kerberos::KdcLearner::default();
    Ok(messages
        .iter()
        .map(|(_, m)| learner.learn(credentials, m))
        .sum())
}

/// Frames in, reports out.
pub struct Engine {
    table: FlowTable<Analysis>,
}

impl Engine {
    /// Feed one captured frame. Frame numbers count from 1 like Wireshark's.
    pub fn frame(&mut self, link: LinkType, data: &[u8]) {
        self.table.frame(link, data);
    }

    /// Call `hook` with every reassembled SMB PDU, in capture order.
    pub fn set_pdu_hook(&mut self, hook: PduHook) {
        self.table.sink.hook = Some(hook);
    }

    /// Reports of connections that ended since the last call.
    pub fn take_finished(&mut self) -> Vec<ConnectionReport> {
        std::mem::take(&mut self.table.sink.finished)
    }

    /// End of input: the reports of every connection not taken yet, in
    /// order of first appearance.
    pub fn finish(&mut self) -> Vec<ConnectionReport> {
        self.table.finish();
        let mut out = self.take_finished();
        out.sort_by_key(|r| r.first_frame.unwrap_or(u64::MAX));
        out
    }

    pub fn stats(&self) -> &ScanStats {
        &self.table.stats
    }

    pub fn frame_number(&self) -> u64 {
        self.table.frame_number()
    }

    /// Reassembly bytes held now, across all connections.
    pub fn held_bytes(&self) -> usize {
        self.table.held_bytes()
    }

    /// Connections currently tracked.
    pub fn live_flows(&self) -> usize {
        self.table.live_flows()
    }
}
