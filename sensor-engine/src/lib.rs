//! Vigil's detection engine.
//!
//! [`EngineBuilder`] compiles rules (the typed representation of
//! `sensor-rules`) into an immutable [`Engine`]: rules grouped by input
//! kind, transport and flow direction; per inspected buffer, one
//! multi-literal scanner over the fast patterns of every rule of the group
//! — SIMD pair search for a few literals, a strided hashed gram filter for
//! the others (see `scan.rs` for why); the rules whose fast pattern
//! occurred (or whose one required first byte is there) are candidates;
//! their other required contents are confirmed from the scan, or searched
//! for once on demand; exact checks (contents with positions and
//! Suricata's backtracking, regexes, header keywords, flow, address and
//! port sets, boolean expressions) run only for the candidates that pass,
//! plus the rules with no prefilter at all ("checked always"). Rates
//! (thresholds, detection filters) are counted with bounded memory on
//! packet time.
//!
//! The caller describes a packet or transaction through the [`Input`]
//! trait, keeps one [`Scratch`] per worker, and receives alerts through a
//! [`Sink`]. [`SharedEngine`] swaps engines atomically on reload.
//!
//! ```
//! use sensor_engine::{BufferId, EngineBuilder, FlowDir, Input, InputKind, PacketMeta, Scratch};
//! use sensor_rules::{LoadOptions, RuleSet};
//!
//! let text = r#"alert http any any -> any any (msg:"admin page"; flow:established,to_server; http.uri; content:"/admin"; nocase; sid:1000;)"#;
//! let (set, _) = RuleSet::load_str("local.rules", text, &LoadOptions::default());
//! let engine = EngineBuilder::new().rules(set.into_rules()).build().unwrap();
//!
//! struct Uri(PacketMeta, &'static [u8]);
//! impl Input for Uri {
//!     fn meta(&self) -> &PacketMeta { &self.0 }
//!     fn buffer(&self, id: BufferId) -> Option<&[u8]> {
//!         (id == BufferId::HttpUri).then_some(self.1)
//!     }
//! }
//! let meta = PacketMeta {
//!     kind: InputKind::HttpRequest,
//!     ip_proto: 6,
//!     direction: FlowDir::ToServer,
//!     established: true,
//!     ..PacketMeta::default()
//! };
//! let mut scratch = Scratch::new();
//! let mut alerts: Vec<(u32, u32)> = Vec::new();
//! engine.inspect(&Uri(meta, b"/ADMIN/login"), &mut scratch, &mut alerts);
//! assert_eq!(alerts, [(1, 1000)]);
//! ```

mod addr_index;
mod applies;
mod cexpr;
mod chain;
mod common_grams;
mod engine;
mod error;
mod fields;
mod fold;
#[cfg(target_arch = "x86_64")]
mod gram_probe;
mod input;
mod literals;
mod memo;
mod rates;
pub mod reference;
mod regexes;
mod reload;
mod sample;
mod scan;
mod sink;
mod target;
#[cfg(target_arch = "x86_64")]
mod teddy;

pub use applies::Transport;
pub use engine::{
    DEFAULT_DFA_MAX_PATTERNS, DEFAULT_MIN_FAST_PATTERN_LEN, DEFAULT_RATE_CAPACITY, Engine,
    EngineBuilder, EngineStats, GroupStats, ScanStats, Scratch,
};
pub use error::{BuildError, BuildErrorKind};
pub use input::{BufferId, FlowDir, Input, InputKind, PacketMeta, ip_options};
pub use literals::ScanSlot;
pub use rates::{RateStats, Rates};
pub use reload::SharedEngine;
pub use sink::{Match, RuleId, Sink};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Engine>();
        check::<SharedEngine>();
        check::<Scratch>();
    }
}
