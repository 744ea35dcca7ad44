//! The handle on the kernel's block maps.

use std::collections::HashMap as StdHashMap;

use aya::maps::{Array, HashMap, LpmTrie, Map, MapData};
use sensor_common::enforce::{
    ActiveState, Bank, BodySkip, CidrKey, DfaMatch, DfaTable, FlowKey, FlowVerdict, GramFilter,
    PortKey, Side, action, blocks, dfa_class_shift,
};

use super::dfa::DFA_MATCH_BIT;
use super::{
    BlockSet, Cidr, CompiledDfa, EnforceError, EnforceErrorKind as Kind, EnforceLimits, FlowTuple,
    GramSampling, Mode, PortBlock, Protocol, Verdict,
};
use crate::capture::KernelCapture;

/// Fills the TC program's enforcement maps: address, port and pattern blocks
/// (atomically replaceable as a whole with [`Enforcer::replace`]), flow
/// verdicts, and header-only body regions.
///
/// Obtained once per capture with [`KernelCapture::enforcer`]; it holds the
/// maps' file descriptors, so it keeps working from any thread and stays
/// valid after the capture is detached (the maps are then simply unused).
pub struct Enforcer {
    mode: Mode,
    limits: EnforceLimits,
    active: Array<MapData, ActiveState>,
    cidr_src: LpmTrie<MapData, CidrKey, u32>,
    cidr_dst: LpmTrie<MapData, CidrKey, u32>,
    ports: HashMap<MapData, PortKey, u32>,
    flows: HashMap<MapData, FlowKey, FlowVerdict>,
    banks: Array<MapData, Bank>,
    dfa_table: Array<MapData, DfaTable>,
    dfa_matches: Array<MapData, DfaMatch>,
    gram_filter: Array<MapData, GramFilter>,
    body: HashMap<MapData, FlowKey, BodySkip>,
    /// Generation in force in the kernel.
    generation: u32,
    /// Mirror of the blocks in force, to delete them on the next reload.
    cidrs: StdHashMap<(Side, Cidr), u32>,
    port_blocks: StdHashMap<PortBlock, u32>,
    patterns: usize,
    releases: u64,
    /// The automaton part of the bank in force ([`Bank::blocks`] aside).
    automaton: Bank,
    /// Whether any flow verdict was ever set (they outlive generations).
    flows_present: bool,
}

impl KernelCapture {
    /// The enforcement handle of this capture. Can be taken once.
    pub fn enforcer(&mut self) -> Result<Enforcer, EnforceError> {
        let enforce = self.config().enforce;
        let mut take = |name: &str| -> Result<Map, EnforceError> {
            self.take_map(name).ok_or_else(|| {
                EnforceError::new(
                    Kind::AlreadyTaken,
                    format!("map {name} missing: the enforcer was already taken"),
                )
            })
        };
        let active = take("ACTIVE")?;
        let cidr_src = take("CIDR_SRC")?;
        let cidr_dst = take("CIDR_DST")?;
        let ports = take("PORTS")?;
        let flows = take("FLOWS")?;
        let banks = take("BANKS")?;
        let dfa_table = take("DFA_TABLE")?;
        let dfa_matches = take("DFA_MATCHES")?;
        let gram_filter = take("GRAM_FILTER")?;
        let body = take("BODY_SKIP")?;
        fn open<T: TryFrom<Map, Error = aya::maps::MapError>>(
            name: &str,
            map: Map,
        ) -> Result<T, EnforceError> {
            T::try_from(map).map_err(|e| EnforceError::map(name, e))
        }
        Ok(Enforcer {
            mode: enforce.mode,
            limits: enforce.limits,
            active: open("ACTIVE", active)?,
            cidr_src: open("CIDR_SRC", cidr_src)?,
            cidr_dst: open("CIDR_DST", cidr_dst)?,
            ports: open("PORTS", ports)?,
            flows: open("FLOWS", flows)?,
            banks: open("BANKS", banks)?,
            dfa_table: open("DFA_TABLE", dfa_table)?,
            dfa_matches: open("DFA_MATCHES", dfa_matches)?,
            gram_filter: open("GRAM_FILTER", gram_filter)?,
            body: open("BODY_SKIP", body)?,
            generation: 0,
            cidrs: StdHashMap::new(),
            port_blocks: StdHashMap::new(),
            patterns: 0,
            releases: 0,
            automaton: Bank::default(),
            flows_present: false,
        })
    }
}

