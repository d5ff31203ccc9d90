//! The application's lifecycle over the store, in ABCI terms but free of any transport:
//! `init_chain`, `check_tx`, `finalize_block`, `commit`, `query`, `info`. The ABCI socket
//! server ([`crate::abci`]) and the embedded chain ([`crate::chain`]) both drive this type.
//!
//! Determinism: `finalize_block` depends only on committed state, the block's height, time and
//! transactions, and the genesis. Node-local settings (trusted gateway keys, the signature
//! cache) affect reads and speed, never results.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use protocol::bytes::{Ed25519PublicKey, Sha256Digest};
use protocol::identity::Identity;
use protocol::query::SignedQuery;
use protocol::records::QueryAnswer;
use protocol::tx::{SignedTransaction, tx_hash};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{NodeError, NodeResult};
use crate::state::exec::{Effects, execute_verified};
use crate::state::read::{ReadContext, answer};
use crate::state::verify::{EvmKeys, verify_stateless};
use crate::state::{BlockContext, next_nonce, set_nonce};
use crate::store::{Changes, Read, Store, Table, Working, Write};

/// The ABCI query path reads are served on.
pub const QUERY_PATH: &str = "/idos";

/// How many verified transaction hashes CheckTx remembers for FinalizeBlock.
const VERIFIED_CACHE_LIMIT: usize = 200_000;

/// What every node of a network agrees on before the first block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    pub chain_id: String,
    /// The network operator: adds inserters and their delegates.
    pub owner: Identity,
}

/// The `app_state` of a CometBFT genesis file for this application.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppState {
    pub owner: Identity,
}

/// Node-local settings (not part of consensus).
#[derive(Debug, Clone, Default)]
pub struct AppConfig {
    /// Gateway (relay) keys whose attestations of a read's caller this node accepts.
    pub trusted_gateways: Vec<Ed25519PublicKey>,
}

/// The last committed block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Committed {
    pub height: u64,
    /// Empty before the first block.
    pub app_hash: Vec<u8>,
    /// Block time, unix seconds.
    pub time: i64,
}

/// A transaction that passed CheckTx.
#[derive(Debug, Clone)]
pub struct CheckedTx {
    pub hash: Sha256Digest,
    pub signer: Identity,
    pub nonce: u64,
}

/// The result of one transaction of a block.
#[derive(Debug, Clone)]
pub struct TxOutcome {
    pub hash: Sha256Digest,
    /// The action's name, when the transaction could be decoded.
    pub action: Option<&'static str>,
    pub result: Result<Effects, NodeError>,
}

/// A finalized block waiting for `commit`.
#[derive(Debug)]
struct PendingBlock {
    /// Signers of the block's transactions.
    signers: Vec<Identity>,
    height: u64,
    time: i64,
    app_hash: Vec<u8>,
    changes: Changes,
}

mod meta {
    pub const GENESIS: &[u8] = b"genesis";
    pub const HEIGHT: &[u8] = b"height";
    pub const APP_HASH: &[u8] = b"app_hash";
    pub const TIME: &[u8] = b"time";
}

