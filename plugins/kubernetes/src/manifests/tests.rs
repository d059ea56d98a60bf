//! The manifests, field by field against OBI's Kubernetes facts (shared/OBI.md).

use super::*;
use serde_json::json;

fn inst() -> Instance {
    Instance::new("obi-system", "obi").unwrap()
}

fn default_config() -> Value {
    super::default_config(Mode::Daemonset, k8s::DEFAULT_OTLP_ENDPOINT)
}

fn ds_with(options: &Options, config: &Value) -> Value {
    let yaml = config_yaml(config).unwrap();
    daemonset(&inst(), options, config, &config_checksum(&yaml))
}

fn ds() -> Value {
    ds_with(
        &Options::daemonset("otel/ebpf-instrument:v0.12.1"),
        &default_config(),
    )
}

fn container(ds: &Value) -> &Value {
    &ds["spec"]["template"]["spec"]["containers"][0]
}

fn env(ds: &Value) -> Vec<(String, Value)> {
    container(ds)["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let name = e["name"].as_str().unwrap().to_string();
            let value = e.get("value").cloned().unwrap_or(e["valueFrom"].clone());
            (name, value)
        })
        .collect()
}

fn caps(ds: &Value) -> Vec<String> {
    container(ds)["securityContext"]["capabilities"]["add"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

fn unprivileged() -> Options {
    Options {
        privileged: false,
        ..Options::daemonset("otel/ebpf-instrument:v0.12.1")
    }
}

#[test]
fn every_object_carries_the_three_labels() {
    let objects = objects(
        &inst(),
        &Options::daemonset("otel/ebpf-instrument:v0.12.1"),
        &default_config(),
        true,
    )
    .unwrap();
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "ConfigMap",
            "DaemonSet"
        ]
    );
    for o in &objects {
        let l = &o["metadata"]["labels"];
        assert_eq!(l["app.kubernetes.io/name"], "obi", "{o}");
        assert_eq!(l["app.kubernetes.io/instance"], "obi", "{o}");
        assert_eq!(l["app.kubernetes.io/managed-by"], "obi-mcp", "{o}");
    }
    let pod_labels = &objects[5]["spec"]["template"]["metadata"]["labels"];
    assert_eq!(pod_labels["app.kubernetes.io/managed-by"], "obi-mcp");
    assert_eq!(pod_labels["app.kubernetes.io/instance"], "obi");
    let selector = &objects[5]["spec"]["selector"]["matchLabels"];
    assert_eq!(
        selector,
        &json!({"app.kubernetes.io/name": "obi", "app.kubernetes.io/instance": "obi"})
    );
}

#[test]
fn namespace_is_privileged_and_marked_as_created_by_obi_mcp() {
    let ns = namespace(&inst());
    assert_eq!(ns["metadata"]["name"], "obi-system");
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    assert_eq!(
        ns["metadata"]["annotations"]["obi-mcp.io/created-by"],
        "obi-mcp"
    );
    assert_eq!(namespace_psa(&ns).as_deref(), Some("privileged"));
    assert_eq!(namespace_psa(&json!({"metadata": {"name": "x"}})), None);
    let without = objects(
        &inst(),
        &Options::daemonset("otel/ebpf-instrument:v0.12.1"),
        &default_config(),
        false,
    )
    .unwrap();
    assert!(without.iter().all(|o| o["kind"] != "Namespace"));
}

#[test]
fn cluster_scoped_names_are_unique_per_namespace_and_instance() {
    let a = Instance::new("team-a", "obi").unwrap();
    let b = Instance::new("team-b", "obi").unwrap();
    let options = Options::daemonset("otel/ebpf-instrument:v0.12.1");
    assert_eq!(
        cluster_role(&a, &options)["metadata"]["name"],
        "obi-mcp-team-a-obi"
    );
    assert_ne!(
        cluster_role(&a, &options)["metadata"]["name"],
        cluster_role(&b, &options)["metadata"]["name"]
    );
    assert!(
        cluster_role(&a, &options)["metadata"]
            .get("namespace")
            .is_none()
    );
    let binding = cluster_role_binding(&a, &options);
    assert_eq!(binding["roleRef"]["name"], "obi-mcp-team-a-obi");
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "obi", "namespace": "team-a"}])
    );
}

