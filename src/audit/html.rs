//! The auditor's report as one self-contained HTML file: inline CSS and
//! SVG, no script, nothing fetched. Every string from a capture goes
//! through maud's escaping (`html!` escapes each interpolation), so a user
//! or share name made of markup shows as text.

use super::hosts::{ClientHost, Hosts, Posture, ServerHost};
use crate::posture::{ConnectionReport, Finding, Severity, side_name};
use maud::{DOCTYPE, Markup, html};
use std::collections::BTreeMap;

/// Connections detailed in the report (the others are counted).
pub const MAX_DETAILED: usize = 2000;
/// Findings shown per code (the others are counted).
pub const MAX_PER_CODE: usize = 50;
/// Servers in the signed/unsigned chart.
const CHART_SERVERS: usize = 20;

/// What the report covers, besides hosts and connections.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub files: usize,
    pub frames: u64,
    /// Connections seen (the report details at most `MAX_DETAILED`).
    pub connections: u64,
}

/// Reports kept for the HTML, bounded: the first `MAX_DETAILED`
/// connections, and per finding code the first `MAX_PER_CODE` findings.
#[derive(Debug, Default)]
pub struct Collected {
    pub connections: Vec<ConnectionReport>,
    pub findings: BTreeMap<crate::posture::FindingCode, (u64, Vec<(Finding, String)>)>,
    pub by_severity: BTreeMap<Severity, u64>,
    pub total: u64,
}

impl Collected {
    pub fn add(&mut self, r: ConnectionReport) {
        self.total += 1;
        for f in &r.findings {
            *self.by_severity.entry(f.severity).or_default() += 1;
            let e = self.findings.entry(f.code).or_default();
            e.0 += 1;
            if e.1.len() < MAX_PER_CODE {
                e.1.push((f.clone(), connection_label(&r)));
            }
        }
        if self.connections.len() < MAX_DETAILED {
            self.connections.push(r);
        }
    }
}

fn connection_label(r: &ConnectionReport) -> String {
    let file = r.file.as_deref().unwrap_or("-");
    format!("{file}: {} → {}", r.client, r.server)
}

