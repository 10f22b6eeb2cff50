//! `smbsign explain`: the KB's knowledge on demand.

use crate::args::ExplainArgs;
use smbsign::wire::{Smb1SecurityMode, Smb2SecurityMode};
use std::io::Write;

pub fn explain(args: ExplainArgs) -> i32 {
    use smbsign::posture::kb;
    let mut out: Vec<serde_json::Value> = Vec::new();
    let mut text = String::new();
    if let Some(mode) = args.security_mode {
        security_mode(&args, mode, &mut text, &mut out);
    }
    if let (Some(client), Some(server)) = (args.client, args.server) {
        scenario(&args, client, server, &mut text, &mut out);
    }
    if let Some(os) = &args.os {
        let Some(role) = kb::Role::parse(&args.role) else {
            eprintln!(
                "smbsign: --role '{}' is not one of dc, member, any",
                args.role
            );
            return 2;
        };
        if let Err(code) = defaults(os, role, &mut text, &mut out) {
            return code;
        }
    }
    if out.is_empty() {
        eprintln!(
            "smbsign: explain needs --security-mode N, --client X --server Y, or --os SYSTEM (see --help)"
        );
        return 2;
    }
    let rendered = if args.json {
        out.iter().map(|v| format!("{v}\n")).collect::<String>()
    } else {
        text
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(rendered.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("smbsign: writing output: {e}");
            2
        }
    }
}

/// A SecurityMode value, bit by bit, in the KB's words.
fn security_mode(
    args: &ExplainArgs,
    mode: u16,
    text: &mut String,
    out: &mut Vec<serde_json::Value>,
) {
    if args.smb2 {
        let bits = [
            (
                Smb2SecurityMode::SIGNING_ENABLED,
                "signing enabled (SMB2_NEGOTIATE_SIGNING_ENABLED)",
            ),
            (
                Smb2SecurityMode::SIGNING_REQUIRED,
                "signing required (SMB2_NEGOTIATE_SIGNING_REQUIRED)",
            ),
        ];
        let setting = smbsign::wire::Smb2SecurityMode(mode).setting();
        text.push_str(&format!("SMB2/3 SecurityMode {mode} (0x{mode:04x}):\n"));
        for (mask, meaning) in bits {
            text.push_str(&format!(
                "  0x{mask:x} {} {meaning}\n",
                if mode & mask != 0 { "set  " } else { "clear" }
            ));
        }
        text.push_str(&format!(
            "  => signing {}: SMB2+ can always sign; it signs when either side requires it\n",
            setting.as_str()
        ));
        out.push(serde_json::json!({
            "type": "security-mode", "protocol": "smb2", "value": mode,
            "bits": bits.iter().map(|(m, t)| serde_json::json!({"mask": m, "set": mode & m != 0, "meaning": t})).collect::<Vec<_>>(),
            "signing": setting.as_str(),
        }));
    } else {
        let m8 = mode & 0xff;
        let bits = [
            (
                Smb1SecurityMode::USER_SECURITY,
                "0 = share, 1 = user (user level security)",
            ),
            (Smb1SecurityMode::ENCRYPT_PASSWORDS, "encrypt passwords"),
            (
                Smb1SecurityMode::SIGNATURES_ENABLED,
                "Security Signatures (SMB sequence numbers) enabled",
            ),
            (
                Smb1SecurityMode::SIGNATURES_REQUIRED,
                "Security Signatures (SMB sequence numbers) required",
            ),
        ];
        text.push_str(&format!(
            "SMB1 NEGOTIATE response SecurityMode {mode} (0x{mode:02x}):\n"
        ));
        for (k, (mask, meaning)) in bits.iter().enumerate() {
            let set = m8 & mask != 0;
            let meaning = match (k, set) {
                (0, true) => "user level security",
                (0, false) => "share level security",
                _ => meaning,
            };
            text.push_str(&format!(
                "  bit {k} = {}: {meaning}{}\n",
                u8::from(set),
                if k > 0 && !set { " (not set)" } else { "" }
            ));
        }
        let summary =
            smbsign::posture::smb1_security_mode_summary(smbsign::wire::Smb1SecurityMode(m8));
        text.push_str(&format!(
            "  => {summary} (the KB: 3 = disabled, 7 = enabled, 15 = required)\n"
        ));
        if mode > 0xff {
            text.push_str("  note: SMB1 SecurityMode is 8 bits (16 in LANMAN responses); higher bits ignored\n");
        }
        out.push(serde_json::json!({
            "type": "security-mode", "protocol": "smb1", "value": mode,
            "bits": bits.iter().enumerate().map(|(k, (m, t))| serde_json::json!({"bit": k, "mask": m, "set": m8 & m != 0, "meaning": t})).collect::<Vec<_>>(),
            "signing": smbsign::wire::Smb1SecurityMode(m8).setting().as_str(),
            "summary": summary,
        }));
    }
}

