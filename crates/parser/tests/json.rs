//! AutoDNS JSON: every fixture under `fixtures/autodns/json/` with what it must read as, and the
//! bad inputs with the error they must be refused with.

mod support;

use ledger_parser::{Format, ParseError, StatusClass};
use support::{Document, Fixtures, POLLED};

const JSON: Fixtures = Fixtures {
    dir: "autodns/json",
    format: Format::AutoDnsJson,
};

/// Scalars counted independently of the parser, with serde_json's own tree.
fn count_scalars(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Object(map) => map.values().map(count_scalars).sum(),
        serde_json::Value::Array(items) => items.iter().map(count_scalars).sum(),
        _ => 1,
    }
}

fn count_fixture_scalars(bytes: &[u8]) -> usize {
    let value: serde_json::Value = serde_json::from_slice(bytes).expect("fixture is valid JSON");
    count_scalars(&value)
}

fn check(e: &Document) -> ledger_parser::Notification {
    JSON.check(e, count_fixture_scalars, "scalar")
}

#[test]
fn transfer_start_event_from_the_vendor_page() {
    check(&Document {
        file: "transfer_start-poll-json.json",
        stid: "20220119-app3-dev-5016",
        domain: Some("example.org"),
        event_type: Some("transfer_start"),
        timetable: [
            Some("2022-01-19T09:54:42+00:00"),
            Some("2022-01-22T09:54:42+00:00"),
            None,
            None,
            Some("2022-01-24T09:54:42+00:00"),
        ],
        ..POLLED
    });
}

#[test]
fn transfer_start_event_with_autoack() {
    check(&Document {
        file: "transfer_start-autoack-poll.json",
        stid: "20240304-app3-6021",
        domain: Some("example-gtld.com"),
        event_type: Some("transfer_start"),
        timetable: [
            Some("2024-03-04T08:12:40+00:00"),
            Some("2024-03-07T08:12:40+00:00"),
            Some("2024-03-09T08:12:40+00:00"),
            None,
            Some("2024-03-09T08:12:40+00:00"),
        ],
        ..POLLED
    });
    let n = JSON.read("transfer_start-autoack-poll.json");
    let autoack = n.timetable.autoack.expect("autoAck read");
    assert_eq!(
        autoack.raw, "2024-03-09T09:12:40.000+0100",
        "the raw text is kept"
    );
}

#[test]
fn domain_away_event() {
    check(&Document {
        file: "domain_away-poll.json",
        // The polled message's own stid, not the poll call's.
        stid: "20240311-app1-90190",
        domain: Some("example-away.eu"),
        event_type: Some("domain_away"),
        created: Some("2024-03-11T15:40:05+00:00"),
        ..POLLED
    });
}

#[test]
fn autoupdate_and_contact_events() {
    check(&Document {
        file: "autoupdate_dns_success-poll-json.json",
        stid: "20210512-app3-dev-10782",
        domain: Some("example.aq"),
        event_type: Some("autoupdate_dns_success"),
        created: Some("2021-05-12T12:42:26+00:00"),
        owner_c: Some("23252437"),
        ..POLLED
    });
    check(&Document {
        file: "contact_deleted-poll-json.json",
        stid: "20220610-app4-226953",
        event_type: Some("contact_deleted"),
        ..POLLED
    });
}

#[test]
fn bare_job_messages_get_a_synthesised_status() {
    check(&Document {
        file: "0101-success-poll-json.json",
        task: "0101",
        code: "S0101",
        text: None,
        synthesised: true,
        stid: "20220405-app2-dev-95164",
        domain: Some("exampledomain.com"),
        created: Some("2022-04-05T10:42:23+00:00"),
        owner_c: Some("23252437"),
        ..POLLED
    });
    check(&Document {
        file: "0104-transfer-start-poll-json.json",
        task: "0104",
        // A running transfer job at START: the incoming transfer has started, as XML's S0104.
        code: "S0104",
        class: StatusClass::Success,
        text: None,
        synthesised: true,
        stid: "20220405-app3-dev-9652",
        domain: Some("exampledomain.eu"),
        created: Some("2022-04-05T14:23:34+00:00"),
        ..POLLED
    });
}

