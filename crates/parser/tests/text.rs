//! The AutoDNS text format, fixture by fixture: every example of the parsing guide (seed 003)
//! as a mail, the reference samples, German texts in Latin-1/-15, an IDN, DST edge times, and
//! the inputs that must fail with an error that says where.

mod support;

use ledger_parser::{
    DstFlag, Format, ParseError, ParseOptions, StatusClass, codes, parse, parse_body,
};
use support::{Expect, Times, check, check_err, parsed};

const SEED: &str = "autodns/seed";

fn seed(name: &str) -> String {
    format!("{SEED}/{name}.eml")
}

// ------------------------------------------------------------------ seed 003, one by one

#[test]
fn seed_01_autoack() {
    check(
        &seed("01-1403008-transfer-out-autoack"),
        Expect {
            task: Some("1403008"),
            status: "S1403008",
            status_text: Some("The request was not answered in time. AUTO-ACK was processed."),
            last_transaction: Some("124124124"),
            domain: Some("example.org"),
            kk_answer: Some("AUTOACK"),
            times: Times {
                start: Some("2010-05-11T17:43:02+00:00"),
                reminder: Some("2010-05-14T17:43:02+00:00"),
                autoack: Some("2010-05-16T17:43:02+00:00"),
                end: Some("2010-05-16T17:43:02+00:00"),
                new: Some("500123"),
                ..Times::default()
            },
            message_id: Some("20100516194330.1403008.124124124@autodns.example"),
            date: Some("2010-05-16T19:43:30+02:00"),
            ..Expect::default()
        },
    );
}

#[test]
fn seed_02_0106_ack_domain_from_sld_tld() {
    let n = check(
        &seed("02-0106-transfer-out-ack-at"),
        Expect {
            task: Some("0106"),
            status: "S0106",
            status_text: Some("Outgoing domain transfer has been answered successfully."),
            domain: Some("example.at"),
            notices: &[codes::NOTICE_REGISTRY_REMOVED],
            kk_answer: Some("ACK"),
            message_id: Some("20100519110512.0106.77@autodns.example"),
            date: Some("2010-05-19T11:05:12+02:00"),
            ..Expect::default()
        },
    );
    assert_eq!(
        n.notices[0].text.as_deref(),
        Some(
            "The registry removed the domain from your inventory. \
             You are no longer the OwnerC of the domain."
        )
    );
}

#[test]
fn seed_03_autonack() {
    check(
        &seed("03-1403005-transfer-out-autonack"),
        Expect {
            task: Some("1403005"),
            status: "S1403005",
            ctid: Some("1273833236"),
            domain: Some("exanoke.net"),
            kk_answer: Some("NACK"),
            message_id: Some("20100514123401.1403005.1273833236@autodns.example"),
            date: Some("2010-05-14T12:34:01+02:00"),
            ..Expect::default()
        },
    );
}

#[test]
fn seed_04_reminder() {
    check(
        &seed("04-1403006-transfer-out-reminder"),
        Expect {
            task: Some("1403006"),
            status: "S1403006",
            status_text: Some("Reminder! Outgoing transfer was started."),
            ctid: Some("1273952471"),
            domain: Some("example.com"),
            message_id: Some("20100520084405.1403006.1273952471@autodns.example"),
            date: Some("2010-05-20T08:44:05+02:00"),
            ..Expect::default()
        },
    );
}

#[test]
fn seed_05_transfer_out_start_with_timetable() {
    let n = check(
        &seed("05-1403-transfer-out-start"),
        Expect {
            task: Some("1403"),
            status: "S1403",
            ctid: Some("1234"),
            domain: Some("example.com"),
            times: Times {
                // Berlin is UTC+2 in May 2010.
                start: Some("2010-05-17T06:43:53+00:00"),
                reminder: Some("2010-05-20T06:43:53+00:00"),
                autonack: Some("2010-05-22T00:43:53+00:00"),
                end: Some("2010-05-22T06:43:53+00:00"),
                new: Some("99"),
                ..Times::default()
            },
            message_id: Some("20100517084400.1403.1234@autodns.example"),
            date: Some("2010-05-17T08:44:00+02:00"),
            ..Expect::default()
        },
    );
    let start = n.timetable.start.as_ref().map(|t| (t.raw.as_str(), t.dst));
    assert_eq!(start, Some(("2010-05-17 08:43:53", DstFlag::Unambiguous)));
}

