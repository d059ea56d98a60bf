//! Loading toolsets: the first-party components embedded in the binary, then the extra ones
//! named in the config. A component that fails to load is refused with a reason and never stops
//! the server; the others are served.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use sha2::Digest;
use wasmtime::component::Component;

use super::cache::{CacheOutcome, ComponentCache};
use super::meta::ToolsetMeta;
use super::{
    LoadedToolset, PreBuilder, Runnable, Runtime, ToolsetShared, WIT_PACKAGE, WIT_VERSION, bindings,
};
use crate::capability::Grants;
use crate::capability::kubernetes::KubePool;
use crate::capability::state::StateStore;
use crate::config::{Config, Limits, LimitsConfig};

/// Where a toolset came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Built into this binary.
    Embedded,
    /// A file named in `toolsets.extra`.
    File(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Embedded => f.write_str("built-in"),
            Origin::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A component to load and how the config treats it.
pub struct Source {
    /// Label for messages (`local`, or the file path).
    pub label: String,
    /// Origin.
    pub origin: Origin,
    /// Component bytes.
    pub bytes: Cow<'static, [u8]>,
    /// sha256 of the bytes, hex (computed at build time for embedded ones).
    pub sha256: String,
    /// The compiled form made at build time (embedded ones).
    pub precompiled: Option<&'static [u8]>,
    /// The toolset name it must have (embedded ones), if any.
    pub expected_name: Option<&'static str>,
    /// Grants from config (defaults overlaid with the operator's).
    pub grants: BTreeMap<String, serde_json::Value>,
    /// Where grants are configured, for hints.
    pub config_location: String,
    /// Resolved limits.
    pub limits: Limits,
    /// The toolset's config section as JSON.
    pub config_json: Arc<str>,
}

/// The outcome of loading everything.
#[derive(Default)]
pub struct LoadReport {
    /// Toolsets ready to serve, in order.
    pub loaded: Vec<LoadedToolset>,
    /// (label, reason) of refused components.
    pub refused: Vec<(String, String)>,
    /// (label, outcome, milliseconds) of compilation or cache loads.
    pub compiled: Vec<(String, CacheOutcome, f64)>,
}

/// Names only first-party toolsets may use.
pub const RESERVED_NAMES: &[&str] = &["local", "kubernetes", "docker", "obi", "server"];

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn default_grants(name: &str, config: &Config) -> BTreeMap<String, serde_json::Value> {
    // Every first-party toolset keeps its deployment records in `state`.
    let mut grants = BTreeMap::from([("state".to_string(), serde_json::Value::Bool(true))]);
    if name == "local" {
        // The local toolset starts OBI: the configured binary, else obi/ebpf-instrument on PATH.
        let local = &config.toolsets.local;
        grants.insert(
            crate::capability::process::NAME.to_string(),
            crate::capability::process::default_grant(local.binary_path.as_deref(), local.use_sudo),
        );
    }
    if name == "kubernetes" {
        // Read everything; write only what obi-mcp deploys.
        grants.insert(
            crate::capability::kubernetes::NAME.to_string(),
            crate::capability::kubernetes::default_grant(),
        );
    }
    grants
}

/// A first-party toolset's own limits with its built-in defaults filled in where neither the
/// toolset's section nor `server.limits` sets them: the Kubernetes
/// toolset follows rollouts (5 minutes by default, up to 30), so its calls may run longer than
/// the server-wide default.
fn first_party_limits(name: &str, server: &LimitsConfig, own: &LimitsConfig) -> LimitsConfig {
    let mut limits = own.clone();
    if name == "kubernetes" && limits.timeout_secs.is_none() && server.timeout_secs.is_none() {
        limits.timeout_secs = Some(crate::config::KUBERNETES_TIMEOUT_SECS);
    }
    limits
}

fn overlay(
    mut base: BTreeMap<String, serde_json::Value>,
    own: &BTreeMap<String, serde_json::Value>,
) -> BTreeMap<String, serde_json::Value> {
    base.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    base
}

/// Collects the sources the config enables: embedded first-party toolsets in their fixed order,
/// then `toolsets.extra` in config order. Files that cannot be read are refused here.
pub fn sources(config: &Config, report: &mut LoadReport) -> Vec<Source> {
    let mut out = Vec::new();
    let server_limits = &config.server.limits;
    for embedded in crate::embedded::FIRST_PARTY {
        let (enabled, grants, limits, section): (bool, _, &LimitsConfig, serde_json::Value) =
            match embedded.name {
                "local" => (
                    config.toolsets.local.enabled,
                    &config.toolsets.local.grants,
                    &config.toolsets.local.limits,
                    serde_json::to_value(&config.toolsets.local).unwrap_or_default(),
                ),
                "kubernetes" => (
                    config.toolsets.kubernetes.enabled,
                    &config.toolsets.kubernetes.grants,
                    &config.toolsets.kubernetes.limits,
                    serde_json::to_value(&config.toolsets.kubernetes).unwrap_or_default(),
                ),
                "docker" => (
                    config.toolsets.docker.enabled,
                    &config.toolsets.docker.grants,
                    &config.toolsets.docker.limits,
                    serde_json::to_value(&config.toolsets.docker).unwrap_or_default(),
                ),
                _ => (
                    true,
                    &BTreeMap::new() as &BTreeMap<_, _>,
                    &LimitsConfig::default() as &LimitsConfig,
                    serde_json::json!({}),
                ),
            };
        if !enabled {
            continue;
        }
        out.push(Source {
            label: embedded.name.to_string(),
            origin: Origin::Embedded,
            bytes: Cow::Borrowed(embedded.bytes),
            sha256: embedded.sha256.to_string(),
            precompiled: Some(embedded.precompiled),
            expected_name: Some(embedded.name),
            grants: overlay(default_grants(embedded.name, config), grants),
            config_location: format!("toolsets.{}", embedded.name),
            limits: Limits::resolve(
                server_limits,
                &first_party_limits(embedded.name, server_limits, limits),
            ),
            config_json: section_json(section),
        });
    }
    for (i, extra) in config.toolsets.extra.iter().enumerate() {
        if !extra.enabled {
            continue;
        }
        let label = extra.path.display().to_string();
        let bytes = match std::fs::read(&extra.path) {
            Ok(b) => b,
            Err(e) => {
                report
                    .refused
                    .push((label, format!("cannot read the component file: {e}")));
                continue;
            }
        };
        let sha256 = sha256_hex(&bytes);
        if let Some(pinned) = &extra.sha256
            && !pinned.eq_ignore_ascii_case(&sha256)
        {
            report.refused.push((
                label,
                format!(
                    "sha256 mismatch: the config pins {} but the file has {sha256}; refusing to load it",
                    pinned.to_ascii_lowercase()
                ),
            ));
            continue;
        }
        out.push(Source {
            label,
            origin: Origin::File(extra.path.clone()),
            bytes: Cow::Owned(bytes),
            sha256,
            precompiled: None,
            expected_name: None,
            grants: extra.grants.clone(),
            config_location: format!("toolsets.extra[{i}]"),
            limits: Limits::resolve(server_limits, &extra.limits),
            config_json: section_json(extra.settings.clone().unwrap_or(serde_json::json!({}))),
        });
    }
    out
}

fn section_json(mut v: serde_json::Value) -> Arc<str> {
    if let Some(map) = v.as_object_mut() {
        // Grants and limits are the host's business, not the toolset's.
        map.remove("grants");
        map.remove("limits");
    }
    Arc::from(v.to_string())
}

/// Checks which `obi:toolset` version a component targets.
pub fn check_version(component: &Component, engine: &wasmtime::Engine) -> Result<(), String> {
    let ty = component.component_type();
    let prefix = format!("{WIT_PACKAGE}/toolset@");
    let mut names = Vec::new();
    for (name, _) in ty.exports(engine) {
        if let Some(version) = name.strip_prefix(&prefix) {
            if version == WIT_VERSION {
                return Ok(());
            }
            return Err(format!(
                "the component targets {WIT_PACKAGE}@{version}, but this obi-mcp supports {WIT_PACKAGE}@{WIT_VERSION}; rebuild the toolset against {WIT_PACKAGE}@{WIT_VERSION} or use an obi-mcp that supports {version}"
            ));
        }
        names.push(name.to_string());
    }
    Err(format!(
        "not an obi-mcp toolset: it does not export `{WIT_PACKAGE}/toolset@{WIT_VERSION}` (its exports: {})",
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    ))
}

/// Loads (precompiled, cached, or compiled) every source, each on its own thread.
fn compile_all(
    engine: &wasmtime::Engine,
    cache: &ComponentCache,
    sources: &[&Source],
) -> Vec<(anyhow::Result<(Component, CacheOutcome)>, f64)> {
    let one = |s: &&Source| {
        let t = Instant::now();
        let r = cache.load_or_compile(engine, &s.sha256, &s.bytes, s.precompiled);
        (r, t.elapsed().as_secs_f64() * 1e3)
    };
    if sources.len() <= 1 {
        return sources.iter().map(one).collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = sources
            .iter()
            .map(|s| scope.spawn(move || one(s)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| (Err(anyhow::anyhow!("compiler thread panicked")), 0.0))
            })
            .collect()
    })
}

