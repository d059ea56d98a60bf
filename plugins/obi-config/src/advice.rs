//! Layer 3: problems OBI starts with but never reports — an OTLP port that contradicts the
//! protocol, `localhost` endpoints where they cannot reach a collector, a path OBI will append
//! twice, two listeners on one port, environment variables that silently override the file,
//! namespaces OBI excludes by default. (Unknown, misplaced and deprecated keys are found during
//! the type walk in [`crate::validate`].)

use crate::facts;
use crate::finding::{Finding, Report, Severity};
use crate::rules::{Setting, setting};
use crate::validate::{Target, parse_url, show};
use serde_json::Value;
use std::collections::BTreeMap;

pub(crate) fn check(
    doc: &Value,
    env: &BTreeMap<String, String>,
    target: Target,
    report: &mut Report,
) {
    endpoints(doc, env, target, report);
    duplicate_ports(doc, env, report);
    env_overrides(doc, env, report);
    excluded_namespaces(doc, report);
    cache_address(doc, env, target, report);
    tc_source(doc, env, report);
    shadowed_selectors(doc, env, report);
    sampler_ratio(doc, env, report);
}

/// Selection settings OBI ignores because another one wins.
fn shadowed_selectors(doc: &Value, env: &BTreeMap<String, String>, report: &mut Report) {
    let port = setting(doc, env, "open_port", &["OTEL_EBPF_OPEN_PORT"]);
    let exec = setting(doc, env, "executable_path", &["OTEL_EBPF_EXECUTABLE_PATH"]);
    if let (Some(port), Some(exec)) = (port, exec) {
        report.push(Finding::new(
            "shadowed",
            Severity::Warning,
            &exec.source,
            format!(
                "ignored: when {} is set, OBI does not use executable_path; use discovery.instrument entries to select by port and by path",
                port.source
            ),
        ));
    }
    let discovery = doc.get("discovery");
    let instrument = discovery
        .and_then(|d| d.get("instrument"))
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if instrument {
        for key in ["services", "exclude_services"] {
            if discovery
                .and_then(|d| d.get(key))
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
            {
                report.push(Finding::new(
                    "shadowed",
                    Severity::Warning,
                    format!("discovery.{key}"),
                    format!("ignored: OBI uses discovery.instrument when it is set, and then ignores discovery.{key}; move these entries to discovery.{}", if key == "services" { "instrument" } else { "exclude_instrument" }),
                ));
            }
        }
    }
}

/// Ratio samplers need an argument between 0 and 1.
fn sampler_ratio(doc: &Value, env: &BTreeMap<String, String>, report: &mut Report) {
    let Some(name) = setting(
        doc,
        env,
        "otel_traces_export.sampler.name",
        &["OTEL_TRACES_SAMPLER"],
    ) else {
        return;
    };
    if !name.text().ends_with("traceidratio") {
        return;
    }
    let arg = setting(
        doc,
        env,
        "otel_traces_export.sampler.arg",
        &["OTEL_TRACES_SAMPLER_ARG"],
    );
    let ratio = arg
        .as_ref()
        .and_then(|a| a.text().trim().parse::<f64>().ok());
    match (arg, ratio) {
        (None, _) => report.push(Finding::new(
            "sampler-arg",
            Severity::Info,
            &name.source,
            "no sampler arg: the ratio defaults to 1.0 (every trace is kept); set sampler.arg, e.g. \"0.1\" for 10%",
        )),
        (Some(_), Some(r)) if (0.0..=1.0).contains(&r) => {}
        (Some(a), _) => report.push(Finding::new(
            "sampler-arg",
            Severity::Warning,
            &a.source,
            format!("`{}` is not a ratio between 0 and 1; the sampler falls back to its default", a.text().chars().take(40).collect::<String>()),
        )),
    }
}