#[test]
fn seed_06_create_success() {
    check(
        &seed("06-0101-create-success"),
        Expect {
            task: Some("0101"),
            status: "S0101",
            ctid: Some("bf296d8dffc4"),
            last_transaction: Some("bf296d8dffc4"),
            message_id: Some("20100506091244.0101.bf296d8dffc4@autodns.example"),
            date: Some("2010-05-06T09:12:44+02:00"),
            ..Expect::default()
        },
    );
}

#[test]
fn seed_07_create_failed() {
    check(
        &seed("07-0101-create-failed"),
        Expect {
            task: Some("0101"),
            status: "E0101",
            class: StatusClass::Permanent,
            status_text: Some("Domain could not be registered."),
            ctid: Some("201005061621"),
            message_id: Some("20100506162130.0101.201005061621@autodns.example"),
            date: Some("2010-05-06T16:21:30+02:00"),
            ..Expect::default()
        },
    );
}

#[test]
fn seed_08_update_success_from_attachment() {
    check(
        &seed("08-0102-update-success"),
        Expect {
            task: Some("0102"),
            status: "S0102",
            ctid: Some("4bed8920b56fb"),
            last_transaction: Some("4bed8920b56fb"),
            message_id: Some("20100514170312.0102.4bed8920b56fb@autodns.example"),
            date: Some("2010-05-14T17:03:12+02:00"),
            ..Expect::default()
        },
    );
}

#[test]
fn seed_09_update_failed() {
    check(
        &seed("09-0102-update-failed"),
        Expect {
            task: Some("0102"),
            status: "E0102",
            class: StatusClass::Permanent,
            ctid: Some("bed7c6845726"),
            error: Some("533001291da2"),
            message_id: Some("20100517101527.0102.bed7c6845726@autodns.example"),
            date: Some("2010-05-17T10:15:27+02:00"),
            ..Expect::default()
        },
    );
}

#[test]
fn seed_10_update_authinfo_deleted() {
    let n = check(
        &seed("10-0102-update-authinfo-deleted"),
        Expect {
            task: Some("0102"),
            status: "S0102",
            ctid: Some("qs1282921089"),
            last_transaction: Some("qs1282921089"),
            notices: &[codes::NOTICE_AUTHINFO_DELETED],
            message_id: Some("20100827165809.0102.qs1282921089@autodns.example"),
            date: Some("2010-08-27T16:58:09+02:00"),
            ..Expect::default()
        },
    );
    assert!(n.has_notice("msg011304"));
    assert_eq!(
        n.notices[0].text.as_deref(),
        Some("The existing AuthInfo was deleted by the request.")
    );
}

#[test]
fn seed_11_delete_success() {
    check(
        &seed("11-0103-delete-success"),
        Expect {
            task: Some("0103"),
            status: "S0103",
            status_text: Some("Domain has been deleted successfully."),
            ctid: Some("29a489dadaf0"),
            message_id: Some("20100511140251.0103.29a489dadaf0@autodns.example"),
            date: Some("2010-05-11T14:02:51+02:00"),
            ..Expect::default()
        },
    );
}

#[test]
fn seed_12_mislabelled_delete_failed_is_a_transfer_in_start() {
    let n = check(
        &seed("12-0104-transfer-in-start"),
        Expect {
            task: Some("0104"),
            status: "S0104",
            ctid: Some("q1273s146x50"),
            message_id: Some("20100506135041.0104.q1273s146x50@autodns.example"),
            date: Some("2010-05-06T13:50:41+02:00"),
            ..Expect::default()
        },
    );
    let status = n.status.expect("checked above");
    assert_eq!(status.task_code(), "0104");
    assert_eq!(
        codes::task_meaning(status.task_code()),
        Some("incoming domain transfer started")
    );
}

