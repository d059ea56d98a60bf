//! What an OTLP endpoint setting does for OBI. Pure logic, no host calls.

use obi_toolset_sdk::prelude::*;

/// Arguments of `example_otlp_explain`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainArgs {
    /// The endpoint as it is (or will be) configured, e.g. `http://localhost:4318`.
    pub endpoint: String,
    /// The OTLP protocol if one is set (`OTEL_EXPORTER_OTLP_PROTOCOL` or `protocol:` in the
    /// export section). Left out, OBI infers it from the port.
    pub protocol: Option<Protocol>,
    /// The signal to explain. Left out, both traces and metrics.
    pub signal: Option<Signal>,
    /// The variable that holds the endpoint. Left out, `OTEL_EXPORTER_OTLP_ENDPOINT` (which is
    /// what the `endpoint:` key of OBI's export sections means too).
    pub variable: Option<Variable>,
    /// Where OBI runs; it decides what `localhost` means.
    pub runs_in: Option<RunsIn>,
}

/// An OTLP protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Protocol {
    /// OTLP over gRPC (port 4317 by convention).
    #[serde(rename = "grpc")]
    Grpc,
    /// OTLP over HTTP with protobuf bodies (port 4318 by convention).
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// OTLP over HTTP with JSON bodies (port 4318 by convention).
    #[serde(rename = "http/json")]
    HttpJson,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::HttpProtobuf => "http/protobuf",
            Self::HttpJson => "http/json",
        }
    }

    fn is_http(self) -> bool {
        self != Self::Grpc
    }
}

/// A telemetry signal OBI exports over OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Traces (`otel_traces_export`).
    Traces,
    /// Metrics (`otel_metrics_export`).
    Metrics,
}

impl Signal {
    fn path(self) -> &'static str {
        match self {
            Self::Traces => "/v1/traces",
            Self::Metrics => "/v1/metrics",
        }
    }

    fn specific_variable(self) -> &'static str {
        match self {
            Self::Traces => "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            Self::Metrics => "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        }
    }
}

/// The variable that holds the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Variable {
    /// The common endpoint: the signal's path is appended for HTTP protocols.
    #[serde(rename = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    Common,
    /// The traces endpoint, used exactly as written.
    #[serde(rename = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")]
    Traces,
    /// The metrics endpoint, used exactly as written.
    #[serde(rename = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")]
    Metrics,
}

/// Where OBI runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunsIn {
    /// A process on the host (the `local` toolset).
    Host,
    /// A container with its own network namespace (the `docker` toolset without `--network=host`).
    Container,
    /// A Kubernetes pod without `hostNetwork`.
    Pod,
    /// A Kubernetes pod with `hostNetwork: true`.
    PodHostNetwork,
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Probably not what was meant.
    Warning,
    /// Will not work.
    Error,
}

/// One thing to know about the setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Finding {
    /// How serious it is.
    pub severity: Severity,
    /// What happens and what to do.
    pub message: String,
}

/// Where one signal will be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Export {
    /// The signal.
    pub signal: Signal,
    /// The URL OBI's exporter will use (for gRPC, the target; the path plays no part).
    pub url: String,
}

/// A suggested environment variable for OBI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// Result of `example_otlp_explain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Explanation {
    /// The endpoint as given.
    pub endpoint: String,
    /// The variable the endpoint was explained for.
    pub variable: Variable,
    /// The protocol OBI will use.
    pub protocol: Protocol,
    /// Why that protocol: given, inferred from the port, or OBI's default.
    pub protocol_source: String,
    /// Host name or address of the collector.
    pub host: String,
    /// Port, when the endpoint has one.
    pub port: Option<u16>,
    /// Where each signal will be sent.
    pub exports: Vec<Export>,
    /// What to know, most serious first.
    pub findings: Vec<Finding>,
    /// Environment variables that say exactly what was meant, without relying on inference.
    pub suggested_env: Vec<EnvVar>,
    /// A one-line summary.
    pub summary: String,
    /// Whether this explanation was remembered (see `example_otlp_history`), and why not.
    pub history_note: Option<String>,
}

/// An endpoint split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint<'a> {
    scheme: Option<&'a str>,
    host: &'a str,
    port: Option<&'a str>,
    path: &'a str,
}

fn split_endpoint(endpoint: &str) -> Endpoint<'_> {
    let (scheme, rest) = match endpoint.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, endpoint),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => (bracketed, None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    Endpoint {
        scheme,
        host,
        port,
        path,
    }
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1" | "0.0.0.0") || host.starts_with("127.")
}

