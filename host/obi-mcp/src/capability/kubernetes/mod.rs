//! `kubernetes`: the host owns the clusters' clients and credentials; a toolset reads and writes
//! objects through these functions, within its grant.
//!
//! - **Clients**: one server-wide [`KubePool`] (made at start and reload, put in every
//!   toolset's shared data); the kubeconfig is read on the first call, one client per context is
//!   made on first use. Nothing contacts a cluster before a host function is called, so an
//!   unreachable cluster never delays start or `tools/list`.
//! - **Time**: each request (retries included) is bounded by
//!   `toolsets.kubernetes.request_timeout_secs` (default 10), each connection by
//!   `connect_timeout_secs` (default 5). 429 and 5xx answers are retried at most
//!   [`request::MAX_RETRIES`] times with exponential back-off (honouring `Retry-After` up to
//!   [`request::MAX_DELAY`]); kube's own retry layer is off.
//! - **Grant** (see [`grant`]): `true`, `false`, or rules of verbs × resources × namespaces ×
//!   contexts. Host functions map to verbs: `get` → get, `list` → list, `apply` → apply,
//!   `patch` → patch, `delete` → delete, `pod-logs` → get `pods/log`, `wait-rollout` → get on the
//!   workload and list `pods` (its ReplicaSets are read as part of the workload's status);
//!   `contexts`, `probe` and `access-review` only need the capability. With `--read-only`,
//!   apply, patch and delete are denied, dry runs included.
//! - **Errors**: the API's own reason and message: 404 → `not-found`, 409 → `conflict`,
//!   401/403 → `denied` (the cluster's RBAC answer), 400/422 → `invalid`, timeouts → `timeout`,
//!   the rest → `failed`. Credentials never appear in a result, an error or a log line.

pub mod errors;
pub mod grant;
pub mod objects;
pub mod pool;
pub mod request;
pub mod rollout;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use http::Method;
use serde_json::Value;

use super::CapabilityDef;
use crate::runtime::bindings::obi::toolset::kubernetes as wit;
use crate::runtime::bindings::obi::toolset::types::HostError;
use crate::runtime::{CallObserver, CallState, ToolsetShared};
use errors::KubeError;
use grant::{KubeGrant, ResourceName, Scope};
use objects::{ListQuery, Resolved, check_name, split_api_version, strip};
use pool::ContextClient;
pub use pool::KubePool;
use request::{Req, with_query};
use rollout::{End, WorkloadKind};

/// The capability name.
pub const NAME: &str = "kubernetes";

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "obi-mcp";

/// Largest log answer per pod (and the default).
pub const MAX_LOG_BYTES: u32 = 1024 * 1024;

/// Most concurrent log requests.
pub const MAX_IN_FLIGHT: u32 = 64;

/// The capability definition.
pub const CAPABILITY: CapabilityDef = CapabilityDef {
    name: NAME,
    summary: "read and write Kubernetes objects with the server's kubeconfig, within rules \
              (grant: true, or { rules: [{ verbs, resources, namespaces, cluster, contexts }] })",
    parse: grant::parse_grant,
};

/// The default grant of the first-party `kubernetes` toolset.
pub fn default_grant() -> Value {
    grant::default_grant()
}

/// A checked call: the toolset's grant, the resolved context and its client.
struct Call {
    shared: Arc<ToolsetShared>,
    grant: KubeGrant,
    client: Arc<ContextClient>,
}

impl Call {
    /// The resource-level check; `Err(denied)` names verb, resource, scope and context.
    fn check(
        &self,
        verb: &str,
        resource: &ResourceName<'_>,
        scope: Scope<'_>,
    ) -> Result<(), KubeError> {
        if self
            .grant
            .allows(verb, resource, scope, &self.client.context)
        {
            return Ok(());
        }
        Err(KubeError::Denied(
            self.shared
                .grants
                .denied(
                    NAME,
                    format!(
                        "{verb} {resource} {scope} (context \"{}\")",
                        self.client.context
                    ),
                    format!(
                        "no rule of its kubernetes grant allows it; add one under {}.grants.kubernetes.rules",
                        self.shared.grants.config_location()
                    ),
                )
                .to_string(),
        ))
    }

