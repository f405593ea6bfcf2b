//! The reference stacks' virtual environments, created in lno's per-user cache when missing:
//!
//! * A, `<cache>/venv-ref`: torch 2.11.0, neuraloperator 2.0.0, torch-harmonics 0.7.4;
//! * B, `<cache>/venv-th093`: torch 2.14.1, torch-harmonics 0.9.3 (its C++ CPU kernels need
//!   torch ≥ 2.14, < 2.15, hence a venv of its own).
//!
//! As in `setup.rs`, pip installs from PyPI with the Python named by `LNO_PYTHON` (default
//! `python3`). A marker file is written only after the installed versions were verified, so an
//! interrupted install is recreated rather than used; a venv made by hand without the marker is
//! accepted when its versions are right.

use super::workloads::Stack;
use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::Command;

const COMPLETE_MARKER: &str = ".lno-complete";

/// What a reference venv must hold.
#[derive(Debug, Clone, Copy)]
pub struct VenvSpec {
    pub dir_name: &'static str,
    /// `package==version` requirements, installed in one pip call.
    pub requirements: &'static [&'static str],
    /// One-line description for the report.
    pub label: &'static str,
}

pub fn spec(stack: Stack) -> VenvSpec {
    match stack {
        Stack::A => VenvSpec {
            dir_name: "venv-ref",
            requirements: &[
                "torch==2.11.0",
                "neuraloperator==2.0.0",
                "torch-harmonics==0.7.4",
                "scipy",
            ],
            label: "A: neuraloperator 2.0.0 + torch-harmonics 0.7.4 (pure-PyTorch DISCO) on torch 2.11.0",
        },
        Stack::B => VenvSpec {
            dir_name: "venv-th093",
            requirements: &["torch==2.14.1", "torch-harmonics==0.9.3", "numpy"],
            label: "B: torch-harmonics 0.9.3 (C++ CPU DISCO kernels) on torch 2.14.1",
        },
    }
}

/// The venv's Python, creating the venv first when it is missing or incomplete.
pub fn ensure(stack: Stack) -> Result<PathBuf> {
    let spec = spec(stack);
    let dir = crate::setup::cache_root()?.join(spec.dir_name);
    let python = dir.join("bin").join("python");
    if dir.join(COMPLETE_MARKER).exists() && python.exists() {
        return Ok(python);
    }
    if python.exists() {
        match verify(&python, &spec) {
            Ok(versions) => {
                std::fs::write(dir.join(COMPLETE_MARKER), versions)?;
                return Ok(python);
            }
            Err(e) => eprintln!("{} is incomplete ({e:#}); recreating it", dir.display()),
        }
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    create(&dir, &spec)?;
    Ok(python)
}

fn create(dir: &Path, spec: &VenvSpec) -> Result<()> {
    let base = crate::setup::python();
    std::fs::create_dir_all(dir.parent().context("venv folder has a parent")?)?;
    eprintln!(
        "Creating the reference venv {} ({}; several GB from PyPI, once per user) ...",
        dir.display(),
        spec.requirements.join(" ")
    );
    crate::run_checked(Command::new(&base).args(["-m", "venv"]).arg(dir)).with_context(|| {
        format!("`{base} -m venv` failed: install Python 3 with venv and pip, or set LNO_PYTHON")
    })?;
    let python = dir.join("bin").join("python");
    let mut pip = Command::new(&python);
    pip.args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input"]);
    pip.args(spec.requirements);
    if std::env::var_os("CI").is_some() {
        pip.args(["--progress-bar", "off"]);
    }
    crate::run_checked(&mut pip).with_context(|| {
        format!("installing {} into {}", spec.requirements.join(" "), dir.display())
    })?;
    let versions = verify(&python, spec)?;
    std::fs::write(dir.join(COMPLETE_MARKER), versions)?;
    Ok(())
}

/// Checks the installed versions of every pinned requirement; returns them, one per line.
fn verify(python: &Path, spec: &VenvSpec) -> Result<String> {
    let pinned: Vec<(&str, &str)> =
        spec.requirements.iter().filter_map(|r| r.split_once("==")).collect();
    let names: Vec<String> = pinned.iter().map(|(n, _)| format!("{n:?}")).collect();
    // importlib.metadata reads the installed versions without importing torch (seconds faster).
    let code = format!(
        "import importlib.metadata as m\nfor n in [{}]:\n    print(n, m.version(n))",
        names.join(", ")
    );
    let out = Command::new(python)
        .args(["-c", &code])
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    ensure!(
        out.status.success(),
        "{} cannot report its packages: {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for (name, want) in pinned {
        let got = text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .with_context(|| format!("{name} is not installed"))?;
        // Local version labels (`+cu130`, `+torch2.14.1.cpu`) do not matter.
        if got.split('+').next() != Some(want) {
            bail!("{name} {got} is installed, {want} is needed");
        }
    }
    Ok(text)
}
