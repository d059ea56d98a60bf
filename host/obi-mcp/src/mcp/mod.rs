//! The MCP layer: maps loaded toolsets to MCP tools, resources and prompts (rmcp 3.11).
//!
//! Tool failures the user should read are `isError` results; only unroutable requests (unknown
//! tool, bad cursor, unknown prompt or resource) are JSON-RPC errors. Arguments are validated
//! against the tool's input schema before the guest sees them.

// MCP logging (`logging/setLevel`, `notifications/message`) is deprecated by SEP-2577 in the
// 2026-07-28 revision but is part of the revisions clients negotiate today; we keep serving it.
#![allow(deprecated)]

pub mod http;
pub mod registry;
pub mod transport;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rmcp::model::*;
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData as McpError, Peer, RoleServer, ServerHandler};

use crate::capability::kubernetes::KubePool;
use crate::config::{self, Config};
use crate::runtime::cache::ComponentCache;
use crate::runtime::meta::{CallOutput, ContentItem, ToolErrorKind};
use crate::runtime::{CallFailure, CallInfo, CallObserver, LogLevel, Op, Runtime, loader};
use registry::Registry;

/// Server name reported in `initialize`.
pub const SERVER_NAME: &str = "obi-mcp";

/// How the hub was started (paths and switches resolved from CLI and config).
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// Explicit config file.
    pub config_path: Option<PathBuf>,
    /// Cache dir override (`--cache-dir`).
    pub cache_dir: Option<PathBuf>,
    /// State dir override (`--state-dir`).
    pub state_dir: Option<PathBuf>,
    /// Disable the compiled-component cache.
    pub no_cache: bool,
    /// `--read-only`.
    pub read_only: bool,
}

/// Shared server state: the runtime, the loaded toolsets, and connected clients.
pub struct Hub {
    runtime: Runtime,
    cache: ComponentCache,
    state_dir: PathBuf,
    options: HubOptions,
    config: RwLock<Config>,
    registry: RwLock<Arc<Registry>>,
    peers: Mutex<Vec<Peer<RoleServer>>>,
    reload_lock: tokio::sync::Mutex<()>,
    availability: Mutex<std::collections::BTreeMap<String, Option<String>>>,
}

impl Hub {
    /// Builds the runtime and loads every toolset the config enables.
    pub async fn start(loaded: config::Loaded, options: HubOptions) -> anyhow::Result<Arc<Hub>> {
        let env = config::process_env();
        let mut config = loaded.config;
        if options.read_only {
            config.server.read_only = true;
        }
        let cache_dir = options
            .cache_dir
            .clone()
            .unwrap_or_else(|| config.cache_dir(&env));
        let state_dir = options
            .state_dir
            .clone()
            .unwrap_or_else(|| config.state_dir(&env));
        let runtime = Runtime::new(max_memory(&config))?;
        let cache = ComponentCache::new((!options.no_cache).then_some(cache_dir), runtime.engine());
        // One client pool for the whole server; it reads the kubeconfig on first use only.
        let kube = Arc::new(KubePool::new(&config.toolsets.kubernetes, &env));
        let report = loader::load_all(&runtime, &config, &cache, &state_dir, kube).await;
        log_report(&report);
        let registry = Registry::build(report.loaded, report.refused, config.server.read_only);
        let hub = Arc::new(Hub {
            runtime,
            cache,
            state_dir,
            options,
            config: RwLock::new(config),
            registry: RwLock::new(Arc::new(registry)),
            peers: Mutex::new(Vec::new()),
            reload_lock: tokio::sync::Mutex::new(()),
            availability: Mutex::new(std::collections::BTreeMap::new()),
        });
        Ok(hub)
    }

    /// Runs every toolset's `is-available` and logs the ones that cannot work here.
    pub async fn check_availability(&self) {
        let registry = self.registry();
        let cancel = tokio_util::sync::CancellationToken::new();
        for ts in &registry.toolsets {
            let out = self
                .runtime
                .invoke(
                    ts,
                    Op::IsAvailable,
                    &CallInfo::default(),
                    Arc::new(crate::runtime::NoObserver),
                    &cancel,
                )
                .await;
            let status = match out {
                Ok(CallOutput::Availability(None)) => None,
                Ok(CallOutput::Availability(Some(reason))) => {
                    tracing::warn!(toolset = %ts.meta.name, "toolset unavailable: {reason}");
                    Some(reason)
                }
                Ok(_) => None,
                Err(e) => Some(format!("availability check failed: {e}")),
            };
            self.availability
                .lock()
                .expect("availability lock")
                .insert(ts.meta.name.clone(), status);
        }
    }

    /// Availability of a toolset once checked: `Some(None)` available, `Some(Some(reason))` not.
    pub fn availability(&self, toolset: &str) -> Option<Option<String>> {
        self.availability
            .lock()
            .expect("availability lock")
            .get(toolset)
            .cloned()
    }