#[test]
fn cluster_role_has_obis_rules_including_apps_replicasets() {
    let mut options = Options::daemonset("otel/ebpf-instrument:v0.12.1");
    options.extra_rules =
        vec![json!({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]})];
    let role = cluster_role(&inst(), &options);
    assert_eq!(
        role["rules"],
        json!([
            {"apiGroups": [""], "resources": ["pods", "services", "nodes"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list", "watch"]},
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
        ])
    );
}

#[test]
fn instance_names_are_checked() {
    assert!(Instance::new("obi-system", "obi-2").is_ok());
    assert!(Instance::new("obi-system", "Obi").is_err());
    assert!(Instance::new("obi_system", "obi").is_err());
    assert!(Instance::new("obi-system", "-obi").is_err());
    assert!(Instance::new("obi-system", &"a".repeat(41)).is_err());
    let i = inst();
    assert_eq!(
        i.selector(),
        "app.kubernetes.io/managed-by=obi-mcp,app.kubernetes.io/instance=obi"
    );
    assert_eq!(i.config_map_name(), "obi-config");
}

#[test]
fn config_map_holds_the_config_under_obis_key_and_the_options() {
    let options = Options::daemonset("otel/ebpf-instrument:v0.12.1");
    let yaml = config_yaml(&default_config()).unwrap();
    let cm = config_map(&inst(), &yaml, &options);
    assert_eq!(cm["metadata"]["name"], "obi-config");
    assert_eq!(cm["metadata"]["namespace"], "obi-system");
    assert_eq!(config_text(&cm), Some(yaml.as_str()));
    assert!(cm["data"].get("ebpf-instrument-config.yml").is_some());
    assert_eq!(options_of(&cm), Some(options));
    assert_eq!(
        yaml,
        "discovery:\n  instrument:\n  - k8s_namespace: '*'\nattributes:\n  kubernetes:\n    enable: true\n\
         otel_traces_export:\n  endpoint: http://${HOST_IP}:4318\notel_metrics_export:\n  endpoint: http://${HOST_IP}:4318\n"
    );
}

#[test]
fn default_config_is_valid_for_obi_in_a_pod() {
    let options = Options::daemonset("otel/ebpf-instrument:v0.12.1");
    let opts = obi_config::ValidateOptions {
        target: obi_config::Target::Kubernetes,
        env: validation_env(&options),
    };
    let report = obi_config::validate(&default_config(), &opts);
    assert!(report.is_valid(), "{}", report.summary());
    assert_eq!(report.warnings(), 0, "{}", report.summary());
    let mut sidecar_options = options.clone();
    sidecar_options.open_port = Some(8080);
    let report = obi_config::validate(
        &super::default_config(Mode::Sidecar, k8s::DEFAULT_OTLP_ENDPOINT),
        &obi_config::ValidateOptions {
            target: obi_config::Target::Kubernetes,
            env: validation_env(&sidecar_options),
        },
    );
    assert!(report.is_valid(), "{}", report.summary());
}

#[test]
fn daemonset_runs_in_the_host_pid_namespace_privileged_by_default() {
    let ds = ds();
    let spec = &ds["spec"]["template"]["spec"];
    assert_eq!(spec["hostPID"], true);
    assert_eq!(spec["serviceAccountName"], "obi");
    assert_eq!(container(&ds)["name"], "obi");
    assert_eq!(container(&ds)["image"], "otel/ebpf-instrument:v0.12.1");
    assert_eq!(
        container(&ds)["securityContext"],
        json!({"privileged": true})
    );
    // the default config has neither network metrics nor context propagation
    assert!(spec.get("hostNetwork").is_none());
    assert!(spec.get("dnsPolicy").is_none());
}

#[test]
fn unprivileged_daemonset_has_the_exact_capability_set() {
    let ds = ds_with(&unprivileged(), &default_config());
    let sc = &container(&ds)["securityContext"];
    assert_eq!(sc["privileged"], false);
    assert_eq!(sc["runAsUser"], 0);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(
        caps(&ds),
        [
            "BPF",
            "SYS_PTRACE",
            "NET_RAW",
            "CHECKPOINT_RESTORE",
            "DAC_READ_SEARCH",
            "PERFMON"
        ]
    );
}

#[test]
fn net_admin_comes_with_context_propagation_or_tc() {
    let mut config = default_config();
    config["ebpf"] = json!({"context_propagation": "all"});
    assert!(caps(&ds_with(&unprivileged(), &config)).contains(&"NET_ADMIN".to_string()));
    let mut config = default_config();
    config["ebpf"] = json!({"context_propagation": "disabled"});
    assert!(!caps(&ds_with(&unprivileged(), &config)).contains(&"NET_ADMIN".to_string()));
    let mut config = default_config();
    config["network"] = json!({"enable": true, "source": "tc"});
    assert!(caps(&ds_with(&unprivileged(), &config)).contains(&"NET_ADMIN".to_string()));
    let mut config = default_config();
    config["network"] = json!({"enable": true});
    assert!(!caps(&ds_with(&unprivileged(), &config)).contains(&"NET_ADMIN".to_string()));
}

#[test]
fn sys_admin_only_on_request() {
    let mut options = unprivileged();
    assert!(!caps(&ds_with(&options, &default_config())).contains(&"SYS_ADMIN".to_string()));
    options.extra_capabilities =
        normalize_capabilities(&["cap_sys_admin".into(), "SYS_ADMIN".into()]).unwrap();
    assert_eq!(options.extra_capabilities, ["SYS_ADMIN"]);
    let c = caps(&ds_with(&options, &default_config()));
    assert_eq!(c.iter().filter(|c| *c == "SYS_ADMIN").count(), 1);
    assert!(normalize_capabilities(&["CAP_CHOWNX".into()]).is_err());
}

#[test]
fn host_network_only_when_needed_and_then_with_cluster_first_with_host_net() {
    for patch in [
        json!({"network": {"enable": true}}),
        json!({"metrics": {"features": ["application", "network"]}}),
        json!({"otel_metrics_export": {"features": "network_inter_zone"}}),
        json!({"ebpf": {"context_propagation": "headers"}}),
    ] {
        let mut config = default_config();
        obi_config::merge_patch(&mut config, &patch);
        let ds = ds_with(&Options::daemonset("otel/ebpf-instrument:v0.12.1"), &config);
        let spec = &ds["spec"]["template"]["spec"];
        assert_eq!(spec["hostNetwork"], true, "{patch}");
        assert_eq!(spec["dnsPolicy"], "ClusterFirstWithHostNet", "{patch}");
    }
}

#[test]
fn env_points_obi_at_the_mounted_config_file() {
    let ds = ds();
    assert_eq!(
        env(&ds),
        vec![
            (
                "HOST_IP".to_string(),
                json!({"fieldRef": {"fieldPath": "status.hostIP"}})
            ),
            (
                "OTEL_EBPF_CONFIG_PATH".to_string(),
                json!("/etc/ebpf-instrument/config/ebpf-instrument-config.yml")
            ),
            ("OTEL_EBPF_KUBE_METADATA_ENABLE".to_string(), json!("true")),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT".to_string(),
                json!("http://$(HOST_IP):4318")
            ),
        ]
    );
    // the file OBI reads is the ConfigMap's key under the config mount
    let mount = &container(&ds)["volumeMounts"][0];
    assert_eq!(
        format!(
            "{}/{}",
            mount["mountPath"].as_str().unwrap(),
            k8s::CONFIG_MAP_KEY
        ),
        k8s::CONFIG_FILE
    );
    assert_eq!(
        ds["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"],
        "obi-config"
    );
}

