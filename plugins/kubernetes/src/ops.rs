//! The tools that change a cluster (deploy, update_config, upgrade, undeploy) and the config
//! reader, written against [`Cluster`] so they are unit-tested on a fake cluster.

use std::collections::BTreeMap;

use obi_config::{Finding, Report, Severity, Target as ValidationTarget, ValidateOptions};
use obi_toolset_sdk::kubernetes::{
    ApplyOptions, ObjectRef, PodProblem, RolloutState, RolloutStatus,
};
use obi_toolset_sdk::prelude::*;
use serde_json::{Map, Value, json};

use crate::cluster::{Cluster, is_unreachable, refs};
use crate::manifests::{self, Instance, Mode, Options, Target};

/// Default rollout timeout, seconds.
pub const DEFAULT_TIMEOUT_S: u64 = 300;
/// Milliseconds kept back from the call's deadline for the work after a wait.
const DEADLINE_MARGIN_MS: u64 = 5_000;

/// `toolsets.kubernetes` as the toolset reads it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Namespace used when a call names none (`obi-system`).
    pub default_namespace: Option<String>,
    /// Image used when a call names none.
    pub default_image: Option<String>,
}

/// Reads the settings.
pub fn settings() -> Settings {
    config::get::<Settings>().unwrap_or_default()
}

/// Namespace and instance of a call, after defaults.
pub fn instance_of(
    settings: &Settings,
    namespace: Option<&str>,
    instance: Option<&str>,
) -> Result<Instance, ToolError> {
    let namespace = namespace
        .map(str::to_string)
        .or_else(|| settings.default_namespace.clone())
        .unwrap_or_else(|| "obi-system".to_string());
    Instance::new(&namespace, instance.unwrap_or("obi")).map_err(ToolError::invalid_arguments)
}

/// A host error as the text of an error result: the host's message (it names context, verb,
/// resource and namespace), with a hint for denials.
pub fn host_error_text(what: &str, error: &HostError) -> String {
    let mut text = format!("{what}: {}", error.message());
    if error.is_denied() {
        text.push_str(
            "\nhint: the operator's grants for the kubernetes toolset (or --read-only) do not \
             allow this; ask them to grant it, or use a context that allows it",
        );
    }
    text
}

/// Validation options for OBI in a pod with the environment the manifests give it.
pub fn validate_options(options: &Options) -> ValidateOptions {
    ValidateOptions {
        target: ValidationTarget::Kubernetes,
        env: manifests::validation_env(options),
    }
}

/// A finding of a validation, as the tools report it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Problem {
    /// Dotted path in the config, `env:NAME`, or empty for the whole config.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
    /// The validation rule.
    pub rule: String,
}

/// Validation of a configuration.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Validation {
    /// No errors.
    pub valid: bool,
    /// Errors (OBI would refuse to start).
    pub errors: Vec<Problem>,
    /// Warnings (OBI starts, probably not as intended).
    pub warnings: Vec<Problem>,
}

impl Validation {
    /// From an obi-config report.
    pub fn of(report: &Report) -> Self {
        let pick = |s: Severity| {
            report
                .findings
                .iter()
                .filter(|f| f.severity == s)
                .map(|f| Problem {
                    path: f.path.clone(),
                    message: f.message.clone(),
                    rule: f.rule.clone(),
                })
                .collect()
        };
        Validation {
            valid: report.is_valid(),
            errors: pick(Severity::Error),
            warnings: pick(Severity::Warning),
        }
    }
}

fn finding_line(f: &Finding) -> String {
    let at = if f.path.is_empty() {
        "(config)"
    } else {
        &f.path
    };
    format!("{at}: {}", f.message)
}

fn invalid_config_text(report: &Report) -> String {
    let errors: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("- {}", finding_line(f)))
        .collect();
    format!(
        "The OBI configuration is invalid; OBI would refuse to start with it, so nothing was \
         applied.\n{}",
        errors.join("\n")
    )
}

/// The outcome of a rollout, as the tools report it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Rollout {
    /// `complete`, `failed` or `timed-out`.
    pub state: String,
    /// Pods wanted.
    pub desired: u32,
    /// Pods on the current revision.
    pub updated: u32,
    /// Ready pods.
    pub ready: u32,
    /// Available pods.
    pub available: u32,
    /// One-line summary.
    pub message: String,
    /// Failing pods.
    pub problems: Vec<RolloutProblem>,
}

/// A pod keeping a rollout from finishing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RolloutProblem {
    /// Pod name.
    pub pod: String,
    /// Node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// `CrashLoopBackOff`, `ImagePullBackOff`, ...
    pub reason: String,
    /// The kubelet's message.
    pub message: String,
    /// Restarts so far.
    pub restarts: u32,
}

impl Rollout {
    /// From the host's rollout status.
    pub fn of(s: &RolloutStatus) -> Self {
        Rollout {
            state: s.state.as_str().to_string(),
            desired: s.desired,
            updated: s.updated,
            ready: s.ready,
            available: s.available,
            message: s.message.clone(),
            problems: s
                .problems
                .iter()
                .map(|p| RolloutProblem {
                    pod: p.pod.clone(),
                    node: p.node.clone(),
                    container: p.container.clone(),
                    reason: p.reason.clone(),
                    message: p.message.clone(),
                    restarts: p.restarts,
                })
                .collect(),
        }
    }
}

fn problem_line(p: &PodProblem) -> String {
    let node = p
        .node
        .as_deref()
        .map(|n| format!(" on {n}"))
        .unwrap_or_default();
    let message = if p.message.is_empty() {
        String::new()
    } else {
        format!(": {}", p.message)
    };
    format!(
        "pod {}{node}: {}{message} ({} restarts)",
        p.pod, p.reason, p.restarts
    )
}

/// Why a rollout did not complete, in one paragraph.
pub fn rollout_failure_reason(s: &RolloutStatus, timeout_s: u64) -> String {
    let mut text = match s.state {
        RolloutState::Complete => return "the rollout completed".into(),
        RolloutState::Failed => format!("the rollout failed: {}", s.message),
        RolloutState::TimedOut => format!(
            "the rollout did not finish within {timeout_s}s: {}",
            s.message
        ),
    };
    for p in s.problems.iter().take(3) {
        text.push_str("\n  - ");
        text.push_str(&problem_line(p));
    }
    if s.problems.iter().any(|p| p.reason.contains("ImagePull")) {
        text.push_str(
            "\n  The image could not be pulled: check the tag exists and the nodes can reach the \
             registry (or set imagePullSecrets).",
        );
    }
    if s.problems.iter().any(|p| p.reason == "CrashLoopBackOff") {
        text.push_str(
            "\n  OBI keeps exiting: obi_k8s_logs with previous: true and level: ERROR shows why.",
        );
    }
    text
}