    /// Resolves one named object's kind by discovery and its namespace, checks both names
    /// and the grant for `verb` on it.
    async fn resolve_object(
        &self,
        verb: &str,
        object: &wit::ObjectRef,
    ) -> Result<(Resolved, Option<String>), KubeError> {
        check_name("name", &object.name)?;
        let res = self
            .client
            .resolve(&object.api_version, &object.kind)
            .await?;
        let ns = self.client.namespace_for(&res, object.namespace.as_deref());
        if let Some(ns) = &ns {
            check_name("namespace", ns)?;
        }
        self.check_resolved(verb, &res, ns.as_deref())?;
        Ok((res, ns))
    }

    fn check_resolved(
        &self,
        verb: &str,
        res: &Resolved,
        namespace: Option<&str>,
    ) -> Result<(), KubeError> {
        let name = ResourceName {
            plural: &res.res.plural,
            group: &res.group,
            subresource: None,
        };
        let scope = match (res.res.namespaced, namespace) {
            (false, _) => Scope::Cluster,
            (true, Some(ns)) => Scope::Namespace(ns),
            (true, None) => Scope::AllNamespaces,
        };
        self.check(verb, &name, scope)
    }
}

fn is_write(verb: &str) -> bool {
    grant::WRITE_VERBS.contains(&verb)
}

/// What the Kubernetes functions need of a call (owned, so their futures are `Send`).
struct Kube {
    shared: Arc<ToolsetShared>,
    observer: Arc<dyn CallObserver>,
}

impl CallState {
    fn kube(&self) -> Kube {
        Kube {
            shared: self.shared.clone(),
            observer: self.observer.clone(),
        }
    }
}

impl Kube {
    /// The capability check (first statement of every function), then, for writes, the
    /// read-only switch.
    fn kube_grant(
        &self,
        verb: &str,
        subject: impl FnOnce() -> String,
    ) -> Result<KubeGrant, KubeError> {
        let shared = &self.shared;
        let mut subject = Some(subject);
        let grant = shared
            .grants
            .check::<KubeGrant>(NAME, || (subject.take().expect("called once"))())
            .map_err(|d| KubeError::Denied(d.to_string()))?
            .clone();
        if is_write(verb) && shared.grants.read_only() {
            let subject = subject.map(|s| s()).unwrap_or_default();
            return Err(KubeError::Denied(
                shared
                    .grants
                    .denied(NAME, subject, "the server runs with --read-only".into())
                    .to_string(),
            ));
        }
        Ok(grant)
    }

    /// Resolves the context, checks that some rule may allow `verb` there, and gets its client.
    async fn kube_call(
        &self,
        grant: KubeGrant,
        verb: &str,
        what: &str,
        context: Option<&str>,
    ) -> Result<Call, KubeError> {
        let pool = self.shared.kube.clone();
        let name = pool.resolve_context(context)?;
        if !grant.may_allow(verb, &name) {
            return Err(KubeError::Denied(
                self.shared
                    .grants
                    .denied(
                        NAME,
                        format!("{verb} {what} (context \"{name}\")"),
                        format!(
                            "no rule of its kubernetes grant allows `{verb}` in this context; add one under {}.grants.kubernetes.rules",
                            self.shared.grants.config_location()
                        ),
                    )
                    .to_string(),
            ));
        }
        let client = pool.client(&name).await?;
        Ok(Call {
            shared: self.shared.clone(),
            grant,
            client,
        })
    }

    async fn k_get(
        &self,
        context: Option<String>,
        object: wit::ObjectRef,
    ) -> Result<String, KubeError> {
        let grant =
            self.kube_grant("get", || format!("get {} \"{}\"", object.kind, object.name))?;
        let call = self
            .kube_call(grant, "get", &object.kind, context.as_deref())
            .await?;
        let c = &call.client;
        let (res, ns) = call.resolve_object("get", &object).await?;
        let mut obj = c
            .send_json(&Req::get(res.object(ns.as_deref(), &object.name)))
            .await?;
        strip(&mut obj);
        Ok(obj.to_string())
    }

    async fn k_list(
        &self,
        context: Option<String>,
        r: wit::ListRequest,
    ) -> Result<wit::ListResult, KubeError> {
        let grant = self.kube_grant("list", || format!("list {}", r.kind))?;
        let call = self
            .kube_call(grant, "list", &r.kind, context.as_deref())
            .await?;
        let c = &call.client;
        let res = c.resolve(&r.api_version, &r.kind).await?;
        let ns = r.namespace.filter(|n| !n.is_empty() && res.res.namespaced);
        if let Some(ns) = &ns {
            check_name("namespace", ns)?;
        }
        call.check_resolved("list", &res, ns.as_deref())?;
        let listed = c
            .list_pages_text(
                &res,
                &ListQuery {
                    namespace: ns,
                    label_selector: r.label_selector,
                    field_selector: r.field_selector,
                    max_items: r.max_items,
                    fields: r.fields,
                },
            )
            .await?;
        Ok(wit::ListResult {
            items: listed.items,
            truncated: listed.truncated,
            resource_version: listed.resource_version,
        })
    }

