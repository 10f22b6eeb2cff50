//! SMB2 MACs on a second thread. Verifying a capture is bound by the MAC
//! (HMAC-SHA256, AES-CMAC, AES-GMAC over every signed byte) and by reading
//! and reassembling the capture, in about equal parts; running them on two
//! cores overlaps the two. Batches go out in capture order to one worker
//! and come back in the same order, so per-connection tallies (and the
//! order of forged-frame lists) are what the in-line path gives.

use crate::verify::{MacBatch, Verdict};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// A batch is handed over once it holds this many message bytes…
pub const BATCH_BYTES: usize = 512 * 1024;
/// …or this many messages.
pub const BATCH_MESSAGES: usize = 1024;
/// Batches handed over and not yet answered, and their message bytes. Past
/// either the reader waits for verdicts, so memory stays bounded when the
/// MAC is the slower side (large messages make large batches: the byte
/// bound is the one that holds then).
pub const MAX_BATCHES_OUT: usize = 16;
pub const MAX_BYTES_OUT: usize = 16 * 1024 * 1024;

/// A batch coming back: its messages, the caller's tag, one verdict per
/// message.
pub type Answered<T> = (MacBatch, T, Vec<Verdict>);

/// The worker thread and the count of batches it holds.
pub struct MacWorker<T: Send + 'static> {
    jobs: Option<mpsc::Sender<(MacBatch, T, Vec<Verdict>)>>,
    results: mpsc::Receiver<Answered<T>>,
    thread: Option<JoinHandle<()>>,
    out: usize,
    bytes_out: usize,
}

impl<T: Send + 'static> MacWorker<T> {
    /// Start the worker; None when the thread cannot be spawned (the
    /// caller then verifies in line).
    pub fn spawn() -> Option<Self> {
        let (job_tx, job_rx) = mpsc::channel::<(MacBatch, T, Vec<Verdict>)>();
        let (res_tx, res_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("smbsign-mac".into())
            .spawn(move || {
                for (mut batch, tag, mut verdicts) in job_rx {
                    verdicts.clear();
                    batch.run(&mut verdicts);
                    if res_tx.send((batch, tag, verdicts)).is_err() {
                        return;
                    }
                }
            })
            .ok()?;
        Some(MacWorker {
            jobs: Some(job_tx),
            results: res_rx,
            thread: Some(thread),
            out: 0,
            bytes_out: 0,
        })
    }

    /// Hand a batch over (with a verdict vector to fill). Returns it back
    /// when the worker is gone.
    pub fn send(
        &mut self,
        batch: MacBatch,
        tag: T,
        verdicts: Vec<Verdict>,
    ) -> Result<(), Box<Answered<T>>> {
        let Some(tx) = self.jobs.as_ref() else {
            return Err(Box::new((batch, tag, verdicts)));
        };
        let bytes = batch.byte_len();
        match tx.send((batch, tag, verdicts)) {
            Ok(()) => {
                self.out += 1;
                self.bytes_out += bytes;
                Ok(())
            }
            Err(mpsc::SendError(back)) => Err(Box::new(back)),
        }
    }

    /// True when the reader should wait for verdicts before sending more.
    pub fn over_budget(&self) -> bool {
        self.out > MAX_BATCHES_OUT || self.bytes_out > MAX_BYTES_OUT
    }

    /// The next answered batch: waiting for it when `block`, else only if
    /// one is ready. None when there is none, or when the worker died (its
    /// batches are then lost: counted as nothing, never as forgeries).
    pub fn next(&mut self, block: bool) -> Option<Answered<T>> {
        if self.out == 0 {
            return None;
        }
        let r = if block {
            self.results.recv().ok()
        } else {
            self.results.try_recv().ok()
        };
        match &r {
            Some((batch, _, _)) => {
                self.out -= 1;
                self.bytes_out -= batch.byte_len();
            }
            None if block => {
                self.out = 0;
                self.bytes_out = 0;
            }
            None => {}
        }
        r
    }
}

impl<T: Send + 'static> Drop for MacWorker<T> {
    fn drop(&mut self) {
        self.jobs = None; // ends the worker's loop
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
