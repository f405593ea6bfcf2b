//! Helpers shared by the experiments' integration tests.

use std::path::PathBuf;

/// A fresh, empty temporary folder for one test.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lno-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `[quick.data]` section of a tiny Darcy experiment: `s²` grids, the FNO recipe.
pub fn tiny_darcy_data(s: usize, train: u64, test: u64, shard_size: u64) -> String {
    format!(
        r#"
[quick.data]
train = {{ samples = {train}, seed = 0 }}
test = {{ samples = {test}, seed = 1 }}
shard_size = {shard_size}

[quick.data.generator.darcy]
s = {s}
alpha = 2.0
tau = 3.0
a_high = 12.0
a_low = 3.0
threshold = 0.0
forcing = 1.0
face_average = "arithmetic"
rtol = 1e-10
"#
    )
}
