//! The mutating tools against the fake cluster.

use super::*;
use crate::cluster::fake::Fake;
use obi_toolset_sdk::kubernetes::RolloutState;

fn ctx() -> Context {
    Context::detached()
}

fn deploy_args() -> DeployArgs {
    DeployArgs::default()
}

fn inst() -> Instance {
    Instance::new("obi-system", "obi").unwrap()
}

fn ds_ref() -> ObjectRef {
    refs::daemonset("obi-system", "obi")
}

fn image_of(fake: &Fake) -> String {
    fake.stored(&ds_ref()).unwrap()["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

fn crash(pod: &str) -> PodProblem {
    PodProblem {
        pod: pod.into(),
        node: Some("node-1".into()),
        container: Some("obi".into()),
        reason: "CrashLoopBackOff".into(),
        message: "back-off 5m0s restarting failed container".into(),
        restarts: 4,
    }
}

#[test]
fn deploy_creates_namespace_rbac_config_and_daemonset_then_waits() {
    let fake = Fake::new();
    let reply = deploy(&ctx(), &fake, deploy_args()).unwrap();
    assert!(!reply.is_error, "{}", reply.text);
    let out = reply.data.unwrap();
    let applied: Vec<(String, String)> = out
        .applied
        .iter()
        .map(|a| (a.kind.clone(), a.action.clone()))
        .collect();
    assert_eq!(
        applied,
        [
            ("Namespace", "created"),
            ("ServiceAccount", "created"),
            ("ClusterRole", "created"),
            ("ClusterRoleBinding", "created"),
            ("ConfigMap", "created"),
            ("DaemonSet", "created"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(out.rollout.as_ref().unwrap().state, "complete");
    assert_eq!(out.mode, "daemonset");
    assert!(out.manifests.is_none());
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert!(
        fake.journal
            .borrow()
            .last()
            .unwrap()
            .starts_with("wait DaemonSet/obi")
    );
    // a second deploy changes nothing
    let again = deploy(&ctx(), &fake, deploy_args()).unwrap().data.unwrap();
    assert!(
        again
            .applied
            .iter()
            .all(|a| a.action == "unchanged" || a.kind == "Namespace"),
        "{:?}",
        again.applied
    );
    assert!(again.applied.iter().all(|a| a.kind != "Namespace"));
}

#[test]
fn invalid_config_is_an_error_with_obis_message_and_nothing_is_applied() {
    let fake = Fake::new();
    let mut args = deploy_args();
    args.config = Some(json!({"bpf_debug": true}).as_object().unwrap().clone());
    let reply = deploy(&ctx(), &fake, args).unwrap();
    assert!(reply.is_error);
    assert!(
        reply
            .text
            .contains("at least one of 'network' or 'application' features must be enabled"),
        "{}",
        reply.text
    );
    assert!(
        fake.journal.borrow().is_empty(),
        "{:?}",
        fake.journal.borrow()
    );
}

#[test]
fn dry_run_on_an_unreachable_cluster_still_returns_the_manifests() {
    let fake = Fake {
        down: Some(HostError::Timeout(
            "context \"kind\": GET /api/v1/namespaces/obi-system: timed out".into(),
        )),
        ..Fake::new()
    };
    let mut args = deploy_args();
    args.dry_run = Some(true);
    let reply = deploy(&ctx(), &fake, args).unwrap();
    assert!(!reply.is_error, "{}", reply.text);
    let out = reply.data.unwrap();
    assert!(out.dry_run);
    let yaml = out.manifests.unwrap();
    assert!(yaml.contains("kind: DaemonSet"));
    assert!(out.applied.iter().all(|a| a.action == "would-apply"));
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("could not be reached"))
    );
}

#[test]
fn dry_run_on_a_reachable_cluster_uses_server_dry_run_and_persists_nothing() {
    let fake = Fake::new();
    fake.put(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "obi-system",
        "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}),
    );
    let mut args = deploy_args();
    args.dry_run = Some(true);
    let out = deploy(&ctx(), &fake, args).unwrap().data.unwrap();
    assert!(out.manifests.is_some());
    assert!(out.applied.iter().all(|a| a.action == "would-create"));
    assert!(fake.stored(&ds_ref()).is_none());
    assert!(
        fake.journal
            .borrow()
            .iter()
            .all(|j| j.starts_with("apply (dry run)"))
    );
}

#[test]
fn existing_namespace_without_psa_label_is_warned_about_not_relabelled() {
    let fake = Fake::new();
    fake.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "obi-system"}}));
    let out = deploy(&ctx(), &fake, deploy_args()).unwrap().data.unwrap();
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("pod-security.kubernetes.io/enforce=privileged"))
    );
    assert!(out.applied.iter().all(|a| a.kind != "Namespace"));
    let ns = fake.stored(&refs::namespace("obi-system")).unwrap();
    assert!(ns["metadata"].get("labels").is_none());
    // asked to: labelled
    let mut args = deploy_args();
    args.label_namespace = Some(true);
    let out = deploy(&ctx(), &fake, args).unwrap().data.unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    let ns = fake.stored(&refs::namespace("obi-system")).unwrap();
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
}

