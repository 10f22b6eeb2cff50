//! What a connection's SMB3 encryption and compression hid, for C (added after 0.3.0):
//! decryption and decompression tallies, the commands that ran inside the
//! tunnel, and every tree connect (cleartext or decrypted, SMB1 or SMB2).
//! New structs and functions only: `smbsign_connection_info` is unchanged.

#![allow(clippy::missing_safety_doc)]

use super::connection::{copy_item, smbsign_connection};
use super::*;
use crate::posture::ConnectionReport;

/// Encryption and compression totals of one connection (added after 0.3.0). Plain
/// data.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct smbsign_tunnel_info {
    /// Credentials were given, so decryption was tried; the decryption
    /// counts below are 0 otherwise.
    pub decrypting: bool,
    /// TRANSFORM messages seen (the same as the info's `encrypted_messages`).
    pub encrypted_messages: u64,
    /// TRANSFORM messages whose AEAD tag verified and that were decrypted.
    pub decrypted_messages: u64,
    /// TRANSFORM messages whose tag did not verify (forged or altered).
    pub bad_tag_messages: u64,
    /// Frames of those listed by `smbsign_connection_bad_tag_frames`.
    pub bad_tag_frame_count: usize,
    /// COMPRESSION_TRANSFORM messages seen, decompressed, and not
    /// decompressed (all reasons together).
    pub compressed_messages: u64,
    pub decompressed_messages: u64,
    pub decompression_failures: u64,
    /// Entries for `smbsign_connection_get_tree_connect` and
    /// `smbsign_connection_get_decrypted_command`.
    pub tree_connect_count: usize,
    pub decrypted_command_count: usize,
}

/// One TREE_CONNECT (SMB2) or TREE_CONNECT_ANDX (SMB1) (added after 0.3.0). Strings
/// are owned by the `smbsign_connection`. Plain data.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct smbsign_tree_connect {
    /// `\\server\share` as the client sent it (UTF-8).
    pub path: *const c_char,
    pub request_frame: u64,
    /// The fields below are set only when the response was seen.
    pub has_response: bool,
    pub response_frame: u64,
    /// NTSTATUS of the response (name: `smbsign_status_name`).
    pub status: u32,
    pub tree_id: u32,
    /// 1 disk, 2 named pipe, 3 printer (MS-SMB2 ShareType; SMB1 services
    /// mapped), 0 when not known.
    pub share_type: u8,
    /// SMB2 ShareFlags; SMB1 has none (`has_share_flags` false).
    pub has_share_flags: bool,
    pub share_flags: u32,
    /// SHARE_FLAG_ENCRYPT_DATA: the share requires encryption.
    pub encrypt_data: bool,
    /// SMB1: the response's service ("A:", "IPC", "LPT1:", "COMM"), else
    /// NULL.
    pub service: *const c_char,
    /// Sent inside a TRANSFORM message and seen once decrypted.
    pub decrypted: bool,
}

/// Messages of one SMB2 command seen inside the tunnel (added after 0.3.0).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct smbsign_command_count {
    /// SMB2 command code (name: `smbsign_command_name(false, command)`).
    pub command: u16,
    pub count: u64,
}

/// The tunnel part of a connection snapshot.
#[derive(Debug, Clone, Default)]
pub(super) struct Tunnel {
    info: smbsign_tunnel_info,
    trees: Vec<smbsign_tree_connect>,
    commands: Vec<smbsign_command_count>,
}

