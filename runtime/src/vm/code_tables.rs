//! A module's lookup tables — trap sites, the address map, function names —
//! kept in their serialized form and read in place: in memory after
//! compiling, or inside the mapped file of a precompiled module. Loading a
//! module decodes none of them; a lookup binary-searches fixed-size
//! little-endian records.
//!
//! Layouts (all integers little endian, `u32`):
//! - trap table: 5-byte records `(code offset, trap kind as u8)`, sorted by
//!   code offset;
//! - address map: 8-byte records `(code offset, Wasm offset)`, sorted by code
//!   offset;
//! - function names: a record count, then 12-byte records `(function index,
//!   name start, name length)` sorted by function index, then the names'
//!   UTF-8 bytes (starts are relative to the end of the records).
//!
//! Invariants: a table's length is checked once when it is loaded
//! ([`check_trap_table`] and friends; they also reject unknown trap kinds).
//! Sortedness is the writer's promise: an unsorted table (a damaged file
//! whose checksum still matched) gives wrong answers, never unsafety, and a
//! name out of range or not UTF-8 reads as no name. Nothing here panics on
//! any bytes.

use anyhow::{Result, bail};
use remap_compiler::trap::TrapKind;
use remap_compiler::{AddressMapEntry, TrapRecord};
use remap_memory::MappedFile;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

/// Bytes of one trap-table record.
const TRAP_RECORD_BYTES: usize = 5;
/// Bytes of one address-map record.
const ADDRESS_RECORD_BYTES: usize = 8;
/// Bytes of one function-name record.
const NAME_RECORD_BYTES: usize = 12;

/// Where a table's bytes live.
#[derive(Debug)]
pub(crate) enum TableBytes {
    /// Owned (a module just compiled, or loaded from bytes in memory).
    Owned(Box<[u8]>),
    /// A range of a mapped precompiled file, which the table keeps mapped.
    InFile {
        file: Arc<MappedFile>,
        range: Range<usize>,
    },
}

