//! Measures what enforcement costs: the TC program's average run time per
//! packet (kernel BPF statistics) and the lab's request throughput, without
//! the program, in IDS mode, in IPS mode with no blocks, and with 100 and
//! 1,000 in-kernel patterns. Prints the figures (run with `--nocapture`);
//! asserts only what must hold on any machine: benign load is never
//! dropped, the automaton fits, and every configuration carries traffic.

mod support;

use std::{thread, time::Duration};

use sensor_common::Direction;
use support::{
    LabGuard, assert_no_vigil_programs,
    frames::tcp_frame,
    in_netns::{InNetnsCapture, join_netns},
    serial, support_dir,
};
use vigil::{
    capture::{CaptureConfig, KernelCapture},
    enforce::{BlockSet, CompiledDfa, EnforceLimits, Mode, Pattern},
    lab::Side as LabSide,
};

const PORT: u16 = 9100;
const LOAD_SECONDS: f64 = 2.0;
const CLIENTS: usize = 2;

/// `n` distinct attack-like literals of 10 to 17 bytes, from a fixed seed.
fn patterns(n: usize) -> Vec<Pattern> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789${}()/.:;=-_%";
    let mut seed: u64 = 0x5eed_1234_abcd_0001;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    (0..n)
        .map(|i| {
            let len = 10 + next() % 8;
            let bytes: Vec<u8> = (0..len)
                .map(|_| ALPHABET[next() % ALPHABET.len()])
                .collect();
            Pattern::new(bytes, 10_000 + i as u32)
        })
        .collect()
}

/// The benign request `load_client.py` sends (page 12345).
const BENIGN_REQUEST: &str = "GET /catalog/items?page=12345&sort=price HTTP/1.1\r\n\
Host: shop.lab.example\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate\r\n\
Cookie: session=4f2a9c1e7b3d5a60; theme=dark\r\n\
Connection: keep-alive\r\n\r\n";

/// Requests per second the lab's clients complete in `LOAD_SECONDS`.
fn request_rate(lab: &LabGuard) -> f64 {
    let script = support_dir().join("load_client.py");
    let server = lab.lab.ipv4(LabSide::Server).to_string();
    let total: u64 = thread::scope(|s| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                s.spawn(|| {
                    lab.exec(
                        LabSide::Client,
                        &[
                            "python3",
                            script.to_str().unwrap(),
                            &server,
                            &PORT.to_string(),
                            &LOAD_SECONDS.to_string(),
                        ],
                    )
                    .trim()
                    .parse::<u64>()
                    .expect("client count")
                })
            })
            .collect();
        clients.into_iter().map(|c| c.join().unwrap()).sum()
    });
    total as f64 / LOAD_SECONDS
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// One configuration's measurements over the rounds.
#[derive(Default)]
struct Samples {
    requests_per_s: Vec<f64>,
    ingress_ns: Vec<f64>,
    egress_ns: Vec<f64>,
    /// Both hooks' run time over both hooks' runs: the average per packet.
    all_ns: Vec<f64>,
    /// Time to compile and install the block set (`Enforcer::replace`).
    replace_ms: Vec<f64>,
    packets: u64,
}

fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// One load period with the program attached in `mode` with `set`.
fn measure(lab: &LabGuard, mode: Mode, set: &BlockSet, samples: &mut Samples) {
    let mut config = CaptureConfig::new(lab.lab.iface(LabSide::Server));
    config.enforce.mode = mode;
    config.bpf_stats = true;
    if !set.patterns.is_empty() {
        config.enforce.limits =
            EnforceLimits::fitting(&CompiledDfa::compile(&set.patterns).unwrap());
    }
    let mut capture = InNetnsCapture::start_counting(&lab.lab.netns(LabSide::Server), config);
    let started = std::time::Instant::now();
    capture.enforcer.replace(set).unwrap();
    samples
        .replace_ms
        .push(started.elapsed().as_secs_f64() * 1e3);
    samples.requests_per_s.push(request_rate(lab));
    let (_, summary) = capture.stop();
    assert_eq!(summary.counters.dropped(), 0, "benign load was dropped");
    let avg = |name: &str| {
        summary
            .program_stats
            .iter()
            .find(|p| p.program == name)
            .map(|p| p.avg_ns)
            .unwrap_or(0.0)
    };
    samples.ingress_ns.push(avg("vigil_ingress"));
    samples.egress_ns.push(avg("vigil_egress"));
    let (time, runs) = summary
        .program_stats
        .iter()
        .fold((0, 0), |(t, n), p| (t + p.run_time_ns, n + p.run_count));
    samples.all_ns.push(time as f64 / runs.max(1) as f64);
    samples.packets += summary.counters.packets_seen;
}