/// How long to wait for a rollout: the caller's timeout, bounded by the call's deadline.
pub fn wait_budget_ms(ctx: &Context, timeout_s: u64, share: f64) -> u64 {
    let wanted = timeout_s.saturating_mul(1000);
    let available = ctx.deadline_ms().saturating_sub(DEADLINE_MARGIN_MS);
    let bounded = (available as f64 * share) as u64;
    wanted.min(bounded).max(1000)
}

/// One object the tool applied (or would apply).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Applied {
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace of a namespaced object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `created`, `configured`, `unchanged`, or with dryRun `would-create`, `would-configure`,
    /// `would-apply` (cluster unreachable).
    pub action: String,
}

// ---------------------------------------------------------------------------------------------
// deploy

/// `resources` of a deploy.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourcesArg {
    /// Requests, e.g. `{"cpu": "100m", "memory": "256Mi"}` (default).
    pub requests: Option<Map<String, Value>>,
    /// Limits, e.g. `{"memory": "1Gi"}` (default).
    pub limits: Option<Map<String, Value>>,
}

/// Arguments of `obi_k8s_deploy`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeployArgs {
    /// kubeconfig context (default: the current context).
    pub context: Option<String>,
    /// Namespace (default: `toolsets.kubernetes.default_namespace`, `obi-system`). Sidecar
    /// mode: the target's namespace.
    pub namespace: Option<String>,
    /// Instance name (default `obi`); several instances coexist.
    pub instance: Option<String>,
    /// `daemonset` (default: OBI on every node) or `sidecar` (OBI in one workload's pods).
    pub mode: Option<Mode>,
    /// Sidecar mode: the Deployment or StatefulSet to inject OBI into.
    pub target: Option<Target>,
    /// The OBI configuration (JSON form of OBI's YAML). Default: the instance's current
    /// configuration when already deployed, else the server's shared `obi:` section, else a
    /// minimal configuration instrumenting every workload with Kubernetes metadata and
    /// exporting to `otlpEndpoint`.
    pub config: Option<Map<String, Value>>,
    /// OTLP endpoint for `OTEL_EXPORTER_OTLP_ENDPOINT` and the default configuration
    /// (default `http://${HOST_IP}:4318`: a collector on each node, as the Helm chart).
    pub otlp_endpoint: Option<String>,
    /// OBI release, e.g. `v0.12.1` (default: the pinned release obi-mcp knows).
    pub version: Option<String>,
    /// Full image reference with a tag or digest (`repo:tag`, `repo@sha256:...`); `latest` is
    /// refused.
    pub image: Option<String>,
    /// Privileged container (default true); false uses the exact capability set.
    pub privileged: Option<bool>,
    /// Capabilities added to the unprivileged set, e.g. `SYS_ADMIN` for Go library-level
    /// context propagation.
    pub extra_capabilities: Option<Vec<String>>,
    /// Container resources (defaults: requests 100m CPU / 256Mi, limit 1Gi memory).
    pub resources: Option<ResourcesArg>,
    /// Node selector for the DaemonSet.
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Tolerations (default: tolerate every taint so OBI runs on every node).
    pub tolerations: Option<Vec<Value>>,
    /// Extra ClusterRole rules (RBAC PolicyRule objects) on top of what OBI needs.
    pub extra_rules: Option<Vec<Value>>,
    /// Sidecar mode: the application port OBI instruments (default: the target's first
    /// containerPort).
    pub open_port: Option<u16>,
    /// Label an existing namespace `pod-security.kubernetes.io/enforce: privileged` when it
    /// lacks it (default false: only warn).
    pub label_namespace: Option<bool>,
    /// Return the manifests and persist nothing (validated by the server when reachable).
    pub dry_run: Option<bool>,
    /// Follow the rollout until it completes or fails (default true).
    pub wait: Option<bool>,
    /// Rollout timeout in seconds (default 300).
    pub timeout: Option<u64>,
    /// Take over fields another field manager owns.
    pub force: Option<bool>,
}

/// Result of `obi_k8s_deploy`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeployOut {
    /// kubeconfig context.
    pub context: String,
    /// Namespace.
    pub namespace: String,
    /// Instance.
    pub instance: String,
    /// `daemonset` or `sidecar`.
    pub mode: String,
    /// The image deployed.
    pub image: String,
    /// Nothing was persisted.
    pub dry_run: bool,
    /// Objects applied, in order.
    pub applied: Vec<Applied>,
    /// The manifests as multi-document YAML (always with dryRun).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifests: Option<String>,
    /// Things to look at.
    pub warnings: Vec<String>,
    /// How the rollout went (with wait).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
}

fn config_value(config: &Map<String, Value>) -> Value {
    Value::Object(config.clone())
}

