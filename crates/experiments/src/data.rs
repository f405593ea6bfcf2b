//! `lno gen-data`: the `data` section of an experiment, and writing its train and test sets.
//!
//! Each split is a data set of the solver crate's writer (safetensors shards + manifest), so a
//! killed run resumes where it stopped and a finished one is not redone. Train and test sets
//! use different seeds, hence independent samples.

use std::path::{Path, PathBuf};

use lno_solvers::cylinder::{CylinderDataConfig, CylinderGenerator};
use lno_solvers::darcy::{DarcyConfig, DarcyGenerator};
use lno_solvers::diffusion_reaction::{DiffReactConfig, DiffReactGenerator};
use lno_solvers::navier_stokes::{NsDataConfig, NsGenerator};
use lno_solvers::shallow_water::{SweDataConfig, SweGenerator};
use lno_solvers::writer::{Manifest, write_dataset};
use lno_solvers::{SampleGenerator, SolverError};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, ExperimentFile, Profile};
use crate::external::{DarcySmallSpec, fetch_darcy_small};

/// Which solver makes the data, with its full parameter set (every key required, so a data set
/// is described completely by its file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GeneratorSpec {
    /// Darcy flow (data-recipes §4.1).
    Darcy(DarcyConfig),
    /// 2-D Navier–Stokes in vorticity form (§4.2).
    NavierStokes(NsDataConfig),
    /// 2-D diffusion–reaction, PDEBench (§4.4).
    DiffusionReaction(DiffReactConfig),
    /// Shallow water on the rotating sphere, torch-harmonics' random pairs (§4.3).
    ShallowWater(SweDataConfig),
    /// Flow past a cylinder sampled on an irregular point cloud (§4.5).
    Cylinder(CylinderDataConfig),
    /// Not a solver: the small Darcy benchmark shipped in neuraloperator 0.3.0's wheel
    /// (fetched with pip; see [`crate::external`]).
    NeuraloperatorDarcy(DarcySmallSpec),
}

impl GeneratorSpec {
    /// The validated generator.
    pub fn build(&self) -> Result<Box<dyn SampleGenerator>, SolverError> {
        Ok(match self {
            GeneratorSpec::Darcy(c) => Box::new(DarcyGenerator::new(c.clone())?),
            GeneratorSpec::NavierStokes(c) => Box::new(NsGenerator::new(c.clone())?),
            GeneratorSpec::DiffusionReaction(c) => Box::new(DiffReactGenerator::new(c.clone())?),
            GeneratorSpec::ShallowWater(c) => Box::new(SweGenerator::new(c.clone())?),
            GeneratorSpec::Cylinder(c) => Box::new(CylinderGenerator::new(c.clone())?),
            GeneratorSpec::NeuraloperatorDarcy(_) => {
                return Err(SolverError::invalid(
                    "generator",
                    "a solver (neuraloperator-darcy is fixed external data: it has only the \
                     resolutions of its files, 16² and 32²)",
                    "neuraloperator-darcy",
                ));
            }
        })
    }
}

/// How many samples a split has and the seed its samples are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Number of samples.
    pub samples: u64,
    /// Data-set seed (sample `i` depends only on `(seed, i)`).
    pub seed: u64,
}

fn default_shard_size() -> u64 {
    32
}

/// The `[<profile>.data]` section of an experiment file.
/// Unknown keys are rejected by [`ExperimentFile::section`], by dotted path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    /// The training split.
    pub train: Split,
    /// The held-out test split (its seed must differ from the training seed).
    pub test: Split,
    /// Samples per shard file.
    #[serde(default = "default_shard_size")]
    pub shard_size: u64,
    /// The solver and its parameters.
    pub generator: GeneratorSpec,
}

/// Errors of data generation: a bad experiment file or a solver / writer failure.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The experiment file is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The solver or the writer failed.
    #[error(transparent)]
    Solver(#[from] SolverError),
    /// The two splits would hold the same samples.
    #[error(
        "{path}: [{profile}.data] train.seed and test.seed are both {seed}; expected different seeds so the test set is held out"
    )]
    SameSeeds { path: String, profile: String, seed: u64 },
    /// Fetching external data failed (pip, the wheel, or its files).
    #[error("{0:#}")]
    External(anyhow::Error),
}

impl DataSpec {
    /// Reads `[<profile>.data]` from `file`, checking that the splits are independent.
    pub fn from_file(file: &ExperimentFile, profile: Profile) -> Result<Self, DataError> {
        let spec: DataSpec = file.section(profile, "data")?;
        if spec.train.seed == spec.test.seed {
            return Err(DataError::SameSeeds {
                path: file.path.display().to_string(),
                profile: profile.key().into(),
                seed: spec.train.seed,
            });
        }
        Ok(spec)
    }
}

/// Where a split of an experiment lives: `<data_root>/<experiment>/<profile>/<split>`.
pub fn split_dir(data_root: &Path, experiment: &str, profile: Profile, split: &str) -> PathBuf {
    data_root.join(experiment).join(profile.key()).join(split)
}

/// Generates (or completes) the train and test sets of `file`'s `profile` under `data_root`,
/// returning each split's directory and manifest (train, test, then any test sets at other
/// resolutions that external data come with, e.g. `test-32`).
pub fn generate(
    file: &ExperimentFile,
    profile: Profile,
    data_root: &Path,
    progress: bool,
) -> Result<Vec<(PathBuf, Manifest)>, DataError> {
    let spec = DataSpec::from_file(file, profile)?;
    if let GeneratorSpec::NeuraloperatorDarcy(external) = &spec.generator {
        let out = split_dir(data_root, &file.name, profile, "train");
        let out = out.parent().unwrap_or(data_root);
        return fetch_darcy_small(external, out, spec.train.samples, spec.test.samples, progress)
            .map_err(DataError::External);
    }
    let generator = spec.generator.build()?;
    let mut out = Vec::with_capacity(2);
    for (name, split) in [("train", spec.train), ("test", spec.test)] {
        let dir = split_dir(data_root, &file.name, profile, name);
        let manifest = write_dataset(
            generator.as_ref(),
            &dir,
            split.samples,
            split.seed,
            spec.shard_size,
            progress,
        )?;
        out.push((dir, manifest));
    }
    Ok(out)
}
