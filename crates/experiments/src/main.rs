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
    /// Train an experiment's models with equal budgets and print the comparison table.
    Train(TrainArgs),
    /// Evaluate a run's models across resolutions (and rollouts); write eval.md and plots.
    Eval(EvalArgs),
}

#[derive(Debug, clap::Args)]
struct EvalArgs {
    /// A run directory written by `lno train`, e.g. data/runs/navier-stokes-quick.
    run_dir: PathBuf,
    /// Grid sizes to evaluate at, comma-separated (default: half, training and double).
    #[arg(long)]
    resolutions: Option<String>,
    /// `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Folder of experiment files (only for runs without run.json).
    #[arg(long, default_value = "configs")]
    configs: PathBuf,
    /// Root folder of the data sets (test sets at new resolutions are cached here).
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Never draw progress bars.
    #[arg(long)]
    no_progress: bool,
}

fn eval(args: &EvalArgs) -> anyhow::Result<()> {
    let opts = lno_experiments::eval::EvalOptions {
        resolutions: args
            .resolutions
            .as_deref()
            .map(lno_experiments::eval::parse_resolutions)
            .transpose()?,
        device: parse_device(&args.device)?,
        data_root: args.data.clone(),
        configs_dir: args.configs.clone(),
        progress: !args.no_progress,
    };
    let report = lno_experiments::eval::evaluate_run(&args.run_dir, &opts)?;
    println!();
    println!("{}", std::fs::read_to_string(args.run_dir.join("eval.md")).unwrap_or_default());
    println!("table and numbers: {} and eval.json", args.run_dir.join("eval.md").display());
    println!("plots: {}", args.run_dir.join("plots").display());
    anyhow::ensure!(!report.models.is_empty(), "no model was evaluated");
    Ok(())
}

#[derive(Debug, clap::Args)]
struct TrainArgs {
    /// An experiment name (a file in `--configs`) or the path of an experiment TOML file.
    experiment: String,
    /// Train only these models (names of `[<profile>.models.*]`; repeatable).
    #[arg(long = "model")]
    models: Vec<String>,
    /// `cpu`, `cuda` or `cuda:N`. Under `mpirun` with several ranks, `cuda` is each rank's
    /// GPU (its node-local rank) and `cuda:N` is refused; see docs/distributed.md.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Paper-scale settings (meant for a GPU) instead of the quick profile.
    #[arg(long)]
    full: bool,
    /// The quick profile (the default).
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// Continue every model from its newest checkpoint.
    #[arg(long)]
    resume: bool,
    /// Override the number of epochs.
    #[arg(long)]
    epochs: Option<u64>,
    /// Folder of experiment files.
    #[arg(long, default_value = "configs")]
    configs: PathBuf,
    /// Root folder of the data sets.
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Root folder of the run directories.
    #[arg(long, default_value = "data/runs")]
    runs: PathBuf,
    /// Never draw progress bars.
    #[arg(long)]
    no_progress: bool,
}

fn parse_device(text: &str) -> anyhow::Result<tch::Device> {
    let device = lno_experiments::parallel::DeviceRequest::parse(text)?.single_device();
    if let tch::Device::Cuda(n) = device {
        let count = tch::Cuda::device_count() as usize;
        anyhow::ensure!(
            n < count,
            "--device {text}: this machine has {count} CUDA devices (see `lno doctor`)"
        );
    }
    Ok(device)
}

fn train(args: &TrainArgs) -> anyhow::Result<()> {
    let file = ExperimentFile::find(&args.experiment, &args.configs)?;
    // Checked against the launch (ranks, local rank, CUDA devices) in `train_distributed`.
    let device = lno_experiments::parallel::DeviceRequest::parse(&args.device)?;
    let opts = lno_experiments::train::TrainOptions {
        profile: if args.full { Profile::Full } else { Profile::Quick },
        models: args.models.clone(),
        device: device.single_device(),
        data_root: args.data.clone(),
        runs_root: args.runs.clone(),
        resume: args.resume,
        progress: !args.no_progress,
        epochs: args.epochs,
    };
    // Under `mpirun` this process is one rank; only rank 0 gets rows back and prints them.
    let Some(results) = lno_experiments::parallel::train_distributed(&file, &opts, device)? else {
        return Ok(());
    };
    let group = args.runs.join(format!("{}-{}", file.name, opts.profile.key()));
    println!();
    println!("{}", std::fs::read_to_string(group.join("results.md")).unwrap_or_default());
    println!("runs, checkpoints and metrics: {}", group.display());
    println!(
        "plots: {} (more with `cargo xtask eval {}`)",
        group.join("plots").display(),
        group.display()
    );
    anyhow::ensure!(!results.is_empty(), "no model was trained");
    Ok(())
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
    /// Write only part `i/n` of the data (shard files k with k mod n = i), for `n` parallel
    /// jobs; finish with `--merge n`.
    #[arg(long, value_name = "I/N", conflicts_with = "merge")]
    shard: Option<String>,
    /// Check the `n` parts written with `--shard i/n` and complete the data sets.
    #[arg(long, value_name = "N")]
    merge: Option<u64>,
}

fn gen_data(args: &GenDataArgs) -> anyhow::Result<()> {
    let file = ExperimentFile::find(&args.experiment, &args.configs)?;
    let profile = if args.full { Profile::Full } else { Profile::Quick };
    if args.shard.is_some() || args.merge.is_some() {
        let (shard, progress) = (args.shard.as_deref(), !args.no_progress);
        return lno_experiments::shards::run(
            &file, profile, &args.data, shard, args.merge, progress,
        );
    }
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
        Command::Train(args) => train(&args)?,
        Command::Eval(args) => eval(&args)?,
    }
    Ok(())
}
