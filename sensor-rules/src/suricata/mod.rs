//! The Suricata front end: `.rules` files read as Suricata reads them, one
//! rule per line (with `\` continuations), `#` lines ignored, each rule
//! parsed by the pest grammar in `grammar/suricata.pest` and compiled to a
//! [`Rule`]. A rule that fails is reported and skipped; the others load.

mod config;
mod grammar;
mod groups;
mod keywords;
mod numbers;
mod options;

pub use config::{
    Classification, Classifications, ThresholdAction, ThresholdEntry, parse_threshold_config,
};
pub use grammar::{Rule as GrammarRule, SuricataParser};
pub use groups::{GroupError, Groups, parse_address_atom, parse_port_atom};
pub use numbers::parse_num_cmp;
pub use options::tcp_flags_test;

use std::borrow::Cow;

use pest::Parser;
use pest::iterators::Pair;

use crate::diag::{Diagnostic, DiagnosticKind, Level, Source};
use crate::ir::{Action, Buffer, Direction, Header, Language, Origin, Protocol, Rule};
use crate::ruleset::Located;
use grammar::Rule as R;
use options::{Opt, OptError, RuleBuilder};

/// A rule's text within its file.
struct RuleText<'s> {
    /// File offset of the first character.
    offset: usize,
    /// The text; continuation backslashes and newlines replaced by spaces
    /// so that offsets still match the file.
    text: Cow<'s, str>,
}

/// Splits a `.rules` file into rule texts, skipping blank lines and
/// comments (a commented-out rule is not a rule).
fn split_rules(text: &str) -> Vec<RuleText<'_>> {
    let mut out = Vec::new();
    let mut offset = 0;
    let mut pending: Option<(usize, usize)> = None; // (start, end) of a continued rule
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim();
        if pending.is_none() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        let start = match pending {
            Some((s, _)) => s,
            None => line_start + (body.len() - body.trim_start().len()),
        };
        let end = line_start + body.trim_end().len();
        if trimmed.ends_with('\\') {
            pending = Some((start, end));
            continue;
        }
        pending = None;
        let slice = &text[start..end];
        let rule_text = if slice.contains("\\\n") || slice.contains("\\\r\n") {
            // Blank out continuation markers, keeping every offset.
            let mut bytes = slice.as_bytes().to_vec();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'\\' {
                    let mut j = i + 1;
                    while j < bytes.len() && matches!(bytes[j], b' ' | b'\t' | b'\r') {
                        j += 1;
                    }
                    if j < bytes.len() && bytes[j] == b'\n' {
                        bytes[i..=j].fill(b' ');
                        i = j;
                    }
                }
                i += 1;
            }
            Cow::Owned(String::from_utf8(bytes).expect("only ASCII replaced"))
        } else {
            Cow::Borrowed(slice)
        };
        out.push(RuleText {
            offset: start,
            text: rule_text,
        });
    }
    if let Some((start, end)) = pending {
        out.push(RuleText {
            offset: start,
            text: Cow::Borrowed(&text[start..end]),
        });
    }
    out
}

/// Everything a Suricata file is compiled against.
pub struct SuricataContext<'a, 'v> {
    /// Variables, with their evaluation cache.
    pub groups: &'a mut Groups<'v>,
    /// classtype table (empty: classtypes not checked).
    pub classifications: &'a Classifications,
}

