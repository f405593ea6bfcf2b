//! The data-set writer and reader shared by all solvers.
//!
//! A data set is a folder with `manifest.json` and shards `shard-00000.safetensors`, … . Each
//! shard holds, per field, the float32 array `[n_in_shard, ...shape]` of its samples stacked
//! in index order, plus `index` (int64 `[n_in_shard]`), the sample indices it contains. Python
//! reads them with `safetensors.numpy.load_file` and `json.load` (see docs/solvers.md).
//!
//! * **Reproducible**: sample `i` is `generator.generate(seed, i)`, which draws only from
//!   [`sample_rng`](crate::sample_rng)`(seed, i)`; shards are written in the same byte layout
//!   on any thread count.
//! * **Parallel**: pending shards and the samples inside each are generated with rayon.
//! * **Crash-safe and resumable**: shards and the manifest are written to a temporary file and
//!   renamed, so a crash leaves whole files only; the manifest lists each finished shard with
//!   its sample range and SHA-256. A rerun with the same arguments keeps every shard whose file
//!   still matches its entry and redoes the rest; different arguments (equation, parameters,
//!   seed, counts, generator version) are refused with [`SolverError::Manifest`] instead of
//!   silently mixing data sets.
//! * **Only finite data**: a sample whose generation fails (e.g. a solver blew up) or that
//!   holds a value that is not finite in float32 is rejected, logged with its reason (`log`
//!   warning and the shard's `rejected` list in the manifest) and never written. Invalid
//!   parameters are not a per-sample accident and abort the run.
//! * **Scales out**: [`write_dataset_part`] writes part `i/n` — the shards `k` with
//!   `k mod n = i` — with its own manifest `manifest.part-i-of-n.json`, so `n` processes or
//!   machines (SLURM array jobs, MPI ranks) fill one folder without sharing a file;
//!   [`merge_parts`] then checks that every shard is present once and intact and writes
//!   `manifest.json`. The bytes are those of [`write_dataset`], since sample `i` depends only
//!   on `(seed, i)`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dataset::{Sample, SampleGenerator};
use crate::{Result, SolverError};

/// File name of the manifest inside a data-set folder.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Value of [`Manifest::format`].
pub const FORMAT: &str = "lno-dataset";
/// Value of [`Manifest::format_version`]; bumped on any incompatible layout change.
pub const FORMAT_VERSION: u32 = 1;
/// Name of the per-shard tensor of sample indices.
pub const INDEX_TENSOR: &str = "index";
/// The safetensors metadata key holding a JSON object with `format`, `fields` (names in
/// order), `start` and `end` of the shard.
pub const METADATA_KEY: &str = "lno";

/// Name and per-sample shape of one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSpec {
    /// Field name, e.g. `"a"`.
    pub name: String,
    /// Shape of one sample (the shard array has one more, leading axis).
    pub shape: Vec<usize>,
}

/// A sample that was not written, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedSample {
    /// Sample index.
    pub index: u64,
    /// The reason, e.g. the solver's error or the first non-finite value.
    pub reason: String,
}

/// A finished shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// File name inside the data-set folder.
    pub file: String,
    /// First sample index of the shard's range.
    pub start: u64,
    /// One past the last sample index of the range.
    pub end: u64,
    /// Samples actually stored (the range minus the rejected ones).
    pub n_written: u64,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
    /// Samples of the range that were rejected.
    pub rejected: Vec<RejectedSample>,
}

/// Everything that identifies a data set, and its finished shards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`FORMAT_VERSION`] for files this version writes.
    pub format_version: u32,
    /// The generator's equation name.
    pub equation: String,
    /// The generator's parameters.
    pub parameters: serde_json::Value,
    /// The data-set seed.
    pub seed: u64,
    /// Number of sample indices, `0..n_samples`.
    pub n_samples: u64,
    /// Sample indices per shard (the last shard may hold fewer).
    pub shard_size: u64,
    /// `lno-solvers <version>` of the writer.
    pub generator_version: String,
    /// Element type on disk, always `"float32"` (indices are int64).
    pub dtype: String,
    /// Fields in sample order; empty until the first sample is written.
    pub fields: Vec<FieldSpec>,
    /// Finished shards, ordered by `start`.
    pub shards: Vec<ShardEntry>,
}

