//! Generate Rust bindings from the committed C header, the way a C-facing
//! consumer sees the library: functions are loaded from libsmbsign.so at
//! run time (bindgen's dynamic loading), types come from the header.

fn main() {
    let header = concat!(env!("CARGO_MANIFEST_DIR"), "/../../include/smbsign.h");
    println!("cargo:rerun-if-changed={header}");
    let bindings = bindgen::Builder::default()
        .header(header)
        .allowlist_item("smbsign_.*|SMBSIGN_.*")
        .dynamic_library_name("Smbsign")
        .dynamic_link_require_all(true)
        .layout_tests(true)
        .generate()
        .expect("bindgen parses include/smbsign.h");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("bindings.rs");
    bindings.write_to_file(out).expect("write bindings");
}
