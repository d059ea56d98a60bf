//! End-to-end tests of the `local` toolset: the real obi-mcp binary over MCP stdio, starting the
//! stand-in OBI (`tests/obi-standin`) as a real detached process.
//!
//! Tests that need the real OBI run only when `OBI_MCP_E2E_OBI` names its binary (and root is
//! available); otherwise they say that they were skipped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use obi_mcp_testkit::{McpProcess, Sandbox, components, is_error, result_text};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_obi-mcp");

/// A minimal valid OBI configuration.
fn valid_config() -> Value {
    json!({
        "discovery": {"instrument": [{"open_ports": 8080}]},
        "otel_traces_export": {"endpoint": "http://localhost:4318"}
    })
}

/// A sandbox whose local toolset runs `binary` (default: the stand-in OBI).
fn sandbox_with(extra: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.write_config(&format!(
        "toolsets:\n  local:\n    binary_path: {}\n{extra}",
        components::OBI_STANDIN
    ));
    sb
}

fn start(sb: &Sandbox) -> McpProcess {
    let mut mcp = McpProcess::start(BIN, sb);
    mcp.initialize();
    mcp
}

/// Kills any OBI stand-in a test left running (a failed assertion must not leak processes).
struct Reaper(PathBuf);

impl Reaper {
    fn new(sb: &Sandbox) -> Reaper {
        Reaper(sb.state_dir().join("obi-mcp/toolsets/local.json"))
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(pid) = recorded_pid(&self.0)
            && std::fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|e| e == Path::new(components::OBI_STANDIN))
        {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
    }
}

fn state_doc(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let map: Value = serde_json::from_str(&text).ok()?;
    serde_json::from_str(map.get("deployment/default")?.as_str()?).ok()
}

fn recorded_pid(path: &Path) -> Option<u32> {
    state_doc(path)?["record"]["pid"].as_u64().map(|p| p as u32)
}

fn structured(result: &Value) -> Value {
    result["structuredContent"].clone()
}

/// The JSON content piece of a result without structured content.
fn json_content(result: &Value) -> Value {
    result["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["text"].as_str())
        .find_map(|t| {
            serde_json::from_str::<Value>(t)
                .ok()
                .filter(Value::is_object)
        })
        .unwrap_or(Value::Null)
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s[s.rfind(')').unwrap() + 2..].chars().next().unwrap();
            state != 'Z'
        })
        .unwrap_or(false)
}

fn deploy(mcp: &mut McpProcess, args: Value) -> Value {
    let r = mcp.call_tool("obi_local_deploy", args);
    assert!(!is_error(&r), "deploy failed: {}", result_text(&r));
    json_content(&r)
}