#[test]
fn failed_rollout_is_an_error_result_with_the_problems() {
    let fake = Fake::new();
    fake.rollout(
        RolloutState::Failed,
        vec![PodProblem {
            reason: "ImagePullBackOff".into(),
            message: "manifest unknown".into(),
            ..crash("obi-abc")
        }],
    );
    let reply = deploy(&ctx(), &fake, deploy_args()).unwrap();
    assert!(reply.is_error);
    assert!(reply.text.contains("ImagePullBackOff"), "{}", reply.text);
    assert_eq!(
        reply.data.unwrap().rollout.unwrap().problems[0].reason,
        "ImagePullBackOff"
    );
}

#[test]
fn deploy_refuses_latest() {
    let fake = Fake::new();
    let mut args = deploy_args();
    args.image = Some("otel/ebpf-instrument:latest".into());
    assert!(matches!(
        deploy(&ctx(), &fake, args),
        Err(ToolError::InvalidArguments(_))
    ));
}

fn app() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "checkout", "namespace": "shop", "resourceVersion": "7"},
        "spec": {"selector": {"matchLabels": {"app": "checkout"}}, "template": {
            "metadata": {"labels": {"app": "checkout"}},
            "spec": {"containers": [{"name": "app", "image": "shop/checkout:1",
                "ports": [{"containerPort": 8080}]}]}}},
    })
}

fn sidecar_args() -> DeployArgs {
    DeployArgs {
        namespace: Some("shop".into()),
        mode: Some(Mode::Sidecar),
        target: Some(Target {
            kind: manifests::TargetKind::Deployment,
            name: "checkout".into(),
        }),
        ..DeployArgs::default()
    }
}

#[test]
fn sidecar_deploy_and_undeploy_touch_only_what_obi_mcp_added() {
    let fake = Fake::new();
    fake.put(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop",
        "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}),
    );
    fake.put(app());
    let out = deploy(&ctx(), &fake, sidecar_args()).unwrap().data.unwrap();
    let kinds: Vec<&str> = out.applied.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "ConfigMap",
            "Deployment"
        ]
    );
    let app_ref = refs::workload("shop", "Deployment", "checkout");
    let stored = fake.stored(&app_ref).unwrap();
    let containers = stored["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert!(containers.iter().any(|c| c["name"] == "obi"));
    assert_eq!(stored["spec"]["selector"], app()["spec"]["selector"]);
    let binding = fake
        .stored(&refs::cluster_role_binding("obi-mcp-shop-obi"))
        .unwrap();
    assert_eq!(binding["subjects"][0]["name"], "default");
    assert!(fake.stored(&refs::service_account("shop", "obi")).is_none());

    let args = UndeployArgs {
        namespace: Some("shop".into()),
        ..UndeployArgs::default()
    };
    let out = undeploy(&fake, args).unwrap().data.unwrap();
    let removal = fake
        .journal
        .borrow()
        .iter()
        .rev()
        .find(|j| j.starts_with("apply"))
        .cloned()
        .unwrap();
    assert_eq!(removal, "apply Deployment/checkout");
    assert_eq!(out.deleted[0].kind, "Deployment");
    assert!(out.deleted[0].detail.is_some());
    let kinds: Vec<&str> = out.deleted.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "Deployment",
            "ConfigMap",
            "ClusterRoleBinding",
            "ClusterRole"
        ]
    );
    assert!(fake.stored(&app_ref).is_some(), "the app itself stays");
}

