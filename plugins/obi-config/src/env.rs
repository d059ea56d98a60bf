//! OBI's environment variables: checking the environment OBI will get, and converting a
//! configuration to and from the equivalent `OTEL_EBPF_*` variables (for Docker and Kubernetes).
//!
//! The variable names come from [`crate::facts::KEYS`]. Some variables stand for several keys
//! (`OTEL_EXPORTER_OTLP_PROTOCOL` sets the protocol of both traces and metrics); such a variable
//! is written only when all its keys agree. Keys without a variable stay in the YAML file.

use crate::facts::{self, Kind};
use crate::finding::{Finding, Report, Severity};
use crate::schema::schema;
use crate::validate::{check_scalar, join, show};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One environment variable and the configuration keys it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// Variable name.
    pub name: &'static str,
    /// Dotted config paths it sets.
    pub paths: Vec<&'static str>,
    /// Value type.
    pub kind: Kind,
}

/// The table of variables with YAML equivalents, sorted by name.
pub fn env_table() -> Vec<EnvVar> {
    table().to_vec()
}

fn table() -> &'static [EnvVar] {
    static TABLE: std::sync::OnceLock<Vec<EnvVar>> = std::sync::OnceLock::new();
    TABLE.get_or_init(build_table)
}

fn find_var(name: &str) -> Option<&'static EnvVar> {
    table().iter().find(|v| v.name == name)
}

fn build_table() -> Vec<EnvVar> {
    let mut by_name: BTreeMap<&'static str, EnvVar> = BTreeMap::new();
    for fact in facts::KEYS {
        if let Some(name) = fact.env {
            by_name
                .entry(name)
                .or_insert_with(|| EnvVar {
                    name,
                    paths: Vec::new(),
                    kind: fact.kind,
                })
                .paths
                .push(fact.path);
        }
    }
    by_name.into_values().collect()
}

/// A short name of a value type, for documentation.
pub fn kind_label(kind: Kind) -> String {
    match kind {
        Kind::Section => "section".into(),
        Kind::Map => "map".into(),
        Kind::List => "list".into(),
        Kind::Bool => "bool".into(),
        Kind::Int(_) => "integer".into(),
        Kind::Port => "port".into(),
        Kind::Duration => "duration".into(),
        Kind::Str => "string".into(),
        Kind::Enum(values) | Kind::EnumNoCase(values) => values
            .iter()
            .map(|v| if v.is_empty() { "\"\"" } else { v })
            .collect::<Vec<_>>()
            .join(" \\| "),
        Kind::StrList { .. } => "list (comma-separated)".into(),
        Kind::EnumList(..) => "list of names (comma-separated)".into(),
        Kind::NumList => "list of numbers".into(),
        Kind::PortSet => "ports / ranges (80,443,8000-8999)".into(),
        Kind::PidSet => "PIDs (comma-separated)".into(),
        Kind::Url => "URL".into(),
        Kind::HostPort => "host:port".into(),
        Kind::Ip => "IP address".into(),
        Kind::CidrList => "CIDRs (comma-separated)".into(),
        Kind::ContextPropagation => "all \\| disabled \\| headers,tcp".into(),
        Kind::AgentIface => "external \\| local \\| name:IFACE".into(),
        Kind::KubeEnable => "true \\| false \\| autodetect".into(),
        Kind::Any => "any".into(),
    }
}

