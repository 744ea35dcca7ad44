//! `vigil run`: the live sensor. Kernel capture on each interface, the
//! pipeline (flows, parsers, engine), and the outputs (EVE, syslog, audit
//! store). SIGINT/SIGTERM stop it cleanly (programs detached, queues
//! flushed, the stop recorded); SIGHUP reloads the rules and reopens files.

pub(crate) mod blocks;
mod live;
mod outputs;
pub mod stats;

use std::{cell::RefCell, path::PathBuf, process::ExitCode, rc::Rc, sync::Arc, time::Duration};

use anyhow::Context as _;
use arc_swap::ArcSwap;
use sensor_audit::{AuditHandle, AuditOptions, AuditStore, RulesetLoad, SensorEvent};
use sensor_pipeline::{Detector, LoadedRules, Mode, Pipeline, Ruleset, SharedRuleset, load_rules};
use sensor_proto::DriverConfig;
use tokio::{
    signal::unix::{SignalKind, signal},
    sync::watch,
};

use crate::enforce::BlockSet;
use crate::{
    capture::{CaptureConfig, KernelCapture, WallClock},
    cli::signals::ShutdownSignals,
    config::Config,
    enforce,
};
use blocks::{
    Blocks, KernelAddresses, KernelPatterns, SharedBlocks, fit_addresses, kernel_blocks,
    kernel_blocks_within,
};
use live::{LiveOutputs, LiveSink};
use stats::{RulesetStats, Snapshot, StatsBoard};

pub use outputs::header_mask;

/// What `vigil run` was started with.
pub struct RunOptions {
    pub config: Config,
    /// The file the configuration came from, for the audit trail.
    pub config_path: Option<PathBuf>,
}

fn vars(config: &Config) -> Vec<(String, String)> {
    config
        .rules
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn report_diagnostics(loaded: &LoadedRules) {
    for d in &loaded.diagnostics {
        if d.level == sensor_rules::diag::Level::Error {
            eprintln!("{d}");
        }
    }
    eprintln!(
        "vigil: {} rules loaded, {} skipped (ruleset {})",
        loaded.rules_loaded,
        loaded.rules_failed,
        &loaded.hash[..12]
    );
}

fn record_ruleset(audit: Option<&AuditHandle>, loaded: &LoadedRules, trigger: &str) {
    let Some(audit) = audit else { return };
    let load = RulesetLoad {
        ruleset_hash: loaded.hash.clone(),
        rules_loaded: loaded.rules_loaded as u64,
        rules_failed: loaded.rules_failed as u64,
        sources: loaded
            .sources
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        trigger: trigger.to_string(),
    };
    if let Err(e) = audit.record_ruleset(&load) {
        log::warn!("audit: {e}");
    }
}

fn audit_event(audit: Option<&AuditHandle>, event: SensorEvent) {
    if let Some(a) = audit
        && let Err(e) = a.record_event(event)
    {
        log::warn!("audit: {e}");
    }
}

/// Rules on TCP (or any IP) traffic that match the raw payload: what
/// header-only capture hides from them is worth saying at start.
fn raw_payload_rules(rules: &[sensor_rules::ir::Rule]) -> usize {
    use sensor_rules::ir::{Buffer, Predicate, Protocol};
    rules
        .iter()
        .filter(|r| matches!(r.header.protocol, Protocol::Tcp | Protocol::Ip))
        .filter(|r| {
            r.condition
                .predicates()
                .iter()
                .any(|p| matches!(p, Predicate::Buffer(b) if b.buffer == Buffer::Payload))
        })
        .count()
}

/// Interfaces to use when none are configured: every interface that is up,
/// except loopback.
fn default_interfaces() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/sys/class/net") else {
        return Vec::new();
    };
    let mut out: Vec<String> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lo")
        .filter(|n| {
            std::fs::read_to_string(format!("/sys/class/net/{n}/operstate"))
                .is_ok_and(|s| s.trim() != "down")
        })
        .collect();
    out.sort();
    out
}

