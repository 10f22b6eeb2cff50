//! The table of TCP connections: frames in capture order become per-flow
//! reassembled streams, framed into SMB PDUs that go to a `FlowSink` with
//! the flow's own state. The table decides when a flow starts, which side
//! is the client, when it ends and when it is dropped; it knows nothing of
//! what the sink does with the PDUs. Memory is bounded by `max_flows` and
//! by the reassembly budget `max_held`.

use super::packet::{self, LinkType, Skip, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, TcpSegment};
use super::stream::{self, MessageSink, Stream};
use crate::conn::Direction;
use crate::wire::Pdu;
use crate::wire::nbss::SmbFamily;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

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
pub const SWEEP_EVERY: u64 = 1024;
/// Segments probed on a non-SMB port before deciding it carries no SMB.
const PROBE_SEGMENTS: u32 = 4;

/// Well-known SMB ports: 445 direct hosting, 139 NetBIOS session service.
fn smb_port(p: u16) -> bool {
    p == 445 || p == 139
}

type Endpoint = (IpAddr, u16);

/// A TCP connection's two endpoints, in canonical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    lo: Endpoint,
    hi: Endpoint,
}

impl FlowKey {
    /// The `lo` (true) or `hi` endpoint: address and port.
    pub fn endpoint(&self, lo: bool) -> (IpAddr, u16) {
        if lo { self.lo } else { self.hi }
    }

    /// Canonical key and whether `src` is the `lo` side.
    fn of(src: Endpoint, dst: Endpoint) -> (Self, bool) {
        if src <= dst {
            (FlowKey { lo: src, hi: dst }, true)
        } else {
            (FlowKey { lo: dst, hi: src }, false)
        }
    }
}

/// What the capture knows of a flow when it leaves the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowEnd {
    pub id: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// The capture shows FIN or RST.
    pub closed: bool,
    /// Bytes the capture could not see, and framer resynchronisations.
    pub gap_bytes: u64,
    pub resyncs: u64,
    /// The flow carried at least one SMB PDU.
    pub saw_smb: bool,
}

/// Receives the PDUs of every flow, with per-flow state of its own.
pub trait FlowSink {
    type State;
    /// A new flow that may carry SMB (`id` counts flows in order of
    /// appearance).
    fn open(&mut self, id: u64, key: FlowKey) -> Self::State;
    /// One SMB PDU of a flow.
    fn pdu(&mut self, state: &mut Self::State, dir: Direction, frame: u64, pdu: Pdu<'_>);
    /// One SMB PDU the reassembly holds in `buf`: as `pdu`, and the sink
    /// may take the buffer, leaving an empty one in its place.
    /// Where the next PDU starts: which side sent it and the TCP sequence
    /// number of its NBSS header (`MessageSink::at_seq`).
    fn message_at(&mut self, _state: &mut Self::State, _sender_is_lo: bool, _seq: Option<u32>) {}
    /// An empty buffer for a stream's reassembly (`MessageSink::empty_buffer`).
    fn empty_buffer(&mut self) -> Vec<u8> {
        Vec::new()
    }
    fn held_pdu(
        &mut self,
        state: &mut Self::State,
        dir: Direction,
        frame: u64,
        family: SmbFamily,
        buf: &mut Vec<u8>,
        total: usize,
    ) {
        let pdu = Pdu {
            family,
            bytes: buf,
            total,
        };
        self.pdu(state, dir, frame, pdu);
    }
    /// Work the sink does for flows elsewhere (another thread) may be
    /// collected now, as far as `how` says.
    fn collect(&mut self, _flows: &mut dyn FlowStates<Self::State>, _how: Collect) {}
    /// Whether a closed flow may leave the table now (nothing of it is out).
    fn idle(&self, _state: &Self::State) -> bool {
        true
    }
    /// The flow is leaving the table: what its streams still hold comes
    /// next, then `retire`.
    fn closing(&mut self, _state: &mut Self::State) {}
    /// The flow is over.
    fn retire(&mut self, state: Self::State, end: FlowEnd);
    /// Whether Kerberos KDC messages (port 88) are wanted (`kdc`); asked
    /// once, when the table is made.
    fn wants_kdc(&self) -> bool {
        false
    }
    /// One KDC message (UDP datagram, or a TCP record once reassembled).
    fn kdc(&mut self, _frame: u64, _message: &[u8]) {}
}

/// How far `FlowSink::collect` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collect {
    /// Take what is done; hand work over when a batch is full.
    Poll,
    /// Hand over what is waiting too (flows are waiting to be swept).
    Flush,
    /// All of it, waiting for the answers: flows leave the table out of turn.
    Wait,
}

