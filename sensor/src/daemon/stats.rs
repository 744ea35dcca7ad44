//! The running sensor's counters, for `vigil stats`, `vigil reload` and
//! Prometheus.
//!
//! Every capture publishes its counters into a shared [`StatsBoard`] once a
//! second (when the kernel counters are read); the main loop then writes a
//! [`Snapshot`] to the status file (JSON, replaced atomically, so a reader
//! never sees half a file) and serves it as Prometheus text when
//! `stats.listen` is set. The status file also carries the daemon's pid,
//! which is how `vigil reload` finds the process to send SIGHUP to.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::Path,
    sync::{Arc, Mutex},
};

use serde::{Deserialize, Serialize};

/// Everything `vigil stats` shows.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub version: String,
    pub pid: u32,
    /// Unix seconds.
    pub started_at: u64,
    /// Unix seconds of this snapshot.
    pub updated_at: u64,
    /// "ids" or "ips".
    pub mode: String,
    pub ruleset: RulesetStats,
    pub interfaces: Vec<InterfaceStats>,
    pub outputs: Vec<OutputStats>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RulesetStats {
    pub hash: String,
    pub rules_loaded: u64,
    pub rules_failed: u64,
    pub reloads: u64,
    pub failed_reloads: u64,
    /// IPS: the drop rules' kernel blocks (patterns, address and port
    /// blocks) that the kernel's maps do not hold; their rules are
    /// enforced by flow verdict once user space matches them.
    #[serde(default)]
    pub kernel_unfitted: u64,
}

/// One interface: the kernel program, the pipeline and the live path.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct InterfaceStats {
    pub name: String,
    /// Packets the TC program ran on.
    pub packets_seen: u64,
    /// Records lost because the ring buffer was full.
    pub records_lost: u64,
    /// Packets with malformed headers.
    pub packets_unparsed: u64,
    /// Packets dropped in the kernel (IPS), all reasons.
    pub kernel_drops: u64,
    /// Packets whose body stayed in the kernel (header-only capture).
    pub body_skipped: u64,
    /// Wire bytes the pipeline saw, and payload bytes that crossed into
    /// user space.
    pub wire_bytes: u64,
    pub captured_payload_bytes: u64,
    /// Bytes of the kernel's records (headers and payload): what crossed
    /// into user space; compare with `wire_bytes`.
    pub record_bytes: u64,
    /// Body regions handed to the kernel (header-only capture).
    pub body_regions: u64,
    pub flows: u64,
    pub flows_evicted: u64,
    pub flows_timed_out: u64,
    pub reassembly_gaps: u64,
    pub reassembly_gap_bytes: u64,
    pub transactions: u64,
    pub anomalies: u64,
    pub alerts: u64,
    pub flow_verdicts: u64,
    pub pattern_releases: u64,
    /// Frames without an IP header (ARP, ...): seen, nothing to inspect.
    #[serde(default)]
    pub non_ip_frames: u64,
    pub undecodable_records: u64,
    /// The longest time the ring reader went without draining over the last
    /// counter interval, in ms: far beyond the poll interval (5 ms), the
    /// sensor is not getting the CPU it needs and will lose records.
    #[serde(default)]
    pub reader_gap_ms: u64,
    /// IPS: the blocks in force in this interface's kernel maps (first-
    /// packet patterns, address and port blocks); after a reload, fewer
    /// than the rule set's when the maps could not hold them all.
    #[serde(default)]
    pub kernel_patterns: u64,
    #[serde(default)]
    pub kernel_address_blocks: u64,
    #[serde(default)]
    pub kernel_port_blocks: u64,
    /// Reloads whose block set could not be written to this interface's
    /// kernel maps (the previous one stayed in force).
    #[serde(default)]
    pub kernel_block_failures: u64,
}

/// One output's counters (the fan-out's own type).
pub type OutputStats = sensor_output::SinkStats;

/// Shared between the captures (writers) and the main loop (reader).
#[derive(Clone, Default)]
pub struct StatsBoard(Arc<Mutex<BTreeMap<String, InterfaceStats>>>);

