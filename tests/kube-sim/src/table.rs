//! Server-side printing: `meta.k8s.io/v1` Table responses with kubectl's columns.

use crate::cluster::Sim;
use crate::resources::{ResId, def};
use crate::server::Req;
use crate::store::Obj;
use crate::util::{self, get, get_str};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::SystemTime;

fn age(v: &Value) -> String {
    match get_str(v, &["metadata", "creationTimestamp"]).and_then(util::parse_time) {
        Some(t) => util::human_duration(SystemTime::now().duration_since(t).unwrap_or_default()),
        None => "<unknown>".into(),
    }
}

fn col(name: &str, typ: &str, priority: u8) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": typ, "format": format, "description": "", "priority": priority})
}

fn num(v: &Value, path: &[&str]) -> i64 {
    get(v, path).and_then(Value::as_i64).unwrap_or(0)
}

fn containers_images(spec: Option<&Value>) -> (String, String) {
    let cs = spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = cs
        .iter()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let images: Vec<&str> = cs
        .iter()
        .filter_map(|c| c.get("image").and_then(Value::as_str))
        .collect();
    (names.join(","), images.join(","))
}

fn selector_string(sel: Option<&Value>) -> String {
    let Some(sel) = sel else {
        return "<none>".into();
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        parts.extend(
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))),
        );
    }
    if let Some(m) = sel
        .as_object()
        .filter(|m| !m.contains_key("matchLabels") && !m.contains_key("matchExpressions"))
    {
        parts.extend(
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))),
        );
    }
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(",")
    }
}

/// The pod STATUS column as kubectl prints it.
pub fn pod_status(v: &Value) -> String {
    let mut reason = get_str(v, &["status", "reason"])
        .or(get_str(v, &["status", "phase"]))
        .unwrap_or("Pending")
        .to_string();
    let mut running = false;
    if let Some(cs) = get(v, &["status", "containerStatuses"]).and_then(Value::as_array) {
        for c in cs.iter().rev() {
            if let Some(r) = c.pointer("/state/waiting/reason").and_then(Value::as_str) {
                reason = r.to_string();
            } else if let Some(t) = c.pointer("/state/terminated") {
                reason = match t.get("reason").and_then(Value::as_str) {
                    Some(r) => r.to_string(),
                    None => format!(
                        "ExitCode:{}",
                        t.get("exitCode").and_then(Value::as_i64).unwrap_or(0)
                    ),
                };
            } else if c.pointer("/state/running").is_some()
                && c.get("ready").and_then(Value::as_bool) == Some(true)
            {
                running = true;
            }
        }
        if reason == "Completed" && running {
            reason = "Running".into();
        }
    }
    if get(v, &["metadata", "deletionTimestamp"]).is_some() {
        reason = "Terminating".into();
    }
    reason
}

