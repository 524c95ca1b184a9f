//! AutoDNS JSON: every fixture under `fixtures/autodns/json/` with what it must read as, and the
//! bad inputs with the error they must be refused with.

use ledger_parser::{Format, Notification, ParseError, ParseOptions, Provider, StatusClass, parse};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../fixtures/autodns/json/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn forced() -> ParseOptions {
    ParseOptions {
        format: Some(Format::AutoDnsJson),
        ..Default::default()
    }
}

/// Parses a fixture sniffed and forced; both must agree.
fn read(name: &str) -> Notification {
    let bytes = fixture(name);
    let sniffed = parse(&bytes, &ParseOptions::default());
    let forced = parse(&bytes, &forced());
    assert_eq!(
        sniffed, forced,
        "{name}: sniffing must pick the JSON reader"
    );
    forced.unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// What a fixture must read as.
struct Expect {
    file: &'static str,
    task: &'static str,
    code: &'static str,
    class: StatusClass,
    text: Option<&'static str>,
    /// True when the status had to be synthesised from `job.action` + `job.status`.
    synthesised: bool,
    ctid: Option<&'static str>,
    stid: &'static str,
    domain: Option<&'static str>,
    notices: &'static [&'static str],
    event_type: Option<&'static str>,
    created: Option<&'static str>,
    /// start, reminder, autoack, autonack, end (UTC, RFC 3339).
    timetable: [Option<&'static str>; 5],
    owner_c: Option<&'static str>,
}

const BASE: Expect = Expect {
    file: "",
    task: "0905",
    code: "S0905",
    class: StatusClass::Success,
    text: Some("The notification was polled successfully."),
    synthesised: false,
    ctid: None,
    stid: "",
    domain: None,
    notices: &[],
    event_type: None,
    created: None,
    timetable: [None; 5],
    owner_c: None,
};

/// Scalars counted independently of the parser, with serde_json's own tree.
fn count_scalars(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Object(map) => map.values().map(count_scalars).sum(),
        serde_json::Value::Array(items) => items.iter().map(count_scalars).sum(),
        _ => 1,
    }
}

fn check(e: &Expect) {
    let n = read(e.file);
    let file = e.file;
    assert_eq!(n.provider, Provider::AutoDns, "{file}");
    assert_eq!(n.format, Format::AutoDnsJson, "{file}");
    assert_eq!(n.task.as_deref(), Some(e.task), "{file}: task");
    let status = n
        .status
        .as_ref()
        .expect("a parsed notification has a status");
    assert_eq!(status.code, e.code, "{file}: status code");
    assert_eq!(status.class, e.class, "{file}: status class");
    assert_eq!(status.text.as_deref(), e.text, "{file}: status text");
    let said = n
        .diagnostics
        .iter()
        .any(|d| d.message.contains("synthesised"));
    assert_eq!(
        said, e.synthesised,
        "{file}: synthesis diagnostic {:?}",
        n.diagnostics
    );
    assert_eq!(n.ctid.as_deref(), e.ctid, "{file}: ctid");
    assert_eq!(n.stid.as_deref(), Some(e.stid), "{file}: stid");
    assert_eq!(
        n.domain.as_ref().map(|d| d.as_str()),
        e.domain,
        "{file}: domain"
    );
    let notices: Vec<&str> = n.notices.iter().map(|x| x.code.as_str()).collect();
    assert_eq!(notices, e.notices, "{file}: notices");
    assert_eq!(n.event_type.as_deref(), e.event_type, "{file}: event type");
    assert_eq!(
        n.created.map(|c| c.to_rfc3339()).as_deref(),
        e.created,
        "{file}: created"
    );
    let t = &n.timetable;
    let times = [&t.start, &t.reminder, &t.autoack, &t.autonack, &t.end]
        .map(|r| r.as_ref().and_then(|r| r.utc).map(|u| u.to_rfc3339()));
    assert_eq!(
        times.each_ref().map(|t| t.as_deref()),
        e.timetable,
        "{file}: timetable"
    );
    assert_eq!(n.owner_c.as_deref(), e.owner_c, "{file}: owner-c");
    let value: serde_json::Value =
        serde_json::from_slice(&fixture(file)).expect("fixture is valid JSON");
    assert_eq!(
        n.fields.len(),
        count_scalars(&value),
        "{file}: one field per scalar"
    );
}

#[test]
fn transfer_start_event_from_the_vendor_page() {
    check(&Expect {
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
        ..BASE
    });
}

