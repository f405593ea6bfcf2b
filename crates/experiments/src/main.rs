//! `lno`: the command-line entry point of lno's experiments.
//!
//! Subcommands appear here as they start to work; `cargo xtask` wraps them.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lno_experiments::{ExperimentFile, Profile, config::available_experiments};

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
    /// Generate (or finish generating) an experiment's train and test data sets.
    GenData(GenDataArgs),
}

#[derive(Debug, clap::Args)]
struct GenDataArgs {
    /// An experiment name (a file in `--configs`) or the path of an experiment TOML file.
    experiment: String,
    /// Paper-scale data (meant for a large machine) instead of the quick profile.
    #[arg(long)]
    full: bool,
    /// The quick profile (the default).
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// Folder of experiment files.
    #[arg(long, default_value = "configs")]
    configs: PathBuf,
    /// Root folder of the data sets.
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Never draw progress bars (they are also off when stderr is not a terminal or CI=true).
    #[arg(long)]
    no_progress: bool,
}

fn gen_data(args: &GenDataArgs) -> anyhow::Result<()> {
    let file = ExperimentFile::find(&args.experiment, &args.configs)?;
    let profile = if args.full { Profile::Full } else { Profile::Quick };
    eprintln!("gen-data: {} ({}) from {}", file.name, profile.key(), file.path.display());
    let started = std::time::Instant::now();
    let splits = lno_experiments::generate(&file, profile, &args.data, !args.no_progress)
        .with_context(|| format!("generating the {} data of {}", profile.key(), file.name))?;
    for (dir, manifest) in &splits {
        let rejected: usize = manifest.shards.iter().map(|s| s.rejected.len()).sum();
        println!(
            "{}: {} samples in {} shards ({} rejected), fields {}",
            dir.display(),
            manifest.n_written(),
            manifest.shards.len(),
            rejected,
            manifest
                .fields
                .iter()
                .map(|f| format!("{}{:?}", f.name, f.shape))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Doctor => {
            println!("{}", lno_layers::runtime::RuntimeInfo::query());
            println!("{:<18} {}", "rayon threads", rayon::current_num_threads());
            println!(
                "{:<18} {}",
                "experiments",
                available_experiments("configs".as_ref()).join(", ")
            );
        }
        Command::GenData(args) => gen_data(&args)?,
    }
    Ok(())
}
