//! The engine: [`EngineBuilder`] compiles rules into an immutable
//! [`Engine`]; each worker inspects with its own [`Scratch`].
//!
//! Compilation groups rules by input kind, transport and flow direction
//! (see [`crate::applies`]). Within a group, every rule with a prefilter
//! contributes its needles (one fast pattern — the one it marks
//! `fast_pattern`, else the rarest long one — or a regex's required
//! literals) to one literal scanner per inspected buffer; rules without
//! one but with a byte required at the start of a buffer are indexed by
//! that byte, or by a narrow address set; the rest are "checked always".
//!
//! Inspecting an input first prefetches all its scanned buffers (they lie
//! in several allocations: the head and the normalized buffers; fetching
//! them one by one as each scan starts cost more than the scans on the
//! benchmark's inputs), scans each once,
//! and collects the rules whose fast pattern occurred. A candidate's other
//! required contents (at least 4 bytes) are not scanned for — only
//! fast patterns are, which keeps the sets small and the strides long, and
//! keeps contents every request has (`User-Agent`, `Host`) from making the
//! scanners report all the time — but confirmed afterwards: a literal the
//! group scans for and did not see rules the candidate out at once; the
//! others are searched for on demand, once per inspection, after the
//! header checks. Exact checks run on the candidates left.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sensor_rules::ir::{
    Action, AddressSet, Direction, Flow, Measure, PortSet, Rate, Rule, Suppression, Track,
};

use crate::addr_index::{self, AddrIndex};
use crate::applies::{
    self, GROUPS, Transport, direction_ok, group_index, group_key, state_ok, transport_ok,
};
use crate::cexpr::CExpr;
use crate::error::{BuildError, BuildErrorKind};
use crate::input::{BufferId, FlowDir, Input, InputKind, PacketMeta, has_buffer, view};
use crate::literals::{self, Needle, ScanSlot};
use crate::memo::{self, ScanMemo};
use crate::rates::Rates;
use crate::regexes::{RegexCaches, Regexes};
use crate::scan::{Finder, Scanner, prefetch};
use crate::sink::{Match, RuleId, Sink};

/// Default number of keys the rate table tracks.
pub const DEFAULT_RATE_CAPACITY: usize = 65_536;

/// Literal sets with at most this many literals are scanned with an
/// Aho-Corasick DFA, larger ones with the hashed gram filter (see
/// [`crate::ScanStats::dfa`]). 0: the gram filter is faster for every set
/// size on ET Open (see `scan.rs`).
pub const DEFAULT_DFA_MAX_PATTERNS: usize = 0;

