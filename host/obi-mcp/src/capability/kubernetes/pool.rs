//! The server-wide pool of Kubernetes clients: the kubeconfig is read on first use (never at
//! start), and one client per context is made on first use and kept.
//!
//! Where the kubeconfig comes from: `toolsets.kubernetes.kubeconfig`, else `KUBECONFIG` (a
//! colon-separated list merged like kubectl: the first file to set a value wins, missing files
//! are skipped), else `~/.kube/config`; when none of those files exists and the server runs in a
//! pod (`KUBERNETES_SERVICE_HOST` set), the pod's service account (`in-cluster` context).
//!
//! Credentials stay here: every message that leaves this module goes through [`Secrets::redact`],
//! which removes the tokens, passwords and keys found in the kubeconfig.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::errors::KubeError;
use crate::config::{Env, KubernetesToolset};

/// Name of the context used with the in-cluster service account.
pub const IN_CLUSTER_CONTEXT: &str = "in-cluster";

/// Where the service account token lives in a pod.
const SERVICE_ACCOUNT_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Timeouts applied to every cluster request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// One request, retries included.
    pub request: Duration,
    /// Opening a connection.
    pub connect: Duration,
}

/// Secret strings found in the kubeconfig, removed from every message.
#[derive(Debug, Default, Clone)]
pub struct Secrets(BTreeSet<String>);

impl Secrets {
    /// Collects secret values from kubeconfig text (YAML or JSON).
    pub fn scan(&mut self, text: &str) {
        // Block style (`token: x`), flow style (`user: {token: x}`) and JSON (`"token":"x"`).
        for fragment in text.split(['\n', ',', '{', '}', '[', ']']) {
            let fragment = fragment.trim().trim_start_matches("- ").trim();
            let Some((key, value)) = fragment.split_once(':') else {
                continue;
            };
            let key = key.trim().trim_matches('"').to_ascii_lowercase();
            let secret_key = key.ends_with("token")
                || key.ends_with("password")
                || key.ends_with("secret")
                || key.ends_with("key-data");
            if !secret_key {
                continue;
            }
            let value = value
                .trim()
                .trim_end_matches(',')
                .trim()
                .trim_matches(['"', '\'']);
            if value.len() >= 6 {
                self.0.insert(value.to_string());
            }
        }
    }

    /// Adds one secret.
    pub fn add(&mut self, secret: &str) {
        let secret = secret.trim();
        if secret.len() >= 6 {
            self.0.insert(secret.to_string());
        }
    }

    /// `text` with every known secret replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.0 {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "[redacted]");
            }
        }
        out
    }
}

/// Where the credentials come from, once read.
enum Source {
    /// A kubeconfig (possibly merged from several files).
    Kubeconfig {
        /// The files it was read from, for messages.
        files: Vec<PathBuf>,
        /// The merged kubeconfig.
        config: Box<Kubeconfig>,
    },
    /// The pod's service account.
    InCluster,
}

/// What the pool read: the source and its secrets.
struct Loaded {
    source: Source,
    secrets: Secrets,
}

/// One context of the kubeconfig, without credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextSummary {
    /// Context name.
    pub name: String,
    /// Cluster entry name.
    pub cluster: String,
    /// API server URL.
    pub server: String,
    /// User entry name.
    pub user: String,
    /// Namespace of the context.
    pub namespace: Option<String>,
    /// Whether it is the current context.
    pub is_default: bool,
}

/// A ready client for one context.
pub struct ContextClient {
    /// Context name.
    pub context: String,
    /// API server URL.
    pub server: String,
    /// Namespace used when a call names none.
    pub default_namespace: String,
    /// The client (kube's own retries off; ours are in `request`).
    pub client: kube::Client,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Secrets to redact from messages.
    pub secrets: Secrets,
    /// Discovery results by group version.
    pub discovery: Mutex<HashMap<String, Arc<super::objects::GroupVersion>>>,
}

/// The server-wide client pool (one per server start or reload).
pub struct KubePool {
    explicit: Option<PathBuf>,
    env_kubeconfig: Option<String>,
    home: Option<PathBuf>,
    in_pod: bool,
    timeouts: Timeouts,
    loaded: Mutex<Option<Arc<Loaded>>>,
    clients: tokio::sync::Mutex<HashMap<String, Arc<ContextClient>>>,
}

