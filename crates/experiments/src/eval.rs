//! `lno eval`: the trained models of a run directory across resolutions and along rollouts.
//!
//! A run directory `<runs>/<experiment>-<profile>/` holds one sub-directory per model (see
//! [`crate::train`]) plus `run.json` and `experiment.toml`, which `lno train` writes so that the
//! run says which experiment file made it. For each model the newest checkpoint is loaded — its
//! manifest holds the resolved model and task configuration and its normalisers — and the
//! quadrature-weighted relative L2 error is measured on the test set at the training resolution
//! and at every other requested resolution. The test split at another resolution is generated
//! with the same generator and seed, only its grid size changed, and cached under
//! `<data>/<experiment>/<profile>/test-<n>/` (resumable like every data set). Resolution-bound
//! models (U-Net) are evaluated there too: how they fare is the point of the comparison. For
//! `time-step` tasks the rollout error after k = 1..min(10, T−1) autoregressive steps is
//! measured as well. Results go to `eval.md` (models as rows, resolutions as columns, as in the
//! paper), `eval.json`, and PNG plots under `plots/`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use lno_models::checkpoint::{LATEST_FILE, RunDir};
use lno_models::local_no::{Operator, parameter_count};
use lno_models::loss::{LpLoss, Reduction};
use lno_models::normalizer::UnitGaussianNormalizer;
use lno_solvers::writer::{Dataset, load_dataset, write_dataset};
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::config::{ExperimentFile, Profile};
use crate::data::{DataSpec, GeneratorSpec, split_dir};
use crate::geometry::{TaskGeometry, task_geometry};
use crate::plot::{self, HeatmapScales};
use crate::train::{ModelSpec, TaskSpec, TrainSpec};

/// File in a run directory naming the experiment and profile that made it.
pub const RUN_INFO_FILE: &str = "run.json";
/// Copy of the experiment file in a run directory, as it was when training started.
pub const EXPERIMENT_COPY: &str = "experiment.toml";
/// Most rollout steps evaluated.
pub const MAX_ROLLOUT_STEPS: usize = 10;

/// The grid-size key of each generator: the one parameter changed to make a test set at
/// another resolution (found through serde, so generators added later only need a row here).
const SIZE_KEYS: [(&str, &str); 3] =
    [("darcy", "s"), ("navier-stokes", "out_size"), ("diffusion-reaction", "n")];

/// What `run.json` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Experiment name (data lives under `<data>/<experiment>/<profile>/`).
    pub experiment: String,
    /// Profile the run was trained with.
    pub profile: Profile,
    /// The experiment file training read (a copy is in [`EXPERIMENT_COPY`]).
    pub source: PathBuf,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// Records in the run directory `group` which experiment file and profile train it
/// (`run.json` and a copy of the file), so that `lno eval` finds its data later.
pub fn record_run(group: &Path, file: &ExperimentFile, profile: Profile) -> Result<()> {
    let text = std::fs::read(&file.path)
        .with_context(|| format!("reading {} to copy it into the run", file.path.display()))?;
    write_atomic(&group.join(EXPERIMENT_COPY), &text)?;
    let info = RunInfo { experiment: file.name.clone(), profile, source: file.path.clone() };
    write_atomic(&group.join(RUN_INFO_FILE), &serde_json::to_vec_pretty(&info)?)
}

/// The command that trains the run `run_dir` would be, guessed from its name.
fn train_command(run_dir: &Path) -> String {
    let name = run_dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    if let Some(exp) = name.strip_suffix("-full") {
        format!("cargo xtask train {exp} --full")
    } else if let Some(exp) = name.strip_suffix("-quick") {
        format!("cargo xtask train {exp}")
    } else {
        "cargo xtask train <experiment>".to_string()
    }
}

/// The experiment file and profile of the run `run_dir`: from `run.json` and the copy of the
/// file when `lno train` wrote them, else from the directory name `<experiment>-<profile>` and
/// `configs_dir`.
pub fn open_run(run_dir: &Path, configs_dir: &Path) -> Result<(ExperimentFile, Profile)> {
    ensure!(
        run_dir.is_dir(),
        "no run directory {}; train one first with `{}` (runs are written to data/runs/<experiment>-<profile>/)",
        run_dir.display(),
        train_command(run_dir)
    );
    let info_path = run_dir.join(RUN_INFO_FILE);
    if info_path.is_file() {
        let info: RunInfo = serde_json::from_slice(
            &std::fs::read(&info_path)
                .with_context(|| format!("reading {}", info_path.display()))?,
        )
        .with_context(|| format!("{}: not a run record", info_path.display()))?;
        let copy = run_dir.join(EXPERIMENT_COPY);
        let mut file = if copy.is_file() {
            ExperimentFile::read(&copy)?
        } else {
            ExperimentFile::find(&info.experiment, configs_dir)?
        };
        file.name = info.experiment;
        return Ok((file, info.profile));
    }
    let name = run_dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let (exp, profile) = if let Some(e) = name.strip_suffix("-full") {
        (e, Profile::Full)
    } else if let Some(e) = name.strip_suffix("-quick") {
        (e, Profile::Quick)
    } else {
        bail!(
            "{}: no {RUN_INFO_FILE} and the name is not <experiment>-quick or <experiment>-full; expected a run directory written by `lno train`",
            run_dir.display()
        );
    };
    Ok((ExperimentFile::find(exp, configs_dir)?, profile))
}

/// A trained model restored from its newest checkpoint.
#[derive(Debug)]
pub struct LoadedModel {
    /// Name in the experiment file (the sub-directory of the run).
    pub name: String,
    /// The model's configuration as trained.
    pub spec: ModelSpec,
    /// The task it was trained on.
    pub task: TaskSpec,
    /// The training budget (its batch size is reused for evaluation).
    pub train: TrainSpec,
    /// Epochs completed at the checkpoint.
    pub epoch: u64,
    /// Trainable scalars.
    pub parameters: i64,
    model: Box<dyn Operator>,
    x_norm: UnitGaussianNormalizer,
    y_norm: UnitGaussianNormalizer,
    /// The domain: the quadrature weights of the error, the cloud of a point-cloud model.
    geometry: TaskGeometry,
    // Owns the variables `model` uses.
    _vs: VarStore,
}

