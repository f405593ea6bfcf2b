//! Run directories with atomic, verifiable checkpoints and exact resume.
//!
//! Layout of a run directory:
//!
//! ```text
//! <run>/LATEST                      name of the newest complete checkpoint, e.g. "ckpt-000000120"
//! <run>/ckpt-000000120/state.json   manifest: format version, model kind, step, epoch, seeds,
//!                                   resolved config, optimiser and schedule state, variable
//!                                   names/shapes/kinds, size and FNV-1a hash of every file
//! <run>/ckpt-000000120/model.safetensors        VarStore variables
//! <run>/ckpt-000000120/optim.safetensors        AdamW moments and step counts (if any)
//! <run>/ckpt-000000120/normalizers.safetensors  normaliser statistics (if any)
//! ```
//!
//! **Atomicity.** A checkpoint is written into a fresh hidden `.tmp-…` directory, every file
//! is synced, and the directory is renamed to `ckpt-<step>`; only then is `LATEST` replaced
//! (temporary file, sync, rename). A crash at any point leaves `LATEST` naming the previous
//! complete checkpoint. A `ckpt-<step>` that already exists is never overwritten.
//!
//! **Verification.** Loading reads the manifest, checks every file's size and hash (so a
//! truncated or altered file is named), parses the tensors, and compares the model kind and
//! the variable list with the model being restored (so a checkpoint of another model is
//! named). Nothing in memory changes until all checks have passed.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor, nn::VarStore};

use crate::error::{ModelError, Result};
use crate::normalizer::UnitGaussianNormalizer;
use crate::optim::{AdamW, AdamWConfig, sorted_variables};
use crate::schedule::{ScheduleConfig, ScheduleState, Scheduler};

/// Value of `format` in every `state.json`.
pub const FORMAT: &str = "lno-checkpoint";
/// Version of the layout written by this code.
pub const FORMAT_VERSION: u32 = 1;
/// File naming the newest complete checkpoint.
pub const LATEST_FILE: &str = "LATEST";
/// Manifest file of a checkpoint.
pub const STATE_FILE: &str = "state.json";
/// Model weights file.
pub const MODEL_FILE: &str = "model.safetensors";
/// Optimiser state file.
pub const OPTIM_FILE: &str = "optim.safetensors";
/// Normaliser statistics file.
pub const NORMALIZERS_FILE: &str = "normalizers.safetensors";

/// What the training loop records besides tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingMeta {
    /// Model family (e.g. `"local_no"`); restoring into another kind fails.
    pub model_kind: String,
    /// Optimiser steps taken.
    pub step: u64,
    /// Epochs completed.
    pub epoch: u64,
    /// Every seed the run uses (model init, data order, ...), by purpose.
    pub seeds: BTreeMap<String, u64>,
    /// The resolved configuration of the run.
    pub config: serde_json::Value,
    /// Anything else the caller wants back (metrics so far, ...).
    pub extra: serde_json::Value,
}

/// Name, shape and dtype of one saved variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VarInfo {
    /// VarStore name.
    pub name: String,
    /// Shape.
    pub shape: Vec<i64>,
    /// tch kind, as `Debug` prints it (e.g. `"Float"`).
    pub kind: String,
}

/// Size and FNV-1a 64-bit hash of a saved file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileInfo {
    /// Length in bytes.
    pub bytes: u64,
    /// FNV-1a 64 of the contents, hex.
    pub fnv1a64: String,
}

/// The manifest `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointState {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] at writing.
    pub version: u32,
    /// The caller's record.
    pub meta: TrainingMeta,
    /// AdamW hyper-parameters (current learning rate included), if an optimiser was saved.
    pub optimizer: Option<AdamWConfig>,
    /// Schedule config and state, if a schedule was saved.
    pub schedule: Option<(ScheduleConfig, ScheduleState)>,
    /// Names of the saved normalisers.
    pub normalizers: Vec<String>,
    /// Every variable of the model, sorted by name.
    pub variables: Vec<VarInfo>,
    /// Every tensor file of the checkpoint.
    pub files: BTreeMap<String, FileInfo>,
}

/// Everything to save at one point of training.
#[derive(Debug)]
pub struct Snapshot<'a> {
    /// The model's variables.
    pub vs: &'a VarStore,
    /// The optimiser, if any.
    pub optimizer: Option<&'a AdamW>,
    /// The schedule, if any.
    pub scheduler: Option<&'a Scheduler>,
    /// Normalisers by name (e.g. `"input"`, `"output"`).
    pub normalizers: &'a [(&'a str, &'a UnitGaussianNormalizer)],
    /// Step, epoch, seeds, config, ...
    pub meta: &'a TrainingMeta,
}

/// A run directory; see the module docs.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |e| ModelError::io(path, e)
}