#[test]
fn deploy_status_logs_update_with_restart_and_stop() {
    let sb = sandbox_with("");
    let _reaper = Reaper::new(&sb);
    let mut mcp = start(&sb);
    let out = deploy(&mut mcp, json!({"config": valid_config()}));
    assert_eq!(out["outcome"], "running", "{out}");
    let pid = out["pid"].as_u64().unwrap() as u32;
    assert!(alive(pid));
    assert_eq!(
        out["command"][1],
        format!("--config={}", out["configPath"].as_str().unwrap())
    );
    assert_eq!(out["env"]["OTEL_EBPF_CONFIG_PATH"], out["configPath"]);

    let st = mcp.call_tool("obi_local_status", json!({"verbose": true}));
    assert!(!is_error(&st), "{}", result_text(&st));
    let st = structured(&st);
    assert_eq!(st["state"], "running", "{st}");
    assert_eq!(st["pid"], pid);
    assert!(st["memoryMb"].as_f64().unwrap() > 0.0);
    assert!(st["cpuPercent"].as_f64().is_some());
    assert!(st["uptimeSeconds"].as_f64().is_some());
    assert_eq!(st["preflight"]["ok"], true, "{st}");
    assert!(!st["system"]["kernelRelease"].is_null() || !st["system"]["kernel_release"].is_null());

    let logs = structured(&mcp.call_tool("obi_local_logs", json!({"lines": 50})));
    let lines: Vec<&str> = logs["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("level=INFO msg=\"OpenTelemetry eBPF Instrumentation\"")),
        "{lines:?}"
    );
    let warn = structured(&mcp.call_tool("obi_local_logs", json!({"level": "warn"})));
    assert_eq!(
        warn["count"], 0,
        "running as root: no capability warning: {warn}"
    );

    // A DEBUG level needs a restart to apply.
    let up = mcp.call_tool(
        "obi_local_update_config",
        json!({"config": {"log_level": "DEBUG"}, "restart": true}),
    );
    assert!(!is_error(&up), "{}", result_text(&up));
    let up = json_content(&up);
    assert_eq!(up["updated"], true);
    let new_pid = up["restartedPid"].as_u64().unwrap() as u32;
    assert_ne!(new_pid, pid);
    assert!(!alive(pid), "the old OBI was stopped");
    let debug = structured(&mcp.call_tool(
        "obi_local_logs",
        json!({"level": "debug", "grep": "with configuration"}),
    ));
    assert!(debug["count"].as_u64().unwrap() >= 1, "{debug}");
    let info_only = structured(&mcp.call_tool(
        "obi_local_logs",
        json!({"level": "info", "grep": "with configuration"}),
    ));
    assert_eq!(
        info_only["count"], 0,
        "level filter keeps DEBUG lines out: {info_only}"
    );

    let cfg = structured(&mcp.call_tool("obi_local_get_config", json!({})));
    assert_eq!(cfg["config"]["log_level"], "DEBUG");
    assert_eq!(cfg["valid"], true);

    let stop = structured(&mcp.call_tool("obi_local_stop", json!({})));
    assert_eq!(stop["method"], "terminated", "{stop}");
    assert_eq!(stop["exitCode"], 0, "graceful exit: {stop}");
    assert!(!alive(new_pid));
    let st = structured(&mcp.call_tool("obi_local_status", json!({})));
    assert_eq!(st["state"], "exited");
    assert_eq!(st["exitCode"], 0);
    let again = structured(&mcp.call_tool("obi_local_stop", json!({})));
    assert_eq!(again["method"], "already-exited");
}

#[test]
fn server_restart_readopts_obi_but_never_a_recycled_pid() {
    let sb = sandbox_with("");
    let _reaper = Reaper::new(&sb);
    let mut mcp = start(&sb);
    let pid = deploy(&mut mcp, json!({"config": valid_config()}))["pid"]
        .as_u64()
        .unwrap() as u32;
    mcp.close();
    assert!(alive(pid), "OBI survives the server");

    let mut mcp = start(&sb);
    let st = structured(&mcp.call_tool("obi_local_status", json!({})));
    assert_eq!(st["state"], "running", "re-adopted: {st}");
    assert_eq!(st["pid"], pid);
    let stop = structured(&mcp.call_tool("obi_local_stop", json!({})));
    assert_eq!(stop["method"], "terminated", "{stop}");
    assert!(!alive(pid));
    mcp.close();

    // The recorded pid now belongs to another program: never adopted, never signalled.
    let mut other = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let state_path = sb.state_dir().join("obi-mcp/toolsets/local.json");
    let mut map: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let mut dep: Value = serde_json::from_str(map["deployment/default"].as_str().unwrap()).unwrap();
    dep["record"]["pid"] = json!(other.id());
    map["deployment/default"] = json!(dep.to_string());
    std::fs::write(&state_path, map.to_string()).unwrap();

    let mut mcp = start(&sb);
    let st = structured(&mcp.call_tool("obi_local_status", json!({})));
    assert_eq!(st["state"], "lost", "{st}");
    let stop = structured(&mcp.call_tool("obi_local_stop", json!({"force": true})));
    assert_eq!(stop["method"], "already-exited", "{stop}");
    assert!(alive(other.id()), "the unrelated process was left alone");
    let deploy_again = mcp.call_tool("obi_local_deploy", json!({"config": valid_config()}));
    assert!(
        !is_error(&deploy_again),
        "a lost record does not block a new deploy: {}",
        result_text(&deploy_again)
    );
    mcp.call_tool("obi_local_stop", json!({"force": true}));
    let _ = other.kill();
    let _ = other.wait();
}

