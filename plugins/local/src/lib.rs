//! obi-mcp's first-party `local` toolset: run and manage OBI as a process on this host.
//!
//! For now it offers one pure tool, `obi_config_validate`, which checks an OBI configuration the
//! way OBI would at startup and adds the advice OBI never gives (unknown or misplaced keys,
//! OTLP port/protocol mix-ups, `localhost` where it cannot work, deprecated keys). The process
//! tools (deploy, status, logs, update, stop) come with the `process` host interface.

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
    }

    fn tools() -> Vec<Tool> {
        vec![
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
        ]
    }
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
        let tool = &tools[0];
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
        let schema = Local::tools()[0].output_schema().unwrap();
        for key in schema["properties"].as_object().unwrap().keys() {
            assert!(out.get(key).is_some(), "missing {key} in {out}");
        }
        assert_eq!(out["findings"][0]["severity"], "error");
        assert_eq!(out["findings"][0]["path"], "");
    }
}
