//! Controllers: DaemonSet, Deployment, ReplicaSet, StatefulSet, the scheduler, namespace service
//! accounts, and the kubelet pass; one loop woken by store changes and kubelet timers.

use crate::cluster::Sim;
use crate::resources::ids;
use crate::selectors::LabelSelector;
use crate::store::Obj;
use crate::util::{self, get_str};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Runs the controllers until shutdown.
pub async fn run(sim: Arc<Sim>) {
    let mut shutdown = sim.shutdown.clone();
    loop {
        let notified = sim.store.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let next = reconcile(&sim);
        let wake = next
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1))
            .min(Instant::now() + Duration::from_secs(1));
        tokio::select! {
            _ = &mut notified => tokio::time::sleep(sim.timings().controller_debounce).await,
            _ = tokio::time::sleep_until(wake) => {}
            _ = shutdown.changed() => return,
        }
    }
}

fn reconcile(sim: &Sim) -> Option<Instant> {
    let ns_next = namespaces(sim);
    deployments(sim);
    replicasets(sim);
    daemonsets(sim);
    statefulsets(sim);
    schedule(sim);
    let kubelet_next = crate::kubelet::sync(sim);
    match (ns_next, kubelet_next) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn namespaces(sim: &Sim) -> Option<Instant> {
    let (nss, _) = sim.store.list(ids::namespaces(), None, |_| true);
    let mut next = None;
    for ns in nss {
        let n = ns.idx.name.as_str();
        if ns.value().pointer("/metadata/deletionTimestamp").is_some() {
            let deleted = *sim
                .ns_deleted
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(n.to_string())
                .or_insert_with(Instant::now);
            let due = deleted + sim.timings().namespace_finalize;
            if due > Instant::now() {
                next = Some(next.map_or(due, |x: Instant| x.min(due)));
            } else {
                let _ = sim.store.delete(ids::namespaces(), "", n, false);
                sim.ns_deleted
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(n);
            }
            continue;
        }
        if sim
            .store
            .get(ids::serviceaccounts(), n, "default")
            .is_none()
        {
            let _ = sim.store.create(ids::serviceaccounts(), json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": n}}));
        }
    }
    next
}

/// A stable hash of a pod template (the `controller-revision-hash` / `pod-template-hash`).
pub fn template_hash(template: &Value) -> String {
    let h = util::hash_str(0, &serde_json::to_string(template).unwrap_or_default());
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = h;
    (0..10)
        .map(|_| {
            let c = ALPHA[(x % ALPHA.len() as u64) as usize] as char;
            x /= ALPHA.len() as u64;
            c
        })
        .collect()
}

fn tolerates(tolerations: &[Value], taint: &Value) -> bool {
    let key = taint.get("key").and_then(Value::as_str).unwrap_or("");
    let value = taint.get("value").and_then(Value::as_str).unwrap_or("");
    let effect = taint.get("effect").and_then(Value::as_str).unwrap_or("");
    tolerations.iter().any(|t| {
        let te = t.get("effect").and_then(Value::as_str).unwrap_or("");
        if !te.is_empty() && te != effect {
            return false;
        }
        let tk = t.get("key").and_then(Value::as_str).unwrap_or("");
        let op = t.get("operator").and_then(Value::as_str).unwrap_or("Equal");
        if tk.is_empty() {
            return op == "Exists";
        }
        tk == key
            && (op == "Exists" || t.get("value").and_then(Value::as_str).unwrap_or("") == value)
    })
}

fn daemon_tolerations(spec: &Value) -> Vec<Value> {
    let mut t = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (k, e) in [
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ] {
        t.push(json!({"key": k, "operator": "Exists", "effect": e}));
    }
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        t.push(json!({"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"}));
    }
    t
}

/// Whether a pod spec may run on a node (selector, required affinity, taints, cordon).
pub fn fits(spec: &Value, node: &Value, daemon: bool) -> bool {
    let labels = node.pointer("/metadata/labels");
    if let Some(sel) = spec.get("nodeSelector").and_then(Value::as_object)
        && !sel
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
    {
        return false;
    }
    if let Some(terms) = spec.pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms").and_then(Value::as_array) {
        let name = util::name_of(node);
        let ok = terms.iter().any(|term| {
            let exprs_ok = term.get("matchExpressions").is_none_or(|e| LabelSelector::from_object(&json!({"matchExpressions": e})).matches_labels(labels));
            let fields_ok = term.get("matchFields").and_then(Value::as_array).is_none_or(|fs| {
                fs.iter().all(|f| {
                    let vals: Vec<&str> = f.get("values").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                    match f.get("operator").and_then(Value::as_str) {
                        Some("In") => vals.contains(&name),
                        Some("NotIn") => !vals.contains(&name),
                        _ => true,
                    }
                })
            });
            exprs_ok && fields_ok
        });
        if !ok {
            return false;
        }
    }
    let tols = if daemon {
        daemon_tolerations(spec)
    } else {
        spec.get("tolerations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut taints = node
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        taints.push(json!({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}));
    }
    let ready = node
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        });
    if !ready {
        taints.push(json!({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}));
    }
    taints
        .iter()
        .filter(|t| {
            matches!(
                t.get("effect").and_then(Value::as_str),
                Some("NoSchedule" | "NoExecute")
            )
        })
        .all(|t| tolerates(&tols, t))
}

