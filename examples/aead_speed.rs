//! Baseline for the decryption benchmark: the raw AEAD primitive (RustCrypto
//! `aes-gcm` / `ccm`, as smbsign uses it) with no capture parsing.
//!
//!     cargo run --release --example aead_speed -- FILE aes-128-gcm|aes-128-ccm|aes-256-gcm|aes-256-ccm
//!
//! Collects the capture's TRANSFORM messages (their sizes, as they are),
//! encrypts each body again under a fixed key before the clock starts (the
//! capture's own key is not needed, and a tag that verifies makes the
//! primitive do all its work), then times decrypting and checking every
//! tag. Prints the seconds, the message count and the bytes.

use aes_gcm::aead::consts::{U11, U16};
use aes_gcm::{AeadInOut, Aes128Gcm, Aes256Gcm, KeyInit};
use smbsign::scan::{ScanOptions, Scanner};
use std::sync::{Arc, Mutex};

type Aes128Ccm = ccm::Ccm<aes::Aes128, U16, U11>;
type Aes256Ccm = ccm::Ccm<aes::Aes256, U16, U11>;

/// Every TRANSFORM message's (AAD, body) of the capture.
fn transforms(path: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    // With credentials the scan keeps whole TRANSFORM messages.
    let mut creds = smbsign::verify::Credentials::default();
    creds.add_password("x:x").expect("credential");
    let mut scanner = Scanner::new(ScanOptions::with_credentials(Arc::new(creds))).engine();
    scanner.set_pdu_hook(Box::new(move |ev| {
        let p = ev.pdu;
        if p.len() > 52 && p.starts_with(b"\xfdSMB") {
            let size = u32::from_le_bytes(p[36..40].try_into().expect("4 bytes")) as usize;
            if let Some(body) = p.get(52..52 + size) {
                sink.lock()
                    .expect("lock")
                    .push((p[20..52].to_vec(), body.to_vec()));
            }
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

/// Encrypt every body (untimed), then time decrypting them all.
fn run<C: AeadInOut>(c: &C, nonce_len: usize, msgs: &mut [(Vec<u8>, Vec<u8>)]) -> f64 {
    let mut tags = Vec::with_capacity(msgs.len());
    for (aad, body) in msgs.iter_mut() {
        let nonce = aead_nonce::<C>(&aad[..nonce_len]);
        let tag = c
            .encrypt_inout_detached(&nonce, aad, body.as_mut_slice().into())
            .expect("encrypt");
        tags.push(tag);
    }
    let start = std::time::Instant::now();
    for ((aad, body), tag) in msgs.iter_mut().zip(&tags) {
        let nonce = aead_nonce::<C>(&aad[..nonce_len]);
        c.decrypt_inout_detached(&nonce, aad, body.as_mut_slice().into(), tag)
            .expect("the tag verifies");
    }
    start.elapsed().as_secs_f64()
}

fn aead_nonce<C: AeadInOut>(bytes: &[u8]) -> aes_gcm::aead::Nonce<C> {
    aes_gcm::aead::Nonce::<C>::try_from(bytes).expect("nonce length")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut msgs = transforms(&args[1]);
    let bytes: usize = msgs.iter().map(|(_, b)| b.len()).sum();
    let k16 = [7u8; 16];
    let k32 = [7u8; 32];
    let t = match args.get(2).map(String::as_str) {
        Some("aes-128-ccm") => run(&Aes128Ccm::new((&k16).into()), 11, &mut msgs),
        Some("aes-256-ccm") => run(&Aes256Ccm::new((&k32).into()), 11, &mut msgs),
        Some("aes-256-gcm") => run(&Aes256Gcm::new((&k32).into()), 12, &mut msgs),
        _ => run(&Aes128Gcm::new((&k16).into()), 12, &mut msgs),
    };
    println!("{t:.6} {} messages {bytes} bytes", msgs.len());
}
