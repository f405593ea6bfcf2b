//! `lno train` over NCCL on a real GPU (feature `nccl`; ignored by default because it needs a
//! CUDA device, its driver and `libnccl.so` on the loader path). Run on a GPU machine with
//! `cargo test -p lno-experiments --features nccl --test nccl -- --ignored`.
//!
//! One process with `LNO_DIST_BACKEND=nccl` is a 1-rank NCCL world that still runs every
//! collective (the initial broadcast and one gradient all-reduce per step, through the device),
//! so its weights must match a plain single-process CUDA run of the same experiment.

#![cfg(feature = "nccl")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use lno_experiments::{ExperimentFile, Profile, generate};
use tch::Tensor;

/// 16 training pairs in global batches of 4: 4 steps per epoch, 20 steps in 5 epochs.
fn tiny() -> String {
    common::tiny_darcy_data(16, 16, 4, 8)
        + r#"
[quick.task]
kind = "operator"
input = ["a"]
output = ["u"]
domain_length = [1.0, 1.0]

[quick.train]
models = ["local"]
epochs = 5
batch_size = 4
optimizer = { lr = 1e-3, weight_decay = 1e-4 }
schedule = { kind = "cosine", t_max = 5, eta_min = 0.0 }
loss = "l2"
seed = 3

[quick.models.local]
kind = "local-no"
n_modes = [4, 4]
hidden_channels = 4
n_layers = 2
domain_length = [1.0, 1.0]
radius_cutoff = 0.15
padding = "zeros"
"#
}

/// `lno train <experiment> --device cuda` with the test's data, `runs` folder and
/// `LNO_DIST_BACKEND` (no launcher).
fn lno_train(root: &Path, experiment: &Path, runs: &str, backend: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lno"));
    cmd.arg("train")
        .arg(experiment)
        .args(["--device", "cuda", "--no-progress"])
        .arg("--data")
        .arg(root.join("data"))
        .arg("--runs")
        .arg(root.join(runs))
        .env("LNO_DIST_BACKEND", backend)
        // The same CPU threads in both runs (the NCCL banner sets libtorch's from this).
        .env("OMP_NUM_THREADS", "1")
        .env_remove("OMPI_COMM_WORLD_SIZE")
        .env_remove("PMI_SIZE");
    cmd
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed:\n{stderr}");
    stderr
}

/// The model variables of the newest checkpoint of `run`, sorted by name.
fn latest_weights(run: &Path) -> Vec<(String, Tensor)> {
    let latest = std::fs::read_to_string(run.join("LATEST")).unwrap();
    let mut w =
        Tensor::read_safetensors(run.join(latest.trim()).join("model.safetensors")).unwrap();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

fn last_metrics(run: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

#[test]
#[ignore = "needs a CUDA GPU, its driver and libnccl.so"]
fn a_one_gpu_nccl_world_trains_like_a_single_cuda_process_to_1e_5_after_20_steps() {
    assert!(tch::Cuda::device_count() >= 1, "this test needs a CUDA device");
    let root: PathBuf = common::temp_dir("nccl-train");
    let experiment = root.join("tiny.toml");
    std::fs::write(&experiment, tiny()).unwrap();
    let file = ExperimentFile::read(&experiment).unwrap();
    generate(&file, Profile::Quick, &root.join("data"), false).unwrap();

    let single = run_ok(&mut lno_train(&root, &experiment, "single", "single"));
    assert!(!single.contains("backend nccl"), "{single}");
    let nccl = run_ok(&mut lno_train(&root, &experiment, "nccl", "nccl"));
    assert!(
        nccl.contains("rank 0 of 1") && nccl.contains("backend nccl, device cuda:0"),
        "no NCCL banner:\n{nccl}"
    );

    let (a, b) = (root.join("single/tiny-quick/local"), root.join("nccl/tiny-quick/local"));
    let (ma, mb) = (last_metrics(&a), last_metrics(&b));
    assert_eq!((ma["step"].as_u64(), mb["step"].as_u64()), (Some(20), Some(20)));
    let (wa, wb) = (latest_weights(&a), latest_weights(&b));
    assert_eq!(wa.len(), wb.len());
    let mut worst = 0.0f64;
    let mut moved = 0.0f64;
    for ((na, ta), (nb, tb)) in wa.iter().zip(&wb) {
        assert_eq!((na, ta.size()), (nb, tb.size()));
        assert!(tb.isfinite().all().int64_value(&[]) == 1, "{nb} is not finite");
        worst = worst.max((ta - tb).abs().max().double_value(&[]));
        moved = moved.max(tb.abs().max().double_value(&[]));
    }
    // A sum over one rank is exact, so only CUDA's own run-to-run differences remain; a lost,
    // zeroed or doubled gradient would move the weights by far more over 20 AdamW steps.
    assert!(moved > 0.0, "all weights are zero");
    assert!(worst <= 1e-5, "largest weight difference {worst:e}");
    let (la, lb) = (ma["train_loss"].as_f64().unwrap(), mb["train_loss"].as_f64().unwrap());
    assert!((la - lb).abs() <= 1e-5 * la.abs().max(1.0), "train loss {la} vs {lb}");
    eprintln!("NCCL (1 GPU) vs single CUDA process after 20 steps: largest difference {worst:e}");
    std::fs::remove_dir_all(&root).unwrap();
}
