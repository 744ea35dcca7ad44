//! Errors building an engine.

use std::fmt;

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuildErrorKind {
    /// A regex could not be compiled (too big, or not supported).
    Regex,
    /// A prefilter automaton could not be built.
    Automaton,
    /// Strict mode: some rule could not be compiled.
    Strict,
}

/// An error building an engine, or compiling one rule (see
/// [`crate::EngineStats::skipped`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    /// The kind.
    pub kind: BuildErrorKind,
    /// The rule concerned, as (gid, sid), when there is one.
    pub rule: Option<(u32, u32)>,
    /// What happened.
    pub message: String,
}

impl BuildError {
    pub(crate) fn new(kind: BuildErrorKind, message: String) -> Self {
        BuildError {
            kind,
            rule: None,
            message,
        }
    }

    pub(crate) fn for_rule(mut self, gid: u32, sid: u32) -> Self {
        self.rule = Some((gid, sid));
        self
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            Some((gid, sid)) => write!(f, "rule {gid}:{sid}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for BuildError {}
