//! Diagnosis: from facts gathered about an instance to findings, each with a concrete fix.
//! Pure; [`crate::inspect`] gathers the facts.

use std::collections::BTreeMap;

use obi_config::facts::kubernetes as k8s;
use obi_config::{Severity, Target as ValidationTarget, ValidateOptions};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::logs::{Level, line_level};
use crate::manifests::{self, Mode};
use crate::status;

/// One problem found.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Finding {
    /// Stable id: `not-deployed`, `kernel-too-old`, `namespace-psa`, `rbac-missing`,
    /// `config-invalid`, `exporter-endpoint`, `host-network-dns`, `image-pull`, `crash-loop`,
    /// `metadata-sync`.
    pub id: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    /// One line.
    pub title: String,
    /// What was seen.
    pub detail: String,
    /// What to do.
    pub fix: String,
}

fn finding(id: &str, severity: &str, title: String, detail: String, fix: String) -> Finding {
    Finding {
        id: id.into(),
        severity: severity.into(),
        title,
        detail,
        fix,
    }
}

/// An object looked up for the diagnosis.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// It exists.
    Found(Value),
    /// It does not exist.
    Missing,
    /// It could not be read (the host's message).
    Unknown(String),
}

/// What the diagnosis looks at.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Namespace.
    pub namespace: String,
    /// Instance.
    pub instance: String,
    /// Mode, when deployed.
    pub mode: Option<Mode>,
    /// The namespace object.
    pub namespace_obj: Lookup,
    /// Nodes (name and kernelVersion at least).
    pub nodes: Vec<Value>,
    /// The ClusterRole.
    pub cluster_role: Lookup,
    /// The ClusterRoleBinding.
    pub binding: Lookup,
    /// The service account OBI runs as: (namespace, name) and whether it exists.
    pub service_account: Option<((String, String), Lookup)>,
    /// The configuration text, when deployed.
    pub config_text: Option<String>,
    /// The OBI container's environment (valueFrom entries as stand-ins).
    pub env: BTreeMap<String, String>,
    /// The workload's pod spec.
    pub pod_spec: Option<Value>,
    /// OBI pods (projected).
    pub pods: Vec<Value>,
    /// ERROR lines of the previous container of crash-looping pods.
    pub previous_errors: Vec<(String, Vec<String>)>,
    /// Recent WARN/ERROR lines of running pods.
    pub recent_lines: Vec<(String, Vec<String>)>,
    /// Reads obi-mcp was not allowed to do.
    pub denied: Vec<String>,
}

/// `(major, minor)` of a kernel release such as `5.15.0-1051-azure`.
pub fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()?;
    Some((major, minor))
}

/// Whether OBI supports a kernel release (>= 5.8, or a RHEL-family 4.18 with backports).
pub fn kernel_supported(release: &str) -> Option<bool> {
    let v = kernel_version(release)?;
    if v >= k8s::MIN_KERNEL {
        return Some(true);
    }
    Some(v >= k8s::RHEL_MIN_KERNEL && release.contains(".el"))
}

fn rule_allows(rules: &[Value], group: &str, resource: &str, verb: &str) -> bool {
    let has = |rule: &Value, key: &str, want: &str| {
        rule.get(key)
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().any(|x| x == want || x == "*"))
    };
    rules.iter().any(|r| {
        has(r, "apiGroups", group) && has(r, "resources", resource) && has(r, "verbs", verb)
    })
}

/// Permissions OBI needs that a ClusterRole's rules lack, as `group/resource verb`.
pub fn missing_permissions(role: &Value) -> Vec<String> {
    let rules = role
        .get("rules")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut missing = Vec::new();
    for (group, resources, verbs) in k8s::RBAC_RULES {
        for resource in *resources {
            for verb in *verbs {
                if !rule_allows(rules, group, resource, verb) {
                    let g = if group.is_empty() { "core" } else { group };
                    missing.push(format!("{g}/{resource} {verb}"));
                }
            }
        }
    }
    missing
}

fn list(items: &[String], max: usize) -> String {
    let mut text = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        text.push_str(&format!(" and {} more", items.len() - max));
    }
    text
}

