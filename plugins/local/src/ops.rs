//! The process tools: deploy, status, config get/update, logs, stop. The deployment record
//! lives in `state` (key [`DEPLOYMENT_KEY`]); processes, files and logs go through the host's
//! `process` capability.

use std::collections::BTreeMap;

use obi_config::{Finding, Severity, Target, ValidateOptions};
use obi_toolset_sdk::prelude::*;
use obi_toolset_sdk::process::{
    self, ExitInfo, LogQuery, ProcessRecord, ProcessState, SpawnRequest, StopMethod,
};
use serde_json::{Map, Value};

use crate::preflight::{self, Preflight};

/// State key of the (single) local deployment.
pub const DEPLOYMENT_KEY: &str = "deployment/default";
/// Deployment name (names the log file).
pub const DEPLOYMENT: &str = "default";
/// How long deploy watches a fresh OBI before calling it up.
pub const STARTUP_GRACE_MS: u64 = 1500;
/// Added to OBI's `shutdown_timeout` before SIGKILL.
pub const STOP_MARGIN_MS: u64 = 5000;
/// OBI's default `shutdown_timeout`.
pub const DEFAULT_SHUTDOWN_MS: u64 = 10_000;
/// How far back from the end of the log status and deploy look for error lines.
pub const ERROR_SCAN_BYTES: u64 = 256 * 1024;
/// Attempts of a compare-and-swap config update before giving up.
const UPDATE_ATTEMPTS: usize = 16;

/// `toolsets.local` as the toolset sees it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The OBI binary.
    pub binary_path: Option<String>,
    /// Start OBI through `sudo -n` when not root.
    pub use_sudo: bool,
    /// Offer the earlier obi-mcp's tool names.
    pub legacy_tools: Option<bool>,
}

/// Reads the settings.
pub fn settings() -> Settings {
    config::get::<Settings>().unwrap_or_default()
}

/// What the toolset remembers about the deployment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    /// The process.
    pub record: ProcessRecord,
    /// The config file OBI reads.
    pub config_path: String,
    /// True when obi-mcp generated the file (under its work dir), false for a user's file.
    pub config_managed: bool,
    /// The binary (canonical path).
    pub binary: String,
    /// Environment given on top of `OTEL_EBPF_CONFIG_PATH`.
    pub extra_env: BTreeMap<String, String>,
    /// Started through sudo.
    pub use_sudo: bool,
}

/// Loads the deployment record.
pub fn load() -> Result<Option<Deployment>, ToolError> {
    Ok(state::get_json::<Deployment>(DEPLOYMENT_KEY)?)
}

fn findings_text(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            let at = if f.path.is_empty() {
                "(config)"
            } else {
                &f.path
            };
            format!("- {}: {at}: {}", f.severity, f.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn opts(env: &BTreeMap<String, String>, config_path: &str) -> ValidateOptions {
    let mut env = env.clone();
    env.insert(
        obi_config::facts::CONFIG_PATH_ENV.to_string(),
        config_path.to_string(),
    );
    ValidateOptions {
        target: Target::Local,
        env,
    }
}

/// A merge patch that turns `from` into `to` (RFC 7386: `null` deletes).
pub fn diff_patch(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let mut patch = Map::new();
            for (k, av) in a {
                match b.get(k) {
                    None => {
                        patch.insert(k.clone(), Value::Null);
                    }
                    Some(bv) if bv != av => {
                        let sub = if av.is_object() && bv.is_object() {
                            diff_patch(av, bv)
                        } else {
                            bv.clone()
                        };
                        patch.insert(k.clone(), sub);
                    }
                    Some(_) => {}
                }
            }
            for (k, bv) in b {
                if !a.contains_key(k) {
                    patch.insert(k.clone(), bv.clone());
                }
            }
            Value::Object(patch)
        }
        _ => to.clone(),
    }
}

fn exit_text(e: &ExitInfo) -> String {
    match (e.code, e.signal) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "exit status unknown (it ended while obi-mcp was not its parent)".into(),
    }
}

fn managed_config_path() -> Result<String, ToolError> {
    Ok(format!(
        "{}/{DEPLOYMENT}/obi-config.yml",
        process::work_dir()?
    ))
}

