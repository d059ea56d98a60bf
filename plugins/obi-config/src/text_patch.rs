//! Applying a merge patch to YAML *text*, so a hand-written file keeps its comments, blank lines,
//! quoting and layout wherever the patch does not touch it.
//!
//! The editor understands block-style mappings (`key: value` lines, nested by indentation) —
//! the way OBI configs are written. It replaces, inserts and deletes whole `key:` entries and
//! renders only the new values. Anything it does not understand (flow mappings it would have to
//! edit inside, multi-document files, tabs) makes it give up, and every result is checked: the
//! edited text must parse to exactly the merged document, or the caller falls back to rendering
//! the whole document ([`crate::to_yaml`]).

use crate::finding::Report;
use crate::merge::{changed_paths, merge_patch};
use crate::parse::{ParseError, parse_yaml};
use crate::render::{to_yaml, yaml_has_comments};
use crate::validate::{ValidateOptions, validate};
use serde_json::{Map, Value};

/// The outcome of [`update_yaml`].
#[derive(Debug, Clone, PartialEq)]
pub struct TextUpdated {
    /// The new file content.
    pub text: String,
    /// The merged document (what `text` parses to).
    pub document: Value,
    /// Findings for the merged document; callers must not write `text` when it has errors.
    pub report: Report,
    /// Dotted paths that were added, removed or changed.
    pub changed_paths: Vec<String>,
    /// False when the file had comments and they could not be kept (the whole document was
    /// re-rendered); callers should keep a backup and say so.
    pub comments_kept: bool,
}

/// Applies a merge patch to a YAML file's text, keeping comments and layout where possible, and
/// validates the result.
pub fn update_yaml(
    text: &str,
    patch: &Value,
    opts: &ValidateOptions,
) -> Result<TextUpdated, ParseError> {
    let current = parse_yaml(text)?;
    let mut document = current.clone();
    merge_patch(&mut document, patch);
    let changed = changed_paths(&current, &document);
    let report = validate(&document, opts);
    let (text, comments_kept) = if changed.is_empty() {
        (text.to_string(), true)
    } else {
        match patch_yaml_text(text, patch) {
            Some(edited) => (edited, true),
            None => (
                to_yaml(&document).unwrap_or_default(),
                !yaml_has_comments(text),
            ),
        }
    };
    Ok(TextUpdated {
        text,
        document,
        report,
        changed_paths: changed,
        comments_kept,
    })
}

/// Applies a merge patch to YAML text, editing only the entries it changes. Returns `None` when
/// the text cannot be edited in place (the caller should render the merged document instead).
pub fn patch_yaml_text(text: &str, patch: &Value) -> Option<String> {
    if text.contains('\t') || text.len() > crate::parse::MAX_INPUT_BYTES {
        return None;
    }
    let original = parse_yaml(text).ok()?;
    let mut merged = original.clone();
    merge_patch(&mut merged, patch);
    if !patch.is_object() {
        return None;
    }
    let mut ops = Vec::new();
    plan(&original, patch, &mut Vec::new(), &mut ops);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Each edit rescans the file: bound the work, render the document for huge edits.
    if ops.len().saturating_mul(lines.len()) > 5_000_000 {
        return None;
    }
    if lines
        .iter()
        .any(|l| l.trim_end() == "---" || l.starts_with("..."))
    {
        // `---` only as the very first line is fine.
        let extra = lines
            .iter()
            .skip(1)
            .any(|l| l.trim_end() == "---" || l.starts_with("..."));
        if extra {
            return None;
        }
    }
    for op in &ops {
        apply(&mut lines, op, &merged)?;
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') || text.is_empty() {
        out.push('\n');
    }
    // The only promise: the edited text means exactly the merged document.
    (parse_yaml(&out).ok()? == merged).then_some(out)
}

/// One edit, on a path of mapping keys.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    /// Set the key to the merged value (replacing or adding the entry).
    Set(Vec<String>),
    /// Remove the entry.
    Delete(Vec<String>),
}

fn plan(original: &Value, patch: &Value, path: &mut Vec<String>, ops: &mut Vec<Op>) {
    let Value::Object(p) = patch else { return };
    for (key, value) in p {
        path.push(key.clone());
        let current = original.get(key);
        match (value, current) {
            (Value::Null, Some(_)) => ops.push(Op::Delete(path.clone())),
            (Value::Null, None) => {}
            (Value::Object(_), Some(cur @ Value::Object(_))) => plan(cur, value, path, ops),
            _ => ops.push(Op::Set(path.clone())),
        }
        path.pop();
    }
}

