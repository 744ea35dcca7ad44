//! `vigil rules check`: the report, JSON output and exit status.

use std::path::PathBuf;

use sensor_rules::cli::{CheckArgs, check};

/// `text` written to `name` in a fresh directory, removed when the returned
/// guard drops.
fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn run(args: &CheckArgs) -> (bool, String) {
    let mut out = Vec::new();
    let ok = check(args, &mut out).unwrap();
    (ok, String::from_utf8(out).unwrap())
}

const RULES: &str = "alert http any any -> any any (msg:\"a\"; content:\"x\"; sid:1;)\n\
alert http any any -> any any (msg:\"b\"; flowbits:set,x; content:\"y\"; sid:2;)\n\
alert http any any -> any any (msg:\"c\"; flowbits:isset,x; content:\"z\"; sid:3;)\n\
alert smb any any -> any any (msg:\"d\"; sid:4;)\n\
alert tcp $NET any -> any any (msg:\"e\"; flags:S; sid:5;)\n";

#[test]
fn text_report_groups_skips_by_reason() {
    let (_dir, path) = temp_file("report.rules", RULES);
    let args = CheckArgs {
        paths: vec![path.clone()],
        vars: vec![("NET".into(), "[10.0.0.0/8]".into())],
        ..CheckArgs::default()
    };
    let (ok, out) = run(&args);
    assert!(ok, "{out}");
    let summary = format!(
        "{}: 2 loaded, 3 skipped, 0 errors, 0 warnings, 1 checked always\n    skipped      2  unsupported keyword `flowbits`\n    skipped      1  unsupported protocol `smb`\ntotal: 2 rules loaded (2 in the set), 3 skipped, 0 errors, 0 warnings\n",
        path.display()
    );
    assert_eq!(out, summary);

    // Without the variable, sid 5 is an error: exit status 1.
    let (ok, out) = run(&CheckArgs {
        paths: vec![path.clone()],
        ..CheckArgs::default()
    });
    assert!(!ok);
    assert!(
        out.contains("error[undefined-variable]: undefined variable `$NET`"),
        "{out}"
    );

    // Strict: skipped rules are errors.
    let (ok, _) = run(&CheckArgs {
        paths: vec![path],
        strict: true,
        vars: vec![("NET".into(), "any".into())],
        ..CheckArgs::default()
    });
    assert!(!ok);
}

#[test]
fn json_report() {
    let (_dir, path) = temp_file("json.rules", RULES);
    let (ok, out) = run(&CheckArgs {
        paths: vec![path],
        json: true,
        vars: vec![("NET".into(), "any".into())],
        ..CheckArgs::default()
    });
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["rules"], 2);
    let file = &v["files"][0];
    assert_eq!(file["loaded"], 2);
    assert_eq!(
        file["skipped_by_reason"]["unsupported keyword `flowbits`"],
        2
    );
    let d = &file["diagnostics"][0];
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(2), Some(41))
    );
    assert_eq!(d["kind"], "unsupported-keyword");
    assert_eq!(d["sid"], 2);
}

#[test]
fn var_argument_parsing() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        check: CheckArgs,
    }
    let cli = Cli::try_parse_from([
        "x",
        "a.rules",
        "--var",
        "HOME_NET=[10.0.0.0/8]",
        "--json",
        "--strict",
    ])
    .unwrap();
    assert_eq!(
        cli.check.vars,
        vec![("HOME_NET".to_string(), "[10.0.0.0/8]".to_string())]
    );
    assert!(cli.check.json && cli.check.strict);
    assert!(Cli::try_parse_from(["x", "a.rules", "--var", "NOEQUALS"]).is_err());
    assert!(Cli::try_parse_from(["x"]).is_err());
}
