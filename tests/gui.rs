//! The Wireshark GUI with the plugin and its profile, as a user opens it:
//! under Xvfb, on a lab capture with one forged signature (a byte of a
//! READ response flipped after capture), filtered to forged signatures.
//! The window must come up, show what tshark says it shows (read back off
//! the screenshot's status bar), and close cleanly on Ctrl+Q.
//!
//! Needs wireshark-qt, xvfb, xdotool, imagemagick and tesseract-ocr (CI
//! installs them; elsewhere the test skips, loudly). With
//! SMBSIGN_SCREENSHOTS=DIR the screenshots are kept there (docs/ holds the
//! README's).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "smbsign.passwords:LAB\\smblab:Passw0rd!";
const FORGED: &str = "smbsign.signature_status == \"forged\"";

struct Lab {
    base: PathBuf,
    home: PathBuf,
}

fn available() -> bool {
    [
        "wireshark",
        "Xvfb",
        "xdotool",
        "import",
        "tesseract",
        "tshark",
    ]
    .iter()
    .all(|t| have(t))
}

/// Like common::have_tool, for tools without a working `--version`.
fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if common::in_ci() {
            panic!("{tool} is required under CI but is not installed");
        }
        eprintln!("\n*** SKIPPING the GUI test: {tool} not installed ***\n");
    }
    found
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Run `program` as the user the GUI runs as (nobody when root, since
/// Wireshark run as root ignores the personal plugin and profile folders).
fn as_user(lab: &Lab, display: &str, program: &str) -> Command {
    let mut c = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--", "env"]);
        c.arg(format!("HOME={}", lab.home.display()));
        c.arg(format!("DISPLAY={display}"));
        c.arg(format!(
            "XDG_RUNTIME_DIR={}",
            lab.base.join("run").display()
        ));
        c.arg(program);
        c
    } else {
        let mut c = Command::new(program);
        c.env("HOME", &lab.home).env("DISPLAY", display);
        c
    };
    c.env("QT_QPA_PLATFORM", "xcb");
    c
}

