//! Retention: deleting the oldest part of the chain while keeping what
//! remains verifiable.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::chain::{self, Hash};
use crate::error::Result;
use crate::event::SensorEvent;
use crate::schema::{BUCKET_SQL, Table, bucket_of};
use crate::timespec::to_micros;
use crate::verify::hex;

/// What a prune did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PruneReport {
    /// Rows deleted, all tables together.
    pub rows_deleted: u64,
    /// The chain now starts after this seq.
    pub anchor_seq: i64,
}

/// Deletes the prefix of the chain that precedes the first row (of any
/// table) time-stamped at or after `before`, records the hash of the last
/// deleted row as the chain's new anchor, and appends a `prune` sensor event
/// carrying that anchor, all in one transaction.
///
/// The chain is cut at a seq, not filtered by time, so that what remains is
/// a contiguous, verifiable chain: rows older than `before` that come after
/// a newer row (e.g. alerts from replaying an old capture) are kept.
pub fn prune(conn: &mut Connection, before: OffsetDateTime) -> Result<PruneReport> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (head_seq, _) = chain::head(&tx)?;
    let (old_anchor, _) = chain::anchor(&tx)?;
    let micros = to_micros(before);
    let mut cut = head_seq + 1;
    for t in Table::ALL {
        // The hour leads every alert index; the other tables are indexed
        // on ts.
        let sql = match t {
            Table::Alerts => {
                format!("SELECT min(seq) FROM alerts WHERE {BUCKET_SQL} >= ?2 AND ts >= ?1")
            }
            _ => format!(
                "SELECT min(seq) FROM {} WHERE ts >= ?1 AND ?2 = ?2",
                t.name()
            ),
        };
        let first: Option<i64> = tx
            .query_row(&sql, [micros, bucket_of(micros)], |r| r.get(0))
            .optional()?
            .flatten();
        if let Some(s) = first {
            cut = cut.min(s);
        }
    }
    let anchor_seq = cut - 1;
    let mut rows_deleted = 0u64;
    if anchor_seq > old_anchor {
        let mut anchor_hash: Option<Hash> = None;
        for t in Table::ALL {
            if anchor_hash.is_none() {
                let h: Option<Vec<u8>> = tx
                    .query_row(
                        &format!("SELECT hash FROM {} WHERE seq = ?1", t.name()),
                        [anchor_seq],
                        |r| r.get(0),
                    )
                    .optional()?;
                anchor_hash = h.and_then(|h| Hash::try_from(h.as_slice()).ok());
            }
        }
        let anchor_hash = anchor_hash.unwrap_or(chain::GENESIS);
        for t in Table::ALL {
            rows_deleted += tx.execute(
                &format!("DELETE FROM {} WHERE seq <= ?1", t.name()),
                [anchor_seq],
            )? as u64;
        }
        chain::write_point(&tx, "anchor", anchor_seq, &anchor_hash)?;
        let event = SensorEvent::Prune {
            before: before.format(&Rfc3339).unwrap_or_default(),
            rows_deleted,
            anchor_seq,
            anchor_hash: hex(&anchor_hash),
        };
        chain::append(&tx, &[event.row(OffsetDateTime::now_utc())])?;
    } else {
        // Nothing to delete; the attempt is still recorded.
        let (seq, hash) = chain::anchor(&tx)?;
        let event = SensorEvent::Prune {
            before: before.format(&Rfc3339).unwrap_or_default(),
            rows_deleted: 0,
            anchor_seq: seq,
            anchor_hash: hex(&hash),
        };
        chain::append(&tx, &[event.row(OffsetDateTime::now_utc())])?;
    }
    tx.commit()?;
    Ok(PruneReport {
        rows_deleted,
        anchor_seq: anchor_seq.max(old_anchor),
    })
}
