//! Every file in the repository's `rules/` loads with no error and no
//! warning.

use std::path::PathBuf;

use sensor_rules::{Level, LoadOptions, RuleSet};

#[test]
fn shipped_rulesets_load_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rules");
    let (set, diags) = RuleSet::load(
        std::slice::from_ref(&dir),
        &LoadOptions::default().strict(true),
    );
    let problems: Vec<String> = diags
        .iter()
        .filter(|d| d.level != Level::Note)
        .map(|d| d.to_string())
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert!(!set.files().is_empty());
    for f in set.files() {
        let text = std::fs::read_to_string(&f.path).unwrap();
        let declared = text
            .lines()
            .filter(|l| l.trim_start().starts_with("rule "))
            .count()
            + text
                .lines()
                .filter(|l| {
                    let t = l.trim_start();
                    ["alert ", "drop ", "pass ", "reject "]
                        .iter()
                        .any(|a| t.starts_with(a))
                })
                .count();
        assert_eq!(f.loaded, declared, "{}", f.path.display());
        assert_eq!(f.skipped, 0);
    }
}

#[test]
fn default_ruleset_covers_issue_8() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rules/default.vigil");
    let (set, _) = RuleSet::load(&[path], &LoadOptions::default());
    assert!(set.len() >= 16);
    let msgs: Vec<String> = set.rules().iter().map(|r| r.msg.to_lowercase()).collect();
    for topic in [
        "log4shell",
        "shellshock",
        "sql injection",
        "path traversal",
        "scanner",
        "basic",
        "trace",
        "syn and fin",
        "null",
        "xmas",
        "port scan",
        "syn flood",
        "long name",
        "random",
        "sni",
    ] {
        assert!(
            msgs.iter().any(|m| m.contains(topic)),
            "no default rule about {topic}"
        );
    }
}
