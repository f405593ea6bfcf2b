//! Validation of the diffusion–reaction solver (data-recipes.md §4.4, "Validation checks"):
//! discrete eigenmodes, mass conservation, the reaction fixed point, an RK4 oracle for the
//! adaptive integrator, tolerance control, input checks and the generator.

use std::f64::consts::PI;

use lno_solvers::diffusion_reaction::{
    DiffReactConfig, DiffReactGenerator, DiffusionReaction, Reaction,
};
use lno_solvers::{SampleGenerator, SolverError, sample_rng};
use rand::Rng;
use rand_distr::StandardNormal;

fn noise(cells: usize, index: u64) -> Vec<f64> {
    let mut rng = sample_rng(3, index);
    (0..cells).map(|_| rng.sample(StandardNormal)).collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn laplacian_matches_the_assembled_pdebench_matrix() {
    // The slow oracle: PDEBench's sparse matrix, each cell coupled to the neighbours it has.
    for n in [2, 7, 16] {
        let system = DiffusionReaction::new(DiffReactConfig::pdebench().with_cells(n)).unwrap();
        let inv_dx2 = 1.0 / (system.config().dx() * system.config().dx());
        let mut triplets = sprs::TriMat::new((n * n, n * n));
        for j in 0..n {
            for i in 0..n {
                let row = j * n + i;
                let neighbours = [
                    (i > 0).then(|| row - 1),
                    (i + 1 < n).then(|| row + 1),
                    (j > 0).then(|| row - n),
                    (j + 1 < n).then(|| row + n),
                ];
                for col in neighbours.into_iter().flatten() {
                    triplets.add_triplet(row, col, inv_dx2);
                    triplets.add_triplet(row, row, -inv_dx2);
                }
            }
        }
        let matrix: sprs::CsMat<f64> = triplets.to_csr();
        let field = noise(n * n, n as u64);
        let expected: Vec<f64> = matrix
            .outer_iterator()
            .map(|row| row.iter().map(|(col, value)| value * field[col]).sum())
            .collect();
        let mut got = vec![0.0; n * n];
        system.laplacian(&field, &mut got);
        // Same sums in a different order: round-off of values ~4/Δx² · |field|.
        assert!(max_diff(&got, &expected) < 1e-12 * inv_dx2, "n = {n}");
    }
}

#[test]
fn diffusion_only_cosine_eigenmodes_decay_at_their_discrete_rate() {
    let (n, d, t_final) = (32, 5e-3, 5.0);
    let config = DiffReactConfig::pdebench()
        .with_cells(n)
        .with_reaction(Reaction::Off)
        .with_diffusivities(d, d)
        .with_outputs(t_final, 6)
        .with_tolerances(1e-10, 1e-12);
    let system = DiffusionReaction::new(config.clone()).unwrap();
    let dx = config.dx();
    let centre = |i: usize| -1.0 + dx * (i as f64 + 0.5);
    let eigenvalue = |m: f64| -(2.0 / (dx * dx)) * (1.0 - (PI * m * dx / 2.0).cos());
    for (mx, my) in [(1.0, 0.0), (3.0, 2.0)] {
        let mode: Vec<f64> = (0..n * n)
            .map(|c| {
                (PI * mx * (centre(c % n) + 1.0) / 2.0).cos()
                    * (PI * my * (centre(c / n) + 1.0) / 2.0).cos()
            })
            .collect();
        let trajectory = system.solve(&mode, &mode).unwrap();
        let lambda = eigenvalue(mx) + eigenvalue(my);
        for (k, t) in trajectory.times.iter().enumerate() {
            let expected: Vec<f64> = mode.iter().map(|x| x * (d * lambda * t).exp()).collect();
            let err = max_diff(&trajectory.u[k * n * n..][..n * n], &expected);
            // The integrator's tolerance (rtol 1e-10) over ~100 steps; the continuous rate
            // (mπ/2)² would be off by ~1e-3 here.
            assert!(err < 1e-8, "mode ({mx}, {my}) at t = {t}: error {err:e}");
        }
    }
}

#[test]
fn mass_is_conserved_without_reaction() {
    let n = 32;
    let config = DiffReactConfig::pdebench()
        .with_cells(n)
        .with_reaction(Reaction::Off)
        .with_outputs(5.0, 11);
    let system = DiffusionReaction::new(config).unwrap();
    let (u0, v0) = (noise(n * n, 1), noise(n * n, 2));
    let trajectory = system.solve(&u0, &v0).unwrap();
    for (field, initial) in [(&trajectory.u, &u0), (&trajectory.v, &v0)] {
        let mass0: f64 = initial.iter().sum();
        let scale: f64 = initial.iter().map(|x| x.abs()).sum();
        for k in 0..trajectory.times.len() {
            let mass: f64 = field[k * n * n..][..n * n].iter().sum();
            // Face fluxes cancel pairwise; only summation round-off (~ε·Σ|u| per step) remains.
            assert!((mass - mass0).abs() < 1e-12 * scale, "mass drift {:e}", mass - mass0);
        }
    }
}

#[test]
fn reaction_fixed_point_stays_put() {
    let n = 16;
    let config = DiffReactConfig::pdebench().with_cells(n);
    let fixed = -config.k.cbrt();
    assert!((fixed + 0.170_998).abs() < 1e-6);
    let system = DiffusionReaction::new(config).unwrap();
    let state = vec![fixed; n * n];
    let trajectory = system.solve(&state, &state).unwrap();
    for field in [&trajectory.u, &trajectory.v] {
        let drift = field.iter().fold(0.0_f64, |m, x| m.max((x - fixed).abs()));
        // u³ = −k holds to one rounding (~1e-18); the residual integrates to far below this.
        assert!(drift < 1e-14, "fixed point drifted by {drift:e}");
    }
}

/// The reaction ODE of one cell, integrated by classical RK4 with a fixed small step.
fn reaction_rk4(u0: f64, v0: f64, k: f64, t: f64, steps: usize) -> (f64, f64) {
    let f = |u: f64, v: f64| (u - u * u * u - k - v, u - v);
    let h = t / steps as f64;
    let (mut u, mut v) = (u0, v0);
    for _ in 0..steps {
        let k1 = f(u, v);
        let k2 = f(u + 0.5 * h * k1.0, v + 0.5 * h * k1.1);
        let k3 = f(u + 0.5 * h * k2.0, v + 0.5 * h * k2.1);
        let k4 = f(u + h * k3.0, v + h * k3.1);
        u += h / 6.0 * (k1.0 + 2.0 * k2.0 + 2.0 * k3.0 + k4.0);
        v += h / 6.0 * (k1.1 + 2.0 * k2.1 + 2.0 * k3.1 + k4.1);
    }
    (u, v)
}

#[test]
fn reaction_only_matches_a_fine_fixed_step_rk4_oracle() {
    let n = 4;
    let t_final = 5.0;
    let config = DiffReactConfig::pdebench()
        .with_cells(n)
        .with_diffusivities(0.0, 0.0)
        .with_outputs(t_final, 2)
        .with_tolerances(1e-10, 1e-12);
    let system = DiffusionReaction::new(config.clone()).unwrap();
    let (u0, v0) = (noise(n * n, 4), noise(n * n, 5));
    let trajectory = system.solve(&u0, &v0).unwrap();
    for c in 0..n * n {
        let (u, v) = reaction_rk4(u0[c], v0[c], config.k, t_final, 50_000);
        let (got_u, got_v) = (trajectory.u[n * n + c], trajectory.v[n * n + c]);
        // RK4 at h = 1e-4 is accurate to ~1e-14; DOPRI at rtol 1e-10 to ~1e-9 over t = 5.
        assert!(
            (got_u - u).abs() < 1e-8 && (got_v - v).abs() < 1e-8,
            "cell {c}: ({got_u}, {got_v}) vs ({u}, {v})"
        );
    }
}

#[test]
fn tighter_tolerance_gives_a_more_accurate_solution() {
    let n = 32;
    let (u0, v0) = (noise(n * n, 6), noise(n * n, 7));
    let run = |rtol: f64, atol: f64| {
        let config = DiffReactConfig::pdebench()
            .with_cells(n)
            .with_outputs(1.0, 2)
            .with_tolerances(rtol, atol);
        let trajectory = DiffusionReaction::new(config).unwrap().solve(&u0, &v0).unwrap();
        (trajectory.u[n * n..].to_vec(), trajectory.stats)
    };
    let (reference, _) = run(1e-11, 1e-13);
    let (loose, loose_stats) = run(1e-3, 1e-6);
    let (tight, tight_stats) = run(1e-6, 1e-9);
    let (loose_err, tight_err) = (max_diff(&loose, &reference), max_diff(&tight, &reference));
    // rtol 1e-3 on O(1) values: errors of a few 1e-3 at most (PDEBench's accuracy).
    assert!(loose_err < 1e-2, "rtol 1e-3 error {loose_err:e}");
    // Three more digits of tolerance buy at least two more digits of accuracy.
    assert!(tight_err < 1e-2 * loose_err, "rtol 1e-6 error {tight_err:e} vs {loose_err:e}");
    assert!(tight_stats.accepted > loose_stats.accepted);
}

#[test]
fn invalid_parameters_are_rejected_with_their_names() {
    let name_of = |error: SolverError| match error {
        SolverError::InvalidParameter { name, .. } => name,
        other => panic!("expected InvalidParameter, got {other}"),
    };
    let base = DiffReactConfig::pdebench().with_cells(8);
    let check = |config: DiffReactConfig| name_of(DiffusionReaction::new(config).unwrap_err());
    assert_eq!(check(base.clone().with_cells(1)), "n");
    assert_eq!(check(base.clone().with_diffusivities(-1e-3, 5e-3)), "du");
    assert_eq!(check(base.clone().with_diffusivities(1e-3, f64::NAN)), "dv");
    assert_eq!(check(base.clone().with_tolerances(0.0, 1e-6)), "rtol");
    assert_eq!(check(base.clone().with_tolerances(1e-3, -1.0)), "atol");
    assert_eq!(check(base.clone().with_outputs(0.0, 11)), "t_final");
    assert_eq!(check(base.clone().with_outputs(1.0, 1)), "n_outputs");
    let system = DiffusionReaction::new(base).unwrap();
    assert_eq!(name_of(system.solve(&[0.0; 3], &[0.0; 64]).unwrap_err()), "u0");
    assert_eq!(name_of(system.solve(&[0.0; 64], &[f64::INFINITY; 64]).unwrap_err()), "v0");
}

#[test]
fn a_blowing_up_integration_is_not_converged() {
    // u' ≈ −u³ from 1e200 overflows in the first stage; every step is rejected until the
    // step size underflows.
    let system = DiffusionReaction::new(DiffReactConfig::pdebench().with_cells(4)).unwrap();
    match system.solve(&[1e200; 16], &[0.0; 16]) {
        Err(SolverError::NotConverged { detail, .. }) => {
            assert!(detail.contains("step size"), "{detail}")
        }
        other => panic!("expected NotConverged, got {other:?}"),
    }
}

#[test]
fn generator_is_reproducible_with_pdebench_layout() {
    let n = 16;
    let config = DiffReactConfig::pdebench().with_cells(n).with_outputs(0.5, 3);
    let generator = DiffReactGenerator::new(config).unwrap();
    let sample = generator.generate(5, 2).unwrap();
    assert_eq!(sample, generator.generate(5, 2).unwrap());
    assert_ne!(sample, generator.generate(5, 3).unwrap());
    let names: Vec<&str> = sample.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["u", "v"]);
    let (u0, v0) = generator.initial_state(5, 2);
    for (field, initial) in sample.fields.iter().zip([u0, v0]) {
        assert_eq!(field.shape, vec![3, n, n]);
        assert_eq!(&field.data[..n * n], &initial[..]);
        assert!(field.data.iter().all(|x| x.is_finite()));
    }
    assert_eq!(generator.equation(), "diffusion_reaction");
    assert_eq!(generator.parameters()["config"]["du"], 1e-3);
}
