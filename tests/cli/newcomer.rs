//! The newcomer's first hour: short per-command help, durations that say their format and
//! refuse to be negative, a trust policy set before the first ingest, a typo in it, a ledger
//! that cannot be written, Ctrl-C during an ingest.

use crate::harness::Sandbox;

#[test]
fn a_commands_help_lists_its_own_flags_and_names_the_global_ones_once() {
    let sandbox = Sandbox::new();
    for flag in ["--help", "-h"] {
        let help = sandbox
            .ledger()
            .args(["pending-transfers", flag])
            .run()
            .success()
            .stdout();
        assert!(help.contains("--due-within <DURATION>"), "{help}");
        assert!(
            !help.contains("--trust-policy <FILE>") && !help.contains("--source-tz <ZONE>"),
            "global flags are not listed again: {help}"
        );
        assert!(
            help.contains(
                "Global options (--db, --json, --source-tz, --trust-policy, --wait): see `ledger --help`"
            ),
            "{help}"
        );
    }
    let help = sandbox
        .ledger()
        .args(["help", "show"])
        .run()
        .success()
        .stdout();
    assert!(
        help.contains("--ctid <ID>") && !help.contains("--trust-policy <FILE>"),
        "{help}"
    );
    let top = sandbox.ledger().arg("--help").run().success().stdout();
    for flag in [
        "--db <PATH>",
        "--source-tz <ZONE>",
        "--json",
        "--trust-policy <FILE>",
        "--wait <DURATION>",
    ] {
        assert_eq!(top.matches(flag).count(), 1, "{flag} once in: {top}");
    }
    // The global flags are still accepted after a command's name.
    let done = sandbox
        .ledger()
        .args([
            "pending-transfers",
            "--json",
            "--source-tz",
            "UTC",
            "--wait",
            "1s",
        ])
        .run()
        .expect_code(1);
    assert!(done.stderr().contains("no ledger at"), "{}", done.stderr());
}

#[test]
fn durations_document_their_format() {
    let sandbox = Sandbox::new();
    let help = sandbox
        .ledger()
        .args(["pending-transfers", "--help"])
        .run()
        .success()
        .stdout()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(help.matches("`90m`, `48h`, `2d`").count(), 2, "{help}");
}

#[test]
fn a_negative_duration_is_one_clear_usage_error() {
    let sandbox = Sandbox::new();
    for args in [
        vec!["pending-transfers", "--due-within", "-5h"],
        vec!["pending-transfers", "--due-within=-5h"],
        vec!["pending-transfers", "--fail-if-due-within", "-2d"],
        vec!["pending-transfers", "--fail-if-due-within=-90m"],
    ] {
        let done = sandbox.ledger().args(&args).run().expect_code(64);
        let stderr = done.stderr();
        let flag = args[1].split('=').next().unwrap_or_default();
        assert!(
            stderr.starts_with(&format!("error: {flag} \"-")),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr
                .lines()
                .next()
                .is_some_and(|l| l.ends_with("a duration cannot be negative")),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("unexpected argument"), "{stderr}");
    }
}
