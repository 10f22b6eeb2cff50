//! SMB2/SMB3 records (MS-SMB2 2.2): sync/async header, NEGOTIATE with its
//! negotiate contexts, SESSION_SETUP, the 0xFD transform header and the 0xFC
//! compression header. Offsets count from the `FE 'SMB'` magic.

use super::{NtStatus, WireError, WireResult};
use nom::Parser as _;
use nom::bytes::complete::{tag, take};
use nom::number::complete::{le_u8, le_u16, le_u32, le_u64};
use rusticata_macros::newtype_enum;

pub const SMB2_HEADER_LEN: usize = 64;
/// Offset and length of the Signature field inside the header.
pub const SMB2_SIGNATURE_OFFSET: usize = 48;
pub const SMB2_SIGNATURE_LEN: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Smb2Command(pub u16);

newtype_enum! {
impl debug Smb2Command {
    Negotiate = 0x0000,
    SessionSetup = 0x0001,
    Logoff = 0x0002,
    TreeConnect = 0x0003,
    TreeDisconnect = 0x0004,
    Create = 0x0005,
    Close = 0x0006,
    Flush = 0x0007,
    Read = 0x0008,
    Write = 0x0009,
    Lock = 0x000A,
    Ioctl = 0x000B,
    Cancel = 0x000C,
    Echo = 0x000D,
    QueryDirectory = 0x000E,
    ChangeNotify = 0x000F,
    QueryInfo = 0x0010,
    SetInfo = 0x0011,
    OplockBreak = 0x0012,
}
}

/// Header Flags (MS-SMB2 2.2.1.2).
pub const SMB2_FLAGS_SERVER_TO_REDIR: u32 = 0x0000_0001;
pub const SMB2_FLAGS_ASYNC_COMMAND: u32 = 0x0000_0002;
pub const SMB2_FLAGS_RELATED_OPERATIONS: u32 = 0x0000_0004;
pub const SMB2_FLAGS_SIGNED: u32 = 0x0000_0008;

// NEGOTIATE / SESSION_SETUP SecurityMode bits: see `super::security`.

/// SESSION_SETUP response SessionFlags (MS-SMB2 2.2.6).
pub const SMB2_SESSION_FLAG_IS_GUEST: u16 = 0x0001;
pub const SMB2_SESSION_FLAG_IS_NULL: u16 = 0x0002;
pub const SMB2_SESSION_FLAG_ENCRYPT_DATA: u16 = 0x0004;
/// SESSION_SETUP request Flags.
pub const SMB2_SESSION_FLAG_BINDING: u8 = 0x01;

/// Global capability: encryption supported.
pub const SMB2_GLOBAL_CAP_ENCRYPTION: u32 = 0x0000_0040;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Smb2Dialect(pub u16);

newtype_enum! {
impl debug Smb2Dialect {
    Smb202 = 0x0202,
    Smb210 = 0x0210,
    Smb300 = 0x0300,
    Smb302 = 0x0302,
    Smb311 = 0x0311,
    Wildcard = 0x02FF,
}
}

impl Smb2Dialect {
    /// The dialect as people write it ("3.1.1"); None for the wildcard and
    /// unknown values.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::Smb202 => "2.0.2",
            Self::Smb210 => "2.1",
            Self::Smb300 => "3.0",
            Self::Smb302 => "3.0.2",
            Self::Smb311 => "3.1.1",
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NegotiateContextType(pub u16);

newtype_enum! {
impl debug NegotiateContextType {
    PreauthIntegrity = 0x0001,
    Encryption = 0x0002,
    Compression = 0x0003,
    Netname = 0x0005,
    Transport = 0x0006,
    Rdma = 0x0007,
    SigningCapabilities = 0x0008,
}
}

/// SIGNING_CAPABILITIES algorithm ids (MS-SMB2 2.2.3.1.7).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SigningAlgorithm(pub u16);

newtype_enum! {
impl debug SigningAlgorithm {
    HmacSha256 = 0,
    AesCmac = 1,
    AesGmac = 2,
}
}

impl SigningAlgorithm {
    pub fn name(self) -> &'static str {
        match self {
            Self::HmacSha256 => "HMAC-SHA256",
            Self::AesCmac => "AES-128-CMAC",
            Self::AesGmac => "AES-128-GMAC",
            _ => "unknown",
        }
    }
}