#[test]
fn ignored_sigterm_is_escalated_to_sigkill() {
    let sb = sandbox_with("");
    let _reaper = Reaper::new(&sb);
    let mut mcp = start(&sb);
    let pid = deploy(
        &mut mcp,
        json!({"config": valid_config(), "extraEnv": {"OBI_STANDIN_IGNORE_SIGTERM": "1"}}),
    )["pid"]
        .as_u64()
        .unwrap() as u32;
    let t = Instant::now();
    let stop = structured(&mcp.call_tool("obi_local_stop", json!({"timeout": 0.5})));
    assert_eq!(stop["method"], "killed", "{stop}");
    assert_eq!(stop["exitSignal"], 9, "{stop}");
    assert!(
        stop["message"]
            .as_str()
            .unwrap()
            .contains("ignored SIGTERM")
    );
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(!alive(pid));
}

#[test]
fn obi_exiting_with_a_config_error_is_reported_with_its_own_message() {
    let sb = sandbox_with("");
    let _reaper = Reaper::new(&sb);
    let mut mcp = start(&sb);
    let r = mcp.call_tool(
        "obi_local_deploy",
        json!({"config": valid_config(),
               "extraEnv": {"OBI_STANDIN_REJECT_CONFIG": "invalid value for attributes.select: unknown section"}}),
    );
    assert!(is_error(&r));
    let out = json_content(&r);
    assert_eq!(out["outcome"], "failed", "{out}");
    assert_eq!(out["exitCode"], 255);
    let lines = out["errorLines"].as_array().unwrap();
    assert!(
        lines.iter().any(|l| {
            let l = l.as_str().unwrap();
            l.contains("level=ERROR msg=\"wrong configuration\"") && l.contains("unknown section")
        }),
        "{out}"
    );
    assert!(result_text(&r).contains("exit status 255"));
    let st = structured(&mcp.call_tool("obi_local_status", json!({})));
    assert_eq!(st["state"], "exited");
    assert_eq!(st["exitCode"], 255);
    assert!(!st["lastErrors"].as_array().unwrap().is_empty(), "{st}");
}

#[test]
fn invalid_config_is_refused_and_the_file_is_left_unchanged() {
    let sb = sandbox_with("");
    let _reaper = Reaper::new(&sb);
    let user_file = sb.path().join("obi.yml");
    let original = "# my OBI config\ncustom_key: 1  # keep me\ndiscovery:\n  instrument:\n    - open_ports: 8080\notel_traces_export:\n  endpoint: http://localhost:4318\n";
    std::fs::write(&user_file, original).unwrap();
    let mut mcp = start(&sb);
    let path = user_file.to_str().unwrap();

    // Deploying a config OBI would refuse writes nothing and starts nothing.
    let r = mcp.call_tool(
        "obi_local_deploy",
        json!({"config": {"bpf_debug": true}, "configPath": path}),
    );
    assert!(is_error(&r));
    assert!(
        result_text(&r)
            .contains("at least one of 'network' or 'application' features must be enabled"),
        "{}",
        result_text(&r)
    );
    assert_eq!(std::fs::read_to_string(&user_file).unwrap(), original);

    let pid = deploy(&mut mcp, json!({"configPath": path}))["pid"]
        .as_u64()
        .unwrap();
    let r = mcp.call_tool(
        "obi_local_update_config",
        json!({"config": {"discovery": null, "otel_traces_export": null}}),
    );
    assert!(is_error(&r), "{}", result_text(&r));
    assert!(result_text(&r).contains("left unchanged"));
    assert_eq!(std::fs::read_to_string(&user_file).unwrap(), original);
    assert!(!sb.path().join("obi.yml.bak").exists());

    // An update keeps comments and unknown keys, and keeps the previous version.
    let r = mcp.call_tool(
        "obi_local_update_config",
        json!({"config": {"log_level": "WARN"}}),
    );
    assert!(!is_error(&r), "{}", result_text(&r));
    assert!(
        result_text(&r).contains("restart: true"),
        "OBI still runs the old config"
    );
    let now = std::fs::read_to_string(&user_file).unwrap();
    assert!(
        now.contains("# my OBI config") && now.contains("custom_key: 1  # keep me"),
        "{now}"
    );
    assert!(now.contains("log_level: WARN"), "{now}");
    assert_eq!(
        std::fs::read_to_string(sb.path().join("obi.yml.bak")).unwrap(),
        original
    );
    let v = mcp.call_tool(
        "obi_local_update_config",
        json!({"config": {"log_level": "LOUD"}, "validateOnly": true}),
    );
    assert!(is_error(&v));
    assert_eq!(std::fs::read_to_string(&user_file).unwrap(), now);
    assert!(alive(pid as u32));
    mcp.call_tool("obi_local_stop", json!({"force": true}));
}

