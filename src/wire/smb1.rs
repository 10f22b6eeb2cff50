//! SMB1 / CIFS records (MS-CIFS 2.2, MS-SMB 2.2): the header, NEGOTIATE and
//! SESSION_SETUP_ANDX in both directions. Offsets in comments count from the
//! `FF 'SMB'` magic.

use super::{NtStatus, WireError, WireResult};
use nom::Parser as _;
use nom::bytes::complete::{tag, take};
use nom::number::complete::{le_u8, le_u16, le_u32, le_u64};
use rusticata_macros::newtype_enum;

pub const SMB1_HEADER_LEN: usize = 32;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Smb1Command(pub u8);

newtype_enum! {
impl debug Smb1Command {
    Close = 0x04,
    Echo = 0x2B,
    LockingAndx = 0x24,
    Transaction = 0x25,
    Transaction2 = 0x32,
    OpenAndx = 0x2D,
    ReadAndx = 0x2E,
    WriteAndx = 0x2F,
    TreeDisconnect = 0x71,
    Negotiate = 0x72,
    SessionSetupAndx = 0x73,
    LogoffAndx = 0x74,
    TreeConnectAndx = 0x75,
    NtTransact = 0xA0,
    NtCreateAndx = 0xA2,
    NtCancel = 0xA4,
}
}

/// SMB_Header.Flags
pub const SMB1_FLAGS_REPLY: u8 = 0x80;
/// SMB_Header.Flags2 (MS-CIFS 2.2.3.1)
pub const SMB1_FLAGS2_LONG_NAMES: u16 = 0x0001;
pub const SMB1_FLAGS2_SECURITY_SIGNATURE: u16 = 0x0004;
pub const SMB1_FLAGS2_SECURITY_SIGNATURE_REQUIRED: u16 = 0x0010;
pub const SMB1_FLAGS2_EXTENDED_SECURITY: u16 = 0x0800;
pub const SMB1_FLAGS2_NT_STATUS: u16 = 0x4000;
pub const SMB1_FLAGS2_UNICODE: u16 = 0x8000;

// NEGOTIATE SecurityMode bits: see `super::security`.

/// Server capability: the byte area holds a GUID and a SPNEGO blob.
pub const CAP_EXTENDED_SECURITY: u32 = 0x8000_0000;

/// SESSION_SETUP_ANDX response Action bit 0: logged on as guest.
pub const SMB_SETUP_GUEST: u16 = 0x0001;

/// The 32-byte SMB1 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb1HeaderRecord<'a> {
    pub command: Smb1Command,
    /// NT status, or DOS error class/code when Flags2 NT_STATUS is clear.
    pub status: NtStatus,
    pub flags: u8,
    pub flags2: u16,
    pub pid_high: u16,
    /// SecuritySignature at offset 14 (8 bytes).
    pub signature: &'a [u8],
    pub tid: u16,
    pub pid_low: u16,
    pub uid: u16,
    pub mid: u16,
}

impl Smb1HeaderRecord<'_> {
    pub fn is_response(&self) -> bool {
        self.flags & SMB1_FLAGS_REPLY != 0
    }
    pub fn is_signed(&self) -> bool {
        self.flags2 & SMB1_FLAGS2_SECURITY_SIGNATURE != 0
    }
    pub fn unicode(&self) -> bool {
        self.flags2 & SMB1_FLAGS2_UNICODE != 0
    }
}

/// Parse the SMB1 header; the rest starts at WordCount.
pub fn parse_smb1_header(i: &[u8]) -> WireResult<'_, Smb1HeaderRecord<'_>> {
    let (i, _magic) = tag(&b"\xffSMB"[..]).parse(i)?;
    let (i, command) = le_u8.parse(i)?;
    let (i, status) = le_u32.parse(i)?;
    let (i, flags) = le_u8.parse(i)?;
    let (i, flags2) = le_u16.parse(i)?;
    let (i, pid_high) = le_u16.parse(i)?;
    let (i, signature) = take(8usize).parse(i)?;
    let (i, _reserved) = le_u16.parse(i)?;
    let (i, tid) = le_u16.parse(i)?;
    let (i, pid_low) = le_u16.parse(i)?;
    let (i, uid) = le_u16.parse(i)?;
    let (i, mid) = le_u16.parse(i)?;
    Ok((
        i,
        Smb1HeaderRecord {
            command: Smb1Command(command),
            status: NtStatus(status),
            flags,
            flags2,
            pid_high,
            signature,
            tid,
            pid_low,
            uid,
            mid,
        },
    ))
}

