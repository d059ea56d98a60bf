//! Patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch for the
//! lists kubectl touches, and server-side apply with managed fields.

use crate::error::ApiError;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn unescape(tok: &str) -> String {
    tok.replace("~1", "/").replace("~0", "~")
}

fn pointer_parts(path: &str) -> Result<Vec<String>, ApiError> {
    if path.is_empty() {
        return Ok(vec![]);
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| ApiError::bad_request(format!("invalid JSON pointer {path:?}")))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn parent_mut<'a>(doc: &'a mut Value, parts: &[String]) -> Result<&'a mut Value, ApiError> {
    let mut cur = doc;
    for p in parts {
        cur = match cur {
            Value::Object(m) => m.get_mut(p),
            Value::Array(a) => p.parse::<usize>().ok().and_then(move |i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| ApiError::new(422, "Invalid", format!("the server rejected our request due to an error in our request: doc is missing path: /{}", parts.join("/"))))?;
    }
    Ok(cur)
}

fn json_add(doc: &mut Value, path: &str, value: Value) -> Result<(), ApiError> {
    let parts = pointer_parts(path)?;
    let Some((last, parent)) = parts.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, parent)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
            } else {
                let i: usize = last
                    .parse()
                    .map_err(|_| ApiError::bad_request(format!("invalid index {last}")))?;
                if i > a.len() {
                    return Err(ApiError::new(
                        422,
                        "Invalid",
                        format!("add operation index out of bounds: {i}"),
                    ));
                }
                a.insert(i, value);
            }
        }
        _ => {
            return Err(ApiError::new(
                422,
                "Invalid",
                format!("doc is missing path: {path}"),
            ));
        }
    }
    Ok(())
}

fn json_remove(doc: &mut Value, path: &str) -> Result<Value, ApiError> {
    let parts = pointer_parts(path)?;
    let (last, parent) = parts
        .split_last()
        .ok_or_else(|| ApiError::bad_request("cannot remove the root"))?;
    let missing = || {
        ApiError::new(
            422,
            "Invalid",
            format!(
                "the server rejected our request due to an error in our request: remove operation does not apply: doc is missing path: {path}"
            ),
        )
    };
    match parent_mut(doc, parent)? {
        Value::Object(m) => m.remove(last).ok_or_else(missing),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            if i < a.len() {
                Ok(a.remove(i))
            } else {
                Err(missing())
            }
        }
        _ => Err(missing()),
    }
}

/// RFC 6902 JSON patch.
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), ApiError> {
    let ops = ops
        .as_array()
        .ok_or_else(|| ApiError::bad_request("json patch must be an array of operations"))?;
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op.get("path").and_then(Value::as_str).unwrap_or("");
        match kind {
            "add" => json_add(doc, path, op.get("value").cloned().unwrap_or(Value::Null))?,
            "remove" => {
                json_remove(doc, path)?;
            }
            "replace" => {
                json_remove(doc, path)?;
                json_add(doc, path, op.get("value").cloned().unwrap_or(Value::Null))?;
            }
            "move" | "copy" => {
                let from = op.get("from").and_then(Value::as_str).unwrap_or("");
                let v = if kind == "move" {
                    json_remove(doc, from)?
                } else {
                    doc.pointer(from).cloned().ok_or_else(|| {
                        ApiError::new(422, "Invalid", format!("doc is missing path: {from}"))
                    })?
                };
                json_add(doc, path, v)?;
            }
            "test" => {
                let want = op.get("value").cloned().unwrap_or(Value::Null);
                if doc.pointer(path) != Some(&want) {
                    return Err(ApiError::new(
                        422,
                        "Invalid",
                        format!("the server rejected our request: testing value {path} failed"),
                    ));
                }
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unexpected json patch operation {other:?}"
                )));
            }
        }
    }
    Ok(())
}

/// The merge key of a list field, for strategic merge and apply (`None`: atomic list).
pub fn merge_key(field: &str, sample: Option<&Value>) -> Option<&'static [&'static str]> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => Some(&["name"]),
        "volumeMounts" | "volumeDevices" => Some(&["mountPath"]),
        "ports" => {
            if sample.and_then(|s| s.get("containerPort")).is_some() {
                Some(&["containerPort"])
            } else {
                Some(&["port"])
            }
        }
        "ownerReferences" => Some(&["uid"]),
        "conditions" => Some(&["type"]),
        "hostAliases" => Some(&["ip"]),
        _ => None,
    }
}

fn is_set_list(field: &str) -> bool {
    field == "finalizers"
}

fn key_matches(a: &Value, b: &Value, keys: &[&str]) -> bool {
    keys.iter().all(|k| a.get(*k) == b.get(*k))
}

