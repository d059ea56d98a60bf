//! `kubernetes`: placeholder while the host module is being written; every function fails.
//! (Replaced by the real module in the same issue.)

use crate::runtime::CallState;
use crate::runtime::bindings::obi::toolset::kubernetes as wit;
use crate::runtime::bindings::obi::toolset::types::HostError;

fn unavailable<T>() -> Result<T, HostError> {
    Err(HostError::Failed(
        "kubernetes: not available in this build".into(),
    ))
}

impl wit::Host for CallState {
    async fn contexts(&mut self) -> Result<Vec<wit::ContextInfo>, HostError> {
        unavailable()
    }
    async fn probe(&mut self, _c: Option<String>) -> Result<wit::ServerInfo, HostError> {
        unavailable()
    }
    async fn get(&mut self, _c: Option<String>, _o: wit::ObjectRef) -> Result<String, HostError> {
        unavailable()
    }
    async fn list(
        &mut self,
        _c: Option<String>,
        _r: wit::ListRequest,
    ) -> Result<wit::ListResult, HostError> {
        unavailable()
    }
    async fn apply(
        &mut self,
        _c: Option<String>,
        _o: String,
        _opts: wit::ApplyOptions,
    ) -> Result<String, HostError> {
        unavailable()
    }
    async fn patch(
        &mut self,
        _c: Option<String>,
        _o: wit::ObjectRef,
        _t: wit::PatchType,
        _p: String,
        _d: bool,
    ) -> Result<String, HostError> {
        unavailable()
    }
    async fn delete(
        &mut self,
        _c: Option<String>,
        _o: wit::ObjectRef,
        _p: wit::Propagation,
        _d: bool,
    ) -> Result<bool, HostError> {
        unavailable()
    }
    async fn pod_logs(
        &mut self,
        _c: Option<String>,
        r: Vec<wit::LogRequest>,
        _m: u32,
    ) -> Vec<Result<String, HostError>> {
        r.iter().map(|_| unavailable()).collect()
    }
    async fn access_review(
        &mut self,
        _c: Option<String>,
        _a: wit::AccessCheck,
    ) -> Result<wit::AccessDecision, HostError> {
        unavailable()
    }
    async fn wait_rollout(
        &mut self,
        _c: Option<String>,
        _w: wit::ObjectRef,
        _t: u64,
    ) -> Result<wit::RolloutStatus, HostError> {
        unavailable()
    }
}
