//! Rule options (`msg`, `content`, `flow`, ...) applied one by one to a
//! [`RuleBuilder`], which resolves sticky buffers and legacy content
//! modifiers into per-buffer match chains.

use super::config::Classifications;
use super::keywords::{is_known_unsupported, legacy_modifier, sticky_buffer};
use super::numbers::parse_num_cmp;
use crate::diag::DiagnosticKind;
use crate::ir::{
    Buffer, BufferItem, BufferMatch, Content, DEFAULT_PRIORITY, Expr, FastPattern, Field,
    FieldTest, FlagMode, Flow, FlowDirection, FlowState, IsDataAt, Measure, NumCmp, Pcre,
    PcreFlags, Predicate, Quantifier, Rate, RateKind, Reference, Target, Test, Track, frag_bits,
    tcp_flags,
};
use crate::strings::{decode_content, unescape};

/// One `keyword[:value];` with file offsets.
#[derive(Clone, Copy, Debug)]
pub struct Opt<'i> {
    /// The keyword.
    pub keyword: &'i str,
    /// File offset of the keyword.
    pub keyword_offset: usize,
    /// The value, trailing whitespace removed.
    pub value: Option<&'i str>,
    /// File offset of the value.
    pub value_offset: usize,
}

/// An option that cannot be applied.
#[derive(Clone, Debug)]
pub struct OptError {
    /// Category.
    pub kind: DiagnosticKind,
    /// File offset of the culprit.
    pub offset: usize,
    /// Length of the culprit.
    pub len: usize,
    /// Short reason, for grouping.
    pub reason: String,
    /// Message.
    pub message: String,
}

