//! The call in progress.

/// Information about the call in progress, and progress reporting.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    request_id: String,
    client_name: Option<String>,
    deadline_ms: u64,
    wants_progress: bool,
}

impl Context {
    pub(crate) fn new(
        request_id: String,
        client_name: Option<String>,
        deadline_ms: u64,
        wants_progress: bool,
    ) -> Self {
        Self {
            request_id,
            client_name,
            deadline_ms,
            wants_progress,
        }
    }

    /// A context not attached to any call, for unit tests: empty request id, no client, no
    /// deadline (`u64::MAX`), no progress.
    pub fn detached() -> Self {
        Self::new(String::new(), None, u64::MAX, false)
    }

    /// The MCP request id, for correlating logs.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Name of the connected MCP client, when it said.
    pub fn client_name(&self) -> Option<&str> {
        self.client_name.as_deref()
    }

    /// Milliseconds that were left before the host stops this call, when the call started.
    pub fn deadline_ms(&self) -> u64 {
        self.deadline_ms
    }

    /// Whether the client asked for progress notifications.
    pub fn wants_progress(&self) -> bool {
        self.wants_progress
    }

    /// Reports progress: `done` so far, out of `total` when known, with a short message.
    ///
    /// Does nothing (and costs nothing) when the client did not ask for progress.
    pub fn progress(&self, done: f64, total: Option<f64>, message: Option<&str>) {
        if !self.wants_progress {
            return;
        }
        #[cfg(target_arch = "wasm32")]
        crate::__private::bindings::obi::toolset::progress::report(done, total, message);
        #[cfg(not(target_arch = "wasm32"))]
        let _ = (done, total, message);
    }
}
