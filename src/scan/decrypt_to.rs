//! `--decrypt-to`: a copy of a capture in which every TRANSFORM message
//! that decrypted is replaced by its plaintext (an NBSS header and the
//! SMB2 messages that were inside), so that any tool reads what ran in
//! the tunnel. Frames keep their numbers and timestamps: each TCP segment
//! of a connection carries what it carried before, with the 52-byte
//! TRANSFORM headers taken out and the ciphertext replaced where it lay,
//! so sequence and acknowledgment numbers after a replaced message move
//! back by what was taken out; IP lengths and checksums are made right.
//!
//! Two passes: the scan (with the credentials) keeps each plaintext in a
//! spill file next to the output, with where its message lay in its TCP
//! stream (`PlaintextLog`); then the capture is read again and written
//! (`write_copy`). Memory holds 40-odd bytes per replaced message and the
//! one plaintext being written.

use crate::capture::packet::tcp_layout;
use crate::capture::rewrite::rebuild;
use crate::capture::{CaptureError, CaptureEvent, Interface};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::os::unix::fs::FileExt;
use std::path::Path;

type Endpoint = (IpAddr, u16);

/// One TRANSFORM message that decrypted: who sent it, where its NBSS
/// header began in that TCP stream, its length after the NBSS header, and
/// its plaintext in the spill file.
#[derive(Debug, Clone)]
struct Replaced {
    seq: u32,
    message_len: u64,
    plain_at: u64,
    plain_len: u64,
}

/// Pass one: the plaintexts, spilled to a file as they come.
#[derive(Debug)]
pub struct PlaintextLog {
    spill: File,
    spilled: u64,
    by_stream: HashMap<(Endpoint, Endpoint), Vec<Replaced>>,
    error: Option<String>,
}

impl PlaintextLog {
    /// A log spilling to `spill` (created or truncated).
    pub fn create(spill: &Path) -> std::io::Result<Self> {
        Ok(PlaintextLog {
            spill: File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(spill)?,
            spilled: 0,
            by_stream: HashMap::new(),
            error: None,
        })
    }

    /// A TRANSFORM message sent from `from` to `to`, its NBSS header at
    /// `seq`, `message_len` bytes after it, decrypted to `plain`.
    pub fn add(&mut self, from: Endpoint, to: Endpoint, seq: u32, message_len: u64, plain: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.spill.write_all_at(plain, self.spilled) {
            self.error = Some(format!("cannot write the spill file: {e}"));
            return;
        }
        self.by_stream
            .entry((from, to))
            .or_default()
            .push(Replaced {
                seq,
                message_len,
                plain_at: self.spilled,
                plain_len: plain.len() as u64,
            });
        self.spilled += plain.len() as u64;
    }

