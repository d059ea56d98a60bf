//! Validation entry points and layer 1: types, enums, durations, ports, unknown and deprecated
//! keys. Layer 2 (OBI's startup rules) is in [`crate::rules`], layer 3 (advice OBI never gives)
//! in [`crate::advice`].

use crate::facts::{self, Kind};
use crate::finding::{Finding, Report, Severity};
use crate::parse::{self, kind_name};
use crate::schema::{schema, split_parent};
use crate::{advice, env, rules};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Where OBI will run; decides which endpoints can work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// A process on this host.
    #[default]
    Local,
    /// A container (Docker, Podman).
    Container,
    /// A pod in a Kubernetes cluster (DaemonSet or sidecar).
    Kubernetes,
}

/// What validation needs besides the document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Where OBI will run.
    pub target: Target,
    /// The environment OBI will be started with (`OTEL_EBPF_*`, `OTEL_EXPORTER_OTLP_*`, ...).
    /// Environment variables win over the file, as in OBI.
    pub env: BTreeMap<String, String>,
}

impl ValidateOptions {
    /// Options for a target with no environment.
    pub fn for_target(target: Target) -> Self {
        ValidateOptions {
            target,
            env: BTreeMap::new(),
        }
    }
}

/// Validates a configuration document (all three layers).
pub fn validate(doc: &Value, opts: &ValidateOptions) -> Report {
    let mut report = Report::default();
    let Some(map) = doc.as_object() else {
        report.push(Finding::new(
            "type",
            Severity::Error,
            "",
            format!(
                "the configuration must be a mapping of keys, not {}",
                kind_name(doc)
            ),
        ));
        return report;
    };
    let env = env::effective_env(&opts.env, &mut report);
    let is_v2 = map.get(facts::V2_MARKER).is_some_and(|v| {
        !matches!(v, Value::Null)
            && !facts::V1_VERSIONS.contains(&crate::rules::scalar_text(v).as_str())
    });
    if is_v2 {
        report.push(Finding::new(
            "config-v2",
            Severity::Warning,
            facts::V2_MARKER,
            "this is a Config v2 file (top-level `version`); obi-mcp checks v1 files only, so \
             nothing else was checked. Run `obi config validate` with the OBI binary, or \
             `obi config migrate` to see the v1 form",
        ));
        report.sort();
        return report;
    }
    let expanded = expand_vars(doc, &env, opts.target, &mut report);
    check_types(&expanded, &mut report);
    rules::check(&expanded, &env, &mut report);
    advice::check(&expanded, &env, opts.target, &mut report);
    report.sort();
    report
}

/// Parses YAML or JSON text and validates it; a parse failure is reported as an error finding.
pub fn validate_text(text: &str, opts: &ValidateOptions) -> Report {
    match parse::parse_yaml(text) {
        Ok(doc) => validate(&doc, opts),
        Err(e) => {
            let mut report = Report::default();
            report.push(Finding::new("parse", Severity::Error, "", e.to_string()));
            report
        }
    }
}

