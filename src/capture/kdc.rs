//! Kerberos KDC messages (port 88) from a capture, for the password path
//! of Kerberos verification: a UDP datagram is one message; over TCP each
//! message is preceded by its 4-byte big-endian length (RFC 4120 7.2.2).
//!
//! `KdcReassembler` takes the packets as the flow table sees them (a scan
//! learns tickets as it goes: the AS and TGS exchanges come before the
//! logon that uses the ticket); `kdc_messages` reads a whole capture for
//! them (a run whose KDC exchange is in another file). TCP is reassembled
//! per direction by sequence number: bytes already placed are skipped,
//! segments ahead of a hole wait. Bounded: `MAX_KDC_FLOWS` directions,
//! `MAX_KDC_FLOW_BYTES` buffered per direction, `MAX_KDC_MESSAGE` bytes
//! per message.

use super::packet::{LinkType, TCP_FIN, TCP_RST, TCP_SYN, TcpSegment, UdpDatagram};
use super::packet::{decode_frame, decode_udp_frame};
use super::{CaptureError, read_capture};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::net::IpAddr;

pub const KDC_PORT: u16 = 88;
pub const MAX_KDC_FLOWS: usize = 1024;
pub const MAX_KDC_FLOW_BYTES: usize = 256 << 10;
pub const MAX_KDC_MESSAGE: usize = 64 << 10;

type Endpoint = (IpAddr, u16);

/// One direction of a TCP flow to or from port 88.
#[derive(Default)]
struct Direction {
    /// Contiguous bytes not yet cut into records, and the frame that
    /// brought the first of them.
    stream: Vec<u8>,
    stream_frame: u64,
    /// The next sequence number wanted.
    next: Option<u32>,
    /// Segments ahead of a hole, by sequence number.
    ahead: BTreeMap<u32, (u64, Vec<u8>)>,
    held: usize,
}

impl Direction {
    fn push(&mut self, frame: u64, seq: u32, data: &[u8]) {
        let next = *self.next.get_or_insert(seq);
        // Where the segment starts relative to the next byte wanted
        // (sequence numbers wrap): after it, a hole; before it, bytes
        // already placed.
        let off = seq.wrapping_sub(next) as i32;
        if off > 0 {
            if self.held + data.len() <= MAX_KDC_FLOW_BYTES {
                self.held += data.len();
                self.ahead.entry(seq).or_insert((frame, data.to_vec()));
            }
            return;
        }
        let skip = off.unsigned_abs() as usize;
        if skip < data.len() && self.stream.len() + data.len() <= MAX_KDC_FLOW_BYTES {
            if self.stream.is_empty() {
                self.stream_frame = frame;
            }
            self.stream.extend_from_slice(&data[skip..]);
            self.next = Some(next.wrapping_add((data.len() - skip) as u32));
        }
        // What waited may fit now.
        while let Some((&s, _)) = self.ahead.first_key_value() {
            let next = self.next.unwrap_or(s);
            if (s.wrapping_sub(next) as i32) > 0 {
                break;
            }
            let (f, d) = self.ahead.remove(&s).expect("present");
            self.held -= d.len();
            self.push(f, s, &d);
        }
    }

    /// Complete records, cut off the front of the stream.
    fn records(&mut self, out: &mut impl FnMut(u64, &[u8])) {
        let mut at = 0;
        while self.stream.len() - at >= 4 {
            let len = u32::from_be_bytes(self.stream[at..at + 4].try_into().expect("4 bytes"));
            let len = (len & 0x7fff_ffff) as usize;
            if len > MAX_KDC_MESSAGE {
                // Not a KDC record stream: drop what is held.
                at = self.stream.len();
                break;
            }
            let Some(body) = self.stream.get(at + 4..at + 4 + len) else {
                break;
            };
            out(self.stream_frame, body);
            at += 4 + len;
        }
        self.stream.drain(..at);
    }
}

