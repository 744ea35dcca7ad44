//! Measures parsing and validating all of ET Open, and prints what loaded
//! and what was skipped, by reason.
//!
//! `cargo run --release -p sensor-rules --example load_et_open [DIR]`
//! (default: `../shared/rules/et-open` relative to the workspace).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use sensor_rules::{Level, LoadOptions, RuleSet};

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/rules/et-open")
        });
    let opts = LoadOptions::default();
    // One warm-up run (page cache), then the measured runs.
    let _ = RuleSet::load(std::slice::from_ref(&dir), &opts);
    let runs = 5;
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = RuleSet::load(std::slice::from_ref(&dir), &opts);
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(r);
    }
    let (set, diags) = last.expect("ran");
    let skipped = diags.iter().filter(|d| d.rule_skipped).count();
    println!("loaded {} rules, skipped {skipped}", set.len());
    println!("parse + validate, best of {runs}: {:.3} s", best);
    let mut reasons: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for d in diags.iter().filter(|d| d.rule_skipped) {
        *reasons
            .entry((d.kind.code(), d.reason.as_str()))
            .or_default() += 1;
    }
    let mut by_count: Vec<_> = reasons.into_iter().collect();
    by_count.sort_by_key(|b| std::cmp::Reverse(b.1));
    println!("skipped by reason:");
    for ((code, reason), n) in by_count {
        println!("  {n:6}  [{code}] {reason}");
    }
    let mut other: BTreeMap<(Level, &str), usize> = BTreeMap::new();
    for d in diags.iter().filter(|d| !d.rule_skipped) {
        *other.entry((d.level, d.kind.code())).or_default() += 1;
    }
    println!("other diagnostics:");
    for ((level, code), n) in other {
        println!("  {n:6}  {} [{code}]", level.as_str());
    }
    if std::env::var_os("SHOW_ERRORS").is_some() {
        for d in diags.iter().filter(|d| d.level == Level::Error).take(20) {
            println!("{d}\n");
        }
    }
}
