//! Lookups over [`crate::facts`]: the key index, children of a section, env names, and the
//! "did you mean" search over every known key path.

use crate::facts::{self, KeyFact, Kind};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// The expanded key table: every schema path (selector keys expanded under each selector list).
pub struct Schema {
    keys: BTreeMap<String, KeyFact>,
    children: BTreeMap<String, Vec<&'static str>>,
    env_names: BTreeSet<&'static str>,
    /// (normalized leaf name, schema path) for every non-wildcard path, shortest paths first.
    leaves: Vec<(String, String)>,
}

/// The schema, built once from [`facts::KEYS`].
pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(Schema::build)
}

impl Schema {
    fn build() -> Schema {
        let mut keys: BTreeMap<String, KeyFact> = BTreeMap::new();
        for fact in facts::KEYS {
            keys.insert(fact.path.to_string(), *fact);
        }
        for list in facts::SELECTOR_LISTS {
            let item = format!("{list}[]");
            keys.insert(
                item.clone(),
                KeyFact {
                    path: "",
                    kind: Kind::Section,
                    env: None,
                },
            );
            for sel in facts::SELECTOR_KEYS {
                keys.insert(format!("{item}.{}", sel.path), *sel);
            }
        }
        let mut children: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
        // Leaf names must be 'static: take them from the facts tables.
        let all_names: Vec<&'static str> = facts::KEYS
            .iter()
            .map(|f| f.path)
            .chain(facts::SELECTOR_KEYS.iter().map(|f| f.path))
            .flat_map(|p| p.split('.'))
            .collect();
        for path in keys.keys() {
            let (parent, leaf) = split_parent(path);
            if leaf == "*" {
                continue;
            }
            let leaf = leaf.trim_end_matches("[]");
            if let Some(name) = all_names.iter().find(|n| **n == leaf) {
                let entry = children.entry(parent.to_string()).or_default();
                if !entry.contains(name) {
                    entry.push(name);
                }
            }
        }
        let env_names = facts::KEYS
            .iter()
            .filter_map(|f| f.env)
            .chain(facts::ENV_ONLY.iter().map(|(n, _)| *n))
            .collect();
        let mut leaves: Vec<(String, String)> = keys
            .keys()
            .filter_map(|p| {
                let (_, leaf) = split_parent(p);
                (leaf != "*" && !leaf.ends_with("[]")).then(|| (normalize(leaf), p.clone()))
            })
            .collect();
        leaves.sort_by(|a, b| (a.1.len(), &a.1).cmp(&(b.1.len(), &b.1)));
        Schema {
            keys,
            children,
            env_names,
            leaves,
        }
    }

    /// The fact for a schema path (`discovery.instrument[].open_ports`).
    pub fn get(&self, schema_path: &str) -> Option<&KeyFact> {
        self.keys.get(schema_path)
    }

    /// Known child key names of a section (`""` is the top level).
    pub fn children(&self, schema_path: &str) -> &[&'static str] {
        self.children
            .get(schema_path)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Every schema path, in sorted order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Whether OBI reads an environment variable of this name.
    pub fn is_known_env(&self, name: &str) -> bool {
        self.env_names.contains(name)
    }

    /// Every environment variable name OBI reads.
    pub fn env_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.env_names.iter().copied()
    }

