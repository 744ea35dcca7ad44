//! The kernel's pattern automaton against a naive search: random payloads,
//! with and without a pattern planted (often across the point where the
//! two-lane walk splits a long payload), run through the real classifier
//! with `BPF_PROG_TEST_RUN`. A payload is dropped exactly when one of the
//! patterns occurs in it: as it is, or for patterns of the percent-decoded
//! URI, once the payload is decoded as user space decodes a URI.

mod support;

use std::thread;

use sensor_common::Direction;
use support::{LabGuard, assert_no_vigil_programs, serial};
use vigil::{
    bench::frames::{Lcg, tcp_frame_seq},
    capture::{CaptureConfig, KernelCapture},
    enforce::{BlockSet, CompiledDfa, EnforceLimits, Mode, Pattern},
    lab::{Side as LabSide, join_netns},
};

const PORT: u16 = 9200;
/// TC_ACT_UNSPEC (pass on) and TC_ACT_SHOT.
const PASS: u32 = u32::MAX;
const DROP: u32 = 2;
/// The classifier's default snap length: payload bytes it captures.
const SNAPLEN: usize = 2048;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789${}()/.:;=-_% \r\n";

fn random_bytes(rng: &mut Lcg, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| ALPHABET[rng.below(ALPHABET.len())])
        .collect()
}

/// Pattern sets: many short literals (an automaton of some 700,000
/// transitions, most of the kernel table, with rows far apart), and a few of
/// very different lengths (a long one makes the lanes overlap by hundreds of
/// bytes).
fn pattern_sets() -> Vec<(&'static str, Vec<Pattern>)> {
    let mut rng = Lcg(0xdfa0_0001);
    let many = (0..1500)
        .map(|i| {
            let len = 4 + rng.below(14);
            Pattern::new(random_bytes(&mut rng, len), 20_000 + i)
        })
        .collect();
    let mixed = vec![
        Pattern::new("${jndi:", 1),
        Pattern::new("/etc/passwd", 2),
        Pattern::new("q%", 3),
        Pattern::new(random_bytes(&mut rng, 300), 4),
        Pattern::new(random_bytes(&mut rng, 41), 5),
    ];
    // Decoded-URI patterns, spelled with escapes (and empty segments) in
    // the payloads. None starts with a hex digit or holds a `%`: a decoder could then take a
    // payload byte before it, or its last byte, into an escape, and the
    // automaton (which finds every spelling) would over-approximate.
    // 280 of them: an automaton of some 990,000 transitions, a large
    // table (the kernel's rows spread over tens of thousands of units).
    let uri = (0..280)
        .map(|i| {
            let len = 4 + rng.below(20);
            let mut bytes = vec![b"ghijklmnopqrstuvwxyz/"[rng.below(21)]];
            bytes.extend(
                (1..len).map(|_| b"abcdefghijklmnopqrstuvwxyz0123456789/._-"[rng.below(40)]),
            );
            // No empty segment of its own (`//`, `/./`, a `/.` end): user
            // space folds those away before matching, so such a pattern
            // never matches there, while the automaton still finds it as
            // written (a hit user space would release).
            for k in 1..bytes.len() {
                if bytes[k - 1] == b'/' && matches!(bytes[k], b'/' | b'.') {
                    bytes[k] = b'x';
                }
            }
            let pattern = if i % 2 == 0 {
                Pattern::new(bytes, 30_000 + i)
            } else {
                Pattern::nocase(bytes, 30_000 + i)
            };
            pattern.in_decoded_uri()
        })
        .collect();
    // Patterns of 6 bytes or more, none decoded: the kernel samples every
    // third 4-byte window through the gram filter and walks only around
    // the windows it lets through (half of them case-insensitive).
    let sampled = (0..1000)
        .map(|i| {
            let len = 6 + rng.below(12);
            let bytes = random_bytes(&mut rng, len);
            if i % 2 == 0 {
                Pattern::new(bytes, 40_000 + i)
            } else {
                Pattern::nocase(bytes, 40_000 + i)
            }
        })
        .collect();
    vec![
        ("1,500 short patterns", many),
        ("mixed lengths", mixed),
        ("decoded-URI patterns", uri),
        ("sampled: 1,000 patterns of 6 to 17 bytes", sampled),
    ]
}

/// Plants `count` patterns cut short by their last byte in `payload`:
/// windows the gram filter lets through where no pattern completes, so
/// that the kernel walks around many of them (and, past its limit, walks
/// the whole payload).
fn plant_decoys(rng: &mut Lcg, payload: &mut [u8], patterns: &[Pattern], count: usize) {
    for _ in 0..count {
        let pattern = &patterns[rng.below(patterns.len())].bytes;
        let decoy = &pattern[..pattern.len() - 1];
        if decoy.len() <= payload.len() {
            let at = rng.below(payload.len() - decoy.len() + 1);
            payload[at..at + decoy.len()].copy_from_slice(decoy);
        }
    }
}

