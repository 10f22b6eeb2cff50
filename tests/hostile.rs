//! Hostile and broken captures: each gives the expected error or finding,
//! never a panic, and connection state stays bounded.

mod common;

use smbsign::capture::{CaptureError, MAX_FLOWS, MAX_HELD_BYTES, packet::LinkType, read_capture};
use smbsign::conn::{Connection, Direction};
use smbsign::posture::FindingCode;
use smbsign::scan::{Engine, ScanOptions, Scanner};

/// A little-endian legacy pcap writer for synthetic frames.
struct Pcap(Vec<u8>);

impl Pcap {
    fn new(linktype: u32, snaplen: u32) -> Self {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&snaplen.to_le_bytes());
        v.extend_from_slice(&linktype.to_le_bytes());
        Pcap(v)
    }
    fn record(&mut self, data: &[u8], caplen: u32, origlen: u32) {
        self.0.extend_from_slice(&[0; 8]);
        self.0.extend_from_slice(&caplen.to_le_bytes());
        self.0.extend_from_slice(&origlen.to_le_bytes());
        self.0.extend_from_slice(data);
    }
    fn frame(&mut self, data: &[u8]) {
        self.record(data, data.len() as u32, data.len() as u32);
    }
}

/// Ethernet + IPv4 + TCP frame.
fn tcp(src: ([u8; 4], u16), dst: ([u8; 4], u16), seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    let total = 20 + 20 + payload.len();
    f.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ]);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.1.to_be_bytes());
    f.extend_from_slice(&dst.1.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
const FIN: u8 = 0x01;

/// An SMB2 message with the given command, flags and body.
fn smb2(command: u16, flags: u32, next: u32, body: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\xfeSMB");
    h[4] = 64;
    h[12..14].copy_from_slice(&command.to_le_bytes());
    h[16..20].copy_from_slice(&flags.to_le_bytes());
    h[20..24].copy_from_slice(&next.to_le_bytes());
    h.extend_from_slice(body);
    h
}

fn nbss(msg: &[u8]) -> Vec<u8> {
    let mut v = vec![
        0,
        (msg.len() >> 16) as u8,
        (msg.len() >> 8) as u8,
        msg.len() as u8,
    ];
    v.extend_from_slice(msg);
    v
}

const C: ([u8; 4], u16) = ([10, 0, 0, 1], 50000);
const S: ([u8; 4], u16) = ([10, 0, 0, 2], 445);

#[test]
fn truncated_record_reports_what_was_read() {
    let mut p = Pcap::new(1, 65535);
    p.frame(&tcp(C, S, 0, SYN, &[]));
    p.frame(&tcp(C, S, 1, ACK | PSH, &nbss(&smb2(5, 0, 0, &[0; 40]))));
    let mut bytes = p.0.clone();
    bytes.truncate(bytes.len() - 10);
    let out = smbsign::scan::Scanner::default().scan(&bytes[..]).unwrap();
    assert!(
        matches!(out.error, Some(CaptureError::Truncated { frames_read: 1 })),
        "{:?}",
        out.error
    );
    // A record header that claims more than the file holds.
    let mut p2 = Pcap::new(1, 65535);
    p2.record(&[0; 10], 5000, 5000);
    let out = smbsign::scan::Scanner::default().scan(&p2.0[..]).unwrap();
    assert!(
        matches!(out.error, Some(CaptureError::Truncated { .. })),
        "{:?}",
        out.error
    );
}

#[test]
fn zero_length_records_and_odd_snaplen_are_harmless() {
    let mut p = Pcap::new(1, 16);
    p.frame(&[]);
    p.record(&[], 0, 1500);
    p.frame(&tcp(C, S, 1, ACK, &nbss(&smb2(5, 0, 0, &[0; 8]))));
    let out = smbsign::scan::Scanner::default().scan(&p.0[..]).unwrap();
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.stats.frames, 3);
    assert_eq!(out.stats.truncated_frames, 2);
}

#[test]
fn unsupported_link_type_is_counted_not_decoded() {
    let mut p = Pcap::new(147, 65535); // LINKTYPE_USER0
    p.frame(&tcp(C, S, 1, ACK, &nbss(&smb2(5, 0, 0, &[0; 8]))));
    let out = smbsign::scan::Scanner::default().scan(&p.0[..]).unwrap();
    assert!(out.error.is_none());
    assert_eq!(out.stats.unsupported_link_frames, 1);
    assert!(out.connections.is_empty());
}