impl Enforcer {
    /// The mode the program was loaded in: in IDS mode every update is
    /// accepted but nothing is dropped.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The map capacities the program was loaded with.
    pub fn limits(&self) -> EnforceLimits {
        self.limits
    }

    /// The block generation in force (incremented by each [`Enforcer::replace`]).
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Address blocks in force, both sides.
    pub fn cidr_count(&self) -> usize {
        self.cidrs.len()
    }

    /// Port blocks in force.
    pub fn port_count(&self) -> usize {
        self.port_blocks.len()
    }

    /// Patterns in the automaton in force.
    pub fn pattern_count(&self) -> usize {
        self.patterns
    }

    /// Flows released with [`Enforcer::release_flow`] so far: kernel
    /// pattern hits that user space's full rule check did not confirm.
    pub fn releases(&self) -> u64 {
        self.releases
    }

    /// Blocks packets whose `side` address is in `cidr`, in the generation in
    /// force. Replaces the sid of an existing identical block.
    pub fn block_cidr(&mut self, side: Side, cidr: Cidr, sid: u32) -> Result<(), EnforceError> {
        let on_side = self.cidrs.keys().filter(|(s, _)| *s == side).count();
        if !self.cidrs.contains_key(&(side, cidr)) && on_side as u32 >= self.limits.cidrs {
            return Err(capacity(
                "CIDR blocks",
                side_name(side),
                on_side + 1,
                self.limits.cidrs,
            ));
        }
        let key = cidr.trie_key(self.generation);
        self.trie(side)
            .insert(&key, sid, 0)
            .map_err(|e| EnforceError::map(&format!("blocking {cidr}"), e))?;
        self.cidrs.insert((side, cidr), sid);
        self.publish_blocks()
    }

    /// Removes an address block; returns whether it existed.
    pub fn unblock_cidr(&mut self, side: Side, cidr: Cidr) -> Result<bool, EnforceError> {
        if self.cidrs.remove(&(side, cidr)).is_none() {
            return Ok(false);
        }
        let key = cidr.trie_key(self.generation);
        self.trie(side)
            .remove(&key)
            .map_err(|e| EnforceError::map(&format!("unblocking {cidr}"), e))?;
        self.publish_blocks()?;
        Ok(true)
    }

    /// Blocks TCP or UDP packets whose `side` port is `port`.
    pub fn block_port(
        &mut self,
        protocol: Protocol,
        port: u16,
        side: Side,
        sid: u32,
    ) -> Result<(), EnforceError> {
        let block = PortBlock {
            protocol,
            port,
            side,
        };
        let n = self.port_blocks.len();
        if !self.port_blocks.contains_key(&block) && n as u32 >= self.limits.ports {
            return Err(capacity("port blocks", "", n + 1, self.limits.ports));
        }
        self.ports
            .insert(port_key(self.generation, &block), sid, 0)
            .map_err(|e| EnforceError::map(&format!("blocking port {port}"), e))?;
        self.port_blocks.insert(block, sid);
        self.publish_blocks()
    }

    /// Removes a port block; returns whether it existed.
    pub fn unblock_port(
        &mut self,
        protocol: Protocol,
        port: u16,
        side: Side,
    ) -> Result<bool, EnforceError> {
        let block = PortBlock {
            protocol,
            port,
            side,
        };
        if self.port_blocks.remove(&block).is_none() {
            return Ok(false);
        }
        self.ports
            .remove(&port_key(self.generation, &block))
            .map_err(|e| EnforceError::map(&format!("unblocking port {port}"), e))?;
        self.publish_blocks()?;
        Ok(true)
    }

