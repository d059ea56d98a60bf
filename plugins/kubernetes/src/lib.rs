//! obi-mcp's first-party `kubernetes` toolset (work in progress).

pub mod cluster;
pub mod manifests;
pub mod ops;
pub mod status;
mod sha256;
