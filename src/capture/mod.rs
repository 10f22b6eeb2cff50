//! Capture input: files to packets to TCP flows to SMB PDUs. pcap and
//! pcapng through pcap-parser (gzip-compressed too), NetXRay 2.x; link
//! layers down to TCP (`packet.rs`); per-direction reassembly and NBSS
//! framing (`stream.rs`); the table of flows that hands each flow's PDUs
//! to a `FlowSink` (`flows.rs`). What is done with the PDUs is the sink's
//! business (see `crate::scan`). Memory grows with the number of live
//! connections, not with the capture's size.
#![forbid(unsafe_code)]

pub mod flows;
pub mod kdc;
pub mod netxray;
pub mod packet;
pub mod rewrite;
pub mod stream;

pub use flows::{
    Collect, FlowEnd, FlowKey, FlowSink, FlowStates, FlowTable, MAX_FLOWS, MAX_HELD_BYTES,
    ScanStats,
};

use packet::LinkType;
use std::fmt;
use std::io::Read;

/// Why a capture could not be read (to the end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureError {
    Io(String),
    NotACapture,
    Empty,
    /// The file ends inside a record: what came before was read.
    Truncated {
        frames_read: u64,
    },
    Corrupt {
        frames_read: u64,
        detail: String,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Io(e) => write!(f, "{e}"),
            CaptureError::NotACapture => write!(f, "not a pcap or pcapng capture"),
            CaptureError::Empty => write!(f, "empty file, not a capture"),
            CaptureError::Truncated { frames_read } => write!(
                f,
                "capture is truncated: the last record is cut short ({frames_read} frames read before it)"
            ),
            CaptureError::Corrupt {
                frames_read,
                detail,
            } => write!(f, "capture is corrupt after {frames_read} frames: {detail}"),
        }
    }
}

impl std::error::Error for CaptureError {}

/// Largest single block accepted (pcapng blocks holding one frame).
const MAX_BLOCK: usize = 64 * 1024 * 1024;

/// Read a whole capture, feeding every frame to `on_frame` with its link
/// type: pcap or pcapng (through pcap-parser), either gzip-compressed (as
/// tshark reads them), or NetXRay 2.x. `progress` is told how many bytes
/// were consumed so far.
pub fn read_capture<R: Read + Send>(
    input: R,
    on_frame: impl FnMut(LinkType, &[u8]),
    progress: impl FnMut(u64),
) -> Result<u64, CaptureError> {
    match sniff(input)? {
        Sniffed::Gzip(input) => read_pcap(input, on_frame, progress),
        Sniffed::NetXray(mut input) => {
            // NetXRay files are small (16-bit lengths); read whole, bounded.
            let mut data = Vec::new();
            (&mut input)
                .take(1 << 30)
                .read_to_end(&mut data)
                .map_err(|e| CaptureError::Io(e.to_string()))?;
            netxray::read_netxray(&data, on_frame)
        }
        Sniffed::Pcap(input) => read_pcap(input, on_frame, progress),
    }
}

/// The first bytes of the containers `read_capture` reads: pcap (both byte
/// orders, microsecond and nanosecond), pcapng's Section Header Block.
const PCAP_MAGICS: [[u8; 4]; 5] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x0a, 0x0d, 0x0d, 0x0a],
];

/// Whether a file starting with `head` is a capture `read_capture` reads,
/// told by its magic alone (a gzip file by the magic of what it holds), so
/// that a directory walk can skip other files without reading them whole.
pub fn is_capture(mut head: impl Read) -> bool {
    let mut magic = [0u8; 4];
    if head.read_exact(&mut magic).is_err() {
        return false;
    }
    if magic[..2] == [0x1f, 0x8b] {
        let mut inner = flate2::read::MultiGzDecoder::new(std::io::Cursor::new(magic).chain(head));
        let mut m = [0u8; 4];
        return inner.read_exact(&mut m).is_ok() && PCAP_MAGICS.contains(&m);
    }
    &magic == netxray::NETXRAY_MAGIC || PCAP_MAGICS.contains(&magic)
}

/// A capture's container, told by its first bytes.
enum Sniffed<R: Read> {
    Gzip(flate2::read::MultiGzDecoder<std::io::BufReader<R>>),
    NetXray(std::io::BufReader<R>),
    /// pcap or pcapng (or not a capture: pcap-parser says which).
    Pcap(std::io::BufReader<R>),
}

fn sniff<R: Read>(input: R) -> Result<Sniffed<R>, CaptureError> {
    use std::io::BufRead;
    let mut input = std::io::BufReader::with_capacity(1 << 16, input);
    let magic = input
        .fill_buf()
        .map_err(|e| CaptureError::Io(e.to_string()))?
        .get(..4)
        .map(|m| [m[0], m[1], m[2], m[3]]);
    Ok(match magic {
        Some([0x1f, 0x8b, _, _]) => Sniffed::Gzip(flate2::read::MultiGzDecoder::new(input)),
        Some(m) if &m == netxray::NETXRAY_MAGIC => Sniffed::NetXray(input),
        _ => Sniffed::Pcap(input),
    })
}

/// An interface of a capture (pcap has one): its link type, snap length
/// and timestamp resolution as pcapng's `if_tsresol` byte (6 = µs, 9 = ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interface {
    pub link: LinkType,
    pub snaplen: u32,
    pub tsresol: u8,
    pub tsoffset: i64,
}

/// One captured frame with what a copy of the capture needs.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Index of its interface (in order of `CaptureEvent::Interface`,
    /// from 0 in each pcapng section).
    pub interface: u32,
    /// In the interface's timestamp units.
    pub timestamp: u64,
    pub data: &'a [u8],
    pub orig_len: u32,
}

