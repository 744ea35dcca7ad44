//! The reference evaluator: every rule checked against an input directly
//! from its IR, with no grouping, no prefilter and naive searches. Slow and
//! simple on purpose: the differential tests hold the engine to it.

use regex_automata::meta::Regex;
use sensor_rules::ir::{BufferItem, BufferMatch, Content, Expr, Predicate, Rule};

use crate::applies::{self, Transport, direction_ok, state_ok, transport_ok};
use crate::error::BuildError;
use crate::input::Input;
use crate::target::Target;

/// Rules with their regexes compiled, checked one by one.
///
/// ```
/// use sensor_engine::reference::Reference;
/// use sensor_rules::{LoadOptions, RuleSet};
/// let text = r#"alert tcp any any -> any any (msg:"x"; content:"abc"; sid:7;)"#;
/// let (set, _) = RuleSet::load_str("t.rules", text, &LoadOptions::default());
/// let reference = Reference::new(set.into_rules()).unwrap();
/// assert_eq!(reference.len(), 1);
/// ```
#[derive(Debug)]
pub struct Reference {
    rules: Vec<(Rule, Vec<Regex>)>,
}

impl Reference {
    /// Compiles the rules' regexes (in chain order, per rule).
    pub fn new(rules: Vec<Rule>) -> Result<Self, BuildError> {
        let mut out = Vec::with_capacity(rules.len());
        for rule in rules {
            let mut regexes = Vec::new();
            let mut err = None;
            rule.condition.for_each_predicate(&mut |p| {
                if let Predicate::Buffer(b) = p {
                    for p in b.pcres() {
                        match crate::regexes::parse(p).and_then(|h| {
                            crate::regexes::compile(&h).map_err(|e| {
                                BuildError::new(crate::error::BuildErrorKind::Regex, e)
                            })
                        }) {
                            Ok(r) => regexes.push(r),
                            Err(e) => err = Some(e.for_rule(rule.gid, rule.sid)),
                        }
                    }
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
            out.push((rule, regexes));
        }
        Ok(Reference { rules: out })
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Indices of the rules whose header, flow and condition match.
    pub fn matching_rules<I: Input + ?Sized>(&self, input: &I) -> Vec<u32> {
        let m = input.meta();
        let mut out = Vec::new();
        for (i, (rule, regexes)) in self.rules.iter().enumerate() {
            let ok = applies::kinds(rule)[m.kind.index()]
                && transport_ok(rule.header.protocol, Transport::of(m.ip_proto))
                && direction_ok(rule.flow.direction, m.direction)
                && state_ok(rule.flow.state, m.established)
                && applies::CHeader::new(rule).check(m)
                && eval(&rule.condition, input, &mut regexes.iter());
            if ok {
                out.push(i as u32);
            }
        }
        out
    }
}

fn eval<'r, I: Input + ?Sized>(
    e: &Expr,
    input: &I,
    regexes: &mut impl Iterator<Item = &'r Regex>,
) -> bool {
    // Evaluate every operand (no short cut) so that the regex iterator
    // stays in step with the predicates.
    match e {
        Expr::True => true,
        Expr::And(v) => v.iter().fold(true, |acc, e| eval(e, input, regexes) & acc),
        Expr::Or(v) => v.iter().fold(false, |acc, e| eval(e, input, regexes) | acc),
        Expr::Not(e) => !eval(e, input, regexes),
        Expr::Predicate(Predicate::Field(f)) => crate::fields::eval(f, input),
        Expr::Predicate(Predicate::Buffer(b)) => {
            let mine: Vec<&Regex> = b.pcres().map(|_| regexes.next().expect("regex")).collect();
            Target::of(&b.buffer).eval(input, b.quantifier, |hay| chain(b, &mine, hay, 0, 0, 0))
        }
    }
}

/// Whether `c` occurs at `s` (case per `nocase`).
fn occurs_at(c: &Content, hay: &[u8], s: usize) -> bool {
    let m = c.pattern.len();
    s + m <= hay.len()
        && if c.nocase {
            hay[s..s + m].eq_ignore_ascii_case(&c.pattern)
        } else {
            hay[s..s + m] == c.pattern[..]
        }
}

/// Whether an occurrence of `c` at `s` respects its position modifiers.
fn placed(c: &Content, s: usize, prev_end: usize, len: usize) -> bool {
    let s = s as i64;
    let e = s + c.pattern.len() as i64;
    let prev = prev_end as i64;
    if c.startswith && s != 0 {
        return false;
    }
    if c.endswith && e != len as i64 {
        return false;
    }
    if c.is_relative() {
        let start = prev + i64::from(c.distance.unwrap_or(0));
        if s < start.max(0) {
            return false;
        }
        if let Some(w) = c.within
            && e > start + i64::from(w)
        {
            return false;
        }
    } else {
        let offset = i64::from(c.offset.unwrap_or(0));
        if s < offset {
            return false;
        }
        if let Some(d) = c.depth
            && e > offset + i64::from(d)
        {
            return false;
        }
    }
    true
}

/// Tries every choice of occurrences: item `i` onwards, given the end of
/// the previous match and the index of the next regex.
fn chain(
    b: &BufferMatch,
    regexes: &[&Regex],
    hay: &[u8],
    i: usize,
    prev_end: usize,
    ri: usize,
) -> bool {
    let Some(item) = b.items.get(i) else {
        return true;
    };
    let len = hay.len();
    match item {
        BufferItem::Content(c) => {
            let spots = (0..=len).filter(|&s| occurs_at(c, hay, s) && placed(c, s, prev_end, len));
            if c.negated {
                spots.count() == 0 && chain(b, regexes, hay, i + 1, prev_end, ri)
            } else {
                // Existential: some occurrence lets the rest match.
                let m = c.pattern.len();
                let mut spots = spots;
                spots.any(|s| chain(b, regexes, hay, i + 1, s + m, ri))
            }
        }
        BufferItem::Pcre(p) => {
            let re = regexes[ri];
            let base = if p.relative { prev_end } else { 0 };
            if base > len {
                return p.negated && chain(b, regexes, hay, i + 1, prev_end, ri + 1);
            }
            let sub = &hay[base..];
            if p.negated {
                return re.search(&regex_automata::Input::new(sub)).is_none()
                    && chain(b, regexes, hay, i + 1, prev_end, ri + 1);
            }
            // Suricata retries a regex from one past its last match start.
            let mut from = 0;
            while from <= sub.len() {
                let Some(m) = re.search(&regex_automata::Input::new(sub).range(from..)) else {
                    return false;
                };
                if chain(b, regexes, hay, i + 1, base + m.end(), ri + 1) {
                    return true;
                }
                from = m.start() + 1;
            }
            false
        }
        BufferItem::IsDataAt(d) => {
            let at = if d.relative { prev_end } else { 0 } + d.position as usize;
            (at < len) != d.negated && chain(b, regexes, hay, i + 1, prev_end, ri)
        }
        BufferItem::Bsize(cmp) => {
            cmp.eval(len as u64) && chain(b, regexes, hay, i + 1, prev_end, ri)
        }
    }
}
