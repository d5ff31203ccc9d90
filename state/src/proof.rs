//! Proven reads: the entries a read looked at, each with a proof of its value (or of its
//! absence) against an app hash, and the re-run of the read over them.
//!
//! The node answers a read with `prove = true` by running it through a [`Recorder`], which
//! notes every state entry the read looks at, and proving each against the root of the state
//! it read. A client checks every proof against an app hash it trusts ([`ProvenState::verify`])
//! and runs the same read ([`crate::read::answer`]) over the proven entries alone
//! ([`verify_read`]): the answer is the client's own, and a read that needs an entry the
//! relay left out fails instead of answering from less than the whole truth.
//!
//! A read looks at state in two ways only: a point read (`get`), proven by the entry itself,
//! and the seek of a directory chunk (`scan_from` on [`Table::Directories`], one entry), proven
//! by the chunk found, whose range shows it is the one the seek lands on, or, when the list is
//! empty, by the absence of its `End` chunk (see [`crate::directory`]). Anything else is not
//! provable and refused.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use jmt::proof::SparseMerkleProof;
use jmt::{KeyHash, RootHash};
use protocol::identity::Identity;
use protocol::query::Query;
use protocol::records::QueryOutput;
use sha2::{Digest, Sha256};

use crate::directory::{Bound, ListKey, decode_chunk};
use crate::error::{NodeError, NodeResult};
use crate::read::{ReadContext, answer};
use crate::table::{Read, Table};

/// The type of the CometBFT `ProofOp`s that carry proven entries.
pub const PROOF_OP_TYPE: &str = "idos-jmt-v1";

/// The leaf position of a row: SHA-256 over the table's name (length-prefixed) and the key, so
/// rows of different tables never share a leaf and no row can be read as another.
pub fn key_hash(table: Table, key: &[u8]) -> KeyHash {
    let name = table.name().as_bytes();
    let mut h = Sha256::new();
    h.update(b"idos-state-v1");
    h.update((name.len() as u32).to_be_bytes());
    h.update(name);
    h.update(key);
    KeyHash(h.finalize().into())
}

/// A proof of one entry against a root (`jmt`'s sparse Merkle proof over SHA-256).
pub type EntryProof = SparseMerkleProof<Sha256>;

/// One state entry a read looked at: its value, or `None` for an absent key, and the proof.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct ProvenEntry {
    /// The table's name ([`Table::name`]).
    pub table: String,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
    pub proof: EntryProof,
}

impl ProvenEntry {
    /// The entry as a CometBFT `ProofOp`'s key and data: Borsh of `(table, key)` and of
    /// `(value, proof)`.
    pub fn to_op_parts(&self) -> (Vec<u8>, Vec<u8>) {
        let key = borsh::to_vec(&(&self.table, &self.key)).expect("encoding into a Vec");
        let data = borsh::to_vec(&(&self.value, &self.proof)).expect("encoding into a Vec");
        (key, data)
    }

    /// The entry of a `ProofOp` of type [`PROOF_OP_TYPE`].
    pub fn from_op_parts(op_type: &str, key: &[u8], data: &[u8]) -> Result<Self, ProofError> {
        if op_type != PROOF_OP_TYPE {
            return Err(ProofError::Malformed(format!(
                "a proof op of type {op_type:?}, not {PROOF_OP_TYPE:?}"
            )));
        }
        let (table, key) = <(String, Vec<u8>)>::try_from_slice(key)
            .map_err(|_| ProofError::Malformed("a proof op key that does not decode".into()))?;
        let (value, proof) = <(Option<Vec<u8>>, EntryProof)>::try_from_slice(data)
            .map_err(|_| ProofError::Malformed("a proof op data that does not decode".into()))?;
        Ok(ProvenEntry {
            table,
            key,
            value,
            proof,
        })
    }
}

