//! obi-mcp's first-party `local` toolset: run and manage OBI as a process on this host.
//!
//! Tools: `obi_local_deploy`, `obi_local_status`, `obi_local_get_config`,
//! `obi_local_update_config`, `obi_local_logs`, `obi_local_stop`, and the pure
//! `obi_config_validate`, which checks an OBI configuration the way OBI would at startup and adds
//! the advice OBI never gives. The earlier TypeScript obi-mcp's names (`obi_get_status`,
//! `obi_deploy_local`, `obi_get_config`, `obi_update_config`, `obi_get_logs`, `obi_stop`) are
//! aliases with their old argument names, hidden with `toolsets.local.legacy_tools: false`.
//! Resources `obi://local/{config,status,logs}` (and the old `obi://config/current`,
//! `obi://status/health`, `obi://logs/recent`); prompts `setup-obi-local`,
//! `troubleshoot-obi-local`.
//!
//! Decisions where the issue is silent: one deployment per host (`default`); deploy refuses
//! while OBI runs (stop it, or update the config with `restart`); deploy waits 1.5 s and calls
//! OBI up when it is still running then; the log level filter means "this level or above";
//! `update_config` is a compare-and-swap on the file's sha256, retried, so concurrent updates
//! never lose one another; a `config` given with an existing `configPath` is applied as the
//! merge patch that turns the file into it, so the file keeps its comments.

mod ops;
mod preflight;
mod prompts;

use std::collections::BTreeMap;

use obi_config::{Finding, Target, ValidateOptions};
use obi_toolset_sdk::prelude::*;
use serde_json::{Map, Value};

/// The toolset.
struct Local;

impl Toolset for Local {
    fn info() -> Info {
        Info::new(
            "local",
            env!("CARGO_PKG_VERSION"),
            "Runs and manages OBI (OpenTelemetry eBPF Instrumentation) as a local process, on \
             OBI's real configuration model. Validates OBI configurations for any target.",
        )
        .capability(
            "state",
            "remembers the deployment (pid, start time, config path)",
        )
        .capability(
            "process",
            "starts, watches and stops the OBI binary, reads its logs and config files",
        )
    }

    fn tools() -> Vec<Tool> {
        let mut tools = vec![
            Tool::raw(
                "obi_local_deploy",
                "Deploy OBI on this host: validate the configuration (`config` object and/or \
                 `configPath` file), write it (a user's file keeps its comments and gets a .bak), \
                 run the preflight (kernel, BTF, root or capabilities), start OBI with \
                 --config=<path> and OTEL_EBPF_CONFIG_PATH, detached so it survives a restart of \
                 obi-mcp, and report whether it came up — on failure with OBI's exit code and its \
                 own error lines. `dryRun` reports the plan without writing or starting anything.",
                ops::deploy,
            )
            .title("Deploy OBI locally")
            .destructive(),
            Tool::new(
                "obi_local_status",
                "State of the local OBI: running or not, pid, uptime, CPU %, memory, config path, \
                 exit status when it ended, and its last error lines. `verbose` adds the preflight \
                 (kernel, BTF, privileges, capabilities) and host facts.",
                ops::status,
            )
            .title("Local OBI status")
            .read_only()
            .idempotent(),
            Tool::new(
                "obi_local_get_config",
                "The configuration the local OBI runs with (file text with comments, parsed form, \
                 validation), or the file at `configPath`.",
                ops::get_config,
            )
            .title("Get the local OBI configuration")
            .read_only()
            .idempotent(),
            Tool::raw(
                "obi_local_update_config",
                "Change the local OBI configuration with a JSON merge patch (`null` deletes a key; \
                 keys not mentioned, including unknown ones, are kept; comments are kept). A result \
                 with errors is never written; the write is atomic and keeps a .bak. `restart` \
                 restarts OBI so it reads the file; `validateOnly` writes nothing.",
                |_ctx: &Context, args: ops::UpdateArgs| ops::update_config(args, false),
            )
            .title("Update the local OBI configuration")
            .destructive()
            .idempotent(),
            Tool::new(
                "obi_local_logs",
                "Lines from the end of the local OBI's log (stdout and stderr): `lines` (default \
                 100), `level` (this level or above: debug, info, warn, error), `since` (RFC 3339 \
                 or a duration such as 10m) and `grep`. Large logs are not read whole.",
                ops::logs,
            )
            .title("Local OBI logs")
            .read_only()
            .idempotent(),
            Tool::new(
                "obi_local_stop",
                "Stop the local OBI: SIGTERM, then SIGKILL when it has not exited after its \
                 shutdown_timeout + 5 s (or `timeout` seconds); `force` kills at once. Reports \
                 which happened. Only the recorded process (pid, start time and executable all \
                 matching) is ever signalled.",
                ops::stop,
            )
            .title("Stop the local OBI")
            .destructive()
            .idempotent(),
            Tool::new(
                "obi_config_validate",
                "Check an OBI configuration (as YAML text or as an object) before using it: \
                 OBI's own startup rules with OBI's error messages, value types, and problems \
                 OBI silently ignores (unknown or misplaced keys with the closest valid key, \
                 deprecated keys, OTLP port vs protocol, localhost endpoints inside a container \
                 or pod, environment variables overriding the file). Pass the environment OBI \
                 will get in `env`. Changes nothing.",
                validate_tool,
            )
            .title("Validate an OBI configuration")
            .read_only()
            .idempotent(),
        ];
        if ops::settings().legacy_tools != Some(false) {
            tools.extend(legacy_tools());
        }
        tools
    }

