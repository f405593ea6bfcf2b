//! Proves that libtorch loads and that the operations lno relies on work: real FFTs of any
//! size, and sparse CSR × dense products with gradients flowing to the dense operand.
//!
//! Runs on CUDA too when a GPU is visible.

use tch::{Device, Kind, Tensor};

fn devices() -> Vec<Device> {
    let mut devices = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        devices.push(Device::Cuda(0));
    }
    devices
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    f64::try_from((a - b).abs().max()).unwrap()
}

#[test]
fn rfftn_then_irfftn_returns_the_input_for_odd_and_even_sizes() {
    for device in devices() {
        tch::manual_seed(0);
        let x = Tensor::randn([2, 3, 9, 8], (Kind::Double, device));
        let spectrum = x.fft_rfftn(None::<&[i64]>, [-2i64, -1].as_slice(), "forward");
        assert_eq!(spectrum.size(), [2, 3, 9, 5]);
        assert_eq!(spectrum.kind(), Kind::ComplexDouble);
        // Odd sizes are ambiguous after a real FFT; passing `s` restores them exactly.
        let back = spectrum.fft_irfftn([9i64, 8].as_slice(), [-2i64, -1].as_slice(), "forward");
        // Round-off of two FFTs of length ≤ 9 in double precision.
        assert!(max_abs_diff(&back, &x) < 1e-12, "{device:?}");
    }
}

#[test]
fn sparse_csr_times_dense_matches_dense_product_and_backpropagates() {
    for device in devices() {
        // A 3 × 4 matrix with 5 non-zeros, in CSR.
        let crow = Tensor::from_slice(&[0i64, 2, 3, 5]).to_device(device);
        let col = Tensor::from_slice(&[0i64, 3, 1, 0, 2]).to_device(device);
        let values = Tensor::from_slice(&[1.0f64, -2.0, 0.5, 3.0, 4.0]).to_device(device);
        let sparse = Tensor::sparse_csr_tensor_crow_col_value_size(
            &crow,
            &col,
            &values,
            [3, 4],
            (Kind::Double, device),
        );
        let dense_matrix = Tensor::from_slice(&[
            1.0f64, 0.0, 0.0, -2.0, //
            0.0, 0.5, 0.0, 0.0, //
            3.0, 0.0, 4.0, 0.0,
        ])
        .view([3, 4])
        .to_device(device);

        let x = Tensor::from_slice(&[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
            .view([4, 2])
            .to_device(device)
            .set_requires_grad(true);
        let y = sparse.mm(&x);
        let expected = dense_matrix.mm(&x);
        // Exact small integers and halves: any difference is a bug, not round-off.
        assert!(max_abs_diff(&y, &expected) < 1e-14, "{device:?}");

        // d(sum(S x))/dx = Sᵀ 1: column sums of S, repeated over x's columns.
        y.sum(Kind::Double).backward();
        let grad = x.grad();
        let column_sums = dense_matrix.sum_dim_intlist([0i64].as_slice(), false, Kind::Double);
        let expected_grad = column_sums.unsqueeze(1).expand([4, 2], false);
        assert!(max_abs_diff(&grad, &expected_grad) < 1e-14, "{device:?}");
    }
}

#[test]
fn libtorch_cuda_is_linked_so_gpus_are_visible_when_present() {
    // Without `--no-as-needed -ltorch` (build.rs) the linker drops libtorch.so, libtorch_cuda.so
    // is never loaded and `Cuda::is_available()` is false even on a GPU machine. The CUDA
    // library loads on CPU-only machines too, so this holds everywhere.
    let _ = tch::Cuda::is_available();
    let maps = std::fs::read_to_string("/proc/self/maps").expect("Linux /proc is readable");
    assert!(maps.contains("libtorch_cuda.so"), "libtorch_cuda.so is not mapped");
    assert!(maps.contains("libtorch_cpu.so"), "libtorch_cpu.so is not mapped");
}
