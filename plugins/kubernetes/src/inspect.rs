//! The read-only tools: status, logs, diagnose and contexts. They gather facts from the cluster
//! with projected lists and hand them to the pure modules ([`crate::status`], [`crate::logs`],
//! [`crate::diagnose`]).

use std::collections::BTreeMap;

use obi_toolset_sdk::kubernetes::{self as k8s, ListRequest, LogRequest, ObjectRef};
use obi_toolset_sdk::prelude::*;
use serde_json::Value;

use crate::cluster::{Cluster, refs};
use crate::diagnose::{self, Facts, Finding, Lookup};
use crate::logs::{self, Filter, Level, LogLine, PodLog};
use crate::manifests::{self, CONTAINER, Instance, Mode, Options};
use crate::ops::{self, InstanceArgs, host_error_text, instance_of, settings};
use crate::status::{self, Input, StatusOut};

/// Most pods' logs fetched at a time.
pub const MAX_IN_FLIGHT: u32 = 64;

/// What obi-mcp deployed for an instance, as found in the cluster.
pub struct Found {
    /// Deploy options (from the ConfigMap; defaults when only the DaemonSet exists).
    pub options: Options,
    /// The ConfigMap's YAML, when it exists.
    pub config_text: Option<String>,
    /// The DaemonSet or the sidecar's workload.
    pub workload: Option<Value>,
}

