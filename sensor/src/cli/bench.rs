//! `vigil bench`: measurements with the real kernel program in the lab.

use std::{process::ExitCode, time::Duration};

use crate::{bench::enforce::EnforceBench, lab::Lab};

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// What in-kernel enforcement costs per packet (BPF_PROG_TEST_RUN on
    /// fixed frames, kernel BPF statistics under live lab load) and what it
    /// does to request throughput, for IDS, IPS without blocks, and IPS with
    /// in-kernel patterns. Brings up its own lab and removes it.
    Enforce(EnforceArgs),
}

#[derive(Debug, clap::Args)]
pub struct EnforceArgs {
    /// Numbers of in-kernel patterns to measure (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    pub patterns: Vec<usize>,
    /// Live rounds; each runs every configuration once, interleaved.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Seconds of each load period: per configuration and round, one
    /// without any program, one as deployed (throughput) and one with
    /// kernel BPF statistics (ns).
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// Concurrent keep-alive client connections. Enough to keep the CPUs
    /// busy, so that throughput shows what the program costs: with one or
    /// two, a request-response loop is bound by wake-up latency, which the
    /// attached sensor's polling reader even shortens (shallower idle
    /// states), and the unfiltered run comes out slowest.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Only the fixed-frame timing (no live load).
    #[arg(long, conflicts_with = "live_only")]
    pub fixed_only: bool,
    /// Only the live load (no fixed frames).
    #[arg(long)]
    pub live_only: bool,
    /// Load the program with header-only capture on, as `vigil run` does by
    /// default: a TCP record with payload outside a known body then wakes
    /// the reader at once, and each TCP payload packet looks up its body
    /// region. (The bench sets no regions: user space's part of header-only
    /// capture is not measured here.)
    #[arg(long)]
    pub header_only: bool,
    /// Also measure the kernel block set of these rule files (repeatable):
    /// their drop rules' patterns, address and port blocks, fitted to the
    /// kernel's automaton as `vigil run --ips` fits them.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<std::path::PathBuf>,
    /// Name of the lab to create (and remove) for the measurement.
    #[arg(long, default_value = "vigil-bench")]
    pub lab: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: &BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Enforce(args) => enforce(args),
    }
}

fn enforce(args: &EnforceArgs) -> anyhow::Result<ExitCode> {
    if !(args.seconds > 0.0 && args.seconds <= 3600.0) {
        anyhow::bail!("--seconds must be between 0 and 3600");
    }
    if args.rounds == 0 || args.clients == 0 {
        anyhow::bail!("--rounds and --clients must be at least 1");
    }
    let mut rule_sets = Vec::new();
    if !args.rules.is_empty() {
        let loaded = sensor_pipeline::load_rules(&args.rules, &[]);
        let (set, kernel) = crate::daemon::blocks::kernel_blocks(&loaded.rules);
        let name = args
            .rules
            .iter()
            .map(|p| p.file_name().unwrap_or(p.as_os_str()).to_string_lossy())
            .collect::<Vec<_>>()
            .join("+");
        eprintln!(
            "{name}: {} rules, {} drop-rule patterns ({} in the kernel), {} address and {} port blocks",
            loaded.rules.len(),
            kernel.total,
            kernel.kept,
            set.cidrs.len(),
            set.ports.len()
        );
        rule_sets.push((format!("IPS, {name}"), set));
    }
    let bench = EnforceBench {
        lab: Lab::new(&args.lab),
        patterns: args.patterns.clone(),
        rounds: args.rounds,
        period: Duration::from_secs_f64(args.seconds),
        clients: args.clients,
        fixed: !args.live_only,
        live: !args.fixed_only,
        header_only: args.header_only,
        rule_sets,
        ..EnforceBench::default()
    };
    let report = bench.run()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}
