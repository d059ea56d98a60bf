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
        let text = self.list_pages_text(res, q).await?;
        let items = text
            .items
            .iter()
            .map(|t| serde_json::from_str(t))
            .collect::<Result<Vec<Value>, _>>()
            .map_err(|e| KubeError::Failed(format!("re-reading a listed item failed: {e}")))?;
        Ok(Listed {
            items,
            truncated: text.truncated,
            resource_version: text.resource_version,
        })
    }

    /// Like [`Self::list_pages`], with each item as JSON text. A page is never turned into
    /// one JSON tree: its items are cut out as raw text and each is projected on its own, so
    /// memory holds one page's bytes plus the projected items, and a projection walks only
    /// the pointed paths of an item instead of building all of it.
    pub async fn list_pages_text(
        &self,
        res: &Resolved,
        q: &ListQuery,
    ) -> Result<ListedText, KubeError> {
        check_pointers(&q.fields)?;
        let max = match q.max_items {
            0 => MAX_LIST_ITEMS,
            n => n.min(MAX_LIST_ITEMS),
        } as usize;
        let path = res.collection(q.namespace.as_deref());
        let kind = res.res.kind.clone();
        let api_version = res.api_version();
        let projector = Projector::new(&q.fields);
        let mut out = ListedText::default();
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
            let body = self.send(&Req::get(uri.clone())).await?;
            let not_json = |e: serde_json::Error| {
                KubeError::Failed(format!(
                    "cluster \"{}\" answered GET {uri} with something that is not a list: {e}",
                    self.context
                ))
            };
            let page: RawPage<'_> = serde_json::from_slice(&body).map_err(not_json)?;
            if out.resource_version.is_empty() {
                out.resource_version = page.metadata.resource_version.unwrap_or_default();
            }
            let next = page.metadata.cont.filter(|c| !c.is_empty());
            let remaining = page.metadata.remaining_item_count;
            let mut left_in_page = false;
            for raw in page.items {
                if out.items.len() >= max {
                    left_in_page = true;
                    break;
                }
                out.items
                    .push(projector.item(raw, &api_version, &kind).map_err(not_json)?);
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

/// The items of a list as JSON text.
#[derive(Debug, Default)]
pub struct ListedText {
    /// Items.
    pub items: Vec<String>,
    /// Whether more existed.
    pub truncated: bool,
    /// resourceVersion of the first page.
    pub resource_version: String,
}

/// A list page whose items stay raw text until each is projected.
#[derive(serde::Deserialize)]
struct RawPage<'a> {
    #[serde(default)]
    metadata: PageMeta,
    #[serde(borrow, default)]
    items: Vec<&'a serde_json::value::RawValue>,
}

#[derive(serde::Deserialize, Default)]
struct PageMeta {
    #[serde(default, rename = "resourceVersion")]
    resource_version: Option<String>,
    #[serde(default, rename = "continue")]
    cont: Option<String>,
    #[serde(default, rename = "remainingItemCount")]
    remaining_item_count: Option<i64>,
}

/// The pointed paths of a projection as a tree of object keys.
#[derive(Debug, Default)]
struct Trie {
    leaf: bool,
    children: std::collections::BTreeMap<String, Trie>,
}

/// Turns one raw list item into the JSON text handed to the toolset.
struct Projector {
    fields: Vec<String>,
    /// Set when every pointer walks object keys only and none takes `metadata` (or the whole
    /// item) wholesale: then items are projected on their raw text.
    trie: Option<Trie>,
}

impl Projector {
    fn new(fields: &[String]) -> Projector {
        let raw_ok = !fields.is_empty()
            && fields.iter().all(|f| {
                let tokens: Vec<String> = f.split('/').skip(1).map(unescape).collect();
                // Object keys only; not apiVersion/kind (added to list items), not the whole
                // item or the whole metadata (whose managedFields must be stripped).
                let object_keys_only = tokens
                    .iter()
                    .all(|t| t.parse::<usize>().is_err() && t != "-");
                let wholesale = match tokens.as_slice() {
                    [] => true,
                    [only] => only == "metadata",
                    _ => false,
                };
                let added = matches!(
                    tokens.first().map(String::as_str),
                    Some("apiVersion" | "kind")
                );
                object_keys_only && !wholesale && !added
            });
        let trie = raw_ok.then(|| {
            let mut root = Trie::default();
            for f in fields {
                let mut node = &mut root;
                for t in f.split('/').skip(1).map(unescape) {
                    node = node.children.entry(t).or_default();
                }
                node.leaf = true;
            }
            root
        });
        Projector {
            fields: fields.to_vec(),
            trie,
        }
    }

    fn item(
        &self,
        raw: &serde_json::value::RawValue,
        api_version: &str,
        kind: &str,
    ) -> Result<String, serde_json::Error> {
        if let Some(trie) = &self.trie {
            let mut out = String::with_capacity(256);
            if !emit(raw, trie, &mut out)? {
                out.clear();
                out.push_str("{}");
            }
            return Ok(out);
        }
        let mut item: Value = serde_json::from_str(raw.get())?;
        if let Some(m) = item.as_object_mut() {
            m.entry("apiVersion")
                .or_insert_with(|| Value::String(api_version.to_string()));
            m.entry("kind")
                .or_insert_with(|| Value::String(kind.to_string()));
        }
        strip(&mut item);
        Ok(if self.fields.is_empty() {
            item
        } else {
            project(&item, &self.fields)
        }
        .to_string())
    }
}

/// Writes the parts of `raw` that `trie` points at; returns whether anything was written.
fn emit(
    raw: &serde_json::value::RawValue,
    trie: &Trie,
    out: &mut String,
) -> Result<bool, serde_json::Error> {
    if trie.leaf {
        out.push_str(raw.get());
        return Ok(true);
    }
    if !raw.get().trim_start().starts_with('{') {
        return Ok(false);
    }
    let map: std::collections::BTreeMap<String, &serde_json::value::RawValue> =
        serde_json::from_str(raw.get())?;
    let start = out.len();
    out.push('{');
    let mut any = false;
    for (key, child) in &trie.children {
        let Some(value) = map.get(key) else { continue };
        let mark = out.len();
        if any {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key)?);
        out.push(':');
        if emit(value, child, out)? {
            any = true;
        } else {
            out.truncate(mark);
        }
    }
    if !any {
        out.truncate(start);
        return Ok(false);
    }
    out.push('}');
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn raw_projection_equals_the_tree_projection() {
        let pod = json!({
            "metadata": {"name": "a\"b", "namespace": "n", "labels": {"app.kubernetes.io/name": "obi"},
                         "managedFields": [{"manager": "x"}]},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c0", "image": "i0"}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "obi", "ready": true}]}
        });
        let text = pod.to_string();
        let raw: &serde_json::value::RawValue = serde_json::from_str(&text).unwrap();
        let fields: Vec<String> = [
            "/metadata/name",
            "/metadata/labels",
            "/spec/nodeName",
            "/status/phase",
            "/status/containerStatuses",
            "/status/missing",
            "/nothing/here",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let fast = Projector::new(&fields);
        assert!(fast.trie.is_some(), "object-key pointers take the raw path");
        let got: Value = serde_json::from_str(&fast.item(raw, "v1", "Pod").unwrap()).unwrap();
        assert_eq!(got, project(&pod, &fields));
        // Indexes, `metadata` wholesale and apiVersion/kind take the tree path.
        for f in ["/spec/containers/0/image", "/metadata", "/kind"] {
            assert!(Projector::new(&[f.to_string()]).trie.is_none(), "{f}");
        }
        let whole = Projector::new(&["/metadata".to_string()]);
        let got: Value = serde_json::from_str(&whole.item(raw, "v1", "Pod").unwrap()).unwrap();
        assert!(got["metadata"].get("managedFields").is_none());
        let none = Projector::new(&["/nothing".to_string()]);
        assert_eq!(none.item(raw, "v1", "Pod").unwrap(), "{}");
    }

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
