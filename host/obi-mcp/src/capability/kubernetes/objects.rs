//! Dynamic objects: kinds resolved by discovery (one group version at a time, cached per
//! context), URL paths, paginated lists with projection, and the clean-up every returned object
//! gets (`metadata.managedFields` removed).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::errors::KubeError;
use super::pool::ContextClient;
use super::request::{Req, with_query};

/// Items per list page.
pub const PAGE_SIZE: u32 = 500;
/// Most items one `list` returns.
pub const MAX_LIST_ITEMS: u32 = 10_000;

/// One resource of a group version, as discovery describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRes {
    /// Kind (`DaemonSet`).
    pub kind: String,
    /// Plural (`daemonsets`).
    pub plural: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
}

/// The resources a cluster serves in one group version.
#[derive(Debug, Clone)]
pub struct GroupVersion {
    /// `apps/v1`.
    pub api_version: String,
    /// Top-level resources (no subresources).
    pub resources: Vec<ApiRes>,
}

/// A kind resolved for one request.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// API group (`""` for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// The resource.
    pub res: ApiRes,
}

impl Resolved {
    /// `/api/v1` or `/apis/GROUP/VERSION`.
    fn prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// The collection path, in `namespace` for namespaced kinds (none: every namespace).
    pub fn collection(&self, namespace: Option<&str>) -> String {
        match namespace.filter(|_| self.res.namespaced) {
            Some(ns) => format!("{}/namespaces/{ns}/{}", self.prefix(), self.res.plural),
            None => format!("{}/{}", self.prefix(), self.res.plural),
        }
    }

    /// The path of one object.
    pub fn object(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}/{name}", self.collection(namespace))
    }

    /// `api_version` as written in objects.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// Checks a name or namespace before it goes into a URL path.
pub fn check_name(what: &str, name: &str) -> Result<(), KubeError> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > 253
        || name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '/' | '%' | '?' | '#'));
    if bad {
        return Err(KubeError::Invalid(format!(
            "{what} {name:?} is not a valid Kubernetes name"
        )));
    }
    Ok(())
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (`""`, `v1`).
pub fn split_api_version(api_version: &str) -> Result<(String, String), KubeError> {
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    match api_version.split_once('/') {
        None if ok(api_version) => Ok((String::new(), api_version.to_string())),
        Some((g, v)) if ok(g) && ok(v) => Ok((g.to_string(), v.to_string())),
        _ => Err(KubeError::Invalid(format!(
            "apiVersion {api_version:?} is not `version` or `group/version` (e.g. v1, apps/v1)"
        ))),
    }
}