/// Parameter words and data bytes that follow every SMB1 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb1BlockRecord<'a> {
    pub word_count: u8,
    pub words: &'a [u8],
    pub bytes: &'a [u8],
}

/// Parse WordCount, the words, ByteCount and the bytes. A byte area cut
/// short by the capture is returned as far as it goes (captures truncate
/// bodies; the header fields are still worth having).
pub fn parse_smb1_block(i: &[u8]) -> WireResult<'_, Smb1BlockRecord<'_>> {
    let (i, word_count) = le_u8.parse(i)?;
    let (i, words) = take(word_count as usize * 2).parse(i)?;
    let (i, byte_count) = le_u16.parse(i)?;
    let n = (byte_count as usize).min(i.len());
    let (i, bytes) = take(n).parse(i)?;
    Ok((
        i,
        Smb1BlockRecord {
            word_count,
            words,
            bytes,
        },
    ))
}

/// NEGOTIATE request: the dialect strings offered, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smb1NegotiateRequestRecord<'a> {
    pub dialects: Vec<&'a [u8]>,
}

impl Smb1NegotiateRequestRecord<'_> {
    /// A client offering "SMB 2.002" or "SMB 2.???" can be answered with SMB2.
    pub fn offers_smb2(&self) -> bool {
        self.dialects
            .iter()
            .any(|d| d.starts_with(b"SMB 2.002") || d.starts_with(b"SMB 2.???"))
    }
}

/// Parse the NEGOTIATE request body (after the header).
pub fn parse_smb1_request_negotiate(i: &[u8]) -> WireResult<'_, Smb1NegotiateRequestRecord<'_>> {
    let (rest, block) = parse_smb1_block(i)?;
    let mut dialects = Vec::new();
    let mut b = block.bytes;
    // Each dialect: BufferFormat 0x02, then a NUL-terminated OEM string.
    while let Some((&fmt, tail)) = b.split_first() {
        if fmt != 0x02 {
            return Err(nom::Err::Error(WireError::Malformed(
                "SMB1 NEGOTIATE dialect buffer format",
            )));
        }
        let end = tail.iter().position(|&c| c == 0).unwrap_or(tail.len());
        dialects.push(&tail[..end]);
        b = tail.get(end + 1..).unwrap_or(&[]);
    }
    Ok((rest, Smb1NegotiateRequestRecord { dialects }))
}

/// NEGOTIATE response, by WordCount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Smb1NegotiateResponseRecord<'a> {
    /// WordCount 17: NT LM 0.12.
    NtLm {
        dialect_index: u16,
        security_mode: u8,
        max_mpx_count: u16,
        max_number_vcs: u16,
        max_buffer_size: u32,
        max_raw_size: u32,
        session_key: u32,
        capabilities: u32,
        system_time: u64,
        server_time_zone: u16,
        challenge_length: u8,
        /// Challenge + domain (non-extended) or ServerGUID + SPNEGO blob.
        bytes: &'a [u8],
    },
    /// WordCount 13: LANMAN 1.0 / 2.x, 16-bit SecurityMode.
    Lanman {
        dialect_index: u16,
        security_mode: u16,
        bytes: &'a [u8],
    },
    /// WordCount 1: core protocol, or 0xFFFF "no dialect acceptable".
    Core { dialect_index: u16 },
    /// WordCount 0: an error response.
    Error,
}

impl Smb1NegotiateResponseRecord<'_> {
    pub fn dialect_index(&self) -> Option<u16> {
        match self {
            Self::NtLm { dialect_index, .. }
            | Self::Lanman { dialect_index, .. }
            | Self::Core { dialect_index } => Some(*dialect_index),
            Self::Error => None,
        }
    }
    /// SecurityMode as tshark's `smb.sm` shows it: 8 bits for NT LM 0.12,
    /// 16 bits for LANMAN.
    pub fn security_mode(&self) -> Option<u16> {
        match self {
            Self::NtLm { security_mode, .. } => Some(*security_mode as u16),
            Self::Lanman { security_mode, .. } => Some(*security_mode),
            _ => None,
        }
    }
    /// ServerGUID of an extended-security response (its first 16 bytes).
    pub fn server_guid(&self) -> Option<&[u8]> {
        match self {
            Self::NtLm {
                capabilities,
                bytes,
                ..
            } if capabilities & CAP_EXTENDED_SECURITY != 0 => bytes.get(..16),
            _ => None,
        }
    }
    /// The 8-byte challenge (EncryptionKey) of a response without extended
    /// security: the first ChallengeLength bytes of its data.
    pub fn challenge(&self) -> Option<[u8; 8]> {
        match self {
            Self::NtLm {
                capabilities,
                challenge_length: 8,
                bytes,
                ..
            } if capabilities & CAP_EXTENDED_SECURITY == 0 => bytes.get(..8)?.try_into().ok(),
            _ => None,
        }
    }
    /// The SPNEGO blob of an extended-security response.
    pub fn security_blob(&self) -> Option<&[u8]> {
        match self {
            Self::NtLm {
                capabilities,
                bytes,
                ..
            } if capabilities & CAP_EXTENDED_SECURITY != 0 => bytes.get(16..),
            _ => None,
        }
    }
}

