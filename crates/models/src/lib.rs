//! Models and the training core of lno, independent of any one data set.
//!
//! Models are built from serde configs (unknown keys rejected) on a `tch::nn::Path`, so their
//! weights live in a `VarStore` and run at any resolution the layers support. The training
//! core (losses, AdamW, schedules, checkpoints, normalisers) works on any `VarStore`.
//!
//! | Module | What |
//! |---|---|
//! | [`local_no`] | FNO and LocalNO (differential and/or local-integral branches beside the spectral conv) |
//! | [`unet`] | a 2-D U-Net baseline (resolution-bound) |
//! | [`sfno`] | SFNO, local SFNO and the alternating LSNO stack on the sphere |
//! | [`cloud`] | the operator on irregular point clouds (cylinder flow) |
//! | [`loss`] | quadrature-weighted relative Lp and H1 losses |
//! | [`optim`] | AdamW over tch tensors (complex-aware), gradient clipping |
//! | [`schedule`] | StepLR, cosine, ReduceLROnPlateau |
//! | [`normalizer`] | per-channel unit-Gaussian normalisers |
//! | [`checkpoint`] | atomic run directories, exact resume |

pub mod checkpoint;
pub mod cloud;
pub mod error;
pub mod local_no;
pub mod loss;
pub mod normalizer;
pub mod optim;
pub mod schedule;
pub mod sfno;
pub mod unet;

pub use error::{ModelError, Result};
