//! Rule variables (`$HOME_NET`, `$HTTP_PORTS`, ...): Suricata's defaults,
//! overridable per load.

use std::collections::BTreeMap;

/// Variable definitions, as Suricata group text (`[10.0.0.0/8,!10.1.0.0/16]`,
/// `!$HOME_NET`, `[80,8080]`).
///
/// ```
/// use sensor_rules::Vars;
/// let mut vars = Vars::suricata_defaults();
/// vars.set("HOME_NET", "[10.0.0.0/8]");
/// assert_eq!(vars.get("HOME_NET"), Some("[10.0.0.0/8]"));
/// assert_eq!(vars.get("EXTERNAL_NET"), Some("!$HOME_NET"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Vars {
    values: BTreeMap<String, String>,
}

/// The address and port groups of Suricata's default `suricata.yaml`.
const SURICATA_DEFAULTS: &[(&str, &str)] = &[
    ("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"),
    ("EXTERNAL_NET", "!$HOME_NET"),
    ("HTTP_SERVERS", "$HOME_NET"),
    ("SMTP_SERVERS", "$HOME_NET"),
    ("SQL_SERVERS", "$HOME_NET"),
    ("DNS_SERVERS", "$HOME_NET"),
    ("TELNET_SERVERS", "$HOME_NET"),
    ("AIM_SERVERS", "$EXTERNAL_NET"),
    ("DC_SERVERS", "$HOME_NET"),
    ("DNP3_SERVER", "$HOME_NET"),
    ("DNP3_CLIENT", "$HOME_NET"),
    ("MODBUS_CLIENT", "$HOME_NET"),
    ("MODBUS_SERVER", "$HOME_NET"),
    ("ENIP_CLIENT", "$HOME_NET"),
    ("ENIP_SERVER", "$HOME_NET"),
    ("HTTP_PORTS", "80"),
    ("SHELLCODE_PORTS", "!80"),
    ("ORACLE_PORTS", "1521"),
    ("SSH_PORTS", "22"),
    ("DNP3_PORTS", "20000"),
    ("MODBUS_PORTS", "502"),
    ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
    ("FTP_PORTS", "21"),
    ("GENEVE_PORTS", "6081"),
    ("VXLAN_PORTS", "4789"),
    ("TEREDO_PORTS", "3544"),
];

impl Vars {
    /// No variable defined.
    pub fn empty() -> Self {
        Vars::default()
    }

    /// Suricata's default address and port groups.
    pub fn suricata_defaults() -> Self {
        let mut v = Vars::empty();
        for (k, val) in SURICATA_DEFAULTS {
            v.set(k, val);
        }
        v
    }

    /// Defines or replaces a variable; a leading `$` in the name is ignored.
    pub fn set(&mut self, name: &str, value: &str) {
        let name = name.strip_prefix('$').unwrap_or(name);
        self.values
            .insert(name.to_string(), value.trim().to_string());
    }

    /// A variable's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Parses `NAME=VALUE` (the `--var` argument).
    pub fn parse_assignment(s: &str) -> Result<(String, String), String> {
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}` is not NAME=VALUE"))?;
        let name = name.trim().trim_start_matches('$');
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`{name}` is not a variable name"));
        }
        Ok((name.to_string(), value.trim().to_string()))
    }

    /// All definitions, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}
