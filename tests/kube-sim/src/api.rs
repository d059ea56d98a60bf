//! Resource API handlers: get, list, watch, create, update, patch, delete, deletecollection,
//! subresources, access reviews and metrics.

use crate::cluster::{Sim, User};
use crate::error::ApiError;
use crate::protobuf;
use crate::resources::{self, ResId, def};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::server::{Body, Req, bytes_response, error_response, json_response, streamed};
use crate::store::{EventType, Obj};
use crate::{patch, rbac, util};
use bytes::{BufMut, Bytes, BytesMut};
use http::{Method, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

/// What a request is about (Kubernetes `RequestInfo`).
#[derive(Debug, Default)]
pub struct Info {
    /// Verb (`get`, `list`, `watch`, `create`, ...), or the lowercase method for non-resource paths.
    pub verb: String,
    /// Whether the path is a resource path.
    pub is_resource: bool,
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Resource plural.
    pub plural: String,
    /// Resolved resource.
    pub res: Option<ResId>,
    /// Namespace.
    pub ns: Option<String>,
    /// Object name.
    pub name: Option<String>,
    /// Subresource.
    pub sub: Option<String>,
}

impl Info {
    /// `pods` or `pods/log`.
    pub fn resource_with_sub(&self) -> String {
        match &self.sub {
            Some(s) => format!("{}/{}", self.plural, s),
            None => self.plural.clone(),
        }
    }
}

/// Parses a request path into its resource coordinates.
pub fn request_info(r: &Req) -> Info {
    let segs: Vec<&str> = r
        .path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let mut info = Info {
        verb: r.method.as_str().to_lowercase(),
        ..Default::default()
    };
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] if !rest.is_empty() => ("", *v, rest),
        ["apis", g, v, rest @ ..] if !rest.is_empty() => (*g, *v, rest),
        _ => return info,
    };
    info.is_resource = true;
    info.group = group.into();
    info.version = version.into();
    let namespaced_path = rest.len() >= 3
        && rest[0] == "namespaces"
        && resources::find(group, version, rest[2]).is_some_and(|id| def(id).namespaced);
    let rest: &[&str] = if namespaced_path {
        info.ns = Some(rest[1].to_string());
        &rest[2..]
    } else {
        rest
    };
    info.plural = rest[0].to_string();
    info.name = rest.get(1).map(|s| s.to_string());
    info.sub = rest.get(2).map(|s| s.to_string());
    if rest.len() > 3 {
        info.res = None;
    } else {
        info.res = resources::find(group, version, rest[0]);
    }
    if !namespaced_path && info.plural == "namespaces" {
        // The namespace object itself: /api/v1/namespaces/{name}.
        info.ns = info.name.clone();
    }
    let watch = r.q_bool("watch") && r.q("watch").is_some();
    info.verb = match (&r.method, info.name.is_some()) {
        (&Method::GET, false) if watch => "watch",
        (&Method::GET, false) => "list",
        (&Method::GET, true) if watch => "watch",
        (&Method::GET, true) => "get",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, false) => "deletecollection",
        (&Method::DELETE, true) => "delete",
        _ => "unknown",
    }
    .into();
    info
}

fn wants_table(r: &Req) -> bool {
    r.accept.contains("as=Table")
}

fn manager(r: &Req) -> String {
    r.q("fieldManager").map(String::from).unwrap_or_else(|| {
        r.user_agent
            .split('/')
            .next()
            .unwrap_or("unknown")
            .to_string()
    })
}

