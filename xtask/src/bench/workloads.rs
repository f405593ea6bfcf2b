//! The workloads of `cargo xtask bench`: for each, our criterion benchmark, the reference
//! script invocations that time the same work, and the goal from the issue that set it.
//! Keys of `LNO_BENCH_RESULT` lines (tools/bench_json.py) and criterion ids must match the
//! scripts and the `benches/*.rs` files; `cargo xtask bench` fails with the missing id if not.

use super::report::Goal;

/// A reference virtual environment (see `venv.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stack {
    /// neuraloperator 2.0.0 + torch-harmonics 0.7.4 on torch 2.11.0 (`venv-ref`).
    A,
    /// torch-harmonics 0.9.3 with its C++ CPU kernels on torch 2.14.1 (`venv-th093`).
    B,
}

/// Our side: one criterion benchmark.
#[derive(Debug, Clone, Copy)]
pub struct Ours {
    pub package: &'static str,
    pub bench: &'static str,
    /// Criterion's full id; `{dev}` stands for the device suffix of benches that run on CPU
    /// and CUDA (`Cpu`, `Cuda(0)`).
    pub id: &'static str,
    /// Units of work per criterion iteration (the median is divided by it).
    pub per_iter: f64,
}

/// Their side: one reference script run and the result key it prints.
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    pub stack: Stack,
    pub script: &'static str,
    pub args: &'static [&'static str],
    pub key: &'static str,
    /// The script's median is multiplied by this (e.g. 10⁴ steps per simulated time unit).
    pub scale: f64,
    /// Takes `--device cuda` (tensor workloads).
    pub device_arg: bool,
    /// Takes `--threads N`.
    pub threads_arg: bool,
    /// Only in the full set (too slow or too large for `--quick`).
    pub full_only: bool,
}

/// Where a workload runs under `--device cuda`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Pure-Rust CPU code in lno: runs on the CPU on both sides whatever `--device` says.
    CpuOnly,
    /// libtorch tensors; `{dev}` in the criterion id selects the device.
    Tensor,
    /// libtorch tensors, but the criterion bench has no CUDA variant yet.
    TensorCpuBench,
}

#[derive(Debug, Clone)]
pub struct Workload {
    /// Short name matched by `--filter`.
    pub name: &'static str,
    /// Row title in docs/benchmarks.md.
    pub title: &'static str,
    pub quick: bool,
    pub placement: Placement,
    pub ours: Ours,
    pub refs: Vec<Reference>,
    /// Why there is no reference, when `refs` is empty.
    pub no_ref: &'static str,
    pub goal: Goal,
    /// The issue that set the goal.
    pub goal_source: &'static str,
    /// Show peak RSS (Ψ and DISCO).
    pub memory: bool,
    /// Elements per iteration and unit, shown as a throughput next to our median.
    pub throughput: Option<(f64, &'static str)>,
}

const fn reference(
    stack: Stack,
    script: &'static str,
    args: &'static [&'static str],
    key: &'static str,
) -> Reference {
    Reference {
        stack,
        script,
        args,
        key,
        scale: 1.0,
        device_arg: false,
        threads_arg: true,
        full_only: false,
    }
}

const fn ours(package: &'static str, bench: &'static str, id: &'static str) -> Ours {
    Ours { package, bench, id, per_iter: 1.0 }
}

fn tensor(r: Reference) -> Reference {
    Reference { device_arg: true, ..r }
}

fn full_only(r: Reference) -> Reference {
    Reference { full_only: true, ..r }
}

