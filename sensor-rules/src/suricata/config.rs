//! `classification.config` and `threshold.config`.

use std::collections::HashMap;

use super::groups::Groups;
use super::options::parse_track;
use crate::diag::{Diagnostic, DiagnosticKind, Level, Source};
use crate::ir::{AddressSet, Measure, Rate, RateKind, Suppression};

/// One `config classification:` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// Description.
    pub description: String,
    /// Default priority of rules with this classtype.
    pub priority: u8,
}

/// classtype name → description and priority.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Classifications {
    map: HashMap<String, Classification>,
}

impl Classifications {
    /// Looks a classtype up.
    pub fn get(&self, name: &str) -> Option<&Classification> {
        self.map.get(name)
    }

    /// Whether no classification was loaded (then classtypes are not
    /// checked).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of classtypes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Reads `config classification: name,description,priority` lines.
    pub fn parse(&mut self, source: &Source, diags: &mut Vec<Diagnostic>) {
        let mut offset = 0;
        for line in source.text.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let entry = t.strip_prefix("config classification:").and_then(|rest| {
                let mut parts = rest.split(',').map(str::trim);
                let name = parts.next()?;
                let description = parts.next()?;
                let priority = parts.next()?.parse::<u8>().ok()?;
                Some((name, description, priority))
            });
            match entry {
                Some((name, description, priority)) => {
                    self.map.insert(
                        name.to_string(),
                        Classification {
                            description: description.to_string(),
                            priority,
                        },
                    );
                }
                None => diags.push(source.diagnostic(
                    Level::Error,
                    DiagnosticKind::Config,
                    start + (line.len() - line.trim_start().len()),
                    t.len(),
                    "malformed classification",
                    "expected `config classification: name,description,priority`",
                )),
            }
        }
    }
}

/// What a `threshold.config` line does to the rules it names.
#[derive(Clone, Debug, PartialEq)]
pub enum ThresholdAction {
    /// `threshold`/`event_filter`: replaces the rule's own threshold.
    Rate(Rate),
    /// `suppress`: no alert (for the listed addresses, or at all).
    Suppress(Suppression),
}

/// One `threshold.config` entry; `sid` 0 means every rule of the gid.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdEntry {
    /// Generator id.
    pub gid: u32,
    /// Signature id, 0 for all.
    pub sid: u32,
    /// What to do.
    pub action: ThresholdAction,
}

/// Splits on commas outside brackets (`ip [1.2.3.4,5.6.7.8]`).
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(s[start..].trim());
    parts
}

/// Reads `threshold.config`.
pub fn parse_threshold_config(
    source: &Source,
    groups: &mut Groups<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ThresholdEntry> {
    let mut entries = Vec::new();
    let mut offset = 0;
    for line in source.text.split_inclusive('\n') {
        let start = offset + (line.len() - line.trim_start().len());
        offset += line.len();
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let err = |message: String| {
            source.diagnostic(
                Level::Error,
                DiagnosticKind::Config,
                start,
                t.len(),
                "malformed threshold.config line",
                message,
            )
        };
        let (verb, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        if verb == "rate_filter" {
            diags.push(source.diagnostic(
                Level::Warning,
                DiagnosticKind::UnsupportedKeyword,
                start,
                verb.len(),
                "unsupported keyword `rate_filter`",
                "unsupported keyword `rate_filter`: line ignored",
            ));
            continue;
        }
        if !matches!(verb, "threshold" | "event_filter" | "suppress") {
            diags.push(err(format!("unknown threshold.config entry `{verb}`")));
            continue;
        }
        let mut kv = HashMap::new();
        for part in split_top_level(rest) {
            match part.split_once(char::is_whitespace) {
                Some((k, v)) => {
                    kv.insert(k.trim(), v.trim());
                }
                None => {
                    diags.push(err(format!("`{part}` is not `name value`")));
                    continue;
                }
            }
        }
        let num = |k: &str| kv.get(k).and_then(|v| v.parse::<u64>().ok());
        let (Some(gid), Some(sid)) = (num("gen_id"), num("sig_id")) else {
            diags.push(err("missing or malformed gen_id/sig_id".into()));
            continue;
        };
        let track = kv.get("track").map(|v| parse_track(v));
        if let Some(None) = track {
            diags.push(err(format!("unknown track `{}`", kv["track"])));
            continue;
        }
        let track = track.flatten();
        let action = if verb == "suppress" {
            let addresses = match kv.get("ip") {
                None => AddressSet::any(),
                Some(ip) => match groups.addresses_text(ip) {
                    Ok(a) => a,
                    Err(e) => {
                        diags.push(err(e.message));
                        continue;
                    }
                },
            };
            ThresholdAction::Suppress(Suppression { track, addresses })
        } else {
            let kind = match kv.get("type").copied() {
                Some("limit") => RateKind::Limit,
                Some("threshold") => RateKind::Threshold,
                Some("both") => RateKind::Both,
                other => {
                    diags.push(err(format!(
                        "unknown threshold type `{}`",
                        other.unwrap_or("")
                    )));
                    continue;
                }
            };
            let (Some(track), Some(count), Some(seconds)) = (track, num("count"), num("seconds"))
            else {
                diags.push(err("threshold needs track, count and seconds".into()));
                continue;
            };
            ThresholdAction::Rate(Rate {
                kind,
                measure: Measure::Count,
                track,
                count,
                seconds: seconds as u32,
            })
        };
        entries.push(ThresholdEntry {
            gid: gid as u32,
            sid: sid as u32,
            action,
        });
    }
    entries
}