/// Parse the NEGOTIATE response body (after the header).
pub fn parse_smb1_response_negotiate(i: &[u8]) -> WireResult<'_, Smb1NegotiateResponseRecord<'_>> {
    let (rest, block) = parse_smb1_block(i)?;
    let w = block.words;
    let rec = match block.word_count {
        17 => {
            let (w, dialect_index) = le_u16.parse(w)?;
            let (w, security_mode) = le_u8.parse(w)?;
            let (w, max_mpx_count) = le_u16.parse(w)?;
            let (w, max_number_vcs) = le_u16.parse(w)?;
            let (w, max_buffer_size) = le_u32.parse(w)?;
            let (w, max_raw_size) = le_u32.parse(w)?;
            let (w, session_key) = le_u32.parse(w)?;
            let (w, capabilities) = le_u32.parse(w)?;
            let (w, system_time) = le_u64.parse(w)?;
            let (w, server_time_zone) = le_u16.parse(w)?;
            let (_, challenge_length) = le_u8.parse(w)?;
            Smb1NegotiateResponseRecord::NtLm {
                dialect_index,
                security_mode,
                max_mpx_count,
                max_number_vcs,
                max_buffer_size,
                max_raw_size,
                session_key,
                capabilities,
                system_time,
                server_time_zone,
                challenge_length,
                bytes: block.bytes,
            }
        }
        13 => {
            let (w, dialect_index) = le_u16.parse(w)?;
            let (_, security_mode) = le_u16.parse(w)?;
            Smb1NegotiateResponseRecord::Lanman {
                dialect_index,
                security_mode,
                bytes: block.bytes,
            }
        }
        1 => {
            let (_, dialect_index) = le_u16.parse(w)?;
            Smb1NegotiateResponseRecord::Core { dialect_index }
        }
        0 => Smb1NegotiateResponseRecord::Error,
        _ => {
            return Err(nom::Err::Error(WireError::Malformed(
                "SMB1 NEGOTIATE response WordCount",
            )));
        }
    };
    Ok((rest, rec))
}

/// SESSION_SETUP_ANDX request, by WordCount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Smb1SessionSetupRequestRecord<'a> {
    /// WordCount 12: extended security, carries a SPNEGO/NTLMSSP/Kerberos blob.
    Extended {
        andx_command: u8,
        max_buffer_size: u16,
        max_mpx_count: u16,
        vc_number: u16,
        session_key: u32,
        capabilities: u32,
        security_blob: &'a [u8],
    },
    /// WordCount 13 (NT LM 0.12) or 10 (LANMAN): passwords and names in the clear structure.
    Plain {
        andx_command: u8,
        oem_password: &'a [u8],
        unicode_password: &'a [u8],
        account_name: String,
        primary_domain: String,
    },
}

/// Read a NUL-terminated string from an SMB1 byte area: UTF-16LE when
/// Flags2 UNICODE is set (aligned to an even offset from the header start),
/// OEM otherwise. Returns the string and the remaining bytes.
fn smb1_string(b: &[u8], unicode: bool, abs_off: usize) -> (String, &[u8]) {
    if unicode {
        let b = if abs_off % 2 == 1 {
            b.get(1..).unwrap_or(&[])
        } else {
            b
        };
        let mut end = 0;
        while end + 1 < b.len() && !(b[end] == 0 && b[end + 1] == 0) {
            end += 2;
        }
        let end = end.min(b.len() & !1);
        let s = super::utf16le_lossy(&b[..end]);
        (s, b.get(end + 2..).unwrap_or(&[]))
    } else {
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        let s = String::from_utf8_lossy(&b[..end]).into_owned();
        (s, b.get(end + 1..).unwrap_or(&[]))
    }
}