/// ENCRYPTION_CAPABILITIES cipher ids.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Cipher(pub u16);

newtype_enum! {
impl debug Cipher {
    Aes128Ccm = 1,
    Aes128Gcm = 2,
    Aes256Ccm = 3,
    Aes256Gcm = 4,
}
}

impl Cipher {
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes128Ccm => "AES-128-CCM",
            Self::Aes128Gcm => "AES-128-GCM",
            Self::Aes256Ccm => "AES-256-CCM",
            Self::Aes256Gcm => "AES-256-GCM",
            _ => "unknown",
        }
    }
}

/// The 64-byte SMB2 header, sync or async.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb2HeaderRecord<'a> {
    pub credit_charge: u16,
    /// Status in responses; ChannelSequence/Reserved in requests.
    pub status: NtStatus,
    pub command: Smb2Command,
    pub credit: u16,
    pub flags: u32,
    pub next_command: u32,
    pub message_id: u64,
    /// Sync: Reserved(4) + TreeId(4); async: AsyncId. Kept raw.
    pub tree_or_async_id: u64,
    pub session_id: u64,
    pub signature: &'a [u8],
}

impl Smb2HeaderRecord<'_> {
    pub fn is_response(&self) -> bool {
        self.flags & SMB2_FLAGS_SERVER_TO_REDIR != 0
    }
    pub fn is_signed(&self) -> bool {
        self.flags & SMB2_FLAGS_SIGNED != 0
    }
    pub fn is_async(&self) -> bool {
        self.flags & SMB2_FLAGS_ASYNC_COMMAND != 0
    }
    pub fn tree_id(&self) -> Option<u32> {
        (!self.is_async()).then_some((self.tree_or_async_id >> 32) as u32)
    }
}

/// Parse the SMB2 header; the rest starts at the command body.
pub fn parse_smb2_header(i: &[u8]) -> WireResult<'_, Smb2HeaderRecord<'_>> {
    let (i, _magic) = tag(&b"\xfeSMB"[..]).parse(i)?;
    let (i, structure_size) = le_u16.parse(i)?;
    if structure_size != 64 {
        return Err(nom::Err::Error(WireError::Malformed(
            "SMB2 header StructureSize",
        )));
    }
    let (i, credit_charge) = le_u16.parse(i)?;
    let (i, status) = le_u32.parse(i)?;
    let (i, command) = le_u16.parse(i)?;
    let (i, credit) = le_u16.parse(i)?;
    let (i, flags) = le_u32.parse(i)?;
    let (i, next_command) = le_u32.parse(i)?;
    let (i, message_id) = le_u64.parse(i)?;
    let (i, tree_or_async_id) = le_u64.parse(i)?;
    let (i, session_id) = le_u64.parse(i)?;
    let (i, signature) = take(16usize).parse(i)?;
    Ok((
        i,
        Smb2HeaderRecord {
            credit_charge,
            status: NtStatus(status),
            command: Smb2Command(command),
            credit,
            flags,
            next_command,
            message_id,
            tree_or_async_id,
            session_id,
            signature,
        },
    ))
}

/// Split a compound chain into its messages. Each item is the message's
/// bytes (to NextCommand, or to the end for the last). Stops with an error
/// item when NextCommand points backwards, inside the header, or past the
/// end; a chain can therefore never loop.
pub fn smb2_compound_iter(buf: &[u8]) -> Smb2CompoundIter<'_> {
    Smb2CompoundIter { buf, done: false }
}

pub struct Smb2CompoundIter<'a> {
    buf: &'a [u8],
    done: bool,
}

