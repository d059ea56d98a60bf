//! One request to a cluster: a deadline for the whole exchange (retries included), bounded
//! retries of 429 and 5xx answers with exponential back-off (honouring `Retry-After` up to a
//! cap), and the API's `Status` mapped to a [`KubeError`].

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use tokio::time::Instant;

use super::errors::KubeError;
use super::pool::{ContextClient, chain};

/// Retries after the first attempt of a 429/5xx answer.
pub const MAX_RETRIES: u32 = 3;
/// First back-off delay (doubled per retry).
pub const BASE_DELAY: Duration = Duration::from_millis(200);
/// Longest single back-off delay, `Retry-After` included.
pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// A request to send.
#[derive(Debug, Clone)]
pub struct Req {
    /// Method.
    pub method: Method,
    /// Path and query.
    pub uri: String,
    /// Content type of the body, if any.
    pub content_type: Option<&'static str>,
    /// Body.
    pub body: Vec<u8>,
    /// Whether a connection lost while reading the answer may be retried (safe to repeat).
    pub idempotent: bool,
    /// Read at most this many bytes of the answer.
    pub max_body: Option<usize>,
}

impl Req {
    /// A GET.
    pub fn get(uri: String) -> Req {
        Req {
            method: Method::GET,
            uri,
            content_type: None,
            body: Vec::new(),
            idempotent: true,
            max_body: None,
        }
    }

    /// A request with a JSON (or patch) body.
    pub fn with_body(
        method: Method,
        uri: String,
        content_type: &'static str,
        body: Vec<u8>,
    ) -> Req {
        Req {
            method,
            uri,
            content_type: Some(content_type),
            body,
            idempotent: false,
            max_body: None,
        }
    }
}

/// Why one attempt produced no answer.
enum Transport {
    /// Nothing came back (connect, TLS, request failed).
    Send(kube::Error),
    /// The answer started but its body was lost.
    Body(String),
}

/// A non-success answer of the API.
#[derive(Debug, Clone)]
pub struct ApiStatus {
    /// HTTP status.
    pub code: u16,
    /// `reason` of the `Status` (or the HTTP reason phrase).
    pub reason: String,
    /// `message` of the `Status` (or the start of the body).
    pub message: String,
}

impl ApiStatus {
    fn parse(status: StatusCode, body: &[u8]) -> ApiStatus {
        let fallback_reason = status
            .canonical_reason()
            .unwrap_or("Error")
            .replace(' ', "");
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(v) if v.get("kind").and_then(|k| k.as_str()) == Some("Status") => ApiStatus {
                code: status.as_u16(),
                reason: v["reason"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .unwrap_or(&fallback_reason)
                    .to_string(),
                message: v["message"].as_str().unwrap_or("").to_string(),
            },
            _ => {
                let text = String::from_utf8_lossy(body);
                let text: String = text.trim().chars().take(300).collect();
                ApiStatus {
                    code: status.as_u16(),
                    reason: fallback_reason,
                    message: text,
                }
            }
        }
    }
}

fn retryable(code: u16) -> bool {
    code == 429 || ((500..=599).contains(&code) && code != 501)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The back-off before retry number `attempt` (0-based): exponential with jitter, or the
/// server's `Retry-After`, capped at [`MAX_DELAY`].
pub fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let exp = BASE_DELAY * 2u32.saturating_pow(attempt);
    // Jitter of up to a quarter, from the clock: no RNG needed for spreading retries.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = exp.mul_f64(f64::from(nanos % 1000) / 4000.0);
    retry_after.unwrap_or(exp + jitter).min(MAX_DELAY)
}

