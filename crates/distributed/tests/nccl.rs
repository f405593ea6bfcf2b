//! The NCCL backend on a real GPU (feature `nccl`; ignored by default because it needs a CUDA
//! device, its driver and `libnccl.so` on the loader path). Run on a GPU machine with
//! `cargo test -p lno-distributed --features nccl -- --ignored`.

#![cfg(feature = "nccl")]

use lno_distributed::{Communicator, Nccl, SingleProcess};

#[test]
#[ignore = "needs a CUDA GPU, its driver and libnccl.so"]
fn a_one_gpu_nccl_world_keeps_buffers_through_every_collective() {
    let comm = Nccl::new(&SingleProcess, 0).expect("NCCL on CUDA device 0");
    assert_eq!((comm.rank(), comm.world_size(), comm.backend()), (0, 1, "nccl"));
    let original: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5 - 3.0).collect();
    let mut buf = original.clone();
    comm.all_reduce_sum(&mut buf).unwrap();
    // A sum over one rank is the value itself, exactly.
    assert_eq!(buf, original);
    comm.broadcast_f32(&mut buf, 0).unwrap();
    assert_eq!(buf, original);
    let mut bytes = b"initial weights".to_vec();
    comm.broadcast_bytes(&mut bytes, 0).unwrap();
    assert_eq!(bytes, b"initial weights");
    comm.barrier().unwrap();
    let err = comm.broadcast_f32(&mut buf, 1).unwrap_err().to_string();
    assert!(err.contains("`root`"), "{err}");
}

#[test]
#[ignore = "needs a CUDA GPU, its driver and libnccl.so"]
fn an_nccl_world_over_a_kept_bootstrap_reduces_and_names_its_device() {
    let comm = Nccl::new(&SingleProcess, 0)
        .expect("NCCL on CUDA device 0")
        .with_bootstrap(Box::new(SingleProcess));
    assert_eq!((comm.rank(), comm.world_size(), comm.ordinal()), (0, 1, 0));
    let mut buf = vec![0.25f32, -1.0, 3.5];
    comm.all_reduce_mean(&mut buf).unwrap();
    assert_eq!(buf, [0.25, -1.0, 3.5]);
    assert!(format!("{comm:?}").contains("single"), "{comm:?}");
}
