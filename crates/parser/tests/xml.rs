//! AutoDNS XML: every fixture under `fixtures/autodns/xml/` with what it must read as, and every
//! bad fixture with the error and position it must be refused with.

mod support;

use ledger_parser::{Field, Format, ParseError, StatusClass};
use support::{Document, Fixtures, POLLED};

const XML: Fixtures = Fixtures {
    dir: "autodns/xml",
    format: Format::AutoDnsXml,
};

/// Leaf elements counted independently of the parser: elements that hold no other element.
fn count_leaves(xml: &str) -> usize {
    let tags: Vec<&str> = xml
        .split('<')
        .skip(1)
        .filter_map(|t| t.split('>').next())
        .filter(|t| !t.starts_with('?') && !t.starts_with('!'))
        .collect();
    let mut leaves = 0;
    let mut last_was_start = false;
    for tag in tags {
        if tag.ends_with('/') {
            leaves += 1;
            last_was_start = false;
        } else if tag.starts_with('/') {
            if last_was_start {
                leaves += 1;
            }
            last_was_start = false;
        } else {
            last_was_start = true;
        }
    }
    leaves
}

fn count_fixture_leaves(bytes: &[u8]) -> usize {
    count_leaves(std::str::from_utf8(bytes).expect("fixtures are UTF-8"))
}

fn check(e: &Document) -> ledger_parser::Notification {
    XML.check(e, count_fixture_leaves, "leaf element")
}

#[test]
fn transfer_start_event_notification_with_autonack() {
    check(&Document {
        file: "transfer_start-poll.xml",
        stid: "20210503-app1-test-31807",
        domain: Some("example.com"),
        event_type: Some("transfer_start"),
        // Naive Berlin times, CEST (+02:00) in May.
        created: Some("2021-05-03T09:05:57+00:00"),
        timetable: [
            Some("2021-05-03T09:05:56+00:00"),
            Some("2021-05-06T09:05:56+00:00"),
            None,
            Some("2021-05-08T03:05:56+00:00"),
            Some("2021-05-08T09:05:56+00:00"),
        ],
        ..POLLED
    });
}

#[test]
fn domain_away_event_notification() {
    check(&Document {
        file: "domain_away-poll.xml",
        stid: "20241027-app4-7710",
        domain: Some("example-away.com"),
        event_type: Some("domain_away"),
        // 02:30 happens twice in Berlin on 2024-10-27: the earlier (CEST) instant is taken.
        created: Some("2024-10-27T00:30:00+00:00"),
        ..POLLED
    });
    let n = XML.read("domain_away-poll.xml");
    assert!(
        n.diagnostics
            .iter()
            .any(|d| d.message.contains("DST overlap")),
        "an ambiguous wall-clock time is flagged: {:?}",
        n.diagnostics
    );
}

#[test]
fn polled_create_success_takes_the_jobs_status_and_ctid() {
    check(&Document {
        file: "0101-success-poll.xml",
        task: "0101",
        code: "S0101",
        text: Some("Die Domain wurde erfolgreich registriert."),
        ctid: Some("bf296d8dffc4"),
        stid: "20220110-app2-40412",
        domain: Some("example.com"),
        created: Some("2022-01-10T13:22:31+00:00"),
        owner_c: Some("10465800"),
        ..POLLED
    });
    let n = XML.read("0101-success-poll.xml");
    let ctid = n
        .fields
        .iter()
        .find(|f| f.key == "ctid")
        .expect("ctid is a field");
    assert_eq!(
        *ctid,
        Field {
            block: "response/result/data/message/job".into(),
            key: "ctid".into(),
            value: "bf296d8dffc4".into(),
            line: 41,
        }
    );
    // Repeated elements are all kept.
    let nservers: Vec<&str> = n
        .fields
        .iter()
        .filter(|f| f.block == "response/result/data/message/job/domain/nserver")
        .map(|f| f.value.as_str())
        .collect();
    assert_eq!(nservers, ["ns1.example.com", "ns2.example.com"]);
}

#[test]
fn polled_create_failure() {
    check(&Document {
        file: "0101-failed-poll.xml",
        task: "0101",
        code: "E0101",
        class: StatusClass::Permanent,
        text: Some("Domain could not be registered."),
        ctid: Some("201005061621"),
        stid: "20100506-app1-5522",
        domain: Some("example-fail.net"),
        created: Some("2010-05-06T14:21:44+00:00"),
        ..POLLED
    });
}

#[test]
fn realtime_create_in_progress() {
    check(&Document {
        file: "N0101-realtime.xml",
        task: "0101",
        code: "N0101",
        class: StatusClass::InProgress,
        text: Some("The domain registration was started successfully."),
        ctid: Some("order-2024-000117"),
        stid: "20240115-app3-88120",
        domain: Some("example-new.org"),
        ..POLLED
    });
}

