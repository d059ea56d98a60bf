//! Failure modes a diagnose tool must see, pod logs options, RBAC, faults and metrics — via kube-rs.

mod common;

use common::*;
use futures_util::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube_sim::{Cluster, ClusterOptions, CrashRule, Fault, FaultAction, NodeSpec};
use serde_json::json;
use std::time::{Duration, Instant};

fn obi_ds(image: &str) -> DaemonSet {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "obi"},
        "spec": {"selector": {"matchLabels": {"app": "obi"}}, "template": {"metadata": {"labels": {"app": "obi"}}, "spec": {
            "containers": [{"name": "obi", "image": image,
                "env": [{"name": "OTEL_EBPF_CONFIG_PATH", "value": "/config/obi.yml"}],
                "volumeMounts": [{"name": "cfg", "mountPath": "/config"}]}],
            "volumes": [{"name": "cfg", "configMap": {"name": "obi-config", "items": [{"key": "ebpf-instrument-config.yml", "path": "obi.yml"}]}}]}}}
    }))
    .unwrap()
}

async fn put_config(client: &kube::Client, text: &str) {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "obi-config"}, "data": {"ebpf-instrument-config.yml": text}});
    api.patch(
        "obi-config",
        &PatchParams::apply("test").force(),
        &Patch::Apply(&cm),
    )
    .await
    .unwrap();
}

