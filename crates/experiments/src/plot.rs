//! PNG plots of evaluations: truth / prediction / |error| heatmaps and error curves.
//!
//! The workspace's plotters has no font feature (text would panic), so the pictures carry no
//! text at all: what a picture shows is said by its file name and by the captions that
//! `eval.md` writes beside it (colour of each model, value range of each panel).

use std::path::Path;

use anyhow::{Context, Result, ensure};
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use serde::Serialize;

/// Side of one heatmap panel in pixels.
pub const PANEL_PX: u32 = 256;
/// Margin around and between heatmap panels in pixels.
pub const GAP_PX: u32 = 8;
/// Size of a line plot (error against resolution, rollout error against step).
pub const LINE_PLOT_PX: (u32, u32) = (640, 480);

/// Size of a truth / prediction / |error| picture: three panels in a row.
pub const fn heatmap_size() -> (u32, u32) {
    (3 * PANEL_PX + 4 * GAP_PX, PANEL_PX + 2 * GAP_PX)
}

/// Line colours, in model order, with the names the captions use (matplotlib's tab10).
pub const PALETTE: [(&str, RGBColor); 8] = [
    ("blue", RGBColor(31, 119, 180)),
    ("orange", RGBColor(255, 127, 14)),
    ("green", RGBColor(44, 160, 44)),
    ("red", RGBColor(214, 39, 40)),
    ("purple", RGBColor(148, 103, 189)),
    ("brown", RGBColor(140, 86, 75)),
    ("pink", RGBColor(227, 119, 194)),
    ("grey", RGBColor(127, 127, 127)),
];

/// The colour of the `i`-th model's line and its name (the palette repeats after 8).
pub fn colour(i: usize) -> (&'static str, RGBColor) {
    PALETTE[i % PALETTE.len()]
}

/// The colour scales of a truth / prediction / |error| picture, for its caption.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HeatmapScales {
    /// Value at the low end of the truth and prediction panels' scale.
    pub field_min: f64,
    /// Value at the high end of the truth and prediction panels' scale.
    pub field_max: f64,
    /// Whether the field scale is diverging (blue–white–red, symmetric about 0) rather than
    /// sequential (viridis).
    pub diverging: bool,
    /// |error| at the top of the error panel's viridis scale (its bottom is 0).
    pub error_max: f64,
}

/// A blue–white–red map (ColorBrewer RdBu reversed) for signed fields.
fn diverging_map() -> DerivedColorMap<RGBColor> {
    DerivedColorMap::new(&[
        RGBColor(5, 48, 97),
        RGBColor(67, 147, 195),
        RGBColor(247, 247, 247),
        RGBColor(214, 96, 77),
        RGBColor(103, 0, 31),
    ])
}

/// Position of `v` in `[lo, hi]` as a number in `[0, 1]` (a flat range maps to the middle).
fn unit(v: f64, lo: f64, hi: f64) -> f64 {
    if hi > lo { ((v - lo) / (hi - lo)).clamp(0.0, 1.0) } else { 0.5 }
}

/// The colour scales of truth and prediction (the truth's range; diverging and symmetric about
/// 0 when it changes sign) and |prediction − truth| with its scale.
fn scales_of(path: &Path, truth: &[f64], prediction: &[f64]) -> Result<(HeatmapScales, Vec<f64>)> {
    let finite = |v: &&f64| v.is_finite();
    let lo = truth.iter().filter(finite).fold(f64::INFINITY, |a, &b| a.min(b));
    let hi = truth.iter().filter(finite).fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    ensure!(lo <= hi, "plot {}: the truth has no finite value", path.display());
    let diverging = lo < 0.0 && hi > 0.0;
    let (field_min, field_max) = if diverging {
        let m = lo.abs().max(hi.abs());
        (-m, m)
    } else {
        (lo, hi)
    };
    let error: Vec<f64> = truth.iter().zip(prediction).map(|(t, p)| (p - t).abs()).collect();
    let error_max = error.iter().filter(finite).fold(0.0f64, |a, &b| a.max(b));
    Ok((HeatmapScales { field_min, field_max, diverging, error_max }, error))
}

/// The colour of a field value (truth, prediction) under `sc`; black for a non-finite value.
fn field_colour(sc: &HeatmapScales, v: f64) -> RGBColor {
    if !v.is_finite() {
        return RGBColor(0, 0, 0);
    }
    let h = unit(v, sc.field_min, sc.field_max);
    if sc.diverging { diverging_map().get_color(h) } else { ViridisRGB.get_color(h) }
}

