//! Builds the first-party toolsets (guest crates in `plugins/`) for wasm32-wasip2, precompiles
//! them with the runtime's compilation settings (`obi-engine`), and embeds both:
//! `OUT_DIR/embedded.rs` holds one entry per toolset with its bytes, sha256 and compiled form, so
//! even the very first start needs no compilation.

use std::fmt::Write;
use std::path::PathBuf;

/// (toolset name, cargo package) of every first-party toolset, in load order.
const FIRST_PARTY: &[(&str, &str)] = &[
    ("local", "obi-toolset-local"),
    ("kubernetes", "obi-toolset-kubernetes"),
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.join("../..");
    let plugins = root.join("plugins");
    guest_build::rerun_if_changed_tree(&plugins.join("Cargo.toml"));
    guest_build::rerun_if_changed_tree(&plugins.join("Cargo.lock"));
    for dir in ["sdk", "obi-config", "local", "kubernetes", "docker"] {
        let d = plugins.join(dir);
        if d.exists() {
            guest_build::rerun_if_changed_tree(&d);
        }
    }
    guest_build::rerun_if_changed_tree(&root.join("wit"));
    println!("cargo:rerun-if-env-changed=OBI_MCP_SKIP_EMBED");

    let packages: Vec<&str> = FIRST_PARTY.iter().map(|(_, p)| *p).collect();
    let built = if packages.is_empty() || std::env::var_os("OBI_MCP_SKIP_EMBED").is_some() {
        Vec::new()
    } else {
        guest_build::build(
            &plugins.join("Cargo.toml"),
            &packages,
            &guest_build::target_dir("wasm-plugins"),
        )
    };
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let mut out = String::from(
        "/// The first-party toolsets built into this binary, in load order.\npub const FIRST_PARTY: &[Embedded] = &[\n",
    );
    for ((name, _), b) in FIRST_PARTY.iter().zip(&built) {
        let wasm = std::fs::read(&b.path).unwrap();
        let compiled = obi_engine::precompile_component(&wasm)
            .unwrap_or_else(|e| panic!("precompiling the {name} toolset failed: {e:?}"));
        let cwasm = out_dir.join(format!("{name}.cwasm"));
        std::fs::write(&cwasm, compiled).unwrap();
        writeln!(
            out,
            "    Embedded {{ name: {name:?}, bytes: include_bytes!({:?}), sha256: {:?}, precompiled: include_bytes!({:?}) }},",
            b.path.display().to_string(),
            b.sha256,
            cwasm.display().to_string(),
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = out_dir.join("embedded.rs");
    std::fs::write(dest, out).unwrap();
}
