//! Data-parallel glue between a `VarStore` and an `lno_distributed::Communicator`.
//!
//! The communicator moves flat `f32` host buffers only (it knows nothing of libtorch); this
//! module packs the model's variables or gradients into one such buffer, in the order of their
//! sorted names (the same on every rank), and unpacks the result. One collective per step.
//!
//! What is averaged: each rank computes the mean loss over its part of the global batch and
//! scales its gradients by `local pairs / global pairs` before the all-reduce sum, so the sum
//! is the gradient of the mean loss over the global batch — the single-process gradient — even
//! when the batch does not split evenly. Scalars that must agree across ranks (the loss that
//! drives the schedule) ride along in the same buffer.
//!
//! Which communicator `lno train` uses, and which device each rank trains on, is
//! [`choose_backend`]'s pure decision (MPI, NCCL over MPI for CUDA, or one process; the
//! `LNO_DIST_BACKEND` variable overrides it); [`train_distributed`] carries it out.

use anyhow::{Context, Result, bail, ensure};
use lno_distributed::{Communicator, SingleProcess};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::config::ExperimentFile;
use crate::train::{ModelResult, TrainOptions, train_with};

/// The environment variable that chooses `lno train`'s communicator: `auto` (the default),
/// `mpi`, `nccl` or `single`; see [`choose_backend`].
pub const BACKEND_VAR: &str = "LNO_DIST_BACKEND";

/// The variables that give a rank's node-local rank, in order of precedence: Open MPI, MPICH
/// (Hydra), torchrun-style launchers, Slurm's `srun`. Under a launcher with several ranks,
/// `--device cuda` means CUDA device (local rank); none set means 0.
pub const LOCAL_RANK_VARS: [&str; 4] =
    ["OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "LOCAL_RANK", "SLURM_LOCALID"];

/// What `--device` asked for. `cuda` without an index means "this rank's GPU": device 0 in a
/// world of one, the node-local rank's device under a launcher with several ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRequest {
    /// `cpu`.
    Cpu,
    /// `cuda`: this rank's GPU.
    Cuda,
    /// `cuda:N`: exactly device `N` (refused under a launcher with several ranks).
    CudaIndex(usize),
}

impl DeviceRequest {
    /// Parses `cpu`, `cuda` or `cuda:N`.
    ///
    /// # Errors
    /// Anything else; the message names `--device`.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "cpu" => Self::Cpu,
            "cuda" => Self::Cuda,
            other => match other.strip_prefix("cuda:").and_then(|n| n.parse().ok()) {
                Some(n) => Self::CudaIndex(n),
                None => bail!("--device: expected cpu, cuda or cuda:N, got `{other}`"),
            },
        })
    }

    /// The device in a world of one process (`cuda` is device 0).
    pub fn single_device(self) -> Device {
        match self {
            Self::Cpu => Device::Cpu,
            Self::Cuda => Device::Cuda(0),
            Self::CudaIndex(n) => Device::Cuda(n),
        }
    }
}

/// The launch environment the communicator choice depends on (read by
/// [`LaunchEnv::read`]; spelled out so that [`choose_backend`] is a pure function).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchEnv {
    /// The value of [`BACKEND_VAR`], if set.
    pub backend: Option<String>,
    /// The world size an MPI launcher announced ([`lno_distributed::launcher_world_size`]).
    pub launcher_world: Option<usize>,
    /// The values of [`LOCAL_RANK_VARS`], in the same order.
    pub local_rank: [Option<String>; 4],
    /// CUDA devices this process sees (only read for a CUDA request).
    pub cuda_devices: usize,
}

impl LaunchEnv {
    /// This process's environment; counts CUDA devices only when `request` is CUDA.
    pub fn read(request: DeviceRequest) -> Self {
        Self {
            backend: std::env::var(BACKEND_VAR).ok(),
            launcher_world: lno_distributed::launcher_world_size(),
            local_rank: LOCAL_RANK_VARS.map(|key| std::env::var(key).ok()),
            cuda_devices: if request == DeviceRequest::Cpu {
                0
            } else {
                tch::Cuda::device_count().max(0) as usize
            },
        }
    }
}

