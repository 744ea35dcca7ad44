//! Tables, indexes and connection settings.

use rusqlite::Connection;

use crate::error::{Error, ErrorKind, Result};

/// Bumped whenever the layout changes.
pub const SCHEMA_VERSION: i64 = 1;

/// Each table in the chain, with its columns in canonical order (the order
/// that is hashed). `seq` comes first, `hash` is not listed: it is what is
/// computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// One row per alert.
    Alerts,
    /// Start, stop, reload, configuration changes, losses, sink failures,
    /// prunes.
    Events,
    /// Rulesets loaded.
    Rulesets,
}

impl Table {
    /// Every table of the chain.
    pub const ALL: [Table; 3] = [Table::Alerts, Table::Events, Table::Rulesets];

    /// The SQL table name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Alerts => "alerts",
            Table::Events => "events",
            Table::Rulesets => "rulesets",
        }
    }

    /// Distinguishes tables in the hashed content.
    pub(crate) fn tag(self) -> u8 {
        match self {
            Table::Alerts => b'A',
            Table::Events => b'E',
            Table::Rulesets => b'R',
        }
    }

    /// Columns after `seq`, in canonical order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Alerts => &[
                "ts",
                "day",
                "flow_id",
                "in_iface",
                "src_ip",
                "src_port",
                "dst_ip",
                "dst_port",
                "proto",
                "app_proto",
                "community_id",
                "action",
                "gid",
                "sid",
                "rev",
                "signature",
                "category",
                "severity",
                "eve",
            ],
            Table::Events => &["ts", "kind", "detail"],
            Table::Rulesets => &[
                "ts",
                "ruleset_hash",
                "rules_loaded",
                "rules_failed",
                "sources",
                "trigger",
            ],
        }
    }
}

const DDL: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value ANY
) STRICT;
CREATE TABLE IF NOT EXISTS alerts (
    seq          INTEGER PRIMARY KEY,
    ts           INTEGER NOT NULL,
    day          INTEGER NOT NULL,
    flow_id      INTEGER NOT NULL,
    in_iface     TEXT,
    src_ip       BLOB NOT NULL,
    src_port     INTEGER,
    dst_ip       BLOB NOT NULL,
    dst_port     INTEGER,
    proto        TEXT NOT NULL,
    app_proto    TEXT,
    community_id TEXT,
    action       TEXT NOT NULL,
    gid          INTEGER NOT NULL,
    sid          INTEGER NOT NULL,
    rev          INTEGER NOT NULL,
    signature    TEXT NOT NULL,
    category     TEXT NOT NULL,
    severity     INTEGER NOT NULL,
    eve          TEXT NOT NULL,
    hash         BLOB NOT NULL
) STRICT;
-- Every alert index starts with the hour of the alert (`ts / 3600000000`,
-- see `BUCKET_SQL`). Queries are nearly always bounded in time and seek into
-- each hour's part of an index; inserts land in the current hour's part
-- only, a few hot pages, rather than at random places in a whole day's part
-- (at 10 M alerts over 30 days a day's part of the three indexes is ~25 MB:
-- the B-tree descents missed the CPU cache at every level and took a third
-- of the writer's time, and every commit rewrote most of those pages into
-- the WAL). Hours rather than minutes: a one-day query seeks 24 times, not
-- 1440 times into pages spread over the whole day.
-- Stores created with the older day-leading indexes get these instead.
DROP INDEX IF EXISTS alerts_src;
DROP INDEX IF EXISTS alerts_dst;
DROP INDEX IF EXISTS alerts_sid;
CREATE INDEX IF NOT EXISTS alerts_hour_src ON alerts (ts / 3600000000, src_ip);
CREATE INDEX IF NOT EXISTS alerts_hour_dst ON alerts (ts / 3600000000, dst_ip);
CREATE INDEX IF NOT EXISTS alerts_hour_sid ON alerts (ts / 3600000000, sid);
CREATE TABLE IF NOT EXISTS events (
    seq    INTEGER PRIMARY KEY,
    ts     INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    detail TEXT NOT NULL,
    hash   BLOB NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE TABLE IF NOT EXISTS rulesets (
    seq          INTEGER PRIMARY KEY,
    ts           INTEGER NOT NULL,
    ruleset_hash TEXT NOT NULL,
    rules_loaded INTEGER NOT NULL,
    rules_failed INTEGER NOT NULL,
    sources      TEXT NOT NULL,
    trigger      TEXT NOT NULL,
    hash         BLOB NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS rulesets_ts ON rulesets (ts);
";

/// The time bucket every alert index starts with, as SQL: it must be
/// written exactly so in a query for SQLite to use the indexes.
pub(crate) const BUCKET_SQL: &str = "ts / 3600000000";

/// Microseconds per bucket of [`BUCKET_SQL`].
pub(crate) const BUCKET_MICROS: i64 = 3_600_000_000;

/// The bucket of a time in microseconds, as SQLite computes it (integer
/// division truncating toward zero).
pub(crate) fn bucket_of(micros: i64) -> i64 {
    micros / BUCKET_MICROS
}

/// Connection settings every opener applies.
pub(crate) fn configure(conn: &Connection, synchronous_full: bool) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::new(
            ErrorKind::Sqlite,
            format!("journal_mode is {mode}, not wal"),
        ));
    }
    // NORMAL in WAL mode survives a process crash (kill -9): a commit has
    // reached the OS when it returns. FULL also survives power loss.
    conn.pragma_update(
        None,
        "synchronous",
        if synchronous_full { "FULL" } else { "NORMAL" },
    )?;
    Ok(())
}

/// Page size of new stores: larger pages mean shallower indexes and
/// cheaper inserts (writer CPU per alert on a 300k-alert store, noisy shared
/// machine: 8.3 us at 4096 bytes, 7.5 at 8192, 7.1 at 16384; on a 3M-alert
/// store 16384 took 9.0 us against 10.2 at 8192).
pub const PAGE_SIZE: u32 = 16384;

/// Sets the page size of a new, still empty file; must run before WAL mode
/// is switched on (SQLite ignores it afterwards).
pub(crate) fn set_page_size(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    Ok(())
}

/// Creates the tables if needed and checks the version.
pub(crate) fn create(conn: &Connection) -> Result<()> {
    conn.execute_batch(DDL)?;
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?1)",
        [SCHEMA_VERSION],
    )?;
    check_version(conn)
}

/// Fails unless `conn` is a store of the version this code reads.
pub(crate) fn check_version(conn: &Connection) -> Result<()> {
    let version: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .ok();
    match version {
        Some(SCHEMA_VERSION) => Ok(()),
        Some(v) => Err(Error::new(
            ErrorKind::NotAStore,
            format!("audit store version {v}, expected {SCHEMA_VERSION}"),
        )),
        None => Err(Error::new(ErrorKind::NotAStore, "not a Vigil audit store")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_use_the_bucket_expression_queries_use() {
        assert_eq!(DDL.matches(&format!("({BUCKET_SQL}, ")).count(), 3);
        assert_eq!(BUCKET_SQL, format!("ts / {BUCKET_MICROS}"));
        assert_eq!(bucket_of(-1), 0, "SQLite truncates toward zero");
        assert_eq!(bucket_of(BUCKET_MICROS * 3 + 5), 3);
    }
}
