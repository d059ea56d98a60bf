//! Resources and resource templates.

/// A concrete resource the toolset offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub(crate) uri: String,
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) mime_type: Option<String>,
}

impl Resource {
    /// A resource at `uri` (e.g. `obi://example/history`) with a short name.
    pub fn new(uri: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            name: name.into(),
            title: None,
            description: None,
            mime_type: None,
        }
    }

    /// Sets the human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets what the resource holds.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the MIME type of its contents.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// The resource's URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }
}

/// A family of resources addressed by an RFC 6570 URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceTemplate {
    pub(crate) uri_template: String,
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) mime_type: Option<String>,
}

impl ResourceTemplate {
    /// A template such as `obi://example/{name}` with a short name.
    pub fn new(uri_template: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            uri_template: uri_template.into(),
            name: name.into(),
            title: None,
            description: None,
            mime_type: None,
        }
    }

    /// Sets the human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets what the resources hold.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the MIME type of their contents.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// The URI template.
    pub fn uri_template(&self) -> &str {
        &self.uri_template
    }

    /// Matches `uri` against a template made of literal text and simple `{name}` expressions,
    /// returning each variable's percent-decoded value. A variable matches one or more
    /// characters up to the next literal text and never matches `/`.
    ///
    /// ```
    /// # use obi_toolset_sdk::ResourceTemplate;
    /// let template = ResourceTemplate::new("obi://k8s/{context}/status", "status");
    /// let vars = template.match_uri("obi://k8s/prod%20eu/status").unwrap();
    /// assert_eq!(vars, vec![("context".to_string(), "prod eu".to_string())]);
    /// assert_eq!(template.match_uri("obi://k8s/a/b/status"), None);
    /// ```
    pub fn match_uri(&self, uri: &str) -> Option<Vec<(String, String)>> {
        let mut vars = Vec::new();
        let mut template = self.uri_template.as_str();
        let mut rest = uri;
        while !template.is_empty() {
            if let Some(after_brace) = template.strip_prefix('{') {
                let close = after_brace.find('}')?;
                let name = &after_brace[..close];
                template = &after_brace[close + 1..];
                let literal_end = template.find('{').unwrap_or(template.len());
                let next_literal = &template[..literal_end];
                let end = if next_literal.is_empty() {
                    if template.is_empty() {
                        rest.len()
                    } else {
                        return None;
                    }
                } else {
                    rest.find(next_literal)?
                };
                let value = &rest[..end];
                if value.is_empty() || value.contains('/') {
                    return None;
                }
                vars.push((name.to_string(), percent_decode(value)?));
                rest = &rest[end..];
            } else {
                let literal_end = template.find('{').unwrap_or(template.len());
                rest = rest.strip_prefix(&template[..literal_end])?;
                template = &template[literal_end..];
            }
        }
        rest.is_empty().then_some(vars)
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Contents of a resource read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceContents {
    pub(crate) uri: String,
    pub(crate) mime_type: Option<String>,
    pub(crate) text: String,
}

impl ResourceContents {
    /// Text contents of the resource at `uri`.
    pub fn text(uri: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            mime_type: None,
            text: text.into(),
        }
    }

    /// Sets the MIME type.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// The URI of this piece of content.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The text.
    pub fn contents(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
        ResourceTemplate::new(template, "t").match_uri(uri)
    }

    #[test]
    fn template_matches_trailing_variable() {
        assert_eq!(
            vars("testbed://echo/{text}", "testbed://echo/hi%21"),
            Some(vec![("text".into(), "hi!".into())])
        );
    }

    #[test]
    fn template_matches_several_variables() {
        assert_eq!(
            vars("obi://{a}/x/{b}.json", "obi://one/x/two.json"),
            Some(vec![("a".into(), "one".into()), ("b".into(), "two".into())])
        );
    }

    #[test]
    fn template_rejects_other_uris() {
        assert_eq!(vars("testbed://echo/{text}", "testbed://info"), None);
        assert_eq!(vars("testbed://echo/{text}", "testbed://echo/"), None);
        assert_eq!(vars("testbed://echo/{text}", "testbed://echo/a/b"), None);
        assert_eq!(vars("testbed://echo/{text}", "testbed://echo/%zz"), None);
        assert_eq!(vars("obi://{a}{b}", "obi://xy"), None);
        assert_eq!(vars("obi://info", "obi://info"), Some(vec![]));
    }
}
