//! Criterion benchmarks: inspection throughput on HTTP request heads (the
//! short heads of zeek's synthetic requests and nDPI's scan, and a real
//! browser session's 400-600-byte heads, `browser`), TLS ClientHellos and
//! DNS queries from the shared captures with 100, 1,000,
//! 5,000 and all loadable ET Open rules of the protocol (and all loadable
//! rules), and compile times. The browser session's transactions are also
//! inspected as sensor-pipeline presents them, without the raw head as
//! `payload` (`inspect_browser_*_as_pipeline`). Each set is also inspected
//! with the loadable rules that inspect no buffer beyond those the 100-rule
//! sample's engine scans (`all_loadable_on_the_100_sample_buffers`): how
//! cost grows with the literals of the same buffers, apart from the
//! buffers that more rules name. Runs are kept short: the machine is
//! shared.
//!
//! Two figures per set:
//!
//! - `inspect_*` (cold): every iteration cycles through all the inputs, so
//!   each input's buffers (slices of one copy of its head, as
//!   sensor-pipeline's, beside the normalized ones and the header fields)
//!   have left the cache by the time it comes round again: a worst case.
//! - `inspect_*_hot`: the inputs are taken in chunks of [`HOT_CHUNK`]; each
//!   chunk is inspected once untimed, then once timed. The live pipeline
//!   inspects a transaction right after parsing it, with its buffers in
//!   cache, which this approximates.
//!
//! `cargo bench -p sensor-engine --bench engine`

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sensor_engine::{BufferId, Engine, EngineBuilder, Input, InputKind, Scratch};
use sensor_rules::ir::{Protocol, Rule};
use sensor_rules::{LoadOptions, RuleSet};
use support::TestInput;

fn et_open() -> Vec<Rule> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/rules/et-open"
    ));
    RuleSet::load(&[dir], &LoadOptions::default())
        .0
        .into_rules()
}

fn of(all: &[Rule], p: Protocol) -> Vec<Rule> {
    all.iter()
        .filter(|r| r.header.protocol == p)
        .cloned()
        .collect()
}

fn bytes(inputs: &[TestInput]) -> u64 {
    inputs
        .iter()
        .map(|i| match i.meta.kind {
            InputKind::Tls => i.buffer(BufferId::TlsSni).map_or(0, <[u8]>::len),
            InputKind::Dns => i.buffer(BufferId::DnsQuery).map_or(0, <[u8]>::len),
            // The head's length (kept where `payload` is not).
            _ => i.meta.payload_len as usize,
        } as u64)
        .sum()
}

