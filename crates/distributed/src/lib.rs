//! Communicators for data-parallel training, independent of libtorch.
//!
//! A [`Communicator`] is the little a data-parallel trainer needs from its transport: its rank
//! and the world size, a barrier, a broadcast of the initial weights from rank 0, and an
//! in-place all-reduce of one flat `f32` buffer (all gradients packed together, so one
//! collective per step). Backends:
//!
//! * [`SingleProcess`]: world of one, every operation a no-op; always built.
//! * `Mpi` (cargo feature `mpi`): the `mpi` crate (rsmpi) over the system's Open MPI or
//!   MPICH, for CPU clusters. Host buffers.
//! * `Nccl` (cargo feature `nccl`): cudarc's NCCL bindings, loaded at run time, on one CUDA
//!   device per rank; its unique id travels over a bootstrap communicator (MPI, or
//!   [`SingleProcess`] for a world of one), which `Nccl::with_bootstrap` keeps for `abort`.
//!
//! [`from_env`] picks the backend from how the process was started (`mpirun` sets
//! `OMPI_COMM_WORLD_SIZE`, MPICH and Slurm's PMI set `PMI_SIZE`); `lno train` chooses NCCL on
//! top of it for CUDA training (`lno_experiments::parallel`, `LNO_DIST_BACKEND`).
//!
//! This crate never links libtorch: the trainer copies gradients into a `&mut [f32]` and back.

#[cfg(feature = "mpi")]
mod mpi_backend;
#[cfg(feature = "nccl")]
mod nccl_backend;
mod single;

#[cfg(feature = "mpi")]
pub use mpi_backend::Mpi;
#[cfg(feature = "nccl")]
pub use nccl_backend::Nccl;
pub use single::SingleProcess;

/// Errors of the communicators; each names the argument at fault with expected vs. got.
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    /// An argument is out of range (a root rank beyond the world, a length mismatch, ...).
    #[error("invalid `{name}`: expected {expected}, got {got}")]
    Invalid { name: String, expected: String, got: String },
    /// The process runs under an MPI launcher but MPI cannot be used.
    #[error("{0}")]
    Launch(String),
}

impl DistError {
    /// An invalid-argument error naming the parameter, what was expected and what was given.
    pub fn invalid(
        name: impl Into<String>,
        expected: impl Into<String>,
        got: impl ToString,
    ) -> Self {
        Self::Invalid { name: name.into(), expected: expected.into(), got: got.to_string() }
    }
}

/// Result of the communicators.
pub type Result<T, E = DistError> = std::result::Result<T, E>;

/// What a data-parallel trainer needs from its transport; see the crate docs.
///
/// Every rank must call the collective operations (everything but [`rank`](Self::rank),
/// [`world_size`](Self::world_size) and [`backend`](Self::backend)) in the same order with
/// buffers of the same length, as in MPI.
pub trait Communicator: std::fmt::Debug {
    /// This process's rank, `0..world_size()`.
    fn rank(&self) -> usize;
    /// Number of processes.
    fn world_size(&self) -> usize;
    /// Name of the backend, for logs (`"single"`, `"mpi"`, ...).
    fn backend(&self) -> &'static str;
    /// Waits until every rank has reached this call.
    fn barrier(&self) -> Result<()>;
    /// Replaces `buf` on every rank with `root`'s `buf`; lengths must agree.
    fn broadcast_f32(&self, buf: &mut [f32], root: usize) -> Result<()>;
    /// Replaces `buf` on every rank with `root`'s `buf`; other ranks' lengths may differ (the
    /// length is sent first).
    fn broadcast_bytes(&self, buf: &mut Vec<u8>, root: usize) -> Result<()>;
    /// In place: every rank's `buf` becomes the elementwise sum over ranks.
    fn all_reduce_sum(&self, buf: &mut [f32]) -> Result<()>;
    /// Ends every rank of the job with `message` on stderr: a failure on one rank would
    /// otherwise leave the others waiting forever in their next collective.
    fn abort(&self, message: &str) -> !;

    /// In place: every rank's `buf` becomes the elementwise mean over ranks.
    fn all_reduce_mean(&self, buf: &mut [f32]) -> Result<()> {
        self.all_reduce_sum(buf)?;
        let inv = 1.0 / self.world_size() as f32;
        buf.iter_mut().for_each(|v| *v *= inv);
        Ok(())
    }

    /// Whether this is rank 0, the one that writes files.
    fn is_root(&self) -> bool {
        self.rank() == 0
    }
}

/// Checks `root` against the world size (shared by the backends).
pub(crate) fn check_root(root: usize, world: usize) -> Result<()> {
    if root < world {
        Ok(())
    } else {
        Err(DistError::invalid("root", format!("a rank below the world size {world}"), root))
    }
}

/// Number of processes an MPI launcher started this one among, if any (`OMPI_COMM_WORLD_SIZE`
/// from Open MPI's `mpirun`, `PMI_SIZE` from MPICH's Hydra and Slurm's PMI).
pub fn launcher_world_size() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"]
        .iter()
        .find_map(|key| std::env::var(key).ok().and_then(|v| v.parse().ok()))
}

/// The communicator for this process: MPI when started by an MPI launcher (and built with the
/// `mpi` feature), otherwise a single process.
///
/// # Errors
/// Started by an MPI launcher with more than one rank but built without the `mpi` feature
/// (every rank would otherwise train alone and overwrite the others' checkpoints), or MPI
/// fails to initialise.
pub fn from_env() -> Result<Box<dyn Communicator>> {
    match launcher_world_size() {
        #[cfg(feature = "mpi")]
        Some(_) => Ok(Box::new(Mpi::init()?)),
        #[cfg(not(feature = "mpi"))]
        Some(n) if n > 1 => Err(DistError::Launch(format!(
            "started by an MPI launcher with {n} ranks, but this binary was built without MPI; \
             rebuild with `--features mpi` (e.g. `cargo build -p lno-experiments --features mpi`)"
        ))),
        _ => Ok(Box::new(SingleProcess)),
    }
}
