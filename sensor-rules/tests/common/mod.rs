//! Helpers shared by the integration tests.
#![allow(dead_code)]

use sensor_rules::ir::{BufferMatch, Expr, FieldTest, Predicate, Rule};
use sensor_rules::{Diagnostic, Level, LoadOptions, RuleSet};

/// Loads `text` as a file named `name`; returns the rules and diagnostics.
pub fn load(name: &str, text: &str) -> (Vec<Rule>, Vec<Diagnostic>) {
    let (set, diags) = RuleSet::load_str(name, text, &LoadOptions::default());
    (set.into_rules(), diags)
}

/// Loads one rule that must load without error or warning.
pub fn one(name: &str, text: &str) -> Rule {
    let (rules, diags) = load(name, text);
    let bad: Vec<String> = diags
        .iter()
        .filter(|d| d.level != Level::Note)
        .map(|d| d.to_string())
        .collect();
    assert!(
        bad.is_empty(),
        "unexpected diagnostics:\n{}",
        bad.join("\n")
    );
    assert_eq!(rules.len(), 1, "expected one rule");
    rules.into_iter().next().expect("one rule")
}

/// One Suricata rule.
pub fn suricata(text: &str) -> Rule {
    one("test.rules", text)
}

/// One native rule.
pub fn native(text: &str) -> Rule {
    one("test.vigil", text)
}

/// The buffer chains of a rule's condition, in order.
pub fn chains(rule: &Rule) -> Vec<&BufferMatch> {
    rule.condition
        .predicates()
        .into_iter()
        .filter_map(|p| match p {
            Predicate::Buffer(b) => Some(b),
            _ => None,
        })
        .collect()
}

/// The field tests of a rule's condition, in order.
pub fn field_tests(rule: &Rule) -> Vec<&FieldTest> {
    rule.condition
        .predicates()
        .into_iter()
        .filter_map(|p| match p {
            Predicate::Field(f) => Some(f),
            _ => None,
        })
        .collect()
}

/// The condition's top-level conjuncts.
pub fn conjuncts(rule: &Rule) -> Vec<&Expr> {
    match &rule.condition {
        Expr::And(v) => v.iter().collect(),
        other => vec![other],
    }
}

/// The one diagnostic of a load that must produce exactly one (notes aside).
pub fn only_diagnostic(name: &str, text: &str) -> Diagnostic {
    let (_, diags) = load(name, text);
    let mut d: Vec<Diagnostic> = diags
        .into_iter()
        .filter(|d| d.level != Level::Note)
        .collect();
    assert_eq!(d.len(), 1, "expected one diagnostic, got {d:#?}");
    d.pop().expect("one")
}
