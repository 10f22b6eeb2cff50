//! What a 3.0/3.0.2 client and server say about the NEGOTIATE after the
//! session is signed (FSCTL_VALIDATE_NEGOTIATE_INFO): evidence for the
//! tampering checks.

use super::model::Connection;
use crate::wire::smb2::{Smb2Dialect, Smb2HeaderRecord};
use crate::wire::smb2_ioctl::{
    FSCTL_VALIDATE_NEGOTIATE_INFO, parse_smb2_request_ioctl, parse_smb2_response_ioctl,
    parse_validate_negotiate_request, parse_validate_negotiate_response,
};
use crate::wire::{NtStatus, flatten};

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
}
