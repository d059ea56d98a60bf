//! What gets deployed: OBI's configuration and deploy options in, Kubernetes objects (JSON) out.
//! Pure functions; every fact about OBI comes from [`obi_config::facts`].
//!
//! Naming, for instance `<i>` in namespace `<ns>`: ServiceAccount and DaemonSet `<i>`, ConfigMap
//! `<i>-config`, ClusterRole and ClusterRoleBinding `obi-mcp-<ns>-<i>` (cluster-scoped names are
//! unique per namespace and instance). Every object carries the labels of [`labels`]; the
//! ConfigMap carries the deploy options (annotation [`OPTIONS_ANNOTATION`]) so later calls
//! (update_config, upgrade) re-render exactly the same objects, which server-side apply needs:
//! the field manager `obi-mcp` owns what it applied last, and anything left out would be pruned.
//!
//! Resources: requests `100m` CPU and `256Mi` memory, limit `1Gi` memory (no CPU limit, so OBI
//! is never throttled while it attaches probes); `resources.requests` / `resources.limits`
//! replace either part.

use std::collections::BTreeMap;

use obi_config::facts::{self, kubernetes as k8s};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::sha256;

/// Field manager of every server-side apply (set by the host).
pub const MANAGED_BY: &str = "obi-mcp";
/// `app.kubernetes.io/name`.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
/// `app.kubernetes.io/instance`.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// `app.kubernetes.io/managed-by`.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Marks a namespace obi-mcp created (and so may delete).
pub const CREATED_BY_ANNOTATION: &str = "obi-mcp.io/created-by";
/// The image before the last upgrade, for rollbacks.
pub const PREVIOUS_IMAGE_ANNOTATION: &str = "obi-mcp.io/previous-image";
/// The deploy options (JSON) on the ConfigMap.
pub const OPTIONS_ANNOTATION: &str = "obi-mcp.io/deploy-options";
/// Pod template label added to a sidecar target, so its pods can be found.
pub const SIDECAR_POD_LABEL: &str = "obi-mcp.io/sidecar-instance";
/// Pod template annotation whose change rolls the pods when the config changes.
pub const CHECKSUM_ANNOTATION: &str = "checksum/config";
/// Pod Security Admission enforcement label.
pub const PSA_LABEL: &str = "pod-security.kubernetes.io/enforce";
/// Name of the OBI container (DaemonSet and sidecar).
pub const CONTAINER: &str = "obi";
/// Name of the config volume.
pub const CONFIG_VOLUME: &str = "obi-config";

/// How OBI runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One OBI pod per node (the normal mode).
    #[default]
    Daemonset,
    /// An OBI container added to one workload's pods.
    Sidecar,
}

impl Mode {
    /// `daemonset` or `sidecar`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Daemonset => "daemonset",
            Mode::Sidecar => "sidecar",
        }
    }
}

/// Kind of a sidecar target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TargetKind {
    /// `apps/v1` Deployment.
    Deployment,
    /// `apps/v1` StatefulSet.
    StatefulSet,
}

impl TargetKind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Deployment => "Deployment",
            TargetKind::StatefulSet => "StatefulSet",
        }
    }
}

/// The workload a sidecar is injected into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    /// `Deployment` or `StatefulSet`.
    pub kind: TargetKind,
    /// Its name (in the call's namespace).
    pub name: String,
}

/// Everything the objects depend on besides the OBI configuration. Stored on the ConfigMap so
/// later calls render the same objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Options {
    /// DaemonSet or sidecar.
    pub mode: Mode,
    /// The OBI image (pinned).
    pub image: String,
    /// The image before the last change of image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_image: Option<String>,
    /// Value of `OTEL_EXPORTER_OTLP_ENDPOINT` (`${HOST_IP}` allowed).
    pub otlp_endpoint: String,
    /// Privileged container (else the exact capability set).
    pub privileged: bool,
    /// Capabilities added on top (without `CAP_`, uppercase).
    #[serde(default)]
    pub extra_capabilities: Vec<String>,
    /// `{requests, limits}` as given by the caller (merged over the defaults).
    #[serde(default)]
    pub resources: Map<String, Value>,
    /// Node selector.
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations; `None`: tolerate everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Value>>,
    /// Rules added to the ClusterRole.
    #[serde(default)]
    pub extra_rules: Vec<Value>,
    /// Sidecar target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Sidecar: the application's port (`OTEL_EBPF_OPEN_PORT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_port: Option<u16>,
    /// Sidecar: the target pods' service account (bound to the ClusterRole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
}

