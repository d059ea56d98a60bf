//! obi-mcp's first-party `kubernetes` toolset: deploy and operate OBI (OpenTelemetry eBPF
//! Instrumentation) in the clusters of the server's kubeconfig.
//!
//! Tools: `obi_k8s_deploy` (DaemonSet or sidecar, dry run with the manifests),
//! `obi_k8s_status`, `obi_k8s_get_config`, `obi_k8s_update_config`, `obi_k8s_logs`,
//! `obi_k8s_upgrade` (rolls back a failing release), `obi_k8s_undeploy`, `obi_k8s_diagnose`,
//! `obi_k8s_contexts`. Resource templates `obi-k8s://{context}/{namespace}/config|status|logs`
//! (instance `obi`; context `current` means the kubeconfig's current context). Prompts
//! `setup-obi-kubernetes` and `troubleshoot-obi-kubernetes`.
//!
//! Everything goes through the host's `kubernetes` capability (server-side apply with field
//! manager `obi-mcp`); the toolset never sees credentials. What gets deployed is described in
//! [`manifests`]; the cluster itself holds the deployment's state (labels, the options
//! annotation on the ConfigMap), so several obi-mcp servers and restarts agree on it. `state`
//! keeps only a short history of changes per instance.

pub mod cluster;
pub mod diagnose;
pub mod inspect;
pub mod logs;
pub mod manifests;
pub mod ops;
pub mod prompts;
mod sha256;
pub mod status;

use obi_toolset_sdk::kubernetes as k8s;
use obi_toolset_sdk::prelude::*;

use crate::cluster::Host;

/// The toolset.
struct Kubernetes;

fn host(context: &Option<String>) -> Host {
    Host::new(context.clone())
}

impl Toolset for Kubernetes {
    fn info() -> Info {
        Info::new(
            "kubernetes",
            env!("CARGO_PKG_VERSION"),
            "Deploys and operates OBI (OpenTelemetry eBPF Instrumentation) in Kubernetes \
             clusters: DaemonSet or sidecar, status with per-node coverage, configuration in a \
             ConfigMap, merged logs, upgrades with rollback, undeploy and diagnosis.",
        )
        .capability(
            "kubernetes",
            "reads and server-side applies OBI's namespace, RBAC, ConfigMap and DaemonSet (or a \
             sidecar in a chosen workload), lists pods and nodes, reads OBI's logs, follows \
             rollouts",
        )
        .capability(
            "state",
            "keeps a short history of deploys and upgrades per instance",
        )
    }

