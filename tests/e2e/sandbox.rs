//! Misbehaving components: each is contained, reported, and the server goes on serving.

use std::time::{Duration, Instant};

use obi_mcp_testkit::{McpProcess, Sandbox, components, extra_config, is_error, result_text};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_obi-mcp");

fn start(grants: &str, limits: &str) -> (Sandbox, McpProcess) {
    let sb = Sandbox::new();
    sb.write_config(&extra_config(&[(
        components::TESTBED,
        &format!("{grants}\nlimits: {limits}"),
    )]));
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    (sb, mcp)
}

fn still_serving(mcp: &mut McpProcess) {
    let r = mcp.call_tool("testbed_echo", json!({"text": "alive"}));
    assert_eq!(r["structuredContent"]["text"], "alive", "{r}");
}

#[test]
fn unbounded_allocation_hits_the_memory_limit() {
    let (_sb, mut mcp) = start(
        "grants: { state: true }",
        "{ memory_mib: 32, timeout_secs: 30 }",
    );
    let r = mcp.call_tool("testbed_alloc", json!({}));
    assert!(is_error(&r), "{r}");
    let text = result_text(&r);
    assert!(
        text.contains("out of memory") && text.contains("32 MiB"),
        "{text}"
    );
    still_serving(&mut mcp);
}

#[test]
fn a_panic_is_a_trap_reported_with_the_panic_message() {
    let (_sb, mut mcp) = start("grants: { state: true }", "{ timeout_secs: 30 }");
    let r = mcp.call_tool("testbed_panic", json!({}));
    assert!(is_error(&r), "{r}");
    let text = result_text(&r);
    assert!(text.contains("trap"), "{text}");
    assert!(
        text.contains("panicked"),
        "the guest's panic message should be quoted: {text}"
    );
    still_serving(&mut mcp);
    // A trapped call poisons nothing: the same tool works again afterwards.
    let again = mcp.call_tool("testbed_panic", json!({}));
    assert!(is_error(&again));
}

#[test]
fn ten_mib_of_output_is_refused_over_the_limit() {
    let (_sb, mut mcp) = start("grants: { state: true }", "{ timeout_secs: 30 }");
    let r = mcp.call_tool("testbed_huge_output", json!({}));
    assert!(is_error(&r), "{r}");
    let text = result_text(&r);
    assert!(text.contains("limit of 1048576 bytes"), "{text}");
    assert!(text.len() < 4096, "the output itself must not be passed on");
    still_serving(&mut mcp);
}

#[test]
fn the_filesystem_is_not_reachable() {
    let (_sb, mut mcp) = start("grants: { state: true }", "{ timeout_secs: 30 }");
    let r = mcp.call_tool("testbed_read_passwd", json!({}));
    let text = result_text(&r);
    assert!(
        !text.contains("root:x:0:0"),
        "the guest read /etc/passwd: {text}"
    );
    assert!(
        text.to_lowercase().contains("err")
            || text.to_lowercase().contains("denied")
            || text.contains("not"),
        "{text}"
    );
}

#[test]
fn sockets_are_not_available() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (_sb, mut mcp) = start("grants: { state: true }", "{ timeout_secs: 30 }");
    let r = mcp.call_tool("testbed_socket", json!({"port": port}));
    let text = result_text(&r);
    assert!(
        listener.accept().is_err(),
        "the guest connected to a host socket: {text}"
    );
    assert!(
        text.to_lowercase().contains("err") || text.contains("denied") || text.contains("not"),
        "{text}"
    );
}

#[test]
fn the_environment_is_empty() {
    let (_sb, mut mcp) = start("grants: { state: true }", "{ timeout_secs: 30 }");
    let r = mcp.call_tool("testbed_env", json!({}));
    let text = result_text(&r);
    assert!(!text.contains("PATH"), "{text}");
    assert!(!text.contains("HOME"), "{text}");
    assert!(!text.contains("OBI_MCP_CONFIG"), "{text}");
}

#[test]
fn guest_stdout_never_reaches_the_mcp_stream_and_stderr_is_logged_with_the_toolset() {
    let (_sb, mut mcp) = start("grants: { state: true }", "{ timeout_secs: 30 }");
    let r = mcp.call_tool("testbed_stdio", json!({}));
    assert!(!is_error(&r), "{r}");
    // McpProcess::read panics on any non-JSON line on stdout; a ping proves the stream is clean.
    let pong = mcp.request("ping", json!({}));
    assert_eq!(pong["result"], json!({}));
    std::thread::sleep(Duration::from_millis(100));
    let stderr = mcp.stderr();
    assert!(
        stderr.contains("toolset=\"testbed\"") || stderr.contains("toolset=testbed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("source=\"stderr\"") || stderr.contains("source=stderr"),
        "{stderr}"
    );
}

