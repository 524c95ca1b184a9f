//! Issue 11: the key of an AutoDNS XML/JSON poll message is the message, whatever carried it
//! (the poll envelope, a bare push, a mail): changing only the envelope (its `stid`, `summary`,
//! the `S0905` status, the JSON envelope's `object`) is the same key; another message `id` or
//! other content is another key. Realtime responses, the text format and CentralNic keep the
//! keys of the builds before (pinned here by their bytes).

use ledger_event::{content_key, content_key_v1};
use ledger_parser::{ParseOptions, parse};

fn fixture(rel: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn key(body: &str) -> [u8; 32] {
    let n =
        parse(body.as_bytes(), &ParseOptions::default()).unwrap_or_else(|e| panic!("{e}: {body}"));
    content_key(&n)
}

/// `body` with `from` replaced by `to`, which must be there.
fn changed(body: &str, from: &str, to: &str) -> String {
    assert!(body.contains(from), "{from:?} not in the fixture");
    body.replacen(from, to, 1)
}

/// The body in a mail (a parent-notify copy, say).
fn in_mail(body: &str, message_id: &str) -> String {
    format!(
        "Message-ID: <{message_id}>\nDate: Mon, 03 May 2021 11:06:10 +0200\n\
         From: AutoDNS <robot@autodns.example>\nSubject: notification\n\
         Content-Type: text/plain; charset=utf-8\n\n{body}"
    )
}

/// The text between the first `start` and the `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    text.split(start)
        .nth(1)
        .and_then(|s| s.split(end).next())
        .unwrap_or_else(|| panic!("no {start:?} … {end:?}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn xml_envelope_bare_and_mail_are_one_key_and_envelope_changes_do_not_count() {
    for (poll, bare) in [
        (
            "autodns/xml/transfer_start-poll.xml",
            "autodns/xml/transfer_start-push-bare.xml",
        ),
        (
            "autodns/xml/0101-failed-poll.xml",
            "autodns/xml/0101-failed-push-bare.xml",
        ),
    ] {
        let poll = fixture(poll);
        let bare = fixture(bare);
        let k = key(&poll);
        assert_eq!(key(&bare), k, "the bare message");
        assert_eq!(key(&in_mail(&poll, "a@x")), k, "the envelope in a mail");
        assert_eq!(key(&in_mail(&bare, "b@x")), k, "the bare message in a mail");
        let stid = poll
            .split("<stid>")
            .nth(1)
            .and_then(|s| s.split("</stid>").next())
            .expect("a stid");
        assert_eq!(key(&changed(&poll, stid, "20991231-app9-1")), k, "stid");
        let summary = if poll.contains("<summary>1</summary>") {
            "<summary>1</summary>"
        } else {
            "<summary>2</summary>"
        };
        assert_eq!(
            key(&changed(&poll, summary, "<summary>7</summary>")),
            k,
            "summary"
        );
        assert_eq!(
            key(&changed(
                &poll,
                "The notification was polled successfully.",
                "Die Benachrichtigung wurde abgeholt."
            )),
            k,
            "the S0905 text"
        );
        assert_eq!(
            key(&changed(
                &poll,
                "<type>success</type>\n    </status>",
                "<type>SUCCESS</type>\n    </status>"
            )),
            k,
            "the S0905 type"
        );
        // The message's own id and content count.
        let id = bare
            .split("<id>")
            .nth(1)
            .and_then(|s| s.split("</id>").next())
            .expect("an id");
        assert_ne!(
            key(&changed(&bare, &format!("<id>{id}</id>"), "<id>1</id>")),
            k,
            "id"
        );
        assert_ne!(
            key(&changed(&poll, &format!("<id>{id}</id>"), "<id>1</id>")),
            k,
            "id"
        );
        assert_ne!(
            key(&changed(
                &bare,
                "<created>",
                "<created>2000-01-01 00:00:00</created><x>"
            )
            .replacen("</created>", "</x>", 2)
            .replacen("</x>", "</created>", 1)),
            k,
            "created"
        );
    }
    let bare = fixture("autodns/xml/transfer_start-push-bare.xml");
    assert_ne!(
        key(&changed(
            &bare,
            "2021-05-06 11:05:56",
            "2021-05-06 11:05:57"
        )),
        key(&bare),
        "the notify's content"
    );
}

#[test]
fn json_envelope_bare_and_mail_are_one_key_and_envelope_changes_do_not_count() {
    for (poll, bare) in [
        (
            "autodns/json/transfer_start-poll-json.json",
            "autodns/json/transfer_start-push-bare.json",
        ),
        (
            "autodns/json/0101-failed-poll.json",
            "autodns/json/0101-failed-push-bare.json",
        ),
    ] {
        let poll = fixture(poll);
        let bare = fixture(bare);
        let k = key(&poll);
        assert_eq!(key(&bare), k, "the bare message");
        assert_eq!(key(&in_mail(&poll, "a@x")), k, "the envelope in a mail");
        assert_eq!(key(&in_mail(&bare, "b@x")), k, "the bare message in a mail");
        let stid = between(&poll, "\"stid\": \"", "\"");
        assert_eq!(key(&changed(&poll, stid, "20991231-app9-1")), k, "stid");
        assert_eq!(
            key(&changed(&poll, "\"summary\": 1", "\"summary\": 3")),
            k,
            "summary"
        );
        assert_eq!(
            key(&changed(
                &poll,
                "\"type\": \"Message\"",
                "\"type\": \"message\""
            )),
            k,
            "the envelope's object"
        );
        assert_eq!(
            key(&changed(
                &poll,
                "The notification was polled successfully.",
                "Die Benachrichtigung wurde abgeholt."
            )),
            k,
            "the S0905 text"
        );
        let id = between(&bare, "\"id\": ", ",");
        assert_ne!(
            key(&changed(&bare, &format!("\"id\": {id}"), "\"id\": 1")),
            k,
            "id"
        );
        assert_ne!(
            key(&changed(&poll, &format!("\"id\": {id}"), "\"id\": 1")),
            k,
            "id"
        );
    }
    let bare = fixture("autodns/json/transfer_start-push-bare.json");
    assert_ne!(
        key(&changed(
            &bare,
            "example.org\",\n        \"data\"",
            "example.net\",\n        \"data\""
        )),
        key(&bare),
        "the message's own object (its domain)"
    );
}

/// The envelope's ctid, when the message has none, is the order the event is indexed under:
/// it stays in the key (equal keys mean equal ctids).
#[test]
fn the_ctid_the_event_is_indexed_under_counts() {
    let poll = fixture("autodns/json/transfer_start-poll-json.json");
    let with_ctid = changed(&poll, "\"stid\"", "\"ctid\": \"poll-42\",\n    \"stid\"");
    let n = parse(with_ctid.as_bytes(), &ParseOptions::default()).unwrap();
    assert_eq!(n.ctid.as_deref(), Some("poll-42"));
    assert_ne!(content_key(&n), key(&poll));
}

/// Realtime responses carry no poll message: their key is the whole notification's, the same
/// as the builds before issue 11 (so a stid still tells two answers apart).
#[test]
fn realtime_responses_keep_the_earlier_key() {
    for file in [
        "autodns/xml/N0101-realtime.xml",
        "autodns/xml/S0102-authinfo-deleted-realtime.xml",
        "autodns/json/0103101-success-realtime.json",
        "autodns/json/N0102-realtime-json.json",
    ] {
        let body = fixture(file);
        let n = parse(body.as_bytes(), &ParseOptions::default()).unwrap();
        assert!(n.poll_message_fields().is_none(), "{file}");
        assert_eq!(content_key(&n), content_key_v1(&n), "{file}");
    }
    let body = fixture("autodns/xml/N0101-realtime.xml");
    assert_ne!(
        key(&changed(
            &body,
            "20240115-app3-88120",
            "20240115-app3-88121"
        )),
        key(&body)
    );
}

/// The bytes of the keys are pinned: the earlier encoding (which old ledgers hold, for the text
/// format, CentralNic and realtime responses) must never change, and the poll-message encoding
/// changes only on purpose (with a new tag and a migration of stored keys).
#[test]
fn key_bytes_are_stable() {
    let cases = [
        (
            "autodns/text/ref-1403-start-text.txt",
            "2b842fe406b17bd98ec240e3ea7b7f1a4ba00cdb8c8c6b16a0a008cca17bb570",
        ),
        (
            "autodns/xml/N0101-realtime.xml",
            "6b7cbc5076c11eced0355d8c9af506934856ed3e3605b9819adbc3f38b7f7b01",
        ),
        (
            "autodns/xml/transfer_start-poll.xml",
            "a2d4ee2bc6fc88d53d51935238673e46391021e7209bd1e23c697173572e77c4",
        ),
        (
            "autodns/json/transfer_start-poll-json.json",
            "57da999d934fe84f221a357dc11bb38a66c93e7a97dd4c2600d6055aa092e523",
        ),
    ];
    let got: Vec<(String, String)> = cases
        .iter()
        .map(|(file, _)| (file.to_string(), hex(&key(&fixture(file)))))
        .collect();
    let want: Vec<(String, String)> = cases
        .iter()
        .map(|(file, hex)| (file.to_string(), hex.to_string()))
        .collect();
    assert_eq!(got, want);
}
