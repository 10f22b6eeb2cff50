//! Capture input: pcap/pcapng files through pcap-parser, frames down to TCP,
//! a table of TCP connections, and per-connection reassembly that feeds SMB
//! messages to [`crate::conn::Connection`]. Memory grows with the number of
//! live connections, not with the capture's size.
#![forbid(unsafe_code)]

pub mod macs;
pub mod netxray;
pub mod packet;
pub mod stream;

use crate::conn::{Connection, Direction, MacBatch};
use crate::posture::ConnectionReport;
use packet::{LinkType, Skip, TCP_FIN, TCP_RST, TCP_SYN, TcpSegment};
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use stream::{MessageSink, Stream};

/// Live connections tracked at once; past this the least recently active
/// tenth is reported and dropped (a hostile capture can open millions).
pub const MAX_FLOWS: usize = 65_536;
/// Reassembly memory (out-of-order segments and messages being framed)
/// held across all connections. Past it, the connection whose segment
/// pushed the total over gives up its holes and keeps only the header of
/// the message in progress (its signature then goes unchecked): one
/// hostile or very lossy capture cannot make the host process grow without
/// bound, whatever the number of connections.
pub const MAX_HELD_BYTES: usize = 128 * 1024 * 1024;
/// Closed connections are reported after this many more frames.
const CLOSED_LINGER: u64 = 4096;
/// How often (in frames) closed connections are swept.
const SWEEP_EVERY: u64 = 1024;
/// Segments probed on a non-SMB port before deciding it carries no SMB.
const PROBE_SEGMENTS: u32 = 4;

/// Well-known SMB ports: 445 direct hosting, 139 NetBIOS session service.
fn smb_port(p: u16) -> bool {
    p == 445 || p == 139
}

type Endpoint = (IpAddr, u16);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey {
    lo: Endpoint,
    hi: Endpoint,
}

