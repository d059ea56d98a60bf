//! The `kubernetes` grant: `true` (everything), `false`, or rules of verbs × resources ×
//! namespaces (or cluster-scoped kinds) × contexts.
//!
//! ```yaml
//! kubernetes:
//!   rules:
//!     - verbs: [get, list]                 # get list watch apply create update patch delete "*"
//!       resources: ["*"]                   # plural[.group][/subresource], "*", "*.group"
//!       namespaces: ["*"]                  # namespaced objects there ("*": any, and all-namespace lists)
//!     - verbs: [apply, patch, delete]
//!       resources: [clusterroles.rbac.authorization.k8s.io, namespaces]
//!       cluster: true                      # cluster-scoped kinds
//!       contexts: [prod]                   # optional; default: every context
//! ```
//!
//! A bare plural (`pods`, `configmaps`) names the core group, like an RBAC rule with
//! `apiGroups: [""]`; a subresource is only covered when named (`pods/log`) or by `*`.

use std::sync::Arc;

use serde_json::Value;

use crate::capability::GrantRule;
use crate::config::closest;

/// Verbs a rule may name.
pub const VERBS: &[&str] = &[
    "get", "list", "watch", "apply", "create", "update", "patch", "delete", "*",
];

/// Verbs that change a cluster (denied with `--read-only`).
pub const WRITE_VERBS: &[&str] = &["apply", "create", "update", "patch", "delete"];

const RULE_KEYS: &[&str] = &["verbs", "resources", "namespaces", "cluster", "contexts"];

/// A parsed `kubernetes` grant.
#[derive(Debug, Clone, PartialEq)]
pub enum KubeGrant {
    /// `true`: everything, everywhere.
    All,
    /// A list of rules; a request is allowed when one rule covers it.
    Rules(Vec<Rule>),
}

/// One rule of a `kubernetes` grant.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Verbs (`*` = all).
    pub verbs: Vec<String>,
    /// Resources (`plural[.group][/sub]`, `*`, `*.group`).
    pub resources: Vec<ResourcePattern>,
    /// Namespaces of namespaced objects (`*` = any, including all-namespace lists).
    pub namespaces: Vec<String>,
    /// Whether cluster-scoped kinds are covered.
    pub cluster: bool,
    /// Contexts (None: every context).
    pub contexts: Option<Vec<String>>,
}

/// A resource as a rule names it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcePattern {
    /// Plural, or `*`.
    pub plural: String,
    /// API group (`""` for core), or `*`.
    pub group: String,
    /// Subresource, `*`, or none.
    pub subresource: Option<String>,
}

impl ResourcePattern {
    fn parse(text: &str) -> Result<ResourcePattern, String> {
        if text == "*" {
            return Ok(ResourcePattern {
                plural: "*".into(),
                group: "*".into(),
                subresource: Some("*".into()),
            });
        }
        let (main, sub) = match text.split_once('/') {
            Some((m, s)) => (m, Some(s.to_string())),
            None => (text, None),
        };
        let (plural, group) = match main.split_once('.') {
            Some((p, g)) => (p, g),
            None => (main, ""),
        };
        let ok = |s: &str| {
            s == "*"
                || (!s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        };
        let group_ok = group.is_empty()
            || group == "*"
            || group.split('.').all(|p| {
                !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !ok(plural) || !group_ok || sub.as_deref().is_some_and(|s| !ok(s)) {
            return Err(format!(
                "resource {text:?} is not `plural`, `plural.group`, `plural/subresource` or `*` (e.g. pods, daemonsets.apps, pods/log)"
            ));
        }
        Ok(ResourcePattern {
            plural: plural.into(),
            group: group.into(),
            subresource: sub,
        })
    }

    fn covers(&self, r: &ResourceName<'_>) -> bool {
        let sub_ok = match (&self.subresource, r.subresource) {
            (Some(p), Some(s)) => p == "*" || p == s,
            (None, None) => true,
            (Some(p), None) => p == "*",
            (None, Some(_)) => false,
        };
        (self.plural == "*" || self.plural == r.plural)
            && (self.group == "*" || self.group == r.group)
            && sub_ok
    }
}

/// What a request touches, for the check.
#[derive(Debug, Clone, Copy)]
pub struct ResourceName<'a> {
    /// Resource plural.
    pub plural: &'a str,
    /// API group (`""` for core).
    pub group: &'a str,
    /// Subresource (`log`).
    pub subresource: Option<&'a str>,
}

impl std::fmt::Display for ResourceName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.plural)?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        if let Some(s) = self.subresource {
            write!(f, "/{s}")?;
        }
        Ok(())
    }
}