/// Collects rules and options; [`EngineBuilder::build`] compiles them.
///
/// ```
/// use sensor_engine::EngineBuilder;
/// use sensor_rules::{LoadOptions, RuleSet};
///
/// let text = r#"alert http any any -> any any (msg:"admin"; flow:to_server; http.uri; content:"/admin"; sid:1;)"#;
/// let (set, _) = RuleSet::load_str("local.rules", text, &LoadOptions::default());
/// let engine = EngineBuilder::new().rules(set.into_rules()).build().unwrap();
/// assert_eq!(engine.stats().rules, 1);
/// assert_eq!(engine.stats().always_checked, 0);
/// ```
#[derive(Debug)]
pub struct EngineBuilder {
    rules: Vec<Rule>,
    strict: bool,
    rate_capacity: usize,
    rates: Option<Arc<Rates>>,
    dfa_max_patterns: usize,
    min_trigger_len: usize,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl EngineBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        EngineBuilder {
            rules: Vec::new(),
            strict: false,
            rate_capacity: DEFAULT_RATE_CAPACITY,
            rates: None,
            dfa_max_patterns: DEFAULT_DFA_MAX_PATTERNS,
            min_trigger_len: DEFAULT_MIN_FAST_PATTERN_LEN,
        }
    }

    /// Adds one rule.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Adds rules (e.g. `RuleSet::into_rules()`).
    pub fn rules(mut self, rules: impl IntoIterator<Item = Rule>) -> Self {
        self.rules.extend(rules);
        self
    }

    /// Fail the build if any rule cannot be compiled (default: skip it and
    /// list it in [`EngineStats::skipped`]).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Most keys the rate table tracks (ignored with [`Self::rates`]).
    pub fn rate_capacity(mut self, capacity: usize) -> Self {
        self.rate_capacity = capacity;
        self
    }

    /// Shares an existing rate table (the running engine's
    /// [`Engine::rates`]), so counters survive a reload.
    pub fn rates(mut self, rates: Arc<Rates>) -> Self {
        self.rates = Some(rates);
        self
    }

    /// Shortest fast pattern the prefilter scans for: a rule whose best
    /// one is shorter is checked always instead (short literals occur in
    /// most transactions, and make the scanners report constantly).
    pub fn min_fast_pattern_len(mut self, len: usize) -> Self {
        self.min_trigger_len = len.max(1);
        self
    }

    /// Most literals a buffer's set may have to be scanned with an
    /// Aho-Corasick DFA (0, the default: always use the gram filter).
    pub fn dfa_max_patterns(mut self, n: usize) -> Self {
        self.dfa_max_patterns = n;
        self
    }

    /// Compiles the rules.
    pub fn build(self) -> Result<Engine, BuildError> {
        let mut regexes = Regexes::default();
        let mut rules = Vec::with_capacity(self.rules.len());
        let mut metas = Vec::with_capacity(self.rules.len());
        let mut skipped = Vec::new();
        let mut freq = literals::Frequencies::default();
        for rule in &self.rules {
            freq.add(&rule.condition);
        }
        // Every (buffer, literal) the automata look for, numbered globally.
        let mut lit_ids: HashMap<Needle, u32> = HashMap::new();
        let mut lit_bytes: Vec<(ScanSlot, Vec<u8>)> = Vec::new();
        let mut intern = |n: &Needle| -> u32 {
            *lit_ids.entry(n.clone()).or_insert_with(|| {
                lit_bytes.push((n.slot, n.lit.clone()));
                (lit_bytes.len() - 1) as u32
            })
        };
        // Per group: literal → rules it triggers (possibly none: a literal
        // only confirmed), and the always-checked rules.
        let mut patterns: Vec<HashMap<u32, Vec<u32>>> = vec![HashMap::new(); GROUPS];
        let mut always: Vec<Vec<u32>> = vec![Vec::new(); GROUPS];
        let mut anchored: Vec<Vec<(literals::Anchor, u32)>> = vec![Vec::new(); GROUPS];
        let mut members = vec![0usize; GROUPS];
        let mut always_checked = 0;
        let mut addr_sets = AddrSets::default();
        for rule in self.rules {
            let cond = match CExpr::compile(&rule.condition, &mut regexes) {
                Ok(c) => c,
                Err(e) => {
                    let e = e.for_rule(rule.gid, rule.sid);
                    if self.strict {
                        return Err(BuildError {
                            kind: BuildErrorKind::Strict,
                            ..e
                        });
                    }
                    skipped.push(e);
                    continue;
                }
            };
            let id = rules.len() as u32;
            let needles = literals::of_expr(&rule.condition, &freq, self.min_trigger_len);
            // A literal required at the start or end of a buffer beats no
            // needle, or short ones (see `literals::anchors`); one that is
            // the whole buffer beats short needles within it (a rule's
            // `"Mozilla"; bsize:7` hits only where the user agent is that,
            // the needle `mozilla` nearly everywhere), not long ones (a
            // TLS rule's whole server name is rarely seen anyway, and
            // taking dozens of them from a gram filter left a slower
            // Teddy) nor those of other buffers (`"GET"; bsize:3` is no
            // better than a URI's needle).
            let anchors = literals::anchors(&rule.condition);
            let beats = |a: &literals::Anchor, set: &[literals::Needle]| {
                set.iter()
                    .all(|n| a.covers(n) && n.lit.len() < MAX_COVERED_NEEDLE)
            };
            let exact = needles.as_ref().and_then(|set| {
                anchors
                    .iter()
                    .filter(|a| beats(a, set))
                    .max_by_key(|a| a.lit.len())
            });
            let anchor = exact
                .or_else(|| anchors.iter().max_by_key(|a| (a.lit.len(), a.exact)))
                .filter(|a| match &needles {
                    None => true,
                    Some(set) if beats(a, set) => true,
                    Some(set) => a.lit.len() >= 2 && set.iter().any(|n| n.lit.len() < GOOD_NEEDLE),
                })
                .cloned();
            let triggers: Option<Vec<u32>> = match anchor {
                Some(_) => None,
                None => needles.map(|v| v.iter().map(&mut intern).collect()),
            };
            if triggers.is_none() && anchor.is_none() {
                always_checked += 1;
            }
            let required: Vec<u32> = literals::required_literals(&rule.condition, MIN_CONFIRM_LEN)
                .iter()
                .map(&mut intern)
                .collect();
            let kinds = applies::kinds(&rule);
            for (g, member) in members.iter_mut().enumerate() {
                let (kind, transport, dir) = group_key(g);
                if !kinds[kind.index()]
                    || !transport_ok(rule.header.protocol, transport)
                    || !direction_ok(rule.flow.direction, dir)
                    || !kind_fits(&rule, kind)
                {
                    continue;
                }
                *member += 1;
                match &triggers {
                    Some(set) => {
                        for &l in set {
                            let v = patterns[g].entry(l).or_default();
                            if v.last() != Some(&id) {
                                v.push(id);
                            }
                        }
                    }
                    None => match &anchor {
                        Some(a) => anchored[g].push((a.clone(), id)),
                        None => always[g].push(id),
                    },
                }
            }
            rules.push(CRule::new(&rule, cond, required.into(), &mut addr_sets));
            metas.push(rule);
        }
        regexes.finish();
        // Where each literal is scanned for (a bit per group), and a finder
        // for confirming it on demand elsewhere.
        let mut scanned_in = vec![0u64; lit_bytes.len()];
        for (g, p) in patterns.iter().enumerate() {
            for &l in p.keys() {
                scanned_in[l as usize] |= 1 << g;
            }
        }
        let confirm: Box<[Confirm]> = lit_bytes
            .iter()
            .zip(&scanned_in)
            .map(|((slot, lit), &scanned_in)| Confirm {
                slot: *slot,
                scanned_in,
                finder: Finder::new(lit),
            })
            .collect();
        let mut groups: Vec<Option<Group>> = Vec::with_capacity(GROUPS);
        let mut group_stats = Vec::new();
        for (g, ((patterns, mut always), anchored)) in
            patterns.into_iter().zip(always).zip(anchored).enumerate()
        {
            if members[g] == 0 {
                groups.push(None);
                continue;
            }
            let (kind, transport, direction) = group_key(g);
            // Literals of buffers the group's inputs lack are never seen
            // (their rules cannot match): not scanned for, so that the
            // scans read buffers with `Input::buffer`, which is `view`
            // there, without its kind check per buffer.
            let mut by_slot: Vec<Vec<(u32, Vec<u32>)>> = vec![Vec::new(); ScanSlot::COUNT];
            for (l, rs) in patterns {
                let slot = lit_bytes[l as usize].0;
                if !matches!(slot, ScanSlot::Single(id) if !has_buffer(kind, id)) {
                    by_slot[slot.index()].push((l, rs));
                }
            }
            let mut scans = Vec::new();
            let mut triggered = Vec::new();
            let mut stats = GroupStats {
                kind,
                transport,
                direction,
                rules: members[g],
                always_checked: 0,
                address_indexed: 0,
                anchored: 0,
                scans: Vec::new(),
                automata_bytes: 0,
            };
            let mut build_scan = |slot: ScanSlot, lits: Vec<(u32, Vec<u32>)>| {
                build_scan(
                    slot,
                    lits,
                    &lit_bytes,
                    self.dfa_max_patterns,
                    &mut triggered,
                    &mut stats,
                )
            };
            for &(container, parts) in CONTAINERS {
                let has_lits = |b: BufferId| !by_slot[ScanSlot::Single(b).index()].is_empty();
                let with_lits: Vec<BufferId> =
                    parts.iter().copied().filter(|&p| has_lits(p)).collect();
                if with_lits.is_empty() || (!has_lits(container) && with_lits.len() < 2) {
                    continue;
                }
                let mut all = std::mem::take(&mut by_slot[ScanSlot::Single(container).index()]);
                let mut own = Vec::with_capacity(with_lits.len());
                for part in with_lits {
                    let lits = std::mem::take(&mut by_slot[ScanSlot::Single(part).index()]);
                    all.extend(lits.iter().cloned());
                    own.push((part, build_scan(ScanSlot::Single(part), lits)?));
                }
                let mut scan = build_scan(ScanSlot::Single(container), all)?;
                scan.parts = own.into();
                scans.push(scan);
            }
            for (slot_index, lits) in by_slot.into_iter().enumerate() {
                if !lits.is_empty() {
                    scans.push(build_scan(ScanSlot::from_index(slot_index), lits)?);
                }
            }
            // Rules without a fast pattern but with a narrow address set
            // are found by address.
            let (mut by_dst, mut by_src) = (Vec::new(), Vec::new());
            always.retain(|&r| {
                let h = &metas[r as usize].header;
                if h.direction == Direction::Both {
                    true
                } else if addr_index::indexable(&h.dst) {
                    by_dst.push((r, &h.dst));
                    false
                } else if addr_index::indexable(&h.src) {
                    by_src.push((r, &h.src));
                    false
                } else {
                    true
                }
            });
            stats.always_checked = always.len();
            stats.address_indexed = by_dst.len() + by_src.len();
            let (by_dst, by_src) = (AddrIndex::new(&by_dst), AddrIndex::new(&by_src));
            stats.anchored = anchored.len();
            // As literals above.
            let anchors = Anchors::new(
                anchored
                    .into_iter()
                    .filter(|(a, _)| has_buffer(kind, a.buffer))
                    .collect(),
            );
            group_stats.push(stats);
            groups.push(Some(Group {
                prefetch: Prefetch::of(&scans),
                anchors,
                scans: scans.into(),
                triggered: triggered.into(),
                always: always.into(),
                by_src,
                by_dst,
            }));
        }
        let stats = EngineStats {
            rules: rules.len(),
            skipped,
            prefiltered: rules.len() - always_checked,
            always_checked,
            regexes: regexes.len(),
            literals: lit_bytes.len(),
            groups: group_stats,
        };
        // Scans worth remembering: of repeating values, costing more than
        // the comparisons that could spare them.
        let mut memos = 0;
        for scan in groups.iter_mut().flatten().flat_map(|g| g.scans.iter_mut()) {
            if memo::worth_it(scan.slot, &scan.scanner) {
                scan.memo = Some(memos);
                memos += 1;
            }
        }
        Ok(Engine {
            id: NEXT_ENGINE_ID.fetch_add(1, Ordering::Relaxed),
            memos: memos as usize,
            rules: rules.into(),
            metas: metas.into(),
            regexes,
            groups: groups.into(),
            confirm,
            addr_sets: addr_sets.list.into(),
            rates: self
                .rates
                .unwrap_or_else(|| Arc::new(Rates::new(self.rate_capacity))),
            stats,
        })
    }
}

