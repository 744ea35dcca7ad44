//! Loading the TC programs, attaching them to an interface, and detaching.

use std::{os::fd::OwnedFd, time::Duration};

use aya::{
    Ebpf, EbpfLoader,
    maps::{MapData, PerCpuArray, RingBuf},
    programs::{SchedClassifier, TcAttachType, tc::SchedClassifierLinkId},
};
use sensor_common::{
    Counter,
    record::{DEFAULT_SNAPLEN, MAX_RINGS, MAX_SNAPLEN, RING_MAPS},
};
use serde::Serialize;

use super::{CaptureError, CaptureErrorKind as Kind, CounterTotals};
use crate::enforce::EnforceConfig;

/// The kernel object built by `build.rs`; empty when bpf-linker was missing.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sensor"));

const PROGRAMS: [(&str, TcAttachType); 2] = [
    ("vigil_ingress", TcAttachType::Ingress),
    ("vigil_egress", TcAttachType::Egress),
];

/// The default wakeup threshold of rings of 512 KiB and more.
const DEFAULT_WAKEUP_BYTES: u64 = 64 * 1024;

/// How to capture: which interface, how many payload bytes, how much ring.
#[derive(Clone, Debug)]
pub struct CaptureConfig {
    /// Interface to attach to, in the caller's network namespace.
    pub iface: String,
    /// Payload bytes copied per packet, at most [`MAX_SNAPLEN`].
    pub snaplen: u32,
    /// Size in bytes of each ring buffer (one per CPU, up to
    /// [`MAX_RINGS`]): a power of two, at least one page.
    pub ring_bytes: u32,
    /// How often the reader drains the ring when the kernel does not wake it.
    pub poll_interval: Duration,
    /// Unread bytes in a ring whose crossing wakes the reader at once (0:
    /// every record does); otherwise it polls every `poll_interval`. `None`
    /// (the default): see [`CaptureConfig::wakeup_bytes`].
    pub wakeup_threshold: Option<u64>,
    /// Header-only capture: least time between two wakeups that header
    /// blocks force, per CPU. A TCP record with payload outside a known body
    /// wakes the reader at once so that it sets the body region before the
    /// body has passed; but each forced wakeup is an interrupt, which cost
    /// about 5 µs per packet on this project's VMs when every such record
    /// forced one. Zero forces one for every such record.
    pub header_wake_interval: Duration,
    /// How often kernel counters are read and losses reported.
    pub counter_interval: Duration,
    /// Turn on the kernel's per-program run-time statistics while attached.
    pub bpf_stats: bool,
    /// Enforcement mode (IDS or IPS), header-only capture, and the sizes of
    /// the kernel's block maps.
    pub enforce: EnforceConfig,
}

impl CaptureConfig {
    /// Defaults for `iface`: 2 KiB snap, 8 MiB rings, 5 ms poll, 64 KiB wakeup,
    /// header blocks wake the reader at most once per millisecond per CPU.
    pub fn new(iface: impl Into<String>) -> Self {
        CaptureConfig {
            iface: iface.into(),
            snaplen: DEFAULT_SNAPLEN,
            ring_bytes: 8 << 20,
            poll_interval: Duration::from_millis(5),
            wakeup_threshold: None,
            header_wake_interval: Duration::from_millis(1),
            counter_interval: Duration::from_secs(1),
            bpf_stats: false,
            enforce: EnforceConfig::default(),
        }
    }

    /// The wakeup threshold in force: `wakeup_threshold`, else 64 KiB, or
    /// an eighth of a ring smaller than 512 KiB (a threshold the ring cannot
    /// hold would never wake the reader).
    ///
    /// Why not more: under the lab's HTTP load 64 KiB is crossed about
    /// 1,400 times a second, and 256 KiB to 2 MiB looked 2-3% faster in
    /// `vigil bench enforce`. But with wakeups that rare, the reader, a
    /// normal-priority thread competing with 32 busy ones, went unscheduled
    /// for up to 2 s (its 5 ms poll timer notwithstanding) and the rings
    /// overflowed: 141,245 and 196,649 records lost in two runs. The gain
    /// was the reader not running. At 64 KiB the longest gap between two
    /// drains stayed at 29-37 ms, with no loss.
    pub fn wakeup_bytes(&self) -> u64 {
        self.wakeup_threshold
            .unwrap_or((u64::from(self.ring_bytes) / 8).min(DEFAULT_WAKEUP_BYTES))
    }