/// Deploys (or re-deploys) an instance.
pub fn deploy(
    ctx: &Context,
    cluster: &dyn Cluster,
    args: DeployArgs,
) -> Result<Reply<DeployOut>, ToolError> {
    let settings = settings();
    let inst = instance_of(
        &settings,
        args.namespace.as_deref(),
        args.instance.as_deref(),
    )?;
    let mode = args.mode.unwrap_or_default();
    let dry_run = args.dry_run.unwrap_or(false);
    match (mode, &args.target) {
        (Mode::Sidecar, None) => {
            return Err(ToolError::invalid_arguments(
                "mode sidecar needs `target`: {\"kind\": \"Deployment\" or \"StatefulSet\", \"name\": ...}",
            ));
        }
        (Mode::Daemonset, Some(_)) => {
            return Err(ToolError::invalid_arguments(
                "`target` is for mode sidecar; a DaemonSet runs on every node",
            ));
        }
        _ => {}
    }
    if let Some(t) = &args.target
        && t.name.trim().is_empty()
    {
        return Err(ToolError::invalid_arguments("target.name is empty"));
    }
    let default = manifests::default_image(settings.default_image.as_deref());
    let (image, mut warnings) =
        manifests::resolve_image(args.image.as_deref(), args.version.as_deref(), &default)
            .map_err(ToolError::invalid_arguments)?;
    let extra_capabilities =
        manifests::normalize_capabilities(args.extra_capabilities.as_deref().unwrap_or(&[]))
            .map_err(ToolError::invalid_arguments)?;
    let privileged = args.privileged.unwrap_or(true);
    if privileged && !extra_capabilities.is_empty() {
        warnings.push(
            "extraCapabilities has no effect on a privileged container (privileged: true has \
             every capability)"
                .into(),
        );
    }

    // What exists already.
    let mut unreachable: Option<String> = None;
    let namespace_obj = match cluster.get(&refs::namespace(&inst.namespace)) {
        Ok(ns) => Some(ns),
        Err(HostError::NotFound(_)) => None,
        Err(e) if dry_run && is_unreachable(&e) => {
            unreachable = Some(e.message().to_string());
            None
        }
        Err(e) => {
            return Ok(Reply::error(host_error_text(
                "reading the namespace failed",
                &e,
            )));
        }
    };
    let existing_cm = if unreachable.is_some() {
        None
    } else {
        match cluster.get(&refs::config_map(&inst.namespace, &inst.config_map_name())) {
            Ok(cm) => Some(cm),
            Err(HostError::NotFound(_)) => None,
            Err(e) => {
                return Ok(Reply::error(host_error_text(
                    "reading the instance's ConfigMap failed",
                    &e,
                )));
            }
        }
    };
    let existing_options = existing_cm.as_ref().and_then(manifests::options_of);
    if let Some(old) = &existing_options
        && old.mode != mode
    {
        return Ok(Reply::error(format!(
            "instance {:?} in namespace {:?} is already deployed as a {}; undeploy it first \
             (obi_k8s_undeploy) or choose another instance name",
            inst.name,
            inst.namespace,
            old.mode.as_str()
        )));
    }

    // Sidecar: read the target.
    let mut open_port = args.open_port;
    let mut service_account = None;
    if let Some(target) = &args.target {
        let r = refs::workload(&inst.namespace, target.kind.as_str(), &target.name);
        match cluster.get(&r) {
            Ok(workload) => {
                open_port = open_port.or_else(|| manifests::first_container_port(&workload));
                service_account = Some(manifests::pod_service_account(&workload));
            }
            Err(e) if unreachable.is_some() || (dry_run && is_unreachable(&e)) => {
                unreachable.get_or_insert_with(|| e.message().to_string());
                warnings.push(format!(
                    "the target could not be read, so its pods' service account is assumed to be \
                     `default`: {}",
                    e.message()
                ));
            }
            Err(e) => {
                return Ok(Reply::error(host_error_text(
                    &format!("reading {} {:?} failed", target.kind.as_str(), target.name),
                    &e,
                )));
            }
        }
        if open_port.is_none() {
            return Err(ToolError::invalid_arguments(format!(
                "{} {:?} declares no containerPort: give `openPort`, the port the application \
                 listens on",
                target.kind.as_str(),
                target.name
            )));
        }
    }

    // The configuration.
    let existing_config = existing_cm
        .as_ref()
        .and_then(manifests::config_text)
        .and_then(|t| obi_config::parse_yaml(t).ok());
    let (config, config_given) = match (&args.config, existing_config, config::obi()) {
        (Some(c), _, _) => (config_value(c), true),
        (None, Some(current), _) => (current, true),
        (None, None, Some(shared)) if shared.is_object() => (shared, true),
        _ => (Value::Null, false),
    };
    let otlp_endpoint = args
        .otlp_endpoint
        .clone()
        .or_else(|| {
            config_given
                .then(|| manifests::config_endpoint(&config))
                .flatten()
        })
        .unwrap_or_else(|| obi_config::facts::kubernetes::DEFAULT_OTLP_ENDPOINT.to_string());
    let config = if config_given {
        config
    } else {
        manifests::default_config(mode, &otlp_endpoint)
    };
    let mut resources = Map::new();
    if let Some(r) = &args.resources {
        if let Some(req) = &r.requests {
            resources.insert("requests".into(), Value::Object(req.clone()));
        }
        if let Some(lim) = &r.limits {
            resources.insert("limits".into(), Value::Object(lim.clone()));
        }
    }
    let previous_image = match &existing_options {
        Some(old) if old.image != image => Some(old.image.clone()),
        Some(old) => old.previous_image.clone(),
        None => None,
    };
    let options = Options {
        mode,
        image: image.clone(),
        previous_image,
        otlp_endpoint,
        privileged,
        extra_capabilities,
        resources,
        node_selector: args.node_selector.clone().unwrap_or_default(),
        tolerations: args.tolerations.clone(),
        extra_rules: args.extra_rules.clone().unwrap_or_default(),
        target: args.target.clone(),
        open_port,
        service_account,
    };
    let report = obi_config::validate(&config, &validate_options(&options));
    if !report.is_valid() {
        return Ok(Reply::error(invalid_config_text(&report)));
    }
    warnings.extend(
        report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .map(|f| format!("config: {}", finding_line(f))),
    );

    // Namespace and Pod Security Admission.
    let create_namespace = mode == Mode::Daemonset && namespace_obj.is_none();
    if mode == Mode::Sidecar && namespace_obj.is_none() && unreachable.is_none() {
        return Ok(Reply::error(format!(
            "namespace {:?} does not exist; a sidecar goes into the target's namespace",
            inst.namespace
        )));
    }
    let mut label_namespace = false;
    if let Some(ns) = &namespace_obj {
        let psa = manifests::namespace_psa(ns);
        if psa.as_deref() != Some("privileged") {
            if args.label_namespace.unwrap_or(false) {
                label_namespace = true;
            } else {
                warnings.push(psa_warning(&inst.namespace, psa.as_deref()));
            }
        }
    }

    let objects = manifests::objects(&inst, &options, &config, create_namespace)
        .map_err(ToolError::failed)?;
    let manifests_yaml = dry_run.then(|| manifests::to_multi_doc_yaml(&objects));
    let mut out = DeployOut {
        context: cluster.context_name(),
        namespace: inst.namespace.clone(),
        instance: inst.name.clone(),
        mode: mode.as_str().into(),
        image,
        dry_run,
        applied: Vec::new(),
        manifests: manifests_yaml,
        warnings,
        rollout: None,
    };

    if let Some(reason) = &unreachable {
        out.warnings.push(format!(
            "the cluster could not be reached, so the manifests were not validated by the API \
             server: {reason}"
        ));
        out.applied = objects
            .iter()
            .map(|o| applied_entry(o, "would-apply"))
            .collect();
        let text = deploy_text(&out);
        return Ok(Reply::ok(text, out));
    }

    if label_namespace && !dry_run {
        let patch = json!({"metadata": {"labels": {manifests::PSA_LABEL: "privileged"}}});
        if let Err(e) = cluster.merge_patch(&refs::namespace(&inst.namespace), &patch) {
            return Ok(Reply::error(host_error_text(
                "labelling the namespace for privileged pods failed",
                &e,
            )));
        }
    }

    let apply_options = ApplyOptions {
        force: args.force.unwrap_or(false),
        dry_run,
    };
    let mut skipped_namespaced = false;
    for object in &objects {
        let Some(r) = ObjectRef::of(object) else {
            continue;
        };
        if dry_run && create_namespace && r.namespace.is_some() {
            // The API server cannot validate objects in a namespace that does not exist yet.
            out.applied.push(applied_entry(object, "would-create"));
            skipped_namespaced = true;
            continue;
        }
        let before = match cluster.get(&r) {
            Ok(v) => Some(v),
            Err(HostError::NotFound(_)) => None,
            Err(e) => {
                return Ok(apply_failed(out, &r, &e));
            }
        };
        match cluster.apply(object, apply_options) {
            Ok(after) => {
                let action = match (&before, dry_run) {
                    (None, true) => "would-create",
                    (Some(_), true) => "would-configure",
                    (None, false) => "created",
                    (Some(b), false) => {
                        if resource_version(b) == resource_version(&after) {
                            "unchanged"
                        } else {
                            "configured"
                        }
                    }
                };
                out.applied.push(applied_entry(object, action));
            }
            Err(e) => return Ok(apply_failed(out, &r, &e)),
        }
    }
    if skipped_namespaced {
        out.warnings.push(format!(
            "namespace {:?} does not exist yet, so only cluster-scoped objects were validated by \
             the API server (server dry run)",
            inst.namespace
        ));
    }
    if dry_run {
        let text = deploy_text(&out);
        return Ok(Reply::ok(text, out));
    }
    record_history(&out.context, &inst, "deploy", &out.image);

    if args.wait.unwrap_or(true) {
        let timeout = args.timeout.unwrap_or(DEFAULT_TIMEOUT_S);
        let workload = workload_ref(&inst, &options);
        match cluster.wait_rollout(&workload, wait_budget_ms(ctx, timeout, 1.0)) {
            Ok(status) => {
                let failed = status.state != RolloutState::Complete;
                let reason = rollout_failure_reason(&status, timeout);
                out.rollout = Some(Rollout::of(&status));
                let text = deploy_text(&out);
                if failed {
                    return Ok(Reply::error_with(
                        format!(
                            "{text}\nThe objects were applied but OBI is not running: {reason}"
                        ),
                        out,
                    ));
                }
                return Ok(Reply::ok(text, out));
            }
            Err(e) => {
                out.warnings
                    .push(host_error_text("following the rollout failed", &e));
            }
        }
    }
    let text = deploy_text(&out);
    Ok(Reply::ok(text, out))
}

