//! The sphere and point-cloud experiments: shallow water on the rotating sphere (SFNO vs local
//! SFNO) and flow past a cylinder on an irregular cloud (FNO-processor baseline vs CloudNo with
//! LocalNO blocks).
//!
//! What differs from the regular-grid experiments lives here, so that `train.rs` only
//! dispatches: the two task kinds ([`SphereTask`], [`CloudTask`]), the domain each task
//! integrates over ([`TaskGeometry`], which gives the loss its quadrature weights: the sphere
//! grid's surface weights or the cloud's lumped Delaunay weights) and the model wrappers.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use lno_models::cloud::{CloudGeometry, CloudNo};
use lno_models::local_no::Operator;
use lno_models::loss::Measure;
use lno_models::normalizer::UnitGaussianNormalizer;
use lno_models::sfno::{SphereGrid, SphereNo};
use lno_quadrature::SphereGridKind;
use lno_solvers::writer::Dataset;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::config::{ExperimentFile, Profile};
use crate::train::TaskSpec;

/// `kind = "sphere"`: one pair per sample from two channel-first fields `[C, nlat, nlon]`
/// (the shallow-water set's `x` = (φ, ζ, δ)(t) and `y` = the same one interval later).
///
/// The channels have scales 10⁵ m² s⁻² (φ) and 10⁻⁵ s⁻¹ (ζ, δ), and φ is dominated by its mean,
/// so a relative error of raw φ says nothing. As torch-harmonics' data set does, inputs *and*
/// targets are standardised with one per-channel mean and deviation (fitted on the training
/// inputs, quadrature-weighted), and losses and errors are measured on the standardised fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SphereTask {
    /// Input field name.
    pub input: String,
    /// Target field name.
    pub output: String,
    /// Names of the channels of both fields (their count is checked against the data).
    pub channels: Vec<String>,
    /// The grid the fields live on.
    pub grid: SphereGrid,
    /// `[nlat, nlon]` (checked against the data; filled into the models' `img_size`).
    pub shape: [usize; 2],
    /// Append `sin(latitude)` as an extra input channel (default false). The Coriolis
    /// parameter `2Ω sin(latitude)` is the one term of the equations that is not rotation
    /// invariant, and SFNO's spectral and DISCO layers are, so without it (or th's learned
    /// positional embedding, not implemented) the models cannot tell latitudes apart.
    #[serde(default)]
    pub latitude_input: bool,
}

/// `kind = "cloud"`: one pair per sample on a fixed irregular point cloud. Fields `[n, C]`
/// (the cylinder set's `a` = (u, v, p)(t) and `u` = the state Δt later); each `scalars` field
/// (one value per sample, e.g. the Reynolds number) is broadcast over the points as an extra
/// input channel. The cloud (`points` `[n, 2]`, `weights` `[n]`) is read from the data and must
/// be the same in the train and test sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudTask {
    /// Input field name (`[n, C]`).
    pub input: String,
    /// Target field name (`[n, C]`).
    pub output: String,
    /// Names of the channels of both fields.
    pub channels: Vec<String>,
    /// Per-sample scalar fields (`[1]`) appended to the input as constant channels.
    #[serde(default)]
    pub scalars: Vec<String>,
    /// Field with the point coordinates `[n, 2]`.
    #[serde(default = "default_points")]
    pub points: String,
    /// Field with the points' quadrature weights `[n]`.
    #[serde(default = "default_weights")]
    pub weights: String,
}

fn default_points() -> String {
    "points".into()
}

fn default_weights() -> String {
    "weights".into()
}

/// A field of `data` as a tensor `[N, …]`, or an error naming the fields it has.
pub fn field_tensor(data: &Dataset, dir: &Path, name: &str) -> Result<Tensor> {
    let f = data.field(name).with_context(|| {
        format!(
            "{}: no field `{name}`; the data set has {}",
            dir.display(),
            data.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
        )
    })?;
    let shape: Vec<i64> = f.shape.iter().map(|&s| s as i64).collect();
    Ok(Tensor::from_slice(&f.data).view(shape.as_slice()))
}

impl SphereTask {
    /// The pairs `[N, C, nlat, nlon]` of `data`, unstandardised.
    pub fn pairs(&self, data: &Dataset, dir: &Path) -> Result<(Tensor, Tensor)> {
        let expected = [self.channels.len() as i64, self.shape[0] as i64, self.shape[1] as i64];
        let load = |name: &str| -> Result<Tensor> {
            let t = field_tensor(data, dir, name)?;
            ensure!(
                t.dim() == 4 && t.size()[1..] == expected,
                "{}: field `{name}` has sample shape {:?}; task.channels and task.shape expect {expected:?}",
                dir.display(),
                &t.size()[1..]
            );
            Ok(t)
        };
        let (mut x, y) = (load(&self.input)?, load(&self.output)?);
        if self.latitude_input {
            let grid = self.sphere_grid()?;
            let sin_lat: Vec<f32> = grid.colatitudes().iter().map(|t| t.cos() as f32).collect();
            let [nlat, nlon] = [self.shape[0] as i64, self.shape[1] as i64];
            let n = x.size()[0];
            let channel = Tensor::from_slice(&sin_lat)
                .view([1, 1, nlat, 1])
                .expand([n, 1, nlat, nlon], false);
            x = Tensor::cat(&[x, channel], 1);
        }
        Ok((x, y))
    }