/// Finds the instance: its ConfigMap (mode, options), else its DaemonSet. `Ok(None)` when
/// neither exists.
pub fn find(cluster: &dyn Cluster, inst: &Instance) -> Result<Option<Found>, HostError> {
    let cm = match cluster.get(&refs::config_map(&inst.namespace, &inst.config_map_name())) {
        Ok(cm) => Some(cm),
        Err(HostError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let options = cm.as_ref().and_then(manifests::options_of);
    let config_text = cm
        .as_ref()
        .and_then(manifests::config_text)
        .map(str::to_string);
    let workload_ref = match &options {
        Some(o) => ops::workload_ref(inst, o),
        None => refs::daemonset(&inst.namespace, &inst.workload_name()),
    };
    let workload = match cluster.get(&workload_ref) {
        Ok(w) => Some(w),
        Err(HostError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    if cm.is_none() && workload.is_none() {
        return Ok(None);
    }
    let options = options.unwrap_or_else(|| {
        let image = workload
            .as_ref()
            .and_then(|w| w.pointer("/spec/template/spec/containers/0/image"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        Options::daemonset(image)
    });
    Ok(Some(Found {
        options,
        config_text,
        workload,
    }))
}

/// The OBI pods of an instance (projected).
pub fn pods(
    cluster: &dyn Cluster,
    inst: &Instance,
    mode: Mode,
    fields: &[&str],
) -> Result<Vec<Value>, HostError> {
    let selector = match mode {
        Mode::Daemonset => inst.pod_selector(),
        Mode::Sidecar => inst.sidecar_pod_selector(),
    };
    let request = ListRequest::new("v1", "Pod")
        .namespace(inst.namespace.clone())
        .labels(selector)
        .fields(fields);
    Ok(cluster.list(&request)?.items)
}

// ---------------------------------------------------------------------------------------------
// status

/// Arguments of `obi_k8s_status`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StatusArgs {
    /// kubeconfig context (default: the current context).
    pub context: Option<String>,
    /// Namespace (default: `toolsets.kubernetes.default_namespace`, `obi-system`).
    pub namespace: Option<String>,
    /// Instance name (default `obi`).
    pub instance: Option<String>,
    /// Longer lists (up to 500 entries instead of 20).
    pub verbose: Option<bool>,
}

/// `obi_k8s_status`.
pub fn status(cluster: &dyn Cluster, args: StatusArgs) -> Result<Reply<StatusOut>, ToolError> {
    let inst = instance_of(
        &settings(),
        args.namespace.as_deref(),
        args.instance.as_deref(),
    )?;
    let context = cluster.context_name();
    let found = match find(cluster, &inst) {
        Ok(f) => f,
        Err(e) => {
            return Ok(Reply::error(host_error_text(
                "reading the instance failed",
                &e,
            )));
        }
    };
    let Some(found) = found else {
        let summary = format!(
            "No OBI instance {:?} deployed by obi-mcp in namespace {:?} of context {context:?}. \
             Deploy one with obi_k8s_deploy.",
            inst.name, inst.namespace
        );
        let out = StatusOut {
            context,
            namespace: inst.namespace.clone(),
            instance: inst.name.clone(),
            found: false,
            mode: None,
            desired: 0,
            ready: 0,
            updated: 0,
            available: 0,
            images: Vec::new(),
            nodes_without_obi: Default::default(),
            restarts: 0,
            crash_looping: Vec::new(),
            crash_looping_count: 0,
            total_nodes: 0,
            total_pods: 0,
            usage: None,
            metrics: "unavailable: not deployed".into(),
            summary: summary.clone(),
        };
        return Ok(Reply::ok(summary, out));
    };
    let mode = found.options.mode;
    let pods = match pods(cluster, &inst, mode, status::POD_FIELDS) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Reply::error(host_error_text(
                "listing the OBI pods failed",
                &e,
            )));
        }
    };
    let nodes = if mode == Mode::Daemonset {
        let with_labels = found
            .workload
            .as_ref()
            .and_then(|w| w.pointer("/spec/template/spec/nodeSelector"))
            .is_some();
        let mut fields: Vec<&str> = status::NODE_FIELDS.to_vec();
        if with_labels {
            fields.push("/metadata/labels");
        }
        match cluster.list(&ListRequest::new("v1", "Node").fields(&fields)) {
            Ok(r) => r.items,
            Err(e) => {
                return Ok(Reply::error(host_error_text(
                    "listing the nodes failed",
                    &e,
                )));
            }
        }
    } else {
        Vec::new()
    };
    let metrics_request = ListRequest::new("metrics.k8s.io/v1beta1", "PodMetrics")
        .namespace(inst.namespace.clone())
        .labels(match mode {
            Mode::Daemonset => inst.pod_selector(),
            Mode::Sidecar => inst.sidecar_pod_selector(),
        })
        .fields(status::METRICS_FIELDS);
    let metrics = cluster
        .list(&metrics_request)
        .map(|r| r.items)
        .map_err(|e| match e {
            HostError::NotFound(_) => {
                "the metrics API (metrics.k8s.io) is not served; install metrics-server".to_string()
            }
            e => e.message().to_string(),
        });
    let s = status::summarize(&Input {
        workload: found.workload.as_ref(),
        sidecar: mode == Mode::Sidecar,
        pods: &pods,
        nodes: &nodes,
        metrics: metrics.as_deref().map_err(Clone::clone),
        verbose: args.verbose.unwrap_or(false),
    });
    let mut text = format!(
        "OBI instance {:?} ({}) in namespace {:?} of context {context:?}: {}",
        inst.name,
        mode.as_str(),
        inst.namespace,
        s.summary
    );
    for n in &s.nodes_without_obi.nodes {
        text.push_str(&format!("\n  no OBI on {}: {}", n.node, n.reason));
    }
    for c in &s.crash_looping {
        text.push_str(&format!(
            "\n  failing: {} on {}: {} {} ({} restarts)",
            c.pod, c.node, c.reason, c.message, c.restarts
        ));
    }
    if found.workload.is_none() {
        text.push_str("\n  warning: the ConfigMap exists but the workload does not (undeployed with keepConfig?)");
    }
    let out = StatusOut {
        context,
        namespace: inst.namespace.clone(),
        instance: inst.name.clone(),
        found: true,
        mode: Some(mode.as_str().into()),
        desired: s.desired,
        ready: s.ready,
        updated: s.updated,
        available: s.available,
        images: s.images,
        nodes_without_obi: s.nodes_without_obi,
        restarts: s.restarts,
        crash_looping: s.crash_looping,
        crash_looping_count: s.crash_looping_count,
        total_nodes: s.total_nodes,
        total_pods: s.total_pods,
        usage: s.usage,
        metrics: s.metrics,
        summary: s.summary,
    };
    Ok(Reply::ok(text, out))
}

// ---------------------------------------------------------------------------------------------
// logs

/// Arguments of `obi_k8s_logs`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LogsArgs {
    /// kubeconfig context (default: the current context).
    pub context: Option<String>,
    /// Namespace (default: `toolsets.kubernetes.default_namespace`, `obi-system`).
    pub namespace: Option<String>,
    /// Instance name (default `obi`).
    pub instance: Option<String>,
    /// Only this pod.
    pub pod: Option<String>,
    /// Only the pod on this node.
    pub node: Option<String>,
    /// Lines per pod from the end (default 100).
    pub tail: Option<u32>,
    /// Only lines newer than this age: `30s`, `5m`, `1h`.
    pub since: Option<String>,
    /// This level or above: `DEBUG`, `INFO`, `WARN`, `ERROR`.
    pub level: Option<String>,
    /// Only lines containing this text (case-sensitive).
    pub grep: Option<String>,
    /// Most lines returned in total, the newest (default 1000).
    pub limit: Option<u32>,
    /// The previous (crashed) container's logs.
    pub previous: Option<bool>,
}

/// A pod whose logs could not be read.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PodFailed {
    /// Pod.
    pub pod: String,
    /// The host's message.
    pub error: String,
}

