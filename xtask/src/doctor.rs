//! `cargo xtask doctor`: what a bug report needs about this machine's setup.
//!
//! Toolchain versions and the libtorch location come from here; what only libtorch itself can
//! answer (CUDA visibility, thread counts) comes from `lno doctor`, which links it.

use anyhow::Result;
use std::process::Command;

/// Prints the environment report.
pub fn run() -> Result<()> {
    for (name, cmd) in [("rustc", "rustc"), ("cargo", "cargo")] {
        let version = Command::new(cmd)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|e| format!("not found ({e})"));
        println!("{name:<18} {version}");
    }
    println!("{:<18} {}", "lno cache", crate::setup::cache_root()?.display());
    let link = crate::workspace_root().join(".libtorch");
    let libtorch_ok = match crate::setup::check_torch_dir(&link) {
        Ok(version) => {
            let target = std::fs::canonicalize(&link)?;
            println!("{:<18} {} (torch {version})", "libtorch", target.display());
            true
        }
        Err(err) => {
            println!("{:<18} missing: {err:#}; run `cargo xtask setup`", "libtorch");
            false
        }
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("{:<18} {cores}", "available cores");
    if libtorch_ok {
        crate::run_checked(crate::cargo().current_dir(crate::workspace_root()).args([
            "run",
            "--quiet",
            "--package",
            "lno-experiments",
            "--bin",
            "lno",
            "--",
            "doctor",
        ]))?;
    }
    Ok(())
}
