//! `eval` end to end on tiny trained runs: every resolution gets a finite error (or, for a
//! resolution-bound model, a reason), time-step runs get rollout errors, the plots are PNGs of
//! the documented sizes, and a missing run or a bad `--resolutions` is an error that says what
//! to do.

mod common;

use std::process::Command;

use lno_experiments::eval::{LoadedModel, evaluate_run};
use lno_experiments::plot::{LINE_PLOT_PX, heatmap_size};
use lno_solvers::writer::load_dataset;

const DARCY_TRAIN: &str = r#"
[quick.task]
kind = "operator"
input = ["a"]
output = ["u"]
domain_length = [1.0, 1.0]

[quick.train]
models = ["fno", "unet"]
epochs = 1
batch_size = 4
optimizer = { lr = 1e-3, weight_decay = 0.0 }
schedule = { kind = "constant" }
loss = "l2"
seed = 3

[quick.models.fno]
kind = "local-no"
n_modes = [4, 4]
hidden_channels = 4
n_layers = 2
domain_length = [1.0, 1.0]
diff_layers = false
disco_layers = false
padding = "zeros"

[quick.models.unet]
kind = "unet"
width = 4
depth = 2
"#;

/// Tiny Navier–Stokes: 32² solver, 16² data, 3 snapshots after the initial state.
const NS: &str = r#"
[quick.data]
train = { samples = 3, seed = 0 }
test = { samples = 2, seed = 1 }
shard_size = 4

[quick.data.generator.navier-stokes]
flow = { kind = "fno_benchmark", nu = 1e-3 }
n = 32
out_size = 16
t_spinup = 0.0
snapshot_dt = 0.5
n_snapshots = 3
time_step = { cfl = 1.0 }

[quick.task]
kind = "time-step"
fields = ["u"]
initial = "a"
domain_length = [1.0, 1.0]

[quick.train]
models = ["fno"]
epochs = 1
batch_size = 4
optimizer = { lr = 1e-3, weight_decay = 0.0 }
schedule = { kind = "constant" }
loss = "l2"
seed = 0

[quick.models.fno]
kind = "local-no"
n_modes = [4, 4]
hidden_channels = 4
n_layers = 2
domain_length = [1.0, 1.0]
positional_embedding = false
diff_layers = false
disco_layers = false
"#;