#[test]
fn polled_failed_create_with_ctid() {
    check(&Document {
        file: "0101-failed-poll.json",
        task: "0101",
        code: "E0101",
        class: StatusClass::Permanent,
        text: None,
        synthesised: true,
        ctid: Some("order-2024-000093"),
        stid: "20240212-app1-55102",
        domain: Some("example-taken.com"),
        created: Some("2024-02-12T09:02:11+00:00"),
        ..POLLED
    });
    let n = JSON.read("0101-failed-poll.json");
    // The raw job values stay as fields, under their JSON paths.
    let raw: Vec<(&str, &str, &str)> = n
        .fields
        .iter()
        .filter(|f| f.block == "data[0].job" && (f.key == "status" || f.key == "action"))
        .map(|f| (f.block.as_str(), f.key.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        raw,
        [
            ("data[0].job", "status", "FAILED"),
            ("data[0].job", "action", "create")
        ]
    );
}

#[test]
fn realtime_responses() {
    check(&Document {
        file: "N0102-realtime-json.json",
        task: "0102",
        code: "N0102",
        class: StatusClass::InProgress,
        text: Some("Domain-Aktualisierung erfolgreich gestartet."),
        stid: "20190701-app3-dev-9048",
        domain: Some("example.com"),
        ..POLLED
    });
    check(&Document {
        file: "0103101-success-realtime.json",
        task: "0103101",
        code: "S0103101",
        text: Some("Domain cancelation has been created successfully."),
        ctid: Some("cancel-7781"),
        stid: "20180927-stid",
        domain: Some("example-cancel.com"),
        notices: &["MSG010315"],
        ..POLLED
    });
}

#[test]
fn fields_keep_input_order_with_json_paths() {
    let n = JSON.read("transfer_start-poll-json.json");
    let first: Vec<String> = n
        .fields
        .iter()
        .take(4)
        .map(|f| format!("{}|{}={}", f.block, f.key, f.value))
        .collect();
    assert_eq!(
        first,
        [
            "|stid=20220119-app3-dev-5016",
            "status|code=S0905",
            "status|text=The notification was polled successfully.",
            "status|type=SUCCESS",
        ]
    );
    assert!(
        n.fields
            .iter()
            .any(|f| f.block == "data[0].notify" && f.key == "type" && f.value == "transfer_start")
    );
}

#[test]
fn truncated_json_is_refused_with_its_position() {
    match JSON.refused("bad/0103101-success-realtime-truncated.json") {
        // The string `"do` runs into the line break that ends line 16.
        ParseError::Json {
            line,
            column,
            reason,
        } => {
            assert_eq!((line, column), (17, 1));
            assert!(
                !reason.contains(" at line "),
                "the position is not repeated: {reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    match JSON.parse_str("{\n  \"stid\": \"x\",\n  \"status\": {\"code\": \"S0101\"\n") {
        Err(ParseError::Json { line: 4, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn valid_json_of_no_known_shape_is_refused() {
    assert!(matches!(
        JSON.parse_str("[1, 2]"),
        Err(ParseError::Unrecognised { .. })
    ));
    assert!(matches!(
        JSON.parse_str("{\"name\": \"x\"}"),
        Err(ParseError::Unrecognised { .. })
    ));
    assert!(matches!(
        JSON.parse_str("{\"stid\": \"20240101-app1-1\"}"),
        Err(ParseError::MissingStatus {
            format: Format::AutoDnsJson,
            ..
        })
    ));
    // An event notification pushed without its envelope reads as inside it (S0905).
    let n = JSON
        .parse_str("{\"id\": 1, \"notify\": {\"type\": \"domain_away\"}}")
        .expect("a bare notify parses");
    assert_eq!(n.status.map(|s| s.code).as_deref(), Some("S0905"));
    assert_eq!(
        JSON.parse_str("{\"status\": {\"code\": \"OK\"}}"),
        Err(ParseError::BadStatus {
            line: 0,
            value: "OK".into()
        })
    );
}

#[test]
fn jobs_that_are_not_domain_orders_keep_the_envelope_status() {
    let json = r#"{"stid": "s1", "status": {"code": "S0905", "text": "polled"},
        "data": [{"id": 5, "job": {"status": "SUCCESS", "action": "create"},
                  "object": {"type": "Certificate", "value": "domain.de"}}]}"#;
    let n = JSON.parse_str(json).expect("parses");
    assert_eq!(n.status.map(|s| s.code).as_deref(), Some("S0905"));
    assert_eq!(
        n.domain, None,
        "a certificate's common name is not the order's domain"
    );
    assert!(
        n.diagnostics
            .iter()
            .any(|d| d.message.contains("Certificate"))
    );
}

#[test]
fn transfer_start_without_a_type_is_inferred_and_says_so() {
    let n = check(&Document {
        file: "transfer_start-untyped-poll.json",
        stid: "20220119-app3-dev-5021",
        domain: Some("example-untyped.org"),
        event_type: None,
        timetable: [
            Some("2022-01-19T09:54:42+00:00"),
            Some("2022-01-22T09:54:42+00:00"),
            None,
            Some("2022-01-24T03:54:42+00:00"),
            Some("2022-01-24T09:54:42+00:00"),
        ],
        ..POLLED
    });
    assert!(n.is_untyped_transfer_start());
    let messages: Vec<&str> = n.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "notify has no type; it carries a transfer timetable with a start and no answer, so \
             it is read as the start (or an update) of an outgoing transfer"
        ]
    );
}

#[test]
fn a_notify_without_a_type_or_a_timetable_says_so() {
    let n = JSON
        .parse_str(
            r#"{"status":{"code":"S0905"},"data":[{"notify":{},
                "object":{"type":"Domain","value":"example.net"}}]}"#,
        )
        .expect("parses");
    assert!(!n.is_untyped_transfer_start());
    let messages: Vec<&str> = n.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages, ["notify has no type; event type unknown"]);
}

#[test]
fn a_ctid_with_a_nul_is_refused() {
    // A JSON string may hold `\u0000`; index keys are the ctid and a NUL, so it must not.
    let err = JSON.refused("bad/0101-ctid-nul-poll.json");
    assert_eq!(
        err,
        ParseError::ControlCharacter {
            what: "ctid".into(),
            value: "order-17\0b".into(),
            character: '\0',
            place: " at data[0].ctid".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "the ctid \"order-17\\0b\" holds the control character '\\0' at data[0].ctid; a ctid \
         or domain must not"
    );
    let domain = JSON
        .parse_str(
            r#"{"status":{"code":"S0102","text":"ok"},"object":{"type":"Domain","value":"a\u0001b.com"}}"#,
        )
        .expect_err("a control character in the domain");
    assert!(
        domain
            .to_string()
            .starts_with("the domain \"a\\u{1}b.com\" holds the control character"),
        "{domain}"
    );
}

#[test]
fn a_bare_poll_message_reads_as_inside_its_envelope() {
    for (envelope, bare) in [
        (
            "transfer_start-poll-json.json",
            "transfer_start-push-bare.json",
        ),
        ("0101-failed-poll.json", "0101-failed-push-bare.json"),
    ] {
        let e = JSON.read(envelope);
        let b = JSON.read(bare);
        support::assert_same_message(&e, &b, bare);
        assert_eq!(b.fields.len(), count_fixture_scalars(&JSON.bytes(bare)));
    }
    // A notify: the envelope's stid is not the message's, and its S0905 is given and said.
    let b = JSON.read("transfer_start-push-bare.json");
    assert_eq!(b.stid, None);
    assert_eq!(b.status.as_ref().map(|s| s.code.as_str()), Some("S0905"));
    assert!(
        b.diagnostics
            .iter()
            .any(|d| d.message.contains("without its envelope")),
        "{:?}",
        b.diagnostics
    );
    // A job carries a stid of its own, and a status synthesised as in the envelope.
    let b = JSON.read("0101-failed-push-bare.json");
    assert_eq!(b.stid.as_deref(), Some("20240212-app1-55102"));
    assert_eq!(b.status.as_ref().map(|s| s.code.as_str()), Some("E0101"));
    assert!(
        !b.diagnostics
            .iter()
            .any(|d| d.message.contains("without its envelope"))
    );
}

#[test]
fn a_bare_job_whose_status_cannot_be_synthesised_keeps_the_envelope_status() {
    // As inside the poll envelope: the job is not a domain order, the S0905 stands.
    let json = r#"{"id": 5, "job": {"status": "SUCCESS", "action": "create"},
        "object": {"type": "Certificate", "value": "domain.de"}}"#;
    let n = JSON.parse_str(json).expect("parses");
    assert_eq!(n.status.map(|s| s.code).as_deref(), Some("S0905"));
    assert!(
        n.diagnostics
            .iter()
            .any(|d| d.message.contains("without its envelope"))
    );
}
