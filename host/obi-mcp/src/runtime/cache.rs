//! The compiled-component cache.
//!
//! Compiling a component with Cranelift costs tens of milliseconds; loading a precompiled one
//! costs a fraction of one. Entries are `<sha256 of the component>-<engine hash>.cwasm` in the
//! cache dir, where the engine hash comes from `Engine::precompile_compatibility_hash` (wasmtime
//! version, target and every setting that changes compiled code). Each file carries a magic and a
//! BLAKE3 checksum of its body; a file that fails the check, or that wasmtime refuses, is deleted
//! and rebuilt — never trusted. Entries are written atomically.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::meta::ToolsetMeta;

const MAGIC: &[u8; 8] = b"OBICWSM1";
const HEADER: usize = MAGIC.len() + 32;

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from the artifact precompiled into this binary.
    Embedded,
    /// Loaded from a valid cache entry.
    Hit,
    /// No entry: compiled and stored.
    Miss,
    /// An entry existed but was corrupt or incompatible: discarded, compiled, stored.
    Rebuilt,
    /// Caching is off or the entry could not be written: compiled only.
    Uncached,
    /// Metadata came from the cache; the component is loaded on its first call.
    Deferred,
}

/// The cache: a directory and the engine's compatibility key.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

struct Blake3Hasher(blake3::Hasher);

impl Hasher for Blake3Hasher {
    fn finish(&self) -> u64 {
        let out = self.0.finalize();
        u64::from_le_bytes(out.as_bytes()[..8].try_into().expect("8 bytes"))
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// A stable hex key for the engine's compiled-code compatibility.
pub fn engine_key(engine: &Engine) -> String {
    let mut h = Blake3Hasher(blake3::Hasher::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

impl ComponentCache {
    /// A cache in `dir` (`None` disables caching).
    pub fn new(dir: Option<PathBuf>, engine: &Engine) -> ComponentCache {
        ComponentCache {
            dir,
            engine_key: engine_key(engine),
        }
    }

    /// The file an entry for `sha256` lives in.
    pub fn entry_path(&self, sha256: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{sha256}-{}.cwasm", self.engine_key)))
    }

    /// Loads the compiled form of `bytes` (whose sha256 is `sha256`) or compiles and stores it.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        sha256: &str,
        bytes: &[u8],
        precompiled: Option<&'static [u8]>,
    ) -> anyhow::Result<(Component, CacheOutcome)> {
        if let Some(artifact) = precompiled {
            // SAFETY: `artifact` was produced by `Engine::precompile_component` (wasmtime, pinned
            // to one exact version) in this binary's build script and embedded unmodified in its
            // read-only data. wasmtime checks the artifact's header (version, target, settings)
            // against this engine and refuses a mismatch, which falls through to the cache.
            match unsafe { Component::deserialize(engine, artifact) } {
                Ok(c) => return Ok((c, CacheOutcome::Embedded)),
                Err(e) => tracing::debug!(
                    error = %e,
                    "the precompiled artifact does not fit this engine; using the cache"
                ),
            }
        }
        let Some(path) = self.entry_path(sha256) else {
            return Ok((Component::new(engine, bytes)?, CacheOutcome::Uncached));
        };
        let mut had_entry = false;
        match std::fs::read(&path) {
            Ok(file) => {
                had_entry = true;
                match verify(&file) {
                    Some(body) => {
                        // SAFETY: `Component::deserialize` requires bytes produced by
                        // `Component::serialize` of a compatible engine. The body passed the
                        // BLAKE3 check against the checksum we wrote next to it, so it is
                        // byte-identical to what `store` serialized; the file name carries this
                        // engine's compatibility hash, and wasmtime additionally checks its own
                        // version/config header and refuses mismatches (handled below).
                        match unsafe { Component::deserialize(engine, body) } {
                            Ok(c) => return Ok((c, CacheOutcome::Hit)),
                            Err(e) => tracing::warn!(
                                path = %path.display(),
                                error = %e,
                                "compiled component is incompatible; discarding and recompiling"
                            ),
                        }
                    }
                    None => tracing::warn!(
                        path = %path.display(),
                        "compiled component failed its checksum; discarding and recompiling"
                    ),
                }
                let _ = std::fs::remove_file(&path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot read cache entry"),
        }
        let component = Component::new(engine, bytes)?;
        let outcome = match store(&path, &component) {
            Ok(()) if had_entry => CacheOutcome::Rebuilt,
            Ok(()) => CacheOutcome::Miss,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot write compiled component to the cache");
                CacheOutcome::Uncached
            }
        };
        Ok((component, outcome))
    }
}

/// What a toolset's metadata depends on: the component, the contract version this host speaks,
/// and the configuration the guest can read while describing itself (its own section and the
/// shared `obi:` section). The host's version is included so an upgrade never reuses old entries.
pub fn meta_key(sha256: &str, config_json: &str, obi_json: Option<&str>) -> String {
    let mut h = blake3::Hasher::new();
    for part in [
        env!("CARGO_PKG_VERSION"),
        super::WIT_VERSION,
        sha256,
        config_json,
        obi_json.unwrap_or("\0none"),
    ] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().to_hex()[..32].to_string()
}

const META_MAGIC: &[u8; 8] = b"OBIMETA1";

impl ComponentCache {
    fn meta_path(&self, key: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{key}.meta")))
    }

    /// The metadata (describe, tools, resources, prompts) stored for `key`, if a valid entry
    /// exists. Reading it spares a start the instantiation and five guest calls per toolset.
    /// A corrupt entry is deleted and reported as absent.
    pub fn load_meta(&self, key: &str) -> Option<ToolsetMeta> {
        let path = self.meta_path(key)?;
        let file = std::fs::read(&path).ok()?;
        let meta = verify_with(META_MAGIC, &file)
            .and_then(|body| serde_json::from_slice::<ToolsetMeta>(body).ok());
        if meta.is_none() {
            tracing::warn!(path = %path.display(), "toolset metadata cache entry is corrupt; discarding it");
            let _ = std::fs::remove_file(&path);
        }
        meta
    }

    /// Stores the metadata for `key` (atomically; failures are only logged).
    pub fn store_meta(&self, key: &str, meta: &ToolsetMeta) {
        let Some(path) = self.meta_path(key) else {
            return;
        };
        let body = match serde_json::to_vec(meta) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "cannot serialize toolset metadata");
                return;
            }
        };
        let mut file = Vec::with_capacity(HEADER + body.len());
        file.extend_from_slice(META_MAGIC);
        file.extend_from_slice(blake3::hash(&body).as_bytes());
        file.extend_from_slice(&body);
        if let Err(e) = crate::fsutil::write_atomic(&path, &file, false) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write toolset metadata to the cache");
        }
    }
}

