//! The `vigil` command line: one module per subcommand.

pub mod bench;
pub mod capture;
pub mod config;
pub mod lab;
pub mod replay;
pub mod rules;
pub mod run;
pub mod signals;
pub mod stats;