impl Options {
    /// Defaults for a DaemonSet with this image.
    pub fn daemonset(image: impl Into<String>) -> Self {
        Options {
            mode: Mode::Daemonset,
            image: image.into(),
            previous_image: None,
            otlp_endpoint: k8s::DEFAULT_OTLP_ENDPOINT.to_string(),
            privileged: true,
            extra_capabilities: Vec::new(),
            resources: Map::new(),
            node_selector: BTreeMap::new(),
            tolerations: None,
            extra_rules: Vec::new(),
            target: None,
            open_port: None,
            service_account: None,
        }
    }
}

/// One deployment: its namespace and instance name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Namespace.
    pub namespace: String,
    /// Instance name.
    pub name: String,
}

impl Instance {
    /// An instance, after checking both names are DNS labels (the instance at most 40
    /// characters, so derived names stay valid).
    pub fn new(namespace: &str, name: &str) -> Result<Self, String> {
        check_dns_label("namespace", namespace, 63)?;
        check_dns_label("instance", name, 40)?;
        Ok(Instance {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }

    /// DaemonSet and ServiceAccount name.
    pub fn workload_name(&self) -> String {
        self.name.clone()
    }

    /// ConfigMap name.
    pub fn config_map_name(&self) -> String {
        format!("{}-config", self.name)
    }

    /// ClusterRole and ClusterRoleBinding name.
    pub fn cluster_name(&self) -> String {
        format!("obi-mcp-{}-{}", self.namespace, self.name)
    }

    /// Label selector of everything obi-mcp created for this instance.
    pub fn selector(&self) -> String {
        format!(
            "{MANAGED_BY_LABEL}={MANAGED_BY},{INSTANCE_LABEL}={}",
            self.name
        )
    }

    /// Label selector of the instance's DaemonSet pods.
    pub fn pod_selector(&self) -> String {
        format!(
            "{NAME_LABEL}=obi,{INSTANCE_LABEL}={},{MANAGED_BY_LABEL}={MANAGED_BY}",
            self.name
        )
    }

    /// Label selector of the pods of a sidecar target.
    pub fn sidecar_pod_selector(&self) -> String {
        format!("{SIDECAR_POD_LABEL}={}", self.name)
    }
}

fn check_dns_label(what: &str, value: &str, max: usize) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} {value:?} is not a valid name: use 1-{max} characters of a-z, 0-9 and '-', \
             starting and ending with a letter or digit"
        ))
    }
}

/// The labels every object carries.
pub fn labels(instance: &Instance) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(NAME_LABEL.into(), "obi".into());
    m.insert(INSTANCE_LABEL.into(), instance.name.clone().into());
    m.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    m
}

fn metadata(instance: &Instance, name: &str, namespaced: bool) -> Value {
    let mut m = json!({"name": name, "labels": labels(instance)});
    if namespaced {
        m["namespace"] = instance.namespace.clone().into();
    }
    m
}

/// The namespace, created by obi-mcp: labelled for privileged pods and marked as ours.
pub fn namespace(instance: &Instance) -> Value {
    let mut labels = labels(instance);
    labels.insert(PSA_LABEL.into(), "privileged".into());
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": instance.namespace,
            "labels": labels,
            "annotations": {CREATED_BY_ANNOTATION: MANAGED_BY},
        },
    })
}

/// Whether a namespace allows privileged pods (PSA `enforce: privileged`, or no enforce label
/// at all, which admits everything unless the cluster sets a stricter default).
pub fn namespace_psa(namespace: &Value) -> Option<String> {
    namespace
        .pointer("/metadata/labels")
        .and_then(|l| l.get(PSA_LABEL))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The ServiceAccount of the DaemonSet.
pub fn service_account(instance: &Instance) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(instance, &instance.workload_name(), true),
    })
}

