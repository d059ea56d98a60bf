//! Label and field selectors, parsed as the API server parses them.

use crate::error::ApiError;
use crate::util;
use serde_json::Value;

/// One label requirement.
#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector (all requirements must hold).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Req>);

fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c)
            }
            ')' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

fn set_values(s: &str) -> Result<Vec<String>, ApiError> {
    let s = s.trim();
    let inner = s
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "unable to parse requirement: found '{s}', expected: '('"
            ))
        })?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

impl LabelSelector {
    /// Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h`.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let p = part.trim();
            if p.is_empty() {
                continue;
            }
            if let Some(k) = p.strip_prefix('!') {
                reqs.push(Req::NotExists(k.trim().to_string()));
            } else if let Some((k, v)) = p.split_once("!=") {
                reqs.push(Req::Ne(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = p.split_once("==") {
                reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = p.split_once('=') {
                reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
            } else if let Some(idx) = p.find(" notin ") {
                reqs.push(Req::NotIn(
                    p[..idx].trim().into(),
                    set_values(&p[idx + 7..])?,
                ));
            } else if let Some(idx) = p.find(" in ") {
                reqs.push(Req::In(p[..idx].trim().into(), set_values(&p[idx + 4..])?));
            } else if p.contains(' ') || p.contains('(') {
                return Err(ApiError::bad_request(format!(
                    "unable to parse requirement: invalid label selector \"{p}\""
                )));
            } else {
                reqs.push(Req::Exists(p.to_string()));
            }
        }
        Ok(LabelSelector(reqs))
    }

    /// From a `metav1.LabelSelector` object (`matchLabels`, `matchExpressions`).
    pub fn from_object(sel: &Value) -> Self {
        let mut reqs = Vec::new();
        if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in m {
                reqs.push(Req::Eq(k.clone(), v.as_str().unwrap_or("").into()));
            }
        }
        if let Some(exprs) = sel.get("matchExpressions").and_then(Value::as_array) {
            for e in exprs {
                let k = e
                    .get("key")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let vals: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                match e.get("operator").and_then(Value::as_str).unwrap_or("") {
                    "In" => reqs.push(Req::In(k, vals)),
                    "NotIn" => reqs.push(Req::NotIn(k, vals)),
                    "Exists" => reqs.push(Req::Exists(k)),
                    "DoesNotExist" => reqs.push(Req::NotExists(k)),
                    _ => {}
                }
            }
        }
        LabelSelector(reqs)
    }

    /// Whether the selector has no requirements.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Matches a label map.
    pub fn matches_labels(&self, labels: Option<&Value>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::Ne(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }

    /// Matches a stored object's labels.
    pub fn matches_obj(&self, obj: &crate::store::Obj) -> bool {
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => obj.label(k) == Some(v.as_str()),
            Req::Ne(k, v) => obj.label(k) != Some(v.as_str()),
            Req::In(k, vs) => obj.label(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => obj.label(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Req::Exists(k) => obj.label(k).is_some(),
            Req::NotExists(k) => obj.label(k).is_none(),
        })
    }

    /// Matches an object's `metadata.labels`.
    pub fn matches(&self, obj: &Value) -> bool {
        self.is_empty() || self.matches_labels(util::get(obj, &["metadata", "labels"]))
    }
}

/// A parsed field selector.
#[derive(Debug, Clone, Default)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    /// Parses `metadata.name=x,status.phase!=Running`.
    pub fn parse(s: &str, kind: &str) -> Result<Self, ApiError> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, neg, v) = if let Some((k, v)) = part.split_once("!=") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, false, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{part}'; can't understand '{part}'"
                )));
            };
            let k = k.trim();
            let allowed = match k {
                "metadata.name" | "metadata.namespace" => true,
                "spec.nodeName"
                | "status.phase"
                | "spec.restartPolicy"
                | "spec.schedulerName"
                | "spec.serviceAccountName"
                | "status.podIP" => kind == "Pod",
                "spec.unschedulable" => kind == "Node",
                "involvedObject.name"
                | "involvedObject.kind"
                | "involvedObject.namespace"
                | "involvedObject.uid"
                | "reason"
                | "source" => kind == "Event",
                "type" => kind == "Event" || kind == "Secret",
                _ => false,
            };
            if !allowed {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {k}"
                )));
            }
            out.push((k.to_string(), neg, v.trim().to_string()));
        }
        Ok(FieldSelector(out))
    }

    /// Whether the selector has no terms.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Matches an object.
    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(k, neg, v)| {
            let path: Vec<&str> = k.split('.').collect();
            let actual = match util::get(obj, &path) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Null) | None => {
                    if k == "spec.unschedulable" {
                        "false".into()
                    } else {
                        String::new()
                    }
                }
                Some(other) => other.to_string(),
            };
            (actual == *v) != *neg
        })
    }

    /// Matches a stored object by its index.
    pub fn matches_obj(&self, obj: &crate::store::Obj) -> bool {
        self.0.iter().all(|(k, neg, v)| {
            let actual = obj.field(k).unwrap_or(if k == "spec.unschedulable" {
                "false"
            } else {
                ""
            });
            (actual == v) != *neg
        })
    }

    /// If the selector pins `metadata.name`, that name.
    pub fn pinned_name(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, neg, _)| k == "metadata.name" && !neg)
            .map(|(_, _, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selector_supports_all_operators() {
        let labels = json!({"app": "obi", "tier": "agent"});
        let m = |s: &str| {
            LabelSelector::parse(s)
                .unwrap()
                .matches_labels(Some(&labels))
        };
        assert!(m("app=obi"));
        assert!(m("app==obi,tier"));
        assert!(!m("app!=obi"));
        assert!(m("app in (obi,beyla)"));
        assert!(!m("app notin (obi)"));
        assert!(m("tier notin (web), !missing"));
        assert!(!m("missing"));
        assert!(LabelSelector::parse("app in obi").is_err());
    }

    #[test]
    fn field_selector_rejects_unsupported_fields() {
        assert!(FieldSelector::parse("spec.nodeName=n1", "Pod").is_ok());
        assert!(FieldSelector::parse("spec.nodeName=n1", "ConfigMap").is_err());
        let f = FieldSelector::parse("status.phase!=Running", "Pod").unwrap();
        assert!(f.matches(&json!({"status": {"phase": "Pending"}})));
        assert!(!f.matches(&json!({"status": {"phase": "Running"}})));
    }
}
