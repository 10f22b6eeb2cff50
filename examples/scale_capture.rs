//! Deterministic capture scaler for benchmarks: replays the TCP connections
//! of a capture many times, interleaved, with rewritten client ports and
//! increasing timestamps, into a legacy pcap of at least the asked size.
//!
//!     cargo run --release --example scale_capture -- IN.pcap OUT.pcap SIZE_MB [PARALLEL]
//!
//! Every copy keeps its frames' order; copies run PARALLEL at a time,
//! round-robin, so the output has many live connections like a busy server.
//! Ethernet/IPv4/IPv6 TCP frames only; others are dropped.

use smbsign::capture::packet::LinkType;
use smbsign::capture::read_capture;
use std::io::{BufWriter, Write};

/// Offsets of the TCP source and destination ports in an Ethernet frame.
fn tcp_ports_offset(frame: &[u8]) -> Option<usize> {
    let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let ip = 14;
    match ethertype {
        0x0800 if *frame.get(ip + 9)? == 6 => Some(ip + (frame[ip] & 0x0f) as usize * 4),
        0x86dd if *frame.get(ip + 6)? == 6 => Some(ip + 40),
        _ => None,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: scale_capture IN OUT SIZE_MB [PARALLEL]");
        std::process::exit(2);
    }
    let want = args[3].parse::<u64>().expect("SIZE_MB") * 1_000_000;
    let parallel: usize = args.get(4).map_or(16, |p| p.parse().expect("PARALLEL"));
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let input = std::fs::File::open(&args[1]).expect("open input");
    read_capture(
        input,
        |link, data| {
            if link == LinkType::Ethernet && tcp_ports_offset(data).is_some() {
                frames.push(data.to_vec());
            }
        },
        |_| {},
    )
    .expect("read input");
    assert!(!frames.is_empty(), "no Ethernet TCP frames in {}", args[1]);
    let out = std::fs::File::create(&args[2]).expect("create output");
    let mut w = BufWriter::with_capacity(1 << 20, out);
    // Legacy pcap header: magic, v2.4, zone 0, sigfigs 0, snaplen, Ethernet.
    let mut hdr = Vec::with_capacity(24);
    hdr.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    hdr.extend_from_slice(&2u16.to_le_bytes());
    hdr.extend_from_slice(&4u16.to_le_bytes());
    hdr.extend_from_slice(&[0; 8]);
    hdr.extend_from_slice(&262_144u32.to_le_bytes());
    hdr.extend_from_slice(&1u32.to_le_bytes());
    w.write_all(&hdr).unwrap();
    let mut written = 24u64;
    let mut copy = 0u32;
    let mut usec = 0u64;
    while written < want {
        // `parallel` copies interleaved frame by frame.
        let batch: Vec<u32> = (0..parallel as u32).map(|k| copy + k).collect();
        copy += parallel as u32;
        for frame in &frames {
            for &c in &batch {
                let mut f = frame.clone();
                let off = tcp_ports_offset(&f).unwrap();
                for port_off in [off, off + 2] {
                    let port = u16::from_be_bytes([f[port_off], f[port_off + 1]]);
                    if port != 445 && port != 139 {
                        // Client port: a distinct one per copy.
                        let p = 1024 + (port as u32 + c * 7) % 64_000;
                        f[port_off..port_off + 2].copy_from_slice(&(p as u16).to_be_bytes());
                    }
                }
                usec += 10;
                let mut rec = Vec::with_capacity(16);
                rec.extend_from_slice(&((usec / 1_000_000) as u32).to_le_bytes());
                rec.extend_from_slice(&((usec % 1_000_000) as u32).to_le_bytes());
                rec.extend_from_slice(&(f.len() as u32).to_le_bytes());
                rec.extend_from_slice(&(f.len() as u32).to_le_bytes());
                w.write_all(&rec).unwrap();
                w.write_all(&f).unwrap();
                written += 16 + f.len() as u64;
            }
        }
    }
    w.flush().unwrap();
    eprintln!("wrote {} bytes, {} connection copies", written, copy);
}
