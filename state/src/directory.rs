//! Directories: the lists that reads page through (a user's wallets, credentials and
//! attributes, the grants an owner gave and a grantee holds, the locks on a credential), kept
//! as chunks of sorted entries in the authenticated state, so that a proof of the chunks a
//! page read is a proof that the page is whole.
//!
//! The state tree is keyed by hash: it proves that a key holds a value, or that it is absent,
//! never that a range holds nothing else. A list is therefore kept as chunks that partition the
//! space of its entries: each chunk holds every entry in `(lower, bound]`, names its `lower`
//! (the bound of the chunk before it, none for the first) and is stored under its `bound` (a
//! last chunk, unbounded above, under [`Bound::End`]). A reader that holds a proven chunk
//! knows every entry in its range; from a chunk's bound it looks up the chunk whose `lower` is
//! that bound, and so on: contiguity is checked link by link. A list is empty exactly when its
//! `End` chunk is absent, which the tree also proves.
//!
//! Every chunk holds at least one entry and at most [`MAX_CHUNK_ENTRIES`] (a chunk that grows
//! past it splits in two), so a change reads and writes at most two chunks, and a page of `n`
//! entries reads at most `n + 2` chunks: costs bounded by the operation, never by the list.
//! Entries of a list all have one length (ids, or height or lock time and id), so byte order
//! is their order.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::access::Result;
use crate::error::NodeError;
use crate::table::{Read, Table, Write};

/// The most entries a chunk holds (at most 24 bytes each: under 800 bytes a chunk).
pub const MAX_CHUNK_ENTRIES: usize = 32;

/// The lists kept as directories. Each has its own code in the chunk keys (never reused) and
/// one entry length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum List {
    /// A user's wallets: user id → wallet ids.
    WalletsOfUser,
    /// A user's credentials, originals and copies: user id → credential ids.
    CredentialsOfUser,
    /// A user's attributes: user id → attribute ids.
    AttributesOfUser,
    /// The grants a user gave: owner user id → grant ids.
    GrantsOfOwner,
    /// The grants a grantee holds: grantee identity → height ‖ grant id.
    GrantsToGrantee,
    /// The grants a grantee holds from one owner: grantee ‖ owner user id → height ‖ grant id.
    GrantsToGranteeFromOwner,
    /// The grants a grantee holds on one content: grantee ‖ content hash → grant ids.
    GrantsToGranteeOfContent,
    /// The locked grants on a credential (its copy's, and an original's copies'): credential
    /// id → lock time (descending) ‖ grant id.
    LocksOnCredential,
}

impl List {
    /// Every list.
    pub const ALL: &'static [List] = &[
        List::WalletsOfUser,
        List::CredentialsOfUser,
        List::AttributesOfUser,
        List::GrantsOfOwner,
        List::GrantsToGrantee,
        List::GrantsToGranteeFromOwner,
        List::GrantsToGranteeOfContent,
        List::LocksOnCredential,
    ];

    /// The list's code in chunk keys. Stable: part of the state format.
    const fn code(self) -> u8 {
        match self {
            List::WalletsOfUser => 1,
            List::CredentialsOfUser => 2,
            List::AttributesOfUser => 3,
            List::GrantsOfOwner => 4,
            List::GrantsToGrantee => 5,
            List::GrantsToGranteeFromOwner => 6,
            List::GrantsToGranteeOfContent => 7,
            List::LocksOnCredential => 8,
        }
    }

    /// The length of every entry of the list.
    pub const fn entry_len(self) -> usize {
        match self {
            List::GrantsToGrantee | List::GrantsToGranteeFromOwner | List::LocksOnCredential => {
                8 + 16
            }
            _ => 16,
        }
    }

    /// The list with code `code`.
    fn from_code(code: u8) -> Option<List> {
        List::ALL.iter().copied().find(|l| l.code() == code)
    }

    /// Whether the list's last chunk keeps the list's length (the grantee's counts): lists
    /// ordered by height, whose new entries land in the last chunk anyway.
    pub const fn is_counted(self) -> bool {
        matches!(self, List::GrantsToGrantee | List::GrantsToGranteeFromOwner)
    }

    /// The list's name, for errors.
    pub const fn name(self) -> &'static str {
        match self {
            List::WalletsOfUser => "wallets of a user",
            List::CredentialsOfUser => "credentials of a user",
            List::AttributesOfUser => "attributes of a user",
            List::GrantsOfOwner => "grants of an owner",
            List::GrantsToGrantee => "grants to a grantee",
            List::GrantsToGranteeFromOwner => "grants to a grantee from an owner",
            List::GrantsToGranteeOfContent => "grants to a grantee on a content",
            List::LocksOnCredential => "locks on a credential",
        }
    }
}

