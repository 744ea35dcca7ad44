//! Exact checks of one buffer's match chain: contents with their position
//! constraints, regexes, `isdataat` and `bsize`, with Suricata's
//! backtracking over earlier matches for relative items.
//!
//! The semantics (shared with [`crate::reference`], which implements them
//! naively): a positive content or regex is found at some occurrence inside
//! its window and sets the "previous match end" for the items after it;
//! relative items place their window from that end. A chain matches if
//! some choice of occurrences satisfies every item. The search only
//! retries an item's later occurrences when a later item depends on its
//! position, as Suricata does.

use memchr::memmem;
use sensor_rules::ir::{BufferItem, BufferMatch, Content, NumCmp, Quantifier};

use crate::error::BuildError;
use crate::regexes::{RegexCaches, RegexId, Regexes};
use crate::target::Target;

/// Where a content may occur: starts at or after `lo`, ends at or before
/// `hi`. `None` when no position fits.
///
/// `relative` windows start at `prev_end + distance` (clamped at 0) and end
/// `within` bytes after that start; absolute windows are
/// `[offset, offset + depth)`.
pub(crate) fn window(c: &Content, prev_end: usize, len: usize) -> Option<(usize, usize)> {
    let (lo, hi) = if c.is_relative() {
        let base = prev_end as i64 + i64::from(c.distance.unwrap_or(0));
        let hi = c.within.map_or(len as i64, |w| base + i64::from(w));
        (base.max(0), hi)
    } else {
        let lo = i64::from(c.offset.unwrap_or(0));
        let hi = c.depth.map_or(len as i64, |d| lo + i64::from(d));
        (lo, hi)
    };
    let hi = hi.min(len as i64);
    if c.startswith && lo > 0 {
        return None;
    }
    let hi = if c.startswith {
        hi.min(c.pattern.len() as i64)
    } else {
        hi
    };
    (lo <= hi).then_some((lo as usize, hi as usize))
}

/// A content, ready to search.
#[derive(Debug)]
pub(crate) struct CContent {
    ir: Content,
    /// Lowercase when `nocase`.
    pat: Box<[u8]>,
    finder: Option<memmem::Finder<'static>>,
}

impl CContent {
    fn new(c: &Content) -> Self {
        let pat: Box<[u8]> = if c.nocase {
            c.pattern.to_ascii_lowercase().into()
        } else {
            c.pattern.clone().into()
        };
        let finder = (!c.nocase).then(|| memmem::Finder::new(&c.pattern).into_owned());
        CContent {
            ir: c.clone(),
            pat,
            finder,
        }
    }

    /// First start `s >= lo` with the pattern inside `hay[lo..hi]`.
    fn find(&self, hay: &[u8], lo: usize, hi: usize) -> Option<usize> {
        let m = self.pat.len();
        if hi < lo || hi - lo < m {
            return None;
        }
        let region = &hay[lo..hi];
        if self.ir.endswith {
            let s = hi - m;
            return (hi == hay.len() && self.eq_at(hay, s)).then_some(s);
        }
        if m == 0 {
            return Some(lo);
        }
        match &self.finder {
            Some(f) => f.find(region).map(|i| lo + i),
            None => {
                let first = self.pat[0];
                let upper = first.to_ascii_uppercase();
                memchr::memchr2_iter(first, upper, &region[..region.len() - m + 1])
                    .find(|&i| crate::fold::eq_ignore_case(&region[i..i + m], &self.pat))
                    .map(|i| lo + i)
            }
        }
    }

    fn eq_at(&self, hay: &[u8], s: usize) -> bool {
        let cand = &hay[s..s + self.pat.len()];
        if self.ir.nocase {
            crate::fold::eq_ignore_case(cand, &self.pat)
        } else {
            cand == &*self.pat
        }
    }
}

/// One compiled step of a chain.
#[derive(Debug)]
pub(crate) enum CItem {
    Content(Box<CContent>),
    Pcre {
        id: RegexId,
        relative: bool,
        negated: bool,
    },
    IsDataAt {
        position: u32,
        relative: bool,
        negated: bool,
    },
    Bsize(NumCmp),
}

impl CItem {
    fn is_relative(&self) -> bool {
        match self {
            CItem::Content(c) => c.ir.is_relative(),
            CItem::Pcre { relative, .. } | CItem::IsDataAt { relative, .. } => *relative,
            CItem::Bsize(_) => false,
        }
    }

    /// Whether a match of this item moves the "previous match end".
    fn sets_position(&self) -> bool {
        match self {
            CItem::Content(c) => !c.ir.negated,
            CItem::Pcre { negated, .. } => !negated,
            _ => false,
        }
    }
}