    /// Sets the verdict of a flow, both directions: every later packet of it
    /// is dropped ([`Verdict::Drop`]) or skips the pattern automaton
    /// ([`Verdict::Allow`]).
    pub fn set_flow_verdict(
        &mut self,
        flow: &FlowTuple,
        verdict: Verdict,
        sid: u32,
    ) -> Result<(), EnforceError> {
        let value = FlowVerdict {
            action: match verdict {
                Verdict::Drop => action::DROP,
                Verdict::Allow => action::ALLOW,
            },
            _pad: [0; 3],
            sid,
        };
        for key in [flow.key(), flow.reversed().key()] {
            self.flows
                .insert(key, value, 0)
                .map_err(|e| EnforceError::map("setting a flow verdict", e))?;
        }
        if !self.flows_present {
            self.flows_present = true;
            self.publish_blocks()?;
        }
        Ok(())
    }

    /// Releases a flow the kernel's automaton dropped a packet of, after the
    /// full rule did not confirm the hit: sets an allow verdict (so the
    /// retransmission passes) and counts the release.
    pub fn release_flow(&mut self, flow: &FlowTuple, sid: u32) -> Result<(), EnforceError> {
        self.set_flow_verdict(flow, Verdict::Allow, sid)?;
        self.releases += 1;
        Ok(())
    }

    /// Forgets a flow's verdict, both directions.
    pub fn clear_flow(&mut self, flow: &FlowTuple) -> Result<(), EnforceError> {
        for key in [flow.key(), flow.reversed().key()] {
            match self.flows.remove(&key) {
                Ok(()) | Err(aya::maps::MapError::KeyNotFound) => {}
                Err(e) => return Err(EnforceError::map("clearing a flow verdict", e)),
            }
        }
        Ok(())
    }

    /// Header-only capture: the TCP payload of `flow` (this direction) in
    /// sequence range `[body_seq, body_seq + body_len)` is body, sent to user
    /// space without payload bytes. Needs `EnforceConfig::header_only`.
    pub fn skip_body(
        &mut self,
        flow: &FlowTuple,
        body_seq: u32,
        body_len: u32,
    ) -> Result<(), EnforceError> {
        self.body
            .insert(flow.key(), BodySkip { body_seq, body_len }, 0)
            .map_err(|e| EnforceError::map("setting a body region", e))
    }

    /// Forgets the body region of `flow` (this direction).
    pub fn clear_body(&mut self, flow: &FlowTuple) -> Result<(), EnforceError> {
        match self.body.remove(&flow.key()) {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(e) => Err(EnforceError::map("clearing a body region", e)),
        }
    }

    /// Replaces every address, port and pattern block with `set`, atomically
    /// for the kernel: the new set is written under the next generation (the
    /// automaton into the other bank) while the old one stays in force, then
    /// one map write switches generations, then the old entries are deleted.
    /// A set that does not fit the load-time limits is refused before
    /// anything changes. Flow verdicts are kept.
    pub fn replace(&mut self, set: &BlockSet) -> Result<(), EnforceError> {
        let cidrs: StdHashMap<(Side, Cidr), u32> =
            set.cidrs.iter().map(|&(s, c, sid)| ((s, c), sid)).collect();
        for side in [Side::Src, Side::Dst] {
            let n = cidrs.keys().filter(|(s, _)| *s == side).count();
            if n as u32 > self.limits.cidrs {
                return Err(capacity(
                    "CIDR blocks",
                    side_name(side),
                    n,
                    self.limits.cidrs,
                ));
            }
        }
        let ports: StdHashMap<PortBlock, u32> = set.ports.iter().copied().collect();
        if ports.len() as u32 > self.limits.ports {
            return Err(capacity("port blocks", "", ports.len(), self.limits.ports));
        }
        let dfa = if set.patterns.is_empty() {
            None
        } else {
            let dfa = CompiledDfa::compile(&set.patterns)?;
            self.check_dfa_fits(&dfa)?;
            Some(dfa)
        };

        let next = self.generation.wrapping_add(1);
        let written = self
            .write_generation(next, &cidrs, &ports, dfa.as_ref())
            .and_then(|automaton| {
                let bank = Bank {
                    blocks: self.blocks_of(&cidrs, &ports),
                    ..automaton
                };
                self.banks
                    .set(next & 1, bank, 0)
                    .map_err(|e| EnforceError::map("BANKS", e))?;
                Ok(automaton)
            });
        let automaton = match written {
            Ok(a) => a,
            Err(e) => {
                self.remove_generation(next, &cidrs, &ports);
                return Err(e);
            }
        };
        self.active
            .set(0, ActiveState { generation: next }, 0)
            .map_err(|e| EnforceError::map("switching the block generation", e))?;
        let (old_cidrs, old_ports) = (
            std::mem::replace(&mut self.cidrs, cidrs),
            std::mem::replace(&mut self.port_blocks, ports),
        );
        self.remove_generation(self.generation, &old_cidrs, &old_ports);
        self.generation = next;
        self.automaton = automaton;
        self.patterns = set.patterns.len();
        Ok(())
    }

