//! `cargo xtask test`: the one command that checks the whole workspace.
//!
//! It installs libtorch when needed (so it works on a fresh clone), then runs the same checks
//! CI runs: formatting, clippy with warnings as errors, and every test. The data-parallel
//! tests need MPI (feature `mpi`): when `mpirun` or libclang is missing and we are root with
//! apt-get, Open MPI and libclang are installed from the distribution's packages; otherwise
//! what to install is printed and only those tests are skipped.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

/// Options of `cargo xtask test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Skip `cargo fmt --check` and clippy; run only the tests.
    #[arg(long)]
    no_lint: bool,
    /// Skip the MPI tests (and the MPI install) even when MPI could be used.
    #[arg(long)]
    no_mpi: bool,
    /// Extra arguments for `cargo test`, after `--` (e.g. a test-name filter).
    #[arg(last = true)]
    cargo_test_args: Vec<String>,
}

/// Debian/Ubuntu packages of the MPI tests: `mpirun` and headers for rsmpi, libclang for
/// rsmpi's bindgen.
const MPI_PACKAGES: [&str; 3] = ["openmpi-bin", "libopenmpi-dev", "libclang-dev"];

/// Packages whose code paths only exist with `--features mpi`.
const MPI_PACKAGES_CARGO: [&str; 2] = ["lno-distributed", "lno-experiments"];

/// Runs setup when needed, then fmt, clippy and the tests; then the MPI lint and tests.
pub fn run(args: &TestArgs) -> Result<()> {
    crate::setup::ensure()?;
    let root = crate::workspace_root();
    let mpi = !args.no_mpi && ensure_mpi()?;
    let packages: Vec<&str> = MPI_PACKAGES_CARGO.iter().flat_map(|p| ["-p", p]).collect();
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
        // The NCCL backend loads its libraries at run time, so it builds (and is linted) on
        // any machine, and so does the trainer's backend choice behind `lno-experiments/nccl`.
        crate::run_checked(crate::cargo().current_dir(&root).args([
            "clippy",
            "-p",
            "lno-distributed",
            "-p",
            "lno-experiments",
            "--features",
            "nccl",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
        if mpi {
            crate::run_checked(
                crate::cargo().current_dir(&root).arg("clippy").args(&packages).args([
                    "--features",
                    "mpi,nccl",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ]),
            )?;
        }
    }
    crate::run_checked(
        crate::cargo().current_dir(&root).args(["test", "--workspace"]).args(&args.cargo_test_args),
    )?;
    if mpi {
        crate::run_checked(
            crate::cargo()
                .current_dir(&root)
                .arg("test")
                .args(&packages)
                .args(["--features", "mpi"])
                .args(&args.cargo_test_args),
        )?;
    }
    Ok(())
}

/// Whether the MPI tests can build and run, installing Open MPI and libclang with apt-get
/// when they are missing and we are root. Says what is skipped otherwise.
fn ensure_mpi() -> Result<bool> {
    if mpi_ready() {
        return Ok(true);
    }
    let install = format!("apt-get install -y {}", MPI_PACKAGES.join(" "));
    if is_root() && on_path("apt-get") {
        eprintln!("MPI tests: mpirun or libclang missing; installing {}", MPI_PACKAGES.join(", "));
        let noninteractive = |cmd: &mut Command| {
            cmd.env("DEBIAN_FRONTEND", "noninteractive");
        };
        let mut update = Command::new("apt-get");
        update.args(["update", "-q"]);
        noninteractive(&mut update);
        let mut add = Command::new("apt-get");
        add.args(["install", "-y", "-q", "--no-install-recommends"]).args(MPI_PACKAGES);
        noninteractive(&mut add);
        // A machine without access to its package mirror still runs every other test: the
        // MPI tests are skipped loudly rather than failing the whole suite.
        let installed = crate::run_checked(&mut update).and_then(|()| crate::run_checked(&mut add));
        match installed {
            Ok(()) if mpi_ready() => return Ok(true),
            Ok(()) => eprintln!("MPI tests SKIPPED: still no mpirun or libclang after `{install}`"),
            Err(e) => eprintln!("MPI tests SKIPPED: `{install}` failed: {e:#}"),
        }
        return Ok(false);
    }
    eprintln!(
        "MPI tests SKIPPED: they need mpirun (Open MPI or MPICH) and libclang; as root run \
         `{install}` (or install your distribution's equivalents) and rerun `cargo xtask test`"
    );
    Ok(false)
}

/// `mpirun` is on PATH and bindgen can find libclang.
fn mpi_ready() -> bool {
    on_path("mpirun") && libclang_present()
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// `LIBCLANG_PATH`, or a `libclang*.so*` where Debian, Ubuntu and Fedora put it (the places
/// clang-sys searches too).
fn libclang_present() -> bool {
    if std::env::var_os("LIBCLANG_PATH").is_some() {
        return true;
    }
    let has_libclang = |dir: &Path| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                // libclang.so* or libclang-<version>.so*, not libclang-cpp (no C API for bindgen).
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with("libclang.so")
                    || name
                        .strip_prefix("libclang-")
                        .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            })
        })
    };
    let mut dirs = vec![
        Path::new("/usr/lib64").to_path_buf(),
        Path::new("/usr/lib/x86_64-linux-gnu").to_path_buf(),
        Path::new("/usr/lib/aarch64-linux-gnu").to_path_buf(),
    ];
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        dirs.extend(
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("llvm"))
                .map(|e| e.path().join("lib")),
        );
    }
    dirs.iter().any(|d| has_libclang(d))
}

/// Whether we run as root (`id -u` prints 0); false when `id` is unavailable.
pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "0")
}
