//! One direction of a TCP connection: sequence tracking that survives
//! out-of-order segments, retransmissions, overlaps and gaps, and NBSS
//! framing that hands complete SMB messages (or a bounded prefix of large
//! ones) to a callback while skipping bodies nobody needs.

use crate::wire::nbss::{self, NBSS_HEADER_LEN, SmbFamily};
use crate::wire::{Pdu, Smb1Header, Smb2Header};
use std::collections::BTreeMap;

/// Out-of-order bytes held per direction before giving up on the hole and
/// skipping over it.
/// (A 1 MiB receive window with losses and retransmissions, as recorded on
/// a busy link, needs more than 512 KiB: the bench lab showed it.)
pub const MAX_OOO_BYTES: usize = 4 * 1024 * 1024;
/// Out-of-order segments held per direction.
const MAX_OOO_SEGMENTS: usize = 4096;
/// Prefix kept of an ordinary message: enough for every header of a
/// compound chain of small operations.
pub const KEEP_DEFAULT: usize = 64 * 1024;
/// Prefix kept of NEGOTIATE and SESSION_SETUP: whole (Kerberos tickets with
/// large PACs run to tens of KiB).
pub const KEEP_SETUP: usize = 1024 * 1024;

/// What the framer is in the middle of.
#[derive(Debug)]
enum Frame {
    /// Expecting an NBSS header; `have` bytes of it collected in `hdr`.
    Header { hdr: [u8; 4], have: usize },
    /// Inside a session message of `total` bytes, `seen` consumed so far,
    /// keeping up to `keep` of them in `buf`. `keep` is None until the
    /// command is known.
    Body {
        total: usize,
        seen: usize,
        keep: Option<usize>,
        buf: Vec<u8>,
        /// Known once the first four bytes are in.
        family: Option<SmbFamily>,
    },
    /// Inside a non-message NBSS packet (session request, keep-alive…).
    Control { remaining: usize },
    /// Lost the message boundary: searching for the next SMB header.
    Resync { buf: Vec<u8> },
}

/// Sink for complete SMB messages, classified once here: the kept prefix,
/// its family and the declared total length.
pub trait MessageSink {
    fn message(&mut self, pdu: Pdu<'_>);
    /// A message the framer assembled in its own buffer (from several
    /// segments). The sink may take the buffer and leave another, empty,
    /// in its place: a large message then goes on without a copy.
    fn held_message(&mut self, family: SmbFamily, buf: &mut Vec<u8>, total: usize) {
        self.message(Pdu {
            family,
            bytes: buf,
            total,
        });
    }
    /// An empty buffer for the framer to assemble a message in when it has
    /// none of its own (a new stream): the sink may hand back one a batch
    /// emptied, so that each connection's first large message does not
    /// fault in fresh pages.
    fn empty_buffer(&mut self) -> Vec<u8> {
        Vec::new()
    }
    /// The TCP sequence number of the next message's NBSS header, told
    /// just before the message (None where the framer lost count: after a
    /// resynchronisation inside the data it was fed).
    fn at_seq(&mut self, _seq: Option<u32>) {}
}

/// NBSS framer for one direction.
#[derive(Debug)]
pub struct Framer {
    state: Frame,
    pub resyncs: u64,
    pub messages: u64,
    /// Session messages that did not start with an SMB magic.
    pub non_smb: u64,
    /// Keep whole messages (signature verification needs every byte).
    pub keep_all: bool,
    /// A cleared buffer kept from the last message.
    spare: Vec<u8>,
    /// Sequence number of the first byte of the data being fed (set by
    /// the stream before each feed), and of the message in progress.
    pub(crate) cursor: Option<u32>,
    msg_start: Option<u32>,
}

/// Most buffer reserved for a message before its bytes arrive.
const RESERVE_AHEAD: usize = 64 * 1024;
/// Bytes of the message start needed to decide how much of it to keep.
const DECIDE_AT: usize = 24;
/// Prefix kept of a message nobody needs the body of: its header and the
/// start of the body.
pub const KEEP_HEADER: usize = 256;

/// How much of a message of `total` bytes to keep, from its first bytes:
/// NEGOTIATE and SESSION_SETUP whole (up to `KEEP_SETUP`), SMB2 compound
/// chains up to `KEEP_DEFAULT` (every header of the chain), anything else
/// just its header — bulk READ/WRITE data is skipped, not copied.
fn keep_for(prefix: &[u8], total: usize) -> Option<usize> {
    if prefix.len() < DECIDE_AT.min(total) {
        return None;
    }
    use crate::wire::smb1::Smb1Command;
    use crate::wire::smb2::Smb2Command;
    let smb1_command = prefix
        .get(Smb1Header::COMMAND)
        .filter(|_| nbss::smb_family(prefix) == Some(SmbFamily::Smb1));
    let keep = if let Some(&c) = smb1_command {
        match Smb1Command(c) {
            Smb1Command::Negotiate | Smb1Command::SessionSetupAndx => KEEP_SETUP,
            _ => KEEP_HEADER,
        }
    } else if let Some(h) = Smb2Header::peek_prefix(prefix) {
        match h.command() {
            Smb2Command::Negotiate | Smb2Command::SessionSetup => KEEP_SETUP,
            _ if h.next_command() != 0 => KEEP_DEFAULT,
            _ => KEEP_HEADER,
        }
    } else {
        KEEP_HEADER
    };
    Some(total.min(keep))
}

impl Framer {
    /// A framer that starts on a message boundary (the SYN was seen).
    pub fn synced() -> Self {
        Framer {
            state: Frame::Header {
                hdr: [0; 4],
                have: 0,
            },
            resyncs: 0,
            messages: 0,
            non_smb: 0,
            keep_all: false,
            spare: Vec::new(),
            cursor: None,
            msg_start: None,
        }
    }
    /// A framer that must first find a message boundary (mid-stream start).
    pub fn unsynced() -> Self {
        Framer {
            state: Frame::Resync { buf: Vec::new() },
            resyncs: 0,
            messages: 0,
            non_smb: 0,
            keep_all: false,
            spare: Vec::new(),
            cursor: None,
            msg_start: None,
        }
    }

