//! The cluster as the tools see it: a thin trait over the host's `kubernetes` import, bound to
//! one context, so the tools' logic runs natively in unit tests against a fake cluster.

use obi_toolset_sdk::HostError;
use obi_toolset_sdk::kubernetes::{
    self as k8s, AccessCheck, AccessDecision, ApplyOptions, ListRequest, ListResult, LogRequest,
    ObjectRef, PatchType, Propagation, RolloutStatus,
};
use serde_json::Value;

/// One cluster (a kubeconfig context).
pub trait Cluster {
    /// The context's name (the current context's name when none was given).
    fn context_name(&self) -> String;
    /// One object, or `NotFound`.
    fn get(&self, object: &ObjectRef) -> Result<Value, HostError>;
    /// The objects of one kind.
    fn list(&self, request: &ListRequest) -> Result<ListResult, HostError>;
    /// Server-side apply (field manager `obi-mcp`).
    fn apply(&self, object: &Value, options: ApplyOptions) -> Result<Value, HostError>;
    /// A merge patch.
    fn merge_patch(&self, object: &ObjectRef, patch: &Value) -> Result<Value, HostError>;
    /// Deletes one object; `false` when it did not exist.
    fn delete(&self, object: &ObjectRef, dry_run: bool) -> Result<bool, HostError>;
    /// Pod logs, one result per request.
    fn pod_logs(
        &self,
        requests: &[LogRequest],
        max_in_flight: u32,
    ) -> Vec<Result<String, HostError>>;
    /// Whether obi-mcp's identity may do something.
    fn access_review(&self, check: &AccessCheck) -> Result<AccessDecision, HostError>;
    /// Follows a rollout (the host reports progress).
    fn wait_rollout(
        &self,
        workload: &ObjectRef,
        timeout_ms: u64,
    ) -> Result<RolloutStatus, HostError>;
}

/// The cluster reached through the host.
#[derive(Debug, Clone)]
pub struct Host {
    context: Option<String>,
}

impl Host {
    /// The cluster of `context` (none: the kubeconfig's current context).
    pub fn new(context: Option<String>) -> Self {
        Host { context }
    }

    fn ctx(&self) -> Option<&str> {
        self.context.as_deref()
    }
}

impl Cluster for Host {
    fn context_name(&self) -> String {
        if let Some(c) = &self.context {
            return c.clone();
        }
        k8s::contexts()
            .ok()
            .and_then(|all| all.into_iter().find(|c| c.is_default))
            .map(|c| c.name)
            .unwrap_or_else(|| "(current)".to_string())
    }

    fn get(&self, object: &ObjectRef) -> Result<Value, HostError> {
        k8s::get(self.ctx(), object)
    }

    fn list(&self, request: &ListRequest) -> Result<ListResult, HostError> {
        k8s::list(self.ctx(), request)
    }

    fn apply(&self, object: &Value, options: ApplyOptions) -> Result<Value, HostError> {
        k8s::apply(self.ctx(), object, options)
    }

    fn merge_patch(&self, object: &ObjectRef, patch: &Value) -> Result<Value, HostError> {
        k8s::patch(self.ctx(), object, PatchType::Merge, patch, false)
    }

    fn delete(&self, object: &ObjectRef, dry_run: bool) -> Result<bool, HostError> {
        k8s::delete(self.ctx(), object, Propagation::Background, dry_run)
    }

    fn pod_logs(
        &self,
        requests: &[LogRequest],
        max_in_flight: u32,
    ) -> Vec<Result<String, HostError>> {
        k8s::pod_logs(self.ctx(), requests, max_in_flight)
    }

    fn access_review(&self, check: &AccessCheck) -> Result<AccessDecision, HostError> {
        k8s::access_review(self.ctx(), check)
    }

    fn wait_rollout(
        &self,
        workload: &ObjectRef,
        timeout_ms: u64,
    ) -> Result<RolloutStatus, HostError> {
        k8s::wait_rollout(self.ctx(), workload, timeout_ms)
    }
}

/// Whether a host error means the cluster could not be reached at all (as opposed to an API
/// answer such as not-found or forbidden).
pub fn is_unreachable(error: &HostError) -> bool {
    matches!(error, HostError::Timeout(_) | HostError::Failed(_))
}

/// Reference helpers for the kinds the toolset touches.
pub mod refs {
    use super::ObjectRef;

