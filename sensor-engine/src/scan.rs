//! Multi-literal scanners: report every (case-insensitive) occurrence of
//! any of a set of literals in a haystack, overlapping ones included.
//!
//! Overlapping Aho-Corasick search measured at about 2 ns per byte plus
//! 30-40 ns per call even as a DFA, and worse for large automata (a cache
//! miss per byte); an HTTP transaction is a dozen short buffers. So the
//! default is a hashed 4-gram filter (in the spirit of Hyperscan's FDR):
//! every literal of 4 bytes or more is keyed by its least shared 4 bytes,
//! case-folded; each haystack position hashes its 4 bytes into a bitmap
//! that fits in L2 and, only when the bit is set, compares the literals of
//! that bucket. Sets with literals shorter than 4 bytes use an Aho-Corasick
//! DFA when small, or the filter plus a DFA for the short ones.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::error::{BuildError, BuildErrorKind};

/// Sets with short literals and more patterns than this use the gram
/// filter plus a DFA for the short ones.
pub(crate) const MAX_AC_PATTERNS: usize = 256;

const GRAM: usize = 4;
const FOLD: u32 = 0x2020_2020;
const MUL: u32 = 0x9E37_79B1;

/// A compiled literal set.
#[derive(Debug)]
pub(crate) enum Scanner {
    Ac(AhoCorasick),
    Grams(Box<Grams>),
}

#[derive(Debug)]
pub(crate) struct Grams {
    /// Bitmap over the top `bit_bits` bits of the gram hash.
    bits: Box<[u64]>,
    bit_shift: u32,
    /// Entries of bucket `b` are `entries[offsets[b]..offsets[b + 1]]`.
    offsets: Box<[u32]>,
    bucket_shift: u32,
    entries: Box<[Entry]>,
    /// Literal bytes (lowercase), referenced by entries.
    arena: Box<[u8]>,
    /// Literals shorter than a gram, with their pattern indices.
    short: Option<(AhoCorasick, Box<[u32]>)>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    gram: u32,
    /// Where the gram sits in the literal.
    gram_at: u32,
    pattern: u32,
    offset: u32,
    len: u32,
}

#[inline(always)]
fn fold_gram(b: &[u8]) -> u32 {
    let four: [u8; 4] = b[..GRAM].try_into().expect("a gram");
    u32::from_le_bytes(four) | FOLD
}

fn ac(patterns: &[&[u8]]) -> Result<AhoCorasick, BuildError> {
    AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::DFA))
        .build(patterns)
        .map_err(|e| BuildError::new(BuildErrorKind::Automaton, format!("automaton: {e}")))
}

