//! Developer tasks for the lno workspace, run as `cargo xtask <task>`.
//!
//! See <https://github.com/matklad/cargo-xtask/>. This crate has no libtorch dependency: it is
//! what installs libtorch, so it must build on a machine that has none.

mod bench;
mod doctor;
mod lno;
mod setup;
mod test;

use clap::{Parser, Subcommand};

/// Developer tasks for the lno workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install libtorch (PyTorch 2.11.0 from PyPI) into the per-user cache when missing, and
    /// link it into this workspace as `.libtorch`.
    Setup(setup::SetupArgs),
    /// Run setup when needed, then `cargo fmt --check`, clippy with `-D warnings`, and the
    /// whole test suite.
    Test(test::TestArgs),
    /// Print versions, the libtorch location, CUDA visibility and thread counts.
    Doctor,
    /// Time lno against the Python reference stacks (created when missing) per workload and
    /// write the table into docs/benchmarks.md: `cargo xtask bench [--quick] [--device
    /// cpu|cuda] [--filter …] [--threads N]`.
    Bench(bench::BenchArgs),
    /// Generate an experiment's train and test data: `cargo xtask gen-data <experiment>
    /// [--full]` (experiments are the files in `configs/`).
    GenData(lno::PassThrough),
    /// Train an experiment's models and print the comparison: `cargo xtask train
    /// [<experiment> [--model …] [--full] [--resume] [--device cuda]]`. With no arguments:
    /// generate the quick Navier–Stokes data when absent, then train its default models.
    Train(lno::PassThrough),
    /// Evaluate a run's models across resolutions (rollouts for time-dependent tasks) and
    /// write eval.md, eval.json and plots: `cargo xtask eval <run-dir> [--resolutions
    /// 32,64,128] [--device cuda]` (run directories are data/runs/<experiment>-<profile>).
    Eval(lno::PassThrough),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.task {
        Task::Setup(args) => setup::run(&args).map(|_| ()),
        Task::Test(args) => test::run(&args),
        Task::Doctor => doctor::run(),
        Task::Bench(args) => bench::run(&args),
        Task::GenData(pass) => lno::run("gen-data", &pass),
        Task::Train(pass) => lno::train(&pass),
        Task::Eval(pass) => lno::run("eval", &pass),
    }
}

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> std::path::PathBuf {
    // xtask lives one level below the root; this holds in every clone.
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent folder")
        .to_path_buf()
}

/// The cargo executable that launched us (falls back to `cargo` on PATH).
pub fn cargo() -> std::process::Command {
    std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs a command, echoing it first, and fails with its exit status.
pub fn run_checked(cmd: &mut std::process::Command) -> anyhow::Result<()> {
    let shown = format!("{cmd:?}").replace('"', "");
    eprintln!("$ {shown}");
    let status = cmd.status().map_err(|e| anyhow::anyhow!("could not start `{shown}`: {e}"))?;
    anyhow::ensure!(status.success(), "`{shown}` failed with {status}");
    Ok(())
}
