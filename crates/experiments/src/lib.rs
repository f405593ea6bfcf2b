//! lno's experiments: the paper's five data sets and model comparisons as commands.
//!
//! An experiment is a TOML file under `configs/` (see `configs/README.md`). Each file has one
//! table per profile — `quick` (small, for 2 CPU cores) and `full` (paper scale) — and each
//! profile has a `data` section that says which solver makes the data and how much of it.
//! The `lno` binary wraps this library; `cargo xtask` wraps the binary.

pub mod config;
pub mod data;
pub mod eval;
pub mod external;
pub mod geometry;
pub mod parallel;
pub mod plot;
pub mod progress;
pub mod shards;
pub mod train;

pub use config::{ConfigError, ExperimentFile, Profile};
pub use data::{DataSpec, GeneratorSpec, generate};
