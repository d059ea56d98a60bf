//! Starting a cluster, its options, users, failure rules and the handle tests hold.

use crate::error::{ApiError, SimError};
use crate::faults::{Fault, Faults};
use crate::kubelet::Kubelet;
use crate::resources::{self, ids};
use crate::store::Store;
use crate::util::{self, Rng};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// A node taint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Taint {
    /// Taint key.
    pub key: String,
    /// Taint value.
    #[serde(default)]
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// One simulated node.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeSpec {
    /// Node name.
    pub name: String,
    /// `status.nodeInfo.kernelVersion` (OBI needs >= 5.8).
    pub kernel: String,
    /// Extra labels.
    pub labels: BTreeMap<String, String>,
    /// Taints.
    pub taints: Vec<Taint>,
    /// Ready condition.
    pub ready: bool,
    /// `spec.unschedulable` (cordoned).
    pub unschedulable: bool,
    /// CPU capacity (cores).
    pub cpu: u32,
    /// Memory capacity in GiB.
    pub memory_gib: u32,
    /// Architecture label.
    pub arch: String,
    /// OS image.
    pub os_image: String,
}

impl Default for NodeSpec {
    fn default() -> Self {
        NodeSpec {
            name: String::new(),
            kernel: "6.8.0-45-generic".into(),
            labels: BTreeMap::new(),
            taints: Vec::new(),
            ready: true,
            unschedulable: false,
            cpu: 4,
            memory_gib: 16,
            arch: "amd64".into(),
            os_image: "Ubuntu 24.04.1 LTS".into(),
        }
    }
}

impl NodeSpec {
    /// A default node with a name.
    pub fn named(name: impl Into<String>) -> Self {
        NodeSpec {
            name: name.into(),
            ..Default::default()
        }
    }
    /// Sets the kernel version.
    pub fn kernel(mut self, k: impl Into<String>) -> Self {
        self.kernel = k.into();
        self
    }
    /// Adds a label.
    pub fn label(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.labels.insert(k.into(), v.into());
        self
    }
    /// Adds a taint.
    pub fn taint(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
        effect: impl Into<String>,
    ) -> Self {
        self.taints.push(Taint {
            key: key.into(),
            value: value.into(),
            effect: effect.into(),
        });
        self
    }
}

/// Controller and kubelet timings. Production-like defaults; [`Timings::fast`] for tests.
#[derive(Debug, Clone)]
pub struct Timings {
    /// Pending → Running delay of a pod (image pull + start).
    pub pod_start: Duration,
    /// First CrashLoopBackOff delay (doubles per restart).
    pub crash_backoff: Duration,
    /// Cap of the crash back-off.
    pub crash_backoff_max: Duration,
    /// Delay between image pull retries.
    pub image_pull_backoff: Duration,
    /// Interval between periodic log lines of a running container.
    pub log_interval: Duration,
    /// Interval of watch bookmarks.
    pub bookmark_interval: Duration,
    /// Batching delay of the controllers after a change.
    pub controller_debounce: Duration,
    /// How long a deleted namespace stays `Terminating` before its contents and it are removed.
    pub namespace_finalize: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            pod_start: Duration::from_secs(2),
            crash_backoff: Duration::from_secs(10),
            crash_backoff_max: Duration::from_secs(300),
            image_pull_backoff: Duration::from_secs(10),
            log_interval: Duration::from_secs(10),
            bookmark_interval: Duration::from_secs(60),
            controller_debounce: Duration::from_millis(20),
            namespace_finalize: Duration::from_secs(3),
        }
    }
}

impl Timings {
    /// Short delays for tests.
    pub fn fast() -> Self {
        Timings {
            pod_start: Duration::from_millis(100),
            crash_backoff: Duration::from_millis(150),
            crash_backoff_max: Duration::from_secs(2),
            image_pull_backoff: Duration::from_millis(150),
            log_interval: Duration::from_millis(500),
            bookmark_interval: Duration::from_secs(1),
            controller_debounce: Duration::from_millis(5),
            namespace_finalize: Duration::from_millis(800),
        }
    }
}