/// The warning for a namespace whose Pod Security Admission would reject OBI.
pub fn psa_warning(namespace: &str, psa: Option<&str>) -> String {
    let current = psa.map_or(
        "no enforce label (the cluster default applies)".to_string(),
        |p| format!("enforce: {p}"),
    );
    format!(
        "namespace {namespace:?} has {current}; OBI needs privileged pods (even the capability \
         set is beyond `baseline`). Label it with `kubectl label namespace {namespace} \
         pod-security.kubernetes.io/enforce=privileged --overwrite`, or deploy again with \
         labelNamespace: true"
    )
}

fn resource_version(o: &Value) -> Option<&str> {
    o.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
}

fn applied_entry(object: &Value, action: &str) -> Applied {
    let r = ObjectRef::of(object).unwrap_or_default();
    Applied {
        kind: r.kind,
        name: r.name,
        namespace: r.namespace,
        action: action.to_string(),
    }
}

fn apply_failed(out: DeployOut, r: &ObjectRef, e: &HostError) -> Reply<DeployOut> {
    let mut text = host_error_text(&format!("applying {} {:?} failed", r.kind, r.name), e);
    if matches!(e, HostError::Conflict(_)) {
        text.push_str(
            "\nhint: another field manager owns these fields; deploy again with force: true to \
             take them over",
        );
    }
    if !out.applied.is_empty() {
        text.push_str(&format!(
            "\nAlready applied: {}",
            out.applied
                .iter()
                .map(|a| format!("{} {}", a.kind, a.name))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Reply::error_with(text, out)
}

/// The workload whose rollout shows OBI's state.
pub fn workload_ref(inst: &Instance, options: &Options) -> ObjectRef {
    match (&options.mode, &options.target) {
        (Mode::Sidecar, Some(t)) => refs::workload(&inst.namespace, t.kind.as_str(), &t.name),
        _ => refs::daemonset(&inst.namespace, &inst.workload_name()),
    }
}

fn deploy_text(out: &DeployOut) -> String {
    let mut text = format!(
        "{} OBI instance {:?} ({}, image {}) in namespace {:?} of context {:?}.",
        if out.dry_run {
            "Dry run of"
        } else {
            "Deployed"
        },
        out.instance,
        out.mode,
        out.image,
        out.namespace,
        out.context
    );
    for a in &out.applied {
        text.push_str(&format!("\n  {} {}: {}", a.kind, a.name, a.action));
    }
    if let Some(r) = &out.rollout {
        text.push_str(&format!(
            "\nRollout {}: {}/{} ready, {} updated. {}",
            r.state, r.ready, r.desired, r.updated, r.message
        ));
    }
    for w in &out.warnings {
        text.push_str(&format!("\nwarning: {w}"));
    }
    if let Some(m) = &out.manifests {
        text.push_str("\n\n");
        text.push_str(m);
    }
    text
}

fn record_history(context: &str, inst: &Instance, action: &str, image: &str) {
    let key = format!("history/{context}/{}/{}", inst.namespace, inst.name);
    let mut entries: Vec<Value> = state::get_json(&key).ok().flatten().unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    entries.push(json!({"action": action, "image": image, "at": now}));
    let skip = entries.len().saturating_sub(20);
    let entries: Vec<Value> = entries.into_iter().skip(skip).collect();
    if let Err(e) = state::set_json(&key, &entries) {
        log::warn!("could not record the {action} in state: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// get_config / update_config

/// Arguments of tools that address one instance and take nothing else.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstanceArgs {
    /// kubeconfig context (default: the current context).
    pub context: Option<String>,
    /// Namespace (default: `toolsets.kubernetes.default_namespace`, `obi-system`).
    pub namespace: Option<String>,
    /// Instance name (default `obi`).
    pub instance: Option<String>,
}

/// Result of `obi_k8s_get_config`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigOut {
    /// The ConfigMap's name.
    pub config_map: String,
    /// The configuration as an object.
    pub config: Value,
    /// The configuration as the YAML OBI reads.
    pub yaml: String,
    /// Validation with the environment the pods give OBI.
    pub validation: Validation,
}

/// The instance's ConfigMap, its options and configuration.
pub struct Current {
    /// The ConfigMap.
    pub config_map: Value,
    /// Deploy options (defaults when the annotation is missing).
    pub options: Options,
    /// The YAML text.
    pub yaml: String,
    /// Parsed configuration.
    pub config: Value,
}

/// Reads the instance's ConfigMap, or an error text for the user.
pub fn current(cluster: &dyn Cluster, inst: &Instance) -> Result<Current, String> {
    let cm = cluster
        .get(&refs::config_map(&inst.namespace, &inst.config_map_name()))
        .map_err(|e| match e {
            HostError::NotFound(_) => format!(
                "no OBI instance {:?} deployed by obi-mcp in namespace {:?} of context {:?} \
                 (ConfigMap {:?} not found). Deploy it with obi_k8s_deploy, or check namespace \
                 and instance.",
                inst.name,
                inst.namespace,
                cluster.context_name(),
                inst.config_map_name()
            ),
            e => host_error_text("reading the ConfigMap failed", &e),
        })?;
    let yaml = manifests::config_text(&cm).unwrap_or_default().to_string();
    let config = obi_config::parse_yaml(&yaml).map_err(|e| {
        format!(
            "ConfigMap {:?} does not hold a readable OBI configuration under {:?}: {e}",
            inst.config_map_name(),
            obi_config::facts::kubernetes::CONFIG_MAP_KEY
        )
    })?;
    let options = manifests::options_of(&cm)
        .unwrap_or_else(|| Options::daemonset(manifests::default_image(None)));
    Ok(Current {
        config_map: cm,
        options,
        yaml,
        config,
    })
}

/// `obi_k8s_get_config`.
pub fn get_config(
    cluster: &dyn Cluster,
    args: InstanceArgs,
) -> Result<Reply<ConfigOut>, ToolError> {
    let inst = instance_of(
        &settings(),
        args.namespace.as_deref(),
        args.instance.as_deref(),
    )?;
    let cur = match current(cluster, &inst) {
        Ok(c) => c,
        Err(text) => return Ok(Reply::error(text)),
    };
    let report = obi_config::validate(&cur.config, &validate_options(&cur.options));
    let validation = Validation::of(&report);
    let text = format!(
        "OBI configuration of instance {:?} (ConfigMap {}/{}, key {}):\n\n{}\nValidation: {}",
        inst.name,
        inst.namespace,
        inst.config_map_name(),
        obi_config::facts::kubernetes::CONFIG_MAP_KEY,
        cur.yaml,
        report.summary()
    );
    Ok(Reply::ok(
        text,
        ConfigOut {
            config_map: inst.config_map_name(),
            config: cur.config,
            yaml: cur.yaml,
            validation,
        },
    ))
}

/// Arguments of `obi_k8s_update_config`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateConfigArgs {
    /// kubeconfig context (default: the current context).
    pub context: Option<String>,
    /// Namespace (default: `toolsets.kubernetes.default_namespace`, `obi-system`).
    pub namespace: Option<String>,
    /// Instance name (default `obi`).
    pub instance: Option<String>,
    /// RFC 7386 merge patch applied to the current configuration (`null` deletes a key).
    pub config: Map<String, Value>,
    /// Only validate the result; change nothing.
    pub validate_only: Option<bool>,
    /// Roll the OBI pods so they read the new configuration (default true; OBI reads its
    /// configuration only at startup).
    pub restart: Option<bool>,
    /// With restart: follow the rollout (default true).
    pub wait: Option<bool>,
    /// Rollout timeout in seconds (default 300).
    pub timeout: Option<u64>,
}

/// Result of `obi_k8s_update_config`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateConfigOut {
    /// Whether the configuration changed (or, with validateOnly, would change).
    pub changed: bool,
    /// Validation of the resulting configuration.
    pub validation: Validation,
    /// Whether the pods were rolled.
    pub restarted: bool,
    /// The resulting configuration.
    pub config: Value,
    /// Dotted paths that changed.
    pub changed_paths: Vec<String>,
    /// How the rollout went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
}

/// `obi_k8s_update_config`.
pub fn update_config(
    ctx: &Context,
    cluster: &dyn Cluster,
    args: UpdateConfigArgs,
) -> Result<Reply<UpdateConfigOut>, ToolError> {
    let inst = instance_of(
        &settings(),
        args.namespace.as_deref(),
        args.instance.as_deref(),
    )?;
    let cur = match current(cluster, &inst) {
        Ok(c) => c,
        Err(text) => return Ok(Reply::error(text)),
    };
    let updated = obi_config::update(
        &cur.config,
        &Value::Object(args.config.clone()),
        &validate_options(&cur.options),
    );
    if !updated.report.is_valid() {
        return Ok(Reply::error(invalid_config_text(&updated.report)));
    }
    let mut out = UpdateConfigOut {
        changed: updated.changed,
        validation: Validation::of(&updated.report),
        restarted: false,
        config: updated.document.clone(),
        changed_paths: updated.changed_paths.clone(),
        rollout: None,
    };
    let warnings_text = || {
        updated
            .report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .map(|f| format!("\nwarning: {}", finding_line(f)))
            .collect::<String>()
    };
    if args.validate_only.unwrap_or(false) {
        let text = format!(
            "Validated only, nothing changed. The patch {} ({}).{}",
            if updated.changed {
                "would change"
            } else {
                "changes nothing in"
            },
            join_or_none(&updated.changed_paths),
            warnings_text()
        );
        return Ok(Reply::ok(text, out));
    }
    if !updated.changed {
        let text = format!(
            "The configuration already has these values; nothing changed.{}",
            warnings_text()
        );
        return Ok(Reply::ok(text, out));
    }
    let objects = match manifests::objects(&inst, &cur.options, &updated.document, false) {
        Ok(o) => o,
        Err(e) => return Err(ToolError::failed(e)),
    };
    let cm = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .cloned()
        .unwrap_or_default();
    if let Err(e) = cluster.apply(&cm, ApplyOptions::default()) {
        return Ok(Reply::error(host_error_text(
            "applying the ConfigMap failed",
            &e,
        )));
    }
    let mut text = format!(
        "Updated ConfigMap {}/{} ({}).",
        inst.namespace,
        inst.config_map_name(),
        join_or_none(&updated.changed_paths)
    );
    if args.restart.unwrap_or(true) {
        let workload = objects.last().cloned().unwrap_or_default();
        if let Err(e) = cluster.apply(&workload, ApplyOptions::default()) {
            return Ok(Reply::error_with(
                format!(
                    "{text}\n{}",
                    host_error_text("rolling the pods (checksum/config) failed", &e)
                ),
                out,
            ));
        }
        out.restarted = true;
        text.push_str(" The pods roll to read it (checksum/config changed).");
        if args.wait.unwrap_or(true) {
            let timeout = args.timeout.unwrap_or(DEFAULT_TIMEOUT_S);
            match cluster.wait_rollout(
                &workload_ref(&inst, &cur.options),
                wait_budget_ms(ctx, timeout, 1.0),
            ) {
                Ok(status) => {
                    let failed = status.state != RolloutState::Complete;
                    out.rollout = Some(Rollout::of(&status));
                    if failed {
                        let reason = rollout_failure_reason(&status, timeout);
                        return Ok(Reply::error_with(
                            format!("{text}\nBut OBI does not come up with it: {reason}"),
                            out,
                        ));
                    }
                    text.push_str(&format!(" Rollout complete: {}", status.message));
                }
                Err(e) => text.push_str(&format!(
                    "\nwarning: {}",
                    host_error_text("following the rollout failed", &e)
                )),
            }
        }
    } else {
        text.push_str(
            " The pods were not restarted: OBI reads its configuration only at startup, so it \
             keeps running with the previous one until the pods restart (update again with \
             restart: true, or upgrade).",
        );
    }
    text.push_str(&warnings_text());
    Ok(Reply::ok(text, out))
}

fn join_or_none(paths: &[String]) -> String {
    if paths.is_empty() {
        "no paths".into()
    } else {
        paths.join(", ")
    }
}

// ---------------------------------------------------------------------------------------------
// upgrade

/// Arguments of `obi_k8s_upgrade`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpgradeArgs {
    /// kubeconfig context (default: the current context).
    pub context: Option<String>,
    /// Namespace (default: `toolsets.kubernetes.default_namespace`, `obi-system`).
    pub namespace: Option<String>,
    /// Instance name (default `obi`).
    pub instance: Option<String>,
    /// OBI release to move to, e.g. `v0.14.0` (same repository as now).
    pub version: Option<String>,
    /// Full image reference with tag or digest (instead of version).
    pub image: Option<String>,
    /// Follow the rollout and roll back when it fails (default true).
    pub wait: Option<bool>,
    /// Rollout timeout in seconds (default 300).
    pub timeout: Option<u64>,
}

/// Result of `obi_k8s_upgrade`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeOut {
    /// Image before.
    pub from: String,
    /// Image asked for.
    pub to: String,
    /// `upgraded`, `rolled-back`, `rollback-failed`, `applied` (no wait) or `unchanged`.
    pub outcome: String,
    /// Rollout of the new image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    /// Rollout of the rollback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_rollout: Option<Rollout>,
    /// Why the upgrade was rolled back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What to do after the new image's rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpgradeDecision {
    /// It completed: keep it.
    Keep,
    /// It failed or timed out: roll back, for this reason.
    RollBack(String),
}

