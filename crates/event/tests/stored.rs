//! The stored form: every field of every kind of event round-trips exactly, the bytes of each
//! version (1, read only, and 2, written) are pinned by a golden file, and damaged records are
//! refused with the right error.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use ledger_event::stored::{
    self, Decoded, FORMAT_VERSION, MAGIC, decode, decode_event, encode_event, encode_event_v1, v1,
};
use ledger_event::{Event, EventError, EventKind, Origin, Source};
use ledger_parser::{
    CentralNicResponse, Diagnostic, DomainName, DstFlag, Field, Format, MailMeta, Notice,
    Notification, Property, Status, StatusClass, StatusPrefix, TimeReading, TransferTimetable,
    codes,
};

const GOLDEN_V1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/event_v1.bin");
const GOLDEN_V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/event_v2.bin");

fn utc(secs: i64, nanos: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, nanos).expect("test instant is in range")
}

fn field(block: &str, key: &str, value: &str, line: u32) -> Field {
    Field {
        block: block.into(),
        key: key.into(),
        value: value.into(),
        line,
    }
}

fn reading(raw: &str, utc: Option<DateTime<Utc>>, dst: DstFlag) -> Option<TimeReading> {
    Some(TimeReading {
        raw: raw.into(),
        utc,
        dst,
    })
}

/// The seed's S1403 transfer-out text notification in a mail, with a full timetable whose
/// readings carry every DST flag.
fn autodns_transfer_out() -> Notification {
    let mut n = Notification::new(Format::AutoDnsText);
    n.task = Some("1403".into());
    n.status = codes::autodns_status(
        "S1403",
        Some("Outgoing domain transfer has been started successfully.".into()),
    );
    n.ctid = Some("1234".into());
    n.domain = DomainName::parse("example.com");
    n.timetable = TransferTimetable {
        start: reading(
            "2010-05-17 08:43:53",
            Some(utc(1_274_078_633, 0)),
            DstFlag::Unambiguous,
        ),
        reminder: reading(
            "2010-03-28 02:30:00",
            Some(utc(1_269_739_800, 0)),
            DstFlag::Gap,
        ),
        autoack: None,
        autonack: reading(
            "2010-10-31 02:43:53",
            Some(utc(1_288_485_833, 0)),
            DstFlag::Overlap,
        ),
        end: reading("22.05.2010", None, DstFlag::Unambiguous),
        new: Some("99".into()),
    };
    n.mail = Some(MailMeta {
        message_id: Some("20100517084353.1234@autodns.example".into()),
        date: Some(
            FixedOffset::east_opt(2 * 3600)
                .expect("valid offset")
                .with_ymd_and_hms(2010, 5, 17, 8, 44, 0)
                .single()
                .expect("unambiguous"),
        ),
        from: Some("notify@autodns.example".into()),
        subject: Some("S1403 example.com".into()),
        received: vec!["from mx1 by mx2".into(), "from app3 by mx1".into()],
        authentication_results: vec!["mx2; spf=pass".into()],
    });
    n.fields = vec![
        field("system", "user", "ExampleUser", 2),
        field("system", "task", "1403", 3),
        field(
            "system",
            "status",
            "S1403 [Outgoing domain transfer has been started successfully.]",
            4,
        ),
        field("system", "success_value", "domain: example.com", 6),
        field("system", "transaction", "1234", 7),
        field("reply", "kk_new", "99", 10),
        field("reply", "kk_start", "2010-05-17 08:43:53", 11),
    ];
    n.diagnostics = vec![Diagnostic {
        block: Some("reply".into()),
        line: Some(12),
        message: "line is not `key: value`: [...]".into(),
    }];
    n
}

/// An AutoDNS update with notices, error, autoupdate, owner-c, nic_response and an IDN.
fn autodns_update() -> Notification {
    let mut n = Notification::new(Format::AutoDnsXml);
    n.task = Some("0102".into());
    n.status = codes::autodns_status(
        "E0102",
        Some("Domain konnte nicht aktualisiert werden".into()),
    );
    n.ctid = Some("bed7c6845726".into());
    n.last_transaction = Some("id #20673# action #domain#".into());
    n.stid = Some("20220405-app3-dev-9652".into());
    n.domain = DomainName::parse("xn--mller-kva.de");
    n.notices = vec![
        Notice {
            code: "MSG01050".into(),
            text: Some("OwnerC has been imported".into()),
        },
        Notice {
            code: "MSG011304".into(),
            text: None,
        },
    ];
    n.error = Some("533001291da2".into());
    n.kk_answer = Some("NACK".into());
    n.autoupdate = Some(true);
    n.owner_c = Some("12345".into());
    n.nic_response = Some("2306 Parameter value policy error\nline two".into());
    n.created = Some(utc(1_649_168_614, 999_999_999));
    n.event_type = Some("domain_away".into());
    n.fields = vec![
        field("result/status/code", "code", "E0102", 0),
        field("result/stid", "stid", "", 0),
    ];
    n
}

