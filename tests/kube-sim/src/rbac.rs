//! RBAC authorization over the Role/ClusterRole/(Cluster)RoleBinding objects in the store.

use crate::cluster::User;
use crate::error::ApiError;
use crate::resources::ids;
use crate::store::Store;
use serde_json::{Value, json};

/// Authorization attributes of a request.
#[derive(Debug)]
pub struct Attrs<'a> {
    /// Verb.
    pub verb: &'a str,
    /// API group.
    pub group: &'a str,
    /// Resource plural.
    pub resource: &'a str,
    /// Subresource ("" if none).
    pub subresource: &'a str,
    /// Namespace ("" for cluster scope).
    pub namespace: &'a str,
    /// Object name ("" if none).
    pub name: &'a str,
}

fn has(list: Option<&Value>, want: &str) -> bool {
    list.and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x == "*" || x == want))
}

fn rule_allows(rule: &Value, a: &Attrs<'_>) -> bool {
    if !has(rule.get("verbs"), a.verb) || !has(rule.get("apiGroups"), a.group) {
        return false;
    }
    let res = if a.subresource.is_empty() {
        a.resource.to_string()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let res_ok = rule
        .get("resources")
        .and_then(Value::as_array)
        .is_some_and(|rs| {
            rs.iter().filter_map(Value::as_str).any(|r| {
                r == "*"
                    || r == res
                    || (!a.subresource.is_empty() && r == format!("*/{}", a.subresource))
            })
        });
    if !res_ok {
        return false;
    }
    match rule.get("resourceNames").and_then(Value::as_array) {
        Some(names) if !names.is_empty() => !a.name.is_empty() && names.iter().any(|n| n == a.name),
        _ => true,
    }
}

fn subject_matches(s: &Value, user: &User, binding_ns: &str) -> bool {
    let name = s.get("name").and_then(Value::as_str).unwrap_or("");
    match s.get("kind").and_then(Value::as_str).unwrap_or("") {
        "User" => name == user.name,
        "Group" => user.groups.iter().any(|g| g == name),
        "ServiceAccount" => {
            let ns = s
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or(binding_ns);
            user.name == format!("system:serviceaccount:{ns}:{name}")
        }
        _ => false,
    }
}

/// The rules that apply to a user in a namespace ("" = cluster-wide rules only), with the binding that grants each.
fn applicable_rules(store: &Store, user: &User, namespace: &str) -> Vec<(Value, String)> {
    let g = store.lock();
    let mut out = Vec::new();
    let role_rules = |kind: &str, name: &str, ns: &str| -> Vec<Value> {
        let id = if kind == "ClusterRole" {
            ids::clusterroles()
        } else {
            ids::roles()
        };
        let ns = if kind == "ClusterRole" { "" } else { ns };
        g.get(id, ns, name)
            .and_then(|o| o.value().get("rules").and_then(Value::as_array).cloned())
            .unwrap_or_default()
    };
    for b in g.list(ids::clusterrolebindings(), None, |_| true) {
        let v = &b.value();
        if v.get("subjects")
            .and_then(Value::as_array)
            .is_some_and(|ss| ss.iter().any(|s| subject_matches(s, user, "")))
        {
            let name = v
                .pointer("/roleRef/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let reason = format!(
                "RBAC: allowed by ClusterRoleBinding \"{}\" of ClusterRole \"{}\" to User \"{}\"",
                crate::util::name_of(v),
                name,
                user.name
            );
            for r in role_rules("ClusterRole", name, "") {
                out.push((r, reason.clone()));
            }
        }
    }
    if !namespace.is_empty() {
        for b in g.list(ids::rolebindings(), Some(namespace), |_| true) {
            let v = &b.value();
            if v.get("subjects")
                .and_then(Value::as_array)
                .is_some_and(|ss| ss.iter().any(|s| subject_matches(s, user, namespace)))
            {
                let kind = v
                    .pointer("/roleRef/kind")
                    .and_then(Value::as_str)
                    .unwrap_or("Role");
                let name = v
                    .pointer("/roleRef/name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let reason = format!(
                    "RBAC: allowed by RoleBinding \"{}/{}\" of {} \"{}\" to User \"{}\"",
                    crate::util::name_of(v),
                    namespace,
                    kind,
                    name,
                    user.name
                );
                for r in role_rules(kind, name, namespace) {
                    out.push((r, reason.clone()));
                }
            }
        }
    }
    out
}

/// Authorizes a request; `Ok` carries the reason, `Err` is the 403 `Status`.
pub fn authorize(store: &Store, user: &User, a: &Attrs<'_>) -> Result<String, ApiError> {
    if user.groups.iter().any(|g| g == "system:masters") {
        return Ok(String::new());
    }
    if a.group == "authorization.k8s.io"
        && a.verb == "create"
        && matches!(
            a.resource,
            "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
        )
    {
        return Ok("allowed to all authenticated users".into());
    }
    for (rule, reason) in applicable_rules(store, user, a.namespace) {
        if rule_allows(&rule, a) {
            return Ok(reason);
        }
    }
    let res = if a.subresource.is_empty() {
        a.resource.to_string()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let subject = if a.name.is_empty()
        || matches!(a.verb, "list" | "watch" | "create" | "deletecollection")
            && a.resource != "namespaces"
    {
        a.resource.to_string()
    } else {
        format!("{} \"{}\"", a.resource, a.name)
    };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", a.namespace)
    };
    let mut e = ApiError::new(
        403,
        "Forbidden",
        format!(
            "{subject} is forbidden: User \"{}\" cannot {} resource \"{res}\" in API group \"{}\" {scope}",
            user.name, a.verb, a.group
        ),
    );
    let mut d = json!({"kind": a.resource});
    if !a.name.is_empty() {
        d["name"] = a.name.into();
    }
    if !a.group.is_empty() {
        d["group"] = a.group.into();
    }
    e.details = Some(d);
    Err(e)
}

/// `SelfSubjectRulesReview` status for a namespace.
pub fn rules_review(store: &Store, user: &User, namespace: &str) -> Value {
    let mut resource_rules = vec![
        json!({"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]}),
    ];
    let mut non_resource = vec![
        json!({"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/version", "/version/"]}),
    ];
    if user.groups.iter().any(|g| g == "system:masters") {
        resource_rules.push(json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}));
        non_resource.push(json!({"verbs": ["*"], "nonResourceURLs": ["*"]}));
    }
    for (r, _) in applicable_rules(store, user, namespace) {
        if r.get("nonResourceURLs").is_some() {
            non_resource.push(r);
        } else {
            resource_rules.push(r);
        }
    }
    json!({"resourceRules": resource_rules, "nonResourceRules": non_resource, "incomplete": false})
}
