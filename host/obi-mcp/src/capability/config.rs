//! `config`: the toolset's own config section and the shared `obi:` section. Always allowed;
//! the sections hold no credentials (those stay in the host).

use crate::runtime::CallState;
use crate::runtime::bindings::obi::toolset::config::Host;

impl Host for CallState {
    async fn get(&mut self) -> String {
        self.shared.config_json.to_string()
    }

    async fn obi(&mut self) -> Option<String> {
        self.shared.obi_json.as_ref().map(|s| s.to_string())
    }
}