/// FNV-1a 64 over a file, streamed.
fn hash_file(path: &Path) -> Result<FileInfo> {
    let mut f = fs::File::open(path).map_err(io_err(path))?;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            hash ^= b as u64;
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        bytes += n as u64;
    }
    Ok(FileInfo { bytes, fnv1a64: format!("{hash:016x}") })
}

fn sync_file(path: &Path) -> Result<()> {
    fs::File::open(path).and_then(|f| f.sync_all()).map_err(io_err(path))
}

/// Directory fsync, so that renames survive a power loss (best effort off Unix).
fn sync_dir(path: &Path) -> Result<()> {
    match fs::File::open(path) {
        Ok(f) => f.sync_all().or(Ok(())),
        Err(e) => Err(ModelError::io(path, e)),
    }
}

fn write_tensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<FileInfo> {
    let cpu = tensors
        .iter()
        .map(|(n, t)| Ok((n.clone(), t.f_to_device(Device::Cpu)?.f_contiguous()?)))
        .collect::<Result<Vec<_>>>()?;
    Tensor::write_safetensors(&cpu, path)
        .map_err(|e| ModelError::checkpoint(path, format!("cannot write: {e}")))?;
    sync_file(path)?;
    hash_file(path)
}

fn var_infos(vs: &VarStore) -> Vec<VarInfo> {
    sorted_variables(vs)
        .into_iter()
        .map(|(name, t)| VarInfo { name, shape: t.size(), kind: format!("{:?}", t.kind()) })
        .collect()
}

impl RunDir {
    /// Opens `path` as a run directory, creating it if needed.
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let root = path.as_ref().to_path_buf();
        fs::create_dir_all(&root).map_err(io_err(&root))?;
        Ok(Self { root })
    }

    /// Opens an existing run directory.
    ///
    /// # Errors
    /// `path` is not a directory.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let root = path.as_ref().to_path_buf();
        if !root.is_dir() {
            return Err(ModelError::checkpoint(&root, "not a run directory (missing)"));
        }
        Ok(Self { root })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Directory name of the checkpoint at `step`.
    pub fn checkpoint_name(step: u64) -> String {
        format!("ckpt-{step:09}")
    }

    /// Writes a checkpoint at `snapshot.meta.step` and makes it the latest; returns its
    /// directory. See the module docs for the atomicity guarantees.
    ///
    /// # Errors
    /// A checkpoint at this step already exists; I/O or serialisation failures (the partial
    /// temporary directory is removed, and `LATEST` is untouched).
    pub fn save(&self, snapshot: &Snapshot<'_>) -> Result<PathBuf> {
        let name = Self::checkpoint_name(snapshot.meta.step);
        let target = self.root.join(&name);
        if target.exists() {
            return Err(ModelError::checkpoint(&target, "already exists; refusing to overwrite"));
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let tmp = self.root.join(format!(".tmp-{name}-{}-{nanos}", std::process::id()));
        fs::create_dir(&tmp).map_err(io_err(&tmp))?;
        let written = self.write_into(&tmp, snapshot);
        let result = written.and_then(|()| {
            if target.exists() {
                return Err(ModelError::checkpoint(
                    &target,
                    "already exists; refusing to overwrite",
                ));
            }
            fs::rename(&tmp, &target).map_err(io_err(&target))?;
            sync_dir(&self.root)?;
            self.set_latest(&name)
        });
        if result.is_err() && tmp.exists() {
            // Best effort: the temporary directory is never read, so a leftover is harmless.
            let _ = fs::remove_dir_all(&tmp);
        }
        result.map(|()| target)
    }

    fn write_into(&self, dir: &Path, s: &Snapshot<'_>) -> Result<()> {
        let mut files = BTreeMap::new();
        let vars = sorted_variables(s.vs);
        files.insert(MODEL_FILE.to_string(), write_tensors(&dir.join(MODEL_FILE), &vars)?);
        if let Some(opt) = s.optimizer {
            files.insert(
                OPTIM_FILE.to_string(),
                write_tensors(&dir.join(OPTIM_FILE), &opt.state_tensors())?,
            );
        }
        let mut names = Vec::new();
        if !s.normalizers.is_empty() {
            let mut tensors = Vec::new();
            for (name, n) in s.normalizers {
                if name.is_empty() || name.contains('.') || names.iter().any(|m: &String| m == name)
                {
                    return Err(ModelError::input(
                        "normalizers",
                        "distinct non-empty names without '.'",
                        format!("`{name}`"),
                    ));
                }
                names.push(name.to_string());
                tensors.extend(n.to_tensors(name));
            }
            files.insert(
                NORMALIZERS_FILE.to_string(),
                write_tensors(&dir.join(NORMALIZERS_FILE), &tensors)?,
            );
        }
        let state = CheckpointState {
            format: FORMAT.to_string(),
            version: FORMAT_VERSION,
            meta: s.meta.clone(),
            optimizer: s.optimizer.map(AdamW::config),
            schedule: s.scheduler.map(|sc| (*sc.config(), *sc.state())),
            normalizers: names,
            variables: var_infos(s.vs),
            files,
        };
        let path = dir.join(STATE_FILE);
        let json = serde_json::to_vec_pretty(&state)
            .map_err(|e| ModelError::checkpoint(&path, format!("cannot serialise: {e}")))?;
        let mut f = fs::File::create(&path).map_err(io_err(&path))?;
        f.write_all(&json).and_then(|()| f.sync_all()).map_err(io_err(&path))?;
        sync_dir(dir)
    }

    fn set_latest(&self, name: &str) -> Result<()> {
        let tmp = self.root.join(format!(".{LATEST_FILE}.tmp-{}", std::process::id()));
        let mut f = fs::File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(format!("{name}\n").as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io_err(&tmp))?;
        let latest = self.root.join(LATEST_FILE);
        fs::rename(&tmp, &latest).map_err(io_err(&latest))?;
        sync_dir(&self.root)
    }

    /// The directory of the newest complete checkpoint, or `None` if there is none yet.
    ///
    /// # Errors
    /// `LATEST` unreadable or naming something that is not a checkpoint directory.
    pub fn latest(&self) -> Result<Option<PathBuf>> {
        let latest = self.root.join(LATEST_FILE);
        let text = match fs::read_to_string(&latest) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ModelError::io(&latest, e)),
        };
        let name = text.trim();
        let valid = name.starts_with("ckpt-") && !name.contains(['/', '\\']);
        let dir = self.root.join(name);
        if !valid || !dir.is_dir() {
            return Err(ModelError::checkpoint(
                &latest,
                format!("names `{name}`, which is not a checkpoint directory of this run"),
            ));
        }
        Ok(Some(dir))
    }

    /// Loads (and fully verifies) the newest checkpoint.
    ///
    /// # Errors
    /// No checkpoint yet, or any error of [`Checkpoint::load`].
    pub fn load_latest(&self) -> Result<Checkpoint> {
        let dir = self.latest()?.ok_or_else(|| {
            ModelError::checkpoint(&self.root, format!("no {LATEST_FILE}: nothing saved yet"))
        })?;
        Checkpoint::load(dir)
    }
}

