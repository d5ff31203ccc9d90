//! Request logs: one `request` span per request carrying its id, method, route template and
//! path (never the query string, which may carry secrets), a `response` event with status and
//! latency at `info`, and the headers at `debug` with the sensitive ones redacted:
//! [`SENSITIVE_HEADERS`] are marked sensitive on the way in and `set-cookie` on the way out
//! (`tower_http::sensitive_headers`), so a bearer token, cookie or signature is never written.

use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{HeaderName, Request, Response, header};
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::request_id::RequestId;
use tower_http::trace::{MakeSpan, OnFailure, OnRequest, OnResponse};
use tracing::Span;

/// Request headers whose values are never logged.
pub const SENSITIVE_HEADERS: [HeaderName; 4] = [
    header::AUTHORIZATION,
    header::PROXY_AUTHORIZATION,
    header::COOKIE,
    HeaderName::from_static("x-signature"),
];

/// Response headers whose values are never logged.
pub const SENSITIVE_RESPONSE_HEADERS: [HeaderName; 1] = [header::SET_COOKIE];

/// The `request` span.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let id = request
            .extensions()
            .get::<RequestId>()
            .and_then(|id| id.header_value().to_str().ok())
            .unwrap_or("-");
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str);
        tracing::info_span!(
            "request",
            id = %id,
            method = %request.method(),
            route = %route,
            path = %request.uri().path(),
        )
    }
}

/// Logs the request's headers (sensitive ones redacted) at `debug`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogRequest;

impl<B> OnRequest<B> for LogRequest {
    fn on_request(&mut self, request: &Request<B>, _: &Span) {
        tracing::debug!(headers = ?request.headers(), "request");
    }
}

/// Logs status and latency at `info`, headers (sensitive ones redacted) at `debug`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogResponse;

impl<B> OnResponse<B> for LogResponse {
    fn on_response(self, response: &Response<B>, latency: Duration, _: &Span) {
        tracing::info!(
            status = response.status().as_u16(),
            latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            "response"
        );
        tracing::debug!(headers = ?response.headers(), "response headers");
    }
}

/// Failures are already logged by [`LogResponse`] with their status.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFailureLog;

impl OnFailure<ServerErrorsFailureClass> for NoFailureLog {
    fn on_failure(&mut self, _: ServerErrorsFailureClass, _: Duration, _: &Span) {}
}