impl Opt<'_> {
    fn value_error(
        &self,
        kind: DiagnosticKind,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> OptError {
        let (offset, len) = match self.value {
            Some(v) => (self.value_offset, v.len()),
            None => (self.keyword_offset, self.keyword.len()),
        };
        OptError {
            kind,
            offset,
            len,
            reason: reason.into(),
            message: message.into(),
        }
    }

    fn invalid(&self, message: impl Into<String>) -> OptError {
        self.value_error(
            DiagnosticKind::InvalidValue,
            format!("invalid `{}` value", self.keyword),
            message,
        )
    }

    fn keyword_error(&self, kind: DiagnosticKind, reason: String, message: String) -> OptError {
        OptError {
            kind,
            offset: self.keyword_offset,
            len: self.keyword.len(),
            reason,
            message,
        }
    }

    fn require_value(&self) -> Result<&str, OptError> {
        self.value.ok_or_else(|| {
            self.keyword_error(
                DiagnosticKind::InvalidValue,
                format!("`{}` needs a value", self.keyword),
                format!("`{}` needs a value", self.keyword),
            )
        })
    }

    fn no_value(&self) -> Result<(), OptError> {
        match self.value {
            None => Ok(()),
            Some(_) => Err(self.invalid(format!("`{}` takes no value", self.keyword))),
        }
    }

    /// Unquotes a `"..."` or `!"..."` value: (negated, inside, file offset
    /// of the inside). The closing quote is the first unescaped one, or for
    /// `pcre` (whose patterns may hold a lone `"`) the last one.
    fn quoted(&self) -> Result<(bool, &str, usize), OptError> {
        let v = self.require_value()?;
        let t = v.trim_start();
        let lead = v.len() - t.len();
        let (negated, rest, skip) = match t.strip_prefix('!') {
            Some(r) => {
                let r2 = r.trim_start();
                (true, r2, 1 + r.len() - r2.len())
            }
            None => (false, t, 0),
        };
        let Some(body) = rest.strip_prefix('"') else {
            return Err(self.invalid(format!("`{}` needs a quoted string", self.keyword)));
        };
        let open = self.value_offset + lead + skip;
        let close = if self.keyword == "pcre" {
            body.rfind('"')
        } else {
            let bytes = body.as_bytes();
            let mut i = 0;
            let mut found = None;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 1,
                    b'"' => {
                        found = Some(i);
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
            found
        };
        let Some(close) = close else {
            return Err(OptError {
                kind: DiagnosticKind::UnclosedString,
                offset: open,
                len: 1,
                reason: "unclosed string".into(),
                message: "unclosed string: this `\"` has no closing quote".into(),
            });
        };
        let after = &body[close + 1..];
        if !after.trim().is_empty() {
            let ws = after.len() - after.trim_start().len();
            return Err(OptError {
                kind: DiagnosticKind::MissingSemicolon,
                offset: open + 1 + close + 1 + ws,
                len: 1,
                reason: "missing `;`".into(),
                message: format!("expected `;` after the value of `{}`", self.keyword),
            });
        }
        Ok((negated, &body[..close], open + 1))
    }

    fn unsupported_value(&self, what: &str) -> OptError {
        self.value_error(
            DiagnosticKind::UnsupportedValue,
            format!("unsupported `{}` value `{what}`", self.keyword),
            format!("unsupported `{}` value `{what}`", self.keyword),
        )
    }
}

/// Accumulates a rule's options.
#[derive(Debug)]
pub struct RuleBuilder {
    pub gid: u32,
    pub sid: Option<u32>,
    pub rev: u32,
    pub msg: Option<String>,
    pub classtype: Option<(String, usize)>,
    pub priority: Option<u8>,
    pub metadata: Vec<(String, String)>,
    pub references: Vec<Reference>,
    pub target: Option<Target>,
    pub flow: Flow,
    pub rate: Option<Rate>,
    pub noalert: bool,
    /// Problems that do not stop the rule from loading.
    pub warnings: Vec<OptError>,
    chains: Vec<BufferMatch>,
    fields: Vec<FieldTest>,
    sticky: Buffer,
    /// Chain and item index of the last content or pcre, which content
    /// modifiers apply to.
    last: Option<(usize, usize)>,
}

fn parse_u32(opt: &Opt<'_>) -> Result<u32, OptError> {
    let v = opt.require_value()?.trim();
    v.parse::<u32>()
        .map_err(|_| opt.invalid(format!("`{}` needs a number, found `{v}`", opt.keyword)))
}

impl RuleBuilder {
    pub fn new() -> Self {
        RuleBuilder {
            gid: 1,
            sid: None,
            rev: 0,
            msg: None,
            classtype: None,
            priority: None,
            metadata: Vec::new(),
            references: Vec::new(),
            target: None,
            flow: Flow::default(),
            rate: None,
            noalert: false,
            warnings: Vec::new(),
            chains: Vec::new(),
            fields: Vec::new(),
            sticky: Buffer::Payload,
            last: None,
        }
    }

    fn chain(&mut self, buffer: Buffer) -> usize {
        match self.chains.iter().position(|c| c.buffer == buffer) {
            Some(i) => i,
            None => {
                self.chains.push(BufferMatch {
                    buffer,
                    quantifier: Quantifier::Any,
                    items: Vec::new(),
                });
                self.chains.len() - 1
            }
        }
    }

    fn push_item(&mut self, buffer: Buffer, item: BufferItem) -> (usize, usize) {
        let c = self.chain(buffer);
        self.chains[c].items.push(item);
        (c, self.chains[c].items.len() - 1)
    }

    fn last_content(&mut self, opt: &Opt<'_>) -> Result<&mut Content, OptError> {
        let err = || {
            opt.keyword_error(
                DiagnosticKind::InvalidValue,
                format!("`{}` without a preceding content", opt.keyword),
                format!("`{}` must follow a `content`", opt.keyword),
            )
        };
        let (c, i) = self.last.ok_or_else(err)?;
        match &mut self.chains[c].items[i] {
            BufferItem::Content(content) => Ok(content),
            _ => Err(err()),
        }
    }

    fn field(&mut self, field: Field, test: Test) {
        self.fields.push(FieldTest { field, test });
    }

    /// The buffers used so far, for protocol inference.
    pub fn buffers(&self) -> impl Iterator<Item = &Buffer> {
        self.chains
            .iter()
            .filter(|c| !c.items.is_empty())
            .map(|c| &c.buffer)
    }

    /// Applies one option.
    pub fn apply(&mut self, opt: &Opt<'_>) -> Result<(), OptError> {
        let kw = opt.keyword;
        if let Some(buffer) = sticky_buffer(kw) {
            opt.no_value()?;
            self.sticky = buffer;
            return Ok(());
        }
        if let Some(buffer) = legacy_modifier(kw) {
            opt.no_value()?;
            self.last_content(opt)?;
            let (c, i) = self.last.expect("checked by last_content");
            let item = self.chains[c].items.remove(i);
            // A chain emptied by the move must not keep its place in the
            // buffer order.
            if self.chains[c].items.is_empty() {
                self.chains.remove(c);
            }
            self.last = Some(self.push_item(buffer, item));
            return Ok(());
        }
        match kw {
            "msg" => {
                let (_, inner, _) = opt.quoted()?;
                self.msg = Some(unescape(inner));
            }
            "sid" => self.sid = Some(parse_u32(opt)?),
            "rev" => self.rev = parse_u32(opt)?,
            "gid" => self.gid = parse_u32(opt)?,
            "priority" => {
                let p = parse_u32(opt)?;
                self.priority = Some(
                    u8::try_from(p)
                        .ok()
                        .filter(|p| *p >= 1)
                        .ok_or_else(|| opt.invalid(format!("priority {p} is outside 1 to 255")))?,
                );
            }
            "classtype" => {
                let v = opt.require_value()?.trim();
                self.classtype = Some((v.to_string(), opt.value_offset));
            }
            "metadata" => {
                for part in opt.require_value()?.split(',') {
                    let part = part.trim();
                    if part.is_empty() {
                        continue;
                    }
                    let (k, v) = part.split_once(' ').unwrap_or((part, ""));
                    self.metadata.push((k.to_string(), v.trim().to_string()));
                }
            }
            "reference" => {
                let v = opt.require_value()?.trim();
                let (system, id) = v
                    .split_once(',')
                    .ok_or_else(|| opt.invalid(format!("reference `{v}` is not `system,id`")))?;
                self.references.push(Reference {
                    system: system.trim().to_string(),
                    id: id.trim().to_string(),
                });
            }
            "target" => {
                self.target = Some(match opt.require_value()?.trim() {
                    "src_ip" => Target::Source,
                    "dest_ip" => Target::Destination,
                    other => {
                        return Err(
                            opt.invalid(format!("target `{other}` is not src_ip or dest_ip"))
                        );
                    }
                });
            }
            "noalert" => {
                opt.no_value()?;
                self.noalert = true;
            }
            "flow" => self.flow(opt)?,
            "content" => self.content(opt)?,
            "nocase" => {
                opt.no_value()?;
                self.last_content(opt)?.nocase = true;
            }
            "startswith" => {
                opt.no_value()?;
                self.last_content(opt)?.startswith = true;
            }
            "endswith" => {
                opt.no_value()?;
                self.last_content(opt)?.endswith = true;
            }
            "depth" | "offset" | "within" => {
                let n = position_value(opt)?;
                let n = u32::try_from(n)
                    .map_err(|_| opt.invalid(format!("`{kw}` cannot be negative")))?;
                let c = self.last_content(opt)?;
                match kw {
                    "depth" => c.depth = Some(n),
                    "offset" => c.offset = Some(n),
                    _ => c.within = Some(n),
                }
                let len = c.pattern.len();
                if kw != "offset" && (n as usize) < len && !c.negated {
                    let text = crate::strings::display_bytes(&c.pattern);
                    self.warnings.push(opt.value_error(
                        DiagnosticKind::ContentNeverMatches,
                        "content can never match",
                        format!("content \"{text}\" is {len} bytes long but `{kw}` is {n}: it can never match"),
                    ));
                }
            }
            "distance" => {
                let n = position_value(opt)?;
                let n = i32::try_from(n).map_err(|_| opt.invalid("distance out of range"))?;
                self.last_content(opt)?.distance = Some(n);
            }
            "fast_pattern" => {
                let fp = match opt.value.map(str::trim) {
                    None => FastPattern::Whole,
                    Some("only") => FastPattern::Only,
                    Some(v) => {
                        let (o, l) = v
                            .split_once(',')
                            .and_then(|(o, l)| {
                                Some((o.trim().parse().ok()?, l.trim().parse().ok()?))
                            })
                            .ok_or_else(|| {
                                opt.invalid(format!(
                                    "fast_pattern `{v}` is not `only` or `offset,length`"
                                ))
                            })?;
                        FastPattern::Chop {
                            offset: o,
                            length: l,
                        }
                    }
                };
                self.last_content(opt)?.fast_pattern = Some(fp);
            }
            "pcre" => self.pcre(opt)?,
            "isdataat" => {
                let v = opt.require_value()?;
                let mut parts = v.split(',').map(str::trim);
                let first = parts.next().unwrap_or("");
                let (negated, num) = match first.strip_prefix('!') {
                    Some(n) => (true, n.trim()),
                    None => (false, first),
                };
                let position = num.parse::<u32>().map_err(|_| {
                    if num.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
                        opt.unsupported_value(num)
                    } else {
                        opt.invalid(format!("isdataat position `{num}` is not a number"))
                    }
                })?;
                let mut relative = false;
                for p in parts {
                    match p {
                        "relative" => relative = true,
                        "rawbytes" => {}
                        other => {
                            return Err(opt.invalid(format!("unknown isdataat option `{other}`")));
                        }
                    }
                }
                let buffer = match (relative, self.last) {
                    (true, Some((c, _))) => self.chains[c].buffer.clone(),
                    _ => self.sticky.clone(),
                };
                self.push_item(
                    buffer,
                    BufferItem::IsDataAt(IsDataAt {
                        position,
                        relative,
                        negated,
                    }),
                );
            }
            "bsize" => {
                let cmp = num_value(opt)?;
                let buffer = self.sticky.clone();
                if let Some(max) = cmp.max_value() {
                    let chain = self.chain(buffer.clone());
                    let longest = self.chains[chain]
                        .contents()
                        .filter(|c| !c.negated)
                        .map(|c| c.pattern.len())
                        .max()
                        .unwrap_or(0);
                    if longest as u64 > max {
                        self.warnings.push(opt.value_error(
                            DiagnosticKind::ContentNeverMatches,
                            "content can never match",
                            format!("a {longest}-byte content cannot fit a buffer of at most {max} bytes (`bsize`)"),
                        ));
                    }
                }
                self.push_item(buffer, BufferItem::Bsize(cmp));
            }
            "dsize" => {
                let cmp = num_value(opt)?;
                self.field(Field::PayloadSize, Test::Num(cmp));
            }
            "urilen" => {
                let v = opt.require_value()?;
                let (num, mode) = match v.split_once(',') {
                    Some((n, m)) => (n, m.trim()),
                    None => (v, "norm"),
                };
                let field = match mode {
                    "norm" => Field::UriLen,
                    "raw" => Field::UriLenRaw,
                    other => {
                        return Err(
                            opt.invalid(format!("urilen mode `{other}` is not raw or norm"))
                        );
                    }
                };
                let cmp = parse_num_cmp(num).map_err(|e| opt.invalid(e))?;
                self.field(field, Test::Num(cmp));
            }
            "ttl" => {
                let cmp = num_value(opt)?;
                self.field(Field::Ttl, Test::Num(cmp));
            }
            "itype" => {
                let cmp = num_value(opt)?;
                self.field(Field::IcmpType, Test::Num(cmp));
            }
            "icode" => {
                let cmp = num_value(opt)?;
                self.field(Field::IcmpCode, Test::Num(cmp));
            }
            "window" | "seq" | "ack" => {
                let v = opt.require_value()?.trim();
                let (neg, n) = match v.strip_prefix('!') {
                    Some(n) => (true, n.trim()),
                    None => (false, v),
                };
                let n: u64 = n
                    .parse()
                    .map_err(|_| opt.invalid(format!("`{kw}` needs a number, found `{n}`")))?;
                let field = match kw {
                    "window" => Field::TcpWindow,
                    "seq" => Field::TcpSeq,
                    _ => Field::TcpAck,
                };
                self.field(
                    field,
                    Test::Num(if neg { NumCmp::Ne(n) } else { NumCmp::Eq(n) }),
                );
            }
            "ip_proto" => {
                let v = opt.require_value()?.trim();
                let (prefix, name) = v
                    .find(|c: char| c.is_ascii_alphanumeric())
                    .map_or(("", v), |i| v.split_at(i));
                let n = ip_proto_number(name)
                    .ok_or_else(|| opt.invalid(format!("unknown IP protocol `{name}`")))?;
                let cmp = match prefix.trim() {
                    "" | "=" => NumCmp::Eq(n),
                    "!" => NumCmp::Ne(n),
                    "<" => NumCmp::Lt(n),
                    ">" => NumCmp::Gt(n),
                    other => {
                        return Err(opt.invalid(format!("unknown ip_proto operator `{other}`")));
                    }
                };
                self.field(Field::IpProto, Test::Num(cmp));
            }
            "ipopts" => {
                let v = opt.require_value()?.trim();
                const OPTS: &[&str] = &[
                    "rr", "eol", "nop", "ts", "sec", "esec", "lsrr", "lsrre", "ssrr", "satid",
                    "any",
                ];
                if !OPTS.contains(&v.to_ascii_lowercase().as_str()) {
                    return Err(opt.invalid(format!("unknown IP option `{v}`")));
                }
                self.field(Field::IpOpts, Test::IpOption(v.to_ascii_lowercase()));
            }
            "flags" => {
                let test = tcp_flags_test(opt.require_value()?).map_err(|e| opt.invalid(e))?;
                self.field(Field::TcpFlags, test);
            }
            "fragbits" => {
                let test = flag_test(opt.require_value()?, "", |c| match c {
                    'M' => Some(frag_bits::MF),
                    'D' => Some(frag_bits::DF),
                    'R' => Some(frag_bits::RESERVED),
                    _ => None,
                })
                .map_err(|e| opt.invalid(e))?;
                self.field(Field::FragBits, test);
            }
            "tls.version" => {
                let v = opt.require_value()?.trim();
                let n = match v.trim_matches('"') {
                    "1.0" => 0x0301,
                    "1.1" => 0x0302,
                    "1.2" => 0x0303,
                    "1.3" => 0x0304,
                    "3.0" | "ssl3" | "ssl3.0" => 0x0300,
                    "2.0" | "ssl2" => 0x0200,
                    other => match other.strip_prefix("0x").map(|h| u64::from_str_radix(h, 16)) {
                        Some(Ok(n)) => n,
                        _ => return Err(opt.invalid(format!("unknown TLS version `{v}`"))),
                    },
                };
                self.field(Field::TlsVersion, Test::Num(NumCmp::Eq(n)));
            }
            "threshold" => self.rate = Some(parse_rate(opt, true)?),
            "detection_filter" => self.rate = Some(parse_rate(opt, false)?),
            _ if is_known_unsupported(kw) => {
                return Err(opt.keyword_error(
                    DiagnosticKind::UnsupportedKeyword,
                    format!("unsupported keyword `{kw}`"),
                    format!("unsupported keyword `{kw}`"),
                ));
            }
            _ => {
                return Err(opt.keyword_error(
                    DiagnosticKind::UnknownKeyword,
                    format!("unknown keyword `{kw}`"),
                    format!("unknown rule option `{kw}`"),
                ));
            }
        }
        Ok(())
    }

    fn flow(&mut self, opt: &Opt<'_>) -> Result<(), OptError> {
        for part in opt.require_value()?.split(',').map(str::trim) {
            match part {
                "to_server" | "from_client" => self.flow.direction = Some(FlowDirection::ToServer),
                "to_client" | "from_server" => self.flow.direction = Some(FlowDirection::ToClient),
                "established" => self.flow.state = Some(FlowState::Established),
                "not_established" => self.flow.state = Some(FlowState::NotEstablished),
                "stateless" => self.flow.state = Some(FlowState::Stateless),
                "only_stream" | "no_stream" | "only_frag" | "no_frag" => {
                    return Err(opt.unsupported_value(part));
                }
                other => return Err(opt.invalid(format!("unknown flow option `{other}`"))),
            }
        }
        Ok(())
    }

    fn content(&mut self, opt: &Opt<'_>) -> Result<(), OptError> {
        let (negated, inner, inner_offset) = opt.quoted()?;
        let pattern = decode_content(inner).map_err(|e| OptError {
            kind: DiagnosticKind::InvalidValue,
            offset: inner_offset + e.offset,
            len: 1,
            reason: "invalid `content` value".into(),
            message: e.message,
        })?;
        if pattern.is_empty() {
            return Err(opt.invalid("empty content"));
        }
        let buffer = self.sticky.clone();
        self.last = Some(self.push_item(
            buffer,
            BufferItem::Content(Content {
                pattern,
                negated,
                ..Content::default()
            }),
        ));
        Ok(())
    }

    fn pcre(&mut self, opt: &Opt<'_>) -> Result<(), OptError> {
        let (negated, inner, inner_offset) = opt.quoted()?;
        let (pattern, flag_text) = match (inner.find('/'), inner.rfind('/')) {
            (Some(0), Some(end)) if end > 0 => (&inner[1..end], &inner[end + 1..]),
            _ => return Err(opt.invalid(format!("pcre `{inner}` is not `/pattern/flags`"))),
        };
        let mut flags = PcreFlags::default();
        let mut relative = false;
        let mut buffer = None;
        for f in flag_text.chars() {
            let b = match f {
                'i' => {
                    flags.caseless = true;
                    None
                }
                's' => {
                    flags.dotall = true;
                    None
                }
                'm' => {
                    flags.multiline = true;
                    None
                }
                'x' => {
                    flags.extended = true;
                    None
                }
                'A' => {
                    flags.anchored = true;
                    None
                }
                'E' => {
                    flags.dollar_endonly = true;
                    None
                }
                'G' => {
                    flags.ungreedy = true;
                    None
                }
                'R' => {
                    relative = true;
                    None
                }
                // `B` (Snort's rawbytes) and `O` (match limit override) do
                // not change what matches here.
                'B' | 'O' => None,
                'U' => Some(Buffer::HttpUri),
                'I' => Some(Buffer::HttpUriRaw),
                'H' => Some(Buffer::HttpHeader),
                'D' => Some(Buffer::HttpHeaderRaw),
                'M' => Some(Buffer::HttpMethod),
                'C' => Some(Buffer::HttpCookie),
                'S' => Some(Buffer::HttpStatCode),
                'Y' => Some(Buffer::HttpStatMsg),
                'V' => Some(Buffer::HttpUserAgent),
                'W' => Some(Buffer::HttpHost),
                'Z' => Some(Buffer::HttpHostRaw),
                'P' | 'Q' => {
                    return Err(opt.unsupported_value(&format!(
                        "/{f} ({} body)",
                        if f == 'P' { "request" } else { "response" }
                    )));
                }
                other => return Err(opt.invalid(format!("unknown pcre flag `{other}`"))),
            };
            if b.is_some() {
                buffer = b;
            }
        }
        if let Err(p) = crate::regex::parse_pcre(pattern, flags) {
            let pattern_offset = inner_offset + 1;
            return Err(OptError {
                kind: p.kind,
                offset: p.offset.map_or(pattern_offset, |o| pattern_offset + o),
                len: if p.offset.is_some() { 1 } else { pattern.len() },
                reason: p.reason,
                message: p.message,
            });
        }
        let buffer = match (buffer, relative, self.last) {
            (Some(b), _, _) => b,
            (None, true, Some((c, _))) => self.chains[c].buffer.clone(),
            _ => self.sticky.clone(),
        };
        self.last = Some(self.push_item(
            buffer,
            BufferItem::Pcre(Pcre {
                pattern: pattern.to_string(),
                flags,
                relative,
                negated,
            }),
        ));
        Ok(())
    }

    /// The rule's priority and the condition, once every option is applied.
    pub fn finish(
        &mut self,
        classifications: &Classifications,
    ) -> Result<(u8, Option<String>, Expr), OptError> {
        let mut priority = self.priority;
        let mut classtype = None;
        if let Some((name, offset)) = self.classtype.take() {
            if let Some(class) = classifications.get(&name) {
                priority = priority.or(Some(class.priority));
            } else if !classifications.is_empty() {
                return Err(OptError {
                    kind: DiagnosticKind::InvalidValue,
                    offset,
                    len: name.len(),
                    reason: "unknown classtype".into(),
                    message: format!("unknown classtype `{name}` (not in classification.config)"),
                });
            }
            classtype = Some(name);
        }
        let mut parts: Vec<Expr> = self
            .fields
            .drain(..)
            .map(|f| Expr::Predicate(Predicate::Field(f)))
            .collect();
        parts.extend(
            self.chains
                .drain(..)
                .filter(|c| !c.items.is_empty())
                .map(|c| Expr::Predicate(Predicate::Buffer(c))),
        );
        Ok((
            priority.unwrap_or(DEFAULT_PRIORITY),
            classtype,
            Expr::and(parts),
        ))
    }
}

