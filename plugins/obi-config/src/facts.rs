//! Version-specific facts about OBI's v1 configuration, kept in one place because OBI moves fast.
//!
//! Sources (read late 2026): `pkg/obi/config.go`, `pkg/obi/network_cfg.go`,
//! `pkg/export/otel/otelcfg/config_{traces,metrics}.go`, `pkg/export/otel/perapp/decfg.go`,
//! `docs/config-schema.json` and the generated configuration reference in
//! open-telemetry/opentelemetry-ebpf-instrumentation, plus `shared/OBI.md`.
//!
//! Everything the validator, the env conversion and the typed model know about key names, types,
//! enums, environment variables, deprecations and OBI's own messages is in this file. When OBI
//! adds or renames a key, edit [`KEYS`] (and [`DEPRECATED`] or [`ENV_ONLY`]) and nothing else.

/// The OBI release obi-mcp deploys when the user names none (never `latest`).
pub const DEFAULT_OBI_VERSION: &str = "v0.12.1";
/// Container images OBI is published as, without tag.
pub const IMAGES: &[&str] = &[
    "otel/ebpf-instrument",
    "ghcr.io/open-telemetry/opentelemetry-ebpf-instrumentation/ebpf-instrument",
];
/// Binary names OBI has shipped under (renamed `ebpf-instrument` -> `obi` in 2026).
pub const BINARY_NAMES: &[&str] = &["obi", "ebpf-instrument"];
/// Environment variable with the config file path (wins over `--config`).
pub const CONFIG_PATH_ENV: &str = "OTEL_EBPF_CONFIG_PATH";
/// Current prefix of OBI's own environment variables.
pub const ENV_PREFIX: &str = "OTEL_EBPF_";
/// Prefix used by Beyla, OBI's predecessor.
pub const LEGACY_ENV_PREFIX: &str = "BEYLA_";
/// Conventional OTLP/gRPC port.
pub const OTLP_GRPC_PORT: &str = "4317";
/// Conventional OTLP/HTTP port.
pub const OTLP_HTTP_PORT: &str = "4318";
/// The pattern OBI's schema gives every duration.
pub const DURATION_PATTERN: &str = "^[0-9]+(ms|s|m)$";

/// OBI's own startup error texts (`Config.Validate` in `pkg/obi/config.go`), reproduced verbatim
/// (where OBI's text runs on, the first sentence) so users can match them with OBI's logs.
pub mod messages {
    /// Rule 0 (discovery): a selector with no criteria, as `error in <list> YAML property: entry
    /// [<i>] should define at least one selection criteria`.
    pub const SELECTOR_WITHOUT_CRITERIA: &str = "should define at least one selection criteria";
    /// Rule 1: neither application nor network observability is enabled.
    pub const NO_FEATURE: &str =
        "at least one of 'network' or 'application' features must be enabled";
    /// Rule 2: network observability without a metrics exporter.
    pub const NETWORK_NEEDS_EXPORTER: &str = "enabling network metrics requires to enable at least the OpenTelemetry metrics exporter: otel_metrics_export or prometheus_export sections in the YAML configuration file; or the OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or OTEL_EBPF_PROMETHEUS_PORT environment variables. For debugging purposes, you can also set OTEL_EBPF_NETWORK_PRINT_FLOWS=true";
    /// Rule 3: application observability without any exporter.
    pub const NO_EXPORTER: &str = "you need to define at least one exporter: trace_printer, otel_metrics_export, otel_traces_export or prometheus_export";
    /// Rule 4: both span metric formats.
    pub const TWO_SPAN_FORMATS: &str =
        "you can only enable one format of span metrics, application_span or application_span_otel";
    /// Rule 5: `routes.wildcard_char` longer than one byte.
    pub const WILDCARD_CHAR: &str =
        "wildcard_char can only be a single character, multiple characters are not allowed";
    /// Rule 5: zero informers sync timeout.
    pub const INFORMERS_SYNC_TIMEOUT: &str =
        "OTEL_EBPF_KUBE_INFORMERS_SYNC_TIMEOUT duration must be greater than 0s";
    /// Rule 5: unknown trace printer (followed by `: '<value>'`).
    pub const INVALID_TRACE_PRINTER: &str = "invalid value for trace_printer";
    /// Rule 6: OTEL internal metrics and a Prometheus internal port at once.
    pub const INTERNAL_BOTH: &str = "you can't enable both OTEL and Prometheus internal metrics";
    /// Rule 6: OTEL internal metrics without OTLP metrics.
    pub const INTERNAL_OTEL_NEEDS_METRICS: &str =
        "you can't enable OTEL internal metrics without enabling OTEL metrics";
}

/// The type of a configuration value, as OBI decodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A mapping whose keys are listed in [`KEYS`] under this path.
    Section,
    /// A mapping with free-form keys; values are described by `<path>.*` if listed.
    Map,
    /// A sequence; items are described by `<path>[]`.
    List,
    /// `true` / `false`.
    Bool,
    /// An integer, at least the given minimum.
    Int(i64),
    /// A TCP port, 0 (disabled) to 65535.
    Port,
    /// A Go duration; the schema pattern is [`DURATION_PATTERN`].
    Duration,
    /// Any scalar, read as text.
    Str,
    /// One of the listed strings.
    Enum(&'static [&'static str]),
    /// One of the listed strings, compared case-insensitively.
    EnumNoCase(&'static [&'static str]),
    /// A list of strings (a single string is also accepted where `comma` is true).
    StrList {
        /// Whether a comma-separated string is accepted instead of a list.
        comma: bool,
    },
    /// A list of the listed strings (or a comma-separated string where `comma` is true).
    EnumList(&'static [&'static str], bool),
    /// A list of numbers.
    NumList,
    /// Ports or port ranges: `8080`, `"80,443,8000-8999"` or a list of those.
    PortSet,
    /// Process ids: a number, a comma-separated string, or a list.
    PidSet,
    /// A URL with a scheme and a host (OTLP endpoints).
    Url,
    /// A `host:port` address.
    HostPort,
    /// An IP address.
    Ip,
    /// A list of CIDRs.
    CidrList,
    /// `ebpf.context_propagation`: `all`, `disabled`, `""` or a comma list of headers/http/tcp.
    ContextPropagation,
    /// `network.agent_ip_iface`: `external`, `local` or `name:<iface>`.
    AgentIface,
    /// `attributes.kubernetes.enable`: a boolean or `true`/`false`/`autodetect`.
    KubeEnable,
    /// Anything (not checked).
    Any,
}

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub struct KeyFact {
    /// Dotted path; `[]` marks the items of a list, `*` the keys of a free-form map.
    pub path: &'static str,
    /// Value type.
    pub kind: Kind,
    /// The environment variable OBI reads for this key, if any.
    pub env: Option<&'static str>,
}