#[test]
fn eval_of_a_tiny_darcy_run_reports_every_resolution_and_a_reason_where_the_unet_cannot_run() {
    let root = common::temp_dir("eval-darcy");
    let run =
        common::trained_run(&root, "tiny", &(common::tiny_darcy_data(16, 8, 4, 8) + DARCY_TRAIN));

    // `train` already drew truth / prediction / |error| for each model.
    for model in ["fno", "unet"] {
        let (size, colours) =
            common::png_size_and_colours(&run.join(format!("plots/sample-{model}.png")));
        assert_eq!(size, heatmap_size());
        assert!(colours > 10, "{model}: a heatmap has many colours, got {colours}");
    }

    // 10 is not divisible by 2^depth = 4: the U-Net cannot run there, the FNO can.
    let report = evaluate_run(&run, &common::eval_options(&root, Some(&[10, 32]))).unwrap();
    assert_eq!(report.resolutions, [10, 16, 32]);
    assert_eq!(report.training_resolution, 16);
    let [fno, unet] = &report.models[..] else { panic!("{:?}", report.models) };
    assert_eq!((fno.name.as_str(), unet.name.as_str()), ("fno", "unet"));
    for e in &fno.errors {
        assert!(e.rel_l2.is_some_and(|v| v.is_finite() && v > 0.0), "fno: {e:?}");
    }
    assert!(unet.errors[0].rel_l2.is_none(), "{:?}", unet.errors[0]);
    assert!(unet.errors[0].error.as_deref().unwrap_or("").contains("divisible"), "{unet:?}");
    assert!(unet.errors[1..].iter().all(|e| e.rel_l2.is_some_and(f64::is_finite)), "{unet:?}");
    assert!(fno.rollout.is_none(), "an operator task has no rollout");

    let md = std::fs::read_to_string(run.join("eval.md")).unwrap();
    for needle in ["| 10×10 |", "| 16×16 (training) |", "| 32×32 |", "| fno |", "n/a (1)"] {
        assert!(md.contains(needle), "eval.md lacks `{needle}`:\n{md}");
    }
    assert!(!md.contains("Rollout"), "{md}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("eval.json")).unwrap()).unwrap();
    assert_eq!(json["resolutions"], serde_json::json!([10, 16, 32]));
    let (size, _) = common::png_size_and_colours(&run.join("plots/error-vs-resolution.png"));
    assert_eq!(size, LINE_PLOT_PX);
    // The other resolutions were generated with the test seed and are kept for later runs.
    for n in [10, 32] {
        assert!(root.join(format!("data/tiny/quick/test-{n}/manifest.json")).is_file());
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn eval_of_a_tiny_navier_stokes_run_adds_the_rollout_error_of_every_step() {
    let root = common::temp_dir("eval-ns");
    let run = common::trained_run(&root, "tiny_ns", NS);
    let report = evaluate_run(&run, &common::eval_options(&root, Some(&[8]))).unwrap();
    assert_eq!(report.resolutions, [8, 16]);
    let fno = &report.models[0];
    assert!(fno.errors.iter().all(|e| e.rel_l2.is_some_and(f64::is_finite)), "{fno:?}");
    // Initial state + 3 snapshots: 3 steps, fewer than the cap of 10.
    let rollout = fno.rollout.as_ref().unwrap();
    assert_eq!(rollout.len(), 3);
    assert!(rollout.iter().all(|v| v.is_finite() && *v > 0.0), "{rollout:?}");
    assert_eq!(report.rollout_trajectories, Some(2));
    // Step 1 of the rollout is the one-step error of the first pair of each trajectory.
    let model = LoadedModel::load(&run.join("fno"), tch::Device::Cpu).unwrap();
    let dir = root.join("data/tiny-ns/quick/test");
    let states = model.task.trajectories(&load_dataset(&dir).unwrap(), &dir).unwrap();
    let first = model.rel_l2(&states.select(1, 0), &states.select(1, 1), tch::Device::Cpu).unwrap();
    // Same model, same pairs, same f32 arithmetic in batches of the same size.
    assert!((first - rollout[0]).abs() <= 1e-12 * first, "{first} vs {}", rollout[0]);
    let md = std::fs::read_to_string(run.join("eval.md")).unwrap();
    assert!(md.contains("## Rollout at 16×16") && md.contains("k = 3"), "{md}");
    let (size, colours) = common::png_size_and_colours(&run.join("plots/rollout.png"));
    assert_eq!(size, LINE_PLOT_PX);
    assert!(colours >= 3, "white, grey and at least the line colour, got {colours}");

    // An output size the generator rejects (odd) is named as the --resolutions value.
    let err =
        format!("{:#}", evaluate_run(&run, &common::eval_options(&root, Some(&[15]))).unwrap_err());
    assert!(err.contains("--resolutions 15") && err.contains("out_size"), "{err}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_missing_run_directory_names_the_train_command() {
    let root = common::temp_dir("eval-missing");
    let err =
        evaluate_run(&root.join("runs/darcy-full"), &common::eval_options(&root, Some(&[32])))
            .unwrap_err()
            .to_string();
    assert!(err.contains("cargo xtask train darcy --full"), "{err}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_eval_command_names_a_bad_resolutions_value_and_a_missing_run() {
    let root = common::temp_dir("eval-cli");
    let lno = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_lno")).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let run = root.join("runs/navier-stokes-quick");
    let run = run.to_str().unwrap();
    let err = lno(&["eval", run, "--resolutions", "32,6x4"]);
    assert!(err.contains("--resolutions") && err.contains("`6x4`"), "{err}");
    let err = lno(&["eval", run]);
    assert!(err.contains("cargo xtask train navier-stokes"), "{err}");
    std::fs::remove_dir_all(&root).unwrap();
}