impl FlowKey {
    /// Canonical key and whether `src` is the `lo` side.
    fn of(src: Endpoint, dst: Endpoint) -> (Self, bool) {
        if src <= dst {
            (FlowKey { lo: src, hi: dst }, true)
        } else {
            (FlowKey { lo: dst, hi: src }, false)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlowKind {
    Probing(u32),
    Smb,
    NotSmb,
}

struct Flow {
    kind: FlowKind,
    /// Streams sent by the lo and hi endpoints.
    from_lo: Stream,
    from_hi: Stream,
    /// Which side is the client: decided by SYN, else by the first SMB
    /// message's request/response bit, else by port.
    client_is_lo: Option<bool>,
    conn: Connection,
    last_frame: u64,
    rst: bool,
    /// Frame at which FIN/FIN or RST closed it.
    closed_frame: Option<u64>,
    /// Sequential id (order of first appearance).
    id: u64,
    /// Reassembly bytes this flow holds, as counted in `Scanner::held`.
    held: usize,
    /// MACs of this flow out on the worker thread.
    macs_out: u32,
}

/// One SMB PDU as reassembled from the capture, for callers that feed
/// another analyzer (the C API round-trip, benchmarks).
#[derive(Debug, Clone, Copy)]
pub struct PduEvent<'a> {
    /// Sequential id of the TCP connection in this scan.
    pub connection: u64,
    pub direction: Direction,
    pub frame: u64,
    /// The NBSS payload (possibly a prefix of a large message).
    pub pdu: &'a [u8],
}

/// Callback receiving every reassembled PDU.
pub type PduHook = Box<dyn FnMut(PduEvent<'_>)>;

impl Flow {
    /// Reassembly bytes its two streams hold.
    fn buffered(&self) -> usize {
        self.from_lo.buffered() + self.from_hi.buffered()
    }

    /// Bring its share of the scanner's `held` total up to date.
    fn account(&mut self, total: &mut usize) {
        let now = self.buffered();
        *total = *total - self.held + now;
        self.held = now;
    }

    /// The stream sent by one side, and a sink that feeds its messages to
    /// this flow's analysis.
    fn stream_and_sink<'a>(
        &'a mut self,
        sender_is_lo: bool,
        frame: u64,
        hook: Option<&'a mut PduHook>,
    ) -> (&'a mut Stream, ConnSink<'a>) {
        let st = if sender_is_lo {
            &mut self.from_lo
        } else {
            &mut self.from_hi
        };
        let sink = ConnSink {
            conn: &mut self.conn,
            client_is_lo: &mut self.client_is_lo,
            sender_is_lo,
            frame,
            id: self.id,
            hook,
        };
        (st, sink)
    }
}

/// Sink that routes framed messages into the connection analysis.
struct ConnSink<'a> {
    conn: &'a mut Connection,
    client_is_lo: &'a mut Option<bool>,
    sender_is_lo: bool,
    frame: u64,
    id: u64,
    hook: Option<&'a mut PduHook>,
}

impl MessageSink for ConnSink<'_> {
    fn message(&mut self, msg: &[u8], total: usize) {
        if self.client_is_lo.is_none()
            && let Some(resp) = message_is_response(msg)
        {
            *self.client_is_lo = Some(self.sender_is_lo != resp);
        }
        let sender_is_client = self
            .client_is_lo
            .map(|c| c == self.sender_is_lo)
            .unwrap_or(true);
        let dir = if sender_is_client {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        if let Some(hook) = self.hook.as_mut() {
            hook(PduEvent {
                connection: self.id,
                direction: dir,
                frame: self.frame,
                pdu: msg,
            });
        }
        self.conn.on_pdu_prefix(dir, self.frame, msg, total, None);
    }
}

/// Request/response bit of an SMB1/SMB2 message, None for others.
fn message_is_response(msg: &[u8]) -> Option<bool> {
    use crate::wire::nbss::{SmbFamily, smb_family};
    match smb_family(msg)? {
        SmbFamily::Smb1 => Some(msg.get(9)? & 0x80 != 0),
        SmbFamily::Smb2 => Some(msg.get(16)? & 0x01 != 0),
        _ => None,
    }
}

/// Counters over the whole capture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub frames: u64,
    pub bytes: u64,
    pub tcp_segments: u64,
    pub non_ip: u64,
    pub non_tcp: u64,
    pub ip_fragments: u64,
    pub truncated_frames: u64,
    pub unsupported_link_frames: u64,
    pub flows_evicted: u64,
    /// Times a connection had to drop held data to keep the reassembly
    /// memory within its budget.
    pub memory_sheds: u64,
}

/// Feeds frames in capture order and produces one report per SMB connection.
pub struct Scanner {
    flows: HashMap<FlowKey, Flow, ahash::RandomState>,
    finished: Vec<ConnectionReport>,
    pub stats: ScanStats,
    frame: u64,
    max_flows: usize,
    /// Flows in the table that are closed and waiting to be swept.
    closed: usize,
    next_id: u64,
    hook: Option<PduHook>,
    /// Credentials for signature verification (whole messages are kept).
    credentials: Option<std::sync::Arc<crate::verify::Credentials>>,
    /// Reassembly bytes held by all flows, and the budget for them.
    held: usize,
    max_held: usize,
    /// SMB2 MACs computed on a second thread (`set_parallel_macs`): the
    /// worker, the batch being filled with the flow of each message, and
    /// emptied batches for reuse.
    macs: Option<macs::MacWorker<Vec<FlowKey>>>,
    batch: MacBatch,
    batch_keys: Vec<FlowKey>,
    spare_batches: Vec<macs::Answered<Vec<FlowKey>>>,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

fn endpoint_string(e: Endpoint) -> String {
    match e.0 {
        IpAddr::V4(a) => format!("{a}:{}", e.1),
        IpAddr::V6(a) => format!("[{a}]:{}", e.1),
    }
}

impl Scanner {
    pub fn new() -> Self {
        Self::with_max_flows(MAX_FLOWS)
    }