fn parse_body(r: &Req) -> Result<Value, ApiError> {
    if r.body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    if r.content_type.contains("protobuf") {
        return protobuf::decode(&r.body)
            .map_err(|e| ApiError::new(415, "UnsupportedMediaType", e));
    }
    if r.content_type.contains("yaml") {
        serde_norway::from_slice(&r.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
    } else {
        serde_json::from_slice(&r.body).map_err(|e| {
            ApiError::bad_request(format!(
                "Object 'Kind' is missing in '{}': {e}",
                String::from_utf8_lossy(&r.body)
            ))
        })
    }
}

/// Routes one authenticated request.
pub async fn dispatch(sim: &Arc<Sim>, user: &User, r: &Req, info: &Info) -> Response<Body> {
    if !info.is_resource {
        return crate::discovery::handle(sim, r);
    }
    let Some(id) = info.res else {
        return error_response(&ApiError::no_route());
    };
    let d = def(id);
    if let Some(sub) = &info.sub
        && !d.subresources.contains(&sub.as_str())
    {
        return error_response(&ApiError::no_route());
    }
    if !d.verbs.contains(&info.verb.as_str()) && info.sub.is_none() {
        return error_response(&ApiError::method_not_allowed());
    }
    let ns_for_authz = if d.namespaced {
        info.ns.as_deref()
    } else {
        None
    };
    let attrs = rbac::Attrs {
        verb: &info.verb,
        group: d.group,
        resource: d.plural,
        subresource: info.sub.as_deref().unwrap_or(""),
        namespace: ns_for_authz.unwrap_or(""),
        name: info.name.as_deref().unwrap_or(""),
    };
    if let Err(e) = rbac::authorize(&sim.store, user, &attrs) {
        return error_response(&e);
    }
    let res = match (d.group, d.kind) {
        ("authorization.k8s.io", _) => access_review(sim, user, r, id),
        ("metrics.k8s.io", _) => crate::kubelet::metrics(sim, r, info, id),
        _ => match (info.verb.as_str(), info.sub.as_deref()) {
            ("get", Some("log")) => {
                return crate::logs::handle(
                    sim,
                    r,
                    info.ns.as_deref().unwrap_or(""),
                    info.name.as_deref().unwrap_or(""),
                )
                .await;
            }
            ("get", _) => get(sim, r, info, id),
            ("list", _) => list(sim, r, info, id),
            ("watch", _) => watch(sim, r, info, id),
            ("create", None) => create(sim, r, info, id),
            ("update", _) => update(sim, r, info, id),
            ("patch", _) => patch_handler(sim, user, r, info, id),
            ("delete", None) => delete(sim, r, info, id),
            ("deletecollection", None) => delete_collection(sim, r, info, id),
            _ => Err(ApiError::method_not_allowed()),
        },
    };
    res.unwrap_or_else(|e| error_response(&e))
}

fn key_ns(info: &Info, id: ResId) -> String {
    if def(id).namespaced {
        info.ns.clone().unwrap_or_default()
    } else {
        String::new()
    }
}

fn get(sim: &Sim, r: &Req, info: &Info, id: ResId) -> Result<Response<Body>, ApiError> {
    let name = info.name.as_deref().unwrap_or("");
    let o = sim
        .store
        .get(id, &key_ns(info, id), name)
        .ok_or_else(|| ApiError::not_found(def(id), name))?;
    if wants_table(r) {
        return Ok(json_response(
            200,
            &crate::table::render(sim, id, std::slice::from_ref(&o), o.rv(), r),
        ));
    }
    Ok(bytes_response(200, o.json.clone()))
}

/// Compiled list filters.
pub struct Filters {
    ns: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filters {
    /// From query parameters.
    pub fn from(r: &Req, info: &Info, id: ResId) -> Result<Self, ApiError> {
        Ok(Filters {
            ns: if def(id).namespaced {
                info.ns.clone()
            } else {
                None
            },
            labels: LabelSelector::parse(r.q("labelSelector").unwrap_or(""))?,
            fields: FieldSelector::parse(r.q("fieldSelector").unwrap_or(""), def(id).kind)?,
        })
    }
    /// Whether a stored object passes (by its index, without parsing it).
    pub fn matches_obj(&self, o: &Obj) -> bool {
        self.ns.as_deref().is_none_or(|ns| o.idx.namespace == ns)
            && self.labels.matches_obj(o)
            && (self.fields.is_empty() || self.fields.matches_obj(o))
    }
}

fn list(sim: &Sim, r: &Req, info: &Info, id: ResId) -> Result<Response<Body>, ApiError> {
    let f = Filters::from(r, info, id)?;
    let (mut objs, rv) = sim.store.list(id, f.ns.as_deref(), |o| f.matches_obj(o));
    let d = def(id);
    // Pagination: continue token = base64(JSON {rv, after: "ns/name"}).
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut list_rv = rv;
    if let Some(c) = r.q("continue").filter(|c| !c.is_empty()) {
        let tok: Value = b64
            .decode(c)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                ApiError::bad_request("continue key is not valid: illegal base64 data")
            })?;
        let after = tok["after"].as_str().unwrap_or("").to_string();
        list_rv = tok["rv"].as_u64().unwrap_or(rv);
        objs.retain(|o| format!("{}/{}", o.idx.namespace, o.idx.name) > after);
    }
    let mut cont = None;
    let mut remaining = 0;
    if let Some(limit) = r
        .q("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        && objs.len() > limit
    {
        remaining = objs.len() - limit;
        objs.truncate(limit);
        let last = objs.last().expect("non-empty");
        let after = format!("{}/{}", last.idx.namespace, last.idx.name);
        cont = Some(b64.encode(
            serde_json::to_vec(&json!({"rv": list_rv, "after": after})).unwrap_or_default(),
        ));
    }
    if wants_table(r) {
        let mut t = crate::table::render(sim, id, &objs, list_rv, r);
        if let Some(c) = &cont {
            t["metadata"]["continue"] = c.clone().into();
        }
        return Ok(json_response(200, &t));
    }
    let mut meta = json!({"resourceVersion": list_rv.to_string()});
    if let Some(c) = cont {
        meta["continue"] = c.into();
        meta["remainingItemCount"] = remaining.into();
    }
    let mut buf =
        BytesMut::with_capacity(objs.iter().map(|o| o.json.len() + 1).sum::<usize>() + 200);
    buf.put_slice(
        format!(
            "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{},\"items\":[",
            d.kind,
            d.api_version(),
            meta
        )
        .as_bytes(),
    );
    for (i, o) in objs.iter().enumerate() {
        if i > 0 {
            buf.put_u8(b',');
        }
        buf.put_slice(&o.json);
    }
    buf.put_slice(b"]}");
    Ok(bytes_response(200, buf.freeze()))
}

fn event_bytes(typ: &str, obj: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(obj.len() + 32);
    b.put_slice(b"{\"type\":\"");
    b.put_slice(typ.as_bytes());
    b.put_slice(b"\",\"object\":");
    b.put_slice(obj);
    b.put_slice(b"}\n");
    b.freeze()
}

fn bookmark(id: ResId, rv: u64, initial_end: bool) -> Bytes {
    let d = def(id);
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let obj = json!({"kind": d.kind, "apiVersion": d.api_version(), "metadata": meta});
    event_bytes("BOOKMARK", &serde_json::to_vec(&obj).unwrap_or_default())
}

fn watch(sim: &Arc<Sim>, r: &Req, info: &Info, id: ResId) -> Result<Response<Body>, ApiError> {
    let mut f = Filters::from(r, info, id)?;
    if let Some(name) = &info.name {
        f.fields = FieldSelector::parse(&format!("metadata.name={name}"), def(id).kind)?;
    }
    let send_initial = r.q("sendInitialEvents") == Some("true");
    let rv_param = r.q("resourceVersion").unwrap_or("");
    let since =
        if send_initial || rv_param.is_empty() || rv_param == "0" {
            None
        } else {
            Some(rv_param.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!("invalid resource version: {rv_param}"))
            })?)
        };
    let allow_bookmarks = r.q_bool("allowWatchBookmarks") && r.q("allowWatchBookmarks").is_some();
    let timeout = r
        .q("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(256);
    let sub = sim.store.subscribe(id, since);
    let bookmark_every = sim.timings().bookmark_interval;
    let mut shutdown = sim.shutdown.clone();
    let sim2 = sim.clone();
    tokio::spawn(async move {
        let mut sub = match sub {
            Ok(s) => s,
            Err(e) => {
                let _ = tx
                    .send(Ok(event_bytes(
                        "ERROR",
                        &serde_json::to_vec(&e.to_status()).unwrap_or_default(),
                    )))
                    .await;
                return;
            }
        };
        let mut last_rv = since.unwrap_or(sub.rv);
        for o in std::mem::take(&mut sub.snapshot) {
            if f.matches_obj(&o) && tx.send(Ok(event_bytes("ADDED", &o.json))).await.is_err() {
                return;
            }
        }
        if send_initial {
            last_rv = sub.rv;
            if tx.send(Ok(bookmark(id, sub.rv, true))).await.is_err() {
                return;
            }
        }
        let send_change = |c: &crate::store::Change| -> Option<Bytes> {
            let now = f.matches_obj(&c.obj);
            let before = c.prev.as_ref().is_some_and(|p| f.matches_obj(p));
            let typ = match c.typ {
                EventType::Added if now => "ADDED",
                EventType::Modified if now && before => "MODIFIED",
                EventType::Modified if now => "ADDED",
                EventType::Modified if before => "DELETED",
                EventType::Deleted if now || before => "DELETED",
                _ => return None,
            };
            Some(event_bytes(typ, &c.obj.json))
        };
        for c in std::mem::take(&mut sub.replay) {
            last_rv = c.rv;
            if let Some(b) = send_change(&c)
                && tx.send(Ok(b)).await.is_err()
            {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(bookmark_every);
        tick.tick().await;
        loop {
            tokio::select! {
                c = sub.rx.recv() => match c {
                    Ok(c) => {
                        if c.rv <= last_rv { continue; }
                        last_rv = c.rv;
                        if let Some(b) = send_change(&c)
                            && tx.send(Ok(b)).await.is_err() { return; }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        // Fell behind the live channel: catch up from the history, or end with 410.
                        match sim2.store.subscribe(id, Some(last_rv)) {
                            Ok(fresh) => {
                                sub.rx = fresh.rx;
                                for c in fresh.replay {
                                    last_rv = c.rv;
                                    if let Some(b) = send_change(&c)
                                        && tx.send(Ok(b)).await.is_err() { return; }
                                }
                            }
                            Err(e) => {
                                let _ = tx.send(Ok(event_bytes("ERROR", &serde_json::to_vec(&e.to_status()).unwrap_or_default()))).await;
                                return;
                            }
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick(), if allow_bookmarks => {
                    if tx.send(Ok(bookmark(id, last_rv, false))).await.is_err() { return; }
                }
                _ = &mut deadline => return,
                _ = shutdown.changed() => return,
                _ = tx.closed() => return,
            }
        }
    });
    Ok(Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("Cache-Control", "no-cache, private")
        .body(streamed(rx))
        .expect("response"))
}

/// Field validation mode of a request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FieldValidation {
    Strict,
    Warn,
    Ignore,
}

fn field_validation(sim: &Sim, r: &Req) -> FieldValidation {
    match r.q("fieldValidation") {
        Some("Strict") => FieldValidation::Strict,
        Some("Warn") => FieldValidation::Warn,
        Some("Ignore") => FieldValidation::Ignore,
        _ if sim.opts.strict_fields => FieldValidation::Strict,
        _ => FieldValidation::Warn,
    }
}

/// Fills in the defaults a real API server sets.
pub fn defaults(sim: &Sim, id: ResId, v: &mut Value) {
    let d = def(id);
    if let Some(m) = v.as_object_mut() {
        m.insert("apiVersion".into(), d.api_version().into());
        m.insert("kind".into(), d.kind.into());
    }
    match d.kind {
        "Pod" => {
            if let Some(spec) = v.get_mut("spec") {
                pod_spec_defaults(spec);
            }
            if v.pointer("/status/phase").is_none() {
                util::set(v, &["status", "phase"], "Pending".into());
                util::set(v, &["status", "qosClass"], qos(v).into());
            }
        }
        "DaemonSet" | "Deployment" | "ReplicaSet" | "StatefulSet" => {
            if let Some(spec) = v.pointer_mut("/spec/template/spec") {
                pod_spec_defaults(spec);
            }
            let spec = util::ensure_obj(v, &["spec"]);
            match d.kind {
                "DaemonSet" => {
                    spec.entry("revisionHistoryLimit").or_insert(10.into());
                    let us = spec.entry("updateStrategy").or_insert(json!({}));
                    if us.get("type").is_none() {
                        us["type"] = "RollingUpdate".into();
                    }
                    if us["type"] == "RollingUpdate" && us.get("rollingUpdate").is_none() {
                        us["rollingUpdate"] = json!({"maxUnavailable": 1, "maxSurge": 0});
                    }
                }
                "Deployment" => {
                    spec.entry("replicas").or_insert(1.into());
                    spec.entry("revisionHistoryLimit").or_insert(10.into());
                    spec.entry("progressDeadlineSeconds").or_insert(600.into());
                    let st = spec.entry("strategy").or_insert(json!({}));
                    if st.get("type").is_none() {
                        st["type"] = "RollingUpdate".into();
                    }
                    if st["type"] == "RollingUpdate" && st.get("rollingUpdate").is_none() {
                        st["rollingUpdate"] = json!({"maxUnavailable": "25%", "maxSurge": "25%"});
                    }
                }
                "StatefulSet" => {
                    spec.entry("replicas").or_insert(1.into());
                    spec.entry("podManagementPolicy")
                        .or_insert("OrderedReady".into());
                    spec.entry("updateStrategy").or_insert(
                        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
                    );
                    spec.entry("revisionHistoryLimit").or_insert(10.into());
                }
                _ => {
                    spec.entry("replicas").or_insert(1.into());
                }
            }
        }
        "Service" => {
            let seed = sim.opts.seed;
            let name = format!("{}/{}", util::ns_of(v), util::name_of(v));
            let spec = util::ensure_obj(v, &["spec"]);
            spec.entry("type").or_insert("ClusterIP".into());
            spec.entry("sessionAffinity").or_insert("None".into());
            if !spec.contains_key("clusterIP") {
                let h = util::hash_str(seed, &name);
                let ip = format!("10.96.{}.{}", (h >> 8) % 256, h % 253 + 2);
                spec.insert("clusterIP".into(), ip.clone().into());
                spec.insert("clusterIPs".into(), json!([ip]));
            }
            spec.entry("ipFamilies").or_insert(json!(["IPv4"]));
            spec.entry("ipFamilyPolicy").or_insert("SingleStack".into());
            spec.entry("internalTrafficPolicy")
                .or_insert("Cluster".into());
            if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports {
                    if p.get("protocol").is_none() {
                        p["protocol"] = "TCP".into();
                    }
                    if p.get("targetPort").is_none() {
                        p["targetPort"] = p.get("port").cloned().unwrap_or(Value::Null);
                    }
                }
            }
        }
        "Namespace" => {
            let name = util::name_of(v).to_string();
            util::ensure_obj(v, &["metadata", "labels"])
                .insert("kubernetes.io/metadata.name".into(), name.into());
            util::ensure_obj(v, &["spec"])
                .entry("finalizers")
                .or_insert(json!(["kubernetes"]));
            util::ensure_obj(v, &["status"])
                .entry("phase")
                .or_insert("Active".into());
        }
        "Secret" => {
            if let Some(m) = v.as_object_mut() {
                m.entry("type").or_insert("Opaque".into());
                if let Some(sd) = m.remove("stringData") {
                    use base64::Engine;
                    let data = m.entry("data").or_insert(json!({}));
                    if let Some(sd) = sd.as_object() {
                        for (k, x) in sd {
                            data[k] = base64::engine::general_purpose::STANDARD
                                .encode(x.as_str().unwrap_or(""))
                                .into();
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

fn qos(pod: &Value) -> &'static str {
    let cs = pod.pointer("/spec/containers").and_then(Value::as_array);
    let any = cs.is_some_and(|cs| {
        cs.iter().any(|c| {
            c.pointer("/resources/requests").is_some() || c.pointer("/resources/limits").is_some()
        })
    });
    if any { "Burstable" } else { "BestEffort" }
}

fn pod_spec_defaults(spec: &mut Value) {
    let Some(m) = spec.as_object_mut() else {
        return;
    };
    m.entry("restartPolicy").or_insert("Always".into());
    m.entry("terminationGracePeriodSeconds")
        .or_insert(30.into());
    m.entry("dnsPolicy").or_insert("ClusterFirst".into());
    m.entry("securityContext").or_insert(json!({}));
    m.entry("schedulerName")
        .or_insert("default-scheduler".into());
    let sa = m
        .get("serviceAccountName")
        .or_else(|| m.get("serviceAccount"))
        .cloned()
        .unwrap_or_else(|| "default".into());
    m.insert("serviceAccountName".into(), sa.clone());
    m.insert("serviceAccount".into(), sa);
    m.entry("enableServiceLinks").or_insert(true.into());
    for list in ["containers", "initContainers"] {
        if let Some(cs) = m.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs {
                let Some(cm) = c.as_object_mut() else {
                    continue;
                };
                let image = cm
                    .get("image")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let tag_latest = !image.contains('@')
                    && image
                        .rsplit('/')
                        .next()
                        .is_some_and(|last| !last.contains(':') || last.ends_with(":latest"));
                cm.entry("imagePullPolicy")
                    .or_insert(if tag_latest { "Always" } else { "IfNotPresent" }.into());
                cm.entry("terminationMessagePath")
                    .or_insert("/dev/termination-log".into());
                cm.entry("terminationMessagePolicy")
                    .or_insert("File".into());
                cm.entry("resources").or_insert(json!({}));
                if let Some(ports) = cm.get_mut("ports").and_then(Value::as_array_mut) {
                    for p in ports {
                        if p.get("protocol").is_none() {
                            p["protocol"] = "TCP".into();
                        }
                    }
                }
            }
        }
    }
}

fn label_errors(v: &Value, path: &str, out: &mut Vec<(String, String, &'static str)>) {
    if let Some(m) = v.as_object() {
        for (k, x) in m {
            let val = x.as_str().unwrap_or("");
            let name = k.rsplit('/').next().unwrap_or(k);
            let ok_key = !name.is_empty()
                && name.len() <= 63
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !ok_key {
                out.push((path.to_string(), format!("Invalid value: \"{k}\": name part must consist of alphanumeric characters, '-', '_' or '.'"), "FieldValueInvalid"));
            }
            let ok_val = val.len() <= 63
                && val
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                && (val.is_empty()
                    || (val.as_bytes()[0].is_ascii_alphanumeric()
                        && val.as_bytes()[val.len() - 1].is_ascii_alphanumeric()));
            if !ok_val {
                out.push((
                    path.to_string(),
                    format!("Invalid value: \"{val}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"),
                    "FieldValueInvalid",
                ));
            }
        }
    }
}

fn pod_spec_errors(
    spec: Option<&Value>,
    path: &str,
    out: &mut Vec<(String, String, &'static str)>,
) {
    let cs = spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array);
    match cs {
        None => out.push((
            format!("{path}.containers"),
            "Required value".into(),
            "FieldValueRequired",
        )),
        Some(cs) if cs.is_empty() => out.push((
            format!("{path}.containers"),
            "Required value".into(),
            "FieldValueRequired",
        )),
        Some(cs) => {
            let mut seen = Vec::new();
            for (i, c) in cs.iter().enumerate() {
                let name = c.get("name").and_then(Value::as_str).unwrap_or("");
                if name.is_empty() {
                    out.push((
                        format!("{path}.containers[{i}].name"),
                        "Required value".into(),
                        "FieldValueRequired",
                    ));
                } else if !util::is_dns_label(name) {
                    out.push((format!("{path}.containers[{i}].name"), format!("Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"), "FieldValueInvalid"));
                } else if seen.contains(&name) {
                    out.push((
                        format!("{path}.containers[{i}].name"),
                        format!("Duplicate value: \"{name}\""),
                        "FieldValueDuplicate",
                    ));
                }
                seen.push(name);
                if c.get("image")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    out.push((
                        format!("{path}.containers[{i}].image"),
                        "Required value".into(),
                        "FieldValueRequired",
                    ));
                }
            }
        }
    }
    if let Some(dns) = spec
        .and_then(|s| s.get("dnsPolicy"))
        .and_then(Value::as_str)
        && !matches!(
            dns,
            "ClusterFirst" | "ClusterFirstWithHostNet" | "Default" | "None"
        )
    {
        out.push((format!("{path}.dnsPolicy"), format!("Unsupported value: \"{dns}\": supported values: \"ClusterFirst\", \"ClusterFirstWithHostNet\", \"Default\", \"None\""), "FieldValueNotSupported"));
    }
}

/// Validates an object: typed decoding, unknown fields, and the semantic checks of the kind.
fn validate(
    sim: &Sim,
    id: ResId,
    v: &mut Value,
    mode: FieldValidation,
    op: &str,
) -> Result<Vec<String>, ApiError> {
    let d = def(id);
    let name = util::name_of(v).to_string();
    let mut warnings = Vec::new();
    if let Some(check) = d.validate {
        match check(v) {
            Err(e) => return Err(ApiError::bad_request(format!("{} in body: {e}", d.kind))),
            Ok(unknown) if !unknown.is_empty() => match mode {
                FieldValidation::Strict => {
                    let msg = if op == "apply" {
                        format!(
                            "failed to create typed patch object ({}, Kind={}): {}",
                            d.api_version(),
                            d.kind,
                            unknown
                                .iter()
                                .map(|u| format!(".{u}: field not declared in schema"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    } else {
                        format!(
                            "strict decoding error: {}",
                            unknown
                                .iter()
                                .map(|u| format!("unknown field \"{u}\""))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    };
                    return Err(ApiError::bad_request(msg));
                }
                m => {
                    if m == FieldValidation::Warn {
                        warnings.extend(unknown.iter().map(|u| format!("unknown field \"{u}\"")));
                    }
                    for u in &unknown {
                        remove_dotted(v, u);
                    }
                }
            },
            Ok(_) => {}
        }
    }
    let mut causes: Vec<(String, String, &'static str)> = Vec::new();
    if name.is_empty() {
        causes.push((
            "metadata.name".into(),
            "Required value: name or generateName is required".into(),
            "FieldValueRequired",
        ));
    } else {
        let ok = match d.kind {
            "Namespace" => util::is_dns_label(&name),
            "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding" => {
                !name.contains('/') && !name.contains('%') && name != "." && name != ".."
            }
            _ => util::is_dns_subdomain(&name),
        };
        if !ok {
            causes.push((
                "metadata.name".into(),
                format!("Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
                "FieldValueInvalid",
            ));
        }
    }
    if let Some(l) = v.pointer("/metadata/labels") {
        label_errors(l, "metadata.labels", &mut causes);
    }
    match d.kind {
        "Pod" => pod_spec_errors(v.get("spec"), "spec", &mut causes),
        "DaemonSet" | "Deployment" | "ReplicaSet" | "StatefulSet" => {
            pod_spec_errors(
                v.pointer("/spec/template/spec"),
                "spec.template.spec",
                &mut causes,
            );
            match v.pointer("/spec/selector") {
                None => causes.push((
                    "spec.selector".into(),
                    "Required value".into(),
                    "FieldValueRequired",
                )),
                Some(sel) => {
                    let s = LabelSelector::from_object(sel);
                    if s.is_empty() {
                        causes.push((
                            "spec.selector".into(),
                            "Invalid value: \"null\": empty selector is invalid for deployment"
                                .into(),
                            "FieldValueInvalid",
                        ));
                    } else if !s.matches_labels(v.pointer("/spec/template/metadata/labels")) {
                        let labels = v
                            .pointer("/spec/template/metadata/labels")
                            .cloned()
                            .unwrap_or(json!({}));
                        causes.push(("spec.template.metadata.labels".into(), format!("Invalid value: {labels}: `selector` does not match template `labels`"), "FieldValueInvalid"));
                    }
                }
            }
            if d.kind == "DaemonSet"
                && let Some(mu) = v.pointer("/spec/updateStrategy/rollingUpdate/maxUnavailable")
                && (mu == &json!(0) || mu == &json!("0%"))
            {
                let ms = v.pointer("/spec/updateStrategy/rollingUpdate/maxSurge");
                if ms.is_none() || ms == Some(&json!(0)) || ms == Some(&json!("0%")) {
                    causes.push(("spec.updateStrategy.rollingUpdate.maxUnavailable".into(), "Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0".into(), "FieldValueInvalid"));
                }
            }
            if let Some(r) = v.pointer("/spec/replicas").and_then(Value::as_i64)
                && r < 0
            {
                causes.push((
                    "spec.replicas".into(),
                    format!("Invalid value: {r}: must be greater than or equal to 0"),
                    "FieldValueInvalid",
                ));
            }
        }
        "ConfigMap" | "Secret" => {
            for field in ["data", "binaryData", "stringData"] {
                if let Some(m) = v.get(field).and_then(Value::as_object) {
                    for k in m.keys() {
                        if k.is_empty()
                            || !k
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                        {
                            causes.push((format!("{field}[{k}]"), format!("Invalid value: \"{k}\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"), "FieldValueInvalid"));
                        }
                    }
                }
            }
        }
        "RoleBinding" | "ClusterRoleBinding"
            if v.pointer("/roleRef/name")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty) =>
        {
            causes.push((
                "roleRef.name".into(),
                "Required value".into(),
                "FieldValueRequired",
            ));
        }
        _ => {}
    }
    let _ = sim;
    if !causes.is_empty() {
        return Err(ApiError::invalid(d, &name, causes));
    }
    Ok(warnings)
}

fn remove_dotted(v: &mut Value, path: &str) {
    let mut parts: Vec<String> = Vec::new();
    for seg in path.split('.') {
        let mut s = seg;
        while let Some(i) = s.find('[') {
            if i > 0 {
                parts.push(format!("f:{}", &s[..i]));
            }
            let j = s[i..].find(']').map(|j| i + j).unwrap_or(s.len() - 1);
            parts.push(format!("i:{}", &s[i + 1..j]));
            s = &s[j + 1..];
        }
        if !s.is_empty() {
            parts.push(format!("f:{s}"));
        }
    }
    let Some((last, parent)) = parts.split_last() else {
        return;
    };
    let mut cur = &mut *v;
    for p in parent {
        let next = if let Some(f) = p.strip_prefix("f:") {
            cur.get_mut(f)
        } else {
            let i: usize = p[2..].parse().unwrap_or(usize::MAX);
            cur.get_mut(i)
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let (Some(f), Some(m)) = (last.strip_prefix("f:"), cur.as_object_mut()) {
        m.remove(f);
    }
}

fn with_warnings(mut resp: Response<Body>, warnings: &[String]) -> Response<Body> {
    for w in warnings {
        if let Ok(h) = format!("299 - \"{}\"", w.replace('"', "\\\"")).parse() {
            resp.headers_mut().append("Warning", h);
        }
    }
    resp
}

fn dry_run(r: &Req) -> bool {
    r.q("dryRun") == Some("All")
}

fn prepare_new(sim: &Sim, r: &Req, info: &Info, id: ResId, v: &mut Value) -> Result<(), ApiError> {
    let d = def(id);
    let av = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if !av.is_empty() && av != d.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            d.api_version()
        )));
    }
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    if !kind.is_empty() && kind != d.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            d.kind
        )));
    }
    if d.namespaced {
        let url_ns = info.ns.clone().unwrap_or_default();
        let obj_ns = util::ns_of(v).to_string();
        if !obj_ns.is_empty() && obj_ns != url_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        util::ensure_obj(v, &["metadata"]).insert("namespace".into(), url_ns.into());
    }
    if let (Some(url_name), name) = (&info.name, util::name_of(v).to_string()) {
        if name.is_empty() {
            util::ensure_obj(v, &["metadata"]).insert("name".into(), url_name.clone().into());
        } else if &name != url_name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({name}) does not match the name on the URL ({url_name})"
            )));
        }
    }
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("deletionTimestamp");
        m.remove("deletionGracePeriodSeconds");
    }
    if util::name_of(v).is_empty()
        && let Some(g) = v
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
            .map(String::from)
    {
        let n = format!("{g}{}", sim.suffix());
        util::ensure_obj(v, &["metadata"]).insert("name".into(), n.into());
    }
    let _ = r;
    Ok(())
}

fn create(sim: &Sim, r: &Req, info: &Info, id: ResId) -> Result<Response<Body>, ApiError> {
    let d = def(id);
    let mut v = parse_body(r)?;
    prepare_new(sim, r, info, id, &mut v)?;
    if let Some(rv) = v
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        return Err(ApiError::invalid(
            d,
            util::name_of(&v),
            vec![(
                "metadata.resourceVersion".into(),
                format!("Invalid value: \"{rv}\": must be empty"),
                "FieldValueInvalid",
            )],
        ));
    }
    if d.subresources.contains(&"status")
        && d.kind != "Namespace"
        && let Some(m) = v.as_object_mut()
    {
        m.remove("status");
    }
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
        m.remove("uid");
        m.remove("creationTimestamp");
    }
    defaults(sim, id, &mut v);
    let warnings = validate(sim, id, &mut v, field_validation(sim, r), "create")?;
    patch::record_update(
        None,
        &mut v,
        &manager(r),
        &d.api_version(),
        &util::rfc3339(SystemTime::now()),
    );
    if dry_run(r) {
        return Ok(with_warnings(json_response(201, &v), &warnings));
    }
    let o = sim.store.create(id, v)?;
    Ok(with_warnings(
        bytes_response(201, o.json.clone()),
        &warnings,
    ))
}

