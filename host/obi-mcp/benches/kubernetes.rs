//! Benchmarks for the Kubernetes toolset's targets (run: `cargo bench -p obi-mcp --bench
//! kubernetes [-- --nodes 1000 --big-nodes 5000]`):
//!
//! - `obi_k8s_status` on a 1,000-node cluster (target ≤ 150 ms);
//! - `obi_k8s_logs` of 100 lines from each of 1,000 pods, merged (target ≤ 1.5 s, with at most
//!   64 requests in flight, measured by the simulated API server);
//! - the server's peak resident memory (`VmHWM`) through both calls on 5,000 nodes (≤ 100 MB).
//!
//! The simulated cluster runs in this process; the release `obi-mcp` binary is driven over stdio
//! like any MCP client would. Medians of repeated calls are reported.

use std::time::{Duration, Instant};

use kube_sim::{Cluster, ClusterOptions, Timings};
use obi_mcp_testkit::{McpProcess, Sandbox, is_error, result_text};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_obi-mcp");

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn proc_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse().ok())
        .unwrap_or(0)
}

struct Setup {
    rt: tokio::runtime::Runtime,
    cluster: Cluster,
    sandbox: Sandbox,
}

fn setup(nodes: usize) -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut opts = ClusterOptions::for_tests().named("bench").with_nodes(nodes);
    // A line every 10 ms: 100 lines per pod within a second or two of start.
    opts.timings = Timings {
        log_interval: Duration::from_millis(10),
        ..Timings::fast()
    };
    opts.events = false;
    let t = Instant::now();
    let cluster = rt.block_on(Cluster::start(opts)).expect("start kube-sim");
    eprintln!("kube-sim with {nodes} nodes up in {:?}", t.elapsed());
    let sandbox = Sandbox::new();
    let kubeconfig = sandbox.path().join("kubeconfig");
    kube_sim::write_kubeconfig(&[&cluster], &kubeconfig).expect("kubeconfig");
    sandbox.write_config(&format!(
        "toolsets:\n  local:\n    enabled: false\n  kubernetes:\n    kubeconfig: {}\n    request_timeout_secs: 30\n",
        kubeconfig.display()
    ));
    Setup {
        rt,
        cluster,
        sandbox,
    }
}

fn call(p: &mut McpProcess, tool: &str, args: Value) -> (Duration, Value) {
    let t = Instant::now();
    let r = p.call_tool(tool, args);
    let took = t.elapsed();
    assert!(!is_error(&r), "{tool}: {}", result_text(&r));
    (took, r)
}

fn deploy(s: &Setup, p: &mut McpProcess, nodes: usize) {
    let t = Instant::now();
    call(p, "obi_k8s_deploy", json!({"wait": false}));
    s.rt.block_on(s.cluster.settle(Duration::from_secs(120)));
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let ds = s
            .cluster
            .get("apps/v1", "DaemonSet", "obi-system", "obi")
            .expect("DaemonSet");
        if ds["status"]["numberReady"].as_u64() == Some(nodes as u64) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "DaemonSet not ready: {}",
            ds["status"]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("deployed on {nodes} nodes, all ready in {:?}", t.elapsed());
    // Enough log history for 100 lines per pod.
    std::thread::sleep(Duration::from_millis(1500));
}

