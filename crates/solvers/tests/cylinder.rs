//! Tests of the cylinder-flow lattice Boltzmann solver, its sampling onto point clouds and its
//! data-set generator. Coarse lattices only; the full-resolution DFG numbers come from
//! `examples/dfg_benchmark.rs` and are recorded in docs/solvers.md.

use lno_solvers::cylinder::fields::NodalFields;
use std::f64::consts::PI;

use lno_solvers::cylinder::lattice::{DFG_CENTER, DFG_HEIGHT, DFG_LENGTH, DFG_RADIUS};
use lno_solvers::cylinder::{
    CloudConfig, CurvedWall, CylinderDataConfig, CylinderGenerator, CylinderLbm, LbmConfig,
    XBoundary, run_periodic, run_steady,
};
use lno_solvers::{SampleGenerator, SolverError};

/// A configuration with relaxation time `tau` at `ny` rows (diffusive scaling keeps τ and
/// hence the TRT error constants fixed across resolutions).
fn with_tau(mut config: LbmConfig, tau: f64) -> LbmConfig {
    let nu = (tau - 0.5) / 3.0;
    config.reynolds = config.u_mean_lattice() * config.diameter_lattice() / nu;
    config
}

fn poiseuille(ny: usize, magic: f64) -> LbmConfig {
    let config = LbmConfig {
        length: DFG_HEIGHT,
        u_max_lattice: 0.05,
        magic,
        cylinder: false,
        ..LbmConfig::dfg(ny, 1.0)
    };
    with_tau(config, 0.9)
}

/// Runs until the velocity changes by less than 1e-13 over 200 steps; returns the maximum
/// error of u_x on the middle column against the exact parabola, relative to u_max.
fn poiseuille_error(config: LbmConfig) -> f64 {
    let u_max = config.u_max_lattice;
    let mut lbm = CylinderLbm::new(config).expect("valid config");
    let (nx, ny) = lbm.shape();
    let column = |lbm: &CylinderLbm| -> Vec<f64> {
        let m = lbm.moments();
        (0..ny).map(|y| m[y * nx + nx / 2].1).collect()
    };
    let mut before = column(&lbm);
    for _ in 0..400 {
        lbm.advance(200).expect("stable");
        let now = column(&lbm);
        let change = now.iter().zip(&before).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        before = now;
        if change < 1e-13 {
            break;
        }
    }
    (0..ny)
        .map(|y| {
            let s = (y as f64 + 0.5) / ny as f64;
            (before[y] - u_max * 4.0 * s * (1.0 - s)).abs() / u_max
        })
        .fold(0.0, f64::max)
}

#[test]
fn poiseuille_flow_is_reproduced_to_second_order() {
    // Λ = 1/4 leaves the O(Δx²) wall-slip error of bounce-back, so the order is visible.
    let errors: Vec<f64> =
        [8, 16, 32].iter().map(|&n| poiseuille_error(poiseuille(n, 0.25))).collect();
    for k in 0..2 {
        let order = (errors[k] / errors[k + 1]).log2();
        // Halfway bounce-back with TRT is second order (measured 2.2 and 1.7: the inlet's
        // moving-wall bounce-back adds a pre-asymptotic part); 1.5 still excludes first order.
        assert!(order > 1.5, "errors {errors:?}, order {order}");
    }
    // The error is a few percent at 8 rows at most; anything larger is a bug, not truncation.
    assert!(errors[0] < 0.05, "errors {errors:?}");
}

#[test]
fn fast_step_matches_the_reference_step() {
    let config = LbmConfig::dfg(41, 100.0);
    let mut fast = CylinderLbm::new(config.clone()).expect("valid");
    let mut slow = CylinderLbm::new(config).expect("valid");
    for _ in 0..60 {
        let (a, b) = (fast.step().expect("stable"), slow.step_reference().expect("stable"));
        // The fast path reads the same populations and runs the same collision: bitwise equal.
        assert_eq!(a, b);
    }
    assert_eq!(fast.moments(), slow.moments());
}

