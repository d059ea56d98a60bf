//! Status summaries over fixture pods and nodes.

use super::*;
use serde_json::json;

fn node(name: &str) -> Value {
    json!({"metadata": {"name": name}, "spec": {},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "nodeInfo": {"kernelVersion": "6.1.0"}}})
}

fn pod(name: &str, node: &str, image: &str, ready: bool, restarts: u64) -> Value {
    json!({"metadata": {"name": name}, "spec": {"nodeName": node},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": "obi", "image": image, "ready": ready, "restartCount": restarts,
            "state": {"running": {}}}]}})
}

fn crash_pod(name: &str, node: &str) -> Value {
    json!({"metadata": {"name": name}, "spec": {"nodeName": node},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": "obi", "image": "otel/ebpf-instrument:v0.12.1", "ready": false, "restartCount": 7,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
            "lastState": {"terminated": {"exitCode": 255, "reason": "Error"}}}]}})
}

fn ds(desired: u32, ready: u32) -> Value {
    json!({"spec": {"template": {"spec": {"tolerations": [{"operator": "Exists"}]}}},
        "status": {"desiredNumberScheduled": desired, "numberReady": ready,
                   "updatedNumberScheduled": desired, "numberAvailable": ready}})
}

#[test]
fn healthy_daemonset_summary() {
    let nodes = vec![node("n1"), node("n2")];
    let pods = vec![
        pod("obi-a", "n1", "otel/ebpf-instrument:v0.12.1", true, 0),
        pod("obi-b", "n2", "otel/ebpf-instrument:v0.12.1", true, 1),
    ];
    let metrics = vec![
        json!({"metadata": {"name": "obi-a"}, "containers": [{"name": "obi", "usage": {"cpu": "15m", "memory": "100Mi"}}]}),
        json!({"metadata": {"name": "obi-b"}, "containers": [{"name": "obi", "usage": {"cpu": "5000000n", "memory": "102400Ki"}}]}),
    ];
    let d = ds(2, 2);
    let s = summarize(&Input {
        workload: Some(&d),
        sidecar: false,
        pods: &pods,
        nodes: &nodes,
        metrics: Ok(&metrics),
        verbose: false,
    });
    assert_eq!((s.desired, s.ready, s.updated, s.available), (2, 2, 2, 2));
    assert_eq!(
        s.images,
        vec![ImageCount {
            image: "otel/ebpf-instrument:v0.12.1".into(),
            pods: 2
        }]
    );
    assert_eq!(s.restarts, 1);
    assert_eq!(s.nodes_without_obi.count, 0);
    assert_eq!(
        s.usage,
        Some(Usage {
            cpu_millicores: 20,
            memory_bytes: 200 * 1024 * 1024,
            pods: 2
        })
    );
    assert_eq!(s.metrics, "available");
    assert_eq!(
        s.summary,
        "2/2 OBI pods ready, 2 updated, on 2 of 2 nodes; image otel/ebpf-instrument:v0.12.1; \
         1 restarts; using 20m CPU and 200 MiB memory over 2 pods."
    );
}

#[test]
fn crash_loops_and_missing_nodes_have_reasons() {
    let mut tainted = node("gpu-1");
    tainted["spec"]["taints"] =
        json!([{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]);
    let mut not_ready = node("n4");
    not_ready["status"]["conditions"][0]["status"] = "False".into();
    let nodes = vec![node("n1"), node("n2"), tainted, not_ready, node("n5")];
    let pods = vec![
        pod("obi-a", "n1", "otel/ebpf-instrument:v0.12.1", true, 0),
        crash_pod("obi-b", "n2"),
    ];
    let mut d = ds(4, 1);
    d["spec"]["template"]["spec"]["tolerations"] =
        json!([{"key": "dedicated", "operator": "Exists"}]);
    let s = summarize(&Input {
        workload: Some(&d),
        sidecar: false,
        pods: &pods,
        nodes: &nodes,
        metrics: Err("the metrics API (metrics.k8s.io) is not served".into()),
        verbose: false,
    });
    assert_eq!(s.crash_looping_count, 1);
    assert_eq!(s.crash_looping[0].reason, "CrashLoopBackOff");
    assert_eq!(
        s.crash_looping[0].message,
        "back-off 5m0s; last exit: code 255 Error"
    );
    assert_eq!(s.crash_looping[0].restarts, 7);
    let reasons: Vec<(&str, &str)> = s
        .nodes_without_obi
        .nodes
        .iter()
        .map(|n| (n.node.as_str(), n.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "n2",
                "pod obi-b: CrashLoopBackOff back-off 5m0s; last exit: code 255 Error"
            ),
            (
                "gpu-1",
                "taint nvidia.com/gpu=true:NoSchedule is not tolerated"
            ),
            ("n4", "node is not Ready"),
            ("n5", "no OBI pod scheduled yet"),
        ]
    );
    assert_eq!(s.usage, None);
    assert!(s.metrics.starts_with("unavailable: "));
    assert!(
        s.summary
            .contains("1 pods failing (e.g. obi-b CrashLoopBackOff)"),
        "{}",
        s.summary
    );
}

