//! The toolset's own settings and the shared OBI configuration (`obi:`). Always allowed; holds
//! no secrets. A first-party toolset's settings are its `toolsets.<name>` section; a third-party
//! toolset's are the `settings:` of its `toolsets.extra` entry (`{}` when absent). Outside a host
//! (native unit tests) the settings are `{}` and there is no OBI configuration.

use serde::de::DeserializeOwned;

use crate::ToolError;

/// The toolset's own settings as JSON object text.
pub fn raw() -> String {
    #[cfg(target_arch = "wasm32")]
    return crate::__private::bindings::obi::toolset::config::get();
    #[cfg(not(target_arch = "wasm32"))]
    return "{}".to_string();
}

/// The toolset's own settings, deserialized. Fields missing from the config need
/// `#[serde(default)]`; an invalid setting is a [`ToolError::Failed`] naming the field.
pub fn get<T: DeserializeOwned>() -> Result<T, ToolError> {
    crate::tool::parse_arguments(&raw()).map_err(|error| {
        ToolError::failed(format!(
            "this toolset's settings in the obi-mcp config are invalid: {}",
            error.message()
        ))
    })
}

/// The shared OBI configuration as JSON object text, if configured.
pub fn obi_raw() -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return crate::__private::bindings::obi::toolset::config::obi();
    #[cfg(not(target_arch = "wasm32"))]
    return None;
}

/// The shared OBI configuration, if configured (and valid JSON, which the host guarantees).
pub fn obi() -> Option<serde_json::Value> {
    serde_json::from_str(&obi_raw()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Settings {
        #[serde(default)]
        binary_path: Option<String>,
    }

    #[test]
    fn native_stand_in_is_an_empty_section() {
        assert_eq!(get::<Settings>().unwrap(), Settings { binary_path: None });
        assert_eq!(obi(), None);
    }
}