#[test]
fn sidecar_without_a_port_needs_open_port() {
    let fake = Fake::new();
    let mut app = app();
    app["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("ports");
    fake.put(app);
    let err = deploy(&ctx(), &fake, sidecar_args()).unwrap_err();
    assert!(err.message().contains("openPort"), "{err}");
}

#[test]
fn upgrade_keeps_a_good_rollout() {
    let fake = Fake::new();
    deploy(&ctx(), &fake, deploy_args()).unwrap();
    let args = UpgradeArgs {
        version: Some("v0.14.0".into()),
        ..UpgradeArgs::default()
    };
    let reply = upgrade(&ctx(), &fake, args).unwrap();
    assert!(!reply.is_error, "{}", reply.text);
    let out = reply.data.unwrap();
    assert_eq!(out.outcome, "upgraded");
    assert_eq!(out.to, "otel/ebpf-instrument:v0.14.0");
    assert_eq!(image_of(&fake), "otel/ebpf-instrument:v0.14.0");
    let ds = fake.stored(&ds_ref()).unwrap();
    assert_eq!(
        ds["metadata"]["annotations"]["obi-mcp.io/previous-image"],
        out.from
    );
    // the full DaemonSet was applied again (server-side apply prunes what is left out)
    assert_eq!(ds["spec"]["template"]["spec"]["hostPID"], true);
}

#[test]
fn upgrade_rolls_back_a_crash_looping_release() {
    let fake = Fake::new();
    deploy(&ctx(), &fake, deploy_args()).unwrap();
    let before = image_of(&fake);
    fake.rollout(RolloutState::Failed, vec![crash("obi-x1")]);
    let args = UpgradeArgs {
        version: Some("v0.14.0".into()),
        ..UpgradeArgs::default()
    };
    let reply = upgrade(&ctx(), &fake, args).unwrap();
    assert!(!reply.is_error, "{}", reply.text);
    assert!(reply.text.contains("FAILED"), "{}", reply.text);
    assert!(reply.text.contains("CrashLoopBackOff"), "{}", reply.text);
    let out = reply.data.unwrap();
    assert_eq!(out.outcome, "rolled-back");
    assert!(out.reason.unwrap().contains("obi-x1"));
    assert_eq!(out.rollback_rollout.unwrap().state, "complete");
    assert_eq!(image_of(&fake), before);
}

#[test]
fn upgrade_reports_a_failed_rollback_as_an_error() {
    let fake = Fake::new();
    deploy(&ctx(), &fake, deploy_args()).unwrap();
    fake.rollout(RolloutState::TimedOut, vec![]);
    fake.rollout(RolloutState::Failed, vec![crash("obi-x2")]);
    let reply = upgrade(
        &ctx(),
        &fake,
        UpgradeArgs {
            version: Some("v0.14.0".into()),
            ..UpgradeArgs::default()
        },
    )
    .unwrap();
    assert!(reply.is_error);
    assert_eq!(reply.data.unwrap().outcome, "rollback-failed");
}

#[test]
fn upgrade_without_wait_only_applies() {
    let fake = Fake::new();
    deploy(&ctx(), &fake, deploy_args()).unwrap();
    let out = upgrade(
        &ctx(),
        &fake,
        UpgradeArgs {
            version: Some("0.14.0".into()),
            wait: Some(false),
            ..UpgradeArgs::default()
        },
    )
    .unwrap()
    .data
    .unwrap();
    assert_eq!(out.outcome, "applied");
    assert!(out.rollout.is_none());
}

#[test]
fn upgrade_decision_logic() {
    let status = |state| RolloutStatus {
        state,
        desired: 2,
        updated: 1,
        ready: 1,
        available: 1,
        message: "1 of 2 updated".into(),
        problems: vec![crash("p")],
        waited_ms: 1,
    };
    assert_eq!(
        decide_upgrade(&status(RolloutState::Complete), 300),
        UpgradeDecision::Keep
    );
    let UpgradeDecision::RollBack(reason) = decide_upgrade(&status(RolloutState::TimedOut), 300)
    else {
        panic!()
    };
    assert!(reason.contains("within 300s"), "{reason}");
    assert!(matches!(
        decide_upgrade(&status(RolloutState::Failed), 300),
        UpgradeDecision::RollBack(r) if r.contains("CrashLoopBackOff")
    ));
    assert_eq!(
        rollback_outcome(&status(RolloutState::Complete)),
        "rolled-back"
    );
    assert_eq!(
        rollback_outcome(&status(RolloutState::Failed)),
        "rollback-failed"
    );
}

#[test]
fn update_config_patches_validates_and_rolls_by_checksum() {
    let fake = Fake::new();
    deploy(&ctx(), &fake, deploy_args()).unwrap();
    let checksum = |fake: &Fake| {
        fake.stored(&ds_ref()).unwrap()["spec"]["template"]["metadata"]["annotations"]
            ["checksum/config"]
            .clone()
    };
    let before = checksum(&fake);
    let patch = json!({"log_level": "DEBUG"}).as_object().unwrap().clone();
    // validate only: nothing changes
    let out = update_config(
        &ctx(),
        &fake,
        UpdateConfigArgs {
            config: patch.clone(),
            validate_only: Some(true),
            ..UpdateConfigArgs::default()
        },
    )
    .unwrap()
    .data
    .unwrap();
    assert!(out.changed && !out.restarted);
    assert_eq!(checksum(&fake), before);
    // restart: false updates only the ConfigMap
    let out = update_config(
        &ctx(),
        &fake,
        UpdateConfigArgs {
            config: patch.clone(),
            restart: Some(false),
            ..UpdateConfigArgs::default()
        },
    )
    .unwrap()
    .data
    .unwrap();
    assert!(out.changed && !out.restarted);
    assert_eq!(checksum(&fake), before);
    let cm = fake
        .stored(&refs::config_map("obi-system", "obi-config"))
        .unwrap();
    assert!(
        manifests::config_text(&cm)
            .unwrap()
            .contains("log_level: DEBUG")
    );
    // another change with restart rolls the pods
    let out = update_config(
        &ctx(),
        &fake,
        UpdateConfigArgs {
            config: json!({"log_level": "WARN"}).as_object().unwrap().clone(),
            ..UpdateConfigArgs::default()
        },
    )
    .unwrap()
    .data
    .unwrap();
    assert!(out.restarted);
    assert_eq!(out.rollout.unwrap().state, "complete");
    assert_ne!(checksum(&fake), before);
    assert_eq!(out.config["log_level"], "WARN");
}

#[test]
fn invalid_update_changes_nothing() {
    let fake = Fake::new();
    deploy(&ctx(), &fake, deploy_args()).unwrap();
    let journal_len = fake.journal.borrow().len();
    let reply = update_config(
        &ctx(),
        &fake,
        UpdateConfigArgs {
            config:
                json!({"discovery": null, "otel_traces_export": null, "otel_metrics_export": null})
                    .as_object()
                    .unwrap()
                    .clone(),
            ..UpdateConfigArgs::default()
        },
    )
    .unwrap();
    assert!(reply.is_error);
    assert!(reply.text.contains("at least one of"), "{}", reply.text);
    assert_eq!(fake.journal.borrow().len(), journal_len);
}

#[test]
fn get_config_of_a_missing_instance_says_how_to_deploy() {
    let fake = Fake::new();
    let reply = get_config(&fake, InstanceArgs::default()).unwrap();
    assert!(reply.is_error);
    assert!(reply.text.contains("obi_k8s_deploy"), "{}", reply.text);
    deploy(&ctx(), &fake, deploy_args()).unwrap();
    let out = get_config(&fake, InstanceArgs::default())
        .unwrap()
        .data
        .unwrap();
    assert_eq!(out.config_map, "obi-config");
    assert!(out.validation.valid);
    assert_eq!(out.config["attributes"]["kubernetes"]["enable"], true);
}

#[test]
fn undeploy_removes_only_the_instance_and_keeps_what_is_asked() {
    let fake = Fake::new();
    deploy(&ctx(), &fake, deploy_args()).unwrap();
    deploy(
        &ctx(),
        &fake,
        DeployArgs {
            instance: Some("second".into()),
            ..deploy_args()
        },
    )
    .unwrap();
    let out = undeploy(
        &fake,
        UndeployArgs {
            keep_config: Some(true),
            delete_namespace: Some(true),
            ..UndeployArgs::default()
        },
    )
    .unwrap()
    .data
    .unwrap();
    let deleted: Vec<&str> = out.deleted.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(
        deleted,
        [
            "DaemonSet",
            "ServiceAccount",
            "ClusterRoleBinding",
            "ClusterRole"
        ]
    );
    let kept: Vec<(&str, &str)> = out
        .kept
        .iter()
        .map(|k| (k.kind.as_str(), k.reason.as_str()))
        .collect();
    assert_eq!(kept[0].0, "ConfigMap");
    assert_eq!(kept[1].0, "Namespace");
    assert!(kept[1].1.contains("second"), "{:?}", kept);
    assert!(
        fake.stored(&refs::daemonset("obi-system", "second"))
            .is_some()
    );
    // nothing left of `obi` but the kept config
    let out = undeploy(&fake, UndeployArgs::default())
        .unwrap()
        .data
        .unwrap();
    assert_eq!(out.deleted.len(), 1);
    assert_eq!(out.deleted[0].kind, "ConfigMap");
    let out = undeploy(&fake, UndeployArgs::default())
        .unwrap()
        .data
        .unwrap();
    assert!(out.not_found);
}

#[test]
fn undeploy_deletes_a_namespace_obi_mcp_created_when_asked() {
    let fake = Fake::new();
    deploy(&ctx(), &fake, deploy_args()).unwrap();
    let dry = undeploy(
        &fake,
        UndeployArgs {
            delete_namespace: Some(true),
            dry_run: Some(true),
            ..UndeployArgs::default()
        },
    )
    .unwrap()
    .data
    .unwrap();
    assert!(dry.dry_run);
    assert!(fake.stored(&ds_ref()).is_some());
    let out = undeploy(
        &fake,
        UndeployArgs {
            delete_namespace: Some(true),
            ..UndeployArgs::default()
        },
    )
    .unwrap()
    .data
    .unwrap();
    assert_eq!(out.deleted.last().unwrap().kind, "Namespace");
    assert_eq!(dry.deleted.len(), out.deleted.len());
    // a namespace obi-mcp did not create is never deleted
    let fake = Fake::new();
    fake.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "obi-system"}}));
    deploy(&ctx(), &fake, deploy_args()).unwrap();
    let out = undeploy(
        &fake,
        UndeployArgs {
            delete_namespace: Some(true),
            ..UndeployArgs::default()
        },
    )
    .unwrap()
    .data
    .unwrap();
    assert_eq!(out.kept[0].kind, "Namespace");
    assert!(fake.stored(&refs::namespace("obi-system")).is_some());
}

