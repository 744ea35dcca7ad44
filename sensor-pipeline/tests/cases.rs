//! The regression suite: every directory under `testdata/cases/` is a case
//! (a capture, rules, and the alerts expected), read by this one harness,
//! as suricata-verify does for Suricata.
//!
//! `case.toml`:
//! ```toml
//! description = "what the case proves"
//! pcap = "default-log4shell.pcap"        # in pcaps/cases/
//! rules = ["../../../rules/default.vigil"] # relative to the case; default: the case's own rule files
//! midstream = false
//! checksums = true
//! vars = { HOME_NET = "[10.0.0.0/8]" }
//! [[expect]]
//! sid = 9000001
//! count = 2
//! fields = { "alert.action" = "allowed", "dns.queries.0.rrname" = "x" }  # on the first alert of the sid
//! ```
//! Any alert whose sid is not listed fails the case, so a case also proves
//! what must not fire; `count = 0` says so explicitly.

mod support;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use sensor_output::{EveFormatter, HeaderMask};
use sensor_pipeline::{
    Collected, Detector, Mode, Pipeline, ReplayOptions, compile_rules, replay_files,
};
use sensor_proto::{ChecksumPolicy, DriverConfig};
use serde::Deserialize;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    description: String,
    pcap: String,
    #[serde(default)]
    rules: Vec<PathBuf>,
    #[serde(default)]
    midstream: bool,
    #[serde(default = "yes")]
    checksums: bool,
    #[serde(default)]
    ips: bool,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    #[serde(default)]
    expect: Vec<Expect>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    sid: u32,
    count: usize,
    #[serde(default)]
    fields: BTreeMap<String, toml::Value>,
}

fn lookup<'v>(value: &'v serde_json::Value, dotted: &str) -> Option<&'v serde_json::Value> {
    dotted
        .split('.')
        .try_fold(value, |v, key| match key.parse::<usize>() {
            Ok(i) => v.get(i),
            Err(_) => v.get(key),
        })
}

fn same(json: &serde_json::Value, want: &toml::Value) -> bool {
    match want {
        toml::Value::String(s) => json.as_str() == Some(s.as_str()),
        toml::Value::Integer(i) => json.as_i64() == Some(*i),
        toml::Value::Boolean(b) => json.as_bool() == Some(*b),
        toml::Value::Float(f) => json.as_f64() == Some(*f),
        _ => false,
    }
}

/// Runs one case offline; returns what went wrong, if anything.
fn run_case(dir: &Path) -> Result<(), String> {
    let text =
        std::fs::read_to_string(dir.join("case.toml")).map_err(|e| format!("case.toml: {e}"))?;
    let case: Case = toml::from_str(&text).map_err(|e| format!("case.toml: {e}"))?;
    let rules: Vec<PathBuf> = if case.rules.is_empty() {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("rules" | "vigil")
                )
            })
            .collect()
    } else {
        case.rules.iter().map(|r| dir.join(r)).collect()
    };
    let vars: Vec<(String, String)> = case.vars.clone().into_iter().collect();
    let (ruleset, loaded) = compile_rules(&rules, &vars).map_err(|e| format!("rules: {e:#}"))?;
    if let Some(err) = loaded.errors().next() {
        return Err(format!("rule error: {err}"));
    }
    let mode = if case.ips { Mode::Ips } else { Mode::Ids };
    let detector = Detector::new(ruleset, mode);
    let mut config = DriverConfig::default();
    config.flow.midstream = case.midstream;
    if !case.checksums {
        config.checksums = ChecksumPolicy::Ignore;
    }
    let mut pipeline = Pipeline::new(config, Some(detector), Collected::default());
    let options = ReplayOptions {
        verify_checksums: case.checksums,
        progress: false,
    };
    let pcap = repo().join("pcaps/cases").join(&case.pcap);
    let summary = replay_files(std::slice::from_ref(&pcap), &mut pipeline, &options);
    if !summary.unreadable_files.is_empty()
        || !summary.truncated_files.is_empty()
        || summary.packets == 0
    {
        return Err(format!("capture {}: {summary:?}", pcap.display()));
    }
    let formatter = EveFormatter::new(HeaderMask::default());
    let mut by_sid: BTreeMap<u32, Vec<serde_json::Value>> = BTreeMap::new();
    for alert in &pipeline.outputs().alerts {
        by_sid
            .entry(alert.sid)
            .or_default()
            .push(serde_json::from_str(&formatter.alert(alert)).unwrap());
    }
    let mut problems = Vec::new();
    for e in &case.expect {
        let got = by_sid.remove(&e.sid).unwrap_or_default();
        if got.len() != e.count {
            problems.push(format!(
                "sid {}: {} alerts, expected {}",
                e.sid,
                got.len(),
                e.count
            ));
        }
        if let Some(first) = got.first() {
            for (path, want) in &e.fields {
                match lookup(first, path) {
                    Some(v) if same(v, want) => {}
                    other => problems.push(format!(
                        "sid {}: {path} is {other:?}, expected {want}",
                        e.sid
                    )),
                }
            }
        }
    }
    for (sid, alerts) in by_sid {
        problems.push(format!(
            "unexpected: sid {sid} fired {} times ({})",
            alerts.len(),
            alerts[0]["alert"]["signature"]
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} ({})\n    {}",
            case.description,
            pcap.display(),
            problems.join("\n    ")
        ))
    }
}

fn case_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join("testdata/cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.toml").exists())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_case_raises_exactly_its_expected_alerts_offline() {
    let dirs = case_dirs();
    assert!(dirs.len() >= 10, "cases found: {dirs:?}");
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|d| {
            run_case(d)
                .err()
                .map(|e| format!("{}: {e}", d.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

#[test]
fn case_captures_are_reproducible() {
    let dir = repo().join("pcaps/cases");
    let regenerate = std::env::var_os("VIGIL_REGENERATE_PCAPS").is_some();
    for (name, frames) in support::scenarios::all() {
        let bytes = support::scenarios::pcap(&frames);
        let path = dir.join(format!("{name}.pcap"));
        if regenerate {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == bytes,
            "{} differs from its generator",
            path.display()
        );
    }
}
