//! `process`: start granted executables detached from the server, find them again after a
//! restart (pid + start time + executable, never by name), stop them (SIGTERM, then SIGKILL),
//! read their logs from the end, read and write their configuration files safely, and gather
//! the system facts a preflight needs.
//!
//! The grant lists the executables: `process: true` allows OBI's binaries (`obi`,
//! `ebpf-instrument`) found on PATH; `process: { executables: [/opt/obi/obi], sudo: true }`
//! names them (absolute paths, or bare names looked up on PATH) and allows `sudo -n`. The
//! built-in `local` toolset gets `toolsets.local.binary_path` (else `obi`/`ebpf-instrument`)
//! and `sudo: toolsets.local.use_sudo`. With `--read-only`, starting, stopping and writing are
//! denied. Files the toolset owns (logs, generated configs) live under its work dir,
//! `<state_dir>/<toolset>`.

pub mod facts;
pub mod files;
pub mod logs;
pub mod procfs;
pub mod spawn;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{CapabilityDef, GrantRule};
use crate::runtime::CallState;
use crate::runtime::bindings::obi::toolset::process as wit;
use crate::runtime::bindings::obi::toolset::types::HostError;
use spawn::{ProcessError, ProcessRule, Record, State, StopMethod};

/// The capability name.
pub const NAME: &str = "process";

/// OBI's binary names, allowed by `process: true`.
pub const OBI_BINARIES: &[&str] = &["obi", "ebpf-instrument"];

/// The capability definition.
pub const CAPABILITY: CapabilityDef = CapabilityDef {
    name: NAME,
    summary: "start, watch and stop granted executables (OBI), read their logs and config files \
              (grant: true for obi/ebpf-instrument on PATH, or { executables: [...], sudo: bool })",
    parse: parse_grant,
};

/// Longest stop timeout a toolset may ask for.
pub const MAX_STOP_TIMEOUT: Duration = Duration::from_secs(300);

/// Parses a `process` grant.
pub fn parse_grant(value: &serde_json::Value) -> Result<GrantRule, String> {
    match value {
        serde_json::Value::Bool(true) => Ok(Some(Arc::new(ProcessRule {
            executables: OBI_BINARIES.iter().map(|s| s.to_string()).collect(),
            sudo: false,
        }))),
        serde_json::Value::Bool(false) => Ok(None),
        serde_json::Value::Object(_) => {
            let rule: ProcessRule = serde_json::from_value(value.clone())
                .map_err(|e| format!("expected {{ executables: [...], sudo: bool }}: {e}"))?;
            if rule.executables.is_empty() {
                return Err("`executables` must name at least one executable".into());
            }
            if let Some(bad) = rule
                .executables
                .iter()
                .find(|e| e.is_empty() || (e.contains('/') && !Path::new(e).is_absolute()))
            {
                return Err(format!(
                    "executable {bad:?} must be an absolute path or a bare name"
                ));
            }
            Ok(Some(Arc::new(rule)))
        }
        other => Err(format!(
            "expected true, false or {{ executables: [...], sudo: bool }}, got {other}"
        )),
    }
}

/// The default grant of a first-party toolset that runs OBI: the configured binary, else
/// OBI's names on PATH.
pub fn default_grant(binary_path: Option<&Path>, use_sudo: bool) -> serde_json::Value {
    let executables: Vec<String> = match binary_path {
        Some(p) => vec![p.display().to_string()],
        None => OBI_BINARIES.iter().map(|s| s.to_string()).collect(),
    };
    serde_json::json!({ "executables": executables, "sudo": use_sudo })
}

impl From<ProcessError> for HostError {
    fn from(e: ProcessError) -> Self {
        match e {
            ProcessError::NotAllowed(m) => HostError::Denied(m),
            ProcessError::NotFound(m) => HostError::NotFound(m),
            ProcessError::Invalid(m) => HostError::Invalid(m),
            ProcessError::Failed(m) => HostError::Failed(m),
        }
    }
}

impl From<files::FileError> for HostError {
    fn from(e: files::FileError) -> Self {
        match e {
            files::FileError::Invalid(m) => HostError::Invalid(m),
            files::FileError::NotFound(m) => HostError::NotFound(m),
            files::FileError::Conflict(m) => HostError::Conflict(m),
            files::FileError::Io(m) => HostError::Failed(m),
        }
    }
}

fn record_from(r: wit::ProcessRecord) -> Record {
    Record {
        pid: r.pid,
        start_ticks: r.start_ticks,
        executable: PathBuf::from(r.executable),
        args: r.args,
        log_path: PathBuf::from(r.log_path),
        started_at_ms: r.started_at_ms,
    }
}

fn record_to(r: Record) -> wit::ProcessRecord {
    wit::ProcessRecord {
        pid: r.pid,
        start_ticks: r.start_ticks,
        executable: r.executable.display().to_string(),
        args: r.args,
        log_path: r.log_path.display().to_string(),
        started_at_ms: r.started_at_ms,
    }
}

