//! `vigil rules check`: parse, validate and compile rule files, and report
//! per file what loaded, what was skipped and why, and every problem.
//!
//! The `sensor` crate mounts [`CheckArgs`] as `vigil rules check`:
//!
//! ```text
//! #[derive(clap::Subcommand)]
//! enum RulesCommand { Check(sensor_rules::cli::CheckArgs) }
//! // ...
//! RulesCommand::Check(args) => sensor_rules::cli::run_check(&args),
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::diag::{Diagnostic, Level};
use crate::ruleset::{LoadOptions, RuleSet};
use crate::vars::Vars;

/// Arguments of `vigil rules check`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CheckArgs {
    /// Rule files and directories: `.rules` (Suricata syntax), `.vigil`
    /// (native), `classification.config`, `threshold.config`.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Treat every skipped rule as an error.
    #[arg(long)]
    pub strict: bool,
    /// Set a variable, e.g. `--var HOME_NET=[10.0.0.0/8]` (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// classification.config to use (default: one among PATHs or beside
    /// the .rules files).
    #[arg(long, value_name = "FILE")]
    pub classification: Option<PathBuf>,
    /// threshold.config to use (default: one among PATHs).
    #[arg(long, value_name = "FILE")]
    pub threshold: Option<PathBuf>,
    /// Show every diagnostic, including each skipped rule and each rule
    /// checked always.
    #[arg(long, short)]
    pub verbose: bool,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    Vars::parse_assignment(s)
}

impl CheckArgs {
    /// The load options these arguments describe.
    pub fn load_options(&self) -> LoadOptions {
        let mut opts = LoadOptions::default().strict(self.strict);
        for (k, v) in &self.vars {
            opts.vars.set(k, v);
        }
        opts.classification = self.classification.clone();
        opts.threshold = self.threshold.clone();
        opts
    }
}

/// A part of the report that another crate adds about the loaded rules
/// (the sensor adds how IPS mode enforces the drop rules).
#[derive(Debug, Clone)]
pub struct ReportSection {
    /// Key of the section in the JSON report.
    pub key: &'static str,
    /// Lines printed after the totals in the text report.
    pub text: String,
    /// The section in the JSON report.
    pub json: serde_json::Value,
}

/// What builds the extra sections from the loaded rule set; `verbose` as
/// `--verbose`.
pub type Sections<'a> = &'a dyn Fn(&RuleSet, bool) -> Vec<ReportSection>;

/// Runs `vigil rules check`, printing to stdout. Exit status 0 when there
/// is no error, 1 otherwise.
pub fn run_check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    run_check_with(args, &|_, _| Vec::new())
}

/// As [`run_check`], with extra report sections.
pub fn run_check_with(args: &CheckArgs, sections: Sections<'_>) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let ok = check_with(args, &mut out, sections)?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Per-file tallies for the report.
#[derive(Default)]
struct FileReport<'d> {
    loaded: usize,
    skipped: usize,
    reasons: BTreeMap<&'d str, usize>,
    warnings: usize,
    errors: usize,
    checked_always: usize,
    diagnostics: Vec<&'d Diagnostic>,
}

/// Runs the check and writes the report to `out`; returns whether it is
/// clean (no error).
pub fn check(args: &CheckArgs, out: &mut dyn Write) -> anyhow::Result<bool> {
    check_with(args, out, &|_, _| Vec::new())
}

