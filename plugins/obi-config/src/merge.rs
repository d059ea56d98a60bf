//! Updates as JSON merge patches (RFC 7386): objects merge key by key, `null` deletes a key,
//! anything else replaces. Keys the patch does not mention — including keys obi-mcp does not
//! know — are kept exactly as they were, in their original order.

use crate::finding::Report;
use crate::validate::{ValidateOptions, validate};
use serde_json::{Map, Value};

/// Applies `patch` to `target` in place (RFC 7386).
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(map) = target else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            // shift_remove keeps the order of the remaining keys.
            map.shift_remove(key);
        } else {
            merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// The outcome of an update: the merged document and its validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Updated {
    /// The current document with the patch applied.
    pub document: Value,
    /// Findings for the merged document; callers must not write it when it has errors.
    pub report: Report,
    /// Whether the patch changed anything.
    pub changed: bool,
    /// Dotted paths that were added, removed or changed (at most [`MAX_CHANGED_PATHS`]).
    pub changed_paths: Vec<String>,
}

/// Most paths [`changed_paths`] lists.
pub const MAX_CHANGED_PATHS: usize = 200;

/// The dotted paths where `after` differs from `before`: the deepest mapping keys that were
/// added, removed or changed (a changed list is one path).
pub fn changed_paths(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff(before, after, "", &mut out, 0);
    out
}

fn diff(before: &Value, after: &Value, path: &str, out: &mut Vec<String>, depth: usize) {
    if out.len() >= MAX_CHANGED_PATHS || before == after {
        return;
    }
    match (before, after) {
        (Value::Object(b), Value::Object(a)) if depth < crate::parse::MAX_DEPTH => {
            for (k, bv) in b {
                let p = crate::validate::join(path, k);
                match a.get(k) {
                    Some(av) => diff(bv, av, &p, out, depth + 1),
                    None => out.push(p),
                }
            }
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                if out.len() < MAX_CHANGED_PATHS {
                    out.push(crate::validate::join(path, k));
                }
            }
        }
        _ => out.push(path.to_string()),
    }
}

/// Applies a merge patch to the current configuration and validates the result.
pub fn update(current: &Value, patch: &Value, opts: &ValidateOptions) -> Updated {
    let mut document = current.clone();
    merge_patch(&mut document, patch);
    let report = validate(&document, opts);
    let changed_paths = changed_paths(current, &document);
    Updated {
        changed: !changed_paths.is_empty(),
        changed_paths,
        document,
        report,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(target: Value, patch: Value) -> Value {
        let mut t = target;
        merge_patch(&mut t, &patch);
        t
    }

    /// The examples of RFC 7386, appendix A.
    #[test]
    fn rfc7386_appendix_a() {
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (target, patch, want) in cases {
            assert_eq!(
                patched(target.clone(), patch.clone()),
                want,
                "{target} + {patch}"
            );
        }
    }

    /// The example of RFC 7386 section 3.
    #[test]
    fn rfc7386_section3_example() {
        let target = json!({"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
            "tags": ["example", "sample"], "content": "This will be unchanged"});
        let patch = json!({"title": "Hello!", "phoneNumber": "+01-123-456-7890",
            "author": {"familyName": null}, "tags": ["example"]});
        let want = json!({"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"],
            "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"});
        assert_eq!(patched(target, patch), want);
    }

    #[test]
    fn unknown_keys_and_order_survive() {
        let current = crate::parse::parse_yaml(
            "my_custom: keep\nlog_level: INFO\nebpf:\n  zz: 1\n  bpf_debug: false\ntrace_printer: text\n",
        )
        .unwrap();
        let out = update(
            &current,
            &json!({"ebpf": {"bpf_debug": true}, "log_level": null}),
            &ValidateOptions::default(),
        );
        let keys: Vec<_> = out.document.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["my_custom", "ebpf", "trace_printer"]);
        assert_eq!(out.document["ebpf"], json!({"zz": 1, "bpf_debug": true}));
        assert!(out.changed);
        assert_eq!(out.changed_paths, ["log_level", "ebpf.bpf_debug"]);
    }

    #[test]
    fn update_reports_errors_of_the_merged_document() {
        let current = json!({"open_port": 80, "trace_printer": "text"});
        let out = update(
            &current,
            &json!({"trace_printer": null}),
            &ValidateOptions::default(),
        );
        assert!(!out.report.is_valid());
        let out = update(&current, &json!({}), &ValidateOptions::default());
        assert!(out.report.is_valid());
        assert!(!out.changed);
        assert!(out.changed_paths.is_empty());
    }

    #[test]
    fn changed_paths_lists_added_removed_and_changed_keys() {
        let before = json!({"a": {"b": 1, "c": [1]}, "d": 1});
        let after = json!({"a": {"b": 2, "c": [1, 2], "e": {"f": 1}}});
        assert_eq!(changed_paths(&before, &after), ["a.b", "a.c", "a.e", "d"]);
        assert_eq!(changed_paths(&json!(1), &json!(2)), [""]);
    }
}
