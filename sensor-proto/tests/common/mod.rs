//! Shared test material.

pub mod edge;
