//! The component runtime: one wasmtime engine, a fresh sandboxed instance per call.
//!
//! Engine: component model, async host imports, pooling allocator, epoch interruption driven by
//! a ticker thread that only ticks while calls run. Each call gets a new `Store` and instance from
//! the toolset's pre-instantiated `InstancePre`, so calls run concurrently and a call that traps
//! poisons nothing. The sandbox: WASI with no preopened directories, no environment, no sockets,
//! no stdin; guest stdout and stderr go to the server log tagged with the toolset.

pub mod cache;
pub mod loader;
pub mod meta;
mod stdio;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capability::Grants;
use crate::config::Limits;
use meta::{CallOutput, ContentItem, ToolsetMeta};

/// Generated bindings of the `obi:toolset@0.1.0` world.
///
/// One module per supported package version; a future 0.2.0 gets its own module and the
/// loader adapts older components to the newest types (see `wit/README.md`).
pub mod bindings {
    #![allow(missing_docs)]
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "obi:toolset/toolset-world",
        imports: { default: async },
        exports: { default: async },
    });
}

/// The WIT package version this host implements.
pub const WIT_VERSION: &str = "0.1.0";
/// The WIT package name.
pub const WIT_PACKAGE: &str = "obi:toolset";

/// How many instances may exist at once (pool size); more concurrent calls wait.
pub const INSTANCE_SLOTS: u32 = 64;
/// Epoch tick period while calls are running.
pub const TICK: Duration = Duration::from_millis(5);
/// Most a call may log (stderr, stdout and the `log` import together) before logs are dropped.
pub const LOG_BUDGET_BYTES: usize = 256 * 1024;

/// Severity of a log record coming from a toolset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Very detailed.
    Trace,
    /// Debugging.
    Debug,
    /// Normal operation.
    Info,
    /// Suspicious.
    Warn,
    /// Failure.
    Error,
}

/// Receives what a running call reports besides its result: progress and log records.
/// The MCP layer turns them into notifications; the CLI prints them to stderr.
pub trait CallObserver: Send + Sync {
    /// Progress of the call (only called when the client asked for progress).
    fn progress(
        &self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> futures_lite::BoxedFuture<()>;
    /// Whether the client wants progress at all.
    fn wants_progress(&self) -> bool;
    /// A log record of the toolset (already written to the server log).
    fn log(&self, level: LogLevel, toolset: &str, message: &str);
}

/// Small future helpers so the runtime does not need a futures crate.
pub mod futures_lite {
    /// A boxed, sendable future.
    pub type BoxedFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;
}

/// An observer that reports nothing.
pub struct NoObserver;

impl CallObserver for NoObserver {
    fn progress(&self, _: f64, _: Option<f64>, _: Option<String>) -> futures_lite::BoxedFuture<()> {
        Box::pin(async {})
    }
    fn wants_progress(&self) -> bool {
        false
    }
    fn log(&self, _: LogLevel, _: &str, _: &str) {}
}

/// What every call of one toolset shares.
pub struct ToolsetShared {
    /// Toolset name (from `describe`).
    pub name: Arc<str>,
    /// Effective grants.
    pub grants: Grants,
    /// Persistent key/value state.
    pub state: Arc<crate::capability::state::StateStore>,
    /// The toolset's own directory under the state dir (`<state_dir>/<name>`): logs and files
    /// of the `process` capability.
    pub work_dir: std::path::PathBuf,
    /// `toolsets.<name>` as JSON.
    pub config_json: Arc<str>,
    /// The shared `obi:` section as JSON.
    pub obi_json: Option<Arc<str>>,
    /// Limits.
    pub limits: Limits,
    /// The server-wide Kubernetes client pool (`kubernetes` capability).
    pub kube: Arc<crate::capability::kubernetes::KubePool>,
}

/// The store data of one call.
pub struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    /// Shared toolset data (grants, state, config).
    pub shared: Arc<ToolsetShared>,
    /// Where progress and logs of this call go.
    pub observer: Arc<dyn CallObserver>,
    /// Log bytes this call may still emit.
    pub log_budget: Arc<AtomicUsize>,
    /// Last lines the guest wrote to stderr (a panic message ends up here).
    pub stderr_tail: Arc<std::sync::Mutex<std::collections::VecDeque<String>>>,
}