/// A checkpoint read from disk and verified, not yet applied to a model.
#[derive(Debug)]
pub struct Checkpoint {
    dir: PathBuf,
    state: CheckpointState,
    model: Vec<(String, Tensor)>,
    optim: Option<Vec<(String, Tensor)>>,
    normalizers: BTreeMap<String, UnitGaussianNormalizer>,
}

fn read_tensors(dir: &Path, file: &str, info: Option<&FileInfo>) -> Result<Vec<(String, Tensor)>> {
    let path = dir.join(file);
    let Some(info) = info else {
        return Err(ModelError::checkpoint(&path, format!("not listed in {STATE_FILE}")));
    };
    if !path.is_file() {
        return Err(ModelError::checkpoint(&path, "missing"));
    }
    let found = hash_file(&path)?;
    if found.bytes != info.bytes {
        return Err(ModelError::checkpoint(
            &path,
            format!("truncated or altered: expected {} bytes, found {}", info.bytes, found.bytes),
        ));
    }
    if found.fnv1a64 != info.fnv1a64 {
        return Err(ModelError::checkpoint(
            &path,
            format!("corrupted: FNV-1a {} recorded, {} found", info.fnv1a64, found.fnv1a64),
        ));
    }
    Tensor::read_safetensors(&path)
        .map_err(|e| ModelError::checkpoint(&path, format!("not a readable safetensors file: {e}")))
}

