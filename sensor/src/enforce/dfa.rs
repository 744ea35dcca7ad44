//! First-packet patterns compiled into the dense, byte-classed DFA the TC
//! program walks.
//!
//! The automaton is built with the `aho-corasick` crate (standard match
//! semantics, unanchored) and exported through its public `Automaton` trait:
//! states are renumbered densely from a breadth-first walk, and bytes that
//! every state treats alike share a class, so a row holds one transition per
//! class instead of 256.

use std::collections::{HashMap, VecDeque};

use aho_corasick::{
    Anchored, MatchKind, StartKind,
    automaton::{Automaton, StateID},
    dfa::{Builder, DFA},
};
use sensor_common::enforce::{DFA_MATCH_BIT, DfaMatch};

use super::{EnforceError, EnforceErrorKind};

/// A literal byte pattern of a drop rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The bytes to find anywhere in the captured payload.
    pub bytes: Vec<u8>,
    /// Match ASCII letters in either case.
    pub case_insensitive: bool,
    /// The rule the pattern belongs to.
    pub sid: u32,
}

impl Pattern {
    /// A case-sensitive pattern.
    pub fn new(bytes: impl Into<Vec<u8>>, sid: u32) -> Pattern {
        Pattern {
            bytes: bytes.into(),
            case_insensitive: false,
            sid,
        }
    }

    /// An ASCII-case-insensitive pattern.
    pub fn nocase(bytes: impl Into<Vec<u8>>, sid: u32) -> Pattern {
        Pattern {
            bytes: bytes.into(),
            case_insensitive: true,
            sid,
        }
    }
}

/// A pattern set compiled for the kernel: a dense transition table over byte
/// classes, with the pattern completed by each match state.
#[derive(Clone, Debug)]
pub struct CompiledDfa {
    classes: [u8; 256],
    class_count: u32,
    start: u32,
    /// `states * class_count` next states, [`DFA_MATCH_BIT`] set when the
    /// next state completes a pattern.
    transitions: Vec<u32>,
    /// Per state: the pattern it completes (meaningful for match states).
    matches: Vec<DfaMatch>,
    exact: bool,
    patterns: usize,
    max_len: u32,
}

impl CompiledDfa {
    /// Compiles `patterns` (at least one, none empty).
    ///
    /// Case sensitivity is per automaton in `aho-corasick`: when the set
    /// mixes case-sensitive and case-insensitive patterns, the whole
    /// automaton is built case-insensitive. It then finds a superset of the
    /// true matches (a case-sensitive pattern also matches other cases), so
    /// [`CompiledDfa::is_exact`] is false and user space must confirm kernel
    /// hits — which it does anyway, since full rules have more conditions;
    /// an unconfirmed hit is released with an allow verdict.
    pub fn compile(patterns: &[Pattern]) -> Result<CompiledDfa, EnforceError> {
        if patterns.is_empty() {
            return Err(EnforceError::new(
                EnforceErrorKind::Invalid,
                "no patterns to compile",
            ));
        }
        if let Some(p) = patterns.iter().find(|p| p.bytes.is_empty()) {
            return Err(EnforceError::new(
                EnforceErrorKind::Invalid,
                format!("empty pattern (sid {})", p.sid),
            ));
        }
        let any_nocase = patterns.iter().any(|p| p.case_insensitive);
        let all_nocase = patterns.iter().all(|p| p.case_insensitive);
        let dfa = Builder::new()
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .ascii_case_insensitive(any_nocase)
            .prefilter(false)
            .build(patterns.iter().map(|p| &p.bytes))
            .map_err(|e| EnforceError::new(EnforceErrorKind::Pattern, e.to_string()))?;
        let exact = !any_nocase || all_nocase;
        let (ids, rows) = explore(&dfa)?;
        let (classes, representatives) = byte_classes(&rows);

        let class_count = representatives.len() as u32;
        let mut transitions = Vec::with_capacity(rows.len() * representatives.len());
        for row in &rows {
            for &byte in &representatives {
                let next = row[byte as usize];
                let bit = if dfa.is_match(ids[next as usize]) {
                    DFA_MATCH_BIT
                } else {
                    0
                };
                transitions.push(next | bit);
            }
        }
        let matches = ids
            .iter()
            .map(|&sid| {
                if dfa.is_match(sid) {
                    let pattern = dfa.match_pattern(sid, 0).as_usize();
                    DfaMatch {
                        pattern: pattern as u32,
                        sid: patterns[pattern].sid,
                    }
                } else {
                    DfaMatch::default()
                }
            })
            .collect();
        Ok(CompiledDfa {
            classes,
            class_count,
            start: 0,
            transitions,
            matches,
            exact,
            patterns: patterns.len(),
            max_len: patterns.iter().map(|p| p.bytes.len()).max().unwrap_or(0) as u32,
        })
    }

    /// Number of states.
    pub fn states(&self) -> u32 {
        self.matches.len() as u32
    }

    /// Number of byte classes (the row length).
    pub fn class_count(&self) -> u32 {
        self.class_count
    }

    /// Size of the transition table, `states * class_count`.
    pub fn transitions(&self) -> u32 {
        self.transitions.len() as u32
    }

    /// Number of patterns compiled.
    pub fn patterns(&self) -> usize {
        self.patterns
    }

    /// Length of the longest pattern, the deepest state's depth.
    pub fn max_pattern_len(&self) -> u32 {
        self.max_len
    }

