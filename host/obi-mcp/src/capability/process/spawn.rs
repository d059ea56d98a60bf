//! Starting, watching and stopping processes.
//!
//! A process is started detached (`setsid`, stdin from `/dev/null`, stdout and stderr appended
//! to its log), so it outlives the server. While this server is its parent, a watcher thread
//! reaps it, records how it ended in `<log>.exit.json`, and rotates the log by size. After a
//! server restart, a recorded process is the same one only when pid, start time and executable
//! all match ([`procfs::identify`]); never by name.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::logs;
use super::procfs::{self, Identity};

/// Default size at which a log is rotated.
pub const DEFAULT_MAX_LOG_BYTES: u64 = 64 * 1024 * 1024;
/// Largest rotation size a toolset may ask for.
pub const MAX_LOG_BYTES: u64 = 1024 * 1024 * 1024;
/// How long to wait after SIGKILL before giving up.
pub const KILL_WAIT: Duration = Duration::from_secs(5);
/// `PATH` given to a process whose environment names none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why a process operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The executable (or sudo) is not allowed by the grant; the message says what is.
    #[error("{0}")]
    NotAllowed(String),
    /// The executable does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The OS refused.
    #[error("{0}")]
    Failed(String),
}

/// The `process` grant: which executables may be started, and whether through `sudo -n`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessRule {
    /// Absolute paths or bare names (looked up on PATH).
    pub executables: Vec<String>,
    /// Allow `use-sudo`.
    #[serde(default)]
    pub sudo: bool,
}

/// A started process, as recorded by the toolset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Process id.
    pub pid: u32,
    /// Start time, clock ticks since boot.
    pub start_ticks: u64,
    /// Executable as `/proc/<pid>/exe` shows it.
    pub executable: PathBuf,
    /// Arguments.
    pub args: Vec<String>,
    /// Log file.
    pub log_path: PathBuf,
    /// Start, ms since the Unix epoch.
    pub started_at_ms: u64,
}

/// How a process ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// Exit status.
    pub code: Option<i32>,
    /// Terminating signal.
    pub signal: Option<i32>,
    /// End, ms since the Unix epoch.
    pub ended_at_ms: Option<u64>,
}

/// What the watcher writes when the process ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ExitFile {
    pid: u32,
    start_ticks: u64,
    #[serde(flatten)]
    exit: ExitInfo,
}

/// Usage of a running process.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    /// CPU %, one core = 100.
    pub cpu_percent: f64,
    /// Resident bytes.
    pub rss_bytes: u64,
    /// Milliseconds since start.
    pub uptime_ms: u64,
    /// Threads.
    pub threads: u32,
}

/// State of a recorded process.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Running.
    Running(Usage),
    /// Ended.
    Exited(ExitInfo),
    /// The pid belongs to another process now.
    Replaced(String),
}

/// How a stop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMethod {
    /// It had ended already.
    AlreadyExited,
    /// SIGTERM was enough.
    Terminated,
    /// SIGKILL was needed (or asked for).
    Killed,
}

/// The request to start a process.
#[derive(Debug, Clone, Default)]
pub struct SpawnRequest {
    /// Path or bare name.
    pub executable: String,
    /// Arguments.
    pub args: Vec<String>,
    /// The whole environment.
    pub env: Vec<(String, String)>,
    /// Deployment name.
    pub deployment: String,
    /// Through `sudo -n`.
    pub use_sudo: bool,
    /// Rotation size (0: default).
    pub max_log_bytes: u64,
}

/// Finds a bare name on `PATH` (or checks a path), returning its canonical path.
pub fn locate(name: &str) -> Option<PathBuf> {
    let is_exec = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if name.contains('/') {
        let p = Path::new(name);
        return (p.is_absolute() && is_exec(p))
            .then(|| std::fs::canonicalize(p).ok())
            .flatten();
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_exec(p))
        .and_then(|p| std::fs::canonicalize(p).ok())
}

