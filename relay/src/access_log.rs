//! The access log (DESIGN §5.6): every read of a shared copy through this relay, recorded
//! durably before its content is returned (reader, copy, original owner, time, request id), and
//! listed to the owner, newest first, a page at a time.
//!
//! It covers reads through this relay only: a grantee that reads a node directly (with its own
//! signed read, or through another relay) leaves no row here.
//!
//! Layout, in the relay store's `access_log` table (see [`LogRows`]):
//! - `owner user id (16) ‖ b'n'` → how many reads of the owner's data were recorded (u64 BE);
//! - `owner user id (16) ‖ b'r' ‖ sequence (u64 BE)` → the [`AccessRecord`] as JSON.
//!
//! A page reads its rows by sequence, key by key from the newest (`limit` point reads, no
//! scan), so listing costs in proportion to the page. The cursor is the sequence to continue
//! below. A crash between taking a sequence number and writing its row leaves a gap that
//! listing skips; the content of such a read was never returned (the row is written, synced,
//! before the answer).

use std::sync::Arc;

use protocol::identity::Identity;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::{Durability, RelayStore, RelayTable};

/// What the access log needs from a store: point reads, synced writes and a synced counter.
pub trait LogRows: Send + Sync + std::fmt::Debug {
    /// The row at `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String>;
    /// Writes a row, on disk before it returns.
    fn put_synced(&self, key: &[u8], value: &[u8]) -> Result<(), String>;
    /// Adds one to the counter at `key` (on disk before it returns) and returns its value
    /// before (0 for none). Two calls never return the same value.
    fn next_sequence(&self, key: &[u8]) -> Result<u64, String>;
}

/// One read of a shared copy through this relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessRecord {
    /// Who read (the signed-in grantee).
    #[schema(value_type = String)]
    pub reader: Identity,
    /// The copy read.
    pub copy_id: Uuid,
    /// Its original, when the node named one.
    pub original_id: Option<Uuid>,
    /// The owner (profile id) of the data.
    pub owner_user_id: Uuid,
    /// When, unix milliseconds.
    pub at_ms: u64,
    /// The request's id (`x-request-id`), to find it in the relay's logs.
    pub request_id: String,
}

/// A page of an owner's access log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessPage {
    pub items: Vec<AccessRecord>,
    /// Pass it as `cursor` for the next (older) page; `None` when there is none.
    pub next_cursor: Option<String>,
}

/// The access log over a store.
#[derive(Debug, Clone)]
pub struct AccessLog {
    rows: Arc<dyn LogRows>,
}

/// Most rows of one page.
pub const MAX_ACCESS_PAGE: u32 = 1000;

fn counter_key(owner: &Uuid) -> Vec<u8> {
    let mut key = owner.as_bytes().to_vec();
    key.push(b'n');
    key
}

fn row_key(owner: &Uuid, sequence: u64) -> Vec<u8> {
    let mut key = owner.as_bytes().to_vec();
    key.push(b'r');
    key.extend_from_slice(&sequence.to_be_bytes());
    key
}

/// Why the access log could not record or list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessLogError {
    /// The store failed.
    #[error("access log store: {0}")]
    Store(String),
    /// A stored row does not decode.
    #[error("corrupt access log row: {0}")]
    Corrupt(String),
    /// A cursor that no page gave.
    #[error("cursor {0:?} is not one this access log gave; pass a page's next_cursor unchanged")]
    BadCursor(String),
}

impl AccessLog {
    /// The access log in `rows`.
    pub fn new(rows: Arc<dyn LogRows>) -> Self {
        AccessLog { rows }
    }

    /// Records a read, durably, before the caller may return the copy's content.
    pub fn record(&self, record: &AccessRecord) -> Result<(), AccessLogError> {
        let sequence = self
            .rows
            .next_sequence(&counter_key(&record.owner_user_id))
            .map_err(AccessLogError::Store)?;
        let value =
            serde_json::to_vec(record).map_err(|e| AccessLogError::Corrupt(e.to_string()))?;
        self.rows
            .put_synced(&row_key(&record.owner_user_id, sequence), &value)
            .map_err(AccessLogError::Store)
    }