const CSS: &str = "
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1d2329;background:#fff}
h1{font-size:1.6em;margin:0 0 .2em}h2{margin-top:1.8em;border-bottom:2px solid #dde3e8}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
th,td{border:1px solid #d5dbe0;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#eef2f5}.num{text-align:right}
.sev{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-weight:600}
.error{background:#c62828}.warning{background:#e08a00}.info{background:#5472a0}
.exposed{color:#c62828;font-weight:600}.ok{color:#2e7d32}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #d5dbe0;border-radius:6px;
padding:.6em 1em;min-width:9em}.card b{display:block;font-size:1.7em}
details{margin:.3em 0;border:1px solid #e3e7eb;border-radius:4px;padding:.2em .6em}
summary{cursor:pointer}code{background:#f3f5f7;padding:0 3px}.fix{background:#f2f8f2}
";

/// The whole report.
pub fn render(hosts: &Hosts, collected: &Collected, run: &RunSummary) -> String {
    let servers = hosts.servers();
    let clients = hosts.clients();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "smbsign audit report" }
                style { (maud::PreEscaped(CSS)) }
            }
            body {
                h1 { "SMB signing audit" }
                p { "smbsign " (env!("CARGO_PKG_VERSION")) ": " (run.files) " capture(s), "
                    (run.frames) " frames, " (run.connections) " SMB connection(s)." }
                (summary(&servers, &clients, collected))
                h2 id="charts" { "Charts" }
                (signed_chart(&servers))
                (dialect_chart(&servers))
                h2 id="servers" { "Servers, most exposed first" }
                (server_table(&servers))
                h2 id="clients" { "Clients" }
                (client_table(&clients))
                h2 id="findings" { "Findings" }
                (findings(collected))
                h2 id="connections" { "Connections" }
                (connections(collected, run))
            }
        }
    };
    page.into_string()
}

fn summary(servers: &[&ServerHost], clients: &[&ClientHost], c: &Collected) -> Markup {
    let exposed = servers
        .iter()
        .filter(|h| h.signing.is_some_and(|p| p.exposure() == 0))
        .count();
    let sev = |s: Severity| c.by_severity.get(&s).copied().unwrap_or(0);
    html! {
        div class="cards" {
            div class="card" { b { (servers.len()) } "servers" }
            div class="card" { b class="exposed" { (exposed) } "not requiring signing" }
            div class="card" { b { (clients.len()) } "clients" }
            div class="card" { b { (c.total) } "connections" }
            @for s in [Severity::Error, Severity::Warning, Severity::Info] {
                div class="card" { b { (sev(s)) } span class={"sev " (s.as_str())} { (s.as_str()) } " findings" }
            }
        }
    }
}

fn posture_cell(p: Option<Posture>) -> Markup {
    let p = p.unwrap_or(Posture::Unknown);
    let class = match p.exposure() {
        0 => "exposed",
        3 => "ok",
        _ => "",
    };
    html! { td class=(class) { (p.as_str()) } }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn server_table(servers: &[&ServerHost]) -> Markup {
    html! {
        table {
            tr { th { "address" } th { "names" } th { "OS" } th { "signing" } th { "SMB1" }
                 th { "NTLMv1" } th { "encryption" } th { "dialects" } th { "clients" }
                 th { "sessions signed / unsigned" } th { "verified / forged" } th { "worst finding" } }
            @for h in servers {
                tr {
                    td { (h.address) }
                    td { (h.names.values.join(", ")) @if h.names.more > 0 { " (+" (h.names.more) ")" } }
                    td { @if let Some(os) = &h.os { (os) " (" (h.os_version.as_deref().unwrap_or("")) ")" } }
                    (posture_cell(h.signing))
                    td { @if h.smb1_accepted { "accepted" } @else if h.smb1_offered { "offered" } @else { "no" } }
                    td { (yes(h.ntlmv1)) }
                    td { (h.encryption) }
                    td { (h.dialects.iter().cloned().collect::<Vec<_>>().join(", ")) }
                    td class="num" { (h.clients.len()) }
                    td class="num" { (h.tallies.sessions_signed) " / " (h.tallies.sessions_unsigned) }
                    td class="num" { (h.tallies.sessions_verified) " / " (h.tallies.sessions_forged) }
                    td { @if let Some(w) = &h.worst_finding {
                        span class={"sev " (w.severity.as_str())} { (w.severity.as_str()) } " " code { (w.code.as_str()) }
                    } }
                }
            }
        }
    }
}

fn client_table(clients: &[&ClientHost]) -> Markup {
    html! {
        table {
            tr { th { "address" } th { "OS" } th { "signing" } th { "SMB1 offered" } th { "NTLMv1" }
                 th { "offered dialects" } th { "servers" } th { "users" } th { "worst finding" } }
            @for h in clients {
                tr {
                    td { (h.address) }
                    td { @if let Some(os) = &h.os { (os) } }
                    (posture_cell(h.signing))
                    td { (yes(h.smb1_offered)) }
                    td { (yes(h.ntlmv1)) }
                    td { (h.offered.iter().cloned().collect::<Vec<_>>().join(", ")) }
                    td { (h.servers.values.join(", ")) }
                    td { (h.users.values.join(", ")) }
                    td { @if let Some(w) = &h.worst_finding { code { (w.code.as_str()) } } }
                }
            }
        }
    }
}

fn finding_body(f: &Finding, at: &str) -> Markup {
    html! {
        details {
            summary { span class={"sev " (f.severity.as_str())} { (f.severity.as_str()) } " " (at) }
            p { (f.message) }
            @if !f.frames.is_empty() {
                p { "frames: " (f.frames.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")) }
            }
            @if !f.evidence.is_empty() {
                table {
                    tr { th { "field" } th { "seen" } th { "compared with" } }
                    @for e in &f.evidence { tr { td { (e.field) } td { (e.seen) } td { (e.expected) } } }
                }
            }
            @for fix in &f.fixes {
                p class="fix" { b { "Fix, on the " (side_name(fix.side)) ": " } (fix.setting) }
            }
        }
    }
}

fn findings(c: &Collected) -> Markup {
    let mut codes: Vec<_> = c.findings.iter().collect();
    codes.sort_by_key(|(code, _)| (std::cmp::Reverse(code.severity()), **code));
    html! {
        @if codes.is_empty() { p { "No findings." } }
        @for (code, (count, shown)) in codes {
            h3 id={"f-" (code.as_str())} {
                span class={"sev " (code.severity().as_str())} { (code.severity().as_str()) } " "
                code { (code.as_str()) } " — " (code.summary()) " (" (count) ")"
            }
            @for (f, at) in shown { (finding_body(f, at)) }
            @if *count > shown.len() as u64 { p { "… and " (*count - shown.len() as u64) " more." } }
        }
    }
}

fn connections(c: &Collected, run: &RunSummary) -> Markup {
    html! {
        @for r in &c.connections {
            details {
                summary {
                    (connection_label(r)) " — "
                    (r.dialect.as_ref().map_or("dialect not seen".to_owned(), |d| d.name()))
                    ", server signing " (r.server_signing.map_or("unknown".to_owned(), |s| s.to_string()))
                }
                table {
                    tr { th { "session" } th { "user" } th { "mechanism" } th { "signing in force" }
                         th { "verified" } th { "forged" } }
                    @for s in &r.sessions {
                        tr {
                            td { (crate::posture::session_id_string(s.id.0, s.id.1)) }
                            td { (s.user.as_deref().unwrap_or("")) }
                            td { (s.mechanism.as_str()) @if s.guest { " (guest)" } @if s.anonymous { " (anonymous)" } }
                            td { (yes(s.signing_required)) }
                            td class="num" { (s.verified.map_or("-".into(), |v| v.to_string())) }
                            td class="num" { (s.forged.map_or("-".into(), |v| v.to_string())) }
                        }
                    }
                }
                @if !r.tree_connects.is_empty() {
                    table {
                        tr { th { "tree connect" } th { "frame" } th { "status" } th { "share type" } }
                        @for t in &r.tree_connects {
                            tr { td { (t.path) } td class="num" { (t.frame) }
                                 td { (t.status.as_deref().unwrap_or("")) }
                                 td { (t.share_type.as_deref().unwrap_or("")) } }
                        }
                    }
                }
                @if !r.findings.is_empty() {
                    p { "findings: " @for f in &r.findings { code { (f.code.as_str()) } " " } }
                }
            }
        }
        @if run.connections > c.connections.len() as u64 {
            p { "… and " (run.connections - c.connections.len() as u64) " more connection(s), not detailed here." }
        }
    }
}

/// Horizontal stacked bars: signed and unsigned messages of the servers
/// with the most messages.
fn signed_chart(servers: &[&ServerHost]) -> Markup {
    let mut top: Vec<&&ServerHost> = servers.iter().collect();
    top.sort_by_key(|h| std::cmp::Reverse(h.tallies.signed_messages + h.tallies.unsigned_messages));
    top.truncate(CHART_SERVERS);
    let max = top
        .iter()
        .map(|h| h.tallies.signed_messages + h.tallies.unsigned_messages)
        .max()
        .unwrap_or(0)
        .max(1);
    let (label_w, bar_w, row_h) = (220u64, 480u64, 22u64);
    let height = row_h * top.len() as u64 + 30;
    html! {
        h3 { "Signed and unsigned messages per server" }
        svg width=(label_w + bar_w + 120) height=(height)
            role="img" aria-label="signed and unsigned messages per server" {
            @for (i, h) in top.iter().enumerate() {
                @let y = i as u64 * row_h;
                @let signed = h.tallies.signed_messages * bar_w / max;
                @let unsigned = h.tallies.unsigned_messages * bar_w / max;
                text x="0" y=(y + 15) font-size="12" { (h.address) }
                rect x=(label_w) y=(y + 3) width=(signed) height="15" fill="#2e7d32" {}
                rect x=(label_w + signed) y=(y + 3) width=(unsigned) height="15" fill="#c62828" {}
                text x=(label_w + signed + unsigned + 6) y=(y + 15) font-size="11" {
                    (h.tallies.signed_messages) " / " (h.tallies.unsigned_messages)
                }
            }
            rect x=(label_w) y=(height - 18) width="12" height="12" fill="#2e7d32" {}
            text x=(label_w + 16) y=(height - 8) font-size="11" { "signed" }
            rect x=(label_w + 80) y=(height - 18) width="12" height="12" fill="#c62828" {}
            text x=(label_w + 96) y=(height - 8) font-size="11" { "unsigned" }
        }
    }
}

/// Connections per negotiated dialect, over every server.
fn dialect_chart(servers: &[&ServerHost]) -> Markup {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for h in servers {
        for (d, n) in &h.dialect_connections {
            *counts.entry(d.as_str()).or_default() += n;
        }
    }
    let max = counts.values().copied().max().unwrap_or(0).max(1);
    let (label_w, bar_w, row_h) = (140u64, 400u64, 22u64);
    html! {
        h3 { "Dialects in use (connections)" }
        svg width=(label_w + bar_w + 80)
            height=(row_h * counts.len().max(1) as u64 + 6) role="img" aria-label="dialects in use" {
            @for (i, (d, n)) in counts.iter().enumerate() {
                @let y = i as u64 * row_h;
                text x="0" y=(y + 15) font-size="12" { (d) }
                rect x=(label_w) y=(y + 3) width=(n * bar_w / max) height="15" fill="#5472a0" {}
                text x=(label_w + n * bar_w / max + 6) y=(y + 15) font-size="11" { (n) }
            }
        }
    }
}
