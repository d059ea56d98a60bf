//! The resources the simulated API server serves, with discovery data and typed validation.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

/// Validates an object against its k8s-openapi type; returns the fields the type does not know.
pub type Validator = fn(&Value) -> Result<Vec<String>, String>;

/// One served resource (a row of API discovery).
#[derive(Debug)]
pub struct ResourceDef {
    /// API group ("" for core).
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Kind, e.g. `DaemonSet`.
    pub kind: &'static str,
    /// Plural resource name, e.g. `daemonsets`.
    pub plural: &'static str,
    /// Singular name.
    pub singular: &'static str,
    /// Namespaced or cluster scoped.
    pub namespaced: bool,
    /// kubectl short names.
    pub short_names: &'static [&'static str],
    /// Verbs served.
    pub verbs: &'static [&'static str],
    /// Subresources served (`status`, `log`).
    pub subresources: &'static [&'static str],
    /// Discovery categories (`all`).
    pub categories: &'static [&'static str],
    /// Typed validation, `None` for virtual resources.
    pub validate: Option<Validator>,
}

const CRUD: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const CREATE_ONLY: &[&str] = &["create"];
const READ_ONLY: &[&str] = &["get", "list"];

fn check<T: DeserializeOwned + Serialize>(v: &Value) -> Result<Vec<String>, String> {
    let typed: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    let mut unknown = Vec::new();
    diff_unknown(v, &back, "", &mut unknown);
    Ok(unknown)
}

fn diff_unknown(input: &Value, typed: &Value, path: &str, out: &mut Vec<String>) {
    match (input, typed) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    Some(bv) => diff_unknown(v, bv, &p, out),
                    None if v.is_null() => {}
                    None if is_empty_container(v) => {}
                    None => out.push(p),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
                diff_unknown(x, y, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn is_empty_container(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.is_empty()) || matches!(v, Value::Array(a) if a.is_empty())
}

macro_rules! v {
    ($t:ty) => {
        Some(check::<$t> as Validator)
    };
}

use k8s_openapi::api::{apps::v1 as apps, core::v1 as core, rbac::v1 as rbac};

macro_rules! def {
    ($g:expr, $v:expr, $kind:expr, $plural:expr, $singular:expr, $ns:expr, $short:expr, $verbs:expr, $sub:expr, $cat:expr, $val:expr) => {
        ResourceDef {
            group: $g,
            version: $v,
            kind: $kind,
            plural: $plural,
            singular: $singular,
            namespaced: $ns,
            short_names: $short,
            verbs: $verbs,
            subresources: $sub,
            categories: $cat,
            validate: $val,
        }
    };
}

/// Every resource the sim serves.
pub static RESOURCES: &[ResourceDef] = &[
    def!(
        "",
        "v1",
        "Namespace",
        "namespaces",
        "namespace",
        false,
        &["ns"],
        &[
            "create", "delete", "get", "list", "patch", "update", "watch"
        ],
        &["status"],
        &[],
        v!(core::Namespace)
    ),
    def!(
        "",
        "v1",
        "Node",
        "nodes",
        "node",
        false,
        &["no"],
        CRUD,
        &["status"],
        &[],
        v!(core::Node)
    ),
    def!(
        "",
        "v1",
        "Pod",
        "pods",
        "pod",
        true,
        &["po"],
        CRUD,
        &["status", "log"],
        &["all"],
        v!(core::Pod)
    ),
    def!(
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        "configmap",
        true,
        &["cm"],
        CRUD,
        &[],
        &[],
        v!(core::ConfigMap)
    ),
    def!(
        "",
        "v1",
        "Secret",
        "secrets",
        "secret",
        true,
        &[],
        CRUD,
        &[],
        &[],
        v!(core::Secret)
    ),
    def!(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        true,
        &["sa"],
        CRUD,
        &[],
        &[],
        v!(core::ServiceAccount)
    ),
    def!(
        "",
        "v1",
        "Service",
        "services",
        "service",
        true,
        &["svc"],
        &[
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch"
        ],
        &["status"],
        &["all"],
        v!(core::Service)
    ),
    def!(
        "",
        "v1",
        "Event",
        "events",
        "event",
        true,
        &["ev"],
        CRUD,
        &[],
        &[],
        v!(core::Event)
    ),
    def!(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        "daemonset",
        true,
        &["ds"],
        CRUD,
        &["status"],
        &["all"],
        v!(apps::DaemonSet)
    ),
    def!(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        "deployment",
        true,
        &["deploy"],
        CRUD,
        &["status"],
        &["all"],
        v!(apps::Deployment)
    ),
    def!(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        true,
        &["rs"],
        CRUD,
        &["status"],
        &["all"],
        v!(apps::ReplicaSet)
    ),
    def!(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        true,
        &["sts"],
        CRUD,
        &["status"],
        &["all"],
        v!(apps::StatefulSet)
    ),
    def!(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        "controllerrevision",
        true,
        &[],
        CRUD,
        &[],
        &[],
        v!(apps::ControllerRevision)
    ),
    def!(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        "clusterrole",
        false,
        &[],
        CRUD,
        &[],
        &[],
        v!(rbac::ClusterRole)
    ),
    def!(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        "clusterrolebinding",
        false,
        &[],
        CRUD,
        &[],
        &[],
        v!(rbac::ClusterRoleBinding)
    ),
    def!(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        "role",
        true,
        &[],
        CRUD,
        &[],
        &[],
        v!(rbac::Role)
    ),
    def!(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        "rolebinding",
        true,
        &[],
        CRUD,
        &[],
        &[],
        v!(rbac::RoleBinding)
    ),
    def!(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        false,
        &[],
        CREATE_ONLY,
        &[],
        &[],
        None
    ),
    def!(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        "selfsubjectrulesreview",
        false,
        &[],
        CREATE_ONLY,
        &[],
        &[],
        None
    ),
    def!(
        "metrics.k8s.io",
        "v1beta1",
        "NodeMetrics",
        "nodes",
        "",
        false,
        &[],
        READ_ONLY,
        &[],
        &[],
        None
    ),
    def!(
        "metrics.k8s.io",
        "v1beta1",
        "PodMetrics",
        "pods",
        "",
        true,
        &[],
        READ_ONLY,
        &[],
        &[],
        None
    ),
];

/// Index of a resource in [`RESOURCES`].
pub type ResId = usize;

impl ResourceDef {
    /// `apiVersion` string (`v1`, `apps/v1`).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    /// `plural.group` as used in error messages (`daemonsets.apps`).
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
    /// `Kind.group` as used in Invalid messages (`DaemonSet.apps`).
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }
    /// Whether objects of this resource are stored (not virtual).
    pub fn stored(&self) -> bool {
        self.validate.is_some()
    }
    /// Whether the kind has a `spec` that drives `metadata.generation`.
    pub fn has_spec(&self) -> bool {
        matches!(
            self.kind,
            "Pod"
                | "Service"
                | "DaemonSet"
                | "Deployment"
                | "ReplicaSet"
                | "StatefulSet"
                | "Node"
                | "Namespace"
        )
    }
    /// Discovery entry (`APIResource`).
    pub fn discovery(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut m = Map::new();
        m.insert("name".into(), self.plural.into());
        m.insert("singularName".into(), self.singular.into());
        m.insert("namespaced".into(), self.namespaced.into());
        m.insert("kind".into(), self.kind.into());
        m.insert(
            "verbs".into(),
            self.verbs.iter().map(|v| Value::from(*v)).collect(),
        );
        if !self.short_names.is_empty() {
            m.insert(
                "shortNames".into(),
                self.short_names.iter().map(|v| Value::from(*v)).collect(),
            );
        }
        if !self.categories.is_empty() {
            m.insert(
                "categories".into(),
                self.categories.iter().map(|v| Value::from(*v)).collect(),
            );
        }
        out.push(Value::Object(m));
        for sub in self.subresources {
            let (kind, verbs): (&str, &[&str]) = match *sub {
                "log" => ("Pod", &["get"]),
                _ => (self.kind, &["get", "patch", "update"]),
            };
            out.push(serde_json::json!({
                "name": format!("{}/{}", self.plural, sub),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": kind,
                "verbs": verbs,
            }));
        }
        out
    }
}