impl Manifest {
    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| io_error(&path, source))?;
        serde_json::from_str(&text)
            .map_err(|e| manifest_error(dir, format!("{MANIFEST_FILE}: {e}")))
    }

    /// Number of shards the full data set has.
    pub fn n_shards(&self) -> u64 {
        self.n_samples.div_ceil(self.shard_size)
    }

    /// Whether every shard is finished.
    pub fn is_complete(&self) -> bool {
        self.shards.len() as u64 == self.n_shards()
    }

    /// Samples stored over all finished shards.
    pub fn n_written(&self) -> u64 {
        self.shards.iter().map(|s| s.n_written).sum()
    }

    /// Reads the manifest file `file` (e.g. a part's) of `dir`.
    fn read_file(dir: &Path, file: &str) -> Result<Self> {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).map_err(|source| io_error(&path, source))?;
        serde_json::from_str(&text).map_err(|e| manifest_error(dir, format!("{file}: {e}")))
    }

    fn header(
        generator: &(impl SampleGenerator + ?Sized),
        n_samples: u64,
        seed: u64,
        shard_size: u64,
    ) -> Self {
        Self {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            equation: generator.equation().into(),
            parameters: generator.parameters(),
            seed,
            n_samples,
            shard_size,
            generator_version: generator_version(),
            dtype: "float32".into(),
            fields: Vec::new(),
            shards: Vec::new(),
        }
    }

    /// The first identifying item in which `self` (on disk) differs from `wanted`.
    fn mismatch(&self, wanted: &Self) -> Option<String> {
        let items: [(&str, String, String); 8] = [
            ("format", self.format.clone(), wanted.format.clone()),
            ("format_version", self.format_version.to_string(), wanted.format_version.to_string()),
            ("equation", self.equation.clone(), wanted.equation.clone()),
            ("parameters", self.parameters.to_string(), wanted.parameters.to_string()),
            ("seed", self.seed.to_string(), wanted.seed.to_string()),
            ("n_samples", self.n_samples.to_string(), wanted.n_samples.to_string()),
            ("shard_size", self.shard_size.to_string(), wanted.shard_size.to_string()),
            ("generator_version", self.generator_version.clone(), wanted.generator_version.clone()),
        ];
        items.into_iter().find(|(_, disk, asked)| disk != asked).map(|(name, disk, asked)| {
            format!("{name} is {disk} on disk but {asked} was requested; use a new folder or the same arguments")
        })
    }
}

/// `lno-solvers <crate version>`.
pub fn generator_version() -> String {
    format!("lno-solvers {}", env!("CARGO_PKG_VERSION"))
}

/// File name of shard `k`.
pub fn shard_file_name(k: u64) -> String {
    format!("shard-{k:05}.safetensors")
}

fn io_error(path: &Path, source: std::io::Error) -> SolverError {
    SolverError::Io { path: path.to_path_buf(), source }
}

