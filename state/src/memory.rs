//! State in a map, for tests of what runs over any [`Read`] + [`Write`] (directories, index
//! maintenance) without a database.

use std::collections::BTreeMap;

use crate::error::NodeResult;
use crate::table::{Read, Table, Write};

/// Every table's rows in one ordered map.
#[derive(Debug, Clone, Default)]
pub struct MemoryState {
    rows: BTreeMap<(Table, Vec<u8>), Vec<u8>>,
}

impl Read for MemoryState {
    fn get(&self, table: Table, key: &[u8]) -> NodeResult<Option<Vec<u8>>> {
        Ok(self.rows.get(&(table, key.to_vec())).cloned())
    }

    fn scan_from(
        &self,
        table: Table,
        prefix: &[u8],
        start: &[u8],
        limit: usize,
    ) -> NodeResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let start = start.max(prefix).to_vec();
        Ok(self
            .rows
            .range((table, start)..)
            .take_while(|((t, k), _)| *t == table && k.starts_with(prefix))
            .take(limit)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }
}

impl Write for MemoryState {
    fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        self.rows.insert((table, key), value);
    }

    fn delete(&mut self, table: Table, key: Vec<u8>) {
        self.rows.remove(&(table, key));
    }
}
