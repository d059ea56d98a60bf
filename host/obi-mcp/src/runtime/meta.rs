//! Host-side copies of what a toolset describes and returns, independent of the WIT version.

use serde::{Deserialize, Serialize};

use super::bindings::obi::toolset::types as wit;

/// What a toolset says about itself and offers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolsetMeta {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Description.
    pub description: String,
    /// Requested capabilities: (name, reason).
    pub capabilities: Vec<(String, String)>,
    /// Tools in declared order.
    pub tools: Vec<ToolDef>,
    /// Concrete resources.
    pub resources: Vec<ResourceDef>,
    /// Resource templates.
    pub templates: Vec<TemplateDef>,
    /// Prompts.
    pub prompts: Vec<PromptDef>,
}

/// One tool.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolDef {
    /// Name.
    pub name: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: String,
    /// Input JSON Schema (an object schema).
    pub input_schema: serde_json::Map<String, serde_json::Value>,
    /// Output JSON Schema.
    pub output_schema: Option<serde_json::Map<String, serde_json::Value>>,
    /// Read-only hint.
    pub read_only: bool,
    /// Destructive hint.
    pub destructive: bool,
    /// Idempotent hint.
    pub idempotent: bool,
    /// Open-world hint.
    pub open_world: bool,
}

/// One resource.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResourceDef {
    /// URI.
    pub uri: String,
    /// Name.
    pub name: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// MIME type.
    pub mime_type: Option<String>,
}

/// One resource template.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TemplateDef {
    /// RFC 6570 template.
    pub uri_template: String,
    /// Name.
    pub name: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// MIME type.
    pub mime_type: Option<String>,
}

/// One prompt.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PromptDef {
    /// Name.
    pub name: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: String,
    /// Arguments: (name, description, required).
    pub arguments: Vec<(String, Option<String>, bool)>,
}

/// Longest name MCP allows for a tool.
const MAX_TOOL_NAME: usize = 128;

/// Whether `name` is a valid MCP tool name (1–128 of `[A-Za-z0-9_.-]`).
pub fn valid_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TOOL_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Whether `name` is a valid toolset name (`[a-z0-9-]`, 1–64).
pub fn valid_toolset_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn parse_schema(
    tool: &str,
    which: &str,
    text: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("tool `{tool}`: {which} schema is not valid JSON: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err(format!(
            "tool `{tool}`: {which} schema is not a JSON object"
        ));
    };
    if map.get("type").and_then(|t| t.as_str()) != Some("object") {
        return Err(format!(
            "tool `{tool}`: {which} schema must have \"type\": \"object\" at the top"
        ));
    }
    Ok(map)
}

impl ToolsetMeta {
    /// Converts and checks what the guest returned.
    pub fn from_wit(
        info: wit::ToolsetInfo,
        tools: Vec<wit::Tool>,
        resources: Vec<wit::Resource>,
        templates: Vec<wit::ResourceTemplate>,
        prompts: Vec<wit::Prompt>,
    ) -> Result<ToolsetMeta, String> {
        if !valid_toolset_name(&info.name) {
            return Err(format!(
                "toolset name {:?} is invalid: use 1-64 characters of a-z, 0-9 and -",
                info.name
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut defs = Vec::with_capacity(tools.len());
        for t in tools {
            if !valid_tool_name(&t.name) {
                return Err(format!(
                    "tool name {:?} is invalid: use 1-128 characters of A-Z, a-z, 0-9, _, - and .",
                    t.name
                ));
            }
            if !seen.insert(t.name.clone()) {
                return Err(format!("tool `{}` is declared twice", t.name));
            }
            let input_schema = parse_schema(&t.name, "input", &t.input_schema)?;
            let output_schema = t
                .output_schema
                .as_deref()
                .map(|s| parse_schema(&t.name, "output", s))
                .transpose()?;
            defs.push(ToolDef {
                name: t.name,
                title: t.title,
                description: t.description,
                input_schema,
                output_schema,
                read_only: t.annotations.read_only,
                destructive: t.annotations.destructive,
                idempotent: t.annotations.idempotent,
                open_world: t.annotations.open_world,
            });
        }
        Ok(ToolsetMeta {
            name: info.name,
            version: info.version,
            description: info.description,
            capabilities: info
                .capabilities
                .into_iter()
                .map(|c| (c.name, c.reason))
                .collect(),
            tools: defs,
            resources: resources
                .into_iter()
                .map(|r| ResourceDef {
                    uri: r.uri,
                    name: r.name,
                    title: r.title,
                    description: r.description,
                    mime_type: r.mime_type,
                })
                .collect(),
            templates: templates
                .into_iter()
                .map(|r| TemplateDef {
                    uri_template: r.uri_template,
                    name: r.name,
                    title: r.title,
                    description: r.description,
                    mime_type: r.mime_type,
                })
                .collect(),
            prompts: prompts
                .into_iter()
                .map(|p| PromptDef {
                    name: p.name,
                    title: p.title,
                    description: p.description,
                    arguments: p
                        .arguments
                        .into_iter()
                        .map(|a| (a.name, a.description, a.required))
                        .collect(),
                })
                .collect(),
        })
    }
}

/// One piece of tool output.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentItem {
    /// Text.
    Text(String),
    /// JSON text.
    Json(String),
}

/// A tool result.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// Content.
    pub content: Vec<ContentItem>,
    /// Structured JSON text.
    pub structured: Option<String>,
    /// Error flag.
    pub is_error: bool,
}

/// Converts a WIT call result.
pub fn tool_result_from(r: wit::CallResult) -> ToolResult {
    ToolResult {
        content: r
            .content
            .into_iter()
            .map(|c| match c {
                wit::Content::Text(t) => ContentItem::Text(t),
                wit::Content::Json(j) => ContentItem::Json(j),
            })
            .collect(),
        structured: r.structured,
        is_error: r.is_error,
    }
}

/// Resource contents.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceText {
    /// URI.
    pub uri: String,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Text.
    pub text: String,
}