impl LoadedModel {
    /// Restores the newest checkpoint of the model trained in `dir` onto `device` (a model of
    /// a regular-grid task; see [`LoadedModel::load_on`] for the sphere and the cloud).
    pub fn load(dir: &Path, device: Device) -> Result<Self> {
        Self::load_on(dir, device, TaskGeometry::Grid)
    }

    /// [`LoadedModel::load`] on the task's domain `geometry`, which gives the error its
    /// quadrature weights (as in training) and point-cloud models their cloud.
    pub fn load_on(dir: &Path, device: Device, geometry: TaskGeometry) -> Result<Self> {
        let name = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let ckpt = RunDir::open(dir)?.load_latest()?;
        let config = &ckpt.state().meta.config;
        let part = |key: &str| {
            config.get(key).cloned().with_context(|| {
                format!("{}: the checkpoint's config has no `{key}`", ckpt.dir().display())
            })
        };
        let spec: ModelSpec = serde_json::from_value(part("model")?)
            .with_context(|| format!("{}: model config", ckpt.dir().display()))?;
        let task: TaskSpec = serde_json::from_value(part("task")?)
            .with_context(|| format!("{}: task config", ckpt.dir().display()))?;
        let train: TrainSpec = serde_json::from_value(part("train")?)
            .with_context(|| format!("{}: train config", ckpt.dir().display()))?;
        let vs = VarStore::new(device);
        let model =
            spec.build_on(&vs, &geometry).with_context(|| format!("building model `{name}`"))?;
        ckpt.restore(&vs, spec.kind(), None)?;
        let norm = |key: &str| {
            ckpt.normalizers().get(key).cloned().with_context(|| {
                format!("{}: no `{key}` normaliser in the checkpoint", ckpt.dir().display())
            })
        };
        Ok(Self {
            epoch: ckpt.state().meta.epoch,
            parameters: parameter_count(&vs),
            x_norm: norm("input")?,
            y_norm: norm("output")?,
            model,
            geometry,
            _vs: vs,
            name,
            spec,
            task,
            train,
        })
    }

    /// The model's output for the inputs `x` `[B, C, n…]` (on the CPU), in physical units.
    pub fn predict(&self, x: &Tensor, device: Device) -> Result<Tensor> {
        tch::no_grad(|| -> Result<Tensor> {
            let xb = self.x_norm.encode(&x.to_device(device))?;
            Ok(self.y_norm.decode(&self.model.f_forward_t(&xb, false)?)?)
        })
    }

    fn batch(&self) -> i64 {
        self.train.batch_size.max(1) as i64
    }

    fn metric(&self) -> Result<LpLoss> {
        // The measure training used: uniform grid weights, the sphere's or the cloud's.
        Ok(LpLoss::l2(self.geometry.measure(self.task.domain_length())?, Reduction::Sum)?)
    }

    /// Relative L2 error on `(x, y)`, mean over pairs and channels.
    pub fn rel_l2(&self, x: &Tensor, y: &Tensor, device: Device) -> Result<f64> {
        let metric = self.metric()?;
        let n = x.size()[0];
        let mut total = 0.0;
        let mut start = 0;
        while start < n {
            let len = self.batch().min(n - start);
            let pred = self.predict(&x.narrow(0, start, len), device)?;
            let yb = y.narrow(0, start, len).to_device(device);
            total += metric.rel(&pred, &yb)?.double_value(&[]);
            start += len;
        }
        Ok(total / (n * y.size()[1]) as f64)
    }

    /// Relative L2 error after k = 1..=`steps` autoregressive steps from the first state of
    /// each trajectory of `states` `[N, T, C, n…]`, the model's output fed back as its input;
    /// the target of step k is the state `k · stride` snapshots later.
    pub fn rollout(
        &self,
        states: &Tensor,
        stride: usize,
        steps: usize,
        device: Device,
    ) -> Result<Vec<f64>> {
        let metric = self.metric()?;
        let (n, channels) = (states.size()[0], states.size()[2]);
        let mut sums = vec![0.0; steps];
        let mut start = 0;
        while start < n {
            let len = self.batch().min(n - start);
            let block = states.narrow(0, start, len);
            let mut state = block.select(1, 0);
            for (k, sum) in sums.iter_mut().enumerate() {
                state = self.predict(&state, device)?;
                let target = block.select(1, ((k + 1) * stride) as i64).to_device(device);
                *sum += metric.rel(&state, &target)?.double_value(&[]);
            }
            start += len;
        }
        Ok(sums.into_iter().map(|s| s / (n * channels) as f64).collect())
    }
}

/// The sub-directories of `run_dir` that hold a trained model (a `LATEST` file), in the order
/// of `order` first and by name after; runs moved aside by a fresh `train` are skipped.
pub fn model_dirs(run_dir: &Path, order: &[String]) -> Result<Vec<PathBuf>> {
    let mut names: Vec<String> = std::fs::read_dir(run_dir)
        .with_context(|| format!("reading {}", run_dir.display()))?
        .flatten()
        .filter(|e| e.path().join(LATEST_FILE).is_file())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| !n.contains(".replaced-"))
        .collect();
    names.sort_by_key(|n| (order.iter().position(|o| o == n).unwrap_or(usize::MAX), n.clone()));
    Ok(names.into_iter().map(|n| run_dir.join(n)).collect())
}

