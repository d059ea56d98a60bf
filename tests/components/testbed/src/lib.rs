//! The testbed toolset: well-behaved tools for exercising obi-mcp end to end, and misbehaving
//! ones that the sandbox and limits must contain. It requests the `state` capability.

use std::time::{Duration, Instant};

use obi_toolset_sdk::prelude::*;

/// Arguments of `testbed_echo`.
#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    /// Text to echo back.
    text: String,
}

/// Result of `testbed_echo`.
#[derive(Serialize, JsonSchema)]
struct Echo {
    /// The text that was sent.
    text: String,
}

/// Arguments of `testbed_progress`.
#[derive(Deserialize, JsonSchema)]
struct ProgressArgs {
    /// Number of steps; progress is reported after each.
    steps: u32,
    /// Milliseconds to busy-wait before each step.
    delay_ms: u64,
}

/// Result of `testbed_progress`.
#[derive(Serialize, JsonSchema)]
struct ProgressDone {
    /// Steps completed.
    steps: u32,
    /// Whether the client asked for progress notifications.
    wanted_progress: bool,
}

/// Arguments of `testbed_state`.
#[derive(Deserialize, JsonSchema)]
struct StateArgs {
    /// Key to read (and write when `value` is given).
    key: String,
    /// Value to store first.
    value: Option<String>,
}

/// Arguments of `testbed_socket`.
#[derive(Deserialize, JsonSchema)]
struct SocketArgs {
    /// Port on 127.0.0.1 to connect to.
    port: u16,
}

/// Arguments of `testbed_error`.
#[derive(Deserialize, JsonSchema)]
struct ErrorArgs {
    /// Text of the error result.
    message: String,
}

/// Kind of typed error `testbed_tool_error` returns.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum ErrorKind {
    /// `invalid-arguments`.
    InvalidArguments,
    /// `not-found`.
    NotFound,
    /// `denied`.
    Denied,
    /// `conflict`.
    Conflict,
    /// `timeout`.
    Timeout,
    /// `unavailable`.
    Unavailable,
    /// `failed`.
    Failed,
}

/// Arguments of `testbed_tool_error`.
#[derive(Deserialize, JsonSchema)]
struct ToolErrorArgs {
    /// Which typed error to return.
    kind: ErrorKind,
}

struct Testbed;

impl Toolset for Testbed {
    fn info() -> Info {
        Info::new(
            "testbed",
            env!("CARGO_PKG_VERSION"),
            "Test component: well-behaved tools and tools that misbehave on purpose.",
        )
        .capability("state", "testbed_state stores and reads keys")
    }

    /// Unavailable when its settings say so (`settings: { unavailable: "reason" }`), to test how
    /// the host reports a toolset that cannot work here.
    fn is_available() -> Availability {
        let settings: obi_toolset_sdk::serde_json::Value =
            obi_toolset_sdk::serde_json::from_str(&config::raw()).unwrap_or_default();
        match settings.get("unavailable").and_then(|v| v.as_str()) {
            Some(reason) => Availability::Unavailable(reason.to_string()),
            None => Availability::Available,
        }
    }

