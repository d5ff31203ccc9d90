//! Cross-origin calls to the API from the configured dapp origins, and from no one else.
//!
//! A dapp's page (another origin: the demo dapp's, or an `--allow-origin` one) signs its user in
//! and calls `/api/v1` directly. The browser lets it read the answers only if the API grants its
//! origin by CORS, so the API answers with `Access-Control-Allow-Origin: <that origin>` for
//! exactly the configured dapp origins (compared byte for byte: no wildcard, no pattern, no
//! reflection of an unknown origin), and for every other origin sends no grant at all.
//!
//! **Bearer tokens, not cookies, across origins.** No `Access-Control-Allow-Credentials`: a dapp
//! page sends the session token it got from sign-in in `Authorization: Bearer`, and the
//! browser attaches no cookie to its requests. The session cookie stays what it is
//! (`SameSite=Strict`, for the relay's own pages): granting credentials cross-origin would let
//! a dapp page act with the cookie of a user signed in on the relay's own pages, an ambient
//! authority the user never gave that dapp, and would make every cookie write a CSRF question.
//! A bearer token is held by the page that signed in and sent only when that page chooses to.
//!
//! Only what the API needs: methods `GET` and `POST`, request headers `Authorization` and
//! `Content-Type`, response header `X-Request-Id` readable; preflights cached for 10 minutes.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may cache a preflight's answer.
pub const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The CORS layer granting exactly `origins` (serialized origins, as configured; an entry that
/// cannot be a header value grants nothing).
pub fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(PREFLIGHT_MAX_AGE)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::{MethodRouter, get};
    use tower::ServiceExt;

    use super::*;

    const DAPP: &str = "http://127.0.0.2:8082";

    /// A GET/POST endpoint behind the layer (a method router: the API's document test counts
    /// every `Router` route in `api/`, and this one is not in the API).
    fn app() -> MethodRouter {
        get(|| async { "{}" }).post(|| async { "{}" }).layer(cors(&[
            DAPP.to_owned(),
            "https://dapp.example.org".to_owned(),
        ]))
    }

    async fn preflight(origin: &str, method: &str, headers: &str) -> axum::http::Response<Body> {
        app()
            .oneshot(
                Request::options("/api/v1/me")
                    .header("origin", origin)
                    .header("access-control-request-method", method)
                    .header("access-control-request-headers", headers)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap()
    }

    fn header<'a>(r: &'a axum::http::Response<Body>, name: &str) -> Option<&'a str> {
        r.headers().get(name).map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn a_configured_dapp_origin_gets_exactly_the_grant_it_needs_and_no_credentials() {
        let r = preflight(DAPP, "POST", "authorization,content-type").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "access-control-allow-origin"), Some(DAPP));
        let methods = header(&r, "access-control-allow-methods").unwrap();
        assert!(
            methods.contains("GET") && methods.contains("POST"),
            "{methods}"
        );
        assert!(
            !methods.contains("PUT") && !methods.contains("DELETE"),
            "{methods}"
        );
        let headers = header(&r, "access-control-allow-headers").unwrap();
        assert!(headers.contains("authorization") && headers.contains("content-type"));
        assert_eq!(header(&r, "access-control-allow-credentials"), None);
        assert_eq!(header(&r, "access-control-max-age"), Some("600"));
        let vary = r
            .headers()
            .get_all("vary")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join(",");
        assert!(vary.contains("origin"), "{vary}");

        let simple = app()
            .oneshot(
                Request::get("/api/v1/me")
                    .header("origin", DAPP)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(header(&simple, "access-control-allow-origin"), Some(DAPP));
        assert_eq!(
            header(&simple, "access-control-expose-headers"),
            Some("x-request-id")
        );
        assert_eq!(header(&simple, "access-control-allow-credentials"), None);
    }

    #[tokio::test]
    async fn fail_any_other_origin_gets_no_cors_grant() {
        for origin in [
            "http://127.0.0.2:8083",
            "http://127.0.0.2:8082/",
            "http://127.0.0.2",
            "https://127.0.0.2:8082",
            "https://dapp.example.org.evil.com",
            "https://evil.dapp.example.org",
            "https://DAPP.example.org",
            "null",
            "*",
        ] {
            let r = preflight(origin, "POST", "authorization").await;
            assert_eq!(header(&r, "access-control-allow-origin"), None, "{origin}");
            let simple = app()
                .oneshot(
                    Request::get("/api/v1/me")
                        .header("origin", origin)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(
                header(&simple, "access-control-allow-origin"),
                None,
                "{origin}"
            );
        }
        // No configured origin: nobody.
        let none: MethodRouter = get(|| async { "" }).layer(cors(&[]));
        let r = none
            .oneshot(
                Request::get("/x")
                    .header("origin", DAPP)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(header(&r, "access-control-allow-origin"), None);
    }
}