impl Checkpoint {
    /// Reads a checkpoint directory and verifies its files (sizes, hashes, parse, the
    /// variable list, normalisers, schedule).
    ///
    /// # Errors
    /// [`ModelError::Checkpoint`] naming the file and the problem.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let state_path = dir.join(STATE_FILE);
        let text = match fs::read(&state_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ModelError::checkpoint(&state_path, "missing (incomplete checkpoint)"));
            }
            Err(e) => return Err(ModelError::io(&state_path, e)),
        };
        let state: CheckpointState = serde_json::from_slice(&text).map_err(|e| {
            ModelError::checkpoint(&state_path, format!("not a valid manifest: {e}"))
        })?;
        if state.format != FORMAT || state.version != FORMAT_VERSION {
            return Err(ModelError::checkpoint(
                &state_path,
                format!(
                    "format {FORMAT} v{FORMAT_VERSION} expected, found {} v{}",
                    state.format, state.version
                ),
            ));
        }
        let model = read_tensors(&dir, MODEL_FILE, state.files.get(MODEL_FILE))?;
        let mut listed: Vec<(&str, Vec<i64>)> =
            model.iter().map(|(n, t)| (n.as_str(), t.size())).collect();
        listed.sort();
        let expected: Vec<(&str, Vec<i64>)> =
            state.variables.iter().map(|v| (v.name.as_str(), v.shape.clone())).collect();
        if listed != expected {
            return Err(ModelError::checkpoint(
                dir.join(MODEL_FILE),
                format!("its variables do not match those listed in {STATE_FILE}"),
            ));
        }
        let optim = match state.optimizer {
            Some(_) => Some(read_tensors(&dir, OPTIM_FILE, state.files.get(OPTIM_FILE))?),
            None => None,
        };
        let mut normalizers = BTreeMap::new();
        if !state.normalizers.is_empty() {
            let path = dir.join(NORMALIZERS_FILE);
            let tensors = read_tensors(&dir, NORMALIZERS_FILE, state.files.get(NORMALIZERS_FILE))?;
            for name in &state.normalizers {
                let n = UnitGaussianNormalizer::from_tensors(name, &tensors).map_err(|e| {
                    ModelError::checkpoint(&path, format!("normaliser `{name}`: {e}"))
                })?;
                normalizers.insert(name.clone(), n);
            }
        }
        if let Some((config, s)) = state.schedule {
            Scheduler::from_state(config, s)
                .map_err(|e| ModelError::checkpoint(&state_path, format!("schedule: {e}")))?;
        }
        Ok(Self { dir, state, model, optim, normalizers })
    }

    /// The checkpoint's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest (step, epoch, seeds, config, ...).
    pub fn state(&self) -> &CheckpointState {
        &self.state
    }

    /// The saved normalisers by name.
    pub fn normalizers(&self) -> &BTreeMap<String, UnitGaussianNormalizer> {
        &self.normalizers
    }

    /// The saved schedule, resumed.
    ///
    /// # Errors
    /// None in practice: the state was validated by [`Self::load`].
    pub fn scheduler(&self) -> Result<Option<Scheduler>> {
        self.state.schedule.map(|(c, s)| Scheduler::from_state(c, s)).transpose()
    }

    /// Copies the weights into `vs` and, if given, the optimiser state into `optimizer`
    /// (which must have been built on `vs`). Everything is checked first — model kind,
    /// variable names, shapes and kinds, optimiser entries — so on error neither `vs` nor
    /// `optimizer` has changed.
    ///
    /// # Errors
    /// [`ModelError::Checkpoint`] naming the mismatch.
    pub fn restore(
        &self,
        vs: &VarStore,
        model_kind: &str,
        optimizer: Option<&mut AdamW>,
    ) -> Result<()> {
        let state_path = self.dir.join(STATE_FILE);
        if self.state.meta.model_kind != model_kind {
            return Err(ModelError::checkpoint(
                &state_path,
                format!(
                    "from another model: kind `{}`, expected `{model_kind}`",
                    self.state.meta.model_kind
                ),
            ));
        }
        let ours = var_infos(vs);
        if ours != self.state.variables {
            return Err(ModelError::checkpoint(
                &state_path,
                describe_mismatch(&ours, &self.state.variables),
            ));
        }
        if let Some(opt) = optimizer {
            let (Some(config), Some(tensors)) = (self.state.optimizer, &self.optim) else {
                return Err(ModelError::checkpoint(&state_path, "holds no optimiser state"));
            };
            opt.load_state(config, tensors)
                .map_err(|e| ModelError::checkpoint(self.dir.join(OPTIM_FILE), e.to_string()))?;
        }
        let _guard = tch::no_grad_guard();
        let vars = vs.variables();
        for (name, t) in &self.model {
            if let Some(var) = vars.get(name) {
                let mut var = var.shallow_clone();
                var.f_copy_(&t.f_to_kind(var.kind())?.f_to_device(var.device())?)?;
            }
        }
        Ok(())
    }
}

/// The first difference between a model's variables and a checkpoint's, in words.
fn describe_mismatch(ours: &[VarInfo], saved: &[VarInfo]) -> String {
    for v in saved {
        match ours.iter().find(|o| o.name == v.name) {
            None => {
                return format!(
                    "from another model: it has variable `{}` {:?} that this model lacks",
                    v.name, v.shape
                );
            }
            Some(o) if o.shape != v.shape || o.kind != v.kind => {
                return format!(
                    "from another model: variable `{}` is {} {:?} there, {} {:?} here",
                    v.name, v.kind, v.shape, o.kind, o.shape
                );
            }
            Some(_) => {}
        }
    }
    match ours.iter().find(|o| !saved.iter().any(|v| v.name == o.name)) {
        Some(o) => format!("from another model: this model's variable `{}` is not in it", o.name),
        None => "from another model: variable lists differ".to_string(),
    }
}
