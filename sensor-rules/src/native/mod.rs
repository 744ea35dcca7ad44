//! The native language front end (`.vigil` files): the pest grammar in
//! `grammar/native.pest`, then name resolution and type checking of every
//! `when` expression against the field catalog ([`fields`]).

pub mod fields;
mod grammar;
mod hoist;
mod recover;

use pest::Parser;
use pest::iterators::Pair;

use crate::diag::{Diagnostic, DiagnosticKind, Level, Source};
use crate::ir::{
    Action, BufferItem, BufferMatch, Content, DEFAULT_PRIORITY, Expr, Field, FieldTest, FlagMode,
    Flow, Header, Language, Measure, NumCmp, Origin, Pcre, PcreFlags, Predicate, Protocol,
    Quantifier, RangeSet, Rate, RateKind, Reference, Rule, Test, Track,
};
use crate::ruleset::Located;
use crate::suricata::{Classifications, GroupError, Groups, parse_address_atom, parse_port_atom};
use crate::vars::Vars;
use fields::{FieldInfo, FieldType, Target, closest, lookup, named_number, tcp_flag};
use hoist::{conflicting, hoist_flow, hoist_header};
use recover::{parse_recovering, syntax_error};

use grammar::Rule as R;
pub use grammar::{NativeParser, Rule as GrammarRule};

/// A compile error inside one rule.
#[derive(Debug)]
struct NError {
    kind: DiagnosticKind,
    offset: usize,
    len: usize,
    reason: String,
    message: String,
}

impl NError {
    fn at(
        pair: &Pair<'_, R>,
        kind: DiagnosticKind,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        NError {
            kind,
            offset: pair.as_span().start(),
            // Pest spans include the whitespace skipped after the last token.
            len: pair.as_str().trim_end().len(),
            reason: reason.into(),
            message: message.into(),
        }
    }

    fn invalid(pair: &Pair<'_, R>, message: impl Into<String>) -> Self {
        NError::at(pair, DiagnosticKind::InvalidValue, "invalid value", message)
    }

    fn mismatch(pair: &Pair<'_, R>, message: impl Into<String>) -> Self {
        NError::at(
            pair,
            DiagnosticKind::TypeMismatch,
            "operator does not fit the field",
            message,
        )
    }

    fn from_group(e: GroupError, base: usize) -> Self {
        NError {
            kind: e.kind,
            offset: base + e.offset,
            len: e.len,
            reason: e.reason,
            message: e.message,
        }
    }
}

/// Parses a `.vigil` file. Variables from a `vars` block apply to the
/// whole file and take precedence over the global ones.
pub fn parse_file(
    source: &Source,
    groups: &mut Groups<'_>,
    classifications: &Classifications,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Located> {
    let Some(text) = parse_recovering(source, diags) else {
        return Vec::new();
    };
    let file = match NativeParser::parse(R::file, &text) {
        Ok(mut pairs) => pairs.next().expect("file"),
        Err(e) => {
            diags.push(syntax_error(source, e));
            return Vec::new();
        }
    };
    let mut vars: Vars = groups.vars().clone();
    let items: Vec<Pair<'_, R>> = file
        .into_inner()
        .filter(|p| p.as_rule() != R::EOI)
        .collect();
    for block in items.iter().filter(|p| p.as_rule() == R::vars_block) {
        for def in block.clone().into_inner() {
            let mut parts = def.into_inner();
            let name = parts.next().expect("name").as_str();
            let value = parts.next().expect("value").as_str();
            vars.set(name, value);
        }
    }
    let mut file_groups = Groups::new(&vars);
    let mut rules = Vec::new();
    for rule in items.into_iter().filter(|p| p.as_rule() == R::rule) {
        let sid_pair = rule.clone().into_inner().next().expect("sid");
        let sid = sid_pair.as_str().parse::<u32>().ok();
        let mut compiler = Compiler {
            groups: &mut file_groups,
            warnings: Vec::new(),
        };
        let result = compiler.rule(source, rule, classifications);
        for w in compiler.warnings {
            let mut d =
                source.diagnostic(Level::Warning, w.kind, w.offset, w.len, w.reason, w.message);
            d.sid = sid;
            diags.push(d);
        }
        match result {
            Ok(l) => rules.push(l),
            Err(e) => {
                let level = if e.kind.is_unsupported() {
                    Level::Warning
                } else {
                    Level::Error
                };
                let mut d = source.diagnostic(level, e.kind, e.offset, e.len, e.reason, e.message);
                d.sid = sid;
                d.rule_skipped = true;
                diags.push(d);
            }
        }
    }
    rules
}

/// Decodes a native string's escapes: `\"`, `\\`, `\n`, `\r`, `\t`, `\xHH`.
fn decode_string(pair: &Pair<'_, R>) -> Result<Vec<u8>, NError> {
    let inner = pair.clone().into_inner().next().expect("chars");
    let s = inner.as_str();
    let base = inner.as_span().start();
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let esc = b.get(i + 1).copied().unwrap_or(b'\\');
        let err = |msg: String| NError {
            kind: DiagnosticKind::InvalidValue,
            offset: base + i,
            len: 2,
            reason: "invalid escape".into(),
            message: msg,
        };
        match esc {
            b'"' | b'\\' => out.push(esc),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b'x' => {
                let hex = s
                    .get(i + 2..i + 4)
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 4;
                        continue;
                    }
                    None => return Err(err("`\\x` needs two hex digits".into())),
                }
            }
            other => return Err(err(format!("unknown escape `\\{}`", other as char))),
        }
        i += 2;
    }
    Ok(out)
}

