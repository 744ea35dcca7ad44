//! Altering, deleting or inserting a row breaks the chain, and `verify`
//! names the row; pruning keeps the chain verifiable.

mod common;

use sensor_audit::{AlertFilter, AuditDb, AuditStore, SensorEvent, Table, TamperKind};
use time::macros::datetime;

fn store(n: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let store = AuditStore::open(&path).unwrap();
    let h = store.handle();
    for (i, a) in common::seeded(n, 3).iter().enumerate() {
        h.insert_alert(a).unwrap();
        if i % 25 == 0 {
            let loss = SensorEvent::CaptureLoss {
                interface: "eth0".into(),
                dropped: i as u64,
            };
            h.record_event_at(loss, a.timestamp).unwrap();
        }
    }
    store.close().unwrap();
    (dir, path)
}

/// Applies `sql` behind the store's back, then verifies.
fn tamper(sql: &str) -> Option<sensor_audit::Tamper> {
    let (_dir, path) = store(100);
    let db = AuditDb::open(&path).unwrap();
    assert!(db.verify().unwrap().ok(), "fresh store must verify");
    db.connection().execute_batch(sql).unwrap();
    db.verify().unwrap().tamper
}

#[test]
fn tampering_is_named() {
    // (what, SQL, expected kind, table, seq)
    let cases: &[(&str, &str, TamperKind, Option<Table>, i64)] = &[
        (
            "edit a column",
            "UPDATE alerts SET sid = 9 WHERE seq = 50",
            TamperKind::Altered,
            Some(Table::Alerts),
            50,
        ),
        (
            "edit the EVE record",
            "UPDATE alerts SET eve = eve || ' ' WHERE seq = 7",
            TamperKind::Altered,
            Some(Table::Alerts),
            7,
        ),
        (
            "edit an address",
            "UPDATE alerts SET src_ip = zeroblob(16) WHERE seq = 3",
            TamperKind::Altered,
            Some(Table::Alerts),
            3,
        ),
        (
            "edit an event",
            "UPDATE events SET detail = '{}' WHERE seq = 2",
            TamperKind::Altered,
            Some(Table::Events),
            2,
        ),
        (
            "delete a row",
            "DELETE FROM alerts WHERE seq = 60",
            TamperKind::Deleted,
            None,
            60,
        ),
        (
            "delete an event",
            "DELETE FROM events WHERE seq = 28",
            TamperKind::Deleted,
            None,
            28,
        ),
        (
            "delete the last row",
            "DELETE FROM alerts WHERE seq = (SELECT max(seq) FROM alerts)",
            TamperKind::Deleted,
            None,
            104,
        ),
        (
            "insert at the end",
            "INSERT INTO alerts SELECT 105, ts, day, flow_id, in_iface, src_ip, src_port, dst_ip, dst_port, proto, app_proto, community_id, action, gid, sid, rev, signature, category, severity, eve, hash FROM alerts WHERE seq = 5",
            TamperKind::Inserted,
            Some(Table::Alerts),
            105,
        ),
        (
            "insert a duplicate seq",
            "INSERT INTO events SELECT 10, ts, kind, detail, hash FROM events WHERE seq = 2",
            TamperKind::Inserted,
            Some(Table::Events),
            10,
        ),
        (
            "move the head back",
            "DELETE FROM alerts WHERE seq = 104; UPDATE meta SET value = 103 WHERE key = 'head_seq'",
            TamperKind::Anchor,
            None,
            103,
        ),
    ];
    for (what, sql, kind, table, seq) in cases {
        let t = tamper(sql).unwrap_or_else(|| panic!("{what}: not detected"));
        assert_eq!(
            (t.kind, t.table, t.seq),
            (*kind, *table, *seq),
            "{what}: {t}"
        );
    }
}

#[test]
fn prune_keeps_chain_verifiable_and_records_itself() {
    let (_dir, path) = store(1000);
    let mut db = AuditDb::open(&path).unwrap();
    let before = datetime!(2026-01-06 00:00 UTC);
    let report = db.prune(before).unwrap();
    assert!(report.rows_deleted > 400, "{report:?}");
    let v = db.verify().unwrap();
    assert!(v.ok(), "{v:?}");
    let remaining = db.alerts(&AlertFilter::default()).unwrap();
    assert!(remaining.iter().all(|a| a.timestamp >= before));
    assert_eq!(remaining.len(), 500);
    let prunes = db.events(Some("prune")).unwrap();
    assert_eq!(prunes.len(), 1);
    assert!(
        prunes[0]
            .detail
            .contains(&format!("\"anchor_seq\":{}", report.anchor_seq))
    );

    // Writing goes on after a prune, a second prune works, and tampering
    // after a prune is still caught.
    let store = AuditStore::open(&path).unwrap();
    store
        .handle()
        .insert_alert(&common::seeded(1, 9)[0])
        .unwrap();
    store.close().unwrap();
    db.prune(datetime!(2026-01-08 00:00 UTC)).unwrap();
    assert!(db.verify().unwrap().ok());
    // Forging the anchor to hide a deleted prefix is caught.
    db.connection()
        .execute_batch("DELETE FROM alerts WHERE seq = (SELECT min(seq) FROM alerts); UPDATE meta SET value = value + 1 WHERE key = 'anchor_seq'")
        .unwrap();
    let t = db
        .verify()
        .unwrap()
        .tamper
        .expect("forged anchor must be caught");
    assert!(
        matches!(t.kind, TamperKind::Altered | TamperKind::Anchor),
        "{t}"
    );
}