#[test]
fn nbss_length_past_the_end_keeps_the_header() {
    let mut p = Pcap::new(1, 65535);
    p.frame(&tcp(C, S, 0, SYN, &[]));
    let mut msg = nbss(&smb2(8, 0, 0, &[0; 100]));
    msg[1] = 0x7f; // claims ~8 MB
    p.frame(&tcp(C, S, 1, ACK | PSH, &msg));
    p.frame(&tcp(C, S, 1 + msg.len() as u32, ACK | FIN, &[]));
    let out = smbsign::scan::Scanner::default().scan(&p.0[..]).unwrap();
    assert!(out.error.is_none());
    assert_eq!(out.connections.len(), 1);
    // The message never completes; the header was seen, nothing panicked.
    assert!(out.connections[0].unsigned_messages <= 1);
}

#[test]
fn next_command_backwards_past_the_end_and_looping() {
    let mut c = Connection::new();
    // Backwards (inside the header), past the end, and a chain of 2000
    // minimal messages: all bounded, each reported.
    c.on_pdu(Direction::ToServer, 1, &smb2(5, 0, 8, &[0; 8]), None);
    c.on_pdu(
        Direction::ToServer,
        2,
        &smb2(5, 0, 0xFFFF_FFF0, &[0; 8]),
        None,
    );
    let mut chain = Vec::new();
    for _ in 0..2000 {
        chain.extend_from_slice(&smb2(5, 0, 64, &[]));
    }
    c.on_pdu(Direction::ToServer, 3, &chain, None);
    assert!(c.decode_errors >= 1);
    // The one pointing inside its own header is a decode error, not a message.
    assert_eq!(c.counts.smb2, 1 + 2000);
    let f = smbsign::posture::findings(&c);
    assert!(f.iter().any(|f| f.code == FindingCode::DecodeError));
}

/// An SMB1 response: header, then blocks given as (WordCount words, bytes).
fn smb1_response(command: u8, status: u32, blocks: &[&[u8]]) -> Vec<u8> {
    let mut m = vec![0u8; 32];
    m[..4].copy_from_slice(b"\xffSMB");
    m[4] = command;
    m[5..9].copy_from_slice(&status.to_le_bytes());
    m[9] = 0x98; // reply
    m[10..12].copy_from_slice(&0xc843u16.to_le_bytes()); // NT status, unicode
    for b in blocks {
        m.extend_from_slice(b);
    }
    m
}

/// A LOGOFF_ANDX block (WordCount 2) naming the next command and offset.
fn logoff_andx(next: u8, offset: u16) -> Vec<u8> {
    let mut b = vec![2, next, 0];
    b.extend_from_slice(&offset.to_le_bytes());
    b.extend_from_slice(&[0, 0]); // ByteCount
    b
}

#[test]
fn smb1_andx_offsets_that_loop_are_reported_and_end_the_walk() {
    // Each block 7 bytes; the second points back at the first (a loop a
    // naive walker would follow forever), at itself, or past the end.
    for (second_offset, why) in [
        (32u16, "backwards"),
        (39, "backwards"),
        (0xFFF0, "past the end"),
    ] {
        let msg = smb1_response(
            0x74,
            0,
            &[&logoff_andx(0x74, 39), &logoff_andx(0x74, second_offset)],
        );
        let mut c = Connection::new();
        c.on_pdu(Direction::ToClient, 1, &msg, None);
        assert_eq!(c.decode_errors, 1, "{why}");
        let (frame, e) = c.first_decode_error.unwrap();
        assert_eq!(frame, 1);
        assert!(e.to_string().contains(why), "{e}");
        assert_eq!(c.counts.smb1, 1, "the message itself still counts");
    }
    // The capture layer kept only a prefix of a long message whose chain
    // continues past it: not an error.
    let msg = smb1_response(0x74, 0, &[&logoff_andx(0x74, 4000)]);
    let mut c = Connection::new();
    c.on_pdu_prefix(Direction::ToClient, 1, &msg, 5000, None);
    assert_eq!(c.decode_errors, 0);
    // A forward chain longer than the cap stops there.
    let mut blocks = Vec::new();
    for k in 0..40u16 {
        blocks.push(logoff_andx(0x74, 32 + 7 * (k + 1)));
    }
    let refs: Vec<&[u8]> = blocks.iter().map(|b| b.as_slice()).collect();
    let mut c = Connection::new();
    c.on_pdu(Direction::ToClient, 1, &smb1_response(0x74, 0, &refs), None);
    assert_eq!(c.decode_errors, 1);
    assert!(
        c.first_decode_error
            .unwrap()
            .1
            .to_string()
            .contains("too long")
    );
}