impl<'a> Iterator for Smb2CompoundIter<'a> {
    type Item = Result<&'a [u8], WireError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.buf.len() < SMB2_HEADER_LEN {
            self.done = true;
            return Some(Err(WireError::Truncated));
        }
        let next = super::le32(self.buf, 20) as usize;
        if next == 0 {
            self.done = true;
            return Some(Ok(self.buf));
        }
        if next < SMB2_HEADER_LEN {
            self.done = true;
            return Some(Err(WireError::Malformed("SMB2 NextCommand inside header")));
        }
        if next > self.buf.len() {
            // The rest of the chain lies beyond what we hold (a truncated
            // capture, or a prefix the capture layer chose to keep).
            self.done = true;
            return Some(Ok(self.buf));
        }
        let (this, rest) = self.buf.split_at(next);
        self.buf = rest;
        Some(Ok(this))
    }
}

/// One negotiate context, data borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NegotiateContextRecord<'a> {
    pub context_type: NegotiateContextType,
    pub data: &'a [u8],
}

/// Negotiate contexts as far as the message holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NegotiateContexts<'a> {
    pub list: Vec<NegotiateContextRecord<'a>>,
    /// The message ended before the last context announced (a capture with
    /// a short snaplen): `list` holds those before it.
    pub truncated: bool,
}