#[test]
fn realtime_update_with_a_notice() {
    check(&Document {
        file: "S0102-authinfo-deleted-realtime.xml",
        task: "0102",
        code: "S0102",
        text: Some("The domain has been updated successfully"),
        ctid: Some("qs1282921089"),
        stid: "20100827-app2-11873",
        domain: Some("example.de"),
        notices: &["MSG011304"],
        ..POLLED
    });
    let n = XML.read("S0102-authinfo-deleted-realtime.xml");
    assert_eq!(
        n.notices.first().and_then(|x| x.text.as_deref()),
        Some("The existing AuthInfo was deleted by the request.")
    );
}

#[test]
fn vendor_sample_with_broken_end_tag_is_refused_where_the_mismatch_shows() {
    // `<text>…successfully./text>` never closes; the reader finds `</status>` instead, on
    // line 26 at the `<` after five tabs.
    match XML.refused("bad/0104-transfer-start-poll-vendor-typo.xml") {
        ParseError::Xml {
            line,
            column,
            reason,
        } => {
            assert_eq!((line, column), (26, 6));
            assert!(
                reason.contains("text") && reason.contains("status"),
                "{reason}"
            );
        }
        other => panic!("expected an XML error, got {other:?}"),
    }
}

#[test]
fn vendor_sample_with_duplicated_tail_is_refused() {
    // Line 22: `</response>180213-app2-17296</stid>`; the stray text starts at column 12.
    match XML.refused("bad/N0102-realtime-duplicated-tail.xml") {
        ParseError::Xml {
            line,
            column,
            reason,
        } => {
            assert_eq!((line, column), (22, 12));
            assert!(reason.contains("after the root element"), "{reason}");
        }
        other => panic!("expected an XML error, got {other:?}"),
    }
}

#[test]
fn truncated_document_is_refused_at_its_end() {
    match XML.refused("bad/0101-success-poll-truncated.xml") {
        ParseError::Xml { line, column, .. } => assert_eq!((line, column), (36, 13)),
        other => panic!("expected an XML error, got {other:?}"),
    }
}

