//! SMB2 messages whose MAC is computed, or whose TRANSFORM is decrypted,
//! away from the connection state (on another thread, in batches): the
//! message bytes copied into one buffer, each with its session's keyed
//! signer or cipher.

use super::decrypt::Decryptor;
use super::mac::Smb2Signer;
use super::state::Verdict;
use crate::wire::smb2::SMB2_TRANSFORM_HEADER_LEN;
use std::sync::Arc;

/// SMB2 messages whose MAC is left to another thread: copies of the whole
/// messages in one buffer, each with its session's keyed signer. One buffer
/// for many messages keeps the hand-over cheap (most signed messages are
/// small: one allocation and one channel send per batch, not per message).
#[derive(Debug, Clone, Default)]
pub struct MacBatch {
    bytes: Vec<u8>,
    jobs: Vec<MacJob>,
    /// Whole buffers taken from the reassembly instead of copied (a large
    /// message assembled from many segments): `Source::Owned` indexes it.
    owned: Vec<Vec<u8>>,
    /// The reassembly buffer on offer for the message being analysed
    /// (its address and length), and whether a job took it.
    donor: Option<(usize, usize)>,
    donor_taken: bool,
}

/// One message of a `MacBatch`.
#[derive(Debug, Clone)]
pub struct MacJob {
    pub frame: u64,
    pub session: u64,
    work: Work,
    /// In `bytes`, or in one of `owned`.
    source: Source,
    range: std::ops::Range<usize>,
}

#[derive(Debug, Clone, Copy)]
enum Source {
    Copied,
    Owned(usize),
}

/// What is done with a job's message.
#[derive(Debug, Clone)]
enum Work {
    /// Check its signature.
    Mac(Arc<Smb2Signer>),
    /// Check its AEAD tag and decrypt it where it lies (a TRANSFORM
    /// message whose body is this many bytes).
    Decrypt(Arc<Decryptor>, usize),
}

impl MacJob {
    /// A TRANSFORM message to decrypt (not a MAC to check).
    pub fn is_decrypt(&self) -> bool {
        matches!(self.work, Work::Decrypt(..))
    }
}

impl MacBatch {
    pub(crate) fn push(&mut self, frame: u64, session: u64, signer: Arc<Smb2Signer>, msg: &[u8]) {
        self.push_job(frame, session, Work::Mac(signer), msg);
    }

    /// A whole TRANSFORM message (`msg`, at least 52 + `original_size`
    /// bytes) to decrypt with `cipher`.
    pub(crate) fn push_transform(
        &mut self,
        frame: u64,
        session: u64,
        cipher: Arc<Decryptor>,
        msg: &[u8],
        original_size: usize,
    ) {
        let msg = &msg[..msg.len().min(SMB2_TRANSFORM_HEADER_LEN + original_size)];
        self.push_job(frame, session, Work::Decrypt(cipher, original_size), msg);
    }

    fn push_job(&mut self, frame: u64, session: u64, work: Work, msg: &[u8]) {
        // The message is the start of the buffer on offer: take it whole
        // (`adopt`) instead of copying. Address comparison only.
        if let Some((at, len)) = self.donor
            && !self.donor_taken
            && msg.as_ptr() as usize == at
            && msg.len() <= len
        {
            self.donor_taken = true;
            self.jobs.push(MacJob {
                frame,
                session,
                work,
                source: Source::Owned(self.owned.len()),
                range: 0..msg.len(),
            });
            return;
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(msg);
        self.jobs.push(MacJob {
            frame,
            session,
            work,
            source: Source::Copied,
            range: start..self.bytes.len(),
        });
    }

    /// Offer the buffer `buf` holds the message in: a job for a message
    /// at its start takes it (`donor_taken`), and the caller then hands
    /// the buffer over with `adopt` before anything else is pushed.
    pub fn offer(&mut self, buf: &[u8]) {
        self.donor = Some((buf.as_ptr() as usize, buf.len()));
        self.donor_taken = false;
    }

    /// Whether a job took the offered buffer; the offer ends.
    pub fn take_offer(&mut self) -> bool {
        self.donor = None;
        std::mem::take(&mut self.donor_taken)
    }

    /// The buffer a job took (see `offer`).
    pub fn adopt(&mut self, buf: Vec<u8>) {
        self.owned.push(buf);
    }

    /// The buffers taken, for reuse once the batch is done.
    pub fn take_owned(&mut self) -> impl Iterator<Item = Vec<u8>> + '_ {
        self.owned.drain(..)
    }

    fn bytes_of(&self, job: &MacJob) -> &[u8] {
        let buf = match job.source {
            Source::Copied => &self.bytes,
            Source::Owned(k) => self.owned.get(k).map_or(&[][..], Vec::as_slice),
        };
        buf.get(job.range.clone()).unwrap_or_default()
    }

    /// A decrypted job's plaintext (after `run` said `Valid`).
    pub fn plaintext(&self, job: &MacJob) -> &[u8] {
        match job.work {
            Work::Decrypt(_, size) => self
                .bytes_of(job)
                .get(SMB2_TRANSFORM_HEADER_LEN..SMB2_TRANSFORM_HEADER_LEN + size)
                .unwrap_or_default(),
            Work::Mac(_) => &[],
        }
    }

    /// Messages in the batch.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Message bytes in the batch (copied or taken).
    pub fn byte_len(&self) -> usize {
        self.bytes.len() + self.owned.iter().map(Vec::len).sum::<usize>()
    }

    pub fn jobs(&self) -> &[MacJob] {
        &self.jobs
    }

    /// Compute every verdict, in order, into `out`: a MAC's, or a
    /// TRANSFORM's tag (`Valid` leaves its plaintext in place, `Forged` is
    /// a tag that does not verify, `Unverifiable` a message cut short).
    pub fn run(&mut self, out: &mut Vec<Verdict>) {
        for j in &self.jobs {
            let buf = match j.source {
                Source::Copied => Some(&mut self.bytes),
                Source::Owned(k) => self.owned.get_mut(k),
            };
            let Some(msg) = buf.and_then(|b| b.get_mut(j.range.clone())) else {
                out.push(Verdict::Unverifiable);
                continue;
            };
            out.push(match &j.work {
                Work::Mac(signer) => super::state::smb2_verdict_in_place(signer, msg),
                Work::Decrypt(cipher, size) => match cipher.decrypt_in_place(msg, *size) {
                    Ok(()) => Verdict::Valid,
                    Err(super::decrypt::DecryptError::BadTag) => Verdict::Forged,
                    Err(super::decrypt::DecryptError::Truncated) => Verdict::Unverifiable,
                },
            });
        }
    }

    /// Empty it, keeping the buffers (unless a very large message grew them).
    pub fn clear(&mut self) {
        self.owned.clear();
        self.donor = None;
        self.donor_taken = false;
        self.bytes.clear();
        if self.bytes.capacity() > 4 * 1024 * 1024 {
            self.bytes = Vec::new();
        }
        self.jobs.clear();
    }
}