    fn tools() -> Vec<Tool> {
        // Only testbed_state writes; everything else is read-only, so `--read-only` hides
        // exactly one testbed tool.
        vec![
            Tool::new(
                "testbed_echo",
                "Echoes the text back as structured data.",
                echo,
            )
            .title("Echo")
            .read_only()
            .idempotent(),
            Tool::new(
                "testbed_progress",
                "Reports progress after each step, busy-waiting `delay_ms` before each.",
                progress,
            )
            .read_only(),
            Tool::raw(
                "testbed_state",
                "Stores `value` under `key` when given, then reads `key`. Denial: error result.",
                state_tool,
            ),
            Tool::text(
                "testbed_config",
                "Returns this toolset's settings as JSON.",
                config_tool,
            )
            .read_only(),
            Tool::raw(
                "testbed_error",
                "Returns an isError result with the message.",
                error,
            )
            .read_only(),
            Tool::text(
                "testbed_tool_error",
                "Returns the typed tool error asked for.",
                tool_error,
            )
            .read_only(),
            Tool::text("testbed_spin", "Loops forever.", spin).read_only(),
            Tool::text("testbed_alloc", "Allocates memory without bound.", alloc).read_only(),
            Tool::text("testbed_panic", "Panics (a trap).", panic).read_only(),
            Tool::text(
                "testbed_huge_output",
                "Returns 10 MiB of text.",
                huge_output,
            )
            .read_only(),
            Tool::text(
                "testbed_read_passwd",
                "Tries to read /etc/passwd.",
                read_passwd,
            )
            .read_only(),
            Tool::text(
                "testbed_socket",
                "Tries to connect to 127.0.0.1:port.",
                socket,
            )
            .read_only(),
            Tool::text(
                "testbed_env",
                "Returns the environment it sees, as JSON.",
                env,
            )
            .read_only(),
            Tool::text(
                "testbed_stdio",
                "Writes to stdout and stderr; returns ok.",
                stdio,
            )
            .read_only(),
        ]
    }

    fn resources() -> Vec<Resource> {
        vec![
            Resource::new("testbed://info", "testbed-info")
                .title("Testbed info")
                .description("A fixed text.")
                .mime_type("text/plain"),
        ]
    }

    fn resource_templates() -> Vec<ResourceTemplate> {
        vec![
            ResourceTemplate::new("testbed://echo/{text}", "testbed-echo")
                .title("Echo resource")
                .description("Contents are the (decoded) text in the URI.")
                .mime_type("text/plain"),
        ]
    }

    fn read_resource(_ctx: &Context, uri: &str) -> Result<Vec<ResourceContents>, ToolError> {
        if uri == "testbed://info" {
            return Ok(vec![
                ResourceContents::text(uri, "testbed resource").mime_type("text/plain"),
            ]);
        }
        let template = &Self::resource_templates()[0];
        match template.match_uri(uri) {
            Some(vars) => Ok(vec![
                ResourceContents::text(uri, vars[0].1.clone()).mime_type("text/plain"),
            ]),
            None => Err(ToolError::not_found(format!("no testbed resource {uri}"))),
        }
    }

