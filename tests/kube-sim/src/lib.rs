//! # kube-sim: a simulated Kubernetes cluster for tests, demos and benchmarks
//!
//! A stateful Kubernetes API server over real HTTPS (or HTTP) with the controllers obi-mcp depends
//! on: DaemonSet, Deployment → ReplicaSet → Pod, StatefulSet, a scheduler, a kubelet that moves
//! pods through their lifecycle (including `ErrImagePull`/`ImagePullBackOff`, `CrashLoopBackOff`
//! with exit code 255 when OBI's mounted config fails OBI's startup validation, and kernels older
//! than 5.8), pod logs, the metrics API, RBAC with bearer-token users, and fault injection.
//! `kubectl` and kube-rs talk to it as to a real cluster; what it does not do is listed in
//! `DEVIATIONS.md`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kube_sim::SimError> {
//! use kube_sim::{Cluster, ClusterOptions, CrashRule, Fault, FaultAction, NodeSpec};
//! // Three nodes, one with an old kernel; fast controller timings for tests.
//! let cluster = Cluster::start(
//!     ClusterOptions::for_tests().with_nodes(2).with_node(NodeSpec::named("old").kernel("5.4.0")),
//! )
//! .await?;
//! let admin: kube::Client = cluster.client().await?; // context "kube-sim"
//! let restricted = cluster.restricted_client().await?; // user "restricted", RBAC decides
//! let path = cluster.kubeconfig_path(); // for kubectl or the obi-mcp binary
//! cluster.fail_image_pull("otel/ebpf-instrument:v9*");
//! cluster.crash_containers(CrashRule { image: "busybox:*".into(), exit_code: 1, log_line: "boom".into() });
//! cluster.add_fault(Fault::new(FaultAction::Status { code: 503, retry_after: Some(1) }).verb("list").times(2));
//! let pods = cluster.list("v1", "Pod", Some("default"));
//! # drop((admin, restricted, path, pods)); Ok(()) }
//! ```
//!
//! Two clusters in one kubeconfig: start both with distinct [`ClusterOptions::named`] names and
//! call [`write_kubeconfig`] with both.

// `ApiError` mirrors a Kubernetes `Status` (code, reason, message, details); it is the cold path
// of every handler, so it is returned by value rather than boxed.
#![allow(clippy::result_large_err)]

mod api;
mod cluster;
mod controllers;
mod discovery;
pub mod error;
pub mod faults;
mod kubelet;
mod logs;
pub mod obi;
pub mod patch;
mod protobuf;
mod rbac;
pub mod resources;
pub mod selectors;
mod server;
pub mod store;
mod table;
mod tls;
pub mod util;

pub use cluster::{
    Cluster, ClusterOptions, CrashRule, ImagePullRule, NodeSpec, Taint, Timings, User,
    write_kubeconfig,
};
pub use error::{ApiError, SimError};
pub use faults::{Fault, FaultAction};
