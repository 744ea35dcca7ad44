//! A seeded store answers queries exactly as a filter over the same alerts
//! would; files are private; every stored EVE record validates.

mod common;
#[path = "../../sensor-output/tests/support/mod.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;

use sensor_audit::{AlertFilter, AuditDb, AuditStore, Cidr, RulesetLoad, SensorEvent, StatsBy};
use sensor_output::{Action, Alert, Proto};
use time::macros::datetime;

struct Seeded {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    alerts: Vec<Alert>,
}

fn seeded_store() -> Seeded {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let alerts = common::seeded(3000, 7);
    let store = AuditStore::open(&path).unwrap();
    let h = store.handle();
    for a in &alerts {
        h.insert_alert(a).unwrap();
    }
    h.record_event(SensorEvent::Start {
        version: "0.1.0".into(),
        config: None,
    })
    .unwrap();
    h.record_ruleset(&RulesetLoad {
        ruleset_hash: "ab".repeat(32),
        rules_loaded: 5000,
        rules_failed: 3,
        sources: vec!["emerging-http.rules".into()],
        trigger: "startup".into(),
    })
    .unwrap();
    store.close().unwrap();
    Seeded {
        _dir: dir,
        path,
        alerts,
    }
}

/// The oracle: the same filter applied in Rust.
fn matches(f: &AlertFilter, a: &Alert) -> bool {
    f.since.is_none_or(|t| a.timestamp >= t)
        && f.until.is_none_or(|t| a.timestamp < t)
        && f.sid.is_none_or(|s| a.sid == s)
        && f.src.is_none_or(|c| c.contains(a.src_ip))
        && f.dst.is_none_or(|c| c.contains(a.dst_ip))
        && f.port
            .is_none_or(|p| a.src_port == Some(p) || a.dst_port == Some(p))
        && f.proto.is_none_or(|p| a.proto == p)
        && f.action.is_none_or(|x| a.action == x)
        && f.severity.is_none_or(|s| a.severity == s)
        && f.text.as_ref().is_none_or(|t| {
            let t = t.to_lowercase();
            a.signature.to_lowercase().contains(&t)
                || a.category.to_lowercase().contains(&t)
                || a.to_eve_json().to_lowercase().contains(&t)
        })
}

fn cidr(s: &str) -> Option<Cidr> {
    Some(s.parse().unwrap())
}

