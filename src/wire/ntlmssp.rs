//! NTLMSSP messages (MS-NLMP 2.2.1): NEGOTIATE, CHALLENGE, AUTHENTICATE.
//! Offsets inside a message count from the `NTLMSSP\0` signature; every
//! (length, offset) pair is checked against the message before slicing.

use super::{WireError, WireResult, slice_at};
use nom::Parser as _;
use nom::bytes::complete::{tag, take};
use nom::number::complete::{le_u16, le_u32};
use rusticata_macros::newtype_enum;

pub const NTLMSSP_SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// Where the NTLMSSP signature starts in `blob`. One searcher for the
/// process: building one per call showed in profiles (three calls per
/// session-setup blob).
pub fn signature_at(blob: &[u8]) -> Option<usize> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(NTLMSSP_SIGNATURE));
    FINDER.find(blob)
}

/// What a pair of challenge responses is (NTLMSSP AUTHENTICATE or SMB1
/// SESSION_SETUP_ANDX password fields), MS-NLMP 3.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResponseKinds {
    /// A 24-byte NT response: NTLMv1 (with or without extended session
    /// security).
    pub ntlmv1: bool,
    /// A real LM response: 24 bytes beside an NTLMv1 or no NT response,
    /// neither zero, nor a copy of the NT response (clients that have no LM
    /// hash send that), nor a client challenge padded with zeros (NTLMv1
    /// extended session security). Beside NTLMv2 the field is LMv2.
    pub lm: bool,
}

pub fn response_kinds(lm: &[u8], nt: &[u8]) -> ResponseKinds {
    let ntlmv1 = nt.len() == 24;
    let lm_real = lm.len() == 24 && nt.len() <= 24 && lm != nt && lm[8..].iter().any(|b| *b != 0);
    ResponseKinds {
        ntlmv1,
        lm: lm_real,
    }
}

/// NegotiateFlags bits (MS-NLMP 2.2.2.5).
pub const NTLMSSP_NEGOTIATE_UNICODE: u32 = 0x0000_0001;
pub const NTLMSSP_NEGOTIATE_SIGN: u32 = 0x0000_0010;
pub const NTLMSSP_NEGOTIATE_SEAL: u32 = 0x0000_0020;
pub const NTLMSSP_NEGOTIATE_LM_KEY: u32 = 0x0000_0080;
pub const NTLMSSP_NEGOTIATE_NTLM: u32 = 0x0000_0200;
pub const NTLMSSP_ANONYMOUS: u32 = 0x0000_0800;
pub const NTLMSSP_NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
pub const NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
pub const NTLMSSP_REQUEST_NON_NT_SESSION_KEY: u32 = 0x0040_0000;
pub const NTLMSSP_NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
pub const NTLMSSP_NEGOTIATE_VERSION: u32 = 0x0200_0000;
pub const NTLMSSP_NEGOTIATE_128: u32 = 0x2000_0000;
pub const NTLMSSP_NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
pub const NTLMSSP_NEGOTIATE_56: u32 = 0x8000_0000;

/// VERSION position in AUTHENTICATE (after the flags).
pub const NTLMSSP_VERSION_OFFSET: usize = 64;
/// MIC position in AUTHENTICATE (after the 8-byte Version).
pub const NTLMSSP_MIC_OFFSET: usize = 72;

/// AV_PAIR ids (MS-NLMP 2.2.2.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AvId(pub u16);

newtype_enum! {
impl debug AvId {
    Eol = 0,
    NbComputerName = 1,
    NbDomainName = 2,
    DnsComputerName = 3,
    DnsDomainName = 4,
    DnsTreeName = 5,
    Flags = 6,
    Timestamp = 7,
    SingleHost = 8,
    TargetName = 9,
    ChannelBindings = 10,
}
}

/// MsvAvFlags bits (MS-NLMP 2.2.2.1).
pub const MSV_AV_FLAG_ACCOUNT_CONSTRAINED: u32 = 0x1;
/// The AUTHENTICATE carries a MIC.
pub const MSV_AV_FLAG_MIC_PRESENT: u32 = 0x2;
pub const MSV_AV_FLAG_UNTRUSTED_SPN: u32 = 0x4;

