//! The `obi-mcp` command: serve MCP (stdio or Streamable HTTP), list and call tools, inspect
//! toolset components, check the config.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use obi_mcp::config;
use obi_mcp::mcp::{Hub, HubOptions, ObiServer};
use obi_mcp::runtime::{CallInfo, CallObserver, LogLevel};
use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "obi-mcp",
    version,
    about = "MCP server that deploys and operates OpenTelemetry eBPF Instrumentation (OBI)",
    long_about = "MCP server that deploys and operates OpenTelemetry eBPF Instrumentation (OBI) on this host, \
Kubernetes clusters and Docker. Toolsets are sandboxed WebAssembly components.\n\n\
Without a command, serves MCP over stdio (what MCP clients launch).\n\
Config: --config, else OBI_MCP_CONFIG, else $XDG_CONFIG_HOME/obi-mcp/config.yaml, else built-in defaults."
)]
struct Cli {
    /// Configuration file (YAML).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log level for stderr: error, warn, info, debug, trace (or a tracing filter).
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
    /// Also append logs to this file.
    #[arg(long, global = true, value_name = "FILE")]
    log_file: Option<PathBuf>,
    /// Directory for compiled components (default: $XDG_CACHE_HOME/obi-mcp).
    #[arg(long, global = true, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Directory for toolset state (default: $XDG_STATE_HOME/obi-mcp).
    #[arg(long, global = true, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Compile components on every start instead of using the cache.
    #[arg(long, global = true)]
    no_cache: bool,
    /// Deny every mutating operation and hide tools that are not read-only.
    #[arg(long, global = true)]
    read_only: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve MCP: over stdio (default), or Streamable HTTP with --http.
    ///
    /// Send SIGHUP to reload the config; clients get tools/list_changed when the tools change.
    Serve {
        /// Serve Streamable HTTP at this address (endpoint /mcp), e.g. 127.0.0.1:8765 (port 0 picks one).
        #[arg(long, value_name = "ADDR")]
        http: Option<SocketAddr>,
        /// Allow a non-loopback --http address (there is no authentication: use a proxy that has).
        #[arg(long)]
        allow_remote: bool,
    },
    /// List the tools of every loaded toolset.
    Tools {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Call one tool in-process and print its result (exit 1 when the result is an error).
    Call {
        /// Tool name, e.g. obi_config_validate.
        tool: String,
        /// Arguments as a JSON object.
        #[arg(long, default_value = "{}", value_name = "JSON")]
        args: String,
    },
    /// Work with toolset components.
    Toolset {
        #[command(subcommand)]
        command: ToolsetCommand,
    },
    /// Check or show the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Work with OBI configuration files (usable in CI, no server needed).
    #[command(name = "obi-config")]
    ObiConfig {
        #[command(subcommand)]
        command: ObiConfigCommand,
    },
}

#[derive(Subcommand)]
enum ObiConfigCommand {
    /// Validate an OBI config file as OBI would at startup, plus the problems OBI silently
    /// ignores; prints the findings. Exit 0 when valid (warnings allowed), 1 when invalid,
    /// 2 when the file cannot be read.
    Validate {
        /// The OBI config file (YAML or JSON).
        file: PathBuf,
        /// Where OBI will run: local, container or kubernetes.
        #[arg(long, default_value = "local", value_parser = ["local", "container", "kubernetes"])]
        target: String,
        /// An environment variable OBI will get (NAME=VALUE; repeatable).
        #[arg(long = "env", value_name = "NAME=VALUE")]
        env: Vec<String>,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ToolsetCommand {
    /// Show what a component is, which capabilities it requests, and its tools, resources and
    /// prompts (its sha256 is what `toolsets.extra[].sha256` pins).
    Inspect {
        /// The component (.wasm).
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a config file (default: the one obi-mcp would use); exit 1 when it is invalid.
    Check {
        /// The file to check.
        file: Option<PathBuf>,
    },
    /// Print the effective configuration (file + defaults + legacy environment) as YAML.
    Show,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = config::process_env();
    if let Some(Command::Config { command }) = &cli.command {
        return config_command(command, cli.config.as_deref(), &env);
    }
    if let Some(Command::ObiConfig { command }) = &cli.command {
        return obi_config_command(command);
    }
    let loaded = match config::load(cli.config.as_deref(), &env) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("obi-mcp: error: {e}");
            return ExitCode::from(2);
        }
    };
    let level = cli
        .log_level
        .clone()
        .or_else(|| loaded.config.server.log_level.clone())
        .unwrap_or_else(|| "info".into());
    let log_file = cli
        .log_file
        .clone()
        .or_else(|| loaded.config.server.log_file.clone());
    if let Err(e) = obi_mcp::logging::init(&level, log_file.as_deref()) {
        eprintln!("obi-mcp: error: {e:#}");
        return ExitCode::from(2);
    }
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    tracing::debug!(config = %loaded.source, "configuration loaded");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("obi-mcp: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = HubOptions {
        config_path: cli.config.clone(),
        cache_dir: cli.cache_dir.clone(),
        state_dir: cli.state_dir.clone(),
        no_cache: cli.no_cache,
        read_only: cli.read_only,
    };
    let result = runtime.block_on(async move {
        match cli.command {
            None => serve(loaded, options, None, false).await,
            Some(Command::Serve { http, allow_remote }) => {
                serve(loaded, options, http, allow_remote).await
            }
            Some(Command::Tools { json }) => tools(loaded, options, json).await,
            Some(Command::Call { tool, args }) => call(loaded, options, &tool, &args).await,
            Some(Command::Toolset {
                command: ToolsetCommand::Inspect { file, json },
            }) => inspect(&file, json).await,
            Some(Command::Config { .. } | Command::ObiConfig { .. }) => {
                unreachable!("handled above")
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("obi-mcp: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn config_command(
    command: &ConfigCommand,
    global: Option<&std::path::Path>,
    env: &config::Env,
) -> ExitCode {
    let file = match command {
        ConfigCommand::Check { file } => file.as_deref().or(global),
        ConfigCommand::Show => global,
    };
    match config::load(file, env) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("obi-mcp: warning: {w}");
            }
            let mut out = std::io::stdout().lock();
            match command {
                ConfigCommand::Check { .. } => {
                    let _ = writeln!(out, "ok: {} is valid", loaded.source);
                }
                ConfigCommand::Show => {
                    let mut c = loaded.config.clone();
                    c.server.cache_dir = Some(c.cache_dir(env));
                    c.server.state_dir = Some(c.state_dir(env));
                    let _ = writeln!(out, "# source: {}", loaded.source);
                    let _ = write!(out, "{}", serde_norway::to_string(&c).unwrap_or_default());
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("obi-mcp: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn obi_config_command(command: &ObiConfigCommand) -> ExitCode {
    let ObiConfigCommand::Validate {
        file,
        target,
        env,
        json,
    } = command;
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("obi-mcp: error: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let mut opts = obi_config::ValidateOptions {
        target: match target.as_str() {
            "container" => obi_config::Target::Container,
            "kubernetes" => obi_config::Target::Kubernetes,
            _ => obi_config::Target::Local,
        },
        ..Default::default()
    };
    for kv in env {
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                opts.env.insert(k.to_string(), v.to_string());
            }
            _ => {
                eprintln!("obi-mcp: error: --env {kv:?} must be NAME=VALUE");
                return ExitCode::from(2);
            }
        }
    }
    let report = obi_config::validate_text(&text, &opts);
    let mut out = std::io::stdout().lock();
    if *json {
        let value = serde_json::json!({
            "file": file.display().to_string(),
            "valid": report.is_valid(),
            "errors": report.errors(),
            "warnings": report.warnings(),
            "findings": report.findings,
        });
        let _ = writeln!(out, "{value:#}");
    } else {
        let _ = writeln!(out, "{}: {}", file.display(), report.summary());
    }
    if report.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("install SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

fn spawn_reload_on_sighup(hub: Arc<Hub>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the configuration");
            match hub.reload().await {
                Ok(changed) => tracing::info!(tools_changed = changed, "configuration reloaded"),
                Err(e) => tracing::error!("reload failed, keeping the current toolsets: {e:#}"),
            }
        }
    });
}

/// How long after start `serve` asks the toolsets whether they can work here (logged only).
const AVAILABILITY_CHECK_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

async fn serve(
    loaded: config::Loaded,
    options: HubOptions,
    http: Option<SocketAddr>,
    allow_remote: bool,
) -> anyhow::Result<ExitCode> {
    let hub = Hub::start(loaded, options).await?;
    spawn_reload_on_sighup(hub.clone());
    // Ask every toolset whether it can work here once start-up has settled: never delaying the
    // client's first requests, and not loading components on the start-up path.
    let checker = hub.clone();
    tokio::spawn(async move {
        tokio::time::sleep(AVAILABILITY_CHECK_DELAY).await;
        checker.check_availability().await
    });
    if let Some(addr) = http {
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            stop.cancel();
        });
        obi_mcp::mcp::http::serve(hub, addr, allow_remote, shutdown).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let (reader, writer) = rmcp::transport::io::stdio_pipes();
    let transport = obi_mcp::mcp::transport::LineTransport::new(reader, writer);
    let server = ObiServer::new(hub);
    tokio::select! {
        running = server.serve(transport) => {
            match running {
                Ok(service) => {
                    tokio::select! {
                        r = service.waiting() => {
                            if let Err(e) = r { tracing::debug!("session ended: {e}"); }
                        }
                        _ = shutdown_signal() => {}
                    }
                }
                // EOF or a broken stream before initialization completed.
                Err(e) => tracing::debug!("session ended before initialization: {e}"),
            }
        }
        _ = shutdown_signal() => {}
    }
    tracing::debug!("stdin closed; exiting");
    // Exit now: in-flight calls are abandoned with the session, and a blocking stdin read must
    // not hold the process open.
    std::process::exit(0);
}

async fn tools(
    loaded: config::Loaded,
    options: HubOptions,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let hub = Hub::start(loaded, options).await?;
    hub.check_availability().await;
    let registry = hub.registry();
    let mut out = std::io::stdout().lock();
    if json {
        let tools: Vec<serde_json::Value> = registry
            .toolsets
            .iter()
            .flat_map(|ts| {
                let registry = &registry;
                ts.meta
                    .tools
                    .iter()
                    .filter(|t| registry.tool(&t.name).is_some())
                    .map(move |t| {
                        serde_json::json!({
                            "name": t.name, "toolset": ts.meta.name, "title": t.title,
                            "readOnly": t.read_only, "destructive": t.destructive,
                            "description": t.description,
                        })
                    })
            })
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "tools": tools,
                "toolsets": registry.toolsets.iter().map(|ts| serde_json::json!({
                    "name": ts.meta.name, "version": ts.meta.version, "origin": ts.origin.to_string(),
                    "sha256": ts.sha256, "granted": ts.shared.grants.granted_names(),
                    "unavailable": hub.availability(&ts.meta.name).flatten(),
                })).collect::<Vec<_>>(),
                "refused": registry.refused.iter().map(|(l, r)| serde_json::json!({"toolset": l, "reason": r})).collect::<Vec<_>>(),
            }))?
        )?;
    } else {
        for ts in &registry.toolsets {
            let availability = match hub.availability(&ts.meta.name) {
                Some(Some(reason)) => format!("  UNAVAILABLE: {reason}"),
                _ => String::new(),
            };
            writeln!(
                out,
                "{} {} ({})  granted: [{}]{availability}",
                ts.meta.name,
                ts.meta.version,
                ts.origin,
                ts.shared.grants.granted_names().join(", ")
            )?;
            for t in ts
                .meta
                .tools
                .iter()
                .filter(|t| registry.tool(&t.name).is_some())
            {
                let mode = if t.read_only {
                    "read-only"
                } else if t.destructive {
                    "destructive"
                } else {
                    "writes"
                };
                writeln!(
                    out,
                    "  {:<32} {:<11} {}",
                    t.name,
                    mode,
                    t.title.as_deref().unwrap_or("")
                )?;
            }
        }
        for (label, reason) in &registry.refused {
            writeln!(out, "refused {label}: {reason}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints progress and toolset logs of an in-process call to stderr.
struct StderrObserver;

impl CallObserver for StderrObserver {
    fn progress(
        &self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> obi_mcp::runtime::futures_lite::BoxedFuture<()> {
        let total = total.map(|t| format!("/{t}")).unwrap_or_default();
        eprintln!("progress {progress}{total} {}", message.unwrap_or_default());
        Box::pin(async {})
    }
    fn wants_progress(&self) -> bool {
        true
    }
    fn log(&self, _: LogLevel, _: &str, _: &str) {}
}

async fn call(
    loaded: config::Loaded,
    options: HubOptions,
    tool: &str,
    args: &str,
) -> anyhow::Result<ExitCode> {
    let args: serde_json::Value =
        serde_json::from_str(args).map_err(|e| anyhow::anyhow!("--args is not valid JSON: {e}"))?;
    let serde_json::Value::Object(args) = args else {
        anyhow::bail!("--args must be a JSON object, e.g. '{{\"verbose\": true}}'");
    };
    let hub = Hub::start(loaded, options).await?;
    let info = CallInfo {
        request_id: "cli".into(),
        client_name: Some("obi-mcp call".into()),
    };
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        stop.cancel();
    });
    match hub
        .call_tool(tool, args, &info, Arc::new(StderrObserver), &cancel)
        .await
    {
        Ok(result) => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", serde_json::to_string_pretty(&result)?)?;
            Ok(if result.is_error == Some(true) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Err(e) => {
            eprintln!("obi-mcp: error: {}", e.message);
            Ok(ExitCode::from(2))
        }
    }
}

async fn inspect(file: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let report = match obi_mcp::inspect::inspect(file).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("obi-mcp: {} cannot be loaded: {e:#}", file.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let m = &report.meta;
    writeln!(out, "toolset:     {} {}", m.name, m.version)?;
    writeln!(out, "file:        {} ({} bytes)", report.path, report.size)?;
    writeln!(out, "sha256:      {}", report.sha256)?;
    writeln!(
        out,
        "wit:         obi:toolset@{}",
        report.wit_version.as_deref().unwrap_or("?")
    )?;
    writeln!(out, "description: {}", m.description)?;
    writeln!(out, "imports:     {}", report.imports.join(", "))?;
    writeln!(out, "capabilities requested:")?;
    if report.capabilities.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for (name, reason, known) in &report.capabilities {
        let note = if *known {
            ""
        } else {
            "  [unknown to this obi-mcp]"
        };
        writeln!(out, "  {name}: {reason}{note}")?;
    }
    writeln!(out, "tools:")?;
    for t in &m.tools {
        let mut flags = Vec::new();
        if t.read_only {
            flags.push("read-only");
        }
        if t.destructive {
            flags.push("destructive");
        }
        if t.idempotent {
            flags.push("idempotent");
        }
        if t.open_world {
            flags.push("open-world");
        }
        writeln!(
            out,
            "  {} [{}]: {}",
            t.name,
            flags.join(", "),
            t.description
        )?;
    }
    if !m.resources.is_empty() || !m.templates.is_empty() {
        writeln!(out, "resources:")?;
        for r in &m.resources {
            writeln!(out, "  {} ({})", r.uri, r.name)?;
        }
        for t in &m.templates {
            writeln!(out, "  {} ({}, template)", t.uri_template, t.name)?;
        }
    }
    if !m.prompts.is_empty() {
        writeln!(out, "prompts:")?;
        for p in &m.prompts {
            writeln!(out, "  {}: {}", p.name, p.description)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