fn owner_ref(kind: &str, owner: &Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": kind, "name": util::name_of(owner), "uid": get_str(owner, &["metadata", "uid"]).unwrap_or(""), "controller": true, "blockOwnerDeletion": true})
}

fn pod_from_template(
    sim: &Sim,
    owner: &Value,
    kind: &str,
    name: String,
    extra_labels: &[(&str, String)],
    node: Option<&str>,
) -> Value {
    let tpl = owner
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(json!({}));
    let mut labels = tpl
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or(json!({}));
    for (k, v) in extra_labels {
        labels[*k] = v.clone().into();
    }
    let mut spec = tpl.get("spec").cloned().unwrap_or(json!({}));
    if kind == "DaemonSet" {
        spec["tolerations"] = daemon_tolerations(&spec).into();
    }
    if let Some(n) = node {
        spec["nodeName"] = n.into();
    }
    let mut meta = json!({
        "name": name,
        "generateName": format!("{}-", util::name_of(owner)),
        "namespace": util::ns_of(owner),
        "labels": labels,
        "ownerReferences": [owner_ref(kind, owner)],
    });
    if let Some(a) = tpl.pointer("/metadata/annotations") {
        meta["annotations"] = a.clone();
    }
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec});
    crate::api::defaults(sim, ids::pods(), &mut pod);
    pod
}

fn int_or_percent(v: Option<&Value>, total: i64, round_up: bool, default: i64) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(default),
        Some(Value::String(s)) if s.ends_with('%') => {
            let p: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            if round_up {
                (p * total + 99) / 100
            } else {
                p * total / 100
            }
        }
        Some(Value::String(s)) => s.parse().unwrap_or(default),
        _ => default,
    }
}

fn update_status(sim: &Sim, id: usize, obj: &Value, status: Value) {
    let mut merged = obj.get("status").cloned().unwrap_or(json!({}));
    crate::patch::merge_patch(&mut merged, &status);
    if obj.get("status") == Some(&merged) {
        return;
    }
    sim.store
        .modify(id, util::ns_of(obj), util::name_of(obj), |v| {
            v["status"] = merged;
            true
        });
}