/// The colour of an |error| value under `sc`; black for a non-finite value.
fn error_colour(sc: &HeatmapScales, v: f64) -> RGBColor {
    if v.is_finite() { ViridisRGB.get_color(unit(v, 0.0, sc.error_max)) } else { RGBColor(0, 0, 0) }
}

/// Draws `truth`, `prediction` and `|prediction − truth|` of one sample on an `n0 × n1` grid
/// (row-major, row 0 at the top) side by side into the PNG `path`. Signed fields get a
/// diverging scale symmetric about 0, one-signed fields viridis over the truth's range; the
/// prediction uses the truth's scale so that the two panels compare directly.
pub fn truth_prediction_error(
    path: &Path,
    truth: &[f64],
    prediction: &[f64],
    shape: (usize, usize),
) -> Result<HeatmapScales> {
    grid_panels(path, truth, prediction, shape, (PANEL_PX, PANEL_PX))
}

/// Size of a truth / prediction / |error| picture on a latitude–longitude grid: three panels
/// of 2 : 1 (longitude across, as the grid spans 360° by 180°) in a row.
pub const fn latlon_heatmap_size() -> (u32, u32) {
    (6 * PANEL_PX + 4 * GAP_PX, PANEL_PX + 2 * GAP_PX)
}

/// [`truth_prediction_error`] for fields on an `nlat × nlon` latitude–longitude grid (row 0 the
/// northernmost latitude, column 0 longitude 0): the panels are twice as wide as high
/// ([`latlon_heatmap_size`]), so that the picture is an equirectangular map.
pub fn truth_prediction_error_latlon(
    path: &Path,
    truth: &[f64],
    prediction: &[f64],
    shape: (usize, usize),
) -> Result<HeatmapScales> {
    grid_panels(path, truth, prediction, shape, (2 * PANEL_PX, PANEL_PX))
}

fn grid_panels(
    path: &Path,
    truth: &[f64],
    prediction: &[f64],
    (n0, n1): (usize, usize),
    (panel_w, panel_h): (u32, u32),
) -> Result<HeatmapScales> {
    ensure!(
        n0 > 0 && n1 > 0 && truth.len() == n0 * n1 && prediction.len() == n0 * n1,
        "plot {}: expected truth and prediction of {n0}×{n1} = {} values, got {} and {}",
        path.display(),
        n0 * n1,
        truth.len(),
        prediction.len()
    );
    let (scales, error) = scales_of(path, truth, prediction)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let size = (3 * panel_w + 4 * GAP_PX, panel_h + 2 * GAP_PX);
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("plot {}: {e}", path.display()))?;
    let field = |v: f64| field_colour(&scales, v);
    let err = |v: f64| error_colour(&scales, v);
    type Colouring<'a> = &'a dyn Fn(f64) -> RGBColor;
    let panels: [(&[f64], Colouring); 3] = [(truth, &field), (prediction, &field), (&error, &err)];
    for (k, (values, colour_of)) in panels.iter().enumerate() {
        let x0 = GAP_PX + k as u32 * (panel_w + GAP_PX);
        for py in 0..panel_h {
            // Nearest grid point: every pixel shows the value of the cell it falls in.
            let i = (py as usize * n0) / panel_h as usize;
            for px in 0..panel_w {
                let j = (px as usize * n1) / panel_w as usize;
                let colour = colour_of(values[i * n1 + j]);
                root.draw_pixel(((x0 + px) as i32, (GAP_PX + py) as i32), &colour)
                    .map_err(|e| anyhow::anyhow!("plot {}: {e}", path.display()))?;
            }
        }
    }
    root.present().map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    Ok(scales)
}

/// Width in pixels of one panel of a point-cloud picture.
pub const CLOUD_PANEL_WIDTH_PX: u32 = 2 * PANEL_PX;
/// Side in pixels of the square drawn at each point of a point-cloud picture.
pub const POINT_PX: u32 = 3;
/// Background of a point-cloud panel: a mid grey, so that the white middle of the diverging
/// scale (zero, e.g. the velocity on the walls) stays visible.
pub const CLOUD_BACKGROUND: RGBColor = RGBColor(160, 160, 160);