#[test]
fn smb1_chained_tree_connect_denied_is_the_kb_scenario() {
    // SESSION_SETUP_ANDX response (WordCount 3) + TREE_CONNECT_ANDX
    // (WordCount 0, an error) with STATUS_ACCESS_DENIED in the header.
    let mut setup = vec![3, 0x75, 0];
    setup.extend_from_slice(&41u16.to_le_bytes()); // 32 + 1 + 6 + 2
    setup.extend_from_slice(&[0, 0, 0, 0]); // Action, ByteCount
    let msg = smb1_response(0x73, 0xC000_0022, &[&setup, &[0, 0, 0]]);
    // First a NEGOTIATE response (NT LM 0.12, WordCount 17) with Security
    // Mode 15: signing required.
    let mut neg = vec![17u8, 0, 0, 0x0F];
    neg.extend_from_slice(&[0; 31]);
    neg.extend_from_slice(&[0, 0]);
    let mut c = Connection::new();
    c.on_pdu(
        Direction::ToClient,
        2,
        &smb1_response(0x72, 0, &[&neg]),
        None,
    );
    assert_eq!(c.server.security_mode.map(|m| m.raw()), Some(15));
    c.on_pdu(Direction::ToClient, 7, &msg, None);
    assert_eq!(c.decode_errors, 0);
    let f = smbsign::posture::findings(&c);
    assert!(
        f.iter().any(|f| f.code == FindingCode::TreeConnectDenied),
        "{f:?}"
    );
}

#[test]
fn negotiate_contexts_with_bad_counts_and_lengths() {
    // A 3.1.1 NEGOTIATE response whose context count runs past the message.
    let mut body = vec![0u8; 64];
    body[0] = 65; // StructureSize
    body[2] = 3; // SecurityMode
    body[4..6].copy_from_slice(&0x0311u16.to_le_bytes());
    body[6..8].copy_from_slice(&500u16.to_le_bytes()); // context count
    body[60..64].copy_from_slice(&128u32.to_le_bytes()); // context offset
    let msg = smb2(0, 1, 0, &body);
    let mut c = Connection::new();
    c.on_pdu(Direction::ToClient, 1, &msg, None);
    assert_eq!(c.decode_errors, 1);
    assert!(c.dialect.is_none(), "a malformed negotiate sets nothing");
}

#[test]
fn duplicate_and_conflicting_negotiates_last_one_wins() {
    let neg = |mode: u8, dialect: u16| {
        let mut body = vec![0u8; 64];
        body[0] = 65;
        body[2] = mode;
        body[4..6].copy_from_slice(&dialect.to_le_bytes());
        smb2(0, 1, 0, &body)
    };
    let mut c = Connection::new();
    c.on_pdu(Direction::ToClient, 1, &neg(1, 0x0210), None);
    c.on_pdu(Direction::ToClient, 2, &neg(3, 0x0302), None);
    assert_eq!(c.server.security_mode.map(|m| m.raw()), Some(3));
    assert_eq!(
        c.dialect.as_ref().map(|d| d.name()).as_deref(),
        Some("3.0.2")
    );
    assert_eq!(c.counts.negotiate_responses, 2);
}

#[test]
fn ntlmssp_offsets_outside_the_blob() {
    // SESSION_SETUP request carrying an AUTHENTICATE whose user name offset
    // points far outside: no user, no panic.
    let mut auth = b"NTLMSSP\0\x03\0\0\0".to_vec();
    for _ in 0..6 {
        auth.extend_from_slice(&[8, 0, 8, 0, 0xff, 0xff, 0, 0]);
    }
    auth.extend_from_slice(&[0; 8]);
    let mut body = vec![0u8; 24];
    body[0] = 25;
    body[12..14].copy_from_slice(&88u16.to_le_bytes());
    body[14..16].copy_from_slice(&(auth.len() as u16).to_le_bytes());
    body.extend_from_slice(&auth);
    let mut c = Connection::new();
    c.on_pdu(Direction::ToServer, 1, &smb2(1, 0, 0, &body), None);
    assert!(c.sessions.iter().all(|s| s.user.is_none()));
}