/// Result of `obi_k8s_logs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogsOut {
    /// Merged lines, oldest first.
    pub lines: Vec<LogLine>,
    /// Pods asked.
    pub pods_queried: u32,
    /// Pods whose logs could not be read.
    pub pods_failed: Vec<PodFailed>,
    /// More lines matched than `limit`, or a pod's output hit its byte budget.
    pub truncated: bool,
}

/// `obi_k8s_logs`.
pub fn logs(cluster: &dyn Cluster, args: LogsArgs) -> Result<Reply<LogsOut>, ToolError> {
    let inst = instance_of(
        &settings(),
        args.namespace.as_deref(),
        args.instance.as_deref(),
    )?;
    let min_level = match args
        .level
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        Some(l) => Some(Level::parse(l).ok_or_else(|| {
            ToolError::invalid_arguments(format!(
                "level {l:?} is not one of DEBUG, INFO, WARN, ERROR"
            ))
        })?),
        None => None,
    };
    let since_seconds = match args.since.as_deref() {
        Some(s) => Some(logs::parse_since(s).ok_or_else(|| {
            ToolError::invalid_arguments(format!(
                "since {s:?} is not an age such as 30s, 5m, 1h or 1h30m"
            ))
        })?),
        None => None,
    };
    let tail = args.tail.unwrap_or(100).clamp(1, 10_000);
    let limit = args.limit.unwrap_or(1000).clamp(1, 100_000) as usize;
    let mode = match find(cluster, &inst) {
        Ok(Some(f)) => f.options.mode,
        Ok(None) => Mode::Daemonset,
        Err(e) => {
            return Ok(Reply::error(host_error_text(
                "reading the instance failed",
                &e,
            )));
        }
    };
    let all = match pods(cluster, &inst, mode, &["/metadata/name", "/spec/nodeName"]) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Reply::error(host_error_text(
                "listing the OBI pods failed",
                &e,
            )));
        }
    };
    let targets: Vec<(String, String)> = all
        .iter()
        .filter_map(|p| {
            let name = p.pointer("/metadata/name")?.as_str()?.to_string();
            let node = p
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            Some((name, node))
        })
        .filter(|(name, node)| {
            args.pod.as_deref().is_none_or(|p| p == name)
                && args.node.as_deref().is_none_or(|n| n == node)
        })
        .collect();
    if targets.is_empty() {
        let what = match (&args.pod, &args.node) {
            (Some(p), _) => format!("pod {p:?} is not an OBI pod of instance {:?}", inst.name),
            (None, Some(n)) => format!("no OBI pod of instance {:?} runs on node {n:?}", inst.name),
            _ => format!(
                "no OBI pods of instance {:?} in namespace {:?} (deployed? see obi_k8s_status)",
                inst.name, inst.namespace
            ),
        };
        return Ok(Reply::error(what));
    }
    let limit_bytes = logs::per_pod_bytes(targets.len().min(logs::BATCH_PODS), tail);
    let mut failed = Vec::new();
    let mut byte_capped = false;
    let mut merger = logs::Merger::new(Filter {
        min_level,
        grep: args.grep.clone(),
        limit,
    });
    // Batch by batch, so memory is bounded by one batch however many pods there are.
    for batch in targets.chunks(logs::BATCH_PODS) {
        let requests: Vec<LogRequest> = batch
            .iter()
            .map(|(pod, _)| LogRequest {
                namespace: inst.namespace.clone(),
                pod: pod.clone(),
                container: Some(CONTAINER.into()),
                tail_lines: Some(tail),
                since_seconds,
                timestamps: true,
                previous: args.previous.unwrap_or(false),
                limit_bytes,
            })
            .collect();
        let results = cluster.pod_logs(&requests, MAX_IN_FLIGHT);
        let mut outputs: Vec<(usize, String)> = Vec::new();
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(text) => {
                    byte_capped |= text.len() as u64 >= u64::from(limit_bytes);
                    outputs.push((i, text));
                }
                Err(e) => failed.push(PodFailed {
                    pod: batch.get(i).map(|t| t.0.clone()).unwrap_or_default(),
                    error: e.message().to_string(),
                }),
            }
        }
        let pod_logs: Vec<PodLog> = outputs
            .iter()
            .map(|(i, text)| PodLog {
                pod: &batch[*i].0,
                node: &batch[*i].1,
                text,
            })
            .collect();
        merger.add(&pod_logs);
    }
    let merged = merger.finish();
    let truncated = merged.matched > merged.lines.len() || byte_capped;
    let mut text = logs::render(&merged.lines);
    if merged.lines.is_empty() {
        text.push_str("(no matching lines)\n");
    }
    text.push_str(&format!(
        "-- {} lines from {} pods{}{}",
        merged.lines.len(),
        targets.len(),
        if truncated {
            format!(
                " (newest {} of {} matching lines shown)",
                merged.lines.len(),
                merged.matched
            )
        } else {
            String::new()
        },
        if failed.is_empty() {
            String::new()
        } else {
            format!(
                "; {} pods failed: {}",
                failed.len(),
                failed
                    .iter()
                    .take(5)
                    .map(|f| format!("{} ({})", f.pod, f.error))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ));
    let out = LogsOut {
        lines: merged.lines,
        pods_queried: targets.len() as u32,
        pods_failed: failed,
        truncated,
    };
    Ok(Reply::ok(text, out).without_json_mirror())
}

// ---------------------------------------------------------------------------------------------
// diagnose

/// Result of `obi_k8s_diagnose`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DiagnoseOut {
    /// Findings, errors first.
    pub findings: Vec<Finding>,
    /// One line.
    pub summary: String,
}