const fn k(path: &'static str, kind: Kind, env: Option<&'static str>) -> KeyFact {
    KeyFact { path, kind, env }
}

/// Log levels OBI accepts.
pub const LOG_LEVELS: &[&str] = &["DEBUG", "INFO", "WARN", "ERROR"];
/// Log formats.
pub const LOG_FORMATS: &[&str] = &["text", "json"];
/// `log_config` values.
pub const LOG_CONFIG: &[&str] = &["yaml", "json"];
/// Trace printer values (`trace_printer`).
pub const TRACE_PRINTERS: &[&str] = &["disabled", "counter", "text", "json", "json_indent"];
/// OTLP protocols (`""` means guess from the port).
pub const OTLP_PROTOCOLS: &[&str] = &["", "grpc", "http/protobuf", "http/json", "debug"];
/// Metric features (`metrics.features`).
pub const FEATURES: &[&str] = &[
    "*",
    "all",
    "application",
    "application_span",
    "application_span_otel",
    "application_span_sizes",
    "application_service_graph",
    "application_host",
    "application_process",
    "network",
    "network_inter_zone",
    "ebpf",
    "stats",
    "stats_tcp_rtt",
    "stats_tcp_failed_connections",
];
/// Instrumentations (`*_export.instrumentations`).
pub const INSTRUMENTATIONS: &[&str] = &[
    "*",
    "http",
    "grpc",
    "sql",
    "redis",
    "kafka",
    "mongo",
    "mqtt",
    "couchbase",
    "memcached",
    "dns",
    "gpu",
    "genai",
];
/// Trace samplers.
pub const SAMPLERS: &[&str] = &[
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
];
/// `routes.unmatched` values.
pub const ROUTES_UNMATCHED: &[&str] =
    &["heuristic", "low-cardinality", "path", "unset", "wildcard"];
/// `internal_metrics.exporter` values.
pub const INTERNAL_EXPORTERS: &[&str] = &["disabled", "otel", "prometheus"];
/// Selector `exports` values.
pub const EXPORT_MODES: &[&str] = &["metrics", "traces", "logs"];
/// Name resolver sources.
pub const NAME_SOURCES: &[&str] = &["k8s", "kube", "kubernetes", "dns", "rdns"];
/// Histogram aggregations.
pub const HISTOGRAM_AGGREGATIONS: &[&str] = &[
    "explicit_bucket_histogram",
    "base2_exponential_bucket_histogram",
];
/// OTEL SDK log levels.
pub const SDK_LOG_LEVELS: &[&str] = &["debug", "info", "warn", "error"];

use Kind::*;

/// Keys shared by every service selector (`discovery.instrument[]` and friends). The
/// paths are relative to the selector item.
#[rustfmt::skip]
pub const SELECTOR_KEYS: &[KeyFact] = &[
    k("open_ports", PortSet, None),
    k("exe_path", Str, None),
    k("exe_path_regexp", Str, None),
    k("cmd_args", Str, None),
    k("languages", Str, None),
    k("containers_only", Bool, None),
    k("container_name", Str, None),
    k("target_pids", PidSet, None),
    k("k8s_namespace", Str, None),
    k("k8s_pod_name", Str, None),
    k("k8s_deployment_name", Str, None),
    k("k8s_replicaset_name", Str, None),
    k("k8s_statefulset_name", Str, None),
    k("k8s_daemonset_name", Str, None),
    k("k8s_owner_name", Str, None),
    k("k8s_job_name", Str, None),
    k("k8s_cronjob_name", Str, None),
    k("k8s_container_name", Str, None),
    k("k8s_pod_labels", Map, None),
    k("k8s_pod_labels.*", Str, None),
    k("k8s_pod_annotations", Map, None),
    k("k8s_pod_annotations.*", Str, None),
    k("exports", EnumList(EXPORT_MODES, false), None),
    k("sampler", Section, None),
    k("sampler.name", Enum(SAMPLERS), None),
    k("sampler.arg", Str, None),
    k("routes", Section, None),
    k("routes.incoming", StrList { comma: false }, None),
    k("routes.outgoing", StrList { comma: false }, None),
    k("metrics", Section, None),
    k("metrics.features", EnumList(FEATURES, true), None),
    k("name", Str, None),
    k("namespace", Str, None),
];

/// Selector keys that count as selection criteria in OBI's `Discovery.Validate` (the `k8s_*`
/// metadata attributes included); `cmd_args`, `containers_only` and `exports` alone do not.
pub const SELECTOR_CRITERIA: &[&str] = &[
    "open_ports",
    "exe_path",
    "exe_path_regexp",
    "languages",
    "target_pids",
    "k8s_namespace",
    "k8s_pod_name",
    "k8s_deployment_name",
    "k8s_replicaset_name",
    "k8s_daemonset_name",
    "k8s_statefulset_name",
    "k8s_job_name",
    "k8s_cronjob_name",
    "k8s_owner_name",
    "k8s_container_name",
    "k8s_pod_labels",
    "k8s_pod_annotations",
];

/// Selector lists OBI validates at startup, with the name its error message uses.
pub const VALIDATED_SELECTOR_LISTS: &[(&str, &str)] = &[
    ("discovery.services", "services"),
    ("discovery.exclude_services", "exclude_services"),
    ("discovery.instrument", "instrument"),
    ("discovery.exclude_instrument", "exclude_instrument"),
];

/// Lists whose items are service selectors (each gets [`SELECTOR_KEYS`]).
pub const SELECTOR_LISTS: &[&str] = &[
    "discovery.instrument",
    "discovery.exclude_instrument",
    "discovery.default_exclude_instrument",
    "discovery.services",
    "discovery.exclude_services",
    "discovery.default_exclude_services",
    "ebpf.log_enricher.services[].service",
];