fn inspect_all(engine: &Engine, inputs: &[TestInput], scratch: &mut Scratch) -> usize {
    let mut alerts = 0;
    for i in inputs {
        alerts += engine.inspect(i, scratch, &mut |_: &sensor_engine::Match<'_>| {});
    }
    alerts
}

/// Inputs per hot chunk (their buffers fit in L1/L2 together).
const HOT_CHUNK: usize = 16;

/// Time to inspect every input hot, `iters` times over: each chunk is
/// inspected once to load it, then once timed.
fn inspect_hot(
    engine: &Engine,
    inputs: &[TestInput],
    scratch: &mut Scratch,
    iters: u64,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut alerts = 0;
    for _ in 0..iters {
        for chunk in inputs.chunks(HOT_CHUNK) {
            alerts += inspect_all(engine, chunk, scratch);
            let t = Instant::now();
            alerts += inspect_all(engine, chunk, scratch);
            total += t.elapsed();
        }
    }
    std::hint::black_box(alerts);
    total
}

fn benches(c: &mut Criterion) {
    let all = et_open();
    let http = of(&all, Protocol::Http);
    let tls = of(&all, Protocol::Tls);
    let dns = of(&all, Protocol::Dns);
    let (requests, responses): (Vec<TestInput>, Vec<TestInput>) = support::pcap_http_inputs()
        .into_iter()
        .partition(|i| i.meta.kind == InputKind::HttpRequest);
    let (browser_requests, browser_responses): (Vec<TestInput>, Vec<TestInput>) =
        support::browser_http_inputs()
            .into_iter()
            .partition(|i| i.meta.kind == InputKind::HttpRequest);
    let hellos = support::pcap_tls_inputs();
    let queries: Vec<TestInput> = requests
        .iter()
        .filter_map(|r| {
            r.buffer(BufferId::HttpHost)
                .map(|h| support::dns_query(h, 1))
        })
        .collect();
    let engine_all = EngineBuilder::new().rules(all.clone()).build().unwrap();
    eprintln!(
        "inputs: {} HTTP requests ({} bytes), {} responses ({} bytes), {} browser requests ({} bytes), {} browser responses ({} bytes), {} ClientHellos ({} SNI bytes), {} DNS queries ({} name bytes)",
        requests.len(),
        bytes(&requests),
        responses.len(),
        bytes(&responses),
        browser_requests.len(),
        bytes(&browser_requests),
        browser_responses.len(),
        bytes(&browser_responses),
        hellos.len(),
        bytes(&hellos),
        queries.len(),
        bytes(&queries)
    );

    // As sensor-pipeline's EventInput presents transactions: without the
    // raw head as `payload` (HTTP rules' payload contents meet packets).
    let as_pipeline = |inputs: &[TestInput]| -> Vec<TestInput> {
        let mut v = inputs.to_vec();
        v.iter_mut()
            .for_each(|i| i.bufs[BufferId::Payload.index()] = None);
        v
    };
    let pipeline_requests = as_pipeline(&browser_requests);
    let pipeline_responses = as_pipeline(&browser_responses);

    let sets: [(&str, &[Rule], &[TestInput]); 8] = [
        ("inspect_http_requests", &http, &requests),
        ("inspect_http_responses", &http, &responses),
        ("inspect_browser_requests", &http, &browser_requests),
        ("inspect_browser_responses", &http, &browser_responses),
        (
            "inspect_browser_requests_as_pipeline",
            &http,
            &pipeline_requests,
        ),
        (
            "inspect_browser_responses_as_pipeline",
            &http,
            &pipeline_responses,
        ),
        ("inspect_tls_client_hellos", &tls, &hellos),
        ("inspect_dns_queries", &dns, &queries),
    ];
    for ((name, rules, inputs), hot) in sets.iter().flat_map(|s| [(*s, false), (*s, true)]) {
        let name = if hot {
            format!("{name}_hot")
        } else {
            name.to_string()
        };
        let mut g = c.benchmark_group(name);
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1))
            .throughput(Throughput::Bytes(bytes(inputs)));
        let mut sizes: Vec<usize> = [100, 1_000, 5_000]
            .into_iter()
            .filter(|&n| n < rules.len())
            .collect();
        sizes.push(rules.len());
        // The buffers the smallest sample's engine scans.
        let mut small_buffers = None;
        for n in sizes {
            let engine = EngineBuilder::new()
                .rules(support::spread_sample(rules, n))
                .build()
                .unwrap();
            small_buffers.get_or_insert_with(|| (n, support::scanned_buffers(&engine)));
            let mut scratch = Scratch::new();
            g.bench_with_input(BenchmarkId::new("rules", n), inputs, |b, inputs| {
                if hot {
                    b.iter_custom(|iters| inspect_hot(&engine, inputs, &mut scratch, iters))
                } else {
                    b.iter(|| inspect_all(&engine, inputs, &mut scratch))
                }
            });
        }
        let mut scratch = Scratch::new();
        g.bench_with_input(
            BenchmarkId::new("all_loadable_rules", all.len()),
            inputs,
            |b, inputs| {
                if hot {
                    b.iter_custom(|iters| inspect_hot(&engine_all, inputs, &mut scratch, iters))
                } else {
                    b.iter(|| inspect_all(&engine_all, inputs, &mut scratch))
                }
            },
        );
        // All loadable rules that inspect only buffers the smallest sample
        // scans: set against that sample, how cost grows with the literals
        // of the same buffers, apart from the buffers more rules name.
        if let Some((n, names)) = small_buffers {
            let within = support::within_buffers(&all, &names);
            if within.len() < all.len() {
                let id = format!("all_loadable_on_the_{n}_sample_buffers");
                let engine = EngineBuilder::new().rules(within.clone()).build().unwrap();
                let mut scratch = Scratch::new();
                g.bench_with_input(BenchmarkId::new(id, within.len()), inputs, |b, inputs| {
                    if hot {
                        b.iter_custom(|iters| inspect_hot(&engine, inputs, &mut scratch, iters))
                    } else {
                        b.iter(|| inspect_all(&engine, inputs, &mut scratch))
                    }
                });
            }
        }
        g.finish();
    }

    let mut g = c.benchmark_group("compile");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3));
    let n = 5_000.min(http.len());
    let http5k = support::spread_sample(&http, n);
    g.bench_function(BenchmarkId::new("http_rules", http5k.len()), |b| {
        b.iter_batched(
            || http5k.clone(),
            |rules| EngineBuilder::new().rules(rules).build().unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.bench_function(BenchmarkId::new("all_loadable_rules", all.len()), |b| {
        b.iter_batched(
            || all.clone(),
            |rules| EngineBuilder::new().rules(rules).build().unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
