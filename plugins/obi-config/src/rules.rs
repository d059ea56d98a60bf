//! Layer 2: OBI's own startup validation (`Config.Validate` in `pkg/obi/config.go`), reproduced
//! with OBI's messages and with OBI's environment variables taken into account (environment
//! variables win over the file, empty values are ignored).
//!
//! OBI stops at the first failing rule; these checks report every failing rule at once.

use crate::facts::{self, messages};
use crate::finding::{Finding, Report, Severity};
use crate::validate::parse_go_duration;
use serde_json::Value;
use std::collections::BTreeMap;

/// A setting after applying the environment, with where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Setting {
    /// The value (env values are text).
    pub value: Value,
    /// A finding path: the YAML path or `env:NAME`.
    pub source: String,
}

impl Setting {
    pub(crate) fn text(&self) -> String {
        scalar_text(&self.value)
    }
}

/// A scalar as text (`"x"` -> `x`, `5` -> `5`, null -> empty).
pub(crate) fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Reads the effective value of a YAML path, with the environment variables that override it
/// (first one set wins).
pub(crate) fn setting(
    doc: &Value,
    env: &BTreeMap<String, String>,
    path: &str,
    env_names: &[&str],
) -> Option<Setting> {
    for name in env_names {
        if let Some(v) = env.get(*name) {
            return Some(Setting {
                value: Value::String(v.clone()),
                source: format!("env:{name}"),
            });
        }
    }
    let v = path.split('.').try_fold(doc, |v, k| v.get(k))?;
    if v.is_null() {
        return None;
    }
    Some(Setting {
        value: v.clone(),
        source: path.to_string(),
    })
}

fn dynamic(s: &Setting) -> bool {
    matches!(&s.value, Value::String(t) if t.contains("${"))
}

fn truthy(s: &Setting) -> bool {
    match &s.value {
        Value::Bool(b) => *b,
        Value::String(t) => matches!(t.trim(), "1" | "t" | "T" | "true" | "TRUE" | "True"),
        _ => false,
    }
}

fn non_empty(s: &Setting) -> bool {
    match &s.value {
        Value::Null => false,
        Value::String(t) => !t.trim().is_empty(),
        Value::Number(n) => n.as_i64() != Some(0),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bool(b) => *b,
    }
}

