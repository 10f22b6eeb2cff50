//! The Wireshark plugin, as a user installs and runs it: built with
//! plugin/build.sh into a temporary HOME, loaded by the real tshark (as an
//! unprivileged user when the tests run as root, since Wireshark ignores
//! the personal plugin folder for root), listed by `-G plugins` / `-G
//! fields`, and run over every lab and corpus capture: its fields agree with
//! `smbsign scan`, its filters select what the lab manifest says, and it
//! adds no malformed packet and no dissector bug.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

struct Env {
    base: PathBuf,
    home: PathBuf,
    bare_home: PathBuf,
}

/// A copy of `file` that user nobody can read (the repository may live
/// under a folder only root can enter).
fn readable(file: &Path) -> PathBuf {
    let dir = env().base.join("captures");
    std::fs::create_dir_all(&dir).unwrap();
    let flat = file.display().to_string().replace(['/', '\\'], "_");
    let copy = dir.join(flat);
    if !copy.exists() {
        std::fs::copy(file, &copy).unwrap();
        Command::new("chmod")
            .arg("a+r")
            .arg(&copy)
            .status()
            .unwrap();
        Command::new("chmod")
            .arg("a+rx")
            .arg(&dir)
            .status()
            .unwrap();
    }
    copy
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Build and install the plugin once per test run.
fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("smbsign-plugin-{}", std::process::id()));
        let home = base.join("home");
        let bare_home = base.join("bare");
        std::fs::create_dir_all(&bare_home).unwrap();
        let mm = wireshark_release();
        let dest = home.join(format!(".local/lib/wireshark/plugins/{mm}/epan"));
        let target = common::repo().join("target/plugin-build");
        let out = Command::new("bash")
            .arg(common::repo().join("plugin/build.sh"))
            .arg(&dest)
            .arg(home.join(".config/wireshark/profiles"))
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "plugin/build.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // nobody must be able to read the plugin and its HOME.
        Command::new("chmod")
            .arg("-R")
            .arg("a+rX")
            .arg(&base)
            .status()
            .unwrap();
        Env {
            base,
            home,
            bare_home,
        }
    })
}

fn tshark(home: &Path, args: &[&str]) -> Output {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--", "env"]);
        c.arg(format!("HOME={}", home.display()));
        c.arg("tshark");
        c
    } else {
        let mut c = Command::new("tshark");
        c.env("HOME", home);
        c
    };
    cmd.args(args).output().expect("run tshark")
}

fn available() -> bool {
    common::have_tool("tshark") && common::have_tool("pkg-config")
}