fn main() {
    let nodes = arg("--nodes", 1000);
    let big = arg("--big-nodes", 5000);
    let rounds = arg("--rounds", 15);

    // 1,000 nodes: latency of status and logs, and the logs fan-out bound.
    let s = setup(nodes);
    let mut p = McpProcess::start_with(BIN, &s.sandbox, &["serve"]);
    p.initialize();
    deploy(&s, &mut p, nodes);
    let mut status = Vec::new();
    let mut status_bytes = 0;
    for _ in 0..rounds {
        let (d, r) = call(&mut p, "obi_k8s_status", json!({}));
        status_bytes = serde_json::to_string(&r).map(|t| t.len()).unwrap_or(0);
        status.push(d);
    }
    let mut logs = Vec::new();
    let mut peak = 0;
    let mut lines = 0;
    let mut queried = 0;
    for _ in 0..(rounds / 3).max(3) {
        s.cluster.reset_peak_in_flight();
        let (d, r) = call(&mut p, "obi_k8s_logs", json!({"tail": 100, "limit": 1000}));
        peak = peak.max(s.cluster.peak_in_flight());
        let st = &r["structuredContent"];
        lines = st["lines"].as_array().map(Vec::len).unwrap_or(0);
        queried = st["podsQueried"].as_u64().unwrap_or(0);
        assert_eq!(
            st["podsFailed"].as_array().map(Vec::len),
            Some(0),
            "{}",
            st["podsFailed"]
        );
        logs.push(d);
    }
    // With a fast in-process API server requests rarely overlap; with 50 ms per log request
    // they do, and the peak shows the fan-out bound itself.
    s.cluster.add_fault(
        kube_sim::Fault::new(kube_sim::FaultAction::Latency(Duration::from_millis(50)))
            .resource("pods/log"),
    );
    s.cluster.reset_peak_in_flight();
    let (slow_logs, _) = call(&mut p, "obi_k8s_logs", json!({"tail": 100, "limit": 1000}));
    let slow_peak = s.cluster.peak_in_flight();
    s.cluster.clear_faults();
    let hwm_small = proc_kib(p.pid(), "VmHWM:");
    drop(p);
    drop(s);

    // 5,000 nodes: the server's peak memory through a status and a logs call.
    let s = setup(big);
    let mut p = McpProcess::start_with(BIN, &s.sandbox, &["serve"]);
    p.initialize();
    let before = proc_kib(p.pid(), "VmRSS:");
    deploy(&s, &mut p, big);
    let (big_status, _) = call(&mut p, "obi_k8s_status", json!({}));
    let hwm_status = proc_kib(p.pid(), "VmHWM:");
    let (big_logs, r) = call(&mut p, "obi_k8s_logs", json!({"tail": 100, "limit": 1000}));
    let big_queried = r["structuredContent"]["podsQueried"].as_u64().unwrap_or(0);
    let hwm_logs = proc_kib(p.pid(), "VmHWM:");
    drop(p);
    drop(s);

    let mb = |kib: u64| kib as f64 * 1024.0 / 1e6;
    eprintln!();
    eprintln!("| measurement | result | target |");
    eprintln!("|---|---|---|");
    eprintln!(
        "| obi_k8s_status, {nodes} nodes (median of {rounds}) | {:.1} ms ({status_bytes} bytes) | ≤ 150 ms |",
        median(status).as_secs_f64() * 1e3
    );
    eprintln!(
        "| obi_k8s_logs, 100 lines × {queried} pods merged (median of {}) | {:.0} ms, {lines} lines kept | ≤ 1.5 s |",
        logs.len(),
        median(logs).as_secs_f64() * 1e3
    );
    eprintln!("| log requests in flight at once (peak, API server side) | {peak} | ≤ 64 |");
    eprintln!(
        "| the same with 50 ms per log request: peak in flight, duration | {slow_peak}, {:.0} ms | ≤ 64 |",
        slow_logs.as_secs_f64() * 1e3
    );
    eprintln!(
        "| server peak RSS after the {nodes}-node runs | {:.1} MB | — |",
        mb(hwm_small)
    );
    eprintln!(
        "| server RSS before / peak after status / peak after logs, {big} nodes | {:.1} / {:.1} / {:.1} MB | ≤ 100 MB |",
        mb(before),
        mb(hwm_status),
        mb(hwm_logs)
    );
    eprintln!(
        "| obi_k8s_status / obi_k8s_logs ({big_queried} pods), {big} nodes (one call each) | {:.0} ms / {:.0} ms | — |",
        big_status.as_secs_f64() * 1e3,
        big_logs.as_secs_f64() * 1e3
    );
}
