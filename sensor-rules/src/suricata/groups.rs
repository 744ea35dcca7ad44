//! Evaluation of Suricata address and port groups (`[10.0.0.0/8,!$DMZ]`,
//! `![80,443]`, `1024:`) into compiled sets, expanding variables.

use std::collections::HashMap;
use std::net::IpAddr;

use pest::Parser;
use pest::iterators::Pair;

use super::grammar::{Rule, SuricataParser};
use crate::diag::DiagnosticKind;
use crate::ir::{AddressSet, PortSet};
use crate::vars::Vars;

/// Variables may refer to variables; this bounds the chain (and breaks
/// cycles such as `A: $B`, `B: $A`).
const MAX_VAR_DEPTH: usize = 16;

/// A group that does not evaluate, with the position of the culprit within
/// the parsed text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupError {
    /// Byte offset in the parsed text.
    pub offset: usize,
    /// Length of the culprit.
    pub len: usize,
    /// Category.
    pub kind: DiagnosticKind,
    /// Short reason, for grouping.
    pub reason: String,
    /// Message.
    pub message: String,
}

/// The set algebra and atom syntax of one kind of group.
trait GroupKind {
    type Set: Clone;
    const WHAT: &'static str;
    const ERROR_KIND: DiagnosticKind;
    fn any() -> Self::Set;
    fn union(a: &Self::Set, b: &Self::Set) -> Self::Set;
    fn difference(a: &Self::Set, b: &Self::Set) -> Self::Set;
    fn complement(a: &Self::Set) -> Self::Set;
    fn empty() -> Self::Set;
    fn atom(text: &str) -> Result<Self::Set, String>;
    fn cache<'g>(
        groups: &'g mut Groups<'_>,
    ) -> &'g mut HashMap<String, Result<Self::Set, GroupError>>;
}

struct Addresses;
struct Ports;

impl GroupKind for Addresses {
    type Set = AddressSet;
    const WHAT: &'static str = "address";
    const ERROR_KIND: DiagnosticKind = DiagnosticKind::BadAddress;
    fn any() -> AddressSet {
        AddressSet::any()
    }
    fn empty() -> AddressSet {
        AddressSet::none()
    }
    fn union(a: &AddressSet, b: &AddressSet) -> AddressSet {
        a.union(b)
    }
    fn difference(a: &AddressSet, b: &AddressSet) -> AddressSet {
        a.difference(b)
    }
    fn complement(a: &AddressSet) -> AddressSet {
        a.complement()
    }
    fn atom(text: &str) -> Result<AddressSet, String> {
        parse_address_atom(text)
    }
    fn cache<'g>(
        groups: &'g mut Groups<'_>,
    ) -> &'g mut HashMap<String, Result<AddressSet, GroupError>> {
        &mut groups.address_vars
    }
}

impl GroupKind for Ports {
    type Set = PortSet;
    const WHAT: &'static str = "port";
    const ERROR_KIND: DiagnosticKind = DiagnosticKind::BadPort;
    fn any() -> PortSet {
        PortSet::full()
    }
    fn empty() -> PortSet {
        PortSet::empty()
    }
    fn union(a: &PortSet, b: &PortSet) -> PortSet {
        a.union(b)
    }
    fn difference(a: &PortSet, b: &PortSet) -> PortSet {
        a.difference(b)
    }
    fn complement(a: &PortSet) -> PortSet {
        a.complement()
    }
    fn atom(text: &str) -> Result<PortSet, String> {
        parse_port_atom(text)
    }
    fn cache<'g>(
        groups: &'g mut Groups<'_>,
    ) -> &'g mut HashMap<String, Result<PortSet, GroupError>> {
        &mut groups.port_vars
    }
}