fn pod_row(v: &Value) -> Vec<Value> {
    let cs = get(v, &["status", "containerStatuses"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let total = get(v, &["spec", "containers"])
        .and_then(Value::as_array)
        .map(Vec::len)
        .unwrap_or(0);
    let ready = cs
        .iter()
        .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    let restarts: i64 = cs
        .iter()
        .map(|c| c.get("restartCount").and_then(Value::as_i64).unwrap_or(0))
        .sum();
    let last = cs
        .iter()
        .filter_map(|c| {
            c.pointer("/lastState/terminated/finishedAt")
                .and_then(Value::as_str)
                .and_then(util::parse_time)
        })
        .max();
    let restarts_s = match last {
        Some(t) if restarts > 0 => format!(
            "{restarts} ({} ago)",
            util::human_duration(SystemTime::now().duration_since(t).unwrap_or_default())
        ),
        _ => restarts.to_string(),
    };
    vec![
        util::name_of(v).into(),
        format!("{ready}/{total}").into(),
        pod_status(v).into(),
        restarts_s.into(),
        age(v).into(),
        get_str(v, &["status", "podIP"]).unwrap_or("<none>").into(),
        get_str(v, &["spec", "nodeName"]).unwrap_or("<none>").into(),
        get_str(v, &["status", "nominatedNodeName"])
            .unwrap_or("<none>")
            .into(),
        "<none>".into(),
    ]
}

fn node_row(v: &Value) -> Vec<Value> {
    let ready = get(v, &["status", "conditions"])
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .map(|c| c["status"] == "True");
    let mut status = match ready {
        Some(true) => "Ready".to_string(),
        Some(false) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    };
    if get(v, &["spec", "unschedulable"]).and_then(Value::as_bool) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    let mut roles: Vec<String> = get(v, &["metadata", "labels"])
        .and_then(Value::as_object)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/").map(String::from))
                .filter(|r| !r.is_empty())
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    let addr = |t: &str| {
        get(v, &["status", "addresses"])
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|x| x["type"] == t))
            .and_then(|x| x["address"].as_str())
            .unwrap_or("<none>")
            .to_string()
    };
    vec![
        util::name_of(v).into(),
        status.into(),
        if roles.is_empty() {
            "<none>".into()
        } else {
            roles.join(",").into()
        },
        age(v).into(),
        get_str(v, &["status", "nodeInfo", "kubeletVersion"])
            .unwrap_or("")
            .into(),
        addr("InternalIP").into(),
        addr("ExternalIP").into(),
        get_str(v, &["status", "nodeInfo", "osImage"])
            .unwrap_or("<unknown>")
            .into(),
        get_str(v, &["status", "nodeInfo", "kernelVersion"])
            .unwrap_or("<unknown>")
            .into(),
        get_str(v, &["status", "nodeInfo", "containerRuntimeVersion"])
            .unwrap_or("<unknown>")
            .into(),
    ]
}

