//! `smbsign` binary: see [`smbsign::cli`].

use clap::Parser as _;

fn main() {
    let cli = smbsign::cli::Cli::parse();
    std::process::exit(smbsign::cli::run(cli));
}
