//! Audit store benchmark: sustained insert throughput, then the latency of a
//! one-day, one-CIDR query.
//!
//! ```text
//! cargo run --release -p sensor-audit --example audit_bench -- [ALERTS] [DB]
//! ```
//!
//! ALERTS (default 1,000,000) alerts are spread over 30 days, from sources
//! drawn uniformly from 10.0.0.0/8 and destinations in 192.0.2.0/24, each an
//! HTTP alert of about 700 bytes of EVE JSON. Inserts go through
//! `AuditHandle::insert_alert`, exactly as the fan-out's audit sink does (EVE
//! serialization on the caller's thread, hashing and SQLite on the writer
//! thread); the clock stops when the last row is committed.

use std::time::{Duration, Instant};

use sensor_audit::{AlertFilter, AuditDb, AuditStore, Cidr};
use sensor_output::{Action, Alert, HttpInfo, Proto};
use time::macros::datetime;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .map(|s| s.replace('_', "").parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let path = args
        .next()
        .unwrap_or_else(|| "/tmp/vigil-audit-bench.db".to_string());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }

    let start = datetime!(2026-01-01 00:00 UTC);
    let span = time::Duration::days(30);
    let mut template = Alert::new(
        start,
        [10, 0, 0, 1].into(),
        [192, 0, 2, 1].into(),
        Proto::Tcp,
        2_010_000,
        "ET WEB_SERVER Possible SQL Injection Attempt UNION SELECT",
    );
    template.category = "Web Application Attack".into();
    template.severity = 1;
    template.app_proto = Some("http".into());
    template.in_iface = Some("eth0".into());
    template.community_id = Some("1:LQU9qZlK+B5F3KDmev6m5PMibrg=".into());
    template.http = Some(HttpInfo {
        hostname: Some("shop.example.com".into()),
        url: Some("/products.php?id=1%20UNION%20SELECT%20username,password%20FROM%20users".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) sqlmap/1.7".into()),
        method: Some("GET".into()),
        protocol: Some("HTTP/1.1".into()),
        status: Some(200),
        length: Some(5120),
        content_type: Some("text/html".into()),
        ..Default::default()
    });

    let store = AuditStore::open(&path)?;
    let cpu0 = process_cpu();
    let h = store.handle();
    let mut rng = Lcg(42);
    let t0 = Instant::now();
    let mut last_report = Instant::now();
    for i in 0..n {
        let mut a = template.clone();
        a.timestamp = start + span * (i as f64 / n as f64);
        a.src_ip = std::net::Ipv4Addr::from(0x0a00_0000 | (rng.next() as u32 & 0x00ff_ffff)).into();
        a.dst_ip = std::net::Ipv4Addr::from(0xc000_0200 | (rng.next() as u32 & 0xff)).into();
        a.src_port = Some(1024 + (rng.next() % 60000) as u16);
        a.dst_port = Some(80);
        a.flow_id = rng.next();
        a.sid = 2_010_000 + (rng.next() % 5000) as u32;
        a.action = if rng.next().is_multiple_of(10) {
            Action::Blocked
        } else {
            Action::Allowed
        };
        h.insert_alert(&a)?;
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "  {i} queued, {} committed, {:.0}/s",
                h.stats().rows,
                h.stats().rows as f64 / t0.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    h.flush()?;
    let insert = t0.elapsed();
    let cpu = process_cpu() - cpu0;
    let writer = h.stats().busy;
    store.close()?;
    let size: u64 = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{path}{s}")).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "inserted {n} alerts in {:.2} s wall: {:.0} alerts/s; store {:.2} GB",
        insert.as_secs_f64(),
        n as f64 / insert.as_secs_f64(),
        size as f64 / 1e9
    );
    println!(
        "  CPU: process {:.2} s ({:.1} us/alert), writer thread {:.2} s ({:.1} us/alert => {:.0} alerts/s on one free core), producer+generator {:.1} us/alert",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / n as f64,
        writer.as_secs_f64(),
        writer.as_secs_f64() * 1e6 / n as f64,
        n as f64 / writer.as_secs_f64(),
        (cpu - writer).as_secs_f64() * 1e6 / n as f64,
    );

    let db = AuditDb::open(&path)?;
    let mut rng = Lcg(7);
    let mut times = Vec::new();
    let mut rows = Vec::new();
    for _ in 0..20 {
        let day = start + time::Duration::days((rng.next() % 30) as i64);
        let net: Cidr = format!("10.{}.{}.0/24", rng.next() % 256, rng.next() % 256).parse()?;
        let f = AlertFilter {
            since: Some(day),
            until: Some(day + time::Duration::days(1)),
            src: Some(net),
            ..Default::default()
        };
        let t = Instant::now();
        let got = db.alerts(&f)?;
        times.push(t.elapsed());
        rows.push(got.len());
    }
    times.sort();
    println!(
        "one-day one-/24 query over {n} alerts: median {:.2} ms, max {:.2} ms ({}..={} rows returned)",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        rows.iter().min().unwrap(),
        rows.iter().max().unwrap()
    );
    let mut times = Vec::new();
    for _ in 0..5 {
        let day = start + time::Duration::days((rng.next() % 30) as i64);
        let net: Cidr = format!("10.{}.0.0/16", rng.next() % 256).parse()?;
        let f = AlertFilter {
            since: Some(day),
            until: Some(day + time::Duration::days(1)),
            src: Some(net),
            ..Default::default()
        };
        let t = Instant::now();
        let got = db.alerts(&f)?;
        times.push((t.elapsed(), got.len()));
    }
    times.sort();
    println!(
        "one-day one-/16 query: median {:.2} ms ({} rows)",
        times[2].0.as_secs_f64() * 1e3,
        times[2].1
    );
    let plan = db.query_plan(&AlertFilter {
        since: Some(start),
        until: Some(start + time::Duration::days(1)),
        src: Some("10.1.2.0/24".parse()?),
        ..Default::default()
    })?;
    println!("plan: {plan:?}");
    let t = Instant::now();
    let report = db.verify()?;
    println!(
        "verify: {} rows in {:.2} s, ok = {}",
        report.rows,
        t.elapsed().as_secs_f64(),
        report.ok()
    );
    Ok(())
}

/// User + system CPU time of this process.
fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