fn manifest_error(path: &Path, detail: impl Into<String>) -> SolverError {
    SolverError::Manifest { path: path.to_path_buf(), detail: detail.into() }
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers and crashes
/// see either the old file or the whole new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
    file.write_all(bytes).map_err(|e| io_error(&tmp, e))?;
    file.sync_all().map_err(|e| io_error(&tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

fn write_manifest(dir: &Path, file: &str, manifest: &Manifest) -> Result<()> {
    let text = serde_json::to_string_pretty(manifest)
        .map_err(|e| manifest_error(dir, format!("cannot serialise the manifest: {e}")))?;
    write_atomically(&dir.join(file), text.as_bytes())
}

/// Part `index` of `count` disjoint parts of a data set: the shards `k` with
/// `k mod count = index` (round robin, so parts get similar mixes of shards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// Which part, `0..count`.
    pub index: u64,
    /// How many parts.
    pub count: u64,
}

impl Part {
    /// Part `index` of `count`.
    ///
    /// # Errors
    /// `count` of 0, or `index` not below `count` ([`SolverError::InvalidParameter`]).
    pub fn new(index: u64, count: u64) -> Result<Self> {
        if count == 0 {
            return Err(SolverError::invalid("shard count", "at least 1", 0));
        }
        if index >= count {
            return Err(SolverError::invalid(
                "shard index",
                format!("below the shard count {count} (indices start at 0)"),
                index,
            ));
        }
        Ok(Self { index, count })
    }

    /// Parses `i/n`, e.g. `"2/8"`.
    ///
    /// # Errors
    /// Not two integers separated by `/`, or out of range as in [`Part::new`].
    pub fn parse(text: &str) -> Result<Self> {
        let parsed = text
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((i, n)) => Self::new(i, n),
            None => Err(SolverError::invalid("shard", "`i/n` with integers 0 <= i < n", text)),
        }
    }

    /// Whether shard file `k` belongs to this part.
    pub fn contains(&self, shard: u64) -> bool {
        shard % self.count == self.index
    }

    /// Name of this part's manifest, `manifest.part-<i>-of-<n>.json`.
    pub fn manifest_file(&self) -> String {
        format!("manifest.part-{}-of-{}.json", self.index, self.count)
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Whether progress should be drawn: asked for, stderr is a terminal, and not under `CI=true`.
fn progress_visible(progress: bool) -> bool {
    progress && std::io::stderr().is_terminal() && std::env::var("CI").map_or(true, |v| v != "true")
}

/// A sample converted for disk, or the reason it cannot be written.
type Checked = std::result::Result<Vec<Vec<f32>>, String>;

/// Casts a sample to f32 and checks it against the field layout; `Err(reason)` rejects it.
fn check_sample(sample: &Sample, fields: &[FieldSpec]) -> Checked {
    if sample.fields.len() != fields.len() {
        return Err(format!("{} fields, expected {}", sample.fields.len(), fields.len()));
    }
    let mut out = Vec::with_capacity(fields.len());
    for (field, spec) in sample.fields.iter().zip(fields) {
        if field.name != spec.name || field.shape != spec.shape {
            return Err(format!(
                "field {} {:?} does not match {} {:?}",
                field.name, field.shape, spec.name, spec.shape
            ));
        }
        if field.data.len() != spec.shape.iter().product::<usize>() {
            return Err(format!(
                "field {} has {} values for shape {:?}",
                field.name,
                field.data.len(),
                spec.shape
            ));
        }
        let data: Vec<f32> = field.data.iter().map(|&v| v as f32).collect();
        if let Some(k) = data.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "field {} value {k} is {} (not finite in float32)",
                field.name, field.data[k]
            ));
        }
        out.push(data);
    }
    Ok(out)
}

/// Generates `n_samples` samples with `generator` and writes them to `out_dir` in shards of
/// `shard_size`, resuming a previous run of the same arguments; see the module docs.
///
/// Returns the final manifest. Errors: `n_samples` or `shard_size` of 0 or a generator that
/// reports invalid parameters ([`SolverError::InvalidParameter`]), file-system failures
/// ([`SolverError::Io`]), an existing data set with other arguments, or samples whose field
/// names or shapes change between samples ([`SolverError::Manifest`]).
pub fn write_dataset<G: SampleGenerator + ?Sized>(
    generator: &G,
    out_dir: &Path,
    n_samples: u64,
    seed: u64,
    shard_size: u64,
    progress: bool,
) -> Result<Manifest> {
    write_selected(
        generator,
        out_dir,
        n_samples,
        seed,
        shard_size,
        MANIFEST_FILE,
        |_| true,
        progress,
    )
}

/// [`write_dataset`] for one part of the data set: only the shards of `part`, recorded in the
/// part's own manifest ([`Part::manifest_file`]), resumable the same way. Once every part is
/// written, [`merge_parts`] makes the folder a complete data set.
///
/// # Errors
/// As [`write_dataset`].
pub fn write_dataset_part<G: SampleGenerator + ?Sized>(
    generator: &G,
    out_dir: &Path,
    n_samples: u64,
    seed: u64,
    shard_size: u64,
    part: Part,
    progress: bool,
) -> Result<Manifest> {
    let file = part.manifest_file();
    let selected = |k: u64| part.contains(k);
    write_selected(generator, out_dir, n_samples, seed, shard_size, &file, selected, progress)
}

