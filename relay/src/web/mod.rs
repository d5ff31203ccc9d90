//! Serving the enclave pages (`www/enclave/dist`) with the security headers they rely on.
//!
//! - `index.html` (the iframe): a strict CSP whose `frame-ancestors` is the configured allow-list
//!   of host origins (`'none'` when the list is empty), so no other site can frame it;
//! - `dialog.html` (the popup): the same CSP with `frame-ancestors 'none'`;
//! - `config.json`: generated from the same allow-list, so the enclave's own origin check and the
//!   browser's CSP check always agree, and a framing page cannot choose the list;
//! - every response: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
//!   `Cross-Origin-Resource-Policy: same-origin`; assets `Cache-Control: no-cache` (pages and
//!   config `no-store`).
//!
//! Trunk injects one inline module script (its wasm loader) into `index.html`; instead of
//! `'unsafe-inline'` the CSP names the SHA-256 of each inline script found in the served file.

pub mod site;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// What the enclave server needs to know.
#[derive(Debug, Clone)]
pub struct EnclaveWebConfig {
    /// The directory Trunk built (`www/enclave/dist`).
    pub dir: PathBuf,
    /// Serialized origins (`scheme://host[:port]`) allowed to frame the enclave, compared exactly.
    pub allowed_parent_origins: Vec<String>,
}

/// A configured origin that is not a serialized origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an origin: write scheme://host[:port] with no path, e.g. https://app.example.com"
)]
pub struct InvalidOrigin(pub String);

/// Checks that `origin` is a serialized http(s) origin: lowercase scheme and host, optional
/// port, nothing else (no path, no trailing slash, no wildcard).
pub fn validate_origin(origin: &str) -> Result<(), InvalidOrigin> {
    let bad = || InvalidOrigin(origin.to_owned());
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (h, Some(p)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b'.' | b'-' | b'[' | b']' | b':')
        });
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

impl EnclaveWebConfig {
    /// A config whose every origin is valid.
    pub fn new(
        dir: impl Into<PathBuf>,
        allowed_parent_origins: Vec<String>,
    ) -> Result<Self, InvalidOrigin> {
        for o in &allowed_parent_origins {
            validate_origin(o)?;
        }
        Ok(EnclaveWebConfig {
            dir: dir.into(),
            allowed_parent_origins,
        })
    }

    /// The valid origins (an invalid entry is dropped rather than written into a header).
    fn origins(&self) -> Vec<&str> {
        self.allowed_parent_origins
            .iter()
            .map(String::as_str)
            .filter(|o| validate_origin(o).is_ok())
            .collect()
    }
}

/// SHA-256 CSP sources (`'sha256-…'`) of the inline `<script>` elements of an HTML page.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body = &after[tag_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            let digest = protocol::credential::content_hash(&body.as_bytes()[..close]);
            hashes.push(format!(
                "'sha256-{}'",
                protocol::codec::base64_encode(digest.as_bytes())
            ));
        }
        rest = &body[close..];
    }
    hashes
}

/// The CSP of an enclave page.
pub fn page_csp(html: &str, frame_ancestors: &[&str]) -> String {
    let mut scripts = vec!["'self'".to_owned(), "'wasm-unsafe-eval'".to_owned()];
    scripts.extend(inline_script_hashes(html));
    let ancestors = if frame_ancestors.is_empty() {
        "'none'".to_owned()
    } else {
        frame_ancestors.join(" ")
    };
    format!(
        "default-src 'none'; script-src {}; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors {ancestors}",
        scripts.join(" ")
    )
}

type Shared = Arc<EnclaveWebConfig>;

async fn page(cfg: &EnclaveWebConfig, file: &str, frame_ancestors: &[&str]) -> Response {
    match tokio::fs::read_to_string(cfg.dir.join(file)).await {
        Ok(html) => {
            let csp = page_csp(&html, frame_ancestors);
            (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
                    (header::CONTENT_SECURITY_POLICY, csp),
                    (header::CACHE_CONTROL, "no-store".to_owned()),
                ],
                html,
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::NOT_FOUND,
            format!(
                "{file} is missing from {}: build the enclave with `trunk build`",
                cfg.dir.display()
            ),
        )
            .into_response(),
    }
}

async fn index(State(cfg): State<Shared>) -> Response {
    let origins = cfg.origins();
    page(&cfg, "index.html", &origins).await
}

async fn dialog(State(cfg): State<Shared>) -> Response {
    page(&cfg, "dialog.html", &[]).await
}

async fn config(State(cfg): State<Shared>) -> Response {
    let body = serde_json::json!({ "allowedParentOrigins": cfg.origins() });
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The enclave's HTTP routes: the two pages, `config.json` and the built assets.
pub fn enclave_router(cfg: EnclaveWebConfig) -> Router {
    let assets = ServeDir::new(&cfg.dir);
    let fixed = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::overriding(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/dialog.html", get(dialog))
        .route("/config.json", get(config))
        .fallback_service(assets)
        .with_state(Arc::new(cfg))
        .layer(fixed("x-content-type-options", "nosniff"))
        .layer(fixed("referrer-policy", "no-referrer"))
        .layer(fixed("cross-origin-resource-policy", "same-origin"))
        // Asset names carry no hash (dialog.html imports enclave.js by name) and index.html pins
        // them with SRI: revalidate on every load so an upgrade never meets a stale copy.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_be_serialized_origins() {
        for ok in [
            "http://127.0.0.1:8001",
            "https://app.example.com",
            "http://localhost",
        ] {
            validate_origin(ok).unwrap();
        }
        for bad in [
            "",
            "*",
            "127.0.0.1:8001",
            "http://127.0.0.1:8001/",
            "https://app.example.com/path",
            "HTTPS://A.COM",
            "https://a.com; script-src *",
            "https://a.com:99999x",
            "ftp://a.com",
            "https://",
        ] {
            assert!(validate_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn csp_lists_inline_script_hashes_and_frame_ancestors() {
        let html = "<script type=\"module\">\nimport init from '/e.js';\n</script><script src=\"/x.js\"></script>";
        let csp = page_csp(html, &["http://a.test"]);
        assert_eq!(inline_script_hashes(html).len(), 1);
        assert!(csp.contains("'sha256-"), "{csp}");
        assert!(csp.ends_with("frame-ancestors http://a.test"), "{csp}");
        assert!(page_csp(html, &[]).ends_with("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline"));
    }
}