/// The environment variable table as Markdown (the content of the crate's `ENV.md`).
pub fn env_markdown() -> String {
    let mut out = String::from(
        "# OBI environment variables known to obi-config\n\n\
         Generated from `src/facts.rs` by `obi_config::env::env_markdown()`; do not edit by hand \
         (run `OBI_CONFIG_BLESS=1 cargo test -p obi-config env_markdown` after changing the facts).\n\n\
         Sources: `pkg/obi/config.go`, `pkg/obi/network_cfg.go`, \
         `pkg/export/otel/otelcfg/config_{traces,metrics}.go`, `pkg/export/otel/perapp/decfg.go`, \
         `docs/config-schema.json` and the generated configuration reference of \
         open-telemetry/opentelemetry-ebpf-instrumentation. Environment variables win over the \
         YAML file; empty values are ignored. Legacy `BEYLA_*` names are accepted with a warning.\n\n\
         ## With a YAML key\n\n| Variable | YAML key(s) | Type |\n|---|---|---|\n",
    );
    for var in table() {
        let paths: Vec<String> = var.paths.iter().map(|p| format!("`{p}`")).collect();
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            var.name,
            paths.join(", "),
            kind_label(var.kind)
        ));
    }
    out.push_str("\n## Without a YAML key\n\n| Variable | Meaning |\n|---|---|\n");
    for (name, what) in facts::ENV_ONLY {
        out.push_str(&format!("| `{name}` | {what} |\n"));
    }
    out.push_str("\n## Deprecated\n\n| Variable | Use instead |\n|---|---|\n");
    for (name, instead) in facts::DEPRECATED_ENV {
        out.push_str(&format!("| `{name}` | {instead} |\n"));
    }
    out
}

/// The variable for one config path, if it has one.
pub fn env_for_path(path: &str) -> Option<&'static str> {
    facts::KEYS
        .iter()
        .find(|f| f.path == path)
        .and_then(|f| f.env)
}

/// Normalizes the environment OBI will run with: maps legacy `BEYLA_*` names to `OTEL_EBPF_*`
/// (with a warning), drops empty values (OBI ignores them), and reports unknown `OTEL_EBPF_*`
/// names, deprecated names and values of the wrong type.
pub fn effective_env(
    env: &BTreeMap<String, String>,
    report: &mut Report,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, value) in env.iter().take(10_000) {
        let path = format!("env:{name}");
        let name = match name.strip_prefix(facts::LEGACY_ENV_PREFIX) {
            Some(rest) => {
                let renamed = format!("{}{rest}", facts::ENV_PREFIX);
                if env.contains_key(&renamed) {
                    report.push(Finding::new(
                        "legacy-env",
                        Severity::Warning,
                        &path,
                        format!("{name} is the Beyla-era name of {renamed}, which is also set; {renamed} wins, remove {name}"),
                    ));
                    continue;
                }
                report.push(Finding::new(
                    "legacy-env",
                    Severity::Warning,
                    &path,
                    format!("{name} is the Beyla-era name; OBI documents {renamed}, so rename it (checked here as {renamed})"),
                ));
                renamed
            }
            None => name.clone(),
        };
        if value.is_empty() {
            continue;
        }
        check_env_value(&name, value, &path, report);
        out.insert(name, value.clone());
    }
    out
}

fn check_env_value(name: &str, value: &str, path: &str, report: &mut Report) {
    let s = schema();
    if let Some((_, instead)) = facts::DEPRECATED_ENV.iter().find(|(n, _)| *n == name) {
        report.push(Finding::new(
            "deprecated-env",
            Severity::Warning,
            path,
            format!("{name} is deprecated; use {instead}"),
        ));
    }
    if let Some(var) = find_var(name) {
        let parsed = value_from_env(var.kind, value);
        let mut sub = Report::default();
        check_scalar(var.kind, &parsed, path, &mut sub);
        for mut f in sub.findings {
            f.message = format!(
                "{name}={}: {}",
                short(&crate::validate::redact_url(value)),
                f.message
            );
            report.push(f);
        }
        return;
    }
    if s.is_known_env(name) {
        return;
    }
    if name.starts_with(facts::ENV_PREFIX) {
        let mut message = format!("{name} is not an environment variable OBI reads");
        if let Some(best) = s.suggest_env(name) {
            message.push_str(&format!("; did you mean {best}?"));
        }
        report.push(Finding::new(
            "unknown-env",
            Severity::Warning,
            path,
            message,
        ));
    }
}

