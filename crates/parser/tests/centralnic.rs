//! CentralNic Reseller responses: every fixture under `fixtures/centralnic/` with what it must
//! read as, the bad inputs with their errors, and the return-code catalog against seed 000.

mod support;

use ledger_parser::return_codes::{self, ReturnCodeClass};
use ledger_parser::{Format, ParseError, ParseOptions, Provider, StatusClass, parse};
use support::Fixtures;

const CENTRALNIC: Fixtures = Fixtures {
    dir: "centralnic",
    format: Format::CentralNic,
};

/// `key = value` lines counted independently of the parser.
fn count_key_value_lines(name: &str) -> usize {
    String::from_utf8(CENTRALNIC.bytes(name))
        .expect("UTF-8")
        .lines()
        .filter(|l| l.contains('='))
        .count()
}

/// (file, code, class, description, properties, domain)
type Row = (
    &'static str,
    u16,
    StatusClass,
    &'static str,
    usize,
    Option<&'static str>,
);

const OK: &str = "Command completed successfully";
use StatusClass::{Permanent, Success, Temporary};

const RESPONSES: &[Row] = &[
    (
        "byteinternet_checkdomain_210.txt",
        210,
        Success,
        "Domain name available",
        0,
        None,
    ),
    ("hxdoc_adddomain_200.txt", 200, Success, OK, 6, None),
    (
        "hxdoc_checkdomain_211.txt",
        211,
        Success,
        "Domain name not available",
        0,
        None,
    ),
    ("hxdoc_checkdomains_200.txt", 200, Success, OK, 14, None),
    (
        "hxdoc_checkdomaintrade_218.txt",
        218,
        Success,
        "Request is available",
        44,
        None,
    ),
    (
        "hxdoc_checkdomaintransfer_219.txt",
        219,
        Success,
        "Request is not available; DOMAIN TRANSFER IS PROHIBITED BY STATUS",
        35,
        None,
    ),
    (
        "hxdoc_checknameserver_212.txt",
        212,
        Success,
        "Available",
        0,
        None,
    ),
    ("hxdoc_deleteevent_200.txt", 200, Success, OK, 0, None),
    (
        "hxdoc_queryeventlist_wide_200.txt",
        200,
        Success,
        OK,
        21,
        None,
    ),
    (
        "hxdoc_queryforeigntransferlist_200.txt",
        200,
        Success,
        OK,
        23,
        None,
    ),
    (
        "hxdoc_querytransferlist_200.txt",
        200,
        Success,
        OK,
        17,
        None,
    ),
    ("hxdoc_statusdomain_200.txt", 200, Success, OK, 57, None),
    (
        "hxdoc_statusdomaintransfer_200.txt",
        200,
        Success,
        OK,
        6,
        None,
    ),
    (
        "hxdoc_statusevent_200_urlencoded_info.txt",
        200,
        Success,
        OK,
        5,
        Some("usertransferperiodtest.ag"),
    ),
    (
        "hxdoc_transferdomain_200.txt",
        200,
        Success,
        "Command completed successfully; domain transfer initiated",
        0,
        None,
    ),
    (
        "phpsdk_auth_failed_530.txt",
        530,
        Permanent,
        "Authentication failed",
        0,
        None,
    ),
    ("phpsdk_checkdomains_211.txt", 200, Success, OK, 6, None),
    (
        "phpsdk_checkdomains_mixed_211_541.txt",
        200,
        Success,
        OK,
        8,
        None,
    ),
    ("phpsdk_endsession_200.txt", 200, Success, OK, 0, None),
    (
        "phpsdk_entity_not_found_545.txt",
        545,
        Permanent,
        "Entity reference not found",
        0,
        None,
    ),
    (
        "phpsdk_invalid_attribute_name_503_LAST.txt",
        503,
        Permanent,
        "Invalid attribute name; LAST",
        0,
        None,
    ),
    (
        "phpsdk_invalid_attribute_name_503_LIMIT.txt",
        503,
        Permanent,
        "Invalid attribute name; LIMIT",
        0,
        None,
    ),
    (
        "phpsdk_querydomainlist_last_page_count58.txt",
        200,
        Success,
        OK,
        64,
        None,
    ),
    (
        "phpsdk_querydomainlist_page1_limit100.txt",
        200,
        Success,
        OK,
        106,
        None,
    ),
    (
        "phpsdk_querydomainlist_page2.txt",
        200,
        Success,
        OK,
        8,
        None,
    ),
    (
        "phpsdk_querydomainlist_paged_first_last_total.txt",
        200,
        Success,
        OK,
        8,
        None,
    ),
    ("phpsdk_startsession_200.txt", 200, Success, OK, 2, None),
    ("phpsdk_statusaccount_200.txt", 200, Success, OK, 6, None),
    (
        "own_adddomain_200_domain.txt",
        200,
        Success,
        OK,
        6,
        Some("example-new.com"),
    ),
    (
        "own_adddomain_504_missing_attribute.txt",
        504,
        Permanent,
        "Missing required attribute; DOMAIN",
        0,
        None,
    ),
    (
        "own_temporary_421_crlf.txt",
        421,
        Temporary,
        "Command failed due to server error. Client should try again",
        0,
        None,
    ),
    (
        "own_statusevent_foreign_transfer_pending.txt",
        200,
        Success,
        OK,
        14,
        Some("example-away.com"),
    ),
    (
        "own_statusevent_foreign_transfer_pending_no_dates.txt",
        200,
        Success,
        OK,
        12,
        Some("example-away.com"),
    ),
    (
        "own_statusevent_urlencoded_data.txt",
        200,
        Success,
        OK,
        10,
        Some("example-encoded.com"),
    ),
];

