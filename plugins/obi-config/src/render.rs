//! Rendering a configuration document back to YAML or JSON, keeping key order.
//!
//! Comments and anchors of a hand-written YAML file do not survive a parse/render round trip;
//! edit such a file with [`crate::update_yaml`], and use [`yaml_has_comments`] to warn before
//! overwriting one with a rendered document.

use serde_json::Value;
use thiserror::Error;

/// Why a document could not be rendered.
#[derive(Debug, Error)]
pub enum RenderError {
    /// The YAML serializer failed.
    #[error("cannot render YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
}

/// Renders a document as YAML.
pub fn to_yaml(doc: &Value) -> Result<String, RenderError> {
    Ok(serde_norway::to_string(doc)?)
}

/// Renders a document as pretty-printed JSON.
pub fn to_json(doc: &Value) -> String {
    // A Value always serializes; fall back to the compact form rather than panic.
    serde_json::to_string_pretty(doc).unwrap_or_else(|_| doc.to_string())
}

/// Whether YAML text has comments that a parse/render round trip would drop.
pub fn yaml_has_comments(text: &str) -> bool {
    text.lines().any(|line| {
        let t = line.trim_start();
        if t.starts_with('#') {
            return true;
        }
        // ` #` outside quotes starts a comment.
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        for c in line.chars() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '"' || c == '\'' => quote = Some(c),
                None if c == '#' && prev.is_whitespace() => return true,
                None => {}
            }
            prev = c;
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_json, parse_yaml};

    #[test]
    fn yaml_round_trip_keeps_order_and_values() {
        let text =
            "zeta: 1\ndiscovery:\n  instrument:\n  - open_ports: 8080\nalpha: x\nlog_level: INFO\n";
        let doc = parse_yaml(text).unwrap();
        let out = to_yaml(&doc).unwrap();
        assert_eq!(out, text);
        assert_eq!(parse_yaml(&out).unwrap(), doc);
    }

    #[test]
    fn json_round_trip() {
        let doc = parse_yaml("b: [1, 2]\na: {c: true}\n").unwrap();
        let json = to_json(&doc);
        assert!(json.find("\"b\"").unwrap() < json.find("\"a\"").unwrap());
        assert_eq!(parse_json(&json).unwrap(), doc);
    }

    #[test]
    fn strings_that_look_like_other_types_stay_strings() {
        let doc = serde_json::json!({"a": "true", "b": "8080", "c": "", "d": "x: y", "e": "null"});
        let back = parse_yaml(&to_yaml(&doc).unwrap()).unwrap();
        assert_eq!(back, doc);
    }

    #[test]
    fn comment_detection() {
        assert!(yaml_has_comments("# header\na: 1\n"));
        assert!(yaml_has_comments("a: 1 # trailing\n"));
        assert!(!yaml_has_comments("a: \"not # a comment\"\nb: c#d\n"));
    }
}
