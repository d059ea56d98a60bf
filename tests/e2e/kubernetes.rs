//! The Kubernetes toolset end to end: the real obi-mcp binary over a real MCP (stdio)
//! connection, against the simulated cluster (`kube-sim`, a real HTTPS API server with
//! controllers), verified by reading the cluster's objects directly.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kube_sim::{Cluster, ClusterOptions, CrashRule, Fault, FaultAction, NodeSpec};
use obi_mcp_testkit::{McpProcess, Sandbox, is_error, result_text};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_obi-mcp");

/// A simulated cluster (or several) plus a sandbox whose config points obi-mcp at them.
struct Env {
    rt: tokio::runtime::Runtime,
    clusters: Vec<Cluster>,
    sandbox: Sandbox,
}

impl Env {
    fn new(options: Vec<ClusterOptions>) -> Env {
        Self::with_config(options, "")
    }

    /// `extra` is appended under `toolsets.kubernetes` (indented YAML lines).
    fn with_config(options: Vec<ClusterOptions>, extra: &str) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let clusters: Vec<Cluster> = options
            .into_iter()
            .map(|o| rt.block_on(Cluster::start(o)).expect("start kube-sim"))
            .collect();
        let sandbox = Sandbox::new();
        let kubeconfig = sandbox.path().join("kubeconfig");
        let refs: Vec<&Cluster> = clusters.iter().collect();
        kube_sim::write_kubeconfig(&refs, &kubeconfig).unwrap();
        let mut extra_lines = String::new();
        for line in extra.lines().filter(|l| !l.trim().is_empty()) {
            extra_lines.push_str("    ");
            extra_lines.push_str(line);
            extra_lines.push('\n');
        }
        sandbox.write_config(&format!(
            "toolsets:\n  local:\n    enabled: false\n  kubernetes:\n    kubeconfig: {}\n    request_timeout_secs: 3\n{extra_lines}",
            kubeconfig.display()
        ));
        Env {
            rt,
            clusters,
            sandbox,
        }
    }

    fn one(nodes: usize) -> Env {
        Self::new(vec![
            ClusterOptions::for_tests().named("sim").with_nodes(nodes),
        ])
    }

    fn cluster(&self) -> &Cluster {
        &self.clusters[0]
    }

    fn start(&self, args: &[&str]) -> McpProcess {
        let mut all = vec!["serve"];
        all.extend_from_slice(args);
        let mut p = McpProcess::start_with(BIN, &self.sandbox, &all);
        p.initialize();
        p
    }

    fn settle(&self) {
        for c in &self.clusters {
            self.rt.block_on(c.settle(Duration::from_secs(5)));
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for c in &self.clusters {
            c.shutdown();
        }
    }
}

/// Calls a tool and asserts it succeeded; returns the structured content.
fn ok(p: &mut McpProcess, tool: &str, args: Value) -> Value {
    let r = p.call_tool(tool, args.clone());
    assert!(
        !is_error(&r),
        "{tool} {args} failed: {}\nstderr:\n{}",
        result_text(&r),
        p.stderr()
    );
    assert!(
        !result_text(&r).trim().is_empty(),
        "{tool} gave no readable text"
    );
    r["structuredContent"].clone()
}

/// Calls a tool and asserts it failed as a tool error; returns its text.
fn fails(p: &mut McpProcess, tool: &str, args: Value) -> String {
    let r = p.call_tool(tool, args.clone());
    assert!(
        is_error(&r),
        "{tool} {args} should have failed: {}",
        result_text(&r)
    );
    result_text(&r)
}

fn labels_ours(obj: &Value, instance: &str) -> bool {
    let l = &obj["metadata"]["labels"];
    l["app.kubernetes.io/managed-by"] == "obi-mcp"
        && l["app.kubernetes.io/instance"] == instance
        && l["app.kubernetes.io/name"] == "obi"
}

/// Everything obi-mcp created that still exists, as `Kind ns/name`.
fn ours(cluster: &Cluster) -> Vec<String> {
    let kinds = [
        ("v1", "ServiceAccount"),
        ("v1", "ConfigMap"),
        ("v1", "Pod"),
        ("apps/v1", "DaemonSet"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ];
    let mut out = Vec::new();
    for (api, kind) in kinds {
        for o in cluster.list(api, kind, None) {
            if o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "obi-mcp" {
                out.push(format!(
                    "{kind} {}/{}",
                    o["metadata"]["namespace"].as_str().unwrap_or(""),
                    o["metadata"]["name"].as_str().unwrap_or("")
                ));
            }
        }
    }
    out
}

fn daemonset(cluster: &Cluster, ns: &str, name: &str) -> Value {
    cluster
        .get("apps/v1", "DaemonSet", ns, name)
        .unwrap_or_else(|| panic!("no DaemonSet {ns}/{name}"))
}

fn obi_container(pod_spec: &Value) -> Value {
    pod_spec["containers"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "obi").cloned())
        .unwrap_or_else(|| panic!("no container named obi in {pod_spec}"))
}

