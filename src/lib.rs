//! smbsign: SMB signing analysis for packet captures.
//!
//! Rooms, with dependencies pointing toward the wire decoder:
//! [`wire`] (pure decoding) ← [`conn`] (connection state) ← [`posture`]
//! (findings, the KB's reading) ← [`capture`] (files, TCP) ← CLI.
#![deny(unsafe_code)]

pub mod capture;
pub mod conn;
#[allow(unsafe_code)]
pub mod ffi;
pub mod posture;
pub mod scan;
pub mod verify;
pub mod wire;
