//! Following a rollout (DaemonSet, Deployment, StatefulSet) like `kubectl rollout status`,
//! failing fast when pods of the current revision cannot start.
//!
//! The current revision's pods: DaemonSet → label `pod-template-generation` equal to the
//! DaemonSet's `metadata.generation`; Deployment → label `pod-template-hash` of its newest
//! ReplicaSet (by `deployment.kubernetes.io/revision`); StatefulSet → label
//! `controller-revision-hash` equal to `status.updateRevision`.
//!
//! Nothing here spawns a task: dropping the future (a cancelled call) stops the polling.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::errors::KubeError;
use super::objects::{ApiRes, ListQuery, Resolved, strip};
use super::pool::ContextClient;
use super::request::Req;

/// Container waiting reasons that do not heal on their own.
pub const FAILING_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
];

/// Most problems reported.
pub const MAX_PROBLEMS: usize = 20;

const FIRST_POLL: Duration = Duration::from_millis(250);
const MAX_POLL: Duration = Duration::from_secs(2);

/// Workload kinds whose rollout can be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 StatefulSet.
    StatefulSet,
}

impl WorkloadKind {
    /// The kind for `kind`, if it has rollouts.
    pub fn parse(kind: &str) -> Option<WorkloadKind> {
        match kind {
            "DaemonSet" => Some(WorkloadKind::DaemonSet),
            "Deployment" => Some(WorkloadKind::Deployment),
            "StatefulSet" => Some(WorkloadKind::StatefulSet),
            _ => None,
        }
    }
}

/// A pod in the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Pod name.
    pub pod: String,
    /// Node.
    pub node: Option<String>,
    /// Container.
    pub container: Option<String>,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// Restarts.
    pub restarts: u32,
    /// Whether it will not heal on its own.
    pub failing: bool,
}

/// How a rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Complete.
    Complete,
    /// Failed.
    Failed,
    /// Timed out.
    TimedOut,
}

/// Counts of a rollout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Desired pods.
    pub desired: u32,
    /// Pods of the current revision.
    pub updated: u32,
    /// Ready pods.
    pub ready: u32,
    /// Available pods.
    pub available: u32,
}

/// The outcome of `wait-rollout`.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How it ended.
    pub end: End,
    /// Last counts.
    pub counts: Counts,
    /// Summary.
    pub message: String,
    /// Problems (failing ones when failed; pods not ready when timed out).
    pub problems: Vec<Problem>,
    /// Time spent.
    pub waited: Duration,
}

/// One look at the workload.
struct Observation {
    counts: Counts,
    complete: bool,
    /// A condition that says the rollout failed (Deployment `ProgressDeadlineExceeded`).
    failed_condition: Option<String>,
    problems: Vec<Problem>,
}

/// Counts of a workload with `spec.replicas` (Deployment, StatefulSet): unset replicas mean 1.
fn replica_counts(w: &Value) -> Counts {
    Counts {
        desired: w
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(0) as u32,
        updated: n(w, "/status/updatedReplicas"),
        ready: n(w, "/status/readyReplicas"),
        available: n(w, "/status/availableReplicas"),
    }
}

fn n(v: &Value, pointer: &str) -> u32 {
    v.pointer(pointer)
        .and_then(Value::as_i64)
        .map(|x| x.clamp(0, u32::MAX as i64) as u32)
        .unwrap_or(0)
}