fn env_map(container: &Value) -> BTreeMap<String, Value> {
    container["env"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|v| (v["name"].as_str().unwrap_or("").to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn yaml_docs(text: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_norway::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).expect("valid YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

#[test]
fn full_lifecycle_deploy_status_logs_update_upgrade_rollback_undeploy() {
    let env = Env::one(3);
    let c = env.cluster();
    let mut p = env.start(&[]);

    // Deploy, following the rollout with progress notifications.
    let r = p.request(
        "tools/call",
        json!({"name": "obi_k8s_deploy", "arguments": {"wait": true, "timeout": 60},
               "_meta": {"progressToken": "deploy-1"}}),
    );
    let result = &r["result"];
    assert!(!is_error(result), "deploy: {}", result_text(result));
    let s = &result["structuredContent"];
    assert_eq!(s["rollout"]["state"], "complete", "{s}");
    assert_eq!(s["namespace"], "obi-system");
    assert_eq!(s["instance"], "obi");
    let progress = p.take_notifications("notifications/progress");
    assert!(
        !progress.is_empty(),
        "a waited deploy reports rollout progress"
    );
    assert!(
        progress
            .iter()
            .all(|n| n["params"]["progressToken"] == "deploy-1")
    );
    let ds = daemonset(c, "obi-system", "obi");
    assert!(labels_ours(&ds, "obi"));
    assert_eq!(ds["status"]["numberReady"], 3);
    let first_image = obi_container(&ds["spec"]["template"]["spec"])["image"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        first_image.starts_with("otel/ebpf-instrument:v") && !first_image.ends_with(":latest"),
        "{first_image}"
    );

    // Status.
    let st = ok(&mut p, "obi_k8s_status", json!({}));
    assert_eq!(st["found"], true);
    assert_eq!(st["desired"], 3);
    assert_eq!(st["ready"], 3);
    assert_eq!(st["nodesWithoutObi"]["count"], 0);
    assert_eq!(st["images"][0]["image"], first_image.as_str());
    assert_eq!(st["images"][0]["pods"], 3);
    assert_eq!(st["metrics"], "available");
    assert!(st["usage"]["memoryBytes"].as_u64().unwrap() > 0);

    // Logs from every pod, merged in time order.
    std::thread::sleep(Duration::from_millis(700));
    let logs = ok(&mut p, "obi_k8s_logs", json!({"tail": 20}));
    assert_eq!(logs["podsQueried"], 3);
    assert_eq!(logs["podsFailed"].as_array().unwrap().len(), 0);
    let lines = logs["lines"].as_array().unwrap();
    assert!(!lines.is_empty());
    let pods: std::collections::BTreeSet<&str> =
        lines.iter().filter_map(|l| l["pod"].as_str()).collect();
    assert_eq!(pods.len(), 3, "lines from every pod: {pods:?}");
    let times: Vec<&str> = lines.iter().filter_map(|l| l["time"].as_str()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "merged in timestamp order");
    let errors_only = ok(&mut p, "obi_k8s_logs", json!({"level": "ERROR"}));
    assert!(
        errors_only["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["level"] == "ERROR")
    );

    // Config: get, an invalid update changes nothing, a valid one rolls the pods.
    let cfg = ok(&mut p, "obi_k8s_get_config", json!({}));
    assert_eq!(cfg["validation"]["valid"], true);
    let cm_before = c
        .get(
            "v1",
            "ConfigMap",
            "obi-system",
            cfg["configMap"].as_str().unwrap(),
        )
        .unwrap();
    let checksum_before =
        ds["spec"]["template"]["metadata"]["annotations"]["checksum/config"].clone();
    assert!(checksum_before.is_string());
    let bad = fails(
        &mut p,
        "obi_k8s_update_config",
        json!({"config": {"metrics": {"features": ["application_span", "application_span_otel"]}}}),
    );
    assert!(bad.contains("application_span"), "{bad}");
    let cm_after_bad = c
        .get(
            "v1",
            "ConfigMap",
            "obi-system",
            cfg["configMap"].as_str().unwrap(),
        )
        .unwrap();
    assert_eq!(
        cm_before["data"], cm_after_bad["data"],
        "invalid update changed nothing"
    );
    let up = ok(
        &mut p,
        "obi_k8s_update_config",
        json!({"config": {"log_level": "debug"}, "restart": true}),
    );
    assert_eq!(up["changed"], true);
    assert_eq!(up["restarted"], true);
    let ds2 = daemonset(c, "obi-system", "obi");
    let data = c
        .get(
            "v1",
            "ConfigMap",
            "obi-system",
            cfg["configMap"].as_str().unwrap(),
        )
        .unwrap()["data"]["ebpf-instrument-config.yml"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(data.contains("log_level: debug"), "{data}");
    assert_ne!(
        ds2["spec"]["template"]["metadata"]["annotations"]["checksum/config"], checksum_before,
        "the checksum annotation rolls the pods"
    );

    // Upgrade to a good version.
    let upg = ok(
        &mut p,
        "obi_k8s_upgrade",
        json!({"version": "v0.14.0", "timeout": 60}),
    );
    assert_eq!(upg["outcome"], "upgraded", "{upg}");
    assert_eq!(upg["from"], first_image.as_str());
    assert_eq!(upg["to"], "otel/ebpf-instrument:v0.14.0");
    let ds3 = daemonset(c, "obi-system", "obi");
    assert_eq!(
        obi_container(&ds3["spec"]["template"]["spec"])["image"],
        "otel/ebpf-instrument:v0.14.0"
    );

    // A failed upgrade (the image cannot be pulled) is rolled back.
    c.fail_image_pull("*:v9.9.9");
    let started = Instant::now();
    let r = p.call_tool(
        "obi_k8s_upgrade",
        json!({"version": "v9.9.9", "timeout": 60}),
    );
    let s = &r["structuredContent"];
    assert_eq!(s["outcome"], "rolled-back", "{}", result_text(&r));
    assert!(
        result_text(&r).contains("ImagePull") || result_text(&r).contains("ErrImagePull"),
        "{}",
        result_text(&r)
    );
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "a failing rollout is detected, not waited out"
    );
    let ds4 = daemonset(c, "obi-system", "obi");
    assert_eq!(
        obi_container(&ds4["spec"]["template"]["spec"])["image"],
        "otel/ebpf-instrument:v0.14.0",
        "rolled back to the previous image"
    );
    env.settle();
    let st = ok(&mut p, "obi_k8s_status", json!({}));
    assert_eq!(st["ready"], 3, "{st}");

    // Undeploy leaves nothing behind.
    ok(&mut p, "obi_k8s_undeploy", json!({"deleteNamespace": true}));
    wait_for("the namespace to go", Duration::from_secs(10), || {
        c.get("v1", "Namespace", "", "obi-system").is_none()
    });
    assert_eq!(ours(c), Vec::<String>::new());
    let st = ok(&mut p, "obi_k8s_status", json!({}));
    assert_eq!(st["found"], false);
}

#[test]
fn dry_run_manifests_follow_obi_facts_and_persist_nothing() {
    let env = Env::one(2);
    let c = env.cluster();
    let mut p = env.start(&[]);
    let before = c.request_count();
    let s = ok(
        &mut p,
        "obi_k8s_deploy",
        json!({"dryRun": true, "privileged": false,
               "config": {"discovery": {"instrument": [{"k8s_namespace": "shop"}]},
                          "ebpf": {"context_propagation": "all"},
                          "otel_traces_export": {"endpoint": "http://collector.monitoring:4318"}},
               "otlpEndpoint": "http://collector.monitoring:4318",
               "version": "v0.12.1"}),
    );
    assert!(c.request_count() > before, "server-side dry-run was used");
    assert_eq!(s["dryRun"], true);
    assert!(ours(c).is_empty(), "a dry run persists nothing");
    assert!(c.get("v1", "Namespace", "", "obi-system").is_none());
    let docs = yaml_docs(s["manifests"].as_str().expect("manifests YAML"));
    let find = |kind: &str| {
        docs.iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in the manifests"))
            .clone()
    };
    for d in &docs {
        assert!(labels_ours(d, "obi"), "labels on {}", d["kind"]);
    }
    let ns = find("Namespace");
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    let cr = find("ClusterRole");
    let rules = cr["rules"].as_array().unwrap();
    let has = |group: &str, res: &str, verbs: &[&str]| {
        rules.iter().any(|r| {
            r["apiGroups"]
                .as_array()
                .is_some_and(|g| g.iter().any(|g| g == group))
                && r["resources"]
                    .as_array()
                    .is_some_and(|x| x.iter().any(|x| x == res))
                && verbs.iter().all(|v| {
                    r["verbs"]
                        .as_array()
                        .is_some_and(|x| x.iter().any(|x| x == v))
                })
        })
    };
    for res in ["pods", "services", "nodes"] {
        assert!(has("", res, &["get", "list", "watch"]), "{res} in {cr}");
    }
    assert!(has("apps", "replicasets", &["list", "watch"]));
    let crb = find("ClusterRoleBinding");
    assert_eq!(crb["roleRef"]["name"], cr["metadata"]["name"]);
    let sa = find("ServiceAccount");
    assert_eq!(crb["subjects"][0]["name"], sa["metadata"]["name"]);
    assert_eq!(crb["subjects"][0]["namespace"], "obi-system");
    let cm = find("ConfigMap");
    let cfg_text = cm["data"]["ebpf-instrument-config.yml"].as_str().unwrap();
    assert!(cfg_text.contains("k8s_namespace: shop"), "{cfg_text}");

    let ds = find("DaemonSet");
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostPID"], true);
    assert_eq!(pod["serviceAccountName"], sa["metadata"]["name"]);
    // Context propagation needs hostNetwork, which needs ClusterFirstWithHostNet.
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["dnsPolicy"], "ClusterFirstWithHostNet");
    assert!(pod["tolerations"].as_array().is_some_and(|t| {
        t.iter()
            .any(|t| t["operator"] == "Exists" && t.get("key").is_none())
    }));
    let obi = obi_container(pod);
    assert_eq!(obi["image"], "otel/ebpf-instrument:v0.12.1");
    let sc = &obi["securityContext"];
    assert_ne!(sc["privileged"], true);
    assert_eq!(sc["runAsUser"], 0);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    let add: Vec<&str> = sc["capabilities"]["add"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for cap in [
        "BPF",
        "SYS_PTRACE",
        "NET_RAW",
        "CHECKPOINT_RESTORE",
        "DAC_READ_SEARCH",
        "PERFMON",
        "NET_ADMIN",
    ] {
        assert!(add.contains(&cap), "{cap} in {add:?}");
    }
    assert!(!add.contains(&"SYS_ADMIN"), "SYS_ADMIN only on request");
    let env = env_map(&obi);
    let config_path = env["OTEL_EBPF_CONFIG_PATH"]["value"].as_str().unwrap();
    assert_eq!(env["OTEL_EBPF_KUBE_METADATA_ENABLE"]["value"], "true");
    assert_eq!(
        env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"],
        "http://collector.monitoring:4318"
    );
    assert_eq!(
        env["HOST_IP"]["valueFrom"]["fieldRef"]["fieldPath"],
        "status.hostIP"
    );
    let mounts = obi["volumeMounts"].as_array().unwrap();
    let volumes = pod["volumes"].as_array().unwrap();
    let volume_of = |path: &str| -> Value {
        let m = mounts
            .iter()
            .find(|m| m["mountPath"] == path)
            .unwrap_or_else(|| panic!("no mount at {path}"));
        let v = volumes
            .iter()
            .find(|v| v["name"] == m["name"])
            .unwrap_or_else(|| panic!("no volume for {path}"));
        json!({"mount": m, "volume": v})
    };
    // The config file OBI is pointed at is the mounted ConfigMap key.
    let cfg_mount = mounts
        .iter()
        .find(|m| config_path.starts_with(m["mountPath"].as_str().unwrap()))
        .expect("OTEL_EBPF_CONFIG_PATH is inside a mount");
    let cfg_volume = volumes
        .iter()
        .find(|v| v["name"] == cfg_mount["name"])
        .unwrap();
    assert_eq!(cfg_volume["configMap"]["name"], cm["metadata"]["name"]);
    assert!(config_path.ends_with("/ebpf-instrument-config.yml"));
    let cgroup = volume_of("/sys/fs/cgroup");
    assert_eq!(cgroup["volume"]["hostPath"]["path"], "/sys/fs/cgroup");
    assert_eq!(cgroup["mount"]["readOnly"], true);
    let tracing = volume_of("/sys/kernel/tracing");
    assert_eq!(tracing["volume"]["hostPath"]["path"], "/sys/kernel/tracing");
    let run = volume_of("/var/run/obi");
    assert!(run["volume"]["emptyDir"].is_object());
    assert!(
        ds["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            .as_str()
            .is_some_and(|s| s.len() >= 16)
    );
    assert!(obi["resources"]["requests"].is_object());

    // The same manifests are accepted by the cluster's strict validation for real.
    let s = ok(
        &mut p,
        "obi_k8s_deploy",
        json!({"privileged": false, "wait": false,
               "config": {"discovery": {"instrument": [{"k8s_namespace": "shop"}]},
                          "ebpf": {"context_propagation": "all"},
                          "otel_traces_export": {"endpoint": "http://collector.monitoring:4318"}},
               "version": "v0.12.1"}),
    );
    assert!(s["applied"].as_array().unwrap().len() >= 6, "{s}");
    let live = daemonset(c, "obi-system", "obi");
    assert_eq!(live["spec"]["template"]["spec"]["hostPID"], true);
}

#[test]
fn default_deploy_is_privileged_without_host_network_and_refuses_latest() {
    let env = Env::one(1);
    let mut p = env.start(&[]);
    let s = ok(&mut p, "obi_k8s_deploy", json!({"dryRun": true}));
    let docs = yaml_docs(s["manifests"].as_str().unwrap());
    let ds = docs.iter().find(|d| d["kind"] == "DaemonSet").unwrap();
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(obi_container(pod)["securityContext"]["privileged"], true);
    assert_ne!(pod["hostNetwork"], true, "hostNetwork only when needed");
    let text = fails(
        &mut p,
        "obi_k8s_deploy",
        json!({"dryRun": true, "image": "otel/ebpf-instrument:latest"}),
    );
    assert!(text.contains("latest"), "{text}");
    let s = ok(
        &mut p,
        "obi_k8s_deploy",
        json!({"dryRun": true, "image": "registry.example/obi@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}),
    );
    assert!(
        s["manifests"]
            .as_str()
            .unwrap()
            .contains("registry.example/obi@sha256:0123")
    );
}

#[test]
fn sidecar_is_injected_into_a_deployment_and_removed_exactly() {
    let env = Env::one(2);
    let c = env.cluster();
    c.put(json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}
    }))
    .unwrap();
    c.put(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "checkout", "namespace": "shop"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "checkout"}},
            "template": {
                "metadata": {"labels": {"app": "checkout"}},
                "spec": {"containers": [{
                    "name": "app", "image": "shop/checkout:1.2.3",
                    "ports": [{"containerPort": 8080}]
                }]}
            }
        }
    }))
    .unwrap();
    env.settle();
    let original = c.get("apps/v1", "Deployment", "shop", "checkout").unwrap();
    let mut p = env.start(&[]);
    let s = ok(
        &mut p,
        "obi_k8s_deploy",
        json!({"mode": "sidecar", "namespace": "shop",
               "target": {"kind": "Deployment", "name": "checkout"},
               "otlpEndpoint": "http://collector.monitoring:4318", "wait": true, "timeout": 60}),
    );
    assert_eq!(s["mode"], "sidecar");
    let d = c.get("apps/v1", "Deployment", "shop", "checkout").unwrap();
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["shareProcessNamespace"], true);
    assert_ne!(pod["hostPID"], true, "no hostPID in sidecar mode");
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2);
    assert_eq!(
        containers[0]["name"], "app",
        "the app container is untouched"
    );
    assert_eq!(containers[0]["image"], "shop/checkout:1.2.3");
    let obi = obi_container(pod);
    let env_vars = env_map(&obi);
    assert_eq!(env_vars["OTEL_EBPF_OPEN_PORT"]["value"], "8080");
    assert_eq!(
        env_vars["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"],
        "http://collector.monitoring:4318"
    );
    assert_eq!(env_vars["OTEL_EBPF_KUBE_METADATA_ENABLE"]["value"], "true");
    let managers: Vec<&str> = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"obi-mcp"), "{managers:?}");
    // RBAC for the pod's service account.
    let bindings = c.list("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", None);
    assert!(bindings.iter().any(|b| {
        labels_ours(b, "obi")
            && b["subjects"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["namespace"] == "shop"))
    }));

    ok(&mut p, "obi_k8s_undeploy", json!({"namespace": "shop"}));
    let after = c.get("apps/v1", "Deployment", "shop", "checkout").unwrap();
    assert_eq!(
        after["spec"]["template"]["spec"]["containers"],
        original["spec"]["template"]["spec"]["containers"],
        "exactly what was injected is removed"
    );
    assert_ne!(
        after["spec"]["template"]["spec"]["shareProcessNamespace"],
        true
    );
    assert!(ours(c).is_empty(), "{:?}", ours(c));
}