/// One AV_PAIR: its id and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvPairRecord<'a> {
    pub id: AvId,
    pub value: &'a [u8],
}

/// An AV_PAIR list, up to MsvAvEOL (or the end of the buffer). A pair that
/// runs past the buffer ends the list: the ones before it still count.
pub fn parse_av_pairs(mut i: &[u8]) -> Vec<AvPairRecord<'_>> {
    // No list holds more ids than MS-NLMP defines, each once; the cap keeps
    // a hostile list from growing the vector.
    const MAX_PAIRS: usize = 32;
    // Room for the ten ids MS-NLMP defines: no regrowth in the common case.
    let mut out = Vec::with_capacity(12);
    while out.len() < MAX_PAIRS {
        let Ok((rest, (id, len))) = (le_u16::<_, WireError>, le_u16).parse(i) else {
            break;
        };
        let Ok((rest, value)) = take::<_, _, WireError>(len as usize).parse(rest) else {
            break;
        };
        if AvId(id) == AvId::Eol {
            break;
        }
        out.push(AvPairRecord {
            id: AvId(id),
            value,
        });
        i = rest;
    }
    out
}

/// The first pair with `id`.
pub fn av_value<'a>(pairs: &[AvPairRecord<'a>], id: AvId) -> Option<&'a [u8]> {
    pairs.iter().find(|p| p.id == id).map(|p| p.value)
}

/// An NTLMv2 response (MS-NLMP 2.2.2.8): NTProofStr, then the client's
/// blob (NTLMv2_CLIENT_CHALLENGE) whose AV pairs the proof covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtlmV2ResponseRecord<'a> {
    pub nt_proof_str: &'a [u8],
    pub resp_type: u8,
    pub hi_resp_type: u8,
    pub timestamp: u64,
    pub client_challenge: &'a [u8],
    pub av_pairs: Vec<AvPairRecord<'a>>,
}

/// Read an NtChallengeResponse as NTLMv2: longer than the 24 bytes of an
/// NTLMv1 response, and its blob starts with RespType 1, HiRespType 1.
pub fn parse_ntlmv2_response(nt: &[u8]) -> Option<NtlmV2ResponseRecord<'_>> {
    if nt.len() <= 24 {
        return None;
    }
    let parse = |i| -> WireResult<'_, NtlmV2ResponseRecord<'_>> {
        let (i, nt_proof_str) = take(16usize).parse(i)?;
        let (i, resp_type) = nom::number::complete::u8.parse(i)?;
        let (i, hi_resp_type) = nom::number::complete::u8.parse(i)?;
        let (i, _reserved1) = le_u16.parse(i)?;
        let (i, _reserved2) = le_u32.parse(i)?;
        let (i, timestamp) = nom::number::complete::le_u64.parse(i)?;
        let (i, client_challenge) = take(8usize).parse(i)?;
        let (i, _reserved3) = le_u32.parse(i)?;
        Ok((
            &[][..],
            NtlmV2ResponseRecord {
                nt_proof_str,
                resp_type,
                hi_resp_type,
                timestamp,
                client_challenge,
                av_pairs: parse_av_pairs(i),
            },
        ))
    };
    let (_, r) = parse(nt).ok()?;
    (r.resp_type == 1 && r.hi_resp_type == 1).then_some(r)
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NtlmsspMessageType(pub u32);

newtype_enum! {
impl debug NtlmsspMessageType {
    Negotiate = 1,
    Challenge = 2,
    Authenticate = 3,
}
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtlmsspNegotiateRecord {
    pub flags: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtlmsspChallengeRecord<'a> {
    pub target_name: &'a [u8],
    pub flags: u32,
    pub server_challenge: &'a [u8],
    pub target_info: &'a [u8],
    /// The VERSION at offset 48, when NEGOTIATE_VERSION is set and the
    /// payload starts after it.
    pub version: Option<NtlmVersion>,
}

/// The VERSION structure (MS-NLMP 2.2.2.10): the sender's Windows version
/// (`ProductMajorVersion`, `ProductMinorVersion`, `ProductBuild`) and its
/// NTLM revision. Eight bytes; the three reserved ones are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NtlmVersion {
    pub major: u8,
    pub minor: u8,
    pub build: u16,
    pub revision: u8,
}

