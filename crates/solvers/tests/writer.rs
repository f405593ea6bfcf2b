//! The data-set writer: bit-exact round trips through the safetensors crate, reproducibility
//! across thread counts, resuming, refusing mismatched arguments, and never writing
//! non-finite samples.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use lno_solvers::darcy::{DarcyConfig, DarcyGenerator};
use lno_solvers::writer::{Manifest, load_dataset, read_shard, shard_file_name, write_dataset};
use lno_solvers::{Field, Result, Sample, SampleGenerator, SolverError, sample_rng};
use rand::Rng;

/// A cheap generator: field `x` `[3, 2]` of uniform values and field `y` `[4]`; sample indices
/// listed in `nan_at` get a NaN, those in `fail_at` a solver error, those in `huge_at` a value
/// that overflows float32.
#[derive(Default)]
struct Toy {
    scale: f64,
    nan_at: Vec<u64>,
    fail_at: Vec<u64>,
    huge_at: Vec<u64>,
    invalid_at: Vec<u64>,
    calls: AtomicUsize,
}

impl Toy {
    fn new(scale: f64) -> Self {
        Self { scale, ..Self::default() }
    }
}

impl SampleGenerator for Toy {
    fn equation(&self) -> &'static str {
        "toy"
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({ "scale": self.scale })
    }

    fn generate(&self, seed: u64, index: u64) -> Result<Sample> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.fail_at.contains(&index) {
            return Err(SolverError::NotConverged { solver: "toy", detail: "blew up".into() });
        }
        if self.invalid_at.contains(&index) {
            return Err(SolverError::invalid("scale", "something else", self.scale));
        }
        let mut rng = sample_rng(seed, index);
        let mut x: Vec<f64> = (0..6).map(|_| self.scale * rng.random::<f64>()).collect();
        let y: Vec<f64> =
            (0..4).map(|k| index as f64 + 0.1 * k as f64 + rng.random::<f64>()).collect();
        if self.nan_at.contains(&index) {
            x[2] = f64::NAN;
        }
        if self.huge_at.contains(&index) {
            x[0] = 1e39;
        }
        Ok(Sample {
            fields: vec![
                Field { name: "x".into(), shape: vec![3, 2], data: x },
                Field { name: "y".into(), shape: vec![4], data: y },
            ],
        })
    }
}

/// A fresh, empty folder for one test under Cargo's per-target temporary directory.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("writer-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn shard_bytes(dir: &Path, k: u64) -> Vec<u8> {
    std::fs::read(dir.join(shard_file_name(k))).unwrap()
}

