//! The embedded single-validator chain: a mempool, a block producer in the same process, and
//! the block store. Its JSON-RPC face is [`crate::rpc`].
//!
//! The producer makes a block as soon as there is work, and an empty one every `heartbeat`
//! while idle, but at most one per `block_linger`: transactions arriving while a block executes, or before the next may
//! start, form the next block, so batches grow with load. A new
//! chain commits one empty block at start, as CometBFT does, so that every answer names a
//! block and an app hash. Each
//! block's state changes, its transactions and their results, and the new height and app
//! hash are written in one RocksDB batch (fsynced when the store syncs), so after a crash the
//! node restarts at the last whole block.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use borsh::{BorshDeserialize, BorshSerialize};
use protocol::bytes::Sha256Digest;
use tendermint::abci::types::ExecTxResult;
use tendermint::abci::{Code, Event, EventAttributeIndexExt};
use tendermint::block::Header;
use tendermint::block::signed_header::SignedHeader;
use tokio::sync::{oneshot, watch};

use crate::abci::exec_tx_result;
use crate::app::{App, CheckedTx};
use crate::error::{NodeError, NodeResult};
pub use crate::light_block::Validator;
use crate::store::{Changes, Read, Table, Write};

/// Mempool and block limits. The byte limits default to CometBFT's (`mempool.max_tx_bytes`,
/// `mempool.max_txs_bytes`, `block.max_bytes`), so memory and disk stay bounded under spam.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// Transactions waiting beyond this many are turned away with
    /// [`NodeError::MempoolFull`] (a JSON-RPC error to retry, as CometBFT answers).
    pub max_mempool_txs: usize,
    /// Total bytes of the transactions waiting, likewise (default 1 GiB).
    pub max_mempool_bytes: usize,
    /// Largest transaction accepted into the mempool (default 1 MiB, at most
    /// `protocol::tx::MAX_TRANSACTION_BYTES`).
    pub max_tx_bytes: usize,
    /// At most this many transactions per block.
    pub max_block_txs: usize,
    /// At most this many bytes of transactions per block (default 21 MiB, CometBFT's
    /// `block.max_bytes`; at least `max_tx_bytes`).
    pub max_block_bytes: usize,
    /// The shortest time from the start of one block to the start of the next: transactions
    /// arriving meanwhile gather for the next block (a full block goes at once). On an idle
    /// chain a transaction's block starts as soon as it arrives; under load blocks come at
    /// most this often and grow with the load, which spreads each block's fixed costs (the
    /// commit's fsync, the block record) over more transactions.
    pub block_linger: Duration,
    /// An idle chain makes an empty block this long after the last block started (`None`:
    /// none while idle). Signed headers of bounded age let a client refuse stale answers
    /// (`idos_verify::Freshness::max_header_age`) even when nobody writes; an empty block
    /// changes no state, so it keeps the app hash and costs a block record and a tree root.
    pub heartbeat: Option<Duration>,
}

impl Default for ChainConfig {
    fn default() -> Self {
        ChainConfig {
            max_mempool_txs: 100_000,
            max_mempool_bytes: 1_073_741_824,
            max_tx_bytes: protocol::tx::MAX_TRANSACTION_BYTES,
            max_block_txs: 5_000,
            max_block_bytes: 22_020_096,
            block_linger: Duration::from_millis(20),
            heartbeat: Some(Duration::from_secs(30)),
        }
    }
}

impl ChainConfig {
    /// The limits made consistent: each at least 1, one transaction no bigger than the
    /// protocol allows, and a block able to hold the largest transaction.
    pub fn normalized(mut self) -> Self {
        self.max_mempool_txs = self.max_mempool_txs.max(1);
        self.max_block_txs = self.max_block_txs.max(1);
        self.max_tx_bytes = self
            .max_tx_bytes
            .clamp(1, protocol::tx::MAX_TRANSACTION_BYTES);
        self.max_block_bytes = self.max_block_bytes.max(self.max_tx_bytes);
        self.max_mempool_bytes = self.max_mempool_bytes.max(self.max_tx_bytes);
        self
    }
}

