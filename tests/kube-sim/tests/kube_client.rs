//! The same flows through kube-rs: lists with selectors and pagination, server-side apply,
//! watchers and conditions, rollouts, failure modes, logs, RBAC, faults and metrics.

mod common;

use common::*;
use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::runtime::{WatchStreamExt, watcher};
use kube_sim::{Cluster, ClusterOptions, NodeSpec};
use serde_json::json;
use std::time::Duration;

fn ds_json(ns: &str, image: &str, cm: Option<&str>) -> serde_json::Value {
    let mut container = json!({"name": "obi", "image": image});
    let mut volumes = json!([]);
    if let Some(cm) = cm {
        container["env"] = json!([{"name": "OTEL_EBPF_CONFIG_PATH", "value": "/etc/obi/ebpf-instrument-config.yml"}]);
        container["volumeMounts"] = json!([{"name": "config", "mountPath": "/etc/obi"}]);
        volumes = json!([{"name": "config", "configMap": {"name": cm}}]);
    }
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "obi", "namespace": ns},
        "spec": {
            "selector": {"matchLabels": {"app": "obi"}},
            "template": {"metadata": {"labels": {"app": "obi"}}, "spec": {"containers": [container], "volumes": volumes}}
        }
    })
}

async fn ns(client: &kube::Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
    )
    .await
    .unwrap();
}

async fn config(client: &kube::Client, ns: &str, text: &str) {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let cm: ConfigMap = serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "obi-config"}, "data": {"ebpf-instrument-config.yml": text}})).unwrap();
    api.patch(
        "obi-config",
        &PatchParams::apply("test").force(),
        &Patch::Apply(&cm),
    )
    .await
    .unwrap();
}