#[test]
fn seed_13_autoupdate() {
    check(
        &seed("13-0102-autoupdate"),
        Expect {
            task: Some("0102"),
            status: "S0102",
            ctid: Some("q1273s146x50"),
            last_transaction: Some("q1273s146x50"),
            autoupdate: Some(true),
            message_id: Some("20100511100017.0102.q1273s146x50@autodns.example"),
            date: Some("2010-05-11T10:00:17+02:00"),
            ..Expect::default()
        },
    );
}

#[test]
fn seed_14_autoupdate_with_ownerc_import_and_elided_line() {
    let n = check(
        &seed("14-0102-autoupdate-ownerc-import"),
        Expect {
            task: Some("0102"),
            status: "S0102",
            ctid: Some("q1273s146x50"),
            last_transaction: Some("q1273s146x50"),
            domain: Some("test.es"),
            notices: &[codes::NOTICE_OWNERC_IMPORTED],
            autoupdate: Some(true),
            owner_c: Some("12345"),
            message_id: Some("20100511100019.0102.q1273s146x50.2@autodns.example"),
            date: Some("2010-05-11T10:00:19+02:00"),
            diagnostics: &[(Some(17), "not a `key: value` line, ignored: \"[...]\"")],
            ..Expect::default()
        },
    );
    assert_eq!(n.diagnostics[0].block.as_deref(), Some("reply"));
}

#[test]
fn seed_15_transfer_in_ack_with_ownerc_import() {
    check(
        &seed("15-0104001-transfer-in-ack-ownerc-import"),
        Expect {
            task: Some("0104001"),
            status: "S0104001",
            status_text: Some(
                "The incoming domain transfer (ACK) has been completed successfully.",
            ),
            ctid: Some("q1273s146x50"),
            notices: &[codes::NOTICE_OWNERC_IMPORTED],
            message_id: Some("20100511095802.0104001.q1273s146x50@autodns.example"),
            date: Some("2010-05-11T09:58:02+02:00"),
            ..Expect::default()
        },
    );
}

#[test]
fn seed_16_transfer_in_ack_keeps_odd_last_transaction() {
    check(
        &seed("16-0104001-transfer-in-ack"),
        Expect {
            task: Some("0104001"),
            status: "S0104001",
            ctid: Some("q1273s146x50"),
            last_transaction: Some("id #20673# action #domain#"),
            message_id: Some("20100511095803.0104001.20673@autodns.example"),
            date: Some("2010-05-11T09:58:03+02:00"),
            ..Expect::default()
        },
    );
}

#[test]
fn seed_17_transfer_in_nack() {
    check(
        &seed("17-0104001-transfer-in-nack"),
        Expect {
            task: Some("0104001"),
            status: "E0104001",
            class: StatusClass::Permanent,
            status_text: Some(
                "Incoming domain transfer (NACK) could not be completed successfully.",
            ),
            ctid: Some("e3ec9bc8ec70"),
            error: Some("63370088701"),
            message_id: Some("20100512182045.0104001.e3ec9bc8ec70@autodns.example"),
            date: Some("2010-05-12T18:20:45+02:00"),
            ..Expect::default()
        },
    );
}

#[test]
fn every_seed_fixture_is_checked_and_listed() {
    let dir = support::fixture_path(SEED);
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("seed README");
    let this = include_str!("text.rs");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("seed dir") {
        let name = entry
            .expect("dir entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(stem) = name.strip_suffix(".eml") else {
            continue;
        };
        count += 1;
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} missing from the seed README"
        );
        assert!(
            this.contains(&format!("seed(\"{stem}\")")),
            "{name} has no check here"
        );
        let n = parsed(&format!("{SEED}/{name}"));
        assert!(n.mail.is_some(), "{name} is a mail");
    }
    assert_eq!(count, 17, "the guide has 17 example notifications");
}

