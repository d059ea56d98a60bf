//! obi-mcp's first-party `kubernetes` toolset (work in progress).

pub mod manifests;
mod sha256;
