//! Reading, verifying and pruning an existing store.

use std::path::Path;

use rusqlite::Connection;
use time::OffsetDateTime;

use crate::error::Result;
use crate::prune::{PruneReport, prune};
use crate::query::{
    AlertFilter, StatRow, StatsBy, StoredAlert, StoredEvent, query_alerts, query_events, stats,
};
use crate::store::open_connection;
use crate::verify::{VerifyReport, verify};

/// An existing audit store opened for queries, verification and pruning
/// (safe while the daemon writes to it: SQLite's WAL serializes writers).
pub struct AuditDb {
    conn: Connection,
}

impl AuditDb {
    /// Opens the store at `path`; fails if there is none.
    pub fn open(path: impl AsRef<Path>) -> Result<AuditDb> {
        Ok(AuditDb {
            conn: open_connection(path.as_ref(), false)?,
        })
    }

    /// Alerts matching `filter`, newest first.
    pub fn alerts(&self, filter: &AlertFilter) -> Result<Vec<StoredAlert>> {
        query_alerts(&self.conn, filter)
    }

    /// Alert counts grouped by rule, day or source.
    pub fn stats(&self, by: StatsBy, filter: &AlertFilter) -> Result<Vec<StatRow>> {
        stats(&self.conn, by, filter)
    }

    /// SQLite's plan for [`AuditDb::alerts`] with `filter`.
    pub fn query_plan(&self, filter: &AlertFilter) -> Result<Vec<String>> {
        crate::query::query_plan(&self.conn, filter)
    }

    /// Sensor events, optionally of one kind (`start`, `reload`, ...).
    pub fn events(&self, kind: Option<&str>) -> Result<Vec<StoredEvent>> {
        query_events(&self.conn, kind)
    }

    /// Walks the hash chain.
    pub fn verify(&self) -> Result<VerifyReport> {
        verify(&self.conn)
    }

    /// Deletes the prefix of the chain that precedes the first row (of any
    /// table) time-stamped at or after `before`, records the hash of the last
    /// deleted row as the chain's new anchor, and appends a `prune` sensor
    /// event carrying that anchor, all in one transaction. Rows older than
    /// `before` written after a newer row are kept: the chain is cut at a
    /// seq, so what remains stays contiguous and verifiable.
    pub fn prune(&mut self, before: OffsetDateTime) -> Result<PruneReport> {
        prune(&mut self.conn, before)
    }

    /// The underlying connection, for tests and tools.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}