    /// The closest known key for an unknown key `key` found in section `parent` (a schema path).
    /// Returns a schema path to show the user, or `None` when nothing is close.
    pub fn suggest_key(&self, parent: &str, key: &str) -> Option<String> {
        if key.len() > 64 {
            return None;
        }
        let join = |p: &str, k: &str| {
            if p.is_empty() {
                k.to_string()
            } else {
                format!("{p}.{k}")
            }
        };
        let norm_key = normalize(key);
        // 1. A sibling that differs only in case, dashes or one typo.
        let siblings = self.children(parent);
        let best_sibling = siblings
            .iter()
            .map(|s| (distance(&norm_key, &normalize(s)), *s))
            .min();
        if let Some((d, s)) = best_sibling
            && d <= 1
        {
            return Some(join(parent, s));
        }
        // 2. The same key elsewhere (misplaced): the shortest such path.
        if let Some((_, p)) = self.leaves.iter().find(|(leaf, _)| *leaf == norm_key) {
            return Some(p.clone());
        }
        // 3. A sibling within a few edits.
        let limit = (norm_key.len() / 3).max(1);
        if let Some((d, s)) = best_sibling
            && d <= limit
        {
            return Some(join(parent, s));
        }
        // 4. Any key anywhere within a couple of edits (shortest path on ties).
        let limit = limit.min(2);
        self.leaves
            .iter()
            .filter(|(leaf, _)| leaf.len().abs_diff(norm_key.len()) <= limit)
            .map(|(leaf, p)| (distance(&norm_key, leaf), p))
            .filter(|(d, _)| *d <= limit)
            .min_by_key(|(d, _)| *d)
            .map(|(_, p)| p.clone())
    }

    /// The closest known environment variable name to `name`, if any is close.
    pub fn suggest_env(&self, name: &str) -> Option<&'static str> {
        if name.len() > 96 {
            return None;
        }
        let limit = (name.len() / 5).max(2);
        self.env_names
            .iter()
            .map(|n| (distance(name, n), *n))
            .filter(|(d, _)| *d <= limit)
            .min()
            .map(|(_, n)| n)
    }
}

/// Splits `a.b.c` into (`a.b`, `c`); a top-level key has parent `""`.
pub fn split_parent(path: &str) -> (&str, &str) {
    match path.rfind('.') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Levenshtein distance (inputs are short key names; callers bound their length).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_basics() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", "abc"), 0);
        assert_eq!(distance("endpont", "endpoint"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn selector_keys_are_expanded_under_every_list() {
        let s = schema();
        for list in facts::SELECTOR_LISTS {
            assert!(s.get(&format!("{list}[].open_ports")).is_some(), "{list}");
        }
        assert!(
            s.children("discovery.instrument[]")
                .contains(&"k8s_namespace")
        );
    }

    #[test]
    fn top_level_children_include_every_top_level_key() {
        let s = schema();
        for key in [
            "log_level",
            "discovery",
            "ebpf",
            "otel_traces_export",
            "health_check",
        ] {
            assert!(s.children("").contains(&key), "{key}");
        }
    }

    #[test]
    fn misplaced_key_suggests_its_real_place() {
        assert_eq!(
            schema().suggest_key("", "bpf_debug").as_deref(),
            Some("ebpf.bpf_debug")
        );
        assert_eq!(
            schema().suggest_key("", "print_flows").as_deref(),
            Some("network.print_flows")
        );
    }

    #[test]
    fn typo_suggests_sibling() {
        assert_eq!(
            schema()
                .suggest_key("otel_traces_export", "endpont")
                .as_deref(),
            Some("otel_traces_export.endpoint")
        );
        assert_eq!(
            schema().suggest_key("", "logLevel").as_deref(),
            Some("log_level")
        );
        assert_eq!(
            schema().suggest_key("", "log-level").as_deref(),
            Some("log_level")
        );
    }

    #[test]
    fn nothing_close_suggests_nothing() {
        assert_eq!(schema().suggest_key("", "zzzzzzzzzzzzzzzz"), None);
        assert_eq!(schema().suggest_key("", &"q".repeat(1000)), None);
    }

    #[test]
    fn env_suggestions() {
        let s = schema();
        assert!(s.is_known_env("OTEL_EBPF_OPEN_PORT"));
        assert!(s.is_known_env("OTEL_EXPORTER_OTLP_ENDPOINT"));
        assert_eq!(
            s.suggest_env("OTEL_EBPF_OPEN_PORTS"),
            Some("OTEL_EBPF_OPEN_PORT")
        );
    }
}