#[test]
fn url_encoded_event_data_is_decoded() {
    // `property[data][0] = domain%3aexample%2dencoded.com`: the domain is read once decoded.
    let n = CENTRALNIC.read("own_statusevent_urlencoded_data.txt");
    assert_eq!(
        n.event_type.as_deref(),
        Some("DOMAIN_TRANSFER/FOREIGN_TRANSFER_PENDING")
    );
    assert_eq!(
        n.domain.as_ref().map(|d| d.as_str()),
        Some("example-encoded.com")
    );
    let response = n.centralnic.as_ref().expect("the response is kept");
    let data: Vec<&str> = response.values("data").collect();
    assert_eq!(
        data,
        [
            "domain:example-encoded.com",
            "current registrar:ourregistrar",
            "requesting registrar:otherregistrar",
            "execute date:2024-04-10 09:30:00",
            "transfer status:PENDING"
        ]
    );
    // The field keeps the value as written.
    assert!(
        n.fields
            .iter()
            .any(|f| f.key == "property[data][0]" && f.value == "domain%3aexample%2dencoded.com")
    );
    assert!(n.diagnostics.is_empty(), "{:?}", n.diagnostics);
}

#[test]
fn a_domain_with_a_control_character_is_refused() {
    let err = CENTRALNIC
        .parse_str(
            "[RESPONSE]\ncode = 200\nproperty[class][0] = DOMAIN_TRANSFER\n\
                    property[subclass][0] = TRANSFER_PENDING\n\
                    property[data][0] = domain%3aa%00b.com\nEOF\n",
        )
        .expect_err("a NUL in the domain");
    assert_eq!(
        err.to_string(),
        "the domain \"a\\0b.com\" holds the control character '\\0' in the event's \
         property[data] or property[object id]; a ctid or domain must not"
    );
}

#[test]
fn every_response_reads_with_its_code_class_and_properties() {
    for &(file, code, class, description, properties, domain) in RESPONSES {
        let n = CENTRALNIC.read(file);
        assert_eq!(n.provider, Provider::CentralNic, "{file}");
        assert_eq!(n.format, Format::CentralNic, "{file}");
        assert_eq!(n.task, None, "{file}: CentralNic has no task code");
        let status = n.status.as_ref().expect("status");
        assert_eq!(status.code, code.to_string(), "{file}: code");
        assert_eq!(status.prefix, None, "{file}");
        assert_eq!(status.class, class, "{file}: class");
        assert_eq!(status.text.as_deref(), Some(description), "{file}: text");
        let response = n.centralnic.as_ref().expect("the response is kept");
        assert_eq!(response.code, code, "{file}");
        assert_eq!(response.description, description, "{file}");
        assert_eq!(response.properties.len(), properties, "{file}: properties");
        assert_eq!(
            n.domain.as_ref().map(|d| d.as_str()),
            domain,
            "{file}: domain"
        );
        assert_eq!(
            n.fields.len(),
            count_key_value_lines(file),
            "{file}: one field per line"
        );
        assert!(
            n.fields.iter().all(|f| f.block == "response" && f.line > 0),
            "{file}"
        );
        assert!(n.diagnostics.is_empty(), "{file}: {:?}", n.diagnostics);
    }
}