/// Checks the `count` part manifests of `dir` against each other and their shard files, and
/// writes `manifest.json` of the complete data set (the part manifests stay).
///
/// # Errors
/// [`SolverError::Manifest`] naming a missing part, parts written with different arguments,
/// or the shards missing or damaged with the `--shard i/n` that rewrites them.
pub fn merge_parts(dir: &Path, count: u64) -> Result<Manifest> {
    let mut merged: Option<Manifest> = None;
    let mut absent = Vec::new();
    for index in 0..count {
        let part = Part::new(index, count)?;
        if !dir.join(part.manifest_file()).is_file() {
            absent.push(part.to_string());
            continue;
        }
        let mut m = Manifest::read_file(dir, &part.manifest_file())?;
        m.shards.retain(|e| e.start % m.shard_size == 0 && part.contains(e.start / m.shard_size));
        match merged.as_mut() {
            None => merged = Some(m),
            Some(acc) => {
                if let Some(detail) = acc.mismatch(&m) {
                    return Err(manifest_error(dir, format!("part {part}: {detail}")));
                }
                if acc.fields.is_empty() {
                    acc.fields = m.fields;
                } else if !m.fields.is_empty() && m.fields != acc.fields {
                    return Err(manifest_error(
                        dir,
                        format!("part {part}: fields differ from those of the other parts"),
                    ));
                }
                acc.shards.extend(m.shards);
            }
        }
    }
    if !absent.is_empty() {
        return Err(manifest_error(
            dir,
            format!("no manifest for parts {}; run gen-data --shard for them", absent.join(", ")),
        ));
    }
    let mut manifest =
        merged.ok_or_else(|| SolverError::invalid("shard count", "at least 1", 0))?;
    manifest.shards.sort_by_key(|e| e.start);
    let (size, n) = (manifest.shard_size, manifest.n_samples);
    let mut bad = Vec::new();
    for k in 0..manifest.n_shards() {
        let found: Vec<&ShardEntry> =
            manifest.shards.iter().filter(|e| e.start == k * size).collect();
        if found.len() != 1 || !shard_is_intact(dir, found[0], size, n) {
            bad.push(format!("shard {k} (part {})", Part { index: k % count, count }));
        }
    }
    if !bad.is_empty() {
        return Err(manifest_error(
            dir,
            format!(
                "missing or damaged: {}; rerun gen-data --shard for those parts",
                bad.join(", ")
            ),
        ));
    }
    write_manifest(dir, MANIFEST_FILE, &manifest)?;
    Ok(manifest)
}

/// The writer behind [`write_dataset`] and [`write_dataset_part`]: the shards `k` for which
/// `selected(k)`, recorded in `dir/manifest_file`.
fn write_selected<G: SampleGenerator + ?Sized>(
    generator: &G,
    out_dir: &Path,
    n_samples: u64,
    seed: u64,
    shard_size: u64,
    manifest_file: &str,
    selected: impl Fn(u64) -> bool + Sync,
    progress: bool,
) -> Result<Manifest> {
    if n_samples == 0 {
        return Err(SolverError::invalid("n_samples", "at least 1", 0));
    }
    if shard_size == 0 {
        return Err(SolverError::invalid("shard_size", "at least 1", 0));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| io_error(out_dir, e))?;
    let mut manifest = Manifest::header(generator, n_samples, seed, shard_size);
    if out_dir.join(manifest_file).exists() {
        let existing = Manifest::read_file(out_dir, manifest_file)?;
        if let Some(detail) = existing.mismatch(&manifest) {
            return Err(manifest_error(out_dir, detail));
        }
        manifest.fields = existing.fields;
        for entry in existing.shards {
            if selected(entry.start / shard_size)
                && shard_is_intact(out_dir, &entry, shard_size, n_samples)
            {
                manifest.shards.push(entry);
            }
        }
    }
    write_manifest(out_dir, manifest_file, &manifest)?;

    let done: Vec<u64> = manifest.shards.iter().map(|e| e.start / shard_size).collect();
    let pending: Vec<u64> =
        (0..manifest.n_shards()).filter(|&k| selected(k) && !done.contains(&k)).collect();
    let wanted: u64 = (0..manifest.n_shards())
        .filter(|&k| selected(k))
        .map(|k| ((k + 1) * shard_size).min(n_samples) - k * shard_size)
        .sum();
    let bar =
        if progress_visible(progress) { ProgressBar::new(wanted) } else { ProgressBar::hidden() };
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} samples (eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar.set_message(manifest.equation.clone());
    bar.set_position(manifest.shards.iter().map(|e| e.end - e.start).sum());

    let state = Mutex::new(manifest);
    pending.par_iter().try_for_each(|&k| {
        let start = k * shard_size;
        let end = (start + shard_size).min(n_samples);
        let samples: Vec<(u64, Result<Sample>)> = (start..end)
            .into_par_iter()
            .map(|index| {
                let sample = generator.generate(seed, index);
                bar.inc(1);
                (index, sample)
            })
            .collect();
        write_shard(out_dir, manifest_file, &state, k, start, end, samples)
    })?;
    bar.finish();
    let mut manifest = state.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    manifest.shards.sort_by_key(|e| e.start);
    write_manifest(out_dir, manifest_file, &manifest)?;
    Ok(manifest)
}

