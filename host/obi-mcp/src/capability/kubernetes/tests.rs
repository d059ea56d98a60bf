//! The host functions called directly (no guest) against a simulated cluster (kube-sim).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube_sim::{Cluster, ClusterOptions, Fault, FaultAction};
use serde_json::{Value, json};

use super::KubePool;
use crate::capability::Grants;
use crate::capability::state::StateStore;
use crate::config::{Env, KubernetesToolset, Limits, LimitsConfig};
use crate::runtime::bindings::obi::toolset::kubernetes::{self as wit, Host};
use crate::runtime::bindings::obi::toolset::types::HostError;
use crate::runtime::{CallObserver, CallState, LogLevel, ToolsetShared, futures_lite};

/// One progress report: progress, total, message.
type Report = (f64, Option<f64>, Option<String>);

/// Records progress reports.
#[derive(Default)]
struct Recorder {
    progress: Mutex<Vec<Report>>,
}

impl CallObserver for Recorder {
    fn progress(
        &self,
        p: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> futures_lite::BoxedFuture<()> {
        self.progress.lock().unwrap().push((p, total, message));
        Box::pin(async {})
    }
    fn wants_progress(&self) -> bool {
        true
    }
    fn log(&self, _: LogLevel, _: &str, _: &str) {}
}

struct Setup {
    grant: Value,
    read_only: bool,
    request_timeout_secs: u64,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            grant: json!(true),
            read_only: false,
            request_timeout_secs: 10,
        }
    }
}

fn call_state(kubeconfig: &Path, setup: Setup) -> (CallState, Arc<Recorder>) {
    let configured = [("kubernetes".to_string(), setup.grant)]
        .into_iter()
        .collect();
    let grants = Grants::new(
        "acme".into(),
        vec!["kubernetes".to_string()],
        &configured,
        "toolsets.extra[0]".into(),
        setup.read_only,
    )
    .unwrap();
    let settings = KubernetesToolset {
        kubeconfig: Some(kubeconfig.to_path_buf()),
        request_timeout_secs: setup.request_timeout_secs,
        connect_timeout_secs: 2,
        ..Default::default()
    };
    let dir = std::env::temp_dir().join("obi-mcp-kube-tests");
    let shared = Arc::new(ToolsetShared {
        name: "acme".into(),
        grants,
        state: Arc::new(StateStore::new(dir.join("state.json"))),
        work_dir: dir,
        config_json: Arc::from("{}"),
        obi_json: None,
        limits: Limits::resolve(&LimitsConfig::default(), &LimitsConfig::default()),
        kube: Arc::new(KubePool::new(&settings, &Env::new())),
    });
    let recorder = Arc::new(Recorder::default());
    (CallState::detached(shared, recorder.clone()), recorder)
}

async fn cluster(nodes: usize) -> Cluster {
    Cluster::start(ClusterOptions::for_tests().with_nodes(nodes))
        .await
        .unwrap()
}

fn obj(api_version: &str, kind: &str, ns: Option<&str>, name: &str) -> wit::ObjectRef {
    wit::ObjectRef {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: ns.map(str::to_string),
        name: name.into(),
    }
}

fn list_req(api_version: &str, kind: &str, ns: Option<&str>) -> wit::ListRequest {
    wit::ListRequest {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: ns.map(str::to_string),
        label_selector: None,
        field_selector: None,
        max_items: 0,
        fields: vec![],
    }
}

fn apply_opts(force: bool, dry_run: bool) -> wit::ApplyOptions {
    wit::ApplyOptions { force, dry_run }
}

fn configmap(name: &str, value: &str) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, "data": {"k": value}})
        .to_string()
}

fn daemonset(name: &str, image: &str) -> String {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "main", "image": image}]}}
        }
    })
    .to_string()
}

fn deployment(name: &str, replicas: u32, node_selector: Option<Value>) -> String {
    let mut spec = json!({"containers": [{"name": "main", "image": "nginx:1.27"}]});
    if let Some(sel) = node_selector {
        spec["nodeSelector"] = sel;
    }
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec}
        }
    })
    .to_string()
}