// ------------------------------------------------------------------ reference samples

#[test]
fn reference_0104001_with_reply_and_notify_trailer() {
    let n = check(
        "autodns/text/ref-0104001-success-text.txt",
        Expect {
            task: Some("0104001"),
            status: "S0104001",
            ctid: Some("qs1258619858"),
            last_transaction: Some("qs1258619858"),
            domain: Some("example.eu"),
            notices: &[codes::NOTICE_OWNERC_IMPORTED],
            owner_c: Some("10431169"),
            ..Expect::default()
        },
    );
    // The reply's own `status: success` is a field, not the notification's status.
    assert!(
        n.fields
            .iter()
            .any(|f| f.block == "reply" && f.key == "status" && f.value == "success")
    );
    let nservers: Vec<&str> = n
        .fields
        .iter()
        .filter(|f| f.key == "nserver")
        .map(|f| f.value.as_str())
        .collect();
    assert_eq!(nservers, ["ns1.example,com", "ns2.example.com"]);
    let authinfo = n
        .fields
        .iter()
        .find(|f| f.key == "authinfo")
        .expect("authinfo field");
    assert_eq!((authinfo.value.as_str(), authinfo.line), ("", 22));
    // Trailing space after the last_transaction value is trimmed.
    assert!(
        n.fields
            .iter()
            .any(|f| f.key == "last_transaction" && f.value == "qs1258619858")
    );
}

#[test]
fn reference_0106_and_1403() {
    check(
        "autodns/text/ref-0106-ack-text.txt",
        Expect {
            task: Some("0106"),
            status: "S0106",
            kk_answer: Some("ACK"),
            ..Expect::default()
        },
    );
    check(
        "autodns/text/ref-1403-start-text.txt",
        Expect {
            task: Some("1403"),
            status: "S1403",
            ctid: Some("1189217872"),
            domain: Some("example.com"),
            ..Expect::default()
        },
    );
}

#[test]
fn reference_flattened_one_line_block() {
    let n = check(
        "autodns/text/ref-1403008-autoack-text-flattened.txt",
        Expect {
            task: Some("1403008"),
            status: "S1403008",
            status_text: Some("The domain was removed from your inventory"),
            ctid: Some("1189217877"),
            domain: Some("example.com"),
            ..Expect::default()
        },
    );
    let keys: Vec<&str> = n.fields.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        ["user", "task", "status", "success_value", "transaction"]
    );
    assert!(n.fields.iter().all(|f| f.line == 1 && f.block == "system"));
}

// ------------------------------------------------------------------ German, Latin-1, IDN, DST

#[test]
fn german_latin1_mail_with_idn_from_sld_and_nic_response() {
    let n = check(
        "autodns/text/de-0101-latin1.eml",
        Expect {
            task: Some("0101"),
            status: "S0101",
            status_text: Some("Die Domain wurde erfolgreich registriert."),
            ctid: Some("de-0101-4711"),
            domain: Some("müller.de"),
            owner_c: Some("23456"),
            message_id: Some("20100607102030.0101.de4711@autodns.example"),
            date: Some("2010-06-07T10:20:30+02:00"),
            ..Expect::default()
        },
    );
    assert_eq!(
        n.nic_response.as_deref(),
        Some("Domäne für müller.de wurde registriert.\nStatus: connect")
    );
    let subject = n.mail.as_ref().and_then(|m| m.subject.as_deref());
    assert_eq!(subject, Some("S0101 Domäne registriert: müller.de"));
    assert!(
        n.fields
            .iter()
            .any(|f| f.block == "nic_response" && f.key == "Status")
    );
}

