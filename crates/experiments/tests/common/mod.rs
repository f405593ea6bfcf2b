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

/// 16 training pairs in global batches of 4: 4 steps per epoch, 20 steps in 5 epochs.
pub fn tiny_distributed() -> String {
    tiny_darcy_data(16, 16, 4, 8)
        + r#"
[quick.task]
kind = "operator"
input = ["a"]
output = ["u"]
domain_length = [1.0, 1.0]

[quick.train]
models = ["local"]
epochs = 5
batch_size = 4
optimizer = { lr = 1e-3, weight_decay = 1e-4 }
schedule = { kind = "cosine", t_max = 5, eta_min = 0.0 }
loss = "l2"
seed = 3

[quick.models.local]
kind = "local-no"
n_modes = [4, 4]
hidden_channels = 4
n_layers = 2
domain_length = [1.0, 1.0]
radius_cutoff = 0.15
padding = "zeros"
"#
}

/// [`tiny_distributed`] with its data generated, in a fresh folder: `(root, experiment file)`.
pub fn setup_tiny_distributed(tag: &str) -> (PathBuf, PathBuf) {
    let root = temp_dir(tag);
    let path = root.join("tiny.toml");
    std::fs::write(&path, tiny_distributed()).unwrap();
    let file = lno_experiments::ExperimentFile::read(&path).unwrap();
    lno_experiments::generate(&file, Profile::Quick, &root.join("data"), false).unwrap();
    (root, path)
}

/// Runs `cmd`, asserts success and returns its stderr.
pub fn run_ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed:\n{stderr}");
    stderr
}

/// The model variables of the newest checkpoint of the model run `run`, sorted by name.
pub fn latest_weights(run: &Path) -> Vec<(String, tch::Tensor)> {
    let latest = std::fs::read_to_string(run.join("LATEST")).unwrap();
    let mut w =
        tch::Tensor::read_safetensors(run.join(latest.trim()).join("model.safetensors")).unwrap();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

/// Every line of the model run `run`'s `metrics.jsonl`.
pub fn metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Evaluation on the CPU of runs trained with [`train_options`] under `root`.
pub fn eval_options(
    root: &Path,
    resolutions: Option<&[usize]>,
) -> lno_experiments::eval::EvalOptions {
    lno_experiments::eval::EvalOptions {
        resolutions: resolutions.map(<[usize]>::to_vec),
        device: tch::Device::Cpu,
        data_root: root.join("data"),
        configs_dir: root.join("configs"),
        progress: false,
    }
}

/// Trains the experiment `text` as `<root>/<name>.toml` and returns its run directory.
pub fn trained_run(root: &Path, name: &str, text: &str) -> PathBuf {
    let path = root.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    let file = lno_experiments::ExperimentFile::read(&path).unwrap();
    lno_experiments::generate(&file, Profile::Quick, &root.join("data"), false).unwrap();
    lno_experiments::train::train(&file, &train_options(root)).unwrap();
    root.join("runs").join(format!("{}-quick", file.name))
}

/// Decodes the PNG at `path` and returns its size and number of distinct colours.
pub fn png_size_and_colours(path: &Path) -> ((u32, u32), usize) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bytes = &buf[..info.buffer_size()];
    let step = info.color_type.samples();
    let mut colours: Vec<&[u8]> = bytes.chunks(step).collect();
    colours.sort_unstable();
    colours.dedup();
    ((info.width, info.height), colours.len())
}
