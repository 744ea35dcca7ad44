//! Compiles ET Open into engines of several sizes and prints every figure
//! the issue asks for: rules loaded and checked always, compile times,
//! memory of the compiled engine (counted by a global allocator), and
//! inspection throughput on HTTP heads, TLS ClientHellos and DNS queries
//! from the shared captures.
//!
//! `cargo run --release -p sensor-engine --example engine_report`

#[path = "../tests/support/mod.rs"]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sensor_engine::{BufferId, Engine, EngineBuilder, Input, Scratch};
use sensor_rules::ir::{Protocol, Rule};
use sensor_rules::{LoadOptions, RuleSet};
use support::TestInput;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new > l.size() {
            let now = LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// A builder with the DFA limit from `VIGIL_DFA_PATTERNS`, if set.
fn builder() -> EngineBuilder {
    let mut b = EngineBuilder::new();
    if let Some(n) = std::env::var("VIGIL_MIN_FP")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        b = b.min_fast_pattern_len(n);
    }
    match std::env::var("VIGIL_DFA_PATTERNS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(n) => b.dfa_max_patterns(n),
        None => b,
    }
}

/// Fixed work instead of fixed time when `VIGIL_PASSES` is set (for
/// instruction counts on a busy machine).
fn fixed_passes() -> Option<u32> {
    std::env::var("VIGIL_PASSES")
        .ok()
        .and_then(|v| v.parse().ok())
}

fn mb(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// Best of `runs` build times.
fn build_time(rules: &[Rule], runs: usize) -> (Duration, Engine) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let rules = rules.to_vec();
        let t = Instant::now();
        let e = builder().rules(rules).build().expect("build");
        best = best.min(t.elapsed());
        last = Some(e);
    }
    (best, last.expect("ran"))
}

/// Inspects `inputs` repeatedly for about `secs`; returns (seconds per
/// pass, alerts per pass).
fn throughput(engine: &Engine, inputs: &[TestInput], secs: f64) -> (f64, usize) {
    let mut scratch = Scratch::new();
    let mut alerts = 0usize;
    let mut sink = |_: &sensor_engine::Match<'_>| alerts += 1;
    let (mut cands, mut checked, mut hits, mut scanned, mut calls) = (0, 0, 0, 0, 0);
    for i in inputs {
        engine.inspect(i, &mut scratch, &mut sink);
        let (a, b) = scratch.last_candidates();
        cands += a;
        checked += b;
        let (h, n, c) = scratch.last_scan();
        calls += c;
        hits += h;
        scanned += n;
    }
    println!(
        "    per input: {:.1} scans, {:.1} hits over {:.0} bytes, {:.1} candidates, {:.1} exact checks",
        calls as f64 / inputs.len() as f64,
        hits as f64 / inputs.len() as f64,
        scanned as f64 / inputs.len() as f64,
        cands as f64 / inputs.len() as f64,
        checked as f64 / inputs.len() as f64
    );
    let mut passes: u32 = 0;
    let t = Instant::now();
    while match fixed_passes() {
        Some(p) => passes < p,
        None => t.elapsed().as_secs_f64() < secs,
    } {
        for i in inputs {
            engine.inspect(i, &mut scratch, &mut sink);
        }
        passes += 1;
    }
    let per = t.elapsed().as_secs_f64() / f64::from(passes);
    (per, alerts / (passes as usize + 1))
}

fn head_bytes(inputs: &[TestInput]) -> usize {
    inputs
        .iter()
        .map(|i| match i.meta.kind {
            sensor_engine::InputKind::Tls => i.buffer(BufferId::TlsSni).map_or(0, <[u8]>::len),
            sensor_engine::InputKind::Dns => i.buffer(BufferId::DnsQuery).map_or(0, <[u8]>::len),
            _ => i.buffer(BufferId::Payload).map_or(0, <[u8]>::len),
        })
        .sum()
}