/// Runs every check.
pub fn diagnose(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    let deployed = f.mode.is_some();
    if !deployed {
        out.push(finding(
            "not-deployed",
            "error",
            format!(
                "OBI instance {:?} is not deployed in namespace {:?}",
                f.instance, f.namespace
            ),
            "obi-mcp found no ConfigMap or DaemonSet of this instance (by its labels).".into(),
            "Deploy it with obi_k8s_deploy (try dryRun: true first), or pass the namespace and \
             instance it was deployed with."
                .into(),
        ));
    }
    check_kernels(f, &mut out);
    check_namespace(f, &mut out);
    if deployed {
        check_rbac(f, &mut out);
        check_config(f, &mut out);
        check_host_network(f, &mut out);
        check_pods(f, &mut out);
        check_metadata_sync(f, &mut out);
    }
    if !f.denied.is_empty() {
        out.push(finding(
            "rbac-missing",
            "info",
            "obi-mcp could not read everything it checks".into(),
            list(&f.denied, 5),
            "Grant the kubernetes toolset (and obi-mcp's kubeconfig identity) read access to \
             these resources, or run the diagnosis with a context that has it."
                .into(),
        ));
    }
    out.sort_by_key(|f| match f.severity.as_str() {
        "error" => 0,
        "warning" => 1,
        _ => 2,
    });
    out
}

fn check_kernels(f: &Facts, out: &mut Vec<Finding>) {
    let old: Vec<String> = f
        .nodes
        .iter()
        .filter_map(|n| {
            let name = n.pointer("/metadata/name")?.as_str()?;
            let kernel = n.pointer("/status/nodeInfo/kernelVersion")?.as_str()?;
            (kernel_supported(kernel) == Some(false)).then(|| format!("{name} ({kernel})"))
        })
        .collect();
    if !old.is_empty() {
        out.push(finding(
            "kernel-too-old",
            "error",
            if old.len() == 1 {
                "1 node runs a kernel older than 5.8".to_string()
            } else {
                format!("{} nodes run a kernel older than 5.8", old.len())
            },
            format!(
                "OBI needs Linux 5.8 or later (RHEL-family 4.18 with backports is accepted): {}",
                list(&old, 10)
            ),
            "Upgrade these nodes' OS image or kernel (with BTF), or keep OBI off them with a \
             nodeSelector (obi_k8s_deploy nodeSelector) so it does not crash-loop there."
                .into(),
        ));
    }
}

fn check_namespace(f: &Facts, out: &mut Vec<Finding>) {
    let Lookup::Found(ns) = &f.namespace_obj else {
        return;
    };
    let psa = manifests::namespace_psa(ns);
    let (severity, what) = match psa.as_deref() {
        Some("privileged") => return,
        Some(level) => ("error", format!("enforces Pod Security level {level:?}")),
        None => (
            "warning",
            "has no pod-security.kubernetes.io/enforce label, so the cluster default applies"
                .into(),
        ),
    };
    out.push(finding(
        "namespace-psa",
        severity,
        format!(
            "namespace {:?} may reject OBI's privileged pods",
            f.namespace
        ),
        format!(
            "Namespace {:?} {what}; OBI needs hostPID and privileges (even the capability set is \
             beyond `baseline`).",
            f.namespace
        ),
        format!(
            "kubectl label namespace {} pod-security.kubernetes.io/enforce=privileged --overwrite \
             (or deploy again with labelNamespace: true). On OpenShift, also allow the service \
             account the privileged SCC.",
            f.namespace
        ),
    ));
}

fn check_rbac(f: &Facts, out: &mut Vec<Finding>) {
    let mut problems = Vec::new();
    match &f.cluster_role {
        Lookup::Found(role) => {
            let missing = missing_permissions(role);
            if !missing.is_empty() {
                problems.push(format!("the ClusterRole lacks {}", list(&missing, 12)));
            }
        }
        Lookup::Missing => problems.push("the ClusterRole is missing".into()),
        Lookup::Unknown(_) => {}
    }
    match &f.binding {
        Lookup::Found(b) => {
            if let Some(((ns, name), _)) = &f.service_account {
                let bound = b
                    .get("subjects")
                    .and_then(Value::as_array)
                    .is_some_and(|subjects| {
                        subjects.iter().any(|s| {
                            s.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                                && s.get("name").and_then(Value::as_str) == Some(name)
                                && s.get("namespace").and_then(Value::as_str) == Some(ns)
                        })
                    });
                if !bound {
                    problems.push(format!(
                        "the ClusterRoleBinding does not bind service account {ns}/{name}"
                    ));
                }
            }
        }
        Lookup::Missing => problems.push("the ClusterRoleBinding is missing".into()),
        Lookup::Unknown(_) => {}
    }
    if let Some(((ns, name), Lookup::Missing)) = &f.service_account {
        problems.push(format!("service account {ns}/{name} is missing"));
    }
    if !problems.is_empty() {
        out.push(finding(
            "rbac-missing",
            "error",
            "OBI cannot read Kubernetes metadata".into(),
            format!(
                "{}. OBI then logs \"kubernetes cache has not been synced\" and exports spans \
                 without pod, deployment or namespace names.",
                problems.join("; ")
            ),
            "Deploy again (obi_k8s_deploy re-creates the ServiceAccount, ClusterRole with core \
             pods/services/nodes get/list/watch and apps/replicasets list/watch, and the binding)."
                .into(),
        ));
    }
}

