//! `progress`: becomes MCP `notifications/progress` when the client sent a progress token.
//! Always allowed; a no-op otherwise. Values that are not finite are dropped.

use crate::runtime::CallState;
use crate::runtime::bindings::obi::toolset::progress::Host;

/// Longest progress message passed on.
const MAX_MESSAGE: usize = 1024;

impl Host for CallState {
    async fn report(&mut self, progress: f64, total: Option<f64>, message: Option<String>) {
        if !self.observer.wants_progress() || !progress.is_finite() {
            return;
        }
        let total = total.filter(|t| t.is_finite());
        let message = message.map(|m| m.chars().take(MAX_MESSAGE).collect());
        self.observer.progress(progress, total, message).await;
    }
}
