//! `vigil run`: the live sensor.

use std::{path::PathBuf, process::ExitCode};

use crate::{
    config::Config,
    daemon::{self, RunOptions},
};
use sensor_pipeline::parse_var;

/// Run the sensor on live traffic: kernel capture, detection, outputs.
/// Without arguments it uses the built-in defaults: every interface that is
/// up, the shipped rules, EVE to /var/log/vigil/eve.json and the audit store
/// in /var/lib/vigil/audit.db.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Interface to capture on (repeatable); overrides the configuration.
    #[arg(long = "iface", short = 'i')]
    pub ifaces: Vec<String>,
    /// Rule files or directories (repeatable); override the configuration.
    #[arg(long = "rules", short = 'r')]
    pub rules: Vec<PathBuf>,
    /// Configuration file (TOML).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Enforce drop rules in the kernel (IPS mode).
    #[arg(long)]
    pub ips: bool,
    /// EVE JSON output file; overrides the configuration.
    #[arg(long)]
    pub eve: Option<PathBuf>,
    /// Audit store; overrides the configuration.
    #[arg(long)]
    pub audit: Option<PathBuf>,
    /// Status file for `vigil stats` and `vigil reload`; overrides the configuration.
    #[arg(long)]
    pub stats: Option<PathBuf>,
    /// Serve Prometheus metrics on this address; overrides the configuration.
    #[arg(long)]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Copy every packet's payload to user space (turns header-only capture off).
    #[arg(long)]
    pub full_capture: bool,
    /// Log every HTTP transaction to EVE.
    #[arg(long)]
    pub http_log: bool,
    /// Set a rule variable, e.g. --var HOME_NET=[10.0.0.0/8]; repeatable.
    #[arg(long = "var", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(c) => c,
            Err(errors) => {
                for e in &errors {
                    eprintln!("{e}");
                }
                return Ok(ExitCode::FAILURE);
            }
        },
        None => Config::default(),
    };
    if !args.ifaces.is_empty() {
        config.capture.interfaces = args.ifaces.clone();
    }
    if !args.rules.is_empty() {
        config.rules.paths = args.rules.clone();
    }
    config.ips |= args.ips;
    if args.full_capture {
        config.capture.header_only = false;
    }
    config.eve.http_log |= args.http_log;
    if let Some(p) = &args.eve {
        config.eve.path = Some(p.clone());
    }
    if let Some(p) = &args.audit {
        config.audit.path = Some(p.clone());
    }
    if let Some(p) = &args.stats {
        config.stats.path = Some(p.clone());
    }
    if let Some(a) = args.metrics_listen {
        config.stats.listen = Some(a);
    }
    for (k, v) in &args.vars {
        config.rules.vars.insert(k.clone(), v.clone());
    }
    daemon::run(RunOptions {
        config,
        config_path: args.config.clone(),
    })
}
