//! Tools declared as typed Rust functions.

use std::fmt;

use schemars::{JsonSchema, Schema};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{CallResult, Context, Reply, ToolError};

type Handler = Box<dyn Fn(&Context, &str) -> Result<CallResult, ToolError>>;

/// Arguments of a tool that takes none: its input schema is an empty object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub struct NoArgs {}

impl JsonSchema for NoArgs {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NoArgs".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> Schema {
        schemars::json_schema!({ "type": "object", "properties": {} })
    }
}

/// A tool: its name, description, behaviour hints, schemas and the function that runs it.
///
/// Declaring a tool is cheap: the schemas are generated only when the host lists the tools.
pub struct Tool {
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    pub(crate) description: String,
    pub(crate) read_only: bool,
    pub(crate) destructive: bool,
    pub(crate) idempotent: bool,
    pub(crate) open_world: bool,
    input_schema: fn() -> Schema,
    output_schema: Option<fn() -> Schema>,
    handler: Handler,
}

impl Tool {
    /// A tool returning data: `O` becomes the structured result (mirrored as JSON text) and its
    /// schema the tool's output schema. `O` should serialize to a JSON object (a struct).
    ///
    /// `I` is deserialized from the call's arguments; its schema is the input schema and must
    /// describe an object (a struct, or [`NoArgs`]). Doc comments on the fields become
    /// descriptions in the schema.
    pub fn new<I, O, F>(name: impl Into<String>, description: impl Into<String>, run: F) -> Self
    where
        I: DeserializeOwned + JsonSchema + 'static,
        O: Serialize + JsonSchema + 'static,
        F: Fn(&Context, I) -> Result<O, ToolError> + 'static,
    {
        let handler = move |ctx: &Context, arguments: &str| {
            let out = run(ctx, parse_arguments(arguments)?)?;
            CallResult::structured(&out)
        };
        Self::with_handler::<I>(
            name,
            description,
            Some(object_schema::<O>),
            Box::new(handler),
        )
    }

    /// A tool returning a readable text together with structured data: `O` is the output
    /// schema, and the [`Reply`] says whether the result is an error (`isError`). Use it when
    /// the assistant should read a summary as well as the data.
    pub fn reply<I, O, F>(name: impl Into<String>, description: impl Into<String>, run: F) -> Self
    where
        I: DeserializeOwned + JsonSchema + 'static,
        O: Serialize + JsonSchema + 'static,
        F: Fn(&Context, I) -> Result<Reply<O>, ToolError> + 'static,
    {
        let handler = move |ctx: &Context, arguments: &str| {
            run(ctx, parse_arguments(arguments)?)?.into_call_result()
        };
        Self::with_handler::<I>(
            name,
            description,
            Some(object_schema::<O>),
            Box::new(handler),
        )
    }

    /// A tool returning text, with no output schema.
    pub fn text<I, F>(name: impl Into<String>, description: impl Into<String>, run: F) -> Self
    where
        I: DeserializeOwned + JsonSchema + 'static,
        F: Fn(&Context, I) -> Result<String, ToolError> + 'static,
    {
        let handler = move |ctx: &Context, arguments: &str| {
            run(ctx, parse_arguments(arguments)?).map(CallResult::text)
        };
        Self::with_handler::<I>(name, description, None, Box::new(handler))
    }

    /// A tool that builds its [`CallResult`] itself (several content pieces, `isError`
    /// results), with no output schema.
    pub fn raw<I, F>(name: impl Into<String>, description: impl Into<String>, run: F) -> Self
    where
        I: DeserializeOwned + JsonSchema + 'static,
        F: Fn(&Context, I) -> Result<CallResult, ToolError> + 'static,
    {
        let handler = move |ctx: &Context, arguments: &str| run(ctx, parse_arguments(arguments)?);
        Self::with_handler::<I>(name, description, None, Box::new(handler))
    }

