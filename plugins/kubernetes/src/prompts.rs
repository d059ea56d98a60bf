//! Prompts: setting up OBI in a cluster (per cluster type) and troubleshooting it.

use obi_toolset_sdk::prelude::*;

/// Cluster types the setup prompt knows.
pub const CLUSTER_TYPES: &[&str] = &["kind", "eks", "gke", "aks", "openshift", "k3s", "generic"];

/// The prompts of the toolset.
pub fn prompts() -> Vec<Prompt> {
    vec![
        Prompt::new(
            "setup-obi-kubernetes",
            "Guides the assistant through deploying OBI to a Kubernetes cluster: context and \
             reachability, cluster-specific prerequisites, a dry run, the deploy and checks.",
        )
        .title("Set up OBI in Kubernetes")
        .argument(PromptArgument::optional(
            "clusterType",
            "kind, eks, gke, aks, openshift, k3s or generic (default generic)",
        ))
        .argument(PromptArgument::optional(
            "namespace",
            "Namespace for OBI (default: the toolset's default namespace, obi-system)",
        )),
        Prompt::new(
            "troubleshoot-obi-kubernetes",
            "Guides the assistant through finding out why OBI in a cluster does not run or \
             sends no (or undecorated) telemetry.",
        )
        .title("Troubleshoot OBI in Kubernetes")
        .argument(PromptArgument::optional(
            "namespace",
            "Namespace OBI was deployed to (default obi-system)",
        ))
        .argument(PromptArgument::optional(
            "instance",
            "Instance name (default obi)",
        )),
    ]
}

fn cluster_notes(kind: &str) -> &'static str {
    match kind {
        "kind" => {
            "kind: nodes are containers sharing the host kernel, so the HOST's kernel must be \
             >= 5.8 with BTF. There is no collector by default: deploy one (e.g. the OpenTelemetry \
             Collector as a DaemonSet listening on the node's 4318) or set otlpEndpoint to a \
             Service. metrics-server is not installed, so status shows metrics unavailable."
        }
        "eks" => {
            "EKS: Amazon Linux 2023 and Bottlerocket kernels (6.1+) are fine; Amazon Linux 2 \
             nodes run 5.10 (fine) but check custom AMIs. Fargate pods cannot run DaemonSets or \
             privileged sidecars: keep OBI off Fargate with a nodeSelector \
             (eks.amazonaws.com/compute-type != fargate is done by the DaemonSet controller \
             automatically). With the VPC CNI, prefer network.source: socket_filter."
        }
        "gke" => {
            "GKE: Container-Optimized OS and Ubuntu node images have BTF kernels. GKE Autopilot \
             does not allow privileged pods or hostPID: use a Standard cluster (or an Autopilot \
             allowlisted partner workload). Dataplane V2 is Cilium: prefer \
             network.source: socket_filter over tc."
        }
        "aks" => {
            "AKS: Ubuntu 22.04 and Azure Linux node images have BTF kernels (5.15+). Azure \
             Policy (Gatekeeper) may block privileged pods or hostPID: add an exemption for the \
             namespace. With Azure CNI powered by Cilium prefer network.source: socket_filter."
        }
        "openshift" => {
            "OpenShift: Pod Security labels are not enough; the service account needs an SCC \
             that allows privileged pods and hostPID. After a dry run, run \
             `oc adm policy add-scc-to-user privileged -z <instance> -n <namespace>` (the \
             ServiceAccount is named after the instance, default obi), then deploy. RHCOS 4.18 \
             kernels with .el backports are supported."
        }
        "k3s" => {
            "k3s: the kernel is the host's (check it is >= 5.8 with BTF). k3s ships no \
             collector; metrics-server is included, so status shows CPU and memory. With \
             flannel, network.source: socket_filter works."
        }
        _ => {
            "Generic cluster: check every node's kernel (>= 5.8, RHEL-family 4.18 accepted) and \
             that a policy engine (Kyverno, Gatekeeper, Pod Security) admits privileged pods \
             with hostPID in the namespace."
        }
    }
}

