//! `vigil audit ...`: the auditor's command line over an audit store.
//!
//! The daemon's binary mounts [`AuditCommand`] as a subcommand and calls
//! [`run`].

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sensor_output::{Action, Proto};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::db::AuditDb;
use crate::query::{AlertFilter, StatsBy, StoredAlert};
use crate::timespec::parse_time;

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for a terminal.
    Table,
    /// One JSON object per line (the stored EVE record for alerts).
    Json,
    /// Comma-separated values with a header line.
    Csv,
}

/// What `stats` groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsKey {
    /// Signature id.
    Rule,
    /// UTC day.
    Day,
    /// Source address.
    Source,
}

/// Alert filters shared by `query` and `stats`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct FilterArgs {
    /// At or after: RFC 3339, YYYY-MM-DD, or an age like 7d, 24h, 30m.
    #[arg(long)]
    pub since: Option<String>,
    /// Before: same forms as --since.
    #[arg(long)]
    pub until: Option<String>,
    /// Signature id.
    #[arg(long)]
    pub sid: Option<u32>,
    /// Source address or CIDR.
    #[arg(long)]
    pub src: Option<String>,
    /// Destination address or CIDR.
    #[arg(long)]
    pub dst: Option<String>,
    /// Source or destination port.
    #[arg(long)]
    pub port: Option<u16>,
    /// Protocol: tcp, udp, icmp, ipv6-icmp or a number.
    #[arg(long)]
    pub proto: Option<String>,
    /// allowed or blocked.
    #[arg(long)]
    pub action: Option<String>,
    /// Severity, 1 (high) to 4.
    #[arg(long)]
    pub severity: Option<u8>,
    /// Substring of the signature, category or EVE record.
    #[arg(long)]
    pub text: Option<String>,
}

impl FilterArgs {
    /// The filter these arguments describe, relative times taken from `now`.
    pub fn to_filter(&self, now: OffsetDateTime) -> anyhow::Result<AlertFilter> {
        Ok(AlertFilter {
            since: self
                .since
                .as_deref()
                .map(|s| parse_time(s, now))
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(|s| parse_time(s, now))
                .transpose()?,
            sid: self.sid,
            src: self.src.as_deref().map(str::parse).transpose()?,
            dst: self.dst.as_deref().map(str::parse).transpose()?,
            port: self.port,
            proto: self
                .proto
                .as_deref()
                .map(|p| Proto::parse(p).with_context(|| format!("unknown protocol {p:?}")))
                .transpose()?,
            action: self
                .action
                .as_deref()
                .map(|a| {
                    Action::parse(a)
                        .with_context(|| format!("action must be allowed or blocked, not {a:?}"))
                })
                .transpose()?,
            severity: self.severity,
            text: self.text.clone(),
            limit: None,
        })
    }
}

/// `vigil audit ...` subcommands.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// List alerts matching filters, latest written first.
    Query {
        /// The audit store.
        #[arg(long)]
        db: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
        /// At most this many alerts.
        #[arg(long)]
        limit: Option<u64>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
    },
    /// Walk the hash chain; exit 1 naming the first altered, inserted or
    /// deleted row.
    Verify {
        /// The audit store.
        #[arg(long)]
        db: PathBuf,
    },
    /// Count alerts by rule, day or source.
    Stats {
        /// The audit store.
        #[arg(long)]
        db: PathBuf,
        /// Grouping.
        #[arg(long, value_enum, default_value = "rule")]
        by: StatsKey,
        #[command(flatten)]
        filter: FilterArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
    },
    /// Delete rows older than a date, keeping the chain verifiable; the
    /// prune itself is recorded as a sensor event.
    Prune {
        /// The audit store.
        #[arg(long)]
        db: PathBuf,
        /// Cut-off: RFC 3339, YYYY-MM-DD, or an age like 90d.
        #[arg(long)]
        before: String,
    },
}

/// Runs one subcommand, printing to stdout. Exit code 0 on success, 1 when
/// `verify` finds tampering.
pub fn run(cmd: &AuditCommand) -> anyhow::Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let code = run_to(cmd, &mut out, OffsetDateTime::now_utc())?;
    out.flush()?;
    Ok(code)
}

