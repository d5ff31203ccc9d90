//! The application's lifecycle over the store, in ABCI terms but free of any transport:
//! `init_chain`, `check_tx`, `finalize_block`, `commit`, `query`, `info`. The ABCI socket
//! server ([`crate::abci`]) and the embedded chain ([`crate::chain`]) both drive this type.
//!
//! Determinism: `finalize_block` and `process_proposal` depend only on committed state, the
//! block's height, time and transactions, and the genesis. Node-local settings and memory
//! (trusted gateway keys, what CheckTx saw, the verified-transaction and EVM-key caches) affect
//! reads and speed, never a verdict or an app hash: a cache hit skips only work whose result is
//! fixed by the same bytes and chain id (see [`App::preverify`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use protocol::bytes::{Ed25519PublicKey, Sha256Digest};
use protocol::identity::Identity;
use protocol::query::{Query, SignedQuery};
use protocol::records::{QueryAnswer, QueryOutput};
use protocol::tx::{SignedTransaction, tx_hash};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{NodeError, NodeResult};
use crate::state::exec::{Effects, execute_verified};
use crate::state::read::{ReadContext, answer};
use crate::state::role::require_role;
use crate::state::verify::{EvmKeys, verify_stateless};
use crate::state::{BlockContext, next_nonce, set_nonce};
use crate::state_tree;
use crate::store::{Changes, Read, ReadCache, Store, Table, Working, Write};
use crate::verified::VerifiedTxs;
use idos_state::proof::{ProvenEntry, Recorder};

/// The ABCI query path reads are served on.
pub const QUERY_PATH: &str = "/idos";

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
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Gateway (relay) keys whose attestations of a read's caller this node accepts.
    pub trusted_gateways: Vec<Ed25519PublicKey>,
    /// How many EVM signers' public keys to remember (0: none). Speed only: a signer's later
    /// signatures cost one verification instead of a recovery, with the same verdict.
    pub evm_key_cache: usize,
    /// How many of the latest versions of the state tree stay provable (at least 1): older
    /// tree nodes are pruned ([`crate::state_tree::prune`]). Node-local: it never changes a
    /// root.
    pub state_retention: u64,
    /// Whether the app hash is the state tree's root (always, but in benchmarks that measure
    /// what the tree costs: without it, the app hash is a hash chain over the blocks' changes,
    /// which proves nothing about a row, and no tree is written). Not a node setting.
    pub authenticated_state: bool,
}

/// The default [`AppConfig::state_retention`]: about the last hundred blocks stay provable.
pub const DEFAULT_STATE_RETENTION: u64 = 100;

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            trusted_gateways: Vec::new(),
            evm_key_cache: EvmKeys::DEFAULT_LIMIT,
            state_retention: DEFAULT_STATE_RETENTION,
            authenticated_state: true,
        }
    }
}

/// The last committed block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Committed {
    /// 0 before the first block.
    pub height: u64,
    /// The root of the state tree ([`crate::state_tree`]) after this block; before the first
    /// block, the root of the genesis version (empty before InitChain).
    pub app_hash: Vec<u8>,
    /// Block time, unix seconds.
    pub time: i64,
}

/// Which CheckTx this is (ABCI `CheckTxType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// A transaction new to the mempool.
    New,
    /// CometBFT checking again, after a commit, a transaction still in its mempool. The
    /// rechecks of a round arrive in mempool order before any new transaction.
    Recheck,
}

/// Nonces of the transactions waiting in the mempool, as CheckTx has seen them.
#[derive(Debug, Default)]
struct MempoolNonces {
    /// Next expected nonce of signers with transactions in the mempool.
    next: HashMap<Identity, u64>,
    /// A block was committed since the last recheck. CometBFT re-checks, in order, what is
    /// still in its mempool after each commit; the first recheck starts the nonces again from
    /// committed state, so the rechecks rebuild them. (When rechecks are turned off, the
    /// nonces kept across the commit stay right for what is still waiting.)
    recheck_pending: bool,
}

