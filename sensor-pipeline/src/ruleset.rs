//! Loading rule files into an engine: what `vigil replay` and `vigil run`
//! do at start and on every reload.

use std::{collections::HashMap, path::PathBuf, sync::Arc};

use arc_swap::ArcSwap;
use sensor_engine::{Engine, EngineBuilder, InputKind, Rates};
use sensor_rules::{Diagnostic, LoadOptions, RuleSet, diag::Level, ir::Rule};
use sha2::{Digest, Sha256};

/// A compiled rule set and what the outputs need to describe its alerts.
pub struct Ruleset {
    /// The compiled engine.
    pub engine: Engine,
    /// classtype → description, EVE's `alert.category`.
    pub categories: HashMap<String, String>,
    /// Whether any rule inspects packets (as opposed to transactions):
    /// without one, the detector skips every packet event unseen, which
    /// with an application-layer ruleset is nearly every event.
    packet_rules: bool,
}

impl Ruleset {
    /// A ruleset around a compiled engine.
    pub fn new(engine: Engine, categories: HashMap<String, String>) -> Self {
        let packet_rules = engine
            .stats()
            .groups
            .iter()
            .any(|g| g.kind == InputKind::Packet && g.rules > 0);
        Ruleset {
            engine,
            categories,
            packet_rules,
        }
    }

    /// Whether any rule inspects packets.
    pub fn has_packet_rules(&self) -> bool {
        self.packet_rules
    }
}

/// The ruleset in force, swapped whole on reload; readers load it per
/// inspection (a few nanoseconds) and never see a half-built one.
pub type SharedRuleset = Arc<ArcSwap<Ruleset>>;

/// Rule files parsed and checked, ready to compile.
pub struct LoadedRules {
    /// The rules that loaded.
    pub rules: Vec<Rule>,
    /// classtype → description.
    pub categories: HashMap<String, String>,
    /// Every diagnostic of the load (errors skipped their rule only).
    pub diagnostics: Vec<Diagnostic>,
    /// Rules that loaded.
    pub rules_loaded: usize,
    /// Rules that were skipped (unsupported or wrong).
    pub rules_failed: usize,
    /// SHA-256 over the rule files' contents, in load order: which ruleset
    /// was in force, for the audit trail.
    pub hash: String,
    /// The files read.
    pub sources: Vec<PathBuf>,
}

impl LoadedRules {
    /// Diagnostics of level error.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == Level::Error)
    }

    /// Compiles the rules; `rates` carries threshold counters over from a
    /// running engine on reload.
    pub fn compile(&self, rates: Option<Arc<Rates>>) -> anyhow::Result<Ruleset> {
        let mut builder = EngineBuilder::new().rules(self.rules.iter().cloned());
        if let Some(rates) = rates {
            builder = builder.rates(rates);
        }
        Ok(Ruleset::new(builder.build()?, self.categories.clone()))
    }
}

/// Loads `paths` (files or directories of `.rules`/`.vigil` files) with
/// `vars` (`NAME=VALUE`). A rule that does not parse is reported and
/// skipped; the others still load.
pub fn load_rules(paths: &[PathBuf], vars: &[(String, String)]) -> LoadedRules {
    let mut opts = LoadOptions::default();
    for (name, value) in vars {
        opts = opts.var(name, value);
    }
    let (set, diagnostics) = RuleSet::load(paths, &opts);
    let mut categories = HashMap::new();
    for rule in set.rules() {
        if let Some(class) = &rule.classtype
            && let Some(c) = set.classification(class)
        {
            categories.insert(class.clone(), c.description.clone());
        }
    }
    let sources: Vec<PathBuf> = set.files().iter().map(|f| f.path.to_path_buf()).collect();
    let mut hasher = Sha256::new();
    for path in &sources {
        hasher.update(path.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(path).unwrap_or_default());
    }
    let hash = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let rules_failed = diagnostics.iter().filter(|d| d.rule_skipped).count();
    let rules_loaded = set.len();
    LoadedRules {
        rules: set.into_rules(),
        categories,
        diagnostics,
        rules_loaded,
        rules_failed,
        hash,
        sources,
    }
}

/// Loads and compiles in one step (replay, tests).
pub fn compile_rules(
    paths: &[PathBuf],
    vars: &[(String, String)],
) -> anyhow::Result<(SharedRuleset, LoadedRules)> {
    let loaded = load_rules(paths, vars);
    let ruleset = loaded.compile(None)?;
    Ok((Arc::new(ArcSwap::from_pointee(ruleset)), loaded))
}

/// Parses `NAME=VALUE`.
pub fn parse_var(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    Ok((name.trim_start_matches('$').to_string(), value.to_string()))
}
