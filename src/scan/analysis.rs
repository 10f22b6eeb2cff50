//! The flow sink that analyses: one `Connection` per TCP flow, SMB2 MACs
//! batched to the worker thread when verifying, and a report per
//! connection when its flow ends.

use super::macs::{self, MacWorker};
use crate::capture::{Collect, FlowEnd, FlowKey, FlowSink, FlowStates};
use crate::conn::{Connection, Direction};
use crate::posture::{ConnectionReport, Transport};
use crate::verify::{Credentials, MacBatch, MacJob, Verdict};
use crate::wire::Pdu;
use crate::wire::nbss::SmbFamily;
use std::sync::Arc;

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

/// A flow's analysis state.
pub struct FlowAnalysis {
    conn: Connection,
    key: FlowKey,
    id: u64,
    /// MACs and decryptions of this flow out on the worker thread…
    macs_out: u32,
    /// …of which decryptions: their plaintext is analysed when it comes
    /// back, so the flow's other messages wait for it (below).
    decrypts_out: u32,
    /// Leaving the table: MACs are computed in line.
    in_line: bool,
    /// With `--decrypt-to`: where each TRANSFORM message of the flow lay
    /// (sender is the `lo` side, sequence number of its NBSS header, its
    /// length), by ordinal from `transforms_base`, until its outcome is in.
    transforms: std::collections::VecDeque<Option<(bool, Option<u32>, u64)>>,
    transforms_base: u64,
}

/// Emptied batches kept for reuse: as many as may be out, so that large
/// messages (bulk encrypted READs) do not make every batch a fresh
/// allocation, each page of it faulted in anew.
const SPARE_BATCHES: usize = macs::MAX_BATCHES_OUT + 2;

/// Reassembly buffers taken by batches and kept, once done, to give back:
/// as many as may be out, within the bytes that may be out.
const RECYCLED_BUFFERS: usize = macs::MAX_BATCHES_OUT;
const RECYCLED_BYTES: usize = macs::MAX_BYTES_OUT;

/// The sink: connections, the MAC worker, finished reports.
pub struct Analysis {
    credentials: Option<Arc<Credentials>>,
    /// SMB2 MACs computed on a second thread: the worker, the batch being
    /// filled with the flow of each message, and emptied batches for reuse.
    macs: Option<MacWorker<Vec<Option<FlowKey>>>>,
    batch: MacBatch,
    batch_keys: Vec<Option<FlowKey>>,
    spare: Vec<macs::Answered<Vec<Option<FlowKey>>>>,
    /// Batches answered while one flow waited for its decryptions: that
    /// flow's jobs are applied (their keys taken), the rest are applied
    /// at the next `collect`, before anything newer.
    held: std::collections::VecDeque<macs::Answered<Vec<Option<FlowKey>>>>,
    /// Whether the message `pdu` is given lies in a reassembly buffer on
    /// offer (`held_pdu`), whether a job took it, and emptied taken buffers to
    /// hand back to the reassembly in its place.
    offering: bool,
    offer_taken: bool,
    recycled: Vec<Vec<u8>>,
    pub(super) hook: Option<PduHook>,
    pub(super) finished: Vec<ConnectionReport>,
    /// With `--decrypt-to`: the plaintexts kept, and where the next PDU
    /// starts (`message_at`).
    pub(super) plaintexts: Option<super::decrypt_to::PlaintextLog>,
    next_at: (bool, Option<u32>),
    /// Kerberos tickets learnt from the KDC exchange as the capture is
    /// read, when a password is given (the exchange comes before the
    /// logon that uses its ticket).
    kdc: Option<crate::verify::kerberos::KdcLearner>,
}

