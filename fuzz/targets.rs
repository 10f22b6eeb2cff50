//! Fuzz entry points, shared by the cargo-fuzz targets (fuzz_targets/) and
//! by tests/fuzz_regressions.rs, which replays the stored corpus and every
//! crash regression on each `cargo test`. Each must return normally for any
//! input: no panic, no unbounded allocation.
#![allow(dead_code)]

use smbsign::capture::read_capture;
use smbsign::conn::{Connection, Direction};
use smbsign::scan::{ScanOptions, Scanner};
use smbsign::verify::Credentials;
use std::sync::Arc;

/// One SMB message through every wire parser.
pub fn pdu(data: &[u8]) {
    use smbsign::wire::{smb1, smb2};
    let _ = smb1::parse_smb1_header(data).map(|(body, h)| {
        let _ = smb1::parse_smb1_request_negotiate(body);
        let _ = smb1::parse_smb1_response_negotiate(body);
        let _ = smb1::parse_smb1_request_session_setup(body, h.unicode());
        let _ = smb1::parse_smb1_response_session_setup(body);
    });
    for part in smb2::smb2_compound_iter(data).take(1024).flatten() {
        let _ = smb2::parse_smb2_header(part);
        let _ = smb2::parse_smb2_request_negotiate(part);
        let _ = smb2::parse_smb2_response_negotiate(part);
        let _ = smb2::parse_smb2_request_session_setup(part);
        let _ = smb2::parse_smb2_response_session_setup(part);
    }
    let _ = smb2::parse_smb2_transform_header(data);
    let _ = smb2::parse_smb2_compression_header(data);
    let mut c = Connection::new();
    c.on_pdu(Direction::ToServer, 1, data, Some(&mut Vec::new()));
}

/// A sequence of PDUs on one connection: the first byte of each chunk
/// picks the direction, the next two its length.
pub fn conn_sequence(data: &[u8]) {
    let mut creds = Credentials::default();
    let _ = creds.add_password("LAB\\smblab:Passw0rd!");
    let mut plain = Connection::new();
    let mut verifying = Connection::with_credentials(Arc::new(creds));
    let mut rest = data;
    let mut frame = 0;
    while rest.len() >= 3 {
        let dir = if rest[0] & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let n = (u16::from_le_bytes([rest[1], rest[2]]) as usize).min(rest.len() - 3);
        let pdu = &rest[3..3 + n];
        frame += 1;
        plain.on_pdu(dir, frame, pdu, None);
        verifying.on_pdu(dir, frame, pdu, Some(&mut Vec::new()));
        rest = &rest[3 + n..];
    }
    let _ = smbsign::posture::findings(&plain);
    let _ = smbsign::posture::ConnectionReport::build(&verifying, Default::default());
}

/// Bytes as a capture file, through the reader, TCP reassembly and
/// analysis (with and without verification; the MACs on a second thread
/// for inputs of odd length, in line for the others).
pub fn capture(data: &[u8]) {
    for verify in [false, true] {
        let mut options = ScanOptions {
            max_flows: 64,
            parallel_macs: data.len() % 2 == 1,
            ..ScanOptions::default()
        };
        if verify {
            let mut creds = Credentials::default();
            let _ = creds.add_password("smblab:Passw0rd!");
            let _ = creds.add_password("LAB\\smblab:Passw0rd!");
            options.credentials = Some(Arc::new(creds));
        }
        let mut scanner = Scanner::new(options).engine();
        let _ = read_capture(data, |link, frame| scanner.frame(link, frame), |_| {});
        let _ = scanner.finish();
    }
}

