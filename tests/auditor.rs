//! The auditor's view: `smbsign hosts` over the lab captures (expectations
//! from how the lab configured each server, `tests/captures/manifest.json`),
//! the relay-target list, the OS and service names against tshark, and the
//! inputs auditors have (standard input, directories, `-j`).

mod common;

use common::{json_lines, smbsign};

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// manifest case → (capture, the server signing the lab configured, as
/// the lab recorded it when it made the capture).
fn lab_cases() -> Vec<(PathBuf, String)> {
    let dir = common::repo().join("tests/captures");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let cases = m["cases"].as_object().unwrap();
    let v: Vec<(PathBuf, String)> = cases
        .values()
        .map(|c| {
            (
                dir.join(c["file"].as_str().unwrap()),
                c["expect"]["server_signing"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(v.len() >= 30, "{} cases", v.len());
    v
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smbsign-auditor-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn servers(rows: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    rows.iter().filter(|r| r["type"] == "server").collect()
}

#[test]
fn each_lab_server_posture_and_relay_list_follow_its_configuration() {
    let dir = tmp("cases");
    for (capture, configured) in lab_cases() {
        let list = dir.join("relay.txt");
        let out = smbsign(&[
            "hosts",
            "--json",
            "--relay-list",
            list.to_str().unwrap(),
            capture.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}: {out:?}", capture.display());
        let rows = json_lines(&out.stdout);
        let s = servers(&rows);
        assert_eq!(s.len(), 1, "{}: one server", capture.display());
        assert_eq!(
            s[0]["signing"],
            configured.as_str(),
            "{}",
            capture.display()
        );
        let listed = std::fs::read_to_string(&list).unwrap();
        let address = s[0]["address"].as_str().unwrap();
        assert_eq!(
            listed.lines().collect::<Vec<_>>(),
            if configured == "required" {
                vec![]
            } else {
                vec![address]
            },
            "{}",
            capture.display()
        );
        assert!(
            rows.iter().any(|r| r["type"] == "client"),
            "{}: a client row",
            capture.display()
        );
    }
}

#[test]
fn merged_over_the_lab_the_server_is_mixed_and_left_out_of_the_relay_list() {
    // Every top-level lab capture has its server on 127.0.0.1 (ipv6.pcap on
    // ::1), configured mandatory in some cases and not in others.
    let dir = tmp("merged");
    let list = dir.join("relay.txt");
    let cases = lab_cases();
    let v4: Vec<&(PathBuf, String)> = cases
        .iter()
        .filter(|(p, _)| !p.ends_with("ipv6.pcap"))
        .collect();
    assert!(v4.iter().any(|(_, s)| s == "required") && v4.iter().any(|(_, s)| s != "required"));
    let mut args = vec!["hosts", "--json", "--relay-list", list.to_str().unwrap()];
    args.extend(v4.iter().map(|(p, _)| p.to_str().unwrap()));
    let out = smbsign(&args);
    assert!(out.status.success(), "{out:?}");
    let rows = json_lines(&out.stdout);
    let s = servers(&rows);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["address"], "127.0.0.1");
    assert_eq!(s[0]["signing"], "mixed");
    let required = v4.iter().filter(|(_, s)| s == "required").count() as u64;
    assert!(s[0]["signing_observed"]["required"].as_u64().unwrap() >= required);
    assert_eq!(std::fs::read_to_string(&list).unwrap(), "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("127.0.0.1: left out of the relay list"),
        "{err}"
    );
}

#[test]
fn servers_are_sorted_by_exposure_and_unknown_is_never_guessed() {
    let out = smbsign(&["hosts", "--json", "tests/captures"]);
    assert!(out.status.success(), "{out:?}");
    let rows = json_lines(&out.stdout);
    let s = servers(&rows);
    let rank = |r: &serde_json::Value| match r["signing"].as_str().unwrap() {
        "disabled" | "enabled" => 0,
        "mixed" => 1,
        "unknown" => 2,
        "required" => 3,
        other => panic!("posture {other}"),
    };
    let ranks: Vec<i32> = s.iter().map(|r| rank(r)).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    for r in &s {
        let o = &r["signing_observed"];
        let seen: u64 = ["required", "enabled", "disabled"]
            .iter()
            .map(|k| o[k].as_u64().unwrap())
            .sum();
        assert_eq!(seen == 0, r["signing"] == "unknown", "{r}");
    }
    // The corpus has servers whose NEGOTIATE response is not in the
    // capture (mid-stream captures): they must show unknown.
    if let Some(dir) = common::corpus_dir() {
        let out = smbsign(&["hosts", "--json", "-q", dir.to_str().unwrap()]);
        let rows = json_lines(&out.stdout);
        assert!(
            servers(&rows).iter().any(|r| r["signing"] == "unknown"),
            "a mid-stream server is unknown"
        );
    }
}

/// Server address → every NTLMSSP VERSION ("major.minor build N") of the
/// CHALLENGEs tshark decodes from it.
fn tshark_challenge_versions(path: &Path) -> BTreeMap<String, Vec<String>> {
    // SMB on other ports (the lab's 4455): tshark needs telling.
    let scan = json_lines(&smbsign(&["scan", "--json", path.to_str().unwrap()]).stdout);
    let ports: std::collections::BTreeSet<String> = scan
        .iter()
        .filter_map(|r| r["server"].as_str()?.rsplit(':').next().map(str::to_owned))
        .filter(|p| p != "445" && p != "139")
        .collect();
    let mut cmd = Command::new("tshark");
    for p in &ports {
        cmd.arg("-d").arg(format!("tcp.port=={p},nbss"));
    }
    let out = cmd
        .args(["-n", "-r"])
        .arg(path)
        .args([
            "-Y",
            "ntlmssp.messagetype == 2 && ntlmssp.version.build_number",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "ipv6.src",
            "-e",
            "ntlmssp.version.major",
            "-e",
            "ntlmssp.version.minor",
            "-e",
            "ntlmssp.version.build_number",
        ])
        .output()
        .expect("tshark");
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = l.split('\t').collect();
        let ip = if f[0].is_empty() { f[1] } else { f[0] };
        // A tunnel's outer and inner headers: the inner address is last.
        let ip = ip.rsplit(',').next().unwrap_or(ip);
        // Several CHALLENGEs in one frame (SMB1 AndX, retries): one each.
        let (ma, mi, b) = (f[2].split(','), f[3].split(','), f[4].split(','));
        for ((ma, mi), b) in ma.zip(mi).zip(b) {
            m.entry(ip.to_owned())
                .or_default()
                .push(format!("{ma}.{mi} build {b}"));
        }
    }
    m
}

#[test]
fn server_os_versions_are_the_ones_tshark_decodes() {
    if !common::have_tool("tshark") {
        return;
    }
    let mut compared = 0;
    let mut files: Vec<PathBuf> = common::lab_captures();
    files.extend(common::corpus_captures());
    for path in files {
        let want = tshark_challenge_versions(&path);
        let out = smbsign(&["hosts", "--json", path.to_str().unwrap()]);
        let rows = json_lines(&out.stdout);
        for r in servers(&rows) {
            let got = r["os_version"].as_str();
            match want.get(r["address"].as_str().unwrap()) {
                // Several logons may differ; smbsign shows the last one seen,
                // so it must be one of those tshark decodes for that address.
                Some(all) => {
                    assert!(
                        got.is_some_and(|g| all.iter().any(|x| x == g)),
                        "{}: {} os_version {got:?}, tshark {all:?}",
                        path.display(),
                        r["address"]
                    );
                    compared += 1;
                }
                None => assert_eq!(got, None, "{}: {}", path.display(), r["address"]),
            }
        }
    }
    assert!(compared >= 10, "compared {compared} servers");
}

#[test]
fn kerberos_service_principals_are_the_tickets_snames() {
    if !common::have_tool("tshark") {
        return;
    }
    let dir = common::repo().join("tests/captures/kerberos");
    let mut compared = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if !path.to_string_lossy().ends_with("-smb.pcap") {
            continue;
        }
        // The AP-REQ inside SESSION_SETUP: its ticket's sname and realm.
        let out = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&path)
            .args([
                "-Y",
                "smb2.cmd == 1 && smb2.flags.response == 0 && kerberos.msg_type == 14",
                "-T",
                "fields",
                "-e",
                "kerberos.SNameString",
                "-e",
                "kerberos.realm",
            ])
            .output()
            .unwrap();
        let want: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let realm = f[1].split(',').next().unwrap_or("");
                format!("{}@{realm}", f[0].replace(',', "/"))
            })
            .collect();
        assert!(!want.is_empty(), "{}: no AP-REQ", path.display());
        let out = smbsign(&["scan", "--json", path.to_str().unwrap()]);
        let got: Vec<String> = json_lines(&out.stdout)
            .iter()
            .flat_map(|r| r["sessions"].as_array().cloned().unwrap_or_default())
            .filter_map(|s| s["service_principal"].as_str().map(str::to_owned))
            .collect();
        assert!(!got.is_empty(), "{}", path.display());
        for g in &got {
            assert!(want.contains(g), "{}: {g} not in {want:?}", path.display());
        }
        compared += 1;
    }
    assert!(compared >= 4, "{compared}");
}