impl CallState {
    /// A call state outside any component instance, for calling host functions directly in
    /// tests.
    #[doc(hidden)]
    pub fn detached(shared: Arc<ToolsetShared>, observer: Arc<dyn CallObserver>) -> CallState {
        CallState {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limiter: Limiter {
                memory_bytes: shared.limits.memory_bytes as usize,
                hit: Arc::new(AtomicBool::new(false)),
            },
            shared,
            observer,
            log_budget: Arc::new(AtomicUsize::new(LOG_BUDGET_BYTES)),
            stderr_tail: Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new())),
        }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl bindings::obi::toolset::types::Host for CallState {}

/// Enforces the memory limit and remembers whether it was hit.
struct Limiter {
    memory_bytes: usize,
    hit: Arc<AtomicBool>,
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.hit.store(true, Ordering::Relaxed);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Why a call produced no result.
#[derive(Debug, thiserror::Error)]
pub enum CallFailure {
    /// The guest returned a typed tool error.
    #[error("{0}")]
    Tool(meta::ToolErrorKind),
    /// The call ran past its deadline and was stopped.
    #[error("toolset \"{toolset}\" did not finish within its deadline of {secs} s and was stopped")]
    Deadline {
        /// Toolset name.
        toolset: String,
        /// The deadline.
        secs: u64,
    },
    /// The client cancelled the request.
    #[error("cancelled by the client")]
    Cancelled,
    /// The guest hit its memory limit.
    #[error("toolset \"{toolset}\" ran out of memory (limit {limit_mib} MiB) and was stopped")]
    OutOfMemory {
        /// Toolset name.
        toolset: String,
        /// The limit.
        limit_mib: u64,
    },
    /// The output exceeded the limit.
    #[error(
        "toolset \"{toolset}\" returned {size} bytes of output, more than its limit of {limit} bytes; the output was discarded"
    )]
    OutputTooLarge {
        /// Toolset name.
        toolset: String,
        /// Output size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The component could not be loaded on its first call (its file or cache entry changed).
    #[error("toolset \"{toolset}\" could not be loaded: {message}")]
    Unloadable {
        /// Toolset name.
        toolset: String,
        /// Why.
        message: String,
    },
    /// The guest trapped (a bug in the toolset).
    #[error("toolset \"{toolset}\" failed (trap: {message}){stderr}")]
    Trap {
        /// Toolset name.
        toolset: String,
        /// Trap description.
        message: String,
        /// `; it wrote to stderr: ...` or empty.
        stderr: String,
    },
    /// The guest returned something malformed (e.g. invalid JSON).
    #[error("toolset \"{toolset}\" returned an invalid result: {message}")]
    Malformed {
        /// Toolset name.
        toolset: String,
        /// What was wrong.
        message: String,
    },
}

/// Per-call information handed to the guest.
#[derive(Debug, Clone, Default)]
pub struct CallInfo {
    /// MCP request id.
    pub request_id: String,
    /// Client name, if known.
    pub client_name: Option<String>,
}

/// One operation on a toolset instance.
pub enum Op<'a> {
    /// `call-tool`.
    CallTool {
        /// Tool name.
        name: &'a str,
        /// Arguments as JSON text.
        arguments: &'a str,
    },
    /// `read-resource`.
    ReadResource {
        /// Resource URI.
        uri: &'a str,
    },
    /// `get-prompt`.
    GetPrompt {
        /// Prompt name.
        name: &'a str,
        /// Arguments.
        arguments: &'a [(String, String)],
    },
    /// `is-available`.
    IsAvailable,
}

/// The engine, the linker with every host interface, and the epoch ticker.
pub struct Runtime {
    engine: Engine,
    linker: Linker<CallState>,
    ticker: Arc<Ticker>,
    slots: tokio::sync::Semaphore,
}

