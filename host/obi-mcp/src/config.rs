//! The server configuration file: where it is found, its shape, and its checks.
//!
//! One YAML file: `--config`, else `OBI_MCP_CONFIG`, else `$XDG_CONFIG_HOME/obi-mcp/config.yaml`
//! (if it exists), else built-in defaults. Unknown keys are errors that name the key, where it is,
//! and the closest valid key. Settings of the earlier TypeScript obi-mcp (`ENABLE_K8S_TOOLSET`,
//! `ENABLE_DOCKER_TOOLSET`, `LOG_LEVEL`, `LOG_FILE`) are honoured with a deprecation warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Default linear-memory limit per toolset instance.
pub const DEFAULT_MEMORY_MIB: u64 = 64;
/// Default wall-clock deadline per call.
pub const DEFAULT_TIMEOUT_SECS: u64 = 120;
/// Default deadline of a Kubernetes toolset call (`toolsets.kubernetes.limits.timeout_secs`):
/// long enough to follow a rollout to its own deadline.
pub const KUBERNETES_TIMEOUT_SECS: u64 = 1800;
/// Default maximum size of one call's output.
pub const DEFAULT_MAX_OUTPUT_BYTES: u64 = 1024 * 1024;

/// Default `toolsets.kubernetes.request_timeout_secs`.
pub const DEFAULT_KUBE_REQUEST_TIMEOUT_SECS: u64 = 10;
/// Default `toolsets.kubernetes.connect_timeout_secs`.
pub const DEFAULT_KUBE_CONNECT_TIMEOUT_SECS: u64 = 5;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Server settings: directories, logging, limits, switches.
    pub server: ServerSettings,
    /// Toolsets: the first-party ones and extra third-party components.
    pub toolsets: Toolsets,
    /// The OBI configuration shared by all toolsets (OBI's own config schema, passed through).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub obi: Option<serde_json::Value>,
}

/// Server-wide settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Directory for compiled components (`.cwasm`); default `$XDG_CACHE_HOME/obi-mcp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_dir: Option<PathBuf>,
    /// Directory for toolset state; default `$XDG_STATE_HOME/obi-mcp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<PathBuf>,
    /// Log filter for stderr/the log file (`error`, `warn`, `info`, `debug`, `trace`, or a
    /// tracing directive such as `obi_mcp=debug`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    /// Also write logs to this file (appended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_file: Option<PathBuf>,
    /// Deny every mutating operation and hide tools that are not read-only.
    pub read_only: bool,
    /// Default limits for every toolset (each toolset can override them).
    pub limits: LimitsConfig,
}

/// Resource limits; every field optional so a toolset can override just one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Linear memory per instance, MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    /// Wall-clock deadline per call, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// Maximum size of one call's output, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_bytes: Option<u64>,
}

/// Resolved limits for one toolset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory per instance, bytes.
    pub memory_bytes: u64,
    /// Wall-clock deadline per call.
    pub timeout: std::time::Duration,
    /// Maximum size of one call's output, bytes.
    pub max_output_bytes: u64,
}

impl Limits {
    /// Resolves limits: the toolset's own, else the server defaults, else the built-in defaults.
    pub fn resolve(server: &LimitsConfig, own: &LimitsConfig) -> Limits {
        let pick = |a: Option<u64>, b: Option<u64>, d: u64| a.or(b).unwrap_or(d);
        Limits {
            memory_bytes: pick(own.memory_mib, server.memory_mib, DEFAULT_MEMORY_MIB) * 1024 * 1024,
            timeout: std::time::Duration::from_secs(pick(
                own.timeout_secs,
                server.timeout_secs,
                DEFAULT_TIMEOUT_SECS,
            )),
            max_output_bytes: pick(
                own.max_output_bytes,
                server.max_output_bytes,
                DEFAULT_MAX_OUTPUT_BYTES,
            ),
        }
    }
}

