//! The idOS state machine: what each action checks and changes, and what each read returns.
//!
//! - `exec`: transactions (idOS's mutating actions), against layered `Working` state;
//! - `read`: queries (idOS's views), against any `Read` (from `idos-state`, which clients
//!   re-run over proven entries);
//! - `role`: who may sign each action at all, checked before a nonce is used up;
//! - `verify`: the stateless checks (signatures, chain id);
//! - `access` (from `idos-state`, re-exported here): lookups both share, and the index
//!   maintenance every write goes through.

pub mod exec;
pub mod role;
pub mod verify;

pub use idos_state::access::*;
pub use idos_state::{directory, read, rows};