impl Analysis {
    pub fn new(credentials: Option<Arc<Credentials>>, parallel_macs: bool) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let macs = (credentials.is_some() && parallel_macs && cores > 1)
            .then(MacWorker::spawn)
            .flatten();
        Analysis {
            macs,
            batch: MacBatch::default(),
            batch_keys: Vec::new(),
            spare: Vec::new(),
            held: Default::default(),
            offering: false,
            offer_taken: false,
            recycled: Vec::new(),
            hook: None,
            kdc: credentials
                .as_ref()
                .filter(|c| c.learns_from_kdc())
                .map(|_| Default::default()),
            credentials,
            finished: Vec::new(),
            plaintexts: None,
            next_at: (false, None),
        }
    }

    /// Hand the batch being filled to the worker (when the worker is gone
    /// it is computed here and applied at once).
    fn flush(&mut self, flows: &mut dyn FlowStates<FlowAnalysis>) {
        self.flush_without_table();
        while let Some(answered) = self.held.pop_front() {
            self.apply(flows, answered);
        }
    }

    /// Count the verdicts of an answered batch (and analyse the plaintext
    /// of its decryptions), for the flows still in the table.
    fn apply(
        &mut self,
        flows: &mut dyn FlowStates<FlowAnalysis>,
        (mut batch, mut keys, mut verdicts): macs::Answered<Vec<Option<FlowKey>>>,
    ) {
        for ((job, key), v) in batch.jobs().iter().zip(&keys).zip(&verdicts) {
            if let Some(flow) = key.and_then(|k| flows.get(k)) {
                flow.apply(&batch, job, *v);
                keep_plaintexts(&mut self.plaintexts, flow);
            }
        }
        for mut buf in batch.take_owned() {
            let kept: usize = self.recycled.iter().map(Vec::capacity).sum();
            if self.recycled.len() < RECYCLED_BUFFERS && kept + buf.capacity() <= RECYCLED_BYTES {
                buf.clear();
                self.recycled.push(buf);
            }
        }
        batch.clear();
        keys.clear();
        verdicts.clear();
        if self.spare.len() < SPARE_BATCHES {
            self.spare.push((batch, keys, verdicts));
        }
    }

    /// Before `f` takes a message that must follow its decrypted ones:
    /// wait for them and analyse them. Other flows' jobs in the same
    /// batches wait in `held` for the next `collect`.
    fn drain(&mut self, f: &mut FlowAnalysis) {
        if self.batch_keys.contains(&Some(f.key)) {
            // Its jobs may be in the batch being filled: send it.
            self.flush_without_table();
        }
        // Held batches first: they are older than anything still out.
        for (batch, keys, verdicts) in self.held.iter_mut() {
            take_jobs_of(f, batch, keys, verdicts);
        }
        keep_plaintexts(&mut self.plaintexts, f);
        while f.decrypts_out > 0 {
            let Some(mut answered) = self.macs.as_mut().and_then(|w| w.next(true)) else {
                break; // the worker died: its jobs are lost (counted as nothing)
            };
            take_jobs_of(f, &answered.0, &mut answered.1, &answered.2);
            keep_plaintexts(&mut self.plaintexts, f);
            self.held.push_back(answered);
        }
        f.decrypts_out = 0;
    }

    /// `flush` for when the table is not at hand: a batch the worker
    /// cannot take is computed here and held for the next `collect`.
    fn flush_without_table(&mut self) {
        let Some(w) = self.macs.as_mut() else {
            return;
        };
        if self.batch.is_empty() {
            return;
        }
        let (batch, keys, verdicts) = self.spare.pop().unwrap_or_default();
        let batch = std::mem::replace(&mut self.batch, batch);
        let keys = std::mem::replace(&mut self.batch_keys, keys);
        if let Err(back) = w.send(batch, keys, verdicts) {
            // The worker is gone: compute them here.
            let (mut batch, keys, mut verdicts) = *back;
            verdicts.clear();
            batch.run(&mut verdicts);
            self.held.push_back((batch, keys, verdicts));
        }
    }
}

/// With `--decrypt-to`: spill the plaintexts of `f`'s TRANSFORM messages
/// whose outcome came in, with where each lay.
fn keep_plaintexts(log: &mut Option<super::decrypt_to::PlaintextLog>, f: &mut FlowAnalysis) {
    let Some(log) = log.as_mut() else {
        return;
    };
    for (ordinal, plain) in f.conn.take_outcomes() {
        let slot = ordinal
            .checked_sub(f.transforms_base)
            .and_then(|i| f.transforms.get_mut(i as usize))
            .and_then(Option::take);
        if let (Some((from_lo, Some(seq), len)), Some(plain)) = (slot, plain) {
            let (from, to) = (f.key.endpoint(from_lo), f.key.endpoint(!from_lo));
            log.add(from, to, seq, len, &plain);
        }
    }
    while f.transforms.front().is_some_and(Option::is_none) {
        f.transforms.pop_front();
        f.transforms_base += 1;
    }
}

/// Apply `f`'s jobs of an answered batch, taking their keys.
fn take_jobs_of(
    f: &mut FlowAnalysis,
    batch: &MacBatch,
    keys: &mut [Option<FlowKey>],
    verdicts: &[Verdict],
) {
    for ((job, key), v) in batch.jobs().iter().zip(keys.iter_mut()).zip(verdicts) {
        if *key == Some(f.key) {
            *key = None;
            f.apply(batch, job, *v);
        }
    }
}

impl FlowAnalysis {
    /// One job's verdict: a MAC's, or a decryption's with its plaintext.
    fn apply(&mut self, batch: &MacBatch, job: &MacJob, v: Verdict) {
        self.macs_out -= 1;
        if job.is_decrypt() {
            self.decrypts_out = self.decrypts_out.saturating_sub(1);
            self.conn
                .apply_decrypted(job.frame, v, batch.plaintext(job));
        } else {
            self.conn.apply_mac_verdict(job.frame, job.session, v);
        }
    }
}

impl FlowSink for Analysis {
    type State = FlowAnalysis;

