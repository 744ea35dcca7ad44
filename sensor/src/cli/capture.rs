//! `vigil capture`: a live view of what the kernel hands over, like tcpdump.

use std::{
    io::{BufWriter, Write},
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use anyhow::Context as _;
use tokio::sync::Notify;

use crate::{
    capture::{CaptureConfig, KernelCapture, PacketEvent},
    cli::signals::ShutdownSignals,
};

/// Print one line per packet the kernel program records on an interface.
#[derive(Debug, clap::Args)]
pub struct CaptureArgs {
    /// Interface to attach to (ingress and egress), in the current network namespace.
    #[arg(long, short)]
    pub iface: String,
    /// Payload bytes copied per packet (at most 4096).
    #[arg(long, default_value_t = sensor_common::record::DEFAULT_SNAPLEN)]
    pub snaplen: u32,
    /// Print JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many packets.
    #[arg(long, short = 'c')]
    pub count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Size in bytes of each ring buffer, one per CPU up to 8 (power of two,
    /// >= 4096).
    #[arg(long, default_value_t = 8 << 20)]
    pub ring_bytes: u32,
    /// Reader poll interval in milliseconds.
    #[arg(long, default_value_t = 5)]
    pub poll_ms: u64,
    /// Unread bytes in a ring whose crossing wakes the reader before its
    /// next poll (0: every record). Default: 64 KiB, or an eighth of a
    /// smaller ring.
    #[arg(long)]
    pub wakeup_bytes: Option<u64>,
    /// Enable kernel BPF run-time statistics and report ns per packet at the end.
    #[arg(long)]
    pub bpf_stats: bool,
    /// Count packets without printing them (for load measurements).
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &CaptureArgs) -> anyhow::Result<ExitCode> {
    let mut config = CaptureConfig::new(&args.iface);
    config.snaplen = args.snaplen;
    config.ring_bytes = args.ring_bytes;
    config.poll_interval = Duration::from_millis(args.poll_ms.max(1));
    config.wakeup_threshold = args.wakeup_bytes;
    config.bpf_stats = args.bpf_stats;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut signals = ShutdownSignals::install().context("installing signal handlers")?;
        let mut capture = KernelCapture::attach(&config).context("starting capture")?;
        eprintln!(
            "vigil: capturing on {} (ingress and egress, snaplen {}, a ring of {} KiB per CPU)",
            config.iface,
            config.snaplen,
            config.ring_bytes / 1024
        );

        let done = Arc::new(Notify::new());
        let stop = done.clone();
        let limit = args.count.unwrap_or(u64::MAX);
        let mut seen = 0u64;
        let mut out = BufWriter::new(std::io::stdout().lock());
        let (json, quiet) = (args.json, args.quiet);
        let sink = move |event: PacketEvent| {
            seen += 1;
            // Records drained after the limit (the ring is emptied on stop)
            // are counted in the summary but not printed, as tcpdump -c does.
            if !quiet && seen <= limit {
                let _ = if json {
                    serde_json::to_writer(&mut out, &event).map_err(std::io::Error::from).and_then(|_| writeln!(out))
                } else {
                    writeln!(out, "{event}")
                };
                let _ = out.flush();
            }
            if seen == limit {
                stop.notify_one();
            }
        };
        let duration = args.duration.map(Duration::from_secs_f64).unwrap_or(Duration::MAX);
        let shutdown = async {
            tokio::select! {
                sig = signals.recv() => log::info!("{sig} received, stopping"),
                _ = done.notified() => {}
                _ = tokio::time::sleep(duration) => {}
            }
        };
        let summary = capture.run(sink, shutdown).await?;

        if json {
            eprintln!("{}", serde_json::json!({ "summary": summary }));
        } else {
            let c = &summary.counters;
            eprintln!(
                "vigil: {} packets seen, {} records emitted, {} lost (ring full), {} malformed, {} received in {:.1}s",
                c.packets_seen, c.records_emitted, c.records_lost, c.packets_unparsed, summary.records_received,
                summary.duration_secs
            );
            for p in &summary.program_stats {
                eprintln!(
                    "vigil: {}: {} runs, {:.0} ns per packet on average",
                    p.program, p.run_count, p.avg_ns
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
