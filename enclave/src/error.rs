//! The enclave's one error type: a stable machine-readable [`ErrorCode`] and a message a person
//! can act on. Every failure a host page can observe is one of these; nothing panics across the
//! wire. No error ever carries secret material (passwords, keys, plaintext, field values).

use serde::{Serialize, Serializer};

/// What went wrong, as a stable snake_case code (see `www/sdk/README.md`, "Error codes").
/// Codes are never renamed or reused; new ones are appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The page embedding the enclave is not on the allow-list, or could not be determined.
    OriginNotAllowed,
    /// The enclave's own configuration (config.json) could not be loaded.
    ConfigUnavailable,
    /// A method name outside the documented list.
    UnknownMethod,
    /// The parameters of a request do not have the documented shape or exceed a limit.
    BadRequest,
    /// `configure` has not been called yet.
    NotConfigured,
    /// The key is not unlocked.
    Locked,
    /// The password does not produce the expected public key.
    WrongPassword,
    /// The user declined the request in the dialog.
    UserDenied,
    /// The user closed the dialog without answering.
    DialogClosed,
    /// The dialog stopped answering: it did not load, was navigated away, or hung.
    DialogLost,
    /// The browser refused to open the dialog window.
    PopupBlocked,
    /// The user did not click the enclave's button in time.
    TimedOut,
    /// Another request that needs the user is still waiting for them.
    Busy,
    /// The enclave origin's storage (IndexedDB / WebCrypto / sessionStorage) failed.
    StorageFailed,
    /// A key from storage or the dialog does not match the configured public key.
    KeyMismatch,
    /// Decrypted content is not the JSON (or text) the request needs.
    NotJson,
    /// `confirmPasswordChange` without a matching pending password change.
    NoPendingChange,
    /// Anything unexpected from the browser.
    Internal,
    /// A `protocol::Error` code (`decryption_failed`, `invalid_base64`, `bad_signature`, …),
    /// passed through unchanged.
    Protocol(&'static str),
    /// A read that did not verify: one of [`VERIFY_CODES`] (`idos-verify`'s codes, from the
    /// read verifier module).
    Unverified(&'static str),
}

/// Why a read does not verify, as the read verifier module (`enclave-verifier`, over
/// `idos-verify`) says: the header's checks, then the proofs'. The module's own list is
/// checked equal to this one by its tests.
pub const VERIFY_CODES: &[&str] = &[
    "chain_mismatch",
    "validator_set_mismatch",
    "header_not_signed",
    "header_from_future",
    "header_too_old",
    "stale_answer",
    "proof_malformed",
    "proof_value_mismatch",
    "proof_list_altered",
    "proof_absence_refuted",
    "proof_incomplete",
];

impl ErrorCode {
    /// Every code the enclave itself produces (not the `protocol` ones).
    pub const ENCLAVE_CODES: &'static [ErrorCode] = &[
        ErrorCode::OriginNotAllowed,
        ErrorCode::ConfigUnavailable,
        ErrorCode::UnknownMethod,
        ErrorCode::BadRequest,
        ErrorCode::NotConfigured,
        ErrorCode::Locked,
        ErrorCode::WrongPassword,
        ErrorCode::UserDenied,
        ErrorCode::DialogClosed,
        ErrorCode::DialogLost,
        ErrorCode::PopupBlocked,
        ErrorCode::TimedOut,
        ErrorCode::Busy,
        ErrorCode::StorageFailed,
        ErrorCode::KeyMismatch,
        ErrorCode::NotJson,
        ErrorCode::NoPendingChange,
        ErrorCode::Internal,
    ];

    /// The stable text of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::OriginNotAllowed => "origin_not_allowed",
            ErrorCode::ConfigUnavailable => "config_unavailable",
            ErrorCode::UnknownMethod => "unknown_method",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::NotConfigured => "not_configured",
            ErrorCode::Locked => "locked",
            ErrorCode::WrongPassword => "wrong_password",
            ErrorCode::UserDenied => "user_denied",
            ErrorCode::DialogClosed => "dialog_closed",
            ErrorCode::DialogLost => "dialog_lost",
            ErrorCode::PopupBlocked => "popup_blocked",
            ErrorCode::TimedOut => "timed_out",
            ErrorCode::Busy => "busy",
            ErrorCode::StorageFailed => "storage_failed",
            ErrorCode::KeyMismatch => "key_mismatch",
            ErrorCode::NotJson => "not_json",
            ErrorCode::NoPendingChange => "no_pending_change",
            ErrorCode::Internal => "internal",
            ErrorCode::Protocol(code) | ErrorCode::Unverified(code) => code,
        }
    }

    /// The verification code with this text (the read verifier module answers in text).
    pub fn unverified(text: &str) -> Option<ErrorCode> {
        VERIFY_CODES
            .iter()
            .find(|c| **c == text)
            .map(|c| ErrorCode::Unverified(c))
    }

    /// The enclave code with this text (`protocol` codes are not recognised here: an error
    /// that crossed a window boundary is trusted only for the enclave's own codes).
    pub fn parse(text: &str) -> Option<ErrorCode> {
        Self::ENCLAVE_CODES
            .iter()
            .copied()
            .find(|c| c.as_str() == text)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A typed error as it travels to the host page: `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnclaveError {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
}

impl EnclaveError {
    /// An error with the given code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        EnclaveError {
            code,
            message: message.into(),
        }
    }

    /// A request whose parameters do not fit.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// A browser API failure, with a short description of what was being done.
    pub fn internal(doing: &str) -> Self {
        Self::new(
            ErrorCode::Internal,
            format!("the browser failed while {doing}"),
        )
    }

    /// The same error, its message prefixed with some context.
    pub fn context(self, context: impl std::fmt::Display) -> Self {
        EnclaveError {
            code: self.code,
            message: format!("{context}: {}", self.message),
        }
    }
}

impl From<protocol::Error> for EnclaveError {
    fn from(e: protocol::Error) -> Self {
        EnclaveError {
            code: ErrorCode::Protocol(e.code()),
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

#[cfg(target_arch = "wasm32")]
impl From<EnclaveError> for wasm_bindgen::JsValue {
    fn from(e: EnclaveError) -> Self {
        wasm_bindgen::JsValue::from_str(&e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_pinned() {
        let texts: Vec<_> = ErrorCode::ENCLAVE_CODES
            .iter()
            .map(|c| c.as_str())
            .collect();
        assert_eq!(
            texts,
            [
                "origin_not_allowed",
                "config_unavailable",
                "unknown_method",
                "bad_request",
                "not_configured",
                "locked",
                "wrong_password",
                "user_denied",
                "dialog_closed",
                "dialog_lost",
                "popup_blocked",
                "timed_out",
                "busy",
                "storage_failed",
                "key_mismatch",
                "not_json",
                "no_pending_change",
                "internal",
            ]
        );
        for c in ErrorCode::ENCLAVE_CODES {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(*c));
        }
    }

    #[test]
    fn protocol_codes_pass_through_but_are_not_parsed_from_text() {
        let e: EnclaveError = protocol::Error::DecryptionFailed.into();
        assert_eq!(e.code.as_str(), "decryption_failed");
        assert_eq!(
            serde_json::to_value(&e).unwrap()["code"],
            "decryption_failed"
        );
        assert_eq!(ErrorCode::parse("decryption_failed"), None);
        assert_eq!(ErrorCode::parse("Internal"), None);
    }

    #[test]
    fn verification_codes_are_recognised_only_from_their_list() {
        for text in VERIFY_CODES {
            assert_eq!(ErrorCode::unverified(text).unwrap().as_str(), *text);
            assert_eq!(ErrorCode::parse(text), None);
        }
        assert_eq!(ErrorCode::unverified("internal"), None);
        assert_eq!(ErrorCode::unverified("proof_"), None);
    }
}