#[test]
fn two_clusters_are_reached_through_their_contexts() {
    let env = Env::new(vec![
        ClusterOptions::for_tests().named("east").with_nodes(1),
        ClusterOptions::for_tests()
            .named("west")
            .with_nodes(2)
            .seed(7),
    ]);
    let mut p = env.start(&[]);
    let ctx = ok(&mut p, "obi_k8s_contexts", json!({}));
    let list = ctx["contexts"].as_array().unwrap();
    let names: Vec<&str> = list.iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(
        names.contains(&"east") && names.contains(&"west"),
        "{names:?}"
    );
    let east = list.iter().find(|c| c["name"] == "east").unwrap();
    assert_eq!(east["default"], true);
    assert_eq!(east["reachable"], true);
    let text = serde_json::to_string(&ctx).unwrap();
    for c in &env.clusters {
        assert!(
            !text.contains(c.admin_token()),
            "no token in the contexts output"
        );
    }
    ok(
        &mut p,
        "obi_k8s_deploy",
        json!({"context": "west", "wait": true, "timeout": 60}),
    );
    assert!(ours(&env.clusters[0]).is_empty(), "nothing on east");
    assert!(
        env.clusters[1]
            .get("apps/v1", "DaemonSet", "obi-system", "obi")
            .is_some()
    );
    let west = ok(&mut p, "obi_k8s_status", json!({"context": "west"}));
    assert_eq!(west["ready"], 2);
    let east = ok(&mut p, "obi_k8s_status", json!({}));
    assert_eq!(east["found"], false);
    let bad = fails(&mut p, "obi_k8s_status", json!({"context": "north"}));
    assert!(bad.contains("north"), "{bad}");
    assert!(!p.stderr().contains(env.clusters[1].admin_token()));
}

