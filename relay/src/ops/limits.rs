//! Bounds on a request: its body's size, its time, and what a panicking handler may say. Each
//! refusal is the operations layers' JSON ([`OpsRefusal`]):
//! - a body over the limit: 413 `body_too_large` (whether refused on `Content-Length` by
//!   `RequestBodyLimitLayer` or while a handler reads it);
//! - a request over the timeout (body upload included): 503 `timeout`
//!   (`TimeoutLayer::with_status_code`);
//! - a panic: 500 `internal` with no detail (`CatchPanicLayer`), logged without its message.

use std::any::Any;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::refusal::OpsRefusal;

/// A response an inner layer made without a JSON body (axum's and tower-http's refusals are
/// plain text or empty); the API's own JSON errors pass untouched.
fn is_bare(response: &Response, status: StatusCode) -> bool {
    response.status() == status
        && !response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

/// Middleware just outside `RequestBodyLimitLayer`: renders a bare 413 as `body_too_large`.
pub(crate) async fn body_too_large_as_json(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if is_bare(&response, StatusCode::PAYLOAD_TOO_LARGE) {
        OpsRefusal::BodyTooLarge { limit }.into_response()
    } else {
        response
    }
}

/// The status `TimeoutLayer` answers with.
pub(crate) const TIMEOUT_STATUS: StatusCode = StatusCode::SERVICE_UNAVAILABLE;

/// Middleware just outside `TimeoutLayer`: renders its bare, empty 503 as `timeout`.
pub(crate) async fn timeout_as_json(
    State(after): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if is_bare(&response, TIMEOUT_STATUS)
        && response
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_none_or(|v| v == "0")
    {
        OpsRefusal::Timeout { after }.into_response()
    } else {
        response
    }
}

/// `CatchPanicLayer`'s answer: 500 `internal`; the panic's message is not logged either (it
/// may quote a value), only that one happened, inside the request's span.
pub(crate) fn panic_as_json(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a handler panicked");
    OpsRefusal::Internal.into_response()
}
