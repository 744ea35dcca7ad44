//! The EVE file sink writes valid JSON lines and reopens for log rotation.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use sensor_output::{EveFileSink, EveFormatter, FanOut, Record};
use support::{sample, schema::assert_valid_eve};

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn wait_lines(path: &std::path::Path, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let l = lines(path);
        if l.len() >= n || std::time::Instant::now() > deadline {
            return l;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn writes_valid_lines_and_reopens_after_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eve.json");
    let sink = EveFileSink::open(&path, EveFormatter::default()).unwrap();
    let fanout = FanOut::builder()
        .sink(sink)
        .tick(Duration::from_millis(20))
        .build()
        .unwrap();
    for a in sample::all() {
        fanout.send(Record::Alert(a));
    }
    fanout.send(Record::Http(sample::http_log()));
    let before = wait_lines(&path, 6);
    assert_eq!(before.len(), 6);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);

    // logrotate: rename, then SIGHUP -> reopen.
    let rotated = dir.path().join("eve.json.1");
    std::fs::rename(&path, &rotated).unwrap();
    fanout.reopen();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !path.exists() {
        assert!(std::time::Instant::now() < deadline, "not reopened");
        std::thread::sleep(Duration::from_millis(10));
    }
    fanout.send(Record::Alert(sample::dns()));
    let stats = fanout.shutdown();
    assert_eq!(
        (stats[0].sent, stats[0].failed, stats[0].dropped),
        (7, 0, 0)
    );
    let after = lines(&path);
    assert_eq!(after.len(), 1);
    assert_eq!(lines(&rotated).len(), 6);
    for line in before.iter().chain(&after) {
        assert_valid_eve(line);
    }
}