/// The sink's states of the flows in the table, by key.
pub trait FlowStates<T> {
    fn get(&mut self, key: FlowKey) -> Option<&mut T>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlowKind {
    Probing(u32),
    Smb,
    NotSmb,
}

struct Flow<T> {
    kind: FlowKind,
    /// Streams sent by the lo and hi endpoints.
    from_lo: Stream,
    from_hi: Stream,
    /// Which side is the client: decided by SYN, else by the first SMB
    /// message's request/response bit, else by port.
    client_is_lo: Option<bool>,
    state: T,
    saw_smb: bool,
    last_frame: u64,
    rst: bool,
    /// Frame at which FIN/FIN or RST closed it.
    closed_frame: Option<u64>,
    id: u64,
    /// Reassembly bytes this flow holds, as counted in `FlowTable::held`.
    held: usize,
}

impl<T> Flow<T> {
    fn buffered(&self) -> usize {
        self.from_lo.buffered() + self.from_hi.buffered()
    }

    /// Bring its share of the table's `held` total up to date.
    fn account(&mut self, total: &mut usize) {
        let now = self.buffered();
        *total = *total - self.held + now;
        self.held = now;
    }

    fn stream(&mut self, from_lo: bool) -> &mut Stream {
        if from_lo {
            &mut self.from_lo
        } else {
            &mut self.from_hi
        }
    }
}

/// Routes one stream's framed messages to the sink.
struct Delivery<'a, S: FlowSink> {
    sink: &'a mut S,
    state: &'a mut S::State,
    saw_smb: &'a mut bool,
    client_is_lo: &'a mut Option<bool>,
    sender_is_lo: bool,
    frame: u64,
}

impl<S: FlowSink> Delivery<'_, S> {
    /// Which way `pdu` went (its response bit decides the client side on
    /// the first message that has one).
    fn direction(&mut self, pdu: &Pdu<'_>) -> Direction {
        *self.saw_smb = true;
        if self.client_is_lo.is_none()
            && let Some(resp) = pdu.is_response()
        {
            *self.client_is_lo = Some(self.sender_is_lo != resp);
        }
        if self.client_is_lo.is_none_or(|c| c == self.sender_is_lo) {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }
}

impl<S: FlowSink> MessageSink for Delivery<'_, S> {
    fn message(&mut self, pdu: Pdu<'_>) {
        let dir = self.direction(&pdu);
        self.sink.pdu(self.state, dir, self.frame, pdu);
    }

    fn held_message(&mut self, family: SmbFamily, buf: &mut Vec<u8>, total: usize) {
        let pdu = Pdu {
            family,
            bytes: buf,
            total,
        };
        let dir = self.direction(&pdu);
        self.sink
            .held_pdu(self.state, dir, self.frame, family, buf, total);
    }

    fn empty_buffer(&mut self) -> Vec<u8> {
        self.sink.empty_buffer()
    }

    fn at_seq(&mut self, seq: Option<u32>) {
        self.sink.message_at(self.state, self.sender_is_lo, seq);
    }
}

/// Run `f` on one stream of a flow with a delivery into the sink.
fn with_stream<S: FlowSink, R>(
    sink: &mut S,
    flow: &mut Flow<S::State>,
    from_lo: bool,
    frame: u64,
    f: impl FnOnce(&mut Stream, &mut Delivery<'_, S>) -> R,
) -> R {
    let Flow {
        from_lo: lo,
        from_hi: hi,
        state,
        saw_smb,
        client_is_lo,
        ..
    } = flow;
    let st = if from_lo { lo } else { hi };
    let mut d = Delivery {
        sink,
        state,
        saw_smb,
        client_is_lo,
        sender_is_lo: from_lo,
        frame,
    };
    f(st, &mut d)
}

struct Table<'a, T>(&'a mut HashMap<FlowKey, Flow<T>, ahash::RandomState>);

impl<T> FlowStates<T> for Table<'_, T> {
    fn get(&mut self, key: FlowKey) -> Option<&mut T> {
        self.0.get_mut(&key).map(|f| &mut f.state)
    }
}

/// Counters over the whole capture.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
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

/// Frames in, PDUs out to the sink.
pub struct FlowTable<S: FlowSink> {
    flows: HashMap<FlowKey, Flow<S::State>, ahash::RandomState>,
    pub sink: S,
    pub stats: ScanStats,
    frame: u64,
    max_flows: usize,
    /// Flows in the table that are closed and waiting to be swept.
    closed: usize,
    next_id: u64,
    /// Keep whole messages (verification needs every byte), not headers.
    keep_all: bool,
    /// Reassembly bytes held by all flows, and the budget for them.
    held: usize,
    max_held: usize,
    /// Port 88 traffic, when the sink wants KDC messages.
    kdc: Option<Box<super::kdc::KdcReassembler>>,
}

