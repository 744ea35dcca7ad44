//! Loading rule files into a [`RuleSet`]: the entry point for the engine,
//! the daemon and `vigil rules check`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Diagnostic, DiagnosticKind, Level, Source, file_diagnostic};
use crate::ir::{Language, Rule};
use crate::suricata::{
    Classification, Classifications, Groups, SuricataContext, ThresholdAction, ThresholdEntry,
    parse_threshold_config,
};
use crate::vars::Vars;

/// A rule as a front end returns it, with the positions the checks after
/// loading point at.
#[derive(Debug)]
pub struct Located {
    /// The rule.
    pub rule: Rule,
    /// File offset of the rule's first character.
    pub start: usize,
    /// File offset and length of the rule's id.
    pub sid_span: (usize, usize),
}

/// How to load rules.
///
/// ```
/// use sensor_rules::LoadOptions;
/// let opts = LoadOptions::default().var("HOME_NET", "[10.0.0.0/8]").strict(true);
/// assert_eq!(opts.vars.get("HOME_NET"), Some("[10.0.0.0/8]"));
/// ```
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Variables (Suricata's defaults unless replaced).
    pub vars: Vars,
    /// `classification.config`; when `None`, a `classification.config`
    /// given among the paths or beside a `.rules` file is used.
    pub classification: Option<PathBuf>,
    /// `threshold.config`; when `None`, one given among the paths is used.
    pub threshold: Option<PathBuf>,
    /// Any skipped rule is an error.
    pub strict: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            vars: Vars::suricata_defaults(),
            classification: None,
            threshold: None,
            strict: false,
        }
    }
}

impl LoadOptions {
    /// Sets a variable (as `--var NAME=VALUE`).
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.set(name, value);
        self
    }

    /// Sets strict mode.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
}

/// Per-file outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSummary {
    /// The file.
    pub path: Arc<Path>,
    /// Language (`None` for config files).
    pub language: Option<Language>,
    /// Rules loaded.
    pub loaded: usize,
    /// Rules skipped.
    pub skipped: usize,
}

/// A loaded, checked set of rules. Immutable once loaded.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    files: Vec<FileSummary>,
    classifications: Classifications,
}

fn language_of(path: &Path) -> Option<Language> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("vigil") => Some(Language::Native),
        Some("rules") => Some(Language::Suricata),
        _ => None,
    }
}

/// Expands directories into their rule and config files, sorted.
fn expand(paths: &[PathBuf], diags: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            match std::fs::read_dir(p) {
                Ok(entries) => {
                    let mut files: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|f| {
                            f.is_file()
                                && (language_of(f).is_some()
                                    || f.file_name().is_some_and(|n| {
                                        n == "classification.config" || n == "threshold.config"
                                    }))
                        })
                        .collect();
                    files.sort();
                    out.extend(files);
                }
                Err(e) => diags.push(file_diagnostic(
                    p,
                    DiagnosticKind::Io,
                    format!("cannot read directory: {e}"),
                )),
            }
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn read(path: &Path, diags: &mut Vec<Diagnostic>) -> Option<Source> {
    match std::fs::read(path) {
        Ok(bytes) => Some(Source::new(
            path,
            String::from_utf8_lossy(&bytes).into_owned(),
        )),
        Err(e) => {
            diags.push(file_diagnostic(
                path,
                DiagnosticKind::Io,
                format!("cannot read `{}`: {e}", path.display()),
            ));
            None
        }
    }
}

impl RuleSet {
    /// Loads rule files (`.rules`: Suricata syntax, `.vigil`: native) and
    /// directories of them. Never fails as a whole: every problem is a
    /// diagnostic, and every rule without an error is loaded.
    ///
    /// ```no_run
    /// use sensor_rules::{LoadOptions, RuleSet, Level};
    /// let (rules, diags) = RuleSet::load(&["rules/".into()], &LoadOptions::default());
    /// for d in diags.iter().filter(|d| d.level == Level::Error) {
    ///     eprintln!("{d}");
    /// }
    /// println!("{} rules", rules.len());
    /// ```
    pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> (RuleSet, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let files = expand(paths, &mut diags);
        let named = |name: &str| {
            files
                .iter()
                .find(|f| f.file_name().is_some_and(|n| n == name))
                .cloned()
        };
        let classification_path = opts
            .classification
            .clone()
            .or_else(|| named("classification.config"))
            .or_else(|| {
                // Beside any rule file: Suricata's layout, and Vigil's
                // `rules/` ships one for its native rules.
                files
                    .iter()
                    .filter(|f| language_of(f).is_some())
                    .filter_map(|f| f.parent().map(|d| d.join("classification.config")))
                    .find(|c| c.is_file())
            });
        let threshold_path = opts.threshold.clone().or_else(|| named("threshold.config"));
        let mut classifications = Classifications::default();
        let mut groups = Groups::new(&opts.vars);
        let mut set = RuleSet::default();
        if let Some(p) = &classification_path
            && let Some(src) = read(p, &mut diags)
        {
            classifications.parse(&src, &mut diags);
        }
        let mut thresholds = Vec::new();
        if let Some(p) = &threshold_path
            && let Some(src) = read(p, &mut diags)
        {
            thresholds = parse_threshold_config(&src, &mut groups, &mut diags);
        }
        let mut located = Vec::new();
        let mut sources = Vec::new();
        for f in &files {
            let is_config = f
                .file_name()
                .is_some_and(|n| n == "classification.config" || n == "threshold.config")
                || Some(f) == classification_path.as_ref()
                || Some(f) == threshold_path.as_ref();
            if is_config {
                continue;
            }
            // A file given explicitly, whatever its name, is Suricata syntax
            // unless it ends in `.vigil`.
            let language = language_of(f).unwrap_or(Language::Suricata);
            if let Some(source) = read(f, &mut diags) {
                set.parse_source(
                    source,
                    language,
                    &mut groups,
                    &classifications,
                    &mut located,
                    &mut sources,
                    &mut diags,
                );
            }
        }
        set.finish(located, &sources, &thresholds, opts, &mut diags);
        set.classifications = classifications;
        (set, diags)
    }