/// Buffers that lie within another one in the usual HTTP head (the
/// method, raw URI and protocol within the request line; the raw header
/// block within the payload, the head itself): one scan of the container
/// looks for the literals of the parts too, and an occurrence anywhere in
/// it counts for each of them (for a part, a superset of its own
/// occurrences: the candidates it adds are checked exactly). A part that
/// does not lie within the container in an input (or a container the
/// input lacks) is scanned on its own. With all ET Open rules, the three
/// request-line scans of a browser request cost ~1,500 instructions, most
/// of it the fixed cost of a scan.
///
/// Measured and left out (all ET Open rules, browser requests laid out as
/// sensor-pipeline does, callgrind instructions per request; 6,242 with
/// the containers above):
/// - header values within `http.header.raw`: ~2,000 more with just
///   `http.accept` and `http.accept_enc`. The block is ~480 bytes, and
///   their short literals, cheap to look for in a 12-byte value, hit all
///   over it.
/// - `http.uri` within the request line (with inputs whose normalized
///   URI is the raw one when normalizing changes nothing; sensor-proto's
///   is always a buffer of its own): 6,268. The merged scan saves
///   100–170, but `/1.`, an ET Open `http.uri` fast pattern, is in every
///   request line's `HTTP/1.1`: its rule's checks cost ~400 per request,
///   and searching the URI to discard the hit first costs about what the
///   merge saves.
const CONTAINERS: &[(BufferId, &[BufferId])] = &[
    (
        BufferId::HttpRequestLine,
        &[
            BufferId::HttpMethod,
            BufferId::HttpUriRaw,
            BufferId::HttpProtocol,
        ],
    ),
    (BufferId::Payload, &[BufferId::HttpHeaderRaw]),
];

/// Where part `part` of a container ([`CONTAINERS`]) begins in it when
/// the input's buffers are laid out as in an HTTP head (only a guess,
/// which [`lies_within`] checks).
fn expected_offset<I: Input + ?Sized>(
    id: BufferId,
    container: &[u8],
    part: &[u8],
    input: &I,
) -> usize {
    match id {
        BufferId::HttpMethod => 0,
        BufferId::HttpUriRaw => view(input, BufferId::HttpMethod).map_or(0, |m| m.len() + 1),
        BufferId::HttpHeaderRaw => memchr::memchr(b'\n', container).map_or(0, |i| i + 1),
        // At the end (the protocol of a request line).
        _ => container.len().saturating_sub(part.len()),
    }
}

/// Whether the bytes `part` occur in `container` at `at`, or `part` is a
/// slice of `container` (an input whose buffers borrow from one head).
#[inline]
fn lies_within(container: &[u8], part: &[u8], at: usize) -> bool {
    let (c, p) = (container.as_ptr() as usize, part.as_ptr() as usize);
    (c <= p && p + part.len() <= c + container.len())
        || container.get(at..at + part.len()) == Some(part)
}

