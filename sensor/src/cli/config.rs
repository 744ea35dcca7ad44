//! `vigil config check`: validate a configuration file.

use std::{path::PathBuf, process::ExitCode};

use crate::config::Config;

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file; print each problem as FILE:LINE:COLUMN: message.
    Check {
        /// The TOML file.
        file: PathBuf,
        /// Print the effective configuration (defaults filled in) when valid.
        #[arg(long)]
        show: bool,
    },
}

pub fn run(cmd: &ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Check { file, show } => match Config::load(file) {
            Ok(config) => {
                if *show {
                    println!("{config:#?}");
                }
                eprintln!("{}: ok", file.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(errors) => {
                for e in &errors {
                    eprintln!("{e}");
                }
                Ok(ExitCode::FAILURE)
            }
        },
    }
}