/// Substitutes `${VAR}` references the way OBI does before parsing (only variables present in
/// `env`; unresolved references are left in place and their values are not type-checked).
fn expand_vars(
    doc: &Value,
    env: &BTreeMap<String, String>,
    target: Target,
    report: &mut Report,
) -> Value {
    fn go(
        v: &Value,
        path: &str,
        env: &BTreeMap<String, String>,
        target: Target,
        report: &mut Report,
        depth: usize,
    ) -> Value {
        if depth > parse::MAX_DEPTH {
            return v.clone();
        }
        match v {
            Value::String(s) if s.contains("${") => {
                let (out, missing) = substitute(s, env);
                for name in missing {
                    let (severity, why) = match target {
                        Target::Local => (
                            Severity::Warning,
                            "OBI will substitute an empty string unless its environment sets it",
                        ),
                        Target::Container | Target::Kubernetes => (
                            Severity::Info,
                            "make sure the container or pod sets it (for HOST_IP, from the \
                             downward API `status.hostIP`)",
                        ),
                    };
                    report.push(Finding::new(
                        "env-reference",
                        severity,
                        path,
                        format!("`${{{name}}}` is not in the given environment; {why}"),
                    ));
                }
                if out.contains("${") {
                    Value::String(out)
                } else if s.trim().starts_with("${") && s.trim().ends_with('}') {
                    // The whole scalar came from the environment: re-read it as YAML would.
                    scalar_from_text(&out)
                } else {
                    Value::String(out)
                }
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| go(x, &format!("{path}[{i}]"), env, target, report, depth + 1))
                    .collect(),
            ),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| {
                        let p = join(path, k);
                        (k.clone(), go(x, &p, env, target, report, depth + 1))
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    go(doc, "", env, target, report, 0)
}

/// Replaces `${NAME}` with values from `env`; returns the text and the names not found.
fn substitute(s: &str, env: &BTreeMap<String, String>) -> (String, Vec<String>) {
    let mut out = String::with_capacity(s.len());
    let mut missing = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match env.get(name) {
                    Some(val) => out.push_str(val),
                    None => {
                        if missing.len() < 8 {
                            missing.push(name.to_string());
                        }
                        out.push_str(&rest[start..start + 2 + end + 1]);
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    (out, missing)
}

/// Reads a plain scalar the way YAML would type it (integer, float, boolean, null, or text).
pub(crate) fn scalar_from_text(s: &str) -> Value {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Value::from(i);
    }
    match t {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        _ => {}
    }
    if t.contains('.')
        && let Ok(f) = t.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(s.to_string())
}

pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// A value shortened for a message.
pub(crate) fn show(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    };
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn check_types(doc: &Value, report: &mut Report) {
    walk(doc, "", "", 0, report);
}

fn walk(v: &Value, spath: &str, cpath: &str, depth: usize, report: &mut Report) {
    if depth > parse::MAX_DEPTH {
        report.push(Finding::new(
            "too-deep",
            Severity::Error,
            cpath,
            format!(
                "nested more than {} levels; not checked further",
                parse::MAX_DEPTH
            ),
        ));
        return;
    }
    let kind = if spath.is_empty() {
        Kind::Section
    } else {
        match schema().get(spath) {
            Some(f) => f.kind,
            None => return,
        }
    };
    if v.is_null() {
        return;
    }
    match kind {
        Kind::Section => {
            let Some(map) = v.as_object() else {
                type_error(report, cpath, "a mapping of keys", v);
                return;
            };
            for (key, child) in map {
                let child_s = join(spath, key);
                let child_c = join(cpath, key);
                if schema().get(&child_s).is_some() {
                    check_deprecated(&child_s, &child_c, report);
                    walk(child, &child_s, &child_c, depth + 1, report);
                } else {
                    unknown_key(spath, cpath, key, report);
                }
            }
        }
        Kind::Map => {
            let Some(map) = v.as_object() else {
                type_error(report, cpath, "a mapping", v);
                return;
            };
            let item = format!("{spath}.*");
            if schema().get(&item).is_some() {
                for (key, child) in map {
                    walk(child, &item, &join(cpath, key), depth + 1, report);
                }
            }
        }
        Kind::List => {
            let Some(items) = v.as_array() else {
                type_error(report, cpath, "a list", v);
                return;
            };
            let item = format!("{spath}[]");
            if schema().get(&item).is_some() {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &item, &format!("{cpath}[{i}]"), depth + 1, report);
                }
            }
        }
        scalar => check_scalar(scalar, v, cpath, report),
    }
}

fn unknown_key(spath: &str, cpath: &str, key: &str, report: &mut Report) {
    let shown_key: String = key.chars().take(60).collect();
    let suggestion = schema().suggest_key(spath, key).map(|s| {
        // Show the suggestion under the user's own concrete parent when it is a sibling.
        match s.strip_prefix(spath) {
            Some(rest) if !spath.is_empty() && rest.starts_with('.') => format!("{cpath}{rest}"),
            _ => s,
        }
    });
    // In a selector OBI validates, an unknown key is taken as a metadata attribute and refused.
    let validated = facts::VALIDATED_SELECTOR_LISTS
        .iter()
        .find(|(list, _)| spath == format!("{list}[]"));
    let (rule, severity, mut message) = match validated {
        Some((list, name)) => {
            let index = cpath
                .rsplit('[')
                .next()
                .unwrap_or("0")
                .trim_end_matches(']');
            let family = if list.ends_with("services") {
                "services"
            } else {
                "instrument"
            };
            (
                "obi-selector-attribute",
                Severity::Error,
                format!(
                    "error in {name} YAML property: unknown attribute in discovery.{family}[{index}]: {shown_key}; OBI refuses to start"
                ),
            )
        }
        None => (
            "unknown-key",
            Severity::Warning,
            format!("unknown key `{shown_key}`: OBI ignores it"),
        ),
    };
    if let Some(shown) = suggestion {
        message.push_str(&format!("; did you mean {shown}?"));
    } else if spath.is_empty() {
        message.push_str("; it is not an OBI v1 top-level key");
    }
    report.push(Finding::new(rule, severity, join(cpath, key), message));
}

fn check_deprecated(spath: &str, cpath: &str, report: &mut Report) {
    for d in facts::DEPRECATED {
        let hit = match d.path.strip_prefix("*[].") {
            Some(leaf) => {
                let (parent, l) = split_parent(spath);
                l == leaf
                    && parent.ends_with("[]")
                    && facts::SELECTOR_LISTS
                        .iter()
                        .any(|list| parent == format!("{list}[]"))
            }
            None => d.path == spath,
        };
        if hit {
            report.push(Finding::new(
                "deprecated-key",
                Severity::Warning,
                cpath,
                format!(
                    "`{}` is deprecated; use {} instead",
                    split_parent(spath).1,
                    d.instead
                ),
            ));
        }
    }
}

fn type_error(report: &mut Report, path: &str, expected: &str, found: &Value) {
    report.push(Finding::new(
        "type",
        Severity::Error,
        path,
        format!(
            "expected {expected}, found {} {}",
            kind_name(found),
            show(found)
        ),
    ));
}

fn dynamic(v: &Value) -> bool {
    matches!(v, Value::String(s) if s.contains("${"))
}

/// Checks one scalar (or scalar list) against its kind.
pub(crate) fn check_scalar(kind: Kind, v: &Value, path: &str, report: &mut Report) {
    if v.is_null() || dynamic(v) {
        return;
    }
    match kind {
        Kind::Section | Kind::Map | Kind::List | Kind::Any => {}
        Kind::Bool => match v {
            Value::Bool(_) => {}
            Value::String(s)
                if matches!(
                    s.to_ascii_lowercase().as_str(),
                    "yes" | "no" | "on" | "off" | "y" | "n"
                ) =>
            {
                report.push(Finding::new(
                    "yaml-bool",
                    Severity::Warning,
                    path,
                    format!("`{s}` is read as a boolean by OBI's YAML 1.1 parser but as text by others; write true or false"),
                ));
            }
            other => type_error(report, path, "true or false", other),
        },
        Kind::Int(min) => match v.as_i64() {
            Some(n) if n >= min => {}
            // Negative sizes and counts are never valid; a zero where OBI wants at least one
            // makes it fail or misbehave at runtime, but is not checked at startup.
            Some(n) => report.push(Finding::new(
                "range",
                if n < 0 {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                path,
                format!("{n} is too small; OBI expects at least {min}"),
            )),
            None => type_error(report, path, "an integer", v),
        },
        Kind::Port => match v.as_i64() {
            Some(n) if (0..=65535).contains(&n) => {}
            Some(n) => report.push(Finding::new(
                "port",
                Severity::Error,
                path,
                format!("{n} is not a port; use 1-65535 (0 disables it)"),
            )),
            None => type_error(report, path, "a port number", v),
        },
        Kind::Duration => check_duration(v, path, report),
        Kind::Str => {
            if v.is_array() || v.is_object() {
                type_error(report, path, "a single value", v);
            }
        }
        Kind::Enum(allowed) => check_enum(allowed, false, v, path, report),
        Kind::EnumNoCase(allowed) => check_enum(allowed, true, v, path, report),
        Kind::StrList { comma } => match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if item.is_array() || item.is_object() {
                        type_error(report, &format!("{path}[{i}]"), "a single value", item);
                    }
                }
            }
            Value::String(_) if comma => {}
            other => type_error(report, path, "a list", other),
        },
        Kind::EnumList(allowed, comma) => match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    check_enum(allowed, false, item, &format!("{path}[{i}]"), report);
                }
            }
            Value::String(s) if comma => {
                for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    check_enum(allowed, false, &Value::String(part.into()), path, report);
                }
            }
            other => type_error(report, path, "a list", other),
        },
        Kind::NumList => match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !item.is_number() {
                        type_error(report, &format!("{path}[{i}]"), "a number", item);
                    }
                }
            }
            other => type_error(report, path, "a list of numbers", other),
        },
        Kind::PortSet => check_int_set(v, path, true, report),
        Kind::PidSet => check_int_set(v, path, false, report),
        Kind::Url => match v.as_str() {
            // An empty endpoint means "not set" to OBI.
            Some("") => {}
            Some(s) => {
                if let Err(why) = parse_url(s) {
                    report.push(Finding::new("url", Severity::Error, path, why));
                }
            }
            None => type_error(report, path, "a URL like http://collector:4318", v),
        },
        Kind::HostPort => match v.as_str() {
            Some(s) => {
                let ok = s
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
                if !ok {
                    report.push(Finding::new(
                        "host-port",
                        Severity::Error,
                        path,
                        format!("`{s}` is not a host:port address (like k8s-cache:50055)"),
                    ));
                }
            }
            None => type_error(report, path, "a host:port address", v),
        },
        Kind::Ip => match v.as_str() {
            Some(s) if s.parse::<IpAddr>().is_ok() => {}
            Some(s) => report.push(Finding::new(
                "ip",
                Severity::Error,
                path,
                format!("`{s}` is not an IP address"),
            )),
            None => type_error(report, path, "an IP address", v),
        },
        Kind::CidrList => match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    match item.as_str() {
                        Some(s) if valid_cidr(s) => {}
                        Some(s) => report.push(Finding::new(
                            "cidr",
                            Severity::Error,
                            &p,
                            format!("`{s}` is not a CIDR like 10.0.0.0/8"),
                        )),
                        None => type_error(report, &p, "a CIDR string", item),
                    }
                }
            }
            other => type_error(report, path, "a list of CIDRs", other),
        },
        Kind::ContextPropagation => match v.as_str() {
            Some(s) => {
                let ok = matches!(s, "" | "all" | "disabled")
                    || s.split(',')
                        .all(|m| matches!(m.trim(), "headers" | "http" | "tcp"));
                if !ok {
                    report.push(Finding::new(
                        "enum",
                        Severity::Error,
                        path,
                        format!("`{s}` is not a context propagation mode; use all, disabled, or a comma list of headers, http, tcp"),
                    ));
                }
            }
            None => type_error(report, path, "all, disabled or headers,tcp", v),
        },
        Kind::AgentIface => match v.as_str() {
            Some("external" | "local") => {}
            Some(s) if s.strip_prefix("name:").is_some_and(|n| !n.is_empty()) => {}
            Some(s) => report.push(Finding::new(
                "enum",
                Severity::Error,
                path,
                format!(
                    "`{s}` is not valid; use external, local or name:<interface> (e.g. name:eth0)"
                ),
            )),
            None => type_error(report, path, "external, local or name:<interface>", v),
        },
        Kind::KubeEnable => match v {
            Value::Bool(_) => {}
            Value::String(s)
                if matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "false" | "autodetect"
                ) => {}
            other => report.push(Finding::new(
                "enum",
                Severity::Error,
                path,
                format!("expected true, false or autodetect, found {}", show(other)),
            )),
        },
    }
}