#[test]
fn german_latin9_quoted_printable_keeps_the_euro_sign() {
    let n = check(
        "autodns/text/de-0102-latin9-qp.eml",
        Expect {
            task: Some("0102"),
            status: "E0102",
            class: StatusClass::Permanent,
            status_text: Some("Die Domäne konnte nicht aktualisiert werden: Gebühr 5 € offen."),
            ctid: Some("de-0102-0815"),
            error: Some("7c1e55"),
            message_id: Some("20100608110000.0102.de0815@autodns.example"),
            date: Some("2010-06-08T11:00:00+02:00"),
            ..Expect::default()
        },
    );
    assert!(
        n.status
            .is_some_and(|s| s.text.is_some_and(|t| t.contains('€')))
    );
}

#[test]
fn bare_latin1_body_is_read_as_latin1() {
    check(
        "autodns/text/de-0103-latin1-bare.txt",
        Expect {
            task: Some("0103"),
            status: "S0103",
            status_text: Some("Die Domäne wurde gelöscht."),
            ctid: Some("1a2b3c"),
            ..Expect::default()
        },
    );
}

#[test]
fn idn_domain_and_dst_gap_overlap_and_unreadable_times() {
    let n = check(
        "autodns/text/idn-1403-dst.txt",
        Expect {
            task: Some("1403"),
            status: "S1403",
            ctid: Some("1269736200"),
            domain: Some("müller.de"),
            times: Times {
                // 02:30 on 2010-03-28 never happened in Berlin: read as 03:30 CEST.
                start: Some("2010-03-28T01:30:00+00:00"),
                reminder: Some("2010-03-31T00:30:00+00:00"),
                // 02:30 on 2010-10-31 happened twice: the earlier (CEST) is taken.
                autonack: Some("2010-10-31T00:30:00+00:00"),
                new: Some("17"),
                ..Times::default()
            },
            diagnostics: &[
                (
                    Some(11),
                    "kk_start \"2010-03-28 02:30:00\" falls in a DST gap of the source zone; \
                     read one hour later",
                ),
                (
                    Some(13),
                    "kk_autonack \"2010-10-31 02:30:00\" occurs twice in the source zone (DST \
                     overlap); the earlier instant is taken",
                ),
                (Some(14), "kk_end \"not yet known\" is not a time"),
            ],
            ..Expect::default()
        },
    );
    let flag = |t: &Option<ledger_parser::TimeReading>| t.as_ref().map(|t| t.dst);
    assert_eq!(flag(&n.timetable.start), Some(DstFlag::Gap));
    assert_eq!(flag(&n.timetable.reminder), Some(DstFlag::Unambiguous));
    assert_eq!(flag(&n.timetable.autonack), Some(DstFlag::Overlap));
    let end = n.timetable.end.as_ref().expect("kk_end kept");
    assert_eq!((end.raw.as_str(), end.utc), ("not yet known", None));
    assert_eq!(
        n.domain.and_then(|d| d.ascii()).as_deref(),
        Some("xn--mller-kva.de")
    );
}

#[test]
fn source_zone_is_a_setting() {
    let options = ParseOptions {
        source_tz: chrono_tz::UTC,
        ..ParseOptions::default()
    };
    let n = parse(
        &support::fixture("autodns/seed/05-1403-transfer-out-start.eml"),
        &options,
    )
    .expect("parses");
    let start = n
        .timetable
        .start
        .and_then(|t| t.utc)
        .map(|t| t.to_rfc3339());
    assert_eq!(start.as_deref(), Some("2010-05-17T08:43:53+00:00"));
}