/// The cargo features of this build that the choice depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// `mpi`: the MPI communicator (needed for more than one rank).
    pub mpi: bool,
    /// `nccl`: the NCCL communicator for CUDA training.
    pub nccl: bool,
}

impl Features {
    /// The features this binary was built with.
    pub const BUILT: Self = Self { mpi: cfg!(feature = "mpi"), nccl: cfg!(feature = "nccl") };
}

/// The communicator that carries the ranks (and the NCCL unique id when NCCL is used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bootstrap {
    /// A world of one.
    Single,
    /// MPI (under a launcher, or asked for with `LNO_DIST_BACKEND=mpi`).
    Mpi,
}

/// What [`choose_backend`] decided for this rank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendPlan {
    /// The launcher's communicator.
    pub bootstrap: Bootstrap,
    /// `Some(ordinal)`: NCCL on CUDA device `ordinal`, on top of `bootstrap`; `None`:
    /// `bootstrap` itself moves the (host) buffers.
    pub nccl: Option<usize>,
    /// The device this rank trains on.
    pub device: Device,
    /// One line for stderr (rank 0), e.g. that CUDA training falls back to MPI.
    pub note: Option<String>,
}

/// The node-local rank from the first of [`LOCAL_RANK_VARS`] that is set, else 0.
fn local_rank(values: &[Option<String>; 4]) -> Result<usize> {
    for (key, value) in LOCAL_RANK_VARS.iter().zip(values) {
        if let Some(v) = value {
            return v
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{key}: expected a node-local rank >= 0, got `{v}`"));
        }
    }
    Ok(0)
}