fn daemonsets(sim: &Sim) {
    let (dss, _) = sim.store.list(ids::daemonsets(), None, |_| true);
    if dss.is_empty() {
        return;
    }
    let (nodes, _) = sim.store.list(ids::nodes(), None, |_| true);
    for ds in dss {
        let d = &ds.value();
        let uid = get_str(d, &["metadata", "uid"]).unwrap_or("").to_string();
        let ns = util::ns_of(d).to_string();
        let generation = d
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let tpl = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = template_hash(&tpl);
        let spec = tpl.get("spec").cloned().unwrap_or(json!({}));
        let (pods, _) = sim
            .store
            .list(ids::pods(), Some(&ns), |p| p.idx.owners.contains(&uid));
        let mut by_node: HashMap<String, Vec<Arc<Obj>>> = HashMap::new();
        for p in &pods {
            by_node
                .entry(p.field("spec.nodeName").unwrap_or("").to_string())
                .or_default()
                .push(p.clone());
        }
        let eligible: Vec<&str> = nodes
            .iter()
            .filter(|n| fits(&spec, &n.value(), true))
            .map(|n| n.idx.name.as_str())
            .collect();
        let eligible_set: std::collections::HashSet<&str> = eligible.iter().copied().collect();
        // Pods on nodes that should not run one.
        for (node, ps) in &by_node {
            if !eligible_set.contains(node.as_str()) {
                for p in ps {
                    let _ = sim
                        .store
                        .delete(ids::pods(), &ns, p.idx.name.as_str(), false);
                }
            }
        }
        let rolling = d
            .pointer("/spec/updateStrategy/type")
            .and_then(Value::as_str)
            != Some("OnDelete");
        let desired = eligible.len() as i64;
        let max_unavailable = int_or_percent(
            d.pointer("/spec/updateStrategy/rollingUpdate/maxUnavailable"),
            desired,
            true,
            1,
        )
        .max(1);
        let mut unavailable = eligible
            .iter()
            .filter(|n| {
                by_node
                    .get(**n)
                    .is_none_or(|ps| !ps.iter().any(|p| p.idx.ready))
            })
            .count() as i64;
        let mut created = 0;
        for node in &eligible {
            let ps = by_node.get(*node).cloned().unwrap_or_default();
            if ps.is_empty() {
                let name = format!("{}-{}", util::name_of(d), sim.suffix());
                let pod = pod_from_template(
                    sim,
                    d,
                    "DaemonSet",
                    name,
                    &[
                        ("controller-revision-hash", hash.clone()),
                        ("pod-template-generation", generation.to_string()),
                    ],
                    Some(node),
                );
                if sim.store.create(ids::pods(), pod).is_ok() {
                    created += 1;
                }
                continue;
            }
            // Extra pods on one node: keep the newest-template one.
            for extra in ps.iter().skip(1) {
                let _ = sim
                    .store
                    .delete(ids::pods(), &ns, extra.idx.name.as_str(), false);
            }
            let p = &ps[0];
            let old = p.label("controller-revision-hash") != Some(hash.as_str());
            if rolling && old {
                let ready = p.idx.ready;
                if !ready {
                    let _ = sim.store.delete(ids::pods(), &ns, &p.idx.name, false);
                } else if unavailable < max_unavailable {
                    unavailable += 1;
                    let _ = sim.store.delete(ids::pods(), &ns, &p.idx.name, false);
                }
            }
        }
        let _ = created;
        let (pods, _) = sim
            .store
            .list(ids::pods(), Some(&ns), |p| p.idx.owners.contains(&uid));
        let on_eligible: Vec<&Arc<Obj>> = pods
            .iter()
            .filter(|p| eligible_set.contains(p.field("spec.nodeName").unwrap_or("")))
            .collect();
        let current = on_eligible.len() as i64;
        let ready = on_eligible.iter().filter(|p| p.idx.ready).count() as i64;
        let updated = on_eligible
            .iter()
            .filter(|p| {
                get_str(
                    &p.value(),
                    &["metadata", "labels", "controller-revision-hash"],
                ) == Some(hash.as_str())
            })
            .count() as i64;
        let misscheduled = pods.len() as i64 - current;
        update_status(
            sim,
            ids::daemonsets(),
            d,
            json!({
                "desiredNumberScheduled": desired,
                "currentNumberScheduled": current,
                "numberMisscheduled": misscheduled,
                "numberReady": ready,
                "updatedNumberScheduled": updated,
                "numberAvailable": ready,
                "numberUnavailable": (desired - ready).max(0),
                "observedGeneration": generation,
            }),
        );
    }
}

