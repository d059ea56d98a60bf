//! The README's first command: the whole product at work with no cluster and no setup.
//!
//! [`run`] starts a simulated Kubernetes cluster (`kube-sim`, a real HTTPS API server with
//! controllers), writes a kubeconfig and an obi-mcp config for it, starts the real `obi-mcp`
//! binary as an MCP server over stdio, and drives a client session through OBI's lifecycle:
//! deploy (following the rollout with progress notifications) → status → logs → config update
//! with a rolling restart → upgrade → a failed upgrade that obi-mcp rolls back → a node with an
//! old kernel joins → diagnose → undeploy. Each request is printed, then a readable summary of
//! its result. At the end the cluster is checked for anything obi-mcp left behind.
//!
//! Every step also checks its result, so the demo doubles as a smoke test: [`Report::ok`] is
//! false when a step did not go as expected.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kube_sim::{Cluster, ClusterOptions, NodeSpec};
use obi_mcp_client::{Launch, McpProcess, is_error, result_text};
use serde_json::{Value, json};

/// What to run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The `obi-mcp` binary (default: the one next to this executable).
    pub obi_mcp: PathBuf,
    /// Nodes of the simulated cluster.
    pub nodes: usize,
    /// Most lines of a result's text to print.
    pub max_lines: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        let obi_mcp = std::env::current_exe()
            .ok()
            .map(|p| p.with_file_name("obi-mcp"))
            .unwrap_or_else(|| PathBuf::from("obi-mcp"));
        DemoOptions {
            obi_mcp,
            nodes: 4,
            max_lines: 18,
        }
    }
}

/// How one step went.
#[derive(Debug, Clone)]
pub struct Step {
    /// Short name.
    pub name: String,
    /// Whether the result was what the step expects.
    pub ok: bool,
    /// Milliseconds from request to response.
    pub millis: u128,
}

/// The outcome of a demo run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// Objects labelled `app.kubernetes.io/managed-by=obi-mcp` still in the cluster at the end.
    pub leftovers: Vec<String>,
    /// Progress notifications received while following rollouts.
    pub progress_notifications: usize,
}

impl Report {
    /// Whether every step went as expected and nothing was left behind.
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.ok) && self.leftovers.is_empty()
    }
    /// Names of the steps that did not go as expected.
    pub fn failed(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .steps
            .iter()
            .filter(|s| !s.ok)
            .map(|s| s.name.clone())
            .collect();
        if !self.leftovers.is_empty() {
            v.push(format!("leftovers ({})", self.leftovers.join(", ")))
        }
        v
    }
}

