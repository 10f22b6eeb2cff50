//! Baselines for the verification benchmark: the raw MAC primitive with no
//! capture parsing, timed two ways.
//!
//!     cargo run --release --example mac_speed -- FILE hmac|cmac|gmac
//!
//! Prints two times in seconds:
//! 1. over the signed SMB2 messages the capture holds, as they are (same
//!    messages, same sizes; collected into memory before the clock starts),
//! 2. over as many bytes as the whole file, in 64 KiB messages (the
//!    primitive's best case: no per-message cost, and more bytes than are
//!    signed, since the file also holds pcap, IP and TCP headers).

use smbsign::scan::{ScanOptions, Scanner};
use smbsign::verify::mac::Smb2Signer;
use smbsign::wire::MacAlgorithm;
use std::sync::{Arc, Mutex};

/// Every signed SMB2 message of the capture, compounds split.
fn signed_messages(path: &str) -> Vec<Vec<u8>> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    // Whole messages, as verification keeps them.
    let mut creds = smbsign::verify::Credentials::default();
    creds.add_password("x:x").expect("credential");
    let mut scanner = Scanner::new(ScanOptions::with_credentials(Arc::new(creds))).engine();
    scanner.set_pdu_hook(Box::new(move |ev| {
        let mut pdu = ev.pdu;
        while let Some(h) = smbsign::wire::Smb2Header::peek(pdu) {
            let next = h.next_command() as usize;
            let len = if next >= 64 && next <= pdu.len() {
                next
            } else {
                pdu.len()
            };
            if h.is_signed() {
                sink.lock().expect("lock").push(pdu[..len].to_vec());
            }
            pdu = &pdu[len..];
        }
    }));
    let f = std::fs::File::open(path).expect("open capture");
    smbsign::capture::read_capture(f, |l, d| scanner.frame(l, d), |_| {}).expect("read capture");
    let _ = scanner.finish();
    drop(scanner);
    Arc::try_unwrap(out)
        .expect("scanner dropped")
        .into_inner()
        .expect("lock")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let len = std::fs::metadata(&args[1]).expect("file").len() as usize;
    let alg = match args.get(2).map(String::as_str) {
        Some("hmac") => MacAlgorithm::HmacSha256,
        Some("gmac") => MacAlgorithm::AesGmac,
        _ => MacAlgorithm::AesCmac,
    };
    // Keyed once, as the verifier keys each session once.
    let signer = Smb2Signer::new(alg, &[7u8; 16]).expect("an SMB2 MAC");
    let mut scratch = Vec::new();
    let mut acc = 0u8;

    let messages = signed_messages(&args[1]);
    let start = std::time::Instant::now();
    for m in &messages {
        let sig = signer.sign(m, &mut scratch).expect("mac");
        acc ^= sig[0];
    }
    let t_messages = start.elapsed().as_secs_f64();

    // A 64 KiB SMB2 message (the header's magic, then filler).
    let mut msg = vec![0x5au8; 64 * 1024];
    msg[..4].copy_from_slice(b"\xfeSMB");
    let start = std::time::Instant::now();
    let mut done = 0;
    while done < len {
        let n = msg.len().min(len - done).max(64);
        let sig = signer.sign(&msg[..n], &mut scratch).expect("mac");
        acc ^= sig[0];
        done += n;
    }
    let t_bulk = start.elapsed().as_secs_f64();
    let bytes: usize = messages.iter().map(Vec::len).sum();
    println!(
        "{t_messages:.6} {t_bulk:.6} {} messages {bytes} bytes {acc}",
        messages.len()
    );
}
