//! The KB's reading of a SecurityMode value, bit by bit.

use crate::wire::{SigningSetting, Smb1SecurityMode, Smb2SecurityMode};

/// The article's reading of an SMB1 NEGOTIATE response SecurityMode ("bit 0:
/// 0 = share, 1 = user; bit 1: encrypt passwords; bit 2: Security
/// Signatures enabled; bit 3: Security Signatures required").
pub fn describe_smb1_security_mode(mode: Smb1SecurityMode) -> Vec<&'static str> {
    let mut out = vec![if mode.user_security() {
        "user level security"
    } else {
        "share level security"
    }];
    if mode.encrypt_passwords() {
        out.push("encrypt passwords");
    }
    if mode.signing_enabled() {
        out.push("security signatures (SMB sequence numbers) enabled");
    }
    if mode.signing_required() {
        out.push("security signatures (SMB sequence numbers) required");
    }
    out
}

/// One-line summary in the KB's terms: 3 = signing disabled, 7 = enabled but
/// not required, 15 = enabled and required.
pub fn smb1_security_mode_summary(mode: Smb1SecurityMode) -> &'static str {
    match mode.setting() {
        SigningSetting::Disabled => "SMB signing is disabled at the server",
        SigningSetting::Enabled => "SMB signing is enabled and not required at the server",
        SigningSetting::Required => "SMB signing is enabled and required at the server",
    }
}

/// Bits of the 16-bit SMB2 SecurityMode.
pub fn describe_smb2_security_mode(mode: Smb2SecurityMode) -> Vec<&'static str> {
    let mut out = Vec::new();
    if mode.signing_enabled() {
        out.push("signing enabled");
    }
    if mode.signing_required() {
        out.push("signing required");
    }
    if out.is_empty() {
        out.push("signing not required (SMB2+ always allows signing)");
    }
    out
}
