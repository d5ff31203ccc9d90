//! Which host pages may hold the enclave: plain Rust, so the rule is tested natively and in
//! the browser alike.

use crate::error::{EnclaveError, ErrorCode, Result};

/// Whether a host origin may hold the enclave at all: `https://`, or `http://` on a loopback
/// host (`localhost`, `127.0.0.0/8`, `[::1]`) for development.
pub fn is_secure_parent(origin: &str) -> bool {
    if origin.starts_with("https://") {
        return true;
    }
    let Some(rest) = origin.strip_prefix("http://") else {
        return false;
    };
    let host = if let Some(v6) = rest.strip_prefix('[') {
        v6.split(']').next().map(|h| format!("[{h}]"))
    } else {
        rest.split(':').next().map(str::to_owned)
    };
    match host.as_deref() {
        Some("localhost") | Some("[::1]") => true,
        Some(h) => {
            let octets: Vec<_> = h.split('.').collect();
            octets.len() == 4
                && octets[0] == "127"
                && octets
                    .iter()
                    .all(|o| !o.is_empty() && o.len() <= 3 && o.parse::<u8>().is_ok())
        }
        None => false,
    }
}

/// Decides whether a handshake from `origin` is accepted. Exact string comparison of the
/// serialized origin; `ancestorOrigins`, when present, must agree; plain `http://` only on
/// loopback.
pub fn check_parent_origin(
    origin: &str,
    allowed: Option<&[String]>,
    ancestor: Option<&str>,
) -> Result<()> {
    let refuse = |why: &str| {
        EnclaveError::new(
            ErrorCode::OriginNotAllowed,
            format!("the enclave refuses this page: {why}"),
        )
    };
    let allowed = allowed.ok_or_else(|| {
        EnclaveError::new(
            ErrorCode::ConfigUnavailable,
            "the enclave's allow-list is not loaded; refusing every page",
        )
    })?;
    if origin.is_empty() || origin == "null" {
        return Err(refuse("its origin cannot be determined"));
    }
    if let Some(a) = ancestor
        && a != origin
    {
        return Err(refuse(
            "the message origin and the frame's ancestor origin disagree",
        ));
    }
    if !allowed.iter().any(|a| a == origin) {
        return Err(refuse(&format!("{origin} is not on the allow-list")));
    }
    if !is_secure_parent(origin) {
        return Err(refuse(&format!(
            "{origin} is not https:// (plain http:// is accepted on loopback only)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_parents_are_secure() {
        for ok in [
            "https://app.example.com",
            "https://app.example.com:8443",
            "http://localhost:8080",
            "http://localhost",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:8080",
        ] {
            assert!(is_secure_parent(ok), "{ok}");
        }
        for bad in [
            "http://app.example.com",
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
            "http://128.0.0.1",
            "http://[::2]",
            "ftp://localhost",
            "null",
        ] {
            assert!(!is_secure_parent(bad), "{bad}");
        }
    }

    #[test]
    fn a_listed_origin_that_is_not_secure_is_refused() {
        let listed = vec![
            "http://app.example.com".to_owned(),
            "https://app.example.com".to_owned(),
        ];
        let err = check_parent_origin("http://app.example.com", Some(&listed), None).unwrap_err();
        assert_eq!(err.code, ErrorCode::OriginNotAllowed);
        assert!(err.message.contains("not https://"), "{}", err.message);
        check_parent_origin("https://app.example.com", Some(&listed), None).unwrap();
        let err = check_parent_origin("https://other.example", Some(&listed), None).unwrap_err();
        assert!(
            err.message.contains("not on the allow-list"),
            "{}",
            err.message
        );
    }
}