/// Where a chunk ends: after an entry, or nowhere (the list's last chunk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Entry(Vec<u8>),
    End,
}

/// One chunk of a list: its entries in `(lower, bound]`, sorted, at least one.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Chunk {
    /// The bound of the chunk before this one; `None` for the first chunk.
    pub lower: Option<Vec<u8>>,
    /// The entries, concatenated (each `entry_len` bytes), in increasing order.
    entries: Vec<u8>,
    /// In the last chunk of a counted list ([`List::is_counted`]): how many entries the whole
    /// list holds, so that a count is one read (and one proof). `None` in every other chunk.
    total: Option<u64>,
}

impl Chunk {
    fn new(lower: Option<Vec<u8>>, entries: &[&[u8]]) -> Chunk {
        Chunk {
            lower,
            entries: entries.concat(),
            total: None,
        }
    }

    /// The entries, in order.
    pub fn entries(&self, list: List) -> impl Iterator<Item = &[u8]> {
        self.entries.chunks_exact(list.entry_len())
    }

    fn len(&self, list: List) -> usize {
        self.entries.len() / list.entry_len()
    }
}

/// A list of one owner (a user, a grantee, a credential): the list and its key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListKey {
    pub list: List,
    /// What the list belongs to (a user id, a grantee identity, ...), as key bytes.
    pub owner: Vec<u8>,
}

impl ListKey {
    pub fn new(list: List, owner: Vec<u8>) -> ListKey {
        ListKey { list, owner }
    }

    /// What every chunk key of the list starts with: code ‖ owner length (u16 BE) ‖ owner.
    pub fn header(&self) -> Vec<u8> {
        let len = u16::try_from(self.owner.len()).unwrap_or(u16::MAX);
        [&[self.list.code()][..], &len.to_be_bytes(), &self.owner].concat()
    }

    /// The list whose chunk keys start with `header` (see [`ListKey::header`]).
    pub fn from_header(header: &[u8]) -> Option<ListKey> {
        let (&code, rest) = header.split_first()?;
        let (len, owner) = rest.split_first_chunk::<2>()?;
        if usize::from(u16::from_be_bytes(*len)) != owner.len() {
            return None;
        }
        Some(ListKey::new(List::from_code(code)?, owner.to_vec()))
    }

    /// The list a chunk key belongs to.
    pub fn of_chunk_key(key: &[u8]) -> Option<ListKey> {
        let len = usize::from(u16::from_be_bytes(key.get(1..3)?.try_into().ok()?));
        ListKey::from_header(key.get(..3 + len)?)
    }

    /// The key of the chunk that ends at `bound`.
    pub fn chunk_key(&self, bound: &Bound) -> Vec<u8> {
        match bound {
            Bound::Entry(entry) => [self.header(), vec![0], entry.clone()].concat(),
            Bound::End => [self.header(), vec![1]].concat(),
        }
    }

    /// Where a seek for `entry` starts: the chunk that ends at or after it holds it.
    fn seek_to(&self, entry: &[u8]) -> Vec<u8> {
        [self.header(), vec![0], entry.to_vec()].concat()
    }