    pub fn with_max_flows(max_flows: usize) -> Self {
        Self::with_limits(max_flows, MAX_HELD_BYTES)
    }

    /// A scanner with other bounds than `MAX_FLOWS` and `MAX_HELD_BYTES`.
    pub fn with_limits(max_flows: usize, max_held: usize) -> Self {
        Scanner {
            flows: HashMap::default(),
            finished: Vec::new(),
            stats: ScanStats::default(),
            frame: 0,
            max_flows: max_flows.max(1),
            closed: 0,
            next_id: 0,
            hook: None,
            credentials: None,
            held: 0,
            max_held,
            macs: None,
            batch: MacBatch::default(),
            batch_keys: Vec::new(),
            spare_batches: Vec::new(),
        }
    }

    /// Compute SMB2 MACs on a second thread while the capture is read (with
    /// credentials set, on a machine with more than one core). Verdicts and
    /// reports are the same as in line; only the time differs.
    pub fn set_parallel_macs(&mut self) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if self.credentials.is_some() && cores > 1 && self.macs.is_none() {
            self.macs = macs::MacWorker::spawn();
        }
    }

    /// Hand the batch being filled to the worker.
    fn flush_macs(&mut self) {
        let Some(w) = self.macs.as_mut() else {
            return;
        };
        if self.batch.is_empty() {
            return;
        }
        let (batch, keys, verdicts) = self.spare_batches.pop().unwrap_or_default();
        let batch = std::mem::replace(&mut self.batch, batch);
        let keys = std::mem::replace(&mut self.batch_keys, keys);
        if let Err((batch, keys, mut verdicts)) = w.send(batch, keys, verdicts) {
            // The worker is gone: compute them here.
            verdicts.clear();
            batch.run(&mut Vec::new(), &mut verdicts);
            self.apply_macs((batch, keys, verdicts));
        }
    }

    /// Count the verdicts of an answered batch.
    fn apply_macs(&mut self, (mut batch, mut keys, mut verdicts): macs::Answered<Vec<FlowKey>>) {
        for ((job, key), v) in batch.jobs().iter().zip(&keys).zip(&verdicts) {
            if let Some(flow) = self.flows.get_mut(key) {
                flow.macs_out -= 1;
                flow.conn.apply_mac_verdict(job.frame, job.session, *v);
            }
        }
        batch.clear();
        keys.clear();
        verdicts.clear();
        if self.spare_batches.len() < 4 {
            self.spare_batches.push((batch, keys, verdicts));
        }
    }

    /// Count the verdicts that came back; when `all` (before a flow leaves
    /// the table) hand over the partial batch and wait for every verdict,
    /// and wait too while too many batches are out.
    fn collect_macs(&mut self, all: bool) {
        if self.macs.is_none() {
            return;
        }
        if all
            || self.batch.byte_len() >= macs::BATCH_BYTES
            || self.batch.len() >= macs::BATCH_MESSAGES
        {
            self.flush_macs();
        }
        while let Some(w) = self.macs.as_mut() {
            let block = all || w.over_budget();
            let Some(answered) = w.next(block) else {
                return;
            };
            self.apply_macs(answered);
        }
    }

    /// Reassembly bytes held now, across all connections.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Verify signatures with these credentials. Whole messages are then
    /// kept (up to 16 MiB each) instead of their headers.
    pub fn set_credentials(&mut self, creds: std::sync::Arc<crate::verify::Credentials>) {
        self.credentials = Some(creds);
    }

    /// Call `hook` with every reassembled SMB PDU, in capture order.
    pub fn set_pdu_hook(&mut self, hook: PduHook) {
        self.hook = Some(hook);
    }

    /// Connections currently tracked.
    pub fn live_flows(&self) -> usize {
        self.flows.len()
    }

    /// Reports of connections that ended since the last call.
    pub fn take_finished(&mut self) -> Vec<ConnectionReport> {
        std::mem::take(&mut self.finished)
    }