/// Options of a simulated cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Cluster (and kubeconfig context) name.
    pub name: String,
    /// Nodes; empty means one default node.
    pub nodes: Vec<NodeSpec>,
    /// Seed for names, IPs, metrics and faults.
    pub seed: u64,
    /// Serve HTTPS with a generated CA (default) or plain HTTP.
    pub tls: bool,
    /// Port on 127.0.0.1 (0 picks one).
    pub port: u16,
    /// Timings.
    pub timings: Timings,
    /// Watch history kept per resource (older resourceVersions get 410 Gone).
    pub history_limit: usize,
    /// Reject unknown fields unless the request asks otherwise (`fieldValidation`).
    pub strict_fields: bool,
    /// Where to write the kubeconfig (default: a temporary directory removed on drop).
    pub kubeconfig_out: Option<PathBuf>,
    /// Emit Events for pod lifecycle steps.
    pub events: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            name: "kube-sim".into(),
            nodes: Vec::new(),
            seed: 1,
            tls: true,
            port: 0,
            timings: Timings::default(),
            history_limit: 2_000,
            strict_fields: true,
            kubeconfig_out: None,
            events: true,
        }
    }
}

impl ClusterOptions {
    /// Options with fast timings for tests.
    pub fn for_tests() -> Self {
        ClusterOptions {
            timings: Timings::fast(),
            ..Default::default()
        }
    }
    /// Adds `n` default nodes named `node-1` .. `node-n`.
    pub fn with_nodes(mut self, n: usize) -> Self {
        let start = self.nodes.len();
        for i in 0..n {
            self.nodes
                .push(NodeSpec::named(format!("node-{}", start + i + 1)));
        }
        self
    }
    /// Adds one node.
    pub fn with_node(mut self, node: NodeSpec) -> Self {
        self.nodes.push(node);
        self
    }
    /// Sets the cluster name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Serves plain HTTP instead of HTTPS.
    pub fn http(mut self) -> Self {
        self.tls = false;
        self
    }
}

/// An authenticated user (bearer token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User name.
    pub name: String,
    /// Groups.
    pub groups: Vec<String>,
}

/// Makes image pulls of matching images fail (`ErrImagePull`, then `ImagePullBackOff`).
#[derive(Debug, Clone)]
pub struct ImagePullRule {
    /// Image glob (`*` wildcard), e.g. `otel/ebpf-instrument:v9*`.
    pub image: String,
    /// Pull error text.
    pub message: Option<String>,
}

/// Makes matching containers crash-loop.
#[derive(Debug, Clone)]
pub struct CrashRule {
    /// Image glob (`*` wildcard).
    pub image: String,
    /// Exit code (OBI exits 255).
    pub exit_code: i32,
    /// The last log line the container prints before exiting.
    pub log_line: String,
}

/// Failure rules the kubelet consults when it starts a container.
#[derive(Debug, Default)]
pub struct Rules {
    /// Pull failures.
    pub image_pull: Vec<ImagePullRule>,
    /// Crash loops.
    pub crash: Vec<CrashRule>,
    /// Skip OBI's startup validation of mounted configs.
    pub skip_obi_validation: bool,
}

/// Matches `*` globs.
pub fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let mut pos = 0;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            if !s.starts_with(p) {
                return false;
            }
            pos = p.len();
        } else if i == parts.len() - 1 {
            return s.len() >= pos + p.len() && s.ends_with(p);
        } else if let Some(j) = s[pos..].find(p) {
            pos += j + p.len();
        } else {
            return false;
        }
    }
    true
}

/// Shared state of one cluster.
pub(crate) struct Sim {
    pub store: Store,
    pub opts: ClusterOptions,
    pub users: Mutex<HashMap<String, User>>,
    pub rules: Mutex<Rules>,
    pub faults: Faults,
    pub rng: Mutex<Rng>,
    pub kubelet: Kubelet,
    pub started: SystemTime,
    pub server_addr: Mutex<String>,
    pub requests: AtomicU64,
    /// Requests being handled right now.
    pub in_flight: AtomicU64,
    /// Most requests handled at once since the last reset.
    pub peak_in_flight: AtomicU64,
    pub shutdown: watch::Receiver<bool>,
    /// When each terminating namespace was deleted.
    pub ns_deleted: Mutex<HashMap<String, tokio::time::Instant>>,
}

impl Sim {
    /// Next random suffix for generated names.
    pub fn suffix(&self) -> String {
        self.rng.lock().unwrap_or_else(|p| p.into_inner()).suffix()
    }
    pub fn timings(&self) -> &Timings {
        &self.opts.timings
    }
}

/// Token of the built-in admin user (`system:masters`).
pub const ADMIN_TOKEN_PREFIX: &str = "kube-sim-admin-";
/// Name of the built-in restricted user.
pub const RESTRICTED_USER: &str = "restricted";

