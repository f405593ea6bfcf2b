//! Prints the DFG benchmark quantities of the lattice Boltzmann cylinder solver: 2D-1 (Re 20,
//! steady: drag, lift, Δp) and 2D-2 (Re 100, periodic: Strouhal number, maximum drag and
//! lift), with the reference intervals of Schäfer & Turek (1996).
//!
//! `cargo run --release -p lno-solvers --example dfg_benchmark -- [ny] [case]`, where `ny` is
//! the lattice nodes across the channel (default 164, i.e. 40 per diameter) and `case` is
//! `2d1`, `2d2` or `both` (default).

use std::time::Instant;

use lno_solvers::cylinder::{LbmConfig, run_periodic, run_steady};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ny: usize = args.first().map(|s| s.parse()).transpose()?.unwrap_or(164);
    let case = args.get(1).map(String::as_str).unwrap_or("both");
    let u_max: f64 =
        std::env::var("LNO_DFG_UMAX").ok().map(|s| s.parse()).transpose()?.unwrap_or(0.1);
    let magic: f64 =
        std::env::var("LNO_DFG_MAGIC").ok().map(|s| s.parse()).transpose()?.unwrap_or(3.0 / 16.0);
    if case == "2d1" || case == "both" {
        let config = LbmConfig { u_max_lattice: u_max, magic, ..LbmConfig::dfg(ny, 20.0) };
        let (nx, _) = (config.nx(), ny);
        let start = Instant::now();
        let r = run_steady(config.clone(), 1e-6, 400.0)?;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "2D-1 ny={ny} ({nx}x{ny}, D={:.1}, tau={:.4}, u_max={u_max}): drag {:.4} [5.57, 5.59], \
             lift {:.5} [0.0104, 0.0110], delta_p {:.5} [0.1172, 0.1176]; surface fit: pressure \
             drag {:.4} + friction {:.4} = {:.4}; {} steps in {secs:.1} s ({:.1} MLUPS)",
            config.diameter_lattice(),
            config.tau(),
            r.drag,
            r.lift,
            r.delta_p,
            r.surface.pressure[0],
            r.surface.friction[0],
            r.surface.drag(),
            r.steps,
            r.steps as f64 * (nx * ny) as f64 / secs / 1e6
        );
    }
    if case == "2d2" || case == "both" {
        let config = LbmConfig { u_max_lattice: u_max, magic, ..LbmConfig::dfg(ny, 100.0) };
        let nx = config.nx();
        let spinup: f64 =
            std::env::var("LNO_DFG_SPINUP").ok().map(|s| s.parse()).transpose()?.unwrap_or(100.0);
        let start = Instant::now();
        let r = run_periodic(config.clone(), spinup, 20.0)?;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "2D-2 ny={ny} ({nx}x{ny}, D={:.1}, tau={:.4}, u_max={u_max}): Strouhal {:.4} \
             [0.295, 0.305], drag max {:.4} [3.22, 3.24], lift max {:.4} [0.99, 1.01], \
             drag mean {:.4}, {} periods; {} steps in {secs:.1} s ({:.1} MLUPS)",
            config.diameter_lattice(),
            config.tau(),
            r.strouhal,
            r.drag_max,
            r.lift_max,
            r.drag_mean,
            r.periods,
            r.steps,
            r.steps as f64 * (nx * ny) as f64 / secs / 1e6
        );
    }
    Ok(())
}