/// A transaction's result as stored with its block.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct StoredResult {
    pub code: u32,
    pub log: String,
    pub info: String,
    pub codespace: String,
    /// `(type, [(key, value)])`
    pub events: Vec<(String, Vec<(String, String)>)>,
}

impl StoredResult {
    fn from_exec(r: &ExecTxResult) -> Self {
        StoredResult {
            code: r.code.value(),
            log: r.log.clone(),
            info: r.info.clone(),
            codespace: r.codespace.clone(),
            events: r
                .events
                .iter()
                .map(|e| {
                    let attributes = e
                        .attributes
                        .iter()
                        .map(|a| {
                            (
                                a.key_str().unwrap_or_default().to_owned(),
                                a.value_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect();
                    (e.kind.clone(), attributes)
                })
                .collect(),
        }
    }

    pub fn to_exec(&self) -> ExecTxResult {
        ExecTxResult {
            code: Code::from(self.code),
            log: self.log.clone(),
            info: self.info.clone(),
            codespace: self.codespace.clone(),
            events: self
                .events
                .iter()
                .map(|(kind, attributes)| {
                    Event::new(
                        kind.clone(),
                        attributes
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()).index()),
                    )
                })
                .collect(),
            ..Default::default()
        }
    }
}

/// A block as the embedded chain stores it.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct StoredBlock {
    pub height: u64,
    pub time_seconds: i64,
    pub time_nanos: u32,
    pub txs: Vec<Vec<u8>>,
    pub results: Vec<StoredResult>,
    /// The app hash before this block (CometBFT headers carry the previous block's result).
    pub app_hash_before: Vec<u8>,
    /// The app hash this block led to.
    pub app_hash_after: Vec<u8>,
    /// The previous block's hash (empty at height 1).
    pub last_block_hash: Vec<u8>,
}

/// Where a committed transaction is.
#[derive(Debug, Clone, Copy, BorshSerialize, BorshDeserialize)]
pub struct TxLocation {
    pub height: u64,
    pub index: u32,
}

/// What `broadcast_tx_commit` waits for.
#[derive(Debug, Clone)]
pub struct Committed {
    pub height: u64,
    pub index: u32,
    pub result: ExecTxResult,
}

struct Pending {
    hash: Sha256Digest,
    bytes: Vec<u8>,
}

#[derive(Default)]
struct Mempool {
    txs: VecDeque<Pending>,
    /// Total bytes of `txs`.
    bytes: usize,
    waiters: HashMap<[u8; 32], Vec<oneshot::Sender<Committed>>>,
    stopping: bool,
}

/// The embedded chain.
pub struct Chain {
    app: Arc<App>,
    config: ChainConfig,
    validator: Validator,
    mempool: Mutex<Mempool>,
    work: Condvar,
    height: watch::Sender<u64>,
    /// Why the producer stopped on its own (a storage failure), if it did.
    fault: watch::Sender<Option<String>>,
    producer: Mutex<Option<JoinHandle<()>>>,
    /// The last committed block's header hash and time (none before the first block).
    last_block: Mutex<LastBlock>,
}