#[test]
fn concurrent_updates_do_not_lose_one_another() {
    let sb = sandbox_with("");
    let user_file = sb.path().join("obi.yaml");
    std::fs::write(
        &user_file,
        "# shared\nopen_port: 8080\ntrace_printer: text\n",
    )
    .unwrap();
    let mut mcp = start(&sb);
    let path = user_file.to_str().unwrap().to_string();
    let n = 8;
    let ids: Vec<i64> = (0..n)
        .map(|i| {
            mcp.request_async(
                "tools/call",
                json!({"name": "obi_local_update_config",
                       "arguments": {"configPath": path, "config": {"attributes": {"select": {format!("metric_{i}"): {"include": ["*"]}}}}}}),
            )
        })
        .collect();
    for id in ids {
        let r = mcp.wait_response(id);
        assert!(!is_error(&r["result"]), "{r}");
    }
    let text = std::fs::read_to_string(&user_file).unwrap();
    for i in 0..n {
        assert!(
            text.contains(&format!("metric_{i}")),
            "update {i} was lost:\n{text}"
        );
    }
    assert!(text.starts_with("# shared"), "{text}");
}

#[test]
fn a_non_granted_executable_is_refused() {
    let sb = sandbox_with("");
    let mut mcp = start(&sb);
    let r = mcp.call_tool(
        "obi_local_deploy",
        json!({"config": valid_config(), "binaryPath": "/bin/sh"}),
    );
    assert!(is_error(&r));
    let text = result_text(&r);
    assert!(
        text.contains("denied") && text.contains("may be started"),
        "{text}"
    );
    assert!(
        !sb.state_dir()
            .join("obi-mcp/local/logs/default.log")
            .exists()
    );

    // Without the grant at all, the process capability is denied by name.
    let sb = sandbox_with("    grants:\n      process: false\n");
    let mut mcp = start(&sb);
    let r = mcp.call_tool("obi_local_deploy", json!({"config": valid_config()}));
    assert!(is_error(&r));
    assert!(result_text(&r).contains("process:"), "{}", result_text(&r));
}

#[test]
fn logs_tail_of_a_100_mb_file_reads_only_the_end() {
    let sb = sandbox_with("");
    let _reaper = Reaper::new(&sb);
    let mut mcp = start(&sb);
    let out = deploy(&mut mcp, json!({"config": valid_config()}));
    mcp.call_tool("obi_local_stop", json!({}));
    let log = PathBuf::from(out["logPath"].as_str().unwrap());
    {
        use std::io::Write;
        let mut f =
            std::io::BufWriter::new(std::fs::OpenOptions::new().append(true).open(&log).unwrap());
        let mut written = 0usize;
        let mut i = 0u64;
        while written < 100 * 1024 * 1024 {
            let level = if i.is_multiple_of(100) {
                "WARN"
            } else {
                "INFO"
            };
            let line = format!(
                "time=2026-01-27T17:21:20.197Z level={level} msg=\"instrumented process\" seq={i} service=svc-{}\n",
                i % 97
            );
            written += line.len();
            f.write_all(line.as_bytes()).unwrap();
            i += 1;
        }
        writeln!(
            f,
            "time=2026-01-27T17:21:21.000Z level=ERROR msg=\"last line\""
        )
        .unwrap();
    }
    let t = Instant::now();
    let r = structured(&mcp.call_tool("obi_local_logs", json!({"lines": 1000})));
    let took = t.elapsed();
    assert_eq!(r["count"], 1000);
    assert!(r["fileBytes"].as_u64().unwrap() > 100 * 1024 * 1024);
    assert!(r["lines"][999].as_str().unwrap().contains("last line"));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let warn = structured(&mcp.call_tool("obi_local_logs", json!({"lines": 5, "level": "WARN"})));
    assert_eq!(warn["count"], 5);
    assert!(warn["lines"][4].as_str().unwrap().contains("level=ERROR"));
    // Status looks for recent error lines only, so a huge log does not slow it down.
    let t = Instant::now();
    for _ in 0..20 {
        let st = structured(&mcp.call_tool("obi_local_status", json!({})));
        assert_eq!(st["state"], "exited");
    }
    let per_call = t.elapsed() / 20;
    eprintln!(
        "obi_local_logs (1000 lines of 100 MB): {took:?}; obi_local_status: {per_call:?} per call"
    );
    assert!(per_call < Duration::from_millis(500), "{per_call:?}");
}

