//! The contract between PDE solvers and the data-set writer.
//!
//! A solver that produces training pairs implements [`SampleGenerator`]: given the data set's
//! seed and a sample index it returns the sample's fields, deterministically, so that any
//! sample can be regenerated on its own (which makes sharding and resuming trivial).

use crate::Result;

/// One named array of a sample, row-major, in f64 (the writer casts to f32 once, on disk).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Name in the data set, e.g. `"a"` (input) or `"u"` (output).
    pub name: String,
    /// Shape, row-major, e.g. `[nx, ny]` or `[n_times, nx, ny]`.
    pub shape: Vec<usize>,
    /// The values; `data.len()` equals the product of `shape`.
    pub data: Vec<f64>,
}

/// All fields of one sample.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sample {
    /// The fields, in a fixed order that is the same for every sample of a data set.
    pub fields: Vec<Field>,
}

/// A reproducible source of samples for one equation and one parameter set.
pub trait SampleGenerator: Sync {
    /// Short equation name for the manifest, e.g. `"darcy"`.
    fn equation(&self) -> &'static str;
    /// All parameters that determine the samples, for the manifest.
    fn parameters(&self) -> serde_json::Value;
    /// Generates sample `index` of the data set with seed `seed`; the same pair always gives
    /// the same sample, on any thread count.
    fn generate(&self, seed: u64, index: u64) -> Result<Sample>;
}

/// The random-number generator for sample `index` of a data set with seed `seed`.
///
/// Every generator draws its randomness from this stream only, so sample `index` depends on
/// `(seed, index)` and on nothing else: not on the thread count, not on which samples were
/// generated before it. ChaCha8 with the seed as key and the index as stream gives 2^64
/// independent, non-overlapping streams per seed.
pub fn sample_rng(seed: u64, index: u64) -> rand_chacha::ChaCha8Rng {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}