/// Every key of OBI's v1 configuration that obi-mcp knows, with its type and environment variable.
#[rustfmt::skip]
pub const KEYS: &[KeyFact] = &[
    // top level
    k("log_level", EnumNoCase(LOG_LEVELS), Some("OTEL_EBPF_LOG_LEVEL")),
    k("log_format", EnumNoCase(LOG_FORMATS), Some("OTEL_EBPF_LOG_FORMAT")),
    k("log_config", Enum(LOG_CONFIG), Some("OTEL_EBPF_LOG_CONFIG")),
    k("trace_printer", Str, Some("OTEL_EBPF_TRACE_PRINTER")),
    k("open_port", PortSet, Some("OTEL_EBPF_OPEN_PORT")),
    k("target_pids", PidSet, Some("OTEL_EBPF_TARGET_PID")),
    k("executable_path", Str, Some("OTEL_EBPF_EXECUTABLE_PATH")),
    k("service_name", Str, Some("OTEL_SERVICE_NAME")),
    k("service_namespace", Str, Some("OTEL_EBPF_SERVICE_NAMESPACE")),
    k("shutdown_timeout", Duration, Some("OTEL_EBPF_SHUTDOWN_TIMEOUT")),
    k("enforce_sys_caps", Bool, Some("OTEL_EBPF_ENFORCE_SYS_CAPS")),
    k("channel_buffer_len", Int(1), Some("OTEL_EBPF_CHANNEL_BUFFER_LEN")),
    k("channel_send_timeout", Duration, Some("OTEL_EBPF_CHANNEL_SEND_TIMEOUT")),
    k("channel_send_timeout_panic", Bool, Some("OTEL_EBPF_CHANNEL_SEND_TIMEOUT_PANIC")),
    k("profile_port", Port, Some("OTEL_EBPF_PROFILE_PORT")),
    k("version", Any, None),
    // discovery
    k("discovery", Section, None),
    k("discovery.instrument", List, None),
    k("discovery.exclude_instrument", List, None),
    k("discovery.default_exclude_instrument", List, None),
    k("discovery.services", List, None),
    k("discovery.exclude_services", List, None),
    k("discovery.default_exclude_services", List, None),
    k("discovery.exclude_otel_instrumented_services", Bool, Some("OTEL_EBPF_EXCLUDE_OTEL_INSTRUMENTED_SERVICES")),
    k("discovery.exclude_otel_instrumented_services_span_metrics", Bool, Some("OTEL_EBPF_EXCLUDE_OTEL_INSTRUMENTED_SERVICES_SPAN_METRICS")),
    k("discovery.skip_go_specific_tracers", Bool, Some("OTEL_EBPF_SKIP_GO_SPECIFIC_TRACERS")),
    k("discovery.bpf_pid_filter_off", Bool, Some("OTEL_EBPF_BPF_PID_FILTER_OFF")),
    k("discovery.min_process_age", Duration, Some("OTEL_EBPF_MIN_PROCESS_AGE")),
    k("discovery.poll_interval", Duration, Some("OTEL_EBPF_DISCOVERY_POLL_INTERVAL")),
    k("discovery.default_otlp_grpc_port", Port, Some("OTEL_EBPF_DEFAULT_OTLP_GRPC_PORT")),
    k("discovery.route_harvester_timeout", Duration, Some("OTEL_EBPF_ROUTE_HARVESTER_TIMEOUT")),
    k("discovery.disabled_route_harvesters", EnumList(&["go", "java", "nodejs"], false), None),
    k("discovery.route_harvester_advanced", Section, None),
    k("discovery.route_harvester_advanced.java_harvest_delay", Duration, Some("OTEL_EBPF_JAVA_ROUTE_HARVEST_DELAY")),
    k("discovery.excluded_linux_system_paths", StrList { comma: false }, None),
    // otel_traces_export
    k("otel_traces_export", Section, None),
    k("otel_traces_export.endpoint", Url, Some("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
    k("otel_traces_export.protocol", Enum(OTLP_PROTOCOLS), Some("OTEL_EXPORTER_OTLP_PROTOCOL")),
    k("otel_traces_export.insecure_skip_verify", Bool, Some("OTEL_EBPF_INSECURE_SKIP_VERIFY")),
    k("otel_traces_export.instrumentations", EnumList(INSTRUMENTATIONS, false), Some("OTEL_EBPF_TRACES_INSTRUMENTATIONS")),
    k("otel_traces_export.sampler", Section, None),
    k("otel_traces_export.sampler.name", Enum(SAMPLERS), Some("OTEL_TRACES_SAMPLER")),
    k("otel_traces_export.sampler.arg", Str, Some("OTEL_TRACES_SAMPLER_ARG")),
    k("otel_traces_export.max_queue_size", Int(1), Some("OTEL_EBPF_OTLP_TRACES_MAX_QUEUE_SIZE")),
    k("otel_traces_export.queue_size", Int(0), Some("OTEL_EBPF_OTLP_TRACES_QUEUE_SIZE")),
    k("otel_traces_export.batch_max_size", Int(1), Some("OTEL_EBPF_OTLP_TRACES_BATCH_MAX_SIZE")),
    k("otel_traces_export.batch_timeout", Duration, Some("OTEL_EBPF_OTLP_TRACES_BATCH_TIMEOUT")),
    k("otel_traces_export.backoff_initial_interval", Duration, Some("OTEL_EBPF_BACKOFF_INITIAL_INTERVAL")),
    k("otel_traces_export.backoff_max_interval", Duration, Some("OTEL_EBPF_BACKOFF_MAX_INTERVAL")),
    k("otel_traces_export.backoff_max_elapsed_time", Duration, Some("OTEL_EBPF_BACKOFF_MAX_ELAPSED_TIME")),
    k("otel_traces_export.reporters_cache_len", Int(1), Some("OTEL_EBPF_TRACES_REPORT_CACHE_LEN")),
    k("otel_traces_export.otel_sdk_log_level", EnumNoCase(SDK_LOG_LEVELS), Some("OTEL_EBPF_SDK_LOG_LEVEL")),
    // otel_metrics_export
    k("otel_metrics_export", Section, None),
    k("otel_metrics_export.endpoint", Url, Some("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")),
    k("otel_metrics_export.protocol", Enum(OTLP_PROTOCOLS), Some("OTEL_EXPORTER_OTLP_PROTOCOL")),
    k("otel_metrics_export.interval", Duration, Some("OTEL_EBPF_METRICS_INTERVAL")),
    k("otel_metrics_export.insecure_skip_verify", Bool, Some("OTEL_EBPF_INSECURE_SKIP_VERIFY")),
    k("otel_metrics_export.instrumentations", EnumList(INSTRUMENTATIONS, false), Some("OTEL_EBPF_METRICS_INSTRUMENTATIONS")),
    k("otel_metrics_export.buckets", Section, None),
    k("otel_metrics_export.buckets.duration_histogram", NumList, None),
    k("otel_metrics_export.buckets.request_size_histogram", NumList, None),
    k("otel_metrics_export.buckets.response_size_histogram", NumList, None),
    k("otel_metrics_export.histogram_aggregation", Enum(HISTOGRAM_AGGREGATIONS), Some("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION")),
    k("otel_metrics_export.ttl", Duration, Some("OTEL_EBPF_METRICS_TTL")),
    k("otel_metrics_export.features", EnumList(FEATURES, true), None),
    k("otel_metrics_export.reporters_cache_len", Int(1), Some("OTEL_EBPF_METRICS_REPORT_CACHE_LEN")),
    k("otel_metrics_export.otel_sdk_log_level", EnumNoCase(SDK_LOG_LEVELS), Some("OTEL_EBPF_SDK_LOG_LEVEL")),
    k("otel_metrics_export.allow_service_graph_self_references", Bool, Some("OTEL_EBPF_ALLOW_SERVICE_GRAPH_SELF_REFERENCES")),
    k("otel_metrics_export.extra_span_resource_attributes", StrList { comma: false }, Some("OTEL_EBPF_EXTRA_SPAN_RESOURCE_ATTRIBUTES")),
    // prometheus_export
    k("prometheus_export", Section, None),
    k("prometheus_export.port", Port, Some("OTEL_EBPF_PROMETHEUS_PORT")),
    k("prometheus_export.path", Str, Some("OTEL_EBPF_PROMETHEUS_PATH")),
    k("prometheus_export.features", EnumList(FEATURES, true), Some("OTEL_EBPF_PROMETHEUS_FEATURES")),
    k("prometheus_export.instrumentations", EnumList(INSTRUMENTATIONS, false), Some("OTEL_EBPF_PROMETHEUS_INSTRUMENTATIONS")),
    k("prometheus_export.buckets", Section, None),
    k("prometheus_export.buckets.duration_histogram", NumList, None),
    k("prometheus_export.buckets.request_size_histogram", NumList, None),
    k("prometheus_export.buckets.response_size_histogram", NumList, None),
    k("prometheus_export.ttl", Duration, Some("OTEL_EBPF_PROMETHEUS_TTL")),
    k("prometheus_export.service_cache_size", Int(1), None),
    k("prometheus_export.disable_build_info", Bool, Some("OTEL_EBPF_PROMETHEUS_DISABLE_BUILD_INFO")),
    k("prometheus_export.allow_service_graph_self_references", Bool, Some("OTEL_EBPF_PROMETHEUS_ALLOW_SERVICE_GRAPH_SELF_REFERENCES")),
    k("prometheus_export.extra_resource_attributes", StrList { comma: false }, Some("OTEL_EBPF_PROMETHEUS_EXTRA_RESOURCE_ATTRIBUTES")),
    k("prometheus_export.extra_span_resource_attributes", StrList { comma: false }, Some("OTEL_EBPF_PROMETHEUS_EXTRA_SPAN_RESOURCE_ATTRIBUTES")),
    k("prometheus_export.exemplar_filter", Enum(&["always_on", "always_off", "trace_based"]), Some("OTEL_EBPF_PROMETHEUS_EXEMPLAR_FILTER")),
    // metrics (per-app placeholder: only features)
    k("metrics", Section, None),
    k("metrics.features", EnumList(FEATURES, true), Some("OTEL_EBPF_METRICS_FEATURES")),
    // attributes
    k("attributes", Section, None),
    k("attributes.kubernetes", Section, None),
    k("attributes.kubernetes.enable", KubeEnable, Some("OTEL_EBPF_KUBE_METADATA_ENABLE")),
    k("attributes.kubernetes.cluster_name", Str, Some("OTEL_EBPF_KUBE_CLUSTER_NAME")),
    k("attributes.kubernetes.kubeconfig_path", Str, Some("KUBECONFIG")),
    k("attributes.kubernetes.informers_sync_timeout", Duration, Some("OTEL_EBPF_KUBE_INFORMERS_SYNC_TIMEOUT")),
    k("attributes.kubernetes.informers_resync_period", Duration, Some("OTEL_EBPF_KUBE_INFORMERS_RESYNC_PERIOD")),
    k("attributes.kubernetes.reconnect_initial_interval", Duration, Some("OTEL_EBPF_KUBE_RECONNECT_INITIAL_INTERVAL")),
    k("attributes.kubernetes.meta_cache_address", HostPort, Some("OTEL_EBPF_KUBE_META_CACHE_ADDRESS")),
    k("attributes.kubernetes.meta_restrict_local_node", Bool, Some("OTEL_EBPF_KUBE_META_RESTRICT_LOCAL_NODE")),
    k("attributes.kubernetes.disable_informers", EnumList(&["node", "service"], true), Some("OTEL_EBPF_KUBE_DISABLE_INFORMERS")),
    k("attributes.kubernetes.drop_external", Bool, Some("OTEL_EBPF_NETWORK_DROP_EXTERNAL")),
    k("attributes.kubernetes.service_name_template", Str, Some("OTEL_EBPF_SERVICE_NAME_TEMPLATE")),
    k("attributes.kubernetes.resource_labels", Map, None),
    k("attributes.kubernetes.resource_labels.*", StrList { comma: false }, None),
    k("attributes.kubernetes.meta_source_labels", Section, None),
    k("attributes.kubernetes.meta_source_labels.service_name", Str, None),
    k("attributes.kubernetes.meta_source_labels.service_namespace", Str, None),
    k("attributes.select", Map, None),
    k("attributes.select.*", Section, None),
    k("attributes.select.*.include", StrList { comma: false }, None),
    k("attributes.select.*.exclude", StrList { comma: false }, None),
    k("attributes.instance_id", Section, None),
    k("attributes.instance_id.dns", Bool, Some("OTEL_EBPF_HOSTNAME_DNS_RESOLUTION")),
    k("attributes.instance_id.override_hostname", Str, Some("OTEL_EBPF_HOSTNAME")),
    k("attributes.host_id", Section, None),
    k("attributes.host_id.override", Str, Some("OTEL_EBPF_HOST_ID")),
    k("attributes.host_id.fetch_timeout", Duration, Some("OTEL_EBPF_HOST_ID_FETCH_TIMEOUT")),
    k("attributes.extra_group_attributes", Map, None),
    k("attributes.extra_group_attributes.*", StrList { comma: false }, None),
    k("attributes.rename_unresolved_hosts", Str, Some("OTEL_EBPF_RENAME_UNRESOLVED_HOSTS")),
    k("attributes.rename_unresolved_hosts_outgoing", Str, Some("OTEL_EBPF_RENAME_UNRESOLVED_HOSTS_OUTGOING")),
    k("attributes.rename_unresolved_hosts_incoming", Str, Some("OTEL_EBPF_RENAME_UNRESOLVED_HOSTS_INCOMING")),
    k("attributes.metric_span_names_limit", Int(i64::MIN), Some("OTEL_EBPF_METRIC_SPAN_NAMES_LIMIT")),
    k("attributes.metadata_retry", Section, None),
    k("attributes.metadata_retry.start_interval", Duration, Some("OTEL_EBPF_METADATA_RETRY_START_INTERVAL")),
    k("attributes.metadata_retry.max_interval", Duration, Some("OTEL_EBPF_METADATA_RETRY_MAX_INTERVAL")),
    k("attributes.metadata_retry.timeout", Duration, Some("OTEL_EBPF_METADATA_RETRY_TIMEOUT")),
    // routes
    k("routes", Section, None),
    k("routes.patterns", StrList { comma: false }, None),
    k("routes.ignored_patterns", StrList { comma: false }, None),
    k("routes.ignore_mode", Enum(&["all", "metrics", "traces"]), None),
    k("routes.unmatched", Enum(ROUTES_UNMATCHED), None),
    k("routes.wildcard_char", Str, None),
    k("routes.max_path_segment_cardinality", Int(1), None),
    // network
    k("network", Section, None),
    k("network.enable", Bool, Some("OTEL_EBPF_NETWORK_METRICS")),
    k("network.source", Enum(&["socket_filter", "tc"]), Some("OTEL_EBPF_NETWORK_SOURCE")),
    k("network.agent_ip", Ip, Some("OTEL_EBPF_NETWORK_AGENT_IP")),
    k("network.agent_ip_iface", AgentIface, Some("OTEL_EBPF_NETWORK_AGENT_IP_IFACE")),
    k("network.agent_ip_type", Enum(&["any", "ipv4", "ipv6"]), Some("OTEL_EBPF_NETWORK_AGENT_IP_TYPE")),
    k("network.interfaces", StrList { comma: false }, Some("OTEL_EBPF_NETWORK_INTERFACES")),
    k("network.exclude_interfaces", StrList { comma: false }, Some("OTEL_EBPF_NETWORK_EXCLUDE_INTERFACES")),
    k("network.protocols", StrList { comma: false }, Some("OTEL_EBPF_NETWORK_PROTOCOLS")),
    k("network.exclude_protocols", StrList { comma: false }, Some("OTEL_EBPF_NETWORK_EXCLUDE_PROTOCOLS")),
    k("network.cache_max_flows", Int(0), Some("OTEL_EBPF_NETWORK_CACHE_MAX_FLOWS")),
    k("network.cache_active_timeout", Duration, Some("OTEL_EBPF_NETWORK_CACHE_ACTIVE_TIMEOUT")),
    k("network.deduper", Enum(&["first_come", "none"]), Some("OTEL_EBPF_NETWORK_DEDUPER")),
    k("network.deduper_fc_ttl", Duration, Some("OTEL_EBPF_NETWORK_DEDUPER_FC_TTL")),
    k("network.direction", Enum(&["ingress", "egress", "both"]), Some("OTEL_EBPF_NETWORK_DIRECTION")),
    k("network.sampling", Int(0), Some("OTEL_EBPF_NETWORK_SAMPLING")),
    k("network.listen_interfaces", Enum(&["watch", "poll"]), Some("OTEL_EBPF_NETWORK_LISTEN_INTERFACES")),
    k("network.listen_poll_period", Duration, Some("OTEL_EBPF_NETWORK_LISTEN_POLL_PERIOD")),
    k("network.print_flows", Bool, Some("OTEL_EBPF_NETWORK_PRINT_FLOWS")),
    k("network.cidrs", CidrList, Some("OTEL_EBPF_NETWORK_CIDRS")),
    k("network.guess_ports", Enum(&["disable", "ordinal"]), Some("OTEL_EBPF_NETWORK_GUESS_PORTS")),
    k("network.geo_ip", Section, None),
    k("network.geo_ip.cache_len", Int(1), Some("OTEL_EBPF_NETWORK_GEOIP_CACHE_LEN")),
    k("network.geo_ip.cache_expiry", Duration, Some("OTEL_EBPF_NETWORK_GEOIP_CACHE_TTL")),
    k("network.geo_ip.ipinfo", Section, None),
    k("network.geo_ip.ipinfo.path", Str, Some("OTEL_EBPF_NETWORK_GEOIP_IPINFO_PATH")),
    k("network.geo_ip.maxmind", Section, None),
    k("network.geo_ip.maxmind.asn_path", Str, Some("OTEL_EBPF_NETWORK_GEOIP_MAXMIND_ASN_PATH")),
    k("network.geo_ip.maxmind.country_path", Str, Some("OTEL_EBPF_NETWORK_GEOIP_MAXMIND_COUNTRY_PATH")),
    k("network.reverse_dns", Section, None),
    k("network.reverse_dns.type", Enum(&["none", "local", "ebpf"]), Some("OTEL_EBPF_NETWORK_REVERSE_DNS_TYPE")),
    k("network.reverse_dns.cache_len", Int(1), Some("OTEL_EBPF_NETWORK_REVERSE_DNS_CACHE_LEN")),
    k("network.reverse_dns.cache_expiry", Duration, Some("OTEL_EBPF_NETWORK_REVERSE_DNS_CACHE_TTL")),
    // stats (newer OBI)
    k("stats", Section, None),
    k("stats.agent_ip", Ip, Some("OTEL_EBPF_STATS_AGENT_IP")),
    k("stats.agent_ip_iface", AgentIface, Some("OTEL_EBPF_STATS_AGENT_IP_IFACE")),
    k("stats.agent_ip_type", Enum(&["any", "ipv4", "ipv6"]), Some("OTEL_EBPF_STATS_AGENT_IP_TYPE")),
    k("stats.cidrs", CidrList, Some("OTEL_EBPF_STATS_CIDRS")),
    k("stats.print_stats", Bool, Some("OTEL_EBPF_STATS_PRINT_STATS")),
    k("stats.geo_ip", Section, None),
    k("stats.geo_ip.cache_len", Int(1), None),
    k("stats.geo_ip.cache_expiry", Duration, None),
    k("stats.geo_ip.ipinfo", Section, None),
    k("stats.geo_ip.ipinfo.path", Str, None),
    k("stats.geo_ip.maxmind", Section, None),
    k("stats.geo_ip.maxmind.asn_path", Str, None),
    k("stats.geo_ip.maxmind.country_path", Str, None),
    k("stats.reverse_dns", Section, None),
    k("stats.reverse_dns.type", Enum(&["none", "local", "ebpf"]), None),
    k("stats.reverse_dns.cache_len", Int(1), None),
    k("stats.reverse_dns.cache_expiry", Duration, None),
    // ebpf
    k("ebpf", Section, None),
    k("ebpf.context_propagation", ContextPropagation, Some("OTEL_EBPF_BPF_CONTEXT_PROPAGATION")),
    k("ebpf.traffic_control_backend", Enum(&["auto", "tc", "tcx"]), Some("OTEL_EBPF_BPF_TC_BACKEND")),
    k("ebpf.bpf_debug", Bool, Some("OTEL_EBPF_BPF_DEBUG")),
    k("ebpf.protocol_debug_print", Bool, Some("OTEL_EBPF_PROTOCOL_DEBUG_PRINT")),
    k("ebpf.bpf_fs_path", Str, Some("OTEL_EBPF_BPF_FS_PATH")),
    k("ebpf.batch_length", Int(1), Some("OTEL_EBPF_BPF_BATCH_LENGTH")),
    k("ebpf.batch_timeout", Duration, Some("OTEL_EBPF_BPF_BATCH_TIMEOUT")),
    k("ebpf.wakeup_len", Int(0), Some("OTEL_EBPF_BPF_WAKEUP_LEN")),
    k("ebpf.http_request_timeout", Duration, Some("OTEL_EBPF_BPF_HTTP_REQUEST_TIMEOUT")),
    k("ebpf.dns_request_timeout", Duration, Some("OTEL_EBPF_BPF_DNS_REQUEST_TIMEOUT")),
    k("ebpf.max_transaction_time", Duration, Some("OTEL_EBPF_BPF_MAX_TRANSACTION_TIME")),
    k("ebpf.high_request_volume", Bool, Some("OTEL_EBPF_BPF_HIGH_REQUEST_VOLUME")),
    k("ebpf.heuristic_sql_detect", Bool, Some("OTEL_EBPF_HEURISTIC_SQL_DETECT")),
    k("ebpf.track_request_headers", Bool, Some("OTEL_EBPF_BPF_TRACK_REQUEST_HEADERS")),
    k("ebpf.disable_black_box_cp", Bool, Some("OTEL_EBPF_BPF_DISABLE_BLACK_BOX_CP")),
    k("ebpf.override_bpfloop_enabled", Bool, Some("OTEL_EBPF_OVERRIDE_BPF_LOOP_ENABLED")),
    k("ebpf.instrument_cuda", Any, Some("OTEL_EBPF_INSTRUMENT_CUDA")),
    k("ebpf.force_bpf_map_reader", Enum(&["auto", "batch", "legacy"]), Some("OTEL_EBPF_FORCE_BPF_MAP_READER")),
    k("ebpf.mysql_prepared_statements_cache_size", Int(1), Some("OTEL_EBPF_BPF_MYSQL_PREPARED_STATEMENTS_CACHE_SIZE")),
    k("ebpf.postgres_prepared_statements_cache_size", Int(1), Some("OTEL_EBPF_BPF_POSTGRES_PREPARED_STATEMENTS_CACHE_SIZE")),
    k("ebpf.mongo_requests_cache_size", Int(1), Some("OTEL_EBPF_BPF_MONGO_REQUESTS_CACHE_SIZE")),
    k("ebpf.kafka_topic_uuid_cache_size", Int(1), Some("OTEL_KAFKA_TOPIC_UUID_CACHE_SIZE")),
    k("ebpf.couchbase_db_cache_size", Int(1), Some("OTEL_EBPF_COUCHBASE_DB_CACHE_SIZE")),
    k("ebpf.redis_db_cache", Section, None),
    k("ebpf.redis_db_cache.enabled", Bool, Some("OTEL_EBPF_BPF_REDIS_DB_CACHE_ENABLED")),
    k("ebpf.redis_db_cache.max_size", Int(1), Some("OTEL_EBPF_BPF_REDIS_DB_CACHE_MAX_SIZE")),
    k("ebpf.buffer_sizes", Section, None),
    k("ebpf.buffer_sizes.http", Int(0), Some("OTEL_EBPF_BPF_BUFFER_SIZE_HTTP")),
    k("ebpf.buffer_sizes.mysql", Int(0), Some("OTEL_EBPF_BPF_BUFFER_SIZE_MYSQL")),
    k("ebpf.buffer_sizes.postgres", Int(0), Some("OTEL_EBPF_BPF_BUFFER_SIZE_POSTGRES")),
    k("ebpf.buffer_sizes.kafka", Int(0), Some("OTEL_EBPF_BPF_BUFFER_SIZE_KAFKA")),
    k("ebpf.maps_config", Section, None),
    k("ebpf.maps_config.global_scale_factor", Int(i64::MIN), None),
    k("ebpf.log_enricher", Section, None),
    k("ebpf.log_enricher.cache_ttl", Duration, Some("OTEL_EBPF_BPF_LOG_ENRICHER_CACHE_TTL")),
    k("ebpf.log_enricher.cache_size", Int(1), Some("OTEL_EBPF_BPF_LOG_ENRICHER_CACHE_SIZE")),
    k("ebpf.log_enricher.async_writer_workers", Int(1), Some("OTEL_EBPF_BPF_LOG_ENRICHER_ASYNC_WRITER_WORKERS")),
    k("ebpf.log_enricher.async_writer_channel_len", Int(1), Some("OTEL_EBPF_BPF_LOG_ENRICHER_ASYNC_WRITER_CHANNEL_LEN")),
    k("ebpf.log_enricher.services", List, None),
    k("ebpf.log_enricher.services[]", Section, None),
    k("ebpf.log_enricher.services[].service", List, None),
    k("ebpf.payload_extraction", Any, None),
    // filter
    k("filter", Section, None),
    k("filter.application", Map, None),
    k("filter.network", Map, None),
    k("filter.stats", Map, None),
    // name_resolver
    k("name_resolver", Section, None),
    k("name_resolver.sources", EnumList(NAME_SOURCES, true), Some("OTEL_EBPF_NAME_RESOLVER_SOURCES")),
    k("name_resolver.cache_len", Int(1), Some("OTEL_EBPF_NAME_RESOLVER_CACHE_LEN")),
    k("name_resolver.cache_expiry", Duration, Some("OTEL_EBPF_NAME_RESOLVER_CACHE_TTL")),
    // internal_metrics
    k("internal_metrics", Section, None),
    k("internal_metrics.exporter", Enum(INTERNAL_EXPORTERS), Some("OTEL_EBPF_INTERNAL_METRICS_EXPORTER")),
    k("internal_metrics.prometheus", Section, None),
    k("internal_metrics.prometheus.port", Port, Some("OTEL_EBPF_INTERNAL_METRICS_PROMETHEUS_PORT")),
    k("internal_metrics.prometheus.path", Str, Some("OTEL_EBPF_INTERNAL_METRICS_PROMETHEUS_PATH")),
    k("internal_metrics.bpf_metric_scrape_interval", Duration, Some("OTEL_EBPF_BPF_METRIC_SCRAPE_INTERVAL")),
    // health_check (recent releases)
    k("health_check", Section, None),
    k("health_check.port", Port, Some("OTEL_EBPF_HEALTH_CHECK_PORT")),
    k("health_check.listen_address", Ip, Some("OTEL_EBPF_HEALTH_CHECK_LISTEN_ADDRESS")),
    k("health_check.unix_socket_path", Str, Some("OTEL_EBPF_HEALTH_CHECK_UNIX_SOCKET_PATH")),
    // runtimes
    k("nodejs", Section, None),
    k("nodejs.enabled", Bool, Some("OTEL_EBPF_NODEJS_ENABLED")),
    k("javaagent", Section, None),
    k("javaagent.enabled", Bool, Some("OTEL_EBPF_JAVAAGENT_ENABLED")),
    k("javaagent.debug", Bool, Some("OTEL_EBPF_JAVAAGENT_DEBUG")),
    k("javaagent.debug_instrumentation", Bool, Some("OTEL_EBPF_JAVAAGENT_DEBUG_INSTRUMENTATION")),
    k("javaagent.attach_timeout", Duration, Some("OTEL_EBPF_JAVAAGENT_ATTACH_TIMEOUT")),
];

/// Environment variables OBI reads that have no YAML key.
#[rustfmt::skip]
pub const ENV_ONLY: &[(&str, &str)] = &[
    (CONFIG_PATH_ENV, "path of the YAML configuration file"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTLP endpoint for traces and metrics; OBI appends /v1/traces or /v1/metrics"),
    ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTLP protocol for traces only"),
    ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTLP protocol for metrics only"),
    ("OTEL_EXPORTER_OTLP_HEADERS", "OTLP headers (key=value,...)"),
    ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTLP headers for traces"),
    ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTLP headers for metrics"),
    ("OTEL_RESOURCE_ATTRIBUTES", "extra resource attributes"),
    ("OTEL_METRIC_EXPORT_INTERVAL", "metrics interval in milliseconds (OTEL_EBPF_METRICS_INTERVAL wins)"),
    ("OTEL_EBPF_AUTO_TARGET_EXE", "glob of executables to instrument"),
    ("OTEL_GO_AUTO_TARGET_EXE", "same as OTEL_EBPF_AUTO_TARGET_EXE (Go auto-instrumentation name)"),
    ("OTEL_EBPF_AUTO_TARGET_LANGUAGE", "glob of languages to instrument"),
    ("OTEL_EBPF_SERVICE_NAME", "fallback of OTEL_SERVICE_NAME"),
    ("OTEL_EBPF_METRIC_FEATURES", "fallback of OTEL_EBPF_METRICS_FEATURES"),
    ("OTEL_EBPF_PROCESSES_INTERVAL", "process metrics interval"),
    ("OTEL_EBPF_GEOIP_CACHE_LEN", "newer name of OTEL_EBPF_NETWORK_GEOIP_CACHE_LEN"),
    ("OTEL_EBPF_GEOIP_CACHE_TTL", "newer name of OTEL_EBPF_NETWORK_GEOIP_CACHE_TTL"),
    ("OTEL_EBPF_GEOIP_IPINFO_PATH", "newer name of OTEL_EBPF_NETWORK_GEOIP_IPINFO_PATH"),
    ("OTEL_EBPF_GEOIP_MAXMIND_ASN_PATH", "newer name of OTEL_EBPF_NETWORK_GEOIP_MAXMIND_ASN_PATH"),
    ("OTEL_EBPF_GEOIP_MAXMIND_COUNTRY_PATH", "newer name of OTEL_EBPF_NETWORK_GEOIP_MAXMIND_COUNTRY_PATH"),
    ("OTEL_EBPF_REVERSE_DNS_TYPE", "newer name of OTEL_EBPF_NETWORK_REVERSE_DNS_TYPE"),
    ("OTEL_EBPF_REVERSE_DNS_CACHE_LEN", "newer name of OTEL_EBPF_NETWORK_REVERSE_DNS_CACHE_LEN"),
    ("OTEL_EBPF_REVERSE_DNS_CACHE_TTL", "newer name of OTEL_EBPF_NETWORK_REVERSE_DNS_CACHE_TTL"),
];

/// Environment variables that enable application observability on their own (rule 1).
/// (`OTEL_EBPF_INSTRUMENT_COMMAND` / `_PORTS`, named in a comment in OBI's source, have no
/// `env` tag there, so they are not counted.)
pub const APP_SELECTOR_ENV: &[&str] = &[
    "OTEL_EBPF_OPEN_PORT",
    "OTEL_EBPF_EXECUTABLE_PATH",
    "OTEL_EBPF_AUTO_TARGET_EXE",
    "OTEL_GO_AUTO_TARGET_EXE",
    "OTEL_EBPF_AUTO_TARGET_LANGUAGE",
    "OTEL_EBPF_TARGET_PID",
];

/// A deprecated key and what to use instead.
#[derive(Debug, Clone, Copy)]
pub struct Deprecation {
    /// Dotted path (selector keys use `discovery.instrument[]`-style paths with `[]`).
    pub path: &'static str,
    /// What to write instead.
    pub instead: &'static str,
}

/// Keys OBI still reads but has deprecated.
#[rustfmt::skip]
pub const DEPRECATED: &[Deprecation] = &[
    Deprecation { path: "executable_path", instead: "discovery.instrument[].exe_path (or the OTEL_EBPF_AUTO_TARGET_EXE variable)" },
    Deprecation { path: "service_name", instead: "the instrumented process's own OTEL_SERVICE_NAME or Kubernetes metadata" },
    Deprecation { path: "service_namespace", instead: "the instrumented process's own OTEL_RESOURCE_ATTRIBUTES or Kubernetes metadata" },
    Deprecation { path: "network.enable", instead: "`network` in metrics.features" },
    Deprecation { path: "otel_metrics_export.features", instead: "metrics.features" },
    Deprecation { path: "prometheus_export.features", instead: "metrics.features" },
    Deprecation { path: "discovery.services", instead: "discovery.instrument (glob patterns instead of regular expressions)" },
    Deprecation { path: "discovery.exclude_services", instead: "discovery.exclude_instrument" },
    Deprecation { path: "discovery.default_exclude_services", instead: "discovery.default_exclude_instrument" },
    Deprecation { path: "routes.ignored_patterns", instead: "the filter section" },
    Deprecation { path: "routes.ignore_mode", instead: "the filter section" },
    Deprecation { path: "attributes.kubernetes.meta_source_labels", instead: "attributes.kubernetes.resource_labels" },
    Deprecation { path: "*[].exe_path_regexp", instead: "exe_path" },
    Deprecation { path: "*[].name", instead: "the instrumented process's OTEL_SERVICE_NAME or Kubernetes metadata" },
    Deprecation { path: "*[].namespace", instead: "Kubernetes metadata or OTEL_RESOURCE_ATTRIBUTES" },
];

/// Deprecated environment variables and their replacements.
#[rustfmt::skip]
pub const DEPRECATED_ENV: &[(&str, &str)] = &[
    ("OTEL_EBPF_NETWORK_METRICS", "OTEL_EBPF_METRICS_FEATURES=network (or add `network` to metrics.features)"),
    ("OTEL_EBPF_EXECUTABLE_PATH", "OTEL_EBPF_AUTO_TARGET_EXE"),
    ("OTEL_EBPF_PROMETHEUS_FEATURES", "OTEL_EBPF_METRICS_FEATURES"),
];

/// Top-level key that marks a Config v2 file.
pub const V2_MARKER: &str = "version";
/// Values of [`V2_MARKER`] that still mean a v1 file.
pub const V1_VERSIONS: &[&str] = &["1", "v1"];

/// Kubernetes namespaces OBI never instruments by default (`discovery.default_exclude_instrument`).
pub const DEFAULT_EXCLUDED_NAMESPACES: &[&str] = &[
    "kube-system",
    "kube-node-lease",
    "local-path-storage",
    "grafana-alloy",
    "cert-manager",
    "monitoring",
];

/// Facts about running OBI in Kubernetes (official Helm chart `opentelemetry-ebpf-instrumentation`
/// and OBI's Kubernetes documentation), used by the `kubernetes` toolset.
pub mod kubernetes {
    /// Key of the OBI configuration in its ConfigMap (the chart's name; external ConfigMaps must
    /// use it too).
    pub const CONFIG_MAP_KEY: &str = "ebpf-instrument-config.yml";
    /// Directory the ConfigMap is mounted at in the chart.
    pub const CONFIG_MOUNT_DIR: &str = "/etc/ebpf-instrument/config";
    /// The config file OBI is pointed at with `OTEL_EBPF_CONFIG_PATH`.
    pub const CONFIG_FILE: &str = "/etc/ebpf-instrument/config/ebpf-instrument-config.yml";
    /// Variable that enables Kubernetes metadata decoration.
    pub const KUBE_METADATA_ENV: &str = "OTEL_EBPF_KUBE_METADATA_ENABLE";
    /// Variable with the port of the application a sidecar instruments.
    pub const OPEN_PORT_ENV: &str = "OTEL_EBPF_OPEN_PORT";
    /// The common OTLP endpoint variable (`/v1/traces` and `/v1/metrics` get appended).
    pub const OTLP_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    /// The chart's default exporter endpoint: the node's collector over OTLP/HTTP.
    pub const DEFAULT_OTLP_ENDPOINT: &str = "http://${HOST_IP}:4318";
    /// Capabilities an unprivileged OBI needs (kernel >= 5.11, application and network
    /// observability with socket filters), without the `CAP_` prefix.
    pub const BASE_CAPABILITIES: &[&str] = &[
        "BPF",
        "SYS_PTRACE",
        "NET_RAW",
        "CHECKPOINT_RESTORE",
        "DAC_READ_SEARCH",
        "PERFMON",
    ];
    /// Added for context propagation or `network.source: tc`.
    pub const NET_ADMIN: &str = "NET_ADMIN";
    /// Needed only for Go library-level context propagation or `perf_event_paranoid >= 3` on
    /// older releases; added on request.
    pub const SYS_ADMIN: &str = "SYS_ADMIN";
    /// Capabilities a caller may add on top (`extraCapabilities`).
    pub const ALLOWED_EXTRA_CAPABILITIES: &[&str] = &[
        "SYS_ADMIN",
        "SYS_RESOURCE",
        "NET_ADMIN",
        "BPF",
        "SYS_PTRACE",
        "NET_RAW",
        "CHECKPOINT_RESTORE",
        "DAC_READ_SEARCH",
        "PERFMON",
        "IPC_LOCK",
    ];
    /// Host paths OBI mounts: cgroups (read-only) and tracefs (context propagation from v0.12).
    pub const CGROUP_PATH: &str = "/sys/fs/cgroup";
    /// tracefs.
    pub const TRACING_PATH: &str = "/sys/kernel/tracing";
    /// Scratch directory OBI needs with a read-only root filesystem.
    pub const RUN_DIR: &str = "/var/run/obi";
    /// Oldest kernel OBI supports (major, minor).
    pub const MIN_KERNEL: (u32, u32) = (5, 8);
    /// RHEL-family kernel accepted below [`MIN_KERNEL`] thanks to backports (major, minor; the
    /// release must contain `.el`).
    pub const RHEL_MIN_KERNEL: (u32, u32) = (4, 18);
    /// RBAC OBI needs for Kubernetes metadata: (API group, resources, verbs).
    pub const RBAC_RULES: &[(&str, &[&str], &[&str])] = &[
        (
            "",
            &["pods", "services", "nodes"],
            &["get", "list", "watch"],
        ),
        ("apps", &["replicasets"], &["list", "watch"]),
    ];
    /// Log messages that mean OBI's Kubernetes metadata does not sync (RBAC gaps, API server
    /// trouble).
    pub const METADATA_SYNC_PATTERNS: &[&str] = &[
        "kubernetes cache has not been synced",
        "failed to list",
        "failed to watch",
        "is forbidden",
        "informer",
        "can't start kubernetes informers",
    ];
}