/// KDC messages from packets, as they come.
#[derive(Default)]
pub struct KdcReassembler {
    flows: HashMap<(Endpoint, Endpoint), Direction>,
}

/// A packet to or from port 88.
pub fn is_kdc(src: u16, dst: u16) -> bool {
    src == KDC_PORT || dst == KDC_PORT
}

impl KdcReassembler {
    /// A TCP segment to or from port 88: the messages it completes.
    pub fn segment(&mut self, frame: u64, seg: &TcpSegment<'_>, out: &mut impl FnMut(u64, &[u8])) {
        let key = (seg.src, seg.dst);
        if !self.flows.contains_key(&key) && self.flows.len() >= MAX_KDC_FLOWS {
            return;
        }
        let dir = self.flows.entry(key).or_default();
        if seg.flags & TCP_SYN != 0 {
            dir.next.get_or_insert(seg.seq.wrapping_add(1));
        }
        if !seg.payload.is_empty() {
            dir.push(frame, seg.seq, seg.payload);
            dir.records(out);
        }
        if seg.flags & (TCP_FIN | TCP_RST) != 0 {
            self.flows.remove(&key);
        }
    }

    /// A UDP datagram to or from port 88: one message.
    pub fn datagram(&mut self, frame: u64, d: &UdpDatagram<'_>, out: &mut impl FnMut(u64, &[u8])) {
        if !d.payload.is_empty() && d.payload.len() <= MAX_KDC_MESSAGE {
            out(frame, d.payload);
        }
    }
}

/// Every KDC message of a capture, in the order they complete, as raw
/// DER with the frame that carried it (over TCP, the record's first).
pub fn kdc_messages<R: Read + Send>(input: R) -> Result<Vec<(u64, Vec<u8>)>, CaptureError> {
    let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut kdc = KdcReassembler::default();
    let mut frame = 0u64;
    let result = read_capture(
        input,
        |link: LinkType, data: &[u8]| {
            frame += 1;
            let mut keep = |f: u64, m: &[u8]| out.push((f, m.to_vec()));
            match decode_frame(link, data) {
                Ok(seg) if is_kdc(seg.src.1, seg.dst.1) => kdc.segment(frame, &seg, &mut keep),
                Ok(_) => {}
                Err(_) => {
                    if let Ok(d) = decode_udp_frame(link, data)
                        && is_kdc(d.src.1, d.dst.1)
                    {
                        kdc.datagram(frame, &d, &mut keep);
                    }
                }
            }
        },
        |_| {},
    );
    if let Err(e @ (CaptureError::NotACapture | CaptureError::Empty | CaptureError::Io(_))) =
        &result
    {
        return Err(e.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_records_across_segments_holes_and_retransmissions() {
        let mut d = Direction::default();
        let mut got: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut keep = |f: u64, m: &[u8]| got.push((f, m.to_vec()));
        // Record 1: length 3 "abc"; record 2: length 2 "de".
        let bytes = b"\x00\x00\x00\x03abc\x00\x00\x00\x02de";
        d.push(1, 100, &bytes[..5]);
        d.records(&mut keep);
        d.push(3, 109, &bytes[9..]); // ahead of a hole
        d.records(&mut keep);
        d.push(2, 100, &bytes[..9]); // retransmits 5 bytes, fills the hole
        d.records(&mut keep);
        let bodies: Vec<&[u8]> = got.iter().map(|(_, m)| m.as_slice()).collect();
        assert_eq!(bodies, vec![&b"abc"[..], &b"de"[..]]);
        assert_eq!(got[0].0, 1);
        // A length no KDC message has drops the stream.
        let mut d = Direction::default();
        d.push(1, 0, b"\x7f\xff\xff\xffxxxx");
        let mut n = 0;
        d.records(&mut |_, _| n += 1);
        assert_eq!((n, d.stream.len()), (0, 0));
    }
}
