//! System facts for a preflight: kernel, BTF, user, capabilities (of the server and of the
//! binary's file), `perf_event_paranoid`, OS release.

use std::path::Path;

/// Linux capability names by number (`include/uapi/linux/capability.h`), without `cap_`.
const CAP_NAMES: &[&str] = &[
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// The capability names (`cap_bpf`, ...) whose bits are set in `mask`.
pub fn cap_names(mask: u64) -> Vec<String> {
    (0..64)
        .filter(|bit| mask & (1u64 << bit) != 0)
        .map(|bit| match CAP_NAMES.get(bit) {
            Some(name) => format!("cap_{name}"),
            None => format!("cap_{bit}"),
        })
        .collect()
}

/// File capabilities decoded from a `security.capability` xattr (`struct vfs_cap_data`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileCaps {
    /// Permitted set.
    pub permitted: u64,
    /// Whether the effective flag is set (`+ep`).
    pub effective: bool,
}

/// Decodes `struct vfs_cap_data` (revision 1, 2 or 3; little-endian).
pub fn parse_file_caps(bytes: &[u8]) -> Option<FileCaps> {
    let word = |i: usize| -> Option<u32> {
        let b = bytes.get(i * 4..i * 4 + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let magic = word(0)?;
    let effective = magic & 0x0000_0001 != 0;
    let permitted = match magic & 0xFF00_0000 {
        0x0100_0000 => word(1)? as u64,
        0x0200_0000 | 0x0300_0000 => word(1)? as u64 | ((word(3)? as u64) << 32),
        _ => return None,
    };
    Some(FileCaps {
        permitted,
        effective,
    })
}

/// Reads a file's capabilities; `None` when it has none (or they cannot be read).
pub fn read_file_caps(path: &Path) -> Option<FileCaps> {
    use std::os::unix::ffi::OsStrExt;
    let cpath = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let name = c"security.capability";
    let mut buf = [0u8; 64];
    // SAFETY: both strings are NUL-terminated and outlive the call; the buffer pointer and
    // length describe a writable local array.
    let n = unsafe {
        libc::getxattr(
            cpath.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n <= 0 {
        return None;
    }
    parse_file_caps(&buf[..n as usize])
}

/// The effective capability mask of this process (`CapEff` in `/proc/self/status`).
pub fn own_effective_caps() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

/// `KEY=value` pairs of an os-release file, quotes removed.
pub fn parse_os_release(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                return None;
            }
            let (k, v) = l.split_once('=')?;
            let v = v.trim().trim_matches('"').trim_matches('\'');
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

/// Everything a preflight needs, gathered from this host.
#[derive(Debug, Clone, Default)]
pub struct SystemFacts {
    /// `uname -r`.
    pub kernel_release: String,
    /// `/sys/kernel/btf/vmlinux` exists.
    pub btf: bool,
    /// Effective uid.
    pub euid: u32,
    /// The server's effective capabilities.
    pub server_capabilities: Vec<String>,
    /// The binary's permitted file capabilities.
    pub binary_capabilities: Vec<String>,
    /// The binary's file capabilities carry the effective flag.
    pub binary_capabilities_effective: bool,
    /// `/proc/sys/kernel/perf_event_paranoid`.
    pub perf_event_paranoid: Option<i32>,
    /// os-release `ID`.
    pub os_id: Option<String>,
    /// os-release `ID_LIKE`.
    pub os_id_like: Option<String>,
    /// os-release `VERSION_ID`.
    pub os_version: Option<String>,
    /// os-release `PRETTY_NAME`.
    pub os_pretty_name: Option<String>,
    /// CPU architecture.
    pub arch: String,
}

/// Gathers the facts; `binary` adds its file capabilities.
pub fn gather(binary: Option<&Path>) -> SystemFacts {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    let os = read("/etc/os-release")
        .or_else(|| read("/usr/lib/os-release"))
        .map(|t| parse_os_release(&t))
        .unwrap_or_default();
    let os_get = |k: &str| os.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let caps = binary.and_then(read_file_caps).unwrap_or_default();
    SystemFacts {
        kernel_release: read("/proc/sys/kernel/osrelease").unwrap_or_default(),
        btf: Path::new("/sys/kernel/btf/vmlinux").exists(),
        // SAFETY: geteuid has no preconditions and cannot fail.
        euid: unsafe { libc::geteuid() },
        server_capabilities: cap_names(own_effective_caps()),
        binary_capabilities: cap_names(caps.permitted),
        binary_capabilities_effective: caps.effective,
        perf_event_paranoid: read("/proc/sys/kernel/perf_event_paranoid")
            .and_then(|v| v.parse().ok()),
        os_id: os_get("ID"),
        os_id_like: os_get("ID_LIKE"),
        os_version: os_get("VERSION_ID"),
        os_pretty_name: os_get("PRETTY_NAME"),
        arch: std::env::consts::ARCH.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setcap_of_the_documented_obi_set_decodes() {
        // `setcap cap_bpf,cap_checkpoint_restore,cap_dac_read_search,cap_perfmon,cap_net_raw,cap_sys_ptrace+ep`
        // stored as revision 2: magic 0x02000001, permitted lo/hi, inheritable lo/hi.
        let lo: u32 = (1 << 2) | (1 << 13) | (1 << 19);
        let hi: u32 = (1 << (38 - 32)) | (1 << (39 - 32)) | (1 << (40 - 32));
        let mut bytes = Vec::new();
        for w in [0x0200_0001u32, lo, 0, hi, 0] {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        let caps = parse_file_caps(&bytes).unwrap();
        assert!(caps.effective);
        assert_eq!(
            cap_names(caps.permitted),
            vec![
                "cap_dac_read_search",
                "cap_net_raw",
                "cap_sys_ptrace",
                "cap_perfmon",
                "cap_bpf",
                "cap_checkpoint_restore"
            ]
        );
    }

    #[test]
    fn unknown_revision_and_short_data_are_rejected() {
        assert_eq!(parse_file_caps(&[0, 0, 0, 0x09, 1, 0, 0, 0]), None);
        assert_eq!(parse_file_caps(&[1, 0]), None);
    }

    #[test]
    fn os_release_is_parsed_with_quotes_removed() {
        let kv = parse_os_release("# c\nID=rhel\nID_LIKE=\"fedora\"\nVERSION_ID=\"8.9\"\n");
        assert_eq!(kv[0], ("ID".into(), "rhel".into()));
        assert_eq!(kv[1], ("ID_LIKE".into(), "fedora".into()));
        assert_eq!(kv[2], ("VERSION_ID".into(), "8.9".into()));
    }

    #[test]
    fn facts_of_this_host_are_plausible() {
        let f = gather(Some(Path::new("/bin/sh")));
        assert!(!f.kernel_release.is_empty());
        assert!(!f.arch.is_empty());
    }
}