fn merge_status(cur: &Value, new: &mut Value, status_sub: bool) {
    let m = new.as_object_mut().expect("object");
    if status_sub {
        // Only status (and metadata resourceVersion for conflicts) changes.
        let status = m.remove("status");
        let rv = new.pointer("/metadata/resourceVersion").cloned();
        let mut out = cur.clone();
        match status {
            Some(s) => {
                out["status"] = s;
            }
            None => {
                if let Some(o) = out.as_object_mut() {
                    o.remove("status");
                }
            }
        }
        if let Some(rv) = rv {
            util::ensure_obj(&mut out, &["metadata"]).insert("resourceVersion".into(), rv);
        }
        *new = out;
    } else {
        match cur.get("status") {
            Some(s) => {
                m.insert("status".into(), s.clone());
            }
            None => {
                m.remove("status");
            }
        }
    }
}

fn update(sim: &Sim, r: &Req, info: &Info, id: ResId) -> Result<Response<Body>, ApiError> {
    let d = def(id);
    let mut v = parse_body(r)?;
    prepare_new(sim, r, info, id, &mut v)?;
    let name = info.name.clone().unwrap_or_default();
    let cur = sim
        .store
        .get(id, &key_ns(info, id), &name)
        .ok_or_else(|| ApiError::not_found(d, &name))?;
    if v.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(ApiError::invalid(
            d,
            &name,
            vec![(
                "metadata.resourceVersion".into(),
                "Invalid value: 0x0: must be specified for an update".into(),
                "FieldValueInvalid",
            )],
        ));
    }
    let status_sub = info.sub.as_deref() == Some("status");
    if status_sub || d.subresources.contains(&"status") {
        merge_status(&cur.value(), &mut v, status_sub);
    }
    write_common(sim, r, id, &cur, v, "update")
}

