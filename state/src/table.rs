//! The node's tables and their keys, and the two ways state is accessed (`Read`, `Write`):
//! what both the node (over RocksDB) and a client (over proven entries) read through.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::error::{NodeError, NodeResult};

macro_rules! tables {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, hashed = $hashed:literal;)*) => {
        /// The tables of the node, each a RocksDB column family.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Table { $($(#[$doc])* $variant),* }

        impl Table {
            /// Every table, in order.
            pub const ALL: &'static [Table] = &[$(Table::$variant),*];

            /// How many tables there are.
            pub const COUNT: usize = Table::ALL.len();

            /// The table's position in [`Table::ALL`].
            pub const fn index(self) -> usize {
                self as usize
            }

            /// The column family name.
            pub const fn name(self) -> &'static str {
                match self { $(Table::$variant => $name),* }
            }

            /// Whether the table is application state covered by the app hash (as opposed to
            /// chain bookkeeping: metadata, blocks, transaction results; and indexes that only
            /// transactions read and that follow from covered rows, which every replica keeps
            /// alike but no read needs proven: a leaf each would cost every share for nothing).
            pub const fn is_state(self) -> bool {
                match self { $(Table::$variant => $hashed),* }
            }
        }
    };
}

tables! {
    /// Height, app hash, block time, genesis.
    Meta = "meta", hashed = false;
    /// user id -> UserRow
    Users = "users", hashed = true;
    /// wallet id -> WalletRow
    Wallets = "wallets", hashed = true;
    /// wallet identity -> wallet id (a wallet links to one profile only)
    WalletsByAddress = "wallets_by_address", hashed = true;
    /// credential id -> CredentialRow (originals and copies)
    Credentials = "credentials", hashed = true;
    /// issuer key ‖ sha256(verifiable credential id) ‖ credential id
    CredentialsByVcId = "credentials_by_vc_id", hashed = false;
    /// original id ‖ copy id (idOS's `shared_credentials`)
    CopiesByOriginal = "copies_by_original", hashed = false;
    /// ids of originals deleted while copies of them remained: never used again
    RetiredCredentialIds = "retired_credential_ids", hashed = true;
    /// issuer key ‖ sha256(verifiable credential id) -> the public notes the issuer set last
    IssuerNotes = "issuer_notes", hashed = true;
    /// attribute id -> AttributeRow
    Attributes = "attributes", hashed = true;
    /// inserter id -> InserterRow
    Inserters = "inserters", hashed = true;
    /// inserter name -> inserter id
    InsertersByName = "inserters_by_name", hashed = true;
    /// delegate identity -> inserter id
    Delegates = "delegates", hashed = true;
    /// inserter id ‖ delegate identity
    DelegatesByInserter = "delegates_by_inserter", hashed = false;
    /// grant id -> GrantRow
    Grants = "grants", hashed = true;
    /// data (copy) id ‖ grant id
    GrantsByData = "grants_by_data", hashed = false;
    /// counter key -> u64 BE (counts that reads and checks need without walking rows)
    Counts = "counts", hashed = true;
    /// delegated write grant id -> ConsumedWriteGrantRow
    ConsumedWriteGrants = "consumed_write_grants", hashed = true;
    /// wallet identity ‖ proof nonce
    ConsumedWalletProofs = "consumed_wallet_proofs", hashed = true;
    /// signer identity -> last nonce (u64 BE)
    Nonces = "nonces", hashed = true;
    /// list ‖ owner ‖ bound -> chunk of sorted entries (`crate::state::directory`): the lists
    /// reads page through, provably whole
    Directories = "directories", hashed = true;
    /// grantee ‖ data (copy) id -> grant id: whether a grantee holds a grant on a credential,
    /// proven without showing anyone else's
    GrantsByGranteeData = "grants_by_grantee_data", hashed = true;
    /// height (u64 BE) -> stored block (embedded chain only)
    Blocks = "blocks", hashed = false;
    /// tx hash -> (height, index) (embedded chain only)
    TxIndex = "tx_index", hashed = false;
    /// Jellyfish Merkle Tree node key (Borsh) -> node (Borsh): the authenticated state
    /// (`crate::state_tree`), written with the block whose rows it covers
    StateTreeNodes = "state_tree_nodes", hashed = false;
    /// stale-since version (u64 BE) ‖ node key (Borsh): tree nodes no version from then on
    /// uses, deleted once older than the retention
    StateTreeStale = "state_tree_stale", hashed = false;
}

