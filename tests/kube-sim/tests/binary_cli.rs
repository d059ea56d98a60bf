//! The `kube-sim` binary: nodes from a YAML file and flags, plain HTTP, kubeconfig output.

mod common;

use common::kubectl_with;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn binary_serves_nodes_from_file_and_flags_over_plain_http() {
    let dir = std::env::temp_dir().join(format!("kube-sim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let nodes = dir.join("nodes.yaml");
    std::fs::write(
        &nodes,
        "- name: edge-1\n  kernel: 4.19.0-26-amd64\n  labels:\n    tier: edge\n  taints:\n    - key: dedicated\n      value: edge\n      effect: NoSchedule\n- name: cordoned\n  unschedulable: true\n",
    )
    .unwrap();
    let kc = dir.join("kubeconfig");
    let _child = Child(
        Command::new(env!("CARGO_BIN_EXE_kube-sim"))
            .args([
                "--port",
                "0",
                "--http",
                "--nodes",
                "2",
                "--kernel",
                "6.1.0-18-amd64",
                "--node-label",
                "pool=general",
                "--seed",
                "3",
                "--nodes-file",
            ])
            .arg(&nodes)
            .arg("--kubeconfig-out")
            .arg(&kc)
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn kube-sim"),
    );
    let start = Instant::now();
    while !kc.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no kubeconfig written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(&kc).unwrap();
    assert!(text.contains("server: http://127.0.0.1:"), "{text}");
    assert!(!text.contains("certificate-authority-data"), "{text}");
    let wide = kubectl_with(&kc, &["get", "nodes", "-o", "wide"]);
    assert_eq!(wide.code, 0, "{wide:?}");
    let rows: Vec<&str> = wide.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{}", wide.stdout);
    assert!(
        rows.iter()
            .any(|r| r.starts_with("edge-1") && r.contains("4.19.0-26-amd64")),
        "{}",
        wide.stdout
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("cordoned") && r.contains("Ready,SchedulingDisabled")),
        "{}",
        wide.stdout
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("node-3") && r.contains("6.1.0-18-amd64")),
        "{}",
        wide.stdout
    );
    let general = kubectl_with(&kc, &["get", "nodes", "-l", "pool=general", "-o", "name"]);
    assert_eq!(
        general.stdout.lines().collect::<Vec<_>>(),
        vec!["node/node-3", "node/node-4"]
    );
    let taint = kubectl_with(
        &kc,
        &[
            "get",
            "node",
            "edge-1",
            "-o",
            "jsonpath={.spec.taints[0].key}={.spec.taints[0].value}:{.spec.taints[0].effect}",
        ],
    );
    assert_eq!(taint.stdout, "dedicated=edge:NoSchedule");
    let _ = std::fs::remove_dir_all(&dir);
}