#[test]
fn read_only_hides_mutating_tools_and_reads_still_work() {
    let env = Env::one(1);
    let mut p = env.start(&["--read-only"]);
    let tools = p.request("tools/list", json!({}));
    let names: Vec<String> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str().map(String::from))
        .collect();
    for hidden in [
        "obi_k8s_deploy",
        "obi_k8s_update_config",
        "obi_k8s_upgrade",
        "obi_k8s_undeploy",
    ] {
        assert!(!names.contains(&hidden.to_string()), "{hidden} hidden");
    }
    for shown in [
        "obi_k8s_status",
        "obi_k8s_logs",
        "obi_k8s_diagnose",
        "obi_k8s_contexts",
        "obi_k8s_get_config",
    ] {
        assert!(names.contains(&shown.to_string()), "{shown} listed");
    }
    let r = p.request(
        "tools/call",
        json!({"name": "obi_k8s_deploy", "arguments": {}}),
    );
    assert!(
        r.get("error").is_some(),
        "a hidden tool cannot be called: {r}"
    );
    let st = ok(&mut p, "obi_k8s_status", json!({}));
    assert_eq!(st["found"], false);
}

#[test]
fn read_only_config_switch_hides_writes_and_keeps_reads() {
    // `server.read_only` in the config works like `--read-only`. (That the host itself refuses
    // apply/patch/delete under read-only, whatever a toolset's annotations say, is covered by
    // the capability's tests, which call the host functions directly.)
    let env = Env::one(1);
    let cfg = std::fs::read_to_string(env.sandbox.config_path()).unwrap();
    env.sandbox
        .write_config(&format!("server:\n  read_only: true\n{cfg}"));
    let mut p = env.start(&[]);
    let tools = p.request("tools/list", json!({}));
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(!names.contains(&"obi_k8s_deploy"), "{names:?}");
    assert!(!names.contains(&"obi_k8s_undeploy"), "{names:?}");
    let d = ok(&mut p, "obi_k8s_diagnose", json!({}));
    assert!(
        d["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "not-deployed"),
        "{d}"
    );
}

#[test]
fn two_instances_coexist_and_undeploy_removes_only_its_own() {
    let env = Env::one(2);
    let c = env.cluster();
    let mut p = env.start(&[]);
    ok(
        &mut p,
        "obi_k8s_deploy",
        json!({"instance": "traces", "wait": true, "timeout": 60}),
    );
    ok(
        &mut p,
        "obi_k8s_deploy",
        json!({"instance": "network", "wait": true, "timeout": 60,
               "config": {"network": {"enable": true}, "otel_metrics_export": {"endpoint": "http://collector:4318"}}}),
    );
    let a = ok(&mut p, "obi_k8s_status", json!({"instance": "traces"}));
    let b = ok(&mut p, "obi_k8s_status", json!({"instance": "network"}));
    assert_eq!(a["ready"], 2, "{a}");
    assert_eq!(b["ready"], 2, "{b}");
    let before: Vec<String> = ours(c);
    let of = |instance: &str| -> Vec<String> {
        let mut v = Vec::new();
        for (api, kind) in [
            ("v1", "ConfigMap"),
            ("v1", "ServiceAccount"),
            ("apps/v1", "DaemonSet"),
            ("rbac.authorization.k8s.io/v1", "ClusterRole"),
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
        ] {
            for o in c.list(api, kind, None) {
                if labels_ours(&o, instance) {
                    v.push(format!(
                        "{kind} {}",
                        o["metadata"]["name"].as_str().unwrap()
                    ));
                }
            }
        }
        v
    };
    let network_objects = of("network");
    assert_eq!(network_objects.len(), 5, "{network_objects:?}");
    assert_eq!(of("traces").len(), 5, "{:?}", of("traces"));
    ok(&mut p, "obi_k8s_undeploy", json!({"instance": "traces"}));
    assert!(of("traces").is_empty(), "{:?}", of("traces"));
    assert_eq!(
        of("network"),
        network_objects,
        "the other instance is untouched"
    );
    assert!(ours(c).len() < before.len());
    let b = ok(&mut p, "obi_k8s_status", json!({"instance": "network"}));
    assert_eq!(b["ready"], 2, "{b}");
    let a = ok(&mut p, "obi_k8s_status", json!({"instance": "traces"}));
    assert_eq!(a["found"], false);
}

#[test]
fn restricted_user_gets_a_readable_forbidden() {
    let env = Env::one(1);
    let mut p = env.start(&[]);
    let text = fails(
        &mut p,
        "obi_k8s_deploy",
        json!({"context": "sim-restricted", "wait": false}),
    );
    assert!(
        text.contains("Forbidden") || text.contains("forbidden"),
        "{text}"
    );
    assert!(text.contains("sim-restricted"), "names the context: {text}");
    assert!(ours(env.cluster()).is_empty());
}

#[test]
fn transient_faults_are_retried_and_persistent_ones_reported() {
    let env = Env::one(2);
    let c = env.cluster();
    let mut p = env.start(&[]);
    ok(
        &mut p,
        "obi_k8s_deploy",
        json!({"wait": true, "timeout": 60}),
    );

    // 500s and a 429 on the first tries: retried, the call succeeds.
    c.add_fault(
        Fault::new(FaultAction::Status {
            code: 500,
            retry_after: None,
        })
        .resource("daemonsets")
        .times(2),
    );
    c.add_fault(
        Fault::new(FaultAction::Status {
            code: 429,
            retry_after: Some(1),
        })
        .resource("pods")
        .times(1),
    );
    let st = ok(&mut p, "obi_k8s_status", json!({}));
    assert_eq!(st["ready"], 2);
    c.clear_faults();

    // A persistent 503: a clear error after bounded retries.
    c.add_fault(
        Fault::new(FaultAction::Status {
            code: 503,
            retry_after: None,
        })
        .resource("daemonsets"),
    );
    let started = Instant::now();
    let text = fails(&mut p, "obi_k8s_status", json!({}));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        text.contains("503") || text.contains("ServiceUnavailable") || text.contains("unavailable"),
        "{text}"
    );
    c.clear_faults();

    // A hanging API server: the call fails within the configured timeout (3 s).
    c.add_fault(Fault::new(FaultAction::Latency(Duration::from_secs(30))).resource("daemonsets"));
    let started = Instant::now();
    let text = fails(&mut p, "obi_k8s_status", json!({}));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        text.to_lowercase().contains("timeout") || text.contains("did not answer"),
        "{text}"
    );
    c.clear_faults();

    // A dropped connection.
    c.add_fault(
        Fault::new(FaultAction::CutConnection)
            .resource("daemonsets")
            .times(1),
    );
    let st = ok(&mut p, "obi_k8s_status", json!({}));
    assert_eq!(st["found"], true);
    c.clear_faults();
    c.add_fault(Fault::new(FaultAction::CutConnection).resource("daemonsets"));
    let text = fails(&mut p, "obi_k8s_status", json!({}));
    assert!(!text.is_empty());
    c.clear_faults();
}