/// The rules OBI needs (core pods/services/nodes get/list/watch, apps/replicasets list/watch).
pub fn rbac_rules() -> Vec<Value> {
    k8s::RBAC_RULES
        .iter()
        .map(|(group, resources, verbs)| {
            json!({"apiGroups": [group], "resources": resources, "verbs": verbs})
        })
        .collect()
}

/// The ClusterRole: OBI's rules plus the caller's extra rules.
pub fn cluster_role(instance: &Instance, options: &Options) -> Value {
    let mut rules = rbac_rules();
    rules.extend(options.extra_rules.iter().cloned());
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": metadata(instance, &instance.cluster_name(), false),
        "rules": rules,
    })
}

/// The ClusterRoleBinding to the service account OBI runs as.
pub fn cluster_role_binding(instance: &Instance, options: &Options) -> Value {
    let account = match options.mode {
        Mode::Daemonset => instance.workload_name(),
        Mode::Sidecar => options
            .service_account
            .clone()
            .unwrap_or_else(|| "default".into()),
    };
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": metadata(instance, &instance.cluster_name(), false),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": instance.cluster_name(),
        },
        "subjects": [{
            "kind": "ServiceAccount",
            "name": account,
            "namespace": instance.namespace,
        }],
    })
}

/// The OBI configuration rendered as the ConfigMap's YAML.
pub fn config_yaml(config: &Value) -> Result<String, String> {
    obi_config::to_yaml(config).map_err(|e| e.to_string())
}

/// sha256 of the ConfigMap data (key and value), the value of `checksum/config`.
pub fn config_checksum(yaml: &str) -> String {
    let mut data = String::with_capacity(yaml.len() + 40);
    data.push_str(k8s::CONFIG_MAP_KEY);
    data.push('\n');
    data.push_str(yaml);
    sha256::hex(data.as_bytes())
}

/// The ConfigMap with the configuration under [`k8s::CONFIG_MAP_KEY`], carrying the options.
pub fn config_map(instance: &Instance, yaml: &str, options: &Options) -> Value {
    let mut meta = metadata(instance, &instance.config_map_name(), true);
    let options_json = serde_json::to_string(options).unwrap_or_default();
    meta["annotations"] = json!({ OPTIONS_ANNOTATION: options_json });
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": { k8s::CONFIG_MAP_KEY: yaml },
    })
}

/// The deploy options stored on a ConfigMap, if any.
pub fn options_of(config_map: &Value) -> Option<Options> {
    let text = config_map
        .pointer("/metadata/annotations")?
        .get(OPTIONS_ANNOTATION)?
        .as_str()?;
    serde_json::from_str(text).ok()
}

/// The YAML text of a ConfigMap's OBI configuration.
pub fn config_text(config_map: &Value) -> Option<&str> {
    config_map
        .pointer("/data")?
        .get(k8s::CONFIG_MAP_KEY)?
        .as_str()
}

/// What the configuration asks of the pod.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// Network metrics are enabled.
    pub network: bool,
    /// Context propagation is enabled (`ebpf.context_propagation` set and not `disabled`).
    pub context_propagation: bool,
    /// `network.source: tc`.
    pub tc: bool,
}

impl Needs {
    /// `hostNetwork` (network metrics or context propagation).
    pub fn host_network(self) -> bool {
        self.network || self.context_propagation
    }

