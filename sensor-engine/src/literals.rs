//! Choosing what the prefilter looks for: for each rule, a set of
//! (buffer, literal) needles such that the rule can only match if one of
//! them occurs in its buffer. One fast pattern per rule when it has a
//! content (the one marked `fast_pattern`, in whichever buffer, else the
//! rarest long one); literals a regex requires when it has none;
//! alternatives for `or`. A rule whose literals are all short, or that has
//! none, may still require one at the start or end of a buffer
//! ([`anchors`]); otherwise it is checked always.

use std::collections::HashMap;

use regex_syntax::hir::{Class, Hir, HirKind};
use sensor_rules::ir::{BufferItem, BufferMatch, Expr, FastPattern, NumCmp, Predicate};

use crate::input::BufferId;
use crate::target::Target;

/// A prefilter scan: a single buffer, or each instance of a repeated one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScanSlot {
    /// A single buffer.
    Single(BufferId),
    /// Each header name.
    HeaderName,
    /// Each header value.
    HeaderValue,
    /// Each ALPN protocol.
    Alpn,
}

impl ScanSlot {
    /// Number of slots.
    pub const COUNT: usize = BufferId::COUNT + 3;

    /// A dense index.
    pub fn index(self) -> usize {
        match self {
            ScanSlot::Single(b) => b.index(),
            ScanSlot::HeaderName => BufferId::COUNT,
            ScanSlot::HeaderValue => BufferId::COUNT + 1,
            ScanSlot::Alpn => BufferId::COUNT + 2,
        }
    }

    /// The slot at a dense index.
    pub fn from_index(i: usize) -> ScanSlot {
        match i.checked_sub(BufferId::COUNT) {
            None => ScanSlot::Single(BufferId::ALL[i]),
            Some(0) => ScanSlot::HeaderName,
            Some(1) => ScanSlot::HeaderValue,
            _ => ScanSlot::Alpn,
        }
    }

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            ScanSlot::Single(b) => b.name(),
            ScanSlot::HeaderName => "http.header.name",
            ScanSlot::HeaderValue => "http.header.value",
            ScanSlot::Alpn => "tls.alpn",
        }
    }

    fn of(target: &Target) -> ScanSlot {
        match target {
            Target::Single(b) => ScanSlot::Single(*b),
            Target::HeaderName => ScanSlot::HeaderName,
            // A named header's value is one of the header values.
            Target::HeaderValue | Target::HeaderNamed(_) => ScanSlot::HeaderValue,
            Target::Alpn => ScanSlot::Alpn,
        }
    }
}

/// A literal to look for (lowercase: the automata are ASCII
/// case-insensitive, which only adds candidates, never loses one).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Needle {
    pub(crate) slot: ScanSlot,
    pub(crate) lit: Vec<u8>,
}

/// Most alternatives a regex may contribute before it is checked always.
const MAX_ALTERNATIVES: usize = 64;

/// How good a needle set is: its shortest literal, then fewer alternatives.
fn score(set: &[Needle]) -> (usize, std::cmp::Reverse<usize>) {
    let min = set.iter().map(|n| n.lit.len()).min().unwrap_or(0);
    (min, std::cmp::Reverse(set.len()))
}

/// How many rules of the ruleset use each (buffer, literal) as a content:
/// a literal many rules share is probably common in traffic too, so a
/// poor fast pattern.
#[derive(Debug, Default)]
pub(crate) struct Frequencies {
    counts: HashMap<(ScanSlot, Vec<u8>), u32>,
}

impl Frequencies {
    /// Counts the contents of one rule.
    pub(crate) fn add(&mut self, e: &Expr) {
        e.for_each_predicate(&mut |p| {
            if let Predicate::Buffer(b) = p {
                let slot = ScanSlot::of(&Target::of(&b.buffer));
                for c in b.contents().filter(|c| !c.negated && !c.pattern.is_empty()) {
                    *self
                        .counts
                        .entry((slot, c.pattern.to_ascii_lowercase()))
                        .or_default() += 1;
                }
            }
        });
    }