/// A label selector string from a `LabelSelector` object.
pub fn selector_string(sel: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(m) = sel["matchLabels"].as_object() {
        for (k, v) in m {
            parts.push(format!("{k}={}", v.as_str().unwrap_or("")));
        }
    }
    if let Some(exprs) = sel["matchExpressions"].as_array() {
        for e in exprs {
            let key = e["key"].as_str().unwrap_or("");
            let values: Vec<&str> = e["values"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match e["operator"].as_str().unwrap_or("") {
                "In" => parts.push(format!("{key} in ({})", values.join(","))),
                "NotIn" => parts.push(format!("{key} notin ({})", values.join(","))),
                "Exists" => parts.push(key.to_string()),
                "DoesNotExist" => parts.push(format!("!{key}")),
                _ => {}
            }
        }
    }
    parts.join(",")
}

fn core_pods() -> Resolved {
    Resolved {
        group: String::new(),
        version: "v1".into(),
        res: ApiRes {
            kind: "Pod".into(),
            plural: "pods".into(),
            namespaced: true,
        },
    }
}

fn replica_sets() -> Resolved {
    Resolved {
        group: "apps".into(),
        version: "v1".into(),
        res: ApiRes {
            kind: "ReplicaSet".into(),
            plural: "replicasets".into(),
            namespaced: true,
        },
    }
}

/// Problems of one pod (containers waiting, or the pod pending unscheduled).
pub fn pod_problems(pod: &Value) -> Vec<Problem> {
    let name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let mut out = Vec::new();
    for list in ["/status/initContainerStatuses", "/status/containerStatuses"] {
        for cs in pod
            .pointer(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let ready = cs["ready"].as_bool().unwrap_or(false);
            let Some(waiting) = cs.pointer("/state/waiting") else {
                continue;
            };
            let reason = waiting["reason"].as_str().unwrap_or("Waiting").to_string();
            let failing = FAILING_REASONS.contains(&reason.as_str());
            if ready && !failing {
                continue;
            }
            let mut message = waiting["message"].as_str().unwrap_or("").to_string();
            if message.is_empty()
                && let Some(term) = cs.pointer("/lastState/terminated")
            {
                message = format!(
                    "last run exited with code {}{}",
                    term["exitCode"].as_i64().unwrap_or(0),
                    term["message"]
                        .as_str()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                );
            }
            out.push(Problem {
                pod: name.clone(),
                node: node.clone(),
                container: cs["name"].as_str().map(str::to_string),
                reason,
                message,
                restarts: cs["restartCount"]
                    .as_u64()
                    .unwrap_or(0)
                    .min(u32::MAX as u64) as u32,
                failing,
            });
        }
    }
    let phase = pod
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    if out.is_empty() && phase == "Pending" {
        let cond = pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c["type"] == "PodScheduled" && c["status"] == "False")
            });
        out.push(Problem {
            pod: name,
            node,
            container: None,
            reason: cond
                .and_then(|c| c["reason"].as_str())
                .unwrap_or("Pending")
                .to_string(),
            message: cond
                .and_then(|c| c["message"].as_str())
                .unwrap_or("")
                .to_string(),
            restarts: 0,
            failing: false,
        });
    }
    out
}