/// Compiles the scan of `lits` (literal id, rules it triggers) in `slot`,
/// appending their rules to `triggered` and its figures to `stats`.
fn build_scan(
    slot: ScanSlot,
    mut lits: Vec<(u32, Vec<u32>)>,
    lit_bytes: &[(ScanSlot, Vec<u8>)],
    dfa_max_patterns: usize,
    triggered: &mut Vec<u32>,
    stats: &mut GroupStats,
) -> Result<Scan, BuildError> {
    // Deterministic pattern order (HashMap order is not).
    lits.sort_unstable_by(|a, b| {
        (&lit_bytes[a.0 as usize].1, a.0).cmp(&(&lit_bytes[b.0 as usize].1, b.0))
    });
    let bytes: Vec<&[u8]> = lits
        .iter()
        .map(|(l, _)| &lit_bytes[*l as usize].1[..])
        .collect();
    let scanner = Scanner::new(
        &bytes,
        bytes.len() <= dfa_max_patterns,
        crate::sample::haystacks(slot),
    )?;
    let mut pats = Vec::with_capacity(lits.len());
    for (l, mut rs) in lits {
        rs.sort_unstable();
        pats.push(Pattern {
            lit: l,
            start: triggered.len() as u32,
            len: rs.len() as u32,
        });
        triggered.extend(rs);
    }
    stats.automata_bytes += scanner.memory_usage();
    stats.scans.push(ScanStats {
        slot,
        patterns: pats.len(),
        short: bytes.iter().filter(|b| b.len() < 4).count(),
        dfa: scanner.is_dfa(),
        stride: scanner.stride(),
        pair_literals: scanner.split().0,
        teddy_literals: scanner.split().1,
        bytes: scanner.memory_usage(),
    });
    Ok(Scan {
        slot,
        scanner,
        pats: pats.into(),
        parts: Box::default(),
        memo: None,
    })
}

/// Contents at least this long are confirmed (from the scan, or searched
/// for on demand) before a candidate's exact checks (shorter ones occur
/// too often to rule out much).
const MIN_CONFIRM_LEN: usize = 4;

/// Fast patterns shorter than this lose to a literal anchored at the start
/// or end of a buffer.
const GOOD_NEEDLE: usize = 4;

/// Fast patterns shorter than this lose to a whole-buffer literal that
/// contains them (`mozilla`, `test`: words many buffers contain).
const MAX_COVERED_NEEDLE: usize = 8;

/// Default for [`EngineBuilder::min_fast_pattern_len`]: on ET Open, 1-byte
/// fast patterns hit nearly everywhere, while 2- and 3-byte ones are
/// cheaper to scan for (as pair literals, or short keys of the gram
/// filter, and their hits are filtered by the rules' longer contents) than
/// checking their rules always.
pub const DEFAULT_MIN_FAST_PATTERN_LEN: usize = 2;

/// Whether a rule can meet an HTTP request (resp. response): not if one of
/// its required buffers exists only in the other.
fn kind_fits(rule: &Rule, kind: InputKind) -> bool {
    let required = rule.condition.required_buffer_matches();
    let targets = || {
        required
            .iter()
            .filter_map(|b| match crate::target::Target::of(&b.buffer) {
                crate::target::Target::Single(id) => Some(id),
                _ => None,
            })
    };
    match kind {
        InputKind::HttpRequest => !targets().any(|b| b.is_response_only()),
        InputKind::HttpResponse => !targets().any(|b| b.is_request_only()),
        _ => true,
    }
}

static NEXT_ENGINE_ID: AtomicU64 = AtomicU64::new(1);

/// A rule header with its address sets interned: most rules share a few
/// sets ($HOME_NET, $EXTERNAL_NET), whose membership each inspection
/// computes once.
#[derive(Debug)]
struct EHeader {
    src: Option<u32>,
    dst: Option<u32>,
    src_ports: Option<PortSet>,
    dst_ports: Option<PortSet>,
    both_ways: bool,
}

/// Interned address sets.
#[derive(Debug, Default)]
struct AddrSets {
    list: Vec<AddressSet>,
    index: HashMap<AddressSet, u32>,
}

impl AddrSets {
    fn intern(&mut self, s: &AddressSet) -> Option<u32> {
        if s.is_any() {
            return None;
        }
        Some(*self.index.entry(s.clone()).or_insert_with(|| {
            self.list.push(s.clone());
            (self.list.len() - 1) as u32
        }))
    }
}

impl EHeader {
    fn new(rule: &Rule, sets: &mut AddrSets) -> Self {
        let h = &rule.header;
        let ports = |s: &PortSet| (!s.is_full()).then(|| s.clone());
        EHeader {
            src: sets.intern(&h.src),
            dst: sets.intern(&h.dst),
            src_ports: ports(&h.src_ports),
            dst_ports: ports(&h.dst_ports),
            both_ways: h.direction == Direction::Both,
        }
    }
}

fn port_ok(set: &Option<PortSet>, p: Option<u16>) -> bool {
    set.as_ref()
        .is_none_or(|s| p.is_some_and(|p| s.contains(p)))
}

/// A rule, compiled.
#[derive(Debug)]
struct CRule {
    header: EHeader,
    protocol: sensor_rules::ir::Protocol,
    kinds: [bool; 5],
    flow: Flow,
    cond: CExpr,
    action: Action,
    noalert: bool,
    rate: Option<Rate>,
    suppressions: Box<[Suppression]>,
    /// Literals that must all have been seen for the rule to match.
    required: Box<[u32]>,
}

impl CRule {
    fn new(rule: &Rule, cond: CExpr, required: Box<[u32]>, sets: &mut AddrSets) -> Self {
        CRule {
            header: EHeader::new(rule, sets),
            protocol: rule.header.protocol,
            kinds: applies::kinds(rule),
            flow: rule.flow,
            cond,
            action: rule.action,
            noalert: rule.noalert,
            rate: rule.rate.clone(),
            suppressions: rule.suppressions.clone().into(),
            required,
        }
    }
}

// `Confirm::scanned_in` has a bit per group.
const _: () = assert!(GROUPS <= 64);

