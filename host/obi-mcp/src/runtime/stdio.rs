//! Guest stdout/stderr: never the MCP stream; each line goes to the server log tagged with the
//! toolset, within the call's log budget. The last stderr lines are kept for trap messages.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use super::{CallObserver, LogLevel, emit_log};

const TAIL_LINES: usize = 4;
const MAX_LINE: usize = 4096;

/// A WASI output stream that turns lines into log records.
#[derive(Clone)]
pub struct LogStream {
    inner: Arc<Inner>,
}

struct Inner {
    toolset: Arc<str>,
    source: &'static str,
    budget: Arc<AtomicUsize>,
    observer: Arc<dyn CallObserver>,
    tail: Option<Arc<Mutex<VecDeque<String>>>>,
    pending: Mutex<Vec<u8>>,
}

impl LogStream {
    /// A stream for `source` (`stdout` or `stderr`) of `toolset`.
    pub fn new(
        toolset: Arc<str>,
        source: &'static str,
        budget: Arc<AtomicUsize>,
        observer: Arc<dyn CallObserver>,
        tail: Option<Arc<Mutex<VecDeque<String>>>>,
    ) -> Self {
        LogStream {
            inner: Arc::new(Inner {
                toolset,
                source,
                budget,
                observer,
                tail,
                pending: Mutex::new(Vec::new()),
            }),
        }
    }
}

impl Inner {
    fn line(&self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim_end_matches('\r');
        if text.is_empty() {
            return;
        }
        if let Some(tail) = &self.tail
            && let Ok(mut t) = tail.lock()
        {
            if t.len() == TAIL_LINES {
                t.pop_front();
            }
            t.push_back(text.chars().take(512).collect());
        }
        let level = if self.source == "stderr" {
            LogLevel::Warn
        } else {
            LogLevel::Info
        };
        emit_log(
            &self.toolset,
            self.source,
            level,
            text,
            &self.budget,
            self.observer.as_ref(),
        );
    }

    fn write(&self, buf: &[u8]) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        pending.extend_from_slice(buf);
        while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=pos).collect();
            self.line(&line[..line.len() - 1]);
        }
        if pending.len() > MAX_LINE {
            let line = std::mem::take(&mut *pending);
            self.line(&line);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let rest = self
            .pending
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        if !rest.is_empty() {
            self.line(&rest);
        }
    }
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for LogStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.inner.write(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