fn value_at<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |v, k| v.get(k))
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#') && t != "---"
}

/// The key of a `key: ...` line, if it is a plain block-mapping entry.
fn entry_key(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if t.starts_with('-') || t.starts_with('#') {
        return None;
    }
    let colon = t.find(':')?;
    let key = &t[..colon];
    let after = &t[colon + 1..];
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    (plain && (after.is_empty() || after.starts_with(' '))).then_some(key)
}

/// The lines of a mapping entry: (first line, end exclusive, indent).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    indent: usize,
}

/// Where the entries of the mapping at `path` live: a line range and their indent.
#[derive(Debug, Clone, Copy)]
struct Body {
    from: usize,
    to: usize,
    indent: Option<usize>,
    parent_indent: Option<usize>,
}

fn root(lines: &[String]) -> Body {
    Body {
        from: 0,
        to: lines.len(),
        indent: Some(0),
        parent_indent: None,
    }
}

fn find_entry(lines: &[String], body: Body, key: &str) -> Option<Span> {
    let indent = body.indent?;
    let mut i = body.from;
    while i < body.to {
        let line = &lines[i];
        if is_content(line) && indent_of(line) == indent && entry_key(line) == Some(key) {
            let mut end = i + 1;
            while end < body.to {
                let l = &lines[end];
                if is_content(l) && indent_of(l) <= indent {
                    break;
                }
                end += 1;
            }
            // Trailing blank and comment lines belong to what follows.
            while end > i + 1 && !is_content(&lines[end - 1]) {
                end -= 1;
            }
            return Some(Span {
                start: i,
                end,
                indent,
            });
        }
        i += 1;
    }
    None
}

/// The body of the block mapping that is the value of an entry.
fn body_of(lines: &[String], span: Span) -> Option<Body> {
    let line = &lines[span.start];
    let after = line[line.find(':')? + 1..].trim();
    if !after.is_empty() && !after.starts_with('#') {
        return None; // inline value (scalar or flow collection)
    }
    let indent = (span.start + 1..span.end)
        .map(|i| &lines[i])
        .find(|l| is_content(l))
        .map(|l| indent_of(l));
    if let Some(ind) = indent
        && ind <= span.indent
    {
        return None;
    }
    Some(Body {
        from: span.start + 1,
        to: span.end,
        indent,
        parent_indent: Some(span.indent),
    })
}

/// Finds the body of the mapping at `path` (empty path: the document).
fn locate_body(lines: &[String], path: &[String]) -> Option<Body> {
    let mut body = root(lines);
    for key in path {
        let span = find_entry(lines, body, key)?;
        body = body_of(lines, span)?;
    }
    Some(body)
}

/// `key: value` rendered as YAML lines at `indent`.
fn render_entry(key: &str, value: &Value, indent: usize) -> Option<Vec<String>> {
    let mut one = Map::new();
    one.insert(key.to_string(), value.clone());
    let text = to_yaml(&Value::Object(one)).ok()?;
    let pad = " ".repeat(indent);
    Some(text.lines().map(|l| format!("{pad}{l}")).collect())
}

fn apply(lines: &mut Vec<String>, op: &Op, merged: &Value) -> Option<()> {
    match op {
        Op::Delete(path) => {
            let (key, parent) = path.split_last()?;
            let body = locate_body(lines, parent)?;
            let span = find_entry(lines, body, key)?;
            lines.drain(span.start..span.end);
            Some(())
        }
        Op::Set(path) => {
            // Add the highest missing ancestor with its whole merged value.
            let mut depth = path.len();
            for d in 1..=path.len() {
                let body = locate_body(lines, &path[..d - 1])?;
                if find_entry(lines, body, &path[d - 1]).is_none() {
                    depth = d;
                    break;
                }
            }
            let target = &path[..depth];
            let (key, parent) = target.split_last()?;
            let value = value_at(merged, target)?;
            let body = locate_body(lines, parent)?;
            match find_entry(lines, body, key) {
                Some(span) => replace(lines, span, key, value),
                None => insert(lines, body, key, value),
            }
        }
    }
}

