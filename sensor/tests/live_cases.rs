//! The regression suite, live: every case of `testdata/cases/` injected into
//! the lab with the real eBPF program attached. `vigil run` runs on the
//! server's veth with the case's rules and variables; the capture's frames
//! leave the client's veth at their recorded pace (`Lab::inject`); the EVE
//! alerts must pass the case's expectations (the same harness as offline,
//! `sensor_pipeline::regression`) and be the same alerts, flow for flow, as
//! the offline replay of the same capture.

mod support;

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use sensor_pipeline::regression::{Case, alert_keys, case_dirs, run_offline};
use serde_json::Value;
use support::{LabGuard, assert_no_vigil_programs, serial, vigil_bin};
use vigil::lab::Side;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `vigil run` on the server's veth, killed if the test fails first.
struct Sensor {
    child: Option<Child>,
    stderr: mpsc::Receiver<String>,
}

impl Drop for Sensor {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Sensor {
    fn start(lab: &LabGuard, case: &Case, eve: &Path) -> Result<Sensor, String> {
        let bin = vigil_bin();
        let mut argv: Vec<String> = vec![
            bin.display().to_string(),
            "run".into(),
            "--iface".into(),
            lab.lab.iface(Side::Server).into(),
            "--eve".into(),
            eve.display().to_string(),
        ];
        for r in &case.rules {
            argv.push("--rules".into());
            argv.push(r.display().to_string());
        }
        for (k, v) in &case.vars {
            argv.push("--var".into());
            argv.push(format!("{k}={v}"));
        }
        if case.ips {
            argv.push("--ips".into());
        }
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let mut child = lab
            .lab
            .command(Side::Server, &argv)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn vigil run: {e}"))?;
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut sensor = Sensor {
            child: Some(child),
            stderr: rx,
        };
        sensor.wait_for("vigil: running on")?;
        Ok(sensor)
    }

    fn wait_for(&mut self, needle: &str) -> Result<Vec<String>, String> {
        let mut seen = Vec::new();
        loop {
            match self.stderr.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    seen.push(line);
                    if hit {
                        return Ok(seen);
                    }
                }
                Err(_) => return Err(format!("vigil run never printed {needle:?}: {seen:#?}")),
            }
        }
    }

    /// SIGTERM (flows are flushed at stop, as at the end of a replay); the
    /// per-interface summary line it printed.
    fn stop(mut self) -> Result<String, String> {
        let mut child = self.child.take().unwrap();
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = child.wait().map_err(|e| e.to_string())?;
        let lines: Vec<String> = self.stderr.iter().collect();
        if !status.success() {
            return Err(format!("vigil run exited with {status}: {lines:#?}"));
        }
        lines
            .into_iter()
            .find(|l| l.contains("packets seen"))
            .ok_or_else(|| "no capture summary".to_string())
    }
}

/// The number before `label` in the summary line ("40 packets seen, 0 lost").
fn count_before(summary: &str, label: &str) -> Option<u64> {
    let at = summary.find(label)?;
    summary[..at].split_whitespace().last()?.parse().ok()
}

fn eve_alerts(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("EVE line is JSON"))
        .filter(|v| v["event_type"] == "alert")
        .collect()
}

/// Runs one case live; returns what went wrong, if anything.
fn run_case(lab: &LabGuard, case: &Case, work: &Path) -> Result<(), String> {
    let offline = run_offline(case)?;
    let eve = work.join(format!("{}.eve.json", case.name));
    let sensor = Sensor::start(lab, case, &eve)?;
    let sent = lab
        .lab
        .inject(&case.pcap, false)
        .map_err(|e| e.to_string())?;
    if sent.packets == 0 || sent.failed > 0 {
        return Err(format!("injection: {sent:?}"));
    }
    // The ring is polled every few milliseconds; give the reader a moment
    // after the last frame before stopping.
    thread::sleep(Duration::from_millis(500));
    let summary = sensor.stop()?;
    let seen = count_before(&summary, "packets seen").unwrap_or(0);
    let lost = count_before(&summary, "lost").unwrap_or(u64::MAX);
    let mut problems = Vec::new();
    // The client's kernel may add a few frames of its own (IPv6 neighbour
    // discovery), never fewer than were injected.
    if seen < sent.packets || lost != 0 {
        problems.push(format!(
            "capture: {seen} packets seen, {lost} lost, {} injected ({summary})",
            sent.packets
        ));
    }
    let live = eve_alerts(&eve);
    eprintln!(
        "{}: {} frames injected, {seen} seen, {} alerts live, {} offline",
        case.name,
        sent.packets,
        live.len(),
        offline.len()
    );
    problems.extend(case.check(&live).into_iter().map(|p| format!("live: {p}")));
    let (want, got) = (alert_keys(&offline), alert_keys(&live));
    if want != got {
        problems.push(format!(
            "live alerts differ from offline:\n      offline: {want:?}\n      live:    {got:?}"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} ({})\n    {}",
            case.description,
            case.pcap.display(),
            problems.join("\n    ")
        ))
    }
}

#[test]
fn every_case_raises_the_same_alerts_live_as_offline() {
    let _serial = serial();
    let dirs = case_dirs(&repo().join("testdata/cases"));
    assert!(dirs.len() >= 10, "cases found: {dirs:?}");
    let work = tempfile::tempdir().unwrap();
    let failures: Vec<String> = {
        let lab = LabGuard::up("vcases");
        dirs.iter()
            .map(|d| {
                Case::load(d, &repo().join("pcaps/cases"))
                    .and_then(|case| run_case(&lab, &case, work.path()))
                    .map_err(|e| format!("{}: {e}", d.file_name().unwrap().to_string_lossy()))
            })
            .filter_map(Result::err)
            .collect()
    };
    assert_no_vigil_programs();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed live:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}
