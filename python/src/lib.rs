//! `smbsign._native`: the Rust library for Python. Each call scans with the
//! GIL released and hands back JSON text made by the same serialiser as
//! `smbsign scan --json` and `smbsign hosts --json`; the Python package
//! (`smbsign/__init__.py`) turns it into typed objects and exceptions. A
//! panic in the library becomes a Python exception (PyO3's boundary),
//! never an abort of the interpreter.
#![forbid(unsafe_code)]

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use smbsign::audit::Hosts;
use smbsign::capture::{CaptureError, ScanStats};
use smbsign::posture::ConnectionReport;
use smbsign::scan::inputs::{Source, expand};
use smbsign::scan::many::{NoProgress, run, run_credentials};
use smbsign::scan::{ScanOptions, Scanner};
use smbsign::verify::Secrets;
use std::path::PathBuf;

/// The secrets a call was given, as the CLI's flags name them.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct PySecrets {
    passwords: Vec<String>,
    nt_hashes: Vec<String>,
    session_keys: Vec<String>,
    keytabs: Vec<PathBuf>,
    credentials_file: Option<PathBuf>,
}

impl PySecrets {
    fn secrets(self) -> Secrets {
        Secrets {
            passwords: self.passwords,
            nt_hashes: self.nt_hashes,
            session_keys: self.session_keys,
            keytabs: self.keytabs,
            credentials_file: self.credentials_file,
        }
    }
}

/// The kind of a capture error, for the Python exception it becomes.
fn error_kind(e: &CaptureError) -> &'static str {
    match e {
        CaptureError::Io(_) => "io",
        CaptureError::NotACapture | CaptureError::Empty => "not-a-capture",
        CaptureError::Truncated { .. } => "truncated",
        CaptureError::Corrupt { .. } => "corrupt",
    }
}

fn file_json(
    name: &str,
    result: &Result<(ScanStats, Option<CaptureError>), CaptureError>,
) -> serde_json::Value {
    match result {
        Ok((stats, error)) => serde_json::json!({
            "name": name,
            "stats": stats,
            "error": error.as_ref().map(|e| e.to_string()),
            "error_kind": error.as_ref().map(error_kind),
        }),
        Err(e) => serde_json::json!({
            "name": name,
            "stats": null,
            "error": e.to_string(),
            "error_kind": error_kind(e),
        }),
    }
}

/// One run's result as JSON: every connection's report (the CLI's JSON
/// lines, in the CLI's order), every input's outcome, and the hosts.
fn run_json(scanner: &Scanner, sources: &[Source], jobs: usize) -> String {
    let mut reports = Vec::new();
    let outcome = run(scanner, sources, jobs, &NoProgress, None, &mut |r, _| {
        reports.push(r)
    });
    let files = outcome
        .files
        .iter()
        .map(|f| file_json(&f.name, &f.result))
        .collect();
    reports_json(reports, files)
}

/// The JSON of a run's reports (in the order given), its inputs'
/// outcomes, and the hosts and relay targets over the reports.
fn reports_json(reports: Vec<ConnectionReport>, files: Vec<serde_json::Value>) -> String {
    let mut hosts = Hosts::new();
    let mut lines: Vec<u8> = Vec::new();
    for (k, r) in reports.iter().enumerate() {
        hosts.add(r);
        if k > 0 {
            lines.push(b',');
        }
        let _ = serde_json::to_writer(&mut lines, r);
    }
    let (targets, conflicting) = hosts.relay_targets();
    let address = |v: Vec<&smbsign::audit::ServerHost>| -> Vec<String> {
        v.into_iter().map(|h| h.address.clone()).collect()
    };
    let relay = serde_json::json!({
        "relay_targets": address(targets),
        "relay_conflicting": address(conflicting),
    })
    .to_string();
    let mut host_lines = Vec::new();
    let _ = hosts.write_json_lines(&mut host_lines);
    let host_lines = String::from_utf8_lossy(&host_lines);
    let hosts: Vec<&str> = host_lines.lines().collect();
    format!(
        "{{\"connections\":[{}],\"files\":{},\"hosts\":[{}],{}}}",
        String::from_utf8_lossy(&lines),
        serde_json::Value::Array(files),
        hosts.join(","),
        &relay[1..relay.len() - 1]
    )
}

/// Run `f`, a panic in the library becoming a RuntimeError (the Python
/// package's InternalError) instead of PyO3's PanicException, which is a
/// BaseException that `except Exception` would not catch.
fn guarded<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(PyRuntimeError::new_err(
            "internal error in smbsign (a bug: please report it with the capture)",
        ))
    })
}

