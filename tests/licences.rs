//! Every crate smbsign builds with (dependencies of every kind) carries a
//! licence that allows linking into an MIT/Apache project: no GPL, LGPL
//! or AGPL alone. Read from `cargo metadata`, as crates.io states them.
//! Run it after `cargo fetch` (CI does): it reads offline.

#[test]
fn no_crate_is_gpl_only() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    assert!(packages.len() > 50, "{} packages", packages.len());
    let mut bad = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap_or("?");
        let licence = p["license"].as_str().unwrap_or("");
        // An SPDX expression: some alternative must be free of the GPL family.
        let ok = !licence.is_empty() && licence.split(" OR ").any(|alt| !alt.contains("GPL"));
        // Our own packages (the workspace: no registry source) are MIT.
        if !ok && !p["source"].is_null() {
            bad.push(format!("{name}: {licence:?}"));
        }
    }
    assert!(bad.is_empty(), "{bad:?}");
}
