//! What in-kernel enforcement costs: `vigil bench enforce`.
//!
//! Two measurements, for IDS mode, IPS mode with no blocks, and IPS mode
//! with each requested number of in-kernel patterns:
//!
//! - **Fixed frames**: the classifier run by `BPF_PROG_TEST_RUN` on a
//!   369-byte benign request, a bare ACK, and (with patterns) the request
//!   carrying the last pattern, which must be dropped. The kernel's own
//!   timing of a hot program: the floor of the per-packet cost.
//! - **Live load**: the lab's keep-alive HTTP clients against its server,
//!   the program attached to the server's veth, a reader that only counts
//!   records (so the figures are the kernel program's and the ring's, not a
//!   decoder's). Each configuration runs two periods: the first, as
//!   deployed, gives its throughput; the second, with kernel BPF run-time
//!   statistics on, gives the ns per packet. The statistics are not free
//!   (two clock reads and a per-CPU update per program run), so their
//!   period's throughput is reported apart. Each configuration's period
//!   follows one without any program, and its share of that period's rate
//!   is its figure; configurations are interleaved over several rounds and
//!   medians reported: on a shared machine one period alone says little.

use std::{
    io,
    net::SocketAddr,
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use serde::Serialize;
use tokio::sync::oneshot;

use super::{
    frames::{BENIGN_REQUEST, attack_patterns, tcp_frame},
    load::{LoadServer, request_rate},
};
use crate::{
    capture::{CaptureConfig, CaptureSummary, KernelCapture},
    enforce::{BlockSet, CompiledDfa, EnforceLimits, Enforcer, Mode},
    lab::{Lab, Side, spawn_in_netns},
};
use sensor_common::Direction;

/// TC_ACT_UNSPEC (-1): the packet goes on.
const PASS: u32 = u32::MAX;
/// TC_ACT_SHOT.
const DROP: u32 = 2;

/// What to measure.
#[derive(Clone, Debug)]
pub struct EnforceBench {
    /// The lab to bring up (and down at the end).
    pub lab: Lab,
    /// The load server's port.
    pub port: u16,
    /// Numbers of in-kernel patterns to measure, besides none.
    pub patterns: Vec<usize>,
    /// Live rounds (each runs every configuration once).
    pub rounds: usize,
    /// Length of one live load period.
    pub period: Duration,
    /// Concurrent keep-alive connections.
    pub clients: usize,
    /// Measure fixed frames.
    pub fixed: bool,
    /// Measure live load.
    pub live: bool,
    /// Load the program with header-only capture on (`vigil run`'s
    /// default).
    pub header_only: bool,
    /// Block sets of real rule files (label, set), measured besides the
    /// synthetic patterns: what a deployment's own drop rules cost.
    pub rule_sets: Vec<(String, BlockSet)>,
}

impl Default for EnforceBench {
    fn default() -> Self {
        EnforceBench {
            lab: Lab::new("vigil-bench"),
            port: 9100,
            patterns: vec![100, 1000],
            rounds: 3,
            period: Duration::from_secs(2),
            clients: 16,
            fixed: true,
            live: true,
            header_only: false,
            rule_sets: Vec::new(),
        }
    }
}

/// One configuration: mode and block set, with the map limits that fit
/// its automaton and the automaton's size (compiled once, here).
struct Configuration {
    label: String,
    mode: Mode,
    set: BlockSet,
    limits: EnforceLimits,
    shape: Option<AutomatonShape>,
}

impl Configuration {
    fn new(label: String, mode: Mode, set: BlockSet) -> anyhow::Result<Configuration> {
        let (limits, shape) = if set.patterns.is_empty() {
            (EnforceLimits::default(), None)
        } else {
            let dfa = CompiledDfa::compile(&set.patterns)?;
            let shape = AutomatonShape {
                patterns: set.patterns.len(),
                states: dfa.states(),
                classes: dfa.class_count(),
                table_kib: dfa.transitions() as usize * 4 / 1024,
                gram_stride: dfa.grams().map(|g| g.stride()),
                gram_fill_percent: dfa.grams().map(|g| 100.0 * g.fill()),
            };
            (EnforceLimits::fitting(&dfa), Some(shape))
        };
        Ok(Configuration {
            label,
            mode,
            set,
            limits,
            shape,
        })
    }
}

/// Size of one pattern automaton.
#[derive(Clone, Debug, Serialize)]
pub struct AutomatonShape {
    pub patterns: usize,
    pub states: u32,
    pub classes: u32,
    pub table_kib: usize,
    /// The gram filter's sampling stride (none: every payload walked whole).
    pub gram_stride: Option<u32>,
    /// Share of the gram filter's bits set, in percent.
    pub gram_fill_percent: Option<f64>,
}

/// `BPF_PROG_TEST_RUN` medians for one configuration, ns per run.
#[derive(Clone, Debug, Serialize)]
pub struct FixedFrameRow {
    pub configuration: String,
    pub request_ns: u32,
    pub ack_ns: u32,
    /// Mean of the request and the ACK (a keep-alive exchange's ingress).
    pub mean_ns: u32,
    /// The request carrying a pattern (configurations with patterns).
    pub attack_ns: Option<u32>,
    /// Whether that request was dropped (it must be).
    pub attack_dropped: Option<bool>,
    /// Whether the benign frames passed (they must).
    pub benign_passed: bool,
}

/// Live medians for one configuration.
#[derive(Clone, Debug, Serialize)]
pub struct LiveRow {
    pub configuration: String,
    pub requests_per_s: f64,
    /// Median over the rounds of this configuration's rate as a share of
    /// the rate without any program measured just before it.
    pub percent_of_unfiltered: f64,
    pub requests_per_s_min: f64,
    pub requests_per_s_max: f64,
    /// Median throughput of the period with BPF statistics on, and its
    /// share of the unfiltered rate (as `percent_of_unfiltered`).
    pub requests_per_s_with_stats: f64,
    pub percent_of_unfiltered_with_stats: f64,
    /// Average run time per packet of each hook, and of both together
    /// (both hooks' run time over both hooks' runs).
    pub ingress_ns: f64,
    pub egress_ns: f64,
    pub all_ns: f64,
    /// Packets the program saw, over all rounds.
    pub packets: u64,
    /// Packets it dropped (benign load: must be 0).
    pub dropped: u64,
    /// Records lost to a full ring, over all rounds.
    pub lost: u64,
    /// Time to compile and install the block set.
    pub replace_ms: f64,
    /// CPU time of the thread reading the rings per record it received:
    /// what user space pays per packet before any decoding.
    pub reader_ns_per_record: f64,
    /// The longest time between two drains of the rings in any round, in ms.
    pub longest_drain_gap_ms: f64,
}

/// Everything `vigil bench enforce` measured.
#[derive(Clone, Debug, Serialize)]
pub struct EnforceReport {
    pub load_average_before: String,
    pub load_average_after: String,
    pub automata: Vec<AutomatonShape>,
    pub fixed: Vec<FixedFrameRow>,
    /// Median requests per second without any program attached.
    pub unfiltered_requests_per_s: Option<f64>,
    pub live: Vec<LiveRow>,
    pub rounds: usize,
    pub period_s: f64,
    pub clients: usize,
    /// Whether the program ran with header-only capture on.
    pub header_only: bool,
}

impl EnforceBench {
    /// Brings the lab up, measures, and takes the lab down (also on error).
    pub fn run(&self) -> anyhow::Result<EnforceReport> {
        self.lab.up()?;
        let result = self.measure();
        let down = self.lab.down();
        let report = result?;
        down?;
        Ok(report)
    }

    fn configurations(&self) -> anyhow::Result<Vec<Configuration>> {
        let mut all = vec![
            Configuration::new("IDS".into(), Mode::Ids, BlockSet::default())?,
            Configuration::new("IPS, no blocks".into(), Mode::Ips, BlockSet::default())?,
        ];
        for &n in &self.patterns {
            let set = BlockSet {
                patterns: attack_patterns(n),
                ..BlockSet::default()
            };
            all.push(Configuration::new(
                format!("IPS, {n} patterns"),
                Mode::Ips,
                set,
            )?);
        }
        for (label, set) in &self.rule_sets {
            all.push(Configuration::new(label.clone(), Mode::Ips, set.clone())?);
        }
        Ok(all)
    }

    fn measure(&self) -> anyhow::Result<EnforceReport> {
        let configurations = self.configurations()?;
        let automata = configurations
            .iter()
            .filter_map(|c| c.shape.clone())
            .collect();
        let load_average_before = load_average();
        let fixed = if self.fixed {
            self.fixed_frames(&configurations)?
        } else {
            Vec::new()
        };
        let (unfiltered, live) = if self.live {
            let (base, rows) = self.live_load(&configurations)?;
            (Some(base), rows)
        } else {
            (None, Vec::new())
        };
        Ok(EnforceReport {
            load_average_before,
            load_average_after: load_average(),
            automata,
            fixed,
            unfiltered_requests_per_s: unfiltered,
            live,
            rounds: self.rounds,
            period_s: self.period.as_secs_f64(),
            clients: self.clients,
            header_only: self.header_only,
        })
    }

    fn capture_config(&self, c: &Configuration) -> CaptureConfig {
        let mut config = CaptureConfig::new(self.lab.iface(Side::Server));
        config.enforce.mode = c.mode;
        config.enforce.limits = c.limits;
        config.enforce.header_only = self.header_only;
        config
    }

    fn fixed_frames(&self, configurations: &[Configuration]) -> anyhow::Result<Vec<FixedFrameRow>> {
        let port = self.port;
        let mut jobs = Vec::new();
        for c in configurations {
            let mut config = self.capture_config(c);
            config.ring_bytes = 64 << 20;
            // Nobody reads the ring here: never wake a reader.
            config.wakeup_threshold = Some(u64::MAX);
            let attack = c.set.patterns.last().map(|p| {
                let mut r = BENIGN_REQUEST.replace("theme=dark", "theme=");
                r.insert_str(r.len() - 4, &String::from_utf8_lossy(&p.bytes));
                tcp_frame(port, r.as_bytes())
            });
            jobs.push((c.label.clone(), c.set.clone(), config, attack));
        }
        let rows = spawn_in_netns(&self.lab.netns(Side::Server), move || {
            let request = tcp_frame(port, BENIGN_REQUEST.as_bytes());
            let ack = tcp_frame(port, b"");
            let mut rows = Vec::new();
            for (label, set, config, attack) in jobs {
                let mut capture = KernelCapture::attach(&config).map_err(io::Error::other)?;
                capture
                    .enforcer()
                    .map_err(io::Error::other)?
                    .replace(&set)
                    .map_err(io::Error::other)?;
                let (request_ns, request_ret) = timed(&capture, &request)?;
                let (ack_ns, ack_ret) = timed(&capture, &ack)?;
                let attack = match &attack {
                    Some(frame) => Some(timed(&capture, frame)?),
                    None => None,
                };
                rows.push(FixedFrameRow {
                    configuration: label,
                    request_ns,
                    ack_ns,
                    mean_ns: (request_ns + ack_ns) / 2,
                    attack_ns: attack.map(|(ns, _)| ns),
                    attack_dropped: attack.map(|(_, ret)| ret == DROP),
                    benign_passed: request_ret == PASS && ack_ret == PASS,
                });
            }
            Ok(rows)
        })
        .join()
        .map_err(|_| anyhow::anyhow!("fixed-frame thread panicked"))??;
        Ok(rows)
    }

    fn live_load(&self, configurations: &[Configuration]) -> anyhow::Result<(f64, Vec<LiveRow>)> {
        let server: SocketAddr = (self.lab.ipv4(Side::Server), self.port).into();
        let listen: SocketAddr = (std::net::Ipv4Addr::UNSPECIFIED, self.port).into();
        let _server = LoadServer::start(&self.lab.netns(Side::Server), listen)?;
        let client_ns = self.lab.netns(Side::Client);
        let rate = || request_rate(&client_ns, server, self.clients, self.period);
        // One untimed period first: connection setup, page cache, CPU
        // frequency; otherwise the first configuration measured pays them.
        rate()?;
        let mut baseline = Vec::new();
        let mut samples: Vec<Samples> = configurations.iter().map(|_| Samples::default()).collect();
        for _ in 0..self.rounds {
            for (c, s) in configurations.iter().zip(&mut samples) {
                // Each configuration is compared with a period without any
                // program right before it: the machine's own rate drifts
                // (other load, frequency) by more than the program costs.
                let unfiltered = rate()?.max(f64::MIN_POSITIVE);
                baseline.push(unfiltered);
                let config = self.capture_config(c);
                let mut capture = CountingCapture::start(&self.lab.netns(Side::Server), config)?;
                let started = Instant::now();
                capture.enforcer.replace(&c.set)?;
                s.replace_ms.push(started.elapsed().as_secs_f64() * 1e3);
                let measured = rate();
                // The kernel accumulates run time only while statistics are
                // enabled, so the program's figures cover this period alone.
                let stats = aya::sys::enable_stats(aya::sys::Stats::RunTime)
                    .map_err(|e| anyhow::anyhow!("enabling BPF run-time statistics: {e}"));
                let measured_with_stats = match &stats {
                    Ok(_) => rate(),
                    Err(_) => Ok(0.0),
                };
                let summary = capture.stop()?;
                drop(stats?);
                let (measured, measured_with_stats) = (measured?, measured_with_stats?);
                s.requests_per_s.push(measured);
                s.requests_per_s_with_stats.push(measured_with_stats);
                s.share.push(measured / unfiltered);
                s.share_with_stats.push(measured_with_stats / unfiltered);
                s.add(&summary);
            }
        }
        let base = median(&baseline);
        let rows = configurations
            .iter()
            .zip(&samples)
            .map(|(c, s)| {
                let rps = median(&s.requests_per_s);
                let rps_with_stats = median(&s.requests_per_s_with_stats);
                LiveRow {
                    configuration: c.label.clone(),
                    requests_per_s: rps,
                    percent_of_unfiltered: 100.0 * median(&s.share),
                    requests_per_s_min: s
                        .requests_per_s
                        .iter()
                        .copied()
                        .fold(f64::INFINITY, f64::min),
                    requests_per_s_max: s.requests_per_s.iter().copied().fold(0.0, f64::max),
                    requests_per_s_with_stats: rps_with_stats,
                    percent_of_unfiltered_with_stats: 100.0 * median(&s.share_with_stats),
                    ingress_ns: median(&s.ingress_ns),
                    egress_ns: median(&s.egress_ns),
                    all_ns: median(&s.all_ns),
                    packets: s.packets,
                    dropped: s.dropped,
                    lost: s.lost,
                    replace_ms: median(&s.replace_ms),
                    reader_ns_per_record: median(&s.reader_ns_per_record),
                    longest_drain_gap_ms: s.longest_drain_gap_ns as f64 / 1e6,
                }
            })
            .collect();
        Ok((base, rows))
    }
}

/// One configuration's live measurements over the rounds.
#[derive(Default)]
struct Samples {
    requests_per_s: Vec<f64>,
    requests_per_s_with_stats: Vec<f64>,
    /// Each period's rate over the unfiltered rate just before it.
    share: Vec<f64>,
    share_with_stats: Vec<f64>,
    ingress_ns: Vec<f64>,
    egress_ns: Vec<f64>,
    all_ns: Vec<f64>,
    replace_ms: Vec<f64>,
    reader_ns_per_record: Vec<f64>,
    longest_drain_gap_ns: u64,
    packets: u64,
    dropped: u64,
    lost: u64,
}

impl Samples {
    fn add(&mut self, summary: &CaptureSummary) {
        let avg = |name: &str| {
            summary
                .program_stats
                .iter()
                .find(|p| p.program == name)
                .map(|p| p.avg_ns)
                .unwrap_or(0.0)
        };
        self.ingress_ns.push(avg("vigil_ingress"));
        self.egress_ns.push(avg("vigil_egress"));
        let (time, runs) = summary
            .program_stats
            .iter()
            .fold((0, 0), |(t, n), p| (t + p.run_time_ns, n + p.run_count));
        self.all_ns.push(time as f64 / runs.max(1) as f64);
        self.reader_ns_per_record
            .push(summary.reader_cpu_ns as f64 / summary.records_received.max(1) as f64);
        self.longest_drain_gap_ns = self.longest_drain_gap_ns.max(summary.longest_drain_gap_ns);
        self.packets += summary.counters.packets_seen;
        self.dropped += summary.counters.dropped();
        self.lost += summary.counters.records_lost;
    }
}

/// The classifier attached inside a namespace, its ring drained by a reader
/// that only counts records.
struct CountingCapture {
    enforcer: Enforcer,
    stop: Option<oneshot::Sender<()>>,
    thread: thread::JoinHandle<io::Result<CaptureSummary>>,
}

impl CountingCapture {
    fn start(netns: &str, config: CaptureConfig) -> anyhow::Result<CountingCapture> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let thread = spawn_in_netns(netns, move || {
            let attached = KernelCapture::attach(&config).and_then(|mut c| {
                let enforcer = c.enforcer().map_err(|e| {
                    crate::capture::CaptureError::new(
                        crate::capture::CaptureErrorKind::Load,
                        e.to_string(),
                    )
                })?;
                Ok((c, enforcer))
            });
            let mut capture = match attached {
                Ok((capture, enforcer)) => {
                    let _ = ready_tx.send(Ok(enforcer));
                    capture
                }
                Err(e) => {
                    let message = e.to_string();
                    let _ = ready_tx.send(Err(message.clone()));
                    return Err(io::Error::other(message));
                }
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(capture.run_records(|_: &[u8]| true, async move {
                let _ = stop_rx.await;
            }))
            .map_err(io::Error::other)
        });
        let enforcer = ready_rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| anyhow::anyhow!("the capture thread never reported"))?
            .map_err(|e| anyhow::anyhow!("attaching the classifier: {e}"))?;
        Ok(CountingCapture {
            enforcer,
            stop: Some(stop),
            thread,
        })
    }

    /// Detaches, drains the ring and returns the final accounting.
    fn stop(mut self) -> anyhow::Result<CaptureSummary> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        Ok(self
            .thread
            .join()
            .map_err(|_| anyhow::anyhow!("capture thread panicked"))??)
    }
}