/// Runs the sensor until SIGINT or SIGTERM.
pub fn run(opts: RunOptions) -> anyhow::Result<ExitCode> {
    let config = opts.config;
    let ifaces = if config.capture.interfaces.is_empty() {
        default_interfaces()
    } else {
        config.capture.interfaces.clone()
    };
    anyhow::ensure!(
        !ifaces.is_empty(),
        "no interface to capture on (give --iface or capture.interfaces)"
    );
    let ips = config.ips;

    let store = match &config.audit.path {
        Some(path) => {
            outputs::prepare_audit_path(path)?;
            let options = AuditOptions {
                flush_interval: Duration::from_millis(config.audit.flush_interval_ms.max(1)),
                ..AuditOptions::default()
            };
            Some(
                AuditStore::open_with(path, options)
                    .with_context(|| format!("opening {}", path.display()))?,
            )
        }
        None => None,
    };
    let audit = store.as_ref().map(|s| s.handle());

    let loaded = load_rules(&config.rules.paths, &vars(&config));
    report_diagnostics(&loaded);
    let rules: SharedRuleset = Arc::new(ArcSwap::from_pointee(loaded.compile(None)?));
    record_ruleset(audit.as_ref(), &loaded, "start");
    let mut status = Status::new(&config, &loaded, &ifaces);
    if config.capture.header_only {
        let n = raw_payload_rules(&loaded.rules);
        if n > 0 {
            eprintln!(
                "vigil: header-only capture: {n} rules match raw TCP payload; they see HTTP \
                 headers and TLS handshakes, not HTTP bodies or TLS records after the \
                 ClientHello (capture.header_only = false or --full-capture to give them those)"
            );
        }
    }
    let (block_set, kernel_patterns) = kernel_blocks(&loaded.rules);
    // The kernel maps are sized for this block set, with room for one twice
    // its size on reload; a reload's automaton is fitted to them.
    let limits = enforce::EnforceLimits::for_blocks(&block_set, kernel_patterns.dfa.as_ref());
    if ips {
        report_kernel_patterns(&kernel_patterns);
        status.ruleset.kernel_unfitted = kernel_patterns.unfitted() as u64;
    }
    let shared_blocks: SharedBlocks = Arc::new(ArcSwap::from_pointee(Blocks {
        generation: 0,
        set: block_set,
    }));
    drop(loaded);

    let fanout = outputs::build_fanout(&config, audit.as_ref())?;
    audit_event(
        audit.as_ref(),
        SensorEvent::Start {
            version: env!("CARGO_PKG_VERSION").to_string(),
            config: opts.config_path.as_ref().map(|p| p.display().to_string()),
        },
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = rt.block_on(async {
        let mut signals = ShutdownSignals::install()?;
        let mut hangup = signal(SignalKind::hangup())?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let local = tokio::task::LocalSet::new();
        let mut tasks = Vec::new();
        for iface in &ifaces {
            let mut cc = CaptureConfig::new(iface);
            cc.snaplen = config.capture.snaplen;
            cc.ring_bytes = config.capture.ring_bytes;
            cc.enforce.header_only = config.capture.header_only;
            cc.enforce.mode = if ips {
                enforce::Mode::Ips
            } else {
                enforce::Mode::Ids
            };
            cc.enforce.limits = limits;
            let mut capture =
                KernelCapture::attach(&cc).with_context(|| format!("capturing on {iface}"))?;
            // The maps serve IPS blocks and header-only capture's body
            // regions; in IDS mode only the latter.
            let enforcer = if ips || config.capture.header_only {
                let mut e = capture.enforcer()?;
                if ips {
                    e.replace(&shared_blocks.load().set)?;
                }
                Some(e)
            } else {
                None
            };
            let mut driver = DriverConfig::default();
            driver.flow.max_flows = config.limits.max_flows;
            driver.flow.memcap = config.limits.flow_memcap;
            let mode = if ips { Mode::Ips } else { Mode::Ids };
            let detector = Detector::new(rules.clone(), mode).with_iface(iface.clone());
            let outputs = LiveOutputs::new(fanout.clone());
            let pipeline = Pipeline::new(driver, Some(detector), outputs)
                .with_http_log(config.eve.http_log)
                .with_iface(iface.clone());
            let mut sink = LiveSink {
                iface: iface.clone(),
                pipeline,
                enforcer,
                rules: rules.clone(),
                blocks: shared_blocks.clone(),
                blocks_applied: 0,
                audit: audit.clone(),
                clock: WallClock::sample(),
                counters: Default::default(),
                header_only: config.capture.header_only,
                board: status.board.clone(),
                reported: Default::default(),
            };
            let mut stop = stop_rx.clone();
            tasks.push(local.spawn_local(async move {
                let shutdown = async move {
                    let _ = stop.wait_for(|s| *s).await;
                };
                let summary = capture.run_records(&mut sink, shutdown).await;
                sink.pipeline.finish();
                (
                    sink.iface.clone(),
                    summary,
                    sink.counters,
                    sink.pipeline.driver().counters(),
                )
            }));
        }
        eprintln!(
            "vigil: running on {} ({} mode); SIGHUP reloads, SIGINT/SIGTERM stop",
            ifaces.join(", "),
            if ips { "IPS" } else { "IDS" }
        );
        let metrics = Rc::new(RefCell::new(String::new()));
        if let Some(addr) = config.stats.listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("stats.listen {addr}"))?;
            eprintln!("vigil: Prometheus metrics on http://{addr}/metrics");
            local.spawn_local(serve_metrics(listener, metrics.clone()));
        }
        let mut tick = tokio::time::interval(Duration::from_millis(config.stats.interval_ms));
        // A reload being built on its own thread, and whether another
        // SIGHUP came meanwhile (it then starts once this one is in).
        let mut building: Option<tokio::sync::oneshot::Receiver<Prepared>> = None;
        let mut again = false;
        let reason = local
            .run_until(async {
                loop {
                    tokio::select! {
                        sig = signals.recv() => break sig,
                        _ = hangup.recv() => {
                            if building.is_some() {
                                again = true;
                            } else {
                                building = Some(start_reload(&config, &rules, &fanout, limits));
                            }
                        }
                        prepared = async { building.as_mut().expect("guarded").await }, if building.is_some() => {
                            building = None;
                            let installed = prepared
                                .ok()
                                .and_then(|p| install(p, &rules, &shared_blocks, audit.as_ref()));
                            match installed {
                                Some((loaded, unfitted)) => status.reloaded(&loaded, unfitted),
                                None => status.ruleset.failed_reloads += 1,
                            }
                            if std::mem::take(&mut again) {
                                building = Some(start_reload(&config, &rules, &fanout, limits));
                            }
                        }
                        _ = tick.tick() => {
                            let text = status.write(&fanout);
                            *metrics.borrow_mut() = text;
                        }
                    }
                }
            })
            .await;
        eprintln!("vigil: {reason} received, stopping");
        let _ = stop_tx.send(true);
        let mut summaries = Vec::new();
        for t in tasks {
            summaries.push(local.run_until(t).await?);
        }
        anyhow::Ok((reason, summaries))
    });

    let (reason, summaries) = match outcome {
        Ok(v) => v,
        Err(e) => {
            audit_event(
                audit.as_ref(),
                SensorEvent::Stop {
                    reason: format!("error: {e:#}"),
                },
            );
            if let Some(s) = store {
                let _ = s.close();
            }
            return Err(e);
        }
    };
    let mut failed = false;
    for (iface, summary, live, driver) in &summaries {
        match summary {
            Ok(s) => eprintln!(
                "vigil: {iface}: {} packets seen, {} lost, {} flows, {} transactions, {} dropped in the kernel, \
                 {} flow verdicts ({} expired with their flow), {} pattern hits released",
                s.counters.packets_seen,
                s.counters.records_lost,
                driver.flows,
                driver.transactions,
                live.kernel_drops,
                live.verdicts_set,
                live.verdicts_expired,
                live.pattern_releases
            ),
            Err(e) => {
                failed = true;
                eprintln!("vigil: {iface}: {e}");
            }
        }
    }
    // The status file exists while the sensor runs: `vigil stats` and
    // `vigil reload` must not find a stopped sensor's pid.
    status.remove();
    let fanout = Arc::try_unwrap(fanout).map_err(|_| anyhow::anyhow!("outputs still in use"))?;
    for s in fanout.shutdown() {
        eprintln!(
            "vigil: output {}: {} sent, {} failed, {} dropped",
            s.name, s.sent, s.failed, s.dropped
        );
    }
    audit_event(
        audit.as_ref(),
        SensorEvent::Stop {
            reason: reason.to_string(),
        },
    );
    if let Some(s) = store {
        s.close()?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The status file and the Prometheus text, rebuilt every `stats.interval_ms`.
struct Status {
    path: Option<PathBuf>,
    board: StatsBoard,
    started_at: u64,
    mode: &'static str,
    ruleset: RulesetStats,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Status {
    fn new(config: &Config, loaded: &LoadedRules, ifaces: &[String]) -> Status {
        let board = StatsBoard::default();
        for name in ifaces {
            board.publish(stats::InterfaceStats {
                name: name.clone(),
                ..Default::default()
            });
        }
        Status {
            path: config.stats.path.clone(),
            board,
            started_at: unix_now(),
            mode: if config.ips { "ips" } else { "ids" },
            ruleset: RulesetStats {
                hash: loaded.hash.clone(),
                rules_loaded: loaded.rules_loaded as u64,
                rules_failed: loaded.rules_failed as u64,
                ..Default::default()
            },
        }
    }

    /// `unfitted`: the reload's kernel blocks the maps do not hold.
    fn reloaded(&mut self, loaded: &LoadedRules, unfitted: u64) {
        if self.mode == "ips" {
            self.ruleset.kernel_unfitted = unfitted;
        }
        self.ruleset.hash = loaded.hash.clone();
        self.ruleset.rules_loaded = loaded.rules_loaded as u64;
        self.ruleset.rules_failed = loaded.rules_failed as u64;
        self.ruleset.reloads += 1;
    }

    /// Writes the status file; returns the Prometheus text.
    fn write(&self, fanout: &sensor_output::FanOut) -> String {
        let snapshot = Snapshot {
            version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
            started_at: self.started_at,
            updated_at: unix_now(),
            mode: self.mode.to_string(),
            ruleset: self.ruleset.clone(),
            interfaces: self.board.interfaces(),
            outputs: fanout.stats(),
        };
        if let Some(path) = &self.path {
            let written = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| stats::write_status(path, &snapshot));
            if let Err(e) = written {
                log::warn!("status file {}: {e}", path.display());
            }
        }
        stats::prometheus(&snapshot)
    }

    fn remove(&self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Answers every connection with the latest Prometheus text (any path: the
/// sensor serves nothing else).
async fn serve_metrics(listener: tokio::net::TcpListener, text: Rc<RefCell<String>>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let body = text.borrow().clone();
        tokio::task::spawn_local(async move {
            let mut request = [0u8; 1024];
            let _ = tokio::time::timeout(Duration::from_secs(2), conn.read(&mut request)).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes()).await;
            let _ = conn.write_all(body.as_bytes()).await;
            let _ = conn.shutdown().await;
        });
    }
}

/// A rule set built for a reload, ready to swap in.
struct Prepared {
    loaded: LoadedRules,
    ruleset: anyhow::Result<Ruleset>,
    blocks: (BlockSet, KernelPatterns),
    /// What of the address and port blocks the running maps hold.
    addresses: KernelAddresses,
}

/// SIGHUP: reopens the output files (log rotation), then loads and compiles
/// the rules, the engine and the kernel block set on a thread of their own:
/// compiling a large ruleset takes hundreds of milliseconds, during which
/// the capture tasks on the daemon's thread would not drain the ring.
fn start_reload(
    config: &Config,
    rules: &SharedRuleset,
    fanout: &sensor_output::FanOut,
    limits: enforce::EnforceLimits,
) -> tokio::sync::oneshot::Receiver<Prepared> {
    fanout.reopen();
    let paths = config.rules.paths.clone();
    let vars = vars(config);
    let rates = rules.load().engine.rates().clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let loaded = load_rules(&paths, &vars);
        let ruleset = loaded.compile(Some(rates));
        let mut blocks = kernel_blocks_within(
            &loaded.rules,
            limits.dfa_transitions as usize,
            limits.dfa_states,
        );
        let addresses = fit_addresses(&mut blocks.0, limits.cidrs, limits.ports);
        let _ = tx.send(Prepared {
            loaded,
            ruleset,
            blocks,
            addresses,
        });
    });
    rx
}

