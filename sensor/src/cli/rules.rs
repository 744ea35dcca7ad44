//! `vigil rules check`: the rule front end's report (`sensor_rules::cli`),
//! plus how `--ips` would enforce each drop rule and whether the drop
//! rules' pattern automaton fits the kernel's table, so a rule set is known
//! to load in IPS mode before it is deployed.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::process::ExitCode;

use sensor_common::enforce::{
    DFA_MAX_ROW_UNITS, DFA_MAX_TRANSITIONS, GRAM_FILTER_BYTES, GRAM_MIN_PATTERN_LEN,
};
use sensor_rules::{
    cli::{CheckArgs, ReportSection},
    ruleset::RuleSet,
};
use serde_json::json;

use crate::daemon::blocks::{Enforcement, enforcement, kernel_blocks};

/// Runs `vigil rules check`.
pub fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    sensor_rules::cli::run_check_with(args, &|set, verbose| {
        ips_section(set, verbose).into_iter().collect()
    })
}

/// The `ips` section: nothing when the set has no drop or reject rule.
pub fn ips_section(set: &RuleSet, verbose: bool) -> Option<ReportSection> {
    let drop_rules: Vec<&sensor_rules::ir::Rule> = set
        .rules()
        .iter()
        .filter(|r| {
            matches!(
                r.action,
                sensor_rules::ir::Action::Drop | sensor_rules::ir::Action::Reject
            )
        })
        .collect();
    if drop_rules.is_empty() {
        return None;
    }
    let (blocks, kernel) = kernel_blocks(set.rules());
    // A rule whose pattern was left out of the kernel is enforced by flow
    // verdict.
    let in_kernel: HashSet<u32> = blocks.patterns.iter().map(|p| p.sid).collect();
    let plans: Vec<(u32, Enforcement)> = drop_rules
        .iter()
        .map(|r| match enforcement(r) {
            Enforcement::Pattern { .. } if !in_kernel.contains(&r.sid) => (
                r.sid,
                Enforcement::FlowVerdict("its pattern does not fit the kernel's automaton"),
            ),
            plan => (r.sid, plan),
        })
        .collect();

    let count = |kind: &str| plans.iter().filter(|(_, e)| e.kind() == kind).count();
    let (addresses, ports, patterns, verdicts) = (
        count("addresses"),
        count("ports"),
        count("pattern"),
        count("flow-verdict"),
    );
    let mut text = format!(
        "IPS (--ips): {} drop rule{}: {addresses} by address block, {ports} by port block, \
         {patterns} by first-packet pattern, {verdicts} by flow verdict only\n",
        plans.len(),
        if plans.len() == 1 { "" } else { "s" },
    );
    let automaton = match &kernel.dfa {
        None => serde_json::Value::Null,
        Some(dfa) => {
            let _ = writeln!(
                text,
                "    pattern automaton: {} states x {} byte classes = {} transitions (of {}), \
                 {} of the kernel table's {} 64-byte row units",
                dfa.states(),
                dfa.class_count(),
                dfa.transitions(),
                DFA_MAX_TRANSITIONS,
                dfa.table_units(),
                DFA_MAX_ROW_UNITS,
            );
            let _ = match dfa.grams() {
                Some(grams) => writeln!(
                    text,
                    "    gram filter: the kernel samples a 4-byte window every {} bytes and walks \
                     the automaton only around those it lets through ({} of its {} bits set)",
                    grams.stride(),
                    grams.bits_set(),
                    GRAM_FILTER_BYTES * 8,
                ),
                None => writeln!(
                    text,
                    "    gram filter: none (a pattern shorter than {GRAM_MIN_PATTERN_LEN} bytes or \
                     of the decoded URI): the kernel walks every payload whole",
                ),
            };
            json!({
                "states": dfa.states(),
                "classes": dfa.class_count(),
                "transitions": dfa.transitions(),
                "limit": DFA_MAX_TRANSITIONS,
                "row_units": dfa.table_units(),
                "row_unit_limit": DFA_MAX_ROW_UNITS,
                "gram_stride": dfa.grams().map(|g| g.stride()),
                "gram_fill": dfa.grams().map(|g| g.fill()),
            })
        }
    };
    if kernel.kept < kernel.total {
        let _ = writeln!(
            text,
            "    {} of {} patterns do not fit the kernel's automaton: their rules are enforced \
             by flow verdict (the {} shortest patterns are in the kernel)",
            kernel.total - kernel.kept,
            kernel.total,
            kernel.kept
        );
    }
    if verbose {
        for (sid, plan) in &plans {
            let _ = writeln!(text, "    sid {sid}: {plan}");
        }
    }
    let rules: Vec<serde_json::Value> = plans
        .iter()
        .map(|(sid, plan)| json!({ "sid": sid, "enforcement": plan.kind(), "detail": plan.to_string() }))
        .collect();
    Some(ReportSection {
        key: "ips",
        text,
        json: json!({
            "drop_rules": plans.len(),
            "by_enforcement": {
                "addresses": addresses,
                "ports": ports,
                "pattern": patterns,
                "flow-verdict": verdicts,
            },
            "automaton": automaton,
            "patterns": kernel.total,
            "patterns_in_kernel": kernel.kept,
            "rules": rules,
        }),
    })
}