/// A CentralNic StatusEvent response with properties (URL-decoded info, a key with a space).
fn centralnic_event() -> Notification {
    let mut n = Notification::new(Format::CentralNic);
    n.status = Some(Status {
        code: "200".into(),
        prefix: None,
        text: Some("Command completed successfully".into()),
        class: StatusClass::Success,
    });
    n.domain = DomainName::parse("usertransferperiodtest.ag");
    n.event_type = Some("DOMAIN_TRANSFER/FOREIGN_TRANSFER_PENDING".into());
    n.created = Some(utc(1_476_692_860, 0));
    n.centralnic = Some(CentralNicResponse {
        code: 200,
        description: "Command completed successfully".into(),
        runtime: Some("0.011".into()),
        queuetime: None,
        properties: vec![
            Property {
                name: "class".into(),
                index: 0,
                value: "DOMAIN_TRANSFER".into(),
            },
            Property {
                name: "info".into(),
                index: 0,
                value: "USERTRANSFER: dasc -> test.user".into(),
            },
            Property {
                name: "credit threshold".into(),
                index: 3,
                value: "".into(),
            },
        ],
    });
    n.fields = vec![
        field("response", "code", "200", 2),
        field("response", "property[class][0]", "DOMAIN_TRANSFER", 4),
    ];
    n
}

/// An AutoDNS JSON notification with nothing but a status: every option empty.
fn bare_json() -> Notification {
    let mut n = Notification::new(Format::AutoDnsJson);
    n.status = Some(Status {
        code: "N0102".into(),
        prefix: Some(StatusPrefix::Notify),
        text: None,
        class: StatusClass::InProgress,
    });
    n
}

fn event(seq: u64, kind: EventKind, notification: Notification) -> Event {
    let mut sha256 = [0u8; 32];
    for (i, b) in sha256.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(seq as u8);
    }
    Event {
        seq,
        recorded_at: utc(1_700_000_000_i64.wrapping_add(seq as i64), 123_456_789),
        occurred_at: notification.occurred_at(),
        kind,
        provider: notification.provider,
        ctid: notification.ctid.clone(),
        domain: notification.domain.as_ref().map(|d| d.as_str().to_string()),
        command: (notification.format == Format::CentralNic).then(|| "StatusEvent".to_string()),
        source: Source {
            sha256,
            message_id: notification
                .mail
                .as_ref()
                .and_then(|m| m.message_id.clone()),
            origin: Origin::new(format!("mbox:/var/mail/autodns#{seq}")),
        },
        notification,
    }
}

/// Events of every kind, over notifications of every format, with and without mail.
fn varied_events() -> Vec<Event> {
    let notifications = [
        autodns_transfer_out(),
        autodns_update(),
        centralnic_event(),
        bare_json(),
    ];
    let mut events = Vec::new();
    for (i, kind) in EventKind::ALL.into_iter().enumerate() {
        let n = notifications[i % notifications.len()].clone();
        events.push(event(i as u64, kind, n));
    }
    // Odd corners of the event itself.
    let mut e = event(u64::MAX, EventKind::Unknown, bare_json());
    e.recorded_at = utc(-1, 1);
    e.occurred_at = Some(utc(0, 0));
    e.ctid = Some(String::new());
    e.domain = Some("not normalised: kept as text".into());
    e.command = Some("AddDomain".into());
    e.source.origin = Origin::new("-");
    events.push(e);
    events
}

#[test]
fn every_event_round_trips_exactly() {
    for event in varied_events() {
        let bytes = encode_event(&event);
        assert_eq!(bytes[..4], MAGIC);
        assert_eq!(bytes[4..6], FORMAT_VERSION.to_le_bytes());
        let back = decode_event(&bytes).unwrap_or_else(|e| panic!("seq {}: {e}", event.seq));
        assert_eq!(back, event, "seq {} ({})", event.seq, event.kind);
    }
}

#[test]
fn stored_event_is_small_and_holds_no_raw_body() {
    let event = event(7, EventKind::TransferOutStarted, autodns_transfer_out());
    let bytes = encode_event(&event);
    // The parsed texts of this notification alone add up to several hundred bytes; the record
    // is those texts plus a few bytes per field, not a copy of a mail.
    assert!(bytes.len() < 1500, "stored event is {} bytes", bytes.len());
}