/// Swaps a prepared rule set in (engine, then kernel blocks, which each
/// capture applies on its next packet); a ruleset that failed to compile
/// leaves the running one. Returns the rules now in force and how many of
/// their kernel blocks the maps do not hold, or `None` on failure.
fn install(
    prepared: Prepared,
    rules: &SharedRuleset,
    blocks: &SharedBlocks,
    audit: Option<&AuditHandle>,
) -> Option<(LoadedRules, u64)> {
    let Prepared {
        loaded,
        ruleset,
        blocks: (set, kernel_patterns),
        addresses,
    } = prepared;
    report_diagnostics(&loaded);
    match ruleset {
        Ok(new) => {
            rules.store(Arc::new(new));
            let generation = blocks.load().generation + 1;
            if kernel_patterns.kept < kernel_patterns.total {
                report_kernel_patterns(&kernel_patterns);
            }
            if addresses.truncated() {
                report_kernel_addresses(&addresses);
            }
            blocks.store(Arc::new(Blocks { generation, set }));
            record_ruleset(audit, &loaded, "SIGHUP");
            audit_event(
                audit,
                SensorEvent::Reload {
                    ruleset_hash: loaded.hash.clone(),
                    rules_loaded: loaded.rules_loaded as u64,
                    rules_failed: loaded.rules_failed as u64,
                    trigger: "SIGHUP".into(),
                },
            );
            eprintln!("vigil: reloaded");
            let unfitted = kernel_patterns.unfitted() + addresses.unfitted();
            Some((loaded, unfitted as u64))
        }
        Err(e) => {
            eprintln!("vigil: reload failed, keeping the running rules: {e:#}");
            None
        }
    }
}

