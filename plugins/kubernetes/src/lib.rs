//! obi-mcp's first-party `kubernetes` toolset (work in progress).

pub mod cluster;
pub mod diagnose;
pub mod logs;
pub mod manifests;
pub mod ops;
mod sha256;
pub mod status;
