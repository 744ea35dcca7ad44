//! First-packet patterns compiled into the dense, byte-classed DFA the TC
//! program walks.
//!
//! The automaton is unanchored and finds every pattern, with its own case
//! sensitivity and, for patterns of the percent-decoded URI, every spelling
//! user space decodes (see [`Pattern::percent_decoded`]); see
//! [`super::determinize`] for how it is built. Bytes that every state treats
//! alike share a class, so a row holds one transition per class instead of
//! 256.

use sensor_common::enforce::{DfaMatch, dfa_fits, dfa_row_units};

use super::{EnforceError, EnforceErrorKind, GramSampling, Pattern, determinize::determinize};

/// Set in a transition of [`CompiledDfa::transition_table`] when the next
/// state completes a pattern; the low bits are the state's number.
pub(crate) const DFA_MATCH_BIT: u32 = 1 << 30;

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
    patterns: usize,
    max_len: u32,
    /// The gram filter the kernel samples first, when the patterns allow
    /// one.
    grams: Option<GramSampling>,
}

impl CompiledDfa {
    /// Compiles `patterns` (at least one, none empty).
    ///
    /// Each pattern keeps its own case sensitivity and URI decoding, so the
    /// automaton finds exactly the occurrences of its patterns. User space
    /// still confirms every kernel hit, since full rules have more
    /// conditions; an unconfirmed hit is released with an allow verdict.
    pub fn compile(patterns: &[Pattern]) -> Result<CompiledDfa, EnforceError> {
        Self::compile_within(patterns, usize::MAX)
    }

