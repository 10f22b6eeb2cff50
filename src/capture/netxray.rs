//! NetXRay / "Sniffer (Windows)" 2.x capture files, which tshark reads and
//! some public SMB captures use (the corpus's `msdn/languard_scan.cap`).
//! pcap-parser does not read them. Layout as in Wireshark's
//! wiretap/netxray.c: a 128-byte header (magic "XCP\0", version, frame count,
//! start and end offsets of the records, network type), then records of a
//! 40-byte header (time low/high, original length, included length) and the
//! frame bytes. Only version 2.x with Ethernet is read.

use super::CaptureError;
use super::packet::LinkType;
use nom::Parser as _;
use nom::bytes::complete::{tag, take};
use nom::number::complete::{le_u8, le_u16, le_u32};

pub const NETXRAY_MAGIC: &[u8; 4] = b"XCP\0";
const HEADER_LEN: usize = 128;
const RECORD_HEADER_V2: usize = 40;

type Res<'a, T> = nom::IResult<&'a [u8], T, crate::wire::WireError>;

struct Header {
    version: [u8; 8],
    start_offset: u32,
    end_offset: u32,
    network: u8,
}

fn parse_header(i: &[u8]) -> Res<'_, Header> {
    let (i, _magic) = tag(&NETXRAY_MAGIC[..]).parse(i)?;
    let (i, version) = take(8usize).parse(i)?;
    let (i, _start_time) = le_u32.parse(i)?;
    let (i, _nframes) = le_u32.parse(i)?;
    let (i, _reserved) = le_u32.parse(i)?;
    let (i, start_offset) = le_u32.parse(i)?;
    let (i, end_offset) = le_u32.parse(i)?;
    let (i, _reserved2) = take(6usize).parse(i)?;
    let (i, network) = le_u8.parse(i)?;
    let mut v = [0u8; 8];
    v.copy_from_slice(version);
    Ok((
        i,
        Header {
            version: v,
            start_offset,
            end_offset,
            network,
        },
    ))
}

fn parse_record_v2(i: &[u8]) -> Res<'_, &[u8]> {
    let (i, _time_low) = le_u32.parse(i)?;
    let (i, _time_high) = le_u32.parse(i)?;
    let (i, _orig_len) = le_u16.parse(i)?;
    let (i, incl_len) = le_u16.parse(i)?;
    let (i, _reserved) = take(RECORD_HEADER_V2 - 12).parse(i)?;
    take(incl_len as usize).parse(i)
}

/// Read a whole NetXRay file held in memory (these files are small: the
/// format has 16-bit record lengths and 32-bit offsets).
pub fn read_netxray(
    data: &[u8],
    mut on_frame: impl FnMut(LinkType, &[u8]),
) -> Result<u64, CaptureError> {
    let (_, h) = parse_header(data).map_err(|_| CaptureError::Corrupt {
        frames_read: 0,
        detail: "NetXRay header does not parse".into(),
    })?;
    if !h.version.starts_with(b"002.") {
        return Err(CaptureError::Corrupt {
            frames_read: 0,
            detail: format!(
                "NetXRay version {} is not supported (only 2.x)",
                String::from_utf8_lossy(&h.version).trim_end_matches('\0')
            ),
        });
    }
    if h.network != 0 {
        return Err(CaptureError::Corrupt {
            frames_read: 0,
            detail: format!(
                "NetXRay network type {} is not supported (only Ethernet)",
                h.network
            ),
        });
    }
    let start = (h.start_offset as usize).max(HEADER_LEN);
    let end = (h.end_offset as usize).min(data.len());
    let mut rest = data.get(start..end).unwrap_or(&[]);
    let mut frames = 0u64;
    while !rest.is_empty() {
        match parse_record_v2(rest) {
            Ok((r, frame)) => {
                frames += 1;
                on_frame(LinkType::Ethernet, frame);
                rest = r;
            }
            Err(_) => {
                return Err(CaptureError::Truncated {
                    frames_read: frames,
                });
            }
        }
    }
    if (h.end_offset as usize) > data.len() {
        return Err(CaptureError::Truncated {
            frames_read: frames,
        });
    }
    Ok(frames)
}
