//! Reading `/proc`: process identity (pid + start time + executable), usage, boot time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The fields of `/proc/<pid>/stat` obi-mcp uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// Process id.
    pub pid: u32,
    /// Command name (field 2, without parentheses).
    pub comm: String,
    /// State letter (`R`, `S`, `Z`, ...).
    pub state: char,
    /// User-mode CPU time, clock ticks.
    pub utime: u64,
    /// Kernel-mode CPU time, clock ticks.
    pub stime: u64,
    /// Number of threads.
    pub threads: u32,
    /// Start time, clock ticks since boot (field 22).
    pub start_ticks: u64,
    /// Resident set size, pages.
    pub rss_pages: u64,
}

impl Stat {
    /// Whether the process has ended but not been reaped (or is being torn down).
    pub fn is_dead(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses the text of `/proc/<pid>/stat`. The command name may contain spaces and parentheses,
/// so fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let comm = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // rest[i] is field i + 3 of proc(5).
    let field = |n: usize| rest.get(n - 3).copied();
    Some(Stat {
        pid,
        comm,
        state: field(3)?.chars().next()?,
        utime: field(14)?.parse().ok()?,
        stime: field(15)?.parse().ok()?,
        threads: field(20)?.parse().ok()?,
        start_ticks: field(22)?.parse().ok()?,
        rss_pages: field(24)?.parse().ok()?,
    })
}

/// `/proc/<pid>/stat`, or `None` when there is no such process.
pub fn read_stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// The canonical path of a process's executable (`/proc/<pid>/exe`), without the
/// ` (deleted)` the kernel appends when the file was replaced since.
pub fn read_exe(pid: u32) -> std::io::Result<PathBuf> {
    let link = std::fs::read_link(format!("/proc/{pid}/exe"))?;
    let s = link.to_string_lossy();
    Ok(match s.strip_suffix(" (deleted)") {
        Some(stripped) => PathBuf::from(stripped),
        None => link,
    })
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 { v as u64 } else { 100 }
}

/// Page size in bytes.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 { v as u64 } else { 4096 }
}

/// Boot time, seconds since the Unix epoch (`btime` in `/proc/stat`).
pub fn boot_time_secs() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Milliseconds the process has been running, from its start ticks and the system uptime.
pub fn uptime_ms(start_ticks: u64) -> u64 {
    let hz = ticks_per_second();
    let up = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    let started = start_ticks as f64 / hz as f64;
    ((up - started).max(0.0) * 1000.0) as u64
}

/// What a recorded process is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The same process, alive.
    Same(Stat),
    /// No process with that pid, or it ended and awaits reaping.
    Gone,
    /// The pid belongs to another process; the message says what differs.
    Replaced(String),
}

/// Checks whether `pid` is still the process started at `start_ticks` from `executable`.
pub fn identify(pid: u32, start_ticks: u64, executable: &Path) -> Identity {
    let Some(stat) = read_stat(pid) else {
        return Identity::Gone;
    };
    if stat.start_ticks != start_ticks {
        return Identity::Replaced(format!(
            "pid {pid} now belongs to another process (\"{}\", started at tick {} instead of {start_ticks})",
            stat.comm, stat.start_ticks
        ));
    }
    if stat.is_dead() {
        return Identity::Gone;
    }
    match read_exe(pid) {
        Ok(exe) if exe == executable => Identity::Same(stat),
        Ok(exe) => Identity::Replaced(format!(
            "pid {pid} runs {} instead of {}",
            exe.display(),
            executable.display()
        )),
        Err(e) => {
            // An exiting process loses its exe link before it becomes a zombie (its memory is
            // released first in do_exit); give it a moment to finish exiting before calling it
            // something else.
            for _ in 0..20 {
                match read_stat(pid) {
                    Some(s) if s.start_ticks == start_ticks && !s.is_dead() => {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    _ => return Identity::Gone,
                }
            }
            Identity::Replaced(format!(
                "cannot verify the executable of pid {pid} ({e}); not adopting it"
            ))
        }
    }
}

/// Resident memory of a process, bytes.
pub fn rss_bytes(stat: &Stat) -> u64 {
    stat.rss_pages * page_size()
}

/// CPU samples: (pid, start ticks) -> (when, utime + stime).
type Samples = HashMap<(u32, u64), (Instant, u64)>;

/// Previous CPU samples, so CPU % covers the time since the last look.
static SAMPLES: Mutex<Option<Samples>> = Mutex::new(None);

/// CPU use in percent of one core: since the previous sample of this process when there is one
/// at least 100 ms old, else averaged since the process started.
pub fn cpu_percent(stat: &Stat) -> f64 {
    let hz = ticks_per_second() as f64;
    let total = stat.utime + stat.stime;
    let now = Instant::now();
    let key = (stat.pid, stat.start_ticks);
    let mut guard = SAMPLES.lock().unwrap_or_else(|p| p.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    let previous = map.get(&key).copied();
    let result = match previous {
        Some((at, ticks)) if now.duration_since(at) >= Duration::from_millis(100) => {
            let secs = now.duration_since(at).as_secs_f64();
            (total.saturating_sub(ticks) as f64 / hz) / secs * 100.0
        }
        _ => {
            let up = uptime_ms(stat.start_ticks) as f64 / 1000.0;
            if up > 0.0 {
                (total as f64 / hz) / up * 100.0
            } else {
                0.0
            }
        }
    };
    if previous.is_none_or(|(at, _)| now.duration_since(at) >= Duration::from_millis(100)) {
        if map.len() > 1024 {
            map.clear();
        }
        map.insert(key, (now, total));
    }
    (result * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_and_parens_in_the_name_parses() {
        let text = "4242 (my (odd) obi) S 1 4242 4242 0 -1 4194560 200 0 0 0 15 7 0 0 20 0 9 0 123456 1000000 2500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let s = parse_stat(text).unwrap();
        assert_eq!(s.pid, 4242);
        assert_eq!(s.comm, "my (odd) obi");
        assert_eq!(s.state, 'S');
        assert_eq!((s.utime, s.stime), (15, 7));
        assert_eq!(s.threads, 9);
        assert_eq!(s.start_ticks, 123456);
        assert_eq!(s.rss_pages, 2500);
    }

    #[test]
    fn truncated_stat_is_rejected() {
        assert_eq!(parse_stat("12 (x) S 1 2"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn own_process_is_identified_and_a_wrong_start_time_is_not() {
        let pid = std::process::id();
        let stat = read_stat(pid).unwrap();
        let exe = read_exe(pid).unwrap();
        assert!(matches!(
            identify(pid, stat.start_ticks, &exe),
            Identity::Same(_)
        ));
        assert!(matches!(
            identify(pid, stat.start_ticks + 1, &exe),
            Identity::Replaced(_)
        ));
        assert!(matches!(
            identify(pid, stat.start_ticks, Path::new("/usr/bin/obi")),
            Identity::Replaced(m) if m.contains("instead of /usr/bin/obi")
        ));
        assert!(rss_bytes(&stat) > 0);
        assert!(cpu_percent(&stat) >= 0.0);
    }

    #[test]
    fn missing_pid_is_gone() {
        assert_eq!(
            identify(u32::MAX - 1, 1, Path::new("/bin/true")),
            Identity::Gone
        );
    }
}
