//! MCP over stdio against the real binary: handshake, listing, calls, errors, resources,
//! prompts, progress, cancellation, malformed input, EOF.

use std::time::{Duration, Instant};

use obi_mcp_testkit::{McpProcess, Sandbox, components, extra_config, is_error, result_text};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_obi-mcp");

fn testbed_sandbox(grants: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.write_config(&extra_config(&[
        (
            components::TESTBED,
            &format!("{grants}\nlimits: {{ timeout_secs: 5 }}"),
        ),
        (components::OTLP_EXPLAIN, "grants: { state: true }"),
    ]));
    sb
}

#[test]
fn initialize_reports_our_name_version_and_capabilities() {
    let sb = testbed_sandbox("grants: { state: true }");
    let mut mcp = McpProcess::start(BIN, &sb);
    let init = mcp.initialize();
    assert_eq!(init["serverInfo"]["name"], "obi-mcp");
    assert_eq!(init["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
    let caps = &init["capabilities"];
    assert_eq!(caps["tools"]["listChanged"], true);
    assert!(caps.get("resources").is_some(), "{caps}");
    assert!(caps.get("prompts").is_some(), "{caps}");
    assert!(caps.get("logging").is_some(), "{caps}");
    let pong = mcp.request("ping", json!({}));
    assert_eq!(pong["result"], json!({}));
}

#[test]
fn tools_list_is_the_ordered_union_with_annotations_and_schemas() {
    let sb = testbed_sandbox("grants: { state: true }");
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let first = mcp.request("tools/list", json!({}));
    let second = mcp.request("tools/list", json!({}));
    assert_eq!(
        first["result"], second["result"],
        "tools/list must be deterministic"
    );
    let tools = first["result"]["tools"].as_array().unwrap().clone();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    let testbed_at = names
        .iter()
        .position(|n| *n == "testbed_echo")
        .expect("testbed loaded");
    let example_at = names
        .iter()
        .position(|n| *n == "example_otlp_explain")
        .expect("example loaded");
    assert!(
        testbed_at < example_at,
        "config order is list order: {names:?}"
    );
    for t in &tools {
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
        assert!(
            t["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{t}"
        );
        assert!(t["annotations"]["readOnlyHint"].is_boolean(), "{t}");
    }
    let echo = tools.iter().find(|t| t["name"] == "testbed_echo").unwrap();
    assert!(echo["outputSchema"].is_object(), "{echo}");
    assert!(
        first["result"]
            .get("nextCursor")
            .is_none_or(|c| c.is_null())
    );
}

#[test]
fn call_returns_structured_content_and_a_text_mirror() {
    let sb = testbed_sandbox("grants: { state: true }");
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let r = mcp.call_tool("testbed_echo", json!({"text": "hello"}));
    assert!(!is_error(&r), "{r}");
    assert_eq!(r["structuredContent"]["text"], "hello");
    let mirrored: serde_json::Value = serde_json::from_str(&result_text(&r)).unwrap();
    assert_eq!(mirrored["text"], "hello");
}

#[test]
fn schema_violations_are_is_error_results_naming_the_field() {
    let sb = testbed_sandbox("grants: { state: true }");
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let r = mcp.call_tool("testbed_echo", json!({"text": 42}));
    assert!(is_error(&r), "{r}");
    let text = result_text(&r);
    assert!(text.contains("/text"), "{text}");
    let r = mcp.call_tool("testbed_echo", json!({}));
    assert!(is_error(&r), "{r}");
    assert!(result_text(&r).contains("text"), "{r}");
}

#[test]
fn unknown_tool_is_a_jsonrpc_invalid_params_error() {
    let sb = testbed_sandbox("grants: { state: true }");
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let r = mcp.request(
        "tools/call",
        json!({"name": "no_such_tool", "arguments": {}}),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no_such_tool")
    );
}

#[test]
fn invalid_cursor_is_invalid_params() {
    let sb = testbed_sandbox("grants: { state: true }");
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let r = mcp.request("tools/list", json!({"cursor": "bogus"}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
}

#[test]
fn resources_templates_and_prompts_are_served() {
    let sb = testbed_sandbox("grants: { state: true }");
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let list = mcp.request("resources/list", json!({}));
    let uris: Vec<&str> = list["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert!(uris.contains(&"testbed://info"), "{uris:?}");
    let read = mcp.request("resources/read", json!({"uri": "testbed://info"}));
    assert!(
        read["result"]["contents"][0]["text"].as_str().is_some(),
        "{read}"
    );
    let templates = mcp.request("resources/templates/list", json!({}));
    assert!(
        templates["result"]["resourceTemplates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["uriTemplate"] == "testbed://echo/{text}"),
        "{templates}"
    );
    let via_template = mcp.request("resources/read", json!({"uri": "testbed://echo/abc"}));
    assert!(
        via_template["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("abc"),
        "{via_template}"
    );
    let missing = mcp.request("resources/read", json!({"uri": "nowhere://x"}));
    assert_eq!(missing["error"]["code"], -32002, "{missing}");

    let prompts = mcp.request("prompts/list", json!({}));
    let prompt = prompts["result"]["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "testbed-prompt")
        .cloned()
        .expect("testbed prompt listed");
    assert!(prompt["description"].as_str().is_some());
    let name = prompt["arguments"][0]["name"].as_str().unwrap().to_string();
    let got = mcp.request(
        "prompts/get",
        json!({"name": "testbed-prompt", "arguments": {name.clone(): "xyz"}}),
    );
    let text = got["result"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap();
    assert!(text.contains("xyz"), "{got}");
    let missing_arg = mcp.request(
        "prompts/get",
        json!({"name": "testbed-prompt", "arguments": {}}),
    );
    assert_eq!(missing_arg["error"]["code"], -32602, "{missing_arg}");
}

#[test]
fn progress_notifications_follow_the_progress_token() {
    let sb = testbed_sandbox("grants: { state: true }");
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let r = mcp.request(
        "tools/call",
        json!({"name": "testbed_progress", "arguments": {"steps": 3, "delay_ms": 1},
               "_meta": {"progressToken": "tok-1"}}),
    );
    assert!(!is_error(&r["result"]), "{r}");
    let notes = mcp.take_notifications("notifications/progress");
    assert!(
        notes.len() >= 3,
        "expected 3 progress notifications, got {notes:?}"
    );
    for n in &notes {
        assert_eq!(n["params"]["progressToken"], "tok-1");
    }
    let values: Vec<f64> = notes
        .iter()
        .map(|n| n["params"]["progress"].as_f64().unwrap())
        .collect();
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "{values:?}");

    // Without a token: no progress notifications.
    mcp.call_tool("testbed_progress", json!({"steps": 2, "delay_ms": 1}));
    assert!(mcp.take_notifications("notifications/progress").is_empty());
}

#[test]
fn cancellation_stops_a_looping_call_and_the_server_keeps_serving() {
    let sb = testbed_sandbox("grants: { state: true }");
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let id = mcp.request_async(
        "tools/call",
        json!({"name": "testbed_spin", "arguments": {}}),
    );
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    mcp.notify(
        "notifications/cancelled",
        json!({"requestId": id, "reason": "test"}),
    );
    // The server keeps serving, promptly, while the cancelled call is torn down.
    let r = mcp.call_tool("testbed_echo", json!({"text": "after cancel"}));
    assert_eq!(r["structuredContent"]["text"], "after cancel");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // The running call was stopped (logged by the server), not left spinning.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !mcp.stderr().contains("call cancelled by the client") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stderr = mcp.stderr();
    assert!(stderr.contains("call cancelled by the client"), "{stderr}");
    // Its deadline (5 s) never fires: it is gone.
    std::thread::sleep(Duration::from_millis(200));
    assert!(!mcp.stderr().contains("stopped at its deadline"));
}

#[test]
fn deadline_stops_a_busy_loop() {
    let sb = Sandbox::new();
    sb.write_config(&extra_config(&[(
        components::TESTBED,
        "grants: { state: true }\nlimits: { timeout_secs: 1 }",
    )]));
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let start = Instant::now();
    let r = mcp.call_tool("testbed_spin", json!({}));
    let took = start.elapsed();
    assert!(is_error(&r), "{r}");
    assert!(result_text(&r).contains("deadline"), "{r}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let r = mcp.call_tool("testbed_echo", json!({"text": "still here"}));
    assert_eq!(r["structuredContent"]["text"], "still here");
}

#[test]
fn malformed_json_gets_parse_error_with_null_id_and_serving_continues() {
    let sb = testbed_sandbox("grants: { state: true }");
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    mcp.send_line("{this is not json");
    let err = mcp
        .read(Duration::from_secs(10))
        .expect("an error response");
    assert_eq!(err["error"]["code"], -32700, "{err}");
    assert!(err["id"].is_null(), "{err}");
    mcp.send_line(r#"{"jsonrpc":"2.0","id":77,"method":42}"#);
    let err = mcp
        .read(Duration::from_secs(10))
        .expect("an error response");
    assert_eq!(err["error"]["code"], -32600, "{err}");
    assert_eq!(err["id"], 77, "{err}");
    let pong = mcp.request("ping", json!({}));
    assert_eq!(pong["result"], json!({}));
}

#[test]
fn stdin_eof_exits_zero_within_a_second() {
    let sb = testbed_sandbox("grants: { state: true }");
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let (code, took) = mcp.close();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn stdin_eof_before_initialize_exits_zero() {
    let sb = Sandbox::new();
    // Warm the cache, then wait until the server is up (it answers a ping before initialize).
    let mut warm = McpProcess::start(BIN, &sb);
    warm.initialize();
    drop(warm);
    let mut mcp = McpProcess::start(BIN, &sb);
    std::thread::sleep(Duration::from_millis(300));
    mcp.send_line("");
    let (code, took) = mcp.close();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn sighup_reload_adds_a_toolset_and_sends_list_changed() {
    let sb = Sandbox::new();
    sb.write_config("toolsets: { extra: [] }\n");
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let before = mcp.request("tools/list", json!({}));
    let has = |v: &serde_json::Value| {
        v["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "testbed_echo")
    };
    assert!(!has(&before));
    sb.write_config(&extra_config(&[(
        components::TESTBED,
        "grants: { state: true }",
    )]));
    let status = std::process::Command::new("kill")
        .args(["-HUP", &mcp.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut notified = false;
    while Instant::now() < deadline {
        if let Some(m) = mcp.read(Duration::from_millis(200)) {
            if m["method"] == "notifications/tools/list_changed" {
                notified = true;
                break;
            }
            mcp.backlog.push(m);
        }
    }
    assert!(notified, "no list_changed; stderr:\n{}", mcp.stderr());
    let after = mcp.request("tools/list", json!({}));
    assert!(has(&after));
}

#[test]
fn toolset_logs_reach_the_client_at_the_level_it_set() {
    let sb = testbed_sandbox("grants: { state: true }");
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    // testbed_stdio writes a line to stderr: a warning in the server log and, at the default
    // level (warning), a log notification to the client, tagged with the toolset.
    mcp.call_tool("testbed_stdio", json!({}));
    mcp.request("ping", json!({}));
    let notes = mcp.take_notifications("notifications/message");
    assert!(
        notes
            .iter()
            .any(|n| n["params"]["logger"] == "testbed" && n["params"]["level"] == "warning"),
        "{notes:?}"
    );
    let r = mcp.request("logging/setLevel", json!({"level": "error"}));
    assert!(r.get("result").is_some(), "{r}");
    mcp.call_tool("testbed_stdio", json!({}));
    mcp.request("ping", json!({}));
    assert!(mcp.take_notifications("notifications/message").is_empty());
}