impl std::fmt::Debug for KubePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubePool")
            .field("explicit", &self.explicit)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl KubePool {
    /// A pool for `settings` in environment `env`. Reads nothing and contacts nothing.
    pub fn new(settings: &KubernetesToolset, env: &Env) -> KubePool {
        KubePool {
            explicit: settings.kubeconfig.clone(),
            env_kubeconfig: env.get("KUBECONFIG").filter(|v| !v.is_empty()).cloned(),
            home: env.get("HOME").filter(|v| !v.is_empty()).map(PathBuf::from),
            in_pod: env
                .get("KUBERNETES_SERVICE_HOST")
                .is_some_and(|v| !v.is_empty()),
            timeouts: Timeouts {
                request: Duration::from_secs(settings.request_timeout_secs.max(1)),
                connect: Duration::from_secs(settings.connect_timeout_secs.max(1)),
            },
            loaded: Mutex::new(None),
            clients: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// A pool with the built-in defaults and no environment (kubeconfig: none found).
    pub fn unconfigured() -> KubePool {
        KubePool::new(&KubernetesToolset::default(), &Env::new())
    }

    /// The pool's timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The kubeconfig files to read, in merge order, and the description for messages.
    fn candidate_files(&self) -> Vec<PathBuf> {
        if let Some(p) = &self.explicit {
            return vec![p.clone()];
        }
        if let Some(list) = &self.env_kubeconfig {
            return std::env::split_paths(list)
                .filter(|p| !p.as_os_str().is_empty())
                .collect();
        }
        match &self.home {
            Some(h) => vec![h.join(".kube").join("config")],
            None => Vec::new(),
        }
    }

    fn where_from(&self) -> String {
        if let Some(p) = &self.explicit {
            format!("{} (toolsets.kubernetes.kubeconfig)", p.display())
        } else if let Some(list) = &self.env_kubeconfig {
            format!("KUBECONFIG={list}")
        } else {
            match &self.home {
                Some(h) => format!("{}", h.join(".kube").join("config").display()),
                None => "~/.kube/config (HOME is not set)".into(),
            }
        }
    }

    /// Reads the kubeconfig (once; a failure is not remembered, so a file created later is
    /// found by the next call).
    fn load(&self) -> Result<Arc<Loaded>, KubeError> {
        if let Some(l) = self
            .loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            return Ok(l.clone());
        }
        let loaded = Arc::new(self.read()?);
        *self.loaded.lock().unwrap_or_else(|p| p.into_inner()) = Some(loaded.clone());
        Ok(loaded)
    }

    fn read(&self) -> Result<Loaded, KubeError> {
        let mut secrets = Secrets::default();
        let candidates = self.candidate_files();
        let mut files = Vec::new();
        let mut merged: Option<Kubeconfig> = None;
        for path in &candidates {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                // kubectl skips missing files of a KUBECONFIG list; an explicit file must exist.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.explicit.is_none() => {
                    continue;
                }
                Err(e) => {
                    // `failed`, not `not-found`: a toolset must never read a missing kubeconfig
                    // as "the object is not there".
                    return Err(KubeError::Failed(format!(
                        "cannot read kubeconfig {}: {e}",
                        path.display()
                    )));
                }
            };
            secrets.scan(&text);
            let parsed = Kubeconfig::read_from(path).map_err(|e| {
                KubeError::Invalid(secrets.redact(&format!(
                    "kubeconfig {} is not valid: {}",
                    path.display(),
                    chain(&e)
                )))
            })?;
            files.push(path.clone());
            merged = Some(match merged {
                None => parsed,
                Some(m) => m.merge(parsed).map_err(|e| {
                    KubeError::Invalid(
                        secrets.redact(&format!("cannot merge kubeconfig {}: {e}", path.display())),
                    )
                })?,
            });
        }
        if let Some(config) = merged {
            return Ok(Loaded {
                source: Source::Kubeconfig {
                    files,
                    config: Box::new(config),
                },
                secrets,
            });
        }
        if self.in_pod && self.explicit.is_none() {
            if let Ok(token) = std::fs::read_to_string(SERVICE_ACCOUNT_TOKEN) {
                secrets.add(&token);
            }
            return Ok(Loaded {
                source: Source::InCluster,
                secrets,
            });
        }
        Err(KubeError::Failed(format!(
            "no kubeconfig found at {}; set toolsets.kubernetes.kubeconfig or KUBECONFIG, or run the server in a pod",
            self.where_from()
        )))
    }

    /// The contexts of the kubeconfig (reads the file; contacts nothing).
    pub fn contexts(&self) -> Result<Vec<ContextSummary>, KubeError> {
        let loaded = self.load()?;
        Ok(match &loaded.source {
            Source::InCluster => vec![ContextSummary {
                name: IN_CLUSTER_CONTEXT.into(),
                cluster: IN_CLUSTER_CONTEXT.into(),
                server: kube::Config::incluster()
                    .map(|c| c.cluster_url.to_string())
                    .unwrap_or_default(),
                user: "service-account".into(),
                namespace: std::fs::read_to_string(
                    "/var/run/secrets/kubernetes.io/serviceaccount/namespace",
                )
                .ok()
                .map(|s| s.trim().to_string()),
                is_default: true,
            }],
            Source::Kubeconfig { config, .. } => config
                .contexts
                .iter()
                .map(|c| {
                    let ctx = c.context.as_ref();
                    let cluster = ctx.map(|x| x.cluster.clone()).unwrap_or_default();
                    let server = config
                        .clusters
                        .iter()
                        .find(|n| n.name == cluster)
                        .and_then(|n| n.cluster.as_ref())
                        .and_then(|c| c.server.clone())
                        .unwrap_or_default();
                    ContextSummary {
                        name: c.name.clone(),
                        cluster,
                        server: loaded.secrets.redact(&server),
                        user: ctx.and_then(|x| x.user.clone()).unwrap_or_default(),
                        namespace: ctx.and_then(|x| x.namespace.clone()),
                        is_default: config.current_context.as_deref() == Some(c.name.as_str()),
                    }
                })
                .collect(),
        })
    }

    /// The name of `context`, or of the current context when none is given.
    pub fn resolve_context(&self, context: Option<&str>) -> Result<String, KubeError> {
        let loaded = self.load()?;
        let Source::Kubeconfig { config, files } = &loaded.source else {
            return match context {
                None | Some(IN_CLUSTER_CONTEXT) => Ok(IN_CLUSTER_CONTEXT.into()),
                Some(other) => Err(KubeError::Invalid(format!(
                    "context \"{other}\" does not exist: the server uses its in-cluster service account (context \"{IN_CLUSTER_CONTEXT}\")"
                ))),
            };
        };
        let names: Vec<&str> = config.contexts.iter().map(|c| c.name.as_str()).collect();
        let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        match context.filter(|c| !c.is_empty()) {
            Some(c) if names.contains(&c) => Ok(c.to_string()),
            // A wrong argument, not a missing object: `invalid`, so a toolset never reads it as
            // "nothing deployed there".
            Some(c) => Err(KubeError::Invalid(format!(
                "context \"{c}\" is not in the kubeconfig ({}); its contexts: {}",
                files.join(", "),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))),
            None => match (&config.current_context, names.as_slice()) {
                (Some(c), _) if !c.is_empty() => Ok(c.clone()),
                (_, [only]) => Ok(only.to_string()),
                _ => Err(KubeError::Invalid(format!(
                    "the kubeconfig ({}) has no current context; name one of: {}",
                    files.join(", "),
                    names.join(", ")
                ))),
            },
        }
    }

    /// The client of `context` (resolved already), made on first use.
    pub async fn client(&self, context: &str) -> Result<Arc<ContextClient>, KubeError> {
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(context) {
            return Ok(c.clone());
        }
        let loaded = self.load()?;
        let mut config = match &loaded.source {
            Source::InCluster => kube::Config::incluster().map_err(|e| {
                KubeError::Failed(format!(
                    "cannot use the in-cluster service account: {}",
                    chain(&e)
                ))
            })?,
            Source::Kubeconfig { config, .. } => {
                let options = KubeConfigOptions {
                    context: Some(context.to_string()),
                    ..Default::default()
                };
                kube::Config::from_custom_kubeconfig((**config).clone(), &options)
                    .await
                    .map_err(|e| {
                        KubeError::Invalid(loaded.secrets.redact(&format!(
                            "context \"{context}\" of the kubeconfig cannot be used: {}",
                            chain(&e)
                        )))
                    })?
            }
        };
        // Our own bounded retries and deadline (see `request`); kube's retry layer is off.
        config.default_retry = false;
        config.connect_timeout = Some(self.timeouts.connect);
        config.read_timeout = Some(self.timeouts.request);
        config.write_timeout = Some(self.timeouts.request);
        let server = loaded.secrets.redact(&config.cluster_url.to_string());
        let server = server.trim_end_matches('/').to_string();
        let default_namespace = config.default_namespace.clone();
        let client = kube::Client::try_from(config).map_err(|e| {
            KubeError::Failed(loaded.secrets.redact(&format!(
                "cannot make a client for context \"{context}\": {}",
                chain(&e)
            )))
        })?;
        let c = Arc::new(ContextClient {
            context: context.to_string(),
            server,
            default_namespace,
            client,
            timeouts: self.timeouts,
            secrets: loaded.secrets.clone(),
            discovery: Mutex::new(HashMap::new()),
        });
        clients.insert(context.to_string(), c.clone());
        Ok(c)
    }
}

/// An error and its sources, joined with `: `.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_found_in_block_flow_and_json_kubeconfigs_and_redacted() {
        let mut s = Secrets::default();
        s.scan("users:\n- name: a\n  user:\n    token: block-token-1\n    client-key-data: S0VZREFUQQ==\n");
        s.scan(
            "users: [{name: b, user: {token: flow-token-2, username: admin, password: hunter22}}]",
        );
        s.scan(r#"{"users":[{"name":"c","user":{"token":"json-token-3"}}]}"#);
        let text = "block-token-1 S0VZREFUQQ== flow-token-2 hunter22 json-token-3 admin";
        assert_eq!(
            s.redact(text),
            "[redacted] [redacted] [redacted] [redacted] [redacted] admin"
        );
    }
}