/// Live cost under lab load, configurations interleaved over several
/// rounds (the machine is shared: one period alone says little), medians
/// reported. The reader only counts records, so the figures are the kernel
/// program's and the ring's, not a decoder's.
#[test]
fn per_packet_cost_and_throughput_with_patterns() {
    const ROUNDS: usize = 3;
    let _serial = serial();
    let lab = LabGuard::up("ve-cost");
    let script = support_dir().join("load_server.py");
    let _server = lab.spawn(
        LabSide::Server,
        &["python3", script.to_str().unwrap(), &PORT.to_string()],
    );
    thread::sleep(Duration::from_millis(500));
    let load_before = load_average();
    let sets: Vec<(&str, Mode, BlockSet)> = vec![
        ("IDS", Mode::Ids, BlockSet::default()),
        ("IPS, no blocks", Mode::Ips, BlockSet::default()),
        (
            "IPS, 100 patterns",
            Mode::Ips,
            BlockSet {
                patterns: patterns(100),
                ..BlockSet::default()
            },
        ),
        (
            "IPS, 1000 patterns",
            Mode::Ips,
            BlockSet {
                patterns: patterns(1000),
                ..BlockSet::default()
            },
        ),
    ];
    for (label, _, set) in &sets[2..] {
        let dfa = CompiledDfa::compile(&set.patterns).unwrap();
        eprintln!(
            "{label}: {} states x {} classes = {} transitions ({} KiB)",
            dfa.states(),
            dfa.class_count(),
            dfa.transitions(),
            dfa.transitions() as usize * 4 / 1024
        );
    }
    let mut baseline = Samples::default();
    let mut samples: Vec<Samples> = sets.iter().map(|_| Samples::default()).collect();
    for _ in 0..ROUNDS {
        baseline.requests_per_s.push(request_rate(&lab));
        for ((_, mode, set), samples) in sets.iter().zip(&mut samples) {
            measure(&lab, *mode, set, samples);
        }
    }

    let base = median(&baseline.requests_per_s);
    eprintln!(
        "load average before {load_before}, after {}; medians of {ROUNDS} rounds of {LOAD_SECONDS} s",
        load_average()
    );
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        format!("{lo:.0}-{hi:.0}")
    };
    eprintln!(
        "{:<20} {:>10} {:>9} {:>14} {:>12} {:>11} {:>8} {:>9} {:>11}",
        "configuration",
        "req/s",
        "% of none",
        "req/s range",
        "ingress ns",
        "egress ns",
        "all ns",
        "packets",
        "replace ms"
    );
    eprintln!(
        "{:<20} {:>10.0} {:>8.1}% {:>14}",
        "no program",
        base,
        100.0,
        range(&baseline.requests_per_s)
    );
    for ((label, _, _), s) in sets.iter().zip(&samples) {
        let rps = median(&s.requests_per_s);
        eprintln!(
            "{:<20} {:>10.0} {:>8.1}% {:>14} {:>12.0} {:>11.0} {:>8.0} {:>9} {:>11.1}",
            label,
            rps,
            100.0 * rps / base,
            range(&s.requests_per_s),
            median(&s.ingress_ns),
            median(&s.egress_ns),
            median(&s.all_ns),
            s.packets,
            median(&s.replace_ms)
        );
        assert!(rps > 0.0 && s.packets > 0, "{label}: no traffic");
        assert!(median(&s.ingress_ns) > 0.0, "{label}: no statistics");
    }
    assert!(base > 0.0);
    drop(lab);
    assert_no_vigil_programs();
}

/// TC_ACT_UNSPEC (-1): the packet goes on.
const PASS: u32 = u32::MAX;
/// TC_ACT_SHOT.
const DROP: u32 = 2;

/// Median of the kernel's average ns per run over `rounds` batches.
fn timed(capture: &KernelCapture, frame: &[u8], expect_retval: u32) -> u32 {
    const ROUNDS: usize = 5;
    const REPEAT: u32 = 2000;
    let mut samples: Vec<u32> = (0..ROUNDS)
        .map(|_| {
            let run = capture.test_run(Direction::Ingress, frame, REPEAT).unwrap();
            assert_eq!(run.retval, expect_retval, "TC verdict");
            run.avg_ns
        })
        .collect();
    samples.sort_unstable();
    samples[ROUNDS / 2]
}