/// Parses an address atom: an address, `addr/prefix`, `addr/netmask` or
/// `lo-hi`.
pub fn parse_address_atom(text: &str) -> Result<AddressSet, String> {
    if let Some((addr, prefix)) = text.split_once('/') {
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("invalid CIDR `{text}`: `{addr}` is not an IP address"))?;
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        let prefix_len: u8 = match prefix.parse::<u8>() {
            Ok(p) => p,
            Err(_) => match (ip, prefix.parse::<IpAddr>()) {
                // Netmask form, `10.0.0.0/255.0.0.0`.
                (IpAddr::V4(_), Ok(IpAddr::V4(mask))) => {
                    let m = u32::from(mask);
                    if m.leading_ones() + m.trailing_zeros() != 32 {
                        return Err(format!(
                            "invalid CIDR `{text}`: `{prefix}` is not a netmask"
                        ));
                    }
                    m.leading_ones() as u8
                }
                _ => {
                    return Err(format!(
                        "invalid CIDR `{text}`: `{prefix}` is not a prefix length"
                    ));
                }
            },
        };
        return AddressSet::from_cidr(ip, prefix_len).ok_or_else(|| {
            format!("invalid CIDR `{text}`: prefix length {prefix_len} is longer than {bits} bits")
        });
    }
    if let Some((lo, hi)) = text.split_once('-')
        && let (Ok(lo), Ok(hi)) = (lo.parse::<IpAddr>(), hi.parse::<IpAddr>())
    {
        return AddressSet::from_range(lo, hi)
            .ok_or_else(|| format!("invalid address range `{text}`: mixes IPv4 and IPv6"));
    }
    let ip: IpAddr = text
        .parse()
        .map_err(|_| format!("invalid address `{text}`"))?;
    Ok(AddressSet::from_cidr(ip, if ip.is_ipv4() { 32 } else { 128 }).expect("full prefix"))
}

/// Parses a port atom: `80`, `80:90`, `:1023`, `1024:`.
pub fn parse_port_atom(text: &str) -> Result<PortSet, String> {
    let port = |s: &str, default: u16| -> Result<u16, String> {
        if s.is_empty() {
            return Ok(default);
        }
        s.parse::<u16>()
            .map_err(|_| format!("invalid port `{s}` (ports are 0 to 65535)"))
    };
    let (lo, hi) = match text.split_once(':') {
        Some((lo, hi)) => (port(lo, 0)?, port(hi, u16::MAX)?),
        None => {
            let p = port(text, 0)?;
            (p, p)
        }
    };
    if lo > hi {
        return Err(format!("invalid port range `{text}`: {lo} is above {hi}"));
    }
    Ok(PortSet::from_ranges([lo..=hi]))
}

/// Evaluates groups against a variable table, caching each variable's value.
#[derive(Debug)]
pub struct Groups<'v> {
    vars: &'v Vars,
    address_vars: HashMap<String, Result<AddressSet, GroupError>>,
    port_vars: HashMap<String, Result<PortSet, GroupError>>,
}

impl<'v> Groups<'v> {
    /// An evaluator over `vars`.
    pub fn new(vars: &'v Vars) -> Self {
        Groups {
            vars,
            address_vars: HashMap::new(),
            port_vars: HashMap::new(),
        }
    }