/// Parse the SESSION_SETUP_ANDX request body. `unicode` is Flags2 UNICODE.
pub fn parse_smb1_request_session_setup(
    i: &[u8],
    unicode: bool,
) -> WireResult<'_, Smb1SessionSetupRequestRecord<'_>> {
    let (rest, block) = parse_smb1_block(i)?;
    let w = block.words;
    let (w, andx_command) = le_u8.parse(w)?;
    let (w, _andx_reserved) = le_u8.parse(w)?;
    let (w, _andx_offset) = le_u16.parse(w)?;
    let (w, max_buffer_size) = le_u16.parse(w)?;
    let (w, max_mpx_count) = le_u16.parse(w)?;
    let (w, vc_number) = le_u16.parse(w)?;
    let (w, session_key) = le_u32.parse(w)?;
    let rec = match block.word_count {
        12 => {
            let (w, blob_len) = le_u16.parse(w)?;
            let (w, _reserved) = le_u32.parse(w)?;
            let (_, capabilities) = le_u32.parse(w)?;
            let n = (blob_len as usize).min(block.bytes.len());
            Smb1SessionSetupRequestRecord::Extended {
                andx_command,
                max_buffer_size,
                max_mpx_count,
                vc_number,
                session_key,
                capabilities,
                security_blob: &block.bytes[..n],
            }
        }
        13 | 10 => {
            let (w, oem_len) = le_u16.parse(w)?;
            let unicode_len = if block.word_count == 13 {
                let (w, unicode_len) = le_u16.parse(w)?;
                let (w, _reserved) = le_u32.parse(w)?;
                let (_, _capabilities) = le_u32.parse(w)?;
                unicode_len
            } else {
                0
            };
            let b = block.bytes;
            let oem_password = b.get(..oem_len as usize).unwrap_or(b);
            let b = b.get(oem_len as usize..).unwrap_or(&[]);
            let unicode_password = b.get(..unicode_len as usize).unwrap_or(b);
            let b = b.get(unicode_len as usize..).unwrap_or(&[]);
            // Absolute offset from the header start, for UTF-16 alignment.
            let base = SMB1_HEADER_LEN + 1 + block.word_count as usize * 2 + 2;
            let abs = |rest: &[u8]| base + block.bytes.len() - rest.len();
            let (account_name, b2) = smb1_string(b, unicode, abs(b));
            let b = b2;
            let (primary_domain, _) = smb1_string(b, unicode, abs(b));
            Smb1SessionSetupRequestRecord::Plain {
                andx_command,
                oem_password,
                unicode_password,
                account_name,
                primary_domain,
            }
        }
        _ => {
            return Err(nom::Err::Error(WireError::Malformed(
                "SMB1 SESSION_SETUP_ANDX request WordCount",
            )));
        }
    };
    Ok((rest, rec))
}

/// SESSION_SETUP_ANDX response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smb1SessionSetupResponseRecord<'a> {
    pub andx_command: u8,
    /// Action: bit 0 = guest.
    pub action: u16,
    /// Present with WordCount 4 (extended security).
    pub security_blob: Option<&'a [u8]>,
}

impl Smb1SessionSetupResponseRecord<'_> {
    pub fn is_guest(&self) -> bool {
        self.action & SMB_SETUP_GUEST != 0
    }
}

/// Parse the SESSION_SETUP_ANDX response body. An error response
/// (WordCount 0) has no Action and yields `Malformed` here; callers look at
/// the header status first.
pub fn parse_smb1_response_session_setup(
    i: &[u8],
) -> WireResult<'_, Smb1SessionSetupResponseRecord<'_>> {
    let (rest, block) = parse_smb1_block(i)?;
    let w = block.words;
    if block.word_count != 3 && block.word_count != 4 {
        return Err(nom::Err::Error(WireError::Malformed(
            "SMB1 SESSION_SETUP_ANDX response WordCount",
        )));
    }
    let (w, andx_command) = le_u8.parse(w)?;
    let (w, _andx_reserved) = le_u8.parse(w)?;
    let (w, _andx_offset) = le_u16.parse(w)?;
    let (w, action) = le_u16.parse(w)?;
    let security_blob = if block.word_count == 4 {
        let (_, blob_len) = le_u16.parse(w)?;
        let n = (blob_len as usize).min(block.bytes.len());
        Some(&block.bytes[..n])
    } else {
        None
    };
    Ok((
        rest,
        Smb1SessionSetupResponseRecord {
            andx_command,
            action,
            security_blob,
        },
    ))
}

/// TREE_CONNECT_ANDX request (MS-CIFS 2.2.4.55.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smb1TreeConnectRequestRecord<'a> {
    pub andx_command: u8,
    /// TREE_CONNECT_ANDX_* bits (disconnect TID, extended signatures,
    /// extended response).
    pub flags: u16,
    /// Share-level password (usually one NUL byte).
    pub password: &'a [u8],
    /// `\\server\share`, as the client sent it.
    pub path: String,
    /// The service asked for: "A:", "LPT1:", "IPC", "COMM" or "?????" (any).
    pub service: String,
}

