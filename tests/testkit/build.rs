//! Builds the test components (`tests/components`), the example toolset
//! (`plugins/examples/otlp-explain`) and the stand-in OBI binary (`tests/obi-standin`), and
//! exposes their paths as constants.

use std::fmt::Write;
use std::path::PathBuf;

const TEST_COMPONENTS: &[(&str, &str)] = &[
    ("TESTBED", "testbed"),
    ("INTRUDER", "intruder"),
    ("FUTURE_VERSION", "future-version"),
];

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = dir.join("../..");
    let components = root.join("tests/components");
    let plugins = root.join("plugins");
    guest_build::rerun_if_changed_tree(&components);
    guest_build::rerun_if_changed_tree(&plugins.join("sdk"));
    guest_build::rerun_if_changed_tree(&plugins.join("examples"));
    guest_build::rerun_if_changed_tree(&root.join("wit"));
    let mut out = String::new();
    let packages: Vec<&str> = TEST_COMPONENTS.iter().map(|(_, p)| *p).collect();
    let built = guest_build::build(
        &components.join("Cargo.toml"),
        &packages,
        &guest_build::target_dir("wasm-tests"),
    );
    for ((konst, _), b) in TEST_COMPONENTS.iter().zip(&built) {
        writeln!(out, "/// Path of the `{}` test component.", b.package).unwrap();
        writeln!(
            out,
            "pub const {konst}: &str = {:?};",
            b.path.display().to_string()
        )
        .unwrap();
    }
    let example = guest_build::build(
        &plugins.join("Cargo.toml"),
        &["otlp-explain"],
        &guest_build::target_dir("wasm-plugins"),
    );
    writeln!(out, "/// Path of the example toolset `otlp-explain`.").unwrap();
    writeln!(
        out,
        "pub const OTLP_EXPLAIN: &str = {:?};",
        example[0].path.display().to_string()
    )
    .unwrap();
    let standin = build_standin(&root);
    writeln!(
        out,
        "/// Path of the stand-in OBI binary (`tests/obi-standin`, named `obi`)."
    )
    .unwrap();
    writeln!(
        out,
        "pub const OBI_STANDIN: &str = {:?};",
        standin.display().to_string()
    )
    .unwrap();
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("components.rs");
    std::fs::write(dest, out).unwrap();
}

/// Builds the stand-in OBI with a nested cargo into its own target dir (so it works in a clean
/// `cargo test --workspace`, where cargo would not build another package's binary for us).
fn build_standin(root: &std::path::Path) -> PathBuf {
    guest_build::rerun_if_changed_tree(&root.join("tests/obi-standin"));
    guest_build::rerun_if_changed_tree(&root.join("plugins/obi-config"));
    let target_dir = guest_build::target_dir("obi-standin");
    let mut cmd = guest_build::nested_cargo(false);
    cmd.arg("build")
        .args(["-p", "obi-standin", "--bin", "obi"])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the stand-in OBI: {e}"));
    assert!(
        status.success(),
        "building tests/obi-standin failed ({status})"
    );
    target_dir.join("debug").join("obi")
}
