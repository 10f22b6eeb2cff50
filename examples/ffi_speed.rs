//! Nanoseconds per PDU through the C API (`smbsign_analyzer_feed` with
//! annotations, as the plugin calls it) against the Rust API
//! (`Connection::on_pdu` with annotations) on the same PDUs.
//!
//!     cargo run --release --example ffi_speed -- CAPTURE [ROUNDS]

use smbsign::capture::read_capture;
use smbsign::conn::{Connection, Direction};
use smbsign::ffi::*;
use smbsign::scan::{PduEvent, Scanner};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Connection id, direction, frame, bytes.
type Pdu = (u64, Direction, u64, Vec<u8>);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args.get(2).map_or(20, |r| r.parse().expect("ROUNDS"));
    let pdus: Rc<RefCell<Vec<Pdu>>> = Rc::default();
    let sink = pdus.clone();
    let mut scanner = Scanner::default().engine();
    scanner.set_pdu_hook(Box::new(move |e: PduEvent<'_>| {
        sink.borrow_mut()
            .push((e.connection, e.direction, e.frame, e.pdu.to_vec()))
    }));
    read_capture(
        std::fs::File::open(&args[1]).expect("capture"),
        |l, d| scanner.frame(l, d),
        |_| {},
    )
    .expect("read");
    let pdus = pdus.borrow();
    let n = pdus.len() * rounds;

    let start = std::time::Instant::now();
    for _ in 0..rounds {
        let mut conns: HashMap<u64, Connection> = HashMap::new();
        let mut anns = Vec::new();
        for (id, dir, frame, pdu) in pdus.iter() {
            anns.clear();
            conns
                .entry(*id)
                .or_default()
                .on_pdu(*dir, *frame, pdu, Some(&mut anns));
        }
    }
    let rust = start.elapsed().as_nanos() as f64 / n as f64;

    let start = std::time::Instant::now();
    for _ in 0..rounds {
        let a = smbsign_analyzer_new();
        let mut out = [std::mem::MaybeUninit::<smbsign_pdu_annotation>::uninit(); 16];
        let mut count = 0usize;
        for (id, dir, frame, pdu) in pdus.iter() {
            let d = if *dir == Direction::ToServer { 0 } else { 1 };
            // SAFETY: live buffers of the stated lengths.
            unsafe {
                smbsign_analyzer_feed(
                    a,
                    *id,
                    d,
                    *frame,
                    pdu.as_ptr(),
                    pdu.len(),
                    out.as_mut_ptr().cast(),
                    16,
                    &mut count,
                );
            }
        }
        // SAFETY: made above.
        unsafe { smbsign_analyzer_free(a) };
    }
    let ffi = start.elapsed().as_nanos() as f64 / n as f64;
    println!(
        "{} PDUs x {rounds}: Rust API {rust:.0} ns/PDU, C API {ffi:.0} ns/PDU ({:.2}x)",
        pdus.len(),
        ffi / rust
    );
}