impl NtlmVersion {
    pub fn parse(b: &[u8]) -> Option<Self> {
        let b: &[u8; 8] = b.get(..8)?.try_into().ok()?;
        Some(NtlmVersion {
            major: b[0],
            minor: b[1],
            build: u16::from_le_bytes([b[2], b[3]]),
            // b[4..7]: Reserved.
            revision: b[7],
        })
    }
}

impl std::fmt::Display for NtlmVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{} build {}", self.major, self.minor, self.build)
    }
}

/// VERSION position in CHALLENGE (after TargetInfoFields).
pub const NTLMSSP_CHALLENGE_VERSION_OFFSET: usize = 48;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtlmsspAuthenticateRecord<'a> {
    pub lm_response: &'a [u8],
    pub nt_response: &'a [u8],
    pub domain: &'a [u8],
    pub user: &'a [u8],
    pub workstation: &'a [u8],
    pub encrypted_random_session_key: &'a [u8],
    pub flags: u32,
    /// The 8-byte VERSION when the payload starts after it (offset 64).
    pub version: Option<&'a [u8]>,
    /// The 16-byte MIC when the message is long enough to hold one and the
    /// payload starts after it.
    pub mic: Option<&'a [u8]>,
    /// The whole message, for the MIC check.
    pub raw: &'a [u8],
}

