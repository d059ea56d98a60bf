//! A typed view of OBI's v1 configuration: every top-level key and the sub-keys obi-mcp works
//! with. Keys not modelled here land in each section's `extra` map, so nothing a user wrote is
//! lost when a document goes through the model.
//!
//! The model is for *reading* a configuration. To change one, patch the [`serde_json::Value`]
//! ([`crate::merge_patch`]) — that keeps the user's key order, which the model cannot.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use thiserror::Error;

/// A document that does not fit the typed model.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("the configuration does not match OBI's types: {0}")]
pub struct ModelError(String);

/// Ports, PIDs or ranges: `8080`, `"80,443,8000-8999"` or a list of those.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IntSet {
    /// One number.
    Number(i64),
    /// A comma-separated list of numbers and ranges.
    Text(String),
    /// A list of numbers or ranges.
    List(Vec<IntSetItem>),
}

/// One item of an [`IntSet`] list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IntSetItem {
    /// One number.
    Number(i64),
    /// A number or range as text.
    Text(String),
}

/// A list of names, written as a YAML list or a comma-separated string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum NameList {
    /// A list.
    List(Vec<String>),
    /// A comma-separated string.
    Text(String),
}

impl NameList {
    /// The names, trimmed, without empty entries.
    pub fn names(&self) -> Vec<String> {
        match self {
            NameList::List(items) => items.iter().map(|s| s.trim().to_string()).collect(),
            NameList::Text(t) => t
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }
}

/// `attributes.kubernetes.enable`: `true`, `false` or `autodetect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum KubeEnable {
    /// A boolean.
    Bool(bool),
    /// `"true"`, `"false"` or `"autodetect"`.
    Text(String),
}

/// Keys of a section that the model does not name.
pub type Extra = Map<String, Value>;

