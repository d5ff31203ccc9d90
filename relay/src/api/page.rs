//! Lists and answers: `?cursor=&limit=` into the node's [`PageRequest`], and every read's
//! answer as `{height, app_hash, data}` (the state it was read at, then what was read; a list's
//! `data` is `{items, next_cursor}`).

use protocol::query::{DEFAULT_PAGE_SIZE, PageRequest};
use protocol::records::{Cursor, QueryAnswer};
use serde::{Deserialize, Serialize};

use super::error::ApiError;

/// Which page of a list to read.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// The previous page's `next_cursor` (base64), unchanged; absent for the first page.
    pub cursor: Option<String>,
    /// The most rows to return, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

impl PageParams {
    /// The node's page request, checked (bad base64, an oversize cursor or a limit out of
    /// bounds is a 400 with the protocol's code).
    pub fn request(&self) -> Result<PageRequest, ApiError> {
        page_request(self.cursor.as_deref(), self.limit)
    }
}

/// The node's page request from a cursor text and a limit.
pub fn page_request(cursor: Option<&str>, limit: Option<u32>) -> Result<PageRequest, ApiError> {
    let after = match cursor.filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => {
            let bytes = protocol::bytes::Bytes::from_base64("cursor", text)?;
            Some(Cursor::new(bytes.to_vec())?)
        }
    };
    let page = PageRequest {
        after,
        limit: limit.unwrap_or(DEFAULT_PAGE_SIZE),
    };
    page.validate()?;
    Ok(page)
}

/// A read's answer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Answer {
    /// The committed height the node read at.
    pub height: u64,
    /// The app hash at that height (hex).
    pub app_hash: String,
    /// What was read: a record, a page `{items, next_cursor}`, a boolean, a count or a text.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl Answer {
    /// The answer to a read: its state, and the output's value.
    pub fn from_node(answer: QueryAnswer) -> Result<Answer, ApiError> {
        let output = serde_json::to_value(&answer.output).map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("cannot render the answer: {e}"),
            )
        })?;
        Ok(Answer {
            height: answer.height,
            app_hash: answer.app_hash.to_string(),
            data: output
                .get("value")
                .cloned()
                .unwrap_or(serde_json::Value::Null),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_bad_cursors_and_limits_get_protocol_codes() {
        for (cursor, limit, code) in [
            (Some("%%%"), None, "invalid_base64"),
            (Some(&*"QUFB".repeat(30)), None, "too_large"),
            (None, Some(0), "invalid_field"),
            (None, Some(1001), "invalid_field"),
        ] {
            let err = page_request(cursor, limit).unwrap_err();
            assert_eq!((err.status.as_u16(), err.code.as_str()), (400, code));
        }
        let page = page_request(Some("AAE="), Some(5)).unwrap();
        assert_eq!(page.after.unwrap().as_bytes(), &[0, 1]);
        assert_eq!(page.limit, 5);
    }
}
