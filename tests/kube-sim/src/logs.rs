//! Pod logs: deterministic OBI-like Go slog lines per container run, with the kubelet's options
//! (`container`, `previous`, `timestamps`, `tailLines`, `sinceSeconds`, `sinceTime`, `limitBytes`,
//! `follow`).

use crate::cluster::Sim;
use crate::error::ApiError;
use crate::kubelet::{CState, CrashLine, Ctr, Instance};
use crate::resources::ids;
use crate::server::{Body, Req, error_response, full, streamed};
use crate::util;
use bytes::Bytes;
use http::Response;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

/// OBI version printed in the banner line.
pub const OBI_VERSION: &str = "v0.12.1";

fn slog_value(v: &str) -> String {
    if v.is_empty()
        || v.chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '=' || !c.is_ascii_graphic())
    {
        format!("{v:?}")
    } else {
        v.to_string()
    }
}

fn line(t: SystemTime, level: &str, msg: &str, attrs: &[(&str, String)]) -> String {
    let mut s = format!(
        "time={} level={} msg={}",
        util::rfc3339_millis(t),
        level,
        slog_value(msg)
    );
    for (k, v) in attrs {
        let key = if k.contains(' ') {
            format!("{k:?}")
        } else {
            k.to_string()
        };
        s.push_str(&format!(" {key}={}", slog_value(v)));
    }
    s
}

/// The lines a container run printed up to `until`.
pub fn instance_lines(
    seed: u64,
    pod: &str,
    node: &str,
    c: &Ctr,
    inst: &Instance,
    until: SystemTime,
    interval: Duration,
) -> Vec<(SystemTime, String)> {
    let t0 = inst.started;
    let end = inst.finished.map_or(until, |f| f.min(until));
    let ms = |n: u64| t0 + Duration::from_millis(n);
    let mut out = Vec::new();
    let key = format!("{pod}/{}", c.name);
    if c.obi {
        out.push((
            t0,
            line(
                t0,
                "INFO",
                "OpenTelemetry eBPF Instrumentation",
                &[
                    ("Version", OBI_VERSION.into()),
                    ("Revision", "4f5a1c9".into()),
                    ("OpenTelemetry SDK Version", "1.38.0".into()),
                ],
            ),
        ));
    } else {
        out.push((
            t0,
            line(t0, "INFO", "starting server", &[("addr", ":8080".into())]),
        ));
    }
    if let Some(crash) = &inst.crash {
        let t = inst.finished.unwrap_or(ms(5)).min(ms(5));
        let l = match crash {
            CrashLine::Slog { msg, error } => line(t, "ERROR", msg, &[("error", error.clone())]),
            CrashLine::Raw(r) => r.clone(),
        };
        if t <= until {
            out.push((t, l));
        }
        return out;
    }
    if c.obi {
        out.push((
            ms(4),
            line(
                ms(4),
                "INFO",
                "using hostname",
                &[
                    ("component", "traces.ReadDecorator".into()),
                    ("function", "instance_ID_hostNamePIDDecorator".into()),
                    ("hostname", node.into()),
                ],
            ),
        ));
        out.push((
            ms(30),
            line(
                ms(30),
                "INFO",
                "Starting main node",
                &[("component", "obi.Instrumenter".into())],
            ),
        ));
    }
    let step = interval.max(Duration::from_millis(1));
    let mut k = 1u64;
    loop {
        let t = t0 + step * k as u32;
        if t > end || k > 100_000 {
            break;
        }
        let h = util::hash_str(seed, &format!("{key}/{k}"));
        let l = if c.obi {
            let svc = h % 7;
            if k.is_multiple_of(5) {
                line(
                    t,
                    "INFO",
                    "process exited",
                    &[
                        ("component", "discover.ProcessWatcher".into()),
                        ("pid", (1000 + h % 30000).to_string()),
                    ],
                )
            } else {
                line(
                    t,
                    "INFO",
                    "instrumenting process",
                    &[
                        ("component", "discover.traceAttacher".into()),
                        ("cmd", format!("/usr/local/bin/svc-{svc}")),
                        ("pid", (1000 + h % 30000).to_string()),
                        ("ino", (100_000 + (h >> 16) % 900_000).to_string()),
                        (
                            "type",
                            ["go", "java", "python", "nodejs", "generic"][(h % 5) as usize].into(),
                        ),
                        ("service", format!("svc-{svc}")),
                    ],
                )
            }
        } else {
            line(
                t,
                "INFO",
                "request served",
                &[
                    ("method", "GET".into()),
                    ("path", format!("/api/items/{}", h % 100)),
                    ("status", "200".into()),
                    ("duration", format!("{}ms", h % 50)),
                ],
            )
        };
        out.push((t, l));
        k += 1;
    }
    out.retain(|(t, _)| *t <= end);
    out
}

struct LogOpts {
    timestamps: bool,
    tail: Option<usize>,
    since: Option<SystemTime>,
    limit: Option<usize>,
    follow: bool,
}

