//! From patterns to a dense DFA: a trie-shaped NFA over bytes, then the
//! subset construction.
//!
//! The NFA is a trie of pattern positions: patterns that begin alike share
//! nodes, and a position with several spellings (the other case of a
//! letter, `%XX` escapes) branches into short byte paths that meet again at
//! the next position. Its root loops on every byte, which makes the search
//! unanchored. A DFA state is the set of NFA nodes a packet can be in;
//! since the trie shares prefixes, these sets stay as small as the suffixes
//! that are also pattern prefixes, as in Aho-Corasick. (A general regex DFA
//! builder carries the start of every pattern in every state: 2 s for 1,000
//! patterns, against tens of milliseconds here.)

use std::collections::{HashMap, VecDeque};

use super::{EnforceError, EnforceErrorKind, Pattern};

/// Most transitions the construction builds before giving up: far beyond
/// what the kernel's table holds, only here to bound time and memory.
pub(crate) const BUILD_LIMIT: usize = 1 << 24;

/// The automaton as the subset construction leaves it.
pub(crate) struct Determinized {
    /// Byte to class.
    pub classes: [u8; 256],
    /// Number of classes.
    pub class_count: usize,
    /// Per state (start first), the next state per class.
    pub rows: Vec<Vec<u32>>,
    /// Per state, the pattern that entering it completes (the lowest index
    /// if several end there).
    pub completes: Vec<Option<u32>>,
}

/// The byte-level NFA: per node its edges `(byte, target)` sorted by byte,
/// and the pattern that ends there.
struct Nfa {
    edges: Vec<Vec<(u8, u32)>>,
    ends: Vec<Option<u32>>,
}

impl Nfa {
    const ROOT: u32 = 0;

    fn build(patterns: &[Pattern]) -> Nfa {
        let mut nfa = Nfa {
            edges: vec![Vec::new()],
            ends: vec![None],
        };
        // Trie edges keyed by (node, the position's spellings): patterns
        // whose positions are spelled alike share the path.
        type Key = (u32, Vec<Vec<Vec<u8>>>);
        let mut trie: HashMap<Key, u32> = HashMap::new();
        for (index, pattern) in patterns.iter().enumerate() {
            let mut node = Self::ROOT;
            for &byte in &pattern.bytes {
                let spellings = pattern.spellings(byte);
                let key = (node, spellings);
                node = match trie.get(&key) {
                    Some(&next) => next,
                    None => {
                        let next = nfa.node();
                        for spelling in &key.1 {
                            nfa.path(key.0, spelling, next);
                        }
                        if pattern.percent_decoded && byte == b'/' {
                            nfa.empty_segments(next);
                        }
                        trie.insert(key, next);
                        next
                    }
                };
            }
            let end = &mut nfa.ends[node as usize];
            *end = Some(end.map_or(index as u32, |e| e.min(index as u32)));
        }
        for edges in &mut nfa.edges {
            edges.sort_unstable();
            edges.dedup();
        }
        nfa
    }

    fn node(&mut self) -> u32 {
        self.edges.push(Vec::new());
        self.ends.push(None);
        (self.edges.len() - 1) as u32
    }

    /// Loops at `node`, just past a `/` of a decoded-URI pattern, over the
    /// empty segments user space's URI normalization removes: another `/`
    /// (`//`) and `./` (`/./`), in any of their spellings. Then
    /// `/etc//passwd` and `/etc/./passwd` are found by a rule on
    /// `/etc/passwd`, as user space finds them. `/../` is not folded: it
    /// removes the segment before it, which no finite automaton can undo in
    /// general; user space still finds such a request, and blocks its flow.
    ///
    /// The loops form one small deterministic gadget per node (7 nodes), not
    /// a path per spelling (24): sets of NFA nodes, and so DFA states, stay
    /// fewer.
    fn empty_segments(&mut self, node: u32) {
        let [p1, p2, p3, dot, q1, q2, q3] = std::array::from_fn(|_| self.node());
        // Another slash: `/`, `\`, `%2F`/`%2f`, `%5C`/`%5c`.
        self.edges_on(node, b"/\\", node);
        self.edges_on(node, b"%", p1);
        self.edges_on(p1, b"2", p2);
        self.edges_on(p2, b"fF", node);
        self.edges_on(p1, b"5", p3);
        self.edges_on(p3, b"cC", node);
        // `./`: the dot as `.` or `%2E`/`%2e`, then a slash.
        self.edges_on(node, b".", dot);
        self.edges_on(p2, b"eE", dot);
        self.edges_on(dot, b"/\\", node);
        self.edges_on(dot, b"%", q1);
        self.edges_on(q1, b"2", q2);
        self.edges_on(q2, b"fF", node);
        self.edges_on(q1, b"5", q3);
        self.edges_on(q3, b"cC", node);
    }

