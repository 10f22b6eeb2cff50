//! MIT keytab files (the format `ktutil`, `samba-tool domain exportkeytab`
//! and `ktpass` write): a version, then entries of a principal, a key
//! version number and one key. No maintained crate with a permissive
//! licence reads them, so this is the one nom parser for the format:
//!
//! ```text
//! file    = 0x05 version(1 or 2) entry*
//! entry   = size:i32   (negative: a hole of -size bytes, skipped)
//!           count:u16  (components; version 1 counts the realm too)
//!           realm:data component:data*count
//!           name_type:u32 (version 2 only) timestamp:u32 vno8:u8
//!           keytype:u16 key:data [vno32:u32 when the entry has room]
//! data    = length:u16 bytes
//! ```
//!
//! Version 2 is big-endian; version 1 is the writer's byte order, taken
//! here as little-endian (the x86 machines that wrote it).

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, le_u16, le_u32, u8 as byte};
use nom::{IResult, Parser};

/// One key of a keytab. The key itself never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct KeytabKey {
    /// `comp1/comp2@REALM`, e.g. `DC1$@LAB.EXAMPLE` or
    /// `cifs/dc1.lab.example@LAB.EXAMPLE`.
    pub principal: String,
    /// The key version number (the 32-bit one when present).
    pub kvno: u32,
    /// The Kerberos encryption type (17, 18, 23…).
    pub etype: i32,
    pub key: Vec<u8>,
}

impl std::fmt::Debug for KeytabKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeytabKey")
            .field("principal", &self.principal)
            .field("kvno", &self.kvno)
            .field("etype", &self.etype)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Why a keytab was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeytabError {
    NotAKeytab,
    Version(u8),
    /// An entry that runs past the end of the file or does not parse, at
    /// this byte offset.
    Entry(usize),
}

impl std::fmt::Display for KeytabError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeytabError::NotAKeytab => f.write_str("not a keytab (it does not start with 0x05)"),
            KeytabError::Version(v) => write!(f, "keytab version {v} (1 and 2 are known)"),
            KeytabError::Entry(at) => write!(f, "keytab entry at byte {at} is cut or malformed"),
        }
    }
}

/// Keytabs bigger than this are refused (a machine keytab is a few hundred
/// bytes; this bounds what a hostile file can make smbsign hold).
pub const MAX_KEYTAB_BYTES: usize = 1 << 20;

/// Every key of a keytab file's bytes.
pub fn parse_keytab(b: &[u8]) -> Result<Vec<KeytabKey>, KeytabError> {
    match b {
        [0x05, 1 | 2, ..] => {}
        [0x05, v, ..] => return Err(KeytabError::Version(*v)),
        _ => return Err(KeytabError::NotAKeytab),
    }
    let v2 = b[1] == 2;
    let mut keys = Vec::new();
    let mut at = 2;
    while b.len() - at >= 4 {
        let raw = &b[at..at + 4];
        let size = if v2 {
            i32::from_be_bytes(raw.try_into().expect("4 bytes"))
        } else {
            i32::from_le_bytes(raw.try_into().expect("4 bytes"))
        };
        let len = size.unsigned_abs() as usize;
        let body = b.get(at + 4..at + 4 + len).ok_or(KeytabError::Entry(at))?;
        if size > 0 {
            let parsed = if v2 { entry_v2(body) } else { entry_v1(body) };
            keys.push(parsed.map_err(|_| KeytabError::Entry(at))?.1);
        }
        at += 4 + len;
    }
    Ok(keys)
}

fn data_be(i: &[u8]) -> IResult<&[u8], &[u8]> {
    let (i, n) = be_u16(i)?;
    take(n).parse(i)
}

fn data_le(i: &[u8]) -> IResult<&[u8], &[u8]> {
    let (i, n) = le_u16(i)?;
    take(n).parse(i)
}

fn principal(realm: &[u8], components: &[&[u8]]) -> String {
    let names: Vec<String> = components
        .iter()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!("{}@{}", names.join("/"), String::from_utf8_lossy(realm))
}

/// A version 2 entry (big-endian).
fn entry_v2(i: &[u8]) -> IResult<&[u8], KeytabKey> {
    let (i, count) = be_u16(i)?;
    let (mut i, realm) = data_be(i)?;
    let mut components = Vec::new();
    for _ in 0..count {
        let (rest, c) = data_be(i)?;
        components.push(c);
        i = rest;
    }
    let (i, _name_type) = be_u32(i)?;
    let (i, _timestamp) = be_u32(i)?;
    let (i, vno8) = byte(i)?;
    let (i, keytype) = be_u16(i)?;
    let (i, key) = data_be(i)?;
    let (i, kvno) = match be_u32::<_, nom::error::Error<&[u8]>>(i) {
        Ok((rest, v)) if v != 0 => (rest, v),
        _ => (i, vno8 as u32),
    };
    Ok((
        i,
        KeytabKey {
            principal: principal(realm, &components),
            kvno,
            etype: keytype as i16 as i32,
            key: key.to_vec(),
        },
    ))
}

/// A version 1 entry: the count includes the realm, no name type.
fn entry_v1(i: &[u8]) -> IResult<&[u8], KeytabKey> {
    let (i, count) = le_u16(i)?;
    let (mut i, realm) = data_le(i)?;
    let mut components = Vec::new();
    for _ in 1..count {
        let (rest, c) = data_le(i)?;
        components.push(c);
        i = rest;
    }
    let (i, _timestamp) = le_u32(i)?;
    let (i, vno8) = byte(i)?;
    let (i, keytype) = le_u16(i)?;
    let (i, key) = data_le(i)?;
    Ok((
        i,
        KeytabKey {
            principal: principal(realm, &components),
            kvno: vno8 as u32,
            etype: keytype as i16 as i32,
            key: key.to_vec(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tests/captures/kerberos/dc1.keytab, written by `samba-tool domain
    /// exportkeytab --principal=DC1$` (tests/lab/kerberos.py): `klist -kte`
    /// lists DC1$@LAB.EXAMPLE, kvno 1, with aes256, aes128 and arcfour keys.
    #[test]
    fn samba_exported_keytab() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/captures/kerberos/dc1.keytab"
        );
        let keys = parse_keytab(&std::fs::read(path).unwrap()).unwrap();
        let summary: Vec<(String, u32, i32, usize)> = keys
            .iter()
            .map(|k| (k.principal.clone(), k.kvno, k.etype, k.key.len()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("DC1$@LAB.EXAMPLE".to_string(), 1, 18, 32),
                ("DC1$@LAB.EXAMPLE".to_string(), 1, 17, 16),
                ("DC1$@LAB.EXAMPLE".to_string(), 1, 23, 16),
            ]
        );
        assert!(format!("{:?}", keys[0]).contains("key: \"<redacted>\""));
    }

    #[test]
    fn bad_keytabs_say_what_is_wrong() {
        assert_eq!(parse_keytab(b"\x04\x02"), Err(KeytabError::NotAKeytab));
        assert_eq!(parse_keytab(b"\x05\x03"), Err(KeytabError::Version(3)));
        // An entry claiming 0x4a bytes with 3 present.
        assert_eq!(
            parse_keytab(b"\x05\x02\x00\x00\x00\x4a\x00\x01\x00"),
            Err(KeytabError::Entry(2))
        );
        // A hole is skipped; an empty keytab has no keys.
        assert_eq!(
            parse_keytab(b"\x05\x02\xff\xff\xff\xfe\x00\x00"),
            Ok(vec![])
        );
        assert_eq!(parse_keytab(b"\x05\x02"), Ok(vec![]));
    }
}
