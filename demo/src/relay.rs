//! How a demo back end reaches the relay: over HTTP with the client library, at an address it
//! can connect to, signing in for the relay's *public* origin (the one browsers use, which the
//! Ed25519 sign-in text names).

use idos_client::Client;

use crate::error::DemoError;

/// A relay as a back end sees it.
#[derive(Debug, Clone)]
pub struct RelayTarget {
    /// A client of the relay (not signed in).
    pub client: Client,
    /// The relay's public origin (`http://localhost:8080`), named by the Ed25519 sign-in text
    /// and handed to pages.
    pub public_origin: String,
}

impl RelayTarget {
    /// The relay reached at `base_url`, known to browsers as `public_origin`.
    pub fn new(base_url: &str, public_origin: impl Into<String>) -> Result<Self, DemoError> {
        Ok(RelayTarget {
            client: Client::new(base_url)?,
            public_origin: public_origin.into(),
        })
    }

    /// The idOS chain id behind the relay (asked each time: a relay may be restarted against
    /// another node).
    pub async fn chain_id(&self) -> Result<String, DemoError> {
        Ok(self.client.chain().await?.chain_id)
    }
}
