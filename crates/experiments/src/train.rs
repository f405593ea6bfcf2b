//! `lno train`: trains an experiment's models on its data with equal budgets and compares them.
//!
//! An experiment file's `[<profile>.task]` says how samples become (input, target) pairs,
//! `[<profile>.train]` the budget shared by every model, and `[<profile>.models.<name>]` the
//! models. Each model trains in its own run directory `<runs>/<experiment>-<profile>/<name>/`
//! with a checkpoint after every epoch (atomic, see `lno_models::checkpoint`), per-epoch
//! metrics in `metrics.jsonl`, and `--resume` continuing from the newest checkpoint exactly.
//! The comparison table is printed and written to `<runs>/<experiment>-<profile>/results.md`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use lno_distributed::{Communicator, SingleProcess};
use lno_models::checkpoint::{Checkpoint, RunDir, Snapshot, TrainingMeta};
use lno_models::cloud::{CloudNo, CloudNoConfig};
use lno_models::local_no::{FnoConfig, LocalNo, LocalNoConfig, Operator, parameter_count};
use lno_models::loss::{Derivative, H1Loss, LpLoss, Reduction};
use lno_models::normalizer::UnitGaussianNormalizer;
use lno_models::optim::{AdamW, AdamWConfig};
use lno_models::schedule::{ScheduleConfig, Scheduler};
use lno_models::sfno::{SphereNo, SphereNoConfig};
use lno_models::unet::{UNet2d, UNetConfig};
use lno_solvers::writer::{Dataset, load_dataset};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::config::{ExperimentFile, Profile};
use crate::data::split_dir;
use crate::geometry::{
    CloudOperator, CloudTask, SphereOperator, SphereTask, TaskGeometry, field_tensor,
};

/// How the samples of a data set become (input, target) pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TaskSpec {
    /// One pair per sample: the `input` fields stacked as channels map to the `output` fields.
    Operator {
        /// Input field names (each `[n…]`).
        input: Vec<String>,
        /// Target field names (each `[n…]`).
        output: Vec<String>,
        /// Physical side lengths of the domain (losses, FD branches).
        domain_length: Vec<f64>,
    },
    /// Markov time stepping: state(t) → state(t + stride) along trajectories whose fields are
    /// `[T, n…]`, optionally preceded by an `initial` field `[n…]` (the state at t = 0).
    TimeStep {
        /// Trajectory fields, stacked as channels.
        fields: Vec<String>,
        /// A field with the first state of every trajectory, if the data set stores it apart.
        #[serde(default)]
        initial: Option<String>,
        /// Snapshots between input and target (default 1).
        #[serde(default = "one")]
        stride: usize,
        /// Physical side lengths of the domain.
        domain_length: Vec<f64>,
    },
    /// One pair per sample on the sphere, losses with the grid's quadrature weights
    /// (shallow water; see [`SphereTask`]).
    Sphere(SphereTask),
    /// One pair per sample on a fixed irregular point cloud, losses with its quadrature weights
    /// (cylinder flow; see [`CloudTask`]).
    Cloud(CloudTask),
}

fn one() -> usize {
    1
}

impl TaskSpec {
    /// Physical side lengths of the domain.
    pub fn domain_length(&self) -> &[f64] {
        match self {
            TaskSpec::Operator { domain_length, .. } | TaskSpec::TimeStep { domain_length, .. } => {
                domain_length
            }
            TaskSpec::Sphere(_) | TaskSpec::Cloud(_) => &[],
        }
    }

    fn channels(&self) -> (i64, i64) {
        match self {
            TaskSpec::Operator { input, output, .. } => (input.len() as i64, output.len() as i64),
            TaskSpec::TimeStep { fields, .. } => (fields.len() as i64, fields.len() as i64),
            TaskSpec::Sphere(t) => (t.in_channels() as i64, t.channels.len() as i64),
            TaskSpec::Cloud(t) => {
                ((t.channels.len() + t.scalars.len()) as i64, t.channels.len() as i64)
            }
        }
    }

