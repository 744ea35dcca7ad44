//! Sensor events and ruleset loads: what the sensor did, for the auditor
//! (PCI DSS 10.2.1.6 and 10.7.2: failures of the IDS and of logging are
//! themselves logged).

use rusqlite::types::Value;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::chain::PendingRow;
use crate::schema::Table;
use crate::timespec::to_micros;

/// Something the sensor did or suffered. Stored as its `kind` plus the whole
/// event as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SensorEvent {
    /// The sensor started.
    Start {
        /// Vigil's version.
        version: String,
        /// Hash or path of the configuration in force.
        config: Option<String>,
    },
    /// The sensor stopped.
    Stop {
        /// Why (signal, error, ...).
        reason: String,
    },
    /// Rules were (re)loaded.
    Reload {
        /// Hash of the ruleset now in force.
        ruleset_hash: String,
        /// Rules that loaded.
        rules_loaded: u64,
        /// Rules that failed to parse or were skipped.
        rules_failed: u64,
        /// Who or what triggered it (`SIGHUP`, `startup`, `api:alice`, ...).
        trigger: String,
    },
    /// A configuration setting changed.
    ConfigChange {
        /// Setting name.
        key: String,
        /// Value before.
        old: Option<String>,
        /// Value after.
        new: Option<String>,
        /// Who or what changed it.
        trigger: String,
    },
    /// Packets were lost in capture.
    CaptureLoss {
        /// Interface.
        interface: String,
        /// Packets dropped since the previous report.
        dropped: u64,
    },
    /// Flow state or stream bytes were lost in user space: flows evicted by
    /// the flow limit or memory cap, TCP reassembly gaps (bytes never seen,
    /// so never inspected).
    FlowLoss {
        /// Interface.
        interface: String,
        /// Flows evicted since the previous report.
        flows_evicted: u64,
        /// Reassembly gaps since the previous report.
        reassembly_gaps: u64,
        /// Bytes in those gaps.
        gap_bytes: u64,
    },
    /// An output sink started failing.
    SinkFailure {
        /// Sink name.
        sink: String,
        /// The error.
        error: String,
    },
    /// An output sink delivers again.
    SinkRecovered {
        /// Sink name.
        sink: String,
    },
    /// Old rows were pruned (written by the prune itself).
    Prune {
        /// The cut-off asked for (RFC 3339).
        before: String,
        /// Rows deleted.
        rows_deleted: u64,
        /// The chain now starts after this seq...
        anchor_seq: i64,
        /// ...whose hash (hex) the first remaining row chains from.
        anchor_hash: String,
    },
}

impl SensorEvent {
    /// The `kind` column: `start`, `stop`, `reload`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            SensorEvent::Start { .. } => "start",
            SensorEvent::Stop { .. } => "stop",
            SensorEvent::Reload { .. } => "reload",
            SensorEvent::ConfigChange { .. } => "config_change",
            SensorEvent::CaptureLoss { .. } => "capture_loss",
            SensorEvent::FlowLoss { .. } => "flow_loss",
            SensorEvent::SinkFailure { .. } => "sink_failure",
            SensorEvent::SinkRecovered { .. } => "sink_recovered",
            SensorEvent::Prune { .. } => "prune",
        }
    }

    pub(crate) fn row(&self, at: OffsetDateTime) -> PendingRow {
        let detail = serde_json::to_string(self).expect("events serialize");
        PendingRow::new(
            Table::Events,
            vec![
                Value::Integer(to_micros(at)),
                Value::Text(self.kind().to_string()),
                Value::Text(detail),
            ],
        )
    }
}

/// A ruleset the engine loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesetLoad {
    /// Hash of the rules' text (e.g. SHA-256 hex).
    pub ruleset_hash: String,
    /// Rules that loaded.
    pub rules_loaded: u64,
    /// Rules that failed.
    pub rules_failed: u64,
    /// Files the rules came from.
    pub sources: Vec<String>,
    /// Who or what triggered the load.
    pub trigger: String,
}

impl RulesetLoad {
    pub(crate) fn row(&self, at: OffsetDateTime) -> PendingRow {
        PendingRow::new(
            Table::Rulesets,
            vec![
                Value::Integer(to_micros(at)),
                Value::Text(self.ruleset_hash.clone()),
                Value::Integer(self.rules_loaded as i64),
                Value::Integer(self.rules_failed as i64),
                Value::Text(serde_json::to_string(&self.sources).expect("strings serialize")),
                Value::Text(self.trigger.clone()),
            ],
        )
    }
}