fn endpoints(doc: &Value, env: &BTreeMap<String, String>, target: Target, report: &mut Report) {
    let traces_protocol = setting(
        doc,
        env,
        "otel_traces_export.protocol",
        &[
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ],
    );
    let metrics_protocol = setting(
        doc,
        env,
        "otel_metrics_export.protocol",
        &[
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ],
    );
    let traces = setting(
        doc,
        env,
        "otel_traces_export.endpoint",
        &["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"],
    );
    let metrics = setting(
        doc,
        env,
        "otel_metrics_export.endpoint",
        &["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"],
    );
    if let Some(ep) = &traces {
        endpoint(ep, false, &[traces_protocol.as_ref()], target, report);
    }
    if let Some(ep) = &metrics {
        endpoint(ep, false, &[metrics_protocol.as_ref()], target, report);
    }
    if let Some(common) = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") {
        let ep = Setting {
            value: Value::String(common.clone()),
            source: "env:OTEL_EXPORTER_OTLP_ENDPOINT".into(),
        };
        let mut signals = Vec::new();
        if traces.is_none() {
            signals.push(traces_protocol.as_ref());
        }
        if metrics.is_none() {
            signals.push(metrics_protocol.as_ref());
        }
        if !signals.is_empty() {
            endpoint(&ep, true, &signals, target, report);
        }
    }
}

fn endpoint(
    ep: &Setting,
    common: bool,
    signals: &[Option<&Setting>],
    target: Target,
    report: &mut Report,
) {
    let text = ep.text();
    if text.contains("${") {
        return;
    }
    let Ok(url) = parse_url(&text) else {
        if ep.source.starts_with("env:") {
            report.push(Finding::new(
                "url",
                Severity::Error,
                &ep.source,
                format!(
                    "{} is not a URL with a scheme and a host, like http://collector:4318",
                    crate::validate::redact_url(&text)
                ),
            ));
        }
        return;
    };
    let port = url.port.clone().unwrap_or_default();
    for protocol in signals.iter().flatten() {
        let p = protocol.text();
        if port.ends_with(facts::OTLP_GRPC_PORT) && p.starts_with("http/") {
            report.push(Finding::new(
                "otlp-port-protocol",
                Severity::Warning,
                &ep.source,
                format!(
                    "port {port} is the OTLP/gRPC port but the protocol is {p} (set by {}); use port {} for HTTP, or protocol grpc",
                    protocol.source,
                    facts::OTLP_HTTP_PORT
                ),
            ));
        } else if port.ends_with(facts::OTLP_HTTP_PORT) && p == "grpc" {
            report.push(Finding::new(
                "otlp-port-protocol",
                Severity::Warning,
                &ep.source,
                format!(
                    "port {port} is the OTLP/HTTP port but the protocol is grpc (set by {}); use port {} for gRPC, or protocol http/protobuf",
                    protocol.source,
                    facts::OTLP_GRPC_PORT
                ),
            ));
        }
    }
    let trimmed = url.path.trim_end_matches('/');
    if common && (trimmed.ends_with("/v1/traces") || trimmed.ends_with("/v1/metrics")) {
        report.push(Finding::new(
            "otlp-path",
            Severity::Warning,
            &ep.source,
            format!(
                "OBI appends /v1/traces and /v1/metrics to OTEL_EXPORTER_OTLP_ENDPOINT, so this becomes {}/v1/...; drop the path, or use OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_METRICS_ENDPOINT for a full URL",
                crate::validate::redact_url(text.trim_end_matches('/'))
            ),
        ));
    }
    if !common
        && !trimmed.is_empty()
        && signals
            .iter()
            .any(|p| p.is_some_and(|p| p.text() == "grpc"))
    {
        report.push(Finding::new(
            "otlp-path",
            Severity::Info,
            &ep.source,
            format!("the path `{}` is ignored with protocol grpc", url.path),
        ));
    }
    if let Some(why) = loopback_problem(
        &url.host,
        target,
        "use http://${HOST_IP}:4318 (HOST_IP from the downward API status.hostIP) for a \
         collector on the node, or the collector Service's DNS name",
    ) {
        report.push(Finding::new(
            "localhost",
            Severity::Warning,
            &ep.source,
            why,
        ));
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h == "localhost"
        || h.ends_with(".localhost")
        || h.starts_with("127.")
        || h == "::1"
        || h == "0.0.0.0"
        || h == "::"
}

fn loopback_problem(host: &str, target: Target, k8s_hint: &str) -> Option<String> {
    if !is_loopback(host) {
        return None;
    }
    match target {
        Target::Local => None,
        Target::Container => Some(format!(
            "`{host}` inside OBI's container is the container itself, not this host: unless the container runs with --network=host, use the collector's container name on a shared network, or host.docker.internal"
        )),
        Target::Kubernetes => Some(format!(
            "`{host}` inside a pod is the pod itself, not the node: {k8s_hint}"
        )),
    }
}

fn cache_address(doc: &Value, env: &BTreeMap<String, String>, target: Target, report: &mut Report) {
    if let Some(s) = setting(
        doc,
        env,
        "attributes.kubernetes.meta_cache_address",
        &["OTEL_EBPF_KUBE_META_CACHE_ADDRESS"],
    ) && target == Target::Kubernetes
    {
        let text = s.text();
        let host = text.rsplit_once(':').map_or(text.as_str(), |(h, _)| h);
        if let Some(why) = loopback_problem(
            host.trim_matches(['[', ']']),
            target,
            "use the k8s-cache Service's DNS name and port (e.g. obi-k8s-cache:50055)",
        ) {
            report.push(Finding::new("localhost", Severity::Warning, &s.source, why));
        }
    }
}

/// A listener: port key and variable, and for the Prometheus endpoints the path key, variable
/// and default (OBI serves Prometheus endpoints that share a port from one server, by path).
type Listener = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str, &'static str)>,
);

