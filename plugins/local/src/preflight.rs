//! Preflight: whether OBI can run here, decided from the host's system facts and the config.
//! Pure, so every branch is unit tested (the tests of the real binary run as root).
//!
//! Capability rules follow OBI's own check (`pkg/obisystem`): kernel < 5.8 needs only
//! `CAP_SYS_ADMIN`; otherwise always `CAP_BPF` (+ `CAP_SYS_RESOURCE` before 5.11); application
//! observability adds `CAP_CHECKPOINT_RESTORE`, `CAP_DAC_READ_SEARCH`, `CAP_SYS_PTRACE`,
//! `CAP_PERFMON`, `CAP_NET_RAW` (+ `CAP_NET_ADMIN` with context propagation); network
//! observability `CAP_NET_RAW` (socket filter) or `CAP_PERFMON` + `CAP_NET_ADMIN` (tc).

use obi_toolset_sdk::process::SystemFacts;
use obi_toolset_sdk::schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// One preflight finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Check {
    /// `error` (OBI cannot run; deploy refuses), `warning` or `info`.
    pub severity: String,
    /// What was checked: `kernel`, `btf`, `privileges`, `perf_event_paranoid`, `arch`.
    pub check: String,
    /// What was found and what to do.
    pub message: String,
}

/// The outcome of a preflight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Preflight {
    /// False when a check is an error: deploying would fail.
    pub ok: bool,
    /// The findings.
    pub checks: Vec<Check>,
    /// The exact command that gives the binary the capabilities it lacks, when that is the fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setcap_command: Option<String>,
    /// Capabilities OBI needs with this config on this kernel.
    pub required_capabilities: Vec<String>,
}

/// `(major, minor)` of a kernel release such as `6.8.0-45-generic` or `4.18.0-553.el8`.
pub fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

fn rhel_family(f: &SystemFacts) -> bool {
    let ids = format!(
        "{} {}",
        f.os_id.as_deref().unwrap_or(""),
        f.os_id_like.as_deref().unwrap_or("")
    )
    .to_ascii_lowercase();
    ["rhel", "centos", "rocky", "almalinux", "ol", "fedora"]
        .iter()
        .any(|id| ids.split_whitespace().any(|w| w == *id))
}