/// The generator's variant name and grid size (the key of [`SIZE_KEYS`]).
pub fn generator_resolution(g: &GeneratorSpec) -> Result<(String, usize)> {
    if let GeneratorSpec::NeuraloperatorDarcy(_) = g {
        // Fixed files, with a second test split at 32² (`test-32`).
        return Ok(("neuraloperator-darcy".into(), crate::external::TRAINING_RESOLUTION));
    }
    let value = serde_json::to_value(g)?;
    let (variant, params) = value
        .as_object()
        .and_then(|o| o.iter().next())
        .context("generator: expected a `{ <solver> = { … } }` table")?;
    let key = SIZE_KEYS.iter().find(|(v, _)| v == variant).map(|(_, k)| *k).with_context(|| {
        format!("generator `{variant}`: evaluation at other resolutions is not available for it")
    })?;
    let n = params.get(key).and_then(serde_json::Value::as_u64).with_context(|| {
        format!("generator `{variant}`: expected an integer `{key}` (its grid size)")
    })?;
    Ok((variant.clone(), n as usize))
}

/// `g` with its grid size set to `n`. For Navier–Stokes, whose output is a spectral truncation
/// of the solver grid, the solver grid `n` is raised to the output size when that exceeds it.
pub fn generator_at(g: &GeneratorSpec, n: usize) -> Result<GeneratorSpec> {
    let (variant, _) = generator_resolution(g)?;
    let key = SIZE_KEYS.iter().find(|(v, _)| *v == variant).map(|(_, k)| *k).unwrap_or("n");
    let mut value = serde_json::to_value(g)?;
    let params = value
        .get_mut(&variant)
        .and_then(serde_json::Value::as_object_mut)
        .context("generator: parameters are not a table")?;
    params.insert(key.to_string(), n.into());
    if variant == "navier-stokes"
        && params.get("n").and_then(serde_json::Value::as_u64) < Some(n as u64)
    {
        params.insert("n".to_string(), n.into());
    }
    Ok(serde_json::from_value(value)?)
}

/// Parses `--resolutions`: comma-separated grid sizes, each at least 2.
pub fn parse_resolutions(text: &str) -> Result<Vec<usize>> {
    text.split(',')
        .map(|part| {
            let part = part.trim();
            match part.parse::<usize>() {
                Ok(n) if n >= 2 => Ok(n),
                _ => bail!(
                    "--resolutions: expected comma-separated grid sizes of at least 2 (e.g. 32,64,128), got `{part}` in `{text}`"
                ),
            }
        })
        .collect()
}

/// Options of one `lno eval`.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Grid sizes to evaluate at (the training resolution is always added); default: half,
    /// training and double resolution.
    pub resolutions: Option<Vec<usize>>,
    /// Device to evaluate on.
    pub device: Device,
    /// Root of the data sets.
    pub data_root: PathBuf,
    /// Folder of experiment files (used only for runs without `run.json`).
    pub configs_dir: PathBuf,
    /// Draw progress bars while generating test sets.
    pub progress: bool,
}

/// The error of one model at one resolution.
#[derive(Debug, Clone, Serialize)]
pub struct ResolutionError {
    /// Grid size per axis.
    pub resolution: usize,
    /// Relative L2 error, when the model ran.
    pub rel_l2: Option<f64>,
    /// Why the model did not run at this resolution.
    pub error: Option<String>,
}

/// One model's row.
#[derive(Debug, Clone, Serialize)]
pub struct ModelEval {
    /// Model name.
    pub name: String,
    /// Model family.
    pub kind: String,
    /// Trainable scalars.
    pub parameters: i64,
    /// Epochs of the evaluated checkpoint.
    pub epoch: u64,
    /// Relative L2 error per resolution, in [`EvalReport::resolutions`] order.
    pub errors: Vec<ResolutionError>,
    /// Rollout error after 1, 2, … steps (time-step tasks).
    pub rollout: Option<Vec<f64>>,
    /// The truth / prediction / |error| picture and its colour scales.
    pub sample_plot: Option<(PathBuf, HeatmapScales)>,
}

/// Everything `lno eval` measured; also written as `eval.json`.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Experiment name.
    pub experiment: String,
    /// Profile.
    pub profile: Profile,
    /// The run directory.
    pub run_dir: PathBuf,
    /// Device used.
    pub device: String,
    /// The domain of the task: `grid`, `sphere` or `cloud`.
    pub domain: String,
    /// How the error is measured (quadrature weights, standardisation).
    pub measure: String,
    /// Grid size of the training data (latitudes on the sphere, points of a cloud).
    pub training_resolution: usize,
    /// Number of spatial dimensions.
    pub spatial_dims: usize,
    /// Evaluated grid sizes, ascending.
    pub resolutions: Vec<usize>,
    /// Column heading of each resolution (`16×16`, `32×64` on the sphere, `812 points`).
    pub labels: Vec<String>,
    /// What was not evaluated and why (other resolutions, rollout), one sentence each.
    pub notes: Vec<String>,
    /// What the truth / prediction / |error| pictures show (pair, channel, layout).
    pub sample_description: String,
    /// Test pairs at the training resolution.
    pub test_pairs: i64,
    /// Test trajectories of the rollout (time-step tasks).
    pub rollout_trajectories: Option<i64>,
    /// Per-model results, in table order.
    pub models: Vec<ModelEval>,
    /// Error against resolution plot.
    pub resolution_plot: Option<PathBuf>,
    /// Rollout error against step plot.
    pub rollout_plot: Option<PathBuf>,
}