fn text(e: &HostError) -> String {
    match e {
        HostError::Denied(m)
        | HostError::NotFound(m)
        | HostError::Conflict(m)
        | HostError::Timeout(m)
        | HostError::Invalid(m)
        | HostError::Failed(m) => m.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_beyond_one_page_truncates_at_max_items_and_projects() {
    let c = cluster(1).await;
    for i in 0..1_203 {
        c.put(json!({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": format!("cm-{i:04}"), "namespace": "default", "labels": {"bulk": "yes"}},
                     "data": {"i": i.to_string()}}))
            .unwrap();
    }
    let (mut s, _) = call_state(c.kubeconfig_path(), Setup::default());
    let mut req = list_req("v1", "ConfigMap", Some("default"));
    req.label_selector = Some("bulk=yes".into());
    let before = c.request_count();
    let all = s.list(None, req.clone()).await.unwrap();
    assert_eq!(all.items.len(), 1_203);
    assert!(!all.truncated);
    assert!(!all.resource_version.is_empty());
    // 500 + 500 + 203, plus one discovery request.
    assert!(
        c.request_count() - before >= 3,
        "{}",
        c.request_count() - before
    );
    let first: Value = serde_json::from_str(&all.items[0]).unwrap();
    assert_eq!(first["kind"], "ConfigMap");
    assert!(first["metadata"].get("managedFields").is_none(), "{first}");

    req.max_items = 700;
    req.fields = vec!["/metadata/name".into(), "/data/i".into()];
    let some = s.list(None, req.clone()).await.unwrap();
    assert_eq!(some.items.len(), 700);
    assert!(some.truncated);
    let item: Value = serde_json::from_str(&some.items[699]).unwrap();
    assert_eq!(
        item,
        json!({"metadata": {"name": "cm-0699"}, "data": {"i": "699"}})
    );

    req.max_items = 1_203;
    let exact = s.list(None, req).await.unwrap();
    assert_eq!(exact.items.len(), 1_203);
    assert!(!exact.truncated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_of_a_missing_object_or_unknown_kind_is_not_found() {
    let c = cluster(1).await;
    let (mut s, _) = call_state(c.kubeconfig_path(), Setup::default());
    let got = s
        .get(None, obj("v1", "Namespace", None, "default"))
        .await
        .unwrap();
    let got: Value = serde_json::from_str(&got).unwrap();
    assert_eq!(got["metadata"]["name"], "default");
    let err = s
        .get(None, obj("v1", "ConfigMap", Some("default"), "nope"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HostError::NotFound(m) if m.contains("nope")),
        "{err:?}"
    );
    let err = s
        .get(None, obj("apps/v1", "Gadget", Some("default"), "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HostError::NotFound(m) if m.contains("kind Gadget is not served") && m.contains("DaemonSet")),
        "{err:?}"
    );
    let err = s
        .get(None, obj("v1", "ConfigMap", Some("default"), "a/b"))
        .await
        .unwrap_err();
    assert!(matches!(err, HostError::Invalid(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_creates_is_idempotent_reports_conflicts_and_force_resolves_them() {
    let c = cluster(1).await;
    let (mut s, _) = call_state(c.kubeconfig_path(), Setup::default());
    let created: Value = serde_json::from_str(
        &s.apply(None, configmap("shared", "a"), apply_opts(false, false))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(created["data"]["k"], "a");
    assert!(created["metadata"].get("managedFields").is_none());
    let again: Value = serde_json::from_str(
        &s.apply(None, configmap("shared", "a"), apply_opts(false, false))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        again["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"],
        "re-applying the same object changes nothing"
    );
    // Another field manager takes `data.k`.
    let client = c.client().await.unwrap();
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client, "default");
    let theirs: k8s_openapi::api::core::v1::ConfigMap =
        serde_json::from_str(&configmap("shared", "theirs")).unwrap();
    api.patch(
        "shared",
        &kube::api::PatchParams::apply("helm").force(),
        &kube::api::Patch::Apply(&theirs),
    )
    .await
    .unwrap();
    let before = c.request_count();
    let err = s
        .apply(None, configmap("shared", "ours"), apply_opts(false, false))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HostError::Conflict(m) if m.contains("\"helm\"") && m.contains("force")),
        "{err:?}"
    );
    assert_eq!(c.request_count() - before, 2, "a conflict is retried once");
    let forced: Value = serde_json::from_str(
        &s.apply(None, configmap("shared", "ours"), apply_opts(true, false))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(forced["data"]["k"], "ours");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_persist_nothing_and_delete_says_whether_it_existed() {
    let c = cluster(1).await;
    let (mut s, _) = call_state(c.kubeconfig_path(), Setup::default());
    let dry: Value = serde_json::from_str(
        &s.apply(None, configmap("dry", "x"), apply_opts(false, true))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(dry["data"]["k"], "x");
    assert!(c.get("v1", "ConfigMap", "default", "dry").is_none());

    s.apply(None, configmap("gone", "x"), apply_opts(false, false))
        .await
        .unwrap();
    let cm = obj("v1", "ConfigMap", Some("default"), "gone");
    assert!(
        s.delete(None, cm.clone(), wit::Propagation::Background, true)
            .await
            .unwrap()
    );
    assert!(
        c.get("v1", "ConfigMap", "default", "gone").is_some(),
        "dry-run delete keeps it"
    );
    assert!(
        s.delete(None, cm.clone(), wit::Propagation::Foreground, false)
            .await
            .unwrap()
    );
    assert!(c.get("v1", "ConfigMap", "default", "gone").is_none());
    assert!(
        !s.delete(None, cm, wit::Propagation::Background, false)
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_merge_json_and_strategic() {
    let c = cluster(1).await;
    let (mut s, _) = call_state(c.kubeconfig_path(), Setup::default());
    s.apply(None, configmap("p", "1"), apply_opts(false, false))
        .await
        .unwrap();
    let cm = obj("v1", "ConfigMap", Some("default"), "p");
    let merged: Value = serde_json::from_str(
        &s.patch(
            None,
            cm.clone(),
            wit::PatchType::Merge,
            r#"{"data":{"k":"2"}}"#.into(),
            false,
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(merged["data"]["k"], "2");
    let jsonp: Value = serde_json::from_str(
        &s.patch(
            None,
            cm.clone(),
            wit::PatchType::Json,
            r#"[{"op":"add","path":"/data/extra","value":"e"}]"#.into(),
            false,
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(jsonp["data"]["extra"], "e");
    let strategic: Value = serde_json::from_str(
        &s.patch(
            None,
            cm.clone(),
            wit::PatchType::Strategic,
            r#"{"data":{"k":"3"}}"#.into(),
            true,
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(strategic["data"]["k"], "3");
    assert_eq!(
        c.get("v1", "ConfigMap", "default", "p").unwrap()["data"]["k"],
        "2",
        "a dry-run patch persists nothing"
    );
    let err = s
        .patch(
            None,
            cm,
            wit::PatchType::Json,
            r#"{"op":"add"}"#.into(),
            false,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, HostError::Invalid(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_throttling_are_retried_then_succeed() {
    let c = cluster(1).await;
    let (mut s, _) = call_state(c.kubeconfig_path(), Setup::default());
    let ns = obj("v1", "Namespace", None, "default");
    s.get(None, ns.clone()).await.unwrap(); // discovery cached
    c.add_fault(
        Fault::new(FaultAction::Status {
            code: 500,
            retry_after: None,
        })
        .verb("get")
        .resource("namespaces")
        .times(2),
    );
    let before = c.request_count();
    s.get(None, ns.clone()).await.unwrap();
    assert_eq!(c.request_count() - before, 3);
    c.add_fault(
        Fault::new(FaultAction::Status {
            code: 429,
            retry_after: Some(0),
        })
        .verb("get")
        .resource("namespaces")
        .times(1),
    );
    c.add_fault(
        Fault::new(FaultAction::Status {
            code: 503,
            retry_after: Some(0),
        })
        .verb("get")
        .resource("namespaces")
        .times(1),
    );
    s.get(None, ns.clone()).await.unwrap();
    // A connection cut in the middle of an answer is retried too (reads).
    c.add_fault(
        Fault::new(FaultAction::CutConnection)
            .verb("get")
            .resource("namespaces")
            .times(1),
    );
    s.get(None, ns).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_server_error_fails_with_the_api_message_after_bounded_retries() {
    let c = cluster(1).await;
    let (mut s, _) = call_state(c.kubeconfig_path(), Setup::default());
    let ns = obj("v1", "Namespace", None, "default");
    s.get(None, ns.clone()).await.unwrap();
    c.add_fault(
        Fault::new(FaultAction::Status {
            code: 500,
            retry_after: None,
        })
        .verb("get")
        .resource("namespaces"),
    );
    let before = c.request_count();
    let started = Instant::now();
    let err = s.get(None, ns).await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&err, HostError::Failed(m) if m.contains("InternalError: injected fault: 500") && m.contains("4 attempts")),
        "{err:?}"
    );
    assert_eq!(c.request_count() - before, 4, "1 attempt + 3 retries");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_cluster_times_out_and_a_closed_port_is_unreachable() {
    // Accepts connections and never answers (not even the TLS handshake).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hanging = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: hang\nclusters:\n- name: hang\n  cluster: {{server: 'https://{hanging}', insecure-skip-tls-verify: true}}\n- name: closed\n  cluster: {{server: 'https://{closed}', insecure-skip-tls-verify: true}}\nusers:\n- name: u\n  user: {{token: abcdefgh}}\ncontexts:\n- name: hang\n  context: {{cluster: hang, user: u}}\n- name: closed\n  context: {{cluster: closed, user: u}}\n"
        ),
    )
    .unwrap();
    let (mut s, _) = call_state(
        &path,
        Setup {
            request_timeout_secs: 1,
            ..Default::default()
        },
    );
    let started = Instant::now();
    let err = s.probe(None).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(2_500),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(&err, HostError::Timeout(m) if m == "cluster \"hang\" did not answer within 1 s (toolsets.kubernetes.request_timeout_secs)"),
        "{err:?}"
    );
    let err = s.probe(Some("closed".into())).await.unwrap_err();
    assert!(
        matches!(&err, HostError::Failed(m) if m.starts_with(&format!("cannot reach cluster \"closed\" at https://{closed}: "))),
        "{err:?}"
    );
    holder.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clusters_rbac_refusal_is_a_readable_denial() {
    let c = cluster(1).await;
    let (mut s, _) = call_state(c.kubeconfig_path(), Setup::default());
    let err = s
        .list(
            Some("kube-sim-restricted".into()),
            list_req("v1", "Secret", Some("default")),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HostError::Denied(m) if m.starts_with("Forbidden: cluster \"kube-sim-restricted\" refused: secrets is forbidden")),
        "{err:?}"
    );
    let check = |verb: &str| wit::AccessCheck {
        verb: verb.into(),
        group: String::new(),
        resource: "secrets".into(),
        subresource: None,
        namespace: Some("default".into()),
        name: None,
    };
    assert!(
        s.access_review(None, check("delete"))
            .await
            .unwrap()
            .allowed
    );
    assert!(
        !s.access_review(Some("kube-sim-restricted".into()), check("delete"))
            .await
            .unwrap()
            .allowed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_listed_when_served_and_named_when_absent() {
    let c = cluster(3).await;
    let (mut s, _) = call_state(c.kubeconfig_path(), Setup::default());
    let nodes = s
        .list(
            None,
            list_req("metrics.k8s.io/v1beta1", "NodeMetrics", None),
        )
        .await
        .unwrap();
    assert_eq!(nodes.items.len(), 3);
    // A second cluster without the metrics API.
    let bare = cluster(1).await;
    bare.add_fault(
        Fault::new(FaultAction::Status {
            code: 404,
            retry_after: None,
        })
        .path_contains("/apis/metrics.k8s.io"),
    );
    let (mut s, _) = call_state(bare.kubeconfig_path(), Setup::default());
    let err = s
        .list(
            None,
            list_req("metrics.k8s.io/v1beta1", "PodMetrics", Some("default")),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HostError::NotFound(m) if m == "the metrics API (metrics.k8s.io) is not served by cluster \"kube-sim\"; install metrics-server"),
        "{err:?}"
    );
}

fn log_req(pod: &str) -> wit::LogRequest {
    wit::LogRequest {
        namespace: "default".into(),
        pod: pod.into(),
        container: None,
        tail_lines: Some(5),
        since_seconds: None,
        timestamps: false,
        previous: false,
        limit_bytes: 0,
    }
}

async fn running_pods(s: &mut CallState, label: &str, want: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut req = list_req("v1", "Pod", Some("default"));
        req.label_selector = Some(label.into());
        req.field_selector = Some("status.phase=Running".into());
        req.fields = vec!["/metadata/name".into()];
        let pods = s.list(None, req).await.unwrap();
        if pods.items.len() >= want {
            let mut names: Vec<String> = pods
                .items
                .iter()
                .map(|p| {
                    serde_json::from_str::<Value>(p).unwrap()["metadata"]["name"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            names.sort();
            return names;
        }
        assert!(Instant::now() < deadline, "pods of {label} never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_logs_keep_request_order_fail_per_pod_and_bound_concurrency() {
    let c = cluster(2).await;
    let (mut s, _) = call_state(c.kubeconfig_path(), Setup::default());
    s.apply(None, deployment("web", 6, None), apply_opts(false, false))
        .await
        .unwrap();
    let pods = running_pods(&mut s, "app=web", 6).await;
    let mut reqs: Vec<wit::LogRequest> = pods.iter().map(|p| log_req(p)).collect();
    reqs.insert(2, log_req("missing-pod"));
    let out = s.pod_logs(None, reqs.clone(), 4).await;
    assert_eq!(out.len(), 7);
    assert!(
        matches!(&out[2], Err(HostError::NotFound(m)) if m.contains("missing-pod")),
        "{:?}",
        out[2]
    );
    for (i, r) in out.iter().enumerate().filter(|(i, _)| *i != 2) {
        let log = r.as_ref().unwrap();
        assert!(!log.is_empty(), "log of {} is empty", reqs[i].pod);
    }
    // limit-bytes is honoured.
    let mut small = log_req(&pods[0]);
    small.limit_bytes = 10;
    small.tail_lines = None;
    let out = s.pod_logs(None, vec![small], 1).await;
    assert!(out[0].as_ref().unwrap().len() <= 10);

    // Every log request takes 300 ms: two at a time take three rounds, six at a time one.
    c.add_fault(Fault::new(FaultAction::Latency(Duration::from_millis(300))).resource("pods/log"));
    let six: Vec<wit::LogRequest> = pods.iter().map(|p| log_req(p)).collect();
    let started = Instant::now();
    let out = s.pod_logs(None, six.clone(), 2).await;
    let two_at_a_time = started.elapsed();
    assert!(out.iter().all(Result::is_ok));
    let started = Instant::now();
    s.pod_logs(None, six, 64).await;
    let all_at_once = started.elapsed();
    assert!(
        two_at_a_time >= Duration::from_millis(900),
        "{two_at_a_time:?}"
    );
    assert!(all_at_once < Duration::from_millis(850), "{all_at_once:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_rollout_completes_and_reports_progress() {
    let c = cluster(3).await;
    let (mut s, rec) = call_state(c.kubeconfig_path(), Setup::default());
    s.apply(
        None,
        daemonset("obi", "nginx:1.27"),
        apply_opts(false, false),
    )
    .await
    .unwrap();
    let status = s
        .wait_rollout(
            None,
            obj("apps/v1", "DaemonSet", Some("default"), "obi"),
            20_000,
        )
        .await
        .unwrap();
    assert_eq!(
        status.state,
        wit::RolloutState::Complete,
        "{}",
        status.message
    );
    assert_eq!((status.desired, status.updated, status.ready), (3, 3, 3));
    let progress = rec.progress.lock().unwrap().clone();
    assert!(!progress.is_empty());
    let (_, total, message) = progress.last().unwrap();
    assert_eq!(*total, Some(3.0));
    assert_eq!(message.as_deref(), Some("obi: 3/3 updated, 3 ready"));

    // A Deployment too.
    s.apply(None, deployment("web", 2, None), apply_opts(false, false))
        .await
        .unwrap();
    let status = s
        .wait_rollout(
            None,
            obj("apps/v1", "Deployment", Some("default"), "web"),
            20_000,
        )
        .await
        .unwrap();
    assert_eq!(
        status.state,
        wit::RolloutState::Complete,
        "{}",
        status.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_rollout_fails_fast_on_image_pull_errors() {
    let c = cluster(3).await;
    c.fail_image_pull("example.com/broken:*");
    let (mut s, _) = call_state(c.kubeconfig_path(), Setup::default());
    s.apply(
        None,
        daemonset("broken", "example.com/broken:1"),
        apply_opts(false, false),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let status = s
        .wait_rollout(
            None,
            obj("apps/v1", "DaemonSet", Some("default"), "broken"),
            30_000,
        )
        .await
        .unwrap();
    assert_eq!(
        status.state,
        wit::RolloutState::Failed,
        "{}",
        status.message
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(!status.problems.is_empty() && status.problems.len() <= 20);
    let p = &status.problems[0];
    assert!(
        matches!(p.reason.as_str(), "ErrImagePull" | "ImagePullBackOff"),
        "{p:?}"
    );
    assert!(
        p.node.is_some() && p.container.as_deref() == Some("main"),
        "{p:?}"
    );
    assert!(
        status.message.contains("rollout failed"),
        "{}",
        status.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_rollout_times_out_and_stops_when_dropped() {
    let c = cluster(1).await;
    let (mut s, _) = call_state(c.kubeconfig_path(), Setup::default());
    s.apply(
        None,
        deployment("stuck", 2, Some(json!({"disk": "none-such"}))),
        apply_opts(false, false),
    )
    .await
    .unwrap();
    let stuck = obj("apps/v1", "Deployment", Some("default"), "stuck");
    let started = Instant::now();
    let status = s.wait_rollout(None, stuck.clone(), 1_000).await.unwrap();
    let took = started.elapsed();
    assert_eq!(
        status.state,
        wit::RolloutState::TimedOut,
        "{}",
        status.message
    );
    assert!(
        took >= Duration::from_millis(1_000) && took < Duration::from_millis(2_500),
        "{took:?}"
    );
    assert!(
        status
            .problems
            .iter()
            .all(|p| p.reason != "CrashLoopBackOff")
    );
    // A cancelled call (its future dropped) polls no more.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(600),
        s.wait_rollout(None, stuck, 60_000),
    )
    .await;
    assert!(cancelled.is_err());
    let before = c.request_count();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        c.request_count(),
        before,
        "nothing keeps polling after the call is dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_denials_name_verb_resource_namespace_and_context() {
    let c = cluster(1).await;
    let grant = json!({"rules": [
        {"verbs": ["get", "list"], "resources": ["pods", "configmaps", "daemonsets.apps"], "namespaces": ["*"]},
        {"verbs": ["delete"], "resources": ["configmaps"], "namespaces": ["obi"]}
    ]});
    let (mut s, _) = call_state(
        c.kubeconfig_path(),
        Setup {
            grant,
            ..Default::default()
        },
    );
    let err = s
        .delete(
            None,
            obj("apps/v1", "DaemonSet", Some("prod"), "obi"),
            wit::Propagation::Background,
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(
        text(&err),
        "kubernetes: delete daemonsets.apps in namespace \"prod\" (context \"kube-sim\") is not granted to toolset \"acme\" (no rule of its kubernetes grant allows it; add one under toolsets.extra[0].grants.kubernetes.rules)"
    );
    assert!(matches!(err, HostError::Denied(_)));
    // No rule has the verb at all: refused before contacting the cluster.
    let before = c.request_count();
    let err = s
        .patch(
            None,
            obj("v1", "ConfigMap", Some("obi"), "x"),
            wit::PatchType::Merge,
            "{}".into(),
            false,
        )
        .await
        .unwrap_err();
    assert!(
        text(&err).starts_with("kubernetes: patch ConfigMap (context \"kube-sim\") is not granted"),
        "{err:?}"
    );
    assert_eq!(c.request_count(), before);
    // Cluster-scoped kinds need `cluster: true`.
    let err = s
        .get(None, obj("v1", "Namespace", None, "default"))
        .await
        .unwrap_err();
    assert!(
        text(&err).contains("get namespaces (cluster-scoped) (context \"kube-sim\")"),
        "{err:?}"
    );
    // Logs need pods/log.
    let out = s.pod_logs(None, vec![log_req("x")], 1).await;
    assert!(
        matches!(&out[0], Err(HostError::Denied(m)) if m.contains("get pods/log in namespace \"default\"")),
        "{out:?}"
    );
    // Without the capability at all.
    let (mut none, _) = call_state(
        c.kubeconfig_path(),
        Setup {
            grant: json!(false),
            ..Default::default()
        },
    );
    let err = none.contexts().await.unwrap_err();
    assert!(
        text(&err).contains("grants: { kubernetes: true }"),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_denies_every_write_even_dry_runs() {
    let c = cluster(1).await;
    let (mut s, _) = call_state(
        c.kubeconfig_path(),
        Setup {
            read_only: true,
            ..Default::default()
        },
    );
    let before = c.request_count();
    let err = s
        .apply(None, configmap("ro", "x"), apply_opts(false, true))
        .await
        .unwrap_err();
    assert_eq!(
        text(&err),
        "kubernetes: apply ConfigMap \"ro\" is not granted to toolset \"acme\" (the server runs with --read-only)"
    );
    let cm = obj("v1", "ConfigMap", Some("default"), "ro");
    for err in [
        s.delete(None, cm.clone(), wit::Propagation::Background, true)
            .await
            .unwrap_err(),
        s.patch(None, cm.clone(), wit::PatchType::Merge, "{}".into(), true)
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(&err, HostError::Denied(m) if m.ends_with("(the server runs with --read-only)")),
            "{err:?}"
        );
    }
    assert_eq!(c.request_count(), before, "nothing was sent");
    s.get(None, obj("v1", "Namespace", None, "default"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_reach_results_or_errors() {
    const TOKEN: &str = "obi-test-token-5f1e9c2a7b3d";
    let c = cluster(1).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: sim\nclusters:\n- name: sim\n  cluster: {{server: '{}', insecure-skip-tls-verify: true}}\n- name: closed\n  cluster: {{server: 'https://{closed}'}}\nusers:\n- name: u\n  user:\n    token: {TOKEN}\ncontexts:\n- name: sim\n  context: {{cluster: sim, user: u, namespace: default}}\n- name: closed\n  context: {{cluster: closed, user: u}}\n",
            c.url()
        ),
    )
    .unwrap();
    let (mut s, _) = call_state(&path, Setup::default());
    let mut seen = Vec::new();
    seen.push(format!("{:?}", s.contexts().await));
    seen.push(format!("{:?}", s.probe(None).await));
    seen.push(format!("{:?}", s.probe(Some("closed".into())).await));
    seen.push(format!(
        "{:?}",
        s.get(None, obj("v1", "ConfigMap", None, "x")).await
    ));
    seen.push(format!(
        "{:?}",
        s.list(Some("closed".into()), list_req("v1", "Pod", None))
            .await
    ));
    seen.push(format!(
        "{:?}",
        s.pod_logs(None, vec![log_req("x")], 1).await
    ));
    // A kubeconfig that does not parse, with the token in it.
    let broken = dir.path().join("broken");
    std::fs::write(
        &broken,
        format!("users:\n- name: u\n  user:\n    token: {TOKEN}\n  - ]]: [\n"),
    )
    .unwrap();
    let (mut b, _) = call_state(&broken, Setup::default());
    seen.push(format!("{:?}", b.contexts().await));
    seen.push(format!("{:?}", b.probe(None).await));
    for s in &seen {
        assert!(!s.contains(TOKEN), "the token leaked: {s}");
    }
    // The calls did fail for the expected reasons.
    assert!(seen[1].contains("Unauthorized"), "{}", seen[1]);
    assert!(
        seen[2].contains("cannot reach cluster") && seen[2].contains("Connection refused"),
        "{}",
        seen[2]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_contexts_reach_two_clusters() {
    let a = Cluster::start(ClusterOptions::for_tests().named("alpha"))
        .await
        .unwrap();
    let b = Cluster::start(ClusterOptions::for_tests().named("beta").seed(2))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    kube_sim::write_kubeconfig(&[&a, &b], &path).unwrap();
    b.put(serde_json::from_str(&configmap("only-in-beta", "b")).unwrap())
        .unwrap();
    let (mut s, _) = call_state(&path, Setup::default());
    let contexts = s.contexts().await.unwrap();
    let names: Vec<(&str, bool)> = contexts
        .iter()
        .map(|c| (c.name.as_str(), c.is_default))
        .collect();
    assert_eq!(
        names,
        [
            ("alpha", true),
            ("alpha-restricted", false),
            ("beta", false),
            ("beta-restricted", false)
        ]
    );
    assert_eq!(contexts[2].server, b.url());
    assert_eq!(contexts[2].namespace.as_deref(), Some("default"));
    let cm = obj("v1", "ConfigMap", Some("default"), "only-in-beta");
    s.get(Some("beta".into()), cm.clone()).await.unwrap();
    assert!(matches!(
        s.get(None, cm.clone()).await,
        Err(HostError::NotFound(_))
    ));
    let err = s.get(Some("gamma".into()), cm).await.unwrap_err();
    assert!(
        matches!(&err, HostError::Invalid(m) if m.contains("context \"gamma\" is not in the kubeconfig") && m.contains("alpha, alpha-restricted, beta, beta-restricted")),
        "{err:?}"
    );
    let info = s.probe(Some("beta".into())).await.unwrap();
    assert_eq!(
        (info.context.as_str(), info.version.as_str()),
        ("beta", "v1.37.0")
    );
}

#[tokio::test]
async fn the_pool_reads_nothing_until_a_call_and_names_the_missing_kubeconfig() {
    let pool = KubePool::new(
        &KubernetesToolset {
            kubeconfig: Some("/nonexistent/obi-mcp/kubeconfig".into()),
            ..Default::default()
        },
        &Env::new(),
    );
    let err = pool.contexts().unwrap_err().to_string();
    assert!(err.contains("/nonexistent/obi-mcp/kubeconfig"), "{err}");
    // KUBECONFIG lists are merged, the first file winning; missing entries are skipped.
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    std::fs::write(&one, "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters: [{name: c, cluster: {server: 'https://one'}}]\ncontexts: [{name: a, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\n").unwrap();
    std::fs::write(&two, "apiVersion: v1\nkind: Config\ncurrent-context: b\nclusters: [{name: c, cluster: {server: 'https://two'}}]\ncontexts: [{name: b, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\n").unwrap();
    let list = format!(
        "{}:{}:{}",
        one.display(),
        dir.path().join("missing").display(),
        two.display()
    );
    let env: Env = [("KUBECONFIG".to_string(), list)].into();
    let pool = KubePool::new(&KubernetesToolset::default(), &env);
    let contexts = pool.contexts().unwrap();
    assert_eq!(contexts.len(), 2);
    assert!(contexts[0].is_default && contexts[0].server == "https://one");
    assert_eq!(
        contexts[1].server, "https://one",
        "the first file's cluster entry wins"
    );
}
