//! How enforcement is set up at load time: the mode, what the pattern
//! automaton inspects, and the sizes of the kernel maps.

use aya::EbpfLoader;
use sensor_common::enforce::{DFA_MAX_TRANSITIONS, directions};

use super::{BlockSet, CompiledDfa, EnforceError, EnforceErrorKind, Side};

/// Whether drop rules are enforced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Detection only: the TC program never drops (the default).
    #[default]
    Ids,
    /// Prevention: the TC program drops what the block maps say.
    Ips,
}

/// Which packets the pattern automaton inspects, by TC direction. Attached
/// on the server's interface, ingress is client to server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatternDirections {
    /// Packets arriving at the interface.
    pub ingress: bool,
    /// Packets leaving it.
    pub egress: bool,
}

impl Default for PatternDirections {
    /// Ingress only.
    fn default() -> Self {
        PatternDirections {
            ingress: true,
            egress: false,
        }
    }
}

impl PatternDirections {
    fn bits(self) -> u8 {
        let mut bits = 0;
        if self.ingress {
            bits |= directions::INGRESS;
        }
        if self.egress {
            bits |= directions::EGRESS;
        }
        bits
    }
}

/// Capacities of the kernel's block maps, fixed when the program is loaded.
///
/// Address and port blocks and the automaton are double-buffered for atomic
/// reloads (see `sensor_common::enforce`), so their maps are created at twice
/// these sizes; a rule set whose blocks exceed them is refused with an
/// [`EnforceErrorKind::Capacity`] error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnforceLimits {
    /// CIDR blocks per side (source, destination).
    pub cidrs: u32,
    /// (protocol, port, side) blocks.
    pub ports: u32,
    /// Flow-verdict entries (each verdict takes two: both directions), and
    /// TCP flow directions whose automaton state carries over to the next
    /// segment. The least recently used entries are evicted when full.
    pub flows: u32,
    /// States of the pattern automaton.
    pub dfa_states: u32,
    /// Transitions of the pattern automaton (states x byte classes), at
    /// most [`DFA_MAX_TRANSITIONS`]. Each bank's kernel table is one 4 MiB
    /// map value whatever this limit (one pointer for the walk); what it
    /// holds is checked apart ([`super::CompiledDfa::fits_kernel_table`]).
    pub dfa_transitions: u32,
    /// Flow directions with a body region (header-only capture); LRU.
    pub body_flows: u32,
}

impl Default for EnforceLimits {
    /// 1,024 CIDRs per side and ports, 64 Ki flow entries, an automaton of
    /// 4,096 states by 64 classes, 16 Ki body regions.
    fn default() -> Self {
        EnforceLimits {
            cidrs: 1024,
            ports: 1024,
            flows: 65536,
            dfa_states: 4096,
            dfa_transitions: 4096 * 64,
            body_flows: 16384,
        }
    }
}

impl EnforceLimits {
    /// Limits that fit `dfa` with room for a rule set twice its size on
    /// reload, and the defaults for everything else. The transition limit
    /// is the kernel table's: its map value has that size whatever the
    /// automaton.
    pub fn fitting(dfa: &CompiledDfa) -> EnforceLimits {
        let d = EnforceLimits::default();
        EnforceLimits {
            dfa_states: d.dfa_states.max(dfa.states().saturating_mul(2)),
            dfa_transitions: DFA_MAX_TRANSITIONS as u32,
            ..d
        }
    }

    /// Limits that fit a whole block set (address and port blocks, and its
    /// automaton `dfa`) with room for one twice its size on reload, and at
    /// least the defaults.
    pub fn for_blocks(set: &BlockSet, dfa: Option<&CompiledDfa>) -> EnforceLimits {
        let base = dfa.map_or_else(EnforceLimits::default, EnforceLimits::fitting);
        let per_side = [Side::Src, Side::Dst]
            .map(|side| set.cidrs.iter().filter(|(s, _, _)| *s == side).count())
            .into_iter()
            .max()
            .unwrap_or(0);
        let doubled = |n: usize| u32::try_from(n.saturating_mul(2)).unwrap_or(u32::MAX);
        EnforceLimits {
            cidrs: base.cidrs.max(doubled(per_side)),
            ports: base.ports.max(doubled(set.ports.len())),
            ..base
        }
    }
}

/// Enforcement settings of a capture (`CaptureConfig::enforce`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnforceConfig {
    /// IDS (default) or IPS.
    pub mode: Mode,
    /// Directions the pattern automaton inspects.
    pub pattern_directions: PatternDirections,
    /// Map capacities.
    pub limits: EnforceLimits,
    /// Header-only capture: honour the body regions user space sets
    /// ([`super::Enforcer::skip_body`]).
    pub header_only: bool,
    /// Payload bytes per packet the pattern automaton inspects at most
    /// (`None`: everything captured, up to the snap length). The automaton
    /// costs about 0.8 ns per byte with 1,000 patterns (four lanes; more
    /// when its rows are not in cache); this bounds it per packet.
    pub pattern_depth: Option<u32>,
}

