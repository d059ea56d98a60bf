//! Each seeded problem produces its finding; a healthy instance produces none.

use super::*;
use crate::manifests::{Instance, Options};
use serde_json::json;

fn healthy() -> Facts {
    let inst = Instance::new("obi-system", "obi").unwrap();
    let options = Options::daemonset("otel/ebpf-instrument:v0.12.1");
    let config = manifests::default_config(Mode::Daemonset, &options.otlp_endpoint);
    let yaml = manifests::config_yaml(&config).unwrap();
    let ds = manifests::daemonset(&inst, &options, &config, "x");
    Facts {
        namespace: "obi-system".into(),
        instance: "obi".into(),
        mode: Some(Mode::Daemonset),
        namespace_obj: Lookup::Found(manifests::namespace(&inst)),
        nodes: vec![
            json!({"metadata": {"name": "n1"}, "status": {"nodeInfo": {"kernelVersion": "6.8.0-1015-aws"}}}),
            json!({"metadata": {"name": "rhel"}, "status": {"nodeInfo": {"kernelVersion": "4.18.0-513.el8.x86_64"}}}),
        ],
        cluster_role: Lookup::Found(manifests::cluster_role(&inst, &options)),
        binding: Lookup::Found(manifests::cluster_role_binding(&inst, &options)),
        service_account: Some((
            ("obi-system".into(), "obi".into()),
            Lookup::Found(manifests::service_account(&inst)),
        )),
        config_text: Some(yaml),
        env: manifests::validation_env(&options),
        pod_spec: Some(ds["spec"]["template"]["spec"].clone()),
        pods: vec![
            json!({"metadata": {"name": "obi-a"}, "spec": {"nodeName": "n1"},
            "status": {"phase": "Running", "containerStatuses": [{"name": "obi", "ready": true,
            "restartCount": 0, "image": "otel/ebpf-instrument:v0.12.1", "state": {"running": {}}}]}}),
        ],
        previous_errors: vec![],
        recent_lines: vec![(
            "obi-a".into(),
            vec![
                "2026-01-27T17:21:20Z time=x level=INFO msg=\"starting kubernetes informers\""
                    .into(),
            ],
        )],
        denied: vec![],
    }
}

fn ids(f: &Facts) -> Vec<String> {
    diagnose(f).into_iter().map(|f| f.id).collect()
}

fn only(f: &Facts, id: &str) -> Finding {
    let all = diagnose(f);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].id, id);
    assert!(!all[0].fix.is_empty());
    all[0].clone()
}

#[test]
fn healthy_instance_has_no_findings() {
    assert_eq!(ids(&healthy()), Vec::<String>::new());
    assert_eq!(summary(&[]), "No problems found.");
}

#[test]
fn not_deployed() {
    let mut f = healthy();
    f.mode = None;
    let x = only(&f, "not-deployed");
    assert!(x.fix.contains("obi_k8s_deploy"));
}

#[test]
fn kernel_too_old_accepts_rhel_backports() {
    assert_eq!(kernel_supported("5.8.0"), Some(true));
    assert_eq!(kernel_supported("5.4.0-1103-aws"), Some(false));
    assert_eq!(kernel_supported("4.18.0-477.27.1.el8_8.x86_64"), Some(true));
    assert_eq!(kernel_supported("4.18.0-generic"), Some(false));
    assert_eq!(kernel_supported("3.10.0-1160.el7.x86_64"), Some(false));
    assert_eq!(kernel_supported("garbage"), None);
    let mut f = healthy();
    f.nodes.push(json!({"metadata": {"name": "old"}, "status": {"nodeInfo": {"kernelVersion": "5.4.0-1103-aws"}}}));
    let x = only(&f, "kernel-too-old");
    assert!(x.detail.contains("old (5.4.0-1103-aws)"), "{}", x.detail);
}