fn lookup(cluster: &dyn Cluster, r: &ObjectRef, denied: &mut Vec<String>) -> Lookup {
    match cluster.get(r) {
        Ok(v) => Lookup::Found(v),
        Err(HostError::NotFound(_)) => Lookup::Missing,
        Err(e) => {
            if e.is_denied() {
                denied.push(e.message().to_string());
            }
            Lookup::Unknown(e.message().to_string())
        }
    }
}

/// The container's environment as OBI sees it (`$(VAR)` expanded, `valueFrom` as stand-ins).
pub fn container_env(container: &Value) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for e in container
        .get("env")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let Some(name) = e.get("name").and_then(Value::as_str) else {
            continue;
        };
        let value = match e.get("value").and_then(Value::as_str) {
            Some(v) => {
                let mut v = v.to_string();
                for (k, known) in &env {
                    v = v.replace(&format!("$({k})"), known);
                }
                v
            }
            None if name == "HOST_IP" => "10.0.0.1".to_string(),
            None => "set-at-runtime".to_string(),
        };
        env.insert(name.to_string(), value);
    }
    env
}

fn obi_container(workload: &Value) -> Option<&Value> {
    workload
        .pointer("/spec/template/spec/containers")?
        .as_array()?
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(CONTAINER))
}

/// Gathers the facts and diagnoses them.
pub fn diagnose(
    cluster: &dyn Cluster,
    args: InstanceArgs,
) -> Result<Reply<DiagnoseOut>, ToolError> {
    let inst = instance_of(
        &settings(),
        args.namespace.as_deref(),
        args.instance.as_deref(),
    )?;
    let mut denied = Vec::new();
    let found = match find(cluster, &inst) {
        Ok(f) => f,
        Err(e) if e.is_denied() => {
            denied.push(e.message().to_string());
            None
        }
        Err(e) => {
            return Ok(Reply::error(host_error_text(
                "reading the instance failed",
                &e,
            )));
        }
    };
    let namespace_obj = lookup(cluster, &refs::namespace(&inst.namespace), &mut denied);
    let nodes = match cluster.list(
        &ListRequest::new("v1", "Node")
            .fields(&["/metadata/name", "/status/nodeInfo/kernelVersion"]),
    ) {
        Ok(r) => r.items,
        Err(e) => {
            denied.push(format!("list nodes: {}", e.message()));
            Vec::new()
        }
    };
    let mut facts = Facts {
        namespace: inst.namespace.clone(),
        instance: inst.name.clone(),
        mode: found.as_ref().map(|f| f.options.mode),
        namespace_obj,
        nodes,
        cluster_role: Lookup::Missing,
        binding: Lookup::Missing,
        service_account: None,
        config_text: None,
        env: BTreeMap::new(),
        pod_spec: None,
        pods: Vec::new(),
        previous_errors: Vec::new(),
        recent_lines: Vec::new(),
        denied: Vec::new(),
    };
    if let Some(found) = &found {
        let options = &found.options;
        facts.cluster_role = lookup(
            cluster,
            &refs::cluster_role(&inst.cluster_name()),
            &mut denied,
        );
        facts.binding = lookup(
            cluster,
            &refs::cluster_role_binding(&inst.cluster_name()),
            &mut denied,
        );
        facts.service_account = Some(match options.mode {
            Mode::Daemonset => (
                (inst.namespace.clone(), inst.workload_name()),
                lookup(
                    cluster,
                    &refs::service_account(&inst.namespace, &inst.workload_name()),
                    &mut denied,
                ),
            ),
            Mode::Sidecar => {
                let account = found
                    .workload
                    .as_ref()
                    .map(manifests::pod_service_account)
                    .unwrap_or_else(|| "default".into());
                (
                    (inst.namespace.clone(), account.clone()),
                    lookup(
                        cluster,
                        &refs::service_account(&inst.namespace, &account),
                        &mut denied,
                    ),
                )
            }
        });
        facts.config_text = found.config_text.clone();
        if let Some(w) = &found.workload {
            facts.pod_spec = w.pointer("/spec/template/spec").cloned();
            facts.env = obi_container(w)
                .map(container_env)
                .unwrap_or_else(|| manifests::validation_env(options));
        } else {
            facts.env = manifests::validation_env(options);
        }
        match pods(cluster, &inst, options.mode, status::POD_FIELDS) {
            Ok(p) => facts.pods = p,
            Err(e) => denied.push(format!("list pods: {}", e.message())),
        }
        gather_logs(cluster, &inst, &mut facts);
    }
    facts.denied = denied;
    let findings = diagnose::diagnose(&facts);
    let summary = diagnose::summary(&findings);
    let mut text = format!(
        "Diagnosis of OBI instance {:?} in namespace {:?} (context {:?}): {summary}",
        inst.name,
        inst.namespace,
        cluster.context_name()
    );
    for f in &findings {
        text.push_str(&format!(
            "\n\n[{}] {} ({})\n{}\nFix: {}",
            f.severity, f.title, f.id, f.detail, f.fix
        ));
    }
    Ok(Reply::ok(text, DiagnoseOut { findings, summary }))
}