    /// Feed one captured frame. Frame numbers count from 1 like Wireshark's.
    pub fn frame(&mut self, link: LinkType, data: &[u8]) {
        self.frame += 1;
        self.stats.frames += 1;
        self.stats.bytes += data.len() as u64;
        if !link.supported() {
            self.stats.unsupported_link_frames += 1;
            return;
        }
        match packet::decode_frame(link, data) {
            Ok(seg) => {
                self.stats.tcp_segments += 1;
                self.segment(seg);
                if self.macs.is_some() {
                    self.collect_macs(false);
                }
            }
            Err(Skip::NotIp) => self.stats.non_ip += 1,
            Err(Skip::NotTcp) => self.stats.non_tcp += 1,
            Err(Skip::Fragment) => self.stats.ip_fragments += 1,
            Err(Skip::Truncated) => self.stats.truncated_frames += 1,
        }
    }

    fn segment(&mut self, seg: TcpSegment<'_>) {
        let (key, src_is_lo) = FlowKey::of(seg.src, seg.dst);
        let frame = self.frame;
        // A client SYN with a new ISN on a known 4-tuple starts a new
        // connection (port reuse): report the old one first.
        if seg.flags & (TCP_SYN | packet::TCP_ACK) == TCP_SYN
            && self.flows.get(&key).is_some_and(|f| {
                let st = if src_is_lo { &f.from_lo } else { &f.from_hi };
                st.is_new_syn(seg.seq)
            })
        {
            self.collect_macs(true);
            if let Some(old) = self.flows.remove(&key) {
                if old.closed_frame.is_some() {
                    self.closed -= 1;
                }
                self.retire(key, old);
            }
        }
        if self.flows.len() >= self.max_flows && !self.flows.contains_key(&key) {
            self.evict();
        }
        // One hash lookup per segment on the common path.
        let flow = match self.flows.entry(key) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                if seg.payload_len == 0 && seg.flags & TCP_SYN == 0 {
                    return; // a bare ACK/FIN of a flow we never saw carry data
                }
                self.next_id += 1;
                let kind = if smb_port(seg.src.1) || smb_port(seg.dst.1) {
                    FlowKind::Smb
                } else {
                    FlowKind::Probing(0)
                };
                let keep_all = self.credentials.is_some();
                let stream = || {
                    let mut st = Stream::new();
                    st.framer.keep_all = keep_all;
                    st
                };
                v.insert(Flow {
                    kind,
                    from_lo: stream(),
                    from_hi: stream(),
                    client_is_lo: None,
                    conn: match &self.credentials {
                        Some(c) => Connection::with_credentials(c.clone()),
                        None => Connection::new(),
                    },
                    last_frame: frame,
                    rst: false,
                    closed_frame: None,
                    id: self.next_id,
                    held: 0,
                    macs_out: 0,
                })
            }
        };
        flow.last_frame = frame;
        if flow.kind == FlowKind::NotSmb {
            if seg.flags & (TCP_FIN | TCP_RST) != 0 {
                self.flows.remove(&key);
            }
            return;
        }
        let syn = seg.flags & TCP_SYN != 0;
        if syn {
            let ack = seg.flags & packet::TCP_ACK != 0;
            if flow.client_is_lo.is_none() {
                // SYN without ACK comes from the client.
                flow.client_is_lo = Some(if ack { !src_is_lo } else { src_is_lo });
            }
            let st = if src_is_lo {
                &mut flow.from_lo
            } else {
                &mut flow.from_hi
            };
            st.on_syn(seg.seq);
        }
        if let FlowKind::Probing(n) = flow.kind
            && !seg.payload.is_empty()
        {
            let st = if src_is_lo {
                &flow.from_lo
            } else {
                &flow.from_hi
            };
            let at_boundary = st.framer.is_synced() && st.next_seq == Some(seg.seq);
            let found = if at_boundary {
                crate::wire::nbss::looks_like_smb_message(seg.payload)
                    || crate::wire::nbss::looks_like_nbss_control(seg.payload)
            } else {
                stream::find_smb_header(seg.payload).is_some()
            };
            flow.kind = if found {
                FlowKind::Smb
            } else if at_boundary || n + 1 >= PROBE_SEGMENTS {
                FlowKind::NotSmb
            } else {
                FlowKind::Probing(n + 1)
            };
            if flow.kind == FlowKind::NotSmb {
                // Nothing of it will be read again.
                flow.from_lo = Stream::new();
                flow.from_hi = Stream::new();
                self.held -= flow.held;
                flow.held = 0;
                return;
            }
        }
        let lend = self.macs.is_some();
        if lend {
            flow.conn.lend_mac_batch(std::mem::take(&mut self.batch));
        }
        if seg.flags & packet::TCP_ACK != 0 {
            // The other direction's hole, if this ACK shows it was delivered.
            let (other, mut sink) = flow.stream_and_sink(!src_is_lo, frame, self.hook.as_mut());
            other.peer_acked(seg.ack, &mut sink);
        }
        if !seg.payload.is_empty() || seg.payload_len > 0 {
            let (st, mut sink) = flow.stream_and_sink(src_is_lo, frame, self.hook.as_mut());
            // A SYN can carry data (TFO); its payload starts at seq+1.
            let seq = if syn {
                seg.seq.wrapping_add(1)
            } else {
                seg.seq
            };
            st.segment(seq, seg.payload, seg.payload_len, &mut sink);
        }
        if flow.buffered() != flow.held {
            flow.account(&mut self.held);
            if self.held > self.max_held {
                self.stats.memory_sheds += 1;
                for from_lo in [true, false] {
                    let (st, mut sink) = flow.stream_and_sink(from_lo, frame, self.hook.as_mut());
                    st.shed(&mut sink);
                }
                flow.account(&mut self.held);
            }
        }
        if lend {
            let batch = flow.conn.return_mac_batch();
            let added = batch.len() - self.batch_keys.len();
            self.batch_keys.extend(std::iter::repeat_n(key, added));
            flow.macs_out += added as u32;
            self.batch = batch;
        }
        if seg.flags & TCP_RST != 0 {
            flow.rst = true;
        }
        if seg.flags & TCP_FIN != 0 {
            if src_is_lo {
                flow.from_lo.fin = true;
            } else {
                flow.from_hi.fin = true;
            }
        }
        if (flow.rst || (flow.from_lo.fin && flow.from_hi.fin)) && flow.closed_frame.is_none() {
            // Keep it a while: segments still arrive after FIN/RST
            // (retransmissions, reordering) and belong to this connection,
            // as they do in Wireshark's tcp.stream.
            flow.closed_frame = Some(frame);
            self.closed += 1;
        }
        if frame.is_multiple_of(SWEEP_EVERY) && self.closed > 0 {
            self.sweep_closed();
        }
    }

    /// Report and drop connections closed more than `CLOSED_LINGER` frames ago.
    fn sweep_closed(&mut self) {
        let now = self.frame;
        let mut waiting = false;
        let mut done: Vec<(u64, u64, FlowKey)> = self
            .flows
            .iter()
            .filter_map(|(k, f)| {
                let c = f.closed_frame.filter(|c| c + CLOSED_LINGER < now)?;
                // A flow with verdicts still out waits for the next sweep
                // (never a stall of the reader).
                waiting |= f.macs_out > 0;
                (f.macs_out == 0).then_some((c, f.id, *k))
            })
            .collect();
        if waiting {
            self.flush_macs();
        }
        // Reports in the order the connections closed, whatever the hash
        // table's order: the same output on every run.
        done.sort_unstable_by_key(|&(closed, id, _)| (closed, id));
        let done: Vec<FlowKey> = done.into_iter().map(|(_, _, k)| k).collect();
        for key in done {
            if let Some(flow) = self.flows.remove(&key) {
                self.closed -= 1;
                self.retire(key, flow);
            }
        }
    }

    fn evict(&mut self) {
        self.collect_macs(true);
        let mut by_age: Vec<(u64, FlowKey)> =
            self.flows.iter().map(|(k, f)| (f.last_frame, *k)).collect();
        by_age.sort_unstable_by_key(|x| x.0);
        let n = (self.max_flows / 10).max(1);
        for (_, key) in by_age.into_iter().take(n) {
            if let Some(flow) = self.flows.remove(&key) {
                if flow.closed_frame.is_some() {
                    self.closed -= 1;
                } else {
                    self.stats.flows_evicted += 1;
                }
                self.retire(key, flow);
            }
        }
    }

    fn retire(&mut self, key: FlowKey, mut flow: Flow) {
        self.held -= flow.held;
        if flow.kind != FlowKind::Smb {
            return;
        }
        for from_lo in [true, false] {
            let (st, mut sink) = flow.stream_and_sink(from_lo, self.frame, self.hook.as_mut());
            st.finish(&mut sink);
        }
        if flow.conn.first_frame.is_none() {
            return; // no SMB message was ever seen
        }
        if flow.rst || flow.from_lo.fin || flow.from_hi.fin {
            flow.conn.on_close();
        }
        // With neither SYN nor an SMB message to tell, the port decides.
        let client_is_lo = flow
            .client_is_lo
            .unwrap_or(!smb_port(key.lo.1) || smb_port(key.hi.1));
        let (client, server) = if client_is_lo {
            (key.lo, key.hi)
        } else {
            (key.hi, key.lo)
        };
        let gap = flow.from_lo.gap_bytes + flow.from_hi.gap_bytes;
        let resyncs = flow.from_lo.framer.resyncs + flow.from_hi.framer.resyncs;
        self.finished.push(ConnectionReport::build(
            &flow.conn,
            endpoint_string(client),
            endpoint_string(server),
            gap,
            resyncs,
        ));
    }

    /// End of input: report every connection still open, in order of
    /// first appearance.
    pub fn finish(&mut self) -> Vec<ConnectionReport> {
        self.collect_macs(true);
        let mut rest: Vec<(FlowKey, Flow)> = self.flows.drain().collect();
        self.closed = 0;
        rest.sort_by_key(|(_, f)| f.conn.first_frame.unwrap_or(u64::MAX));
        for (k, f) in rest {
            self.retire(k, f);
        }
        let mut out = std::mem::take(&mut self.finished);
        out.sort_by_key(|r| r.first_frame.unwrap_or(u64::MAX));
        out
    }
}