fn replace(lines: &mut Vec<String>, span: Span, key: &str, value: &Value) -> Option<()> {
    let line = lines[span.start].clone();
    let scalar = !value.is_array() && !value.is_object();
    let inline_old = {
        let after = line[line.find(':')? + 1..].trim();
        !after.is_empty() && !after.starts_with('#')
    };
    if scalar && inline_old && span.end == span.start + 1 {
        // Keep the line's trailing comment.
        let comment = trailing_comment(&line);
        let rendered = render_entry(key, value, span.indent)?;
        if rendered.len() != 1 {
            return None;
        }
        lines[span.start] = match comment {
            Some(c) => format!("{} {c}", rendered[0]),
            None => rendered[0].clone(),
        };
        return Some(());
    }
    let rendered = render_entry(key, value, span.indent)?;
    lines.splice(span.start..span.end, rendered);
    Some(())
}

/// A ` # comment` at the end of a `key: value` line (outside quotes).
fn trailing_comment(line: &str) -> Option<&str> {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && prev.is_whitespace() => return Some(&line[i..]),
            None => {}
        }
        prev = c;
    }
    None
}

fn insert(lines: &mut Vec<String>, body: Body, key: &str, value: &Value) -> Option<()> {
    let indent = match (body.indent, body.parent_indent) {
        (Some(i), _) => i,
        (None, Some(p)) => p + 2,
        (None, None) => 0,
    };
    // After the last content line of the body (keeping trailing comments where they are).
    let mut at = body.to;
    while at > body.from && !is_content(&lines[at - 1]) {
        at -= 1;
    }
    if body.parent_indent.is_none() && at == 0 && body.to > 0 {
        at = body.to;
    }
    let rendered = render_entry(key, value, indent)?;
    lines.splice(at..at, rendered);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FILE: &str = r#"# OBI for the shop
discovery:
  instrument:
    - open_ports: 8080 # the web app

otel_traces_export:
  # our collector
  endpoint: http://localhost:4318 # local
  protocol: http/protobuf

log_level: INFO # keep quiet
"#;

    fn patched(patch: Value) -> String {
        patch_yaml_text(FILE, &patch).expect("editable")
    }

    #[test]
    fn replacing_a_scalar_keeps_comments() {
        let out = patched(json!({"log_level": "DEBUG"}));
        assert_eq!(
            out,
            FILE.replace(
                "log_level: INFO # keep quiet",
                "log_level: DEBUG # keep quiet"
            )
        );
        let out = patched(json!({"otel_traces_export": {"endpoint": "http://collector:4318"}}));
        assert!(
            out.contains("  # our collector\n  endpoint: http://collector:4318 # local\n"),
            "{out}"
        );
        assert!(out.starts_with("# OBI for the shop\n"));
    }

    #[test]
    fn adding_keys_keeps_comments() {
        let out = patched(
            json!({"ebpf": {"bpf_debug": true}, "otel_traces_export": {"insecure_skip_verify": true}}),
        );
        assert!(
            out.contains("  protocol: http/protobuf\n  insecure_skip_verify: true\n"),
            "{out}"
        );
        assert!(
            out.ends_with("log_level: INFO # keep quiet\nebpf:\n  bpf_debug: true\n"),
            "{out}"
        );
        assert!(out.contains("# our collector"));
    }

    #[test]
    fn deleting_keys_keeps_the_rest() {
        let out = patched(json!({"otel_traces_export": {"protocol": null}, "log_level": null}));
        assert!(!out.contains("protocol"), "{out}");
        assert!(!out.contains("log_level"), "{out}");
        assert!(out.contains("endpoint: http://localhost:4318 # local"));
        let out = patched(json!({"otel_traces_export": null}));
        assert!(
            !out.contains("otel_traces_export") && !out.contains("endpoint"),
            "{out}"
        );
        assert!(out.contains("# the web app"));
    }

    #[test]
    fn replacing_a_block_with_a_list_or_mapping() {
        let out = patched(
            json!({"discovery": {"instrument": [{"open_ports": 9090}, {"exe_path": "*/api"}]}}),
        );
        assert_eq!(
            parse_yaml(&out).unwrap()["discovery"]["instrument"],
            json!([{"open_ports": 9090}, {"exe_path": "*/api"}])
        );
        assert!(out.contains("# our collector"));
    }

    #[test]
    fn strings_that_need_quotes_are_quoted() {
        let out = patched(json!({"log_level": "yes: no # not a comment"}));
        assert_eq!(
            parse_yaml(&out).unwrap()["log_level"],
            json!("yes: no # not a comment")
        );
    }

    #[test]
    fn edge_layouts() {
        // an empty section
        let out = patch_yaml_text(
            "ebpf:\nlog_level: INFO\n",
            &json!({"ebpf": {"bpf_debug": true}}),
        )
        .unwrap();
        assert_eq!(out, "ebpf:\n  bpf_debug: true\nlog_level: INFO\n");
        // a quoted key cannot be edited in place: the check refuses the duplicate
        assert_eq!(
            patch_yaml_text("\"log_level\": INFO\n", &json!({"log_level": "DEBUG"})),
            None
        );
        // a document marker at the top and a file without a final newline
        let out = patch_yaml_text("---\na: 1", &json!({"a": 2})).unwrap();
        assert_eq!(out, "---\na: 2");
        // CRLF files come back with LF, same content
        let out = patch_yaml_text("a: 1\r\nb: 2\r\n", &json!({"b": 3})).unwrap();
        assert_eq!(parse_yaml(&out).unwrap(), json!({"a": 1, "b": 3}));
        // trailing comments of a section stay after the added key
        let out = patch_yaml_text(
            "ebpf:\n  a: 1\n  # end of ebpf\nz: 1\n",
            &json!({"ebpf": {"b": 2}}),
        )
        .unwrap();
        assert_eq!(out, "ebpf:\n  a: 1\n  b: 2\n  # end of ebpf\nz: 1\n");
    }

    #[test]
    fn unsupported_layouts_fall_back() {
        assert_eq!(
            patch_yaml_text(
                "ebpf: {bpf_debug: false}\n",
                &json!({"ebpf": {"bpf_debug": true}})
            ),
            None
        );
        assert_eq!(patch_yaml_text("a: 1\n---\nb: 2\n", &json!({"a": 2})), None);
        assert_eq!(patch_yaml_text("a:\n\tb: 1\n", &json!({"a": 2})), None);
        assert_eq!(patch_yaml_text("a: 1\n", &json!([1])), None);
    }

    #[test]
    fn update_yaml_reports_and_keeps_comments() {
        let out = update_yaml(
            FILE,
            &json!({"log_level": "DEBUG"}),
            &ValidateOptions::default(),
        )
        .unwrap();
        assert!(out.comments_kept);
        assert_eq!(out.changed_paths, ["log_level"]);
        assert!(out.report.is_valid(), "{}", out.report.summary());
        assert_eq!(parse_yaml(&out.text).unwrap(), out.document);
        // a flow mapping that must be edited inside: the whole file is rendered, comments lost
        let text = "# c\nopen_port: 80\ntrace_printer: text\nebpf: {bpf_debug: false}\n";
        let out = update_yaml(
            text,
            &json!({"ebpf": {"bpf_debug": true}}),
            &ValidateOptions::default(),
        )
        .unwrap();
        assert!(!out.comments_kept);
        assert_eq!(out.document["ebpf"], json!({"bpf_debug": true}));
        assert_eq!(parse_yaml(&out.text).unwrap(), out.document);
        // nothing changed: the text is untouched
        let out = update_yaml(
            FILE,
            &json!({"log_level": "INFO"}),
            &ValidateOptions::default(),
        )
        .unwrap();
        assert_eq!(out.text, FILE);
    }

    #[test]
    fn every_patch_result_parses_to_the_merged_document() {
        let patches = [
            json!({"a": {"b": {"c": 1}}}),
            json!({"discovery": null}),
            json!({"discovery": {"instrument": null, "exclude_instrument": [{"exe_path": "x"}]}}),
            json!({"otel_traces_export": {"endpoint": null, "protocol": null}}),
            json!({"log_level": {"nested": true}}),
            json!({"new": [1, 2, 3], "log_level": null}),
        ];
        for patch in patches {
            let mut merged = parse_yaml(FILE).unwrap();
            merge_patch(&mut merged, &patch);
            if let Some(out) = patch_yaml_text(FILE, &patch) {
                assert_eq!(parse_yaml(&out).unwrap(), merged, "{patch}\n{out}");
            }
        }
    }
}
