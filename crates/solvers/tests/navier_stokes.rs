//! Validation of the 2-D Navier–Stokes solver against exact solutions and invariants
//! (data-recipes.md §4.2, "Validation checks (NS)"), plus its input checks and generator.

use std::f64::consts::PI;

use lno_solvers::navier_stokes::grid::dealias_cutoff;
use lno_solvers::navier_stokes::{
    NavierStokes2d, NsConfig, NsDataConfig, NsFlow, NsGenerator, SpectralGrid, TimeScheme, TimeStep,
};
use lno_solvers::{SampleGenerator, SolverError, sample_rng};
use rustfft::num_complex::Complex64;

/// Samples `f(x, y)` on the `n × n` grid of `[0, length)²`, row-major `[i, j]` = `(x_i, y_j)`.
fn sample_grid(n: usize, length: f64, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let h = length / n as f64;
    (0..n * n).map(|idx| f((idx / n) as f64 * h, (idx % n) as f64 * h)).collect()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

fn rms(a: &[f64]) -> f64 {
    (a.iter().map(|x| x * x).sum::<f64>() / a.len() as f64).sqrt()
}

fn rel_l2(a: &[f64], reference: &[f64]) -> f64 {
    let diff: Vec<f64> = a.iter().zip(reference).map(|(x, y)| x - y).collect();
    rms(&diff) / rms(reference)
}

/// A FNO random initial vorticity on an `n²` grid.
fn grf_vorticity(n: usize, index: u64) -> Vec<f64> {
    let grf = lno_solvers::grf::PeriodicGrf::fno_navier_stokes(n).unwrap();
    grf.sample(&mut sample_rng(7, index))
}

/// The 2-D DFT by direct separable sums, O(n³): the slow oracle for the planned FFTs.
fn naive_dft_half(field: &[f64], n: usize) -> Vec<Complex64> {
    let nh = n / 2 + 1;
    let twiddle = |k: usize, j: usize| {
        Complex64::from_polar(1.0, -2.0 * PI * ((k * j) % n) as f64 / n as f64)
    };
    // Along y (j) for every row i, keeping ky = 0..=n/2.
    let mut partial = vec![Complex64::ZERO; n * nh];
    for i in 0..n {
        for q in 0..nh {
            partial[i * nh + q] = (0..n).map(|j| field[i * n + j] * twiddle(q, j)).sum();
        }
    }
    // Along x (i), stored as [ky][kx].
    let mut out = vec![Complex64::ZERO; nh * n];
    for q in 0..nh {
        for p in 0..n {
            out[q * n + p] = (0..n).map(|i| partial[i * nh + q] * twiddle(p, i)).sum();
        }
    }
    out
}

#[test]
fn planned_transforms_match_direct_dft_and_invert() {
    // 12 exercises mixed radices on the serial path; 128 takes the parallel path.
    for n in [12, 128] {
        let field = grf_vorticity(n, 1);
        let mut grid = SpectralGrid::new(n, 1.0).unwrap();
        let fast = grid.forward(&field).unwrap();
        let slow = naive_dft_half(&field, n);
        let scale = slow.iter().fold(0.0_f64, |m, z| m.max(z.norm()));
        let err = fast.iter().zip(&slow).fold(0.0_f64, |m, (a, b)| m.max((a - b).norm()));
        // Both sums round at ~n·ε relative to the largest coefficient.
        assert!(err < 1e-12 * scale, "n = {n}: forward error {err:e} vs scale {scale:e}");
        let back = grid.inverse(&fast).unwrap();
        let err = max_diff(&back, &field);
        // A round trip loses a few ulps of the largest value per pass.
        assert!(err < 1e-12 * max_abs(&field), "n = {n}: round-trip error {err:e}");
    }
}

#[test]
fn advection_tendency_matches_analytic_jacobian() {
    // ω = A cos 2πx + B cos 4πy gives u·∇ω = −(3/2) A B sin 2πx sin 4πy (worked by hand from
    // ψ = A cos 2πx/(4π²) + B cos 4πy/(16π²)).
    let (a, b, n) = (1.3, -0.7, 32);
    let omega = sample_grid(n, 1.0, |x, y| a * (2.0 * PI * x).cos() + b * (4.0 * PI * y).cos());
    let mut solver = NavierStokes2d::new(NsConfig::new(n, 1.0, 1e-3)).unwrap();
    solver.set_vorticity(&omega).unwrap();
    let tendency = solver.advection_tendency();
    let got = solver.grid().inverse(&tendency).unwrap();
    let expected =
        sample_grid(n, 1.0, |x, y| 1.5 * a * b * (2.0 * PI * x).sin() * (4.0 * PI * y).sin());
    let err = max_diff(&got, &expected);
    // Exact up to FFT round-off of O(1) values.
    assert!(err < 1e-13, "advection error {err:e}");
}

/// ω on one shell |k|² = 25: (5, 0), (3, 4) and (4, −3).
fn single_shell(x: f64, y: f64) -> f64 {
    (2.0 * PI * 5.0 * x).cos()
        + (2.0 * PI * (3.0 * x + 4.0 * y)).sin()
        + 0.7 * (2.0 * PI * (4.0 * x - 3.0 * y)).cos()
}

#[test]
fn single_shell_field_decays_by_each_schemes_discrete_factor() {
    let (n, nu, dt, steps) = (32, 2e-3, 1e-3, 200);
    let lambda = nu * 4.0 * PI * PI * 25.0;
    let omega0 = sample_grid(n, 1.0, single_shell);
    for (scheme, factor) in [
        (TimeScheme::IfRk4, (-lambda * dt).exp()),
        (TimeScheme::EulerCrankNicolson, (1.0 - 0.5 * dt * lambda) / (1.0 + 0.5 * dt * lambda)),
    ] {
        let config =
            NsConfig::new(n, 1.0, nu).with_scheme(scheme).with_time_step(TimeStep::Fixed(dt));
        let mut solver = NavierStokes2d::new(config).unwrap();
        solver.set_vorticity(&omega0).unwrap();
        let report = solver.advance(dt * steps as f64).unwrap();
        assert_eq!(report.steps, steps);
        let expected: Vec<f64> = omega0.iter().map(|w| w * factor.powi(steps as i32)).collect();
        let err = max_diff(&solver.vorticity(), &expected);
        // Machine precision: 200 steps of O(1) values accumulate ~1e-14.
        assert!(err < 1e-12, "{scheme:?}: error {err:e}");
    }
}

#[test]
fn fno_forcing_steady_state_stays_fixed_and_attracts_from_rest() {
    let (n, nu) = (32, 1e-3);
    let flow = NsFlow::FnoBenchmark { nu };
    let forcing = flow.forcing(n);
    let steady: Vec<f64> = forcing.iter().map(|f| f / (nu * 8.0 * PI * PI)).collect();
    for (scheme, time_step) in [
        (TimeScheme::IfRk4, TimeStep::Cfl(1.0)),
        (TimeScheme::EulerCrankNicolson, TimeStep::Fixed(1e-3)),
    ] {
        let config = NsConfig::new(n, 1.0, nu).with_scheme(scheme).with_time_step(time_step);
        let mut solver =
            NavierStokes2d::new(config.clone()).unwrap().with_forcing(&forcing).unwrap();
        solver.set_vorticity(&steady).unwrap();
        solver.advance(2.0).unwrap();
        let err = max_diff(&solver.vorticity(), &steady) / max_abs(&steady);
        // A fixed point up to round-off of the (zero) Jacobian of a single-shell field.
        assert!(err < 1e-13, "{scheme:?}: steady state drifted by {err:e}");
    }
    // From rest, ω(t) = ω_s (1 − e^{−8π²νt}) exactly (the Jacobian stays zero); IF-RK4
    // integrates the linear part exactly.
    let mut solver =
        NavierStokes2d::new(NsConfig::new(n, 1.0, nu)).unwrap().with_forcing(&forcing).unwrap();
    let t = 3.0;
    solver.advance(t).unwrap();
    let decay = 1.0 - (-8.0 * PI * PI * nu * t).exp();
    let expected: Vec<f64> = steady.iter().map(|w| w * decay).collect();
    let err = max_diff(&solver.vorticity(), &expected) / max_abs(&expected);
    // Round-off only, as above.
    assert!(err < 1e-12, "spin-up from rest off by {err:e}");
}

#[test]
fn mean_vorticity_stays_zero_and_truncated_modes_stay_empty() {
    let n = 64;
    let nu = 1e-4;
    let config = NsConfig::new(n, 1.0, nu);
    let mut solver = NavierStokes2d::new(config)
        .unwrap()
        .with_forcing(&NsFlow::FnoBenchmark { nu }.forcing(n))
        .unwrap();
    solver.set_vorticity(&grf_vorticity(n, 2)).unwrap();
    solver.advance(2.0).unwrap();
    let omega = solver.vorticity();
    let mean = omega.iter().sum::<f64>() / omega.len() as f64;
    // ∫u·∇ω = 0 holds discretely up to round-off because κ·û = 0 mode by mode.
    assert!(mean.abs() < 1e-13 * rms(&omega), "mean {mean:e} vs rms {:e}", rms(&omega));
    let cutoff = dealias_cutoff(n) as i64;
    let grid = SpectralGrid::new(n, 1.0).unwrap();
    for (index, value) in solver.vorticity_hat().iter().enumerate() {
        let (kx, ky) = grid.wavenumbers(index);
        if kx.abs() > cutoff || ky > cutoff {
            assert_eq!(*value, Complex64::ZERO, "mode ({kx}, {ky}) beyond the 2/3 cutoff");
        }
    }
}

#[test]
fn dealiasing_keeps_energy_from_piling_up_near_the_cutoff() {
    // An under-resolved, nearly inviscid run: ν = 1e-5 at 64² for 5 time units. Aliasing
    // errors would flatten the spectrum into equipartition up to the grid scale.
    let (n, nu) = (64, 1e-5);
    let mut solver = NavierStokes2d::new(NsConfig::new(n, 1.0, nu))
        .unwrap()
        .with_forcing(&NsFlow::FnoBenchmark { nu }.forcing(n))
        .unwrap();
    solver.set_vorticity(&grf_vorticity(n, 3)).unwrap();
    solver.advance(5.0).unwrap();
    let enstrophy = solver.enstrophy_spectrum();
    let cutoff = dealias_cutoff(n);
    let total: f64 = enstrophy.iter().sum();
    let tail: f64 = enstrophy[2 * cutoff / 3..=cutoff].iter().sum();
    let beyond: f64 = enstrophy[cutoff + 1..].iter().sum();
    // Only the corners (|kx|, |ky| ≤ K with |k| > K) lie beyond shell K (measured 3e-5).
    assert!(beyond < 1e-3 * total, "beyond-cutoff enstrophy fraction {:e}", beyond / total);
    // The top third of the resolved shells holds a small fraction of the enstrophy (measured
    // 3.4e-4); equipartition would put over half of it there.
    assert!(tail < 5e-3 * total, "tail enstrophy fraction {:e}", tail / total);
}

#[test]
fn resolutions_n_and_2n_agree_over_a_short_horizon() {
    let nu = 1e-3;
    let t = 0.5;
    let flow = NsFlow::FnoBenchmark { nu };
    let run = |n: usize, initial: &[f64]| {
        let mut solver = NavierStokes2d::new(NsConfig::new(n, 1.0, nu))
            .unwrap()
            .with_forcing(&flow.forcing(n))
            .unwrap();
        solver.set_vorticity(initial).unwrap();
        solver.advance(t).unwrap();
        solver
    };
    // The same smooth initial field on both grids: a 16² GRF draw (|k| ≤ 5), zero-padded.
    let mut seed = NavierStokes2d::new(NsConfig::new(16, 1.0, nu)).unwrap();
    seed.set_vorticity(&grf_vorticity(16, 4)).unwrap();
    let initial =
        |n: usize| SpectralGrid::new(n, 1.0).unwrap().resample(seed.vorticity_hat(), 16).unwrap();
    let coarse = run(32, &initial(32));
    let fine = run(64, &initial(64));
    let fine_on_coarse =
        fine.vorticity_resampled(&mut SpectralGrid::new(32, 1.0).unwrap()).unwrap();
    let coarse_values =
        coarse.vorticity_resampled(&mut SpectralGrid::new(32, 1.0).unwrap()).unwrap();
    let diff = rel_l2(&coarse_values, &fine_on_coarse);
    // Spectral convergence: what the 32² grid misses is the cascade into |k| > 10 over half a
    // time unit (measured difference 5e-6; a 32² GRF start, rough up to the cutoff, gives 8e-4).
    assert!(diff < 5e-5, "32² vs 64² relative L2 difference {diff:e}");
}

/// `‖ω − ω_lam‖₂` over time for Kolmogorov flow at `re` from the laminar state plus a small
/// random perturbation.
fn kolmogorov_perturbation_history(re: f64, times: &[f64]) -> Vec<f64> {
    let n = 32;
    let flow = NsFlow::Kolmogorov { reynolds: re, wavenumber: 4 };
    let forcing = flow.forcing(n);
    let laminar: Vec<f64> = forcing.iter().map(|f| f * re / 16.0).collect();
    let noise = grf_vorticity(n, 5);
    let scale = 1e-4 * max_abs(&laminar) / max_abs(&noise);
    let initial: Vec<f64> = laminar.iter().zip(&noise).map(|(l, z)| l + scale * z).collect();
    let length = flow.length();
    let mut solver = NavierStokes2d::new(NsConfig::new(n, length, flow.nu()))
        .unwrap()
        .with_forcing(&forcing)
        .unwrap();
    solver.set_vorticity(&initial).unwrap();
    let mut history = Vec::new();
    for &t in times {
        solver.advance(t - solver.time()).unwrap();
        history.push(rms(&max_diff_vec(&solver.vorticity(), &laminar)));
    }
    history
}

fn max_diff_vec(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

#[test]
fn kolmogorov_laminar_state_is_stable_below_critical_reynolds() {
    // With ν = 1/Re and unit forcing sin(4y), the laminar flow (Re/16) sin(4y) has
    // Re_lam = Re²/64; Meshalkin & Sinai: stable for Re_lam < √2. Re = 5 gives 0.39.
    let times = [0.0, 5.0, 10.0, 20.0];
    let history = kolmogorov_perturbation_history(5.0, &times);
    for pair in history.windows(2) {
        assert!(pair[1] < pair[0], "perturbation grew: {history:?}");
    }
    // The slowest modes |k| = 1 decay like e^{−νt} = e^{−4} at t = 20.
    assert!(history[3] < 0.05 * history[0], "perturbation decayed too little: {history:?}");
}

#[test]
fn kolmogorov_laminar_state_is_unstable_well_above_critical_reynolds() {
    // Re = 40 gives Re_lam = 25, far beyond the threshold: the large-scale mode grows.
    let times = [0.0, 20.0];
    let history = kolmogorov_perturbation_history(40.0, &times);
    assert!(history[1] > 10.0 * history[0], "perturbation did not grow: {history:?}");
}

#[test]
fn if_rk4_at_cfl_one_is_more_accurate_than_the_reference_scheme_at_dt_1e_4() {
    // Matched accuracy for the benchmark: same flow and horizon, errors against an IF-RK4 run
    // at CFL 0.1 (its own error is ~1e4 times smaller than at CFL 1, fourth order).
    // At 64², IF-RK4's CFL step is half of 32²'s (16× less error) while Euler's error at a
    // fixed Δt barely depends on n; at the benchmark's 256² the margin is far larger.
    let (n, nu, t) = (64, 1e-3, 1.0);
    let flow = NsFlow::FnoBenchmark { nu };
    let initial = grf_vorticity(n, 6);
    let run = |scheme, time_step| {
        let config = NsConfig::new(n, 1.0, nu).with_scheme(scheme).with_time_step(time_step);
        let mut solver =
            NavierStokes2d::new(config).unwrap().with_forcing(&flow.forcing(n)).unwrap();
        solver.set_vorticity(&initial).unwrap();
        solver.advance(t).unwrap();
        solver.vorticity()
    };
    let exact = run(TimeScheme::IfRk4, TimeStep::Cfl(0.1));
    let ours = rel_l2(&run(TimeScheme::IfRk4, TimeStep::Cfl(1.0)), &exact);
    let reference = rel_l2(&run(TimeScheme::EulerCrankNicolson, TimeStep::Fixed(1e-4)), &exact);
    assert!(ours < reference, "IF-RK4 at CFL 1: {ours:e}, Euler–CN at 1e-4: {reference:e}");
}

#[test]
fn resampling_a_band_limited_field_matches_point_values() {
    // Modes below 8 are carried exactly between 32² and 16², either way.
    let field = |x: f64, y: f64| {
        (2.0 * PI * 3.0 * x).sin() * (2.0 * PI * 5.0 * y).cos()
            + 0.5 * (2.0 * PI * (7.0 * x - 2.0 * y)).cos()
    };
    let fine = sample_grid(32, 1.0, field);
    let coarse = sample_grid(16, 1.0, field);
    let mut fine_grid = SpectralGrid::new(32, 1.0).unwrap();
    let mut coarse_grid = SpectralGrid::new(16, 1.0).unwrap();
    let down = coarse_grid.resample(&fine_grid.forward(&fine).unwrap(), 32).unwrap();
    // Round-off of O(1) values through two transforms.
    assert!(max_diff(&down, &coarse) < 1e-13);
    let up = fine_grid.resample(&coarse_grid.forward(&coarse).unwrap(), 16).unwrap();
    assert!(max_diff(&up, &fine) < 1e-13);
}

#[test]
fn invalid_parameters_are_rejected_with_their_names() {
    let name_of = |error: SolverError| match error {
        SolverError::InvalidParameter { name, .. } => name,
        other => panic!("expected InvalidParameter, got {other}"),
    };
    assert_eq!(name_of(NavierStokes2d::new(NsConfig::new(32, 1.0, 0.0)).unwrap_err()), "nu");
    assert_eq!(name_of(NavierStokes2d::new(NsConfig::new(32, 1.0, -1e-3)).unwrap_err()), "nu");
    assert_eq!(name_of(NavierStokes2d::new(NsConfig::new(0, 1.0, 1e-3)).unwrap_err()), "n");
    assert_eq!(name_of(NavierStokes2d::new(NsConfig::new(33, 1.0, 1e-3)).unwrap_err()), "n");
    assert_eq!(name_of(NavierStokes2d::new(NsConfig::new(32, 0.0, 1e-3)).unwrap_err()), "length");
    let too_bold = NsConfig::new(32, 1.0, 1e-3).with_time_step(TimeStep::Cfl(2.0));
    assert_eq!(name_of(NavierStokes2d::new(too_bold).unwrap_err()), "time_step");
    let mut solver = NavierStokes2d::new(NsConfig::new(32, 1.0, 1e-3)).unwrap();
    assert_eq!(name_of(solver.set_vorticity(&[0.0; 10]).unwrap_err()), "field");
    assert_eq!(name_of(solver.set_vorticity(&vec![f64::NAN; 32 * 32]).unwrap_err()), "omega");
    assert_eq!(name_of(solver.advance(-1.0).unwrap_err()), "duration");
    let biased = vec![1.0; 32 * 32];
    assert_eq!(
        name_of(
            NavierStokes2d::new(NsConfig::new(32, 1.0, 1e-3))
                .unwrap()
                .with_forcing(&biased)
                .unwrap_err()
        ),
        "forcing"
    );
    let generator = NsGenerator::new(NsDataConfig::kolmogorov(5000.0, 32, 64, 2));
    assert_eq!(name_of(generator.unwrap_err()), "out_size");
}

#[test]
fn an_unstable_fixed_step_is_an_error() {
    let config = NsConfig::new(32, 1.0, 1e-3).with_time_step(TimeStep::Fixed(0.5));
    let mut solver = NavierStokes2d::new(config).unwrap();
    solver.set_vorticity(&grf_vorticity(32, 8)).unwrap();
    match solver.advance(1.0) {
        Err(SolverError::InvalidParameter { name: "time_step", expected, .. }) => {
            assert!(expected.contains("CFL"), "{expected}");
        }
        other => panic!("expected an unstable-step error, got {other:?}"),
    }
}

#[test]
fn runaway_integration_is_reported_not_converged() {
    let mut solver = NavierStokes2d::new(NsConfig::new(16, 1.0, 1e-3)).unwrap();
    let huge: Vec<f64> = grf_vorticity(16, 9).iter().map(|w| w * 1e200).collect();
    solver.set_vorticity(&huge).unwrap();
    match solver.advance(1.0) {
        Err(SolverError::NotConverged { detail, .. }) => {
            assert!(detail.contains("runaway"), "{detail}")
        }
        other => panic!("expected NotConverged, got {other:?}"),
    }
}

#[test]
fn generator_is_reproducible_and_rejects_unstable_samples() {
    let mut config = NsDataConfig::fno(1e-3, 0.2, 2);
    config.n = 32;
    config.out_size = 16;
    let generator = NsGenerator::new(config.clone()).unwrap();
    let first = generator.generate(11, 3).unwrap();
    assert_eq!(first, generator.generate(11, 3).unwrap());
    assert_ne!(first, generator.generate(11, 4).unwrap());
    assert_eq!(first.fields[0].name, "a");
    assert_eq!(first.fields[0].shape, vec![16, 16]);
    assert_eq!(first.fields[1].shape, vec![2, 16, 16]);
    for field in &first.fields {
        assert_eq!(field.data.len(), field.shape.iter().product::<usize>());
        assert!(field.data.iter().all(|x| x.is_finite()));
    }
    // "a" is the initial condition, truncated to 16².
    let solver = generator.initial_solver(11, 3).unwrap();
    let a = solver.vorticity_resampled(&mut SpectralGrid::new(16, 1.0).unwrap()).unwrap();
    assert_eq!(a, first.fields[0].data);
    // One 2-time-unit step has CFL number ≈ 6 here.
    let unstable_config =
        NsDataConfig { snapshot_dt: 2.0, ..config }.with_time_step(TimeStep::Fixed(2.0));
    let unstable = NsGenerator::new(unstable_config).unwrap();
    match unstable.generate(11, 3) {
        Err(SolverError::NotConverged { detail, .. }) => {
            assert!(detail.contains("sample 3") && detail.contains("CFL"), "{detail}");
        }
        other => panic!("expected a rejected sample, got {other:?}"),
    }
    assert_eq!(generator.equation(), "navier_stokes");
    assert_eq!(generator.parameters()["config"]["flow"]["kind"], "fno_benchmark");
}

#[test]
fn euler_cn_scheme_reproduces_the_fno_reference_step() {
    // Golden values from `tools/bench_reference_ns.py --golden` (the FNO reference step in
    // PyTorch 2.11.0, float64): 32², ν = 1e-3, Δt = 1e-3, 100 steps, FNO forcing.
    let golden = [
        ((0, 0), 4.905019744041899e-01),
        ((3, 17), 6.820607993231922e-01),
        ((10, 5), 3.121618394308412e-02),
        ((25, 30), -8.051533879884053e-01),
    ];
    let (n, nu) = (32, 1e-3);
    let omega0 = sample_grid(n, 1.0, |x, y| {
        (2.0 * PI * x).sin() * (4.0 * PI * y).cos() + 0.5 * (2.0 * PI * (3.0 * x + y)).cos()
    });
    let config = NsConfig::new(n, 1.0, nu)
        .with_scheme(TimeScheme::EulerCrankNicolson)
        .with_time_step(TimeStep::Fixed(1e-3));
    let mut solver = NavierStokes2d::new(config)
        .unwrap()
        .with_forcing(&NsFlow::FnoBenchmark { nu }.forcing(n))
        .unwrap();
    solver.set_vorticity(&omega0).unwrap();
    assert_eq!(solver.advance(0.1).unwrap().steps, 100);
    let omega = solver.vorticity();
    for ((i, j), expected) in golden {
        let got = omega[i * n + j];
        // Same scheme, different FFT libraries and operation order: round-off only.
        assert!((got - expected).abs() < 1e-12, "ω[{i}, {j}] = {got}, reference {expected}");
    }
}