/// Most recent error lines of the log (slog `level=ERROR`, or Go's default logger's ` ERROR `
/// lines from before OBI's logger is set up).
pub fn error_lines(log_path: &str, n: u32) -> Vec<String> {
    let q = |min_level: Option<&str>, grep: Option<&str>| LogQuery {
        lines: n,
        min_level: min_level.map(str::to_string),
        since_ms: None,
        grep: grep.map(str::to_string),
        // Error lines are recent; never scan a huge log for them (status stays fast).
        max_scan_bytes: ERROR_SCAN_BYTES,
    };
    let mut lines = process::read_log(log_path, &q(Some("ERROR"), None))
        .map(|p| p.lines)
        .unwrap_or_default();
    if lines.is_empty() {
        lines = process::read_log(log_path, &q(None, Some(" ERROR ")))
            .map(|p| p.lines)
            .unwrap_or_default();
    }
    lines
}

/// Why a fresh OBI ended: its error lines, else (`sudo: a password is required`, a crash
/// without a log level) the last lines of its log.
fn failure_lines(log_path: &str, n: u32) -> Vec<String> {
    let lines = error_lines(log_path, n);
    if !lines.is_empty() {
        return lines;
    }
    process::read_log(
        log_path,
        &LogQuery {
            lines: n,
            max_scan_bytes: ERROR_SCAN_BYTES,
            ..Default::default()
        },
    )
    .map(|p| p.lines)
    .unwrap_or_default()
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

/// Arguments of `obi_local_deploy`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeployArgs {
    /// OBI configuration as an object (the JSON form of OBI's YAML file). Written to
    /// `configPath` when given (a user's file is updated in place, keeping its comments, with a
    /// `.bak` backup), else to a file obi-mcp manages.
    pub config: Option<Map<String, Value>>,
    /// An OBI config file to run with (absolute path, `.yml`/`.yaml`/`.json`).
    pub config_path: Option<String>,
    /// The OBI binary; must be one the operator granted (default: `toolsets.local.binary_path`,
    /// else `obi` or `ebpf-instrument` on PATH).
    pub binary_path: Option<String>,
    /// Extra environment variables for OBI (`OTEL_EBPF_*`, `OTEL_EXPORTER_OTLP_*`); they
    /// override the file, as in OBI.
    pub extra_env: Option<BTreeMap<String, String>>,
    /// Validate and run the preflight, and report what would be done, without writing or
    /// starting anything.
    pub dry_run: Option<bool>,
}

/// Result of `obi_local_deploy`.
#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeployOutcome {
    /// `running`, `failed`, `refused` or `dry-run`.
    pub outcome: String,
    /// One readable paragraph.
    pub message: String,
    /// Process id when started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The command line (no shell).
    pub command: Vec<String>,
    /// Environment given to OBI.
    pub env: BTreeMap<String, String>,
    /// The config file OBI reads.
    pub config_path: String,
    /// Whether the config file is (or would be) written.
    pub config_written: bool,
    /// Validation findings.
    pub findings: Vec<Finding>,
    /// Preflight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preflight: Option<Preflight>,
    /// OBI's exit code when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// OBI's own error lines when it failed.
    pub error_lines: Vec<String>,
    /// OBI's log file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_path: Option<String>,
}

fn outcome_result(out: DeployOutcome, is_error: bool) -> Result<CallResult, ToolError> {
    let mut text = out.message.clone();
    if !out.error_lines.is_empty() {
        text.push_str("\n\nOBI's error lines:\n");
        text.push_str(&out.error_lines.join("\n"));
    }
    Ok(CallResult::new(vec![Content::text(text), Content::json(&out)?]).with_error(is_error))
}

/// The config document and text a deploy runs with, and what must be written.
struct Plan {
    path: String,
    managed: bool,
    document: Value,
    /// New text and the fingerprint the file must still have (`""`: must not exist).
    write: Option<(String, String)>,
}

