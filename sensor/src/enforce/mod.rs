//! In-kernel enforcement (IPS mode): what user space tells the TC program to
//! drop, and how.
//!
//! The TC program consults, for every packet, in this order: the flow-verdict
//! map (drop the flow, or let it skip the pattern automaton), the source and
//! destination CIDR tries, the blocked (protocol, port, side) set, and, for
//! payload packets in the inspected direction, a DFA compiled from literal
//! patterns. A dropped packet still yields a ring record flagged dropped,
//! with the reason and rule ([`crate::capture::DropInfo`]).
//!
//! In IDS mode ([`Mode::Ids`], the default) the program does none of this:
//! the maps exist and can be filled, but nothing is dropped.
//!
//! The automaton runs on each TCP/UDP payload packet of the inspected
//! direction (ingress by default), over the captured bytes (at most
//! `EnforceConfig::pattern_depth`). On TCP it resumes, for a segment that
//! follows the previous one in sequence, where it stopped on that one, so
//! a pattern split across segments is dropped with the segment completing
//! it. A hit is a prefilter verdict: user space confirms it with the full
//! rule, and [`Enforcer::release_flow`] lets an unconfirmed flow through.
//!
//! Rule reloads ([`Enforcer::replace`]) are atomic through *generations*:
//! address and port entries are keyed by a generation number and the
//! automaton is double-buffered in two banks; the new set is written under
//! the next generation, then a single 4-byte map write switches the kernel
//! to it, then the old entries are deleted. This was preferred to swapping
//! inner maps of a map-of-maps because aya-ebpf 0.2 has no map-of-maps
//! type on the kernel side, and because one switch covers the tries, the
//! port set and the automaton together. The cost is maps sized at twice the
//! limits.
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use vigil::capture::{CaptureConfig, KernelCapture};
//! use vigil::enforce::{BlockSet, Cidr, Mode, Side};
//! let mut config = CaptureConfig::new("eth0");
//! config.enforce.mode = Mode::Ips;
//! let mut capture = KernelCapture::attach(&config)?;
//! let mut enforcer = capture.enforcer()?;
//! enforcer.block_cidr(Side::Src, "203.0.113.0/24".parse()?, 1001)?;
//! let mut set = BlockSet::default();
//! set.block_cidr(Side::Dst, "198.51.100.7".parse()?, 1002);
//! enforcer.replace(&set)?; // atomically replaces every address, port and pattern block
//! # Ok(()) }
//! ```

mod blockset;
mod cidr;
mod config;
mod determinize;
mod dfa;
mod enforcer;
mod error;
mod flow;
mod grams;
mod pattern;

pub use blockset::{BlockSet, PortBlock};
pub use cidr::Cidr;
pub use config::{EnforceConfig, EnforceLimits, Mode, PatternDirections};
pub use dfa::CompiledDfa;
pub use enforcer::Enforcer;
pub use error::{EnforceError, EnforceErrorKind};
pub use flow::{FlowTuple, Protocol, Verdict};
pub use grams::GramSampling;
pub use pattern::Pattern;
pub use sensor_common::enforce::Side;
