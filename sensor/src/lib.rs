//! Vigil, a network security sensor: kernel capture, detection and outputs.
//!
//! This crate is the user-space daemon and the `vigil` command. The pipeline's
//! stages live in their own crates (`sensor-packet`, `sensor-proto`,
//! `sensor-rules`, `sensor-output`, `sensor-audit`); this crate loads the
//! kernel programs, reads what they hand over, and drives the stages.

pub mod bench;
pub mod capture;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod enforce;
pub mod lab;
