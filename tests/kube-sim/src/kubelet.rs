//! The simulated kubelets: pod lifecycle (start, image pull failures, crash loops), pod status,
//! events and the metrics API.

use crate::api::Info;
use crate::cluster::{Sim, glob};
use crate::error::ApiError;
use crate::obi::{self, ConfigCheck};
use crate::resources::{ResId, def, ids};
use crate::server::{Body, Req, json_response};
use crate::store::Key;
use crate::util::{self, get_str};
use http::Response;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// What starting a container leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It runs.
    Run,
    /// The image cannot be pulled.
    PullFail(String),
    /// It exits right after starting.
    Crash {
        /// Exit code.
        exit_code: i32,
        /// Last log line (slog `msg` and `error` attributes, or a raw line).
        line: CrashLine,
    },
    /// A volume cannot be mounted (stays ContainerCreating).
    MountFail(String),
}

/// The final log line of a crashing container.
#[derive(Debug, Clone, PartialEq)]
pub enum CrashLine {
    /// An OBI slog ERROR line.
    Slog {
        /// `msg` attribute.
        msg: String,
        /// `error` attribute.
        error: String,
    },
    /// A raw line.
    Raw(String),
}

/// One run of a container.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Start time.
    pub started: SystemTime,
    /// Exit time.
    pub finished: Option<SystemTime>,
    /// Exit code.
    pub exit_code: Option<i32>,
    /// The crash line, if it crashed.
    pub crash: Option<CrashLine>,
    /// Container id.
    pub id: String,
}

/// Container state.
#[derive(Debug, Clone, PartialEq)]
pub enum CState {
    /// Being created.
    Creating,
    /// Running.
    Running,
    /// Waiting with a reason.
    Waiting(String, String),
}

/// Runtime of one container.
#[derive(Debug, Clone)]
pub struct Ctr {
    /// Container name.
    pub name: String,
    /// Image.
    pub image: String,
    /// Whether it is OBI.
    pub obi: bool,
    /// State.
    pub state: CState,
    /// Restarts.
    pub restarts: u32,
    /// Runs so far.
    pub instances: Vec<Instance>,
    pull_attempts: u32,
}

/// Runtime of one pod.
#[derive(Debug, Clone)]
pub struct PodRt {
    uid: String,
    /// Node name.
    pub node: String,
    /// Containers.
    pub containers: Vec<Ctr>,
    next: Option<Instant>,
    started: Option<SystemTime>,
    mount_error: Option<String>,
    dirty: bool,
}

/// All pod runtimes.
#[derive(Debug, Default)]
pub struct Kubelet {
    pods: Mutex<HashMap<Key, PodRt>>,
}