    fn open(&mut self, id: u64, key: FlowKey) -> FlowAnalysis {
        let mut conn = match &self.credentials {
            Some(c) => Connection::with_credentials(c.clone()),
            None => Connection::new(),
        };
        if self.plaintexts.is_some() {
            conn.keep_plaintexts();
        }
        FlowAnalysis {
            conn,
            key,
            id,
            macs_out: 0,
            decrypts_out: 0,
            in_line: false,
            transforms: Default::default(),
            transforms_base: 0,
        }
    }

    fn message_at(&mut self, _f: &mut FlowAnalysis, sender_is_lo: bool, seq: Option<u32>) {
        self.next_at = (sender_is_lo, seq);
    }

    fn pdu(&mut self, f: &mut FlowAnalysis, dir: Direction, frame: u64, pdu: Pdu<'_>) {
        if let Some(hook) = self.hook.as_mut() {
            hook(PduEvent {
                connection: f.id,
                direction: dir,
                frame,
                pdu: pdu.bytes,
            });
        }
        // Decrypted messages are analysed in order: only another TRANSFORM
        // of the flow may go out after them before they are in.
        if f.decrypts_out > 0 && (pdu.family != SmbFamily::Transform || f.in_line) {
            self.drain(f);
        }
        if self.plaintexts.is_some() && pdu.family == SmbFamily::Transform {
            let (from_lo, seq) = std::mem::take(&mut self.next_at);
            f.transforms
                .push_back(Some((from_lo, seq, pdu.total as u64)));
        }
        if self.macs.is_none() || f.in_line {
            f.conn.on_message(dir, frame, pdu, None);
            keep_plaintexts(&mut self.plaintexts, f);
            return;
        }
        let before = self.batch.len();
        if std::mem::take(&mut self.offering) {
            // `held_pdu`'s buffer: `pdu.bytes` is it.
            self.batch.offer(pdu.bytes);
        }
        f.conn.lend_mac_batch(std::mem::take(&mut self.batch));
        f.conn.on_message(dir, frame, pdu, None);
        keep_plaintexts(&mut self.plaintexts, f);
        let mut batch = f.conn.return_mac_batch();
        self.offer_taken = batch.take_offer();
        let added = batch.len() - before;
        self.batch_keys
            .extend(std::iter::repeat_n(Some(f.key), added));
        f.macs_out += added as u32;
        f.decrypts_out += batch.jobs()[before..]
            .iter()
            .filter(|j| j.is_decrypt())
            .count() as u32;
        self.batch = batch;
    }

    fn held_pdu(
        &mut self,
        f: &mut FlowAnalysis,
        dir: Direction,
        frame: u64,
        family: SmbFamily,
        buf: &mut Vec<u8>,
        total: usize,
    ) {
        // A job may take the whole buffer instead of copying the message.
        self.offering = true;
        self.offer_taken = false;
        let pdu = Pdu {
            family,
            bytes: buf,
            total,
        };
        self.pdu(f, dir, frame, pdu);
        self.offering = false;
        if std::mem::take(&mut self.offer_taken) {
            let empty = self.recycled.pop().unwrap_or_default();
            self.batch.adopt(std::mem::replace(buf, empty));
        }
    }

    fn empty_buffer(&mut self) -> Vec<u8> {
        self.recycled.pop().unwrap_or_default()
    }

    fn collect(&mut self, flows: &mut dyn FlowStates<FlowAnalysis>, how: Collect) {
        if self.macs.is_none() {
            return;
        }
        let full =
            self.batch.byte_len() >= macs::BATCH_BYTES || self.batch.len() >= macs::BATCH_MESSAGES;
        while let Some(answered) = self.held.pop_front() {
            self.apply(flows, answered);
        }
        if how != Collect::Poll || full {
            self.flush(flows);
        }
        while let Some(w) = self.macs.as_mut() {
            let block = how == Collect::Wait || w.over_budget();
            let Some(answered) = w.next(block) else {
                return;
            };
            self.apply(flows, answered);
        }
    }

    fn idle(&self, f: &FlowAnalysis) -> bool {
        f.macs_out == 0
    }

    fn closing(&mut self, f: &mut FlowAnalysis) {
        // What the streams still hold is verified in line: its verdicts
        // must be in before the report is written.
        f.in_line = true;
    }

    fn wants_kdc(&self) -> bool {
        self.kdc.is_some()
    }

    fn kdc(&mut self, _frame: u64, message: &[u8]) {
        if let (Some(learner), Some(creds)) = (self.kdc.as_mut(), self.credentials.as_ref()) {
            learner.learn(creds, message);
        }
    }

    fn retire(&mut self, mut f: FlowAnalysis, end: FlowEnd) {
        if !end.saw_smb {
            return; // no SMB message was ever seen
        }
        if end.closed {
            f.conn.on_close();
        }
        self.finished.push(ConnectionReport::build_final(
            &mut f.conn,
            Transport {
                gap_bytes: end.gap_bytes,
                resyncs: end.resyncs,
                ..Transport::of_sockets(end.client, end.server)
            },
        ));
    }
}
