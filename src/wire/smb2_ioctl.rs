//! SMB2 IOCTL (MS-SMB2 2.2.31/2.2.32) and the one control code smbsign
//! reads: FSCTL_VALIDATE_NEGOTIATE_INFO (2.2.31.4/2.2.32.6), with which
//! 3.0/3.0.2 clients check the NEGOTIATE after the session is signed.

use super::smb2::{Smb2Dialect, body_after_header};
use super::{WireError, WireResult, slice_at};
use nom::Parser as _;
use nom::bytes::complete::take;
use nom::multi::count;
use nom::number::complete::{le_u16, le_u32};

pub const FSCTL_VALIDATE_NEGOTIATE_INFO: u32 = 0x0014_0204;

/// An IOCTL request or response: its control code and buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb2IoctlRecord<'a> {
    pub ctl_code: u32,
    pub file_id: &'a [u8],
    pub input: &'a [u8],
    pub output: &'a [u8],
    pub flags: u32,
}

/// CtlCode, after the header and StructureSize (57 request, 49 response).
fn body(msg: &[u8], structure_size: u16) -> WireResult<'_, u32> {
    let (i, ()) = body_after_header(msg, structure_size, "SMB2 IOCTL StructureSize")?;
    let (i, _reserved) = le_u16.parse(i)?;
    le_u32.parse(i)
}

fn buffer(msg: &[u8], offset: u32, len: u32) -> Result<&[u8], nom::Err<WireError>> {
    if len == 0 {
        return Ok(&[]);
    }
    slice_at(msg, offset as usize, len as usize).map_err(nom::Err::Error)
}

/// Parse an IOCTL request (StructureSize 57); `msg` starts at the header.
pub fn parse_smb2_request_ioctl(msg: &[u8]) -> WireResult<'_, Smb2IoctlRecord<'_>> {
    let (i, ctl_code) = body(msg, 57)?;
    let (i, file_id) = take(16usize).parse(i)?;
    let (i, input_offset) = le_u32.parse(i)?;
    let (i, input_count) = le_u32.parse(i)?;
    let (i, _max_input_response) = le_u32.parse(i)?;
    let (i, output_offset) = le_u32.parse(i)?;
    let (i, output_count) = le_u32.parse(i)?;
    let (i, _max_output_response) = le_u32.parse(i)?;
    let (i, flags) = le_u32.parse(i)?;
    let (i, _reserved2) = le_u32.parse(i)?;
    Ok((
        i,
        Smb2IoctlRecord {
            ctl_code,
            file_id,
            input: buffer(msg, input_offset, input_count)?,
            output: buffer(msg, output_offset, output_count)?,
            flags,
        },
    ))
}

/// Parse an IOCTL response (StructureSize 49); `msg` starts at the header.
pub fn parse_smb2_response_ioctl(msg: &[u8]) -> WireResult<'_, Smb2IoctlRecord<'_>> {
    let (i, ctl_code) = body(msg, 49)?;
    let (i, file_id) = take(16usize).parse(i)?;
    let (i, input_offset) = le_u32.parse(i)?;
    let (i, input_count) = le_u32.parse(i)?;
    let (i, output_offset) = le_u32.parse(i)?;
    let (i, output_count) = le_u32.parse(i)?;
    let (i, flags) = le_u32.parse(i)?;
    let (i, _reserved2) = le_u32.parse(i)?;
    Ok((
        i,
        Smb2IoctlRecord {
            ctl_code,
            file_id,
            input: buffer(msg, input_offset, input_count)?,
            output: buffer(msg, output_offset, output_count)?,
            flags,
        },
    ))
}

/// VALIDATE_NEGOTIATE_INFO request: what the client says it sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateNegotiateRequestRecord<'a> {
    pub capabilities: u32,
    pub client_guid: &'a [u8],
    pub security_mode: u16,
    pub dialects: Vec<Smb2Dialect>,
}