/// Resolves `executable` (none: the first granted one that exists) and checks it is granted.
pub fn resolve(executable: Option<&str>, rule: &ProcessRule) -> Result<PathBuf, ProcessError> {
    let allowed: Vec<PathBuf> = rule.executables.iter().filter_map(|e| locate(e)).collect();
    let Some(requested) = executable.filter(|e| !e.is_empty()) else {
        return allowed.into_iter().next().ok_or_else(|| {
            ProcessError::NotFound(format!(
                "none of the granted executables ({}) exists on this host; install OBI or set toolsets.local.binary_path",
                rule.executables.join(", ")
            ))
        });
    };
    if requested.contains('/') && !Path::new(requested).is_absolute() {
        return Err(ProcessError::Invalid(format!(
            "executable {requested:?} must be an absolute path or a bare name"
        )));
    }
    let Some(path) = locate(requested) else {
        return Err(ProcessError::NotFound(format!(
            "executable {requested:?} not found (or not executable)"
        )));
    };
    if allowed.contains(&path) {
        Ok(path)
    } else {
        Err(ProcessError::NotAllowed(format!(
            "only {} may be started; set toolsets.<name>.grants.process.executables to allow {}",
            rule.executables.join(", "),
            path.display()
        )))
    }
}

/// Checks a deployment name: `[a-z0-9-]`, 1-63 characters.
pub fn check_deployment(name: &str) -> Result<(), ProcessError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ProcessError::Invalid(format!(
            "deployment name {name:?} must be 1-63 characters of [a-z0-9-]"
        )))
    }
}

/// Processes this server's watcher threads are waiting for, by (pid, start ticks): their exit
/// is about to be recorded, so `status` waits for it instead of reporting an unknown exit.
static WATCHED: std::sync::Mutex<Vec<(u32, u64)>> = std::sync::Mutex::new(Vec::new());

fn watched(pid: u32, start_ticks: u64) -> bool {
    WATCHED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(&(pid, start_ticks))
}

fn unwatch(pid: u32, start_ticks: u64) {
    WATCHED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|w| *w != (pid, start_ticks));
}

/// The recorded exit, waiting (up to 1 s) when this server's watcher is about to write it.
fn exit_of(record: &Record) -> ExitInfo {
    let deadline = Instant::now() + Duration::from_secs(1);
    while watched(record.pid, record.start_ticks) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    read_exit(record).unwrap_or_default()
}

fn exit_path(log: &Path) -> PathBuf {
    log.with_extension("exit.json")
}