#[test]
fn mass_is_conserved_to_roundoff_in_a_periodic_channel() {
    for (cylinder, wall) in [(false, CurvedWall::Bouzidi), (true, CurvedWall::Staircase)] {
        let config = LbmConfig {
            cylinder,
            curved_wall: wall,
            x_boundary: XBoundary::Periodic,
            ..LbmConfig::dfg(20, 40.0)
        };
        let mut lbm = CylinderLbm::new(config).expect("valid");
        lbm.set_equilibrium(|x, y| {
            let s = (2.0 * std::f64::consts::PI * x / DFG_LENGTH).sin();
            (1.0 + 0.01 * s, 0.05 * s * (y * 10.0).cos(), 0.03 * (x * 7.0).cos())
        })
        .expect("finite field");
        let m0 = lbm.total_mass();
        lbm.advance(300).expect("stable");
        let drift = (lbm.total_mass() - m0).abs() / m0;
        // Streaming and bounce-back move populations without creating any; sums of ~10⁴
        // terms of O(1) leave roundoff only.
        assert!(drift < 1e-12, "cylinder {cylinder}: relative drift {drift:e}");
    }
}

#[test]
fn dfg_2d1_at_ten_nodes_per_diameter_is_within_the_measured_band() {
    // D = 10 nodes: measured drag 5.612 and Δp 0.1145 (docs/solvers.md, "Pressure
    // difference"). D = 10 cannot resolve the viscous pressure rise at the front stagnation
    // point (Δp is 2.5% low here, 0.2% at D = 20, in the DFG interval at D = 40), so this is
    // a regression guard on the coarse numbers, not a check of the DFG interval.
    let config = LbmConfig::dfg(41, 20.0);
    let u_mean = config.u_mean_lattice();
    let mut lbm = CylinderLbm::new(config).expect("valid");
    let window = lbm.config().steps_per_convective_time().ceil() as usize;
    let mut previous = f64::NAN;
    let mut drag = f64::NAN;
    for _ in 0..80 {
        drag = lbm.advance(window).expect("stable")[window - 1].drag;
        if ((drag - previous) / drag).abs() < 1e-5 {
            break;
        }
        previous = drag;
    }
    let fields = lbm.nodal_fields();
    let delta_p = fields.pressure_difference().expect("enough nodes");
    // 2% around the DFG drag holds the measured +0.6%.
    assert!((drag - 5.58).abs() < 0.02 * 5.58, "drag {drag}");
    // 0.5% around the measured 0.11451: the looser steady threshold here moves Δp by < 0.05%.
    assert!((delta_p - 0.11451).abs() < 5e-3 * 0.11451, "delta_p {delta_p}");
    // The fitted surface traction integrates to the momentum-exchange drag: measured −2.1% at
    // D = 10 (−0.6% at D = 20, −0.1% at D = 40); 3% catches a wrong sign or scale.
    let surface = fields.surface_forces(360).expect("enough nodes");
    assert!((surface.drag() - drag).abs() < 0.03 * drag, "{surface:?} vs drag {drag}");
    // Mass balance at steady state: every cross-section carries the inlet flux (2/3) u_max H.
    let (nx, ny) = lbm.shape();
    let m = lbm.moments();
    let inflow = u_mean * ny as f64;
    for x in [5, 60, nx / 2, nx - 3] {
        let flux: f64 = (0..ny).map(|y| m[y * nx + x].1).sum();
        // Measured deviations up to 0.2%: the state is steady only to a 1e-5 drag change per
        // D/U and the bounce-back inlet injects its profile to O(Δx²); 0.5% catches any leak.
        assert!((flux - inflow).abs() < 5e-3 * inflow, "x {x}: flux {flux} vs {inflow}");
    }
}

#[test]
#[ignore = "about 1 min in release, several in the dev profile: run with \
            `cargo test --release -p lno-solvers --test cylinder -- --ignored`"]