/// A running simulated cluster. Dropping it stops the server.
pub struct Cluster {
    sim: Arc<Sim>,
    addr: SocketAddr,
    url: String,
    ca_pem: Option<String>,
    kubeconfig: PathBuf,
    tempdir: Option<PathBuf>,
    admin_token: String,
    restricted_token: String,
    shutdown: watch::Sender<bool>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn node_object(n: &NodeSpec, idx: usize, started: SystemTime) -> Value {
    let mut labels = json!({
        "kubernetes.io/hostname": n.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": n.arch,
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": n.arch,
    });
    for (k, v) in &n.labels {
        labels[k] = v.clone().into();
    }
    let ip = format!("10.0.{}.{}", (idx + 1) / 250, (idx + 1) % 250 + 2);
    let t = util::rfc3339(started);
    let ready = if n.ready {
        json!({"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": t, "lastTransitionTime": t})
    } else {
        json!({"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": "container runtime network not ready", "lastHeartbeatTime": t, "lastTransitionTime": t})
    };
    let mut spec = json!({"podCIDR": format!("10.244.{}.0/24", idx % 256), "podCIDRs": [format!("10.244.{}.0/24", idx % 256)]});
    if !n.taints.is_empty() {
        spec["taints"] = n
            .taints
            .iter()
            .map(|t| json!({"key": t.key, "value": t.value, "effect": t.effect}))
            .collect();
    }
    if !n.ready {
        let mut taints = spec
            .get("taints")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        taints.push(json!({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}));
        spec["taints"] = taints.into();
    }
    if n.unschedulable {
        spec["unschedulable"] = true.into();
    }
    let mem = format!("{}Ki", n.memory_gib as u64 * 1024 * 1024);
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": n.name, "labels": labels, "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": spec,
        "status": {
            "capacity": {"cpu": n.cpu.to_string(), "memory": mem, "pods": "110", "ephemeral-storage": "102400000Ki"},
            "allocatable": {"cpu": n.cpu.to_string(), "memory": mem, "pods": "110", "ephemeral-storage": "94000000000"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available", "lastHeartbeatTime": t, "lastTransitionTime": t},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure", "lastHeartbeatTime": t, "lastTransitionTime": t},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available", "lastHeartbeatTime": t, "lastTransitionTime": t},
                ready,
            ],
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": n.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": format!("{:032x}", util::hash_str(idx as u64, &n.name)),
                "systemUUID": format!("{:032x}", util::hash_str(7, &n.name)),
                "bootID": format!("{:032x}", util::hash_str(9, &n.name)),
                "kernelVersion": n.kernel,
                "osImage": n.os_image,
                "containerRuntimeVersion": "containerd://1.7.22",
                "kubeletVersion": "v1.37.0",
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": n.arch,
            },
        }
    })
}

fn seed_objects(sim: &Sim) -> Result<(), ApiError> {
    let s = &sim.store;
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        s.create(
            ids::namespaces(),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        )?;
        s.create(ids::serviceaccounts(), json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}}))?;
    }
    s.create(
        ids::services(),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
               "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}], "sessionAffinity": "None"}}),
    )?;
    s.create(
        ids::clusterroles(),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
               "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]}),
    )?;
    s.create(
        ids::clusterroles(),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "view"},
               "rules": [{"apiGroups": ["", "apps"], "resources": ["pods", "pods/log", "configmaps", "services", "serviceaccounts", "events", "namespaces", "daemonsets", "deployments", "replicasets", "statefulsets"], "verbs": ["get", "list", "watch"]}]}),
    )?;
    s.create(
        ids::clusterrolebindings(),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "cluster-admin"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]}),
    )?;
    let nodes = if sim.opts.nodes.is_empty() {
        vec![NodeSpec::named("node-1")]
    } else {
        sim.opts.nodes.clone()
    };
    for (i, n) in nodes.iter().enumerate() {
        if n.name.is_empty() {
            continue;
        }
        s.create(ids::nodes(), node_object(n, i, sim.started))?;
    }
    Ok(())
}