/// Finds a resource by group, version and plural.
pub fn find(group: &str, version: &str, plural: &str) -> Option<ResId> {
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Finds a resource by `apiVersion` and `kind`.
pub fn find_kind(api_version: &str, kind: &str) -> Option<ResId> {
    RESOURCES
        .iter()
        .position(|r| r.api_version() == api_version && r.kind == kind)
}

/// Finds a stored resource by group and plural (any version).
pub fn find_group_resource(group: &str, plural: &str) -> Option<ResId> {
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.plural == plural && r.stored())
}

/// Looks a resource up by id.
pub fn def(id: ResId) -> &'static ResourceDef {
    &RESOURCES[id]
}

/// The API groups served, in discovery order: (group, version).
pub fn groups() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES {
        if !r.group.is_empty() && !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

/// Ids of resources used often by the controllers.
pub mod ids {
    use super::{ResId, find};
    /// namespaces
    pub fn namespaces() -> ResId {
        find("", "v1", "namespaces").expect("namespaces")
    }
    /// nodes
    pub fn nodes() -> ResId {
        find("", "v1", "nodes").expect("nodes")
    }
    /// pods
    pub fn pods() -> ResId {
        find("", "v1", "pods").expect("pods")
    }
    /// configmaps
    pub fn configmaps() -> ResId {
        find("", "v1", "configmaps").expect("configmaps")
    }
    /// secrets
    pub fn secrets() -> ResId {
        find("", "v1", "secrets").expect("secrets")
    }
    /// events
    pub fn events() -> ResId {
        find("", "v1", "events").expect("events")
    }
    /// services
    pub fn services() -> ResId {
        find("", "v1", "services").expect("services")
    }
    /// serviceaccounts
    pub fn serviceaccounts() -> ResId {
        find("", "v1", "serviceaccounts").expect("serviceaccounts")
    }
    /// daemonsets
    pub fn daemonsets() -> ResId {
        find("apps", "v1", "daemonsets").expect("daemonsets")
    }
    /// deployments
    pub fn deployments() -> ResId {
        find("apps", "v1", "deployments").expect("deployments")
    }
    /// replicasets
    pub fn replicasets() -> ResId {
        find("apps", "v1", "replicasets").expect("replicasets")
    }
    /// statefulsets
    pub fn statefulsets() -> ResId {
        find("apps", "v1", "statefulsets").expect("statefulsets")
    }
    /// clusterroles
    pub fn clusterroles() -> ResId {
        find("rbac.authorization.k8s.io", "v1", "clusterroles").expect("cr")
    }
    /// clusterrolebindings
    pub fn clusterrolebindings() -> ResId {
        find("rbac.authorization.k8s.io", "v1", "clusterrolebindings").expect("crb")
    }
    /// roles
    pub fn roles() -> ResId {
        find("rbac.authorization.k8s.io", "v1", "roles").expect("roles")
    }
    /// rolebindings
    pub fn rolebindings() -> ResId {
        find("rbac.authorization.k8s.io", "v1", "rolebindings").expect("rb")
    }
}