    /// The current registry.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.read().expect("registry lock").clone()
    }

    /// The runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Re-reads the config file and reloads toolsets; notifies clients when the tools changed.
    /// A config that fails to load keeps the current toolsets.
    pub async fn reload(&self) -> anyhow::Result<bool> {
        let _guard = self.reload_lock.lock().await;
        let env = config::process_env();
        let loaded = config::load(self.options.config_path.as_deref(), &env)?;
        for w in &loaded.warnings {
            tracing::warn!("{w}");
        }
        let mut config = loaded.config;
        if self.options.read_only {
            config.server.read_only = true;
        }
        if max_memory(&config) > max_memory(&self.config.read().expect("config lock")) {
            tracing::warn!("a larger memory limit needs a restart to take effect");
        }
        let kube = Arc::new(KubePool::new(&config.toolsets.kubernetes, &env));
        let report =
            loader::load_all(&self.runtime, &config, &self.cache, &self.state_dir, kube).await;
        log_report(&report);
        let registry = Registry::build(report.loaded, report.refused, config.server.read_only);
        let changed = registry.tool_names() != self.registry().tool_names();
        *self.registry.write().expect("registry lock") = Arc::new(registry);
        *self.config.write().expect("config lock") = config;
        if changed {
            let peers: Vec<Peer<RoleServer>> = self.peers.lock().expect("peers lock").clone();
            let mut alive = Vec::new();
            for peer in peers {
                if peer.notify_tool_list_changed().await.is_ok() {
                    alive.push(peer);
                }
            }
            *self.peers.lock().expect("peers lock") = alive;
        }
        Ok(changed)
    }

    fn add_peer(&self, peer: Peer<RoleServer>) {
        self.peers.lock().expect("peers lock").push(peer);
    }

    /// Calls a tool: validation, the call, and the mapping of its outcome to an MCP result.
    /// `Err` only for an unknown tool.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: serde_json::Map<String, serde_json::Value>,
        info: &CallInfo,
        observer: Arc<dyn CallObserver>,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<CallToolResult, McpError> {
        let registry = self.registry();
        let Some(entry) = registry.tool(name).cloned() else {
            return Err(McpError::invalid_params(
                format!("unknown tool: {name}"),
                Some(serde_json::json!({ "tool": name })),
            ));
        };
        let args = serde_json::Value::Object(arguments);
        if let Err(message) = entry.validate(&args) {
            return Ok(CallToolResult::error(vec![ContentBlock::text(message)]));
        }
        let toolset = registry.toolsets[entry.toolset].clone();
        let args_text = args.to_string();
        let outcome = self
            .runtime
            .invoke(
                &toolset,
                Op::CallTool {
                    name: &entry.def.name,
                    arguments: &args_text,
                },
                info,
                observer,
                cancel,
            )
            .await;
        Ok(match outcome {
            Ok(CallOutput::Tool(result)) => {
                let structured = match result.structured.as_deref().map(serde_json::from_str) {
                    Some(Ok(v)) => Some(v),
                    Some(Err(_)) | None => None,
                };
                if !result.is_error {
                    if let Some(v) = &structured
                        && let Err(e) = entry.validate_output(v)
                    {
                        return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                            "toolset \"{}\" returned a result that does not match the output schema of `{}`: {e}",
                            toolset.meta.name, entry.def.name
                        ))]));
                    }
                    if structured.is_none() && entry.def.output_schema.is_some() {
                        return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                            "toolset \"{}\" returned no structured result for `{}`, which declares an output schema",
                            toolset.meta.name, entry.def.name
                        ))]));
                    }
                }
                let mut content: Vec<ContentBlock> = result
                    .content
                    .into_iter()
                    .map(|c| match c {
                        ContentItem::Text(t) | ContentItem::Json(t) => ContentBlock::text(t),
                    })
                    .collect();
                if content.is_empty()
                    && let Some(v) = &structured
                {
                    content.push(ContentBlock::text(v.to_string()));
                }
                let mut r = if result.is_error {
                    CallToolResult::error(content)
                } else {
                    CallToolResult::success(content)
                };
                r.structured_content = structured;
                r
            }
            Ok(_) => CallToolResult::error(vec![ContentBlock::text("unexpected result kind")]),
            Err(failure) => CallToolResult::error(vec![ContentBlock::text(failure_text(&failure))]),
        })
    }
}

fn failure_text(f: &CallFailure) -> String {
    f.to_string()
}

