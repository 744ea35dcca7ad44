//! The regression suite's one harness: every directory under
//! `testdata/cases/` is a case (a capture, rules, and the alerts expected),
//! as suricata-verify does for Suricata. The same [`Case`] is run offline
//! (`sensor-pipeline/tests/cases.rs`, through [`run_offline`]) and live
//! (`sensor/tests/live_cases.rs`: the capture injected into the lab with
//! `vigil run` attached), and both runs are judged by [`Case::check`].
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

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use sensor_output::{EveFormatter, HeaderMask};
use sensor_proto::{ChecksumPolicy, DriverConfig};
use serde::Deserialize;
use serde_json::Value;

use crate::{Collected, Detector, Mode, Pipeline, ReplayOptions, compile_rules, replay_files};

/// One case, as read from its `case.toml`, with paths resolved.
#[derive(Debug, Clone)]
pub struct Case {
    /// The directory's name.
    pub name: String,
    pub description: String,
    /// The capture.
    pub pcap: PathBuf,
    /// Rule files.
    pub rules: Vec<PathBuf>,
    /// Pick up flows whose handshake the capture lacks.
    pub midstream: bool,
    /// Verify checksums (off for captures with offloaded checksums).
    pub checksums: bool,
    /// Run in IPS mode (drop rules alert as "blocked").
    pub ips: bool,
    /// Live, send the capture as fast as possible rather than at its
    /// recorded pace: for a rate case whose threshold a loaded machine's
    /// paced replay could fall short of (600 SYNs in 0.6 s against "more
    /// than 500 in 1 s" leaves a margin of 2 only).
    pub live_topspeed: bool,
    /// Rule variables.
    pub vars: BTreeMap<String, String>,
    pub expect: Vec<Expect>,
}

/// Alerts expected of one rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub sid: u32,
    pub count: usize,
    /// Dotted EVE paths and their values, checked on the sid's first alert.
    #[serde(default)]
    pub fields: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
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
    live_topspeed: bool,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    #[serde(default)]
    expect: Vec<Expect>,
}

fn yes() -> bool {
    true
}

/// The case directories under `cases_dir` (those with a `case.toml`), sorted.
pub fn case_dirs(cases_dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.toml").exists())
        .collect();
    dirs.sort();
    dirs
}

impl Case {
    /// Reads `dir/case.toml`; captures are looked up in `pcaps_dir`.
    pub fn load(dir: &Path, pcaps_dir: &Path) -> Result<Case, String> {
        let text = std::fs::read_to_string(dir.join("case.toml"))
            .map_err(|e| format!("{}/case.toml: {e}", dir.display()))?;
        let file: CaseFile =
            toml::from_str(&text).map_err(|e| format!("{}/case.toml: {e}", dir.display()))?;
        let rules = if file.rules.is_empty() {
            let mut own: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("rules" | "vigil")
                    )
                })
                .collect();
            own.sort();
            own
        } else {
            file.rules.iter().map(|r| dir.join(r)).collect()
        };
        let pcap = if dir.join(&file.pcap).exists() {
            dir.join(&file.pcap)
        } else {
            pcaps_dir.join(&file.pcap)
        };
        Ok(Case {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            description: file.description,
            pcap,
            rules,
            midstream: file.midstream,
            checksums: file.checksums,
            live_topspeed: file.live_topspeed,
            ips: file.ips,
            vars: file.vars,
            expect: file.expect,
        })
    }

    /// The rule variables as `(name, value)` pairs.
    pub fn var_pairs(&self) -> Vec<(String, String)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// What is wrong with `alerts` (EVE alert records) for this case: a
    /// count that differs, a field that differs on a sid's first alert, or
    /// an alert of a sid the case does not list. Empty when they pass.
    pub fn check(&self, alerts: &[Value]) -> Vec<String> {
        let mut by_sid: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
        for a in alerts {
            let sid = a["alert"]["signature_id"].as_u64().unwrap_or(0);
            by_sid.entry(sid).or_default().push(a);
        }
        let mut problems = Vec::new();
        for e in &self.expect {
            let got = by_sid.remove(&u64::from(e.sid)).unwrap_or_default();
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
        problems
    }
}

impl Case {
    /// `Ok` when there are no problems, else one message naming the case
    /// and listing them.
    pub fn outcome(&self, problems: &[String]) -> Result<(), String> {
        if problems.is_empty() {
            return Ok(());
        }
        Err(format!(
            "{} ({})\n    {}",
            self.description,
            self.pcap.display(),
            problems.join("\n    ")
        ))
    }
}

/// What identifies an alert across two runs of the same capture (offline
/// and live): the rule and the flow, not the time or the flow id.
pub fn alert_key(alert: &Value) -> String {
    format!(
        "sid {} {} {}:{} -> {}:{} {}",
        alert["alert"]["signature_id"],
        alert["proto"].as_str().unwrap_or(""),
        alert["src_ip"].as_str().unwrap_or(""),
        alert["src_port"],
        alert["dest_ip"].as_str().unwrap_or(""),
        alert["dest_port"],
        alert["http"]["url"].as_str().unwrap_or(""),
    )
}

/// How many alerts of each [`alert_key`].
pub fn alert_keys(alerts: &[Value]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for a in alerts {
        *out.entry(alert_key(a)).or_default() += 1;
    }
    out
}

/// Replays the case's capture through the pipeline, as `vigil replay`
/// does, and returns its alerts as EVE records.
pub fn run_offline(case: &Case) -> Result<Vec<Value>, String> {
    let (ruleset, loaded) =
        compile_rules(&case.rules, &case.var_pairs()).map_err(|e| format!("rules: {e:#}"))?;
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
    let summary = replay_files(std::slice::from_ref(&case.pcap), &mut pipeline, &options);
    if !summary.unreadable_files.is_empty()
        || !summary.truncated_files.is_empty()
        || summary.packets == 0
    {
        return Err(format!("capture {}: {summary:?}", case.pcap.display()));
    }
    let formatter = EveFormatter::new(HeaderMask::default());
    pipeline
        .outputs()
        .alerts
        .iter()
        .map(|a| serde_json::from_str(&formatter.alert(a)).map_err(|e| e.to_string()))
        .collect()
}

fn lookup<'v>(value: &'v Value, dotted: &str) -> Option<&'v Value> {
    dotted
        .split('.')
        .try_fold(value, |v, key| match key.parse::<usize>() {
            Ok(i) => v.get(i),
            Err(_) => v.get(key),
        })
}

fn same(json: &Value, want: &toml::Value) -> bool {
    match want {
        toml::Value::String(s) => json.as_str() == Some(s.as_str()),
        toml::Value::Integer(i) => json.as_i64() == Some(*i),
        toml::Value::Boolean(b) => json.as_bool() == Some(*b),
        toml::Value::Float(f) => json.as_f64() == Some(*f),
        _ => false,
    }
}
