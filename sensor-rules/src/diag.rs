//! Diagnostics: errors, warnings and notes, each with file:line:column, that
//! render like rustc's (the offending line and a caret under the mistake).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// The input is wrong; the rule (or file) did not load.
    Error,
    /// Something is probably not what the author meant, or a rule was
    /// skipped because Vigil does not support a feature it uses.
    Warning,
    /// Information, such as a rule that is checked on every packet.
    Note,
}

impl Level {
    /// `error`, `warning` or `note`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
        }
    }
}

/// What a diagnostic is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiagnosticKind {
    /// The text does not follow the grammar.
    Syntax,
    /// A Suricata option is not terminated by `;`.
    MissingSemicolon,
    /// A string has no closing quote.
    UnclosedString,
    /// A rule option Vigil does not know at all (usually a typo).
    UnknownKeyword,
    /// A rule option Vigil does not implement (`flowbits`, `byte_test`, ...).
    UnsupportedKeyword,
    /// A protocol Vigil does not inspect (`smb`, `ftp`, ...).
    UnsupportedProtocol,
    /// A supported keyword with a value Vigil does not implement.
    UnsupportedValue,
    /// A regular expression that needs backtracking (look-around,
    /// backreferences, ...), which Vigil's linear-time engine cannot run.
    UnsupportedRegex,
    /// A value that is malformed for its keyword.
    InvalidValue,
    /// A malformed address or CIDR.
    BadAddress,
    /// A malformed port or port range.
    BadPort,
    /// `$VAR` with no definition.
    UndefinedVariable,
    /// A required option (`sid`, `msg`...) is missing.
    MissingOption,
    /// A native field name that does not exist.
    UnknownField,
    /// An operator or value that does not fit the field's type.
    TypeMismatch,
    /// A regular expression that does not compile.
    InvalidRegex,
    /// The same gid:sid appears twice.
    DuplicateSid,
    /// A content that can never match (e.g. longer than its depth).
    ContentNeverMatches,
    /// A rule whose conditions contradict each other (e.g. it needs both a
    /// TCP and an ICMP field).
    RuleNeverMatches,
    /// A rule with no content: no fast pattern, checked on every packet or
    /// transaction.
    NoFastPattern,
    /// A file could not be read.
    Io,
    /// A line of `classification.config`/`threshold.config` is wrong.
    Config,
}

impl DiagnosticKind {
    /// A short stable code, shown as `error[code]` and in JSON.
    pub fn code(self) -> &'static str {
        match self {
            DiagnosticKind::Syntax => "syntax",
            DiagnosticKind::MissingSemicolon => "missing-semicolon",
            DiagnosticKind::UnclosedString => "unclosed-string",
            DiagnosticKind::UnknownKeyword => "unknown-keyword",
            DiagnosticKind::UnsupportedKeyword => "unsupported-keyword",
            DiagnosticKind::UnsupportedProtocol => "unsupported-protocol",
            DiagnosticKind::UnsupportedValue => "unsupported-value",
            DiagnosticKind::UnsupportedRegex => "unsupported-regex",
            DiagnosticKind::InvalidValue => "invalid-value",
            DiagnosticKind::BadAddress => "bad-address",
            DiagnosticKind::BadPort => "bad-port",
            DiagnosticKind::UndefinedVariable => "undefined-variable",
            DiagnosticKind::MissingOption => "missing-option",
            DiagnosticKind::UnknownField => "unknown-field",
            DiagnosticKind::TypeMismatch => "type-mismatch",
            DiagnosticKind::InvalidRegex => "invalid-regex",
            DiagnosticKind::DuplicateSid => "duplicate-sid",
            DiagnosticKind::ContentNeverMatches => "content-never-matches",
            DiagnosticKind::RuleNeverMatches => "rule-never-matches",
            DiagnosticKind::NoFastPattern => "no-fast-pattern",
            DiagnosticKind::Io => "io",
            DiagnosticKind::Config => "config",
        }
    }

    /// Whether this reports valid input that Vigil does not support (as
    /// opposed to a mistake in the input).
    pub fn is_unsupported(self) -> bool {
        matches!(
            self,
            DiagnosticKind::UnsupportedKeyword
                | DiagnosticKind::UnsupportedProtocol
                | DiagnosticKind::UnsupportedValue
                | DiagnosticKind::UnsupportedRegex
        )
    }
}

