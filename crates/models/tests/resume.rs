//! Checkpoint tests: exact resume in a new process (N steps straight = N/2, checkpoint, a new
//! process, N/2 more), full round trips, and the failure modes — truncated or corrupted files,
//! a checkpoint of another model, an existing checkpoint, an interrupted save — each named in
//! the error with nothing overwritten.
//!
//! The new process is this test binary itself, re-run with `--ignored --exact` on
//! [`resume_child_process`] and the run directory in `LNO_RESUME_DIR`.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use lno_models::ModelError;
use lno_models::checkpoint::{Checkpoint, RunDir, Snapshot, TrainingMeta};
use lno_models::loss::{LpLoss, Measure, Reduction};
use lno_models::normalizer::UnitGaussianNormalizer;
use lno_models::optim::{AdamW, AdamWConfig, clip_grad_norm};
use lno_models::schedule::{ScheduleConfig, Scheduler};
use tch::{Device, Kind, Tensor, nn, nn::Module, nn::VarStore};

const N_GRID: i64 = 16;
const N_SAMPLES: usize = 12;
const BATCH: usize = 4;
const STEPS: u64 = 12;
const DATA_SEED: u64 = 2024;
const KIND: &str = "resume_toy";
const CHILD_ENV: &str = "LNO_RESUME_DIR";

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Sample `i`: a two-mode periodic signal and its target (a shift plus a square), both
/// `[1, N_GRID]`; a function of (seed, i) only.
fn sample(i: usize) -> (Vec<f64>, Vec<f64>) {
    let r = splitmix(DATA_SEED ^ ((i as u64) << 8));
    let (a, phase) = ((r % 1000) as f64 / 500.0 + 0.5, (r >> 20) as f64 % 6.0);
    let x: Vec<f64> = (0..N_GRID)
        .map(|j| {
            let t = 2.0 * std::f64::consts::PI * j as f64 / N_GRID as f64;
            a * (t + phase).sin() + 0.3 * (2.0 * t).cos() + 1.0
        })
        .collect();
    let y: Vec<f64> = (0..N_GRID as usize)
        .map(|j| 0.5 * x[(j + 3) % N_GRID as usize] + 0.1 * x[j] * x[j])
        .collect();
    (x, y)
}

fn batch_tensor(idx: &[usize], target: bool) -> Tensor {
    let v: Vec<f64> =
        idx.iter().flat_map(|&i| if target { sample(i).1 } else { sample(i).0 }).collect();
    Tensor::from_slice(&v).view([idx.len() as i64, 1, N_GRID]).to_kind(Kind::Float)
}

/// The sample order of an epoch: a Fisher–Yates shuffle seeded by (seed, epoch).
fn epoch_order(epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..N_SAMPLES).collect();
    let mut s = splitmix(DATA_SEED.wrapping_mul(31) ^ epoch);
    for i in (1..N_SAMPLES).rev() {
        s = splitmix(s);
        order.swap(i, (s % (i as u64 + 1)) as usize);
    }
    order
}

/// A tiny operator: a pointwise MLP plus a spectral mixing of the first 4 Fourier modes
/// through a real-stacked complex weight named `weight_ri`.
struct Toy {
    l1: nn::Linear,
    l2: nn::Linear,
    spectral: Tensor,
}

impl Toy {
    fn new(vs: &VarStore) -> Self {
        let root = vs.root();
        let l1 = nn::linear(&root / "l1", 1, 8, Default::default());
        let l2 = nn::linear(&root / "l2", 8, 1, Default::default());
        let spectral =
            (&root / "spec").var("weight_ri", &[4, 2], nn::Init::Randn { mean: 0.0, stdev: 0.3 });
        Self { l1, l2, spectral }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let pointwise =
            self.l2.forward(&self.l1.forward(&x.transpose(1, 2)).gelu("none")).transpose(1, 2);
        let xf = x.fft_rfft(N_GRID, -1, "backward");
        let kept = xf.narrow(-1, 0, 4) * self.spectral.view_as_complex();
        let padded = Tensor::cat(&[kept, xf.narrow(-1, 4, N_GRID / 2 + 1 - 4).zeros_like()], -1);
        pointwise + padded.fft_irfft(N_GRID, -1, "backward")
    }
}

