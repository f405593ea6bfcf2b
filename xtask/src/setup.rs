//! `cargo xtask setup`: install libtorch once per user and link it into the workspace.
//!
//! tch 0.24 needs PyTorch 2.11.0 exactly. The only reachable source is the PyPI wheel (a CUDA 13
//! build that also runs without a GPU, ~4 GB with its NVIDIA libraries), so we `pip install
//! --target` it into a per-user cache shared by all clones, and point the workspace at it
//! through the `.libtorch` link that `.cargo/config.toml` names as `LIBTORCH`.
//!
//! Crash safety: pip installs into a staging folder that is renamed into place only after it
//! is complete and verified, so an interrupted install is never mistaken for a finished one.

use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The PyTorch version tch 0.24 is built against.
pub const TORCH_VERSION: &str = "2.11.0";

/// Written into the install folder once pip has finished and the result was verified.
const COMPLETE_MARKER: &str = ".lno-complete";

/// Options of `cargo xtask setup`.
#[derive(Debug, clap::Args)]
pub struct SetupArgs {
    /// Reinstall torch even if the cache already holds a complete install.
    #[arg(long)]
    force: bool,
    /// Use an existing torch 2.11.0 package folder (the `torch` folder inside a Python
    /// site-packages) instead of installing one.
    #[arg(long, value_name = "DIR")]
    libtorch: Option<PathBuf>,
}

/// Installs libtorch when needed and links it into the workspace; returns the torch folder.
pub fn run(args: &SetupArgs) -> Result<PathBuf> {
    let torch_dir = match &args.libtorch {
        Some(dir) => {
            let dir =
                dir.canonicalize().with_context(|| format!("--libtorch {}", dir.display()))?;
            check_torch_dir(&dir)?;
            dir
        }
        None => {
            let install = install_dir()?;
            if args.force || !is_complete(&install) {
                install_torch(&install)?;
            } else {
                eprintln!("libtorch {TORCH_VERSION} is already installed in {}", install.display());
            }
            install.join("torch")
        }
    };
    link_into_workspace(&torch_dir)?;
    Ok(torch_dir)
}

/// Runs setup only if the workspace's `.libtorch` link does not already lead to a valid install.
pub fn ensure() -> Result<PathBuf> {
    let link = crate::workspace_root().join(".libtorch");
    match check_torch_dir(&link) {
        Ok(_) => Ok(link),
        Err(_) => run(&SetupArgs { force: false, libtorch: None }),
    }
}

/// Root of lno's per-user cache: `$LNO_CACHE_DIR`, else `$XDG_CACHE_HOME/lno`, else
/// `~/.cache/lno`.
pub fn cache_root() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("LNO_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("lno"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("lno")),
        None => bail!("cannot find a cache folder: set LNO_CACHE_DIR (or HOME)"),
    }
}

/// Where the torch wheel of this version is installed (`<cache>/torch-2.11.0`).
pub fn install_dir() -> Result<PathBuf> {
    Ok(cache_root()?.join(format!("torch-{TORCH_VERSION}")))
}

/// The version string from `<torch>/version.py`, e.g. `2.11.0+cu130`.
pub fn torch_version(torch_dir: &Path) -> Result<String> {
    let path = torch_dir.join("version.py");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix("__version__")?;
            let value = rest.split('=').nth(1)?.trim();
            Some(value.trim_matches(|c| c == '\'' || c == '"').to_string())
        })
        .with_context(|| format!("no __version__ in {}", path.display()))
}

/// Checks that `torch_dir` is a torch package folder of the right version with headers and
/// libraries; returns its version.
pub fn check_torch_dir(torch_dir: &Path) -> Result<String> {
    for needed in ["lib/libtorch_cpu.so", "lib/libtorch.so", "include/torch"] {
        ensure!(
            torch_dir.join(needed).exists(),
            "{} is not a usable libtorch: {needed} is missing",
            torch_dir.display()
        );
    }
    let version = torch_version(torch_dir)?;
    ensure!(
        version.split('+').next() == Some(TORCH_VERSION),
        "{} holds torch {version}, but tch 0.24 needs torch {TORCH_VERSION}",
        torch_dir.display()
    );
    Ok(version)
}

