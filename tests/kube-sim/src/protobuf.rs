//! A minimal decoder for the Kubernetes protobuf envelope (`k8s\0` + `runtime.Unknown`), enough
//! for the built-in types kubectl's typed clients send as protobuf: access reviews, ConfigMaps,
//! Secrets, Namespaces and ServiceAccounts.

use base64::Engine;
use serde_json::{Map, Value, json};

#[derive(Debug)]
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn fields(b: &[u8]) -> Option<Vec<(u32, Wire<'_>)>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < b.len() {
        let key = varint(b, &mut pos)?;
        let (num, wt) = ((key >> 3) as u32, key & 7);
        match wt {
            0 => out.push((num, Wire::Varint(varint(b, &mut pos)?))),
            2 => {
                let len = varint(b, &mut pos)? as usize;
                let s = b.get(pos..pos + len)?;
                pos += len;
                out.push((num, Wire::Bytes(s)));
            }
            1 => pos += 8,
            5 => pos += 4,
            _ => return None,
        }
    }
    Some(out)
}

#[derive(Clone, Copy)]
enum F {
    Str,
    Int,
    Bool,
    Msg(&'static [Field]),
    MapStr,
    MapBytes,
    RepStr,
    RepMsg(&'static [Field]),
    Time,
}

type Field = (u32, &'static str, F);

const OWNER_REF: &[Field] = &[
    (1, "kind", F::Str),
    (3, "name", F::Str),
    (4, "uid", F::Str),
    (5, "apiVersion", F::Str),
    (6, "controller", F::Bool),
    (7, "blockOwnerDeletion", F::Bool),
];
const OBJECT_META: &[Field] = &[
    (1, "name", F::Str),
    (2, "generateName", F::Str),
    (3, "namespace", F::Str),
    (5, "uid", F::Str),
    (6, "resourceVersion", F::Str),
    (7, "generation", F::Int),
    (8, "creationTimestamp", F::Time),
    (11, "labels", F::MapStr),
    (12, "annotations", F::MapStr),
    (13, "ownerReferences", F::RepMsg(OWNER_REF)),
    (14, "finalizers", F::RepStr),
];
const FIELD_REQ: &[Field] = &[
    (1, "key", F::Str),
    (2, "operator", F::Str),
    (3, "values", F::RepStr),
];
const FIELD_SEL: &[Field] = &[
    (1, "rawSelector", F::Str),
    (2, "requirements", F::RepMsg(FIELD_REQ)),
];
const RESOURCE_ATTRS: &[Field] = &[
    (1, "namespace", F::Str),
    (2, "verb", F::Str),
    (3, "group", F::Str),
    (4, "version", F::Str),
    (5, "resource", F::Str),
    (6, "subresource", F::Str),
    (7, "name", F::Str),
    (8, "fieldSelector", F::Msg(FIELD_SEL)),
    (9, "labelSelector", F::Msg(FIELD_SEL)),
];
const NON_RESOURCE_ATTRS: &[Field] = &[(1, "path", F::Str), (2, "verb", F::Str)];
const SSAR_SPEC: &[Field] = &[
    (1, "resourceAttributes", F::Msg(RESOURCE_ATTRS)),
    (2, "nonResourceAttributes", F::Msg(NON_RESOURCE_ATTRS)),
];
const SSAR: &[Field] = &[
    (1, "metadata", F::Msg(OBJECT_META)),
    (2, "spec", F::Msg(SSAR_SPEC)),
];
const SSRR_SPEC: &[Field] = &[(1, "namespace", F::Str)];
const SSRR: &[Field] = &[
    (1, "metadata", F::Msg(OBJECT_META)),
    (2, "spec", F::Msg(SSRR_SPEC)),
];
const CONFIGMAP: &[Field] = &[
    (1, "metadata", F::Msg(OBJECT_META)),
    (2, "data", F::MapStr),
    (3, "binaryData", F::MapBytes),
    (4, "immutable", F::Bool),
];
const SECRET: &[Field] = &[
    (1, "metadata", F::Msg(OBJECT_META)),
    (2, "data", F::MapBytes),
    (3, "type", F::Str),
    (4, "stringData", F::MapStr),
    (5, "immutable", F::Bool),
];
const NS_SPEC: &[Field] = &[(1, "finalizers", F::RepStr)];
const NAMESPACE: &[Field] = &[
    (1, "metadata", F::Msg(OBJECT_META)),
    (2, "spec", F::Msg(NS_SPEC)),
];
const LOCAL_REF: &[Field] = &[(1, "name", F::Str)];
const SERVICE_ACCOUNT: &[Field] = &[
    (1, "metadata", F::Msg(OBJECT_META)),
    (3, "imagePullSecrets", F::RepMsg(LOCAL_REF)),
    (4, "automountServiceAccountToken", F::Bool),
];
const POLICY_RULE: &[Field] = &[
    (1, "verbs", F::RepStr),
    (2, "apiGroups", F::RepStr),
    (3, "resources", F::RepStr),
    (4, "resourceNames", F::RepStr),
    (5, "nonResourceURLs", F::RepStr),
];
const ROLE: &[Field] = &[
    (1, "metadata", F::Msg(OBJECT_META)),
    (2, "rules", F::RepMsg(POLICY_RULE)),
];
const SUBJECT: &[Field] = &[
    (1, "kind", F::Str),
    (2, "apiGroup", F::Str),
    (3, "name", F::Str),
    (4, "namespace", F::Str),
];
const ROLE_REF: &[Field] = &[
    (1, "apiGroup", F::Str),
    (2, "kind", F::Str),
    (3, "name", F::Str),
];
const BINDING: &[Field] = &[
    (1, "metadata", F::Msg(OBJECT_META)),
    (2, "subjects", F::RepMsg(SUBJECT)),
    (3, "roleRef", F::Msg(ROLE_REF)),
];
const PRECONDITIONS: &[Field] = &[(1, "uid", F::Str), (2, "resourceVersion", F::Str)];
const DELETE_OPTIONS: &[Field] = &[
    (1, "gracePeriodSeconds", F::Int),
    (2, "preconditions", F::Msg(PRECONDITIONS)),
    (3, "orphanDependents", F::Bool),
    (4, "propagationPolicy", F::Str),
    (5, "dryRun", F::RepStr),
];

fn decode_msg(b: &[u8], schema: &[Field]) -> Option<Value> {
    let mut m = Map::new();
    for (num, w) in fields(b)? {
        let Some((_, name, f)) = schema.iter().find(|(n, _, _)| *n == num) else {
            continue;
        };
        let name = name.to_string();
        match (f, w) {
            (F::Str, Wire::Bytes(s)) => {
                m.insert(name, String::from_utf8_lossy(s).into_owned().into());
            }
            (F::Int, Wire::Varint(v)) => {
                m.insert(name, (v as i64).into());
            }
            (F::Bool, Wire::Varint(v)) => {
                m.insert(name, (v != 0).into());
            }
            (F::Msg(s), Wire::Bytes(b)) => {
                m.insert(name, decode_msg(b, s)?);
            }
            (F::RepMsg(s), Wire::Bytes(b)) => {
                let v = decode_msg(b, s)?;
                m.entry(name)
                    .or_insert_with(|| json!([]))
                    .as_array_mut()?
                    .push(v);
            }
            (F::RepStr, Wire::Bytes(s)) => {
                m.entry(name)
                    .or_insert_with(|| json!([]))
                    .as_array_mut()?
                    .push(String::from_utf8_lossy(s).into_owned().into());
            }
            (F::MapStr | F::MapBytes, Wire::Bytes(b)) => {
                let mut k = String::new();
                let mut v = Value::String(String::new());
                for (n, w) in fields(b)? {
                    if let Wire::Bytes(s) = w {
                        match n {
                            1 => k = String::from_utf8_lossy(s).into_owned(),
                            2 if matches!(f, F::MapBytes) => {
                                v = base64::engine::general_purpose::STANDARD.encode(s).into()
                            }
                            2 => v = String::from_utf8_lossy(s).into_owned().into(),
                            _ => {}
                        }
                    }
                }
                m.entry(name)
                    .or_insert_with(|| json!({}))
                    .as_object_mut()?
                    .insert(k, v);
            }
            (F::Time, Wire::Bytes(b)) => {
                let secs = fields(b)?.iter().find_map(|(n, w)| match (n, w) {
                    (1, Wire::Varint(v)) => Some(*v as i64),
                    _ => None,
                });
                if let Some(ts) = secs.and_then(|s| jiff::Timestamp::from_second(s).ok()) {
                    m.insert(name, ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string().into());
                }
            }
            _ => {}
        }
    }
    Some(Value::Object(m))
}

/// Decodes a `k8s\0`-prefixed protobuf body into JSON, for the supported kinds.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let rest = body
        .strip_prefix(b"k8s\0")
        .ok_or("protobuf body without the k8s magic prefix")?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (n, w) in fields(rest).ok_or("malformed protobuf envelope")? {
        match (n, w) {
            (1, Wire::Bytes(tm)) => {
                for (n, w) in fields(tm).ok_or("malformed typeMeta")? {
                    if let Wire::Bytes(s) = w {
                        match n {
                            1 => api_version = String::from_utf8_lossy(s).into_owned(),
                            2 => kind = String::from_utf8_lossy(s).into_owned(),
                            _ => {}
                        }
                    }
                }
            }
            (2, Wire::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    let schema = match kind.as_str() {
        "SelfSubjectAccessReview" => SSAR,
        "SelfSubjectRulesReview" => SSRR,
        "ConfigMap" => CONFIGMAP,
        "Secret" => SECRET,
        "Namespace" => NAMESPACE,
        "ServiceAccount" => SERVICE_ACCOUNT,
        "DeleteOptions" => DELETE_OPTIONS,
        "Role" | "ClusterRole" => ROLE,
        "RoleBinding" | "ClusterRoleBinding" => BINDING,
        other => {
            return Err(format!(
                "kube-sim does not decode protobuf bodies of kind {other:?}; send JSON"
            ));
        }
    };
    let mut v = decode_msg(raw, schema).ok_or("malformed protobuf object")?;
    v["apiVersion"] = api_version.into();
    v["kind"] = kind.into();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(num: u32, b: &[u8]) -> Vec<u8> {
        let mut out = vec![((num << 3) | 2) as u8, b.len() as u8];
        out.extend_from_slice(b);
        out
    }

    #[test]
    fn decodes_a_configmap_envelope() {
        let meta = [ld(1, b"cfg"), ld(3, b"ns1")].concat();
        let entry = [ld(1, b"k"), ld(2, b"v")].concat();
        let raw = [ld(1, &meta), ld(2, &entry)].concat();
        let tm = [ld(1, b"v1"), ld(2, b"ConfigMap")].concat();
        let body = [b"k8s\0".to_vec(), ld(1, &tm), ld(2, &raw)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v,
            json!({"metadata": {"name": "cfg", "namespace": "ns1"}, "data": {"k": "v"}, "apiVersion": "v1", "kind": "ConfigMap"})
        );
    }
}