impl ContextClient {
    async fn observe(
        &self,
        kind: WorkloadKind,
        res: &Resolved,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Observation, KubeError> {
        let mut w = self
            .send_json(&Req::get(res.object(namespace, name)))
            .await?;
        strip(&mut w);
        let generation = w
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let observed = w
            .pointer("/status/observedGeneration")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let seen = observed >= generation;
        let mut failed_condition = None;
        let (counts, complete) = match kind {
            WorkloadKind::DaemonSet => {
                let c = Counts {
                    desired: n(&w, "/status/desiredNumberScheduled"),
                    updated: n(&w, "/status/updatedNumberScheduled"),
                    ready: n(&w, "/status/numberReady"),
                    available: n(&w, "/status/numberAvailable"),
                };
                let done = seen
                    && c.updated >= c.desired
                    && c.ready >= c.desired
                    && c.available >= c.desired;
                (c, done)
            }
            WorkloadKind::Deployment => {
                let c = replica_counts(&w);
                let total = n(&w, "/status/replicas");
                if let Some(cond) = w
                    .pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .and_then(|cs| {
                        cs.iter().find(|c| {
                            c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded"
                        })
                    })
                {
                    failed_condition = Some(format!(
                        "ProgressDeadlineExceeded: {}",
                        cond["message"].as_str().unwrap_or("")
                    ));
                }
                let done = seen
                    && c.updated >= c.desired
                    && total <= c.updated
                    && c.available >= c.updated
                    && c.ready >= c.desired;
                (c, done)
            }
            WorkloadKind::StatefulSet => {
                let c = replica_counts(&w);
                let done = seen && c.updated >= c.desired && c.ready >= c.desired;
                (c, done)
            }
        };
        if complete {
            return Ok(Observation {
                counts,
                complete,
                failed_condition,
                problems: Vec::new(),
            });
        }
        // Which pods belong to the current revision.
        let selector = selector_string(&w["spec"]["selector"]);
        let current: Box<dyn Fn(&Value) -> bool + Send> = match kind {
            WorkloadKind::DaemonSet => {
                let generation = generation.to_string();
                Box::new(move |p: &Value| {
                    p.pointer("/metadata/labels/pod-template-generation")
                        .and_then(Value::as_str)
                        .is_none_or(|g| g == generation)
                })
            }
            WorkloadKind::StatefulSet => {
                let revision = w
                    .pointer("/status/updateRevision")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                Box::new(move |p: &Value| match &revision {
                    None => true,
                    Some(r) => {
                        p.pointer("/metadata/labels/controller-revision-hash")
                            .and_then(Value::as_str)
                            == Some(r.as_str())
                    }
                })
            }
            WorkloadKind::Deployment => {
                let uid = w
                    .pointer("/metadata/uid")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let revision = w
                    .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let rss = self
                    .list_pages(
                        &replica_sets(),
                        &ListQuery {
                            namespace: namespace.map(str::to_string),
                            label_selector: Some(selector.clone()),
                            fields: vec![
                                "/metadata/labels".into(),
                                "/metadata/annotations".into(),
                                "/metadata/ownerReferences".into(),
                            ],
                            ..Default::default()
                        },
                    )
                    .await?
                    .items;
                let rev = |rs: &Value| {
                    rs.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                        .and_then(Value::as_str)
                        .and_then(|r| r.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                let owned: Vec<&Value> = rss
                    .iter()
                    .filter(|rs| {
                        rs.pointer("/metadata/ownerReferences")
                            .and_then(Value::as_array)
                            .is_some_and(|os| os.iter().any(|o| o["uid"] == uid))
                    })
                    .collect();
                let newest = owned
                    .iter()
                    .find(|rs| {
                        revision.is_some()
                            && rs
                                .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                                .and_then(Value::as_str)
                                == revision.as_deref()
                    })
                    .or_else(|| owned.iter().max_by_key(|rs| rev(rs)));
                let hash = newest
                    .and_then(|rs| rs.pointer("/metadata/labels/pod-template-hash"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                Box::new(move |p: &Value| match &hash {
                    None => false,
                    Some(h) => {
                        p.pointer("/metadata/labels/pod-template-hash")
                            .and_then(Value::as_str)
                            == Some(h.as_str())
                    }
                })
            }
        };
        let pods = self
            .list_pages(
                &core_pods(),
                &ListQuery {
                    namespace: namespace.map(str::to_string),
                    label_selector: Some(selector),
                    fields: vec![
                        "/metadata/name".into(),
                        "/metadata/labels".into(),
                        "/spec/nodeName".into(),
                        "/status/phase".into(),
                        "/status/conditions".into(),
                        "/status/initContainerStatuses".into(),
                        "/status/containerStatuses".into(),
                    ],
                    ..Default::default()
                },
            )
            .await?
            .items;
        let problems = pods
            .iter()
            .filter(|p| current(p))
            .flat_map(pod_problems)
            .collect();
        Ok(Observation {
            counts,
            complete,
            failed_condition,
            problems,
        })
    }

    /// Follows the rollout until complete, failed, or `timeout`; `progress` is called with the
    /// counts and a message each time the counts change.
    pub async fn wait_rollout<F, Fut>(
        &self,
        kind: WorkloadKind,
        res: &Resolved,
        namespace: Option<&str>,
        name: &str,
        timeout: Duration,
        mut progress: F,
    ) -> Result<Outcome, KubeError>
    where
        F: FnMut(Counts, String) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let started = Instant::now();
        let deadline = started + timeout;
        let mut last: Option<Counts> = None;
        let mut interval = FIRST_POLL;
        let mut last_seen: Option<Observation> = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let observed = match tokio::time::timeout(
                left,
                self.observe(kind, res, namespace, name),
            )
            .await
            {
                Ok(Ok(o)) => Some(o),
                // Transient trouble while waiting: keep trying until the deadline.
                Ok(Err(e @ (KubeError::Timeout(_) | KubeError::Failed(_)))) => {
                    tracing::debug!(context = %self.context, error = %e, "rollout poll failed; retrying");
                    if last_seen.is_none() && Instant::now() >= deadline {
                        return Err(e);
                    }
                    None
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => None,
            };
            if let Some(o) = observed {
                let c = o.counts;
                if last != Some(c) {
                    last = Some(c);
                    interval = FIRST_POLL;
                    progress(
                        c,
                        format!(
                            "{name}: {}/{} updated, {} ready",
                            c.updated, c.desired, c.ready
                        ),
                    )
                    .await;
                } else {
                    interval = (interval * 3 / 2).min(MAX_POLL);
                }
                if o.complete {
                    return Ok(Outcome {
                        end: End::Complete,
                        counts: c,
                        message: format!(
                            "{name}: rollout complete: {}/{} updated, {} ready, {} available",
                            c.updated, c.desired, c.ready, c.available
                        ),
                        problems: Vec::new(),
                        waited: started.elapsed(),
                    });
                }
                let failing: Vec<Problem> =
                    o.problems.iter().filter(|p| p.failing).cloned().collect();
                if !failing.is_empty() || o.failed_condition.is_some() {
                    let summary = match failing.first() {
                        Some(p) => format!(
                            "{} pod(s) of the current revision cannot run ({} on pod {}{})",
                            failing.len(),
                            p.reason,
                            p.pod,
                            p.node
                                .as_ref()
                                .map(|n| format!(" on node {n}"))
                                .unwrap_or_default()
                        ),
                        None => o.failed_condition.clone().unwrap_or_default(),
                    };
                    return Ok(Outcome {
                        end: End::Failed,
                        counts: c,
                        message: format!(
                            "{name}: rollout failed: {summary}; {}/{} updated, {} ready",
                            c.updated, c.desired, c.ready
                        ),
                        problems: failing.into_iter().take(MAX_PROBLEMS).collect(),
                        waited: started.elapsed(),
                    });
                }
                last_seen = Some(o);
            }
            let now = Instant::now();
            if now >= deadline {
                let (c, problems) = last_seen
                    .map(|o| (o.counts, o.problems))
                    .unwrap_or_default();
                return Ok(Outcome {
                    end: End::TimedOut,
                    counts: c,
                    message: format!(
                        "{name}: rollout not complete after {:.1} s: {}/{} updated, {} ready",
                        timeout.as_secs_f64(),
                        c.updated,
                        c.desired,
                        c.ready
                    ),
                    problems: problems.into_iter().take(MAX_PROBLEMS).collect(),
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(interval.min(deadline - now)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_are_rendered_like_kubectl() {
        let s = selector_string(&json!({
            "matchLabels": {"app": "obi"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "x", "operator": "Exists"},
                {"key": "y", "operator": "DoesNotExist"}
            ]
        }));
        assert_eq!(s, "app=obi,tier in (a,b),x,!y");
    }

    #[test]
    fn crash_looping_container_is_a_failing_problem() {
        let pod = json!({
            "metadata": {"name": "obi-x"},
            "spec": {"nodeName": "node-1"},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "obi", "ready": false, "restartCount": 4,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}
            }]}
        });
        let p = pod_problems(&pod);
        assert_eq!(p.len(), 1);
        assert!(p[0].failing);
        assert_eq!(p[0].restarts, 4);
        assert_eq!(p[0].node.as_deref(), Some("node-1"));
        let pending = json!({"metadata": {"name": "p"}, "status": {"phase": "Pending"}});
        let p = pod_problems(&pending);
        assert_eq!((p[0].reason.as_str(), p[0].failing), ("Pending", false));
    }
}
