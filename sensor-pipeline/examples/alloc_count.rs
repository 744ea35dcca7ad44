//! Counts heap allocations on the packet path: replays a capture through
//! the pipeline (rules optional, alerts collected and dropped) with a
//! counting global allocator, and reports allocations per packet and per
//! transaction, rule loading excluded.
//!
//! ```text
//! cargo run --release -p sensor-pipeline --example alloc_count -- FILE.pcap [RULES...]
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use sensor_output::{Alert, HttpLog};
use sensor_pipeline::{Detector, Mode, Outputs, Pipeline, ReplayOptions, compile_rules};
use sensor_proto::DriverConfig;

/// The system allocator, counting calls and bytes.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to `System` unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Outputs that count and drop, so that only the pipeline allocates.
#[derive(Default)]
struct Discard {
    alerts: u64,
    http: u64,
}

impl Outputs for Discard {
    fn alert(&mut self, _alert: Alert) {
        self.alerts += 1;
    }
    fn http(&mut self, _log: HttpLog) {
        self.http += 1;
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).map(PathBuf::from);
    let capture = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: alloc_count FILE.pcap [RULES...]"))?;
    let rules: Vec<PathBuf> = args.collect();
    let detector = if rules.is_empty() {
        None
    } else {
        let (rules, loaded) = compile_rules(&rules, &[])?;
        println!("{} rules loaded", loaded.rules_loaded);
        Some(Detector::new(rules, Mode::Ids))
    };
    let mut pipeline = Pipeline::new(DriverConfig::default(), detector, Discard::default());
    let options = ReplayOptions {
        progress: false,
        ..ReplayOptions::default()
    };
    let (allocs, bytes) = (
        ALLOCS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    );
    let summary = sensor_pipeline::replay_files(&[capture], &mut pipeline, &options);
    let allocs = ALLOCS.load(Ordering::Relaxed) - allocs;
    let bytes = BYTES.load(Ordering::Relaxed) - bytes;
    let packets = summary.packets.max(1) as f64;
    let transactions = summary.transactions.max(1) as f64;
    println!(
        "packets {}  flows {}  transactions {}  alerts {}",
        summary.packets, summary.flows, summary.transactions, summary.alerts
    );
    println!(
        "allocations {allocs} ({bytes} bytes): {:.3} per packet, {:.2} per transaction, {:.2} per flow",
        allocs as f64 / packets,
        allocs as f64 / transactions,
        allocs as f64 / summary.flows.max(1) as f64
    );
    Ok(())
}
