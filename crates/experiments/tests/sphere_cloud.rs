//! The shallow-water (sphere) and cylinder (point cloud) experiments end to end on tiny
//! configurations: `gen-data` then `train` writes the table, checkpoints and metrics; the
//! shipped files' model sections resolve; and config errors name the key at fault.

mod common;

use std::path::{Path, PathBuf};

use lno_experiments::train::{TrainOptions, train};
use lno_experiments::{ExperimentFile, Profile, generate};

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

/// Writes `text` as `<root>/<name>.toml`, generates its data, trains, and checks the outputs.
fn generate_and_train(tag: &str, name: &str, text: &str, models: [&str; 2]) {
    let root = common::temp_dir(tag);
    let path = root.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    let file = ExperimentFile::read(&path).unwrap();
    generate(&file, Profile::Quick, &root.join("data"), false).unwrap();
    let results = train(&file, &common::train_options(&root)).unwrap();
    assert_eq!(results.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), models);
    for r in &results {
        assert!(r.test_l2.is_finite() && r.test_l2 > 0.0, "{r:?}");
        // Neither the sphere grid nor the cloud has a "every other point" version the model
        // runs on, so the half-resolution column must be empty rather than a wrong number.
        assert_eq!(r.test_l2_half, None, "{r:?}");
    }
    // The local variant carries the extra DISCO (and, on the cloud, FD) weights.
    assert!(results[1].parameters > results[0].parameters, "{results:?}");
    let group = root.join(format!("runs/{}-quick", name.replace('_', "-")));
    let table = std::fs::read_to_string(group.join("results.md")).unwrap();
    for m in models {
        assert!(table.contains(&format!("| {m} |")), "{table}");
        let metrics = std::fs::read_to_string(group.join(m).join("metrics.jsonl")).unwrap();
        assert_eq!(metrics.lines().count(), 2, "one metrics line per epoch: {metrics}");
    }
    assert!(table.contains("n/a"), "{table}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_tiny_shallow_water_experiment_generates_trains_sfno_and_local_sfno_and_writes_its_table() {
    generate_and_train("sc-swe", "tiny_swe", common::TINY_SWE, ["sfno", "local-sfno"]);
}

#[test]
fn a_tiny_cylinder_experiment_generates_trains_both_cloud_models_and_writes_its_table() {
    generate_and_train("sc-cyl", "tiny_cyl", common::TINY_CYLINDER, ["fno-latent", "local-no"]);
}

#[test]
fn the_shipped_sphere_and_cloud_experiments_resolve_their_models_before_asking_for_data() {
    let root = common::temp_dir("sc-shipped");
    for name in ["shallow-water", "cylinder"] {
        let file = ExperimentFile::find(name, &configs_dir()).unwrap();
        for profile in [Profile::Quick, Profile::Full] {
            let opts = TrainOptions { profile, ..common::train_options(&root) };
            // Models are parsed first; with no data the only error left is the missing data.
            let err = format!("{:#}", train(&file, &opts).unwrap_err());
            assert!(err.contains(&format!("cargo xtask gen-data {name}")), "{name}: {err}");
        }
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn sphere_and_cloud_config_errors_name_the_key() {
    let root = common::temp_dir("sc-errors");
    let cases = [
        (
            common::TINY_SWE.replace("nlon = 32\n", "nlon = 32\nnlonn = 3\n"),
            "quick.data.generator.shallow-water.nlonn",
        ),
        (
            common::TINY_SWE.replace(
                "embed_dim = 4\nnum_layers = 2\nscale_factor = 2\n\n[quick.models.local",
                "embed_dim = 4\nnum_layer = 2\nscale_factor = 2\n\n[quick.models.local",
            ),
            "num_layer",
        ),
        (
            common::TINY_SWE.replace("shape = [16, 32]", "shape = [16, 32]\nshapes = 1"),
            "quick.task.shapes",
        ),
        (common::TINY_CYLINDER.replace("scalars = [", "scalar = ["), "quick.task.scalar"),
        (
            common::TINY_CYLINDER.replace(
                "processor = \"fno\"\n",
                "processor = \"fno\"\nlocal_cutoff_cells = 2.0\n",
            ),
            "local_cutoff_cells",
        ),
        (
            common::TINY_CYLINDER.replace("reynolds = [20.0, 40.0]", "reynolds = [40.0, 20.0]"),
            "reynolds",
        ),
    ];
    for (k, (text, expected)) in cases.iter().enumerate() {
        let path = root.join(format!("bad_{k}.toml"));
        std::fs::write(&path, text).unwrap();
        let file = ExperimentFile::read(&path).unwrap();
        // Generation checks the data section; training (no data needed to fail) the rest.
        let gen_err = generate(&file, Profile::Quick, &root.join("data"), false).err();
        let msg = match gen_err {
            Some(e) => format!("{e:#}"),
            None => format!("{:#}", train(&file, &common::train_options(&root)).unwrap_err()),
        };
        assert!(msg.contains(expected), "case {k}: `{msg}` does not name {expected}");
    }
    // H1 needs a periodic grid: asking for it on the cloud is an error naming train.loss.
    let path = root.join("h1.toml");
    std::fs::write(&path, common::TINY_CYLINDER.replace("loss = \"l2\"", "loss = \"h1\"")).unwrap();
    let file = ExperimentFile::read(&path).unwrap();
    generate(&file, Profile::Quick, &root.join("data"), false).unwrap();
    let msg = format!("{:#}", train(&file, &common::train_options(&root)).unwrap_err());
    assert!(msg.contains("train.loss"), "{msg}");
    std::fs::remove_dir_all(&root).unwrap();
}
