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
//! below.
//!
//! Records are written by one writer thread (the `writer` module) in group commits: it takes
//! every record waiting, gives each the next sequence of its owner, and writes the rows and the
//! owners' counters in one atomic, fsynced batch; then each read waiting for its record gets
//! its answer. So a read's content is returned only after its row is on disk, and concurrent
//! reads share one fsync instead of queueing for one each. (An earlier version took each
//! sequence with its own synced counter update under a lock, then wrote the row with another
//! fsync: two fsyncs per read, one at a time, about 2,000 reads a second at most here.)

mod writer;

use std::sync::Arc;

use protocol::identity::Identity;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::{Durability, RelayStore, RelayTable};

/// What the access log needs from a store: point reads and atomic, synced batches.
pub trait LogRows: Send + Sync + std::fmt::Debug {
    /// The row at `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String>;
    /// Writes every row or none, on disk before it returns.
    fn put_all_synced(&self, rows: &[(Vec<u8>, Vec<u8>)]) -> Result<(), String>;
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

/// The access log over a store. Clones share one writer; make one per store.
#[derive(Debug, Clone)]
pub struct AccessLog {
    rows: Arc<dyn LogRows>,
    writer: Arc<writer::Writer>,
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
    /// The access log in `rows`, with its writer thread (which ends with the last clone).
    pub fn new(rows: Arc<dyn LogRows>) -> Self {
        let writer = Arc::new(writer::Writer::start(rows.clone()));
        AccessLog { rows, writer }
    }

    /// Records a read: returns once its row is on disk, so the caller may then return the
    /// copy's content (and must not before).
    pub async fn record(&self, record: AccessRecord) -> Result<(), AccessLogError> {
        self.writer
            .record(record)?
            .await
            .map_err(|_| writer::stopped())?
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
            None => stored_count(&*self.rows, owner)?,
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

/// How many reads of `owner`'s data were recorded (the next sequence).
fn stored_count(rows: &dyn LogRows, owner: &Uuid) -> Result<u64, AccessLogError> {
    match rows
        .get(&counter_key(owner))
        .map_err(AccessLogError::Store)?
    {
        Some(bytes) => {
            Ok(u64::from_be_bytes(bytes.as_slice().try_into().map_err(
                |_| AccessLogError::Corrupt("counter is not 8 bytes".into()),
            )?))
        }
        None => Ok(0),
    }
}

impl LogRows for RelayStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        RelayStore::get(self, RelayTable::AccessLog, key).map_err(|e| e.to_string())
    }

    fn put_all_synced(&self, rows: &[(Vec<u8>, Vec<u8>)]) -> Result<(), String> {
        self.put_all(RelayTable::AccessLog, rows, Durability::Synced)
            .map_err(|e| e.to_string())
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

    #[tokio::test]
    async fn reads_are_listed_to_their_owner_newest_first_page_by_page_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let written: Vec<AccessRecord> = (1..=5).map(|t| record(alice, t)).collect();
        {
            let log = AccessLog::new(RelayStore::open(dir.path()).unwrap());
            for r in &written {
                log.record(r.clone()).await.unwrap();
            }
            log.record(record(bob, 99)).await.unwrap();
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

    /// The relay store, with its first batch held until the test releases it; records each
    /// batch's size.
    #[derive(Debug)]
    struct HeldFirstBatch {
        store: Arc<RelayStore>,
        gate: std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>,
        writing: std::sync::atomic::AtomicBool,
        batches: std::sync::Mutex<Vec<usize>>,
    }

    impl LogRows for HeldFirstBatch {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
            LogRows::get(&*self.store, key)
        }

        fn put_all_synced(&self, rows: &[(Vec<u8>, Vec<u8>)]) -> Result<(), String> {
            self.writing
                .store(true, std::sync::atomic::Ordering::SeqCst);
            if let Some(gate) = self.gate.lock().unwrap().take() {
                gate.recv().unwrap();
            }
            self.batches.lock().unwrap().push(rows.len());
            self.store.put_all_synced(rows)
        }
    }

    #[tokio::test]
    async fn records_that_wait_during_a_write_share_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let (release, gate) = std::sync::mpsc::channel();
        let rows = Arc::new(HeldFirstBatch {
            store: RelayStore::open(dir.path()).unwrap(),
            gate: std::sync::Mutex::new(Some(gate)),
            writing: std::sync::atomic::AtomicBool::new(false),
            batches: std::sync::Mutex::new(Vec::new()),
        });
        let log = AccessLog::new(rows.clone());
        let owner = Uuid::new_v4();
        let first = log.writer.record(record(owner, 0)).unwrap();
        while !rows.writing.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        // Queued while the first batch is being written.
        let waiting: Vec<_> = (1..=10)
            .map(|t| log.writer.record(record(owner, t)).unwrap())
            .collect();
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        for answer in waiting {
            answer.await.unwrap().unwrap();
        }
        // One record and its owner's count, then the ten and the count: two fsyncs, not eleven.
        assert_eq!(*rows.batches.lock().unwrap(), vec![2, 11]);
        let page = log.list(&owner, None, 100).unwrap();
        let times: Vec<u64> = page.items.iter().map(|r| r.at_ms).collect();
        assert_eq!(times, (0..=10).rev().collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_reads_of_many_owners_each_get_one_row_and_lose_none() {
        let dir = tempfile::tempdir().unwrap();
        let owners: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        {
            let log = AccessLog::new(RelayStore::open(dir.path()).unwrap());
            let tasks: Vec<_> = (0..300u64)
                .map(|i| {
                    let log = log.clone();
                    let owner = owners[i as usize % 3];
                    tokio::spawn(async move { log.record(record(owner, i)).await })
                })
                .collect();
            for task in tasks {
                task.await.unwrap().unwrap();
            }
        }
        let log = AccessLog::new(RelayStore::open(dir.path()).unwrap());
        for (n, owner) in owners.iter().enumerate() {
            let page = log.list(owner, None, MAX_ACCESS_PAGE).unwrap();
            let mut times: Vec<u64> = page.items.iter().map(|r| r.at_ms).collect();
            times.sort_unstable();
            let expected: Vec<u64> = (0..300).filter(|i| i % 3 == n as u64).collect();
            assert_eq!(times, expected, "every read of owner {n} recorded once");
            assert_eq!(page.next_cursor, None);
        }
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
