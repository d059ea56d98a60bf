//! Scale benchmark (placeholder).
fn main() {}
