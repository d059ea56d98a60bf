//! Kubernetes clusters named by the contexts of the server's kubeconfig. The host owns the
//! clients and the credentials (tokens and certificates never reach a toolset); objects cross as
//! JSON of any apiVersion/kind. Needs the `kubernetes` capability, whose grant lists verbs ×
//! resources × namespaces; a call outside the grant (or a mutation under `--read-only`) returns
//! [`HostError::Denied`] with a message naming the verb, resource and namespace.
//!
//! Every function takes `context`: a kubeconfig context name, `None` for the current context.
//! API errors keep the API server's reason and message.
//!
//! Outside a host (native unit tests) every function returns [`HostError::Failed`].

use serde_json::Value;

use crate::HostError;

/// One context of the kubeconfig (no credentials).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextInfo {
    /// Context name.
    pub name: String,
    /// Name of the cluster entry it uses.
    pub cluster: String,
    /// API server URL.
    pub server: String,
    /// Name of the user entry (never its credentials).
    pub user: String,
    /// Namespace set in the context.
    pub namespace: Option<String>,
    /// Whether it is the kubeconfig's current context.
    pub is_default: bool,
}

/// What a reachability probe found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerInfo {
    /// The context probed.
    pub context: String,
    /// `gitVersion` of the API server, e.g. `v1.31.2`.
    pub version: String,
    /// Round-trip time of the probe, milliseconds.
    pub latency_ms: u32,
}

/// Names one object (or, for lists, one kind).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// `v1`, `apps/v1`, `rbac.authorization.k8s.io/v1`, ...
    pub api_version: String,
    /// `Pod`, `DaemonSet`, ...
    pub kind: String,
    /// Namespace of a namespaced object; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// Object name.
    pub name: String,
}

impl ObjectRef {
    /// A namespaced object.
    pub fn namespaced(
        api_version: impl Into<String>,
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: Some(namespace.into()),
            name: name.into(),
        }
    }

    /// A cluster-scoped object.
    pub fn cluster(
        api_version: impl Into<String>,
        kind: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: None,
            name: name.into(),
        }
    }

    /// The reference of an object given as JSON (apiVersion, kind, metadata.name and
    /// metadata.namespace), or `None` when one of the first three is missing.
    pub fn of(object: &Value) -> Option<Self> {
        let text = |v: &Value| v.as_str().map(str::to_string);
        Some(Self {
            api_version: text(object.get("apiVersion")?)?,
            kind: text(object.get("kind")?)?,
            namespace: object.pointer("/metadata/namespace").and_then(text),
            name: text(object.pointer("/metadata/name")?)?,
        })
    }
}

/// A list request; the host follows `continue` tokens itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    /// `v1`, `apps/v1`, `metrics.k8s.io/v1beta1`, ...
    pub api_version: String,
    /// `Pod`, `Node`, `PodMetrics`, ...
    pub kind: String,
    /// Namespace; `None` lists across all namespaces (or a cluster-scoped kind).
    pub namespace: Option<String>,
    /// Label selector.
    pub label_selector: Option<String>,
    /// Field selector.
    pub field_selector: Option<String>,
    /// At most this many items (0: the host's limit of 10000).
    pub max_items: u32,
    /// Keep only these JSON pointers of each item (`/metadata/name`); empty keeps everything.
    pub fields: Vec<String>,
}

impl ListRequest {
    /// Lists every object of a kind.
    pub fn new(api_version: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            api_version: api_version.into(),
            kind: kind.into(),
            ..Self::default()
        }
    }

    /// Only in this namespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Only objects matching this label selector.
    pub fn labels(mut self, selector: impl Into<String>) -> Self {
        self.label_selector = Some(selector.into());
        self
    }

    /// Only objects matching this field selector.
    pub fn field_selector(mut self, selector: impl Into<String>) -> Self {
        self.field_selector = Some(selector.into());
        self
    }

    /// At most this many items.
    pub fn max_items(mut self, max: u32) -> Self {
        self.max_items = max;
        self
    }

    /// Keep only these fields (JSON pointers) of each item.
    pub fn fields(mut self, fields: &[&str]) -> Self {
        self.fields = fields.iter().map(|f| f.to_string()).collect();
        self
    }
}

/// The items of a list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListResult {
    /// Items (projected to the requested fields).
    pub items: Vec<Value>,
    /// More items existed than were returned.
    pub truncated: bool,
    /// The list's resourceVersion.
    pub resource_version: String,
}