fn short(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(37).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Reads an environment value as the config value OBI would decode it to.
pub fn value_from_env(kind: Kind, raw: &str) -> Value {
    let trimmed = raw.trim();
    match kind {
        Kind::Bool => match trimmed {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Value::Bool(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Value::Bool(false),
            _ => Value::String(raw.to_string()),
        },
        Kind::KubeEnable => match trimmed {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(raw.to_string()),
        },
        Kind::Int(_) | Kind::Port => trimmed
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.to_string())),
        Kind::PortSet | Kind::PidSet => trimmed
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.to_string())),
        Kind::StrList { .. } | Kind::EnumList(..) | Kind::CidrList => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
        _ => Value::String(raw.to_string()),
    }
}

/// Writes a config value as an environment value, or `None` if it has no env form.
pub fn value_to_env(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items
                .iter()
                .map(|i| match i {
                    Value::String(s) if !s.contains(',') => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                })
                .collect();
            parts.map(|p| p.join(","))
        }
        Value::Object(_) => None,
    }
}

fn get_path<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, k| v.get(k))
}

fn set_path(doc: &mut Value, path: &str, value: Value) {
    let mut cur = doc;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Some(obj) = cur.as_object_mut() else {
            return;
        };
        if i + 1 == parts.len() {
            obj.insert((*part).to_string(), value);
            return;
        }
        cur = obj
            .entry((*part).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// The result of turning a config into environment variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvConversion {
    /// The variables, sorted by name.
    pub vars: BTreeMap<String, String>,
    /// The part of the document the variables do not cover (for a config file next to them);
    /// sections emptied by the conversion are removed.
    pub remainder: Value,
    /// Keys that could not be converted (they stay in the YAML file), and conflicts.
    pub findings: Vec<Finding>,
}

/// Converts a configuration to the equivalent environment variables, as far as OBI has them.
pub fn config_to_env(doc: &Value) -> EnvConversion {
    let mut out = EnvConversion::default();
    let mut converted: Vec<&str> = Vec::new();
    for var in table() {
        let values: Vec<(&str, &Value)> = var
            .paths
            .iter()
            .filter_map(|p| get_path(doc, p).filter(|v| !v.is_null()).map(|v| (*p, v)))
            .collect();
        let Some((first_path, first)) = values.first() else {
            continue;
        };
        if values.len() < var.paths.len() {
            // The variable would also set the keys the file leaves unset (e.g.
            // OTEL_EXPORTER_OTLP_PROTOCOL sets the metrics protocol too).
            let unset: Vec<&str> = var
                .paths
                .iter()
                .copied()
                .filter(|p| !values.iter().any(|(q, _)| q == p))
                .collect();
            out.findings.push(Finding::new(
                "env-conflict",
                Severity::Info,
                *first_path,
                format!(
                    "{} would also set {}; keep {first_path} in the YAML file",
                    var.name,
                    unset.join(", ")
                ),
            ));
            continue;
        }
        if let Some((other_path, _)) = values.iter().find(|(_, v)| *v != *first) {
            out.findings.push(Finding::new(
                "env-conflict",
                Severity::Warning,
                *other_path,
                format!(
                    "{} sets both {first_path} and {other_path}, which differ here; keep them in the YAML file",
                    var.name
                ),
            ));
            continue;
        }
        match value_to_env(first) {
            Some(s) => {
                out.vars.insert(var.name.to_string(), s);
                converted.extend(values.iter().map(|(p, _)| *p));
            }
            None => out.findings.push(Finding::new(
                "no-env-form",
                Severity::Info,
                *first_path,
                format!(
                    "{} cannot hold {}; keep it in the YAML file",
                    var.name,
                    show(first)
                ),
            )),
        }
    }
    leftovers(doc, "", &converted, &mut out.findings, 0);
    let mut remainder = doc.clone();
    for path in &converted {
        remove_path(&mut remainder, path);
    }
    out.remainder = remainder;
    out
}

/// Removes a dotted path, then the sections it leaves empty.
fn remove_path(doc: &mut Value, path: &str) {
    let Some((head, rest)) = path.split_once('.') else {
        if let Some(map) = doc.as_object_mut() {
            map.shift_remove(path);
        }
        return;
    };
    let Some(map) = doc.as_object_mut() else {
        return;
    };
    if let Some(child) = map.get_mut(head) {
        remove_path(child, rest);
        if child.as_object().is_some_and(Map::is_empty) {
            map.shift_remove(head);
        }
    }
}

fn leftovers(v: &Value, path: &str, converted: &[&str], findings: &mut Vec<Finding>, depth: usize) {
    if findings.len() >= crate::finding::MAX_FINDINGS || depth > 16 {
        return;
    }
    // Converted keys, and keys with a variable that could not be used (reported already).
    if converted.contains(&path) || env_for_path(path).is_some() {
        return;
    }
    match v {
        Value::Object(m) => {
            // A section: recurse unless no key below it has a variable at all.
            let has_env_below = path.is_empty()
                || facts::KEYS
                    .iter()
                    .any(|f| f.env.is_some() && f.path.starts_with(&format!("{path}.")));
            if has_env_below {
                for (k, child) in m {
                    leftovers(child, &join(path, k), converted, findings, depth + 1);
                }
            } else {
                findings.push(no_env(path));
            }
        }
        Value::Null => {}
        _ => findings.push(no_env(path)),
    }
}

fn no_env(path: &str) -> Finding {
    Finding::new(
        "no-env",
        Severity::Info,
        path,
        format!("`{path}` has no environment variable; keep it in the YAML file"),
    )
}

/// The result of turning environment variables into a config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigConversion {
    /// The configuration document.
    pub document: Value,
    /// Variables that have no YAML key, unknown variables, legacy names.
    pub findings: Vec<Finding>,
}

