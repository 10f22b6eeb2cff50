//! bindgen round-trip: bindings generated from include/smbsign.h drive the
//! built libsmbsign.so. Every repr(C) type has the same size, alignment and
//! field offsets in the header as in src/ffi/, enum values agree, and lab
//! captures replayed PDU by PDU through the bound functions give the same
//! posture as the Rust API.

use smbsign::capture::read_capture;
use smbsign::conn::Direction;
use smbsign::ffi as r;
use smbsign::scan::{PduEvent, Scanner};
use smbsign_ffi_bindgen as c;
use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::mem::{align_of, offset_of, size_of};
use std::path::PathBuf;
use std::rc::Rc;

macro_rules! same_layout {
    ($c:ty, $r:ty, [$($f:ident),* $(,)?]) => {{
        assert_eq!(size_of::<$c>(), size_of::<$r>(), "size of {}", stringify!($r));
        assert_eq!(align_of::<$c>(), align_of::<$r>(), "align of {}", stringify!($r));
        $(
            assert_eq!(
                offset_of!($c, $f),
                offset_of!($r, $f),
                "offset of {}.{}", stringify!($r), stringify!($f)
            );
        )*
    }};
}

#[test]
fn layouts_match_the_rust_definitions() {
    same_layout!(
        c::smbsign_pdu_annotation,
        r::smbsign_pdu_annotation,
        [
            protocol,
            command,
            is_response,
            status,
            message_id,
            session_id,
            flags_signed,
            signature_len,
            signature,
            has_security_mode,
            security_mode,
            signing_enabled,
            signing_required,
            dialect,
            has_session_flags,
            session_flags,
            verdict,
            exempt,
            offset,
            length,
            session_known,
            session_guest,
            session_anonymous,
            finding_mask,
            is_signed,
        ]
    );
    same_layout!(
        c::smbsign_posture,
        r::smbsign_posture,
        [
            server_signing,
            client_signing,
            has_server_security_mode,
            server_security_mode,
            has_client_security_mode,
            client_security_mode,
            dialect,
            signing_algorithm,
            signed_messages,
            unsigned_messages,
            unsigned_while_required,
            dialect_code,
            signing_mac,
            server_signing_enabled,
            server_signing_required,
            client_signing_enabled,
            client_signing_required,
        ]
    );
    same_layout!(
        c::smbsign_session_detail,
        r::smbsign_session_detail,
        [
            session_id,
            smb1,
            legacy_auth,
            signing_required,
            mechanism_oid,
            verifying,
            verified,
            forged,
            no_key,
            unsigned_while_required,
            key_state,
            key_detail,
            ntlm_mic,
            forged_frame_count,
        ]
    );
    same_layout!(
        c::smbsign_connection_info,
        r::smbsign_connection_info,
        [
            client,
            server,
            dialect,
            has_server_security_mode,
            server_security_mode,
            has_client_security_mode,
            client_security_mode,
            server_signing,
            client_signing,
            signing_algorithm,
            signed_messages,
            unsigned_messages,
            encrypted_messages,
            requests,
            responses,
            unsigned_while_required,
            decode_errors,
            session_count,
            finding_count,
            dialect_code,
            signing_mac,
            cipher,
            compressed_messages,
            has_first_frame,
            first_frame,
            last_frame,
            closed,
            gap_bytes,
            resyncs,
            verifying,
            verified_messages,
            forged_messages,
            no_key_messages,
            unverifiable_messages,
        ]
    );
    same_layout!(
        c::smbsign_finding,
        r::smbsign_finding,
        [code, severity, code_name, message]
    );
    same_layout!(
        c::smbsign_session,
        r::smbsign_session,
        [
            session_id,
            user,
            mechanism,
            guest,
            anonymous,
            encrypted,
            established,
        ]
    );
    same_layout!(
        c::smbsign_finding_peer,
        r::smbsign_finding_peer,
        [
            role,
            file,
            client,
            server,
            has_first_frame,
            first_frame,
            has_frame,
            frame
        ]
    );
    same_layout!(
        c::smbsign_finding_evidence,
        r::smbsign_finding_evidence,
        [field, seen, expected]
    );
    // Enums cross as uint32_t.
    assert_eq!(
        size_of::<c::smbsign_result>(),
        size_of::<r::smbsign_result>()
    );
    assert_eq!(
        size_of::<c::smbsign_verdict>(),
        size_of::<r::smbsign_verdict>()
    );
}

