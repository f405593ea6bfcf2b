//! `eval` of sphere and point-cloud runs end to end on tiny trained runs: the error at the
//! training grid or cloud is the test error training recorded for the same checkpoint (same
//! quadrature weights, same standardisation), the columns and the rollout that do not apply say
//! why, and the pictures are written at the documented sizes.

mod common;

use std::path::Path;

use lno_experiments::eval::evaluate_run;
use lno_experiments::plot::{cloud_heatmap_size, latlon_heatmap_size};
use lno_solvers::writer::load_dataset;

/// The test error training recorded for the newest checkpoint (the last line of
/// `metrics.jsonl`, written with that checkpoint).
fn recorded_test_l2(model_dir: &Path) -> f64 {
    common::metrics(model_dir).last().unwrap()["test_l2"].as_f64().unwrap()
}

/// Same weights (f32, saved and restored exactly), the same prepared test pairs and the same
/// f32 forward passes in batches of the same size, summed in the same order: the two numbers
/// agree up to round-off, and in practice bit for bit.
fn assert_same_error(eval: f64, trained: f64, what: &str) {
    assert!(eval.is_finite() && eval > 0.0, "{what}: {eval}");
    assert!((eval - trained).abs() <= 1e-10 * trained, "{what}: eval {eval} vs train {trained}");
}

#[test]
fn eval_of_a_tiny_sphere_run_reproduces_the_trained_error_and_says_why_other_grids_and_rollout_are_na()
 {
    let root = common::temp_dir("eval-swe");
    let run = common::trained_run(&root, "tiny_swe", common::TINY_SWE);
    // `train` already drew each model's map (the hook shared with `eval`).
    for model in ["sfno", "local-sfno"] {
        let (size, colours) =
            common::png_size_and_colours(&run.join(format!("plots/sample-{model}.png")));
        assert_eq!(size, latlon_heatmap_size());
        assert!(colours > 10, "{model}: a heatmap has many colours, got {colours}");
    }

    let report = evaluate_run(&run, &common::eval_options(&root, Some(&[8, 32]))).unwrap();
    assert_eq!(report.domain, "sphere");
    assert_eq!(report.resolutions, [8, 16, 32]);
    assert_eq!(report.labels, ["8×16", "16×32", "32×64"]);
    assert_eq!((report.training_resolution, report.test_pairs), (16, 3));
    assert_eq!(report.models.len(), 2);
    for m in &report.models {
        let trained = recorded_test_l2(&run.join(&m.name));
        assert_same_error(m.errors[1].rel_l2.unwrap(), trained, &m.name);
        // The models are built for the 16×32 grid: the other columns carry the model's refusal.
        for (e, label) in [(&m.errors[0], "8×16"), (&m.errors[2], "32×64")] {
            let reason = e.error.as_deref().unwrap_or("");
            assert!(e.rel_l2.is_none(), "{}: {e:?}", m.name);
            assert!(reason.contains(&format!("does not run on the {label} grid")), "{reason}");
            assert!(reason.contains("img_size"), "{reason}");
        }
        assert!(m.rollout.is_none(), "one pair per sample: no rollout");
        assert!(m.sample_plot.is_some(), "{}", m.name);
    }
    assert!(report.rollout_plot.is_none() && report.rollout_trajectories.is_none());
    // No data were generated for the grids the models cannot run on.
    for n in [8, 32] {
        assert!(!root.join(format!("data/tiny-swe/quick/test-{n}")).exists());
    }

    let md = std::fs::read_to_string(run.join("eval.md")).unwrap();
    for needle in [
        "| 8×16 | 16×32 (training) | 32×64 |",
        "| sfno |",
        "| local-sfno |",
        "n/a (1)",
        "n/a (4)",
        "quadrature weights",
        "standardised",
        "Rollout: n/a",
        "img_size",
        "plots/sample-local-sfno.png",
        "equirectangular",
    ] {
        assert!(md.contains(needle), "eval.md lacks `{needle}`:\n{md}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("eval.json")).unwrap()).unwrap();
    assert_eq!(json["domain"], "sphere");
    assert_eq!(json["resolutions"], serde_json::json!([8, 16, 32]));
    assert!(json["models"][0]["errors"][1]["rel_l2"].as_f64().is_some());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn eval_of_a_tiny_cloud_run_reproduces_the_trained_error_on_its_cloud_and_says_why_resolutions_and_rollout_are_na()
 {
    let root = common::temp_dir("eval-cyl");
    let run = common::trained_run(&root, "tiny_cyl", common::TINY_CYLINDER);
    let test_dir = root.join("data/tiny-cyl/quick/test");
    let data = load_dataset(&test_dir).unwrap();
    let points = data.field("points").unwrap();
    let n_points = points.shape[1];

    // Grid sizes do not apply to a cloud: the request is ignored, and eval.md says so.
    let report = evaluate_run(&run, &common::eval_options(&root, Some(&[32]))).unwrap();
    assert_eq!(report.domain, "cloud");
    assert_eq!(report.resolutions, [n_points]);
    assert_eq!(report.labels, [format!("{n_points} points")]);
    assert_eq!(report.test_pairs, 2);
    for m in &report.models {
        assert_eq!(m.errors.len(), 1);
        assert_same_error(
            m.errors[0].rel_l2.unwrap(),
            recorded_test_l2(&run.join(&m.name)),
            &m.name,
        );
        assert!(m.rollout.is_none(), "one pair per sample: no rollout");
    }
    assert_eq!(
        report.models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["fno-latent", "local-no"]
    );

    // Sample 0's cloud sets the picture's aspect ratio.
    let xy: Vec<f64> = points.data[..2 * n_points].iter().map(|&v| f64::from(v)).collect();
    let extent = |k: usize| {
        let v = xy.iter().skip(k).step_by(2);
        v.clone().fold(f64::NEG_INFINITY, |a, &b| a.max(b))
            - v.fold(f64::INFINITY, |a, &b| a.min(b))
    };
    for m in ["fno-latent", "local-no"] {
        let (size, colours) =
            common::png_size_and_colours(&run.join(format!("plots/sample-{m}.png")));
        assert_eq!(size, cloud_heatmap_size((extent(0), extent(1))), "{m}");
        assert!(colours > 10, "{m}: coloured points on grey, got {colours} colours");
    }

    let md = std::fs::read_to_string(run.join("eval.md")).unwrap();
    for needle in [
        &format!("| {n_points} points (training) |"),
        "| fno-latent |",
        "Other resolutions: n/a",
        "`--resolutions` was ignored",
        "Rollout: n/a",
        "quadrature weights",
        "plots/sample-fno-latent.png",
        "channel `u`",
    ] {
        assert!(md.contains(needle), "eval.md lacks `{needle}`:\n{md}");
    }
    assert!(!md.contains("n/a (1)"), "no failed cell on the training cloud:\n{md}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("eval.json")).unwrap()).unwrap();
    assert_eq!(json["domain"], "cloud");
    assert_eq!(json["notes"].as_array().unwrap().len(), 3);
    std::fs::remove_dir_all(&root).unwrap();
}