#[test]
fn node_selector_exclusions_are_explained() {
    let mut d = ds(1, 1);
    d["spec"]["template"]["spec"]["nodeSelector"] = json!({"obi": "yes"});
    let mut labelled = node("n1");
    labelled["metadata"]["labels"] = json!({"obi": "yes"});
    let nodes = vec![labelled, node("n2")];
    let pods = vec![pod("obi-a", "n1", "img:v1", true, 0)];
    let s = summarize(&Input {
        workload: Some(&d),
        sidecar: false,
        pods: &pods,
        nodes: &nodes,
        metrics: Ok(&[]),
        verbose: false,
    });
    assert_eq!(s.nodes_without_obi.count, 1);
    assert!(
        s.nodes_without_obi.nodes[0]
            .reason
            .starts_with("excluded by the nodeSelector")
    );
}

#[test]
fn tolerations_match_like_the_scheduler() {
    let taint = json!({"key": "k", "value": "v", "effect": "NoSchedule"});
    assert!(tolerates(&json!({"operator": "Exists"}), &taint));
    assert!(tolerates(
        &json!({"key": "k", "operator": "Exists"}),
        &taint
    ));
    assert!(tolerates(&json!({"key": "k", "value": "v"}), &taint));
    assert!(!tolerates(&json!({"key": "k", "value": "w"}), &taint));
    assert!(!tolerates(
        &json!({"key": "k", "operator": "Exists", "effect": "NoExecute"}),
        &taint
    ));
    assert!(!tolerates(
        &json!({"key": "other", "operator": "Exists"}),
        &taint
    ));
}

#[test]
fn quantities_parse() {
    assert_eq!(cpu_millicores("250m"), Some(250.0));
    assert_eq!(cpu_millicores("2"), Some(2000.0));
    assert_eq!(cpu_millicores("1500000n"), Some(1.5));
    assert_eq!(memory_bytes("1Gi"), Some(1073741824.0));
    assert_eq!(memory_bytes("1000k"), Some(1e6));
    assert_eq!(memory_bytes("4096"), Some(4096.0));
    assert_eq!(memory_bytes("x"), None);
}

#[test]
fn five_thousand_nodes_stay_bounded_with_exact_totals() {
    let nodes: Vec<Value> = (0..5000).map(|i| node(&format!("node-{i}"))).collect();
    // every third node runs no OBI pod, every tenth pod crash-loops, two images
    let mut pods = Vec::new();
    for i in 0..5000 {
        if i % 3 == 0 {
            continue;
        }
        let n = format!("node-{i}");
        if i % 10 == 1 {
            pods.push(crash_pod(&format!("obi-{i}"), &n));
        } else {
            let image = if i % 2 == 0 { "img:v1" } else { "img:v2" };
            pods.push(pod(&format!("obi-{i}"), &n, image, true, 1));
        }
    }
    let d = ds(5000, 3000);
    let started = std::time::Instant::now();
    let s = summarize(&Input {
        workload: Some(&d),
        sidecar: false,
        pods: &pods,
        nodes: &nodes,
        metrics: Ok(&[]),
        verbose: false,
    });
    let elapsed = started.elapsed();
    assert!(
        elapsed < std::time::Duration::from_millis(500),
        "{elapsed:?}"
    );
    let without = (0..5000).filter(|i| i % 3 == 0).count()
        + (0..5000).filter(|i| i % 3 != 0 && i % 10 == 1).count();
    assert_eq!(s.nodes_without_obi.count as usize, without);
    assert_eq!(s.nodes_without_obi.nodes.len(), LIST_CAP);
    let crashing = (0..5000).filter(|i| i % 3 != 0 && i % 10 == 1).count();
    assert_eq!(s.crash_looping_count as usize, crashing);
    assert_eq!(s.crash_looping.len(), LIST_CAP);
    assert_eq!(s.total_pods as usize, pods.len());
    assert_eq!(s.images.len(), 3);
    let json = serde_json::to_string(&s.nodes_without_obi).unwrap();
    assert!(json.len() < 4000, "{}", json.len());
    let verbose = summarize(&Input {
        workload: Some(&d),
        sidecar: false,
        pods: &pods,
        nodes: &nodes,
        metrics: Ok(&[]),
        verbose: true,
    });
    assert_eq!(verbose.nodes_without_obi.nodes.len(), VERBOSE_LIST_CAP);
    assert_eq!(verbose.crash_looping.len(), crashing.min(VERBOSE_LIST_CAP));
}

#[test]
fn sidecar_counts_come_from_the_workload() {
    let d = json!({"spec": {"replicas": 3}, "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
    let mut p = pod("app-1", "n1", "otel/ebpf-instrument:v0.12.1", true, 0);
    p["status"]["containerStatuses"]
        .as_array_mut()
        .unwrap()
        .insert(
            0,
            json!({"name": "app", "image": "shop/app:1", "ready": true, "restartCount": 9}),
        );
    let pods = vec![p];
    let s = summarize(&Input {
        workload: Some(&d),
        sidecar: true,
        pods: &pods,
        nodes: &[],
        metrics: Ok(&[]),
        verbose: false,
    });
    assert_eq!((s.desired, s.ready, s.updated, s.available), (3, 2, 3, 2));
    assert_eq!(s.restarts, 0, "the app's restarts are not OBI's");
    assert_eq!(s.images[0].image, "otel/ebpf-instrument:v0.12.1");
}