fn features(doc: &Value) -> Vec<String> {
    doc.pointer("/metrics/features")
        .or_else(|| doc.pointer("/otel_metrics_export/features"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the config turns on network observability.
pub fn network_enabled(doc: &Value) -> bool {
    doc.pointer("/network/enable").and_then(Value::as_bool) == Some(true)
        || features(doc).iter().any(|f| f.starts_with("network"))
}

/// Whether the config turns on application observability.
pub fn application_enabled(doc: &Value) -> bool {
    let has = |p: &str| doc.pointer(p).is_some_and(|v| !v.is_null());
    has("/open_port")
        || has("/executable_path")
        || has("/discovery/instrument")
        || has("/discovery/services")
        || !network_enabled(doc)
}

/// The capabilities OBI needs for `doc` on a kernel `(major, minor)`.
pub fn required_capabilities(doc: &Value, kernel: Option<(u32, u32)>) -> Vec<String> {
    let kernel = kernel.unwrap_or((6, 0));
    if kernel < (5, 8) {
        return vec!["cap_sys_admin".into()];
    }
    let mut caps: Vec<&str> = vec!["cap_bpf"];
    if kernel < (5, 11) {
        caps.push("cap_sys_resource");
    }
    let propagation = doc
        .pointer("/ebpf/context_propagation")
        .and_then(Value::as_str)
        .is_some_and(|v| !v.eq_ignore_ascii_case("disabled"));
    if application_enabled(doc) {
        caps.extend([
            "cap_checkpoint_restore",
            "cap_dac_read_search",
            "cap_sys_ptrace",
            "cap_perfmon",
            "cap_net_raw",
        ]);
        if propagation {
            caps.push("cap_net_admin");
        }
    }
    if network_enabled(doc) {
        let tc = doc.pointer("/network/source").and_then(Value::as_str) == Some("tc");
        if tc {
            caps.extend(["cap_perfmon", "cap_net_admin"]);
        } else {
            caps.push("cap_net_raw");
        }
    }
    caps.sort_unstable();
    caps.dedup();
    caps.into_iter().map(str::to_string).collect()
}

/// Decides whether OBI can run from `binary` with `doc` on the host described by `facts`.
pub fn check(facts: &SystemFacts, binary: &str, doc: &Value, use_sudo: bool) -> Preflight {
    let mut checks = Vec::new();
    let mut push = |severity: &str, check: &str, message: String| {
        checks.push(Check {
            severity: severity.into(),
            check: check.into(),
            message,
        })
    };
    let kernel = kernel_version(&facts.kernel_release);
    match kernel {
        Some(v) if v >= (5, 8) => {}
        Some(v) if v >= (4, 18) && rhel_family(facts) => push(
            "warning",
            "kernel",
            format!(
                "kernel {} is older than 5.8; OBI accepts it on RHEL-family systems with eBPF backports",
                facts.kernel_release
            ),
        ),
        Some(_) => push(
            "error",
            "kernel",
            format!(
                "kernel {} is too old: OBI needs Linux 5.8 or later (RHEL-family 4.18 with backports)",
                facts.kernel_release
            ),
        ),
        None => push(
            "warning",
            "kernel",
            format!(
                "cannot tell the kernel version from {:?}",
                facts.kernel_release
            ),
        ),
    }
    if !facts.btf {
        push(
            "warning",
            "btf",
            "/sys/kernel/btf/vmlinux is missing: OBI may fail with \"no BTF found for kernel version\"; use a kernel built with CONFIG_DEBUG_INFO_BTF=y".into(),
        );
    }
    if !matches!(facts.arch.as_str(), "x86_64" | "aarch64" | "") {
        push(
            "error",
            "arch",
            format!("OBI ships for amd64 and arm64 only, not {}", facts.arch),
        );
    }
    let required = required_capabilities(doc, kernel);
    let mut setcap_command = None;
    if facts.euid == 0 {
        push("info", "privileges", "running as root".into());
    } else if use_sudo {
        push(
            "info",
            "privileges",
            "not root: OBI will be started through `sudo -n` (toolsets.local.use_sudo)".into(),
        );
    } else {
        let missing: Vec<&String> = required
            .iter()
            .filter(|c| !facts.binary_capabilities.contains(c))
            .collect();
        if missing.is_empty() && facts.binary_capabilities_effective {
            push(
                "info",
                "privileges",
                format!(
                    "not root, but {binary} has the capabilities it needs ({})",
                    required.join(",")
                ),
            );
        } else {
            let command = format!("sudo setcap {}+ep {binary}", required.join(","));
            let what = if missing.is_empty() {
                "its file capabilities lack the effective flag".to_string()
            } else {
                format!(
                    "{binary} lacks {}",
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            push(
                "error",
                "privileges",
                format!(
                    "OBI needs root or capabilities, and the server runs as uid {} while {what}. \
                     Give the binary its capabilities with `{command}`, or set \
                     `toolsets.local.use_sudo: true` in the obi-mcp config to start OBI through \
                     `sudo -n` (needs a passwordless sudo rule). obi-mcp never elevates on its own.",
                    facts.euid
                ),
            );
            setcap_command = Some(command);
        }
        if facts.perf_event_paranoid.is_some_and(|p| p >= 3) {
            push(
                "warning",
                "perf_event_paranoid",
                "/proc/sys/kernel/perf_event_paranoid is 3 or more: older OBI releases then also need CAP_SYS_ADMIN; lower it with `sudo sysctl kernel.perf_event_paranoid=2`".into(),
            );
        }
    }
    let ok = !checks.iter().any(|c| c.severity == "error");
    Preflight {
        ok,
        checks,
        setcap_command,
        required_capabilities: required,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(euid: u32, kernel: &str) -> SystemFacts {
        SystemFacts {
            kernel_release: kernel.into(),
            btf: true,
            euid,
            arch: "x86_64".into(),
            ..Default::default()
        }
    }

    fn app() -> Value {
        json!({"discovery": {"instrument": [{"open_ports": 8080}]}})
    }

    #[test]
    fn root_passes() {
        let p = check(
            &facts(0, "6.8.0-45-generic"),
            "/usr/local/bin/obi",
            &app(),
            false,
        );
        assert!(p.ok, "{p:?}");
        assert_eq!(p.setcap_command, None);
    }

    #[test]
    fn non_root_without_caps_is_refused_with_the_exact_setcap_command() {
        let p = check(&facts(1000, "6.8.0"), "/usr/local/bin/obi", &app(), false);
        assert!(!p.ok);
        assert_eq!(
            p.setcap_command.as_deref(),
            Some(
                "sudo setcap cap_bpf,cap_checkpoint_restore,cap_dac_read_search,cap_net_raw,cap_perfmon,cap_sys_ptrace+ep /usr/local/bin/obi"
            )
        );
        let msg = &p
            .checks
            .iter()
            .find(|c| c.check == "privileges")
            .unwrap()
            .message;
        assert!(msg.contains("use_sudo: true"), "{msg}");
        assert!(msg.contains("uid 1000"), "{msg}");
    }

    #[test]
    fn non_root_with_the_caps_or_with_sudo_passes() {
        let mut f = facts(1000, "6.8.0");
        f.binary_capabilities = required_capabilities(&app(), Some((6, 8)));
        f.binary_capabilities_effective = true;
        assert!(check(&f, "/opt/obi", &app(), false).ok);
        f.binary_capabilities_effective = false;
        assert!(!check(&f, "/opt/obi", &app(), false).ok);
        assert!(check(&facts(1000, "6.8.0"), "/opt/obi", &app(), true).ok);
    }

    #[test]
    fn kernel_rules_and_rhel_exception() {
        assert!(!check(&facts(0, "5.4.0-100-generic"), "obi", &app(), false).ok);
        let mut rhel = facts(0, "4.18.0-553.el8_10.x86_64");
        rhel.os_id = Some("rocky".into());
        rhel.os_id_like = Some("rhel centos fedora".into());
        let p = check(&rhel, "obi", &app(), false);
        assert!(p.ok, "{p:?}");
        assert_eq!(p.checks[0].severity, "warning");
        assert_eq!(kernel_version("6.18.44-fc-v669"), Some((6, 18)));
        assert_eq!(
            required_capabilities(&app(), Some((4, 18))),
            vec!["cap_sys_admin"]
        );
        assert!(required_capabilities(&app(), Some((5, 10))).contains(&"cap_sys_resource".into()));
    }

    #[test]
    fn network_and_context_propagation_change_the_set() {
        let net = json!({"network": {"enable": true, "source": "tc"}});
        let caps = required_capabilities(&net, Some((6, 1)));
        assert_eq!(caps, vec!["cap_bpf", "cap_net_admin", "cap_perfmon"]);
        let prop = json!({"open_port": 80, "ebpf": {"context_propagation": "all"}});
        assert!(required_capabilities(&prop, Some((6, 1))).contains(&"cap_net_admin".into()));
    }

    #[test]
    fn missing_btf_and_paranoid_perf_are_warnings() {
        let mut f = facts(1000, "6.8.0");
        f.btf = false;
        f.perf_event_paranoid = Some(3);
        let p = check(&f, "obi", &app(), true);
        assert!(p.ok);
        assert!(
            p.checks
                .iter()
                .any(|c| c.check == "btf" && c.severity == "warning")
        );
        let p = check(&f, "obi", &app(), false);
        assert!(p.checks.iter().any(|c| c.check == "perf_event_paranoid"));
    }
}
