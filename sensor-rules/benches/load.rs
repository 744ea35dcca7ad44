//! Parsing and validating all of ET Open (issue 3's target: under 1 s).
//!
//! `cargo bench -p sensor-rules --bench load`; the ruleset is read from
//! `../shared/rules/et-open` beside the repository.

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use sensor_rules::{LoadOptions, RuleSet};

fn et_open(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/rules/et-open");
    let opts = LoadOptions::default();
    let (set, _) = RuleSet::load(std::slice::from_ref(&dir), &opts);
    assert!(set.len() > 10_000, "ET Open not found at {}", dir.display());
    let mut group = c.benchmark_group("rules");
    group.sample_size(10);
    group.bench_function("parse+validate et-open", |b| {
        b.iter(|| RuleSet::load(std::slice::from_ref(&dir), &opts))
    });
    let native = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rules");
    group.bench_function("parse+validate rules/", |b| {
        b.iter(|| RuleSet::load(std::slice::from_ref(&native), &opts))
    });
    group.finish();
}

criterion_group!(benches, et_open);
criterion_main!(benches);
