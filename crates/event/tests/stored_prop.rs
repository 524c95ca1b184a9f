//! Property test: events with arbitrary texts, numbers, instants, offsets and kinds round-trip
//! exactly through the stored form.

use chrono::{DateTime, FixedOffset, Utc};
use ledger_event::stored::{decode_event, encode_event};
use ledger_event::{Event, EventKind, Origin, Source};
use ledger_parser::{
    CentralNicResponse, Diagnostic, DomainName, DstFlag, Field, Format, MailMeta, Notice,
    Notification, Property, Status, StatusClass, StatusPrefix, TimeReading,
};
use proptest::prelude::*;

/// Any instant chrono represents (years -262143 ..= 262142), to the nanosecond.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (
        -8_210_266_876_800i64..=8_210_298_412_799,
        0u32..1_000_000_000,
    )
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).expect("in chrono's range"))
}

fn text() -> impl Strategy<Value = String> {
    any::<String>()
}

fn reading() -> impl Strategy<Value = Option<TimeReading>> {
    proptest::option::of((text(), proptest::option::of(instant()), 0u8..3)).prop_map(|r| {
        r.map(|(raw, utc, dst)| TimeReading {
            raw,
            utc,
            dst: [DstFlag::Unambiguous, DstFlag::Gap, DstFlag::Overlap][usize::from(dst)],
        })
    })
}

prop_compose! {
    fn notification()(
        format in 0usize..4,
        texts in proptest::collection::vec(proptest::option::of(text()), 9),
        status in proptest::option::of((text(), 0usize..4, proptest::option::of(text()), 0usize..4)),
        domain in 0usize..4,
        notices in proptest::collection::vec((text(), proptest::option::of(text())), 0..3),
        autoupdate in proptest::option::of(any::<bool>()),
        readings in (reading(), reading(), reading(), reading(), reading()),
        created in proptest::option::of(instant()),
        centralnic in proptest::option::of((any::<u16>(), text(), proptest::collection::vec((text(), any::<u32>(), text()), 0..3))),
        mail in proptest::option::of((proptest::option::of((instant(), -86_399i32..=86_399)), proptest::collection::vec(text(), 0..3))),
        fields in proptest::collection::vec((text(), text(), text(), any::<u32>()), 0..5),
        diagnostics in proptest::collection::vec((proptest::option::of(text()), proptest::option::of(any::<u32>()), text()), 0..3),
    ) -> Notification {
        let formats = [Format::AutoDnsText, Format::AutoDnsXml, Format::AutoDnsJson, Format::CentralNic];
        let mut n = Notification::new(formats[format]);
        let t = |i: usize| texts.get(i).cloned().flatten();
        n.task = t(0);
        n.status = status.map(|(code, prefix, text, class)| Status {
            code,
            prefix: [None, Some(StatusPrefix::Success), Some(StatusPrefix::Error), Some(StatusPrefix::Notify)][prefix],
            text,
            class: [StatusClass::Success, StatusClass::InProgress, StatusClass::Temporary, StatusClass::Permanent][class],
        });
        n.ctid = t(1);
        n.last_transaction = t(2);
        n.stid = t(3);
        n.domain = [None, DomainName::parse("example.com"), DomainName::parse("müller.de"), DomainName::parse("xn--bcher-kva.example")][domain].clone();
        n.notices = notices.into_iter().map(|(code, text)| Notice { code, text }).collect();
        n.error = t(4);
        n.kk_answer = t(5);
        n.autoupdate = autoupdate;
        n.owner_c = t(6);
        n.nic_response = t(7);
        n.timetable.start = readings.0;
        n.timetable.reminder = readings.1;
        n.timetable.autoack = readings.2;
        n.timetable.autonack = readings.3;
        n.timetable.end = readings.4;
        n.timetable.new = t(8);
        n.event_type = t(0).map(|s| s + "/event");
        n.created = created;
        n.centralnic = centralnic.map(|(code, description, props)| CentralNicResponse {
            code,
            description,
            runtime: t(1),
            queuetime: t(2),
            properties: props.into_iter().map(|(name, index, value)| Property { name, index, value }).collect(),
        });
        n.mail = mail.map(|(date, received)| MailMeta {
            message_id: t(3),
            date: date.map(|(utc, offset)| utc.with_timezone(&FixedOffset::east_opt(offset).expect("offset in range"))),
            from: t(4),
            subject: t(5),
            authentication_results: received.iter().rev().cloned().collect(),
            received,
        });
        n.fields = fields.into_iter().map(|(block, key, value, line)| Field { block, key, value, line }).collect();
        n.diagnostics = diagnostics.into_iter().map(|(block, line, message)| Diagnostic { block, line, message }).collect();
        n
    }
}

prop_compose! {
    fn event()(
        notification in notification(),
        seq in any::<u64>(),
        recorded_at in instant(),
        occurred_at in proptest::option::of(instant()),
        kind in 0usize..EventKind::ALL.len(),
        texts in proptest::collection::vec(proptest::option::of(text()), 4),
        sha256 in any::<[u8; 32]>(),
        origin in text(),
    ) -> Event {
        Event {
            seq,
            recorded_at,
            occurred_at,
            kind: EventKind::ALL[kind],
            provider: notification.provider,
            ctid: texts[0].clone(),
            domain: texts[1].clone(),
            command: texts[2].clone(),
            source: Source {
                sha256,
                message_id: texts[3].clone(),
                origin: Origin::new(origin),
            },
            notification,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_events_round_trip(event in event()) {
        let bytes = encode_event(&event);
        prop_assert_eq!(decode_event(&bytes).ok(), Some(event));
    }

    #[test]
    fn truncated_records_are_errors_not_panics(event in event(), cut in any::<prop::sample::Index>()) {
        let bytes = encode_event(&event);
        let cut = cut.index(bytes.len());
        prop_assert!(decode_event(&bytes[..cut]).is_err());
    }
}
