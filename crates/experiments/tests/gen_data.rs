//! `gen-data` end to end: every shipped experiment file parses, and a tiny experiment is
//! written, resumed without redoing work, and rejected when its file is wrong.

mod common;

use std::path::{Path, PathBuf};

use lno_experiments::data::{DataError, DataSpec, GeneratorSpec, split_dir};
use lno_experiments::{ExperimentFile, Profile, generate};

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

#[test]
fn every_shipped_experiment_has_valid_quick_and_full_data_sections() {
    let names = lno_experiments::config::available_experiments(&configs_dir());
    assert!(names.len() >= 3, "expected the experiment files, found {names:?}");
    for name in names {
        let file = ExperimentFile::find(&name, &configs_dir()).unwrap();
        for profile in [Profile::Quick, Profile::Full] {
            let spec = DataSpec::from_file(&file, profile)
                .unwrap_or_else(|e| panic!("{name} {profile:?}: {e}"));
            // External data (darcy-small) are fetched, not generated: no solver to build.
            if !matches!(spec.generator, GeneratorSpec::NeuraloperatorDarcy(_)) {
                spec.generator.build().unwrap_or_else(|e| panic!("{name} {profile:?}: {e}"));
            }
            assert!(spec.train.samples > spec.test.samples, "{name}: train smaller than test");
        }
    }
}

fn tiny() -> String {
    common::tiny_darcy_data(9, 3, 2, 2)
}

#[test]
fn a_tiny_experiment_is_written_as_two_independent_splits_and_resumes_as_a_no_op() {
    let dir = common::temp_dir("gen-data-tiny");
    let path = dir.join("tiny_darcy.toml");
    std::fs::write(&path, tiny()).unwrap();
    let file = ExperimentFile::find(path.to_str().unwrap(), &configs_dir()).unwrap();
    assert_eq!(file.name, "tiny-darcy");
    let root = dir.join("data");
    let splits = generate(&file, Profile::Quick, &root, false).unwrap();
    let [(train_dir, train), (test_dir, test)] = <[_; 2]>::try_from(splits).unwrap();
    assert_eq!(train_dir, split_dir(&root, "tiny-darcy", Profile::Quick, "train"));
    assert!(train.is_complete() && test.is_complete());
    assert_eq!((train.n_written(), test.n_written()), (3, 2));
    let train_set = lno_solvers::writer::load_dataset(&train_dir).unwrap();
    let test_set = lno_solvers::writer::load_dataset(&test_dir).unwrap();
    let a_train = &train_set.field("a").unwrap().data;
    let a_test = &test_set.field("a").unwrap().data;
    // Different seeds: the first coefficient fields must differ somewhere.
    assert_ne!(a_train[..81], a_test[..81]);

    // A second run finds both splits complete and rewrites no shard.
    let stamp =
        std::fs::metadata(train_dir.join("shard-00000.safetensors")).unwrap().modified().unwrap();
    generate(&file, Profile::Quick, &root, false).unwrap();
    let again =
        std::fs::metadata(train_dir.join("shard-00000.safetensors")).unwrap().modified().unwrap();
    assert_eq!(stamp, again);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wrong_experiment_files_are_errors_naming_the_key() {
    let dir = common::temp_dir("gen-data-bad");
    let cases = [
        (tiny().replace("shard_size = 2", "shard_size = 2\nshards = 3"), "quick.data.shards"),
        (tiny().replace("tau = 3.0", "tau = 3.0\ntua = 1.0"), "quick.data.generator.darcy.tua"),
        (tiny().replace("seed = 1", "seed = 0"), "train.seed and test.seed"),
        (tiny().replace("seed = 1 }", "seed = 1, size = 4 }"), "quick.data.test.size"),
        (tiny().replace("s = 9", "s = 2"), "`s`"),
        (tiny().replace("[quick.data]", "[full.data]"), "missing field `train`"),
        (tiny().replace("quick", "full"), "missing section [quick.data]"),
    ];
    for (k, (text, expected)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad_{k}.toml"));
        std::fs::write(&path, text).unwrap();
        let file = ExperimentFile::read(&path).unwrap();
        let err: DataError = generate(&file, Profile::Quick, &dir.join("data"), false).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(expected), "case {k}: `{msg}` does not name {expected}");
    }
    // Nothing was written for any of the bad files.
    assert!(!dir.join("data").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
