//! Streamable HTTP: `obi-mcp serve --http 127.0.0.1:PORT`, endpoint `/mcp`.
//!
//! Loopback by default; the `Host` header is checked against loopback names (DNS-rebinding
//! protection) and browser `Origin`s must be loopback too. Binding a non-loopback address needs
//! `--allow-remote`, and then there is still no authentication: put it behind a proxy that has.

use std::net::SocketAddr;
use std::sync::Arc;

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::{Hub, ObiServer};

/// Serves MCP over Streamable HTTP until `shutdown` fires.
pub async fn serve(
    hub: Arc<Hub>,
    addr: SocketAddr,
    allow_remote: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() && !allow_remote {
        anyhow::bail!(
            "refusing to listen on {addr}: it is not a loopback address and the MCP endpoint has no authentication; \
             use 127.0.0.1:PORT, or pass --allow-remote if a proxy in front of it authenticates clients"
        );
    }
    let mut config = StreamableHttpServerConfig::default();
    config.cancellation_token = shutdown.child_token();
    if allow_remote && !addr.ip().is_loopback() {
        config.allowed_hosts = vec![addr.ip().to_string(), addr.to_string()];
    } else {
        config.allowed_hosts = vec![
            "localhost".into(),
            "127.0.0.1".into(),
            "[::1]".into(),
            format!("localhost:{}", addr.port()),
            format!("127.0.0.1:{}", addr.port()),
            format!("[::1]:{}", addr.port()),
        ];
        config.allowed_origins = vec![
            "http://localhost:*".into(),
            "http://127.0.0.1:*".into(),
            "http://[::1]:*".into(),
        ];
    }
    let factory_hub = hub.clone();
    let service = StreamableHttpService::new(
        move || Ok(ObiServer::new(factory_hub.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, "serving MCP over Streamable HTTP at http://{local}/mcp");
    // The bound address on stderr, for scripts that asked for port 0.
    eprintln!("obi-mcp: listening on http://{local}/mcp");
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}
