//! An alert as a row of the `alerts` table.

use rusqlite::types::Value;
use sensor_output::{Alert, EveFormatter};

use crate::addr::to_key;
use crate::chain::PendingRow;
use crate::schema::Table;
use crate::timespec::{day_of, to_micros};

fn opt_text(s: &Option<String>) -> Value {
    s.as_ref().map_or(Value::Null, |s| Value::Text(s.clone()))
}

fn opt_port(p: Option<u16>) -> Value {
    p.map_or(Value::Null, |p| Value::Integer(p as i64))
}

/// The row for `alert`: every filterable field as a column, plus the full
/// EVE record.
pub(crate) fn alert_row(alert: &Alert, eve: &EveFormatter) -> PendingRow {
    let ts = to_micros(alert.timestamp);
    PendingRow::new(
        Table::Alerts,
        vec![
            Value::Integer(ts),
            Value::Integer(day_of(ts)),
            // Flow ids use all 64 bits; SQLite integers are signed.
            Value::Integer(alert.flow_id as i64),
            opt_text(&alert.in_iface),
            Value::Blob(to_key(alert.src_ip).to_vec()),
            opt_port(alert.src_port),
            Value::Blob(to_key(alert.dst_ip).to_vec()),
            opt_port(alert.dst_port),
            Value::Text(alert.proto.to_string()),
            opt_text(&alert.app_proto),
            opt_text(&alert.community_id),
            Value::Text(alert.action.as_str().to_string()),
            Value::Integer(alert.gid as i64),
            Value::Integer(alert.sid as i64),
            Value::Integer(alert.rev as i64),
            Value::Text(alert.signature.clone()),
            Value::Text(alert.category.clone()),
            Value::Integer(alert.severity as i64),
            Value::Text(eve.alert(alert)),
        ],
    )
}