/// A compiled [`BufferMatch`].
#[derive(Debug)]
pub(crate) struct CBufferMatch {
    pub(crate) target: Target,
    quantifier: Quantifier,
    items: Box<[CItem]>,
    /// `backtrack[i]`: a later item depends on where item `i` matched, so
    /// its later occurrences must be tried when the rest fails.
    backtrack: Box<[bool]>,
}

impl CBufferMatch {
    pub(crate) fn compile(b: &BufferMatch, regexes: &mut Regexes) -> Result<Self, BuildError> {
        let mut items = Vec::with_capacity(b.items.len());
        for item in &b.items {
            items.push(match item {
                BufferItem::Content(c) => CItem::Content(Box::new(CContent::new(c))),
                BufferItem::Pcre(p) => CItem::Pcre {
                    id: regexes.add(p)?.0,
                    relative: p.relative,
                    negated: p.negated,
                },
                BufferItem::IsDataAt(d) => CItem::IsDataAt {
                    position: d.position,
                    relative: d.relative,
                    negated: d.negated,
                },
                BufferItem::Bsize(n) => CItem::Bsize(*n),
            });
        }
        let backtrack = (0..items.len())
            .map(|i| {
                for later in &items[i + 1..] {
                    if later.is_relative() {
                        return true;
                    }
                    if later.sets_position() {
                        return false;
                    }
                }
                false
            })
            .collect();
        Ok(CBufferMatch {
            target: Target::of(&b.buffer),
            quantifier: b.quantifier,
            items: items.into(),
            backtrack,
        })
    }

    /// Evaluates the chain on the input's instances of the buffer.
    pub(crate) fn eval<I: crate::Input + ?Sized>(
        &self,
        input: &I,
        regexes: &Regexes,
        caches: &mut RegexCaches,
    ) -> bool {
        self.target.eval(input, self.quantifier, |hay| {
            self.matches(hay, regexes, caches)
        })
    }

    /// Whether the chain matches one buffer instance.
    pub(crate) fn matches(&self, hay: &[u8], regexes: &Regexes, caches: &mut RegexCaches) -> bool {
        let mut ctx = Ctx {
            items: &self.items,
            backtrack: &self.backtrack,
            hay,
            regexes,
            caches,
        };
        ctx.step(0, 0)
    }
}

struct Ctx<'a> {
    items: &'a [CItem],
    backtrack: &'a [bool],
    hay: &'a [u8],
    regexes: &'a Regexes,
    caches: &'a mut RegexCaches,
}

impl Ctx<'_> {
    fn step(&mut self, i: usize, prev_end: usize) -> bool {
        let Some(item) = self.items.get(i) else {
            return true;
        };
        let hay = self.hay;
        let len = hay.len();
        match item {
            CItem::Content(c) => {
                let Some((lo, hi)) = window(&c.ir, prev_end, len) else {
                    return c.ir.negated && self.step(i + 1, prev_end);
                };
                if c.ir.negated {
                    return c.find(hay, lo, hi).is_none() && self.step(i + 1, prev_end);
                }
                let m = c.pat.len();
                let mut from = lo;
                while let Some(s) = c.find(hay, from, hi) {
                    if self.step(i + 1, s + m) {
                        return true;
                    }
                    if !self.backtrack[i] {
                        return false;
                    }
                    from = s + 1;
                }
                false
            }
            &CItem::Pcre {
                id,
                relative,
                negated,
            } => {
                let base = if relative { prev_end } else { 0 };
                if base > len {
                    return negated && self.step(i + 1, prev_end);
                }
                let sub = &hay[base..];
                if negated {
                    return self.caches.find(self.regexes, id, sub, 0).is_none()
                        && self.step(i + 1, prev_end);
                }
                let mut from = 0;
                while from <= sub.len() {
                    let Some((s, e)) = self.caches.find(self.regexes, id, sub, from) else {
                        return false;
                    };
                    if self.step(i + 1, base + e) {
                        return true;
                    }
                    if !self.backtrack[i] {
                        return false;
                    }
                    from = s + 1;
                }
                false
            }
            &CItem::IsDataAt {
                position,
                relative,
                negated,
            } => {
                let at = if relative { prev_end } else { 0 } + position as usize;
                (at < len) != negated && self.step(i + 1, prev_end)
            }
            CItem::Bsize(cmp) => cmp.eval(len as u64) && self.step(i + 1, prev_end),
        }
    }
}
