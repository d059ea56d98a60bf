//! The stdio transport: one JSON-RPC message per line.
//!
//! rmcp's own line transport silently drops input that is not JSON. The MCP spec (and JSON-RPC)
//! want a parse error answer, so this transport replies `-32700` with `id: null` to a malformed
//! line, `-32600` to well-formed JSON that is not a message, and keeps serving.

use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;

/// Longest accepted line; longer ones are discarded and answered with an error.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// A line-delimited JSON-RPC transport over a reader and a writer.
pub struct LineTransport<R, W> {
    reader: BufReader<R>,
    writer: Arc<Mutex<W>>,
    line: Vec<u8>,
    discarding: bool,
}

impl<R: AsyncRead + Unpin + Send, W: AsyncWrite + Unpin + Send + 'static> LineTransport<R, W> {
    /// Wraps a reader/writer pair.
    pub fn new(reader: R, writer: W) -> Self {
        LineTransport {
            reader: BufReader::with_capacity(64 * 1024, reader),
            writer: Arc::new(Mutex::new(writer)),
            line: Vec::new(),
            discarding: false,
        }
    }

    fn write_raw(
        &self,
        bytes: Vec<u8>,
    ) -> impl Future<Output = std::io::Result<()>> + Send + 'static {
        write_line(self.writer.clone(), bytes)
    }

    /// Reads one line into `self.line`; `false` at EOF. Oversized lines are reported once.
    async fn read_line(&mut self) -> std::io::Result<Option<bool>> {
        loop {
            let (consumed, done) = {
                let buf = self.reader.fill_buf().await?;
                if buf.is_empty() {
                    return Ok(None);
                }
                let nl = buf.iter().position(|b| *b == b'\n');
                let take = nl.map_or(buf.len(), |i| i + 1);
                if !self.discarding {
                    if self.line.len() + take > MAX_LINE {
                        self.line.clear();
                        self.discarding = true;
                    } else {
                        self.line.extend_from_slice(&buf[..take]);
                    }
                }
                (take, nl.is_some())
            };
            self.reader.consume(consumed);
            if done {
                let oversized = std::mem::replace(&mut self.discarding, false);
                return Ok(Some(oversized));
            }
        }
    }
}

async fn write_line<W: AsyncWrite + Unpin + Send>(
    writer: Arc<Mutex<W>>,
    mut bytes: Vec<u8>,
) -> std::io::Result<()> {
    bytes.push(b'\n');
    let mut w = writer.lock().await;
    w.write_all(&bytes).await?;
    w.flush().await
}

fn error_line(id: serde_json::Value, code: i64, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message },
    }))
    .expect("static JSON")
}

impl<R, W> Transport<RoleServer> for LineTransport<R, W>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let writer = self.writer.clone();
        async move {
            let bytes = serde_json::to_vec(&item).map_err(std::io::Error::other)?;
            write_line(writer, bytes).await
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            let oversized = match self.read_line().await {
                Ok(Some(o)) => o,
                Ok(None) => return None,
                Err(e) => {
                    tracing::error!(error = %e, "reading the MCP stream failed");
                    return None;
                }
            };
            let raw = std::mem::take(&mut self.line);
            if oversized {
                tracing::warn!(max = MAX_LINE, "discarded an oversized message");
                let _ = self
                    .write_raw(error_line(
                        serde_json::Value::Null,
                        -32600,
                        "Invalid Request: message exceeds 16 MiB",
                    ))
                    .await;
                continue;
            }
            let text = raw.strip_suffix(b"\n").unwrap_or(&raw);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<RxJsonRpcMessage<RoleServer>>(text) {
                Ok(msg) => return Some(msg),
                Err(e) if e.is_syntax() || e.is_eof() => {
                    tracing::debug!(error = %e, "malformed JSON on the MCP stream");
                    let message = format!("Parse error: {e}");
                    if self
                        .write_raw(error_line(serde_json::Value::Null, -32700, &message))
                        .await
                        .is_err()
                    {
                        return None;
                    }
                }
                Err(e) => {
                    // Valid JSON, but not a JSON-RPC message we understand.
                    let value: serde_json::Value =
                        serde_json::from_slice(text).unwrap_or(serde_json::Value::Null);
                    let id = value.get("id").cloned();
                    match id {
                        Some(id) if id.is_string() || id.is_number() => {
                            let message = format!("Invalid Request: {e}");
                            if self
                                .write_raw(error_line(id, -32600, &message))
                                .await
                                .is_err()
                            {
                                return None;
                            }
                        }
                        _ if value.get("method").is_some() && value.get("id").is_none() => {
                            tracing::debug!(error = %e, "ignoring a malformed notification");
                        }
                        _ => {
                            let message = format!("Invalid Request: {e}");
                            if self
                                .write_raw(error_line(serde_json::Value::Null, -32600, &message))
                                .await
                                .is_err()
                            {
                                return None;
                            }
                        }
                    }
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.writer.lock().await.flush().await
    }
}
