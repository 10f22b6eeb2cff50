//! SMB2 COMPRESSION_TRANSFORM messages. Samba's smbd does not compress,
//! and no public capture we have carries one, so the compressed messages
//! are made from a real connection: every message of the lab's
//! smb311-gmac.pcap after the logon is put through the compression forms
//! of MS-SMB2 2.2.42 (unchained LZNT1 and LZ4 with the SMB2 header in
//! clear, chained NONE + LZ4, chained NONE + Pattern_V1) by the codecs'
//! own compressors. The expectation is the original connection: analysed
//! compressed, it must give the same report (signatures verified over
//! the decompressed messages included). The LZ77+Huffman decompressor is
//! checked against a stream Windows wrote (tests/vectors/xpress-huffman).

use smbsign::conn::{Connection, Direction};
use smbsign::posture::{ConnectionReport, Transport};
use smbsign::scan::{ScanOptions, Scanner};
use smbsign::verify::Credentials;
use smbsign::wire::Pdu;
use std::sync::{Arc, Mutex};

mod common;

fn credentials() -> Arc<Credentials> {
    let mut c = Credentials::default();
    c.add_password("LAB\\smblab:Passw0rd!").unwrap();
    Arc::new(c)
}

/// Every PDU of the capture's one connection, whole, with its direction
/// and frame.
fn pdus(path: &std::path::Path) -> Vec<(Direction, u64, Vec<u8>)> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    let mut engine = Scanner::new(ScanOptions::with_credentials(credentials())).engine();
    engine.set_pdu_hook(Box::new(move |e| {
        sink.lock()
            .unwrap()
            .push((e.direction, e.frame, e.pdu.to_vec()));
    }));
    let f = std::fs::File::open(path).unwrap();
    smbsign::capture::read_capture(f, |l, d| engine.frame(l, d), |_| {}).unwrap();
    let _ = engine.finish();
    drop(engine);
    Arc::try_unwrap(out).unwrap().into_inner().unwrap()
}

fn report(pdus: &[(Direction, u64, Vec<u8>)]) -> ConnectionReport {
    let mut c = Connection::with_credentials(credentials());
    for (dir, frame, bytes) in pdus {
        let pdu = Pdu::classify(bytes, bytes.len()).unwrap();
        c.on_message(*dir, *frame, pdu, None);
    }
    ConnectionReport::build_final(&mut c, Transport::default())
}

fn header(size: usize, alg: u16, flags: u16, offset: u32) -> Vec<u8> {
    let mut m = b"\xfcSMB".to_vec();
    m.extend_from_slice(&(size as u32).to_le_bytes());
    m.extend_from_slice(&alg.to_le_bytes());
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&offset.to_le_bytes());
    m
}

/// A chained payload; the first one's Flags say SMB2_COMPRESSION_FLAG_CHAINED
/// (they lie where the unchained header's Flags do).
fn chained_payload(m: &mut Vec<u8>, alg: u16, original: Option<usize>, data: &[u8]) {
    let first = m.len() == 8;
    m.extend_from_slice(&alg.to_le_bytes());
    m.extend_from_slice(&u16::from(first).to_le_bytes());
    let extra = if original.is_some() { 4 } else { 0 };
    m.extend_from_slice(&((data.len() + extra) as u32).to_le_bytes());
    if let Some(n) = original {
        m.extend_from_slice(&(n as u32).to_le_bytes());
    }
    m.extend_from_slice(data);
}

/// `msg` in form `k` (of 4).
fn compressed(msg: &[u8], k: usize) -> Vec<u8> {
    let (head, body) = msg.split_at(64);
    match k {
        0 => {
            let mut packed = Vec::new();
            lznt1::compress(body, &mut packed);
            let mut m = header(msg.len(), 1, 0, 64);
            m.extend_from_slice(head);
            m.extend_from_slice(&packed);
            m
        }
        1 => {
            let mut m = header(msg.len(), 5, 0, 64);
            m.extend_from_slice(head);
            m.extend_from_slice(&lz4_flex::block::compress(body));
            m
        }
        2 => {
            // Chained: ProtocolId and OriginalCompressedSegmentSize only.
            let mut m = header(msg.len(), 0, 1, 0)[..8].to_vec();
            chained_payload(&mut m, 0, None, head);
            chained_payload(
                &mut m,
                5,
                Some(body.len()),
                &lz4_flex::block::compress(body),
            );
            m
        }
        _ => {
            // The body's last byte as a Pattern_V1 run of one.
            let (rest, last) = msg.split_at(msg.len() - 1);
            let mut m = header(msg.len(), 0, 1, 0)[..8].to_vec();
            chained_payload(&mut m, 0, None, rest);
            chained_payload(&mut m, 4, None, &[last[0], 0, 0, 0, 1, 0, 0, 0]);
            m
        }
    }
}

