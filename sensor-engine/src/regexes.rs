//! The engine's regular expressions: every distinct `pcre` of the ruleset
//! compiled once with regex-automata (linear time; the rule loader already
//! rejected patterns that need backtracking).

use std::collections::HashMap;

use regex_automata::meta::{self, Regex};
use regex_syntax::hir::Hir;
use sensor_rules::ir::{Pcre, PcreFlags};

use crate::error::{BuildError, BuildErrorKind};

/// Index of a regex in [`Regexes`].
pub(crate) type RegexId = u32;

/// Distinct compiled regexes, deduplicated by pattern and flags.
#[derive(Debug, Default)]
pub(crate) struct Regexes {
    list: Vec<Regex>,
    index: HashMap<(String, PcreFlags), RegexId>,
}

/// Parses a pcre into HIR, mapping the loader's problem to a build error.
pub(crate) fn parse(p: &Pcre) -> Result<Hir, BuildError> {
    sensor_rules::regex::pcre_hir(p).map_err(|e| {
        BuildError::new(
            BuildErrorKind::Regex,
            format!("pcre /{}/: {}", p.pattern, e.message),
        )
    })
}

/// Compiles HIR with the engine's settings: byte-oriented (empty matches
/// may split UTF-8), leftmost-first like PCRE.
pub(crate) fn compile(hir: &Hir) -> Result<Regex, String> {
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .utf8_empty(false)
                // Keep compiled regexes small: thousands of them are loaded.
                .onepass(false)
                .dfa(false)
                .nfa_size_limit(Some(2 << 20)),
        )
        .build_from_hir(hir)
        .map_err(|e| e.to_string())
}

impl Regexes {
    /// Adds (or finds) the regex of a pcre; returns its id and HIR.
    pub(crate) fn add(&mut self, p: &Pcre) -> Result<(RegexId, Hir), BuildError> {
        let hir = parse(p)?;
        let key = (p.pattern.clone(), p.flags);
        if let Some(&id) = self.index.get(&key) {
            return Ok((id, hir));
        }
        let re = compile(&hir).map_err(|e| {
            BuildError::new(BuildErrorKind::Regex, format!("pcre /{}/: {e}", p.pattern))
        })?;
        let id = self.list.len() as RegexId;
        self.list.push(re);
        self.index.insert(key, id);
        Ok((id, hir))
    }

    /// The regex with this id.
    pub(crate) fn get(&self, id: RegexId) -> &Regex {
        &self.list[id as usize]
    }

    /// Number of distinct regexes.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Drops the dedup index once building is over.
    pub(crate) fn finish(&mut self) {
        self.index = HashMap::new();
    }
}

/// Per-worker regex search state: one lazily created cache per regex.
#[derive(Debug, Default)]
pub(crate) struct RegexCaches {
    caches: Vec<Option<meta::Cache>>,
}

impl RegexCaches {
    /// Sizes the table for `n` regexes (forgetting caches of another engine).
    pub(crate) fn reset(&mut self, n: usize) {
        self.caches.clear();
        self.caches.resize_with(n, || None);
    }

    /// Leftmost-first match of regex `id` in `hay` starting at or after
    /// `from` (anchors still refer to `hay`'s ends).
    pub(crate) fn find(
        &mut self,
        regexes: &Regexes,
        id: RegexId,
        hay: &[u8],
        from: usize,
    ) -> Option<(usize, usize)> {
        let re = regexes.get(id);
        let cache = self.caches[id as usize].get_or_insert_with(|| re.create_cache());
        let input = regex_automata::Input::new(hay).range(from..);
        re.search_with(cache, &input).map(|m| (m.start(), m.end()))
    }
}