#[test]
fn mounts_are_config_cgroup_readonly_tracing_and_run_dir() {
    let ds = ds();
    assert_eq!(
        container(&ds)["volumeMounts"],
        json!([
            {"name": "obi-config", "mountPath": "/etc/ebpf-instrument/config", "readOnly": true},
            {"name": "cgroup", "mountPath": "/sys/fs/cgroup", "readOnly": true},
            {"name": "tracing", "mountPath": "/sys/kernel/tracing"},
            {"name": "var-run-obi", "mountPath": "/var/run/obi"},
        ])
    );
    assert_eq!(
        ds["spec"]["template"]["spec"]["volumes"],
        json!([
            {"name": "obi-config", "configMap": {"name": "obi-config"}},
            {"name": "cgroup", "hostPath": {"path": "/sys/fs/cgroup"}},
            {"name": "tracing", "hostPath": {"path": "/sys/kernel/tracing"}},
            {"name": "var-run-obi", "emptyDir": {}},
        ])
    );
}

#[test]
fn tolerations_default_to_everything_unless_given() {
    let ds = ds();
    assert_eq!(
        ds["spec"]["template"]["spec"]["tolerations"],
        json!([{"operator": "Exists"}])
    );
    let mut options = Options::daemonset("otel/ebpf-instrument:v0.12.1");
    options.tolerations = Some(vec![
        json!({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}),
    ]);
    options
        .node_selector
        .insert("kubernetes.io/os".into(), "linux".into());
    let ds = ds_with(&options, &default_config());
    assert_eq!(
        ds["spec"]["template"]["spec"]["tolerations"],
        json!([{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}])
    );
    assert_eq!(
        ds["spec"]["template"]["spec"]["nodeSelector"],
        json!({"kubernetes.io/os": "linux"})
    );
}