/// OBI's v1 configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ObiConfig {
    /// Which processes to instrument.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery: Option<Discovery>,
    /// OTLP trace export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otel_traces_export: Option<TracesExport>,
    /// OTLP metric export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otel_metrics_export: Option<MetricsExport>,
    /// Prometheus scrape endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prometheus_export: Option<PrometheusExport>,
    /// Metric features.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// Extra attributes (Kubernetes metadata, selection, instance and host ids).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    /// Route grouping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routes: Option<Routes>,
    /// Network observability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// eBPF tracer settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ebpf: Option<Ebpf>,
    /// Filtering of records by attribute values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Extra>,
    /// Name resolution of peers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_resolver: Option<NameResolver>,
    /// OBI's own metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_metrics: Option<InternalMetrics>,
    /// Health endpoint (recent releases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// `DEBUG`, `INFO`, `WARN` or `ERROR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    /// `text` or `json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    /// Log the final configuration at startup: `yaml` or `json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_config: Option<String>,
    /// Print traces to stdout: `disabled`, `counter`, `text`, `json`, `json_indent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_printer: Option<String>,
    /// Instrument the processes owning these ports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_port: Option<IntSet>,
    /// Instrument these process ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_pids: Option<IntSet>,
    /// Exit when capabilities are missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_sys_caps: Option<bool>,
    /// Graceful shutdown timeout (default 10s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown_timeout: Option<String>,
    /// Node.js support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodejs: Option<Toggle>,
    /// Java agent support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub javaagent: Option<JavaAgent>,
    /// Deprecated: executable path regular expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable_path: Option<String>,
    /// Deprecated: service name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Deprecated: service namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_namespace: Option<String>,
    /// Other top-level keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `discovery`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Discovery {
    /// Processes to instrument (globs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instrument: Option<Vec<Selector>>,
    /// Processes not to instrument.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_instrument: Option<Vec<Selector>>,
    /// Built-in exclusions (OBI itself, collectors, system namespaces).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_exclude_instrument: Option<Vec<Selector>>,
    /// Deprecated: processes to instrument (regular expressions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<Selector>>,
    /// Deprecated: processes not to instrument (regular expressions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_services: Option<Vec<Selector>>,
    /// Deprecated: built-in exclusions (regular expressions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_exclude_services: Option<Vec<Selector>>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One service selector (`discovery.instrument[]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Selector {
    /// Ports the process listens on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_ports: Option<IntSet>,
    /// Executable path pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe_path: Option<String>,
    /// Command-line arguments pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd_args: Option<String>,
    /// Languages pattern (`java`, `go`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub languages: Option<String>,
    /// Only processes in containers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub containers_only: Option<bool>,
    /// Process ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_pids: Option<IntSet>,
    /// Kubernetes namespace pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_namespace: Option<String>,
    /// Pod name pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_pod_name: Option<String>,
    /// Deployment name pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_deployment_name: Option<String>,
    /// ReplicaSet name pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_replicaset_name: Option<String>,
    /// StatefulSet name pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_statefulset_name: Option<String>,
    /// DaemonSet name pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_daemonset_name: Option<String>,
    /// Owner name pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_owner_name: Option<String>,
    /// Job name pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_job_name: Option<String>,
    /// CronJob name pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_cronjob_name: Option<String>,
    /// Container name pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_container_name: Option<String>,
    /// Pod label patterns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_pod_labels: Option<BTreeMap<String, String>>,
    /// Pod annotation patterns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_pod_annotations: Option<BTreeMap<String, String>>,
    /// Signals to export for these processes (`metrics`, `traces`, `logs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exports: Option<Vec<String>>,
    /// Trace sampler for these processes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampler: Option<Sampler>,
    /// Custom routes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routes: Option<Extra>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A trace sampler.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Sampler {
    /// `always_on`, `traceidratio`, `parentbased_traceidratio`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Sampler argument (a ratio for the ratio samplers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arg: Option<Value>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `otel_traces_export`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct TracesExport {
    /// Traces endpoint URL (no path is appended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `grpc`, `http/protobuf`, `http/json` or `debug`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Sampler.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampler: Option<Sampler>,
    /// Instrumentations to trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instrumentations: Option<Vec<String>>,
    /// Skip TLS verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `otel_metrics_export`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct MetricsExport {
    /// Metrics endpoint URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `grpc`, `http/protobuf`, `http/json` or `debug`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Export interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Instrumentations to measure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instrumentations: Option<Vec<String>>,
    /// Histogram buckets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Extra>,
    /// Histogram aggregation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram_aggregation: Option<String>,
    /// Metric expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Deprecated: metric features (use `metrics.features`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<NameList>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `prometheus_export`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PrometheusExport {
    /// Port to serve metrics on (0 disables).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// HTTP path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Deprecated: metric features (use `metrics.features`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<NameList>,
    /// Instrumentations to measure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instrumentations: Option<Vec<String>>,
    /// Metric expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Metrics {
    /// `application`, `application_span`, `network`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<NameList>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `attributes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Attributes {
    /// Kubernetes metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<Kubernetes>,
    /// Attribute selection per metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub select: Option<Extra>,
    /// Instance id settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<Extra>,
    /// Host id settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_id: Option<Extra>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `attributes.kubernetes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Kubernetes {
    /// `true`, `false` or `autodetect`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable: Option<KubeEnable>,
    /// Cluster name override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// How long to wait for informers at startup (must be > 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub informers_sync_timeout: Option<String>,
    /// host:port of the k8s-cache service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_cache_address: Option<String>,
    /// Only watch this node's pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_restrict_local_node: Option<bool>,
    /// Informers to disable (`node`, `service`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_informers: Option<NameList>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `routes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Routes {
    /// Route patterns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patterns: Option<Vec<String>>,
    /// Deprecated: patterns to ignore.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored_patterns: Option<Vec<String>>,
    /// `heuristic`, `low-cardinality`, `path`, `unset` or `wildcard`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmatched: Option<String>,
    /// One character replacing route segments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wildcard_char: Option<String>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `network`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Network {
    /// Deprecated: enable network metrics (use `network` in `metrics.features`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    /// `socket_filter` or `tc`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// CIDRs to decorate flows with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidrs: Option<Vec<String>>,
    /// Interfaces to watch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interfaces: Option<Vec<String>>,
    /// `ingress`, `egress` or `both`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// Print flows to stdout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub print_flows: Option<bool>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ebpf`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Ebpf {
    /// `all`, `disabled`, or a comma list of `headers`, `http`, `tcp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_propagation: Option<String>,
    /// `auto`, `tc` or `tcx`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic_control_backend: Option<String>,
    /// Log eBPF program events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bpf_debug: Option<bool>,
    /// Events batched before forwarding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_length: Option<i64>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `name_resolver`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct NameResolver {
    /// `k8s`, `dns`, `rdns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<NameList>,
    /// Cache size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_len: Option<i64>,
    /// Cache expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_expiry: Option<String>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `internal_metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct InternalMetrics {
    /// `disabled`, `otel` or `prometheus`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exporter: Option<String>,
    /// Prometheus listener for internal metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PortPath>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A port and an HTTP path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PortPath {
    /// Port (0 disables).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// HTTP path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `health_check`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct HealthCheck {
    /// Port serving `GET /healthz` (0 disables).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Listen address (default 127.0.0.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen_address: Option<String>,
    /// Unix socket instead of a port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unix_socket_path: Option<String>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A section with only an `enabled` switch (`nodejs`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Toggle {
    /// On or off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `javaagent`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct JavaAgent {
    /// On or off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Agent debug logging.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug: Option<bool>,
    /// How long to wait for the agent to attach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach_timeout: Option<String>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ObiConfig {
    /// Reads a document into the typed model. Run [`crate::validate`] first for findings with
    /// paths; this only says the first type mismatch.
    pub fn from_value(doc: &Value) -> Result<Self, ModelError> {
        serde_json::from_value(doc.clone()).map_err(|e| ModelError(e.to_string()))
    }

    /// Parses YAML (or JSON) text into the typed model.
    pub fn from_yaml(text: &str) -> Result<Self, ModelError> {
        let doc = crate::parse::parse_yaml(text).map_err(|e| ModelError(e.to_string()))?;
        Self::from_value(&doc)
    }

    /// Turns the model back into a document (model keys first, then the extra keys).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_yaml;
    use serde_json::json;

    #[test]
    fn reads_a_full_config() {
        let doc = parse_yaml(
            r#"
discovery:
  instrument:
    - open_ports: 8080
    - exe_path: "*/server"
      k8s_pod_labels: {app: web}
otel_traces_export:
  endpoint: http://localhost:4318
  sampler: {name: traceidratio, arg: 0.5}
prometheus_export: {port: 9400}
metrics: {features: "application,network"}
attributes: {kubernetes: {enable: autodetect}}
open_port: "80,443"
my_own_key: {kept: true}
"#,
        )
        .unwrap();
        let cfg = ObiConfig::from_value(&doc).unwrap();
        let d = cfg.discovery.as_ref().unwrap().instrument.as_ref().unwrap();
        assert_eq!(d[0].open_ports, Some(IntSet::Number(8080)));
        assert_eq!(d[1].exe_path.as_deref(), Some("*/server"));
        assert_eq!(
            cfg.metrics
                .as_ref()
                .unwrap()
                .features
                .as_ref()
                .unwrap()
                .names(),
            ["application", "network"]
        );
        assert_eq!(cfg.prometheus_export.as_ref().unwrap().port, Some(9400));
        assert_eq!(cfg.extra["my_own_key"], json!({"kept": true}));
        // nothing is lost going back to a document
        assert_eq!(ObiConfig::from_value(&cfg.to_value()).unwrap(), cfg);
        let back = cfg.to_value();
        assert_eq!(back["my_own_key"], doc["my_own_key"]);
        assert_eq!(back["discovery"], doc["discovery"]);
    }

    #[test]
    fn from_yaml_reports_parse_and_type_errors() {
        assert_eq!(
            ObiConfig::from_yaml("log_level: INFO\n")
                .unwrap()
                .log_level
                .as_deref(),
            Some("INFO")
        );
        assert!(ObiConfig::from_yaml("a: [").is_err());
        assert!(ObiConfig::from_yaml("ebpf: 5").is_err());
    }

    #[test]
    fn wrong_types_are_errors_not_panics() {
        assert!(ObiConfig::from_value(&json!({"prometheus_export": {"port": 70000}})).is_err());
        assert!(ObiConfig::from_value(&json!({"discovery": "x"})).is_err());
        assert!(ObiConfig::from_value(&json!([])).is_err());
    }

    #[test]
    fn has_a_json_schema() {
        let schema = schemars::schema_for!(ObiConfig);
        let text = serde_json::to_string(&schema).unwrap();
        assert!(text.contains("otel_traces_export"));
    }
}