/// How `delete` treats dependents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Propagation {
    /// In the background (the API default for most kinds).
    #[default]
    Background,
    /// Before the owner.
    Foreground,
    /// Left in place, owner references removed.
    Orphan,
}

/// The kind of patch `patch` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// RFC 7386 JSON merge patch.
    Merge,
    /// RFC 6902 JSON patch.
    Json,
    /// Kubernetes strategic merge patch (built-in kinds only).
    Strategic,
}

/// Options of a server-side apply (field manager `obi-mcp`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Take ownership of fields another manager owns.
    pub force: bool,
    /// Validate and default on the server without persisting.
    pub dry_run: bool,
}

/// One pod's log request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogRequest {
    /// Namespace of the pod.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container; `None` for the pod's only (or default) container.
    pub container: Option<String>,
    /// Only the last this many lines.
    pub tail_lines: Option<u32>,
    /// Only lines newer than this many seconds.
    pub since_seconds: Option<u32>,
    /// Prefix each line with its RFC 3339 timestamp.
    pub timestamps: bool,
    /// The previous (crashed) instance of the container.
    pub previous: bool,
    /// At most this many bytes (0: the host's limit of 1 MiB).
    pub limit_bytes: u32,
}

/// Asks whether the server's identity may do something (SelfSubjectAccessReview).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessCheck {
    /// `get`, `list`, `create`, `patch`, `delete`, ...
    pub verb: String,
    /// API group (`""` for core).
    pub group: String,
    /// Resource plural (`pods`).
    pub resource: String,
    /// Subresource (`log`).
    pub subresource: Option<String>,
    /// Namespace; `None` for cluster-wide.
    pub namespace: Option<String>,
    /// One object's name.
    pub name: Option<String>,
}

/// The answer of an access review.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessDecision {
    /// Whether it is allowed.
    pub allowed: bool,
    /// The authorizer's reason.
    pub reason: Option<String>,
}

/// A pod keeping a rollout from finishing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodProblem {
    /// Pod name.
    pub pod: String,
    /// Node, if scheduled.
    pub node: Option<String>,
    /// Container, when a container is the problem.
    pub container: Option<String>,
    /// `CrashLoopBackOff`, `ImagePullBackOff`, `ErrImagePull`, `Pending`, ...
    pub reason: String,
    /// The kubelet's message.
    pub message: String,
    /// Container restarts so far.
    pub restarts: u32,
}

/// How a rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutState {
    /// Every desired pod runs the current revision and is ready.
    Complete,
    /// Pods of the current revision fail and will not recover on their own.
    Failed,
    /// The deadline passed first.
    TimedOut,
}

impl RolloutState {
    /// `complete`, `failed` or `timed-out`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Failed => "failed",
            Self::TimedOut => "timed-out",
        }
    }
}

/// Where a rollout stands when [`wait_rollout`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutStatus {
    /// How it ended.
    pub state: RolloutState,
    /// Pods wanted.
    pub desired: u32,
    /// Pods running the current revision.
    pub updated: u32,
    /// Ready pods.
    pub ready: u32,
    /// Available pods.
    pub available: u32,
    /// One-line summary.
    pub message: String,
    /// Failing pods of the current revision (at most 20).
    pub problems: Vec<PodProblem>,
    /// Milliseconds spent waiting.
    pub waited_ms: u64,
}

pub use backend::*;

#[cfg(target_arch = "wasm32")]
mod backend {
    use super::*;
    use crate::__private::bindings::obi::toolset::{
        kubernetes as wit, types::HostError as WitError,
    };

    fn convert(error: WitError) -> HostError {
        match error {
            WitError::Denied(m) => HostError::Denied(m),
            WitError::NotFound(m) => HostError::NotFound(m),
            WitError::Conflict(m) => HostError::Conflict(m),
            WitError::Timeout(m) => HostError::Timeout(m),
            WitError::Invalid(m) => HostError::Invalid(m),
            WitError::Failed(m) => HostError::Failed(m),
        }
    }

    fn parse(text: &str) -> Result<Value, HostError> {
        serde_json::from_str(text).map_err(|error| {
            HostError::Failed(format!(
                "the host returned an object that is not JSON: {error}"
            ))
        })
    }

    fn object_ref(o: &ObjectRef) -> wit::ObjectRef {
        wit::ObjectRef {
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            namespace: o.namespace.clone(),
            name: o.name.clone(),
        }
    }