    /// Where a seek for the chunk after the one ending at `bound` starts.
    fn seek_after(&self, bound: &[u8]) -> Vec<u8> {
        [self.header(), vec![0], bound.to_vec(), vec![0]].concat()
    }

    /// The bound a chunk key names, if the key is one of this list's.
    pub fn bound_of(&self, key: &[u8]) -> Option<Bound> {
        let rest = key.strip_prefix(self.header().as_slice())?;
        match rest {
            [1] => Some(Bound::End),
            [0, entry @ ..] if entry.len() == self.list.entry_len() => {
                Some(Bound::Entry(entry.to_vec()))
            }
            _ => None,
        }
    }

    fn check_entry(&self, entry: &[u8]) -> Result<()> {
        if entry.len() == self.list.entry_len() {
            Ok(())
        } else {
            Err(NodeError::corrupt(
                format!("entry of the {}", self.list.name()),
                format!("{} bytes, not {}", entry.len(), self.list.entry_len()),
            ))
        }
    }
}

/// Decodes a chunk stored under `key` in `list`, checking everything a chunk promises: a
/// known bound, entries of the list's length, strictly increasing, at least one and at most
/// [`MAX_CHUNK_ENTRIES`], all above `lower` and at most the bound (a chunk's bound stays where
/// it was set when its entries below it go: only splits set bounds). Whatever gives the bytes (the
/// node's own store, or a relay handing over a proven value), a chunk that breaks any of this
/// is refused.
pub fn decode_chunk(list: &ListKey, key: &[u8], bytes: &[u8]) -> Result<(Bound, Chunk)> {
    let corrupt = |why: &str| NodeError::corrupt(format!("chunk of the {}", list.list.name()), why);
    let bound = list
        .bound_of(key)
        .ok_or_else(|| corrupt("not a chunk key"))?;
    let chunk = Chunk::try_from_slice(bytes).map_err(|_| corrupt("not a chunk"))?;
    let len = list.list.entry_len();
    if chunk.entries.len() % len != 0 || chunk.entries.is_empty() {
        return Err(corrupt("entries of the wrong length, or none"));
    }
    if chunk.len(list.list) > MAX_CHUNK_ENTRIES {
        return Err(corrupt("too many entries"));
    }
    if chunk.lower.as_ref().is_some_and(|l| l.len() != len) {
        return Err(corrupt("a lower bound of the wrong length"));
    }
    let mut previous: Option<&[u8]> = chunk.lower.as_deref();
    for entry in chunk.entries(list.list) {
        if previous.is_some_and(|p| entry <= p) {
            return Err(corrupt(
                "entries out of order, or not above the lower bound",
            ));
        }
        previous = Some(entry);
    }
    if let (Bound::Entry(bound), Some(last)) = (&bound, previous)
        && last > bound.as_slice()
    {
        return Err(corrupt("an entry beyond the chunk's bound"));
    }
    if let (Bound::Entry(bound), Some(lower)) = (&bound, &chunk.lower)
        && lower >= bound
    {
        return Err(corrupt("an empty range"));
    }
    match (chunk.total, &bound) {
        (None, _) => {}
        (Some(total), Bound::End) if list.list.is_counted() => {
            if total < chunk.len(list.list) as u64 {
                return Err(corrupt("a list total below the entries of its last chunk"));
            }
        }
        (Some(_), _) => return Err(corrupt("a total outside a counted list's last chunk")),
    }
    Ok((bound, chunk))
}

/// The first chunk of `list` whose key is at or after `start`.
fn seek<R: Read + ?Sized>(r: &R, list: &ListKey, start: &[u8]) -> Result<Option<(Bound, Chunk)>> {
    let header = list.header();
    match r
        .scan_from(Table::Directories, &header, start, 1)?
        .into_iter()
        .next()
    {
        Some((key, bytes)) => Ok(Some(decode_chunk(list, &key, &bytes)?)),
        None => Ok(None),
    }
}