    fn with_handler<I: JsonSchema>(
        name: impl Into<String>,
        description: impl Into<String>,
        output_schema: Option<fn() -> Schema>,
        handler: Handler,
    ) -> Self {
        Self {
            name: name.into(),
            title: None,
            description: description.into(),
            read_only: false,
            destructive: false,
            idempotent: false,
            open_world: false,
            input_schema: object_schema::<I>,
            output_schema,
            handler,
        }
    }

    /// Sets the human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Marks the tool as changing nothing.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Marks the tool as possibly destroying or overwriting something.
    pub fn destructive(mut self) -> Self {
        self.destructive = true;
        self
    }

    /// Marks the tool as having no further effect when called again with the same arguments.
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// Marks the tool as talking to things outside the host (clusters, registries, network).
    pub fn open_world(mut self) -> Self {
        self.open_world = true;
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The input JSON Schema (always `"type": "object"` at the top).
    pub fn input_schema(&self) -> serde_json::Value {
        (self.input_schema)().to_value()
    }

    /// The output JSON Schema, for tools made with [`Tool::new`] whose output is an object.
    pub fn output_schema(&self) -> Option<serde_json::Value> {
        let schema = (self.output_schema?)().to_value();
        is_object_schema(&schema).then_some(schema)
    }

    /// Runs the tool with `arguments` (a JSON object as text), as the host would.
    pub fn call(&self, ctx: &Context, arguments: &str) -> Result<CallResult, ToolError> {
        (self.handler)(ctx, arguments)
    }
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .field("title", &self.title)
            .field("read_only", &self.read_only)
            .field("destructive", &self.destructive)
            .field("idempotent", &self.idempotent)
            .field("open_world", &self.open_world)
            .finish_non_exhaustive()
    }
}

/// The schema of `T`, with `"type": "object"` added at the top when it has no type (as for
/// internally tagged enums, whose variants are objects).
fn object_schema<T: JsonSchema>() -> Schema {
    let mut schema = schemars::schema_for!(T);
    if let Some(object) = schema.as_object_mut() {
        object.entry("type").or_insert_with(|| "object".into());
    }
    schema
}

fn is_object_schema(schema: &serde_json::Value) -> bool {
    schema.get("type").and_then(|t| t.as_str()) == Some("object")
}

/// Deserializes tool arguments, naming the offending field in the error.
pub(crate) fn parse_arguments<I: DeserializeOwned>(arguments: &str) -> Result<I, ToolError> {
    let arguments = match arguments.trim() {
        "" | "null" => "{}",
        text => text,
    };
    let mut deserializer = serde_json::Deserializer::from_str(arguments);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = strip_position(&error.inner().to_string());
        ToolError::invalid_arguments(if path == "." {
            message
        } else {
            format!("field `{path}`: {message}")
        })
    })?;
    deserializer
        .end()
        .map_err(|error| ToolError::invalid_arguments(strip_position(&error.to_string())))?;
    Ok(value)
}