impl Tunnel {
    /// From the typed report; `keep` owns the C strings.
    pub(super) fn of(r: &ConnectionReport, keep: &mut impl FnMut(&str) -> *const c_char) -> Self {
        let trees: Vec<smbsign_tree_connect> = r
            .tree_connects
            .iter()
            .map(|t| smbsign_tree_connect {
                path: keep(&t.path),
                request_frame: t.frame,
                has_response: t.response_frame.is_some(),
                response_frame: t.response_frame.unwrap_or(0),
                status: t.status_code.map_or(0, |s| s.0),
                tree_id: t.tree_id.unwrap_or(0),
                share_type: t.share_type_code.map_or(0, |s| s.0),
                has_share_flags: t.share_flags.is_some(),
                share_flags: t.share_flags.unwrap_or(0),
                encrypt_data: t.encrypt_data,
                service: t.service.as_deref().map_or(std::ptr::null(), &mut *keep),
                decrypted: t.decrypted,
            })
            .collect();
        let commands: Vec<smbsign_command_count> = r
            .decrypted_command_codes
            .iter()
            .map(|(&command, &count)| smbsign_command_count { command, count })
            .collect();
        let info = smbsign_tunnel_info {
            decrypting: r.decrypted_messages.is_some(),
            encrypted_messages: r.encrypted_messages,
            decrypted_messages: r.decrypted_messages.unwrap_or(0),
            bad_tag_messages: r.bad_tag_messages.unwrap_or(0),
            bad_tag_frame_count: r.bad_tag_frames.len(),
            compressed_messages: r.compressed_messages,
            decompressed_messages: r.decompressed_messages,
            decompression_failures: r.decompression_failures.values().sum(),
            tree_connect_count: trees.len(),
            decrypted_command_count: commands.len(),
        };
        Tunnel {
            info,
            trees,
            commands,
        }
    }
}

/// Copy the connection's encryption and compression totals into `*out`
/// (added after 0.3.0). Thread-safety: a connection is immutable; any thread may read
/// it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_get_tunnel(
    conn: *const smbsign_connection,
    out: *mut smbsign_tunnel_info,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        // SAFETY: NULL or a live smbsign_connection.
        let Some(c) = (unsafe { conn.as_ref() }) else {
            return SMBSIGN_NULL_PARAMETER;
        };
        if out.is_null() {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: non-NULL, writable (caller's promise).
        unsafe { out.write(c.tunnel.info) };
        SMBSIGN_OK
    })
}

/// Copy tree connect `index` (0 ≤ index < tree_connect_count) into `*out`
/// (added after 0.3.0). Strings are owned by `conn` and live as long as it. Returns
/// SMBSIGN_OUT_OF_RANGE past the end. At most 64 per connection are kept.
/// Thread-safety: any thread may read a connection.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_get_tree_connect(
    conn: *const smbsign_connection,
    index: usize,
    out: *mut smbsign_tree_connect,
) -> smbsign_result {
    // SAFETY: the pointers are checked there.
    boundary(SMBSIGN_PANIC, || unsafe {
        copy_item(conn, index, out, |c| &c.tunnel.trees)
    })
}

/// Copy entry `index` (0 ≤ index < decrypted_command_count) of the
/// per-command counts of decrypted messages into `*out`, in increasing
/// command order (added after 0.3.0). Returns SMBSIGN_OUT_OF_RANGE past the end.
/// Thread-safety: any thread may read a connection.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_get_decrypted_command(
    conn: *const smbsign_connection,
    index: usize,
    out: *mut smbsign_command_count,
) -> smbsign_result {
    // SAFETY: the pointers are checked there.
    boundary(SMBSIGN_PANIC, || unsafe {
        copy_item(conn, index, out, |c| &c.tunnel.commands)
    })
}

/// Copy the first frames of TRANSFORM messages whose tag did not verify
/// (up to 16) into `out[0 .. cap]` and their number into `*out_count`
/// (added after 0.3.0). `out` may be NULL when `cap` is 0. Thread-safety: any thread
/// may read a connection.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smbsign_connection_bad_tag_frames(
    conn: *const smbsign_connection,
    out: *mut u64,
    cap: usize,
    out_count: *mut usize,
) -> smbsign_result {
    boundary(SMBSIGN_PANIC, || {
        // SAFETY: NULL or a live smbsign_connection.
        let Some(c) = (unsafe { conn.as_ref() }) else {
            return SMBSIGN_NULL_PARAMETER;
        };
        if out_count.is_null() || (out.is_null() && cap > 0) {
            return SMBSIGN_NULL_PARAMETER;
        }
        // SAFETY: `out_count` checked, `out` checked against `cap`.
        unsafe { write_list(&c.report.bad_tag_frames, out, cap, out_count) };
        SMBSIGN_OK
    })
}