/// Every workload, in table order.
pub fn all() -> Vec<Workload> {
    use Placement::*;
    use Stack::*;
    const KERNELS: &str = "tools/bench_reference_kernels.py";
    const SPHERE: &str = "tools/bench_reference_sphere.py";
    const LAYERS: &str = "tools/bench_reference_layers.py";
    const LOCALNO: &str = "tools/bench_reference_localno.py";
    const SHT: &str = "tools/bench_reference_sht.py";
    const NS: &str = "tools/bench_reference_ns.py";
    const SW: &str = "tools/bench_reference_shallow_water.py";
    const DARCY: &str = "tools/bench_reference_darcy.py";
    let base = Workload {
        name: "",
        title: "",
        quick: false,
        placement: CpuOnly,
        ours: ours("", "", ""),
        refs: vec![],
        no_ref: "",
        goal: Goal::None,
        goal_source: "",
        memory: false,
        throughput: None,
    };
    let localno_train = |name, title, n: &'static str, id, quick| Workload {
        name,
        title,
        quick,
        placement: Tensor,
        ours: ours("lno-models", "local_no", id),
        refs: vec![tensor(reference(
            A,
            LOCALNO,
            if n == "64" {
                &["--only", "localno", "--n", "64"]
            } else {
                &["--only", "localno", "--n", "128"]
            },
            if n == "64" {
                "localno_train_step_8x1x64x64_h32"
            } else {
                "localno_train_step_8x1x128x128_h32"
            },
        ))],
        goal: Goal::FasterBy(1.5),
        goal_source: "issue 5",
        ..base.clone()
    };
    vec![
        Workload {
            name: "psi-sphere",
            title: "Ψ precompute, sphere 256×512 → 256×512, kernel [3, 4]",
            quick: true,
            ours: ours(
                "lno-kernels",
                "kernels",
                "sphere_eq256x512_to_eq256x512_k3x4_default_cutoff",
            ),
            refs: vec![
                reference(B, KERNELS, &[], "psi_sphere_256x512"),
                reference(A, KERNELS, &[], "psi_sphere_256x512"),
            ],
            goal: Goal::FasterBy(5.0),
            goal_source: "issue 4",
            memory: true,
            ..base.clone()
        },
        Workload {
            name: "psi-cloud-1e4",
            title: "Ψ precompute, irregular cloud 10⁴ points, ~30 neighbours",
            ours: ours("lno-kernels", "kernels", "cloud_1e4_points_30_neighbours_k3x4"),
            // neuralop builds a dense n × n table: ~90 s and ~8 GB here, so full runs only.
            refs: vec![full_only(reference(
                A,
                KERNELS,
                &["--no-sphere", "--irregular", "10000"],
                "psi_cloud_10000",
            ))],
            goal: Goal::Under(0.2),
            goal_source: "issue 4",
            memory: true,
            ..base.clone()
        },
        Workload {
            name: "psi-cloud-1e5",
            title: "Ψ precompute, irregular cloud 10⁵ points, ~30 neighbours",
            quick: true,
            ours: ours("lno-kernels", "kernels", "medium/cloud_1e5_points_30_neighbours_k3x4"),
            no_ref: "cannot run: neuralop's dense n × n table fails beyond 3·10⁴ points in 14 GB",
            memory: true,
            ..base.clone()
        },
        Workload {
            name: "psi-cloud-1e6",
            title: "Ψ precompute, irregular cloud 10⁶ points, ~30 neighbours",
            ours: ours("lno-kernels", "kernels", "large/cloud_1e6_points_30_neighbours_k3x4"),
            no_ref: "cannot run (dense n × n table)",
            goal: Goal::Under(20.0),
            goal_source: "issue 4",
            memory: true,
            ..base.clone()
        },
        Workload {
            name: "sht-tensor",
            title: "SHT + inverse SHT, 256×512 equiangular, batch 4 × 32, float32 (lmax 128)",
            quick: true,
            placement: TensorCpuBench,
            ours: ours("lno-layers", "sphere_layers", "sphere_sht_256x512_b4x32/round_trip"),
            refs: vec![
                tensor(reference(B, SPHERE, &["--only", "sht"], "sphere_sht_round_trip")),
                tensor(reference(A, SPHERE, &["--only", "sht"], "sphere_sht_round_trip")),
            ],
            goal: Goal::FasterBy(1.0),
            goal_source: "issue 5",
            ..base.clone()
        },
        Workload {
            name: "sht-f64-lg",
            title: "SHT + inverse SHT, one 256×512 field, Legendre–Gauss, float64 (lmax 256)",
            ours: ours(
                "lno-quadrature",
                "quadrature",
                "sht_256x512/legendre-gauss/forward+inverse",
            ),
            refs: vec![
                reference(B, SHT, &["--grids", "legendre-gauss"], "sht_f64_legendre-gauss"),
                reference(A, SHT, &["--grids", "legendre-gauss"], "sht_f64_legendre-gauss"),
            ],
            goal: Goal::FasterBy(1.0),
            goal_source: "issue 3",
            ..base.clone()
        },
        Workload {
            name: "sht-f64-eq",
            title: "SHT + inverse SHT, one 256×512 field, equiangular, float64 (lmax 128)",
            ours: ours("lno-quadrature", "quadrature", "sht_256x512/equiangular/forward+inverse"),
            refs: vec![
                reference(B, SHT, &["--grids", "equiangular"], "sht_f64_equiangular"),
                reference(A, SHT, &["--grids", "equiangular"], "sht_f64_equiangular"),
            ],
            goal: Goal::FasterBy(1.0),
            goal_source: "issue 3",
            ..base.clone()
        },
        Workload {
            name: "disco-sphere",
            title: "sphere DISCO forward + backward, 128×256, batch 4, 32 → 32, kernel [3, 4]",
            quick: true,
            placement: TensorCpuBench,
            ours: ours(
                "lno-layers",
                "sphere_layers",
                "sphere_disco_128x256_b4_32to32_k34/forward_backward",
            ),
            // th 0.7.4's pure-PyTorch path takes ~26 s per step (perf-notes): full runs only.
            refs: vec![
                tensor(reference(
                    B,
                    SPHERE,
                    &["--only", "disco-forward-backward"],
                    "sphere_disco_forward_backward",
                )),
                full_only(tensor(reference(
                    A,
                    SPHERE,
                    &["--only", "disco-forward-backward", "--repeats", "3"],
                    "sphere_disco_forward_backward",
                ))),
            ],
            goal: Goal::FasterBy(1.0),
            goal_source: "issue 5",
            memory: true,
            ..base.clone()
        },
        Workload {
            name: "disco-sphere-fwd",
            title: "sphere DISCO forward only, same size",
            placement: TensorCpuBench,
            ours: ours("lno-layers", "sphere_layers", "sphere_disco_128x256_b4_32to32_k34/forward"),
            refs: vec![tensor(reference(
                B,
                SPHERE,
                &["--only", "disco-forward"],
                "sphere_disco_forward",
            ))],
            memory: true,
            ..base.clone()
        },
        Workload {
            name: "disco-grid",
            title: "regular-grid DISCO forward + backward, 64², batch 8, 32 → 32, kernel [3, 4], cutoff 3 cells",
            quick: true,
            placement: Tensor,
            ours: ours("lno-layers", "local", "disco_grid_fwd_bwd_8x32x64x64_k34_{dev}"),
            refs: vec![tensor(reference(A, LAYERS, &["--only", "disco-grid"], "disco_grid"))],
            memory: true,
            ..base.clone()
        },
        Workload {
            name: "fd-conv",
            title: "FD conv forward + backward, (8, 32, 128, 128), kernel 3, periodic",
            placement: Tensor,
            ours: ours("lno-layers", "local", "fd_conv_fwd_bwd_8x32x128x128_k3_{dev}"),
            refs: vec![tensor(reference(A, LAYERS, &["--only", "fd"], "fd_conv"))],
            ..base.clone()
        },
        Workload {
            name: "local-branch",
            title: "LocalNO local branch (FD + grid DISCO) forward + backward, 64², batch 8, hidden 32",
            placement: Tensor,
            ours: ours("lno-layers", "local", "local_branch_fused_fwd_bwd_8x32x64x64_{dev}"),
            refs: vec![tensor(reference(A, LAYERS, &["--only", "local-branch"], "local_branch"))],
            ..base.clone()
        },
        Workload {
            name: "localno-block",
            title: "LocalNO block forward + backward, 64², batch 8, hidden 32",
            placement: Tensor,
            ours: ours("lno-models", "local_no", "localno_block_fwd_bwd_8x32x64x64_{dev}"),
            refs: vec![tensor(reference(
                A,
                LOCALNO,
                &["--only", "block"],
                "localno_block_fwd_bwd_8x32x64x64",
            ))],
            ..base.clone()
        },
        localno_train(
            "localno-train-64",
            "LocalNO training step, 64², batch 8, hidden 32, 4 layers",
            "64",
            "localno_train_step_8x1x64x64_h32_{dev}",
            true,
        ),
        localno_train(
            "localno-train-128",
            "LocalNO training step, 128², batch 8, hidden 32, 4 layers",
            "128",
            "localno_train_step_8x1x128x128_h32_{dev}",
            false,
        ),
        Workload {
            name: "fno-train-64",
            title: "FNO training step, 64², batch 8, hidden 32 (context for the LocalNO rows)",
            placement: Tensor,
            ours: ours("lno-models", "local_no", "fno_train_step_8x1x64x64_h32_{dev}"),
            refs: vec![tensor(reference(
                A,
                LOCALNO,
                &["--only", "fno", "--n", "64"],
                "fno_train_step_8x1x64x64_h32",
            ))],
            ..base.clone()
        },
        Workload {
            name: "ns-time-unit",
            title: "Navier–Stokes 256², one simulated time unit (lno IF-RK4 CFL 1, f64; reference 10⁴ Euler/CN steps, f32)",
            quick: true,
            ours: ours(
                "lno-solvers",
                "navier_stokes",
                "navier_stokes/ns_256_ifrk4_cfl1_one_time_unit",
            ),
            refs: vec![
                Reference {
                    scale: 1e4,
                    ..reference(A, NS, &["--repeats", "5"], "ns_256_euler_cn_step")
                },
                Reference {
                    scale: 1e4,
                    ..reference(B, NS, &["--repeats", "5"], "ns_256_euler_cn_step")
                },
            ],
            goal: Goal::FasterBy(2.0),
            goal_source: "issue 7, at better-than-matched accuracy",
            ..base.clone()
        },
        Workload {
            name: "ns-step",
            title: "Navier–Stokes 256², one Euler/CN step (same scheme; lno f64, reference f32)",
            ours: Ours {
                per_iter: 100.0,
                ..ours(
                    "lno-solvers",
                    "navier_stokes",
                    "navier_stokes/ns_256_euler_cn_dt1e-4_100_steps",
                )
            },
            refs: vec![
                reference(A, NS, &["--repeats", "5"], "ns_256_euler_cn_step"),
                reference(B, NS, &["--repeats", "5"], "ns_256_euler_cn_step"),
            ],
            ..base.clone()
        },
        Workload {
            name: "sw-step",
            title: "shallow-water step, 256×512 equiangular, lmax 86, Δt 150 s, float64",
            quick: true,
            ours: ours("lno-solvers", "shallow_water", "shallow_water_256x512/step_equiangular"),
            refs: vec![
                reference(
                    A,
                    SW,
                    &["--grids", "equiangular", "--dtypes", "float64", "--repeats", "15"],
                    "sw_step_equiangular_float64",
                ),
                reference(
                    B,
                    SW,
                    &["--grids", "equiangular", "--dtypes", "float64", "--repeats", "15"],
                    "sw_step_equiangular_float64",
                ),
            ],
            goal: Goal::FasterBy(2.0),
            goal_source: "issue 8",
            ..base.clone()
        },
        Workload {
            name: "cylinder",
            title: "cylinder flow, D2Q9 LBM, 440 × 82 lattice, 50 steps",
            ours: ours("lno-solvers", "cylinder", "cylinder_lbm/440x82_50_steps"),
            no_ref: "none exists (neither stack has a flow solver)",
            throughput: Some((440.0 * 82.0 * 50.0, "MLUPS")),
            ..base.clone()
        },
        Workload {
            name: "darcy",
            title: "Darcy solve 421², assembly + solve (reference: scipy spsolve)",
            ours: ours("lno-solvers", "darcy", "darcy/solve_421_two_phase_rtol1e-10"),
            refs: vec![Reference {
                threads_arg: false,
                ..reference(A, DARCY, &["--repeats", "3"], "darcy_solve_core_421")
            }],
            goal: Goal::FasterBy(2.0),
            goal_source: "issue 7",
            ..base.clone()
        },
        Workload {
            name: "gauss-legendre",
            title: "Gauss–Legendre rule, n = 10⁵",
            ours: ours("lno-quadrature", "quadrature", "gauss_legendre/n=100000"),
            no_ref: "– (absolute goal)",
            goal: Goal::Under(0.05),
            goal_source: "issue 3",
            ..base
        },
    ]
}

