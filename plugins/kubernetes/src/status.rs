//! Status summary: from projected pods, nodes and pod metrics to a bounded report. Pure; the
//! tool fetches lists with `fields` projections only, so a 5,000-node cluster costs a few
//! hundred bytes per node, and every list in the output is capped while totals stay exact.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::manifests::CONTAINER;

/// Entries per list in the output (without `verbose`).
pub const LIST_CAP: usize = 20;
/// Entries per list with `verbose`.
pub const VERBOSE_LIST_CAP: usize = 500;

/// Pod fields the status needs.
pub const POD_FIELDS: &[&str] = &[
    "/metadata/name",
    "/metadata/labels",
    "/spec/nodeName",
    "/status/phase",
    "/status/containerStatuses",
];
/// Node fields the status needs (labels are added when a nodeSelector is set).
pub const NODE_FIELDS: &[&str] = &[
    "/metadata/name",
    "/spec/taints",
    "/spec/unschedulable",
    "/status/conditions",
    "/status/nodeInfo/kernelVersion",
];
/// PodMetrics fields.
pub const METRICS_FIELDS: &[&str] = &["/metadata/name", "/containers"];

/// Taints the DaemonSet controller tolerates on its own.
const DAEMONSET_TOLERATED: &[&str] = &[
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
    "node.kubernetes.io/disk-pressure",
    "node.kubernetes.io/memory-pressure",
    "node.kubernetes.io/pid-pressure",
    "node.kubernetes.io/unschedulable",
    "node.kubernetes.io/network-unavailable",
];

/// Pods running one image.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct ImageCount {
    /// Image (as the kubelet reports it).
    pub image: String,
    /// Pods running it.
    pub pods: u32,
}

/// A node without a running OBI pod.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct NodeReason {
    /// Node name.
    pub node: String,
    /// Why.
    pub reason: String,
}

/// Nodes without a running OBI pod.
#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq)]
pub struct NodesWithout {
    /// How many (exact).
    pub count: u32,
    /// Some of them (capped).
    pub nodes: Vec<NodeReason>,
}

/// A pod whose OBI container keeps failing.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct CrashLooping {
    /// Pod name.
    pub pod: String,
    /// Node.
    pub node: String,
    /// `CrashLoopBackOff`, `ImagePullBackOff`, `ErrImagePull`, ...
    pub reason: String,
    /// The kubelet's message, or how the container last ended.
    pub message: String,
    /// Restarts.
    pub restarts: u32,
}

/// CPU and memory of the OBI containers (metrics-server).
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Total CPU, millicores.
    pub cpu_millicores: u64,
    /// Total memory, bytes.
    pub memory_bytes: u64,
    /// Pods measured.
    pub pods: u32,
}

/// Result of `obi_k8s_status`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusOut {
    /// kubeconfig context.
    pub context: String,
    /// Namespace.
    pub namespace: String,
    /// Instance.
    pub instance: String,
    /// Whether obi-mcp deployed this instance.
    pub found: bool,
    /// `daemonset` or `sidecar`.
    pub mode: Option<String>,
    /// Pods wanted.
    pub desired: u32,
    /// Ready pods.
    pub ready: u32,
    /// Pods on the current revision.
    pub updated: u32,
    /// Available pods.
    pub available: u32,
    /// Pods per image.
    pub images: Vec<ImageCount>,
    /// Nodes without a running OBI pod (DaemonSet mode).
    pub nodes_without_obi: NodesWithout,
    /// Restarts of OBI containers, all pods.
    pub restarts: u64,
    /// Pods whose OBI container keeps failing (capped).
    pub crash_looping: Vec<CrashLooping>,
    /// How many pods are failing (exact).
    pub crash_looping_count: u32,
    /// Nodes in the cluster (DaemonSet mode).
    pub total_nodes: u32,
    /// OBI pods found.
    pub total_pods: u32,
    /// CPU and memory, when metrics-server answers.
    pub usage: Option<Usage>,
    /// `available` or `unavailable: <reason>`.
    pub metrics: String,
    /// One paragraph.
    pub summary: String,
}

/// What the summary is computed from.
pub struct Input<'a> {
    /// The DaemonSet or sidecar workload (its status and pod spec).
    pub workload: Option<&'a Value>,
    /// `true` for a sidecar.
    pub sidecar: bool,
    /// OBI pods (projected).
    pub pods: &'a [Value],
    /// Nodes (projected); empty for a sidecar.
    pub nodes: &'a [Value],
    /// PodMetrics items, or why they are unavailable.
    pub metrics: Result<&'a [Value], String>,
    /// Longer lists.
    pub verbose: bool,
}

