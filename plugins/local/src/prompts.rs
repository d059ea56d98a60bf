//! Prompts: setting up OBI on this host, and troubleshooting it.

use obi_toolset_sdk::prelude::*;

/// The prompts of the toolset.
pub fn prompts() -> Vec<Prompt> {
    vec![
        Prompt::new(
            "setup-obi-local",
            "Guides the assistant through deploying OBI on this host: preflight, a minimal valid \
             configuration, a dry run, the deploy and a first look at the logs.",
        )
        .title("Set up OBI on this host")
        .argument(PromptArgument::optional(
            "environment",
            "What runs here and where telemetry should go, e.g. \"a Go service on port 8080, \
             collector at localhost:4318\"",
        )),
        Prompt::new(
            "troubleshoot-obi-local",
            "Guides the assistant through diagnosing a local OBI that does not start, stops, or \
             sends no telemetry.",
        )
        .title("Troubleshoot the local OBI"),
    ]
}

/// Renders a prompt.
pub fn render(name: &str, args: &[(String, String)]) -> Result<PromptResult, ToolError> {
    let arg = |k: &str| {
        args.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    };
    match name {
        "setup-obi-local" => {
            let env = arg("environment").unwrap_or(
                "not described yet: ask which services (ports or executables) to instrument and \
                 where the OpenTelemetry collector listens",
            );
            Ok(PromptResult::user(format!(
                "Set up OBI (OpenTelemetry eBPF Instrumentation) on this host.\n\n\
                 Environment: {env}\n\n\
                 Steps:\n\
                 1. Call obi_local_status with verbose: true and read the preflight (kernel >= 5.8, \
                 BTF, root or the capabilities; it gives the exact setcap command when they are \
                 missing). Do not try to elevate privileges yourself.\n\
                 2. Write a minimal configuration: what to instrument (discovery.instrument with \
                 open_ports or exe_path) and an exporter (otel_traces_export / \
                 otel_metrics_export endpoint: port 4317 is gRPC, 4318 is HTTP). Check it with \
                 obi_config_validate and fix every error; read the warnings.\n\
                 3. Call obi_local_deploy with dryRun: true and show me the plan.\n\
                 4. After I agree, call obi_local_deploy. If OBI exits, read its error lines and \
                 fix the cause.\n\
                 5. Check obi_local_logs with level: warn for problems."
            ))
            .description("Deploy OBI on this host step by step"))
        }
        "troubleshoot-obi-local" => Ok(PromptResult::user(
            "The local OBI is not working as expected. Diagnose it:\n\
             1. obi_local_status with verbose: true: is it running, its exit status, its last \
             error lines, and the preflight (privileges, kernel, BTF, perf_event_paranoid).\n\
             2. obi_local_logs with level: error, then level: warn. OBI logs `level=ERROR \
             msg=\"wrong configuration\"` and exits with status 255 on a config error; \
             \"Required system capabilities not present\" means missing root or capabilities.\n\
             3. obi_local_get_config and read its findings: keys OBI ignores, 4317 (gRPC) vs 4318 \
             (HTTP), /v1/traces appended twice, environment variables overriding the file.\n\
             4. Propose a fix as an obi_local_update_config merge patch with validateOnly: true \
             first, then apply it with restart: true once I agree.",
        )
        .description("Diagnose the local OBI")),
        other => Err(ToolError::not_found(format!("no prompt {other:?}"))),
    }
}
