//! `gen-data --shard i/n` then `--merge n`: parts written by separate invocations merge into
//! the data set one invocation writes, and a missing part is named with its `--shard`.

mod common;

use std::process::Command;

use lno_experiments::{ExperimentFile, Profile, generate};
use lno_solvers::writer::load_dataset;

#[test]
fn two_shard_jobs_and_a_merge_give_the_data_set_of_one_gen_data_run() {
    let root = common::temp_dir("gen-data-shards");
    let path = root.join("tiny.toml");
    // 5 training samples in shards of 2: 3 shard files, split 2 + 1 between the jobs.
    std::fs::write(&path, common::tiny_darcy_data(9, 5, 2, 2)).unwrap();
    let file = ExperimentFile::read(&path).unwrap();
    generate(&file, Profile::Quick, &root.join("whole"), false).unwrap();

    let lno = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lno"))
            .arg("gen-data")
            .arg(&path)
            .args(["--no-progress", "--data"])
            .arg(root.join("parts"))
            .args(args)
            .output()
            .unwrap()
    };
    assert!(lno(&["--shard", "0/2"]).status.success());
    let early = lno(&["--merge", "2"]);
    let stderr = String::from_utf8_lossy(&early.stderr);
    assert!(!early.status.success() && stderr.contains("parts 1/2"), "{stderr}");
    assert!(lno(&["--shard", "1/2"]).status.success());
    let merged = lno(&["--merge", "2"]);
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    assert!(String::from_utf8_lossy(&merged.stdout).contains("5 samples in 3 of 3 shards"));

    for split in ["train", "test"] {
        let dir = |base: &str| {
            lno_experiments::data::split_dir(&root.join(base), "tiny", Profile::Quick, split)
        };
        let (a, b) = (load_dataset(&dir("whole")).unwrap(), load_dataset(&dir("parts")).unwrap());
        assert_eq!(a.manifest.shards, b.manifest.shards, "{split}: shard hashes differ");
        assert_eq!(a.fields, b.fields);
    }
    let bad = lno(&["--shard", "2/2"]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && stderr.contains("shard index"), "{stderr}");
    std::fs::remove_dir_all(&root).unwrap();
}