fn plan_config(args: &DeployArgs) -> Result<Plan, ToolError> {
    match (&args.config, &args.config_path) {
        (Some(config), Some(path)) => {
            let desired = Value::Object(config.clone());
            match process::read_config(path) {
                Ok(current) => {
                    let doc = obi_config::parse_yaml(&current.text).map_err(|e| {
                        ToolError::failed(format!(
                            "{path} is not a valid OBI config ({e}); fix or move it, or omit configPath"
                        ))
                    })?;
                    let patch = diff_patch(&doc, &desired);
                    let updated =
                        obi_config::update_yaml(&current.text, &patch, &ValidateOptions::default())
                            .map_err(|e| ToolError::failed(e.to_string()))?;
                    let write = (!updated.changed_paths.is_empty())
                        .then_some((updated.text, current.sha256));
                    Ok(Plan {
                        path: path.clone(),
                        managed: false,
                        document: updated.document,
                        write,
                    })
                }
                Err(HostError::NotFound(_)) => Ok(Plan {
                    path: path.clone(),
                    managed: false,
                    write: Some((render(&desired)?, String::new())),
                    document: desired,
                }),
                Err(e) => Err(e.into()),
            }
        }
        (None, Some(path)) => {
            let current = process::read_config(path)?;
            let document = obi_config::parse_yaml(&current.text).unwrap_or(Value::Null);
            Ok(Plan {
                path: path.clone(),
                managed: false,
                document,
                write: None,
            })
        }
        (config, None) => {
            let desired = match config {
                Some(c) => Value::Object(c.clone()),
                None => config::obi().ok_or_else(|| {
                    ToolError::invalid_arguments(
                        "give the OBI configuration as `config` (an object) or `configPath` (a file), or set the `obi:` section of the obi-mcp config",
                    )
                })?,
            };
            let path = managed_config_path()?;
            let text = render(&desired)?;
            let expected = match process::read_config(&path) {
                Ok(c) if c.text == text => None,
                Ok(c) => Some(c.sha256),
                Err(_) => Some(String::new()),
            };
            Ok(Plan {
                path,
                managed: true,
                document: desired,
                write: expected.map(|sha| (text, sha)),
            })
        }
    }
}

fn render(doc: &Value) -> Result<String, ToolError> {
    obi_config::to_yaml(doc).map_err(|e| ToolError::failed(format!("cannot render YAML: {e}")))
}

/// Watches a fresh process for the startup grace period.
fn watch_startup(record: &ProcessRecord) -> Result<ProcessState, ToolError> {
    let mut waited = 0;
    loop {
        let state = process::status(record)?;
        if !matches!(state, ProcessState::Running(_)) || waited >= STARTUP_GRACE_MS {
            return Ok(state);
        }
        sleep_ms(50);
        waited += 50;
    }
}

/// How a start failed: how OBI ended and its error lines.
type StartFailure = Option<(ExitInfo, Vec<String>)>;

/// Starts OBI for a deployment and watches it start; returns the new record and an error
/// description when it did not stay up.
fn start(dep: &Deployment) -> Result<(ProcessRecord, StartFailure), ToolError> {
    let mut env: Vec<(String, String)> = dep
        .extra_env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.push((
        obi_config::facts::CONFIG_PATH_ENV.to_string(),
        dep.config_path.clone(),
    ));
    let record = process::spawn(&SpawnRequest {
        executable: dep.binary.clone(),
        args: vec![format!("--config={}", dep.config_path)],
        env,
        deployment: DEPLOYMENT.into(),
        use_sudo: dep.use_sudo,
        max_log_bytes: 0,
    })?;
    let mut saved = dep.clone();
    saved.record = record.clone();
    state::set_json(DEPLOYMENT_KEY, &saved)?;
    match watch_startup(&record)? {
        ProcessState::Running(_) => Ok((record, None)),
        ProcessState::Exited(exit) => {
            let lines = failure_lines(&record.log_path, 20);
            Ok((record, Some((exit, lines))))
        }
        ProcessState::Replaced(m) => Ok((
            record,
            Some((ExitInfo::default(), vec![format!("OBI ended at once: {m}")])),
        )),
    }
}

