//! The command line: compiled-component cache (cold, warm, corrupt), `tools`, `call`,
//! `toolset inspect`, `config check|show`, unknown config keys, legacy environment, HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use obi_mcp_testkit::{Sandbox, components, extra_config};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_obi-mcp");

fn run(sb: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let out = sb.command(BIN).args(args).output().expect("run obi-mcp");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn cwasm_files(sb: &Sandbox) -> Vec<std::path::PathBuf> {
    let dir = sb.cache_dir().join("obi-mcp");
    std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn cold_warm_and_corrupt_cache() {
    let sb = Sandbox::isolated();
    sb.write_config(&extra_config(&[(
        components::TESTBED,
        "grants: { state: true }",
    )]));
    // Cold: compiles and writes one entry per component.
    let (code, out, err) = run(&sb, &["--log-level", "debug", "tools"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("testbed_echo"), "{out}");
    assert!(err.contains("Miss"), "cold start should compile: {err}");
    // The first-party toolset needs no compilation even on the first start: the artifact
    // precompiled by the build script is accepted by the runtime's engine.
    assert!(err.contains("toolset=local outcome=Embedded"), "{err}");
    let entries = cwasm_files(&sb);
    assert!(!entries.is_empty(), "no cache entries written");
    // Warm: loads from the cache.
    let (code, _, err) = run(&sb, &["--log-level", "debug", "tools"]);
    assert_eq!(code, 0);
    assert!(err.contains("Hit") && !err.contains("Miss"), "{err}");
    // Corrupt every entry: each is discarded and rebuilt, never trusted.
    for e in &entries {
        let mut bytes = std::fs::read(e).unwrap();
        let n = bytes.len();
        bytes[n / 2] ^= 0xff;
        bytes.truncate(n - 7);
        std::fs::write(e, bytes).unwrap();
    }
    let (code, out, err) = run(&sb, &["--log-level", "debug", "tools"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("testbed_echo"), "{out}");
    assert!(err.contains("checksum"), "{err}");
    assert!(err.contains("Rebuilt"), "{err}");
    // And the rebuilt entries are good again.
    let (_, _, err) = run(&sb, &["--log-level", "debug", "tools"]);
    assert!(err.contains("Hit") && !err.contains("Rebuilt"), "{err}");
    // An entry whose checksum matches but which wasmtime refuses (another engine's artifact,
    // or garbage written by someone else) is discarded too.
    for e in &cwasm_files(&sb) {
        let body = b"not a wasmtime artifact".to_vec();
        let mut file = b"OBICWSM1".to_vec();
        file.extend_from_slice(blake3_of(&body).as_slice());
        file.extend_from_slice(&body);
        std::fs::write(e, file).unwrap();
    }
    let (code, out, err) = run(&sb, &["--log-level", "debug", "tools"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("testbed_echo"), "{out}");
    assert!(err.contains("incompatible"), "{err}");
    assert!(err.contains("Rebuilt"), "{err}");
}

fn cache_files(sb: &Sandbox, ext: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(sb.cache_dir().join("obi-mcp"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn cached_metadata_defers_loading_to_the_first_call_and_a_corrupt_entry_is_redone() {
    let sb = Sandbox::isolated();
    sb.write_config(&extra_config(&[(
        components::TESTBED,
        "grants: { state: true }",
    )]));
    // Cold: every toolset is loaded and described, and its metadata cached.
    let (code, _, err) = run(&sb, &["--log-level", "debug", "tools"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("outcome=Deferred"), "{err}");
    let metas = cache_files(&sb, "meta");
    assert!(
        metas.len() >= 2,
        "one metadata entry per toolset: {metas:?}"
    );
    // Warm: the metadata comes from the cache; the component is loaded by its first call.
    let (code, out, err) = run(
        &sb,
        &[
            "--log-level",
            "debug",
            "call",
            "testbed_echo",
            "--args",
            r#"{"text":"lazy"}"#,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("lazy"), "{out}");
    assert!(err.contains("outcome=Deferred"), "{err}");
    assert!(err.contains("component loaded on first use"), "{err}");
    // A corrupt metadata entry is discarded and the toolset described again.
    for m in &metas {
        let mut bytes = std::fs::read(m).unwrap();
        let n = bytes.len();
        bytes[n - 3] ^= 0x55;
        std::fs::write(m, bytes).unwrap();
    }
    let (code, out, err) = run(&sb, &["--log-level", "debug", "tools"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("testbed_echo"), "{out}");
    assert!(err.contains("metadata cache entry is corrupt"), "{err}");
    let (_, _, err) = run(&sb, &["--log-level", "debug", "tools"]);
    assert!(!err.contains("corrupt"), "rewritten good: {err}");
}

fn blake3_of(bytes: &[u8]) -> [u8; 32] {
    *blake3::hash(bytes).as_bytes()
}

#[test]
fn log_file_receives_the_logs() {
    let sb = Sandbox::new();
    let log = sb.path().join("obi-mcp.log");
    let (code, _, _) = run(&sb, &["--log-file", log.to_str().unwrap(), "tools"]);
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("toolset loaded"), "{text}");
}

#[test]
fn call_prints_the_result_and_exits_nonzero_on_error() {
    let sb = Sandbox::new();
    sb.write_config(&extra_config(&[(
        components::TESTBED,
        "grants: { state: true }",
    )]));
    let (code, out, err) = run(
        &sb,
        &["call", "testbed_echo", "--args", r#"{"text":"cli"}"#],
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["structuredContent"]["text"], "cli");
    let (code, out, _) = run(&sb, &["call", "testbed_echo", "--args", r#"{"text":1}"#]);
    assert_eq!(code, 1);
    assert!(out.contains("isError"), "{out}");
    let (code, _, err) = run(&sb, &["call", "nope", "--args", "{}"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown tool: nope"), "{err}");
    let (code, _, err) = run(&sb, &["call", "testbed_echo", "--args", "[1]"]);
    assert_ne!(code, 0);
    assert!(err.contains("JSON object"), "{err}");
}

#[test]
fn toolset_inspect_shows_identity_capabilities_and_tools() {
    let sb = Sandbox::new();
    let (code, out, err) = run(&sb, &["toolset", "inspect", components::OTLP_EXPLAIN]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("otlp-explain"), "{out}");
    assert!(out.contains("obi:toolset@0.1.0"), "{out}");
    assert!(out.contains("sha256:"), "{out}");
    assert!(out.contains("state:"), "{out}");
    assert!(out.contains("example_otlp_explain"), "{out}");
    let (code, out, _) = run(&sb, &["toolset", "inspect", "--json", components::TESTBED]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["meta"]["name"], "testbed");
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
    let (code, _, err) = run(&sb, &["toolset", "inspect", components::FUTURE_VERSION]);
    assert_eq!(code, 1);
    assert!(
        err.contains("obi:toolset@0.9.0") && err.contains("obi:toolset@0.1.0"),
        "{err}"
    );
}

#[test]
fn config_check_reports_unknown_keys_with_location_and_suggestion() {
    let sb = Sandbox::new();
    let bad = sb.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "toolsets:\n  kubernetes:\n    default_namespce: obi\n",
    )
    .unwrap();
    let (code, _, err) = run(&sb, &["config", "check", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown key `default_namespce`"), "{err}");
    assert!(err.contains("toolsets.kubernetes"), "{err}");
    assert!(
        err.contains("did you mean `toolsets.kubernetes.default_namespace`?"),
        "{err}"
    );
    let good = sb.path().join("good.yaml");
    std::fs::write(&good, "server:\n  read_only: true\n").unwrap();
    let (code, out, _) = run(&sb, &["config", "check", good.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("is valid"), "{out}");
    // The server refuses to start on an invalid config, with the same message.
    let (code, _, err) = run(&sb, &["--config", bad.to_str().unwrap(), "tools"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean"), "{err}");
}

#[test]
fn config_show_applies_legacy_environment_with_deprecation_warnings() {
    let sb = Sandbox::new();
    let out = sb
        .command(BIN)
        .args(["config", "show"])
        .env("ENABLE_DOCKER_TOOLSET", "true")
        .env("LOG_LEVEL", "debug")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: serde_norway::Value = serde_norway::from_str(&stdout).unwrap();
    assert_eq!(
        v["toolsets"]["docker"]["enabled"],
        serde_norway::Value::Bool(true)
    );
    assert!(
        stderr.contains("ENABLE_DOCKER_TOOLSET=true is deprecated"),
        "{stderr}"
    );
    assert!(stderr.contains("LOG_LEVEL=debug is deprecated"), "{stderr}");
}

#[test]
fn read_only_hides_tools_that_are_not_read_only() {
    let sb = Sandbox::new();
    sb.write_config(&extra_config(&[(
        components::TESTBED,
        "grants: { state: true }",
    )]));
    let (_, out, _) = run(&sb, &["tools", "--json"]);
    let all: Value = serde_json::from_str(&out).unwrap();
    let (_, out, _) = run(&sb, &["--read-only", "tools", "--json"]);
    let ro: Value = serde_json::from_str(&out).unwrap();
    let names = |v: &Value| -> Vec<String> {
        v["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(names(&all).contains(&"testbed_state".to_string()));
    assert!(!names(&ro).contains(&"testbed_state".to_string()));
    assert!(names(&ro).contains(&"testbed_echo".to_string()));
}

#[test]
fn http_refuses_non_loopback_without_allow_remote() {
    let sb = Sandbox::new();
    let (code, _, err) = run(&sb, &["serve", "--http", "0.0.0.0:0"]);
    assert_ne!(code, 0);
    assert!(err.contains("not a loopback address"), "{err}");
}

#[test]
fn http_serves_mcp_and_rejects_foreign_hosts() {
    let sb = Sandbox::new();
    sb.write_config(&extra_config(&[(
        components::TESTBED,
        "grants: { state: true }",
    )]));
    let mut child = sb
        .command(BIN)
        .args(["serve", "--http", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut reader = BufReader::new(stderr);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut url = String::new();
    while Instant::now() < deadline {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(i) = line.find("listening on http://") {
            url = line[i + "listening on ".len()..].trim().to_string();
            break;
        }
    }
    assert!(url.ends_with("/mcp"), "no URL announced");
    std::thread::spawn(move || for _ in reader.lines() {});
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_string();
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let ok = http_post(&addr, &addr, init);
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("obi-mcp"), "{ok}");
    let evil = http_post(&addr, "evil.example.com", init);
    assert!(
        !evil.starts_with("HTTP/1.1 200"),
        "DNS rebinding not blocked: {evil}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

fn http_post(addr: &str, host: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn help_is_useful_for_each_command() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["call", "--help"],
        vec!["toolset", "inspect", "--help"],
        vec!["config", "check", "--help"],
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage:"), "{args:?}: {text}");
        assert!(text.lines().count() > 3, "{args:?}: {text}");
    }
}

#[test]
fn tools_reports_a_toolset_that_cannot_work_here_with_its_reason() {
    let sb = Sandbox::new();
    sb.write_config(&extra_config(&[(
        components::TESTBED,
        "settings: { unavailable: \"install the acme CLI first\" }",
    )]));
    let (code, out, err) = run(&sb, &["tools"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("UNAVAILABLE: install the acme CLI first"),
        "{out}"
    );
    let (_, out, _) = run(&sb, &["tools", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let testbed = v["toolsets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "testbed")
        .unwrap();
    assert_eq!(testbed["unavailable"], "install the acme CLI first");
}
