//! `lno train` over NCCL on a real GPU (feature `nccl`; ignored by default because it needs a
//! CUDA device, its driver and `libnccl.so` on the loader path). Run on a GPU machine with
//! `cargo test -p lno-experiments --features nccl --test nccl -- --ignored`.
//!
//! One process with `LNO_DIST_BACKEND=nccl` is a 1-rank NCCL world that still runs every
//! collective (the initial broadcast and one gradient all-reduce per step, through the device),
//! so its weights must match a plain single-process CUDA run of the same experiment.

#![cfg(feature = "nccl")]

mod common;

use std::path::Path;
use std::process::Command;

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

#[test]
#[ignore = "needs a CUDA GPU, its driver and libnccl.so"]
fn a_one_gpu_nccl_world_trains_like_a_single_cuda_process_to_1e_5_after_20_steps() {
    assert!(tch::Cuda::device_count() >= 1, "this test needs a CUDA device");
    let (root, experiment) = common::setup_tiny_distributed("nccl-train");

    let single = common::run_ok(&mut lno_train(&root, &experiment, "single", "single"));
    assert!(!single.contains("backend nccl"), "{single}");
    let nccl = common::run_ok(&mut lno_train(&root, &experiment, "nccl", "nccl"));
    assert!(
        nccl.contains("rank 0 of 1") && nccl.contains("backend nccl, device cuda:0"),
        "no NCCL banner:\n{nccl}"
    );

    let (a, b) = (root.join("single/tiny-quick/local"), root.join("nccl/tiny-quick/local"));
    let last = |run: &Path| common::metrics(run).pop().expect("an epoch line");
    let (ma, mb) = (last(&a), last(&b));
    assert_eq!((ma["step"].as_u64(), mb["step"].as_u64()), (Some(20), Some(20)));
    let (wa, wb) = (common::latest_weights(&a), common::latest_weights(&b));
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