fn write_common(
    sim: &Sim,
    r: &Req,
    id: ResId,
    cur: &Arc<Obj>,
    mut v: Value,
    op: &str,
) -> Result<Response<Body>, ApiError> {
    let d = def(id);
    defaults(sim, id, &mut v);
    let warnings = validate(sim, id, &mut v, field_validation(sim, r), op)?;
    if op != "apply" {
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut)
            && m.get("managedFields").is_none()
            && let Some(mf) = cur.value().pointer("/metadata/managedFields")
        {
            m.insert("managedFields".into(), mf.clone());
        }
        patch::record_update(
            Some(&cur.value()),
            &mut v,
            &manager(r),
            &d.api_version(),
            &util::rfc3339(SystemTime::now()),
        );
    }
    if dry_run(r) {
        return Ok(with_warnings(json_response(200, &v), &warnings));
    }
    let o = sim.store.update(id, v, true)?;
    Ok(with_warnings(
        bytes_response(200, o.json.clone()),
        &warnings,
    ))
}

fn patch_handler(
    sim: &Sim,
    user: &User,
    r: &Req,
    info: &Info,
    id: ResId,
) -> Result<Response<Body>, ApiError> {
    let d = def(id);
    let name = info.name.clone().unwrap_or_default();
    let cur = sim.store.get(id, &key_ns(info, id), &name);
    let cur_value = cur.as_ref().map(|c| c.value());
    let status_sub = info.sub.as_deref() == Some("status");
    let ct = r
        .content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if ct == "application/apply-patch+yaml" || ct == "application/apply-patch+cbor" {
        let mut applied = parse_body(&Req {
            content_type: "yaml".into(),
            ..clone_req(r)
        })?;
        let Some(mgr) = r.q("fieldManager").filter(|m| !m.is_empty()) else {
            return Err(ApiError::bad_request(
                "PATCH, application/apply-patch+yaml requires fieldManager to be set",
            ));
        };
        if applied.get("apiVersion").is_none() || applied.get("kind").is_none() {
            return Err(ApiError::bad_request("invalid object type: /, Kind="));
        }
        prepare_new(sim, r, info, id, &mut applied)?;
        let force = r.q_bool("force") && r.q("force").is_some();
        let now = util::rfc3339(SystemTime::now());
        let merged = patch::server_side_apply(
            cur_value.as_ref(),
            &applied,
            mgr,
            force,
            &d.api_version(),
            &now,
        )?;
        return match cur {
            Some(cur) => {
                let mut v = merged;
                if status_sub || d.subresources.contains(&"status") {
                    merge_status(&cur.value(), &mut v, status_sub);
                }
                write_common(sim, r, id, &cur, v, "apply")
            }
            None => {
                let attrs = rbac::Attrs {
                    verb: "create",
                    group: d.group,
                    resource: d.plural,
                    subresource: "",
                    namespace: info.ns.as_deref().unwrap_or(""),
                    name: &name,
                };
                rbac::authorize(&sim.store, user, &attrs)?;
                let mut v = merged;
                if d.subresources.contains(&"status")
                    && d.kind != "Namespace"
                    && let Some(m) = v.as_object_mut()
                {
                    m.remove("status");
                }
                defaults(sim, id, &mut v);
                let warnings = validate(sim, id, &mut v, field_validation(sim, r), "apply")?;
                if dry_run(r) {
                    return Ok(with_warnings(json_response(201, &v), &warnings));
                }
                let o = sim.store.create(id, v)?;
                Ok(with_warnings(
                    bytes_response(201, o.json.clone()),
                    &warnings,
                ))
            }
        };
    }
    let cur = cur.ok_or_else(|| ApiError::not_found(d, &name))?;
    let p: Value = serde_json::from_slice(&r.body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let mut v = cur.value().clone();
    match ct.as_str() {
        "application/merge-patch+json" => patch::merge_patch(&mut v, &p),
        "application/strategic-merge-patch+json" => patch::strategic_merge(&mut v, &p),
        "application/json-patch+json" => patch::json_patch(&mut v, &p)?,
        other => {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json; got {other}"
                ),
            ));
        }
    }
    if util::name_of(&v) != name
        || (d.namespaced && util::ns_of(&v) != info.ns.as_deref().unwrap_or(""))
    {
        return Err(ApiError::bad_request(
            "metadata.name and metadata.namespace cannot be changed by a patch",
        ));
    }
    if status_sub || d.subresources.contains(&"status") {
        merge_status(&cur.value(), &mut v, status_sub);
    }
    write_common(sim, r, id, &cur, v, "patch")
}