/// [`run`] writing to `out`, with relative times taken from `now`.
pub fn run_to(
    cmd: &AuditCommand,
    out: &mut dyn Write,
    now: OffsetDateTime,
) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Query {
            db,
            filter,
            limit,
            format,
        } => {
            let mut f = filter.to_filter(now)?;
            f.limit = *limit;
            let db = open(db)?;
            print_alerts(out, &db.alerts(&f)?, *format)?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { db } => {
            let report = open(db)?.verify()?;
            match &report.tamper {
                None => {
                    writeln!(out, "ok: {} rows, hash chain intact", report.rows)?;
                    Ok(ExitCode::SUCCESS)
                }
                Some(t) => {
                    writeln!(out, "TAMPERED: {t}")?;
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        AuditCommand::Stats {
            db,
            by,
            filter,
            format,
        } => {
            let by = match by {
                StatsKey::Rule => StatsBy::Rule,
                StatsKey::Day => StatsBy::Day,
                StatsKey::Source => StatsBy::Source,
            };
            let rows = open(db)?.stats(by, &filter.to_filter(now)?)?;
            let head = match by {
                StatsBy::Rule => ["sid", "signature", "count"],
                StatsBy::Day => ["day", "", "count"],
                StatsBy::Source => ["source", "", "count"],
            };
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| vec![r.key.clone(), r.label.clone(), r.count.to_string()])
                .collect();
            match format {
                OutputFormat::Json => {
                    for r in &rows {
                        let v = serde_json::json!({ head[0]: r.key, "count": r.count });
                        let mut v = v;
                        if by == StatsBy::Rule {
                            v["signature"] = serde_json::Value::from(r.label.clone());
                        }
                        writeln!(out, "{v}")?;
                    }
                }
                _ => {
                    let keep: Vec<usize> = (0..3).filter(|&i| !head[i].is_empty()).collect();
                    let head: Vec<&str> = keep.iter().map(|&i| head[i]).collect();
                    let table: Vec<Vec<String>> = table
                        .iter()
                        .map(|r| keep.iter().map(|&i| r[i].clone()).collect())
                        .collect();
                    print_rows(out, &head, &table, *format)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Prune { db, before } => {
            let before = parse_time(before, now)?;
            let mut db = open(db)?;
            let report = db.prune(before)?;
            writeln!(
                out,
                "pruned {} rows before {}; chain now starts after seq {}",
                report.rows_deleted,
                before.format(&Rfc3339)?,
                report.anchor_seq
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn open(path: &std::path::Path) -> anyhow::Result<AuditDb> {
    AuditDb::open(path).with_context(|| format!("opening audit store {}", path.display()))
}

fn print_alerts(
    out: &mut dyn Write,
    alerts: &[StoredAlert],
    format: OutputFormat,
) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        for a in alerts {
            writeln!(out, "{}", a.eve)?;
        }
        return Ok(());
    }
    let endpoint = |ip: std::net::IpAddr, port: Option<u16>| match (ip, port) {
        (std::net::IpAddr::V6(_), Some(p)) => format!("[{ip}]:{p}"),
        (_, Some(p)) => format!("{ip}:{p}"),
        (_, None) => ip.to_string(),
    };
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .map(|a| {
            vec![
                sensor_output::format_timestamp(a.timestamp),
                a.sid.to_string(),
                a.action.clone(),
                a.severity.to_string(),
                a.proto.clone(),
                endpoint(a.src_ip, a.src_port),
                endpoint(a.dst_ip, a.dst_port),
                a.signature.clone(),
            ]
        })
        .collect();
    let head = [
        "timestamp",
        "sid",
        "action",
        "severity",
        "proto",
        "source",
        "destination",
        "signature",
    ];
    print_rows(out, &head, &rows, format)
}

fn print_rows(
    out: &mut dyn Write,
    head: &[&str],
    rows: &[Vec<String>],
    format: OutputFormat,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Csv => {
            writeln!(
                out,
                "{}",
                head.iter()
                    .map(|h| csv_field(h))
                    .collect::<Vec<_>>()
                    .join(",")
            )?;
            for r in rows {
                writeln!(
                    out,
                    "{}",
                    r.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",")
                )?;
            }
        }
        OutputFormat::Table | OutputFormat::Json => {
            let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
            for r in rows {
                for (w, f) in widths.iter_mut().zip(r) {
                    *w = (*w).max(f.chars().count());
                }
            }
            let line = |fields: Vec<&str>| {
                let last = fields.len() - 1;
                fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        if i == last {
                            f.to_string()
                        } else {
                            format!("{f:<w$}", w = widths[i])
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("  ")
            };
            writeln!(out, "{}", line(head.to_vec()))?;
            for r in rows {
                writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
            }
        }
    }
    Ok(())
}

/// RFC 4180 quoting, and a leading `'` for fields a spreadsheet would run as
/// a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}
