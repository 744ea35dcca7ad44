//! Measures single-threaded throughput of reading + decoding + flows +
//! reassembly + parsers over a capture, and peak memory:
//!
//! ```text
//! cargo run --release -p sensor-proto --example bench_replay -- [--no-checksum-checks] [--read-only|--decode-only] FILE.pcap
//! ```
//!
//! Events go to a sink that only counts them (no rules, no output).

use std::io::Read;
use std::time::Instant;

use sensor_packet::{CaptureReader, DecodeOptions, Decoder};
use sensor_proto::{Driver, DriverConfig, Event};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Nanoseconds this thread spent on a CPU (first field of schedstat): a
/// figure that does not grow when other processes compete for the CPUs.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Read,
    Decode,
    All,
}

fn run<R: Read>(
    mut reader: CaptureReader<R>,
    stage: Stage,
    verify_checksums: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut decoder = Decoder::new(DecodeOptions {
        verify_checksums,
        ..DecodeOptions::default()
    });
    let mut driver = Driver::new(DriverConfig::default());
    let mut events = 0u64;
    let mut sink = |_: &Event<'_>| events += 1;
    let start = Instant::now();
    let cpu_start = cpu_ns();
    let mut frames = 0u64;
    while let Some(frame) = reader.next_frame()? {
        frames += 1;
        if stage == Stage::Read {
            continue;
        }
        if let Ok(Some(packet)) = decoder.decode(&frame)
            && stage == Stage::All
        {
            driver.process(&packet, &mut sink);
        }
    }
    driver.finish(&mut sink);
    let secs = start.elapsed().as_secs_f64();
    let cpu_secs = cpu_ns().zip(cpu_start).map(|(b, a)| (b - a) as f64 / 1e9);
    if stage != Stage::All {
        println!(
            "{frames} frames in {secs:.3} s: {:.0} frames/s",
            frames as f64 / secs
        );
    } else {
        let c = driver.counters();
        println!(
            "packets: {}  bytes: {}  flows: {}  evicted: {}",
            c.packets, c.bytes, c.flows, c.flows_evicted
        );
        println!(
            "transactions: {} (http requests {}, responses {}, tls {}, dns queries {}, dns responses {})",
            c.transactions,
            c.http_requests,
            c.http_responses,
            c.tls_client_hellos,
            c.dns_queries,
            c.dns_responses
        );
        println!(
            "gaps: {}  anomalies: {}  skipped body bytes: {}  events: {events}",
            c.stream.gaps, c.anomalies, c.skipped_bytes
        );
        println!(
            "time: {secs:.3} s  packets/s: {:.0}  Gbit/s: {:.2}",
            c.packets as f64 / secs,
            c.bytes as f64 * 8.0 / secs / 1e9
        );
        if let Some(cpu) = cpu_secs {
            println!(
                "cpu time: {cpu:.3} s  packets per cpu-second: {:.0}",
                c.packets as f64 / cpu
            );
        }
    }
    if let Some(kib) = peak_rss_kib() {
        println!("peak RSS: {:.1} MiB", kib as f64 / 1024.0);
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .ok_or("usage: bench_replay [--no-checksum-checks] [--read-only|--decode-only] FILE")?;
    let flag = |f: &str| args.iter().any(|a| a == f);
    let stage = if flag("--read-only") {
        Stage::Read
    } else if flag("--decode-only") {
        Stage::Decode
    } else {
        Stage::All
    };
    let verify = !flag("--no-checksum-checks");
    println!("file: {path}");
    run(CaptureReader::open(path)?, stage, verify)
}
