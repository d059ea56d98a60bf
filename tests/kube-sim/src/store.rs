//! The object store: every object as JSON plus its serialized bytes, a global resourceVersion,
//! and per-resource watch history and broadcast.

use crate::error::ApiError;
use crate::resources::{RESOURCES, ResId, def};
use crate::util;
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;
use tokio::sync::{Notify, broadcast};

/// Changes buffered for live watchers; a watcher further behind catches up from the history.
const LIVE_BUFFER: usize = 512;

/// Field paths kept in an object's index for field selectors.
pub const INDEXED_FIELDS: &[&str] = &[
    "spec.nodeName",
    "status.phase",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.podIP",
    "spec.unschedulable",
    "involvedObject.name",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.uid",
    "reason",
    "type",
];

/// What lists, selectors and controllers need without parsing the object.
#[derive(Debug, Default)]
pub struct Index {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.resourceVersion`.
    pub rv: u64,
    /// `metadata.labels`.
    pub labels: Vec<(String, String)>,
    /// Values of [`INDEXED_FIELDS`] present in the object.
    pub fields: Vec<(&'static str, String)>,
    /// uids of all owners.
    pub owners: Vec<String>,
    /// uid of the controller owner.
    pub controller: Option<String>,
    /// For pods: the Ready condition is True.
    pub ready: bool,
}

/// A stored object: its serialized JSON (what lists, gets and watches send) plus an index.
/// Objects are kept serialized, not as `serde_json::Value` trees, to keep 5,000-node clusters small.
#[derive(Debug)]
pub struct Obj {
    /// The serialized object.
    pub json: Bytes,
    /// Index for selectors and controllers.
    pub idx: Index,
}

impl Obj {
    /// Wraps a value.
    pub fn new(value: Value) -> Arc<Obj> {
        let mut buf = serde_json::to_vec(&value).unwrap_or_default();
        buf.shrink_to_fit();
        let json = Bytes::from(buf);
        let s = |p: &[&str]| util::get_str(&value, p).unwrap_or("").to_string();
        let labels = util::get(&value, &["metadata", "labels"])
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let fields = INDEXED_FIELDS
            .iter()
            .filter_map(|f| {
                let path: Vec<&str> = f.split('.').collect();
                match util::get(&value, &path)? {
                    Value::String(x) => Some((*f, x.clone())),
                    Value::Bool(b) => Some((*f, b.to_string())),
                    _ => None,
                }
            })
            .collect();
        let refs = util::get(&value, &["metadata", "ownerReferences"]).and_then(Value::as_array);
        let owners = refs
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.get("uid")?.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let controller = refs.and_then(|a| {
            a.iter()
                .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
                .and_then(|r| r.get("uid")?.as_str().map(String::from))
        });
        let ready = value
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
        let idx = Index {
            name: s(&["metadata", "name"]),
            namespace: s(&["metadata", "namespace"]),
            uid: s(&["metadata", "uid"]),
            rv: s(&["metadata", "resourceVersion"]).parse().unwrap_or(0),
            labels,
            fields,
            owners,
            controller,
            ready,
        };
        Arc::new(Obj { json, idx })
    }
    /// Parses the object.
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
    /// resourceVersion as a number.
    pub fn rv(&self) -> u64 {
        self.idx.rv
    }
    /// A label value.
    pub fn label(&self, k: &str) -> Option<&str> {
        self.idx
            .labels
            .iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.as_str())
    }
    /// An indexed field value.
    pub fn field(&self, path: &str) -> Option<&str> {
        match path {
            "metadata.name" => Some(&self.idx.name),
            "metadata.namespace" => Some(&self.idx.namespace),
            _ => self
                .idx
                .fields
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, v)| v.as_str()),
        }
    }
}

/// Watch event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object deleted.
    Deleted,
}

impl EventType {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as kept in history and sent to watchers.
#[derive(Debug, Clone)]
pub struct Change {
    /// Kind of change.
    pub typ: EventType,
    /// resourceVersion of the change.
    pub rv: u64,
    /// New object (for DELETED: the last state with the deletion's resourceVersion).
    pub obj: Arc<Obj>,
    /// Previous object, for selector transitions.
    pub prev: Option<Arc<Obj>>,
}

/// Key of an object: (namespace, name).
pub type Key = (String, String);

#[derive(Debug)]
struct KindStore {
    objects: BTreeMap<Key, Arc<Obj>>,
    history: VecDeque<Arc<Change>>,
    /// resourceVersion of the newest change evicted from history.
    floor: u64,
    tx: broadcast::Sender<Arc<Change>>,
}

/// The store's mutable state.
#[derive(Debug)]
pub struct Inner {
    rv: u64,
    uid: u64,
    kinds: Vec<KindStore>,
    history_limit: usize,
}

/// Thread-safe object store.
#[derive(Debug)]
pub struct Store {
    inner: Mutex<Inner>,
    /// Signalled on every write (wakes the controllers).
    pub changed: Notify,
}

/// A watch subscription: history to replay and the live channel.
pub struct Subscription {
    /// Changes after the requested resourceVersion.
    pub replay: Vec<Arc<Change>>,
    /// Live changes.
    pub rx: broadcast::Receiver<Arc<Change>>,
    /// Current objects (for watches from "now" or with initial events).
    pub snapshot: Vec<Arc<Obj>>,
    /// resourceVersion at subscription time.
    pub rv: u64,
}

impl Store {
    /// An empty store.
    pub fn new(history_limit: usize) -> Self {
        let kinds = RESOURCES
            .iter()
            .map(|_| KindStore {
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                floor: 0,
                tx: broadcast::channel(LIVE_BUFFER).0,
            })
            .collect();
        Store {
            inner: Mutex::new(Inner {
                rv: 1,
                uid: 0,
                kinds,
                history_limit,
            }),
            changed: Notify::new(),
        }
    }

    /// Locks the store.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Gets one object.
    pub fn get(&self, id: ResId, ns: &str, name: &str) -> Option<Arc<Obj>> {
        self.lock().get(id, ns, name)
    }

    /// Lists objects of a resource (optionally in one namespace) that pass `filter`, with the list resourceVersion.
    pub fn list(
        &self,
        id: ResId,
        ns: Option<&str>,
        filter: impl Fn(&Obj) -> bool,
    ) -> (Vec<Arc<Obj>>, u64) {
        let g = self.lock();
        (g.list(id, ns, filter), g.rv)
    }

    /// Creates an object (uid, timestamps, resourceVersion set here).
    pub fn create(&self, id: ResId, value: Value) -> Result<Arc<Obj>, ApiError> {
        let (r, changed) = {
            let mut g = self.lock();
            let before = g.rv;
            let r = g.create(id, value);
            (r, g.rv != before)
        };
        if changed {
            self.changed.notify_waiters();
        }
        r
    }

    /// Replaces an object; with `check_rv` a stale resourceVersion is a 409.
    pub fn update(&self, id: ResId, value: Value, check_rv: bool) -> Result<Arc<Obj>, ApiError> {
        let (r, changed) = {
            let mut g = self.lock();
            let before = g.rv;
            let r = g.update(id, value, check_rv);
            (r, g.rv != before)
        };
        if changed {
            self.changed.notify_waiters();
        }
        r
    }

    /// Deletes an object and (unless `orphan`) everything it owns.
    pub fn delete(
        &self,
        id: ResId,
        ns: &str,
        name: &str,
        orphan: bool,
    ) -> Result<Arc<Obj>, ApiError> {
        let (r, changed) = {
            let mut g = self.lock();
            let before = g.rv;
            let r = g.delete(id, ns, name, orphan);
            (r, g.rv != before)
        };
        if changed {
            self.changed.notify_waiters();
        }
        r
    }

    /// Reads, modifies and writes an object atomically; `f` returns false to skip the write.
    pub fn modify(
        &self,
        id: ResId,
        ns: &str,
        name: &str,
        f: impl FnOnce(&mut Value) -> bool,
    ) -> Option<Arc<Obj>> {
        let (r, changed) = {
            let mut g = self.lock();
            let cur = g.get(id, ns, name)?;
            let mut v = cur.value();
            if !f(&mut v) {
                return Some(cur);
            }
            let before = g.rv;
            let r = g.update(id, v, false).ok();
            (r, g.rv != before)
        };
        if changed {
            self.changed.notify_waiters();
        }
        r
    }

    /// Subscribes to changes after `since` (None: from now, with a snapshot of current objects).
    pub fn subscribe(&self, id: ResId, since: Option<u64>) -> Result<Subscription, ApiError> {
        let g = self.lock();
        let k = &g.kinds[id];
        let rx = k.tx.subscribe();
        match since {
            Some(rv) => {
                if rv < k.floor {
                    return Err(ApiError::expired(format!(
                        "too old resource version: {} ({})",
                        rv,
                        k.floor + 1
                    )));
                }
                let replay = k.history.iter().filter(|c| c.rv > rv).cloned().collect();
                Ok(Subscription {
                    replay,
                    rx,
                    snapshot: Vec::new(),
                    rv: g.rv,
                })
            }
            None => Ok(Subscription {
                replay: Vec::new(),
                rx,
                snapshot: k.objects.values().cloned().collect(),
                rv: g.rv,
            }),
        }
    }

    /// Current global resourceVersion.
    pub fn rv(&self) -> u64 {
        self.lock().rv
    }
}

impl Inner {
    /// Gets one object.
    pub fn get(&self, id: ResId, ns: &str, name: &str) -> Option<Arc<Obj>> {
        self.kinds[id]
            .objects
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    /// Lists objects.
    pub fn list(
        &self,
        id: ResId,
        ns: Option<&str>,
        filter: impl Fn(&Obj) -> bool,
    ) -> Vec<Arc<Obj>> {
        let objs = &self.kinds[id].objects;
        match ns {
            Some(ns) if def(id).namespaced => objs
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, o)| o)
                .filter(|o| filter(o))
                .cloned()
                .collect(),
            _ => objs.values().filter(|o| filter(o)).cloned().collect(),
        }
    }

    /// Number of objects of a resource.
    pub fn count(&self, id: ResId) -> usize {
        self.kinds[id].objects.len()
    }

    fn record(&mut self, id: ResId, typ: EventType, obj: Arc<Obj>, prev: Option<Arc<Obj>>) {
        let change = Arc::new(Change {
            typ,
            rv: self.rv,
            obj,
            prev,
        });
        let limit = self.history_limit;
        let k = &mut self.kinds[id];
        k.history.push_back(change.clone());
        while k.history.len() > limit {
            if let Some(c) = k.history.pop_front() {
                k.floor = c.rv;
            }
        }
        let _ = k.tx.send(change);
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    /// Creates an object.
    pub fn create(&mut self, id: ResId, mut value: Value) -> Result<Arc<Obj>, ApiError> {
        let d = def(id);
        let name = util::name_of(&value).to_string();
        let ns = if d.namespaced {
            util::ns_of(&value).to_string()
        } else {
            String::new()
        };
        if d.namespaced && d.kind != "Event" {
            let nsid = crate::resources::ids::namespaces();
            match self.get(nsid, "", &ns) {
                None => return Err(ApiError::not_found(def(nsid), &ns)),
                Some(n) if util::get(&n.value(), &["metadata", "deletionTimestamp"]).is_some() => {
                    return Err(ApiError::new(
                        403,
                        "Forbidden",
                        format!(
                            "{} \"{}\" is forbidden: unable to create new content in namespace {} because it is being terminated",
                            d.plural, name, ns
                        ),
                    ));
                }
                _ => {}
            }
        }
        let key = (ns.clone(), name.clone());
        if self.kinds[id].objects.contains_key(&key) {
            return Err(ApiError::already_exists(d, &name));
        }
        let rv = self.next_rv();
        self.uid += 1;
        let uid = format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            0x5153_0000u32 + id as u32,
            (self.uid >> 32) & 0xffff,
            id & 0xfff,
            self.uid & 0xfff,
            self.uid
        );
        let meta = util::ensure_obj(&mut value, &["metadata"]);
        meta.insert("uid".into(), uid.into());
        meta.insert("resourceVersion".into(), rv.to_string().into());
        meta.insert(
            "creationTimestamp".into(),
            util::rfc3339(SystemTime::now()).into(),
        );
        if d.has_spec() {
            meta.insert("generation".into(), 1.into());
        } else {
            meta.remove("generation");
        }
        if !d.namespaced {
            meta.remove("namespace");
        }
        let obj = Obj::new(value);
        self.kinds[id].objects.insert(key, obj.clone());
        self.record(id, EventType::Added, obj.clone(), None);
        Ok(obj)
    }

    /// Replaces an object.
    pub fn update(
        &mut self,
        id: ResId,
        mut value: Value,
        check_rv: bool,
    ) -> Result<Arc<Obj>, ApiError> {
        let d = def(id);
        let name = util::name_of(&value).to_string();
        let ns = if d.namespaced {
            util::ns_of(&value).to_string()
        } else {
            String::new()
        };
        let key = (ns, name.clone());
        let Some(cur) = self.kinds[id].objects.get(&key).cloned() else {
            return Err(ApiError::not_found(d, &name));
        };
        let given_rv = util::get_str(&value, &["metadata", "resourceVersion"])
            .unwrap_or("")
            .to_string();
        if check_rv && !given_rv.is_empty() && given_rv != cur.rv().to_string() {
            return Err(ApiError::conflict(d, &name));
        }
        // Immutable metadata comes from the stored object.
        let cur_value = cur.value();
        if let Some(dt) = util::get(&cur_value, &["metadata", "deletionTimestamp"]) {
            util::ensure_obj(&mut value, &["metadata"])
                .insert("deletionTimestamp".into(), dt.clone());
        }
        for f in ["uid", "creationTimestamp", "generation"] {
            match util::get(&cur_value, &["metadata", f]) {
                Some(v) => {
                    util::ensure_obj(&mut value, &["metadata"]).insert(f.into(), v.clone());
                }
                None => {
                    util::ensure_obj(&mut value, &["metadata"]).remove(f);
                }
            }
        }
        if d.has_spec() && value.get("spec") != cur_value.get("spec") {
            let g = util::get(&cur_value, &["metadata", "generation"])
                .and_then(Value::as_i64)
                .unwrap_or(1);
            util::ensure_obj(&mut value, &["metadata"]).insert("generation".into(), (g + 1).into());
        }
        // A no-op write keeps the resourceVersion, like a real server.
        let mut probe = value.clone();
        util::ensure_obj(&mut probe, &["metadata"])
            .insert("resourceVersion".into(), cur.rv().to_string().into());
        strip_managed_time(&mut probe);
        let mut cur_probe = cur_value.clone();
        strip_managed_time(&mut cur_probe);
        if probe == cur_probe {
            return Ok(cur);
        }
        let rv = self.next_rv();
        util::ensure_obj(&mut value, &["metadata"])
            .insert("resourceVersion".into(), rv.to_string().into());
        let obj = Obj::new(value);
        self.kinds[id].objects.insert(key, obj.clone());
        self.record(id, EventType::Modified, obj.clone(), Some(cur));
        Ok(obj)
    }

    /// Deletes an object and cascades to dependents.
    pub fn delete(
        &mut self,
        id: ResId,
        ns: &str,
        name: &str,
        orphan: bool,
    ) -> Result<Arc<Obj>, ApiError> {
        let d = def(id);
        let key = (
            if d.namespaced {
                ns.to_string()
            } else {
                String::new()
            },
            name.to_string(),
        );
        let Some(cur) = self.kinds[id].objects.remove(&key) else {
            return Err(ApiError::not_found(d, name));
        };
        let rv = self.next_rv();
        let mut v = cur.value();
        util::ensure_obj(&mut v, &["metadata"])
            .insert("resourceVersion".into(), rv.to_string().into());
        let obj = Obj::new(v);
        self.record(id, EventType::Deleted, obj.clone(), Some(cur.clone()));
        let uid = util::get_str(&cur.value(), &["metadata", "uid"])
            .unwrap_or("")
            .to_string();
        // Namespace deletion removes its contents.
        if d.kind == "Namespace" {
            for (rid, r) in RESOURCES.iter().enumerate() {
                if r.namespaced && r.stored() {
                    let keys: Vec<Key> = self.kinds[rid]
                        .objects
                        .keys()
                        .filter(|(n, _)| n == name)
                        .cloned()
                        .collect();
                    for (n, nm) in keys {
                        let _ = self.delete(rid, &n, &nm, false);
                    }
                }
            }
        }
        // Owner-reference cascade (background and foreground both delete dependents now).
        for (rid, r) in RESOURCES.iter().enumerate() {
            if !r.stored() {
                continue;
            }
            let dependents: Vec<Key> = self.kinds[rid]
                .objects
                .iter()
                .filter(|(_, o)| o.idx.owners.contains(&uid))
                .map(|(k, _)| k.clone())
                .collect();
            for (n, nm) in dependents {
                if orphan {
                    if let Some(o) = self.get(rid, &n, &nm) {
                        let mut v = o.value();
                        if let Some(refs) = util::get(&v, &["metadata", "ownerReferences"])
                            .and_then(Value::as_array)
                        {
                            let kept: Vec<Value> = refs
                                .iter()
                                .filter(|r| {
                                    r.get("uid").and_then(Value::as_str) != Some(uid.as_str())
                                })
                                .cloned()
                                .collect();
                            util::ensure_obj(&mut v, &["metadata"])
                                .insert("ownerReferences".into(), json!(kept));
                        }
                        let _ = self.update(rid, v, false);
                    }
                } else {
                    let _ = self.delete(rid, &n, &nm, false);
                }
            }
        }
        Ok(obj)
    }
}

/// Whether `v` has an ownerReference to `uid`.
pub fn owned_by(v: &Value, uid: &str) -> bool {
    util::get(v, &["metadata", "ownerReferences"])
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
        })
}

fn strip_managed_time(v: &mut Value) {
    if let Some(mf) = v
        .pointer_mut("/metadata/managedFields")
        .and_then(Value::as_array_mut)
    {
        for e in mf {
            if let Some(m) = e.as_object_mut() {
                m.remove("time");
            }
        }
    }
}