#[test]
fn transfer_start_event_with_autoack() {
    check(&Expect {
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
        ..BASE
    });
    let n = read("transfer_start-autoack-poll.json");
    let autoack = n.timetable.autoack.expect("autoAck read");
    assert_eq!(
        autoack.raw, "2024-03-09T09:12:40.000+0100",
        "the raw text is kept"
    );
}

#[test]
fn domain_away_event() {
    check(&Expect {
        file: "domain_away-poll.json",
        // The polled message's own stid, not the poll call's.
        stid: "20240311-app1-90190",
        domain: Some("example-away.eu"),
        event_type: Some("domain_away"),
        created: Some("2024-03-11T15:40:05+00:00"),
        ..BASE
    });
}

#[test]
fn autoupdate_and_contact_events() {
    check(&Expect {
        file: "autoupdate_dns_success-poll-json.json",
        stid: "20210512-app3-dev-10782",
        domain: Some("example.aq"),
        event_type: Some("autoupdate_dns_success"),
        created: Some("2021-05-12T12:42:26+00:00"),
        owner_c: Some("23252437"),
        ..BASE
    });
    check(&Expect {
        file: "contact_deleted-poll-json.json",
        stid: "20220610-app4-226953",
        event_type: Some("contact_deleted"),
        ..BASE
    });
}

#[test]
fn bare_job_messages_get_a_synthesised_status() {
    check(&Expect {
        file: "0101-success-poll-json.json",
        task: "0101",
        code: "S0101",
        text: None,
        synthesised: true,
        stid: "20220405-app2-dev-95164",
        domain: Some("exampledomain.com"),
        created: Some("2022-04-05T10:42:23+00:00"),
        owner_c: Some("23252437"),
        ..BASE
    });
    check(&Expect {
        file: "0104-transfer-start-poll-json.json",
        task: "0104",
        code: "N0104",
        class: StatusClass::InProgress,
        text: None,
        synthesised: true,
        stid: "20220405-app3-dev-9652",
        domain: Some("exampledomain.eu"),
        created: Some("2022-04-05T14:23:34+00:00"),
        ..BASE
    });
}

#[test]
fn polled_failed_create_with_ctid() {
    check(&Expect {
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
        ..BASE
    });
    let n = read("0101-failed-poll.json");
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
    check(&Expect {
        file: "N0102-realtime-json.json",
        task: "0102",
        code: "N0102",
        class: StatusClass::InProgress,
        text: Some("Domain-Aktualisierung erfolgreich gestartet."),
        stid: "20190701-app3-dev-9048",
        domain: Some("example.com"),
        ..BASE
    });
    check(&Expect {
        file: "0103101-success-realtime.json",
        task: "0103101",
        code: "S0103101",
        text: Some("Domain cancelation has been created successfully."),
        ctid: Some("cancel-7781"),
        stid: "20180927-stid",
        domain: Some("example-cancel.com"),
        notices: &["MSG010315"],
        ..BASE
    });
}

#[test]
fn fields_keep_input_order_with_json_paths() {
    let n = read("transfer_start-poll-json.json");
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

fn parse_str(json: &str) -> Result<Notification, ParseError> {
    parse(json.as_bytes(), &forced())
}

#[test]
fn truncated_json_is_refused_with_its_position() {
    let bytes = fixture("bad/0103101-success-realtime-truncated.json");
    let err = parse(&bytes, &forced()).expect_err("truncated JSON is refused");
    assert_eq!(parse(&bytes, &ParseOptions::default()), Err(err.clone()));
    match err {
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
    match parse_str("{\n  \"stid\": \"x\",\n  \"status\": {\"code\": \"S0101\"\n") {
        Err(ParseError::Json { line: 4, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn valid_json_of_no_known_shape_is_refused() {
    assert!(matches!(
        parse_str("[1, 2]"),
        Err(ParseError::Unrecognised { .. })
    ));
    assert!(matches!(
        parse_str("{\"name\": \"x\"}"),
        Err(ParseError::Unrecognised { .. })
    ));
    assert!(matches!(
        parse_str("{\"stid\": \"20240101-app1-1\"}"),
        Err(ParseError::MissingStatus {
            format: Format::AutoDnsJson,
            ..
        })
    ));
    // An event notification pushed without its envelope carries no status at all.
    assert!(matches!(
        parse_str("{\"id\": 1, \"notify\": {\"type\": \"domain_away\"}}"),
        Err(ParseError::MissingStatus { .. })
    ));
    assert_eq!(
        parse_str("{\"status\": {\"code\": \"OK\"}}"),
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
    let n = parse_str(json).expect("parses");
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