    /// False when a mixed case-sensitivity set was compiled case-insensitive
    /// (see [`CompiledDfa::compile`]).
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    /// Runs the automaton over `haystack` exactly as the kernel does and
    /// returns (pattern index, sid) of the first pattern completed.
    pub fn find(&self, haystack: &[u8]) -> Option<(u32, u32)> {
        let mut state = self.start;
        for &byte in haystack {
            let class = u32::from(self.classes[byte as usize]);
            let next = self.transitions[(state * self.class_count + class) as usize];
            if next & DFA_MATCH_BIT != 0 {
                let m = self.matches[(next & !DFA_MATCH_BIT) as usize];
                return Some((m.pattern, m.sid));
            }
            state = next;
        }
        None
    }

    pub(crate) fn class_map(&self) -> &[u8; 256] {
        &self.classes
    }

    pub(crate) fn start(&self) -> u32 {
        self.start
    }

    pub(crate) fn transition_table(&self) -> &[u32] {
        &self.transitions
    }

    pub(crate) fn match_table(&self) -> &[DfaMatch] {
        &self.matches
    }
}

/// Breadth-first walk from the unanchored start: the automaton's states in
/// dense order (start first), and each state's 256 next states, densely
/// numbered.
fn explore(dfa: &DFA) -> Result<(Vec<StateID>, Vec<[u32; 256]>), EnforceError> {
    let start = dfa
        .start_state(Anchored::No)
        .map_err(|e| EnforceError::new(EnforceErrorKind::Pattern, e.to_string()))?;
    let mut dense: HashMap<StateID, u32> = HashMap::from([(start, 0)]);
    let mut ids = vec![start];
    let mut queue = VecDeque::from([start]);
    let mut rows = Vec::new();
    while let Some(sid) = queue.pop_front() {
        let mut row = [0u32; 256];
        for (byte, slot) in row.iter_mut().enumerate() {
            let next = dfa.next_state(Anchored::No, sid, byte as u8);
            *slot = *dense.entry(next).or_insert_with(|| {
                ids.push(next);
                queue.push_back(next);
                (ids.len() - 1) as u32
            });
        }
        rows.push(row);
    }
    if ids.len() >= DFA_MATCH_BIT as usize {
        return Err(EnforceError::new(
            EnforceErrorKind::Capacity,
            format!("automaton of {} states is too large", ids.len()),
        ));
    }
    Ok((ids, rows))
}

/// Groups bytes whose column is identical in every row: the class map, and
/// one representative byte per class.
fn byte_classes(rows: &[[u32; 256]]) -> ([u8; 256], Vec<u8>) {
    let mut classes = [0u8; 256];
    let mut by_column: HashMap<Vec<u32>, u8> = HashMap::new();
    let mut representatives = Vec::new();
    for byte in 0..=255u8 {
        let column: Vec<u32> = rows.iter().map(|r| r[byte as usize]).collect();
        let class = *by_column.entry(column).or_insert_with(|| {
            representatives.push(byte);
            // At most 256 classes, numbered 0..=255.
            (representatives.len() - 1) as u8
        });
        classes[byte as usize] = class;
    }
    (classes, representatives)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_patterns_like_aho_corasick() {
        let dfa = CompiledDfa::compile(&[
            Pattern::new("${jndi:", 1),
            Pattern::new("() {", 2),
            Pattern::new("/etc/passwd", 3),
        ])
        .unwrap();
        assert!(dfa.is_exact());
        assert_eq!(dfa.find(b"GET /?x=${jndi:ldap://a} HTTP/1.1"), Some((0, 1)));
        assert_eq!(dfa.find(b"User-Agent: () { :; }; echo"), Some((1, 2)));
        assert_eq!(dfa.find(b"GET /../../etc/passwd"), Some((2, 3)));
        assert_eq!(dfa.find(b"GET /index.html HTTP/1.1"), None);
        assert_eq!(dfa.find(b"${JNDI:"), None, "case-sensitive");
        // Few distinct bytes: far fewer classes than 256.
        assert!(dfa.class_count() < 32, "{} classes", dfa.class_count());
        assert_eq!(dfa.transitions(), dfa.states() * dfa.class_count());
    }

    #[test]
    fn case_insensitive_sets_are_exact() {
        let dfa = CompiledDfa::compile(&[Pattern::nocase("select ", 7)]).unwrap();
        assert!(dfa.is_exact());
        assert_eq!(dfa.find(b"id=1 UNION SeLeCt *"), Some((0, 7)));
    }

    #[test]
    fn mixed_sets_over_approximate() {
        let dfa =
            CompiledDfa::compile(&[Pattern::nocase("union", 1), Pattern::new("Evil", 2)]).unwrap();
        assert!(!dfa.is_exact());
        assert_eq!(dfa.find(b"EVIL"), Some((1, 2)));
    }

    #[test]
    fn rejects_empty_input() {
        assert_eq!(
            CompiledDfa::compile(&[]).unwrap_err().kind(),
            EnforceErrorKind::Invalid
        );
        assert_eq!(
            CompiledDfa::compile(&[Pattern::new("", 1)])
                .unwrap_err()
                .kind(),
            EnforceErrorKind::Invalid
        );
    }

    #[test]
    fn a_thousand_patterns_compile_compactly() {
        let patterns: Vec<Pattern> = (0..1000)
            .map(|i| Pattern::new(format!("attack-{i:04}-payload"), i))
            .collect();
        let dfa = CompiledDfa::compile(&patterns).unwrap();
        assert_eq!(dfa.find(b"xx attack-0999-payload"), Some((999, 999)));
        assert!(dfa.class_count() < 40);
    }
}