    fn get(&self, slot: ScanSlot, lit: &[u8]) -> u32 {
        self.counts
            .get(&(slot, lit.to_ascii_lowercase()))
            .copied()
            .unwrap_or(0)
    }
}

/// Literals at least this long are "long enough"; among them the rarest
/// wins. Shorter ones are only used when nothing longer exists.
const GOOD_LENGTH: usize = 4;

/// Preference order of a candidate fast pattern (greater is better).
fn preference(len: usize, freq: u32) -> (bool, std::cmp::Reverse<u32>, usize) {
    if len >= GOOD_LENGTH {
        (true, std::cmp::Reverse(freq), len)
    } else {
        (false, std::cmp::Reverse(0), len)
    }
}

/// The needles of a rule condition, each at least `min_len` bytes long;
/// `None` means "checked always".
pub(crate) fn of_expr(e: &Expr, freq: &Frequencies, min_len: usize) -> Option<Vec<Needle>> {
    marked(e, freq, min_len).map(|(set, _)| set)
}

/// [`of_expr`], and whether the set is a content the rule marked
/// `fast_pattern`: in a conjunction, that one wins over every guess (ET
/// marks `fast_pattern` on a 2-byte `;"` in `http.user_agent` rather than
/// the rule's `GET` method, which nearly every request has).
fn marked(e: &Expr, freq: &Frequencies, min_len: usize) -> Option<(Vec<Needle>, bool)> {
    match e {
        Expr::And(v) => v
            .iter()
            .filter_map(|e| marked(e, freq, min_len))
            .max_by_key(|(s, m)| (*m, set_preference(s, freq))),
        Expr::Or(v) => {
            let mut all = Vec::new();
            for e in v {
                all.extend(marked(e, freq, min_len)?.0);
            }
            dedup(&mut all);
            Some((all, false))
        }
        Expr::Predicate(Predicate::Buffer(b)) => of_buffer(b, freq, min_len)
            .filter(|(set, _)| set.iter().all(|n| n.lit.len() >= min_len)),
        Expr::True | Expr::Not(_) | Expr::Predicate(Predicate::Field(_)) => None,
    }
}

fn set_preference(set: &[Needle], freq: &Frequencies) -> (bool, std::cmp::Reverse<u32>, usize) {
    if let [one] = set {
        return preference(one.lit.len(), freq.get(one.slot, &one.lit));
    }
    // Alternatives: as good as the worst, and worse than a single needle
    // of the same length.
    let (min, _) = score(set);
    (false, std::cmp::Reverse(0), min.min(GOOD_LENGTH - 1))
}

/// A literal the condition requires at the start (or end) of a single
/// buffer: a positive content with `startswith` (or `offset:0; depth:`
/// its length), or `endswith`; or the whole buffer: a content as long as
/// the buffer's `bsize:N`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Anchor {
    pub(crate) buffer: BufferId,
    /// At the end (else at the start).
    pub(crate) end: bool,
    /// Lowercase.
    pub(crate) lit: Vec<u8>,
    /// The literal is the whole buffer (`bsize` equal to its length).
    pub(crate) exact: bool,
}

impl Anchor {
    /// Whether `n` can only occur where this whole-buffer literal does
    /// (it is within the literal, in the same buffer).
    pub(crate) fn covers(&self, n: &Needle) -> bool {
        self.exact
            && n.slot == ScanSlot::Single(self.buffer)
            && !n.lit.is_empty()
            && self.lit.windows(n.lit.len()).any(|w| w == n.lit.as_slice())
    }
}

/// The [`Anchor`]s of a condition. ET has hundreds of rules whose
/// contents are all short (one- to three-character user agents,
/// `depth:2; endswith;`; top-level domains, `".ru"; endswith;`): as
/// scanned literals they slow every scan of their buffer and hit often;
/// compared at one place they cost a table lookup. And a content as long
/// as its buffer's `bsize:N` (`"Mozilla"; bsize:7` in `http.user_agent`)
/// is found at the cost of a length comparison, where as a fast pattern it
/// hits on nearly every request.
pub(crate) fn anchors(e: &Expr) -> Vec<Anchor> {
    let mut v = Vec::new();
    push_anchors(e, &mut v);
    v
}

