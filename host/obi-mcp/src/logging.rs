//! Logging: tracing to stderr (stdout is the MCP transport), optionally also to a file.

use std::path::Path;

/// A bare level applies to obi-mcp only (dependencies such as the compiler stay at `warn`);
/// anything with `=` or `,` is a tracing directive used as is.
pub fn directive(level: &str) -> String {
    let level = level.trim().to_ascii_lowercase();
    if level.contains('=') || level.contains(',') {
        return level;
    }
    let level = match level.as_str() {
        "warning" => "warn".to_string(),
        "critical" | "fatal" => "error".to_string(),
        other => other.to_string(),
    };
    match level.as_str() {
        "error" | "warn" | "off" => level,
        _ => format!("warn,obi_mcp={level}"),
    }
}

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber. `level` is a level name or a tracing filter directive.
pub fn init(level: &str, file: Option<&Path>) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(directive(level)).map_err(|e| {
        anyhow::anyhow!("invalid log level {level:?}: {e} (use error, warn, info, debug or trace)")
    })?;
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false);
    let file_layer = match file {
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("cannot open log file {}: {e}", path.display()))?;
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::sync::Mutex::new(f))
                    .with_ansi(false),
            )
        }
        None => None,
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file_layer)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))?;
    Ok(())
}