    fn check_dfa_fits(&self, dfa: &CompiledDfa) -> Result<(), EnforceError> {
        if dfa.states() > self.limits.dfa_states {
            return Err(capacity(
                "automaton states",
                "",
                dfa.states() as usize,
                self.limits.dfa_states,
            ));
        }
        if dfa.transitions() > self.limits.dfa_transitions {
            return Err(capacity(
                "automaton transitions",
                "",
                dfa.transitions() as usize,
                self.limits.dfa_transitions,
            ));
        }
        if !dfa.fits_kernel_table() {
            return Err(EnforceError::new(
                Kind::Capacity,
                format!(
                    "an automaton of {} states by {} byte classes does not fit the kernel's \
                     table: its rows take {} 64-byte units ({} each), the table holds {}",
                    dfa.states(),
                    dfa.class_count(),
                    dfa.table_units(),
                    dfa.row_units(),
                    sensor_common::enforce::DFA_MAX_ROW_UNITS,
                ),
            ));
        }
        Ok(())
    }

    fn write_generation(
        &mut self,
        generation: u32,
        cidrs: &StdHashMap<(Side, Cidr), u32>,
        ports: &StdHashMap<PortBlock, u32>,
        dfa: Option<&CompiledDfa>,
    ) -> Result<Bank, EnforceError> {
        for (&(side, cidr), &sid) in cidrs {
            self.trie(side)
                .insert(&cidr.trie_key(generation), sid, 0)
                .map_err(|e| EnforceError::map(&format!("blocking {cidr}"), e))?;
        }
        for (block, &sid) in ports {
            self.ports
                .insert(port_key(generation, block), sid, 0)
                .map_err(|e| EnforceError::map(&format!("blocking port {}", block.port), e))?;
        }
        self.write_dfa_bank(generation & 1, dfa)
    }

    /// Writes `dfa`'s tables into `bank` (not in force while written) and
    /// returns its shape for the bank's `BANKS` entry, which the caller
    /// writes last.
    fn write_dfa_bank(
        &mut self,
        bank: u32,
        dfa: Option<&CompiledDfa>,
    ) -> Result<Bank, EnforceError> {
        let Some(dfa) = dfa else {
            return Ok(Bank::default());
        };
        let table = kernel_table(dfa);
        self.dfa_table
            .set(bank, table, 0)
            .map_err(|e| EnforceError::map("DFA_TABLE", e))?;
        let state_base = bank * self.limits.dfa_states;
        for state in dfa.match_states() {
            self.dfa_matches
                .set(state_base + state, dfa.match_table()[state as usize], 0)
                .map_err(|e| EnforceError::map("DFA_MATCHES", e))?;
        }
        if let Some(grams) = dfa.grams() {
            self.gram_filter
                .set(bank, grams.filter(), 0)
                .map_err(|e| EnforceError::map("GRAM_FILTER", e))?;
        }
        Ok(Bank {
            states: dfa.states(),
            classes: dfa.class_count(),
            row_units: dfa.row_units(),
            start_row: dfa.start() * dfa.row_units(),
            class_shift: dfa_class_shift(dfa.class_count()),
            blocks: 0,
            max_len: dfa.max_pattern_len(),
            gram_stride: dfa.grams().map_or(0, GramSampling::stride),
        })
    }