    /// The pairs of `data` as `[P, C, n…]` float tensors on the CPU.
    pub fn pairs(&self, data: &Dataset, dir: &Path) -> Result<(Tensor, Tensor)> {
        match self {
            TaskSpec::Operator { input, output, .. } => {
                let stack = |names: &[String]| -> Result<Tensor> {
                    let parts = names
                        .iter()
                        .map(|n| field_tensor(data, dir, n))
                        .collect::<Result<Vec<_>>>()?;
                    Ok(Tensor::stack(&parts, 1))
                };
                Ok((stack(input)?, stack(output)?))
            }
            TaskSpec::Sphere(t) => t.pairs(data, dir),
            TaskSpec::Cloud(t) => t.pairs(data, dir),
            TaskSpec::TimeStep { stride, .. } => {
                let states = self.trajectories(data, dir)?;
                let t_len = states.size()[1];
                let stride = *stride as i64;
                ensure!(
                    t_len > stride,
                    "{}: {t_len} snapshots, too few for stride {stride}",
                    dir.display()
                );
                let x = states.narrow(1, 0, t_len - stride);
                let y = states.narrow(1, stride, t_len - stride);
                let flat = |t: Tensor| {
                    let s = t.size();
                    let mut shape = vec![s[0] * s[1]];
                    shape.extend_from_slice(&s[2..]);
                    t.contiguous().view(shape.as_slice())
                };
                Ok((flat(x), flat(y)))
            }
        }
    }
}

impl TaskSpec {
    /// The trajectories of a `time-step` task as `[N, T, C, n…]` float tensors on the CPU
    /// (the initial state first when `initial` is given); used for pairs and rollouts.
    pub fn trajectories(&self, data: &Dataset, dir: &Path) -> Result<Tensor> {
        let TaskSpec::TimeStep { fields, initial, stride, .. } = self else {
            bail!("task.kind: expected `time-step` for trajectories, got another kind");
        };
        ensure!(*stride >= 1, "task.stride: expected at least 1, got 0");
        let mut channels = Vec::with_capacity(fields.len());
        for name in fields {
            let t = field_tensor(data, dir, name)?;
            ensure!(t.dim() >= 3, "{}: field `{name}` is not a trajectory [T, n…]", dir.display());
            channels.push(t);
        }
        let mut states = Tensor::stack(&channels, 2);
        if let Some(name) = initial {
            ensure!(fields.len() == 1, "task.initial works with a single trajectory field");
            let first = field_tensor(data, dir, name)?.unsqueeze(1).unsqueeze(2);
            states = Tensor::cat(&[first, states], 1);
        }
        Ok(states)
    }
}

/// Which loss trains the models (evaluation always reports the relative L2 error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Quadrature-weighted relative L2.
    L2,
    /// Relative H1 (periodic central differences).
    H1,
}

/// The budget every model of an experiment gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSpec {
    /// The models trained by default, in table order (names of `[<profile>.models.*]`).
    pub models: Vec<String>,
    /// Passes over the training pairs.
    pub epochs: u64,
    /// Pairs per optimiser step.
    pub batch_size: usize,
    /// Use at most this many training pairs (all when absent).
    #[serde(default)]
    pub max_train_pairs: Option<usize>,
    /// AdamW hyper-parameters.
    #[serde(default)]
    pub optimizer: AdamWConfig,
    /// Learning-rate schedule, stepped once per epoch.
    pub schedule: ScheduleConfig,
    /// Training loss.
    pub loss: LossKind,
    /// Seed of model initialisation and data order.
    pub seed: u64,
}

/// A model of the comparison. `in_channels` / `out_channels` are filled in from the task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModelSpec {
    /// FNO / LocalNO (the paper's four variants are configurations).
    LocalNo(LocalNoConfig),
    /// Plain FNO with neuraloperator's FNO defaults.
    Fno(FnoConfig),
    /// The resolution-bound U-Net baseline.
    Unet(UNetConfig),
    /// SFNO / local SFNO / LSNO on the sphere (`img_size` and `grid` filled in from a sphere
    /// task).
    SphereNo(SphereNoConfig),
    /// The point-cloud operator (FNO or LocalNO latent blocks) on the cloud of a cloud task.
    CloudNo(CloudNoConfig),
}

