//! The trait a toolset implements.

use crate::{
    Context, Prompt, PromptResult, Resource, ResourceContents, ResourceTemplate, Tool, ToolError,
};

/// What a toolset says about itself: name, version, description and requested capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) description: String,
    pub(crate) capabilities: Vec<(String, String)>,
}

impl Info {
    /// `name` is a short identifier (`[a-z0-9-]`, unique among loaded toolsets), `version` the
    /// toolset's semver (usually `env!("CARGO_PKG_VERSION")`), `description` one paragraph.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            description: description.into(),
            capabilities: Vec::new(),
        }
    }

    /// Requests a capability (e.g. `state`), with the reason shown to the operator by
    /// `obi-mcp toolset inspect`. Host functions of capabilities not requested are denied.
    pub fn capability(mut self, name: impl Into<String>, reason: impl Into<String>) -> Self {
        self.capabilities.push((name.into(), reason.into()));
        self
    }

    /// The toolset's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Whether the toolset can work on this host right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// Ready to use.
    Available,
    /// Not usable; the reason says what the user can do about it.
    Unavailable(String),
}

impl Availability {
    /// Not usable, with a reason the user can act on.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::Unavailable(reason.into())
    }
}

/// A toolset. Implement it on a unit struct and register that with
/// [`export_toolset!`](crate::export_toolset).
///
/// Every function is called on a fresh instance, so none of them can keep data in memory for
/// the next call; use [`state`](crate::state) for that.
pub trait Toolset: 'static {
    /// Name, version, description and requested capabilities.
    fn info() -> Info;

    /// The tools, in the order they should be listed.
    fn tools() -> Vec<Tool>;

    /// Concrete resources. None by default.
    fn resources() -> Vec<Resource> {
        Vec::new()
    }

    /// Resource templates. None by default.
    fn resource_templates() -> Vec<ResourceTemplate> {
        Vec::new()
    }

    /// Reads a resource by URI (a listed one or one matching a template; see
    /// [`ResourceTemplate::match_uri`]). Not found by default.
    fn read_resource(ctx: &Context, uri: &str) -> Result<Vec<ResourceContents>, ToolError> {
        let _ = ctx;
        Err(ToolError::not_found(format!("no resource {uri}")))
    }

    /// Prompts. None by default.
    fn prompts() -> Vec<Prompt> {
        Vec::new()
    }

    /// Renders a prompt with the given `(name, value)` arguments. Called only for a prompt that
    /// [`Toolset::prompts`] lists, with all of its required arguments present.
    fn get_prompt(
        ctx: &Context,
        name: &str,
        args: &[(String, String)],
    ) -> Result<PromptResult, ToolError> {
        let _ = (ctx, args);
        Err(ToolError::not_found(format!("no prompt {name:?}")))
    }

    /// Whether the toolset can work here. Available by default.
    fn is_available() -> Availability {
        Availability::Available
    }
}