/// The chunk that holds `entry`'s place.
fn chunk_holding<R: Read + ?Sized>(
    r: &R,
    list: &ListKey,
    entry: &[u8],
) -> Result<Option<(Bound, Chunk)>> {
    seek(r, list, &list.seek_to(entry))
}

/// The chunk after the one that ends at `bound` (there is one: only the last chunk is
/// unbounded).
fn chunk_after<R: Read + ?Sized>(r: &R, list: &ListKey, bound: &[u8]) -> Result<(Bound, Chunk)> {
    match seek(r, list, &list.seek_after(bound))? {
        Some((next_bound, chunk)) if chunk.lower.as_deref() == Some(bound) => {
            Ok((next_bound, chunk))
        }
        _ => Err(NodeError::corrupt(
            format!("chunks of the {}", list.list.name()),
            "a chunk's successor does not start at its bound",
        )),
    }
}

fn put_chunk<W: Write + ?Sized>(w: &mut W, list: &ListKey, bound: &Bound, chunk: &Chunk) {
    w.put_row(Table::Directories, list.chunk_key(bound), chunk);
}

/// Adds `entry` to the list (nothing if it is there already).
pub fn insert<S: Read + Write + ?Sized>(s: &mut S, list: &ListKey, entry: &[u8]) -> Result<()> {
    list.check_entry(entry)?;
    let before = total(s, list)?;
    if insert_entry(s, list, entry)? {
        set_total(s, list, before + 1)?;
    }
    Ok(())
}

/// Removes `entry` from the list (nothing if it is not there).
pub fn remove<S: Read + Write + ?Sized>(s: &mut S, list: &ListKey, entry: &[u8]) -> Result<()> {
    list.check_entry(entry)?;
    let before = total(s, list)?;
    if remove_entry(s, list, entry)? && list.list.is_counted() {
        let after = before.checked_sub(1).ok_or_else(|| {
            NodeError::corrupt(
                format!("chunks of the {}", list.list.name()),
                "a list total below zero",
            )
        })?;
        set_total(s, list, after)?;
    }
    Ok(())
}

/// How many entries a counted list holds: one read, of its last chunk (0 for other lists).
pub fn total<R: Read + ?Sized>(r: &R, list: &ListKey) -> Result<u64> {
    if !list.list.is_counted() {
        return Ok(0);
    }
    let key = list.chunk_key(&Bound::End);
    match r.get(Table::Directories, &key)? {
        Some(bytes) => Ok(decode_chunk(list, &key, &bytes)?.1.total.unwrap_or(0)),
        None => Ok(0),
    }
}

/// Writes a counted list's new length into its last chunk (which a change may just have
/// rewritten without it); nothing when the list is now empty.
fn set_total<S: Read + Write + ?Sized>(s: &mut S, list: &ListKey, total: u64) -> Result<()> {
    if !list.list.is_counted() {
        return Ok(());
    }
    let key = list.chunk_key(&Bound::End);
    let Some(bytes) = s.get(Table::Directories, &key)? else {
        return Ok(());
    };
    let (_, mut chunk) = decode_chunk(list, &key, &bytes)?;
    chunk.total = Some(total);
    put_chunk(s, list, &Bound::End, &chunk);
    Ok(())
}

/// Inserts `entry`; answers whether it was new.
fn insert_entry<S: Read + Write + ?Sized>(s: &mut S, list: &ListKey, entry: &[u8]) -> Result<bool> {
    let Some((bound, chunk)) = chunk_holding(s, list, entry)? else {
        put_chunk(s, list, &Bound::End, &Chunk::new(None, &[entry]));
        return Ok(true);
    };
    let mut entries: Vec<&[u8]> = chunk.entries(list.list).collect();
    let Err(at) = entries.binary_search(&entry) else {
        return Ok(false);
    };
    entries.insert(at, entry);
    if entries.len() <= MAX_CHUNK_ENTRIES {
        put_chunk(s, list, &bound, &Chunk::new(chunk.lower.clone(), &entries));
        return Ok(true);
    }
    // Split in two halves: the lower half ends at its last entry, the upper half keeps the
    // chunk's key and starts there. No other chunk names either, so nothing else changes.
    let (low, high) = entries.split_at(entries.len() / 2);
    let split = low[low.len() - 1].to_vec();
    put_chunk(
        s,
        list,
        &Bound::Entry(split.clone()),
        &Chunk::new(chunk.lower.clone(), low),
    );
    put_chunk(s, list, &bound, &Chunk::new(Some(split), high));
    Ok(true)
}

