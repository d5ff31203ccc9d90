//! Request ids (`x-request-id`): a client's or proxy's id is kept if it is short and plain
//! (at most [`MAX_REQUEST_ID_LEN`] of `A–Z a–z 0–9 - _ . :`), otherwise replaced; a request
//! without one gets a random UUID. The id is in every request's log span, in the response's
//! `x-request-id`, and in the request's extensions as `tower_http::request_id::RequestId`.

use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// The header.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The longest supplied id kept.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// Whether a supplied id is kept.
pub fn is_acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Removes a supplied id that is not acceptable, or that comes in several headers, so that
/// `SetRequestId` generates one.
pub(crate) fn drop_unacceptable<B>(mut request: Request<B>) -> Request<B> {
    let headers = request.headers_mut();
    let mut values = headers.get_all(REQUEST_ID_HEADER).iter();
    let keep = match (values.next(), values.next()) {
        (Some(one), None) => is_acceptable(one),
        (None, _) => true,
        _ => false,
    };
    if !keep {
        headers.remove(REQUEST_ID_HEADER);
    }
    request
}

/// A random UUID (v4, hyphenated) for each request without one.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_acceptable() {
        for good in ["a", "0f8e-12", "req_1.2:3", &"x".repeat(64)] {
            assert!(
                is_acceptable(&HeaderValue::from_str(good).unwrap()),
                "{good}"
            );
        }
        for bad in ["", " ", "a b", "a\"b", "<script>", "é", &"x".repeat(65)] {
            let value = HeaderValue::from_bytes(bad.as_bytes()).unwrap();
            assert!(!is_acceptable(&value), "{bad}");
        }
    }
}
