//! Offline mode: capture files through the same pipeline as live capture,
//! with time taken from the capture so results are deterministic.

use std::{
    fmt,
    io::IsTerminal,
    path::PathBuf,
    time::{Duration, Instant},
};

use sensor_packet::{CaptureErrorKind, CaptureReader, DecodeOptions, Decoder};
use serde::Serialize;

use super::{Outputs, Pipeline};

/// How to read capture files.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// Verify IP/TCP/UDP checksums (packets failing them are handled by the
    /// driver's checksum policy).
    pub verify_checksums: bool,
    /// Show a progress line on a terminal.
    pub progress: bool,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            verify_checksums: true,
            progress: std::io::stderr().is_terminal(),
        }
    }
}

/// What a replay did, printed at the end of `vigil replay`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReplaySummary {
    pub files: usize,
    pub packets: u64,
    pub bytes: u64,
    pub undecodable: u64,
    pub flows: u64,
    pub transactions: u64,
    pub http_requests: u64,
    pub tls_client_hellos: u64,
    pub dns_queries: u64,
    pub alerts: u64,
    pub anomalies: u64,
    pub stream_gaps: u64,
    /// Files that ended mid-record; every complete packet before the cut was replayed.
    pub truncated_files: Vec<String>,
    /// Files that could not be read at all.
    pub unreadable_files: Vec<String>,
    pub elapsed_secs: f64,
    pub packets_per_sec: f64,
}

impl fmt::Display for ReplaySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "files          {}", self.files)?;
        writeln!(
            f,
            "packets        {} ({} bytes, {} undecodable)",
            self.packets, self.bytes, self.undecodable
        )?;
        writeln!(f, "flows          {}", self.flows)?;
        writeln!(
            f,
            "transactions   {} (http {}, tls {}, dns {})",
            self.transactions, self.http_requests, self.tls_client_hellos, self.dns_queries
        )?;
        writeln!(f, "alerts         {}", self.alerts)?;
        writeln!(
            f,
            "anomalies      {} (stream gaps {})",
            self.anomalies, self.stream_gaps
        )?;
        for t in &self.truncated_files {
            writeln!(f, "truncated      {t}")?;
        }
        for u in &self.unreadable_files {
            writeln!(f, "unreadable     {u}")?;
        }
        write!(
            f,
            "time           {:.3} s ({:.0} packets/s)",
            self.elapsed_secs, self.packets_per_sec
        )
    }
}

/// Replays `paths` in order through `pipeline`, then finishes its flows.
/// A truncated or unreadable file is reported (a warning and a summary
/// line) and the replay goes on with the next one.
pub fn replay_files<O: Outputs>(
    paths: &[PathBuf],
    pipeline: &mut Pipeline<O>,
    options: &ReplayOptions,
) -> ReplaySummary {
    let started = Instant::now();
    let mut summary = ReplaySummary {
        files: paths.len(),
        ..ReplaySummary::default()
    };
    let mut decoder = Decoder::new(DecodeOptions {
        verify_checksums: options.verify_checksums,
        ..DecodeOptions::default()
    });
    let mut last_progress = Instant::now();
    for path in paths {
        let shown = path.display().to_string();
        let mut reader = match CaptureReader::open(path) {
            Ok(r) => r,
            Err(e) => {
                log::warn!("{shown}: {e}");
                summary.unreadable_files.push(format!("{shown}: {e}"));
                continue;
            }
        };
        let mut in_file = 0u64;
        loop {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    in_file += 1;
                    if let Ok(Some(packet)) = decoder.decode(&frame) {
                        pipeline.process(&packet);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    log::warn!("{shown}: {e} (after {in_file} packets)");
                    if e.kind() == CaptureErrorKind::Truncated {
                        summary.truncated_files.push(format!("{shown}: {e}"));
                    } else {
                        summary.unreadable_files.push(format!("{shown}: {e}"));
                    }
                    break;
                }
            }
            if options.progress
                && in_file.is_multiple_of(4096)
                && last_progress.elapsed() > Duration::from_millis(200)
            {
                last_progress = Instant::now();
                eprint!(
                    "\r{shown}: {in_file} packets, {} alerts ",
                    pipeline.counters().alerts
                );
            }
        }
    }
    pipeline.finish();
    if options.progress {
        eprint!("\r\x1b[K");
    }
    let c = pipeline.driver().counters();
    let d = decoder.stats();
    summary.packets = d.frames;
    summary.bytes = c.bytes;
    summary.undecodable = d.errors;
    summary.flows = c.flows;
    summary.transactions = c.transactions;
    summary.http_requests = c.http_requests;
    summary.tls_client_hellos = c.tls_client_hellos;
    summary.dns_queries = c.dns_queries;
    summary.alerts = pipeline.counters().alerts;
    summary.anomalies = c.anomalies;
    summary.stream_gaps = c.stream.gaps;
    summary.elapsed_secs = started.elapsed().as_secs_f64();
    summary.packets_per_sec = summary.packets as f64 / summary.elapsed_secs.max(1e-9);
    summary
}
