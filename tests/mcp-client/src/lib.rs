//! A minimal MCP client over stdio for obi-mcp's tests, benchmarks and demo.
//!
//! [`McpProcess`] spawns the real `obi-mcp` binary and speaks MCP to it over its stdin/stdout,
//! exactly as a client would: newline-delimited JSON-RPC 2.0. It checks that stdout carries only
//! protocol messages, keeps notifications that arrive while it waits for a response, and kills
//! the server when dropped.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long to wait for a response before failing.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Where a server runs: how to build its command and where its stderr file goes.
pub trait Launch {
    /// A command for `bin` with this home's environment.
    fn command(&self, bin: &str) -> Command;
    /// A directory for the server's stderr file.
    fn path(&self) -> &Path;
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
    /// `clientInfo.name` sent in `initialize`.
    pub client_name: String,
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
            client_name: "obi-mcp-testkit".into(),
        }
    }

    /// Spawns `bin` serving stdio in `home`.
    pub fn start(bin: &str, home: &impl Launch) -> McpProcess {
        Self::start_with(bin, home, &[])
    }

    /// Spawns `bin` with extra arguments in `home`.
    pub fn start_with(bin: &str, home: &impl Launch, args: &[&str]) -> McpProcess {
        let mut cmd = home.command(bin);
        cmd.args(args);
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        McpProcess::spawn(cmd, home.path().join(format!("stderr-{n}.log")))
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

    /// Sends a request and waits for its response, handing every message that arrives
    /// meanwhile (progress and log notifications, server requests) to `on_message` as it comes.
    pub fn request_streaming(
        &mut self,
        method: &str,
        params: Value,
        timeout: Duration,
        mut on_message: impl FnMut(&Value),
    ) -> Value {
        let id = self.request_async(method, params);
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(msg) = self.read(left) else {
                panic!(
                    "no response to request {id} within {timeout:?}\nstderr:\n{}",
                    self.stderr()
                );
            };
            if msg.get("id") == Some(&json!(id)) && msg.get("method").is_none() {
                return msg;
            }
            on_message(&msg);
        }
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
                "clientInfo": {"name": self.client_name.clone(), "version": "0.1.0"}
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