    fn tools() -> Vec<Tool> {
        vec![
            Tool::reply(
                "obi_k8s_deploy",
                "Deploy OBI to a cluster: a DaemonSet on every node (default) or a sidecar in one \
                 Deployment/StatefulSet. Validates the OBI configuration first (an invalid one is \
                 refused with OBI's own message), creates the namespace (privileged Pod Security) \
                 when missing, RBAC, the ConfigMap and the workload by server-side apply, then \
                 follows the rollout. The image is pinned (never `latest`). `dryRun` returns the \
                 manifests and persists nothing. Calling it again updates the deployment.",
                |ctx: &Context, args: ops::DeployArgs| ops::deploy(ctx, &host(&args.context), args),
            )
            .title("Deploy OBI to Kubernetes")
            .idempotent()
            .open_world(),
            Tool::reply(
                "obi_k8s_status",
                "State of an OBI instance: desired/ready/updated pods, images, nodes without OBI \
                 and why (taints, nodeSelector, failing pod), restarts, crash-looping pods, CPU \
                 and memory (metrics-server). Bounded output on any cluster size; `verbose` \
                 lists more.",
                |_ctx: &Context, args: inspect::StatusArgs| {
                    inspect::status(&host(&args.context), args)
                },
            )
            .title("OBI status in Kubernetes")
            .read_only()
            .idempotent()
            .open_world(),
            Tool::reply(
                "obi_k8s_get_config",
                "The OBI configuration of an instance (its ConfigMap) as an object and YAML, \
                 validated with the environment the pods give OBI.",
                |_ctx: &Context, args: ops::InstanceArgs| {
                    ops::get_config(&host(&args.context), args)
                },
            )
            .title("Get OBI's configuration in Kubernetes")
            .read_only()
            .idempotent()
            .open_world(),
            Tool::reply(
                "obi_k8s_update_config",
                "Change an instance's OBI configuration with a JSON merge patch (`null` deletes a \
                 key). An invalid result is refused with OBI's message and nothing changes. \
                 `restart` (default true) rolls the pods through the checksum/config annotation, \
                 since OBI reads its configuration only at startup; `validateOnly` changes \
                 nothing.",
                |ctx: &Context, args: ops::UpdateConfigArgs| {
                    ops::update_config(ctx, &host(&args.context), args)
                },
            )
            .title("Update OBI's configuration in Kubernetes")
            .idempotent()
            .open_world(),
            Tool::reply(
                "obi_k8s_logs",
                "OBI's logs from every pod of an instance (or one `pod`/`node`), fetched \
                 concurrently, merged in timestamp order: `tail` lines per pod, `since` (30s, 5m, \
                 1h), `level` (this level or above), `grep`, `limit` total lines (the newest), \
                 `previous` for a crashed container. Pods that fail are listed; the rest are \
                 returned.",
                |_ctx: &Context, args: inspect::LogsArgs| inspect::logs(&host(&args.context), args),
            )
            .title("OBI logs in Kubernetes")
            .read_only()
            .idempotent()
            .open_world(),
            Tool::reply(
                "obi_k8s_upgrade",
                "Move an instance to another OBI release (`version`) or `image`, follow the \
                 rollout, and roll back to the previous image when the new one crash-loops, \
                 cannot be pulled or times out; reports what happened.",
                |ctx: &Context, args: ops::UpgradeArgs| {
                    ops::upgrade(ctx, &host(&args.context), args)
                },
            )
            .title("Upgrade OBI in Kubernetes")
            .destructive()
            .open_world(),
            Tool::reply(
                "obi_k8s_undeploy",
                "Remove an OBI instance: only the objects obi-mcp created for it (found by its \
                 labels); a sidecar is removed from its workload by server-side apply, leaving \
                 the workload. `keepConfig` keeps the ConfigMap, `deleteRbac: false` the RBAC, \
                 `deleteNamespace` removes the namespace only if obi-mcp created it; `dryRun` \
                 deletes nothing.",
                |_ctx: &Context, args: ops::UndeployArgs| ops::undeploy(&host(&args.context), args),
            )
            .title("Undeploy OBI from Kubernetes")
            .destructive()
            .idempotent()
            .open_world(),
            Tool::reply(
                "obi_k8s_diagnose",
                "Check an OBI instance (or a cluster before deploying) for the problems users \
                 hit: nodes with kernels older than 5.8, Pod Security of the namespace, RBAC gaps, \
                 invalid configuration, wrong exporter endpoints, hostNetwork DNS, image pull \
                 errors, crash loops (with OBI's error lines) and Kubernetes metadata that does \
                 not sync. Each finding has a concrete fix.",
                |_ctx: &Context, args: ops::InstanceArgs| {
                    inspect::diagnose(&host(&args.context), args)
                },
            )
            .title("Diagnose OBI in Kubernetes")
            .read_only()
            .idempotent()
            .open_world(),
            Tool::reply(
                "obi_k8s_contexts",
                "The contexts of the server's kubeconfig: cluster, API server, namespace, which \
                 is current, and whether each cluster answers (with its Kubernetes version).",
                inspect::contexts,
            )
            .title("Kubernetes contexts")
            .read_only()
            .idempotent()
            .open_world(),
        ]
    }

    fn resource_templates() -> Vec<ResourceTemplate> {
        vec![
            ResourceTemplate::new("obi-k8s://{context}/{namespace}/config", "k8s-config")
                .title("OBI configuration in a cluster")
                .description(
                    "The ConfigMap YAML of instance `obi` (context `current`: the current context)",
                )
                .mime_type("application/yaml"),
            ResourceTemplate::new("obi-k8s://{context}/{namespace}/status", "k8s-status")
                .title("OBI status in a cluster")
                .description("Status of instance `obi` as JSON")
                .mime_type("application/json"),
            ResourceTemplate::new("obi-k8s://{context}/{namespace}/logs", "k8s-logs")
                .title("OBI logs in a cluster")
                .description("The last 100 lines per pod of instance `obi`, merged (at most 1000)")
                .mime_type("text/plain"),
        ]
    }