fn check_config(f: &Facts, out: &mut Vec<Finding>) {
    let Some(text) = &f.config_text else {
        return;
    };
    let opts = ValidateOptions {
        target: ValidationTarget::Kubernetes,
        env: f.env.clone(),
    };
    let report = obi_config::validate_text(text, &opts);
    let line = |x: &obi_config::Finding| {
        let at = if x.path.is_empty() {
            "(config)"
        } else {
            &x.path
        };
        format!("{at}: {}", x.message)
    };
    let errors: Vec<String> = report
        .findings
        .iter()
        .filter(|x| x.severity == Severity::Error)
        .map(line)
        .collect();
    if !errors.is_empty() {
        out.push(finding(
            "config-invalid",
            "error",
            "OBI refuses this configuration".into(),
            errors.join("\n"),
            "Fix it with obi_k8s_update_config (a merge patch; try validateOnly: true first)."
                .into(),
        ));
    }
    const EXPORTER_RULES: &[&str] = &["localhost", "otlp-port-protocol", "otlp-path"];
    let exporter: Vec<String> = report
        .findings
        .iter()
        .filter(|x| EXPORTER_RULES.contains(&x.rule.as_str()))
        .map(line)
        .collect();
    if !exporter.is_empty() {
        out.push(finding(
            "exporter-endpoint",
            "warning",
            "The OTLP endpoint looks wrong".into(),
            exporter.join("\n"),
            "Point OBI at a collector reachable from the pod: a Service name \
             (http://otel-collector.observability:4318) or the node's collector \
             (http://${HOST_IP}:4318); port 4317 is gRPC, 4318 HTTP. Change it with \
             obi_k8s_update_config."
                .into(),
        ));
    }
    let config = obi_config::parse_yaml(text).unwrap_or(Value::Null);
    let has_endpoint = manifests::config_endpoint(&config).is_some()
        || config.get("prometheus_export").is_some()
        || f.env
            .keys()
            .any(|k| k.starts_with("OTEL_EXPORTER_OTLP_") && k.ends_with("ENDPOINT"));
    if !has_endpoint {
        out.push(finding(
            "exporter-endpoint",
            "error",
            "No exporter endpoint is configured".into(),
            "Neither the configuration nor the container environment names an OTLP endpoint or a \
             Prometheus port, so OBI's telemetry goes nowhere."
                .into(),
            "Set otel_traces_export.endpoint / otel_metrics_export.endpoint with \
             obi_k8s_update_config, or deploy with otlpEndpoint."
                .into(),
        ));
    }
    let other: Vec<String> = report
        .findings
        .iter()
        .filter(|x| x.severity == Severity::Warning && !EXPORTER_RULES.contains(&x.rule.as_str()))
        .map(line)
        .collect();
    if !other.is_empty() {
        out.push(finding(
            "config-invalid",
            "warning",
            "OBI ignores or overrides parts of this configuration".into(),
            list(&other, 10),
            "Fix the keys named above with obi_k8s_update_config (unknown keys are silently \
             ignored by OBI)."
                .into(),
        ));
    }
}

fn check_host_network(f: &Facts, out: &mut Vec<Finding>) {
    let Some(spec) = &f.pod_spec else {
        return;
    };
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    let dns = spec
        .get("dnsPolicy")
        .and_then(Value::as_str)
        .unwrap_or("ClusterFirst");
    if host_network && dns != "ClusterFirstWithHostNet" {
        out.push(finding(
            "host-network-dns",
            "error",
            "hostNetwork without dnsPolicy ClusterFirstWithHostNet".into(),
            format!(
                "The OBI pods use the node's network with dnsPolicy {dns}, so in-cluster names \
                 (e.g. a collector Service) do not resolve."
            ),
            "Set dnsPolicy: ClusterFirstWithHostNet (obi_k8s_deploy does when it sets \
             hostNetwork; deploy again)."
                .into(),
        ));
    }
}