/// Removes `entry`; answers whether it was there.
fn remove_entry<S: Read + Write + ?Sized>(s: &mut S, list: &ListKey, entry: &[u8]) -> Result<bool> {
    let Some((bound, chunk)) = chunk_holding(s, list, entry)? else {
        return Ok(false);
    };
    let mut entries: Vec<&[u8]> = chunk.entries(list.list).collect();
    let Ok(at) = entries.binary_search(&entry) else {
        return Ok(false);
    };
    entries.remove(at);
    if !entries.is_empty() {
        put_chunk(s, list, &bound, &Chunk::new(chunk.lower.clone(), &entries));
        return Ok(true);
    }
    // The chunk is empty: it goes, and its neighbour takes its range.
    match (&bound, &chunk.lower) {
        (Bound::Entry(old), _) => {
            let (next_bound, mut next) = chunk_after(s, list, old)?;
            next.lower = chunk.lower.clone();
            put_chunk(s, list, &next_bound, &next);
            s.delete(Table::Directories, list.chunk_key(&bound));
        }
        // The last chunk, emptied: the one before becomes the last.
        (Bound::End, Some(lower)) => {
            let previous_key = list.chunk_key(&Bound::Entry(lower.clone()));
            let bytes = s.get(Table::Directories, &previous_key)?.ok_or_else(|| {
                NodeError::corrupt(
                    format!("chunks of the {}", list.list.name()),
                    "the chunk before the last is missing",
                )
            })?;
            let (_, previous) = decode_chunk(list, &previous_key, &bytes)?;
            s.delete(Table::Directories, previous_key);
            put_chunk(s, list, &Bound::End, &previous);
        }
        // The only chunk: the list is empty.
        (Bound::End, None) => s.delete(Table::Directories, list.chunk_key(&bound)),
    }
    Ok(true)
}

/// The first entry of the list.
pub fn first<R: Read + ?Sized>(r: &R, list: &ListKey) -> Result<Option<Vec<u8>>> {
    Ok(seek(r, list, &list.header())?
        .and_then(|(_, chunk)| chunk.entries(list.list).next().map(<[u8]>::to_vec)))
}

/// Up to `limit` entries after `after` (from the first when `None`), in order, and whether
/// more follow. Reads the chunks that hold them and at most one more.
pub fn page<R: Read + ?Sized>(
    r: &R,
    list: &ListKey,
    after: Option<&[u8]>,
    limit: usize,
) -> Result<(Vec<Vec<u8>>, bool)> {
    let mut chunk = match after {
        None => seek(r, list, &list.header())?,
        Some(after) => chunk_holding(r, list, after)?,
    };
    let mut out = Vec::new();
    while let Some((bound, c)) = chunk {
        for entry in c.entries(list.list) {
            if after.is_none_or(|a| entry > a) {
                if out.len() == limit {
                    return Ok((out, true));
                }
                out.push(entry.to_vec());
            }
        }
        chunk = match bound {
            Bound::End => None,
            Bound::Entry(b) => Some(chunk_after(r, list, &b)?),
        };
    }
    Ok((out, false))
}

