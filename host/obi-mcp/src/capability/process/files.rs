//! Configuration files: read with a fingerprint, write atomically with a backup and an optional
//! compare-and-swap, so concurrent updates never lose one another and a crash never leaves a
//! half-written file.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::Digest;

/// Largest configuration file read or written.
pub const MAX_CONFIG_BYTES: usize = 4 * 1024 * 1024;

/// Why a file operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The path or content is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The file does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The file changed since it was read.
    #[error("{0}")]
    Conflict(String),
    /// An I/O error.
    #[error("{0}")]
    Io(String),
}

/// Serializes writes so a compare-and-swap is atomic within this server.
static WRITE_LOCK: Mutex<()> = Mutex::new(());

/// Hex sha256 of `bytes`.
pub fn fingerprint(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Checks that `path` is absolute and names a YAML or JSON file; resolves symlinks of an
/// existing file so the link itself is never replaced by a copy.
pub fn config_path(path: &str) -> Result<PathBuf, FileError> {
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(FileError::Invalid(format!(
            "config path {path:?} must be absolute"
        )));
    }
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("yml" | "yaml" | "json")) {
        return Err(FileError::Invalid(format!(
            "config path {path:?} must end in .yml, .yaml or .json"
        )));
    }
    Ok(std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()))
}

/// Reads a config file and its fingerprint.
pub fn read_config(path: &str) -> Result<(String, String), FileError> {
    let p = config_path(path)?;
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FileError::NotFound(format!(
                "config file {} does not exist",
                p.display()
            )));
        }
        Err(e) => return Err(FileError::Io(format!("cannot read {}: {e}", p.display()))),
    };
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(FileError::Invalid(format!(
            "config file {} is {} bytes, more than the {MAX_CONFIG_BYTES} bytes obi-mcp reads",
            p.display(),
            bytes.len()
        )));
    }
    let sha = fingerprint(&bytes);
    let text = String::from_utf8(bytes)
        .map_err(|_| FileError::Invalid(format!("config file {} is not UTF-8", p.display())))?;
    Ok((text, sha))
}

/// Writes `text` to a config file atomically, keeping the previous content as `<path>.bak`.
/// With `expected`, the current fingerprint must match (`""`: the file must not exist).
/// Returns the new fingerprint.
pub fn write_config(path: &str, text: &str, expected: Option<&str>) -> Result<String, FileError> {
    let p = config_path(path)?;
    if text.len() > MAX_CONFIG_BYTES {
        return Err(FileError::Invalid(format!(
            "refusing to write {} bytes of configuration (limit {MAX_CONFIG_BYTES})",
            text.len()
        )));
    }
    match serde_norway::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => {}
        Ok(_) => {
            return Err(FileError::Invalid(
                "refusing to write a configuration that is not a mapping".into(),
            ));
        }
        Err(e) => {
            return Err(FileError::Invalid(format!(
                "refusing to write a configuration that does not parse: {e}"
            )));
        }
    }
    let _guard = WRITE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let current = match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(FileError::Io(format!("cannot read {}: {e}", p.display()))),
    };
    if let Some(expected) = expected {
        let actual = current.as_deref().map(fingerprint).unwrap_or_default();
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(FileError::Conflict(format!(
                "config file {} changed since it was read; read it again and retry",
                p.display()
            )));
        }
    }
    let mode = std::fs::metadata(&p)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    if let Some(old) = &current {
        if old.as_slice() == text.as_bytes() {
            return Ok(fingerprint(old));
        }
        let mut bak = p.as_os_str().to_owned();
        bak.push(".bak");
        write_atomic_mode(Path::new(&bak), old, mode).map_err(|e| {
            FileError::Io(format!("cannot write the backup of {}: {e}", p.display()))
        })?;
    }
    write_atomic_mode(&p, text.as_bytes(), mode)
        .map_err(|e| FileError::Io(format!("cannot write {}: {e}", p.display())))?;
    Ok(fingerprint(text.as_bytes()))
}

/// Temporary file with `mode` in the same directory, fsync, rename, fsync of the directory.
fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        super::procfs::now_ms()
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("obi-mcp-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn write_keeps_a_backup_and_the_mode() {
        let d = dir("backup");
        let p = d.join("obi.yml");
        std::fs::write(&p, "open_port: 80\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let ps = p.to_str().unwrap();
        let (_, sha) = read_config(ps).unwrap();
        write_config(ps, "open_port: 81\n", Some(&sha)).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "open_port: 81\n");
        assert_eq!(
            std::fs::read_to_string(d.join("obi.yml.bak")).unwrap(),
            "open_port: 80\n"
        );
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn stale_fingerprint_is_a_conflict_and_nothing_changes() {
        let d = dir("cas");
        let p = d.join("obi.yaml");
        let ps = p.to_str().unwrap();
        assert_eq!(
            write_config(ps, "a: 1\n", Some("")).unwrap(),
            fingerprint(b"a: 1\n")
        );
        assert!(matches!(
            write_config(ps, "a: 2\n", Some("")),
            Err(FileError::Conflict(_))
        ));
        assert!(matches!(
            write_config(ps, "a: 2\n", Some(&fingerprint(b"other"))),
            Err(FileError::Conflict(_))
        ));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a: 1\n");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn bad_paths_and_contents_are_refused() {
        assert!(matches!(read_config("rel.yml"), Err(FileError::Invalid(_))));
        assert!(matches!(
            read_config("/etc/passwd"),
            Err(FileError::Invalid(_))
        ));
        assert!(matches!(
            read_config("/nonexistent/x.yml"),
            Err(FileError::NotFound(_))
        ));
        let d = dir("bad");
        let ps = d.join("c.yml");
        let ps = ps.to_str().unwrap();
        assert!(matches!(
            write_config(ps, "- a list\n", None),
            Err(FileError::Invalid(_))
        ));
        assert!(matches!(
            write_config(ps, "a: [", None),
            Err(FileError::Invalid(_))
        ));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_symlinked_config_is_written_through_the_link() {
        let d = dir("link");
        let target = d.join("real.yml");
        std::fs::write(&target, "a: 1\n").unwrap();
        let link = d.join("link.yml");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_config(link.to_str().unwrap(), "a: 2\n", None).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "a: 2\n");
        std::fs::remove_dir_all(d).unwrap();
    }
}
