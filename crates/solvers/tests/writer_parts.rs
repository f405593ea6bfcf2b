//! Data generation in parts (`gen-data --shard i/n`): parts write disjoint shard files that
//! merge into exactly the data set one process writes, and the merge names what is missing.

use std::path::PathBuf;

use lno_solvers::writer::{
    MANIFEST_FILE, Part, load_dataset, merge_parts, shard_file_name, write_dataset,
    write_dataset_part,
};
use lno_solvers::{Field, Result, Sample, SampleGenerator, sample_rng};
use rand::Rng;

/// A cheap generator: field `x` `[2, 3]` of uniform values drawn from `(seed, index)`.
struct Toy;

impl SampleGenerator for Toy {
    fn equation(&self) -> &'static str {
        "toy"
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({})
    }

    fn generate(&self, seed: u64, index: u64) -> Result<Sample> {
        let mut rng = sample_rng(seed, index);
        let data: Vec<f64> = (0..6).map(|_| rng.random::<f64>()).collect();
        Ok(Sample { fields: vec![Field { name: "x".into(), shape: vec![2, 3], data }] })
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lno-parts-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// 10 samples in shards of 3: 4 shard files, the last one short.
const N: u64 = 10;
const SHARD: u64 = 3;
const SEED: u64 = 7;

#[test]
fn three_parts_write_disjoint_shards_that_merge_into_the_single_process_data_set() {
    let dir = temp_dir("merge");
    let (whole, parts) = (dir.join("whole"), dir.join("parts"));
    let reference = write_dataset(&Toy, &whole, N, SEED, SHARD, false).unwrap();
    for index in 0..3 {
        let part = Part::new(index, 3).unwrap();
        let m = write_dataset_part(&Toy, &parts, N, SEED, SHARD, part, false).unwrap();
        let ks: Vec<u64> = m.shards.iter().map(|e| e.start / SHARD).collect();
        assert!(ks.iter().all(|&k| k % 3 == index), "part {part} wrote shards {ks:?}");
        assert!(parts.join(part.manifest_file()).is_file());
    }
    // Not a data set until merged.
    assert!(!parts.join(MANIFEST_FILE).exists());
    let merged = merge_parts(&parts, 3).unwrap();
    assert_eq!(merged.shards, reference.shards);
    assert!(merged.is_complete());
    for k in 0..4 {
        let a = std::fs::read(whole.join(shard_file_name(k))).unwrap();
        let b = std::fs::read(parts.join(shard_file_name(k))).unwrap();
        assert_eq!(a, b, "shard {k} differs");
    }
    let (a, b) = (load_dataset(&whole).unwrap(), load_dataset(&parts).unwrap());
    assert_eq!(a.fields, b.fields);
    assert_eq!(a.indices, (0..N).collect::<Vec<_>>());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn merging_names_the_missing_part_and_the_damaged_shard_with_its_part() {
    let dir = temp_dir("missing");
    for index in [0, 2] {
        write_dataset_part(&Toy, &dir, N, SEED, SHARD, Part::new(index, 3).unwrap(), false)
            .unwrap();
    }
    let err = merge_parts(&dir, 3).unwrap_err().to_string();
    assert!(err.contains("no manifest for parts 1/3"), "{err}");
    write_dataset_part(&Toy, &dir, N, SEED, SHARD, Part::new(1, 3).unwrap(), false).unwrap();
    // Shard 3 belongs to part 0 of 3; a flipped byte must be caught by its SHA-256.
    let path = dir.join(shard_file_name(3));
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let err = merge_parts(&dir, 3).unwrap_err().to_string();
    assert!(err.contains("shard 3 (part 0/3)"), "{err}");
    assert!(!dir.join(MANIFEST_FILE).exists(), "no manifest for an incomplete merge");
    // Rerunning that part repairs it, and the merge succeeds.
    write_dataset_part(&Toy, &dir, N, SEED, SHARD, Part::new(0, 3).unwrap(), false).unwrap();
    assert!(merge_parts(&dir, 3).unwrap().is_complete());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn parts_written_with_other_arguments_are_refused_by_the_merge() {
    let dir = temp_dir("mixed");
    write_dataset_part(&Toy, &dir, N, SEED, SHARD, Part::new(0, 2).unwrap(), false).unwrap();
    write_dataset_part(&Toy, &dir, N, SEED + 1, SHARD, Part::new(1, 2).unwrap(), false).unwrap();
    let err = merge_parts(&dir, 2).unwrap_err().to_string();
    assert!(err.contains("part 1/2") && err.contains("seed"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shard_specs_parse_as_i_of_n_and_errors_name_the_parameter() {
    assert_eq!(Part::parse("2/8").unwrap(), Part { index: 2, count: 8 });
    assert_eq!(Part::parse("0/1").unwrap().to_string(), "0/1");
    for (text, name) in
        [("3/3", "shard index"), ("1/0", "shard count"), ("x", "`shard`"), ("1/", "`shard`")]
    {
        let err = Part::parse(text).unwrap_err().to_string();
        assert!(err.contains(name), "{text}: {err}");
    }
}
