//! Loops one engine over one input set, for `perf record`: HTTP requests
//! (or with `VIGIL_KIND`: `resp` responses, `breq`/`bresp` a browser
//! session's requests/responses, `tls`, `dns`) against `n` ET Open rules of
//! the protocol (`all` for every loadable rule), printing the group's
//! scanners first. `VIGIL_HOT=1`: inspect each chunk of 16 inputs twice in
//! a row (half the inspections then find the input in cache).
//! `VIGIL_NO_PAYLOAD=1`: HTTP transactions without the payload buffer, as
//! the pipeline presents them. `VIGIL_BUFFERS_OF=100`: only the rules that
//! inspect no buffer beyond those the 100-rule sample's engine scans (how
//! cost grows with a buffer's literals, apart from the buffers more rules
//! name).
//! Besides the mean it prints the fastest pass, which a busy VM moves far
//! less.
//!
//! `cargo run --release -p sensor-engine --example engine_profile -- 5000 3`

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::Instant;

use sensor_engine::{EngineBuilder, InputKind, Scratch};
use sensor_rules::ir::{Protocol, Rule};
use sensor_rules::{LoadOptions, RuleSet};
use support::TestInput;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n = args.get(1).cloned().unwrap_or_else(|| "5000".into());
    let secs: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let kind = std::env::var("VIGIL_KIND").unwrap_or_else(|_| "req".into());
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/rules/et-open"
    ));
    let all = RuleSet::load(&[dir], &LoadOptions::default())
        .0
        .into_rules();
    let proto = match kind.as_str() {
        "tls" => Protocol::Tls,
        "dns" => Protocol::Dns,
        _ => Protocol::Http,
    };
    let rules: Vec<Rule> = all
        .iter()
        .filter(|r| r.header.protocol == proto)
        .cloned()
        .collect();
    // VIGIL_BUFFERS_OF=N: only the rules whose buffers are all among
    // those the N-rule sample's engine scans (support::within_buffers).
    let (all, rules) = match std::env::var("VIGIL_BUFFERS_OF")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(k) => {
            let k = k.min(rules.len());
            let small = support::spread_sample(&rules, k);
            let names =
                support::scanned_buffers(&EngineBuilder::new().rules(small).build().unwrap());
            println!("buffers {k} rules scan: {names:?}");
            (
                support::within_buffers(&all, &names),
                support::within_buffers(&rules, &names),
            )
        }
        None => (all, rules),
    };
    let sample: Vec<Rule> = if n == "all" {
        all.clone()
    } else {
        let n: usize = n.parse().unwrap();
        let n = n.min(rules.len());
        support::spread_sample(&rules, n)
    };
    let (reqs, resps): (Vec<TestInput>, Vec<TestInput>) = support::pcap_http_inputs()
        .into_iter()
        .partition(|i| i.meta.kind == InputKind::HttpRequest);
    let (breqs, bresps): (Vec<TestInput>, Vec<TestInput>) = support::browser_http_inputs()
        .into_iter()
        .partition(|i| i.meta.kind == InputKind::HttpRequest);
    let inputs = match kind.as_str() {
        "resp" => resps,
        "breq" => breqs,
        "bresp" => bresps,
        "tls" => support::pcap_tls_inputs(),
        "dns" => reqs
            .iter()
            .filter_map(|r| {
                r.buffer(sensor_engine::BufferId::HttpHost)
                    .map(|h| support::dns_query(h, 1))
            })
            .collect(),
        _ => reqs,
    };
    use sensor_engine::Input;
    let mut inputs = inputs;
    if let Some(k) = std::env::var("VIGIL_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        inputs.truncate(k);
    }
    // Head bytes per input, for GB/s (the payload of an HTTP input is its
    // head).
    let head_bytes = inputs
        .iter()
        .map(|i| {
            i.buffer(sensor_engine::BufferId::Payload)
                .map_or(0, <[u8]>::len)
        })
        .sum::<usize>() as f64
        / inputs.len() as f64;
    // VIGIL_NO_PAYLOAD=1: HTTP transactions without the payload buffer, as
    // sensor-pipeline's EventInput presents them (payload rules meet the
    // packets instead), so the group's payload literals are not scanned.
    if std::env::var("VIGIL_NO_PAYLOAD").is_ok_and(|v| v == "1") {
        for i in &mut inputs {
            if matches!(
                i.meta.kind,
                InputKind::HttpRequest | InputKind::HttpResponse
            ) {
                i.bufs[sensor_engine::BufferId::Payload.index()] = None;
            }
        }
    }
    let mut lens = [0usize; sensor_engine::BufferId::COUNT];
    let mut hv = 0;
    for i in &inputs {
        for &b in sensor_engine::BufferId::ALL {
            lens[b.index()] += i.buffer(b).map_or(0, <[u8]>::len);
        }
        hv += (0..i.header_count())
            .map(|k| i.header(k).1.len())
            .sum::<usize>();
    }
    for &b in sensor_engine::BufferId::ALL {
        if lens[b.index()] > 0 {
            print!(
                "{}={:.0} ",
                b.name(),
                lens[b.index()] as f64 / inputs.len() as f64
            );
        }
    }
    println!("header values={:.0}", hv as f64 / inputs.len() as f64);
    let t = Instant::now();
    let engine = EngineBuilder::new().rules(sample).build().unwrap();
    println!("build {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let want = inputs[0].meta();
    for g in &engine.stats().groups {
        if g.kind != want.kind || g.direction != want.direction {
            continue;
        }
        println!(
            "group {:?}/{:?}/{:?}: {} rules, {} always",
            g.kind, g.transport, g.direction, g.rules, g.always_checked
        );
        for s in &g.scans {
            println!(
                "  {:<22} {:>6} patterns ({} short) stride {} pairs {} teddy {} dfa={} {} bytes",
                s.slot.name(),
                s.patterns,
                s.short,
                s.stride,
                s.pair_literals,
                s.teddy_literals,
                s.dfa,
                s.bytes
            );
        }
    }
    let mut scratch = Scratch::new();
    let (mut cands, mut checked, mut hits, mut scanned, mut calls) = (0, 0, 0, 0, 0);
    let mut alerts = 0;
    for i in &inputs {
        alerts += engine.inspect(i, &mut scratch, &mut |_: &sensor_engine::Match<'_>| {});
        let (a, b) = scratch.last_candidates();
        cands += a;
        checked += b;
        let (h, s, c) = scratch.last_scan();
        hits += h;
        scanned += s;
        calls += c;
    }
    let k = inputs.len() as f64;
    println!(
        "{} inputs, per input: {:.1} scans, {:.1} hits, {:.0} bytes, {:.1} candidates, {:.1} checked; {alerts} alerts",
        inputs.len(),
        calls as f64 / k,
        hits as f64 / k,
        scanned as f64 / k,
        cands as f64 / k,
        checked as f64 / k
    );
    let t = Instant::now();
    let c = cpu_secs();
    let mut passes = 0u64;
    // The fastest pass, per input: on a busy VM the mean moves by half
    // from run to run, the minimum far less.
    let mut best = f64::INFINITY;
    // VIGIL_HOT=1: each chunk of 16 inputs is inspected twice in a row
    // (the second time hot, as in the live pipeline); both count.
    let hot = std::env::var("VIGIL_HOT").is_ok_and(|v| v == "1");
    // VIGIL_PASSES: a fixed number of passes instead of `secs` (for
    // `perf stat` comparisons).
    let fixed: Option<u64> = std::env::var("VIGIL_PASSES")
        .ok()
        .and_then(|v| v.parse().ok());
    while fixed.map_or(t.elapsed().as_secs_f64() < secs, |f| passes < f) {
        let pass = Instant::now();
        if hot {
            for chunk in inputs.chunks(16) {
                for _ in 0..2 {
                    for i in chunk {
                        engine.inspect(i, &mut scratch, &mut |_: &sensor_engine::Match<'_>| {});
                    }
                }
            }
            passes += 2;
            best = best.min(pass.elapsed().as_secs_f64() / (2.0 * k));
            continue;
        }
        for i in &inputs {
            engine.inspect(i, &mut scratch, &mut |_: &sensor_engine::Match<'_>| {});
        }
        passes += 1;
        best = best.min(pass.elapsed().as_secs_f64() / k);
    }
    let per = t.elapsed().as_secs_f64() / (passes as f64 * k);
    let cpu = (cpu_secs() - c) / (passes as f64 * k);
    println!(
        "{:.1} ns/input wall (fastest pass {:.1}), {:.1} ns/input cpu, {:.2} M/s cpu, {:.2} GB/s of heads ({head_bytes:.0} bytes/input) cpu",
        per * 1e9,
        best * 1e9,
        cpu * 1e9,
        1e-6 / cpu,
        head_bytes / (cpu * 1e9)
    );
}

/// CPU time of this thread (clock ticks of 10 ms; runs are seconds long).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / 100.0
}
