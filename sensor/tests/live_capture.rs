//! Live tests of the kernel capture path: the real TC program attached in a
//! lab namespace, real TCP clients and servers, injected frames for what
//! sockets cannot produce. They need root (CAP_BPF + CAP_NET_ADMIN), as CI has.

mod support;

use std::{thread, time::Duration};

use serde_json::Value;
use support::{
    CaptureProc, LabGuard, assert_no_vigil_programs, in_netns::InNetnsCapture, netns_exists,
    serial, support_dir,
};
use vigil::{capture::CaptureConfig, lab::Side};

const PORT: &str = "8080";

fn flags(ev: &Value) -> Vec<String> {
    ev["tcp_flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

fn has_flag(ev: &Value, name: &str) -> bool {
    flags(ev).iter().any(|f| f == name)
}

fn is_tcp_on_port(ev: &Value) -> bool {
    ev["protocol"] == 6 && (ev["dst_port"] == 8080 || ev["src_port"] == 8080)
}

/// Starts `python3 -m http.server` on the server side and waits until it listens.
fn start_http_server(lab: &LabGuard, bind: &str) -> support::KillOnDrop {
    let dir = tempfile::tempdir().unwrap().keep();
    std::fs::write(dir.join("index-probe"), "probe body\n").unwrap();
    let server = lab.spawn(
        Side::Server,
        &[
            "python3",
            "-m",
            "http.server",
            PORT,
            "--bind",
            bind,
            "--directory",
            dir.to_str().unwrap(),
        ],
    );
    for _ in 0..100 {
        let listening = lab.exec(Side::Server, &["ss", "-Htln"]);
        if listening.contains(&format!(":{PORT}")) {
            return server;
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("http server did not start");
}

/// One HTTP exchange across the lab, captured on the server side; asserts
/// the handshake, the request headers and the teardown as the kernel saw them.
fn http_exchange_is_captured(lab_name: &str, ipv6: bool) {
    let lab = LabGuard::up(lab_name);
    let (client_ip, server_ip) = if ipv6 {
        (lab.lab.ipv6(Side::Client), lab.lab.ipv6(Side::Server))
    } else {
        (lab.lab.ipv4(Side::Client), lab.lab.ipv4(Side::Server))
    };
    let _server = start_http_server(&lab, &server_ip.to_string());
    let capture = CaptureProc::start(&lab, Side::Server, &[]);

    let host = if ipv6 {
        format!("[{server_ip}]")
    } else {
        server_ip.to_string()
    };
    let url = format!("http://{host}:{PORT}/index-probe?x=1");
    let body = lab.exec(
        Side::Client,
        &[
            "curl",
            "-sS",
            "-g",
            "--max-time",
            "10",
            "-A",
            "vigil-test-agent/1.0",
            "-H",
            "X-Vigil-Test: live-capture-42",
            &url,
        ],
    );
    assert_eq!(body, "probe body\n");
    thread::sleep(Duration::from_millis(300));
    let out = capture.stop();

    let tcp: Vec<&Value> = out.events.iter().filter(|e| is_tcp_on_port(e)).collect();
    assert!(tcp.len() >= 6, "expected a full TCP exchange, got {tcp:#?}");
    let version = if ipv6 { 6 } else { 4 };
    for ev in &tcp {
        assert_eq!(ev["ip_version"], version);
        let (src, dst) = (ev["src"].as_str().unwrap(), ev["dst"].as_str().unwrap());
        match ev["direction"].as_str().unwrap() {
            // Captured on the server: ingress is client -> server.
            "ingress" => {
                assert_eq!(
                    (src, dst),
                    (
                        client_ip.to_string().as_str(),
                        server_ip.to_string().as_str()
                    )
                );
                assert_eq!(ev["dst_port"], 8080);
            }
            "egress" => {
                assert_eq!(
                    (src, dst),
                    (
                        server_ip.to_string().as_str(),
                        client_ip.to_string().as_str()
                    )
                );
                assert_eq!(ev["src_port"], 8080);
            }
            other => panic!("bad direction {other}"),
        }
        assert_eq!(ev["ifindex"], tcp[0]["ifindex"]);
    }
    let position = |pred: &dyn Fn(&Value) -> bool| tcp.iter().position(|e| pred(e));
    let syn = position(&|e| e["direction"] == "ingress" && flags(e) == ["SYN"])
        .expect("SYN from the client");
    let syn_ack =
        position(&|e| e["direction"] == "egress" && has_flag(e, "SYN") && has_flag(e, "ACK"))
            .expect("SYN-ACK from the server");
    let fin = position(&|e| has_flag(e, "FIN")).expect("a FIN");
    assert!(
        syn < syn_ack && syn_ack < fin,
        "order SYN {syn}, SYN-ACK {syn_ack}, FIN {fin}"
    );
    assert!(
        tcp.iter()
            .any(|e| e["direction"] == "ingress" && has_flag(e, "FIN")),
        "client FIN"
    );
    assert!(
        tcp.iter()
            .any(|e| e["direction"] == "egress" && has_flag(e, "FIN")),
        "server FIN"
    );
    // Kernel timestamps never go backwards within one CPU's view; across the
    // capture they must at least be non-zero and span the exchange.
    assert!(tcp.iter().all(|e| e["ktime_ns"].as_u64().unwrap() > 0));

    let request = tcp
        .iter()
        .find(|e| e["direction"] == "ingress" && e["payload_len"].as_u64().unwrap() > 0)
        .expect("a request segment");
    let payload = request["payload"].as_str().unwrap();
    assert!(
        payload.starts_with("GET /index-probe?x=1 HTTP/1.1\r\n"),
        "{payload:?}"
    );
    assert!(
        payload.contains("\r\nX-Vigil-Test: live-capture-42\r\n"),
        "{payload:?}"
    );
    assert!(
        payload.contains("\r\nUser-Agent: vigil-test-agent/1.0\r\n"),
        "{payload:?}"
    );
    assert_eq!(
        request["payload_len"].as_u64().unwrap() as usize,
        payload.len()
    );
    let response = tcp
        .iter()
        .find(|e| e["direction"] == "egress" && e["payload_len"].as_u64().unwrap() > 0)
        .expect("a response segment");
    assert!(
        response["payload"]
            .as_str()
            .unwrap()
            .starts_with("HTTP/1.0 200 OK\r\n")
    );

    let c = &out.summary["counters"];
    assert_eq!(c["records_lost"], 0);
    assert_eq!(c["packets_seen"], c["records_emitted"]);
    assert_eq!(out.summary["records_received"], c["records_emitted"]);
    drop(lab);
    assert_no_vigil_programs();
    assert!(!netns_exists(&format!("{lab_name}-server")));
}

#[test]
fn http_over_ipv4_is_captured_both_ways() {
    let _serial = serial();
    http_exchange_is_captured("vt-ipv4", false);
}

#[test]
fn http_over_ipv6_is_captured_both_ways() {
    let _serial = serial();
    http_exchange_is_captured("vt-ipv6", true);
}

fn find_port(events: &[Value], sport: u16) -> Option<&Value> {
    events.iter().find(|e| e["src_port"] == sport)
}

/// Frames the lab's sockets cannot produce, injected on the client's veth:
/// VLAN tags, stacked tags, IPv4 options, IPv6 extension headers, fragments,
/// and a truncated TCP header. Captured on both sides, since a tag is in the
/// packet data at the sender's egress but in skb metadata at the receiver's
/// ingress (the stack untags before TC), and the program must handle both.
#[test]
fn injected_frames_are_parsed_on_egress_and_ingress() {
    let _serial = serial();
    let lab = LabGuard::up("vt-frames");
    let server_mac = lab.mac(Side::Server);
    let server = CaptureProc::start(&lab, Side::Server, &[]);
    let client = CaptureProc::start(&lab, Side::Client, &[]);
    let script = support_dir().join("inject_frames.py");
    lab.exec(
        Side::Client,
        &[
            "python3",
            script.to_str().unwrap(),
            lab.lab.iface(Side::Client),
            &server_mac,
        ],
    );
    thread::sleep(Duration::from_millis(300));
    let client = client.stop();
    let server = server.stop();

    for (side, out, direction) in [
        ("client", &client, "egress"),
        ("server", &server, "ingress"),
    ] {
        let events: Vec<Value> = out
            .events
            .iter()
            .filter(|e| e["direction"] == direction)
            .cloned()
            .collect();
        let ev = find_port(&events, 40001)
            .unwrap_or_else(|| panic!("{side}: no vlan frame in {events:#?}"));
        assert_eq!(ev["vlan_id"], 100, "{side}");
        assert_eq!(ev["vlan_depth"], 1, "{side}");
        assert_eq!(ev["dst_port"], 50001);
        assert_eq!(ev["src"], "10.77.0.1");
        assert_eq!(ev["payload"], "vlan-one");

        let ev = find_port(&events, 40002).unwrap_or_else(|| panic!("{side}: no QinQ frame"));
        assert_eq!(ev["vlan_id"], 200, "{side}: outermost tag");
        assert_eq!(ev["vlan_depth"], 2, "{side}");
        assert_eq!(ev["payload"], "vlan-two");

        let ev =
            find_port(&events, 40003).unwrap_or_else(|| panic!("{side}: no IPv4-options frame"));
        assert_eq!(ev["dst_port"], 50003);
        assert_eq!(ev["payload"], "options");

        let ev =
            find_port(&events, 40004).unwrap_or_else(|| panic!("{side}: no IPv6 ext-header frame"));
        assert_eq!(ev["ip_version"], 6);
        assert_eq!(ev["protocol"], 17);
        assert_eq!(ev["dst"], "fd77::2");
        assert_eq!(ev["payload"], "ext-headers");

        let frag = events
            .iter()
            .find(|e| e["ip_id"] == 0x4242)
            .unwrap_or_else(|| panic!("{side}: no fragment"));
        assert_eq!(frag["frag_offset"], 185);
        assert_eq!(frag["src_port"], 0, "a later fragment has no ports");
        assert_eq!(frag["payload"], "");

        let trunc =
            find_port(&events, 40006).unwrap_or_else(|| panic!("{side}: no truncated TCP frame"));
        assert_eq!(trunc["protocol"], 6);
        assert_ne!(
            trunc["status"].as_u64().unwrap() & 4,
            0,
            "{side}: flagged malformed"
        );
        assert!(
            out.summary["counters"]["packets_unparsed"]
                .as_u64()
                .unwrap()
                >= 1,
            "{side}"
        );
    }
    drop(lab);
    assert_no_vigil_programs();
}

/// With a one-page ring buffer that is drained only once a second (its
/// wakeup threshold is beyond its size), a burst must overflow it; every
/// lost record must be counted, none silently.
#[test]
fn ring_buffer_losses_are_counted_exactly() {
    let _serial = serial();
    let lab = LabGuard::up("vt-loss");
    let capture = CaptureProc::start(
        &lab,
        Side::Server,
        &[
            "--ring-bytes",
            "4096",
            "--poll-ms",
            "1000",
            "--wakeup-bytes",
            "8192",
            "--quiet",
        ],
    );
    let burst = "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(3000): s.sendto(b'x'*32,('10.77.0.2',9))\n";
    lab.exec(Side::Client, &["python3", "-c", burst]);
    thread::sleep(Duration::from_millis(200));
    let out = capture.stop();
    let c = &out.summary["counters"];
    let seen = c["packets_seen"].as_u64().unwrap();
    let emitted = c["records_emitted"].as_u64().unwrap();
    let lost = c["records_lost"].as_u64().unwrap();
    let received = out.summary["records_received"].as_u64().unwrap();
    assert!(seen >= 3000, "saw {seen} packets");
    assert!(
        lost > 0,
        "a 4 KiB ring must overflow under a 3000-packet burst: {c}"
    );
    assert_eq!(lost, seen - received, "lost == seen - received");
    assert_eq!(emitted, received, "every emitted record reached user space");
    assert_eq!(out.summary["records_undecodable"], 0);
    // A reader that drains on its timer loses records through a ring too
    // small, not through starvation, and is not said to be starved.
    assert!(
        !out.stderr.iter().any(|l| l.contains("without draining")),
        "{:#?}",
        out.stderr
    );
    drop(lab);
    assert_no_vigil_programs();
}

/// Each CPU writes its own ring; the reader merges them back into time
/// order. Two senders pinned to different CPUs send at once (a veth
/// delivers a packet on the sender's CPU, where the classifier then runs),
/// so both rings fill together: records must come out in kernel-timestamp
/// order, every one of them. Draining the rings one after the other without
/// the merge puts about half of them out of order.
#[test]
fn records_of_every_cpu_come_out_in_time_order() {
    let _serial = serial();
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        eprintln!("one CPU: one ring, nothing to merge; skipped");
        return;
    }
    let lab = LabGuard::up("vt-rings");
    let capture = CaptureProc::start(&lab, Side::Server, &[]);
    // Bursts for 400 ms each, long enough to overlap whatever the
    // interpreters' start-up times.
    let send = "import socket,sys,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nend=time.time()+0.4\nwhile time.time()<end:\n  for i in range(10): s.sendto(b'x'*32,('10.77.0.2',int(sys.argv[1])))\n  time.sleep(0.001)\n";
    let script = format!(
        "taskset -c 0 python3 -c \"{send}\" 9 & taskset -c 1 python3 -c \"{send}\" 10 & wait"
    );
    lab.exec(Side::Client, &["sh", "-c", &script]);
    thread::sleep(Duration::from_millis(200));
    let out = capture.stop();
    let udp: Vec<&Value> = out
        .events
        .iter()
        .filter(|e| e["protocol"] == 17 && e["direction"] == "ingress")
        .collect();
    assert!(udp.len() >= 1000, "saw {} datagrams", udp.len());
    // The two senders overlapped in time, so both rings were in use at once.
    let span = |port: u64| {
        let stamps = udp
            .iter()
            .filter(|e| e["dst_port"] == port)
            .map(|e| e["ktime_ns"].as_u64().unwrap());
        (stamps.clone().min().unwrap(), stamps.max().unwrap())
    };
    let (a, b) = (span(9), span(10));
    assert!(
        a.0 < b.1 && b.0 < a.1,
        "the senders did not overlap: {a:?} {b:?}"
    );
    let stamps: Vec<u64> = out
        .events
        .iter()
        .map(|e| e["ktime_ns"].as_u64().unwrap())
        .collect();
    let inversions = stamps.windows(2).filter(|w| w[1] < w[0]).count();
    // A record written more than the merge's hold after its stamp (a vCPU
    // stalled by its host mid-run) may come out late; allow one in a
    // thousand, not the half an unmerged drain gives.
    assert!(
        inversions * 1000 <= stamps.len(),
        "{inversions} of {} records out of time order",
        stamps.len()
    );
    let c = &out.summary["counters"];
    assert_eq!(c["records_lost"], 0);
    assert_eq!(out.summary["records_received"], c["records_emitted"]);
    drop(lab);
    assert_no_vigil_programs();
}

/// A reader that gets no CPU (here: stopped with SIGSTOP for 1.5 s, as a
/// saturated host can starve it) loses records, and says so: the loss
/// warning comes with one naming the gap between drains as the cause.
#[test]
fn a_starved_reader_is_reported_as_such() {
    let _serial = serial();
    let lab = LabGuard::up("vt-starve");
    let capture = CaptureProc::start(&lab, Side::Server, &["--ring-bytes", "16384", "--quiet"]);
    // "capturing on" comes just before the reader starts its loop.
    thread::sleep(Duration::from_millis(500));
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(capture.pid(), libc::SIGSTOP) };
    let burst = "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(3000): s.sendto(b'x'*32,('10.77.0.2',9))\n";
    lab.exec(Side::Client, &["python3", "-c", burst]);
    thread::sleep(Duration::from_millis(1500));
    // SAFETY: as above.
    unsafe { libc::kill(capture.pid(), libc::SIGCONT) };
    thread::sleep(Duration::from_millis(1500));
    let out = capture.stop();
    assert!(out.summary["counters"]["records_lost"].as_u64().unwrap() > 0);
    let starved = out
        .stderr
        .iter()
        .find(|l| l.contains("without draining"))
        .unwrap_or_else(|| panic!("no starvation warning: {:#?}", out.stderr));
    assert!(starved.contains("it polls every 5 ms"), "{starved}");
    drop(lab);
    assert_no_vigil_programs();
}

/// SIGTERM detaches cleanly; SIGKILL leaves nothing attached either, because
/// TCX links die with the process's file descriptors.
#[test]
fn nothing_stays_attached_after_sigterm_or_sigkill() {
    let _serial = serial();
    let lab = LabGuard::up("vt-clean");
    let capture = CaptureProc::start(&lab, Side::Server, &[]);
    assert!(
        support::loaded_program_names()
            .iter()
            .any(|n| n == "vigil_ingress")
    );
    capture.stop_with(libc::SIGTERM);
    assert_no_vigil_programs();

    let capture = CaptureProc::start(&lab, Side::Server, &[]);
    capture.stop_with(libc::SIGKILL);
    assert_no_vigil_programs();
    // And the lab still carries traffic: nothing left behind drops packets.
    lab.exec(Side::Client, &["ping", "-c", "1", "-W", "2", "10.77.0.2"]);
    drop(lab);
    assert!(!netns_exists("vt-clean-client") && !netns_exists("vt-clean-server"));
}

/// The kernel wakes the reader when a ring's unread records cross the wakeup
/// threshold (by default an eighth of the ring), so records arrive without
/// waiting for the poll timer. The control run, whose threshold is never
/// crossed, shows that nothing else delivers them: its records come only
/// with the final drain.
#[test]
fn a_ring_past_its_wakeup_threshold_wakes_the_reader() {
    const PINGS: usize = 40;
    let _serial = serial();
    let lab = LabGuard::up("vc-wake");
    let server = lab.lab.ipv4(Side::Server).to_string();
    let is_echo = |e: &vigil::capture::PacketEvent| e.protocol == 1 && e.pkt_len > 1000;
    for (threshold, woken) in [(None, true), (Some(u64::MAX), false)] {
        let mut config = CaptureConfig::new(lab.lab.iface(Side::Server));
        // 16 KiB rings: the default threshold is 2 KiB, crossed every few
        // 1 KiB echoes, and the 80 echoes' 88 KiB of records overflow even
        // two rings that nobody drains. The poll timer fires only at start.
        config.ring_bytes = 16 << 10;
        config.poll_interval = Duration::from_secs(3600);
        config.wakeup_threshold = threshold;
        let mut capture = InNetnsCapture::start(&lab.lab.netns(Side::Server), config);
        let pings = PINGS.to_string();
        lab.exec(
            Side::Client,
            &[
                "ping", "-q", "-c", &pings, "-i", "0.01", "-s", "1000", &server,
            ],
        );
        let arrived = capture
            .wait_for(Duration::from_secs(2), |e| is_echo(e))
            .is_some();
        assert_eq!(
            arrived, woken,
            "threshold {threshold:?}: records arrived before the final drain: {arrived}"
        );
        let (events, summary) = capture.stop();
        let echoes = events.iter().filter(|e| is_echo(e)).count();
        let lost = summary.counters.records_lost;
        if woken {
            // Requests in, replies out: every one recorded, none lost.
            assert_eq!((echoes, lost), (2 * PINGS, 0));
        } else {
            // Undrained rings overflow: the losses are counted, not silent.
            assert!(
                lost > 0 && echoes < 2 * PINGS,
                "{echoes} echoes, {lost} lost"
            );
        }
    }
    drop(lab);
    assert_no_vigil_programs();
}
