//! Link, network and transport headers: from a captured frame to a TCP
//! segment. Only what reassembly needs is decoded.

use rusticata_macros::newtype_enum;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Link types smbsign reads (pcap LINKTYPE_* values).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LinkType(pub i32);

newtype_enum! {
impl debug LinkType {
    Null = 0,
    Ethernet = 1,
    Raw = 101,
    Loop = 108,
    LinuxSll = 113,
    Ipv4 = 228,
    Ipv6 = 229,
    LinuxSll2 = 276,
}
}

impl LinkType {
    /// DLT_RAW is 12 or 14 on some BSDs in old files.
    pub fn normalise(self) -> Self {
        match self.0 {
            12 | 14 => LinkType::Raw,
            _ => self,
        }
    }
    pub fn supported(self) -> bool {
        matches!(
            self.normalise(),
            LinkType::Null
                | LinkType::Ethernet
                | LinkType::Raw
                | LinkType::Loop
                | LinkType::LinuxSll
                | LinkType::Ipv4
                | LinkType::Ipv6
                | LinkType::LinuxSll2
        )
    }
}

/// TCP flags smbsign looks at.
pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

/// A decoded TCP segment, payload borrowed from the frame.
#[derive(Debug, Clone, Copy)]
pub struct TcpSegment<'a> {
    pub src: (IpAddr, u16),
    pub dst: (IpAddr, u16),
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    /// Payload bytes present in the capture.
    pub payload: &'a [u8],
    /// Payload length the IP header claims (greater than `payload.len()`
    /// when the capture's snaplen cut the frame).
    pub payload_len: usize,
}

/// Why a frame did not yield a TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    NotIp,
    NotTcp,
    Fragment,
    Truncated,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88A8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

fn be16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(off)?, *b.get(off + 1)?]))
}

/// An IP packet's payload: its transport protocol's bytes.
#[derive(Debug, Clone, Copy)]
pub struct IpPayload<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPPROTO_TCP (6), IPPROTO_UDP (17)…
    pub protocol: u8,
    pub bytes: &'a [u8],
    /// The payload length the IP header claims.
    pub claimed: usize,
    /// Bytes of IP header before `bytes` (IPv6: with extension headers).
    pub header_len: usize,
}

const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// Decode a frame of the given link type down to TCP.
pub fn decode_frame(link: LinkType, frame: &[u8]) -> Result<TcpSegment<'_>, Skip> {
    let p = decode_ip(link, frame)?;
    if p.protocol != IPPROTO_TCP {
        return Err(Skip::NotTcp);
    }
    decode_tcp(p.src, p.dst, p.bytes, p.claimed)
}

/// Where a TCP segment's parts lie in its frame (byte offsets), for
/// rewriting it (`capture::rewrite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpLayout {
    pub ip_at: usize,
    pub ipv6: bool,
    pub tcp_at: usize,
    pub payload_at: usize,
    /// End of the payload present (Ethernet padding and cut bytes not in).
    pub payload_end: usize,
    /// Payload bytes the IP header claims (more than present when the
    /// snaplen cut the frame).
    pub payload_len: usize,
}

/// Decode a frame down to TCP, with where each part lies in it.
pub fn tcp_layout(link: LinkType, frame: &[u8]) -> Result<(TcpSegment<'_>, TcpLayout), Skip> {
    let p = decode_ip(link, frame)?;
    if p.protocol != IPPROTO_TCP {
        return Err(Skip::NotTcp);
    }
    let at = |sub: &[u8]| sub.as_ptr() as usize - frame.as_ptr() as usize;
    let tcp_at = at(p.bytes);
    let seg = decode_tcp(p.src, p.dst, p.bytes, p.claimed)?;
    let data_off = (p.bytes[12] >> 4) as usize * 4; // decode_tcp checked 20 bytes
    let payload_at = (tcp_at + data_off).min(frame.len());
    Ok((
        seg,
        TcpLayout {
            ip_at: tcp_at - p.header_len,
            ipv6: p.src.is_ipv6(),
            tcp_at,
            payload_at,
            payload_end: payload_at + seg.payload.len(),
            payload_len: seg.payload_len,
        },
    ))
}