fn max_memory(config: &Config) -> u64 {
    let server = &config.server.limits;
    let own = [
        &config.toolsets.local.limits,
        &config.toolsets.kubernetes.limits,
        &config.toolsets.docker.limits,
    ]
    .into_iter()
    .chain(config.toolsets.extra.iter().map(|e| &e.limits));
    own.map(|l| config::Limits::resolve(server, l).memory_bytes)
        .max()
        .unwrap_or(config::DEFAULT_MEMORY_MIB * 1024 * 1024)
}

fn log_report(report: &loader::LoadReport) {
    for (label, outcome, ms) in &report.compiled {
        tracing::debug!(toolset = %label, ?outcome, ms, "component ready");
    }
    for t in &report.loaded {
        tracing::info!(
            toolset = %t.meta.name, version = %t.meta.version, origin = %t.origin,
            tools = t.meta.tools.len(), granted = ?t.shared.grants.granted_names(),
            "toolset loaded"
        );
    }
    for (label, reason) in &report.refused {
        tracing::error!(toolset = %label, "toolset refused: {reason}");
    }
}

/// One MCP session's handler.
#[derive(Clone)]
pub struct ObiServer {
    hub: Arc<Hub>,
    /// Minimum level of toolset logs forwarded to this client (a [`LogLevel`] as u8; 255 = off).
    log_level: Arc<AtomicU8>,
}

impl ObiServer {
    /// A handler for one session.
    pub fn new(hub: Arc<Hub>) -> ObiServer {
        ObiServer {
            hub,
            log_level: Arc::new(AtomicU8::new(LogLevel::Warn as u8)),
        }
    }
}

/// Sends a call's progress and logs to the client.
struct McpObserver {
    peer: Peer<RoleServer>,
    token: Option<ProgressToken>,
    level: Arc<AtomicU8>,
}