/// Loads every enabled toolset. Never fails as a whole: refusals are in the report.
/// `kube` is the server-wide Kubernetes client pool every toolset shares.
///
/// A toolset whose metadata is in the cache needs nothing else at start: its component is
/// loaded on its first call ([`Runnable::deferred`]). The others are loaded (precompiled,
/// cached or compiled) now, in parallel, and described. Name and tool collisions are then
/// decided in load order: built-in toolsets first, then `toolsets.extra` in config order.
pub async fn load_all(
    runtime: &Runtime,
    config: &Config,
    cache: &ComponentCache,
    state_dir: &std::path::Path,
    kube: Arc<KubePool>,
) -> LoadReport {
    let mut report = LoadReport::default();
    let obi_json: Option<Arc<str>> = config.obi.as_ref().map(|v| Arc::from(v.to_string()));
    let all = sources(config, &mut report);
    let metas: Vec<Option<ToolsetMeta>> = all
        .iter()
        .map(|s| {
            cache.load_meta(&super::cache::meta_key(
                &s.sha256,
                &s.config_json,
                obi_json.as_deref(),
            ))
        })
        .collect();
    let fresh: Vec<&Source> = all
        .iter()
        .zip(&metas)
        .filter(|(_, m)| m.is_none())
        .map(|(s, _)| s)
        .collect();
    let mut compiled = compile_all(runtime.engine(), cache, &fresh).into_iter();
    let mut results: Vec<(String, Result<LoadedToolset, String>)> = Vec::new();
    for (source, meta) in all.into_iter().zip(metas) {
        let label = source.label.clone();
        let loaded = match meta {
            Some(meta) => {
                report
                    .compiled
                    .push((label.clone(), CacheOutcome::Deferred, 0.0));
                let runnable = Runnable::deferred(deferred_builder(runtime, cache, &source));
                finish(
                    source,
                    meta,
                    runnable,
                    obi_json.clone(),
                    config,
                    state_dir,
                    kube.clone(),
                )
            }
            None => {
                let Some((result, ms)) = compiled.next() else {
                    continue;
                };
                match result {
                    Ok((component, outcome)) => {
                        report.compiled.push((label.clone(), outcome, ms));
                        load_one(
                            runtime,
                            cache,
                            source,
                            component,
                            config,
                            state_dir,
                            kube.clone(),
                        )
                        .await
                    }
                    Err(e) => Err(format!(
                        "not a valid WebAssembly component: {}",
                        root_cause(&e)
                    )),
                }
            }
        };
        results.push((label, loaded));
    }
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut tool_owner: BTreeMap<String, String> = BTreeMap::new();
    for (label, loaded) in results {
        let toolset = match loaded {
            Ok(t) => t,
            Err(reason) => {
                report.refused.push((label, reason));
                continue;
            }
        };
        let name = toolset.meta.name.clone();
        if !names.insert(name.clone()) {
            report.refused.push((
                label,
                format!("a toolset named \"{name}\" is already loaded"),
            ));
            continue;
        }
        if let Some(clash) = toolset
            .meta
            .tools
            .iter()
            .find(|t| tool_owner.contains_key(&t.name))
        {
            report.refused.push((
                label,
                format!(
                    "toolset \"{name}\" declares tool `{}`, which toolset \"{}\" already provides; refusing the later toolset",
                    clash.name, tool_owner[&clash.name]
                ),
            ));
            names.remove(&name);
            continue;
        }
        for t in &toolset.meta.tools {
            tool_owner.insert(t.name.clone(), name.clone());
        }
        report.loaded.push(toolset);
    }
    report
}

