//! Helpers shared by the experiments' integration tests.

// Each test binary compiles this module and uses only some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use lno_experiments::Profile;
use lno_experiments::train::TrainOptions;

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

/// Quick-profile training on the CPU with data and runs under `root`, no progress bars.
pub fn train_options(root: &Path) -> TrainOptions {
    TrainOptions {
        profile: Profile::Quick,
        models: Vec::new(),
        device: tch::Device::Cpu,
        data_root: root.join("data"),
        runs_root: root.join("runs"),
        resume: false,
        progress: false,
        epochs: None,
    }
}

/// 16 × 32 equiangular, torch-harmonics' recipe at that size (lmax 6, one 2400 s step per hour).
pub const TINY_SWE: &str = r#"
[quick.data]
train = { samples = 6, seed = 0 }
test = { samples = 3, seed = 1 }
shard_size = 3

[quick.data.generator.shallow-water]
grid = "equiangular"
nlat = 16
nlon = 32
lmax = 6
interval = 3600.0
n_steps = 2
ic = { mach = 0.2, llimit = 120, havg = 10000.0, hamp = 120.0 }
hyperdiffusion = 7200.0
planet = { radius = 6.37122e6, omega = 7.292e-5, gravity = 9.80616 }
start = "textbook"

[quick.task]
kind = "sphere"
input = "x"
output = "y"
channels = ["phi", "vorticity", "divergence"]
grid = "equiangular"
shape = [16, 32]
latitude_input = true

[quick.train]
models = ["sfno", "local-sfno"]
epochs = 2
batch_size = 3
optimizer = { lr = 1e-3, weight_decay = 0.0 }
schedule = { kind = "constant" }
loss = "l2"
seed = 0

[quick.models.sfno]
kind = "sphere-no"
architecture = "sfno"
embed_dim = 4
num_layers = 2
scale_factor = 2

[quick.models.local-sfno]
kind = "sphere-no"
architecture = "local-sfno"
embed_dim = 4
num_layers = 2
scale_factor = 2
"#;

/// A D ≈ 5 lattice, one convective time of spin-up, a cloud of a few hundred points.
pub const TINY_CYLINDER: &str = r#"
[quick.data]
train = { samples = 4, seed = 0 }
test = { samples = 2, seed = 1 }
shard_size = 2

[quick.data.generator.cylinder]
ny = 20
u_max_lattice = 0.15
magic = 0.25
reynolds = [20.0, 40.0]
t_spinup = 1.0
t_window = 0.5
snapshot_dt = 0.5
cloud = { n_disk = 16, h_near = 0.02, h_far = 0.08, growth = 0.3, seed = 0 }

[quick.task]
kind = "cloud"
input = "a"
output = "u"
channels = ["u", "v", "p"]
scalars = ["reynolds"]

[quick.train]
models = ["fno-latent", "local-no"]
epochs = 2
batch_size = 2
optimizer = { lr = 1e-3, weight_decay = 0.0 }
schedule = { kind = "constant" }
loss = "l2"
seed = 0

[quick.models.fno-latent]
kind = "cloud-no"
processor = "fno"
hidden_channels = 4
n_layers = 1
latent_shape = [16, 8]
n_modes = [4, 4]

[quick.models.local-no]
kind = "cloud-no"
processor = "local-no"
hidden_channels = 4
n_layers = 1
latent_shape = [16, 8]
n_modes = [4, 4]
# One latent cell: the default three would not fit the 8-point dim.
local_cutoff_cells = 1.0
"#;