/// The hand-built event pinned by the golden file. Never change it: a new version gets a new
/// golden file.
fn golden_event() -> Event {
    let mut n = autodns_transfer_out();
    n.notices = vec![Notice {
        code: "MSG01050".into(),
        text: Some("OwnerC imported".into()),
    }];
    n.kk_answer = Some("ACK".into());
    n.centralnic = centralnic_event().centralnic;
    event(
        42,
        EventKind::TransferOutAnswered(ledger_event::TransferAnswer::Ack),
        n,
    )
}

/// Where the golden version-1 record says its raw input was (version 1 carried it).
fn golden_raw(seq: u64) -> v1::StoredRawRefV1 {
    v1::StoredRawRefV1 {
        pack: seq as u32,
        offset: seq.wrapping_mul(4096),
        len: (seq as u32).wrapping_add(1000),
    }
}

#[test]
fn golden_v1_bytes_are_stable() {
    let golden = std::fs::read(GOLDEN_V1).unwrap_or_else(|e| panic!("{GOLDEN_V1}: {e}"));
    let event = golden_event();
    assert!(
        encode_event_v1(&event, golden_raw(event.seq)) == golden,
        "encoding of the golden event changed: the v1 layout must not change"
    );
    // A version-1 record still reads, and still says where its raw input was.
    assert_eq!(
        decode(&golden).expect("golden file decodes"),
        Decoded {
            event: event.clone(),
            v1_raw: Some(golden_raw(event.seq)),
        }
    );
    assert_eq!(decode_event(&golden).expect("golden file decodes"), event);
}

#[test]
fn golden_v2_bytes_are_stable() {
    let golden = std::fs::read(GOLDEN_V2).unwrap_or_else(|e| {
        panic!("{GOLDEN_V2}: {e}; generate it once with `cargo test -p ledger-event --test stored -- --ignored write_golden_v2`")
    });
    let event = golden_event();
    assert!(
        encode_event(&event) == golden,
        "encoding of the golden event changed: the v2 layout must not change"
    );
    assert_eq!(
        decode(&golden).expect("golden file decodes"),
        Decoded {
            event,
            v1_raw: None
        }
    );
}

#[test]
fn version_2_is_version_1_without_the_pack_reference() {
    // The payloads differ only by the reference version 1 kept at the end of the source (a
    // u32, a u64 and a u32 as bincode varints).
    let event = golden_event();
    let v1 = std::fs::read(GOLDEN_V1).unwrap_or_else(|e| panic!("{GOLDEN_V1}: {e}"));
    let v2 = encode_event(&event);
    let reference =
        bincode::encode_to_vec(golden_raw(event.seq), bincode::config::standard()).expect("encode");
    let payload_v1 = &v1[stored::ENVELOPE_LEN..];
    let payload_v2 = &v2[stored::ENVELOPE_LEN..];
    assert_eq!(payload_v1.len(), payload_v2.len() + reference.len());
    assert!(payload_v1.ends_with(&reference));
    assert_eq!(&payload_v1[..payload_v2.len()], payload_v2);
}

/// Writes the golden file of the version this build writes. Run deliberately, once per format
/// version, and commit the file.
#[test]
#[ignore = "writes tests/golden/event_v2.bin; run only to create a new golden file"]
fn write_golden_v2() {
    std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden"))
        .expect("create the golden folder");
    std::fs::write(GOLDEN_V2, encode_event(&golden_event())).expect("write the golden file");
}

#[test]
fn records_that_are_not_envelopes_are_refused() {
    for bytes in [
        &b""[..],
        b"LEV",
        b"LEVT\x01",
        b"LEVX\x01\x00rest",
        b"\x00\x00\x00\x00\x01\x00",
    ] {
        let err = decode_event(bytes).expect_err("not an envelope");
        assert!(
            matches!(err, EventError::NotAnEnvelope { .. }),
            "{bytes:?}: {err}"
        );
    }
}

#[test]
fn unknown_versions_are_refused() {
    let good = encode_event(&golden_event());
    for version in [0u16, FORMAT_VERSION + 1, u16::MAX] {
        let mut bytes = good.clone();
        bytes[4..6].copy_from_slice(&version.to_le_bytes());
        match decode_event(&bytes) {
            Err(EventError::UnknownVersion { found, supported }) => {
                assert_eq!((found, supported), (version, FORMAT_VERSION));
            }
            other => panic!("version {version}: {other:?}"),
        }
    }
}