/// Decides on the new image's rollout.
pub fn decide_upgrade(status: &RolloutStatus, timeout_s: u64) -> UpgradeDecision {
    match status.state {
        RolloutState::Complete => UpgradeDecision::Keep,
        _ => UpgradeDecision::RollBack(rollout_failure_reason(status, timeout_s)),
    }
}

/// The outcome after a rollback's rollout.
pub fn rollback_outcome(status: &RolloutStatus) -> &'static str {
    if status.state == RolloutState::Complete {
        "rolled-back"
    } else {
        "rollback-failed"
    }
}

/// `obi_k8s_upgrade`.
pub fn upgrade(
    ctx: &Context,
    cluster: &dyn Cluster,
    args: UpgradeArgs,
) -> Result<Reply<UpgradeOut>, ToolError> {
    let inst = instance_of(
        &settings(),
        args.namespace.as_deref(),
        args.instance.as_deref(),
    )?;
    if args.version.is_none() && args.image.is_none() {
        return Err(ToolError::invalid_arguments(
            "give `version` (e.g. \"v0.14.0\") or `image` to upgrade to",
        ));
    }
    let cur = match current(cluster, &inst) {
        Ok(c) => c,
        Err(text) => return Ok(Reply::error(text)),
    };
    let from = cur.options.image.clone();
    let (to, warnings) =
        manifests::resolve_image(args.image.as_deref(), args.version.as_deref(), &from)
            .map_err(ToolError::invalid_arguments)?;
    let mut out = UpgradeOut {
        from: from.clone(),
        to: to.clone(),
        outcome: "unchanged".into(),
        rollout: None,
        rollback_rollout: None,
        reason: None,
    };
    let warnings_text: String = warnings.iter().map(|w| format!("\nwarning: {w}")).collect();
    if from == to {
        return Ok(Reply::ok(
            format!(
                "Instance {:?} already runs {to}; nothing to do.{warnings_text}",
                inst.name
            ),
            out,
        ));
    }
    let mut next = cur.options.clone();
    next.image = to.clone();
    next.previous_image = Some(from.clone());
    if let Err(text) = apply_options(cluster, &inst, &next, &cur.config) {
        return Ok(Reply::error(text));
    }
    record_history(&cluster.context_name(), &inst, "upgrade", &to);
    if !args.wait.unwrap_or(true) {
        out.outcome = "applied".into();
        return Ok(Reply::ok(
            format!(
                "Set the image of instance {:?} to {to} (was {from}); not waiting for the \
                 rollout. Check it with obi_k8s_status.{warnings_text}",
                inst.name
            ),
            out,
        ));
    }
    let timeout = args.timeout.unwrap_or(DEFAULT_TIMEOUT_S);
    let workload = workload_ref(&inst, &next);
    let status = match cluster.wait_rollout(&workload, wait_budget_ms(ctx, timeout, 0.5)) {
        Ok(s) => s,
        Err(e) => {
            out.outcome = "applied".into();
            return Ok(Reply::error_with(
                format!(
                    "Set the image to {to}, but {}",
                    host_error_text("following the rollout failed", &e)
                ),
                out,
            ));
        }
    };
    out.rollout = Some(Rollout::of(&status));
    let reason = match decide_upgrade(&status, timeout) {
        UpgradeDecision::Keep => {
            out.outcome = "upgraded".into();
            return Ok(Reply::ok(
                format!(
                    "Upgraded instance {:?} from {from} to {to}: {}{warnings_text}",
                    inst.name, status.message
                ),
                out,
            ));
        }
        UpgradeDecision::RollBack(reason) => reason,
    };
    out.reason = Some(reason.clone());
    let mut back = cur.options.clone();
    back.previous_image = Some(to.clone());
    if let Err(text) = apply_options(cluster, &inst, &back, &cur.config) {
        out.outcome = "rollback-failed".into();
        return Ok(Reply::error_with(
            format!(
                "The upgrade to {to} FAILED ({reason}), and rolling back to {from} failed too: {text}"
            ),
            out,
        ));
    }
    record_history(&cluster.context_name(), &inst, "rollback", &from);
    let back_status = cluster
        .wait_rollout(&workload, wait_budget_ms(ctx, timeout, 0.4))
        .map_err(|e| host_error_text("following the rollback failed", &e));
    match back_status {
        Ok(s) => {
            out.outcome = rollback_outcome(&s).into();
            out.rollback_rollout = Some(Rollout::of(&s));
            if out.outcome == "rolled-back" {
                Ok(Reply::ok(
                    format!(
                        "The upgrade to {to} FAILED and was rolled back: {reason}\nInstance {:?} \
                         runs {from} again ({}).{warnings_text}",
                        inst.name, s.message
                    ),
                    out,
                ))
            } else {
                Ok(Reply::error_with(
                    format!(
                        "The upgrade to {to} FAILED ({reason}), and the rollback to {from} did not \
                         complete either: {}",
                        rollout_failure_reason(&s, timeout)
                    ),
                    out,
                ))
            }
        }
        Err(text) => {
            out.outcome = "rollback-failed".into();
            Ok(Reply::error_with(
                format!("The upgrade to {to} FAILED ({reason}); rolled back to {from}, but {text}"),
                out,
            ))
        }
    }
}