/// Whether a manifest entry describes shard `start / shard_size` exactly and its file is
/// present with the recorded checksum.
fn shard_is_intact(dir: &Path, entry: &ShardEntry, shard_size: u64, n_samples: u64) -> bool {
    let k = entry.start / shard_size;
    let expected_end = (entry.start + shard_size).min(n_samples);
    if !entry.start.is_multiple_of(shard_size)
        || entry.end != expected_end
        || entry.file != shard_file_name(k)
    {
        return false;
    }
    if entry.n_written + entry.rejected.len() as u64 != entry.end - entry.start {
        return false;
    }
    std::fs::read(dir.join(&entry.file)).is_ok_and(|bytes| sha256_hex(&bytes) == entry.sha256)
}

/// Checks, serialises and writes one shard, then records it in the manifest.
fn write_shard(
    dir: &Path,
    manifest_file: &str,
    state: &Mutex<Manifest>,
    k: u64,
    start: u64,
    end: u64,
    samples: Vec<(u64, Result<Sample>)>,
) -> Result<()> {
    let lock = || state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut kept: Vec<(u64, Vec<Vec<f32>>)> = Vec::new();
    let mut rejected = Vec::new();
    for (index, sample) in samples {
        let checked = match sample {
            Err(e @ SolverError::InvalidParameter { .. }) => return Err(e),
            Err(e) => Err(e.to_string()),
            Ok(sample) => {
                let mut manifest = lock();
                if manifest.fields.is_empty() {
                    manifest.fields = sample
                        .fields
                        .iter()
                        .map(|f| FieldSpec { name: f.name.clone(), shape: f.shape.clone() })
                        .collect();
                }
                let fields = manifest.fields.clone();
                drop(manifest);
                check_sample(&sample, &fields)
            }
        };
        match checked {
            Ok(data) => kept.push((index, data)),
            Err(reason) => {
                log::warn!("sample {index} rejected, not written: {reason}");
                rejected.push(RejectedSample { index, reason });
            }
        }
    }
    let fields = lock().fields.clone();
    let n = kept.len();
    let mut buffers: Vec<Vec<u8>> = Vec::with_capacity(fields.len() + 1);
    for f in 0..fields.len() {
        let mut bytes = Vec::with_capacity(n * 4 * fields[f].shape.iter().product::<usize>());
        for (_, data) in &kept {
            for v in &data[f] {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        buffers.push(bytes);
    }
    let index_bytes: Vec<u8> = kept.iter().flat_map(|(i, _)| (*i as i64).to_le_bytes()).collect();
    let view_error =
        |e: safetensors::SafeTensorError| manifest_error(dir, format!("shard {k}: {e}"));
    let mut views = Vec::with_capacity(fields.len() + 1);
    for (spec, bytes) in fields.iter().zip(&buffers) {
        let mut shape = vec![n];
        shape.extend_from_slice(&spec.shape);
        views.push((
            spec.name.clone(),
            TensorView::new(Dtype::F32, shape, bytes).map_err(view_error)?,
        ));
    }
    views.push((
        INDEX_TENSOR.to_string(),
        TensorView::new(Dtype::I64, vec![n], &index_bytes).map_err(view_error)?,
    ));
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    // One metadata key only: safetensors keeps metadata in a HashMap, so several keys would
    // be written in a random order and identical shards would differ byte-wise.
    let info = serde_json::json!({ "format": FORMAT, "fields": names, "start": start, "end": end });
    let metadata = HashMap::from([(METADATA_KEY.to_string(), info.to_string())]);
    let bytes = safetensors::serialize(views, Some(metadata)).map_err(view_error)?;
    let file = shard_file_name(k);
    write_atomically(&dir.join(&file), &bytes)?;
    let entry =
        ShardEntry { file, start, end, n_written: n as u64, sha256: sha256_hex(&bytes), rejected };
    let mut manifest = lock();
    manifest.shards.push(entry);
    manifest.shards.sort_by_key(|e| e.start);
    write_manifest(dir, manifest_file, &manifest)
}

/// One field read from disk: float32 values, row-major, with the leading sample axis.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldData {
    /// Field name.
    pub name: String,
    /// `[n_samples, ...sample shape]`.
    pub shape: Vec<usize>,
    /// The values.
    pub data: Vec<f32>,
}

/// The contents of one shard file.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardData {
    /// Sample indices stored, in order.
    pub indices: Vec<u64>,
    /// The fields in the data set's field order.
    pub fields: Vec<FieldData>,
}