/// As [`check`], with extra report sections.
pub fn check_with(
    args: &CheckArgs,
    out: &mut dyn Write,
    sections: Sections<'_>,
) -> anyhow::Result<bool> {
    let (set, diags) = RuleSet::load(&args.paths, &args.load_options());
    let mut files: BTreeMap<Arc<Path>, FileReport<'_>> = BTreeMap::new();
    let mut order: Vec<Arc<Path>> = Vec::new();
    for f in set.files() {
        order.push(f.path.clone());
        let r = files.entry(f.path.clone()).or_default();
        r.loaded = f.loaded;
        r.skipped = f.skipped;
    }
    for d in &diags {
        if !files.contains_key(&d.file) {
            order.push(d.file.clone());
        }
        let r = files.entry(d.file.clone()).or_default();
        if d.rule_skipped {
            *r.reasons.entry(d.reason.as_str()).or_default() += 1;
        }
        match d.level {
            Level::Error => r.errors += 1,
            Level::Warning if !d.rule_skipped || !d.kind.is_unsupported() => r.warnings += 1,
            Level::Note => r.checked_always += 1,
            Level::Warning => {}
        }
        r.diagnostics.push(d);
    }
    let errors: usize = files.values().map(|r| r.errors).sum();
    let extra = sections(&set, args.verbose);
    if args.json {
        write_json(out, &order, &files, &set, errors, &extra)?;
    } else {
        write_text(out, &order, &files, &set, args.verbose)?;
        for section in &extra {
            write!(out, "{}", section.text)?;
        }
    }
    Ok(errors == 0)
}

fn write_text(
    out: &mut dyn Write,
    order: &[Arc<Path>],
    files: &BTreeMap<Arc<Path>, FileReport<'_>>,
    set: &RuleSet,
    verbose: bool,
) -> std::io::Result<()> {
    for path in order {
        let r = &files[path];
        for d in &r.diagnostics {
            let shown = verbose
                || d.level == Level::Error
                || (d.level == Level::Warning && !d.kind.is_unsupported());
            if shown {
                writeln!(out, "{d}\n")?;
            }
        }
    }
    let (mut loaded, mut skipped, mut warnings, mut errors) = (0, 0, 0, 0);
    for path in order {
        let r = &files[path];
        loaded += r.loaded;
        skipped += r.skipped;
        warnings += r.warnings;
        errors += r.errors;
        writeln!(
            out,
            "{}: {} loaded, {} skipped, {} error{}, {} warning{}, {} checked always",
            path.display(),
            r.loaded,
            r.skipped,
            r.errors,
            if r.errors == 1 { "" } else { "s" },
            r.warnings,
            if r.warnings == 1 { "" } else { "s" },
            r.checked_always
        )?;
        let mut reasons: Vec<_> = r.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (reason, n) in reasons {
            writeln!(out, "    skipped {n:>6}  {reason}")?;
        }
    }
    writeln!(
        out,
        "total: {} rules loaded ({} in the set), {skipped} skipped, {errors} error{}, {warnings} warning{}",
        loaded,
        set.len(),
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
    )
}

fn write_json(
    out: &mut dyn Write,
    order: &[Arc<Path>],
    files: &BTreeMap<Arc<Path>, FileReport<'_>>,
    set: &RuleSet,
    errors: usize,
    extra: &[ReportSection],
) -> anyhow::Result<()> {
    use serde_json::{Value, json};
    let diag_json = |d: &Diagnostic| {
        json!({
            "level": d.level.as_str(),
            "kind": d.kind.code(),
            "message": d.message,
            "reason": d.reason,
            "line": d.line,
            "column": d.column,
            "sid": d.sid,
            "rule_skipped": d.rule_skipped,
            "rendered": d.to_string(),
        })
    };
    let files_json: Vec<Value> = order
        .iter()
        .map(|p| {
            let r = &files[p];
            json!({
                "path": p.display().to_string(),
                "loaded": r.loaded,
                "skipped": r.skipped,
                "skipped_by_reason": r.reasons,
                "errors": r.errors,
                "warnings": r.warnings,
                "checked_always": r.checked_always,
                "diagnostics": r.diagnostics.iter().map(|d| diag_json(d)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut doc = json!({
        "ok": errors == 0,
        "rules": set.len(),
        "errors": errors,
        "files": files_json,
    });
    for section in extra {
        doc[section.key] = section.json.clone();
    }
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}
