//! Local processes: start a granted executable detached from the server, find it again after a
//! server restart, stop it, read its logs, read and write its configuration files, and gather
//! the system facts a preflight needs. Needs the `process` capability, whose grant lists the
//! executables that may be started; without it every function returns [`HostError::Denied`].
//!
//! Outside a host (native unit tests) every function returns [`HostError::Failed`].

use serde::{Deserialize, Serialize};

use crate::HostError;

/// What to start. No shell is involved: arguments and environment are passed as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpawnRequest {
    /// An absolute path or a bare name looked up on the server's PATH; must be granted.
    pub executable: String,
    /// Arguments after the executable name.
    pub args: Vec<String>,
    /// The whole environment (nothing is inherited except a default `PATH`).
    pub env: Vec<(String, String)>,
    /// Deployment name (`[a-z0-9-]`); names the log file.
    pub deployment: String,
    /// Run through `sudo -n`.
    pub use_sudo: bool,
    /// Rotate the log beyond this many bytes (0: the host default).
    pub max_log_bytes: u64,
}

/// Identifies a started process across server restarts (pid, start time and executable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// Process id.
    pub pid: u32,
    /// Start time in clock ticks since boot.
    pub start_ticks: u64,
    /// Canonical path of the running executable.
    pub executable: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Log file (stdout and stderr).
    pub log_path: String,
    /// Start, milliseconds since the Unix epoch.
    pub started_at_ms: u64,
}

/// How a process ended, as far as the host knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// Exit status.
    pub code: Option<i32>,
    /// Terminating signal.
    pub signal: Option<i32>,
    /// End, milliseconds since the Unix epoch.
    pub ended_at_ms: Option<u64>,
}

/// Resource usage of a running process.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    /// CPU percent of one core.
    pub cpu_percent: f64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
    /// Milliseconds since start.
    pub uptime_ms: u64,
    /// Threads.
    pub threads: u32,
}

/// State of a recorded process.
#[derive(Debug, Clone, PartialEq)]
pub enum ProcessState {
    /// Running, with its usage.
    Running(Usage),
    /// Ended.
    Exited(ExitInfo),
    /// The pid belongs to another process now; the recorded one has ended.
    Replaced(String),
}

/// How a stop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopMethod {
    /// It had ended already.
    AlreadyExited,
    /// SIGTERM was enough.
    Terminated,
    /// SIGKILL was needed or asked for.
    Killed,
}

/// The outcome of a stop.
#[derive(Debug, Clone, PartialEq)]
pub struct StopOutcome {
    /// What it took.
    pub method: StopMethod,
    /// Milliseconds from the first signal until it was gone.
    pub waited_ms: u64,
    /// How it ended.
    pub exit: ExitInfo,
}

/// Which lines of a log to return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// At most this many lines (1-10000).
    pub lines: u32,
    /// Only lines at this level or above (`DEBUG`, `INFO`, `WARN`, `ERROR`).
    pub min_level: Option<String>,
    /// Only lines at or after this time (ms since the Unix epoch).
    pub since_ms: Option<u64>,
    /// Only lines containing this text.
    pub grep: Option<String>,
    /// Scan at most this many bytes from the end (0: the host's limit, 64 MiB).
    pub max_scan_bytes: u64,
}

/// Lines from the end of a log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogPage {
    /// Matching lines, oldest first.
    pub lines: Vec<String>,
    /// Bytes scanned.
    pub scanned_bytes: u64,
    /// File size.
    pub file_bytes: u64,
    /// Scanning stopped at the host's limit.
    pub truncated: bool,
}

/// A file's text and fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContent {
    /// The text.
    pub text: String,
    /// sha256 of the bytes, hex.
    pub sha256: String,
}