#[test]
fn a_conflicting_field_manager_is_named_and_force_takes_over() {
    let env = Env::one(1);
    let c = env.cluster();
    let mut p = env.start(&[]);
    ok(
        &mut p,
        "obi_k8s_deploy",
        json!({"wait": true, "timeout": 60}),
    );
    // Someone else takes ownership of the image with their own field manager.
    let client = env.rt.block_on(c.client()).unwrap();
    env.rt
        .block_on(async {
            let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
                client,
                "obi-system",
                &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
                    "apps",
                    "v1",
                    "DaemonSet",
                )),
            );
            let patch = json!({
                "apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "obi", "namespace": "obi-system"},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "obi", "image": "otel/ebpf-instrument:v0.11.0"}
                ]}}}
            });
            api.patch(
                "obi",
                &kube::api::PatchParams::apply("platform-team").force(),
                &kube::api::Patch::Apply(&patch),
            )
            .await
        })
        .unwrap();
    let text = fails(
        &mut p,
        "obi_k8s_deploy",
        json!({"version": "v0.12.1", "wait": false}),
    );
    assert!(
        text.contains("platform-team"),
        "names the other manager: {text}"
    );
    assert!(text.contains("force"), "says how to take over: {text}");
    ok(
        &mut p,
        "obi_k8s_deploy",
        json!({"version": "v0.12.1", "wait": false, "force": true}),
    );
    let ds = daemonset(c, "obi-system", "obi");
    assert_eq!(
        obi_container(&ds["spec"]["template"]["spec"])["image"],
        "otel/ebpf-instrument:v0.12.1"
    );
}