fn deployments(sim: &Sim) {
    let (deps, _) = sim.store.list(ids::deployments(), None, |_| true);
    for dep in deps {
        let d = &dep.value();
        let uid = get_str(d, &["metadata", "uid"]).unwrap_or("").to_string();
        let ns = util::ns_of(d).to_string();
        let name = util::name_of(d).to_string();
        let generation = d
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let desired = d
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let tpl = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = template_hash(&tpl);
        let (rss, _) = sim.store.list(ids::replicasets(), Some(&ns), |r| {
            r.idx.owners.contains(&uid)
        });
        let revision = |r: &Value| {
            r.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let max_rev = rss.iter().map(|r| revision(&r.value())).max().unwrap_or(0);
        let new_rs = rss
            .iter()
            .find(|r| {
                get_str(&r.value(), &["metadata", "labels", "pod-template-hash"])
                    == Some(hash.as_str())
            })
            .cloned();
        let paused = d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
        if paused {
            continue;
        }
        let recreate = d.pointer("/spec/strategy/type").and_then(Value::as_str) == Some("Recreate");
        let max_surge = int_or_percent(
            d.pointer("/spec/strategy/rollingUpdate/maxSurge"),
            desired,
            true,
            1,
        );
        let mut max_unavail = int_or_percent(
            d.pointer("/spec/strategy/rollingUpdate/maxUnavailable"),
            desired,
            false,
            0,
        );
        if max_surge == 0 && max_unavail == 0 {
            max_unavail = 1;
        }
        let olds: Vec<Arc<Obj>> = rss
            .iter()
            .filter(|r| new_rs.as_ref().is_none_or(|n| !Arc::ptr_eq(n, r)))
            .cloned()
            .collect();
        let old_running: i64 = olds
            .iter()
            .map(|r| {
                r.value()
                    .pointer("/status/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
            })
            .sum();
        let new_rs = match new_rs {
            Some(r) => r,
            None => {
                let mut labels = tpl
                    .pointer("/metadata/labels")
                    .cloned()
                    .unwrap_or(json!({}));
                labels["pod-template-hash"] = hash.clone().into();
                let mut t = tpl.clone();
                t["metadata"]["labels"] = labels.clone();
                let mut selector = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
                util::ensure_obj(&mut selector, &["matchLabels"])
                    .insert("pod-template-hash".into(), hash.clone().into());
                let initial = if olds.is_empty() || recreate && old_running == 0 {
                    desired
                } else {
                    0
                };
                let rs = json!({
                    "apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": format!("{name}-{hash}"), "namespace": ns, "labels": labels,
                                 "annotations": {"deployment.kubernetes.io/revision": (max_rev + 1).to_string(), "deployment.kubernetes.io/desired-replicas": desired.to_string(), "deployment.kubernetes.io/max-replicas": (desired + max_surge).to_string()},
                                 "ownerReferences": [owner_ref("Deployment", d)]},
                    "spec": {"replicas": initial, "selector": selector, "template": t},
                });
                let mut rs = rs;
                crate::api::defaults(sim, ids::replicasets(), &mut rs);
                match sim.store.create(ids::replicasets(), rs) {
                    Ok(o) => o,
                    Err(_) => continue,
                }
            }
        };
        let set_replicas = |rs: &Value, n: i64| {
            if rs.pointer("/spec/replicas").and_then(Value::as_i64) != Some(n) {
                sim.store
                    .modify(ids::replicasets(), &ns, util::name_of(rs), |v| {
                        v["spec"]["replicas"] = n.into();
                        true
                    });
            }
        };
        let new_spec = new_rs
            .value()
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let total: i64 = rss
            .iter()
            .filter(|r| !Arc::ptr_eq(r, &new_rs))
            .map(|r| {
                r.value()
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
            })
            .sum::<i64>()
            + new_spec;
        let available = |r: &Value| {
            r.pointer("/status/availableReplicas")
                .and_then(Value::as_i64)
                .unwrap_or(0)
        };
        if recreate {
            for o in &olds {
                set_replicas(&o.value(), 0);
            }
            if old_running == 0 {
                set_replicas(&new_rs.value(), desired);
            }
        } else {
            // Scale up the new ReplicaSet within maxSurge.
            let allowed = desired + max_surge - total;
            let target = if new_spec > desired {
                desired
            } else {
                (new_spec + allowed.max(0)).min(desired)
            };
            set_replicas(&new_rs.value(), target);
            // Scale down old ReplicaSets within maxUnavailable.
            let all_available: i64 = rss.iter().map(|r| available(&r.value())).sum();
            let mut can_remove = (all_available - (desired - max_unavail)).max(0);
            for o in &olds {
                let cur = o
                    .value()
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let unhealthy = (cur - available(&o.value())).max(0);
                let remove = (unhealthy + can_remove).min(cur);
                can_remove -= (remove - unhealthy).max(0);
                set_replicas(&o.value(), cur - remove);
            }
        }
        // Status.
        let (rss, _) = sim.store.list(ids::replicasets(), Some(&ns), |r| {
            r.idx.owners.contains(&uid)
        });
        let st = |r: &Value, f: &str| {
            r.pointer(&format!("/status/{f}"))
                .and_then(Value::as_i64)
                .unwrap_or(0)
        };
        let replicas: i64 = rss.iter().map(|r| st(&r.value(), "replicas")).sum();
        let ready: i64 = rss.iter().map(|r| st(&r.value(), "readyReplicas")).sum();
        let avail: i64 = rss
            .iter()
            .map(|r| st(&r.value(), "availableReplicas"))
            .sum();
        let new_cur = rss.iter().find(|r| {
            get_str(&r.value(), &["metadata", "labels", "pod-template-hash"]) == Some(hash.as_str())
        });
        let updated = new_cur.map(|r| st(&r.value(), "replicas")).unwrap_or(0);
        let new_name = new_cur
            .map(|r| util::name_of(&r.value()).to_string())
            .unwrap_or_default();
        let complete = updated == desired && replicas == desired && avail == desired;
        let now = util::rfc3339(SystemTime::now());
        let prev_prog = d
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Progressing"))
            .cloned();
        let counts_changed = st(d, "updatedReplicas") != updated
            || st(d, "availableReplicas") != avail
            || st(d, "readyReplicas") != ready;
        let last_update = if counts_changed || prev_prog.is_none() {
            now.clone()
        } else {
            prev_prog
                .as_ref()
                .and_then(|c| c["lastUpdateTime"].as_str())
                .unwrap_or(&now)
                .to_string()
        };
        let deadline = d
            .pointer("/spec/progressDeadlineSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(600);
        let stalled = !complete
            && util::parse_time(&last_update).is_some_and(|t| {
                SystemTime::now().duration_since(t).unwrap_or_default()
                    > Duration::from_secs(deadline)
            });
        let (pstatus, preason, pmsg) = if complete {
            (
                "True",
                "NewReplicaSetAvailable",
                format!("ReplicaSet \"{new_name}\" has successfully progressed."),
            )
        } else if stalled {
            (
                "False",
                "ProgressDeadlineExceeded",
                format!("ReplicaSet \"{new_name}\" has timed out progressing."),
            )
        } else {
            (
                "True",
                "ReplicaSetUpdated",
                format!("ReplicaSet \"{new_name}\" is progressing."),
            )
        };
        let transition = |typ: &str, status: &str| {
            d.pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| {
                    cs.iter()
                        .find(|c| c["type"] == typ && c["status"] == status)
                })
                .and_then(|c| c["lastTransitionTime"].as_str().map(String::from))
                .unwrap_or(now.clone())
        };
        let avail_ok = avail >= desired - max_unavail;
        let conditions = json!([
            {"type": "Available", "status": if avail_ok { "True" } else { "False" }, "reason": if avail_ok { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
             "message": if avail_ok { "Deployment has minimum availability." } else { "Deployment does not have minimum availability." },
             "lastUpdateTime": transition("Available", if avail_ok { "True" } else { "False" }), "lastTransitionTime": transition("Available", if avail_ok { "True" } else { "False" })},
            {"type": "Progressing", "status": pstatus, "reason": preason, "message": pmsg, "lastUpdateTime": last_update, "lastTransitionTime": transition("Progressing", pstatus)},
        ]);
        let mut status = json!({
            "observedGeneration": generation, "replicas": replicas, "updatedReplicas": updated, "readyReplicas": ready,
            "availableReplicas": avail, "unavailableReplicas": (desired - avail).max(0), "conditions": conditions,
        });
        if replicas == 0 {
            status["replicas"] = 0.into();
        }
        update_status(sim, ids::deployments(), d, status);
        let rev = new_cur.and_then(|r| {
            r.value()
                .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                .cloned()
        });
        if let Some(rev) = rev
            && d.pointer("/metadata/annotations/deployment.kubernetes.io~1revision") != Some(&rev)
        {
            sim.store.modify(ids::deployments(), &ns, &name, |v| {
                util::ensure_obj(v, &["metadata", "annotations"])
                    .insert("deployment.kubernetes.io/revision".into(), rev);
                true
            });
        }
    }
}

fn replicasets(sim: &Sim) {
    let (rss, _) = sim.store.list(ids::replicasets(), None, |_| true);
    for rs in rss {
        let r = &rs.value();
        let uid = get_str(r, &["metadata", "uid"]).unwrap_or("").to_string();
        let ns = util::ns_of(r).to_string();
        let want = r
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let (mut pods, _) = sim
            .store
            .list(ids::pods(), Some(&ns), |p| p.idx.owners.contains(&uid));
        let have = pods.len() as i64;
        if have < want {
            for _ in 0..(want - have) {
                let name = format!("{}-{}", util::name_of(r), sim.suffix());
                let pod = pod_from_template(sim, r, "ReplicaSet", name, &[], None);
                let _ = sim.store.create(ids::pods(), pod);
            }
        } else if have > want {
            pods.sort_by_key(|p| (p.field("spec.nodeName").is_some(), p.idx.ready));
            for p in pods.iter().take((have - want) as usize) {
                let _ = sim
                    .store
                    .delete(ids::pods(), &ns, p.idx.name.as_str(), false);
            }
        }
        let (pods, _) = sim
            .store
            .list(ids::pods(), Some(&ns), |p| p.idx.owners.contains(&uid));
        let ready = pods.iter().filter(|p| p.idx.ready).count() as i64;
        let generation = r
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        update_status(
            sim,
            ids::replicasets(),
            r,
            json!({"replicas": pods.len(), "fullyLabeledReplicas": pods.len(), "readyReplicas": ready, "availableReplicas": ready, "observedGeneration": generation}),
        );
    }
}

fn statefulsets(sim: &Sim) {
    let (sts, _) = sim.store.list(ids::statefulsets(), None, |_| true);
    for s in sts {
        let v = &s.value();
        let uid = get_str(v, &["metadata", "uid"]).unwrap_or("").to_string();
        let ns = util::ns_of(v).to_string();
        let name = util::name_of(v).to_string();
        let want = v
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let hash = format!(
            "{name}-{}",
            template_hash(v.pointer("/spec/template").unwrap_or(&Value::Null))
        );
        let (pods, _) = sim
            .store
            .list(ids::pods(), Some(&ns), |p| p.idx.owners.contains(&uid));
        let all_ready = pods.iter().all(|p| p.idx.ready);
        for i in 0..want {
            let pname = format!("{name}-{i}");
            match pods.iter().find(|p| p.idx.name.as_str() == pname) {
                None => {
                    let mut pod = pod_from_template(
                        sim,
                        v,
                        "StatefulSet",
                        pname.clone(),
                        &[
                            ("controller-revision-hash", hash.clone()),
                            ("statefulset.kubernetes.io/pod-name", pname.clone()),
                            ("apps.kubernetes.io/pod-index", i.to_string()),
                        ],
                        None,
                    );
                    if let Some(m) = pod["metadata"].as_object_mut() {
                        m.remove("generateName");
                    }
                    let _ = sim.store.create(ids::pods(), pod);
                }
                Some(p)
                    if all_ready
                        && get_str(
                            &p.value(),
                            &["metadata", "labels", "controller-revision-hash"],
                        ) != Some(hash.as_str()) =>
                {
                    let _ = sim.store.delete(ids::pods(), &ns, &pname, false);
                    break;
                }
                _ => {}
            }
        }
        for p in &pods {
            let idx: i64 = p
                .idx
                .name
                .as_str()
                .rsplit('-')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(-1);
            if idx >= want {
                let _ = sim
                    .store
                    .delete(ids::pods(), &ns, p.idx.name.as_str(), false);
            }
        }
        let (pods, _) = sim
            .store
            .list(ids::pods(), Some(&ns), |p| p.idx.owners.contains(&uid));
        let ready = pods.iter().filter(|p| p.idx.ready).count() as i64;
        let updated = pods
            .iter()
            .filter(|p| {
                get_str(
                    &p.value(),
                    &["metadata", "labels", "controller-revision-hash"],
                ) == Some(hash.as_str())
            })
            .count() as i64;
        let generation = v
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        update_status(
            sim,
            ids::statefulsets(),
            v,
            json!({"replicas": pods.len(), "readyReplicas": ready, "currentReplicas": updated, "updatedReplicas": updated, "availableReplicas": ready, "observedGeneration": generation, "currentRevision": hash, "updateRevision": hash}),
        );
    }
}

fn schedule(sim: &Sim) {
    let (pending, _) = sim
        .store
        .list(ids::pods(), None, |p| p.field("spec.nodeName").is_none());
    if pending.is_empty() {
        return;
    }
    let (nodes, _) = sim.store.list(ids::nodes(), None, |_| true);
    let mut load: HashMap<String, usize> = HashMap::new();
    for p in sim
        .store
        .list(ids::pods(), None, |p| p.field("spec.nodeName").is_some())
        .0
    {
        *load
            .entry(p.field("spec.nodeName").unwrap_or("").to_string())
            .or_default() += 1;
    }
    for p in pending {
        let spec = p.value().get("spec").cloned().unwrap_or(json!({}));
        let best = nodes
            .iter()
            .filter(|n| fits(&spec, &n.value(), false))
            .min_by_key(|n| {
                (
                    load.get(util::name_of(&n.value())).copied().unwrap_or(0),
                    util::name_of(&n.value()).to_string(),
                )
            });
        let now = util::rfc3339(SystemTime::now());
        match best {
            Some(n) => {
                let node = util::name_of(&n.value()).to_string();
                *load.entry(node.clone()).or_default() += 1;
                sim.store.modify(
                    ids::pods(),
                    p.idx.namespace.as_str(),
                    p.idx.name.as_str(),
                    |v| {
                        v["spec"]["nodeName"] = node.clone().into();
                        true
                    },
                );
            }
            None => {
                let msg = format!(
                    "0/{} nodes are available: {} node(s) didn't match Pod's node affinity/selector or had untolerated taints. preemption: 0/{} nodes are available: {} Preemption is not helpful for scheduling.",
                    nodes.len(),
                    nodes.len(),
                    nodes.len(),
                    nodes.len()
                );
                sim.store.modify(ids::pods(), p.idx.namespace.as_str(), p.idx.name.as_str(), |v| {
                    let cond = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg, "lastProbeTime": null, "lastTransitionTime": now}]);
                    if v.pointer("/status/conditions") == Some(&cond) || v.pointer("/status/conditions/0/reason").and_then(Value::as_str) == Some("Unschedulable") {
                        return false;
                    }
                    v["status"]["conditions"] = cond;
                    true
                });
            }
        }
    }
}
