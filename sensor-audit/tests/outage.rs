//! With rsyslog stopped for a while, alerts keep reaching the EVE file and
//! the audit store; the syslog failure is counted and recorded as a sensor
//! event; delivery resumes when rsyslog is back.

#[path = "../../sensor-output/tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use sensor_audit::{AlertFilter, AuditDb, AuditSink, AuditStore};
use sensor_output::syslog::{Backoff, SyslogSink, Transport};
use sensor_output::{EveFileSink, EveFormatter, FanOut, Record};
use support::rsyslog::Rsyslog;
use support::schema::assert_valid_eve;

fn alert(sid: u32) -> Record {
    let mut a = support::sample::http();
    a.sid = sid;
    Record::Alert(a)
}

#[test]
fn syslog_outage_does_not_stop_the_audit_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut rsyslog = Rsyslog::start(dir.path());
    let store = AuditStore::open(dir.path().join("audit.db")).unwrap();
    let health = store.handle();
    let backoff = Backoff {
        min: Duration::from_millis(50),
        max: Duration::from_millis(400),
    };
    let fanout = FanOut::builder()
        .sink(
            SyslogSink::builder(Transport::Tcp(([127, 0, 0, 1], rsyslog.tcp_port).into()))
                .backoff(backoff)
                .build(),
        )
        .sink(
            SyslogSink::builder(Transport::Udp(([127, 0, 0, 1], rsyslog.udp_port).into())).build(),
        )
        .sink(EveFileSink::open(dir.path().join("eve.json"), EveFormatter::default()).unwrap())
        .sink(AuditSink::new(store.handle()))
        .on_health_change(move |c| health.record_health_change(c))
        .build()
        .unwrap();

    for sid in 1..=20 {
        fanout.send(alert(sid));
    }
    assert_eq!(
        rsyslog
            .wait_for(40, Duration::from_secs(10), |_| true)
            .len(),
        40
    );

    rsyslog.stop();
    for sid in 100..300 {
        fanout.send(alert(sid));
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(fanout.wait_idle(Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(50));
    let during = fanout.stats();
    let (tcp, udp, eve, audit) = (&during[0], &during[1], &during[2], &during[3]);
    assert!(
        tcp.failed >= 190 && !tcp.healthy,
        "TCP outage not counted: {tcp:?}"
    );
    assert!(udp.failed >= 1, "UDP outage not counted: {udp:?}");
    assert_eq!((eve.sent, eve.failed), (220, 0), "{eve:?}");
    assert_eq!((audit.sent, audit.failed), (220, 0), "{audit:?}");
    store.handle().flush().unwrap();
    let db = AuditDb::open(dir.path().join("audit.db")).unwrap();
    assert_eq!(db.alerts(&AlertFilter::default()).unwrap().len(), 220);

    rsyslog.restart();
    // Keep alerting until the TCP sink has reconnected and delivered again.
    let sent_before = fanout.stats()[0].sent;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut sid = 1000;
    while !(fanout.stats()[0].healthy && fanout.stats()[0].sent > sent_before) {
        assert!(
            Instant::now() < deadline,
            "delivery did not resume: {:?}",
            fanout.stats()
        );
        fanout.send(alert(sid));
        sid += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    let resumed = fanout.stats()[0].sent - sent_before;
    let got = rsyslog.wait_for(resumed as usize, Duration::from_secs(10), |r| {
        r.protocol_version == "1" && r.msgid.parse::<u32>().is_ok_and(|s| s >= 1000)
    });
    assert!(
        got.len() as u64 >= resumed,
        "rsyslog got {} of {resumed}",
        got.len()
    );
    let stats = fanout.shutdown();
    assert!(stats[0].healthy);
    store.handle().flush().unwrap();

    // The failure and the recovery are sensor events, and the chain holds.
    let failures = db.events(Some("sink_failure")).unwrap();
    assert!(
        failures.iter().any(|e| e.detail.contains("syslog:tcp://")),
        "{failures:?}"
    );
    let recovered = db.events(Some("sink_recovered")).unwrap();
    assert!(
        recovered.iter().any(|e| e.detail.contains("syslog:tcp://")),
        "{recovered:?}"
    );
    assert!(db.verify().unwrap().ok());
    for a in db.alerts(&AlertFilter::default()).unwrap() {
        assert_valid_eve(&a.eve);
    }
    store.close().unwrap();
}
