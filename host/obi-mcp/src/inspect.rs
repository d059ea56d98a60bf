//! `obi-mcp toolset inspect FILE.wasm`: what a component is, asks for and offers, without
//! granting it anything.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use wasmtime::component::Component;

use crate::capability::state::StateStore;
use crate::capability::{CAPABILITIES, Grants};
use crate::config::{Limits, LimitsConfig};
use crate::runtime::meta::ToolsetMeta;
use crate::runtime::{Runtime, ToolsetShared, WIT_PACKAGE, bindings, loader};

/// What `inspect` found.
#[derive(Debug, Serialize)]
pub struct Inspection {
    /// The file.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// sha256, hex (what `toolsets.extra[].sha256` pins).
    pub sha256: String,
    /// The `obi:toolset` version it targets, if any.
    pub wit_version: Option<String>,
    /// Interfaces it imports.
    pub imports: Vec<String>,
    /// Requested capabilities: (name, reason, whether this host knows it).
    pub capabilities: Vec<(String, String, bool)>,
    /// Its metadata.
    pub meta: ToolsetMeta,
}

/// Inspects a component file. Errors say why it cannot be loaded.
pub async fn inspect(path: &Path) -> anyhow::Result<Inspection> {
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let sha256 = loader::sha256_hex(&bytes);
    let limits = Limits::resolve(&LimitsConfig::default(), &LimitsConfig::default());
    let runtime = Runtime::new(limits.memory_bytes)?;
    let component = Component::new(runtime.engine(), &bytes)
        .map_err(|e| anyhow::anyhow!("not a valid WebAssembly component: {e:#}"))?;
    let ty = component.component_type();
    let prefix = format!("{WIT_PACKAGE}/toolset@");
    let wit_version = ty
        .exports(runtime.engine())
        .find_map(|(n, _)| n.strip_prefix(&prefix).map(str::to_string));
    let imports: Vec<String> = ty
        .imports(runtime.engine())
        .map(|(n, _)| n.to_string())
        .collect();
    loader::check_version(&component, runtime.engine()).map_err(|e| anyhow::anyhow!(e))?;
    let pre = runtime
        .linker()
        .instantiate_pre(&component)
        .map_err(|e| anyhow::anyhow!("cannot link the component: {e:#}"))?;
    let pre = bindings::ToolsetWorldPre::new(pre)?;
    let label: Arc<str> = Arc::from("inspect");
    let shared = Arc::new(ToolsetShared {
        name: label.clone(),
        grants: Grants::none(label),
        state: Arc::new(StateStore::new(
            std::env::temp_dir().join("obi-mcp-inspect-unused"),
        )),
        work_dir: std::env::temp_dir().join("obi-mcp-inspect-unused"),
        config_json: Arc::from("{}"),
        obi_json: None,
        limits,
        kube: Arc::new(crate::capability::kubernetes::KubePool::unconfigured()),
    });
    let meta = runtime.read_meta(&pre, shared).await?;
    let capabilities = meta
        .capabilities
        .iter()
        .map(|(n, r)| {
            (
                n.clone(),
                r.clone(),
                CAPABILITIES.iter().any(|c| c.name == n),
            )
        })
        .collect();
    Ok(Inspection {
        path: path.display().to_string(),
        size: bytes.len() as u64,
        sha256,
        wit_version,
        imports,
        capabilities,
        meta,
    })
}
