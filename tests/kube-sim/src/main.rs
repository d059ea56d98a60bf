//! `kube-sim`: serve a simulated Kubernetes cluster on a loopback port.
#![allow(clippy::print_stdout)]

use anyhow::Context;
use clap::Parser;
use kube_sim::{Cluster, ClusterOptions, NodeSpec, Taint, Timings};
use std::path::PathBuf;
use std::time::Duration;

/// Serve a simulated Kubernetes cluster (API server + controllers) on 127.0.0.1.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Write a kubeconfig (admin context NAME, restricted context NAME-restricted) here.
    #[arg(long)]
    kubeconfig_out: Option<PathBuf>,
    /// Number of default nodes (node-1 .. node-N), added after --nodes-file nodes.
    #[arg(long)]
    nodes: Option<usize>,
    /// YAML list of nodes: [{name, kernel, labels, taints: [{key, value, effect}], ready, unschedulable, cpu, memoryGib}].
    #[arg(long)]
    nodes_file: Option<PathBuf>,
    /// Kernel version for the default nodes.
    #[arg(long)]
    kernel: Option<String>,
    /// Label for the default nodes, KEY=VALUE (repeatable).
    #[arg(long = "node-label")]
    node_labels: Vec<String>,
    /// Taint for the default nodes, KEY[=VALUE]:EFFECT (repeatable).
    #[arg(long = "node-taint")]
    node_taints: Vec<String>,
    /// Seed for names, IPs, metrics and faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    http: bool,
    /// Cluster and context name.
    #[arg(long, default_value = "kube-sim")]
    name: String,
    /// Pod start delay in milliseconds.
    #[arg(long)]
    pod_start_ms: Option<u64>,
    /// Use the short test timings.
    #[arg(long)]
    fast: bool,
}

fn parse_taint(s: &str) -> anyhow::Result<Taint> {
    let (kv, effect) = s
        .rsplit_once(':')
        .with_context(|| format!("taint {s:?} needs KEY[=VALUE]:EFFECT"))?;
    let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
    Ok(Taint {
        key: key.into(),
        value: value.into(),
        effect: effect.into(),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let a = Args::parse();
    let mut opts = ClusterOptions {
        name: a.name.clone(),
        seed: a.seed,
        tls: !a.http,
        port: a.port,
        kubeconfig_out: a.kubeconfig_out.clone(),
        ..Default::default()
    };
    if a.fast {
        opts.timings = Timings::fast();
    }
    if let Some(ms) = a.pod_start_ms {
        opts.timings.pod_start = Duration::from_millis(ms);
    }
    if let Some(f) = &a.nodes_file {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("reading nodes file {}", f.display()))?;
        let nodes: Vec<NodeSpec> = serde_norway::from_str(&text)
            .with_context(|| format!("parsing nodes file {}", f.display()))?;
        opts.nodes.extend(nodes);
    }
    let count = a.nodes.unwrap_or(if opts.nodes.is_empty() { 1 } else { 0 });
    let taints = a
        .node_taints
        .iter()
        .map(|t| parse_taint(t))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let start = opts.nodes.len();
    for i in 0..count {
        let mut n = NodeSpec::named(format!("node-{}", start + i + 1));
        if let Some(k) = &a.kernel {
            n.kernel = k.clone();
        }
        for l in &a.node_labels {
            let (k, v) = l
                .split_once('=')
                .with_context(|| format!("label {l:?} needs KEY=VALUE"))?;
            n.labels.insert(k.into(), v.into());
        }
        n.taints = taints.clone();
        opts.nodes.push(n);
    }
    let cluster = Cluster::start(opts)
        .await
        .context("starting the simulated cluster")?;
    println!(
        "kube-sim serving {} (cluster {:?})",
        cluster.url(),
        cluster.name()
    );
    println!("kubeconfig: {}", cluster.kubeconfig_path().display());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    cluster.shutdown();
    Ok(())
}