/// The idOS application.
#[derive(Debug)]
pub struct App {
    store: Arc<Store>,
    config: AppConfig,
    genesis: RwLock<Option<Genesis>>,
    committed: RwLock<Committed>,
    pending: Mutex<Option<PendingBlock>>,
    /// Next expected nonce of signers with transactions in the mempool.
    mempool_nonces: Mutex<HashMap<Identity, u64>>,
    /// Hashes of transactions whose stateless checks passed.
    verified: Mutex<HashSet<[u8; 32]>>,
    /// Public keys of EVM signers seen before.
    evm_keys: EvmKeys,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock is a bug; the data it guards is still consistent because
    // every critical section either completes or changes nothing durable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl App {
    /// Opens the application over `store`, resuming from its last commit.
    pub fn open(store: Arc<Store>, config: AppConfig) -> NodeResult<App> {
        let genesis = match store.get(Table::Meta, meta::GENESIS)? {
            Some(bytes) => Some(
                serde_json::from_slice(&bytes)
                    .map_err(|e| NodeError::Storage(format!("corrupt genesis: {e}")))?,
            ),
            None => None,
        };
        let committed = read_committed(&*store)?;
        Ok(App {
            store,
            config,
            genesis: RwLock::new(genesis),
            committed: RwLock::new(committed),
            pending: Mutex::new(None),
            mempool_nonces: Mutex::new(HashMap::new()),
            verified: Mutex::new(HashSet::new()),
            evm_keys: EvmKeys::default(),
        })
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The genesis, once the chain is initialized.
    pub fn genesis(&self) -> Option<Genesis> {
        self.genesis
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn require_genesis(&self) -> NodeResult<Genesis> {
        self.genesis().ok_or_else(|| {
            NodeError::Unavailable("the chain is not initialized yet (no InitChain)".into())
        })
    }

    pub fn committed(&self) -> Committed {
        self.committed
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records the genesis (ABCI InitChain). Idempotent for the same genesis, as CometBFT
    /// calls it again when it restarts before the first block; a different genesis over
    /// existing state is refused.
    pub fn init_chain(&self, genesis: Genesis) -> NodeResult<()> {
        protocol::tx::validate_chain_id(&genesis.chain_id)?;
        let mut current = self.genesis.write().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = &*current {
            if *existing == genesis {
                return Ok(());
            }
            return Err(NodeError::Unauthorized(format!(
                "this data directory belongs to chain {:?} (owner {}); refusing genesis for chain {:?}",
                existing.chain_id,
                existing.owner.identifier(),
                genesis.chain_id
            )));
        }
        let mut changes = Changes::default();
        let json = serde_json::to_vec(&genesis).map_err(|e| NodeError::Storage(e.to_string()))?;
        changes.put(Table::Meta, meta::GENESIS.to_vec(), json);
        self.store.commit(&changes)?;
        *current = Some(genesis);
        Ok(())
    }

    /// Decodes and verifies a transaction's signatures (see [`verify_stateless`]) and
    /// remembers that it passed, so that `check_tx` and `finalize_block` skip the work. Safe to
    /// call concurrently and without any lock held.
    pub fn preverify(&self, bytes: &[u8]) -> NodeResult<(SignedTransaction, Sha256Digest)> {
        let genesis = self.require_genesis()?;
        let stx = SignedTransaction::decode(bytes)?;
        let hash = tx_hash(bytes);
        if !lock(&self.verified).contains(hash.as_bytes()) {
            verify_stateless(&stx, &genesis.chain_id, &self.evm_keys)?;
            self.remember_verified(&hash);
        }
        Ok((stx, hash))
    }

    /// ABCI CheckTx: the stateless checks (skipped when already passed), then the nonce
    /// against committed state and the signer's transactions already in the mempool. After a
    /// commit the mempool's nonces start again from committed state, so CometBFT's re-check
    /// of the remaining transactions rebuilds them in order.
    pub fn check_tx(&self, bytes: &[u8]) -> NodeResult<CheckedTx> {
        let (stx, hash) = self.preverify(bytes)?;
        self.check_nonce(&stx, hash)
    }

    /// The nonce part of [`App::check_tx`], for a transaction that passed [`App::preverify`].
    pub fn check_nonce(
        &self,
        stx: &SignedTransaction,
        hash: Sha256Digest,
    ) -> NodeResult<CheckedTx> {
        let signer = stx.tx.signer;
        let mut nonces = lock(&self.mempool_nonces);
        let expected = match nonces.get(&signer) {
            Some(next) => *next,
            None => next_nonce(&*self.store, &signer)?,
        };
        if stx.tx.nonce != expected {
            return Err(NodeError::BadNonce {
                expected,
                got: stx.tx.nonce,
            });
        }
        nonces.insert(signer, expected + 1);
        Ok(CheckedTx {
            hash,
            signer,
            nonce: stx.tx.nonce,
        })
    }

    fn remember_verified(&self, hash: &Sha256Digest) {
        let mut verified = lock(&self.verified);
        if verified.len() >= VERIFIED_CACHE_LIMIT {
            // Forgetting only costs a second verification in FinalizeBlock.
            verified.clear();
        }
        verified.insert(*hash.as_bytes());
    }

    /// Executes a block (ABCI FinalizeBlock): one outcome per transaction, in order, and the
    /// app hash the block leads to. Nothing is durable until [`App::commit`].
    pub fn finalize_block(
        &self,
        height: u64,
        time: i64,
        txs: &[impl AsRef<[u8]>],
    ) -> NodeResult<(Vec<TxOutcome>, Vec<u8>)> {
        let genesis = self.require_genesis()?;
        let committed = self.committed();
        if height != committed.height + 1 {
            return Err(NodeError::Storage(format!(
                "asked to finalize height {height}, but the last committed height is {}",
                committed.height
            )));
        }
        let ctx = BlockContext {
            chain_id: genesis.chain_id.clone(),
            height,
            time,
            owner: genesis.owner,
        };
        let mut block = Changes::default();
        let mut outcomes = Vec::with_capacity(txs.len());
        let mut signers = Vec::new();
        for bytes in txs {
            let (outcome, signer) = self.deliver(&ctx, &mut block, bytes.as_ref())?;
            outcomes.push(outcome);
            signers.extend(signer);
        }
        signers.sort();
        signers.dedup();
        let app_hash = app_hash(&committed.app_hash, height, time, &block);
        *lock(&self.pending) = Some(PendingBlock {
            signers,
            height,
            time,
            app_hash: app_hash.clone(),
            changes: block,
        });
        Ok((outcomes, app_hash))
    }

    /// One transaction of a block. An `Err` here is a storage failure (the block cannot be
    /// executed); a refused transaction is an `Ok` outcome holding its error.
    fn deliver(
        &self,
        ctx: &BlockContext,
        block: &mut Changes,
        bytes: &[u8],
    ) -> NodeResult<(TxOutcome, Option<Identity>)> {
        let hash = tx_hash(bytes);
        let stx = match SignedTransaction::decode(bytes) {
            Ok(stx) => stx,
            Err(e) => {
                return Ok((
                    TxOutcome {
                        hash,
                        action: None,
                        result: Err(e.into()),
                    },
                    None,
                ));
            }
        };
        let action = Some(stx.tx.action.name());
        let refused = |e: NodeError| {
            Ok((
                TxOutcome {
                    hash,
                    action,
                    result: Err(e),
                },
                None,
            ))
        };
        let was_verified = lock(&self.verified).remove(hash.as_bytes());
        if !was_verified {
            if let Err(e) = verify_stateless(&stx, &ctx.chain_id, &self.evm_keys) {
                return refused(e);
            }
        }
        let signer = stx.tx.signer;
        let expected = next_nonce(&Working::new(&self.store, block), &signer)?;
        if stx.tx.nonce != expected {
            return refused(NodeError::BadNonce {
                expected,
                got: stx.tx.nonce,
            });
        }
        let mut working = Working::new(&self.store, block);
        let result = execute_verified(&mut working, ctx, &stx);
        let changes = working.into_changes();
        match &result {
            Ok(_) => block.absorb(changes),
            Err(NodeError::Storage(_)) => return Err(result.unwrap_err()),
            // A refused action still uses up its nonce, so it cannot be replayed.
            Err(_) => {}
        }
        set_nonce(block, &signer, stx.tx.nonce);
        Ok((
            TxOutcome {
                hash,
                action,
                result,
            },
            Some(signer),
        ))
    }

    /// Makes the finalized block durable (ABCI Commit): its state changes, `extra` (the
    /// embedded chain's block store) and the new height, time and app hash, in one atomic
    /// write. The mempool's nonces start again from committed state: CometBFT re-checks the
    /// transactions still in its mempool after every commit, in order, which rebuilds them.
    pub fn commit(&self, extra: Changes) -> NodeResult<Committed> {
        let (changes, pending) = self.take_pending(extra)?;
        let mut nonces = lock(&self.mempool_nonces);
        self.store.commit(&changes)?;
        nonces.clear();
        drop(nonces);
        Ok(self.publish(pending))
    }

    /// [`App::commit`] for a mempool that is never re-checked (the embedded chain's): the
    /// nonces of transactions still waiting stay valid, since they were checked in order
    /// after those of the block. Nothing is locked while the batch is written, so CheckTx
    /// goes on during the fsync.
    pub fn commit_keeping_mempool(&self, extra: Changes) -> NodeResult<Committed> {
        let (changes, pending) = self.take_pending(extra)?;
        self.store.commit(&changes)?;
        let signers = pending.signers.clone();
        let committed = self.publish(pending);
        // Forget signers with nothing left in the mempool: their next nonce is in the store.
        let mut nonces = lock(&self.mempool_nonces);
        for signer in signers {
            if nonces.get(&signer).copied() == Some(next_nonce(&*self.store, &signer)?) {
                nonces.remove(&signer);
            }
        }
        Ok(committed)
    }

    fn take_pending(&self, extra: Changes) -> NodeResult<(Changes, PendingBlock)> {
        let mut pending = lock(&self.pending)
            .take()
            .ok_or_else(|| NodeError::Storage("commit without a finalized block".into()))?;
        let mut changes = std::mem::take(&mut pending.changes);
        changes.absorb(extra);
        changes.put(
            Table::Meta,
            meta::HEIGHT.to_vec(),
            pending.height.to_be_bytes().to_vec(),
        );
        changes.put(
            Table::Meta,
            meta::APP_HASH.to_vec(),
            pending.app_hash.clone(),
        );
        changes.put(
            Table::Meta,
            meta::TIME.to_vec(),
            pending.time.to_be_bytes().to_vec(),
        );
        Ok((changes, pending))
    }

    fn publish(&self, pending: PendingBlock) -> Committed {
        let committed = Committed {
            height: pending.height,
            app_hash: pending.app_hash,
            time: pending.time,
        };
        *self.committed.write().unwrap_or_else(|p| p.into_inner()) = committed.clone();
        committed
    }

    /// Answers a read (ABCI Query) at the last committed height. `now` is this node's clock
    /// (unix seconds), against which signed reads must be fresh.
    pub fn query(&self, path: &str, data: &[u8], height: i64, now: i64) -> NodeResult<QueryAnswer> {
        if !(path == QUERY_PATH || path.is_empty()) {
            return Err(NodeError::UnknownPath(path.to_owned()));
        }
        let genesis = self.require_genesis()?;
        let signed = SignedQuery::decode(data)?;
        if signed.chain_id != genesis.chain_id {
            return Err(NodeError::WrongChainId {
                expected: genesis.chain_id,
                got: signed.chain_id,
            });
        }
        if let protocol::query::QueryAuth::Gateway { gateway, .. } = &signed.auth {
            if !self.config.trusted_gateways.contains(gateway) {
                return Err(NodeError::Unauthorized(format!(
                    "gateway key {gateway} is not in this node's trusted gateways; sign the read with your own key"
                )));
            }
        }
        let caller = signed.authenticate(now, |key| self.config.trusted_gateways.contains(key))?;
        // Height, app hash and time come from the snapshot itself, so they describe exactly
        // the state the answer was read from.
        let snapshot = self.store.snapshot();
        let committed = read_committed(&snapshot)?;
        if height != 0 && height as u64 != committed.height {
            return Err(NodeError::HistoricalQuery(height));
        }
        let ctx = ReadContext {
            chain_id: &genesis.chain_id,
            block_time: committed.time,
        };
        let output = answer(&snapshot, &ctx, caller.as_ref(), &signed.query)?;
        let app_hash =
            Sha256Digest::from_bytes(committed.app_hash.as_slice().try_into().unwrap_or([0; 32]));
        Ok(QueryAnswer {
            height: committed.height,
            app_hash,
            output,
        })
    }
}

fn read_committed<R: Read + ?Sized>(r: &R) -> NodeResult<Committed> {
    let corrupt = |what: &str| NodeError::Storage(format!("corrupt {what} in metadata"));
    let height = match r.get(Table::Meta, meta::HEIGHT)? {
        Some(b) => u64::from_be_bytes(b.try_into().map_err(|_| corrupt("height"))?),
        None => 0,
    };
    let time = match r.get(Table::Meta, meta::TIME)? {
        Some(b) => i64::from_be_bytes(b.try_into().map_err(|_| corrupt("time"))?),
        None => 0,
    };
    let app_hash = r.get(Table::Meta, meta::APP_HASH)?.unwrap_or_default();
    Ok(Committed {
        height,
        app_hash,
        time,
    })
}

/// The app hash after a block: SHA-256 over the previous app hash, the height, the block time
/// and every state change of the block in (table, key) order. It chains, so equal hashes at a
/// height mean equal histories, hence equal state, on every node.
pub fn app_hash(previous: &[u8], height: u64, time: i64, block: &Changes) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"idos-app-hash-v1");
    h.update((previous.len() as u32).to_be_bytes());
    h.update(previous);
    h.update(height.to_be_bytes());
    h.update(time.to_be_bytes());
    for (table, key, value) in block.iter().filter(|(t, _, _)| t.is_state()) {
        let name = table.name().as_bytes();
        h.update((name.len() as u32).to_be_bytes());
        h.update(name);
        h.update((key.len() as u32).to_be_bytes());
        h.update(key);
        match value {
            Some(v) => {
                h.update([1]);
                h.update((v.len() as u32).to_be_bytes());
                h.update(v);
            }
            None => h.update([0]),
        }
    }
    h.finalize().to_vec()
}