#[test]
fn legacy_tools_work_with_their_old_arguments_and_can_be_hidden() {
    let sb = sandbox_with("");
    let _reaper = Reaper::new(&sb);
    let user_file = sb.path().join("legacy.yml");
    let mut mcp = start(&sb);
    let tools = mcp.request("tools/list", json!({}));
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for n in [
        "obi_get_status",
        "obi_deploy_local",
        "obi_get_config",
        "obi_update_config",
        "obi_get_logs",
        "obi_stop",
        "obi_local_deploy",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let r = mcp.call_tool(
        "obi_deploy_local",
        json!({"config": valid_config(), "configPath": user_file.to_str().unwrap(), "binaryPath": components::OBI_STANDIN}),
    );
    assert!(!is_error(&r), "{}", result_text(&r));
    assert!(user_file.exists());
    let st = structured(&mcp.call_tool("obi_get_status", json!({"verbose": false})));
    assert_eq!(st["state"], "running");
    let cfg = structured(&mcp.call_tool("obi_get_config", json!({})));
    assert_eq!(cfg["source"], user_file.to_str().unwrap());
    let r = mcp.call_tool(
        "obi_update_config",
        json!({"config": {"open_port": 9090, "trace_printer": "text"}, "merge": false, "restart": false}),
    );
    assert!(!is_error(&r), "{}", result_text(&r));
    let cfg = structured(&mcp.call_tool("obi_get_config", json!({})));
    assert_eq!(
        cfg["config"],
        json!({"open_port": 9090, "trace_printer": "text"}),
        "merge: false replaces"
    );
    let logs = structured(&mcp.call_tool("obi_get_logs", json!({"lines": 10, "level": "info"})));
    assert!(logs["count"].as_u64().unwrap() >= 1);
    let stop = structured(&mcp.call_tool("obi_stop", json!({"force": true})));
    assert_eq!(stop["method"], "killed");

    let sb = sandbox_with("    legacy_tools: false\n");
    let mut mcp = start(&sb);
    let tools = mcp.request("tools/list", json!({}));
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"obi_get_status"), "{names:?}");
    assert!(names.contains(&"obi_local_status"));
}

#[test]
fn tools_have_the_right_annotations() {
    let sb = sandbox_with("");
    let mut mcp = start(&sb);
    let tools = mcp.request("tools/list", json!({}));
    let get = |name: &str| {
        tools["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed"))
            .clone()
    };
    for name in [
        "obi_local_status",
        "obi_local_logs",
        "obi_local_get_config",
        "obi_config_validate",
    ] {
        assert_eq!(get(name)["annotations"]["readOnlyHint"], true, "{name}");
    }
    for name in [
        "obi_local_deploy",
        "obi_local_update_config",
        "obi_local_stop",
    ] {
        let a = &get(name)["annotations"];
        assert_eq!(a["readOnlyHint"], false, "{name}");
        assert_eq!(a["destructiveHint"], true, "{name}");
    }
    assert_eq!(get("obi_local_stop")["annotations"]["idempotentHint"], true);
    assert!(get("obi_local_status")["outputSchema"].is_object());
}