/// A literal some rule requires, for confirming it.
#[derive(Debug)]
struct Confirm {
    slot: ScanSlot,
    /// Groups whose scanners look for it (bit per group index): there, not
    /// having seen it means it does not occur.
    scanned_in: u64,
    /// Elsewhere it is searched for on demand, once per inspection, and
    /// only for a candidate that passed every cheaper check.
    finder: Finder,
}

/// What an automaton pattern stands for.
#[derive(Debug)]
struct Pattern {
    /// Global literal id.
    lit: u32,
    /// The rules it triggers: `Group::triggered[start..start + len]`.
    start: u32,
    len: u32,
}

/// One automaton over one buffer slot.
#[derive(Debug)]
struct Scan {
    slot: ScanSlot,
    scanner: Scanner,
    /// By automaton pattern id.
    pats: Box<[Pattern]>,
    /// For a container's scan ([`CONTAINERS`]), the parts whose literals
    /// it looks for too, with their own scans.
    parts: Box<[(BufferId, Scan)]>,
    /// Its [`ScanMemo`] in a scratch, for a costly scan of a buffer whose
    /// values repeat ([`memo::worth_it`]).
    memo: Option<u32>,
}

/// Rules found by a literal required at the start or end of a buffer, or
/// that is the whole buffer: per (buffer, where), entries grouped by a
/// key ([`AnchorAt::key`]: the literal's first or last byte, folded; for
/// whole buffers with the length mixed in), with a table of where each
/// key's entries start, so that an input computes one key per (buffer,
/// where) and compares only the literals that share it (a binary search
/// over the byte keys cost a mispredicted branch per step, and the
/// `bsize` user agents beginning with `m` were dozens of length checks).
#[derive(Debug, Default)]
struct Anchors {
    /// (buffer, where, start of its table in `index`, a bit per key
    /// modulo 64 that some entry has: most inputs miss a run's few keys
    /// without loading its table).
    runs: Box<[(BufferId, AnchorAt, u32, u64)]>,
    /// Per run, [`KEYS`] + 1 entries: the entries of folded byte `k` are
    /// `entries[index[base + k]..index[base + k + 1]]`.
    index: Box<[u32]>,
    entries: Box<[AnchorEntry]>,
}

/// Folded byte keys of a run's table.
const KEYS: usize = 256;

#[derive(Debug)]
struct AnchorEntry {
    lit: Box<[u8]>,
    rule: u32,
}

/// Where an anchor run's literals sit: at the start, at the end, or the
/// whole buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum AnchorAt {
    Start,
    End,
    Whole,
}

impl AnchorAt {
    fn of(a: &literals::Anchor) -> AnchorAt {
        match (a.exact, a.end) {
            (true, _) => AnchorAt::Whole,
            (false, false) => AnchorAt::Start,
            (false, true) => AnchorAt::End,
        }
    }

    /// The table key of a literal (or of a haystack): the first (last)
    /// byte, folded; for a whole buffer, its length mixed with its first
    /// byte (the user agents of ET's `bsize` rules mostly begin with
    /// `Mozilla`, and their lengths differ).
    #[inline]
    fn key(self, hay: &[u8]) -> Option<usize> {
        let b = match self {
            AnchorAt::Start | AnchorAt::Whole => *hay.first()?,
            AnchorAt::End => *hay.last()?,
        } | 0x20;
        Some(match self {
            AnchorAt::Whole => {
                ((hay.len() as u32).wrapping_mul(0x9E37_79B1) >> 24) as usize ^ usize::from(b)
            }
            _ => usize::from(b),
        })
    }
}

impl Anchors {
    fn new(list: Vec<(literals::Anchor, u32)>) -> Anchors {
        let mut list: Vec<(BufferId, AnchorAt, usize, u32, Vec<u8>)> = list
            .into_iter()
            .map(|(a, rule)| {
                let at = AnchorAt::of(&a);
                let key = at.key(&a.lit).expect("non-empty anchor");
                (a.buffer, at, key, rule, a.lit)
            })
            .collect();
        list.sort_by_key(|&(buffer, at, key, rule, _)| (buffer, at, key, rule));
        let mut runs: Vec<(BufferId, AnchorAt, u32, u64)> = Vec::new();
        let mut index: Vec<u32> = Vec::new();
        let mut entries: Vec<AnchorEntry> = Vec::with_capacity(list.len());
        for (buffer, at, key, rule, lit) in list {
            if runs.last().is_none_or(|run| (run.0, run.1) != (buffer, at)) {
                runs.push((buffer, at, index.len() as u32, 0));
                index.extend([entries.len() as u32; KEYS + 1]);
            }
            if let Some(run) = runs.last_mut() {
                run.3 |= 1 << (key % 64);
            }
            // Entries of keys above this one start after it.
            let base = index.len() - (KEYS + 1);
            for slot in &mut index[base + key + 1..] {
                *slot += 1;
            }
            entries.push(AnchorEntry {
                lit: lit.into(),
                rule,
            });
        }
        Anchors {
            runs: runs.into(),
            index: index.into(),
            entries: entries.into(),
        }
    }

    /// Calls `f` with each rule whose literal is where it must be, in an
    /// input of the kind whose buffers the anchors are of (where
    /// `Input::buffer` is [`view`]).
    #[inline]
    fn for_each<I: Input + ?Sized>(&self, input: &I, mut f: impl FnMut(u32)) {
        for &(buffer, at, base, keys) in self.runs.iter() {
            let Some(hay) = input.buffer(buffer) else {
                continue;
            };
            let Some(key) = at.key(hay) else {
                continue;
            };
            if keys & (1 << (key % 64)) == 0 {
                continue;
            }
            let k = base as usize + key;
            let (lo, hi) = (self.index[k] as usize, self.index[k + 1] as usize);
            for e in &self.entries[lo..hi] {
                let n = e.lit.len();
                let at = match at {
                    AnchorAt::Start if n <= hay.len() => &hay[..n],
                    AnchorAt::End if n <= hay.len() => &hay[hay.len() - n..],
                    AnchorAt::Whole if n == hay.len() => hay,
                    _ => continue,
                };
                if crate::fold::eq_lowercase(at, &e.lit) {
                    f(e.rule);
                }
            }
        }
    }
}

