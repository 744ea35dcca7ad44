//! `vigil bench enforce`, the measurement of what enforcement costs, run
//! briefly as a smoke test: it must measure every configuration, the
//! classifier must drop the request carrying a pattern and pass the benign
//! frames, and benign live load must never be dropped. The figures
//! themselves are the command's output (`vigil bench enforce`), not
//! asserted here. Also: `pattern_depth` bounds the automaton's inspection.

mod support;

use std::{process::Command, thread};

use sensor_common::Direction;
use serde_json::Value;
use support::{LabGuard, assert_no_vigil_programs, serial, vigil_bin};
use vigil::{
    bench::frames::tcp_frame,
    capture::{CaptureConfig, KernelCapture},
    enforce::{BlockSet, Mode, Pattern},
    lab::{Side as LabSide, join_netns},
};

const PORT: u16 = 9100;
/// TC_ACT_UNSPEC (-1): the packet goes on.
const PASS: u32 = u32::MAX;
/// TC_ACT_SHOT.
const DROP: u32 = 2;

#[test]
fn bench_enforce_measures_every_configuration() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("drop.rules");
    std::fs::write(
        &rules,
        "drop http any any -> any any (msg:\"passwd\"; http.uri; content:\"/etc/passwd\"; sid:1;)\n\
         drop http any any -> any any (msg:\"jndi\"; http.header; content:\"${jndi:\"; sid:2;)\n",
    )
    .unwrap();
    let out = Command::new(vigil_bin())
        .args([
            "bench",
            "enforce",
            "--rules",
            rules.to_str().unwrap(),
            "--patterns",
            "10,200",
            "--rounds",
            "1",
            "--seconds",
            "0.5",
            "--lab",
            "ve-bench",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let labels = [
        "IDS",
        "IPS, no blocks",
        "IPS, 10 patterns",
        "IPS, 200 patterns",
        "IPS, drop.rules",
    ];
    let fixed = report["fixed"].as_array().unwrap();
    let live = report["live"].as_array().unwrap();
    assert_eq!(fixed.len(), labels.len());
    assert_eq!(live.len(), labels.len());
    for (label, row) in labels.iter().zip(fixed) {
        assert_eq!(row["configuration"], *label);
        assert_eq!(row["benign_passed"], true, "{row}");
        assert!(row["request_ns"].as_u64().unwrap() > 0, "{row}");
        if label.contains("patterns") || label.contains("rules") {
            assert_eq!(row["attack_dropped"], true, "{row}");
        } else {
            assert!(row["attack_dropped"].is_null(), "{row}");
        }
    }
    assert!(report["unfiltered_requests_per_s"].as_f64().unwrap() > 0.0);
    for (label, row) in labels.iter().zip(live) {
        assert_eq!(row["configuration"], *label);
        assert!(row["requests_per_s"].as_f64().unwrap() > 0.0, "{row}");
        // Throughput is measured with BPF statistics off, the ns in a
        // second period with them on: both periods ran.
        assert!(
            row["requests_per_s_with_stats"].as_f64().unwrap() > 0.0,
            "{row}"
        );
        assert!(row["packets"].as_u64().unwrap() > 0, "{row}");
        assert!(row["ingress_ns"].as_f64().unwrap() > 0.0, "{row}");
        assert_eq!(row["dropped"], 0, "benign load was dropped: {row}");
    }
    assert_eq!(report["automata"][1]["patterns"], 200);
    assert_eq!(
        report["automata"][2]["patterns"], 2,
        "the rule file's two patterns"
    );
    // The command removed its lab and its programs.
    assert!(!support::netns_exists("ve-bench-server"));
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
            join_netns(&netns).unwrap();
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