impl NtlmsspAuthenticateRecord<'_> {
    pub fn unicode(&self) -> bool {
        self.flags & NTLMSSP_NEGOTIATE_UNICODE != 0
    }
    fn text(&self, b: &[u8]) -> String {
        if self.unicode() {
            super::utf16le_lossy(b)
        } else {
            String::from_utf8_lossy(b).into_owned()
        }
    }
    pub fn user_name(&self) -> String {
        self.text(self.user)
    }
    pub fn domain_name(&self) -> String {
        self.text(self.domain)
    }
    pub fn workstation_name(&self) -> String {
        self.text(self.workstation)
    }
    /// Anonymous per MS-NLMP 3.2.5.1.2: empty user name, empty NT response
    /// and an empty or single-zero-byte LM response. (A named user with no
    /// password is not anonymous: servers map it to guest or refuse it.)
    pub fn is_anonymous(&self) -> bool {
        self.user.is_empty()
            && self.nt_response.is_empty()
            && (self.lm_response.is_empty() || self.lm_response == [0])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NtlmsspRecord<'a> {
    Negotiate(NtlmsspNegotiateRecord),
    Challenge(NtlmsspChallengeRecord<'a>),
    Authenticate(NtlmsspAuthenticateRecord<'a>),
}

/// Read a (Len u16, MaxLen u16, Offset u32) field and slice it from `msg`.
fn security_buffer<'a>(msg: &'a [u8], i: &'a [u8]) -> WireResult<'a, &'a [u8]> {
    let (i, len) = le_u16.parse(i)?;
    let (i, _max_len) = le_u16.parse(i)?;
    let (i, offset) = le_u32.parse(i)?;
    if len == 0 {
        return Ok((i, &[]));
    }
    let data = slice_at(msg, offset as usize, len as usize).map_err(nom::Err::Error)?;
    Ok((i, data))
}

/// Parse one NTLMSSP message; `msg` starts at `NTLMSSP\0` and extends to the
/// end of the enclosing token (payload offsets are relative to its start).
pub fn parse_ntlmssp(msg: &[u8]) -> WireResult<'_, NtlmsspRecord<'_>> {
    let (i, _signature) = tag(&NTLMSSP_SIGNATURE[..]).parse(msg)?;
    let (i, message_type) = le_u32.parse(i)?;
    match NtlmsspMessageType(message_type) {
        NtlmsspMessageType::Negotiate => {
            let (i, flags) = le_u32.parse(i)?;
            Ok((
                i,
                NtlmsspRecord::Negotiate(NtlmsspNegotiateRecord { flags }),
            ))
        }
        NtlmsspMessageType::Challenge => {
            let (i, target_name) = security_buffer(msg, i)?;
            let (i, flags) = le_u32.parse(i)?;
            let (i, server_challenge) = take(8usize).parse(i)?;
            let (i, _reserved) = take(8usize).parse(i)?;
            // TargetInfo is absent in old (NTLMv1-era) challenges.
            let (i, target_info) = if i.len() >= 8 {
                security_buffer(msg, i)?
            } else {
                (i, &[][..])
            };
            // Version follows only when the flag says so and the payload
            // (target name, target info) starts after it.
            let payload_start = [target_name, target_info]
                .iter()
                .filter(|b| !b.is_empty())
                .map(|b| b.as_ptr() as usize - msg.as_ptr() as usize)
                .min()
                .unwrap_or(msg.len());
            let version = (flags & NTLMSSP_NEGOTIATE_VERSION != 0
                && payload_start >= NTLMSSP_CHALLENGE_VERSION_OFFSET + 8)
                .then(|| msg.get(NTLMSSP_CHALLENGE_VERSION_OFFSET..))
                .flatten()
                .and_then(NtlmVersion::parse);
            Ok((
                i,
                NtlmsspRecord::Challenge(NtlmsspChallengeRecord {
                    target_name,
                    flags,
                    server_challenge,
                    target_info,
                    version,
                }),
            ))
        }
        NtlmsspMessageType::Authenticate => {
            let (i, lm_response) = security_buffer(msg, i)?;
            let (i, nt_response) = security_buffer(msg, i)?;
            let (i, domain) = security_buffer(msg, i)?;
            let (i, user) = security_buffer(msg, i)?;
            let (i, workstation) = security_buffer(msg, i)?;
            let (i, encrypted_random_session_key) = security_buffer(msg, i)?;
            let (i, flags) = le_u32.parse(i)?;
            // The MIC exists when the payload begins at or after offset 88.
            let payload_start = [lm_response, nt_response, domain, user, workstation]
                .iter()
                .filter(|b| !b.is_empty())
                .map(|b| b.as_ptr() as usize - msg.as_ptr() as usize)
                .min()
                .unwrap_or(msg.len());
            let mic = (payload_start >= NTLMSSP_MIC_OFFSET + 16)
                .then(|| msg.get(NTLMSSP_MIC_OFFSET..NTLMSSP_MIC_OFFSET + 16))
                .flatten();
            let version = (payload_start >= NTLMSSP_VERSION_OFFSET + 8)
                .then(|| msg.get(NTLMSSP_VERSION_OFFSET..NTLMSSP_VERSION_OFFSET + 8))
                .flatten();
            Ok((
                i,
                NtlmsspRecord::Authenticate(NtlmsspAuthenticateRecord {
                    lm_response,
                    nt_response,
                    domain,
                    user,
                    workstation,
                    encrypted_random_session_key,
                    flags,
                    version,
                    mic,
                    raw: msg,
                }),
            ))
        }
        _ => Err(nom::Err::Error(WireError::Malformed("NTLMSSP MessageType"))),
    }
}

/// Find and parse the NTLMSSP message inside a security blob (raw or wrapped
/// in SPNEGO). None when the blob holds no NTLMSSP signature.
pub fn find_ntlmssp(blob: &[u8]) -> Option<Result<NtlmsspRecord<'_>, WireError>> {
    let pos = signature_at(blob)?;
    Some(
        parse_ntlmssp(&blob[pos..])
            .map(|(_, r)| r)
            .map_err(super::flatten),
    )
}

