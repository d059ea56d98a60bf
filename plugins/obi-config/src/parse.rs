//! Parsing YAML or JSON text into a [`serde_json::Value`], with the work bounded.
//!
//! The document is read through a budgeted [`DeserializeSeed`], so hostile input — YAML alias
//! bombs ("billion laughs"), very deep nesting, huge strings — fails with a [`ParseError`]
//! instead of exhausting memory or the stack. Aliases are expanded (that is what OBI does), and
//! every expanded node counts against the budget. Non-string mapping keys (`8080: x`, `true: y`)
//! become strings, as in OBI's Go YAML decoding into string-keyed maps.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::Cell;
use std::fmt;
use thiserror::Error;

/// Largest document accepted, in bytes.
pub const MAX_INPUT_BYTES: usize = 4 * 1024 * 1024;
/// Deepest nesting accepted (OBI's own config is at most ~8 deep).
pub const MAX_DEPTH: usize = 64;
/// Most nodes (scalars, sequences, mappings, after alias expansion) one document may have.
pub const MAX_NODES: usize = 200_000;
/// Most bytes of strings one document may hold, after alias expansion.
pub const MAX_STRING_BYTES: usize = 16 * 1024 * 1024;

/// Why a document could not be parsed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The text is larger than [`MAX_INPUT_BYTES`].
    #[error("the document is {0} bytes; the limit is {MAX_INPUT_BYTES} bytes")]
    TooLarge(usize),
    /// The text is not valid YAML.
    #[error("invalid YAML: {0}")]
    Yaml(String),
    /// The text is not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The document is valid but not a mapping at the top.
    #[error("the configuration must be a mapping of keys (like `log_level: INFO`), not {0}")]
    NotAMapping(&'static str),
}

/// Parses YAML (a superset of JSON) into a JSON value. An empty document is an empty mapping.
pub fn parse_yaml(text: &str) -> Result<Value, ParseError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(ParseError::TooLarge(text.len()));
    }
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let budget = Budget::new(true);
    let de = serde_norway::Deserializer::from_str(text);
    let value = BoundedValue::new(&budget)
        .deserialize(de)
        .map_err(|e| ParseError::Yaml(e.to_string()))?;
    top_level(value)
}

/// Parses JSON into a JSON value, with the same bounds as [`parse_yaml`].
pub fn parse_json(text: &str) -> Result<Value, ParseError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(ParseError::TooLarge(text.len()));
    }
    let budget = Budget::new(false);
    let mut de = serde_json::Deserializer::from_str(text);
    let value = BoundedValue::new(&budget)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| ParseError::Json(e.to_string()))?;
    top_level(value)
}

fn top_level(value: Value) -> Result<Value, ParseError> {
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(Map::new())),
        other => Err(ParseError::NotAMapping(kind_name(&other))),
    }
}

/// A short English name of a value's type ("a string", "a list", ...).
pub fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Remaining work allowed for one document.
#[derive(Debug)]
struct Budget {
    nodes: Cell<usize>,
    string_bytes: Cell<usize>,
    /// YAML input: apply merge keys.
    yaml: bool,
}

impl Budget {
    fn new(yaml: bool) -> Self {
        Budget {
            nodes: Cell::new(MAX_NODES),
            string_bytes: Cell::new(MAX_STRING_BYTES),
            yaml,
        }
    }
}

impl Budget {
    fn node<E: de::Error>(&self) -> Result<(), E> {
        match self.nodes.get().checked_sub(1) {
            Some(left) => {
                self.nodes.set(left);
                Ok(())
            }
            None => Err(E::custom(format!(
                "the document has more than {MAX_NODES} values (after expanding aliases); \
                 refusing to process it"
            ))),
        }
    }

    fn string<E: de::Error>(&self, len: usize) -> Result<(), E> {
        match self.string_bytes.get().checked_sub(len) {
            Some(left) => {
                self.string_bytes.set(left);
                Ok(())
            }
            None => Err(E::custom(format!(
                "the document holds more than {MAX_STRING_BYTES} bytes of text (after expanding \
                 aliases); refusing to process it"
            ))),
        }
    }
}

