//! The enclave's one error type: a stable machine-readable `code` and a message a person can act
//! on. Every failure a host page can observe is one of these; nothing panics across the wire.
//! No error ever carries secret material (passwords, keys, plaintext).

use serde::Serialize;

/// A typed error as it travels to the host page: `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnclaveError {
    /// Stable snake_case code (see ARCHITECTURE.md, "Enclave error codes").
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// Every code the enclave itself produces. Codes from `protocol::Error::code` (for example
/// `decryption_failed`, `invalid_base64`) pass through unchanged.
pub mod codes {
    /// The page embedding the enclave is not on the allow-list, or could not be determined.
    pub const ORIGIN_NOT_ALLOWED: &str = "origin_not_allowed";
    /// The enclave's own configuration (config.json) could not be loaded.
    pub const CONFIG_UNAVAILABLE: &str = "config_unavailable";
    /// A method name outside the documented list.
    pub const UNKNOWN_METHOD: &str = "unknown_method";
    /// The parameters of a request do not have the documented shape.
    pub const BAD_REQUEST: &str = "bad_request";
    /// `configure` has not been called yet.
    pub const NOT_CONFIGURED: &str = "not_configured";
    /// The password does not produce the expected public key.
    pub const WRONG_PASSWORD: &str = "wrong_password";
    /// The user declined the request in the dialog.
    pub const USER_DENIED: &str = "user_denied";
    /// The user closed the dialog without answering.
    pub const DIALOG_CLOSED: &str = "dialog_closed";
    /// The browser refused to open the dialog window.
    pub const POPUP_BLOCKED: &str = "popup_blocked";
    /// The user did not click the enclave's button in time.
    pub const TIMED_OUT: &str = "timed_out";
    /// Another request that needs the user is still waiting for them.
    pub const BUSY: &str = "busy";
    /// The enclave origin's storage (IndexedDB / WebCrypto) failed.
    pub const STORAGE_FAILED: &str = "storage_failed";
    /// A key from storage or the dialog does not match the configured public key.
    pub const KEY_MISMATCH: &str = "key_mismatch";
    /// Decrypted content is not the JSON the filter needs.
    pub const NOT_JSON: &str = "not_json";
    /// Anything unexpected from the browser.
    pub const INTERNAL: &str = "internal";
}

impl EnclaveError {
    /// An error with the given code and message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        EnclaveError {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// A request whose parameters do not fit.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(codes::BAD_REQUEST, message)
    }

    /// A browser API failure, with a short description of what was being done.
    pub fn internal(doing: &str) -> Self {
        Self::new(codes::INTERNAL, format!("the browser failed while {doing}"))
    }
}

impl From<protocol::Error> for EnclaveError {
    fn from(e: protocol::Error) -> Self {
        EnclaveError {
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for EnclaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for EnclaveError {}

/// Result alias of the enclave.
pub type Result<T, E = EnclaveError> = std::result::Result<T, E>;

impl From<EnclaveError> for wasm_bindgen::JsValue {
    fn from(e: EnclaveError) -> Self {
        wasm_bindgen::JsValue::from_str(&e.to_string())
    }
}