/// The exact NTLMSSP token inside a security blob, for the MIC (which covers
/// the messages byte for byte). In SPNEGO the token is a DER OCTET STRING
/// whose length bounds it; a raw token runs to the end of the blob.
pub fn ntlmssp_token(blob: &[u8]) -> Option<&[u8]> {
    let pos = signature_at(blob)?;
    let rest = &blob[pos..];
    let before = &blob[..pos];
    let len = match before {
        [.., 0x04, 0x82, hi, lo] => Some(u16::from_be_bytes([*hi, *lo]) as usize),
        [.., 0x04, 0x81, n] => Some(*n as usize),
        [.., 0x04, n] if *n < 0x80 => Some(*n as usize),
        _ => None,
    };
    Some(match len {
        Some(n) if n <= rest.len() => &rest[..n],
        _ => rest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth_message(user: &[u8], nt: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(NTLMSSP_SIGNATURE);
        m.extend_from_slice(&3u32.to_le_bytes());
        let payload = 88u32;
        let fields: [&[u8]; 6] = [&[], nt, b"D\0O\0M\0", user, &[], &[]];
        let mut off = payload;
        for f in fields {
            m.extend_from_slice(&(f.len() as u16).to_le_bytes());
            m.extend_from_slice(&(f.len() as u16).to_le_bytes());
            m.extend_from_slice(&off.to_le_bytes());
            off += f.len() as u32;
        }
        m.extend_from_slice(&(NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_SIGN).to_le_bytes());
        m.resize(88, 0xAA);
        for f in fields {
            m.extend_from_slice(f);
        }
        m
    }

    #[test]
    fn authenticate_fields_and_anonymous() {
        let m = auth_message(b"b\0o\0b\0", &[1u8; 40]);
        let Ok((_, NtlmsspRecord::Authenticate(a))) = parse_ntlmssp(&m) else {
            panic!("not an AUTHENTICATE")
        };
        assert_eq!(a.user_name(), "bob");
        assert_eq!(a.domain_name(), "DOM");
        assert_eq!(a.nt_response.len(), 40);
        assert_eq!(a.mic, Some(&[0xAA; 16][..]));
        assert!(!a.is_anonymous());
        let m = auth_message(b"b\0o\0b\0", b"");
        let Ok((_, NtlmsspRecord::Authenticate(a))) = parse_ntlmssp(&m) else {
            panic!("not an AUTHENTICATE")
        };
        assert!(
            !a.is_anonymous(),
            "a named user without password is not anonymous"
        );
        let m = auth_message(b"", b"");
        let Ok((_, NtlmsspRecord::Authenticate(a))) = parse_ntlmssp(&m) else {
            panic!("not an AUTHENTICATE")
        };
        assert!(a.is_anonymous());
    }

    #[test]
    fn token_bounded_by_its_octet_string() {
        let mut blob = vec![0xa1, 0x20, 0x04, 0x0c];
        blob.extend_from_slice(b"NTLMSSP\0\x01\0\0\0");
        blob.extend_from_slice(&[0xa3, 0x02, 0x00, 0x00]); // mechListMIC after it
        assert_eq!(ntlmssp_token(&blob).unwrap().len(), 12);
        assert_eq!(ntlmssp_token(b"NTLMSSP\0\x02\0\0\0xyz").unwrap().len(), 15);
    }

    #[test]
    fn offsets_outside_the_message_are_errors() {
        let mut m = auth_message(b"b\0o\0b\0", &[1u8; 40]);
        m[24] = 0xF0; // NtChallengeResponse offset far past the end
        assert!(parse_ntlmssp(&m).is_err());
        assert!(find_ntlmssp(b"no signature here").is_none());
    }

    /// attacks/relay-auto.pcap frame 21: the victim's (Samba smbclient's)
    /// AUTHENTICATE to the relay, in its SPNEGO blob.
    fn relay_auto_frame21() -> Vec<u8> {
        let hex: String = [
        "a18201923082018ea2820176048201724e544c4d53535000030000001800180058000000dc00dc007000000006000600",
        "4c0100000c000c0052010000040004005e010000100010006201000015820862060100000000000f8a7321c991787db5",
        "7bace95e874eb07d000000000000000000000000000000000000000000000000be906c359dc339df3e37b5d34a6bc11b",
        "01010000000000007426eecb9e82dd01ba998957eacb354f0000000002000e005400470054004100550054004f000100",
        "0e005400470054004100550054004f00040000000300040076006d00070008007426eecb9e82dd010600040002000000",
        "08003000300000000000000000000000000000001f54f713bce15bc9bd16051329540a9c177571599294e60b7e0419e6",
        "3cfd76dd0a0010000000000000000000000000000000000009001c0063006900660073002f00310030002e0039003900",
        "2e0030002e003200000000004c004100420073006d0062006c006100620056004d00406db818f0d61e6e2d8474b6be81",
        "8202a312041001000000558ba2b7920b577b00000000",
        ]
        .concat();
        crate::wire::unhex(&hex)
    }

    #[test]
    fn ntlmv2_av_pairs_version_and_mic_from_real_bytes() {
        let blob = relay_auto_frame21();
        let Some(Ok(NtlmsspRecord::Authenticate(a))) = find_ntlmssp(&blob) else {
            panic!("no AUTHENTICATE")
        };
        assert_eq!(a.flags, 0x6208_8215);
        assert!(a.version.is_some() && a.mic.is_some());
        let v2 = parse_ntlmv2_response(a.nt_response).expect("NTLMv2");
        assert_eq!(
            v2.nt_proof_str,
            [
                0xbe, 0x90, 0x6c, 0x35, 0x9d, 0xc3, 0x39, 0xdf, 0x3e, 0x37, 0xb5, 0xd3, 0x4a, 0x6b,
                0xc1, 0x1b
            ]
        );
        let target = av_value(&v2.av_pairs, AvId::TargetName).unwrap();
        assert_eq!(crate::wire::utf16le_lossy(target), "cifs/10.99.0.2");
        let flags = av_value(&v2.av_pairs, AvId::Flags).unwrap();
        assert_eq!(flags, 2u32.to_le_bytes(), "MsvAvFlags: MIC present");
        let nb = av_value(&v2.av_pairs, AvId::NbComputerName).unwrap();
        assert_eq!(crate::wire::utf16le_lossy(nb), "TGTAUTO");
    }

    /// The corpus's wireshark-wiki/SampleCaptures/smb-on-windows-10.pcapng
    /// frame 708: a Windows 10 1511 server's CHALLENGE (SPNEGO-wrapped).
    #[test]
    fn challenge_version_from_real_bytes() {
        let blob = crate::wire::unhex(concat!(
            "a182010b30820107a0030a0101a10c060a2b06010401823702020aa281f10481ee4e544c4d5353500002",
            "0000001e001e003800000015828ae20e71b47da48a95b9000000000000000098009800560000000a005a",
            "290000000f4400450053004b0054004f0050002d00560031004600410030005500510002001e00440045",
            "0053004b0054004f0050002d00560031004600410030005500510001001e004400450053004b0054004f",
            "0050002d00560031004600410030005500510004001e004400450053004b0054004f0050002d00560031",
            "004600410030005500510003001e004400450053004b0054004f0050002d005600310046004100300055",
            "0051000700080078a7ed218527d20100000000"
        ));
        let Some(Ok(NtlmsspRecord::Challenge(c))) = find_ntlmssp(&blob) else {
            panic!("no CHALLENGE")
        };
        let v = c.version.expect("VERSION");
        assert_eq!((v.major, v.minor, v.build, v.revision), (10, 0, 10586, 15));
        assert_eq!(v.to_string(), "10.0 build 10586");
        // Without NEGOTIATE_VERSION the same bytes are not a VERSION.
        let mut m = blob.clone();
        let at = signature_at(&m).unwrap() + 20 + 3;
        m[at] &= !0x02; // flags byte 3 holds 0x02000000
        let Some(Ok(NtlmsspRecord::Challenge(c))) = find_ntlmssp(&m) else {
            panic!("no CHALLENGE")
        };
        assert_eq!(c.version, None);
    }

    #[test]
    fn av_pairs_stop_at_a_pair_past_the_end() {
        // NbComputerName "A" (2 bytes), then a pair claiming 200 bytes.
        let list = [1, 0, 2, 0, b'A', 0, 3, 0, 200, 0, 1, 2];
        let pairs = parse_av_pairs(&list);
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].id, AvId::NbComputerName);
        assert!(
            parse_ntlmv2_response(&[0u8; 24]).is_none(),
            "24 bytes is NTLMv1"
        );
    }
}