/// Says which address and port blocks of a reload do not fit the kernel's
/// maps, and what happens to their rules.
fn report_kernel_addresses(k: &KernelAddresses) {
    eprintln!(
        "vigil: {} of {} address blocks and {} of {} port blocks fit the kernel's maps (sized \
         at start for {} address blocks per side and {} port blocks, twice the rule set then); \
         the rules of the others block the rest of the flow once user space matches them; \
         restart the sensor to size the maps for this rule set",
        k.cidrs_kept, k.cidrs_total, k.ports_kept, k.ports_total, k.max_cidrs, k.max_ports,
    );
}

/// Says how many drop-rule patterns the kernel enforces, and what happens
/// to those that do not fit its automaton.
fn report_kernel_patterns(k: &KernelPatterns) {
    eprintln!(
        "vigil: {} drop-rule patterns enforced in the kernel",
        k.kept
    );
    if k.kept < k.total {
        eprintln!(
            "vigil: {} more drop-rule patterns do not fit the kernel's automaton ({} \
             transitions, {} 64-byte row units): their rules block the rest of the flow once \
             user space matches them (`vigil rules check -v` lists which)",
            k.total - k.kept,
            sensor_common::enforce::DFA_MAX_TRANSITIONS,
            sensor_common::enforce::DFA_MAX_ROW_UNITS,
        );
    }
}