/// Parse a TREE_CONNECT_ANDX request. `block` starts at its WordCount,
/// `offset` bytes after the header's magic (the path is aligned to an
/// even offset from there when `unicode`).
pub fn parse_smb1_request_tree_connect(
    block: &[u8],
    offset: usize,
    unicode: bool,
) -> WireResult<'_, Smb1TreeConnectRequestRecord<'_>> {
    let (rest, b) = parse_smb1_block(block)?;
    if b.word_count != 4 {
        return Err(nom::Err::Error(WireError::Malformed(
            "SMB1 TREE_CONNECT_ANDX request WordCount",
        )));
    }
    let (w, andx_command) = le_u8.parse(b.words)?;
    let (w, _andx_reserved) = le_u8.parse(w)?;
    let (w, _andx_offset) = le_u16.parse(w)?;
    let (w, flags) = le_u16.parse(w)?;
    let (_, password_len) = le_u16.parse(w)?;
    let (after, password) = take(password_len as usize).parse(b.bytes)?;
    let base = offset + 1 + 8 + 2;
    let abs = |rest: &[u8]| base + b.bytes.len() - rest.len();
    let (path, after_path) = smb1_string(after, unicode, abs(after));
    // The service is always OEM, whatever Flags2 says.
    let (service, _) = smb1_string(after_path, false, abs(after_path));
    Ok((
        rest,
        Smb1TreeConnectRequestRecord {
            andx_command,
            flags,
            password,
            path,
            service,
        },
    ))
}

/// TREE_CONNECT_ANDX response (MS-CIFS 2.2.4.55.2, WordCount 3, or 7 with
/// the extended response's access masks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smb1TreeConnectResponseRecord {
    pub andx_command: u8,
    /// SMB_SUPPORT_SEARCH_BITS, SMB_SHARE_IS_IN_DFS, caching bits, and
    /// SMB_EXTENDED_SIGNATURES.
    pub optional_support: u16,
    pub maximal_share_access: Option<u32>,
    pub guest_maximal_share_access: Option<u32>,
    /// The share's service: "A:" (disk), "LPT1:" (printer), "IPC" (named
    /// pipes) or "COMM" (serial device).
    pub service: String,
    /// NativeFileSystem ("NTFS", "FAT"…; empty for IPC).
    pub native_file_system: String,
}

/// Parse a successful TREE_CONNECT_ANDX response (an error response has
/// WordCount 0 and yields `Malformed`). `block`/`offset` as for the
/// request.
pub fn parse_smb1_response_tree_connect(
    block: &[u8],
    offset: usize,
    unicode: bool,
) -> WireResult<'_, Smb1TreeConnectResponseRecord> {
    let (rest, b) = parse_smb1_block(block)?;
    if b.word_count != 3 && b.word_count != 7 {
        return Err(nom::Err::Error(WireError::Malformed(
            "SMB1 TREE_CONNECT_ANDX response WordCount",
        )));
    }
    let (w, andx_command) = le_u8.parse(b.words)?;
    let (w, _andx_reserved) = le_u8.parse(w)?;
    let (w, _andx_offset) = le_u16.parse(w)?;
    let (w, optional_support) = le_u16.parse(w)?;
    let (maximal_share_access, guest_maximal_share_access) = if b.word_count == 7 {
        let (w, max) = le_u32.parse(w)?;
        let (_, guest) = le_u32.parse(w)?;
        (Some(max), Some(guest))
    } else {
        (None, None)
    };
    let base = offset + 1 + b.word_count as usize * 2 + 2;
    let abs = |rest: &[u8]| base + b.bytes.len() - rest.len();
    let (service, after) = smb1_string(b.bytes, false, 0);
    let (native_file_system, _) = smb1_string(after, unicode, abs(after));
    Ok((
        rest,
        Smb1TreeConnectResponseRecord {
            andx_command,
            optional_support,
            maximal_share_access,
            guest_maximal_share_access,
            service,
            native_file_system,
        },
    ))
}

/// The SMB2 share type an SMB1 service string names (None for "COMM" and
/// for the request's "?????").
pub fn smb1_service_share_type(service: &str) -> Option<super::smb2::ShareType> {
    use super::smb2::ShareType;
    match service {
        "A:" => Some(ShareType::Disk),
        "IPC" => Some(ShareType::Pipe),
        s if s.starts_with("LPT") => Some(ShareType::Print),
        _ => None,
    }
}

