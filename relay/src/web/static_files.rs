//! Static files as the web origins serve them: from a directory, gzip-compressed when the
//! browser accepts it.
//!
//! Only files are compressed, never API answers or pages that carry per-request data: a
//! compressed response that mixes a secret with attacker-chosen text leaks the secret through
//! its length (BREACH), and static files hold neither. The enclave's SRI pins are unaffected:
//! integrity is checked over the decoded body.

use std::path::Path;

use tower::Layer;
use tower_http::compression::{Compression, CompressionLayer};
use tower_http::services::ServeDir;

/// The files under `dir`, gzip-compressed for browsers that send `Accept-Encoding: gzip` (text
/// and wasm shrink three- to fivefold; images and tiny files are sent as they are).
pub fn static_files(dir: &Path) -> Compression<ServeDir> {
    CompressionLayer::new()
        .gzip(true)
        .layer(ServeDir::new(dir).append_index_html_on_directories(true))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use axum::body::Body;
    use axum::http::{Request, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn fetch(dir: &Path, path: &str, accept: Option<&str>) -> (Option<String>, Vec<u8>) {
        let mut request = Request::builder().uri(path);
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT_ENCODING, accept);
        }
        let response = static_files(dir)
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let encoding = response
            .headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (encoding, body.to_vec())
    }

    fn site() -> (tempfile::TempDir, Vec<u8>) {
        let dir = tempfile::TempDir::new().unwrap();
        let script = "export const answer = 42;\n".repeat(200).into_bytes();
        std::fs::write(dir.path().join("site.js"), &script).unwrap();
        (dir, script)
    }

    #[tokio::test]
    async fn a_file_is_gzipped_for_a_browser_that_accepts_gzip_and_decodes_to_the_file() {
        let (dir, script) = site();
        let (encoding, body) = fetch(dir.path(), "/site.js", Some("gzip, deflate, br")).await;
        assert_eq!(encoding.as_deref(), Some("gzip"));
        assert!(body.len() < script.len() / 5, "{} bytes", body.len());
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, script);
    }

    #[tokio::test]
    async fn a_file_is_sent_as_it_is_to_a_client_that_does_not_accept_gzip() {
        let (dir, script) = site();
        for accept in [None, Some("identity"), Some("br")] {
            let (encoding, body) = fetch(dir.path(), "/site.js", accept).await;
            assert_eq!(encoding, None, "{accept:?}");
            assert_eq!(body, script, "{accept:?}");
        }
    }
}
