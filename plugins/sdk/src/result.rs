//! Tool results.

use serde::Serialize;

use crate::ToolError;

/// One piece of a tool result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Plain or Markdown text.
    Text(String),
    /// JSON text; the host checks it parses and passes it on as text.
    Json(String),
}

impl Content {
    /// Text content.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }

    /// JSON content serialized from `value`.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, ToolError> {
        Ok(Self::Json(to_json(value)?))
    }
}

/// The outcome of a tool call that ran: content for the assistant, optional structured data, and
/// whether it is an error the assistant should read and act on (MCP `isError`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallResult {
    /// What the assistant reads.
    pub content: Vec<Content>,
    /// Structured result (JSON text) matching the tool's output schema.
    pub structured: Option<String>,
    /// True when the tool ran but failed in a way the assistant should read.
    pub is_error: bool,
}

impl CallResult {
    /// A result with these content pieces and nothing else.
    pub fn new(content: Vec<Content>) -> Self {
        Self {
            content,
            structured: None,
            is_error: false,
        }
    }

    /// A text result.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(vec![Content::text(text)])
    }

    /// An error result (`isError`) with this text, for failures the assistant should read.
    pub fn error_text(text: impl Into<String>) -> Self {
        Self {
            is_error: true,
            ..Self::text(text)
        }
    }

    /// A JSON content result, without structured data.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, ToolError> {
        Ok(Self::new(vec![Content::json(value)?]))
    }

    /// A structured result: `value` as structured data, mirrored as JSON content for clients
    /// that only read content. `value` must serialize to a JSON object (MCP requires it); any
    /// other value is returned as JSON content only.
    pub fn structured<T: Serialize + ?Sized>(value: &T) -> Result<Self, ToolError> {
        let value = serde_json::to_value(value).map_err(serialize_error)?;
        let text = to_json(&value)?;
        let structured = value.is_object().then(|| text.clone());
        Ok(Self {
            content: vec![Content::Json(text)],
            structured,
            is_error: false,
        })
    }

    /// Adds a text piece after the existing content.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.content.push(Content::text(text));
        self
    }

    /// Marks the result as an error (`isError`) or not.
    pub fn with_error(mut self, is_error: bool) -> Self {
        self.is_error = is_error;
        self
    }
}

/// What a tool made with [`Tool::reply`](crate::Tool::reply) returns: a readable text for the
/// assistant plus structured data (the tool's output schema), or an error result (`isError`)
/// the assistant should read and act on.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply<O> {
    /// Readable text, the first content piece.
    pub text: String,
    /// Structured data; always present on a success.
    pub data: Option<O>,
    /// Whether this is an error result (`isError`).
    pub is_error: bool,
    /// Whether the data is mirrored as JSON text content after `text` (default true; turn it off
    /// when `text` already carries everything, as for long log listings).
    pub mirror_json: bool,
}

impl<O> Reply<O> {
    /// A success: `text` for the assistant, `data` as structured content.
    pub fn ok(text: impl Into<String>, data: O) -> Self {
        Self {
            text: text.into(),
            data: Some(data),
            is_error: false,
            mirror_json: true,
        }
    }

    /// An error result (`isError`) with only text.
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            data: None,
            is_error: true,
            mirror_json: true,
        }
    }

    /// An error result (`isError`) that still carries data (not checked against the output
    /// schema by the host).
    pub fn error_with(text: impl Into<String>, data: O) -> Self {
        Self {
            text: text.into(),
            data: Some(data),
            is_error: true,
            mirror_json: true,
        }
    }

    /// Leaves the JSON mirror out of the content (the structured data is still returned).
    pub fn without_json_mirror(mut self) -> Self {
        self.mirror_json = false;
        self
    }
}

impl<O: Serialize> Reply<O> {
    /// The call result: text first, then (unless turned off) the data as JSON text, and the
    /// data as structured content.
    pub fn into_call_result(self) -> Result<CallResult, ToolError> {
        let mut content = vec![Content::Text(self.text)];
        let mut structured = None;
        if let Some(data) = &self.data {
            let value = serde_json::to_value(data).map_err(serialize_error)?;
            let text = to_json(&value)?;
            if self.mirror_json {
                content.push(Content::Json(text.clone()));
            }
            structured = value.is_object().then_some(text);
        }
        Ok(CallResult {
            content,
            structured,
            is_error: self.is_error,
        })
    }
}

impl From<String> for CallResult {
    fn from(text: String) -> Self {
        Self::text(text)
    }
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, ToolError> {
    serde_json::to_string(value).map_err(serialize_error)
}

fn serialize_error(error: serde_json::Error) -> ToolError {
    ToolError::failed(format!(
        "the tool's result could not be serialized as JSON: {error}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Out {
        port: u16,
    }

    #[test]
    fn structured_result_mirrors_the_data_as_json_content() {
        let result = CallResult::structured(&Out { port: 4317 }).unwrap();
        assert_eq!(result.structured.as_deref(), Some(r#"{"port":4317}"#));
        assert_eq!(
            result.content,
            vec![Content::Json(r#"{"port":4317}"#.into())]
        );
        assert!(!result.is_error);
    }

    #[test]
    fn structured_result_of_a_non_object_is_content_only() {
        let result = CallResult::structured(&[1, 2]).unwrap();
        assert_eq!(result.structured, None);
        assert_eq!(result.content, vec![Content::Json("[1,2]".into())]);
    }

    #[test]
    fn reply_puts_text_first_and_mirrors_the_data() {
        let result = Reply::ok("port 4317", Out { port: 4317 })
            .into_call_result()
            .unwrap();
        assert_eq!(
            result.content,
            vec![
                Content::Text("port 4317".into()),
                Content::Json(r#"{"port":4317}"#.into())
            ]
        );
        assert_eq!(result.structured.as_deref(), Some(r#"{"port":4317}"#));
        let quiet = Reply::ok("x", Out { port: 1 })
            .without_json_mirror()
            .into_call_result()
            .unwrap();
        assert_eq!(quiet.content.len(), 1);
        assert!(quiet.structured.is_some());
        let failed = Reply::<Out>::error("bad").into_call_result().unwrap();
        assert!(failed.is_error);
        assert_eq!(failed.structured, None);
    }

    #[test]
    fn error_text_sets_is_error() {
        let result = CallResult::error_text("no such endpoint");
        assert!(result.is_error);
        assert_eq!(
            result.content,
            vec![Content::Text("no such endpoint".into())]
        );
        assert_eq!(result.structured, None);
    }

    #[test]
    fn unserializable_result_is_a_failure() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(vec![1u8], 1);
        let error = CallResult::structured(&map).unwrap_err();
        assert!(matches!(error, ToolError::Failed(_)), "{error}");
    }
}