    /// A namespace.
    pub fn namespace(name: &str) -> ObjectRef {
        ObjectRef::cluster("v1", "Namespace", name)
    }

    /// A ConfigMap.
    pub fn config_map(namespace: &str, name: &str) -> ObjectRef {
        ObjectRef::namespaced("v1", "ConfigMap", namespace, name)
    }

    /// A DaemonSet.
    pub fn daemonset(namespace: &str, name: &str) -> ObjectRef {
        ObjectRef::namespaced("apps/v1", "DaemonSet", namespace, name)
    }

    /// A ServiceAccount.
    pub fn service_account(namespace: &str, name: &str) -> ObjectRef {
        ObjectRef::namespaced("v1", "ServiceAccount", namespace, name)
    }

    /// A ClusterRole.
    pub fn cluster_role(name: &str) -> ObjectRef {
        ObjectRef::cluster("rbac.authorization.k8s.io/v1", "ClusterRole", name)
    }

    /// A ClusterRoleBinding.
    pub fn cluster_role_binding(name: &str) -> ObjectRef {
        ObjectRef::cluster("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", name)
    }

    /// A Deployment or StatefulSet.
    pub fn workload(namespace: &str, kind: &str, name: &str) -> ObjectRef {
        ObjectRef::namespaced("apps/v1", kind, namespace, name)
    }
}

#[cfg(test)]
pub mod fake {
    //! An in-memory cluster for unit tests: objects by reference, apply replaces (or creates),
    //! scripted rollouts and logs, and a journal of the mutating calls.

    use std::cell::RefCell;
    use std::collections::{BTreeMap, VecDeque};

    use super::*;
    use obi_toolset_sdk::kubernetes::{RolloutState, RolloutStatus};

    /// The fake.
    #[derive(Default)]
    pub struct Fake {
        /// Stored objects.
        pub objects: RefCell<BTreeMap<ObjectRef, Value>>,
        /// Mutating calls, as `verb kind/name`.
        pub journal: RefCell<Vec<String>>,
        /// Results of the next `wait_rollout` calls (complete when empty).
        pub rollouts: RefCell<VecDeque<RolloutStatus>>,
        /// Logs by pod name (`previous` logs under `<pod>/previous`).
        pub logs: RefCell<BTreeMap<String, Result<String, HostError>>>,
        /// Every call fails with this error (an unreachable cluster).
        pub down: Option<HostError>,
        /// Kinds whose reads are denied.
        pub denied_kinds: Vec<String>,
        /// Resource versions handed out.
        pub counter: RefCell<u64>,
    }

    impl Fake {
        /// An empty, reachable cluster.
        pub fn new() -> Self {
            Self::default()
        }

        /// Stores an object as if it existed.
        pub fn put(&self, object: Value) {
            let r = ObjectRef::of(&object).expect("object has a reference");
            self.objects.borrow_mut().insert(r, object);
        }

        /// The stored object, if any.
        pub fn stored(&self, r: &ObjectRef) -> Option<Value> {
            self.objects.borrow().get(r).cloned()
        }

        /// A rollout result for the next wait.
        pub fn rollout(&self, state: RolloutState, problems: Vec<k8s::PodProblem>) {
            self.rollouts.borrow_mut().push_back(RolloutStatus {
                state,
                desired: 3,
                updated: if state == RolloutState::Complete {
                    3
                } else {
                    1
                },
                ready: if state == RolloutState::Complete {
                    3
                } else {
                    2
                },
                available: 2,
                message: format!("rollout {}", state.as_str()),
                problems,
                waited_ms: 10,
            });
        }

        fn check(&self) -> Result<(), HostError> {
            match &self.down {
                Some(e) => Err(e.clone()),
                None => Ok(()),
            }
        }

        fn next_version(&self) -> String {
            let mut c = self.counter.borrow_mut();
            *c += 1;
            c.to_string()
        }
    }

    fn matches_selector(object: &Value, selector: &str) -> bool {
        selector.split(',').all(|term| {
            let (k, v) = term.split_once('=').unwrap_or((term, ""));
            object
                .pointer("/metadata/labels")
                .and_then(|l| l.get(k))
                .and_then(Value::as_str)
                == Some(v)
        })
    }

    impl Cluster for Fake {
        fn context_name(&self) -> String {
            "test".into()
        }