fn is_complete(install: &Path) -> bool {
    install.join(COMPLETE_MARKER).exists() && check_torch_dir(&install.join("torch")).is_ok()
}

/// The Python that creates installs: `$LNO_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("LNO_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn install_torch(install: &Path) -> Result<()> {
    let cache = install.parent().context("install folder has a parent")?;
    std::fs::create_dir_all(cache).with_context(|| format!("creating {}", cache.display()))?;
    remove_abandoned_staging(cache, install)?;

    let python = python();
    let pip_ok = Command::new(&python)
        .args(["-m", "pip", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ensure!(
        pip_ok,
        "`{python} -m pip` does not work: install Python 3 with pip (e.g. `apt-get install \
         python3-pip`) or point LNO_PYTHON at a Python that has pip"
    );

    let staging = staging_name(install, std::process::id());
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    eprintln!(
        "Installing torch=={TORCH_VERSION} from PyPI into {} (about 4 GB, once per user) ...",
        install.display()
    );
    let quiet_progress = std::env::var_os("CI").is_some();
    let mut pip = Command::new(&python);
    pip.args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--target"])
        .arg(&staging)
        .arg(format!("torch=={TORCH_VERSION}"));
    if quiet_progress {
        pip.args(["--progress-bar", "off"]);
    }
    crate::run_checked(&mut pip).context("installing torch with pip")?;

    let version = check_torch_dir(&staging.join("torch"))?;
    std::fs::write(staging.join(COMPLETE_MARKER), format!("{version}\n"))?;
    if install.exists() {
        // A forced reinstall, or the leftovers of an install that never completed.
        let old = install.with_extension(format!("old-{}", std::process::id()));
        std::fs::rename(install, &old)?;
        std::fs::remove_dir_all(&old)?;
    }
    if let Err(err) = std::fs::rename(&staging, install) {
        // Another setup may have finished first; its install is as good as ours.
        if is_complete(install) {
            std::fs::remove_dir_all(&staging)?;
        } else {
            return Err(err)
                .with_context(|| format!("moving the install to {}", install.display()));
        }
    }
    eprintln!("Installed torch {version} in {}", install.display());
    Ok(())
}

fn staging_name(install: &Path, pid: u32) -> PathBuf {
    let name = install.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    install.with_file_name(format!("{name}.partial-{pid}"))
}

/// Deletes staging folders left by interrupted installs whose process is gone.
fn remove_abandoned_staging(cache: &Path, install: &Path) -> Result<()> {
    let prefix = staging_name(install, 0).file_name().unwrap().to_string_lossy().into_owned();
    let prefix = prefix.trim_end_matches('0');
    for entry in std::fs::read_dir(cache)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(prefix) else { continue };
        let alive = Path::new("/proc").join(pid).exists();
        if !alive {
            eprintln!("Removing an interrupted install: {}", entry.path().display());
            std::fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}

/// Makes `<workspace>/.libtorch` a symbolic link to `torch_dir`.
fn link_into_workspace(torch_dir: &Path) -> Result<()> {
    let link = crate::workspace_root().join(".libtorch");
    match std::fs::symlink_metadata(&link) {
        Ok(meta) if meta.file_type().is_symlink() => {
            if std::fs::read_link(&link)? == torch_dir {
                return Ok(());
            }
            std::fs::remove_file(&link)?;
        }
        Ok(_) => bail!(
            "{} exists and is not a link: remove it, or pass `--libtorch <dir>`",
            link.display()
        ),
        Err(_) => {}
    }
    std::os::unix::fs::symlink(torch_dir, &link)
        .with_context(|| format!("linking {} -> {}", link.display(), torch_dir.display()))?;
    eprintln!("Linked {} -> {}", link.display(), torch_dir.display());
    Ok(())
}