impl StatsBoard {
    /// Replaces the counters of one interface.
    pub fn publish(&self, stats: InterfaceStats) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(stats.name.clone(), stats);
    }

    /// The latest counters of every interface.
    pub fn interfaces(&self) -> Vec<InterfaceStats> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.values().cloned().collect()
    }
}

/// Writes `snapshot` to `path` through a temporary file and a rename.
pub fn write_status(path: &Path, snapshot: &Snapshot) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(snapshot).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Reads a status file.
pub fn read_status(path: &Path) -> anyhow::Result<Snapshot> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e} (is `vigil run` running with this status file?)",
            path.display()
        )
    })?;
    Ok(serde_json::from_str(&text)?)
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, u64)]) {
    let _ = writeln!(out, "# HELP vigil_{name} {help}");
    let _ = writeln!(out, "# TYPE vigil_{name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "vigil_{name}{labels} {value}");
    }
}

fn label(key: &str, value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("{{{key}=\"{escaped}\"}}")
}

/// The snapshot in the Prometheus text exposition format (0.0.4).
pub fn prometheus(s: &Snapshot) -> String {
    let mut out = String::new();
    metric(
        &mut out,
        "start_time_seconds",
        "gauge",
        "Unix time the sensor started.",
        &[(String::new(), s.started_at)],
    );
    metric(
        &mut out,
        "rules_loaded",
        "gauge",
        "Rules in force.",
        &[(label("ruleset", &s.ruleset.hash), s.ruleset.rules_loaded)],
    );
    metric(
        &mut out,
        "rules_failed",
        "gauge",
        "Rules that did not load.",
        &[(String::new(), s.ruleset.rules_failed)],
    );
    metric(
        &mut out,
        "kernel_unfitted_blocks",
        "gauge",
        "IPS: drop-rule kernel blocks the kernel's maps do not hold (enforced by flow verdict).",
        &[(String::new(), s.ruleset.kernel_unfitted)],
    );
    metric(
        &mut out,
        "reloads_total",
        "counter",
        "Successful rule reloads.",
        &[(String::new(), s.ruleset.reloads)],
    );
    metric(
        &mut out,
        "reload_failures_total",
        "counter",
        "Rule reloads that failed (the running rules were kept).",
        &[(String::new(), s.ruleset.failed_reloads)],
    );
    type Field = fn(&InterfaceStats) -> u64;
    let per_iface: [(&str, &str, Field); 26] = [
        (
            "packets_seen_total",
            "Packets the TC program ran on.",
            |i| i.packets_seen,
        ),
        (
            "records_lost_total",
            "Records lost because the ring buffer was full.",
            |i| i.records_lost,
        ),
        (
            "packets_unparsed_total",
            "Packets with malformed headers.",
            |i| i.packets_unparsed,
        ),
        (
            "kernel_drops_total",
            "Packets dropped in the kernel (IPS).",
            |i| i.kernel_drops,
        ),
        (
            "body_skipped_total",
            "Packets whose body stayed in the kernel.",
            |i| i.body_skipped,
        ),
        (
            "wire_bytes_total",
            "Wire bytes of the packets inspected.",
            |i| i.wire_bytes,
        ),
        (
            "captured_payload_bytes_total",
            "Payload bytes copied to user space.",
            |i| i.captured_payload_bytes,
        ),
        (
            "record_bytes_total",
            "Bytes of kernel records copied to user space.",
            |i| i.record_bytes,
        ),
        ("flows_total", "Flows created.", |i| i.flows),
        (
            "flows_evicted_total",
            "Flows evicted by the flow limit or memory cap.",
            |i| i.flows_evicted,
        ),
        (
            "flows_timed_out_total",
            "Flows ended by idle timeout.",
            |i| i.flows_timed_out,
        ),
        ("reassembly_gaps_total", "TCP reassembly gaps.", |i| {
            i.reassembly_gaps
        }),
        (
            "reassembly_gap_bytes_total",
            "Bytes lost in reassembly gaps.",
            |i| i.reassembly_gap_bytes,
        ),
        (
            "transactions_total",
            "HTTP, TLS and DNS transactions parsed.",
            |i| i.transactions,
        ),
        ("anomalies_total", "Protocol anomalies.", |i| i.anomalies),
        ("alerts_total", "Alerts raised.", |i| i.alerts),
        (
            "flow_verdicts_total",
            "Flows given a drop verdict in the kernel.",
            |i| i.flow_verdicts,
        ),
        (
            "pattern_releases_total",
            "Kernel pattern hits the full rule did not confirm.",
            |i| i.pattern_releases,
        ),
        (
            "non_ip_frames_total",
            "Frames without an IP header (ARP, ...): seen, nothing to inspect.",
            |i| i.non_ip_frames,
        ),
        (
            "undecodable_records_total",
            "Kernel records user space could not decode.",
            |i| i.undecodable_records,
        ),
        (
            "reader_drain_gap_ms",
            "Longest time the ring reader went without draining, over the last second.",
            |i| i.reader_gap_ms,
        ),
        (
            "kernel_patterns",
            "IPS: first-packet patterns in force in the kernel.",
            |i| i.kernel_patterns,
        ),
        (
            "kernel_address_blocks",
            "IPS: address (CIDR) blocks in force in the kernel, both sides.",
            |i| i.kernel_address_blocks,
        ),
        (
            "kernel_port_blocks",
            "IPS: port blocks in force in the kernel.",
            |i| i.kernel_port_blocks,
        ),
        (
            "kernel_block_failures_total",
            "Reloads whose block set could not be written to the kernel (the previous one stayed).",
            |i| i.kernel_block_failures,
        ),
        (
            "user_space_share_permille",
            "Record bytes copied to user space per 1000 wire bytes.",
            |i| {
                (i.record_bytes * 1000)
                    .checked_div(i.wire_bytes)
                    .unwrap_or(0)
            },
        ),
    ];
    for (name, help, field) in per_iface {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let samples: Vec<(String, u64)> = s
            .interfaces
            .iter()
            .map(|i| (label("interface", &i.name), field(i)))
            .collect();
        metric(&mut out, name, kind, help, &samples);
    }
    type OutField = fn(&OutputStats) -> u64;
    let per_output: [(&str, &str, OutField); 4] = [
        ("output_sent_total", "Records an output delivered.", |o| {
            o.sent
        }),
        (
            "output_failed_total",
            "Records an output failed to deliver.",
            |o| o.failed,
        ),
        (
            "output_dropped_total",
            "Records dropped because an output's queue was full.",
            |o| o.dropped,
        ),
        ("output_healthy", "1 while an output delivers.", |o| {
            u64::from(o.healthy)
        }),
    ];
    for (name, help, field) in per_output {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let samples: Vec<(String, u64)> = s
            .outputs
            .iter()
            .map(|o| (label("output", &o.name), field(o)))
            .collect();
        metric(&mut out, name, kind, help, &samples);
    }
    out
}