async fn one_pod(client: &kube::Client, pred: impl Fn(&Pod) -> bool) -> Pod {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let start = Instant::now();
    loop {
        let pods = api
            .list(&ListParams::default().labels("app=obi"))
            .await
            .unwrap()
            .items;
        if let Some(p) = pods.into_iter().find(|p| pred(p)) {
            return p;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no pod reached the expected state"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn waiting_reason(p: &Pod) -> Option<String> {
    p.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .first()?
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .reason
        .clone()
}

fn restarts(p: &Pod) -> i32 {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .map(|c| c.restart_count)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_obi_config_crash_loops_with_exit_255_and_recovers_when_fixed() {
    let c = cluster(1).await;
    let client = c.client().await.unwrap();
    put_config(&client, "log_level: info\n").await;
    let api: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    api.create(
        &PostParams::default(),
        &obi_ds("otel/ebpf-instrument:v0.12.1"),
    )
    .await
    .unwrap();
    let pod = one_pod(&client, |p| {
        waiting_reason(p).as_deref() == Some("CrashLoopBackOff") && restarts(p) >= 2
    })
    .await;
    let cs = &pod
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0];
    assert!(!cs.ready);
    let term = cs.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!(term.exit_code, 255);
    assert_eq!(term.reason.as_deref(), Some("Error"));
    assert!(
        cs.state
            .as_ref()
            .unwrap()
            .waiting
            .as_ref()
            .unwrap()
            .message
            .as_ref()
            .unwrap()
            .starts_with("back-off ")
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let name = pod.metadata.name.clone().unwrap();
    let logs = pods.logs(&name, &LogParams::default()).await.unwrap();
    assert!(
        logs.lines()
            .next()
            .unwrap()
            .contains("level=INFO msg=\"OpenTelemetry eBPF Instrumentation\" Version=v0.12.1"),
        "{logs}"
    );
    assert!(logs.contains("level=ERROR msg=\"wrong configuration\" error=\"at least one of 'network' or 'application' features must be enabled."), "{logs}");
    let prev = pods
        .logs(
            &name,
            &LogParams {
                previous: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(prev.contains("level=ERROR"), "{prev}");
    // Fixing the ConfigMap lets the next restart come up.
    put_config(&client, VALID_CONFIG).await;
    let fixed = one_pod(&client, |p| {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|cs| cs[0].ready)
    })
    .await;
    assert!(restarts(&fixed) >= 2);
    assert_eq!(fixed.status.unwrap().phase.as_deref(), Some("Running"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_var_can_satisfy_obi_validation_and_missing_configmap_blocks_start() {
    let c = cluster(1).await;
    let client = c.client().await.unwrap();
    let api: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    api.create(
        &PostParams::default(),
        &obi_ds("otel/ebpf-instrument:v0.12.1"),
    )
    .await
    .unwrap();
    // No ConfigMap yet: the volume cannot mount, the pod stays ContainerCreating with a FailedMount event.
    let p = one_pod(&client, |p| {
        waiting_reason(p).as_deref() == Some("ContainerCreating")
    })
    .await;
    let c2 = &c;
    eventually(Duration::from_secs(5), || {
        c2.list("v1", "Event", Some("default"))
            .into_iter()
            .find(|e| e["reason"] == "FailedMount")
            .map(|e| {
                assert!(
                    e["message"]
                        .as_str()
                        .unwrap()
                        .contains("configmap \"obi-config\" not found")
                )
            })
    })
    .await;
    assert_eq!(p.status.unwrap().phase.as_deref(), Some("Pending"));
    // Application discovery from YAML plus the exporter from the environment is valid.
    put_config(&client, NO_EXPORTER_CONFIG).await;
    api.patch("obi", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "obi", "env": [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://collector:4318"}]}]}}}}))).await.unwrap();
    let running = one_pod(&client, |p| {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|cs| cs[0].ready)
    })
    .await;
    assert_eq!(restarts(&running), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpullable_image_alternates_err_image_pull_and_backoff() {
    let c = cluster(1).await;
    c.fail_image_pull("otel/ebpf-instrument:does-not-exist");
    let client = c.client().await.unwrap();
    put_config(&client, VALID_CONFIG).await;
    let api: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    api.create(
        &PostParams::default(),
        &obi_ds("otel/ebpf-instrument:does-not-exist"),
    )
    .await
    .unwrap();
    let p = one_pod(&client, |p| {
        waiting_reason(p).as_deref() == Some("ErrImagePull")
    })
    .await;
    let msg = p
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0]
        .state
        .as_ref()
        .unwrap()
        .waiting
        .as_ref()
        .unwrap()
        .message
        .clone()
        .unwrap();
    assert!(
        msg.contains("docker.io/otel/ebpf-instrument:does-not-exist: not found"),
        "{msg}"
    );
    one_pod(&client, |p| {
        waiting_reason(p).as_deref() == Some("ImagePullBackOff")
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let err = pods
        .logs(p.metadata.name.as_ref().unwrap(), &LogParams::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 400 && s.message.contains("waiting to start")),
        "{err:?}"
    );
    // Rolling back to a pullable image recovers.
    c.clear_rules();
    one_pod(&client, |p| {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|cs| cs[0].ready)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obi_on_an_old_kernel_node_crashes_and_custom_crash_rules_apply() {
    let c = Cluster::start(
        ClusterOptions::for_tests()
            .with_node(NodeSpec::named("new"))
            .with_node(NodeSpec::named("old").kernel("5.4.0-150-generic"))
            .with_node(NodeSpec::named("rhel").kernel("4.18.0-553.el8_10.x86_64")),
    )
    .await
    .unwrap();
    c.crash_containers(CrashRule {
        image: "busybox:*".into(),
        exit_code: 1,
        log_line: "sh: boom".into(),
    });
    let client = c.client().await.unwrap();
    put_config(&client, VALID_CONFIG).await;
    let api: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    api.create(
        &PostParams::default(),
        &obi_ds("otel/ebpf-instrument:v0.12.1"),
    )
    .await
    .unwrap();
    let on_old = one_pod(&client, |p| {
        p.spec.as_ref().unwrap().node_name.as_deref() == Some("old")
            && waiting_reason(p).as_deref() == Some("CrashLoopBackOff")
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let logs = pods
        .logs(
            on_old.metadata.name.as_ref().unwrap(),
            &LogParams::default(),
        )
        .await
        .unwrap();
    assert!(logs.contains("level=ERROR msg=\"can't start OpenTelemetry eBPF Instrumentation\" error=\"kernel version 5.4 not supported. Minimum required version is 5.8\""), "{logs}");
    one_pod(&client, |p| {
        p.spec.as_ref().unwrap().node_name.as_deref() == Some("rhel")
            && p.status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .is_some_and(|cs| cs[0].ready)
    })
    .await;
    one_pod(&client, |p| {
        p.spec.as_ref().unwrap().node_name.as_deref() == Some("new")
            && p.status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .is_some_and(|cs| cs[0].ready)
    })
    .await;
    let bb: Pod = serde_json::from_value(json!({"metadata": {"name": "bb", "labels": {"app": "obi"}}, "spec": {"nodeName": "new", "containers": [{"name": "c", "image": "busybox:1.36"}]}})).unwrap();
    pods.create(&PostParams::default(), &bb).await.unwrap();
    let crashed = one_pod(&client, |p| {
        p.metadata.name.as_deref() == Some("bb")
            && waiting_reason(p).as_deref() == Some("CrashLoopBackOff")
    })
    .await;
    let cs = &crashed.status.unwrap().container_statuses.unwrap()[0];
    assert_eq!(
        cs.last_state
            .as_ref()
            .unwrap()
            .terminated
            .as_ref()
            .unwrap()
            .exit_code,
        1
    );
    assert!(
        pods.logs("bb", &LogParams::default())
            .await
            .unwrap()
            .contains("sh: boom")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_logs_honour_tail_since_limit_timestamps_and_follow() {
    let c = cluster(1).await;
    let client = c.client().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "obi", "image": "otel/ebpf-instrument:v0.12.1", "env": [{"name": "OTEL_EBPF_OPEN_PORT", "value": "8080"}, {"name": "OTEL_EBPF_TRACE_PRINTER", "value": "text"}]}]}})).unwrap();
    pods.create(&PostParams::default(), &p).await.unwrap();
    one_pod_named(&pods, "web").await;
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let err = pods.logs("web", &LogParams::default()).await.unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.message.contains("a container name must be specified for pod web, choose one of: [web obi]")),
        "{err:?}"
    );
    let lp = |f: fn(&mut LogParams)| {
        let mut l = LogParams {
            container: Some("obi".into()),
            ..Default::default()
        };
        f(&mut l);
        l
    };
    let all = pods.logs("web", &lp(|_| {})).await.unwrap();
    let n = all.lines().count();
    assert!(n >= 5, "{all}");
    let tail = pods
        .logs("web", &lp(|l| l.tail_lines = Some(2)))
        .await
        .unwrap();
    assert_eq!(
        tail.lines().collect::<Vec<_>>(),
        all.lines().skip(n - 2).collect::<Vec<_>>()
    );
    let ts = pods
        .logs("web", &lp(|l| l.timestamps = true))
        .await
        .unwrap();
    for (a, b) in ts.lines().zip(all.lines()) {
        let (stamp, rest) = a.split_once(' ').unwrap();
        assert_eq!(rest, b);
        assert!(
            k8s_openapi::jiff::Timestamp::from_str_compat(stamp),
            "{stamp}"
        );
    }
    let limited = pods
        .logs("web", &lp(|l| l.limit_bytes = Some(40)))
        .await
        .unwrap();
    assert_eq!(limited.len(), 40);
    let since = pods
        .logs("web", &lp(|l| l.since_seconds = Some(1)))
        .await
        .unwrap();
    assert!(
        since.lines().count() < n && since.lines().count() >= 1,
        "{since}"
    );
    // follow: new lines arrive on the open stream.
    let mut stream = pods
        .log_stream(
            "web",
            &lp(|l| {
                l.follow = true;
                l.tail_lines = Some(0);
            }),
        )
        .await
        .unwrap()
        .lines();
    let line = tokio::time::timeout(Duration::from_secs(3), stream.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        line.starts_with("time=") && line.contains("level=INFO"),
        "{line}"
    );
}

trait FromStrCompat {
    fn from_str_compat(s: &str) -> bool;
}
impl FromStrCompat for k8s_openapi::jiff::Timestamp {
    fn from_str_compat(s: &str) -> bool {
        s.parse::<k8s_openapi::jiff::Timestamp>().is_ok()
    }
}

async fn one_pod_named(api: &Api<Pod>, name: &str) -> Pod {
    let start = Instant::now();
    loop {
        let p = api.get(name).await.unwrap();
        if p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|cs| cs.iter().all(|c| c.ready))
        {
            return p;
        }
        assert!(start.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_user_is_forbidden_until_rbac_allows_and_ssar_agrees() {
    let c = cluster(1).await;
    let admin = c.client().await.unwrap();
    let restricted = c.restricted_client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(restricted.clone(), "default");
    let err = cms.list(&ListParams::default()).await.unwrap_err();
    match &err {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
            assert_eq!(
                s.message,
                "configmaps is forbidden: User \"restricted\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\""
            );
        }
        other => panic!("{other:?}"),
    }
    let ssar = |verb: &str, ns: &str| -> SelfSubjectAccessReview {
        SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(verb.into()),
                    resource: Some("configmaps".into()),
                    namespace: Some(ns.into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    };
    let reviews: Api<SelfSubjectAccessReview> = Api::all(restricted.clone());
    assert!(
        !reviews
            .create(&PostParams::default(), &ssar("list", "default"))
            .await
            .unwrap()
            .status
            .unwrap()
            .allowed
    );
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "cm-reader", "namespace": "default"}, "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]});
    let rb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "cm-reader", "namespace": "default"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"}, "subjects": [{"kind": "User", "name": "restricted"}]});
    let dynr: Api<kube::api::DynamicObject> = Api::namespaced_with(
        admin.clone(),
        "default",
        &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
        )),
    );
    dynr.create(
        &PostParams::default(),
        &serde_json::from_value(role).unwrap(),
    )
    .await
    .unwrap();
    let dynb: Api<kube::api::DynamicObject> = Api::namespaced_with(
        admin.clone(),
        "default",
        &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
        )),
    );
    dynb.create(&PostParams::default(), &serde_json::from_value(rb).unwrap())
        .await
        .unwrap();
    assert!(cms.list(&ListParams::default()).await.is_ok());
    assert!(
        reviews
            .create(&PostParams::default(), &ssar("list", "default"))
            .await
            .unwrap()
            .status
            .unwrap()
            .allowed
    );
    assert!(
        !reviews
            .create(&PostParams::default(), &ssar("delete", "default"))
            .await
            .unwrap()
            .status
            .unwrap()
            .allowed
    );
    assert!(
        !reviews
            .create(&PostParams::default(), &ssar("list", "kube-system"))
            .await
            .unwrap()
            .status
            .unwrap()
            .allowed
    );
    let create = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&create, kube::Error::Api(s) if s.code == 403),
        "{create:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_fail_next_requests_add_latency_and_cut_connections() {
    let c = cluster(1).await;
    let client = c.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    // kube-rs retries 503 (honouring Retry-After): two injected failures, then success, three requests.
    c.add_fault(
        Fault::new(FaultAction::Status {
            code: 503,
            retry_after: Some(0),
        })
        .verb("list")
        .resource("configmaps")
        .times(2),
    );
    let before = c.request_count();
    assert!(cms.list(&ListParams::default()).await.is_ok());
    assert_eq!(c.request_count() - before, 3);
    // Without the client's retry layer the statuses surface as typed API errors.
    let mut cfg = c.kube_config().await.unwrap();
    cfg.default_retry = false;
    let plain = kube::Client::try_from(cfg).unwrap();
    let pcms: Api<ConfigMap> = Api::namespaced(plain.clone(), "default");
    c.add_fault(
        Fault::new(FaultAction::Status {
            code: 503,
            retry_after: None,
        })
        .verb("list")
        .resource("configmaps")
        .times(1),
    );
    let e = pcms.list(&ListParams::default()).await.unwrap_err();
    assert!(
        matches!(&e, kube::Error::Api(s) if s.code == 503 && s.reason == "ServiceUnavailable"),
        "{e:?}"
    );
    let id = c.add_fault(
        Fault::new(FaultAction::Status {
            code: 500,
            retry_after: None,
        })
        .resource("configmaps")
        .verb("get"),
    );
    let e = pcms.get("anything").await.unwrap_err();
    assert!(matches!(&e, kube::Error::Api(s) if s.code == 500), "{e:?}");
    c.remove_fault(id);
    c.add_fault(
        Fault::new(FaultAction::Status {
            code: 403,
            retry_after: None,
        })
        .namespace("default")
        .verb("get")
        .times(1),
    );
    let e = pcms.get("anything").await.unwrap_err();
    assert!(
        matches!(&e, kube::Error::Api(s) if s.code == 403 && s.reason == "Forbidden"),
        "{e:?}"
    );
    // 429 carries Retry-After on the wire.
    c.add_fault(
        Fault::new(FaultAction::Status {
            code: 429,
            retry_after: Some(3),
        })
        .path_contains("/configmaps/x")
        .times(1),
    );
    let req = http::Request::get("/api/v1/namespaces/default/configmaps/x")
        .body(Vec::new())
        .unwrap();
    let resp = plain.send(req.map(kube::client::Body::from)).await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers().get("retry-after").unwrap(), "3");
    c.add_fault(
        Fault::new(FaultAction::Latency(Duration::from_millis(300)))
            .verb("list")
            .resource("pods")
            .times(1),
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let t = Instant::now();
    pods.list(&ListParams::default()).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    c.add_fault(
        Fault::new(FaultAction::CutConnection)
            .verb("list")
            .resource("nodes")
            .times(1),
    );
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client.clone());
    let e = nodes.list(&ListParams::default()).await.unwrap_err();
    assert!(
        !matches!(e, kube::Error::Api(_)),
        "a cut connection is a transport error: {e:?}"
    );
    assert_eq!(
        nodes
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    // Probabilistic faults are deterministic under the seed.
    let run = |seed: u64| async move {
        let c = Cluster::start(ClusterOptions::for_tests().with_nodes(1).seed(seed))
            .await
            .unwrap();
        c.add_fault(
            Fault::new(FaultAction::Status {
                code: 500,
                retry_after: None,
            })
            .verb("get")
            .resource("namespaces")
            .probability(0.5),
        );
        let ns: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(c.client().await.unwrap());
        let mut pattern = Vec::new();
        for _ in 0..16 {
            pattern.push(ns.get("default").await.is_ok());
        }
        pattern
    };
    let a = run(42).await;
    assert_eq!(a, run(42).await);
    assert!(a.contains(&true) && a.contains(&false), "{a:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_api_reports_running_pods_and_nodes() {
    let c = cluster(2).await;
    let client = c.client().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": "m", "labels": {"app": "m"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}})).unwrap();
    pods.create(&PostParams::default(), &p).await.unwrap();
    one_pod_named(&pods, "m").await;
    let get = |path: &str| {
        let client = client.clone();
        let path = path.to_string();
        async move {
            client
                .request::<serde_json::Value>(http::Request::get(path).body(Vec::new()).unwrap())
                .await
                .unwrap()
        }
    };
    let pm =
        get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dm").await;
    assert_eq!(pm["kind"], "PodMetricsList");
    let item = &pm["items"][0];
    assert_eq!(item["metadata"]["name"], "m");
    let cpu = item["containers"][0]["usage"]["cpu"].as_str().unwrap();
    assert!(
        cpu.ends_with('n') && cpu.trim_end_matches('n').parse::<u64>().unwrap() > 0,
        "{cpu}"
    );
    assert!(
        item["containers"][0]["usage"]["memory"]
            .as_str()
            .unwrap()
            .ends_with("Ki")
    );
    let nm = get("/apis/metrics.k8s.io/v1beta1/nodes").await;
    assert_eq!(nm["items"].as_array().unwrap().len(), 2);
    let again = get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/m").await;
    assert_eq!(
        again["containers"][0]["usage"]["cpu"].as_str().unwrap(),
        cpu,
        "metrics are deterministic"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_generate_name_and_invalid_objects() {
    let c = cluster(1).await;
    let client = c.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "dry"}})).unwrap();
    cms.create(
        &PostParams {
            dry_run: true,
            ..Default::default()
        },
        &cm,
    )
    .await
    .unwrap();
    assert!(cms.get_opt("dry").await.unwrap().is_none());
    let generated: ConfigMap =
        serde_json::from_value(json!({"metadata": {"generateName": "auto-"}})).unwrap();
    let made = cms
        .create(&PostParams::default(), &generated)
        .await
        .unwrap();
    let name = made.metadata.name.unwrap();
    assert!(name.starts_with("auto-") && name.len() == 10, "{name}");
    let ds: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    let bad: DaemonSet = serde_json::from_value(json!({"metadata": {"name": "bad"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "c"}}, "spec": {"containers": [{"name": "x", "image": "y"}]}}}})).unwrap();
    let e = ds.create(&PostParams::default(), &bad).await.unwrap_err();
    match e {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
            assert!(s.message.starts_with("DaemonSet.apps \"bad\" is invalid: spec.template.metadata.labels: Invalid value"), "{}", s.message);
        }
        other => panic!("{other:?}"),
    }
    let missing = cms.get("nope").await.unwrap_err();
    assert!(
        matches!(&missing, kube::Error::Api(s) if s.code == 404 && s.message == "configmaps \"nope\" not found"),
        "{missing:?}"
    );
    let nsd: Api<ConfigMap> = Api::namespaced(client.clone(), "no-such-ns");
    let e = nsd.create(&PostParams::default(), &cm).await.unwrap_err();
    assert!(
        matches!(&e, kube::Error::Api(s) if s.code == 404 && s.message == "namespaces \"no-such-ns\" not found"),
        "{e:?}"
    );
}
