//! Log files: reading matching lines from the end without reading the file whole, OBI's
//! slog levels (`level=WARN` text, `"level":"WARN"` JSON) and times, and size rotation.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Most bytes one read scans before giving up (the rest of the file is older).
pub const MAX_SCAN_BYTES: u64 = 64 * 1024 * 1024;
/// Most lines one read returns.
pub const MAX_LINES: u32 = 10_000;
/// Longest line returned (longer lines are cut).
pub const MAX_LINE_BYTES: usize = 16 * 1024;
const CHUNK: usize = 256 * 1024;

/// Severity of a log line, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// DEBUG.
    Debug,
    /// INFO.
    Info,
    /// WARN.
    Warn,
    /// ERROR.
    Error,
}

impl Level {
    /// Parses `DEBUG`, `INFO`, `WARN`/`WARNING`, `ERROR` (any case; slog's `WARN+2` counts as WARN).
    pub fn parse(s: &str) -> Option<Level> {
        let s = s.trim_matches('"');
        let base = s.split(['+', '-']).next().unwrap_or(s);
        match base.to_ascii_uppercase().as_str() {
            "DEBUG" | "TRACE" => Some(Level::Debug),
            "INFO" => Some(Level::Info),
            "WARN" | "WARNING" => Some(Level::Warn),
            "ERROR" | "FATAL" | "PANIC" => Some(Level::Error),
            _ => None,
        }
    }
}

/// The value of `key` in a slog text line (`key=value` or `key="quoted value"`) or a JSON line
/// (`"key":"value"`).
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let json_key = format!("\"{key}\":");
    if let Some(i) = line.find(&json_key) {
        let rest = line[i + json_key.len()..].trim_start();
        let rest = rest.strip_prefix('"')?;
        return rest.split('"').next();
    }
    let text_key = format!("{key}=");
    let mut search = 0;
    while let Some(off) = line[search..].find(&text_key) {
        let i = search + off;
        if i == 0 || line.as_bytes()[i - 1] == b' ' {
            let rest = &line[i + text_key.len()..];
            return Some(match rest.strip_prefix('"') {
                Some(q) => q.split('"').next().unwrap_or(q),
                None => rest.split(' ').next().unwrap_or(rest),
            });
        }
        search = i + text_key.len();
    }
    None
}

/// The level of a line, if it has one.
pub fn line_level(line: &str) -> Option<Level> {
    field(line, "level").and_then(Level::parse)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an RFC 3339 time (`2026-01-27T17:21:20.197Z`, `...+01:00`) to milliseconds since
/// the Unix epoch.
pub fn parse_rfc3339_ms(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &s[start..i];
        let padded: String = frac.chars().chain("000".chars()).take(3).collect();
        ms = padded.parse().ok()?;
    }
    let offset_secs = match b.get(i)? {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let v = oh * 3600 + om * 60;
            if *sign == b'+' { v } else { -v }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset_secs;
    let total = secs * 1000 + ms;
    (total >= 0).then_some(total as u64)
}

/// Filters for [`tail`].
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// At most this many lines.
    pub lines: u32,
    /// Only lines at this level or above (lines without a level are left out).
    pub min_level: Option<Level>,
    /// Only lines with a `time` at or after this (lines without a time are kept).
    pub since_ms: Option<u64>,
    /// Only lines containing this.
    pub grep: Option<String>,
    /// Scan at most this many bytes (0 or more than [`MAX_SCAN_BYTES`]: [`MAX_SCAN_BYTES`]).
    pub max_scan_bytes: u64,
}

/// The result of [`tail`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// Matching lines, oldest first.
    pub lines: Vec<String>,
    /// Bytes scanned.
    pub scanned_bytes: u64,
    /// File size.
    pub file_bytes: u64,
    /// Scanning stopped at [`MAX_SCAN_BYTES`].
    pub truncated: bool,
}

