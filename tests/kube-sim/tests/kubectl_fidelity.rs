//! Fidelity checks: the real kubectl against the simulated cluster, asserting on its output.

mod common;

use common::*;
use kube_sim::{Cluster, ClusterOptions, NodeSpec, write_kubeconfig};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_nodes_shows_every_node_and_kernel_in_wide_output() {
    let c = Cluster::start(
        ClusterOptions::for_tests()
            .with_node(NodeSpec::named("worker-a").label("node-role.kubernetes.io/worker", ""))
            .with_node(NodeSpec::named("old-kernel").kernel("4.14.0-1-amd64")),
    )
    .await
    .unwrap();
    let out = kubectl_ok(&c, &["get", "nodes"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("NAME")
            && lines[0].contains("STATUS")
            && lines[0].contains("ROLES")
            && lines[0].contains("VERSION"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("worker-a")
            && l.contains("Ready")
            && l.contains("worker")
            && l.contains("v1.37.0")),
        "{out}"
    );
    let wide = kubectl_ok(&c, &["get", "nodes", "-o", "wide"]);
    assert!(wide.contains("KERNEL-VERSION"), "{wide}");
    assert!(
        wide.lines()
            .any(|l| l.starts_with("old-kernel") && l.contains("4.14.0-1-amd64")),
        "{wide}"
    );
    let json = kubectl_ok(
        &c,
        &[
            "get",
            "node",
            "worker-a",
            "-o",
            "jsonpath={.status.nodeInfo.kernelVersion}",
        ],
    );
    assert_eq!(json, "6.8.0-45-generic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_server_side_apply_rollout_logs_top_and_delete() {
    let c = cluster(3).await;
    let m = manifest(&c, "obi.yaml", &obi_manifest("obi-system", VALID_CONFIG));
    let m = m.to_str().unwrap();
    let out = kubectl_ok(&c, &["apply", "--server-side", "-f", m]);
    for line in [
        "namespace/obi-system serverside-applied",
        "configmap/obi-config serverside-applied",
        "clusterrole.rbac.authorization.k8s.io/obi-obi-system serverside-applied",
        "daemonset.apps/obi serverside-applied",
    ] {
        assert!(out.contains(line), "missing {line:?} in {out}");
    }
    let out = kubectl_ok(
        &c,
        &[
            "rollout",
            "status",
            "daemonset/obi",
            "-n",
            "obi-system",
            "--timeout=20s",
        ],
    );
    assert!(
        out.trim_end()
            .ends_with("daemon set \"obi\" successfully rolled out"),
        "{out}"
    );

    let pods = kubectl_ok(
        &c,
        &[
            "get",
            "pods",
            "-A",
            "-l",
            "app.kubernetes.io/name=obi",
            "-o",
            "wide",
        ],
    );
    let rows: Vec<&str> = pods.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{pods}");
    assert!(
        pods.lines().next().unwrap().starts_with("NAMESPACE"),
        "{pods}"
    );
    for (i, r) in rows.iter().enumerate() {
        let cols: Vec<&str> = r.split_whitespace().collect();
        assert_eq!(cols[0], "obi-system");
        assert!(cols[1].starts_with("obi-"));
        assert_eq!(cols[2], "1/1", "{r}");
        assert_eq!(cols[3], "Running", "{r}");
        assert!(
            rows.iter()
                .filter(|x| x.contains(&format!("node-{}", i + 1)))
                .count()
                == 1,
            "one pod per node: {pods}"
        );
    }
    // Re-applying the same manifest is a no-op (no conflict with ourselves).
    kubectl_ok(&c, &["apply", "--server-side", "-f", m]);

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let logs = kubectl_ok(
        &c,
        &[
            "logs",
            "-n",
            "obi-system",
            "-l",
            "app.kubernetes.io/name=obi",
            "--tail=2",
            "--timestamps",
        ],
    );
    let lines: Vec<&str> = logs.lines().collect();
    assert_eq!(lines.len(), 6, "2 lines from each of 3 pods: {logs}");
    for l in &lines {
        let (ts, rest) = l.split_once(' ').unwrap();
        assert!(
            ts.ends_with('Z') && ts.contains('T') && ts.len() > 25,
            "RFC 3339 nano timestamp: {l}"
        );
        assert!(
            rest.starts_with("time=") && rest.contains(" level=INFO msg="),
            "{l}"
        );
    }

    let top = kubectl_ok(&c, &["top", "pods", "-n", "obi-system"]);
    assert!(top.starts_with("NAME"), "{top}");
    assert!(
        top.contains("CPU(cores)") && top.contains("MEMORY(bytes)"),
        "{top}"
    );
    assert_eq!(top.lines().count(), 4, "{top}");
    assert!(
        top.lines()
            .skip(1)
            .all(|l| l.contains("m ") && l.trim_end().ends_with("Mi")),
        "{top}"
    );

    let out = kubectl_ok(&c, &["delete", "-f", m]);
    assert!(out.contains("daemonset.apps \"obi\" deleted"), "{out}");
    assert!(out.contains("namespace \"obi-system\" deleted"), "{out}");
    let after = kubectl(
        &c,
        &["get", "pods", "-A", "-l", "app.kubernetes.io/name=obi"],
    );
    assert!(after.stderr.contains("No resources found"), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_auth_can_i_answers_per_user_and_follows_rbac() {
    let c = cluster(1).await;
    let restricted = format!("{}-restricted", c.name());
    let admin = kubectl(
        &c,
        &["auth", "can-i", "delete", "daemonsets", "-n", "kube-system"],
    );
    assert_eq!((admin.code, admin.stdout.trim()), (0, "yes"));
    let no = kubectl(
        &c,
        &[
            "--context",
            &restricted,
            "auth",
            "can-i",
            "list",
            "pods",
            "-n",
            "default",
        ],
    );
    assert_eq!((no.code, no.stdout.trim()), (1, "no"));
    let forbidden = kubectl(
        &c,
        &["--context", &restricted, "get", "pods", "-n", "default"],
    );
    assert_ne!(forbidden.code, 0);
    assert!(forbidden.stderr.contains("Error from server (Forbidden): pods is forbidden: User \"restricted\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""), "{forbidden:?}");

    kubectl_ok(
        &c,
        &[
            "create",
            "role",
            "pod-reader",
            "-n",
            "default",
            "--verb=get,list,watch",
            "--resource=pods",
        ],
    );
    kubectl_ok(
        &c,
        &[
            "create",
            "rolebinding",
            "pod-reader",
            "-n",
            "default",
            "--role=pod-reader",
            "--user=restricted",
        ],
    );
    let yes = kubectl(
        &c,
        &[
            "--context",
            &restricted,
            "auth",
            "can-i",
            "list",
            "pods",
            "-n",
            "default",
        ],
    );
    assert_eq!((yes.code, yes.stdout.trim()), (0, "yes"));
    let other_ns = kubectl(
        &c,
        &[
            "--context",
            &restricted,
            "auth",
            "can-i",
            "list",
            "pods",
            "-n",
            "kube-system",
        ],
    );
    assert_eq!(other_ns.stdout.trim(), "no");
    let del = kubectl(
        &c,
        &[
            "--context",
            &restricted,
            "auth",
            "can-i",
            "delete",
            "pods",
            "-n",
            "default",
        ],
    );
    assert_eq!(del.stdout.trim(), "no");
    let list = kubectl_ok(
        &c,
        &["--context", &restricted, "get", "pods", "-n", "default"],
    );
    assert!(list.is_empty(), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_sees_not_found_already_exists_and_stale_update_conflicts() {
    let c = cluster(1).await;
    let nf = kubectl(&c, &["get", "configmap", "missing"]);
    assert_eq!(nf.code, 1);
    assert_eq!(
        nf.stderr.trim(),
        "Error from server (NotFound): configmaps \"missing\" not found"
    );
    kubectl_ok(&c, &["create", "configmap", "cfg", "--from-literal=a=1"]);
    let dup = kubectl(&c, &["create", "configmap", "cfg", "--from-literal=a=1"]);
    assert_ne!(dup.code, 0);
    assert!(
        dup.stderr.contains("configmaps \"cfg\" already exists"),
        "{dup:?}"
    );
    let stale = kubectl_ok(&c, &["get", "configmap", "cfg", "-o", "json"]);
    kubectl_ok(
        &c,
        &["patch", "configmap", "cfg", "-p", r#"{"data":{"a":"2"}}"#],
    );
    let path = manifest(&c, "stale.json", &stale);
    let conflict = kubectl(&c, &["replace", "-f", path.to_str().unwrap()]);
    assert_ne!(conflict.code, 0);
    assert!(
        conflict.stderr.contains(
            "Operation cannot be fulfilled on configmaps \"cfg\": the object has been modified"
        ),
        "{conflict:?}"
    );
    let invalid = kubectl(&c, &["create", "configmap", "Bad_Name"]);
    assert!(
        invalid.stderr.contains("is invalid") && invalid.stderr.contains("metadata.name"),
        "{invalid:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_shows_crashloop_with_obi_validation_error_in_logs() {
    let c = cluster(1).await;
    let m = manifest(&c, "bad.yaml", &obi_manifest("obi-bad", NO_EXPORTER_CONFIG));
    kubectl_ok(&c, &["apply", "--server-side", "-f", m.to_str().unwrap()]);
    let c2 = &c;
    let row = eventually(Duration::from_secs(10), || {
        let out = kubectl(c2, &["get", "pods", "-n", "obi-bad"]).stdout;
        out.lines()
            .find(|l| l.contains("CrashLoopBackOff"))
            .map(String::from)
    })
    .await;
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[1], "0/1", "{row}");
    assert!(cols[3].parse::<u32>().unwrap() >= 1, "{row}");
    let pod = cols[0];
    let logs = kubectl_ok(&c, &["logs", "-n", "obi-bad", pod]);
    assert!(logs.contains("level=ERROR msg=\"wrong configuration\" error=\"you need to define at least one exporter: trace_printer, otel_metrics_export, otel_traces_export or prometheus_export\""), "{logs}");
    let code = kubectl_ok(
        &c,
        &[
            "get",
            "pod",
            "-n",
            "obi-bad",
            pod,
            "-o",
            "jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}",
        ],
    );
    assert_eq!(code, "255");
    let events = kubectl_ok(&c, &["get", "events", "-n", "obi-bad"]);
    assert!(
        events.contains("BackOff") && events.contains("Back-off restarting failed container obi"),
        "{events}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_shows_image_pull_backoff() {
    let c = cluster(1).await;
    c.fail_image_pull("otel/ebpf-instrument:v9.9.9");
    let m = manifest(
        &c,
        "img.yaml",
        &obi_manifest("obi-img", VALID_CONFIG).replace("v0.12.1", "v9.9.9"),
    );
    kubectl_ok(&c, &["apply", "--server-side", "-f", m.to_str().unwrap()]);
    let c2 = &c;
    let row = eventually(Duration::from_secs(10), || {
        kubectl(c2, &["get", "pods", "-n", "obi-img"])
            .stdout
            .lines()
            .find(|l| l.contains("ImagePullBackOff"))
            .map(String::from)
    })
    .await;
    assert!(row.contains("0/1"), "{row}");
    let pod = row.split_whitespace().next().unwrap();
    let logs = kubectl(&c, &["logs", "-n", "obi-img", pod]);
    assert!(
        logs.stderr
            .contains("is waiting to start: trying and failing to pull image"),
        "{logs:?}"
    );
    let events = kubectl_ok(&c, &["get", "events", "-n", "obi-img"]);
    assert!(
        events.contains("Failed to pull image \"otel/ebpf-instrument:v9.9.9\""),
        "{events}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_switches_between_two_clusters_in_one_kubeconfig() {
    let a = Cluster::start(ClusterOptions::for_tests().named("east").with_nodes(2))
        .await
        .unwrap();
    let b = Cluster::start(
        ClusterOptions::for_tests()
            .named("west")
            .with_nodes(4)
            .seed(7),
    )
    .await
    .unwrap();
    let path = a.kubeconfig_path().with_file_name("two.kubeconfig");
    write_kubeconfig(&[&a, &b], &path).unwrap();
    let contexts = kubectl_with(&path, &["config", "get-contexts", "-o", "name"]).stdout;
    assert_eq!(
        contexts.lines().collect::<Vec<_>>(),
        vec!["east", "east-restricted", "west", "west-restricted"]
    );
    let east = kubectl_with(&path, &["get", "nodes", "--no-headers"]).stdout;
    assert_eq!(east.lines().count(), 2, "{east}");
    let west = kubectl_with(
        &path,
        &["--context", "west", "get", "nodes", "--no-headers"],
    )
    .stdout;
    assert_eq!(west.lines().count(), 4, "{west}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rollout_status_and_restart_for_deployments_and_daemonsets() {
    let c = cluster(2).await;
    let m = manifest(
        &c,
        "web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n",
    );
    kubectl_ok(&c, &["apply", "--server-side", "-f", m.to_str().unwrap()]);
    let out = kubectl_ok(
        &c,
        &["rollout", "status", "deployment/web", "--timeout=20s"],
    );
    assert!(
        out.trim_end()
            .ends_with("deployment \"web\" successfully rolled out"),
        "{out}"
    );
    let d = manifest(&c, "obi.yaml", &obi_manifest("obi-r", VALID_CONFIG));
    kubectl_ok(&c, &["apply", "--server-side", "-f", d.to_str().unwrap()]);
    kubectl_ok(
        &c,
        &[
            "rollout",
            "status",
            "daemonset/obi",
            "-n",
            "obi-r",
            "--timeout=20s",
        ],
    );
    let before = kubectl_ok(&c, &["get", "pods", "-n", "obi-r", "-o", "name"]);
    let out = kubectl_ok(&c, &["rollout", "restart", "daemonset/obi", "-n", "obi-r"]);
    assert_eq!(out.trim(), "daemonset.apps/obi restarted");
    let out = kubectl_ok(
        &c,
        &[
            "rollout",
            "status",
            "daemonset/obi",
            "-n",
            "obi-r",
            "--timeout=20s",
        ],
    );
    assert!(
        out.trim_end()
            .ends_with("daemon set \"obi\" successfully rolled out"),
        "{out}"
    );
    let after = kubectl_ok(&c, &["get", "pods", "-n", "obi-r", "-o", "name"]);
    assert_eq!(after.lines().count(), 2);
    assert!(
        after.lines().all(|p| !before.contains(p)),
        "pods were replaced: {before} -> {after}"
    );
    let ds = kubectl_ok(&c, &["get", "ds", "obi", "-n", "obi-r"]);
    let row: Vec<&str> = ds.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..6], &["obi", "2", "2", "2", "2", "2"], "{ds}");
}