/// The classifier's cost per packet from `BPF_PROG_TEST_RUN` on fixed
/// frames (a 383-byte benign request, a bare ACK, a request carrying an
/// attack pattern): the kernel's own timing, far less noisy than live load
/// on a shared machine. Also checks that the automaton drops the attack.
#[test]
fn per_packet_cost_on_fixed_frames() {
    let _serial = serial();
    let lab = LabGuard::up("ve-trun");
    let netns = lab.lab.netns(LabSide::Server);
    let iface = lab.lab.iface(LabSide::Server).to_string();
    let request = tcp_frame(PORT, BENIGN_REQUEST.as_bytes());
    let ack = tcp_frame(PORT, b"");
    let all = patterns(1000);
    let attack = {
        let mut r = BENIGN_REQUEST.replace("theme=dark", "theme=");
        r.insert_str(r.len() - 4, &String::from_utf8_lossy(&all[999].bytes));
        tcp_frame(PORT, r.as_bytes())
    };
    let rows = thread::scope(|s| {
        s.spawn(|| {
            join_netns(&netns);
            let mut rows = Vec::new();
            for (label, mode, n) in [
                ("IDS", Mode::Ids, 0),
                ("IPS, no blocks", Mode::Ips, 0),
                ("IPS, 100 patterns", Mode::Ips, 100),
                ("IPS, 1000 patterns", Mode::Ips, 1000),
            ] {
                let set = BlockSet {
                    patterns: all[..n].to_vec(),
                    ..BlockSet::default()
                };
                let mut config = CaptureConfig::new(&iface);
                config.enforce.mode = mode;
                config.ring_bytes = 64 << 20;
                // Nobody reads the ring here: never wake a reader (with the
                // usual 64 KiB threshold every run would, as no reader drains).
                config.wakeup_threshold = u64::MAX;
                if n > 0 {
                    config.enforce.limits =
                        EnforceLimits::fitting(&CompiledDfa::compile(&set.patterns).unwrap());
                }
                let mut capture = KernelCapture::attach(&config).unwrap();
                capture.enforcer().unwrap().replace(&set).unwrap();
                let request_ns = timed(&capture, &request, PASS);
                let ack_ns = timed(&capture, &ack, PASS);
                let attack_ns = if n == 1000 {
                    Some(timed(&capture, &attack, DROP))
                } else {
                    None
                };
                rows.push((label, request_ns, ack_ns, attack_ns));
            }
            rows
        })
        .join()
        .unwrap()
    });
    eprintln!("load average {}", load_average());
    eprintln!(
        "{:<20} {:>11} {:>8} {:>14} {:>15}",
        "configuration", "request ns", "ACK ns", "mean of both", "attack (drop)"
    );
    for (label, request_ns, ack_ns, attack_ns) in &rows {
        eprintln!(
            "{:<20} {:>11} {:>8} {:>14} {:>15}",
            label,
            request_ns,
            ack_ns,
            (request_ns + ack_ns) / 2,
            attack_ns.map(|n| n.to_string()).unwrap_or_default()
        );
    }
    drop(lab);
    assert_no_vigil_programs();
}

/// `pattern_depth` bounds how far into a payload the automaton looks: a
/// pattern past the depth passes, the same pattern within it is dropped.
#[test]
fn pattern_depth_bounds_the_inspection() {
    let _serial = serial();
    let lab = LabGuard::up("ve-depth");
    let netns = lab.lab.netns(LabSide::Server);
    let iface = lab.lab.iface(LabSide::Server).to_string();
    let late = tcp_frame(
        PORT,
        format!("{}X-Attack: ${{jndi:x}}\r\n\r\n", "a".repeat(300)).as_bytes(),
    );
    let early = tcp_frame(PORT, b"GET /${jndi:x} HTTP/1.1\r\n\r\n");
    thread::scope(|s| {
        s.spawn(|| {
            join_netns(&netns);
            for (depth, late_verdict) in [(None, DROP), (Some(100), PASS)] {
                let mut config = CaptureConfig::new(&iface);
                config.enforce.mode = Mode::Ips;
                config.enforce.pattern_depth = depth;
                let mut capture = KernelCapture::attach(&config).unwrap();
                let set = BlockSet {
                    patterns: vec![Pattern::new("${jndi:", 1)],
                    ..BlockSet::default()
                };
                capture.enforcer().unwrap().replace(&set).unwrap();
                let run = |frame: &[u8]| {
                    capture
                        .test_run(Direction::Ingress, frame, 1)
                        .unwrap()
                        .retval
                };
                assert_eq!(run(&late), late_verdict, "depth {depth:?}");
                assert_eq!(run(&early), DROP, "depth {depth:?}");
            }
        })
        .join()
        .unwrap()
    });
    drop(lab);
    assert_no_vigil_programs();
}
