//! `lno`: the command-line entry point of lno's experiments.
//!
//! Subcommands appear here as they start to work; `cargo xtask` wraps them.

use clap::{Parser, Subcommand};

/// lno: neural operators with localized integral and differential kernels.
#[derive(Debug, Parser)]
#[command(name = "lno", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print what the linked libtorch sees: CUDA devices, cuDNN, thread counts.
    Doctor,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Doctor => {
            println!("{}", lno_layers::runtime::RuntimeInfo::query());
            println!("{:<18} {}", "rayon threads", rayon::current_num_threads());
        }
    }
    Ok(())
}
