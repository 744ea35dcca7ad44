//! Vigil's rule languages, compiled to one checked representation.
//!
//! Two front ends, both pest grammars in the repository's `grammar/`
//! folder, produce the same typed [`ir::Rule`]s:
//!
//! - Suricata syntax (`.rules`), the subset that header inspection can
//!   honour, read as Suricata reads it; rules using anything else are
//!   skipped with a diagnostic naming the keyword;
//! - the native language (`.vigil`), with boolean `when` expressions.
//!
//! [`RuleSet::load`] is the entry point; [`cli`] implements
//! `vigil rules check`.
//!
//! ```
//! use sensor_rules::{LoadOptions, RuleSet};
//! let text = r#"alert http any any -> any any (msg:"x"; http.uri; content:"/admin"; sid:1;)"#;
//! let (set, diags) = RuleSet::load_str("local.rules", text, &LoadOptions::default());
//! assert!(diags.is_empty());
//! assert_eq!(set.rules()[0].sid, 1);
//! ```

pub mod cli;
pub mod diag;
pub mod ir;
pub mod native;
pub mod regex;
pub mod ruleset;
pub mod strings;
pub mod suricata;
pub mod vars;

pub use diag::{Diagnostic, DiagnosticKind, Level};
pub use ruleset::{FileSummary, LoadOptions, RuleSet};
pub use vars::Vars;