    /// Which maps hold entries, for [`Bank::blocks`].
    fn blocks_of(
        &self,
        cidrs: &StdHashMap<(Side, Cidr), u32>,
        ports: &StdHashMap<PortBlock, u32>,
    ) -> u32 {
        let mut bits = 0;
        if cidrs.keys().any(|(s, _)| *s == Side::Src) {
            bits |= blocks::CIDR_SRC;
        }
        if cidrs.keys().any(|(s, _)| *s == Side::Dst) {
            bits |= blocks::CIDR_DST;
        }
        if !ports.is_empty() {
            bits |= blocks::PORTS;
        }
        if self.flows_present {
            bits |= blocks::FLOWS;
        }
        bits
    }

    /// Rewrites the `BANKS` entry of the generation in force after an
    /// incremental change: only `blocks` changes, so a concurrent reader
    /// sees the automaton fields unchanged either way. Called after adding
    /// entries (so they are present before the kernel looks) and after
    /// removing them.
    fn publish_blocks(&mut self) -> Result<(), EnforceError> {
        let bank = Bank {
            blocks: self.blocks_of(&self.cidrs, &self.port_blocks),
            ..self.automaton
        };
        self.banks
            .set(self.generation & 1, bank, 0)
            .map_err(|e| EnforceError::map("BANKS", e))
    }

    /// Deletes the address and port entries of `generation` (best effort:
    /// leftovers of a retired generation are never consulted).
    fn remove_generation(
        &mut self,
        generation: u32,
        cidrs: &StdHashMap<(Side, Cidr), u32>,
        ports: &StdHashMap<PortBlock, u32>,
    ) {
        for &(side, cidr) in cidrs.keys() {
            if let Err(e) = self.trie(side).remove(&cidr.trie_key(generation)) {
                log::debug!("removing {cidr} of generation {generation}: {e}");
            }
        }
        for block in ports.keys() {
            if let Err(e) = self.ports.remove(&port_key(generation, block)) {
                log::debug!(
                    "removing port {} of generation {generation}: {e}",
                    block.port
                );
            }
        }
    }

    fn trie(&mut self, side: Side) -> &mut LpmTrie<MapData, CidrKey, u32> {
        match side {
            Side::Src => &mut self.cidr_src,
            Side::Dst => &mut self.cidr_dst,
        }
    }
}

/// `dfa` as the kernel walks it (see `sensor_common::enforce::Bank`): the
/// class map with classes doubled (up to 128 classes), rows in state order
/// each on its own 64-byte units, transitions holding the next row's unit,
/// every
/// transition of a state that completes a pattern leading back to it (the
/// walk tests for a match once per run of bytes, not per byte), and those
/// states' units marked in `matches`. The caller checked that it fits
/// ([`CompiledDfa::fits_kernel_table`]).
fn kernel_table(dfa: &CompiledDfa) -> Box<DfaTable> {
    let classes = dfa.class_count() as usize;
    let units = dfa.row_units() as usize;
    // SAFETY: `DfaTable` is plain integers, for which zero is valid; boxed
    // directly, as 4 MiB would not fit on a thread's stack.
    let mut table: Box<DfaTable> = unsafe { Box::new_zeroed().assume_init() };
    let unit_of = |state: u32| -> u16 {
        u16::try_from(state as usize * units).expect("checked by fits_kernel_table")
    };
    let source = dfa.transition_table();
    let entries_per_unit = sensor_common::enforce::DFA_ROW_UNIT / 2;
    let matching = dfa.match_states();
    for (state, row) in source.chunks(classes).enumerate() {
        let state = state as u32;
        let at = state as usize * units * entries_per_unit;
        let out = &mut table.transitions[at..at + classes];
        if matching.binary_search(&state).is_ok() {
            out.fill(unit_of(state));
            table.matches[usize::from(unit_of(state))] = 1;
        } else {
            for (slot, &t) in out.iter_mut().zip(row) {
                *slot = unit_of(t & !DFA_MATCH_BIT);
            }
        }
    }
    let doubling = 1 - dfa_class_shift(dfa.class_count());
    for (slot, &class) in table.classes.iter_mut().zip(dfa.class_map()) {
        *slot = class << doubling;
    }
    table
}