/// The test split at grid size `n`: the stored one at the training resolution, otherwise one
/// generated with the same generator and seed under `test-<n>/` (kept for later runs).
fn test_split(
    file: &ExperimentFile,
    profile: Profile,
    spec: &DataSpec,
    data_root: &Path,
    n: usize,
    progress: bool,
) -> Result<(Dataset, PathBuf)> {
    let (_, trained_at) = generator_resolution(&spec.generator)?;
    let profile_flag = if profile == Profile::Full { " --full" } else { "" };
    let dir = if n == trained_at {
        let dir = split_dir(data_root, &file.name, profile, "test");
        ensure!(
            dir.join("manifest.json").is_file(),
            "no test data at {}; generate it with `cargo xtask gen-data {}{profile_flag}`",
            dir.display(),
            file.name
        );
        dir
    } else {
        let dir = split_dir(data_root, &file.name, profile, &format!("test-{n}"));
        if let GeneratorSpec::NeuraloperatorDarcy(_) = &spec.generator {
            // External data come only at the resolutions of their files.
            ensure!(
                dir.join("manifest.json").is_file(),
                "--resolutions {n}: {} has test data only at 16 and 32 (no {}; fetch it with \
                 `cargo xtask gen-data {}{profile_flag}`)",
                file.name,
                dir.display(),
                file.name
            );
            let data = load_dataset(&dir).with_context(|| format!("loading {}", dir.display()))?;
            return Ok((data, dir));
        }
        let generator = generator_at(&spec.generator, n)?
            .build()
            .with_context(|| format!("--resolutions {n}: the generator rejects this grid size"))?;
        if !dir.join("manifest.json").is_file() {
            eprintln!("eval: generating the test set at {n} in {}", dir.display());
        }
        write_dataset(
            generator.as_ref(),
            &dir,
            spec.test.samples,
            spec.test.seed,
            spec.shard_size,
            progress,
        )
        .with_context(|| format!("generating the test set at resolution {n}"))?;
        dir
    };
    let data = load_dataset(&dir).with_context(|| format!("loading {}", dir.display()))?;
    Ok((data, dir))
}

/// File-name-safe version of a model name.
fn file_stem(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

/// Channel 0 of sample 0 of a `[B, C, n0, n1]` tensor as f64 values.
fn first_field(t: &Tensor) -> Result<Vec<f64>> {
    let f = t.select(0, 0).select(0, 0).to_device(Device::Cpu).to_kind(Kind::Double).flatten(0, -1);
    Ok(Vec::<f64>::try_from(&f)?)
}

/// Draws truth / prediction / |error| of the first test pair for `m` into
/// `<plots>/sample-<name>.png`; `None` when the data are not 2-D grids.
fn sample_plot(
    m: &LoadedModel,
    x: &Tensor,
    y: &Tensor,
    plots: &Path,
    device: Device,
) -> Result<Option<(PathBuf, HeatmapScales)>> {
    let size = y.size();
    if size.len() != 4 || size[0] == 0 {
        return Ok(None);
    }
    let pred = m.predict(&x.narrow(0, 0, 1), device)?;
    let path = plots.join(format!("sample-{}.png", file_stem(&m.name)));
    let scales = plot::truth_prediction_error(
        &path,
        &first_field(&y.narrow(0, 0, 1))?,
        &first_field(&pred)?,
        (size[2] as usize, size[3] as usize),
    )?;
    Ok(Some((path, scales)))
}

/// Whether `task` lives on a regular grid (sphere and cloud runs are evaluated by
/// [`evaluate_sphere_or_cloud_run`]).
fn is_grid_task(task: &TaskSpec) -> bool {
    matches!(task, TaskSpec::Operator { .. } | TaskSpec::TimeStep { .. })
}

/// The models of a run in table order (the experiment's `train.models` first).
fn load_models(
    run_dir: &Path,
    file: &ExperimentFile,
    profile: Profile,
    device: Device,
) -> Result<Vec<LoadedModel>> {
    let order = file.section::<TrainSpec>(profile, "train").map(|t| t.models).unwrap_or_default();
    let dirs = model_dirs(run_dir, &order)?;
    ensure!(
        !dirs.is_empty(),
        "{}: no trained model (no <model>/{LATEST_FILE}); train with `{}`",
        run_dir.display(),
        train_command(run_dir)
    );
    dirs.iter().map(|d| LoadedModel::load(d, device)).collect()
}

/// Writes the truth / prediction / |error| picture of every model of the run `run_dir` on its
/// first test pair at the training resolution (the hook at the end of `lno train`); returns
/// the pictures' paths.
pub fn write_sample_plots(
    run_dir: &Path,
    configs_dir: &Path,
    data_root: &Path,
    device: Device,
) -> Result<Vec<PathBuf>> {
    let (file, profile) = open_run(run_dir, configs_dir)?;
    let task: TaskSpec = file.section(profile, "task")?;
    if !is_grid_task(&task) {
        let train: TrainSpec = file.section(profile, "train")?;
        let split = domain_split(&file, profile, &task, &train, data_root)?;
        let models = load_models_on(run_dir, device, &split.geometry, &task, &train)?;
        let mut paths = Vec::new();
        for m in &models {
            if let Some((path, _)) = domain_sample_plot(m, &split, &run_dir.join("plots"), device)?
            {
                paths.push(path);
            }
        }
        return Ok(paths);
    }
    let spec = DataSpec::from_file(&file, profile)?;
    let (_, trained_at) = generator_resolution(&spec.generator)?;
    let (data, dir) = test_split(&file, profile, &spec, data_root, trained_at, false)?;
    let mut paths = Vec::new();
    for m in load_models(run_dir, &file, profile, device)? {
        let (x, y) = m.task.pairs(&data, &dir)?;
        if let Some((path, _)) = sample_plot(&m, &x, &y, &run_dir.join("plots"), device)? {
            paths.push(path);
        }
    }
    Ok(paths)
}

/// Evaluates every model of the run `run_dir`; writes `eval.md`, `eval.json` and the plots
/// into it and returns the report.
pub fn evaluate_run(run_dir: &Path, opts: &EvalOptions) -> Result<EvalReport> {
    let (file, profile) = open_run(run_dir, &opts.configs_dir)?;
    let task: TaskSpec = file.section(profile, "task")?;
    if !is_grid_task(&task) {
        return evaluate_sphere_or_cloud_run(run_dir, &file, profile, &task, opts);
    }
    let spec = DataSpec::from_file(&file, profile)?;
    let (_, trained_at) = generator_resolution(&spec.generator)?;
    let mut resolutions = opts
        .resolutions
        .clone()
        .unwrap_or_else(|| vec![(trained_at / 2).max(2), trained_at, 2 * trained_at]);
    resolutions.push(trained_at);
    resolutions.sort_unstable();
    resolutions.dedup();
    let models = load_models(run_dir, &file, profile, opts.device)?;
    let plots = run_dir.join("plots");
    eprintln!(
        "eval: {} ({}): models {} at resolutions {:?} (trained at {trained_at})",
        file.name,
        profile.key(),
        models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", "),
        resolutions
    );

    let mut rows: Vec<ModelEval> = models
        .iter()
        .map(|m| ModelEval {
            name: m.name.clone(),
            kind: m.spec.kind().to_string(),
            parameters: m.parameters,
            epoch: m.epoch,
            errors: Vec::new(),
            rollout: None,
            sample_plot: None,
        })
        .collect();
    let mut test_pairs = 0;
    let mut spatial_dims = 0;
    let mut rollout_trajectories = None;
    for &n in &resolutions {
        let (data, dir) = test_split(&file, profile, &spec, &opts.data_root, n, opts.progress)?;
        for (m, row) in models.iter().zip(rows.iter_mut()) {
            let (x, y) = m.task.pairs(&data, &dir)?;
            // A model that cannot run at this grid (e.g. a U-Net whose size does not halve
            // evenly) is reported, not fatal: the table shows why.
            let (rel_l2, error) = match m.rel_l2(&x, &y, opts.device) {
                Ok(v) => (Some(v), None),
                Err(e) => (None, Some(format!("{e:#}"))),
            };
            eprintln!(
                "eval: {} at {n}: rel. L2 {}",
                m.name,
                rel_l2.map_or_else(
                    || format!("n/a ({})", error.as_deref().unwrap_or("")),
                    |v| { format!("{v:.4e}") }
                )
            );
            row.errors.push(ResolutionError { resolution: n, rel_l2, error });
            if n != trained_at {
                continue;
            }
            test_pairs = x.size()[0];
            spatial_dims = x.dim() - 2;
            row.sample_plot = sample_plot(m, &x, &y, &plots, opts.device)?;
            if let TaskSpec::TimeStep { stride, .. } = &m.task {
                let states = m.task.trajectories(&data, &dir)?;
                let steps = MAX_ROLLOUT_STEPS.min((states.size()[1] as usize - 1) / stride);
                if steps >= 1 {
                    rollout_trajectories = Some(states.size()[0]);
                    row.rollout = Some(m.rollout(&states, *stride, steps, opts.device)?);
                }
            }
        }
    }

    let resolution_plot = plots.join("error-vs-resolution.png");
    let series: Vec<Vec<(f64, f64)>> = rows
        .iter()
        .map(|r| r.errors.iter().filter_map(|e| Some((e.resolution as f64, e.rel_l2?))).collect())
        .collect();
    plot::lines(&resolution_plot, &series, true, true)?;
    let rollout_plot = if rows.iter().any(|r| r.rollout.is_some()) {
        let path = plots.join("rollout.png");
        let series: Vec<Vec<(f64, f64)>> = rows
            .iter()
            .map(|r| {
                r.rollout.iter().flatten().enumerate().map(|(k, &e)| ((k + 1) as f64, e)).collect()
            })
            .collect();
        plot::lines(&path, &series, false, true)?;
        Some(path)
    } else {
        None
    };

    let report = EvalReport {
        experiment: file.name.clone(),
        profile,
        run_dir: run_dir.to_path_buf(),
        device: format!("{:?}", opts.device),
        domain: "grid".into(),
        measure: "quadrature-weighted (uniform grid weights Π L_i/n_i)".into(),
        training_resolution: trained_at,
        spatial_dims,
        labels: resolutions.iter().map(|&n| grid_label(n, spatial_dims)).collect(),
        notes: Vec::new(),
        sample_description: format!(
            "test pair 0 (channel 0) at {}",
            grid_label(trained_at, spatial_dims)
        ),
        resolutions,
        test_pairs,
        rollout_trajectories,
        models: rows,
        resolution_plot: Some(resolution_plot),
        rollout_plot,
    };
    write_atomic(&run_dir.join("eval.json"), &serde_json::to_vec_pretty(&report)?)?;
    write_atomic(&run_dir.join("eval.md"), markdown(&report, &opts.data_root).as_bytes())?;
    Ok(report)
}

