//! The first-party toolsets, compiled to components by the build script and embedded here, so
//! one `obi-mcp` binary is a complete server.

/// One embedded component.
#[derive(Debug, Clone, Copy)]
pub struct Embedded {
    /// Toolset name (must match what the component's `describe` says).
    pub name: &'static str,
    /// The component.
    pub bytes: &'static [u8],
    /// sha256 of `bytes`, hex, computed at build time.
    pub sha256: &'static str,
    /// `bytes` compiled at build time by `Engine::precompile_component` with the runtime's
    /// compilation settings (`obi_engine::compile_config`); used when this engine accepts it.
    pub precompiled: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