/// `obi_local_deploy`.
pub fn deploy(_ctx: &Context, args: DeployArgs) -> Result<CallResult, ToolError> {
    let s = settings();
    let dry_run = args.dry_run.unwrap_or(false);
    if let Some(dep) = load()?
        && let ProcessState::Running(_) = process::status(&dep.record)?
    {
        return outcome_result(
            DeployOutcome {
                outcome: "refused".into(),
                message: format!(
                    "OBI is already running (pid {}, config {}). Stop it first with obi_local_stop, or change its configuration with obi_local_update_config and restart: true.",
                    dep.record.pid, dep.config_path
                ),
                pid: Some(dep.record.pid),
                config_path: dep.config_path,
                ..Default::default()
            },
            true,
        );
    }
    let extra_env = args.extra_env.clone().unwrap_or_default();
    if let Some(bad) = extra_env.keys().find(|k| {
        k.is_empty() || k.contains('=') || k.as_str() == obi_config::facts::CONFIG_PATH_ENV
    }) {
        return Err(ToolError::invalid_arguments(format!(
            "extraEnv: {bad:?} cannot be set here (OTEL_EBPF_CONFIG_PATH is set from configPath)"
        )));
    }
    let plan = plan_config(&args)?;
    let report = obi_config::validate(&plan.document, &opts(&extra_env, &plan.path));
    let binary =
        process::resolve_executable(args.binary_path.as_deref().or(s.binary_path.as_deref()))?;
    let facts = process::system_facts(Some(&binary))?;
    let pre = preflight::check(&facts, &binary, &plan.document, s.use_sudo);
    let mut env: BTreeMap<String, String> = extra_env.clone();
    env.insert(obi_config::facts::CONFIG_PATH_ENV.into(), plan.path.clone());
    let mut out = DeployOutcome {
        command: vec![binary.clone(), format!("--config={}", plan.path)],
        env,
        config_path: plan.path.clone(),
        config_written: plan.write.is_some(),
        findings: report.findings.clone(),
        preflight: Some(pre.clone()),
        ..Default::default()
    };
    if !report.is_valid() {
        out.outcome = "refused".into();
        out.config_written = false;
        out.message = format!(
            "The OBI configuration has errors, so nothing was written or started (OBI would exit with status 255):\n{}",
            findings_text(&report.findings)
        );
        return outcome_result(out, true);
    }
    if dry_run {
        out.outcome = "dry-run".into();
        out.message = format!(
            "Dry run: would {}start `{}` with OTEL_EBPF_CONFIG_PATH={}. Preflight: {}.",
            if plan.write.is_some() {
                format!("write {} and ", plan.path)
            } else {
                String::new()
            },
            out.command.join(" "),
            plan.path,
            if pre.ok { "passed" } else { "FAILED" }
        );
        return outcome_result(out, false);
    }
    if !pre.ok {
        out.outcome = "refused".into();
        out.config_written = false;
        let errors: Vec<&str> = pre
            .checks
            .iter()
            .filter(|c| c.severity == "error")
            .map(|c| c.message.as_str())
            .collect();
        out.message = format!(
            "Preflight failed, OBI was not started:\n{}",
            errors.join("\n")
        );
        return outcome_result(out, true);
    }
    if let Some((text, expected)) = &plan.write {
        process::write_config(&plan.path, text, Some(expected))?;
    }
    let euid_root = facts.euid == 0;
    let dep = Deployment {
        record: ProcessRecord {
            pid: 0,
            start_ticks: 0,
            executable: binary.clone(),
            args: Vec::new(),
            log_path: String::new(),
            started_at_ms: 0,
        },
        config_path: plan.path.clone(),
        config_managed: plan.managed,
        binary: binary.clone(),
        extra_env,
        use_sudo: s.use_sudo && !euid_root,
    };
    let (record, failure) = start(&dep)?;
    out.pid = Some(record.pid);
    out.log_path = Some(record.log_path.clone());
    match failure {
        None => {
            out.outcome = "running".into();
            let warnings = report.warnings();
            out.message = format!(
                "OBI is running (pid {}) with config {}{}. Logs: {} (obi_local_logs).",
                record.pid,
                plan.path,
                if warnings > 0 {
                    format!(" ({warnings} warning(s) in the config; see findings)")
                } else {
                    String::new()
                },
                record.log_path
            );
            outcome_result(out, false)
        }
        Some((exit, lines)) => {
            out.outcome = "failed".into();
            out.exit_code = exit.code;
            out.message = format!("OBI exited right after starting ({}).", exit_text(&exit));
            if dep.use_sudo && lines.iter().any(|l| l.contains("password")) {
                out.message.push_str(
                    " sudo asked for a password: add a NOPASSWD sudoers rule for the OBI binary, or give it capabilities with setcap instead.",
                );
            }
            out.error_lines = lines;
            outcome_result(out, true)
        }
    }
}

/// Arguments of `obi_local_status`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusArgs {
    /// Add the preflight (kernel, BTF, privileges) and the host facts.
    #[serde(default)]
    pub verbose: bool,
}

/// Result of `obi_local_status`.
#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// `running`, `exited`, `not-deployed`, or `lost` (the recorded pid now belongs to another
    /// process).
    pub state: String,
    /// One readable line.
    pub summary: String,
    /// Process id.
    pub pid: Option<u32>,
    /// Seconds since start.
    pub uptime_seconds: Option<f64>,
    /// CPU use in percent of one core.
    pub cpu_percent: Option<f64>,
    /// Resident memory in MB.
    pub memory_mb: Option<f64>,
    /// Threads.
    pub threads: Option<u32>,
    /// The config file.
    pub config_path: Option<String>,
    /// The binary.
    pub binary: Option<String>,
    /// The log file.
    pub log_path: Option<String>,
    /// Start time, ms since the Unix epoch.
    pub started_at_ms: Option<u64>,
    /// Exit status when it ended (if obi-mcp saw it).
    pub exit_code: Option<i32>,
    /// Signal that ended it.
    pub exit_signal: Option<i32>,
    /// When it ended, ms since the Unix epoch.
    pub ended_at_ms: Option<u64>,
    /// The most recent error lines of OBI's log.
    pub last_errors: Vec<String>,
    /// Preflight (with `verbose`).
    pub preflight: Option<Preflight>,
    /// Host facts (with `verbose`).
    pub system: Option<process::SystemFacts>,
}