fn ds_ready(ds: Option<&DaemonSet>) -> bool {
    ds.and_then(|d| d.status.as_ref()).is_some_and(|s| {
        s.desired_number_scheduled > 0
            && s.number_ready == s.desired_number_scheduled
            && s.updated_number_scheduled == Some(s.desired_number_scheduled)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemonset_applied_with_ssa_reaches_readiness_via_await_condition() {
    let c = cluster(3).await;
    let client = c.client().await.unwrap();
    ns(&client, "obi").await;
    config(&client, "obi", VALID_CONFIG).await;
    let api: Api<DaemonSet> = Api::namespaced(client.clone(), "obi");
    let ds: DaemonSet = serde_json::from_value(ds_json(
        "obi",
        "otel/ebpf-instrument:v0.12.1",
        Some("obi-config"),
    ))
    .unwrap();
    let applied = api
        .patch("obi", &PatchParams::apply("obi-mcp"), &Patch::Apply(&ds))
        .await
        .unwrap();
    assert_eq!(applied.metadata.generation, Some(1));
    let mf = applied.metadata.managed_fields.unwrap();
    assert_eq!(mf[0].manager.as_deref(), Some("obi-mcp"));
    assert_eq!(mf[0].operation.as_deref(), Some("Apply"));
    let ready = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(api.clone(), "obi", ds_ready),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    let st = ready.status.unwrap();
    assert_eq!(
        (
            st.desired_number_scheduled,
            st.current_number_scheduled,
            st.number_ready,
            st.number_available
        ),
        (3, 3, 3, Some(3))
    );
    assert_eq!(st.observed_generation, Some(1));

    let pods: Api<Pod> = Api::namespaced(client.clone(), "obi");
    let list = pods
        .list(&ListParams::default().labels("app=obi"))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 3);
    let mut nodes: Vec<String> = list
        .items
        .iter()
        .map(|p| p.spec.as_ref().unwrap().node_name.clone().unwrap())
        .collect();
    nodes.sort();
    assert_eq!(nodes, vec!["node-1", "node-2", "node-3"]);
    for p in &list.items {
        let owner = &p.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("DaemonSet", "obi")
        );
        assert_eq!(p.status.as_ref().unwrap().phase.as_deref(), Some("Running"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssa_conflicts_with_another_manager_unless_forced() {
    let c = cluster(1).await;
    let client = c.client().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let a: ConfigMap = serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}, "data": {"k": "a"}})).unwrap();
    api.patch("shared", &PatchParams::apply("alice"), &Patch::Apply(&a))
        .await
        .unwrap();
    let b: ConfigMap = serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}, "data": {"k": "b"}})).unwrap();
    let err = api
        .patch("shared", &PatchParams::apply("bob"), &Patch::Apply(&b))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
            assert!(
                s.message.contains("conflict with \"alice\""),
                "{}",
                s.message
            );
            assert!(s.message.contains(".data.k"), "{}", s.message);
        }
        other => panic!("expected 409, got {other:?}"),
    }
    let forced = api
        .patch(
            "shared",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(&b),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["k"], "b");
    // Unknown fields are rejected like a strict server.
    let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bad"}, "dataa": {"x": "y"}});
    let err = api
        .patch("bad", &PatchParams::apply("alice"), &Patch::Apply(&bad))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 400 && s.message.contains(".dataa: field not declared in schema")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_filter_by_label_and_field_selectors_and_paginate() {
    let c = cluster(2).await;
    let client = c.client().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for i in 0..7 {
        let tier = if i % 2 == 0 { "even" } else { "odd" };
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": format!("cm-{i}"), "labels": {"tier": tier, "idx": i.to_string()}}})).unwrap();
        api.create(&PostParams::default(), &cm).await.unwrap();
    }
    let names = |l: kube::core::ObjectList<ConfigMap>| {
        l.items
            .into_iter()
            .map(|c| c.metadata.name.unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier=even"))
                .await
                .unwrap()
        ),
        vec!["cm-0", "cm-2", "cm-4", "cm-6"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier!=even,idx notin (1,3)"))
                .await
                .unwrap()
        ),
        vec!["cm-5"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("idx in (1,2),tier"))
                .await
                .unwrap()
        ),
        vec!["cm-1", "cm-2"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("!idx"))
                .await
                .unwrap()
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().fields("metadata.name=cm-3"))
                .await
                .unwrap()
        ),
        vec!["cm-3"]
    );
    let page1 = api.list(&ListParams::default().limit(3)).await.unwrap();
    assert_eq!(page1.items.len(), 3);
    let token = page1.metadata.continue_.clone().unwrap();
    assert_eq!(page1.metadata.remaining_item_count, Some(4));
    let page2 = api
        .list(&ListParams::default().limit(3).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(names(page2), vec!["cm-3", "cm-4", "cm-5"]);
    let err = api
        .list(&ListParams::default().fields("data.x=1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 400),
        "{err:?}"
    );
    let nodes: Api<Node> = Api::all(client);
    assert_eq!(
        nodes
            .list(&ListParams::default().labels("kubernetes.io/hostname=node-2"))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_streams_changes_and_bookmarks() {
    let c = cluster(1).await;
    let client = c.client().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let stream = watcher(api.clone(), watcher::Config::default().labels("w=1")).applied_objects();
    let mut stream = Box::pin(stream);
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "watched", "labels": {"w": "1"}}, "data": {"v": "1"}}),
    )
    .unwrap();
    api.create(&PostParams::default(), &cm).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("watched"));
    api.patch(
        "watched",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await
    .unwrap();
    let second = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(second.data.unwrap()["v"], "2");
    // A stale update is a 409.
    let mut stale = first.clone();
    stale.data = Some([("v".to_string(), "stale".to_string())].into());
    let err = api
        .replace("watched", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 409 && s.reason == "Conflict"),
        "{err:?}"
    );
    // Raw watch from an old resourceVersion past the history gets 410 Gone; bookmarks carry the resourceVersion.
    let raw = c.client().await.unwrap();
    let mut events = api
        .watch(&kube::api::WatchParams::default().timeout(2), "0")
        .await
        .unwrap()
        .boxed();
    let mut saw_bookmark = false;
    while let Some(ev) = events.try_next().await.unwrap() {
        if let kube::api::WatchEvent::Bookmark(b) = ev {
            assert!(!b.metadata.resource_version.is_empty());
            saw_bookmark = true;
            break;
        }
    }
    assert!(saw_bookmark);
    drop(raw);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_old_resource_version_gets_410_expired() {
    let c = Cluster::start(ClusterOptions {
        history_limit: 5,
        ..ClusterOptions::for_tests().with_nodes(1)
    })
    .await
    .unwrap();
    let client = c.client().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    for i in 0..12 {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": format!("h{i}")}})).unwrap();
        api.create(&PostParams::default(), &cm).await.unwrap();
    }
    let mut events = api
        .watch(&kube::api::WatchParams::default().timeout(2), "2")
        .await
        .unwrap()
        .boxed();
    let ev = events.try_next().await.unwrap().unwrap();
    match ev {
        kube::api::WatchEvent::Error(e) => {
            assert_eq!(e.code, 410);
            assert_eq!(e.reason, "Expired");
        }
        other => panic!("expected 410, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemonset_template_change_rolls_pods_and_delete_cascades() {
    let c = cluster(4).await;
    let client = c.client().await.unwrap();
    let api: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    let mut ds = ds_json("default", "nginx:1.27", None);
    ds["spec"]["updateStrategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}});
    api.create(&PostParams::default(), &serde_json::from_value(ds).unwrap())
        .await
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(api.clone(), "obi", ds_ready),
    )
    .await
    .unwrap()
    .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let before: Vec<String> = pods
        .list(&ListParams::default().labels("app=obi"))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.metadata.name.unwrap())
        .collect();
    api.patch("obi", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"metadata": {"annotations": {"checksum/config": "abc"}}}}}))).await.unwrap();
    let done = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(api.clone(), "obi", |d: Option<&DaemonSet>| {
            d.is_some_and(|d| {
                d.status.as_ref().is_some_and(|s| {
                    s.observed_generation == d.metadata.generation
                        && s.updated_number_scheduled == Some(4)
                        && s.number_ready == 4
                })
            })
        }),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    assert_eq!(done.metadata.generation, Some(2));
    let after = pods
        .list(&ListParams::default().labels("app=obi"))
        .await
        .unwrap()
        .items;
    assert_eq!(after.len(), 4);
    for p in &after {
        assert!(
            !before.contains(p.metadata.name.as_ref().unwrap()),
            "pod was not replaced"
        );
        assert_eq!(
            p.metadata.annotations.as_ref().unwrap()["checksum/config"],
            "abc"
        );
    }
    api.delete("obi", &DeleteParams::background())
        .await
        .unwrap();
    let c2 = &c;
    eventually(Duration::from_secs(5), || {
        c2.list("v1", "Pod", Some("default"))
            .is_empty()
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemonset_respects_node_selector_and_taints() {
    let c = Cluster::start(
        ClusterOptions::for_tests()
            .with_node(NodeSpec::named("linux-a").label("obi", "yes"))
            .with_node(NodeSpec::named("linux-b").label("obi", "yes").taint(
                "dedicated",
                "gpu",
                "NoSchedule",
            ))
            .with_node(NodeSpec::named("other")),
    )
    .await
    .unwrap();
    let client = c.client().await.unwrap();
    let api: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    let mut ds = ds_json("default", "nginx:1.27", None);
    ds["spec"]["template"]["spec"]["nodeSelector"] = json!({"obi": "yes"});
    api.create(&PostParams::default(), &serde_json::from_value(ds).unwrap())
        .await
        .unwrap();
    let d = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(api.clone(), "obi", ds_ready),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    assert_eq!(
        d.status.unwrap().desired_number_scheduled,
        1,
        "only linux-a matches and has no untolerated taint"
    );
    api.patch("obi", &PatchParams::default(), &Patch::Merge(json!({"spec": {"template": {"spec": {"tolerations": [{"key": "dedicated", "operator": "Exists"}]}}}}))).await.unwrap();
    let d = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(api.clone(), "obi", |d: Option<&DaemonSet>| {
            d.is_some_and(|d| {
                d.status
                    .as_ref()
                    .is_some_and(|s| s.desired_number_scheduled == 2 && s.number_ready == 2)
            })
        }),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    assert_eq!(d.status.unwrap().number_ready, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_rolls_out_a_new_replicaset_on_template_change() {
    let c = cluster(2).await;
    let client = c.client().await.unwrap();
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 8080}]}]}}}});
    api.create(
        &PostParams::default(),
        &serde_json::from_value(dep).unwrap(),
    )
    .await
    .unwrap();
    let complete = |d: Option<&Deployment>| {
        d.is_some_and(|d| {
            let s = d.status.as_ref();
            s.is_some_and(|s| {
                s.observed_generation == d.metadata.generation
                    && s.updated_replicas == Some(3)
                    && s.available_replicas == Some(3)
                    && s.replicas == Some(3)
            })
        })
    };
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(api.clone(), "app", complete),
    )
    .await
    .unwrap()
    .unwrap();
    // Sidecar injection: add the OBI container to the pod template.
    api.patch("app", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"spec": {"shareProcessNamespace": true, "containers": [{"name": "obi", "image": "otel/ebpf-instrument:v0.12.1", "env": [{"name": "OTEL_EBPF_OPEN_PORT", "value": "8080"}, {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://collector:4318"}]}]}}}}))).await.unwrap();
    let d = tokio::time::timeout(
        Duration::from_secs(15),
        await_condition(api.clone(), "app", complete),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    assert_eq!(
        d.metadata.annotations.unwrap()["deployment.kubernetes.io/revision"],
        "2"
    );
    let progressing = d
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_.as_deref() == Some("Progressing"))
        .unwrap();
    assert_eq!(
        progressing.reason.as_deref(),
        Some("NewReplicaSetAvailable")
    );
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let mut reps: Vec<(i64, usize)> = rss
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|r| {
            let v = serde_json::to_value(r).unwrap();
            (
                v["spec"]["replicas"].as_i64().unwrap(),
                v["spec"]["template"]["spec"]["containers"]
                    .as_array()
                    .unwrap()
                    .len(),
            )
        })
        .collect();
    reps.sort();
    assert_eq!(reps, vec![(0, 1), (3, 2)]);
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let list = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert!(
        list.items
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .all(|p| p.spec.as_ref().unwrap().containers.len() == 2)
    );
    // Deleting the Deployment cascades to ReplicaSets and Pods.
    api.delete("app", &DeleteParams::foreground())
        .await
        .unwrap();
    eventually(Duration::from_secs(5), || {
        (c.list("apps/v1", "ReplicaSet", Some("default")).is_empty()
            && c.list("v1", "Pod", Some("default")).is_empty())
        .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_collection_and_orphan_propagation() {
    let c = cluster(2).await;
    let client = c.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for (i, team) in ["a", "a", "b"].iter().enumerate() {
        let cm: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": format!("dc-{i}"), "labels": {"team": team}}}),
        )
        .unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    let deleted = cms
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("team=a"),
        )
        .await
        .unwrap();
    let names: Vec<String> = deleted
        .left()
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert_eq!(names, vec!["dc-0", "dc-1"]);
    assert_eq!(
        cms.list(&ListParams::default().labels("team"))
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    let api: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    api.create(
        &PostParams::default(),
        &serde_json::from_value(ds_json("default", "nginx:1.27", None)).unwrap(),
    )
    .await
    .unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(api.clone(), "obi", ds_ready),
    )
    .await
    .unwrap()
    .unwrap();
    api.delete("obi", &DeleteParams::orphan()).await.unwrap();
    let pods = c.list("v1", "Pod", Some("default"));
    assert_eq!(pods.len(), 2, "orphaned pods stay");
    assert!(
        pods.iter().all(|p| p["metadata"]
            .get("ownerReferences")
            .and_then(|r| r.as_array())
            .is_none_or(|r| r.is_empty())),
        "owner references removed"
    );
}