fn main() {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/rules/et-open"
    ));
    let t = Instant::now();
    let (set, _) = RuleSet::load(std::slice::from_ref(&dir), &LoadOptions::default());
    println!("ET Open: {} rules loaded in {:.2?}", set.len(), t.elapsed());
    let all = set.into_rules();
    let of = |p: Protocol| {
        all.iter()
            .filter(|r| r.header.protocol == p)
            .cloned()
            .collect::<Vec<_>>()
    };
    let (http, tls, dns) = (of(Protocol::Http), of(Protocol::Tls), of(Protocol::Dns));
    let app: Vec<Rule> = all
        .iter()
        .filter(|r| r.header.protocol.is_application())
        .cloned()
        .collect();
    println!(
        "HTTP rules {}, TLS rules {}, DNS rules {}, HTTP/TLS/DNS {}",
        http.len(),
        tls.len(),
        dns.len(),
        app.len()
    );

    // Compile time and memory.
    let (t5k, _) = build_time(&support::spread_sample(&http, 5000.min(http.len())), 3);
    println!(
        "compile 5,000 HTTP rules: {:.1} ms (best of 3)",
        t5k.as_secs_f64() * 1e3
    );
    let (tall, engine_all) = build_time(&all, 2);
    println!(
        "compile all {} loadable rules: {:.1} ms (best of 2)",
        all.len(),
        tall.as_secs_f64() * 1e3
    );
    let s = engine_all.stats();
    println!(
        "  compiled {} (skipped {}), prefiltered {}, checked always {}, regexes {}, literals {}, groups {}",
        s.rules,
        s.skipped.len(),
        s.prefiltered,
        s.always_checked,
        s.regexes,
        s.literals,
        s.groups.len()
    );
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    for e in &s.skipped {
        let key: String = e
            .message
            .split(':')
            .next_back()
            .unwrap_or("")
            .trim()
            .chars()
            .take(60)
            .collect();
        *reasons.entry(key).or_default() += 1;
    }
    for (r, n) in reasons {
        println!("    skipped {n:5}: {r}");
    }
    for g in &s.groups {
        println!(
            "    group {:?}/{:?}/{:?}: {} rules, {} checked always, {} found by address, {} scanners ({:.1} MB)",
            g.kind,
            g.transport,
            g.direction,
            g.rules,
            g.always_checked,
            g.address_indexed,
            g.scans.len(),
            mb(g.automata_bytes)
        );
    }
    drop(engine_all);
    let rules_copy = all.clone();
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let engine_all = builder().rules(rules_copy).build().expect("build");
    let after = LIVE.load(Ordering::Relaxed);
    let peak = PEAK.load(Ordering::Relaxed);
    let ir_before = {
        // The rule IR moved into the engine was counted before the build.
        let b = LIVE.load(Ordering::Relaxed);
        let c = all.clone();
        let a = LIVE.load(Ordering::Relaxed);
        drop(c);
        a - b
    };
    println!(
        "memory, engine with all loadable rules: {:.1} MB live in total ({:.1} MB rule IR + {:.1} MB compiled); build peak +{:.1} MB",
        mb(after - before + ir_before),
        mb(ir_before),
        mb(after - before),
        mb(peak - before)
    );

    // Throughput.
    let http_inputs = support::pcap_http_inputs();
    let reqs: Vec<TestInput> = http_inputs
        .iter()
        .filter(|i| i.meta.kind == sensor_engine::InputKind::HttpRequest)
        .cloned()
        .collect();
    let resps: Vec<TestInput> = http_inputs
        .iter()
        .filter(|i| i.meta.kind == sensor_engine::InputKind::HttpResponse)
        .cloned()
        .collect();
    let hellos = support::pcap_tls_inputs();
    let queries: Vec<TestInput> = reqs
        .iter()
        .filter_map(|r| {
            r.buffer(BufferId::HttpHost)
                .map(|h| support::dns_query(h, 1))
        })
        .chain(
            hellos
                .iter()
                .filter_map(|h| h.buffer(BufferId::TlsSni).map(|s| support::dns_query(s, 1))),
        )
        .collect();
    println!(
        "inputs: {} HTTP requests ({} head bytes), {} responses ({} bytes), {} ClientHellos, {} DNS queries",
        reqs.len(),
        head_bytes(&reqs),
        resps.len(),
        head_bytes(&resps),
        hellos.len(),
        queries.len()
    );
    let sizes = |n: usize| {
        let mut v: Vec<usize> = [100, 1_000, 5_000].into_iter().filter(|&s| s < n).collect();
        v.push(n);
        v
    };
    let report = |label: &str, engine: &Engine, inputs: &[TestInput]| {
        if inputs.is_empty() {
            return 0.0;
        }
        let (per, alerts) = throughput(engine, inputs, 1.0);
        let per_tx = per / inputs.len() as f64;
        println!(
            "  {label:<28} {:>8.1} ns/tx  {:>6.2} M tx/s  {:>7.3} GB/s  ({} alerts per pass)",
            per_tx * 1e9,
            1e-6 / per_tx,
            head_bytes(inputs) as f64 / per / 1e9,
            alerts
        );
        per_tx
    };
    println!("HTTP requests:");
    let mut base = 0.0;
    for n in sizes(http.len()) {
        let e = builder()
            .rules(support::spread_sample(&http, n))
            .build()
            .expect("build");
        let c = report(&format!("{n} HTTP rules"), &e, &reqs);
        if n == 100 {
            base = c;
        }
    }
    let c = report("all loadable rules", &engine_all, &reqs);
    println!("  all/100 cost ratio: {:.2}", c / base);
    println!("HTTP responses:");
    for n in sizes(http.len()) {
        let e = builder()
            .rules(support::spread_sample(&http, n))
            .build()
            .expect("build");
        report(&format!("{n} HTTP rules"), &e, &resps);
    }
    report("all loadable rules", &engine_all, &resps);
    println!("TLS ClientHellos:");
    for n in sizes(tls.len()) {
        let e = builder()
            .rules(support::spread_sample(&tls, n))
            .build()
            .expect("build");
        report(&format!("{n} TLS rules"), &e, &hellos);
    }
    report("all loadable rules", &engine_all, &hellos);
    println!("DNS queries:");
    for n in sizes(dns.len()) {
        let e = builder()
            .rules(support::spread_sample(&dns, n))
            .build()
            .expect("build");
        report(&format!("{n} DNS rules"), &e, &queries);
    }
    report("all loadable rules", &engine_all, &queries);
    println!("TCP packets (payloads of the captures, to_server, established):");
    let packets: Vec<TestInput> = [
        "zeek_1000-requests-one-dropped-response.pcap",
        "ndpi_teams.pcap",
    ]
    .iter()
    .flat_map(|p| support::pcap_tcp_payloads(&support::shared(&format!("pcaps/{p}"))))
    .take(4000)
    .map(|p| TestInput::packet(&p))
    .collect();
    let tcp_rules: Vec<Rule> = all
        .iter()
        .filter(|r| matches!(r.header.protocol, Protocol::Tcp | Protocol::Ip))
        .cloned()
        .collect();
    let e = builder().rules(tcp_rules.clone()).build().expect("build");
    report(&format!("{} tcp/ip rules", tcp_rules.len()), &e, &packets);
    report("all loadable rules", &engine_all, &packets);
}
