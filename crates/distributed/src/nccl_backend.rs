//! The NCCL backend (feature `nccl`): cudarc's NCCL bindings, loaded at run time, so the crate
//! builds on machines without CUDA; using it needs a GPU, the CUDA driver and `libnccl.so`
//! (the PyTorch wheel ships one in `site-packages/nvidia/nccl/lib`).
//!
//! NCCL has no launcher of its own: the 128-byte unique id is made by rank 0 and broadcast
//! through a bootstrap communicator (MPI for several processes, [`SingleProcess`] for a world
//! of one). The [`Communicator`] methods take host buffers, staged through the device on the
//! CUDA context's default stream and synchronised before returning, so results are ready.
//!
//! [`Nccl::with_bootstrap`] keeps the bootstrap communicator for the life of the NCCL one, so
//! that [`Communicator::abort`] goes through it: with MPI, `MPI_Abort` ends every rank of the
//! job, including those blocked in an NCCL collective.
//!
//! [`SingleProcess`]: crate::SingleProcess

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaStream, DriverError};
use cudarc::nccl::result::NcclError;
use cudarc::nccl::safe::{Comm, Id, ReduceOp};

use crate::{Communicator, DistError, Result, check_root};

/// Length of NCCL's unique id, in bytes.
const ID_BYTES: usize = 128;

fn driver(e: DriverError) -> DistError {
    DistError::Launch(format!("CUDA: {e:?}"))
}

fn nccl(e: NcclError) -> DistError {
    DistError::Launch(format!("NCCL: {e:?}"))
}

/// One rank of an NCCL world on one CUDA device; see the module docs.
pub struct Nccl {
    comm: Comm,
    stream: Arc<CudaStream>,
    ordinal: usize,
    // Declared last so that it is dropped (MPI finalised) after the NCCL communicator.
    bootstrap: Option<Box<dyn Communicator>>,
}

impl std::fmt::Debug for Nccl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nccl")
            .field("rank", &self.comm.rank())
            .field("world_size", &self.comm.world_size())
            .field("device", &self.ordinal)
            .field("bootstrap", &self.bootstrap.as_ref().map(|b| b.backend()))
            .finish()
    }
}

impl Nccl {
    /// Joins the NCCL world of `bootstrap`'s ranks on CUDA device `ordinal` (collective: every
    /// rank of `bootstrap` must call it).
    ///
    /// # Errors
    /// No such device, no loadable CUDA driver or NCCL library, or NCCL initialisation fails.
    pub fn new(bootstrap: &dyn Communicator, ordinal: usize) -> Result<Self> {
        let ctx = CudaContext::new(ordinal).map_err(driver)?;
        let stream = ctx.default_stream();
        let mut bytes = vec![0u8; ID_BYTES];
        if bootstrap.is_root() {
            let id = Id::new().map_err(nccl)?;
            bytes = id.internal().iter().map(|&c| c as u8).collect();
        }
        bootstrap.broadcast_bytes(&mut bytes, 0)?;
        if bytes.len() != ID_BYTES {
            return Err(DistError::invalid(
                "NCCL unique id",
                format!("{ID_BYTES} bytes"),
                bytes.len(),
            ));
        }
        let mut internal = [0 as std::ffi::c_char; ID_BYTES];
        for (dst, &src) in internal.iter_mut().zip(&bytes) {
            *dst = src as std::ffi::c_char;
        }
        let comm = Comm::from_rank(
            stream.clone(),
            bootstrap.rank(),
            bootstrap.world_size(),
            Id::uninit(internal),
        )
        .map_err(nccl)?;
        Ok(Self { comm, stream, ordinal, bootstrap: None })
    }

    /// Keeps `bootstrap` (the communicator given to [`Nccl::new`]) for the life of this one:
    /// [`abort`](Communicator::abort) then goes through the bootstrap's abort (`MPI_Abort`
    /// with MPI), which ends every rank. Separate from `new` so that a caller can still abort
    /// through the bootstrap when `new` fails on one rank.
    #[must_use]
    pub fn with_bootstrap(mut self, bootstrap: Box<dyn Communicator>) -> Self {
        self.bootstrap = Some(bootstrap);
        self
    }

    /// The CUDA device this rank's NCCL communicator runs on.
    pub fn ordinal(&self) -> usize {
        self.ordinal
    }
}

impl Communicator for Nccl {
    fn rank(&self) -> usize {
        self.comm.rank()
    }

    fn world_size(&self) -> usize {
        self.comm.world_size()
    }

    fn backend(&self) -> &'static str {
        "nccl"
    }

    fn barrier(&self) -> Result<()> {
        // NCCL has no barrier; a one-value all-reduce that every rank waits for is one.
        self.all_reduce_sum(&mut [0.0])
    }

    fn broadcast_f32(&self, buf: &mut [f32], root: usize) -> Result<()> {
        check_root(root, self.world_size())?;
        let mut dev = self.stream.clone_htod(buf).map_err(driver)?;
        self.comm.broadcast_in_place(&mut dev, root as i32).map_err(nccl)?;
        self.stream.memcpy_dtoh(&dev, buf).map_err(driver)?;
        self.stream.synchronize().map_err(driver)
    }

    fn broadcast_bytes(&self, buf: &mut Vec<u8>, root: usize) -> Result<()> {
        check_root(root, self.world_size())?;
        let mut len = [buf.len() as u64];
        let mut dev_len = self.stream.clone_htod(&len).map_err(driver)?;
        self.comm.broadcast_in_place(&mut dev_len, root as i32).map_err(nccl)?;
        self.stream.memcpy_dtoh(&dev_len, &mut len).map_err(driver)?;
        self.stream.synchronize().map_err(driver)?;
        buf.resize(len[0] as usize, 0);
        if buf.is_empty() {
            return Ok(());
        }
        let mut dev = self.stream.clone_htod(buf.as_slice()).map_err(driver)?;
        self.comm.broadcast_in_place(&mut dev, root as i32).map_err(nccl)?;
        self.stream.memcpy_dtoh(&dev, buf.as_mut_slice()).map_err(driver)?;
        self.stream.synchronize().map_err(driver)
    }

    fn all_reduce_sum(&self, buf: &mut [f32]) -> Result<()> {
        let mut dev = self.stream.clone_htod(buf).map_err(driver)?;
        self.comm.all_reduce_in_place(&mut dev, &ReduceOp::Sum).map_err(nccl)?;
        self.stream.memcpy_dtoh(&dev, buf).map_err(driver)?;
        self.stream.synchronize().map_err(driver)
    }

    fn abort(&self, message: &str) -> ! {
        if let Some(bootstrap) = &self.bootstrap {
            // MPI_Abort ends every rank, also those blocked in an NCCL collective.
            bootstrap.abort(message)
        }
        // Exiting drops nothing; peers blocked in NCCL are ended by the launcher (mpirun) or
        // by NCCL's own timeout.
        eprintln!("{message}");
        std::process::exit(1)
    }
}