    /// Messages replaced so far.
    pub fn len(&self) -> usize {
        self.by_stream.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the copy came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyStats {
    pub frames: u64,
    pub frames_rewritten: u64,
    pub messages_replaced: usize,
}

/// One direction's replaced messages, as positions from a base sequence
/// number (a gigabyte before the first, so that retransmissions and
/// acknowledgments before it stay positive).
struct StreamEdits {
    base: u32,
    /// (start, end of the old message, bytes taken out before its end)
    /// in stream positions, in order.
    edits: Vec<(u64, u64, u64)>,
    messages: Vec<Replaced>,
}

const BASE_BEFORE: u32 = 1 << 30;
const NBSS_HEADER_LEN: u64 = 4;

impl StreamEdits {
    /// None when the messages do not lie in order within 3 GiB of the
    /// stream (a longer stream wrapped its sequence numbers).
    fn new(mut messages: Vec<Replaced>) -> Option<Self> {
        let base = messages.first()?.seq.wrapping_sub(BASE_BEFORE);
        messages.sort_by_key(|m| m.seq.wrapping_sub(base));
        let mut edits = Vec::with_capacity(messages.len());
        let mut removed = 0u64;
        let mut last_end = 0u64;
        for m in &messages {
            let start = u64::from(m.seq.wrapping_sub(base));
            let end = start + NBSS_HEADER_LEN + m.message_len;
            if start < last_end || m.plain_len > m.message_len {
                return None;
            }
            removed += m.message_len - m.plain_len;
            edits.push((start, end, removed));
            last_end = end;
        }
        Some(StreamEdits {
            base,
            edits,
            messages,
        })
    }

    fn pos(&self, seq: u32) -> u64 {
        u64::from(seq.wrapping_sub(self.base))
    }

    /// Where stream position `p` lands in the new stream.
    fn map(&self, p: u64) -> u64 {
        let i = self.edits.partition_point(|e| e.1 <= p);
        let before = if i == 0 { 0 } else { self.edits[i - 1].2 };
        match self.edits.get(i) {
            Some(&(start, _, _)) if p >= start => start - before + self.local(i, p - start),
            _ => p - before,
        }
    }

    /// Offset in the replacement (NBSS header + plaintext) of the byte at
    /// offset `x` of old message `i`: the TRANSFORM header collapses to
    /// the plaintext's start.
    fn local(&self, i: usize, x: u64) -> u64 {
        let m = &self.messages[i];
        let header = m.message_len - m.plain_len;
        if x < NBSS_HEADER_LEN {
            x
        } else if x < NBSS_HEADER_LEN + header {
            NBSS_HEADER_LEN
        } else {
            (x - header).min(NBSS_HEADER_LEN + m.plain_len)
        }
    }

    fn new_seq(&self, seq: u32) -> u32 {
        self.base.wrapping_add(self.map(self.pos(seq)) as u32)
    }
}

/// The plaintext being written, read once from the spill.
struct Cache {
    index: Option<usize>,
    bytes: Vec<u8>,
}

/// Pass two: read `input` again and write the copy as pcapng to `out`.
pub fn write_copy(input: &Path, log: PlaintextLog, out: &Path) -> Result<CopyStats, CaptureError> {
    if let Some(e) = log.error {
        return Err(CaptureError::Io(e));
    }
    let io = |e: std::io::Error| CaptureError::Io(format!("{}: {e}", out.display()));
    let mut streams = HashMap::new();
    let mut messages_replaced = 0;
    for (k, v) in log.by_stream {
        let n = v.len();
        if let Some(s) = StreamEdits::new(v) {
            messages_replaced += n;
            streams.insert(k, s);
        }
    }
    let spill = log.spill;
    let file = File::open(input).map_err(|e| CaptureError::Io(e.to_string()))?;
    let mut w = BufWriter::with_capacity(1 << 20, File::create(out).map_err(io)?);
    let mut stats = CopyStats {
        messages_replaced,
        ..CopyStats::default()
    };
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut first = true;
    let mut cache = Cache {
        index: None,
        bytes: Vec::new(),
    };
    let mut failed: Option<std::io::Error> = None;
    let result = crate::capture::read_capture_events(file, |event| {
        if failed.is_some() {
            return;
        }
        let r = match event {
            CaptureEvent::Section => {
                interfaces.clear();
                // One output section: interface numbers go on from the
                // previous sections' (`offset`).
                Ok(())
            }
            CaptureEvent::Interface(i) => {
                interfaces.push(i);
                let shb = std::mem::take(&mut first).then(section_header);
                shb.map_or(Ok(()), |b| w.write_all(&b))
                    .and_then(|()| w.write_all(&interface_block(&i)))
            }
            CaptureEvent::Frame(rec) => {
                stats.frames += 1;
                let link = interfaces
                    .get(rec.interface as usize)
                    .map_or(crate::capture::packet::LinkType(-1), |i| i.link);
                let new = rewritten(link, rec.data, &streams, &spill, &mut cache);
                let data = match &new {
                    Some(Ok(f)) => {
                        stats.frames_rewritten += 1;
                        f.as_slice()
                    }
                    Some(Err(e)) => {
                        failed = Some(std::io::Error::other(e.to_string()));
                        return;
                    }
                    None => rec.data,
                };
                let cut = rec.orig_len.saturating_sub(rec.data.len() as u32);
                w.write_all(&packet_block(rec.interface, rec.timestamp, data, cut))
            }
        };
        if let Err(e) = r {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(io(e));
    }
    w.flush().map_err(io)?;
    result?;
    Ok(stats)
}

/// The frame rewritten when it belongs to a stream with replaced messages
/// in either direction; None when it stays as it is.
fn rewritten(
    link: crate::capture::packet::LinkType,
    frame: &[u8],
    streams: &HashMap<(Endpoint, Endpoint), StreamEdits>,
    spill: &File,
    cache: &mut Cache,
) -> Option<std::io::Result<Vec<u8>>> {
    let (seg, layout) = tcp_layout(link, frame).ok()?;
    let sent = streams.get(&(seg.src, seg.dst));
    let acked = streams.get(&(seg.dst, seg.src));
    if sent.is_none() && acked.is_none() {
        return None;
    }
    let seq = sent.map_or(seg.seq, |s| s.new_seq(seg.seq));
    // An ACK flag of 0 leaves the field meaningless: keep it.
    let ack = match acked {
        Some(s) if seg.flags & crate::capture::packet::TCP_ACK != 0 => s.new_seq(seg.ack),
        _ => seg.ack,
    };
    let payload = match sent {
        Some(s) if !seg.payload.is_empty() => {
            match new_payload(s, seg.seq, seg.payload, spill, cache) {
                Ok(p) => p,
                Err(e) => return Some(Err(e)),
            }
        }
        _ => seg.payload.to_vec(),
    };
    let sack = |v: u32| acked.map_or(v, |s| s.new_seq(v));
    Some(Ok(rebuild(frame, &layout, (seq, ack), sack, &payload)))
}

/// A segment's payload with the replaced messages' bytes swapped for
/// their replacement's.
fn new_payload(
    s: &StreamEdits,
    seq: u32,
    payload: &[u8],
    spill: &File,
    cache: &mut Cache,
) -> std::io::Result<Vec<u8>> {
    let start = s.pos(seq);
    let end = start + payload.len() as u64;
    let mut out = Vec::with_capacity(payload.len());
    let mut p = start;
    let mut i = s.edits.partition_point(|e| e.1 <= p);
    while p < end {
        let Some(&(e_start, e_end, _)) = s.edits.get(i).filter(|e| e.0 < end) else {
            out.extend_from_slice(&payload[(p - start) as usize..]);
            break;
        };
        if p < e_start {
            out.extend_from_slice(&payload[(p - start) as usize..(e_start - start) as usize]);
            p = e_start;
        }
        let upto = end.min(e_end);
        let (a, b) = (s.local(i, p - e_start), s.local(i, upto - e_start));
        let replacement = replacement(s, i, spill, cache)?;
        out.extend_from_slice(&replacement[a as usize..b as usize]);
        p = upto;
        i += 1;
    }
    Ok(out)
}

/// NBSS header + plaintext of replaced message `i` of `s`.
fn replacement<'c>(
    s: &StreamEdits,
    i: usize,
    spill: &File,
    cache: &'c mut Cache,
) -> std::io::Result<&'c [u8]> {
    let key = (s as *const StreamEdits as usize).wrapping_mul(31) ^ i;
    if cache.index != Some(key) {
        let m = &s.messages[i];
        let len = m.plain_len as usize;
        cache.bytes.clear();
        cache.bytes.resize(NBSS_HEADER_LEN as usize + len, 0);
        cache.bytes[1..4].copy_from_slice(&(len as u32).to_be_bytes()[1..]);
        spill.read_exact_at(&mut cache.bytes[4..], m.plain_at)?;
        cache.index = Some(key);
    }
    Ok(&cache.bytes)
}

fn section_header() -> Vec<u8> {
    use pcap_parser::ToVec;
    let mut shb = pcap_parser::SectionHeaderBlock {
        block_type: pcap_parser::SHB_MAGIC,
        block_len1: 0,
        bom: pcap_parser::BOM_MAGIC,
        major_version: 1,
        minor_version: 0,
        section_len: -1,
        options: Vec::new(),
        block_len2: 0,
    };
    shb.to_vec().unwrap_or_default()
}

fn interface_block(i: &Interface) -> Vec<u8> {
    use pcap_parser::ToVec;
    let mut idb = pcap_parser::InterfaceDescriptionBlock {
        block_type: pcap_parser::IDB_MAGIC,
        block_len1: 0,
        linktype: pcap_parser::Linktype(i.link.0),
        reserved: 0,
        snaplen: i.snaplen,
        options: Vec::new(),
        block_len2: 0,
        if_tsresol: i.tsresol,
        if_tsoffset: i.tsoffset,
    };
    idb.to_vec().unwrap_or_default()
}

fn packet_block(interface: u32, timestamp: u64, data: &[u8], cut: u32) -> Vec<u8> {
    use pcap_parser::ToVec;
    let mut epb = pcap_parser::EnhancedPacketBlock {
        block_type: pcap_parser::EPB_MAGIC,
        block_len1: 0,
        if_id: interface,
        ts_high: (timestamp >> 32) as u32,
        ts_low: timestamp as u32,
        caplen: data.len() as u32,
        origlen: data.len() as u32 + cut,
        data,
        options: Vec::new(),
        block_len2: 0,
    };
    epb.to_vec().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edits() -> StreamEdits {
        // Two TRANSFORM messages of 52 + 100 bytes at positions 1000 and
        // 2000 (after a base of 1000 - 2^30).
        let m = |seq, at| Replaced {
            seq,
            message_len: 152,
            plain_at: at,
            plain_len: 100,
        };
        StreamEdits::new(vec![m(2000, 100), m(1000, 0)]).unwrap()
    }

    #[test]
    fn positions_after_a_replaced_message_move_back_by_its_header() {
        let s = edits();
        assert_eq!(s.new_seq(900), 900);
        assert_eq!(s.new_seq(1000), 1000);
        assert_eq!(s.new_seq(1003), 1003);
        // Inside the TRANSFORM header: where the plaintext starts.
        assert_eq!(s.new_seq(1004), 1004);
        assert_eq!(s.new_seq(1055), 1004);
        assert_eq!(s.new_seq(1056), 1004);
        assert_eq!(s.new_seq(1057), 1005);
        assert_eq!(s.new_seq(1156), 1104);
        assert_eq!(s.new_seq(2000), 1948);
        assert_eq!(s.new_seq(2156), 2052);
        // Sequence numbers wrap.
        let w = StreamEdits::new(vec![Replaced {
            seq: u32::MAX - 10,
            message_len: 152,
            plain_at: 0,
            plain_len: 100,
        }])
        .unwrap();
        assert_eq!(w.new_seq(200), 200u32.wrapping_sub(52));
    }

    #[test]
    fn overlapping_messages_are_refused() {
        let m = |seq| Replaced {
            seq,
            message_len: 152,
            plain_at: 0,
            plain_len: 100,
        };
        assert!(StreamEdits::new(vec![m(1000), m(1100)]).is_none());
    }
}
