//! Real external data: the small Darcy benchmark that neuraloperator users know.
//!
//! neuraloperator 0.3.0 shipped `darcy_train_16.pt`, `darcy_test_16.pt` and `darcy_test_32.pt`
//! inside its PyPI wheel (1000 training and 50 test pairs at 16², the same 50 test pairs at
//! 32²; a binary permeability `x` ∈ {0, 1} and the pressure `y`). Nothing can be downloaded
//! except through package registries, so [`fetch_darcy_small`] asks pip for that wheel, opens
//! it (a zip file) with Python's `zipfile`, reads the tensors with libtorch's pickle loader and
//! rewrites them in our data-set format under `<data>/darcy-small/<profile>/{train, test,
//! test-32}` with fields `a` (permeability, as f64 0/1) and `u`. The test split at 32² sits
//! where `lno eval` looks for other resolutions (`test-<n>`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use lno_solvers::dataset::{Field, Sample, SampleGenerator};
use lno_solvers::writer::{Manifest, write_dataset};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// `[<profile>.data.generator.neuraloperator-darcy]`: which of the wheel's pairs to use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DarcySmallSpec {
    /// The neuraloperator release whose wheel holds the files (only "0.3.0" ships them).
    pub version: String,
}

/// The grid size of the training files (and of `test`).
pub const TRAINING_RESOLUTION: usize = 16;

/// The wheel's files: (split directory, file name, resolution).
const FILES: [(&str, &str, usize); 3] = [
    ("train", "darcy_train_16.pt", TRAINING_RESOLUTION),
    ("test", "darcy_test_16.pt", TRAINING_RESOLUTION),
    ("test-32", "darcy_test_32.pt", 32),
];

/// Pairs held in memory, served to the data-set writer one by one.
struct Table {
    file: String,
    sha256: String,
    a: Vec<f64>,
    u: Vec<f64>,
    n: usize,
}

impl SampleGenerator for Table {
    fn equation(&self) -> &'static str {
        "darcy (neuraloperator wheel)"
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({ "file": self.file, "sha256": self.sha256, "resolution": self.n })
    }

    fn generate(&self, _seed: u64, index: u64) -> lno_solvers::Result<Sample> {
        let m = self.n * self.n;
        let i = index as usize;
        if (i + 1) * m > self.a.len() {
            return Err(lno_solvers::SolverError::invalid(
                "index",
                format!("< {} (pairs in {})", self.a.len() / m, self.file),
                index,
            ));
        }
        let field = |name: &str, v: &[f64]| Field {
            name: name.into(),
            shape: vec![self.n, self.n],
            data: v[i * m..(i + 1) * m].to_vec(),
        };
        Ok(Sample { fields: vec![field("a", &self.a), field("u", &self.u)] })
    }
}

/// The folder the wheel is cached and unpacked in.
fn cache_dir(version: &str) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("lno").join(format!("neuraloperator-{version}"))
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("{what}: could not start {cmd:?}"))?;
    ensure!(status.success(), "{what}: {cmd:?} failed with {status}");
    Ok(())
}

/// Downloads (once) and unpacks the wheel, returning the folder holding the `.pt` files.
fn unpack_wheel(version: &str) -> Result<PathBuf> {
    let dir = cache_dir(version);
    let data = dir.join("unpacked").join("neuralop").join("datasets").join("data");
    if FILES.iter().all(|(_, f, _)| data.join(f).is_file()) {
        return Ok(data);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(
        Command::new(&python)
            .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check"])
            .arg(format!("neuraloperator=={version}"))
            .arg("-d")
            .arg(&dir),
        "downloading the neuraloperator wheel (needs pip and access to PyPI)",
    )?;
    let wheel = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .with_context(|| format!("pip wrote no wheel into {}", dir.display()))?;
    run(
        Command::new(&python).args(["-m", "zipfile", "-e"]).arg(&wheel).arg(dir.join("unpacked")),
        "unpacking the neuraloperator wheel",
    )?;
    if let Some((_, missing, _)) = FILES.iter().find(|(_, f, _)| !data.join(f).is_file()) {
        bail!(
            "{} has no {missing}: expected neuraloperator 0.3.0's wheel, which ships the small \
             Darcy files (got version {version})",
            wheel.display()
        );
    }
    Ok(data)
}

fn sha256(path: &Path) -> Result<String> {
    use sha2::Digest;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(format!("{:x}", sha2::Sha256::digest(&bytes)))
}

/// Reads one `.pt` file: a dict `{x: bool [N, n, n], y: float [N, n, n]}`.
fn read_table(path: &Path, n: usize) -> Result<Table> {
    let named = Tensor::loadz_multi(path)
        .with_context(|| format!("{}: not a torch.save'd dict of tensors", path.display()))?;
    let get = |key: &str| -> Result<Tensor> {
        let t = named
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, t)| t.to_kind(Kind::Double))
            .with_context(|| format!("{}: no tensor `{key}`", path.display()))?;
        let s = t.size();
        ensure!(
            s.len() == 3 && s[1] == n as i64 && s[2] == n as i64,
            "{}: `{key}` has shape {s:?}, expected [N, {n}, {n}]",
            path.display()
        );
        Ok(t)
    };
    let (a, u) = (get("x")?, get("y")?);
    ensure!(a.size()[0] == u.size()[0], "{}: x and y hold different pair counts", path.display());
    let flat = |t: &Tensor| -> Result<Vec<f64>> { Ok(Vec::<f64>::try_from(t.flatten(0, -1))?) };
    Ok(Table {
        file: path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        sha256: sha256(path)?,
        a: flat(&a)?,
        u: flat(&u)?,
        n,
    })
}