fn check_enum(allowed: &[&str], nocase: bool, v: &Value, path: &str, report: &mut Report) {
    let Some(s) = v.as_str() else {
        type_error(report, path, &format!("one of: {}", list(allowed)), v);
        return;
    };
    let ok = allowed.iter().any(|a| {
        if nocase {
            a.eq_ignore_ascii_case(s)
        } else {
            *a == s
        }
    });
    if ok {
        return;
    }
    let mut message = format!("`{}` is not one of: {}", short(s), list(allowed));
    if s.len() <= 64
        && let Some((d, best)) = allowed
            .iter()
            .filter(|a| !a.is_empty())
            .map(|a| {
                (
                    crate::schema::distance(&s.to_ascii_lowercase(), &a.to_ascii_lowercase()),
                    *a,
                )
            })
            .min()
        && d <= 2
    {
        message.push_str(&format!("; did you mean {best}?"));
    }
    report.push(Finding::new("enum", Severity::Error, path, message));
}

fn list(allowed: &[&str]) -> String {
    allowed
        .iter()
        .map(|a| if a.is_empty() { "\"\"" } else { a })
        .collect::<Vec<_>>()
        .join(", ")
}

fn short(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(37).collect::<String>())
    } else {
        s.to_string()
    }
}

fn check_duration(v: &Value, path: &str, report: &mut Report) {
    match v {
        Value::String(s) => {
            if duration_matches_schema(s) {
                return;
            }
            if parse_go_duration(s).is_some() {
                report.push(Finding::new(
                    "duration-format",
                    Severity::Warning,
                    path,
                    format!(
                        "`{}` works, but OBI documents durations as {}; write it like 30s, 5m or 500ms",
                        short(s),
                        facts::DURATION_PATTERN
                    ),
                ));
            } else {
                report.push(Finding::new(
                    "duration",
                    Severity::Error,
                    path,
                    format!(
                        "`{}` is not a duration; write it like 30s, 5m or 500ms",
                        short(s)
                    ),
                ));
            }
        }
        Value::Number(n) => report.push(Finding::new(
            "duration",
            Severity::Error,
            path,
            format!("{n} has no unit; write it like \"{n}s\" or \"{n}ms\""),
        )),
        other => type_error(report, path, "a duration like 30s", other),
    }
}