impl ContextClient {
    async fn group_version(
        &self,
        group: &str,
        version: &str,
    ) -> Result<Arc<GroupVersion>, KubeError> {
        let api_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        if let Some(gv) = self
            .discovery
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&api_version)
        {
            return Ok(gv.clone());
        }
        let path = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let doc = match self.send_json(&Req::get(path)).await {
            Ok(d) => d,
            Err(KubeError::NotFound(_)) if group == "metrics.k8s.io" => {
                return Err(KubeError::NotFound(format!(
                    "the metrics API (metrics.k8s.io) is not served by cluster \"{}\"; install metrics-server",
                    self.context
                )));
            }
            Err(KubeError::NotFound(_)) => {
                return Err(KubeError::NotFound(format!(
                    "API {api_version} is not served by cluster \"{}\"",
                    self.context
                )));
            }
            Err(e) => return Err(e),
        };
        let resources = doc["resources"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| {
                        let plural = r["name"].as_str()?;
                        if plural.contains('/') {
                            return None;
                        }
                        Some(ApiRes {
                            kind: r["kind"].as_str()?.to_string(),
                            plural: plural.to_string(),
                            namespaced: r["namespaced"].as_bool().unwrap_or(false),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let gv = Arc::new(GroupVersion {
            api_version: api_version.clone(),
            resources,
        });
        self.discovery
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(api_version, gv.clone());
        Ok(gv)
    }

    /// Resolves `api_version`/`kind` by discovery (cached per context).
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<Resolved, KubeError> {
        let (group, version) = split_api_version(api_version)?;
        let gv = self.group_version(&group, &version).await?;
        let found = gv.resources.iter().find(|r| r.kind == kind).or_else(|| {
            gv.resources
                .iter()
                .find(|r| r.kind.eq_ignore_ascii_case(kind))
        });
        match found {
            Some(res) => Ok(Resolved {
                group,
                version,
                res: res.clone(),
            }),
            None => {
                let mut kinds: Vec<&str> = gv.resources.iter().map(|r| r.kind.as_str()).collect();
                kinds.sort_unstable();
                kinds.dedup();
                Err(KubeError::NotFound(format!(
                    "kind {kind} is not served by cluster \"{}\" in {} (it serves: {})",
                    self.context,
                    gv.api_version,
                    kinds.join(", ")
                )))
            }
        }
    }

    /// The namespace a call means: the one named, else the context's for namespaced kinds.
    pub fn namespace_for(&self, res: &Resolved, namespace: Option<&str>) -> Option<String> {
        if !res.res.namespaced {
            return None;
        }
        Some(
            namespace
                .filter(|n| !n.is_empty())
                .unwrap_or(&self.default_namespace)
                .to_string(),
        )
    }
}

/// Removes `metadata.managedFields`.
pub fn strip(obj: &mut Value) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
}

/// Checks the JSON pointers of a projection.
pub fn check_pointers(fields: &[String]) -> Result<(), KubeError> {
    match fields.iter().find(|f| !f.starts_with('/')) {
        Some(bad) => Err(KubeError::Invalid(format!(
            "field {bad:?} is not a JSON pointer (write /metadata/name, /status/phase, ...)"
        ))),
        None => Ok(()),
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Keeps only the values at `fields` (JSON pointers) of `item`, at the same places.
pub fn project(item: &Value, fields: &[String]) -> Value {
    let mut out = Value::Object(Map::new());
    for pointer in fields {
        let Some(value) = item.pointer(pointer) else {
            continue;
        };
        let tokens: Vec<String> = pointer.split('/').skip(1).map(unescape).collect();
        let mut source = item;
        let mut target = &mut out;
        for (i, token) in tokens.iter().enumerate() {
            let last = i + 1 == tokens.len();
            let next_source = match source {
                Value::Array(a) => token.parse::<usize>().ok().and_then(|n| a.get(n)),
                Value::Object(m) => m.get(token),
                _ => None,
            };
            let Some(next_source) = next_source else {
                break;
            };
            let empty = || match next_source {
                Value::Array(_) => Value::Array(Vec::new()),
                _ => Value::Object(Map::new()),
            };
            target = match target {
                Value::Array(a) => {
                    let n: usize = token.parse().unwrap_or(0);
                    while a.len() <= n {
                        a.push(Value::Null);
                    }
                    if last {
                        a[n] = value.clone();
                    } else if a[n].is_null() {
                        a[n] = empty();
                    }
                    &mut a[n]
                }
                Value::Object(m) => {
                    if last {
                        m.insert(token.clone(), value.clone());
                    }
                    m.entry(token.clone()).or_insert_with(empty)
                }
                // Two pointers disagree about the shape; the first one wins.
                _ => break,
            };
            source = next_source;
        }
    }
    out
}

/// What `list` asks for.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Namespace (none: every namespace, or a cluster-scoped kind).
    pub namespace: Option<String>,
    /// Label selector.
    pub label_selector: Option<String>,
    /// Field selector.
    pub field_selector: Option<String>,
    /// Most items (0: [`MAX_LIST_ITEMS`]).
    pub max_items: u32,
    /// JSON pointers to keep (empty: whole items).
    pub fields: Vec<String>,
}

/// A list's items (already cleaned and projected).
#[derive(Debug, Clone, Default)]
pub struct Listed {
    /// Items.
    pub items: Vec<Value>,
    /// Whether more existed.
    pub truncated: bool,
    /// resourceVersion of the first page.
    pub resource_version: String,
}

impl ContextClient {
    /// Lists `res`, following `continue` tokens page by page, stopping at `max_items`; each
    /// page is cleaned and projected before the next is fetched.
    pub async fn list_pages(&self, res: &Resolved, q: &ListQuery) -> Result<Listed, KubeError> {
        check_pointers(&q.fields)?;
        let max = match q.max_items {
            0 => MAX_LIST_ITEMS,
            n => n.min(MAX_LIST_ITEMS),
        } as usize;
        let path = res.collection(q.namespace.as_deref());
        let kind = res.res.kind.clone();
        let api_version = res.api_version();
        let mut out = Listed::default();
        let mut cont: Option<String> = None;
        loop {
            let want = (max - out.items.len()).min(PAGE_SIZE as usize) as u32;
            let uri = with_query(
                &path,
                &[
                    (
                        "labelSelector",
                        q.label_selector.clone().filter(|s| !s.is_empty()),
                    ),
                    (
                        "fieldSelector",
                        q.field_selector.clone().filter(|s| !s.is_empty()),
                    ),
                    ("limit", Some(want.max(1).to_string())),
                    ("continue", cont.clone()),
                ],
            );
            let mut page = self.send_json(&Req::get(uri)).await?;
            if out.resource_version.is_empty() {
                out.resource_version = page["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
            }
            let next = page["metadata"]["continue"]
                .as_str()
                .filter(|c| !c.is_empty())
                .map(str::to_string);
            let remaining = page["metadata"]["remainingItemCount"].as_i64();
            let items = match page.get_mut("items").map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            let mut left_in_page = false;
            for mut item in items {
                if out.items.len() >= max {
                    left_in_page = true;
                    break;
                }
                if let Some(m) = item.as_object_mut() {
                    m.entry("apiVersion")
                        .or_insert_with(|| Value::String(api_version.clone()));
                    m.entry("kind")
                        .or_insert_with(|| Value::String(kind.clone()));
                }
                strip(&mut item);
                out.items.push(if q.fields.is_empty() {
                    item
                } else {
                    project(&item, &q.fields)
                });
            }
            if out.items.len() >= max {
                out.truncated = left_in_page || (next.is_some() && remaining != Some(0));
                return Ok(out);
            }
            match next {
                Some(c) => cont = Some(c),
                None => return Ok(out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projection_keeps_the_pointed_values_in_place() {
        let pod = json!({
            "metadata": {"name": "a", "namespace": "n", "labels": {"app.kubernetes.io/name": "obi"}},
            "spec": {"containers": [{"name": "c0", "image": "i0"}, {"name": "c1", "image": "i1"}]},
            "status": {"phase": "Running"}
        });
        let p = project(
            &pod,
            &[
                "/metadata/name".into(),
                "/status/phase".into(),
                "/spec/containers/1/image".into(),
                "/metadata/labels/app.kubernetes.io~1name".into(),
                "/missing/field".into(),
            ],
        );
        assert_eq!(
            p,
            json!({
                "metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "obi"}},
                "status": {"phase": "Running"},
                "spec": {"containers": [null, {"image": "i1"}]}
            })
        );
    }

    #[test]
    fn managed_fields_are_stripped() {
        let mut o = json!({"metadata": {"name": "a", "managedFields": [{"manager": "x"}]}});
        strip(&mut o);
        assert_eq!(o, json!({"metadata": {"name": "a"}}));
    }

    #[test]
    fn names_and_api_versions_are_checked() {
        assert!(check_name("name", "obi-agent").is_ok());
        assert!(check_name("name", "system:obi").is_ok());
        for bad in ["", "a/b", "..", "a b", "a?b"] {
            assert!(check_name("name", bad).is_err(), "{bad}");
        }
        assert_eq!(
            split_api_version("apps/v1").unwrap(),
            ("apps".into(), "v1".into())
        );
        assert_eq!(split_api_version("v1").unwrap(), ("".into(), "v1".into()));
        assert!(split_api_version("a/b/c").is_err());
        assert!(check_pointers(&["metadata/name".into()]).is_err());
    }
}