/// The workloads selected by `--quick` and `--filter` (a workload matches when its name
/// contains any of the filter strings).
pub fn select(all: Vec<Workload>, quick: bool, filters: &[String]) -> Vec<Workload> {
    all.into_iter()
        .filter(|w| !quick || w.quick)
        .filter(|w| filters.is_empty() || filters.iter().any(|f| w.name.contains(f.as_str())))
        .collect()
}

/// The criterion id for `device` (`cpu` or `cuda`).
pub fn criterion_id(ours: &Ours, cuda: bool) -> String {
    ours.id.replace("{dev}", if cuda { "Cuda(0)" } else { "Cpu" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_names_are_unique_and_every_issue_goal_is_present() {
        let all = all();
        let mut names: Vec<_> = all.iter().map(|w| w.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "duplicate workload names");
        // Issue 5: sphere DISCO ≥ 1×, tensor SHT ≥ 1×, LocalNO training step ≥ 1.5×;
        // issue 8: shallow-water step ≥ 2×.
        for (name, goal) in [
            ("disco-sphere", Goal::FasterBy(1.0)),
            ("sht-tensor", Goal::FasterBy(1.0)),
            ("localno-train-64", Goal::FasterBy(1.5)),
            ("localno-train-128", Goal::FasterBy(1.5)),
            ("sw-step", Goal::FasterBy(2.0)),
            ("psi-sphere", Goal::FasterBy(5.0)),
            ("psi-cloud-1e4", Goal::Under(0.2)),
            ("psi-cloud-1e6", Goal::Under(20.0)),
            ("ns-time-unit", Goal::FasterBy(2.0)),
        ] {
            let w = all.iter().find(|w| w.name == name).unwrap();
            assert_eq!(w.goal, goal, "{name}");
        }
    }

    #[test]
    fn every_workload_has_references_or_says_why_not() {
        for w in all() {
            assert!(
                !w.refs.is_empty() || !w.no_ref.is_empty(),
                "{} has neither a reference nor a reason",
                w.name
            );
            assert!(w.placement != Placement::Tensor || w.ours.id.contains("{dev}"), "{}", w.name);
        }
    }

    #[test]
    fn quick_and_filter_select_subsets() {
        let quick = select(all(), true, &[]);
        assert!(quick.iter().all(|w| w.quick));
        assert!(quick.len() >= 6 && quick.len() < all().len());
        let psi = select(all(), false, &["psi".to_owned()]);
        assert_eq!(psi.len(), 4);
        let two = select(all(), true, &["sw".to_owned(), "disco-grid".to_owned()]);
        assert_eq!(two.iter().map(|w| w.name).collect::<Vec<_>>(), ["disco-grid", "sw-step"]);
    }

    #[test]
    fn device_placeholder_becomes_criterions_device_suffix() {
        let o = ours("p", "b", "fd_{dev}");
        assert_eq!(criterion_id(&o, false), "fd_Cpu");
        assert_eq!(criterion_id(&o, true), "fd_Cuda(0)");
    }
}