fn duplicate_ports(doc: &Value, env: &BTreeMap<String, String>, report: &mut Report) {
    let listeners: [Listener; 4] = [
        (
            "prometheus_export.port",
            "OTEL_EBPF_PROMETHEUS_PORT",
            Some((
                "prometheus_export.path",
                "OTEL_EBPF_PROMETHEUS_PATH",
                "/metrics",
            )),
        ),
        (
            "internal_metrics.prometheus.port",
            "OTEL_EBPF_INTERNAL_METRICS_PROMETHEUS_PORT",
            Some((
                "internal_metrics.prometheus.path",
                "OTEL_EBPF_INTERNAL_METRICS_PROMETHEUS_PATH",
                "/internal/metrics",
            )),
        ),
        ("health_check.port", "OTEL_EBPF_HEALTH_CHECK_PORT", None),
        ("profile_port", "OTEL_EBPF_PROFILE_PORT", None),
    ];
    // (port, where it is set, Prometheus path if it is a Prometheus endpoint)
    let mut seen: Vec<(i64, String, Option<String>)> = Vec::new();
    for (path, name, prom) in listeners {
        let Some(s) = setting(doc, env, path, &[name]) else {
            continue;
        };
        let Ok(port) = s.text().trim().parse::<i64>() else {
            continue;
        };
        if port == 0 {
            continue;
        }
        let prom_path = prom.map(|(key, var, default)| {
            setting(doc, env, key, &[var]).map_or_else(|| default.to_string(), |p| p.text())
        });
        let clash = seen.iter().find(|(p, _, other)| {
            *p == port
                && match (&prom_path, other) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
        });
        if let Some((_, first, other)) = clash {
            let message = match other {
                Some(p) => format!(
                    "port {port} and path {p} are also used by {first}; give one of them another path"
                ),
                None => {
                    format!("port {port} is also used by {first}; give each listener its own port")
                }
            };
            report.push(Finding::new(
                "port-clash",
                Severity::Warning,
                &s.source,
                message,
            ));
        } else {
            seen.push((port, s.source.clone(), prom_path));
        }
    }
}

