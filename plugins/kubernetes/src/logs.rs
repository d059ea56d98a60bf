//! Merging the logs of many OBI pods: lines carry the kubelet's RFC 3339 timestamp
//! (`timestamps: true`), are filtered by OBI's level (Go slog text `level=WARN` or JSON
//! `"level":"WARN"`), a substring and age, merged in timestamp order, and only the newest
//! `limit` are kept. Pure; lines are borrowed from the pods' outputs until the end.

use schemars::JsonSchema;
use serde::Serialize;

/// Total bytes of log fetched per call, spread over the pods.
pub const TOTAL_BYTES: u64 = 8 * 1024 * 1024;
/// Least bytes asked of one pod.
pub const MIN_POD_BYTES: u32 = 16 * 1024;
/// Most bytes asked of one pod (the host's own limit).
pub const MAX_POD_BYTES: u32 = 1024 * 1024;
/// Bytes allowed per requested line when sizing a pod's request.
const BYTES_PER_LINE: u64 = 1024;

/// OBI's log levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `DEBUG`.
    Debug,
    /// `INFO`.
    Info,
    /// `WARN`.
    Warn,
    /// `ERROR`.
    Error,
}

impl Level {
    /// Parses `debug`, `INFO`, `warning`, `err`, ...
    pub fn parse(text: &str) -> Option<Level> {
        match text.trim().to_ascii_uppercase().as_str() {
            "DEBUG" | "TRACE" => Some(Level::Debug),
            "INFO" => Some(Level::Info),
            "WARN" | "WARNING" => Some(Level::Warn),
            "ERROR" | "ERR" | "FATAL" | "PANIC" => Some(Level::Error),
            _ => None,
        }
    }

    /// `DEBUG`, `INFO`, `WARN` or `ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

/// The level of an OBI log line (without the kubelet timestamp), if it has one. Go panics and
/// fatal errors count as `ERROR`.
pub fn line_level(text: &str) -> Option<Level> {
    if let Some(i) = text.find("level=") {
        let rest = &text[i + 6..];
        let rest = rest.strip_prefix('"').unwrap_or(rest);
        let end = rest.find([' ', '"', '+', '-']).unwrap_or(rest.len());
        return Level::parse(&rest[..end]);
    }
    if let Some(i) = text.find("\"level\":") {
        let rest = text[i + 8..].trim_start();
        let rest = rest.strip_prefix('"')?;
        let end = rest.find('"')?;
        return Level::parse(&rest[..end]);
    }
    if text.starts_with("panic:") || text.starts_with("fatal error:") {
        return Some(Level::Error);
    }
    None
}

/// Nanoseconds since the Unix epoch of an RFC 3339 timestamp (`2026-01-27T17:21:20.197Z`,
/// offsets allowed).
pub fn parse_rfc3339(ts: &str) -> Option<i128> {
    let b = ts.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| ts.get(r)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut nanos: i128 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &ts[start..i];
        let mut n: i128 = 0;
        for (k, d) in digits.bytes().enumerate() {
            if k < 9 {
                n = n * 10 + i128::from(d - b'0');
            }
        }
        for _ in digits.len()..9 {
            n *= 10;
        }
        nanos = n;
    }
    let offset_s: i64 = match b.get(i)? {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let h = num(i + 1..i + 3)?;
            let m = num(i + 4..i + 6)?;
            let o = h * 3600 + m * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    // days from civil (Howard Hinnant's algorithm)
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// Parses an age such as `30s`, `5m`, `1h`, `2d` or `1h30m` into seconds.
pub fn parse_since(text: &str) -> Option<u32> {
    let mut total: u64 = 0;
    let mut num = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return None,
        };
        any = true;
    }
    if !num.is_empty() || !any {
        return None;
    }
    u32::try_from(total).ok().filter(|s| *s > 0)
}

/// Bytes to ask of each pod so a batch of `pods` pods stays within [`TOTAL_BYTES`] while `tail`
/// lines fit.
pub fn per_pod_bytes(pods: usize, tail: u32) -> u32 {
    let wanted = u64::from(tail.max(1)) * BYTES_PER_LINE;
    let share = TOTAL_BYTES / pods.max(1) as u64;
    wanted
        .min(share)
        .clamp(u64::from(MIN_POD_BYTES), u64::from(MAX_POD_BYTES)) as u32
}

/// One pod's log output (with timestamps).
pub struct PodLog<'a> {
    /// Pod name.
    pub pod: &'a str,
    /// Node name.
    pub node: &'a str,
    /// The output.
    pub text: &'a str,
}