/// A content position (`depth`, `offset`, `distance`, `within`): a number,
/// or a byte_extract variable name, which Vigil does not support.
fn position_value(opt: &Opt<'_>) -> Result<i64, OptError> {
    let v = opt.require_value()?.trim();
    v.parse::<i64>().map_err(|_| {
        if v.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
            opt.unsupported_value(v)
        } else {
            opt.invalid(format!("`{}` needs a number, found `{v}`", opt.keyword))
        }
    })
}

fn num_value(opt: &Opt<'_>) -> Result<NumCmp, OptError> {
    parse_num_cmp(opt.require_value()?).map_err(|e| opt.invalid(e))
}

fn ip_proto_number(name: &str) -> Option<u64> {
    if let Ok(n) = name.parse::<u8>() {
        return Some(n.into());
    }
    Some(match name.to_ascii_lowercase().as_str() {
        "icmp" => 1,
        "igmp" => 2,
        "ipip" | "ipv4" => 4,
        "tcp" => 6,
        "udp" => 17,
        "ipv6" => 41,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "ipv6-icmp" | "icmpv6" => 58,
        "sctp" => 132,
        _ => return None,
    })
}

/// Parses `[+*!]letters[+*!][,mask]` into a flag test.
fn flag_test(value: &str, mask: &str, bit: impl Fn(char) -> Option<u8>) -> Result<Test, String> {
    let mut mode = FlagMode::Exact;
    let mut flags = 0u8;
    let mut none = false;
    for c in value.trim().chars() {
        match c {
            '+' => mode = FlagMode::All,
            '*' => mode = FlagMode::Any,
            '!' => mode = FlagMode::NotAny,
            '0' => none = true,
            ' ' => {}
            c => flags |= bit(c).ok_or_else(|| format!("unknown flag `{c}`"))?,
        }
    }
    if none && flags != 0 {
        return Err("flag `0` (no flag) cannot be combined with other flags".into());
    }
    let mut ignore = 0u8;
    for c in mask.trim().chars() {
        ignore |= bit(c).ok_or_else(|| format!("unknown flag `{c}` in the mask"))?;
    }
    Ok(Test::Flags {
        mode,
        flags,
        ignore,
    })
}