impl ModelSpec {
    /// The model family recorded in checkpoints.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelSpec::LocalNo(_) => "local_no",
            ModelSpec::Fno(_) => "local_no",
            ModelSpec::Unet(_) => "unet2d",
            ModelSpec::SphereNo(_) => "sphere_no",
            ModelSpec::CloudNo(_) => "cloud_no",
        }
    }

    /// The model, its variables in `vs` (grid and sphere models; cloud models need
    /// [`ModelSpec::build_on`]).
    pub fn build(&self, vs: &VarStore) -> Result<Box<dyn Operator>> {
        self.build_on(vs, &TaskGeometry::Grid)
    }

    /// The model on the task's domain (point-cloud models are built on its cloud).
    pub fn build_on(&self, vs: &VarStore, geometry: &TaskGeometry) -> Result<Box<dyn Operator>> {
        let root = vs.root();
        Ok(match self {
            ModelSpec::LocalNo(c) => Box::new(LocalNo::new(&root, c)?),
            ModelSpec::Fno(c) => Box::new(LocalNo::fno(&root, c)?),
            ModelSpec::Unet(c) => Box::new(UNet2d::new(&root, c)?),
            ModelSpec::SphereNo(c) => Box::new(SphereOperator(SphereNo::new(&root, c)?)),
            ModelSpec::CloudNo(c) => {
                Box::new(CloudOperator(CloudNo::new(&root, c, geometry.cloud()?)?))
            }
        })
    }
}

/// Reads `[<profile>.models.<name>]`, filling in the channel counts from the task.
fn model_spec(
    file: &ExperimentFile,
    profile: Profile,
    name: &str,
    task: &TaskSpec,
) -> Result<ModelSpec> {
    let (cin, cout) = task.channels();
    let section = format!("models.{name}");
    let mut patched = file.clone();
    patched.set_default(profile, &section, "in_channels", toml::Value::Integer(cin));
    patched.set_default(profile, &section, "out_channels", toml::Value::Integer(cout));
    if let TaskSpec::Sphere(t) = task {
        crate::geometry::sphere_model_defaults(&mut patched, profile, &section, t)?;
    }
    Ok(patched.section(profile, &section)?)
}

/// Options of one `lno train` invocation.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Experiment profile.
    pub profile: Profile,
    /// Models to train (default: `train.models`).
    pub models: Vec<String>,
    /// Device to train on.
    pub device: Device,
    /// Root of the data sets.
    pub data_root: PathBuf,
    /// Root of the run directories.
    pub runs_root: PathBuf,
    /// Continue from the newest checkpoints instead of starting over.
    pub resume: bool,
    /// Draw progress bars.
    pub progress: bool,
    /// Override of `train.epochs`.
    pub epochs: Option<u64>,
}

/// One row of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct ModelResult {
    /// Model name in the experiment file.
    pub name: String,
    /// Trainable scalars.
    pub parameters: i64,
    /// Wall time of training, seconds (this invocation).
    pub train_seconds: f64,
    /// Final training loss.
    pub train_loss: f64,
    /// Relative L2 error on the test pairs at the training resolution.
    pub test_l2: f64,
    /// Relative L2 error at half the resolution (every other grid point), if the model runs.
    pub test_l2_half: Option<f64>,
}

/// The training and test pairs, normalisers and losses shared by every model.
struct Prepared {
    x_train: Tensor,
    y_train: Tensor,
    x_test: Tensor,
    y_test: Tensor,
    x_norm: UnitGaussianNormalizer,
    y_norm: UnitGaussianNormalizer,
    /// The domain: quadrature weights of the losses, the cloud of point-cloud models.
    geometry: TaskGeometry,
}

