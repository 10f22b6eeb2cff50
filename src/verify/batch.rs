//! SMB2 messages whose MAC is computed away from the connection state (on
//! another thread, in batches): the message bytes copied into one buffer,
//! each with its session's keyed signer.

use super::mac::Smb2Signer;
use super::state::Verdict;
use std::sync::Arc;

/// SMB2 messages whose MAC is left to another thread: copies of the whole
/// messages in one buffer, each with its session's keyed signer. One buffer
/// for many messages keeps the hand-over cheap (most signed messages are
/// small: one allocation and one channel send per batch, not per message).
#[derive(Debug, Clone, Default)]
pub struct MacBatch {
    bytes: Vec<u8>,
    jobs: Vec<MacJob>,
}

/// One message of a `MacBatch`.
#[derive(Debug, Clone)]
pub struct MacJob {
    pub frame: u64,
    pub session: u64,
    signer: Arc<Smb2Signer>,
    range: std::ops::Range<usize>,
}

impl MacBatch {
    pub(crate) fn push(&mut self, frame: u64, session: u64, signer: Arc<Smb2Signer>, msg: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(msg);
        self.jobs.push(MacJob {
            frame,
            session,
            signer,
            range: start..self.bytes.len(),
        });
    }

    /// Messages in the batch.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Message bytes in the batch.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    pub fn jobs(&self) -> &[MacJob] {
        &self.jobs
    }

    /// Compute every verdict, in order, into `out`.
    pub fn run(&self, scratch: &mut Vec<u8>, out: &mut Vec<Verdict>) {
        for j in &self.jobs {
            let msg = &self.bytes[j.range.clone()];
            out.push(super::state::smb2_verdict(&j.signer, msg, scratch).0);
        }
    }

    /// Empty it, keeping the buffers (unless a very large message grew them).
    pub fn clear(&mut self) {
        self.bytes.clear();
        if self.bytes.capacity() > 4 * 1024 * 1024 {
            self.bytes = Vec::new();
        }
        self.jobs.clear();
    }
}