    /// The contexts of the server's kubeconfig (reads only the file).
    pub fn contexts() -> Result<Vec<ContextInfo>, HostError> {
        Ok(wit::contexts()
            .map_err(convert)?
            .into_iter()
            .map(|c| ContextInfo {
                name: c.name,
                cluster: c.cluster,
                server: c.server,
                user: c.user,
                namespace: c.namespace,
                is_default: c.is_default,
            })
            .collect())
    }

    /// Contacts the cluster (`GET /version`).
    pub fn probe(context: Option<&str>) -> Result<ServerInfo, HostError> {
        let s = wit::probe(context).map_err(convert)?;
        Ok(ServerInfo {
            context: s.context,
            version: s.version,
            latency_ms: s.latency_ms,
        })
    }

    /// One object, or [`HostError::NotFound`].
    pub fn get(context: Option<&str>, object: &ObjectRef) -> Result<Value, HostError> {
        parse(&wit::get(context, &object_ref(object)).map_err(convert)?)
    }

    /// The objects of one kind, paginated by the host.
    pub fn list(context: Option<&str>, request: &ListRequest) -> Result<ListResult, HostError> {
        let r = wit::list(
            context,
            &wit::ListRequest {
                api_version: request.api_version.clone(),
                kind: request.kind.clone(),
                namespace: request.namespace.clone(),
                label_selector: request.label_selector.clone(),
                field_selector: request.field_selector.clone(),
                max_items: request.max_items,
                fields: request.fields.clone(),
            },
        )
        .map_err(convert)?;
        Ok(ListResult {
            // Each item's text is freed as soon as it is parsed, so a large list does not hold
            // its text and its parsed form at once.
            items: r
                .items
                .into_iter()
                .map(|item| parse(&item))
                .collect::<Result<_, _>>()?,
            truncated: r.truncated,
            resource_version: r.resource_version,
        })
    }

    /// Server-side apply with field manager `obi-mcp`; returns the object as stored.
    pub fn apply(
        context: Option<&str>,
        object: &Value,
        options: ApplyOptions,
    ) -> Result<Value, HostError> {
        let stored = wit::apply(
            context,
            &object.to_string(),
            wit::ApplyOptions {
                force: options.force,
                dry_run: options.dry_run,
            },
        )
        .map_err(convert)?;
        parse(&stored)
    }

    /// Patches one object; returns the result.
    pub fn patch(
        context: Option<&str>,
        object: &ObjectRef,
        patch_type: PatchType,
        patch: &Value,
        dry_run: bool,
    ) -> Result<Value, HostError> {
        let kind = match patch_type {
            PatchType::Merge => wit::PatchType::Merge,
            PatchType::Json => wit::PatchType::Json,
            PatchType::Strategic => wit::PatchType::Strategic,
        };
        let out = wit::patch(
            context,
            &object_ref(object),
            kind,
            &patch.to_string(),
            dry_run,
        )
        .map_err(convert)?;
        parse(&out)
    }

    /// Deletes one object; `false` when it did not exist.
    pub fn delete(
        context: Option<&str>,
        object: &ObjectRef,
        propagation: Propagation,
        dry_run: bool,
    ) -> Result<bool, HostError> {
        let propagation = match propagation {
            Propagation::Background => wit::Propagation::Background,
            Propagation::Foreground => wit::Propagation::Foreground,
            Propagation::Orphan => wit::Propagation::Orphan,
        };
        wit::delete(context, &object_ref(object), propagation, dry_run).map_err(convert)
    }

    /// Fetches pod logs, at most `max_in_flight` (1-64) at a time; one result per request, in
    /// order. One pod failing does not fail the others.
    pub fn pod_logs(
        context: Option<&str>,
        requests: &[LogRequest],
        max_in_flight: u32,
    ) -> Vec<Result<String, HostError>> {
        let requests: Vec<wit::LogRequest> = requests
            .iter()
            .map(|r| wit::LogRequest {
                namespace: r.namespace.clone(),
                pod: r.pod.clone(),
                container: r.container.clone(),
                tail_lines: r.tail_lines,
                since_seconds: r.since_seconds,
                timestamps: r.timestamps,
                previous: r.previous,
                limit_bytes: r.limit_bytes,
            })
            .collect();
        wit::pod_logs(context, &requests, max_in_flight)
            .into_iter()
            .map(|r| r.map_err(convert))
            .collect()
    }

    /// Whether the server's identity may do something.
    pub fn access_review(
        context: Option<&str>,
        check: &AccessCheck,
    ) -> Result<AccessDecision, HostError> {
        let d = wit::access_review(
            context,
            &wit::AccessCheck {
                verb: check.verb.clone(),
                group: check.group.clone(),
                resource: check.resource.clone(),
                subresource: check.subresource.clone(),
                namespace: check.namespace.clone(),
                name: check.name.clone(),
            },
        )
        .map_err(convert)?;
        Ok(AccessDecision {
            allowed: d.allowed,
            reason: d.reason,
        })
    }