fn load_split(
    file: &ExperimentFile,
    opts: &TrainOptions,
    split: &str,
) -> Result<(Dataset, PathBuf)> {
    let dir = split_dir(&opts.data_root, &file.name, opts.profile, split);
    let profile_flag = if opts.profile == Profile::Full { " --full" } else { "" };
    ensure!(
        dir.join("manifest.json").is_file(),
        "no {split} data at {}; generate it with `cargo xtask gen-data {}{profile_flag}`",
        dir.display(),
        file.name
    );
    let data = load_dataset(&dir).with_context(|| {
        format!(
            "loading {}; rerun `cargo xtask gen-data {}{profile_flag}` to finish it",
            dir.display(),
            file.name
        )
    })?;
    Ok((data, dir))
}

fn prepare(
    file: &ExperimentFile,
    opts: &TrainOptions,
    task: &TaskSpec,
    spec: &TrainSpec,
) -> Result<Prepared> {
    let (train, train_dir) = load_split(file, opts, "train")?;
    let (test, test_dir) = load_split(file, opts, "test")?;
    let (mut x_train, mut y_train) = task.pairs(&train, &train_dir)?;
    let (mut x_test, mut y_test) = task.pairs(&test, &test_dir)?;
    if let Some(max) = spec.max_train_pairs {
        let n = x_train.size()[0].min(max as i64);
        x_train = x_train.narrow(0, 0, n);
        y_train = y_train.narrow(0, 0, n);
    }
    let geometry = crate::geometry::task_geometry(
        task,
        [(&train, &train_dir), (&test, &test_dir)],
        [&mut x_train, &mut y_train, &mut x_test, &mut y_test],
    )?;
    let x_norm = UnitGaussianNormalizer::fit(&x_train.to_kind(Kind::Double), None, 1e-6)?;
    let y_norm = UnitGaussianNormalizer::fit(&y_train.to_kind(Kind::Double), None, 1e-6)?;
    Ok(Prepared { x_train, y_train, x_test, y_test, x_norm, y_norm, geometry })
}

/// Relative L2 error of `model` on `(x, y)` (mean over pairs and channels).
fn evaluate(
    model: &dyn Operator,
    p: &Prepared,
    x: &Tensor,
    y: &Tensor,
    lengths: &[f64],
    device: Device,
    batch: i64,
) -> Result<f64> {
    let metric = LpLoss::l2(p.geometry.measure(lengths)?, Reduction::Sum)?;
    let n = x.size()[0];
    let mut total = 0.0;
    tch::no_grad(|| -> Result<()> {
        let mut start = 0;
        while start < n {
            let len = batch.min(n - start);
            let xb = p.x_norm.encode(&x.narrow(0, start, len).to_device(device))?;
            let pred = p.y_norm.decode(&model.f_forward_t(&xb, false)?)?;
            let yb = y.narrow(0, start, len).to_device(device);
            total += metric.rel(&pred, &yb)?.double_value(&[]);
            start += len;
        }
        Ok(())
    })?;
    let channels = y.size()[1];
    Ok(total / (n * channels) as f64)
}

/// Every other grid point along each spatial axis.
fn half_resolution(t: &Tensor) -> Tensor {
    let mut out = t.shallow_clone();
    for dim in 2..t.dim() as i64 {
        let n = out.size()[dim as usize];
        let idx = Tensor::arange_start_step(0, n, 2, (Kind::Int64, t.device()));
        out = out.index_select(dim, &idx);
    }
    out
}

fn append_metrics(path: &Path, line: &serde_json::Value) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(f, "{line}").with_context(|| format!("writing {}", path.display()))?;
    f.sync_data().ok();
    Ok(())
}