fn env_overrides(doc: &Value, env: &BTreeMap<String, String>, report: &mut Report) {
    for fact in facts::KEYS {
        let Some(name) = fact.env else { continue };
        let Some(env_value) = env.get(name) else {
            continue;
        };
        let Some(yaml) = fact.path.split('.').try_fold(doc, |v, k| v.get(k)) else {
            continue;
        };
        if yaml.is_null() {
            continue;
        }
        let parsed = crate::env::value_from_env(fact.kind, env_value);
        if &parsed == yaml
            || crate::env::value_to_env(yaml).is_some_and(|s| s.eq_ignore_ascii_case(env_value))
        {
            continue;
        }
        report.push(Finding::new(
            "env-override",
            Severity::Warning,
            fact.path,
            format!(
                "{name}={} overrides {} from the file (environment variables win); remove one of them",
                short(&crate::validate::redact_url(env_value)),
                crate::validate::redact_url(&show(yaml))
            ),
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

fn excluded_namespaces(doc: &Value, report: &mut Report) {
    let overridden = doc
        .get("discovery")
        .and_then(|d| d.get("default_exclude_instrument"))
        .is_some();
    if overridden {
        return;
    }
    let Some(items) = doc
        .get("discovery")
        .and_then(|d| d.get("instrument"))
        .and_then(Value::as_array)
    else {
        return;
    };
    for (i, item) in items.iter().enumerate().take(1000) {
        if let Some(ns) = item.get("k8s_namespace").and_then(Value::as_str)
            && facts::DEFAULT_EXCLUDED_NAMESPACES.contains(&ns)
        {
            report.push(Finding::new(
                "excluded-namespace",
                Severity::Warning,
                format!("discovery.instrument[{i}].k8s_namespace"),
                format!("OBI never instruments namespace `{ns}` unless discovery.default_exclude_instrument is overridden (it excludes {} by default)", facts::DEFAULT_EXCLUDED_NAMESPACES.join(", ")),
            ));
        }
    }
}

fn tc_source(doc: &Value, env: &BTreeMap<String, String>, report: &mut Report) {
    if let Some(s) = setting(doc, env, "network.source", &["OTEL_EBPF_NETWORK_SOURCE"])
        && s.text() == "tc"
    {
        report.push(Finding::new(
            "tc-source",
            Severity::Info,
            &s.source,
            "the tc source conflicts with other tc eBPF programs (e.g. Cilium) and needs CAP_NET_ADMIN; socket_filter is the safer default",
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::finding::Severity;
    use crate::validate::{Target, ValidateOptions, validate};
    use serde_json::{Value, json};

    fn run(doc: Value, target: Target, env: &[(&str, &str)]) -> crate::Report {
        let opts = ValidateOptions {
            target,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        validate(&doc, &opts)
    }

    fn rules_at(r: &crate::Report, path: &str) -> Vec<String> {
        r.at(path).map(|f| f.rule.clone()).collect()
    }

    #[test]
    fn port_contradicting_protocol() {
        let r = run(
            json!({"open_port": 80, "otel_traces_export": {
            "endpoint": "http://c:4317", "protocol": "http/protobuf"}}),
            Target::Local,
            &[],
        );
        assert_eq!(
            rules_at(&r, "otel_traces_export.endpoint"),
            ["otlp-port-protocol"]
        );
        let r = run(
            json!({"open_port": 80, "otel_metrics_export": {
            "endpoint": "http://c:4318", "protocol": "grpc"}}),
            Target::Local,
            &[],
        );
        assert_eq!(
            rules_at(&r, "otel_metrics_export.endpoint"),
            ["otlp-port-protocol"]
        );
        // protocol from env, endpoint from env
        let r = run(
            json!({"open_port": 80}),
            Target::Local,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ],
        );
        assert_eq!(
            rules_at(&r, "env:OTEL_EXPORTER_OTLP_ENDPOINT"),
            ["otlp-port-protocol", "otlp-port-protocol"]
        );
        // no protocol: OBI guesses from the port, nothing to say
        let r = run(
            json!({"open_port": 80, "otel_traces_export": {"endpoint": "http://c:4317"}}),
            Target::Local,
            &[],
        );
        assert!(r.findings.is_empty(), "{}", r.summary());
    }

    #[test]
    fn localhost_depends_on_target() {
        let doc =
            json!({"open_port": 80, "otel_traces_export": {"endpoint": "http://localhost:4318"}});
        assert!(run(doc.clone(), Target::Local, &[]).findings.is_empty());
        let r = run(doc.clone(), Target::Kubernetes, &[]);
        let f = r.at("otel_traces_export.endpoint").next().unwrap();
        assert_eq!(
            (f.rule.as_str(), f.severity),
            ("localhost", Severity::Warning)
        );
        assert!(f.message.contains("HOST_IP"));
        let r = run(doc, Target::Container, &[]);
        assert_eq!(rules_at(&r, "otel_traces_export.endpoint"), ["localhost"]);
        let r = run(
            json!({"open_port": 80}),
            Target::Kubernetes,
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")],
        );
        assert_eq!(
            rules_at(&r, "env:OTEL_EXPORTER_OTLP_ENDPOINT"),
            ["localhost"]
        );
        let r = run(
            json!({"open_port": 80, "trace_printer": "text", "attributes": {"kubernetes": {
            "meta_cache_address": "localhost:50055"}}}),
            Target::Kubernetes,
            &[],
        );
        assert_eq!(
            rules_at(&r, "attributes.kubernetes.meta_cache_address"),
            ["localhost"]
        );
    }

    #[test]
    fn endpoint_credentials_stay_out_of_messages() {
        let r = run(
            json!({"open_port": 80}),
            Target::Kubernetes,
            &[(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://me:hunter2@localhost:4318/v1/traces",
            )],
        );
        assert!(r.findings.len() >= 2, "{}", r.summary());
        assert!(!r.summary().contains("hunter2"), "{}", r.summary());
        let r = run(
            json!({"open_port": 80}),
            Target::Local,
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "me:hunter2@nowhere")],
        );
        assert!(!r.summary().contains("hunter2"), "{}", r.summary());
    }

    #[test]
    fn common_endpoint_with_signal_path() {
        let r = run(
            json!({"open_port": 80}),
            Target::Local,
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/v1/traces")],
        );
        assert_eq!(
            rules_at(&r, "env:OTEL_EXPORTER_OTLP_ENDPOINT"),
            ["otlp-path"]
        );
        let r = run(
            json!({"open_port": 80}),
            Target::Local,
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")],
        );
        assert!(!r.is_valid());
        assert_eq!(rules_at(&r, "env:OTEL_EXPORTER_OTLP_ENDPOINT"), ["url"]);
    }

    #[test]
    fn grpc_path_is_ignored() {
        let r = run(
            json!({"open_port": 80, "otel_traces_export": {
            "endpoint": "http://c:4317/v1/traces", "protocol": "grpc"}}),
            Target::Local,
            &[],
        );
        let f = r.at("otel_traces_export.endpoint").next().unwrap();
        assert_eq!((f.rule.as_str(), f.severity), ("otlp-path", Severity::Info));
    }

    #[test]
    fn prometheus_endpoints_may_share_a_port_by_path() {
        let r = run(
            json!({"open_port": 80, "prometheus_export": {"port": 9090},
            "internal_metrics": {"exporter": "prometheus", "prometheus": {"port": 9090}}}),
            Target::Local,
            &[],
        );
        assert!(r.findings.is_empty(), "{}", r.summary());
        let r = run(
            json!({"open_port": 80, "prometheus_export": {"port": 9090, "path": "/m"},
            "internal_metrics": {"prometheus": {"port": 9090, "path": "/m"}}}),
            Target::Local,
            &[],
        );
        assert_eq!(
            rules_at(&r, "internal_metrics.prometheus.port"),
            ["port-clash"]
        );
    }

    #[test]
    fn clashing_ports() {
        let r = run(
            json!({"open_port": 80, "prometheus_export": {"port": 9090},
            "health_check": {"port": 9090}}),
            Target::Local,
            &[],
        );
        assert_eq!(rules_at(&r, "health_check.port"), ["port-clash"]);
    }

    #[test]
    fn overrides_do_not_show_credentials() {
        let r = run(
            json!({"open_port": 80, "otel_traces_export": {"endpoint": "http://a:pw1@c:4318"}}),
            Target::Local,
            &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:pw2@d:4318")],
        );
        assert!(
            r.at("otel_traces_export.endpoint")
                .any(|f| f.rule == "env-override")
        );
        let s = r.summary();
        assert!(!s.contains("pw1") && !s.contains("pw2"), "{s}");
    }

    #[test]
    fn env_overriding_the_file() {
        let r = run(
            json!({"open_port": 80, "trace_printer": "text", "log_level": "INFO"}),
            Target::Local,
            &[
                ("OTEL_EBPF_LOG_LEVEL", "DEBUG"),
                ("OTEL_EBPF_OPEN_PORT", "80"),
            ],
        );
        assert_eq!(rules_at(&r, "log_level"), ["env-override"]);
        assert!(
            rules_at(&r, "open_port").is_empty(),
            "same value is no override"
        );
    }

    #[test]
    fn default_excluded_namespace() {
        let r = run(
            json!({"trace_printer": "text", "discovery": {"instrument": [
            {"k8s_namespace": "monitoring"}, {"k8s_namespace": "shop"}]}}),
            Target::Kubernetes,
            &[],
        );
        assert_eq!(
            rules_at(&r, "discovery.instrument[0].k8s_namespace"),
            ["excluded-namespace"]
        );
        assert!(rules_at(&r, "discovery.instrument[1].k8s_namespace").is_empty());
    }

    #[test]
    fn shadowed_selection() {
        let r = run(
            json!({"open_port": 80, "executable_path": "java", "trace_printer": "text"}),
            Target::Local,
            &[],
        );
        assert!(r.at("executable_path").any(|f| f.rule == "shadowed"));
        let r = run(
            json!({"trace_printer": "text", "discovery": {
            "instrument": [{"open_ports": 80}], "services": [{"open_ports": 81}]}}),
            Target::Local,
            &[],
        );
        assert!(r.at("discovery.services").any(|f| f.rule == "shadowed"));
    }

    #[test]
    fn sampler_ratio_checked() {
        let doc = |arg: Value| {
            json!({"open_port": 80, "otel_traces_export": {
            "endpoint": "http://c:4318", "sampler": {"name": "parentbased_traceidratio", "arg": arg}}})
        };
        let r = run(doc(json!("0.25")), Target::Local, &[]);
        assert!(r.findings.is_empty(), "{}", r.summary());
        let r = run(doc(json!(0.5)), Target::Local, &[]);
        assert!(r.findings.is_empty(), "{}", r.summary());
        let r = run(doc(json!("lots")), Target::Local, &[]);
        assert!(
            r.at("otel_traces_export.sampler.arg")
                .any(|f| f.rule == "sampler-arg")
        );
        let r = run(doc(json!(null)), Target::Local, &[]);
        assert!(
            r.at("otel_traces_export.sampler.name")
                .any(|f| f.rule == "sampler-arg")
        );
    }

    #[test]
    fn tc_source_note() {
        let r = run(
            json!({"network": {"source": "tc", "enable": true, "print_flows": true}}),
            Target::Local,
            &[],
        );
        assert!(
            r.at("network.source")
                .any(|f| f.rule == "tc-source" && f.severity == Severity::Info)
        );
    }
}
