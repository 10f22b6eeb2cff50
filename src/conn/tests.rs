//! The state machine fed byte sequences, asserting on the model. Messages
//! are laid out by hand after MS-SMB2 2.2 and MS-CIFS 2.2; the lab
//! captures exercise the same paths end to end (tests/lab_captures.rs).

use super::*;
use crate::posture::{FindingCode, findings};
use crate::wire::{SecurityMode, Smb2SecurityMode};

fn smb2(command: u16, flags: u32, mid: u64, sid: u64, status: u32, body: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\xfeSMB");
    h[4] = 64;
    h[8..12].copy_from_slice(&status.to_le_bytes());
    h[12..14].copy_from_slice(&command.to_le_bytes());
    h[16..20].copy_from_slice(&flags.to_le_bytes());
    h[24..32].copy_from_slice(&mid.to_le_bytes());
    h[40..48].copy_from_slice(&sid.to_le_bytes());
    h.extend_from_slice(body);
    h
}

/// NEGOTIATE request (2.2.3) offering `dialects` with `mode`.
fn negotiate_request(mode: u16, dialects: &[u16]) -> Vec<u8> {
    let mut b = vec![0u8; 36];
    b[0..2].copy_from_slice(&36u16.to_le_bytes());
    b[2..4].copy_from_slice(&(dialects.len() as u16).to_le_bytes());
    b[4..6].copy_from_slice(&mode.to_le_bytes());
    for d in dialects {
        b.extend_from_slice(&d.to_le_bytes());
    }
    smb2(0, 0, 0, 0, 0, &b)
}

/// NEGOTIATE response (2.2.4) choosing `dialect` with `mode`.
fn negotiate_response(mode: u16, dialect: u16) -> Vec<u8> {
    let mut b = vec![0u8; 64];
    b[0..2].copy_from_slice(&65u16.to_le_bytes());
    b[2..4].copy_from_slice(&mode.to_le_bytes());
    b[4..6].copy_from_slice(&dialect.to_le_bytes());
    b[56..58].copy_from_slice(&128u16.to_le_bytes());
    smb2(0, 1, 0, 0, 0, &b)
}

/// SESSION_SETUP request (2.2.5) with an empty blob.
fn setup_request(mid: u64, mode: u8) -> Vec<u8> {
    let mut b = vec![0u8; 24];
    b[0..2].copy_from_slice(&25u16.to_le_bytes());
    b[3] = mode;
    b[12..14].copy_from_slice(&88u16.to_le_bytes());
    smb2(1, 0, mid, 0, 0, &b)
}

/// SESSION_SETUP response (2.2.6).
fn setup_response(mid: u64, sid: u64, status: u32, flags: u16) -> Vec<u8> {
    let mut b = vec![0u8; 8];
    b[0..2].copy_from_slice(&9u16.to_le_bytes());
    b[2..4].copy_from_slice(&flags.to_le_bytes());
    b[4..6].copy_from_slice(&72u16.to_le_bytes());
    smb2(1, 1, mid, sid, status, &b)
}

#[test]
fn negotiate_fills_both_sides_of_the_model() {
    let mut c = Connection::new();
    c.on_pdu(
        Direction::ToServer,
        1,
        &negotiate_request(0x01, &[0x0210, 0x0302]),
        None,
    );
    c.on_pdu(
        Direction::ToClient,
        2,
        &negotiate_response(0x03, 0x0302),
        None,
    );
    assert_eq!(c.client.smb2_dialects.len(), 2);
    assert_eq!(c.client.security_mode, Some(Smb2SecurityMode(1)));
    assert_eq!(
        c.server.security_mode,
        Some(SecurityMode::Smb2(Smb2SecurityMode(3)))
    );
    assert_eq!(c.server_signing(), Some(SigningSetting::Required));
    assert_eq!(c.client_signing(), Some(SigningSetting::Enabled));
    assert_eq!(
        c.dialect.as_ref().map(Dialect::name).as_deref(),
        Some("3.0.2")
    );
    assert_eq!(c.mac_algorithm(), Some(crate::wire::MacAlgorithm::AesCmac));
    assert_eq!(c.counts.negotiate_requests, 1);
    assert_eq!(c.counts.negotiate_responses, 1);
    // NEGOTIATE is not counted among signed/unsigned messages.
    assert_eq!(c.counts.signed + c.counts.unsigned, 0);
}

