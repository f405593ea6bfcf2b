//! Galewsky et al. (2004) barotropic instability: integrates the perturbed jet for six days
//! at 256×512 (equiangular, `lmax = 86`, Δt = 150 s, torch-harmonics' hyperdiffusion) and
//! writes the relative vorticity as a longitude–latitude colour map to
//! `docs/img/galewsky_day6.png` (or the path given as the first argument), in the layout of
//! Galewsky et al.'s Fig. 4: the northern hemisphere, longitude −180°…180° with the bump at 0°.
//!
//! Run with `cargo run --release -p lno-solvers --example galewsky` (about 10 s).

use std::error::Error;

use lno_quadrature::SphereGridKind;
use lno_solvers::shallow_water::{GalewskyParams, ShallowWater, SweConfig};
use plotters::prelude::*;

const NLAT: usize = 256;
const NLON: usize = 512;
const DT: f64 = 150.0;
const DAYS: f64 = 6.0;

/// Blue–white–red for `x ∈ [−1, 1]` (clamped), white at 0.
fn diverging(x: f64) -> RGBColor {
    let x = x.clamp(-1.0, 1.0);
    let (r, g, b) = if x < 0.0 {
        let t = -x;
        (1.0 - 0.85 * t, 1.0 - 0.7 * t, 1.0 - 0.25 * t)
    } else {
        (1.0 - 0.25 * x, 1.0 - 0.8 * x, 1.0 - 0.85 * x)
    };
    RGBColor((255.0 * r) as u8, (255.0 * g) as u8, (255.0 * b) as u8)
}

fn main() -> Result<(), Box<dyn Error>> {
    let out = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/img/galewsky_day6.png").to_string()
    });
    let config = SweConfig::new(SphereGridKind::Equiangular, NLAT, NLON, DT);
    let mut solver = ShallowWater::new(config)?;
    let state = solver.galewsky(&GalewskyParams::default())?;
    solver.set_state(state)?;
    let n_steps = (DAYS * 86_400.0 / DT).round() as u64;
    let start = std::time::Instant::now();
    solver.advance(n_steps)?;
    let elapsed = start.elapsed().as_secs_f64();
    let vort = solver.grid_fields()?.vort;
    let max = vort.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    eprintln!(
        "{n_steps} steps in {elapsed:.1} s ({:.2} ms/step); max |ζ| = {max:.3e} 1/s",
        1e3 * elapsed / n_steps as f64
    );

    if let Some(dir) = std::path::Path::new(&out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    let root = BitMapBackend::new(&out, (1200, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    // The workspace's plotters has no font feature (it would panic on text), so the picture
    // has no labels: longitude −180°…180° left to right, latitude 0°…90° bottom to top, grey
    // graticule every 30°; docs/solvers.md carries the caption.
    let mut chart =
        ChartBuilder::on(&root).margin(4).build_cartesian_2d(-180.0..180.0, 0.0..90.0)?;
    // Colour scale saturates at ±1.5e-4 s⁻¹, the range of Galewsky et al.'s Fig. 4.
    let scale = 1.5e-4;
    let colat = solver.grid().colatitudes().to_vec();
    let dlon = 360.0 / NLON as f64;
    let mut cells = Vec::with_capacity(NLAT * NLON / 2);
    for k in 0..NLAT {
        let lat = 90.0 - colat[k].to_degrees();
        if lat < 0.0 {
            continue;
        }
        // Cell edges halfway to the neighbouring rings.
        let top = if k == 0 { 90.0 } else { 90.0 - 0.5 * (colat[k - 1] + colat[k]).to_degrees() };
        let bottom = (90.0 - 0.5 * (colat[k] + colat[k + 1]).to_degrees()).max(0.0);
        for p in 0..NLON {
            // Longitude 2πp/nlon − π puts the bump (at π) in the middle.
            let lon = p as f64 * dlon - 180.0;
            let colour = diverging(vort[k * NLON + p] / scale);
            cells.push(Rectangle::new([(lon, bottom), (lon + dlon, top)], colour.filled()));
        }
    }
    chart.draw_series(cells)?;
    let grey = RGBColor(120, 120, 120);
    for lon in (-150..=150).step_by(30) {
        let x = f64::from(lon);
        chart.draw_series(LineSeries::new([(x, 0.0), (x, 90.0)], grey))?;
    }
    for lat in [30.0, 60.0] {
        chart.draw_series(LineSeries::new([(-180.0, lat), (180.0, lat)], grey))?;
    }
    root.present()?;
    eprintln!("wrote {out}");
    Ok(())
}