fn check_pods(f: &Facts, out: &mut Vec<Finding>) {
    let mut pulls = Vec::new();
    let mut crashes = Vec::new();
    for pod in &f.pods {
        let Some((reason, message)) = status::failing(pod) else {
            continue;
        };
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let image = status::obi_container_status(pod)
            .and_then(|c| c.get("image"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if reason.contains("ImagePull") || reason == "ErrImagePull" || reason == "InvalidImageName"
        {
            pulls.push(format!("{name} ({image}): {reason}: {message}"));
        } else if reason == "CrashLoopBackOff" {
            crashes.push(format!("{name}: {message}"));
        }
    }
    if !pulls.is_empty() {
        out.push(finding(
            "image-pull",
            "error",
            format!("{} OBI pods cannot pull their image", pulls.len()),
            list(&pulls, 5),
            format!(
                "Check the tag exists (OBI publishes {} with release tags such as v0.12.1), that \
                 nodes can reach the registry, or add imagePullSecrets; then obi_k8s_upgrade to a \
                 valid version.",
                obi_config::facts::IMAGES.join(" and ")
            ),
        ));
    }
    if !crashes.is_empty() {
        let mut detail = list(&crashes, 5);
        for (pod, lines) in &f.previous_errors {
            if lines.is_empty() {
                continue;
            }
            detail.push_str(&format!("\nLast errors of {pod} before it exited:"));
            for l in lines.iter().rev().take(5).rev() {
                detail.push_str(&format!("\n  {l}"));
            }
        }
        let hint = crash_hint(&f.previous_errors);
        out.push(finding(
            "crash-loop",
            "error",
            if crashes.len() == 1 {
                "1 OBI pod is crash-looping".to_string()
            } else {
                format!("{} OBI pods are crash-looping", crashes.len())
            },
            detail,
            hint,
        ));
    }
}

fn crash_hint(previous: &[(String, Vec<String>)]) -> String {
    let all: String = previous
        .iter()
        .flat_map(|(_, l)| l.iter())
        .map(|l| l.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("\n");
    if all.contains("btf") {
        "The node kernel has no BTF: use nodes with a kernel built with BTF (most distributions \
         since 5.8), or keep OBI off them with a nodeSelector."
            .into()
    } else if all.contains("capabilit")
        || all.contains("permission denied")
        || all.contains("operation not permitted")
    {
        "OBI lacks privileges: deploy with privileged: true, or add the capabilities it names \
         (extraCapabilities, e.g. SYS_ADMIN when perf_event_paranoid >= 3)."
            .into()
    } else if all.contains("at least one of") || all.contains("exporter") || all.contains("config")
    {
        "OBI rejects its configuration: read the error above and fix it with \
         obi_k8s_update_config (validateOnly: true first)."
            .into()
    } else {
        "Read the errors above (obi_k8s_logs with previous: true, level: ERROR shows more) and \
         fix the cause; obi_k8s_upgrade can move to another release, and it rolls back on its \
         own when the new one fails."
            .into()
    }
}

fn check_metadata_sync(f: &Facts, out: &mut Vec<Finding>) {
    let mut hits = Vec::new();
    for (pod, lines) in f.recent_lines.iter().chain(f.previous_errors.iter()) {
        for l in lines {
            let lower = l.to_ascii_lowercase();
            let serious = line_level(l).is_some_and(|lv| lv >= Level::Warn);
            let matched = lower.contains("kubernetes cache has not been synced")
                || (serious
                    && k8s::METADATA_SYNC_PATTERNS
                        .iter()
                        .any(|p| lower.contains(&p.to_ascii_lowercase())));
            if matched && hits.len() < 5 {
                hits.push(format!("{pod}: {l}"));
            }
        }
    }
    if !hits.is_empty() {
        out.push(finding(
            "metadata-sync",
            "warning",
            "OBI's Kubernetes metadata does not sync".into(),
            hits.join("\n"),
            "Check the rbac-missing finding (ClusterRole with pods/services/nodes get/list/watch \
             and apps/replicasets list/watch, bound to the pods' service account); on large \
             clusters raise attributes.kubernetes.informers_sync_timeout or use OBI's k8s-cache \
             (attributes.kubernetes.meta_cache_address)."
                .into(),
        ));
    }
}

/// One-line summary of the findings.
pub fn summary(findings: &[Finding]) -> String {
    let count = |s: &str| findings.iter().filter(|f| f.severity == s).count();
    if findings.is_empty() {
        return "No problems found.".into();
    }
    format!(
        "{} errors, {} warnings, {} notes: {}",
        count("error"),
        count("warning"),
        count("info"),
        findings
            .iter()
            .map(|f| f.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
mod tests;