/// The buffers a group's scans read, to prefetch before the first scan
/// (see [`prefetch`]), as a list rather than by walking the scans: the
/// walk's dispatch on each scan's slot and the buffer view's kind check
/// cost ~35 instructions per scan, more than the prefetches (a prefetch
/// needs no view: fetching a buffer the scan will not read is harmless).
#[derive(Debug, Default)]
struct Prefetch {
    buffers: Box<[BufferId]>,
    header_names: bool,
    header_values: bool,
}

impl Prefetch {
    fn of(scans: &[Scan]) -> Prefetch {
        let slots = || scans.iter().map(|s| s.slot);
        Prefetch {
            buffers: slots()
                .filter_map(|slot| match slot {
                    ScanSlot::Single(id) => Some(id),
                    _ => None,
                })
                .collect(),
            header_names: slots().any(|slot| slot == ScanSlot::HeaderName),
            header_values: slots().any(|slot| slot == ScanSlot::HeaderValue),
        }
    }

    #[inline]
    fn fetch<I: Input + ?Sized>(&self, input: &I) {
        for &id in self.buffers.iter() {
            if let Some(hay) = input.buffer(id) {
                prefetch(hay);
            }
        }
        if self.header_names || self.header_values {
            for i in 0..input.header_count() {
                let (name, value) = input.header(i);
                if self.header_names {
                    prefetch(name);
                }
                if self.header_values {
                    prefetch(value);
                }
            }
        }
    }
}

/// The rules a packet of one (kind, transport, direction) can meet.
#[derive(Debug)]
struct Group {
    /// The buffers its scans read.
    prefetch: Prefetch,
    /// Rules found by a literal at the start or end of a buffer.
    anchors: Anchors,
    scans: Box<[Scan]>,
    triggered: Box<[u32]>,
    always: Box<[u32]>,
    /// Rules without fast pattern, by destination address set.
    by_dst: AddrIndex,
    /// Rules without fast pattern, by source address set.
    by_src: AddrIndex,
}

/// Figures about one automaton.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanStats {
    /// The inspected buffer.
    pub slot: ScanSlot,
    /// Distinct literals.
    pub patterns: usize,
    /// Literals shorter than 4 bytes (each adds work at every position of
    /// the gram filter).
    pub short: usize,
    /// Scanned with an Aho-Corasick DFA (else the pair or gram filter).
    pub dfa: bool,
    /// Gram filter stride (0: no gram filter).
    pub stride: usize,
    /// Literals found one by one with SIMD (too short for the gram
    /// filter's stride, or too few for a Teddy).
    pub pair_literals: usize,
    /// Literals found by a Teddy.
    pub teddy_literals: usize,
    /// Heap bytes.
    pub bytes: usize,
}

/// Figures about one rule group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupStats {
    /// Input kind.
    pub kind: InputKind,
    /// Transport.
    pub transport: Transport,
    /// Flow direction.
    pub direction: FlowDir,
    /// Rules in the group.
    pub rules: usize,
    /// Rules of the group with no fast pattern, found by a narrow source or
    /// destination address set instead (IP reputation lists).
    pub address_indexed: usize,
    /// Rules of the group found by a literal required at the start or end
    /// of a buffer instead of a (short) fast pattern.
    pub anchored: usize,
    /// Rules of the group with no prefilter: checked on every input.
    pub always_checked: usize,
    /// The automata.
    pub scans: Vec<ScanStats>,
    /// Heap bytes of the automata.
    pub automata_bytes: usize,
}

/// Figures about a compiled engine (for `vigil rules check`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineStats {
    /// Rules compiled.
    pub rules: usize,
    /// Rules that could not be compiled, with why.
    pub skipped: Vec<BuildError>,
    /// Rules with a prefilter (fast pattern or regex literals).
    pub prefiltered: usize,
    /// Rules without: checked on every input of their groups.
    pub always_checked: usize,
    /// Distinct compiled regexes.
    pub regexes: usize,
    /// Distinct (group, buffer, literal) needles.
    pub literals: usize,
    /// Non-empty groups.
    pub groups: Vec<GroupStats>,
}

/// A compiled ruleset: immutable, `Send + Sync`, shared by every worker.
#[derive(Debug)]
pub struct Engine {
    id: u64,
    rules: Box<[CRule]>,
    metas: Box<[Rule]>,
    regexes: Regexes,
    groups: Box<[Option<Group>]>,
    /// By global literal id.
    confirm: Box<[Confirm]>,
    addr_sets: Box<[AddressSet]>,
    /// Scans whose results a scratch remembers ([`Scan::memo`]).
    memos: usize,
    rates: Arc<Rates>,
    stats: EngineStats,
}

/// Per-worker inspection state; reused across inspections, so that a warm
/// worker allocates nothing.
///
/// A scratch follows whatever engine it is used with (it resizes itself,
/// once, after a reload).
#[derive(Debug, Default)]
pub struct Scratch {
    engine: u64,
    epoch: u32,
    lit_stamp: Vec<u32>,
    rule_stamp: Vec<u32>,
    candidates: Vec<u32>,
    matched: Vec<u32>,
    caches: RegexCaches,
    checked: usize,
    /// Per (address set, src|dst): `epoch << 1 | member` when computed
    /// this inspection.
    addr_memo: Vec<u64>,
    /// Per literal: `epoch << 1 | found` when searched for on demand this
    /// inspection.
    confirm_memo: Vec<u64>,
    /// Per remembered scan ([`Scan::memo`]).
    memos: Vec<ScanMemo>,
    hits: usize,
    scanned: usize,
    calls: usize,
}

impl Scratch {
    /// An empty scratch (sized on first use).
    pub fn new() -> Self {
        Self::default()
    }

