//! `train` end to end on a tiny Darcy experiment: the table, checkpoints and metrics appear,
//! `--resume` continues where the run stopped, and missing data or a bad model key are errors
//! that say what to do.

mod common;

use std::path::Path;

use lno_experiments::train::{TrainOptions, train};
use lno_experiments::{ExperimentFile, Profile, generate};

fn tiny() -> String {
    common::tiny_darcy_data(16, 8, 4, 8) + TRAIN
}

const TRAIN: &str = r#"
[quick.task]
kind = "operator"
input = ["a"]
output = ["u"]
domain_length = [1.0, 1.0]

[quick.train]
models = ["fno", "local"]
epochs = 2
batch_size = 4
optimizer = { lr = 1e-3, weight_decay = 0.0 }
schedule = { kind = "cosine", t_max = 4, eta_min = 0.0 }
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

[quick.models.local]
kind = "local-no"
n_modes = [4, 4]
hidden_channels = 4
n_layers = 2
domain_length = [1.0, 1.0]
radius_cutoff = 0.15
padding = "zeros"
"#;

fn options(root: &Path, resume: bool, epochs: Option<u64>) -> TrainOptions {
    TrainOptions { resume, epochs, ..common::train_options(root) }
}

fn metric_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_tiny_experiment_trains_every_model_writes_its_table_and_resumes() {
    let root = common::temp_dir("train-tiny");
    let path = root.join("tiny.toml");
    std::fs::write(&path, tiny()).unwrap();
    let file = ExperimentFile::read(&path).unwrap();

    // No data yet: the error says which command makes it.
    let err = train(&file, &options(&root, false, None)).unwrap_err().to_string();
    assert!(err.contains("cargo xtask gen-data tiny"), "{err}");

    generate(&file, Profile::Quick, &root.join("data"), false).unwrap();
    let results = train(&file, &options(&root, false, None)).unwrap();
    assert_eq!(results.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["fno", "local"]);
    for r in &results {
        assert!(r.test_l2.is_finite() && r.test_l2 > 0.0, "{r:?}");
        assert!(r.test_l2_half.is_some_and(f64::is_finite), "{r:?}");
    }
    // The local model has the extra branch weights.
    assert!(results[1].parameters > results[0].parameters);
    let group = root.join("runs/tiny-quick");
    let table = std::fs::read_to_string(group.join("results.md")).unwrap();
    assert!(table.contains("| fno |") && table.contains("| local |"), "{table}");
    let metrics = metric_lines(&group.join("fno/metrics.jsonl"));
    assert_eq!(metrics.len(), 2);
    assert_eq!(metrics[1]["epoch"], 2);

    // Resume to 4 epochs: two more lines, continuing the epoch and step counts.
    train(&file, &options(&root, true, Some(4))).unwrap();
    let metrics = metric_lines(&group.join("fno/metrics.jsonl"));
    assert_eq!(
        metrics.iter().map(|m| m["epoch"].as_u64().unwrap()).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(metrics[3]["step"], 8, "2 batches per epoch for 4 epochs");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_misspelled_model_key_is_named_before_any_training() {
    let root = common::temp_dir("train-typo");
    let path = root.join("typo.toml");
    std::fs::write(
        &path,
        tiny().replace("n_layers = 2\ndomain_length", "n_layer = 2\ndomain_length"),
    )
    .unwrap();
    let file = ExperimentFile::read(&path).unwrap();
    let err = format!("{:#}", train(&file, &options(&root, false, None)).unwrap_err());
    assert!(err.contains("n_layer"), "{err}");
    assert!(!root.join("runs").exists(), "nothing may be written for a bad config");
    std::fs::remove_dir_all(&root).unwrap();
}
