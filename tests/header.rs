//! include/smbsign.h is what cbindgen generates from src/ffi/ (regenerate
//! with `SMBSIGN_REGEN_HEADER=1 cargo test --test header`), its version
//! macros match Cargo.toml, and it compiles cleanly as C99 and C++.

mod common;

use std::path::Path;
use std::process::Command;

fn generate() -> String {
    let repo = common::repo();
    let config = cbindgen::Config::from_file(repo.join("cbindgen.toml")).expect("cbindgen.toml");
    // Only the FFI module: the rest of the crate's public constants are
    // Rust API, not C API.
    // cbindgen follows the `mod` items of src/ffi/mod.rs into its files.
    let bindings = cbindgen::Builder::new()
        .with_src(repo.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("UTF-8 header")
}

#[test]
fn committed_header_is_current() {
    let path = common::repo().join("include/smbsign.h");
    let fresh = generate();
    if std::env::var_os("SMBSIGN_REGEN_HEADER").is_some() {
        std::fs::write(&path, &fresh).expect("write include/smbsign.h");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/smbsign.h is stale: run SMBSIGN_REGEN_HEADER=1 cargo test --test header"
    );
}

#[test]
fn version_macros_match_cargo_toml() {
    let header = std::fs::read_to_string(common::repo().join("include/smbsign.h")).unwrap();
    let define = |name: &str| -> u32 {
        let line = header
            .lines()
            .find(|l| l.starts_with(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("no {name} in header"));
        line.split_whitespace()
            .nth(2)
            .unwrap()
            .trim_end_matches('u')
            .parse()
            .unwrap()
    };
    let major: u32 = env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap();
    let minor: u32 = env!("CARGO_PKG_VERSION_MINOR").parse().unwrap();
    let patch: u32 = env!("CARGO_PKG_VERSION_PATCH").parse().unwrap();
    assert_eq!(define("SMBSIGN_VERSION_MAJOR"), major);
    assert_eq!(define("SMBSIGN_VERSION_MINOR"), minor);
    assert_eq!(define("SMBSIGN_VERSION_PATCH"), patch);
}

fn compile(compiler: &str, std: &str, ext: &str) {
    let dir = std::env::temp_dir().join(format!("smbsign-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join(format!("use.{ext}"));
    std::fs::write(
        &src,
        "#include \"smbsign.h\"\nint main(void) {\n  smbsign_pdu_annotation a;\n  (void)a;\n  \
         return SMBSIGN_VERSION_NUMBER == 0 && smbsign_version() == 0;\n}\n",
    )
    .unwrap();
    let include = common::repo().join("include");
    let out = Command::new(compiler)
        .args([
            std,
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-fsyntax-only",
            "-I",
        ])
        .arg(&include)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("{compiler}: {e}"));
    assert!(
        out.status.success(),
        "{compiler} {std} rejects the header:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(Path::new(&dir));
}

#[test]
fn header_compiles_as_c99_and_cpp() {
    compile("cc", "-std=c99", "c");
    compile("c++", "-std=c++11", "cpp");
}
