//! Replays capture files through decoding, flows and parsers and prints the
//! counters: `cargo run --release -p sensor-proto --example replay_summary -- FILE...`
//! Add `--midstream` to inspect flows picked up without a handshake,
//! `--no-checksum-checks` to skip checksum verification, `-v` to print
//! every transaction.

use std::time::Instant;

use sensor_packet::{CaptureReader, DecodeOptions, Decoder};
use sensor_proto::{Buffer, Driver, DriverConfig, Event};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let midstream = args.iter().any(|a| a == "--midstream");
    let no_checksums = args.iter().any(|a| a == "--no-checksum-checks");
    let verbose = args.iter().any(|a| a == "-v");
    let mut config = DriverConfig::default();
    config.flow.midstream = midstream;
    let options = DecodeOptions {
        verify_checksums: !no_checksums,
        ..DecodeOptions::default()
    };
    for path in args.iter().filter(|a| !a.starts_with('-')) {
        let start = Instant::now();
        let mut reader = CaptureReader::open(path)?;
        let mut decoder = Decoder::new(options);
        let mut driver = Driver::new(config);
        let mut sink = |e: &Event<'_>| {
            if !verbose {
                return;
            }
            let show = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or(b"-")).into_owned();
            match e {
                Event::HttpRequest { flow, .. } => println!(
                    "http  {} {} {} host={}",
                    flow.id,
                    show(e.buffer(Buffer::HttpMethod)),
                    show(e.buffer(Buffer::HttpUriRaw)),
                    show(e.buffer(Buffer::HttpHost))
                ),
                Event::HttpResponse { flow, response, .. } => {
                    println!(
                        "resp  {} {} {}",
                        flow.id,
                        response.status_code,
                        show(e.buffer(Buffer::HttpUri))
                    )
                }
                Event::TlsClientHello { flow, hello } => println!(
                    "tls   {} sni={} ja3={} ja4={}",
                    flow.id,
                    show(hello.sni.as_deref()),
                    hello.ja3_hash,
                    hello.ja4
                ),
                Event::Dns { flow, message, .. } => println!(
                    "dns   {} {} {} {:?}",
                    flow.id,
                    if message.is_response {
                        "response"
                    } else {
                        "query"
                    },
                    show(message.query()),
                    message.questions.first().map(|q| q.qtype)
                ),
                Event::Anomaly { flow, anomaly, .. } => {
                    println!("anom  {} {}", flow.id, anomaly.name())
                }
                _ => {}
            }
        };
        let mut read_error = None;
        loop {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    if let Ok(Some(packet)) = decoder.decode(&frame) {
                        driver.process(&packet, &mut sink);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
        }
        driver.finish(&mut sink);
        let elapsed = start.elapsed();
        let c = driver.counters();
        println!("{path}: {:#?}", c);
        println!("decoder: {:?}", decoder.stats());
        println!(
            "{:.3} s, {:.0} packets/s{}",
            elapsed.as_secs_f64(),
            c.packets as f64 / elapsed.as_secs_f64(),
            read_error
                .map(|e| format!(", ended with: {e}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}
