//! The HTTP(S) front: connections, authentication, faults, routing to the API handlers.

use crate::cluster::Sim;
use crate::error::ApiError;
use crate::faults::{FaultAction, RequestFacts};
use crate::util;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Response body: full or streamed.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A full body.
pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// A streamed body fed by a channel; an `Err` item aborts the connection.
pub fn streamed(rx: mpsc::Receiver<Result<Bytes, std::io::Error>>) -> Body {
    let s = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item.map(Frame::data), rx))
    });
    StreamBody::new(s).boxed()
}

/// A JSON response.
pub fn json_response(code: u16, v: &Value) -> Response<Body> {
    bytes_response(code, Bytes::from(serde_json::to_vec(v).unwrap_or_default()))
}

/// A JSON response from pre-serialized bytes.
pub fn bytes_response(code: u16, b: Bytes) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
        .header(header::CONTENT_TYPE, "application/json")
        .header("Audit-Id", "00000000-0000-0000-0000-000000000000")
        .header("Cache-Control", "no-cache, private")
        .body(full(b))
        .expect("response")
}

/// An error response (`Status`).
pub fn error_response(e: &ApiError) -> Response<Body> {
    let mut r = json_response(e.code, &e.to_status());
    if let Some(s) = e.retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, s.to_string().parse().expect("header"));
    }
    r
}

/// Serves connections until shutdown.
pub async fn serve(sim: Arc<Sim>, listener: TcpListener, tls: Option<Arc<rustls::ServerConfig>>) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut shutdown = sim.shutdown.clone();
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
            _ = shutdown.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let sim = sim.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let sim = sim.clone();
                async move { Ok::<_, Infallible>(handle(sim, req).await) }
            });
            let builder = hyper::server::conn::http1::Builder::new();
            match acceptor {
                Some(a) => {
                    if let Ok(s) = a.accept(stream).await {
                        let _ = builder.serve_connection(TokioIo::new(s), svc).await;
                    }
                }
                None => {
                    let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                }
            }
        });
    }
}

/// A parsed request.
#[derive(Debug)]
pub struct Req {
    /// HTTP method.
    pub method: Method,
    /// Path.
    pub path: String,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// `Accept` header.
    pub accept: String,
    /// `Content-Type` header.
    pub content_type: String,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Body bytes.
    pub body: Bytes,
}

impl Req {
    /// A query parameter.
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.as_str())
    }
    /// A boolean query parameter.
    pub fn q_bool(&self, k: &str) -> bool {
        matches!(self.q(k), Some("true" | "1" | ""))
    }
}

/// Counts a request as in flight until dropped, recording the peak.
struct InFlight(Arc<Sim>);

impl InFlight {
    fn enter(sim: &Arc<Sim>) -> InFlight {
        let now = sim.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        sim.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(sim.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(sim: Arc<Sim>, req: Request<Incoming>) -> Response<Body> {
    sim.requests.fetch_add(1, Ordering::Relaxed);
    let _in_flight = InFlight::enter(&sim);
    let (parts, body) = req.into_parts();
    let h = |n: header::HeaderName| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let token = h(header::AUTHORIZATION);
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return error_response(&ApiError::bad_request("could not read the request body")),
    };
    let r = Req {
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        query: util::parse_query(parts.uri.query()),
        accept: h(header::ACCEPT),
        content_type: h(header::CONTENT_TYPE),
        user_agent: h(header::USER_AGENT),
        body,
    };
    if matches!(r.path.as_str(), "/healthz" | "/livez" | "/readyz") {
        return Response::builder()
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(full("ok"))
            .expect("response");
    }
    let user = token.strip_prefix("Bearer ").and_then(|t| {
        sim.users
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(t.trim())
            .cloned()
    });
    // kubectl (client-go) sends no bearer token over plain HTTP: there, token-less requests are
    // the admin user. Over HTTPS they are rejected like on a real server.
    let user = match user {
        Some(u) => u,
        None if token.is_empty() && !sim.opts.tls => crate::cluster::User {
            name: "kube-sim-admin".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        },
        None => return error_response(&ApiError::unauthorized()),
    };
    let info = crate::api::request_info(&r);
    let facts = RequestFacts {
        verb: &info.verb,
        resource: &info.resource_with_sub(),
        namespace: info.ns.as_deref().unwrap_or(""),
        path: &r.path,
    };
    let mut cut = false;
    for action in sim.faults.check(&facts) {
        match action {
            FaultAction::Latency(d) => tokio::time::sleep(d).await,
            FaultAction::Status { code, retry_after } => {
                let reason = match code {
                    429 => "TooManyRequests",
                    403 => "Forbidden",
                    503 => "ServiceUnavailable",
                    504 => "Timeout",
                    409 => "Conflict",
                    _ => "InternalError",
                };
                let msg = match code {
                    429 => "Too many requests, please try again later.".to_string(),
                    503 => "the server is currently unable to handle the request".to_string(),
                    _ => format!("injected fault: {code}"),
                };
                let mut e = ApiError::new(code, reason, msg);
                e.retry_after = retry_after.or(if code == 429 || code == 503 {
                    Some(1)
                } else {
                    None
                });
                return error_response(&e);
            }
            FaultAction::CutConnection => cut = true,
        }
    }
    let resp = crate::api::dispatch(&sim, &user, &r, &info).await;
    if cut {
        return cut_response(resp).await;
    }
    resp
}

async fn cut_response(resp: Response<Body>) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let (tx, rx) = mpsc::channel(2);
    let half = bytes.slice(..bytes.len() / 2);
    tokio::spawn(async move {
        let _ = tx.send(Ok(half)).await;
        let _ = tx
            .send(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected fault: connection cut",
            )))
            .await;
    });
    Response::from_parts(parts, streamed(rx))
}