#[test]
fn damaged_payloads_are_decode_errors() {
    let good = encode_event(&golden_event());
    let truncated = &good[..good.len() - 3];
    assert!(matches!(
        decode_event(truncated),
        Err(EventError::Decode { version: 2, .. })
    ));
    let mut trailing = good.clone();
    trailing.push(0);
    let err = decode_event(&trailing).expect_err("trailing byte");
    assert!(
        matches!(&err, EventError::Decode { version: 2, reason } if reason.contains("left over")),
        "{err}"
    );
    // A length prefix claiming far more than the record holds must fail, not allocate.
    let mut huge = MAGIC.to_vec();
    huge.extend_from_slice(&1u16.to_le_bytes());
    // seq 0, recorded_at 0s 0ns, occurred_at none, kind 0, provider 0, ctid some, and then a
    // string length of 2^63 - 1 (varint marker 0xfd and 8 bytes).
    huge.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 1, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
    ]);
    assert!(matches!(
        decode_event(&huge),
        Err(EventError::Decode { .. })
    ));
}

/// Encodes a hand-made v1 payload in an envelope.
fn envelope(stored: &v1::StoredEventV1) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend(bincode::encode_to_vec(stored, bincode::config::standard()).expect("encode"));
    bytes
}

/// A change to a stored event that makes it invalid.
type Damage = fn(&mut v1::StoredEventV1);

#[test]
fn invalid_tags_and_values_are_invalid_records() {
    let base = v1::StoredEventV1::new(&golden_event(), golden_raw(42));
    assert_eq!(
        decode_event(&envelope(&base)).ok(),
        Some(golden_event()),
        "the hand-made envelope is sound"
    );

    let damage: [(&str, Damage); 9] = [
        ("kind", |s| s.kind = 23),
        ("provider", |s| s.provider = 9),
        ("format", |s| s.notification.format = 4),
        ("status prefix", |s| {
            s.notification.status.as_mut().expect("status").prefix = 7
        }),
        ("status class", |s| {
            s.notification.status.as_mut().expect("status").class = 7
        }),
        ("dst flag", |s| {
            s.notification.timetable.start.as_mut().expect("start").dst = 3
        }),
        ("recorded_at", |s| s.recorded_at.secs = i64::MAX),
        ("mail date offset", |s| {
            s.notification
                .mail
                .as_mut()
                .expect("mail")
                .date
                .as_mut()
                .expect("date")
                .offset_secs = 86_400
        }),
        ("domain", |s| {
            s.notification.domain = Some("not a domain".into())
        }),
    ];
    for (what, damage) in damage {
        let mut stored = base.clone();
        damage(&mut stored);
        match decode_event(&envelope(&stored)) {
            Err(EventError::Invalid { version: 1, reason }) => {
                assert!(
                    reason.contains(what.split(' ').next().unwrap_or(what)),
                    "{what}: {reason}"
                );
            }
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn envelope_constants_describe_the_bytes() {
    assert_eq!(&MAGIC, b"LEVT");
    assert_eq!(stored::ENVELOPE_LEN, 6);
    assert_eq!(
        encode_event(&golden_event())[..stored::ENVELOPE_LEN],
        *b"LEVT\x02\x00"
    );
}

/// Every file under `fixtures/` except the deliberately bad ones, recursively.
fn fixture_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "bad") {
                fixture_files(&path, out);
            }
        } else if path
            .extension()
            .is_some_and(|e| ["eml", "txt", "json", "xml"].iter().any(|x| e == *x))
        {
            out.push(path);
        }
    }
}

#[test]
fn every_parsed_fixture_round_trips() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut files = Vec::new();
    fixture_files(&root, &mut files);
    files.sort();
    let (mut round_tripped, mut raw_bytes, mut stored_bytes) = (0, 0, 0);
    for (i, path) in files.iter().enumerate() {
        let raw = std::fs::read(path).expect("read fixture");
        // READMEs and fixtures that are meant to be refused are not events.
        let Ok(n) = ledger_parser::parse(&raw, &ledger_parser::ParseOptions::default()) else {
            continue;
        };
        let kind = ledger_event::classify(&n, None);
        let mut e = event(i as u64, kind, n);
        e.source.origin = Origin::new(path.display().to_string());
        let bytes = encode_event(&e);
        assert_eq!(
            decode_event(&bytes).ok().as_ref(),
            Some(&e),
            "{}",
            path.display()
        );
        round_tripped += 1;
        raw_bytes += raw.len();
        stored_bytes += bytes.len();
    }
    assert!(round_tripped >= 40, "only {round_tripped} fixtures parsed");
    println!("{round_tripped} fixtures: {raw_bytes} raw bytes, {stored_bytes} stored bytes");
}

#[test]
fn invalid_version_2_records_say_version_2() {
    let mut stored = stored::v2::StoredEventV2::from(&golden_event());
    stored.notification.format = 4;
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend(bincode::encode_to_vec(&stored, bincode::config::standard()).expect("encode"));
    match decode_event(&bytes) {
        Err(EventError::Invalid { version: 2, reason }) => {
            assert!(reason.contains("format"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}
