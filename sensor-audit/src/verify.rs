//! Walking the hash chain.

use std::fmt;

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::chain::{self, Hash, content_hash, link_hash};
use crate::error::Result;
use crate::event::SensorEvent;
use crate::schema::Table;

/// What is wrong with the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TamperKind {
    /// A row's content no longer matches its hash.
    Altered,
    /// A row was added that the writer never wrote (duplicate seq, or
    /// beyond the recorded head, or a hash that does not chain).
    Inserted,
    /// A row is missing (a gap in seq, or the tail is shorter than the
    /// recorded head).
    Deleted,
    /// The chain's recorded anchor or head was changed.
    Anchor,
}

/// The first problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tamper {
    /// What kind.
    pub kind: TamperKind,
    /// The table of the row, when there is one.
    pub table: Option<Table>,
    /// The row's seq (for deletions, the first missing seq).
    pub seq: i64,
    /// Details for a human.
    pub detail: String,
}

impl fmt::Display for Tamper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TamperKind::Altered => "altered",
            TamperKind::Inserted => "inserted",
            TamperKind::Deleted => "deleted",
            TamperKind::Anchor => "chain anchor/head altered",
        };
        match self.table {
            Some(t) => write!(
                f,
                "{} row seq {} {what}: {}",
                t.name(),
                self.seq,
                self.detail
            ),
            None => write!(f, "row seq {} {what}: {}", self.seq, self.detail),
        }
    }
}

/// The outcome of [`crate::AuditDb::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Rows checked.
    pub rows: u64,
    /// The first problem, if any.
    pub tamper: Option<Tamper>,
}

impl VerifyReport {
    /// Whether the chain is intact.
    pub fn ok(&self) -> bool {
        self.tamper.is_none()
    }
}

/// One row read back: its table, seq, canonical values and stored hash.
struct Row {
    table: Table,
    seq: i64,
    values: Vec<rusqlite::types::Value>,
    hash: Vec<u8>,
}

/// Iterates one table in seq order.
struct Cursor<'c> {
    table: Table,
    rows: rusqlite::Rows<'c>,
}

impl Cursor<'_> {
    fn next(&mut self) -> Result<Option<Row>> {
        let Some(r) = self.rows.next()? else {
            return Ok(None);
        };
        let n = self.table.columns().len();
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            values.push(r.get_ref(1 + i)?.into());
        }
        let hash = match r.get_ref(1 + n)? {
            ValueRef::Blob(b) => b.to_vec(),
            _ => Vec::new(),
        };
        Ok(Some(Row {
            table: self.table,
            seq: r.get(0)?,
            values,
            hash,
        }))
    }
}

/// Walks every row of every table in seq order from the anchor, recomputing
/// each hash, and reports the first altered, inserted or deleted row.
pub fn verify(conn: &Connection) -> Result<VerifyReport> {
    let (anchor_seq, anchor_hash) = chain::anchor(conn)?;
    let (head_seq, head_hash) = chain::head(conn)?;
    let mut stmts = Vec::new();
    for t in Table::ALL {
        let sql = format!(
            "SELECT seq, {}, hash FROM {} ORDER BY seq",
            t.columns().join(", "),
            t.name()
        );
        stmts.push((t, conn.prepare(&sql)?));
    }
    let mut cursors = Vec::new();
    for (t, stmt) in &mut stmts {
        cursors.push(Cursor {
            table: *t,
            rows: stmt.query([])?,
        });
    }
    let mut heads: Vec<Option<Row>> = Vec::new();
    for c in &mut cursors {
        heads.push(c.next()?);
    }

    let mut prev: Hash = anchor_hash;
    let mut expected = anchor_seq + 1;
    let mut rows = 0u64;
    let mut scratch = Vec::with_capacity(2048);
    let mut last_prune: Option<(i64, String)> = None;
    let found = |kind, table, seq, detail: String| Tamper {
        kind,
        table: Some(table),
        seq,
        detail,
    };
    // Always take the lowest seq among the three cursors.
    while let Some(i) = (0..heads.len())
        .filter(|&i| heads[i].is_some())
        .min_by_key(|&i| heads[i].as_ref().map(|r| r.seq))
    {
        let row = heads[i].take().expect("chosen among some");
        heads[i] = cursors[i].next()?;
        rows += 1;
        if row.seq < expected {
            let detail = format!("seq {} repeats or precedes the chain start", row.seq);
            return Ok(report(
                rows,
                Some(found(TamperKind::Inserted, row.table, row.seq, detail)),
            ));
        }
        if row.seq > expected {
            let detail = format!(
                "seq {expected}..{} missing before {} seq {}",
                row.seq - 1,
                row.table.name(),
                row.seq
            );
            return Ok(report(
                rows,
                Some(Tamper {
                    kind: TamperKind::Deleted,
                    table: None,
                    seq: expected,
                    detail,
                }),
            ));
        }
        let content = content_hash(
            row.table,
            row.values.iter().map(ValueRef::from),
            &mut scratch,
        );
        let computed = link_hash(&prev, row.seq, &content);
        if computed[..] != row.hash[..] {
            let (kind, detail) = if row.seq > head_seq {
                (
                    TamperKind::Inserted,
                    format!("beyond the recorded head seq {head_seq}"),
                )
            } else {
                (
                    TamperKind::Altered,
                    "content does not match its hash".to_string(),
                )
            };
            return Ok(report(rows, Some(found(kind, row.table, row.seq, detail))));
        }
        if row.table == Table::Events
            && let Some(rusqlite::types::Value::Text(detail)) = row.values.get(2)
            && let Ok(SensorEvent::Prune {
                anchor_seq,
                anchor_hash,
                ..
            }) = serde_json::from_str(detail)
        {
            last_prune = Some((anchor_seq, anchor_hash));
        }
        prev = computed;
        expected += 1;
    }
    let last_seq = expected - 1;
    if last_seq < head_seq {
        let detail = format!("chain ends at seq {last_seq}, recorded head is seq {head_seq}");
        return Ok(report(
            rows,
            Some(Tamper {
                kind: TamperKind::Deleted,
                table: None,
                seq: last_seq + 1,
                detail,
            }),
        ));
    }
    if last_seq > head_seq || prev != head_hash {
        let detail =
            format!("recorded head seq {head_seq} does not match the chain's end seq {last_seq}");
        return Ok(report(
            rows,
            Some(Tamper {
                kind: TamperKind::Anchor,
                table: None,
                seq: head_seq,
                detail,
            }),
        ));
    }
    // The anchor must be the one the last prune recorded in the chain.
    let anchor_ok = match &last_prune {
        None => anchor_seq == 0 && anchor_hash == chain::GENESIS,
        Some((seq, hash)) => *seq == anchor_seq && *hash == hex(&anchor_hash),
    };
    if !anchor_ok {
        let detail = "the chain start does not match the last prune event".to_string();
        return Ok(report(
            rows,
            Some(Tamper {
                kind: TamperKind::Anchor,
                table: None,
                seq: anchor_seq,
                detail,
            }),
        ));
    }
    Ok(report(rows, None))
}

fn report(rows: u64, tamper: Option<Tamper>) -> VerifyReport {
    VerifyReport { rows, tamper }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