#[test]
fn plugin_is_listed_with_its_fields() {
    if !available() {
        return;
    }
    let e = env();
    let out = tshark(&e.home, &["-G", "plugins"]);
    let text = String::from_utf8_lossy(&out.stdout);
    // name, version, type, path: the type is "dissector" (from 4.4 on
    // only when the plugin says so through plugin_describe()).
    let line = text
        .lines()
        .find(|l| l.starts_with("smbsign.so"))
        .unwrap_or_else(|| panic!("smbsign.so not listed:\n{text}"));
    let columns: Vec<&str> = line.split('\t').map(str::trim).collect();
    assert_eq!(columns.get(2), Some(&"dissector"), "{line}");
    let out = tshark(&e.home, &["-G", "fields"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for f in [
        "smbsign.server_signing",
        "smbsign.client_signing",
        "smbsign.server_security_mode",
        "smbsign.client_security_mode",
        "smbsign.dialect",
        "smbsign.dialect_name",
        "smbsign.server_mode.enabled",
        "smbsign.server_mode.required",
        "smbsign.client_mode.enabled",
        "smbsign.client_mode.required",
        "smbsign.signing_algorithm",
        "smbsign.signed",
        "smbsign.signature_status",
        "smbsign.session.guest",
        "smbsign.session.anonymous",
        "smbsign.finding",
    ] {
        assert!(text.contains(&format!("\t{f}\t")), "{f} not registered");
    }
    // Not loaded without the personal folder: the bare HOME proves the
    // test really exercises the installed copy.
    let out = tshark(&e.bare_home, &["-G", "plugins"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("smbsign.so"));
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    server_signing: Option<String>,
    client_signing: Option<String>,
    dialect: Option<String>,
    server_mode: Option<u16>,
    client_mode: Option<u16>,
}

fn hex(s: &str) -> Option<u16> {
    u16::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

/// Per TCP connection (client, server endpoints sorted), the last values
/// the plugin showed; plus malformed-frame count and stderr.
fn plugin_view(
    home: &Path,
    file: &Path,
    ports: &[u16],
) -> (BTreeMap<Vec<String>, Seen>, usize, String) {
    let file = &readable(file);
    let mut args: Vec<String> = vec!["-n".into(), "-r".into(), file.display().to_string()];
    for p in ports {
        args.push("-d".into());
        args.push(format!("tcp.port=={p},nbss"));
    }
    for a in ["-T", "fields", "-E", "occurrence=l", "-E", "separator=/t"] {
        args.push(a.into());
    }
    let plugin_fields = [
        "smbsign.server_signing",
        "smbsign.client_signing",
        "smbsign.dialect_name",
        "smbsign.server_security_mode",
        "smbsign.client_security_mode",
    ];
    // Without the plugin its fields do not exist: ask for frame.number in
    // their columns.
    let loaded = home != env().bare_home;
    let mut fields = vec![
        "ip.src",
        "ipv6.src",
        "tcp.srcport",
        "ip.dst",
        "ipv6.dst",
        "tcp.dstport",
    ];
    fields.extend(
        plugin_fields
            .iter()
            .map(|f| if loaded { *f } else { "frame.number" }),
    );
    fields.push("_ws.malformed");
    for f in fields {
        args.push("-e".into());
        args.push(f.into());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = tshark(home, &refs);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "tshark failed on {}: {stderr}",
        file.display()
    );
    let mut conns: BTreeMap<Vec<String>, Seen> = BTreeMap::new();
    let mut malformed = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let c: Vec<&str> = line.split('\t').collect();
        let get = |k: usize| c.get(k).copied().unwrap_or("");
        if !get(11).is_empty() {
            malformed += 1;
        }
        if get(2).is_empty() {
            continue;
        }
        let ep = |ip4: &str, ip6: &str, port: &str| {
            if ip4.is_empty() {
                format!("[{ip6}]:{port}")
            } else {
                format!("{ip4}:{port}")
            }
        };
        let mut key = vec![ep(get(0), get(1), get(2)), ep(get(3), get(4), get(5))];
        key.sort();
        let s = conns.entry(key).or_default();
        let set = |slot: &mut Option<String>, v: &str| {
            if !v.is_empty() {
                *slot = Some(v.to_string());
            }
        };
        set(&mut s.server_signing, get(6));
        set(&mut s.client_signing, get(7));
        set(&mut s.dialect, get(8));
        if let Some(m) = hex(get(9)).filter(|_| !get(9).is_empty()) {
            s.server_mode = Some(m);
        }
        if let Some(m) = hex(get(10)).filter(|_| !get(10).is_empty()) {
            s.client_mode = Some(m);
        }
    }
    (conns, malformed, stderr)
}

fn frames(home: &Path, file: &Path, filter: &str) -> Vec<u64> {
    let file = &readable(file);
    let out = tshark(
        home,
        &[
            "-n",
            "-r",
            file.to_str().unwrap(),
            "-Y",
            filter,
            "-T",
            "fields",
            "-e",
            "frame.number",
        ],
    );
    assert!(
        out.status.success(),
        "{filter}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn count(home: &Path, file: &Path, filter: &str) -> usize {
    frames(home, file, filter).len()
}

/// Compare the plugin with the CLI on one capture; `strict` requires every
/// connection the CLI reports to show up with all values in the plugin.
fn compare(file: &Path, strict: bool, problems: &mut Vec<String>) {
    let e = env();
    let Ok(scan) = smbsign::scan::Scanner::default().scan(file) else {
        return;
    };
    let ports: Vec<u16> = scan
        .connections
        .iter()
        .filter_map(|r| r.server.rsplit(':').next()?.parse().ok())
        .filter(|p| *p != 445 && *p != 139)
        .collect();
    let (view, malformed, stderr) = plugin_view(&e.home, file, &ports);
    let name = file.display();
    if stderr.contains("Dissector bug")
        || stderr.contains("packet-smbsign")
        || stderr.contains("SMB Signing")
    {
        problems.push(format!("{name}: tshark stderr: {stderr}"));
    }
    let (_, bare_malformed, _) = plugin_view(&e.bare_home, file, &ports);
    if malformed != bare_malformed {
        problems.push(format!(
            "{name}: {malformed} malformed frames with the plugin, {bare_malformed} without"
        ));
    }
    for r in &scan.connections {
        let mut key = vec![r.client.clone(), r.server.clone()];
        key.sort();
        let Some(seen) = view.get(&key) else {
            if strict {
                problems.push(format!(
                    "{name}: {} -> {} not seen by the plugin",
                    r.client, r.server
                ));
            }
            continue;
        };
        let mut check = |what: &str, plugin: Option<String>, cli: Option<String>| {
            if plugin != cli && (strict || plugin.is_some()) {
                problems.push(format!(
                    "{name}: {} -> {}: {what}: plugin {plugin:?}, smbsign scan {cli:?}",
                    r.client, r.server
                ));
            }
        };
        // Enumerations are integers with value strings: the plugin shows the
        // library's value of each setting.
        check(
            "server_signing",
            seen.server_signing.clone(),
            r.server_signing.map(|s| (s as u32).to_string()),
        );
        check(
            "client_signing",
            seen.client_signing.clone(),
            r.client_signing.map(|s| (s as u32).to_string()),
        );
        check(
            "dialect",
            seen.dialect.clone(),
            r.dialect.as_ref().map(|d| d.name()),
        );
        check(
            "server_security_mode",
            seen.server_mode.map(|m| m.to_string()),
            r.server_security_mode
                .map(|m| m.raw())
                .map(|m| m.to_string()),
        );
        check(
            "client_security_mode",
            seen.client_mode.map(|m| m.to_string()),
            r.client_security_mode.map(|m| m.to_string()),
        );
    }
}

#[test]
fn lab_captures_plugin_agrees_with_scan_and_filters_select_expected_frames() {
    if !available() {
        return;
    }
    let e = env();
    let mut problems = Vec::new();
    for file in common::lab_captures() {
        compare(&file, true, &mut problems);
    }
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("tests/captures/manifest.json")).unwrap(),
    )
    .unwrap();
    for (name, case) in manifest["cases"].as_object().unwrap() {
        let file = common::repo()
            .join("tests/captures")
            .join(case["file"].as_str().unwrap());
        if file.extension().is_some_and(|x| x == "pcapng") {
            continue; // port 4455: tshark needs -d for it; covered by compare()
        }
        let Some(want) = case["expect"]["server_signing"].as_str() else {
            continue;
        };
        // Per connection: every SMB frame from its first NEGOTIATE response
        // on carries server_signing == want, and no frame another value.
        let out = tshark(
            &e.home,
            &[
                "-n",
                "-r",
                file.to_str().unwrap(),
                "-Y",
                "smbsign",
                "-T",
                "fields",
                "-E",
                "occurrence=f",
                "-e",
                "tcp.stream",
                "-e",
                "frame.number",
                "-e",
                "smbsign.server_signing",
                "-e",
                "smb2.cmd",
                "-e",
                "smb2.flags.response",
                "-e",
                "smb.cmd",
                "-e",
                "smb.flags.response",
            ],
        );
        let mut first_response: BTreeMap<String, u64> = BTreeMap::new();
        let mut rows = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let c: Vec<&str> = line.split('\t').collect();
            let frame: u64 = c[1].parse().unwrap();
            let negotiate_response =
                (c[3] == "0" && c[4] == "1") || (c[5] == "0x72" && c[6] == "1");
            if negotiate_response {
                first_response.entry(c[0].to_string()).or_insert(frame);
            }
            rows.push((c[0].to_string(), frame, c[2].to_string()));
        }
        let want_value = smbsign::wire::SigningSetting::parse(want)
            .map(|s| (s as u32).to_string())
            .unwrap();
        let mut wrong = Vec::new();
        for (stream, frame, value) in &rows {
            let after = first_response.get(stream).is_some_and(|f| frame >= f);
            let ok = if after {
                *value == want_value
            } else {
                value.is_empty() || *value == want_value
            };
            if !ok {
                wrong.push(format!("frame {frame}: {value:?}"));
            }
        }
        let hits = count(
            &e.home,
            &file,
            &format!("smbsign.server_signing == \"{want}\""),
        );
        if hits == 0 || !wrong.is_empty() {
            problems.push(format!(
                "{name}: server_signing == {want}: {hits} frames; wrong: {wrong:?}"
            ));
        }
        let relay = count(
            &e.home,
            &file,
            "smbsign.finding == \"signing-not-required\"",
        );
        if (relay > 0) != (want != "required") {
            problems.push(format!(
                "{name}: signing-not-required finding on {relay} frames"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn corpus_captures_plugin_agrees_with_scan_without_errors() {
    if !available() {
        return;
    }
    let mut problems = Vec::new();
    // Where tshark itself decodes less (hostile files, its NBSS limits),
    // values the plugin shows must still equal smbsign's.
    for file in common::corpus_captures() {
        compare(&file, false, &mut problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A copy of a lab capture with one byte of the READ data flipped.
fn tampered(name: &str) -> PathBuf {
    let mut bytes = std::fs::read(common::repo().join("tests/captures").join(name)).unwrap();
    let at = memchr::memmem::find(&bytes, b"hello from the smbsign lab").unwrap();
    bytes[at + 3] ^= 0x20;
    let p = env().base.join(format!("tampered-{name}"));
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn plugin_verdicts_equal_the_cli_with_a_password() {
    if !available() {
        return;
    }
    let e = env();
    let password = "smbsign.passwords:LAB\\smblab:Passw0rd!";
    for name in [
        "smb311-gmac.pcap",
        "smb21-signed.pcap",
        "smb30-signed.pcap",
        "smb1-mode15.pcap",
    ] {
        for file in [
            common::repo().join("tests/captures").join(name),
            tampered(name),
        ] {
            let mut creds = smbsign::verify::Credentials::default();
            creds.add_password("LAB\\smblab:Passw0rd!").unwrap();
            let cli = smbsign::scan::Scanner::new(smbsign::scan::ScanOptions::with_credentials(
                std::sync::Arc::new(creds),
            ))
            .scan(&file)
            .unwrap()
            .connections;
            let copy = readable(&file);
            let out = tshark(
                &e.home,
                &[
                    "-n",
                    "-r",
                    copy.to_str().unwrap(),
                    "-o",
                    password,
                    "-T",
                    "fields",
                    "-E",
                    "occurrence=a",
                    "-e",
                    "frame.number",
                    "-e",
                    "smbsign.signature_status",
                ],
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            use smbsign::ffi::smbsign_verdict::{SMBSIGN_VERDICT_FORGED, SMBSIGN_VERDICT_VALID};
            let (valid_code, forged_code) = (
                (SMBSIGN_VERDICT_VALID as u32).to_string(),
                (SMBSIGN_VERDICT_FORGED as u32).to_string(),
            );
            let (mut valid, mut forged_frames) = (0u64, Vec::new());
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let (frame, statuses) = line.split_once('\t').unwrap_or((line, ""));
                for st in statuses.split(',') {
                    if st == valid_code {
                        valid += 1;
                    } else if st == forged_code {
                        forged_frames.push(frame.parse::<u64>().unwrap());
                    }
                }
            }
            let r = &cli[0];
            assert_eq!(valid, r.verified_messages.unwrap(), "{}", file.display());
            assert_eq!(forged_frames, r.forged_frames, "{}", file.display());
        }
    }
}

/// Issue 16: the keytab preference verifies Kerberos sessions in the
/// plugin as the CLI does with --keytab.
#[test]
fn plugin_verifies_kerberos_with_the_keytab_preference() {
    if !available() {
        return;
    }
    let e = env();
    let dir = common::repo().join("tests/captures/kerberos");
    let keytab = readable(&dir.join("dc1.keytab"));
    for name in ["krb-smb311-gmac-smb.pcap", "krb-smb21-smb.pcap"] {
        let file = dir.join(name);
        let mut creds = smbsign::verify::Credentials::default();
        creds.add_keytab_file(&dir.join("dc1.keytab")).unwrap();
        let cli = smbsign::scan::Scanner::new(smbsign::scan::ScanOptions::with_credentials(
            std::sync::Arc::new(creds),
        ))
        .scan(&file)
        .unwrap()
        .connections;
        let copy = readable(&file);
        let pref = format!("smbsign.keytab:{}", keytab.display());
        let out = tshark(
            &e.home,
            &[
                "-n",
                "-r",
                copy.to_str().unwrap(),
                "-o",
                &pref,
                "-T",
                "fields",
                "-E",
                "occurrence=a",
                "-e",
                "smbsign.signature_status",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let valid = (smbsign::ffi::smbsign_verdict::SMBSIGN_VERDICT_VALID as u32).to_string();
        let count = String::from_utf8_lossy(&out.stdout)
            .lines()
            .flat_map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>())
            .filter(|v| *v == valid)
            .count() as u64;
        assert!(count > 20, "{name}: {count}");
        assert_eq!(count, cli[0].verified_messages.unwrap(), "{name}");
    }
}

/// Every lab and corpus capture, mutated with `editcap -E` at several rates
/// and seeds and cut short (≥ 1,000 files, made here, not committed):
/// tshark with the plugin exits normally every time (no signal), and no
/// dissector bug is reported against the SMB Signing protocol.
#[test]
fn mutated_captures_never_break_tshark_with_the_plugin() {
    if !available() || !common::have_tool("editcap") {
        return;
    }
    let e = env();
    let dir = e.base.join("mutated");
    std::fs::create_dir_all(&dir).unwrap();
    let mut inputs = common::lab_captures();
    inputs.extend(common::corpus_captures());
    let mut files = Vec::new();
    for (k, cap) in inputs.iter().enumerate() {
        let src = readable(cap);
        for (j, (rate, seed)) in [
            (0.001, 1),
            (0.01, 2),
            (0.02, 3),
            (0.05, 4),
            (0.1, 5),
            (0.01, 6),
            (0.05, 7),
            (0.2, 8),
            (0.005, 9),
            (0.03, 10),
            (0.15, 11),
            (0.3, 12),
            (0.04, 13),
            (0.08, 14),
        ]
        .iter()
        .enumerate()
        {
            let out = dir.join(format!("{k}-{j}.pcapng"));
            let st = Command::new("editcap")
                .args(["-E", &rate.to_string(), "--seed", &seed.to_string()])
                .arg(&src)
                .arg(&out)
                .output()
                .unwrap();
            if st.status.success() {
                files.push(out);
            }
        }
        // And the file cut at two thirds.
        let bytes = std::fs::read(&src).unwrap();
        let cut = dir.join(format!("{k}-cut.pcap"));
        std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
        files.push(cut);
    }
    Command::new("chmod")
        .arg("-R")
        .arg("a+rX")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(files.len() >= 1000, "only {} mutated files", files.len());
    // Two at a time (the machines have two cores).
    let chunks: Vec<Vec<PathBuf>> = files
        .chunks(files.len().div_ceil(2))
        .map(|c| c.to_vec())
        .collect();
    let problems: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                s.spawn(move || {
                    let mut bad = Vec::new();
                    for f in chunk {
                        let out = tshark(
                            &e.home,
                            &[
                                "-n",
                                "-r",
                                f.to_str().unwrap(),
                                "-o",
                                "smbsign.passwords:LAB\\smblab:Passw0rd!",
                                "-T",
                                "fields",
                                "-e",
                                "smbsign.signature_status",
                            ],
                        );
                        let stderr = String::from_utf8_lossy(&out.stderr);
                        // tshark exits 2 for a cut file ("appears to have been cut short"): that is
                        // its own report, not a crash. A signal or a dissector bug is a failure.
                        let crashed = out.status.code().is_none();
                        // Wireshark's own dissectors have bugs on mutated input too
                        // ("Dissector bug, protocol SMB2/EPM"); only ours count here.
                        let ours = stderr.contains("protocol SMB Signing")
                            || stderr.contains("packet-smbsign");
                        if crashed || ours {
                            bad.push(format!(
                                "{}: {:?} {}",
                                f.display(),
                                out.status,
                                stderr.trim()
                            ));
                        }
                    }
                    bad
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn closed_after_negotiate_shows_on_the_frame_that_ends_the_connection() {
    if !available() {
        return;
    }
    let e = env();
    let mut files = common::lab_captures();
    files.extend(common::corpus_captures());
    let mut seen = 0;
    let mut problems = Vec::new();
    for file in files {
        let Ok(scan) = smbsign::scan::Scanner::default().scan(&file) else {
            continue;
        };
        let want = scan
            .connections
            .iter()
            .filter(|r| {
                r.findings
                    .iter()
                    .any(|f| f.code.as_str() == "closed-after-negotiate")
            })
            .count();
        // One tshark run: the marked frames, with their FIN and RST flags.
        let readable = readable(&file);
        let out = tshark(
            &e.home,
            &[
                "-n",
                "-r",
                readable.to_str().unwrap(),
                "-Y",
                "smbsign.finding == \"closed-after-negotiate\"",
                "-T",
                "fields",
                "-e",
                "frame.number",
                "-e",
                "tcp.flags.fin",
                "-e",
                "tcp.flags.reset",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let set = |v: Option<&str>| matches!(v, Some("1" | "True"));
        let mut got = Vec::new();
        let mut ends = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let c: Vec<&str> = line.split('\t').collect();
            let Ok(frame) = c[0].trim().parse::<u64>() else {
                continue;
            };
            got.push(frame);
            if set(c.get(1).copied()) || set(c.get(2).copied()) {
                ends.push(frame);
            }
        }
        if got.len() != want || ends != got {
            problems.push(format!(
                "{}: smbsign scan has {want} connection(s) closed after negotiate; the plugin \
                 marks frames {got:?}, of which FIN/RST {ends:?}",
                file.display()
            ));
        }
        seen += want;
    }
    assert!(
        seen >= 2,
        "only {seen} closed-after-negotiate connections exercised"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The finding codes the plugin shows anywhere in a capture (one pass).
fn plugin_findings(home: &Path, file: &Path, extra: &[&str]) -> std::collections::BTreeSet<u32> {
    let file = readable(file);
    let mut args = vec!["-n", "-r", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-e",
        "smbsign.finding",
    ]);
    let out = tshark(home, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .flat_map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>())
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

/// Bugs: the plugin never showed anonymous-session, and missed smb1-in-use
/// on connections whose negotiation was not captured. Every finding that
/// belongs to a message shows on some frame, the same as `smbsign scan`
/// reports it, on every lab capture and on an SMB1 capture cut after its
/// negotiation.
#[test]
fn every_message_finding_of_the_cli_shows_in_the_plugin() {
    use smbsign::posture::FindingCode::*;
    if !available() || !common::have_tool("editcap") {
        return;
    }
    let e = env();
    let per_message = [
        SigningNotRequired,
        SigningDisabled,
        SigningMismatch,
        UnsignedWhileRequired,
        GuestSession,
        AnonymousSession,
        Smb1InUse,
        EncryptionInUse,
        ClosedAfterNegotiate,
    ];
    let mut files = common::lab_captures();
    // smb1-mode15.pcap without its NEGOTIATE (frames 4 and 6).
    let cut = e.base.join("smb1-mode15-no-negotiate.pcap");
    let ok = Command::new("editcap")
        .args(["-r"])
        .arg(common::repo().join("tests/captures/smb1-mode15.pcap"))
        .arg(&cut)
        .arg("8-100000")
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "editcap -r");
    files.push(cut.clone());
    let mut problems = Vec::new();
    for file in files {
        let scan = smbsign::scan::Scanner::default().scan(&file).unwrap();
        let want: std::collections::BTreeSet<u32> = scan
            .connections
            .iter()
            .flat_map(|r| r.findings.iter().map(|f| f.code))
            .filter(|c| per_message.contains(c))
            .map(|c| c as u32)
            .collect();
        let got = plugin_findings(&e.home, &file, &[]);
        let missing: Vec<_> = want.difference(&got).collect();
        if !missing.is_empty() {
            problems.push(format!("{}: not shown: {missing:?}", file.display()));
        }
        if file == cut && !got.contains(&(Smb1InUse as u32)) {
            problems.push("smb1-in-use not shown without the negotiate".into());
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Per frame, how many smbsign annotations and how many SMB2 headers
/// (frames with a transform header are left out: their inner messages are
/// not decrypted here).
fn annotations_and_headers(home: &Path, file: &Path, extra: &[&str]) -> Vec<(u64, usize, usize)> {
    let file = readable(file);
    let mut args = vec!["-n", "-r", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "-Y",
        "smb2 && !smb2.header.transform.signature",
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-e",
        "frame.number",
        "-e",
        "smbsign.signature_status",
        "-e",
        "smb2.cmd",
    ]);
    let out = tshark(home, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = |v: &str| {
        if v.is_empty() {
            0
        } else {
            v.split(',').count()
        }
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Some((c.first()?.parse().ok()?, n(c.get(1)?), n(c.get(2)?)))
        })
        .collect()
}

/// Bug: under `tshark -2` the plugin repeated the annotations of later
/// compound parts on earlier ones. Each SMB2 message carries exactly its
/// own annotation, in one pass, with -2, and with the tree on (-V), on
/// every lab and corpus capture that has compounds.
#[test]
fn compound_parts_carry_one_annotation_each() {
    if !available() {
        return;
    }
    let e = env();
    let mut files = common::lab_captures();
    files.extend(common::corpus_captures());
    let mut compounds = 0;
    let mut problems = Vec::new();
    for file in files {
        let one = annotations_and_headers(&e.home, &file, &[]);
        if !one.iter().any(|&(_, _, headers)| headers > 1) {
            continue;
        }
        compounds += 1;
        for (mode, rows) in [
            ("one pass", one),
            ("-2", annotations_and_headers(&e.home, &file, &["-2"])),
            ("-V", annotations_and_headers(&e.home, &file, &["-V"])),
        ] {
            for (frame, annotations, headers) in rows {
                if annotations != headers {
                    problems.push(format!(
                        "{} frame {frame} ({mode}): {annotations} annotations, {headers} SMB2 headers",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(compounds > 0, "no capture with SMB2 compounds");
    problems.truncate(20);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Verification from the GUI's tables: a passwords UAT file in the profile
/// (the form Wireshark's SMB2 key table has) verifies as the CLI does.
#[test]
fn passwords_table_verifies_like_the_cli() {
    if !available() {
        return;
    }
    let e = env();
    let home = e.base.join("uat-home");
    let plugins = std::fs::read_dir(e.home.join(".local/lib/wireshark/plugins"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let dest = home
        .join(".local/lib/wireshark/plugins")
        .join(plugins.file_name().unwrap())
        .join("epan");
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::copy(plugins.join("epan/smbsign.so"), dest.join("smbsign.so")).unwrap();
    let profile = home.join(".config/wireshark");
    std::fs::create_dir_all(&profile).unwrap();
    std::fs::write(
        profile.join("smbsign_passwords"),
        "\"smblab\",\"Passw0rd!\"\n",
    )
    .unwrap();
    Command::new("chmod")
        .arg("-R")
        .arg("a+rwX")
        .arg(&home)
        .status()
        .unwrap();
    let file = common::repo().join("tests/captures/smb311-gmac.pcap");
    let mut creds = smbsign::verify::Credentials::default();
    creds.add_password("smblab:Passw0rd!").unwrap();
    let cli = smbsign::scan::Scanner::new(smbsign::scan::ScanOptions::with_credentials(
        std::sync::Arc::new(creds),
    ))
    .scan(&file)
    .unwrap()
    .connections;
    let copy = readable(&file);
    let out = tshark(
        &home,
        &[
            "-n",
            "-r",
            copy.to_str().unwrap(),
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-e",
            "smbsign.signature_status",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let valid = (smbsign::ffi::smbsign_verdict::SMBSIGN_VERDICT_VALID as u32).to_string();
    let shown = String::from_utf8_lossy(&out.stdout)
        .split(['\n', ','])
        .filter(|v| *v == valid)
        .count() as u64;
    let want = cli[0].verified_messages.unwrap();
    assert!(want > 10, "the lab capture has signed messages");
    assert_eq!(shown, want, "valid signatures through the passwords table");
}

/// Issue 15: in a capture of both relay legs (attacks/relay-auto.pcap),
/// each AUTHENTICATE (as tshark's own NTLMSSP dissector finds them) links
/// to the other through `smbsign.relay.peer_frame` under -2, and carries
/// the ntlm-relay finding; the relayed one also ntlm-target-mismatch.
#[test]
fn relay_legs_link_to_each_other() {
    if !available() {
        return;
    }
    let e = env();
    let file = common::repo().join("tests/captures/attacks/relay-auto.pcap");
    let f = file.to_str().unwrap();
    let auth = tshark(
        &e.home,
        &[
            "-r",
            f,
            "-Y",
            "ntlmssp.messagetype == 3",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ],
    );
    let frames: Vec<u64> = String::from_utf8_lossy(&auth.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(frames.len(), 2, "two AUTHENTICATEs: {frames:?}");
    let out = tshark(
        &e.home,
        &[
            "-2",
            "-r",
            f,
            "-Y",
            "smbsign.relay.peer_frame",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "smbsign.relay.peer_frame",
            "-e",
            "smbsign.finding",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        rows.len(),
        2,
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (row, (this, other)) in rows
        .iter()
        .zip([(frames[0], frames[1]), (frames[1], frames[0])])
    {
        assert_eq!(row[0], this.to_string(), "{text}");
        assert_eq!(row[1], other.to_string(), "{text}");
    }
    let relayed = &rows[1];
    let codes: Vec<&str> = relayed[2].split(',').collect();
    assert!(
        codes.contains(&"14"),
        "ntlm-relay on the relayed AUTHENTICATE: {text}"
    );
    assert!(
        codes.contains(&"15"),
        "ntlm-target-mismatch there too: {text}"
    );
}

/// What the plugin shows on every frame of `file`: frame number and every
/// smbsign field, all occurrences, in tshark's field output normalised for
/// tshark's own format changes (4.4 prints booleans as True/False where 4.0
/// prints 1/0, and doubles backslashes in strings).
fn plugin_fields(home: &Path, file: &Path) -> String {
    let file = readable(file);
    let mut args = vec![
        "-n",
        "-r",
        file.to_str().unwrap(),
        "-Y",
        "smb || smb2 || smbsign",
    ];
    args.extend_from_slice(&["-T", "fields", "-E", "occurrence=a", "-E", "separator=|"]);
    // Frame number and what Wireshark's own dissectors decoded there
    // (BASE_COLUMNS), then smbsign's fields.
    let fields = [
        "frame.number",
        "smb.cmd",
        "smb2.cmd",
        "smbsign.server_signing",
        "smbsign.client_signing",
        "smbsign.server_security_mode",
        "smbsign.client_security_mode",
        "smbsign.dialect",
        "smbsign.server_mode.required",
        "smbsign.client_mode.required",
        "smbsign.signing_algorithm",
        "smbsign.signed",
        "smbsign.signature_status",
        "smbsign.session.guest",
        "smbsign.session.anonymous",
        "smbsign.finding",
    ];
    for f in fields {
        args.extend_from_slice(&["-e", f]);
    }
    let out = tshark(home, &args);
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let norm = |v: &str| -> String {
        v.split(',')
            .map(|x| match x {
                "True" => "1".to_string(),
                "False" => "0".to_string(),
                x => x.replace("\\\\", "\\"),
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('|').map(norm).collect::<Vec<_>>().join("|") + "\n")
        .collect()
}

/// The same plugin source on Wireshark 4.0, 4.4 and 4.6 shows the same
/// thing on every lab and corpus capture. Each run writes its release's
/// views to $SMBSIGN_PLUGIN_VIEWS/<major.minor>/ (default
/// target/plugin-views); with SMBSIGN_PLUGIN_COMPARE set (the chroot runs
/// of tests/wireshark/chroot.sh) it also compares them with every other
/// release's views there, and at least one must be there.
#[test]
fn plugin_shows_the_same_on_every_wireshark_release() {
    if !available() {
        return;
    }
    let e = env();
    let views = std::env::var_os("SMBSIGN_PLUGIN_VIEWS")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join("target/plugin-views"));
    let mine = views.join(wireshark_release());
    let _ = std::fs::remove_dir_all(&mine);
    std::fs::create_dir_all(&mine).unwrap();
    let mut files = common::lab_captures();
    files.extend(common::corpus_captures());
    // Named by the path under its root (the host and a chroot may reach
    // the corpus by different paths).
    let roots: Vec<PathBuf> = [Some(common::repo()), common::corpus_dir()]
        .into_iter()
        .flatten()
        .filter_map(|r| r.canonicalize().ok())
        .collect();
    let mut names = Vec::new();
    for file in &files {
        let full = file.canonicalize().unwrap();
        let relative = roots
            .iter()
            .find_map(|r| full.strip_prefix(r).ok())
            .unwrap_or(&full);
        let name = relative.display().to_string().replace(['/', '\\'], "_") + ".txt";
        std::fs::write(mine.join(&name), plugin_fields(&e.home, file)).unwrap();
        names.push(name);
    }
    if std::env::var_os("SMBSIGN_PLUGIN_COMPARE").is_none_or(|v| v.is_empty()) {
        return;
    }
    let others: Vec<PathBuf> = std::fs::read_dir(&views)
        .unwrap()
        .filter_map(|d| Some(d.ok()?.path()))
        .filter(|p| p.is_dir() && *p != mine)
        .collect();
    assert!(
        !others.is_empty(),
        "no other release's views in {} to compare with",
        views.display()
    );
    // Frames where the releases' own SMB dissectors disagree (4.4 leaves
    // some SMB2 frames of dcerpc_witness.pcapng undecoded that 4.0 and 4.6
    // decode; 4.4 and 4.6 decode SMB1 frames 4.0 does not) are Wireshark's
    // difference, not the plugin's: they, and the frames after them in
    // the same capture, are counted, and must stay few.
    let (mut compared, mut wireshark_differs) = (0usize, 0usize);
    let mut problems = Vec::new();
    for other in &others {
        for name in &names {
            let theirs =
                rows_by_frame(&std::fs::read_to_string(other.join(name)).unwrap_or_default());
            let ours = rows_by_frame(&std::fs::read_to_string(mine.join(name)).unwrap());
            // From the first frame Wireshark decodes differently on, the
            // plugin was fed different PDUs, so its state may differ too.
            let mut diverged = false;
            for frame in ours
                .keys()
                .chain(theirs.keys())
                .collect::<std::collections::BTreeSet<_>>()
            {
                match (ours.get(frame), theirs.get(frame)) {
                    (Some(a), Some(b)) if !diverged && a[..BASE_COLUMNS] == b[..BASE_COLUMNS] => {
                        compared += 1;
                        if a != b {
                            problems.push(format!(
                                "{name} frame {frame}: {} shows {}, {} shows {}",
                                mine.display(),
                                a.join("|"),
                                other.display(),
                                b.join("|")
                            ));
                        }
                    }
                    _ => {
                        diverged = true;
                        wireshark_differs += 1
                    }
                }
            }
        }
    }
    eprintln!(
        "{compared} frames compared; {wireshark_differs} where Wireshark's own SMB dissection differs between releases"
    );
    assert!(compared > 1000, "only {compared} frames compared");
    assert!(
        wireshark_differs * 20 < compared,
        "{wireshark_differs} frames decoded differently by Wireshark itself, of {compared}"
    );
    problems.truncate(20);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The columns of a view row that are Wireshark's own (smb.cmd, smb2.cmd).
const BASE_COLUMNS: usize = 2;

/// A view's rows by frame number: the other columns.
fn rows_by_frame(view: &str) -> BTreeMap<u64, Vec<String>> {
    view.lines()
        .filter_map(|l| {
            let mut c = l.split('|');
            let frame = c.next()?.parse().ok()?;
            Some((frame, c.map(str::to_owned).collect()))
        })
        .collect()
}

/// The major.minor of the Wireshark the plugin is built against.
fn wireshark_release() -> String {
    let ws = Command::new("pkg-config")
        .args(["--modversion", "wireshark"])
        .output()
        .unwrap();
    assert!(
        ws.status.success(),
        "pkg-config wireshark: install libwireshark-dev"
    );
    let ver = String::from_utf8_lossy(&ws.stdout).trim().to_string();
    ver.rsplit_once('.').unwrap().0.to_string()
}

/// SMB on another TCP port (the lab's smbd on 4455): the plugin's TCP
/// heuristic recognises NBSS framing with an SMB magic, so every frame
/// Wireshark decodes as SMB2 when told to (`-d tcp.port==4455,nbss`) is
/// annotated with no "Decode As" at all, with the posture the lab set
/// (`server signing = mandatory`); the heuristic can be turned off.
#[test]
fn smb_on_another_port_is_annotated_by_the_heuristic() {
    if !available() {
        return;
    }
    let e = env();
    let file = readable(&common::repo().join("tests/captures/port4455.pcapng"));
    let file = file.to_str().unwrap();
    let frames_of = |extra: &[&str], filter: &str, field: &str| -> Vec<String> {
        let mut args = vec!["-n", "-r", file];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-Y", filter, "-T", "fields", "-e", field]);
        let out = tshark(&e.home, &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let decoded = frames_of(&["-d", "tcp.port==4455,nbss"], "smb2", "frame.number");
    assert!(decoded.len() > 10, "the capture holds SMB2 on 4455");
    let annotated = frames_of(&[], "smbsign", "frame.number");
    assert_eq!(annotated, decoded, "annotated frames vs SMB2 frames");
    let required = frames_of(
        &[],
        "smb2.cmd == 0 && smb2.flags.response == 1",
        "smbsign.server_signing",
    );
    assert_eq!(required, ["3"], "the negotiate response: required");
    let off = frames_of(
        &["--disable-heuristic", "smbsign_nbss_tcp"],
        "smbsign",
        "frame.number",
    );
    assert!(off.is_empty(), "heuristic off: {off:?}");
    let pref_off = frames_of(
        &["-o", "smbsign.other_ports:FALSE"],
        "smbsign",
        "frame.number",
    );
    assert!(pref_off.is_empty(), "preference off: {pref_off:?}");
}

/// Finding texts are complete in the tree: no label reaches Wireshark's
/// 240-byte limit, and each fix item (one per side and setting), put back
/// together when continued (later parts start with "…"), is word for word
/// a setting of the CLI's fixes (`side, label: text`, the label as the
/// fix's sentence shows it) for a finding of the same code in the same
/// capture. (The
/// plugin shows the posture as it stood at each message, so a finding the
/// final report no longer has is counted, not compared.)
#[test]
fn finding_fixes_are_whole_and_within_the_label_limit() {
    if !available() {
        return;
    }
    let e = env();
    let (mut whole, mut mid_stream) = (0, 0);
    for file in common::lab_captures() {
        let out = common::smbsign(&["scan", "--json", file.to_str().unwrap()]);
        let mut cli: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
        for f in common::json_lines(&out.stdout)
            .iter()
            .flat_map(|r| r["findings"].as_array().cloned().unwrap_or_default())
        {
            let fixes = cli
                .entry(f["code"].as_str().unwrap().to_owned())
                .or_default();
            // One item per side and setting: "side, label: text", where
            // "label: text" is how the setting's sentence shows that part.
            for x in f["fixes"].as_array().cloned().unwrap_or_default() {
                let setting = x["setting"].as_str().unwrap();
                for part in x["parts"].as_array().expect("a fix lists its parts") {
                    let text = part["text"].as_str().unwrap();
                    let at = setting
                        .find(&format!(": {text}"))
                        .expect("each part is in the sentence");
                    let label = setting[..at].rsplit("; ").next().unwrap();
                    let label = label.rsplit(": ").next().unwrap();
                    fixes.insert(format!("{}, {label}: {text}", x["side"].as_str().unwrap()));
                }
            }
        }
        let copy = readable(&file);
        let out = tshark(
            &e.home,
            &["-n", "-r", copy.to_str().unwrap(), "-V", "-O", "smbsign"],
        );
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        let mut fixes: Vec<(String, String)> = Vec::new();
        let mut code = String::new();
        for line in text.lines() {
            let label = line.trim().trim_start_matches('[').trim_end_matches(']');
            assert!(
                label.len() < 240,
                "{}: label of {} bytes: {label}",
                file.display(),
                label.len()
            );
            if let Some(f) = label.strip_prefix("Finding: ") {
                code = f.split(' ').next().unwrap_or_default().to_owned();
            } else if let Some(fix) = label.strip_prefix("Fix: ") {
                match fix.strip_prefix('…') {
                    Some(rest) => {
                        let last = fixes.last_mut().expect("a continuation follows a fix");
                        last.1.push(' ');
                        last.1.push_str(rest);
                    }
                    None => fixes.push((code.clone(), fix.to_owned())),
                }
            }
        }
        for (code, fix) in fixes {
            match cli.get(&code) {
                Some(theirs) if !theirs.is_empty() => {
                    assert!(
                        theirs.contains(&fix),
                        "{}: {code} fix not the CLI's:\n{fix}\nCLI: {theirs:#?}",
                        file.display()
                    );
                    whole += 1;
                }
                _ => mid_stream += 1,
            }
        }
    }
    eprintln!(
        "{whole} fixes compared with the CLI's, {mid_stream} of findings the final report no longer has"
    );
    assert!(whole >= 10, "only {whole} fixes compared over the lab");
}

/// Wireshark's expert dialog (and `-z expert`) groups by expert info and
/// summary: each finding code has its own, worded as `code: summary`, so
/// a group never gathers two codes (`closed-after-negotiate` once sat under
/// another code's summary). Every code the CLI reports for a lab capture
/// shows on a frame has its own group, at the CLI's severity.
#[test]
fn expert_groups_are_one_per_finding_code() {
    if !available() {
        return;
    }
    let e = env();
    let mut groups = 0;
    for file in common::lab_captures() {
        let out = common::smbsign(&["scan", "--json", file.to_str().unwrap()]);
        let mut cli = BTreeMap::new();
        for f in common::json_lines(&out.stdout)
            .iter()
            .flat_map(|r| r["findings"].as_array().cloned().unwrap_or_default())
        {
            // The plugin marks findings on the frames that show them; one
            // the connection's end decides (no frame) has no frame to mark.
            if f["frames"].as_array().is_none_or(|v| v.is_empty()) {
                continue;
            }
            let code = f["code"].as_str().unwrap().to_owned();
            cli.insert(code, f["severity"].as_str().unwrap().to_owned());
        }
        let copy = readable(&file);
        let out = tshark(
            &e.home,
            &["-n", "-q", "-r", copy.to_str().unwrap(), "-z", "expert"],
        );
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        let mut level = "";
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in text.lines() {
            if let Some((name, _)) = line.split_once(" (")
                && ["Errors", "Warns", "Notes", "Chats", "Comments"].contains(&name)
            {
                level = name;
            }
            let Some((_, summary)) = line.split_once("SMB Signing  ") else {
                continue;
            };
            let (code, words) = summary
                .split_once(": ")
                .unwrap_or_else(|| panic!("{}: not `code: summary`: {summary}", file.display()));
            assert!(!words.is_empty() && !words.contains(": "), "{summary}");
            seen.entry(code.to_owned())
                .or_default()
                .push(format!("{level} {words}"));
        }
        for (code, rows) in &seen {
            assert_eq!(
                rows.len(),
                1,
                "{}: {code} in groups {rows:?}",
                file.display()
            );
            groups += 1;
        }
        for (code, severity) in &cli {
            let rows = seen
                .get(code)
                .unwrap_or_else(|| panic!("{}: no expert group for {code}", file.display()));
            let want = match severity.as_str() {
                "error" => "Errors",
                "warning" => "Warns",
                _ => "Notes",
            };
            assert!(
                rows[0].starts_with(want),
                "{}: {code} ({severity}) under {rows:?}",
                file.display()
            );
        }
    }
    assert!(groups >= 20, "only {groups} expert groups over the lab");
}

/// The profile the install command copies (plugin/profile/smbsign): every
/// filter button and coloring rule compiles on this release, the Forged
/// button selects the message whose byte was flipped (found by Wireshark's
/// own SMB2 dissector), and its columns show the signing the lab set.
#[test]
fn the_profile_filters_compile_and_its_columns_show_signing() {
    if !available() {
        return;
    }
    let e = env();
    let profile = e.home.join(".config/wireshark/profiles/smbsign");
    let text = |name: &str| std::fs::read_to_string(profile.join(name)).unwrap();
    let mut filters = Vec::new();
    for line in text("dfilter_buttons")
        .lines()
        .filter(|l| l.starts_with('"'))
    {
        let fields: Vec<&str> = line.split("\",\"").collect();
        assert_eq!(fields.len(), 4, "{line}");
        filters.push((fields[1].to_owned(), fields[2].replace("\\x22", "\"")));
    }
    for line in text("colorfilters").lines().filter(|l| l.starts_with('@')) {
        let fields: Vec<&str> = line.split('@').collect();
        filters.push((fields[1].to_owned(), fields[2].to_owned()));
    }
    assert!(filters.len() >= 8, "{filters:?}");
    let forged = tampered("smb311-gmac.pcap");
    let select = |filter: &str, extra: &[&str]| {
        let mut args = vec!["-C", "smbsign", "-n", "-r", forged.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.extend(["-Y", filter, "-T", "fields", "-e", "frame.number"]);
        let out = tshark(&e.home, &args);
        assert!(
            out.status.success(),
            "{filter}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    for (name, filter) in &filters {
        eprintln!("{name}: {filter} ({} frames)", select(filter, &[]).len());
    }
    let (_, forged_filter) = filters
        .iter()
        .find(|(n, _)| n == "Forged")
        .expect("a Forged button");
    let password = ["-o", "smbsign.passwords:LAB\\smblab:Passw0rd!"];
    let flipped = select("smb2 contains \"helLo from the smbsign lab\"", &[]);
    assert_eq!(flipped.len(), 1, "{flipped:?}");
    assert_eq!(select(forged_filter, &password), flipped);
    assert!(
        select(forged_filter, &[]).is_empty(),
        "no password, nothing verified"
    );
    // Weak logons: none in an NTLMv2 lab logon, the guest logon of the
    // lab's guest capture (its manifest: "map to guest").
    let (_, weak) = filters
        .iter()
        .find(|(n, _)| n == "Weak logons")
        .expect("a Weak logons button");
    assert!(select(weak, &[]).is_empty(), "{weak}");
    let guest = readable(&common::repo().join("tests/captures/smb311-guest.pcap"));
    let out = tshark(
        &e.home,
        &[
            "-C",
            "smbsign",
            "-n",
            "-r",
            guest.to_str().unwrap(),
            "-Y",
            weak,
        ],
    );
    assert!(
        !out.stdout.is_empty(),
        "{weak} selects no frame of smb311-guest.pcap"
    );
    // The columns: the port-4455 lab server is "server signing = mandatory".
    let copy = readable(&common::repo().join("tests/captures/port4455.pcapng"));
    let out = tshark(
        &e.home,
        &[
            "-C",
            "smbsign",
            "-n",
            "-r",
            copy.to_str().unwrap(),
            "-Y",
            "smb2.cmd == 0 && smb2.flags.response == 1",
        ],
    );
    let rows = String::from_utf8_lossy(&out.stdout);
    assert!(
        !rows.trim().is_empty() && rows.lines().all(|l| l.contains(" required ")),
        "{rows}"
    );
}