/// Overwrites every variable with values from (seed, name order) only: torch's global
/// generator is shared by the tests running in parallel threads of this binary.
fn seeded_init(vs: &VarStore, seed: u64) {
    let _guard = tch::no_grad_guard();
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let mut s = seed;
    for (_, mut t) in vars {
        let v: Vec<f32> = (0..t.numel())
            .map(|_| {
                s = splitmix(s);
                (((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.6) as f32
            })
            .collect();
        t.copy_(&Tensor::from_slice(&v).view(t.size().as_slice()));
    }
}

struct Trainer {
    vs: VarStore,
    model: Toy,
    opt: AdamW,
    sched: Scheduler,
    x_norm: UnitGaussianNormalizer,
    y_norm: UnitGaussianNormalizer,
    step: u64,
}

const STEPS_PER_EPOCH: u64 = (N_SAMPLES / BATCH) as u64;

impl Trainer {
    /// A fresh run: model seeded with `init_seed`, normalisers fitted on all training data.
    fn fresh(init_seed: u64) -> Self {
        let vs = VarStore::new(Device::Cpu);
        let model = Toy::new(&vs);
        seeded_init(&vs, init_seed);
        let config = AdamWConfig { lr: 2e-2, weight_decay: 1e-3, ..AdamWConfig::default() };
        let opt = AdamW::new(&vs, config).unwrap();
        let sched =
            Scheduler::new(ScheduleConfig::Step { step_size: 2, gamma: 0.5 }, config.lr).unwrap();
        let all: Vec<usize> = (0..N_SAMPLES).collect();
        let x_norm = UnitGaussianNormalizer::fit(&batch_tensor(&all, false), None, 1e-7).unwrap();
        let y_norm = UnitGaussianNormalizer::fit(&batch_tensor(&all, true), None, 1e-7).unwrap();
        Self { vs, model, opt, sched, x_norm, y_norm, step: 0 }
    }

    /// The same run restored from the latest checkpoint of `run` (a different init seed,
    /// so only a working restore can reproduce the weights).
    fn resumed(run: &RunDir) -> Self {
        let mut t = Self::fresh(99);
        let ckpt = run.load_latest().unwrap();
        ckpt.restore(&t.vs, KIND, Some(&mut t.opt)).unwrap();
        t.sched = ckpt.scheduler().unwrap().unwrap();
        t.x_norm = ckpt.normalizers()["x"].clone();
        t.y_norm = ckpt.normalizers()["y"].clone();
        t.step = ckpt.state().meta.step;
        assert_eq!(ckpt.state().meta.seeds["data"], DATA_SEED);
        t
    }

    fn train_until(&mut self, last_step: u64) {
        let loss_fn = LpLoss::l2(Measure::Uniform { lengths: vec![1.0] }, Reduction::Mean).unwrap();
        while self.step < last_step {
            let (epoch, k) = (self.step / STEPS_PER_EPOCH, (self.step % STEPS_PER_EPOCH) as usize);
            let order = epoch_order(epoch);
            let idx = &order[k * BATCH..(k + 1) * BATCH];
            let x = self.x_norm.encode(&batch_tensor(idx, false)).unwrap();
            let y = batch_tensor(idx, true);
            self.opt.zero_grad();
            let pred = self.y_norm.decode(&self.model.forward(&x)).unwrap();
            loss_fn.rel(&pred, &y).unwrap().backward();
            clip_grad_norm(&self.vs, 1.0).unwrap();
            self.opt.step().unwrap();
            self.step += 1;
            if self.step.is_multiple_of(STEPS_PER_EPOCH) {
                let lr = self.sched.step(None).unwrap();
                self.opt.set_lr(lr).unwrap();
            }
        }
    }

    fn save(&self, run: &RunDir) -> PathBuf {
        let meta = TrainingMeta {
            model_kind: KIND.to_string(),
            step: self.step,
            epoch: self.step / STEPS_PER_EPOCH,
            seeds: BTreeMap::from([("data".to_string(), DATA_SEED), ("init".to_string(), 5)]),
            config: serde_json::json!({ "batch": BATCH, "steps": STEPS }),
            extra: serde_json::Value::Null,
        };
        let normalizers = [("x", &self.x_norm), ("y", &self.y_norm)];
        let snap = Snapshot {
            vs: &self.vs,
            optimizer: Some(&self.opt),
            scheduler: Some(&self.sched),
            normalizers: &normalizers,
            meta: &meta,
        };
        run.save(&snap).unwrap()
    }
}

fn weights(vs: &VarStore) -> Vec<(String, Vec<f64>)> {
    let mut v: Vec<(String, Vec<f64>)> = vs
        .variables()
        .into_iter()
        .map(|(n, t)| (n, Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn max_weight_diff(a: &[(String, Vec<f64>)], b: &[(String, Vec<f64>)]) -> f64 {
    assert_eq!(
        a.iter().map(|x| &x.0).collect::<Vec<_>>(),
        b.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| x.1.iter().zip(&y.1).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f64::max)
}

fn temp_run(tag: &str) -> PathBuf {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("lno-models-{tag}-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Second half of [`resume_in_a_new_process_continues_training_exactly`], run only in the
/// child process that test starts (hence ignored in normal runs).
#[test]
#[ignore = "entry point of the child process of resume_in_a_new_process_continues_training_exactly"]
fn resume_child_process() {
    let dir = std::env::var(CHILD_ENV).expect("LNO_RESUME_DIR names the run directory");
    tch::set_num_threads(1);
    let run = RunDir::open(&dir).unwrap();
    let mut t = Trainer::resumed(&run);
    assert_eq!(t.step, STEPS / 2);
    t.train_until(STEPS);
    t.save(&run);
}

#[test]
fn resume_in_a_new_process_continues_training_exactly() {
    // One intra-op thread in both processes so that reductions run in the same order.
    tch::set_num_threads(1);
    let mut straight = Trainer::fresh(5);
    straight.train_until(STEPS);
    let want = weights(&straight.vs);

    let dir = temp_run("resume");
    let run = RunDir::create(&dir).unwrap();
    let mut first = Trainer::fresh(5);
    first.train_until(STEPS / 2);
    first.save(&run);
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "resume_child_process", "--test-threads=1"])
        .env(CHILD_ENV, &dir)
        .status()
        .unwrap();
    assert!(status.success(), "child process failed: {status}");

    let latest = run.latest().unwrap().unwrap();
    assert!(latest.ends_with(RunDir::checkpoint_name(STEPS)), "{latest:?}");
    let vs = VarStore::new(Device::Cpu);
    let _model = Toy::new(&vs);
    let ckpt = run.load_latest().unwrap();
    ckpt.restore(&vs, KIND, None).unwrap();
    let got = weights(&vs);
    let err = max_weight_diff(&got, &want);
    eprintln!("max |resumed - straight| over all weights = {err:e}");
    // The bar; on one CPU thread the two runs are in fact bit-identical.
    assert!(err <= 1e-6, "resumed weights differ from straight training by {err:e}");
    // The run moved: the comparison is not between two untrained models.
    let init = weights(&Trainer::fresh(5).vs);
    assert!(max_weight_diff(&init, &want) > 1e-3);
    // The schedule continued too: 4 epochs of StepLR(2, 0.5) from 2e-2.
    let (_, sched) = ckpt.state().schedule.unwrap();
    assert!((sched.lr - 2e-2 * 0.25).abs() < 1e-15 && sched.epoch == 4, "{sched:?}");
    fs::remove_dir_all(&dir).unwrap();
}

/// A trainer a few steps in, saved once; returns the run and the checkpoint directory.
fn saved_run(tag: &str) -> (PathBuf, RunDir, Trainer, PathBuf) {
    let dir = temp_run(tag);
    let run = RunDir::create(&dir).unwrap();
    let mut t = Trainer::fresh(5);
    t.train_until(2);
    let ckpt = t.save(&run);
    (dir, run, t, ckpt)
}

fn expect_checkpoint_error(
    result: Result<impl std::fmt::Debug, ModelError>,
    file: &str,
    words: &str,
) {
    match result {
        Err(ModelError::Checkpoint { path, reason }) => {
            assert!(path.ends_with(file), "error names {path}, expected {file}");
            assert!(reason.contains(words), "reason `{reason}` lacks `{words}`");
        }
        other => panic!("expected a checkpoint error on {file}, got {other:?}"),
    }
}

#[test]
fn checkpoint_round_trip_restores_weights_optimizer_schedule_and_normalizers() {
    let (dir, run, t, _) = saved_run("roundtrip");
    let mut fresh = Trainer::fresh(77);
    let ckpt = run.load_latest().unwrap();
    ckpt.restore(&fresh.vs, KIND, Some(&mut fresh.opt)).unwrap();
    assert!(max_weight_diff(&weights(&fresh.vs), &weights(&t.vs)) == 0.0);
    let (a, b) = (fresh.opt.state_tensors(), t.opt.state_tensors());
    assert_eq!(a.len(), b.len());
    for ((n1, t1), (n2, t2)) in a.iter().zip(&b) {
        assert_eq!(n1, n2);
        assert!(t1.equal(t2), "{n1}");
    }
    assert_eq!(fresh.opt.config(), t.opt.config());
    assert_eq!(ckpt.scheduler().unwrap().unwrap(), t.sched);
    assert_eq!(ckpt.normalizers()["x"], t.x_norm);
    assert_eq!(ckpt.state().meta.step, 2);
    assert_eq!(ckpt.state().meta.config["batch"], BATCH);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn truncated_or_corrupted_files_are_named_and_the_model_is_untouched() {
    let (dir, _run, _t, ckpt_dir) = saved_run("truncated");
    let model_file = ckpt_dir.join("model.safetensors");
    let bytes = fs::read(&model_file).unwrap();
    fs::write(&model_file, &bytes[..bytes.len() / 2]).unwrap();
    expect_checkpoint_error(Checkpoint::load(&ckpt_dir), "model.safetensors", "truncated");
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x55;
    fs::write(&model_file, &flipped).unwrap();
    expect_checkpoint_error(Checkpoint::load(&ckpt_dir), "model.safetensors", "corrupted");
    fs::write(&model_file, &bytes).unwrap();
    let optim = ckpt_dir.join("optim.safetensors");
    fs::write(&optim, b"").unwrap();
    expect_checkpoint_error(Checkpoint::load(&ckpt_dir), "optim.safetensors", "truncated");
    let state = ckpt_dir.join("state.json");
    let text = fs::read_to_string(&state).unwrap();
    fs::write(&state, &text[..text.len() / 2]).unwrap();
    expect_checkpoint_error(Checkpoint::load(&ckpt_dir), "state.json", "not a valid manifest");
    fs::remove_file(&state).unwrap();
    expect_checkpoint_error(Checkpoint::load(&ckpt_dir), "state.json", "missing");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_checkpoint_of_another_model_is_rejected_without_changing_anything() {
    let (dir, run, _t, _) = saved_run("another");
    let ckpt = run.load_latest().unwrap();
    // Same variable names, another width.
    let vs = VarStore::new(Device::Cpu);
    let root = vs.root();
    let _l1 = nn::linear(&root / "l1", 1, 16, Default::default());
    let _l2 = nn::linear(&root / "l2", 16, 1, Default::default());
    let _s = (&root / "spec").var("weight_ri", &[4, 2], nn::Init::Const(0.0));
    let before = weights(&vs);
    expect_checkpoint_error(ckpt.restore(&vs, KIND, None), "state.json", "variable `l1.bias`");
    assert!(max_weight_diff(&weights(&vs), &before) == 0.0);
    // Same shapes, another kind of model.
    let mut other = Trainer::fresh(8);
    let before = weights(&other.vs);
    let before_opt = other.opt.state_tensors().len();
    expect_checkpoint_error(
        ckpt.restore(&other.vs, "local_no", Some(&mut other.opt)),
        "state.json",
        "another model",
    );
    assert!(max_weight_diff(&weights(&other.vs), &before) == 0.0);
    assert_eq!(other.opt.state_tensors().len(), before_opt);
    // A variable missing from the model.
    let vs = VarStore::new(Device::Cpu);
    let _l1 = nn::linear(&vs.root() / "l1", 1, 8, Default::default());
    expect_checkpoint_error(ckpt.restore(&vs, KIND, None), "state.json", "lacks");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn saving_never_overwrites_and_an_interrupted_save_leaves_the_previous_checkpoint() {
    let (dir, run, mut t, first) = saved_run("atomic");
    let model_bytes = fs::read(first.join("model.safetensors")).unwrap();
    // Train on, then try to save under the same step: refused, files unchanged.
    t.train_until(3);
    t.step = 2;
    let meta = TrainingMeta {
        model_kind: KIND.into(),
        step: 2,
        epoch: 0,
        seeds: BTreeMap::new(),
        config: serde_json::Value::Null,
        extra: serde_json::Value::Null,
    };
    let snap =
        Snapshot { vs: &t.vs, optimizer: None, scheduler: None, normalizers: &[], meta: &meta };
    expect_checkpoint_error(run.save(&snap), "ckpt-000000002", "refusing to overwrite");
    assert_eq!(fs::read(first.join("model.safetensors")).unwrap(), model_bytes);
    // A crash mid-save leaves a temporary directory and possibly a checkpoint directory
    // without its manifest; LATEST still names the complete one, which still loads.
    let tmp = dir.join(".tmp-ckpt-000000003-1-1");
    fs::create_dir(&tmp).unwrap();
    fs::write(tmp.join("model.safetensors"), b"partial").unwrap();
    let partial = dir.join("ckpt-000000004");
    fs::create_dir(&partial).unwrap();
    fs::copy(first.join("model.safetensors"), partial.join("model.safetensors")).unwrap();
    assert_eq!(run.latest().unwrap().unwrap(), first);
    assert_eq!(run.load_latest().unwrap().state().meta.step, 2);
    expect_checkpoint_error(Checkpoint::load(&partial), "state.json", "incomplete");
    // LATEST naming something else is reported, not followed.
    fs::write(dir.join("LATEST"), "../elsewhere\n").unwrap();
    expect_checkpoint_error(run.latest(), "LATEST", "not a checkpoint directory");
    let empty = RunDir::create(temp_run("empty")).unwrap();
    assert!(empty.latest().unwrap().is_none());
    let name = empty.path().file_name().unwrap().to_string_lossy().to_string();
    expect_checkpoint_error(empty.load_latest(), &name, "nothing saved yet");
    fs::remove_dir_all(empty.path()).unwrap();
    fs::remove_dir_all(&dir).unwrap();
}