    /// Follows a rollout until it completes, fails or `timeout_ms` passes; the host reports
    /// progress of the call as it goes.
    pub fn wait_rollout(
        context: Option<&str>,
        workload: &ObjectRef,
        timeout_ms: u64,
    ) -> Result<RolloutStatus, HostError> {
        let s = wit::wait_rollout(context, &object_ref(workload), timeout_ms).map_err(convert)?;
        Ok(RolloutStatus {
            state: match s.state {
                wit::RolloutState::Complete => RolloutState::Complete,
                wit::RolloutState::Failed => RolloutState::Failed,
                wit::RolloutState::TimedOut => RolloutState::TimedOut,
            },
            desired: s.desired,
            updated: s.updated,
            ready: s.ready,
            available: s.available,
            message: s.message,
            problems: s
                .problems
                .into_iter()
                .map(|p| PodProblem {
                    pod: p.pod,
                    node: p.node,
                    container: p.container,
                    reason: p.reason,
                    message: p.message,
                    restarts: p.restarts,
                })
                .collect(),
            waited_ms: s.waited_ms,
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod backend {
    use super::*;

    fn outside() -> HostError {
        HostError::Failed("the kubernetes capability is only available inside obi-mcp".into())
    }

    /// The contexts of the server's kubeconfig (reads only the file).
    pub fn contexts() -> Result<Vec<ContextInfo>, HostError> {
        Err(outside())
    }

    /// Contacts the cluster (`GET /version`).
    pub fn probe(_context: Option<&str>) -> Result<ServerInfo, HostError> {
        Err(outside())
    }

    /// One object, or [`HostError::NotFound`].
    pub fn get(_context: Option<&str>, _object: &ObjectRef) -> Result<Value, HostError> {
        Err(outside())
    }

    /// The objects of one kind, paginated by the host.
    pub fn list(_context: Option<&str>, _request: &ListRequest) -> Result<ListResult, HostError> {
        Err(outside())
    }

    /// Server-side apply with field manager `obi-mcp`; returns the object as stored.
    pub fn apply(
        _context: Option<&str>,
        _object: &Value,
        _options: ApplyOptions,
    ) -> Result<Value, HostError> {
        Err(outside())
    }

    /// Patches one object; returns the result.
    pub fn patch(
        _context: Option<&str>,
        _object: &ObjectRef,
        _patch_type: PatchType,
        _patch: &Value,
        _dry_run: bool,
    ) -> Result<Value, HostError> {
        Err(outside())
    }

    /// Deletes one object; `false` when it did not exist.
    pub fn delete(
        _context: Option<&str>,
        _object: &ObjectRef,
        _propagation: Propagation,
        _dry_run: bool,
    ) -> Result<bool, HostError> {
        Err(outside())
    }

    /// Fetches pod logs, at most `max_in_flight` (1-64) at a time; one result per request.
    pub fn pod_logs(
        _context: Option<&str>,
        requests: &[LogRequest],
        _max_in_flight: u32,
    ) -> Vec<Result<String, HostError>> {
        requests.iter().map(|_| Err(outside())).collect()
    }

    /// Whether the server's identity may do something.
    pub fn access_review(
        _context: Option<&str>,
        _check: &AccessCheck,
    ) -> Result<AccessDecision, HostError> {
        Err(outside())
    }

    /// Follows a rollout until it completes, fails or `timeout_ms` passes.
    pub fn wait_rollout(
        _context: Option<&str>,
        _workload: &ObjectRef,
        _timeout_ms: u64,
    ) -> Result<RolloutStatus, HostError> {
        Err(outside())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_ref_is_read_from_an_object() {
        let o = json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "obi", "namespace": "obi-system"}});
        assert_eq!(
            ObjectRef::of(&o),
            Some(ObjectRef::namespaced(
                "apps/v1",
                "DaemonSet",
                "obi-system",
                "obi"
            ))
        );
        assert_eq!(ObjectRef::of(&json!({"kind": "X"})), None);
    }

    #[test]
    fn native_stand_in_fails_every_call() {
        assert!(matches!(contexts(), Err(HostError::Failed(_))));
        let logs = pod_logs(None, &[LogRequest::default(), LogRequest::default()], 4);
        assert_eq!(logs.len(), 2);
    }
}
