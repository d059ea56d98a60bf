//! OBI's configuration model, shared by every obi-mcp toolset and by the host's
//! `obi-mcp obi-config validate FILE`.
//!
//! OBI (OpenTelemetry eBPF Instrumentation) reads a YAML file plus environment variables, and
//! silently ignores keys it does not know. This crate parses such a file (YAML or JSON, with the
//! work bounded), validates it in three layers, applies updates as JSON merge patches without
//! losing anything the user wrote ([`update`] on a document; [`update_yaml`] on a file's text,
//! keeping its comments and layout), renders it back, and converts it to and from the
//! equivalent environment variables:
//!
//! 1. **types** — enums, durations, ports, URLs, lists, with the closest valid value;
//! 2. **OBI's startup rules** — the checks OBI runs before it starts, with OBI's own messages,
//!    taking the environment into account (variables win over the file, as in OBI);
//! 3. **advice OBI never gives** — unknown or misplaced keys with the closest valid key,
//!    deprecated keys, OTLP ports contradicting the protocol, `localhost` where it cannot work,
//!    variables that silently override the file.
//!
//! Every version-specific fact (keys, types, variables, deprecations, messages, the default
//! release) lives in [`facts`].
//!
//! # Rules
//!
//! Each [`Finding`] names the rule that produced it (`Finding::rule`):
//!
//! | layer | rule | severity | what |
//! |---|---|---|---|
//! | parse | `parse` | error | not YAML/JSON, not a mapping, too large, too deep, alias bomb, repeated key |
//! | 1 | `type`, `range`, `port`, `pid`, `duration`, `enum`, `url`, `host-port`, `ip`, `cidr` | error (`range` below a positive minimum: warning) | a value OBI cannot use |
//! | 1 | `duration-format` | warning | a Go duration outside the documented `^[0-9]+(ms\|s\|m)$` |
//! | 1 | `yaml-bool` | warning | `yes`/`on`/... where a boolean is expected |
//! | 1 | `env-reference` | warning (local) / info | `${VAR}` not in the given environment |
//! | 1 | `config-v2` | warning | a Config v2 file (top-level `version`), not checked further |
//! | 2 | `obi-selector-criteria`, `obi-selector-attribute`, `obi-no-feature`, `obi-network-exporter`, `obi-no-exporter`, `obi-span-formats`, `obi-wildcard-char`, `obi-informers-timeout`, `obi-trace-printer`, `obi-internal-metrics` | error | OBI's startup checks (selector criteria, rules 1-6), with OBI's messages |
//! | 3 | `unknown-key` | warning | a key OBI ignores, with the closest valid key |
//! | 3 | `deprecated-key`, `deprecated-env` | warning | deprecated, with the replacement |
//! | 3 | `legacy-env`, `unknown-env` | warning | `BEYLA_*` names; `OTEL_EBPF_*` names OBI does not read |
//! | 3 | `otlp-port-protocol`, `otlp-path`, `localhost` | warning (`otlp-path` for gRPC: info) | 4317 vs 4318, `/v1/...` appended twice, loopback endpoints in a container or pod |
//! | 3 | `env-override`, `port-clash`, `shadowed`, `excluded-namespace`, `sampler-arg`, `tc-source` | warning / info | the file says one thing and OBI does another |
//!
//! Findings of the env conversion ([`config_to_env`], [`env_to_config`]) use `env-conflict`,
//! `no-env-form`, `no-env` and `env-only`. The crate does no I/O and starts no threads; it builds for
//! `wasm32-wasip2` as well as natively.
//!
//! ```
//! use obi_config::{Severity, Target, ValidateOptions, validate_text};
//!
//! let yaml = "
//! discovery:
//!   instrument:
//!     - open_ports: 8080
//! otel_traces_export:
//!   endpoint: http://localhost:4318
//! bpf_debug: true
//! ";
//! let report = validate_text(yaml, &ValidateOptions::for_target(Target::Kubernetes));
//! assert!(report.is_valid()); // no errors, so it may be written
//! let unknown = report.at("bpf_debug").next().unwrap();
//! assert_eq!(unknown.severity, Severity::Warning);
//! assert!(unknown.message.contains("did you mean ebpf.bpf_debug?"));
//! // in a pod, localhost is the pod itself
//! assert!(report.at("otel_traces_export.endpoint").any(|f| f.rule == "localhost"));
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod advice;
pub mod env;
pub mod facts;
mod finding;
mod merge;
pub mod model;
mod parse;
mod render;
mod rules;
pub mod schema;
mod text_patch;
mod validate;