    /// The variables groups are evaluated against.
    pub fn vars(&self) -> &'v Vars {
        self.vars
    }

    /// Evaluates an `address` or `group` pair as addresses.
    pub fn addresses(&mut self, pair: Pair<'_, Rule>) -> Result<AddressSet, GroupError> {
        self.group::<Addresses>(pair, 0)
    }

    /// Evaluates a `ports` or `group` pair as ports.
    pub fn ports(&mut self, pair: Pair<'_, Rule>) -> Result<PortSet, GroupError> {
        self.group::<Ports>(pair, 0)
    }

    /// Evaluates group text (a variable's value or a native list) as
    /// addresses; error offsets are relative to `text`.
    pub fn addresses_text(&mut self, text: &str) -> Result<AddressSet, GroupError> {
        self.text::<Addresses>(text, 0)
    }

    /// Evaluates group text as ports.
    pub fn ports_text(&mut self, text: &str) -> Result<PortSet, GroupError> {
        self.text::<Ports>(text, 0)
    }

    /// Resolves `$NAME` as addresses.
    pub fn address_var(&mut self, name: &str, offset: usize) -> Result<AddressSet, GroupError> {
        self.var::<Addresses>(name, offset, 0)
    }

    /// Resolves `$NAME` as ports.
    pub fn port_var(&mut self, name: &str, offset: usize) -> Result<PortSet, GroupError> {
        self.var::<Ports>(name, offset, 0)
    }

    fn text<K: GroupKind>(&mut self, text: &str, depth: usize) -> Result<K::Set, GroupError> {
        let mut pairs = SuricataParser::parse(Rule::group_value, text).map_err(|e| {
            let offset = match e.location {
                pest::error::InputLocation::Pos(p) => p,
                pest::error::InputLocation::Span((s, _)) => s,
            };
            GroupError {
                offset,
                len: 1,
                kind: K::ERROR_KIND,
                reason: format!("malformed {} group", K::WHAT),
                message: format!("malformed {} group `{text}`", K::WHAT),
            }
        })?;
        let group = pairs
            .next()
            .and_then(|p| p.into_inner().next())
            .expect("group_value holds a group");
        self.group::<K>(group, depth)
    }

    fn var<K: GroupKind>(
        &mut self,
        name: &str,
        offset: usize,
        depth: usize,
    ) -> Result<K::Set, GroupError> {
        let at = |kind, reason: String, message: String| GroupError {
            offset,
            len: name.len() + 1,
            kind,
            reason,
            message,
        };
        if let Some(r) = K::cache(self).get(name) {
            return r.clone().map_err(|e| GroupError { offset, ..e });
        }
        if depth > MAX_VAR_DEPTH {
            return Err(at(
                DiagnosticKind::InvalidValue,
                "variable refers to itself".into(),
                format!("variable `${name}` refers to itself"),
            ));
        }
        let Some(value) = self.vars.get(name) else {
            return Err(at(
                DiagnosticKind::UndefinedVariable,
                format!("undefined variable `${name}`"),
                format!("undefined variable `${name}`"),
            ));
        };
        let value = value.to_string();
        let result = self.text::<K>(&value, depth + 1).map_err(|e| {
            at(
                e.kind,
                e.reason,
                format!("in variable `${name}` = `{value}`: {}", e.message),
            )
        });
        K::cache(self).insert(name.to_string(), result.clone());
        result
    }

    fn group<K: GroupKind>(
        &mut self,
        pair: Pair<'_, Rule>,
        depth: usize,
    ) -> Result<K::Set, GroupError> {
        // `address`/`ports` wrap one `group`.
        let pair = match pair.as_rule() {
            Rule::address | Rule::ports => pair.into_inner().next().expect("wraps a group"),
            _ => pair,
        };
        let mut negated = false;
        let mut set = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::negation => negated = true,
                _ => set = Some(self.body::<K>(part, depth)?),
            }
        }
        let set = set.expect("a group has a body");
        Ok(if negated { K::complement(&set) } else { set })
    }

    /// Evaluates the list or atom of a group, ignoring its negation.
    fn body<K: GroupKind>(
        &mut self,
        pair: Pair<'_, Rule>,
        depth: usize,
    ) -> Result<K::Set, GroupError> {
        if pair.as_rule() == Rule::atom {
            return self.atom::<K>(pair, depth);
        }
        let mut include: Option<K::Set> = None;
        let mut exclude = K::empty();
        for item in pair.into_inner() {
            let mut inner = item.clone().into_inner();
            if inner.peek().is_some_and(|p| p.as_rule() == Rule::negation) {
                inner.next();
                let s = self.body::<K>(inner.next().expect("negated body"), depth)?;
                exclude = K::union(&exclude, &s);
            } else {
                let s = self.group::<K>(item, depth)?;
                include = Some(match include {
                    Some(i) => K::union(&i, &s),
                    None => s,
                });
            }
        }
        // `[!a]` alone means everything but `a`, as in Suricata.
        Ok(K::difference(&include.unwrap_or_else(K::any), &exclude))
    }

    fn atom<K: GroupKind>(
        &mut self,
        pair: Pair<'_, Rule>,
        depth: usize,
    ) -> Result<K::Set, GroupError> {
        let text = pair.as_str();
        let offset = pair.as_span().start();
        if text.eq_ignore_ascii_case("any") {
            return Ok(K::any());
        }
        if let Some(name) = text.strip_prefix('$') {
            return self.var::<K>(name, offset, depth);
        }
        K::atom(text).map_err(|message| GroupError {
            offset,
            len: text.len(),
            kind: K::ERROR_KIND,
            reason: format!("bad {}", K::WHAT),
            message,
        })
    }
}