/// One diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Severity.
    pub level: Level,
    /// Category.
    pub kind: DiagnosticKind,
    /// Full message.
    pub message: String,
    /// Short reason, identical for every diagnostic of the same cause (e.g.
    /// "unsupported keyword `flowbits`"): what skipped rules are grouped by.
    pub reason: String,
    /// The file.
    pub file: Arc<Path>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// The text of the offending line (without its newline).
    pub source_line: String,
    /// How many characters the caret underlines (at least 1).
    pub span_chars: u32,
    /// The rule's sid, when known.
    pub sid: Option<u32>,
    /// Whether the rule this diagnostic is about was not loaded.
    pub rule_skipped: bool,
}

impl fmt::Display for Diagnostic {
    /// Renders as rustc does:
    ///
    /// ```text
    /// error[missing-semicolon]: expected `;` after the value of `msg`
    ///  --> local.rules:1:39
    ///   |
    /// 1 | alert tcp any any -> any any (msg:"x" sid:1;)
    ///   |                                       ^
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let num = self.line.to_string();
        let pad = " ".repeat(num.len());
        writeln!(
            f,
            "{}[{}]: {}",
            self.level.as_str(),
            self.kind.code(),
            self.message
        )?;
        writeln!(
            f,
            "{pad}--> {}:{}:{}",
            self.file.display(),
            self.line,
            self.column
        )?;
        if self.line == 0 {
            return Ok(());
        }
        writeln!(f, "{pad} |")?;
        writeln!(f, "{num} | {}", self.source_line)?;
        // Keep tabs so that the caret lines up under tab-indented text.
        let lead: String = self
            .source_line
            .chars()
            .take(self.column.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        write!(
            f,
            "{pad} | {lead}{}",
            "^".repeat(self.span_chars.max(1) as usize)
        )
    }
}

impl std::error::Error for Diagnostic {}

/// A source file's text with its line index, to turn byte offsets into
/// diagnostics.
#[derive(Debug)]
pub struct Source {
    /// The path, shared by every diagnostic and rule from this file.
    pub path: Arc<Path>,
    /// The full text.
    pub text: String,
    line_starts: Vec<usize>,
}

impl Source {
    /// Indexes `text` read from `path`.
    /// A leading byte-order mark is dropped.
    pub fn new(path: impl Into<Arc<Path>>, mut text: String) -> Self {
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line number of a byte offset.
    pub fn line_of(&self, offset: usize) -> u32 {
        self.line_starts.partition_point(|&s| s <= offset) as u32
    }

    /// A diagnostic about the bytes `offset..offset + len`.
    pub fn diagnostic(
        &self,
        level: Level,
        kind: DiagnosticKind,
        offset: usize,
        len: usize,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let offset = offset.min(self.text.len());
        let line = self.line_of(offset);
        let start = self.line_starts[line as usize - 1];
        let end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let source_line = self.text[start..end].trim_end_matches('\r').to_string();
        let column = self.text[start..offset].chars().count() as u32 + 1;
        let span_end = (offset + len).min(end).max(offset);
        let span_chars = self
            .text
            .get(offset..span_end)
            .map_or(1, |s| s.chars().count().max(1)) as u32;
        Diagnostic {
            level,
            kind,
            message: message.into(),
            reason: reason.into(),
            file: self.path.clone(),
            line,
            column,
            source_line,
            span_chars,
            sid: None,
            rule_skipped: false,
        }
    }
}

/// A diagnostic about a whole file (I/O), with no position.
pub fn file_diagnostic(path: &Path, kind: DiagnosticKind, message: String) -> Diagnostic {
    Diagnostic {
        level: Level::Error,
        kind,
        reason: message.clone(),
        message,
        file: Arc::from(path),
        line: 0,
        column: 0,
        source_line: String::new(),
        span_chars: 0,
        sid: None,
        rule_skipped: false,
    }
}