/// Why a proven read was refused. Each has a stable [`ProofError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The proof bytes do not decode, or name a table outside the state.
    #[error("malformed proof: {0}")]
    Malformed(String),
    /// An entry's value is not the one the app hash commits to (or its proof is not one).
    #[error("the value of {table} entry {key} does not match the app hash")]
    ValueMismatch { table: String, key: String },
    /// A list's chunk is not the one the app hash commits to: entries were left out of the
    /// list, added to it or reordered.
    #[error("the {list} chunk {key} does not match the app hash: the list was altered")]
    ListAltered { list: String, key: String },
    /// An entry claimed absent exists: the proof itself shows its leaf.
    #[error("{table} entry {key} was claimed absent but exists")]
    AbsenceRefuted { table: String, key: String },
    /// The read needs an entry no proof covers (left out by whoever relayed the answer).
    #[error("the answer leaves out state it depends on ({0})")]
    Incomplete(String),
}

impl ProofError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ProofError::Malformed(_) => "proof_malformed",
            ProofError::ValueMismatch { .. } => "proof_value_mismatch",
            ProofError::ListAltered { .. } => "proof_list_altered",
            ProofError::AbsenceRefuted { .. } => "proof_absence_refuted",
            ProofError::Incomplete(_) => "proof_incomplete",
        }
    }
}

/// Whether `proof`'s leaf is the one at `key` (a proof of presence). `jmt` keeps the leaf's
/// key private; its Borsh form starts with it (`Option` tag 1, then the 32-byte key hash),
/// pinned by a test.
fn proof_shows_leaf(proof: &EntryProof, key: &KeyHash) -> bool {
    let bytes = borsh::to_vec(proof).expect("encoding into a Vec");
    bytes.first() == Some(&1) && bytes.get(1..33) == Some(key.0.as_slice())
}

/// A read's view of state that notes every entry it looks at, for the node to prove.
pub struct Recorder<'a, R: Read + ?Sized> {
    inner: &'a R,
    seen: RefCell<Vec<(Table, Vec<u8>)>>,
    unprovable: Cell<bool>,
}

impl<'a, R: Read + ?Sized> Recorder<'a, R> {
    pub fn new(inner: &'a R) -> Self {
        Recorder {
            inner,
            seen: RefCell::new(Vec::new()),
            unprovable: Cell::new(false),
        }
    }

    /// The entries looked at, each once, in order; an error if the read looked at state in a
    /// way no proof covers (a bug of the read, never of the caller).
    pub fn into_entries(self) -> NodeResult<Vec<(Table, Vec<u8>)>> {
        if self.unprovable.get() {
            return Err(NodeError::corrupt(
                "proven read",
                "the read scanned state in a way no proof covers",
            ));
        }
        let mut seen = self.seen.into_inner();
        let mut unique = std::collections::BTreeSet::new();
        seen.retain(|entry| unique.insert(entry.clone()));
        Ok(seen)
    }
}

impl<R: Read + ?Sized> Read for Recorder<'_, R> {
    fn get(&self, table: Table, key: &[u8]) -> NodeResult<Option<Vec<u8>>> {
        self.seen.borrow_mut().push((table, key.to_vec()));
        self.inner.get(table, key)
    }

    fn scan_from(
        &self,
        table: Table,
        prefix: &[u8],
        start: &[u8],
        limit: usize,
    ) -> NodeResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let found = self.inner.scan_from(table, prefix, start, limit)?;
        match (table, limit, found.first()) {
            // A chunk seek: the chunk found proves itself.
            (Table::Directories, 1, Some((key, _))) => {
                self.seen.borrow_mut().push((table, key.clone()));
            }
            // Nothing found: the list is empty, which the absent `End` chunk proves.
            (Table::Directories, 1, None) => match ListKey::from_header(prefix) {
                Some(list) => self
                    .seen
                    .borrow_mut()
                    .push((table, list.chunk_key(&Bound::End))),
                None => self.unprovable.set(true),
            },
            _ => self.unprovable.set(true),
        }
        Ok(found)
    }
}

/// State made of proven entries only: what a client re-runs a read over.
#[derive(Debug, Default)]
pub struct ProvenState {
    entries: BTreeMap<(Table, Vec<u8>), Option<Vec<u8>>>,
    /// Set when the read asked for something no entry proves.
    missing: RefCell<Option<String>>,
}

