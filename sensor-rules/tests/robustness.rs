//! Malformed input is an error value, never a panic: every prefix-cut of
//! real rules, and byte-level corruptions, go through both front ends.

use sensor_rules::{LoadOptions, RuleSet};

const SURICATA: &[&str] = &[
    r#"alert http $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (msg:"ET x \"q\""; flow:established,to_server; http.uri; content:"/a|20 2f|b"; nocase; depth:10; pcre:"/^\/a[^\x22']{2,}\d+$/Ri"; isdataat:!1,relative; threshold: type limit, track by_src, count 1, seconds 60; reference:url,x.y/z; classtype:trojan-activity; sid:2000001; rev:3; metadata:created_at 2020_01_01;)"#,
    r#"alert tcp [10.0.0.0/8,!10.1.0.0/16,2001:db8::/32] ![80,1024:] <> any :1023 (flags:SA,12; ttl:1<>10; content:!"x"; distance:-2; within:5; fast_pattern:0,1; sid:1;)"#,
];

const NATIVE: &str = r#"vars { A = [10.0.0.0/8]  P = [80, 8000:8099] }
rule 1 rev 2 "m \"x\"" { severity high tags [a, b] references ["cve,1"] action drop
  when (http.uri contains "a\x41" nocase or not ip.src in $A) and any(http.header.value) matches /x{2}\/y/i
   and tcp.dst_port in $P and tcp.flags has [syn, fin] and http.header["h"] startswith "B"
  threshold distinct tcp.dst_port > 20 within 10s by ip.src }
"#;

fn load_all(name: &str, text: &str) {
    let _ = RuleSet::load_str(name, text, &LoadOptions::default());
}

#[test]
fn every_prefix_of_a_rule_is_handled() {
    for rule in SURICATA {
        for cut in (0..=rule.len()).filter(|c| rule.is_char_boundary(*c)) {
            load_all("t.rules", &rule[..cut]);
        }
    }
    for cut in (0..=NATIVE.len()).filter(|c| NATIVE.is_char_boundary(*c)) {
        load_all("t.vigil", &NATIVE[..cut]);
    }
}

#[test]
fn corrupted_bytes_are_handled() {
    // Replace each position in turn with characters that matter to the
    // grammars.
    for replacement in [
        "\"", ";", "|", "\\", "[", "]", "(", ")", "!", "/", "{", "}", "é", "\n",
    ] {
        for rule in SURICATA {
            for at in (0..rule.len())
                .filter(|c| rule.is_char_boundary(*c))
                .step_by(3)
            {
                let end = (at + 1..=rule.len())
                    .find(|e| rule.is_char_boundary(*e))
                    .unwrap();
                load_all(
                    "t.rules",
                    &format!("{}{replacement}{}", &rule[..at], &rule[end..]),
                );
            }
        }
        for at in (0..NATIVE.len())
            .filter(|c| NATIVE.is_char_boundary(*c))
            .step_by(3)
        {
            let end = (at + 1..=NATIVE.len())
                .find(|e| NATIVE.is_char_boundary(*e))
                .unwrap();
            load_all(
                "t.vigil",
                &format!("{}{replacement}{}", &NATIVE[..at], &NATIVE[end..]),
            );
        }
    }
}

#[test]
fn the_seed_rules_are_valid() {
    let (set, diags) = RuleSet::load_str("t.rules", &SURICATA.join("\n"), &LoadOptions::default());
    assert_eq!(set.len(), 2, "{diags:#?}");
    let (set, diags) = RuleSet::load_str("t.vigil", NATIVE, &LoadOptions::default());
    assert_eq!(set.len(), 1, "{diags:#?}");
}