/// Runs `obi_k8s_diagnose` until it reports every finding in `ids` (pods need a moment to
/// crash or fail their pulls), or fails after 30 s.
fn diagnose_until(p: &mut McpProcess, args: Value, ids: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = ok(p, "obi_k8s_diagnose", args.clone());
        let found = |id: &&str| {
            d["findings"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["id"] == *id))
        };
        if ids.iter().all(found) || Instant::now() > deadline {
            return d;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn finding<'a>(d: &'a Value, id: &str) -> &'a Value {
    d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no finding {id} in {d}"))
}

#[test]
fn diagnose_finds_old_kernels_bad_config_missing_rbac_and_pull_errors() {
    let env = Env::new(vec![
        ClusterOptions::for_tests()
            .named("sim")
            .with_nodes(2)
            .with_node(NodeSpec::named("old-node").kernel("4.19.0-26-amd64")),
    ]);
    let c = env.cluster();
    let mut p = env.start(&[]);
    ok(&mut p, "obi_k8s_deploy", json!({"wait": false}));
    env.settle();
    let d = diagnose_until(&mut p, json!({}), &["kernel-too-old"]);
    let k = finding(&d, "kernel-too-old");
    assert!(k["detail"].as_str().unwrap().contains("old-node"), "{k}");
    assert!(!k["fix"].as_str().unwrap().is_empty());
    assert!(
        d["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["id"] != "config-invalid" && f["id"] != "rbac-missing"),
        "{d}"
    );

    // A config OBI refuses at startup, written behind obi-mcp's back: pods crash-loop.
    let cm_name = ok(&mut p, "obi_k8s_get_config", json!({}))["configMap"]
        .as_str()
        .unwrap()
        .to_string();
    c.modify("v1", "ConfigMap", "obi-system", &cm_name, |cm| {
        cm["data"]["ebpf-instrument-config.yml"] = json!("log_level: info\n");
    })
    .expect("the ConfigMap exists");
    // Roll the pods so they read the new file.
    for pod in c.list("v1", "Pod", Some("obi-system")) {
        c.delete(
            "v1",
            "Pod",
            "obi-system",
            pod["metadata"]["name"].as_str().unwrap(),
        )
        .unwrap();
    }
    // And remove the RBAC OBI needs for metadata.
    for cr in c.list("rbac.authorization.k8s.io/v1", "ClusterRole", None) {
        if labels_ours(&cr, "obi") {
            c.delete(
                "rbac.authorization.k8s.io/v1",
                "ClusterRole",
                "",
                cr["metadata"]["name"].as_str().unwrap(),
            )
            .unwrap();
        }
    }
    env.settle();
    let d = diagnose_until(
        &mut p,
        json!({}),
        &["config-invalid", "crash-loop", "rbac-missing"],
    );
    let cfg = finding(&d, "config-invalid");
    assert!(
        cfg["detail"]
            .as_str()
            .unwrap()
            .contains("at least one of 'network' or 'application'"),
        "OBI's own message: {cfg}"
    );
    let crash = finding(&d, "crash-loop");
    assert!(
        crash["detail"].as_str().unwrap().contains("level=ERROR")
            || crash["detail"].as_str().unwrap().contains("at least one"),
        "the previous container's error lines: {crash}"
    );
    let rbac = finding(&d, "rbac-missing");
    assert!(!rbac["fix"].as_str().unwrap().is_empty());

    // An image that cannot be pulled.
    c.fail_image_pull("*:v0.13.0");
    let r = p.call_tool(
        "obi_k8s_upgrade",
        json!({"version": "v0.13.0", "wait": false}),
    );
    assert!(!is_error(&r), "{}", result_text(&r));
    let d = diagnose_until(&mut p, json!({}), &["image-pull"]);
    let pull = finding(&d, "image-pull");
    assert!(
        pull["detail"].as_str().unwrap().contains("v0.13.0"),
        "{pull}"
    );
}

#[test]
fn diagnose_flags_host_network_without_cluster_dns_and_namespace_without_psa_label() {
    let env = Env::one(1);
    let c = env.cluster();
    c.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "observability"}}))
        .unwrap();
    let mut p = env.start(&[]);
    let s = ok(
        &mut p,
        "obi_k8s_deploy",
        json!({"namespace": "observability", "wait": false,
               "config": {"network": {"enable": true}, "otel_metrics_export": {"endpoint": "http://collector:4318"}}}),
    );
    assert!(
        s["warnings"].as_array().unwrap().iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("pod-security.kubernetes.io/enforce")),
        "{s}"
    );
    c.modify("apps/v1", "DaemonSet", "observability", "obi", |ds| {
        ds["spec"]["template"]["spec"]["dnsPolicy"] = json!("ClusterFirst");
        ds["spec"]["template"]["spec"]["hostNetwork"] = json!(true);
    })
    .expect("the DaemonSet exists");
    let d = ok(
        &mut p,
        "obi_k8s_diagnose",
        json!({"namespace": "observability"}),
    );
    finding(&d, "namespace-psa");
    let dns = finding(&d, "host-network-dns");
    assert!(
        dns["fix"]
            .as_str()
            .unwrap()
            .contains("ClusterFirstWithHostNet")
    );
}