/// `obi_local_status`.
pub fn status(_ctx: &Context, args: StatusArgs) -> Result<Status, ToolError> {
    let mut st = Status::default();
    let dep = load()?;
    if let Some(dep) = &dep {
        st.pid = Some(dep.record.pid);
        st.config_path = Some(dep.config_path.clone());
        st.binary = Some(dep.binary.clone());
        st.log_path = Some(dep.record.log_path.clone());
        st.started_at_ms = Some(dep.record.started_at_ms);
        match process::status(&dep.record)? {
            ProcessState::Running(u) => {
                st.state = "running".into();
                st.uptime_seconds = Some((u.uptime_ms as f64 / 100.0).round() / 10.0);
                st.cpu_percent = Some(u.cpu_percent);
                st.memory_mb = Some((u.rss_bytes as f64 / 1024.0 / 102.4).round() / 10.0);
                st.threads = Some(u.threads);
                st.summary = format!(
                    "OBI is running: pid {}, up {:.0} s, CPU {:.1} %, {:.1} MB, config {}",
                    dep.record.pid,
                    u.uptime_ms as f64 / 1000.0,
                    u.cpu_percent,
                    u.rss_bytes as f64 / 1_048_576.0,
                    dep.config_path
                );
            }
            ProcessState::Exited(e) => {
                st.state = "exited".into();
                st.exit_code = e.code;
                st.exit_signal = e.signal;
                st.ended_at_ms = e.ended_at_ms;
                st.summary = format!(
                    "OBI (pid {}) is not running: {}",
                    dep.record.pid,
                    exit_text(&e)
                );
            }
            ProcessState::Replaced(why) => {
                st.state = "lost".into();
                st.summary = format!(
                    "OBI is not running; its recorded pid was reused by another process ({why}), which obi-mcp leaves alone"
                );
            }
        }
        if !dep.record.log_path.is_empty() {
            st.last_errors = error_lines(&dep.record.log_path, 5);
        }
    } else {
        st.state = "not-deployed".into();
        st.summary =
            "OBI has not been deployed by obi-mcp on this host; use obi_local_deploy".into();
    }
    if args.verbose {
        let s = settings();
        let binary = dep
            .as_ref()
            .map(|d| d.binary.clone())
            .or_else(|| process::resolve_executable(s.binary_path.as_deref()).ok());
        let facts = process::system_facts(binary.as_deref())?;
        let doc = dep
            .as_ref()
            .and_then(|d| process::read_config(&d.config_path).ok())
            .and_then(|c| obi_config::parse_yaml(&c.text).ok())
            .unwrap_or(Value::Object(Map::new()));
        st.preflight = Some(preflight::check(
            &facts,
            binary.as_deref().unwrap_or("obi"),
            &doc,
            s.use_sudo,
        ));
        st.system = Some(facts);
    }
    Ok(st)
}

/// Arguments of `obi_local_get_config`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GetConfigArgs {
    /// A config file to read instead of the deployment's.
    pub config_path: Option<String>,
}

/// Result of `obi_local_get_config`.
#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigView {
    /// Where it comes from: a file path, or `obi-mcp config (obi:)`.
    pub source: String,
    /// The file's text (comments included).
    pub yaml: String,
    /// The parsed configuration.
    pub config: Value,
    /// Validation of the configuration.
    pub valid: bool,
    /// Findings.
    pub findings: Vec<Finding>,
}

fn config_target(path: Option<String>) -> Result<(String, Option<Deployment>), ToolError> {
    let dep = load()?;
    match path {
        Some(p) => Ok((p, dep)),
        None => match &dep {
            Some(d) => Ok((d.config_path.clone(), dep)),
            None => Err(ToolError::not_found(
                "no OBI deployment yet, so no config file; pass configPath, or deploy first",
            )),
        },
    }
}