/// The toolsets section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Toolsets {
    /// The local toolset: OBI as a process on this host.
    pub local: LocalToolset,
    /// The Kubernetes toolset.
    pub kubernetes: KubernetesToolset,
    /// The Docker toolset.
    pub docker: DockerToolset,
    /// Third-party toolsets, loaded in this order.
    pub extra: Vec<ExtraToolset>,
}

/// `toolsets.local`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalToolset {
    /// Load the toolset (default true).
    pub enabled: bool,
    /// The OBI binary to run; default `obi` or `ebpf-instrument` on PATH.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary_path: Option<PathBuf>,
    /// Run OBI through `sudo -n` when not root (opt-in, never silent).
    pub use_sudo: bool,
    /// Offer the earlier obi-mcp's tool names (`obi_get_status`, ...) as aliases.
    pub legacy_tools: bool,
    /// Grants added to (or, with `false`, removed from) the built-in defaults.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub grants: BTreeMap<String, serde_json::Value>,
    /// Limits for this toolset.
    pub limits: LimitsConfig,
}

impl Default for LocalToolset {
    fn default() -> Self {
        LocalToolset {
            enabled: true,
            binary_path: None,
            use_sudo: false,
            legacy_tools: true,
            grants: BTreeMap::new(),
            limits: LimitsConfig::default(),
        }
    }
}

/// `toolsets.kubernetes`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesToolset {
    /// Load the toolset (default true).
    pub enabled: bool,
    /// Kubeconfig file; default `KUBECONFIG` (a colon-separated list, merged like kubectl),
    /// else `~/.kube/config`, else the in-cluster service account when running in a pod.
    /// Read on the first Kubernetes host call, never at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    /// Longest a cluster may take to answer one request, retries included (seconds, 1 to 600).
    pub request_timeout_secs: u64,
    /// Longest a TCP/TLS connection to a cluster may take to open (seconds, 1 to 600).
    pub connect_timeout_secs: u64,
    /// Namespace used when a call names none.
    pub default_namespace: String,
    /// OBI image used when a call names none (a pinned release, never `latest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_image: Option<String>,
    /// Grants added to (or, with `false`, removed from) the built-in defaults.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub grants: BTreeMap<String, serde_json::Value>,
    /// Limits for this toolset.
    pub limits: LimitsConfig,
}

impl Default for KubernetesToolset {
    fn default() -> Self {
        KubernetesToolset {
            enabled: true,
            kubeconfig: None,
            request_timeout_secs: DEFAULT_KUBE_REQUEST_TIMEOUT_SECS,
            connect_timeout_secs: DEFAULT_KUBE_CONNECT_TIMEOUT_SECS,
            default_namespace: "obi-system".into(),
            default_image: None,
            grants: BTreeMap::new(),
            limits: LimitsConfig::default(),
        }
    }
}

/// `toolsets.docker`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DockerToolset {
    /// Load the toolset (default false).
    pub enabled: bool,
    /// Grants added to (or, with `false`, removed from) the built-in defaults.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub grants: BTreeMap<String, serde_json::Value>,
    /// Limits for this toolset.
    pub limits: LimitsConfig,
}

/// One entry of `toolsets.extra`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraToolset {
    /// Path of the `.wasm` component (relative paths are relative to the config file).
    pub path: PathBuf,
    /// Expected sha256 of the file (hex); a mismatch refuses the load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Load it (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Capabilities granted to it; nothing is granted by default.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grants: BTreeMap<String, serde_json::Value>,
    /// Limits for it.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Settings handed to the toolset through the `config` interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<serde_json::Value>,
}

fn yes() -> bool {
    true
}

/// Where the configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file.
    File(PathBuf),
    /// No file: built-in defaults.
    Defaults,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Defaults => f.write_str("built-in defaults"),
        }
    }
}