#[test]
fn unclosed_elements_and_second_roots_are_refused() {
    let unclosed = "<response>\n  <result>\n";
    match XML.parse_str(unclosed) {
        Err(ParseError::Xml { line, reason, .. }) => {
            assert_eq!(line, 3);
            assert!(reason.contains("<result>"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let two_roots = "<response><stid>a</stid></response>\n<response/>";
    match XML.parse_str(two_roots) {
        Err(ParseError::Xml {
            line: 2,
            column: 1,
            reason,
        }) => {
            assert!(
                reason.contains("after the end of the root element"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_response_without_status_or_with_a_bad_code_is_refused() {
    match XML.parse_str("<response><stid>x</stid></response>") {
        Err(ParseError::MissingStatus {
            format: Format::AutoDnsXml,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let bad =
        "<response>\n<result>\n<status>\n<code>X0101</code>\n</status>\n</result>\n</response>";
    assert_eq!(
        XML.parse_str(bad),
        Err(ParseError::BadStatus {
            line: 4,
            value: "X0101".into()
        })
    );
}

#[test]
fn a_bare_status_block_reads_as_its_status() {
    let block = "<status>\n  <type>notify</type>\n  <code>N0101</code>\n  \
                 <text>The domain registration was started successfully.</text>\n</status>\n";
    let n = XML.parse_str(block).expect("a bare status block is read");
    let status = n.status.expect("status");
    assert_eq!(
        (status.code.as_str(), status.class),
        ("N0101", StatusClass::InProgress)
    );
    assert_eq!(n.task.as_deref(), Some("0101"));
}

#[test]
fn notify_without_type_takes_its_telling_element_and_says_so() {
    let xml = "<response><result><data><message><notify>\
               <domain><name>example.net</name></domain>\
               <transfer><start>2021-01-10 12:00:00</start></transfer>\
               </notify></message></data>\
               <status><code>S0905</code></status></result></response>";
    let n = XML.parse_str(xml).expect("parses");
    assert_eq!(n.event_type.as_deref(), Some("transfer"));
    assert!(n.is_untyped_transfer_start());
    let messages: Vec<&str> = n.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "notify has no <type>; it carries a transfer timetable with a start and no answer, \
             so it is read as the start (or an update) of an outgoing transfer"
        ]
    );
    // Winter: CET, +01:00.
    let start = n
        .timetable
        .start
        .and_then(|t| t.utc)
        .map(|u| u.to_rfc3339());
    assert_eq!(start.as_deref(), Some("2021-01-10T11:00:00+00:00"));
}

#[test]
fn entities_are_unescaped_and_attributes_kept() {
    let xml = "<response lang=\"de\"><result><status><code>S0102</code>\
               <text>A &amp; B</text></status></result></response>";
    let n = XML.parse_str(xml).expect("parses");
    assert_eq!(n.status.and_then(|s| s.text).as_deref(), Some("A & B"));
    assert!(
        n.fields
            .iter()
            .any(|f| f.block == "response" && f.key == "@lang" && f.value == "de")
    );
}

#[test]
fn the_vendors_untyped_transfer_start_is_inferred_and_says_so() {
    // The vendor's `transfer_start` example as its page shows it (no `<type>`), completed.
    let n = check(&Document {
        file: "transfer_start-untyped-poll.xml",
        stid: "20210503-app1-test-31811",
        domain: Some("example.com"),
        event_type: Some("transfer"),
        created: Some("2021-05-03T09:05:57+00:00"),
        timetable: [
            Some("2021-05-03T09:05:56+00:00"),
            Some("2021-05-06T09:05:56+00:00"),
            None,
            Some("2021-05-08T03:05:56+00:00"),
            Some("2021-05-08T09:05:56+00:00"),
        ],
        ..POLLED
    });
    assert!(n.is_untyped_transfer_start());
    let said: Vec<(Option<u32>, &str)> = n
        .diagnostics
        .iter()
        .map(|d| (d.line, d.message.as_str()))
        .collect();
    assert_eq!(
        said,
        [(
            Some(9),
            "notify has no <type>; it carries a transfer timetable with a start and no answer, \
             so it is read as the start (or an update) of an outgoing transfer"
        )]
    );
}

#[test]
fn conflicting_domains_get_a_diagnostic() {
    let xml = "<response><result><data><message><job>\n\
               <domain><name>example.com</name></domain>\n\
               <status><code>S0102</code><object><type>domain</type>\n\
               <value>example.net</value></object></status>\n\
               </job></message></data>\n\
               <status><code>S0905</code></status></result></response>";
    let n = XML.parse_str(xml).expect("parses");
    assert_eq!(n.domain.as_ref().map(|d| d.as_str()), Some("example.com"));
    let said: Vec<(Option<u32>, &str)> = n
        .diagnostics
        .iter()
        .map(|d| (d.line, d.message.as_str()))
        .collect();
    assert_eq!(
        said,
        [(
            Some(4),
            "<value> names the domain example.net, but line 2 names example.com; example.com \
             stands"
        )]
    );
}

#[test]
fn a_domain_with_a_control_character_is_refused() {
    let xml = "<response><result><data><message><job>\n\
               <domain><name>a\u{1}b.com</name></domain>\n\
               <status><code>S0102</code></status>\n\
               </job></message></data>\n\
               <status><code>S0905</code></status></result></response>";
    let err = XML.parse_str(xml).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "the domain \"a\\u{1}b.com\" holds the control character '\\u{1}' on line 2; a ctid or \
         domain must not"
    );
}

#[test]
fn a_bare_poll_message_reads_as_inside_its_envelope() {
    for (envelope, bare) in [
        ("transfer_start-poll.xml", "transfer_start-push-bare.xml"),
        ("0101-failed-poll.xml", "0101-failed-push-bare.xml"),
    ] {
        let e = XML.read(envelope);
        let b = XML.read(bare);
        support::assert_same_message(&e, &b, bare);
        // The envelope's stid is not the message's.
        assert!(e.stid.is_some(), "{envelope}: stid");
        assert_eq!(b.stid, None, "{bare}: stid");
        // Every leaf of the message is a field, under the message's own path.
        assert_eq!(b.fields.len(), count_fixture_leaves(&XML.bytes(bare)));
        assert!(b.fields.iter().all(|f| f.block.starts_with("message")));
    }
    // A notify: its status is the envelope's S0905, and the parser says so.
    let b = XML.read("transfer_start-push-bare.xml");
    assert_eq!(b.status.as_ref().map(|s| s.code.as_str()), Some("S0905"));
    assert!(
        b.diagnostics
            .iter()
            .any(|d| d.message.contains("without its envelope")),
        "{:?}",
        b.diagnostics
    );
    // A job with a status of its own keeps it, and nothing is said.
    let b = XML.read("0101-failed-push-bare.xml");
    assert_eq!(b.status.as_ref().map(|s| s.code.as_str()), Some("E0101"));
    assert!(b.diagnostics.is_empty(), "{:?}", b.diagnostics);
}

#[test]
fn a_bare_message_without_a_declaration_is_sniffed_as_xml() {
    let body = "<message>\n<id>7</id>\n<notify>\n<domain><name>example.net</name></domain>\n\
                <type>domain_away</type>\n</notify>\n</message>\n";
    let n = ledger_parser::parse(body.as_bytes(), &ledger_parser::ParseOptions::default())
        .expect("a bare message parses");
    assert_eq!(n.format, Format::AutoDnsXml);
    assert_eq!(n.event_type.as_deref(), Some("domain_away"));
    assert_eq!(n.domain.as_ref().map(|d| d.as_str()), Some("example.net"));
    // Another root element is still refused, and the error names both roots it reads.
    match XML.parse_str("<messages><id>7</id></messages>") {
        Err(ParseError::MissingStatus { hint, .. }) => {
            assert!(hint.contains("<response> or <message>"), "{hint}")
        }
        other => panic!("{other:?}"),
    }
}