/// Why a capture could not be read (to the end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureError {
    Io(String),
    NotACapture,
    Empty,
    /// The file ends inside a record: what came before was read.
    Truncated {
        frames_read: u64,
    },
    Corrupt {
        frames_read: u64,
        detail: String,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Io(e) => write!(f, "{e}"),
            CaptureError::NotACapture => write!(f, "not a pcap or pcapng capture"),
            CaptureError::Empty => write!(f, "empty file, not a capture"),
            CaptureError::Truncated { frames_read } => write!(
                f,
                "capture is truncated: the last record is cut short ({frames_read} frames read before it)"
            ),
            CaptureError::Corrupt {
                frames_read,
                detail,
            } => write!(f, "capture is corrupt after {frames_read} frames: {detail}"),
        }
    }
}

impl std::error::Error for CaptureError {}

/// Largest single block accepted (pcapng blocks holding one frame).
const MAX_BLOCK: usize = 64 * 1024 * 1024;

/// Read a whole capture, feeding every frame to `on_frame` with its link
/// type: pcap or pcapng (through pcap-parser), either gzip-compressed (as
/// tshark reads them), or NetXRay 2.x. `progress` is told how many bytes
/// were consumed so far.
pub fn read_capture<R: Read + Send>(
    input: R,
    on_frame: impl FnMut(LinkType, &[u8]),
    progress: impl FnMut(u64),
) -> Result<u64, CaptureError> {
    use std::io::BufRead;
    let mut input = std::io::BufReader::with_capacity(1 << 16, input);
    let magic = input
        .fill_buf()
        .map_err(|e| CaptureError::Io(e.to_string()))?
        .get(..4)
        .map(|m| [m[0], m[1], m[2], m[3]]);
    match magic {
        Some([0x1f, 0x8b, _, _]) => {
            read_pcap(flate2::read::MultiGzDecoder::new(input), on_frame, progress)
        }
        Some(m) if &m == netxray::NETXRAY_MAGIC => {
            // NetXRay files are small (16-bit lengths); read whole, bounded.
            let mut data = Vec::new();
            input
                .take(1 << 30)
                .read_to_end(&mut data)
                .map_err(|e| CaptureError::Io(e.to_string()))?;
            netxray::read_netxray(&data, on_frame)
        }
        _ => read_pcap(input, on_frame, progress),
    }
}