fn dfg_2d1_at_twenty_nodes_per_diameter_meets_drag_and_pressure_difference_within_one_percent() {
    let report = run_steady(LbmConfig::dfg(82, 20.0), 1e-6, 200.0).expect("steady");
    // Measured C_D 5.5896 (DFG [5.57, 5.59]) and Δp 0.11719 (DFG [0.1172, 0.1176], −0.2%):
    // the 1% fallback for a resolution that cannot reach the interval.
    assert!((5.57..=5.59).contains(&report.drag), "{report:?}");
    assert!((report.delta_p - 0.1174).abs() < 0.01 * 0.1174, "{report:?}");
}

#[test]
fn strouhal_number_at_re_100_coarse_is_within_the_measured_band() {
    // D = 15 nodes is the coarsest lattice stable at Re 100 (D = 10 blows up, τ = 0.52).
    let config = LbmConfig { magic: 0.25, ..LbmConfig::dfg(62, 100.0) };
    let report = run_periodic(config, 50.0, 10.0).expect("shedding");
    // Measured St = 0.3007 at D = 15 (docs/solvers.md); the band is 5% around the DFG value
    // 0.30, wide enough for the shorter spin-up used here.
    assert!((report.strouhal - 0.30).abs() < 0.05 * 0.30, "{report:?}");
    assert!(report.periods >= 2, "{report:?}");
}

/// A state whose lattice velocity is bilinear in (x, y) and density linear in x.
fn bilinear_state(ny: usize) -> (CylinderLbm, impl Fn(f64, f64) -> [f64; 3]) {
    let config = LbmConfig::dfg(ny, 20.0);
    let speed = config.u_mean_physical() / config.u_mean_lattice();
    let mut lbm = CylinderLbm::new(config).expect("valid");
    let u = |x: f64, y: f64| 0.02 + 0.01 * x - 0.03 * y + 0.05 * x * y;
    let v = |x: f64, y: f64| -0.01 + 0.02 * x * y;
    let rho = |x: f64, _y: f64| 1.0 + 0.004 * x;
    lbm.set_equilibrium(|x, y| (rho(x, y), u(x, y), v(x, y))).expect("finite");
    let exact = move |x: f64, y: f64| {
        [u(x, y) * speed, v(x, y) * speed, (rho(x, y) - 1.0) / 3.0 * speed * speed]
    };
    (lbm, exact)
}

/// Deterministic points in `[0.4, 2.1] × [0.03, 0.38]`, away from the cylinder and walls.
fn interior_points(n: usize) -> Vec<[f64; 2]> {
    (0..n)
        .map(|k| {
            let a = (k as f64 * 0.618_033_988_75).fract();
            let b = (k as f64 * 0.754_877_666_2).fract();
            [0.4 + 1.7 * a, 0.03 + 0.35 * b]
        })
        .collect()
}

#[test]
fn sampling_is_exact_for_bilinear_fields_away_from_boundaries() {
    let (lbm, exact) = bilinear_state(41);
    let points = interior_points(200);
    let sampled = lbm.nodal_fields().sample(&points).expect("inside");
    for (p, s) in points.iter().zip(&sampled) {
        let e = exact(p[0], p[1]);
        for c in 0..3 {
            // Bilinear interpolation reproduces bilinear data up to roundoff.
            assert!((s[c] - e[c]).abs() < 1e-12, "at {p:?}: {s:?} vs {e:?}");
        }
    }
}

#[test]
fn sampling_converges_at_second_order_for_a_smooth_field() {
    let points = interior_points(300);
    let errors: Vec<f64> = [41, 82]
        .iter()
        .map(|&ny| {
            let config = LbmConfig::dfg(ny, 20.0);
            let speed = config.u_mean_physical() / config.u_mean_lattice();
            let mut lbm = CylinderLbm::new(config).expect("valid");
            let f = |x: f64, y: f64| 0.05 * (3.0 * x).sin() * (11.0 * y).cos();
            lbm.set_equilibrium(|x, y| (1.0, f(x, y), 0.0)).expect("finite");
            let fields: NodalFields = lbm.nodal_fields();
            let sampled = fields.sample(&points).expect("inside");
            points
                .iter()
                .zip(&sampled)
                .map(|(p, s)| (s[0] - f(p[0], p[1]) * speed).abs())
                .fold(0.0, f64::max)
        })
        .collect();
    let order = (errors[0] / errors[1]).log2();
    // Bilinear interpolation is second order; 1.8 allows for the sampled maximum moving.
    assert!(order > 1.8, "errors {errors:?}, order {order}");
}

