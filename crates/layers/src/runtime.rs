//! What the linked libtorch can do on this machine: version, CUDA, threads.
//!
//! Used by `lno doctor` and by tests that must skip CUDA checks on machines without a GPU.

use std::fmt;

/// A snapshot of the libtorch runtime as seen by this process.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeInfo {
    /// Whether libtorch sees a usable CUDA device.
    pub cuda_available: bool,
    /// Number of CUDA devices.
    pub cuda_devices: i64,
    /// Whether cuDNN is usable.
    pub cudnn_available: bool,
    /// libtorch's intra-op thread count.
    pub torch_threads: i32,
    /// libtorch's inter-op thread count.
    pub torch_interop_threads: i32,
    /// Whether libtorch was built with MKL.
    pub has_mkl: bool,
}

impl RuntimeInfo {
    /// Queries libtorch.
    pub fn query() -> Self {
        Self {
            cuda_available: tch::Cuda::is_available(),
            cuda_devices: tch::Cuda::device_count(),
            cudnn_available: tch::Cuda::cudnn_is_available(),
            torch_threads: tch::get_num_threads(),
            torch_interop_threads: tch::get_num_interop_threads(),
            has_mkl: tch::utils::has_mkl(),
        }
    }
}

impl fmt::Display for RuntimeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<18} 0.24.0 (PyTorch 2.11.0)", "tch")?;
        writeln!(
            f,
            "{:<18} {} ({} device(s), cuDNN {})",
            "CUDA",
            if self.cuda_available { "available" } else { "not available" },
            self.cuda_devices,
            if self.cudnn_available { "yes" } else { "no" }
        )?;
        writeln!(
            f,
            "{:<18} {} intra-op, {} inter-op",
            "torch threads", self.torch_threads, self.torch_interop_threads
        )?;
        write!(f, "{:<18} {}", "MKL", if self.has_mkl { "yes" } else { "no" })
    }
}
