//! Alerts to a real rsyslogd on loopback: UDP, TCP and unix socket; RFC 5424
//! with structured data, RFC 3164, EVE and CEF bodies; an outage is counted
//! and delivery resumes.

mod support;

use std::time::{Duration, Instant};

use sensor_output::syslog::{Backoff, Body, SyslogFormat, SyslogSink, Transport};
use sensor_output::{Alert, EveFileSink, EveFormatter, FanOut, Record};
use support::rsyslog::{Received, Rsyslog};
use support::{sample, schema::assert_valid_eve};

const WAIT: Duration = Duration::from_secs(10);

fn with_sid(sid: u32) -> Alert {
    let mut a = sample::http();
    a.sid = sid;
    a
}

fn sid_of(r: &Received) -> u32 {
    r.msgid.parse().unwrap_or(0)
}

/// The structured data element as rsyslog printed it, as (name, value) pairs.
fn sd_params(sd: &str) -> Vec<(String, String)> {
    let inner = sd
        .strip_prefix("[vigil@32473 ")
        .and_then(|s| s.strip_suffix(']'));
    let inner = inner.unwrap_or_else(|| panic!("no vigil SD element in {sd:?}"));
    inner
        .split("\" ")
        .map(|kv| {
            let (k, v) = kv.split_once("=\"").unwrap();
            (k.to_string(), v.trim_end_matches('"').to_string())
        })
        .collect()
}

fn assert_rfc5424_alert(r: &Received, a: &Alert) {
    assert_eq!(r.protocol_version, "1", "not parsed as RFC 5424: {r:?}");
    assert_eq!(r.app_name, "vigil");
    assert_eq!(r.msgid, a.sid.to_string());
    let sd = sd_params(&r.structured_data);
    let want = [
        ("action", a.action.to_string()),
        ("dpt", a.dst_port.unwrap().to_string()),
        ("dst", a.dst_ip.to_string()),
        ("gid", a.gid.to_string()),
        ("proto", a.proto.to_string()),
        ("rev", a.rev.to_string()),
        ("severity", a.severity.to_string()),
        ("sid", a.sid.to_string()),
        ("spt", a.src_port.unwrap().to_string()),
        ("src", a.src_ip.to_string()),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    assert_eq!(sd, want);
    // Severity 2 maps to syslog err (3).
    assert_eq!(r.severity, "3");
}

fn send_all(fanout: &FanOut, sids: std::ops::Range<u32>) {
    for sid in sids {
        fanout.send(Record::Alert(with_sid(sid)));
    }
}

#[test]
fn rfc5424_eve_over_udp_and_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let rsyslog = Rsyslog::start(dir.path());
    let udp =
        SyslogSink::builder(Transport::Udp(([127, 0, 0, 1], rsyslog.udp_port).into())).build();
    let tcp =
        SyslogSink::builder(Transport::Tcp(([127, 0, 0, 1], rsyslog.tcp_port).into())).build();
    let udp_fan = FanOut::builder().sink(udp).build().unwrap();
    let tcp_fan = FanOut::builder().sink(tcp).build().unwrap();
    send_all(&udp_fan, 1000..1010);
    send_all(&tcp_fan, 2000..2010);
    let got = rsyslog.wait_for(20, WAIT, |_| true);
    assert_eq!(got.len(), 20, "{got:?}");
    for r in &got {
        let a = with_sid(sid_of(r));
        assert_rfc5424_alert(r, &a);
        assert_valid_eve(&r.msg);
        let v: serde_json::Value = serde_json::from_str(&r.msg).unwrap();
        assert_eq!(v["alert"]["signature_id"], a.sid);
    }
    let mut sids: Vec<u32> = got.iter().map(sid_of).collect();
    sids.sort();
    assert_eq!(sids, (1000..1010).chain(2000..2010).collect::<Vec<_>>());
    for stats in [udp_fan.shutdown(), tcp_fan.shutdown()] {
        assert_eq!(
            (stats[0].sent, stats[0].failed, stats[0].dropped),
            (10, 0, 0)
        );
    }
}

#[test]
fn rfc3164_cef_over_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let rsyslog = Rsyslog::start(dir.path());
    let sink = SyslogSink::builder(Transport::Unix(rsyslog.socket_path()))
        .format(SyslogFormat::Rfc3164)
        .body(Body::Cef)
        .build();
    let fanout = FanOut::builder().sink(sink).build().unwrap();
    send_all(&fanout, 3000..3005);
    let got = rsyslog.wait_for(5, WAIT, |_| true);
    assert_eq!(got.len(), 5, "{got:?}");
    for (r, sid) in got.iter().zip(3000..) {
        assert_eq!(r.protocol_version, "0", "{r:?}");
        assert_eq!(r.app_name, "vigil");
        let head = format!(
            "CEF:0|Vigil|vigil|{}|{sid}|TEST rule 2000001|7|",
            env!("CARGO_PKG_VERSION")
        );
        assert!(r.msg.starts_with(&head), "{:?}", r.msg);
        assert!(r.msg.contains("act=blocked"));
    }
    assert_eq!(fanout.shutdown()[0].sent, 5);
}

/// rsyslog goes away for a while: alerts keep reaching the EVE file, the
/// TCP sink counts failures, reconnects with backoff and delivers again once
/// rsyslog is back.
#[test]
fn tcp_outage_is_counted_and_delivery_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mut rsyslog = Rsyslog::start(dir.path());
    let eve_path = dir.path().join("eve.json");
    let tcp = SyslogSink::builder(Transport::Tcp(([127, 0, 0, 1], rsyslog.tcp_port).into()))
        .backoff(Backoff {
            min: Duration::from_millis(50),
            max: Duration::from_millis(400),
        })
        .build();
    let fanout = FanOut::builder()
        .sink(tcp)
        .sink(EveFileSink::open(&eve_path, EveFormatter::default()).unwrap())
        .build()
        .unwrap();

    send_all(&fanout, 1..11);
    assert_eq!(rsyslog.wait_for(10, WAIT, |_| true).len(), 10);

    rsyslog.stop();
    // While it is down, one alert every 10 ms for a second.
    for sid in 100..200 {
        fanout.send(Record::Alert(with_sid(sid)));
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(fanout.wait_idle(WAIT));
    let during = fanout.stats();
    assert!(during[0].failed >= 90, "outage not counted: {during:?}");
    assert!(!during[0].healthy);
    assert_eq!(during[1].sent, 110, "EVE file sink held up: {during:?}");

    rsyslog.restart();
    // Delivery resumes within the backoff cap once rsyslog is back.
    let deadline = Instant::now() + WAIT;
    let mut sid = 1000;
    while rsyslog
        .wait_for(1, Duration::from_millis(100), |r| sid_of(r) >= 1000)
        .is_empty()
    {
        assert!(Instant::now() < deadline, "delivery did not resume");
        fanout.send(Record::Alert(with_sid(sid)));
        sid += 1;
    }
    let stats = fanout.shutdown();
    assert!(stats[0].healthy, "{stats:?}");
    assert_eq!(stats[0].sent + stats[0].failed, stats[1].sent, "{stats:?}");
    for line in std::fs::read_to_string(&eve_path).unwrap().lines() {
        assert_valid_eve(line);
    }
}