/// How many entries all lists of kind `list` hold together (a whole-table scan: for tests).
#[cfg(any(test, feature = "testing"))]
pub fn count_entries<R: Read + ?Sized>(r: &R, list: List) -> Result<usize> {
    let mut count = 0;
    for (_, bytes) in r.scan(Table::Directories, &[list.code()], usize::MAX)? {
        let chunk = Chunk::try_from_slice(&bytes)
            .map_err(|e| NodeError::corrupt("chunk", e.to_string()))?;
        count += chunk.len(list);
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;
    use crate::memory::MemoryState;

    fn entry(n: u16) -> Vec<u8> {
        let mut e = vec![0u8; 16];
        e[14..].copy_from_slice(&n.to_be_bytes());
        e
    }

    fn alice() -> ListKey {
        ListKey::new(List::CredentialsOfUser, vec![0xa1; 16])
    }

    fn bob() -> ListKey {
        ListKey::new(List::CredentialsOfUser, vec![0xb0; 16])
    }

    /// A counted list (24-byte entries).
    fn grants() -> ListKey {
        ListKey::new(List::GrantsToGrantee, vec![0xc0; 33])
    }

    fn entry24(n: u16) -> Vec<u8> {
        [vec![0u8; 8], entry(n)].concat()
    }

    /// The whole list, page by page (`size` entries each), following the cursors.
    fn paged<R: Read>(r: &R, list: &ListKey, size: usize) -> Vec<Vec<u8>> {
        let mut all = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let (entries, more) = page(r, list, after.as_deref(), size).unwrap();
            assert!(entries.len() <= size);
            all.extend(entries.iter().cloned());
            if !more {
                return all;
            }
            after = entries.last().cloned();
        }
    }

    /// Walks the chunks from the first: each decodes, each starts where the one before ended,
    /// none is empty, and the last is the `End` chunk. Answers how many there are.
    fn check_chunks<R: Read>(r: &R, list: &ListKey) -> usize {
        let mut chunk = seek(r, list, &list.header()).unwrap();
        let mut lower: Option<Vec<u8>> = None;
        let mut count = 0;
        while let Some((bound, c)) = chunk {
            assert_eq!(c.lower, lower);
            assert!(c.len(list.list) >= 1);
            count += 1;
            chunk = match bound {
                Bound::End => None,
                Bound::Entry(b) => {
                    lower = Some(b.clone());
                    Some(chunk_after(r, list, &b).unwrap())
                }
            };
        }
        count
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever the sequence of inserts and removals, the directory holds exactly the set
        /// a model holds, every paging reads it whole and in order, and its chunks stay linked,
        /// within bounds and as few as the splits made.
        #[test]
        fn a_directory_holds_exactly_what_was_inserted_and_not_removed(
            ops in proptest::collection::vec((any::<bool>(), 0u16..120), 1..400),
        ) {
            let mut w = MemoryState::default();
            let mut model = BTreeSet::new();
            for (add, n) in ops {
                if add {
                    insert(&mut w, &alice(), &entry(n)).unwrap();
                    insert(&mut w, &grants(), &entry24(n)).unwrap();
                    model.insert(entry(n));
                } else {
                    remove(&mut w, &alice(), &entry(n)).unwrap();
                    remove(&mut w, &grants(), &entry24(n)).unwrap();
                    model.remove(&entry(n));
                }
                // A counted list's total is its length after every change.
                prop_assert_eq!(total(&w, &grants()).unwrap(), model.len() as u64);
                // Another list beside it changes nothing of it.
                insert(&mut w, &bob(), &entry(n)).unwrap();
            }
            let want: Vec<Vec<u8>> = model.iter().cloned().collect();
            prop_assert_eq!(paged(&w, &alice(), 1000), want.clone());
            prop_assert_eq!(paged(&w, &alice(), 7), want.clone());
            prop_assert_eq!(paged(&w, &alice(), 1), want.clone());
            prop_assert_eq!(first(&w, &alice()).unwrap(), want.first().cloned());
            let chunks = check_chunks(&w, &alice());
            prop_assert_eq!(chunks == 0, want.is_empty());
            prop_assert!(chunks <= want.len().max(1));
        }
    }

    #[test]
    fn a_growing_list_splits_into_chunks_of_at_most_the_maximum() {
        let mut w = MemoryState::default();
        for n in 0..1000 {
            insert(&mut w, &alice(), &entry(n)).unwrap();
        }
        let chunks = check_chunks(&w, &alice());
        assert!((1000 / MAX_CHUNK_ENTRIES..=2 * 1000 / MAX_CHUNK_ENTRIES + 1).contains(&chunks));
        // A page of 5 from the middle reads the chunk holding the cursor and the next.
        let (entries, more) = page(&w, &alice(), Some(&entry(500)), 5).unwrap();
        assert_eq!(entries, (501..506).map(entry).collect::<Vec<_>>());
        assert!(more);
        for n in 0..1000 {
            remove(&mut w, &alice(), &entry(n)).unwrap();
        }
        assert_eq!(check_chunks(&w, &alice()), 0);
        assert!(
            w.scan(Table::Directories, &alice().header(), 10)
                .unwrap()
                .is_empty()
        );
    }

    fn chunk_bytes(lower: Option<Vec<u8>>, entries: &[Vec<u8>]) -> Vec<u8> {
        borsh::to_vec(&Chunk {
            lower,
            entries: entries.concat(),
            total: None,
        })
        .unwrap()
    }

    fn decode(key: &[u8], bytes: &[u8]) -> &'static str {
        decode_chunk(&alice(), key, bytes).map_or_else(|e| e.code(), |_| "ok")
    }

    #[test]
    fn a_well_formed_chunk_decodes() {
        let key = alice().chunk_key(&Bound::Entry(entry(9)));
        assert_eq!(
            decode(&key, &chunk_bytes(Some(entry(1)), &[entry(2), entry(9)])),
            "ok"
        );
        let end = alice().chunk_key(&Bound::End);
        assert_eq!(decode(&end, &chunk_bytes(None, &[entry(2)])), "ok");
    }

    #[test]
    fn fail_chunks_that_break_their_promises() {
        let key = alice().chunk_key(&Bound::Entry(entry(9)));
        let end = alice().chunk_key(&Bound::End);
        let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
            ("no entries", end.clone(), chunk_bytes(None, &[])),
            (
                "out of order",
                end.clone(),
                chunk_bytes(None, &[entry(3), entry(2)]),
            ),
            (
                "twice the same",
                end.clone(),
                chunk_bytes(None, &[entry(3), entry(3)]),
            ),
            (
                "not above lower",
                end.clone(),
                chunk_bytes(Some(entry(3)), &[entry(3)]),
            ),
            (
                "beyond the bound",
                key.clone(),
                chunk_bytes(None, &[entry(10)]),
            ),
            (
                "empty range",
                key.clone(),
                chunk_bytes(Some(entry(9)), &[entry(9)]),
            ),
            (
                "short entry",
                end.clone(),
                chunk_bytes(None, &[vec![1; 15]]),
            ),
            (
                "short lower",
                end.clone(),
                chunk_bytes(Some(vec![0; 3]), &[entry(3)]),
            ),
            (
                "too many",
                end.clone(),
                chunk_bytes(
                    None,
                    &(0..=MAX_CHUNK_ENTRIES as u16)
                        .map(entry)
                        .collect::<Vec<_>>(),
                ),
            ),
            ("not borsh", end.clone(), vec![7; 5]),
            (
                "trailing bytes",
                end.clone(),
                [chunk_bytes(None, &[entry(1)]), vec![0]].concat(),
            ),
            (
                "another list's key",
                bob().chunk_key(&Bound::End),
                chunk_bytes(None, &[entry(1)]),
            ),
            (
                "a bound of the wrong length",
                [alice().header(), vec![0, 1, 2]].concat(),
                chunk_bytes(None, &[entry(1)]),
            ),
        ];
        for (why, key, bytes) in cases {
            assert_eq!(decode(&key, &bytes), "corrupt_record", "{why}");
        }
    }
}
