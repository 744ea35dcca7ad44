//! `vigil replay`: capture files through the same pipeline as live capture.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use sensor_output::{EveFileSink, EveFormatter, EveStdoutSink, HeaderMask};
use sensor_proto::{ChecksumPolicy, DriverConfig};

use sensor_pipeline::{
    Detector, Mode, Pipeline, ReplayOptions, Synchronous, compile_rules, parse_var, replay_files,
};

/// Replay capture files (pcap, pcapng) through decoding, flows, parsers and
/// rules, deterministically (time comes from the capture).
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Capture files, replayed in order as one stream.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Rule files or directories (.rules, .vigil); repeatable. Without any,
    /// packets are parsed and logged but not matched.
    #[arg(long = "rules", short = 'r')]
    pub rules: Vec<PathBuf>,
    /// Write EVE JSON records to this file ("-" for standard output).
    #[arg(long)]
    pub eve: Option<PathBuf>,
    /// Also write an EVE `http` record per HTTP transaction (the header log).
    #[arg(long)]
    pub http_log: bool,
    /// Inspect packets whatever their checksums (captures taken on a host
    /// with checksum offload have bad ones on every sent packet).
    #[arg(long)]
    pub no_checksum_checks: bool,
    /// Pick up TCP flows whose handshake is not in the capture.
    #[arg(long)]
    pub midstream: bool,
    /// Set a rule variable, e.g. --var HOME_NET=[10.0.0.0/8]; repeatable.
    #[arg(long = "var", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Report drop rules as blocked (IPS mode) instead of allowed.
    #[arg(long)]
    pub ips: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let detector = if args.rules.is_empty() {
        log::info!("no --rules given: parsing and logging only");
        None
    } else {
        let (rules, loaded) = compile_rules(&args.rules, &args.vars)?;
        for d in &loaded.diagnostics {
            if d.level != sensor_rules::diag::Level::Note {
                eprintln!("{d}");
            }
        }
        eprintln!("vigil: {} rules loaded", loaded.rules_loaded);
        let mode = if args.ips { Mode::Ips } else { Mode::Ids };
        Some(Detector::new(rules, mode))
    };

    let mut outputs = Synchronous::default();
    let formatter = EveFormatter::new(HeaderMask::default());
    match &args.eve {
        Some(p) if p.as_os_str() == "-" => outputs = outputs.sink(EveStdoutSink::new(formatter)),
        Some(p) => {
            let sink = EveFileSink::open(p, formatter)
                .with_context(|| format!("opening {}", p.display()))?;
            outputs = outputs.sink(sink);
        }
        None => {}
    }

    let mut config = DriverConfig::default();
    config.flow.midstream = args.midstream;
    if args.no_checksum_checks {
        config.checksums = ChecksumPolicy::Ignore;
    }
    let mut pipeline = Pipeline::new(config, detector, outputs).with_http_log(args.http_log);
    let options = ReplayOptions {
        verify_checksums: !args.no_checksum_checks,
        ..ReplayOptions::default()
    };
    let summary = replay_files(&args.files, &mut pipeline, &options);
    let mut outputs = pipeline.into_outputs();
    outputs.flush();
    for (sink, err) in &outputs.failures {
        eprintln!("vigil: {sink}: {err}");
    }
    if args.json {
        eprintln!("{}", serde_json::json!({ "summary": summary }));
    } else {
        eprintln!("{summary}");
    }
    let failed = !summary.unreadable_files.is_empty() || !outputs.failures.is_empty();
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
