//! `smbsign report --html` in a real browser: headless Chromium renders the
//! report of every lab capture with the network cut off; the DOM must hold
//! every server and finding code (from `hosts --json` and `scan --json`),
//! the hostile-names capture's user and share names as text, never as
//! elements, and no reference to anything outside the file; the
//! screenshot must not be blank.

mod common;

use common::{json_lines, smbsign};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The browser: `chromium` (Debian), also known as chromium-browser.
fn browser() -> Option<&'static str> {
    for b in ["chromium", "chromium-browser"] {
        if Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(b);
        }
    }
    if common::in_ci() {
        panic!("chromium is required under CI but is not installed");
    }
    eprintln!("\n*** SKIPPING: chromium not installed (apt-get install chromium) ***\n");
    None
}

/// Headless Chromium with no way out: every host name resolves to nothing
/// and every connection goes to a closed local port.
fn chromium(b: &str, profile: &Path, args: &[&str], page: &Path) -> std::process::Output {
    Command::new(b)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

/// The hostile-names case's strings, as the lab recorded them.
fn hostile() -> (String, String) {
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("tests/captures/manifest.json")).unwrap(),
    )
    .unwrap();
    let e = &m["cases"]["hostile-names"]["expect"];
    (
        e["user"].as_str().unwrap().into(),
        e["tree_path"].as_str().unwrap().into(),
    )
}

/// The text of `s` as Chromium serialises a text node (`&`, `<`, `>`).
fn as_text_node(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn the_report_renders_in_a_browser_with_everything_escaped_and_nothing_fetched() {
    let Some(b) = browser() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("smbsign-html-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let page: PathBuf = dir.join("report.html");
    let out = smbsign(&[
        "report",
        "--html",
        page.to_str().unwrap(),
        "-q",
        "tests/captures",
    ]);
    assert!(out.status.success(), "{out:?}");

    let dump = chromium(b, &dir.join("profile"), &["--dump-dom"], &page);
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dom = String::from_utf8_lossy(&dump.stdout).to_string();
    assert!(
        dom.contains("SMB signing audit"),
        "{}",
        &dom[..dom.len().min(500)]
    );

    // Every server of the run, and every finding code its reports carry.
    let hosts = json_lines(&smbsign(&["hosts", "--json", "tests/captures"]).stdout);
    for h in hosts.iter().filter(|h| h["type"] == "server") {
        let a = h["address"].as_str().unwrap();
        assert!(dom.contains(&format!("<td>{a}</td>")), "server {a} missing");
    }
    let codes: BTreeSet<String> =
        json_lines(&smbsign(&["scan", "--json", "tests/captures"]).stdout)
            .iter()
            .flat_map(|r| r["findings"].as_array().cloned().unwrap_or_default())
            .map(|f| f["code"].as_str().unwrap().to_owned())
            .collect();
    assert!(codes.len() >= 5, "{codes:?}");
    for c in &codes {
        assert!(
            dom.contains(&format!("id=\"f-{c}\"")),
            "finding {c} missing"
        );
    }

    // The capture's markup is text: its escaped form is in the DOM, and
    // no element it would have made exists.
    let (user, path) = hostile();
    assert!(
        dom.contains(&as_text_node(&user)),
        "user {user:?} not shown as text"
    );
    assert!(
        dom.contains(&as_text_node(&path)),
        "path {path:?} not shown as text"
    );
    for element in [
        "<script",
        "<img",
        "<svg onload",
        "<link",
        "<iframe",
        "<object",
    ] {
        assert!(
            !dom.to_ascii_lowercase().contains(element),
            "{element} in the DOM"
        );
    }
    // Nothing outside the file is referenced: no URL-bearing attribute in
    // any tag (text may say "src=": it is the capture's, escaped), and
    // nothing fetched from the style sheet.
    let html = std::fs::read_to_string(&page).unwrap();
    let mut tags = 0;
    for tag in html
        .split('<')
        .skip(1)
        .filter_map(|t| t.split_once('>').map(|(t, _)| t))
    {
        tags += 1;
        for attr in [
            " src=", " href=", " srcset=", " action=", " data=", "http:", "https:",
        ] {
            assert!(!tag.contains(attr), "<{tag}> references something");
        }
    }
    assert!(tags > 100, "{tags} tags");
    let style = html
        .split("<style>")
        .nth(1)
        .and_then(|s| s.split("</style>").next())
        .unwrap();
    assert!(
        !style.contains("url(") && !style.contains("@import"),
        "{style}"
    );

    // The screenshot shows something: many pixels not white, several colours.
    let shot = dir.join("report.png");
    let s = chromium(
        b,
        &dir.join("profile"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1600",
        ],
        &page,
    );
    assert!(
        shot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&s.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let mut colours = BTreeSet::new();
    let mut inked = 0usize;
    for px in pixels.chunks(channels) {
        let rgb = (px[0], px[1], px[2]);
        if rgb != (255, 255, 255) {
            inked += 1;
        }
        if colours.len() < 64 {
            colours.insert(rgb);
        }
    }
    let total = pixels.len() / channels;
    assert!(
        inked * 100 > total,
        "{inked} of {total} pixels are not white"
    );
    assert!(colours.len() >= 8, "{} colours", colours.len());
    // Red and green bars of the chart are drawn.
    let has = |c: (u8, u8, u8)| pixels.chunks(channels).any(|p| (p[0], p[1], p[2]) == c);
    assert!(
        has((0x2e, 0x7d, 0x32)) && has((0xc6, 0x28, 0x28)),
        "chart colours missing"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
