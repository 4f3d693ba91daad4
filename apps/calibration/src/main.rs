//! The `calibration` command: parsing and the exit status; the work is in the library.

use clap::Parser;

fn main() {
    let cli = calibration::cli::Cli::parse();
    if let Err(e) = calibration::cli::run(cli) {
        eprintln!("calibration: error: {e}");
        std::process::exit(1);
    }
}
