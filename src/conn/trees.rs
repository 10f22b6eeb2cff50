//! TREE_CONNECTs of both dialects: the path the client asked for, the
//! share the server answered with, and the server names in the paths
//! (evidence for the target-name checks; the hosts view's names).

use super::model::{Connection, MAX_TREE_CONNECTS, TreeConnect};
use crate::wire::smb1::{
    self, Smb1HeaderRecord, parse_smb1_request_tree_connect, parse_smb1_response_tree_connect,
};
use crate::wire::smb2::{self, Smb2HeaderRecord};
use crate::wire::{NtStatus, utf16le_lossy};

/// Server names remembered from TREE_CONNECT paths.
pub const MAX_TREE_HOSTS: usize = 8;

impl Connection {
    /// An SMB2 TREE_CONNECT request, until its response.
    pub(super) fn on_smb2_tree_connect_request(
        &mut self,
        frame: u64,
        h: &Smb2HeaderRecord<'_>,
        msg: &[u8],
    ) {
        let Ok((_, path)) = smb2::parse_smb2_request_tree_connect(msg) else {
            return;
        };
        self.on_tree_connect_request(TreeConnect {
            request_frame: frame,
            message_id: h.message_id,
            session_id: h.session_id,
            path: utf16le_lossy(path),
            decrypted: self.decrypting,
            ..Default::default()
        });
    }

    /// An SMB2 TREE_CONNECT response: the share's type and flags.
    pub(super) fn on_smb2_tree_connect_response(
        &mut self,
        frame: u64,
        h: &Smb2HeaderRecord<'_>,
        msg: &[u8],
    ) {
        self.on_tree_connect_status(frame, h.status);
        let Some(t) = self.pending_tree_connect(h.message_id) else {
            return;
        };
        t.response_frame = Some(frame);
        t.status = Some(h.status);
        t.tree_id = h.tree_id();
        if let Ok((_, r)) = smb2::parse_smb2_response_tree_connect(msg) {
            t.share_type = Some(r.share_type);
            t.share_flags = Some(r.share_flags);
            self.encrypting_trees |= r.share_flags & smb2::SHARE_FLAG_ENCRYPT_DATA != 0;
        }
    }

    /// An SMB1 TREE_CONNECT_ANDX, alone or chained behind another command
    /// (`block` starts at its WordCount, `offset` bytes after the magic).
    pub(super) fn on_smb1_tree_connect(
        &mut self,
        frame: u64,
        h: &Smb1HeaderRecord<'_>,
        block: &[u8],
        offset: usize,
    ) {
        if !h.is_response() {
            if let Ok((_, r)) = parse_smb1_request_tree_connect(block, offset, h.unicode()) {
                self.on_tree_connect_request(TreeConnect {
                    request_frame: frame,
                    message_id: u64::from(h.mid),
                    session_id: u64::from(h.uid),
                    path: r.path,
                    ..Default::default()
                });
            }
            return;
        }
        self.on_tree_connect_status(frame, h.status);
        let Some(t) = self.pending_tree_connect(u64::from(h.mid)) else {
            return;
        };
        t.response_frame = Some(frame);
        t.status = Some(h.status);
        t.tree_id = Some(u32::from(h.tid));
        // An error response has no words: its status says it all.
        if let Ok((_, r)) = parse_smb1_response_tree_connect(block, offset, h.unicode()) {
            t.share_type = smb1::smb1_service_share_type(&r.service);
            t.service = Some(r.service);
        }
    }

    fn on_tree_connect_request(&mut self, t: TreeConnect) {
        let host = t
            .path
            .trim_start_matches('\\')
            .split('\\')
            .next()
            .unwrap_or("");
        if !host.is_empty()
            && self.tree_hosts.len() < MAX_TREE_HOSTS
            && !self.tree_hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
        {
            self.tree_hosts.push(host.to_owned());
        }
        if self.tree_connects.len() < MAX_TREE_CONNECTS {
            self.tree_connects.push(t);
        }
    }

    /// The latest request with this message id still waiting for its
    /// response.
    fn pending_tree_connect(&mut self, message_id: u64) -> Option<&mut TreeConnect> {
        self.tree_connects
            .iter_mut()
            .rev()
            .find(|t| t.message_id == message_id && t.response_frame.is_none())
    }

    /// STATUS_ACCESS_DENIED is the KB's "server requires, client disabled"
    /// symptom.
    fn on_tree_connect_status(&mut self, frame: u64, status: NtStatus) {
        if status == NtStatus::AccessDenied {
            self.tree_connect_denied_frame.get_or_insert(frame);
        } else if !status.is_error() {
            self.counts.tree_connects_ok += 1;
        }
    }
}
