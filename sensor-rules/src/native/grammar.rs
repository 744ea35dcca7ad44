//! The pest parser generated from `grammar/native.pest`.

/// Parser for the native rule language.
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/native.pest"]
pub struct NativeParser;
