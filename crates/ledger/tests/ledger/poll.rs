//! Issue 11: one AutoDNS notification is one event whatever carried it. The poll envelope, the
//! bare message pushed without it, and a mail carrying either are one event (the others
//! `Duplicate`s); changing only the envelope (`stid`, `summary`, the `S0905` status) does not
//! make another; another message (`id`, content) does. The 24 h own-time window still holds.

use ledger::IngestOutcome;
use ledger_event::Origin;

use crate::support::{fixture, mail, open};

fn text(rel: &str) -> String {
    String::from_utf8(fixture(rel)).expect("a UTF-8 fixture")
}

fn changed(body: &str, from: &str, to: &str) -> String {
    assert!(body.contains(from), "{from:?} not in the body");
    body.replacen(from, to, 1)
}

/// Every form of one message: the envelope, the envelope with another stid and summary and
/// polled text, the bare message, each in a mail.
fn forms(poll: &str, bare: &str, stid: &str, summary: (&str, &str)) -> Vec<Vec<u8>> {
    let reposted = changed(
        &changed(poll, stid, "20991231-app9-77"),
        summary.0,
        summary.1,
    )
    .replace(
        "The notification was polled successfully.",
        "Die Benachrichtigung wurde abgeholt.",
    );
    let date = "Mon, 03 May 2021 11:06:30 +0200";
    vec![
        poll.as_bytes().to_vec(),
        reposted.as_bytes().to_vec(),
        bare.as_bytes().to_vec(),
        mail(date, "poll@autodns.example", poll),
        mail(date, "parent@autodns.example", &reposted),
        mail(date, "push@autodns.example", bare),
    ]
}

fn all_one_event(forms: Vec<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let outcomes: Vec<_> = forms
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            ledger
                .ingest(raw, Origin::new(format!("form {i}")))
                .unwrap()
        })
        .collect();
    assert!(
        matches!(outcomes[0], IngestOutcome::Appended { seq: 1, .. }),
        "{outcomes:?}"
    );
    assert!(
        outcomes[1..]
            .iter()
            .all(|o| *o == IngestOutcome::Duplicate { of: 1 }),
        "{outcomes:?}"
    );
    // The same through the batch path, in another ledger, bare message first.
    let dir = tempfile::tempdir().unwrap();
    let batched = open(dir.path());
    let mut reversed: Vec<_> = forms
        .into_iter()
        .map(|raw| (raw, Origin::new("batch")))
        .collect();
    reversed.reverse();
    let outcomes = batched.ingest_batch(reversed).unwrap();
    assert!(
        matches!(outcomes[0], IngestOutcome::Appended { seq: 1, .. }),
        "{outcomes:?}"
    );
    assert!(
        outcomes[1..]
            .iter()
            .all(|o| *o == IngestOutcome::Duplicate { of: 1 }),
        "{outcomes:?}"
    );
    assert!(ledger.verify().unwrap().is_clean());
    assert!(batched.verify().unwrap().is_clean());
}

#[test]
fn an_xml_notify_is_one_event_in_every_dress() {
    all_one_event(forms(
        &text("autodns/xml/transfer_start-poll.xml"),
        &text("autodns/xml/transfer_start-push-bare.xml"),
        "20210503-app1-test-31807",
        ("<summary>1</summary>", "<summary>3</summary>"),
    ));
}

#[test]
fn an_xml_job_with_a_ctid_is_one_event_in_every_dress() {
    all_one_event(forms(
        &text("autodns/xml/0101-failed-poll.xml"),
        &text("autodns/xml/0101-failed-push-bare.xml"),
        "20100506-app1-5522",
        ("<summary>2</summary>", "<summary>1</summary>"),
    ));
}

#[test]
fn a_json_notify_is_one_event_in_every_dress() {
    all_one_event(forms(
        &text("autodns/json/transfer_start-poll-json.json"),
        &text("autodns/json/transfer_start-push-bare.json"),
        "20220119-app3-dev-5016",
        ("\"summary\": 1", "\"summary\": 2"),
    ));
}

#[test]
fn a_json_job_with_a_ctid_is_one_event_in_every_dress() {
    all_one_event(forms(
        &text("autodns/json/0101-failed-poll.json"),
        &text("autodns/json/0101-failed-push-bare.json"),
        "20240212-app2-55310",
        ("\"summary\": 1", "\"summary\": 2"),
    ));
}

#[test]
fn another_message_id_or_content_is_another_event() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let poll = text("autodns/xml/transfer_start-poll.xml");
    let bare = text("autodns/xml/transfer_start-push-bare.xml");
    let other_id = changed(&bare, "<id>1005360835</id>", "<id>1005360836</id>");
    let other_content = changed(&poll, "2021-05-06 11:05:56", "2021-05-06 12:05:56");
    let json = text("autodns/json/0101-failed-poll.json");
    let json_other_id = changed(&json, "\"id\": 1014488012", "\"id\": 1014488013");
    let outcomes: Vec<_> = [&poll, &other_id, &other_content, &json, &json_other_id]
        .iter()
        .map(|raw| ledger.ingest(raw.as_bytes(), Origin::new("x")).unwrap())
        .collect();
    for (i, outcome) in outcomes.iter().enumerate() {
        assert!(
            matches!(outcome, IngestOutcome::Appended { seq, .. } if *seq == i as u64 + 1),
            "{outcomes:?}"
        );
    }
    assert!(ledger.verify().unwrap().is_clean());
}

/// The own-time window is unchanged. An XML message's `created` is its own time and part of
/// its key, so a copy mailed a month later is still the same message. A JSON notify carries no
/// `created`: its own time is the mail's `Date`, and the same message in mails more than 24 h
/// apart is a new fact, as before; the bare push (no own time) is a copy of either.
#[test]
fn the_own_time_window_still_holds() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let bare = text("autodns/xml/transfer_start-push-bare.xml");
    let first = ledger.ingest(bare.as_bytes(), Origin::new("a")).unwrap();
    assert!(matches!(first, IngestOutcome::Appended { seq: 1, .. }));
    let resent = mail("Thu, 03 Jun 2021 11:06:30 +0200", "resent@x", &bare);
    assert_eq!(
        ledger.ingest(&resent, Origin::new("b")).unwrap(),
        IngestOutcome::Duplicate { of: 1 }
    );

    let json = text("autodns/json/transfer_start-push-bare.json");
    let january = mail("Wed, 19 Jan 2022 10:55:00 +0100", "jan@x", &json);
    let poll = text("autodns/json/transfer_start-poll-json.json");
    let next_day = mail("Wed, 19 Jan 2022 22:55:00 +0100", "copy@x", &poll);
    let march = mail("Sat, 19 Mar 2022 10:55:00 +0100", "mar@x", &poll);
    let outcomes: Vec<_> = [&january, &next_day, &march, &json.into_bytes()]
        .iter()
        .map(|raw| ledger.ingest(raw, Origin::new("json")).unwrap())
        .collect();
    assert!(
        matches!(outcomes[0], IngestOutcome::Appended { seq: 2, .. }),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[1], IngestOutcome::Duplicate { of: 2 });
    assert!(
        matches!(outcomes[2], IngestOutcome::Appended { seq: 3, .. }),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[3], IngestOutcome::Duplicate { of: 2 });
}