impl Smb1Command {
    /// Commands whose parameter words begin with AndXCommand, AndXReserved
    /// and AndXOffset (MS-CIFS 2.2.3.4), so another command can follow.
    pub fn is_andx(self) -> bool {
        matches!(
            self,
            Smb1Command::LockingAndx
                | Smb1Command::OpenAndx
                | Smb1Command::ReadAndx
                | Smb1Command::WriteAndx
                | Smb1Command::SessionSetupAndx
                | Smb1Command::LogoffAndx
                | Smb1Command::TreeConnectAndx
                | Smb1Command::NtCreateAndx
        )
    }
}

/// AndXCommand value that ends a chain.
pub const SMB1_ANDX_NONE: u8 = 0xFF;

/// Longest chain followed. Real clients chain two or three commands (a
/// LOCKING_ANDX + WRITE_ANDX + CLOSE, a SESSION_SETUP + TREE_CONNECT); the
/// cap bounds the work a hostile message can ask for.
pub const SMB1_MAX_ANDX_CHAIN: usize = 16;

/// One command of an AndX chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb1AndxLinkRecord<'a> {
    pub command: Smb1Command,
    /// Offset of its WordCount from the `FF 'SMB'` magic.
    pub offset: usize,
    /// Its block: WordCount, words, ByteCount and bytes (cut at the end of
    /// the message).
    pub block: &'a [u8],
}

/// The commands of one SMB1 message, the header's own first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smb1AndxChainRecord<'a> {
    pub links: Vec<Smb1AndxLinkRecord<'a>>,
    /// Why the walk stopped early: an AndXOffset pointing backwards, at its
    /// own block (a loop), past the end of the message, or a chain longer
    /// than [`SMB1_MAX_ANDX_CHAIN`]. The links before it are still good.
    pub error: Option<WireError>,
}