/// Size of a truth / prediction / |error| picture of a cloud whose bounding box is `extent`
/// `(width, height)`: three panels [`CLOUD_PANEL_WIDTH_PX`] wide stacked top to bottom, each as
/// high as the box's aspect ratio makes it (between 16 px and the width).
pub fn cloud_heatmap_size(extent: (f64, f64)) -> (u32, u32) {
    let panel_h = cloud_panel_height(extent);
    (CLOUD_PANEL_WIDTH_PX + 2 * GAP_PX, 3 * panel_h + 4 * GAP_PX)
}

fn cloud_panel_height((w, h): (f64, f64)) -> u32 {
    let aspect = if w > 0.0 && h.is_finite() && w.is_finite() { h / w } else { 1.0 };
    ((f64::from(CLOUD_PANEL_WIDTH_PX) * aspect).round() as u32).clamp(16, CLOUD_PANEL_WIDTH_PX)
}

/// Draws `truth`, `prediction` and `|prediction − truth|` at the `points` `(x, y)` of an
/// irregular cloud into the PNG `path`: a scatter raster, each point a [`POINT_PX`]-pixel
/// square of its value's colour on [`CLOUD_BACKGROUND`] grey, x to the right and y up with the aspect ratio kept
/// ([`cloud_heatmap_size`]), the three panels stacked top to bottom. Colour scales as in
/// [`truth_prediction_error`].
pub fn truth_prediction_error_points(
    path: &Path,
    points: &[[f64; 2]],
    truth: &[f64],
    prediction: &[f64],
) -> Result<HeatmapScales> {
    ensure!(
        !points.is_empty() && truth.len() == points.len() && prediction.len() == points.len(),
        "plot {}: expected truth and prediction at each of the {} points, got {} and {}",
        path.display(),
        points.len(),
        truth.len(),
        prediction.len()
    );
    let (scales, error) = scales_of(path, truth, prediction)?;
    let fold =
        |k: usize, f: fn(f64, f64) -> f64, init: f64| points.iter().fold(init, |a, p| f(a, p[k]));
    let (x_lo, x_hi) = (fold(0, f64::min, f64::INFINITY), fold(0, f64::max, f64::NEG_INFINITY));
    let (y_lo, y_hi) = (fold(1, f64::min, f64::INFINITY), fold(1, f64::max, f64::NEG_INFINITY));
    ensure!(
        x_lo.is_finite() && x_hi.is_finite() && y_lo.is_finite() && y_hi.is_finite(),
        "plot {}: the points have non-finite coordinates",
        path.display()
    );
    let panel_h = cloud_panel_height((x_hi - x_lo, y_hi - y_lo));
    let panel_w = CLOUD_PANEL_WIDTH_PX;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let root = BitMapBackend::new(path, cloud_heatmap_size((x_hi - x_lo, y_hi - y_lo)))
        .into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("plot {}: {e}", path.display()))?;
    for k in 0..3 {
        let y0 = (GAP_PX + k * (panel_h + GAP_PX)) as i32;
        let x0 = GAP_PX as i32;
        let panel = [(x0, y0), (x0 + panel_w as i32 - 1, y0 + panel_h as i32 - 1)];
        root.draw(&Rectangle::new(panel, CLOUD_BACKGROUND.filled()))
            .map_err(|e| anyhow::anyhow!("plot {}: {e}", path.display()))?;
    }
    // Pixel of a point inside a panel, the square's centre kept inside the panel.
    let half = (POINT_PX / 2) as f64;
    let pixel = |p: &[f64; 2]| -> (u32, u32) {
        let u = unit(p[0], x_lo, x_hi);
        let v = 1.0 - unit(p[1], y_lo, y_hi);
        let px = half + u * (f64::from(panel_w) - 1.0 - 2.0 * half);
        let py = half + v * (f64::from(panel_h) - 1.0 - 2.0 * half);
        (px.round().max(0.0) as u32, py.round().max(0.0) as u32)
    };
    let field = |v: f64| field_colour(&scales, v);
    let err = |v: f64| error_colour(&scales, v);
    type Colouring<'a> = &'a dyn Fn(f64) -> RGBColor;
    let panels: [(&[f64], Colouring); 3] = [(truth, &field), (prediction, &field), (&error, &err)];
    for (k, (values, colour_of)) in panels.iter().enumerate() {
        let y0 = GAP_PX + k as u32 * (panel_h + GAP_PX);
        for (p, &v) in points.iter().zip(values.iter()) {
            let (cx, cy) = pixel(p);
            let colour = colour_of(v);
            for dy in 0..POINT_PX {
                for dx in 0..POINT_PX {
                    let x = (GAP_PX + cx + dx) as i32 - half as i32;
                    let y = (y0 + cy + dy) as i32 - half as i32;
                    root.draw_pixel((x, y), &colour)
                        .map_err(|e| anyhow::anyhow!("plot {}: {e}", path.display()))?;
                }
            }
        }
    }
    root.present().map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    Ok(scales)
}