/// A decoded UDP datagram, payload borrowed from the frame.
#[derive(Debug, Clone, Copy)]
pub struct UdpDatagram<'a> {
    pub src: (IpAddr, u16),
    pub dst: (IpAddr, u16),
    pub payload: &'a [u8],
}

/// Decode a frame of the given link type down to UDP (Kerberos on port
/// 88 is read this way; SMB never is).
pub fn decode_udp_frame(link: LinkType, frame: &[u8]) -> Result<UdpDatagram<'_>, Skip> {
    let p = decode_ip(link, frame)?;
    if p.protocol != IPPROTO_UDP {
        return Err(Skip::NotTcp);
    }
    let b = p.bytes;
    if b.len() < 8 {
        return Err(Skip::Truncated);
    }
    let len = (be16(b, 4).unwrap_or(0) as usize).clamp(8, b.len());
    Ok(UdpDatagram {
        src: (p.src, be16(b, 0).unwrap_or(0)),
        dst: (p.dst, be16(b, 2).unwrap_or(0)),
        payload: &b[8..len],
    })
}

/// Decode a frame of the given link type down to the IP payload.
fn decode_ip(link: LinkType, frame: &[u8]) -> Result<IpPayload<'_>, Skip> {
    match link.normalise() {
        LinkType::Ethernet => {
            let mut ethertype = be16(frame, 12).ok_or(Skip::Truncated)?;
            let mut off = 14;
            while matches!(
                ethertype,
                ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
            ) {
                ethertype = be16(frame, off + 2).ok_or(Skip::Truncated)?;
                off += 4;
            }
            decode_ethertype(ethertype, &frame[off.min(frame.len())..])
        }
        LinkType::LinuxSll => {
            let proto = be16(frame, 14).ok_or(Skip::Truncated)?;
            decode_ethertype(proto, frame.get(16..).ok_or(Skip::Truncated)?)
        }
        LinkType::LinuxSll2 => {
            let proto = be16(frame, 0).ok_or(Skip::Truncated)?;
            decode_ethertype(proto, frame.get(20..).ok_or(Skip::Truncated)?)
        }
        LinkType::Null | LinkType::Loop => {
            // 4-byte address family in host byte order of the capturing
            // machine (Null) or network order (Loop); IPv6 has several values.
            let b = frame.get(..4).ok_or(Skip::Truncated)?;
            let le = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let be = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            let rest = &frame[4..];
            match (le, be) {
                (2, _) | (_, 2) => decode_ipv4(rest),
                (24 | 28 | 30, _) | (_, 24 | 28 | 30) => decode_ipv6(rest),
                _ => Err(Skip::NotIp),
            }
        }
        LinkType::Raw => decode_raw_ip(frame),
        LinkType::Ipv4 => decode_ipv4(frame),
        LinkType::Ipv6 => decode_ipv6(frame),
        _ => Err(Skip::NotIp),
    }
}

fn decode_ethertype(ethertype: u16, b: &[u8]) -> Result<IpPayload<'_>, Skip> {
    match ethertype {
        ETHERTYPE_IPV4 => decode_ipv4(b),
        ETHERTYPE_IPV6 => decode_ipv6(b),
        _ => Err(Skip::NotIp),
    }
}

fn decode_raw_ip(b: &[u8]) -> Result<IpPayload<'_>, Skip> {
    match b.first().map(|v| v >> 4) {
        Some(4) => decode_ipv4(b),
        Some(6) => decode_ipv6(b),
        Some(_) => Err(Skip::NotIp),
        None => Err(Skip::Truncated),
    }
}