/// Parse `count` negotiate contexts at `offset` of `msg` (msg starts at the
/// SMB2 header). Each context starts 8-byte aligned relative to the header.
/// A message that ends early gives the contexts before the cut.
pub fn parse_negotiate_contexts(
    msg: &[u8],
    offset: usize,
    count: u16,
) -> Result<NegotiateContexts<'_>, WireError> {
    let mut out = NegotiateContexts {
        list: Vec::with_capacity(count.min(16) as usize),
        truncated: false,
    };
    let mut off = offset;
    for _ in 0..count {
        off = off
            .checked_add(7)
            .ok_or(WireError::Malformed("context offset"))?
            & !7;
        let context = super::slice_at(msg, off, 8).and_then(|hdr| {
            let len = super::le16(hdr, 2) as usize;
            Ok((
                NegotiateContextType(super::le16(hdr, 0)),
                super::slice_at(msg, off + 8, len)?,
            ))
        });
        match context {
            Ok((context_type, data)) => {
                out.list.push(NegotiateContextRecord { context_type, data });
                off += 8 + data.len();
            }
            Err(WireError::Truncated) => {
                out.truncated = true;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The list of u16 ids after a u16 count (signing and encryption contexts).
pub fn parse_context_id_list(data: &[u8]) -> Result<Vec<u16>, WireError> {
    let (rest, count) = le_u16::<_, WireError>.parse(data)?;
    let ids = super::slice_at(rest, 0, count as usize * 2)?;
    Ok(ids
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect())
}

/// NEGOTIATE request (StructureSize 36).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smb2NegotiateRequestRecord<'a> {
    pub security_mode: u16,
    pub capabilities: u32,
    pub client_guid: &'a [u8],
    pub dialects: Vec<Smb2Dialect>,
    pub contexts: NegotiateContexts<'a>,
}

/// Parse a NEGOTIATE request; `msg` starts at the SMB2 header. A message
/// cut short after its fixed part gives the dialects and contexts it holds.
pub fn parse_smb2_request_negotiate(msg: &[u8]) -> WireResult<'_, Smb2NegotiateRequestRecord<'_>> {
    let (i, ()) = body_after_header(msg, 36, "SMB2 NEGOTIATE request StructureSize")?;
    let (i, dialect_count) = le_u16.parse(i)?;
    let (i, security_mode) = le_u16.parse(i)?;
    let (i, _reserved) = le_u16.parse(i)?;
    let (i, capabilities) = le_u32.parse(i)?;
    let (i, client_guid) = take(16usize).parse(i)?;
    let (i, context_offset) = le_u32.parse(i)?;
    let (i, context_count) = le_u16.parse(i)?;
    let (i, _reserved2) = le_u16.parse(i)?;
    let raw = i.get(..dialect_count as usize * 2).unwrap_or(i);
    let i = &i[raw.len()..];
    let mut contexts_cut = raw.len() < dialect_count as usize * 2;
    let dialects: Vec<Smb2Dialect> = raw
        .chunks_exact(2)
        .map(|c| Smb2Dialect(u16::from_le_bytes([c[0], c[1]])))
        .collect();
    // Contexts exist only when 3.1.1 is offered; before that the same
    // bytes are ClientStartTime.
    let mut contexts = if dialects.contains(&Smb2Dialect::Smb311) && context_count > 0 {
        parse_negotiate_contexts(msg, context_offset as usize, context_count)
            .map_err(nom::Err::Error)?
    } else {
        NegotiateContexts::default()
    };
    contexts_cut |= contexts.truncated;
    contexts.truncated = contexts_cut;
    Ok((
        i,
        Smb2NegotiateRequestRecord {
            security_mode,
            capabilities,
            client_guid,
            dialects,
            contexts,
        },
    ))
}

/// NEGOTIATE response (StructureSize 65).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smb2NegotiateResponseRecord<'a> {
    pub security_mode: u16,
    pub dialect: Smb2Dialect,
    pub server_guid: &'a [u8],
    pub capabilities: u32,
    pub max_transact_size: u32,
    pub max_read_size: u32,
    pub max_write_size: u32,
    pub security_blob: &'a [u8],
    pub contexts: NegotiateContexts<'a>,
}

/// Parse a NEGOTIATE response; `msg` starts at the SMB2 header. A message
/// cut short after its fixed part gives the contexts it holds.
pub fn parse_smb2_response_negotiate(
    msg: &[u8],
) -> WireResult<'_, Smb2NegotiateResponseRecord<'_>> {
    let (i, ()) = body_after_header(msg, 65, "SMB2 NEGOTIATE response StructureSize")?;
    let (i, security_mode) = le_u16.parse(i)?;
    let (i, dialect) = le_u16.parse(i)?;
    let (i, context_count) = le_u16.parse(i)?;
    let (i, server_guid) = take(16usize).parse(i)?;
    let (i, capabilities) = le_u32.parse(i)?;
    let (i, max_transact_size) = le_u32.parse(i)?;
    let (i, max_read_size) = le_u32.parse(i)?;
    let (i, max_write_size) = le_u32.parse(i)?;
    let (i, _system_time) = le_u64.parse(i)?;
    let (i, _server_start_time) = le_u64.parse(i)?;
    let (i, blob_offset) = le_u16.parse(i)?;
    let (i, blob_len) = le_u16.parse(i)?;
    let (i, context_offset) = le_u32.parse(i)?;
    let security_blob = super::slice_at(msg, blob_offset as usize, blob_len as usize)
        .unwrap_or_else(|_| msg.get(blob_offset as usize..).unwrap_or(&[]));
    let dialect = Smb2Dialect(dialect);
    let contexts = if dialect == Smb2Dialect::Smb311 && context_count > 0 {
        parse_negotiate_contexts(msg, context_offset as usize, context_count)
            .map_err(nom::Err::Error)?
    } else {
        NegotiateContexts::default()
    };
    Ok((
        i,
        Smb2NegotiateResponseRecord {
            security_mode,
            dialect,
            server_guid,
            capabilities,
            max_transact_size,
            max_read_size,
            max_write_size,
            security_blob,
            contexts,
        },
    ))
}

/// SESSION_SETUP request (StructureSize 25).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb2SessionSetupRequestRecord<'a> {
    pub flags: u8,
    pub security_mode: u8,
    pub capabilities: u32,
    pub channel: u32,
    pub previous_session_id: u64,
    pub security_blob: &'a [u8],
}