#[test]
fn a_hundred_thousand_connections_stay_bounded() {
    let mut scanner = Scanner::default().engine();
    let mut max_live = 0;
    for k in 0..100_000u32 {
        let client = (
            [10, (k >> 16) as u8, (k >> 8) as u8, k as u8],
            40000 + (k % 20000) as u16,
        );
        let syn = tcp(client, S, 0, SYN, &[]);
        scanner.frame(LinkType::Ethernet, &syn);
        let data = tcp(client, S, 1, ACK | PSH, &nbss(&smb2(5, 0, 0, &[0; 8])));
        scanner.frame(LinkType::Ethernet, &data);
        max_live = max_live.max(scanner.live_flows());
    }
    assert!(max_live <= MAX_FLOWS, "{max_live} live flows");
    let reports = scanner.finish();
    assert_eq!(reports.len(), 100_000);
    assert!(scanner.stats().flows_evicted > 0);
}

/// 40 connections, each opening with a hole: its first 1,000 bytes never
/// captured, then 100 segments of 1,400 bytes held waiting for them (5.6 MB
/// in all). Returns the peak of held reassembly bytes and the reports.
fn many_holes(scanner: &mut Engine) -> (usize, Vec<smbsign::posture::ConnectionReport>) {
    let mut peak = 0;
    for k in 0..40u8 {
        let client = ([10, 1, 0, k], 50000);
        scanner.frame(LinkType::Ethernet, &tcp(client, S, 0, SYN, &[]));
        for j in 0..100u32 {
            let seq = 1 + 1000 + j * 1400;
            let f = tcp(client, S, seq, PSH, &[0x41; 1400]);
            scanner.frame(LinkType::Ethernet, &f);
            peak = peak.max(scanner.held_bytes());
        }
    }
    (peak, scanner.finish())
}

#[test]
fn reassembly_memory_is_capped_across_connections() {
    // Without a tight budget the holes are all held (the accounting sees it).
    let (peak, _) = many_holes(&mut Scanner::default().engine());
    assert!(peak >= 5_000_000, "peak {peak}");
    // With a 1 MiB budget the total never passes it by more than one
    // segment, the connections that gave up their holes count the gap, and
    // every connection is still reported.
    let budget = 1 << 20;
    let mut scanner = Scanner::new(ScanOptions {
        max_held_bytes: budget,
        ..ScanOptions::default()
    })
    .engine();
    let (peak, reports) = many_holes(&mut scanner);
    assert!(peak <= budget + 1400, "peak {peak}");
    assert!(scanner.stats().memory_sheds > 0);
    assert_eq!(scanner.held_bytes(), 0, "all released at the end");
    assert_eq!(reports.len(), 0, "no SMB message in the filler");
}

#[test]
fn verifying_scan_keeps_bounded_prefixes_of_huge_messages() {
    // With credentials whole messages are kept. 20 connections each start
    // a WRITE claiming 16 MiB and send 600 KB of it: 12 MB held unless the
    // budget (1 MiB here) makes them keep only headers.
    let mut creds = smbsign::verify::Credentials::default();
    creds.add_password("user:secret").unwrap();
    let creds = std::sync::Arc::new(creds);
    let run = |budget: usize| {
        let mut scanner = Scanner::new(ScanOptions {
            max_held_bytes: budget,
            credentials: Some(creds.clone()),
            ..ScanOptions::default()
        })
        .engine();
        let mut peak = 0;
        for k in 0..20u8 {
            let client = ([10, 2, 0, k], 50000);
            scanner.frame(LinkType::Ethernet, &tcp(client, S, 0, SYN, &[]));
            let mut msg = vec![0x00, 0xff, 0xff, 0xff];
            msg.extend_from_slice(&smb2(9, 0, 0, &[0; 48]));
            let mut seq = 1;
            let f = tcp(client, S, seq, PSH, &msg);
            seq += msg.len() as u32;
            scanner.frame(LinkType::Ethernet, &f);
            for _ in 0..430 {
                let f = tcp(client, S, seq, PSH, &[0x42; 1400]);
                seq += 1400;
                scanner.frame(LinkType::Ethernet, &f);
                peak = peak.max(scanner.held_bytes());
            }
        }
        let reports = scanner.finish();
        (peak, scanner.stats().memory_sheds, reports)
    };
    let (peak, sheds, reports) = run(MAX_HELD_BYTES);
    assert!(peak >= 12_000_000, "peak {peak}");
    assert_eq!(sheds, 0);
    assert_eq!(reports.len(), 20);
    let (peak, sheds, reports) = run(1 << 20);
    assert!(peak <= (1 << 20) + 128 * 1024, "peak {peak}");
    assert!(sheds > 0);
    assert_eq!(reports.len(), 20, "every connection still reported");
    assert!(
        reports.iter().all(|r| r.requests == 1),
        "the WRITE still counted"
    );
}

