//! Test support for obi-mcp's end-to-end tests.
//!
//! [`McpProcess`] spawns the real `obi-mcp` binary and speaks MCP to it over its stdin/stdout,
//! exactly as a client would: newline-delimited JSON-RPC. Every run gets its own temporary
//! config, cache and state directories ([`Sandbox`]). The paths of the test components (guests
//! that misbehave on purpose) and of the example toolset are in [`components`].

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Paths of the built test components and the example toolset.
pub mod components {
    include!(concat!(env!("OUT_DIR"), "/components.rs"));
}

/// How long to wait for a response before failing a test.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A temporary home for one obi-mcp run: config file, cache dir, state dir.
pub struct Sandbox {
    dir: tempfile::TempDir,
    cache: PathBuf,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A fresh sandbox whose compiled-component cache is shared with other tests (the cache is
    /// content-addressed and written atomically, so sharing is safe and keeps tests fast).
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("obi-mcp-test-")
            .tempdir()
            .expect("create temp dir");
        let cache = std::env::temp_dir().join("obi-mcp-test-shared-cache");
        Sandbox { dir, cache }
    }

    /// A fresh sandbox with its own, empty cache.
    pub fn isolated() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("obi-mcp-test-")
            .tempdir()
            .expect("create temp dir");
        let cache = dir.path().join("cache");
        Sandbox { dir, cache }
    }

    /// Its root directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The config file path.
    pub fn config_path(&self) -> PathBuf {
        self.path().join("config.yaml")
    }

    /// `XDG_CACHE_HOME` of the sandbox (obi-mcp's cache is its `obi-mcp` subdirectory).
    pub fn cache_dir(&self) -> PathBuf {
        self.cache.clone()
    }

    /// The state dir.
    pub fn state_dir(&self) -> PathBuf {
        self.path().join("state")
    }

    /// Writes the config file.
    pub fn write_config(&self, yaml: &str) {
        std::fs::write(self.config_path(), yaml).expect("write config");
    }

    /// A command for `bin` with this sandbox's config, cache and state, and a clean environment
    /// (no legacy variables from the developer's shell).
    pub fn command(&self, bin: &str) -> Command {
        let mut cmd = Command::new(bin);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("xdg-config"))
            .env("XDG_CACHE_HOME", self.cache_dir())
            .env("XDG_STATE_HOME", self.state_dir());
        if self.config_path().exists() {
            cmd.env("OBI_MCP_CONFIG", self.config_path());
        }
        cmd
    }
}

/// A running `obi-mcp` speaking MCP over stdio.
pub struct McpProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Messages read while waiting for something else (notifications, other responses).
    pub backlog: Vec<Value>,
    next_id: i64,
    stderr_path: PathBuf,
}

impl McpProcess {
    /// Spawns `cmd` (see [`Sandbox::command`]) with piped stdio; stderr goes to a file.
    pub fn spawn(mut cmd: Command, stderr_path: PathBuf) -> McpProcess {
        let stderr = std::fs::File::create(&stderr_path).expect("create stderr file");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn obi-mcp");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let reader = BufReader::new(stdout);
            for line in reader.lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        McpProcess {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            backlog: Vec::new(),
            next_id: 1,
            stderr_path,
        }
    }

    /// Spawns `bin` serving stdio in `sandbox`.
    pub fn start(bin: &str, sandbox: &Sandbox) -> McpProcess {
        Self::start_with(bin, sandbox, &[])
    }

    /// Spawns `bin` with extra arguments in `sandbox`.
    pub fn start_with(bin: &str, sandbox: &Sandbox, args: &[&str]) -> McpProcess {
        let mut cmd = sandbox.command(bin);
        cmd.args(args);
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        McpProcess::spawn(cmd, sandbox.path().join(format!("stderr-{n}.log")))
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Writes one raw line to the server's stdin.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).expect("write stdin");
        stdin.write_all(b"\n").expect("write stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Sends a JSON-RPC message.
    pub fn send(&mut self, message: &Value) {
        self.send_line(&message.to_string());
    }

    /// Reads the next message from stdout, or `None` after `timeout`. Panics on a stdout line
    /// that is not JSON (stdout must carry only protocol messages).
    pub fn read(&mut self, timeout: Duration) -> Option<Value> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Some(serde_json::from_str(&line).unwrap_or_else(|e| {
                panic!(
                    "stdout carried a non-JSON line ({e}): {line:?}\nstderr:\n{}",
                    self.stderr()
                )
            })),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Sends a request and waits for its response (other messages go to the backlog).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait_response(id)
    }

    /// Sends a request without waiting; returns its id.
    pub fn request_async(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    /// Waits for the response with `id`.
    pub fn wait_response(&mut self, id: i64) -> Value {
        if let Some(pos) = self
            .backlog
            .iter()
            .position(|m| m.get("id") == Some(&json!(id)) && m.get("method").is_none())
        {
            return self.backlog.remove(pos);
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(msg) = self.read(left) else {
                panic!(
                    "no response to request {id} within {TIMEOUT:?}\nstderr:\n{}",
                    self.stderr()
                );
            };
            if msg.get("id") == Some(&json!(id)) && msg.get("method").is_none() {
                return msg;
            }
            self.backlog.push(msg);
        }
    }

    /// Sends a notification.
    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Performs the MCP handshake and returns the initialize result.
    pub fn initialize(&mut self) -> Value {
        let r = self.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "obi-mcp-testkit", "version": "0.1.0"}
            }),
        );
        assert!(r.get("result").is_some(), "initialize failed: {r}");
        self.notify("notifications/initialized", json!({}));
        r["result"].clone()
    }

    /// Calls a tool and returns the `result` object (panics on a JSON-RPC error).
    pub fn call_tool(&mut self, name: &str, arguments: Value) -> Value {
        let r = self.request("tools/call", json!({"name": name, "arguments": arguments}));
        match r.get("result") {
            Some(result) => result.clone(),
            None => panic!("tools/call {name} returned a JSON-RPC error: {r}"),
        }
    }

    /// Notifications received so far with `method`, taken out of the backlog.
    pub fn take_notifications(&mut self, method: &str) -> Vec<Value> {
        let (hit, keep): (Vec<Value>, Vec<Value>) = std::mem::take(&mut self.backlog)
            .into_iter()
            .partition(|m| m.get("method").and_then(Value::as_str) == Some(method));
        self.backlog = keep;
        hit
    }

    /// Closes stdin and waits for exit; returns the exit code and how long exit took.
    pub fn close(mut self) -> (Option<i32>, Duration) {
        drop(self.stdin.take());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status.code(), start.elapsed());
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return (None, start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for McpProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The concatenated text content of a tool result.
pub fn result_text(result: &Value) -> String {
    result["content"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|c| c["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// Whether a tool result is an error result.
pub fn is_error(result: &Value) -> bool {
    result["isError"].as_bool() == Some(true)
}

/// A YAML config that loads the given extra components with grants and limits (YAML snippets).
pub fn extra_config(entries: &[(&str, &str)]) -> String {
    let mut s = String::from("toolsets:\n  extra:\n");
    for (path, rest) in entries {
        s.push_str(&format!("    - path: {path}\n"));
        for line in rest.lines().filter(|l| !l.trim().is_empty()) {
            s.push_str("      ");
            s.push_str(line);
            s.push('\n');
        }
    }
    s
}
