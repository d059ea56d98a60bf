//! Errors: the Kubernetes `Status` failures the API returns, and the library's own errors.

use crate::resources::ResourceDef;
use serde_json::{Value, json};

/// A failed API request, rendered as a Kubernetes `Status` object.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// `Status.reason` (`NotFound`, `Conflict`, ...).
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// `Status.details`.
    pub details: Option<Value>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// Builds an error.
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason: reason.into(),
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }
    fn details(mut self, d: Value) -> Self {
        self.details = Some(d);
        self
    }
    fn gd(def: &ResourceDef, name: &str) -> Value {
        let mut d = json!({"name": name, "kind": def.plural});
        if !def.group.is_empty() {
            d["group"] = def.group.into();
        }
        d
    }
    /// 404 for an object.
    pub fn not_found(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{}\" not found", def.qualified(), name),
        )
        .details(Self::gd(def, name))
    }
    /// 404 for a path the server does not serve.
    pub fn no_route() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .details(json!({}))
    }
    /// 409 AlreadyExists.
    pub fn already_exists(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{}\" already exists", def.qualified(), name),
        )
        .details(Self::gd(def, name))
    }
    /// 409 Conflict for a stale resourceVersion.
    pub fn conflict(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                def.qualified(),
                name
            ),
        )
        .details(Self::gd(def, name))
    }
    /// 422 Invalid with field causes: (field, message, reason).
    pub fn invalid(def: &ResourceDef, name: &str, causes: Vec<(String, String, &str)>) -> Self {
        let msgs: Vec<String> = causes
            .iter()
            .map(|(f, m, _)| {
                if f.is_empty() {
                    m.clone()
                } else {
                    format!("{f}: {m}")
                }
            })
            .collect();
        let joined = if msgs.len() == 1 {
            msgs[0].clone()
        } else {
            format!("[{}]", msgs.join(", "))
        };
        let mut d = json!({"name": name, "kind": def.kind, "causes": causes.iter().map(|(f, m, r)| json!({"reason": r, "message": m, "field": f})).collect::<Vec<_>>()});
        if !def.group.is_empty() {
            d["group"] = def.group.into();
        }
        Self::new(
            422,
            "Invalid",
            format!(
                "{} \"{}\" is invalid: {}",
                def.qualified_kind(),
                name,
                joined
            ),
        )
        .details(d)
    }
    /// 400 BadRequest.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", msg)
    }
    /// 405 MethodNotAllowed.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }
    /// 401 Unauthorized.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }
    /// 410 Expired (resource version too old).
    pub fn expired(msg: impl Into<String>) -> Self {
        Self::new(410, "Expired", msg)
    }
    /// 500.
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(500, "InternalError", msg)
    }
    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        if let Some(r) = self.retry_after {
            let d = s
                .as_object_mut()
                .expect("obj")
                .entry("details")
                .or_insert_with(|| json!({}));
            d["retryAfterSeconds"] = r.into();
        }
        s
    }
}

/// Errors of the library API (starting clusters, writing kubeconfigs).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Binding or serving the listener failed.
    #[error("kube-sim: could not listen on {addr}")]
    Bind {
        /// Address tried.
        addr: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Generating the CA or server certificate failed.
    #[error("kube-sim: could not generate TLS certificates")]
    Certificates(#[source] rcgen::Error),
    /// Building the TLS configuration failed.
    #[error("kube-sim: invalid TLS configuration")]
    Tls(#[source] rustls::Error),
    /// Writing a file failed.
    #[error("kube-sim: could not write {path}")]
    Write {
        /// File path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Building a kube client failed.
    #[error("kube-sim: could not build a kube client")]
    Client(#[source] kube::Error),
    /// Building the kube config failed.
    #[error("kube-sim: could not build a kube config")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    /// A nodes file or option was invalid.
    #[error("kube-sim: invalid node definition: {0}")]
    Nodes(String),
    /// An API operation on the cluster state failed.
    #[error("kube-sim: {0}")]
    Api(#[from] ApiError),
}