/// Converts environment variables to the equivalent configuration document.
pub fn env_to_config(vars: &BTreeMap<String, String>) -> ConfigConversion {
    let mut out = ConfigConversion {
        document: Value::Object(Map::new()),
        findings: Vec::new(),
    };
    for (raw_name, value) in vars {
        let path = format!("env:{raw_name}");
        let name = match raw_name.strip_prefix(facts::LEGACY_ENV_PREFIX) {
            Some(rest) => {
                let renamed = format!("{}{rest}", facts::ENV_PREFIX);
                out.findings.push(Finding::new(
                    "legacy-env",
                    Severity::Warning,
                    &path,
                    format!("{raw_name} is the Beyla-era name; converted as {renamed}"),
                ));
                renamed
            }
            None => raw_name.clone(),
        };
        if let Some(var) = find_var(&name) {
            let parsed = value_from_env(var.kind, value);
            for p in &var.paths {
                set_path(&mut out.document, p, parsed.clone());
            }
        } else if let Some((_, what)) = facts::ENV_ONLY.iter().find(|(n, _)| *n == name) {
            out.findings.push(Finding::new(
                "env-only",
                Severity::Info,
                &path,
                format!("{name} ({what}) has no YAML key; keep it as an environment variable"),
            ));
        } else if name.starts_with("OTEL_") {
            let mut message = format!("{name} is not a variable OBI reads; not converted");
            if let Some(best) = schema().suggest_env(&name) {
                message.push_str(&format!("; did you mean {best}?"));
            }
            out.findings.push(Finding::new(
                "unknown-env",
                Severity::Warning,
                &path,
                message,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn table_has_the_variables_from_obi_source() {
        let t = env_table();
        let get = |n: &str| t.iter().find(|v| v.name == n).cloned();
        assert_eq!(get("OTEL_EBPF_OPEN_PORT").unwrap().paths, ["open_port"]);
        assert_eq!(
            get("OTEL_EBPF_TRACE_PRINTER").unwrap().paths,
            ["trace_printer"]
        );
        assert_eq!(
            get("OTEL_EBPF_PROMETHEUS_PORT").unwrap().paths,
            ["prometheus_export.port"]
        );
        assert_eq!(
            get("OTEL_EBPF_NETWORK_METRICS").unwrap().paths,
            ["network.enable"]
        );
        assert_eq!(
            get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").unwrap().paths,
            ["otel_traces_export.endpoint"]
        );
        assert_eq!(
            get("OTEL_EXPORTER_OTLP_PROTOCOL").unwrap().paths,
            [
                "otel_traces_export.protocol",
                "otel_metrics_export.protocol"
            ]
        );
        // names are unique and all look like environment variables
        for v in &t {
            assert!(
                v.name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()),
                "{}",
                v.name
            );
        }
    }

    #[test]
    fn round_trip_config_env_config() {
        let doc = json!({
            "log_level": "DEBUG",
            "open_port": "80,443",
            "trace_printer": "text",
            "shutdown_timeout": "20s",
            "enforce_sys_caps": true,
            "otel_traces_export": {"endpoint": "http://collector:4318", "sampler": {"name": "always_on"}},
            "otel_metrics_export": {"endpoint": "http://collector:4318", "interval": "30s"},
            "prometheus_export": {"port": 9400, "path": "/metrics"},
            "metrics": {"features": ["application", "network"]},
            "network": {"source": "socket_filter", "cidrs": ["10.0.0.0/8", "192.168.0.0/16"], "print_flows": false},
            "attributes": {"kubernetes": {"enable": true, "cluster_name": "prod"}},
            "ebpf": {"context_propagation": "all", "batch_length": 200}
        });
        let conv = config_to_env(&doc);
        assert!(conv.findings.is_empty(), "{:?}", conv.findings);
        assert_eq!(conv.vars["OTEL_EBPF_OPEN_PORT"], "80,443");
        assert_eq!(
            conv.vars["OTEL_EBPF_METRICS_FEATURES"],
            "application,network"
        );
        assert_eq!(conv.vars["OTEL_EBPF_PROMETHEUS_PORT"], "9400");
        assert_eq!(conv.vars["OTEL_EBPF_KUBE_METADATA_ENABLE"], "true");
        let back = env_to_config(&conv.vars);
        assert!(back.findings.is_empty(), "{:?}", back.findings);
        assert_eq!(back.document, sorted_like(&back.document, &doc));
    }

    /// `doc` with its keys reordered like `like` (env conversion does not keep order).
    fn sorted_like(like: &Value, doc: &Value) -> Value {
        match (like, doc) {
            (Value::Object(l), Value::Object(d)) => {
                assert_eq!(l.len(), d.len(), "{like} vs {doc}");
                Value::Object(
                    l.iter()
                        .map(|(k, lv)| (k.clone(), sorted_like(lv, &d[k])))
                        .collect(),
                )
            }
            _ => doc.clone(),
        }
    }

    #[test]
    fn values_without_an_env_form_stay_in_the_file() {
        let doc = json!({"log_level": {"nested": 1}, "network": {"interfaces": ["a,b"]}});
        let conv = config_to_env(&doc);
        assert!(conv.vars.is_empty(), "{:?}", conv.vars);
        let rules: Vec<_> = conv
            .findings
            .iter()
            .map(|f| (f.rule.as_str(), f.path.as_str()))
            .collect();
        assert!(rules.contains(&("no-env-form", "log_level")), "{rules:?}");
        assert!(
            rules.contains(&("no-env-form", "network.interfaces")),
            "{rules:?}"
        );
        assert_eq!(conv.remainder, doc);
    }

    #[test]
    fn remainder_keeps_what_env_cannot_hold() {
        let doc = json!({"log_level": "INFO", "ebpf": {"bpf_debug": true},
            "discovery": {"instrument": [{"open_ports": 80}], "min_process_age": "5s"}});
        let conv = config_to_env(&doc);
        assert_eq!(
            conv.remainder,
            json!({"discovery": {"instrument": [{"open_ports": 80}]}})
        );
        assert_eq!(conv.vars.len(), 3);
    }

    #[test]
    fn shared_variable_is_not_written_when_it_would_set_more() {
        let doc = json!({"otel_traces_export": {"protocol": "grpc"}});
        let conv = config_to_env(&doc);
        assert!(conv.vars.is_empty());
        assert!(
            conv.findings[0]
                .message
                .contains("would also set otel_metrics_export.protocol")
        );
        assert_eq!(conv.remainder, doc);
    }

    #[test]
    fn shared_variables_need_agreement() {
        let doc = json!({"otel_traces_export": {"protocol": "grpc"},
                         "otel_metrics_export": {"protocol": "http/protobuf"}});
        let conv = config_to_env(&doc);
        assert!(!conv.vars.contains_key("OTEL_EXPORTER_OTLP_PROTOCOL"));
        assert!(conv.findings.iter().any(|f| f.rule == "env-conflict"));
        let doc = json!({"otel_traces_export": {"protocol": "grpc"},
                         "otel_metrics_export": {"protocol": "grpc"}});
        assert_eq!(
            config_to_env(&doc).vars["OTEL_EXPORTER_OTLP_PROTOCOL"],
            "grpc"
        );
    }

    #[test]
    fn keys_without_variables_are_reported() {
        let doc = json!({"discovery": {"instrument": [{"open_ports": 80}]},
                         "routes": {"unmatched": "heuristic"}, "log_level": "INFO"});
        let conv = config_to_env(&doc);
        assert_eq!(conv.vars.len(), 1);
        let paths: Vec<_> = conv.findings.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["discovery.instrument", "routes"]);
    }

    #[test]
    fn env_to_config_handles_legacy_unknown_and_env_only() {
        let conv = env_to_config(&env(&[
            ("BEYLA_OPEN_PORT", "8080"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EBPF_OPEN_PORTS", "1"),
            ("PATH", "/usr/bin"),
        ]));
        assert_eq!(conv.document, json!({"open_port": 8080}));
        let rules: Vec<_> = conv.findings.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, ["legacy-env", "unknown-env", "env-only"]);
        assert!(
            conv.findings[1]
                .message
                .contains("did you mean OTEL_EBPF_OPEN_PORT?")
        );
    }

    #[test]
    fn effective_env_maps_beyla_and_checks_values() {
        let mut r = Report::default();
        let e = effective_env(
            &env(&[
                ("BEYLA_TRACE_PRINTER", "text"),
                ("OTEL_EBPF_PROMETHEUS_PORT", "abc"),
                ("OTEL_EBPF_LOG_LEVEL", ""),
                ("OTEL_EBPF_NETWORK_METRICS", "true"),
                ("OTEL_EBPF_FOO", "1"),
            ]),
            &mut r,
        );
        assert_eq!(
            e.get("OTEL_EBPF_TRACE_PRINTER").map(String::as_str),
            Some("text")
        );
        assert!(!e.contains_key("OTEL_EBPF_LOG_LEVEL"));
        let by_path = |p: &str| r.at(p).map(|f| f.rule.clone()).collect::<Vec<_>>();
        assert_eq!(by_path("env:BEYLA_TRACE_PRINTER"), ["legacy-env"]);
        assert_eq!(by_path("env:OTEL_EBPF_PROMETHEUS_PORT"), ["type"]);
        assert_eq!(by_path("env:OTEL_EBPF_NETWORK_METRICS"), ["deprecated-env"]);
        assert_eq!(by_path("env:OTEL_EBPF_FOO"), ["unknown-env"]);
    }

    #[test]
    fn env_markdown_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/ENV.md");
        let want = env_markdown();
        if std::env::var_os("OBI_CONFIG_BLESS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "ENV.md is stale: run OBI_CONFIG_BLESS=1 cargo test -p obi-config env_markdown"
        );
    }

    #[test]
    fn beyla_name_loses_to_the_obi_name() {
        let mut r = Report::default();
        let e = effective_env(
            &env(&[("BEYLA_OPEN_PORT", "1"), ("OTEL_EBPF_OPEN_PORT", "2")]),
            &mut r,
        );
        assert_eq!(e.get("OTEL_EBPF_OPEN_PORT").map(String::as_str), Some("2"));
        let f = r.at("env:BEYLA_OPEN_PORT").next().unwrap();
        assert!(
            f.message.contains("OTEL_EBPF_OPEN_PORT wins"),
            "{}",
            f.message
        );
    }

    #[test]
    fn go_booleans_in_env() {
        assert_eq!(value_from_env(Kind::Bool, "TRUE"), json!(true));
        assert_eq!(value_from_env(Kind::Bool, "0"), json!(false));
        assert_eq!(value_from_env(Kind::Bool, "yes"), json!("yes"));
    }
}
