//! Glue between a [`Toolset`] and the generated `toolset` export.

use std::marker::PhantomData;

use crate::__private::bindings::exports::obi::toolset::toolset::Guest;
use crate::__private::bindings::obi::toolset::types as wit;
use crate::{
    Availability, Content, Context, Prompt, PromptResult, ResourceContents, Role, ToolError,
    Toolset,
};

/// Implements the generated `Guest` trait for any [`Toolset`].
pub struct Adapter<T>(PhantomData<T>);

impl<T: Toolset> Guest for Adapter<T> {
    fn describe() -> wit::ToolsetInfo {
        let info = T::info();
        wit::ToolsetInfo {
            name: info.name,
            version: info.version,
            description: info.description,
            capabilities: info
                .capabilities
                .into_iter()
                .map(|(name, reason)| wit::CapabilityRequest { name, reason })
                .collect(),
        }
    }

    fn list_tools() -> Vec<wit::Tool> {
        T::tools()
            .into_iter()
            .map(|tool| wit::Tool {
                input_schema: tool.input_schema().to_string(),
                output_schema: tool.output_schema().map(|schema| schema.to_string()),
                annotations: wit::ToolAnnotations {
                    read_only: tool.read_only,
                    destructive: tool.destructive,
                    idempotent: tool.idempotent,
                    open_world: tool.open_world,
                },
                name: tool.name,
                title: tool.title,
                description: tool.description,
            })
            .collect()
    }

    fn call_tool(
        name: String,
        arguments: String,
        context: wit::CallContext,
    ) -> Result<wit::CallResult, wit::ToolError> {
        let ctx = context_from(context);
        let tools = T::tools();
        let tool = tools
            .iter()
            .find(|tool| tool.name == name)
            .ok_or_else(|| ToolError::not_found(format!("no tool named {name:?}")))
            .map_err(tool_error)?;
        let result = tool.call(&ctx, &arguments).map_err(tool_error)?;
        Ok(wit::CallResult {
            content: result
                .content
                .into_iter()
                .map(|content| match content {
                    Content::Text(text) => wit::Content::Text(text),
                    Content::Json(json) => wit::Content::Json(json),
                })
                .collect(),
            structured: result.structured,
            is_error: result.is_error,
        })
    }

    fn list_resources() -> Vec<wit::Resource> {
        T::resources()
            .into_iter()
            .map(|r| wit::Resource {
                uri: r.uri,
                name: r.name,
                title: r.title,
                description: r.description,
                mime_type: r.mime_type,
            })
            .collect()
    }

    fn list_resource_templates() -> Vec<wit::ResourceTemplate> {
        T::resource_templates()
            .into_iter()
            .map(|t| wit::ResourceTemplate {
                uri_template: t.uri_template,
                name: t.name,
                title: t.title,
                description: t.description,
                mime_type: t.mime_type,
            })
            .collect()
    }

    fn read_resource(
        uri: String,
        context: wit::CallContext,
    ) -> Result<Vec<wit::ResourceContents>, wit::ToolError> {
        let contents = T::read_resource(&context_from(context), &uri).map_err(tool_error)?;
        Ok(contents
            .into_iter()
            .map(
                |ResourceContents {
                     uri,
                     mime_type,
                     text,
                 }| wit::ResourceContents {
                    uri,
                    mime_type,
                    text,
                },
            )
            .collect())
    }

    fn list_prompts() -> Vec<wit::Prompt> {
        T::prompts()
            .into_iter()
            .map(|p| wit::Prompt {
                name: p.name,
                title: p.title,
                description: p.description,
                arguments: p
                    .arguments
                    .into_iter()
                    .map(|a| wit::PromptArgument {
                        name: a.name,
                        description: a.description,
                        required: a.required,
                    })
                    .collect(),
            })
            .collect()
    }

