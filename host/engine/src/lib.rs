//! The wasmtime settings that decide what compiled code looks like.
//!
//! obi-mcp precompiles its first-party toolsets in its build script and loads those artifacts at
//! run time; wasmtime accepts an artifact only from an engine with the same compilation settings
//! (`Engine::precompile_compatibility_hash`). Both sides take their settings from [`compile_config`],
//! so they cannot drift apart. Settings that do not change compiled code (the instance allocator)
//! are added by the runtime on top.

#![deny(missing_docs)]

/// A wasmtime configuration with every setting that changes compiled code.
pub fn compile_config() -> wasmtime::Config {
    let mut cfg = wasmtime::Config::new();
    cfg.wasm_component_model(true);
    // Epoch interruption inserts checks into compiled code: a busy loop can be stopped.
    cfg.epoch_interruption(true);
    cfg
}

/// Precompiles a component with [`compile_config`] (for build scripts).
pub fn precompile_component(wasm: &[u8]) -> wasmtime::Result<Vec<u8>> {
    wasmtime::Engine::new(&compile_config())?.precompile_component(wasm)
}