#[test]
fn smb1_sequence_out_of_step_is_not_forgery() {
    // Drop one signed SMB1 request from a real capture (a TCP hole): the
    // messages after it still verify (the sequence window), none is forged.
    let bytes = std::fs::read(common::repo().join("tests/captures/smb1-mode15.pcap")).unwrap();
    let mut frames = Vec::new();
    let mut off = 24;
    while off + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap()) as usize;
        frames.push(bytes[off..off + 16 + caplen].to_vec());
        off += 16 + caplen;
    }
    // Frame 16 (index 15) is a client request after activation.
    let mut cut = bytes[..24].to_vec();
    for (k, f) in frames.iter().enumerate() {
        if k != 15 {
            cut.extend_from_slice(f);
        }
    }
    let mut creds = smbsign::verify::Credentials::default();
    creds.add_password("LAB\\smblab:Passw0rd!").unwrap();
    let out = smbsign::scan::Scanner::new(smbsign::scan::ScanOptions::with_credentials(
        std::sync::Arc::new(creds),
    ))
    .scan(&cut[..])
    .unwrap();
    let r = &out.connections[0];
    assert_eq!(
        r.forged_messages,
        Some(0),
        "{}",
        serde_json::to_string(r).unwrap()
    );
    assert!(r.verified_messages.unwrap() > 20);
    assert!(r.gap_bytes > 0);
}

#[test]
fn garbage_files_are_not_captures() {
    for bytes in [
        &b""[..],
        b"\x0a\x0d\x0d\x0a",
        b"\xd4\xc3\xb2\xa1\x02",
        &[0xffu8; 4096][..],
    ] {
        let r = read_capture(bytes, |_, _| {}, |_| {});
        assert!(r.is_err(), "{bytes:?}");
    }
}

/// Bug: a connection that ends inside an incomplete message was stamped
/// with the capture's last frame (the frame being read when it was
/// retired) instead of its own last frame.
#[test]
fn connection_ending_inside_a_message_keeps_its_own_last_frame() {
    const C2: ([u8; 4], u16) = ([10, 0, 0, 3], 50001);
    let mut p = Pcap::new(1, 65535);
    p.frame(&tcp(C, S, 0, SYN, &[])); // 1
    let mut msg = nbss(&smb2(8, 0, 0, &[0; 100]));
    msg[1] = 0x01; // claims 64 KiB more than it carries
    p.frame(&tcp(C, S, 1, ACK | PSH, &msg)); // 2: never completes
    p.frame(&tcp(C2, S, 0, SYN, &[])); // 3
    for k in 0..10u32 {
        let m = nbss(&smb2(5, 0, 0, &[0; 8]));
        p.frame(&tcp(C2, S, 1 + k * m.len() as u32, ACK | PSH, &m)); // 4..13
    }
    let out = Scanner::default().scan(&p.0[..]).unwrap();
    let first = out
        .connections
        .iter()
        .find(|r| r.client == "10.0.0.1:50000")
        .expect("first connection reported");
    assert_eq!(first.last_frame, Some(2), "its own last frame");
    let second = out
        .connections
        .iter()
        .find(|r| r.client == "10.0.0.3:50001")
        .unwrap();
    assert_eq!(second.last_frame, Some(13));
}