    fn get_prompt(
        name: String,
        arguments: Vec<(String, String)>,
        context: wit::CallContext,
    ) -> Result<wit::PromptResult, wit::ToolError> {
        let result =
            render_prompt::<T>(&context_from(context), &name, &arguments).map_err(tool_error)?;
        Ok(wit::PromptResult {
            description: result.description,
            messages: result
                .messages
                .into_iter()
                .map(|m| wit::PromptMessage {
                    role: match m.role {
                        Role::User => wit::Role::User,
                        Role::Assistant => wit::Role::Assistant,
                    },
                    text: m.text,
                })
                .collect(),
        })
    }

    fn is_available() -> wit::Availability {
        match T::is_available() {
            Availability::Available => wit::Availability::Available,
            Availability::Unavailable(reason) => wit::Availability::Unavailable(reason),
        }
    }
}

/// Checks that the prompt exists and has its required arguments, then renders it.
fn render_prompt<T: Toolset>(
    ctx: &Context,
    name: &str,
    arguments: &[(String, String)],
) -> Result<PromptResult, ToolError> {
    let prompts = T::prompts();
    let prompt: &Prompt = prompts
        .iter()
        .find(|prompt| prompt.name == name)
        .ok_or_else(|| ToolError::not_found(format!("no prompt named {name:?}")))?;
    if let Some(missing) = prompt
        .arguments
        .iter()
        .find(|arg| arg.required && !arguments.iter().any(|(given, _)| *given == arg.name))
    {
        return Err(ToolError::invalid_arguments(format!(
            "prompt {name:?} needs the argument `{}`",
            missing.name
        )));
    }
    T::get_prompt(ctx, name, arguments)
}

fn context_from(context: wit::CallContext) -> Context {
    Context::new(
        context.request_id,
        context.client_name,
        context.deadline_ms,
        context.wants_progress,
    )
}

fn tool_error(error: ToolError) -> wit::ToolError {
    match error {
        ToolError::InvalidArguments(m) => wit::ToolError::InvalidArguments(m),
        ToolError::NotFound(m) => wit::ToolError::NotFound(m),
        ToolError::Denied(m) => wit::ToolError::Denied(m),
        ToolError::Conflict(m) => wit::ToolError::Conflict(m),
        ToolError::Timeout(m) => wit::ToolError::Timeout(m),
        ToolError::Unavailable(m) => wit::ToolError::Unavailable(m),
        ToolError::Failed(m) => wit::ToolError::Failed(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Info, PromptArgument, Tool};

    struct Prompts;

    impl Toolset for Prompts {
        fn info() -> Info {
            Info::new("prompts", "0.1.0", "Test.")
        }

        fn tools() -> Vec<Tool> {
            Vec::new()
        }

        fn prompts() -> Vec<Prompt> {
            vec![
                Prompt::new("diagnose", "Diagnose.")
                    .argument(PromptArgument::required("service", "The service.")),
            ]
        }

        fn get_prompt(
            _: &Context,
            _: &str,
            args: &[(String, String)],
        ) -> Result<PromptResult, ToolError> {
            Ok(PromptResult::user(format!("diagnose {}", args[0].1)))
        }
    }

    #[test]
    fn prompt_without_required_argument_is_refused_naming_it() {
        let error = render_prompt::<Prompts>(&Context::detached(), "diagnose", &[]).unwrap_err();
        assert_eq!(
            error,
            ToolError::invalid_arguments("prompt \"diagnose\" needs the argument `service`")
        );
    }

    #[test]
    fn unknown_prompt_is_not_found() {
        let error = render_prompt::<Prompts>(&Context::detached(), "nope", &[]).unwrap_err();
        assert!(matches!(error, ToolError::NotFound(_)));
    }

    #[test]
    fn prompt_with_its_arguments_renders() {
        let args = [("service".to_string(), "checkout".to_string())];
        let result = render_prompt::<Prompts>(&Context::detached(), "diagnose", &args).unwrap();
        assert_eq!(result, PromptResult::user("diagnose checkout"));
    }
}