#[test]
fn resources_and_prompts_are_served() {
    let sb = sandbox_with("");
    let _reaper = Reaper::new(&sb);
    let mut mcp = start(&sb);
    let list = mcp.request("resources/list", json!({}));
    let uris: Vec<&str> = list["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    for u in [
        "obi://local/config",
        "obi://local/status",
        "obi://local/logs",
        "obi://config/current",
        "obi://status/health",
        "obi://logs/recent",
    ] {
        assert!(uris.contains(&u), "{u} missing: {uris:?}");
    }
    deploy(&mut mcp, json!({"config": valid_config()}));
    for (uri, needle) in [
        ("obi://local/status", "\"running\""),
        ("obi://status/health", "\"running\""),
        ("obi://local/config", "open_ports: 8080"),
        ("obi://config/current", "open_ports: 8080"),
        ("obi://logs/recent", "OpenTelemetry eBPF Instrumentation"),
    ] {
        let r = mcp.request("resources/read", json!({"uri": uri}));
        let text = r["result"]["contents"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("{uri}: {r}"));
        assert!(text.contains(needle), "{uri}: {text}");
    }
    let p = mcp.request(
        "prompts/get",
        json!({"name": "setup-obi-local", "arguments": {"environment": "a Go service on 8080"}}),
    );
    let text = p["result"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap();
    assert!(text.contains("a Go service on 8080") && text.contains("obi_local_deploy"));
    let p = mcp.request("prompts/get", json!({"name": "troubleshoot-obi-local"}));
    assert!(
        p["result"]["messages"][0]["content"]["text"]
            .as_str()
            .unwrap()
            .contains("obi_local_logs")
    );
    mcp.call_tool("obi_local_stop", json!({"force": true}));
}

#[test]
fn dry_run_writes_and_starts_nothing() {
    let sb = sandbox_with("");
    let mut mcp = start(&sb);
    let target = sb.path().join("new.yml");
    let r = mcp.call_tool(
        "obi_local_deploy",
        json!({"config": valid_config(), "configPath": target.to_str().unwrap(), "dryRun": true}),
    );
    assert!(!is_error(&r), "{}", result_text(&r));
    let out = json_content(&r);
    assert_eq!(out["outcome"], "dry-run");
    assert_eq!(out["configWritten"], true);
    assert_eq!(out["preflight"]["ok"], true);
    assert!(!target.exists());
    let st = structured(&mcp.call_tool("obi_local_status", json!({})));
    assert_eq!(st["state"], "not-deployed");
}

#[test]
fn obi_config_validate_command_exit_codes() {
    let sb = Sandbox::new();
    let good = sb.path().join("good.yml");
    std::fs::write(&good, "discovery:\n  instrument:\n    - open_ports: 8080\notel_traces_export:\n  endpoint: http://localhost:4318\nbpf_debug: true\n").unwrap();
    let bad = sb.path().join("bad.yml");
    std::fs::write(
        &bad,
        "otel_traces_export:\n  endpoint: http://localhost:4318\n",
    )
    .unwrap();
    let run = |f: &Path| {
        sb.command(BIN)
            .args(["obi-config", "validate"])
            .arg(f)
            .output()
            .unwrap()
    };
    let ok = run(&good);
    assert_eq!(ok.status.code(), Some(0));
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(text.contains("did you mean ebpf.bpf_debug?"), "{text}");
    let no = run(&bad);
    assert_eq!(no.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&no.stdout)
            .contains("at least one of 'network' or 'application' features must be enabled")
    );
    let missing = run(&sb.path().join("missing.yml"));
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn stand_in_obi_behaves_like_obi_on_the_command_line() {
    let sb = Sandbox::new();
    let cfg = sb.path().join("c.yml");
    std::fs::write(
        &cfg,
        "log_format: json\nopen_port: 8080\ntrace_printer: text\n",
    )
    .unwrap();
    // The config error path: OBI's line and status 255.
    let out = std::process::Command::new(components::OBI_STANDIN)
        .env_clear()
        .env("OTEL_EBPF_CONFIG_PATH", sb.path().join("nope.yml"))
        .arg(format!("--config={}", cfg.display()))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(255),
        "the env var wins over --config"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("ERROR can't open"));
    let empty = sb.path().join("empty.yml");
    std::fs::write(&empty, "log_level: INFO\n").unwrap();
    let out = std::process::Command::new(components::OBI_STANDIN)
        .env_clear()
        .arg(format!("--config={}", empty.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("level=ERROR msg=\"wrong configuration\" error=\"at least one of 'network' or 'application' features must be enabled\""),
        "{stdout}"
    );
    // JSON logs and a graceful SIGTERM.
    let child = std::process::Command::new(components::OBI_STANDIN)
        .env_clear()
        .arg(format!("--config={}", cfg.display()))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["level"], "INFO");
    assert_eq!(first["msg"], "OpenTelemetry eBPF Instrumentation");
    assert!(stdout.contains("successfully exiting"));
}

