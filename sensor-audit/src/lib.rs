//! Vigil's append-only, hash-chained SQLite audit store and its queries.
//!
//! * [`AuditStore`] writes: alerts (every filterable field as a column plus
//!   the full EVE record), [`SensorEvent`]s and [`RulesetLoad`]s, batched on
//!   a dedicated thread. [`AuditSink`] puts it behind the alert fan-out.
//! * Every row's hash covers the previous row's hash and its own content;
//!   [`AuditDb::verify`] names the first altered, inserted or deleted row.
//! * [`AuditDb::alerts`] / [`AuditDb::stats`] answer the auditor's
//!   questions; [`AuditDb::prune`] applies retention.
//! * [`cli`] is `vigil audit query|verify|stats|prune`.

mod addr;
mod alert_row;
mod chain;
mod checkpoint;
pub mod cli;
mod db;
mod error;
mod event;
mod prune;
mod query;
mod queue;
mod schema;
mod sink;
mod store;
mod timespec;
mod verify;

pub use addr::Cidr;
pub use db::AuditDb;
pub use error::{Error, ErrorKind, Result};
pub use event::{RulesetLoad, SensorEvent};
pub use prune::PruneReport;
pub use query::{AlertFilter, StatRow, StatsBy, StoredAlert, StoredEvent};
pub use schema::{SCHEMA_VERSION, Table};
pub use sink::AuditSink;
pub use store::{AuditHandle, AuditOptions, AuditStore, WriterStats};
pub use timespec::parse_time;
pub use verify::{Tamper, TamperKind, VerifyReport};