/// Where a request applies.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// A namespaced object (or a list in one namespace).
    Namespace(&'a str),
    /// A list of a namespaced kind across every namespace.
    AllNamespaces,
    /// A cluster-scoped kind.
    Cluster,
}

impl std::fmt::Display for Scope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Namespace(ns) => write!(f, "in namespace \"{ns}\""),
            Scope::AllNamespaces => f.write_str("across all namespaces"),
            Scope::Cluster => f.write_str("(cluster-scoped)"),
        }
    }
}

impl KubeGrant {
    /// Whether `verb` on `resource` in `scope` of `context` is allowed.
    pub fn allows(
        &self,
        verb: &str,
        resource: &ResourceName<'_>,
        scope: Scope<'_>,
        context: &str,
    ) -> bool {
        match self {
            KubeGrant::All => true,
            KubeGrant::Rules(rules) => rules.iter().any(|r| {
                r.allows_verb_in(verb, context)
                    && r.resources.iter().any(|p| p.covers(resource))
                    && match scope {
                        Scope::Cluster => r.cluster,
                        Scope::AllNamespaces => r.namespaces.iter().any(|n| n == "*"),
                        Scope::Namespace(ns) => r.namespaces.iter().any(|n| n == "*" || n == ns),
                    }
            }),
        }
    }

    /// Whether any rule could allow `verb` in `context` (checked before contacting a cluster).
    pub fn may_allow(&self, verb: &str, context: &str) -> bool {
        match self {
            KubeGrant::All => true,
            KubeGrant::Rules(rules) => rules.iter().any(|r| r.allows_verb_in(verb, context)),
        }
    }
}

impl Rule {
    fn allows_verb_in(&self, verb: &str, context: &str) -> bool {
        self.verbs.iter().any(|v| v == "*" || v == verb)
            && self
                .contexts
                .as_ref()
                .is_none_or(|cs| cs.iter().any(|c| c == "*" || c == context))
    }
}