#[test]
fn sampling_honours_no_slip_walls_and_the_inlet_profile() {
    let config = LbmConfig::dfg(41, 20.0);
    let u_mean = config.u_mean_physical();
    let lbm = CylinderLbm::new(config).expect("valid");
    let fields = lbm.nodal_fields();
    let wall: Vec<[f64; 2]> = (0..20)
        .flat_map(|k| [[0.5 + 0.08 * k as f64, 0.0], [0.5 + 0.08 * k as f64, DFG_HEIGHT]])
        .collect();
    for s in fields.sample(&wall).expect("on the walls") {
        // Odd ghost reflection: the interpolant vanishes on the wall up to roundoff.
        assert!(s[0].abs() < 1e-12 && s[1].abs() < 1e-12, "{s:?}");
    }
    let inlet: Vec<[f64; 2]> = (0..=20).map(|k| [0.0, DFG_HEIGHT * k as f64 / 20.0]).collect();
    for (p, s) in inlet.iter().zip(fields.sample(&inlet).expect("on the inlet")) {
        let y = p[1] / DFG_HEIGHT;
        let exact = 1.5 * u_mean * 4.0 * y * (1.0 - y);
        // The initial state is the nodal parabola; linear interpolation of a parabola between
        // nodes Δx apart errs by at most u_max·(Δx/H)²·… ≤ 1.5 U/41².
        assert!((s[0] - exact).abs() < 1.5 * u_mean / 41.0_f64.powi(2), "at {p:?}: {}", s[0]);
    }
}

/// Polar coordinates `(r − R, φ − θ0)` of a point about the cylinder centre, the angle
/// wrapped to (−π, π].
fn polar(x: f64, y: f64, theta0: f64) -> (f64, f64) {
    let (px, py) = (x - DFG_CENTER[0], y - DFG_CENTER[1]);
    let dphi = (py.atan2(px) - theta0 + PI).rem_euclid(2.0 * PI) - PI;
    ((px * px + py * py).sqrt() - DFG_RADIUS, dphi)
}

#[test]
fn surface_pressure_is_exact_for_fields_in_the_fit_basis() {
    // Cubic in the wall distance, quadratic along the wall: the fit's basis, so the wall
    // value a0 must come back whatever the lattice, at the front, back and a slanted point.
    for (ny, theta0) in [(41, PI), (82, 0.0), (82, 2.0)] {
        let config = LbmConfig::dfg(ny, 20.0);
        let speed = config.u_mean_physical() / config.u_mean_lattice();
        let mut lbm = CylinderLbm::new(config).expect("valid");
        let a0 = 0.13;
        let p = move |x: f64, y: f64| {
            let (d, a) = polar(x, y, theta0);
            a0 - 0.9 * d + 40.0 * d * d - 900.0 * d * d * d + 0.02 * a + 0.5 * a * d - 0.01 * a * a
        };
        lbm.set_equilibrium(|x, y| (1.0 + 3.0 * p(x, y) / (speed * speed), 0.0, 0.0))
            .expect("finite");
        let got = lbm.nodal_fields().surface_pressure(theta0).expect("enough nodes");
        // Least squares on ~30 nodes from densities 1 + O(0.1): roundoff only.
        assert!((got - a0).abs() < 1e-10, "ny {ny}, θ {theta0}: {got} vs {a0}");
    }
}