#[test]
fn resources_have_defaults_and_caller_parts_replace_them() {
    assert_eq!(
        container(&ds())["resources"],
        json!({"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}})
    );
    let mut options = Options::daemonset("otel/ebpf-instrument:v0.12.1");
    options.resources = json!({"limits": {"memory": "2Gi", "cpu": "1"}})
        .as_object()
        .unwrap()
        .clone();
    assert_eq!(
        container(&ds_with(&options, &default_config()))["resources"],
        json!({"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "2Gi", "cpu": "1"}})
    );
}

#[test]
fn checksum_annotation_changes_with_the_config() {
    let a = ds();
    let mut config = default_config();
    config["log_level"] = "DEBUG".into();
    let b = ds_with(&Options::daemonset("otel/ebpf-instrument:v0.12.1"), &config);
    let sum = |ds: &Value| {
        ds["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(sum(&a).len(), 64);
    assert_ne!(sum(&a), sum(&b));
    assert_eq!(sum(&a), sum(&ds()));
    let yaml = config_yaml(&default_config()).unwrap();
    assert_eq!(
        config_checksum(&yaml),
        sha256::hex(format!("ebpf-instrument-config.yml\n{yaml}").as_bytes())
    );
}

#[test]
fn previous_image_is_recorded_on_the_daemonset() {
    let mut options = Options::daemonset("otel/ebpf-instrument:v0.12.1");
    options.previous_image = Some("otel/ebpf-instrument:v0.11.0".into());
    let ds = ds_with(&options, &default_config());
    assert_eq!(
        ds["metadata"]["annotations"]["obi-mcp.io/previous-image"],
        "otel/ebpf-instrument:v0.11.0"
    );
}

#[test]
fn image_is_pinned_by_default_and_overridable() {
    let default = default_image(None);
    assert_eq!(
        default,
        format!("otel/ebpf-instrument:{}", facts::DEFAULT_OBI_VERSION)
    );
    assert_eq!(resolve_image(None, None, &default).unwrap().0, default);
    assert_eq!(
        resolve_image(None, Some("0.11.0"), &default).unwrap().0,
        "otel/ebpf-instrument:v0.11.0"
    );
    assert_eq!(
        resolve_image(
            None,
            Some("v0.14.0"),
            "ghcr.io/open-telemetry/opentelemetry-ebpf-instrumentation/ebpf-instrument:v0.12.1"
        )
        .unwrap()
        .0,
        "ghcr.io/open-telemetry/opentelemetry-ebpf-instrumentation/ebpf-instrument:v0.14.0"
    );
    let (image, warnings) = resolve_image(
        Some("registry.local:5000/obi/ebpf-instrument:v0.12.1"),
        None,
        &default,
    )
    .unwrap();
    assert_eq!(image, "registry.local:5000/obi/ebpf-instrument:v0.12.1");
    assert_eq!(
        warnings.len(),
        1,
        "an unknown repository is worth a warning"
    );
    assert_eq!(
        resolve_image(Some("otel/ebpf-instrument"), Some("v0.12.1"), &default)
            .unwrap()
            .0,
        "otel/ebpf-instrument:v0.12.1"
    );
    assert!(
        resolve_image(
            Some("otel/ebpf-instrument:v0.11.0"),
            Some("v0.12.1"),
            &default
        )
        .is_err()
    );
}

#[test]
fn image_digest_is_accepted() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let image = format!("otel/ebpf-instrument@{digest}");
    let (resolved, warnings) = resolve_image(Some(&image), None, "x:1").unwrap();
    assert_eq!(resolved, image);
    assert!(warnings.is_empty());
    let r = ImageRef::parse(&format!("otel/ebpf-instrument:v0.12.1@{digest}")).unwrap();
    assert_eq!(r.tag.as_deref(), Some("v0.12.1"));
    assert_eq!(r.digest.as_deref(), Some(digest.as_str()));
    assert!(ImageRef::parse("otel/ebpf-instrument@sha256:abc").is_err());
}

#[test]
fn latest_and_untagged_images_are_refused() {
    let default = default_image(None);
    for (image, version) in [
        (Some("otel/ebpf-instrument:latest"), None),
        (Some("otel/ebpf-instrument"), None),
        (None, Some("latest")),
        (Some("otel/ebpf-instrument"), Some("LATEST")),
    ] {
        let err = resolve_image(image, version, &default).unwrap_err();
        assert!(err.contains("latest") || err.contains("no tag"), "{err}");
    }
    let err = resolve_image(None, None, "otel/ebpf-instrument").unwrap_err();
    assert!(err.contains("default_image"), "{err}");
    let err = resolve_image(None, None, "otel/ebpf-instrument:latest").unwrap_err();
    assert!(err.contains("latest"), "{err}");
    let (_, warnings) = resolve_image(None, Some("main"), &default).unwrap();
    assert!(warnings[0].contains("development build"));
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "checkout", "namespace": "shop"},
        "spec": {"template": {"spec": {
            "serviceAccountName": "checkout-sa",
            "containers": [
                {"name": "app", "image": "shop/checkout:1", "ports": [{"containerPort": 8080}, {"containerPort": 9090}]},
            ],
        }}},
    })
}

fn sidecar_options() -> Options {
    Options {
        mode: Mode::Sidecar,
        target: Some(Target {
            kind: TargetKind::Deployment,
            name: "checkout".into(),
        }),
        open_port: first_container_port(&deployment()),
        service_account: Some(pod_service_account(&deployment())),
        ..Options::daemonset("otel/ebpf-instrument:v0.12.1")
    }
}

#[test]
fn sidecar_reads_port_and_service_account_from_the_target() {
    assert_eq!(first_container_port(&deployment()), Some(8080));
    assert_eq!(pod_service_account(&deployment()), "checkout-sa");
    let bare = json!({"spec": {"template": {"spec": {"containers": [{"name": "app"}]}}}});
    assert_eq!(first_container_port(&bare), None);
    assert_eq!(pod_service_account(&bare), "default");
}

#[test]
fn sidecar_object_contains_only_what_obi_mcp_adds() {
    let i = Instance::new("shop", "obi").unwrap();
    let options = sidecar_options();
    let config = super::default_config(Mode::Sidecar, &options.otlp_endpoint);
    let obj = sidecar(
        &i,
        &options,
        options.target.as_ref().unwrap(),
        &config,
        "abc",
    );
    assert_eq!(obj["kind"], "Deployment");
    assert_eq!(
        obj["metadata"],
        json!({"name": "checkout", "namespace": "shop"})
    );
    let spec = &obj["spec"]["template"]["spec"];
    assert_eq!(spec["shareProcessNamespace"], true);
    assert!(spec.get("hostPID").is_none());
    assert!(obj["spec"].get("selector").is_none());
    assert!(obj["spec"].get("replicas").is_none());
    assert!(
        spec.get("serviceAccountName").is_none(),
        "never replace the app's account"
    );
    let containers = spec["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0]["name"], "obi");
    assert_eq!(
        containers[0]["securityContext"],
        json!({"privileged": true})
    );
    let env = env(&obj);
    assert!(env.contains(&("OTEL_EBPF_OPEN_PORT".into(), json!("8080"))));
    assert!(env.contains(&("OTEL_EBPF_KUBE_METADATA_ENABLE".into(), json!("true"))));
    assert!(env.iter().any(|(n, _)| n == "OTEL_EXPORTER_OTLP_ENDPOINT"));
    assert!(env.iter().any(|(n, _)| n == "OTEL_EBPF_CONFIG_PATH"));
    assert_eq!(
        spec["volumes"],
        json!([{"name": "obi-config", "configMap": {"name": "obi-config"}}])
    );
    assert_eq!(
        obj["spec"]["template"]["metadata"]["labels"]["obi-mcp.io/sidecar-instance"],
        "obi"
    );
    let unprivileged = Options {
        privileged: false,
        ..options.clone()
    };
    let obj = sidecar(
        &i,
        &unprivileged,
        options.target.as_ref().unwrap(),
        &config,
        "abc",
    );
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"][0]["securityContext"],
        json!({"runAsUser": 0, "capabilities": {"add": ["SYS_ADMIN"]}})
    );
}

#[test]
fn sidecar_rbac_binds_the_pods_service_account_and_creates_none() {
    let i = Instance::new("shop", "obi").unwrap();
    let options = sidecar_options();
    let config = super::default_config(Mode::Sidecar, &options.otlp_endpoint);
    let objs = objects(&i, &options, &config, false).unwrap();
    let kinds: Vec<&str> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "ConfigMap",
            "Deployment"
        ]
    );
    assert_eq!(
        objs[1]["subjects"],
        json!([{"kind": "ServiceAccount", "name": "checkout-sa", "namespace": "shop"}])
    );
}