/// Strategic merge patch with the merge keys of the core types kubectl patches.
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut v = patch.clone();
        strip_directives(&mut v);
        *target = v;
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("object");
    for (k, v) in p {
        if k.starts_with('$') {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(cur)), Some(del)) = (t.get_mut(field), v.as_array()) {
                cur.retain(|x| !del.contains(x));
            }
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        match v {
            Value::Array(items) => {
                let sample = items.first();
                match (merge_key(k, sample), t.get_mut(k)) {
                    (Some(keys), Some(Value::Array(cur))) => {
                        for item in items {
                            let directive = item.get("$patch").and_then(Value::as_str);
                            let pos = cur.iter().position(|c| key_matches(c, item, keys));
                            match (directive, pos) {
                                (Some("delete"), Some(i)) => {
                                    cur.remove(i);
                                }
                                (Some("delete"), None) => {}
                                (_, Some(i)) => strategic_merge(&mut cur[i], item),
                                (_, None) => {
                                    let mut it = item.clone();
                                    strip_directives(&mut it);
                                    cur.push(it);
                                }
                            }
                        }
                    }
                    (None, Some(Value::Array(cur))) if is_set_list(k) => {
                        for item in items {
                            if !cur.contains(item) {
                                cur.push(item.clone());
                            }
                        }
                    }
                    _ => {
                        let mut it = v.clone();
                        strip_directives(&mut it);
                        t.insert(k.clone(), it);
                    }
                }
            }
            Value::Object(_) => strategic_merge(t.entry(k.clone()).or_insert(Value::Null), v),
            other => {
                t.insert(k.clone(), other.clone());
            }
        }
    }
}

fn strip_directives(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with('$'));
            for x in m.values_mut() {
                strip_directives(x);
            }
        }
        Value::Array(a) => {
            for x in a {
                strip_directives(x);
            }
        }
        _ => {}
    }
}

/// A set of field paths in `fieldsV1` element notation (`f:spec`, `k:{"name":"x"}`, `v:"a"`, `.`).
pub type FieldSet = BTreeSet<Vec<String>>;

fn key_element(item: &Value, keys: &[&str]) -> String {
    let mut m = Map::new();
    for k in keys {
        if let Some(v) = item.get(*k) {
            m.insert((*k).to_string(), v.clone());
        }
    }
    format!("k:{}", Value::Object(m))
}

/// Field paths set by an object (server-managed metadata excluded).
pub fn field_set(v: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    collect(v, &mut Vec::new(), "", &mut out);
    out.retain(|p| {
        let first = p.first().map(String::as_str);
        let server_meta = first == Some("f:metadata")
            && matches!(
                p.get(1).map(String::as_str),
                Some(
                    "f:resourceVersion"
                        | "f:uid"
                        | "f:creationTimestamp"
                        | "f:generation"
                        | "f:managedFields"
                        | "f:name"
                        | "f:namespace"
                )
            );
        let identity = matches!(first, Some("f:apiVersion" | "f:kind" | "f:status"));
        !server_meta && !identity
    });
    out
}

fn collect(v: &Value, path: &mut Vec<String>, field: &str, out: &mut FieldSet) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                path.push(format!("f:{k}"));
                collect(x, path, k, out);
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => {
            if let Some(keys) = merge_key(field, items.first()) {
                for item in items {
                    path.push(key_element(item, keys));
                    let mut dot = path.clone();
                    dot.push(".".into());
                    out.insert(dot);
                    collect(item, path, "", out);
                    path.pop();
                }
            } else if is_set_list(field) {
                for item in items {
                    path.push(format!("v:{item}"));
                    out.insert(path.clone());
                    path.pop();
                }
            } else {
                out.insert(path.clone());
            }
        }
        _ => {
            out.insert(path.clone());
        }
    }
}

/// Renders a field set as `fieldsV1` JSON.
pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for p in set {
        let mut cur = &mut root;
        for el in p {
            cur = cur
                .entry(el.clone())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("object");
        }
    }
    Value::Object(root)
}

/// Parses `fieldsV1` JSON into leaf paths.
pub fn from_fields_v1(v: &Value) -> FieldSet {
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut FieldSet) {
        match v.as_object() {
            Some(m) if !m.is_empty() => {
                for (k, x) in m {
                    path.push(k.clone());
                    walk(x, path, out);
                    path.pop();
                }
            }
            _ => {
                out.insert(path.clone());
            }
        }
    }
    let mut out = FieldSet::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