#[test]
fn namespace_psa() {
    let mut f = healthy();
    f.namespace_obj = Lookup::Found(json!({"metadata": {"name": "obi-system"}}));
    assert_eq!(only(&f, "namespace-psa").severity, "warning");
    f.namespace_obj = Lookup::Found(json!({"metadata": {"name": "obi-system",
        "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}));
    let x = only(&f, "namespace-psa");
    assert_eq!(x.severity, "error");
    assert!(
        x.fix
            .contains("pod-security.kubernetes.io/enforce=privileged")
    );
}

#[test]
fn rbac_missing_replicasets_rule() {
    let mut f = healthy();
    f.cluster_role = Lookup::Found(json!({"rules": [
        {"apiGroups": [""], "resources": ["pods", "services", "nodes"], "verbs": ["get", "list", "watch"]}]}));
    let x = only(&f, "rbac-missing");
    assert!(x.detail.contains("apps/replicasets list"), "{}", x.detail);
    let mut f = healthy();
    f.cluster_role =
        Lookup::Found(json!({"rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}));
    assert!(ids(&f).is_empty());
    let mut f = healthy();
    f.binding = Lookup::Missing;
    assert!(
        only(&f, "rbac-missing")
            .detail
            .contains("ClusterRoleBinding is missing")
    );
    let mut f = healthy();
    f.service_account = Some((("obi-system".into(), "obi".into()), Lookup::Missing));
    assert!(
        only(&f, "rbac-missing")
            .detail
            .contains("service account obi-system/obi is missing")
    );
    let mut f = healthy();
    f.denied.push("list pods: not granted".into());
    assert_eq!(only(&f, "rbac-missing").severity, "info");
}

#[test]
fn config_invalid_names_obis_message() {
    let mut f = healthy();
    f.config_text = Some("log_level: INFO\n".into());
    f.env.remove("OTEL_EXPORTER_OTLP_ENDPOINT");
    let all = diagnose(&f);
    let x = all.iter().find(|x| x.id == "config-invalid").unwrap();
    assert_eq!(x.severity, "error");
    assert!(
        x.detail
            .contains("at least one of 'network' or 'application'"),
        "{}",
        x.detail
    );
    assert!(
        all.iter()
            .any(|x| x.id == "exporter-endpoint" && x.severity == "error")
    );
}

#[test]
fn exporter_endpoint_localhost_and_port_protocol() {
    let mut f = healthy();
    f.config_text = Some(
        "discovery:\n  instrument:\n  - k8s_namespace: '*'\notel_traces_export:\n  endpoint: http://localhost:4317\n  protocol: http/protobuf\n".into(),
    );
    let all = diagnose(&f);
    let x = all.iter().find(|x| x.id == "exporter-endpoint").unwrap();
    assert!(
        x.detail.contains("localhost") || x.detail.contains("127.0.0.1"),
        "{}",
        x.detail
    );
    assert!(x.detail.contains("4317"), "{}", x.detail);
}

#[test]
fn host_network_without_dns_policy() {
    let mut f = healthy();
    let spec = f.pod_spec.as_mut().unwrap();
    spec["hostNetwork"] = true.into();
    assert_eq!(only(&f, "host-network-dns").severity, "error");
    f.pod_spec.as_mut().unwrap()["dnsPolicy"] = "ClusterFirstWithHostNet".into();
    assert!(ids(&f).is_empty());
}

#[test]
fn image_pull_errors_carry_the_message() {
    let mut f = healthy();
    f.pods.push(json!({"metadata": {"name": "obi-b"}, "spec": {"nodeName": "n2"},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "obi", "ready": false, "restartCount": 0,
        "image": "otel/ebpf-instrument:v9.9.9",
        "state": {"waiting": {"reason": "ImagePullBackOff", "message": "manifest for otel/ebpf-instrument:v9.9.9 not found"}}}]}}));
    let x = only(&f, "image-pull");
    assert!(
        x.detail
            .contains("manifest for otel/ebpf-instrument:v9.9.9 not found")
    );
}

#[test]
fn crash_loop_shows_the_previous_containers_errors() {
    let mut f = healthy();
    f.pods.push(json!({"metadata": {"name": "obi-c"}, "spec": {"nodeName": "n2"},
        "status": {"phase": "Running", "containerStatuses": [{"name": "obi", "ready": false, "restartCount": 5,
        "image": "otel/ebpf-instrument:v0.12.1",
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s"}},
        "lastState": {"terminated": {"exitCode": 255}}}]}}));
    f.previous_errors.push((
        "obi-c".into(),
        vec!["time=x level=ERROR msg=\"can't load BTF\" error=\"no BTF found for kernel version 5.10\"".into()],
    ));
    let x = only(&f, "crash-loop");
    assert!(x.detail.contains("no BTF found"), "{}", x.detail);
    assert!(x.fix.contains("BTF"));
}

#[test]
fn metadata_sync_lines_are_found() {
    let mut f = healthy();
    f.recent_lines.push((
        "obi-a".into(),
        vec!["time=x level=WARN msg=\"kubernetes cache has not been synced\" component=kube".into(),
             "time=x level=ERROR msg=\"failed to list *v1.ReplicaSet: replicasets.apps is forbidden\"".into()],
    ));
    let x = only(&f, "metadata-sync");
    assert!(x.detail.contains("has not been synced"));
    assert!(x.detail.contains("forbidden"));
}