#[test]
fn enum_values_match() {
    use r::smbsign_result::*;
    let pairs = [
        (c::smbsign_result_SMBSIGN_OK, SMBSIGN_OK),
        (
            c::smbsign_result_SMBSIGN_NULL_PARAMETER,
            SMBSIGN_NULL_PARAMETER,
        ),
        (
            c::smbsign_result_SMBSIGN_INVALID_PARAMETER,
            SMBSIGN_INVALID_PARAMETER,
        ),
        (c::smbsign_result_SMBSIGN_NOT_SMB, SMBSIGN_NOT_SMB),
        (c::smbsign_result_SMBSIGN_MALFORMED, SMBSIGN_MALFORMED),
        (c::smbsign_result_SMBSIGN_TOO_LARGE, SMBSIGN_TOO_LARGE),
        (c::smbsign_result_SMBSIGN_NOT_FOUND, SMBSIGN_NOT_FOUND),
        (c::smbsign_result_SMBSIGN_IO_ERROR, SMBSIGN_IO_ERROR),
        (
            c::smbsign_result_SMBSIGN_NOT_A_CAPTURE,
            SMBSIGN_NOT_A_CAPTURE,
        ),
        (c::smbsign_result_SMBSIGN_OUT_OF_RANGE, SMBSIGN_OUT_OF_RANGE),
        (
            c::smbsign_result_SMBSIGN_CREDENTIALS_TOO_LATE,
            SMBSIGN_CREDENTIALS_TOO_LATE,
        ),
        (c::smbsign_result_SMBSIGN_PARTIAL, SMBSIGN_PARTIAL),
        (c::smbsign_result_SMBSIGN_PANIC, SMBSIGN_PANIC),
    ];
    for (cv, rv) in pairs {
        assert_eq!(cv, rv as u32, "{rv:?}");
    }
    assert_eq!(
        c::smbsign_finding_code_SMBSIGN_FINDING_DECODE_ERROR,
        r::smbsign_finding_code::SMBSIGN_FINDING_DECODE_ERROR as u32
    );
    assert_eq!(
        c::smbsign_finding_code_SMBSIGN_FINDING_DOWNGRADED_TO_SMB1,
        r::smbsign_finding_code::SMBSIGN_FINDING_DOWNGRADED_TO_SMB1 as u32
    );
    assert_eq!(
        c::smbsign_peer_role_SMBSIGN_PEER_OTHER_LEG,
        r::smbsign_peer_role::SMBSIGN_PEER_OTHER_LEG as u32
    );
    assert_eq!(
        c::smbsign_direction_SMBSIGN_TO_CLIENT,
        r::smbsign_direction::SMBSIGN_TO_CLIENT as u32
    );
    assert_eq!(c::SMBSIGN_VERSION_MAJOR, r::SMBSIGN_VERSION_MAJOR);
    assert_eq!(c::SMBSIGN_VERSION_MINOR, r::SMBSIGN_VERSION_MINOR);
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn library() -> c::Smbsign {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let path = [
        deps.parent().unwrap().join("libsmbsign.so"),
        deps.join("libsmbsign.so"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .unwrap_or_else(|| panic!("libsmbsign.so not built near {}", deps.display()));
    // SAFETY: loading our own library, whose initialisers are Rust std's.
    unsafe { c::Smbsign::new(&path) }.expect("load libsmbsign.so")
}

/// Every PDU of a capture (via the scanner's hook) and the Rust API's
/// reports for it.
fn replay(path: &std::path::Path) -> (Vec<Pdu>, Vec<smbsign::posture::ConnectionReport>) {
    let pdus: Rc<RefCell<Vec<Pdu>>> = Rc::default();
    let sink = pdus.clone();
    let mut scanner = Scanner::default().engine();
    scanner.set_pdu_hook(Box::new(move |e: PduEvent<'_>| {
        sink.borrow_mut().push(Pdu {
            connection: e.connection,
            direction: e.direction,
            frame: e.frame,
            bytes: e.pdu.to_vec(),
        })
    }));
    let file = std::fs::File::open(path).unwrap();
    read_capture(file, |link, data| scanner.frame(link, data), |_| {}).unwrap();
    let reports = scanner.finish();
    let pdus = pdus.take();
    (pdus, reports)
}

struct Pdu {
    connection: u64,
    direction: Direction,
    frame: u64,
    bytes: Vec<u8>,
}

#[test]
fn lab_captures_replayed_through_the_cdylib_match_the_rust_api() {
    let lib = library();
    // SAFETY: static string.
    let version = unsafe { CStr::from_ptr(lib.smbsign_version()) };
    let expected = format!(
        "{}.{}.{}",
        r::SMBSIGN_VERSION_MAJOR,
        r::SMBSIGN_VERSION_MINOR,
        r::SMBSIGN_VERSION_PATCH
    );
    assert_eq!(version.to_str().unwrap(), expected);
    let mut captures: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/captures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    captures.sort();
    assert!(captures.len() >= 20);
    for cap in &captures {
        let (pdus, reports) = replay(cap);

        // SAFETY: the bound functions follow the header's contracts below.
        unsafe {
            let a = lib.smbsign_analyzer_new();
            assert!(!a.is_null());
            let mut first_frame = std::collections::BTreeMap::new();
            for p in pdus.iter() {
                first_frame.entry(p.connection).or_insert(p.frame);
                let dir = match p.direction {
                    Direction::ToServer => c::smbsign_direction_SMBSIGN_TO_SERVER,
                    Direction::ToClient => c::smbsign_direction_SMBSIGN_TO_CLIENT,
                };
                let mut anns = [std::mem::zeroed::<c::smbsign_pdu_annotation>(); 8];
                let mut n = 0usize;
                let res = lib.smbsign_analyzer_feed(
                    a,
                    p.connection,
                    dir,
                    p.frame,
                    p.bytes.as_ptr(),
                    p.bytes.len(),
                    anns.as_mut_ptr(),
                    anns.len(),
                    &mut n,
                );
                assert_eq!(
                    res,
                    c::smbsign_result_SMBSIGN_OK,
                    "{} frame {}",
                    cap.display(),
                    p.frame
                );
                assert!(n >= 1);
                assert_eq!(
                    anns[0].length as usize,
                    p.bytes.len().min(anns[0].length as usize)
                );
            }
            assert_eq!(
                lib.smbsign_analyzer_connection_count(a),
                reports.len(),
                "{}",
                cap.display()
            );
            for (id, frame) in first_frame {
                let report = reports
                    .iter()
                    .find(|r| r.first_frame == Some(frame))
                    .expect("a Rust report for every fed connection");
                if report.closed {
                    assert_eq!(lib.smbsign_analyzer_mark_ended(a, id), 0);
                }
                let client = CString::new(report.client.clone()).unwrap();
                let server = CString::new(report.server.clone()).unwrap();
                lib.smbsign_analyzer_set_endpoints(a, id, client.as_ptr(), server.as_ptr());
                let mut conn = std::ptr::null_mut();
                assert_eq!(lib.smbsign_analyzer_connection(a, id, &mut conn), 0);
                let mut info = std::mem::zeroed::<c::smbsign_connection_info>();
                assert_eq!(lib.smbsign_connection_get_info(conn, &mut info), 0);
                let text = |p: *const std::os::raw::c_char| {
                    (!p.is_null()).then(|| CStr::from_ptr(p).to_str().unwrap().to_owned())
                };
                let ctx = format!("{} {}", cap.display(), report.client);
                assert_eq!(
                    text(info.dialect),
                    report.dialect.as_ref().map(|d| d.name()),
                    "{ctx}"
                );
                assert_eq!(
                    info.has_server_security_mode
                        .then_some(info.server_security_mode),
                    report.server_security_mode.map(|m| m.raw()),
                    "{ctx}"
                );
                assert_eq!(
                    info.has_client_security_mode
                        .then_some(info.client_security_mode),
                    report.client_security_mode,
                    "{ctx}"
                );
                assert_eq!(info.signed_messages, report.signed_messages, "{ctx}");
                assert_eq!(info.unsigned_messages, report.unsigned_messages, "{ctx}");
                assert_eq!(info.encrypted_messages, report.encrypted_messages, "{ctx}");
                assert_eq!(info.session_count, report.sessions.len(), "{ctx}");
                assert_eq!(info.finding_count, report.findings.len(), "{ctx}");
                for (k, f) in report.findings.iter().enumerate() {
                    let mut cf = std::mem::zeroed::<c::smbsign_finding>();
                    assert_eq!(lib.smbsign_connection_get_finding(conn, k, &mut cf), 0);
                    assert_eq!(cf.code, f.code as u32, "{ctx}");
                    assert_eq!(
                        text(cf.message).as_deref(),
                        Some(f.message.as_str()),
                        "{ctx}"
                    );
                }
                for (k, s) in report.sessions.iter().enumerate() {
                    let mut cs = std::mem::zeroed::<c::smbsign_session>();
                    assert_eq!(lib.smbsign_connection_get_session(conn, k, &mut cs), 0);
                    assert_eq!(cs.session_id, s.id.0, "{ctx}");
                    assert_eq!(text(cs.user), s.user, "{ctx}");
                    assert_eq!((cs.guest, cs.anonymous), (s.guest, s.anonymous), "{ctx}");
                }
                lib.smbsign_connection_free(conn);
            }
            lib.smbsign_analyzer_free(a);
        }
    }
}

#[test]
fn verdicts_through_the_cdylib_match_the_rust_api_on_a_tampered_capture() {
    let lib = library();
    let mut bytes = std::fs::read(repo().join("tests/captures/smb311-gmac.pcap")).unwrap();
    let needle = b"hello from the smbsign lab";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    bytes[at + 3] ^= 0x20;
    let path =
        std::env::temp_dir().join(format!("smbsign-rt-tampered-{}.pcap", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();

    let mut creds = smbsign::verify::Credentials::default();
    creds.add_password("LAB\\smblab:Passw0rd!").unwrap();
    let rust = smbsign::scan::Scanner::new(smbsign::scan::ScanOptions::with_credentials(
        std::sync::Arc::new(creds),
    ))
    .scan(&path)
    .unwrap()
    .connections;

    let (pdus, _) = replay(&path);
    // SAFETY: the bound functions follow the header's contracts.
    unsafe {
        let a = lib.smbsign_analyzer_new();
        let text = CString::new("password LAB\\smblab:Passw0rd!").unwrap();
        assert_eq!(lib.smbsign_analyzer_add_credentials(a, text.as_ptr()), 0);
        let (mut valid, mut forged) = (0u64, Vec::new());
        for p in pdus.iter() {
            let mut anns = [std::mem::zeroed::<c::smbsign_pdu_annotation>(); 8];
            let mut n = 0usize;
            let dir = match p.direction {
                Direction::ToServer => 0,
                Direction::ToClient => 1,
            };
            lib.smbsign_analyzer_feed(
                a,
                p.connection,
                dir,
                p.frame,
                p.bytes.as_ptr(),
                p.bytes.len(),
                anns.as_mut_ptr(),
                8,
                &mut n,
            );
            for ann in &anns[..n.min(8)] {
                if ann.verdict == c::smbsign_verdict_SMBSIGN_VERDICT_VALID {
                    valid += 1;
                }
                if ann.verdict == c::smbsign_verdict_SMBSIGN_VERDICT_FORGED {
                    assert!(ann.has_expected_signature);
                    assert_ne!(&ann.expected_signature[..], &ann.signature[..]);
                    forged.push(p.frame);
                }
            }
        }
        lib.smbsign_analyzer_free(a);
        assert_eq!(valid, rust[0].verified_messages.unwrap());
        assert_eq!(forged, rust[0].forged_frames);
        assert_eq!(forged.len(), 1);
    }
}