impl<S: FlowSink> FlowTable<S> {
    pub fn new(sink: S, max_flows: usize, max_held: usize, keep_all: bool) -> Self {
        let sink_wants_kdc = sink.wants_kdc();
        FlowTable {
            flows: HashMap::default(),
            sink,
            stats: ScanStats::default(),
            frame: 0,
            max_flows: max_flows.max(1),
            closed: 0,
            next_id: 0,
            keep_all,
            held: 0,
            max_held,
            kdc: sink_wants_kdc.then(Box::default),
        }
    }

    /// Frames fed so far (the last frame's number).
    pub fn frame_number(&self) -> u64 {
        self.frame
    }

    /// Reassembly bytes held now, across all connections.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Connections currently tracked.
    pub fn live_flows(&self) -> usize {
        self.flows.len()
    }

    /// Let the sink collect work it does elsewhere.
    fn collect(&mut self, how: Collect) {
        self.sink.collect(&mut Table(&mut self.flows), how);
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
                if self.kdc.is_some() && super::kdc::is_kdc(seg.src.1, seg.dst.1) {
                    self.kdc_segment(&seg);
                    return;
                }
                self.segment(seg);
                self.collect(Collect::Poll);
            }
            Err(Skip::NotIp) => self.stats.non_ip += 1,
            Err(Skip::NotTcp) => {
                self.stats.non_tcp += 1;
                if self.kdc.is_some() {
                    self.kdc_datagram(link, data);
                }
            }
            Err(Skip::Fragment) => self.stats.ip_fragments += 1,
            Err(Skip::Truncated) => self.stats.truncated_frames += 1,
        }
    }

    /// A TCP segment to or from port 88: its KDC records go to the sink.
    #[cold]
    fn kdc_segment(&mut self, seg: &TcpSegment<'_>) {
        let (frame, sink) = (self.frame, &mut self.sink);
        if let Some(k) = self.kdc.as_mut() {
            k.segment(frame, seg, &mut |f, m| sink.kdc(f, m));
        }
    }

    /// A UDP datagram to or from port 88 goes to the sink.
    #[cold]
    fn kdc_datagram(&mut self, link: LinkType, data: &[u8]) {
        let Ok(d) = packet::decode_udp_frame(link, data) else {
            return;
        };
        if !super::kdc::is_kdc(d.src.1, d.dst.1) {
            return;
        }
        let (frame, sink) = (self.frame, &mut self.sink);
        if let Some(k) = self.kdc.as_mut() {
            k.datagram(frame, &d, &mut |f, m| sink.kdc(f, m));
        }
    }

    fn segment(&mut self, seg: TcpSegment<'_>) {
        let (key, src_is_lo) = FlowKey::of(seg.src, seg.dst);
        let frame = self.frame;
        if self.is_port_reuse(key, src_is_lo, &seg) {
            // A client SYN with a new ISN on a known 4-tuple starts a new
            // connection: report the old one first.
            self.collect(Collect::Wait);
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
        if !self.flows.contains_key(&key) && !self.open(key, &seg) {
            return;
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
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
            if flow.client_is_lo.is_none() {
                // SYN without ACK comes from the client.
                let ack = seg.flags & TCP_ACK != 0;
                flow.client_is_lo = Some(if ack { !src_is_lo } else { src_is_lo });
            }
            flow.stream(src_is_lo).on_syn(seg.seq);
        }
        if !probe(flow, src_is_lo, &seg) {
            // Nothing of it will be read again.
            flow.from_lo = Stream::new();
            flow.from_hi = Stream::new();
            self.held -= flow.held;
            flow.held = 0;
            return;
        }
        self.deliver(key, src_is_lo, &seg);
        self.note_close(key, src_is_lo, seg.flags);
        if frame.is_multiple_of(SWEEP_EVERY) && self.closed > 0 {
            self.sweep_closed();
        }
    }

    fn is_port_reuse(&self, key: FlowKey, src_is_lo: bool, seg: &TcpSegment<'_>) -> bool {
        seg.flags & (TCP_SYN | TCP_ACK) == TCP_SYN
            && self.flows.get(&key).is_some_and(|f| {
                let st = if src_is_lo { &f.from_lo } else { &f.from_hi };
                st.is_new_syn(seg.seq)
            })
    }

    /// A new flow in the table; false for a bare ACK/FIN of a flow never
    /// seen carrying data.
    fn open(&mut self, key: FlowKey, seg: &TcpSegment<'_>) -> bool {
        if seg.payload_len == 0 && seg.flags & TCP_SYN == 0 {
            return false;
        }
        self.next_id += 1;
        let kind = if smb_port(seg.src.1) || smb_port(seg.dst.1) {
            FlowKind::Smb
        } else {
            FlowKind::Probing(0)
        };
        let stream = || {
            let mut st = Stream::new();
            st.framer.keep_all = self.keep_all;
            st
        };
        let flow = Flow {
            kind,
            from_lo: stream(),
            from_hi: stream(),
            client_is_lo: None,
            state: self.sink.open(self.next_id, key),
            saw_smb: false,
            last_frame: self.frame,
            rst: false,
            closed_frame: None,
            id: self.next_id,
            held: 0,
        };
        self.flows.insert(key, flow);
        true
    }

    /// The segment's bytes (and the ACK of the other direction) into the
    /// streams, and from them PDUs into the sink; then the memory budget.
    fn deliver(&mut self, key: FlowKey, src_is_lo: bool, seg: &TcpSegment<'_>) {
        let frame = self.frame;
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        let sink = &mut self.sink;
        if seg.flags & TCP_ACK != 0 {
            // The other direction's hole, if this ACK shows it was delivered.
            with_stream(sink, flow, !src_is_lo, frame, |st, d| {
                st.peer_acked(seg.ack, d)
            });
        }
        if !seg.payload.is_empty() || seg.payload_len > 0 {
            // A SYN can carry data (TFO); its payload starts at seq+1.
            let seq = if seg.flags & TCP_SYN != 0 {
                seg.seq.wrapping_add(1)
            } else {
                seg.seq
            };
            with_stream(sink, flow, src_is_lo, frame, |st, d| {
                st.segment(seq, seg.payload, seg.payload_len, d)
            });
        }
        if flow.buffered() != flow.held {
            flow.account(&mut self.held);
            if self.held > self.max_held {
                self.stats.memory_sheds += 1;
                for from_lo in [true, false] {
                    with_stream(sink, flow, from_lo, frame, |st, d| st.shed(d));
                }
                flow.account(&mut self.held);
            }
        }
    }

    fn note_close(&mut self, key: FlowKey, src_is_lo: bool, flags: u8) {
        let frame = self.frame;
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        if flags & TCP_RST != 0 {
            flow.rst = true;
        }
        if flags & TCP_FIN != 0 {
            flow.stream(src_is_lo).fin = true;
        }
        if (flow.rst || (flow.from_lo.fin && flow.from_hi.fin)) && flow.closed_frame.is_none() {
            // Keep it a while: segments still arrive after FIN/RST
            // (retransmissions, reordering) and belong to this connection,
            // as they do in Wireshark's tcp.stream.
            flow.closed_frame = Some(frame);
            self.closed += 1;
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
                // A flow with work still out waits for the next sweep
                // (never a stall of the reader).
                let idle = self.sink.idle(&f.state);
                waiting |= !idle;
                idle.then_some((c, f.id, *k))
            })
            .collect();
        if waiting {
            self.collect(Collect::Flush);
        }
        // Reports in the order the connections closed, whatever the hash
        // table's order: the same output on every run.
        done.sort_unstable_by_key(|&(closed, id, _)| (closed, id));
        for (_, _, key) in done {
            if let Some(flow) = self.flows.remove(&key) {
                self.closed -= 1;
                self.retire(key, flow);
            }
        }
    }

    fn evict(&mut self) {
        self.collect(Collect::Wait);
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

    fn retire(&mut self, key: FlowKey, mut flow: Flow<S::State>) {
        self.held -= flow.held;
        if flow.kind != FlowKind::Smb {
            return;
        }
        self.sink.closing(&mut flow.state);
        // A message the capture ended inside belongs to the flow's last
        // frame, not to the frame being read when the flow is retired.
        let last = flow.last_frame;
        for from_lo in [true, false] {
            with_stream(&mut self.sink, &mut flow, from_lo, last, |st, d| {
                st.finish(d)
            });
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
        let end = FlowEnd {
            id: flow.id,
            client: client.into(),
            server: server.into(),
            closed: flow.rst || flow.from_lo.fin || flow.from_hi.fin,
            gap_bytes: flow.from_lo.gap_bytes + flow.from_hi.gap_bytes,
            resyncs: flow.from_lo.framer.resyncs + flow.from_hi.framer.resyncs,
            saw_smb: flow.saw_smb,
        };
        self.sink.retire(flow.state, end);
    }

    /// End of input: retire every flow still open, in order of first
    /// appearance.
    pub fn finish(&mut self) {
        self.collect(Collect::Wait);
        let mut rest: Vec<(FlowKey, Flow<S::State>)> = self.flows.drain().collect();
        self.closed = 0;
        rest.sort_by_key(|(_, f)| f.id);
        for (k, f) in rest {
            self.retire(k, f);
        }
    }
}

/// Whether a flow on a non-SMB port still may carry SMB, deciding it from
/// its first segments (false: it does not; drop its streams).
fn probe<T>(flow: &mut Flow<T>, src_is_lo: bool, seg: &TcpSegment<'_>) -> bool {
    let FlowKind::Probing(n) = flow.kind else {
        return true;
    };
    if seg.payload.is_empty() {
        return true;
    }
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
    flow.kind != FlowKind::NotSmb
}