    /// `NET_ADMIN` (context propagation or tc).
    pub fn net_admin(self) -> bool {
        self.context_propagation || self.tc
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn has_network_feature(v: Option<&Value>) -> bool {
    let names: Vec<String> = match v {
        Some(Value::Array(items)) => items.iter().filter_map(text_of).collect(),
        Some(Value::String(s)) => s.split(',').map(|p| p.trim().to_string()).collect(),
        _ => Vec::new(),
    };
    names
        .iter()
        .any(|n| n == "network" || n == "network_inter_zone")
}

/// Reads what a configuration (and the environment OBI gets) asks of the pod.
pub fn needs(config: &Value, env: &BTreeMap<String, String>) -> Needs {
    let network_enable = config
        .pointer("/network/enable")
        .and_then(text_of)
        .is_some_and(|t| t == "true");
    let network = network_enable
        || has_network_feature(config.pointer("/metrics/features"))
        || has_network_feature(config.pointer("/otel_metrics_export/features"))
        || has_network_feature(config.pointer("/prometheus_export/features"))
        || env
            .get("OTEL_EBPF_METRICS_FEATURES")
            .is_some_and(|f| has_network_feature(Some(&Value::String(f.clone()))))
        || env
            .get("OTEL_EBPF_NETWORK_METRICS")
            .is_some_and(|v| v == "true");
    let context_propagation = config
        .pointer("/ebpf/context_propagation")
        .and_then(text_of)
        .is_some_and(|v| !v.trim().is_empty() && v.trim() != "disabled");
    let tc = config
        .pointer("/network/source")
        .and_then(Value::as_str)
        .is_some_and(|s| s == "tc")
        || env
            .get("OTEL_EBPF_NETWORK_SOURCE")
            .is_some_and(|s| s == "tc");
    Needs {
        network,
        context_propagation,
        tc,
    }
}

/// Normalizes capability names (`cap_sys_admin` → `SYS_ADMIN`) and refuses unknown ones.
pub fn normalize_capabilities(given: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for raw in given {
        let upper = raw.trim().to_ascii_uppercase();
        let name = upper.strip_prefix("CAP_").unwrap_or(&upper).to_string();
        if !k8s::ALLOWED_EXTRA_CAPABILITIES.contains(&name.as_str()) {
            return Err(format!(
                "extraCapabilities: {raw:?} is not a capability OBI uses; allowed: {}",
                k8s::ALLOWED_EXTRA_CAPABILITIES.join(", ")
            ));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// The capability set of an unprivileged OBI for this configuration.
pub fn capabilities(options: &Options, needs: Needs) -> Vec<String> {
    let mut caps: Vec<String> = k8s::BASE_CAPABILITIES
        .iter()
        .map(|c| c.to_string())
        .collect();
    if needs.net_admin() {
        caps.push(k8s::NET_ADMIN.to_string());
    }
    for c in &options.extra_capabilities {
        if !caps.contains(c) {
            caps.push(c.clone());
        }
    }
    caps
}

/// The environment variables of the OBI container.
pub fn container_env(options: &Options) -> Vec<Value> {
    let mut env = vec![
        json!({"name": "HOST_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}}),
        json!({"name": facts::CONFIG_PATH_ENV, "value": k8s::CONFIG_FILE}),
        json!({"name": k8s::KUBE_METADATA_ENV, "value": "true"}),
        json!({"name": k8s::OTLP_ENDPOINT_ENV, "value": kube_expansion(&options.otlp_endpoint)}),
    ];
    if let Some(port) = options.open_port {
        env.push(json!({"name": k8s::OPEN_PORT_ENV, "value": port.to_string()}));
    }
    env
}

/// `${VAR}` (OBI's YAML syntax) as `$(VAR)`, which Kubernetes expands in env values.
fn kube_expansion(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str("$(");
        out.push_str(&rest[start + 2..start + 2 + len]);
        out.push(')');
        rest = &rest[start + 3 + len..];
    }
    out.push_str(rest);
    out
}

/// The environment as OBI sees it, for validation: `HOST_IP` gets a stand-in address.
pub fn validation_env(options: &Options) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("HOST_IP".to_string(), "10.0.0.1".to_string());
    env.insert(
        facts::CONFIG_PATH_ENV.to_string(),
        k8s::CONFIG_FILE.to_string(),
    );
    env.insert(k8s::KUBE_METADATA_ENV.to_string(), "true".to_string());
    env.insert(
        k8s::OTLP_ENDPOINT_ENV.to_string(),
        options.otlp_endpoint.replace("${HOST_IP}", "10.0.0.1"),
    );
    if let Some(port) = options.open_port {
        env.insert(k8s::OPEN_PORT_ENV.to_string(), port.to_string());
    }
    env
}

/// Default requests and limits, with the caller's parts replacing them.
pub fn resources(options: &Options) -> Value {
    let mut r = json!({
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"memory": "1Gi"},
    });
    for part in ["requests", "limits"] {
        if let Some(v) = options.resources.get(part) {
            r[part] = v.clone();
        }
    }
    r
}

fn security_context(options: &Options, needs: Needs) -> Value {
    match (options.mode, options.privileged) {
        (_, true) => json!({"privileged": true}),
        (Mode::Daemonset, false) => json!({
            "privileged": false,
            "runAsUser": 0,
            "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"], "add": capabilities(options, needs)},
        }),
        (Mode::Sidecar, false) => {
            let mut add = vec![k8s::SYS_ADMIN.to_string()];
            for c in &options.extra_capabilities {
                if !add.contains(c) {
                    add.push(c.clone());
                }
            }
            json!({"runAsUser": 0, "capabilities": {"add": add}})
        }
    }
}

fn config_mount() -> Value {
    json!({"name": CONFIG_VOLUME, "mountPath": k8s::CONFIG_MOUNT_DIR, "readOnly": true})
}

fn config_volume(instance: &Instance) -> Value {
    json!({"name": CONFIG_VOLUME, "configMap": {"name": instance.config_map_name()}})
}

/// The DaemonSet.
pub fn daemonset(instance: &Instance, options: &Options, config: &Value, checksum: &str) -> Value {
    let needs = needs(config, &validation_env(options));
    let pod_labels = labels(instance);
    let mut selector = Map::new();
    selector.insert(NAME_LABEL.into(), "obi".into());
    selector.insert(INSTANCE_LABEL.into(), instance.name.clone().into());
    let container = json!({
        "name": CONTAINER,
        "image": options.image,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": security_context(options, needs),
        "env": container_env(options),
        "resources": resources(options),
        "volumeMounts": [
            config_mount(),
            {"name": "cgroup", "mountPath": k8s::CGROUP_PATH, "readOnly": true},
            {"name": "tracing", "mountPath": k8s::TRACING_PATH},
            {"name": "var-run-obi", "mountPath": k8s::RUN_DIR},
        ],
    });
    let mut pod_spec = json!({
        "serviceAccountName": instance.workload_name(),
        "hostPID": true,
        "tolerations": options
            .tolerations
            .clone()
            .unwrap_or_else(|| vec![json!({"operator": "Exists"})]),
        "containers": [container],
        "volumes": [
            config_volume(instance),
            {"name": "cgroup", "hostPath": {"path": k8s::CGROUP_PATH}},
            {"name": "tracing", "hostPath": {"path": k8s::TRACING_PATH}},
            {"name": "var-run-obi", "emptyDir": {}},
        ],
    });
    if needs.host_network() {
        pod_spec["hostNetwork"] = true.into();
        pod_spec["dnsPolicy"] = "ClusterFirstWithHostNet".into();
    }
    if !options.node_selector.is_empty() {
        pod_spec["nodeSelector"] = json!(options.node_selector);
    }
    let mut meta = metadata(instance, &instance.workload_name(), true);
    if let Some(previous) = &options.previous_image {
        meta["annotations"] = json!({ PREVIOUS_IMAGE_ANNOTATION: previous });
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": meta,
        "spec": {
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": pod_labels,
                    "annotations": { CHECKSUM_ANNOTATION: checksum },
                },
                "spec": pod_spec,
            },
        },
    })
}