    async fn k_apply(
        &self,
        context: Option<String>,
        object: String,
        options: wit::ApplyOptions,
    ) -> Result<String, KubeError> {
        let grant = self.kube_grant("apply", || {
            let v: Value = serde_json::from_str(&object).unwrap_or_default();
            format!(
                "apply {} \"{}\"",
                v["kind"].as_str().unwrap_or("object"),
                v.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            )
        })?;
        let mut obj: Value = serde_json::from_str(&object)
            .map_err(|e| KubeError::Invalid(format!("the object to apply is not JSON: {e}")))?;
        let kind = obj["kind"].as_str().unwrap_or("").to_string();
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let api_version = obj["apiVersion"].as_str().unwrap_or("").to_string();
        if api_version.is_empty() || kind.is_empty() || name.is_empty() {
            return Err(KubeError::Invalid(
                "the object to apply needs apiVersion, kind and metadata.name".into(),
            ));
        }
        let call = self
            .kube_call(grant, "apply", &kind, context.as_deref())
            .await?;
        check_name("name", &name)?;
        let c = &call.client;
        let res = c.resolve(&api_version, &kind).await?;
        let given = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_string);
        let ns = c.namespace_for(&res, given.as_deref());
        if let Some(ns) = &ns {
            check_name("namespace", ns)?;
            obj["metadata"]["namespace"] = Value::String(ns.clone());
        } else if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        call.check_resolved("apply", &res, ns.as_deref())?;
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
        let uri = |force: bool| {
            with_query(
                &res.object(ns.as_deref(), &name),
                &[
                    ("fieldManager", Some(FIELD_MANAGER.to_string())),
                    ("force", force.then(|| "true".to_string())),
                    ("dryRun", options.dry_run.then(|| "All".to_string())),
                ],
            )
        };
        let mut req = Req::with_body(
            Method::PATCH,
            uri(options.force),
            "application/apply-patch+yaml",
            obj.to_string().into_bytes(),
        );
        // Server-side apply is idempotent: a lost answer may be asked again.
        req.idempotent = true;
        let answer = match c.send_json(&req).await {
            Err(KubeError::Conflict(first)) => {
                // Once more with fresh state: whatever resourceVersion the object carried is
                // dropped, so only a real field-ownership conflict remains.
                tracing::debug!(context = %c.context, conflict = %first, "apply conflict; retrying once");
                if let Some(m) = obj["metadata"].as_object_mut() {
                    m.remove("resourceVersion");
                }
                req.body = obj.to_string().into_bytes();
                c.send_json(&req).await.map_err(|e| match e {
                    KubeError::Conflict(m) => KubeError::Conflict(format!(
                        "{m} (apply with force to take the fields over from the other manager)"
                    )),
                    other => other,
                })?
            }
            other => other?,
        };
        let mut answer = answer;
        strip(&mut answer);
        Ok(answer.to_string())
    }

    async fn k_patch(
        &self,
        context: Option<String>,
        object: wit::ObjectRef,
        patch_type: wit::PatchType,
        patch: String,
        dry_run: bool,
    ) -> Result<String, KubeError> {
        let grant = self.kube_grant("patch", || {
            format!("patch {} \"{}\"", object.kind, object.name)
        })?;
        let body: Value = serde_json::from_str(&patch)
            .map_err(|e| KubeError::Invalid(format!("the patch is not JSON: {e}")))?;
        let content_type = match patch_type {
            wit::PatchType::Merge => "application/merge-patch+json",
            wit::PatchType::Strategic => "application/strategic-merge-patch+json",
            wit::PatchType::Json => {
                if !body.is_array() {
                    return Err(KubeError::Invalid(
                        "a JSON patch (RFC 6902) is an array of operations".into(),
                    ));
                }
                "application/json-patch+json"
            }
        };
        if !matches!(patch_type, wit::PatchType::Json) && !body.is_object() {
            return Err(KubeError::Invalid(
                "a merge or strategic patch is a JSON object".into(),
            ));
        }
        let call = self
            .kube_call(grant, "patch", &object.kind, context.as_deref())
            .await?;
        let c = &call.client;
        let (res, ns) = call.resolve_object("patch", &object).await?;
        let uri = with_query(
            &res.object(ns.as_deref(), &object.name),
            &[
                ("fieldManager", Some(FIELD_MANAGER.to_string())),
                ("dryRun", dry_run.then(|| "All".to_string())),
            ],
        );
        let mut answer = c
            .send_json(&Req::with_body(
                Method::PATCH,
                uri,
                content_type,
                patch.into_bytes(),
            ))
            .await?;
        strip(&mut answer);
        Ok(answer.to_string())
    }

    async fn k_delete(
        &self,
        context: Option<String>,
        object: wit::ObjectRef,
        propagation: wit::Propagation,
        dry_run: bool,
    ) -> Result<bool, KubeError> {
        let grant = self.kube_grant("delete", || {
            format!("delete {} \"{}\"", object.kind, object.name)
        })?;
        let call = self
            .kube_call(grant, "delete", &object.kind, context.as_deref())
            .await?;
        let c = &call.client;
        let (res, ns) = call.resolve_object("delete", &object).await?;
        let policy = match propagation {
            wit::Propagation::Background => "Background",
            wit::Propagation::Foreground => "Foreground",
            wit::Propagation::Orphan => "Orphan",
        };
        let mut options = serde_json::json!({
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "propagationPolicy": policy,
        });
        if dry_run {
            options["dryRun"] = serde_json::json!(["All"]);
        }
        let uri = with_query(
            &res.object(ns.as_deref(), &object.name),
            &[("dryRun", dry_run.then(|| "All".to_string()))],
        );
        let mut req = Req::with_body(
            Method::DELETE,
            uri,
            "application/json",
            options.to_string().into_bytes(),
        );
        req.idempotent = true;
        match c.send(&req).await {
            Ok(_) => Ok(true),
            Err(KubeError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn k_pod_logs(
        &self,
        context: Option<String>,
        requests: Vec<wit::LogRequest>,
        max_in_flight: u32,
    ) -> Vec<Result<String, HostError>> {
        let count = requests.len();
        let everyone = |e: KubeError| {
            (0..count)
                .map(|_| Err(HostError::from(e.clone())))
                .collect()
        };
        let grant = match self.kube_grant("get", || "get pods/log".into()) {
            Ok(g) => g,
            Err(e) => return everyone(e),
        };
        let call = match self
            .kube_call(grant, "get", "pods/log", context.as_deref())
            .await
        {
            Ok(c) => Arc::new(c),
            Err(e) => return everyone(e),
        };
        let in_flight = max_in_flight.clamp(1, MAX_IN_FLIGHT) as usize;
        // Owned items and an owned `Call` per future: `buffered` keeps at most `in_flight` of
        // them running and yields the results in request order.
        let fetches = requests.into_iter().map(move |r| {
            let call = call.clone();
            async move { call.pod_log(&r).await.map_err(HostError::from) }
        });
        futures_util::stream::iter(fetches)
            .buffered(in_flight)
            .collect()
            .await
    }

    async fn k_access_review(
        &self,
        context: Option<String>,
        check: wit::AccessCheck,
    ) -> Result<wit::AccessDecision, KubeError> {
        let grant = self.kube_grant("access-review", || {
            format!("review access to {} {}", check.verb, check.resource)
        })?;
        let pool = self.shared.kube.clone();
        let name = pool.resolve_context(context.as_deref())?;
        drop(grant);
        let c = pool.client(&name).await?;
        let mut attrs = serde_json::json!({
            "verb": check.verb,
            "group": check.group,
            "resource": check.resource,
        });
        for (key, value) in [
            ("subresource", &check.subresource),
            ("namespace", &check.namespace),
            ("name", &check.name),
        ] {
            if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
                attrs[key] = Value::String(v.clone());
            }
        }
        let review = serde_json::json!({
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "spec": {"resourceAttributes": attrs},
        });
        let mut req = Req::with_body(
            Method::POST,
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews".into(),
            "application/json",
            review.to_string().into_bytes(),
        );
        req.idempotent = true;
        let answer = c.send_json(&req).await?;
        let reason = answer
            .pointer("/status/reason")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
            .or_else(|| {
                answer
                    .pointer("/status/evaluationError")
                    .and_then(Value::as_str)
            })
            .filter(|r| !r.is_empty())
            .map(str::to_string);
        Ok(wit::AccessDecision {
            allowed: answer
                .pointer("/status/allowed")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            reason,
        })
    }

    async fn k_wait_rollout(
        &self,
        context: Option<String>,
        workload: wit::ObjectRef,
        timeout_ms: u64,
    ) -> Result<wit::RolloutStatus, KubeError> {
        let grant = self.kube_grant("get", || {
            format!(
                "follow the rollout of {} \"{}\"",
                workload.kind, workload.name
            )
        })?;
        let Some(kind) = WorkloadKind::parse(&workload.kind) else {
            return Err(KubeError::Invalid(format!(
                "wait-rollout follows DaemonSet, Deployment and StatefulSet, not {}",
                workload.kind
            )));
        };
        let call = self
            .kube_call(grant, "get", &workload.kind, context.as_deref())
            .await?;
        check_name("name", &workload.name)?;
        let (group, _) = split_api_version(&workload.api_version)?;
        if group != "apps" {
            return Err(KubeError::Invalid(format!(
                "{} is served in apps/v1, not {}",
                workload.kind, workload.api_version
            )));
        }
        let c = &call.client;
        let res = c.resolve(&workload.api_version, &workload.kind).await?;
        let ns = c.namespace_for(&res, workload.namespace.as_deref());
        if let Some(ns) = &ns {
            check_name("namespace", ns)?;
        }
        call.check_resolved("get", &res, ns.as_deref())?;
        let pods = ResourceName {
            plural: "pods",
            group: "",
            subresource: None,
        };
        call.check(
            "list",
            &pods,
            ns.as_deref()
                .map(Scope::Namespace)
                .unwrap_or(Scope::AllNamespaces),
        )?;
        // Return `timed-out` before the runtime's own deadline stops the call.
        let call_limit = self
            .shared
            .limits
            .timeout
            .saturating_sub(Duration::from_secs(1))
            .max(Duration::from_secs(1));
        let timeout = match timeout_ms {
            0 => call_limit,
            ms => Duration::from_millis(ms).min(call_limit),
        };
        let observer = self.observer.clone();
        let wants = observer.wants_progress();
        let started = Instant::now();
        let outcome = c
            .wait_rollout(
                kind,
                &res,
                ns.as_deref(),
                &workload.name,
                timeout,
                |counts, message| {
                    let observer = observer.clone();
                    async move {
                        if wants {
                            observer
                                .progress(
                                    f64::from(counts.updated),
                                    Some(f64::from(counts.desired)),
                                    Some(message),
                                )
                                .await;
                        }
                    }
                },
            )
            .await?;
        tracing::info!(
            toolset = %self.shared.name,
            context = %c.context,
            workload = %workload.name,
            state = ?outcome.end,
            waited_ms = started.elapsed().as_millis() as u64,
            "rollout followed"
        );
        Ok(wit::RolloutStatus {
            state: match outcome.end {
                End::Complete => wit::RolloutState::Complete,
                End::Failed => wit::RolloutState::Failed,
                End::TimedOut => wit::RolloutState::TimedOut,
            },
            desired: outcome.counts.desired,
            updated: outcome.counts.updated,
            ready: outcome.counts.ready,
            available: outcome.counts.available,
            message: outcome.message,
            problems: outcome
                .problems
                .into_iter()
                .map(|p| wit::PodProblem {
                    pod: p.pod,
                    node: p.node,
                    container: p.container,
                    reason: p.reason,
                    message: p.message,
                    restarts: p.restarts,
                })
                .collect(),
            waited_ms: outcome.waited.as_millis() as u64,
        })
    }
}

impl Call {
    async fn pod_log(&self, r: &wit::LogRequest) -> Result<String, KubeError> {
        check_name("namespace", &r.namespace)?;
        check_name("pod", &r.pod)?;
        let log = ResourceName {
            plural: "pods",
            group: "",
            subresource: Some("log"),
        };
        self.check("get", &log, Scope::Namespace(&r.namespace))?;
        let limit = match r.limit_bytes {
            0 => MAX_LOG_BYTES,
            n => n.min(MAX_LOG_BYTES),
        };
        let uri = with_query(
            &format!("/api/v1/namespaces/{}/pods/{}/log", r.namespace, r.pod),
            &[
                ("container", r.container.clone().filter(|c| !c.is_empty())),
                ("tailLines", r.tail_lines.map(|n| n.to_string())),
                (
                    "sinceSeconds",
                    r.since_seconds.filter(|s| *s > 0).map(|n| n.to_string()),
                ),
                ("timestamps", r.timestamps.then(|| "true".to_string())),
                ("previous", r.previous.then(|| "true".to_string())),
                ("limitBytes", Some(limit.to_string())),
            ],
        );
        let mut req = Req::get(uri);
        req.max_body = Some(limit as usize);
        let body = self.client.send(&req).await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}

fn out<T>(r: Result<T, KubeError>) -> Result<T, HostError> {
    r.map_err(HostError::from)
}

impl wit::Host for CallState {
    async fn contexts(&mut self) -> Result<Vec<wit::ContextInfo>, HostError> {
        let k = self.kube();
        out(k.kube_grant("contexts", || "read the kubeconfig contexts".into()))?;
        let contexts = out(k.shared.kube.contexts())?;
        Ok(contexts
            .into_iter()
            .map(|c| wit::ContextInfo {
                name: c.name,
                cluster: c.cluster,
                server: c.server,
                user: c.user,
                namespace: c.namespace,
                is_default: c.is_default,
            })
            .collect())
    }

    async fn probe(&mut self, context: Option<String>) -> Result<wit::ServerInfo, HostError> {
        let k = self.kube();
        out(k.kube_grant("probe", || {
            format!(
                "probe context {}",
                context.as_deref().unwrap_or("(current)")
            )
        }))?;
        let pool = k.shared.kube.clone();
        let name = out(pool.resolve_context(context.as_deref()))?;
        let c = out(pool.client(&name).await)?;
        let started = Instant::now();
        let body = out(c.send(&Req::get("/version".into())).await)?;
        let latency = started.elapsed();
        let info: k8s_openapi::apimachinery::pkg::version::Info = serde_json::from_slice(&body)
            .map_err(|e| {
                HostError::Failed(format!(
                    "cluster \"{name}\" answered /version with something unexpected: {e}"
                ))
            })?;
        Ok(wit::ServerInfo {
            context: name,
            version: info.git_version,
            latency_ms: latency.as_millis().min(u32::MAX as u128) as u32,
        })
    }

    async fn get(
        &mut self,
        context: Option<String>,
        object: wit::ObjectRef,
    ) -> Result<String, HostError> {
        out(self.kube().k_get(context, object).await)
    }

    async fn list(
        &mut self,
        context: Option<String>,
        request: wit::ListRequest,
    ) -> Result<wit::ListResult, HostError> {
        out(self.kube().k_list(context, request).await)
    }

    async fn apply(
        &mut self,
        context: Option<String>,
        object: String,
        options: wit::ApplyOptions,
    ) -> Result<String, HostError> {
        out(self.kube().k_apply(context, object, options).await)
    }

    async fn patch(
        &mut self,
        context: Option<String>,
        object: wit::ObjectRef,
        patch_type: wit::PatchType,
        patch: String,
        dry_run: bool,
    ) -> Result<String, HostError> {
        out(self
            .kube()
            .k_patch(context, object, patch_type, patch, dry_run)
            .await)
    }

    async fn delete(
        &mut self,
        context: Option<String>,
        object: wit::ObjectRef,
        propagation: wit::Propagation,
        dry_run: bool,
    ) -> Result<bool, HostError> {
        out(self
            .kube()
            .k_delete(context, object, propagation, dry_run)
            .await)
    }

    async fn pod_logs(
        &mut self,
        context: Option<String>,
        requests: Vec<wit::LogRequest>,
        max_in_flight: u32,
    ) -> Vec<Result<String, HostError>> {
        self.kube()
            .k_pod_logs(context, requests, max_in_flight)
            .await
    }

    async fn access_review(
        &mut self,
        context: Option<String>,
        check: wit::AccessCheck,
    ) -> Result<wit::AccessDecision, HostError> {
        out(self.kube().k_access_review(context, check).await)
    }

    async fn wait_rollout(
        &mut self,
        context: Option<String>,
        workload: wit::ObjectRef,
        timeout_ms: u64,
    ) -> Result<wit::RolloutStatus, HostError> {
        out(self
            .kube()
            .k_wait_rollout(context, workload, timeout_ms)
            .await)
    }
}