impl From<wit::ResourceContents> for ResourceText {
    fn from(r: wit::ResourceContents) -> Self {
        ResourceText {
            uri: r.uri,
            mime_type: r.mime_type,
            text: r.text,
        }
    }
}

/// A rendered prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptOut {
    /// Description.
    pub description: Option<String>,
    /// (is the user speaking, text).
    pub messages: Vec<(bool, String)>,
}

impl From<wit::PromptResult> for PromptOut {
    fn from(p: wit::PromptResult) -> Self {
        PromptOut {
            description: p.description,
            messages: p
                .messages
                .into_iter()
                .map(|m| (matches!(m.role, wit::Role::User), m.text))
                .collect(),
        }
    }
}

/// What an operation produced.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutput {
    /// From `call-tool`.
    Tool(ToolResult),
    /// From `read-resource`.
    Resource(Vec<ResourceText>),
    /// From `get-prompt`.
    Prompt(PromptOut),
    /// From `is-available`: `None` when available, else the reason.
    Availability(Option<String>),
}

impl CallOutput {
    /// Bytes of output, for the output limit.
    pub fn size(&self) -> u64 {
        match self {
            CallOutput::Tool(t) => {
                t.content.iter().map(|c| c.len()).sum::<u64>()
                    + t.structured.as_ref().map_or(0, |s| s.len() as u64)
            }
            CallOutput::Resource(r) => r.iter().map(|c| c.text.len() as u64).sum(),
            CallOutput::Prompt(p) => p.messages.iter().map(|m| m.1.len() as u64).sum(),
            CallOutput::Availability(r) => r.as_ref().map_or(0, |s| s.len() as u64),
        }
    }

    /// Checks that JSON the guest returned parses.
    pub fn check(&self, toolset: &str) -> Result<(), super::CallFailure> {
        let malformed = |message: String| super::CallFailure::Malformed {
            toolset: toolset.to_string(),
            message,
        };
        if let CallOutput::Tool(t) = self {
            for c in &t.content {
                if let ContentItem::Json(j) = c {
                    serde_json::from_str::<serde_json::Value>(j)
                        .map_err(|e| malformed(format!("json content does not parse: {e}")))?;
                }
            }
            if let Some(s) = &t.structured {
                let v: serde_json::Value = serde_json::from_str(s)
                    .map_err(|e| malformed(format!("structured result does not parse: {e}")))?;
                if !v.is_object() {
                    return Err(malformed("structured result is not a JSON object".into()));
                }
            }
        }
        Ok(())
    }
}

/// A typed error returned by the guest.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolErrorKind {
    /// Bad arguments.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// Not found.
    #[error("not found: {0}")]
    NotFound(String),
    /// Denied.
    #[error("denied: {0}")]
    Denied(String),
    /// Conflict.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Timeout.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Unavailable.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Other.
    #[error("{0}")]
    Failed(String),
}

impl From<wit::ToolError> for ToolErrorKind {
    fn from(e: wit::ToolError) -> Self {
        match e {
            wit::ToolError::InvalidArguments(m) => ToolErrorKind::InvalidArguments(m),
            wit::ToolError::NotFound(m) => ToolErrorKind::NotFound(m),
            wit::ToolError::Denied(m) => ToolErrorKind::Denied(m),
            wit::ToolError::Conflict(m) => ToolErrorKind::Conflict(m),
            wit::ToolError::Timeout(m) => ToolErrorKind::Timeout(m),
            wit::ToolError::Unavailable(m) => ToolErrorKind::Unavailable(m),
            wit::ToolError::Failed(m) => ToolErrorKind::Failed(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_follow_mcp_rules() {
        assert!(valid_tool_name("obi_k8s_status"));
        assert!(valid_tool_name("a.b-c"));
        assert!(!valid_tool_name(""));
        assert!(!valid_tool_name("has space"));
        assert!(!valid_tool_name(&"x".repeat(129)));
    }

    #[test]
    fn schema_must_be_object_typed() {
        assert!(parse_schema("t", "input", r#"{"type":"object"}"#).is_ok());
        assert!(parse_schema("t", "input", r#"{"type":"string"}"#).is_err());
        assert!(parse_schema("t", "input", "[1]").is_err());
        assert!(parse_schema("t", "input", "{").is_err());
    }
}
