//! Where alerts go: the engine pushes each one into a [`Sink`].

use sensor_rules::ir::{Action, Rule};

/// A rule's position in the engine (its index in load order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub u32);

impl RuleId {
    /// The index as `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One alert (or `pass` verdict) raised by an inspection.
#[derive(Clone, Copy, Debug)]
pub struct Match<'e> {
    /// The rule's index in the engine.
    pub id: RuleId,
    /// Generator id.
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Revision.
    pub rev: u32,
    /// What to do: `Alert`, `Drop`, `Reject`, or `Pass` (a matching pass
    /// rule is reported alone: it silences every other rule for this input).
    pub action: Action,
    /// The rule and all its metadata (message, classtype, references...).
    pub rule: &'e Rule,
}

/// Receives alerts.
///
/// Implemented for closures and for `Vec<(u32, u32)>` (gid, sid), handy in
/// tests:
///
/// ```
/// use sensor_engine::{Match, Sink};
/// let mut count = 0;
/// let mut sink = |_m: &Match<'_>| count += 1;
/// let _: &mut dyn Sink = &mut sink;
/// ```
pub trait Sink {
    /// Called once per alert, in rule load order.
    fn alert(&mut self, m: &Match<'_>);
}

impl<F: FnMut(&Match<'_>)> Sink for F {
    fn alert(&mut self, m: &Match<'_>) {
        self(m)
    }
}

impl Sink for Vec<(u32, u32)> {
    fn alert(&mut self, m: &Match<'_>) {
        self.push((m.gid, m.sid));
    }
}
