//! Criterion benchmarks of the core, without process start-up or file I/O:
//! capture parsing + reassembly + analysis over an in-memory lab capture,
//! the per-PDU analysis alone, and verification.
//!
//!     cargo bench --bench core

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smbsign::capture::read_capture;
use smbsign::conn::{Connection, Direction};
use smbsign::scan::{PduEvent, Scanner};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::Arc;

/// Connection id, direction, frame, bytes.
type Pdu = (u64, Direction, u64, Vec<u8>);

fn lab(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/captures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("lab capture")
}

fn scan(bytes: &[u8], creds: Option<Arc<smbsign::verify::Credentials>>) -> usize {
    let mut s = Scanner::new(smbsign::scan::ScanOptions {
        credentials: creds,
        ..Default::default()
    })
    .engine();
    read_capture(bytes, |l, d| s.frame(l, d), |_| {}).expect("capture");
    s.finish().len()
}

fn benches(c: &mut Criterion) {
    let mut creds = smbsign::verify::Credentials::default();
    creds.add_password("LAB\\smblab:Passw0rd!").unwrap();
    let creds = Arc::new(creds);
    for name in ["smb311-gmac.pcap", "smb21-signed.pcap", "smb1-mode15.pcap"] {
        let bytes = lab(name);
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("scan", |b| b.iter(|| scan(black_box(&bytes), None)));
        g.bench_function("scan+verify", |b| {
            b.iter(|| scan(black_box(&bytes), Some(creds.clone())))
        });
        // The PDUs alone through the connection analysis.
        let pdus: Rc<RefCell<Vec<Pdu>>> = Rc::default();
        let sink = pdus.clone();
        let mut s = Scanner::default().engine();
        s.set_pdu_hook(Box::new(move |e: PduEvent<'_>| {
            sink.borrow_mut()
                .push((e.connection, e.direction, e.frame, e.pdu.to_vec()))
        }));
        read_capture(&bytes[..], |l, d| s.frame(l, d), |_| {}).unwrap();
        let pdus = pdus.borrow().clone();
        g.throughput(Throughput::Elements(pdus.len() as u64));
        g.bench_function("pdus", |b| {
            b.iter(|| {
                let mut conns: HashMap<u64, Connection> = HashMap::new();
                for (id, dir, frame, pdu) in &pdus {
                    conns
                        .entry(*id)
                        .or_default()
                        .on_pdu(*dir, *frame, black_box(pdu), None);
                }
                conns.len()
            })
        });
        g.finish();
    }
}

criterion_group!(core, benches);
criterion_main!(core);