/// Reads one shard file (without checking it against a manifest).
pub fn read_shard(path: &Path) -> Result<ShardData> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    let bad = |detail: String| manifest_error(path, detail);
    let tensors = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let (_, metadata) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
    let names: Vec<String> = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(METADATA_KEY))
        .and_then(|info| serde_json::from_str::<serde_json::Value>(info).ok())
        .and_then(|info| serde_json::from_value(info["fields"].clone()).ok())
        .ok_or_else(|| bad(format!("no `{METADATA_KEY}` metadata with a `fields` list")))?;
    let index = tensors.tensor(INDEX_TENSOR).map_err(|e| bad(format!("{INDEX_TENSOR}: {e}")))?;
    if index.dtype() != Dtype::I64 {
        return Err(bad(format!("{INDEX_TENSOR} has dtype {:?}, expected I64", index.dtype())));
    }
    let indices: Vec<u64> = index
        .data()
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default()) as u64)
        .collect();
    let mut fields = Vec::with_capacity(names.len());
    for name in names {
        let view = tensors.tensor(&name).map_err(|e| bad(format!("{name}: {e}")))?;
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!("{name} has dtype {:?}, expected F32", view.dtype())));
        }
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        fields.push(FieldData { name, shape: view.shape().to_vec(), data });
    }
    Ok(ShardData { indices, fields })
}

/// A whole data set in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The manifest it was loaded from.
    pub manifest: Manifest,
    /// Sample indices stored, ascending.
    pub indices: Vec<u64>,
    /// All samples of each field, concatenated over shards: `[n_written, ...shape]`.
    pub fields: Vec<FieldData>,
}

impl Dataset {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&FieldData> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Loads a complete data set, checking every shard's checksum and sample count.
///
/// Errors with [`SolverError::Manifest`] if the set is incomplete (run [`write_dataset`]
/// again to finish it) or a shard does not match its manifest entry.
pub fn load_dataset(dir: &Path) -> Result<Dataset> {
    let manifest = Manifest::read(dir)?;
    if !manifest.is_complete() {
        return Err(manifest_error(
            dir,
            format!(
                "{} of {} shards finished; rerun the writer to complete it",
                manifest.shards.len(),
                manifest.n_shards()
            ),
        ));
    }
    let mut indices = Vec::with_capacity(manifest.n_written() as usize);
    let mut fields: Vec<FieldData> = manifest
        .fields
        .iter()
        .map(|spec| {
            let mut shape = vec![0];
            shape.extend_from_slice(&spec.shape);
            FieldData { name: spec.name.clone(), shape, data: Vec::new() }
        })
        .collect();
    for entry in &manifest.shards {
        let path = dir.join(&entry.file);
        let bytes = std::fs::read(&path).map_err(|e| io_error(&path, e))?;
        if sha256_hex(&bytes) != entry.sha256 {
            return Err(manifest_error(
                dir,
                format!("{} does not match its SHA-256 in the manifest", entry.file),
            ));
        }
        let shard = read_shard(&path)?;
        if shard.indices.len() as u64 != entry.n_written {
            return Err(manifest_error(
                dir,
                format!(
                    "{} holds {} samples, manifest says {}",
                    entry.file,
                    shard.indices.len(),
                    entry.n_written
                ),
            ));
        }
        indices.extend_from_slice(&shard.indices);
        for (target, part) in fields.iter_mut().zip(shard.fields) {
            if part.name != target.name || part.shape[1..] != target.shape[1..] {
                return Err(manifest_error(
                    dir,
                    format!("{}: field {} differs from the manifest", entry.file, part.name),
                ));
            }
            target.shape[0] += part.shape[0];
            target.data.extend_from_slice(&part.data);
        }
    }
    Ok(Dataset { manifest, indices, fields })
}