/// `obi_local_get_config`.
pub fn get_config(_ctx: &Context, args: GetConfigArgs) -> Result<ConfigView, ToolError> {
    let dep = load()?;
    if args.config_path.is_none()
        && dep.is_none()
        && let Some(obi) = config::obi()
    {
        let report = obi_config::validate(&obi, &ValidateOptions::default());
        return Ok(ConfigView {
            source: "obi-mcp config (obi:)".into(),
            yaml: render(&obi)?,
            config: obi,
            valid: report.is_valid(),
            findings: report.findings,
        });
    }
    let (path, dep) = config_target(args.config_path)?;
    let file = process::read_config(&path)?;
    let env = dep.map(|d| d.extra_env).unwrap_or_default();
    let report = obi_config::validate_text(&file.text, &opts(&env, &path));
    Ok(ConfigView {
        source: path,
        config: obi_config::parse_yaml(&file.text).unwrap_or(Value::Null),
        yaml: file.text,
        valid: report.is_valid(),
        findings: report.findings,
    })
}

/// Arguments of `obi_local_update_config`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateArgs {
    /// A JSON merge patch (RFC 7386) over the current configuration: objects merge, `null`
    /// deletes a key, anything else replaces. Keys you do not mention (including ones obi-mcp
    /// does not know) are kept.
    pub config: Map<String, Value>,
    /// Restart OBI after writing, so it reads the new file (OBI reads it only at startup).
    pub restart: Option<bool>,
    /// Only validate the result; write nothing.
    pub validate_only: Option<bool>,
    /// A config file to update instead of the deployment's.
    pub config_path: Option<String>,
}

