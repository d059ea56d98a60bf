//! Discovery (`/version`, `/api`, `/apis`, group versions) and a minimal OpenAPI v3 that tells
//! kubectl the server supports server-side field validation.

use crate::cluster::Sim;
use crate::error::ApiError;
use crate::resources::{RESOURCES, groups};
use crate::server::{Body, Req, error_response, json_response};
use http::Response;
use serde_json::{Value, json};

fn resource_list(group: &str, version: &str) -> Value {
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .flat_map(|r| r.discovery())
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}

fn group_entry(g: &str, v: &str) -> Value {
    let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
    json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
}

fn openapi_doc(group: &str, version: &str) -> Value {
    let mut paths = serde_json::Map::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version && r.stored())
    {
        let prefix = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let path = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("{prefix}/{}/{{name}}", r.plural)
        };
        let gvk = json!({"group": group, "version": version, "kind": r.kind});
        let params = json!([
            {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
            {"name": "force", "in": "query", "schema": {"type": "boolean"}},
        ]);
        paths.insert(
            path,
            json!({
                "get": {"operationId": format!("read{}", r.kind), "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk, "responses": {"200": {"description": "OK"}}},
                "put": {"operationId": format!("replace{}", r.kind), "x-kubernetes-action": "put", "x-kubernetes-group-version-kind": gvk, "parameters": params, "responses": {"200": {"description": "OK"}}},
                "patch": {"operationId": format!("patch{}", r.kind), "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk, "parameters": params, "responses": {"200": {"description": "OK"}}},
            }),
        );
    }
    json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.37.0"}, "paths": paths, "components": {"schemas": {}}})
}

/// Serves the non-resource paths.
pub fn handle(sim: &Sim, r: &Req) -> Response<Body> {
    let addr = sim
        .server_addr
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let path = r.path.trim_end_matches('/');
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let v = match segs.as_slice() {
        ["version"] => json!({
            "major": "1", "minor": "37", "emulationMajor": "1", "emulationMinor": "37", "minCompatibilityMajor": "1", "minCompatibilityMinor": "36",
            "gitVersion": "v1.37.0", "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2026-08-01T00:00:00Z", "goVersion": "go1.25.0", "compiler": "gc", "platform": "linux/amd64"
        }),
        ["api"] => {
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}]})
        }
        ["api", "v1"] => resource_list("", "v1"),
        ["apis"] => {
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups().iter().map(|(g, v)| group_entry(g, v)).collect::<Vec<_>>()})
        }
        ["apis", g] => match groups().iter().find(|(x, _)| x == g) {
            Some((g, v)) => {
                let mut e = group_entry(g, v);
                e["kind"] = "APIGroup".into();
                e["apiVersion"] = "v1".into();
                e
            }
            None => return error_response(&ApiError::no_route()),
        },
        ["apis", g, v] if groups().iter().any(|(x, y)| x == g && y == v) => resource_list(g, v),
        ["openapi", "v3"] => {
            let mut paths = serde_json::Map::new();
            paths.insert(
                "api/v1".into(),
                json!({"serverRelativeURL": "/openapi/v3/api/v1?hash=SIM"}),
            );
            for (g, v) in groups() {
                paths.insert(
                    format!("apis/{g}/{v}"),
                    json!({"serverRelativeURL": format!("/openapi/v3/apis/{g}/{v}?hash=SIM")}),
                );
            }
            json!({"paths": paths})
        }
        ["openapi", "v3", "api", "v1"] => openapi_doc("", "v1"),
        ["openapi", "v3", "apis", g, v] => openapi_doc(g, v),
        _ => return error_response(&ApiError::no_route()),
    };
    json_response(200, &v)
}
