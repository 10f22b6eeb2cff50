//! `smbsign scan`: reports per connection, as a table or JSON lines.

use crate::args::{FailOn, ScanArgs};
use crate::inputs::Source;
use crate::run::{FileOutcome, Prepared};
use smbsign::capture::{CaptureError, ScanStats};
use smbsign::posture::ConnectionReport;
use smbsign::scan::Scanner;
use std::io::Write;

fn matches_fail_on(r: &ConnectionReport, rules: &[FailOn]) -> bool {
    r.findings.iter().any(|f| {
        rules.iter().any(|rule| match rule {
            FailOn::Severity(s) => f.severity >= *s,
            FailOn::Code(c) => f.code == *c,
        })
    })
}

pub fn scan(args: ScanArgs) -> i32 {
    let Ok(Prepared {
        sources,
        scanner,
        credentials,
        mut read_error,
    }) = crate::run::prepare(&args.input)
    else {
        return 2;
    };
    if args.export_keys.is_some() && credentials.is_none() {
        eprintln!(
            "smbsign: --export-keys needs credentials (--password, --nt-hash, --session-key, --keytab or --credentials)"
        );
        return 2;
    }
    if args.decrypt_to.is_some()
        && (credentials.is_none() || !matches!(sources.as_slice(), [Source::File(_)]))
    {
        eprintln!(
            "smbsign: --decrypt-to needs one capture file and credentials (--password, --nt-hash, --session-key, --keytab or --credentials)"
        );
        return 2;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut fail = false;
    let mut exported: Vec<String> = Vec::new();
    let mut hosts = smbsign::audit::Hosts::new();
    let relay_list = args.input.relay_list.is_some();
    let mut table_reports: Vec<ConnectionReport> = Vec::new();
    let mut stream_error: Option<std::io::Error> = None;
    let mut sink = |r: ConnectionReport, rendered: Option<Vec<u8>>| {
        if matches_fail_on(&r, &args.fail_on) {
            fail = true;
        }
        if relay_list {
            hosts.add(&r);
        }
        if r.is_smb2() && args.export_keys.is_some() {
            exported.extend(r.session_keys.iter().map(key_line));
        }
        if !args.json {
            table_reports.push(r);
        } else if stream_error.is_none() {
            let w = match rendered.filter(|b| !b.is_empty()) {
                Some(line) => out.write_all(&line),
                None => serde_json::to_writer(&mut out, &r)
                    .map_err(std::io::Error::other)
                    .and_then(|_| writeln!(out)),
            };
            if let Err(e) = w {
                stream_error = Some(e);
            }
        }
    };
    let files = match (&args.decrypt_to, sources.as_slice()) {
        (Some(copy), [Source::File(path)]) => {
            match decrypt_to(&scanner, path, copy, &mut |r| sink(r, None)) {
                Ok((stats, error)) => {
                    read_error |= error.is_some();
                    vec![FileOutcome {
                        name: path.display().to_string(),
                        stats,
                        error,
                    }]
                }
                Err(e) => {
                    eprintln!("smbsign: {}: {e}", path.display());
                    return 2;
                }
            }
        }
        _ => {
            let bar = crate::run::Bar::new(&sources, args.input.quiet || args.input.no_progress);
            // JSON lines are rendered by the workers (the main thread only
            // writes them), a table at the end.
            let render = |r: &ConnectionReport| {
                let mut line = serde_json::to_vec(r).unwrap_or_default();
                if !line.is_empty() {
                    line.push(b'\n');
                }
                line
            };
            let render: Option<&crate::run::Render> = if args.json { Some(&render) } else { None };
            let o = crate::run::run(
                &scanner,
                &sources,
                args.input.jobs(),
                &bar,
                render,
                &mut sink,
            );
            bar.finish();
            read_error |= o.read_error;
            o.files
        }
    };
    let written = match stream_error {
        Some(e) => Err(e),
        None if args.json => Ok(()),
        None => files.iter().try_for_each(|f| {
            let mut mine: Vec<&ConnectionReport> = table_reports
                .iter()
                .filter(|r| r.file.as_deref() == Some(f.name.as_str()))
                .collect();
            mine.sort_by_key(|r| r.first_frame.unwrap_or(u64::MAX));
            write_table(&mut out, f, &mine)
        }),
    };
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return if read_error { 2 } else { i32::from(fail) };
        }
        eprintln!("smbsign: writing output: {e}");
        return 2;
    }
    if out.flush().is_err() {
        return 2;
    }
    if let Some(path) = &args.export_keys {
        exported.dedup();
        let text: String = exported.iter().map(|l| format!("{l}\n")).collect();
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("smbsign: {}: {e}", path.display());
            return 2;
        }
    }
    if let Some(path) = &args.input.relay_list
        && crate::hosts::write_relay_list(&hosts, path).is_err()
    {
        return 2;
    }
    if read_error { 2 } else { i32::from(fail) }
}