    fn resources() -> Vec<Resource> {
        let mut out = vec![
            Resource::new("obi://local/config", "local-config")
                .title("Local OBI configuration")
                .description("The config file the local OBI runs with (YAML, comments included)")
                .mime_type("application/yaml"),
            Resource::new("obi://local/status", "local-status")
                .title("Local OBI status")
                .description("State, pid, uptime, CPU, memory and last errors of the local OBI")
                .mime_type("application/json"),
            Resource::new("obi://local/logs", "local-logs")
                .title("Local OBI logs")
                .description("The last 100 lines of the local OBI's log")
                .mime_type("text/plain"),
        ];
        if ops::settings().legacy_tools != Some(false) {
            for (uri, name, like) in LEGACY_URIS {
                out.push(
                    Resource::new(*uri, *name)
                        .description(format!("Same as {like} (name of the earlier obi-mcp)")),
                );
            }
        }
        out
    }

    fn read_resource(ctx: &Context, uri: &str) -> Result<Vec<ResourceContents>, ToolError> {
        let canonical = LEGACY_URIS
            .iter()
            .find(|(old, _, _)| *old == uri)
            .map(|(_, _, new)| *new)
            .unwrap_or(uri);
        match canonical {
            "obi://local/config" => {
                let view = ops::get_config(ctx, ops::GetConfigArgs::default())?;
                Ok(vec![
                    ResourceContents::text(uri, view.yaml).mime_type("application/yaml"),
                ])
            }
            "obi://local/status" => {
                let st = ops::status(ctx, ops::StatusArgs::default())?;
                let text = serde_json::to_string_pretty(&st)
                    .map_err(|e| ToolError::failed(e.to_string()))?;
                Ok(vec![
                    ResourceContents::text(uri, text).mime_type("application/json"),
                ])
            }
            "obi://local/logs" => {
                let text = match ops::logs(ctx, ops::LogsArgs::default()) {
                    Ok(l) => l.lines.join("\n"),
                    Err(ToolError::NotFound(m)) => m,
                    Err(e) => return Err(e),
                };
                Ok(vec![
                    ResourceContents::text(uri, text).mime_type("text/plain"),
                ])
            }
            _ => Err(ToolError::not_found(format!("no resource {uri}"))),
        }
    }

    fn prompts() -> Vec<Prompt> {
        prompts::prompts()
    }

    fn get_prompt(
        _ctx: &Context,
        name: &str,
        args: &[(String, String)],
    ) -> Result<PromptResult, ToolError> {
        prompts::render(name, args)
    }
}

/// (old URI, name, the URI it stands for).
const LEGACY_URIS: &[(&str, &str, &str)] = &[
    (
        "obi://config/current",
        "config-current",
        "obi://local/config",
    ),
    ("obi://status/health", "status-health", "obi://local/status"),
    ("obi://logs/recent", "logs-recent", "obi://local/logs"),
];

/// Arguments of the legacy `obi_deploy_local`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct LegacyDeployArgs {
    /// OBI configuration as an object.
    config: Option<Map<String, Value>>,
    /// Config file path.
    config_path: Option<String>,
    /// OBI binary.
    binary_path: Option<String>,
}

/// Arguments of the legacy `obi_update_config`.
#[derive(Debug, Deserialize, JsonSchema)]
struct LegacyUpdateArgs {
    /// The configuration: merged into the current one (`merge: true`, default) or replacing it.
    config: Map<String, Value>,
    /// Merge into the current configuration (default true) or replace it.
    merge: Option<bool>,
    /// Restart OBI to apply.
    restart: Option<bool>,
}

/// Arguments of the legacy `obi_get_logs`.
#[derive(Debug, Deserialize, JsonSchema)]
struct LegacyLogsArgs {
    /// Number of lines.
    lines: Option<u32>,
    /// Level filter (debug, info, warn, error).
    level: Option<String>,
}

/// Arguments of the legacy `obi_stop`.
#[derive(Debug, Deserialize, JsonSchema)]
struct LegacyStopArgs {
    /// Kill at once.
    force: Option<bool>,
}