    fn prompts() -> Vec<Prompt> {
        vec![
            Prompt::new("testbed-prompt", "Asks about a topic.")
                .title("Testbed prompt")
                .argument(PromptArgument::required("topic", "What to ask about."))
                .argument(PromptArgument::optional("tone", "How to ask.")),
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
        let topic = value("topic").unwrap_or_default();
        let tone = value("tone").unwrap_or("plainly");
        Ok(
            PromptResult::user(format!("Tell me about {topic}, {tone}."))
                .message(PromptMessage::assistant(format!(
                    "Here is what I know about {topic}."
                )))
                .description(format!("About {topic}")),
        )
    }
}

fn echo(_ctx: &Context, args: EchoArgs) -> Result<Echo, ToolError> {
    log::debug!("echo {} bytes", args.text.len());
    Ok(Echo { text: args.text })
}

fn progress(ctx: &Context, args: ProgressArgs) -> Result<ProgressDone, ToolError> {
    let total = f64::from(args.steps);
    for step in 1..=args.steps {
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(args.delay_ms) {
            std::hint::spin_loop();
        }
        ctx.progress(
            f64::from(step),
            Some(total),
            Some(&format!("step {step} of {}", args.steps)),
        );
    }
    Ok(ProgressDone {
        steps: args.steps,
        wanted_progress: ctx.wants_progress(),
    })
}

fn state_tool(_ctx: &Context, args: StateArgs) -> Result<CallResult, ToolError> {
    let result = args
        .value
        .as_deref()
        .map_or(Ok(()), |value| state::set(&args.key, value))
        .and_then(|()| state::get(&args.key));
    Ok(match result {
        Ok(value) => CallResult::json(&serde_json_value(&args.key, value))?,
        Err(error) => CallResult::error_text(error.to_string()),
    })
}

fn serde_json_value(key: &str, value: Option<String>) -> obi_toolset_sdk::serde_json::Value {
    obi_toolset_sdk::serde_json::json!({ "key": key, "value": value })
}

fn config_tool(_ctx: &Context, _args: NoArgs) -> Result<String, ToolError> {
    Ok(config::raw())
}

fn error(_ctx: &Context, args: ErrorArgs) -> Result<CallResult, ToolError> {
    Ok(CallResult::error_text(args.message))
}

fn panic(_ctx: &Context, _args: NoArgs) -> Result<String, ToolError> {
    panic!("testbed_panic: deliberate panic")
}

fn huge_output(_ctx: &Context, _args: NoArgs) -> Result<String, ToolError> {
    Ok("x".repeat(10 * 1024 * 1024))
}

fn tool_error(_ctx: &Context, args: ToolErrorArgs) -> Result<String, ToolError> {
    let message = "testbed_tool_error: requested error";
    Err(match args.kind {
        ErrorKind::InvalidArguments => ToolError::invalid_arguments(message),
        ErrorKind::NotFound => ToolError::not_found(message),
        ErrorKind::Denied => ToolError::denied(message),
        ErrorKind::Conflict => ToolError::conflict(message),
        ErrorKind::Timeout => ToolError::timeout(message),
        ErrorKind::Unavailable => ToolError::unavailable(message),
        ErrorKind::Failed => ToolError::failed(message),
    })
}

fn spin(_ctx: &Context, _args: NoArgs) -> Result<String, ToolError> {
    let mut counter: u64 = 0;
    loop {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}

fn alloc(_ctx: &Context, _args: NoArgs) -> Result<String, ToolError> {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 1024 * 1024];
        for byte in block.iter_mut().step_by(4096) {
            *byte = 1;
        }
        blocks.push(std::hint::black_box(block));
    }
}

fn read_passwd(_ctx: &Context, _args: NoArgs) -> Result<String, ToolError> {
    Ok(match std::fs::read_to_string("/etc/passwd") {
        Ok(text) => format!("read /etc/passwd ({} bytes): {text}", text.len()),
        Err(error) => format!("could not read /etc/passwd: {error}"),
    })
}

fn socket(_ctx: &Context, args: SocketArgs) -> Result<String, ToolError> {
    Ok(
        match std::net::TcpStream::connect(("127.0.0.1", args.port)) {
            Ok(_) => format!("connected to 127.0.0.1:{}", args.port),
            Err(error) => format!("could not connect to 127.0.0.1:{}: {error}", args.port),
        },
    )
}

fn env(_ctx: &Context, _args: NoArgs) -> Result<String, ToolError> {
    let vars: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    obi_toolset_sdk::serde_json::to_string(&vars).map_err(|e| ToolError::failed(e.to_string()))
}

fn stdio(_ctx: &Context, _args: NoArgs) -> Result<String, ToolError> {
    use std::io::Write;
    let stdout = writeln!(
        std::io::stdout(),
        "testbed_stdio: this line was written to stdout"
    )
    .and_then(|()| std::io::stdout().flush());
    let stderr = writeln!(
        std::io::stderr(),
        "testbed_stdio: this line was written to stderr"
    );
    Ok(match (stdout, stderr) {
        (Ok(()), Ok(())) => "ok".to_string(),
        (stdout, stderr) => format!("stdout: {stdout:?}, stderr: {stderr:?}"),
    })
}

obi_toolset_sdk::export_toolset!(Testbed);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_pass_the_host_checks() {
        assert_eq!(obi_toolset_sdk::validate::<Testbed>(), Ok(()));
    }

    #[test]
    fn echo_template_decodes_the_text() {
        let contents =
            Testbed::read_resource(&Context::detached(), "testbed://echo/a%20b").unwrap();
        assert_eq!(contents[0].contents(), "a b");
    }
}