/// Starts the process described by `req` (already resolved to `executable`).
pub fn spawn(
    work_dir: &Path,
    executable: &Path,
    req: &SpawnRequest,
) -> Result<Record, ProcessError> {
    check_deployment(&req.deployment)?;
    if req.args.len() > 256 || req.env.len() > 256 {
        return Err(ProcessError::Invalid(
            "at most 256 arguments and 256 environment variables".into(),
        ));
    }
    for (k, v) in &req.env {
        if k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0') {
            return Err(ProcessError::Invalid(format!(
                "invalid environment variable name or value: {k:?}"
            )));
        }
    }
    if req.args.iter().any(|a| a.contains('\0')) {
        return Err(ProcessError::Invalid(
            "arguments must not contain NUL".into(),
        ));
    }
    let max_log = match req.max_log_bytes {
        0 => DEFAULT_MAX_LOG_BYTES,
        n => n.clamp(64 * 1024, MAX_LOG_BYTES),
    };
    let log_dir = work_dir.join("logs");
    std::fs::create_dir_all(&log_dir).map_err(|e| {
        ProcessError::Failed(format!("cannot create log dir {}: {e}", log_dir.display()))
    })?;
    let log_path = log_dir.join(format!("{}.log", req.deployment));
    let _ = logs::rotate_if_larger(&log_path, max_log);
    let _ = std::fs::remove_file(exit_path(&log_path));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| ProcessError::Failed(format!("cannot open {}: {e}", log_path.display())))?;
    let log_err = log
        .try_clone()
        .map_err(|e| ProcessError::Failed(format!("cannot duplicate the log handle: {e}")))?;
    let mut cmd = if req.use_sudo {
        let sudo = locate("sudo").ok_or_else(|| {
            ProcessError::NotFound("use_sudo is set but `sudo` is not on PATH".into())
        })?;
        let mut c = Command::new(sudo);
        c.arg("-n");
        let names: Vec<&str> = req.env.iter().map(|(k, _)| k.as_str()).collect();
        if !names.is_empty() {
            c.arg(format!("--preserve-env={}", names.join(",")));
        }
        c.arg("--").arg(executable).args(&req.args);
        c
    } else {
        let mut c = Command::new(executable);
        c.args(&req.args);
        c
    };
    cmd.env_clear()
        .envs(req.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .current_dir(work_dir);
    if !req.env.iter().any(|(k, _)| k == "PATH") {
        cmd.env("PATH", DEFAULT_PATH);
    }
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent; it makes the
    // child a session (and process group) leader, detached from the server's terminal and
    // signals.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started_at_ms = procfs::now_ms();
    let mut child = cmd
        .spawn()
        .map_err(|e| ProcessError::Failed(format!("cannot start {}: {e}", executable.display())))?;
    let pid = child.id();
    // `spawn` returns after exec succeeded, so /proc shows the new program.
    let stat = procfs::read_stat(pid);
    let exe = procfs::read_exe(pid).ok();
    let (start_ticks, exe) = match (stat, exe) {
        (Some(s), Some(e)) => (s.start_ticks, e),
        _ => {
            // It ended already; record what is known so status reports its exit.
            let status = child.wait().ok();
            let exit = ExitInfo {
                code: status.and_then(|s| s.code()),
                signal: status.and_then(|s| s.signal()),
                ended_at_ms: Some(procfs::now_ms()),
            };
            let record = Record {
                pid,
                start_ticks: 0,
                executable: executable.to_path_buf(),
                args: req.args.clone(),
                log_path: log_path.clone(),
                started_at_ms,
            };
            write_exit(&record, exit);
            return Ok(record);
        }
    };
    let record = Record {
        pid,
        start_ticks,
        executable: exe,
        args: req.args.clone(),
        log_path: log_path.clone(),
        started_at_ms,
    };
    WATCHED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((pid, start_ticks));
    let watched = record.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("obi-mcp-watch-{pid}"))
        .spawn(move || {
            let mut ticks = 0u32;
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => {
                        write_exit(
                            &watched,
                            ExitInfo {
                                code: status.code(),
                                signal: status.signal(),
                                ended_at_ms: Some(procfs::now_ms()),
                            },
                        );
                        unwatch(watched.pid, watched.start_ticks);
                        return;
                    }
                    Ok(None) => {}
                    Err(_) => {
                        unwatch(watched.pid, watched.start_ticks);
                        return;
                    }
                }
                ticks += 1;
                if ticks.is_multiple_of(10) {
                    let _ = logs::rotate_if_larger(&watched.log_path, max_log);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
    if let Err(e) = spawned {
        unwatch(pid, start_ticks);
        tracing::warn!(pid, "cannot start the watcher thread: {e}");
    }
    Ok(record)
}

fn write_exit(record: &Record, exit: ExitInfo) {
    let file = ExitFile {
        pid: record.pid,
        start_ticks: record.start_ticks,
        exit,
    };
    if let Ok(bytes) = serde_json::to_vec(&file) {
        let _ = crate::fsutil::write_atomic(&exit_path(&record.log_path), &bytes, false);
    }
}

/// How the recorded process ended, if the watcher saw it.
pub fn read_exit(record: &Record) -> Option<ExitInfo> {
    let bytes = std::fs::read(exit_path(&record.log_path)).ok()?;
    let file: ExitFile = serde_json::from_slice(&bytes).ok()?;
    (file.pid == record.pid && file.start_ticks == record.start_ticks).then_some(file.exit)
}

/// The state of a recorded process.
pub fn status(record: &Record) -> State {
    if record.start_ticks == 0 {
        return State::Exited(read_exit(record).unwrap_or_default());
    }
    match procfs::identify(record.pid, record.start_ticks, &record.executable) {
        Identity::Same(stat) => {
            // A process adopted after a server restart has no watcher: rotate its log here.
            if !watched(record.pid, record.start_ticks) {
                let _ = logs::rotate_if_larger(&record.log_path, DEFAULT_MAX_LOG_BYTES);
            }
            State::Running(Usage {
                cpu_percent: procfs::cpu_percent(&stat),
                rss_bytes: procfs::rss_bytes(&stat),
                uptime_ms: procfs::uptime_ms(stat.start_ticks),
                threads: stat.threads,
            })
        }
        Identity::Gone => State::Exited(exit_of(record)),
        Identity::Replaced(why) => State::Replaced(why),
    }
}

fn alive(record: &Record) -> bool {
    record.start_ticks != 0
        && matches!(
            procfs::identify(record.pid, record.start_ticks, &record.executable),
            Identity::Same(_)
        )
}

fn signal(record: &Record, sig: libc::c_int, group: bool) {
    // Only after `alive` confirmed the identity; the pid was not reused in between unless the
    // process ended in the last microseconds, and a reused pid would not be a group leader of
    // the same id with our start time.
    let target = if group {
        -(record.pid as libc::pid_t)
    } else {
        record.pid as libc::pid_t
    };
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(target, sig);
    }
}