impl Scanner {
    /// Compiles lowercase, non-empty literals; pattern indices are their
    /// positions in `patterns`.
    pub(crate) fn new(patterns: &[&[u8]], force_grams: bool) -> Result<Scanner, BuildError> {
        let has_short = patterns.iter().any(|p| p.len() < GRAM);
        if has_short && patterns.len() <= MAX_AC_PATTERNS && !force_grams {
            return Ok(Scanner::Ac(ac(patterns)?));
        }
        let long: Vec<usize> = (0..patterns.len())
            .filter(|&i| patterns[i].len() >= GRAM)
            .collect();
        let short_ids: Vec<u32> = (0..patterns.len())
            .filter(|&i| patterns[i].len() < GRAM)
            .map(|i| i as u32)
            .collect();
        let short = if short_ids.is_empty() {
            None
        } else {
            let pats: Vec<&[u8]> = short_ids.iter().map(|&i| patterns[i as usize]).collect();
            Some((ac(&pats)?, short_ids.into()))
        };
        // About 16 bits per literal, at most 32 KiB: the bitmaps of all the
        // buffers of a transaction should stay in L2.
        let bit_bits = (long.len().max(1) * 16)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(12, 18);
        let bucket_bits = (long.len().max(1) * 2)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(4, 16);
        let mut bits = vec![0u64; 1 << (bit_bits - 6)];
        let mut arena = Vec::new();
        let mut entries: Vec<(u32, Entry)> = Vec::with_capacity(long.len());
        // Key each literal by its least shared 4-gram: many literals share
        // a prefix ("User-Agent: ", "/wp-content/"), and a gram every
        // transaction contains must not lead to hundreds of comparisons.
        let mut gram_count: std::collections::HashMap<u32, u32> = Default::default();
        for &i in &long {
            let mut seen: Vec<u32> = patterns[i].windows(GRAM).map(fold_gram).collect();
            seen.sort_unstable();
            seen.dedup();
            for g in seen {
                *gram_count.entry(g).or_default() += 1;
            }
        }
        for &i in &long {
            let p = patterns[i];
            let (gram_at, gram) = p
                .windows(GRAM)
                .map(fold_gram)
                .enumerate()
                .min_by_key(|&(_, g)| gram_count[&g])
                .expect("literal of at least a gram");
            let h = gram.wrapping_mul(MUL);
            let bit = h >> (32 - bit_bits);
            bits[(bit >> 6) as usize] |= 1 << (bit & 63);
            entries.push((
                h >> (32 - bucket_bits),
                Entry {
                    gram,
                    gram_at: gram_at as u32,
                    pattern: i as u32,
                    offset: arena.len() as u32,
                    len: p.len() as u32,
                },
            ));
            arena.extend_from_slice(p);
        }
        entries.sort_by_key(|(b, _)| *b);
        let mut offsets = vec![0u32; (1 << bucket_bits) + 1];
        for (b, _) in &entries {
            offsets[*b as usize + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        Ok(Scanner::Grams(Box::new(Grams {
            bits: bits.into(),
            bit_shift: 32 - bit_bits,
            offsets: offsets.into(),
            bucket_shift: 32 - bucket_bits,
            entries: entries.into_iter().map(|(_, e)| e).collect(),
            arena: arena.into(),
            short,
        })))
    }

    /// Whether this is an Aho-Corasick DFA.
    pub(crate) fn is_dfa(&self) -> bool {
        matches!(self, Scanner::Ac(_))
    }

    /// Heap bytes.
    pub(crate) fn memory_usage(&self) -> usize {
        match self {
            Scanner::Ac(a) => a.memory_usage(),
            Scanner::Grams(g) => {
                g.bits.len() * 8
                    + g.offsets.len() * 4
                    + g.entries.len() * std::mem::size_of::<Entry>()
                    + g.arena.len()
                    + g.short
                        .as_ref()
                        .map_or(0, |(a, ids)| a.memory_usage() + ids.len() * 4)
            }
        }
    }

    /// Calls `f` with the pattern index of every occurrence (some
    /// occurrences of the same pattern may be reported more than once).
    #[inline]
    pub(crate) fn for_each(&self, hay: &[u8], mut f: impl FnMut(usize)) {
        match self {
            Scanner::Ac(a) => {
                for m in a.find_overlapping_iter(hay) {
                    f(m.pattern().as_usize());
                }
            }
            Scanner::Grams(g) => {
                // Locals, so that the loop keeps them in registers.
                let bits: &[u64] = &g.bits;
                let word_mask = bits.len() - 1;
                let bit_shift = g.bit_shift;
                for (i, w) in hay.windows(GRAM).enumerate() {
                    let gram = fold_gram(w);
                    let h = gram.wrapping_mul(MUL);
                    let bit = h >> bit_shift;
                    if bits[(bit >> 6) as usize & word_mask] & (1 << (bit & 63)) == 0 {
                        continue;
                    }
                    let b = (h >> g.bucket_shift) as usize;
                    let (lo, hi) = (g.offsets[b] as usize, g.offsets[b + 1] as usize);
                    for e in &g.entries[lo..hi] {
                        if e.gram != gram {
                            continue;
                        }
                        let (off, len) = (e.offset as usize, e.len as usize);
                        let Some(start) = i.checked_sub(e.gram_at as usize) else {
                            continue;
                        };
                        if let Some(cand) = hay.get(start..start + len)
                            && cand.eq_ignore_ascii_case(&g.arena[off..off + len])
                        {
                            f(e.pattern as usize);
                        }
                    }
                }
                if let Some((a, ids)) = &g.short {
                    for m in a.find_overlapping_iter(hay) {
                        f(ids[m.pattern().as_usize()] as usize);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gram filter reports exactly what a naive search finds.
    #[test]
    fn grams_equal_naive_search() {
        let pats: Vec<Vec<u8>> = [
            "abcd",
            "bcde",
            "ab",
            "x",
            "hello world",
            "abcdabcd",
            "zzzz",
            "/admin",
            "php",
            "@abc",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let refs: Vec<&[u8]> = pats.iter().map(Vec::as_slice).collect();
        let scanner = Scanner::new(&refs, true).unwrap();
        let hays: &[&[u8]] = &[
            b"xxABCDabcdE",
            b"HELLO WORLD",
            b"/Admin.PHP",
            b"",
            b"abc",
            b"`ABC",
            b"zzz",
        ];
        for hay in hays {
            let mut got = std::collections::BTreeSet::new();
            scanner.for_each(hay, |p| {
                got.insert(p);
            });
            let want: std::collections::BTreeSet<usize> = (0..pats.len())
                .filter(|&p| {
                    hay.windows(pats[p].len())
                        .any(|w| w.eq_ignore_ascii_case(&pats[p]))
                })
                .collect();
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(hay));
        }
    }
}
