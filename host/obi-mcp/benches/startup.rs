//! Benchmarks for the issue's performance targets (run: `cargo bench -p obi-mcp --bench startup`).
//!
//! 1. process start → `tools/list` response, all first-party toolsets + the example, warm cache
//! 2. the same with a cold cache (first start ever)
//! 3. resident memory after `tools/list`
//! 4. `tools/call` round trip of a trivial read-only tool over stdio
//! 5. fresh instance + call, in-process
//!
//! Medians (and p90) of repeated runs; prints a Markdown table for BENCHMARKS.md.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use obi_mcp_testkit::components;

const BIN: &str = env!("CARGO_BIN_EXE_obi-mcp");
const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const LIST: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn p90(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[(v.len() * 9) / 10]
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn command(home: &Path, cache: &Path, config: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CACHE_HOME", cache)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("OBI_MCP_CONFIG", config)
        .args(["--log-level", "error"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    cmd
}

/// Spawns the server, sends initialize + tools/list at once, and measures until the list
/// response arrives. Returns (milliseconds, RSS in KiB after the response, tool count).
fn start_to_list(home: &Path, cache: &Path, config: &Path) -> (f64, u64, usize) {
    let start = Instant::now();
    let mut child = command(home, cache, config).spawn().expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{INIT}\n{INITIALIZED}\n{LIST}\n").as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let tools = loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("server exited before answering tools/list");
        }
        if line.contains(r#""id":2"#) {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            break v["result"]["tools"].as_array().map_or(0, Vec::len);
        }
    };
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let rss = rss_kib(child.id());
    drop(stdin);
    let _ = child.wait();
    (ms, rss, tools)
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "toolsets:\n  extra:\n    - path: {}\n      grants: {{ state: true }}\n",
            components::OTLP_EXPLAIN
        ),
    )
    .unwrap();
    let mut rows = Vec::new();

    // Cold: a fresh cache for every run.
    let mut cold = Vec::new();
    for i in 0..runs.max(10) {
        let cache = home.path().join(format!("cold-{i}"));
        let (ms, _, _) = start_to_list(home.path(), &cache, &config);
        cold.push(ms);
    }
    // Warm: one cache, primed once.
    let cache = home.path().join("warm");
    start_to_list(home.path(), &cache, &config);
    let mut warm = Vec::new();
    let mut rss = Vec::new();
    let mut tool_count = 0;
    for _ in 0..runs {
        let (ms, kib, n) = start_to_list(home.path(), &cache, &config);
        warm.push(ms);
        rss.push(kib as f64 / 1024.0);
        tool_count = n;
    }
    rows.push(format!(
        "| start → tools/list, warm cache ({tool_count} tools) | {:.2} ms | {:.2} ms | ≤ 10 ms |",
        median(&mut warm),
        p90(&mut warm)
    ));
    rows.push(format!(
        "| start → tools/list, cold cache | {:.1} ms | {:.1} ms | ≤ 500 ms |",
        median(&mut cold),
        p90(&mut cold)
    ));
    rows.push(format!(
        "| RSS after tools/list | {:.1} MB | {:.1} MB | ≤ 25 MB |",
        median(&mut rss),
        p90(&mut rss)
    ));

    // tools/call round trip over stdio of a trivial read-only tool (testbed_echo).
    let call_config = home.path().join("call.yaml");
    std::fs::write(
        &call_config,
        format!("toolsets:\n  extra:\n    - path: {}\n", components::TESTBED),
    )
    .unwrap();
    let mut child = command(home.path(), &cache, &call_config).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    stdin
        .write_all(format!("{INIT}\n{INITIALIZED}\n").as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let calls = 2000;
    let mut rtt = Vec::with_capacity(calls);
    for i in 0..calls + 200 {
        let req = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"tools/call\",\"params\":{{\"name\":\"testbed_echo\",\"arguments\":{{\"text\":\"x\"}}}}}}\n",
            i + 10
        );
        let t = Instant::now();
        stdin.write_all(req.as_bytes()).unwrap();
        stdin.flush().unwrap();
        line.clear();
        reader.read_line(&mut line).unwrap();
        let us = t.elapsed().as_secs_f64() * 1e6;
        assert!(line.contains("\"text\":\"x\""), "{line}");
        if i >= 200 {
            rtt.push(us); // the first 200 are warm-up
        }
    }
    drop(stdin);
    let _ = child.wait();
    rows.push(format!(
        "| tools/call round trip over stdio (testbed_echo) | {:.0} µs | {:.0} µs | ≤ 150 µs |",
        median(&mut rtt),
        p90(&mut rtt)
    ));

    // Fresh instance + call, in-process.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (inproc, inst_only) = rt.block_on(async {
        let text = std::fs::read_to_string(&call_config).unwrap();
        let loaded = obi_mcp::config::Loaded {
            config: obi_mcp::config::parse(&text, "bench").unwrap(),
            source: obi_mcp::config::Source::Defaults,
            warnings: vec![],
        };
        let hub = obi_mcp::mcp::Hub::start(
            loaded,
            obi_mcp::mcp::HubOptions {
                config_path: None,
                cache_dir: Some(cache.join("obi-mcp")),
                state_dir: Some(home.path().join("state")),
                no_cache: false,
                read_only: false,
            },
        )
        .await
        .unwrap();
        let registry = hub.registry();
        let toolset = registry
            .toolsets
            .iter()
            .find(|t| t.meta.name == "testbed")
            .unwrap()
            .clone();
        let info = obi_mcp::runtime::CallInfo::default();
        let cancel = tokio_util::sync::CancellationToken::new();
        let observer: Arc<dyn obi_mcp::runtime::CallObserver> =
            Arc::new(obi_mcp::runtime::NoObserver);
        let mut samples = Vec::new();
        for i in 0..5200 {
            let t = Instant::now();
            let out = hub
                .runtime()
                .invoke(
                    &toolset,
                    obi_mcp::runtime::Op::CallTool {
                        name: "testbed_echo",
                        arguments: r#"{"text":"x"}"#,
                    },
                    &info,
                    observer.clone(),
                    &cancel,
                )
                .await
                .unwrap();
            let us = t.elapsed().as_secs_f64() * 1e6;
            std::hint::black_box(out);
            if i >= 200 {
                samples.push(us);
            }
        }
        let mut avail = Vec::new();
        for _ in 0..2000 {
            let t = Instant::now();
            let out = hub
                .runtime()
                .invoke(
                    &toolset,
                    obi_mcp::runtime::Op::IsAvailable,
                    &info,
                    observer.clone(),
                    &cancel,
                )
                .await
                .unwrap();
            avail.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(out);
        }
        (samples, avail)
    });
    let (mut inproc, mut inst_only) = (inproc, inst_only);
    rows.push(format!(
        "| fresh instance + call, in-process (testbed_echo) | {:.1} µs | {:.1} µs | ≤ 50 µs |",
        median(&mut inproc),
        p90(&mut inproc)
    ));
    rows.push(format!(
        "| fresh instance + `is-available`, in-process | {:.1} µs | {:.1} µs | (reference) |",
        median(&mut inst_only),
        p90(&mut inst_only)
    ));

    let mut out = std::io::stdout().lock();
    writeln!(out, "| measurement | median | p90 | target |").unwrap();
    writeln!(out, "|---|---|---|---|").unwrap();
    for r in rows {
        writeln!(out, "{r}").unwrap();
    }
}