impl ContextClient {
    async fn attempt(&self, req: &Req) -> Result<(StatusCode, HeaderMap, Bytes), Transport> {
        let mut builder = http::Request::builder()
            .method(req.method.clone())
            .uri(req.uri.as_str())
            .header(http::header::ACCEPT, "application/json");
        if let Some(ct) = req.content_type {
            builder = builder.header(http::header::CONTENT_TYPE, ct);
        }
        let request = builder
            .body(kube::client::Body::from(req.body.clone()))
            .map_err(|e| Transport::Send(kube::Error::HttpError(e)))?;
        let response = self.client.send(request).await.map_err(Transport::Send)?;
        let (parts, mut body) = response.into_parts();
        let mut buf = Vec::new();
        let limit = req.max_body.unwrap_or(usize::MAX);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| Transport::Body(chain(&e)))?;
            if let Some(data) = frame.data_ref() {
                let room = limit.saturating_sub(buf.len());
                buf.extend_from_slice(&data[..data.len().min(room)]);
                if buf.len() >= limit {
                    break;
                }
            }
        }
        Ok((parts.status, parts.headers, Bytes::from(buf)))
    }

    /// The message of a request that ran out of time.
    pub fn timeout_error(&self) -> KubeError {
        KubeError::Timeout(format!(
            "cluster \"{}\" did not answer within {} s (toolsets.kubernetes.request_timeout_secs)",
            self.context,
            self.timeouts.request.as_secs()
        ))
    }

    fn unreachable(&self, cause: &str) -> KubeError {
        KubeError::Failed(self.secrets.redact(&format!(
            "cannot reach cluster \"{}\" at {}: {cause}",
            self.context, self.server
        )))
    }

    fn transport_error(&self, e: &kube::Error) -> KubeError {
        // A connect timeout surfaces as an I/O `TimedOut` somewhere in the chain.
        let mut source: Option<&dyn std::error::Error> = Some(e);
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::TimedOut
            {
                return KubeError::Timeout(format!(
                    "cannot reach cluster \"{}\" at {}: no connection within {} s (toolsets.kubernetes.connect_timeout_secs)",
                    self.context,
                    self.server,
                    self.timeouts.connect.as_secs()
                ));
            }
            source = s.source();
        }
        if let kube::Error::Auth(a) = e {
            return KubeError::Failed(self.secrets.redact(&format!(
                "cannot authenticate to cluster \"{}\": {}",
                self.context,
                chain(a)
            )));
        }
        self.unreachable(&chain(e))
    }

    /// Maps an API error answer to a [`KubeError`].
    pub fn status_error(&self, s: &ApiStatus, attempts: u32) -> KubeError {
        let message = self.secrets.redact(&s.message);
        let reason = &s.reason;
        match s.code {
            401 | 403 => KubeError::Denied(format!(
                "{reason}: cluster \"{}\" refused: {message}",
                self.context
            )),
            404 => KubeError::NotFound(message),
            409 => KubeError::Conflict(message),
            400 | 422 => KubeError::Invalid(format!("{reason}: {message}")),
            c if retryable(c) && attempts > 1 => KubeError::Failed(format!(
                "{reason}: {message} (cluster \"{}\" answered {c}; gave up after {attempts} attempts)",
                self.context
            )),
            c => KubeError::Failed(format!(
                "{reason}: {message} (cluster \"{}\" answered {c})",
                self.context
            )),
        }
    }

    /// Sends `req` within the request timeout, retrying 429/5xx answers; returns the body of a
    /// success answer.
    pub async fn send(&self, req: &Req) -> Result<Bytes, KubeError> {
        let started = Instant::now();
        let deadline = started + self.timeouts.request;
        let mut attempt: u32 = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let outcome = match tokio::time::timeout(left, self.attempt(req)).await {
                Err(_) => return Err(self.timeout_error()),
                Ok(o) => o,
            };
            let (delay, error) = match outcome {
                Ok((status, _, body)) if status.is_success() => {
                    tracing::trace!(
                        context = %self.context,
                        uri = %req.uri,
                        bytes = body.len(),
                        ms = started.elapsed().as_secs_f64() * 1e3,
                        "cluster answered"
                    );
                    return Ok(body);
                }
                Ok((status, headers, body)) => {
                    let api = ApiStatus::parse(status, &body);
                    if !retryable(api.code) {
                        return Err(self.status_error(&api, attempt + 1));
                    }
                    tracing::debug!(
                        context = %self.context,
                        code = api.code,
                        attempt,
                        "cluster asked to retry"
                    );
                    (
                        backoff(attempt, retry_after(&headers)),
                        self.status_error(&api, attempt + 1),
                    )
                }
                Err(Transport::Send(e)) => return Err(self.transport_error(&e)),
                Err(Transport::Body(cause)) => {
                    let error = self.unreachable(&format!("the connection was lost: {cause}"));
                    if !req.idempotent {
                        return Err(error);
                    }
                    (backoff(attempt, None), error)
                }
            };
            if attempt >= MAX_RETRIES || Instant::now() + delay >= deadline {
                return Err(error);
            }
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// [`Self::send`], parsing the answer as JSON.
    pub async fn send_json(&self, req: &Req) -> Result<serde_json::Value, KubeError> {
        let body = self.send(req).await?;
        serde_json::from_slice(&body).map_err(|e| {
            KubeError::Failed(format!(
                "cluster \"{}\" answered {} {} with something that is not JSON: {e}",
                self.context, req.method, req.uri
            ))
        })
    }
}

/// `path?k=v&...` with the values percent-encoded; empty values are left out.
pub fn with_query(path: &str, params: &[(&str, Option<String>)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in params {
        if let Some(v) = v {
            q.append_pair(k, v);
            any = true;
        }
    }
    if any {
        format!("{path}?{}", q.finish())
    } else {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0, None) >= BASE_DELAY && backoff(0, None) < BASE_DELAY * 2);
        assert!(backoff(2, None) >= BASE_DELAY * 4);
        assert_eq!(backoff(1, Some(Duration::from_secs(60))), MAX_DELAY);
        assert_eq!(
            backoff(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn status_body_is_parsed_and_plain_text_kept() {
        let s = ApiStatus::parse(
            StatusCode::CONFLICT,
            br#"{"kind":"Status","reason":"Conflict","message":"Apply failed with 1 conflict"}"#,
        );
        assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
        assert_eq!(s.message, "Apply failed with 1 conflict");
        let s = ApiStatus::parse(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert_eq!(s.reason, "BadGateway");
        assert_eq!(s.message, "<html>bad gateway</html>");
    }

    #[test]
    fn query_values_are_encoded_and_empty_ones_left_out() {
        assert_eq!(
            with_query(
                "/api/v1/pods",
                &[
                    ("labelSelector", Some("app in (a,b)".into())),
                    ("fieldSelector", None)
                ]
            ),
            "/api/v1/pods?labelSelector=app+in+%28a%2Cb%29"
        );
        assert_eq!(with_query("/x", &[("a", None)]), "/x");
    }
}