#[test]
fn established_session_with_signing_in_force_counts_unsigned_messages() {
    let mut c = Connection::new();
    c.on_pdu(
        Direction::ToServer,
        1,
        &negotiate_request(0x01, &[0x0311]),
        None,
    );
    c.on_pdu(
        Direction::ToClient,
        2,
        &negotiate_response(0x03, 0x0311),
        None,
    );
    c.on_pdu(Direction::ToServer, 3, &setup_request(1, 1), None);
    c.on_pdu(Direction::ToClient, 4, &setup_response(1, 0x55, 0, 0), None);
    let s = c.session(0x55).expect("session");
    assert!(s.established() && s.signing_required && !s.anonymous);
    // An unsigned TREE_CONNECT request on that session.
    let mut anns = Vec::new();
    c.on_pdu(
        Direction::ToServer,
        5,
        &smb2(3, 0, 2, 0x55, 0, &[0; 8]),
        Some(&mut anns),
    );
    assert!(anns[0].unsigned_while_required);
    assert_eq!(anns[0].verdict, Verdict::UnsignedWhileRequired);
    assert_eq!(c.tally.unsigned_while_required, 1);
    assert_eq!(c.tally.unsigned_frames, vec![5]);
    assert_eq!(c.counts.unsigned_requests_while_required, 1);
    assert_eq!(c.session(0x55).unwrap().tally.unsigned_while_required, 1);
}

/// Bug: a null logon the server refused was reported as an anonymous
/// session. SMB1 non-extended SESSION_SETUP_ANDX with no account and no
/// password (MS-CIFS 2.2.4.53), answered STATUS_ACCESS_DENIED.
#[test]
fn refused_null_logon_is_no_anonymous_session() {
    let mut setup = vec![0u8; 32];
    setup[..4].copy_from_slice(b"\xffSMB");
    setup[4] = 0x73;
    setup[26..28].copy_from_slice(&0x0007u16.to_le_bytes()); // PID
    setup[30..32].copy_from_slice(&3u16.to_le_bytes()); // MID
    let mut words = vec![0xffu8, 0, 0, 0, 0xff, 0xff, 2, 0, 0, 0, 0, 0, 0, 0];
    words.extend_from_slice(&1u16.to_le_bytes()); // OEM password length
    words.extend_from_slice(&0u16.to_le_bytes()); // Unicode password length
    words.extend_from_slice(&[0; 8]); // reserved, capabilities
    setup.push(13);
    setup.extend_from_slice(&words);
    let bytes = [0u8, 0, 0]; // OEM password "\0", empty account, domain
    setup.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    setup.extend_from_slice(&bytes);
    let mut refused = vec![0u8; 32];
    refused[..4].copy_from_slice(b"\xffSMB");
    refused[4] = 0x73;
    refused[5..9].copy_from_slice(&0xC000_0022u32.to_le_bytes());
    refused[9] = 0x80;
    refused[30..32].copy_from_slice(&3u16.to_le_bytes());
    refused.extend_from_slice(&[0, 0, 0]);

    let mut c = Connection::new();
    c.on_pdu(Direction::ToServer, 1, &setup, None);
    c.on_pdu(Direction::ToClient, 2, &refused, None);
    let s = &c.sessions[0];
    assert!(s.anonymous, "the request was a null logon");
    assert!(!s.established());
    assert_eq!(s.failed_status, Some(crate::wire::NtStatus::AccessDenied));
    assert!(
        !findings(&c)
            .iter()
            .any(|f| f.code == FindingCode::AnonymousSession),
        "a refused null logon is no anonymous session"
    );
}