/// What the next block's header needs of the last one.
#[derive(Debug, Clone, Default)]
struct LastBlock {
    /// Header hash (empty before the first block).
    hash: Vec<u8>,
    /// Block time: unix seconds and nanoseconds.
    time: (i64, u32),
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("height", &*self.height.borrow())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Chain {
    /// Starts the block producer over an initialized `app`.
    pub fn start(
        app: Arc<App>,
        validator: Validator,
        config: ChainConfig,
    ) -> NodeResult<Arc<Chain>> {
        if app.genesis().is_none() {
            return Err(NodeError::Unavailable("the chain has no genesis".into()));
        }
        let (height, _) = watch::channel(app.committed().height);
        let last_height = app.committed().height;
        let chain = Arc::new(Chain {
            last_block: Mutex::new(LastBlock::default()),
            app,
            config: config.normalized(),
            validator,
            mempool: Mutex::new(Mempool::default()),
            work: Condvar::new(),
            height,
            fault: watch::channel(None).0,
            producer: Mutex::new(None),
        });
        // A chain stopped right after a block that changed the state owes its proof block.
        let mut proof_block_due = false;
        if last_height > 0 {
            let last = chain.block(last_height)?.ok_or_else(|| {
                NodeError::corrupt(
                    "block store",
                    format!("block {last_height}, the last committed one, is missing"),
                )
            })?;
            *lock(&chain.last_block) = LastBlock {
                hash: chain.header(&last)?.hash().as_bytes().to_vec(),
                time: (last.time_seconds, last.time_nanos),
            };
            proof_block_due = last.app_hash_after != last.app_hash_before;
        } else {
            // As CometBFT: a new chain commits a first block at once, so that `status`, `block`
            // and every read name a block hash and an app hash from the start.
            chain.produce_block(Vec::new())?;
        }
        let producer = chain.clone();
        let handle = std::thread::Builder::new()
            .name("idos-block-producer".into())
            .spawn(move || producer.produce_blocks(proof_block_due))
            .map_err(NodeError::io("starting the block producer thread"))?;
        *lock(&chain.producer) = Some(handle);
        Ok(chain)
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// Watches the committed height.
    /// Resolves when the block producer has stopped on a failure, with what went wrong.
    pub async fn failed(&self) -> String {
        let mut fault = self.fault.subscribe();
        loop {
            if let Some(reason) = fault.borrow_and_update().clone() {
                return reason;
            }
            if fault.changed().await.is_err() {
                return "the block producer is gone".into();
            }
        }
    }

    /// Why the block producer stopped on its own, if it did.
    pub fn fault(&self) -> Option<String> {
        self.fault.borrow().clone()
    }

    pub fn subscribe_height(&self) -> watch::Receiver<u64> {
        self.height.subscribe()
    }

    /// Checks a transaction and queues it for the next block (`broadcast_tx_sync`).
    pub fn submit(&self, bytes: Vec<u8>) -> NodeResult<CheckedTx> {
        self.submit_inner(bytes, None)
    }

    /// Like [`Chain::submit`], with a receiver of the transaction's committed result
    /// (`broadcast_tx_commit`).
    pub fn submit_and_watch(
        &self,
        bytes: Vec<u8>,
    ) -> NodeResult<(CheckedTx, oneshot::Receiver<Committed>)> {
        let (tx, rx) = oneshot::channel();
        let checked = self.submit_inner(bytes, Some(tx))?;
        Ok((checked, rx))
    }

    fn submit_inner(
        &self,
        bytes: Vec<u8>,
        waiter: Option<oneshot::Sender<Committed>>,
    ) -> NodeResult<CheckedTx> {
        // As CometBFT's mempool: size and room first, before any CheckTx work.
        self.check_room(bytes.len())?;
        // Signatures are verified before taking the mempool lock, so submitters verify in
        // parallel; the app caches the result for the block.
        let (stx, hash) = self.app.preverify(&bytes)?;
        let mut mempool = lock(&self.mempool);
        self.room_for(&mempool, bytes.len())?;
        let checked = self.app.admit(&stx, hash, crate::app::CheckKind::New)?;
        let bytes_len = bytes.len();
        if let Some(waiter) = waiter {
            mempool
                .waiters
                .entry(*checked.hash.as_bytes())
                .or_default()
                .push(waiter);
        }
        mempool.bytes += bytes.len();
        mempool.txs.push_back(Pending {
            hash: checked.hash,
            bytes,
        });
        // Wake the producer when there is work for an idle one, or a full block for one that
        // lingers; not for every transaction, which under load would wake it thousands of
        // times a second for nothing.
        if mempool.txs.len() == 1
            || mempool.txs.len() == self.config.max_block_txs
            || (mempool.bytes >= self.config.max_block_bytes
                && mempool.bytes - bytes_len < self.config.max_block_bytes)
        {
            self.work.notify_one();
        }
        Ok(checked)
    }

    /// What CometBFT's mempool checks before CheckTx: a transaction of `len` bytes is not
    /// too large and there is room for it (else [`NodeError::MempoolFull`]).
    pub fn check_room(&self, len: usize) -> NodeResult<()> {
        if len > self.config.max_tx_bytes {
            return Err(protocol::Error::TooLarge {
                what: "transaction",
                actual: len,
                limit: self.config.max_tx_bytes,
            }
            .into());
        }
        self.room_for(&lock(&self.mempool), len)
    }

    fn room_for(&self, mempool: &Mempool, len: usize) -> NodeResult<()> {
        if mempool.stopping {
            return Err(NodeError::Unavailable("the node is shutting down".into()));
        }
        if mempool.txs.len() >= self.config.max_mempool_txs
            || mempool.bytes + len > self.config.max_mempool_bytes
        {
            return Err(NodeError::MempoolFull {
                txs: mempool.txs.len(),
                max_txs: self.config.max_mempool_txs,
                bytes: mempool.bytes,
                max_bytes: self.config.max_mempool_bytes,
            });
        }
        Ok(())
    }

    /// How many transactions, and bytes, wait in the mempool.
    pub fn mempool_size(&self) -> (usize, usize) {
        let mempool = lock(&self.mempool);
        (mempool.txs.len(), mempool.bytes)
    }

    /// Stops the producer after the block in progress.
    pub fn stop(&self) {
        lock(&self.mempool).stopping = true;
        self.work.notify_all();
        if let Some(handle) = lock(&self.producer).take() {
            let _ = handle.join();
        }
    }

    fn produce_blocks(&self, mut proof_block_due: bool) {
        // When the last block started (the first, empty one, just before this thread).
        let mut last_start = Instant::now();
        loop {
            let txs: Vec<Pending> = {
                let mut mempool = lock(&self.mempool);
                // An idle chain waits for work, or until its heartbeat is due.
                let heartbeat_at = self
                    .config
                    .heartbeat
                    .and_then(|beat| last_start.checked_add(beat));
                while mempool.txs.is_empty() && !mempool.stopping && !proof_block_due {
                    match heartbeat_at {
                        None => {
                            mempool = self.work.wait(mempool).unwrap_or_else(|p| p.into_inner());
                        }
                        Some(at) => {
                            let left = at.saturating_duration_since(Instant::now());
                            if left.is_zero() {
                                break;
                            }
                            mempool = self
                                .work
                                .wait_timeout(mempool, left)
                                .unwrap_or_else(|p| p.into_inner())
                                .0;
                        }
                    }
                }
                let not_before = last_start.checked_add(self.config.block_linger);
                while !mempool.stopping
                    && mempool.txs.len() < self.config.max_block_txs
                    && mempool.bytes < self.config.max_block_bytes
                {
                    let left = not_before.map_or(Duration::MAX, |t| {
                        t.saturating_duration_since(Instant::now())
                    });
                    if left.is_zero() {
                        break;
                    }
                    mempool = self
                        .work
                        .wait_timeout(mempool, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                if mempool.stopping {
                    return;
                }
                // As many as the block's count and byte limits allow (always at least one:
                // no transaction is bigger than a block).
                let mut n = 0;
                let mut bytes = 0;
                for pending in mempool.txs.iter().take(self.config.max_block_txs) {
                    if n > 0 && bytes + pending.bytes.len() > self.config.max_block_bytes {
                        break;
                    }
                    n += 1;
                    bytes += pending.bytes.len();
                }
                mempool.bytes -= bytes;
                mempool.txs.drain(..n).collect()
            };
            last_start = Instant::now();
            let produced = self.produce_block(txs);
            // As CometBFT: a block that changed the state is followed by another, empty if
            // nothing waits, because a block's app hash is only in the next block's header:
            // without it nobody could prove what the block wrote.
            proof_block_due = matches!(produced, Ok(true));
            if let Err(e) = produced {
                // The block was not committed; nothing of it is durable. Stop producing
                // rather than diverge from what is stored.
                tracing::error!(
                    code = e.code(),
                    "block production failed, the producer stops: {e}"
                );
                let mut mempool = lock(&self.mempool);
                mempool.stopping = true;
                // Whoever waits for a commit learns now that it will not come.
                mempool.waiters.clear();
                drop(mempool);
                self.fault
                    .send_replace(Some(format!("block production failed: {e}")));
                return;
            }
        }
    }

    /// Executes and commits a block of `txs`; answers whether it changed the state.
    fn produce_block(&self, txs: Vec<Pending>) -> NodeResult<bool> {
        let previous = self.app.committed();
        let height = self.app.next_height();
        let last = lock(&self.last_block).clone();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        // Header times strictly increase, as a light client requires, even if the clock
        // goes backwards or two blocks fall in the same nanosecond.
        let (seconds, nanos) = later_than(last.time, (now.as_secs() as i64, now.subsec_nanos()));
        // The block record keeps the transactions' bytes: move them there, no copy.
        let (hashes, bytes): (Vec<Sha256Digest>, Vec<Vec<u8>>) =
            txs.into_iter().map(|p| (p.hash, p.bytes)).unzip();
        let (outcomes, app_hash) = self.app.finalize_block(height, seconds, &bytes)?;
        let results: Vec<ExecTxResult> = outcomes.iter().map(exec_tx_result).collect();
        let stored = StoredBlock {
            height,
            time_seconds: seconds,
            time_nanos: nanos,
            txs: bytes,
            results: results.iter().map(StoredResult::from_exec).collect(),
            app_hash_before: previous.app_hash.clone(),
            app_hash_after: app_hash,
            last_block_hash: last.hash,
        };
        let mut extra = Changes::default();
        extra.put_row(Table::Blocks, height.to_be_bytes().to_vec(), &stored);
        for (index, hash) in hashes.iter().enumerate() {
            let location = TxLocation {
                height,
                index: index as u32,
            };
            extra.put_row(Table::TxIndex, hash.as_bytes().to_vec(), &location);
        }
        // Submissions go on while the batch is written and fsynced: what waits in the mempool
        // was checked in nonce order after this block's transactions and stays valid.
        self.app.commit(extra)?;
        *lock(&self.last_block) = LastBlock {
            hash: self.header(&stored)?.hash().as_bytes().to_vec(),
            time: (seconds, nanos),
        };
        let waiters = {
            let mut mempool = lock(&self.mempool);
            hashes
                .iter()
                .enumerate()
                .filter_map(|(i, hash)| mempool.waiters.remove(hash.as_bytes()).map(|w| (i, w)))
                .collect::<Vec<_>>()
        };
        for (index, senders) in waiters {
            for sender in senders {
                let _ = sender.send(Committed {
                    height,
                    index: index as u32,
                    result: results[index].clone(),
                });
            }
        }
        self.height.send_replace(height);
        Ok(stored.app_hash_after != stored.app_hash_before)
    }

    /// A stored block.
    pub fn block(&self, height: u64) -> NodeResult<Option<StoredBlock>> {
        self.app.store().row(Table::Blocks, &height.to_be_bytes())
    }

    /// Where a committed transaction is, by hash.
    pub fn locate(&self, hash: &[u8]) -> NodeResult<Option<TxLocation>> {
        self.app.store().row(Table::TxIndex, hash)
    }

    /// The CometBFT header of a stored block.
    pub fn header(&self, b: &StoredBlock) -> NodeResult<Header> {
        crate::light_block::header(&self.chain_id(), &self.validator, b)
    }

    /// The header of block `height` with the validator's commit, if the block exists.
    pub fn signed_header(&self, height: u64) -> NodeResult<Option<SignedHeader>> {
        match self.block(height)? {
            Some(b) => Ok(Some(self.validator.signed_header(&self.chain_id(), &b)?)),
            None => Ok(None),
        }
    }

    fn chain_id(&self) -> String {
        self.app.genesis().map(|g| g.chain_id).unwrap_or_default()
    }
}

/// The first time strictly after `last`: `now` when the clock has moved on, else one
/// nanosecond after `last`.
fn later_than(last: (i64, u32), now: (i64, u32)) -> (i64, u32) {
    if now > last {
        now
    } else if last.1 < 999_999_999 {
        (last.0, last.1 + 1)
    } else {
        (last.0 + 1, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::later_than;

    #[test]
    fn block_times_strictly_increase_whatever_the_clock_does() {
        assert_eq!(later_than((10, 5), (11, 0)), (11, 0));
        assert_eq!(later_than((10, 5), (10, 6)), (10, 6));
        // The same instant, or a clock gone backwards: one nanosecond later.
        assert_eq!(later_than((10, 5), (10, 5)), (10, 6));
        assert_eq!(later_than((10, 5), (9, 999)), (10, 6));
        assert_eq!(later_than((10, 999_999_999), (3, 0)), (11, 0));
    }
}