/// Arguments of the legacy `obi_get_status`.
#[derive(Debug, Deserialize, JsonSchema)]
struct LegacyStatusArgs {
    /// Add preflight and host facts.
    verbose: Option<bool>,
}

fn legacy_tools() -> Vec<Tool> {
    let alias = |new: &str| format!("Alias of {new} (tool name of the earlier obi-mcp).");
    vec![
        Tool::new(
            "obi_get_status",
            alias("obi_local_status"),
            |ctx: &Context, a: LegacyStatusArgs| {
                ops::status(
                    ctx,
                    ops::StatusArgs {
                        verbose: a.verbose.unwrap_or(false),
                    },
                )
            },
        )
        .read_only()
        .idempotent(),
        Tool::raw(
            "obi_deploy_local",
            alias("obi_local_deploy"),
            |ctx: &Context, a: LegacyDeployArgs| {
                ops::deploy(
                    ctx,
                    ops::DeployArgs {
                        config: a.config,
                        config_path: a.config_path,
                        binary_path: a.binary_path,
                        ..Default::default()
                    },
                )
            },
        )
        .destructive(),
        Tool::new(
            "obi_get_config",
            alias("obi_local_get_config"),
            |ctx: &Context, _: NoArgs| ops::get_config(ctx, ops::GetConfigArgs::default()),
        )
        .read_only()
        .idempotent(),
        Tool::raw(
            "obi_update_config",
            alias("obi_local_update_config"),
            |_ctx: &Context, a: LegacyUpdateArgs| {
                ops::update_config(
                    ops::UpdateArgs {
                        config: a.config,
                        restart: a.restart,
                        ..Default::default()
                    },
                    a.merge == Some(false),
                )
            },
        )
        .destructive(),
        Tool::new(
            "obi_get_logs",
            alias("obi_local_logs"),
            |ctx: &Context, a: LegacyLogsArgs| {
                ops::logs(
                    ctx,
                    ops::LogsArgs {
                        lines: a.lines,
                        level: a.level,
                        ..Default::default()
                    },
                )
            },
        )
        .read_only()
        .idempotent(),
        Tool::new(
            "obi_stop",
            alias("obi_local_stop"),
            |ctx: &Context, a: LegacyStopArgs| {
                ops::stop(
                    ctx,
                    ops::StopArgs {
                        force: a.force,
                        timeout: None,
                    },
                )
            },
        )
        .destructive()
        .idempotent(),
    ]
}

/// Arguments of `obi_config_validate`. Give exactly one of `config` and `yaml`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ValidateArgs {
    /// The configuration as an object: the JSON form of OBI's YAML file, e.g.
    /// `{"discovery": {"instrument": [{"open_ports": 8080}]}, "otel_traces_export": {"endpoint": "http://localhost:4318"}}`.
    config: Option<Map<String, Value>>,
    /// The configuration as YAML (or JSON) text, as in OBI's config file.
    yaml: Option<String>,
    /// Where OBI will run: `local` (default), `container` or `kubernetes`. Decides, for example,
    /// whether a `localhost` endpoint can reach the collector.
    target: Option<Target>,
    /// Environment variables OBI will be started with (`OTEL_EBPF_*`, `OTEL_EXPORTER_OTLP_*`);
    /// they override the file, as in OBI.
    env: Option<BTreeMap<String, String>>,
}

/// Result of `obi_config_validate`.
#[derive(Debug, Serialize, JsonSchema)]
struct Validation {
    /// True when there is no error: OBI would start with this configuration.
    valid: bool,
    /// Number of errors (OBI would refuse to start, or a value cannot be used).
    errors: usize,
    /// Number of warnings (OBI starts, but probably not as intended).
    warnings: usize,
    /// Every finding: `path` in the config (`env:NAME` for a variable, empty for the whole
    /// config), `severity` (error, warning, info), `message` and the `rule` that produced it.
    findings: Vec<Finding>,
    /// Findings left out because there were too many.
    truncated: usize,
    /// The findings as readable text, one per line after a verdict line.
    summary: String,
}

fn validate_tool(_ctx: &Context, args: ValidateArgs) -> Result<Validation, ToolError> {
    let opts = ValidateOptions {
        target: args.target.unwrap_or_default(),
        env: args.env.unwrap_or_default(),
    };
    let report = match (args.config, args.yaml) {
        (Some(config), None) => obi_config::validate(&Value::Object(config), &opts),
        (None, Some(yaml)) => obi_config::validate_text(&yaml, &opts),
        (Some(_), Some(_)) => {
            return Err(ToolError::invalid_arguments(
                "give either `config` (an object) or `yaml` (text), not both",
            ));
        }
        (None, None) => {
            return Err(ToolError::invalid_arguments(
                "give the configuration to check: `config` (an object) or `yaml` (text)",
            ));
        }
    };
    Ok(Validation {
        valid: report.is_valid(),
        errors: report.errors(),
        warnings: report.warnings(),
        summary: report.summary(),
        truncated: report.truncated,
        findings: report.findings,
    })
}

