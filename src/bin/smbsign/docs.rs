//! `smbsign generate-docs DIR` (hidden): the man pages and shell
//! completions, made from the command-line definition itself, for
//! packages (`packaging/deb.sh`) and installs.

use clap::CommandFactory;
use std::path::Path;

/// Write `smbsign.1`, one `smbsign-<command>.1` per subcommand, and the
/// bash, zsh and fish completions into `dir`. 0 on success, 2 otherwise.
pub fn generate(dir: &Path) -> i32 {
    match write_all(dir) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("smbsign: generate-docs {}: {e}", dir.display());
            2
        }
    }
}

fn write_all(dir: &Path) -> std::io::Result<()> {
    let cmd = crate::Cli::command();
    std::fs::create_dir_all(dir)?;
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    std::fs::write(dir.join("smbsign.1"), page)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("smbsign-{}", sub.get_name());
        let mut page = Vec::new();
        clap_mangen::Man::new(sub.clone().name(name.clone())).render(&mut page)?;
        std::fs::write(dir.join(format!("{name}.1")), page)?;
    }
    use clap_complete::Shell;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd.clone(), "smbsign", dir)?;
    }
    Ok(())
}
