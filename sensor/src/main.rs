//! `vigil`: the network security sensor's command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vigil::cli;

#[derive(Debug, Parser)]
#[command(
    name = "vigil",
    version,
    about = "Vigil network security sensor (IDS/IPS)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the packet records the kernel program hands over, like tcpdump.
    Capture(cli::capture::CaptureArgs),
    /// Manage the two-namespace lab network used by tests and the demo.
    Lab(cli::lab::LabArgs),
    /// Run the sensor on live traffic (kernel capture, rules, outputs).
    Run(cli::run::RunArgs),
    /// Show the running sensor's counters (losses, evictions, gaps, outputs).
    Stats(cli::stats::StatsArgs),
    /// Make the running sensor reload its rules and reopen its outputs.
    Reload(cli::stats::ReloadArgs),
    /// Replay capture files through the pipeline and rules.
    Replay(cli::replay::ReplayArgs),
    /// Query and verify the audit store.
    #[command(subcommand)]
    Audit(sensor_audit::cli::AuditCommand),
    /// Validate a configuration file.
    #[command(subcommand)]
    Config(cli::config::ConfigCommand),
    /// Work with rule files: check them.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Measure with the real kernel program in a lab of its own.
    #[command(subcommand)]
    Bench(cli::bench::BenchCommand),
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Parse, validate and compile rule files; report what loads and why the rest does not.
    Check(sensor_rules::cli::CheckArgs),
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_target(false)
        .init();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Capture(args) => cli::capture::run(args),
        Command::Lab(args) => cli::lab::run(args),
        Command::Replay(args) => cli::replay::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Stats(args) => cli::stats::stats(args),
        Command::Reload(args) => cli::stats::reload(args),
        Command::Rules(RulesCommand::Check(args)) => cli::rules::check(args),
        Command::Audit(cmd) => sensor_audit::cli::run(cmd),
        Command::Config(cmd) => cli::config::run(cmd),
        Command::Bench(cmd) => cli::bench::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vigil: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
