//! Benchmarks for the local toolset's targets (run: `cargo bench -p obi-mcp --bench local`):
//! `obi_local_status` round trip, `obi_local_logs` of the last 1,000 lines of a 100 MB log, and
//! validation of a full OBI config (natively and as an `obi_config_validate` round trip).
//!
//! Drives the release `obi-mcp` binary over stdio with the stand-in OBI as `binary_path`.

use std::io::Write;
use std::time::Instant;

use obi_mcp_testkit::{McpProcess, Sandbox, components, is_error};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_obi-mcp");

/// A configuration touching most of OBI's sections.
const FULL_CONFIG: &str = r#"
log_level: info
log_format: text
shutdown_timeout: 10s
trace_printer: disabled
discovery:
  instrument:
    - open_ports: 8080-8090
      exe_path: "*java*"
    - k8s_namespace: shop
      k8s_deployment_name: checkout
  exclude_instrument:
    - exe_path: "*grafana*"
otel_traces_export:
  endpoint: http://otel-collector:4318
  protocol: http/protobuf
  sampler:
    name: parentbased_traceidratio
    arg: "0.1"
otel_metrics_export:
  endpoint: http://otel-collector:4318
  protocol: http/protobuf
  interval: 15s
  features: [application, network]
prometheus_export:
  port: 9400
  path: /metrics
metrics:
  features: [application, application_service_graph, network]
attributes:
  kubernetes:
    enable: autodetect
    cluster_name: prod-eu-1
    informers_sync_timeout: 30s
  select:
    http_server_request_duration:
      include: ["*"]
routes:
  patterns: ["/api/v1/users/{id}", "/api/v1/orders/{id}"]
  unmatched: heuristic
network:
  source: socket_filter
  cidrs: ["10.0.0.0/8", "192.168.0.0/16"]
ebpf:
  context_propagation: all
  batch_length: 100
internal_metrics:
  exporter: prometheus
  prometheus:
    port: 9401
health_check:
  port: 9402
"#;

/// The data of a result: `structuredContent`, else its first JSON-object text content.
fn data(r: &serde_json::Value) -> serde_json::Value {
    match r.get("structuredContent") {
        Some(v) if v.is_object() => v.clone(),
        _ => r["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["text"].as_str())
            .filter_map(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            .find(serde_json::Value::is_object)
            .unwrap_or_default(),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn p90(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[(v.len() * 9) / 10]
}

fn timed(mcp: &mut McpProcess, tool: &str, args: serde_json::Value, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = mcp.call_tool(tool, args.clone());
        out.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(!is_error(&r), "{tool}: {r}");
    }
    out
}

fn main() {
    let sb = Sandbox::new();
    sb.write_config(&format!(
        "toolsets:\n  local:\n    binary_path: {}\n",
        components::OBI_STANDIN
    ));
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let r = mcp.call_tool(
        "obi_local_deploy",
        json!({"config": {
            "discovery": {"instrument": [{"open_ports": 8080}]},
            "otel_traces_export": {"endpoint": "http://localhost:4318"}
        }}),
    );
    assert!(!is_error(&r), "deploy failed: {r}");
    let log = data(&r)["logPath"]
        .as_str()
        .expect("deploy reports its log path")
        .to_string();
    let mut rows = Vec::new();

    // Status of a running OBI.
    timed(&mut mcp, "obi_local_status", json!({}), 20);
    let mut status = timed(&mut mcp, "obi_local_status", json!({}), 200);
    rows.push(format!(
        "| `obi_local_status` round trip (OBI running) | {:.2} ms | {:.2} ms | ≤ 2 ms |",
        median(&mut status),
        p90(&mut status)
    ));
    let r = mcp.call_tool("obi_local_stop", json!({}));
    assert!(!is_error(&r), "stop failed: {r}");

    // A 100 MB log, then the last 1,000 lines of it.
    {
        let mut f =
            std::io::BufWriter::new(std::fs::OpenOptions::new().append(true).open(&log).unwrap());
        let mut written = 0usize;
        let mut i = 0u64;
        while written < 100 * 1024 * 1024 {
            let level = if i.is_multiple_of(100) {
                "WARN"
            } else {
                "INFO"
            };
            let line = format!(
                "time=2026-11-24T10:{:02}:{:02}.{:03}Z level={level} msg=\"instrumented process\" pid={} service=checkout-{}\n",
                (i / 60_000) % 60,
                (i / 1000) % 60,
                i % 1000,
                10_000 + i % 5000,
                i % 17
            );
            f.write_all(line.as_bytes()).unwrap();
            written += line.len();
            i += 1;
        }
    }
    let size_mb = std::fs::metadata(&log).unwrap().len() as f64 / 1e6;
    let r = mcp.call_tool("obi_local_logs", json!({"lines": 1000}));
    let got = data(&r)["lines"].as_array().map_or(0, Vec::len);
    assert_eq!(
        got,
        1000,
        "expected 1,000 lines: {}",
        &r.to_string()[..200.min(r.to_string().len())]
    );
    let mut logs = timed(&mut mcp, "obi_local_logs", json!({"lines": 1000}), 30);
    rows.push(format!(
        "| `obi_local_logs` last 1,000 lines of a {size_mb:.0} MB log (round trip) | {:.2} ms | {:.2} ms | ≤ 20 ms |",
        median(&mut logs),
        p90(&mut logs)
    ));

    // Validation of a full config: the model natively, and the tool over MCP.
    let opts = obi_config::ValidateOptions::for_target(obi_config::Target::Local);
    let report = obi_config::validate_text(FULL_CONFIG, &opts);
    let mut native = Vec::new();
    for i in 0..2200 {
        let t = Instant::now();
        let r = obi_config::validate_text(std::hint::black_box(FULL_CONFIG), &opts);
        let us = t.elapsed().as_secs_f64() * 1e6;
        std::hint::black_box(r);
        if i >= 200 {
            native.push(us);
        }
    }
    rows.push(format!(
        "| full config validation, obi-config natively ({} findings) | {:.0} µs | {:.0} µs | ≤ 1 ms |",
        report.findings.len(),
        median(&mut native),
        p90(&mut native)
    ));
    let mut tool = timed(
        &mut mcp,
        "obi_config_validate",
        json!({"yaml": FULL_CONFIG}),
        200,
    );
    rows.push(format!(
        "| full config validation, `obi_config_validate` round trip (in the sandbox) | {:.2} ms | {:.2} ms | (reference) |",
        median(&mut tool),
        p90(&mut tool)
    ));

    let mut out = std::io::stdout().lock();
    writeln!(out, "| measurement | median | p90 | target |").unwrap();
    writeln!(out, "|---|---|---|---|").unwrap();
    for r in rows {
        writeln!(out, "{r}").unwrap();
    }
}