/// The partial workload applied to inject the sidecar: only the fields obi-mcp adds.
pub fn sidecar(
    instance: &Instance,
    options: &Options,
    target: &Target,
    config: &Value,
    checksum: &str,
) -> Value {
    let needs = needs(config, &validation_env(options));
    let container = json!({
        "name": CONTAINER,
        "image": options.image,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": security_context(options, needs),
        "env": container_env(options),
        "resources": resources(options),
        "volumeMounts": [config_mount()],
    });
    json!({
        "apiVersion": "apps/v1",
        "kind": target.kind.as_str(),
        "metadata": {"name": target.name, "namespace": instance.namespace},
        "spec": {
            "template": {
                "metadata": {
                    "labels": { SIDECAR_POD_LABEL: instance.name },
                    "annotations": { CHECKSUM_ANNOTATION: checksum },
                },
                "spec": {
                    "shareProcessNamespace": true,
                    "containers": [container],
                    "volumes": [config_volume(instance)],
                },
            },
        },
    })
}

/// The object applied to remove the sidecar: with the same field manager and none of its
/// fields, server-side apply prunes everything the sidecar apply had set.
pub fn sidecar_removal(namespace: &str, target: &Target) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": target.kind.as_str(),
        "metadata": {"name": target.name, "namespace": namespace},
    })
}

