//! The iframe endpoint (`index.html`): the host page hands it a `MessagePort`; it checks the
//! host's origin against the allow-list served with the enclave (fail closed), then answers the
//! documented methods with `{id, result}` or `{id, error: {code, message}}`.
//!
//! - [`host`]: the handshake with the host page (allow-list, one connection, the port);
//! - [`dispatch`]: the methods, their parameters and what each needs from the user;
//! - [`keys`]: the key's lifecycle (unlock, remember per origin, expiry, password change);
//! - [`dialog_client`]: opening the dialog from a deliberate click and talking to it;
//! - [`click_guard`]: whether the enclave's button is fully visible, so a click is meant;
//! - [`verify_read`]: reads from a relay verified against the host's pinned validators.

pub mod click_guard;
pub mod dialog_client;
pub mod dispatch;
pub mod host;
pub mod keys;
pub mod verify_read;

use std::cell::RefCell;

use protocol::kdf::{KdfVersion, ScryptParams};

use crate::vault::Vault;

pub use dispatch::METHODS;
pub use host::{CONNECT, READY, check_parent_origin, is_secure_parent, start_enclave};

/// Everything the iframe page remembers while it lives.
pub(crate) struct Iframe {
    pub vault: Vault,
    /// The connected host's origin (set once, by the handshake).
    pub parent_origin: Option<String>,
    pub port: Option<web_sys::MessagePort>,
    /// None until config.json is loaded: every connection is then refused (fail closed).
    pub allowed: Option<Vec<String>>,
    /// A request is waiting for the user.
    pub busy: bool,
    pub kdf: ScryptParams,
    /// When the remembered key expires: the in-memory key goes too (None: not remembered, it
    /// lives as long as this page).
    pub key_expires_at: Option<f64>,
    /// A password change returned to the host but not yet confirmed as committed.
    pub pending_change: Option<keys::PendingChange>,
    /// Filters ([`crate::filter::Filter::canonical`]) the user approved for the connected
    /// origin during this page's life.
    pub approved_filters: Vec<String>,
    /// The newest state verified per trust root: older answers are stale.
    pub verified_heights: verify_read::VerifiedHeights,
}

thread_local! {
    static STATE: RefCell<Iframe> = RefCell::new(Iframe {
        vault: Vault::default(),
        parent_origin: None,
        port: None,
        allowed: None,
        busy: false,
        kdf: KdfVersion::default().scrypt_params(),
        key_expires_at: None,
        pending_change: None,
        approved_filters: Vec::new(),
        verified_heights: verify_read::VerifiedHeights::default(),
    });
}

/// Runs `f` on the iframe's state (never across an await).
pub(crate) fn with<R>(f: impl FnOnce(&mut Iframe) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}
