//! The regression suite, live: every case of `testdata/cases/` injected into
//! the lab with the real eBPF program attached. `vigil run` runs on the
//! server's veth with the case's rules and variables; the capture's frames
//! leave the client's veth at their recorded pace (`Lab::inject`); the EVE
//! alerts must pass the case's expectations (the same harness as offline,
//! `sensor_pipeline::regression`) and be the same alerts, flow for flow, as
//! the offline replay of the same capture.

mod support;

use std::{
    path::{Path, PathBuf},
    thread,
    time::Duration,
};

use sensor_pipeline::regression::{Case, alert_keys, case_dirs, run_offline};
use support::run::{VigilRun, count_before, eve_alerts};
use support::{LabGuard, assert_no_vigil_programs, serial};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `vigil run` with the case's rules and variables, EVE to `eve`.
fn start_sensor(lab: &LabGuard, case: &Case, eve: &Path) -> Result<VigilRun, String> {
    let mut args: Vec<String> = vec!["--eve".into(), eve.display().to_string()];
    for r in &case.rules {
        args.push("--rules".into());
        args.push(r.display().to_string());
    }
    for (k, v) in &case.vars {
        args.push("--var".into());
        args.push(format!("{k}={v}"));
    }
    if case.ips {
        args.push("--ips".into());
    }
    VigilRun::start(lab, &args)
}

/// Runs one case live; returns what went wrong, if anything.
fn run_case(lab: &LabGuard, case: &Case, work: &Path) -> Result<(), String> {
    let offline = run_offline(case)?;
    let eve = work.join(format!("{}.eve.json", case.name));
    let sensor = start_sensor(lab, case, &eve)?;
    let sent = lab
        .lab
        .inject(&case.pcap, case.live_topspeed)
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
    case.outcome(&problems)
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
