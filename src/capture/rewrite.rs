//! Rewriting a captured TCP segment: new sequence and acknowledgment
//! numbers and a new payload, with the IP length fields and the IPv4 and
//! TCP checksums made right for it (for `--decrypt-to`'s copy).

use super::packet::TcpLayout;

/// The frame `frame` (laid out as `l`) with `payload` in place of its
/// payload and `seq`/`ack` in its TCP header. Ethernet padding after the
/// old payload is dropped. A frame the snaplen cut keeps its IP lengths
/// claiming the cut bytes (they are not there to checksum either).
/// `sack` maps the edges of SACK blocks (sequence numbers of the other
/// direction, like `ack`).
pub fn rebuild(
    frame: &[u8],
    l: &TcpLayout,
    (seq, ack): (u32, u32),
    sack: impl Fn(u32) -> u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(l.payload_at + payload.len());
    out.extend_from_slice(&frame[..l.payload_at]);
    out.extend_from_slice(payload);
    out[l.tcp_at + 4..l.tcp_at + 8].copy_from_slice(&seq.to_be_bytes());
    out[l.tcp_at + 8..l.tcp_at + 12].copy_from_slice(&ack.to_be_bytes());
    map_sack_blocks(
        &mut out[(l.tcp_at + 20).min(l.payload_at)..l.payload_at],
        sack,
    );
    let cut = l.payload_len.saturating_sub(l.payload_end - l.payload_at);
    let ip_payload = out.len() - l.tcp_at + cut;
    if l.ipv6 {
        // Payload Length counts extension headers too.
        let len = ip_payload + (l.tcp_at - l.ip_at - 40);
        out[l.ip_at + 4..l.ip_at + 6].copy_from_slice(&(len.min(0xffff) as u16).to_be_bytes());
    } else {
        let len = ip_payload + (l.tcp_at - l.ip_at);
        out[l.ip_at + 2..l.ip_at + 4].copy_from_slice(&(len.min(0xffff) as u16).to_be_bytes());
        out[l.ip_at + 10..l.ip_at + 12].fill(0);
        let sum = internet_checksum(&[&out[l.ip_at..l.tcp_at]]);
        out[l.ip_at + 10..l.ip_at + 12].copy_from_slice(&sum.to_be_bytes());
    }
    if cut == 0 {
        out[l.tcp_at + 16..l.tcp_at + 18].fill(0);
        let tcp_len = (out.len() - l.tcp_at) as u32;
        let mut pseudo = Vec::with_capacity(40);
        if l.ipv6 {
            pseudo.extend_from_slice(&out[l.ip_at + 8..l.ip_at + 40]);
            pseudo.extend_from_slice(&tcp_len.to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, 6]);
        } else {
            pseudo.extend_from_slice(&out[l.ip_at + 12..l.ip_at + 20]);
            pseudo.extend_from_slice(&[0, 6]);
            pseudo.extend_from_slice(&(tcp_len as u16).to_be_bytes());
        }
        let sum = internet_checksum(&[&pseudo, &out[l.tcp_at..]]);
        out[l.tcp_at + 16..l.tcp_at + 18].copy_from_slice(&sum.to_be_bytes());
    }
    out
}

/// Walk TCP options; rewrite the edges of SACK (kind 5) blocks.
fn map_sack_blocks(options: &mut [u8], sack: impl Fn(u32) -> u32) {
    let mut i = 0;
    while i < options.len() {
        match options[i] {
            0 => return,
            1 => i += 1,
            kind => {
                let Some(&len) = options.get(i + 1) else {
                    return;
                };
                let len = len as usize;
                if len < 2 || i + len > options.len() {
                    return;
                }
                if kind == 5 {
                    for edge in options[i + 2..i + len].chunks_exact_mut(4) {
                        let v = u32::from_be_bytes([edge[0], edge[1], edge[2], edge[3]]);
                        edge.copy_from_slice(&sack(v).to_be_bytes());
                    }
                }
                i += len;
            }
        }
    }
}

/// RFC 1071: the ones' complement of the ones' complement sum of 16-bit
/// words, over `parts` taken as one byte string (each part but the last of
/// even length, as here).
fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    for part in parts {
        let mut words = part.chunks_exact(2);
        for w in &mut words {
            sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
        }
        if let [last] = words.remainder() {
            sum += u64::from(*last) << 8;
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::packet::{LinkType, tcp_layout};

    // RFC 1071 section 3's worked example: the words 0001 f203 f4f5 f6f7
    // sum to ddf2 (checksum 220d).
    #[test]
    fn rfc1071_example() {
        let b = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&[&b]), !0xddf2);
        assert_eq!(internet_checksum(&[&b[..4], &b[4..]]), !0xddf2);
    }

    // A frame's checksums over itself come out as zero once rebuilt with
    // its own numbers and payload: the sums include the fields written.
    #[test]
    fn sack_edges_are_mapped_and_other_options_kept() {
        // NOP, NOP, SACK with one block (100, 200), then a timestamp.
        let mut o = vec![
            1, 1, 5, 10, 0, 0, 0, 100, 0, 0, 0, 200, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8,
        ];
        map_sack_blocks(&mut o, |v| v - 52);
        assert_eq!(&o[2..12], &[5, 10, 0, 0, 0, 48, 0, 0, 0, 148]);
        assert_eq!(&o[12..], &[8, 10, 1, 2, 3, 4, 5, 6, 7, 8]);
        let mut bad = vec![5, 40, 0, 0];
        map_sack_blocks(&mut bad, |v| v + 1);
        assert_eq!(bad, vec![5, 40, 0, 0]);
    }

    #[test]
    fn rebuilt_frame_checksums_verify() {
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2,
        ];
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&445u16.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = 0x18;
        ip.extend_from_slice(&tcp);
        ip.extend_from_slice(b"old");
        let total = ip.len() as u16;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(&ip);
        let (_, l) = tcp_layout(LinkType::Ethernet, &frame).unwrap();
        let out = rebuild(&frame, &l, (1000, 2000), |v| v, b"a longer payload");
        let (seg, l2) = tcp_layout(LinkType::Ethernet, &out).unwrap();
        assert_eq!(
            (seg.seq, seg.ack, seg.payload),
            (1000, 2000, &b"a longer payload"[..])
        );
        assert_eq!(internet_checksum(&[&out[l2.ip_at..l2.tcp_at]]), 0);
        let tcp_len = (out.len() - l2.tcp_at) as u16;
        let mut pseudo = out[l2.ip_at + 12..l2.ip_at + 20].to_vec();
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&tcp_len.to_be_bytes());
        assert_eq!(internet_checksum(&[&pseudo, &out[l2.tcp_at..]]), 0);
    }
}