/// The directory a demo's files live in; also where the server's stderr goes.
struct Home {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Launch for Home {
    fn command(&self, bin: &str) -> std::process::Command {
        let mut cmd = std::process::Command::new(bin);
        cmd.arg("--config")
            .arg(&self.config)
            .arg("--state-dir")
            .arg(self.dir.path().join("state"))
            .env_remove("OBI_MCP_CONFIG")
            .env_remove("KUBECONFIG");
        cmd
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The OBI version the demo upgrades to, and a tag whose pull fails in the simulated cluster.
const UPGRADE_VERSION: &str = "v0.14.0";
const BROKEN_VERSION: &str = "v0.99.0-does-not-exist";

/// Runs the demo, writing the session to `out`.
pub fn run(opts: &DemoOptions, out: &mut dyn Write) -> anyhow::Result<Report> {
    anyhow::ensure!(
        opts.obi_mcp.exists(),
        "no obi-mcp binary at {} (build it with `cargo build --release -p obi-mcp`, or pass --obi-mcp PATH)",
        opts.obi_mcp.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let home = tempfile::Builder::new()
        .prefix("obi-mcp-demo-")
        .tempdir()
        .context("creating a temporary directory")?;
    let kubeconfig = home.path().join("kubeconfig");
    let mut options = ClusterOptions::for_tests()
        .named("demo")
        .with_nodes(opts.nodes);
    options.kubeconfig_out = Some(kubeconfig.clone());
    let cluster = runtime
        .block_on(Cluster::start(options))
        .context("starting the simulated cluster")?;
    kube_sim::write_kubeconfig(&[&cluster], &kubeconfig).context("writing the kubeconfig")?;
    writeln!(
        out,
        "● simulated cluster \"demo\": {} nodes, API server {} (kubeconfig {})",
        opts.nodes,
        cluster.url(),
        kubeconfig.display()
    )?;

    let config = home.path().join("obi-mcp.yaml");
    std::fs::write(
        &config,
        format!(
            "# written by obi-mcp-demo\ntoolsets:\n  local:\n    enabled: false\n  kubernetes:\n    kubeconfig: {}\n",
            kubeconfig.display()
        ),
    )?;
    let home = Home { dir: home, config };
    let bin = opts.obi_mcp.display().to_string();
    let mut server = McpProcess::start_with(&bin, &home, &["serve"]);
    server.client_name = "obi-mcp-demo".into();
    writeln!(
        out,
        "● obi-mcp serving MCP over stdio (pid {})",
        server.pid()
    )?;
    let init = server.initialize();
    writeln!(
        out,
        "→ initialize\n  ← {} {}",
        init["serverInfo"]["name"].as_str().unwrap_or("?"),
        init["serverInfo"]["version"].as_str().unwrap_or("?")
    )?;
    let tools = server.request("tools/list", json!({}));
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    let k8s: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.starts_with("obi_k8s_"))
        .collect();
    writeln!(
        out,
        "→ tools/list\n  ← {} tools: {}",
        names.len(),
        k8s.join(", ")
    )?;

    let mut session = Session {
        server,
        out,
        report: Report::default(),
        max_lines: opts.max_lines,
        next_token: 1,
    };
    cluster.fail_image_pull(&format!("*:{BROKEN_VERSION}"));
    lifecycle(&mut session)?;

    cluster
        .add_node(NodeSpec::named("legacy-node").kernel("4.19.0-26-amd64"))
        .context("adding a node")?;
    writeln!(
        session.out,
        "● a node with Linux 4.19 joins the cluster (OBI needs 5.8 or later)"
    )?;
    std::thread::sleep(Duration::from_millis(1500));
    session.call("diagnose", "obi_k8s_diagnose", json!({}), |r| {
        !is_error(r)
            && r["structuredContent"]["findings"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["id"] == "kernel-too-old"))
    })?;
    session.call(
        "undeploy",
        "obi_k8s_undeploy",
        json!({"deleteNamespace": true}),
        |r| !is_error(r),
    )?;

    // Namespaces finalize asynchronously; give the simulated cluster a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let leftovers = loop {
        let left = leftovers(&cluster);
        if left.is_empty() || Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if leftovers.is_empty() {
        writeln!(
            session.out,
            "● cluster checked: no object labelled app.kubernetes.io/managed-by=obi-mcp is left, namespace obi-system is gone"
        )?;
    } else {
        writeln!(session.out, "● left behind: {}", leftovers.join(", "))?;
    }
    session.report.leftovers = leftovers;
    let Session {
        server,
        out,
        mut report,
        ..
    } = session;
    let (_code, _) = server.close();
    let total: u128 = report.steps.iter().map(|s| s.millis).sum();
    writeln!(
        out,
        "● {} of {} steps as expected, {} progress notifications, {} ms in tool calls",
        report.steps.iter().filter(|s| s.ok).count(),
        report.steps.len(),
        report.progress_notifications,
        total
    )?;
    report.leftovers.sort();
    cluster.shutdown();
    Ok(report)
}

/// Deploy, status, logs, config update, upgrade and a failed upgrade.
fn lifecycle(s: &mut Session<'_>) -> anyhow::Result<()> {
    s.call(
        "deploy",
        "obi_k8s_deploy",
        json!({"wait": true, "timeout": 120}),
        |r| !is_error(r) && r["structuredContent"]["rollout"]["state"] == "complete",
    )?;
    s.call("status", "obi_k8s_status", json!({}), |r| {
        !is_error(r) && r["structuredContent"]["ready"] == r["structuredContent"]["desired"]
    })?;
    s.call(
        "logs",
        "obi_k8s_logs",
        json!({"tail": 5, "limit": 12}),
        |r| !is_error(r) && r["structuredContent"]["podsQueried"].as_u64() > Some(0),
    )?;
    s.call(
        "config update",
        "obi_k8s_update_config",
        json!({"config": {"log_level": "debug", "otel_traces_export": {"sampler": {"name": "parentbased_traceidratio", "arg": "0.5"}}}, "restart": true}),
        |r| !is_error(r) && r["structuredContent"]["changed"] == true,
    )?;
    s.call(
        "upgrade",
        "obi_k8s_upgrade",
        json!({"version": UPGRADE_VERSION, "timeout": 120}),
        |r| !is_error(r) && r["structuredContent"]["outcome"] == "upgraded",
    )?;
    writeln!(
        s.out,
        "● the registry has no image {BROKEN_VERSION}: an upgrade to it must fail and be rolled back"
    )?;
    s.call(
        "failed upgrade",
        "obi_k8s_upgrade",
        json!({"version": BROKEN_VERSION, "timeout": 60}),
        |r| r["structuredContent"]["outcome"] == "rolled-back",
    )?;
    Ok(())
}

struct Session<'a> {
    server: McpProcess,
    out: &'a mut dyn Write,
    report: Report,
    max_lines: usize,
    next_token: u64,
}

impl Session<'_> {
    /// Calls a tool, printing the request, progress as it arrives, and a summary of the result.
    fn call(
        &mut self,
        step: &str,
        tool: &str,
        arguments: Value,
        expect: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        writeln!(self.out, "\n→ tools/call {tool} {arguments}")?;
        let token = format!("demo-{}", self.next_token);
        self.next_token += 1;
        let started = Instant::now();
        let out = &mut *self.out;
        let mut progress = 0usize;
        let response = self.server.request_streaming(
            "tools/call",
            json!({"name": tool, "arguments": arguments, "_meta": {"progressToken": token}}),
            Duration::from_secs(300),
            |msg| {
                if msg["method"] == "notifications/progress" {
                    progress += 1;
                    let p = &msg["params"];
                    let _ = writeln!(
                        out,
                        "  … {}",
                        p["message"]
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| { format!("{} of {}", p["progress"], p["total"]) })
                    );
                }
            },
        );
        let millis = started.elapsed().as_millis();
        self.report.progress_notifications += progress;
        let result = match response.get("result") {
            Some(r) => r.clone(),
            None => {
                writeln!(self.out, "  ← JSON-RPC error: {}", response["error"])?;
                self.report.steps.push(Step {
                    name: step.into(),
                    ok: false,
                    millis,
                });
                return Ok(Value::Null);
            }
        };
        let ok = expect(&result);
        // The first text item is the readable summary; the structured result follows it as JSON
        // for clients without structured-content support, which this session does not need.
        let text = result["content"][0]["text"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| result_text(&result));
        let lines: Vec<&str> = text.lines().collect();
        let marker = if is_error(&result) { "✗" } else { "←" };
        writeln!(self.out, "  {marker} ({millis} ms)")?;
        for line in lines.iter().take(self.max_lines) {
            writeln!(self.out, "    {line}")?;
        }
        if lines.len() > self.max_lines {
            writeln!(
                self.out,
                "    … {} more lines",
                lines.len() - self.max_lines
            )?;
        }
        if !ok {
            writeln!(self.out, "  ! step \"{step}\" did not go as expected")?;
        }
        self.report.steps.push(Step {
            name: step.into(),
            ok,
            millis,
        });
        Ok(result)
    }
}

/// Every object obi-mcp labelled that still exists (kinds obi-mcp creates).
fn leftovers(cluster: &Cluster) -> Vec<String> {
    let kinds = [
        ("v1", "Namespace"),
        ("v1", "ServiceAccount"),
        ("v1", "ConfigMap"),
        ("v1", "Pod"),
        ("apps/v1", "DaemonSet"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ];
    let mut out = Vec::new();
    for (api, kind) in kinds {
        for obj in cluster.list(api, kind, None) {
            let labels = &obj["metadata"]["labels"];
            let ours = labels["app.kubernetes.io/managed-by"] == "obi-mcp";
            let ns_left = kind == "Namespace" && obj["metadata"]["name"] == "obi-system";
            if ours || ns_left {
                out.push(format!(
                    "{kind} {}{}",
                    obj["metadata"]["namespace"]
                        .as_str()
                        .map(|n| format!("{n}/"))
                        .unwrap_or_default(),
                    obj["metadata"]["name"].as_str().unwrap_or("?")
                ));
            }
        }
    }
    out
}
