//! Each finding code from a model built by hand, with the fixes it must
//! carry: one per side that is misconfigured, never a side that is not,
//! and "Fix:" once in the message.

use super::kb::{self, Side};
use super::*;
use crate::conn::{Connection, Session};
use crate::wire::{Dialect, SecurityMode, Smb1SecurityMode, Smb2SecurityMode, WireError};

fn smb1(mode: u16) -> Connection {
    let mut c = Connection::default();
    c.dialect = Some(Dialect::Smb1("NT LM 0.12".into()));
    c.server.security_mode = Some(SecurityMode::Smb1(Smb1SecurityMode(mode)));
    c.counts.smb1 = 10;
    c
}

fn smb2(mode: u16) -> Connection {
    let mut c = Connection::default();
    c.dialect = Some(Dialect::Smb2(crate::wire::smb2::Smb2Dialect(0x0311)));
    c.server.security_mode = Some(SecurityMode::Smb2(Smb2SecurityMode(mode)));
    c.counts.smb2 = 10;
    c
}

/// An NTLMv2 AUTHENTICATE from CORP\\alice at frame 6, without MIC,
/// VERSION or AV pairs: each test changes what it looks at.
fn alice_auth() -> crate::conn::NtlmAuth {
    crate::conn::NtlmAuth {
        frame: 6,
        flags: 0,
        user: "CORP\\alice".into(),
        proof: vec![2; 16],
        v2: true,
        target_name: None,
        av_flags: None,
        mic: crate::conn::MicField::Absent,
        version_present: false,
        version: None,
        responses: Default::default(),
        anonymous: false,
        has_user: true,
    }
}

/// The finding with `code`, checked for the shape every finding has.
fn finding(c: &Connection, code: FindingCode) -> Finding {
    let all = findings(c);
    let f = all
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("{code:?} not found in {all:?}"))
        .clone();
    let fixes = f.message.matches("Fix:").count();
    assert_eq!(
        fixes,
        usize::from(!f.fixes.is_empty()),
        "{code:?}: {}",
        f.message
    );
    for side in [Side::Client, Side::Server] {
        assert!(
            f.fixes.iter().filter(|x| x.side == side).count() <= 1,
            "{code:?}"
        );
    }
    assert_eq!(f.remediation.is_some(), !f.fixes.is_empty(), "{code:?}");
    for fix in &f.fixes {
        let text = f.remediation.as_deref().unwrap_or_default();
        assert!(text.contains(&fix.setting), "{code:?}: {text}");
    }
    f
}

