//! A toolset built against `obi:toolset@0.9.0`, a package version obi-mcp does not know. It uses
//! raw wit-bindgen (not the SDK, which is tied to 0.1.0). The host must refuse to load it with a
//! message naming both versions (0.9.0 and the versions it supports); if it ever loads, its one
//! tool says so.

#[allow(missing_docs, clippy::all)]
mod bindings {
    wit_bindgen::generate!({ path: "wit", world: "toolset-world" });
}

use bindings::exports::obi::toolset::toolset::Guest;
use bindings::obi::toolset::types::{
    Availability, CallContext, CallResult, Content, Prompt, PromptResult, Resource,
    ResourceContents, ResourceTemplate, Tool, ToolAnnotations, ToolError, ToolsetInfo,
};

struct FutureVersion;

impl Guest for FutureVersion {
    fn describe() -> ToolsetInfo {
        ToolsetInfo {
            name: "future-version".into(),
            version: "0.1.0".into(),
            description: "Targets obi:toolset@0.9.0; must be refused.".into(),
            capabilities: Vec::new(),
        }
    }

    fn list_tools() -> Vec<Tool> {
        vec![Tool {
            name: "future_version_loaded".into(),
            title: None,
            description: "Exists only if the host wrongly loaded a 0.9.0 component.".into(),
            input_schema: r#"{"type":"object","properties":{}}"#.into(),
            output_schema: None,
            annotations: ToolAnnotations {
                read_only: true,
                destructive: false,
                idempotent: true,
                open_world: false,
            },
        }]
    }

    fn call_tool(
        _name: String,
        _arguments: String,
        _context: CallContext,
    ) -> Result<CallResult, ToolError> {
        Ok(CallResult {
            content: vec![Content::Text("a 0.9.0 component was loaded".into())],
            structured: None,
            is_error: true,
        })
    }

    fn list_resources() -> Vec<Resource> {
        Vec::new()
    }

    fn list_resource_templates() -> Vec<ResourceTemplate> {
        Vec::new()
    }

    fn read_resource(
        uri: String,
        _context: CallContext,
    ) -> Result<Vec<ResourceContents>, ToolError> {
        Err(ToolError::NotFound(uri))
    }

    fn list_prompts() -> Vec<Prompt> {
        Vec::new()
    }

    fn get_prompt(
        name: String,
        _arguments: Vec<(String, String)>,
        _context: CallContext,
    ) -> Result<PromptResult, ToolError> {
        Err(ToolError::NotFound(name))
    }

    fn is_available() -> Availability {
        Availability::Available
    }
}

bindings::export!(FutureVersion with_types_in bindings);