#[test]
fn queries_match_the_oracle() {
    let s = seeded_store();
    let db = AuditDb::open(&s.path).unwrap();
    let day2 = datetime!(2026-01-02 00:00 UTC);
    let day3 = datetime!(2026-01-03 00:00 UTC);
    let filters = vec![
        AlertFilter::default(),
        AlertFilter {
            since: Some(day2),
            until: Some(day3),
            ..Default::default()
        },
        AlertFilter {
            sid: Some(1003),
            ..Default::default()
        },
        AlertFilter {
            src: cidr("10.1.0.0/16"),
            ..Default::default()
        },
        AlertFilter {
            src: cidr("10.1.2.0/24"),
            since: Some(day2),
            until: Some(day3),
            ..Default::default()
        },
        AlertFilter {
            src: cidr("2001:db8::/64"),
            ..Default::default()
        },
        AlertFilter {
            dst: cidr("203.0.113.5"),
            ..Default::default()
        },
        AlertFilter {
            src: cidr("0.0.0.0/0"),
            ..Default::default()
        },
        AlertFilter {
            port: Some(443),
            ..Default::default()
        },
        AlertFilter {
            proto: Some(Proto::Udp),
            action: Some(Action::Blocked),
            ..Default::default()
        },
        AlertFilter {
            severity: Some(1),
            src: cidr("192.168.0.0/16"),
            ..Default::default()
        },
        AlertFilter {
            text: Some("100% literal".into()),
            ..Default::default()
        },
        AlertFilter {
            text: Some("web application".into()),
            ..Default::default()
        },
        AlertFilter {
            text: Some("no such thing".into()),
            ..Default::default()
        },
        AlertFilter {
            text: Some("' OR 1=1 --".into()),
            ..Default::default()
        },
    ];
    for f in &filters {
        let got = db.alerts(f).unwrap();
        let mut got_seq: Vec<i64> = got.iter().map(|a| a.seq).collect();
        got_seq.sort();
        // Alerts were the first rows written: seq = index + 1.
        let want: Vec<i64> = s
            .alerts
            .iter()
            .enumerate()
            .filter(|(_, a)| matches(f, a))
            .map(|(i, _)| i as i64 + 1)
            .collect();
        assert_eq!(got_seq, want, "filter {f:?}");
        // Newest first.
        assert!(got.windows(2).all(|w| w[0].timestamp >= w[1].timestamp));
    }
    // The filters are not vacuous.
    assert!(db.alerts(&filters[4]).unwrap().len() > 5);
    assert!(!db.alerts(&filters[11]).unwrap().is_empty());
    assert!(db.alerts(&filters[14]).unwrap().is_empty());
    let limited = db
        .alerts(&AlertFilter {
            limit: Some(10),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(limited.len(), 10);
    assert_eq!(limited[0].seq, 3000);
}

#[test]
fn stored_alert_round_trips_and_eve_validates() {
    let s = seeded_store();
    let db = AuditDb::open(&s.path).unwrap();
    let all = db.alerts(&AlertFilter::default()).unwrap();
    assert_eq!(all.len(), s.alerts.len());
    for stored in &all {
        let a = &s.alerts[stored.seq as usize - 1];
        assert_eq!(stored.timestamp, a.timestamp);
        assert_eq!(
            (
                stored.src_ip,
                stored.src_port,
                stored.dst_ip,
                stored.dst_port
            ),
            (a.src_ip, a.src_port, a.dst_ip, a.dst_port)
        );
        assert_eq!((stored.sid, stored.severity), (a.sid, a.severity));
        assert_eq!(stored.action, a.action.as_str());
        assert_eq!(stored.eve, a.to_eve_json());
        support::schema::assert_valid_eve(&stored.eve);
    }
}

#[test]
fn stats_by_rule_day_and_source() {
    let s = seeded_store();
    let db = AuditDb::open(&s.path).unwrap();
    let by_rule = db.stats(StatsBy::Rule, &AlertFilter::default()).unwrap();
    let total: u64 = by_rule.iter().map(|r| r.count).sum();
    assert_eq!(total, 3000);
    for r in &by_rule {
        let sid: u32 = r.key.parse().unwrap();
        assert_eq!(
            r.count,
            s.alerts.iter().filter(|a| a.sid == sid).count() as u64
        );
    }
    assert!(by_rule.windows(2).all(|w| w[0].count >= w[1].count));
    let by_day = db.stats(StatsBy::Day, &AlertFilter::default()).unwrap();
    let days: Vec<&str> = by_day.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(days.len(), 10);
    assert_eq!(days[0], "2026-01-01");
    assert_eq!(days[9], "2026-01-10");
    assert_eq!(by_day.iter().map(|r| r.count).sum::<u64>(), 3000);
    let f = AlertFilter {
        src: cidr("10.2.0.0/24"),
        ..Default::default()
    };
    let by_src = db.stats(StatsBy::Source, &f).unwrap();
    for r in &by_src {
        let ip: std::net::IpAddr = r.key.parse().unwrap();
        assert!(r.key.starts_with("10.2.0."));
        assert_eq!(
            r.count,
            s.alerts.iter().filter(|a| a.src_ip == ip).count() as u64
        );
    }
}

#[test]
fn events_and_rulesets_are_recorded() {
    let s = seeded_store();
    let db = AuditDb::open(&s.path).unwrap();
    let events = db.events(None).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "start");
    assert_eq!(events[0].seq, 3001);
    let (hash, loaded, trigger): (String, i64, String) = db
        .connection()
        .query_row(
            "SELECT ruleset_hash, rules_loaded, trigger FROM rulesets",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (hash.len(), loaded, trigger.as_str()),
        (64, 5000, "startup")
    );
    assert!(db.verify().unwrap().ok());
}

#[test]
fn files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let store = AuditStore::open(&path).unwrap();
    store
        .handle()
        .insert_alert(&common::seeded(1, 1)[0])
        .unwrap();
    store.handle().flush().unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let p = dir.path().join(format!("audit.db{suffix}"));
        let mode = std::fs::metadata(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", p.display());
    }
    let journal: String = AuditDb::open(&path)
        .unwrap()
        .connection()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    store.close().unwrap();
}

#[test]
fn missing_store_is_an_error_not_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.db");
    assert!(AuditDb::open(&path).is_err());
    assert!(!path.exists());
}