#[test]
fn crlf_tabs_wrapped_colons_repeated_keys_nic_response_and_notify() {
    let n = check(
        "autodns/text/nic-response-notify-crlf.txt",
        Expect {
            task: Some("0104001"),
            status: "E0104001",
            class: StatusClass::Permanent,
            // The continuation line holds `: ` twice and still continues the bracket.
            status_text: Some(
                "Incoming domain transfer (NACK) could not be completed: registry says: \
                 authinfo wrong.",
            ),
            ctid: Some("crlf-0104001"),
            error: Some("99887766"),
            domain: Some("example.eu"),
            ..Expect::default()
        },
    );
    assert_eq!(
        n.nic_response.as_deref(),
        Some(
            "code: 2202\nmsg: Invalid authorization information\n\
             <epp:reason>authinfo mismatch</epp:reason>"
        )
    );
    let user = n.fields.first().expect("fields");
    assert_eq!(
        (user.key.as_str(), user.value.as_str(), user.line),
        ("user", "ExampleUser", 2)
    );
    let nic: Vec<(&str, &str)> = n
        .fields
        .iter()
        .filter(|f| f.block == "nic_response")
        .map(|f| (f.key.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        nic,
        [
            ("code", "2202"),
            ("msg", "Invalid authorization information")
        ]
    );
    // Every field is in input order.
    assert!(n.fields.windows(2).all(|w| w[0].line <= w[1].line));
}

#[test]
fn greeting_before_the_system_block_is_a_diagnostic() {
    check(
        "autodns/text/greeting-before-system.eml",
        Expect {
            task: Some("0102"),
            status: "N0102",
            class: StatusClass::InProgress,
            ctid: Some("n0102-1"),
            message_id: Some("20100601090000.0102.n1@autodns.example"),
            date: Some("2010-06-01T09:00:00+02:00"),
            diagnostics: &[
                (
                    Some(1),
                    "line outside any block, ignored: \"Dear customer,\"",
                ),
                (
                    Some(3),
                    "line outside any block, ignored: \"this is an automatic message.\"",
                ),
            ],
            ..Expect::default()
        },
    );
}

// ------------------------------------------------------------------ small inline cases

/// Parses a bare text body.
fn body(text: &str) -> Result<ledger_parser::Notification, ParseError> {
    parse_body(text, &ParseOptions::default())
}

#[test]
fn unknown_codes_are_kept_with_a_diagnostic() {
    let n = body(
        "<system>\ntask: 7777\nstatus: S7777 [new]\nnotice: MSG99999 [x]\nnotice: HELLO\n</system>",
    )
    .expect("parses");
    assert_eq!(n.status.map(|s| s.code).as_deref(), Some("S7777"));
    let notices: Vec<&str> = n.notices.iter().map(|x| x.code.as_str()).collect();
    assert_eq!(notices, ["MSG99999", "HELLO"]);
    let messages: Vec<&str> = n.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "notice code MSG99999 is not in the catalog",
            "notice code \"HELLO\" is not MSG and 5 or 6 digits",
            "task code 7777 is not in the catalog",
        ]
    );
}

#[test]
fn kk_answer_is_upper_cased_and_task_mismatch_noted() {
    let n = body("<system>\ntask: 0106\nstatus: S1403 [x]\nkk_answer: nack\n</system>")
        .expect("parses");
    assert_eq!(n.kk_answer.as_deref(), Some("NACK"));
    assert!(
        n.diagnostics
            .iter()
            .any(|d| d.message == "task 0106 differs from the status's task 1403")
    );
}

#[test]
fn success_value_wins_over_sld_tld_and_bad_domains_are_diagnostics() {
    let n = body(
        "<system>\nstatus: S1403\nsuccess_value: domain: Example.COM.\n</system>\n\
         <reply>\nsld: other\ntld: net\n</reply>",
    )
    .expect("parses");
    assert_eq!(
        n.domain.map(|d| d.to_string()).as_deref(),
        Some("example.com")
    );
    let n = body("<system>\nstatus: S1403\nsuccess_value: domain: not a domain\n</system>")
        .expect("parses");
    assert_eq!(n.domain, None);
    assert_eq!(n.diagnostics.first().map(|d| d.line), Some(Some(3)));
}

#[test]
fn a_bracket_never_closed_is_a_diagnostic_not_a_failure() {
    let n =
        body("<system>\nstatus: S0101 [never closed\ntransaction: abc\n</system>").expect("parses");
    assert_eq!(n.ctid, None, "the open bracket swallowed the next line");
    assert!(
        n.diagnostics
            .iter()
            .any(|d| d.line == Some(2) && d.message.contains("never closed"))
    );
}