#[test]
fn jobs_do_not_change_the_output() {
    let mut args = vec!["scan", "--json", "tests/captures"];
    let corpus = common::corpus_dir();
    if let Some(d) = &corpus {
        args.push(d.to_str().unwrap());
    }
    let run = |j: &str| {
        let mut a = args.clone();
        a.extend(["-j", j]);
        smbsign(&a)
    };
    let one = run("1");
    assert!(!one.stdout.is_empty());
    for j in ["2", "4"] {
        let n = run(j);
        assert_eq!(n.status.code(), one.status.code(), "-j {j}");
        assert!(n.stdout == one.stdout, "-j {j}: output differs from -j 1");
        assert_eq!(n.stderr, one.stderr, "-j {j}");
    }
    let hosts = |j: &str| smbsign(&["hosts", "--json", "-j", j, "tests/captures"]).stdout;
    assert_eq!(hosts("1"), hosts("2"));
}

#[test]
fn standard_input_is_read_as_a_capture_compressed_or_not() {
    let capture = common::repo().join("tests/captures/smb311-gmac.pcap");
    let bytes = std::fs::read(&capture).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    let gz = gz.finish().unwrap();
    let from_file = json_lines(&smbsign(&["scan", "--json", capture.to_str().unwrap()]).stdout);
    for input in [bytes.clone(), gz] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_smbsign"))
            .args(["scan", "--json", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(out.status.success());
        let mut got = json_lines(&out.stdout);
        assert_eq!(got.len(), from_file.len());
        for (g, f) in got.iter_mut().zip(&from_file) {
            assert_eq!(g["file"], "-");
            g["file"] = f["file"].clone();
            assert_eq!(g, f);
        }
    }
}

#[test]
fn directories_are_walked_and_files_told_by_their_magic() {
    let dir = tmp("walk");
    let lab = common::repo().join("tests/captures");
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    std::fs::copy(lab.join("smb311-gmac.pcap"), dir.join("capture.bin")).unwrap();
    std::fs::copy(lab.join("port4455.pcapng"), dir.join("sub/deeper/x")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&std::fs::read(lab.join("smb21-signed.pcap")).unwrap())
        .unwrap();
    std::fs::write(dir.join("sub/c.gz"), gz.finish().unwrap()).unwrap();
    let mut text_gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    text_gz.write_all(b"not a capture at all").unwrap();
    std::fs::write(dir.join("notes.gz"), text_gz.finish().unwrap()).unwrap();
    std::fs::write(
        dir.join("sub/README.pcap"),
        b"# a text file named like a capture\n",
    )
    .unwrap();
    let out = smbsign(&["scan", "--json", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let files: std::collections::BTreeSet<String> = json_lines(&out.stdout)
        .iter()
        .map(|r| r["file"].as_str().unwrap().to_owned())
        .collect();
    let want: std::collections::BTreeSet<String> = ["capture.bin", "sub/c.gz", "sub/deeper/x"]
        .iter()
        .map(|f| dir.join(f).display().to_string())
        .collect();
    assert_eq!(files, want);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skipped 2 file(s)"), "{err}");
}

#[test]
fn a_bad_file_gets_one_error_line_and_the_others_are_reported() {
    let dir = tmp("bad");
    let bad = dir.join("bad.pcap");
    std::fs::write(&bad, b"this is not a capture").unwrap();
    let good = common::repo().join("tests/captures/smb311-gmac.pcap");
    for j in ["1", "2"] {
        let out = smbsign(&[
            "scan",
            "--json",
            "-j",
            j,
            bad.to_str().unwrap(),
            good.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.lines().filter(|l| l.contains("bad.pcap")).count(),
            1,
            "{err}"
        );
        assert!(!json_lines(&out.stdout).is_empty());
    }
}

#[test]
fn csv_has_one_row_per_host_and_quotes_lists() {
    let json = json_lines(&smbsign(&["hosts", "--json", "tests/captures"]).stdout);
    let out = smbsign(&["hosts", "--csv", "tests/captures"]);
    assert!(out.status.success());
    let mut r = csv::Reader::from_reader(&out.stdout[..]);
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(&header[..3], ["role", "address", "names"]);
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), json.len());
    for (row, j) in rows.iter().zip(&json) {
        assert_eq!(row.get(0), j["type"].as_str());
        assert_eq!(row.get(1), j["address"].as_str());
        assert_eq!(row.len(), header.len());
    }
    // Names are joined by commas: the field must come back whole.
    assert!(
        rows.iter()
            .any(|r| r.get(2).is_some_and(|n| n.contains(',')))
    );
}