obi_toolset_sdk::export_toolset!(Local);

#[cfg(test)]
mod tests {
    use super::*;

    fn call(arguments: &str) -> Result<Value, ToolError> {
        let tools = Local::tools();
        let tool = tools
            .iter()
            .find(|t| t.name() == "obi_config_validate")
            .unwrap();
        let result = tool.call(&Context::detached(), arguments)?;
        assert!(!result.is_error);
        Ok(serde_json::from_str(result.structured.as_deref().unwrap()).unwrap())
    }

    #[test]
    fn valid_yaml() {
        let out = call(
            r#"{"yaml": "discovery:\n  instrument:\n    - open_ports: 8080\notel_traces_export:\n  endpoint: http://localhost:4318\n"}"#,
        )
        .unwrap();
        assert_eq!(out["valid"], true, "{out}");
        assert_eq!(out["errors"], 0);
        assert!(out["summary"].as_str().unwrap().starts_with("valid"));
    }

    #[test]
    fn invalid_object_reports_obis_message() {
        let out = call(r#"{"config": {"bpf_debug": true}}"#).unwrap();
        assert_eq!(out["valid"], false);
        let findings = out["findings"].as_array().unwrap();
        assert!(findings.iter().any(|f| f["severity"] == "error"
            && f["message"].as_str().unwrap().starts_with(
                "at least one of 'network' or 'application' features must be enabled"
            )));
        assert!(findings.iter().any(|f| {
            f["path"] == "bpf_debug"
                && f["severity"] == "warning"
                && f["message"]
                    .as_str()
                    .unwrap()
                    .contains("did you mean ebpf.bpf_debug?")
        }));
    }

    #[test]
    fn target_and_env_are_used() {
        let out = call(
            r#"{"config": {"otel_traces_export": {"endpoint": "http://localhost:4318"}},
                "target": "kubernetes", "env": {"OTEL_EBPF_OPEN_PORT": "8080"}}"#,
        )
        .unwrap();
        assert_eq!(out["valid"], true, "{out}");
        let findings = out["findings"].as_array().unwrap();
        assert!(
            findings
                .iter()
                .any(|f| f["rule"] == "localhost" && f["path"] == "otel_traces_export.endpoint")
        );
    }

    #[test]
    fn yaml_parse_error_is_a_finding() {
        let out = call(r#"{"yaml": "a: ["}"#).unwrap();
        assert_eq!(out["valid"], false);
        assert_eq!(out["findings"][0]["rule"], "parse");
    }

    #[test]
    fn exactly_one_source_is_required() {
        assert!(matches!(call("{}"), Err(ToolError::InvalidArguments(_))));
        assert!(matches!(
            call(r#"{"config": {}, "yaml": ""}"#),
            Err(ToolError::InvalidArguments(_))
        ));
        assert!(matches!(
            call(r#"{"config": "log_level: INFO"}"#),
            Err(ToolError::InvalidArguments(_))
        ));
        assert!(matches!(
            call(r#"{"yaml": "", "target": "moon"}"#),
            Err(ToolError::InvalidArguments(_))
        ));
    }

    #[test]
    fn tool_is_pure_and_has_object_schemas() {
        let tools = Local::tools();
        let tool = tools
            .iter()
            .find(|t| t.name() == "obi_config_validate")
            .unwrap();
        assert_eq!(tool.input_schema()["type"], "object");
        assert_eq!(tool.output_schema().unwrap()["type"], "object");
        let schema = tool.input_schema().to_string();
        assert!(schema.contains("kubernetes"), "{schema}");
        let debug = format!("{tool:?}");
        assert!(debug.contains("read_only: true") && debug.contains("idempotent: true"));
        assert!(debug.contains("destructive: false"));
    }

    #[test]
    fn toolset_is_named_local_and_declarations_pass_the_host_checks() {
        assert_eq!(Local::info().name(), "local");
        assert_eq!(obi_toolset_sdk::validate::<Local>(), Ok(()));
    }

    #[test]
    fn output_matches_its_schema_shape() {
        let out = call(r#"{"yaml": "open_port: 80\n"}"#).unwrap();
        let tools = Local::tools();
        let schema = tools
            .iter()
            .find(|t| t.name() == "obi_config_validate")
            .unwrap()
            .output_schema()
            .unwrap();
        for key in schema["properties"].as_object().unwrap().keys() {
            assert!(out.get(key).is_some(), "missing {key} in {out}");
        }
        assert_eq!(out["findings"][0]["severity"], "error");
        assert_eq!(out["findings"][0]["path"], "");
    }
}