/// Loads and links a component whose metadata came from the cache, on its first call.
fn deferred_builder(runtime: &Runtime, cache: &ComponentCache, source: &Source) -> Arc<PreBuilder> {
    let engine = runtime.engine().clone();
    let linker = runtime.linker().clone();
    let cache = cache.clone();
    let bytes: Arc<[u8]> = Arc::from(&source.bytes[..]);
    let sha256 = source.sha256.clone();
    let precompiled = source.precompiled;
    Arc::new(move || {
        let (component, outcome) = cache
            .load_or_compile(&engine, &sha256, &bytes, precompiled)
            .map_err(|e| format!("not a valid WebAssembly component: {}", root_cause(&e)))?;
        tracing::debug!(?outcome, "component loaded on first use");
        check_version(&component, &engine)?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| format!("cannot link the component: {e:#}"))?;
        bindings::ToolsetWorldPre::new(pre)
            .map_err(|e| format!("the component does not fit the toolset world: {e:#}"))
    })
}

fn root_cause(e: &anyhow::Error) -> String {
    let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    chain.join(": ")
}

async fn load_one(
    runtime: &Runtime,
    cache: &ComponentCache,
    source: Source,
    component: Component,
    config: &Config,
    state_dir: &std::path::Path,
    kube: Arc<KubePool>,
) -> Result<LoadedToolset, String> {
    check_version(&component, runtime.engine())?;
    let pre = runtime
        .linker()
        .instantiate_pre(&component)
        .map_err(|e| format!("cannot link the component: {e:#}"))?;
    let pre = bindings::ToolsetWorldPre::new(pre)
        .map_err(|e| format!("the component does not fit the toolset world: {e:#}"))?;
    let obi_json: Option<Arc<str>> = config.obi.as_ref().map(|v| Arc::from(v.to_string()));
    let probe = Arc::new(ToolsetShared {
        name: Arc::from(source.label.as_str()),
        grants: Grants::none(Arc::from(source.label.as_str())),
        state: Arc::new(StateStore::new(state_dir.join("unused"))),
        work_dir: state_dir.join("unused"),
        config_json: source.config_json.clone(),
        obi_json: obi_json.clone(),
        limits: source.limits,
        kube: kube.clone(),
    });
    // `load_all` found no cached metadata for this component: describe it and cache that.
    let meta = runtime
        .read_meta(&pre, probe)
        .await
        .map_err(|e| format!("describing the toolset failed: {e}"))?;
    cache.store_meta(
        &super::cache::meta_key(&source.sha256, &source.config_json, obi_json.as_deref()),
        &meta,
    );
    finish(
        source,
        meta,
        Runnable::ready(pre),
        obi_json,
        config,
        state_dir,
        kube,
    )
}