/// One line of Wireshark's smb2_seskey_list: the session id bytes as on
/// the wire (little-endian), the session key, then the server-to-client
/// and client-to-server cipher keys.
fn key_line(k: &smbsign::posture::ExportedKey) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let keys = k.cipher_keys();
    let (c2s, s2c) = keys
        .as_ref()
        .map(|(c, s)| (hex(c), hex(s)))
        .unwrap_or_default();
    let quoted = |h: String| if h.is_empty() { "\"\"".to_owned() } else { h };
    // An AES-256 session: Wireshark 4.0 takes no session key longer than
    // 16 bytes and, given the 16-byte one, derives wrong cipher keys from it
    // instead of using the ones given (its decryption then fails); without
    // it, it uses them.
    let wide = keys.as_ref().is_some_and(|(c, _)| c.len() == 32);
    let session = if wide {
        String::new()
    } else {
        hex(&k.session_key)
    };
    format!(
        "{},{},{},{}",
        hex(&k.session_id.to_le_bytes()),
        quoted(session),
        quoted(s2c),
        quoted(c2s)
    )
}

/// `--decrypt-to`: scan `path`, write the decrypted copy to `copy`, and
/// hand the (correlated) reports to `sink`.
fn decrypt_to(
    scanner: &Scanner,
    path: &std::path::Path,
    copy: &std::path::Path,
    sink: &mut impl FnMut(ConnectionReport),
) -> Result<(ScanStats, Option<CaptureError>), CaptureError> {
    let (report, stats) = scanner.decrypt_to(path, copy)?;
    eprintln!(
        "smbsign: {}: {} frames, {} rewritten, {} encrypted messages replaced by their plaintext",
        copy.display(),
        stats.frames,
        stats.frames_rewritten,
        stats.messages_replaced
    );
    report.connections.into_iter().for_each(sink);
    Ok((report.stats, report.error))
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

fn write_table(
    out: &mut impl Write,
    file: &FileOutcome,
    reports: &[&ConnectionReport],
) -> std::io::Result<()> {
    let (name, stats, error) = (&file.name, &file.stats, file.error.as_ref());
    writeln!(
        out,
        "{}: {} frames, {} SMB connection(s){}",
        name,
        stats.frames,
        reports.len(),
        match error {
            Some(CaptureError::Truncated { .. }) => " (capture truncated; reported as far as read)",
            Some(_) => " (read stopped early)",
            None => "",
        }
    )?;
    if reports.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{:<24} {:<24} {:<11} {:<16} {:<16} {:>7} {:>8} {:>5}",
        "CLIENT",
        "SERVER",
        "DIALECT",
        "SERVER SIGNING",
        "CLIENT SIGNING",
        "SIGNED",
        "UNSIGNED",
        "ENC"
    )?;
    for r in reports {
        let side = |s: Option<smbsign::wire::SigningSetting>, m: Option<u16>| match (s, m) {
            (Some(s), Some(m)) => format!("{s} (0x{m:02x})"),
            (Some(s), None) => s.to_string(),
            _ => "-".into(),
        };
        writeln!(
            out,
            "{:<24} {:<24} {:<11} {:<16} {:<16} {:>7} {:>8} {:>5}",
            r.client,
            r.server,
            opt(r.dialect.as_ref()),
            side(r.server_signing, r.server_security_mode.map(|m| m.raw())),
            side(r.client_signing, r.client_security_mode),
            r.signed_messages,
            r.unsigned_messages,
            r.encrypted_messages
        )?;
        for s in &r.sessions {
            let verified = match (s.verified, s.forged, s.no_key) {
                (Some(v), Some(f), Some(n)) => format!(
                    " signatures: {v} valid, {f} forged, {n} without key{}",
                    s.key
                        .as_ref()
                        .map(|k| format!(" (key {})", k.text()))
                        .unwrap_or_default()
                ),
                _ => String::new(),
            };
            writeln!(
                out,
                "    session {} {} {}{}{}{}{}",
                smbsign::posture::session_id_string(s.id.0, s.id.1),
                s.user.as_deref().unwrap_or("-"),
                s.mechanism.as_str(),
                if s.guest { " guest" } else { "" },
                if s.anonymous { " anonymous" } else { "" },
                if s.encrypted { " encrypted" } else { "" },
                verified,
            )?;
        }
        for f in &r.findings {
            writeln!(
                out,
                "    {:<7} {}: {}",
                f.severity.as_str(),
                f.code.as_str(),
                f.message
            )?;
        }
    }
    Ok(())
}