impl CallObserver for McpObserver {
    fn progress(
        &self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> crate::runtime::futures_lite::BoxedFuture<()> {
        let Some(token) = self.token.clone() else {
            return Box::pin(async {});
        };
        let peer = self.peer.clone();
        Box::pin(async move {
            let mut p = ProgressNotificationParam::new(token, progress);
            p.total = total;
            p.message = message;
            let _ = peer.notify_progress(p).await;
        })
    }

    fn wants_progress(&self) -> bool {
        self.token.is_some()
    }

    fn log(&self, level: LogLevel, toolset: &str, message: &str) {
        if (level as u8) < self.level.load(Ordering::Relaxed) {
            return;
        }
        let level = match level {
            LogLevel::Trace | LogLevel::Debug => LoggingLevel::Debug,
            LogLevel::Info => LoggingLevel::Info,
            LogLevel::Warn => LoggingLevel::Warning,
            LogLevel::Error => LoggingLevel::Error,
        };
        let param: LoggingMessageNotificationParam =
            match serde_json::from_value(serde_json::json!({
                "level": level, "logger": toolset, "data": message,
            })) {
                Ok(p) => p,
                Err(_) => return,
            };
        let peer = self.peer.clone();
        tokio::spawn(async move {
            let _ = peer.notify_logging_message(param).await;
        });
    }
}

fn reject_cursor(request: &Option<PaginatedRequestParams>) -> Result<(), McpError> {
    match request.as_ref().and_then(|r| r.cursor.as_ref()) {
        Some(c) => Err(McpError::invalid_params(
            format!("invalid cursor {c:?}: every list fits in one page"),
            None,
        )),
        None => Ok(()),
    }
}

fn call_info(ctx: &RequestContext<RoleServer>) -> CallInfo {
    CallInfo {
        request_id: match &ctx.id {
            NumberOrString::Number(n) => n.to_string(),
            NumberOrString::String(s) => s.to_string(),
        },
        client_name: ctx.peer.peer_info().map(|i| i.client_info.name.clone()),
    }
}

impl ObiServer {
    /// Runs a resource read or prompt render (no progress token: those are tool-call only).
    async fn run(
        &self,
        toolset: &crate::runtime::LoadedToolset,
        op: Op<'_>,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallOutput, CallFailure> {
        let observer = Arc::new(McpObserver {
            peer: context.peer.clone(),
            token: None,
            level: self.log_level.clone(),
        });
        self.hub
            .runtime
            .invoke(toolset, op, &call_info(context), observer, &context.ct)
            .await
    }
}

/// JSON-RPC error for a failed resource read or prompt render.
fn failure_error(f: CallFailure) -> McpError {
    match f {
        CallFailure::Tool(ToolErrorKind::InvalidArguments(m)) => McpError::invalid_params(m, None),
        other => McpError::internal_error(failure_text(&other), None),
    }
}

impl ServerHandler for ObiServer {
    fn get_info(&self) -> ServerConfig {
        let caps = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_resources()
            .enable_prompts()
            .enable_logging()
            .build();
        ServerConfig::new(caps)
            .with_server_info(Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "obi-mcp deploys and operates OpenTelemetry eBPF Instrumentation (OBI) on this host, \
                 Kubernetes clusters and Docker. Tools are grouped by toolset: obi_local_*, obi_k8s_*, \
                 obi_docker_*. Read-only tools are safe to call to inspect state.",
            )
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.hub.add_peer(context.peer.clone());
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let level = match request.level {
            LoggingLevel::Debug => LogLevel::Trace,
            LoggingLevel::Info | LoggingLevel::Notice => LogLevel::Info,
            LoggingLevel::Warning => LogLevel::Warn,
            _ => LogLevel::Error,
        };
        self.log_level.store(level as u8, Ordering::Relaxed);
        Ok(())
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        reject_cursor(&request)?;
        let registry = self.hub.registry();
        Ok(ListToolsResult::with_all_items(
            registry.tools.as_ref().clone(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let observer = Arc::new(McpObserver {
            peer: context.peer.clone(),
            token: context.meta.get_progress_token(),
            level: self.log_level.clone(),
        });
        let info = call_info(&context);
        let result = self
            .hub
            .call_tool(
                &request.name,
                request.arguments.unwrap_or_default(),
                &info,
                observer,
                &context.ct,
            )
            .await?;
        Ok(CallToolResponse::Complete(result))
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        reject_cursor(&request)?;
        Ok(ListResourcesResult::with_all_items(
            self.hub.registry().resources.as_ref().clone(),
        ))
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        reject_cursor(&request)?;
        Ok(ListResourceTemplatesResult::with_all_items(
            self.hub.registry().templates.as_ref().clone(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let registry = self.hub.registry();
        let uri = request.uri.clone();
        let Some(toolset) = registry.resource_owner(&uri).cloned() else {
            return Err(McpError::resource_not_found(
                format!("no toolset serves resource {uri}"),
                Some(serde_json::json!({ "uri": uri })),
            ));
        };
        let out = self
            .run(&toolset, Op::ReadResource { uri: &uri }, &context)
            .await;
        match out {
            Ok(CallOutput::Resource(items)) => {
                let contents: Vec<serde_json::Value> = items
                    .into_iter()
                    .map(|c| {
                        let mut v = serde_json::json!({ "uri": c.uri, "text": c.text });
                        if let Some(m) = c.mime_type {
                            v["mimeType"] = m.into();
                        }
                        v
                    })
                    .collect();
                let result: ReadResourceResult =
                    serde_json::from_value(serde_json::json!({ "contents": contents }))
                        .map_err(|e| McpError::internal_error(e.to_string(), None))?;
                Ok(ReadResourceResponse::Complete(result))
            }
            Ok(_) => Err(McpError::internal_error("unexpected result kind", None)),
            Err(CallFailure::Tool(ToolErrorKind::NotFound(m))) => Err(
                McpError::resource_not_found(m, Some(serde_json::json!({ "uri": uri }))),
            ),
            Err(f) => Err(failure_error(f)),
        }
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        reject_cursor(&request)?;
        Ok(ListPromptsResult::with_all_items(
            self.hub.registry().prompts.as_ref().clone(),
        ))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let registry = self.hub.registry();
        let Some((toolset, def)) = registry.prompt(&request.name) else {
            return Err(McpError::invalid_params(
                format!("unknown prompt: {}", request.name),
                None,
            ));
        };
        let toolset = toolset.clone();
        let mut args: Vec<(String, String)> = Vec::new();
        for (k, v) in request.arguments.unwrap_or_default() {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            args.push((k, v));
        }
        for (name, _, required) in &def.arguments {
            if *required && !args.iter().any(|(k, _)| k == name) {
                return Err(McpError::invalid_params(
                    format!("prompt `{}` needs the argument `{name}`", def.name),
                    None,
                ));
            }
        }
        let op = Op::GetPrompt {
            name: &request.name,
            arguments: &args,
        };
        let out = self.run(&toolset, op, &context).await;
        match out {
            Ok(CallOutput::Prompt(p)) => {
                let messages: Vec<serde_json::Value> = p
                    .messages
                    .into_iter()
                    .map(|(user, text)| {
                        serde_json::json!({
                            "role": if user { "user" } else { "assistant" },
                            "content": { "type": "text", "text": text },
                        })
                    })
                    .collect();
                let mut v = serde_json::json!({ "messages": messages });
                if let Some(d) = p.description {
                    v["description"] = d.into();
                }
                let result: GetPromptResult = serde_json::from_value(v)
                    .map_err(|e| McpError::internal_error(e.to_string(), None))?;
                Ok(GetPromptResponse::Complete(result))
            }
            Ok(_) => Err(McpError::internal_error("unexpected result kind", None)),
            Err(CallFailure::Tool(ToolErrorKind::NotFound(m))) => {
                Err(McpError::invalid_params(m, None))
            }
            Err(f) => Err(failure_error(f)),
        }
    }
}
