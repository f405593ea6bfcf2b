//! `cargo xtask gen-data …`: thin wrappers that build and run the `lno` binary.
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
    crate::setup::ensure()?;
    let root = crate::workspace_root();
    crate::run_checked(
        crate::cargo()
            .current_dir(&root)
            .args(["run", "--quiet", "--package", "lno-experiments", "--bin", "lno", "--"])
            .arg(subcommand)
            .args(&pass.args),
    )
}
