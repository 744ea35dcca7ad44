//! The hash chain: every row's hash covers the previous row's hash, the row's
//! seq and the row's own canonical content, across all tables in `seq` order:
//!
//! ```text
//! content = SHA-256(tag || column || column || ...)
//! hash    = SHA-256(previous hash || seq || content)
//! ```
//!
//! Canonical content: the table's tag byte, then every column in
//! [`Table::columns`] order, each encoded as a type byte and a fixed-width or
//! length-prefixed value, so two different rows cannot encode alike. The
//! content hash is computed by whoever queues the row, in parallel; only the
//! short link hash is left to the single writer thread.

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::schema::Table;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The hash before the first row ever written.
pub const GENESIS: Hash = [0; 32];

/// A row waiting to be appended: its table, columns after `seq`, and the
/// hash of its content.
#[derive(Clone, Debug)]
pub struct PendingRow {
    /// Where it goes.
    pub table: Table,
    /// Values in [`Table::columns`] order.
    pub values: Vec<Value>,
    /// [`content_hash`] of the above.
    pub content: Hash,
}

impl PendingRow {
    /// A row of `table` with `values`, its content hashed now.
    pub fn new(table: Table, values: Vec<Value>) -> PendingRow {
        let content = content_hash(table, values.iter().map(ValueRef::from), &mut Vec::new());
        PendingRow {
            table,
            values,
            content,
        }
    }
}

/// Appends canonical bytes of one value.
pub(crate) fn encode_value(out: &mut Vec<u8>, v: ValueRef<'_>) {
    match v {
        ValueRef::Null => out.push(0),
        ValueRef::Integer(i) => {
            out.push(1);
            out.extend_from_slice(&i.to_be_bytes());
        }
        ValueRef::Real(f) => {
            out.push(2);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        ValueRef::Text(t) => {
            out.push(3);
            out.extend_from_slice(&(t.len() as u64).to_be_bytes());
            out.extend_from_slice(t);
        }
        ValueRef::Blob(b) => {
            out.push(4);
            out.extend_from_slice(&(b.len() as u64).to_be_bytes());
            out.extend_from_slice(b);
        }
    }
}

/// `SHA-256(tag || columns...)`.
pub(crate) fn content_hash<'a>(
    table: Table,
    values: impl Iterator<Item = ValueRef<'a>>,
    scratch: &mut Vec<u8>,
) -> Hash {
    scratch.clear();
    scratch.push(table.tag());
    for v in values {
        encode_value(scratch, v);
    }
    Sha256::digest(&scratch[..]).into()
}

/// `SHA-256(prev || seq || content)`.
pub(crate) fn link_hash(prev: &Hash, seq: i64, content: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(content);
    h.finalize().into()
}

/// The last row of the chain as recorded in `meta`.
pub(crate) fn head(conn: &Connection) -> Result<(i64, Hash)> {
    read_point(conn, "head")
}

/// Where the chain starts after pruning (seq 0 and [`GENESIS`] before any).
pub(crate) fn anchor(conn: &Connection) -> Result<(i64, Hash)> {
    read_point(conn, "anchor")
}

fn read_point(conn: &Connection, name: &str) -> Result<(i64, Hash)> {
    let seq: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [format!("{name}_seq")],
            |r| r.get(0),
        )
        .optional()?;
    let hash: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [format!("{name}_hash")],
            |r| r.get(0),
        )
        .optional()?;
    let hash = hash
        .and_then(|h| <Hash>::try_from(h.as_slice()).ok())
        .unwrap_or(GENESIS);
    Ok((seq.unwrap_or(0), hash))
}

pub(crate) fn write_point(conn: &Connection, name: &str, seq: i64, hash: &Hash) -> Result<()> {
    let mut stmt =
        conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
    stmt.execute(rusqlite::params![format!("{name}_seq"), seq])?;
    stmt.execute(rusqlite::params![format!("{name}_hash"), &hash[..]])?;
    Ok(())
}

fn insert_sql(table: Table) -> String {
    let cols = table.columns();
    let placeholders: Vec<String> = (1..=cols.len() + 2).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO {} (seq, {}, hash) VALUES ({})",
        table.name(),
        cols.join(", "),
        placeholders.join(", ")
    )
}

/// Appends `rows` to the chain inside the caller's transaction, reading and
/// updating the head in `meta` (so that several writers, e.g. the daemon and
/// `vigil audit prune`, extend one chain). Returns the new head.
pub(crate) fn append(conn: &Connection, rows: &[PendingRow]) -> Result<(i64, Hash)> {
    let (mut seq, mut prev) = head(conn)?;
    let mut statements = Vec::with_capacity(Table::ALL.len());
    for t in Table::ALL {
        statements.push(conn.prepare_cached(&insert_sql(t))?);
    }
    for row in rows {
        seq += 1;
        let hash = link_hash(&prev, seq, &row.content);
        let idx = Table::ALL
            .iter()
            .position(|t| *t == row.table)
            .expect("known table");
        let stmt = &mut statements[idx];
        let params = std::iter::once(ValueRef::Integer(seq))
            .chain(row.values.iter().map(ValueRef::from))
            .chain(std::iter::once(ValueRef::Blob(&hash)));
        stmt.execute(params_from_iter(params.map(ToSqlOutput::Borrowed)))?;
        prev = hash;
    }
    write_point(conn, "head", seq, &prev)?;
    Ok((seq, prev))
}