/// The application's first container port of a Deployment or StatefulSet, if any.
pub fn first_container_port(workload: &Value) -> Option<u16> {
    workload
        .pointer("/spec/template/spec/containers")?
        .as_array()?
        .iter()
        .filter(|c| c.get("name").and_then(Value::as_str) != Some(CONTAINER))
        .flat_map(|c| {
            c.get("ports")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .find_map(|p| p.get("containerPort")?.as_u64())
        .and_then(|p| u16::try_from(p).ok())
}

/// The service account a workload's pods run as (`default` when unset).
pub fn pod_service_account(workload: &Value) -> String {
    workload
        .pointer("/spec/template/spec/serviceAccountName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
        .to_string()
}

/// The default OBI configuration for the cluster: instrument every workload (OBI's default
/// exclusions still apply), decorate with Kubernetes metadata, export traces and metrics over
/// OTLP. A sidecar instruments its pod's port (`OTEL_EBPF_OPEN_PORT`), so it needs no discovery.
pub fn default_config(mode: Mode, otlp_endpoint: &str) -> Value {
    let mut config = Map::new();
    if mode == Mode::Daemonset {
        config.insert(
            "discovery".into(),
            json!({"instrument": [{"k8s_namespace": "*"}]}),
        );
    }
    config.insert("attributes".into(), json!({"kubernetes": {"enable": true}}));
    config.insert(
        "otel_traces_export".into(),
        json!({ "endpoint": otlp_endpoint }),
    );
    config.insert(
        "otel_metrics_export".into(),
        json!({ "endpoint": otlp_endpoint }),
    );
    Value::Object(config)
}

/// The OTLP endpoint of a configuration (metrics, else traces), for `OTEL_EXPORTER_OTLP_ENDPOINT`.
pub fn config_endpoint(config: &Value) -> Option<String> {
    [
        "/otel_metrics_export/endpoint",
        "/otel_traces_export/endpoint",
    ]
    .iter()
    .find_map(|p| config.pointer(p).and_then(Value::as_str))
    .map(str::to_string)
}

/// Resolves the image to deploy: `image` (a reference with a tag or digest), else the
/// repository of `default` with `version`, else `default`. `latest`, and references with
/// neither tag nor digest, are refused. Returns the image and warnings.
pub fn resolve_image(
    image: Option<&str>,
    version: Option<&str>,
    default: &str,
) -> Result<(String, Vec<String>), String> {
    let mut warnings = Vec::new();
    let version = version.map(str::trim).filter(|v| !v.is_empty());
    let resolved = match image.map(str::trim).filter(|i| !i.is_empty()) {
        Some(image) => {
            let r = ImageRef::parse(image)?;
            match (&r.tag, &r.digest, version) {
                (_, Some(_), _) => image.to_string(),
                (Some(tag), None, Some(v)) if normalize_version(v)? != *tag => {
                    return Err(format!(
                        "image {image:?} has tag {tag:?} but version is {v:?}: give one of them"
                    ));
                }
                (Some(_), None, _) => image.to_string(),
                (None, None, Some(v)) => format!("{}:{}", r.repository, normalize_version(v)?),
                (None, None, None) => {
                    return Err(format!(
                        "image {image:?} has no tag: pin a release, e.g. {}:{}",
                        r.repository,
                        facts::DEFAULT_OBI_VERSION
                    ));
                }
            }
        }
        None => {
            let d = ImageRef::parse(default).map_err(|e| {
                format!("the default image (toolsets.kubernetes.default_image) is unusable: {e}")
            })?;
            match version {
                Some(v) => format!("{}:{}", d.repository, normalize_version(v)?),
                None if d.tag.is_none() && d.digest.is_none() => {
                    return Err(format!(
                        "the default image {default:?} (toolsets.kubernetes.default_image) has \
                         no tag: pin a release such as {}:{}",
                        d.repository,
                        facts::DEFAULT_OBI_VERSION
                    ));
                }
                None => default.to_string(),
            }
        }
    };
    let r = ImageRef::parse(&resolved)?;
    if r.tag.as_deref() == Some("latest") && r.digest.is_none() {
        return Err(format!(
            "{resolved:?} uses the tag `latest`, which obi-mcp never deploys: it changes under \
             you and rolls nodes to different releases. Pin a release, e.g. version: \"{}\"",
            facts::DEFAULT_OBI_VERSION
        ));
    }
    if r.tag.as_deref() == Some("main") && r.digest.is_none() {
        warnings.push(format!(
            "{resolved}: `main` is OBI's development build and changes with every commit; pin a \
             release (e.g. {}) for anything but testing",
            facts::DEFAULT_OBI_VERSION
        ));
    }
    let known = facts::IMAGES
        .iter()
        .any(|known| r.repository == *known || r.repository == format!("docker.io/{known}"));
    if !known {
        warnings.push(format!(
            "{} is not one of OBI's published images ({}); make sure it is an OBI build",
            r.repository,
            facts::IMAGES.join(", ")
        ));
    }
    Ok((resolved, warnings))
}

fn normalize_version(v: &str) -> Result<String, String> {
    if v.eq_ignore_ascii_case("latest") {
        return Err(format!(
            "version `latest` is refused: obi-mcp deploys pinned releases only, e.g. {}",
            facts::DEFAULT_OBI_VERSION
        ));
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(format!("version {v:?} is not a valid image tag"));
    }
    Ok(if v.starts_with(|c: char| c.is_ascii_digit()) {
        format!("v{v}")
    } else {
        v.to_string()
    })
}

/// An image reference split into repository, tag and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry and path.
    pub repository: String,
    /// Tag, if any.
    pub tag: Option<String>,
    /// `sha256:<hex>` digest, if any.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses `repo[:tag][@sha256:hex]`.
    pub fn parse(image: &str) -> Result<Self, String> {
        let image = image.trim();
        if image.is_empty() || image.chars().any(char::is_whitespace) {
            return Err(format!("{image:?} is not an image reference"));
        }
        let (name, digest) = match image.split_once('@') {
            Some((n, d)) => {
                let hex = d.strip_prefix("sha256:").unwrap_or("");
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!(
                        "{image:?}: the digest must be sha256: followed by 64 hex digits"
                    ));
                }
                (n, Some(d.to_string()))
            }
            None => (image, None),
        };
        let slash = name.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name[slash..].rfind(':') {
            Some(i) => (
                name[..slash + i].to_string(),
                Some(name[slash + i + 1..].to_string()),
            ),
            None => (name.to_string(), None),
        };
        if repository.is_empty() || tag.as_deref() == Some("") {
            return Err(format!("{image:?} is not an image reference"));
        }
        Ok(ImageRef {
            repository,
            tag,
            digest,
        })
    }
}

