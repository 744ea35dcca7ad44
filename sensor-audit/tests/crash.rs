//! `kill -9` in the middle of sustained alerting: the store opens, verifies,
//! and at most the last unflushed batch is missing.
//!
//! The test runs itself as the child: with `VIGIL_CRASH_CHILD` set it is the
//! writer, inserting until killed.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sensor_audit::{AlertFilter, AuditDb, AuditOptions, AuditStore};

const FLUSH: Duration = Duration::from_millis(300);

fn now_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros()
}

/// The child: inserts alerts with sid = sequence number, logging
/// `micros count` to the progress file after each hundred.
fn child(dir: &str) -> ! {
    let dir = std::path::Path::new(dir);
    let options = AuditOptions {
        flush_interval: FLUSH,
        ..Default::default()
    };
    let store = AuditStore::open_with(dir.join("audit.db"), options).unwrap();
    let h = store.handle();
    let mut progress = std::fs::File::create(dir.join("progress")).unwrap();
    let template = common::seeded(1, 1).remove(0);
    for n in 0u32.. {
        let mut a = template.clone();
        a.sid = n;
        h.insert_alert(&a).unwrap();
        if n % 100 == 99 {
            writeln!(progress, "{} {}", now_micros(), n + 1).unwrap();
            // About 2,000 alerts per second: sustained, and within what the
            // writer keeps up with even in an unoptimized test build (the
            // bound below is about batching, not about a backlog).
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    unreachable!()
}

#[test]
fn kill_9_loses_at_most_the_last_batch() {
    if let Ok(dir) = std::env::var("VIGIL_CRASH_CHILD") {
        child(&dir);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut proc = Command::new(std::env::current_exe().unwrap())
        .args([
            "kill_9_loses_at_most_the_last_batch",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("VIGIL_CRASH_CHILD", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Let it run through several batches.
    let progress_path = dir.path().join("progress");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let lines = std::fs::read_to_string(&progress_path)
            .unwrap_or_default()
            .lines()
            .count();
        if lines >= 40 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "child made no progress"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) on our own child.
    assert_eq!(
        unsafe { libc::kill(proc.id() as libc::pid_t, libc::SIGKILL) },
        0
    );
    let killed_at = now_micros();
    proc.wait().unwrap();

    let progress: Vec<(u128, u32)> = std::fs::read_to_string(&progress_path)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (t, n) = l.split_once(' ')?;
            Some((t.parse().ok()?, n.parse().ok()?))
        })
        .collect();
    let handed_over = progress.last().unwrap().1;

    let db = AuditDb::open(dir.path().join("audit.db")).unwrap();
    let report = db.verify().unwrap();
    assert!(report.ok(), "{report:?}");
    let mut sids: Vec<u32> = db
        .alerts(&AlertFilter::default())
        .unwrap()
        .iter()
        .map(|a| a.sid)
        .collect();
    sids.sort();
    let stored = sids.len() as u32;
    // What is stored is a prefix of what was written: no holes.
    assert_eq!(sids, (0..stored).collect::<Vec<_>>());
    assert!(stored > 0);
    // Everything handed over more than one flush interval (plus scheduling
    // slack) before the kill was committed.
    let slack = 200_000;
    let must_have = progress
        .iter()
        .filter(|(t, _)| *t + FLUSH.as_micros() + slack < killed_at)
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0);
    assert!(
        stored >= must_have,
        "stored {stored}, but {must_have} were handed over long before the kill"
    );
    assert!(
        stored <= handed_over + 100,
        "stored {stored} > handed over {handed_over}"
    );
}