impl EnforceConfig {
    /// Checks the limits are usable (non-zero, and small enough to double).
    pub fn validate(&self) -> Result<(), EnforceError> {
        let l = &self.limits;
        for (name, value) in [
            ("cidrs", l.cidrs),
            ("ports", l.ports),
            ("flows", l.flows),
            ("dfa_states", l.dfa_states),
            ("dfa_transitions", l.dfa_transitions),
            ("body_flows", l.body_flows),
        ] {
            if value == 0 || value > 1 << 28 {
                return Err(EnforceError::new(
                    EnforceErrorKind::Invalid,
                    format!("enforcement limit {name} = {value} must be between 1 and 2^28"),
                ));
            }
        }
        if l.dfa_transitions as usize > DFA_MAX_TRANSITIONS {
            return Err(EnforceError::new(
                EnforceErrorKind::Invalid,
                format!(
                    "enforcement limit dfa_transitions = {} exceeds the automaton's \
                     {DFA_MAX_TRANSITIONS} (the most user space builds for the kernel)",
                    l.dfa_transitions
                ),
            ));
        }
        Ok(())
    }

    /// The program's load-time globals for this configuration.
    pub(crate) fn globals(&self) -> EnforceGlobals {
        EnforceGlobals {
            enforce: u8::from(self.mode == Mode::Ips),
            pattern_directions: self.pattern_directions.bits(),
            header_only: u8::from(self.header_only),
            pattern_depth: self.pattern_depth.unwrap_or(0),
            limits: self.limits,
        }
    }
}

/// Values the loader patches into the program: the loader borrows them
/// until the object is loaded.
pub(crate) struct EnforceGlobals {
    enforce: u8,
    pattern_directions: u8,
    header_only: u8,
    pattern_depth: u32,
    limits: EnforceLimits,
}

impl EnforceGlobals {
    /// Patches the program's globals and map sizes.
    pub(crate) fn apply<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        let l = &self.limits;
        loader
            .override_global("ENFORCE", &self.enforce, true)
            .override_global("PATTERN_DIRECTIONS", &self.pattern_directions, true)
            .override_global("HEADER_ONLY", &self.header_only, true)
            .override_global("PATTERN_DEPTH", &self.pattern_depth, true)
            .override_global("DFA_BANK_STATES", &l.dfa_states, true)
            .map_max_entries("CIDR_SRC", 2 * l.cidrs)
            .map_max_entries("CIDR_DST", 2 * l.cidrs)
            .map_max_entries("PORTS", 2 * l.ports)
            .map_max_entries("FLOWS", l.flows)
            .map_max_entries("DFA_RESUME", l.flows)
            .map_max_entries("DFA_MATCHES", 2 * l.dfa_states)
            .map_max_entries("BODY_SKIP", l.body_flows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The transition budget has a ceiling: a limit beyond it is refused
    /// with the numbers, and limits fitted to an automaton never exceed it
    /// and always hold the automaton.
    #[test]
    fn transition_limit_has_a_ceiling() {
        let mut config = EnforceConfig::default();
        config.limits.dfa_transitions = DFA_MAX_TRANSITIONS as u32;
        assert!(config.validate().is_ok());
        config.limits.dfa_transitions = DFA_MAX_TRANSITIONS as u32 + 1;
        let e = config.validate().unwrap_err();
        assert!(e.to_string().contains("2097153"), "{e}");
        assert!(e.to_string().contains("2097152"), "{e}");

        // 1,000 patterns of 10 to 17 bytes: some 620,000 transitions.
        let patterns = crate::bench::frames::attack_patterns(1000);
        let dfa = CompiledDfa::compile(&patterns).unwrap();
        assert!(dfa.transitions() > 600_000, "{}", dfa.transitions());
        let fitted = EnforceLimits::fitting(&dfa);
        assert_eq!(fitted.dfa_transitions as usize, DFA_MAX_TRANSITIONS);
        assert!(fitted.dfa_transitions >= dfa.transitions());
        assert!(dfa.fits_kernel_table());
    }

    #[test]
    fn maps_are_sized_for_twice_the_block_set() {
        use crate::enforce::{Cidr, Protocol};
        let small = EnforceLimits::for_blocks(&BlockSet::default(), None);
        assert_eq!(small, EnforceLimits::default());

        let mut set = BlockSet::default();
        for i in 0..3000u32 {
            let addr = std::net::Ipv4Addr::from(0xc612_0000 + i);
            set.block_cidr(Side::Src, Cidr::new(addr.into(), 32).unwrap(), i);
        }
        set.block_cidr(Side::Dst, "10.0.0.0/8".parse().unwrap(), 1);
        for port in 1..=700 {
            set.block_port(Protocol::Tcp, port, Side::Dst, 2);
        }
        let limits = EnforceLimits::for_blocks(&set, None);
        assert_eq!(limits.cidrs, 6000, "the larger side, doubled");
        assert_eq!(limits.ports, 1400);
        assert_eq!(limits.dfa_states, EnforceLimits::default().dfa_states);
    }
}