#[test]
fn real_obi_deploys_when_available() {
    let Some(obi) = std::env::var_os("OBI_MCP_E2E_OBI") else {
        eprintln!(
            "skipped: set OBI_MCP_E2E_OBI to an OBI binary (and run as root) to deploy the real OBI"
        );
        return;
    };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: the real OBI needs root");
        return;
    }
    let sb = Sandbox::new();
    sb.write_config(&format!(
        "toolsets:\n  local:\n    binary_path: {}\n",
        Path::new(&obi).display()
    ));
    let mut mcp = start(&sb);
    let r = mcp.call_tool("obi_local_deploy", json!({"config": valid_config()}));
    assert!(!is_error(&r), "{}", result_text(&r));
    let st = structured(&mcp.call_tool("obi_local_status", json!({})));
    assert_eq!(st["state"], "running", "{st}");
    let stop = structured(&mcp.call_tool("obi_local_stop", json!({})));
    assert_ne!(stop["method"], "already-exited", "{stop}");
}

#[test]
fn a_crash_after_start_shows_in_status_with_obis_error_line() {
    let sb = sandbox_with("");
    let _reaper = Reaper::new(&sb);
    let mut mcp = start(&sb);
    let out = deploy(
        &mut mcp,
        json!({"config": valid_config(),
               "extraEnv": {"OBI_STANDIN_CRASH_AFTER": "2", "OBI_STANDIN_LINES_PER_SECOND": "50"}}),
    );
    assert_eq!(out["outcome"], "running", "{out}");
    let deadline = Instant::now() + Duration::from_secs(15);
    let st = loop {
        let st = structured(&mcp.call_tool("obi_local_status", json!({})));
        if st["state"] == "exited" {
            break st;
        }
        assert!(Instant::now() < deadline, "never crashed: {st}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(st["exitCode"], 255, "{st}");
    let errors = st["lastErrors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|l| l.as_str().unwrap().contains("simulated crash")),
        "{st}"
    );
    let busy = structured(&mcp.call_tool(
        "obi_local_logs",
        json!({"grep": "instrumented process", "lines": 1000}),
    ));
    assert!(busy["count"].as_u64().unwrap() >= 50, "{busy}");
}

#[test]
fn stand_in_warns_about_capabilities_when_not_root() {
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to run the stand-in as another user");
        return;
    }
    let dir = tempfile_dir();
    let cfg = dir.join("c.yml");
    std::fs::write(&cfg, "open_port: 8080\ntrace_printer: text\n").unwrap();
    let mut child = std::process::Command::new(components::OBI_STANDIN)
        .env_clear()
        .env("OBI_STANDIN_CRASH_AFTER", "0.3")
        .arg(format!("--config={}", cfg.display()))
        .uid(65534)
        .gid(65534)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    let mut stdout = String::new();
    use std::io::Read;
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    if status.code() != Some(255) && stdout.is_empty() {
        eprintln!("skipped: the stand-in is not executable by uid 65534 here");
        return;
    }
    assert!(
        stdout.contains("level=WARN msg=\"Required system capabilities not present, OpenTelemetry eBPF Instrumentation may malfunction\""),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A world-readable temporary directory (the stand-in runs as another user).
fn tempfile_dir() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("obi-mcp-local-nonroot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Runs `obi-mcp call TOOL` as uid 65534 (not root) with `fakebin` first on PATH.
fn call_as_nobody(sb: &Sandbox, fakebin: &Path, tool: &str, args: Value) -> (i32, Value) {
    use std::os::unix::process::CommandExt;
    let path = format!(
        "{}:{}",
        fakebin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = sb
        .command(BIN)
        .env("PATH", path)
        .args(["call", tool, "--args", &args.to_string()])
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|_| {
        panic!(
            "no JSON result: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), value)
}

fn chown_tree(path: &Path) {
    std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path());
        }
    }
}

#[test]
fn use_sudo_runs_obi_through_sudo_n_and_explains_a_password_prompt() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to run the server as another user");
        return;
    }
    let sb = Sandbox::isolated();
    let fakebin = sb.path().join("fakebin");
    std::fs::create_dir_all(&fakebin).unwrap();
    let sudo = fakebin.join("sudo");
    let write_sudo = |script: &str| {
        std::fs::write(&sudo, script).unwrap();
        std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
    };

    // Not root, no capabilities on the binary, no use_sudo: refused with the exact fix.
    sb.write_config(&format!(
        "toolsets:\n  local:\n    binary_path: {}\n",
        components::OBI_STANDIN
    ));
    chown_tree(sb.path());
    let (code, r) = call_as_nobody(
        &sb,
        &fakebin,
        "obi_local_deploy",
        json!({"config": valid_config()}),
    );
    assert_eq!(code, 1, "{r}");
    let text = result_text(&r);
    assert!(
        text.contains("setcap") && text.contains("use_sudo"),
        "{text}"
    );

    // use_sudo, and sudo wants a password: a clear error, nothing left running.
    sb.write_config(&format!(
        "toolsets:\n  local:\n    binary_path: {}\n    use_sudo: true\n",
        components::OBI_STANDIN
    ));
    write_sudo("#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n");
    chown_tree(sb.path());
    let (code, r) = call_as_nobody(
        &sb,
        &fakebin,
        "obi_local_deploy",
        json!({"config": valid_config()}),
    );
    assert_eq!(code, 1, "{r}");
    let text = result_text(&r);
    assert!(text.contains("sudo asked for a password"), "{text}");

    // use_sudo with a sudo that lets it through (NOPASSWD): OBI runs, started as `sudo -n obi`.
    // Like the real sudo, the stand-in stays OBI's parent (fork and wait, not exec) and relays
    // SIGTERM to it.
    write_sudo(
        "#!/bin/sh\necho \"$*\" > \"$(dirname \"$0\")/sudo.args\"\n[ \"$1\" = \"-n\" ] || { echo \"sudo called without -n: $*\" >&2; exit 2; }\nshift\nwhile [ \"${1#-}\" != \"$1\" ]; do shift; done\n\"$@\" &\nchild=$!\ntrap 'kill -TERM $child' TERM INT\nwait $child\n",
    );
    let (code, r) = call_as_nobody(
        &sb,
        &fakebin,
        "obi_local_deploy",
        json!({"config": valid_config()}),
    );
    assert_eq!(code, 0, "{r}");
    let out = json_content(&r);
    assert_eq!(out["outcome"], "running", "{out}");
    // It went through sudo, non-interactively, with OBI's config path preserved.
    let args = std::fs::read_to_string(fakebin.join("sudo.args")).unwrap();
    assert!(args.starts_with("-n "), "{args}");
    assert!(
        args.contains(components::OBI_STANDIN) && args.contains("--config="),
        "{args}"
    );
    let (code, r) = call_as_nobody(&sb, &fakebin, "obi_local_stop", json!({}));
    assert_eq!(code, 0, "{r}");
    // Neither sudo nor OBI is left running.
    let marker = sb.path().to_string_lossy().into_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let survivors = loop {
        let found: Vec<u32> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
                    && alive(*pid)
            })
            .collect();
        if found.is_empty() || std::time::Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    for pid in &survivors {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(*pid as i32, libc::SIGKILL);
        }
    }
    assert!(
        survivors.is_empty(),
        "left running after stop: {survivors:?}"
    );
}