    /// Input channels: the state's, plus one with `latitude_input`.
    pub fn in_channels(&self) -> usize {
        self.channels.len() + usize::from(self.latitude_input)
    }

    /// The quadrature grid.
    pub fn sphere_grid(&self) -> Result<lno_quadrature::SphereGrid> {
        let kind: SphereGridKind = self.grid.into();
        lno_quadrature::SphereGrid::new(kind, self.shape[0], self.shape[1])
            .with_context(|| format!("task.shape {:?} on the {:?} grid", self.shape, self.grid))
    }
}

impl CloudTask {
    /// The pairs `[N, C (+ scalars), n]` and `[N, C, n]` of `data`.
    pub fn pairs(&self, data: &Dataset, dir: &Path) -> Result<(Tensor, Tensor)> {
        let c = self.channels.len() as i64;
        let load = |name: &str| -> Result<Tensor> {
            let t = field_tensor(data, dir, name)?;
            ensure!(
                t.dim() == 3 && t.size()[2] == c,
                "{}: field `{name}` has sample shape {:?}; task.channels expects [n, {c}]",
                dir.display(),
                &t.size()[1..]
            );
            Ok(t.permute([0, 2, 1]).contiguous())
        };
        let (mut x, y) = (load(&self.input)?, load(&self.output)?);
        let (n, points) = (x.size()[0], x.size()[2]);
        for name in &self.scalars {
            let s = field_tensor(data, dir, name)?;
            ensure!(
                s.size() == [n, 1],
                "{}: scalar field `{name}` has shape {:?}; expected one value per sample [{n}, 1]",
                dir.display(),
                s.size()
            );
            x = Tensor::cat(&[x, s.unsqueeze(2).expand([n, 1, points], false)], 1);
        }
        Ok((x, y))
    }

    /// The cloud of the first sample of `data`, checked to be the same in every sample.
    pub fn cloud(&self, data: &Dataset, dir: &Path) -> Result<CloudGeometry> {
        let points = field_tensor(data, dir, &self.points)?.to_kind(Kind::Double);
        let weights = field_tensor(data, dir, &self.weights)?.to_kind(Kind::Double);
        ensure!(
            points.dim() == 3 && points.size()[2] == 2 && weights.dim() == 2,
            "{}: expected `{}` [n, 2] and `{}` [n] per sample, got {:?} and {:?}",
            dir.display(),
            self.points,
            self.weights,
            &points.size()[1..],
            &weights.size()[1..]
        );
        // Every sample carries the cloud; a generator change mid-set would show up here.
        let varies =
            |t: &Tensor| t.f_sub(&t.narrow(0, 0, 1)).map(|d| d.abs().max().double_value(&[]));
        ensure!(
            varies(&points)? == 0.0 && varies(&weights)? == 0.0,
            "{}: the point cloud differs between samples; the cloud task needs one fixed cloud",
            dir.display()
        );
        let p: Vec<f64> = Vec::try_from(points.get(0).flatten(0, -1))?;
        let w: Vec<f64> = Vec::try_from(weights.get(0))?;
        let p = p.chunks(2).map(|c| [c[0], c[1]]).collect();
        Ok(CloudGeometry::new(p, w)?)
    }
}

/// The domain a task's fields live on; it gives losses their quadrature weights and
/// point-cloud models their cloud.
#[derive(Debug, Clone)]
pub enum TaskGeometry {
    /// A regular grid on a box (`Measure::Uniform` with the task's `domain_length`).
    Grid,
    /// A sphere grid (surface weights, summing to 4π).
    Sphere(lno_quadrature::SphereGrid),
    /// A fixed irregular cloud (its quadrature weights).
    Cloud(CloudGeometry),
}

impl TaskGeometry {
    /// The quadrature measure of a loss on this domain (`lengths`: the box of a regular grid).
    pub fn measure(&self, lengths: &[f64]) -> Result<Measure> {
        Ok(match self {
            TaskGeometry::Grid => Measure::Uniform { lengths: lengths.to_vec() },
            TaskGeometry::Sphere(grid) => Measure::sphere(grid),
            TaskGeometry::Cloud(cloud) => {
                Measure::weights(cloud.weights(), &[cloud.weights().len() as i64])?
            }
        })
    }