    fn read_resource(_ctx: &Context, uri: &str) -> Result<Vec<ResourceContents>, ToolError> {
        for template in Self::resource_templates() {
            let Some(vars) = template.match_uri(uri) else {
                continue;
            };
            let var = |k: &str| {
                vars.iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let context = Some(var("context")).filter(|c| c != "current");
            let namespace = Some(var("namespace"));
            let cluster = host(&context);
            let (text, mime) = match template.uri_template().rsplit('/').next() {
                Some("config") => {
                    let args = ops::InstanceArgs {
                        context: context.clone(),
                        namespace,
                        instance: None,
                    };
                    let reply = ops::get_config(&cluster, args)?;
                    match reply.data {
                        Some(d) if !reply.is_error => (d.yaml, "application/yaml"),
                        _ => return Err(ToolError::not_found(reply.text)),
                    }
                }
                Some("status") => {
                    let args = inspect::StatusArgs {
                        context: context.clone(),
                        namespace,
                        ..Default::default()
                    };
                    let reply = inspect::status(&cluster, args)?;
                    match reply.data {
                        Some(d) if !reply.is_error => (
                            serde_json::to_string_pretty(&d)
                                .map_err(|e| ToolError::failed(e.to_string()))?,
                            "application/json",
                        ),
                        _ => return Err(ToolError::failed(reply.text)),
                    }
                }
                _ => {
                    let args = inspect::LogsArgs {
                        context: context.clone(),
                        namespace,
                        ..Default::default()
                    };
                    let reply = inspect::logs(&cluster, args)?;
                    match reply.data {
                        Some(d) if !reply.is_error => (logs::render(&d.lines), "text/plain"),
                        _ => (reply.text, "text/plain"),
                    }
                }
            };
            return Ok(vec![ResourceContents::text(uri, text).mime_type(mime)]);
        }
        Err(ToolError::not_found(format!("no resource {uri}")))
    }

    fn prompts() -> Vec<Prompt> {
        prompts::prompts()
    }

    fn get_prompt(
        _ctx: &Context,
        name: &str,
        args: &[(String, String)],
    ) -> Result<PromptResult, ToolError> {
        let settings = ops::settings();
        let ns = settings
            .default_namespace
            .unwrap_or_else(|| "obi-system".to_string());
        prompts::render(name, args, &ns)
    }

    fn is_available() -> Availability {
        availability(k8s::contexts().map(|c| c.len()))
    }
}

/// Available when the kubeconfig has at least one context; never contacts a cluster.
fn availability(contexts: Result<usize, HostError>) -> Availability {
    match contexts {
        Ok(n) if n > 0 => Availability::Available,
        Ok(_) => Availability::unavailable(
            "the kubeconfig has no contexts: set toolsets.kubernetes.kubeconfig in the obi-mcp \
             config (or KUBECONFIG) to a kubeconfig with at least one context",
        ),
        Err(e) => Availability::unavailable(format!(
            "no usable kubeconfig: {}. Set toolsets.kubernetes.kubeconfig in the obi-mcp config \
             (or KUBECONFIG) to a kubeconfig file with at least one context",
            e.message()
        )),
    }
}

obi_toolset_sdk::export_toolset!(Kubernetes);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_pass_the_host_checks() {
        assert_eq!(Kubernetes::info().name(), "kubernetes");
        assert_eq!(obi_toolset_sdk::validate::<Kubernetes>(), Ok(()));
    }

    #[test]
    fn tool_names_and_annotations() {
        let tools = Kubernetes::tools();
        let names: Vec<&str> = tools.iter().map(|t| t.name()).collect();
        assert_eq!(
            names,
            [
                "obi_k8s_deploy",
                "obi_k8s_status",
                "obi_k8s_get_config",
                "obi_k8s_update_config",
                "obi_k8s_logs",
                "obi_k8s_upgrade",
                "obi_k8s_undeploy",
                "obi_k8s_diagnose",
                "obi_k8s_contexts"
            ]
        );
        for t in &tools {
            let d = format!("{t:?}");
            assert!(d.contains("open_world: true"), "{d}");
            let read_only = matches!(
                t.name(),
                "obi_k8s_status"
                    | "obi_k8s_get_config"
                    | "obi_k8s_logs"
                    | "obi_k8s_diagnose"
                    | "obi_k8s_contexts"
            );
            assert_eq!(d.contains("read_only: true"), read_only, "{d}");
            let destructive = matches!(t.name(), "obi_k8s_upgrade" | "obi_k8s_undeploy");
            assert_eq!(d.contains("destructive: true"), destructive, "{d}");
            assert!(t.output_schema().is_some(), "{}", t.name());
            let schema = t.input_schema();
            if t.name() != "obi_k8s_contexts" {
                for arg in ["context", "namespace"] {
                    assert!(
                        schema["properties"].get(arg).is_some(),
                        "{} {arg}",
                        t.name()
                    );
                }
            }
        }
    }

    #[test]
    fn deploy_schema_uses_the_agreed_argument_names() {
        let tools = Kubernetes::tools();
        let deploy = tools.iter().find(|t| t.name() == "obi_k8s_deploy").unwrap();
        let schema = deploy.input_schema();
        for arg in [
            "mode",
            "target",
            "config",
            "otlpEndpoint",
            "version",
            "image",
            "privileged",
            "extraCapabilities",
            "resources",
            "nodeSelector",
            "tolerations",
            "dryRun",
            "wait",
            "timeout",
            "force",
            "instance",
        ] {
            assert!(schema["properties"].get(arg).is_some(), "{arg}");
        }
        let out = deploy.output_schema().unwrap();
        for key in [
            "context",
            "namespace",
            "instance",
            "mode",
            "image",
            "dryRun",
            "applied",
            "warnings",
        ] {
            assert!(out["properties"].get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn availability_needs_a_context_and_names_the_setting() {
        assert_eq!(availability(Ok(2)), Availability::Available);
        let Availability::Unavailable(reason) = availability(Ok(0)) else {
            panic!()
        };
        assert!(reason.contains("toolsets.kubernetes.kubeconfig") && reason.contains("KUBECONFIG"));
        let Availability::Unavailable(reason) = availability(Err(HostError::NotFound(
            "no kubeconfig at ~/.kube/config".into(),
        ))) else {
            panic!()
        };
        assert!(reason.contains("~/.kube/config"));
    }

    #[test]
    fn resource_templates_match_their_uris() {
        let templates = Kubernetes::resource_templates();
        assert!(
            templates[0]
                .match_uri("obi-k8s://kind-dev/obi-system/config")
                .is_some()
        );
        assert!(
            templates[1]
                .match_uri("obi-k8s://current/obi-system/status")
                .is_some()
        );
    }
}