/// Parse a SESSION_SETUP request; `msg` starts at the SMB2 header. A blob
/// cut short by the capture is returned as far as it goes.
pub fn parse_smb2_request_session_setup(
    msg: &[u8],
) -> WireResult<'_, Smb2SessionSetupRequestRecord<'_>> {
    let (i, ()) = body_after_header(msg, 25, "SMB2 SESSION_SETUP request StructureSize")?;
    let (i, flags) = le_u8.parse(i)?;
    let (i, security_mode) = le_u8.parse(i)?;
    let (i, capabilities) = le_u32.parse(i)?;
    let (i, channel) = le_u32.parse(i)?;
    let (i, blob_offset) = le_u16.parse(i)?;
    let (i, blob_len) = le_u16.parse(i)?;
    let (i, previous_session_id) = le_u64.parse(i)?;
    let security_blob = blob_at(msg, blob_offset, blob_len);
    Ok((
        i,
        Smb2SessionSetupRequestRecord {
            flags,
            security_mode,
            capabilities,
            channel,
            previous_session_id,
            security_blob,
        },
    ))
}

/// SESSION_SETUP response (StructureSize 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb2SessionSetupResponseRecord<'a> {
    pub session_flags: u16,
    pub security_blob: &'a [u8],
}

/// Parse a SESSION_SETUP response; `msg` starts at the SMB2 header.
pub fn parse_smb2_response_session_setup(
    msg: &[u8],
) -> WireResult<'_, Smb2SessionSetupResponseRecord<'_>> {
    let (i, ()) = body_after_header(msg, 9, "SMB2 SESSION_SETUP response StructureSize")?;
    let (i, session_flags) = le_u16.parse(i)?;
    let (i, blob_offset) = le_u16.parse(i)?;
    let (i, blob_len) = le_u16.parse(i)?;
    let security_blob = blob_at(msg, blob_offset, blob_len);
    Ok((
        i,
        Smb2SessionSetupResponseRecord {
            session_flags,
            security_blob,
        },
    ))
}

/// TREE_CONNECT request (StructureSize 9): the UTF-16LE path
/// `\\server\share`, clipped to what the capture holds.
pub fn parse_smb2_request_tree_connect(msg: &[u8]) -> WireResult<'_, &[u8]> {
    let (i, ()) = body_after_header(msg, 9, "SMB2 TREE_CONNECT request StructureSize")?;
    let (i, _flags) = le_u16.parse(i)?;
    let (i, path_offset) = le_u16.parse(i)?;
    let (i, path_len) = le_u16.parse(i)?;
    Ok((i, blob_at(msg, path_offset, path_len)))
}

/// TREE_CONNECT response (StructureSize 16), MS-SMB2 2.2.10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb2TreeConnectResponseRecord {
    pub share_type: ShareType,
    pub share_flags: u32,
    pub capabilities: u32,
    pub maximal_access: u32,
}

/// ShareType of a TREE_CONNECT response.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ShareType(pub u8);

newtype_enum! {
impl debug ShareType {
    Disk = 1,
    Pipe = 2,
    Print = 3,
}
}

impl ShareType {
    pub fn name(self) -> String {
        match self {
            Self::Disk => "disk".into(),
            Self::Pipe => "pipe".into(),
            Self::Print => "print".into(),
            ShareType(v) => format!("0x{v:02x}"),
        }
    }
}

/// ShareFlags bits smbsign reads (MS-SMB2 2.2.10).
pub const SHARE_FLAG_ENCRYPT_DATA: u32 = 0x0000_8000;

/// Parse a TREE_CONNECT response; `msg` starts at the SMB2 header.
pub fn parse_smb2_response_tree_connect(
    msg: &[u8],
) -> WireResult<'_, Smb2TreeConnectResponseRecord> {
    let (i, ()) = body_after_header(msg, 16, "SMB2 TREE_CONNECT response StructureSize")?;
    let (i, share_type) = le_u8.parse(i)?;
    let (i, _reserved) = le_u8.parse(i)?;
    let (i, share_flags) = le_u32.parse(i)?;
    let (i, capabilities) = le_u32.parse(i)?;
    let (i, maximal_access) = le_u32.parse(i)?;
    Ok((
        i,
        Smb2TreeConnectResponseRecord {
            share_type: ShareType(share_type),
            share_flags,
            capabilities,
            maximal_access,
        },
    ))
}