fn port_key(generation: u32, block: &PortBlock) -> PortKey {
    PortKey {
        generation,
        port: block.port,
        protocol: block.protocol.number(),
        side: block.side as u8,
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Src => " (source)",
        Side::Dst => " (destination)",
    }
}

fn capacity(what: &str, qualifier: &str, needed: usize, limit: u32) -> EnforceError {
    EnforceError::new(
        Kind::Capacity,
        format!(
            "the rule set needs {needed} {what}{qualifier} but the kernel map was sized for \
             {limit} when the capture started (twice the rule set then in force); restart the \
             sensor to size it for this rule set"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enforce::Pattern;

    /// The kernel's walk (sensor-ebpf's `dfa::step`) over a laid-out
    /// table: it tests for a match only at the end of each run of `run`
    /// bytes (and at the end), so a match state must hold. Returns the
    /// matching state.
    fn kernel_walk(table: &DfaTable, dfa: &CompiledDfa, hay: &[u8], run: usize) -> Option<u32> {
        use sensor_common::enforce::{DFA_ROW_UNIT, DFA_ROW_UNIT_SHIFT};
        let row_units = dfa.row_units();
        let shift = dfa_class_shift(dfa.class_count());
        let mut row = 0u16;
        for chunk in hay.chunks(run) {
            for &b in chunk {
                let at = (usize::from(row) << DFA_ROW_UNIT_SHIFT)
                    + (usize::from(table.classes[b as usize]) << shift);
                assert!(at < DFA_ROW_UNIT * (usize::from(row) + row_units as usize));
                row = table.transitions[at / 2];
            }
            if table.matches[usize::from(row)] != 0 {
                return Some(u32::from(row) / row_units);
            }
        }
        None
    }

    /// Each of `sids`' patterns, planted in a request, is found by the
    /// kernel's walk of the laid-out table, whatever bytes follow it in the
    /// same run; `benign` matches nothing.
    fn assert_kernel_walk_finds(patterns: &[Pattern], sids: &[u32], benign: &[u8]) {
        let dfa = CompiledDfa::compile(patterns).unwrap();
        assert!(dfa.fits_kernel_table());
        assert_eq!(dfa.start(), 0);
        let table = kernel_table(&dfa);
        for &i in sids {
            let p = &patterns[i as usize];
            let mut hay = b"GET /?q=".to_vec();
            hay.extend_from_slice(&p.bytes);
            // Bytes after the match, some of them in the same run.
            hay.extend_from_slice(b" HTTP/1.1\r\nHost: sig3-0001-y\r\n\r\n");
            for run in [1, 16, 64] {
                let state = kernel_walk(&table, &dfa, &hay, run).expect("kernel hit");
                assert_eq!(dfa.match_table()[state as usize].sid, i, "run of {run}");
            }
            assert_eq!(dfa.find(&hay).map(|(_, sid)| sid), Some(i));
        }
        assert_eq!(kernel_walk(&table, &dfa, benign, 16), None);
    }

    #[test]
    fn the_kernel_table_walks_like_the_dense_automaton() {
        let patterns: Vec<Pattern> = (0..1000)
            .map(|i| {
                let h = u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                Pattern::new(format!("{h:016x}/{i}"), i)
            })
            .collect();
        let benign = b"GET /index.html HTTP/1.1\r\nHost: sig3-0001-y\r\n\r\n";
        assert_kernel_walk_finds(&patterns, &[0, 1, 500, 998, 999], benign);
    }

    /// More than 128 byte classes: the class map holds classes undoubled
    /// and the walk doubles them.
    #[test]
    fn the_kernel_table_takes_more_than_128_classes() {
        let patterns: Vec<Pattern> = (0..150u8)
            .map(|i| Pattern::new(vec![i + 1, 254 - i, b'!'], u32::from(i)))
            .collect();
        let dfa = CompiledDfa::compile(&patterns).unwrap();
        assert!(dfa.class_count() > 128, "{}", dfa.class_count());
        assert_eq!(dfa_class_shift(dfa.class_count()), 1);
        assert_kernel_walk_finds(&patterns, &[0, 77, 149], b"GET /index.html HTTP/1.1\r\n");
    }
}
