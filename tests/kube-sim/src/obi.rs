//! A port of OBI's startup validation, run on the config an OBI container would read from its
//! mounted ConfigMap (plus its environment), so a bad config crash-loops like the real thing.

use serde_json::Value;
use std::collections::BTreeMap;

/// The outcome of resolving and validating an OBI container's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigCheck {
    /// OBI would start.
    Valid,
    /// OBI would exit 255 after logging this `msg` and `error`.
    Fatal {
        /// slog `msg` attribute.
        msg: String,
        /// slog `error` attribute.
        error: String,
    },
    /// The ConfigMap volume cannot be mounted (pod stays in ContainerCreating).
    MountFailed(String),
}

/// Whether a container image is OBI (or Beyla).
pub fn is_obi_image(image: &str) -> bool {
    let repo = image.rsplit('/').next().unwrap_or(image);
    let repo = repo.split([':', '@']).next().unwrap_or(repo);
    matches!(
        repo,
        "ebpf-instrument" | "obi" | "beyla" | "opentelemetry-ebpf-instrumentation"
    )
}

fn env_map(container: &Value) -> BTreeMap<String, String> {
    container
        .get("env")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    Some((
                        e.get("name")?.as_str()?.to_string(),
                        e.get("value")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn config_path(container: &Value, env: &BTreeMap<String, String>) -> Option<String> {
    for k in ["OTEL_EBPF_CONFIG_PATH", "BEYLA_CONFIG_PATH"] {
        if let Some(v) = env.get(k).filter(|v| !v.is_empty()) {
            return Some(v.clone());
        }
    }
    let args: Vec<&str> = ["command", "args"]
        .iter()
        .flat_map(|f| {
            container
                .get(*f)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(Value::as_str)
        .collect();
    for (i, a) in args.iter().enumerate() {
        for p in ["--config=", "-config="] {
            if let Some(v) = a.strip_prefix(p) {
                return Some(v.to_string());
            }
        }
        if (*a == "--config" || *a == "-config") && i + 1 < args.len() {
            return Some(args[i + 1].to_string());
        }
    }
    None
}

/// Resolves the file an OBI container reads and validates it.
/// `configmap(name)` returns a ConfigMap's `data` in the pod's namespace.
pub fn check_container(
    pod: &Value,
    container: &Value,
    configmap: &dyn Fn(&str) -> Option<Value>,
) -> ConfigCheck {
    let env = env_map(container);
    let Some(path) = config_path(container, &env) else {
        return validate("", &env);
    };
    let mounts = container
        .get("volumeMounts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mount = mounts
        .iter()
        .filter_map(|m| {
            let mp = m.get("mountPath")?.as_str()?.trim_end_matches('/');
            let rest = path.strip_prefix(mp)?;
            if let Some(sub) = m.get("subPath").and_then(Value::as_str) {
                return if rest.is_empty() {
                    Some((mp.len(), m, sub.to_string()))
                } else {
                    None
                };
            }
            let rest = rest.strip_prefix('/')?;
            Some((mp.len(), m, rest.to_string()))
        })
        .max_by_key(|(l, _, _)| *l);
    let open_err = || ConfigCheck::Fatal {
        msg: format!("can't open {path}"),
        error: format!("open {path}: no such file or directory"),
    };
    let Some((_, mount, file)) = mount else {
        return open_err();
    };
    let vol_name = mount.get("name").and_then(Value::as_str).unwrap_or("");
    let volume = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .and_then(|vs| {
            vs.iter()
                .find(|v| v.get("name").and_then(Value::as_str) == Some(vol_name))
        });
    let Some(cm) = volume.and_then(|v| v.get("configMap")) else {
        return open_err();
    };
    let cm_name = cm.get("name").and_then(Value::as_str).unwrap_or("");
    let optional = cm.get("optional").and_then(Value::as_bool).unwrap_or(false);
    let Some(data) = configmap(cm_name) else {
        if optional {
            return open_err();
        }
        return ConfigCheck::MountFailed(format!(
            "MountVolume.SetUp failed for volume \"{vol_name}\" : configmap \"{cm_name}\" not found"
        ));
    };
    let key = match cm.get("items").and_then(Value::as_array) {
        Some(items) => {
            for it in items {
                let k = it.get("key").and_then(Value::as_str).unwrap_or("");
                if data.get(k).is_none() && !optional {
                    return ConfigCheck::MountFailed(format!(
                        "MountVolume.SetUp failed for volume \"{vol_name}\" : configmap references non-existent config key: {k}"
                    ));
                }
            }
            items
                .iter()
                .find(|it| it.get("path").and_then(Value::as_str) == Some(file.as_str()))
                .and_then(|it| it.get("key")?.as_str().map(String::from))
        }
        None => Some(file.clone()),
    };
    match key.and_then(|k| data.get(&k).and_then(Value::as_str).map(String::from)) {
        Some(text) => validate(&text, &env),
        None => open_err(),
    }
}

fn expand_env(text: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        match rest[i + 2..].find('}') {
            Some(j) => {
                let name = &rest[i + 2..i + 2 + j];
                out.push_str(env.get(name).map(String::as_str).unwrap_or(""));
                rest = &rest[i + 3 + j..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

fn non_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::Bool(b)) => *b,
    }
}

fn features(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => s.split(',').map(|x| x.trim().to_string()).collect(),
        _ => vec![],
    }
}

/// OBI's `Config.Validate` on a YAML text with environment overrides.
pub fn validate(yaml: &str, env: &BTreeMap<String, String>) -> ConfigCheck {
    let fatal = |e: &str| ConfigCheck::Fatal {
        msg: "wrong configuration".into(),
        error: e.into(),
    };
    let expanded = expand_env(yaml, env);
    let cfg: Value = if expanded.trim().is_empty() {
        Value::Null
    } else {
        match serde_norway::from_str::<Value>(&expanded) {
            Ok(v) => v,
            Err(e) => return fatal(&format!("parsing YAML configuration: {e}")),
        }
    };
    let cfg = if cfg.is_object() {
        cfg
    } else {
        Value::Object(Default::default())
    };
    let e = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
    let p = |path: &str| cfg.pointer(path);

    let otel_metrics = non_empty(p("/otel_metrics_export/endpoint"))
        || e("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").is_some()
        || e("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
    let otel_traces = non_empty(p("/otel_traces_export/endpoint"))
        || e("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
        || e("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
    let prom = e("OTEL_EBPF_PROMETHEUS_PORT")
        .map(|v| v != "0")
        .unwrap_or_else(|| non_empty(p("/prometheus_export/port")));
    let trace_printer = e("OTEL_EBPF_TRACE_PRINTER")
        .or_else(|| {
            p("/trace_printer")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_else(|| "disabled".into());
    let mut feats = e("OTEL_EBPF_METRICS_FEATURES")
        .map(|s| features(Some(&Value::String(s))))
        .unwrap_or_else(|| {
            let f = features(p("/metrics/features"));
            if f.is_empty() {
                vec!["application".to_string()]
            } else {
                f
            }
        });
    if otel_metrics && non_empty(p("/otel_metrics_export/features")) {
        feats = features(p("/otel_metrics_export/features"));
    } else if prom && non_empty(p("/prometheus_export/features")) {
        feats = features(p("/prometheus_export/features"));
    }
    let net_enable = e("OTEL_EBPF_NETWORK_METRICS")
        .map(|v| v == "true")
        .unwrap_or_else(|| truthy(p("/network/enable")));
    let any_network = net_enable || feats.iter().any(|f| f.starts_with("network"));
    let net = net_enable || ((prom || otel_metrics) && any_network);
    let app = e("OTEL_EBPF_OPEN_PORT").is_some()
        || non_empty(p("/open_port"))
        || e("OTEL_EBPF_AUTO_TARGET_EXE").is_some()
        || non_empty(p("/auto_target_exe"))
        || non_empty(p("/discovery/instrument"))
        || e("OTEL_EBPF_EXECUTABLE_PATH").is_some()
        || non_empty(p("/executable_path"))
        || non_empty(p("/discovery/services"));

    if !net && !app {
        return fatal(
            "at least one of 'network' or 'application' features must be enabled. Enable an OpenTelemetry or Prometheus metrics export, then enable any of the network* or application*features using the 'OTEL_EBPF_METRICS_FEATURES=network,application' environment variable or 'meter_provider: { features: [network,application] }' in the YAML configuration file. ",
        );
    }
    let sync = e("OTEL_EBPF_KUBE_INFORMERS_SYNC_TIMEOUT").or_else(|| {
        p("/attributes/kubernetes/informers_sync_timeout")
            .and_then(Value::as_str)
            .map(String::from)
    });
    if let Some(s) = sync {
        let digits: String = s
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        if digits.parse::<f64>().is_ok_and(|f| f == 0.0) {
            return fatal("OTEL_EBPF_KUBE_INFORMERS_SYNC_TIMEOUT duration must be greater than 0s");
        }
    }
    let print_flows = e("OTEL_EBPF_NETWORK_PRINT_FLOWS")
        .map(|v| v == "true")
        .unwrap_or_else(|| truthy(p("/network/print_flows")));
    if net && !otel_metrics && !prom && !print_flows {
        return fatal(
            "enabling network metrics requires to enable at least the OpenTelemetry metrics exporter: otel_metrics_export or prometheus_export sections in the YAML configuration file; or the OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or OTEL_EBPF_PROMETHEUS_PORT environment variables. For debugging purposes, you can also set OTEL_EBPF_NETWORK_PRINT_FLOWS=true",
        );
    }
    if !matches!(
        trace_printer.as_str(),
        "disabled" | "text" | "json" | "json_indent" | "counter" | ""
    ) {
        return fatal(&format!(
            "invalid value for trace_printer: '{trace_printer}'"
        ));
    }
    let printer_on = !matches!(trace_printer.as_str(), "disabled" | "");
    if app && !printer_on && !otel_metrics && !otel_traces && !prom {
        return fatal(
            "you need to define at least one exporter: trace_printer, otel_metrics_export, otel_traces_export or prometheus_export",
        );
    }
    if app
        && (prom || otel_metrics)
        && feats.iter().any(|f| f == "application_span")
        && feats.iter().any(|f| f == "application_span_otel")
    {
        return fatal(
            "you can only enable one format of span metrics, application_span or application_span_otel",
        );
    }
    if p("/routes/wildcard_char")
        .and_then(Value::as_str)
        .is_some_and(|w| w.chars().count() > 1)
    {
        return fatal(
            "wildcard_char can only be a single character, multiple characters are not allowed",
        );
    }
    if p("/internal_metrics/exporter").and_then(Value::as_str) == Some("otel") {
        if non_empty(p("/internal_metrics/prometheus/port")) {
            return fatal("you can't enable both OTEL and Prometheus internal metrics");
        }
        if !otel_metrics {
            return fatal("you can't enable OTEL internal metrics without enabling OTEL metrics");
        }
    }
    ConfigCheck::Valid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(yaml: &str, env: &[(&str, &str)]) -> ConfigCheck {
        validate(
            yaml,
            &env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn minimal_config_is_valid() {
        assert_eq!(
            v(
                "discovery:\n  instrument:\n    - open_ports: 8080\notel_traces_export:\n  endpoint: http://localhost:4318\n",
                &[]
            ),
            ConfigCheck::Valid
        );
    }

    #[test]
    fn empty_config_needs_a_feature() {
        match v("log_level: info\n", &[]) {
            ConfigCheck::Fatal { error, .. } => {
                assert!(error.starts_with("at least one of 'network' or 'application'"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn application_without_exporter_fails_and_env_can_fix_it() {
        let yaml = "discovery:\n  instrument:\n    - open_ports: 8080\n";
        assert!(
            matches!(v(yaml, &[]), ConfigCheck::Fatal { error, .. } if error.starts_with("you need to define at least one exporter"))
        );
        assert_eq!(
            v(yaml, &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")]),
            ConfigCheck::Valid
        );
    }

    #[test]
    fn network_needs_metrics_exporter() {
        assert!(
            matches!(v("network:\n  enable: true\n", &[]), ConfigCheck::Fatal { error, .. } if error.starts_with("enabling network metrics"))
        );
        assert_eq!(
            v("network:\n  enable: true\n  print_flows: true\n", &[]),
            ConfigCheck::Valid
        );
    }

    #[test]
    fn span_formats_and_wildcard_are_checked() {
        let base = "open_port: 80\nprometheus_export:\n  port: 9090\n";
        assert!(
            matches!(v(&format!("{base}metrics:\n  features: [application_span, application_span_otel]\n"), &[]), ConfigCheck::Fatal { error, .. } if error.contains("one format of span metrics"))
        );
        assert!(
            matches!(v(&format!("{base}routes:\n  wildcard_char: '**'\n"), &[]), ConfigCheck::Fatal { error, .. } if error.contains("wildcard_char"))
        );
        assert!(
            matches!(v(&format!("{base}internal_metrics:\n  exporter: otel\n"), &[]), ConfigCheck::Fatal { error, .. } if error.contains("OTEL internal metrics"))
        );
    }

    #[test]
    fn obi_images_are_recognised() {
        assert!(is_obi_image("otel/ebpf-instrument:v0.12.1"));
        assert!(is_obi_image(
            "ghcr.io/open-telemetry/opentelemetry-ebpf-instrumentation/ebpf-instrument:main"
        ));
        assert!(!is_obi_image("nginx:1.27"));
    }
}