    /// A page of reads of `owner`'s data, newest first: at most `limit` rows below `cursor`.
    pub fn list(
        &self,
        owner: &Uuid,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<AccessPage, AccessLogError> {
        let limit = limit.clamp(1, MAX_ACCESS_PAGE);
        let below = match cursor {
            Some(text) => text
                .parse::<u64>()
                .map_err(|_| AccessLogError::BadCursor(text.chars().take(40).collect()))?,
            None => match self
                .rows
                .get(&counter_key(owner))
                .map_err(AccessLogError::Store)?
            {
                Some(bytes) => u64::from_be_bytes(
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| AccessLogError::Corrupt("counter is not 8 bytes".into()))?,
                ),
                None => 0,
            },
        };
        // `limit` point reads, whatever gaps there are: a page may hold fewer rows.
        let mut items = Vec::new();
        let mut sequence = below;
        let end = below.saturating_sub(u64::from(limit));
        while sequence > end {
            sequence -= 1;
            if let Some(value) = self
                .rows
                .get(&row_key(owner, sequence))
                .map_err(AccessLogError::Store)?
            {
                items.push(
                    serde_json::from_slice(&value)
                        .map_err(|e| AccessLogError::Corrupt(e.to_string()))?,
                );
            }
        }
        Ok(AccessPage {
            items,
            next_cursor: (sequence > 0).then(|| sequence.to_string()),
        })
    }
}

impl LogRows for RelayStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        RelayStore::get(self, RelayTable::AccessLog, key).map_err(|e| e.to_string())
    }

    fn put_synced(&self, key: &[u8], value: &[u8]) -> Result<(), String> {
        self.put(RelayTable::AccessLog, key, value, Durability::Synced)
            .map_err(|e| e.to_string())
    }

    fn next_sequence(&self, key: &[u8]) -> Result<u64, String> {
        let mut before = 0;
        self.update(RelayTable::AccessLog, key, |old| {
            before = old
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            Some(before.saturating_add(1).to_be_bytes().to_vec())
        })
        .map_err(|e| e.to_string())?;
        Ok(before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(owner: Uuid, at_ms: u64) -> AccessRecord {
        AccessRecord {
            reader: Identity::parse(&"ab".repeat(32)).unwrap(),
            copy_id: Uuid::new_v4(),
            original_id: Some(Uuid::new_v4()),
            owner_user_id: owner,
            at_ms,
            request_id: format!("req-{at_ms}"),
        }
    }

    #[test]
    fn reads_are_listed_to_their_owner_newest_first_page_by_page_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let written: Vec<AccessRecord> = (1..=5).map(|t| record(alice, t)).collect();
        {
            let log = AccessLog::new(RelayStore::open(dir.path()).unwrap());
            for r in &written {
                log.record(r).unwrap();
            }
            log.record(&record(bob, 99)).unwrap();
        }
        let log = AccessLog::new(RelayStore::open(dir.path()).unwrap());
        let first = log.list(&alice, None, 2).unwrap();
        assert_eq!(first.items, vec![written[4].clone(), written[3].clone()]);
        let second = log.list(&alice, first.next_cursor.as_deref(), 2).unwrap();
        assert_eq!(second.items, vec![written[2].clone(), written[1].clone()]);
        let last = log.list(&alice, second.next_cursor.as_deref(), 2).unwrap();
        assert_eq!(last.items, vec![written[0].clone()]);
        assert_eq!(last.next_cursor, None);
        let bobs = log.list(&bob, None, 10).unwrap();
        assert_eq!(bobs.items.len(), 1);
        assert_eq!(bobs.items[0].owner_user_id, bob);
        assert!(
            log.list(&Uuid::new_v4(), None, 10)
                .unwrap()
                .items
                .is_empty()
        );
    }

    #[test]
    fn fail_a_cursor_no_page_gave_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let log = AccessLog::new(RelayStore::open(dir.path()).unwrap());
        assert!(matches!(
            log.list(&Uuid::new_v4(), Some("not-a-number"), 10),
            Err(AccessLogError::BadCursor(_))
        ));
    }
}