#[test]
fn sidecar_removal_object_has_no_fields_of_ours() {
    let target = Target {
        kind: TargetKind::StatefulSet,
        name: "db".into(),
    };
    assert_eq!(
        to_multi_doc_yaml(&[sidecar_removal("shop", &target)]),
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\n  namespace: shop\n"
    );
}

#[test]
fn manifests_render_as_multi_document_yaml() {
    let objs = objects(
        &inst(),
        &Options::daemonset("otel/ebpf-instrument:v0.12.1"),
        &default_config(),
        true,
    )
    .unwrap();
    let yaml = to_multi_doc_yaml(&objs);
    assert_eq!(
        yaml.matches("\n---\n").count() + usize::from(yaml.starts_with("---")),
        5
    );
    assert!(yaml.starts_with("apiVersion: v1\nkind: Namespace\n"));
    assert!(yaml.contains("  ebpf-instrument-config.yml: |"), "{yaml}");
    assert!(yaml.contains("hostPID: true"));
}

#[test]
fn needs_reads_environment_too() {
    let mut env = BTreeMap::new();
    env.insert(
        "OTEL_EBPF_METRICS_FEATURES".to_string(),
        "application,network".to_string(),
    );
    assert!(needs(&json!({}), &env).host_network());
    assert_eq!(needs(&json!({}), &BTreeMap::new()), Needs::default());
}
