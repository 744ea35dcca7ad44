//! Loading rule files into an engine: what `vigil replay` and `vigil run`
//! do at start and on every reload.

use std::{collections::HashMap, path::PathBuf, sync::Arc};

use sensor_engine::{Engine, EngineBuilder};
use sensor_rules::{Diagnostic, LoadOptions, RuleSet, diag::Level};

/// A compiled rule set and what the outputs need to describe its alerts.
pub struct LoadedRules {
    /// The compiled engine.
    pub engine: Arc<Engine>,
    /// classtype → description, EVE's `alert.category`.
    pub categories: Arc<HashMap<String, String>>,
    /// Every diagnostic of the load (errors skipped their rule only).
    pub diagnostics: Vec<Diagnostic>,
    /// Rules compiled into the engine.
    pub rules_loaded: usize,
}

impl LoadedRules {
    /// Diagnostics of level error.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == Level::Error)
    }
}

/// Loads `paths` (files or directories of `.rules`/`.vigil` files) with
/// `vars` (`NAME=VALUE`), and compiles them. A rule that does not parse is
/// reported and skipped; the others still load. Fails only when the engine
/// cannot be built at all.
pub fn load_rules(paths: &[PathBuf], vars: &[(String, String)]) -> anyhow::Result<LoadedRules> {
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
    let rules_loaded = set.len();
    let engine = EngineBuilder::new().rules(set.into_rules()).build()?;
    Ok(LoadedRules {
        engine: Arc::new(engine),
        categories: Arc::new(categories),
        diagnostics,
        rules_loaded,
    })
}

/// Parses `NAME=VALUE`.
pub fn parse_var(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    Ok((name.trim_start_matches('$').to_string(), value.to_string()))
}
