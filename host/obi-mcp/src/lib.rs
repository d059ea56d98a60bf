//! obi-mcp: an MCP server that deploys and operates OpenTelemetry eBPF Instrumentation (OBI).
//!
//! Toolsets are WebAssembly components (WASI preview 2) implementing the `obi:toolset` WIT world
//! (`wit/`). The host is the only thing with authority: it hands toolsets host interfaces under
//! a grant policy ([`capability`]), runs each call in a fresh sandboxed instance ([`runtime`]),
//! and maps the loaded toolsets to MCP tools, resources and prompts ([`mcp`]).

#![deny(missing_docs)]

pub mod capability;
pub mod config;
pub mod embedded;
pub mod fsutil;
pub mod inspect;
pub mod logging;
pub mod mcp;
pub mod runtime;