fn push_anchors(e: &Expr, out: &mut Vec<Anchor>) {
    match e {
        Expr::And(v) => v.iter().for_each(|e| push_anchors(e, out)),
        Expr::Predicate(Predicate::Buffer(b)) => {
            let Target::Single(buffer) = Target::of(&b.buffer) else {
                return;
            };
            // `bsize:N` (there may be several; each must hold).
            let sizes: Vec<u64> = b
                .items
                .iter()
                .filter_map(|i| match i {
                    BufferItem::Bsize(NumCmp::Eq(n)) => Some(*n),
                    _ => None,
                })
                .collect();
            for c in b.contents().filter(|c| !c.negated && !c.pattern.is_empty()) {
                let at_start = c.startswith
                    || (!c.is_relative()
                        && c.offset.unwrap_or(0) == 0
                        && c.depth == Some(c.pattern.len() as u32));
                // A content as long as the buffer can only be all of it;
                // so can one at both its start and its end (ET's
                // `"Firefox"; depth:7; endswith;` user agent, whose needle
                // `firefox` hit every Firefox request).
                let exact = sizes.contains(&(c.pattern.len() as u64)) || (at_start && c.endswith);
                let start = exact || at_start;
                if start || c.endswith {
                    out.push(Anchor {
                        buffer,
                        end: !start,
                        lit: c.pattern.to_ascii_lowercase(),
                        exact,
                    });
                }
            }
        }
        _ => {}
    }
}

/// Every literal that must occur for the condition to hold (positive
/// contents of required buffer matches, at least `min_len` long): the
/// engine confirms them all, from the automata's hits, before running a
/// candidate's exact checks.
pub(crate) fn required_literals(e: &Expr, min_len: usize) -> Vec<Needle> {
    let mut v = Vec::new();
    for b in e.required_buffer_matches() {
        let slot = ScanSlot::of(&Target::of(&b.buffer));
        for c in b
            .contents()
            .filter(|c| !c.negated && c.pattern.len() >= min_len)
        {
            v.push(Needle {
                slot,
                lit: c.pattern.to_ascii_lowercase(),
            });
        }
    }
    dedup(&mut v);
    v
}

fn dedup(v: &mut Vec<Needle>) {
    v.sort_by(|a, b| (a.slot, &a.lit).cmp(&(b.slot, &b.lit)));
    v.dedup();
}

fn of_buffer(b: &BufferMatch, freq: &Frequencies, min_len: usize) -> Option<(Vec<Needle>, bool)> {
    let slot = ScanSlot::of(&Target::of(&b.buffer));
    let mut best: Option<&[u8]> = None;
    let mut explicit = false;
    for item in &b.items {
        let BufferItem::Content(c) = item else {
            continue;
        };
        if c.negated || c.pattern.is_empty() {
            continue;
        }
        let bytes: &[u8] = match c.fast_pattern {
            Some(FastPattern::Chop { offset, length }) => {
                let start = usize::from(offset).min(c.pattern.len());
                let end = (start + usize::from(length)).min(c.pattern.len());
                if start == end {
                    &c.pattern
                } else {
                    &c.pattern[start..end]
                }
            }
            _ => &c.pattern,
        };
        if c.fast_pattern.is_some() && bytes.len() >= min_len {
            best = Some(bytes);
            explicit = true;
            break;
        }
        let pref = |b: &[u8]| preference(b.len(), freq.get(slot, b));
        if best.is_none_or(|b| pref(bytes) > pref(b)) {
            best = Some(bytes);
        }
    }
    if let Some(lit) = best {
        return Some((
            vec![Needle {
                slot,
                lit: lit.to_ascii_lowercase(),
            }],
            explicit,
        ));
    }
    // No content: literals a positive regex requires.
    b.items
        .iter()
        .filter_map(|item| match item {
            BufferItem::Pcre(p) if !p.negated => crate::regexes::parse(p).ok(),
            _ => None,
        })
        .filter_map(|hir| required(&hir))
        .map(|lits| {
            let mut v: Vec<Needle> = lits
                .into_iter()
                .map(|lit| Needle {
                    slot,
                    lit: lit.to_ascii_lowercase(),
                })
                .collect();
            dedup(&mut v);
            v
        })
        .max_by_key(|s| score(s))
        .map(|set| (set, false))
}