/// Parses a `kubernetes` grant value.
pub fn parse_grant(value: &Value) -> Result<GrantRule, String> {
    match value {
        Value::Bool(true) => Ok(Some(Arc::new(KubeGrant::All))),
        Value::Bool(false) => Ok(None),
        Value::Object(map) => {
            for key in map.keys() {
                if key != "rules" {
                    return Err(unknown_key(key, &["rules"], "kubernetes"));
                }
            }
            let rules = map
                .get("rules")
                .and_then(Value::as_array)
                .ok_or("expected `rules: [...]` (a list of { verbs, resources, namespaces, cluster, contexts })")?;
            let rules = rules
                .iter()
                .enumerate()
                .map(|(i, r)| parse_rule(r).map_err(|e| format!("rules[{i}]: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(Arc::new(KubeGrant::Rules(rules))))
        }
        other => Err(format!(
            "expected true, false or {{ rules: [...] }}, got {other}"
        )),
    }
}

fn unknown_key(key: &str, known: &[&str], at: &str) -> String {
    let known: Vec<String> = known.iter().map(|s| s.to_string()).collect();
    let hint = closest(key, &known)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    format!(
        "unknown key `{key}` in the {at} grant{hint} (valid keys: {})",
        known.join(", ")
    )
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
    let list = v
        .as_array()
        .ok_or_else(|| format!("`{key}` must be a list of strings"))?;
    list.iter()
        .map(|s| {
            s.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("`{key}` must be a list of strings, found {s}"))
        })
        .collect()
}

fn parse_rule(value: &Value) -> Result<Rule, String> {
    let map = value
        .as_object()
        .ok_or("expected a mapping { verbs, resources, namespaces, cluster, contexts }")?;
    for key in map.keys() {
        if !RULE_KEYS.contains(&key.as_str()) {
            return Err(unknown_key(key, RULE_KEYS, "kubernetes rule"));
        }
    }
    let verbs = strings(map.get("verbs").ok_or("`verbs` is required")?, "verbs")?;
    if verbs.is_empty() {
        return Err("`verbs` must name at least one verb".into());
    }
    let known: Vec<String> = VERBS.iter().map(|s| s.to_string()).collect();
    for v in &verbs {
        if !VERBS.contains(&v.as_str()) {
            let hint = closest(v, &known)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            return Err(format!(
                "unknown verb `{v}`{hint} (valid: {})",
                VERBS.join(", ")
            ));
        }
    }
    let resources = strings(
        map.get("resources").ok_or("`resources` is required")?,
        "resources",
    )?;
    if resources.is_empty() {
        return Err("`resources` must name at least one resource (or \"*\")".into());
    }
    let resources = resources
        .iter()
        .map(|r| ResourcePattern::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    let namespaces = match map.get("namespaces") {
        Some(v) => strings(v, "namespaces")?,
        None => Vec::new(),
    };
    let cluster = match map.get("cluster") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(format!("`cluster` must be true or false, got {other}")),
    };
    if namespaces.is_empty() && !cluster {
        return Err(
            "the rule covers nothing: list `namespaces` (\"*\" for any) and/or set `cluster: true` for cluster-scoped kinds"
                .into(),
        );
    }
    let contexts = match map.get("contexts") {
        Some(v) => Some(strings(v, "contexts")?),
        None => None,
    };
    Ok(Rule {
        verbs,
        resources,
        namespaces,
        cluster,
        contexts,
    })
}

/// The default grant of the first-party `kubernetes` toolset: read everything everywhere;
/// write only what obi-mcp deploys.
pub fn default_grant() -> Value {
    serde_json::json!({
        "rules": [
            {
                "verbs": ["get", "list", "watch"],
                "resources": ["*"],
                "namespaces": ["*"],
                "cluster": true,
            },
            {
                "verbs": ["apply", "patch", "delete"],
                "resources": [
                    "namespaces",
                    "serviceaccounts",
                    "configmaps",
                    "daemonsets.apps",
                    "deployments.apps",
                    "statefulsets.apps",
                    "clusterroles.rbac.authorization.k8s.io",
                    "clusterrolebindings.rbac.authorization.k8s.io",
                ],
                "namespaces": ["*"],
                "cluster": true,
            },
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn grant(v: Value) -> KubeGrant {
        parse_grant(&v)
            .unwrap()
            .unwrap()
            .downcast_ref::<KubeGrant>()
            .unwrap()
            .clone()
    }

    fn res<'a>(plural: &'a str, group: &'a str, sub: Option<&'a str>) -> ResourceName<'a> {
        ResourceName {
            plural,
            group,
            subresource: sub,
        }
    }

    #[test]
    fn true_allows_everything_and_false_nothing() {
        assert_eq!(grant(json!(true)), KubeGrant::All);
        assert!(parse_grant(&json!(false)).unwrap().is_none());
    }

    #[test]
    fn rules_match_verb_resource_namespace_and_context() {
        let g = grant(json!({"rules": [
            {"verbs": ["get", "list"], "resources": ["*"], "namespaces": ["*"]},
            {"verbs": ["apply", "delete"], "resources": ["daemonsets.apps", "configmaps"], "namespaces": ["obi"]},
            {"verbs": ["*"], "resources": ["clusterroles.rbac.authorization.k8s.io"], "cluster": true, "contexts": ["prod"]},
        ]}));
        let ds = res("daemonsets", "apps", None);
        assert!(g.allows("get", &ds, Scope::AllNamespaces, "a"));
        assert!(g.allows("delete", &ds, Scope::Namespace("obi"), "a"));
        assert!(!g.allows("delete", &ds, Scope::Namespace("prod"), "a"));
        assert!(!g.allows("patch", &ds, Scope::Namespace("obi"), "a"));
        // A bare plural is the core group.
        assert!(!g.allows(
            "apply",
            &res("configmaps", "other", None),
            Scope::Namespace("obi"),
            "a"
        ));
        let cr = res("clusterroles", "rbac.authorization.k8s.io", None);
        assert!(g.allows("delete", &cr, Scope::Cluster, "prod"));
        assert!(!g.allows("delete", &cr, Scope::Cluster, "dev"));
        // Namespaced rules never cover cluster-scoped kinds.
        assert!(!g.allows("get", &res("nodes", "", None), Scope::Cluster, "a"));
        assert!(g.may_allow("delete", "a"));
        assert!(!g.may_allow("patch", "dev"));
    }

    #[test]
    fn subresources_are_covered_only_when_named_or_by_star() {
        let g = grant(
            json!({"rules": [{"verbs": ["get"], "resources": ["pods"], "namespaces": ["*"]}]}),
        );
        assert!(!g.allows(
            "get",
            &res("pods", "", Some("log")),
            Scope::Namespace("a"),
            "c"
        ));
        let g = grant(
            json!({"rules": [{"verbs": ["get"], "resources": ["pods/log"], "namespaces": ["*"]}]}),
        );
        assert!(g.allows(
            "get",
            &res("pods", "", Some("log")),
            Scope::Namespace("a"),
            "c"
        ));
        assert!(!g.allows("get", &res("pods", "", None), Scope::Namespace("a"), "c"));
    }

    #[test]
    fn unknown_keys_and_verbs_suggest_the_closest() {
        let err = parse_grant(
            &json!({"rules": [{"verb": ["get"], "resources": ["*"], "namespaces": ["*"]}]}),
        )
        .err()
        .unwrap();
        assert!(
            err.contains("unknown key `verb`") && err.contains("did you mean `verbs`?"),
            "{err}"
        );
        let err = parse_grant(
            &json!({"rules": [{"verbs": ["gett"], "resources": ["*"], "namespaces": ["*"]}]}),
        )
        .err()
        .unwrap();
        assert!(
            err.contains("unknown verb `gett`") && err.contains("did you mean `get`?"),
            "{err}"
        );
        let err = parse_grant(&json!({"rule": []})).err().unwrap();
        assert!(err.contains("did you mean `rules`?"), "{err}");
        let err = parse_grant(&json!({"rules": [{"verbs": ["get"], "resources": ["pods"]}]}))
            .err()
            .unwrap();
        assert!(err.contains("covers nothing"), "{err}");
        let err = parse_grant(
            &json!({"rules": [{"verbs": ["get"], "resources": ["Pods"], "namespaces": ["*"]}]}),
        )
        .err()
        .unwrap();
        assert!(err.contains("\"Pods\""), "{err}");
    }

    #[test]
    fn default_grant_reads_everything_and_writes_only_what_obi_deploys() {
        let g = grant(default_grant());
        assert!(g.allows("list", &res("pods", "", None), Scope::AllNamespaces, "x"));
        assert!(g.allows("get", &res("nodes", "", None), Scope::Cluster, "x"));
        assert!(g.allows(
            "get",
            &res("pods", "", Some("log")),
            Scope::Namespace("a"),
            "x"
        ));
        assert!(g.allows(
            "apply",
            &res("daemonsets", "apps", None),
            Scope::Namespace("obi"),
            "x"
        ));
        assert!(g.allows(
            "delete",
            &res("clusterrolebindings", "rbac.authorization.k8s.io", None),
            Scope::Cluster,
            "x"
        ));
        assert!(!g.allows(
            "delete",
            &res("secrets", "", None),
            Scope::Namespace("a"),
            "x"
        ));
        assert!(!g.allows("delete", &res("nodes", "", None), Scope::Cluster, "x"));
        assert!(!g.allows(
            "create",
            &res("configmaps", "", None),
            Scope::Namespace("a"),
            "x"
        ));
    }
}