fn list_of(s: &Setting) -> Vec<String> {
    match &s.value {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(|x| x.trim().to_string()))
            .collect(),
        Value::String(t) => t
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// The facts the startup rules depend on.
#[derive(Debug, Clone)]
pub(crate) struct Effective {
    /// What enables application observability (sources), empty if nothing.
    pub app_sources: Vec<String>,
    /// The setting that enables network observability, if any.
    pub net_source: Option<String>,
    /// OTLP traces are exported (endpoint or debug protocol).
    pub traces: Option<String>,
    /// OTLP metrics endpoint, and where it is set.
    pub metrics_endpoint: Option<Setting>,
    /// Prometheus port is non-zero.
    pub prometheus: Option<Setting>,
    /// Trace printer setting.
    pub trace_printer: Option<Setting>,
    /// Metric features in effect, and where they are set.
    pub features: (Vec<String>, String),
    /// `network.print_flows`.
    pub print_flows: bool,
}

fn has_feature(features: &[String], wanted: &[&str]) -> bool {
    features
        .iter()
        .any(|f| f == "*" || f == "all" || wanted.contains(&f.as_str()))
}

pub(crate) fn effective(doc: &Value, env: &BTreeMap<String, String>) -> Effective {
    let mut app_sources = Vec::new();
    for (path, names) in [
        ("open_port", &["OTEL_EBPF_OPEN_PORT"][..]),
        ("executable_path", &["OTEL_EBPF_EXECUTABLE_PATH"][..]),
        ("target_pids", &["OTEL_EBPF_TARGET_PID"][..]),
        ("discovery.instrument", &[][..]),
        ("discovery.services", &[][..]),
    ] {
        if let Some(s) = setting(doc, env, path, names)
            && non_empty(&s)
        {
            app_sources.push(s.source);
        }
    }
    for name in facts::APP_SELECTOR_ENV {
        let source = format!("env:{name}");
        if env.contains_key(*name) && !app_sources.contains(&source) {
            app_sources.push(source);
        }
    }

    let common = env.get("OTEL_EXPORTER_OTLP_ENDPOINT").map(|v| Setting {
        value: Value::String(v.clone()),
        source: "env:OTEL_EXPORTER_OTLP_ENDPOINT".into(),
    });
    let traces_endpoint = setting(
        doc,
        env,
        "otel_traces_export.endpoint",
        &["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"],
    )
    .filter(non_empty)
    .or_else(|| common.clone());
    let traces_protocol = setting(
        doc,
        env,
        "otel_traces_export.protocol",
        &[
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ],
    );
    let traces = traces_endpoint.map(|s| s.source).or_else(|| {
        traces_protocol
            .filter(|p| p.text() == "debug")
            .map(|p| p.source)
    });
    let metrics_endpoint = setting(
        doc,
        env,
        "otel_metrics_export.endpoint",
        &["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"],
    )
    .filter(non_empty)
    .or(common);
    let prometheus = setting(
        doc,
        env,
        "prometheus_export.port",
        &["OTEL_EBPF_PROMETHEUS_PORT"],
    )
    // A value still holding an unresolved `${VAR}` is assumed to be set to something useful:
    // the caller did not say what the variable will hold.
    .filter(|s| dynamic(s) || s.text().trim().parse::<i64>().is_ok_and(|p| p != 0));
    let trace_printer = setting(doc, env, "trace_printer", &["OTEL_EBPF_TRACE_PRINTER"]);

    // Features: metrics.features (default: application); the deprecated per-exporter lists
    // win when their exporter is on; the deprecated network.enable adds `network`.
    let mut features = setting(
        doc,
        env,
        "metrics.features",
        &["OTEL_EBPF_METRICS_FEATURES", "OTEL_EBPF_METRIC_FEATURES"],
    )
    .map(|s| (list_of(&s), s.source))
    .unwrap_or_else(|| {
        (
            vec!["application".to_string()],
            "metrics.features".to_string(),
        )
    });
    if metrics_endpoint.is_some()
        && let Some(s) = setting(doc, env, "otel_metrics_export.features", &[]).filter(non_empty)
    {
        features = (list_of(&s), s.source);
    } else if prometheus.is_some()
        && let Some(s) = setting(
            doc,
            env,
            "prometheus_export.features",
            &["OTEL_EBPF_PROMETHEUS_FEATURES"],
        )
        .filter(non_empty)
    {
        features = (list_of(&s), s.source);
    }
    let network_enable =
        setting(doc, env, "network.enable", &["OTEL_EBPF_NETWORK_METRICS"]).filter(truthy);
    if network_enable.is_some() && !features.0.iter().any(|f| f == "network") {
        features.0.push("network".to_string());
    }
    let any_network = has_feature(&features.0, &["network", "network_inter_zone"]);
    let net_source = network_enable.map(|s| s.source).or_else(|| {
        (any_network && (prometheus.is_some() || metrics_endpoint.is_some()))
            .then(|| features.1.clone())
    });
    let print_flows = setting(
        doc,
        env,
        "network.print_flows",
        &["OTEL_EBPF_NETWORK_PRINT_FLOWS"],
    )
    .is_some_and(|s| truthy(&s));

    Effective {
        app_sources,
        net_source,
        traces,
        metrics_endpoint,
        prometheus,
        trace_printer,
        features,
        print_flows,
    }
}

/// Runs OBI's startup rules 1-6.
pub(crate) fn check(doc: &Value, env: &BTreeMap<String, String>, report: &mut Report) {
    let e = effective(doc, env);
    let app = !e.app_sources.is_empty();
    let net = e.net_source.is_some();

    // Rule 0: every selector names something to select by (Discovery.Validate).
    for (path, name) in facts::VALIDATED_SELECTOR_LISTS {
        let Some(items) = path
            .split('.')
            .try_fold(doc, |v, k| v.get(k))
            .and_then(Value::as_array)
        else {
            continue;
        };
        for (i, item) in items.iter().enumerate().take(1000) {
            let Some(map) = item.as_object() else {
                continue;
            };
            let has_criteria = facts::SELECTOR_CRITERIA.iter().any(|k| {
                map.get(*k).is_some_and(|v| {
                    non_empty(&Setting {
                        value: v.clone(),
                        source: String::new(),
                    })
                })
            });
            if !has_criteria {
                report.push(Finding::new(
                    "obi-selector-criteria",
                    Severity::Error,
                    format!("{path}[{i}]"),
                    format!(
                        "error in {name} YAML property: entry [{i}] {}; add open_ports, exe_path, \
                         languages, target_pids or a k8s_* attribute (cmd_args or \
                         containers_only alone do not select)",
                        messages::SELECTOR_WITHOUT_CRITERIA
                    ),
                ));
            }
        }
    }

    // Rule 1
    if !app && !net {
        report.push(Finding::new(
            "obi-no-feature",
            Severity::Error,
            "",
            format!(
                "{}. OBI exits at startup with this error. Select what to instrument \
                 (discovery.instrument with open_ports or exe_path, open_port, or the \
                 OTEL_EBPF_OPEN_PORT / OTEL_EBPF_AUTO_TARGET_EXE variables), or enable network \
                 metrics (`network` in metrics.features plus an OTLP metrics endpoint or a \
                 Prometheus port)",
                messages::NO_FEATURE
            ),
        ));
    }

    // Rule 5 (informers sync timeout)
    if let Some(s) = setting(
        doc,
        env,
        "attributes.kubernetes.informers_sync_timeout",
        &["OTEL_EBPF_KUBE_INFORMERS_SYNC_TIMEOUT"],
    ) && let Some(ns) = parse_go_duration(&s.text())
        && ns == 0.0
    {
        report.push(Finding::new(
            "obi-informers-timeout",
            Severity::Error,
            &s.source,
            format!(
                "{}; remove it or set e.g. 30s",
                messages::INFORMERS_SYNC_TIMEOUT
            ),
        ));
    }

    // Rule 2
    if let Some(net_source) = &e.net_source
        && e.metrics_endpoint.is_none()
        && e.prometheus.is_none()
        && !e.print_flows
    {
        report.push(Finding::new(
            "obi-network-exporter",
            Severity::Error,
            net_source,
            messages::NETWORK_NEEDS_EXPORTER,
        ));
    }

    // Rule 5 (trace printer)
    let printer_enabled = match &e.trace_printer {
        Some(s) if dynamic(s) => true,
        Some(s) => {
            let t = s.text();
            // OBI's TracePrinter.Valid() accepts exactly these values; "" is invalid too.
            if !facts::TRACE_PRINTERS.contains(&t.as_str()) {
                report.push(Finding::new(
                    "obi-trace-printer",
                    Severity::Error,
                    &s.source,
                    format!(
                        "{}: '{}'; use one of: {}",
                        messages::INVALID_TRACE_PRINTER,
                        t.chars().take(60).collect::<String>(),
                        facts::TRACE_PRINTERS.join(", ")
                    ),
                ));
                false
            } else {
                t != "disabled"
            }
        }
        None => false,
    };

    // Rule 3
    if app
        && !printer_enabled
        && e.metrics_endpoint.is_none()
        && e.traces.is_none()
        && e.prometheus.is_none()
    {
        report.push(Finding::new(
            "obi-no-exporter",
            Severity::Error,
            "",
            format!(
                "{}. Set otel_traces_export.endpoint (or OTEL_EXPORTER_OTLP_ENDPOINT) to your \
                 collector, e.g. http://localhost:4318, or prometheus_export.port, or \
                 trace_printer: text to print traces to the log",
                messages::NO_EXPORTER
            ),
        ));
    }

    // Rule 4
    if app
        && (e.prometheus.is_some() || e.metrics_endpoint.is_some())
        && e.features.0.iter().any(|f| f == "application_span")
        && e.features.0.iter().any(|f| f == "application_span_otel")
    {
        report.push(Finding::new(
            "obi-span-formats",
            Severity::Error,
            &e.features.1,
            format!("{}; keep only one of them", messages::TWO_SPAN_FORMATS),
        ));
    }

    // Rule 5 (wildcard char: OBI counts bytes)
    if let Some(s) = setting(doc, env, "routes.wildcard_char", &[])
        && s.text().len() > 1
    {
        report.push(Finding::new(
            "obi-wildcard-char",
            Severity::Error,
            &s.source,
            format!(
                "{} (found {:?})",
                messages::WILDCARD_CHAR,
                s.text().chars().take(20).collect::<String>()
            ),
        ));
    }

    // Rule 6
    let exporter = setting(
        doc,
        env,
        "internal_metrics.exporter",
        &["OTEL_EBPF_INTERNAL_METRICS_EXPORTER"],
    );
    if let Some(exp) = exporter.filter(|s| s.text() == "otel") {
        if let Some(port) = setting(
            doc,
            env,
            "internal_metrics.prometheus.port",
            &["OTEL_EBPF_INTERNAL_METRICS_PROMETHEUS_PORT"],
        )
        .filter(|s| s.text().trim().parse::<i64>().is_ok_and(|p| p != 0))
        {
            report.push(Finding::new(
                "obi-internal-metrics",
                Severity::Error,
                &port.source,
                format!(
                    "{}; remove internal_metrics.prometheus.port or set the exporter to prometheus",
                    messages::INTERNAL_BOTH
                ),
            ));
        }
        if e.metrics_endpoint.is_none() {
            report.push(Finding::new(
                "obi-internal-metrics",
                Severity::Error,
                &exp.source,
                format!(
                    "{}; set otel_metrics_export.endpoint (or OTEL_EXPORTER_OTLP_ENDPOINT)",
                    messages::INTERNAL_OTEL_NEEDS_METRICS
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{ValidateOptions, validate};
    use serde_json::json;

    fn run(doc: Value, env: &[(&str, &str)]) -> Report {
        let opts = ValidateOptions {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        validate(&doc, &opts)
    }

    fn rules(r: &Report) -> Vec<&str> {
        r.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.rule.as_str())
            .collect()
    }

    #[test]
    fn minimal_config_from_obi_md_is_valid() {
        let r = run(
            json!({"discovery": {"instrument": [{"open_ports": 8080}]},
                   "otel_traces_export": {"endpoint": "http://localhost:4318"}}),
            &[],
        );
        assert!(r.is_valid(), "{}", r.summary());
    }

    #[test]
    fn rule1_no_feature_reproduces_obi_message() {
        let r = run(json!({}), &[]);
        assert_eq!(rules(&r), ["obi-no-feature"]);
        assert!(r.findings[0].message.starts_with(messages::NO_FEATURE));
        assert_eq!(r.findings[0].path, "");
        // the earlier obi-mcp's env names do not count
        let r = run(json!({}), &[("OBI_NETWORK_METRICS", "true")]);
        assert_eq!(rules(&r), ["obi-no-feature"]);
    }

    #[test]
    fn rule1_satisfied_by_env() {
        for var in [
            "OTEL_EBPF_OPEN_PORT",
            "OTEL_EBPF_AUTO_TARGET_EXE",
            "BEYLA_OPEN_PORT",
        ] {
            let r = run(json!({"trace_printer": "text"}), &[(var, "8080")]);
            assert!(r.is_valid(), "{var}: {}", r.summary());
        }
    }

    #[test]
    fn rule1_satisfied_by_network_features_with_exporter() {
        let r = run(
            json!({"metrics": {"features": ["network"]}, "prometheus_export": {"port": 9400}}),
            &[],
        );
        assert!(r.is_valid(), "{}", r.summary());
        // network feature without an exporter enables nothing
        let r = run(json!({"metrics": {"features": ["network"]}}), &[]);
        assert_eq!(rules(&r), ["obi-no-feature"]);
    }

    #[test]
    fn rule0_selectors_need_criteria() {
        let r = run(
            json!({"trace_printer": "text", "discovery": {"instrument": [
            {"open_ports": 80}, {"containers_only": true}, {"k8s_pod_labels": {"app": "x"}}]}}),
            &[],
        );
        assert_eq!(rules(&r), ["obi-selector-criteria"]);
        let f = &r.findings[0];
        assert_eq!(f.path, "discovery.instrument[1]");
        assert!(f.message.starts_with(
            "error in instrument YAML property: entry [1] should define at least one selection criteria"
        ), "{}", f.message);
        let r = run(
            json!({"open_port": 80, "trace_printer": "text",
            "discovery": {"exclude_instrument": [{"cmd_args": "*--debug*"}]}}),
            &[],
        );
        assert_eq!(rules(&r), ["obi-selector-criteria"]);
        assert_eq!(r.findings[0].path, "discovery.exclude_instrument[0]");
        // the default exclusions are not validated by OBI
        let r = run(
            json!({"open_port": 80, "trace_printer": "text",
            "discovery": {"default_exclude_instrument": [{"exports": []}]}}),
            &[],
        );
        assert!(r.is_valid(), "{}", r.summary());
    }

    #[test]
    fn rule2_network_needs_exporter() {
        let r = run(json!({"network": {"enable": true}}), &[]);
        assert_eq!(rules(&r), ["obi-network-exporter"]);
        let f = r
            .findings
            .iter()
            .find(|f| f.rule == "obi-network-exporter")
            .unwrap();
        assert_eq!(f.path, "network.enable");
        assert_eq!(f.message, messages::NETWORK_NEEDS_EXPORTER);
        let r = run(json!({}), &[("OTEL_EBPF_NETWORK_METRICS", "true")]);
        assert_eq!(rules(&r), ["obi-network-exporter"]);
        assert!(
            r.at("env:OTEL_EBPF_NETWORK_METRICS")
                .any(|f| f.rule == "obi-network-exporter")
        );
        for ok in [
            json!({"network": {"enable": true, "print_flows": true}}),
            json!({"network": {"enable": true}, "otel_metrics_export": {"endpoint": "http://c:4318"}}),
        ] {
            assert!(run(ok.clone(), &[]).is_valid(), "{ok}");
        }
        let r = run(
            json!({"network": {"enable": true}}),
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317")],
        );
        assert!(r.is_valid(), "{}", r.summary());
    }

    #[test]
    fn rule3_app_needs_exporter() {
        let r = run(json!({"open_port": 8080}), &[]);
        assert_eq!(rules(&r), ["obi-no-exporter"]);
        assert!(r.findings[0].message.starts_with(messages::NO_EXPORTER));
        for (doc, env) in [
            (json!({"open_port": 8080, "trace_printer": "json"}), vec![]),
            (
                json!({"open_port": 8080, "prometheus_export": {"port": 9400}}),
                vec![],
            ),
            (
                json!({"open_port": 8080, "otel_traces_export": {"protocol": "debug"}}),
                vec![],
            ),
            (
                json!({"open_port": 8080}),
                vec![("OTEL_EBPF_TRACE_PRINTER", "text")],
            ),
            (
                json!({"open_port": 8080}),
                vec![("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318")],
            ),
            (
                json!({"open_port": 8080}),
                vec![("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://c:4318")],
            ),
            (
                json!({"open_port": 8080}),
                vec![("OTEL_EBPF_PROMETHEUS_PORT", "9400")],
            ),
        ] {
            let r = run(doc.clone(), &env);
            assert!(r.is_valid(), "{doc} {env:?}: {}", r.summary());
        }
        // disabled printer and port 0 are no exporters
        let r = run(
            json!({"open_port": 8080, "trace_printer": "disabled",
            "prometheus_export": {"port": 0}}),
            &[],
        );
        assert_eq!(rules(&r), ["obi-no-exporter"]);
    }

    #[test]
    fn rule4_one_span_format() {
        let r = run(
            json!({"open_port": 80, "prometheus_export": {"port": 9400},
            "metrics": {"features": ["application_span", "application_span_otel"]}}),
            &[],
        );
        assert_eq!(rules(&r), ["obi-span-formats"]);
        assert_eq!(r.findings[0].path, "metrics.features");
        let r = run(
            json!({"open_port": 80, "prometheus_export": {"port": 9400}}),
            &[(
                "OTEL_EBPF_METRICS_FEATURES",
                "application_span,application_span_otel",
            )],
        );
        assert_eq!(r.findings[0].path, "env:OTEL_EBPF_METRICS_FEATURES");
    }

    #[test]
    fn rule5_wildcard_timeout_printer() {
        let base = || json!({"open_port": 80, "trace_printer": "text"});
        let mut d = base();
        d["routes"] = json!({"wildcard_char": "**"});
        assert_eq!(rules(&run(d, &[])), ["obi-wildcard-char"]);
        let mut d = base();
        d["routes"] = json!({"wildcard_char": "é"});
        assert_eq!(
            rules(&run(d, &[])),
            ["obi-wildcard-char"],
            "OBI counts bytes"
        );
        let mut d = base();
        d["attributes"] = json!({"kubernetes": {"informers_sync_timeout": "0s"}});
        let r = run(d, &[]);
        assert_eq!(rules(&r), ["obi-informers-timeout"]);
        assert_eq!(
            r.findings[0].path,
            "attributes.kubernetes.informers_sync_timeout"
        );
        let r = run(base(), &[("OTEL_EBPF_KUBE_INFORMERS_SYNC_TIMEOUT", "0ms")]);
        assert_eq!(rules(&r), ["obi-informers-timeout"]);
        let r = run(json!({"open_port": 80, "trace_printer": "pretty"}), &[]);
        assert_eq!(rules(&r), ["obi-trace-printer", "obi-no-exporter"]);
        assert!(
            r.findings[0]
                .message
                .starts_with("invalid value for trace_printer: 'pretty'")
        );
    }

    #[test]
    fn rule6_internal_metrics() {
        let r = run(
            json!({"open_port": 80, "trace_printer": "text",
            "internal_metrics": {"exporter": "otel"}}),
            &[],
        );
        assert_eq!(rules(&r), ["obi-internal-metrics"]);
        assert!(
            r.findings[0]
                .message
                .starts_with(messages::INTERNAL_OTEL_NEEDS_METRICS)
        );
        let r = run(
            json!({"open_port": 80, "otel_metrics_export": {"endpoint": "http://c:4318"},
            "internal_metrics": {"exporter": "otel", "prometheus": {"port": 9999}}}),
            &[],
        );
        assert_eq!(rules(&r), ["obi-internal-metrics"]);
        assert!(r.findings[0].message.starts_with(messages::INTERNAL_BOTH));
        assert_eq!(r.findings[0].path, "internal_metrics.prometheus.port");
    }

    #[test]
    fn unresolved_variables_are_not_held_against_the_config() {
        let r = run(
            json!({"open_port": 80, "prometheus_export": {"port": "${PROM_PORT}"}}),
            &[],
        );
        assert_eq!(rules(&r), Vec::<&str>::new(), "{}", r.summary());
        let r = run(json!({"open_port": 80, "trace_printer": "${PRINTER}"}), &[]);
        assert_eq!(rules(&r), Vec::<&str>::new(), "{}", r.summary());
        let r = run(
            json!({"open_port": 80, "prometheus_export": {"port": "${PROM_PORT}"}}),
            &[("PROM_PORT", "0")],
        );
        assert_eq!(rules(&r), ["obi-no-exporter"]);
    }

    #[test]
    fn env_wins_over_yaml() {
        // YAML has an exporter, env turns the printer into garbage: OBI uses the env value.
        let r = run(
            json!({"open_port": 80, "trace_printer": "text"}),
            &[("OTEL_EBPF_TRACE_PRINTER", "nope")],
        );
        assert!(rules(&r).contains(&"obi-trace-printer"));
        assert!(
            r.at("env:OTEL_EBPF_TRACE_PRINTER")
                .any(|f| f.rule == "obi-trace-printer")
        );
    }

    #[test]
    fn deprecated_feature_lists_win_when_their_exporter_is_on() {
        let r = run(
            json!({"open_port": 80, "otel_metrics_export": {"endpoint": "http://c:4318",
            "features": ["application_span", "application_span_otel"]}}),
            &[],
        );
        assert!(rules(&r).contains(&"obi-span-formats"));
        assert!(
            r.at("otel_metrics_export.features")
                .any(|f| f.rule == "obi-span-formats")
        );
    }
}