    fn begin(&mut self, e: &Engine) {
        if self.engine != e.id {
            self.engine = e.id;
            self.epoch = 0;
            self.lit_stamp.clear();
            self.lit_stamp.resize(e.confirm.len(), 0);
            self.confirm_memo.clear();
            self.confirm_memo.resize(e.confirm.len(), 0);
            self.rule_stamp.clear();
            self.rule_stamp.resize(e.rules.len(), 0);
            self.candidates.reserve(e.rules.len().min(4096));
            self.matched.reserve(256);
            self.caches.reset(e.regexes.len());
            self.addr_memo.clear();
            self.addr_memo.resize(e.addr_sets.len() * 2, 0);
            self.memos.clear();
            self.memos.resize_with(e.memos, ScanMemo::default);
        }
        if self.epoch == u32::MAX {
            self.epoch = 0;
            self.lit_stamp.fill(0);
            self.confirm_memo.fill(0);
            self.rule_stamp.fill(0);
            self.addr_memo.fill(0);
        }
        self.epoch += 1;
        self.candidates.clear();
        self.matched.clear();
        self.checked = 0;
        self.hits = 0;
        self.scanned = 0;
        self.calls = 0;
    }

    /// Scanner hits, bytes scanned and scanner calls of the last
    /// inspection. A hit is an occurrence a scanner reported, except in a
    /// value replayed from the worker's memo of repeated header values
    /// (`memo.rs`), which remembers each literal it held once: there each
    /// literal counts once, however often it occurs.
    pub fn last_scan(&self) -> (usize, usize, usize) {
        (self.hits, self.scanned, self.calls)
    }

    /// Rules the last inspection met: (candidates from the prefilter and
    /// the always-checked list, candidates that passed literal
    /// confirmation and header checks and ran their exact checks).
    pub fn last_candidates(&self) -> (usize, usize) {
        (self.candidates.len(), self.checked)
    }
}

impl Engine {
    /// Figures about the compiled rules.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// The rate table (hand it to the next engine's builder on reload).
    pub fn rates(&self) -> &Arc<Rates> {
        &self.rates
    }