/// Chooses `lno train`'s communicator and this rank's device; a pure function of the device
/// request, the launch environment and the features built.
///
/// `LNO_DIST_BACKEND` ([`BACKEND_VAR`]):
/// * `auto` (or unset): MPI under a launcher, else a single process; with CUDA and more than
///   one rank, NCCL on top of MPI when built with `nccl`, else MPI over host buffers with a
///   note saying how to rebuild.
/// * `nccl`: NCCL even in a world of one (that is how one GPU exercises it); needs the `nccl`
///   feature and `--device cuda`.
/// * `mpi`: MPI over host buffers, also for CUDA (needs the `mpi` feature).
/// * `single`: one process; refused under a launcher with several ranks.
///
/// Under a launcher with several ranks, `--device cuda` becomes CUDA device (node-local rank)
/// ([`LOCAL_RANK_VARS`]) and `--device cuda:N` is refused, since every rank would share one GPU
/// (choose a node's GPUs with `CUDA_VISIBLE_DEVICES` instead).
///
/// # Errors
/// Each names what is at fault (the variable, `--device`, or the feature to build with),
/// with what was expected and what was got.
pub fn choose_backend(
    request: DeviceRequest,
    env: &LaunchEnv,
    features: Features,
) -> Result<BackendPlan> {
    #[derive(PartialEq)]
    enum Mode {
        Auto,
        Single,
        Mpi,
        Nccl,
    }
    let mode = match env.backend.as_deref() {
        None | Some("auto") => Mode::Auto,
        Some("single") => Mode::Single,
        Some("mpi") => Mode::Mpi,
        Some("nccl") => Mode::Nccl,
        Some(other) => {
            bail!("{BACKEND_VAR}: expected one of auto, mpi, nccl, single, got `{other}`")
        }
    };
    let world = env.launcher_world.unwrap_or(1);
    ensure!(
        mode != Mode::Mpi || features.mpi,
        "{BACKEND_VAR}=mpi: this lno was built without the `mpi` feature; rebuild with \
         `--features mpi` (e.g. `cargo build -p lno-experiments --features mpi`)"
    );
    ensure!(
        mode != Mode::Nccl || features.nccl,
        "{BACKEND_VAR}=nccl: this lno was built without the `nccl` feature; rebuild with \
         `--features nccl` (`--features mpi,nccl` for several ranks)"
    );
    ensure!(
        world == 1 || features.mpi,
        "started by an MPI launcher with {world} ranks, but this lno was built without MPI; \
         rebuild with `--features mpi` (`--features mpi,nccl` for GPUs)"
    );
    ensure!(
        world == 1 || mode != Mode::Single,
        "{BACKEND_VAR}=single: expected a world of one process, got a launcher with {world} \
         ranks (each would train alone and overwrite the others' checkpoints)"
    );

    let count = env.cuda_devices;
    let device = match request {
        DeviceRequest::Cpu => Device::Cpu,
        DeviceRequest::CudaIndex(n) if world > 1 => bail!(
            "--device: expected `cuda` under a launcher with {world} ranks (each rank then \
             takes the GPU of its node-local rank), got `cuda:{n}`, which would put every rank \
             on one GPU; choose a node's GPUs with CUDA_VISIBLE_DEVICES instead"
        ),
        DeviceRequest::CudaIndex(n) => {
            ensure!(
                n < count,
                "--device cuda:{n}: this machine has {count} CUDA devices (see `lno doctor`)"
            );
            Device::Cuda(n)
        }
        DeviceRequest::Cuda if world > 1 => {
            let r = local_rank(&env.local_rank)?;
            ensure!(
                r < count,
                "--device cuda: this rank's node-local rank is {r}, so it needs CUDA device \
                 {r}, but this node has {count} CUDA devices; start at most {count} ranks per \
                 node (local rank from {})",
                LOCAL_RANK_VARS.join(", ")
            );
            Device::Cuda(r)
        }
        DeviceRequest::Cuda => {
            ensure!(count > 0, "--device cuda: this machine has no CUDA device (see `lno doctor`)");
            Device::Cuda(0)
        }
    };

    let launched = env.launcher_world.is_some() && features.mpi;
    let bootstrap = if launched || mode == Mode::Mpi { Bootstrap::Mpi } else { Bootstrap::Single };
    let on_cuda = match device {
        Device::Cuda(ordinal) => Some(ordinal),
        _ => None,
    };
    let (nccl, note) = match mode {
        Mode::Nccl => {
            let Some(ordinal) = on_cuda else {
                bail!("{BACKEND_VAR}=nccl: expected `--device cuda`, got `--device cpu`")
            };
            (Some(ordinal), None)
        }
        Mode::Auto if world > 1 && on_cuda.is_some() => {
            if features.nccl {
                (on_cuda, None)
            } else {
                let note = "distributed: CUDA training over MPI with host buffers (slower): this \
                            lno was built without the `nccl` feature; rebuild with \
                            `--features mpi,nccl` for NCCL";
                (None, Some(note.to_string()))
            }
        }
        _ => (None, None),
    };
    Ok(BackendPlan { bootstrap, nccl, device, note })
}

/// The communicator of `plan`: its bootstrap, or NCCL on top of it (which keeps it, so that
/// `abort` still ends every rank through MPI).
fn connect(plan: &BackendPlan) -> Result<Box<dyn Communicator>> {
    let bootstrap: Box<dyn Communicator> = match plan.bootstrap {
        Bootstrap::Single => Box::new(SingleProcess),
        #[cfg(feature = "mpi")]
        Bootstrap::Mpi => Box::new(lno_distributed::Mpi::init()?),
        #[cfg(not(feature = "mpi"))]
        Bootstrap::Mpi => bail!("MPI: this lno was built without the `mpi` feature"),
    };
    let Some(ordinal) = plan.nccl else {
        return Ok(bootstrap);
    };
    #[cfg(feature = "nccl")]
    {
        let (rank, world) = (bootstrap.rank(), bootstrap.world_size());
        match lno_distributed::Nccl::new(bootstrap.as_ref(), ordinal) {
            Ok(nccl) => Ok(Box::new(nccl.with_bootstrap(bootstrap))),
            // The other ranks may already wait in NCCL's start-up: end them all.
            Err(e) if world > 1 => bootstrap.abort(&format!(
                "distributed: rank {rank} of {world} could not start NCCL on cuda:{ordinal}: \
                 {e}; aborting the job"
            )),
            Err(e) => Err(e).with_context(|| format!("starting NCCL on cuda:{ordinal}")),
        }
    }
    #[cfg(not(feature = "nccl"))]
    bail!("NCCL on cuda:{ordinal}: this lno was built without the `nccl` feature")
}