#[test]
fn runtime_and_queuetime_are_optional_and_in_any_order() {
    let with = CENTRALNIC
        .read("phpsdk_querydomainlist_page2.txt")
        .centralnic
        .expect("response");
    assert_eq!(
        (with.runtime.as_deref(), with.queuetime.as_deref()),
        (Some("0.011"), Some("0"))
    );
    let without = CENTRALNIC
        .read("hxdoc_checkdomain_211.txt")
        .centralnic
        .expect("response");
    assert_eq!((without.runtime, without.queuetime), (None, None));
}

#[test]
fn property_names_are_lower_cased_and_may_hold_spaces() {
    let account = CENTRALNIC
        .read("phpsdk_statusaccount_200.txt")
        .centralnic
        .expect("response");
    assert_eq!(account.property("credit threshold", 0), Some("22000.00"));
    let upper = CENTRALNIC
        .read("hxdoc_adddomain_200.txt")
        .centralnic
        .expect("response");
    assert_eq!(
        upper.properties.first().map(|p| p.name.as_str()),
        Some("accountingdate")
    );
    let checks = CENTRALNIC
        .read("phpsdk_checkdomains_mixed_211_541.txt")
        .centralnic
        .expect("response");
    assert_eq!(
        checks.property("domaincheck", 1),
        Some("541 Invalid attribute value")
    );
    assert_eq!(
        checks.property("DOMAINCHECK", 2),
        Some("211 Domain name not available")
    );
}

#[test]
fn values_split_on_the_first_equals_sign() {
    let n = CENTRALNIC.read("own_adddomain_200_domain.txt");
    let response = n.centralnic.expect("response");
    assert_eq!(response.property("auth", 0), Some("Xy7=Kp2+Qr9/Lm"));
    assert_eq!(
        response.property("created date", 0),
        Some("2024-04-02 09:31:07")
    );
}

#[test]
fn other_top_level_keys_are_kept_as_fields() {
    let n = CENTRALNIC.read("hxdoc_transferdomain_200.txt");
    let pending = n
        .fields
        .iter()
        .find(|f| f.key == "PENDING")
        .expect("PENDING kept");
    assert_eq!((pending.value.as_str(), pending.line), ("1", 4));
}

#[test]
fn status_events_carry_type_domain_date_and_decoded_info() {
    let n = CENTRALNIC.read("own_statusevent_foreign_transfer_pending.txt");
    assert_eq!(
        n.event_type.as_deref(),
        Some("DOMAIN_TRANSFER/FOREIGN_TRANSFER_PENDING")
    );
    assert_eq!(
        n.domain.as_ref().map(|d| d.as_str()),
        Some("example-away.com")
    );
    // 10:15:02 Berlin wall-clock time in March (CET, +01:00).
    assert_eq!(
        n.created.map(|c| c.to_rfc3339()).as_deref(),
        Some("2024-03-01T09:15:02+00:00")
    );
    // The outgoing transfer's timetable: requested, and the execute date by which it is
    // answered or the registry approves it (the domain leaves).
    let utc = |t: &Option<ledger_parser::TimeReading>| {
        t.as_ref().and_then(|t| t.utc).map(|t| t.to_rfc3339())
    };
    assert_eq!(
        utc(&n.timetable.start).as_deref(),
        Some("2024-03-01T09:15:00+00:00")
    );
    assert_eq!(
        utc(&n.timetable.autoack).as_deref(),
        Some("2024-03-06T09:15:00+00:00")
    );
    assert_eq!(n.timetable.autonack, None);
    let undated = CENTRALNIC.read("own_statusevent_foreign_transfer_pending_no_dates.txt");
    assert_eq!(
        (undated.timetable.start, undated.timetable.autoack),
        (None, None)
    );
    let response = n.centralnic.as_ref().expect("response");
    assert_eq!(
        response.property("info", 0),
        Some(
            "FOREIGN_TRANSFER: example-away.com requested by otherregistrar; auto-approve on \
             2024-03-06"
        )
    );
    let raw = n
        .fields
        .iter()
        .find(|f| f.key == "property[info][0]")
        .expect("info field");
    assert!(
        raw.value.contains("%3a"),
        "the field keeps the value as written"
    );

    let vendor = CENTRALNIC.read("hxdoc_statusevent_200_urlencoded_info.txt");
    assert_eq!(
        vendor.event_type.as_deref(),
        Some("DOMAIN_TRANSFER/TRANSFER_PENDING")
    );
    assert_eq!(
        vendor.created.map(|c| c.to_rfc3339()).as_deref(),
        Some("2016-10-17T06:27:40+00:00")
    );
    assert_eq!(
        vendor
            .centralnic
            .as_ref()
            .and_then(|r| r.property("info", 0)),
        Some("USERTRANSFER: dasc -> test.user")
    );
}

