//! Fault injection per route and verb: latency, error statuses, fail-next-N, cut connections.

use crate::util::Rng;
use std::sync::Mutex;
use std::time::Duration;

/// What a matching fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Delay the response.
    Latency(Duration),
    /// Answer with this HTTP status as a Kubernetes `Status` (429 and 503 carry `Retry-After`).
    Status {
        /// HTTP status code (500, 503, 429, 403, ...).
        code: u16,
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
    },
    /// Send the response headers and part of the body, then drop the connection.
    CutConnection,
}

/// A fault rule. Empty matchers match everything.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Request verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`).
    pub verb: Option<String>,
    /// Resource plural (`pods`, `daemonsets`, `pods/log`).
    pub resource: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Substring of the request path.
    pub path_contains: Option<String>,
    /// What to do.
    pub action: FaultAction,
    /// Only the next N matching requests (None: all).
    pub times: Option<u32>,
    /// Probability of firing for a matching request (seeded, deterministic).
    pub probability: f64,
}

impl Fault {
    /// A fault that fires on every request.
    pub fn new(action: FaultAction) -> Self {
        Fault {
            verb: None,
            resource: None,
            namespace: None,
            path_contains: None,
            action,
            times: None,
            probability: 1.0,
        }
    }
    /// Restricts to a verb.
    pub fn verb(mut self, v: &str) -> Self {
        self.verb = Some(v.into());
        self
    }
    /// Restricts to a resource (plural, or `pods/log`).
    pub fn resource(mut self, r: &str) -> Self {
        self.resource = Some(r.into());
        self
    }
    /// Restricts to a namespace.
    pub fn namespace(mut self, ns: &str) -> Self {
        self.namespace = Some(ns.into());
        self
    }
    /// Restricts to paths containing a substring.
    pub fn path_contains(mut self, p: &str) -> Self {
        self.path_contains = Some(p.into());
        self
    }
    /// Fires only for the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }
    /// Fires with a probability (deterministic under the cluster seed).
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = p;
        self
    }
}

/// The request facts faults match on.
#[derive(Debug)]
pub struct RequestFacts<'a> {
    /// Verb.
    pub verb: &'a str,
    /// Resource (`pods` or `pods/log`), empty for non-resource paths.
    pub resource: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Path.
    pub path: &'a str,
}

/// Fault table state: last id, rules by id, and the seeded generator for probabilities.
type Table = (u64, Vec<(u64, Fault)>, Rng);

/// The cluster's fault table.
#[derive(Debug)]
pub struct Faults {
    rules: Mutex<Table>,
}

impl Faults {
    /// An empty table.
    pub fn new(seed: u64) -> Self {
        Faults {
            rules: Mutex::new((0, Vec::new(), Rng::new(seed ^ 0xFA17))),
        }
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// Adds a rule.
    pub fn add(&self, f: Fault) -> u64 {
        let mut g = self.lock();
        g.0 += 1;
        let id = g.0;
        g.1.push((id, f));
        id
    }
    /// Removes a rule.
    pub fn remove(&self, id: u64) {
        self.lock().1.retain(|(i, _)| *i != id);
    }
    /// Removes all rules.
    pub fn clear(&self) {
        self.lock().1.clear();
    }
    /// The actions that fire for a request (consuming `times`).
    pub fn check(&self, r: &RequestFacts<'_>) -> Vec<FaultAction> {
        let mut g = self.lock();
        let (_, rules, rng) = &mut *g;
        let mut out = Vec::new();
        for (_, f) in rules.iter_mut() {
            let m = f.verb.as_deref().is_none_or(|v| v == r.verb)
                && f.resource.as_deref().is_none_or(|x| x == r.resource)
                && f.namespace.as_deref().is_none_or(|x| x == r.namespace)
                && f.path_contains
                    .as_deref()
                    .is_none_or(|x| r.path.contains(x));
            if !m || f.times == Some(0) {
                continue;
            }
            if f.probability < 1.0 && rng.next_f64() >= f.probability {
                continue;
            }
            if let Some(t) = f.times.as_mut() {
                *t -= 1;
            }
            out.push(f.action.clone());
        }
        rules.retain(|(_, f)| f.times != Some(0));
        out
    }
}