fn columns_and_row(kind: &str, v: &Value) -> (Vec<Value>, Vec<Value>) {
    let name = || Value::from(util::name_of(v));
    match kind {
        "Pod" => (
            vec![
                col("Name", "string", 0),
                col("Ready", "string", 0),
                col("Status", "string", 0),
                col("Restarts", "string", 0),
                col("Age", "string", 0),
                col("IP", "string", 1),
                col("Node", "string", 1),
                col("Nominated Node", "string", 1),
                col("Readiness Gates", "string", 1),
            ],
            pod_row(v),
        ),
        "Node" => (
            vec![
                col("Name", "string", 0),
                col("Status", "string", 0),
                col("Roles", "string", 0),
                col("Age", "string", 0),
                col("Version", "string", 0),
                col("Internal-IP", "string", 1),
                col("External-IP", "string", 1),
                col("OS-Image", "string", 1),
                col("Kernel-Version", "string", 1),
                col("Container-Runtime", "string", 1),
            ],
            node_row(v),
        ),
        "DaemonSet" => {
            let (c, i) = containers_images(v.pointer("/spec/template/spec"));
            let ns = v
                .pointer("/spec/template/spec/nodeSelector")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, x)| format!("{k}={}", x.as_str().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .filter(|s| !s.is_empty())
                .unwrap_or("<none>".into());
            (
                vec![
                    col("Name", "string", 0),
                    col("Desired", "integer", 0),
                    col("Current", "integer", 0),
                    col("Ready", "integer", 0),
                    col("Up-to-date", "integer", 0),
                    col("Available", "integer", 0),
                    col("Node Selector", "string", 0),
                    col("Age", "string", 0),
                    col("Containers", "string", 1),
                    col("Images", "string", 1),
                    col("Selector", "string", 1),
                ],
                vec![
                    name(),
                    num(v, &["status", "desiredNumberScheduled"]).into(),
                    num(v, &["status", "currentNumberScheduled"]).into(),
                    num(v, &["status", "numberReady"]).into(),
                    num(v, &["status", "updatedNumberScheduled"]).into(),
                    num(v, &["status", "numberAvailable"]).into(),
                    ns.into(),
                    age(v).into(),
                    c.into(),
                    i.into(),
                    selector_string(v.pointer("/spec/selector")).into(),
                ],
            )
        }
        "Deployment" => {
            let (c, i) = containers_images(v.pointer("/spec/template/spec"));
            (
                vec![
                    col("Name", "string", 0),
                    col("Ready", "string", 0),
                    col("Up-to-date", "integer", 0),
                    col("Available", "integer", 0),
                    col("Age", "string", 0),
                    col("Containers", "string", 1),
                    col("Images", "string", 1),
                    col("Selector", "string", 1),
                ],
                vec![
                    name(),
                    format!(
                        "{}/{}",
                        num(v, &["status", "readyReplicas"]),
                        num(v, &["spec", "replicas"])
                    )
                    .into(),
                    num(v, &["status", "updatedReplicas"]).into(),
                    num(v, &["status", "availableReplicas"]).into(),
                    age(v).into(),
                    c.into(),
                    i.into(),
                    selector_string(v.pointer("/spec/selector")).into(),
                ],
            )
        }
        "ReplicaSet" => {
            let (c, i) = containers_images(v.pointer("/spec/template/spec"));
            (
                vec![
                    col("Name", "string", 0),
                    col("Desired", "integer", 0),
                    col("Current", "integer", 0),
                    col("Ready", "integer", 0),
                    col("Age", "string", 0),
                    col("Containers", "string", 1),
                    col("Images", "string", 1),
                    col("Selector", "string", 1),
                ],
                vec![
                    name(),
                    num(v, &["spec", "replicas"]).into(),
                    num(v, &["status", "replicas"]).into(),
                    num(v, &["status", "readyReplicas"]).into(),
                    age(v).into(),
                    c.into(),
                    i.into(),
                    selector_string(v.pointer("/spec/selector")).into(),
                ],
            )
        }
        "StatefulSet" => (
            vec![
                col("Name", "string", 0),
                col("Ready", "string", 0),
                col("Age", "string", 0),
            ],
            vec![
                name(),
                format!(
                    "{}/{}",
                    num(v, &["status", "readyReplicas"]),
                    num(v, &["spec", "replicas"])
                )
                .into(),
                age(v).into(),
            ],
        ),
        "ConfigMap" => (
            vec![
                col("Name", "string", 0),
                col("Data", "integer", 0),
                col("Age", "string", 0),
            ],
            vec![
                name(),
                (v.get("data")
                    .and_then(Value::as_object)
                    .map(|m| m.len())
                    .unwrap_or(0)
                    + v.get("binaryData")
                        .and_then(Value::as_object)
                        .map(|m| m.len())
                        .unwrap_or(0))
                .into(),
                age(v).into(),
            ],
        ),
        "Secret" => (
            vec![
                col("Name", "string", 0),
                col("Type", "string", 0),
                col("Data", "integer", 0),
                col("Age", "string", 0),
            ],
            vec![
                name(),
                get_str(v, &["type"]).unwrap_or("Opaque").into(),
                v.get("data")
                    .and_then(Value::as_object)
                    .map(|m| m.len())
                    .unwrap_or(0)
                    .into(),
                age(v).into(),
            ],
        ),
        "Namespace" => (
            vec![
                col("Name", "string", 0),
                col("Status", "string", 0),
                col("Age", "string", 0),
            ],
            vec![
                name(),
                get_str(v, &["status", "phase"]).unwrap_or("Active").into(),
                age(v).into(),
            ],
        ),
        "ServiceAccount" => (
            vec![
                col("Name", "string", 0),
                col("Secrets", "integer", 0),
                col("Age", "string", 0),
            ],
            vec![
                name(),
                v.get("secrets")
                    .and_then(Value::as_array)
                    .map(Vec::len)
                    .unwrap_or(0)
                    .into(),
                age(v).into(),
            ],
        ),
        "Service" => {
            let ports = v
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            format!(
                                "{}/{}",
                                p.get("port").and_then(Value::as_i64).unwrap_or(0),
                                p.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                });
            (
                vec![
                    col("Name", "string", 0),
                    col("Type", "string", 0),
                    col("Cluster-IP", "string", 0),
                    col("External-IP", "string", 0),
                    col("Port(s)", "string", 0),
                    col("Age", "string", 0),
                    col("Selector", "string", 1),
                ],
                vec![
                    name(),
                    get_str(v, &["spec", "type"]).unwrap_or("ClusterIP").into(),
                    get_str(v, &["spec", "clusterIP"])
                        .unwrap_or("<none>")
                        .into(),
                    "<none>".into(),
                    ports
                        .filter(|p| !p.is_empty())
                        .unwrap_or("<none>".into())
                        .into(),
                    age(v).into(),
                    selector_string(v.pointer("/spec/selector")).into(),
                ],
            )
        }
        "Event" => {
            let obj = format!(
                "{}/{}",
                get_str(v, &["involvedObject", "kind"])
                    .unwrap_or("")
                    .to_lowercase(),
                get_str(v, &["involvedObject", "name"]).unwrap_or("")
            );
            let last = get_str(v, &["lastTimestamp"])
                .and_then(util::parse_time)
                .map(|t| {
                    util::human_duration(SystemTime::now().duration_since(t).unwrap_or_default())
                })
                .unwrap_or_else(|| age(v));
            (
                vec![
                    col("Last Seen", "string", 0),
                    col("Type", "string", 0),
                    col("Reason", "string", 0),
                    col("Object", "string", 0),
                    col("Message", "string", 0),
                ],
                vec![
                    last.into(),
                    get_str(v, &["type"]).unwrap_or("").into(),
                    get_str(v, &["reason"]).unwrap_or("").into(),
                    obj.into(),
                    get_str(v, &["message"]).unwrap_or("").into(),
                ],
            )
        }
        "ClusterRole" | "Role" => (
            vec![col("Name", "string", 0), col("Created At", "date", 0)],
            vec![
                name(),
                get_str(v, &["metadata", "creationTimestamp"])
                    .unwrap_or("")
                    .into(),
            ],
        ),
        "ClusterRoleBinding" | "RoleBinding" => (
            vec![
                col("Name", "string", 0),
                col("Role", "string", 0),
                col("Age", "string", 0),
            ],
            vec![
                name(),
                format!(
                    "{}/{}",
                    get_str(v, &["roleRef", "kind"]).unwrap_or(""),
                    get_str(v, &["roleRef", "name"]).unwrap_or("")
                )
                .into(),
                age(v).into(),
            ],
        ),
        _ => (
            vec![col("Name", "string", 0), col("Age", "string", 0)],
            vec![name(), age(v).into()],
        ),
    }
}

/// Renders objects as a `Table`.
pub fn render(_sim: &Sim, id: ResId, objs: &[Arc<Obj>], rv: u64, r: &Req) -> Value {
    let d = def(id);
    let include = r.q("includeObject").unwrap_or("PartialObjectMetadata");
    let mut columns = columns_and_row(d.kind, &json!({})).0;
    let rows: Vec<Value> = objs
        .iter()
        .map(|o| {
            let value = o.value();
            let (c, cells) = columns_and_row(d.kind, &value);
            columns = c;
            let object = match include {
                "None" => Value::Null,
                "Object" => value.clone(),
                _ => {
                    let mut meta = value.get("metadata").cloned().unwrap_or(json!({}));
                    if let Some(m) = meta.as_object_mut() {
                        m.remove("managedFields");
                    }
                    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta})
                }
            };
            json!({"cells": cells, "object": object})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv.to_string()}, "columnDefinitions": columns, "rows": rows})
}