/// `lno train` as started: one process, or one rank of an MPI job (`mpirun -np N lno train …`,
/// detected by [`lno_distributed::launcher_world_size`]). The communicator and this rank's
/// device come from [`choose_backend`] (NCCL for CUDA training over several ranks when built
/// with `nccl`); `opts.device` is replaced by the device `request` resolves to. Returns the
/// comparison rows on rank 0 and `None` on the other ranks.
///
/// A failure on one rank of a multi-rank job aborts every rank with a message naming the rank,
/// instead of leaving the others blocked in their next all-reduce.
///
/// # Errors
/// A launch this build cannot serve, a bad `LNO_DIST_BACKEND` or `--device`, or training
/// fails (single process).
pub fn train_distributed(
    file: &ExperimentFile,
    opts: &TrainOptions,
    request: DeviceRequest,
) -> Result<Option<Vec<ModelResult>>> {
    let plan = choose_backend(request, &LaunchEnv::read(request), Features::BUILT)?;
    let comm = connect(&plan)?;
    let opts = TrainOptions { device: plan.device, ..opts.clone() };
    let (rank, world) = (comm.rank(), comm.world_size());
    if world > 1 || plan.nccl.is_some() {
        let threads = threads_per_rank();
        tch::set_num_threads(threads);
        let device = match plan.device {
            Device::Cuda(n) => format!(", device cuda:{n}"),
            _ => String::new(),
        };
        // One write per line: `eprintln!` writes each format piece separately, and the ranks
        // share one stderr, so their lines would interleave mid-line.
        let line = format!(
            "distributed: rank {rank} of {world} (pid {}), backend {}{device}, {threads} threads\n",
            std::process::id(),
            comm.backend()
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    }
    if let Some(note) = plan.note.as_deref().filter(|_| comm.is_root()) {
        eprintln!("{note}");
    }
    match train_with(file, &opts, comm.as_ref()) {
        Ok(results) => Ok(comm.is_root().then_some(results)),
        Err(e) if world > 1 => comm
            .abort(&format!("distributed: rank {rank} of {world} failed: {e:#}; aborting the job")),
        Err(e) => Err(e),
    }
}

/// Whether the collectives can be skipped: a [`SingleProcess`] world. A world of one over MPI
/// or NCCL still runs them (sums over one rank are exact), which is how `LNO_DIST_BACKEND=nccl`
/// exercises NCCL on one GPU.
fn trivial(comm: &dyn Communicator) -> bool {
    comm.world_size() == 1 && comm.backend() == "single"
}

/// libtorch threads for one rank: `OMP_NUM_THREADS` when set, else the cores divided among
/// the ranks on this node (Open MPI's `OMPI_COMM_WORLD_LOCAL_SIZE`, MPICH's `MPI_LOCALNRANKS`),
/// so that ranks sharing a machine do not oversubscribe it.
fn threads_per_rank() -> i32 {
    let env_usize = |key: &str| std::env::var(key).ok().and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = env_usize("OMP_NUM_THREADS") {
        return n.max(1) as i32;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let local = env_usize("OMPI_COMM_WORLD_LOCAL_SIZE").or_else(|| env_usize("MPI_LOCALNRANKS"));
    (cores / local.unwrap_or(1).max(1)).max(1) as i32
}

/// The variables of `vs`, sorted by name: the packing order on every rank.
fn sorted_variables(vs: &VarStore) -> Vec<(String, Tensor)> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// `tensors` flattened into one `f32` host vector, in order.
fn pack(tensors: &[Tensor]) -> Result<Vec<f32>> {
    if tensors.is_empty() {
        return Ok(Vec::new());
    }
    let flat: Vec<Tensor> = tensors
        .iter()
        .map(|t| t.f_to_device(Device::Cpu)?.f_to_kind(Kind::Float)?.f_reshape([-1]))
        .collect::<Result<_, _>>()?;
    Ok(Vec::<f32>::try_from(Tensor::f_cat(&flat, 0)?)?)
}

/// Copies consecutive pieces of `buf` into `tensors` (each keeps its shape, kind and device).
fn unpack(buf: &[f32], tensors: &mut [Tensor]) -> Result<()> {
    let _guard = tch::no_grad_guard();
    let mut offset = 0;
    for t in tensors.iter_mut() {
        let n = t.numel();
        ensure!(
            offset + n <= buf.len(),
            "packed buffer: expected at least {} values, got {}",
            offset + n,
            buf.len()
        );
        let src = Tensor::from_slice(&buf[offset..offset + n])
            .f_view(t.size().as_slice())?
            .f_to_kind(t.kind())?
            .f_to_device(t.device())?;
        t.f_copy_(&src)?;
        offset += n;
    }
    ensure!(offset == buf.len(), "packed buffer: expected {offset} values, got {}", buf.len());
    Ok(())
}

/// Makes every rank's variables equal to rank 0's (initial weights, or a restored checkpoint).
///
/// # Errors
/// A libtorch failure or a world whose ranks hold different models (lengths differ).
pub fn broadcast_variables(vs: &VarStore, comm: &dyn Communicator) -> Result<()> {
    if trivial(comm) {
        return Ok(());
    }
    let mut vars: Vec<Tensor> = sorted_variables(vs).into_iter().map(|(_, t)| t).collect();
    let mut buf = pack(&vars)?;
    comm.broadcast_f32(&mut buf, 0).context("broadcasting the initial weights from rank 0")?;
    unpack(&buf, &mut vars)
}

/// Sums `local_weight ×` every defined gradient of `vs`'s trainable variables, and
/// `scalars`, over the ranks, in place (see the module docs for the weights). The gradients
/// end identical on every rank, so the optimiser steps stay identical.
///
/// Every rank must have gradients for the same variables: ranks without pairs in a batch run
/// a zero-weighted pass over one pair instead of none.
///
/// # Errors
/// A libtorch failure.
pub fn all_reduce_gradients(
    vs: &VarStore,
    comm: &dyn Communicator,
    local_weight: f64,
    scalars: &mut [f32],
) -> Result<()> {
    if trivial(comm) {
        return Ok(());
    }
    let mut grads: Vec<Tensor> = sorted_variables(vs)
        .into_iter()
        .filter(|(_, v)| v.requires_grad())
        .map(|(_, v)| v.grad())
        .filter(|g| g.defined())
        .collect();
    let mut buf = pack(&grads)?;
    let w = local_weight as f32;
    buf.iter_mut().for_each(|v| *v *= w);
    let n_grads = buf.len();
    buf.extend_from_slice(scalars);
    comm.all_reduce_sum(&mut buf).context("all-reducing the gradients")?;
    scalars.copy_from_slice(&buf[n_grads..]);
    unpack(&buf[..n_grads], &mut grads)
}

/// The part of a global batch of `len` pairs that `rank` of `world` trains on: contiguous and
/// as even as possible, `[rank·len/world, (rank+1)·len/world)`.
pub fn local_range(len: usize, rank: usize, world: usize) -> std::ops::Range<usize> {
    (rank * len / world)..((rank + 1) * len / world)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_ranges_partition_the_batch_in_order_for_every_world_size() {
        for len in 0..12 {
            for world in 1..6 {
                let parts: Vec<_> = (0..world).map(|r| local_range(len, r, world)).collect();
                assert_eq!(parts[0].start, 0);
                assert_eq!(parts[world - 1].end, len);
                for w in parts.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                }
                let sizes: Vec<usize> = parts.iter().map(|p| p.len()).collect();
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(max - min <= 1, "len {len} world {world}: {sizes:?}");
            }
        }
    }

    #[test]
    fn pack_then_unpack_restores_shapes_and_values() {
        let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).view([2, 2]);
        let b = Tensor::from_slice(&[5.0f64, 6.0]);
        let buf = pack(&[a.shallow_clone(), b.shallow_clone()]).unwrap();
        assert_eq!(buf, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let mut targets = vec![a.zeros_like(), b.zeros_like()];
        unpack(&buf, &mut targets).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(targets[0].reshape([-1])).unwrap(),
            vec![1.0, 2.0, 3.0, 4.0]
        );
        assert_eq!(targets[1].kind(), Kind::Double);
        assert_eq!(Vec::<f64>::try_from(&targets[1]).unwrap(), vec![5.0, 6.0]);
        let err = unpack(&buf[..5], &mut targets).unwrap_err().to_string();
        assert!(err.contains("expected at least 6 values, got 5"), "{err}");
    }

    #[test]
    fn a_single_process_world_leaves_variables_and_gradients_untouched() {
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[3], tch::nn::Init::Const(2.0));
        let loss = (&w * &w).sum(Kind::Float);
        loss.backward();
        let mut scalars = [7.0f32];
        let comm = lno_distributed::SingleProcess;
        broadcast_variables(&vs, &comm).unwrap();
        all_reduce_gradients(&vs, &comm, 0.5, &mut scalars).unwrap();
        assert_eq!(scalars, [7.0]);
        assert_eq!(Vec::<f32>::try_from(w.grad()).unwrap(), vec![4.0, 4.0, 4.0]);
    }

    const BOTH: Features = Features { mpi: true, nccl: true };
    const MPI_ONLY: Features = Features { mpi: true, nccl: false };

    /// A launch of `world` ranks (`None`: no launcher) with `gpus` CUDA devices, local rank
    /// `OMPI_COMM_WORLD_LOCAL_RANK = local` when given.
    fn launch(world: Option<usize>, gpus: usize, local: Option<&str>) -> LaunchEnv {
        LaunchEnv {
            backend: None,
            launcher_world: world,
            local_rank: [local.map(str::to_string), None, None, None],
            cuda_devices: gpus,
        }
    }

    fn with_backend(mut env: LaunchEnv, value: &str) -> LaunchEnv {
        env.backend = Some(value.to_string());
        env
    }

    #[test]
    fn device_requests_parse_cpu_cuda_and_cuda_n_and_name_the_flag_otherwise() {
        assert_eq!(DeviceRequest::parse("cpu").unwrap(), DeviceRequest::Cpu);
        assert_eq!(DeviceRequest::parse("cuda").unwrap(), DeviceRequest::Cuda);
        assert_eq!(DeviceRequest::parse("cuda:3").unwrap(), DeviceRequest::CudaIndex(3));
        assert_eq!(DeviceRequest::Cuda.single_device(), Device::Cuda(0));
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:-1"] {
            let err = DeviceRequest::parse(bad).unwrap_err().to_string();
            assert!(err.contains("--device") && err.contains(&format!("got `{bad}`")), "{err}");
        }
    }

    #[test]
    fn cpu_training_uses_mpi_under_a_launcher_and_a_single_process_otherwise() {
        for features in [BOTH, MPI_ONLY] {
            let plan = choose_backend(DeviceRequest::Cpu, &launch(Some(4), 2, Some("1")), features)
                .unwrap();
            let expected = BackendPlan {
                bootstrap: Bootstrap::Mpi,
                nccl: None,
                device: Device::Cpu,
                note: None,
            };
            assert_eq!(plan, expected);
            let plan =
                choose_backend(DeviceRequest::Cpu, &launch(None, 2, None), features).unwrap();
            assert_eq!((plan.bootstrap, plan.nccl), (Bootstrap::Single, None));
        }
        // `mpirun -np 1` of a build without MPI is a world of one.
        let none = Features { mpi: false, nccl: false };
        let plan = choose_backend(DeviceRequest::Cpu, &launch(Some(1), 0, None), none).unwrap();
        assert_eq!(plan.bootstrap, Bootstrap::Single);
        let err = choose_backend(DeviceRequest::Cpu, &launch(Some(2), 0, None), none)
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 ranks") && err.contains("--features mpi"), "{err}");
    }

    #[test]
    fn cuda_over_several_ranks_with_the_nccl_feature_uses_nccl_on_the_local_rank_s_gpu() {
        let env = launch(Some(8), 4, Some("3"));
        let plan = choose_backend(DeviceRequest::Cuda, &env, BOTH).unwrap();
        let expected = BackendPlan {
            bootstrap: Bootstrap::Mpi,
            nccl: Some(3),
            device: Device::Cuda(3),
            note: None,
        };
        assert_eq!(plan, expected);
        // `auto` spelled out is the default.
        assert_eq!(
            choose_backend(DeviceRequest::Cuda, &with_backend(env, "auto"), BOTH).unwrap(),
            expected
        );
    }

    #[test]
    fn cuda_over_several_ranks_without_the_nccl_feature_falls_back_to_mpi_with_a_note() {
        let plan =
            choose_backend(DeviceRequest::Cuda, &launch(Some(2), 2, Some("1")), MPI_ONLY).unwrap();
        assert_eq!(
            (plan.bootstrap, plan.nccl, plan.device),
            (Bootstrap::Mpi, None, Device::Cuda(1))
        );
        let note = plan.note.expect("a note on the fallback");
        assert!(note.contains("MPI") && note.contains("--features mpi,nccl"), "{note}");
        assert!(!note.contains('\n'), "one line: {note}");
        // Asked for explicitly, MPI is no fallback: no note.
        let env = with_backend(launch(Some(2), 2, Some("1")), "mpi");
        let plan = choose_backend(DeviceRequest::Cuda, &env, BOTH).unwrap();
        assert_eq!((plan.nccl, plan.note), (None, None));
    }

    #[test]
    fn one_cuda_process_uses_no_nccl_unless_asked_and_then_bootstraps_over_a_single_process() {
        let plan = choose_backend(DeviceRequest::Cuda, &launch(None, 1, None), BOTH).unwrap();
        assert_eq!(
            (plan.bootstrap, plan.nccl, plan.device),
            (Bootstrap::Single, None, Device::Cuda(0))
        );
        let env = with_backend(launch(None, 2, None), "nccl");
        let plan = choose_backend(DeviceRequest::CudaIndex(1), &env, BOTH).unwrap();
        assert_eq!(
            (plan.bootstrap, plan.nccl, plan.device),
            (Bootstrap::Single, Some(1), Device::Cuda(1))
        );
        // Under `mpirun -np 1` the bootstrap is MPI.
        let env = with_backend(launch(Some(1), 1, Some("0")), "nccl");
        let plan = choose_backend(DeviceRequest::Cuda, &env, BOTH).unwrap();
        assert_eq!((plan.bootstrap, plan.nccl), (Bootstrap::Mpi, Some(0)));
    }

    #[test]
    fn nccl_asked_for_without_the_feature_or_on_the_cpu_is_an_error_naming_the_cause() {
        let env = with_backend(launch(None, 1, None), "nccl");
        let err = choose_backend(DeviceRequest::Cuda, &env, MPI_ONLY).unwrap_err().to_string();
        assert!(err.contains("LNO_DIST_BACKEND=nccl") && err.contains("`nccl` feature"), "{err}");
        assert!(err.contains("--features nccl"), "{err}");
        let err = choose_backend(DeviceRequest::Cpu, &env, BOTH).unwrap_err().to_string();
        assert!(err.contains("expected `--device cuda`, got `--device cpu`"), "{err}");
        let env = with_backend(launch(None, 0, None), "mpi");
        let none = Features { mpi: false, nccl: true };
        let err = choose_backend(DeviceRequest::Cpu, &env, none).unwrap_err().to_string();
        assert!(err.contains("LNO_DIST_BACKEND=mpi") && err.contains("`mpi` feature"), "{err}");
    }

    #[test]
    fn a_bad_backend_value_is_an_error_naming_the_variable_the_choices_and_the_value() {
        for bad in ["NCCL", "gloo", ""] {
            let env = with_backend(launch(None, 1, None), bad);
            let err = choose_backend(DeviceRequest::Cuda, &env, BOTH).unwrap_err().to_string();
            assert!(err.contains("LNO_DIST_BACKEND"), "{err}");
            assert!(err.contains("auto, mpi, nccl, single"), "{err}");
            assert!(err.contains(&format!("got `{bad}`")), "{err}");
        }
        let env = with_backend(launch(Some(2), 0, None), "single");
        let err = choose_backend(DeviceRequest::Cpu, &env, BOTH).unwrap_err().to_string();
        assert!(err.contains("LNO_DIST_BACKEND=single") && err.contains("2 ranks"), "{err}");
    }

    #[test]
    fn the_local_rank_comes_from_open_mpi_then_mpich_then_local_rank_then_slurm_else_zero() {
        let gpus = 8;
        let device = |values: [Option<&str>; 4]| {
            let mut env = launch(Some(8), gpus, None);
            env.local_rank = values.map(|v| v.map(str::to_string));
            choose_backend(DeviceRequest::Cuda, &env, BOTH).map(|p| (p.device, p.nccl))
        };
        let cuda = |n| (Device::Cuda(n), Some(n));
        assert_eq!(device([Some("5"), Some("6"), Some("7"), Some("1")]).unwrap(), cuda(5));
        assert_eq!(device([None, Some("6"), Some("7"), Some("1")]).unwrap(), cuda(6));
        assert_eq!(device([None, None, Some("7"), Some("1")]).unwrap(), cuda(7));
        assert_eq!(device([None, None, None, Some("1")]).unwrap(), cuda(1));
        assert_eq!(device([None, None, None, None]).unwrap(), cuda(0));
        let err = device([None, Some("two"), None, None]).unwrap_err().to_string();
        assert!(err.contains("MPI_LOCALRANKID") && err.contains("got `two`"), "{err}");
        // Local rank 8 on a node with 8 GPUs: too many ranks on the node.
        let err = device([Some("8"), None, None, None]).unwrap_err().to_string();
        assert!(err.contains("local rank is 8") && err.contains("8 CUDA devices"), "{err}");
    }

    #[test]
    fn an_explicit_cuda_index_is_refused_over_several_ranks_and_checked_against_the_devices() {
        let env = launch(Some(2), 2, Some("0"));
        let err = choose_backend(DeviceRequest::CudaIndex(1), &env, BOTH).unwrap_err().to_string();
        assert!(err.contains("--device") && err.contains("expected `cuda`"), "{err}");
        assert!(err.contains("got `cuda:1`") && err.contains("2 ranks"), "{err}");
        let err = choose_backend(DeviceRequest::CudaIndex(2), &launch(None, 2, None), BOTH)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--device cuda:2") && err.contains("2 CUDA devices"), "{err}");
        let err = choose_backend(DeviceRequest::Cuda, &launch(None, 0, None), BOTH)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--device cuda") && err.contains("no CUDA device"), "{err}");
    }

    #[test]
    fn a_one_process_world_over_a_real_transport_still_runs_the_collectives() {
        // A communicator that counts its all-reduces, standing in for NCCL on one GPU.
        #[derive(Debug, Default)]
        struct Counting(std::cell::Cell<usize>);
        impl Communicator for Counting {
            fn rank(&self) -> usize {
                0
            }
            fn world_size(&self) -> usize {
                1
            }
            fn backend(&self) -> &'static str {
                "nccl"
            }
            fn barrier(&self) -> lno_distributed::Result<()> {
                Ok(())
            }
            fn broadcast_f32(&self, _: &mut [f32], _: usize) -> lno_distributed::Result<()> {
                self.0.set(self.0.get() + 1);
                Ok(())
            }
            fn broadcast_bytes(&self, _: &mut Vec<u8>, _: usize) -> lno_distributed::Result<()> {
                Ok(())
            }
            fn all_reduce_sum(&self, _: &mut [f32]) -> lno_distributed::Result<()> {
                self.0.set(self.0.get() + 1);
                Ok(())
            }
            fn abort(&self, message: &str) -> ! {
                panic!("{message}")
            }
        }
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[2], tch::nn::Init::Const(1.5));
        (&w * &w).sum(Kind::Float).backward();
        let comm = Counting::default();
        let mut scalars = [2.0f32];
        broadcast_variables(&vs, &comm).unwrap();
        all_reduce_gradients(&vs, &comm, 1.0, &mut scalars).unwrap();
        assert_eq!(comm.0.get(), 2);
        assert_eq!(scalars, [2.0]);
        assert_eq!(Vec::<f32>::try_from(w.grad()).unwrap(), vec![3.0, 3.0]);
    }
}