fn exit_to(e: spawn::ExitInfo) -> wit::ExitInfo {
    wit::ExitInfo {
        code: e.code,
        signal: e.signal,
        ended_at_ms: e.ended_at_ms,
    }
}

impl CallState {
    fn process_grant(&self, subject: impl FnOnce() -> String) -> Result<&ProcessRule, HostError> {
        self.shared
            .grants
            .check::<ProcessRule>(NAME, subject)
            .map_err(|d| HostError::Denied(d.to_string()))
    }

    fn deny_if_read_only(&self, subject: String) -> Result<(), HostError> {
        if self.shared.grants.read_only() {
            return Err(HostError::Denied(
                self.shared
                    .grants
                    .denied(NAME, subject, "the server runs with --read-only".into())
                    .to_string(),
            ));
        }
        Ok(())
    }

    /// A path inside the toolset's log directory, or `denied`.
    fn log_file(&self, path: &str) -> Result<PathBuf, HostError> {
        let logs = self.shared.work_dir.join("logs");
        let p = Path::new(path);
        let canonical = std::fs::canonicalize(p)
            .map_err(|e| HostError::NotFound(format!("log file {path}: {e}")))?;
        let root = std::fs::canonicalize(&logs).unwrap_or(logs);
        if !canonical.starts_with(&root) {
            return Err(HostError::Denied(format!(
                "process: reading {path} is not granted to toolset \"{}\" (only logs under {})",
                self.shared.name,
                root.display()
            )));
        }
        Ok(canonical)
    }
}

impl wit::Host for CallState {
    async fn work_dir(&mut self) -> Result<String, HostError> {
        self.process_grant(|| "use its work dir".into())?;
        let dir = &self.shared.work_dir;
        std::fs::create_dir_all(dir)
            .map_err(|e| HostError::Failed(format!("cannot create {}: {e}", dir.display())))?;
        Ok(dir.display().to_string())
    }

    async fn resolve_executable(
        &mut self,
        executable: Option<String>,
    ) -> Result<String, HostError> {
        let rule = self.process_grant(|| {
            format!(
                "resolve executable {}",
                executable.as_deref().unwrap_or("(default)")
            )
        })?;
        Ok(spawn::resolve(executable.as_deref(), rule)?
            .display()
            .to_string())
    }

    async fn spawn(&mut self, request: wit::SpawnRequest) -> Result<wit::ProcessRecord, HostError> {
        let rule = self
            .process_grant(|| format!("start {}", request.executable))?
            .clone();
        self.deny_if_read_only(format!("start {}", request.executable))?;
        if request.use_sudo && !rule.sudo {
            return Err(HostError::Denied(format!(
                "process: starting through sudo is not granted to toolset \"{}\" (set toolsets.local.use_sudo: true, or sudo: true in its process grant)",
                self.shared.name
            )));
        }
        let executable = spawn::resolve(Some(&request.executable), &rule)?;
        let req = spawn::SpawnRequest {
            executable: request.executable,
            args: request.args,
            env: request.env,
            deployment: request.deployment,
            use_sudo: request.use_sudo,
            max_log_bytes: request.max_log_bytes,
        };
        let work_dir = self.shared.work_dir.clone();
        let record =
            tokio::task::spawn_blocking(move || spawn::spawn(&work_dir, &executable, &req))
                .await
                .map_err(|e| HostError::Failed(format!("spawn task failed: {e}")))??;
        tracing::info!(
            toolset = %self.shared.name,
            pid = record.pid,
            executable = %record.executable.display(),
            "started process"
        );
        Ok(record_to(record))
    }

    async fn status(&mut self, record: wit::ProcessRecord) -> Result<wit::ProcessState, HostError> {
        self.process_grant(|| format!("look at pid {}", record.pid))?;
        let record = record_from(record);
        // Waits (briefly) when this server's watcher is recording the exit.
        let state = tokio::task::spawn_blocking(move || spawn::status(&record))
            .await
            .map_err(|e| HostError::Failed(format!("status task failed: {e}")))?;
        Ok(match state {
            State::Running(u) => wit::ProcessState::Running(wit::Usage {
                cpu_percent: u.cpu_percent,
                rss_bytes: u.rss_bytes,
                uptime_ms: u.uptime_ms,
                threads: u.threads,
            }),
            State::Exited(e) => wit::ProcessState::Exited(exit_to(e)),
            State::Replaced(m) => wit::ProcessState::Replaced(m),
        })
    }

    async fn stop(
        &mut self,
        record: wit::ProcessRecord,
        timeout_ms: u64,
        force: bool,
    ) -> Result<wit::StopOutcome, HostError> {
        self.process_grant(|| format!("stop pid {}", record.pid))?;
        self.deny_if_read_only(format!("stop pid {}", record.pid))?;
        let record = record_from(record);
        let timeout = Duration::from_millis(timeout_ms).min(MAX_STOP_TIMEOUT);
        let (method, waited, exit) = spawn::stop(&record, timeout, force).await?;
        tracing::info!(toolset = %self.shared.name, pid = record.pid, ?method, "stopped process");
        Ok(wit::StopOutcome {
            method: match method {
                StopMethod::AlreadyExited => wit::StopMethod::AlreadyExited,
                StopMethod::Terminated => wit::StopMethod::Terminated,
                StopMethod::Killed => wit::StopMethod::Killed,
            },
            waited_ms: waited.as_millis() as u64,
            exit: exit_to(exit),
        })
    }