impl Kubelet {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, PodRt>> {
        self.pods.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// Whether any pod has a pending transition before it first runs.
    pub fn busy(&self) -> bool {
        self.lock().values().any(|p| {
            p.containers.iter().any(|c| c.state == CState::Creating) && p.mount_error.is_none()
        })
    }
    /// A copy of a pod's runtime.
    pub fn pod(&self, ns: &str, name: &str) -> Option<PodRt> {
        self.lock()
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }
}

fn kernel_ok(kernel: &str) -> Result<(), String> {
    let mut it = kernel
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    let major: u32 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let minor: u32 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let general = major > 5 || (major == 5 && minor >= 8);
    let rhel = major == 4 && minor == 18 && kernel.contains(".el");
    if general || rhel {
        Ok(())
    } else {
        Err(format!(
            "kernel version {major}.{minor} not supported. Minimum required version is 5.8"
        ))
    }
}

fn decide(sim: &Sim, pod: &Value, container: &Value, node: Option<&Value>) -> Outcome {
    let image = container.get("image").and_then(Value::as_str).unwrap_or("");
    let rules = sim.rules.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(r) = rules.image_pull.iter().find(|r| glob(&r.image, image)) {
        let full =
            if image.contains('/') && image.split('/').next().is_some_and(|h| h.contains('.')) {
                image.to_string()
            } else if image.contains('/') {
                format!("docker.io/{image}")
            } else {
                format!("docker.io/library/{image}")
            };
        let full = if full
            .rsplit('/')
            .next()
            .is_some_and(|l| l.contains(':') || l.contains('@'))
        {
            full
        } else {
            format!("{full}:latest")
        };
        let msg = r.message.clone().unwrap_or_else(|| format!("failed to pull and unpack image \"{full}\": failed to resolve reference \"{full}\": {full}: not found"));
        return Outcome::PullFail(msg);
    }
    if let Some(r) = rules.crash.iter().find(|r| glob(&r.image, image)) {
        return Outcome::Crash {
            exit_code: r.exit_code,
            line: CrashLine::Raw(r.log_line.clone()),
        };
    }
    let validate = !rules.skip_obi_validation;
    drop(rules);
    if obi::is_obi_image(image) {
        if let Some(kernel) =
            node.and_then(|n| get_str(n, &["status", "nodeInfo", "kernelVersion"]))
            && let Err(e) = kernel_ok(kernel)
        {
            return Outcome::Crash {
                exit_code: 255,
                line: CrashLine::Slog {
                    msg: "can't start OpenTelemetry eBPF Instrumentation".into(),
                    error: e,
                },
            };
        }
        if validate {
            let ns = util::ns_of(pod).to_string();
            let lookup = |name: &str| {
                sim.store
                    .get(ids::configmaps(), &ns, name)
                    .map(|o| o.value().get("data").cloned().unwrap_or(json!({})))
            };
            match obi::check_container(pod, container, &lookup) {
                ConfigCheck::Valid => {}
                ConfigCheck::Fatal { msg, error } => {
                    return Outcome::Crash {
                        exit_code: 255,
                        line: CrashLine::Slog { msg, error },
                    };
                }
                ConfigCheck::MountFailed(m) => return Outcome::MountFail(m),
            }
        }
    }
    Outcome::Run
}

fn container_id(seed: u64, key: &str, n: usize) -> String {
    format!(
        "containerd://{:016x}{:016x}{:016x}{:016x}",
        util::hash_str(seed, key),
        util::hash_str(seed + 1, key),
        n,
        util::hash_str(seed + 2, key)
    )
}

struct EventSpec {
    reason: &'static str,
    message: String,
    warning: bool,
}

/// One kubelet pass. Returns when it next has something to do.
pub fn sync(sim: &Sim) -> Option<Instant> {
    let now = Instant::now();
    let wall = SystemTime::now();
    let t = sim.timings().clone();
    let (pods, _) = sim
        .store
        .list(ids::pods(), None, |o| o.field("spec.nodeName").is_some());
    let mut nodes: HashMap<String, Option<Value>> = HashMap::new();
    let mut events: Vec<(Value, EventSpec)> = Vec::new();
    let mut next: Option<Instant> = None;
    let mut live: std::collections::HashSet<Key> = std::collections::HashSet::new();
    for o in &pods {
        let key: Key = (o.idx.namespace.clone(), o.idx.name.clone());
        live.insert(key.clone());
        let uid = o.idx.uid.clone();
        let existing = sim
            .kubelet
            .lock()
            .get(&key)
            .filter(|rt| rt.uid == uid)
            .cloned();
        // Pods with nothing due are skipped without parsing them.
        if let Some(rt) = &existing
            && !rt.dirty
            && rt.next.is_none_or(|n| n > now)
        {
            if let Some(n) = rt.next {
                next = Some(next.map_or(n, |x: Instant| x.min(n)));
            }
            continue;
        }
        let pod_value = o.value();
        let pod = &pod_value;
        let pod_ref = json!({
            "metadata": {"name": o.idx.name, "namespace": o.idx.namespace, "uid": o.idx.uid},
            "spec": {"nodeName": o.field("spec.nodeName")},
        });
        let node_name = o.field("spec.nodeName").unwrap_or("").to_string();
        let node = nodes
            .entry(node_name.clone())
            .or_insert_with(|| {
                // Keep only what the kubelet reads, not whole node objects.
                sim.store.get(ids::nodes(), "", &node_name).map(|n| {
                    let v = n.value();
                    json!({"status": {
                        "conditions": v.pointer("/status/conditions").cloned().unwrap_or(json!([])),
                        "nodeInfo": {"kernelVersion": v.pointer("/status/nodeInfo/kernelVersion").cloned().unwrap_or(json!(""))},
                        "addresses": v.pointer("/status/addresses").cloned().unwrap_or(json!([])),
                    }})
                })
            })
            .as_ref();
        let node_ready = node
            .and_then(|n| n.pointer("/status/conditions"))
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
        let mut rt = match existing {
            Some(rt) => rt,
            None => {
                if !node_ready {
                    continue;
                }
                let containers = pod
                    .pointer("/spec/containers")
                    .and_then(Value::as_array)
                    .map(|cs| {
                        cs.iter()
                            .map(|c| {
                                let image = c
                                    .get("image")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .to_string();
                                Ctr {
                                    name: c
                                        .get("name")
                                        .and_then(Value::as_str)
                                        .unwrap_or("")
                                        .into(),
                                    obi: obi::is_obi_image(&image),
                                    image,
                                    state: CState::Creating,
                                    restarts: 0,
                                    instances: vec![],
                                    pull_attempts: 0,
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let rt = PodRt {
                    uid: uid.clone(),
                    node: node_name.clone(),
                    containers,
                    next: Some(now + t.pod_start),
                    started: Some(wall),
                    mount_error: None,
                    dirty: true,
                };
                events.push((
                    pod_ref.clone(),
                    EventSpec {
                        reason: "Scheduled",
                        message: format!(
                            "Successfully assigned {}/{} to {}",
                            key.0, key.1, node_name
                        ),
                        warning: false,
                    },
                ));
                rt
            }
        };
        if rt.next.is_some_and(|n| n <= now) {
            rt.next = None;
            rt.dirty = true;
            let specs = pod
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            rt.mount_error = None;
            for (i, c) in rt.containers.iter_mut().enumerate() {
                let spec = specs.get(i).cloned().unwrap_or(json!({}));
                let due = match &c.state {
                    CState::Creating => true,
                    CState::Waiting(..) => true,
                    CState::Running => false,
                };
                if !due {
                    continue;
                }
                let outcome = decide(sim, pod, &spec, node);
                let cid = container_id(
                    sim.opts.seed,
                    &format!("{uid}/{}", c.name),
                    c.instances.len(),
                );
                match outcome {
                    Outcome::Run => {
                        if !c.instances.is_empty() {
                            c.restarts += 1;
                        } else if c.pull_attempts == 0 {
                            events.push((
                                pod_ref.clone(),
                                EventSpec {
                                    reason: "Pulled",
                                    message: format!(
                                        "Container image \"{}\" already present on machine",
                                        c.image
                                    ),
                                    warning: false,
                                },
                            ));
                        } else {
                            events.push((
                                pod_ref.clone(),
                                EventSpec {
                                    reason: "Pulled",
                                    message: format!("Successfully pulled image \"{}\"", c.image),
                                    warning: false,
                                },
                            ));
                        }
                        events.push((
                            pod_ref.clone(),
                            EventSpec {
                                reason: "Created",
                                message: format!("Created container: {}", c.name),
                                warning: false,
                            },
                        ));
                        events.push((
                            pod_ref.clone(),
                            EventSpec {
                                reason: "Started",
                                message: format!("Started container {}", c.name),
                                warning: false,
                            },
                        ));
                        c.instances.push(Instance {
                            started: wall,
                            finished: None,
                            exit_code: None,
                            crash: None,
                            id: cid,
                        });
                        c.state = CState::Running;
                    }
                    Outcome::PullFail(msg) => {
                        c.pull_attempts += 1;
                        let backoff =
                            matches!(&c.state, CState::Waiting(r, _) if r == "ErrImagePull");
                        if backoff {
                            c.state = CState::Waiting(
                                "ImagePullBackOff".into(),
                                format!(
                                    "Back-off pulling image \"{}\": ErrImagePull: {msg}",
                                    c.image
                                ),
                            );
                            events.push((
                                pod_ref.clone(),
                                EventSpec {
                                    reason: "BackOff",
                                    message: format!("Back-off pulling image \"{}\"", c.image),
                                    warning: false,
                                },
                            ));
                        } else {
                            c.state = CState::Waiting("ErrImagePull".into(), msg.clone());
                            events.push((
                                pod_ref.clone(),
                                EventSpec {
                                    reason: "Failed",
                                    message: format!("Failed to pull image \"{}\": {msg}", c.image),
                                    warning: true,
                                },
                            ));
                        }
                        rt.next = Some(rt.next.map_or(now + t.image_pull_backoff, |n| {
                            n.min(now + t.image_pull_backoff)
                        }));
                    }
                    Outcome::Crash { exit_code, line } => {
                        if !c.instances.is_empty() || c.restarts > 0 {
                            c.restarts += 1;
                        } else {
                            events.push((
                                pod_ref.clone(),
                                EventSpec {
                                    reason: "Pulled",
                                    message: format!(
                                        "Container image \"{}\" already present on machine",
                                        c.image
                                    ),
                                    warning: false,
                                },
                            ));
                            events.push((
                                pod_ref.clone(),
                                EventSpec {
                                    reason: "Created",
                                    message: format!("Created container: {}", c.name),
                                    warning: false,
                                },
                            ));
                            events.push((
                                pod_ref.clone(),
                                EventSpec {
                                    reason: "Started",
                                    message: format!("Started container {}", c.name),
                                    warning: false,
                                },
                            ));
                        }
                        let started = wall - Duration::from_millis(20);
                        c.instances.push(Instance {
                            started,
                            finished: Some(wall),
                            exit_code: Some(exit_code),
                            crash: Some(line),
                            id: cid,
                        });
                        if c.instances.len() > 2 {
                            c.instances.remove(0);
                        }
                        let crashes = c.restarts + 1;
                        let backoff = (t.crash_backoff
                            * 2u32.saturating_pow(crashes.saturating_sub(1).min(16)))
                        .min(t.crash_backoff_max);
                        let secs = (10u64 << crashes.saturating_sub(1).min(5)).min(300);
                        c.state = CState::Waiting(
                            "CrashLoopBackOff".into(),
                            format!(
                                "back-off {} restarting failed container={} pod={}_{}({})",
                                if secs >= 60 {
                                    format!("{}m{}s", secs / 60, secs % 60)
                                } else {
                                    format!("{secs}s")
                                },
                                c.name,
                                key.1,
                                key.0,
                                uid
                            ),
                        );
                        if c.restarts == 0 {
                            c.restarts = 1;
                        }
                        events.push((
                            pod_ref.clone(),
                            EventSpec {
                                reason: "BackOff",
                                message: format!(
                                    "Back-off restarting failed container {} in pod {}_{}({})",
                                    c.name, key.1, key.0, uid
                                ),
                                warning: true,
                            },
                        ));
                        rt.next = Some(rt.next.map_or(now + backoff, |n| n.min(now + backoff)));
                    }
                    Outcome::MountFail(m) => {
                        if rt.mount_error.as_deref() != Some(m.as_str()) {
                            events.push((
                                pod_ref.clone(),
                                EventSpec {
                                    reason: "FailedMount",
                                    message: m.clone(),
                                    warning: true,
                                },
                            ));
                        }
                        rt.mount_error = Some(m);
                        c.state = CState::Creating;
                        rt.next = Some(now + t.image_pull_backoff);
                    }
                }
            }
        }
        if rt.dirty {
            rt.dirty = false;
            let status = render_status(sim, pod, &rt, node);
            sim.store.modify(ids::pods(), &key.0, &key.1, |v| {
                if v.get("status") == Some(&status) {
                    return false;
                }
                v["status"] = status;
                true
            });
        }
        if let Some(n) = rt.next {
            next = Some(next.map_or(n, |x: Instant| x.min(n)));
        }
        sim.kubelet.lock().insert(key, rt);
    }
    sim.kubelet.lock().retain(|k, _| live.contains(k));
    if sim.opts.events {
        for (pod, e) in events {
            record_event(sim, &pod, e);
        }
    }
    next
}

fn record_event(sim: &Sim, pod: &Value, e: EventSpec) {
    let ns = util::ns_of(pod).to_string();
    let name = util::name_of(pod).to_string();
    let ev_name = format!(
        "{}.{:x}",
        name,
        util::hash_str(0, &format!("{}{}", e.reason, e.message)) & 0xffff_ffff_ffff
    );
    let now = util::rfc3339(SystemTime::now());
    let node = get_str(pod, &["spec", "nodeName"])
        .unwrap_or("")
        .to_string();
    let updated = sim.store.modify(ids::events(), &ns, &ev_name, |v| {
        let c = v.get("count").and_then(Value::as_i64).unwrap_or(1);
        v["count"] = (c + 1).into();
        v["lastTimestamp"] = now.clone().into();
        true
    });
    if updated.is_none() {
        let (component, host) = if e.reason == "Scheduled" {
            ("default-scheduler", Value::Null)
        } else {
            ("kubelet", Value::from(node.clone()))
        };
        let mut source = json!({"component": component});
        if !host.is_null() {
            source["host"] = host;
        }
        let _ = sim.store.create(
            ids::events(),
            json!({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": ev_name, "namespace": ns},
                "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": name, "namespace": ns, "uid": get_str(pod, &["metadata", "uid"]).unwrap_or("")},
                "reason": e.reason, "message": e.message, "type": if e.warning { "Warning" } else { "Normal" },
                "source": source, "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                "reportingComponent": component, "reportingInstance": if component == "kubelet" { node } else { String::new() },
            }),
        );
    }
}

/// The pod IP of a pod.
pub fn pod_ip(seed: u64, pod: &Value, node: Option<&Value>) -> String {
    if pod.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true) {
        return node_ip(node);
    }
    let h = util::hash_str(
        seed,
        &format!("{}/{}", util::ns_of(pod), util::name_of(pod)),
    );
    format!("10.244.{}.{}", (h >> 8) % 256, h % 253 + 2)
}

fn node_ip(node: Option<&Value>) -> String {
    node.and_then(|n| n.pointer("/status/addresses"))
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
        .and_then(|x| x["address"].as_str())
        .unwrap_or("10.0.0.2")
        .to_string()
}

fn render_status(sim: &Sim, pod: &Value, rt: &PodRt, node: Option<&Value>) -> Value {
    let mut status = pod.get("status").cloned().unwrap_or(json!({}));
    let t = |s: SystemTime| Value::from(util::rfc3339(s));
    let started_any = rt.containers.iter().any(|c| !c.instances.is_empty());
    let all_running =
        !rt.containers.is_empty() && rt.containers.iter().all(|c| c.state == CState::Running);
    let now = SystemTime::now();
    let start = rt.started.unwrap_or(now);
    let cs: Vec<Value> = rt
        .containers
        .iter()
        .map(|c| {
            let last = c.instances.last();
            let (state, last_state) = match &c.state {
                CState::Creating => (
                    json!({"waiting": {"reason": "ContainerCreating"}}),
                    json!({}),
                ),
                CState::Running => {
                    let prev = if c.instances.len() >= 2 {
                        c.instances.get(c.instances.len() - 2)
                    } else {
                        None
                    };
                    (
                        json!({"running": {"startedAt": t(last.map_or(now, |i| i.started))}}),
                        prev.map_or(json!({}), |p| terminated(p, &t)),
                    )
                }
                CState::Waiting(reason, msg) => (
                    json!({"waiting": {"reason": reason, "message": msg}}),
                    last.filter(|i| i.finished.is_some())
                        .map_or(json!({}), |p| terminated(p, &t)),
                ),
            };
            let mut v = json!({
                "name": c.name,
                "image": c.image,
                "imageID": "",
                "ready": c.state == CState::Running,
                "restartCount": c.restarts,
                "started": c.state == CState::Running,
                "state": state,
                "lastState": last_state,
            });
            if let Some(i) = last {
                v["containerID"] = i.id.clone().into();
                v["imageID"] = format!(
                    "docker.io/{}@sha256:{:016x}{:016x}{:016x}{:016x}",
                    c.image.split(':').next().unwrap_or(""),
                    util::hash_str(1, &c.image),
                    util::hash_str(2, &c.image),
                    util::hash_str(3, &c.image),
                    util::hash_str(4, &c.image)
                )
                .into();
            }
            v
        })
        .collect();
    let not_ready: Vec<&str> = rt
        .containers
        .iter()
        .filter(|c| c.state != CState::Running)
        .map(|c| c.name.as_str())
        .collect();
    let cond = |typ: &str, ok: bool, reason: Option<String>| {
        let mut c = json!({"type": typ, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": t(start)});
        if let (false, Some(r)) = (ok, reason) {
            c["reason"] = "ContainersNotReady".into();
            c["message"] = r.into();
        }
        c
    };
    let nr = Some(format!(
        "containers with unready status: [{}]",
        not_ready.join(" ")
    ));
    status["phase"] = if started_any { "Running" } else { "Pending" }.into();
    status["conditions"] = json!([
        cond("PodReadyToStartContainers", rt.mount_error.is_none(), None),
        cond("Initialized", true, None),
        cond("Ready", all_running, nr.clone()),
        cond("ContainersReady", all_running, nr),
        cond("PodScheduled", true, None),
    ]);
    let hip = node_ip(node);
    status["hostIP"] = hip.clone().into();
    status["hostIPs"] = json!([{"ip": hip}]);
    if rt.mount_error.is_none() {
        let ip = pod_ip(sim.opts.seed, pod, node);
        status["podIP"] = ip.clone().into();
        status["podIPs"] = json!([{"ip": ip}]);
    }
    status["startTime"] = t(start);
    status["containerStatuses"] = cs.into();
    status
}

fn terminated(i: &Instance, t: &dyn Fn(SystemTime) -> Value) -> Value {
    json!({"terminated": {"exitCode": i.exit_code.unwrap_or(0), "reason": if i.exit_code == Some(0) { "Completed" } else { "Error" }, "startedAt": t(i.started), "finishedAt": t(i.finished.unwrap_or(i.started)), "containerID": i.id}})
}

fn usage(seed: u64, key: &str, obi: bool) -> (u64, u64) {
    let h = util::hash_str(seed, key);
    if obi {
        (5_000_000 + h % 35_000_000, (60 + (h >> 16) % 100) * 1024)
    } else {
        (1_000_000 + h % 19_000_000, (10 + (h >> 16) % 70) * 1024)
    }
}

/// Serves `metrics.k8s.io/v1beta1` nodes and pods.
pub fn metrics(sim: &Sim, r: &Req, info: &Info, id: ResId) -> Result<Response<Body>, ApiError> {
    let d = def(id);
    let f = crate::api::Filters::from(r, info, ids::pods())?;
    let now = util::rfc3339(SystemTime::now());
    let seed = sim.opts.seed;
    let running = |o: &crate::store::Obj| o.field("status.phase") == Some("Running");
    let pod_metrics = |p: &Value| {
        let rt = sim.kubelet.pod(util::ns_of(p), util::name_of(p));
        let containers: Vec<Value> = rt
            .map(|rt| {
                rt.containers
                    .iter()
                    .filter(|c| c.state == CState::Running)
                    .map(|c| {
                        let (cpu, mem) = usage(seed, &format!("{}/{}/{}", util::ns_of(p), util::name_of(p), c.name), c.obi);
                        json!({"name": c.name, "usage": {"cpu": format!("{cpu}n"), "memory": format!("{mem}Ki")}})
                    })
                    .collect()
            })
            .unwrap_or_default();
        json!({"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
               "metadata": {"name": util::name_of(p), "namespace": util::ns_of(p), "creationTimestamp": now, "labels": p.pointer("/metadata/labels").cloned().unwrap_or(json!({}))},
               "timestamp": now, "window": "10.062s", "containers": containers})
    };
    if d.kind == "PodMetrics" {
        if let Some(name) = &info.name {
            let p = sim
                .store
                .get(ids::pods(), info.ns.as_deref().unwrap_or(""), name)
                .filter(|o| running(o))
                .ok_or_else(|| {
                    ApiError::new(
                        404,
                        "NotFound",
                        format!(
                            "podmetrics.metrics.k8s.io \"{}/{}\" not found",
                            info.ns.as_deref().unwrap_or(""),
                            name
                        ),
                    )
                })?;
            return Ok(json_response(200, &pod_metrics(&p.value())));
        }
        let (pods, _) = sim.store.list(ids::pods(), info.ns.as_deref(), |o| {
            running(o) && f.matches_obj(o)
        });
        let items: Vec<Value> = pods.iter().map(|p| pod_metrics(&p.value())).collect();
        return Ok(json_response(
            200,
            &json!({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": items}),
        ));
    }
    let (pods, _) = sim.store.list(ids::pods(), None, |o| running(o));
    let mut per_node: HashMap<String, (u64, u64)> = HashMap::new();
    for p in &pods {
        let node = p.field("spec.nodeName").unwrap_or("").to_string();
        let m = pod_metrics(&p.value());
        for c in m["containers"].as_array().into_iter().flatten() {
            let cpu: u64 = c["usage"]["cpu"]
                .as_str()
                .and_then(|s| s.trim_end_matches('n').parse().ok())
                .unwrap_or(0);
            let mem: u64 = c["usage"]["memory"]
                .as_str()
                .and_then(|s| s.trim_end_matches("Ki").parse().ok())
                .unwrap_or(0);
            let e = per_node.entry(node.clone()).or_default();
            e.0 += cpu;
            e.1 += mem;
        }
    }
    let ls = crate::selectors::LabelSelector::parse(r.q("labelSelector").unwrap_or(""))?;
    let node_metrics = |n: &Value| {
        let name = util::name_of(n);
        let h = util::hash_str(seed, name);
        let (pc, pm) = per_node.get(name).copied().unwrap_or_default();
        let cpu = 150_000_000 + h % 400_000_000 + pc;
        let mem = (900 + (h >> 20) % 1500) * 1024 + pm;
        json!({"kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {"name": name, "creationTimestamp": now, "labels": n.pointer("/metadata/labels").cloned().unwrap_or(json!({}))},
               "timestamp": now, "window": "20.029s", "usage": {"cpu": format!("{cpu}n"), "memory": format!("{mem}Ki")}})
    };
    if let Some(name) = &info.name {
        let n = sim.store.get(ids::nodes(), "", name).ok_or_else(|| {
            ApiError::new(
                404,
                "NotFound",
                format!("nodemetrics.metrics.k8s.io \"{name}\" not found"),
            )
        })?;
        return Ok(json_response(200, &node_metrics(&n.value())));
    }
    let (nodes, _) = sim.store.list(ids::nodes(), None, |o| ls.matches_obj(o));
    let items: Vec<Value> = nodes.iter().map(|n| node_metrics(&n.value())).collect();
    Ok(json_response(
        200,
        &json!({"kind": "NodeMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": items}),
    ))
}
