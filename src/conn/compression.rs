//! COMPRESSION_TRANSFORM messages, cleartext or found inside a TRANSFORM:
//! decompressed (`verify::decompress`) and the SMB2 messages inside
//! analysed like any others.

use super::Connection;
use crate::verify::decompress::decompress_message;
use crate::wire::flatten;
use crate::wire::smb2 as wire_smb2;

impl Connection {
    /// A whole COMPRESSION_TRANSFORM message of `frame`.
    pub(super) fn on_compressed(&mut self, frame: u64, msg: &[u8]) {
        let h = match wire_smb2::parse_smb2_compression_header(msg) {
            Ok((_, h)) => h,
            Err(e) => return self.note_decode_error(frame, flatten(e)),
        };
        match decompress_message(msg, &h) {
            Ok((plain, algorithms)) => {
                self.decompression.decompressed += 1;
                for a in algorithms {
                    *self.decompression.algorithms.entry(a.0).or_default() += 1;
                }
                if plain.starts_with(b"\xfeSMB") {
                    self.analyse_smb2(frame, &plain);
                } else {
                    self.decompression
                        .note_failure("the decompressed bytes are not an SMB2 message".into());
                }
            }
            Err(e) => self.decompression.note_failure(e.to_string()),
        }
    }
}