        fn get(&self, object: &ObjectRef) -> Result<Value, HostError> {
            self.check()?;
            if self.denied_kinds.contains(&object.kind) {
                return Err(HostError::Denied(format!(
                    "kubernetes: get {} is not granted",
                    object.kind
                )));
            }
            self.stored(object).ok_or_else(|| {
                HostError::NotFound(format!("{} {:?} not found", object.kind, object.name))
            })
        }

        fn list(&self, request: &ListRequest) -> Result<ListResult, HostError> {
            self.check()?;
            if self.denied_kinds.contains(&request.kind) {
                return Err(HostError::Denied(format!(
                    "kubernetes: list {} is not granted",
                    request.kind
                )));
            }
            let items: Vec<Value> = self
                .objects
                .borrow()
                .iter()
                .filter(|(r, o)| {
                    r.kind == request.kind
                        && (request.namespace.is_none() || r.namespace == request.namespace)
                        && request
                            .label_selector
                            .as_deref()
                            .is_none_or(|s| matches_selector(o, s))
                })
                .map(|(_, o)| o.clone())
                .collect();
            Ok(ListResult {
                items,
                truncated: false,
                resource_version: "1".into(),
            })
        }

        fn apply(&self, object: &Value, options: ApplyOptions) -> Result<Value, HostError> {
            self.check()?;
            let r = ObjectRef::of(object)
                .ok_or_else(|| HostError::Invalid("object without a reference".into()))?;
            self.journal.borrow_mut().push(format!(
                "apply{} {}/{}",
                if options.dry_run { " (dry run)" } else { "" },
                r.kind,
                r.name
            ));
            let mut stored = object.clone();
            if let Some(old) = self.stored(&r) {
                if r.kind == "Deployment" || r.kind == "StatefulSet" {
                    // a sidecar apply: keep the app's fields, as server-side apply would
                    let mut merged = old.clone();
                    obi_config::merge_patch(&mut merged, object);
                    stored = merged;
                }
                stored["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
                if old == stored {
                    return Ok(old);
                }
            }
            stored["metadata"]["resourceVersion"] = self.next_version().into();
            if !options.dry_run {
                self.objects.borrow_mut().insert(r, stored.clone());
            }
            Ok(stored)
        }

        fn merge_patch(&self, object: &ObjectRef, patch: &Value) -> Result<Value, HostError> {
            self.check()?;
            self.journal
                .borrow_mut()
                .push(format!("patch {}/{}", object.kind, object.name));
            let mut stored = self.get(object)?;
            obi_config::merge_patch(&mut stored, patch);
            self.objects
                .borrow_mut()
                .insert(object.clone(), stored.clone());
            Ok(stored)
        }

        fn delete(&self, object: &ObjectRef, dry_run: bool) -> Result<bool, HostError> {
            self.check()?;
            self.journal.borrow_mut().push(format!(
                "delete{} {}/{}",
                if dry_run { " (dry run)" } else { "" },
                object.kind,
                object.name
            ));
            if dry_run {
                return Ok(self.stored(object).is_some());
            }
            Ok(self.objects.borrow_mut().remove(object).is_some())
        }

        fn pod_logs(
            &self,
            requests: &[LogRequest],
            _max_in_flight: u32,
        ) -> Vec<Result<String, HostError>> {
            requests
                .iter()
                .map(|r| {
                    let key = if r.previous {
                        format!("{}/previous", r.pod)
                    } else {
                        r.pod.clone()
                    };
                    self.logs
                        .borrow()
                        .get(&key)
                        .cloned()
                        .unwrap_or_else(|| Err(HostError::NotFound(format!("no logs for {key}"))))
                })
                .collect()
        }

        fn access_review(&self, _check: &AccessCheck) -> Result<AccessDecision, HostError> {
            self.check()?;
            Ok(AccessDecision {
                allowed: true,
                reason: None,
            })
        }

        fn wait_rollout(
            &self,
            workload: &ObjectRef,
            _timeout_ms: u64,
        ) -> Result<RolloutStatus, HostError> {
            self.check()?;
            self.journal
                .borrow_mut()
                .push(format!("wait {}/{}", workload.kind, workload.name));
            Ok(self
                .rollouts
                .borrow_mut()
                .pop_front()
                .unwrap_or(RolloutStatus {
                    state: RolloutState::Complete,
                    desired: 3,
                    updated: 3,
                    ready: 3,
                    available: 3,
                    message: "3 of 3 updated pods are ready".into(),
                    problems: Vec::new(),
                    waited_ms: 5,
                }))
        }
    }
}
