//! An alert as a row of the `alerts` table.

use sensor_output::{Alert, EveFormatter, Proto};

use crate::addr::to_key;
use crate::chain::{PendingRow, RowBuilder};
use crate::schema::Table;
use crate::timespec::{day_of, to_micros};

/// Encoded size of the columns other than the EVE record, roughly: enough
/// that the row's buffer is allocated once.
const COLUMNS_GUESS: usize = 400;

/// The row for `alert`: every filterable field as a column, plus the full
/// EVE record, encoded into one buffer and hashed on the caller's thread.
pub(crate) fn alert_row(alert: &Alert, eve: &EveFormatter) -> PendingRow {
    let ts = to_micros(alert.timestamp);
    let record = eve.alert(alert);
    let other;
    let proto = match alert.proto {
        Proto::Tcp => "TCP",
        Proto::Udp => "UDP",
        Proto::Icmp => "ICMP",
        Proto::Icmpv6 => "IPv6-ICMP",
        Proto::Other(_) => {
            other = alert.proto.to_string();
            &other
        }
    };
    let mut b = RowBuilder::new(
        Table::Alerts,
        COLUMNS_GUESS + record.len() + alert.signature.len() + alert.category.len(),
    );
    b.int(ts)
        .int(day_of(ts))
        // Flow ids use all 64 bits; SQLite integers are signed.
        .int(alert.flow_id as i64)
        .opt_text(alert.in_iface.as_deref())
        .blob(&to_key(alert.src_ip))
        .opt_int(alert.src_port.map(i64::from))
        .blob(&to_key(alert.dst_ip))
        .opt_int(alert.dst_port.map(i64::from))
        .text(proto)
        .opt_text(alert.app_proto.as_deref())
        .opt_text(alert.community_id.as_deref())
        .text(alert.action.as_str())
        .int(alert.gid as i64)
        .int(alert.sid as i64)
        .int(alert.rev as i64)
        .text(&alert.signature)
        .text(&alert.category)
        .int(alert.severity as i64)
        .text(&record);
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::types::{Value, ValueRef};

    #[test]
    fn proto_names_match_display() {
        for p in [
            Proto::Tcp,
            Proto::Udp,
            Proto::Icmp,
            Proto::Icmpv6,
            Proto::Other(47),
        ] {
            let a = Alert::new(
                time::OffsetDateTime::UNIX_EPOCH,
                [10, 0, 0, 1].into(),
                [10, 0, 0, 2].into(),
                p,
                1,
                "x",
            );
            let row = alert_row(&a, &EveFormatter::default());
            let values: Vec<Value> = row.values().map(Value::from).collect();
            assert_eq!(values.len(), Table::Alerts.columns().len());
            assert_eq!(values[8], Value::Text(p.to_string()));
            // The decoded values re-encode to the hashed bytes.
            let again = PendingRow::new(Table::Alerts, values);
            assert_eq!(again.encoded, row.encoded);
            assert_eq!(again.content, row.content);
            assert!(matches!(row.values().last(), Some(ValueRef::Text(_))));
        }
    }
}
