//! Logging to the server log, tagged with the toolset's name.
//!
//! Functions take a finished message; the macros of the same names format one:
//!
//! ```
//! use obi_toolset_sdk::log;
//! log::info("starting");
//! log::warn!("port {} looks wrong", 4318);
//! ```
//!
//! Logging is always allowed; the host bounds the message size. Outside a host (native unit
//! tests) records go to stderr.

#[cfg(target_arch = "wasm32")]
use crate::__private::bindings::obi::toolset::log::{Level, log as host_log};

/// Severity of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Severity {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

fn write(severity: Severity, message: &str) {
    #[cfg(target_arch = "wasm32")]
    host_log(
        match severity {
            Severity::Trace => Level::Trace,
            Severity::Debug => Level::Debug,
            Severity::Info => Level::Info,
            Severity::Warn => Level::Warn,
            Severity::Error => Level::Error,
        },
        message,
    );
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{severity:?}] {message}");
}

/// Logs very detailed tracing.
pub fn trace(message: &str) {
    write(Severity::Trace, message);
}

/// Logs debugging detail.
pub fn debug(message: &str) {
    write(Severity::Debug, message);
}

/// Logs normal operation.
pub fn info(message: &str) {
    write(Severity::Info, message);
}

/// Logs something that looks wrong.
pub fn warn(message: &str) {
    write(Severity::Warn, message);
}

/// Logs a failure.
pub fn error(message: &str) {
    write(Severity::Error, message);
}

#[doc(hidden)]
#[macro_export]
macro_rules! __obi_log_trace {
    ($($arg:tt)*) => { $crate::log::trace(&::std::format!($($arg)*)) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __obi_log_debug {
    ($($arg:tt)*) => { $crate::log::debug(&::std::format!($($arg)*)) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __obi_log_info {
    ($($arg:tt)*) => { $crate::log::info(&::std::format!($($arg)*)) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __obi_log_warn {
    ($($arg:tt)*) => { $crate::log::warn(&::std::format!($($arg)*)) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __obi_log_error {
    ($($arg:tt)*) => { $crate::log::error(&::std::format!($($arg)*)) };
}

/// Logs very detailed tracing, `format!`-style.
#[doc(inline)]
pub use crate::__obi_log_trace as trace;

/// Logs debugging detail, `format!`-style.
#[doc(inline)]
pub use crate::__obi_log_debug as debug;

/// Logs normal operation, `format!`-style.
#[doc(inline)]
pub use crate::__obi_log_info as info;

/// Logs something that looks wrong, `format!`-style.
#[doc(inline)]
pub use crate::__obi_log_warn as warn;

/// Logs a failure, `format!`-style.
#[doc(inline)]
pub use crate::__obi_log_error as error;