/// The test pairs of a sphere or cloud run as training measured them: the sphere's fields
/// standardised with the normaliser fitted on the training inputs (the first
/// `train.max_train_pairs`), the cloud's checked to lie on the training cloud.
struct DomainSplit {
    x: Tensor,
    y: Tensor,
    geometry: TaskGeometry,
}

/// Loads the train and test splits of a sphere or cloud run and prepares the test pairs exactly
/// as `lno train` does ([`task_geometry`]).
fn domain_split(
    file: &ExperimentFile,
    profile: Profile,
    task: &TaskSpec,
    train: &TrainSpec,
    data_root: &Path,
) -> Result<DomainSplit> {
    let profile_flag = if profile == Profile::Full { " --full" } else { "" };
    let load = |split: &str| -> Result<(Dataset, PathBuf)> {
        let dir = split_dir(data_root, &file.name, profile, split);
        ensure!(
            dir.join("manifest.json").is_file(),
            "no {split} data at {}; generate it with `cargo xtask gen-data {}{profile_flag}` (the \
             {split} split is needed: {})",
            dir.display(),
            file.name,
            if split == "train" {
                "training fitted the standardisation or read the cloud from it"
            } else {
                "it is what is evaluated"
            }
        );
        let data = load_dataset(&dir).with_context(|| format!("loading {}", dir.display()))?;
        Ok((data, dir))
    };
    let (train_data, train_dir) = load("train")?;
    let (test_data, test_dir) = load("test")?;
    let (mut x_train, mut y_train) = task.pairs(&train_data, &train_dir)?;
    let (mut x, mut y) = task.pairs(&test_data, &test_dir)?;
    if let Some(max) = train.max_train_pairs {
        let n = x_train.size()[0].min(max as i64);
        x_train = x_train.narrow(0, 0, n);
        y_train = y_train.narrow(0, 0, n);
    }
    let geometry = task_geometry(
        task,
        [(&train_data, &train_dir), (&test_data, &test_dir)],
        [&mut x_train, &mut y_train, &mut x, &mut y],
    )?;
    Ok(DomainSplit { x, y, geometry })
}

