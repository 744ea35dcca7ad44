//! `vigil rules check` on drop rules: how IPS mode enforces each, and what
//! of their patterns fits the kernel's automaton.

use std::process::Command;

use serde_json::Value;

fn vigil_check(rules: &str, args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ips.rules");
    std::fs::write(&path, rules).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["rules", "check"])
        .args(args)
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

const RULES: &str = "\
drop http any any -> any any (msg:\"passwd\"; flow:to_server; http.uri; content:\"/etc/passwd\"; sid:1;)
drop ip 10.9.0.0/16 any -> any any (msg:\"net\"; sid:2;)
drop http any any -> any any (msg:\"status\"; http.stat_code; content:\"500\"; sid:3;)
alert http any any -> any any (msg:\"not a drop rule\"; content:\"abcd\"; sid:4;)
";

#[test]
fn the_report_says_how_each_drop_rule_is_enforced() {
    let (ok, text) = vigil_check(RULES, &["-v"]);
    assert!(ok, "{text}");
    assert!(
        text.contains(
            "IPS (--ips): 3 drop rules: 1 by address block, 0 by port block, \
             1 by first-packet pattern, 1 by flow verdict only"
        ),
        "{text}"
    );
    assert!(
        text.contains("    sid 1: first-packet pattern \"/etc/passwd\" (http.uri, any %-encoding)")
    );
    assert!(text.contains("    sid 2: address block: from 10.9.0.0/16"));
    assert!(text.contains("    sid 3: flow verdict only:"));
    assert!(!text.contains("sid 4:"), "alert rules are not listed");
    assert!(text.contains("pattern automaton: "), "{text}");

    let (ok, json) = vigil_check(RULES, &["--json"]);
    assert!(ok);
    let doc: Value = serde_json::from_str(&json).unwrap();
    let ips = &doc["ips"];
    assert_eq!(ips["drop_rules"], 3);
    assert_eq!(ips["by_enforcement"]["pattern"], 1);
    assert_eq!(ips["patterns"], 1);
    assert_eq!(ips["patterns_in_kernel"], 1);
    let transitions = ips["automaton"]["transitions"].as_u64().unwrap();
    assert!(transitions > 0 && transitions <= ips["automaton"]["limit"].as_u64().unwrap());
    assert_eq!(ips["rules"][0]["enforcement"], "pattern");
}

#[test]
fn without_drop_rules_there_is_no_ips_section() {
    let (ok, text) = vigil_check(
        "alert http any any -> any any (msg:\"x\"; content:\"abcd\"; sid:4;)\n",
        &[],
    );
    assert!(ok);
    assert!(!text.contains("IPS"), "{text}");
}

/// More patterns than the kernel's table holds: the shortest go in, the
/// rest are reported as enforced by flow verdict, and the check passes (IPS
/// mode runs with this set).
#[test]
fn patterns_that_do_not_fit_are_reported() {
    let mut rules = String::new();
    for i in 0..6000u32 {
        // Distinct 12-byte URI literals: each about 40 states of ~40 classes.
        rules.push_str(&format!(
            "drop http any any -> any any (msg:\"r{i}\"; http.uri; content:\"/x{:010x}\"; sid:{};)\n",
            u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 24,
            100 + i
        ));
    }
    let (ok, json) = vigil_check(&rules, &["--json"]);
    assert!(ok);
    let doc: Value = serde_json::from_str(&json).unwrap();
    let ips = &doc["ips"];
    let kept = ips["patterns_in_kernel"].as_u64().unwrap();
    assert_eq!(ips["patterns"], 6000);
    assert!(kept > 100 && kept < 6000, "{kept}");
    assert_eq!(ips["by_enforcement"]["pattern"].as_u64().unwrap(), kept);
    assert_eq!(
        ips["by_enforcement"]["flow-verdict"].as_u64().unwrap(),
        6000 - kept
    );
    assert!(
        ips["automaton"]["transitions"].as_u64().unwrap()
            <= ips["automaton"]["limit"].as_u64().unwrap()
    );
    let units = ips["automaton"]["row_units"].as_u64().unwrap();
    assert!(units > 0 && units <= ips["automaton"]["row_unit_limit"].as_u64().unwrap());
    let (_, text) = vigil_check(&rules, &[]);
    assert!(
        text.contains(&format!(
            "{} of 6000 patterns do not fit the kernel's automaton",
            6000 - kept
        )),
        "{text}"
    );
}

/// Drop-rule patterns of 6 bytes or more, none of the decoded URI, get a
/// gram filter sampling every `shortest - 3` bytes; one short pattern takes
/// it away, and both are reported.
#[test]
fn the_gram_filter_is_reported() {
    let long = "drop tcp any any -> any any (msg:\"a\"; content:\"evil-payload-1\"; sid:1;)\n\
                drop tcp any any -> any any (msg:\"b\"; content:\"another-bad\"; nocase; sid:2;)\n";
    let (ok, json) = vigil_check(long, &["--json"]);
    assert!(ok);
    let doc: Value = serde_json::from_str(&json).unwrap();
    // "another-bad" is 11 bytes: 8 windows apart, every occurrence holds one.
    assert_eq!(doc["ips"]["automaton"]["gram_stride"], 8);
    let fill = doc["ips"]["automaton"]["gram_fill"].as_f64().unwrap();
    assert!(fill > 0.0 && fill < 0.001, "{fill}");
    let (_, text) = vigil_check(long, &[]);
    assert!(
        text.contains("samples a 4-byte window every 8 bytes"),
        "{text}"
    );

    let short =
        format!("{long}drop tcp any any -> any any (msg:\"c\"; content:\"abcde\"; sid:3;)\n");
    let (ok, json) = vigil_check(&short, &["--json"]);
    assert!(ok);
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert!(doc["ips"]["automaton"]["gram_stride"].is_null());
    let (_, text) = vigil_check(&short, &[]);
    assert!(text.contains("gram filter: none"), "{text}");
}