fn lab() -> Lab {
    let base = std::env::temp_dir().join(format!("smbsign-gui-{}", std::process::id()));
    let home = base.join("home");
    let release = String::from_utf8(
        Command::new("pkg-config")
            .args(["--modversion", "wireshark"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let mm = release.trim().rsplit_once('.').unwrap().0.to_owned();
    // The install command, into this HOME: plugin and profile.
    let out = Command::new("bash")
        .arg(common::repo().join("plugin/build.sh"))
        .arg(home.join(format!(".local/lib/wireshark/plugins/{mm}/epan")))
        .arg(home.join(".config/wireshark/profiles"))
        .env(
            "CARGO_TARGET_DIR",
            common::repo().join("target/plugin-build"),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "plugin/build.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::create_dir_all(base.join("run")).unwrap();
    if is_root() {
        let ok = Command::new("chown")
            .args(["-R", "nobody"])
            .arg(&base)
            .status()
            .unwrap();
        assert!(ok.success());
    }
    Lab { base, home }
}

/// The lab's GMAC capture with one byte of "hello from the smbsign lab"
/// flipped: that READ response's signature no longer verifies.
fn forged_capture(lab: &Lab) -> PathBuf {
    let src = common::repo().join("tests/captures/smb311-gmac.pcap");
    let mut bytes = std::fs::read(src).unwrap();
    let at = memchr::memmem::find(&bytes, b"hello from the smbsign lab").unwrap();
    bytes[at + 3] ^= 0x20;
    let p = lab.base.join("forged-read.pcap");
    std::fs::write(&p, bytes).unwrap();
    if is_root() {
        Command::new("chown")
            .args(["nobody"])
            .arg(&p)
            .status()
            .unwrap();
    }
    p
}

fn tshark_frames(lab: &Lab, file: &Path, filter: &str, extra: &[&str]) -> Vec<String> {
    let out: Output = as_user(lab, ":0", "tshark")
        .args(["-n", "-C", "smbsign", "-r"])
        .arg(file)
        .args(extra)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

struct Xvfb(Child);

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An X server of its own on a free display number, local only.
fn xvfb() -> (Xvfb, String) {
    for n in 90..130 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            || Path::new(&format!("/tmp/.X{n}-lock")).exists()
        {
            continue;
        }
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([
                &display,
                "-screen",
                "0",
                "1600x1000x24",
                "-nolisten",
                "tcp",
                "-ac",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let x = Xvfb(child);
        if wait_for(Duration::from_secs(10), || {
            Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        }) {
            return (x, display);
        }
    }
    panic!("no free X display for Xvfb");
}

fn wait_for(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

fn xdotool(display: &str, args: &[&str]) -> String {
    let out = Command::new("xdotool")
        .env("DISPLAY", display)
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The screenshot's distinct colours (a blank or black screen has one or
/// two) and its text as tesseract reads it.
fn look_at(shot: &Path) -> (u64, String) {
    let colours = Command::new("identify")
        .args(["-format", "%k"])
        .arg(shot)
        .output()
        .unwrap();
    let colours = String::from_utf8_lossy(&colours.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    let text = Command::new("tesseract")
        .arg(shot)
        .arg("-")
        .stderr(Stdio::null())
        .output()
        .unwrap();
    (colours, String::from_utf8_lossy(&text.stdout).into_owned())
}

/// Open `file` in the GUI with `filter`, screenshot it, close it; returns
/// the screenshot, its colours and the status bar's "Displayed: N".
fn open_in_gui(lab: &Lab, file: &Path, filter: &str, name: &str) -> (PathBuf, u64, Option<u64>) {
    let (_x, display) = xvfb();
    let mut gui = as_user(lab, &display, "wireshark")
        .args([
            "-C",
            "smbsign",
            "-o",
            PASSWORD,
            "-o",
            "gui.update.enabled:FALSE",
            "-r",
        ])
        .arg(file)
        .args(["-Y", filter])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wireshark");
    let title = file.file_name().unwrap().to_str().unwrap().to_owned();
    let mut window = String::new();
    let up = wait_for(Duration::from_secs(60), || {
        window = xdotool(&display, &["search", "--name", &title]);
        !window.is_empty() || gui.try_wait().unwrap().is_some()
    });
    assert!(up && !window.is_empty(), "no Wireshark window came up");
    let window = window.lines().next().unwrap().to_owned();
    xdotool(&display, &["windowmove", &window, "0", "0"]);
    xdotool(&display, &["windowsize", &window, "1600", "1000"]);
    let shot = lab.base.join(format!("{name}.png"));
    // Loaded when the status bar reads "Displayed: N".
    let (mut colours, mut displayed) = (0, None);
    let loaded = wait_for(Duration::from_secs(60), || {
        std::thread::sleep(Duration::from_secs(1));
        let ok = Command::new("import")
            .env("DISPLAY", &display)
            .args(["-window", "root"])
            .arg(&shot)
            .status()
            .unwrap();
        assert!(ok.success(), "import (screenshot) failed");
        let (c, text) = look_at(&shot);
        colours = c;
        displayed = text
            .split("Displayed:")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .and_then(|n| n.parse().ok());
        displayed.is_some()
    });
    assert!(loaded, "the status bar never showed \"Displayed:\"");
    assert!(gui.try_wait().unwrap().is_none(), "Wireshark exited early");
    xdotool(&display, &["windowfocus", "--sync", &window]);
    xdotool(&display, &["key", "--window", &window, "ctrl+q"]);
    let closed = wait_for(Duration::from_secs(30), || {
        gui.try_wait().unwrap().is_some()
    });
    if !closed {
        let _ = gui.kill();
    }
    let status = gui.wait().unwrap();
    let mut err = String::new();
    if let Some(mut e) = gui.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    assert!(
        closed && status.success(),
        "Wireshark did not close cleanly: {status}\n{err}"
    );
    if let Some(dir) = std::env::var_os("SMBSIGN_SCREENSHOTS") {
        std::fs::copy(&shot, Path::new(&dir).join(format!("{name}.png"))).unwrap();
    }
    (shot, colours, displayed)
}

#[test]
fn wireshark_shows_the_forged_read_and_closes_cleanly() {
    if !available() {
        return;
    }
    let lab = lab();
    let file = forged_capture(&lab);
    // What the GUI should show: the one message Wireshark's own SMB2
    // dissector sees the flipped byte in.
    let flipped = tshark_frames(
        &lab,
        &file,
        "smb2 contains \"helLo from the smbsign lab\"",
        &[],
    );
    assert_eq!(flipped.len(), 1, "{flipped:?}");
    assert_eq!(
        tshark_frames(&lab, &file, FORGED, &["-o", PASSWORD]),
        flipped
    );
    let (_, colours, displayed) = open_in_gui(&lab, &file, FORGED, "plugin-gui-forged");
    assert!(colours > 50, "the screenshot is blank ({colours} colours)");
    assert_eq!(displayed, Some(1), "the GUI's status bar");
    // The whole capture with the profile's colours: every frame shown.
    let all = tshark_frames(&lab, &file, "frame", &[]);
    let (_, colours, displayed) = open_in_gui(&lab, &file, "smb2", "plugin-gui-capture");
    assert!(colours > 50, "the screenshot is blank ({colours} colours)");
    let smb2 = tshark_frames(&lab, &file, "smb2", &[]);
    assert!(smb2.len() < all.len());
    assert_eq!(displayed, Some(smb2.len() as u64), "the GUI's status bar");
    let _ = std::fs::remove_dir_all(&lab.base);
}