    /// The rule with this id.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.metas[id.index()]
    }

    /// Number of compiled rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rule is compiled.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Inspects one packet or transaction and pushes its alerts into
    /// `sink`, in rule order; returns how many were pushed.
    ///
    /// Alert granularity is the caller's unit: call it once per packet for
    /// packet rules ([`InputKind::Packet`]) and once per transaction for
    /// application rules; each rule alerts at most once per call.
    ///
    /// Rules that match but are `noalert`, suppressed, or held back by
    /// their threshold raise nothing. If a `pass` rule matches, it alone is
    /// reported (action `Pass`) and every other rule stays silent.
    pub fn inspect<I: Input + ?Sized, S: Sink + ?Sized>(
        &self,
        input: &I,
        scratch: &mut Scratch,
        sink: &mut S,
    ) -> usize {
        self.collect_matches(input, scratch);
        let mut pass = None;
        for &r in &scratch.matched {
            if self.rules[r as usize].action == Action::Pass && self.admit(r, input) {
                pass = Some(r);
                break;
            }
        }
        if let Some(r) = pass {
            sink.alert(&self.match_of(r));
            return 1;
        }
        let mut n = 0;
        for i in 0..scratch.matched.len() {
            let r = scratch.matched[i];
            if self.rules[r as usize].noalert || !self.admit(r, input) {
                continue;
            }
            sink.alert(&self.match_of(r));
            n += 1;
        }
        n
    }

    /// The rules whose conditions match the input (before `noalert`,
    /// suppressions, rates and `pass`), in rule order. For tests and
    /// diagnostics; uses the prefilter like [`Engine::inspect`].
    pub fn matching_rules<'s, I: Input + ?Sized>(
        &self,
        input: &I,
        scratch: &'s mut Scratch,
    ) -> &'s [u32] {
        self.collect_matches(input, scratch);
        &scratch.matched
    }

    /// Suppressions, then the rule's rate.
    fn admit<I: Input + ?Sized>(&self, r: u32, input: &I) -> bool {
        let rule = &self.rules[r as usize];
        let meta = input.meta();
        if rule.suppressions.iter().any(|s| suppressed(s, meta)) {
            return false;
        }
        match &rule.rate {
            None => true,
            Some(rate) => {
                let m = &self.metas[r as usize];
                let distinct = match &rate.measure {
                    Measure::Distinct(f) => crate::fields::number(f, input),
                    Measure::Count => None,
                };
                self.rates.check(rate, m.gid, m.sid, meta, distinct)
            }
        }
    }

    /// Whether packet address `which` (0 src, 1 dst) is in set `set`,
    /// computed once per inspection.
    fn member(
        &self,
        set: u32,
        which: usize,
        meta: &PacketMeta,
        memo: &mut [u64],
        epoch: u32,
    ) -> bool {
        let slot = &mut memo[set as usize * 2 + which];
        if (*slot >> 1) as u32 == epoch {
            return *slot & 1 == 1;
        }
        let addr = if which == 0 { meta.src } else { meta.dst };
        let v = self.addr_sets[set as usize].contains(addr);
        *slot = (u64::from(epoch) << 1) | u64::from(v);
        v
    }

    /// Header, transport and flow checks of a candidate (its group fixed
    /// kind, transport and direction already; checking them again is
    /// cheap and keeps this self-contained).
    fn rule_applies(&self, rule: &CRule, meta: &PacketMeta, memo: &mut [u64], epoch: u32) -> bool {
        if !(rule.kinds[meta.kind.index()]
            && transport_ok(rule.protocol, Transport::of(meta.ip_proto))
            && direction_ok(rule.flow.direction, meta.direction)
            && state_ok(rule.flow.state, meta.established))
        {
            return false;
        }
        let h = &rule.header;
        let mut side = |set: Option<u32>, which: usize| {
            set.is_none_or(|s| self.member(s, which, meta, memo, epoch))
        };
        let forward = side(h.src, 0)
            && side(h.dst, 1)
            && port_ok(&h.src_ports, meta.src_port)
            && port_ok(&h.dst_ports, meta.dst_port);
        forward
            || (h.both_ways
                && side(h.src, 1)
                && side(h.dst, 0)
                && port_ok(&h.src_ports, meta.dst_port)
                && port_ok(&h.dst_ports, meta.src_port))
    }

    fn match_of(&self, r: u32) -> Match<'_> {
        let rule = &self.metas[r as usize];
        Match {
            id: RuleId(r),
            gid: rule.gid,
            sid: rule.sid,
            rev: rule.rev,
            action: rule.action,
            rule,
        }
    }

    fn collect_matches<I: Input + ?Sized>(&self, input: &I, scratch: &mut Scratch) {
        scratch.begin(self);
        let meta = input.meta();
        let g = group_index(meta.kind, Transport::of(meta.ip_proto), meta.direction);
        let Some(group) = &self.groups[g] else {
            return;
        };
        let epoch = scratch.epoch;
        group.prefetch.fetch(input);
        let record = |scan: &Scan, pat: usize, scratch: &mut Scratch| {
            scratch.hits += 1;
            let p = &scan.pats[pat];
            let lit = p.lit as usize;
            if scratch.lit_stamp[lit] == epoch {
                return;
            }
            scratch.lit_stamp[lit] = epoch;
            let start = p.start as usize;
            for &r in &group.triggered[start..start + p.len as usize] {
                if scratch.rule_stamp[r as usize] != epoch {
                    scratch.rule_stamp[r as usize] = epoch;
                    scratch.candidates.push(r);
                }
            }
        };
        let hit = |scan: &Scan, hay: &[u8], scratch: &mut Scratch| {
            scratch.scanned += hay.len();
            scratch.calls += 1;
            match scan.memo {
                Some(m)
                    if hay.len() <= memo::max_len(scan.slot)
                        && scratch.memos[m as usize].wanted() =>
                {
                    let max_len = memo::max_len(scan.slot);
                    let pats = scratch.memos[m as usize].take(hay, max_len, |out| {
                        scan.scanner.for_each(hay, |pat| out.push(pat as u32))
                    });
                    for &pat in &pats {
                        record(scan, pat as usize, scratch);
                    }
                    scratch.memos[m as usize].put_back(pats);
                }
                _ => scan.scanner.for_each(hay, |pat| record(scan, pat, scratch)),
            }
        };
        for scan in group.scans.iter() {
            match scan.slot {
                ScanSlot::Single(id) if !scan.parts.is_empty() => {
                    // Scanned buffers are ones the group's inputs have
                    // (build), where `Input::buffer` is `view`.
                    let container = input.buffer(id);
                    for (part, own) in scan.parts.iter() {
                        if let Some(bytes) = input.buffer(*part)
                            && !container.is_some_and(|c| {
                                lies_within(c, bytes, expected_offset(*part, c, bytes, input))
                            })
                        {
                            hit(own, bytes, scratch);
                        }
                    }
                    if let Some(hay) = container {
                        hit(scan, hay, scratch);
                    }
                }
                ScanSlot::Single(id) => {
                    if let Some(hay) = input.buffer(id) {
                        hit(scan, hay, scratch);
                    }
                }
                ScanSlot::HeaderName => {
                    for i in 0..input.header_count() {
                        hit(scan, input.header(i).0, scratch);
                    }
                }
                ScanSlot::HeaderValue => {
                    for i in 0..input.header_count() {
                        hit(scan, input.header(i).1, scratch);
                    }
                }
                ScanSlot::Alpn => {
                    for i in 0..input.alpn_count() {
                        hit(scan, input.alpn(i), scratch);
                    }
                }
            }
        }
        group.anchors.for_each(input, |r| {
            if scratch.rule_stamp[r as usize] != epoch {
                scratch.rule_stamp[r as usize] = epoch;
                scratch.candidates.push(r);
            }
        });
        for index_and_addr in [(&group.by_dst, meta.dst), (&group.by_src, meta.src)] {
            let (index, addr) = index_and_addr;
            for &r in index.lookup(addr) {
                if scratch.rule_stamp[r as usize] != epoch {
                    scratch.rule_stamp[r as usize] = epoch;
                    scratch.candidates.push(r);
                }
            }
        }
        scratch.candidates.extend_from_slice(&group.always);
        scratch.candidates.sort_unstable();
        let Scratch {
            candidates,
            matched,
            caches,
            lit_stamp,
            checked,
            addr_memo,
            confirm_memo,
            ..
        } = scratch;
        let group_bit = 1u64 << g;
        for &r in candidates.iter() {
            let rule = &self.rules[r as usize];
            // A required literal this group scans for and did not see
            // rules the candidate out at once; the others are searched for
            // last.
            if rule.required.iter().any(|&l| {
                lit_stamp[l as usize] != epoch
                    && self.confirm[l as usize].scanned_in & group_bit != 0
            }) || !self.rule_applies(rule, meta, addr_memo, epoch)
                || !rule.required.iter().all(|&l| {
                    lit_stamp[l as usize] == epoch
                        || self.confirm_on_demand(l, input, confirm_memo, epoch)
                })
            {
                continue;
            }
            *checked += 1;
            if rule.cond.eval(input, &self.regexes, caches) {
                matched.push(r);
            }
        }
    }

    /// Whether literal `l`, which this group does not scan for, occurs in
    /// its buffer (computed once per inspection).
    fn confirm_on_demand<I: Input + ?Sized>(
        &self,
        l: u32,
        input: &I,
        memo: &mut [u64],
        epoch: u32,
    ) -> bool {
        let slot = &mut memo[l as usize];
        if (*slot >> 1) as u32 == epoch {
            return *slot & 1 == 1;
        }
        let c = &self.confirm[l as usize];
        let found = match c.slot {
            ScanSlot::Single(id) => view(input, id).is_some_and(|h| c.finder.is_in(h)),
            ScanSlot::HeaderName => {
                (0..input.header_count()).any(|i| c.finder.is_in(input.header(i).0))
            }
            ScanSlot::HeaderValue => {
                (0..input.header_count()).any(|i| c.finder.is_in(input.header(i).1))
            }
            ScanSlot::Alpn => (0..input.alpn_count()).any(|i| c.finder.is_in(input.alpn(i))),
        };
        *slot = (u64::from(epoch) << 1) | u64::from(found);
        found
    }
}

fn suppressed(s: &Suppression, meta: &PacketMeta) -> bool {
    match s.track {
        None => true,
        Some(Track::BySrc) => s.addresses.contains(meta.src),
        Some(Track::ByDst) => s.addresses.contains(meta.dst),
        Some(_) => s.addresses.contains(meta.src) || s.addresses.contains(meta.dst),
    }
}
