//! The regression suite, offline: every case of `testdata/cases/` replayed
//! through the pipeline and judged by [`sensor_pipeline::regression`], the
//! harness the live run (`sensor/tests/live_cases.rs`) shares.

mod support;

use std::path::{Path, PathBuf};

use sensor_pipeline::regression::{Case, case_dirs, run_offline};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs one case offline; returns what went wrong, if anything.
fn run_case(dir: &Path) -> Result<(), String> {
    let case = Case::load(dir, &repo().join("pcaps/cases"))?;
    let alerts = run_offline(&case)?;
    case.outcome(&case.check(&alerts))
}

#[test]
fn every_case_raises_exactly_its_expected_alerts_offline() {
    let dirs = case_dirs(&repo().join("testdata/cases"));
    assert!(dirs.len() >= 10, "cases found: {dirs:?}");
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|d| {
            run_case(d)
                .err()
                .map(|e| format!("{}: {e}", d.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

#[test]
fn case_captures_are_reproducible() {
    let dir = repo().join("pcaps/cases");
    let regenerate = std::env::var_os("VIGIL_REGENERATE_PCAPS").is_some();
    for (name, frames) in support::scenarios::all() {
        let bytes = support::scenarios::pcap(&frames);
        let path = dir.join(format!("{name}.pcap"));
        if regenerate {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == bytes,
            "{} differs from its generator",
            path.display()
        );
    }
}