#[test]
fn compressed_messages_analyse_like_the_originals() {
    let path = common::repo().join("tests/captures/smb311-gmac.pcap");
    let original = pdus(&path);
    // After the logon: the first TREE_CONNECT request on.
    let start = original
        .iter()
        .position(|(_, _, b)| b.len() > 64 && b[..4] == *b"\xfeSMB" && b[12] == 3)
        .unwrap();
    let mut changed = original.clone();
    let mut n = 0;
    for (_, _, bytes) in changed.iter_mut().skip(start) {
        if bytes.len() > 64 && bytes[..4] == *b"\xfeSMB" {
            *bytes = compressed(bytes, n % 4);
            n += 1;
        }
    }
    assert!(n > 20, "{n} messages compressed");
    let a = report(&original);
    let b = report(&changed);
    assert_eq!(b.compressed_messages, n as u64);
    assert_eq!(b.decompressed_messages, n as u64);
    assert!(
        b.decompression_failures.is_empty(),
        "{:?}",
        b.decompression_failures
    );
    let algs: Vec<&str> = b
        .compression_algorithms
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(algs, ["LZ4", "LZNT1", "NONE", "Pattern_V1"]);
    assert!(a.verified_messages.unwrap() > 20);
    let mut a = serde_json::to_value(&a).unwrap();
    let mut b = serde_json::to_value(&b).unwrap();
    for k in [
        "compressed_messages",
        "decompressed_messages",
        "compression_algorithms",
    ] {
        a.as_object_mut().unwrap().remove(k);
        b.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(a, b);
}

#[test]
fn a_damaged_compressed_message_is_counted_not_analysed() {
    let path = common::repo().join("tests/captures/smb311-gmac.pcap");
    let mut all = pdus(&path);
    let k = all
        .iter()
        .position(|(_, _, b)| b.len() > 200 && b[..4] == *b"\xfeSMB" && b[12] == 8)
        .expect("a READ");
    let mut m = compressed(&all[k].2, 1);
    let last = m.len() - 1;
    m.truncate(last - 10); // the LZ4 block cut short
    all[k].2 = m;
    let r = report(&all);
    assert_eq!(r.decompressed_messages, 0);
    assert_eq!(r.decompression_failures.values().sum::<u64>(), 1);
    let why = r.decompression_failures.keys().next().unwrap();
    assert!(why.starts_with("does not decompress: LZ4"), "{why}");
}

/// A real Windows Xpress-Huffman stream (a prefetch file's payload; see
/// tests/vectors/xpress-huffman/README.md) in an unchained message.
#[test]
fn lz77_huffman_decompresses_a_windows_stream() {
    let dir = common::repo().join("tests/vectors/xpress-huffman");
    let packed = std::fs::read(dir.join("am_delta.xhuff")).unwrap();
    let expected = std::fs::read(dir.join("am_delta.expected")).unwrap();
    let mut m = header(expected.len(), 3, 0, 0);
    m.extend_from_slice(&packed);
    let (_, h) = smbsign::wire::smb2::parse_smb2_compression_header(&m).unwrap();
    let (out, algs) = smbsign::verify::decompress::decompress_message(&m, &h).unwrap();
    assert_eq!(out, expected);
    assert_eq!(algs.len(), 1);
    // One byte of the stream changed: an error or other bytes, never a
    // panic or more than declared.
    let mut bad = m.clone();
    bad[16 + 300] ^= 0x40;
    if let Ok((out, _)) = smbsign::verify::decompress::decompress_message(&bad, &h) {
        assert_eq!(out.len(), expected.len());
        assert_ne!(out, expected);
    }
}
