//! Scale benchmark: 5,000 nodes with an OBI DaemonSet (5,000 pods).
//!
//! Runs the `kube-sim` binary as a child process and measures, over HTTPS with kube-rs: the time
//! until the DaemonSet is fully ready, the latency of `list pods` with a label selector (until the
//! full body is read, and as a typed kube-rs list), 1,000 concurrent pod-log requests, and the
//! resident memory of the simulated cluster process.
//!
//! Run: `cargo bench -p kube-sim --bench scale [-- --nodes N]`
#![allow(clippy::print_stdout)]

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{Api, ListParams, LogParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::{Duration, Instant};

fn rss_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (
        v[v.len() / 2],
        v[(v.len() * 95 / 100).min(v.len() - 1)],
        v[v.len() - 1],
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let nodes: usize = args
        .iter()
        .position(|a| a == "--nodes")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(5000);
    let dir = std::env::temp_dir().join(format!("kube-sim-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let kc = dir.join("kubeconfig");
    let t0 = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kube-sim"))
        .args([
            "--nodes",
            &nodes.to_string(),
            "--pod-start-ms",
            "500",
            "--kubeconfig-out",
        ])
        .arg(&kc)
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let pid = child.id();
    while !kc.exists() {
        if t0.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            return Err("kube-sim did not write its kubeconfig".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "kube-sim (pid {pid}) with {nodes} nodes serving after {:?}; RSS {:.0} MiB",
        t0.elapsed(),
        rss_mib(pid, "VmRSS:")
    );
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&kc)?,
        &Default::default(),
    )
    .await?;
    let client = kube::Client::try_from(config)?;
    let result = run(client, nodes, pid).await;
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(
    client: kube::Client,
    nodes: usize,
    pid: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let ns: Api<Namespace> = Api::all(client.clone());
    ns.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "obi"}}))?,
    )
    .await?;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "obi");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "obi-config"},
        "data": {"ebpf-instrument-config.yml": "discovery:\n  instrument:\n    - open_ports: 8080\notel_traces_export:\n  endpoint: http://localhost:4318\n"}});
    cms.patch(
        "obi-config",
        &PatchParams::apply("bench"),
        &Patch::Apply(&cm),
    )
    .await?;
    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "obi", "labels": {"app.kubernetes.io/name": "obi"}},
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "obi"}}, "template": {"metadata": {"labels": {"app.kubernetes.io/name": "obi"}}, "spec": {
            "hostPID": true,
            "containers": [{"name": "obi", "image": "otel/ebpf-instrument:v0.12.1", "securityContext": {"privileged": true},
                "env": [{"name": "OTEL_EBPF_CONFIG_PATH", "value": "/etc/obi/ebpf-instrument-config.yml"}],
                "volumeMounts": [{"name": "config", "mountPath": "/etc/obi"}]}],
            "volumes": [{"name": "config", "configMap": {"name": "obi-config"}}]}}}});
    let dss: Api<DaemonSet> = Api::namespaced(client.clone(), "obi");
    let t1 = Instant::now();
    dss.patch("obi", &PatchParams::apply("bench"), &Patch::Apply(&ds))
        .await?;
    loop {
        let d = dss.get_status("obi").await?;
        let s = d.status.unwrap_or_default();
        if s.number_ready as usize == nodes && s.desired_number_scheduled as usize == nodes {
            break;
        }
        if t1.elapsed() > Duration::from_secs(600) {
            return Err(format!("DaemonSet not ready after 10 minutes: {s:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready_in = t1.elapsed();
    println!("DaemonSet {nodes}/{nodes} ready in {ready_in:?} (pod start delay 500 ms)");
    println!(
        "kube-sim RSS after rollout: {:.0} MiB (peak {:.0} MiB)",
        rss_mib(pid, "VmRSS:"),
        rss_mib(pid, "VmHWM:")
    );

    // list pods with a label selector: raw (server until full body) and typed.
    let mut raw = Vec::new();
    let mut items = 0;
    let mut bytes = 0;
    for _ in 0..21 {
        let t = Instant::now();
        let req = http::Request::get(
            "/api/v1/namespaces/obi/pods?labelSelector=app.kubernetes.io%2Fname%3Dobi",
        )
        .body(Vec::new())?;
        let body = client.request_text(req).await?;
        raw.push(t.elapsed());
        items = body.matches("\"kind\":\"Pod\"").count();
        bytes = body.len();
    }
    let (m, p95, max) = median(raw);
    println!(
        "list pods -l (raw body, {items} pods, {} KiB): median {m:?}, p95 {p95:?}, max {max:?}",
        bytes / 1024
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "obi");
    let mut typed = Vec::new();
    let mut names = Vec::new();
    for _ in 0..11 {
        let t = Instant::now();
        let l = pods
            .list(&ListParams::default().labels("app.kubernetes.io/name=obi"))
            .await?;
        typed.push(t.elapsed());
        names = l
            .items
            .into_iter()
            .filter_map(|p| p.metadata.name)
            .collect();
    }
    let (tm, tp95, _) = median(typed);
    println!("list pods -l (kube-rs typed Api::list): median {tm:?}, p95 {tp95:?}");
    let zone = Instant::now();
    let one = pods
        .list(
            &ListParams::default()
                .labels("app.kubernetes.io/name=obi")
                .fields("spec.nodeName=node-42"),
        )
        .await?;
    println!(
        "list pods -l + fieldSelector spec.nodeName (1 pod): {:?} ({} item)",
        zone.elapsed(),
        one.items.len()
    );

    // 1,000 concurrent pod-log requests.
    let t2 = Instant::now();
    let mut tasks = Vec::new();
    for name in names.into_iter().take(1000) {
        let pods = pods.clone();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = pods
                .logs(
                    &name,
                    &LogParams {
                        tail_lines: Some(20),
                        timestamps: true,
                        ..Default::default()
                    },
                )
                .await;
            (r.map(|s| s.lines().count()), t.elapsed())
        }));
    }
    let mut ok = 0;
    let mut lat = Vec::new();
    for t in tasks {
        let (r, d) = t.await?;
        if r.is_ok_and(|n| n > 0) {
            ok += 1;
        }
        lat.push(d);
    }
    let total = t2.elapsed();
    let (lm, lp95, lmax) = median(lat);
    println!(
        "1000 concurrent pod-log requests: {ok} ok in {total:?} (per request median {lm:?}, p95 {lp95:?}, max {lmax:?})"
    );
    println!(
        "kube-sim RSS at end: {:.0} MiB (peak {:.0} MiB); benchmark client RSS {:.0} MiB",
        rss_mib(pid, "VmRSS:"),
        rss_mib(pid, "VmHWM:"),
        rss_mib(std::process::id(), "VmRSS:")
    );
    Ok(())
}