/// A single byte, ignoring ASCII case, if the class is exactly that.
fn class_byte(c: &Class) -> Option<u8> {
    let Class::Bytes(b) = c else {
        return None;
    };
    match b.ranges() {
        [r] if r.start() == r.end() => Some(r.start()),
        [a, b]
            if a.start() == a.end()
                && b.start() == b.end()
                && a.start().is_ascii_uppercase()
                && a.start().to_ascii_lowercase() == b.start() =>
        {
            Some(b.start())
        }
        _ => None,
    }
}

/// The exact (case-insensitive) string `h` matches, if it matches only one.
fn exact(h: &Hir) -> Option<Vec<u8>> {
    match h.kind() {
        HirKind::Literal(l) => Some(l.0.to_vec()),
        HirKind::Class(c) => class_byte(c).map(|b| vec![b]),
        HirKind::Capture(c) => exact(&c.sub),
        HirKind::Concat(subs) => {
            let mut out = Vec::new();
            for s in subs {
                out.extend(exact(s)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// Literals one of which every match of `h` contains; `None` when there is
/// no useful such set.
pub(crate) fn required(h: &Hir) -> Option<Vec<Vec<u8>>> {
    let set = match h.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(_) | HirKind::Class(_) => exact(h).map(|e| vec![e]),
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub),
        HirKind::Repetition(_) => None,
        HirKind::Alternation(subs) => {
            let mut all = Vec::new();
            for s in subs {
                all.extend(required(s)?);
                if all.len() > MAX_ALTERNATIVES {
                    return None;
                }
            }
            Some(all)
        }
        HirKind::Concat(subs) => {
            let key = |s: &Vec<Vec<u8>>| {
                (
                    s.iter().map(Vec::len).min().unwrap_or(0),
                    std::cmp::Reverse(s.len()),
                )
            };
            let mut best: Option<Vec<Vec<u8>>> = None;
            let mut consider = |cand: Vec<Vec<u8>>| {
                if best.as_ref().is_none_or(|b| key(&cand) > key(b)) {
                    best = Some(cand);
                }
            };
            let mut run = Vec::new();
            for s in subs {
                match exact(s) {
                    Some(e) => run.extend(e),
                    None => {
                        if !run.is_empty() {
                            consider(vec![std::mem::take(&mut run)]);
                        }
                        if let Some(r) = required(s) {
                            consider(r);
                        }
                    }
                }
            }
            if !run.is_empty() {
                consider(vec![run]);
            }
            best
        }
    }?;
    (!set.is_empty() && set.iter().all(|l| !l.is_empty())).then_some(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensor_rules::ir::PcreFlags;
    use sensor_rules::regex::parse_pcre;

    fn lits(re: &str, caseless: bool) -> Option<Vec<Vec<u8>>> {
        let flags = PcreFlags {
            caseless,
            ..PcreFlags::default()
        };
        required(&parse_pcre(re, flags).unwrap()).map(|v| {
            let mut v: Vec<Vec<u8>> = v.into_iter().map(|l| l.to_ascii_lowercase()).collect();
            v.sort();
            v
        })
    }

    #[test]
    fn regex_literals() {
        let cases: &[(&str, bool, Option<&[&str]>)] = &[
            (r"^/foo\.php\?id=\d+", false, Some(&["/foo.php?id="])),
            (r"\w+AdminPanel\d", true, Some(&["adminpanel"])),
            (
                r"(sqlmap|nikto|masscan)",
                true,
                Some(&["masscan", "nikto", "sqlmap"]),
            ),
            (r"a*b?", false, None),
            (r"[a-z]{5}\.exe$", false, Some(&[".exe"])),
            (r"(ab)?cd", false, Some(&["cd"])),
            (r"x(abc)+y", false, Some(&["abc"])),
        ];
        for (re, ci, want) in cases {
            let want = want.map(|w| w.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>());
            assert_eq!(lits(re, *ci), want, "{re}");
        }
    }
}