#[test]
fn wall_shear_rate_is_exact_for_a_shear_layer_in_the_fit_basis() {
    let theta0: f64 = 2.5;
    let config = LbmConfig::dfg(82, 20.0);
    let speed = config.u_mean_physical() / config.u_mean_lattice();
    let mut lbm = CylinderLbm::new(config).expect("valid");
    let tangent = [-theta0.sin(), theta0.cos()];
    // u_t = γ d + κ d² + c d·a (zero on the wall), in physical units, γ the answer; cut off
    // beyond the fit window (4.5Δx ≈ 0.023) so the lattice speed stays bounded.
    let gamma = 3.0;
    let ut = |x: f64, y: f64| {
        let (d, a) = polar(x, y, theta0);
        if d < 0.04 { gamma * d - 20.0 * d * d + 0.4 * d * a } else { 0.0 }
    };
    lbm.set_equilibrium(|x, y| {
        let u = ut(x, y) / speed;
        (1.0, u * tangent[0], u * tangent[1])
    })
    .expect("finite");
    let got = lbm.nodal_fields().wall_shear_rate(theta0).expect("enough nodes");
    // Exact representation: roundoff of a 6-column least-squares solve only.
    assert!((got - gamma).abs() < 1e-9 * gamma, "{got} vs {gamma}");
}

#[test]
fn surface_forces_of_a_uniform_pressure_gradient_give_the_buoyancy_force() {
    // p = −G x at rest: −∮ p n dS = G πR² along +x, no lift, no friction.
    let config = LbmConfig::dfg(82, 20.0);
    let (speed, u_mean) =
        (config.u_mean_physical() / config.u_mean_lattice(), config.u_mean_physical());
    let mut lbm = CylinderLbm::new(config).expect("valid");
    let g = 0.5;
    lbm.set_equilibrium(|x, _| (1.0 + 3.0 * (-g * x) / (speed * speed), 0.0, 0.0)).expect("finite");
    let forces = lbm.nodal_fields().surface_forces(360).expect("enough nodes");
    let exact = 2.0 * g * PI * DFG_RADIUS * DFG_RADIUS / (u_mean * u_mean * 2.0 * DFG_RADIUS);
    // A linear field is not exactly in the (s, t) basis (x depends on t through cos(tΔx/R));
    // the leftover is the odd t³ term, which a symmetric window nearly cancels: measured
    // relative error 4.9e-5, asserted 2e-4.
    assert!((forces.pressure[0] - exact).abs() < 2e-4 * exact, "{forces:?} vs {exact}");
    assert!(forces.pressure[1].abs() < 1e-3 * exact, "{forces:?}");
    assert!(forces.friction[0].abs() < 1e-12 && forces.friction[1].abs() < 1e-12, "{forces:?}");
}

#[test]
fn surface_queries_reject_bad_input_with_the_parameter_named() {
    let lbm = CylinderLbm::new(LbmConfig::dfg(41, 20.0)).expect("valid");
    let fields = lbm.nodal_fields();
    for (error, name) in [
        (fields.surface_pressure(f64::NAN).unwrap_err(), "theta"),
        (fields.wall_shear_rate(f64::INFINITY).unwrap_err(), "theta"),
        (fields.surface_forces(3).unwrap_err(), "n"),
    ] {
        assert_eq!(invalid_name(error), name);
    }
}

fn small_data_config() -> CylinderDataConfig {
    CylinderDataConfig {
        ny: 41,
        reynolds: [60.0, 80.0],
        t_spinup: 1.0,
        t_window: 1.0,
        snapshot_dt: 0.5,
        cloud: CloudConfig { h_near: 0.01, h_far: 0.05, ..CloudConfig::default() },
        ..CylinderDataConfig::default()
    }
}