/// The models of a sphere or cloud run on `geometry`, checked to have been trained on `task`
/// (the run's experiment file) so that the prepared test pairs are theirs.
fn load_models_on(
    run_dir: &Path,
    device: Device,
    geometry: &TaskGeometry,
    task: &TaskSpec,
    train: &TrainSpec,
) -> Result<Vec<LoadedModel>> {
    let dirs = model_dirs(run_dir, &train.models)?;
    ensure!(
        !dirs.is_empty(),
        "{}: no trained model (no <model>/{LATEST_FILE}); train with `{}`",
        run_dir.display(),
        train_command(run_dir)
    );
    dirs.iter()
        .map(|d| {
            let m = LoadedModel::load_on(d, device, geometry.clone())?;
            ensure!(
                m.task == *task && m.train.max_train_pairs == train.max_train_pairs,
                "{}: trained with another task or max_train_pairs than the run's experiment \
                 file says; its test pairs would not be prepared as in training (retrain it)",
                d.display()
            );
            Ok(m)
        })
        .collect()
}

/// Draws truth / prediction / |error| of test pair 0, channel 0, of a sphere (lat-lon map) or
/// cloud (scatter raster) model into `<plots>/sample-<name>.png`.
fn domain_sample_plot(
    m: &LoadedModel,
    split: &DomainSplit,
    plots: &Path,
    device: Device,
) -> Result<Option<(PathBuf, HeatmapScales)>> {
    if split.y.size()[0] == 0 {
        return Ok(None);
    }
    let pred = m.predict(&split.x.narrow(0, 0, 1), device)?;
    let path = plots.join(format!("sample-{}.png", file_stem(&m.name)));
    let truth = first_field(&split.y.narrow(0, 0, 1))?;
    let pred = first_field(&pred)?;
    let scales = match &split.geometry {
        TaskGeometry::Cloud(cloud) => {
            plot::truth_prediction_error_points(&path, cloud.points(), &truth, &pred)?
        }
        _ => {
            let size = split.y.size();
            plot::truth_prediction_error_latlon(
                &path,
                &truth,
                &pred,
                (size[2] as usize, size[3] as usize),
            )?
        }
    };
    Ok(Some((path, scales)))
}

/// What the pictures of a sphere or cloud run show, for `eval.md`.
fn domain_sample_description(task: &TaskSpec, label: &str) -> String {
    let channel = |names: &[String]| names.first().cloned().unwrap_or_else(|| "0".into());
    match task {
        TaskSpec::Sphere(t) => format!(
            "test pair 0, channel `{}` (standardised, as measured) on the {label} lat-lon grid as \
             an equirectangular map (north at the top, longitude 0 at the left edge, eastward to \
             the right), the three maps side by side",
            channel(&t.channels)
        ),
        TaskSpec::Cloud(t) => format!(
            "test pair 0, channel `{}`, at the {label} of the cloud: each point a {px}×{px}-pixel \
             square of its value's colour on mid grey (x to the right, y up, aspect ratio kept; \
             the empty disk is the cylinder), truth, prediction and |error| stacked top to bottom",
            channel(&t.channels),
            px = plot::POINT_PX
        ),
        _ => String::new(),
    }
}

