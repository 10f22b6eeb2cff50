//! What a 3.0/3.0.2 client and server say about the NEGOTIATE after the
//! session is signed (FSCTL_VALIDATE_NEGOTIATE_INFO), and the server names
//! clients put in TREE_CONNECT paths: evidence for the tampering and
//! target-name checks.

use super::model::{Connection, MAX_TREE_CONNECTS, TreeConnect};
use crate::wire::smb2::{self, Smb2Dialect, Smb2HeaderRecord};
use crate::wire::smb2_ioctl::{
    FSCTL_VALIDATE_NEGOTIATE_INFO, parse_smb2_request_ioctl, parse_smb2_response_ioctl,
    parse_validate_negotiate_request, parse_validate_negotiate_response,
};
use crate::wire::{NtStatus, flatten, utf16le_lossy};

/// Server names remembered from TREE_CONNECT paths.
pub const MAX_TREE_HOSTS: usize = 8;

/// The client's VALIDATE_NEGOTIATE_INFO request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateRequest {
    pub frame: u64,
    pub capabilities: u32,
    pub client_guid: [u8; 16],
    pub security_mode: u16,
    pub dialects: Vec<Smb2Dialect>,
}

/// The server's VALIDATE_NEGOTIATE_INFO response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateResponse {
    pub frame: u64,
    pub capabilities: u32,
    pub server_guid: [u8; 16],
    pub security_mode: u16,
    pub dialect: Smb2Dialect,
}

/// Both halves, as far as seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidateNegotiate {
    pub request: Option<ValidateRequest>,
    pub response: Option<ValidateResponse>,
    /// The response carried an error status (no output to compare).
    pub response_status: Option<NtStatus>,
}

fn guid(b: &[u8]) -> [u8; 16] {
    b.try_into().unwrap_or_default()
}

impl Connection {
    /// An SMB2 IOCTL: only FSCTL_VALIDATE_NEGOTIATE_INFO is read.
    pub(super) fn on_smb2_ioctl(&mut self, frame: u64, h: &Smb2HeaderRecord<'_>, msg: &[u8]) {
        if h.is_response() {
            if h.status.is_error() {
                // An error response has no IOCTL body; it only matters
                // after a VALIDATE request.
                if self.validate.request.is_some() && self.validate.response.is_none() {
                    self.validate.response_status = Some(h.status);
                }
                return;
            }
            let Ok((_, r)) = parse_smb2_response_ioctl(msg) else {
                return;
            };
            if r.ctl_code != FSCTL_VALIDATE_NEGOTIATE_INFO {
                return;
            }
            match parse_validate_negotiate_response(r.output) {
                Ok((_, v)) => {
                    self.validate.response = Some(ValidateResponse {
                        frame,
                        capabilities: v.capabilities,
                        server_guid: guid(v.server_guid),
                        security_mode: v.security_mode,
                        dialect: v.dialect,
                    })
                }
                Err(e) => self.note_decode_error(frame, flatten(e)),
            }
            return;
        }
        let Ok((_, r)) = parse_smb2_request_ioctl(msg) else {
            return;
        };
        if r.ctl_code != FSCTL_VALIDATE_NEGOTIATE_INFO {
            return;
        }
        match parse_validate_negotiate_request(r.input) {
            Ok((_, v)) => {
                self.validate.request = Some(ValidateRequest {
                    frame,
                    capabilities: v.capabilities,
                    client_guid: guid(v.client_guid),
                    security_mode: v.security_mode,
                    dialects: v.dialects,
                })
            }
            Err(e) => self.note_decode_error(frame, flatten(e)),
        }
    }

    /// A TREE_CONNECT request: the server name of its `\\server\share`,
    /// and the tree connect until its response.
    pub(super) fn on_smb2_tree_connect_request(
        &mut self,
        frame: u64,
        h: &Smb2HeaderRecord<'_>,
        msg: &[u8],
    ) {
        let Ok((_, path)) = smb2::parse_smb2_request_tree_connect(msg) else {
            return;
        };
        let path = utf16le_lossy(path);
        if self.tree_connects.len() < MAX_TREE_CONNECTS {
            self.tree_connects.push(TreeConnect {
                request_frame: frame,
                message_id: h.message_id,
                session_id: h.session_id,
                path: path.clone(),
                decrypted: self.decrypting,
                ..Default::default()
            });
        }
        let host = path
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
    }

    /// A TREE_CONNECT response: the share it gave its request's tree
    /// connect (by message id).
    pub(super) fn on_smb2_tree_connect_response(
        &mut self,
        frame: u64,
        h: &Smb2HeaderRecord<'_>,
        msg: &[u8],
    ) {
        let Some(t) = self
            .tree_connects
            .iter_mut()
            .rev()
            .find(|t| t.message_id == h.message_id && t.response_frame.is_none())
        else {
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
}