#[test]
fn denied_host_errors_are_readable_as_is() {
    let fake = Fake {
        down: Some(HostError::Denied(
            "kubernetes: create daemonsets in namespace \"obi-system\" is not granted to toolset \"kubernetes\"".into(),
        )),
        ..Fake::new()
    };
    let reply = deploy(&ctx(), &fake, deploy_args()).unwrap();
    assert!(reply.is_error);
    assert!(
        reply
            .text
            .contains("is not granted to toolset \"kubernetes\""),
        "{}",
        reply.text
    );
    let _ = inst();
}

#[test]
fn a_given_config_sets_the_common_endpoint_from_its_own_without_warnings() {
    let fake = Fake::new();
    let mut args = deploy_args();
    args.config = Some(
        json!({"discovery": {"instrument": [{"k8s_namespace": "shop"}]},
               "otel_traces_export": {"endpoint": "http://collector.obs:4318"}})
        .as_object()
        .unwrap()
        .clone(),
    );
    let out = deploy(&ctx(), &fake, args).unwrap().data.unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    let ds = fake.stored(&ds_ref()).unwrap();
    let env = &ds["spec"]["template"]["spec"]["containers"][0]["env"];
    assert!(
        env.as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "OTEL_EXPORTER_OTLP_ENDPOINT"
                && e["value"] == "http://collector.obs:4318")
    );
}
