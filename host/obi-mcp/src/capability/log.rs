//! `log`: toolset log records go to the server log (tagged with the toolset) and, at or above
//! the level the client set, to the client as MCP log notifications. Always allowed.

use crate::runtime::bindings::obi::toolset::log::{Host, Level};
use crate::runtime::{CallState, LogLevel, emit_log};

impl From<Level> for LogLevel {
    fn from(l: Level) -> Self {
        match l {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        }
    }
}

impl Host for CallState {
    async fn log(&mut self, level: Level, message: String) {
        emit_log(
            &self.shared.name,
            "log",
            level.into(),
            &message,
            &self.log_budget,
            self.observer.as_ref(),
        );
    }
}