fn string_text(pair: &Pair<'_, R>) -> Result<String, NError> {
    decode_string(pair).map(|b| String::from_utf8_lossy(&b).into_owned())
}

struct Compiler<'g, 'v> {
    groups: &'g mut Groups<'v>,
    warnings: Vec<NError>,
}

/// The value operand of an operation.
fn first_inner<'i>(pair: &Pair<'i, R>) -> Pair<'i, R> {
    pair.clone().into_inner().next().expect("operand")
}

impl Compiler<'_, '_> {
    fn rule(
        &mut self,
        source: &Source,
        rule: Pair<'_, R>,
        classifications: &Classifications,
    ) -> Result<Located, NError> {
        let start = rule.as_span().start();
        let mut parts = rule.into_inner();
        let sid_pair = parts.next().expect("sid");
        let sid: u32 = sid_pair.as_str().parse().map_err(|_| {
            NError::invalid(
                &sid_pair,
                format!("rule id `{}` is too large", sid_pair.as_str()),
            )
        })?;
        let mut rev = 1;
        let mut msg = String::new();
        let mut priority = None;
        let mut classtype = None;
        let mut tags = Vec::new();
        let mut references = Vec::new();
        let mut action = Action::Alert;
        let mut noalert = false;
        let mut condition: Option<Expr> = None;
        let mut protocols = Vec::new();
        let mut rate = None;
        for item in parts {
            match item.as_rule() {
                R::rev => {
                    let n = first_inner(&item);
                    rev = n
                        .as_str()
                        .parse()
                        .map_err(|_| NError::invalid(&n, "revision too large"))?;
                }
                R::string => msg = string_text(&item)?,
                R::severity => {
                    let w = first_inner(&item);
                    priority = Some(match w.as_str() {
                        "critical" | "high" => 1,
                        "medium" => 2,
                        "low" => 3,
                        "info" => 4,
                        n => n.parse::<u8>().ok().filter(|p| *p >= 1).ok_or_else(|| {
                            NError::invalid(&w, format!("unknown severity `{n}` (critical, high, medium, low, info or 1-255)"))
                        })?,
                    });
                }
                R::classtype => {
                    let w = first_inner(&item);
                    if !classifications.is_empty() && classifications.get(w.as_str()).is_none() {
                        return Err(NError::invalid(
                            &w,
                            format!(
                                "unknown classtype `{}` (not in classification.config)",
                                w.as_str()
                            ),
                        ));
                    }
                    classtype = Some(w.as_str().to_string());
                }
                R::tags => tags.extend(item.into_inner().map(|t| t.as_str().to_string())),
                R::references => {
                    for r in item.into_inner() {
                        let text = string_text(&r)?;
                        let (system, id) = text.split_once(',').unwrap_or(("url", &text));
                        references.push(Reference {
                            system: system.trim().to_string(),
                            id: id.trim().to_string(),
                        });
                    }
                }
                R::action => {
                    let w = first_inner(&item);
                    action = match w.as_str() {
                        "alert" => Action::Alert,
                        "drop" => Action::Drop,
                        "pass" => Action::Pass,
                        "reject" => Action::Reject,
                        other => {
                            return Err(NError::invalid(
                                &w,
                                format!("unknown action `{other}` (alert, drop, pass or reject)"),
                            ));
                        }
                    };
                }
                R::noalert => noalert = true,
                R::when_clause => {
                    if condition.is_some() {
                        return Err(NError::invalid(
                            &item,
                            "a rule has one `when`; combine conditions with `and`",
                        ));
                    }
                    let expr = first_inner(&item);
                    condition = Some(self.expr(expr, &mut protocols, true)?);
                }
                R::threshold => rate = Some(self.threshold(item)?),
                other => unreachable!("rule item {other:?}"),
            }
        }
        let mut condition = condition.unwrap_or(Expr::True);
        if let Some(class) = classtype.as_deref().and_then(|c| classifications.get(c)) {
            priority = priority.or(Some(class.priority));
        }
        // Top-level flow tests become the rule's flow constraint.
        let mut flow = Flow::default();
        condition = hoist_flow(condition, &mut flow);
        if let Some((a, b)) = conflicting(&protocols) {
            self.warnings.push(NError {
                kind: DiagnosticKind::RuleNeverMatches,
                offset: start,
                len: 4,
                reason: "rule can never match".into(),
                message: format!(
                    "rule {sid} can never match: it needs both {} and {} fields",
                    a.as_str(),
                    b.as_str()
                ),
            });
        }
        let protocol = protocols
            .iter()
            .copied()
            .max_by_key(|p| match p {
                Protocol::Http | Protocol::Tls | Protocol::Dns => 2,
                Protocol::Tcp | Protocol::Udp | Protocol::Icmp => 1,
                Protocol::Ip => 0,
            })
            .unwrap_or(Protocol::Ip);
        let mut header = Header::any(protocol);
        condition = hoist_header(condition, &mut header);
        let rule = Rule {
            gid: 1,
            sid,
            rev,
            msg,
            action,
            priority: priority.unwrap_or(DEFAULT_PRIORITY),
            classtype,
            metadata: Vec::new(),
            references,
            tags,
            target: None,
            header,
            flow,
            rate,
            suppressions: Vec::new(),
            noalert,
            condition,
            origin: Origin {
                file: source.path.clone(),
                line: source.line_of(start),
                language: Language::Native,
            },
        };
        Ok(Located {
            rule,
            start,
            sid_span: (sid_pair.as_span().start(), sid_pair.as_str().len()),
        })
    }

