//! Host interfaces and the grants that gate them.
//!
//! Every capability needs two things: the component **requests** it in `describe`, and the
//! operator's config **grants** it (first-party toolsets have built-in default grants). A host
//! function checks the grant as its first statement and returns a typed `denied` error naming the
//! capability, the subject and the toolset; a denial is never a trap.
//!
//! Adding a capability is one module: its [`CapabilityDef`] (how its grant is written in the
//! config), its `Host` trait impl with the check first, and one line in [`CAPABILITIES`].
//! `log`, `progress` and `config` are not capabilities: every toolset may use them.

pub mod config;
pub mod kubernetes;
pub mod log;
pub mod process;
pub mod progress;
pub mod state;

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// A parsed grant rule, owned by its capability module (which downcasts it); `None` = not granted.
pub type GrantRule = Option<Arc<dyn Any + Send + Sync>>;

/// A capability the host can grant.
pub struct CapabilityDef {
    /// Name as used in `describe` and in `grants:`.
    pub name: &'static str,
    /// One line for `toolset inspect` and docs.
    pub summary: &'static str,
    /// Parses the config value of a grant (`true`, or a capability-specific mapping) into the
    /// capability's own rule type; `Ok(None)` means "not granted" (`false`).
    pub parse: fn(&serde_json::Value) -> Result<GrantRule, String>,
}

/// Every capability this host knows.
pub const CAPABILITIES: &[CapabilityDef] = &[
    state::CAPABILITY,
    process::CAPABILITY,
    kubernetes::CAPABILITY,
];

/// Parses one `grants:` entry, refusing unknown capability names with the closest known one.
pub fn parse_grant(name: &str, value: &serde_json::Value) -> Result<GrantRule, String> {
    match CAPABILITIES.iter().find(|c| c.name == name) {
        Some(def) => (def.parse)(value),
        None => {
            let known: Vec<String> = CAPABILITIES.iter().map(|c| c.name.to_string()).collect();
            let hint = crate::config::closest(name, &known)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            Err(format!(
                "unknown capability `{name}`{hint} (known: {})",
                known.join(", ")
            ))
        }
    }
}

/// A boolean grant: `true` grants, `false` does not; anything else is an error.
pub fn parse_bool_grant(value: &serde_json::Value) -> Result<GrantRule, String> {
    match value {
        serde_json::Value::Bool(true) => Ok(Some(Arc::new(()))),
        serde_json::Value::Bool(false) => Ok(None),
        other => Err(format!("expected true or false, got {other}")),
    }
}

/// Why a host function refused.
#[derive(Debug, Clone)]
pub struct Denied {
    /// Capability name.
    pub capability: &'static str,
    /// What was attempted, e.g. `write key "x"`.
    pub subject: String,
    /// Toolset name.
    pub toolset: Arc<str>,
    /// Which gate refused and how to open it.
    pub hint: String,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} is not granted to toolset \"{}\" ({})",
            self.capability, self.subject, self.toolset, self.hint
        )
    }
}

/// The effective grants of one toolset: requested in `describe` ∩ granted by config.
#[derive(Clone)]
pub struct Grants {
    toolset: Arc<str>,
    requested: BTreeSet<String>,
    granted: BTreeMap<&'static str, Arc<dyn Any + Send + Sync>>,
    /// Where the operator grants capabilities for this toolset, for hints.
    config_location: String,
    read_only: bool,
}

impl fmt::Debug for Grants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grants")
            .field("toolset", &self.toolset)
            .field("requested", &self.requested)
            .field("granted", &self.granted.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Grants {
    /// Builds the effective grants. `configured` is the default grants overlaid with the
    /// operator's (already validated) `grants:` entries.
    pub fn new(
        toolset: Arc<str>,
        requested: impl IntoIterator<Item = String>,
        configured: &BTreeMap<String, serde_json::Value>,
        config_location: String,
        read_only: bool,
    ) -> Result<Grants, String> {
        let requested: BTreeSet<String> = requested.into_iter().collect();
        let mut granted = BTreeMap::new();
        for def in CAPABILITIES {
            if let Some(value) = configured.get(def.name)
                && let Some(rule) = (def.parse)(value)?
                && requested.contains(def.name)
            {
                granted.insert(def.name, rule);
            }
        }
        Ok(Grants {
            toolset,
            requested,
            granted,
            config_location,
            read_only,
        })
    }

    /// Grants nothing (for inspecting a component).
    pub fn none(toolset: Arc<str>) -> Grants {
        Grants {
            toolset,
            requested: BTreeSet::new(),
            granted: BTreeMap::new(),
            config_location: String::new(),
            read_only: false,
        }
    }

    /// The toolset these grants belong to.
    pub fn toolset(&self) -> &Arc<str> {
        &self.toolset
    }

    /// Names of the granted capabilities.
    pub fn granted_names(&self) -> Vec<&'static str> {
        self.granted.keys().copied().collect()
    }

    /// Where the operator grants capabilities to this toolset (`toolsets.kubernetes`, ...).
    pub fn config_location(&self) -> &str {
        &self.config_location
    }

    /// Whether the server runs with `--read-only`.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The first check of every host function: returns the capability's rule when granted.
    pub fn check<R: Any + Send + Sync>(
        &self,
        capability: &'static str,
        subject: impl FnOnce() -> String,
    ) -> Result<&R, Denied> {
        if let Some(rule) = self.granted.get(capability)
            && let Some(rule) = rule.downcast_ref::<R>()
        {
            return Ok(rule);
        }
        let hint = if !self.requested.contains(capability) {
            format!("the toolset did not request `{capability}` in describe")
        } else {
            format!(
                "grant it with `grants: {{ {capability}: true }}` under {}",
                self.config_location
            )
        };
        Err(self.denied(capability, subject(), hint))
    }

    /// A denial with a capability-specific reason.
    pub fn denied(&self, capability: &'static str, subject: String, hint: String) -> Denied {
        Denied {
            capability,
            subject,
            toolset: self.toolset.clone(),
            hint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(requested: &[&str], configured: &[(&str, serde_json::Value)]) -> Grants {
        Grants::new(
            "acme".into(),
            requested.iter().map(|s| s.to_string()),
            &configured
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            "toolsets.extra[0]".into(),
            false,
        )
        .unwrap()
    }

    #[test]
    fn granted_and_requested_passes() {
        let g = grants(&["state"], &[("state", true.into())]);
        assert!(g.check::<()>("state", || "read key \"a\"".into()).is_ok());
    }

    #[test]
    fn granted_but_not_requested_is_denied_naming_the_gate() {
        let g = grants(&[], &[("state", true.into())]);
        let err = g
            .check::<()>("state", || "write key \"a\"".into())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "state: write key \"a\" is not granted to toolset \"acme\" (the toolset did not request `state` in describe)"
        );
    }

    #[test]
    fn requested_but_not_granted_tells_how_to_grant() {
        let g = grants(&["state"], &[("state", false.into())]);
        let err = g
            .check::<()>("state", || "write key \"a\"".into())
            .unwrap_err()
            .to_string();
        assert!(err.contains("grants: { state: true }"), "{err}");
        assert!(err.contains("toolsets.extra[0]"), "{err}");
    }

    #[test]
    fn unknown_capability_suggests_closest() {
        let err = parse_grant("stat", &true.into()).err().unwrap();
        assert!(err.contains("did you mean `state`"), "{err}");
    }

    #[test]
    fn non_boolean_state_grant_is_refused() {
        let err = parse_grant("state", &"yes".into()).err().unwrap();
        assert!(err.contains("expected true or false"), "{err}");
    }
}