impl Runtime {
    /// Builds the engine; `max_memory_bytes` is the largest memory limit of any toolset.
    pub fn new(max_memory_bytes: u64) -> anyhow::Result<Runtime> {
        let engine = match Engine::new(&engine_config(max_memory_bytes, true)) {
            Ok(e) => e,
            Err(e) => {
                // The pool reserves address space up front; where that is not allowed (a low
                // `ulimit -v`, for instance), allocate instances on demand instead.
                tracing::warn!(error = %e, "pooling allocator unavailable; allocating instances on demand");
                Engine::new(&engine_config(max_memory_bytes, false))?
            }
        };
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bindings::ToolsetWorld::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut linker,
            |s| s,
        )?;
        let ticker = Ticker::start(engine.clone());
        Ok(Runtime {
            engine,
            linker,
            ticker,
            slots: tokio::sync::Semaphore::new(INSTANCE_SLOTS as usize),
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker holding WASI and the host interfaces.
    pub fn linker(&self) -> &Linker<CallState> {
        &self.linker
    }

    fn new_store(
        &self,
        shared: Arc<ToolsetShared>,
        observer: Arc<dyn CallObserver>,
        oom: Arc<AtomicBool>,
    ) -> Store<CallState> {
        let log_budget = Arc::new(AtomicUsize::new(LOG_BUDGET_BYTES));
        let stderr_tail = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let mut wasi = WasiCtx::builder();
        // No preopens, no env, no args, no network, no stdin: the builder's defaults deny them;
        // be explicit about the network so a future default change cannot open it.
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .stdout(stdio::LogStream::new(
                shared.name.clone(),
                "stdout",
                log_budget.clone(),
                observer.clone(),
                None,
            ))
            .stderr(stdio::LogStream::new(
                shared.name.clone(),
                "stderr",
                log_budget.clone(),
                observer.clone(),
                Some(stderr_tail.clone()),
            ));
        let state = CallState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: Limiter {
                memory_bytes: shared.limits.memory_bytes as usize,
                hit: oom,
            },
            shared,
            observer,
            log_budget,
            stderr_tail,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        store
    }

    /// Runs `op` in a fresh instance of `toolset`, within its limits, until it finishes,
    /// the deadline passes, or `cancel` fires.
    pub async fn invoke(
        &self,
        toolset: &LoadedToolset,
        op: Op<'_>,
        info: &CallInfo,
        observer: Arc<dyn CallObserver>,
        cancel: &CancellationToken,
    ) -> Result<CallOutput, CallFailure> {
        let shared = toolset.shared.clone();
        let limits = shared.limits;
        let started = Instant::now();
        let _permit = self.slots.acquire().await.expect("semaphore never closed");
        let _active = self.ticker.activate();
        let oom = Arc::new(AtomicBool::new(false));
        let wants_progress = observer.wants_progress();
        let mut store = self.new_store(shared.clone(), observer, oom.clone());
        let stderr_tail = store.data().stderr_tail.clone();
        let deadline_ms = limits.timeout.as_millis().min(u64::MAX as u128) as u64;
        let ctx = bindings::obi::toolset::types::CallContext {
            request_id: info.request_id.clone(),
            client_name: info.client_name.clone(),
            deadline_ms,
            wants_progress,
        };
        let pre = toolset
            .runnable
            .get()
            .await
            .map_err(|message| CallFailure::Unloadable {
                toolset: shared.name.to_string(),
                message,
            })?;
        let work = async {
            let instance = pre.instantiate_async(&mut store).await?;
            let guest = instance.obi_toolset_toolset();
            let out = match op {
                Op::CallTool { name, arguments } => guest
                    .call_call_tool(&mut store, name, arguments, &ctx)
                    .await?
                    .map(|r| CallOutput::Tool(meta::tool_result_from(r)))
                    .map_err(meta::ToolErrorKind::from),
                Op::ReadResource { uri } => guest
                    .call_read_resource(&mut store, uri, &ctx)
                    .await?
                    .map(|r| CallOutput::Resource(r.into_iter().map(Into::into).collect()))
                    .map_err(meta::ToolErrorKind::from),
                Op::GetPrompt { name, arguments } => guest
                    .call_get_prompt(&mut store, name, arguments, &ctx)
                    .await?
                    .map(|r| CallOutput::Prompt(r.into()))
                    .map_err(meta::ToolErrorKind::from),
                Op::IsAvailable => Ok(CallOutput::Availability(
                    match guest.call_is_available(&mut store).await? {
                        bindings::obi::toolset::types::Availability::Available => None,
                        bindings::obi::toolset::types::Availability::Unavailable(r) => Some(r),
                    },
                )),
            };
            wasmtime::Result::Ok(out)
        };
        let name = shared.name.to_string();
        let result: wasmtime::Result<Result<CallOutput, meta::ToolErrorKind>> = tokio::select! {
            r = work => r,
            _ = tokio::time::sleep(limits.timeout) => {
                tracing::warn!(toolset = %name, elapsed_ms = started.elapsed().as_millis() as u64, "call stopped at its deadline");
                return Err(CallFailure::Deadline { toolset: name, secs: limits.timeout.as_secs() });
            }
            _ = cancel.cancelled() => {
                tracing::info!(toolset = %name, "call cancelled by the client");
                return Err(CallFailure::Cancelled);
            }
        };
        match result {
            Ok(Ok(out)) => {
                let size = out.size();
                if size > limits.max_output_bytes {
                    return Err(CallFailure::OutputTooLarge {
                        toolset: name,
                        size,
                        limit: limits.max_output_bytes,
                    });
                }
                out.check(&name)?;
                Ok(out)
            }
            Ok(Err(tool_error)) => Err(CallFailure::Tool(tool_error)),
            Err(trap) => {
                if oom.load(Ordering::Relaxed) {
                    return Err(CallFailure::OutOfMemory {
                        toolset: name,
                        limit_mib: limits.memory_bytes / (1024 * 1024),
                    });
                }
                let tail: Vec<String> = stderr_tail
                    .lock()
                    .map(|t| t.iter().cloned().collect())
                    .unwrap_or_default();
                let stderr = if tail.is_empty() {
                    String::new()
                } else {
                    format!("; it wrote to stderr: {}", tail.join(" | "))
                };
                let message = match trap.downcast_ref::<wasmtime::Trap>() {
                    Some(t) => t.to_string(),
                    None => format!("{trap:#}"),
                };
                tracing::warn!(toolset = %name, %message, "toolset call trapped");
                Err(CallFailure::Trap {
                    toolset: name,
                    message,
                    stderr,
                })
            }
        }
    }

    /// Instantiates a component once to read its metadata (describe, tools, resources, prompts).
    pub async fn read_meta(
        &self,
        pre: &bindings::ToolsetWorldPre<CallState>,
        shared: Arc<ToolsetShared>,
    ) -> anyhow::Result<ToolsetMeta> {
        let _permit = self.slots.acquire().await?;
        let _active = self.ticker.activate();
        let oom = Arc::new(AtomicBool::new(false));
        let mut store = self.new_store(shared.clone(), Arc::new(NoObserver), oom);
        let work = async {
            let instance = pre.instantiate_async(&mut store).await?;
            let g = instance.obi_toolset_toolset();
            let info = g.call_describe(&mut store).await?;
            let tools = g.call_list_tools(&mut store).await?;
            let resources = g.call_list_resources(&mut store).await?;
            let templates = g.call_list_resource_templates(&mut store).await?;
            let prompts = g.call_list_prompts(&mut store).await?;
            wasmtime::Result::Ok(ToolsetMeta::from_wit(
                info, tools, resources, templates, prompts,
            ))
        };
        match tokio::time::timeout(shared.limits.timeout.min(Duration::from_secs(10)), work).await {
            Ok(r) => {
                let r: wasmtime::Result<Result<ToolsetMeta, String>> = r;
                r.map_err(|e| anyhow::anyhow!("{e:#}"))?
                    .map_err(|e| anyhow::anyhow!(e))
            }
            Err(_) => anyhow::bail!("describing the toolset took longer than 10 s"),
        }
    }
}

fn engine_config(max_memory_bytes: u64, pooling: bool) -> wasmtime::Config {
    // Everything that changes compiled code comes from obi-engine, shared with the build script
    // that precompiles the first-party toolsets; the allocator below does not change it.
    let mut cfg = obi_engine::compile_config();
    if !pooling {
        return cfg;
    }
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_component_instances(INSTANCE_SLOTS)
        .total_core_instances(INSTANCE_SLOTS * 8)
        .total_memories(INSTANCE_SLOTS * 4)
        .total_tables(INSTANCE_SLOTS * 8)
        .total_stacks(INSTANCE_SLOTS)
        .max_memories_per_component(8)
        .max_tables_per_component(16)
        .max_core_instances_per_component(32)
        .max_memory_size(max_memory_bytes.max(16 * 1024 * 1024) as usize);
    cfg.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    cfg
}

/// Makes a toolset's pre-instantiated form: loads (or compiles) the component and links it.
pub type PreBuilder =
    dyn Fn() -> Result<bindings::ToolsetWorldPre<CallState>, String> + Send + Sync;

/// A toolset's pre-instantiated form, made at load time or on first use.
///
/// When a toolset's metadata comes from the cache, a start needs nothing else from the
/// component: loading and linking it wait for its first call. A server whose Kubernetes
/// toolset is never called never pays for it.
pub struct Runnable {
    cell: tokio::sync::OnceCell<bindings::ToolsetWorldPre<CallState>>,
    build: Option<Arc<PreBuilder>>,
}

impl Runnable {
    /// Already made.
    pub fn ready(pre: bindings::ToolsetWorldPre<CallState>) -> Runnable {
        Runnable {
            cell: tokio::sync::OnceCell::new_with(Some(pre)),
            build: None,
        }
    }

    /// Made by `build` on first use (on a blocking thread: it may compile).
    pub fn deferred(build: Arc<PreBuilder>) -> Runnable {
        Runnable {
            cell: tokio::sync::OnceCell::new(),
            build: Some(build),
        }
    }

    /// Whether the pre-instantiated form exists yet.
    pub fn is_ready(&self) -> bool {
        self.cell.initialized()
    }

    /// The pre-instantiated form, made now if needed. Concurrent first calls make it once.
    pub async fn get(&self) -> Result<&bindings::ToolsetWorldPre<CallState>, String> {
        self.cell
            .get_or_try_init(|| async {
                let build = self
                    .build
                    .clone()
                    .ok_or_else(|| "the component was never loaded".to_string())?;
                tokio::task::spawn_blocking(move || build())
                    .await
                    .map_err(|e| format!("loading the component panicked: {e}"))?
            })
            .await
    }
}

/// A component ready to run: metadata, pre-instantiated form and shared data.
pub struct LoadedToolset {
    /// Metadata read at load time (or from the metadata cache).
    pub meta: ToolsetMeta,
    /// Pre-instantiated component (made lazily when the metadata came from the cache).
    pub runnable: Runnable,
    /// Data shared by all calls.
    pub shared: Arc<ToolsetShared>,
    /// Where it came from.
    pub origin: loader::Origin,
    /// sha256 of the component bytes (hex).
    pub sha256: String,
}

/// Increments the engine epoch every [`TICK`] while at least one call is running.
struct Ticker {
    active: AtomicUsize,
    thread: std::thread::Thread,
}

struct ActiveGuard(Arc<Ticker>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Ticker {
    fn start(engine: Engine) -> Arc<Ticker> {
        let (tx, rx) = std::sync::mpsc::channel::<Arc<Ticker>>();
        let handle = std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                let Ok(me) = rx.recv() else { return };
                let weak = Arc::downgrade(&me);
                drop(me);
                loop {
                    let Some(me) = weak.upgrade() else { return };
                    let busy = me.active.load(Ordering::Acquire) > 0;
                    drop(me);
                    if busy {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    } else {
                        std::thread::park_timeout(Duration::from_secs(1));
                    }
                }
            })
            .expect("spawn epoch ticker thread");
        let ticker = Arc::new(Ticker {
            active: AtomicUsize::new(0),
            thread: handle.thread().clone(),
        });
        let _ = tx.send(ticker.clone());
        ticker
    }

    fn activate(self: &Arc<Self>) -> ActiveGuard {
        if self.active.fetch_add(1, Ordering::AcqRel) == 0 {
            self.thread.unpark();
        }
        ActiveGuard(self.clone())
    }
}

/// Shared helper for log lines from a toolset: writes the server log and tells the observer.
pub(crate) fn emit_log(
    toolset: &str,
    source: &str,
    level: LogLevel,
    message: &str,
    budget: &AtomicUsize,
    observer: &dyn CallObserver,
) {
    const MAX_RECORD: usize = 8 * 1024;
    let message = if message.len() > MAX_RECORD {
        let mut end = MAX_RECORD;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        &message[..end]
    } else {
        message
    };
    let cost = message.len().max(1);
    let left = budget.load(Ordering::Relaxed);
    if left < cost {
        if left > 0 {
            budget.store(0, Ordering::Relaxed);
            tracing::warn!(
                toolset,
                "log budget of this call used up; further output dropped"
            );
        }
        return;
    }
    budget.fetch_sub(cost, Ordering::Relaxed);
    match level {
        LogLevel::Trace => tracing::trace!(toolset, source, "{message}"),
        LogLevel::Debug => tracing::debug!(toolset, source, "{message}"),
        LogLevel::Info => tracing::info!(toolset, source, "{message}"),
        LogLevel::Warn => tracing::warn!(toolset, source, "{message}"),
        LogLevel::Error => tracing::error!(toolset, source, "{message}"),
    }
    observer.log(level, toolset, message);
}

impl ContentItem {
    fn len(&self) -> u64 {
        match self {
            ContentItem::Text(t) | ContentItem::Json(t) => t.len() as u64,
        }
    }
}