fn scanner(secrets: PySecrets, sources: &[Source]) -> PyResult<Scanner> {
    let credentials =
        run_credentials(&secrets.secrets(), sources).map_err(PyValueError::new_err)?;
    Ok(Scanner::new(ScanOptions {
        credentials,
        ..ScanOptions::default()
    }))
}

/// Scan captures given by path (files, or directories walked for
/// captures), `jobs` at a time, through one correlator. Returns JSON text:
/// `{"connections": [...], "files": [...], "hosts": [...],
/// "relay_targets": [...], "relay_conflicting": [...], "skipped": N,
/// "walk_errors": [...]}`.
#[pyfunction]
#[pyo3(signature = (paths, jobs, secrets))]
fn scan_paths(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    jobs: usize,
    secrets: PySecrets,
) -> PyResult<String> {
    py.detach(|| {
        guarded(|| {
            let expanded = expand(&paths);
            let scanner = scanner(secrets, &expanded.sources)?;
            let body = run_json(&scanner, &expanded.sources, jobs.max(1));
            let extra = serde_json::json!({
                "skipped": expanded.skipped,
                "walk_errors": expanded.errors,
            });
            Ok(format!(
                "{},{}",
                body.trim_end_matches('}'),
                &extra.to_string()[1..]
            ))
        })
    })
}

/// Scan one capture held in memory (`name` is what its reports call it).
/// Besides the run's JSON, `"link_keys"` lists per connection (in the
/// order of `"connections"`) the keys correlation links it by, for a join
/// across captures (`smbsign.link_keys`, the Spark example).
#[pyfunction]
#[pyo3(signature = (data, name, secrets))]
fn scan_bytes(
    py: Python<'_>,
    data: Vec<u8>,
    name: Option<String>,
    secrets: PySecrets,
) -> PyResult<String> {
    py.detach(|| {
        guarded(|| {
            let name = name.unwrap_or_else(|| "<bytes>".into());
            let sources = [Source::Bytes {
                name: name.clone(),
                data: data.into(),
            }];
            let scanner = scanner(secrets, &sources)?;
            Ok(one_capture_json(&scanner, &sources[0], &name))
        })
    })
}

/// One capture, scanned and correlated as `many::run` does for one
/// source, with each report's link keys taken before correlation moves
/// its facts out.
fn one_capture_json(scanner: &Scanner, source: &Source, name: &str) -> String {
    use smbsign::correlate::{Correlator, ONE_CAPTURE_HOLD, link_keys};
    type Key = (String, String, Option<u64>);
    let mut keys: std::collections::HashMap<Key, Vec<String>> = Default::default();
    let mut correlator = Correlator::with_hold(ONE_CAPTURE_HOLD);
    let mut reports = Vec::new();
    let Source::Bytes { data, .. } = source else {
        return run_json(scanner, std::slice::from_ref(source), 1);
    };
    let result = scanner.scan_each(
        &data[..],
        |_| {},
        |mut r| {
            r.file = Some(name.to_owned());
            let k = link_keys(&r);
            if !k.is_empty() {
                keys.insert((r.client.clone(), r.server.clone(), r.first_frame), k);
            }
            correlator.push(r, &mut |x| reports.push(x));
        },
    );
    correlator.finish(&mut |x| reports.push(x));
    let link_keys: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            keys.remove(&(r.client.clone(), r.server.clone(), r.first_frame))
                .unwrap_or_default()
        })
        .collect();
    let mut body = reports_json(reports, vec![file_json(name, &result)]);
    body.pop();
    format!("{body},\"link_keys\":{}}}", serde_json::json!(link_keys))
}

/// Scan captures held in memory, `(name, data)` each, together: one
/// correlator over them all, as the CLI over files (relays whose legs are
/// in different captures are found).
#[pyfunction]
#[pyo3(signature = (items, jobs, secrets))]
fn scan_bytes_many(
    py: Python<'_>,
    items: Vec<(String, Vec<u8>)>,
    jobs: usize,
    secrets: PySecrets,
) -> PyResult<String> {
    py.detach(|| {
        guarded(|| {
            let sources: Vec<Source> = items
                .into_iter()
                .map(|(name, data)| Source::Bytes {
                    name,
                    data: data.into(),
                })
                .collect();
            let scanner = scanner(secrets, &sources)?;
            Ok(run_json(&scanner, &sources, jobs.max(1)))
        })
    })
}

/// The library's version.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(scan_paths, m)?)?;
    m.add_function(wrap_pyfunction!(scan_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(scan_bytes_many, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