#[test]
fn written_shards_read_back_bit_exactly_through_the_safetensors_crate() {
    let dir = fresh_dir("round_trip");
    let toy = Toy::new(3.0);
    let manifest = write_dataset(&toy, &dir, 7, 11, 3, false).unwrap();
    assert_eq!(manifest.shards.len(), 3);
    assert!(manifest.is_complete());
    assert_eq!(manifest.n_written(), 7);
    for (k, range) in [(0u64, 0u64..3), (1, 3..6), (2, 6..7)] {
        let bytes = shard_bytes(&dir, k);
        let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let x = tensors.tensor("x").unwrap();
        assert_eq!(x.dtype(), safetensors::Dtype::F32);
        assert_eq!(x.shape(), [range.clone().count(), 3, 2]);
        let index = tensors.tensor("index").unwrap();
        assert_eq!(index.dtype(), safetensors::Dtype::I64);
        let mut expected_x = Vec::new();
        let mut expected_index = Vec::new();
        for i in range {
            let sample = toy.generate(11, i).unwrap();
            expected_x.extend(sample.fields[0].data.iter().flat_map(|&v| (v as f32).to_le_bytes()));
            expected_index.extend((i as i64).to_le_bytes());
        }
        assert_eq!(x.data(), expected_x.as_slice());
        assert_eq!(index.data(), expected_index.as_slice());
    }
    let data = load_dataset(&dir).unwrap();
    assert_eq!(data.indices, (0..7).collect::<Vec<u64>>());
    let y = data.field("y").unwrap();
    assert_eq!(y.shape, [7, 4]);
    let expected_y: Vec<f32> = (0..7)
        .flat_map(|i| {
            toy.generate(11, i).unwrap().fields[1]
                .data
                .iter()
                .map(|&v| v as f32)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(y.data, expected_y);
}

#[test]
fn manifest_records_equation_parameters_seed_shapes_version_and_shards() {
    let dir = fresh_dir("manifest");
    write_dataset(&Toy::new(2.0), &dir, 5, 3, 2, false).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(json["equation"], "toy");
    assert_eq!(json["parameters"]["scale"], 2.0);
    assert_eq!(json["seed"], 3);
    assert_eq!(json["n_samples"], 5);
    assert_eq!(json["shard_size"], 2);
    assert_eq!(json["dtype"], "float32");
    assert_eq!(json["generator_version"], format!("lno-solvers {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(json["fields"][0]["name"], "x");
    assert_eq!(json["fields"][0]["shape"], serde_json::json!([3, 2]));
    assert_eq!(json["shards"][2]["file"], "shard-00002.safetensors");
    assert_eq!(json["shards"][2]["start"], 4);
    assert_eq!(json["shards"][2]["end"], 5);
    assert_eq!(json["shards"][2]["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn shards_are_byte_identical_on_one_and_two_threads() {
    let write = |threads: usize, name: &str| {
        let dir = fresh_dir(name);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| write_dataset(&Toy::new(1.0), &dir, 9, 5, 4, false)).unwrap()
    };
    let one = write(1, "threads_1");
    let two = write(2, "threads_2");
    assert_eq!(one.shards, two.shards, "same files, ranges and SHA-256 on any thread count");
}

#[test]
fn resuming_keeps_intact_shards_and_redoes_missing_corrupt_or_unrecorded_ones() {
    let dir = fresh_dir("resume");
    let original = write_dataset(&Toy::new(1.0), &dir, 10, 2, 2, false).unwrap();
    let reference: Vec<Vec<u8>> = (0..5).map(|k| shard_bytes(&dir, k)).collect();
    // Shard 1 lost, shard 2 corrupted, shard 3 written but its manifest entry lost (a crash
    // between the rename and the manifest update), a stale temporary file left behind.
    std::fs::remove_file(dir.join(shard_file_name(1))).unwrap();
    let mut corrupt = reference[2].clone();
    *corrupt.last_mut().unwrap() ^= 1;
    std::fs::write(dir.join(shard_file_name(2)), corrupt).unwrap();
    let mut manifest = Manifest::read(&dir).unwrap();
    manifest.shards.retain(|e| e.start != 6);
    std::fs::write(dir.join("manifest.json"), serde_json::to_string(&manifest).unwrap()).unwrap();
    std::fs::write(dir.join("shard-00004.safetensors.tmp"), b"partial").unwrap();

    let toy = Toy::new(1.0);
    let resumed = write_dataset(&toy, &dir, 10, 2, 2, false).unwrap();
    assert_eq!(
        toy.calls.load(Ordering::Relaxed),
        6,
        "only shards 1, 2 and 3 (2 samples each) are redone"
    );
    assert_eq!(resumed, original);
    for (k, bytes) in reference.iter().enumerate() {
        assert_eq!(&shard_bytes(&dir, k as u64), bytes, "shard {k}");
    }
}

#[test]
fn resuming_with_other_arguments_is_refused() {
    let dir = fresh_dir("mismatch");
    write_dataset(&Toy::new(1.0), &dir, 6, 1, 3, false).unwrap();
    let attempts: [(Toy, u64, u64, u64, &str); 4] = [
        (Toy::new(2.0), 6, 1, 3, "parameters"),
        (Toy::new(1.0), 6, 2, 3, "seed"),
        (Toy::new(1.0), 7, 1, 3, "n_samples"),
        (Toy::new(1.0), 6, 1, 2, "shard_size"),
    ];
    for (toy, n, seed, shard, what) in attempts {
        match write_dataset(&toy, &dir, n, seed, shard, false) {
            Err(SolverError::Manifest { detail, .. }) => {
                assert!(detail.starts_with(what), "{detail}")
            }
            other => panic!("{what}: expected a manifest error, got {other:?}"),
        }
    }
    // The refused runs left the original data set untouched.
    assert_eq!(load_dataset(&dir).unwrap().indices, (0..6).collect::<Vec<u64>>());
}

#[test]
fn failed_or_non_finite_samples_are_rejected_with_a_reason_and_never_written() {
    let dir = fresh_dir("rejected");
    let toy =
        Toy { scale: 1.0, nan_at: vec![1], fail_at: vec![4], huge_at: vec![5], ..Toy::default() };
    let manifest = write_dataset(&toy, &dir, 6, 0, 3, false).unwrap();
    let rejected: Vec<(u64, &str)> = manifest
        .shards
        .iter()
        .flat_map(|e| e.rejected.iter().map(|r| (r.index, r.reason.as_str())))
        .collect();
    assert_eq!(rejected.len(), 3);
    assert!(rejected[0].0 == 1 && rejected[0].1.contains("NaN"), "{rejected:?}");
    assert!(rejected[1].0 == 4 && rejected[1].1.contains("blew up"), "{rejected:?}");
    assert!(rejected[2].0 == 5 && rejected[2].1.contains("not finite in float32"), "{rejected:?}");
    let data = load_dataset(&dir).unwrap();
    assert_eq!(data.indices, [0, 2, 3]);
    assert_eq!(data.field("x").unwrap().shape, [3, 3, 2]);
    for field in &data.fields {
        assert!(field.data.iter().all(|v| v.is_finite()), "{}", field.name);
    }
    let second = read_shard(&dir.join(shard_file_name(1))).unwrap();
    assert_eq!(second.indices, [3]);
}

#[test]
fn invalid_parameters_from_the_generator_abort_the_run() {
    let dir = fresh_dir("invalid");
    let toy = Toy { scale: 1.0, invalid_at: vec![2], ..Toy::default() };
    match write_dataset(&toy, &dir, 4, 0, 4, false) {
        Err(SolverError::InvalidParameter { name: "scale", .. }) => {}
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
    assert!(load_dataset(&dir).is_err(), "an aborted run leaves an incomplete data set");
}

#[test]
fn zero_samples_or_zero_shard_size_are_rejected() {
    let dir = fresh_dir("zero");
    for (n, shard, name) in [(0, 1, "n_samples"), (1, 0, "shard_size")] {
        match write_dataset(&Toy::new(1.0), &dir, n, 0, shard, false) {
            Err(SolverError::InvalidParameter { name: got, .. }) => assert_eq!(got, name),
            other => panic!("expected InvalidParameter, got {other:?}"),
        }
    }
}

#[test]
fn darcy_data_set_round_trips_its_coefficients() {
    let dir = fresh_dir("darcy");
    let generator = DarcyGenerator::new(DarcyConfig::fno(17)).unwrap();
    write_dataset(&generator, &dir, 3, 5, 2, false).unwrap();
    let data = load_dataset(&dir).unwrap();
    let a = data.field("a").unwrap();
    assert_eq!(a.shape, [3, 17, 17]);
    let expected: Vec<f32> =
        (0..3).flat_map(|i| generator.coefficient(5, i)).map(|v| v as f32).collect();
    assert_eq!(a.data, expected);
    assert_eq!(data.field("u").unwrap().shape, [3, 17, 17]);
    assert_eq!(data.manifest.equation, "darcy");
}