/// Drops serde_json's " at line 1 column 17", which means nothing to the caller.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => message[..at].to_string(),
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// Arguments.
    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Args {
        /// Where to send.
        endpoint: String,
        /// How many.
        count: Option<u32>,
        nested: Option<Nested>,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Nested {
        port: u16,
    }

    #[derive(Serialize, JsonSchema)]
    struct Out {
        echoed: String,
    }

    #[derive(Deserialize, JsonSchema)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Tagged {
        Grpc { port: u16 },
        Http { url: String },
    }

    fn echo(_: &Context, args: Args) -> Result<Out, ToolError> {
        Ok(Out {
            echoed: args.endpoint,
        })
    }

    #[test]
    fn input_schema_is_an_object_with_field_descriptions() {
        let tool = Tool::new("t_echo", "Echoes.", echo);
        let schema = tool.input_schema();
        assert_eq!(schema["type"], "object");
        assert_eq!(
            schema["properties"]["endpoint"]["description"],
            "Where to send."
        );
        assert_eq!(schema["required"], serde_json::json!(["endpoint"]));
    }

    #[test]
    fn no_args_schema_is_an_empty_object() {
        let tool = Tool::text("t_none", "Nothing.", |_, _: NoArgs| Ok("ok".into()));
        let schema = tool.input_schema();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"], serde_json::json!({}));
        assert_eq!(tool.output_schema(), None);
        assert_eq!(
            tool.call(&Context::detached(), "{}").unwrap(),
            CallResult::text("ok")
        );
        assert_eq!(
            tool.call(&Context::detached(), "").unwrap(),
            CallResult::text("ok")
        );
    }

    #[test]
    fn tagged_enum_input_schema_gets_type_object() {
        let tool = Tool::raw("t_tag", "Tagged.", |_, _: Tagged| {
            Ok(CallResult::text("ok"))
        });
        assert_eq!(tool.input_schema()["type"], "object");
    }

    #[test]
    fn output_schema_is_generated_for_data_tools_only() {
        let tool = Tool::new("t_echo", "Echoes.", echo);
        let schema = tool.output_schema().expect("an output schema");
        assert_eq!(schema["type"], "object");
        assert!(schema["properties"]["echoed"].is_object());
        let text = Tool::text("t_text", "Text.", |_, _: NoArgs| Ok(String::new()));
        assert_eq!(text.output_schema(), None);
    }

    #[test]
    fn output_schema_is_omitted_when_the_output_is_not_an_object() {
        let tool = Tool::new("t_list", "List.", |_, _: NoArgs| Ok(vec![1u8]));
        assert_eq!(tool.output_schema(), None);
        let result = tool.call(&Context::detached(), "{}").unwrap();
        assert_eq!(result.structured, None);
    }

    #[test]
    fn call_returns_structured_result_with_json_mirror() {
        let tool = Tool::new("t_echo", "Echoes.", echo);
        let result = tool
            .call(&Context::detached(), r#"{"endpoint":"http://x:4318"}"#)
            .unwrap();
        assert_eq!(
            result.structured.as_deref(),
            Some(r#"{"echoed":"http://x:4318"}"#)
        );
        assert_eq!(
            result.content,
            vec![crate::Content::Json(r#"{"echoed":"http://x:4318"}"#.into())]
        );
    }

    #[test]
    fn missing_field_error_names_the_field() {
        let error = parse_arguments::<Args>("{}").err().unwrap();
        assert_eq!(
            error,
            ToolError::invalid_arguments("missing field `endpoint`")
        );
    }

    #[test]
    fn wrong_type_error_names_the_field_without_position() {
        let error = parse_arguments::<Args>(r#"{"endpoint":"x","count":"three"}"#)
            .err()
            .unwrap();
        assert_eq!(
            error,
            ToolError::invalid_arguments(
                "field `count`: invalid type: string \"three\", expected u32"
            )
        );
    }

    #[test]
    fn nested_error_names_the_path() {
        let error = parse_arguments::<Args>(r#"{"endpoint":"x","nested":{"port":70000}}"#)
            .err()
            .unwrap();
        let ToolError::InvalidArguments(message) = error else {
            panic!("{error}")
        };
        assert!(message.starts_with("field `nested.port`: "), "{message}");
    }

    #[test]
    fn malformed_json_is_invalid_arguments() {
        let error = parse_arguments::<Args>("{").err().unwrap();
        assert!(matches!(error, ToolError::InvalidArguments(_)), "{error}");
        let error = parse_arguments::<Args>(r#"{"endpoint":"x"} trailing"#)
            .err()
            .unwrap();
        assert!(matches!(error, ToolError::InvalidArguments(_)), "{error}");
    }

    #[test]
    fn tool_errors_pass_through() {
        let tool = Tool::new("t_fail", "Fails.", |_, _: NoArgs| -> Result<Out, _> {
            Err(ToolError::unavailable("no collector"))
        });
        assert_eq!(
            tool.call(&Context::detached(), "{}").unwrap_err(),
            ToolError::unavailable("no collector")
        );
    }
}
