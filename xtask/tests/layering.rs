//! The layering invariant, machine-checked: the pure-Rust crates never reach libtorch.
//!
//! `lno-quadrature`, `lno-kernels` and `lno-solvers` must build and test on a machine without
//! libtorch, and their numerics stay in f64 Rust. This reads `cargo metadata` and walks every
//! dependency edge (normal, build and dev) from those crates.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

const PURE_CRATES: [&str; 3] = ["lno-quadrature", "lno-kernels", "lno-solvers"];
const FORBIDDEN: [&str; 2] = ["tch", "torch-sys"];

fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path", root])
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Names of every package reachable from `start` in the resolved graph.
fn reachable(meta: &serde_json::Value, start: &str) -> BTreeSet<String> {
    let name_of: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let deps_of: HashMap<&str, Vec<&str>> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let deps = n["deps"].as_array().unwrap().iter();
            (n["id"].as_str().unwrap(), deps.map(|d| d["pkg"].as_str().unwrap()).collect())
        })
        .collect();
    let start_id = name_of.iter().find(|(_, name)| **name == start).map(|(id, _)| *id);
    let mut stack = vec![start_id.unwrap_or_else(|| panic!("{start} is a workspace member"))];
    let mut seen = BTreeSet::new();
    while let Some(id) = stack.pop() {
        if seen.insert(id) {
            stack.extend(deps_of.get(id).into_iter().flatten().copied());
        }
    }
    seen.into_iter().map(|id| name_of[id].to_string()).collect()
}

#[test]
fn pure_rust_crates_never_depend_on_libtorch() {
    let meta = metadata();
    for krate in PURE_CRATES {
        let reached = reachable(&meta, krate);
        let bad: Vec<_> = FORBIDDEN.iter().filter(|f| reached.contains(**f)).collect();
        assert!(bad.is_empty(), "{krate} depends (possibly indirectly) on {bad:?}");
    }
}

#[test]
fn the_check_sees_libtorch_where_it_is_allowed() {
    // Guards the walk itself: if it found nothing anywhere, the test above would be vacuous.
    let reached = reachable(&metadata(), "lno-layers");
    assert!(reached.contains("tch") && reached.contains("torch-sys"));
}