/// Facts about the host and the binary, for a preflight.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SystemFacts {
    /// Kernel release.
    pub kernel_release: String,
    /// `/sys/kernel/btf/vmlinux` exists.
    pub btf: bool,
    /// Effective uid of the server.
    pub euid: u32,
    /// The server's effective capabilities (`cap_bpf`, ...).
    pub server_capabilities: Vec<String>,
    /// The binary's permitted file capabilities.
    pub binary_capabilities: Vec<String>,
    /// The binary's file capabilities have the effective flag.
    pub binary_capabilities_effective: bool,
    /// `perf_event_paranoid`.
    pub perf_event_paranoid: Option<i32>,
    /// os-release `ID`.
    pub os_id: Option<String>,
    /// os-release `ID_LIKE`.
    pub os_id_like: Option<String>,
    /// os-release `VERSION_ID`.
    pub os_version: Option<String>,
    /// os-release `PRETTY_NAME`.
    pub os_pretty_name: Option<String>,
    /// CPU architecture.
    pub arch: String,
}

pub use backend::*;

#[cfg(target_arch = "wasm32")]
mod backend {
    use super::*;
    use crate::__private::bindings::obi::toolset::{process as wit, types::HostError as WitError};

    fn convert(error: WitError) -> HostError {
        match error {
            WitError::Denied(m) => HostError::Denied(m),
            WitError::NotFound(m) => HostError::NotFound(m),
            WitError::Conflict(m) => HostError::Conflict(m),
            WitError::Timeout(m) => HostError::Timeout(m),
            WitError::Invalid(m) => HostError::Invalid(m),
            WitError::Failed(m) => HostError::Failed(m),
        }
    }

    fn to_wit(r: &ProcessRecord) -> wit::ProcessRecord {
        wit::ProcessRecord {
            pid: r.pid,
            start_ticks: r.start_ticks,
            executable: r.executable.clone(),
            args: r.args.clone(),
            log_path: r.log_path.clone(),
            started_at_ms: r.started_at_ms,
        }
    }

    fn exit(e: wit::ExitInfo) -> ExitInfo {
        ExitInfo {
            code: e.code,
            signal: e.signal,
            ended_at_ms: e.ended_at_ms,
        }
    }

    /// The toolset's working directory on the host (absolute).
    pub fn work_dir() -> Result<String, HostError> {
        wit::work_dir().map_err(convert)
    }

    /// The canonical path `spawn` would run for `executable` (none: the first granted one).
    pub fn resolve_executable(executable: Option<&str>) -> Result<String, HostError> {
        wit::resolve_executable(executable).map_err(convert)
    }

    /// Starts a process detached, stdout and stderr appended to its log.
    pub fn spawn(request: &SpawnRequest) -> Result<ProcessRecord, HostError> {
        let r = wit::spawn(&wit::SpawnRequest {
            executable: request.executable.clone(),
            args: request.args.clone(),
            env: request.env.clone(),
            deployment: request.deployment.clone(),
            use_sudo: request.use_sudo,
            max_log_bytes: request.max_log_bytes,
        })
        .map_err(convert)?;
        Ok(ProcessRecord {
            pid: r.pid,
            start_ticks: r.start_ticks,
            executable: r.executable,
            args: r.args,
            log_path: r.log_path,
            started_at_ms: r.started_at_ms,
        })
    }

    /// The current state of a recorded process.
    pub fn status(record: &ProcessRecord) -> Result<ProcessState, HostError> {
        Ok(match wit::status(&to_wit(record)).map_err(convert)? {
            wit::ProcessState::Running(u) => ProcessState::Running(Usage {
                cpu_percent: u.cpu_percent,
                rss_bytes: u.rss_bytes,
                uptime_ms: u.uptime_ms,
                threads: u.threads,
            }),
            wit::ProcessState::Exited(e) => ProcessState::Exited(exit(e)),
            wit::ProcessState::Replaced(m) => ProcessState::Replaced(m),
        })
    }

