//! Test support for obi-mcp's end-to-end tests.
//!
//! [`McpProcess`] (from `obi-mcp-client`) spawns the real `obi-mcp` binary and speaks MCP to it
//! over its stdin/stdout, exactly as a client would: newline-delimited JSON-RPC. Every run gets its own temporary
//! config, cache and state directories ([`Sandbox`]). The paths of the test components (guests
//! that misbehave on purpose) and of the example toolset are in [`components`].

use std::path::{Path, PathBuf};
use std::process::Command;

pub use obi_mcp_client::{Launch, McpProcess, TIMEOUT, is_error, result_text};

/// Paths of the built test components and the example toolset.
pub mod components {
    include!(concat!(env!("OUT_DIR"), "/components.rs"));
}

/// A temporary home for one obi-mcp run: config file, cache dir, state dir.
pub struct Sandbox {
    dir: tempfile::TempDir,
    cache: PathBuf,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Launch for Sandbox {
    fn command(&self, bin: &str) -> Command {
        Sandbox::command(self, bin)
    }
    fn path(&self) -> &Path {
        Sandbox::path(self)
    }
}

impl Sandbox {
    /// A fresh sandbox whose compiled-component cache is shared with other tests (the cache is
    /// content-addressed and written atomically, so sharing is safe and keeps tests fast).
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("obi-mcp-test-")
            .tempdir()
            .expect("create temp dir");
        let cache = std::env::temp_dir().join("obi-mcp-test-shared-cache");
        Sandbox { dir, cache }
    }

    /// A fresh sandbox with its own, empty cache.
    pub fn isolated() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("obi-mcp-test-")
            .tempdir()
            .expect("create temp dir");
        let cache = dir.path().join("cache");
        Sandbox { dir, cache }
    }

    /// Its root directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The config file path.
    pub fn config_path(&self) -> PathBuf {
        self.path().join("config.yaml")
    }

    /// `XDG_CACHE_HOME` of the sandbox (obi-mcp's cache is its `obi-mcp` subdirectory).
    pub fn cache_dir(&self) -> PathBuf {
        self.cache.clone()
    }

    /// The state dir.
    pub fn state_dir(&self) -> PathBuf {
        self.path().join("state")
    }

    /// Writes the config file.
    pub fn write_config(&self, yaml: &str) {
        std::fs::write(self.config_path(), yaml).expect("write config");
    }

    /// A command for `bin` with this sandbox's config, cache and state, and a clean environment
    /// (no legacy variables from the developer's shell).
    pub fn command(&self, bin: &str) -> Command {
        let mut cmd = Command::new(bin);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("xdg-config"))
            .env("XDG_CACHE_HOME", self.cache_dir())
            .env("XDG_STATE_HOME", self.state_dir());
        if self.config_path().exists() {
            cmd.env("OBI_MCP_CONFIG", self.config_path());
        }
        cmd
    }
}

/// A YAML config that loads the given extra components with grants and limits (YAML snippets).
pub fn extra_config(entries: &[(&str, &str)]) -> String {
    let mut s = String::from("toolsets:\n  extra:\n");
    for (path, rest) in entries {
        s.push_str(&format!("    - path: {path}\n"));
        for line in rest.lines().filter(|l| !l.trim().is_empty()) {
            s.push_str("      ");
            s.push_str(line);
            s.push('\n');
        }
    }
    s
}