/// The body of a message after its header and StructureSize, which must
/// be `structure_size` (`what` names the field in the error).
pub(super) fn body_after_header<'a>(
    msg: &'a [u8],
    structure_size: u16,
    what: &'static str,
) -> WireResult<'a, ()> {
    let i = msg
        .get(SMB2_HEADER_LEN..)
        .ok_or(nom::Err::Error(WireError::Truncated))?;
    let (i, size) = le_u16.parse(i)?;
    if size != structure_size {
        return Err(nom::Err::Error(WireError::Malformed(what)));
    }
    Ok((i, ()))
}

/// A security buffer at (offset, length) from the header start, clipped to
/// what the capture holds; empty when the offset is outside the message.
fn blob_at(msg: &[u8], offset: u16, len: u16) -> &[u8] {
    let off = offset as usize;
    match msg.get(off..) {
        Some(rest) if off >= SMB2_HEADER_LEN => &rest[..(len as usize).min(rest.len())],
        _ => &[],
    }
}

/// SMB2 TRANSFORM_HEADER (0xFD, 52 bytes): an encrypted message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb2TransformHeaderRecord<'a> {
    pub signature: &'a [u8],
    pub nonce: &'a [u8],
    pub original_message_size: u32,
    /// Flags (3.1.1) / EncryptionAlgorithm (3.0.x); 0x0001 = encrypted.
    pub flags: u16,
    pub session_id: u64,
}

pub const SMB2_TRANSFORM_HEADER_LEN: usize = 52;

pub fn parse_smb2_transform_header(i: &[u8]) -> WireResult<'_, Smb2TransformHeaderRecord<'_>> {
    let (i, _magic) = tag(&b"\xfdSMB"[..]).parse(i)?;
    let (i, signature) = take(16usize).parse(i)?;
    let (i, nonce) = take(16usize).parse(i)?;
    let (i, original_message_size) = le_u32.parse(i)?;
    let (i, _reserved) = le_u16.parse(i)?;
    let (i, flags) = le_u16.parse(i)?;
    let (i, session_id) = le_u64.parse(i)?;
    Ok((
        i,
        Smb2TransformHeaderRecord {
            signature,
            nonce,
            original_message_size,
            flags,
            session_id,
        },
    ))
}

/// SMB2 COMPRESSION_TRANSFORM_HEADER (0xFC), unchained or chained form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb2CompressionHeaderRecord {
    pub original_compressed_segment_size: u32,
    pub compression_algorithm: u16,
    pub flags: u16,
    pub offset_or_length: u32,
}

