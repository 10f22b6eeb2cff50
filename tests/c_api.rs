//! The C API from C: the bad-input tests in tests/c/ffi_test.c, and the
//! libpcap tool in examples/c/ run on every lab capture, both under
//! valgrind (zero errors, zero leaks); the tool's lines must equal the Rust
//! API's posture for the same captures. Also installs the library with
//! tools/install.sh and builds the tool with pkg-config against that copy.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// target/<profile>, where cargo put libsmbsign.so for this test run.
/// `cargo build` puts it in target/<profile>; `cargo test` alone leaves it
/// in target/<profile>/deps and does not refresh the other: the newer one
/// is this run's (a stale copy from an earlier build once hid a change).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap().to_path_buf();
    let modified = |dir: &PathBuf| {
        std::fs::metadata(dir.join("libsmbsign.so"))
            .and_then(|m| m.modified())
            .ok()
    };
    [deps.parent().unwrap().to_path_buf(), deps.clone()]
        .into_iter()
        .filter_map(|d| modified(&d).map(|t| (t, d)))
        .max_by_key(|(t, _)| *t)
        .map(|(_, d)| d)
        .unwrap_or_else(|| {
            panic!(
                "libsmbsign.so not built in {} or its parent",
                deps.display()
            )
        })
}

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("smbsign-capi-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `cmd` without cargo's LD_LIBRARY_PATH: it names target/<profile>,
/// whose libsmbsign.so.0 may be an older build than this run's (it once
/// made a C test see the previous library), and it would outrank the
/// rpath every program here is linked with.
fn run(cmd: &mut Command) -> Output {
    if !cmd.get_envs().any(|(k, _)| k == "LD_LIBRARY_PATH") {
        cmd.env_remove("LD_LIBRARY_PATH");
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A folder holding libsmbsign.so and its SONAME link (libsmbsign.so.0),
/// pointing at the library cargo just built.
fn lib_dir() -> PathBuf {
    let dir = scratch().join("lib");
    std::fs::create_dir_all(&dir).unwrap();
    let built = target_dir().join("libsmbsign.so");
    for name in [
        "libsmbsign.so",
        &format!("libsmbsign.so.{}", env!("CARGO_PKG_VERSION_MAJOR")),
    ] {
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        if let Err(e) = std::os::unix::fs::symlink(&built, &link) {
            // Another test of this run made it first.
            assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");
        }
    }
    dir
}

fn cc(src: &str, out: &Path, extra: &[&str]) {
    let lib = lib_dir();
    run(Command::new("cc")
        .args([
            "-std=c99",
            "-D_DEFAULT_SOURCE",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-g",
            "-I",
        ])
        .arg(common::repo().join("include"))
        .arg(common::repo().join(src))
        .arg("-o")
        .arg(out)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-lsmbsign")
        .args(extra));
}

/// Run under valgrind when it is there (required under CI).
fn checked(bin: &Path, args: &[&str]) -> Output {
    if common::have_tool("valgrind") {
        run(Command::new("valgrind")
            .args([
                "--quiet",
                "--error-exitcode=97",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect,possible",
            ])
            .arg(bin)
            .args(args))
    } else {
        run(Command::new(bin).args(args))
    }
}

#[test]
fn bad_input_tests_in_c() {
    let bin = scratch().join("ffi_test");
    cc("tests/c/ffi_test.c", &bin, &[]);
    let out = checked(&bin, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("not ok"), "{text}");
    assert!(
        text.lines().last().unwrap().ends_with(" 0 failed"),
        "{text}"
    );
}

/// The same C tests and the C tool built with AddressSanitizer (with its
/// leak checker) and UndefinedBehaviorSanitizer: any report fails the run.
#[test]
fn c_tests_and_tool_under_asan_and_ubsan() {
    let san = [
        "-fsanitize=address,undefined",
        "-fno-omit-frame-pointer",
        "-fno-sanitize-recover=all",
    ];
    let asan = |bin: &Path, args: &[&str]| {
        let out = run(Command::new(bin)
            .args(args)
            .env(
                "ASAN_OPTIONS",
                "detect_leaks=1:abort_on_error=0:exitcode=98",
            )
            .env(
                "UBSAN_OPTIONS",
                "print_stacktrace=1:halt_on_error=1:exitcode=99",
            ));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("Sanitizer") && !err.contains("runtime error"),
            "{}: {err}",
            bin.display()
        );
        out
    };
    let bin = scratch().join("ffi_test_asan");
    cc("tests/c/ffi_test.c", &bin, &san);
    let text = String::from_utf8_lossy(&asan(&bin, &[]).stdout).into_owned();
    assert!(
        text.lines().last().unwrap().ends_with(" 0 failed"),
        "{text}"
    );

    if !common::have_tool("pkg-config") {
        return;
    }
    let pcap = run(Command::new("pkg-config").args(["--libs", "libpcap"]));
    let pcap_libs = String::from_utf8_lossy(&pcap.stdout).trim().to_string();
    let tool = scratch().join("smbsign-pcap-asan");
    let mut args = san.to_vec();
    args.extend(pcap_libs.split_whitespace());
    cc("examples/c/smbsign-pcap.c", &tool, &args);
    for cap in common::lab_captures() {
        let out = asan(&tool, &[cap.to_str().unwrap()]);
        let mut got: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        got.sort();
        assert_eq!(got, expected_lines(&cap), "{}", cap.display());
    }
}

/// What the C tool prints, computed from the Rust API.
fn expected_lines(capture: &Path) -> Vec<String> {
    let out = smbsign::scan::Scanner::default().scan(capture).unwrap();
    let mut v: Vec<String> = out
        .connections
        .iter()
        .map(|r| {
            let codes: Vec<&str> = r.findings.iter().map(|f| f.code.as_str()).collect();
            format!(
                "{} {} {} {} {} {} {} {}",
                r.client,
                r.server,
                r.dialect
                    .as_ref()
                    .map(|d| d.name())
                    .as_deref()
                    .unwrap_or("-"),
                r.server_signing.map(|s| s.as_str()).unwrap_or("-"),
                r.client_signing.map(|s| s.as_str()).unwrap_or("-"),
                r.signed_messages,
                r.unsigned_messages,
                if codes.is_empty() {
                    "-".to_string()
                } else {
                    codes.join(",")
                }
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn c_tool_matches_rust_api_on_lab_captures() {
    if !common::have_tool("pkg-config") {
        return;
    }
    let pcap = run(Command::new("pkg-config").args(["--libs", "libpcap"]));
    let pcap_libs = String::from_utf8_lossy(&pcap.stdout).trim().to_string();
    let bin = scratch().join("smbsign-pcap");
    cc(
        "examples/c/smbsign-pcap.c",
        &bin,
        &pcap_libs.split_whitespace().collect::<Vec<_>>(),
    );
    let captures = common::lab_captures();
    for (k, cap) in captures.iter().enumerate() {
        let arg = cap.to_str().unwrap();
        // valgrind on a few (it is slow); plain runs on the rest.
        let out = if k % 6 == 0 {
            checked(&bin, &[arg])
        } else {
            run(Command::new(&bin).arg(arg))
        };
        let mut got: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        got.sort();
        assert_eq!(got, expected_lines(cap), "{}", cap.display());
    }
}

#[test]
fn installed_library_builds_the_tool_with_pkg_config() {
    if !common::have_tool("pkg-config") {
        return;
    }
    let prefix = scratch().join("prefix");
    let target = common::repo().join("target/plugin-build");
    run(Command::new("bash")
        .arg(common::repo().join("tools/install.sh"))
        .arg(&prefix)
        .env("CARGO_TARGET_DIR", &target));
    let pc_path = prefix.join("lib/pkgconfig");
    let flags = run(Command::new("pkg-config")
        .args(["--cflags", "--libs", "smbsign", "libpcap"])
        .env("PKG_CONFIG_PATH", &pc_path));
    let flags = String::from_utf8_lossy(&flags.stdout).trim().to_string();
    let bin = scratch().join("smbsign-pcap-installed");
    run(Command::new("cc")
        .arg(common::repo().join("examples/c/smbsign-pcap.c"))
        .arg("-o")
        .arg(&bin)
        .args(flags.split_whitespace())
        .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display())));
    // It runs against the installed shared library (SONAME libsmbsign.so.0).
    // Without cargo's LD_LIBRARY_PATH, which names target/<profile>, where
    // build.rs leaves a libsmbsign.so.0 of its own.
    let ldd = run(Command::new("ldd").arg(&bin).env_remove("LD_LIBRARY_PATH"));
    let ldd = String::from_utf8_lossy(&ldd.stdout);
    assert!(
        ldd.contains(&format!("{}", prefix.join("lib/libsmbsign.so.0").display())),
        "{ldd}"
    );
    let cap = common::repo().join("tests/captures/smb302-signed.pcap");
    let out = run(Command::new(&bin).arg(&cap).env_remove("LD_LIBRARY_PATH"));
    let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(got, expected_lines(&cap));
}

/// Issue 14, gap 8: the build folder is a ready-to-use prefix. With
/// `PKG_CONFIG_PATH=target/<profile>/pkgconfig`, the tool builds and runs
/// with no install and no LD_LIBRARY_PATH (the SONAME link and an rpath are
/// there), and links statically with the libraries `static_libs` names.
#[test]
fn build_tree_links_through_pkg_config_shared_and_static() {
    if !common::have_tool("pkg-config") {
        return;
    }
    // target/<profile>, where build.rs writes the prefix.
    let mut dir = target_dir();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let pc_path = dir.join("pkgconfig");
    assert!(
        pc_path.join("smbsign.pc").is_file(),
        "build.rs writes {}",
        pc_path.display()
    );
    let pkg = |args: &[&str]| {
        let out = run(Command::new("pkg-config")
            .args(args)
            .env("PKG_CONFIG_PATH", &pc_path));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let pcap = pkg(&["--libs", "libpcap"]);
    let cap = common::repo().join("tests/captures/smb302-signed.pcap");
    let shared = scratch().join("smbsign-pcap-build-tree");
    run(Command::new("cc")
        .arg(common::repo().join("examples/c/smbsign-pcap.c"))
        .arg("-o")
        .arg(&shared)
        .args(pkg(&["--cflags", "--libs", "smbsign"]).split_whitespace())
        .args(pcap.split_whitespace()));
    let out = run(Command::new(&shared)
        .arg(&cap)
        .env_remove("LD_LIBRARY_PATH"));
    let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(got, expected_lines(&cap), "shared, from the build tree");

    let statik = scratch().join("smbsign-pcap-static");
    run(Command::new("cc")
        .arg(common::repo().join("examples/c/smbsign-pcap.c"))
        .arg("-o")
        .arg(&statik)
        .args(pkg(&["--cflags", "smbsign"]).split_whitespace())
        .arg(dir.join("libsmbsign.a"))
        .args(pkg(&["--variable=static_libs", "smbsign"]).split_whitespace())
        .args(pcap.split_whitespace()));
    let ldd = run(Command::new("ldd").arg(&statik));
    assert!(
        !String::from_utf8_lossy(&ldd.stdout).contains("libsmbsign"),
        "static"
    );
    let out = run(Command::new(&statik).arg(&cap));
    let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(got, expected_lines(&cap), "static");
}

/// The facts of a connection as smbsign-report prints them, computed from
/// the CLI's JSON (the contract), with enums as their values.
fn report_lines_from_json(j: &serde_json::Value) -> Vec<String> {
    use smbsign::conn::AuthMechanism;
    use smbsign::posture::{FindingCode, Severity};
    use smbsign::wire::{MacAlgorithm, SigningSetting, smb2::Cipher};
    let s = |v: &serde_json::Value| v.as_str().map_or("-".to_string(), str::to_owned);
    let n = |v: &serde_json::Value| v.as_u64().map_or("-".to_string(), |x| x.to_string());
    let setting = |v: &serde_json::Value| {
        v.as_str()
            .and_then(SigningSetting::parse)
            .map_or(0, |x| x as u32)
    };
    let mac = |v: &serde_json::Value| {
        MacAlgorithm::ALL
            .into_iter()
            .find(|m| Some(m.name()) == v.as_str())
            .map_or(0, |m| m as u32)
    };
    let cipher = |v: &serde_json::Value| {
        (1u16..=4)
            .find(|&c| Some(Cipher(c).name()) == v.as_str())
            .unwrap_or(0)
    };
    let frames = |v: &serde_json::Value| {
        let f: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.to_string())
            .collect();
        if f.is_empty() {
            "-".into()
        } else {
            f.join(",")
        }
    };
    let b = |v: &serde_json::Value| u8::from(v.as_bool().unwrap_or(false));
    let mut out = vec![format!(
        "connection {} {} dialect={} smode={} cmode={} ssign={} csign={} mac={} cipher={} signed={} unsigned={} req={} resp={} enc={} comp={} uwr={} closed={} gap={} resyncs={} errors={} first={} last={} verified={} forged={} nokey={} unverifiable={} forged_frames={}",
        s(&j["client"]),
        s(&j["server"]),
        s(&j["dialect"]),
        n(&j["server_security_mode"]),
        n(&j["client_security_mode"]),
        setting(&j["server_signing"]),
        setting(&j["client_signing"]),
        mac(&j["signing_algorithm"]),
        cipher(&j["cipher"]),
        j["signed_messages"],
        j["unsigned_messages"],
        j["requests"],
        j["responses"],
        j["encrypted_messages"],
        j["compressed_messages"],
        j["unsigned_while_required"],
        b(&j["closed"]),
        j["gap_bytes"],
        j["resyncs"],
        j["decode_errors"],
        n(&j["first_frame"]),
        n(&j["last_frame"]),
        n(&j["verified_messages"]),
        n(&j["forged_messages"]),
        n(&j["no_key_messages"]),
        n(&j["unverifiable_messages"]),
        frames(&j["forged_frames"]),
    )];
    for x in j["sessions"].as_array().unwrap() {
        let id = u64::from_str_radix(
            x["session_id"].as_str().unwrap().trim_start_matches("0x"),
            16,
        )
        .unwrap();
        let mech = if x["legacy_auth"].as_bool() == Some(true) {
            AuthMechanism::Legacy
        } else {
            AuthMechanism::ALL
                .into_iter()
                .find(|m| {
                    *m != AuthMechanism::Legacy && Some(m.as_str()) == x["mechanism"].as_str()
                })
                .unwrap()
        };
        let key = match x["key"].as_str() {
            None => "-".to_string(),
            Some("pending") => "1".into(),
            Some("ready") => "2".into(),
            Some("wrong-credentials") => "3".into(),
            Some(k) if k.starts_with("no-key") => "4".into(),
            Some(k) => panic!("key {k}"),
        };
        let mic = x["ntlm_mic_valid"].as_bool().map_or(-1, i32::from);
        out.push(format!(
            "session {id} user={} mech={} legacy={} guest={} anonymous={} encrypted={} established={} signing_required={} uwr={} verified={} forged={} nokey={} key={key} mic={mic} forged_frames={}",
            s(&x["user"]), mech as u32, b(&x["legacy_auth"]), b(&x["guest"]), b(&x["anonymous"]),
            b(&x["encrypted"]), b(&x["established"]), b(&x["signing_required"]), x["unsigned_while_required"],
            n(&x["verified"]), n(&x["forged"]), n(&x["no_key"]), frames(&x["forged_frames"]),
        ));
    }
    for f in j["findings"].as_array().unwrap() {
        let code = FindingCode::parse(f["code"].as_str().unwrap()).unwrap() as u32;
        let sev = Severity::parse(f["severity"].as_str().unwrap()).unwrap() as u32;
        out.push(format!("finding {code} {sev}"));
    }
    out.extend(tunnel_lines_from_json(j));
    out
}

/// An NT status as the JSON names it ("Success", or
/// "NtStatus(N / 0xHEX)" for one with no name).
fn status_code(s: &str) -> u32 {
    use smbsign::wire::NtStatus;
    let named = [0, 0x103, 0xC000_0016, 0xC000_0022, 0xC000_006D, 0xC000_00BB];
    let named = named
        .into_iter()
        .chain([0xC000_035C, 0xC000_0203, 0xC000_000D]);
    if let Some(code) = named.into_iter().find(|&c| NtStatus(c).to_string() == s) {
        return code;
    }
    let hex = s.rsplit("0x").next().unwrap().trim_end_matches(')');
    u32::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("status {s}"))
}

/// The tunnel, tree connect and decrypted-command lines of smbsign-report,
/// from the JSON.
fn tunnel_lines_from_json(j: &serde_json::Value) -> Vec<String> {
    let n = |v: &serde_json::Value| v.as_u64().map_or("-".to_string(), |x| x.to_string());
    let b = |v: &serde_json::Value| u8::from(v.as_bool().unwrap_or(false));
    let list = |v: &serde_json::Value| {
        let f: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.to_string())
            .collect();
        if f.is_empty() {
            "-".into()
        } else {
            f.join(",")
        }
    };
    let fails: u64 = j["decompression_failures"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let mut out = vec![format!(
        "tunnel enc={} comp={} decomp={} decomp_fail={fails} dec={} badtag={} badtag_frames={}",
        j["encrypted_messages"],
        j["compressed_messages"],
        j["decompressed_messages"],
        n(&j["decrypted_messages"]),
        n(&j["bad_tag_messages"]),
        list(&j["bad_tag_frames"]),
    )];
    for t in j["tree_connects"].as_array().unwrap() {
        let response = match t["response_frame"].as_u64() {
            Some(f) => format!(
                "resp={f} status=0x{:08x} tid={}",
                status_code(t["status"].as_str().unwrap()),
                t["tree_id"]
            ),
            None => "resp=- status=- tid=-".into(),
        };
        let share_type = match t["share_type"].as_str() {
            None => 0,
            Some("disk") => 1,
            Some("pipe") => 2,
            Some("print") => 3,
            Some(x) => u8::from_str_radix(x.trim_start_matches("0x"), 16).unwrap(),
        };
        out.push(format!(
            "tree {} frame={} {response} type={share_type} flags={} encrypt={} service={} decrypted={}",
            t["path"].as_str().filter(|p| !p.is_empty()).unwrap_or("-"),
            t["frame"],
            n(&t["share_flags"]),
            b(&t["encrypt_data"]),
            t["service"].as_str().filter(|p| !p.is_empty()).unwrap_or("-"),
            b(&t["decrypted"]),
        ));
    }
    // The C list is in command-code order; the JSON's keys are names.
    let code_of = |name: &str| -> u16 {
        (0..=0x13)
            .find(|&c| {
                smbsign::wire::names::smb2_command_name(smbsign::wire::smb2::Smb2Command(c))
                    == Some(name)
            })
            .unwrap_or_else(|| u16::from_str_radix(name.trim_start_matches("0x"), 16).unwrap())
    };
    let mut commands: Vec<(u16, String)> = j["decrypted_commands"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, count)| {
            let shown = if name.starts_with("0x") {
                "-"
            } else {
                name.as_str()
            };
            (code_of(name), format!("command {shown} {count}"))
        })
        .collect();
    commands.sort();
    out.extend(commands.into_iter().map(|(_, line)| line));
    out
}

/// Groups of lines, one per connection (its line and those under it).
fn groups(lines: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for l in lines {
        if l.starts_with("connection ") || out.is_empty() {
            out.push(Vec::new());
        }
        out.last_mut().unwrap().push(l.clone());
    }
    out.sort();
    out
}

/// Issue 14: a C tool does, with typed data only, everything `smbsign scan
/// --password … --json` does: on every lab capture its facts equal the
/// CLI's, value for value, with a password and with a wrong one.
#[test]
fn c_report_equals_the_cli_json_on_every_lab_capture() {
    let bin = scratch().join("smbsign-report");
    cc("examples/c/smbsign-report.c", &bin, &[]);
    for password in ["Passw0rd!", "wrong"] {
        let secret = format!("password LAB\\smblab:{password}");
        for cap in common::lab_captures() {
            let c = run(Command::new(&bin)
                .arg("-c")
                .arg(&secret)
                .arg(&cap)
                .env("LD_LIBRARY_PATH", lib_dir()));
            let c_lines: Vec<String> = String::from_utf8_lossy(&c.stdout)
                .lines()
                .map(str::to_owned)
                .collect();
            let cli = Command::new(env!("CARGO_BIN_EXE_smbsign"))
                .args([
                    "scan",
                    "--json",
                    "--password",
                    &format!("LAB\\smblab:{password}"),
                ])
                .arg(&cap)
                .output()
                .unwrap();
            let want: Vec<String> = String::from_utf8_lossy(&cli.stdout)
                .lines()
                .flat_map(|l| report_lines_from_json(&serde_json::from_str(l).unwrap()))
                .collect();
            assert!(!want.is_empty(), "{}", cap.display());
            assert_eq!(
                groups(&c_lines),
                groups(&want),
                "{} ({password})",
                cap.display()
            );
        }
    }
}
