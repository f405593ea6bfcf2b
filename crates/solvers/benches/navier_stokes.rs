//! Navier–Stokes benchmarks at the FNO resolution 256² (ν = 1e-3, FNO forcing and initial
//! vorticity): one simulated time unit with IF-RK4 at CFL 1 (our data-generation setting),
//! and 100 steps of the FNO reference scheme (Euler/CN, Δt = 1e-4) for a per-step comparison
//! with `tools/bench_reference_ns.py`.
//!
//! With `LNO_NS_ACCURACY=1` it first prints the matched-accuracy check at 256²: errors after
//! one time unit of IF-RK4 at CFL 1 and of Euler/CN at Δt = 1e-4, both against IF-RK4 at
//! CFL 0.125 (about 25 s extra).

use criterion::{Criterion, criterion_group, criterion_main};
use lno_solvers::grf::PeriodicGrf;
use lno_solvers::navier_stokes::{NavierStokes2d, NsConfig, NsFlow, TimeScheme, TimeStep};
use lno_solvers::sample_rng;
use std::hint::black_box;

const N: usize = 256;
const NU: f64 = 1e-3;

fn solver(scheme: TimeScheme, time_step: TimeStep) -> NavierStokes2d {
    let config = NsConfig::new(N, 1.0, NU).with_scheme(scheme).with_time_step(time_step);
    NavierStokes2d::new(config)
        .expect("valid config")
        .with_forcing(&NsFlow::FnoBenchmark { nu: NU }.forcing(N))
        .expect("valid forcing")
}

fn initial_vorticity() -> Vec<f64> {
    PeriodicGrf::fno_navier_stokes(N).expect("valid GRF").sample(&mut sample_rng(0, 0))
}

fn run(scheme: TimeScheme, time_step: TimeStep, omega0: &[f64], t: f64) -> (Vec<f64>, usize) {
    let mut s = solver(scheme, time_step);
    s.set_vorticity(omega0).expect("finite");
    let report = s.advance(t).expect("stable");
    (s.vorticity(), report.steps)
}

fn rel_l2(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

fn accuracy_report(omega0: &[f64]) {
    let (exact, _) = run(TimeScheme::IfRk4, TimeStep::Cfl(0.125), omega0, 1.0);
    for cfl in [1.0, 0.5] {
        let (ours, steps) = run(TimeScheme::IfRk4, TimeStep::Cfl(cfl), omega0, 1.0);
        eprintln!("IF-RK4 CFL {cfl}: {steps} steps, rel L2 error {:.3e}", rel_l2(&ours, &exact));
    }
    let (reference, steps) =
        run(TimeScheme::EulerCrankNicolson, TimeStep::Fixed(1e-4), omega0, 1.0);
    eprintln!("Euler/CN dt 1e-4: {steps} steps, rel L2 error {:.3e}", rel_l2(&reference, &exact));
}

fn navier_stokes_256(c: &mut Criterion) {
    let omega0 = initial_vorticity();
    if std::env::var("LNO_NS_ACCURACY").is_ok_and(|v| v == "1") {
        accuracy_report(&omega0);
    }
    let mut group = c.benchmark_group("navier_stokes");
    group.sample_size(10);
    let mut ours = solver(TimeScheme::IfRk4, TimeStep::Cfl(1.0));
    group.bench_function("ns_256_ifrk4_cfl1_one_time_unit", |b| {
        b.iter(|| {
            ours.set_vorticity(black_box(&omega0)).expect("finite");
            ours.advance(1.0).expect("stable")
        })
    });
    let mut reference = solver(TimeScheme::EulerCrankNicolson, TimeStep::Fixed(1e-4));
    group.bench_function("ns_256_euler_cn_dt1e-4_100_steps", |b| {
        b.iter(|| {
            reference.set_vorticity(black_box(&omega0)).expect("finite");
            reference.advance(0.01).expect("stable")
        })
    });
    group.finish();
}

criterion_group!(benches, navier_stokes_256);
criterion_main!(benches);