impl Table {
    /// Whether the table stores the state tree (the node's `state_tree`).
    pub const fn is_state_tree(self) -> bool {
        matches!(self, Table::StateTreeNodes | Table::StateTreeStale)
    }

    /// Whether the table is an index: its keys are read only by prefix scans, never one by one.
    pub const fn is_index(self) -> bool {
        matches!(
            self,
            Table::CredentialsByVcId
                | Table::CopiesByOriginal
                | Table::DelegatesByInserter
                | Table::GrantsByData
                | Table::StateTreeStale
        )
    }
}

/// Keys of composite indexes: fixed-width parts concatenated, so a prefix selects exactly.
pub mod key {
    use protocol::identity::Identity;
    use uuid::Uuid;

    /// A UUID as its 16 bytes.
    pub fn uuid(id: &Uuid) -> [u8; 16] {
        *id.as_bytes()
    }

    /// An identity as its canonical bytes (scheme tag, then key or address).
    pub fn identity(identity: &Identity) -> Vec<u8> {
        borsh::to_vec(identity).expect("encoding into a Vec cannot fail")
    }

    /// Concatenation of parts.
    pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// The trailing 16 bytes of a composite key, as a UUID.
    pub fn trailing_uuid(key: &[u8]) -> Option<Uuid> {
        let start = key.len().checked_sub(16)?;
        Uuid::from_slice(&key[start..]).ok()
    }
}

/// Read access to state, committed or layered.
///
/// Every read is bounded: a scan returns at most `limit` entries and reads about as many rows
/// from the database (plus those that deletions in uncommitted layers above it hide, which
/// are bounded by the block's own writes), never a whole prefix.
pub trait Read {
    /// The value under `key`.
    fn get(&self, table: Table, key: &[u8]) -> NodeResult<Option<Vec<u8>>>;

    /// Up to `limit` entries whose key starts with `prefix` and is not smaller than `start`,
    /// in key order. A `start` below `prefix` means "from the first key under `prefix`".
    fn scan_from(
        &self,
        table: Table,
        prefix: &[u8],
        start: &[u8],
        limit: usize,
    ) -> NodeResult<Vec<(Vec<u8>, Vec<u8>)>>;

    /// Up to `limit` entries whose key starts with `prefix`, in key order.
    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        limit: usize,
    ) -> NodeResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scan_from(table, prefix, prefix, limit)
    }

    /// A decoded row.
    fn row<T: BorshDeserialize>(&self, table: Table, key: &[u8]) -> NodeResult<Option<T>> {
        match self.get(table, key)? {
            Some(bytes) => T::try_from_slice(&bytes)
                .map(Some)
                .map_err(|e| NodeError::corrupt(format!("row in table {}", table.name()), e)),
            None => Ok(None),
        }
    }

    /// Whether `key` is present.
    fn contains(&self, table: Table, key: &[u8]) -> NodeResult<bool> {
        Ok(self.get(table, key)?.is_some())
    }

    /// Up to `limit` keys under `prefix`, in order.
    fn scan_keys(&self, table: Table, prefix: &[u8], limit: usize) -> NodeResult<Vec<Vec<u8>>> {
        Ok(self
            .scan(table, prefix, limit)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }

    /// The first key under `prefix` (one row read).
    fn first_key(&self, table: Table, prefix: &[u8]) -> NodeResult<Option<Vec<u8>>> {
        Ok(self.scan_keys(table, prefix, 1)?.into_iter().next())
    }
}

/// Write access to layered state.
pub trait Write {
    /// Sets `key` to `value`.
    fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>);
    /// Removes `key`.
    fn delete(&mut self, table: Table, key: Vec<u8>);

    /// Sets `key` to an encoded row.
    fn put_row<T: BorshSerialize>(&mut self, table: Table, key: Vec<u8>, row: &T) {
        let bytes = borsh::to_vec(row).expect("encoding into a Vec cannot fail");
        self.put(table, key, bytes);
    }

    /// Sets an index entry (its presence is the information).
    fn mark(&mut self, table: Table, key: Vec<u8>) {
        self.put(table, key, Vec::new());
    }
}
