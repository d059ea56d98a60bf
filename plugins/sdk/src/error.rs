//! Errors a tool returns and errors the host returns.

use std::fmt;

/// Why a tool call (or resource read, or prompt) could not produce a result.
///
/// The host reports it to the client; the message should say what failed and what to do. For a
/// failure the assistant should read and act on as part of a normal answer, return an error
/// result instead ([`CallResult::error_text`](crate::CallResult::error_text)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolError {
    /// The arguments are wrong; the message names the field.
    InvalidArguments(String),
    /// The tool, resource or prompt (or the thing it looked for) does not exist.
    NotFound(String),
    /// A host capability was denied.
    Denied(String),
    /// The target changed underneath; a retry may help.
    Conflict(String),
    /// The operation ran out of time.
    Timeout(String),
    /// The toolset cannot work here (missing binary, unreachable cluster, ...).
    Unavailable(String),
    /// Anything else, with a message a user can act on.
    Failed(String),
}

impl ToolError {
    /// The arguments are wrong; name the field in the message.
    pub fn invalid_arguments(message: impl Into<String>) -> Self {
        Self::InvalidArguments(message.into())
    }

    /// The thing asked for does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// A capability was denied.
    pub fn denied(message: impl Into<String>) -> Self {
        Self::Denied(message.into())
    }

    /// The target changed underneath.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    /// The operation ran out of time.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::Timeout(message.into())
    }

    /// The toolset cannot work here.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::Unavailable(message.into())
    }

    /// Anything else.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }

    /// The message without the kind.
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidArguments(m)
            | Self::NotFound(m)
            | Self::Denied(m)
            | Self::Conflict(m)
            | Self::Timeout(m)
            | Self::Unavailable(m)
            | Self::Failed(m) => m,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::InvalidArguments(_) => "invalid arguments",
            Self::NotFound(_) => "not found",
            Self::Denied(_) => "denied",
            Self::Conflict(_) => "conflict",
            Self::Timeout(_) => "timeout",
            Self::Unavailable(_) => "unavailable",
            Self::Failed(_) => "failed",
        }
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for ToolError {}

/// Why a host function refused or failed. Expected failures are values, never traps.
///
/// Its [`Display`](fmt::Display) is the host's message, which names the capability, subject
/// and toolset for a denial. `?` turns it into a [`ToolError`] of the matching kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// The capability (or this use of it) is not granted.
    Denied(String),
    /// The thing asked for does not exist.
    NotFound(String),
    /// The thing changed or already exists.
    Conflict(String),
    /// The operation ran out of time.
    Timeout(String),
    /// The request is malformed or exceeds a limit.
    Invalid(String),
    /// Anything else.
    Failed(String),
}

impl HostError {
    /// The host's message.
    pub fn message(&self) -> &str {
        match self {
            Self::Denied(m)
            | Self::NotFound(m)
            | Self::Conflict(m)
            | Self::Timeout(m)
            | Self::Invalid(m)
            | Self::Failed(m) => m,
        }
    }

    /// Whether the host refused because a capability is not granted.
    pub fn is_denied(&self) -> bool {
        matches!(self, Self::Denied(_))
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for HostError {}

impl From<HostError> for ToolError {
    fn from(error: HostError) -> Self {
        match error {
            HostError::Denied(m) => Self::Denied(m),
            HostError::NotFound(m) => Self::NotFound(m),
            HostError::Conflict(m) => Self::Conflict(m),
            HostError::Timeout(m) => Self::Timeout(m),
            HostError::Invalid(m) | HostError::Failed(m) => Self::Failed(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_denial_becomes_a_denied_tool_error_with_the_host_message() {
        let error: ToolError = HostError::Denied("state: not granted".into()).into();
        assert_eq!(error, ToolError::Denied("state: not granted".into()));
        assert_eq!(error.to_string(), "denied: state: not granted");
    }

    #[test]
    fn invalid_host_request_becomes_a_failure() {
        let error: ToolError = HostError::Invalid("key too long".into()).into();
        assert_eq!(error, ToolError::failed("key too long"));
    }
}