fn clone_req(r: &Req) -> Req {
    Req {
        method: r.method.clone(),
        path: r.path.clone(),
        query: r.query.clone(),
        accept: r.accept.clone(),
        content_type: r.content_type.clone(),
        user_agent: r.user_agent.clone(),
        body: r.body.clone(),
    }
}

fn delete_options(r: &Req) -> Value {
    let mut o: Value = if r.body.is_empty() {
        json!({})
    } else {
        parse_body(r).unwrap_or(json!({}))
    };
    if let Some(p) = r.q("propagationPolicy") {
        o["propagationPolicy"] = p.into();
    }
    if dry_run(r) {
        o["dryRun"] = json!(["All"]);
    }
    o
}

fn delete(sim: &Sim, r: &Req, info: &Info, id: ResId) -> Result<Response<Body>, ApiError> {
    let d = def(id);
    let name = info.name.clone().unwrap_or_default();
    let ns = key_ns(info, id);
    let cur = sim
        .store
        .get(id, &ns, &name)
        .ok_or_else(|| ApiError::not_found(d, &name))?;
    let opts = delete_options(r);
    if let Some(uid) = opts.pointer("/preconditions/uid").and_then(Value::as_str) {
        let actual = cur.idx.uid.as_str();
        if uid != actual {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{}\": Precondition failed: UID in precondition: {}, UID in object meta: {}",
                    d.qualified(),
                    name,
                    uid,
                    actual
                ),
            ));
        }
    }
    if let Some(rv) = opts
        .pointer("/preconditions/resourceVersion")
        .and_then(Value::as_str)
        && rv != cur.rv().to_string()
    {
        return Err(ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": Precondition failed: ResourceVersion in precondition: {}, ResourceVersion in object meta: {}",
                d.qualified(),
                name,
                rv,
                cur.rv()
            ),
        ));
    }
    let orphan = opts.get("propagationPolicy").and_then(Value::as_str) == Some("Orphan");
    let dry = opts
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x == "All"));
    if d.kind == "Namespace" && !dry {
        // Namespaces terminate asynchronously: the namespace controller empties and removes them.
        sim.ns_deleted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.clone())
            .or_insert_with(tokio::time::Instant::now);
        let now = util::rfc3339(SystemTime::now());
        let o = sim
            .store
            .modify(id, "", &name, |v| {
                if v.pointer("/metadata/deletionTimestamp").is_some() {
                    return false;
                }
                util::ensure_obj(v, &["metadata"]).insert("deletionTimestamp".into(), now.into());
                util::ensure_obj(v, &["metadata"])
                    .insert("deletionGracePeriodSeconds".into(), 0.into());
                util::ensure_obj(v, &["status"]).insert("phase".into(), "Terminating".into());
                true
            })
            .ok_or_else(|| ApiError::not_found(d, &name))?;
        return Ok(bytes_response(200, o.json.clone()));
    }
    if !dry {
        sim.store.delete(id, &ns, &name, orphan)?;
    }
    let uid = Value::from(cur.idx.uid.clone());
    let mut details = json!({"name": name, "kind": d.plural, "uid": uid});
    if !d.group.is_empty() {
        details["group"] = d.group.into();
    }
    Ok(json_response(
        200,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
    ))
}

