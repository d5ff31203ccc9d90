//! What the operations layers answer when they refuse a request: JSON `{"code", "message"}`
//! with a stable `code`, the same shape as the API's errors.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Which key a rate limit counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    /// The client's address (see [`crate::ops::client_ip`]).
    Address,
    /// The signed-in identity ([`crate::ops::CallerIdentity`]).
    Identity,
}

/// A request refused by an operations layer. Each variant has a stable [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpsRefusal {
    /// 413: the body is longer than the configured limit.
    BodyTooLarge { limit: usize },
    /// 503: the request took longer than the configured timeout.
    Timeout { after: Duration },
    /// 429: too many requests from one address or identity; retry after the given time.
    RateLimited {
        scope: LimitScope,
        retry_after: Duration,
    },
    /// 500: a handler failed unexpectedly (details are never sent).
    Internal,
    /// 503: the node is not reachable or not answering.
    NotReady,
}

impl OpsRefusal {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            OpsRefusal::BodyTooLarge { .. } => "body_too_large",
            OpsRefusal::Timeout { .. } => "timeout",
            OpsRefusal::RateLimited { .. } => "rate_limited",
            OpsRefusal::Internal => "internal",
            OpsRefusal::NotReady => "not_ready",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            OpsRefusal::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            OpsRefusal::Timeout { .. } | OpsRefusal::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            OpsRefusal::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            OpsRefusal::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A message a person can act on.
    pub fn message(&self) -> String {
        match self {
            OpsRefusal::BodyTooLarge { limit } => {
                format!("the request body is larger than {limit} bytes")
            }
            OpsRefusal::Timeout { after } => format!(
                "the request was not answered within {} ms; try again later",
                after.as_millis()
            ),
            OpsRefusal::RateLimited { scope, retry_after } => format!(
                "too many requests from this {}; retry after {} s",
                match scope {
                    LimitScope::Address => "address",
                    LimitScope::Identity => "identity",
                },
                retry_after_secs(*retry_after)
            ),
            OpsRefusal::Internal => "internal error".to_owned(),
            OpsRefusal::NotReady => "the node is not reachable or not answering".to_owned(),
        }
    }
}

/// Whole seconds, rounded up, at least 1 (`Retry-After` has a resolution of one second).
fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

impl IntoResponse for OpsRefusal {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code(), "message": self.message() });
        let mut response = (self.status(), Json(body)).into_response();
        if let OpsRefusal::RateLimited { retry_after, .. } = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(retry_after)),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_is_at_least_one() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(7)), 7);
    }

    #[test]
    fn codes_are_pinned() {
        let all = [
            OpsRefusal::BodyTooLarge { limit: 1 },
            OpsRefusal::Timeout {
                after: Duration::from_secs(1),
            },
            OpsRefusal::RateLimited {
                scope: LimitScope::Address,
                retry_after: Duration::from_secs(1),
            },
            OpsRefusal::Internal,
            OpsRefusal::NotReady,
        ];
        let codes: Vec<_> = all
            .iter()
            .map(|r| (r.code(), r.status().as_u16()))
            .collect();
        assert_eq!(
            codes,
            [
                ("body_too_large", 413),
                ("timeout", 503),
                ("rate_limited", 429),
                ("internal", 500),
                ("not_ready", 503)
            ]
        );
    }
}