/// The rest of loading once the metadata is known: name checks, grants, shared data.
fn finish(
    source: Source,
    meta: ToolsetMeta,
    runnable: Runnable,
    obi_json: Option<Arc<str>>,
    config: &Config,
    state_dir: &std::path::Path,
    kube: Arc<KubePool>,
) -> Result<LoadedToolset, String> {
    if let Some(expected) = source.expected_name
        && meta.name != expected
    {
        return Err(format!(
            "built-in component calls itself \"{}\" instead of \"{expected}\"",
            meta.name
        ));
    }
    if source.expected_name.is_none() && RESERVED_NAMES.contains(&meta.name.as_str()) {
        return Err(format!(
            "the name \"{}\" is reserved for obi-mcp's own toolsets; rename the toolset",
            meta.name
        ));
    }
    let name: Arc<str> = Arc::from(meta.name.as_str());
    let grants = Grants::new(
        name.clone(),
        meta.capabilities.iter().map(|(n, _)| n.clone()),
        &source.grants,
        source.config_location.clone(),
        config.server.read_only,
    )?;
    for (cap, reason) in &meta.capabilities {
        if !grants.granted_names().contains(&cap.as_str()) {
            tracing::info!(
                toolset = %name,
                capability = %cap,
                reason = %reason,
                "capability requested but not granted; grant it under {}.grants",
                source.config_location
            );
        }
    }
    let shared = Arc::new(ToolsetShared {
        name: name.clone(),
        grants,
        state: Arc::new(StateStore::new(
            state_dir.join("toolsets").join(format!("{name}.json")),
        )),
        work_dir: state_dir.join(&*name),
        config_json: source.config_json,
        obi_json,
        limits: source.limits,
        kube,
    });
    Ok(LoadedToolset {
        meta,
        runnable,
        shared,
        origin: source.origin,
        sha256: source.sha256,
    })
}