/// `lno eval` of a `sphere` or `cloud` run: the error at the training grid or cloud with the
/// domain's quadrature weights (as training measured it), other resolutions where the models
/// can run there (else n/a with the reason), the pictures, and notes on what does not apply.
fn evaluate_sphere_or_cloud_run(
    run_dir: &Path,
    file: &ExperimentFile,
    profile: Profile,
    task: &TaskSpec,
    opts: &EvalOptions,
) -> Result<EvalReport> {
    let train: TrainSpec = file.section(profile, "train")?;
    let split = domain_split(file, profile, task, &train, &opts.data_root)?;
    let models = load_models_on(run_dir, opts.device, &split.geometry, task, &train)?;
    let plots = run_dir.join("plots");
    let mut notes = Vec::new();
    // Per column: its size (latitudes, points), heading and, on the sphere, longitudes.
    let (domain, measure, trained_at, resolutions, labels, nlons): (
        _,
        _,
        _,
        Vec<usize>,
        Vec<String>,
        Vec<usize>,
    ) = match task {
        TaskSpec::Sphere(t) => {
            let [nlat, nlon] = t.shape;
            let mut res =
                opts.resolutions.clone().unwrap_or_else(|| vec![(nlat / 2).max(2), nlat, 2 * nlat]);
            res.push(nlat);
            res.sort_unstable();
            res.dedup();
            let nlons: Vec<usize> = res.iter().map(|&n| n * nlon / nlat).collect();
            let labels = res.iter().zip(&nlons).map(|(n, m)| format!("{n}×{m}")).collect();
            notes.push(format!(
                "Resolutions are latitudes × longitudes ({}×{} in training; another column keeps \
                 the ratio). A model that is built for the training grid cannot take another one \
                 (each column says so with the model's own error): `sphere-no` models fix \
                 `img_size` when they are built — their spherical harmonic transforms, DISCO \
                 filter tensors and spectral weights (as many degrees as the internal grid \
                 resolves) belong to that grid — so no test set is generated at another grid.",
                nlat, nlon
            ));
            notes.push(
                "Rollout: n/a. The shallow-water data hold one pair per initial condition (`x` \
                 and `y`, the state one `interval` later), no trajectory to roll out along."
                    .to_string(),
            );
            (
                "sphere",
                format!(
                    "with the {:?} sphere grid's quadrature weights (surface weights summing to \
                     4π) on the standardised fields (per-channel mean and deviation of the \
                     training inputs, quadrature-weighted)",
                    t.grid
                ),
                nlat,
                res,
                labels,
                nlons,
            )
        }
        _ => {
            let n = split.y.size()[2] as usize;
            notes.push(
                "Other resolutions: n/a. The cloud task has one fixed point cloud, the one the \
                 models were built on (their DISCO encoder and decoder are assembled for its \
                 points); the cylinder generator could sample a denser or coarser cloud (its \
                 `cloud` spacings `h_near`, `h_far`), but `lno eval` neither generates test sets \
                 on another cloud nor rebuilds the models there."
                    .to_string(),
            );
            if opts.resolutions.is_some() {
                notes.push(format!(
                    "`--resolutions` was ignored: grid sizes do not apply to a point cloud \
                     (evaluated at the training cloud of {n} points only)."
                ));
            }
            notes.push(
                "Rollout: n/a. Each cylinder sample is one pair (`a` → `u`, one `snapshot_dt` \
                 later) at its own Reynolds number and phase, not a trajectory."
                    .to_string(),
            );
            (
                "cloud",
                "with the cloud's quadrature weights (lumped Delaunay weights of the points)"
                    .to_string(),
                n,
                vec![n],
                vec![format!("{n} points")],
                vec![0],
            )
        }
    };
    eprintln!(
        "eval: {} ({}): {domain} task, models {} at {:?} (trained at {trained_at})",
        file.name,
        profile.key(),
        models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", "),
        labels
    );
    let in_channels = split.x.size()[1];
    let mut rows = Vec::new();
    for m in &models {
        let mut errors = Vec::new();
        for ((&n, label), &nlon) in resolutions.iter().zip(&labels).zip(&nlons) {
            let (rel_l2, error) = if n == trained_at {
                (Some(m.rel_l2(&split.x, &split.y, opts.device)?), None)
            } else {
                // A zero input of the other grid's shape: the model's refusal is the reason.
                let shape = [1, in_channels, n as i64, nlon as i64];
                let probe = Tensor::zeros(shape, (Kind::Float, Device::Cpu));
                let reason = match m.predict(&probe, opts.device) {
                    Err(e) => format!("the model does not run on the {label} grid: {e:#}"),
                    Ok(_) => format!(
                        "the model runs on the {label} grid, but `lno eval` generates no \
                         shallow-water test set at another grid"
                    ),
                };
                (None, Some(reason))
            };
            eprintln!(
                "eval: {} at {label}: rel. L2 {}",
                m.name,
                rel_l2.map_or_else(
                    || format!("n/a ({})", error.as_deref().unwrap_or("")),
                    |v| format!("{v:.4e}")
                )
            );
            errors.push(ResolutionError { resolution: n, rel_l2, error });
        }
        rows.push(ModelEval {
            name: m.name.clone(),
            kind: m.spec.kind().to_string(),
            parameters: m.parameters,
            epoch: m.epoch,
            errors,
            rollout: None,
            sample_plot: domain_sample_plot(m, &split, &plots, opts.device)?,
        });
    }
    let training_label =
        labels[resolutions.iter().position(|&n| n == trained_at).unwrap_or(0)].clone();
    let report = EvalReport {
        experiment: file.name.clone(),
        profile,
        run_dir: run_dir.to_path_buf(),
        device: format!("{:?}", opts.device),
        domain: domain.into(),
        measure,
        training_resolution: trained_at,
        spatial_dims: 2,
        sample_description: domain_sample_description(task, &training_label),
        resolutions,
        labels,
        notes,
        test_pairs: split.x.size()[0],
        rollout_trajectories: None,
        models: rows,
        // One finite error per model: a curve against resolution would be a single point.
        resolution_plot: None,
        rollout_plot: None,
    };
    write_atomic(&run_dir.join("eval.json"), &serde_json::to_vec_pretty(&report)?)?;
    write_atomic(&run_dir.join("eval.md"), markdown(&report, &opts.data_root).as_bytes())?;
    Ok(report)
}

/// An error for a table cell: four decimals, scientific notation beyond 1000 (diverging
/// rollouts), `inf`/`NaN` as such.
fn cell(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e3 { format!("{v:.3e}") } else { format!("{v:.4}") }
}

/// `n×n…` for the report's number of spatial dimensions.
fn grid_label(n: usize, dims: usize) -> String {
    vec![n.to_string(); dims.max(1)].join("×")
}

/// A path relative to the run directory, for links in `eval.md`.
fn relative<'a>(path: &'a Path, run_dir: &Path) -> std::borrow::Cow<'a, str> {
    path.strip_prefix(run_dir).unwrap_or(path).to_string_lossy()
}

/// `eval.md`: the paper's layout (models as rows, resolutions as columns), the rollout table,
/// and the plots with captions (the pictures themselves carry no text).
pub fn markdown(r: &EvalReport, data_root: &Path) -> String {
    let dims = r.spatial_dims;
    let label = |n: usize| -> String {
        r.resolutions
            .iter()
            .position(|&m| m == n)
            .and_then(|i| r.labels.get(i).cloned())
            .unwrap_or_else(|| grid_label(n, dims))
    };
    let res_list = r.resolutions.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    let mut s = if r.domain == "grid" {
        grid_intro(r, data_root, &res_list)
    } else {
        format!(
            "# Evaluation: {} ({} profile)\n\n\
             `lno eval {}` on {}, newest checkpoint of each model. Relative L2 error, {}, mean \
             over the {} test pairs and their channels: the measure `lno train` reports, so the \
             training column is the test error the checkpoint recorded. The models were \
             trained at {}.\n\n",
            r.experiment,
            r.profile.key(),
            r.run_dir.display(),
            r.device,
            r.measure,
            r.test_pairs,
            label(r.training_resolution),
        )
    };
    s += "| model | parameters | epochs |";
    for &n in &r.resolutions {
        let mark = if n == r.training_resolution { " (training)" } else { "" };
        s += &format!(" {}{mark} |", label(n));
    }
    s += "\n|---|---:|---:|";
    s += &"---:|".repeat(r.resolutions.len());
    s += "\n";
    let mut failures = Vec::new();
    for m in &r.models {
        s += &format!("| {} | {} | {} |", m.name, m.parameters, m.epoch);
        for e in &m.errors {
            match (e.rel_l2, &e.error) {
                (Some(v), _) => s += &format!(" {} |", cell(v)),
                (None, reason) => {
                    failures.push(format!(
                        "{} at {}: {}",
                        m.name,
                        label(e.resolution),
                        reason.as_deref().unwrap_or("did not run")
                    ));
                    s += &format!(" n/a ({}) |", failures.len());
                }
            }
        }
        s += "\n";
    }
    for (k, f) in failures.iter().enumerate() {
        s += &format!("\n({}) {f}", k + 1);
    }
    if !failures.is_empty() {
        s += "\n";
    }
    if !r.notes.is_empty() {
        s += "\n";
        for note in &r.notes {
            s += &format!("- {note}\n");
        }
    }
    s += &rest_of_markdown(r, &label);
    s
}

