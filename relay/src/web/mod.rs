//! Serving the enclave pages (`www/enclave/dist`) with the security headers they rely on.
//!
//! - `index.html` (the iframe): a strict CSP whose `frame-ancestors` is the configured allow-list
//!   of host origins (`'none'` when the list is empty), so no other site can frame it;
//! - `dialog.html` (the popup): the same CSP with `frame-ancestors 'none'`;
//! - `config.json`: generated from the same allow-list, so the enclave's own origin check and the
//!   browser's CSP check always agree, and a framing page cannot choose the list;
//! - every response: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
//!   `Cross-Origin-Resource-Policy: same-origin`, `Origin-Agent-Cluster: ?1` (the enclave gets
//!   its own agent cluster even beside same-site pages) and a `Permissions-Policy` that denies
//!   every powerful feature the pages do not use; assets `Cache-Control: no-cache` (pages and
//!   config `no-store`).
//!
//! Host origins must be `https://`, or `http://` on a loopback host (development).
//!
//! Both pages load the wasm through an inline loader that pins `enclave.js` and
//! `enclave_bg.wasm` by SHA-384 (written at build time by `scripts/pin-enclave-assets.sh`);
//! instead of `'unsafe-inline'` the CSP names the SHA-256 of each inline script in the served
//! file.

pub mod site;
pub mod static_files;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;

/// What the enclave server needs to know.
#[derive(Debug, Clone)]
pub struct EnclaveWebConfig {
    /// The directory Trunk built (`www/enclave/dist`).
    pub dir: PathBuf,
    /// Serialized origins (`scheme://host[:port]`) allowed to frame the enclave, compared exactly.
    pub allowed_parent_origins: Vec<String>,
}

/// A configured origin that is not a serialized origin, or not a secure one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOrigin {
    /// Not `scheme://host[:port]`.
    #[error(
        "{0:?} is not an origin: write scheme://host[:port] with no path, e.g. https://app.example.com"
    )]
    Malformed(String),
    /// Plain `http://` on a host that is not loopback.
    #[error(
        "{0:?} is not a secure origin: use https:// (plain http:// is accepted only for localhost, 127.0.0.0/8 and [::1])"
    )]
    NotSecure(String),
}

/// The hosts on which plain `http://` is still a secure context: `localhost`, `127.0.0.0/8`, `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    if host == "localhost" || host == "[::1]" {
        return true;
    }
    let octets: Vec<_> = host.split('.').collect();
    octets.len() == 4
        && octets[0] == "127"
        && octets
            .iter()
            .all(|o| !o.is_empty() && o.len() <= 3 && o.parse::<u8>().is_ok())
}

/// The host of a serialized origin (`[::1]` keeps its brackets).
pub fn origin_host(origin: &str) -> &str {
    let rest = origin.split_once("://").map_or(origin, |(_, r)| r);
    if rest.starts_with('[') {
        rest.split_inclusive(']').next().unwrap_or(rest)
    } else {
        rest.split(':').next().unwrap_or(rest)
    }
}

/// A serialized origin that may hold or serve the enclave: `https://`, or `http://` on loopback.
pub fn validate_secure_origin(origin: &str) -> Result<(), InvalidOrigin> {
    validate_origin(origin)?;
    if origin.starts_with("https://") || is_loopback_host(origin_host(origin)) {
        Ok(())
    } else {
        Err(InvalidOrigin::NotSecure(origin.to_owned()))
    }
}

/// Checks that `origin` is a serialized http(s) origin: lowercase scheme and host, optional
/// port, nothing else (no path, no trailing slash, no wildcard).
pub fn validate_origin(origin: &str) -> Result<(), InvalidOrigin> {
    let bad = || InvalidOrigin::Malformed(origin.to_owned());
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let (host, port) = if rest.starts_with('[') {
        // An IPv6 literal: `[…]`, then an optional `:port`.
        let end = rest.find(']').ok_or_else(bad)? + 1;
        match &rest[end..] {
            "" => (&rest[..end], None),
            tail => (&rest[..end], Some(tail.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
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
    /// A config whose every origin is valid and secure (https, or http on loopback).
    pub fn new(
        dir: impl Into<PathBuf>,
        allowed_parent_origins: Vec<String>,
    ) -> Result<Self, InvalidOrigin> {
        for o in &allowed_parent_origins {
            validate_secure_origin(o)?;
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
            .filter(|o| validate_secure_origin(o).is_ok())
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

/// Every powerful feature the enclave pages do not use, denied to them and to anything they embed.
pub const PERMISSIONS_POLICY: &str = "accelerometer=(), autoplay=(), bluetooth=(), camera=(), \
    clipboard-read=(), clipboard-write=(), display-capture=(), encrypted-media=(), fullscreen=(), \
    geolocation=(), gyroscope=(), hid=(), idle-detection=(), local-fonts=(), magnetometer=(), \
    microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-create=(), \
    publickey-credentials-get=(), screen-wake-lock=(), serial=(), storage-access=(), usb=(), \
    web-share=(), window-management=(), xr-spatial-tracking=()";

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
    let assets = static_files::static_files(&cfg.dir);
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
        .layer(fixed("origin-agent-cluster", "?1"))
        .layer(fixed("permissions-policy", PERMISSIONS_POLICY))
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
            "http://[::1]",
            "http://[::1]:8080",
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
            "http://127.0.0.1:80/x",
            "https://a.com; script-src *",
            "https://a.com:99999x",
            "ftp://a.com",
            "https://",
            "http://[::1]x",
            "http://[::1",
            "http://a:1:2",
        ] {
            assert!(validate_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_origins_must_be_https_except_on_loopback() {
        for ok in [
            "https://app.example.com",
            "http://localhost:8080",
            "http://127.0.0.1:8001",
            "http://127.9.9.9",
            "http://[::1]:8080",
        ] {
            validate_secure_origin(ok).unwrap();
        }
        for bad in [
            "http://app.example.com",
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
            "http://10.0.0.1:8080",
            "http://[::2]",
        ] {
            assert_eq!(
                validate_secure_origin(bad),
                Err(InvalidOrigin::NotSecure(bad.to_owned())),
                "{bad}"
            );
        }
        assert!(EnclaveWebConfig::new("dist", vec!["http://dapp.example.com".into()]).is_err());
        assert_eq!(origin_host("http://[::1]:80"), "[::1]");
        assert_eq!(origin_host("https://a.example:443"), "a.example");
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