/// The predicted outcome of a client/server pair, with its fix.
fn scenario(
    args: &ExplainArgs,
    client: smbsign::conn::SigningSetting,
    server: smbsign::conn::SigningSetting,
    text: &mut String,
    out: &mut Vec<serde_json::Value>,
) {
    use smbsign::posture::kb;
    let protocols: Vec<kb::Protocol> = match (args.smb1, args.smb2) {
        (true, _) => vec![kb::Protocol::Smb1],
        (_, true) => vec![kb::Protocol::Smb2],
        _ => vec![kb::Protocol::Smb1, kb::Protocol::Smb2],
    };
    for p in protocols {
        let outcome = kb::predict(p, client, server);
        let fix = match outcome {
            kb::Outcome::ClosedAfterNegotiate => Some(format!(
                "on the server, {}",
                kb::enable_signing_fix(kb::Side::Server)
            )),
            kb::Outcome::AccessDenied => Some(format!(
                "on the client, {}",
                kb::enable_signing_fix(kb::Side::Client)
            )),
            kb::Outcome::SucceedsUnsigned => Some(format!(
                "to sign, on the server, {}",
                kb::require_signing_fix(kb::Side::Server)
            )),
            kb::Outcome::SucceedsSigned => None,
        };
        let name = match p {
            kb::Protocol::Smb1 => "SMB1",
            kb::Protocol::Smb2 => "SMB2/SMB3",
        };
        text.push_str(&format!(
            "{name}: client signing {}, server signing {}: {}\n",
            client.as_str(),
            server.as_str(),
            outcome.describe()
        ));
        if let Some(f) = &fix {
            text.push_str(&format!("  fix: {f}\n"));
        }
        out.push(serde_json::json!({
            "type": "scenario", "protocol": p, "client": client.as_str(), "server": server.as_str(),
            "outcome": outcome, "description": outcome.describe(), "fix": fix,
        }));
    }
}

/// A system's defaults, with the policy and registry value of each.
fn defaults(
    os: &str,
    role: smbsign::posture::kb::Role,
    text: &mut String,
    out: &mut Vec<serde_json::Value>,
) -> Result<(), i32> {
    use smbsign::posture::{kb, os as modern};
    let rows = kb::defaults_for(os, role);
    let newer = modern::modern_defaults_for(os);
    if rows.is_empty() && newer.is_empty() {
        let mut known: Vec<&str> = kb::DEFAULTS.iter().map(|d| d.os).collect();
        known.dedup();
        known.extend(modern::MODERN_DEFAULTS.iter().map(|d| d.os));
        eprintln!(
            "smbsign: '{os}' is not a system smbsign knows the defaults of (it knows: {})",
            known.join("; ")
        );
        return Err(2);
    }
    for d in &newer {
        text.push_str(&format!(
            "{} defaults:\n  outbound (client) signing required: {}\n  inbound (server) signing required: {}\n",
            d.os, d.outbound_required, d.inbound_required
        ));
        if !d.related.is_empty() {
            text.push_str(&format!("  related: {}\n", d.related));
        }
        text.push_str(&format!("  source: {}\n", d.source));
        out.push(serde_json::json!({
            "type": "defaults", "os": d.os, "outbound_required": d.outbound_required,
            "inbound_required": d.inbound_required, "related": d.related, "source": d.source,
        }));
    }
    if rows.is_empty() {
        return Ok(());
    }
    for d in rows {
        let yn = |v: Option<bool>| match v {
            Some(true) => "1",
            Some(false) => "0",
            None => "not described",
        };
        let role = match d.role {
            kb::Role::Any => String::new(),
            kb::Role::DomainController => " (domain controller)".into(),
            kb::Role::Member => " (member server / workstation)".into(),
        };
        text.push_str(&format!("{}{role} defaults (KB 887429):\n", d.os));
        let client_policies = kb::POLICIES.iter().filter(|p| p.side == kb::Side::Client);
        for p in client_policies {
            let v = match p.knob {
                kb::Knob::Enable => d.client_enabled,
                kb::Knob::Require => d.client_required,
            };
            text.push_str(&format!(
                "  client: {}\\{} = {}\n",
                d.client_key,
                p.value_name,
                yn(v)
            ));
            text.push_str(&format!(
                "          policy \"{}\" / \"{}\"\n",
                p.policy_xp_2003, p.policy_2000
            ));
        }
        for p in kb::POLICIES.iter().filter(|p| p.side == kb::Side::Server) {
            let v = match p.knob {
                kb::Knob::Enable => d.server_enabled,
                kb::Knob::Require => d.server_required,
            };
            match d.server_key {
                Some(key) => {
                    text.push_str(&format!("  server: {key}\\{} = {}\n", p.value_name, yn(v)));
                    text.push_str(&format!(
                        "          policy \"{}\" / \"{}\"\n",
                        p.policy_xp_2003, p.policy_2000
                    ));
                }
                None => text.push_str(&format!(
                    "  server: {} not described by the KB\n",
                    p.value_name
                )),
            }
        }
        out.push(serde_json::json!({
            "type": "defaults", "os": d.os, "role": d.role,
            "client": {"enabled": d.client_enabled, "required": d.client_required, "registry_key": d.client_key},
            "server": {"enabled": d.server_enabled, "required": d.server_required, "registry_key": d.server_key},
            "policies": kb::POLICIES,
            "policy_path": kb::POLICY_PATH,
            "advice": kb::POLICY_ADVICE,
        }));
    }
    text.push_str(&format!(
        "  ({}; Group Policy path: {})\n",
        kb::POLICY_ADVICE,
        kb::POLICY_PATH
    ));
    Ok(())
}