#[test]
fn status_domain_is_no_event_although_it_has_class_and_subclass() {
    let n = CENTRALNIC.read("hxdoc_statusdomain_200.txt");
    assert_eq!(n.event_type, None);
    assert_eq!(n.created, None);
}

#[test]
fn bad_responses_are_refused_with_their_line() {
    assert_eq!(
        parse(
            &CENTRALNIC.bytes("bad/code_not_3_digits.txt"),
            &CENTRALNIC.forced()
        ),
        Err(ParseError::CentralNic {
            line: 2,
            reason: "code \"2000\" is not a 3-digit return code".into()
        })
    );
    assert!(matches!(
        parse(
            &CENTRALNIC.bytes("bad/no_code.txt"),
            &ParseOptions::default()
        ),
        Err(ParseError::MissingStatus {
            format: Format::CentralNic,
            ..
        })
    ));
    assert!(matches!(
        CENTRALNIC.parse_str("[RESPONSE]\n\ncode = 2a0\nEOF\n"),
        Err(ParseError::CentralNic { line: 3, .. })
    ));
}

#[test]
fn stray_lines_are_diagnostics_not_failures() {
    let n = CENTRALNIC
        .parse_str(
            "[RESPONSE]\ncode = 299\ndescription = Something new\nthis line has no equals sign\n\
         EOF\ntrailing = junk\n",
        )
        .expect("parses");
    let status = n.status.as_ref().expect("status");
    assert_eq!((status.code.as_str(), status.class), ("299", Success));
    let lines: Vec<Option<u32>> = n.diagnostics.iter().map(|d| d.line).collect();
    assert_eq!(lines, [Some(4), Some(6), None], "{:?}", n.diagnostics);
    assert!(
        n.diagnostics
            .iter()
            .any(|d| d.message.contains("not in the catalog"))
    );
}

#[test]
fn markers_are_optional_and_keys_case_insensitive() {
    let n = CENTRALNIC
        .parse_str("Code = 545\r\nDescription = Entity reference not found\r\n")
        .expect("parses");
    let status = n.status.expect("status");
    assert_eq!((status.code.as_str(), status.class), ("545", Permanent));
}

/// Every row of seed 000 (`| 421 | text |`) with the class its section heading gives.
#[test]
fn the_catalog_matches_every_row_of_seed_000() {
    let seed = String::from_utf8(CENTRALNIC.bytes("return_codes_seed_000.txt")).expect("UTF-8");
    let mut section = None;
    let mut rows = 0;
    for line in seed.lines() {
        if line.starts_with("Successful Return Codes") {
            section = Some(ReturnCodeClass::Success);
        } else if line.starts_with("Temporary Error Codes") {
            section = Some(ReturnCodeClass::Temporary);
        } else if line.starts_with("Permanent Error Codes") {
            section = Some(ReturnCodeClass::Permanent);
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, code, text, _] = cells.as_slice() else {
            continue;
        };
        let code: u16 = code.parse().unwrap_or_else(|_| panic!("code in {line:?}"));
        let rc = return_codes::lookup(code);
        assert_eq!(rc.text, Some(*text), "text of {code}");
        assert_eq!(Some(rc.class), section, "class of {code}");
        assert!(return_codes::CATALOG.contains(&rc), "{code} is catalogued");
        rows += 1;
    }
    assert_eq!(rows, 56, "seed 000 has 56 rows");
    // Plus HEXONET's two.
    assert_eq!(return_codes::CATALOG.len(), rows + 2);
    assert_eq!(return_codes::lookup(425).class, ReturnCodeClass::Temporary);
    assert_eq!(return_codes::lookup(510).class, ReturnCodeClass::Permanent);
    assert_eq!(ReturnCodeClass::Temporary.status_class(), Temporary);
}