    pub fn is_synced(&self) -> bool {
        !matches!(self.state, Frame::Resync { .. })
    }

    /// Bytes are missing from the stream: forget the current message and
    /// search for the next header.
    /// The message in progress is handed over as far as it was read (its
    /// header is usually intact: a snaplen-cut frame, a lost segment late
    /// in a large message).
    pub fn gap(&mut self, sink: &mut dyn MessageSink) {
        self.hand_over_partial(sink);
        self.state = Frame::Resync { buf: Vec::new() };
        self.resyncs += 1;
    }

    /// End of the stream: hand over a message in progress as far as it was
    /// read (the capture ended inside it).
    pub fn flush(&mut self, sink: &mut dyn MessageSink) {
        self.hand_over_partial(sink);
        self.state = Frame::Header {
            hdr: [0; 4],
            have: 0,
        };
    }

    /// The message in progress, as far as it was read.
    fn hand_over_partial(&mut self, sink: &mut dyn MessageSink) {
        if let Frame::Body {
            total,
            buf,
            family: Some(family),
            ..
        } = &self.state
        {
            self.messages += 1;
            sink.at_seq(self.msg_start);
            sink.message(Pdu {
                family: *family,
                bytes: buf,
                total: *total,
            });
        }
    }

    /// Over the memory budget: keep only the header of the message in
    /// progress (it is handed over as a prefix, its signature unchecked)
    /// and let go of the spare buffer.
    pub fn shed(&mut self) {
        if let Frame::Body { keep, buf, .. } = &mut self.state {
            if let Some(k) = keep.as_mut() {
                *k = (*k).min(KEEP_HEADER);
            }
            buf.truncate(KEEP_HEADER);
            buf.shrink_to(KEEP_HEADER);
        }
        self.spare = Vec::new();
    }

    /// Bytes the current state holds (for memory accounting).
    pub fn buffered(&self) -> usize {
        match &self.state {
            Frame::Body { buf, .. } | Frame::Resync { buf } => {
                buf.capacity() + self.spare.capacity()
            }
            _ => self.spare.capacity(),
        }
    }

