//! The MPI backend (feature `mpi`): rsmpi over the system's Open MPI or MPICH.
//!
//! MPI's default error handler is `MPI_ERRORS_ARE_FATAL`, so a failed collective or a rank
//! that died ends the whole job (Open MPI's `mpirun` then reports which rank exited); the
//! methods therefore only return errors for bad arguments.

use mpi::collective::SystemOperation;
use mpi::topology::{Communicator as _, SimpleCommunicator};
use mpi::traits::{CommunicatorCollectives, Root};

use crate::{Communicator, DistError, Result, check_root};

/// The MPI world; MPI is finalised when this is dropped.
pub struct Mpi {
    // Declared before `universe` so that it is dropped before MPI_Finalize.
    world: SimpleCommunicator,
    _universe: mpi::environment::Universe,
    rank: usize,
    size: usize,
}

impl std::fmt::Debug for Mpi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mpi").field("rank", &self.rank).field("size", &self.size).finish()
    }
}

impl Mpi {
    /// Initialises MPI (once per process).
    ///
    /// # Errors
    /// MPI was already initialised in this process.
    pub fn init() -> Result<Self> {
        let universe = mpi::initialize().ok_or_else(|| {
            DistError::Launch("MPI is already initialised in this process".into())
        })?;
        let world = universe.world();
        let rank = world.rank() as usize;
        let size = world.size() as usize;
        Ok(Self { world, _universe: universe, rank, size })
    }
}

impl Communicator for Mpi {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.size
    }

    fn backend(&self) -> &'static str {
        "mpi"
    }

    fn barrier(&self) -> Result<()> {
        self.world.barrier();
        Ok(())
    }

    fn broadcast_f32(&self, buf: &mut [f32], root: usize) -> Result<()> {
        check_root(root, self.size)?;
        self.world.process_at_rank(root as i32).broadcast_into(buf);
        Ok(())
    }

    fn broadcast_bytes(&self, buf: &mut Vec<u8>, root: usize) -> Result<()> {
        check_root(root, self.size)?;
        let process = self.world.process_at_rank(root as i32);
        let mut len = buf.len() as u64;
        process.broadcast_into(&mut len);
        buf.resize(len as usize, 0);
        process.broadcast_into(&mut buf[..]);
        Ok(())
    }

    fn all_reduce_sum(&self, buf: &mut [f32]) -> Result<()> {
        // rsmpi has no MPI_IN_PLACE; one copy of the send buffer is cheap next to a backward.
        let send = buf.to_vec();
        self.world.all_reduce_into(&send[..], buf, SystemOperation::sum());
        Ok(())
    }

    fn abort(&self, message: &str) -> ! {
        eprintln!("{message}");
        self.world.abort(1)
    }
}