fn decode_ipv4(b: &[u8]) -> Result<IpPayload<'_>, Skip> {
    if b.len() < 20 {
        return Err(Skip::Truncated);
    }
    if b[0] >> 4 != 4 {
        return Err(Skip::NotIp);
    }
    let ihl = (b[0] & 0x0f) as usize * 4;
    if ihl < 20 {
        return Err(Skip::NotIp);
    }
    let total = be16(b, 2).unwrap_or(0) as usize;
    let frag = be16(b, 6).unwrap_or(0);
    if frag & 0x3fff != 0 {
        // More-fragments set or a non-zero offset: reassembling IP is out of
        // scope (SMB over TCP with fragmented IP is rare); counted as skipped.
        return Err(Skip::Fragment);
    }
    let src = IpAddr::V4(Ipv4Addr::new(b[12], b[13], b[14], b[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(b[16], b[17], b[18], b[19]));
    // total == 0 happens with TSO captures; trust the frame then.
    let claimed = if total >= ihl {
        total - ihl
    } else {
        b.len().saturating_sub(ihl)
    };
    Ok(IpPayload {
        src,
        dst,
        protocol: b[9],
        bytes: b.get(ihl..).ok_or(Skip::Truncated)?,
        claimed,
        header_len: ihl,
    })
}

fn decode_ipv6(b: &[u8]) -> Result<IpPayload<'_>, Skip> {
    if b.len() < 40 {
        return Err(Skip::Truncated);
    }
    if b[0] >> 4 != 6 {
        return Err(Skip::NotIp);
    }
    let payload_len = be16(b, 4).unwrap_or(0) as usize;
    let mut next = b[6];
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&b[8..24]);
    dst.copy_from_slice(&b[24..40]);
    let mut off = 40;
    let mut claimed = payload_len;
    // Walk extension headers (hop-by-hop, routing, destination options).
    for _ in 0..8 {
        match next {
            0 | 43 | 60 => {
                let nh = *b.get(off).ok_or(Skip::Truncated)?;
                let len = (*b.get(off + 1).ok_or(Skip::Truncated)? as usize + 1) * 8;
                next = nh;
                off += len;
                claimed = claimed.saturating_sub(len);
            }
            44 => return Err(Skip::Fragment),
            _ => break,
        }
    }
    let ip_payload = b.get(off..).ok_or(Skip::Truncated)?;
    if payload_len == 0 {
        claimed = ip_payload.len(); // jumbogram or TSO: trust the frame
    }
    Ok(IpPayload {
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        protocol: next,
        bytes: ip_payload,
        claimed,
        header_len: off,
    })
}

fn decode_tcp(src: IpAddr, dst: IpAddr, b: &[u8], claimed: usize) -> Result<TcpSegment<'_>, Skip> {
    if b.len() < 20 {
        return Err(Skip::Truncated);
    }
    let sport = be16(b, 0).unwrap_or(0);
    let dport = be16(b, 2).unwrap_or(0);
    let seq = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    let ack = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
    let data_off = (b[12] >> 4) as usize * 4;
    if data_off < 20 {
        return Err(Skip::Truncated);
    }
    let flags = b[13];
    let payload_len = claimed.saturating_sub(data_off);
    let avail = b.get(data_off..).unwrap_or(&[]);
    // Ethernet pads short frames: never take bytes beyond what IP claims.
    let payload = &avail[..avail.len().min(payload_len)];
    Ok(TcpSegment {
        src: (src, sport),
        dst: (dst, dport),
        seq,
        ack,
        flags,
        payload,
        payload_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_vlan_ipv4_tcp_with_padding() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x08, 0x00]);
        let mut ip = vec![
            0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&1234u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&445u16.to_be_bytes());
        tcp[4..8].copy_from_slice(&7u32.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = TCP_ACK;
        ip.extend_from_slice(&tcp);
        ip.extend_from_slice(b"abcd");
        f.extend_from_slice(&ip);
        f.extend_from_slice(&[0xEE; 6]); // Ethernet padding
        let s = decode_frame(LinkType::Ethernet, &f).unwrap();
        assert_eq!(s.payload, b"abcd");
        assert_eq!(s.dst.1, 445);
        assert_eq!(s.seq, 7);
        assert_eq!(
            decode_frame(LinkType::Ethernet, &f[..20]).unwrap_err(),
            Skip::Truncated
        );
    }
}