/// Re-applies the ConfigMap (with the options) and the workload.
fn apply_options(
    cluster: &dyn Cluster,
    inst: &Instance,
    options: &Options,
    config: &Value,
) -> Result<(), String> {
    let objects = manifests::objects(inst, options, config, false)?;
    for object in objects.iter().filter(|o| {
        o["kind"] == "ConfigMap" || ObjectRef::of(o) == Some(workload_ref(inst, options))
    }) {
        cluster
            .apply(object, ApplyOptions::default())
            .map_err(|e| host_error_text(&format!("applying {} failed", object["kind"]), &e))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// undeploy

/// Arguments of `obi_k8s_undeploy`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UndeployArgs {
    /// kubeconfig context (default: the current context).
    pub context: Option<String>,
    /// Namespace (default: `toolsets.kubernetes.default_namespace`, `obi-system`).
    pub namespace: Option<String>,
    /// Instance name (default `obi`).
    pub instance: Option<String>,
    /// Keep the ConfigMap (the configuration) for a later deploy.
    pub keep_config: Option<bool>,
    /// Delete the namespace too, only if obi-mcp created it and no other obi-mcp instance
    /// is left in it.
    pub delete_namespace: Option<bool>,
    /// Delete the ClusterRole, ClusterRoleBinding and ServiceAccount (default true).
    pub delete_rbac: Option<bool>,
    /// Report what would be deleted; delete nothing.
    pub dry_run: Option<bool>,
}

/// An object removed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Deleted {
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace of a namespaced object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// What was removed when not the whole object (a sidecar).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An object kept.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Kept {
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// Result of `obi_k8s_undeploy`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UndeployOut {
    /// Removed (or, with dryRun, would be removed).
    pub deleted: Vec<Deleted>,
    /// Kept, with the reason.
    pub kept: Vec<Kept>,
    /// Nothing of the instance existed.
    pub not_found: bool,
    /// Nothing was deleted.
    pub dry_run: bool,
}