/// Counts and lists, without the identifying fields.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Pods wanted.
    pub desired: u32,
    /// Ready.
    pub ready: u32,
    /// Updated.
    pub updated: u32,
    /// Available.
    pub available: u32,
    /// Images.
    pub images: Vec<ImageCount>,
    /// Nodes without OBI.
    pub nodes_without_obi: NodesWithout,
    /// Restarts.
    pub restarts: u64,
    /// Failing pods.
    pub crash_looping: Vec<CrashLooping>,
    /// Failing pods, exact.
    pub crash_looping_count: u32,
    /// Nodes.
    pub total_nodes: u32,
    /// Pods.
    pub total_pods: u32,
    /// Usage.
    pub usage: Option<Usage>,
    /// Metrics availability.
    pub metrics: String,
    /// Text.
    pub summary: String,
}

fn s<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn u(v: Option<&Value>, pointer: &str) -> u32 {
    v.and_then(|v| v.pointer(pointer))
        .and_then(Value::as_u64)
        .unwrap_or(0) as u32
}

/// The OBI container's status in a pod.
pub fn obi_container_status(pod: &Value) -> Option<&Value> {
    let statuses = pod.pointer("/status/containerStatuses")?.as_array()?;
    statuses
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(CONTAINER))
        .or_else(|| (statuses.len() == 1).then(|| &statuses[0]))
}

/// Waiting reasons that mean the container will not come up on its own.
pub const FAILING_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// Why a pod's OBI container is failing, if it is: (reason, message).
pub fn failing(pod: &Value) -> Option<(String, String)> {
    let c = obi_container_status(pod)?;
    let reason = s(c, "/state/waiting/reason")?;
    if !FAILING_REASONS.contains(&reason) {
        return None;
    }
    let mut message = s(c, "/state/waiting/message").unwrap_or("").to_string();
    if let Some(t) = c.pointer("/lastState/terminated") {
        let code = t.get("exitCode").and_then(Value::as_i64);
        let why = t.get("reason").and_then(Value::as_str).unwrap_or("");
        let last = match code {
            Some(code) => format!("last exit: code {code} {why}"),
            None => format!("last exit: {why}"),
        };
        message = if message.is_empty() {
            last.trim().to_string()
        } else {
            format!("{message}; {}", last.trim())
        };
    }
    Some((reason.to_string(), message))
}