#[test]
fn every_finding_code_fixes_only_the_misconfigured_side() {
    let mut tested = Vec::new();
    let mut check = |c: &Connection, code: FindingCode, want: &[(Side, kb::Setting)]| {
        let f = finding(c, code);
        let got: Vec<(Side, String, Vec<kb::SettingPart>)> = f
            .fixes
            .iter()
            .map(|x| (x.side, x.setting.clone(), x.parts.clone()))
            .collect();
        let want: Vec<(Side, String, Vec<kb::SettingPart>)> = want
            .iter()
            .map(|(side, s)| (*side, s.to_string(), s.parts.clone()))
            .collect();
        assert_eq!(got, want, "{code:?}: {}", f.message);
        tested.push(code);
    };
    let require = |s| kb::require_signing_fix(s);
    let enable = |s| kb::enable_signing_fix(s);

    check(
        &smb2(0x01),
        FindingCode::SigningNotRequired,
        &[(Side::Server, require(Side::Server))],
    );
    check(
        &smb1(0x03),
        FindingCode::SigningDisabled,
        &[(Side::Server, enable(Side::Server))],
    );
    check(&smb1(0x0f), FindingCode::Smb1InUse, &[]);

    // Client requires (Flags2 0x0014), server disabled.
    let mut c = smb1(0x03);
    c.client.smb1_setup_flags2 = Some(0x0014);
    check(
        &c,
        FindingCode::SigningMismatch,
        &[(Side::Server, enable(Side::Server))],
    );

    // Server requires (0x0f); the client sent unsigned requests: the client
    // is told, the server (already "required") is not.
    let mut c = smb1(0x0f);
    c.tally.unsigned_while_required = 3;
    c.tally.unsigned_frames = vec![7, 8, 9];
    c.counts.unsigned_requests_while_required = 3;
    check(
        &c,
        FindingCode::UnsignedWhileRequired,
        &[(Side::Client, enable(Side::Client))],
    );
    // The server sent some too: it does not enforce what it advertises;
    // nobody is told to enable signing (the lab's smb1-legacy-mode15).
    c.counts.unsigned_requests_while_required = 2;
    c.counts.unsigned_responses_while_required = 1;
    let f = finding(&c, FindingCode::UnsignedWhileRequired);
    assert!(f.fixes.is_empty(), "{:?}", f.fixes);
    assert!(f.message.contains("does not enforce"), "{}", f.message);
    // SMB2: the client required signing, the server sent unsigned replies.
    let mut c = smb2(0x01);
    c.client.security_mode = Some(Smb2SecurityMode(0x03));
    c.tally.unsigned_while_required = 1;
    c.counts.unsigned_responses_while_required = 1;
    check(
        &c,
        FindingCode::UnsignedWhileRequired,
        &[(Side::Server, require(Side::Server))],
    );

    let mut c = smb2(0x01);
    let mut s = Session::new(5, false);
    s.guest = true;
    c.sessions.push(s);
    check(&c, FindingCode::GuestSession, &[]);
    let mut s = Session::new(6, false);
    s.anonymous = true;
    s.established_frame = Some(4);
    c.sessions.push(s);
    check(&c, FindingCode::AnonymousSession, &[]);

    let mut c = smb2(0x03);
    c.counts.encrypted = 4;
    check(&c, FindingCode::EncryptionInUse, &[]);

    let mut c = smb2(0x03);
    c.decode_errors = 1;
    c.first_decode_error = Some((3, WireError::Truncated));
    check(&c, FindingCode::DecodeError, &[]);

    let mut c = smb2(0x03);
    c.tally.forged = 1;
    c.tally.forged_frames = vec![12];
    let f = finding(&c, FindingCode::BadSignature);
    assert_eq!(f.frames, vec![12]);
    check(&c, FindingCode::BadSignature, &[]);

    let mut c = smb1(0x03);
    c.closed = true;
    c.counts.negotiate_responses = 1;
    check(
        &c,
        FindingCode::ClosedAfterNegotiate,
        &[(Side::Server, enable(Side::Server))],
    );
    let mut c = smb1(0x0f);
    c.closed = true;
    c.counts.negotiate_responses = 1;
    check(
        &c,
        FindingCode::ClosedAfterNegotiate,
        &[(Side::Client, enable(Side::Client))],
    );

    let mut c = smb1(0x0f);
    c.tree_connect_denied_frame = Some(9);
    check(
        &c,
        FindingCode::TreeConnectDenied,
        &[(Side::Client, enable(Side::Client))],
    );

    // An AUTHENTICATE naming another server than the CHALLENGE's, with its
    // MIC gone though MsvAvFlags says one was sent.
    let mut c = smb2(0x01);
    c.ntlm.push(crate::conn::NtlmLogon {
        session_id: 7,
        challenge: Some(crate::conn::NtlmChallenge {
            frame: 5,
            server_challenge: [1; 8],
            flags: 0,
            names: "FS2\nfs2.corp.example".into(),
            computer_names: vec!["FS2".into(), "fs2.corp.example".into()],
            version: None,
        }),
        auth: Some(crate::conn::NtlmAuth {
            target_name: Some("cifs/fs1.corp.example".into()),
            av_flags: Some(2),
            ..alice_auth()
        }),
        ..Default::default()
    });
    check(
        &c,
        FindingCode::NtlmTargetMismatch,
        &[(Side::Server, kb::target_name_fix())],
    );
    check(
        &c,
        FindingCode::NtlmMicRemoved,
        &[(Side::Server, kb::mic_removal_fix())],
    );
    assert_eq!(finding(&c, FindingCode::NtlmMicRemoved).frames, vec![6]);

    // A VALIDATE_NEGOTIATE_INFO whose dialects differ from the NEGOTIATE's.
    let mut c = smb2(0x03);
    c.client.smb2_dialects = vec![crate::wire::smb2::Smb2Dialect(0x0302)];
    c.validate.request = Some(crate::conn::ValidateRequest {
        frame: 14,
        capabilities: 0,
        client_guid: [0; 16],
        security_mode: 1,
        dialects: vec![
            crate::wire::smb2::Smb2Dialect(0x0302),
            crate::wire::smb2::Smb2Dialect(0x0311),
        ],
    });
    check(
        &c,
        FindingCode::NegotiateTampered,
        &[
            (Side::Client, kb::negotiate_integrity_fix(Side::Client)),
            (Side::Server, kb::negotiate_integrity_fix(Side::Server)),
        ],
    );
    let f = finding(&c, FindingCode::NegotiateTampered);
    assert_eq!(f.evidence[0].field, "dialects");
    assert_eq!(f.evidence[0].expected, "0x0302,0x0311");

    // Weak authentication: an NTLMv1 AUTHENTICATE, an SMB1 logon with an
    // LM response, one in clear text. Both sides are told the LAN Manager
    // authentication level.
    let mut c = smb1(0x03);
    c.ntlm.push(crate::conn::NtlmLogon {
        auth: Some(crate::conn::NtlmAuth {
            frame: 8,
            user: "CORP\\bob".into(),
            proof: vec![3; 24],
            v2: false,
            responses: crate::wire::ntlmssp::response_kinds(&[7; 24], &[3; 24]),
            ..alice_auth()
        }),
        ..Default::default()
    });
    c.legacy.push(crate::conn::LegacyFacts {
        frame: 20,
        responses: crate::wire::ntlmssp::response_kinds(&[7; 24], &[]),
        plaintext: false,
    });
    c.legacy.push(crate::conn::LegacyFacts {
        frame: 30,
        responses: Default::default(),
        plaintext: true,
    });
    let both = [
        (Side::Client, kb::lm_compat_fix(Side::Client)),
        (Side::Server, kb::lm_compat_fix(Side::Server)),
    ];
    for code in [
        FindingCode::Ntlmv1InUse,
        FindingCode::LmResponseSent,
        FindingCode::PlaintextPassword,
    ] {
        check(&c, code, &both);
    }
    assert_eq!(finding(&c, FindingCode::Ntlmv1InUse).frames, vec![8]);
    assert_eq!(finding(&c, FindingCode::LmResponseSent).frames, vec![8, 20]);
    assert_eq!(finding(&c, FindingCode::PlaintextPassword).frames, vec![30]);

    // Encryption: a session that encrypts and also sent requests in clear;
    // a connection that negotiated a cipher and encrypted nothing.
    let mut c = smb2(0x03);
    let mut s = crate::conn::Session::new(0x11, false);
    s.established_frame = Some(9);
    s.encrypted = true;
    s.transforms = 20;
    s.cleartext_requests = 2;
    s.cleartext_frames = vec![31, 40];
    c.sessions.push(s);
    c.counts.encrypted = 20;
    check(
        &c,
        FindingCode::UnencryptedInEncryptedSession,
        &[(Side::Server, kb::reject_unencrypted_fix())],
    );
    assert_eq!(
        finding(&c, FindingCode::UnencryptedInEncryptedSession).frames,
        vec![31, 40]
    );
    let mut c = smb2(0x03);
    c.server.cipher = Some(crate::wire::smb2::Cipher::Aes128Gcm);
    let mut s = crate::conn::Session::new(0x12, false);
    s.established_frame = Some(9);
    c.sessions.push(s);
    check(&c, FindingCode::EncryptionNotUsed, &[]);
    // Encrypted traffic: not "not used"; a guest-only connection: neither.
    c.counts.encrypted = 1;
    assert!(
        !findings(&c)
            .iter()
            .any(|f| f.code == FindingCode::EncryptionNotUsed)
    );

    // A domain controller (it serves SYSVOL) that does not require signing.
    let mut c = smb2(0x01);
    c.server.negotiate_frame = Some(2);
    c.tree_connects.push(crate::conn::TreeConnect {
        request_frame: 11,
        message_id: 4,
        session_id: 0x12,
        path: r"\\dc1.corp.example\SYSVOL".into(),
        response_frame: Some(12),
        status: Some(crate::wire::NtStatus::Success),
        tree_id: Some(1),
        share_type: None,
        share_flags: None,
        service: None,
        decrypted: false,
    });
    check(
        &c,
        FindingCode::SigningWeakenedFromDefault,
        &[(Side::Server, kb::require_signing_fix(Side::Server))],
    );
    assert_eq!(
        finding(&c, FindingCode::SigningWeakenedFromDefault).frames,
        vec![2, 11]
    );
    // …and a Windows 11 24H2 client that did not require it, to a server
    // that requires it: only the client side is named.
    let mut c = smb2(0x03);
    c.client.security_mode = Some(Smb2SecurityMode(0x01));
    let v = crate::wire::ntlmssp::NtlmVersion {
        major: 10,
        minor: 0,
        build: 26100,
        revision: 15,
    };
    c.ntlm.push(crate::conn::NtlmLogon {
        auth: Some(crate::conn::NtlmAuth {
            mic: crate::conn::MicField::Present,
            version_present: true,
            version: Some(v),
            ..alice_auth()
        }),
        ..Default::default()
    });
    check(
        &c,
        FindingCode::SigningWeakenedFromDefault,
        &[(Side::Client, kb::require_signing_fix(Side::Client))],
    );
    // The same client as Windows 11 23H2: its default did not require it.
    if let Some(a) = c.ntlm[0].auth.as_mut() {
        a.version = Some(crate::wire::ntlmssp::NtlmVersion { build: 22631, ..v });
    }
    assert!(
        !findings(&c)
            .iter()
            .any(|f| f.code == FindingCode::SigningWeakenedFromDefault)
    );

    // Cross-connection codes and the MIC check need two legs or keys:
    // tests/attacks.rs replays the attack lab's captures for them.
    tested.extend([
        FindingCode::NtlmRelay,
        FindingCode::NtlmMicInvalid,
        FindingCode::DowngradedToSmb1,
    ]);
    // wrong-credentials needs verification state: tests/verify_captures.rs
    // runs it on every signed lab capture with a wrong password and checks
    // the same shape there.
    tested.push(FindingCode::WrongCredentials);
    // kerberos-rc4 needs a decrypted ticket: tests/kerberos.rs replays the
    // Kerberos lab's RC4 case and checks its two fixes there.
    tested.push(FindingCode::KerberosRc4);
    // bad-encryption-tag needs a decrypting session: tests/decrypt.rs flips
    // a tag byte and a ciphertext byte of real encrypted captures.
    tested.push(FindingCode::BadEncryptionTag);
    for code in FindingCode::ALL {
        assert!(tested.contains(&code), "{code:?} has no test");
    }
}
