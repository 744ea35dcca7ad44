//! The pest parser generated from `grammar/suricata.pest`.

/// Parser for Suricata rules, address/port groups and variable values.
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/suricata.pest"]
pub struct SuricataParser;