impl ProvenState {
    /// Checks every entry's proof against `root` (the app hash of a header the client
    /// verified) and keeps the entries.
    pub fn verify(root: [u8; 32], entries: &[ProvenEntry]) -> Result<ProvenState, ProofError> {
        let mut state = ProvenState::default();
        for entry in entries {
            let table = Table::ALL
                .iter()
                .copied()
                .find(|t| t.name() == entry.table && t.is_state())
                .ok_or_else(|| {
                    ProofError::Malformed(format!("{:?} is not a state table", entry.table))
                })?;
            let at = key_hash(table, &entry.key);
            let describe = || (entry.table.clone(), hex(&entry.key));
            if entry
                .proof
                .verify(RootHash(root), at, entry.value.as_deref())
                .is_err()
            {
                let (name, key) = describe();
                return Err(
                    if entry.value.is_none() && proof_shows_leaf(&entry.proof, &at) {
                        ProofError::AbsenceRefuted { table: name, key }
                    } else if table == Table::Directories {
                        let list = ListKey::of_chunk_key(&entry.key)
                            .map_or_else(|| "list".to_owned(), |l| l.list.name().to_owned());
                        ProofError::ListAltered { list, key }
                    } else {
                        ProofError::ValueMismatch { table: name, key }
                    },
                );
            }
            state
                .entries
                .insert((table, entry.key.clone()), entry.value.clone());
        }
        Ok(state)
    }

    fn missing(&self, what: String) -> NodeError {
        let mut missing = self.missing.borrow_mut();
        if missing.is_none() {
            *missing = Some(what);
        }
        NodeError::corrupt("proven state", "an entry the read needs is not proven")
    }
}

impl Read for ProvenState {
    fn get(&self, table: Table, key: &[u8]) -> NodeResult<Option<Vec<u8>>> {
        match self.entries.get(&(table, key.to_vec())) {
            Some(value) => Ok(value.clone()),
            None => Err(self.missing(format!("{} entry {}", table.name(), hex(key)))),
        }
    }

    fn scan_from(
        &self,
        table: Table,
        prefix: &[u8],
        start: &[u8],
        limit: usize,
    ) -> NodeResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let list = match (table, limit) {
            (_, 0) => return Ok(Vec::new()),
            (Table::Directories, 1) => ListKey::from_header(prefix),
            _ => None,
        };
        let Some(list) = list else {
            return Err(self.missing(format!("a scan of {}", table.name())));
        };
        let start = start.max(prefix);
        // The chunk a seek from `start` lands on is the one whose range holds `start`: the
        // first chunk at or after it, if it starts before it (the first chunk starts before
        // everything). Chunks partition the list, so if the first proven one after `start`
        // does not, the one that does was left out.
        let first_after = self
            .entries
            .range((Table::Directories, start.to_vec())..)
            .take_while(|((t, key), _)| *t == Table::Directories && key.starts_with(prefix))
            .find_map(|((_, key), value)| Some((key, value.as_ref()?)));
        if let Some((key, bytes)) = first_after {
            let (_, chunk) = decode_chunk(&list, key, bytes)?;
            let holds_start = match &chunk.lower {
                None => true,
                Some(lower) => [prefix, &[0], lower.as_slice()].concat().as_slice() < start,
            };
            if holds_start {
                return Ok(vec![(key.clone(), bytes.clone())]);
            }
            return Err(self.missing(format!("a chunk of the {}", list.list.name())));
        }
        // No chunk holds `start`: the list must be provably empty.
        match self
            .entries
            .get(&(Table::Directories, list.chunk_key(&Bound::End)))
        {
            Some(None) => Ok(Vec::new()),
            _ => Err(self.missing(format!("a chunk of the {}", list.list.name()))),
        }
    }
}

/// Verifies `entries` against `root` and answers `query` for `caller` from them alone: the
/// answer (or the refusal) the state committed to by `root` gives. `Err` when the entries do
/// not prove it.
pub fn verify_read(
    root: [u8; 32],
    entries: &[ProvenEntry],
    ctx: &ReadContext<'_>,
    caller: Option<&Identity>,
    query: &Query,
) -> Result<Result<QueryOutput, NodeError>, ProofError> {
    let state = ProvenState::verify(root, entries)?;
    let result = answer(&state, ctx, caller, query);
    if let Some(what) = state.missing.borrow().clone() {
        return Err(ProofError::Incomplete(what));
    }
    Ok(result)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
