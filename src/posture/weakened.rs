//! `signing-weakened-from-default`: a side that does not require signing
//! although the system the wire names requires it out of the box. Someone
//! changed the setting (or a policy did); the finding names the default,
//! where it comes from, and the setting that was turned off.

use super::finding::{Finding, FindingCode};
use super::kb::{self, Side};
use super::os::{BUILD_24H2, OsReport};
use crate::conn::Connection;
use crate::wire::SigningSetting;

/// Share names only a domain controller serves.
const DC_SHARES: [&str; 2] = ["SYSVOL", "NETLOGON"];

pub(super) fn weakened_defaults(c: &Connection, f: &mut Vec<Finding>) {
    server_side(c, f);
    client_side(c, f);
}

/// The share part of `\\server\share`, when it is a domain controller's.
fn dc_share(path: &str) -> Option<&str> {
    let share = path
        .trim_start_matches(['\\', '/'])
        .split(['\\', '/'])
        .nth(1)?;
    DC_SHARES
        .iter()
        .copied()
        .find(|s| s.eq_ignore_ascii_case(share))
}

fn server_side(c: &Connection, f: &mut Vec<Finding>) {
    let Some(mode) = c.server.security_mode else {
        return;
    };
    if mode.setting() == SigningSetting::Required {
        return;
    }
    let seen = format!("0x{:02x} (signing {})", mode.raw(), mode.setting());
    let frames: Vec<u64> = c.server.negotiate_frame.into_iter().collect();
    // A domain controller: it serves SYSVOL or NETLOGON. Windows domain
    // controllers (the Default Domain Controllers Policy) and Samba AD DCs
    // (`server signing = default`) require signing out of the box.
    let dc = c.tree_connects.iter().find_map(|t| {
        dc_share(&t.path)
            .filter(|_| t.status.is_none_or(|s| s == crate::wire::NtStatus::Success))
            .map(|share| (share, t.request_frame))
    });
    if let Some((share, frame)) = dc {
        let mut frames = frames.clone();
        frames.push(frame);
        f.push(
            Finding::new(
                FindingCode::SigningWeakenedFromDefault,
                format!(
                    "this server serves {share} (frame {frame}), so it is a domain controller, and \
                     domain controllers require signing by default (Windows since 2000: the Default \
                     Domain Controllers Policy; Samba AD DC: server signing = default); this one does \
                     not (security mode {seen}): the setting was changed"
                ),
            )
            .frames(&frames)
            .evidence("server SecurityMode", seen.clone(), "signing required (domain controller default)".into())
            .fix(Side::Server, kb::require_signing_fix(Side::Server)),
        );
        return;
    }
    let Some(os) = OsReport::of_server(c).filter(OsReport::signs_by_default) else {
        return;
    };
    f.push(
        Finding::new(
            FindingCode::SigningWeakenedFromDefault,
            format!(
                "its NTLM CHALLENGE names {} ({}): Windows 11 24H2 requires signing on inbound \
                 connections by default; this host does not require it (security mode {seen}), so the \
                 setting was changed, unless it is Windows Server 2025 (same build), whose member \
                 servers do not require inbound signing",
                os.name, os.version
            ),
        )
        .frames(&frames)
        .evidence("NTLMSSP VERSION", os.version.clone(), format!("build {BUILD_24H2} or later"))
        .evidence("server SecurityMode", seen, "signing required (Windows 11 24H2 default)".into())
        .fix(Side::Server, kb::require_signing_fix(Side::Server)),
    );
}

fn client_side(c: &Connection, f: &mut Vec<Finding>) {
    let Some(setting) = c.client_signing() else {
        return;
    };
    if setting == SigningSetting::Required {
        return;
    }
    let Some((os, frame)) = c.ntlm.iter().rev().find_map(|l| {
        let a = l.auth.as_ref()?;
        Some((OsReport::of(a.version?), a.frame))
    }) else {
        return;
    };
    if !os.signs_by_default() {
        return;
    }
    let seen = match c.client.security_mode {
        Some(m) => format!("0x{:02x} (signing {setting})", m.0),
        None => format!("signing {setting}"),
    };
    let frames: Vec<u64> = c
        .client
        .negotiate_frame
        .into_iter()
        .chain([frame])
        .collect();
    f.push(
        Finding::new(
            FindingCode::SigningWeakenedFromDefault,
            format!(
                "the client's NTLM AUTHENTICATE (frame {frame}) names {} ({}): Windows 11 24H2 and \
                 Windows Server 2025 require signing on outbound connections by default (Windows 11 \
                 Home excepted); this client did not require it (its NEGOTIATE: {seen}), so the \
                 setting was changed",
                os.name, os.version
            ),
        )
        .frames(&frames)
        .evidence("NTLMSSP VERSION", os.version.clone(), format!("build {BUILD_24H2} or later"))
        .evidence("client SecurityMode", seen, "signing required (Windows 11 24H2 / Server 2025 default)".into())
        .fix(Side::Client, kb::require_signing_fix(Side::Client)),
    );
}

#[cfg(test)]
mod tests {
    use super::dc_share;

    #[test]
    fn domain_controller_shares() {
        assert_eq!(dc_share(r"\\dc1.lab.example\sysvol"), Some("SYSVOL"));
        assert_eq!(dc_share(r"\\10.0.0.1\NETLOGON"), Some("NETLOGON"));
        assert_eq!(dc_share(r"\\fs1\share"), None);
        assert_eq!(dc_share("garbage"), None);
    }
}
