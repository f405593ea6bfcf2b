//! Data-parallel training under `mpirun` (feature `mpi`; `cargo xtask test` installs Open MPI
//! when missing): 2 ranks reproduce single-process training with the same global batch, and a
//! killed rank ends the job quickly while `--resume` continues from the last checkpoint.

#![cfg(feature = "mpi")]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `lno train <experiment>` with the test's data and `runs` folder (no launcher).
fn lno_train(root: &Path, experiment: &Path, runs: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lno"));
    cmd.arg("train")
        .arg(experiment)
        .arg("--data")
        .arg(root.join("data"))
        .arg("--runs")
        .arg(root.join(runs))
        .arg("--no-progress")
        .env_remove("OMPI_COMM_WORLD_SIZE")
        .env_remove("PMI_SIZE");
    cmd
}

/// `mpirun -np <ranks> lno train …`; `--oversubscribe` because CI machines may have fewer
/// cores than ranks, and Open MPI refuses root without the two variables.
fn mpirun_train(ranks: usize, root: &Path, experiment: &Path, runs: &str) -> Command {
    let inner = lno_train(root, experiment, runs);
    let mut cmd = Command::new("mpirun");
    cmd.args(["-np", &ranks.to_string(), "--oversubscribe"])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .arg(inner.get_program())
        .args(inner.get_args());
    cmd
}

#[test]
fn two_mpi_ranks_match_single_process_training_to_1e_5_after_20_steps() {
    let (root, experiment) = common::setup_tiny_distributed("mpi-equal");
    common::run_ok(&mut lno_train(&root, &experiment, "single"));
    let stderr = common::run_ok(&mut mpirun_train(2, &root, &experiment, "mpi"));
    assert!(stderr.contains("rank 1 of 2"), "rank 1 did not report:\n{stderr}");

    let (single, mpi) = (root.join("single/tiny-quick/local"), root.join("mpi/tiny-quick/local"));
    let (m1, m2) = (common::metrics(&single), common::metrics(&mpi));
    // Only rank 0 writes: one line per epoch, not one per rank.
    assert_eq!(m2.len(), 5, "{m2:?}");
    assert_eq!((m1[4]["step"].as_u64(), m2[4]["step"].as_u64()), (Some(20), Some(20)));
    let (w1, mut w2) = (common::latest_weights(&single), common::latest_weights(&mpi));
    assert_eq!(w1.len(), w2.len());
    w2.sort_by(|a, b| a.0.cmp(&b.0));
    let mut worst = 0.0f64;
    for (name, a) in &w1 {
        let b = &w2[w2.binary_search_by(|p| p.0.cmp(name)).unwrap()].1;
        assert_eq!(a.size(), b.size(), "{name}");
        let diff = (a - b).abs().max().double_value(&[]);
        worst = worst.max(diff);
    }
    // Only the summation order of the gradient differs (two half-batch sums + an f32
    // all-reduce vs one batch sum); 20 AdamW steps keep that far below 1e-5.
    assert!(worst <= 1e-5, "largest weight difference {worst:e}");
    eprintln!("2 ranks vs 1 process after 20 steps: largest weight difference {worst:e}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn killing_one_rank_ends_the_job_quickly_and_resume_continues_at_another_world_size() {
    let (root, experiment) = common::setup_tiny_distributed("mpi-kill");
    let run = root.join("mpi/tiny-quick/local");
    let mut cmd = mpirun_train(2, &root, &experiment, "mpi");
    // Long enough that the kill lands mid-training on any machine.
    // (An idle machine ran 400 epochs of this tiny set in 10 s, before the kill could land.)
    cmd.args(["--epochs", "1000000"]).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Wait for rank 1's pid and a first checkpoint.
    let mut pid = None;
    let mut log = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    while pid.is_none() || !run.join("LATEST").exists() {
        assert!(Instant::now() < deadline, "no rank 1 or checkpoint in time:\n{}", log.join("\n"));
        if let Some(status) = child.try_wait().unwrap() {
            log.extend(rx.try_iter());
            panic!("the job ended ({status}) before the kill:\n{}", log.join("\n"));
        }
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            if let Some(rest) = line.split("1 of 2 (pid ").nth(1) {
                pid = rest.split(')').next().map(str::to_string);
            }
            log.push(line);
        }
    }
    let pid = pid.unwrap();
    let killed_at = Instant::now();
    assert!(Command::new("kill").args(["-9", &pid]).status().unwrap().success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        // Fails fast: mpirun notices the dead rank and ends rank 0 at once.
        assert!(killed_at.elapsed() < Duration::from_secs(60), "the job did not end after a kill");
        std::thread::sleep(Duration::from_millis(100));
    };
    let waited = killed_at.elapsed();
    reader.join().unwrap();
    log.extend(rx.try_iter());
    let log = log.join("\n");
    assert!(!status.success(), "the job reported success after losing a rank:\n{log}");
    assert!(log.contains("signal 9"), "mpirun did not name the killed rank:\n{log}");
    eprintln!("job ended {:.1} s after the kill", waited.as_secs_f64());

    // Resume in a single process (world size 1 instead of 2) from the newest checkpoint.
    let done = common::metrics(&run).last().unwrap()["epoch"].as_u64().unwrap();
    let target = done + 2;
    let mut resume = lno_train(&root, &experiment, "mpi");
    resume.args(["--resume", "--epochs", &target.to_string()]);
    let stderr = common::run_ok(&mut resume);
    assert!(stderr.contains("resuming after epoch"), "{stderr}");
    let last = common::metrics(&run).last().unwrap().clone();
    assert_eq!(last["epoch"].as_u64(), Some(target));
    assert_eq!(last["step"].as_u64(), Some(4 * target), "4 steps per epoch, none lost or repeated");
    std::fs::remove_dir_all(&root).unwrap();
}