#[test]
fn generator_is_reproducible_and_independent_of_thread_count() {
    let generator = CylinderGenerator::new(small_data_config()).expect("valid");
    let a = generator.generate(5, 3).expect("stable");
    let b = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool")
        .install(|| generator.generate(5, 3).expect("stable"));
    assert_eq!(a, b);
    let c = generator.generate(5, 4).expect("stable");
    assert_ne!(a.fields[2].data, c.fields[2].data, "another index draws another Re");
    let n = generator.points().len();
    let names: Vec<&str> = a.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["points", "weights", "reynolds", "time", "a", "u"]);
    assert_eq!(a.fields[4].shape, vec![n, 3]);
    assert_eq!(a.fields[5].shape, vec![n, 3]);
    let re = a.fields[2].data[0];
    assert!((60.0..=80.0).contains(&re), "Re {re}");
    let area: f64 = generator.weights().iter().sum();
    let exact = 2.2 * 0.41 - 32.0 * 0.05f64.powi(2) * (2.0 * std::f64::consts::PI / 64.0).sin();
    // Lumped weights tile the polygonal domain: roundoff only.
    assert!((area - exact).abs() < 1e-12, "area {area} vs {exact}");
    assert!(a.fields[4].data.iter().chain(&a.fields[5].data).all(|v| v.is_finite()));
    assert_ne!(a.fields[4].data, a.fields[5].data, "the output is a later state");
}

fn invalid_name(error: SolverError) -> &'static str {
    match error {
        SolverError::InvalidParameter { name, .. } => name,
        other => panic!("expected InvalidParameter, got {other}"),
    }
}

#[test]
fn bad_input_is_rejected_with_the_parameter_named() {
    let base = LbmConfig::dfg(41, 20.0);
    let cases: Vec<(LbmConfig, &str)> = vec![
        (LbmConfig { ny: 4, ..base.clone() }, "ny"),
        (LbmConfig { reynolds: f64::NAN, ..base.clone() }, "reynolds"),
        (LbmConfig { reynolds: 5000.0, ..base.clone() }, "reynolds"),
        (LbmConfig { u_max_lattice: 0.3, ..base.clone() }, "u_max_lattice"),
        (LbmConfig { magic: 0.0, ..base.clone() }, "magic"),
        (LbmConfig { length: 0.1, ..base.clone() }, "length"),
    ];
    for (config, name) in cases {
        assert_eq!(invalid_name(CylinderLbm::new(config).unwrap_err()), name);
    }
    let mut lbm = CylinderLbm::new(base.clone()).expect("valid");
    assert_eq!(
        invalid_name(lbm.set_equilibrium(|_, _| (1.0, f64::NAN, 0.0)).unwrap_err()),
        "field"
    );
    let fields = lbm.nodal_fields();
    assert_eq!(invalid_name(fields.sample(&[[3.0, 0.2]]).unwrap_err()), "points");
    assert_eq!(invalid_name(run_steady(base.clone(), 0.0, 10.0).unwrap_err()), "tolerance");
    assert_eq!(invalid_name(run_periodic(base, -1.0, 10.0).unwrap_err()), "t_spinup");
    let data = |c: CylinderDataConfig| CylinderGenerator::new(c).unwrap_err();
    let good = small_data_config();
    assert_eq!(
        invalid_name(data(CylinderDataConfig { reynolds: [80.0, 60.0], ..good.clone() })),
        "reynolds"
    );
    assert_eq!(
        invalid_name(data(CylinderDataConfig { snapshot_dt: 0.0, ..good.clone() })),
        "snapshot_dt"
    );
    let bad_cloud = CloudConfig { h_near: -1.0, ..good.cloud.clone() };
    assert!(matches!(
        data(CylinderDataConfig { cloud: bad_cloud, ..good }),
        SolverError::InvalidParameter { .. }
    ));
}

#[test]
fn a_blow_up_is_reported_as_not_converged() {
    let mut lbm = CylinderLbm::new(LbmConfig::dfg(20, 20.0)).expect("valid");
    // A density spike of 1e300 is finite but drives velocities far past the stability limit.
    lbm.set_equilibrium(|x, y| {
        let spike = (x - 1.0).abs() < 0.02 && (y - 0.2).abs() < 0.02;
        (if spike { 1e300 } else { 1.0 }, 0.0, 0.0)
    })
    .expect("finite");
    let error = lbm.advance(5).unwrap_err();
    assert!(matches!(error, SolverError::NotConverged { .. }), "{error}");
}