/// What a capture file holds, in order.
#[derive(Debug, Clone, Copy)]
pub enum CaptureEvent<'a> {
    /// A new pcapng section: interface indexes start again from 0.
    Section,
    Interface(Interface),
    Frame(Record<'a>),
}

/// Read a pcap or pcapng capture (gzip-compressed too) as events: the
/// interfaces and each frame with its timestamp, for writing a copy.
pub fn read_capture_events<R: Read + Send>(
    input: R,
    on_event: impl FnMut(CaptureEvent<'_>),
) -> Result<u64, CaptureError> {
    match sniff(input)? {
        Sniffed::Gzip(input) => read_pcap_events(input, on_event, |_| {}),
        Sniffed::NetXray(_) => Err(CaptureError::Io(
            "a NetXRay capture cannot be copied: save it as pcapng first".into(),
        )),
        Sniffed::Pcap(input) => read_pcap_events(input, on_event, |_| {}),
    }
}

fn read_pcap<R: Read + Send>(
    input: R,
    mut on_frame: impl FnMut(LinkType, &[u8]),
    progress: impl FnMut(u64),
) -> Result<u64, CaptureError> {
    let mut links: Vec<LinkType> = Vec::new();
    read_pcap_events(
        input,
        |e| match e {
            CaptureEvent::Section => links.clear(),
            CaptureEvent::Interface(i) => links.push(i.link),
            CaptureEvent::Frame(r) => on_frame(
                links
                    .get(r.interface as usize)
                    .copied()
                    .unwrap_or(LinkType(-1)),
                r.data,
            ),
        },
        progress,
    )
}

fn read_pcap_events<R: Read + Send>(
    input: R,
    mut on_event: impl FnMut(CaptureEvent<'_>),
    mut progress: impl FnMut(u64),
) -> Result<u64, CaptureError> {
    use pcap_parser::pcapng::Block;
    use pcap_parser::{PcapBlockOwned, PcapError, create_reader};
    let mut reader = match create_reader(1 << 20, input) {
        Ok(r) => r,
        Err(PcapError::Eof) => return Err(CaptureError::Empty),
        Err(PcapError::ReadError) => return Err(CaptureError::Io("read error".into())),
        Err(_) => return Err(CaptureError::NotACapture),
    };
    let mut legacy_tsresol = 6u8;
    let mut frames = 0u64;
    let mut consumed_total = 0u64;
    let mut capacity = 1usize << 20;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy_tsresol = if h.is_nanosecond_precision() { 9 } else { 6 };
                        on_event(CaptureEvent::Interface(Interface {
                            link: LinkType(h.network.0),
                            snaplen: h.snaplen,
                            tsresol: legacy_tsresol,
                            tsoffset: 0,
                        }));
                    }
                    PcapBlockOwned::Legacy(b) => {
                        frames += 1;
                        let per_sec = if legacy_tsresol == 9 {
                            1_000_000_000
                        } else {
                            1_000_000
                        };
                        on_event(CaptureEvent::Frame(Record {
                            interface: 0,
                            timestamp: u64::from(b.ts_sec) * per_sec + u64::from(b.ts_usec),
                            data: b.data,
                            orig_len: b.origlen,
                        }));
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => on_event(CaptureEvent::Section),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        on_event(CaptureEvent::Interface(Interface {
                            link: LinkType(idb.linktype.0),
                            snaplen: idb.snaplen,
                            tsresol: idb.if_tsresol,
                            tsoffset: idb.if_tsoffset,
                        }))
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        frames += 1;
                        let n = (epb.caplen as usize).min(epb.data.len());
                        on_event(CaptureEvent::Frame(Record {
                            interface: epb.if_id,
                            timestamp: (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low),
                            data: &epb.data[..n],
                            orig_len: epb.origlen,
                        }));
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        frames += 1;
                        on_event(CaptureEvent::Frame(Record {
                            interface: 0,
                            timestamp: 0,
                            data: spb.data,
                            orig_len: spb.origlen,
                        }));
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                consumed_total += offset as u64;
                // Shift the buffer only when refilling (few bytes left then),
                // not after every block.
                reader.consume_noshift(offset);
                progress(consumed_total);
            }
            Err(PcapError::Eof) => return Ok(frames),
            Err(PcapError::Incomplete(_)) => {
                if reader.reader_exhausted() {
                    return Err(CaptureError::Truncated {
                        frames_read: frames,
                    });
                }
                if let Err(e) = reader.refill() {
                    return Err(match e {
                        PcapError::ReadError => CaptureError::Io("read error".into()),
                        _ => CaptureError::Truncated {
                            frames_read: frames,
                        },
                    });
                }
            }
            Err(PcapError::BufferTooSmall) => {
                if capacity >= MAX_BLOCK || !reader.grow(capacity * 2) {
                    return Err(CaptureError::Corrupt {
                        frames_read: frames,
                        detail: format!("a block is larger than {MAX_BLOCK} bytes"),
                    });
                }
                capacity *= 2;
                if let Err(e) = reader.refill() {
                    return Err(CaptureError::Corrupt {
                        frames_read: frames,
                        detail: format!("{e:?}"),
                    });
                }
            }
            Err(PcapError::UnexpectedEof) => {
                return Err(CaptureError::Truncated {
                    frames_read: frames,
                });
            }
            Err(e) => {
                return Err(CaptureError::Corrupt {
                    frames_read: frames,
                    detail: match e {
                        PcapError::NomError(_, k) | PcapError::OwnedNomError(_, k) => {
                            format!("block does not parse ({k:?})")
                        }
                        other => format!("{other:?}"),
                    },
                });
            }
        }
    }
}