/// Fetches the small Darcy benchmark and writes `train` (`n_train` ≤ 1000 pairs at 16²),
/// `test` (`n_test` ≤ 50 at 16²) and `test-32` (the same `n_test` pairs at 32²) under
/// `out` (= `<data>/<experiment>/<profile>`). Returns the three (directory, manifest) pairs.
pub fn fetch_darcy_small(
    spec: &DarcySmallSpec,
    out: &Path,
    n_train: u64,
    n_test: u64,
    progress: bool,
) -> Result<Vec<(PathBuf, Manifest)>> {
    let data = unpack_wheel(&spec.version)?;
    let mut written = Vec::new();
    for (split, file, n) in FILES {
        let table = read_table(&data.join(file), n)?;
        let available = (table.a.len() / (n * n)) as u64;
        let wanted = if split == "train" { n_train } else { n_test };
        ensure!(
            (1..=available).contains(&wanted),
            "[data] {}.samples: expected 1 to {available} (pairs in {file}), got {wanted}",
            if split == "train" { "train" } else { "test" }
        );
        let dir = out.join(split);
        // One shard per split: the files are small and fixed.
        let manifest = write_dataset(&table, &dir, wanted, 0, wanted, progress)
            .with_context(|| format!("writing {}", dir.display()))?;
        written.push((dir, manifest));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(n: usize, pairs: usize) -> Table {
        let m = n * n;
        Table {
            file: "t.pt".into(),
            sha256: String::new(),
            a: (0..pairs * m).map(|k| (k % 2) as f64).collect(),
            u: (0..pairs * m).map(|k| k as f64).collect(),
            n,
        }
    }

    #[test]
    fn table_serves_pair_i_as_row_major_fields_a_and_u() {
        let t = table(3, 4);
        let s = t.generate(0, 2).unwrap();
        assert_eq!(s.fields.len(), 2);
        assert_eq!((s.fields[0].name.as_str(), s.fields[1].name.as_str()), ("a", "u"));
        assert_eq!(s.fields[1].shape, vec![3, 3]);
        let expected: Vec<f64> = (18..27).map(|k| k as f64).collect();
        assert_eq!(s.fields[1].data, expected);
    }

    #[test]
    fn table_rejects_an_index_past_its_pairs_naming_the_file() {
        let err = table(2, 3).generate(0, 3).unwrap_err().to_string();
        assert!(err.contains("index") && err.contains("t.pt"), "{err}");
    }

    /// Needs pip and PyPI: `cargo test -p lno-experiments -- --ignored`.
    #[test]
    #[ignore = "downloads neuraloperator 0.3.0 from PyPI"]
    fn fetched_darcy_small_has_the_published_sizes_and_binary_inputs() {
        let dir = std::env::temp_dir().join(format!("lno-darcy-small-{}", std::process::id()));
        let spec = DarcySmallSpec { version: "0.3.0".into() };
        let out = fetch_darcy_small(&spec, &dir, 1000, 50, false).unwrap();
        let sizes: Vec<(u64, Vec<usize>)> =
            out.iter().map(|(_, m)| (m.n_written(), m.fields[0].shape.clone())).collect();
        assert_eq!(sizes, vec![(1000, vec![16, 16]), (50, vec![16, 16]), (50, vec![32, 32])]);
        let train = lno_solvers::writer::load_dataset(&out[0].0).unwrap();
        assert!(train.field("a").unwrap().data.iter().all(|&v| v == 0.0 || v == 1.0));
        std::fs::remove_dir_all(&dir).ok();
    }
}