impl TableBytes {
    /// The bytes `bytes`, read in place when they lie inside `file`'s
    /// mapping, else copied.
    pub fn in_file(file: &Arc<MappedFile>, bytes: &[u8]) -> TableBytes {
        match file.range_of(bytes) {
            Some(range) => TableBytes::InFile {
                file: Arc::clone(file),
                range,
            },
            None => TableBytes::Owned(bytes.into()),
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            TableBytes::Owned(bytes) => bytes,
            TableBytes::InFile { file, range } => &file.as_slice()[range.clone()],
        }
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

fn trap_kind(byte: u8) -> Option<TrapKind> {
    TrapKind::ALL.into_iter().find(|kind| *kind as u8 == byte)
}

/// Encodes trap records (sorted by offset) as a trap table.
pub(crate) fn encode_trap_table(records: &[TrapRecord]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(records.len() * TRAP_RECORD_BYTES);
    for record in records {
        bytes.extend_from_slice(&record.offset.to_le_bytes());
        bytes.push(record.kind as u8);
    }
    bytes
}

/// Checks a trap table's length and kinds.
pub(crate) fn check_trap_table(bytes: &[u8]) -> Result<()> {
    let (records, rest) = bytes.as_chunks::<TRAP_RECORD_BYTES>();
    if !rest.is_empty() {
        bail!("its trap table is not a whole number of records");
    }
    if let Some(record) = records.iter().find(|record| trap_kind(record[4]).is_none()) {
        bail!("unknown trap kind {}", record[4]);
    }
    Ok(())
}

/// Trapping instructions by code offset.
#[derive(Debug)]
pub(crate) struct TrapTable(TableBytes);

impl TrapTable {
    /// A checked trap table ([`check_trap_table`]).
    pub fn new(bytes: TableBytes) -> TrapTable {
        TrapTable(bytes)
    }

    /// The serialized table.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// The trap kind of the instruction at code offset `offset`.
    pub fn kind_at(&self, offset: u32) -> Option<TrapKind> {
        let (records, _) = self.as_bytes().as_chunks::<TRAP_RECORD_BYTES>();
        let found = records
            .binary_search_by_key(&offset, |record| u32_at(record, 0))
            .ok()?;
        trap_kind(records[found][4])
    }
}

/// Encodes address-map entries (sorted by code offset).
pub(crate) fn encode_address_map(entries: &[AddressMapEntry]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(entries.len() * ADDRESS_RECORD_BYTES);
    for entry in entries {
        bytes.extend_from_slice(&entry.code_offset.to_le_bytes());
        bytes.extend_from_slice(&entry.wasm_offset.to_le_bytes());
    }
    bytes
}

/// Checks an address map's length.
pub(crate) fn check_address_map(bytes: &[u8]) -> Result<()> {
    if !bytes.len().is_multiple_of(ADDRESS_RECORD_BYTES) {
        bail!("its address map is not a whole number of records");
    }
    Ok(())
}

/// Code offset -> Wasm instruction offset.
#[derive(Debug)]
pub(crate) struct AddressMap(TableBytes);

impl AddressMap {
    /// A checked address map ([`check_address_map`]).
    pub fn new(bytes: TableBytes) -> AddressMap {
        AddressMap(bytes)
    }

    /// The serialized map.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// The last entry at or before code offset `offset`.
    pub fn entry_before(&self, offset: u32) -> Option<AddressMapEntry> {
        let (records, _) = self.as_bytes().as_chunks::<ADDRESS_RECORD_BYTES>();
        let after = records.partition_point(|record| u32_at(record, 0) <= offset);
        let record = records.get(after.checked_sub(1)?)?;
        Some(AddressMapEntry {
            code_offset: u32_at(record, 0),
            wasm_offset: u32_at(record, 4),
        })
    }
}

/// Encodes function names (the name section's, by function index).
pub(crate) fn encode_function_names(names: &BTreeMap<u32, String>) -> Vec<u8> {
    let records = names.len() * NAME_RECORD_BYTES;
    let text: usize = names.values().map(String::len).sum();
    let mut bytes = Vec::with_capacity(4 + records + text);
    bytes.extend_from_slice(&(names.len() as u32).to_le_bytes());
    let mut start = 0u32;
    for (index, name) in names {
        bytes.extend_from_slice(&index.to_le_bytes());
        bytes.extend_from_slice(&start.to_le_bytes());
        bytes.extend_from_slice(&(name.len() as u32).to_le_bytes());
        start += name.len() as u32;
    }
    for name in names.values() {
        bytes.extend_from_slice(name.as_bytes());
    }
    bytes
}

/// The function-name records and the text after them, if the count fits.
fn split_names(bytes: &[u8]) -> Option<(&[[u8; NAME_RECORD_BYTES]], &[u8])> {
    let count = u32_at(bytes.get(..4)?, 0) as usize;
    let records_end = count.checked_mul(NAME_RECORD_BYTES)?.checked_add(4)?;
    let (records, text) = bytes.get(4..)?.split_at_checked(records_end - 4)?;
    Some((records.as_chunks::<NAME_RECORD_BYTES>().0, text))
}

/// Checks that a function-name table's records fit in it.
pub(crate) fn check_function_names(bytes: &[u8]) -> Result<()> {
    if split_names(bytes).is_none() {
        bail!("its function-name table is shorter than its record count");
    }
    Ok(())
}

/// Function names from the name section, by function index.
#[derive(Debug)]
pub(crate) struct FunctionNames(TableBytes);

impl FunctionNames {
    /// A checked table ([`check_function_names`]).
    pub fn new(bytes: TableBytes) -> FunctionNames {
        FunctionNames(bytes)
    }

    /// The serialized table.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// The name of function `func_index`.
    pub fn get(&self, func_index: u32) -> Option<&str> {
        let (records, text) = split_names(self.as_bytes())?;
        let found = records
            .binary_search_by_key(&func_index, |record| u32_at(record, 0))
            .ok()?;
        let start = u32_at(&records[found], 4) as usize;
        let len = u32_at(&records[found], 8) as usize;
        let name = text.get(start..start.checked_add(len)?)?;
        std::str::from_utf8(name).ok()
    }
}

#[cfg(test)]
impl TrapTable {
    /// A table of `records`, owned.
    pub fn from_records(records: &[TrapRecord]) -> TrapTable {
        TrapTable::new(TableBytes::Owned(encode_trap_table(records).into()))
    }
}

#[cfg(test)]
impl AddressMap {
    /// A map of `entries`, owned.
    pub fn from_entries(entries: &[AddressMapEntry]) -> AddressMap {
        AddressMap::new(TableBytes::Owned(encode_address_map(entries).into()))
    }
}

#[cfg(test)]
impl FunctionNames {
    /// A table of `names`, owned.
    pub fn from_names(names: &BTreeMap<u32, String>) -> FunctionNames {
        FunctionNames::new(TableBytes::Owned(encode_function_names(names).into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(bytes: Vec<u8>) -> TableBytes {
        TableBytes::Owned(bytes.into())
    }

    #[test]
    fn traps_are_found_by_exact_offset() {
        let bytes = encode_trap_table(&[
            TrapRecord {
                offset: 4,
                kind: TrapKind::IntegerDivisionByZero,
            },
            TrapRecord {
                offset: 9,
                kind: TrapKind::MemoryOutOfBounds,
            },
        ]);
        check_trap_table(&bytes).unwrap();
        let table = TrapTable::new(owned(bytes));
        assert_eq!(table.kind_at(4), Some(TrapKind::IntegerDivisionByZero));
        assert_eq!(table.kind_at(9), Some(TrapKind::MemoryOutOfBounds));
        assert_eq!(table.kind_at(5), None);
    }

    #[test]
    fn damaged_trap_tables_are_refused() {
        assert!(check_trap_table(&[0; 6]).is_err());
        assert!(check_trap_table(&[0, 0, 0, 0, 0xee]).is_err());
    }

    #[test]
    fn the_address_map_finds_the_entry_at_or_before() {
        let entries = [(8, 102), (16, 105)].map(|(code_offset, wasm_offset)| AddressMapEntry {
            code_offset,
            wasm_offset,
        });
        let map = AddressMap::new(owned(encode_address_map(&entries)));
        assert_eq!(map.entry_before(7), None);
        assert_eq!(map.entry_before(8).map(|e| e.wasm_offset), Some(102));
        assert_eq!(map.entry_before(15).map(|e| e.wasm_offset), Some(102));
        assert_eq!(map.entry_before(99).map(|e| e.wasm_offset), Some(105));
        assert!(check_address_map(&[0; 7]).is_err());
    }

    #[test]
    fn names_round_trip_and_damage_reads_as_no_name() {
        let names = BTreeMap::from([(0, "main".to_owned()), (7, "ünïcode".to_owned())]);
        let bytes = encode_function_names(&names);
        check_function_names(&bytes).unwrap();
        let table = FunctionNames::new(owned(bytes.clone()));
        assert_eq!(table.get(0), Some("main"));
        assert_eq!(table.get(7), Some("ünïcode"));
        assert_eq!(table.get(3), None);
        let empty = encode_function_names(&BTreeMap::new());
        assert_eq!(FunctionNames::new(owned(empty)).get(0), None);
        // A count larger than the table, and a name running past the end.
        assert!(check_function_names(&[9, 0, 0, 0]).is_err());
        assert!(check_function_names(&[1, 0]).is_err());
        let mut long = bytes;
        long[12] = 200;
        assert_eq!(FunctionNames::new(owned(long)).get(0), None);
    }
}