fn pod_is_up(pod: &Value) -> bool {
    s(pod, "/status/phase") == Some("Running")
        && obi_container_status(pod)
            .and_then(|c| c.get("ready"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
}

fn pod_problem(pod: &Value) -> String {
    let name = s(pod, "/metadata/name").unwrap_or("?");
    if let Some((reason, message)) = failing(pod) {
        return format!("pod {name}: {reason} {message}").trim().to_string();
    }
    let c = obi_container_status(pod);
    if let Some(reason) = c.and_then(|c| s(c, "/state/waiting/reason")) {
        return format!("pod {name}: {reason}");
    }
    match s(pod, "/status/phase") {
        Some("Running") => format!("pod {name}: running but not ready"),
        Some(phase) => format!("pod {name}: {phase}"),
        None => format!("pod {name}: no status yet"),
    }
}

fn node_ready(node: &Value) -> bool {
    node.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// Whether a toleration tolerates a taint.
pub fn tolerates(toleration: &Value, taint: &Value) -> bool {
    let t = |k: &str| toleration.get(k).and_then(Value::as_str).unwrap_or("");
    let key = t("key");
    let exists = t("operator") == "Exists";
    let effect = t("effect");
    let taint_key = taint.get("key").and_then(Value::as_str).unwrap_or("");
    let taint_value = taint.get("value").and_then(Value::as_str).unwrap_or("");
    let taint_effect = taint.get("effect").and_then(Value::as_str).unwrap_or("");
    if !effect.is_empty() && effect != taint_effect {
        return false;
    }
    if key.is_empty() {
        return exists;
    }
    key == taint_key && (exists || t("value") == taint_value)
}

/// The taint keeping the DaemonSet's pods off a node, if any.
pub fn blocking_taint(node: &Value, tolerations: &[Value]) -> Option<String> {
    node.pointer("/spec/taints")?
        .as_array()?
        .iter()
        .filter(|taint| {
            let effect = taint.get("effect").and_then(Value::as_str).unwrap_or("");
            let key = taint.get("key").and_then(Value::as_str).unwrap_or("");
            (effect == "NoSchedule" || effect == "NoExecute") && !DAEMONSET_TOLERATED.contains(&key)
        })
        .find(|taint| !tolerations.iter().any(|t| tolerates(t, taint)))
        .map(|taint| {
            let key = taint.get("key").and_then(Value::as_str).unwrap_or("");
            let effect = taint.get("effect").and_then(Value::as_str).unwrap_or("");
            match taint.get("value").and_then(Value::as_str) {
                Some(v) if !v.is_empty() => format!("{key}={v}:{effect}"),
                _ => format!("{key}:{effect}"),
            }
        })
}

fn selector_matches(node: &Value, selector: &serde_json::Map<String, Value>) -> bool {
    selector.iter().all(|(k, v)| {
        node.pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .is_some_and(|nv| nv == v)
    })
}

/// CPU quantity (`250m`, `1`, `123456789n`, `15u`) in millicores.
pub fn cpu_millicores(q: &str) -> Option<f64> {
    let q = q.trim();
    let (num, scale) = match q.chars().last()? {
        'n' => (&q[..q.len() - 1], 1e-6),
        'u' => (&q[..q.len() - 1], 1e-3),
        'm' => (&q[..q.len() - 1], 1.0),
        _ => (q, 1000.0),
    };
    num.parse::<f64>().ok().map(|n| n * scale)
}

/// Memory quantity (`123456Ki`, `256Mi`, `1G`, `1024`) in bytes.
pub fn memory_bytes(q: &str) -> Option<f64> {
    let q = q.trim();
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("m", 1e-3),
    ];
    for (suffix, factor) in SUFFIXES {
        if let Some(num) = q.strip_suffix(suffix) {
            return num.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    q.parse::<f64>().ok()
}

/// Sums the OBI containers' usage over PodMetrics items.
pub fn usage(metrics: &[Value]) -> Usage {
    let mut cpu = 0.0;
    let mut memory = 0.0;
    for item in metrics {
        let containers = item
            .get("containers")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let obi: Vec<&Value> = containers
            .iter()
            .filter(|c| c.get("name").and_then(Value::as_str) == Some(CONTAINER))
            .collect();
        let chosen: Vec<&Value> = if obi.is_empty() && containers.len() == 1 {
            containers.iter().collect()
        } else {
            obi
        };
        for c in chosen {
            cpu += c
                .pointer("/usage/cpu")
                .and_then(Value::as_str)
                .and_then(cpu_millicores)
                .unwrap_or(0.0);
            memory += c
                .pointer("/usage/memory")
                .and_then(Value::as_str)
                .and_then(memory_bytes)
                .unwrap_or(0.0);
        }
    }
    Usage {
        cpu_millicores: cpu.round() as u64,
        memory_bytes: memory.round() as u64,
        pods: metrics.len() as u32,
    }
}

/// Summarizes the instance.
pub fn summarize(input: &Input) -> Summary {
    let cap = if input.verbose {
        VERBOSE_LIST_CAP
    } else {
        LIST_CAP
    };
    let w = input.workload;
    let (desired, ready, updated, available) = if input.sidecar {
        (
            u(w, "/spec/replicas").max(u(w, "/status/replicas")),
            u(w, "/status/readyReplicas"),
            u(w, "/status/updatedReplicas"),
            u(w, "/status/availableReplicas"),
        )
    } else {
        (
            u(w, "/status/desiredNumberScheduled"),
            u(w, "/status/numberReady"),
            u(w, "/status/updatedNumberScheduled"),
            u(w, "/status/numberAvailable"),
        )
    };

    let mut images: BTreeMap<String, u32> = BTreeMap::new();
    let mut restarts = 0u64;
    let mut crash_looping = Vec::new();
    let mut crash_looping_count = 0u32;
    let mut by_node: HashMap<&str, Vec<&Value>> = HashMap::new();
    for pod in input.pods {
        if let Some(c) = obi_container_status(pod) {
            if let Some(image) = c.get("image").and_then(Value::as_str) {
                *images.entry(image.to_string()).or_default() += 1;
            }
            restarts += c.get("restartCount").and_then(Value::as_u64).unwrap_or(0);
        }
        if let Some((reason, message)) = failing(pod) {
            crash_looping_count += 1;
            if crash_looping.len() < cap {
                crash_looping.push(CrashLooping {
                    pod: s(pod, "/metadata/name").unwrap_or("").to_string(),
                    node: s(pod, "/spec/nodeName").unwrap_or("").to_string(),
                    reason,
                    message,
                    restarts: obi_container_status(pod)
                        .and_then(|c| c.get("restartCount"))
                        .and_then(Value::as_u64)
                        .unwrap_or(0) as u32,
                });
            }
        }
        if let Some(node) = s(pod, "/spec/nodeName") {
            by_node.entry(node).or_default().push(pod);
        }
    }
    let mut images: Vec<ImageCount> = images
        .into_iter()
        .map(|(image, pods)| ImageCount { image, pods })
        .collect();
    images.sort_by(|a, b| b.pods.cmp(&a.pods).then(a.image.cmp(&b.image)));
    images.truncate(cap);

    let pod_spec = w.and_then(|w| w.pointer("/spec/template/spec"));
    let tolerations: Vec<Value> = pod_spec
        .and_then(|p| p.get("tolerations"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let selector = pod_spec
        .and_then(|p| p.get("nodeSelector"))
        .and_then(Value::as_object);
    let mut without = NodesWithout::default();
    if !input.sidecar {
        for node in input.nodes {
            let name = s(node, "/metadata/name").unwrap_or("");
            let pods = by_node.get(name);
            if pods.is_some_and(|p| p.iter().any(|p| pod_is_up(p))) {
                continue;
            }
            without.count += 1;
            if without.nodes.len() >= cap {
                continue;
            }
            let reason = match pods.and_then(|p| p.first()) {
                Some(pod) => pod_problem(pod),
                None => {
                    if let Some(sel) = selector.filter(|sel| !selector_matches(node, sel)) {
                        format!(
                            "excluded by the nodeSelector {}",
                            Value::Object(sel.clone())
                        )
                    } else if let Some(taint) = blocking_taint(node, &tolerations) {
                        format!("taint {taint} is not tolerated")
                    } else if !node_ready(node) {
                        "node is not Ready".to_string()
                    } else {
                        "no OBI pod scheduled yet".to_string()
                    }
                }
            };
            without.nodes.push(NodeReason {
                node: name.to_string(),
                reason,
            });
        }
    }

    let (usage, metrics) = match &input.metrics {
        Ok(items) => (Some(usage(items)), "available".to_string()),
        Err(reason) => (None, format!("unavailable: {reason}")),
    };

    let total_pods = input.pods.len() as u32;
    let total_nodes = input.nodes.len() as u32;
    let mut summary = if input.sidecar {
        format!("{ready}/{desired} pods with the OBI sidecar ready, {updated} updated")
    } else {
        format!(
            "{ready}/{desired} OBI pods ready, {updated} updated, on {} of {total_nodes} nodes",
            total_nodes.saturating_sub(without.count)
        )
    };
    match images.as_slice() {
        [one] => summary.push_str(&format!("; image {}", one.image)),
        [] => {}
        many => summary.push_str(&format!(
            "; {} images running: {}",
            many.len(),
            many.iter()
                .map(|i| format!("{} ({})", i.image, i.pods))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
    summary.push_str(&format!("; {restarts} restarts"));
    if crash_looping_count > 0 {
        summary.push_str(&format!(
            "; {crash_looping_count} pods failing (e.g. {} {})",
            crash_looping[0].pod, crash_looping[0].reason
        ));
    }
    if !input.sidecar && without.count > 0 {
        summary.push_str(&format!("; {} nodes without OBI", without.count));
    }
    if let Some(u) = &usage {
        summary.push_str(&format!(
            "; using {}m CPU and {} MiB memory over {} pods",
            u.cpu_millicores,
            u.memory_bytes / (1024 * 1024),
            u.pods
        ));
    }
    summary.push('.');

    Summary {
        desired,
        ready,
        updated,
        available,
        images,
        nodes_without_obi: without,
        restarts,
        crash_looping,
        crash_looping_count,
        total_nodes,
        total_pods,
        usage,
        metrics,
        summary,
    }
}

#[cfg(test)]
mod tests;
