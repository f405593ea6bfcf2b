//! Link-time setup for binaries that use libtorch.
//!
//! torch-sys tells the linker where libtorch is, but gives the final executables no runtime
//! search path, so tests and binaries would fail to load `libtorch_cpu.so`. We embed an rpath
//! to the libtorch lib folder, and force `libtorch.so` to stay NEEDED (`--no-as-needed`),
//! because it is what pulls in `libtorch_cuda.so`; without it CUDA is silently unavailable.

fn main() {
    // Exported by torch-sys (`links = "tch"`); visible because torch-sys is a direct dependency.
    if let Some(lib) = std::env::var_os("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.to_string_lossy());
    }
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch");
    println!("cargo:rerun-if-changed=build.rs");
}