/// Parses Suricata's `flags:` value (`S`, `SA,12`, `+A`, `!R`, `*SF`, `0`).
pub fn tcp_flags_test(value: &str) -> Result<Test, String> {
    let (flags, mask) = value.split_once(',').unwrap_or((value, ""));
    flag_test(flags, mask, |c| {
        Some(match c {
            'F' => tcp_flags::FIN,
            'S' => tcp_flags::SYN,
            'R' => tcp_flags::RST,
            'P' => tcp_flags::PSH,
            'A' => tcp_flags::ACK,
            'U' => tcp_flags::URG,
            'E' | '2' => tcp_flags::ECE,
            'C' | '1' => tcp_flags::CWR,
            _ => return None,
        })
    })
}

/// Parses `threshold:` (with `type`) or `detection_filter:` options.
fn parse_rate(opt: &Opt<'_>, threshold: bool) -> Result<Rate, OptError> {
    let mut kind = if threshold {
        None
    } else {
        Some(RateKind::DetectionFilter)
    };
    let (mut track, mut count, mut seconds) = (None, None, None);
    for part in opt.require_value()?.split(',') {
        let part = part.trim();
        let (k, v) = part
            .split_once(char::is_whitespace)
            .map(|(k, v)| (k, v.trim()))
            .ok_or_else(|| opt.invalid(format!("`{part}` is not `name value`")))?;
        match k {
            "type" if threshold => {
                kind = Some(match v {
                    "limit" => RateKind::Limit,
                    "threshold" => RateKind::Threshold,
                    "both" => RateKind::Both,
                    other => return Err(opt.invalid(format!("unknown threshold type `{other}`"))),
                })
            }
            "track" => {
                track = Some(
                    parse_track(v).ok_or_else(|| opt.invalid(format!("unknown track `{v}`")))?,
                )
            }
            "count" => {
                count = Some(
                    v.parse::<u64>()
                        .map_err(|_| opt.invalid(format!("count `{v}` is not a number")))?,
                )
            }
            "seconds" => {
                seconds = Some(
                    v.parse::<u32>()
                        .map_err(|_| opt.invalid(format!("seconds `{v}` is not a number")))?,
                )
            }
            other => return Err(opt.invalid(format!("unknown `{}` option `{other}`", opt.keyword))),
        }
    }
    match (kind, track, count, seconds) {
        (Some(kind), Some(track), Some(count), Some(seconds)) => Ok(Rate {
            kind,
            measure: Measure::Count,
            track,
            count,
            seconds,
        }),
        _ => Err(opt.invalid(format!(
            "`{}` needs {}track, count and seconds",
            opt.keyword,
            if threshold { "type, " } else { "" }
        ))),
    }
}

/// Parses `by_src`, `by_dst`, `by_both`, `by_rule`, `by_flow`.
pub fn parse_track(v: &str) -> Option<Track> {
    Some(match v.trim() {
        "by_src" => Track::BySrc,
        "by_dst" => Track::ByDst,
        "by_both" => Track::ByBoth,
        "by_rule" => Track::ByRule,
        "by_flow" => Track::ByFlow,
        _ => return None,
    })
}