async fn wait_gone(record: &Record, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if !alive(record) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Stops a recorded process: SIGTERM, then SIGKILL (to its process group) after `timeout`;
/// SIGKILL at once with `force`. A process whose identity does not match is never signalled.
pub async fn stop(
    record: &Record,
    timeout: Duration,
    force: bool,
) -> Result<(StopMethod, Duration, ExitInfo), ProcessError> {
    let started = Instant::now();
    if !alive(record) {
        let exit = exit_of(record);
        return Ok((StopMethod::AlreadyExited, Duration::ZERO, exit));
    }
    let mut method = StopMethod::Terminated;
    if force {
        method = StopMethod::Killed;
        signal(record, libc::SIGKILL, true);
    } else {
        signal(record, libc::SIGTERM, false);
    }
    if !wait_gone(record, timeout).await {
        method = StopMethod::Killed;
        signal(record, libc::SIGKILL, true);
        if !wait_gone(record, KILL_WAIT).await {
            return Err(ProcessError::Failed(format!(
                "pid {} survived SIGKILL for {} s",
                record.pid,
                KILL_WAIT.as_secs()
            )));
        }
    }
    let waited = started.elapsed();
    // When this server is the parent, its watcher records the exit within ~50 ms.
    let mut exit = read_exit(record);
    let until = Instant::now() + Duration::from_millis(500);
    while exit.is_none() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
        exit = read_exit(record);
    }
    let exit = exit.unwrap_or(ExitInfo {
        ended_at_ms: Some(procfs::now_ms()),
        ..Default::default()
    });
    Ok((method, waited, exit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("obi-mcp-spawn-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn rule(names: &[&str]) -> ProcessRule {
        ProcessRule {
            executables: names.iter().map(|s| s.to_string()).collect(),
            sudo: false,
        }
    }

    fn sh(script: &str, deployment: &str) -> SpawnRequest {
        SpawnRequest {
            executable: "sh".into(),
            args: vec!["-c".into(), script.into()],
            env: vec![("GREETING".into(), "hello".into())],
            deployment: deployment.into(),
            ..Default::default()
        }
    }

    #[test]
    fn only_granted_executables_resolve() {
        let r = rule(&["sh"]);
        let sh = resolve(Some("sh"), &r).unwrap();
        assert!(sh.is_absolute());
        assert_eq!(resolve(None, &r).unwrap(), sh);
        assert!(matches!(
            resolve(Some("ls"), &r),
            Err(ProcessError::NotAllowed(m)) if m.contains("only sh may be started")
        ));
        assert!(matches!(
            resolve(Some("./sh"), &r),
            Err(ProcessError::Invalid(_))
        ));
        assert!(matches!(
            resolve(Some("no-such-binary-xyz"), &r),
            Err(ProcessError::NotFound(_))
        ));
        assert!(matches!(
            resolve(None, &rule(&["no-such-binary-xyz"])),
            Err(ProcessError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn spawned_process_logs_runs_detached_and_stops_with_sigterm() {
        let dir = work("term");
        let exe = resolve(Some("sh"), &rule(&["sh"])).unwrap();
        let rec = spawn(
            &dir,
            &exe,
            &sh(
                "echo \"$GREETING from $$\"; while true; do sleep 0.05; done",
                "term-test",
            ),
        )
        .unwrap();
        assert!(matches!(status(&rec), State::Running(_)));
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::metadata(&rec.log_path)
            .map(|m| m.len())
            .unwrap_or(0)
            == 0
        {
            assert!(Instant::now() < deadline, "nothing logged");
            std::thread::sleep(Duration::from_millis(10));
        }
        // Its own session: the session id is its pid.
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", rec.pid)).unwrap();
        let sid: u32 = stat[stat.rfind(')').unwrap() + 2..]
            .split(' ')
            .nth(3)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(sid, rec.pid);
        let (method, _, exit) = stop(&rec, Duration::from_secs(5), false).await.unwrap();
        assert_eq!(method, StopMethod::Terminated);
        assert_eq!(exit.signal, Some(libc::SIGTERM));
        assert!(matches!(status(&rec), State::Exited(e) if e.signal == Some(libc::SIGTERM)));
        let log = std::fs::read_to_string(&rec.log_path).unwrap();
        assert_eq!(log, format!("hello from {}\n", rec.pid));
        let again = stop(&rec, Duration::from_secs(1), false).await.unwrap();
        assert_eq!(again.0, StopMethod::AlreadyExited);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn ignored_sigterm_escalates_to_sigkill() {
        let dir = work("kill");
        let exe = resolve(Some("sh"), &rule(&["sh"])).unwrap();
        let rec = spawn(
            &dir,
            &exe,
            &sh("trap '' TERM; while true; do sleep 0.05; done", "kill-test"),
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let (method, waited, exit) = stop(&rec, Duration::from_millis(300), false).await.unwrap();
        assert_eq!(method, StopMethod::Killed);
        assert!(waited >= Duration::from_millis(300));
        assert_eq!(exit.signal, Some(libc::SIGKILL));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn exit_code_is_recorded_and_a_recycled_pid_is_not_adopted() {
        let dir = work("exit");
        let exe = resolve(Some("sh"), &rule(&["sh"])).unwrap();
        let rec = spawn(&dir, &exe, &sh("exit 7", "exit-test")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let State::Exited(e) = status(&rec)
                && e.code.is_some()
            {
                assert_eq!(e.code, Some(7));
                break;
            }
            assert!(Instant::now() < deadline, "no exit recorded");
            std::thread::sleep(Duration::from_millis(20));
        }
        // A record whose pid now belongs to another process (this test) is not adopted.
        let me = procfs::read_stat(std::process::id()).unwrap();
        let stale = Record {
            pid: std::process::id(),
            start_ticks: me.start_ticks + 5,
            ..rec.clone()
        };
        assert!(matches!(status(&stale), State::Replaced(_)));
        let wrong_exe = Record {
            pid: std::process::id(),
            start_ticks: me.start_ticks,
            ..rec
        };
        assert!(matches!(status(&wrong_exe), State::Replaced(m) if m.contains("instead of")));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_requests_are_refused() {
        let dir = work("bad");
        let exe = resolve(Some("sh"), &rule(&["sh"])).unwrap();
        let mut r = sh("true", "Bad Name");
        assert!(matches!(
            spawn(&dir, &exe, &r),
            Err(ProcessError::Invalid(_))
        ));
        r.deployment = "ok".into();
        r.env.push(("A=B".into(), "x".into()));
        assert!(matches!(
            spawn(&dir, &exe, &r),
            Err(ProcessError::Invalid(_))
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