impl Cluster {
    /// Starts a cluster on 127.0.0.1 and writes its kubeconfig.
    pub async fn start(opts: ClusterOptions) -> Result<Cluster, SimError> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let seed = opts.seed;
        let mut rng = Rng::new(seed);
        let admin_token = format!("{ADMIN_TOKEN_PREFIX}{:016x}", rng.next_u64());
        let restricted_token = format!("kube-sim-restricted-{:016x}", rng.next_u64());
        let (tx, rx) = watch::channel(false);
        let sim = Arc::new(Sim {
            store: Store::new(opts.history_limit),
            users: Mutex::new(HashMap::from([
                (
                    admin_token.clone(),
                    User {
                        name: "kube-sim-admin".into(),
                        groups: vec!["system:masters".into(), "system:authenticated".into()],
                    },
                ),
                (
                    restricted_token.clone(),
                    User {
                        name: RESTRICTED_USER.into(),
                        groups: vec!["system:authenticated".into()],
                    },
                ),
            ])),
            rules: Mutex::new(Rules::default()),
            faults: Faults::new(seed),
            rng: Mutex::new(rng),
            kubelet: Kubelet::default(),
            started: SystemTime::now(),
            server_addr: Mutex::new(String::new()),
            requests: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            peak_in_flight: AtomicU64::new(0),
            shutdown: rx,
            ns_deleted: Mutex::new(HashMap::new()),
            opts,
        });
        seed_objects(&sim)?;
        let addr_s = format!("127.0.0.1:{}", sim.opts.port);
        let listener = tokio::net::TcpListener::bind(&addr_s)
            .await
            .map_err(|source| SimError::Bind {
                addr: addr_s.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: addr_s,
            source,
        })?;
        *sim.server_addr.lock().unwrap_or_else(|p| p.into_inner()) = addr.to_string();
        let (tls, ca_pem) = if sim.opts.tls {
            let m = crate::tls::generate()?;
            (Some(crate::tls::server_config(&m)?), Some(m.ca_pem))
        } else {
            (None, None)
        };
        let url = format!(
            "{}://{}",
            if tls.is_some() { "https" } else { "http" },
            addr
        );
        tokio::spawn(crate::server::serve(sim.clone(), listener, tls));
        tokio::spawn(crate::controllers::run(sim.clone()));
        let (kubeconfig, tempdir) = match &sim.opts.kubeconfig_out {
            Some(p) => (p.clone(), None),
            None => {
                let dir =
                    std::env::temp_dir().join(format!("kube-sim-{}-{}", std::process::id(), n));
                std::fs::create_dir_all(&dir).map_err(|source| SimError::Write {
                    path: dir.display().to_string(),
                    source,
                })?;
                (dir.join("kubeconfig"), Some(dir))
            }
        };
        let cluster = Cluster {
            sim,
            addr,
            url,
            ca_pem,
            kubeconfig,
            tempdir,
            admin_token,
            restricted_token,
            shutdown: tx,
        };
        write_kubeconfig(&[&cluster], &cluster.kubeconfig)?;
        Ok(cluster)
    }

    /// The server URL (`https://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.url
    }
    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The cluster name (also the admin context name; the restricted context is `NAME-restricted`).
    pub fn name(&self) -> &str {
        &self.sim.opts.name
    }
    /// Path of the kubeconfig written for this cluster.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }
    /// The CA certificate (PEM) when serving HTTPS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }
    /// Bearer token of the admin user (`system:masters`).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }
    /// Bearer token of the restricted user `restricted`, whose access RBAC objects decide.
    pub fn restricted_token(&self) -> &str {
        &self.restricted_token
    }
    /// Adds a bearer-token user.
    pub fn add_user(&self, token: &str, name: &str, groups: &[&str]) {
        let mut g: Vec<String> = groups.iter().map(|s| s.to_string()).collect();
        g.push("system:authenticated".into());
        self.sim
            .users
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                token.into(),
                User {
                    name: name.into(),
                    groups: g,
                },
            );
    }

    /// A kubeconfig (YAML) with this cluster's admin and restricted contexts.
    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig_value(&[self])
            .map(|v| serde_norway::to_string(&v).unwrap_or_default())
            .unwrap_or_default()
    }

    /// A kube client as the admin user.
    pub async fn client(&self) -> Result<kube::Client, SimError> {
        self.client_for_context(self.name()).await
    }
    /// A kube client as the restricted user.
    pub async fn restricted_client(&self) -> Result<kube::Client, SimError> {
        self.client_for_context(&format!("{}-restricted", self.name()))
            .await
    }
    /// A kube client with any bearer token.
    pub async fn client_with_token(&self, token: &str) -> Result<kube::Client, SimError> {
        let mut v = kubeconfig_value(&[self])?;
        v["users"][0]["user"]["token"] = token.into();
        self.client_from(v, self.name()).await
    }
    /// The kube client configuration of the admin context (to adjust retries, timeouts, ...).
    pub async fn kube_config(&self) -> Result<kube::Config, SimError> {
        let kc: kube::config::Kubeconfig = serde_json::from_value(kubeconfig_value(&[self])?)
            .map_err(|e| SimError::Nodes(e.to_string()))?;
        let opts = kube::config::KubeConfigOptions {
            context: Some(self.name().to_string()),
            ..Default::default()
        };
        kube::Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(SimError::Kubeconfig)
    }
    async fn client_for_context(&self, ctx: &str) -> Result<kube::Client, SimError> {
        self.client_from(kubeconfig_value(&[self])?, ctx).await
    }
    async fn client_from(&self, v: Value, ctx: &str) -> Result<kube::Client, SimError> {
        let kc: kube::config::Kubeconfig =
            serde_json::from_value(v).map_err(|e| SimError::Nodes(e.to_string()))?;
        let opts = kube::config::KubeConfigOptions {
            context: Some(ctx.to_string()),
            ..Default::default()
        };
        let cfg = kube::Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(SimError::Kubeconfig)?;
        kube::Client::try_from(cfg).map_err(SimError::Client)
    }

    /// Makes pulls of images matching `image_glob` fail.
    pub fn fail_image_pull(&self, image_glob: &str) {
        self.sim
            .rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .image_pull
            .push(ImagePullRule {
                image: image_glob.into(),
                message: None,
            });
    }
    /// Makes containers whose image matches crash-loop with an exit code and a last log line.
    pub fn crash_containers(&self, rule: CrashRule) {
        self.sim
            .rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .crash
            .push(rule);
    }
    /// Turns OBI's startup validation of mounted configs on (default) or off.
    pub fn validate_obi_config(&self, on: bool) {
        self.sim
            .rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .skip_obi_validation = !on;
    }
    /// Removes all image-pull and crash rules.
    pub fn clear_rules(&self) {
        let mut r = self.sim.rules.lock().unwrap_or_else(|p| p.into_inner());
        r.image_pull.clear();
        r.crash.clear();
    }

    /// Adds a fault; returns its id.
    pub fn add_fault(&self, fault: Fault) -> u64 {
        self.sim.faults.add(fault)
    }
    /// Removes one fault.
    pub fn remove_fault(&self, id: u64) {
        self.sim.faults.remove(id)
    }
    /// Removes all faults.
    pub fn clear_faults(&self) {
        self.sim.faults.clear()
    }

    /// Requests served so far.
    pub fn request_count(&self) -> u64 {
        self.sim.requests.load(Ordering::Relaxed)
    }

    /// The most requests the server handled at once since the last [`Cluster::reset_peak_in_flight`]
    /// (or start): how a test checks a client's concurrency bound.
    pub fn peak_in_flight(&self) -> u64 {
        self.sim.peak_in_flight.load(Ordering::SeqCst)
    }

    /// Starts a new measurement of [`Cluster::peak_in_flight`].
    pub fn reset_peak_in_flight(&self) {
        self.sim
            .peak_in_flight
            .store(self.sim.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Reads an object (`api_version` like `apps/v1`, `namespace` "" for cluster scoped).
    pub fn get(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let id = resources::find_kind(api_version, kind)?;
        self.sim.store.get(id, namespace, name).map(|o| o.value())
    }
    /// Lists objects of a kind (`namespace` None for all).
    pub fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        let Some(id) = resources::find_kind(api_version, kind) else {
            return vec![];
        };
        self.sim
            .store
            .list(id, namespace, |_| true)
            .0
            .iter()
            .map(|o| o.value())
            .collect()
    }
    /// Creates or replaces an object directly in the store (no authorization, defaults applied).
    pub fn put(&self, mut obj: Value) -> Result<Value, SimError> {
        let av = util::get_str(&obj, &["apiVersion"])
            .unwrap_or("")
            .to_string();
        let kind = util::get_str(&obj, &["kind"]).unwrap_or("").to_string();
        let id = resources::find_kind(&av, &kind).ok_or_else(|| {
            SimError::Api(ApiError::bad_request(format!("unknown kind {av}/{kind}")))
        })?;
        crate::api::defaults(&self.sim, id, &mut obj);
        let (ns, name) = (
            util::ns_of(&obj).to_string(),
            util::name_of(&obj).to_string(),
        );
        let r = match self.sim.store.get(id, &ns, &name) {
            Some(_) => self.sim.store.update(id, obj, false)?,
            None => self.sim.store.create(id, obj)?,
        };
        Ok(r.value())
    }
    /// Deletes an object directly (cascading to dependents).
    pub fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<(), SimError> {
        let id = resources::find_kind(api_version, kind).ok_or_else(|| {
            SimError::Api(ApiError::bad_request(format!(
                "unknown kind {api_version}/{kind}"
            )))
        })?;
        self.sim.store.delete(id, namespace, name, false)?;
        Ok(())
    }
    /// Changes an object in place.
    pub fn modify(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        f: impl FnOnce(&mut Value),
    ) -> Option<Value> {
        let id = resources::find_kind(api_version, kind)?;
        self.sim
            .store
            .modify(id, namespace, name, |v| {
                f(v);
                true
            })
            .map(|o| o.value())
    }
    /// Adds a node.
    pub fn add_node(&self, node: NodeSpec) -> Result<(), SimError> {
        let idx = self.sim.store.list(ids::nodes(), None, |_| true).0.len();
        self.sim
            .store
            .create(ids::nodes(), node_object(&node, idx, SystemTime::now()))?;
        Ok(())
    }
    /// Sets a node's Ready condition.
    pub fn set_node_ready(&self, name: &str, ready: bool) {
        let t = util::rfc3339(SystemTime::now());
        self.sim.store.modify(ids::nodes(), "", name, |v| {
            if let Some(conds) = v
                .pointer_mut("/status/conditions")
                .and_then(Value::as_array_mut)
            {
                for c in conds.iter_mut().filter(|c| c["type"] == "Ready") {
                    c["status"] = if ready { "True" } else { "False" }.into();
                    c["reason"] = if ready {
                        "KubeletReady"
                    } else {
                        "NodeStatusUnknown"
                    }
                    .into();
                    c["lastTransitionTime"] = t.clone().into();
                }
            }
            true
        });
    }
    /// Waits until no pod is Pending with a start scheduled (bounded by `timeout`).
    pub async fn settle(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline && self.sim.kubelet.busy() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    /// Stops the server and controllers.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(d) = &self.tempdir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn kubeconfig_value(clusters: &[&Cluster]) -> Result<Value, SimError> {
    use base64::Engine;
    let mut cl = Vec::new();
    let mut users = Vec::new();
    let mut contexts = Vec::new();
    for c in clusters {
        let name = c.name();
        let mut cluster = json!({"server": c.url});
        if let Some(ca) = &c.ca_pem {
            cluster["certificate-authority-data"] =
                base64::engine::general_purpose::STANDARD.encode(ca).into();
        }
        cl.push(json!({"name": name, "cluster": cluster}));
        users.push(json!({"name": format!("{name}-admin"), "user": {"token": c.admin_token}}));
        users.push(
            json!({"name": format!("{name}-restricted"), "user": {"token": c.restricted_token}}),
        );
        contexts.push(json!({"name": name, "context": {"cluster": name, "user": format!("{name}-admin"), "namespace": "default"}}));
        contexts.push(json!({"name": format!("{name}-restricted"), "context": {"cluster": name, "user": format!("{name}-restricted"), "namespace": "default"}}));
    }
    let mut names: Vec<&str> = clusters.iter().map(|c| c.name()).collect();
    names.sort();
    names.dedup();
    if names.len() != clusters.len() {
        return Err(SimError::Nodes(
            "clusters in one kubeconfig need distinct names".into(),
        ));
    }
    Ok(json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": cl,
        "users": users,
        "contexts": contexts,
        "current-context": clusters.first().map(|c| c.name()).unwrap_or(""),
        "preferences": {},
    }))
}

/// Writes one kubeconfig with the admin and restricted contexts of every cluster
/// (contexts `NAME` and `NAME-restricted`); the first cluster is the current context.
pub fn write_kubeconfig(clusters: &[&Cluster], path: &Path) -> Result<(), SimError> {
    let v = kubeconfig_value(clusters)?;
    let text = serde_norway::to_string(&v).map_err(|e| SimError::Nodes(e.to_string()))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|source| SimError::Write {
            path: path.display().to_string(),
            source,
        })
}