/// Median of the kernel's average ns per run over five batches of 2,000
/// runs, and the program's verdict.
fn timed(capture: &KernelCapture, frame: &[u8]) -> io::Result<(u32, u32)> {
    const ROUNDS: usize = 5;
    const REPEAT: u32 = 2000;
    let mut samples = Vec::with_capacity(ROUNDS);
    let mut verdict = PASS;
    for _ in 0..ROUNDS {
        let run = capture
            .test_run(Direction::Ingress, frame, REPEAT)
            .map_err(io::Error::other)?;
        verdict = run.retval;
        samples.push(run.avg_ns);
    }
    samples.sort_unstable();
    Ok((samples[ROUNDS / 2], verdict))
}

fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

impl EnforceReport {
    /// The report as text tables.
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for a in &self.automata {
            let grams = match (a.gram_stride, a.gram_fill_percent) {
                (Some(stride), Some(fill)) => {
                    format!("gram filter sampling every {stride} bytes, {fill:.2}% of its bits set")
                }
                _ => "no gram filter".to_string(),
            };
            let _ = writeln!(
                out,
                "{} patterns: {} states x {} classes ({} KiB of transitions), {grams}",
                a.patterns, a.states, a.classes, a.table_kib
            );
        }
        let _ = writeln!(
            out,
            "header-only capture: {}",
            if self.header_only { "on" } else { "off" }
        );
        let _ = writeln!(out, "load average before: {}", self.load_average_before);
        if !self.fixed.is_empty() {
            let _ = writeln!(
                out,
                "\nfixed frames (BPF_PROG_TEST_RUN, ns per run, median of 5 x 2,000):"
            );
            let _ = writeln!(
                out,
                "{:<20} {:>10} {:>7} {:>13} {:>14}",
                "configuration", "request", "ACK", "mean of both", "attack (drop)"
            );
            for r in &self.fixed {
                let attack = match (r.attack_ns, r.attack_dropped) {
                    (Some(ns), Some(true)) => format!("{ns}"),
                    (Some(ns), _) => format!("{ns} NOT DROPPED"),
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "{:<20} {:>10} {:>7} {:>13} {:>14}",
                    r.configuration, r.request_ns, r.ack_ns, r.mean_ns, attack
                );
            }
        }
        if let Some(base) = self.unfiltered_requests_per_s {
            let _ = writeln!(
                out,
                "\nlive load ({} clients, medians of {} rounds of {} s as deployed, then {} s with kernel BPF statistics for the ns; reader ns: CPU time of the ring reader per record; max gap: longest time between two drains):",
                self.clients, self.rounds, self.period_s, self.period_s
            );
            let _ = writeln!(
                out,
                "{:<20} {:>9} {:>8} {:>15} {:>13} {:>11} {:>10} {:>7} {:>9} {:>7} {:>5} {:>10} {:>10} {:>10}",
                "configuration",
                "req/s",
                "% none",
                "req/s range",
                "% w/ stats",
                "ingress ns",
                "egress ns",
                "all ns",
                "packets",
                "dropped",
                "lost",
                "replace ms",
                "reader ns",
                "max gap ms"
            );
            let _ = writeln!(out, "{:<20} {:>9.0} {:>7.1}%", "no program", base, 100.0);
            for r in &self.live {
                let _ = writeln!(
                    out,
                    "{:<20} {:>9.0} {:>7.1}% {:>15} {:>12.1}% {:>11.0} {:>10.0} {:>7.0} {:>9} {:>7} {:>5} {:>10.1} {:>10.0} {:>10.1}",
                    r.configuration,
                    r.requests_per_s,
                    r.percent_of_unfiltered,
                    format!("{:.0}-{:.0}", r.requests_per_s_min, r.requests_per_s_max),
                    r.percent_of_unfiltered_with_stats,
                    r.ingress_ns,
                    r.egress_ns,
                    r.all_ns,
                    r.packets,
                    r.dropped,
                    r.lost,
                    r.replace_ms,
                    r.reader_ns_per_record,
                    r.longest_drain_gap_ms
                );
            }
        }
        let _ = writeln!(out, "load average after: {}", self.load_average_after);
        out
    }
}