/// `obi_local_update_config` (and the legacy tool with `merge: false`, which passes a full
/// replacement as `replace`).
pub fn update_config(args: UpdateArgs, replace: bool) -> Result<CallResult, ToolError> {
    let (path, dep) = config_target(args.config_path.clone())?;
    let new_value = Value::Object(args.config.clone());
    let env = dep
        .as_ref()
        .map(|d| d.extra_env.clone())
        .unwrap_or_default();
    let mut attempt = 0;
    let (updated, written) = loop {
        attempt += 1;
        let current = process::read_config(&path)?;
        let patch = if replace {
            let doc = obi_config::parse_yaml(&current.text).unwrap_or(Value::Object(Map::new()));
            diff_patch(&doc, &new_value)
        } else {
            new_value.clone()
        };
        let updated =
            obi_config::update_yaml(&current.text, &patch, &opts(&env, &path)).map_err(|e| {
                ToolError::failed(format!(
                    "the current config file {path} does not parse ({e}); fix it by hand first"
                ))
            })?;
        if !updated.report.is_valid() {
            let text = format!(
                "The updated configuration has errors, so {path} was left unchanged:\n{}",
                findings_text(&updated.report.findings)
            );
            return Ok(CallResult::new(vec![
                Content::text(text),
                Content::json(&serde_json::json!({
                    "updated": false,
                    "valid": false,
                    "configPath": path,
                    "findings": updated.report.findings,
                }))?,
            ])
            .with_error(true));
        }
        if args.validate_only.unwrap_or(false) || updated.changed_paths.is_empty() {
            break (updated, false);
        }
        match process::write_config(&path, &updated.text, Some(&current.sha256)) {
            Ok(_) => break (updated, true),
            Err(HostError::Conflict(_)) if attempt < UPDATE_ATTEMPTS => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let mut message = if args.validate_only.unwrap_or(false) {
        format!(
            "Valid. Would change: {}. Nothing was written.",
            join_or_none(&updated.changed_paths)
        )
    } else if written {
        format!(
            "Updated {path} (changed: {}; previous version kept as {path}.bak{}).",
            join_or_none(&updated.changed_paths),
            if updated.comments_kept {
                ""
            } else {
                "; the file's comments could not be kept"
            }
        )
    } else {
        format!("{path} already has this configuration; nothing changed.")
    };
    let mut restarted = None;
    if written && let Some(dep) = &dep {
        let running = matches!(process::status(&dep.record)?, ProcessState::Running(_));
        if args.restart.unwrap_or(false) {
            if running {
                process::stop(&dep.record, stop_timeout_ms(&dep.config_path), false)?;
            }
            let (record, failure) = start(dep)?;
            match failure {
                None => {
                    message.push_str(&format!(" OBI restarted (pid {}).", record.pid));
                    restarted = Some(record.pid);
                }
                Some((exit, lines)) => {
                    message.push_str(&format!(
                        " OBI was restarted but exited ({}):\n{}",
                        exit_text(&exit),
                        lines.join("\n")
                    ));
                    return Ok(CallResult::text(message).with_error(true));
                }
            }
        } else if running {
            message.push_str(
                " OBI reads its config only at startup: call again with restart: true (or restart it) to apply.",
            );
        }
    }
    let warnings: Vec<&Finding> = updated
        .report
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .collect();
    if !warnings.is_empty() {
        message.push_str(&format!(
            "\nFindings:\n{}",
            findings_text(&warnings.into_iter().cloned().collect::<Vec<_>>())
        ));
    }
    Ok(CallResult::new(vec![
        Content::text(message),
        Content::json(&serde_json::json!({
        "updated": written,
        "valid": true,
        "configPath": path,
        "changedPaths": updated.changed_paths,
        "commentsKept": updated.comments_kept,
        "restartedPid": restarted,
        "findings": updated.report.findings,
        }))?,
    ]))
}

fn join_or_none(paths: &[String]) -> String {
    if paths.is_empty() {
        "nothing".into()
    } else {
        paths.join(", ")
    }
}

/// OBI's `shutdown_timeout` from its config file plus a margin, in ms.
pub fn stop_timeout_ms(config_path: &str) -> u64 {
    let configured = process::read_config(config_path)
        .ok()
        .and_then(|c| obi_config::parse_yaml(&c.text).ok())
        .and_then(|d| {
            d.get("shutdown_timeout")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .and_then(|s| obi_config::parse_go_duration(&s))
        .map(|ns| (ns / 1e6) as u64)
        .unwrap_or(DEFAULT_SHUTDOWN_MS);
    configured + STOP_MARGIN_MS
}

/// Arguments of `obi_local_logs`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsArgs {
    /// How many lines, newest last (default 100, at most 10000).
    pub lines: Option<u32>,
    /// Only lines at this level or above: `debug`, `info`, `warn` or `error` (OBI's slog
    /// `level=WARN` and JSON `"level":"WARN"`).
    pub level: Option<String>,
    /// Only lines since then: an RFC 3339 time (`2026-01-27T17:00:00Z`) or a duration back from
    /// now (`10m`, `1h`, `30s`).
    pub since: Option<String>,
    /// Only lines containing this text.
    pub grep: Option<String>,
}

/// Result of `obi_local_logs`.
#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Logs {
    /// The log file.
    pub log_path: String,
    /// Matching lines, oldest first.
    pub lines: Vec<String>,
    /// Number of lines returned.
    pub count: usize,
    /// Size of the log file in bytes.
    pub file_bytes: u64,
    /// True when the search stopped before the start of a very large file.
    pub truncated: bool,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Parses `since`: RFC 3339, or a Go-style duration back from now.
pub fn parse_since(since: &str, now_ms: u64) -> Option<u64> {
    let s = since.trim();
    if let Some(ns) = obi_config::parse_go_duration(s) {
        return Some(now_ms.saturating_sub((ns / 1e6) as u64));
    }
    parse_rfc3339_ms(s)
}

fn parse_rfc3339_ms(s: &str) -> Option<u64> {
    // YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, m, d, hh, mm, ss) = (
        n(0..4)?,
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    );
    let mut i = 19;
    let mut ms = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        ms = format!("{:0<3}", &s[start..i])[..3].parse().ok()?;
    }
    let off = match b.get(i)? {
        b'Z' | b'z' => 0,
        c @ (b'+' | b'-') => {
            let v = n(i + 1..i + 3)? * 3600 + n(i + 4..i + 6)? * 60;
            if *c == b'+' { v } else { -v }
        }
        _ => return None,
    };
    let (yy, mm2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss - off;
    u64::try_from(secs * 1000 + ms).ok()
}

/// Normalizes a level name to OBI's (`warning` -> `WARN`).
pub fn normalize_level(level: &str) -> Result<String, ToolError> {
    match level.trim().to_ascii_uppercase().as_str() {
        "DEBUG" | "TRACE" | "ALL" => Ok("DEBUG".into()),
        "INFO" => Ok("INFO".into()),
        "WARN" | "WARNING" => Ok("WARN".into()),
        "ERROR" | "ERR" => Ok("ERROR".into()),
        other => Err(ToolError::invalid_arguments(format!(
            "level: unknown level {other:?}; use debug, info, warn or error"
        ))),
    }
}

/// `obi_local_logs`.
pub fn logs(_ctx: &Context, args: LogsArgs) -> Result<Logs, ToolError> {
    let Some(dep) = load()? else {
        return Err(ToolError::not_found(
            "no OBI deployment yet, so no logs; use obi_local_deploy",
        ));
    };
    let since_ms = match args.since.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(parse_since(s, now_ms()).ok_or_else(|| {
            ToolError::invalid_arguments(format!(
                "since: {s:?} is neither an RFC 3339 time nor a duration like 10m"
            ))
        })?),
        None => None,
    };
    let min_level = args.level.as_deref().map(normalize_level).transpose()?;
    let page = process::read_log(
        &dep.record.log_path,
        &LogQuery {
            lines: args.lines.unwrap_or(100).clamp(1, 10_000),
            min_level,
            since_ms,
            grep: args.grep,
            max_scan_bytes: 0,
        },
    )?;
    Ok(Logs {
        log_path: dep.record.log_path,
        count: page.lines.len(),
        lines: page.lines,
        file_bytes: page.file_bytes,
        truncated: page.truncated,
    })
}

/// Arguments of `obi_local_stop`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopArgs {
    /// Kill at once with SIGKILL instead of asking OBI to shut down.
    pub force: Option<bool>,
    /// Seconds to wait after SIGTERM before SIGKILL (default: OBI's `shutdown_timeout` + 5 s).
    pub timeout: Option<f64>,
}