/// Whether `s` matches `^[0-9]+(ms|s|m)$`.
pub fn duration_matches_schema(s: &str) -> bool {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && matches!(&s[digits..], "ms" | "s" | "m")
}

/// Parses a Go duration (`1h30m`, `1.5s`, `300ms`, `0`) into nanoseconds.
pub fn parse_go_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Some(if neg { -total } else { total })
}

fn check_int_set(v: &Value, path: &str, ports: bool, report: &mut Report) {
    let what = if ports { "port" } else { "process id" };
    let check_num = |n: i64, p: &str, report: &mut Report| {
        let ok = if ports {
            (0..=65535).contains(&n)
        } else {
            n > 0
        };
        if !ok {
            report.push(Finding::new(
                if ports { "port" } else { "pid" },
                Severity::Error,
                p,
                format!("{n} is not a valid {what}"),
            ));
        }
    };
    let check_text = |s: &str, p: &str, report: &mut Report| {
        for part in s.split(',') {
            let part = part.trim();
            let nums: Vec<&str> = part.splitn(2, '-').map(str::trim).collect();
            let parsed: Option<Vec<i64>> = nums.iter().map(|n| n.parse::<i64>().ok()).collect();
            match parsed {
                Some(ns) if !part.is_empty() => {
                    for n in &ns {
                        check_num(*n, p, report);
                    }
                    if ns.len() == 2 && ns[0] > ns[1] {
                        report.push(Finding::new(
                            "port",
                            Severity::Error,
                            p,
                            format!("range `{part}` runs backwards; write it low-high"),
                        ));
                    }
                }
                _ => {
                    report.push(Finding::new(
                        "type",
                        Severity::Error,
                        p,
                        format!(
                            "`{}` is not a {what} list; write numbers and ranges like 80,443,8000-8999",
                            short(s)
                        ),
                    ));
                    return;
                }
            }
        }
    };
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(n) => check_num(n, path, report),
            None => type_error(report, path, &format!("a {what}"), v),
        },
        Value::String(s) => check_text(s, path, report),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                match item {
                    Value::Number(n) if n.as_i64().is_some() => {
                        check_num(n.as_i64().unwrap_or(-1), &p, report)
                    }
                    Value::String(s) => check_text(s, &p, report),
                    other => type_error(report, &p, &format!("a {what}"), other),
                }
            }
        }
        other => type_error(report, path, &format!("a {what} or a list of them"), other),
    }
}