fn verify(file: &[u8]) -> Option<&[u8]> {
    verify_with(MAGIC, file)
}

fn verify_with<'a>(magic: &[u8; 8], file: &'a [u8]) -> Option<&'a [u8]> {
    if file.len() < HEADER || &file[..magic.len()] != magic {
        return None;
    }
    let (sum, body) = file[MAGIC.len()..].split_at(32);
    (blake3::hash(body).as_bytes() == sum).then_some(body)
}

fn store(path: &Path, component: &Component) -> anyhow::Result<()> {
    let body = component.serialize()?;
    let mut file = Vec::with_capacity(HEADER + body.len());
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(blake3::hash(&body).as_bytes());
    file.extend_from_slice(&body);
    // A cache entry need not survive a crash (a torn one fails its checksum), so no fsync.
    crate::fsutil::write_atomic(path, &file, false)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_meta() -> ToolsetMeta {
        serde_json::from_value(serde_json::json!({
            "name": "acme", "version": "1.0.0", "description": "d", "capabilities": [],
            "tools": [], "resources": [], "templates": [], "prompts": []
        }))
        .expect("sample metadata")
    }

    #[test]
    fn meta_key_changes_with_component_and_config() {
        let a = meta_key("aa", "{}", None);
        assert_eq!(a, meta_key("aa", "{}", None));
        assert_ne!(a, meta_key("ab", "{}", None));
        assert_ne!(a, meta_key("aa", "{\"legacy_tools\":false}", None));
        assert_ne!(a, meta_key("aa", "{}", Some("{}")));
    }

    #[test]
    fn meta_round_trips_and_a_corrupt_entry_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let cache = ComponentCache::new(Some(dir.path().to_path_buf()), &engine);
        assert!(cache.load_meta("k").is_none());
        let meta = sample_meta();
        cache.store_meta("k", &meta);
        assert_eq!(cache.load_meta("k"), Some(meta));
        let path = dir.path().join("k.meta");
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 0x20;
        std::fs::write(&path, bytes).unwrap();
        assert!(cache.load_meta("k").is_none());
        assert!(!path.exists(), "a corrupt entry is deleted");
    }

    #[test]
    fn verify_rejects_short_bad_magic_and_bad_checksum() {
        assert!(verify(b"short").is_none());
        let mut f = Vec::new();
        f.extend_from_slice(MAGIC);
        f.extend_from_slice(blake3::hash(b"body").as_bytes());
        f.extend_from_slice(b"body");
        assert_eq!(verify(&f), Some(&b"body"[..]));
        let mut flipped = f.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(verify(&flipped).is_none());
        let mut magic = f;
        magic[0] = b'X';
        assert!(verify(&magic).is_none());
    }
}