pub fn parse_smb2_compression_header(i: &[u8]) -> WireResult<'_, Smb2CompressionHeaderRecord> {
    let (i, _magic) = tag(&b"\xfcSMB"[..]).parse(i)?;
    let (i, original_compressed_segment_size) = le_u32.parse(i)?;
    let (i, compression_algorithm) = le_u16.parse(i)?;
    let (i, flags) = le_u16.parse(i)?;
    let (i, offset_or_length) = le_u32.parse(i)?;
    Ok((
        i,
        Smb2CompressionHeaderRecord {
            original_compressed_segment_size,
            compression_algorithm,
            flags,
            offset_or_length,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tests/captures/smb311-gmac.pcap frame 19: the TREE_CONNECT response
    /// for `\\127.0.0.1\share` (share type 1 = disk, flags 0,
    /// maximal access 0x001f01ff).
    #[test]
    fn tree_connect_response_from_the_lab() {
        let msg = crate::verify::hex(
            "fe534d424000010000000000030001001900000000000000060000000000000000000000970e741a\
             8ec013c40000000029b8bd7d36b444354bedfa9fd9e8afff100001000000000000000000ff011f00",
        );
        let (_, r) = parse_smb2_response_tree_connect(&msg).unwrap();
        assert_eq!(r.share_type, ShareType::Disk);
        assert_eq!(r.share_flags, 0);
        assert_eq!(r.maximal_access, 0x001f_01ff);
        assert!(parse_smb2_response_tree_connect(&msg[..70]).is_err());
    }

    use crate::wire::unhex;

    // tests/captures/smb311-gmac.pcap frame 4 (NBSS payload): smbclient's
    // NEGOTIATE request offering 2.0.2 - 3.1.1 with four contexts.
    const NEGOTIATE_REQUEST_311: &str = "fe534d42400000000000000000001f0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000024000500010000007f000000bea39e6b49cc5a41a81e650c5322a12d70000000040000000202100200030203110300000100260000000000010020000100cfda27315e66cce65da22c22b7d04d9503aa2bc858e0349f1a79dbfb6d86e0e0000002000a0000000000040002000100040003000000000000000800080000000000030002000100000005001200000000003100320037002e0030002e0030002e003100";
    // tests/captures/smb311-gmac.pcap frame 6: Samba's NEGOTIATE response,
    // signing required, 3.1.1, SIGNING_CAPABILITIES selecting AES-GMAC.
    const NEGOTIATE_RESPONSE_311: &str = "fe534d424000000000000000000001000100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004100030011030300736d626c6162000000000000000000000f0000000000800000008000000080008a1056ef277ddd01000000000000000080004a00d0000000604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f72650000000000000100260000000000010020000100266d4afb1d0a62266b5c95939e10dd7136980ddc58d64681ced43fd1815e7f9a000002000400000000000100020000000000080004000000000001000200";
    // tests/captures/smb311-guest.pcap frame 11: SESSION_SETUP response
    // with SessionFlags IS_GUEST.
    const SESSION_SETUP_GUEST: &str = "fe534d4240000100000000000100002011000000000000000200000000000000000000000000000011fa4acd00000000000000000000000000000000000000000900010048000900a1073005a0030a0100";

    #[test]
    fn negotiate_request_311_from_smbclient() {
        let msg = unhex(NEGOTIATE_REQUEST_311);
        let (_, h) = parse_smb2_header(&msg).unwrap();
        assert_eq!(h.command, Smb2Command::Negotiate);
        assert!(!h.is_response());
        let (_, r) = parse_smb2_request_negotiate(&msg).unwrap();
        assert_eq!(
            r.security_mode,
            crate::wire::Smb2SecurityMode::SIGNING_ENABLED
        );
        assert_eq!(
            r.dialects,
            vec![
                Smb2Dialect::Smb202,
                Smb2Dialect::Smb210,
                Smb2Dialect::Smb300,
                Smb2Dialect::Smb302,
                Smb2Dialect::Smb311
            ]
        );
        let types: Vec<_> = r.contexts.list.iter().map(|c| c.context_type).collect();
        assert_eq!(
            types,
            vec![
                NegotiateContextType::PreauthIntegrity,
                NegotiateContextType::Encryption,
                NegotiateContextType::SigningCapabilities,
                NegotiateContextType::Netname
            ]
        );
        let signing = r.contexts.list[2].data;
        assert_eq!(parse_context_id_list(signing).unwrap(), vec![2, 1, 0]);
    }

    #[test]
    fn negotiate_response_311_selects_gmac() {
        let msg = unhex(NEGOTIATE_RESPONSE_311);
        let (_, r) = parse_smb2_response_negotiate(&msg).unwrap();
        assert_eq!(r.security_mode, 3);
        assert_eq!(r.dialect, Smb2Dialect::Smb311);
        assert_eq!(r.security_blob.len(), 0x4a);
        let signing = r
            .contexts
            .list
            .iter()
            .find(|c| c.context_type == NegotiateContextType::SigningCapabilities)
            .unwrap();
        assert_eq!(parse_context_id_list(signing.data).unwrap(), vec![2]);
        let cipher = r
            .contexts
            .list
            .iter()
            .find(|c| c.context_type == NegotiateContextType::Encryption)
            .unwrap();
        assert_eq!(parse_context_id_list(cipher.data).unwrap(), vec![2]);
        // Truncated anywhere: an error, never a panic.
        for cut in 0..msg.len() {
            let _ = parse_smb2_response_negotiate(&msg[..cut]);
        }
    }

    #[test]
    fn session_setup_response_guest_flag() {
        let msg = unhex(SESSION_SETUP_GUEST);
        let (_, h) = parse_smb2_header(&msg).unwrap();
        assert_eq!(h.session_id, 0xcd4a_fa11);
        let (_, r) = parse_smb2_response_session_setup(&msg).unwrap();
        assert_eq!(r.session_flags, SMB2_SESSION_FLAG_IS_GUEST);
    }

    // SESSION_SETUP response from MS-SMB2 / SMBLibrary SMB2SigningTests.cs
    // (the 3.0 CMAC known answer, docs/signing.md), signature field as sent.
    #[test]
    fn smb2_session_setup_response_vector() {
        let msg = unhex(
            "FE534D4240000100000000000100010009000000000000000200000000000000
             00000000000000004D00002000700000 73F2CC56093ED2B5D710666CE4282DD1
             0900000048000900A1073005A0030A0100",
        );
        let (_, h) = parse_smb2_header(&msg).unwrap();
        assert_eq!(h.command, Smb2Command::SessionSetup);
        assert!(h.is_response());
        assert!(h.is_signed());
        assert_eq!(h.message_id, 2);
        assert_eq!(h.session_id, 0x0000_7000_2000_004D);
        assert_eq!(h.signature, &unhex("73F2CC56093ED2B5D710666CE4282DD1")[..]);
        let (_, r) = parse_smb2_response_session_setup(&msg).unwrap();
        assert_eq!(r.session_flags, 0);
        assert_eq!(r.security_blob, &unhex("A1073005A0030A0100")[..]);
    }

    #[test]
    fn compound_iter_stops_on_bad_next_command() {
        let mut a = vec![0u8; 128];
        a[..4].copy_from_slice(b"\xfeSMB");
        a[20] = 8; // NextCommand inside the header
        let items: Vec<_> = smb2_compound_iter(&a).collect();
        assert_eq!(items.len(), 1);
        assert!(items[0].is_err());
        a[20] = 64;
        a[64..68].copy_from_slice(b"\xfeSMB");
        let items: Vec<_> = smb2_compound_iter(&a).collect();
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|r| r.is_ok()));
    }

    #[test]
    fn dialect_names_and_unknown_values_print() {
        assert_eq!(Smb2Dialect(0x0311).name(), Some("3.1.1"));
        assert_eq!(Smb2Dialect(0x02FF).name(), None);
        assert_eq!(
            format!("{:?}", Smb2Dialect(0x0222)),
            "Smb2Dialect(546 / 0x222)"
        );
        assert_eq!(SigningAlgorithm(2).name(), "AES-128-GMAC");
    }

    #[test]
    fn negotiate_contexts_bounds() {
        let mut msg = vec![0u8; 80];
        // one context at 64: type 8, len 4, data count=1 id=2
        msg[64] = 8;
        msg[66] = 4;
        msg[72] = 1;
        msg[74] = 2;
        let ctx = parse_negotiate_contexts(&msg, 64, 1).unwrap().list;
        assert_eq!(
            ctx[0].context_type,
            NegotiateContextType::SigningCapabilities
        );
        assert_eq!(parse_context_id_list(ctx[0].data).unwrap(), vec![2]);
        // A second context past the end: the first is kept, the cut said.
        let cut = parse_negotiate_contexts(&msg, 64, 2).unwrap();
        assert_eq!(cut.list.len(), 1);
        assert!(cut.truncated);
        assert!(!parse_negotiate_contexts(&msg, 64, 1).unwrap().truncated);
        assert!(parse_negotiate_contexts(&msg, usize::MAX - 3, 1).is_err());
    }
}
