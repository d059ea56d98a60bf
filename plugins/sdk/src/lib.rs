//! Write obi-mcp toolsets in Rust.
//!
//! A toolset is a WebAssembly component (`wasm32-wasip2`) that obi-mcp loads into a sandbox. It
//! describes itself, offers tools (and optionally resources and prompts), and reaches the outside
//! world only through host functions the operator grants. This crate hides the WIT bindings: you
//! implement [`Toolset`], declare tools as typed Rust functions whose JSON Schemas come from
//! [`schemars`], and register the type with [`export_toolset!`].
//!
//! ```no_run
//! use obi_toolset_sdk::prelude::*;
//!
//! /// Arguments of `greeter_hello`.
//! #[derive(Deserialize, JsonSchema)]
//! struct HelloArgs {
//!     /// Who to greet.
//!     name: String,
//! }
//!
//! /// Result of `greeter_hello`.
//! #[derive(Serialize, JsonSchema)]
//! struct Greeting {
//!     /// The greeting.
//!     text: String,
//! }
//!
//! fn hello(ctx: &Context, args: HelloArgs) -> Result<Greeting, ToolError> {
//!     obi_toolset_sdk::log::info!("greeting {} for request {}", args.name, ctx.request_id());
//!     let count: u64 = state::get_json("count")?.unwrap_or(0) + 1;
//!     state::set_json("count", &count)?;
//!     Ok(Greeting { text: format!("Hello, {} (greeting #{count})", args.name) })
//! }
//!
//! struct Greeter;
//!
//! impl Toolset for Greeter {
//!     fn info() -> Info {
//!         Info::new("greeter", env!("CARGO_PKG_VERSION"), "Greets people.")
//!             .capability("state", "counts the greetings")
//!     }
//!
//!     fn tools() -> Vec<Tool> {
//!         vec![Tool::new("greeter_hello", "Greets someone by name.", hello).title("Say hello")]
//!     }
//! }
//!
//! obi_toolset_sdk::export_toolset!(Greeter);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` (crate type `cdylib`); the
//! `.wasm` file in `target/wasm32-wasip2/release/` is the component. The crate that uses the SDK
//! depends on `serde` (feature `derive`) and `schemars` 1 too, because their derive macros expand
//! to paths into those crates; the SDK re-exports both ([`serde`], [`schemars`]) so versions can be
//! matched.
//!
//! # How calls work
//!
//! The host creates a fresh instance for every call, so a toolset keeps nothing in memory between
//! calls: durable data goes through [`state`]. Declaring tools is cheap (no schema is generated
//! until the host lists the tools), so [`Toolset::tools`] may be called on every call.
//!
//! # Outside a host
//!
//! Compiled natively (for unit tests), the host functions are stand-ins: [`log`] writes to
//! stderr, [`state`] is an in-memory map per thread, [`config`] is empty and progress is dropped.
//! Tool functions can be called directly with [`Context::detached`].

#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

mod context;
mod error;
mod export;
mod prompt;
mod resource;
mod result;
mod tool;
mod toolset;
mod validate;

pub mod config;
pub mod kubernetes;
pub mod log;
pub mod process;
pub mod state;

pub use context::Context;
pub use error::{HostError, ToolError};
pub use prompt::{Prompt, PromptArgument, PromptMessage, PromptResult, Role};
pub use resource::{Resource, ResourceContents, ResourceTemplate};
pub use result::{CallResult, Content, Reply};
pub use tool::{NoArgs, Tool};
pub use toolset::{Availability, Info, Toolset};
pub use validate::validate;

pub use schemars;
pub use serde;
pub use serde_json;

/// Everything a toolset usually needs, for `use obi_toolset_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Availability, CallResult, Content, Context, HostError, Info, NoArgs, Prompt,
        PromptArgument, PromptMessage, PromptResult, Reply, Resource, ResourceContents,
        ResourceTemplate, Role, Tool, ToolError, Toolset, config, kubernetes, log, process, state,
    };
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}

/// Implementation details used by [`export_toolset!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::export::Adapter;

    /// The WIT bindings of `obi:toolset`, generated from `wit/toolset.wit`.
    #[allow(missing_docs, clippy::all)]
    pub mod bindings {
        wit_bindgen::generate!({
            path: "../../wit",
            world: "toolset-world",
            pub_export_macro: true,
            default_bindings_module: "obi_toolset_sdk::__private::bindings",
        });
    }
}

/// Registers a type implementing [`Toolset`] as this component's `toolset` export.
///
/// Use it once, at the top level of the `cdylib` crate:
///
/// ```ignore
/// obi_toolset_sdk::export_toolset!(MyToolset);
/// ```
#[macro_export]
macro_rules! export_toolset {
    ($toolset:ty) => {
        const _: () = {
            type __ObiToolsetExport = $crate::__private::Adapter<$toolset>;
            $crate::__private::bindings::export!(
                __ObiToolsetExport with_types_in $crate::__private::bindings
            );
        };
    };
}
