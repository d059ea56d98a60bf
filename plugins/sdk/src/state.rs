//! A small key/value store per toolset, persisted by the host. Needs the `state` capability
//! (request it in [`Info::capability`](crate::Info::capability)); without the grant every
//! function returns [`HostError::Denied`].
//!
//! Keys are up to 256 bytes, values up to 1 MiB, 16 MiB per toolset. Outside a host (native unit
//! tests) the store is an in-memory map per thread.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::HostError;

/// The value stored under `key`, if any.
pub fn get(key: &str) -> Result<Option<String>, HostError> {
    backend::get(key)
}

/// Stores `value` under `key`.
pub fn set(key: &str, value: &str) -> Result<(), HostError> {
    backend::set(key, value)
}

/// Removes `key`; returns whether it existed.
pub fn delete(key: &str) -> Result<bool, HostError> {
    backend::delete(key)
}

/// Keys starting with `prefix`, sorted.
pub fn list_keys(prefix: &str) -> Result<Vec<String>, HostError> {
    backend::list_keys(prefix)
}

/// The value stored under `key` as JSON, deserialized. A value that does not deserialize into
/// `T` is [`HostError::Invalid`].
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, HostError> {
    get(key)?
        .map(|text| {
            serde_json::from_str(&text).map_err(|error| {
                HostError::Invalid(format!(
                    "state key {key:?} does not hold the expected JSON: {error}"
                ))
            })
        })
        .transpose()
}

/// Stores `value` as JSON under `key`.
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), HostError> {
    let text = serde_json::to_string(value).map_err(|error| {
        HostError::Invalid(format!(
            "value for state key {key:?} is not serializable: {error}"
        ))
    })?;
    set(key, &text)
}

#[cfg(target_arch = "wasm32")]
mod backend {
    use crate::__private::bindings::obi::toolset::{state, types::HostError as WitError};
    use crate::HostError;

    fn convert(error: WitError) -> HostError {
        match error {
            WitError::Denied(m) => HostError::Denied(m),
            WitError::NotFound(m) => HostError::NotFound(m),
            WitError::Conflict(m) => HostError::Conflict(m),
            WitError::Timeout(m) => HostError::Timeout(m),
            WitError::Invalid(m) => HostError::Invalid(m),
            WitError::Failed(m) => HostError::Failed(m),
        }
    }

    pub fn get(key: &str) -> Result<Option<String>, HostError> {
        state::get(key).map_err(convert)
    }

    pub fn set(key: &str, value: &str) -> Result<(), HostError> {
        state::set(key, value).map_err(convert)
    }

    pub fn delete(key: &str) -> Result<bool, HostError> {
        state::delete(key).map_err(convert)
    }

    pub fn list_keys(prefix: &str) -> Result<Vec<String>, HostError> {
        state::list_keys(prefix).map_err(convert)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod backend {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use crate::HostError;

    thread_local! {
        static STORE: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
    }

    pub fn get(key: &str) -> Result<Option<String>, HostError> {
        Ok(STORE.with_borrow(|store| store.get(key).cloned()))
    }

    pub fn set(key: &str, value: &str) -> Result<(), HostError> {
        STORE.with_borrow_mut(|store| store.insert(key.to_string(), value.to_string()));
        Ok(())
    }

    pub fn delete(key: &str) -> Result<bool, HostError> {
        Ok(STORE.with_borrow_mut(|store| store.remove(key).is_some()))
    }

    pub fn list_keys(prefix: &str) -> Result<Vec<String>, HostError> {
        Ok(STORE.with_borrow(|store| {
            store
                .keys()
                .filter(|key| key.starts_with(prefix))
                .cloned()
                .collect()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_stand_in_stores_json_and_lists_keys() {
        set_json("history/1", &vec!["a"]).unwrap();
        set("history/2", "[]").unwrap();
        set("other", "x").unwrap();
        assert_eq!(
            get_json::<Vec<String>>("history/1").unwrap(),
            Some(vec!["a".to_string()])
        );
        assert_eq!(
            list_keys("history/").unwrap(),
            vec!["history/1", "history/2"]
        );
        assert!(delete("other").unwrap());
        assert!(!delete("other").unwrap());
        assert_eq!(get("other").unwrap(), None);
        assert!(matches!(
            get_json::<u32>("history/1"),
            Err(HostError::Invalid(_))
        ));
    }
}