fn has_our_labels(o: &Value, inst: &Instance) -> bool {
    let l = o.pointer("/metadata/labels");
    let get = |k: &str| l.and_then(|l| l.get(k)).and_then(Value::as_str);
    get(manifests::MANAGED_BY_LABEL) == Some(manifests::MANAGED_BY)
        && get(manifests::INSTANCE_LABEL) == Some(inst.name.as_str())
}

/// `obi_k8s_undeploy`.
pub fn undeploy(
    cluster: &dyn Cluster,
    args: UndeployArgs,
) -> Result<Reply<UndeployOut>, ToolError> {
    let inst = instance_of(
        &settings(),
        args.namespace.as_deref(),
        args.instance.as_deref(),
    )?;
    let dry_run = args.dry_run.unwrap_or(false);
    let mut out = UndeployOut {
        deleted: Vec::new(),
        kept: Vec::new(),
        not_found: false,
        dry_run,
    };
    let fail = |out: UndeployOut, what: &str, e: &HostError| {
        Ok(Reply::error_with(host_error_text(what, e), out))
    };
    let cm_ref = refs::config_map(&inst.namespace, &inst.config_map_name());
    let cm = match cluster.get(&cm_ref) {
        Ok(cm) if has_our_labels(&cm, &inst) => Some(cm),
        Ok(_) | Err(HostError::NotFound(_)) => None,
        Err(e) => return fail(out, "reading the ConfigMap failed", &e),
    };
    let options = cm.as_ref().and_then(manifests::options_of);

    // The workload: the sidecar's fields, or the DaemonSet.
    if let Some(Options {
        mode: Mode::Sidecar,
        target: Some(target),
        ..
    }) = &options
    {
        let r = refs::workload(&inst.namespace, target.kind.as_str(), &target.name);
        match cluster.get(&r) {
            Ok(_) => {
                let removal = manifests::sidecar_removal(&inst.namespace, target);
                let opts = ApplyOptions {
                    force: false,
                    dry_run,
                };
                if let Err(e) = cluster.apply(&removal, opts) {
                    return fail(out, "removing the sidecar (server-side apply) failed", &e);
                }
                out.deleted.push(Deleted {
                    kind: target.kind.as_str().into(),
                    name: target.name.clone(),
                    namespace: Some(inst.namespace.clone()),
                    detail: Some(
                        "removed the obi container, its config volume, shareProcessNamespace and \
                         the pod label/annotation obi-mcp had added (the workload stays)"
                            .into(),
                    ),
                });
            }
            Err(HostError::NotFound(_)) => {}
            Err(e) => return fail(out, "reading the sidecar's target failed", &e),
        }
    } else {
        let r = refs::daemonset(&inst.namespace, &inst.workload_name());
        match delete_ours(cluster, &r, &inst, dry_run) {
            Ok(true) => out.deleted.push(deleted(&r)),
            Ok(false) => {}
            Err(e) => return fail(out, "deleting the DaemonSet failed", &e),
        }
    }

    let delete_rbac = args.delete_rbac.unwrap_or(true);
    let mut rest = vec![
        refs::service_account(&inst.namespace, &inst.workload_name()),
        refs::cluster_role_binding(&inst.cluster_name()),
        refs::cluster_role(&inst.cluster_name()),
    ];
    if cm.is_some() {
        rest.insert(0, cm_ref.clone());
    }
    for r in rest {
        let is_rbac = r.kind != "ConfigMap";
        let keep_reason = if r.kind == "ConfigMap" && args.keep_config.unwrap_or(false) {
            Some("keepConfig: the configuration is kept for a later deploy")
        } else if is_rbac && !delete_rbac {
            Some("deleteRbac: false")
        } else {
            None
        };
        if let Some(reason) = keep_reason {
            if cluster.get(&r).is_ok() {
                out.kept.push(Kept {
                    kind: r.kind.clone(),
                    name: r.name.clone(),
                    reason: reason.into(),
                });
            }
            continue;
        }
        match delete_ours(cluster, &r, &inst, dry_run) {
            Ok(true) => out.deleted.push(deleted(&r)),
            Ok(false) => {}
            Err(e) => return fail(out, &format!("deleting {} {:?} failed", r.kind, r.name), &e),
        }
    }

    // The namespace.
    if args.delete_namespace.unwrap_or(false) {
        let r = refs::namespace(&inst.namespace);
        match cluster.get(&r) {
            Ok(ns) => {
                let ours = ns
                    .pointer("/metadata/annotations")
                    .and_then(|a| a.get(manifests::CREATED_BY_ANNOTATION))
                    .and_then(Value::as_str)
                    == Some(manifests::MANAGED_BY);
                let others = other_instances(cluster, &inst);
                let reason = if !ours {
                    Some("obi-mcp did not create this namespace".to_string())
                } else if !others.is_empty() {
                    Some(format!(
                        "other obi-mcp instances are still deployed in it: {}",
                        others.join(", ")
                    ))
                } else {
                    None
                };
                match reason {
                    Some(reason) => out.kept.push(Kept {
                        kind: "Namespace".into(),
                        name: inst.namespace.clone(),
                        reason,
                    }),
                    None => match cluster.delete(&r, dry_run) {
                        Ok(true) => out.deleted.push(deleted(&r)),
                        Ok(false) => {}
                        Err(e) => return fail(out, "deleting the namespace failed", &e),
                    },
                }
            }
            Err(HostError::NotFound(_)) => {}
            Err(e) => return fail(out, "reading the namespace failed", &e),
        }
    }

    out.not_found = out.deleted.is_empty() && out.kept.is_empty();
    if !dry_run && !out.not_found {
        record_history(&cluster.context_name(), &inst, "undeploy", "");
    }
    let text = undeploy_text(&inst, &out);
    Ok(Reply::ok(text, out))
}