    fn validate(&self) -> Result<(), CaptureError> {
        if self.snaplen as usize > MAX_SNAPLEN {
            return Err(CaptureError::new(
                Kind::Config,
                format!(
                    "snap length {} exceeds the kernel's maximum of {MAX_SNAPLEN}",
                    self.snaplen
                ),
            ));
        }
        let page = 4096;
        if self.ring_bytes < page || !self.ring_bytes.is_power_of_two() {
            return Err(CaptureError::new(
                Kind::Config,
                format!(
                    "ring size {} must be a power of two of at least {page} bytes",
                    self.ring_bytes
                ),
            ));
        }
        Ok(())
    }
}

/// Run-time statistics of one attached program (needs `bpf_stats`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProgramStats {
    pub program: String,
    pub run_count: u64,
    pub run_time_ns: u64,
    /// `run_time_ns / run_count`.
    pub avg_ns: f64,
}

/// The TC programs loaded and attached to one interface.
///
/// Dropping it detaches both programs (explicitly, then again through aya's
/// link ownership), so nothing stays attached after `vigil` exits normally or
/// on SIGINT/SIGTERM. TCX links (kernel >= 6.6) also vanish if the process is
/// killed, since the kernel ties them to the link file descriptor.
pub struct KernelCapture {
    pub(super) config: CaptureConfig,
    pub(super) ebpf: Ebpf,
    links: Vec<(&'static str, SchedClassifierLinkId)>,
    /// The rings in use, ring 0 first; taken by the reader.
    pub(super) rings: Option<Vec<RingBuf<MapData>>>,
    counters: PerCpuArray<MapData, u64>,
    _stats_fd: Option<OwnedFd>,
}

impl KernelCapture {
    /// Loads the embedded object with `config`'s parameters and attaches the
    /// classifier on ingress and egress of `config.iface` (TCX on kernels
    /// >= 6.6, a netlink clsact filter otherwise).
    pub fn attach(config: &CaptureConfig) -> Result<KernelCapture, CaptureError> {
        config.validate()?;
        if OBJECT.is_empty() {
            return Err(CaptureError::new(
                Kind::ObjectMissing,
                "this vigil was built without its eBPF object (bpf-linker was not installed at \
                 build time); run scripts/setup.sh, then rebuild",
            ));
        }
        raise_memlock_limit();
        let stats_fd = if config.bpf_stats {
            Some(
                aya::sys::enable_stats(aya::sys::Stats::RunTime).map_err(|e| {
                    CaptureError::new(Kind::Load, format!("enabling BPF run-time statistics: {e}"))
                })?,
            )
        } else {
            None
        };
        config
            .enforce
            .validate()
            .map_err(|e| CaptureError::new(Kind::Config, e.to_string()))?;
        let globals = config.enforce.globals();
        let header_wake_ns =
            u64::try_from(config.header_wake_interval.as_nanos()).unwrap_or(u64::MAX);
        let wakeup_bytes = config.wakeup_bytes();
        let ring_count = ring_count();
        let rings_global = ring_count as u32;
        let mut loader = EbpfLoader::new();
        loader
            .override_global("SNAPLEN", &config.snaplen, true)
            .override_global("WAKEUP_THRESHOLD", &wakeup_bytes, true)
            .override_global("HEADER_WAKE_INTERVAL_NS", &header_wake_ns, true)
            .override_global("RING_COUNT", &rings_global, true);
        for (i, name) in RING_MAPS.iter().enumerate() {
            // Rings no CPU writes to keep a single page.
            let bytes = if i < ring_count {
                config.ring_bytes
            } else {
                4096
            };
            loader.map_max_entries(name, bytes);
        }
        globals.apply(&mut loader);
        let mut ebpf = loader.load(OBJECT).map_err(|e| {
            CaptureError::new(Kind::Load, format!("loading the eBPF object: {e:#}"))
        })?;

        let mut links = Vec::new();
        use aya::util::KernelVersion;
        let tcx = KernelVersion::current().is_ok_and(|v| v >= KernelVersion::new(6, 6, 0));
        if !tcx {
            // Netlink attachment needs the clsact qdisc; it may already exist.
            let _ = aya::programs::tc::qdisc_add_clsact(&config.iface);
        }
        for (name, attach_type) in PROGRAMS {
            let program: &mut SchedClassifier = ebpf
                .program_mut(name)
                .ok_or_else(|| {
                    CaptureError::new(
                        Kind::Load,
                        format!("program {name} missing from the object"),
                    )
                })?
                .try_into()
                .map_err(|e| CaptureError::new(Kind::Load, format!("{name}: {e}")))?;
            program.load().map_err(|e| {
                CaptureError::new(Kind::Load, format!("verifier rejected {name}: {e:#}"))
            })?;
            let link = program.attach(&config.iface, attach_type).map_err(|e| {
                CaptureError::new(
                    Kind::Attach,
                    format!(
                        "attaching {name} to {} ({attach_type:?}): {e:#}",
                        config.iface
                    ),
                )
            })?;
            links.push((name, link));
        }

        let rings = RING_MAPS[..ring_count]
            .iter()
            .map(|name| {
                let map = ebpf
                    .take_map(name)
                    .ok_or_else(|| CaptureError::new(Kind::Map, format!("map {name} missing")))?;
                RingBuf::try_from(map)
                    .map_err(|e| CaptureError::new(Kind::Map, format!("{name}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let counters = PerCpuArray::try_from(
            ebpf.take_map("COUNTERS")
                .ok_or_else(|| CaptureError::new(Kind::Map, "map COUNTERS missing"))?,
        )
        .map_err(|e| CaptureError::new(Kind::Map, format!("COUNTERS: {e}")))?;

        Ok(KernelCapture {
            config: config.clone(),
            ebpf,
            links,
            rings: Some(rings),
            counters,
            _stats_fd: stats_fd,
        })
    }

    /// Takes map `name` out of the loaded object (once).
    pub(crate) fn take_map(&mut self, name: &str) -> Option<aya::maps::Map> {
        self.ebpf.take_map(name)
    }

    /// The configuration this capture was attached with.
    pub fn config(&self) -> &CaptureConfig {
        &self.config
    }

    /// Sums the kernel's per-CPU counters.
    pub fn counters(&self) -> Result<CounterTotals, CaptureError> {
        let mut values = [0u64; Counter::COUNT as usize];
        for counter in Counter::ALL {
            let per_cpu = self.counters.get(&(counter as u32), 0).map_err(|e| {
                CaptureError::new(Kind::Map, format!("reading {}: {e}", counter.name()))
            })?;
            values[counter as usize] = per_cpu.iter().sum();
        }
        Ok(CounterTotals::from_values(values))
    }

    /// Run-time statistics per program (meaningful with `bpf_stats` on).
    pub fn program_stats(&self) -> Vec<ProgramStats> {
        let mut out = Vec::new();
        for (name, _) in PROGRAMS {
            let Some(info) = self.ebpf.program(name).and_then(|p| p.info().ok()) else {
                continue;
            };
            let run_count = info.run_count();
            let run_time_ns = info.run_time().as_nanos() as u64;
            let avg_ns = if run_count == 0 {
                0.0
            } else {
                run_time_ns as f64 / run_count as f64
            };
            out.push(ProgramStats {
                program: name.to_string(),
                run_count,
                run_time_ns,
                avg_ns,
            });
        }
        out
    }

    /// Detaches both programs. Idempotent; also done on drop.
    pub fn detach(&mut self) {
        for (name, link) in self.links.drain(..) {
            if let Some(program) = self.ebpf.program_mut(name) {
                let program: Result<&mut SchedClassifier, _> = program.try_into();
                if let Ok(program) = program
                    && let Err(e) = program.detach(link)
                {
                    log::warn!("detaching {name}: {e}");
                }
            }
        }
    }
}

impl Drop for KernelCapture {
    fn drop(&mut self) {
        self.detach();
    }
}

/// Rings to use: one per possible CPU, at most [`MAX_RINGS`].
fn ring_count() -> usize {
    aya::util::nr_cpus().unwrap_or(1).clamp(1, MAX_RINGS)
}

/// Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK; lift it so loading
/// does not fail there. Harmless on newer kernels (memcg accounting).
fn raise_memlock_limit() {
    let rlim = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: valid rlimit struct.
    let ret = unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &rlim) };
    if ret != 0 {
        log::debug!("setrlimit(RLIMIT_MEMLOCK) failed; continuing");
    }
}
