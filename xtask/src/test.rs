//! `cargo xtask test`: the one command that checks the whole workspace.
//!
//! It installs libtorch when needed (so it works on a fresh clone), then runs the same checks
//! CI runs: formatting, clippy with warnings as errors, and every test.

use anyhow::Result;

/// Options of `cargo xtask test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Skip `cargo fmt --check` and clippy; run only the tests.
    #[arg(long)]
    no_lint: bool,
    /// Extra arguments for `cargo test`, after `--` (e.g. a test-name filter).
    #[arg(last = true)]
    cargo_test_args: Vec<String>,
}

/// Runs setup when needed, then fmt, clippy and the tests.
pub fn run(args: &TestArgs) -> Result<()> {
    crate::setup::ensure()?;
    let root = crate::workspace_root();
    if !args.no_lint {
        crate::run_checked(crate::cargo().current_dir(&root).args(["fmt", "--all", "--check"]))?;
        crate::run_checked(crate::cargo().current_dir(&root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    crate::run_checked(
        crate::cargo().current_dir(&root).args(["test", "--workspace"]).args(&args.cargo_test_args),
    )
}