#[test]
fn crash_looping_pods_are_reported_by_status() {
    let env = Env::one(2);
    let c = env.cluster();
    c.crash_containers(CrashRule {
        image: "*ebpf-instrument:v0.12.1".into(),
        exit_code: 255,
        log_line: "time=2026-01-01T00:00:00Z level=ERROR msg=\"can't start\" error=boom".into(),
    });
    let mut p = env.start(&[]);
    let r = p.call_tool(
        "obi_k8s_deploy",
        json!({"version": "v0.12.1", "wait": true, "timeout": 30}),
    );
    assert_eq!(
        r["structuredContent"]["rollout"]["state"],
        "failed",
        "{}",
        result_text(&r)
    );
    let st = ok(&mut p, "obi_k8s_status", json!({}));
    let crashing = st["crashLooping"].as_array().unwrap();
    assert!(!crashing.is_empty(), "{st}");
    assert!(st["restarts"].as_u64().unwrap() > 0);
}

#[test]
fn status_on_a_thousand_nodes_is_exact_and_bounded() {
    let mut opts = ClusterOptions::for_tests().named("big").with_nodes(1000);
    opts.events = false;
    let env = Env::new(vec![opts]);
    let c = env.cluster();
    // Five nodes go NotReady before the deploy.
    for i in 1..=5 {
        c.set_node_ready(&format!("node-{i}"), false);
    }
    let mut p = env.start(&[]);
    ok(&mut p, "obi_k8s_deploy", json!({"wait": false}));
    env.settle();
    // Every Ready node runs a ready OBI pod before the snapshot is compared.
    wait_for("995 ready OBI pods", Duration::from_secs(60), || {
        daemonset(c, "obi-system", "obi")["status"]["numberReady"].as_u64() >= Some(995)
    });
    let r = p.call_tool("obi_k8s_status", json!({}));
    assert!(!is_error(&r), "{}", result_text(&r));
    let size = serde_json::to_string(&r).unwrap().len();
    assert!(size < 32 * 1024, "bounded summary, got {size} bytes");
    let st = &r["structuredContent"];
    // The exact count, computed from the cluster itself: nodes without a running OBI pod.
    let running: std::collections::BTreeSet<String> = c
        .list("v1", "Pod", Some("obi-system"))
        .iter()
        .filter(|p| p["status"]["phase"] == "Running")
        .filter_map(|p| p["spec"]["nodeName"].as_str().map(String::from))
        .collect();
    let expected = 1000 - running.len() as u64;
    assert_eq!(
        st["nodesWithoutObi"]["count"].as_u64(),
        Some(expected),
        "{st}"
    );
    assert!(expected >= 5, "the NotReady nodes lack a running pod");
    assert!(st["nodesWithoutObi"]["nodes"].as_array().unwrap().len() <= 20);
    let verbose = ok(&mut p, "obi_k8s_status", json!({"verbose": true}));
    assert_eq!(
        verbose["nodesWithoutObi"]["count"],
        st["nodesWithoutObi"]["count"]
    );

    // Logs of every pod, fetched with a bounded fan-out.
    c.reset_peak_in_flight();
    let logs = ok(&mut p, "obi_k8s_logs", json!({"tail": 5, "limit": 200}));
    assert!(logs["podsQueried"].as_u64().unwrap() >= running.len() as u64);
    assert!(logs["lines"].as_array().unwrap().len() <= 200);
    assert_eq!(logs["truncated"], true);
    let peak = c.peak_in_flight();
    assert!(
        peak <= 66,
        "at most 64 log requests in flight (+ the lists), saw {peak}"
    );
}