    async fn read_log(
        &mut self,
        path: String,
        query: wit::LogQuery,
    ) -> Result<wit::LogPage, HostError> {
        self.process_grant(|| format!("read log {path}"))?;
        let file = self.log_file(&path)?;
        let min_level = match query.min_level.as_deref() {
            None | Some("") => None,
            Some(l) => Some(logs::Level::parse(l).ok_or_else(|| {
                HostError::Invalid(format!(
                    "unknown level {l:?}; use DEBUG, INFO, WARN or ERROR"
                ))
            })?),
        };
        let q = logs::Query {
            lines: query.lines,
            min_level,
            since_ms: query.since_ms,
            grep: query.grep.filter(|g| !g.is_empty()),
            max_scan_bytes: query.max_scan_bytes,
        };
        let page = tokio::task::spawn_blocking(move || logs::tail(&file, &q))
            .await
            .map_err(|e| HostError::Failed(format!("log task failed: {e}")))?
            .map_err(|e| HostError::Failed(format!("cannot read log {path}: {e}")))?;
        Ok(wit::LogPage {
            lines: page.lines,
            scanned_bytes: page.scanned_bytes,
            file_bytes: page.file_bytes,
            truncated: page.truncated,
        })
    }

    async fn read_config(&mut self, path: String) -> Result<wit::FileContent, HostError> {
        self.process_grant(|| format!("read config file {path}"))?;
        let (text, sha256) = files::read_config(&path)?;
        Ok(wit::FileContent { text, sha256 })
    }

    async fn write_config(
        &mut self,
        path: String,
        text: String,
        expected_sha256: Option<String>,
    ) -> Result<String, HostError> {
        self.process_grant(|| format!("write config file {path}"))?;
        self.deny_if_read_only(format!("write config file {path}"))?;
        let sha = files::write_config(&path, &text, expected_sha256.as_deref())?;
        tracing::info!(toolset = %self.shared.name, path = %path, "wrote config file (previous version kept as .bak)");
        Ok(sha)
    }

    async fn system_facts(&mut self, binary: Option<String>) -> Result<wit::HostFacts, HostError> {
        self.process_grant(|| "read system facts".into())?;
        let f = facts::gather(binary.as_deref().map(Path::new));
        Ok(wit::HostFacts {
            kernel_release: f.kernel_release,
            btf: f.btf,
            euid: f.euid,
            server_capabilities: f.server_capabilities,
            binary_capabilities: f.binary_capabilities,
            binary_capabilities_effective: f.binary_capabilities_effective,
            perf_event_paranoid: f.perf_event_paranoid,
            os_id: f.os_id,
            os_id_like: f.os_id_like,
            os_version: f.os_version,
            os_pretty_name: f.os_pretty_name,
            arch: f.arch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_grants_obis_binaries_and_false_nothing() {
        let rule = parse_grant(&true.into()).unwrap().unwrap();
        let rule = rule.downcast_ref::<ProcessRule>().unwrap();
        assert_eq!(rule.executables, vec!["obi", "ebpf-instrument"]);
        assert!(!rule.sudo);
        assert!(parse_grant(&false.into()).unwrap().is_none());
    }

    #[test]
    fn mapping_grant_is_checked() {
        let ok = parse_grant(&serde_json::json!({"executables": ["/opt/obi/obi"], "sudo": true}))
            .unwrap()
            .unwrap();
        assert!(ok.downcast_ref::<ProcessRule>().unwrap().sudo);
        for bad in [
            serde_json::json!({"executables": []}),
            serde_json::json!({"executables": ["bin/obi"]}),
            serde_json::json!({"executable": ["obi"]}),
            serde_json::json!("obi"),
        ] {
            assert!(parse_grant(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_grant_prefers_the_configured_binary() {
        assert_eq!(
            default_grant(Some(Path::new("/opt/obi")), true),
            serde_json::json!({"executables": ["/opt/obi"], "sudo": true})
        );
        assert_eq!(
            default_grant(None, false)["executables"],
            serde_json::json!(["obi", "ebpf-instrument"])
        );
    }

    #[test]
    fn denied_without_grant_names_capability_and_subject() {
        let grants = super::super::Grants::new(
            "acme".into(),
            vec!["process".to_string()],
            &Default::default(),
            "toolsets.extra[0]".into(),
            false,
        )
        .unwrap();
        let err = grants
            .check::<ProcessRule>(NAME, || "start /usr/bin/obi".into())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("process: start /usr/bin/obi is not granted to toolset \"acme\""),
            "{err}"
        );
    }
}