fn find_item(items: &[Value], el: &str) -> Option<usize> {
    if let Some(k) = el.strip_prefix("k:") {
        let want: Value = serde_json::from_str(k).ok()?;
        let want = want.as_object()?;
        items
            .iter()
            .position(|it| want.iter().all(|(wk, wv)| it.get(wk) == Some(wv)))
    } else if let Some(v) = el.strip_prefix("v:") {
        let want: Value = serde_json::from_str(v).ok()?;
        items.iter().position(|it| *it == want)
    } else {
        let _ = items;
        None
    }
}

/// The value at a field path.
pub fn value_at<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for el in path {
        if el == "." {
            return Some(cur);
        }
        cur = if let Some(f) = el.strip_prefix("f:") {
            cur.get(f)?
        } else {
            let items = cur.as_array()?;
            &items[find_item(items, el)?]
        };
    }
    Some(cur)
}

/// Removes the value at a field path (a `.` path removes the list item).
pub fn remove_at(v: &mut Value, path: &[String]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    if last == "." {
        if let Some((item, pp)) = parent.split_last()
            && let Some(Value::Array(items)) = value_at_mut(v, pp)
            && let Some(i) = find_item(items, item)
        {
            items.remove(i);
        }
        return;
    }
    match value_at_mut(v, parent) {
        Some(Value::Object(m)) => {
            if let Some(f) = last.strip_prefix("f:") {
                m.remove(f);
            }
        }
        Some(Value::Array(items)) => {
            if let Some(i) = find_item(items, last) {
                items.remove(i);
            }
        }
        _ => {}
    }
}

fn value_at_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = v;
    for el in path {
        cur = if let Some(f) = el.strip_prefix("f:") {
            cur.get_mut(f)?
        } else {
            let items = cur.as_array_mut()?;
            let i = find_item(items, el)?;
            &mut items[i]
        };
    }
    Some(cur)
}

/// Renders a field path for conflict messages (`.spec.containers[name="obi"].image`).
pub fn path_string(p: &[String]) -> String {
    let mut s = String::new();
    for el in p {
        if let Some(f) = el.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = el.strip_prefix("k:") {
            let m: Value = serde_json::from_str(k).unwrap_or(Value::Null);
            let inner: Vec<String> = m
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            s.push_str(&format!("[{}]", inner.join(",")));
        } else if let Some(v) = el.strip_prefix("v:") {
            s.push_str(&format!("[{v}]"));
        }
    }
    s
}

/// One `managedFields` entry.
#[derive(Debug, Clone)]
pub struct Managed {
    /// Manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// apiVersion of the entry.
    pub api_version: String,
    /// Owned fields.
    pub fields: FieldSet,
}

/// Reads `metadata.managedFields`.
pub fn read_managed(obj: &Value) -> Vec<Managed> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| Managed {
                    manager: e
                        .get("manager")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .into(),
                    operation: e
                        .get("operation")
                        .and_then(Value::as_str)
                        .unwrap_or("Update")
                        .into(),
                    api_version: e
                        .get("apiVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .into(),
                    fields: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `metadata.managedFields`.
pub fn write_managed(obj: &mut Value, entries: &[Managed], now: &str) {
    let arr: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": now,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_fields_v1(&e.fields),
            })
        })
        .collect();
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if arr.is_empty() {
            m.remove("managedFields");
        } else {
            m.insert("managedFields".into(), Value::Array(arr));
        }
    }
}

/// Server-side apply of `applied` by `manager` onto `live` (None: create). Returns the merged object.
pub fn server_side_apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
    now: &str,
) -> Result<Value, ApiError> {
    let new_fields = field_set(applied);
    let Some(live) = live else {
        let mut obj = applied.clone();
        write_managed(
            &mut obj,
            &[Managed {
                manager: manager.into(),
                operation: "Apply".into(),
                api_version: api_version.into(),
                fields: new_fields,
            }],
            now,
        );
        return Ok(obj);
    };
    let mut entries = read_managed(live);
    let mut conflicts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in entries.iter_mut() {
        if e.manager == manager && e.operation == "Apply" {
            continue;
        }
        let overlap: Vec<Vec<String>> = e.fields.intersection(&new_fields).cloned().collect();
        for p in overlap {
            let differs = value_at(live, &p) != value_at(applied, &p);
            if differs && !force && p.last().map(String::as_str) != Some(".") {
                conflicts
                    .entry(e.manager.clone())
                    .or_default()
                    .push(path_string(&p));
            } else if differs {
                e.fields.remove(&p);
            }
        }
    }
    if !conflicts.is_empty() {
        let n: usize = conflicts.values().map(Vec::len).sum();
        let mut msg = format!(
            "Apply failed with {n} conflict{}:",
            if n == 1 { "" } else { "s" }
        );
        let mut causes = Vec::new();
        for (m, paths) in &conflicts {
            for p in paths {
                msg.push_str(&format!(" conflict with \"{m}\" using {api_version}: {p}"));
                causes.push(json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{m}\" using {api_version}"), "field": p}));
            }
        }
        let mut e = ApiError::new(409, "Conflict", msg);
        e.details = Some(json!({"causes": causes}));
        return Err(e);
    }
    let old_fields = entries
        .iter()
        .find(|e| e.manager == manager && e.operation == "Apply")
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let others: FieldSet = entries
        .iter()
        .filter(|e| !(e.manager == manager && e.operation == "Apply"))
        .flat_map(|e| e.fields.iter().cloned())
        .collect();
    let mut merged = live.clone();
    strategic_merge(&mut merged, &without_nulls(applied));
    let mut removed: Vec<&Vec<String>> = old_fields
        .iter()
        .filter(|p| !new_fields.contains(*p) && !others.contains(*p))
        .collect();
    // Remove deeper paths first, then whole list items.
    removed.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in removed {
        if !new_fields
            .iter()
            .any(|n| n.starts_with(p) && n.len() > p.len())
        {
            remove_at(&mut merged, p);
        }
    }
    entries.retain(|e| !(e.manager == manager && e.operation == "Apply"));
    entries.push(Managed {
        manager: manager.into(),
        operation: "Apply".into(),
        api_version: api_version.into(),
        fields: new_fields,
    });
    write_managed(&mut merged, &entries, now);
    Ok(merged)
}

fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), without_nulls(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Records an `Update` by `manager` that turned `old` into `new`: it takes ownership of changed fields.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    now: &str,
) {
    let new_set = field_set(new);
    let changed: FieldSet = match old {
        None => new_set,
        Some(o) => {
            let old_set = field_set(o);
            new_set
                .into_iter()
                .filter(|p| !old_set.contains(p) || value_at(o, p) != value_at(new, p))
                .collect()
        }
    };
    let mut entries = old.map(read_managed).unwrap_or_default();
    if changed.is_empty() {
        if old.is_some() {
            write_managed(new, &entries, now);
        }
        return;
    }
    for e in entries.iter_mut() {
        if !(e.manager == manager && e.operation == "Update") {
            e.fields.retain(|p| !changed.contains(p));
        }
    }
    match entries
        .iter_mut()
        .find(|e| e.manager == manager && e.operation == "Update")
    {
        Some(e) => e.fields.extend(changed),
        None => entries.push(Managed {
            manager: manager.into(),
            operation: "Update".into(),
            api_version: api_version.into(),
            fields: changed,
        }),
    }
    write_managed(new, &entries, now);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let mut t = json!({"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]}});
        strategic_merge(
            &mut t,
            &json!({"spec": {"containers": [{"name": "b", "image": "y:2"}]}}),
        );
        assert_eq!(t["spec"]["containers"][0]["image"], "x:1");
        assert_eq!(t["spec"]["containers"][1]["image"], "y:2");
        strategic_merge(
            &mut t,
            &json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
        );
        assert_eq!(t["spec"]["containers"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn json_patch_applies_and_tests() {
        let mut d = json!({"a": [1, 2]});
        json_patch(&mut d, &json!([{"op": "add", "path": "/a/-", "value": 3}, {"op": "replace", "path": "/a/0", "value": 0}, {"op": "test", "path": "/a/2", "value": 3}])).unwrap();
        assert_eq!(d, json!({"a": [0, 2, 3]}));
        assert!(json_patch(&mut d, &json!([{"op": "remove", "path": "/b"}])).is_err());
    }

    #[test]
    fn apply_conflicts_unless_forced_and_prunes_removed_fields() {
        let a1 =
            json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "1"}}, "data": {"k": "v"}});
        let live = server_side_apply(None, &a1, "m1", false, "v1", "t").unwrap();
        let a2 = json!({"metadata": {"name": "x", "labels": {"a": "2"}}});
        let err = server_side_apply(Some(&live), &a2, "m2", false, "v1", "t").unwrap_err();
        assert_eq!(err.code, 409);
        assert!(
            err.message.contains("conflict with \"m1\""),
            "{}",
            err.message
        );
        let forced = server_side_apply(Some(&live), &a2, "m2", true, "v1", "t").unwrap();
        assert_eq!(forced["metadata"]["labels"]["a"], "2");
        // m1 re-applies without label b: b is pruned, a stays (owned by m2 now).
        let a3 = json!({"metadata": {"name": "x"}, "data": {"k": "v"}});
        let pruned = server_side_apply(Some(&forced), &a3, "m1", false, "v1", "t").unwrap();
        assert!(pruned["metadata"]["labels"].get("b").is_none());
        assert_eq!(pruned["metadata"]["labels"]["a"], "2");
    }
}
