//! The flow sink that analyses: one `Connection` per TCP flow, SMB2 MACs
//! batched to the worker thread when verifying, and a report per
//! connection when its flow ends.

use super::macs::{self, MacWorker};
use crate::capture::{Collect, FlowEnd, FlowKey, FlowSink, FlowStates};
use crate::conn::{Connection, Direction};
use crate::posture::{ConnectionReport, Transport};
use crate::verify::{Credentials, MacBatch};
use crate::wire::Pdu;
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
    /// MACs of this flow out on the worker thread.
    macs_out: u32,
    /// Leaving the table: MACs are computed in line.
    in_line: bool,
}

/// The sink: connections, the MAC worker, finished reports.
pub struct Analysis {
    credentials: Option<Arc<Credentials>>,
    /// SMB2 MACs computed on a second thread: the worker, the batch being
    /// filled with the flow of each message, and emptied batches for reuse.
    macs: Option<MacWorker<Vec<FlowKey>>>,
    batch: MacBatch,
    batch_keys: Vec<FlowKey>,
    spare: Vec<macs::Answered<Vec<FlowKey>>>,
    pub(super) hook: Option<PduHook>,
    pub(super) finished: Vec<ConnectionReport>,
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
            hook: None,
            kdc: credentials
                .as_ref()
                .filter(|c| c.learns_from_kdc())
                .map(|_| Default::default()),
            credentials,
            finished: Vec::new(),
        }
    }

    /// Hand the batch being filled to the worker.
    fn flush(&mut self, flows: &mut dyn FlowStates<FlowAnalysis>) {
        let Some(w) = self.macs.as_mut() else {
            return;
        };
        if self.batch.is_empty() {
            return;
        }
        let (batch, keys, verdicts) = self.spare.pop().unwrap_or_default();
        let batch = std::mem::replace(&mut self.batch, batch);
        let keys = std::mem::replace(&mut self.batch_keys, keys);
        if let Err((batch, keys, mut verdicts)) = w.send(batch, keys, verdicts) {
            // The worker is gone: compute them here.
            verdicts.clear();
            batch.run(&mut Vec::new(), &mut verdicts);
            self.apply(flows, (batch, keys, verdicts));
        }
    }

    /// Count the verdicts of an answered batch.
    fn apply(
        &mut self,
        flows: &mut dyn FlowStates<FlowAnalysis>,
        (mut batch, mut keys, mut verdicts): macs::Answered<Vec<FlowKey>>,
    ) {
        for ((job, key), v) in batch.jobs().iter().zip(&keys).zip(&verdicts) {
            if let Some(flow) = flows.get(*key) {
                flow.macs_out -= 1;
                flow.conn.apply_mac_verdict(job.frame, job.session, *v);
            }
        }
        batch.clear();
        keys.clear();
        verdicts.clear();
        if self.spare.len() < 4 {
            self.spare.push((batch, keys, verdicts));
        }
    }
}

impl FlowSink for Analysis {
    type State = FlowAnalysis;

    fn open(&mut self, id: u64, key: FlowKey) -> FlowAnalysis {
        FlowAnalysis {
            conn: match &self.credentials {
                Some(c) => Connection::with_credentials(c.clone()),
                None => Connection::new(),
            },
            key,
            id,
            macs_out: 0,
            in_line: false,
        }
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
        if self.macs.is_none() || f.in_line {
            f.conn.on_message(dir, frame, pdu, None);
            return;
        }
        f.conn.lend_mac_batch(std::mem::take(&mut self.batch));
        f.conn.on_message(dir, frame, pdu, None);
        let batch = f.conn.return_mac_batch();
        let added = batch.len() - self.batch_keys.len();
        self.batch_keys.extend(std::iter::repeat_n(f.key, added));
        f.macs_out += added as u32;
        self.batch = batch;
    }

    fn collect(&mut self, flows: &mut dyn FlowStates<FlowAnalysis>, how: Collect) {
        if self.macs.is_none() {
            return;
        }
        let full =
            self.batch.byte_len() >= macs::BATCH_BYTES || self.batch.len() >= macs::BATCH_MESSAGES;
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
