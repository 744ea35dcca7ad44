//! `vigil audit ...` through the clap definitions, as the daemon mounts them.

mod common;
#[path = "../../sensor-output/tests/support/mod.rs"]
mod support;

use clap::Parser;
use sensor_audit::AuditStore;
use sensor_audit::cli::{AuditCommand, run_to};
use time::macros::datetime;

#[derive(Parser)]
struct Vigil {
    #[command(subcommand)]
    audit: AuditCommand,
}

fn run(args: &[&str]) -> (std::process::ExitCode, String) {
    let cmd = Vigil::try_parse_from(std::iter::once("audit").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let mut out = Vec::new();
    let code = run_to(&cmd.audit, &mut out, datetime!(2026-01-11 00:00 UTC)).unwrap();
    (code, String::from_utf8(out).unwrap())
}

fn seeded() -> (tempfile::TempDir, String, Vec<sensor_output::Alert>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let alerts = common::seeded(500, 11);
    let store = AuditStore::open(&path).unwrap();
    for a in &alerts {
        store.handle().insert_alert(a).unwrap();
    }
    store.close().unwrap();
    let path = path.to_str().unwrap().to_string();
    (dir, path, alerts)
}

#[test]
fn query_in_three_formats() {
    let (_dir, db, alerts) = seeded();
    let want = alerts.iter().filter(|a| a.sid == 1004).count();
    assert!(want > 0);
    let (code, json) = run(&["query", "--db", &db, "--sid", "1004", "--format", "json"]);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    assert_eq!(json.lines().count(), want);
    for line in json.lines() {
        support::schema::assert_valid_eve(line);
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["alert"]["signature_id"], 1004);
    }
    let (_, csv) = run(&["query", "--db", &db, "--sid", "1004", "--format", "csv"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "timestamp,sid,action,severity,proto,source,destination,signature"
    );
    assert_eq!(lines.count(), want);
    let (_, table) = run(&["query", "--db", &db, "--sid", "1004"]);
    assert!(table.lines().next().unwrap().starts_with("timestamp "));
    assert_eq!(table.lines().count(), want + 1);
}

#[test]
fn relative_since_and_cidr() {
    let (_dir, db, alerts) = seeded();
    // "now" is 2026-01-11: 2d means since 2026-01-09.
    let since = datetime!(2026-01-09 00:00 UTC);
    let net: sensor_audit::Cidr = "10.1.0.0/16".parse().unwrap();
    let want = alerts
        .iter()
        .filter(|a| a.timestamp >= since && net.contains(a.src_ip))
        .count();
    let (_, json) = run(&[
        "query",
        "--db",
        &db,
        "--since",
        "2d",
        "--src",
        "10.1.0.0/16",
        "--format",
        "json",
    ]);
    assert_eq!(json.lines().count(), want);
    assert!(want > 0);
}

#[test]
fn stats_verify_and_prune() {
    let (_dir, db, alerts) = seeded();
    let (_, by_day) = run(&["stats", "--db", &db, "--by", "day", "--format", "csv"]);
    assert_eq!(by_day.lines().next().unwrap(), "day,count");
    assert_eq!(by_day.lines().count(), 11);
    let (_, by_rule) = run(&["stats", "--db", &db, "--by", "rule", "--format", "json"]);
    let total: u64 = by_rule
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["count"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(total, alerts.len() as u64);

    let (code, out) = run(&["verify", "--db", &db]);
    assert_eq!(code, std::process::ExitCode::SUCCESS, "{out}");
    assert!(out.starts_with("ok: 500 rows"), "{out}");

    let (code, out) = run(&["prune", "--db", &db, "--before", "2026-01-06"]);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    assert!(out.starts_with("pruned 250 rows"), "{out}");
    assert_eq!(
        run(&["verify", "--db", &db]).0,
        std::process::ExitCode::SUCCESS
    );

    let conn = rusqlite_free_edit(&db);
    assert!(conn);
    let (code, out) = run(&["verify", "--db", &db]);
    assert_eq!(code, std::process::ExitCode::FAILURE);
    assert!(
        out.starts_with("TAMPERED: alerts row seq 300 altered"),
        "{out}"
    );
}

/// Edits a row through the library's own connection accessor.
fn rusqlite_free_edit(db: &str) -> bool {
    let db = sensor_audit::AuditDb::open(db).unwrap();
    db.connection()
        .execute("UPDATE alerts SET severity = 4 WHERE seq = 300", [])
        .unwrap()
        == 1
}

#[test]
fn bad_input_is_an_error() {
    let (_dir, db, _) = seeded();
    for args in [
        vec!["query", "--db", db.as_str(), "--src", "10.0.0.0/99"],
        vec!["query", "--db", db.as_str(), "--since", "yesterday"],
        vec!["query", "--db", db.as_str(), "--action", "maybe"],
        vec!["verify", "--db", "/nonexistent/audit.db"],
    ] {
        let cmd =
            Vigil::try_parse_from(std::iter::once("audit").chain(args.iter().copied())).unwrap();
        let mut out = Vec::new();
        assert!(
            run_to(&cmd.audit, &mut out, datetime!(2026-01-11 00:00 UTC)).is_err(),
            "{args:?}"
        );
    }
}