fn matches(line: &str, q: &Query) -> bool {
    if let Some(min) = q.min_level {
        match line_level(line) {
            Some(l) if l >= min => {}
            _ => return false,
        }
    }
    if let Some(g) = &q.grep
        && !line.contains(g.as_str())
    {
        return false;
    }
    true
}

/// Reads matching lines from the end of `path`, in chunks, newest first, until `q.lines` match,
/// a line older than `q.since_ms` is reached, or [`MAX_SCAN_BYTES`] were scanned.
pub fn tail(path: &Path, q: &Query) -> std::io::Result<Page> {
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let want = q.lines.clamp(1, MAX_LINES) as usize;
    let mut found: Vec<String> = Vec::new();
    let mut pos = size;
    let mut carry: Vec<u8> = Vec::new(); // the start of a line whose beginning is further back
    let mut scanned = 0u64;
    let mut done = false;
    let limit = match q.max_scan_bytes {
        0 => MAX_SCAN_BYTES,
        n => n.min(MAX_SCAN_BYTES),
    };
    let mut buf = vec![0u8; CHUNK];
    let take = |bytes: &[u8], found: &mut Vec<String>| -> bool {
        // Returns true to stop.
        let text = String::from_utf8_lossy(bytes);
        let line = text.trim_end_matches('\r');
        if line.is_empty() {
            return false;
        }
        if let Some(since) = q.since_ms
            && let Some(t) = field(line, "time").and_then(parse_rfc3339_ms)
            && t < since
        {
            return true;
        }
        if matches(line, q) {
            let mut l = line.to_string();
            if l.len() > MAX_LINE_BYTES {
                let mut cut = MAX_LINE_BYTES;
                while !l.is_char_boundary(cut) {
                    cut -= 1;
                }
                l.truncate(cut);
                l.push_str(" …");
            }
            found.push(l);
        }
        found.len() >= want
    };
    while pos > 0 && !done {
        if scanned >= limit {
            break;
        }
        let n = (pos as usize).min(CHUNK).min(limit as usize);
        pos -= n as u64;
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut buf[..n])?;
        scanned += n as u64;
        let mut chunk = buf[..n].to_vec();
        chunk.extend_from_slice(&carry);
        // Every complete line in `chunk` except the first (which may continue further back).
        let mut end = chunk.len();
        let mut lines_rev: Vec<(usize, usize)> = Vec::new();
        for i in (0..chunk.len()).rev() {
            if chunk[i] == b'\n' {
                lines_rev.push((i + 1, end));
                end = i;
            }
        }
        for (s, e) in lines_rev {
            if take(&chunk[s..e], &mut found) {
                done = true;
                break;
            }
        }
        carry = chunk[..end].to_vec();
        if carry.len() > MAX_LINE_BYTES * 64 {
            carry.truncate(MAX_LINE_BYTES * 64);
        }
    }
    if !done && pos == 0 && !carry.is_empty() {
        take(&carry, &mut found);
    }
    found.reverse();
    Ok(Page {
        lines: found,
        scanned_bytes: scanned,
        file_bytes: size,
        truncated: !done && pos > 0,
    })
}