/// A loaded configuration with its origin and the warnings found while loading it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// Where it came from.
    pub source: Source,
    /// Deprecation and other warnings to log once logging is up.
    pub warnings: Vec<String>,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A key is not part of the configuration.
    #[error("{path}: unknown key `{key}` at `{location}`{suggestion}{position}")]
    UnknownKey {
        /// The file.
        path: String,
        /// The key as written.
        key: String,
        /// Dotted path of the section holding it.
        location: String,
        /// `; did you mean ...?` or empty.
        suggestion: String,
        /// ` (line L, column C)` or empty.
        position: String,
    },
    /// The file is not valid YAML or a value has the wrong type.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong and where.
        message: String,
    },
}

/// The environment the loader reads (a map, so tests need not touch the process environment).
pub type Env = BTreeMap<String, String>;

/// Reads the process environment into an [`Env`].
pub fn process_env() -> Env {
    std::env::vars().collect()
}

/// The XDG base directory `var` (e.g. `XDG_CONFIG_HOME`), else `$HOME/<fallback>`.
pub fn xdg_dir(env: &Env, var: &str, fallback: &str) -> PathBuf {
    match env.get(var).filter(|v| !v.is_empty()) {
        Some(v) => PathBuf::from(v),
        None => PathBuf::from(env.get("HOME").map(String::as_str).unwrap_or("/tmp")).join(fallback),
    }
}

/// Finds and loads the configuration: `explicit`, else `OBI_MCP_CONFIG`, else the XDG path,
/// else defaults; then applies the earlier obi-mcp's environment settings.
pub fn load(explicit: Option<&Path>, env: &Env) -> Result<Loaded, ConfigError> {
    let chosen = explicit.map(Path::to_path_buf).or_else(|| {
        env.get("OBI_MCP_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let (mut config, source) = match chosen {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let mut config = parse(&text, &path.display().to_string())?;
            config.make_paths_absolute(path.parent().unwrap_or(Path::new(".")));
            (config, Source::File(path))
        }
        None => {
            let path = xdg_dir(env, "XDG_CONFIG_HOME", ".config").join("obi-mcp/config.yaml");
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let mut config = parse(&text, &path.display().to_string())?;
                    config.make_paths_absolute(path.parent().unwrap_or(Path::new(".")));
                    (config, Source::File(path))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    (Config::default(), Source::Defaults)
                }
                Err(source) => return Err(ConfigError::Read { path, source }),
            }
        }
    };
    let warnings = config.apply_legacy_env(env);
    Ok(Loaded {
        config,
        source,
        warnings,
    })
}

/// Parses configuration text. `origin` names the file in error messages.
pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    let de = serde_norway::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, Config>(de) {
        Ok(config) => {
            config.check(origin)?;
            Ok(config)
        }
        Err(err) => {
            let location = display_path(err.path());
            let message = err.inner().to_string();
            if let Some((key, expected)) = unknown_field(&message) {
                let suggestion = closest(&key, &expected)
                    .map(|s| format!("; did you mean `{}`?", join_path(&location, s)))
                    .unwrap_or_else(|| {
                        if expected.is_empty() {
                            String::new()
                        } else {
                            format!("; valid keys here: {}", expected.join(", "))
                        }
                    });
                let position = position_of(&message);
                // serde_path_to_error's path already ends with the unknown key.
                let parent = location
                    .rsplit_once('.')
                    .map(|(p, _)| p.to_string())
                    .unwrap_or_else(|| {
                        if location == key {
                            "(top level)".into()
                        } else {
                            location.clone()
                        }
                    });
                let parent = if parent.is_empty() {
                    "(top level)".into()
                } else {
                    parent
                };
                return Err(ConfigError::UnknownKey {
                    path: origin.to_string(),
                    key,
                    location: parent,
                    suggestion,
                    position,
                });
            }
            let message = if location.is_empty() || location == "." {
                message
            } else {
                format!("at `{location}`: {message}")
            };
            Err(ConfigError::Invalid {
                path: origin.to_string(),
                message,
            })
        }
    }
}