/// Which lines to keep.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// This level or above.
    pub min_level: Option<Level>,
    /// Lines containing this text (case-sensitive).
    pub grep: Option<String>,
    /// Keep the newest this many.
    pub limit: usize,
}

/// One merged line.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct LogLine {
    /// Pod.
    pub pod: String,
    /// Node.
    pub node: String,
    /// The kubelet's timestamp (RFC 3339), empty when the line had none.
    pub time: String,
    /// OBI's level, when the line has one.
    pub level: Option<String>,
    /// The line without the timestamp.
    pub text: String,
}

/// The merge's outcome.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    /// The newest matching lines, oldest first.
    pub lines: Vec<LogLine>,
    /// Lines that matched the filter (before the limit).
    pub matched: usize,
}

struct Entry<'a> {
    at: i128,
    pod: usize,
    seq: usize,
    time: &'a str,
    level: Option<Level>,
    text: &'a str,
}

/// Filters and merges the pods' lines in timestamp order, keeping the newest `limit`.
pub fn merge(pods: &[PodLog], filter: &Filter) -> Merged {
    let mut merger = Merger::new(filter.clone());
    merger.add(pods);
    merger.finish()
}

/// Pods whose logs are fetched and merged at a time: memory stays bounded by one batch (at most
/// [`TOTAL_BYTES`] of log text) plus the `limit` lines kept, however many pods there are.
pub const BATCH_PODS: usize = 128;

/// Merges pod logs batch by batch, keeping only the newest `limit` matching lines.
pub struct Merger {
    filter: Filter,
    /// (timestamp in ns, arrival order, line).
    kept: Vec<(i128, u64, LogLine)>,
    matched: usize,
    seq: u64,
}

impl Merger {
    /// An empty merger.
    pub fn new(filter: Filter) -> Merger {
        Merger {
            filter,
            kept: Vec::new(),
            matched: 0,
            seq: 0,
        }
    }

    /// Adds one batch of pod logs.
    pub fn add(&mut self, pods: &[PodLog]) {
        let filter = &self.filter;
        let mut entries: Vec<Entry> = Vec::new();
        for (p, log) in pods.iter().enumerate() {
            let mut last_at = i128::MIN;
            for (seq, raw) in log.text.lines().enumerate() {
                if raw.is_empty() {
                    continue;
                }
                let (time, text, at) = match raw.split_once(' ') {
                    Some((ts, rest)) => match parse_rfc3339(ts) {
                        Some(at) => (ts, rest, at),
                        None => ("", raw, last_at),
                    },
                    None => match parse_rfc3339(raw) {
                        Some(at) => (raw, "", at),
                        None => ("", raw, last_at),
                    },
                };
                last_at = at;
                let level = line_level(text);
                if let Some(min) = filter.min_level
                    && level.is_none_or(|l| l < min)
                {
                    continue;
                }
                if let Some(g) = &filter.grep
                    && !text.contains(g.as_str())
                {
                    continue;
                }
                entries.push(Entry {
                    at,
                    pod: p,
                    seq,
                    time,
                    level,
                    text,
                });
            }
        }
        self.matched += entries.len();
        entries.sort_unstable_by_key(|e| (e.at, e.pod, e.seq));
        let skip = entries.len().saturating_sub(filter.limit);
        for e in &entries[skip..] {
            self.kept.push((
                e.at,
                self.seq,
                LogLine {
                    pod: pods[e.pod].pod.to_string(),
                    node: pods[e.pod].node.to_string(),
                    time: e.time.to_string(),
                    level: e.level.map(|l| l.as_str().to_string()),
                    text: e.text.to_string(),
                },
            ));
            self.seq += 1;
        }
        if self.kept.len() > self.filter.limit.saturating_mul(2).max(1024) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        self.kept.sort_unstable_by_key(|(at, seq, _)| (*at, *seq));
        let skip = self.kept.len().saturating_sub(self.filter.limit);
        self.kept.drain(..skip);
    }

    /// The newest `limit` matching lines of every batch, oldest first.
    pub fn finish(mut self) -> Merged {
        self.trim();
        Merged {
            lines: self.kept.into_iter().map(|(_, _, l)| l).collect(),
            matched: self.matched,
        }
    }
}