/// Nonces a block's transactions use, replayed from committed state: what PrepareProposal and
/// ProcessProposal check a proposal's order against.
#[derive(Debug, Default)]
struct BlockPlan {
    next: HashMap<Identity, u64>,
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
    /// Signers of the block's transactions whose nonce it used, with the last nonce used.
    signers: HashMap<Identity, u64>,
    height: u64,
    time: i64,
    app_hash: Vec<u8>,
    changes: Changes,
    /// What the node cache takes from this block once it is committed.
    tree_nodes: Option<state_tree::CacheDelta>,
    /// Where the next block's pruning starts once this block's is committed.
    prune_next_from: Option<Vec<u8>>,
}

mod meta {
    pub const GENESIS: &[u8] = b"genesis";
    pub const INITIAL_HEIGHT: &[u8] = b"initial_height";
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
    /// The height of the first block (ABCI InitChain's `initial_height`).
    initial_height: AtomicU64,
    committed: RwLock<Committed>,
    pending: Mutex<Option<PendingBlock>>,
    mempool: Mutex<MempoolNonces>,
    /// Transactions whose stateless checks passed for this chain id, decoded.
    verified: Mutex<VerifiedTxs>,
    /// Transactions FinalizeBlock had to verify itself (not seen by CheckTx or a proposal).
    verified_in_blocks: AtomicU64,
    /// Public keys of EVM signers seen before.
    evm_keys: EvmKeys,
    /// State-tree nodes of recent versions, decoded (node-local: speed only).
    tree_nodes: state_tree::NodeCache,
    /// Where the next block's pruning starts in the stale index (node-local: what a node has
    /// pruned never touches a root; empty after a restart).
    prune_from: Mutex<Vec<u8>>,
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
            Some(bytes) => {
                Some(serde_json::from_slice(&bytes).map_err(|e| NodeError::corrupt("genesis", e))?)
            }
            None => None,
        };
        let initial_height = match store.get(Table::Meta, meta::INITIAL_HEIGHT)? {
            Some(b) => u64::from_be_bytes(
                b.try_into()
                    .map_err(|_| NodeError::corrupt("initial height", "not 8 bytes"))?,
            ),
            None => 1,
        };
        let committed = read_committed(&*store)?;
        if genesis.is_some() && config.authenticated_state {
            let version = tree_version(committed.height, initial_height);
            if !state_tree::layout_is_current(&*store)? {
                return Err(NodeError::Config(
                    "this data directory holds no state tree in this node's layout (an earlier \
                     idOS node wrote it, before the authenticated state or in an earlier layout \
                     of its tree): start the node on a new data directory"
                        .into(),
                ));
            }
            if state_tree::root(&*store, version)?.is_none() {
                return Err(NodeError::Config(format!(
                    "this data directory has no state tree at its height {} (it is damaged): \
                     start the node on a new data directory, or restore it from a backup",
                    committed.height
                )));
            }
        }
        let evm_keys = EvmKeys::with_limit(config.evm_key_cache);
        Ok(App {
            store,
            config,
            genesis: RwLock::new(genesis),
            initial_height: AtomicU64::new(initial_height),
            committed: RwLock::new(committed),
            pending: Mutex::new(None),
            mempool: Mutex::new(MempoolNonces::default()),
            verified: Mutex::new(VerifiedTxs::default()),
            verified_in_blocks: AtomicU64::new(0),
            evm_keys,
            tree_nodes: state_tree::NodeCache::new(state_tree::NODE_CACHE_BYTES),
            prune_from: Mutex::new(Vec::new()),
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

    /// Records the genesis of a chain whose first block is height 1. See
    /// [`App::init_chain_at`].
    pub fn init_chain(&self, genesis: Genesis) -> NodeResult<()> {
        self.init_chain_at(genesis, 1).map(drop)
    }

    /// Records the genesis (ABCI InitChain) with the height of the first block, and returns
    /// the genesis app hash. Idempotent for the same genesis, as CometBFT calls it again when
    /// it restarts before the first block; a different genesis over existing state is
    /// refused.
    pub fn init_chain_at(&self, genesis: Genesis, initial_height: u64) -> NodeResult<Vec<u8>> {
        protocol::tx::validate_chain_id(&genesis.chain_id)?;
        if initial_height == 0 {
            return Err(NodeError::Invalid(protocol::Error::invalid(
                "initial_height",
                "the first block's height is at least 1",
            )));
        }
        let mut current = self.genesis.write().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = &*current {
            if *existing == genesis && self.initial_height.load(Ordering::SeqCst) == initial_height
            {
                if !self.config.authenticated_state {
                    return Ok(genesis_digest(&genesis, initial_height));
                }
                return state_tree::root(&*self.store, 0)?
                    .map(|root| root.to_vec())
                    .ok_or_else(|| NodeError::corrupt("state tree", "no genesis root"));
            }
            return Err(NodeError::Unauthorized(format!(
                "this data directory belongs to chain {:?} (owner {}, first height {}); refusing genesis for chain {:?} (first height {initial_height})",
                existing.chain_id,
                existing.owner.identifier(),
                self.initial_height.load(Ordering::SeqCst),
                genesis.chain_id
            )));
        }
        let digest = genesis_digest(&genesis, initial_height);
        let (app_hash, mut changes) = if self.config.authenticated_state {
            let tree = state_tree::genesis(&*self.store, &digest)?;
            (tree.root.to_vec(), tree.changes)
        } else {
            (digest, Changes::default())
        };
        let json = serde_json::to_vec(&genesis)
            .map_err(|e| NodeError::Config(format!("the genesis cannot be encoded: {e}")))?;
        changes.put(Table::Meta, meta::GENESIS.to_vec(), json);
        changes.put(
            Table::Meta,
            meta::INITIAL_HEIGHT.to_vec(),
            initial_height.to_be_bytes().to_vec(),
        );
        changes.put(Table::Meta, meta::APP_HASH.to_vec(), app_hash.clone());
        self.store.commit(&changes)?;
        self.initial_height.store(initial_height, Ordering::SeqCst);
        self.committed
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .app_hash = app_hash.clone();
        *current = Some(genesis);
        Ok(app_hash)
    }

    /// The state tree's version after block `height` of this chain.
    fn tree_version(&self, height: u64) -> u64 {
        tree_version(height, self.initial_height.load(Ordering::SeqCst))
    }

    /// How many transactions FinalizeBlock has verified itself since this process started,
    /// because neither CheckTx nor a proposal had (or the cache had forgotten them). On a node
    /// whose blocks come from its own mempool it stays 0: no signature is checked twice.
    pub fn verified_in_blocks(&self) -> u64 {
        self.verified_in_blocks.load(Ordering::Relaxed)
    }

    /// How many verified transactions wait in the cache for a block (see [`crate::verified`]).
    pub fn verified_waiting(&self) -> usize {
        lock(&self.verified).len()
    }

    /// The height the next block must have.
    pub fn next_height(&self) -> u64 {
        match self.committed().height {
            0 => self.initial_height.load(Ordering::SeqCst),
            h => h + 1,
        }
    }

    /// Decodes and verifies a transaction's signatures (see [`verify_stateless`]) and keeps
    /// the decoded transaction (see [`crate::verified`]), so that `check_tx` and
    /// `finalize_block` skip the work. Safe to call concurrently and without any lock held.
    ///
    /// The cache is harmless: its key is the SHA-256 of the exact bytes, and what it skips,
    /// decoding and [`verify_stateless`], is a function of those bytes and the chain id alone
    /// (which never changes once set). Its verdicts do not depend on the EVM-key cache either (see
    /// `protocol::identity::verify_eip191`). So a node that has seen nothing and one that has
    /// seen everything give the same verdict; only the time differs.
    pub fn preverify(&self, bytes: &[u8]) -> NodeResult<(Arc<SignedTransaction>, Sha256Digest)> {
        let genesis = self.require_genesis()?;
        let hash = tx_hash(bytes);
        if let Some(stx) = lock(&self.verified).get(&hash) {
            return Ok((stx, hash));
        }
        let stx = Arc::new(SignedTransaction::decode(bytes)?);
        verify_stateless(&stx, &genesis.chain_id, &self.evm_keys)?;
        lock(&self.verified).insert(&hash, stx.clone(), bytes.len());
        Ok((stx, hash))
    }

    /// ABCI CheckTx of a new transaction: see [`App::check_tx_as`].
    pub fn check_tx(&self, bytes: &[u8]) -> NodeResult<CheckedTx> {
        self.check_tx_as(bytes, CheckKind::New)
    }

    /// ABCI CheckTx: the stateless checks (skipped when already passed), the signer's role
    /// against committed state, then the nonce against committed state and the signer's
    /// transactions already in the mempool. Callers must call it for one mempool in arrival
    /// order (the ABCI server does); the signatures may be checked beforehand in parallel
    /// with [`App::preverify`], then [`App::admit`] does the rest.
    pub fn check_tx_as(&self, bytes: &[u8], kind: CheckKind) -> NodeResult<CheckedTx> {
        let (stx, hash) = self.preverify(bytes)?;
        self.admit(&stx, hash, kind)
    }

    /// The stateful part of [`App::check_tx_as`], for a transaction that passed
    /// [`App::preverify`]: a signer without a role is refused before it leaves any trace
    /// (see [`crate::state::role`]), then the nonce must be the next one. A refused
    /// transaction is also dropped from the verified-transaction cache: it will not be in a
    /// block of ours, and a stream of well-signed transactions from signers without a role
    /// must not fill the cache.
    pub fn admit(
        &self,
        stx: &SignedTransaction,
        hash: Sha256Digest,
        kind: CheckKind,
    ) -> NodeResult<CheckedTx> {
        let admitted = self.admit_verified(stx, hash, kind);
        if admitted.is_err() {
            lock(&self.verified).take(&hash);
        }
        admitted
    }

    fn admit_verified(
        &self,
        stx: &SignedTransaction,
        hash: Sha256Digest,
        kind: CheckKind,
    ) -> NodeResult<CheckedTx> {
        let genesis = self.require_genesis()?;
        let signer = stx.tx.signer;
        require_role(&*self.store, &genesis.owner, &signer, &stx.tx.action)?;
        let mut mempool = lock(&self.mempool);
        if kind == CheckKind::Recheck && mempool.recheck_pending {
            mempool.next.clear();
            mempool.recheck_pending = false;
        }
        let expected = match mempool.next.get(&signer) {
            Some(next) => *next,
            None => next_nonce(&*self.store, &signer)?,
        };
        if stx.tx.nonce != expected {
            return Err(NodeError::BadNonce {
                expected,
                got: stx.tx.nonce,
            });
        }
        mempool.next.insert(signer, expected + 1);
        Ok(CheckedTx {
            hash,
            signer,
            nonce: stx.tx.nonce,
        })
    }

    /// ABCI PrepareProposal: CometBFT's transactions in its order, without those that cannot
    /// succeed (undecodable, a bad signature, another chain, a signer without a role, a nonce
    /// that is not the next one given committed state and the transactions kept before it),
    /// and within `max_tx_bytes` as CometBFT counts them (each transaction's protobuf field
    /// overhead included). A transaction that does not fit is skipped and later, smaller ones
    /// may still be kept.
    pub fn prepare_proposal<T: AsRef<[u8]>>(&self, txs: Vec<T>, max_tx_bytes: i64) -> Vec<T> {
        let mut plan = BlockPlan::default();
        let mut used = 0i64;
        let mut kept = Vec::new();
        for tx in txs {
            let size = proto_tx_size(tx.as_ref().len());
            if used.saturating_add(size) > max_tx_bytes {
                continue;
            }
            match self.plan_tx(&mut plan, tx.as_ref(), true) {
                Ok(()) => {
                    used += size;
                    kept.push(tx);
                }
                Err(e) => tracing::debug!(code = e.code(), "left out of the proposal: {e}"),
            }
        }
        kept
    }

    /// ABCI ProcessProposal: `Ok(None)` accepts the block; `Ok(Some((index, why)))` rejects it
    /// because a transaction is undecodable, carries a bad signature or is for another chain,
    /// or its nonce is not the next one given committed state and the block's earlier
    /// transactions. A deterministic function of committed state and the block, so every
    /// honest validator decides alike, and every block [`App::prepare_proposal`] makes is
    /// accepted. (Transactions whose signer holds no role are not grounds for rejection: the
    /// block may give the role; FinalizeBlock refuses them without consuming a nonce.)
    pub fn process_proposal(
        &self,
        txs: &[impl AsRef<[u8]>],
    ) -> NodeResult<Option<(usize, NodeError)>> {
        let mut plan = BlockPlan::default();
        for (index, tx) in txs.iter().enumerate() {
            match self.plan_tx(&mut plan, tx.as_ref(), false) {
                Ok(()) => {}
                Err(e) if e.is_fault() => return Err(e),
                Err(e) => return Ok(Some((index, e))),
            }
        }
        Ok(None)
    }

    fn plan_tx(&self, plan: &mut BlockPlan, bytes: &[u8], check_role: bool) -> NodeResult<()> {
        let (stx, _) = self.preverify(bytes)?;
        let signer = stx.tx.signer;
        if check_role {
            let genesis = self.require_genesis()?;
            require_role(&*self.store, &genesis.owner, &signer, &stx.tx.action)?;
        }
        let expected = match plan.next.get(&signer) {
            Some(next) => *next,
            None => next_nonce(&*self.store, &signer)?,
        };
        if stx.tx.nonce != expected {
            return Err(NodeError::BadNonce {
                expected,
                got: stx.tx.nonce,
            });
        }
        plan.next.insert(signer, expected + 1);
        Ok(())
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
        if height != self.next_height() {
            return Err(NodeError::CallOrder(format!(
                "asked to finalize height {height}, but the next height is {} (last committed: {})",
                self.next_height(),
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
        let cache = ReadCache::default();
        let mut outcomes = Vec::with_capacity(txs.len());
        let mut signers = HashMap::new();
        for bytes in txs {
            let (outcome, used) = self.deliver(&ctx, &mut block, &cache, bytes.as_ref())?;
            outcomes.push(outcome);
            if let Some((signer, nonce)) = used {
                // A signer's nonces rise through a block: the last one is the largest.
                signers.insert(signer, nonce);
            }
        }
        let (app_hash, tree_nodes) = if self.config.authenticated_state {
            let version = self.tree_version(height);
            let tree = state_tree::update(&*self.store, &self.tree_nodes, version, &block)?;
            block.absorb(tree.changes);
            (tree.root.to_vec(), Some(tree.cache))
        } else {
            (
                unauthenticated_hash(&committed.app_hash, height, time, &block),
                None,
            )
        };
        *lock(&self.pending) = Some(PendingBlock {
            signers,
            height,
            time,
            app_hash: app_hash.clone(),
            changes: block,
            tree_nodes,
            prune_next_from: None,
        });
        Ok((outcomes, app_hash))
    }

    /// One transaction of a block. An `Err` here is a storage failure (the block cannot be
    /// executed); a refused transaction is an `Ok` outcome holding its error. Also returns the
    /// signer and nonce when the transaction used its nonce up. `cache` holds the committed
    /// rows the block has read so far.
    fn deliver(
        &self,
        ctx: &BlockContext,
        block: &mut Changes,
        cache: &ReadCache,
        bytes: &[u8],
    ) -> NodeResult<(TxOutcome, Option<(Identity, u64)>)> {
        let hash = tx_hash(bytes);
        // What CheckTx decoded and verified; else decoded and verified here.
        let taken = lock(&self.verified).take(&hash);
        let (stx, was_verified) = match taken {
            Some(stx) => (stx, true),
            None => match SignedTransaction::decode(bytes) {
                Ok(stx) => (Arc::new(stx), false),
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
            },
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
        if !was_verified {
            self.verified_in_blocks.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = verify_stateless(&stx, &ctx.chain_id, &self.evm_keys) {
                return refused(e);
            }
        }
        let signer = stx.tx.signer;
        // A signer without a role is refused before its nonce is used up, so that such
        // transactions (which a Byzantine proposer may include) leave no trace in state.
        match require_role(
            &Working::cached(&self.store, block, cache),
            &ctx.owner,
            &signer,
            &stx.tx.action,
        ) {
            Ok(()) => {}
            Err(e) if e.is_fault() => return Err(e),
            Err(e) => return refused(e),
        }
        let expected = next_nonce(&Working::cached(&self.store, block, cache), &signer)?;
        if stx.tx.nonce != expected {
            return refused(NodeError::BadNonce {
                expected,
                got: stx.tx.nonce,
            });
        }
        let mut working = Working::cached(&self.store, block, cache);
        let result = execute_verified(&mut working, ctx, &stx);
        let changes = working.into_changes();
        match &result {
            Ok(_) => block.absorb(changes),
            Err(e) if e.is_fault() => return Err(result.unwrap_err()),
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
            Some((signer, stx.tx.nonce)),
        ))
    }

    /// Makes the finalized block durable (ABCI Commit): its state changes, `extra` (the
    /// embedded chain's block store) and the new height, time and app hash, in one atomic
    /// write. Nothing is locked while the batch is written, so CheckTx goes on during the
    /// fsync.
    ///
    /// The mempool's nonces of the transactions still waiting stay valid (they were checked
    /// in order after those of the block), and signers with nothing left waiting are
    /// forgotten. Should CometBFT re-check its mempool after this commit, the first recheck
    /// starts the nonces again from committed state (see [`CheckKind::Recheck`]).
    pub fn commit(&self, extra: Changes) -> NodeResult<Committed> {
        let (changes, mut pending) = self.take_pending(extra)?;
        self.store.commit(&changes)?;
        let signers = std::mem::take(&mut pending.signers);
        let tree_nodes = pending.tree_nodes.take();
        let prune_next_from = pending.prune_next_from.take();
        // Published at once: the block's rows (its transactions' index among them) are
        // readable from here on, and a reader that finds them must find this height too.
        let committed = self.publish(pending);
        {
            let mut mempool = lock(&self.mempool);
            mempool.recheck_pending = true;
            for (signer, last) in signers {
                // The signer's next nonce in committed state is now `last + 1`.
                if let Some(&next) = mempool.next.get(&signer)
                    && next <= last.saturating_add(1)
                {
                    mempool.next.remove(&signer);
                }
            }
        }
        // Node-local bookkeeping for the next block, which this thread makes.
        if let Some(next) = prune_next_from {
            *lock(&self.prune_from) = next;
        }
        if let Some(delta) = tree_nodes {
            self.tree_nodes.committed(delta);
        }
        Ok(committed)
    }

    fn take_pending(&self, extra: Changes) -> NodeResult<(Changes, PendingBlock)> {
        let mut pending = lock(&self.pending)
            .take()
            .ok_or_else(|| NodeError::CallOrder("Commit without a finalized block".into()))?;
        let mut changes = std::mem::take(&mut pending.changes);
        changes.absorb(extra);
        if self.config.authenticated_state {
            let version = self.tree_version(pending.height);
            let from = lock(&self.prune_from).clone();
            let pruning =
                state_tree::prune(&*self.store, version, self.config.state_retention, &from)?;
            changes.absorb(pruning.changes);
            pending.prune_next_from = Some(pruning.next_from);
        }
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
        let (genesis, signed, caller) = self.authenticate_query(path, data, now)?;
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
        let mut output = answer(&snapshot, &ctx, caller.as_ref(), &signed.query)?;
        if let (Query::NextNonce { account }, QueryOutput::NextNonce(next)) =
            (&signed.query, &mut output)
        {
            // Count the account's transactions still waiting in the mempool, so a client can
            // sign its next transaction before the previous one is in a block.
            if let Some(&waiting) = lock(&self.mempool).next.get(account) {
                *next = (*next).max(waiting);
            }
        }
        let app_hash =
            Sha256Digest::from_bytes(committed.app_hash.as_slice().try_into().unwrap_or([0; 32]));
        Ok(QueryAnswer {
            height: committed.height,
            app_hash,
            output,
        })
    }

    /// Answers a read (ABCI `Query` with `prove = true`) with every state entry it looked at,
    /// each proven against the app hash of the state it read, so that a client re-runs the
    /// read over the entries and trusts no one's answer but its own
    /// (`idos_state::proof::verify_read`). A refusal the state gives (no profile, not found)
    /// is proven too; one that comes before any state is read (a bad signature, another chain)
    /// is an error without proof. The answer is the committed state's alone: a next nonce does
    /// not count the mempool, which no proof covers.
    pub fn query_proven(
        &self,
        path: &str,
        data: &[u8],
        height: i64,
        now: i64,
    ) -> NodeResult<ProvenAnswer> {
        let (genesis, signed, caller) = self.authenticate_query(path, data, now)?;
        if !self.config.authenticated_state {
            return Err(NodeError::Unavailable(
                "this node keeps no state tree, so it proves nothing".into(),
            ));
        }
        let snapshot = self.store.snapshot();
        let committed = read_committed(&snapshot)?;
        if height != 0 && height as u64 != committed.height {
            return Err(NodeError::HistoricalQuery(height));
        }
        let ctx = ReadContext {
            chain_id: &genesis.chain_id,
            block_time: committed.time,
        };
        let recorder = Recorder::new(&snapshot);
        let result = answer(&recorder, &ctx, caller.as_ref(), &signed.query);
        if let Err(e) = &result
            && e.is_fault()
        {
            return Err(e.clone());
        }
        let version = self.tree_version(committed.height);
        let mut entries = Vec::new();
        for (table, key) in recorder.into_entries()? {
            let (value, proof) = state_tree::prove(&snapshot, version, table, &key)?;
            entries.push(ProvenEntry {
                table: table.name().to_owned(),
                key,
                value,
                proof,
            });
        }
        Ok(ProvenAnswer {
            height: committed.height,
            app_hash: Sha256Digest::from_bytes(
                committed.app_hash.as_slice().try_into().unwrap_or([0; 32]),
            ),
            result,
            entries,
        })
    }

    /// The checks every read passes before it reads state: path, chain, gateway, signature.
    fn authenticate_query(
        &self,
        path: &str,
        data: &[u8],
        now: i64,
    ) -> NodeResult<(Genesis, SignedQuery, Option<Identity>)> {
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
        if let protocol::query::QueryAuth::Gateway { gateway, .. } = &signed.auth
            && !self.config.trusted_gateways.contains(gateway)
        {
            return Err(NodeError::Unauthorized(format!(
                "gateway key {gateway} is not in this node's trusted gateways; sign the read with your own key"
            )));
        }
        let caller = signed.authenticate(now, |key| self.config.trusted_gateways.contains(key))?;
        Ok((genesis, signed, caller))
    }
}

/// A read's answer with the entries it looked at, proven ([`App::query_proven`]).
#[derive(Debug)]
pub struct ProvenAnswer {
    /// The committed height the read saw.
    pub height: u64,
    /// The app hash at that height: the root every entry is proven against.
    pub app_hash: Sha256Digest,
    /// The answer, or the refusal the state gives.
    pub result: Result<QueryOutput, NodeError>,
    pub entries: Vec<ProvenEntry>,
}

fn read_committed<R: Read + ?Sized>(r: &R) -> NodeResult<Committed> {
    let corrupt = |what: &str| NodeError::corrupt(format!("{what} in metadata"), "not 8 bytes");
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

/// The genesis digest: SHA-256 over the chain id, the owner and the first height. It is the
/// one leaf of the state tree's genesis version ([`state_tree::genesis`]), so every app hash
/// commits to the chain it belongs to.
pub fn genesis_digest(genesis: &Genesis, initial_height: u64) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"idos-genesis-v1");
    h.update((genesis.chain_id.len() as u32).to_be_bytes());
    h.update(genesis.chain_id.as_bytes());
    let owner = borsh::to_vec(&genesis.owner).expect("encoding into a Vec cannot fail");
    h.update((owner.len() as u32).to_be_bytes());
    h.update(owner);
    h.update(initial_height.to_be_bytes());
    h.finalize().to_vec()
}

/// The app hash without the state tree ([`AppConfig::authenticated_state`] off, benchmarks
/// only): SHA-256 over the previous hash, the height, the time and the block's state changes
/// in (table, key) order. It costs what hashing the changes costs, so a benchmark comparing it
/// with the tree measures the tree.
fn unauthenticated_hash(previous: &[u8], height: u64, time: i64, block: &Changes) -> Vec<u8> {
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

/// The state tree's version after block `height` of a chain whose first block is
/// `initial_height`: 0 for the genesis, then one per block.
pub fn tree_version(height: u64, initial_height: u64) -> u64 {
    if height == 0 {
        0
    } else {
        height.saturating_sub(initial_height) + 1
    }
}

/// How many bytes a transaction of `len` bytes takes in CometBFT's count of a block's data
/// (`ComputeProtoSizeForTxs`: a `repeated bytes` field, so a tag byte and a varint length).
pub fn proto_tx_size(len: usize) -> i64 {
    let mut varint = 1;
    let mut rest = len >> 7;
    while rest > 0 {
        varint += 1;
        rest >>= 7;
    }
    (1 + varint + len) as i64
}