/// Draws one polyline with circle markers per series (colour [`colour`]`(i)` for series `i`)
/// into the PNG `path`, on log axes where asked. Non-finite or, on a log axis, non-positive
/// points are left out; light grey lines mark every x of the data and every decade of a log y
/// axis, since the picture carries no tick labels.
pub fn lines(path: &Path, series: &[Vec<(f64, f64)>], log_x: bool, log_y: bool) -> Result<()> {
    let keep = |&(x, y): &(f64, f64)| {
        x.is_finite() && y.is_finite() && (!log_x || x > 0.0) && (!log_y || y > 0.0)
    };
    let points: Vec<Vec<(f64, f64)>> =
        series.iter().map(|s| s.iter().copied().filter(keep).collect()).collect();
    let all: Vec<(f64, f64)> = points.iter().flatten().copied().collect();
    let tx = |x: f64| if log_x { x.log10() } else { x };
    let ty = |y: f64| if log_y { y.log10() } else { y };
    // Axes in transformed coordinates, padded by 5% (a flat range gets ±0.5).
    let range = |vals: Vec<f64>| -> (f64, f64) {
        let lo = vals.iter().fold(f64::INFINITY, |a, &b| a.min(b));
        let hi = vals.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        if lo.partial_cmp(&hi).is_none_or(|o| o == std::cmp::Ordering::Greater) {
            // No point at all: any axis will do.
            return (0.0, 1.0);
        }
        let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
        (lo - pad, hi + pad)
    };
    let (x0, x1) = range(all.iter().map(|p| tx(p.0)).collect());
    let (y0, y1) = range(all.iter().map(|p| ty(p.1)).collect());

    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("plot {}: {e}", path.display());
    let root = BitMapBackend::new(path, LINE_PLOT_PX).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .margin(16)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(&e))?;
    let grey = RGBColor(220, 220, 220);
    let mut xs: Vec<f64> = all.iter().map(|p| tx(p.0)).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    for x in xs {
        chart.draw_series(LineSeries::new([(x, y0), (x, y1)], grey)).map_err(|e| err(&e))?;
    }
    if log_y {
        for d in (y0.ceil() as i64)..=(y1.floor() as i64) {
            let y = d as f64;
            chart.draw_series(LineSeries::new([(x0, y), (x1, y)], grey)).map_err(|e| err(&e))?;
        }
    }
    let frame = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)];
    chart.draw_series(LineSeries::new(frame, BLACK)).map_err(|e| err(&e))?;
    for (i, s) in points.iter().enumerate() {
        let c = colour(i).1;
        let t: Vec<(f64, f64)> = s.iter().map(|&(x, y)| (tx(x), ty(y))).collect();
        chart
            .draw_series(LineSeries::new(t.iter().copied(), c.stroke_width(2)))
            .map_err(|e| err(&e))?;
        chart.draw_series(t.iter().map(|&p| Circle::new(p, 4, c.filled()))).map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_clamps_to_the_scale_and_maps_a_flat_scale_to_the_middle() {
        assert_eq!(unit(-1.0, 0.0, 2.0), 0.0);
        assert_eq!(unit(1.0, 0.0, 2.0), 0.5);
        assert_eq!(unit(5.0, 0.0, 2.0), 1.0);
        assert_eq!(unit(3.0, 3.0, 3.0), 0.5);
    }

    #[test]
    fn the_diverging_map_is_white_at_zero_and_blue_below_red_above() {
        let m = diverging_map();
        assert_eq!(m.get_color(0.5f64), RGBColor(247, 247, 247));
        let (lo, hi) = (m.get_color(0.0f64), m.get_color(1.0f64));
        assert!(lo.2 > lo.0 && hi.0 > hi.2, "{lo:?} {hi:?}");
    }
}