/// The merged lines as text, one per line: `<time> <pod> <text>`.
pub fn render(lines: &[LogLine]) -> String {
    let mut out = String::with_capacity(lines.iter().map(|l| l.text.len() + 60).sum());
    for l in lines {
        out.push_str(&l.time);
        out.push(' ');
        out.push_str(&l.pod);
        out.push(' ');
        out.push_str(&l.text);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_of_slog_text_and_json() {
        assert_eq!(
            line_level("time=2026-01-27T17:21:20.197Z level=WARN msg=\"x\""),
            Some(Level::Warn)
        );
        assert_eq!(
            line_level(r#"{"time":"2026-01-27T17:21:20Z","level":"ERROR","msg":"boom"}"#),
            Some(Level::Error)
        );
        assert_eq!(line_level("level=DEBUG+2 msg=x"), Some(Level::Debug));
        assert_eq!(line_level("panic: runtime error"), Some(Level::Error));
        assert_eq!(line_level("goroutine 1 [running]:"), None);
        assert_eq!(Level::parse("warning"), Some(Level::Warn));
    }

    #[test]
    fn rfc3339_timestamps_order_across_offsets() {
        let a = parse_rfc3339("2026-01-27T17:21:20.197123456Z").unwrap();
        let b = parse_rfc3339("2026-01-27T18:21:20.197123457+01:00").unwrap();
        assert_eq!(b - a, 1);
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(
            parse_rfc3339("2026-01-27T17:21:20.5Z").unwrap() % 1_000_000_000,
            500_000_000
        );
        assert_eq!(parse_rfc3339("not a time"), None);
    }

    #[test]
    fn merging_in_batches_equals_merging_at_once() {
        let texts: Vec<String> = (0..6)
            .map(|p| {
                (0..50)
                    .map(|i| {
                        format!(
                            "2026-01-27T17:{:02}:{:02}.{p}00Z time=x level={} msg=m{i}\n",
                            i / 60,
                            i % 60,
                            if i % 7 == 0 { "ERROR" } else { "INFO" }
                        )
                    })
                    .collect()
            })
            .collect();
        let names: Vec<String> = (0..6).map(|p| format!("obi-{p}")).collect();
        let pods: Vec<PodLog> = texts
            .iter()
            .zip(&names)
            .map(|(t, n)| PodLog {
                pod: n,
                node: "n",
                text: t,
            })
            .collect();
        for filter in [
            Filter {
                limit: 17,
                ..Default::default()
            },
            Filter {
                limit: 5,
                min_level: Some(Level::Error),
                grep: None,
            },
        ] {
            let at_once = merge(&pods, &filter);
            let mut m = Merger::new(filter.clone());
            for batch in pods.chunks(4) {
                m.add(batch);
            }
            let batched = m.finish();
            assert_eq!(batched.matched, at_once.matched);
            assert_eq!(batched.lines, at_once.lines);
            assert_eq!(batched.lines.len(), filter.limit.min(at_once.matched));
        }
    }

    #[test]
    fn since_durations() {
        assert_eq!(parse_since("30s"), Some(30));
        assert_eq!(parse_since("5m"), Some(300));
        assert_eq!(parse_since("1h30m"), Some(5400));
        assert_eq!(parse_since("2d"), Some(172800));
        assert_eq!(parse_since("5"), None);
        assert_eq!(parse_since("5x"), None);
        assert_eq!(parse_since(""), None);
    }

    #[test]
    fn per_pod_budget_is_bounded() {
        assert_eq!(per_pod_bytes(1, 100), 100 * 1024);
        assert_eq!(per_pod_bytes(1, 100_000), MAX_POD_BYTES);
        assert_eq!(per_pod_bytes(BATCH_PODS, 100), 64 * 1024);
        assert_eq!(per_pod_bytes(100_000, 100), MIN_POD_BYTES);
        assert!(u64::from(per_pod_bytes(BATCH_PODS, 100)) * BATCH_PODS as u64 <= TOTAL_BYTES);
    }

    const A: &str = "2026-01-27T17:21:20.100Z time=2026-01-27T17:21:20.100Z level=INFO msg=\"starting\"\n\
                     2026-01-27T17:21:22.000Z time=2026-01-27T17:21:22.000Z level=ERROR msg=\"cannot attach\"\n\
                     2026-01-27T17:21:24.000Z time=2026-01-27T17:21:24.000Z level=DEBUG msg=\"tick\"\n";
    const B: &str = "2026-01-27T17:21:21.000Z {\"time\":\"2026-01-27T17:21:21Z\",\"level\":\"WARN\",\"msg\":\"kubernetes cache has not been synced\"}\n\
                     2026-01-27T17:21:23.000Z {\"level\":\"INFO\",\"msg\":\"instrumenting\"}\n";

    fn pods() -> Vec<PodLog<'static>> {
        vec![
            PodLog {
                pod: "obi-a",
                node: "n1",
                text: A,
            },
            PodLog {
                pod: "obi-b",
                node: "n2",
                text: B,
            },
        ]
    }

    fn texts(m: &Merged) -> Vec<(&str, Option<&str>)> {
        m.lines
            .iter()
            .map(|l| (l.pod.as_str(), l.level.as_deref()))
            .collect()
    }

    #[test]
    fn lines_merge_in_timestamp_order() {
        let m = merge(
            &pods(),
            &Filter {
                limit: 100,
                ..Filter::default()
            },
        );
        assert_eq!(
            texts(&m),
            [
                ("obi-a", Some("INFO")),
                ("obi-b", Some("WARN")),
                ("obi-a", Some("ERROR")),
                ("obi-b", Some("INFO")),
                ("obi-a", Some("DEBUG")),
            ]
        );
        assert_eq!(m.lines[0].time, "2026-01-27T17:21:20.100Z");
        assert!(m.lines[0].text.starts_with("time="));
        assert_eq!(m.lines[1].node, "n2");
        assert_eq!(
            render(&m.lines[..1]),
            "2026-01-27T17:21:20.100Z obi-a time=2026-01-27T17:21:20.100Z level=INFO msg=\"starting\"\n"
        );
    }

    #[test]
    fn level_means_this_level_or_above() {
        let m = merge(
            &pods(),
            &Filter {
                min_level: Some(Level::Warn),
                limit: 100,
                ..Filter::default()
            },
        );
        assert_eq!(
            texts(&m),
            [("obi-b", Some("WARN")), ("obi-a", Some("ERROR"))]
        );
    }

    #[test]
    fn grep_and_limit_keep_the_newest_matches() {
        let m = merge(
            &pods(),
            &Filter {
                grep: Some("msg".into()),
                limit: 2,
                ..Filter::default()
            },
        );
        assert_eq!(m.matched, 5);
        assert_eq!(
            texts(&m),
            [("obi-b", Some("INFO")), ("obi-a", Some("DEBUG"))]
        );
        let m = merge(
            &pods(),
            &Filter {
                grep: Some("cache has not been synced".into()),
                limit: 10,
                ..Filter::default()
            },
        );
        assert_eq!(m.lines.len(), 1);
    }

    #[test]
    fn lines_without_timestamp_follow_their_predecessor() {
        let text = "2026-01-27T17:21:20Z panic: boom\ngoroutine 1 [running]:\n";
        let m = merge(
            &[PodLog {
                pod: "p",
                node: "n",
                text,
            }],
            &Filter {
                limit: 10,
                ..Filter::default()
            },
        );
        assert_eq!(m.lines.len(), 2);
        assert_eq!(m.lines[1].time, "");
        assert_eq!(m.lines[0].level.as_deref(), Some("ERROR"));
    }

    #[test]
    fn a_thousand_pods_of_a_hundred_lines_merge_quickly() {
        let outputs: Vec<String> = (0..1000)
            .map(|p| {
                (0..100)
                    .map(|i| {
                        format!(
                            "2026-01-27T17:{:02}:{:02}.{:09}Z time=x level={} msg=\"line {i} of pod {p}\" component=discover\n",
                            i / 60,
                            i % 60,
                            p * 1000,
                            if i % 10 == 0 { "WARN" } else { "INFO" }
                        )
                    })
                    .collect()
            })
            .collect();
        let names: Vec<String> = (0..1000).map(|p| format!("obi-{p}")).collect();
        let logs: Vec<PodLog> = outputs
            .iter()
            .zip(&names)
            .map(|(text, pod)| PodLog {
                pod,
                node: "n",
                text,
            })
            .collect();
        let started = std::time::Instant::now();
        let m = merge(
            &logs,
            &Filter {
                limit: 1000,
                ..Filter::default()
            },
        );
        let elapsed = started.elapsed();
        assert_eq!(m.matched, 100_000);
        assert_eq!(m.lines.len(), 1000);
        // the newest 1000 lines are the last line of every pod
        assert!(
            m.lines[0].text.contains("line 99 of"),
            "{}",
            m.lines[0].text
        );
        assert!(m.lines.windows(2).all(|w| w[0].time <= w[1].time));
        // generous for unoptimized test builds on a shared 2-core machine
        assert!(
            elapsed < std::time::Duration::from_millis(1500),
            "{elapsed:?}"
        );
    }
}