/// Renders a prompt.
pub fn render(
    name: &str,
    args: &[(String, String)],
    default_namespace: &str,
) -> Result<PromptResult, ToolError> {
    let arg = |k: &str| {
        args.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    match name {
        "setup-obi-kubernetes" => {
            let kind = arg("clusterType").unwrap_or("generic").to_ascii_lowercase();
            if !CLUSTER_TYPES.contains(&kind.as_str()) {
                return Err(ToolError::invalid_arguments(format!(
                    "clusterType {kind:?} is not one of {}",
                    CLUSTER_TYPES.join(", ")
                )));
            }
            let ns = arg("namespace").unwrap_or(default_namespace);
            Ok(PromptResult::user(format!(
                "Deploy OBI (OpenTelemetry eBPF Instrumentation) to my Kubernetes cluster \
                 ({kind}) in namespace {ns}.\n\n\
                 Cluster notes: {notes}\n\n\
                 Steps:\n\
                 1. Call obi_k8s_contexts and confirm with me which context to use (it must be \
                 reachable).\n\
                 2. Call obi_k8s_diagnose with namespace {ns}: before a deploy it reports nodes \
                 with kernels older than 5.8 and a namespace whose Pod Security level would \
                 reject OBI.\n\
                 3. Ask where telemetry should go. The default sends OTLP/HTTP to a collector on \
                 each node (http://${{HOST_IP}}:4318); otherwise use the collector Service, e.g. \
                 http://otel-collector.observability:4318 (4317 is gRPC, 4318 HTTP; never \
                 localhost inside a pod).\n\
                 4. Call obi_k8s_deploy with namespace {ns}, the otlpEndpoint and dryRun: true. \
                 Show me the manifests and every warning, and explain what runs privileged and \
                 why (hostPID, eBPF).\n\
                 5. After I agree, call obi_k8s_deploy without dryRun (it waits for the rollout). \
                 If the namespace exists without the privileged Pod Security label, ask me \
                 before passing labelNamespace: true.\n\
                 6. Call obi_k8s_status: every node should run a ready OBI pod; explain any node \
                 without one.\n\
                 7. Call obi_k8s_logs with level: WARN and look for \"kubernetes cache has not \
                 been synced\" or exporter errors.",
                notes = cluster_notes(&kind)
            ))
            .description(format!("Deploy OBI to a {kind} cluster step by step")))
        }
        "troubleshoot-obi-kubernetes" => {
            let ns = arg("namespace").unwrap_or(default_namespace);
            let instance = arg("instance").unwrap_or("obi");
            Ok(PromptResult::user(format!(
                "OBI instance {instance} in namespace {ns} is not working as expected. Diagnose \
                 it:\n\
                 1. obi_k8s_diagnose (namespace {ns}, instance {instance}): read every finding \
                 and its fix.\n\
                 2. obi_k8s_status: ready vs desired pods, nodes without OBI and why, \
                 crash-looping pods, images (a half-finished upgrade shows two).\n\
                 3. For crash loops: obi_k8s_logs with previous: true and level: ERROR. OBI \
                 exits with status 255 after `level=ERROR`; \"no BTF found\" is the kernel, \
                 \"Required system capabilities not present\" is privileges, \"at least one of \
                 'network' or 'application' features must be enabled\" is the configuration.\n\
                 4. For missing metadata: obi_k8s_logs with grep: \"has not been synced\"; check \
                 the ClusterRole (pods/services/nodes get/list/watch, apps/replicasets \
                 list/watch).\n\
                 5. For missing telemetry: obi_k8s_get_config and check the exporter endpoint \
                 (4317 gRPC vs 4318 HTTP, localhost inside a pod, hostNetwork DNS).\n\
                 6. Propose the fix: obi_k8s_update_config (validateOnly: true first), \
                 obi_k8s_upgrade (rolls back on its own when the new release fails), or a \
                 re-deploy. Ask me before changing the cluster."
            ))
            .description("Diagnose OBI in a Kubernetes cluster"))
        }
        other => Err(ToolError::not_found(format!("no prompt {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_prompt_knows_openshift_sccs() {
        let r = render(
            "setup-obi-kubernetes",
            &[("clusterType".into(), "OpenShift".into())],
            "obi-system",
        )
        .unwrap();
        let text = &r.messages[0].text;
        assert!(text.contains("SCC"), "{text}");
        assert!(text.contains("namespace obi-system"));
        assert!(text.contains("dryRun: true"));
    }

    #[test]
    fn every_cluster_type_renders_and_unknown_ones_are_refused() {
        for kind in CLUSTER_TYPES {
            let r = render(
                "setup-obi-kubernetes",
                &[
                    ("clusterType".into(), kind.to_string()),
                    ("namespace".into(), "tel".into()),
                ],
                "obi-system",
            )
            .unwrap();
            assert!(r.messages[0].text.contains("namespace tel"));
        }
        assert!(
            render(
                "setup-obi-kubernetes",
                &[("clusterType".into(), "mars".into())],
                "x"
            )
            .is_err()
        );
        let t = render("troubleshoot-obi-kubernetes", &[], "obi-system").unwrap();
        assert!(t.messages[0].text.contains("obi_k8s_diagnose"));
    }
}