fn read_pcap<R: Read + Send>(
    input: R,
    mut on_frame: impl FnMut(LinkType, &[u8]),
    mut progress: impl FnMut(u64),
) -> Result<u64, CaptureError> {
    use pcap_parser::pcapng::Block;
    use pcap_parser::{PcapBlockOwned, PcapError, create_reader};
    let mut reader = match create_reader(1 << 20, input) {
        Ok(r) => r,
        Err(PcapError::Eof) => return Err(CaptureError::Empty),
        Err(PcapError::ReadError) => return Err(CaptureError::Io("read error".into())),
        Err(_) => return Err(CaptureError::NotACapture),
    };
    let mut legacy_link = LinkType::Ethernet;
    let mut if_links: Vec<LinkType> = Vec::new();
    let mut frames = 0u64;
    let mut consumed_total = 0u64;
    let mut capacity = 1usize << 20;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => legacy_link = LinkType(h.network.0),
                    PcapBlockOwned::Legacy(b) => {
                        frames += 1;
                        on_frame(legacy_link, b.data);
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => if_links.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        if_links.push(LinkType(idb.linktype.0))
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        frames += 1;
                        let link = if_links
                            .get(epb.if_id as usize)
                            .copied()
                            .unwrap_or(LinkType(-1));
                        let n = (epb.caplen as usize).min(epb.data.len());
                        on_frame(link, &epb.data[..n]);
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        frames += 1;
                        let link = if_links.first().copied().unwrap_or(LinkType(-1));
                        on_frame(link, spb.data);
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                consumed_total += offset as u64;
                // Shift the buffer only when refilling (few bytes left then),
                // not after every block.
                reader.consume_noshift(offset);
                progress(consumed_total);
            }
            Err(PcapError::Eof) => return Ok(frames),
            Err(PcapError::Incomplete(_)) => {
                if reader.reader_exhausted() {
                    return Err(CaptureError::Truncated {
                        frames_read: frames,
                    });
                }
                if let Err(e) = reader.refill() {
                    return Err(match e {
                        PcapError::ReadError => CaptureError::Io("read error".into()),
                        _ => CaptureError::Truncated {
                            frames_read: frames,
                        },
                    });
                }
            }
            Err(PcapError::BufferTooSmall) => {
                if capacity >= MAX_BLOCK || !reader.grow(capacity * 2) {
                    return Err(CaptureError::Corrupt {
                        frames_read: frames,
                        detail: format!("a block is larger than {MAX_BLOCK} bytes"),
                    });
                }
                capacity *= 2;
                if let Err(e) = reader.refill() {
                    return Err(CaptureError::Corrupt {
                        frames_read: frames,
                        detail: format!("{e:?}"),
                    });
                }
            }
            Err(PcapError::UnexpectedEof) => {
                return Err(CaptureError::Truncated {
                    frames_read: frames,
                });
            }
            Err(e) => {
                return Err(CaptureError::Corrupt {
                    frames_read: frames,
                    detail: match e {
                        PcapError::NomError(_, k) | PcapError::OwnedNomError(_, k) => {
                            format!("block does not parse ({k:?})")
                        }
                        other => format!("{other:?}"),
                    },
                });
            }
        }
    }
}

