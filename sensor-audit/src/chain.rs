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
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};
use crate::schema::Table;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The hash before the first row ever written.
pub const GENESIS: Hash = [0; 32];

/// A row waiting to be appended: its table, its canonical content (the tag
/// byte, then every column after `seq` in [`Table::columns`] order, see
/// [`encode_value`]) in one buffer, and the hash of that content.
///
/// One allocation per row: the writer thread binds the columns straight
/// from the canonical bytes, so the row is neither encoded twice nor carried
/// as a dozen separately allocated values.
#[derive(Clone, Debug)]
pub struct PendingRow {
    /// Where it goes.
    pub table: Table,
    /// `tag || column || column || ...`, what [`content_hash`] hashes.
    pub encoded: Vec<u8>,
    /// SHA-256 of `encoded`.
    pub content: Hash,
}

impl PendingRow {
    /// A row of `table` with `values` (in [`Table::columns`] order), its
    /// content hashed now.
    pub fn new(table: Table, values: Vec<Value>) -> PendingRow {
        let mut b = RowBuilder::new(table, 256);
        for v in &values {
            b.value(ValueRef::from(v));
        }
        b.finish()
    }

    /// The columns after `seq`, borrowed from the canonical bytes.
    pub fn values(&self) -> Decoder<'_> {
        Decoder {
            rest: self.encoded.get(1..).unwrap_or_default(),
        }
    }
}

/// Builds a [`PendingRow`] column by column, straight into its canonical
/// encoding.
pub(crate) struct RowBuilder {
    table: Table,
    buf: Vec<u8>,
    columns: usize,
}

impl RowBuilder {
    /// A row of `table`; `capacity` is a guess of its encoded size.
    pub(crate) fn new(table: Table, capacity: usize) -> RowBuilder {
        let mut buf = Vec::with_capacity(capacity);
        buf.push(table.tag());
        RowBuilder {
            table,
            buf,
            columns: 0,
        }
    }

    /// Appends the next column.
    pub(crate) fn value(&mut self, v: ValueRef<'_>) -> &mut RowBuilder {
        encode_value(&mut self.buf, v);
        self.columns += 1;
        self
    }

    pub(crate) fn int(&mut self, i: i64) -> &mut RowBuilder {
        self.value(ValueRef::Integer(i))
    }

    pub(crate) fn opt_int(&mut self, i: Option<i64>) -> &mut RowBuilder {
        self.value(i.map_or(ValueRef::Null, ValueRef::Integer))
    }

    pub(crate) fn text(&mut self, s: &str) -> &mut RowBuilder {
        self.value(ValueRef::Text(s.as_bytes()))
    }

    pub(crate) fn opt_text(&mut self, s: Option<&str>) -> &mut RowBuilder {
        self.value(s.map_or(ValueRef::Null, |s| ValueRef::Text(s.as_bytes())))
    }

    pub(crate) fn blob(&mut self, b: &[u8]) -> &mut RowBuilder {
        self.value(ValueRef::Blob(b))
    }

    /// The row, its content hashed.
    pub(crate) fn finish(self) -> PendingRow {
        debug_assert_eq!(self.columns, self.table.columns().len(), "{:?}", self.table);
        PendingRow {
            table: self.table,
            content: Sha256::digest(&self.buf[..]).into(),
            encoded: self.buf,
        }
    }
}

/// The values of a canonical encoding (after the tag byte), in order.
pub struct Decoder<'a> {
    rest: &'a [u8],
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            self.rest = &[];
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

impl<'a> Iterator for Decoder<'a> {
    type Item = ValueRef<'a>;

    fn next(&mut self) -> Option<ValueRef<'a>> {
        let kind = *self.take(1)?.first()?;
        Some(match kind {
            0 => ValueRef::Null,
            1 => ValueRef::Integer(self.u64()? as i64),
            2 => ValueRef::Real(f64::from_bits(self.u64()?)),
            3 => {
                let n = usize::try_from(self.u64()?).ok()?;
                ValueRef::Text(self.take(n)?)
            }
            4 => {
                let n = usize::try_from(self.u64()?).ok()?;
                ValueRef::Blob(self.take(n)?)
            }
            _ => {
                self.rest = &[];
                return None;
            }
        })
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
        // Bound straight from the canonical bytes: what is stored is what
        // was hashed.
        stmt.raw_bind_parameter(1, seq)?;
        let mut n = 1;
        for v in row.values() {
            n += 1;
            stmt.raw_bind_parameter(n, ToSqlOutput::Borrowed(v))?;
        }
        if n != row.table.columns().len() + 1 {
            return Err(Error::new(
                ErrorKind::Sqlite,
                format!("malformed {} row: {} columns", row.table.name(), n - 1),
            ));
        }
        stmt.raw_bind_parameter(n + 1, &hash[..])?;
        stmt.raw_execute()?;
        prev = hash;
    }
    write_point(conn, "head", seq, &prev)?;
    Ok((seq, prev))
}