/// VALIDATE_NEGOTIATE_INFO response: what the server says it answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidateNegotiateResponseRecord<'a> {
    pub capabilities: u32,
    pub server_guid: &'a [u8],
    pub security_mode: u16,
    pub dialect: Smb2Dialect,
}

/// The request's input buffer.
pub fn parse_validate_negotiate_request(
    i: &[u8],
) -> WireResult<'_, ValidateNegotiateRequestRecord<'_>> {
    let (i, capabilities) = le_u32.parse(i)?;
    let (i, client_guid) = take(16usize).parse(i)?;
    let (i, security_mode) = le_u16.parse(i)?;
    let (i, dialect_count) = le_u16.parse(i)?;
    // Each dialect takes two bytes: a count past the buffer is an error
    // before anything is allocated.
    if dialect_count as usize * 2 > i.len() {
        return Err(nom::Err::Error(WireError::Truncated));
    }
    let (i, dialects) = count(le_u16.map(Smb2Dialect), dialect_count as usize).parse(i)?;
    Ok((
        i,
        ValidateNegotiateRequestRecord {
            capabilities,
            client_guid,
            security_mode,
            dialects,
        },
    ))
}

/// The response's output buffer.
pub fn parse_validate_negotiate_response(
    i: &[u8],
) -> WireResult<'_, ValidateNegotiateResponseRecord<'_>> {
    let (i, capabilities) = le_u32.parse(i)?;
    let (i, server_guid) = take(16usize).parse(i)?;
    let (i, security_mode) = le_u16.parse(i)?;
    let (i, dialect) = le_u16.parse(i)?;
    Ok((
        i,
        ValidateNegotiateResponseRecord {
            capabilities,
            server_guid,
            security_mode,
            dialect: Smb2Dialect(dialect),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::unhex;

    /// attacks/control-smb30.pcap frames 14 and 15: Samba's smbclient
    /// validates a 3.0 negotiate with a signing-required smbd.
    #[test]
    fn validate_negotiate_from_real_bytes() {
        let request = unhex(
            "
            fe534d4240000100000000000b000100080000000000000004000000000000000000000079d00c92040569e900000000
            8f1bd7b636357f65cb74f6681a7181883900000004021400ffffffffffffffffffffffffffffffff780000001a000000
            0000000078000000000000001800000001000000000000007f000000760a2d2fda852145a31590d57a775bed01000100
            0003
            ",
        );
        let response = unhex(
            "
            fe534d4240000100000000000b000100090000000000000004000000000000000000000079d00c92040569e900000000
            cd2150cfff54ca7c1d00c532a35fe6243100000004021400ffffffffffffffffffffffffffffffff7000000000000000
            700000001800000000000000000000004f0000007467746d616e6400000000000000000003000003
            ",
        );
        let (_, q) = parse_smb2_request_ioctl(&request).unwrap();
        assert_eq!(q.ctl_code, FSCTL_VALIDATE_NEGOTIATE_INFO);
        let (_, v) = parse_validate_negotiate_request(q.input).unwrap();
        assert_eq!(v.capabilities, 0x7f);
        assert_eq!(v.security_mode, 0x01);
        assert_eq!(v.dialects, vec![Smb2Dialect(0x0300)]);
        assert_eq!(v.client_guid[..4], [0x76, 0x0a, 0x2d, 0x2f]);
        let (_, r) = parse_smb2_response_ioctl(&response).unwrap();
        assert_eq!(r.ctl_code, FSCTL_VALIDATE_NEGOTIATE_INFO);
        let (_, v) = parse_validate_negotiate_response(r.output).unwrap();
        assert_eq!((v.capabilities, v.security_mode), (0x4f, 0x03));
        assert_eq!(v.dialect, Smb2Dialect(0x0300));
        // A dialect count past the buffer, and a cut request.
        let mut bad = q.input.to_vec();
        bad[22] = 0xff;
        assert!(parse_validate_negotiate_request(&bad).is_err());
        assert!(parse_smb2_request_ioctl(&request[..100]).is_err());
    }
}