/// How user space decodes a URI (escapes, then backslashes as slashes,
/// then the empty segments `//` and `/./` folded away), applied to a whole
/// payload.
fn decoded(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    sensor_proto::http::percent_decode(payload, &mut out);
    for b in &mut out {
        if *b == b'\\' {
            *b = b'/';
        }
    }
    loop {
        let mut folded = Vec::with_capacity(out.len());
        let mut i = 0;
        while i < out.len() {
            if out[i..].starts_with(b"//") {
                i += 1;
            } else if out[i..].starts_with(b"/./") {
                i += 2;
            } else {
                folded.push(out[i]);
                i += 1;
            }
        }
        if folded == out {
            return out;
        }
        out = folded;
    }
}

/// Whether the rule behind `pattern` would see it in `payload`.
fn finds(pattern: &Pattern, payload: &[u8]) -> bool {
    let decoded_payload;
    let haystack = if pattern.percent_decoded {
        decoded_payload = decoded(payload);
        &decoded_payload[..]
    } else {
        payload
    };
    if pattern.case_insensitive {
        haystack
            .windows(pattern.bytes.len())
            .any(|w| w.eq_ignore_ascii_case(&pattern.bytes))
    } else {
        occurs(haystack, &pattern.bytes)
    }
}

/// The pattern as a payload carries it: for a decoded-URI pattern, each
/// byte as itself, `%xx` or `%XX` (a `/` also as `\\` or `%5c`, sometimes
/// followed by an empty segment), and a case-insensitive one in random
/// case.
fn spelled(rng: &mut Lcg, pattern: &Pattern) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, &b) in pattern.bytes.iter().enumerate() {
        let b = if pattern.case_insensitive && rng.below(2) == 0 {
            b.to_ascii_uppercase()
        } else {
            b
        };
        if !pattern.percent_decoded {
            out.push(b);
            continue;
        }
        match rng.below(if b == b'/' { 5 } else { 3 }) {
            0 => out.push(b),
            1 => out.extend(format!("%{b:02x}").bytes()),
            2 => out.extend(format!("%{b:02X}").bytes()),
            3 => out.push(b'\\'),
            _ => out.extend(b"%5c"),
        }
        // Sometimes an empty segment after a slash, which user space folds
        // away, while the occurrence stays within the pattern's span (the
        // lanes' overlap guarantees no more).
        if b == b'/' && rng.below(3) == 0 {
            let empty: &[u8] = [&b"/"[..], b"./", b"%2e/", b".%2F", b"\\"][rng.below(5)];
            let left = pattern.bytes.len() - i - 1;
            if out.len() + empty.len() + 3 * left <= pattern.max_span() {
                out.extend_from_slice(empty);
            }
        }
    }
    out
}