/// Parses every rule of a `.rules` file. Failing rules are reported in
/// `diags` (with `rule_skipped` set) and left out.
pub fn parse_file(
    source: &Source,
    ctx: &mut SuricataContext<'_, '_>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Located> {
    let mut rules = Vec::new();
    for rt in split_rules(&source.text) {
        match parse_rule(source, &rt, ctx, diags) {
            Ok(rule) => rules.push(rule),
            Err(mut d) => {
                d.rule_skipped = true;
                diags.push(d);
            }
        }
    }
    rules
}

/// The first value of `sid:` in a parsed rule, for diagnostics about
/// options before it.
fn find_sid(options: &Pair<'_, R>) -> Option<u32> {
    options.clone().into_inner().find_map(|opt| {
        let mut inner = opt.into_inner();
        let kw = inner.next()?;
        if kw.as_str() != "sid" {
            return None;
        }
        inner.next()?.as_str().trim().parse().ok()
    })
}

fn parse_rule(
    source: &Source,
    rt: &RuleText<'_>,
    ctx: &mut SuricataContext<'_, '_>,
    diags: &mut Vec<Diagnostic>,
) -> Result<Located, Diagnostic> {
    let base = rt.offset;
    let text: &str = &rt.text;
    let mut pairs =
        SuricataParser::parse(R::rule, text).map_err(|e| syntax_error(source, rt, e))?;
    let rule = pairs.next().expect("rule");
    let mut parts = rule.into_inner();
    let action_pair = parts.next().expect("action");
    let proto_pair = parts.next().expect("protocol");
    let src_pair = parts.next().expect("src");
    let sport_pair = parts.next().expect("sport");
    let dir_pair = parts.next().expect("direction");
    let dst_pair = parts.next().expect("dst");
    let dport_pair = parts.next().expect("dport");
    let options = parts.next().expect("options");
    let sid = find_sid(&options);

    let diag =
        |kind: DiagnosticKind, offset: usize, len: usize, reason: String, message: String| {
            let level = if kind.is_unsupported() {
                Level::Warning
            } else {
                Level::Error
            };
            let mut d = source.diagnostic(level, kind, base + offset, len, reason, message);
            d.sid = sid;
            d
        };
    let opt_diag = |e: OptError| {
        let level = if e.kind.is_unsupported() {
            Level::Warning
        } else {
            Level::Error
        };
        let mut d = source.diagnostic(level, e.kind, e.offset, e.len, e.reason, e.message);
        d.sid = sid;
        d
    };

    let action = match action_pair.as_str() {
        "alert" => Action::Alert,
        "drop" => Action::Drop,
        "pass" => Action::Pass,
        "reject" | "rejectsrc" | "rejectdst" | "rejectboth" => Action::Reject,
        other => {
            return Err(diag(
                DiagnosticKind::InvalidValue,
                action_pair.as_span().start(),
                other.len(),
                "unknown action".into(),
                format!("unknown action `{other}` (expected alert, drop, pass or reject)"),
            ));
        }
    };
    let proto_text = proto_pair.as_str();
    let mut protocol = Protocol::from_keyword(proto_text).ok_or_else(|| {
        diag(
            DiagnosticKind::UnsupportedProtocol,
            proto_pair.as_span().start(),
            proto_text.len(),
            format!("unsupported protocol `{proto_text}`"),
            format!("unsupported protocol `{proto_text}`"),
        )
    })?;
    let group_err = |e: GroupError| diag(e.kind, e.offset, e.len, e.reason, e.message);
    let src = ctx.groups.addresses(src_pair).map_err(group_err)?;
    let src_ports = ctx.groups.ports(sport_pair).map_err(group_err)?;
    let dst = ctx.groups.addresses(dst_pair).map_err(group_err)?;
    let dst_ports = ctx.groups.ports(dport_pair).map_err(group_err)?;
    let direction = if dir_pair.as_str() == "<>" {
        Direction::Both
    } else {
        Direction::OneWay
    };

    let mut builder = RuleBuilder::new();
    let mut sid_span = (base, text.len());
    for opt in options.into_inner() {
        let mut inner = opt.into_inner();
        let kw = inner.next().expect("keyword");
        let value = inner.next().filter(|p| p.as_rule() != R::semicolon);
        let o = Opt {
            keyword: kw.as_str(),
            keyword_offset: base + kw.as_span().start(),
            value: value.as_ref().map(|v| v.as_str().trim_end()),
            value_offset: value.as_ref().map_or(0, |v| base + v.as_span().start()),
        };
        if o.keyword == "sid" {
            sid_span = (o.value_offset, o.value.map_or(0, str::len));
        }
        builder.apply(&o).map_err(opt_diag)?;
    }
    let Some(sid) = builder.sid else {
        return Err(diag(
            DiagnosticKind::MissingOption,
            0,
            text.len(),
            "rule without sid".into(),
            "rule has no `sid`".into(),
        ));
    };
    // Application buffers imply their protocol, as in Suricata.
    if matches!(protocol, Protocol::Ip | Protocol::Tcp | Protocol::Udp) {
        let implied = builder.buffers().find_map(|b| match b {
            Buffer::Payload => None,
            Buffer::TlsSni | Buffer::TlsAlpn => Some(Protocol::Tls),
            Buffer::DnsQuery => Some(Protocol::Dns),
            _ => Some(Protocol::Http),
        });
        if let Some(p) = implied {
            protocol = p;
        }
    }
    let (priority, classtype, condition) = builder.finish(ctx.classifications).map_err(opt_diag)?;
    for w in builder.warnings.drain(..) {
        let mut d = source.diagnostic(Level::Warning, w.kind, w.offset, w.len, w.reason, w.message);
        d.sid = Some(sid);
        diags.push(d);
    }
    let rule = Rule {
        gid: builder.gid,
        sid,
        rev: builder.rev,
        msg: builder.msg.take().unwrap_or_default(),
        action,
        priority,
        classtype,
        metadata: std::mem::take(&mut builder.metadata),
        references: std::mem::take(&mut builder.references),
        tags: Vec::new(),
        target: builder.target,
        header: Header {
            protocol,
            src,
            src_ports,
            direction,
            dst,
            dst_ports,
        },
        flow: builder.flow,
        rate: builder.rate.take(),
        suppressions: Vec::new(),
        noalert: builder.noalert,
        condition,
        origin: Origin {
            file: source.path.clone(),
            line: source.line_of(base),
            language: Language::Suricata,
        },
    };
    Ok(Located {
        rule,
        start: base,
        sid_span,
    })
}

/// Turns a pest failure into a diagnostic, recognising the common mistakes
/// (unclosed string, missing `;`).
fn syntax_error(source: &Source, rt: &RuleText<'_>, e: pest::error::Error<R>) -> Diagnostic {
    let text: &str = &rt.text;
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let sid = text
        .find("sid:")
        .and_then(|i| text[i + 4..].split(';').next())
        .and_then(|s| s.trim().parse().ok());
    let mut d = if let Some(quote) = unclosed_quote(text) {
        source.diagnostic(
            Level::Error,
            DiagnosticKind::UnclosedString,
            rt.offset + quote,
            1,
            "unclosed string",
            "unclosed string: this `\"` has no closing quote",
        )
    } else if let pest::error::ErrorVariant::ParsingError { positives, .. } = &e.variant
        && positives.contains(&R::semicolon)
    {
        let keyword = option_keyword_before(text, pos);
        source.diagnostic(
            Level::Error,
            DiagnosticKind::MissingSemicolon,
            rt.offset + pos,
            1,
            "missing `;`",
            format!("expected `;` after the value of `{keyword}`"),
        )
    } else {
        let e = e.renamed_rules(|r| {
            match r {
                R::action => "an action",
                R::protocol => "a protocol",
                R::direction => "`->` or `<>`",
                R::group | R::address | R::ports | R::list | R::atom | R::negation => {
                    "an address or port group"
                }
                R::options => "`(` and the rule options",
                R::option | R::keyword => "a rule option",
                R::semicolon => "`;`",
                R::value => "an option value",
                R::EOI => "the end of the rule",
                _ => "something else",
            }
            .to_string()
        });
        source.diagnostic(
            Level::Error,
            DiagnosticKind::Syntax,
            rt.offset + pos,
            1,
            "syntax error",
            e.variant.message().into_owned(),
        )
    };
    d.sid = sid;
    d
}

/// Offset of a `"` in the options that is never closed.
fn unclosed_quote(text: &str) -> Option<usize> {
    let start = text.find('(')?;
    let bytes = text.as_bytes();
    let mut open: Option<usize> = None;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'"' => open = if open.is_some() { None } else { Some(i) },
            _ => {}
        }
        i += 1;
    }
    open
}

/// The keyword of the option that contains `pos`.
fn option_keyword_before(text: &str, pos: usize) -> &str {
    let Some(open) = text.find('(') else {
        return "?";
    };
    let bytes = text.as_bytes();
    let mut option_start = open + 1;
    let mut in_quote = false;
    let mut i = open + 1;
    while i < pos.min(bytes.len()) {
        match bytes[i] {
            b'\\' => i += 1,
            b'"' => in_quote = !in_quote,
            b';' if !in_quote => option_start = i + 1,
            _ => {}
        }
        i += 1;
    }
    let rest = text[option_start..].trim_start();
    let end = rest
        .find(|c: char| c == ':' || c == ';' || c.is_whitespace())
        .unwrap_or(rest.len());
    &rest[..end]
}
