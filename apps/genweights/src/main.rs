//! `genweights`: see `genweights --help`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = genweights::cli::Cli::parse();
    match genweights::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("genweights: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