/// Result of scanning one file: the reports, counters, and the error that
/// stopped reading early (the reports then cover what was read).
pub struct ScanOutcome {
    pub reports: Vec<ConnectionReport>,
    pub stats: ScanStats,
    pub error: Option<CaptureError>,
}

/// Scan a capture from any reader.
pub fn scan_reader<R: Read + Send>(input: R, progress: impl FnMut(u64)) -> ScanOutcome {
    scan_reader_with(input, None, progress)
}

/// Scan a capture from any reader, verifying signatures when credentials
/// are given.
pub fn scan_reader_with<R: Read + Send>(
    input: R,
    credentials: Option<std::sync::Arc<crate::verify::Credentials>>,
    progress: impl FnMut(u64),
) -> ScanOutcome {
    let mut scanner = Scanner::new();
    if let Some(c) = credentials {
        scanner.set_credentials(c);
        scanner.set_parallel_macs();
    }
    let result = read_capture(input, |link, data| scanner.frame(link, data), progress);
    let reports = scanner.finish();
    ScanOutcome {
        reports,
        stats: scanner.stats.clone(),
        error: result.err(),
    }
}

/// Scan a capture file, handing each connection's report to `on_report` as
/// soon as the connection is over (not at the end): memory then stays flat
/// however many connections the file holds. Reports come in the order the
/// connections ended; those still open at the end follow in order of first
/// appearance. Returns the counters and the error that stopped reading
/// early, if any.
pub fn scan_path_streaming(
    path: &std::path::Path,
    credentials: Option<std::sync::Arc<crate::verify::Credentials>>,
    mut progress: impl FnMut(u64),
    mut on_report: impl FnMut(ConnectionReport),
) -> Result<(ScanStats, Option<CaptureError>), CaptureError> {
    let f = std::fs::File::open(path).map_err(|e| CaptureError::Io(e.to_string()))?;
    let mut scanner = Scanner::new();
    if let Some(c) = credentials {
        scanner.set_credentials(c);
        scanner.set_parallel_macs();
    }
    let file = path.display().to_string();
    let mut emit = |mut r: ConnectionReport| {
        r.file = Some(file.clone());
        on_report(r);
    };
    let result = read_capture(
        std::io::BufReader::with_capacity(0, f),
        |link, data| {
            scanner.frame(link, data);
            if scanner.frame.is_multiple_of(SWEEP_EVERY) {
                for r in scanner.take_finished() {
                    emit(r);
                }
            }
        },
        &mut progress,
    );
    if let Err(e @ (CaptureError::NotACapture | CaptureError::Empty | CaptureError::Io(_))) =
        &result
    {
        return Err(e.clone());
    }
    for r in scanner.finish() {
        emit(r);
    }
    Ok((scanner.stats.clone(), result.err()))
}

/// Scan a capture file by path.
pub fn scan_path(
    path: &std::path::Path,
    progress: impl FnMut(u64),
) -> Result<ScanOutcome, CaptureError> {
    scan_path_with(path, None, progress)
}

/// Scan a capture file by path, verifying signatures when credentials are
/// given.
pub fn scan_path_with(
    path: &std::path::Path,
    credentials: Option<std::sync::Arc<crate::verify::Credentials>>,
    progress: impl FnMut(u64),
) -> Result<ScanOutcome, CaptureError> {
    let f = std::fs::File::open(path).map_err(|e| CaptureError::Io(e.to_string()))?;
    let out = scan_reader_with(
        std::io::BufReader::with_capacity(0, f),
        credentials,
        progress,
    );
    match &out.error {
        Some(CaptureError::NotACapture | CaptureError::Empty | CaptureError::Io(_)) => {
            Err(out.error.clone().unwrap_or(CaptureError::NotACapture))
        }
        _ => {
            let mut out = out;
            for r in &mut out.reports {
                r.file = Some(path.display().to_string());
            }
            Ok(out)
        }
    }
}