/// The opening paragraph of a regular-grid run's `eval.md`.
fn grid_intro(r: &EvalReport, data_root: &Path, res_list: &str) -> String {
    let dims = r.spatial_dims;
    format!(
        "# Evaluation: {} ({} profile)\n\n\
         `lno eval {} --resolutions {res_list}` on {}, newest checkpoint of each model. \
         Relative L2 error, quadrature-weighted (uniform grid weights Π L_i/n_i), mean over \
         the {} test pairs and their channels. The models were trained at {}; every other \
         column is zero-shot, on test data made by the same generator with the same seed at \
         that grid size (`{}`).\n\n",
        r.experiment,
        r.profile.key(),
        r.run_dir.display(),
        r.device,
        r.test_pairs,
        grid_label(r.training_resolution, dims),
        split_dir(data_root, &r.experiment, r.profile, "test-<n>").display(),
    )
}

/// The rollout table and the plot captions of `eval.md`.
fn rest_of_markdown(r: &EvalReport, label: &dyn Fn(usize) -> String) -> String {
    let mut s = String::new();
    let steps = r.models.iter().filter_map(|m| m.rollout.as_ref().map(Vec::len)).max();
    if let (Some(steps), Some(n_traj)) = (steps, r.rollout_trajectories) {
        s += &format!(
            "\n## Rollout at {}\n\nRelative L2 error after k autoregressive steps (the model's \
             output fed back as its input) from the first state of each of the {n_traj} test \
             trajectories.\n\n| model |",
            label(r.training_resolution)
        );
        for k in 1..=steps {
            s += &format!(" k = {k} |");
        }
        s += &format!("\n|---|{}\n", "---:|".repeat(steps));
        for m in &r.models {
            s += &format!("| {} |", m.name);
            for k in 0..steps {
                match m.rollout.as_ref().and_then(|v| v.get(k)) {
                    Some(v) => s += &format!(" {} |", cell(*v)),
                    None => s += " n/a |",
                }
            }
            s += "\n";
        }
    }

    s += "\n## Plots\n\nThe pictures have no text; colours and scales are given here.\n\n";
    let legend = r
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| format!("{} {}", m.name, plot::colour(i).0))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(p) = &r.resolution_plot {
        s += &format!(
            "- Error against resolution (x: grid size, log scale, a grey line at each evaluated \
             size; y: relative L2, log scale, grey lines at powers of ten); {legend}:\n  \
             ![error against resolution]({})\n",
            relative(p, &r.run_dir)
        );
    }
    if let Some(p) = &r.rollout_plot {
        s += &format!(
            "- Rollout error against step (x: k = 1, 2, …; y: relative L2, log scale, grey \
             lines at powers of ten); {legend}:\n  ![rollout error]({})\n",
            relative(p, &r.run_dir)
        );
    }
    for m in &r.models {
        if let Some((p, sc)) = &m.sample_plot {
            let field = if sc.diverging {
                format!(
                    "diverging blue–white–red from {:.3e} to {:.3e}",
                    sc.field_min, sc.field_max
                )
            } else {
                format!("viridis from {:.3e} to {:.3e}", sc.field_min, sc.field_max)
            };
            s += &format!(
                "- {}: truth | prediction | |error| of {}; truth and prediction {field}, |error| \
                 viridis from 0 to {:.3e}:\n  ![{} sample]({})\n",
                m.name,
                r.sample_description,
                sc.error_max,
                m.name,
                relative(p, &r.run_dir)
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_parse_and_bad_values_are_named() {
        assert_eq!(parse_resolutions("32, 64,128").unwrap(), [32, 64, 128]);
        for bad in ["32,x", "1", "", "32,,64", "-4"] {
            let err = parse_resolutions(bad).unwrap_err().to_string();
            assert!(err.contains("--resolutions") && err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn generator_grid_sizes_are_read_and_changed_by_key() {
        let ns: GeneratorSpec = toml::from_str(
            r#"[navier-stokes]
flow = { kind = "fno_benchmark", nu = 1e-3 }
n = 64
out_size = 32
t_spinup = 0.0
snapshot_dt = 1.0
n_snapshots = 2
time_step = { cfl = 1.0 }"#,
        )
        .unwrap();
        assert_eq!(generator_resolution(&ns).unwrap(), ("navier-stokes".to_string(), 32));
        let GeneratorSpec::NavierStokes(c) = generator_at(&ns, 16).unwrap() else { panic!() };
        assert_eq!((c.out_size, c.n), (16, 64), "a coarser output keeps the solver grid");
        let GeneratorSpec::NavierStokes(c) = generator_at(&ns, 128).unwrap() else { panic!() };
        assert_eq!((c.out_size, c.n), (128, 128), "a finer output raises the solver grid");
    }

    #[test]
    fn table_cells_switch_to_scientific_notation_for_diverged_errors() {
        assert_eq!(cell(0.11126), "0.1113");
        assert_eq!(cell(939.04), "939.0400");
        assert_eq!(cell(1976208.5), "1.976e6");
        assert_eq!(cell(f64::INFINITY), "inf");
    }

    #[test]
    fn a_run_directory_name_gives_the_train_command() {
        assert_eq!(
            train_command(Path::new("data/runs/darcy-full")),
            "cargo xtask train darcy --full"
        );
        assert_eq!(
            train_command(Path::new("runs/navier-stokes-quick")),
            "cargo xtask train navier-stokes"
        );
    }
}