fn render(lines: &[(SystemTime, String)], o: &LogOpts) -> String {
    let mut sel: Vec<&(SystemTime, String)> = lines
        .iter()
        .filter(|(t, _)| o.since.is_none_or(|s| *t >= s))
        .collect();
    if let Some(n) = o.tail {
        let skip = sel.len().saturating_sub(n);
        sel.drain(..skip);
    }
    let mut s = String::new();
    for (t, l) in sel {
        if o.timestamps {
            s.push_str(&util::rfc3339_nanos(*t));
            s.push(' ');
        }
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// Serves `GET .../pods/{name}/log`.
pub async fn handle(sim: &Arc<Sim>, r: &Req, ns: &str, name: &str) -> Response<Body> {
    match prepare(sim, r, ns, name) {
        Ok(resp) => resp,
        Err(e) => error_response(&e),
    }
}

fn prepare(sim: &Arc<Sim>, r: &Req, ns: &str, name: &str) -> Result<Response<Body>, ApiError> {
    let pod = sim
        .store
        .get(ids::pods(), ns, name)
        .ok_or_else(|| ApiError::not_found(crate::resources::def(ids::pods()), name))?;
    let names: Vec<String> = pod
        .value()
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let container = match r.q("container").filter(|c| !c.is_empty()) {
        Some(c) => {
            if !names.iter().any(|n| n == c) {
                return Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {name}"
                )));
            }
            c.to_string()
        }
        None if names.len() == 1 => names[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                names.join(" ")
            )));
        }
    };
    let rt = sim.kubelet.pod(ns, name);
    let ctr = rt
        .as_ref()
        .and_then(|rt| rt.containers.iter().find(|c| c.name == container).cloned());
    let Some(ctr) = ctr else {
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating"
        )));
    };
    let previous = r.q_bool("previous") && r.q("previous").is_some();
    let inst = if previous {
        let n = ctr.instances.len();
        let idx = match ctr.state {
            CState::Running => n.checked_sub(2),
            _ if ctr.instances.last().is_some_and(|i| i.finished.is_some()) => n.checked_sub(1),
            _ => None,
        };
        idx.and_then(|i| ctr.instances.get(i))
            .cloned()
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "previous terminated container \"{container}\" in pod \"{name}\" not found"
                ))
            })?
    } else {
        match ctr.instances.last() {
            Some(i) => i.clone(),
            None => {
                let why = match &ctr.state {
                    CState::Waiting(r, _) if r.contains("ImagePull") => {
                        "trying and failing to pull image".to_string()
                    }
                    CState::Waiting(r, _) => r.clone(),
                    _ => "ContainerCreating".into(),
                };
                return Err(ApiError::bad_request(format!(
                    "container \"{container}\" in pod \"{name}\" is waiting to start: {why}"
                )));
            }
        }
    };
    let now = SystemTime::now();
    let since = if let Some(s) = r.q("sinceSeconds").and_then(|s| s.parse::<u64>().ok()) {
        Some(now - Duration::from_secs(s))
    } else {
        r.q("sinceTime").and_then(util::parse_time)
    };
    let opts = LogOpts {
        timestamps: r.q_bool("timestamps") && r.q("timestamps").is_some(),
        tail: r
            .q("tailLines")
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .map(|n| n as usize),
        since,
        limit: r
            .q("limitBytes")
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|n| *n > 0),
        follow: r.q_bool("follow") && r.q("follow").is_some(),
    };
    let node = rt.as_ref().map(|r| r.node.clone()).unwrap_or_default();
    let seed = sim.opts.seed;
    let interval = sim.timings().log_interval;
    let lines = instance_lines(seed, name, &node, &ctr, &inst, now, interval);
    let mut text = render(&lines, &opts);
    if let Some(l) = opts.limit
        && text.len() > l
    {
        let mut cut = l;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    let ok = |body: Body| {
        Response::builder()
            .status(200)
            .header(http::header::CONTENT_TYPE, "text/plain")
            .body(body)
            .expect("response")
    };
    if !opts.follow || inst.finished.is_some() || previous {
        return Ok(ok(full(text)));
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    let sim = sim.clone();
    let (ns, name) = (ns.to_string(), name.to_string());
    let mut sent_until = lines.last().map_or(inst.started, |(t, _)| *t);
    let mut budget = opts.limit.map(|l| l.saturating_sub(text.len()));
    tokio::spawn(async move {
        if tx.send(Ok(Bytes::from(text))).await.is_err() {
            return;
        }
        let mut shutdown = sim.shutdown.clone();
        let follow_opts = LogOpts {
            tail: None,
            since: None,
            ..opts
        };
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval / 2) => {}
                _ = shutdown.changed() => return,
                _ = tx.closed() => return,
            }
            let Some(rt) = sim.kubelet.pod(&ns, &name) else {
                return;
            };
            let Some(c) = rt.containers.iter().find(|c| c.name == ctr.name) else {
                return;
            };
            let Some(cur) = c.instances.iter().find(|i| i.id == inst.id) else {
                return;
            };
            let now = SystemTime::now();
            let new: Vec<(SystemTime, String)> =
                instance_lines(seed, &name, &node, c, cur, now, interval)
                    .into_iter()
                    .filter(|(t, _)| *t > sent_until)
                    .collect();
            if let Some((t, _)) = new.last() {
                sent_until = *t;
                let mut chunk = render(&new, &follow_opts);
                if let Some(b) = budget.as_mut() {
                    if chunk.len() >= *b {
                        chunk.truncate(*b);
                        let _ = tx.send(Ok(Bytes::from(chunk))).await;
                        return;
                    }
                    *b -= chunk.len();
                }
                if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                    return;
                }
            }
            if cur.finished.is_some() {
                return;
            }
        }
    });
    Ok(ok(streamed(rx)))
}
