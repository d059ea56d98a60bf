//! # kube-sim: a simulated Kubernetes cluster for tests, demos and benchmarks
//!
//! A stateful Kubernetes API server over real HTTPS (or HTTP) with the controllers obi-mcp depends
//! on: DaemonSet, Deployment → ReplicaSet → Pod, a scheduler, a kubelet that moves pods through
//! their lifecycle (including `ErrImagePull`, `CrashLoopBackOff` and OBI's own startup validation of
//! its mounted config), pod logs, the metrics API and RBAC with bearer-token users. `kubectl` and
//! kube-rs talk to it as to a real cluster. What it does not do is listed in `DEVIATIONS.md`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kube_sim::SimError> {
//! use kube_sim::{Cluster, ClusterOptions};
//! let cluster = Cluster::start(ClusterOptions::for_tests().with_nodes(3)).await?;
//! let client = cluster.client().await?;
//! println!("kubeconfig: {}", cluster.kubeconfig_path().display());
//! # drop(client); Ok(()) }
//! ```

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