fn join_path(location: &str, key: &str) -> String {
    match location.rsplit_once('.') {
        Some((parent, _)) => format!("{parent}.{key}"),
        None => key.to_string(),
    }
}

fn display_path(path: &serde_path_to_error::Path) -> String {
    let s = path.to_string();
    if s == "." { String::new() } else { s }
}

/// Pulls the key and the expected keys out of serde's "unknown field" message.
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    // serde_norway may prefix the message with the path ("toolsets.local: unknown field ...").
    let start = message.find("unknown field `")?;
    let rest = &message[start + "unknown field `".len()..];
    let (key, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect();
    Some((key.to_string(), expected))
}

fn position_of(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => format!(" ({})", message[i + 1..].trim()),
        None => String::new(),
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: &'a [String]) -> Option<&'a str> {
    let word_l = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&word_l, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j + 1] + 1).min(cur[j] + 1).min(prev[j] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

impl Config {
    /// Semantic checks serde cannot express.
    fn check(&self, origin: &str) -> Result<(), ConfigError> {
        let bad = |message: String| ConfigError::Invalid {
            path: origin.to_string(),
            message,
        };
        let limits = std::iter::once(("server.limits".to_string(), &self.server.limits))
            .chain([
                ("toolsets.local".to_string(), &self.toolsets.local.limits),
                (
                    "toolsets.kubernetes".to_string(),
                    &self.toolsets.kubernetes.limits,
                ),
                ("toolsets.docker".to_string(), &self.toolsets.docker.limits),
            ])
            .chain(
                self.toolsets
                    .extra
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (format!("toolsets.extra[{i}].limits"), &e.limits)),
            );
        for (at, l) in limits {
            if let Some(m) = l.memory_mib
                && !(1..=4096).contains(&m)
            {
                return Err(bad(format!(
                    "at `{at}.memory_mib`: {m} is out of range (1 to 4096 MiB)"
                )));
            }
            if let Some(t) = l.timeout_secs
                && !(1..=86_400).contains(&t)
            {
                return Err(bad(format!(
                    "at `{at}.timeout_secs`: {t} is out of range (1 to 86400 seconds)"
                )));
            }
            if let Some(o) = l.max_output_bytes
                && !(1024..=256 * 1024 * 1024).contains(&o)
            {
                return Err(bad(format!(
                    "at `{at}.max_output_bytes`: {o} is out of range (1 KiB to 256 MiB)"
                )));
            }
        }
        let kube = &self.toolsets.kubernetes;
        for (key, value) in [
            ("request_timeout_secs", kube.request_timeout_secs),
            ("connect_timeout_secs", kube.connect_timeout_secs),
        ] {
            if !(1..=600).contains(&value) {
                return Err(bad(format!(
                    "at `toolsets.kubernetes.{key}`: {value} is out of range (1 to 600 seconds)"
                )));
            }
        }
        for (i, extra) in self.toolsets.extra.iter().enumerate() {
            if let Some(sha) = &extra.sha256
                && (sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(bad(format!(
                    "at `toolsets.extra[{i}].sha256`: expected 64 hex digits, got {sha:?}"
                )));
            }
        }
        let all_grants = [
            (
                "toolsets.local.grants".to_string(),
                &self.toolsets.local.grants,
            ),
            (
                "toolsets.kubernetes.grants".to_string(),
                &self.toolsets.kubernetes.grants,
            ),
            (
                "toolsets.docker.grants".to_string(),
                &self.toolsets.docker.grants,
            ),
        ]
        .into_iter()
        .chain(
            self.toolsets
                .extra
                .iter()
                .enumerate()
                .map(|(i, e)| (format!("toolsets.extra[{i}].grants"), &e.grants)),
        );
        for (at, grants) in all_grants {
            for (name, value) in grants {
                crate::capability::parse_grant(name, value)
                    .map_err(|e| bad(format!("at `{at}.{name}`: {e}")))?;
            }
        }
        if let Some(obi) = &self.obi
            && !obi.is_object()
        {
            return Err(bad(
                "at `obi`: expected a mapping (OBI's own configuration keys)".into(),
            ));
        }
        Ok(())
    }

    fn make_paths_absolute(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        for extra in &mut self.toolsets.extra {
            fix(&mut extra.path);
        }
        if let Some(p) = &mut self.server.cache_dir {
            fix(p);
        }
        if let Some(p) = &mut self.server.state_dir {
            fix(p);
        }
        if let Some(p) = &mut self.toolsets.kubernetes.kubeconfig {
            fix(p);
        }
        // A bare name (`obi`) is looked up on PATH; a relative path is relative to the file.
        if let Some(p) = &mut self.toolsets.local.binary_path
            && p.components().count() > 1
        {
            fix(p);
        }
    }

    /// Applies the earlier obi-mcp's environment variables; returns deprecation warnings.
    pub fn apply_legacy_env(&mut self, env: &Env) -> Vec<String> {
        let mut warnings = Vec::new();
        let truthy = |v: &str| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        };
        if let Some(v) = env.get("ENABLE_K8S_TOOLSET") {
            self.toolsets.kubernetes.enabled = truthy(v);
            warnings.push(format!(
                "ENABLE_K8S_TOOLSET={v} is deprecated; set `toolsets.kubernetes.enabled: {}` in the config file",
                truthy(v)
            ));
        }
        if let Some(v) = env.get("ENABLE_DOCKER_TOOLSET") {
            self.toolsets.docker.enabled = truthy(v);
            warnings.push(format!(
                "ENABLE_DOCKER_TOOLSET={v} is deprecated; set `toolsets.docker.enabled: {}` in the config file",
                truthy(v)
            ));
        }
        if let Some(v) = env.get("LOG_LEVEL") {
            if self.server.log_level.is_none() {
                self.server.log_level = Some(v.to_ascii_lowercase());
            }
            warnings.push(format!(
                "LOG_LEVEL={v} is deprecated; use --log-level or `server.log_level`"
            ));
        }
        if let Some(v) = env.get("LOG_FILE") {
            if self.server.log_file.is_none() {
                self.server.log_file = Some(PathBuf::from(v));
            }
            warnings.push(format!(
                "LOG_FILE={v} is deprecated; use --log-file or `server.log_file`"
            ));
        }
        warnings
    }

    /// The compiled-component cache directory.
    pub fn cache_dir(&self, env: &Env) -> PathBuf {
        self.server
            .cache_dir
            .clone()
            .unwrap_or_else(|| xdg_dir(env, "XDG_CACHE_HOME", ".cache").join("obi-mcp"))
    }

    /// The toolset state directory.
    pub fn state_dir(&self, env: &Env) -> PathBuf {
        self.server
            .state_dir
            .clone()
            .unwrap_or_else(|| xdg_dir(env, "XDG_STATE_HOME", ".local/state").join("obi-mcp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = parse("", "t.yaml").unwrap();
        assert!(c.toolsets.local.enabled);
        assert!(!c.toolsets.docker.enabled);
    }

    #[test]
    fn unknown_top_level_key_names_closest() {
        let err = parse("toolset:\n  local: {}\n", "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown key `toolset`"), "{err}");
        assert!(err.contains("did you mean `toolsets`?"), "{err}");
        assert!(err.contains("(top level)"), "{err}");
    }

    #[test]
    fn unknown_nested_key_names_location_and_closest() {
        let err = parse("toolsets:\n  local:\n    binary_pth: /x\n", "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown key `binary_pth`"), "{err}");
        assert!(err.contains("at `toolsets.local`"), "{err}");
        assert!(
            err.contains("did you mean `toolsets.local.binary_path`?"),
            "{err}"
        );
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn unknown_key_in_extra_list_entry() {
        let err = parse(
            "toolsets:\n  extra:\n    - path: a.wasm\n      sha265: abc\n",
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown key `sha265`"), "{err}");
        assert!(err.contains("did you mean"), "{err}");
        assert!(err.contains("sha256"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_path() {
        let err = parse("server:\n  read_only: maybe\n", "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.read_only"), "{err}");
    }

    #[test]
    fn out_of_range_limits_are_refused() {
        let err = parse("server:\n  limits:\n    memory_mib: 0\n", "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("memory_mib"), "{err}");
    }

    #[test]
    fn bad_sha256_is_refused() {
        let err = parse(
            "toolsets:\n  extra:\n    - path: a.wasm\n      sha256: xyz\n",
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("64 hex digits"), "{err}");
    }

    #[test]
    fn unknown_capability_grant_is_refused() {
        let err = parse(
            "toolsets:\n  extra:\n    - path: a.wasm\n      grants:\n        stat: true\n",
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown capability `stat`"), "{err}");
        assert!(err.contains("did you mean `state`"), "{err}");
    }

    #[test]
    fn legacy_env_is_honoured_with_warnings() {
        let mut c = Config::default();
        let env: Env = [
            ("ENABLE_DOCKER_TOOLSET".to_string(), "true".to_string()),
            ("ENABLE_K8S_TOOLSET".to_string(), "false".to_string()),
            ("LOG_LEVEL".to_string(), "DEBUG".to_string()),
        ]
        .into();
        let w = c.apply_legacy_env(&env);
        assert!(c.toolsets.docker.enabled);
        assert!(!c.toolsets.kubernetes.enabled);
        assert_eq!(c.server.log_level.as_deref(), Some("debug"));
        assert_eq!(w.len(), 3);
        assert!(w.iter().all(|w| w.contains("deprecated")));
    }

    #[test]
    fn limits_resolve_own_then_server_then_default() {
        let server = LimitsConfig {
            memory_mib: Some(32),
            ..Default::default()
        };
        let own = LimitsConfig {
            timeout_secs: Some(5),
            ..Default::default()
        };
        let l = Limits::resolve(&server, &own);
        assert_eq!(l.memory_bytes, 32 * 1024 * 1024);
        assert_eq!(l.timeout, std::time::Duration::from_secs(5));
        assert_eq!(l.max_output_bytes, DEFAULT_MAX_OUTPUT_BYTES);
    }

    #[test]
    fn relative_binary_path_is_relative_to_the_config_file_and_a_bare_name_stays() {
        let mut c = parse("toolsets:\n  local:\n    binary_path: bin/obi\n", "t.yaml").unwrap();
        c.make_paths_absolute(Path::new("/etc/obi-mcp"));
        assert_eq!(
            c.toolsets.local.binary_path.as_deref(),
            Some(Path::new("/etc/obi-mcp/bin/obi"))
        );
        let mut c = parse("toolsets:\n  local:\n    binary_path: obi\n", "t.yaml").unwrap();
        c.make_paths_absolute(Path::new("/etc/obi-mcp"));
        assert_eq!(
            c.toolsets.local.binary_path.as_deref(),
            Some(Path::new("obi"))
        );
    }

    #[test]
    fn kubernetes_timeouts_default_and_are_checked() {
        let c = parse("", "t.yaml").unwrap();
        assert_eq!(c.toolsets.kubernetes.request_timeout_secs, 10);
        assert_eq!(c.toolsets.kubernetes.connect_timeout_secs, 5);
        let err = parse(
            "toolsets:\n  kubernetes:\n    request_timeout_secs: 0\n",
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("toolsets.kubernetes.request_timeout_secs") && err.contains("1 to 600"),
            "{err}"
        );
        let err = parse(
            "toolsets:\n  kubernetes:\n    request_timeout: 3\n",
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("did you mean `toolsets.kubernetes.request_timeout_secs`?"),
            "{err}"
        );
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