#[test]
fn ungranted_state_is_a_typed_denial_naming_capability_subject_and_toolset() {
    let (_sb, mut mcp) = start("grants: { state: false }", "{ timeout_secs: 30 }");
    let r = mcp.call_tool("testbed_state", json!({"key": "k", "value": "v"}));
    let text = result_text(&r);
    assert!(text.contains("state:"), "{text}");
    assert!(text.contains("\"k\""), "{text}");
    assert!(text.contains("toolset \"testbed\""), "{text}");
    assert!(text.contains("grants: { state: true }"), "{text}");
    still_serving(&mut mcp);
}

#[test]
fn granted_state_persists_across_restarts() {
    let sb = Sandbox::new();
    sb.write_config(&extra_config(&[(
        components::TESTBED,
        "grants: { state: true }",
    )]));
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let r = mcp.call_tool("testbed_state", json!({"key": "k", "value": "v1"}));
    assert!(!is_error(&r), "{r}");
    drop(mcp);
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let r = mcp.call_tool("testbed_state", json!({"key": "k"}));
    assert!(result_text(&r).contains("v1"), "{r}");
    let file = sb.state_dir().join("obi-mcp/toolsets/testbed.json");
    assert!(file.exists(), "state file at {}", file.display());
}

#[test]
fn state_used_without_requesting_it_is_denied_even_when_granted() {
    let sb = Sandbox::new();
    sb.write_config(&extra_config(&[(
        components::INTRUDER,
        "grants: { state: true }",
    )]));
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let r = mcp.call_tool("intruder_state", json!({}));
    let text = result_text(&r);
    assert!(text.contains("did not request `state`"), "{text}");
}

#[test]
fn colliding_tool_name_refuses_the_later_toolset_and_serves_the_rest() {
    let sb = Sandbox::new();
    sb.write_config(&extra_config(&[
        (components::TESTBED, "grants: { state: true }"),
        (components::INTRUDER, ""),
    ]));
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let tools = mcp.request("tools/list", json!({}));
    let names: Vec<String> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"testbed_echo".to_string()));
    assert!(!names.contains(&"intruder_state".to_string()), "{names:?}");
    still_serving(&mut mcp);
    let stderr = mcp.stderr();
    assert!(stderr.contains("testbed_echo"), "{stderr}");
    assert!(stderr.contains("already provides"), "{stderr}");
}

#[test]
fn unknown_wit_version_is_refused_naming_both_versions() {
    let sb = Sandbox::new();
    sb.write_config(&extra_config(&[
        (components::FUTURE_VERSION, ""),
        (components::TESTBED, "grants: { state: true }"),
    ]));
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    still_serving(&mut mcp);
    let stderr = mcp.stderr();
    assert!(stderr.contains("obi:toolset@0.9.0"), "{stderr}");
    assert!(stderr.contains("obi:toolset@0.1.0"), "{stderr}");
}

#[test]
fn garbage_and_missing_files_never_stop_the_server() {
    let sb = Sandbox::new();
    let garbage = sb.path().join("garbage.wasm");
    std::fs::write(&garbage, b"\0asm\x01\0\0\0this is not a component").unwrap();
    let missing = sb.path().join("missing.wasm");
    sb.write_config(&extra_config(&[
        (garbage.to_str().unwrap(), ""),
        (missing.to_str().unwrap(), ""),
        (components::TESTBED, "grants: { state: true }"),
    ]));
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    still_serving(&mut mcp);
    let stderr = mcp.stderr();
    assert!(stderr.contains("garbage.wasm"), "{stderr}");
    assert!(stderr.contains("missing.wasm"), "{stderr}");
}

#[test]
fn sha256_mismatch_is_refused_with_both_digests() {
    let sb = Sandbox::new();
    let wrong = "0".repeat(64);
    sb.write_config(&extra_config(&[(
        components::TESTBED,
        &format!("sha256: \"{wrong}\""),
    )]));
    let mut mcp = McpProcess::start(BIN, &sb);
    mcp.initialize();
    let tools = mcp.request("tools/list", json!({}));
    assert!(
        !tools["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "testbed_echo")
    );
    let actual = {
        use std::io::Read;
        let mut f = std::fs::File::open(components::TESTBED).unwrap();
        let mut b = Vec::new();
        f.read_to_end(&mut b).unwrap();
        b
    };
    let stderr = mcp.stderr();
    assert!(stderr.contains(&wrong), "{stderr}");
    // The actual digest is printed too (64 hex chars after "the file has").
    assert!(stderr.contains("the file has "), "{stderr}");
    assert!(!actual.is_empty());
}

#[test]
fn concurrent_calls_run_in_parallel_instances() {
    let (_sb, mut mcp) = start("grants: { state: true }", "{ timeout_secs: 30 }");
    let start = Instant::now();
    let ids: Vec<i64> = (0..4)
        .map(|_| {
            mcp.request_async(
                "tools/call",
                json!({"name": "testbed_progress", "arguments": {"steps": 4, "delay_ms": 100}}),
            )
        })
        .collect();
    for id in ids {
        let r = mcp.wait_response(id);
        assert!(!is_error(&r["result"]), "{r}");
    }
    // Four calls of ~400 ms each; run one after another they would take 1.6 s.
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
}
