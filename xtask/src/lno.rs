//! `cargo xtask gen-data …`, `cargo xtask train …` and `cargo xtask eval …`: thin wrappers
//! that build and run the `lno` binary.
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
    if let Some((ranks, rest)) = split_ranks(&pass.args)? {
        return train_ranks(ranks, &rest);
    }
    if pass.args.is_empty() {
        run_args("gen-data", &[DEFAULT_EXPERIMENT.to_string()])?;
        return run_args("train", &[DEFAULT_EXPERIMENT.to_string()]);
    }
    run("train", pass)
}

/// `--ranks N` / `--ranks=N` taken out of `args`: the number of local MPI ranks, and the rest.
fn split_ranks(args: &[String]) -> Result<Option<(usize, Vec<String>)>> {
    let mut rest = Vec::with_capacity(args.len());
    let mut ranks = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = match arg.strip_prefix("--ranks") {
            Some("") => it.next().cloned(),
            Some(v) if v.starts_with('=') => Some(v[1..].to_string()),
            _ => {
                rest.push(arg.clone());
                continue;
            }
        };
        let n = value.as_deref().and_then(|v| v.parse::<usize>().ok()).filter(|&n| n >= 1);
        let Some(n) = n else {
            anyhow::bail!("--ranks: expected a number of processes >= 1, got {value:?}");
        };
        ranks = Some(n);
    }
    Ok(ranks.map(|n| (n, rest)))
}

/// Whether `args` ask for a CUDA device (`--device cuda…` or `--device=cuda…`).
fn wants_cuda(args: &[String]) -> bool {
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = match arg.strip_prefix("--device") {
            Some("") => it.next().map(String::as_str),
            Some(v) => v.strip_prefix('='),
            None => None,
        };
        if value.is_some_and(|v| v.starts_with("cuda")) {
            return true;
        }
    }
    false
}

/// `cargo xtask train --ranks N …`: builds `lno` with the `mpi` feature (`mpi,nccl` when
/// `--device cuda` is asked for, so that the ranks all-reduce over NCCL) and runs
/// `mpirun -np N lno train …` on this machine (docs/distributed.md for clusters).
fn train_ranks(ranks: usize, args: &[String]) -> Result<()> {
    crate::setup::ensure()?;
    let root = crate::workspace_root();
    let features = if wants_cuda(args) { "mpi,nccl" } else { "mpi" };
    let mut build = crate::cargo();
    build.current_dir(&root).args([
        "build",
        "--package",
        "lno-experiments",
        "--bin",
        "lno",
        "--features",
        features,
        "--message-format=json-render-diagnostics",
    ]);
    eprintln!("$ {}", format!("{build:?}").replace('"', ""));
    let out = build
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| anyhow::anyhow!("could not start cargo build: {e}"))?;
    anyhow::ensure!(
        out.status.success(),
        "building lno with --features {features} failed (it needs Open MPI or MPICH and libclang; \
         `cargo xtask test` installs them on Debian/Ubuntu as root)"
    );
    // The executable path from cargo's JSON messages (honours CARGO_TARGET_DIR and profiles).
    let exe = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "lno")
        .find_map(|m| m["executable"].as_str().map(str::to_string))
        .ok_or_else(|| anyhow::anyhow!("cargo build reported no `lno` executable"))?;
    // Local convenience: more ranks than cores is allowed (--oversubscribe).
    let mut mpirun = std::process::Command::new("mpirun");
    mpirun.current_dir(&root).args(["-np", &ranks.to_string(), "--oversubscribe", &exe, "train"]);
    if crate::test::is_root() {
        // Open MPI refuses root unless asked twice (containers and CI run as root).
        mpirun.env("OMPI_ALLOW_RUN_AS_ROOT", "1").env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    }
    crate::run_checked(mpirun.args(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn a_cuda_device_is_found_in_either_spelling_of_the_flag() {
        assert!(wants_cuda(&args("navier-stokes --device cuda")));
        assert!(wants_cuda(&args("navier-stokes --device=cuda:1 --resume")));
        assert!(!wants_cuda(&args("navier-stokes --device cpu")));
        assert!(!wants_cuda(&args("navier-stokes --model cuda")));
        assert!(!wants_cuda(&args("navier-stokes --device")));
    }

    #[test]
    fn ranks_are_taken_out_of_the_arguments() {
        let (n, rest) = split_ranks(&args("--ranks 2 ns --device cuda")).unwrap().unwrap();
        assert_eq!((n, rest), (2, args("ns --device cuda")));
        assert!(split_ranks(&args("ns")).unwrap().is_none());
        assert!(split_ranks(&args("--ranks=0 ns")).is_err());
    }
}