/// Result of `obi_local_stop`.
#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stopped {
    /// `terminated` (SIGTERM was enough), `killed` (SIGKILL was needed or forced),
    /// `already-exited`, or `not-deployed`.
    pub method: String,
    /// One readable line.
    pub message: String,
    /// The pid.
    pub pid: Option<u32>,
    /// Milliseconds until it was gone.
    pub waited_ms: u64,
    /// Exit status.
    pub exit_code: Option<i32>,
    /// Terminating signal.
    pub exit_signal: Option<i32>,
}

/// `obi_local_stop`.
pub fn stop(_ctx: &Context, args: StopArgs) -> Result<Stopped, ToolError> {
    let Some(dep) = load()? else {
        return Ok(Stopped {
            method: "not-deployed".into(),
            message: "OBI was not deployed by obi-mcp on this host; nothing to stop".into(),
            ..Default::default()
        });
    };
    let timeout_ms = match args.timeout {
        Some(t) if t.is_finite() && t >= 0.0 => (t * 1000.0) as u64,
        Some(_) => {
            return Err(ToolError::invalid_arguments(
                "timeout: must be seconds >= 0",
            ));
        }
        None => stop_timeout_ms(&dep.config_path),
    };
    let o = process::stop(&dep.record, timeout_ms, args.force.unwrap_or(false))?;
    let method = match o.method {
        StopMethod::AlreadyExited => "already-exited",
        StopMethod::Terminated => "terminated",
        StopMethod::Killed => "killed",
    };
    let message = match o.method {
        StopMethod::AlreadyExited => format!(
            "OBI (pid {}) was not running ({})",
            dep.record.pid,
            exit_text(&o.exit)
        ),
        StopMethod::Terminated => format!(
            "OBI (pid {}) shut down after SIGTERM in {} ms ({})",
            dep.record.pid,
            o.waited_ms,
            exit_text(&o.exit)
        ),
        StopMethod::Killed => format!(
            "OBI (pid {}) was killed with SIGKILL after {} ms{}",
            dep.record.pid,
            o.waited_ms,
            if args.force.unwrap_or(false) {
                " (force)".to_string()
            } else {
                format!(" because it ignored SIGTERM for {} ms", timeout_ms)
            }
        ),
    };
    Ok(Stopped {
        method: method.into(),
        message,
        pid: Some(dep.record.pid),
        waited_ms: o.waited_ms,
        exit_code: o.exit.code,
        exit_signal: o.exit.signal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_patch_turns_one_document_into_the_other() {
        let a = json!({"keep": 1, "drop": 2, "nest": {"x": 1, "y": 2}, "list": [1]});
        let b = json!({"keep": 1, "nest": {"x": 1, "y": 3, "z": 4}, "list": [2], "new": true});
        let p = diff_patch(&a, &b);
        assert_eq!(
            p,
            json!({"drop": null, "nest": {"y": 3, "z": 4}, "list": [2], "new": true})
        );
        let mut merged = a.clone();
        obi_config::merge_patch(&mut merged, &p);
        assert_eq!(merged, b);
    }

    #[test]
    fn since_accepts_durations_and_rfc3339() {
        assert_eq!(parse_since("10m", 1_000_000), Some(400_000));
        assert_eq!(
            parse_since("2026-01-27T17:21:20.197Z", 0),
            Some(1_769_534_480_197)
        );
        assert_eq!(
            parse_since("2026-01-27T18:21:20+01:00", 0),
            Some(1_769_534_480_000)
        );
        assert_eq!(parse_since("soon", 0), None);
    }

    #[test]
    fn levels_are_normalized() {
        assert_eq!(normalize_level("warning").unwrap(), "WARN");
        assert_eq!(normalize_level("error").unwrap(), "ERROR");
        assert!(normalize_level("loud").is_err());
    }
}