/// Explains `args`; `history_note` is left empty for the caller to fill.
pub fn explain(args: &ExplainArgs) -> Explanation {
    let mut findings = Vec::new();
    let mut note = |severity, message: String| findings.push(Finding { severity, message });
    let endpoint = args.endpoint.trim();
    let parts = split_endpoint(endpoint);

    let variable = args.variable.unwrap_or(Variable::Common);
    let signals: Vec<Signal> = match (variable, args.signal) {
        (Variable::Traces, _) => vec![Signal::Traces],
        (Variable::Metrics, _) => vec![Signal::Metrics],
        (Variable::Common, Some(signal)) => vec![signal],
        (Variable::Common, None) => vec![Signal::Traces, Signal::Metrics],
    };
    if let (Variable::Traces, Some(Signal::Metrics)) | (Variable::Metrics, Some(Signal::Traces)) =
        (variable, args.signal)
    {
        note(
            Severity::Warning,
            format!(
                "{} only applies to {}; the signal asked about is not affected by it",
                variable_name(variable),
                signal_name(signals[0])
            ),
        );
    }

    match parts.scheme {
        None => note(
            Severity::Error,
            format!(
                "`{endpoint}` has no scheme. OBI parses the endpoint as a URL, so `{}` would be \
                 taken for the scheme; write `http://{endpoint}` (plain text) or \
                 `https://{endpoint}` (TLS)",
                endpoint.split(':').next().unwrap_or(endpoint)
            ),
        ),
        Some("http" | "https") => {}
        Some(other) => note(
            Severity::Error,
            format!("scheme `{other}` is not usable for OTLP: use `http://` or `https://`"),
        ),
    }
    if parts.host.is_empty() {
        note(Severity::Error, "the endpoint has no host".to_string());
    }

    let port = match parts.port {
        None | Some("") => None,
        Some(text) => match text.parse::<u16>() {
            Ok(port) => Some(port),
            Err(_) => {
                note(Severity::Error, format!("`{text}` is not a valid port"));
                None
            }
        },
    };
    let port_text = parts.port.unwrap_or("");
    let inferred = if port_text.ends_with("4317") {
        Some(Protocol::Grpc)
    } else if port_text.ends_with("4318") {
        Some(Protocol::HttpProtobuf)
    } else {
        None
    };
    let (protocol, protocol_source) = match (args.protocol, inferred) {
        (Some(protocol), _) => (protocol, "given".to_string()),
        (None, Some(protocol)) => (
            protocol,
            format!(
                "inferred from the port {port_text} (ends in {})",
                &port_text[port_text.len() - 4..]
            ),
        ),
        (None, None) => {
            note(
                Severity::Warning,
                format!(
                    "no protocol is set and the port {} says nothing about it (only ports ending \
                     in 4317 or 4318 do), so OBI uses its default, http/protobuf; set \
                     OTEL_EXPORTER_OTLP_PROTOCOL to be sure",
                    if port_text.is_empty() {
                        "(none)"
                    } else {
                        port_text
                    }
                ),
            );
            (
                Protocol::HttpProtobuf,
                "OBI's default (nothing to infer from)".to_string(),
            )
        }
    };
    if port.is_none() && parts.scheme.is_some() {
        let default_port = if parts.scheme == Some("https") {
            443
        } else {
            80
        };
        note(
            Severity::Warning,
            format!(
                "the endpoint has no port, so the URL's default ({default_port}) is used, not the \
                 OTLP port (4317 for gRPC, 4318 for HTTP); collectors rarely listen there"
            ),
        );
    }
    match (args.protocol, inferred) {
        (Some(Protocol::Grpc), Some(Protocol::HttpProtobuf)) => note(
            Severity::Error,
            format!(
                "protocol grpc with port {port_text}: 4318 is the OTLP/HTTP port, so the gRPC \
                 exporter will fail to talk to it. Use port 4317, or protocol http/protobuf"
            ),
        ),
        (Some(given), Some(Protocol::Grpc)) if given.is_http() => note(
            Severity::Error,
            format!(
                "protocol {} with port {port_text}: 4317 is the OTLP/gRPC port, so HTTP requests \
                 to it fail. Use port 4318, or protocol grpc",
                given.name()
            ),
        ),
        _ => {}
    }

    let base = endpoint.trim_end_matches('/');
    let exports: Vec<Export> = signals
        .iter()
        .map(|&signal| {
            let url = if protocol.is_http() && variable == Variable::Common {
                format!("{base}{}", signal.path())
            } else {
                endpoint.to_string()
            };
            Export { signal, url }
        })
        .collect();

    let path = parts.path.trim_end_matches('/');
    if protocol.is_http() {
        match variable {
            Variable::Common if path.ends_with("/v1/traces") || path.ends_with("/v1/metrics") => {
                note(
                    Severity::Error,
                    format!(
                        "OTEL_EXPORTER_OTLP_ENDPOINT gets the signal's path appended, so this \
                         endpoint becomes `{}`; give the base URL (without `{path}`), or put the \
                         full URL in {}",
                        exports[0].url,
                        signals[0].specific_variable()
                    ),
                )
            }
            Variable::Common => note(
                Severity::Info,
                format!(
                    "OTEL_EXPORTER_OTLP_ENDPOINT gets `/v1/traces` or `/v1/metrics` appended: {}",
                    exports
                        .iter()
                        .map(|e| e.url.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Variable::Traces | Variable::Metrics => {
                let signal = signals[0];
                if !path.ends_with(signal.path()) {
                    note(
                        Severity::Warning,
                        format!(
                            "{} is used exactly as written (nothing is appended), so OBI will \
                             post to `{endpoint}`; an OpenTelemetry Collector expects `{base}{}`",
                            variable_name(variable),
                            signal.path()
                        ),
                    );
                }
            }
        }
    } else if !path.is_empty() {
        note(
            Severity::Warning,
            format!("gRPC does not use the URL path: `{path}` plays no part and is best removed"),
        );
    }

    if parts.scheme == Some("https") {
        note(
            Severity::Info,
            "https:// means TLS: the collector must serve TLS with a certificate OBI trusts \
             (`insecure_skip_verify` in the export section skips the check, for testing only)"
                .to_string(),
        );
    }

    explain_host(parts.host, args.runs_in, &mut note);

    let mut suggested_env = vec![EnvVar {
        name: variable_name(variable).to_string(),
        value: endpoint.to_string(),
    }];
    if args.protocol.is_none() {
        let name = match variable {
            Variable::Common => "OTEL_EXPORTER_OTLP_PROTOCOL",
            Variable::Traces => "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            Variable::Metrics => "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        };
        suggested_env.push(EnvVar {
            name: name.to_string(),
            value: protocol.name().to_string(),
        });
    }

    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let problems = findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .count();
    let mut urls: Vec<&str> = exports.iter().map(|e| e.url.as_str()).collect();
    urls.dedup();
    let summary = format!(
        "{} over {} to {}{}",
        signals
            .iter()
            .map(|&s| signal_name(s))
            .collect::<Vec<_>>()
            .join(" and "),
        protocol.name(),
        urls.join(" and "),
        match problems {
            0 => String::new(),
            1 => "; 1 problem".to_string(),
            n => format!("; {n} problems"),
        }
    );
    Explanation {
        endpoint: endpoint.to_string(),
        variable,
        protocol,
        protocol_source,
        host: parts.host.to_string(),
        port,
        exports,
        findings,
        suggested_env,
        summary,
        history_note: None,
    }
}

fn explain_host(host: &str, runs_in: Option<RunsIn>, note: &mut impl FnMut(Severity, String)) {
    if host.contains("${") || host.contains("$(") {
        note(
            Severity::Info,
            "the host is a variable: `${HOST_IP}` is expanded by OBI in its YAML file; in a \
             Kubernetes env value write `$(HOST_IP)` (expanded by the kubelet) and define HOST_IP \
             before it from `status.hostIP`"
                .to_string(),
        );
        return;
    }
    if !is_loopback(host) {
        return;
    }
    match runs_in {
        Some(RunsIn::Pod) => note(
            Severity::Error,
            format!(
                "`{host}` inside a pod is the pod itself, not the node: a collector running on \
                 the node (or as a DaemonSet) is not reached. Use the node's address \
                 (`HOST_IP` from `status.hostIP`, e.g. `http://$(HOST_IP):4318`) or the \
                 collector's Service name"
            ),
        ),
        Some(RunsIn::Container) => note(
            Severity::Error,
            format!(
                "`{host}` inside a container is the container itself: a collector on the host \
                 is not reached. Use `host.docker.internal` (on Linux add \
                 `--add-host=host.docker.internal:host-gateway`), the collector container's \
                 name on a shared network, or run OBI with `--network=host`"
            ),
        ),
        Some(RunsIn::PodHostNetwork) => note(
            Severity::Info,
            format!(
                "with hostNetwork, `{host}` is the node, so a collector listening on the node's \
                 loopback is reached; in-cluster Service names need \
                 `dnsPolicy: ClusterFirstWithHostNet`"
            ),
        ),
        Some(RunsIn::Host) => {}
        None => note(
            Severity::Warning,
            format!(
                "`{host}` only reaches a collector on the same network namespace: fine for OBI \
                 as a local process, wrong inside a pod or container (say `runs_in` to check)"
            ),
        ),
    }
}

fn variable_name(variable: Variable) -> &'static str {
    match variable {
        Variable::Common => "OTEL_EXPORTER_OTLP_ENDPOINT",
        Variable::Traces => "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        Variable::Metrics => "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    }
}

fn signal_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "traces",
        Signal::Metrics => "metrics",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(endpoint: &str) -> ExplainArgs {
        ExplainArgs {
            endpoint: endpoint.into(),
            protocol: None,
            signal: None,
            variable: None,
            runs_in: Some(RunsIn::Host),
        }
    }

    fn has(explanation: &Explanation, severity: Severity, text: &str) -> bool {
        explanation
            .findings
            .iter()
            .any(|f| f.severity == severity && f.message.contains(text))
    }

    #[test]
    fn port_4317_means_grpc_without_path() {
        let e = explain(&args("http://collector:4317"));
        assert_eq!(e.protocol, Protocol::Grpc);
        assert_eq!(e.exports[0].url, "http://collector:4317");
        assert!(e.protocol_source.contains("4317"));
        assert_eq!(
            e.summary,
            "traces and metrics over grpc to http://collector:4317"
        );
        assert_eq!(e.port, Some(4317));
    }

    #[test]
    fn port_4318_means_http_with_signal_paths_appended() {
        let e = explain(&args("http://collector:4318/"));
        assert_eq!(e.protocol, Protocol::HttpProtobuf);
        let urls: Vec<_> = e.exports.iter().map(|e| e.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://collector:4318/v1/traces",
                "http://collector:4318/v1/metrics"
            ]
        );
    }

    #[test]
    fn signal_specific_variable_is_used_as_written() {
        let mut a = args("http://collector:4318");
        a.variable = Some(Variable::Traces);
        let e = explain(&a);
        assert_eq!(
            e.exports,
            [Export {
                signal: Signal::Traces,
                url: a.endpoint.clone()
            }]
        );
        assert!(has(&e, Severity::Warning, "exactly as written"));
    }

    #[test]
    fn path_in_common_endpoint_is_doubled() {
        let e = explain(&args("http://collector:4318/v1/traces"));
        assert!(has(&e, Severity::Error, "/v1/traces/v1/traces"));
    }

    #[test]
    fn grpc_on_4318_is_a_contradiction() {
        let mut a = args("http://collector:4318");
        a.protocol = Some(Protocol::Grpc);
        let e = explain(&a);
        assert_eq!(e.protocol, Protocol::Grpc);
        assert!(has(&e, Severity::Error, "4318 is the OTLP/HTTP port"));
        assert_eq!(e.findings[0].severity, Severity::Error);
    }

    #[test]
    fn http_on_4317_is_a_contradiction() {
        let mut a = args("http://collector:4317");
        a.protocol = Some(Protocol::HttpJson);
        assert!(has(
            &explain(&a),
            Severity::Error,
            "4317 is the OTLP/gRPC port"
        ));
    }

    #[test]
    fn localhost_in_a_pod_does_not_reach_the_node() {
        let mut a = args("http://localhost:4318");
        a.runs_in = Some(RunsIn::Pod);
        assert!(has(&explain(&a), Severity::Error, "HOST_IP"));
        a.runs_in = Some(RunsIn::Container);
        assert!(has(&explain(&a), Severity::Error, "host.docker.internal"));
        a.runs_in = None;
        assert!(has(&explain(&a), Severity::Warning, "runs_in"));
    }

    #[test]
    fn missing_scheme_is_an_error() {
        let e = explain(&args("collector:4317"));
        assert!(has(&e, Severity::Error, "no scheme"));
        assert_eq!(e.protocol, Protocol::Grpc);
    }

    #[test]
    fn unknown_port_falls_back_to_http_protobuf() {
        let e = explain(&args("https://otlp.example.com"));
        assert_eq!(e.protocol, Protocol::HttpProtobuf);
        assert!(has(&e, Severity::Warning, "http/protobuf"));
        assert!(has(&e, Severity::Warning, "no port"));
        assert_eq!(e.port, None);
    }

    #[test]
    fn ipv6_endpoint_splits() {
        let parts = split_endpoint("http://[::1]:4317/x");
        assert_eq!(
            parts,
            Endpoint {
                scheme: Some("http"),
                host: "::1",
                port: Some("4317"),
                path: "/x"
            }
        );
    }
}