fn occurs(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Where the kernel's walk ends its lanes other than the last for a
/// `len`-byte payload (empty when it walks one lane): the same split as
/// `sensor-ebpf/src/dfa.rs` (`split`), four lanes of a length rounded up to
/// 16, the first at 0, the last ending at `len`, the others evenly spaced.
/// A pattern straddling one of these ends must be found by the next lane.
fn lane_ends(len: usize, overlap: usize) -> Vec<usize> {
    let need = (len + 3 * overlap) / 4 + 4;
    let lane_len = need.div_ceil(16) * 16;
    if lane_len * 2 > len {
        return Vec::new();
    }
    let spacing = (len - lane_len) / 3;
    vec![lane_len, spacing + lane_len, 2 * spacing + lane_len]
}

/// Payloads of every length class (below and above the split threshold),
/// half of them with a pattern planted: anywhere, or straddling the end of
/// a lane.
fn payloads(rng: &mut Lcg, patterns: &[Pattern], count: usize) -> Vec<Vec<u8>> {
    let overlap = patterns.iter().map(Pattern::max_span).max().unwrap() - 1;
    (0..count)
        .map(|i| {
            let len = match i % 4 {
                0 => 1 + rng.below(64),
                1 => 64 + rng.below(400),
                _ => 400 + rng.below(SNAPLEN - 400),
            };
            let mut payload = random_bytes(rng, len);
            if i % 2 == 0 {
                let pattern = &patterns[rng.below(patterns.len())];
                let pattern = spelled(rng, pattern);
                if pattern.len() <= len {
                    let lane_ends = lane_ends(len, overlap);
                    let at = if i % 3 == 0 && !lane_ends.is_empty() {
                        // Ending within a few bytes after a lane's end.
                        let lane_end = lane_ends[rng.below(lane_ends.len())];
                        let end = (lane_end + rng.below(8)).clamp(pattern.len(), len);
                        end - pattern.len()
                    } else {
                        rng.below(len - pattern.len() + 1)
                    };
                    payload[at..at + pattern.len()].copy_from_slice(&pattern);
                }
            }
            payload
        })
        .collect()
}

/// A pattern split across two in-order segments is found in the second:
/// a sampled segment still saves where the automaton stopped (from its
/// walk of the segment's tail), and the next one resumes there.
fn split_patterns_are_found(capture: &KernelCapture, rng: &mut Lcg, patterns: &[Pattern]) {
    for k in 0..50u32 {
        let pattern = &patterns[rng.below(patterns.len())].bytes;
        let cut = 1 + rng.below(pattern.len() - 1);
        // Filler that is in no pattern (`#` is not in the alphabet).
        let mut first = vec![b'#'; 200 + rng.below(200)];
        first.extend_from_slice(&pattern[..cut]);
        let mut second = pattern[cut..].to_vec();
        second.extend(vec![b'#'; 100]);
        let seq = 0x4000_0000 + (k << 20);
        let run = |seq: u32, payload: &[u8]| {
            let frame = tcp_frame_seq(PORT, seq, payload);
            capture
                .test_run(Direction::Ingress, &frame, 1)
                .unwrap()
                .retval
        };
        assert_eq!(run(seq, &first), PASS, "first part of {pattern:?}");
        let second_seq = seq.wrapping_add(first.len() as u32);
        assert_eq!(run(second_seq, &second), DROP, "{pattern:?} cut at {cut}");
    }
}

#[test]
fn kernel_automaton_agrees_with_a_naive_search() {
    let _serial = serial();
    let lab = LabGuard::up("ve-dfa");
    let netns = lab.lab.netns(LabSide::Server);
    let iface = lab.lab.iface(LabSide::Server).to_string();
    thread::scope(|s| {
        s.spawn(|| {
            join_netns(&netns).unwrap();
            let mut rng = Lcg(0x05ee_ddfa);
            for (label, patterns) in pattern_sets() {
                let set = BlockSet {
                    patterns: patterns.clone(),
                    ..BlockSet::default()
                };
                let dfa = CompiledDfa::compile(&patterns).unwrap();
                let sampled = label.starts_with("sampled");
                assert_eq!(dfa.grams().is_some(), sampled, "{label}: gram filter");
                let mut config = CaptureConfig::new(&iface);
                config.enforce.mode = Mode::Ips;
                config.enforce.limits = EnforceLimits::fitting(&dfa);
                config.ring_bytes = 64 << 20;
                // Nobody reads the ring: never wake a reader.
                config.wakeup_threshold = Some(u64::MAX);
                let mut capture = KernelCapture::attach(&config).unwrap();
                capture.enforcer().unwrap().replace(&set).unwrap();
                let (mut dropped, mut passed) = (0, 0);
                let mut payloads = payloads(&mut rng, &patterns, 800);
                if sampled {
                    // A third of the payloads: up to 20 decoys each (they
                    // may overwrite a planted pattern: the naive search
                    // decides what is expected either way).
                    for (i, payload) in payloads.iter_mut().enumerate() {
                        if i % 3 == 1 {
                            plant_decoys(&mut rng, payload, &patterns, i % 21);
                        }
                    }
                }
                for (i, payload) in payloads.iter().enumerate() {
                    let expected = patterns.iter().any(|p| finds(p, payload));
                    assert_eq!(dfa.find(payload).is_some(), expected, "user-space walk");
                    // Sequence numbers far apart: no payload resumes
                    // another's walk.
                    let frame = tcp_frame_seq(PORT, (i as u32) << 16, payload);
                    let run = capture.test_run(Direction::Ingress, &frame, 1).unwrap();
                    let want = if expected { DROP } else { PASS };
                    assert_eq!(
                        run.retval,
                        want,
                        "{label}: payload {i} of {} bytes: {:?}",
                        payload.len(),
                        String::from_utf8_lossy(payload)
                    );
                    if expected {
                        dropped += 1;
                    } else {
                        passed += 1;
                    }
                }
                // The cases exercised both outcomes.
                assert!(dropped > 200 && passed > 200, "{label}: {dropped} {passed}");
                if sampled {
                    split_patterns_are_found(&capture, &mut rng, &patterns);
                }
            }
        })
        .join()
        .unwrap()
    });
    drop(lab);
    assert_no_vigil_programs();
}
