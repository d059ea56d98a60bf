//! A stand-in for OBI (`obi`, OpenTelemetry eBPF Instrumentation) in obi-mcp's tests.
//!
//! It behaves like OBI where obi-mcp depends on it, without eBPF and without root:
//!
//! - CLI: `--config=PATH` (or `--config PATH`, `-config`), and `OTEL_EBPF_CONFIG_PATH` wins
//!   over the flag;
//! - OBI's startup validation (the `obi-config` crate, environment included), failing with OBI's
//!   line `level=ERROR msg="wrong configuration" error="..."` and exit status 255;
//! - Go slog text lines on stdout (`log_format: json` gives JSON lines), filtered by
//!   `log_level`, with OBI's message shapes (startup banner, capability warning when not root,
//!   graceful exit);
//! - SIGTERM/SIGINT: a graceful exit within `shutdown_timeout` (default 10s).
//!
//! Test switches (environment variables):
//! `OBI_STANDIN_IGNORE_SIGTERM=1` ignores SIGTERM and SIGINT; `OBI_STANDIN_CRASH_AFTER=SECS`
//! fails with an error line and status 255 after that many seconds; `OBI_STANDIN_LINES_PER_SECOND=N`
//! prints N INFO lines per second; `OBI_STANDIN_SHUTDOWN_DELAY_MS=MS` takes that long to shut down;
//! `OBI_STANDIN_REJECT_CONFIG=TEXT` refuses the configuration with that error, as a startup rule
//! of a newer OBI that obi-config does not know yet would.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use obi_config::facts::messages;
use obi_config::{Severity, Target, ValidateOptions};
use serde_json::Value;

/// The version the stand-in reports.
const VERSION: &str = "v0.12.1-standin";

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Log levels in slog's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }

    fn parse(s: &str) -> Option<Level> {
        match s.trim().to_ascii_uppercase().as_str() {
            "DEBUG" => Some(Level::Debug),
            "INFO" => Some(Level::Info),
            "WARN" => Some(Level::Warn),
            "ERROR" => Some(Level::Error),
            _ => None,
        }
    }
}

/// A slog logger writing to stdout.
struct Logger {
    min: Level,
    json: bool,
}

/// `2026-01-27T17:21:20.197Z` for a time.
fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, dd) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// The Go `log` package's default prefix, `2026/01/27 17:21:20`.
fn go_log_time(t: SystemTime) -> String {
    let s = rfc3339(t);
    format!("{} {}", s[..10].replace('-', "/"), &s[11..19])
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A slog text value: quoted when it is empty or holds spaces, quotes, `=` or control characters.
fn text_value(v: &str) -> String {
    if v.is_empty()
        || v.chars()
            .any(|c| c == ' ' || c == '"' || c == '=' || c.is_control())
    {
        format!("{v:?}")
    } else {
        v.to_string()
    }
}

impl Logger {
    fn log(&self, level: Level, msg: &str, attrs: &[(&str, String)]) {
        if level < self.min {
            return;
        }
        let time = rfc3339(SystemTime::now());
        let line = if self.json {
            let mut obj = serde_json::Map::new();
            obj.insert("time".into(), Value::String(time));
            obj.insert("level".into(), Value::String(level.name().into()));
            obj.insert("msg".into(), Value::String(msg.into()));
            for (k, v) in attrs {
                obj.insert((*k).into(), Value::String(v.clone()));
            }
            Value::Object(obj).to_string()
        } else {
            let mut s = format!("time={time} level={} msg={}", level.name(), text_value(msg));
            for (k, v) in attrs {
                s.push(' ');
                s.push_str(&text_value(k));
                s.push('=');
                s.push_str(&text_value(v));
            }
            s
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// Before the logger is configured, OBI's errors go through Go's default logger to stderr.
fn early_fatal(msg: &str, error: &str) -> ! {
    eprintln!(
        "{} ERROR {msg} error={}",
        go_log_time(SystemTime::now()),
        text_value(error)
    );
    std::process::exit(255);
}

fn config_path(args: &[String]) -> Result<Option<String>, String> {
    let mut path = None;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let flag = a.trim_start_matches('-');
        if !a.starts_with('-') {
            i += 1;
            continue;
        }
        if let Some(v) = flag.strip_prefix("config=") {
            path = Some(v.to_string());
        } else if flag == "config" {
            i += 1;
            path = Some(
                args.get(i)
                    .cloned()
                    .ok_or("flag needs an argument: -config")?,
            );
        } else if flag == "h" || flag == "help" {
            return Err("usage".into());
        } else {
            return Err(format!("flag provided but not defined: -{flag}"));
        }
        i += 1;
    }
    Ok(path)
}

/// The text OBI itself prints for a finding of its startup checks.
fn obi_error_text(message: &str) -> String {
    for known in [
        messages::NO_FEATURE,
        messages::NO_EXPORTER,
        messages::NETWORK_NEEDS_EXPORTER,
        messages::TWO_SPAN_FORMATS,
        messages::WILDCARD_CHAR,
        messages::INFORMERS_SYNC_TIMEOUT,
        messages::INTERNAL_BOTH,
        messages::INTERNAL_OTEL_NEEDS_METRICS,
    ] {
        if message.starts_with(known) {
            return known.to_string();
        }
    }
    let cut = [". ", "; "]
        .iter()
        .filter_map(|sep| message.find(sep))
        .min()
        .unwrap_or(message.len());
    message[..cut].to_string()
}

fn setting<'a>(
    doc: &'a Value,
    env: &'a BTreeMap<String, String>,
    key: &str,
    var: &str,
) -> Option<String> {
    if let Some(v) = env.get(var).filter(|v| !v.is_empty()) {
        return Some(v.clone());
    }
    doc.get(key).and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    })
}