    /// Loads rules from text, as if read from a file named `name` (its
    /// extension picks the language). For tests and embedded rulesets.
    pub fn load_str(name: &str, text: &str, opts: &LoadOptions) -> (RuleSet, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut groups = Groups::new(&opts.vars);
        let classifications = Classifications::default();
        let mut set = RuleSet::default();
        let path = PathBuf::from(name);
        let language = language_of(&path).unwrap_or(Language::Suricata);
        let source = Source::new(path.as_path(), text.to_string());
        let mut located = Vec::new();
        let mut sources = Vec::new();
        set.parse_source(
            source,
            language,
            &mut groups,
            &classifications,
            &mut located,
            &mut sources,
            &mut diags,
        );
        set.finish(located, &sources, &[], opts, &mut diags);
        (set, diags)
    }

    #[allow(clippy::too_many_arguments)]
    fn parse_source(
        &mut self,
        source: Source,
        language: Language,
        groups: &mut Groups<'_>,
        classifications: &Classifications,
        located: &mut Vec<(usize, Located)>,
        sources: &mut Vec<Source>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let before = diags.len();
        let rules = match language {
            Language::Suricata => {
                let mut ctx = SuricataContext {
                    groups,
                    classifications,
                };
                crate::suricata::parse_file(&source, &mut ctx, diags)
            }
            Language::Native => crate::native::parse_file(&source, groups, classifications, diags),
        };
        let skipped = diags[before..].iter().filter(|d| d.rule_skipped).count();
        self.files.push(FileSummary {
            path: source.path.clone(),
            language: Some(language),
            loaded: rules.len(),
            skipped,
        });
        let idx = sources.len();
        located.extend(rules.into_iter().map(|r| (idx, r)));
        sources.push(source);
    }

    /// Checks across rules (duplicate ids), threshold.config, notes about
    /// rules without fast pattern, and strict mode.
    fn finish(
        &mut self,
        located: Vec<(usize, Located)>,
        sources: &[Source],
        thresholds: &[ThresholdEntry],
        opts: &LoadOptions,
        diags: &mut Vec<Diagnostic>,
    ) {
        let mut seen: HashMap<(u32, u32), (Arc<Path>, u32)> = HashMap::new();
        for (src_idx, mut l) in located {
            let source = &sources[src_idx];
            let key = (l.rule.gid, l.rule.sid);
            if let Some((file, line)) = seen.get(&key) {
                let mut d = source.diagnostic(
                    Level::Warning,
                    DiagnosticKind::DuplicateSid,
                    l.sid_span.0,
                    l.sid_span.1,
                    "duplicate sid",
                    format!(
                        "duplicate sid {} (gid {}): already defined at {}:{}; this rule is skipped",
                        key.1,
                        key.0,
                        file.display(),
                        line
                    ),
                );
                d.sid = Some(key.1);
                d.rule_skipped = true;
                diags.push(d);
                if let Some(f) = self.files.iter_mut().find(|f| f.path == source.path) {
                    f.loaded -= 1;
                    f.skipped += 1;
                }
                continue;
            }
            seen.insert(key, (l.rule.origin.file.clone(), l.rule.origin.line));
            for t in thresholds {
                if t.gid == l.rule.gid && (t.sid == 0 || t.sid == l.rule.sid) {
                    match &t.action {
                        ThresholdAction::Rate(r) => l.rule.rate = Some(r.clone()),
                        ThresholdAction::Suppress(s) => l.rule.suppressions.push(s.clone()),
                    }
                }
            }
            if !l.rule.has_fast_pattern() {
                let mut d = source.diagnostic(
                    Level::Note,
                    DiagnosticKind::NoFastPattern,
                    l.start,
                    0,
                    "rule has no content: checked always",
                    format!(
                        "sid {} has no content to prefilter on: it is checked on every {}",
                        l.rule.sid,
                        if l.rule.header.protocol.is_application() {
                            "transaction"
                        } else {
                            "packet"
                        }
                    ),
                );
                d.sid = Some(l.rule.sid);
                diags.push(d);
            }
            self.rules.push(l.rule);
        }
        if opts.strict {
            for d in diags.iter_mut().filter(|d| d.rule_skipped) {
                d.level = Level::Error;
            }
        }
    }

    /// The rules, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rule loaded.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The classtype table that was loaded (empty if none): the
    /// description of a rule's classtype is an alert's category.
    ///
    /// ```
    /// use sensor_rules::{LoadOptions, RuleSet};
    /// let (set, _) = RuleSet::load_str("x.rules", "", &LoadOptions::default());
    /// assert!(set.classification("trojan-activity").is_none());
    /// ```
    pub fn classification(&self, classtype: &str) -> Option<&Classification> {
        self.classifications.get(classtype)
    }

    /// What happened per file.
    pub fn files(&self) -> &[FileSummary] {
        &self.files
    }

    /// Consumes the set into its rules.
    pub fn into_rules(self) -> Vec<Rule> {
        self.rules
    }
}
