//! Kerberos KDC messages (port 88) from a capture, for the password path
//! of Kerberos verification: a UDP datagram is one message; over TCP each
//! message is preceded by its 4-byte big-endian length (RFC 4120 7.2.2).
//!
//! TCP is reassembled simply: each direction's segments are placed by
//! sequence number (retransmissions overwrite the same bytes), and the
//! records are read from the first byte seen. KDC exchanges are a few
//! kilobytes, so everything is bounded small: `MAX_KDC_FLOWS` flows,
//! `MAX_KDC_FLOW_BYTES` per direction, `MAX_KDC_MESSAGES` messages.

use super::packet::{LinkType, TCP_SYN, decode_frame, decode_udp_frame};
use super::{CaptureError, read_capture};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::net::IpAddr;

pub const KDC_PORT: u16 = 88;
pub const MAX_KDC_FLOWS: usize = 4096;
pub const MAX_KDC_FLOW_BYTES: usize = 256 << 10;
pub const MAX_KDC_MESSAGES: usize = 16_384;

/// One KDC message, in capture order (TCP ones when their flow is read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KdcMessage {
    /// The frame that carried it (over TCP, its first segment).
    pub frame: u64,
    pub bytes: Vec<u8>,
}

type Endpoint = (IpAddr, u16);

/// One direction of a TCP flow to or from port 88.
#[derive(Default)]
struct Direction {
    /// Segments by sequence number, and the frame of each.
    segments: BTreeMap<u32, (u64, Vec<u8>)>,
    bytes: usize,
    syn_seq: Option<u32>,
}

impl Direction {
    /// The records of this direction, from its first byte.
    fn records(&self, out: &mut Vec<KdcMessage>) {
        let mut stream: Vec<u8> = Vec::new();
        let mut frames: Vec<(usize, u64)> = Vec::new();
        let mut next: Option<u32> = self.syn_seq.map(|s| s.wrapping_add(1));
        for (&seq, (frame, data)) in &self.segments {
            let start = *next.get_or_insert(seq);
            // Where this segment starts relative to the next byte wanted
            // (sequence numbers wrap): after it is a hole, before it a
            // retransmission of bytes already placed.
            let off = seq.wrapping_sub(start) as i32;
            if off > 0 {
                break;
            }
            let skip = off.unsigned_abs() as usize;
            if skip >= data.len() {
                continue;
            }
            frames.push((stream.len(), *frame));
            stream.extend_from_slice(&data[skip..]);
            next = Some(seq.wrapping_add(data.len() as u32));
        }
        let mut at = 0;
        while stream.len() - at >= 4 && out.len() < MAX_KDC_MESSAGES {
            let len = u32::from_be_bytes(stream[at..at + 4].try_into().expect("4 bytes"));
            let len = (len & 0x7fff_ffff) as usize;
            let Some(body) = stream.get(at + 4..at + 4 + len) else {
                break;
            };
            let frame = frames
                .iter()
                .take_while(|(off, _)| *off <= at)
                .last()
                .map_or(0, |(_, f)| *f);
            out.push(KdcMessage {
                frame,
                bytes: body.to_vec(),
            });
            at += 4 + len;
        }
    }
}

/// Every KDC message of a capture.
pub fn kdc_messages<R: Read + Send>(input: R) -> Result<Vec<KdcMessage>, CaptureError> {
    let mut out = Vec::new();
    let mut flows: HashMap<(Endpoint, Endpoint), Direction> = HashMap::new();
    let mut order: Vec<(Endpoint, Endpoint)> = Vec::new();
    let mut frame = 0u64;
    let result = read_capture(
        input,
        |link: LinkType, data: &[u8]| {
            frame += 1;
            if let Ok(d) = decode_udp_frame(link, data) {
                if (d.src.1 == KDC_PORT || d.dst.1 == KDC_PORT) && out.len() < MAX_KDC_MESSAGES {
                    out.push(KdcMessage {
                        frame,
                        bytes: d.payload.to_vec(),
                    });
                }
                return;
            }
            let Ok(seg) = decode_frame(link, data) else {
                return;
            };
            if seg.src.1 != KDC_PORT && seg.dst.1 != KDC_PORT {
                return;
            }
            let key = (seg.src, seg.dst);
            if !flows.contains_key(&key) {
                if flows.len() >= MAX_KDC_FLOWS {
                    return;
                }
                order.push(key);
            }
            let dir = flows.entry(key).or_default();
            if seg.flags & TCP_SYN != 0 {
                dir.syn_seq.get_or_insert(seg.seq);
            }
            if !seg.payload.is_empty() && dir.bytes + seg.payload.len() <= MAX_KDC_FLOW_BYTES {
                dir.bytes += seg.payload.len();
                dir.segments
                    .entry(seg.seq)
                    .or_insert_with(|| (frame, seg.payload.to_vec()));
            }
        },
        |_| {},
    );
    if let Err(e @ (CaptureError::NotACapture | CaptureError::Empty | CaptureError::Io(_))) =
        &result
    {
        return Err(e.clone());
    }
    for key in order {
        if let Some(d) = flows.get(&key) {
            d.records(&mut out);
        }
    }
    out.sort_by_key(|m| m.frame);
    Ok(out)
}