fn go_duration(s: &str) -> Option<Duration> {
    obi_config::parse_go_duration(s).map(|ns| Duration::from_nanos(ns.max(0.0) as u64))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let flag_path = match config_path(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}\nUsage of obi:\n  -config string\n    \tpath to the configuration file");
            std::process::exit(2);
        }
    };
    let path = env
        .get("OTEL_EBPF_CONFIG_PATH")
        .filter(|p| !p.is_empty())
        .cloned()
        .or(flag_path);
    let doc = match &path {
        Some(p) => {
            let text = match std::fs::read_to_string(p) {
                Ok(t) => t,
                Err(e) => early_fatal(&format!("can't open {p}"), &format!("open {p}: {e}")),
            };
            if text.trim().is_empty() {
                Value::Object(Default::default())
            } else {
                match obi_config::parse_yaml(&text) {
                    Ok(v) => v,
                    Err(e) => early_fatal("wrong configuration", &e.to_string()),
                }
            }
        }
        None => Value::Object(Default::default()),
    };
    let level_text =
        setting(&doc, &env, "log_level", "OTEL_EBPF_LOG_LEVEL").unwrap_or("INFO".into());
    let Some(min) = Level::parse(&level_text) else {
        early_fatal(
            "unknown log level specified, choices are [DEBUG, INFO, WARN, ERROR]",
            &format!("slog: level string {level_text:?}: unknown name"),
        );
    };
    let format = setting(&doc, &env, "log_format", "OTEL_EBPF_LOG_FORMAT").unwrap_or("text".into());
    let json = format.eq_ignore_ascii_case("json");
    let log = Logger { min, json };
    if !json && !format.eq_ignore_ascii_case("text") {
        log.log(
            Level::Warn,
            "unknown log format specified, defaulting to text",
            &[("format", format.clone())],
        );
    }
    log.log(
        Level::Info,
        "OpenTelemetry eBPF Instrumentation",
        &[
            ("Version", VERSION.into()),
            ("Revision", "standin".into()),
            ("OpenTelemetry SDK Version", "1.38.0".into()),
        ],
    );

    let opts = ValidateOptions {
        target: Target::Local,
        env: env.clone(),
    };
    if let Some(reason) = env
        .get("OBI_STANDIN_REJECT_CONFIG")
        .filter(|r| !r.is_empty())
    {
        log.log(
            Level::Error,
            "wrong configuration",
            &[("error", reason.clone())],
        );
        std::process::exit(255);
    }
    let report = obi_config::validate(&doc, &opts);
    // OBI refuses what it cannot decode and what its own checks reject; advice is not OBI's.
    if let Some(f) = report
        .findings
        .iter()
        .find(|f| f.severity == Severity::Error)
    {
        let text = if f.rule.starts_with("obi-") {
            obi_error_text(&f.message)
        } else {
            format!("{}: {}", f.path, obi_error_text(&f.message))
        };
        log.log(Level::Error, "wrong configuration", &[("error", text)]);
        std::process::exit(255);
    }

    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        let missing = "the following capabilities are required: CAP_BPF, CAP_CHECKPOINT_RESTORE, CAP_DAC_READ_SEARCH, CAP_NET_RAW, CAP_PERFMON, CAP_SYS_PTRACE";
        let enforce = setting(&doc, &env, "enforce_sys_caps", "OTEL_EBPF_ENFORCE_SYS_CAPS")
            .is_some_and(|v| v == "true");
        if enforce {
            log.log(
                Level::Error,
                "can't start OpenTelemetry eBPF Instrumentation",
                &[("error", missing.into())],
            );
            std::process::exit(255);
        }
        log.log(
            Level::Warn,
            "Required system capabilities not present, OpenTelemetry eBPF Instrumentation may malfunction",
            &[("error", missing.into())],
        );
    }
    log.log(
        Level::Debug,
        "Running OpenTelemetry eBPF Instrumentation with configuration",
        &[("config", doc.to_string())],
    );

    let shutdown_timeout = setting(&doc, &env, "shutdown_timeout", "OTEL_EBPF_SHUTDOWN_TIMEOUT")
        .and_then(|s| go_duration(&s))
        .unwrap_or(Duration::from_secs(10));
    let ignore_term = env
        .get("OBI_STANDIN_IGNORE_SIGTERM")
        .is_some_and(|v| v == "1");
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        let handler = if ignore_term {
            libc::SIG_IGN
        } else {
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t
        };
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGINT, handler);
    }
    let crash_after = env
        .get("OBI_STANDIN_CRASH_AFTER")
        .and_then(|v| v.parse::<f64>().ok())
        .map(Duration::from_secs_f64);
    let per_second: u32 = env
        .get("OBI_STANDIN_LINES_PER_SECOND")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let shutdown_delay = env
        .get("OBI_STANDIN_SHUTDOWN_DELAY_MS")
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_millis(20));

    log.log(
        Level::Info,
        "starting instrumentation",
        &[("config", path.clone().unwrap_or_default())],
    );
    let started = Instant::now();
    let mut printed = 0u64;
    let tick = Duration::from_millis(10);
    loop {
        if STOP.load(Ordering::SeqCst) {
            break;
        }
        if let Some(after) = crash_after
            && started.elapsed() >= after
        {
            log.log(
                Level::Error,
                "OpenTelemetry eBPF Instrumentation ran with errors",
                &[("error", "standin: simulated crash".into())],
            );
            std::process::exit(255);
        }
        if per_second > 0 {
            let due = (started.elapsed().as_secs_f64() * per_second as f64) as u64;
            while printed < due {
                printed += 1;
                log.log(
                    Level::Info,
                    "instrumented process",
                    &[
                        ("seq", printed.to_string()),
                        ("service", "standin-app".into()),
                    ],
                );
            }
        }
        std::thread::sleep(tick);
    }
    log.log(
        Level::Info,
        "shutting down",
        &[("timeout", format!("{shutdown_timeout:?}"))],
    );
    if shutdown_delay > shutdown_timeout {
        std::thread::sleep(shutdown_timeout);
        log.log(
            Level::Error,
            "OpenTelemetry eBPF Instrumentation ran with errors",
            &[("error", "graceful shutdown timed out".into())],
        );
        std::process::exit(255);
    }
    std::thread::sleep(shutdown_delay);
    log.log(
        Level::Info,
        "OpenTelemetry eBPF Instrumentation successfully exiting",
        &[],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_forms_are_parsed_like_go_flag() {
        let a = |v: &[&str]| config_path(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(a(&["--config=/a.yml"]).unwrap().as_deref(), Some("/a.yml"));
        assert_eq!(
            a(&["-config", "/b.yml"]).unwrap().as_deref(),
            Some("/b.yml")
        );
        assert_eq!(a(&[]).unwrap(), None);
        assert!(a(&["--nope"]).unwrap_err().contains("not defined: -nope"));
    }

    #[test]
    fn times_are_rfc3339_utc_with_millis() {
        let t = UNIX_EPOCH + Duration::from_millis(1_769_534_480_197);
        assert_eq!(rfc3339(t), "2026-01-27T17:21:20.197Z");
        assert_eq!(go_log_time(t), "2026/01/27 17:21:20");
    }

    #[test]
    fn obi_messages_are_cut_to_obis_own_text() {
        assert_eq!(
            obi_error_text(&format!("{}. OBI exits at startup", messages::NO_FEATURE)),
            messages::NO_FEATURE
        );
        assert_eq!(
            obi_error_text("invalid value for trace_printer: 'x'; use one of"),
            "invalid value for trace_printer: 'x'"
        );
    }

    #[test]
    fn slog_values_are_quoted_when_needed() {
        assert_eq!(text_value("plain"), "plain");
        assert_eq!(text_value("two words"), "\"two words\"");
        assert_eq!(text_value(""), "\"\"");
    }
}
