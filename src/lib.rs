//! smbsign: SMB signing analysis for packet captures.
//!
//! Rooms, with dependencies pointing toward the wire decoder (the map is
//! docs/architecture.md): [`wire`] (every protocol fact, decoded once) ←
//! [`verify`] (keys, MACs) ← [`conn`] (one connection's state machine) ←
//! [`posture`] (findings, the KB's knowledge, the typed report) ←
//! [`correlate`] (the same logon across connections: relay, MITM);
//! [`capture`] (files, TCP, framing) is input only; [`scan`] is the one
//! entry point that runs them; [`ffi`] is the C ABI. The CLI is a front
//! end in `src/bin/smbsign`.
//!
//! ```no_run
//! use smbsign::scan::{ScanOptions, Scanner};
//! let report = Scanner::new(ScanOptions::default())
//!     .scan(std::path::Path::new("capture.pcap"))
//!     .expect("a readable capture");
//! for c in &report.connections {
//!     println!("{} -> {}: {:?}", c.client, c.server, c.server_signing);
//! }
//! ```
#![deny(unsafe_code)]

pub mod audit;
pub mod capture;
pub mod conn;
pub mod correlate;
#[allow(unsafe_code)]
pub mod ffi;
pub mod posture;
pub mod scan;
pub mod verify;
pub mod wire;
