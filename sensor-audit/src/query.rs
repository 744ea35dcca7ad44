//! Queries over the alerts table: filters, results, statistics. Every value
//! from the user is bound as a parameter; only fixed column names and
//! operators are ever pasted into SQL.

use std::net::IpAddr;

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use sensor_output::{Action, Proto};
use time::OffsetDateTime;

use crate::addr::{Cidr, from_key};
use crate::error::Result;
use crate::schema::{BUCKET_SQL, bucket_of};
use crate::timespec::{from_micros, to_micros};

/// Longest span, in hours (1000 days), listed hour by hour in a query; a
/// longer one is a range scan of the indexes' leading column.
const MAX_BUCKET_LIST: i64 = 1000 * 24;

/// Which alerts to return. Empty fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// At or after.
    pub since: Option<OffsetDateTime>,
    /// Before.
    pub until: Option<OffsetDateTime>,
    /// Signature id.
    pub sid: Option<u32>,
    /// Source address or network.
    pub src: Option<Cidr>,
    /// Destination address or network.
    pub dst: Option<Cidr>,
    /// Source or destination port.
    pub port: Option<u16>,
    /// Transport protocol.
    pub proto: Option<Proto>,
    /// Allowed or blocked.
    pub action: Option<Action>,
    /// Severity (1..=4).
    pub severity: Option<u8>,
    /// Substring of the signature, category or EVE record (case-insensitive
    /// for ASCII).
    pub text: Option<String>,
    /// At most this many rows (latest written first); `None` for all.
    pub limit: Option<u64>,
}

impl AlertFilter {
    /// `WHERE ...` (or empty) and its parameters.
    fn where_clause(&self, conn: &Connection) -> Result<(String, Vec<Value>)> {
        let mut clauses: Vec<String> = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        // Every alert index starts with the hour: list the hours the query
        // covers so that SQLite seeks into each hour's part of the index (a
        // recursive CTE rather than bound parameters: there can be
        // thousands). Two statements: SQLite answers a lone min() or max()
        // from an index in O(log n), but scans for both in one statement.
        let lo: Option<i64> =
            conn.query_row(&format!("SELECT min({BUCKET_SQL}) FROM alerts"), [], |r| {
                r.get(0)
            })?;
        let hi: Option<i64> =
            conn.query_row(&format!("SELECT max({BUCKET_SQL}) FROM alerts"), [], |r| {
                r.get(0)
            })?;
        let lo = self.since.map(|t| bucket_of(to_micros(t))).max(lo);
        let hi = match (self.until.map(|t| bucket_of(to_micros(t) - 1)), hi) {
            (Some(u), Some(h)) => Some(u.min(h)),
            (u, h) => u.or(h),
        };
        if let (Some(lo), Some(hi)) = (lo, hi) {
            if hi < lo {
                // Nothing stored in the span.
                clauses.push("0".into());
            } else if hi - lo < MAX_BUCKET_LIST {
                clauses.push(format!(
                    "{BUCKET_SQL} IN (WITH RECURSIVE b(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM b WHERE x < ?) SELECT x FROM b)"
                ));
                params.push(Value::Integer(lo));
                params.push(Value::Integer(hi));
            } else {
                clauses.push(format!("{BUCKET_SQL} BETWEEN ? AND ?"));
                params.push(Value::Integer(lo));
                params.push(Value::Integer(hi));
            }
        }
        if let Some(t) = self.since {
            clauses.push("ts >= ?".into());
            params.push(Value::Integer(to_micros(t)));
        }
        if let Some(t) = self.until {
            clauses.push("ts < ?".into());
            params.push(Value::Integer(to_micros(t)));
        }
        if let Some(sid) = self.sid {
            clauses.push("sid = ?".into());
            params.push(Value::Integer(sid as i64));
        }
        for (col, cidr) in [("src", &self.src), ("dst", &self.dst)] {
            if let Some(c) = cidr {
                let (lo, hi) = c.key_range();
                clauses.push(format!("{col}_ip BETWEEN ? AND ?"));
                params.push(Value::Blob(lo.to_vec()));
                params.push(Value::Blob(hi.to_vec()));
            }
        }
        if let Some(p) = self.port {
            clauses.push("(src_port = ? OR dst_port = ?)".into());
            params.push(Value::Integer(p as i64));
            params.push(Value::Integer(p as i64));
        }
        if let Some(p) = self.proto {
            clauses.push("proto = ?".into());
            params.push(Value::Text(p.to_string()));
        }
        if let Some(a) = self.action {
            clauses.push("action = ?".into());
            params.push(Value::Text(a.as_str().to_string()));
        }
        if let Some(s) = self.severity {
            clauses.push("severity = ?".into());
            params.push(Value::Integer(s as i64));
        }
        if let Some(text) = &self.text {
            clauses.push(
                "(signature LIKE ? ESCAPE '\\' OR category LIKE ? ESCAPE '\\' OR eve LIKE ? ESCAPE '\\')"
                    .into(),
            );
            let pattern = format!("%{}%", escape_like(text));
            for _ in 0..3 {
                params.push(Value::Text(pattern.clone()));
            }
        }
        if clauses.is_empty() {
            Ok((String::new(), params))
        } else {
            Ok((format!(" WHERE {}", clauses.join(" AND ")), params))
        }
    }
}