/// Walk the AndX chain of a message (`msg` starts at the magic; it may be
/// a prefix of a message `total` bytes long, when the capture path kept
/// only the start of a bulk WRITE: the walk then stops quietly where the
/// prefix does). Each AndXOffset must point forward, past the words of the
/// block that names it, so the walk always ends (Wireshark's packet-smb.c
/// refuses a backwards offset for the same reason).
pub fn parse_smb1_andx_chain(msg: &[u8], total: usize) -> Smb1AndxChainRecord<'_> {
    let total = total.max(msg.len());
    let mut links = Vec::new();
    let Ok((_, h)) = parse_smb1_header(msg) else {
        return Smb1AndxChainRecord {
            links,
            error: Some(WireError::Truncated),
        };
    };
    let mut command = h.command;
    let mut offset = SMB1_HEADER_LEN;
    loop {
        let block = &msg[offset..];
        links.push(Smb1AndxLinkRecord {
            command,
            offset,
            block,
        });
        // A response with WordCount 0 (an error) or a command without
        // AndX words ends the chain.
        let word_count = block.first().copied().unwrap_or(0) as usize;
        if !command.is_andx() || word_count < 2 {
            return Smb1AndxChainRecord { links, error: None };
        }
        let andx: WireResult<'_, (u8, u8, u16)> =
            (le_u8, le_u8, le_u16).parse(block.get(1..).unwrap_or(&[]));
        let next = match andx {
            Ok((_, (SMB1_ANDX_NONE, _, _))) => None,
            Ok((_, (cmd, _reserved, off))) => Some((Smb1Command(cmd), off as usize)),
            // Words cut by the end of a kept prefix: the rest was not kept.
            Err(_) if msg.len() < total => return Smb1AndxChainRecord { links, error: None },
            Err(e) => {
                return Smb1AndxChainRecord {
                    links,
                    error: Some(super::flatten(e)),
                };
            }
        };
        let Some((next_command, next_offset)) = next else {
            return Smb1AndxChainRecord { links, error: None };
        };
        let error = if next_offset <= offset + 1 + word_count * 2 {
            Some(WireError::Malformed("SMB1 AndXOffset points backwards"))
        } else if next_offset >= total {
            Some(WireError::Malformed("SMB1 AndXOffset past the end"))
        } else if next_offset >= msg.len() {
            return Smb1AndxChainRecord { links, error: None };
        } else if links.len() >= SMB1_MAX_ANDX_CHAIN {
            Some(WireError::Malformed("SMB1 AndX chain too long"))
        } else {
            None
        };
        if error.is_some() {
            return Smb1AndxChainRecord { links, error };
        }
        command = next_command;
        offset = next_offset;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::unhex;

    // tests/captures/smb1-mode7.pcap frame 4 (NBSS payload): smbclient
    // offering "NT LANMAN 1.0" and "NT LM 0.12".
    const NEGOTIATE_REQUEST: &str = "ff534d4272000000001843c80000000000000000000000000000feff00000000001b00024e54204c414e4d414e20312e3000024e54204c4d20302e313200";
    // tests/captures/smb1-mode7.pcap frame 6: Samba's NEGOTIATE response,
    // WordCount 17, SecurityMode 0x07 (the KB's "enabled, not required").
    const NEGOTIATE_RESPONSE_MODE7: &str = "ff534d4272000000008843c80000000000000000000000000000feff00000000110000073200010004410000000001004e2d0000fcf38080e65b87e5277ddd010000005a00736d626c616200000000000000000000604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f7265";
    // tests/captures/impacket-smb1.pcap frame 8: impacket's extended
    // security SESSION_SETUP_ANDX request carrying NTLMSSP NEGOTIATE.
    const SESSION_SETUP_REQUEST: &str = "ff534d427300000000180548000000000000000000000000ffff1c31000000000cff00000000f0020001000000000042000000000044c000804d00604006062b0601050502a0363034a00e300c060a2b06010401823702020aa22204204e544c4d5353500001000000358288e000000000000000000000000000000000556e69780053616d626100";

    // suricata-verify smb-eicar-andx/smbandx.pcap frame 24 (NBSS payload):
    // a LOCKING_ANDX + WRITE_ANDX + CLOSE response chain.
    const ANDX_CHAIN_RESPONSE: &str = "ff534d4224000000009843c80000000000000000000000000308090403080600022f002700000006040036004400ffff000000000000000000";

    #[test]
    fn andx_chain_of_three() {
        let msg = unhex(ANDX_CHAIN_RESPONSE);
        let chain = parse_smb1_andx_chain(&msg, msg.len());
        assert_eq!(chain.error, None);
        let got: Vec<_> = chain.links.iter().map(|l| (l.command, l.offset)).collect();
        assert_eq!(
            got,
            vec![
                (Smb1Command::LockingAndx, 32),
                (Smb1Command::WriteAndx, 39),
                (Smb1Command::Close, 54),
            ]
        );
        for cut in 0..msg.len() {
            let c = parse_smb1_andx_chain(&msg[..cut], cut);
            assert!(c.links.len() <= 3);
        }
    }

    #[test]
    fn andx_offsets_that_loop_or_leave_the_message_stop_the_walk() {
        let msg = unhex(ANDX_CHAIN_RESPONSE);
        // WRITE_ANDX's AndXOffset (message offset 42) pointed at itself,
        // back at the first block, just inside its own words, and past the end.
        for (off, why) in [
            (39u16, "SMB1 AndXOffset points backwards"),
            (32, "SMB1 AndXOffset points backwards"),
            (52, "SMB1 AndXOffset points backwards"),
            (57, "SMB1 AndXOffset past the end"),
            (0xFFFF, "SMB1 AndXOffset past the end"),
        ] {
            let mut m = msg.clone();
            m[42..44].copy_from_slice(&off.to_le_bytes());
            let chain = parse_smb1_andx_chain(&m, m.len());
            assert_eq!(chain.links.len(), 2, "offset {off}");
            assert_eq!(chain.error, Some(WireError::Malformed(why)), "offset {off}");
        }
        // Only a 40-byte prefix of the 57-byte message was kept: the walk
        // stops after the first link, without an error.
        let chain = parse_smb1_andx_chain(&msg[..40], msg.len());
        assert_eq!(chain.links.len(), 2);
        assert_eq!(chain.error, None);
        let chain = parse_smb1_andx_chain(&msg[..38], msg.len());
        assert_eq!(chain.links.len(), 1);
        assert_eq!(chain.error, None);
    }

    #[test]
    fn negotiate_request_dialects() {
        let msg = unhex(NEGOTIATE_REQUEST);
        let (body, h) = parse_smb1_header(&msg).unwrap();
        assert_eq!(h.command, Smb1Command::Negotiate);
        assert!(!h.is_response());
        let (_, r) = parse_smb1_request_negotiate(body).unwrap();
        assert_eq!(r.dialects, vec![&b"NT LANMAN 1.0"[..], &b"NT LM 0.12"[..]]);
        assert!(!r.offers_smb2());
    }

    #[test]
    fn negotiate_response_security_mode_7() {
        let msg = unhex(NEGOTIATE_RESPONSE_MODE7);
        let (body, h) = parse_smb1_header(&msg).unwrap();
        assert!(h.is_response());
        assert_eq!(h.signature, &[0u8; 8][..]);
        let (_, r) = parse_smb1_response_negotiate(body).unwrap();
        assert_eq!(r.dialect_index(), Some(0));
        assert_eq!(r.security_mode(), Some(7));
        let Smb1NegotiateResponseRecord::NtLm { capabilities, .. } = r else {
            panic!("not NT LM 0.12");
        };
        assert_ne!(capabilities & CAP_EXTENDED_SECURITY, 0);
        assert!(
            r.security_blob()
                .is_some_and(|b| b.starts_with(&[0x60, 0x48]))
        );
    }

    #[test]
    fn session_setup_request_extended_security() {
        let msg = unhex(SESSION_SETUP_REQUEST);
        let (body, h) = parse_smb1_header(&msg).unwrap();
        assert_eq!(h.command, Smb1Command::SessionSetupAndx);
        assert_eq!(
            h.flags2 & SMB1_FLAGS2_EXTENDED_SECURITY,
            SMB1_FLAGS2_EXTENDED_SECURITY
        );
        let (_, r) = parse_smb1_request_session_setup(body, h.unicode()).unwrap();
        let Smb1SessionSetupRequestRecord::Extended { security_blob, .. } = r else {
            panic!("not extended security");
        };
        assert_eq!(security_blob.len(), 0x42);
        assert!(crate::wire::ntlmssp::find_ntlmssp(security_blob).is_some());
        for cut in 0..body.len() {
            let _ = parse_smb1_request_session_setup(&body[..cut], true);
        }
    }

    // tests/captures/smb1-mode15.pcap frames 18 and 19 (NBSS payload):
    // smbclient's Unicode TREE_CONNECT_ANDX for \\127.0.0.1\SHARE, and
    // Samba's extended response (WordCount 7, "A:", NTFS).
    #[test]
    fn tree_connect_unicode_request_and_extended_response() {
        let req = unhex(
            "ff534d4275000000001843c800004e4cf6635ac003920000ffff6f2d5cb7060004ff00\
             00000c0001002b00005c005c003100320037002e0030002e0030002e0031005c0053\
             00480041005200450000003f3f3f3f3f00",
        );
        let (_, r) =
            parse_smb1_request_tree_connect(&req[SMB1_HEADER_LEN..], SMB1_HEADER_LEN, true)
                .expect("request");
        assert_eq!(r.path, "\\\\127.0.0.1\\SHARE");
        assert_eq!(r.service, "?????");
        assert_eq!(r.password, [0]);
        assert_eq!(r.flags, 0x000c);
        let resp = unhex(
            "ff534d4275000000008803c80000b4fd535ad843db1e0000bbfd6f2d5cb7060007ff00\
             00000100ff011f00000000000d00413a004e005400460053000000",
        );
        let (_, r) =
            parse_smb1_response_tree_connect(&resp[SMB1_HEADER_LEN..], SMB1_HEADER_LEN, true)
                .expect("response");
        assert_eq!(r.service, "A:");
        assert_eq!(r.native_file_system, "NTFS");
        assert_eq!(r.optional_support, 0x0001);
        assert_eq!(r.maximal_share_access, Some(0x001f01ff));
        assert_eq!(
            smb1_service_share_type(&r.service),
            Some(super::super::smb2::ShareType::Disk)
        );
    }

    // arkime tests/pcap/smb-smb1-ascii.pcap frames 15 and 16: an ASCII
    // client (Flags2 without UNICODE) connecting to IPC$, and the basic
    // response (WordCount 3).
    #[test]
    fn tree_connect_ascii_request_and_basic_response() {
        let req = unhex(
            "ff534d427500000000180728000090f0a3c7257ce18700000000727c0020a54404ff00\
             0000000001001800005c5c31302e31302e302e325c49504324003f3f3f3f3f00",
        );
        let (_, r) =
            parse_smb1_request_tree_connect(&req[SMB1_HEADER_LEN..], SMB1_HEADER_LEN, false)
                .expect("request");
        assert_eq!(r.path, "\\\\10.10.0.2\\IPC$");
        let resp = unhex(
            "ff534d4275000000009807280000bae66c1816f6367000000018727c0020a54403ff00\
             2e00010005004950430000",
        );
        let (_, r) =
            parse_smb1_response_tree_connect(&resp[SMB1_HEADER_LEN..], SMB1_HEADER_LEN, false)
                .expect("response");
        assert_eq!((r.service.as_str(), r.maximal_share_access), ("IPC", None));
        assert_eq!(
            smb1_service_share_type("IPC"),
            Some(super::super::smb2::ShareType::Pipe)
        );
        // An error response (WordCount 0) is refused by name.
        let err = parse_smb1_response_tree_connect(&[0, 0, 0], SMB1_HEADER_LEN, false);
        assert!(format!("{err:?}").contains("TREE_CONNECT_ANDX response WordCount"));
    }
}
