//! The union of loaded toolsets as MCP sees it: tools, resources, templates and prompts, with
//! indexes for routing and lazily compiled argument validators.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use rmcp::model::{Prompt, Resource, ResourceTemplate, Tool};

use crate::runtime::LoadedToolset;
use crate::runtime::meta::ToolDef;

/// One routable tool.
pub struct ToolEntry {
    /// Index of its toolset in [`Registry::toolsets`].
    pub toolset: usize,
    /// Its definition.
    pub def: ToolDef,
    validator: OnceLock<Result<jsonschema::Validator, String>>,
    output_validator: OnceLock<Option<Result<jsonschema::Validator, String>>>,
}

impl ToolEntry {
    /// Checks `args` against the input schema; the error names the offending fields.
    pub fn validate(&self, args: &serde_json::Value) -> Result<(), String> {
        let validator = self.validator.get_or_init(|| {
            jsonschema::validator_for(&serde_json::Value::Object(self.def.input_schema.clone()))
                .map_err(|e| format!("the tool's input schema is invalid: {e}"))
        });
        let validator = validator.as_ref().map_err(Clone::clone)?;
        describe_errors(validator, args)
            .map_err(|e| format!("invalid arguments for tool `{}`: {e}", self.def.name))
    }

    /// Checks a structured result against the output schema, when there is one.
    pub fn validate_output(&self, value: &serde_json::Value) -> Result<(), String> {
        let Some(schema) = &self.def.output_schema else {
            return Ok(());
        };
        let validator = self.output_validator.get_or_init(|| {
            Some(
                jsonschema::validator_for(&serde_json::Value::Object(schema.clone()))
                    .map_err(|e| format!("the tool's output schema is invalid: {e}")),
            )
        });
        match validator {
            Some(Ok(v)) => describe_errors(v, value),
            Some(Err(e)) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

fn describe_errors(
    validator: &jsonschema::Validator,
    value: &serde_json::Value,
) -> Result<(), String> {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .take(5)
        .map(|e| {
            let path = e.instance_path().to_string();
            if path.is_empty() {
                e.to_string()
            } else {
                format!("at `{path}`: {e}")
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// A URI template split into literal and variable parts (RFC 6570 level 1 `{var}` only).
struct TemplateMatcher {
    parts: Vec<Part>,
}

enum Part {
    Lit(String),
    Var,
}

impl TemplateMatcher {
    fn new(template: &str) -> TemplateMatcher {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Lit(rest[..open].to_string()));
            }
            match rest[open..].find('}') {
                Some(close) => {
                    parts.push(Part::Var);
                    rest = &rest[open + close + 1..];
                }
                None => {
                    parts.push(Part::Lit(rest[open..].to_string()));
                    rest = "";
                }
            }
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        TemplateMatcher { parts }
    }

    fn matches(&self, uri: &str) -> bool {
        fn go(parts: &[Part], s: &str) -> bool {
            match parts.split_first() {
                None => s.is_empty(),
                Some((Part::Lit(l), rest)) => {
                    s.strip_prefix(l.as_str()).is_some_and(|s| go(rest, s))
                }
                Some((Part::Var, rest)) => {
                    // A variable matches one or more characters other than '/'.
                    let max = s.find('/').unwrap_or(s.len());
                    (1..=max).any(|n| go(rest, &s[n..]))
                }
            }
        }
        go(&self.parts, uri)
    }
}

/// Everything the MCP layer serves.
pub struct Registry {
    /// Loaded toolsets in load order.
    pub toolsets: Vec<Arc<LoadedToolset>>,
    /// Components that were refused: (label, reason).
    pub refused: Vec<(String, String)>,
    /// tools/list, precomputed.
    pub tools: Arc<Vec<Tool>>,
    tool_index: HashMap<String, Arc<ToolEntry>>,
    /// resources/list, precomputed.
    pub resources: Arc<Vec<Resource>>,
    resource_index: HashMap<String, usize>,
    /// resources/templates/list, precomputed.
    pub templates: Arc<Vec<ResourceTemplate>>,
    template_index: Vec<(TemplateMatcher, usize)>,
    /// prompts/list, precomputed.
    pub prompts: Arc<Vec<Prompt>>,
    prompt_index: HashMap<String, (usize, usize)>,
}

impl Registry {
    /// Builds the registry; with `read_only`, tools not marked read-only are left out.
    pub fn build(
        toolsets: Vec<LoadedToolset>,
        refused: Vec<(String, String)>,
        read_only: bool,
    ) -> Registry {
        let toolsets: Vec<Arc<LoadedToolset>> = toolsets.into_iter().map(Arc::new).collect();
        let mut tools = Vec::new();
        let mut tool_index = HashMap::new();
        let mut resources = Vec::new();
        let mut resource_index = HashMap::new();
        let mut templates = Vec::new();
        let mut template_index = Vec::new();
        let mut prompts = Vec::new();
        let mut prompt_index = HashMap::new();
        for (ti, ts) in toolsets.iter().enumerate() {
            for def in &ts.meta.tools {
                if read_only && !def.read_only {
                    continue;
                }
                tools.push(mcp_tool(def));
                tool_index.insert(
                    def.name.clone(),
                    Arc::new(ToolEntry {
                        toolset: ti,
                        def: def.clone(),
                        validator: OnceLock::new(),
                        output_validator: OnceLock::new(),
                    }),
                );
            }
            for r in &ts.meta.resources {
                if resource_index.contains_key(&r.uri) {
                    tracing::warn!(toolset = %ts.meta.name, uri = %r.uri, "resource URI already provided by another toolset; ignoring");
                    continue;
                }
                resource_index.insert(r.uri.clone(), ti);
                resources.push(from_json(serde_json::json!({
                    "uri": r.uri, "name": r.name, "title": r.title,
                    "description": r.description, "mimeType": r.mime_type,
                })));
            }
            for t in &ts.meta.templates {
                template_index.push((TemplateMatcher::new(&t.uri_template), ti));
                templates.push(from_json(serde_json::json!({
                    "uriTemplate": t.uri_template, "name": t.name, "title": t.title,
                    "description": t.description, "mimeType": t.mime_type,
                })));
            }
            for (pi, p) in ts.meta.prompts.iter().enumerate() {
                if prompt_index.contains_key(&p.name) {
                    tracing::warn!(toolset = %ts.meta.name, prompt = %p.name, "prompt name already provided by another toolset; ignoring");
                    continue;
                }
                prompt_index.insert(p.name.clone(), (ti, pi));
                let args: Vec<serde_json::Value> = p
                    .arguments
                    .iter()
                    .map(
                        |(n, d, r)| serde_json::json!({"name": n, "description": d, "required": r}),
                    )
                    .collect();
                prompts.push(from_json(serde_json::json!({
                    "name": p.name, "title": p.title, "description": p.description,
                    "arguments": args,
                })));
            }
        }
        Registry {
            toolsets,
            refused,
            tools: Arc::new(tools),
            tool_index,
            resources: Arc::new(resources),
            resource_index,
            templates: Arc::new(templates),
            template_index,
            prompts: Arc::new(prompts),
            prompt_index,
        }
    }

    /// The tool named `name`.
    pub fn tool(&self, name: &str) -> Option<&Arc<ToolEntry>> {
        self.tool_index.get(name)
    }

    /// The toolset serving resource `uri` (a listed one, else the first matching template).
    pub fn resource_owner(&self, uri: &str) -> Option<&Arc<LoadedToolset>> {
        let idx = self.resource_index.get(uri).copied().or_else(|| {
            self.template_index
                .iter()
                .find(|(m, _)| m.matches(uri))
                .map(|(_, i)| *i)
        })?;
        self.toolsets.get(idx)
    }

    /// The toolset and definition of prompt `name`.
    pub fn prompt(
        &self,
        name: &str,
    ) -> Option<(&Arc<LoadedToolset>, &crate::runtime::meta::PromptDef)> {
        let (ti, pi) = *self.prompt_index.get(name)?;
        let ts = self.toolsets.get(ti)?;
        Some((ts, ts.meta.prompts.get(pi)?))
    }

    /// Names of all tools, in list order (to detect changes on reload).
    pub fn tool_names(&self) -> Vec<String> {
        self.tools.iter().map(|t| t.name.to_string()).collect()
    }
}

fn from_json<T: serde::de::DeserializeOwned>(mut v: serde_json::Value) -> T {
    if let Some(map) = v.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    serde_json::from_value(v).expect("registry builds valid MCP objects")
}

fn mcp_tool(def: &ToolDef) -> Tool {
    let mut annotations = serde_json::json!({
        "readOnlyHint": def.read_only,
        "idempotentHint": def.idempotent,
        "openWorldHint": def.open_world,
    });
    if !def.read_only {
        annotations["destructiveHint"] = def.destructive.into();
    }
    if let Some(t) = &def.title {
        annotations["title"] = t.clone().into();
    }
    from_json(serde_json::json!({
        "name": def.name,
        "title": def.title,
        "description": def.description,
        "inputSchema": def.input_schema,
        "outputSchema": def.output_schema,
        "annotations": annotations,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_matching() {
        let m = TemplateMatcher::new("obi://k8s/{context}/status");
        assert!(m.matches("obi://k8s/prod/status"));
        assert!(!m.matches("obi://k8s//status"));
        assert!(!m.matches("obi://k8s/a/b/status"));
        assert!(!m.matches("obi://k8s/prod/statusx"));
        let e = TemplateMatcher::new("testbed://echo/{text}");
        assert!(e.matches("testbed://echo/hello"));
        assert!(!e.matches("testbed://echo/"));
    }
}