    fn edges_on(&mut self, from: u32, bytes: &[u8], to: u32) {
        for &b in bytes {
            self.edges[from as usize].push((b, to));
        }
    }

    /// Edges from `from` through a sequence of byte sets to `to`.
    fn path(&mut self, from: u32, sets: &[Vec<u8>], to: u32) {
        let mut at = from;
        for (i, set) in sets.iter().enumerate() {
            let next = if i + 1 == sets.len() { to } else { self.node() };
            for &b in set {
                self.edges[at as usize].push((b, next));
            }
            at = next;
        }
    }

    /// Bytes that every node treats alike share a class: the class map and
    /// one representative byte per class.
    fn byte_classes(&self) -> ([u8; 256], Vec<u8>) {
        let mut signature: Vec<Vec<(u32, u32)>> = vec![Vec::new(); 256];
        for (node, edges) in self.edges.iter().enumerate() {
            for &(b, to) in edges {
                signature[b as usize].push((node as u32, to));
            }
        }
        let mut classes = [0u8; 256];
        let mut by_signature: HashMap<&[(u32, u32)], u8> = HashMap::new();
        let mut representatives = Vec::new();
        for byte in 0..=255u8 {
            let class = *by_signature
                .entry(&signature[byte as usize])
                .or_insert_with(|| {
                    representatives.push(byte);
                    // At most 256 classes, numbered 0..=255.
                    (representatives.len() - 1) as u8
                });
            classes[byte as usize] = class;
        }
        (classes, representatives)
    }

    /// The nodes reached from `set` on `byte`, with the root (its self-loop).
    fn step(&self, set: &[u32], byte: u8, out: &mut Vec<u32>) {
        out.clear();
        out.push(Self::ROOT);
        for &node in set {
            let edges = &self.edges[node as usize];
            let first = edges.partition_point(|&(b, _)| b < byte);
            out.extend(
                edges[first..]
                    .iter()
                    .take_while(|&&(b, _)| b == byte)
                    .map(|&(_, to)| to),
            );
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// The unanchored DFA of `patterns` (non-empty, none empty); a Capacity
/// error as soon as it grows beyond `limit` transitions.
pub(crate) fn determinize(
    patterns: &[Pattern],
    limit: usize,
) -> Result<Determinized, EnforceError> {
    let nfa = Nfa::build(patterns);
    let (classes, representatives) = nfa.byte_classes();
    let start = vec![Nfa::ROOT];
    let mut ids: HashMap<Vec<u32>, u32> = HashMap::from([(start.clone(), 0)]);
    let mut sets = vec![start];
    let mut completes = vec![None];
    let mut rows = Vec::new();
    let mut queue = VecDeque::from([0u32]);
    let mut next = Vec::new();
    while let Some(id) = queue.pop_front() {
        let mut row = Vec::with_capacity(representatives.len());
        for &byte in &representatives {
            nfa.step(&sets[id as usize], byte, &mut next);
            let target = match ids.get(&next) {
                Some(&t) => t,
                None => {
                    let t = sets.len() as u32;
                    completes.push(next.iter().filter_map(|&n| nfa.ends[n as usize]).min());
                    ids.insert(next.clone(), t);
                    sets.push(next.clone());
                    queue.push_back(t);
                    t
                }
            };
            row.push(target);
        }
        rows.push(row);
        if sets.len() * representatives.len() > limit.min(BUILD_LIMIT) {
            return Err(EnforceError::new(
                EnforceErrorKind::Capacity,
                format!(
                    "the pattern automaton grows beyond {} transitions \
                     ({} states of {} classes so far)",
                    limit.min(BUILD_LIMIT),
                    sets.len(),
                    representatives.len()
                ),
            ));
        }
    }
    Ok(Determinized {
        classes,
        class_count: representatives.len(),
        rows,
        completes,
    })
}