    /// As [`CompiledDfa::compile`], but gives up with a Capacity error as
    /// soon as the automaton grows beyond `max_transitions`.
    pub fn compile_within(
        patterns: &[Pattern],
        max_transitions: usize,
    ) -> Result<CompiledDfa, EnforceError> {
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
        let dfa = determinize(patterns, max_transitions)?;
        if dfa.rows.len() >= DFA_MATCH_BIT as usize {
            return Err(EnforceError::new(
                EnforceErrorKind::Capacity,
                format!("automaton of {} states is too large", dfa.rows.len()),
            ));
        }
        let mut transitions = Vec::with_capacity(dfa.rows.len() * dfa.class_count);
        for row in &dfa.rows {
            for &next in row {
                let bit = if dfa.completes[next as usize].is_some() {
                    DFA_MATCH_BIT
                } else {
                    0
                };
                transitions.push(next | bit);
            }
        }
        let matches = dfa
            .completes
            .iter()
            .map(|completed| match *completed {
                Some(pattern) => DfaMatch {
                    pattern,
                    sid: patterns[pattern as usize].sid,
                },
                None => DfaMatch::default(),
            })
            .collect();
        let classes = dfa.classes;
        let class_count = dfa.class_count as u32;
        Ok(CompiledDfa {
            classes,
            class_count,
            start: 0,
            transitions,
            matches,
            patterns: patterns.len(),
            max_len: patterns.iter().map(Pattern::max_span).max().unwrap_or(0) as u32,
            grams: GramSampling::build(patterns),
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

    /// Most packet bytes one pattern occurrence can span (its length, three
    /// times that for a percent-decoded URI pattern): the deepest state's
    /// depth.
    pub fn max_pattern_len(&self) -> u32 {
        self.max_len
    }

    /// The gram filter the kernel samples before it walks (see
    /// [`GramSampling`]); `None` when a pattern is too short or
    /// percent-decoded, and the kernel walks every payload whole.
    pub fn grams(&self) -> Option<&GramSampling> {
        self.grams.as_ref()
    }

    /// 64-byte units each row takes in the kernel's table.
    pub fn row_units(&self) -> u32 {
        dfa_row_units(self.class_count)
    }

    /// 64-byte units all its rows take in the kernel's table.
    pub fn table_units(&self) -> u32 {
        self.states() * self.row_units()
    }

    /// Whether the kernel's table takes this automaton: at most 65,536 row
    /// units (4 MiB) of rows.
    pub fn fits_kernel_table(&self) -> bool {
        dfa_fits(self.states(), self.class_count)
    }

    /// The states that complete a pattern, in order: those some transition
    /// leads to with [`DFA_MATCH_BIT`].
    pub(crate) fn match_states(&self) -> Vec<u32> {
        let mut states: Vec<u32> = self
            .transitions
            .iter()
            .filter(|&&t| t & DFA_MATCH_BIT != 0)
            .map(|&t| t & !DFA_MATCH_BIT)
            .collect();
        states.sort_unstable();
        states.dedup();
        states
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_literal_patterns_anywhere() {
        let dfa = CompiledDfa::compile(&[
            Pattern::new("${jndi:", 1),
            Pattern::new("() {", 2),
            Pattern::new("/etc/passwd", 3),
        ])
        .unwrap();
        assert_eq!(dfa.find(b"GET /?x=${jndi:ldap://a} HTTP/1.1"), Some((0, 1)));
        assert_eq!(dfa.find(b"User-Agent: () { :; }; echo"), Some((1, 2)));
        assert_eq!(dfa.find(b"GET /../../etc/passwd"), Some((2, 3)));
        assert_eq!(dfa.find(b"/etc/passwd"), Some((2, 3)), "at the very end");
        assert_eq!(dfa.find(b"GET /index.html HTTP/1.1"), None);
        assert_eq!(dfa.find(b"${JNDI:"), None, "case-sensitive");
        assert_eq!(dfa.find(b"/%65tc/passwd"), None, "not a URI pattern");
        // Few distinct bytes: far fewer classes than 256.
        assert!(dfa.class_count() < 32, "{} classes", dfa.class_count());
        assert_eq!(dfa.transitions(), dfa.states() * dfa.class_count());
        assert_eq!(dfa.max_pattern_len(), 11);
    }

    /// The kernel's table takes 65,536 row units (a transition is a 16-bit
    /// unit), of one unit per 32 classes.
    #[test]
    fn the_kernel_table_has_a_unit_limit() {
        let small = CompiledDfa::compile(&[Pattern::new("/etc/passwd", 1)]).unwrap();
        assert!(small.fits_kernel_table());
        assert_eq!(small.row_units(), 1);

        // 200 distinct bytes: more than 128 classes, 7 units a row.
        let wide: Vec<Pattern> = (0..100u8)
            .map(|i| Pattern::new(vec![i + 1, 255 - i], u32::from(i)))
            .collect();
        let wide = CompiledDfa::compile(&wide).unwrap();
        assert!(wide.class_count() > 128, "{}", wide.class_count());
        assert_eq!(wide.row_units(), (2 * wide.class_count()).div_ceil(64));
        assert!(wide.fits_kernel_table());

        // Few classes (one unit per row) but more than 65,536 states.
        let deep = CompiledDfa::compile(&hex_patterns(6000)).unwrap();
        assert_eq!(deep.row_units(), 1);
        assert!(deep.states() > 65_536, "{}", deep.states());
        assert!(!deep.fits_kernel_table());
        assert!(
            CompiledDfa::compile(&hex_patterns(3000))
                .unwrap()
                .fits_kernel_table()
        );
    }

    /// `n` distinct 16-digit hex patterns.
    fn hex_patterns(n: u64) -> Vec<Pattern> {
        (0..n)
            .map(|i| {
                let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                Pattern::new(format!("{h:016x}"), i as u32)
            })
            .collect()
    }

    #[test]
    fn case_insensitive_patterns() {
        let dfa = CompiledDfa::compile(&[Pattern::nocase("select ", 7)]).unwrap();
        assert_eq!(dfa.find(b"id=1 UNION SeLeCt *"), Some((0, 7)));
    }

    #[test]
    fn case_sensitivity_is_per_pattern() {
        let dfa =
            CompiledDfa::compile(&[Pattern::nocase("union", 1), Pattern::new("Evil", 2)]).unwrap();
        assert_eq!(dfa.find(b"EVIL"), None);
        assert_eq!(dfa.find(b"an Evil"), Some((1, 2)));
        assert_eq!(dfa.find(b"UnIoN"), Some((0, 1)));
    }

    #[test]
    fn uri_patterns_match_every_spelling_user_space_decodes() {
        let dfa = CompiledDfa::compile(&[
            Pattern::new("/etc/passwd", 1).in_decoded_uri(),
            Pattern::nocase("cmd.exe", 2).in_decoded_uri(),
        ])
        .unwrap();
        for request in [
            &b"GET /etc/passwd HTTP/1.1"[..],
            b"GET /%65tc/passwd HTTP/1.1",
            b"GET /%65%74%63%2f%70%61%73%73%77%64",
            b"GET /%2Fetc%2Fpasswd",
            b"GET \\etc%5cpasswd",
            b"GET /x?f=%2fetc%2fpasswd",
            b"GET /etc//passwd",
            b"GET /etc/./passwd",
            b"GET //etc/.%2F%2e/\\passwd",
        ] {
            assert_eq!(
                dfa.find(request),
                Some((0, 1)),
                "{}",
                String::from_utf8_lossy(request)
            );
        }
        assert_eq!(dfa.find(b"GET /scripts/%43MD%2eExE"), Some((1, 2)));
        assert_eq!(dfa.find(b"GET /%65tc/pass"), None);
        assert_eq!(dfa.find(b"GET /%6tc/passwd"), None, "a broken escape");
        assert_eq!(dfa.find(b"GET /%2565tc/passwd"), None, "decoded once only");
        assert_eq!(dfa.find(b"GET /etc/.passwd"), None, "not an empty segment");
        assert_eq!(
            dfa.find(b"GET /etc/../passwd"),
            None,
            "dot-dot is not folded"
        );
        assert_eq!(dfa.max_pattern_len(), 33);
    }

    /// User space's URI decoding (percent escapes, then backslashes as
    /// slashes, then empty segments `//` and `/./` folded), applied to a
    /// whole request for reference.
    fn decoded(raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        sensor_proto::http::percent_decode(raw, &mut out);
        for b in &mut out {
            if *b == b'\\' {
                *b = b'/';
            }
        }
        loop {
            let folded = fold_once(&out);
            if folded == out {
                return out;
            }
            out = folded;
        }
    }

    /// `//` to `/` and `/./` to `/`, left to right, once.
    fn fold_once(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            if s[i..].starts_with(b"//") {
                i += 1;
            } else if s[i..].starts_with(b"/./") {
                i += 2;
            } else {
                out.push(s[i]);
                i += 1;
            }
        }
        out
    }

    /// Random requests spelling random bytes of a pattern in every way:
    /// the automaton finds the pattern exactly when the decoded request
    /// contains it.
    #[test]
    fn uri_patterns_agree_with_decoding() {
        let pattern = b"/a%B/";
        let dfa = CompiledDfa::compile(&[Pattern::new(&pattern[..], 1).in_decoded_uri()]).unwrap();
        let spellings = |b: u8| -> Vec<Vec<u8>> {
            let mut out = vec![
                vec![b],
                format!("%{b:02x}").into_bytes(),
                format!("%{b:02X}").into_bytes(),
            ];
            if b == b'/' {
                out.push(b"\\".to_vec());
                out.push(b"%5c".to_vec());
            }
            out
        };
        let alphabet: &[&[u8]] = &[
            b"/", b"a", b"%", b"B", b"b", b"2", b"5", b"%25", b"\\", b"x", b".", b"%2e",
        ];
        // Empty segments user space folds away, inserted after a slash.
        let empty: &[&[u8]] = &[b"/", b"./", b"%2E/", b".%2f", b"\\", b".\\"];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut found = 0;
        for _ in 0..20_000 {
            let mut raw = Vec::new();
            for _ in 0..next(4) {
                raw.extend_from_slice(alphabet[next(alphabet.len())]);
            }
            if next(2) == 0 {
                for &b in pattern {
                    let s = spellings(b);
                    raw.extend_from_slice(&s[next(s.len())]);
                    if b == b'/' {
                        for _ in 0..next(3) {
                            raw.extend_from_slice(empty[next(empty.len())]);
                        }
                    }
                }
            }
            for _ in 0..next(4) {
                raw.extend_from_slice(alphabet[next(alphabet.len())]);
            }
            let expected = decoded(&raw).windows(pattern.len()).any(|w| w == pattern);
            assert_eq!(
                dfa.find(&raw).is_some(),
                expected,
                "{}",
                String::from_utf8_lossy(&raw)
            );
            found += usize::from(expected);
        }
        assert!(found > 5_000, "{found} requests held the pattern");
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
