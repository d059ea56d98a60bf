//! An example third-party obi-mcp toolset: explains what an OTLP endpoint setting will do for
//! OBI (protocol inference from the port, `/v1/traces` appended or not, `localhost` inside a pod
//! or container, port/protocol contradictions), and remembers the last endpoints it explained.
//!
//! It is built like any third-party toolset would be, with `obi-toolset-sdk` only; see the
//! README for building, inspecting, granting and loading it.

mod explain;

use obi_toolset_sdk::prelude::*;

use crate::explain::{ExplainArgs, Explanation, Protocol, Severity};

/// How many explained endpoints are remembered.
const HISTORY_LEN: usize = 10;
/// The `state` key holding the remembered endpoints.
const HISTORY_KEY: &str = "history";
/// URI of the cheat-sheet resource.
const CHEATSHEET_URI: &str = "obi://example/otlp-explain/cheatsheet";

/// The toolset.
struct OtlpExplain;

impl Toolset for OtlpExplain {
    fn info() -> Info {
        Info::new(
            "otlp-explain",
            env!("CARGO_PKG_VERSION"),
            "Explains what an OTLP exporter endpoint setting will do for OBI: which protocol it \
             implies, which URL each signal is sent to, and the mistakes that make telemetry \
             vanish (4317 vs 4318, paths appended twice, localhost inside a pod). An example of \
             a third-party toolset.",
        )
        .capability("state", "remembers the last endpoints it explained")
    }

    fn tools() -> Vec<Tool> {
        vec![
            Tool::new(
                "example_otlp_explain",
                "Explain what an OTLP endpoint setting (OTEL_EXPORTER_OTLP_ENDPOINT, a \
                 signal-specific endpoint variable, or `endpoint:` in OBI's config) will do for \
                 OBI: the protocol used, the URL each signal goes to, and problems to fix. Use it \
                 before deploying OBI or when OBI exports nothing.",
                explain_tool,
            )
            .title("Explain an OTLP endpoint")
            .read_only()
            .idempotent(),
            Tool::new(
                "example_otlp_history",
                "List the OTLP endpoints example_otlp_explain explained most recently, newest \
                 first.",
                history_tool,
            )
            .title("Recently explained OTLP endpoints")
            .read_only()
            .idempotent(),
        ]
    }

    fn resources() -> Vec<Resource> {
        vec![
            Resource::new(CHEATSHEET_URI, "otlp-cheatsheet")
                .title("OTLP endpoint cheat sheet for OBI")
                .description("Ports, protocols, variables and the usual mistakes.")
                .mime_type("text/markdown"),
        ]
    }

    fn read_resource(_ctx: &Context, uri: &str) -> Result<Vec<ResourceContents>, ToolError> {
        if uri != CHEATSHEET_URI {
            return Err(ToolError::not_found(format!(
                "no resource {uri}; this toolset has {CHEATSHEET_URI}"
            )));
        }
        Ok(vec![
            ResourceContents::text(uri, include_str!("cheatsheet.md")).mime_type("text/markdown"),
        ])
    }

    fn prompts() -> Vec<Prompt> {
        vec![
            Prompt::new(
                "otlp-troubleshoot",
                "Find out why OBI's telemetry does not arrive at a collector.",
            )
            .title("Troubleshoot OBI's OTLP export")
            .argument(PromptArgument::required(
                "endpoint",
                "The configured OTLP endpoint.",
            ))
            .argument(PromptArgument::optional(
                "symptom",
                "What goes wrong, e.g. `no traces in the backend` or an error from OBI's log.",
            )),
        ]
    }

    fn get_prompt(
        _ctx: &Context,
        _name: &str,
        args: &[(String, String)],
    ) -> Result<PromptResult, ToolError> {
        let value = |name: &str| {
            args.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let endpoint = value("endpoint").unwrap_or_default();
        let symptom = value("symptom").map_or(String::new(), |s| format!(" The symptom: {s}."));
        Ok(PromptResult::user(format!(
            "OBI is configured to export OTLP to `{endpoint}`, but the telemetry does not arrive.\
             {symptom} Call example_otlp_explain with this endpoint (say where OBI runs in \
             `runs_in`), explain each finding in plain words, and give the corrected setting."
        ))
        .description(format!("Troubleshoot OTLP export to {endpoint}")))
    }
}

/// One remembered explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Remembered {
    /// The endpoint.
    endpoint: String,
    /// The protocol OBI would use.
    protocol: Protocol,
    /// The summary of the explanation.
    summary: String,
    /// How many warnings and errors it had.
    problems: usize,
}