#[allow(clippy::too_many_lines)]
fn train_model(
    name: &str,
    model_spec: &ModelSpec,
    task: &TaskSpec,
    spec: &TrainSpec,
    p: &Prepared,
    opts: &TrainOptions,
    run_path: &Path,
    comm: &dyn Communicator,
) -> Result<ModelResult> {
    let lengths = task.domain_length().to_vec();
    tch::manual_seed(spec.seed as i64);
    let vs = VarStore::new(opts.device);
    let model = model_spec
        .build_on(&vs, &p.geometry)
        .with_context(|| format!("building model `{name}`"))?;
    let parameters = parameter_count(&vs);
    let mut optimizer = AdamW::new(&vs, spec.optimizer)?;
    let mut scheduler = Scheduler::new(spec.schedule, spec.optimizer.lr)?;
    let config = serde_json::json!({ "model": model_spec, "task": task, "train": spec });
    if !opts.resume && comm.is_root() && run_path.exists() {
        // A fresh run never mixes with or deletes an old one: the old one is moved aside.
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let aside = run_path.with_file_name(format!("{name}.replaced-{secs}"));
        std::fs::rename(run_path, &aside)
            .with_context(|| format!("moving the previous run {} aside", run_path.display()))?;
        eprintln!(
            "{name}: previous run moved to {} (use --resume to continue it)",
            aside.display()
        );
    }
    // The other ranks wait until rank 0 has moved an old run aside.
    comm.barrier()?;
    let run = RunDir::create(run_path)?;
    let metrics_path = run_path.join("metrics.jsonl");
    let mut epoch0 = 0;
    let mut step = 0;
    if opts.resume
        && let Some(dir) = run.latest()?
    {
        let ckpt = Checkpoint::load(&dir)?;
        ensure!(
            ckpt.state().meta.config == config,
            "{}: was trained with another configuration; start a new run without --resume",
            dir.display()
        );
        ckpt.restore(&vs, model_spec.kind(), Some(&mut optimizer))?;
        if let Some(s) = ckpt.scheduler()? {
            scheduler = s;
        }
        optimizer.set_lr(scheduler.lr())?;
        epoch0 = ckpt.state().meta.epoch;
        step = ckpt.state().meta.step;
        eprintln!("{name}: resuming after epoch {epoch0} from {}", dir.display());
    }

    // Identical weights everywhere: rank 0's initial (or restored) ones.
    crate::parallel::broadcast_variables(&vs, comm)?;
    let x_train = p.x_norm.encode(&p.x_train.to_device(opts.device))?;
    let y_train = p.y_train.to_device(opts.device);
    let n = x_train.size()[0];
    let batch = spec.batch_size.max(1) as i64;
    let epochs = opts.epochs.unwrap_or(spec.epochs);
    let loss_l2 = LpLoss::l2(p.geometry.measure(&lengths)?, Reduction::Mean)?;
    // H1 needs a regular periodic grid: built only when asked for, so other domains can train.
    let loss_h1 = match spec.loss {
        LossKind::H1 => {
            ensure!(
                matches!(p.geometry, TaskGeometry::Grid),
                "train.loss: expected \"l2\" on the sphere and on point clouds, got \"h1\" (periodic-grid only)"
            );
            Some(H1Loss::new(&lengths, Derivative::CentralPeriodic, Reduction::Mean)?)
        }
        LossKind::L2 => None,
    };
    let bar =
        crate::progress::bar(opts.progress && comm.is_root(), epochs.saturating_sub(epoch0), name);
    let started = Instant::now();
    let mut train_loss = f64::NAN;
    for epoch in epoch0..epochs {
        // The order depends on (seed, epoch) only, so a resumed run sees the same batches.
        let mut order: Vec<i64> = (0..n).collect();
        order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed ^ (epoch << 32)));
        let mut sum = 0.0;
        let mut batches = 0;
        for chunk in order.chunks(batch as usize) {
            // This rank's part of the global batch; a rank left without pairs runs one pair
            // at weight 0, so that its gradients exist and add nothing.
            let part = crate::parallel::local_range(chunk.len(), comm.rank(), comm.world_size());
            let weight = part.len() as f64 / chunk.len() as f64;
            let local = if part.is_empty() { &chunk[..1] } else { &chunk[part] };
            let idx = Tensor::from_slice(local).to_device(opts.device);
            let xb = x_train.index_select(0, &idx);
            let yb = y_train.index_select(0, &idx);
            let pred = p.y_norm.decode(&model.f_forward_t(&xb, true)?)?;
            // `loss_h1` exists exactly when `train.loss` is "h1".
            let loss = match &loss_h1 {
                Some(h1) => h1.rel(&pred, &yb)?,
                None => loss_l2.rel(&pred, &yb)?,
            };
            optimizer.zero_grad();
            loss.backward();
            // The global batch's mean loss rides along with the gradients (schedules use it).
            let mut global = [(loss.double_value(&[]) * weight) as f32];
            crate::parallel::all_reduce_gradients(&vs, comm, weight, &mut global)?;
            optimizer.step()?;
            let value =
                if comm.world_size() > 1 { f64::from(global[0]) } else { loss.double_value(&[]) };
            ensure!(value.is_finite(), "{name}: the training loss became {value} at epoch {epoch}");
            sum += value;
            batches += 1;
            step += 1;
        }
        train_loss = sum / batches.max(1) as f64;
        let lr = scheduler.step(Some(train_loss))?;
        optimizer.set_lr(lr)?;
        // Only rank 0 evaluates and writes; the others go on with the next epoch.
        if !comm.is_root() {
            continue;
        }
        let test_l2 =
            evaluate(model.as_ref(), p, &p.x_test, &p.y_test, &lengths, opts.device, batch)?;
        let meta = TrainingMeta {
            model_kind: model_spec.kind().into(),
            step,
            epoch: epoch + 1,
            seeds: BTreeMap::from([("init_and_order".to_string(), spec.seed)]),
            config: config.clone(),
            extra: serde_json::json!({ "train_loss": train_loss, "test_l2": test_l2 }),
        };
        let normalizers = [("input", &p.x_norm), ("output", &p.y_norm)];
        run.save(&Snapshot {
            vs: &vs,
            optimizer: Some(&optimizer),
            scheduler: Some(&scheduler),
            normalizers: &normalizers,
            meta: &meta,
        })?;
        append_metrics(
            &metrics_path,
            &serde_json::json!({
                "epoch": epoch + 1, "step": step, "train_loss": train_loss, "test_l2": test_l2,
                "lr": lr, "seconds": started.elapsed().as_secs_f64(),
            }),
        )?;
        bar.set_message(format!("{name} loss {train_loss:.4} test {test_l2:.4}"));
        bar.inc(1);
        if bar.is_hidden() {
            eprintln!(
                "{name}: epoch {}/{epochs} train {train_loss:.4e} test rel L2 {test_l2:.4e}",
                epoch + 1
            );
        }
    }
    bar.finish_and_clear();
    let train_seconds = started.elapsed().as_secs_f64();
    // Only rank 0 evaluates and reports.
    let (test_l2, test_l2_half) = if comm.is_root() {
        let full = evaluate(model.as_ref(), p, &p.x_test, &p.y_test, &lengths, opts.device, batch)?;
        let (xh, yh) = (half_resolution(&p.x_test), half_resolution(&p.y_test));
        (full, evaluate(model.as_ref(), p, &xh, &yh, &lengths, opts.device, batch).ok())
    } else {
        (f64::NAN, None)
    };
    Ok(ModelResult {
        name: name.into(),
        parameters,
        train_seconds,
        train_loss,
        test_l2,
        test_l2_half,
    })
}