#[test]
fn forced_text_format_without_system_block() {
    let options = ParseOptions {
        format: Some(Format::AutoDnsText),
        ..ParseOptions::default()
    };
    let err = parse(b"<reply>\nsld: x\ntld: de\n</reply>\n", &options).expect_err("no system");
    assert!(matches!(
        err,
        ParseError::MissingStatus {
            format: Format::AutoDnsText,
            ..
        }
    ));
    assert!(err.to_string().contains("no <system> block"), "{err}");
}

#[test]
fn an_open_block_inside_another_is_unclosed() {
    let err = body("\n<system>\nstatus: S0101\n<reply>\n</reply>\n").expect_err("unclosed");
    assert_eq!(
        err,
        ParseError::UnclosedBlock {
            block: "system".into(),
            line: 2
        }
    );
}

// ------------------------------------------------------------------ inputs that must fail

#[test]
fn bad_unclosed_system() {
    let err = check_err("bad/unclosed-system.txt");
    assert_eq!(
        err,
        ParseError::UnclosedBlock {
            block: "system".into(),
            line: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "block <system> opened on line 1 is never closed"
    );
}

#[test]
fn bad_unclosed_reply_in_a_mail() {
    let err = check_err("bad/unclosed-reply.eml");
    assert_eq!(
        err,
        ParseError::UnclosedBlock {
            block: "reply".into(),
            line: 8
        }
    );
}

#[test]
fn bad_missing_status_names_the_block_lines() {
    let err = check_err("bad/missing-status.txt");
    assert!(matches!(
        err,
        ParseError::MissingStatus {
            format: Format::AutoDnsText,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "autodns-text notification has no status: no `status:` line in the <system> block on \
         lines 1-5"
    );
}

#[test]
fn bad_status_code_names_the_line() {
    let err = check_err("bad/bad-status-code.txt");
    assert_eq!(
        err,
        ParseError::BadStatus {
            line: 4,
            value: "X0101 [Domain has been registered successfully.]".into()
        }
    );
    assert!(err.to_string().starts_with("line 4: status"), "{err}");
}

#[test]
fn bad_invalid_utf8_in_the_status_is_read_as_latin1_and_refused() {
    let err = check_err("bad/invalid-utf8-status.txt");
    assert!(
        matches!(&err, ParseError::BadStatus { line: 4, value } if value.starts_with("S01ÿþ01")),
        "{err:?}"
    );
}

#[test]
fn bad_garbage_and_empty_inputs_are_unrecognised() {
    let err = check_err("bad/empty.txt");
    assert_eq!(
        err,
        ParseError::Unrecognised {
            reason: "the body is empty".into()
        }
    );
    let err = check_err("bad/garbage.bin");
    assert!(
        matches!(&err, ParseError::Unrecognised { reason } if reason.starts_with("the body starts with")),
        "{err:?}"
    );
}

#[test]
fn a_script_that_holds_blocks_is_not_a_notification() {
    // The generator of these fixtures holds `<system>` and `<reply>` lines among its Python:
    // between its first block and its last, code outnumbers the `key: value` lines.
    let err = check_err("mail/generate.py");
    let ParseError::NotANotification {
        stray,
        counted,
        first,
        first_stray,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert!(stray * 2 > counted, "{stray} of {counted}");
    assert_eq!(first, 117, "the first block: its first `<reply>`");
    assert_eq!(first_stray, 124, "the Python line after that block");
    assert!(
        err.to_string().starts_with(&format!(
            "not a notification: {stray} of the {counted} lines from line 117 to line "
        )),
        "{err}"
    );
}

#[test]
fn text_around_the_blocks_never_counts_against_a_mail() {
    // A greeting, a long signature and a disclaimer: more stray lines than the block holds.
    let mut body = String::from("Dear customer,\n\nplease find the result below.\n\n");
    body.push_str(
        "<system>\nuser: ExampleUser\ntask: 0101\n\
         status: S0101 [Domain has been registered successfully.]\ntransaction: sig-1\n</system>\n\n",
    );
    for i in 0..30 {
        body.push_str(&format!(
            "Disclaimer line {i}: this mail is confidential.\n"
        ));
    }
    let n = parse_body(&body, &ParseOptions::default()).expect("a notification");
    assert_eq!(n.ctid.as_deref(), Some("sig-1"));
    assert_eq!(n.diagnostics.len(), 32, "every stray line is still said");

    // Stray lines inside a block that outnumber its fields: refused, with the count.
    let inside = "<system>\nstatus: S0101\nnot a field\nnor this\n</system>\n";
    assert_eq!(
        parse_body(inside, &ParseOptions::default())
            .unwrap_err()
            .to_string(),
        "not a notification: 2 of the 3 lines from line 1 to line 5 are neither `key: value` \
         nor a continuation (the first on line 3)"
    );
    // As many stray lines as fields: still read.
    let even = "<system>\nstatus: S0101\ntask: 0101\nnot a field\nnor this\n</system>\n";
    assert!(parse_body(even, &ParseOptions::default()).is_ok());
}

#[test]
fn two_notifications_in_one_body_are_refused_never_merged() {
    // An S0101 of ctid c-1 and an S1403 of another domain in one mail.
    let err = check_err("autodns/text/bad/two-notifications.eml");
    assert_eq!(
        err,
        ParseError::SeveralNotifications {
            block: "system".into(),
            lines: vec![1, 9],
        }
    );
    assert_eq!(
        err.to_string(),
        "2 notifications in one body: <system> at lines 1 and 9; split them into one item each"
    );
}

#[test]
fn a_second_transaction_and_conflicting_domains_get_diagnostics() {
    check(
        "autodns/text/two-transactions-conflicting-domain.eml",
        Expect {
            task: Some("0102"),
            status: "S0102",
            status_text: Some("Domain has been updated successfully."),
            ctid: Some("t-1"),
            domain: Some("example.net"),
            message_id: Some("20100609091500.0102.t-1@autodns.example"),
            date: Some("2010-06-09T09:15:00+02:00"),
            diagnostics: &[
                (
                    Some(7),
                    "a second transaction \"t-2\" ignored; the first, \"t-1\", stands",
                ),
                (
                    Some(10),
                    "sld + tld name the domain example.org, but success_value names example.net; \
                     example.net stands",
                ),
            ],
            ..Expect::default()
        },
    );
    // The same transaction twice is no conflict.
    let same = "<system>\nstatus: S0101\ntransaction: a\ntransaction: a\n</system>\n";
    let n = parse_body(same, &ParseOptions::default()).expect("parses");
    assert!(n.diagnostics.is_empty(), "{:?}", n.diagnostics);
}

#[test]
fn control_characters_in_a_ctid_or_a_domain_are_refused() {
    let ctid = "<system>\nstatus: S0101\ntransaction: a\u{1}b\n</system>\n";
    assert_eq!(
        parse_body(ctid, &ParseOptions::default()).unwrap_err(),
        ParseError::ControlCharacter {
            what: "ctid".into(),
            value: "a\u{1}b".into(),
            character: '\u{1}',
            place: " on line 3".into(),
        }
    );
    let nul = "<system>\nstatus: S0101\nsuccess_value: domain: a\0b.com\n</system>\n";
    assert_eq!(
        parse_body(nul, &ParseOptions::default())
            .unwrap_err()
            .to_string(),
        "the domain \"a\\0b.com\" holds the control character '\\0' on line 3; a ctid or domain \
         must not"
    );
    let sld = "<system>\nstatus: S0101\n</system>\n<reply>\nsld: a\u{7f}b\ntld: com\n</reply>\n";
    assert!(
        matches!(
            parse_body(sld, &ParseOptions::default()),
            Err(ParseError::ControlCharacter { ref what, ref place, character: '\u{7f}', .. })
                if what == "domain" && place == " on line 5"
        ),
        "{:?}",
        parse_body(sld, &ParseOptions::default())
    );
}