pub use env::{ConfigConversion, EnvConversion, config_to_env, env_table, env_to_config};
pub use finding::{Finding, MAX_FINDINGS, MAX_MESSAGE_CHARS, MAX_PATH_CHARS, Report, Severity};
pub use merge::{MAX_CHANGED_PATHS, Updated, changed_paths, merge_patch, update};
pub use model::ObiConfig;
pub use parse::{MAX_DEPTH, MAX_INPUT_BYTES, MAX_NODES, ParseError, parse_json, parse_yaml};
pub use render::{RenderError, to_json, to_yaml, yaml_has_comments};
pub use text_patch::{TextUpdated, patch_yaml_text, update_yaml};
pub use validate::{
    Endpoint, Target, ValidateOptions, duration_matches_schema, parse_go_duration, parse_url,
    redact_url, validate, validate_text,
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The config the earlier TypeScript obi-mcp started OBI with: no selector, env names OBI
    /// does not read. OBI exits; so must validation.
    #[test]
    fn earlier_obi_mcp_deployment_is_refused() {
        let opts = ValidateOptions {
            target: Target::Local,
            env: [
                ("OBI_CONFIG_PATH".to_string(), "/tmp/obi.yml".to_string()),
                ("OBI_NETWORK_METRICS".to_string(), "true".to_string()),
            ]
            .into(),
        };
        let report = validate(
            &json!({"otel_traces_export": {"endpoint": "http://localhost:4318"}}),
            &opts,
        );
        assert!(!report.is_valid());
        assert!(
            report.findings[0]
                .message
                .starts_with(facts::messages::NO_FEATURE)
        );
    }

    #[test]
    fn update_then_render_keeps_user_keys() {
        let text = "# mine\ncustom_thing: 1\nopen_port: 8080\ntrace_printer: text\n";
        assert!(yaml_has_comments(text));
        let current = parse_yaml(text).unwrap();
        let out = update(
            &current,
            &json!({"log_level": "DEBUG"}),
            &ValidateOptions::default(),
        );
        assert!(out.report.is_valid(), "{}", out.report.summary());
        let yaml = to_yaml(&out.document).unwrap();
        assert_eq!(
            yaml,
            "custom_thing: 1\nopen_port: 8080\ntrace_printer: text\nlog_level: DEBUG\n"
        );
    }

    #[test]
    fn summary_is_readable() {
        let r = validate_text("open_port: 8080\n", &ValidateOptions::default());
        let s = r.summary();
        assert!(s.starts_with("invalid: 1 error(s)"), "{s}");
        assert!(
            s.contains("error: (config): you need to define at least one exporter"),
            "{s}"
        );
    }

    const FULL: &str = include_str!("../testdata/full.yml");

    /// One example per validation rule: the rule fires at the expected path.
    #[test]
    fn every_rule_fires_at_its_path() {
        let base = || json!({"open_port": 80, "trace_printer": "text"});
        let with = |extra: serde_json::Value| {
            let mut d = base();
            merge_patch(&mut d, &extra);
            d
        };
        /// (rule, document, environment, target, expected path)
        type Case = (
            &'static str,
            serde_json::Value,
            Vec<(&'static str, &'static str)>,
            Target,
            &'static str,
        );
        let cases: Vec<Case> = vec![
            (
                "type",
                with(json!({"ebpf": {"batch_length": "many"}})),
                vec![],
                Target::Local,
                "ebpf.batch_length",
            ),
            (
                "range",
                with(json!({"ebpf": {"batch_length": -1}})),
                vec![],
                Target::Local,
                "ebpf.batch_length",
            ),
            (
                "port",
                with(json!({"health_check": {"port": 99999}})),
                vec![],
                Target::Local,
                "health_check.port",
            ),
            (
                "pid",
                with(json!({"target_pids": [0]})),
                vec![],
                Target::Local,
                "target_pids[0]",
            ),
            (
                "duration",
                with(json!({"shutdown_timeout": "soon"})),
                vec![],
                Target::Local,
                "shutdown_timeout",
            ),
            (
                "duration-format",
                with(json!({"shutdown_timeout": "1h"})),
                vec![],
                Target::Local,
                "shutdown_timeout",
            ),
            (
                "enum",
                with(json!({"log_format": "xml"})),
                vec![],
                Target::Local,
                "log_format",
            ),
            (
                "url",
                with(json!({"otel_traces_export": {"endpoint": "collector"}})),
                vec![],
                Target::Local,
                "otel_traces_export.endpoint",
            ),
            (
                "host-port",
                with(json!({"attributes": {"kubernetes": {"meta_cache_address": "x"}}})),
                vec![],
                Target::Local,
                "attributes.kubernetes.meta_cache_address",
            ),
            (
                "ip",
                with(json!({"health_check": {"listen_address": "home"}})),
                vec![],
                Target::Local,
                "health_check.listen_address",
            ),
            (
                "cidr",
                with(json!({"network": {"cidrs": ["10/8"]}})),
                vec![],
                Target::Local,
                "network.cidrs[0]",
            ),
            (
                "yaml-bool",
                with(json!({"enforce_sys_caps": "on"})),
                vec![],
                Target::Local,
                "enforce_sys_caps",
            ),
            (
                "env-reference",
                with(json!({"service_name": "${APP}"})),
                vec![],
                Target::Local,
                "service_name",
            ),
            (
                "config-v2",
                json!({"version": "v2"}),
                vec![],
                Target::Local,
                "version",
            ),
            (
                "obi-selector-attribute",
                with(json!({"discovery": {"exclude_services": [{"exe_path": "x", "pod": "y"}]}})),
                vec![],
                Target::Local,
                "discovery.exclude_services[0].pod",
            ),
            (
                "obi-selector-criteria",
                with(json!({"discovery": {"instrument": [{"cmd_args": "x"}]}})),
                vec![],
                Target::Local,
                "discovery.instrument[0]",
            ),
            ("obi-no-feature", json!({}), vec![], Target::Local, ""),
            (
                "obi-network-exporter",
                json!({"network": {"enable": true}}),
                vec![],
                Target::Local,
                "network.enable",
            ),
            (
                "obi-no-exporter",
                json!({"open_port": 80}),
                vec![],
                Target::Local,
                "",
            ),
            (
                "obi-span-formats",
                with(
                    json!({"prometheus_export": {"port": 9400}, "metrics": {"features": ["application_span", "application_span_otel"]}}),
                ),
                vec![],
                Target::Local,
                "metrics.features",
            ),
            (
                "obi-wildcard-char",
                with(json!({"routes": {"wildcard_char": "--"}})),
                vec![],
                Target::Local,
                "routes.wildcard_char",
            ),
            (
                "obi-informers-timeout",
                with(json!({"attributes": {"kubernetes": {"informers_sync_timeout": "0s"}}})),
                vec![],
                Target::Local,
                "attributes.kubernetes.informers_sync_timeout",
            ),
            (
                "obi-trace-printer",
                json!({"open_port": 80, "trace_printer": "loud"}),
                vec![],
                Target::Local,
                "trace_printer",
            ),
            (
                "obi-internal-metrics",
                with(json!({"internal_metrics": {"exporter": "otel"}})),
                vec![],
                Target::Local,
                "internal_metrics.exporter",
            ),
            (
                "unknown-key",
                with(json!({"bpf_debug": true})),
                vec![],
                Target::Local,
                "bpf_debug",
            ),
            (
                "deprecated-key",
                with(json!({"service_name": "x"})),
                vec![],
                Target::Local,
                "service_name",
            ),
            (
                "deprecated-env",
                base(),
                vec![("OTEL_EBPF_EXECUTABLE_PATH", "java")],
                Target::Local,
                "env:OTEL_EBPF_EXECUTABLE_PATH",
            ),
            (
                "legacy-env",
                base(),
                vec![("BEYLA_LOG_LEVEL", "DEBUG")],
                Target::Local,
                "env:BEYLA_LOG_LEVEL",
            ),
            (
                "unknown-env",
                base(),
                vec![("OTEL_EBPF_LOGLEVEL", "DEBUG")],
                Target::Local,
                "env:OTEL_EBPF_LOGLEVEL",
            ),
            (
                "otlp-port-protocol",
                with(
                    json!({"otel_traces_export": {"endpoint": "http://c:4318", "protocol": "grpc"}}),
                ),
                vec![],
                Target::Local,
                "otel_traces_export.endpoint",
            ),
            (
                "otlp-path",
                base(),
                vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/v1/metrics")],
                Target::Local,
                "env:OTEL_EXPORTER_OTLP_ENDPOINT",
            ),
            (
                "localhost",
                with(json!({"otel_metrics_export": {"endpoint": "http://127.0.0.1:4318"}})),
                vec![],
                Target::Container,
                "otel_metrics_export.endpoint",
            ),
            (
                "env-override",
                with(json!({"log_level": "INFO"})),
                vec![("OTEL_EBPF_LOG_LEVEL", "WARN")],
                Target::Local,
                "log_level",
            ),
            (
                "port-clash",
                with(json!({"prometheus_export": {"port": 9400}, "profile_port": 9400})),
                vec![],
                Target::Local,
                "profile_port",
            ),
            (
                "shadowed",
                with(json!({"executable_path": "java"})),
                vec![],
                Target::Local,
                "executable_path",
            ),
            (
                "excluded-namespace",
                with(json!({"discovery": {"instrument": [{"k8s_namespace": "cert-manager"}]}})),
                vec![],
                Target::Kubernetes,
                "discovery.instrument[0].k8s_namespace",
            ),
            (
                "sampler-arg",
                with(
                    json!({"otel_traces_export": {"sampler": {"name": "traceidratio", "arg": "2"}}}),
                ),
                vec![],
                Target::Local,
                "otel_traces_export.sampler.arg",
            ),
            (
                "tc-source",
                with(json!({"network": {"source": "tc"}})),
                vec![],
                Target::Local,
                "network.source",
            ),
        ];
        for (rule, doc, env, target, path) in cases {
            let opts = ValidateOptions {
                target,
                env: env
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            };
            let report = validate(&doc, &opts);
            assert!(
                report
                    .findings
                    .iter()
                    .any(|f| f.rule == rule && f.path == path),
                "{rule} at {path:?}: {}",
                report.summary()
            );
        }
        let r = validate_text("a: [", &ValidateOptions::default());
        assert_eq!(
            (r.findings[0].rule.as_str(), r.findings[0].path.as_str()),
            ("parse", "")
        );
    }

    #[test]
    fn full_config_is_valid_in_kubernetes_and_round_trips() {
        let opts = ValidateOptions::for_target(Target::Kubernetes);
        let report = validate_text(FULL, &opts);
        assert!(report.is_valid(), "{}", report.summary());
        assert_eq!(report.warnings(), 0, "{}", report.summary());
        // every note is about ${HOST_IP}, which the pod sets
        assert!(
            report.findings.iter().all(|f| f.rule == "env-reference"),
            "{}",
            report.summary()
        );
        let doc = parse_yaml(FULL).unwrap();
        assert_eq!(parse_yaml(&to_yaml(&doc).unwrap()).unwrap(), doc);
        assert_eq!(parse_json(&to_json(&doc)).unwrap(), doc);
        let model = ObiConfig::from_value(&doc).unwrap();
        assert_eq!(model.prometheus_export.unwrap().port, Some(9400));
    }

    #[test]
    fn full_config_validates_quickly() {
        let doc = parse_yaml(FULL).unwrap();
        let opts = ValidateOptions {
            target: Target::Kubernetes,
            env: [
                ("HOST_IP".to_string(), "10.0.0.1".to_string()),
                (
                    "OTEL_EBPF_KUBE_METADATA_ENABLE".to_string(),
                    "true".to_string(),
                ),
            ]
            .into(),
        };
        let runs = 50;
        let start = std::time::Instant::now();
        for _ in 0..runs {
            assert!(validate(&doc, &opts).is_valid());
        }
        let per_run = start.elapsed() / runs;
        eprintln!("validation of the full config: {per_run:?} per run");
        // Generous for unoptimized test builds on a shared 2-core machine; release is far below 1 ms.
        assert!(
            per_run < std::time::Duration::from_millis(50),
            "{per_run:?}"
        );
    }

    #[test]
    fn hostile_documents_are_bounded() {
        // many unknown keys: findings are capped
        let mut doc = serde_json::Map::new();
        for i in 0..2000 {
            doc.insert(format!("k{i}"), json!(i));
        }
        let r = validate(&serde_json::Value::Object(doc), &ValidateOptions::default());
        assert_eq!(r.findings.len(), MAX_FINDINGS);
        assert!(r.truncated > 0);
        // a huge string value and a huge key
        let big = "x".repeat(1 << 20);
        let r = validate(
            &json!({"log_level": big, big.clone(): 1, "open_port": 1}),
            &ValidateOptions::default(),
        );
        assert!(r.findings.iter().all(|f| f.message.len() < 1000));
        // deep nesting built in memory (not through the parser)
        let mut v = json!(1);
        for _ in 0..200 {
            v = json!({"ebpf": v});
        }
        let _ = validate(&v, &ValidateOptions::default());
    }
}