    fn threshold(&mut self, item: Pair<'_, R>) -> Result<Rate, NError> {
        let mut parts = item.into_inner();
        let measure_pair = parts.next().expect("measure");
        let op = parts.next().expect("op");
        let n_pair = parts.next().expect("number");
        let dur = parts.next().expect("duration");
        let track_pair = parts.next().expect("track");
        let m = first_inner(&measure_pair);
        let measure = match m.as_rule() {
            R::count => Measure::Count,
            _ => {
                let f = first_inner(&m);
                let (info, _) = self.field(&f)?;
                Measure::Distinct(match info.target {
                    Target::Field(f) => f,
                    Target::Buffer(b) => Field::Buffer(b),
                })
            }
        };
        let n: u64 = n_pair
            .as_str()
            .parse()
            .map_err(|_| NError::invalid(&n_pair, "number too large"))?;
        // Native rates alert once per window per tracked key, the first time
        // the rate is exceeded (Suricata's `type both`, whose count is the
        // number of events that fires): a flood of a million SYNs is one
        // alert per window, not a million.
        let count = match op.as_str() {
            ">" => n + 1,
            ">=" if n > 0 => n,
            _ => {
                return Err(NError::invalid(
                    &op,
                    "a rate condition is `> N` or `>= N` (N >= 1)",
                ));
            }
        };
        let d = dur.as_str();
        let (num, unit) = d.split_at(d.len() - 1);
        let seconds = num
            .parse::<u32>()
            .ok()
            .and_then(|v| {
                v.checked_mul(match unit {
                    "s" => 1,
                    "m" => 60,
                    _ => 3600,
                })
            })
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                NError::invalid(&dur, format!("window `{d}` must be between 1s and 2^32 s"))
            })?;
        let track = match track_pair.as_str() {
            "ip.src" => Track::BySrc,
            "ip.dst" => Track::ByDst,
            "ip.pair" => Track::ByBoth,
            "flow" => Track::ByFlow,
            "rule" => Track::ByRule,
            other => {
                return Err(NError::invalid(
                    &track_pair,
                    format!("cannot track by `{other}` (ip.src, ip.dst, ip.pair, flow or rule)"),
                ));
            }
        };
        Ok(Rate {
            kind: RateKind::Both,
            measure,
            track,
            count,
            seconds,
        })
    }

    /// `positive`: whether the node is reached only through `and`s from the
    /// root, so that the protocols of its fields constrain the rule.
    fn expr(
        &mut self,
        pair: Pair<'_, R>,
        protocols: &mut Vec<Protocol>,
        positive: bool,
    ) -> Result<Expr, NError> {
        match pair.as_rule() {
            R::expr => {
                let subs: Vec<_> = pair
                    .into_inner()
                    .filter(|p| p.as_rule() != R::kw_or)
                    .collect();
                let single = subs.len() == 1;
                let mut out = Vec::new();
                for s in subs {
                    out.push(self.expr(s, protocols, positive && single)?);
                }
                Ok(if single {
                    out.pop().expect("one")
                } else {
                    Expr::Or(out)
                })
            }
            R::and_expr => {
                let subs: Vec<_> = pair
                    .into_inner()
                    .filter(|p| p.as_rule() != R::kw_and)
                    .collect();
                let mut out = Vec::new();
                for s in subs {
                    match self.expr(s, protocols, positive)? {
                        Expr::And(v) => out.extend(v),
                        e => out.push(e),
                    }
                }
                Ok(if out.len() == 1 {
                    out.pop().expect("one")
                } else {
                    Expr::And(out)
                })
            }
            R::unary => {
                let mut nots = 0;
                let mut result = None;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        R::kw_not => nots += 1,
                        _ => result = Some(self.expr(p, protocols, positive && nots == 0)?),
                    }
                }
                let mut e = result.expect("primary");
                for _ in 0..nots {
                    e = match e {
                        Expr::Not(inner) => *inner,
                        other => Expr::Not(Box::new(other)),
                    };
                }
                Ok(e)
            }
            R::predicate => self.predicate(pair, protocols, positive),
            other => unreachable!("expression node {other:?}"),
        }
    }

    fn field(&mut self, field: &Pair<'_, R>) -> Result<(FieldInfo, String), NError> {
        let mut path = String::new();
        let mut index = None;
        for p in field.clone().into_inner() {
            match p.as_rule() {
                R::ident => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(p.as_str());
                }
                R::index => index = Some(string_text(&first_inner(&p))?),
                _ => {}
            }
        }
        let info = lookup(&path, index.as_deref()).ok_or_else(|| {
            let hint = if index.is_some() {
                " (only `http.header[\"name\"]` takes an index)".to_string()
            } else {
                closest(&path)
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default()
            };
            NError::at(
                field,
                DiagnosticKind::UnknownField,
                format!("unknown field `{}`", field.as_str()),
                format!("unknown field `{}`{hint}", field.as_str()),
            )
        })?;
        Ok((info, field.as_str().to_string()))
    }

    fn predicate(
        &mut self,
        pair: Pair<'_, R>,
        protocols: &mut Vec<Protocol>,
        positive: bool,
    ) -> Result<Expr, NError> {
        let mut parts = pair.into_inner();
        let subject = parts.next().expect("subject");
        let operation = parts.next();
        let inner = first_inner(&subject);
        let (quantifier, field_pair) = match inner.as_rule() {
            R::quantified => {
                let mut q = inner.clone().into_inner();
                let quant = q.next().expect("quantifier");
                let f = q.next().expect("field");
                (Some((quant.as_str() == "all", inner.clone())), f)
            }
            _ => (None, inner),
        };
        let (info, name) = self.field(&field_pair)?;
        if positive && let Some(p) = info.protocol {
            protocols.push(p);
        }
        if let Some((_, q)) = &quantifier {
            let repeated = matches!(&info.target, Target::Buffer(b) if b.is_repeated());
            if !repeated {
                return Err(NError::mismatch(
                    q,
                    format!(
                        "any() and all() apply to repeated fields (http.header.name, http.header.value, tls.alpn); `{name}` is not repeated"
                    ),
                ));
            }
        }
        let quantifier = match quantifier {
            Some((true, _)) => Quantifier::All,
            _ => Quantifier::Any,
        };
        let field_test =
            |field: Field, test: Test| Expr::Predicate(Predicate::Field(FieldTest { field, test }));
        let Some(op) = operation else {
            return match (info.ty, info.target) {
                (FieldType::Bool, Target::Field(f)) => Ok(field_test(f, Test::IsTrue)),
                (ty, _) => Err(NError::mismatch(
                    &field_pair,
                    format!(
                        "`{name}` is {}, not a boolean: it needs an operator",
                        ty.name()
                    ),
                )),
            };
        };
        let op_name = match op.as_rule() {
            R::comparison => first_inner(&op).as_str().to_string(),
            R::membership => "in".into(),
            R::string_op => first_inner(&op).as_str().to_string(),
            R::regex_op => "matches".into(),
            R::exists => "exists".into(),
            _ => "has".into(),
        };
        let wrong = |hint: &str| {
            NError::mismatch(
                &op,
                format!(
                    "operator `{op_name}` does not apply to `{name}`, which is {}{hint}",
                    info.ty.name()
                ),
            )
        };
        if op.as_rule() == R::exists {
            return Ok(match info.target {
                Target::Field(f) => field_test(f, Test::Exists),
                Target::Buffer(b) => field_test(Field::Buffer(b), Test::Exists),
            });
        }
        match (info.ty, info.target.clone()) {
            (FieldType::Bool, _) => Err(wrong("; use it bare (`when flow.established`)")),
            (FieldType::Address, Target::Field(f)) => {
                let (negate, value) = match op.as_rule() {
                    R::membership => (false, op.clone().into_inner().nth(1).expect("value")),
                    R::comparison if op_name == "==" || op_name == "!=" => (
                        op_name == "!=",
                        op.clone().into_inner().nth(1).expect("value"),
                    ),
                    _ => return Err(wrong("; use `in`, `==` or `!=`")),
                };
                let set = self.addresses(&value)?;
                let e = field_test(f, Test::InAddresses(set));
                Ok(if negate { Expr::Not(Box::new(e)) } else { e })
            }
            (FieldType::Port | FieldType::Number, Target::Field(f)) => {
                let is_port = info.ty == FieldType::Port;
                match op.as_rule() {
                    R::membership => {
                        let value = op.clone().into_inner().nth(1).expect("value");
                        let set = self.numbers(&value, &f, is_port)?;
                        Ok(field_test(f, Test::InNumbers(set)))
                    }
                    R::comparison => {
                        let value = op.clone().into_inner().nth(1).expect("value");
                        let n = self.number(&value, &f)?;
                        let cmp = match op_name.as_str() {
                            "==" => NumCmp::Eq(n),
                            "!=" => NumCmp::Ne(n),
                            "<" => NumCmp::Lt(n),
                            "<=" => NumCmp::Le(n),
                            ">" => NumCmp::Gt(n),
                            _ => NumCmp::Ge(n),
                        };
                        Ok(field_test(f, Test::Num(cmp)))
                    }
                    _ => Err(wrong("; use a comparison or `in`")),
                }
            }
            (FieldType::Flags, Target::Field(f)) => {
                let (mode, negate) = match (op.as_rule(), op_name.as_str()) {
                    (R::has, _) => (FlagMode::All, false),
                    (R::comparison, "==") => (FlagMode::Exact, false),
                    (R::comparison, "!=") => (FlagMode::Exact, true),
                    _ => return Err(wrong("; use `has [syn, fin]`, `==` or `!=`")),
                };
                let value = op.clone().into_inner().last().expect("value");
                let flags = self.flags(&value)?;
                let e = field_test(
                    f,
                    Test::Flags {
                        mode,
                        flags,
                        ignore: 0,
                    },
                );
                Ok(if negate { Expr::Not(Box::new(e)) } else { e })
            }
            (FieldType::Bytes, Target::Buffer(buffer)) => {
                let chain = |items: Vec<BufferItem>| {
                    Expr::Predicate(Predicate::Buffer(BufferMatch {
                        buffer: buffer.clone(),
                        quantifier,
                        items,
                    }))
                };
                let equals = |pattern: Vec<u8>, nocase: bool| {
                    BufferItem::Content(Content {
                        pattern,
                        nocase,
                        startswith: true,
                        endswith: true,
                        ..Content::default()
                    })
                };
                match op.as_rule() {
                    R::string_op => {
                        let mut it = op.clone().into_inner();
                        let kw = it.next().expect("kw");
                        let s = it.next().expect("string");
                        let nocase = it.next().is_some();
                        let pattern = decode_string(&s)?;
                        if pattern.is_empty() && kw.as_str() != "equals" {
                            return Err(NError::invalid(
                                &s,
                                format!("`{}` with an empty string is always true", kw.as_str()),
                            ));
                        }
                        let mut c = Content {
                            pattern,
                            nocase,
                            ..Content::default()
                        };
                        match kw.as_str() {
                            "startswith" => c.startswith = true,
                            "endswith" => c.endswith = true,
                            "equals" => {
                                c.startswith = true;
                                c.endswith = true;
                            }
                            _ => {}
                        }
                        Ok(chain(vec![BufferItem::Content(c)]))
                    }
                    R::comparison if op_name == "==" || op_name == "!=" => {
                        let value = op.clone().into_inner().nth(1).expect("value");
                        if value.as_rule() != R::string {
                            return Err(NError::mismatch(
                                &value,
                                format!("`{name}` is compared with a string"),
                            ));
                        }
                        let e = chain(vec![equals(decode_string(&value)?, false)]);
                        Ok(if op_name == "!=" {
                            Expr::Not(Box::new(e))
                        } else {
                            e
                        })
                    }
                    R::membership => {
                        let value = op.clone().into_inner().nth(1).expect("value");
                        if value.as_rule() != R::list {
                            return Err(NError::mismatch(
                                &value,
                                format!("`{name} in` needs a list of strings"),
                            ));
                        }
                        let mut alts = Vec::new();
                        for item in value.into_inner() {
                            if item.as_rule() != R::string {
                                return Err(NError::mismatch(
                                    &item,
                                    format!("`{name} in` needs a list of strings"),
                                ));
                            }
                            alts.push(chain(vec![equals(decode_string(&item)?, false)]));
                        }
                        Ok(if alts.len() == 1 {
                            alts.pop().expect("one")
                        } else {
                            Expr::Or(alts)
                        })
                    }
                    R::regex_op => {
                        let re = first_inner(&op);
                        let mut it = re.into_inner();
                        let pattern = it.next().expect("pattern");
                        let flag_pair = it.next().expect("flags");
                        let mut flags = PcreFlags::default();
                        for c in flag_pair.as_str().chars() {
                            match c {
                                'i' => flags.caseless = true,
                                's' => flags.dotall = true,
                                'm' => flags.multiline = true,
                                'x' => flags.extended = true,
                                other => {
                                    return Err(NError::invalid(
                                        &flag_pair,
                                        format!("unknown regex flag `{other}` (i, s, m or x)"),
                                    ));
                                }
                            }
                        }
                        // `\/` is how a slash is written inside `/.../`.
                        let text = pattern.as_str().replace("\\/", "/");
                        if let Err(p) = crate::regex::parse_pcre(&text, flags) {
                            let exact = text.len() == pattern.as_str().len();
                            return Err(NError {
                                kind: p.kind,
                                offset: pattern.as_span().start()
                                    + if exact { p.offset.unwrap_or(0) } else { 0 },
                                len: if exact && p.offset.is_some() {
                                    1
                                } else {
                                    pattern.as_str().len().max(1)
                                },
                                reason: p.reason,
                                message: p.message,
                            });
                        }
                        Ok(chain(vec![BufferItem::Pcre(Pcre {
                            pattern: text,
                            flags,
                            relative: false,
                            negated: false,
                        })]))
                    }
                    _ => Err(wrong(
                        "; use contains, startswith, endswith, equals, ==, !=, in, matches or exists",
                    )),
                }
            }
            _ => Err(wrong("")),
        }
    }

    fn addresses(&mut self, value: &Pair<'_, R>) -> Result<crate::ir::AddressSet, NError> {
        let base = value.as_span().start();
        match value.as_rule() {
            R::list => self
                .groups
                .addresses_text(value.as_str())
                .map_err(|e| NError::from_group(e, base)),
            R::variable => self
                .groups
                .address_var(&value.as_str()[1..], 0)
                .map_err(|e| NError::from_group(e, base)),
            R::scalar if value.as_str() == "any" => Ok(crate::ir::AddressSet::any()),
            R::scalar => parse_address_atom(value.as_str())
                .map_err(|m| NError::at(value, DiagnosticKind::BadAddress, "bad address", m)),
            _ => Err(NError::mismatch(
                value,
                "expected an address, CIDR, list or variable",
            )),
        }
    }

    fn number(&mut self, value: &Pair<'_, R>, field: &Field) -> Result<u64, NError> {
        let text = match value.as_rule() {
            R::scalar => value.as_str().to_string(),
            R::string => string_text(value)?,
            _ => return Err(NError::mismatch(value, "expected a number")),
        };
        text.parse::<u64>()
            .ok()
            .or_else(|| named_number(field, &text))
            .ok_or_else(|| NError::invalid(value, format!("`{text}` is not a number")))
    }

    fn numbers(
        &mut self,
        value: &Pair<'_, R>,
        field: &Field,
        is_port: bool,
    ) -> Result<RangeSet<u64>, NError> {
        let base = value.as_span().start();
        let widen = |s: crate::ir::PortSet| {
            RangeSet::from_ranges(
                s.ranges()
                    .iter()
                    .map(|r| u64::from(*r.start())..=u64::from(*r.end())),
            )
        };
        match value.as_rule() {
            R::variable => self
                .groups
                .port_var(&value.as_str()[1..], 0)
                .map(widen)
                .map_err(|e| NError::from_group(e, base)),
            R::list if is_port => self
                .groups
                .ports_text(value.as_str())
                .map(widen)
                .map_err(|e| NError::from_group(e, base)),
            R::list => {
                let mut ranges = Vec::new();
                for item in value.clone().into_inner() {
                    let s = item.as_str();
                    if let Some((lo, hi)) = s.split_once(':') {
                        let lo = lo
                            .parse::<u64>()
                            .map_err(|_| NError::invalid(&item, format!("`{s}` is not a range")))?;
                        let hi = hi
                            .parse::<u64>()
                            .map_err(|_| NError::invalid(&item, format!("`{s}` is not a range")))?;
                        ranges.push(lo..=hi);
                    } else {
                        let n = self.number(&item, field)?;
                        ranges.push(n..=n);
                    }
                }
                Ok(RangeSet::from_ranges(ranges))
            }
            R::scalar if is_port => parse_port_atom(value.as_str())
                .map(widen)
                .map_err(|m| NError::at(value, DiagnosticKind::BadPort, "bad port", m)),
            _ => {
                let n = self.number(value, field)?;
                Ok(RangeSet::from_ranges([n..=n]))
            }
        }
    }

    fn flags(&mut self, value: &Pair<'_, R>) -> Result<u8, NError> {
        let items: Vec<Pair<'_, R>> = match value.as_rule() {
            R::list => value.clone().into_inner().collect(),
            _ => vec![value.clone()],
        };
        let mut flags = 0;
        for item in items {
            flags |= tcp_flag(item.as_str()).ok_or_else(|| {
                NError::invalid(
                    &item,
                    format!(
                        "unknown TCP flag `{}` (fin, syn, rst, psh, ack, urg, ece, cwr)",
                        item.as_str()
                    ),
                )
            })?;
        }
        Ok(flags)
    }
}
