//! Replays of the shared real captures through the whole pipeline: rules
//! loaded from files, the engine, EVE records validated against Suricata's
//! schema.

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use sensor_output::{Action, EveFormatter, HeaderMask};
use sensor_pipeline::{
    Collected, Detector, Mode, Pipeline, ReplayOptions, compile_rules, replay_files,
};
use sensor_proto::{ChecksumPolicy, DriverConfig, Event};

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(name)
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text = std::fs::read_to_string(shared("schemas/suricata-eve.schema.json")).unwrap();
        jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
    })
}

fn assert_valid_eve(line: &str) {
    let value: serde_json::Value = serde_json::from_str(line).unwrap();
    let errors: Vec<String> = validator()
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{line}");
}

/// Driver settings for captures taken with checksum offload and without handshakes.
fn lenient() -> DriverConfig {
    let mut config = DriverConfig::default();
    config.flow.midstream = true;
    config.checksums = ChecksumPolicy::Ignore;
    config
}

const RULES: &str = r#"
alert http any any -> any any (msg:"phpinfo() probe in the URI"; flow:to_server; http.uri; content:"phpinfo()"; classtype:web-application-attack; sid:1000001; rev:3;)
drop http any any -> any any (msg:"site archive download"; flow:to_server; http.uri; content:"/site."; startswith; sid:1000002; rev:1;)
"#;

fn write_rules(dir: &Path) -> PathBuf {
    let path = dir.join("test.rules");
    std::fs::write(&path, RULES).unwrap();
    path
}

fn replay(file: &str, mode: Mode, http_log: bool) -> (Collected, sensor_pipeline::ReplaySummary) {
    let dir = tempfile::tempdir().unwrap();
    let (rules, loaded) = compile_rules(&[write_rules(dir.path())], &[]).unwrap();
    assert_eq!(loaded.errors().count(), 0);
    assert_eq!(loaded.rules_loaded, 2);
    let detector = Detector::new(rules, mode);
    let mut pipeline =
        Pipeline::new(lenient(), Some(detector), Collected::default()).with_http_log(http_log);
    let options = ReplayOptions {
        verify_checksums: false,
        progress: false,
    };
    let summary = replay_files(&[shared(file)], &mut pipeline, &options);
    (pipeline.into_outputs(), summary)
}

/// The oracle: requests whose URI satisfies `pred`, counted straight from
/// the parser's transactions with no rules involved.
fn count_requests(file: &str, pred: impl Fn(&[u8]) -> bool) -> usize {
    let mut reader = sensor_packet::CaptureReader::open(shared(file)).unwrap();
    let mut decoder = sensor_packet::Decoder::new(sensor_packet::DecodeOptions::default());
    let mut driver = sensor_proto::Driver::new(lenient());
    let mut n = 0;
    let mut sink = |e: &Event<'_>| {
        if let Event::HttpRequest { request, .. } = e
            && pred(request.uri())
        {
            n += 1;
        }
    };
    driver.replay(&mut reader, &mut decoder, &mut sink).unwrap();
    driver.finish(&mut sink);
    n
}

#[test]
fn one_alert_per_matching_request() {
    let (out, summary) = replay("pcaps/ndpi_WebattackRCE.pcap", Mode::Ids, false);
    let phpinfo = count_requests("pcaps/ndpi_WebattackRCE.pcap", |u| {
        u.windows(9).any(|w| w == b"phpinfo()")
    });
    let site = count_requests("pcaps/ndpi_WebattackRCE.pcap", |u| u.starts_with(b"/site."));
    assert!(
        phpinfo > 0 && site > 0,
        "the capture has both kinds of request"
    );
    let by_sid = |sid| out.alerts.iter().filter(|a| a.sid == sid).count();
    assert_eq!(by_sid(1000001), phpinfo);
    assert_eq!(by_sid(1000002), site);
    assert_eq!(summary.alerts as usize, out.alerts.len());
    assert_eq!(summary.http_requests, 797);

    let a = out.alerts.iter().find(|a| a.sid == 1000001).unwrap();
    assert_eq!(a.rev, 3);
    assert_eq!(a.action, Action::Allowed);
    assert_eq!(a.signature, "phpinfo() probe in the URI");
    assert!(
        a.flow_id != 0
            && a.community_id
                .as_deref()
                .is_some_and(|c| c.starts_with("1:"))
    );
    let http = a.http.as_ref().expect("http section");
    assert!(http.url.as_deref().unwrap().contains("phpinfo()"));
    assert_eq!(http.method.as_deref(), Some("GET"));
    assert_eq!(a.app_proto.as_deref(), Some("http"));
    // Drop rules only alert in IDS mode.
    assert!(
        out.alerts
            .iter()
            .filter(|a| a.sid == 1000002)
            .all(|a| a.action == Action::Allowed)
    );
}

#[test]
fn ips_mode_reports_drop_rules_as_blocked() {
    let (out, _) = replay("pcaps/ndpi_WebattackRCE.pcap", Mode::Ips, false);
    assert!(
        out.alerts
            .iter()
            .filter(|a| a.sid == 1000002)
            .all(|a| a.action == Action::Blocked)
    );
    assert!(
        out.alerts
            .iter()
            .filter(|a| a.sid == 1000001)
            .all(|a| a.action == Action::Allowed)
    );
}

#[test]
fn every_eve_record_validates_and_secrets_are_masked() {
    let formatter = EveFormatter::new(HeaderMask::default());
    let mut records = 0;
    for file in [
        "pcaps/ndpi_WebattackRCE.pcap",
        "pcaps/cs_http_espn.pcapng",
        "pcaps/zeek_1000-requests-one-dropped-response.pcap",
    ] {
        let (out, summary) = replay(file, Mode::Ids, true);
        assert_eq!(
            out.http.len() as u64,
            summary.http_requests,
            "{file}: one header-log record per request"
        );
        for alert in &out.alerts {
            assert_valid_eve(&formatter.alert(alert));
            records += 1;
        }
        for log in &out.http {
            let line = formatter.http(log);
            assert_valid_eve(&line);
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["event_type"], "http");
            records += 1;
            for h in v["http"]["request_headers"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if h["name"].as_str().unwrap().eq_ignore_ascii_case("cookie") {
                    assert_ne!(h["value"], "", "masked, not dropped");
                    assert!(
                        !h["value"].as_str().unwrap().contains('='),
                        "cookie value leaked: {h}"
                    );
                }
            }
        }
    }
    assert!(records > 1900, "{records} records");
}

#[test]
fn a_truncated_capture_replays_every_complete_packet() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(shared("pcaps/ndpi_WebattackRCE.pcap")).unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() / 2 + 7]).unwrap();
    let mut pipeline = Pipeline::new(lenient(), None, Collected::default());
    let options = ReplayOptions {
        verify_checksums: false,
        progress: false,
    };
    let summary = replay_files(
        &[cut.clone(), shared("pcaps/cs_http_espn.pcapng")],
        &mut pipeline,
        &options,
    );
    assert_eq!(summary.truncated_files.len(), 1, "{summary:?}");
    assert!(
        summary.packets > 956,
        "the cut file's packets and then the whole second file"
    );
    assert!(summary.http_requests > 61);
}
