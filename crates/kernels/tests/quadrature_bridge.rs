//! The sphere kernel grids built from `lno-quadrature`'s grids carry the same geometry.

use lno_kernels::SphereGridSpec;
use lno_quadrature::{SphereGrid, SphereGridKind};

#[test]
fn sphere_spec_from_quadrature_grid_keeps_colatitudes_weights_and_longitudes() {
    for kind in
        [SphereGridKind::Equiangular, SphereGridKind::LegendreGauss, SphereGridKind::Lobatto]
    {
        let grid = SphereGrid::new(kind, 9, 16).unwrap();
        let spec = SphereGridSpec::from_grid(&grid).unwrap();
        assert_eq!(spec.colatitudes(), grid.colatitudes(), "{kind:?}");
        assert_eq!(spec.weights(), grid.latitude_weights(), "{kind:?}");
        assert_eq!(spec.n_lon(), 16);
        // Exact rules in cos θ: the weights integrate 1 over [−1, 1]; 1e-13 is f64 round-off
        // of a 9-term sum.
        let total: f64 = spec.weights().iter().sum();
        assert!((total - 2.0).abs() < 1e-13, "{kind:?}: Σw = {total}");
    }
}