/// When `path` is larger than `max_bytes`, copies it to `<path>.1` (replacing an older one) and
/// truncates it, so a writer holding it open with `O_APPEND` continues at the start.
pub fn rotate_if_larger(path: &Path, max_bytes: u64) -> std::io::Result<bool> {
    let size = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if size <= max_bytes {
        return Ok(false);
    }
    let mut rotated = path.as_os_str().to_owned();
    rotated.push(".1");
    std::fs::copy(path, &rotated)?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .set_len(0)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tmp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("obi-mcp-logs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn levels_of_text_and_json_lines() {
        assert_eq!(
            line_level(
                r#"time=2026-01-27T17:21:20.197Z level=WARN msg="Required system capabilities not present""#
            ),
            Some(Level::Warn)
        );
        assert_eq!(
            line_level(r#"{"time":"2026-01-27T17:21:20Z","level":"ERROR","msg":"x"}"#),
            Some(Level::Error)
        );
        assert_eq!(line_level("msg=\"level=ERROR inside\""), None);
        assert_eq!(line_level("panic: boom"), None);
        assert_eq!(Level::parse("WARN+2"), Some(Level::Warn));
    }

    #[test]
    fn rfc3339_times_parse_with_offsets() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(
            parse_rfc3339_ms("2026-01-27T17:21:20.197Z"),
            Some(1_769_534_480_197)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-01-27T18:21:20.197+01:00"),
            Some(1_769_534_480_197)
        );
        assert_eq!(parse_rfc3339_ms("yesterday"), None);
    }

    #[test]
    fn tail_filters_by_level_grep_and_since() {
        let p = tmp("filters.log");
        let mut f = std::fs::File::create(&p).unwrap();
        for i in 0..100 {
            let level = if i % 10 == 0 { "ERROR" } else { "INFO" };
            writeln!(
                f,
                "time=1970-01-01T00:{:02}:{:02}Z level={level} msg=\"line {i}\"",
                i / 60,
                i % 60
            )
            .unwrap();
        }
        drop(f);
        let page = tail(
            &p,
            &Query {
                lines: 3,
                min_level: Some(Level::Error),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(page.lines.len(), 3);
        assert!(page.lines[0].contains("line 70") && page.lines[2].contains("line 90"));
        let page = tail(
            &p,
            &Query {
                lines: 100,
                grep: Some("line 4".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(page.lines.len(), 11); // 4 and 40..49
        let page = tail(
            &p,
            &Query {
                lines: 1000,
                since_ms: Some(50_000),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(page.lines.len(), 50, "{:?}", page.lines);
        assert!(page.lines[0].contains("line 50"));
    }

    #[test]
    fn tail_reads_across_chunks_and_keeps_a_last_line_without_newline() {
        let p = tmp("chunks.log");
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!("level=INFO msg=\"entry {i:05}\"\n"));
        }
        text.push_str("level=ERROR msg=\"unterminated\"");
        std::fs::write(&p, &text).unwrap();
        let page = tail(
            &p,
            &Query {
                lines: 20_000,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(page.lines.len(), MAX_LINES as usize);
        assert!(page.lines.last().unwrap().contains("unterminated"));
        let all = tail(
            &p,
            &Query {
                lines: 10_000,
                grep: Some("entry 00000".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(all.lines, vec!["level=INFO msg=\"entry 00000\""]);
        assert!(!all.truncated);
        assert_eq!(all.scanned_bytes, all.file_bytes);
    }

    #[test]
    fn scanning_stops_at_the_requested_limit() {
        let p = tmp("limit.log");
        let mut text = String::from("level=ERROR msg=\"old\"\n");
        text.push_str(&"level=INFO msg=\"filler\"\n".repeat(100_000));
        std::fs::write(&p, &text).unwrap();
        let q = |max_scan_bytes| Query {
            lines: 5,
            min_level: Some(Level::Error),
            max_scan_bytes,
            ..Default::default()
        };
        let bounded = tail(&p, &q(64 * 1024)).unwrap();
        assert!(bounded.lines.is_empty());
        assert!(bounded.truncated);
        assert_eq!(bounded.scanned_bytes, 64 * 1024);
        let full = tail(&p, &q(0)).unwrap();
        assert_eq!(full.lines, vec!["level=ERROR msg=\"old\""]);
    }

    #[test]
    fn rotation_copies_and_truncates() {
        let p = tmp("rotate.log");
        std::fs::write(&p, vec![b'x'; 2048]).unwrap();
        assert!(!rotate_if_larger(&p, 4096).unwrap());
        assert!(rotate_if_larger(&p, 1024).unwrap());
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 0);
        let mut r = p.as_os_str().to_owned();
        r.push(".1");
        assert_eq!(std::fs::metadata(&r).unwrap().len(), 2048);
    }
}