/// Escapes LIKE's wildcards so the text matches literally.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An alert as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAlert {
    /// Position in the chain.
    pub seq: i64,
    /// When (UTC, microseconds).
    pub timestamp: OffsetDateTime,
    /// Source address.
    pub src_ip: IpAddr,
    /// Source port.
    pub src_port: Option<u16>,
    /// Destination address.
    pub dst_ip: IpAddr,
    /// Destination port.
    pub dst_port: Option<u16>,
    /// Protocol as printed in EVE.
    pub proto: String,
    /// `allowed` or `blocked`.
    pub action: String,
    /// Generator id.
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Revision.
    pub rev: u32,
    /// Rule message.
    pub signature: String,
    /// Classtype description.
    pub category: String,
    /// Severity.
    pub severity: u8,
    /// The full EVE record.
    pub eve: String,
}

const ALERT_COLUMNS: &str = "seq, ts, src_ip, src_port, dst_ip, dst_port, proto, action, gid, sid, rev, signature, category, severity, eve";

fn addr(key: Vec<u8>) -> IpAddr {
    from_key(&key).unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED))
}

fn alerts_sql(conn: &Connection, filter: &AlertFilter) -> Result<(String, Vec<Value>)> {
    let (where_clause, mut params) = filter.where_clause(conn)?;
    // `+seq`: sort the (few) matching rows instead of letting SQLite walk the
    // whole table backwards in rowid order to avoid a sort.
    let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alerts{where_clause} ORDER BY +seq DESC");
    if let Some(limit) = filter.limit {
        sql.push_str(" LIMIT ?");
        params.push(Value::Integer(limit.min(i64::MAX as u64) as i64));
    }
    Ok((sql, params))
}

/// The alerts matching `filter`, latest written first (the chain's order,
/// which is arrival order).
pub fn query_alerts(conn: &Connection, filter: &AlertFilter) -> Result<Vec<StoredAlert>> {
    let (sql, params) = alerts_sql(conn, filter)?;
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(params), |r| {
        Ok(StoredAlert {
            seq: r.get(0)?,
            timestamp: from_micros(r.get(1)?),
            src_ip: addr(r.get(2)?),
            src_port: r.get(3)?,
            dst_ip: addr(r.get(4)?),
            dst_port: r.get(5)?,
            proto: r.get(6)?,
            action: r.get(7)?,
            gid: r.get(8)?,
            sid: r.get(9)?,
            rev: r.get(10)?,
            signature: r.get(11)?,
            category: r.get(12)?,
            severity: r.get(13)?,
            eve: r.get(14)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// SQLite's plan for the query `query_alerts` runs (`EXPLAIN QUERY PLAN`
/// details), to check which index a filter uses.
pub fn query_plan(conn: &Connection, filter: &AlertFilter) -> Result<Vec<String>> {
    let (sql, params) = alerts_sql(conn, filter)?;
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let rows = stmt.query_map(params_from_iter(params), |r| r.get::<_, String>(3))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What [`crate::AuditDb::stats`] groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsBy {
    /// Signature id (with its message).
    Rule,
    /// UTC day.
    Day,
    /// Source address.
    Source,
}

/// One group and its count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatRow {
    /// The sid, the day (`YYYY-MM-DD`) or the source address.
    pub key: String,
    /// The signature message for [`StatsBy::Rule`], empty otherwise.
    pub label: String,
    /// Alerts in the group.
    pub count: u64,
}

/// Counts of the alerts matching `filter`, grouped by `by`: largest first
/// for rules and sources, chronological for days.
pub fn stats(conn: &Connection, by: StatsBy, filter: &AlertFilter) -> Result<Vec<StatRow>> {
    let (where_clause, params) = filter.where_clause(conn)?;
    let sql = match by {
        StatsBy::Rule => format!(
            "SELECT sid, max(signature), count(*) AS n FROM alerts{where_clause} GROUP BY sid ORDER BY n DESC, sid"
        ),
        StatsBy::Day => format!(
            "SELECT strftime('%Y-%m-%d', ts / 1000000, 'unixepoch') AS day, '', count(*) FROM alerts{where_clause} GROUP BY day ORDER BY day"
        ),
        StatsBy::Source => format!(
            "SELECT src_ip, '', count(*) AS n FROM alerts{where_clause} GROUP BY src_ip ORDER BY n DESC, src_ip"
        ),
    };
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(params), |r| {
        let key = match by {
            StatsBy::Rule => r.get::<_, i64>(0)?.to_string(),
            StatsBy::Day => r.get(0)?,
            StatsBy::Source => addr(r.get(0)?).to_string(),
        };
        Ok(StatRow {
            key,
            label: r.get(1)?,
            count: r.get::<_, i64>(2)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A sensor event as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the chain.
    pub seq: i64,
    /// When.
    pub timestamp: OffsetDateTime,
    /// `start`, `reload`, `sink_failure`, ...
    pub kind: String,
    /// The event as JSON.
    pub detail: String,
}

/// Sensor events in chain order, optionally of one kind.
pub fn query_events(conn: &Connection, kind: Option<&str>) -> Result<Vec<StoredEvent>> {
    let mut stmt = conn.prepare(
        "SELECT seq, ts, kind, detail FROM events WHERE (?1 IS NULL OR kind = ?1) ORDER BY seq",
    )?;
    let rows = stmt.query_map([kind], |r| {
        Ok(StoredEvent {
            seq: r.get(0)?,
            timestamp: from_micros(r.get(1)?),
            kind: r.get(2)?,
            detail: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