/// NTLMSSP and SPNEGO decoding, and the NTLM key derivation over whatever
/// AUTHENTICATE message the bytes hold.
pub fn ntlmssp(data: &[u8]) {
    use smbsign::wire::ntlmssp::{NtlmsspRecord, find_ntlmssp, ntlmssp_token, parse_ntlmssp};
    let _ = smbsign::wire::spnego::blob_mechanism(data);
    let _ = ntlmssp_token(data);
    if let Some(Ok(NtlmsspRecord::Authenticate(a))) = find_ntlmssp(data) {
        let _ = a.user_name();
        let _ = a.is_anonymous();
        let h = smbsign::verify::ntlm::nt_hash("x");
        let lm = smbsign::verify::ntlm::lm_hash("x");
        let hashes = smbsign::verify::UserHashes {
            nt: &h,
            lm: lm.as_ref(),
        };
        let _ = smbsign::verify::ntlm::session_key(hashes, &[0; 8], &a, data, data);
        // The same responses as an SMB1 logon without extended security.
        let logon = smbsign::verify::ntlm::LegacyLogon {
            user: a.user_name(),
            domain: a.domain_name(),
            lm_response: a.lm_response.to_vec(),
            nt_response: a.nt_response.to_vec(),
            use_lanman_key: data.first().is_some_and(|b| b & 1 != 0),
        };
        let _ = smbsign::verify::ntlm::legacy_mac_key(hashes, &[0; 8], &logon);
    }
    let _ = parse_ntlmssp(data);
}

/// Every MAC over arbitrary messages, and the credential text parser.
pub fn verify(data: &[u8]) {
    use smbsign::verify::mac::{smb1_signature, smb2_signature};
    use smbsign::wire::MacAlgorithm;
    let key = [0x11u8; 16];
    let mut scratch = Vec::new();
    for alg in [
        MacAlgorithm::HmacSha256,
        MacAlgorithm::AesCmac,
        MacAlgorithm::AesGmac,
    ] {
        let _ = smb2_signature(alg, &key, data, &mut scratch);
    }
    let _ = smb1_signature(&key, data, 7);
    let mut c = Credentials::default();
    let _ = c.add_file_text(&String::from_utf8_lossy(data));
}

/// The C ABI entry points with the bytes as PDUs, ids and text.
pub fn ffi(data: &[u8]) {
    use smbsign::ffi::*;
    let a = smbsign_analyzer_new();
    let mut anns = [std::mem::MaybeUninit::<smbsign_pdu_annotation>::uninit(); 4];
    let mut n = 0usize;
    let text = std::ffi::CString::new(
        data.iter()
            .copied()
            .filter(|b| *b != 0)
            .collect::<Vec<u8>>(),
    )
    .unwrap_or_default();
    // SAFETY: pointers come from live Rust objects of the stated sizes.
    unsafe {
        let _ = smbsign_analyzer_add_credentials(a, text.as_ptr());
        let _ = smbsign_analyzer_set_endpoints(a, 1, text.as_ptr(), text.as_ptr());
        for (k, chunk) in data.chunks(97).enumerate() {
            let id = (k % 3) as u64;
            let dir = chunk.first().copied().unwrap_or(0) as u32 % 3;
            let _ = smbsign_analyzer_feed(
                a,
                id,
                dir,
                k as u64,
                chunk.as_ptr(),
                chunk.len(),
                anns.as_mut_ptr().cast(),
                anns.len(),
                &mut n,
            );
            let _ = smbsign_decode_message(
                chunk.as_ptr(),
                chunk.len(),
                anns.as_mut_ptr().cast(),
                anns.len(),
                &mut n,
            );
        }
        let mut p = std::mem::MaybeUninit::<smbsign_posture>::uninit();
        let _ = smbsign_analyzer_get_posture(a, 0, p.as_mut_ptr());
        let mut conn = std::ptr::null_mut();
        if smbsign_analyzer_connection(a, 1, &mut conn) == smbsign_result::SMBSIGN_OK {
            let mut json = std::ptr::null_mut();
            let _ = smbsign_connection_to_json(conn, &mut json);
            smbsign_string_free(json);
            smbsign_connection_free(conn);
        }
        let _ = smbsign_analyzer_mark_ended(a, 2);
        let _ = smbsign_analyzer_close(a, 0);
        smbsign_analyzer_free(a);
    }
}