/// The comparison table in Markdown.
pub fn results_table(results: &[ModelResult], resolution: &[i64]) -> String {
    let res = resolution.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("×");
    let half = resolution.iter().map(|r| ((r + 1) / 2).to_string()).collect::<Vec<_>>().join("×");
    let mut s = format!(
        "| model | parameters | rel. L2 at {res} (training) | rel. L2 at {half} (zero-shot) | train time |\n|---|---:|---:|---:|---:|\n"
    );
    for r in results {
        let half = r.test_l2_half.map_or("n/a".to_string(), |v| format!("{v:.4}"));
        s += &format!(
            "| {} | {} | {:.4} | {half} | {:.0} s |\n",
            r.name, r.parameters, r.test_l2, r.train_seconds
        );
    }
    s
}

/// Trains the models of `file`'s `opts.profile` in this process and returns the comparison rows.
pub fn train(file: &ExperimentFile, opts: &TrainOptions) -> Result<Vec<ModelResult>> {
    train_with(file, opts, &SingleProcess)
}

/// [`train`] as one rank of a data-parallel job: each global batch is split across `comm`'s
/// ranks and the gradients are averaged every step (see [`crate::parallel`]); only rank 0
/// evaluates and writes checkpoints, metrics and results (the other ranks return rows without
/// test errors). Checkpoints resume at any world size.
pub fn train_with(
    file: &ExperimentFile,
    opts: &TrainOptions,
    comm: &dyn Communicator,
) -> Result<Vec<ModelResult>> {
    let task: TaskSpec = file.section(opts.profile, "task")?;
    let spec: TrainSpec = file.section(opts.profile, "train")?;
    let names = if opts.models.is_empty() { spec.models.clone() } else { opts.models.clone() };
    ensure!(
        !names.is_empty(),
        "{}: train.models is empty and no --model was given",
        file.path.display()
    );
    let models = names
        .iter()
        .map(|n| model_spec(file, opts.profile, n, &task).map(|m| (n.clone(), m)))
        .collect::<Result<Vec<_>>>()?;
    let prepared = prepare(file, opts, &task, &spec)?;
    let resolution = prepared.x_test.size()[2..].to_vec();
    let group = opts.runs_root.join(format!("{}-{}", file.name, opts.profile.key()));
    std::fs::create_dir_all(&group).with_context(|| format!("creating {}", group.display()))?;
    if comm.is_root() {
        crate::eval::record_run(&group, file, opts.profile)?;
    }
    eprintln!(
        "train: {} ({}): {} training and {} test pairs at {:?}, models {}",
        file.name,
        opts.profile.key(),
        prepared.x_train.size()[0],
        prepared.x_test.size()[0],
        resolution,
        names.join(", ")
    );
    let mut results = Vec::new();
    for (name, model) in &models {
        let r = train_model(name, model, &task, &spec, &prepared, opts, &group.join(name), comm)?;
        if !comm.is_root() {
            results.push(r);
            continue;
        }
        eprintln!(
            "{name}: {} parameters, test rel. L2 {:.4} ({:.0} s)",
            r.parameters, r.test_l2, r.train_seconds
        );
        results.push(r);
    }
    if !comm.is_root() {
        return Ok(results);
    }
    let table = results_table(&results, &resolution);
    let text = format!(
        "# {} ({} profile)\n\nTrained by `lno train {}{}` on {:?}; equal budget: {} epochs, batch {}, seed {}.\n\n{table}",
        file.name,
        opts.profile.key(),
        file.name,
        if opts.profile == Profile::Full { " --full" } else { "" },
        opts.device,
        opts.epochs.unwrap_or(spec.epochs),
        spec.batch_size,
        spec.seed
    );
    let path = group.join("results.md");
    let tmp = group.join("results.md.tmp");
    std::fs::write(&tmp, &text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    // Truth / prediction / |error| of each model (as `lno eval` draws them); a picture that
    // cannot be drawn is reported but never fails a finished training.
    match crate::eval::write_sample_plots(
        &group,
        Path::new("configs"),
        &opts.data_root,
        opts.device,
    ) {
        Ok(paths) => paths.iter().for_each(|p| eprintln!("plot: {}", p.display())),
        Err(e) => eprintln!("plots not written: {e:#}"),
    }
    if results.is_empty() {
        bail!("no model was trained");
    }
    Ok(results)
}
