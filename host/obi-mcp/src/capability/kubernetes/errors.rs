//! Errors of the Kubernetes capability, sorted the way the WIT `host-error` sorts them.

use crate::runtime::bindings::obi::toolset::types::HostError;

/// Why a Kubernetes host call failed. Every message is free of credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeError {
    /// Not granted to the toolset, or refused by the cluster's RBAC (401/403).
    #[error("{0}")]
    Denied(String),
    /// The object, kind, API, context or kubeconfig does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// A conflict with another writer or an existing object (409).
    #[error("{0}")]
    Conflict(String),
    /// The cluster did not answer in time.
    #[error("{0}")]
    Timeout(String),
    /// The request is malformed, or the cluster refused it as invalid (400/422).
    #[error("{0}")]
    Invalid(String),
    /// Anything else: unreachable cluster, server errors after retries.
    #[error("{0}")]
    Failed(String),
}

impl From<KubeError> for HostError {
    fn from(e: KubeError) -> Self {
        match e {
            KubeError::Denied(m) => HostError::Denied(m),
            KubeError::NotFound(m) => HostError::NotFound(m),
            KubeError::Conflict(m) => HostError::Conflict(m),
            KubeError::Timeout(m) => HostError::Timeout(m),
            KubeError::Invalid(m) => HostError::Invalid(m),
            KubeError::Failed(m) => HostError::Failed(m),
        }
    }
}