/// Result of `example_otlp_history`.
#[derive(Debug, Serialize, JsonSchema)]
struct History {
    /// Remembered endpoints, newest first.
    endpoints: Vec<Remembered>,
    /// Why the list is empty or incomplete, when it is.
    note: Option<String>,
}

fn explain_tool(ctx: &Context, args: ExplainArgs) -> Result<Explanation, ToolError> {
    log::debug!(
        "explaining {} for request {}",
        args.endpoint,
        ctx.request_id()
    );
    let mut explanation = explain::explain(&args);
    explanation.history_note = remember(&explanation);
    Ok(explanation)
}

/// Adds the explanation to the history; returns a note when it could not.
fn remember(explanation: &Explanation) -> Option<String> {
    let entry = Remembered {
        endpoint: explanation.endpoint.clone(),
        protocol: explanation.protocol,
        summary: explanation.summary.clone(),
        problems: explanation
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .count(),
    };
    let result = state::get_json::<Vec<Remembered>>(HISTORY_KEY).and_then(|history| {
        let mut history = history.unwrap_or_default();
        history.retain(|old| old.endpoint != entry.endpoint);
        history.insert(0, entry);
        history.truncate(HISTORY_LEN);
        state::set_json(HISTORY_KEY, &history)
    });
    match result {
        Ok(()) => None,
        Err(error) => {
            log::warn!("could not remember the endpoint: {error}");
            Some(history_unavailable("not remembered", &error))
        }
    }
}

/// Says why the history could not be used: `what` failed because of `error`.
fn history_unavailable(what: &str, error: &HostError) -> String {
    if error.is_denied() && !error.message().contains("grants:") {
        format!(
            "{what}: {error}. Grant the `state` capability to this toolset \
             (`grants: {{ state: true }}`) to keep a history"
        )
    } else {
        format!("{what}: {error}")
    }
}

fn history_tool(_ctx: &Context, _args: NoArgs) -> Result<History, ToolError> {
    Ok(match state::get_json::<Vec<Remembered>>(HISTORY_KEY) {
        Ok(endpoints) => {
            let endpoints = endpoints.unwrap_or_default();
            let note = endpoints
                .is_empty()
                .then(|| "nothing explained yet".to_string());
            History { endpoints, note }
        }
        Err(error) => History {
            endpoints: Vec::new(),
            note: Some(history_unavailable("not remembered", &error)),
        },
    })
}

obi_toolset_sdk::export_toolset!(OtlpExplain);

#[cfg(test)]
mod tests {
    use super::*;

    fn call(tool: &str, arguments: &str) -> CallResult {
        let tools = OtlpExplain::tools();
        let tool = tools.iter().find(|t| t.name() == tool).unwrap();
        tool.call(&Context::detached(), arguments).unwrap()
    }

    #[test]
    fn explained_endpoints_are_remembered_newest_first_without_duplicates() {
        call("example_otlp_explain", r#"{"endpoint":"http://a:4317"}"#);
        call("example_otlp_explain", r#"{"endpoint":"http://b:4318"}"#);
        call("example_otlp_explain", r#"{"endpoint":"http://a:4317"}"#);
        let history = call("example_otlp_history", "{}");
        let value: obi_toolset_sdk::serde_json::Value =
            obi_toolset_sdk::serde_json::from_str(history.structured.as_deref().unwrap()).unwrap();
        let endpoints: Vec<_> = value["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["endpoint"])
            .collect();
        assert_eq!(endpoints, ["http://a:4317", "http://b:4318"]);
    }

    #[test]
    fn declarations_pass_the_host_checks_and_every_tool_has_object_schemas() {
        assert_eq!(obi_toolset_sdk::validate::<OtlpExplain>(), Ok(()));
        for tool in OtlpExplain::tools() {
            assert_eq!(tool.input_schema()["type"], "object", "{}", tool.name());
            assert_eq!(
                tool.output_schema().unwrap()["type"],
                "object",
                "{}",
                tool.name()
            );
        }
    }

    #[test]
    fn unknown_argument_is_refused_naming_it() {
        let tools = OtlpExplain::tools();
        let error = tools[0].call(&Context::detached(), r#"{"endpoint":"x","port":1}"#);
        let Err(ToolError::InvalidArguments(message)) = error else {
            panic!("{error:?}")
        };
        assert!(message.contains("`port`"), "{message}");
    }

    #[test]
    fn denial_note_says_how_to_grant() {
        let note = history_unavailable("no history", &HostError::Denied("not granted".into()));
        assert_eq!(
            note,
            "no history: not granted. Grant the `state` capability to this toolset \
             (`grants: { state: true }`) to keep a history"
        );
        let hinted =
            HostError::Denied("not granted (grant it with `grants: { state: true }`)".into());
        assert!(!history_unavailable("x", &hinted).contains("Grant the"));
    }
}