fn deleted(r: &ObjectRef) -> Deleted {
    Deleted {
        kind: r.kind.clone(),
        name: r.name.clone(),
        namespace: r.namespace.clone(),
        detail: None,
    }
}

/// Deletes an object only when it carries the instance's labels.
fn delete_ours(
    cluster: &dyn Cluster,
    r: &ObjectRef,
    inst: &Instance,
    dry_run: bool,
) -> Result<bool, HostError> {
    match cluster.get(r) {
        Ok(o) if has_our_labels(&o, inst) => cluster.delete(r, dry_run),
        Ok(_) | Err(HostError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Other obi-mcp instances in the instance's namespace (by their ConfigMaps).
fn other_instances(cluster: &dyn Cluster, inst: &Instance) -> Vec<String> {
    let request = obi_toolset_sdk::kubernetes::ListRequest::new("v1", "ConfigMap")
        .namespace(inst.namespace.clone())
        .labels(format!(
            "{}={}",
            manifests::MANAGED_BY_LABEL,
            manifests::MANAGED_BY
        ))
        .fields(&["/metadata/labels"]);
    let mut names: Vec<String> = cluster
        .list(&request)
        .map(|r| r.items)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| {
            o.pointer("/metadata/labels")?
                .get(manifests::INSTANCE_LABEL)?
                .as_str()
                .map(str::to_string)
        })
        .filter(|n| *n != inst.name)
        .collect();
    names.sort();
    names.dedup();
    names
}

fn undeploy_text(inst: &Instance, out: &UndeployOut) -> String {
    if out.not_found {
        return format!(
            "Nothing to undeploy: no objects of OBI instance {:?} created by obi-mcp in namespace \
             {:?}.",
            inst.name, inst.namespace
        );
    }
    let mut text = format!(
        "{} OBI instance {:?} in namespace {:?}:",
        if out.dry_run {
            "Would undeploy"
        } else {
            "Undeployed"
        },
        inst.name,
        inst.namespace
    );
    for d in &out.deleted {
        text.push_str(&format!(
            "\n  {} {} {}{}",
            if out.dry_run {
                "would delete"
            } else {
                "deleted"
            },
            d.kind,
            d.name,
            d.detail
                .as_deref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default()
        ));
    }
    for k in &out.kept {
        text.push_str(&format!("\n  kept {} {}: {}", k.kind, k.name, k.reason));
    }
    text
}

#[cfg(test)]
mod tests;
