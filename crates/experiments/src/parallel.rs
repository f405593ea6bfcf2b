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

use anyhow::{Context, Result, ensure};
use lno_distributed::Communicator;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::config::ExperimentFile;
use crate::train::{ModelResult, TrainOptions, train_with};

/// `lno train` as started: one process, or one rank of an MPI job (`mpirun -np N lno train …`,
/// detected by [`lno_distributed::from_env`]). Returns the comparison rows on rank 0 and `None`
/// on the other ranks.
///
/// A failure on one rank of a multi-rank job aborts every rank with a message naming the rank,
/// instead of leaving the others blocked in their next all-reduce.
///
/// # Errors
/// The launcher asks for MPI that this build lacks, or training fails (single process).
pub fn train_distributed(
    file: &ExperimentFile,
    opts: &TrainOptions,
) -> Result<Option<Vec<ModelResult>>> {
    let comm = lno_distributed::from_env()?;
    let (rank, world) = (comm.rank(), comm.world_size());
    if world > 1 {
        let threads = threads_per_rank();
        tch::set_num_threads(threads);
        // One write per line: `eprintln!` writes each format piece separately, and the ranks
        // share one stderr, so their lines would interleave mid-line.
        let line = format!(
            "distributed: rank {rank} of {world} (pid {}), backend {}, {threads} threads\n",
            std::process::id(),
            comm.backend()
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    }
    match train_with(file, opts, comm.as_ref()) {
        Ok(results) => Ok(comm.is_root().then_some(results)),
        Err(e) if world > 1 => comm
            .abort(&format!("distributed: rank {rank} of {world} failed: {e:#}; aborting the job")),
        Err(e) => Err(e),
    }
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
    if comm.world_size() == 1 {
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
    if comm.world_size() == 1 {
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
}