#[test]
fn an_unreachable_cluster_delays_neither_start_nor_tools_list() {
    // A port that accepts connections but never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let sandbox = Sandbox::new();
    let kubeconfig = sandbox.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: dead\nclusters:\n- name: dead\n  cluster:\n    server: https://{addr}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: sekrit-token-123\ncontexts:\n- name: dead\n  context:\n    cluster: dead\n    user: u\n"
        ),
    )
    .unwrap();
    sandbox.write_config(&format!(
        "toolsets:\n  local:\n    enabled: false\n  kubernetes:\n    kubeconfig: {}\n    request_timeout_secs: 2\n",
        kubeconfig.display()
    ));
    let started = Instant::now();
    let mut p = McpProcess::start(BIN, &sandbox);
    p.initialize();
    let tools = p.request("tools/list", json!({}));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "start + tools/list took {:?}",
        started.elapsed()
    );
    assert!(
        tools["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "obi_k8s_status")
    );
    let started = Instant::now();
    let text = fails(&mut p, "obi_k8s_status", json!({}));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(text.contains("dead"), "names the context: {text}");
    assert!(!text.contains("sekrit-token-123"));
    let ctx = ok(&mut p, "obi_k8s_contexts", json!({}));
    assert_eq!(ctx["contexts"][0]["reachable"], false);
    assert!(
        !serde_json::to_string(&ctx)
            .unwrap()
            .contains("sekrit-token-123")
    );
    assert!(!p.stderr().contains("sekrit-token-123"));
    drop(listener);
}

#[test]
fn resources_and_prompts_are_served() {
    let env = Env::one(1);
    let mut p = env.start(&[]);
    ok(
        &mut p,
        "obi_k8s_deploy",
        json!({"wait": true, "timeout": 60}),
    );
    let templates = p.request("resources/templates/list", json!({}));
    let uris: Vec<&str> = templates["result"]["resourceTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["uriTemplate"].as_str())
        .collect();
    for suffix in ["config", "status", "logs"] {
        assert!(
            uris.contains(&format!("obi-k8s://{{context}}/{{namespace}}/{suffix}").as_str()),
            "{uris:?}"
        );
    }
    let r = p.request(
        "resources/read",
        json!({"uri": "obi-k8s://sim/obi-system/config"}),
    );
    let text = r["result"]["contents"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.contains("otel_traces_export") || text.contains("discovery"),
        "{r}"
    );
    let r = p.request(
        "prompts/get",
        json!({"name": "setup-obi-kubernetes", "arguments": {"clusterType": "openshift", "namespace": "obi"}}),
    );
    let text = serde_json::to_string(&r["result"]["messages"]).unwrap();
    assert!(
        text.contains("SCC") || text.contains("SecurityContextConstraints"),
        "{text}"
    );
    let r = p.request(
        "prompts/get",
        json!({"name": "troubleshoot-obi-kubernetes", "arguments": {}}),
    );
    assert!(
        r["result"]["messages"]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "{r}"
    );
}

#[test]
fn the_demo_runs_the_whole_lifecycle_against_the_real_binary() {
    let mut out = Vec::new();
    let opts = obi_mcp_demo::DemoOptions {
        obi_mcp: BIN.into(),
        nodes: 3,
        ..Default::default()
    };
    let report = obi_mcp_demo::run(&opts, &mut out).expect("demo runs");
    let text = String::from_utf8_lossy(&out);
    assert!(report.ok(), "demo failed: {:?}\n{text}", report.failed());
    for tool in [
        "obi_k8s_deploy",
        "obi_k8s_status",
        "obi_k8s_logs",
        "obi_k8s_update_config",
        "obi_k8s_upgrade",
        "obi_k8s_diagnose",
        "obi_k8s_undeploy",
    ] {
        assert!(
            text.contains(&format!("→ tools/call {tool}")),
            "{tool} in\n{text}"
        );
    }
    assert!(report.progress_notifications > 0, "{text}");
}