/// Deserializes any value into a [`Value`], charging the budget.
struct BoundedValue<'b> {
    budget: &'b Budget,
    depth: usize,
}

impl<'b> BoundedValue<'b> {
    fn new(budget: &'b Budget) -> Self {
        BoundedValue { budget, depth: 0 }
    }

    fn child<E: de::Error>(&self) -> Result<BoundedValue<'b>, E> {
        if self.depth >= MAX_DEPTH {
            return Err(E::custom(format!(
                "the document is nested more than {MAX_DEPTH} levels deep"
            )));
        }
        Ok(BoundedValue {
            budget: self.budget,
            depth: self.depth + 1,
        })
    }
}

impl<'de> DeserializeSeed<'de> for BoundedValue<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BoundedValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML or JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.budget.node()?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.budget.node()?;
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.budget.node()?;
        Ok(Value::Number(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        self.budget.node()?;
        Ok(Value::String(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        self.budget.node()?;
        Ok(Value::String(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.budget.node()?;
        // NaN and infinities have no JSON form; keep them as text rather than losing them.
        Ok(Number::from_f64(v)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(v.to_string())))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.budget.node()?;
        self.budget.string(v.len())?;
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.budget.node()?;
        self.budget.string(v.len())?;
        Ok(Value::String(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        self.visit_str(&String::from_utf8_lossy(v))
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.budget.node()?;
        Ok(Value::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.budget.node()?;
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.budget.node()?;
        let mut items = Vec::new();
        loop {
            let child = self.child()?;
            match seq.next_element_seed(child)? {
                Some(v) => items.push(v),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.budget.node()?;
        let mut out = Map::new();
        let mut merged: Vec<Value> = Vec::new();
        loop {
            let key_seed = self.child()?;
            let Some(key) = map.next_key_seed(key_seed)? else {
                break;
            };
            let key = key_to_string(key);
            let value = map.next_value_seed(self.child()?)?;
            if self.budget.yaml && key == "<<" {
                // A YAML merge key (`<<: *defaults`), which OBI's YAML parser applies.
                match value {
                    Value::Array(items) => merged.extend(items),
                    other => merged.push(other),
                }
                continue;
            }
            if out.contains_key(&key) {
                // OBI's YAML parser refuses a file with a repeated key.
                let shown: String = key.chars().take(60).collect();
                return Err(de::Error::custom(format!(
                    "mapping key `{shown}` is defined twice; OBI refuses such a file"
                )));
            }
            out.insert(key, value);
        }
        // Explicit keys win over merged ones; earlier merge sources win over later ones.
        for source in merged {
            let Value::Object(source) = source else {
                return Err(de::Error::custom(
                    "a merge key `<<` must refer to a mapping or a list of mappings",
                ));
            };
            for (k, v) in source {
                if !out.contains_key(&k) {
                    out.insert(k, v);
                }
            }
        }
        Ok(Value::Object(out))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // YAML tags (`!foo bar`) arrive as enums; keep the tagged value, drop the tag.
        use de::VariantAccess;
        let (tag, variant): (Value, A::Variant) = data.variant_seed(self.child()?)?;
        let _ = tag;
        variant.newtype_variant_seed(self)
    }
}

fn key_to_string(key: Value) -> String {
    match key {
        Value::String(s) => s,
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        // Complex keys are never OBI keys; keep something readable so validation can name them.
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_yaml_and_json_alike() {
        let y = parse_yaml("log_level: INFO\nopen_port: 8080\n").unwrap();
        let j = parse_json(r#"{"log_level":"INFO","open_port":8080}"#).unwrap();
        assert_eq!(y, j);
        assert_eq!(y, json!({"log_level": "INFO", "open_port": 8080}));
    }

    #[test]
    fn keeps_key_order() {
        let v = parse_yaml("zeta: 1\nalpha: 2\nmid: 3\n").unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["zeta", "alpha", "mid"]);
    }

    #[test]
    fn empty_document_is_empty_mapping() {
        assert_eq!(parse_yaml("").unwrap(), json!({}));
        assert_eq!(parse_yaml("# only a comment\n").unwrap(), json!({}));
        assert_eq!(parse_yaml("~").unwrap(), json!({}));
    }

    #[test]
    fn top_level_must_be_a_mapping() {
        assert_eq!(
            parse_yaml("- a\n- b\n"),
            Err(ParseError::NotAMapping("a list"))
        );
        assert_eq!(parse_json("42"), Err(ParseError::NotAMapping("an integer")));
    }

    #[test]
    fn non_string_keys_become_strings() {
        let v = parse_yaml("8080: a\ntrue: b\nnull: c\n").unwrap();
        assert_eq!(v, json!({"8080": "a", "true": "b", "null": "c"}));
    }

    #[test]
    fn invalid_yaml_is_an_error_not_a_panic() {
        assert!(matches!(parse_yaml("a: [1, 2"), Err(ParseError::Yaml(_))));
        assert!(matches!(
            parse_yaml("a: b\n c: d\n  - e"),
            Err(ParseError::Yaml(_))
        ));
        assert!(matches!(parse_json("{\"a\": }"), Err(ParseError::Json(_))));
        assert!(matches!(
            parse_json("{} trailing"),
            Err(ParseError::Json(_))
        ));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        // Refused either by serde_norway's own repetition limit or by our node budget.
        let err = parse_yaml(&doc).unwrap_err().to_string();
        assert!(err.contains("more than") || err.contains("limit"), "{err}");
    }

    #[test]
    fn merge_keys_are_applied_like_obi() {
        let v =
            parse_yaml("base: &b {port: 1, path: /m}\nprometheus_export:\n  <<: *b\n  port: 2\n")
                .unwrap();
        assert_eq!(v["prometheus_export"], json!({"port": 2, "path": "/m"}));
        let v = parse_yaml("a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n").unwrap();
        assert_eq!(v["c"], json!({"x": 1, "y": 2}));
        assert!(parse_yaml("c:\n  <<: 5\n").is_err());
        // JSON has no merge keys
        assert_eq!(
            parse_json(r#"{"<<": {"a": 1}}"#).unwrap(),
            json!({"<<": {"a": 1}})
        );
    }

    #[test]
    fn repeated_keys_are_refused_like_obi() {
        let err = parse_yaml("log_level: INFO\nlog_level: DEBUG\n").unwrap_err();
        assert!(
            err.to_string().contains("`log_level` is defined twice"),
            "{err}"
        );
        assert!(parse_json(r#"{"a": 1, "a": 2}"#).is_err());
    }

    #[test]
    fn small_aliases_are_expanded() {
        let v = parse_yaml("base: &b {port: 1}\ncopy: *b\n").unwrap();
        assert_eq!(v["copy"], json!({"port": 1}));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let yaml = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert!(parse_yaml(&format!("a: {yaml}")).is_err());
        let json = format!("{{\"a\": {}1{}}}", "[".repeat(100), "]".repeat(100));
        assert!(parse_json(&json).is_err());
        let ok = format!("a: {}1{}", "[".repeat(20), "]".repeat(20));
        assert!(parse_yaml(&ok).is_ok());
    }

    #[test]
    fn huge_input_is_refused() {
        let big = "a".repeat(MAX_INPUT_BYTES + 1);
        assert_eq!(
            parse_yaml(&big),
            Err(ParseError::TooLarge(MAX_INPUT_BYTES + 1))
        );
    }

    #[test]
    fn long_string_within_limits_is_fine() {
        let s = "x".repeat(1024 * 1024);
        let v = parse_yaml(&format!("service_name: {s}\n")).unwrap();
        assert_eq!(v["service_name"].as_str().unwrap().len(), s.len());
    }

    #[test]
    fn special_floats_survive_as_text() {
        let v = parse_yaml("a: .nan\nb: .inf\n").unwrap();
        assert_eq!(v["a"], json!("NaN"));
        assert_eq!(v["b"], json!("inf"));
    }

    #[test]
    fn tagged_values_keep_their_value() {
        let v = parse_yaml("a: !custom 5\n").unwrap();
        assert_eq!(v["a"], json!(5));
    }
}