/// Previous-container ERROR lines of up to 3 crash-looping pods, and recent WARN/ERROR lines of
/// up to 5 other pods.
fn gather_logs(cluster: &dyn Cluster, inst: &Instance, facts: &mut Facts) {
    let name = |p: &Value| {
        p.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let crashing: Vec<String> = facts
        .pods
        .iter()
        .filter(|p| status::failing(p).is_some_and(|(r, _)| r == "CrashLoopBackOff"))
        .map(name)
        .take(3)
        .collect();
    let running: Vec<String> = facts
        .pods
        .iter()
        .filter(|p| p.pointer("/status/phase").and_then(Value::as_str) == Some("Running"))
        .map(name)
        .filter(|n| !crashing.contains(n))
        .take(5)
        .collect();
    let request = |pod: &String, previous: bool| LogRequest {
        namespace: inst.namespace.clone(),
        pod: pod.clone(),
        container: Some(CONTAINER.into()),
        tail_lines: Some(300),
        since_seconds: None,
        timestamps: false,
        previous,
        limit_bytes: 256 * 1024,
    };
    let mut requests: Vec<LogRequest> = crashing.iter().map(|p| request(p, true)).collect();
    requests.extend(running.iter().map(|p| request(p, false)));
    if requests.is_empty() {
        return;
    }
    let results = cluster.pod_logs(&requests, MAX_IN_FLIGHT);
    for (i, r) in results.into_iter().enumerate() {
        let Ok(text) = r else { continue };
        let pod = requests[i].pod.clone();
        if i < crashing.len() {
            let errors: Vec<String> = text
                .lines()
                .filter(|l| logs::line_level(l).is_some_and(|lv| lv >= Level::Error))
                .map(str::to_string)
                .collect();
            facts.previous_errors.push((pod, errors));
        } else {
            let lines: Vec<String> = text
                .lines()
                .filter(|l| logs::line_level(l).is_some_and(|lv| lv >= Level::Warn))
                .rev()
                .take(50)
                .map(str::to_string)
                .collect();
            facts.recent_lines.push((pod, lines));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// contexts

/// One kubeconfig context.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ContextOut {
    /// Context name.
    pub name: String,
    /// Cluster entry.
    pub cluster: String,
    /// API server URL.
    pub server: String,
    /// Namespace set in the context.
    pub namespace: Option<String>,
    /// The kubeconfig's current context.
    pub default: bool,
    /// The API server answered.
    pub reachable: bool,
    /// Kubernetes version, when reachable.
    pub version: Option<String>,
    /// Why it is unreachable.
    pub error: Option<String>,
}

/// Result of `obi_k8s_contexts`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ContextsOut {
    /// The contexts.
    pub contexts: Vec<ContextOut>,
}

/// `obi_k8s_contexts`: every context, probed one after the other (the host bounds each probe).
pub fn contexts(
    _ctx: &Context,
    _args: obi_toolset_sdk::NoArgs,
) -> Result<Reply<ContextsOut>, ToolError> {
    let all = match k8s::contexts() {
        Ok(c) => c,
        Err(e) => {
            return Ok(Reply::error(host_error_text(
                "reading the kubeconfig failed",
                &e,
            )));
        }
    };
    let mut out = Vec::new();
    let mut text = String::new();
    for c in all {
        let probe = k8s::probe(Some(&c.name));
        let (reachable, version, error) = match probe {
            Ok(s) => (true, Some(s.version), None),
            Err(e) => (false, None, Some(e.message().to_string())),
        };
        text.push_str(&format!(
            "{}{} ({}): {}\n",
            if c.is_default { "* " } else { "  " },
            c.name,
            c.server,
            match (&version, &error) {
                (Some(v), _) => format!("reachable, Kubernetes {v}"),
                (_, Some(e)) => format!("unreachable: {e}"),
                _ => String::new(),
            }
        ));
        out.push(ContextOut {
            name: c.name,
            cluster: c.cluster,
            server: c.server,
            namespace: c.namespace,
            default: c.is_default,
            reachable,
            version,
            error,
        });
    }
    if out.is_empty() {
        text.push_str("The kubeconfig has no contexts.");
    }
    Ok(Reply::ok(
        text.trim_end().to_string(),
        ContextsOut { contexts: out },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::fake::Fake;
    use crate::ops::{DeployArgs, deploy};
    use obi_toolset_sdk::kubernetes::RolloutState;
    use serde_json::json;

    fn deployed() -> Fake {
        let fake = Fake::new();
        deploy(&Context::detached(), &fake, DeployArgs::default()).unwrap();
        for (i, node) in ["n1", "n2"].iter().enumerate() {
            fake.put(
                json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node},
                "status": {"conditions": [{"type": "Ready", "status": "True"}],
                           "nodeInfo": {"kernelVersion": "6.1.0"}}}),
            );
            fake.put(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("obi-{i}"), "namespace": "obi-system",
                    "labels": {"app.kubernetes.io/name": "obi", "app.kubernetes.io/instance": "obi",
                               "app.kubernetes.io/managed-by": "obi-mcp"}},
                "spec": {"nodeName": node},
                "status": {"phase": "Running", "containerStatuses": [{"name": "obi", "ready": true,
                    "restartCount": 0, "image": "otel/ebpf-instrument:v0.12.1", "state": {"running": {}}}]}}));
        }
        fake.logs.borrow_mut().insert(
            "obi-0".into(),
            Ok("2026-01-27T17:00:01Z time=x level=INFO msg=\"a\"\n2026-01-27T17:00:03Z time=x level=ERROR msg=\"c\"\n".into()),
        );
        fake.logs.borrow_mut().insert(
            "obi-1".into(),
            Err(HostError::Failed(
                "container \"obi\" in pod \"obi-1\" is waiting to start".into(),
            )),
        );
        let _ = RolloutState::Complete;
        fake
    }

    #[test]
    fn status_of_a_missing_instance_is_not_an_error() {
        let fake = Fake::new();
        let reply = status(&fake, StatusArgs::default()).unwrap();
        assert!(!reply.is_error);
        let out = reply.data.unwrap();
        assert!(!out.found);
        assert!(out.summary.contains("obi_k8s_deploy"));
    }

    #[test]
    fn status_of_a_deployed_instance() {
        let fake = deployed();
        let out = status(&fake, StatusArgs::default()).unwrap().data.unwrap();
        assert!(out.found);
        assert_eq!(out.mode.as_deref(), Some("daemonset"));
        assert_eq!(out.total_pods, 2);
        assert_eq!(out.total_nodes, 2);
        assert_eq!(out.nodes_without_obi.count, 0);
        assert_eq!(out.images[0].pods, 2);
        assert_eq!(out.metrics, "available");
    }

    #[test]
    fn logs_are_partial_when_a_pod_fails() {
        let fake = deployed();
        let reply = logs(&fake, LogsArgs::default()).unwrap();
        assert!(!reply.is_error, "{}", reply.text);
        assert!(
            reply.text.contains("obi-0 time=x level=ERROR"),
            "{}",
            reply.text
        );
        let out = reply.data.unwrap();
        assert_eq!(out.pods_queried, 2);
        assert_eq!(out.lines.len(), 2);
        assert_eq!(out.pods_failed[0].pod, "obi-1");
        let out = logs(
            &fake,
            LogsArgs {
                level: Some("error".into()),
                ..LogsArgs::default()
            },
        )
        .unwrap()
        .data
        .unwrap();
        assert_eq!(out.lines.len(), 1);
        let reply = logs(
            &fake,
            LogsArgs {
                node: Some("n9".into()),
                ..LogsArgs::default()
            },
        )
        .unwrap();
        assert!(reply.is_error);
        assert!(matches!(
            logs(
                &fake,
                LogsArgs {
                    since: Some("soon".into()),
                    ..LogsArgs::default()
                }
            ),
            Err(ToolError::InvalidArguments(_))
        ));
    }

    #[test]
    fn diagnose_a_healthy_deployment_and_a_missing_one() {
        let fake = deployed();
        let out = diagnose(&fake, InstanceArgs::default())
            .unwrap()
            .data
            .unwrap();
        assert!(out.findings.is_empty(), "{:#?}", out.findings);
        let out = diagnose(
            &fake,
            InstanceArgs {
                instance: Some("other".into()),
                ..InstanceArgs::default()
            },
        )
        .unwrap()
        .data
        .unwrap();
        assert_eq!(out.findings[0].id, "not-deployed");
    }

    #[test]
    fn container_env_expands_kubernetes_references() {
        let c = json!({"env": [
            {"name": "HOST_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
            {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://$(HOST_IP):4318"}]});
        let env = container_env(&c);
        assert_eq!(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://10.0.0.1:4318");
    }
}