fn valid_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    bits.parse::<u8>().is_ok_and(|b| b <= max)
}

/// The parts of an endpoint URL that the checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http`, `https`, `unix`, ...
    pub scheme: String,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port as written, if any.
    pub port: Option<String>,
    /// Path, possibly empty.
    pub path: String,
}

/// A URL with any `user:password@` part replaced by `***@`, so messages never show credentials.
pub fn redact_url(s: &str) -> String {
    let start = s.find("://").map_or(0, |i| i + 3);
    let end = s[start..].find('/').map_or(s.len(), |i| start + i);
    match s[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &s[..start], &s[start + at..]),
        None => s.to_string(),
    }
}

/// Parses an endpoint URL the way OBI requires it: a scheme and a host. Error messages show the
/// URL without credentials.
pub fn parse_url(s: &str) -> Result<Endpoint, String> {
    let shown = short(&redact_url(s));
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err(format!(
            "`{shown}` has no scheme; OBI needs a full URL such as http://{shown}"
        ));
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return Err(format!("`{shown}` has an invalid scheme"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, after)) => (h, after.strip_prefix(':')),
            None => return Err(format!("`{shown}` has an unclosed IPv6 bracket")),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() && scheme != "unix" {
        return Err(format!(
            "`{shown}` has no host; OBI needs a URL like http://collector:4318"
        ));
    }
    if let Some(p) = port
        && p.parse::<u16>().is_err()
    {
        return Err(format!("`{shown}` has an invalid port `{}`", short(p)));
    }
    Ok(Endpoint {
        scheme: scheme.to_ascii_lowercase(),
        host: host.to_string(),
        port: port.map(str::to_string),
        path: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors_at(r: &Report, path: &str) -> Vec<String> {
        r.at(path)
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.message.clone())
            .collect()
    }

    fn layer1(doc: Value) -> Report {
        let mut r = Report::default();
        check_types(&doc, &mut r);
        r
    }

    #[test]
    fn duration_pattern() {
        for ok in ["1ms", "30s", "5m", "0s", "100ms"] {
            assert!(duration_matches_schema(ok), "{ok}");
        }
        for bad in ["", "s", "1h", "1.5s", "10", "5 m", "-1s"] {
            assert!(!duration_matches_schema(bad), "{bad}");
        }
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h30m"), Some(5400e9));
        assert_eq!(parse_go_duration("1.5s"), Some(1.5e9));
        assert_eq!(parse_go_duration("0"), Some(0.0));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("5 parsecs"), None);
    }

    #[test]
    fn durations_checked() {
        let r = layer1(
            json!({"shutdown_timeout": "1h", "ebpf": {"batch_timeout": 10},
            "discovery": {"min_process_age": "soon"}, "otel_metrics_export": {"interval": "30s"}}),
        );
        assert_eq!(
            r.at("shutdown_timeout").next().unwrap().severity,
            Severity::Warning
        );
        assert!(errors_at(&r, "ebpf.batch_timeout")[0].contains("no unit"));
        assert!(errors_at(&r, "discovery.min_process_age")[0].contains("not a duration"));
        assert_eq!(r.at("otel_metrics_export.interval").count(), 0);
    }

    #[test]
    fn ports_checked() {
        let r = layer1(json!({"prometheus_export": {"port": 70000},
            "health_check": {"port": "9999"}, "profile_port": 6060}));
        assert!(errors_at(&r, "prometheus_export.port")[0].contains("not a port"));
        assert!(errors_at(&r, "health_check.port")[0].contains("expected a port number"));
        assert_eq!(r.at("profile_port").count(), 0);
    }

    #[test]
    fn port_sets_checked() {
        let r = layer1(json!({"open_port": "80,443,8000-8999",
            "discovery": {"instrument": [{"open_ports": 8080}, {"open_ports": "9000-8000"},
                {"open_ports": [80, "x"]}, {"open_ports": 99999}]}}));
        assert_eq!(r.at("open_port").count(), 0);
        assert_eq!(r.at("discovery.instrument[0].open_ports").count(), 0);
        assert!(errors_at(&r, "discovery.instrument[1].open_ports")[0].contains("backwards"));
        assert!(!errors_at(&r, "discovery.instrument[2].open_ports[1]").is_empty());
        assert!(!errors_at(&r, "discovery.instrument[3].open_ports").is_empty());
    }

    #[test]
    fn enums_checked_with_suggestion() {
        let r = layer1(json!({"log_level": "debug", "log_format": "jsn",
            "otel_traces_export": {"protocol": "http"}, "network": {"source": "tcx"}}));
        assert_eq!(
            r.at("log_level").count(),
            0,
            "log level is case-insensitive"
        );
        assert!(errors_at(&r, "log_format")[0].contains("did you mean json?"));
        assert!(errors_at(&r, "otel_traces_export.protocol")[0].contains("http/protobuf"));
        assert!(!errors_at(&r, "network.source").is_empty());
    }

    #[test]
    fn feature_lists_checked() {
        let r = layer1(json!({"metrics": {"features": ["application", "netwrok"]}}));
        assert!(errors_at(&r, "metrics.features[1]")[0].contains("did you mean network?"));
        let r = layer1(json!({"metrics": {"features": "application,network"}}));
        assert_eq!(r.findings.len(), 0);
        let r = layer1(json!({"otel_traces_export": {"instrumentations": "http"}}));
        assert!(!errors_at(&r, "otel_traces_export.instrumentations").is_empty());
    }

    #[test]
    fn booleans_checked() {
        let r = layer1(
            json!({"ebpf": {"bpf_debug": "yes", "high_request_volume": "true",
            "track_request_headers": 1}}),
        );
        assert_eq!(
            r.at("ebpf.bpf_debug").next().unwrap().severity,
            Severity::Warning
        );
        assert!(!errors_at(&r, "ebpf.high_request_volume").is_empty());
        assert!(!errors_at(&r, "ebpf.track_request_headers").is_empty());
    }

    #[test]
    fn sections_must_be_mappings() {
        let r = layer1(json!({"ebpf": "fast", "discovery": {"instrument": {"open_ports": 80}}}));
        assert!(errors_at(&r, "ebpf")[0].contains("expected a mapping"));
        assert!(errors_at(&r, "discovery.instrument")[0].contains("expected a list"));
    }

    #[test]
    fn wrong_types_everywhere_never_panic() {
        let weird = [
            json!(null),
            json!(true),
            json!(-1),
            json!(1.5),
            json!("x"),
            json!([1, [2]]),
            json!({"a": {"b": []}}),
        ];
        for schema_path in schema().paths().map(str::to_string).collect::<Vec<_>>() {
            for w in &weird {
                let mut doc = w.clone();
                for part in schema_path.split('.').rev() {
                    doc = match (part, part.strip_suffix("[]")) {
                        ("*", _) => json!({ "anything": doc }),
                        (_, Some(list)) => json!({ list: [doc] }),
                        _ => json!({ part: doc }),
                    };
                }
                let _ = validate(&doc, &ValidateOptions::default());
            }
        }
    }

    #[test]
    fn credentials_in_urls_are_never_shown() {
        assert_eq!(
            redact_url("https://user:pw@c:4318/v1"),
            "https://***@c:4318/v1"
        );
        assert_eq!(redact_url("http://c:4318/a@b"), "http://c:4318/a@b");
        assert_eq!(redact_url("no scheme"), "no scheme");
        assert_eq!(redact_url("me:pw@host:4318"), "***@host:4318");
        let r = layer1(json!({"otel_traces_export": {"endpoint": "http://u:secret@:4318"}}));
        assert!(!r.findings.is_empty());
        assert!(
            r.findings.iter().all(|f| !f.message.contains("secret")),
            "{}",
            r.summary()
        );
    }

    #[test]
    fn empty_endpoint_means_unset() {
        let r = layer1(json!({"otel_traces_export": {"endpoint": ""}}));
        assert!(r.findings.is_empty(), "{}", r.summary());
    }

    #[test]
    fn urls_checked() {
        let r = layer1(json!({"otel_traces_export": {"endpoint": "localhost:4317"},
            "otel_metrics_export": {"endpoint": "http://:4318"}}));
        assert!(errors_at(&r, "otel_traces_export.endpoint")[0].contains("no scheme"));
        assert!(errors_at(&r, "otel_metrics_export.endpoint")[0].contains("no host"));
        assert_eq!(
            parse_url("http://[::1]:4318/v1/traces").unwrap().host,
            "::1"
        );
        assert!(parse_url("http://c:99999").is_err());
    }

    #[test]
    fn misc_kinds_checked() {
        let r = layer1(json!({
            "network": {"cidrs": ["10.0.0.0/8", "10.0.0.0/33", "nope"], "agent_ip": "1.2.3",
                "agent_ip_iface": "name:"},
            "ebpf": {"context_propagation": "headers,tcp"},
            "attributes": {"kubernetes": {"enable": "maybe", "meta_cache_address": "cache"}},
            "otel_metrics_export": {"buckets": {"duration_histogram": [0.1, "x"]}}
        }));
        assert_eq!(r.at("network.cidrs[0]").count(), 0);
        assert!(!errors_at(&r, "network.cidrs[1]").is_empty());
        assert!(!errors_at(&r, "network.cidrs[2]").is_empty());
        assert!(!errors_at(&r, "network.agent_ip").is_empty());
        assert!(!errors_at(&r, "network.agent_ip_iface").is_empty());
        assert_eq!(r.at("ebpf.context_propagation").count(), 0);
        assert!(!errors_at(&r, "attributes.kubernetes.enable").is_empty());
        assert!(!errors_at(&r, "attributes.kubernetes.meta_cache_address").is_empty());
        assert!(!errors_at(&r, "otel_metrics_export.buckets.duration_histogram[1]").is_empty());
        let r = layer1(json!({"ebpf": {"context_propagation": "smoke"}}));
        assert!(!errors_at(&r, "ebpf.context_propagation").is_empty());
    }

    #[test]
    fn unknown_and_misplaced_keys() {
        let r = layer1(
            json!({"bpf_debug": true, "otel_traces_export": {"endpont": "x"},
            "discovery": {"instrument": [{"open_port": 80}]}}),
        );
        let f = r.at("bpf_debug").next().unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            f.message.contains("did you mean ebpf.bpf_debug?"),
            "{}",
            f.message
        );
        let f = r.at("otel_traces_export.endpont").next().unwrap();
        assert!(
            f.message
                .contains("did you mean otel_traces_export.endpoint?"),
            "{}",
            f.message
        );
        let f = r.at("discovery.instrument[0].open_port").next().unwrap();
        assert!(
            f.message
                .contains("did you mean discovery.instrument[0].open_ports?"),
            "{}",
            f.message
        );
    }

    #[test]
    fn free_form_maps_accept_any_key() {
        let r = layer1(
            json!({"attributes": {"select": {"http_server_request_duration": {
            "include": ["*"], "exclude": ["k8s.*"]}}, "kubernetes": {"resource_labels": {
            "service.name": ["app"]}}}, "filter": {"application": {"url.path": {"match": "/x"}}},
            "discovery": {"instrument": [{"k8s_pod_labels": {"app": "web"}}]}}),
        );
        assert_eq!(r.findings, vec![]);
    }

    #[test]
    fn deprecated_keys() {
        let r = layer1(json!({"executable_path": "x", "network": {"enable": true},
            "discovery": {"services": [{"exe_path_regexp": "x", "name": "n"}]},
            "otel_metrics_export": {"features": ["application"]}}));
        for p in [
            "executable_path",
            "network.enable",
            "discovery.services",
            "discovery.services[0].exe_path_regexp",
            "discovery.services[0].name",
            "otel_metrics_export.features",
        ] {
            let f = r.at(p).find(|f| f.rule == "deprecated-key");
            assert!(f.is_some(), "{p}: {:?}", r.findings);
        }
    }

    #[test]
    fn env_references_are_expanded() {
        let opts = ValidateOptions {
            target: Target::Local,
            env: [("PORT".to_string(), "9400".to_string())].into(),
        };
        let r = validate(
            &json!({"prometheus_export": {"port": "${PORT}"}, "open_port": 80}),
            &opts,
        );
        assert_eq!(
            r.at("prometheus_export.port").count(),
            0,
            "{:?}",
            r.findings
        );
        let r = validate(
            &json!({"prometheus_export": {"port": "${NOPE}"}, "open_port": 80}),
            &opts,
        );
        let f = r.at("prometheus_export.port").next().unwrap();
        assert_eq!(f.rule, "env-reference");
        assert_eq!(f.severity, Severity::Warning);
        let k8s = ValidateOptions::for_target(Target::Kubernetes);
        let r = validate(
            &json!({"open_port": 80,
            "otel_traces_export": {"endpoint": "http://${HOST_IP}:4318"}}),
            &k8s,
        );
        assert!(r.is_valid(), "{}", r.summary());
        assert_eq!(
            r.at("otel_traces_export.endpoint").next().unwrap().severity,
            Severity::Info
        );
    }

    #[test]
    fn substitute_handles_edge_cases() {
        let env: BTreeMap<String, String> = [("A".into(), "1".into())].into();
        assert_eq!(
            substitute("x${A}y${B}z", &env),
            ("x1y${B}z".into(), vec!["B".into()])
        );
        assert_eq!(substitute("${", &env).0, "${");
        assert_eq!(substitute("no refs", &env).0, "no refs");
    }

    #[test]
    fn config_v2_is_not_checked_as_v1() {
        let r = validate(
            &json!({"version": 2, "whatever": 1}),
            &ValidateOptions::default(),
        );
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].rule, "config-v2");
    }

    #[test]
    fn parse_errors_become_findings() {
        let r = validate_text("a: [", &ValidateOptions::default());
        assert!(!r.is_valid());
        assert_eq!(r.findings[0].rule, "parse");
    }
}