/// The default image: `toolsets.kubernetes.default_image`, else OBI's image at the pinned
/// release.
pub fn default_image(configured: Option<&str>) -> String {
    configured
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}:{}", facts::IMAGES[0], facts::DEFAULT_OBI_VERSION))
}

/// Every object of a deployment, in apply order. The namespace comes first when obi-mcp has to
/// create it; a sidecar's workload object comes last.
pub fn objects(
    instance: &Instance,
    options: &Options,
    config: &Value,
    create_namespace: bool,
) -> Result<Vec<Value>, String> {
    let yaml = config_yaml(config)?;
    let checksum = config_checksum(&yaml);
    let mut out = Vec::new();
    if create_namespace {
        out.push(namespace(instance));
    }
    if options.mode == Mode::Daemonset {
        out.push(service_account(instance));
    }
    out.push(cluster_role(instance, options));
    out.push(cluster_role_binding(instance, options));
    out.push(config_map(instance, &yaml, options));
    match (options.mode, &options.target) {
        (Mode::Daemonset, _) => out.push(daemonset(instance, options, config, &checksum)),
        (Mode::Sidecar, Some(target)) => {
            out.push(sidecar(instance, options, target, config, &checksum))
        }
        (Mode::Sidecar, None) => return Err("sidecar mode needs a target".into()),
    }
    Ok(out)
}

/// Objects as multi-document YAML.
pub fn to_multi_doc_yaml(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| obi_config::to_yaml(o).unwrap_or_else(|e| format!("# {e}\n")))
        .collect::<Vec<_>>()
        .join("---\n")
}

#[cfg(test)]
mod tests;