    /// The cloud, for point-cloud models.
    pub fn cloud(&self) -> Result<&CloudGeometry> {
        match self {
            TaskGeometry::Cloud(c) => Ok(c),
            _ => anyhow::bail!(
                "models of kind \"cloud-no\" need a task of kind \"cloud\" (a point cloud in the data)"
            ),
        }
    }
}

/// The domain of `task`, read from its `[train, test]` splits; for a sphere task also
/// standardises the `[x_train, y_train, x_test, y_test]` pairs ([`standardize_sphere`]).
///
/// # Errors
/// A sphere task whose `shape` is not a valid grid; a cloud task whose splits hold different
/// clouds or no cloud fields.
pub fn task_geometry(
    task: &TaskSpec,
    splits: [(&Dataset, &PathBuf); 2],
    pairs: [&mut Tensor; 4],
) -> Result<TaskGeometry> {
    Ok(match task {
        TaskSpec::Sphere(t) => {
            let grid = t.sphere_grid()?;
            let [x_train, y_train, x_test, y_test] = pairs;
            standardize_sphere(&grid, x_train, y_train, x_test, y_test)?;
            TaskGeometry::Sphere(grid)
        }
        TaskSpec::Cloud(t) => {
            let [(train, train_dir), (test, test_dir)] = splits;
            let cloud = t.cloud(train, train_dir)?;
            ensure!(
                t.cloud(test, test_dir)? == cloud,
                "{} and {}: the train and test sets were sampled on different clouds",
                train_dir.display(),
                test_dir.display()
            );
            TaskGeometry::Cloud(cloud)
        }
        TaskSpec::Operator { .. } | TaskSpec::TimeStep { .. } => TaskGeometry::Grid,
    })
}

/// Fills `img_size` and `grid` of a `sphere-no` model section from the sphere task (other
/// model kinds are left alone, so their own keys are checked as usual).
///
/// # Errors
/// The model section is missing or malformed (the error names it).
pub fn sphere_model_defaults(
    file: &mut ExperimentFile,
    profile: Profile,
    section: &str,
    task: &SphereTask,
) -> Result<()> {
    let table: toml::Table = file.section(profile, section)?;
    if table.get("kind").and_then(toml::Value::as_str) != Some("sphere-no") {
        return Ok(());
    }
    let size =
        toml::Value::Array(task.shape.iter().map(|&n| toml::Value::Integer(n as i64)).collect());
    file.set_default(profile, section, "img_size", size);
    file.set_default(profile, section, "grid", toml::Value::try_from(task.grid)?);
    Ok(())
}

/// Standardises inputs and targets of a sphere task with one per-channel normaliser fitted on
/// the training inputs (quadrature-weighted), as torch-harmonics' data set does; see
/// [`SphereTask`].
pub fn standardize_sphere(
    grid: &lno_quadrature::SphereGrid,
    x_train: &mut Tensor,
    y_train: &mut Tensor,
    x_test: &mut Tensor,
    y_test: &mut Tensor,
) -> Result<()> {
    let w = Tensor::from_slice(grid.weights()).view([grid.nlat() as i64, 1]);
    // The state channels are the targets'; inputs may carry extra (already O(1)) channels.
    let c = y_train.size()[1];
    let state = |x: &Tensor| x.narrow(1, 0, c);
    let norm = UnitGaussianNormalizer::fit(&state(x_train).to_kind(Kind::Double), Some(&w), 1e-12)?;
    for x in [x_train, x_test] {
        let extra = x.size()[1] - c;
        *x = Tensor::cat(&[norm.encode(&state(x))?, x.narrow(1, c, extra)], 1);
    }
    for y in [y_train, y_test] {
        *y = norm.encode(y)?;
    }
    Ok(())
}

/// [`SphereNo`] as a training [`Operator`].
#[derive(Debug)]
pub struct SphereOperator(pub SphereNo);

impl Operator for SphereOperator {
    fn f_forward_t(&self, x: &Tensor, _train: bool) -> lno_models::Result<Tensor> {
        self.0.f_forward(x)
    }
}

/// [`CloudNo`] as a training [`Operator`].
#[derive(Debug)]
pub struct CloudOperator(pub CloudNo);

impl Operator for CloudOperator {
    fn f_forward_t(&self, x: &Tensor, _train: bool) -> lno_models::Result<Tensor> {
        self.0.f_forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cloud_measure_integrates_one_to_the_sum_of_the_weights() {
        let cloud =
            CloudGeometry::new(vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], vec![0.25, 0.5, 0.25])
                .unwrap();
        let m = TaskGeometry::Cloud(cloud).measure(&[]).unwrap();
        let Measure::Weights(w) = m else { panic!("expected explicit weights") };
        // Three f64 weights summing to 1 exactly in binary.
        assert_eq!(w.sum(Kind::Double).double_value(&[]), 1.0);
    }
}
