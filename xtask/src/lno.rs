//! `cargo xtask gen-data …` and `cargo xtask train …`: thin wrappers that build and run the
//! `lno` binary.
//!
//! The binary links libtorch, so xtask itself cannot contain it (xtask is what installs
//! libtorch). These wrappers make sure libtorch is set up, then hand every argument to `lno`.
//! They use the dev profile, whose dependencies are optimised (see the root `Cargo.toml`), so
//! the build is shared with `cargo xtask test` instead of costing a second, release build.

use anyhow::Result;

/// Arguments passed through to an `lno` subcommand.
#[derive(Debug, clap::Args)]
pub struct PassThrough {
    /// Arguments of the `lno` subcommand (see `cargo xtask <task> -- --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Runs `lno <subcommand> <args…>` from the workspace root.
pub fn run(subcommand: &str, pass: &PassThrough) -> Result<()> {
    run_args(subcommand, &pass.args)
}

fn run_args(subcommand: &str, args: &[String]) -> Result<()> {
    crate::setup::ensure()?;
    let root = crate::workspace_root();
    crate::run_checked(
        crate::cargo()
            .current_dir(&root)
            .args(["run", "--quiet", "--package", "lno-experiments", "--bin", "lno", "--"])
            .arg(subcommand)
            .args(args),
    )
}

/// The experiment `cargo xtask train` runs when given none.
const DEFAULT_EXPERIMENT: &str = "navier-stokes";

/// `cargo xtask train`: with no arguments, make sure the quick Navier–Stokes data exist
/// (generation is resumable and a no-op when complete), then train its default models.
pub fn train(pass: &PassThrough) -> Result<()> {
    if pass.args.is_empty() {
        run_args("gen-data", &[DEFAULT_EXPERIMENT.to_string()])?;
        return run_args("train", &[DEFAULT_EXPERIMENT.to_string()]);
    }
    run("train", pass)
}
