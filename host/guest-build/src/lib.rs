//! Builds guest crates (toolset components) for `wasm32-wasip2` from a build script.
//!
//! Used by `obi-mcp`'s build script (first-party toolsets, embedded in the binary) and by the
//! test kit (misbehaving test components). The guest workspace is built by a nested `cargo` with
//! its own target directory, with the host's compiler flags and wrappers removed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest target.
pub const TARGET: &str = "wasm32-wasip2";

/// A built component.
#[derive(Debug, Clone)]
pub struct Built {
    /// Cargo package name.
    pub package: String,
    /// Path of the `.wasm` file.
    pub path: PathBuf,
    /// sha256 of the file, hex.
    pub sha256: String,
}

/// Panics with instructions when the `wasm32-wasip2` standard library is not installed.
pub fn require_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output();
    let installed = match out {
        Ok(o) if o.status.success() => {
            let dir = String::from_utf8_lossy(&o.stdout).trim().to_string();
            Path::new(&dir).exists()
        }
        _ => false,
    };
    if !installed {
        panic!(
            "\n\nobi-mcp embeds its toolsets as WebAssembly components, which needs the `{TARGET}` target.\n\
             Install it with:\n\n    rustup target add {TARGET}\n\n\
             (rust-toolchain.toml lists it, so a fresh `rustup` install of the pinned toolchain adds it too.)\n"
        );
    }
}

/// A `cargo` command for a build script to run a nested build: the outer build's wrappers
/// (clippy-driver, coverage), target settings and build-script variables removed, and with
/// `strip_rustflags` the host's compiler flags too (they do not fit another target).
pub fn nested_cargo(strip_rustflags: bool) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    if strip_rustflags {
        for var in [
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_BUILD_RUSTFLAGS",
        ] {
            cmd.env_remove(var);
        }
    }
    for var in [
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_PKG_NAME",
        "OUT_DIR",
        "TARGET",
        "HOST",
        "PROFILE",
        "OPT_LEVEL",
        "DEBUG",
    ] {
        cmd.env_remove(var);
    }
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_CFG_") || key.starts_with("CARGO_FEATURE_") {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd
}

/// Builds `packages` of the Cargo workspace at `manifest` in release mode for `wasm32-wasip2`
/// into `target_dir`, and returns the built components in the order asked.
pub fn build(manifest: &Path, packages: &[&str], target_dir: &Path) -> Vec<Built> {
    require_target();
    let mut cmd = nested_cargo(true);
    cmd.arg("build")
        .arg("--release")
        .args(["--target", TARGET])
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir);
    if std::env::var_os("GUEST_BUILD_OFFLINE").is_some() {
        cmd.arg("--offline");
    }
    for p in packages {
        cmd.args(["-p", p]);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the guest crates: {e}"));
    if !status.success() {
        panic!(
            "building the guest crates of {} failed ({status}); see the cargo output above",
            manifest.display()
        );
    }
    packages
        .iter()
        .map(|p| {
            let file = format!("{}.wasm", p.replace('-', "_"));
            let path = target_dir.join(TARGET).join("release").join(file);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "guest package `{p}` built but {} cannot be read ({e}); is it a cdylib?",
                    path.display()
                )
            });
            use sha2::Digest;
            Built {
                package: p.to_string(),
                sha256: hex::encode(sha2::Sha256::digest(&bytes)),
                path,
            }
        })
        .collect()
}

/// Tells Cargo to rerun the build script when anything under `dir` changes, skipping build
/// output directories.
#[allow(clippy::print_stdout)] // Cargo reads build-script instructions from stdout.
pub fn rerun_if_changed_tree(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
}

/// The directory guest builds go to: `<workspace target dir>/<name>`.
pub fn target_dir(name: &str) -> PathBuf {
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out; walk up to <target>.
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR is set for build scripts"));
    let target = out
        .ancestors()
        .nth(4)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out.clone());
    target.join(name)
}