    /// Stops a recorded process: SIGTERM, then SIGKILL after `timeout_ms` (at once with `force`).
    pub fn stop(
        record: &ProcessRecord,
        timeout_ms: u64,
        force: bool,
    ) -> Result<StopOutcome, HostError> {
        let o = wit::stop(&to_wit(record), timeout_ms, force).map_err(convert)?;
        Ok(StopOutcome {
            method: match o.method {
                wit::StopMethod::AlreadyExited => StopMethod::AlreadyExited,
                wit::StopMethod::Terminated => StopMethod::Terminated,
                wit::StopMethod::Killed => StopMethod::Killed,
            },
            waited_ms: o.waited_ms,
            exit: exit(o.exit),
        })
    }

    /// Reads matching lines from the end of a log under the work dir.
    pub fn read_log(path: &str, query: &LogQuery) -> Result<LogPage, HostError> {
        let p = wit::read_log(
            path,
            &wit::LogQuery {
                lines: query.lines,
                min_level: query.min_level.clone(),
                since_ms: query.since_ms,
                grep: query.grep.clone(),
                max_scan_bytes: query.max_scan_bytes,
            },
        )
        .map_err(convert)?;
        Ok(LogPage {
            lines: p.lines,
            scanned_bytes: p.scanned_bytes,
            file_bytes: p.file_bytes,
            truncated: p.truncated,
        })
    }

    /// Reads a configuration file with its fingerprint.
    pub fn read_config(path: &str) -> Result<FileContent, HostError> {
        let f = wit::read_config(path).map_err(convert)?;
        Ok(FileContent {
            text: f.text,
            sha256: f.sha256,
        })
    }

    /// Writes a configuration file atomically with a `.bak` of the previous version; with
    /// `expected_sha256` only if unchanged since read (`""`: must not exist). Returns the new
    /// fingerprint.
    pub fn write_config(
        path: &str,
        text: &str,
        expected_sha256: Option<&str>,
    ) -> Result<String, HostError> {
        wit::write_config(path, text, expected_sha256).map_err(convert)
    }

    /// Facts about this host and, when given, the binary.
    pub fn system_facts(binary: Option<&str>) -> Result<SystemFacts, HostError> {
        let f = wit::system_facts(binary).map_err(convert)?;
        Ok(SystemFacts {
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

#[cfg(not(target_arch = "wasm32"))]
mod backend {
    use super::*;

    fn outside() -> HostError {
        HostError::Failed("the process capability is only available inside obi-mcp".into())
    }

    /// The toolset's working directory on the host (absolute).
    pub fn work_dir() -> Result<String, HostError> {
        Err(outside())
    }

    /// The canonical path `spawn` would run for `executable` (none: the first granted one).
    pub fn resolve_executable(_executable: Option<&str>) -> Result<String, HostError> {
        Err(outside())
    }

    /// Starts a process detached, stdout and stderr appended to its log.
    pub fn spawn(_request: &SpawnRequest) -> Result<ProcessRecord, HostError> {
        Err(outside())
    }

    /// The current state of a recorded process.
    pub fn status(_record: &ProcessRecord) -> Result<ProcessState, HostError> {
        Err(outside())
    }

    /// Stops a recorded process: SIGTERM, then SIGKILL after `timeout_ms` (at once with `force`).
    pub fn stop(
        _record: &ProcessRecord,
        _timeout_ms: u64,
        _force: bool,
    ) -> Result<StopOutcome, HostError> {
        Err(outside())
    }

    /// Reads matching lines from the end of a log under the work dir.
    pub fn read_log(_path: &str, _query: &LogQuery) -> Result<LogPage, HostError> {
        Err(outside())
    }

    /// Reads a configuration file with its fingerprint.
    pub fn read_config(_path: &str) -> Result<FileContent, HostError> {
        Err(outside())
    }

    /// Writes a configuration file atomically with a `.bak` of the previous version.
    pub fn write_config(
        _path: &str,
        _text: &str,
        _expected_sha256: Option<&str>,
    ) -> Result<String, HostError> {
        Err(outside())
    }

    /// Facts about this host and, when given, the binary.
    pub fn system_facts(_binary: Option<&str>) -> Result<SystemFacts, HostError> {
        Err(outside())
    }
}
