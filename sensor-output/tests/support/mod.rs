//! Helpers shared by the integration tests (and included by sensor-audit's
//! tests through `#[path]`).
#![allow(dead_code)]

pub mod rsyslog;
pub mod sample;
pub mod schema;
