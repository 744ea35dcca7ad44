//! The sensor's configuration file (TOML), with built-in defaults for every
//! setting so that `vigil run` with no file at all does something useful.
//!
//! ```toml
//! [capture]
//! interfaces = ["eth0"]
//! snaplen = 2048
//! header_only = true   # bodies stay in the kernel
//!
//! [rules]
//! paths = ["/etc/vigil/rules"]
//! vars = { HOME_NET = "[10.0.0.0/8]" }
//!
//! ips = false
//!
//! [eve]
//! path = "/var/log/vigil/eve.json"
//! http_log = true
//!
//! [[syslog]]
//! transport = "udp"            # udp | tcp | unix
//! address = "127.0.0.1:514"    # host:port, or a socket path for unix
//! format = "rfc5424"           # rfc5424 | rfc3164
//! body = "eve"                 # eve | cef
//!
//! [audit]
//! path = "/var/lib/vigil/audit.db"
//! flush_interval_ms = 500
//!
//! [stats]
//! path = "/var/lib/vigil/stats.json"   # read by `vigil stats` and `vigil reload`
//! listen = "127.0.0.1:9464"            # Prometheus text at /metrics (off by default)
//! interval_ms = 1000
//! ```

use std::{
    collections::BTreeMap,
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::Deserialize;

/// Where Vigil keeps its state when nothing else is configured.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/vigil";
/// Where the default EVE log goes.
pub const DEFAULT_LOG_DIR: &str = "/var/log/vigil";

/// The whole configuration.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Enforce drop rules in the kernel (IPS) instead of only alerting (IDS).
    pub ips: bool,
    pub capture: CaptureSection,
    pub rules: RulesSection,
    pub eve: EveSection,
    pub syslog: Vec<SyslogSection>,
    pub audit: AuditSection,
    pub limits: LimitsSection,
    pub stats: StatsSection,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StatsSection {
    /// Status file `vigil stats` and `vigil reload` read; `None` turns it off.
    pub path: Option<PathBuf>,
    /// Serve the counters as Prometheus text on this address (`/metrics`).
    pub listen: Option<SocketAddr>,
    /// How often the status file is rewritten.
    pub interval_ms: u64,
}

impl Default for StatsSection {
    fn default() -> Self {
        StatsSection {
            path: Some(Path::new(DEFAULT_DATA_DIR).join("stats.json")),
            listen: None,
            interval_ms: 1000,
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureSection {
    /// Interfaces to attach to (ingress and egress).
    pub interfaces: Vec<String>,
    /// Payload bytes the kernel copies per packet (at most 4096).
    pub snaplen: u32,
    /// Bytes of each ring buffer, one per CPU up to 8 (a power of two).
    pub ring_bytes: u32,
    /// Header-only capture: once a message's headers are parsed, the kernel
    /// sends the packets of its body without payload (see ARCHITECTURE.md).
    pub header_only: bool,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RulesSection {
    /// Rule files or directories.
    pub paths: Vec<PathBuf>,
    /// Rule variables (`HOME_NET`, `HTTP_PORTS`, ...).
    pub vars: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EveSection {
    /// EVE JSON file; `None` turns EVE output off.
    pub path: Option<PathBuf>,
    /// Also log every HTTP transaction (`event_type: http`).
    pub http_log: bool,
    /// Headers whose values are masked in logs (replaces the default list).
    pub masked_headers: Option<Vec<String>>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SyslogTransport {
    Udp,
    Tcp,
    Unix,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SyslogFormat {
    Rfc5424,
    Rfc3164,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SyslogBody {
    Eve,
    Cef,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SyslogSection {
    pub transport: SyslogTransport,
    /// `host:port` for udp and tcp, a socket path for unix.
    pub address: String,
    #[serde(default = "default_syslog_format")]
    pub format: SyslogFormat,
    #[serde(default = "default_syslog_body")]
    pub body: SyslogBody,
}

fn default_syslog_format() -> SyslogFormat {
    SyslogFormat::Rfc5424
}

fn default_syslog_body() -> SyslogBody {
    SyslogBody::Eve
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSection {
    /// SQLite audit store; `None` turns it off (not recommended).
    pub path: Option<PathBuf>,
    /// Longest time an alert waits before it is committed.
    pub flush_interval_ms: u64,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Flows tracked at once; the oldest are evicted past it.
    pub max_flows: usize,
    /// Bytes of flow state (reassembly buffers included) before eviction.
    pub flow_memcap: usize,
}

impl Default for CaptureSection {
    fn default() -> Self {
        CaptureSection {
            interfaces: Vec::new(),
            snaplen: sensor_common::record::DEFAULT_SNAPLEN,
            ring_bytes: 8 << 20,
            header_only: true,
        }
    }
}

impl Default for RulesSection {
    fn default() -> Self {
        RulesSection {
            paths: vec![default_rules_dir()],
            vars: BTreeMap::new(),
        }
    }
}

impl Default for EveSection {
    fn default() -> Self {
        EveSection {
            path: Some(Path::new(DEFAULT_LOG_DIR).join("eve.json")),
            http_log: false,
            masked_headers: None,
        }
    }
}

impl Default for AuditSection {
    fn default() -> Self {
        AuditSection {
            path: Some(Path::new(DEFAULT_DATA_DIR).join("audit.db")),
            flush_interval_ms: 500,
        }
    }
}

impl Default for LimitsSection {
    fn default() -> Self {
        let flow = sensor_proto::FlowConfig::default();
        LimitsSection {
            max_flows: flow.max_flows,
            flow_memcap: flow.memcap,
        }
    }
}

/// The shipped ruleset: `rules/` of the source tree `vigil` was built from,
/// or `/usr/share/vigil/rules` for an installed copy.
pub fn default_rules_dir() -> PathBuf {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    if built.is_dir() {
        built
    } else {
        PathBuf::from("/usr/share/vigil/rules")
    }
}

/// A configuration problem, located in the file when it can be.
#[derive(Debug)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file.display(), self.message),
            _ => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ConfigError {
                file: path.into(),
                line: None,
                column: None,
                message: e.to_string(),
            }]
        })?;
        Config::parse(path, &text)
    }

    /// Parses and validates `text` (named `path` in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Config, Vec<ConfigError>> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    (Some(line), Some(column))
                }
                None => (None, None),
            };
            vec![ConfigError {
                file: path.into(),
                line,
                column,
                message: e.message().to_string(),
            }]
        })?;
        let problems = config.validate();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems
                .into_iter()
                .map(|message| ConfigError {
                    file: path.into(),
                    line: None,
                    column: None,
                    message,
                })
                .collect())
        }
    }

    /// Checks what the types cannot: ranges, addresses, paths.
    pub fn validate(&self) -> Vec<String> {
        let mut out = Vec::new();
        let max = sensor_common::record::MAX_SNAPLEN as u32;
        if self.capture.snaplen > max {
            out.push(format!(
                "capture.snaplen {} exceeds {max}",
                self.capture.snaplen
            ));
        }
        if self.capture.ring_bytes < 4096 || !self.capture.ring_bytes.is_power_of_two() {
            out.push(format!(
                "capture.ring_bytes {} must be a power of two of at least 4096",
                self.capture.ring_bytes
            ));
        }
        for p in &self.rules.paths {
            if !p.exists() {
                out.push(format!("rules.paths: {} does not exist", p.display()));
            }
        }
        for (i, s) in self.syslog.iter().enumerate() {
            if s.transport != SyslogTransport::Unix && s.address.parse::<SocketAddr>().is_err() {
                out.push(format!(
                    "syslog[{i}].address {:?} is not an IP:port",
                    s.address
                ));
            }
        }
        if self.stats.interval_ms == 0 {
            out.push("stats.interval_ms must be at least 1".into());
        }
        if self.limits.max_flows == 0 {
            out.push("limits.max_flows must be at least 1".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_means_the_defaults() {
        let c = Config::parse(Path::new("vigil.toml"), "").unwrap();
        assert_eq!(c, Config::default());
        assert!(!c.ips);
        assert_eq!(
            c.eve.path.as_deref(),
            Some(Path::new("/var/log/vigil/eve.json"))
        );
        assert!(c.rules.paths[0].ends_with("rules"));
    }

    #[test]
    fn a_full_file_parses() {
        let text = r#"
ips = true
[capture]
interfaces = ["eth0", "eth1"]
snaplen = 1024
[rules]
vars = { HOME_NET = "[10.0.0.0/8]" }
[eve]
path = "/tmp/eve.json"
http_log = true
masked_headers = ["authorization", "x-api-key"]
[[syslog]]
transport = "tcp"
address = "127.0.0.1:6514"
body = "cef"
[audit]
path = "/tmp/audit.db"
flush_interval_ms = 200
[stats]
path = "/tmp/stats.json"
listen = "127.0.0.1:9464"
"#;
        let c = Config::parse(Path::new("vigil.toml"), text).unwrap();
        assert!(c.ips);
        assert_eq!(c.capture.interfaces, ["eth0", "eth1"]);
        assert_eq!(c.syslog[0].body, SyslogBody::Cef);
        assert_eq!(c.syslog[0].format, SyslogFormat::Rfc5424);
        assert_eq!(c.rules.vars["HOME_NET"], "[10.0.0.0/8]");
        assert_eq!(c.audit.flush_interval_ms, 200);
        assert_eq!(c.stats.listen, Some("127.0.0.1:9464".parse().unwrap()));
    }

    #[test]
    fn errors_point_at_the_line_and_column() {
        let text = "[capture]\nsnaplen = 1024\nsnaplenn = 5\n";
        let errs = Config::parse(Path::new("vigil.toml"), text).unwrap_err();
        let shown = errs[0].to_string();
        assert!(
            shown.starts_with("vigil.toml:3:1: unknown field `snaplenn`"),
            "{shown}"
        );

        let errs =
            Config::parse(Path::new("v.toml"), "[capture]\nsnaplen = \"big\"\n").unwrap_err();
        assert!(
            errs[0].to_string().starts_with("v.toml:2:11: invalid type"),
            "{}",
            errs[0]
        );
    }

    #[test]
    fn validation_reports_every_problem() {
        let text = "[capture]\nsnaplen = 9000\nring_bytes = 5000\n[[syslog]]\ntransport = \"udp\"\naddress = \"nowhere\"\n[rules]\npaths = [\"/no/such/rules\"]\n";
        let errs = Config::parse(Path::new("v.toml"), text).unwrap_err();
        let all: Vec<String> = errs.iter().map(|e| e.message.clone()).collect();
        assert_eq!(all.len(), 4, "{all:?}");
        assert!(all[0].contains("snaplen 9000 exceeds 4096"));
        assert!(all[1].contains("ring_bytes 5000"));
        assert!(all[2].contains("/no/such/rules does not exist"));
        assert!(all[3].contains("\"nowhere\" is not an IP:port"));
    }
}