/// The snapshot as a table for people.
pub fn table(s: &Snapshot, now: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "vigil {} pid {} ({} mode), up {}s, updated {}s ago",
        s.version,
        s.pid,
        s.mode.to_uppercase(),
        s.updated_at.saturating_sub(s.started_at),
        now.saturating_sub(s.updated_at)
    );
    let _ = writeln!(
        out,
        "ruleset {}: {} rules loaded, {} failed; {} reloads, {} failed",
        s.ruleset.hash.get(..12).unwrap_or(&s.ruleset.hash),
        s.ruleset.rules_loaded,
        s.ruleset.rules_failed,
        s.ruleset.reloads,
        s.ruleset.failed_reloads
    );
    if s.ruleset.kernel_unfitted > 0 {
        let _ = writeln!(
            out,
            "  {} drop-rule blocks do not fit the kernel's maps (enforced by flow verdict)",
            s.ruleset.kernel_unfitted
        );
    }
    for i in &s.interfaces {
        let _ = writeln!(out, "interface {}", i.name);
        let share = (i.record_bytes * 1000)
            .checked_div(i.wire_bytes)
            .unwrap_or(0);
        let rows: [(&str, u64); 26] = [
            ("packets seen", i.packets_seen),
            ("records lost (ring full)", i.records_lost),
            ("packets unparsed", i.packets_unparsed),
            ("kernel drops", i.kernel_drops),
            ("bodies skipped in kernel", i.body_skipped),
            ("wire bytes", i.wire_bytes),
            ("payload bytes captured", i.captured_payload_bytes),
            ("record bytes to user space", i.record_bytes),
            ("  per 1000 wire bytes", share),
            ("flows", i.flows),
            ("flows evicted", i.flows_evicted),
            ("flows timed out", i.flows_timed_out),
            ("reassembly gaps", i.reassembly_gaps),
            ("reassembly gap bytes", i.reassembly_gap_bytes),
            ("transactions", i.transactions),
            ("anomalies", i.anomalies),
            ("alerts", i.alerts),
            ("flow verdicts", i.flow_verdicts),
            ("pattern releases", i.pattern_releases),
            ("non-IP frames (ARP, ...)", i.non_ip_frames),
            ("undecodable records", i.undecodable_records),
            ("reader max gap, last s (ms)", i.reader_gap_ms),
            ("kernel patterns", i.kernel_patterns),
            ("kernel address blocks", i.kernel_address_blocks),
            ("kernel port blocks", i.kernel_port_blocks),
            ("kernel block failures", i.kernel_block_failures),
        ];
        for (name, v) in rows {
            let _ = writeln!(out, "  {name:<26} {v:>14}");
        }
    }
    if !s.outputs.is_empty() {
        let w = s
            .outputs
            .iter()
            .map(|o| o.name.len())
            .max()
            .unwrap_or(0)
            .max(6);
        let _ = writeln!(
            out,
            "{:<w$} {:>10} {:>8} {:>8} {:>7}  state",
            "output", "sent", "failed", "dropped", "queued"
        );
        for o in &s.outputs {
            let _ = writeln!(
                out,
                "{:<w$} {:>10} {:>8} {:>8} {:>7}  {}",
                o.name,
                o.sent,
                o.failed,
                o.dropped,
                o.queued,
                if o.healthy { "ok" } else { "failing" }
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        Snapshot {
            version: "0.1.0".into(),
            pid: 42,
            started_at: 100,
            updated_at: 160,
            mode: "ips".into(),
            ruleset: RulesetStats {
                hash: "abcdef0123456789".into(),
                rules_loaded: 16,
                kernel_unfitted: 3,
                ..Default::default()
            },
            interfaces: vec![InterfaceStats {
                name: "eth\"0".into(),
                packets_seen: 1000,
                records_lost: 3,
                wire_bytes: 200_000,
                captured_payload_bytes: 10_000,
                record_bytes: 12_000,
                reader_gap_ms: 7,
                kernel_address_blocks: 1024,
                ..Default::default()
            }],
            outputs: vec![OutputStats {
                name: "syslog udp 127.0.0.1:514".into(),
                sent: 5,
                failed: 2,
                healthy: false,
                ..Default::default()
            }],
        }
    }

    #[test]
    fn prometheus_text_has_help_type_and_escaped_labels() {
        let text = prometheus(&sample());
        assert!(text.contains("# TYPE vigil_records_lost_total counter\n"));
        assert!(text.contains("vigil_records_lost_total{interface=\"eth\\\"0\"} 3\n"));
        assert!(text.contains("vigil_user_space_share_permille{interface=\"eth\\\"0\"} 60\n"));
        assert!(text.contains("# TYPE vigil_reader_drain_gap_ms gauge\n"));
        assert!(text.contains("vigil_reader_drain_gap_ms{interface=\"eth\\\"0\"} 7\n"));
        assert!(text.contains("# TYPE vigil_kernel_address_blocks gauge\n"));
        assert!(text.contains("vigil_kernel_unfitted_blocks 3\n"));
        assert!(text.contains("vigil_kernel_address_blocks{interface=\"eth\\\"0\"} 1024\n"));
        assert!(text.contains("vigil_output_healthy{output=\"syslog udp 127.0.0.1:514\"} 0\n"));
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<u64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn status_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stats.json");
        write_status(&path, &sample()).unwrap();
        assert_eq!(read_status(&path).unwrap(), sample());
        let shown = table(&sample(), 165);
        assert!(shown.contains("updated 5s ago"), "{shown}");
        assert!(shown.contains("failing"), "{shown}");
        assert!(
            shown.contains("3 drop-rule blocks do not fit the kernel's maps"),
            "{shown}"
        );
    }
}