fn delete_collection(
    sim: &Sim,
    r: &Req,
    info: &Info,
    id: ResId,
) -> Result<Response<Body>, ApiError> {
    let d = def(id);
    let f = Filters::from(r, info, id)?;
    let (objs, rv) = sim.store.list(id, f.ns.as_deref(), |o| f.matches_obj(o));
    let opts = delete_options(r);
    let orphan = opts.get("propagationPolicy").and_then(Value::as_str) == Some("Orphan");
    let mut items = Vec::new();
    for o in objs {
        if !dry_run(r) {
            if let Ok(x) = sim.store.delete(id, &o.idx.namespace, &o.idx.name, orphan) {
                items.push(x.value());
            }
        } else {
            items.push(o.value());
        }
    }
    Ok(json_response(
        200,
        &json!({"kind": format!("{}List", d.kind), "apiVersion": d.api_version(), "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
    ))
}

fn access_review(sim: &Sim, user: &User, r: &Req, id: ResId) -> Result<Response<Body>, ApiError> {
    if r.method != Method::POST {
        return Err(ApiError::method_not_allowed());
    }
    let d = def(id);
    let mut v = parse_body(r)?;
    v["apiVersion"] = d.api_version().into();
    v["kind"] = d.kind.into();
    if v.get("metadata").is_none() {
        v["metadata"] = json!({});
    }
    match d.kind {
        "SelfSubjectAccessReview" => {
            let status = if let Some(ra) = v.pointer("/spec/resourceAttributes") {
                let s = |k: &str| ra.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                let (verb, group, resource, sub, ns, name) = (
                    s("verb"),
                    s("group"),
                    s("resource"),
                    s("subresource"),
                    s("namespace"),
                    s("name"),
                );
                let attrs = rbac::Attrs {
                    verb: &verb,
                    group: &group,
                    resource: &resource,
                    subresource: &sub,
                    namespace: &ns,
                    name: &name,
                };
                match rbac::authorize(&sim.store, user, &attrs) {
                    Ok(reason) => json!({"allowed": true, "reason": reason}),
                    Err(_) => json!({"allowed": false}),
                }
            } else {
                json!({"allowed": true, "reason": "non-resource URLs are allowed for authenticated users"})
            };
            v["status"] = status;
        }
        _ => {
            let ns = v
                .pointer("/spec/namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            v["status"] = rbac::rules_review(&sim.store, user, &ns);
        }
    }
    Ok(json_response(201, &v))
}