    /// Feed in-order stream bytes.
    pub fn feed(&mut self, mut data: &[u8], sink: &mut dyn MessageSink) {
        let (base, len0) = (self.cursor.take(), data.len());
        let seq_of = |rest: &[u8]| base.map(|b| b.wrapping_add((len0 - rest.len()) as u32));
        while !data.is_empty() {
            match &mut self.state {
                Frame::Header { hdr, have } => {
                    if *have == 0 {
                        self.msg_start = seq_of(data);
                    }
                    // Fast path: a whole message inside `data`, no copy.
                    if *have == 0 && data.len() >= NBSS_HEADER_LEN {
                        let kind = data[0];
                        let len = u32::from_be_bytes([0, data[1], data[2], data[3]]) as usize;
                        if kind == 0 && data.len() >= NBSS_HEADER_LEN + len {
                            let msg = &data[NBSS_HEADER_LEN..NBSS_HEADER_LEN + len];
                            if len == 0 {
                                data = &data[NBSS_HEADER_LEN..];
                                continue;
                            }
                            if let Some(pdu) = Pdu::classify(msg, len) {
                                self.messages += 1;
                                sink.at_seq(self.msg_start);
                                sink.message(pdu);
                                data = &data[NBSS_HEADER_LEN + len..];
                                continue;
                            }
                        }
                    }
                    let n = (NBSS_HEADER_LEN - *have).min(data.len());
                    hdr[*have..*have + n].copy_from_slice(&data[..n]);
                    *have += n;
                    data = &data[n..];
                    if *have == NBSS_HEADER_LEN {
                        let kind = hdr[0];
                        let len = u32::from_be_bytes([0, hdr[1], hdr[2], hdr[3]]) as usize;
                        self.state = if kind == 0 {
                            Frame::Body {
                                total: len,
                                seen: 0,
                                keep: None,
                                buf: if self.spare.capacity() > 0 || len <= KEEP_HEADER {
                                    std::mem::take(&mut self.spare)
                                } else {
                                    sink.empty_buffer()
                                },
                                family: None,
                            }
                        } else if nbss::looks_like_nbss_control(&hdr[..]) || kind == 0x81 {
                            Frame::Control { remaining: len }
                        } else {
                            // Not NBSS at all: lost sync.
                            self.resyncs += 1;
                            let mut buf = Vec::with_capacity(4 + data.len());
                            buf.extend_from_slice(&hdr[1..]);
                            Frame::Resync { buf }
                        };
                        if let Frame::Body { total: 0, .. } = self.state {
                            // An empty session message carries nothing.
                            self.state = Frame::Header {
                                hdr: [0; 4],
                                have: 0,
                            };
                        }
                    }
                }
                Frame::Control { remaining } => {
                    let n = (*remaining).min(data.len());
                    *remaining -= n;
                    data = &data[n..];
                    if *remaining == 0 {
                        self.state = Frame::Header {
                            hdr: [0; 4],
                            have: 0,
                        };
                    }
                }
                Frame::Body {
                    total,
                    seen,
                    keep,
                    buf,
                    family,
                } => {
                    let n = (*total - *seen).min(data.len());
                    let chunk = &data[..n];
                    // Invariant: buf holds message bytes [0, buf.len()) and
                    // buf.len() == seen until the keep limit is reached.
                    let mut used = 0;
                    // A session message on an SMB connection starts with an
                    // SMB magic; anything else means the framing is lost
                    // (fuzzed or mid-stream data): search for the next header
                    // instead of swallowing a bogus length.
                    if *seen < 4 && *total >= 4 {
                        let want = 4 - *seen;
                        let take = want.min(n);
                        buf.extend_from_slice(&chunk[..take]);
                        used = take;
                        if buf.len() == 4 {
                            *family = nbss::smb_family(buf);
                        }
                        if buf.len() == 4 && family.is_none() {
                            self.resyncs += 1;
                            self.non_smb += 1;
                            let mut held = Vec::with_capacity(3 + data.len());
                            held.extend_from_slice(&buf[1..]);
                            held.extend_from_slice(&data[take..]);
                            self.state = Frame::Resync { buf: Vec::new() };
                            self.feed(&held, sink);
                            return;
                        }
                    }
                    if keep.is_none() {
                        let want = DECIDE_AT.min(*total).saturating_sub(buf.len());
                        let take = want.min(n - used);
                        buf.extend_from_slice(&chunk[used..used + take]);
                        used += take;
                        *keep = if self.keep_all {
                            (buf.len() >= DECIDE_AT.min(*total)).then_some(*total)
                        } else {
                            keep_for(buf, *total)
                        };
                        if keep.is_none() && buf.len() >= DECIDE_AT.min(*total) {
                            *keep = Some((*total).min(KEEP_HEADER));
                        }
                        // Room for what is kept, but no more ahead of the
                        // data than a segment train: the length field is the
                        // sender's word, the bytes may never come.
                        if let Some(k) = *keep {
                            buf.reserve(k.saturating_sub(buf.len()).min(RESERVE_AHEAD));
                        }
                    }
                    if let Some(k) = *keep {
                        let rest = &chunk[used..];
                        let room = k.saturating_sub(buf.len());
                        buf.extend_from_slice(&rest[..room.min(rest.len())]);
                    }
                    *seen += n;
                    data = &data[n..];
                    if *seen == *total {
                        if let Some(family) = *family {
                            self.messages += 1;
                            sink.at_seq(self.msg_start);
                            sink.held_message(family, buf, *total);
                            buf.clear();
                        }
                        // Reuse the buffer for the next message (verification
                        // keeps whole messages: no allocation per message).
                        if self.keep_all || buf.capacity() <= KEEP_HEADER * 4 {
                            buf.clear();
                            self.spare = std::mem::take(buf);
                        }
                        self.state = Frame::Header {
                            hdr: [0; 4],
                            have: 0,
                        };
                    }
                }
                Frame::Resync { buf } => {
                    if buf.is_empty() {
                        match find_smb_header(data) {
                            Some(p) => {
                                self.state = Frame::Header {
                                    hdr: [0; 4],
                                    have: 0,
                                };
                                data = &data[p..];
                            }
                            None => {
                                *buf = data[data.len().saturating_sub(7)..].to_vec();
                                data = &[];
                            }
                        }
                    } else {
                        let mut joined = std::mem::take(buf);
                        joined.extend_from_slice(data);
                        data = &[];
                        match find_smb_header(&joined) {
                            Some(p) => {
                                self.state = Frame::Header {
                                    hdr: [0; 4],
                                    have: 0,
                                };
                                self.feed(&joined[p..], sink);
                            }
                            None => {
                                let tail = joined[joined.len().saturating_sub(7)..].to_vec();
                                self.state = Frame::Resync { buf: tail };
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Position of the first NBSS session-message header followed by an SMB
/// magic in `b`.
pub fn find_smb_header(b: &[u8]) -> Option<usize> {
    let finder = memchr::memmem::Finder::new(b"SMB");
    let mut from = 0;
    while let Some(p) = finder.find(&b[from..]) {
        let at = from + p;
        // "SMB" sits at offset 5 of NBSS header + magic byte.
        if at >= 5 && nbss::looks_like_smb_message(&b[at - 5..]) {
            return Some(at - 5);
        }
        from = at + 1;
    }
    None
}

/// Sequence-space comparison (RFC 1982 style).
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// One direction of a TCP connection.
#[derive(Debug)]
pub struct Stream {
    /// Initial sequence number, when the SYN was seen.
    isn: Option<u32>,
    pub next_seq: Option<u32>,
    ooo: BTreeMap<u32, Vec<u8>>,
    ooo_bytes: usize,
    pub framer: Framer,
    pub gap_bytes: u64,
    pub fin: bool,
}

impl Stream {
    pub fn new() -> Self {
        Stream {
            isn: None,
            next_seq: None,
            ooo: BTreeMap::new(),
            ooo_bytes: 0,
            framer: Framer::unsynced(),
            gap_bytes: 0,
            fin: false,
        }
    }

    /// True when a SYN with this sequence number cannot belong to the
    /// connection this stream is part of (the 4-tuple was reused).
    pub fn is_new_syn(&self, seq: u32) -> bool {
        match (self.isn, self.next_seq) {
            (Some(isn), _) => isn != seq,
            (None, Some(_)) => true,
            (None, None) => false,
        }
    }

    /// SYN seen: the stream starts at seq+1 on a message boundary.
    pub fn on_syn(&mut self, seq: u32) {
        self.isn.get_or_insert(seq);
        if self.next_seq.is_none() {
            self.next_seq = Some(seq.wrapping_add(1));
            let keep_all = self.framer.keep_all;
            self.framer = Framer::synced();
            self.framer.keep_all = keep_all;
        }
    }

    pub fn buffered(&self) -> usize {
        self.ooo_bytes + self.framer.buffered()
    }

    /// Feed a segment. `payload_len` may exceed `payload.len()` when the
    /// capture's snaplen cut the frame; the missing tail is a gap.
    pub fn segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        payload_len: usize,
        sink: &mut dyn MessageSink,
    ) {
        if payload_len == 0 {
            return;
        }
        let next = *self.next_seq.get_or_insert(seq);
        if seq == next {
            self.deliver(payload, payload_len, sink);
            self.drain(sink);
            return;
        }
        if seq_lt(seq, next) {
            // Retransmission or overlap: keep only bytes past `next`.
            let skip = next.wrapping_sub(seq) as usize;
            if skip >= payload_len {
                return;
            }
            let present = payload.get(skip..).unwrap_or(&[]);
            self.deliver(present, payload_len - skip, sink);
            self.drain(sink);
            return;
        }
        // Ahead of `next`: hold it until the hole fills, within bounds.
        if self.ooo_bytes + payload.len() > MAX_OOO_BYTES || self.ooo.len() >= MAX_OOO_SEGMENTS {
            self.skip_hole(sink);
            // After skipping, try again from scratch.
            if self.next_seq == Some(seq) {
                self.deliver(payload, payload_len, sink);
                self.drain(sink);
                return;
            }
            if self.next_seq.is_some_and(|n| seq_lt(n, seq)) && self.ooo.is_empty() {
                let n = self.next_seq.unwrap_or(seq);
                self.gap_bytes += seq.wrapping_sub(n) as u64;
                self.framer.gap(sink);
                self.next_seq = Some(seq);
                self.deliver(payload, payload_len, sink);
                return;
            }
        }
        let entry = self.ooo.entry(seq).or_default();
        if payload.len() > entry.len() {
            self.ooo_bytes += payload.len() - entry.len();
            *entry = payload.to_vec();
        }
    }

    fn deliver(&mut self, present: &[u8], claimed: usize, sink: &mut dyn MessageSink) {
        self.framer.cursor = self.next_seq;
        self.framer.feed(present, sink);
        let missing = claimed - present.len();
        if missing > 0 {
            self.gap_bytes += missing as u64;
            self.framer.gap(sink);
        }
        if let Some(n) = self.next_seq.as_mut() {
            *n = n.wrapping_add(claimed as u32);
        }
    }

    /// Deliver held segments that now line up.
    fn drain(&mut self, sink: &mut dyn MessageSink) {
        while let Some((&seq, _)) = self.ooo.iter().next() {
            let next = match self.next_seq {
                Some(n) => n,
                None => return,
            };
            if seq_lt(next, seq) {
                return;
            }
            let data = self.ooo.remove(&seq).unwrap_or_default();
            self.ooo_bytes -= data.len();
            let skip = next.wrapping_sub(seq) as usize;
            if skip < data.len() {
                self.deliver(&data[skip..], data.len() - skip, sink);
            }
        }
    }

    /// Give up on the hole before the earliest held segment.
    pub fn skip_hole(&mut self, sink: &mut dyn MessageSink) {
        let Some((&seq, _)) = self.ooo.iter().next() else {
            return;
        };
        if let Some(n) = self.next_seq {
            self.gap_bytes += seq.wrapping_sub(n) as u64;
        }
        self.framer.gap(sink);
        self.next_seq = Some(seq);
        self.drain(sink);
    }

    /// Over the memory budget: stop waiting for every hole (what is held is
    /// delivered now) and keep only the header of the message in progress.
    pub fn shed(&mut self, sink: &mut dyn MessageSink) {
        while !self.ooo.is_empty() {
            self.skip_hole(sink);
        }
        self.framer.shed();
    }

    /// End of capture or connection: flush what is held, skipping holes, and
    /// hand over a message cut short by the end of the capture as far as it
    /// was read.
    pub fn finish(&mut self, sink: &mut dyn MessageSink) {
        while !self.ooo.is_empty() {
            self.skip_hole(sink);
        }
        self.framer.flush(sink);
    }

    /// The peer acknowledged bytes up to `ack`: bytes before it that are
    /// missing here were sent and received but not captured. Stop waiting
    /// for them (requests must reach the analysis before their responses).
    pub fn peer_acked(&mut self, ack: u32, sink: &mut dyn MessageSink) {
        let Some(next) = self.next_seq else {
            return;
        };
        if !self.ooo.is_empty() && seq_lt(next, ack) {
            self.skip_hole(sink);
        }
    }
}

impl Default for Stream {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Vec<(Vec<u8>, usize)>);
    impl MessageSink for Collect {
        fn message(&mut self, pdu: Pdu<'_>) {
            self.0.push((pdu.bytes.to_vec(), pdu.total));
        }
    }

    fn smb2_msg(cmd: u8, body: usize) -> Vec<u8> {
        let len = 64 + body;
        let mut m = vec![0, (len >> 16) as u8, (len >> 8) as u8, len as u8];
        let mut h = vec![0u8; len];
        h[..4].copy_from_slice(b"\xfeSMB");
        h[4] = 64;
        h[12] = cmd;
        m.extend_from_slice(&h);
        m
    }

    #[test]
    fn split_and_out_of_order_segments_reassemble() {
        let mut bytes = smb2_msg(5, 100);
        bytes.extend(smb2_msg(8, 10));
        let mut s = Stream::new();
        s.on_syn(999);
        let mut c = Collect::default();
        // Deliver second half first, then the first half, then a retransmission.
        s.segment(1000 + 50, &bytes[50..], bytes.len() - 50, &mut c);
        assert!(c.0.is_empty());
        s.segment(1000, &bytes[..60], 60, &mut c);
        s.segment(1000, &bytes[..60], 60, &mut c);
        assert_eq!(c.0.len(), 2);
        assert_eq!(c.0[0].1, 164);
        assert_eq!(c.0[1].0[12], 8);
        assert_eq!(s.gap_bytes, 0);
    }

    #[test]
    fn gap_resynchronises_on_next_header() {
        let a = smb2_msg(5, 3000);
        let b = smb2_msg(6, 20);
        let mut s = Stream::new();
        s.on_syn(0);
        let mut c = Collect::default();
        s.segment(1, &a[..1000], 1000, &mut c);
        // bytes 1000..len(a) lost; next segment starts with message b
        let seq_b = 1 + a.len() as u32;
        s.segment(seq_b, &b, b.len(), &mut c);
        s.finish(&mut c);
        // The cut message is handed over as far as it was read, then the
        // next one whole.
        assert_eq!(c.0.len(), 2);
        assert_eq!(c.0[0].0.len(), KEEP_HEADER);
        assert_eq!(c.0[0].1, a.len() - 4);
        assert_eq!(c.0[1].0[12], 6);
        assert_eq!(s.gap_bytes, (a.len() - 1000) as u64);
        assert_eq!(s.framer.resyncs, 1);
    }

    #[test]
    fn large_bodies_are_kept_as_prefix() {
        let a = smb2_msg(8, 200_000);
        let mut s = Stream::new();
        s.on_syn(0);
        let mut c = Collect::default();
        for (k, chunk) in a.chunks(1448).enumerate() {
            s.segment(1 + (k * 1448) as u32, chunk, chunk.len(), &mut c);
        }
        assert_eq!(c.0.len(), 1);
        assert_eq!(c.0[0].1, 200_064);
        // A READ response's data is skipped: only its header is kept.
        assert_eq!(c.0[0].0.len(), KEEP_HEADER);
    }
}
