//! Baseline for the verification benchmark: the raw MAC primitive over the
//! same number of bytes as a capture file, in 64 KiB messages (the size of
//! the lab's READ responses), without any capture parsing.
//!
//!     cargo run --release --example mac_speed -- FILE hmac|cmac|gmac
//!
//! Prints the seconds taken.

use smbsign::verify::mac::{Smb2Mac, smb2_signature};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let len = std::fs::metadata(&args[1]).expect("file").len() as usize;
    let alg = match args.get(2).map(String::as_str) {
        Some("hmac") => Smb2Mac::HmacSha256,
        Some("gmac") => Smb2Mac::AesGmac,
        _ => Smb2Mac::AesCmac,
    };
    let msg = vec![0x5au8; 64 * 1024];
    let key = [7u8; 16];
    let mut scratch = Vec::new();
    let start = std::time::Instant::now();
    let mut done = 0;
    let mut acc = 0u8;
    while done < len {
        let n = msg.len().min(len - done).max(64);
        let sig = smb2_signature(alg, &key, &msg[..n], &mut scratch).expect("mac");
        acc ^= sig[0];
        done += n;
    }
    println!("{:.6} {acc}", start.elapsed().as_secs_f64());
}
