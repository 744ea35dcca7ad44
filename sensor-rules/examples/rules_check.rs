//! `vigil rules check` as a standalone program, for trying the checker
//! without the sensor: `cargo run -p sensor-rules --example rules_check -- PATH...`.

use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    check: sensor_rules::cli::CheckArgs,
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    sensor_rules::cli::run_check(&Cli::parse().check)
}
