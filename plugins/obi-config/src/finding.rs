//! Findings: what validation reports, each with a path, a severity and an actionable message.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How serious a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// OBI would refuse to start, or the value cannot be used: the config must not be written.
    Error,
    /// OBI starts, but probably not as the user intends.
    Warning,
    /// Worth knowing; nothing to fix.
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// One validation finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Where: a dotted path into the config (`otel_traces_export.endpoint`,
    /// `discovery.instrument[0].open_ports`), `env:NAME` for an environment variable, or `""` for
    /// the configuration as a whole.
    pub path: String,
    /// How serious it is.
    pub severity: Severity,
    /// What is wrong and what to do about it.
    pub message: String,
    /// Stable identifier of the rule that produced it (for tests and filtering).
    pub rule: String,
}

impl Finding {
    /// A new finding. Very long paths and messages (from hostile input) are shortened.
    pub fn new(
        rule: &str,
        severity: Severity,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            path: clip(path.into(), MAX_PATH_CHARS),
            severity,
            message: clip(message.into(), MAX_MESSAGE_CHARS),
            rule: rule.to_string(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(config)"
        } else {
            &self.path
        };
        write!(f, "{}: {}: {}", self.severity, path, self.message)
    }
}

/// Longest path a finding keeps, in characters.
pub const MAX_PATH_CHARS: usize = 200;
/// Longest message a finding keeps, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1000;

fn clip(s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    if out.len() < s.len() {
        out.push_str("...");
        out
    } else {
        s
    }
}

/// Most findings one report keeps; the rest are counted in [`Report::truncated`].
pub const MAX_FINDINGS: usize = 500;

/// All findings of one validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// Findings, errors first, in document order within a severity.
    pub findings: Vec<Finding>,
    /// Findings dropped because there were more than [`MAX_FINDINGS`].
    pub truncated: usize,
}

impl Report {
    /// Adds a finding (dropping it once the report is full).
    pub fn push(&mut self, finding: Finding) {
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(finding);
        } else {
            self.truncated += 1;
        }
    }

    /// True when there is no error: the config may be written.
    pub fn is_valid(&self) -> bool {
        self.errors() == 0
    }

    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    /// Number of findings of one severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Findings at exactly this path.
    pub fn at<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.path == path)
    }

    /// Sorts errors first, keeping document order within a severity.
    pub(crate) fn sort(&mut self) {
        self.findings.sort_by_key(|f| f.severity);
    }

    /// A readable multi-line summary: a verdict line, then one line per finding.
    pub fn summary(&self) -> String {
        let mut out = if self.is_valid() {
            format!(
                "valid: {} warning(s), {} note(s)",
                self.warnings(),
                self.count(Severity::Info)
            )
        } else {
            format!(
                "invalid: {} error(s), {} warning(s), {} note(s)",
                self.errors(),
                self.warnings(),
                self.count(Severity::Info)
            )
        };
        for f in &self.findings {
            out.push('\n');
            out.push_str(&f.to_string());
        }
        if self.truncated > 0 {
            out.push_str(&format!("\n... and {} more finding(s)", self.truncated));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_and_messages_are_clipped() {
        let f = Finding::new("r", Severity::Info, "p".repeat(10_000), "m".repeat(10_000));
        assert_eq!(f.path.chars().count(), MAX_PATH_CHARS);
        assert_eq!(f.message.chars().count(), MAX_MESSAGE_CHARS);
        assert!(f.path.ends_with("..."));
        // the limit counts characters, not bytes
        let f = Finding::new("r", Severity::Info, "é".repeat(150), "short");
        assert_eq!(f.path.chars().count(), 150);
        assert_eq!(f.message, "short");
    }

    #[test]
    fn report_counts_and_summary() {
        let mut r = Report::default();
        r.push(Finding::new("w", Severity::Warning, "a", "careful"));
        r.push(Finding::new("e", Severity::Error, "", "broken"));
        r.sort();
        assert_eq!((r.errors(), r.warnings(), r.is_valid()), (1, 1, false));
        assert_eq!(
            r.summary(),
            "invalid: 1 error(s), 1 warning(s), 0 note(s)\nerror: (config): broken\nwarning: a: careful"
        );
    }
}
