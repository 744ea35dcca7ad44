//! The `vigil` command line: one module per subcommand.

pub mod capture;
pub mod lab;
pub mod signals;
