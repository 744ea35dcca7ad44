//! Against the real thing: all of ET Open loads; every skipped rule is
//! skipped for an "unsupported" reason, never for a parse error on valid
//! Suricata syntax.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sensor_rules::{Level, LoadOptions, RuleSet};

#[test]
fn et_open_loads_and_only_unsupported_rules_are_skipped() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/rules/et-open");
    assert!(dir.is_dir(), "ET Open not found at {}", dir.display());
    let (set, diags) = RuleSet::load(std::slice::from_ref(&dir), &LoadOptions::default());

    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.level == Level::Error)
        .take(5)
        .map(|d| d.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "errors on ET Open:\n{}",
        errors.join("\n\n")
    );
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for d in diags.iter().filter(|d| d.rule_skipped) {
        assert!(
            d.kind.is_unsupported(),
            "skipped for a non-unsupported reason: {d}"
        );
        *reasons.entry(d.reason.clone()).or_default() += 1;
    }
    let skipped: usize = reasons.values().sum();
    // Every active rule (a line starting with an action) is either loaded or
    // skipped with a reason.
    let active: usize = set
        .files()
        .iter()
        .map(|f| {
            std::fs::read_to_string(&f.path)
                .unwrap()
                .lines()
                .filter(|l| {
                    ["alert ", "drop ", "pass ", "reject "]
                        .iter()
                        .any(|a| l.starts_with(a))
                })
                .count()
        })
        .sum();
    assert_eq!(set.len() + skipped, active);
    assert!(set.len() > 15_000, "only {} rules loaded", set.len());
    // Rules that ET ships commented out are not rules.
    assert!(set.rules().iter().all(|r| r.sid != 2026461));

    println!("ET Open: {} rules loaded, {skipped} skipped", set.len());
    let mut by_count: Vec<_> = reasons.into_iter().collect();
    by_count.sort_by_key(|b| std::cmp::Reverse(b.1));
    for (reason, n) in by_count {
        println!("  {n:6}  {reason}");
    }
}
