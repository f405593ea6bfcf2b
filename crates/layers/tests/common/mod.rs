//! Helpers shared by the layer tests: devices, error norms, gradient checks, golden fixtures.
#![allow(dead_code)]

use std::collections::HashMap;

use tch::{Device, Kind, Tensor};

/// CPU, plus CUDA device 0 when libtorch sees one.
pub fn devices() -> Vec<Device> {
    let mut devices = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        devices.push(Device::Cuda(0));
    }
    devices
}

/// `max |a − b| / max |b|` (normwise relative error in the max norm).
pub fn rel_err(a: &Tensor, b: &Tensor) -> f64 {
    let a = a.to_device(Device::Cpu).to_kind(Kind::Double);
    let b = b.to_device(Device::Cpu).to_kind(Kind::Double);
    assert_eq!(a.size(), b.size(), "shapes differ");
    let num = f64::try_from((&a - &b).abs().max()).unwrap();
    let den = f64::try_from(b.abs().max()).unwrap();
    num / den.max(f64::MIN_POSITIVE)
}

/// Host copy of a tensor as f64.
pub fn to_vec(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_device(Device::Cpu).to_kind(Kind::Double).flatten(0, -1)).unwrap()
}

/// Compares autograd with central finite differences along random directions, for the input
/// `x` and for each parameter in `params` (all f64). `f` must be the layer's forward.
///
/// The loss is `Σ f(x) ⊙ R` for a fixed random `R`.
pub fn gradcheck(name: &str, params: &[Tensor], x: &Tensor, f: &dyn Fn(&Tensor) -> Tensor) {
    assert_eq!(x.kind(), Kind::Double, "{name}: gradcheck needs f64");
    tch::manual_seed(11);
    let r = tch::no_grad(|| f(x).randn_like());
    let loss = |x: &Tensor| f64::try_from((f(x) * &r).sum(Kind::Double)).unwrap();

    let xg = x.detach().set_requires_grad(true);
    for p in params {
        let mut p = p.shallow_clone();
        p.zero_grad();
    }
    (f(&xg) * &r).sum(Kind::Double).backward();
    let eps = 1e-6;
    // Central differences are exact for functions at most quadratic along the direction (all
    // layers are linear in x and in each parameter); 1e-6 covers the f64 round-off of L/ε and
    // the O(ε²) truncation of the non-linear blocks.
    let tol = 1e-6;

    let v = x.randn_like();
    let numeric = tch::no_grad(|| (loss(&(x + &v * eps)) - loss(&(x - &v * eps))) / (2.0 * eps));
    let analytic = f64::try_from((xg.grad() * &v).sum(Kind::Double)).unwrap();
    let err = (numeric - analytic).abs() / analytic.abs().max(1e-3);
    assert!(err < tol, "{name}: d/dx numeric {numeric} vs autograd {analytic} (rel {err:.2e})");

    for (i, p) in params.iter().enumerate() {
        let g = p.grad();
        assert!(g.defined(), "{name}: parameter {i} got no gradient");
        let analytic_dir = p.randn_like();
        let analytic = f64::try_from((&g * &analytic_dir).sum(Kind::Double)).unwrap();
        let mut q = p.shallow_clone();
        let numeric = tch::no_grad(|| {
            let step = &analytic_dir * eps;
            let _ = q.f_add_(&step).unwrap();
            let plus = loss(x);
            let _ = q.f_sub_(&(&step * 2.0)).unwrap();
            let minus = loss(x);
            let _ = q.f_add_(&step).unwrap();
            (plus - minus) / (2.0 * eps)
        });
        let err = (numeric - analytic).abs() / analytic.abs().max(1e-3);
        assert!(
            err < tol,
            "{name}: d/dparam{i} numeric {numeric} vs autograd {analytic} (rel {err:.2e})"
        );
    }
}

/// Reads `tools/golden/layers/<name>.npz` into a map.
pub fn golden(name: &str) -> HashMap<String, Tensor> {
    let path = format!("{}/../../tools/golden/layers/{name}.npz", env!("CARGO_MANIFEST_DIR"));
    Tensor::read_npz(&path).unwrap_or_else(|e| panic!("reading {path}: {e}")).into_iter().collect()
}

/// Copies `value` into the variable `name` of `vs` (shapes must agree).
pub fn set_var(vs: &tch::nn::VarStore, name: &str, value: &Tensor) {
    let vars = vs.variables();
    let mut var = vars.get(name).unwrap_or_else(|| panic!("no variable {name}")).shallow_clone();
    assert_eq!(var.size(), value.size(), "variable {name}");
    tch::no_grad(|| var.copy_(&value.to_kind(var.kind()).to_device(var.device())));
}

/// `x[b, c, i, j] = sin(2π (i/H)(c+1)) cos(2π j/W) + 0.1 b + 0.05 c` (layers-spec §14.1),
/// plus a third factor along a third dim when given.
pub fn field(shape: &[i64], kind: Kind, device: Device) -> Tensor {
    let mut v = Vec::new();
    let total: i64 = shape.iter().product();
    for idx in 0..total {
        let mut rem = idx;
        let mut ix = vec![0i64; shape.len()];
        for d in (0..shape.len()).rev() {
            ix[d] = rem % shape[d];
            rem /= shape[d];
        }
        let pi2 = 2.0 * std::f64::consts::PI;
        let (b, c) = (ix[0] as f64, ix[1] as f64);
        let mut val = 1.0;
        for d in 2..shape.len() {
            let t = ix[d] as f64 / shape[d] as f64;
            val *= match d {
                2 => (pi2 * t * (c + 1.0)).sin(),
                3 => (pi2 * t).cos(),
                _ => (pi2 * t + 0.3 + c).cos(),
            };
        }
        v.push(val + 0.1 * b + 0.05 * c);
    }
    Tensor::from_slice(&v).view(shape).to_kind(kind).to_device(device)
}
