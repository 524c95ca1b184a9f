//! [`content_key`]: de-duplication on content (for an AutoDNS poll message, on the message
//! whatever carried it); [`own_time`] and [`is_copy`]: the same content far apart in time is a
//! new fact.

use chrono::{DateTime, TimeDelta, Utc};
use ledger_parser::Notification;
use sha2::{Digest, Sha256};

/// Tags the whole-notification encoding ([`content_key_v1`]), so that a future change of what
/// is hashed gives other keys on purpose.
const DOMAIN_TAG: &[u8] = b"ledger-event content-key v1";

/// Tags the poll-message encoding (issue 11): the key of an AutoDNS XML/JSON notification that
/// carries a poll message is the message's, not its envelope's.
const MESSAGE_TAG: &[u8] = b"ledger-event content-key v2 poll-message";

/// The de-duplication key of a notification: a hash of its content, not of the mail's bytes,
/// headers or Message-ID, so a parent-notify copy with other headers is recognised as the same
/// notification.
///
/// * An AutoDNS XML/JSON notification that carries a poll message
///   ([`Notification::poll_message_fields`]: the message of an `S0905` poll envelope, or a bare
///   message pushed without it) is keyed on **that message alone**, whatever carried it: a tag
///   naming this encoding (`ledger-event content-key v2 poll-message`), the provider and the
///   format, the number of the message's fields, then each one's block *relative to the
///   message*, key and value in the order read, then the notification's ctid (the one it is
///   indexed under: equal keys keep meaning equal ctids). The message's `id`, its `job` or
///   `notify`, `created`, `owner` and (JSON) its own `ctid`, `stid` and `object` are in it;
///   the envelope around it (its `stid`, `summary`, the `S0905` "polled successfully" status,
///   the JSON envelope's `object`) is not. So the push with the envelope, the bare push, the
///   poll and a mail carrying any of them are one key; two messages (another `id`, or other
///   content) are two.
/// * Anything else (the text format, CentralNic, XML/JSON realtime responses) is keyed as
///   before, by [`content_key_v1`]: the same bytes as the builds before issue 11, so their
///   stored keys stay valid.
///
/// ```
/// use ledger_event::content_key;
/// use ledger_parser::{Field, Format, MailMeta, Notification};
///
/// let mut a = Notification::new(Format::AutoDnsText);
/// a.fields.push(Field { block: "system".into(), key: "task".into(), value: "0101".into(), line: 3 });
/// let mut b = a.clone();
/// b.mail = Some(MailMeta { message_id: Some("copy@parent".into()), ..MailMeta::default() });
/// assert_eq!(content_key(&a), content_key(&b));
/// b.fields[0].value = "0102".into();
/// assert_ne!(content_key(&a), content_key(&b));
/// ```
///
/// ```
/// use ledger_event::content_key;
/// use ledger_parser::{parse, ParseOptions};
///
/// let bare = b"<message><id>7</id><notify><type>domain_away</type></notify></message>";
/// let envelope = |stid: &str| format!("<response><result><data><summary>1</summary>\
///     <message><id>7</id><notify><type>domain_away</type></notify></message></data>\
///     <status><code>S0905</code></status></result><stid>{stid}</stid></response>");
/// let key = |body: &[u8]| content_key(&parse(body, &ParseOptions::default()).unwrap());
/// assert_eq!(key(bare), key(envelope("20260101-app1-1").as_bytes()));
/// assert_eq!(key(bare), key(envelope("20260101-app2-9").as_bytes()));
/// let other = b"<message><id>8</id><notify><type>domain_away</type></notify></message>";
/// assert_ne!(key(bare), key(other));
/// ```
pub fn content_key(notification: &Notification) -> [u8; 32] {
    match notification.poll_message_fields() {
        Some(fields) => message_key(notification, &fields),
        None => content_key_v1(notification),
    }
}

/// The key of the poll message a notification carries (see [`content_key`]).
fn message_key(notification: &Notification, fields: &[(&str, &ledger_parser::Field)]) -> [u8; 32] {
    let mut hash = Canonical(Sha256::new());
    hash.text(MESSAGE_TAG);
    hash.text(provider_name(notification).as_bytes());
    hash.text(notification.format.name().as_bytes());
    hash.count(fields.len());
    for (block, field) in fields {
        hash.text(block.as_bytes());
        hash.text(field.key.as_bytes());
        hash.text(field.value.as_bytes());
    }
    hash.option(notification.ctid.as_deref());
    hash.0.finalize().into()
}

/// The whole-notification key: what [`content_key`] gives for a notification that carries no
/// poll message, and what every build before issue 11 gave for every notification (a ledger
/// migrating its stored keys finds the entries those builds wrote by it).
///
/// What is hashed (SHA-256), each text length-prefixed (u64 little-endian) so that no two
/// different contents share an encoding:
///
/// * a tag naming this encoding (`ledger-event content-key v1`);
/// * the provider and the format, by name;
/// * the number of fields, then every [`Field`](ledger_parser::Field)'s block, key and value, in
///   the order read (not its line number: a blank line more above the body is not another
///   notification);
/// * then the codes read from them (task, status code, ctid, stid, domain, event type,
///   `kk_answer`, error, notice codes, CentralNic code): derived from the same fields, so they
///   never split one notification into two keys, but they keep two notifications apart should a
///   format reader ever leave its field list short.
///
/// Nothing of the mail (headers, transfer encoding, Message-ID, `Date`) and nothing that depends
/// on parse options (UTC readings of provider times) goes in.
pub fn content_key_v1(notification: &Notification) -> [u8; 32] {
    let mut hash = Canonical(Sha256::new());
    hash.text(DOMAIN_TAG);
    hash.text(provider_name(notification).as_bytes());
    hash.text(notification.format.name().as_bytes());

    hash.count(notification.fields.len());
    for field in &notification.fields {
        hash.text(field.block.as_bytes());
        hash.text(field.key.as_bytes());
        hash.text(field.value.as_bytes());
    }

    let n = notification;
    hash.option(n.task.as_deref());
    hash.option(n.status.as_ref().map(|s| s.code.as_str()));
    hash.option(n.ctid.as_deref());
    hash.option(n.stid.as_deref());
    hash.option(n.domain.as_ref().map(|d| d.as_str()));
    hash.option(n.event_type.as_deref());
    hash.option(n.kk_answer.as_deref());
    hash.option(n.error.as_deref());
    hash.count(n.notices.len());
    for notice in &n.notices {
        hash.text(notice.code.as_bytes());
    }
    match &n.centralnic {
        Some(response) => {
            hash.0.update([1]);
            hash.0.update(response.code.to_le_bytes());
        }
        None => hash.0.update([0]),
    }
    hash.0.finalize().into()
}

/// How far apart the own times ([`own_time`]) of two notifications of the same content may be
/// for the second to be a copy of the first: 24 hours. AutoDNS's parent-notify copies are sent
/// together (seconds to minutes apart); an answer that carries no time of its own (an S0106:
/// `kk_answer`, `sld`, `tld`, nothing else) sent again months later for a second transfer of
/// the same domain is a new fact.
pub const COPY_WINDOW: TimeDelta = TimeDelta::hours(24);

/// The notification's own time, for de-duplication: the provider's `created` (XML/JSON) where
/// there is one, else the mail's `Date`; `None` for a bare body or a mail without `Date`.
///
/// `created` comes first (unlike [`Notification::occurred_at`], which orders facts by the mail's
/// `Date` first): it is the provider's time of the fact and the same in every copy of it,
/// whereas a copy's `Date` is when that mail was sent (a mail re-sent a day later is still the
/// same notification). `created` is also one of the fields the [`content_key`] covers, so two
/// notifications with the same key and a `created` have the same `created`.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use ledger_event::own_time;
/// use ledger_parser::{Format, MailMeta, Notification};
///
/// let mut n = Notification::new(Format::AutoDnsJson);
/// assert_eq!(own_time(&n), None);
/// let date = chrono::DateTime::parse_from_rfc2822("Tue, 09 Jun 2026 16:45:30 +0200").unwrap();
/// n.mail = Some(MailMeta { date: Some(date), ..MailMeta::default() });
/// assert_eq!(own_time(&n), Some(date.with_timezone(&Utc)));
/// n.created = Some(Utc.with_ymd_and_hms(2026, 6, 9, 14, 40, 0).unwrap());
/// assert_eq!(own_time(&n), n.created);
/// ```
pub fn own_time(notification: &Notification) -> Option<DateTime<Utc>> {
    notification.created.or_else(|| {
        notification
            .mail
            .as_ref()
            .and_then(|m| m.date)
            .map(|d| d.with_timezone(&Utc))
    })
}

/// Whether a notification whose own time is `new` is a copy of an event of the same content
/// whose own time is `existing`: when either has no own time (de-duplication on content alone,
/// as before own times counted), or they are at most [`COPY_WINDOW`] apart.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use ledger_event::is_copy;
///
/// let january = Utc.with_ymd_and_hms(2026, 1, 13, 9, 2, 41).unwrap();
/// assert!(is_copy(Some(january + TimeDelta::minutes(2)), Some(january)));
/// assert!(!is_copy(Some(january + TimeDelta::days(147)), Some(january)));
/// assert!(is_copy(None, Some(january)));
/// ```
pub fn is_copy(new: Option<DateTime<Utc>>, existing: Option<DateTime<Utc>>) -> bool {
    match (new, existing) {
        (Some(new), Some(existing)) => (new - existing).abs() <= COPY_WINDOW,
        _ => true,
    }
}

/// The provider's stable name (the `Provider` type has no name method of its own).
fn provider_name(notification: &Notification) -> &'static str {
    match notification.provider {
        ledger_parser::Provider::AutoDns => "autodns",
        ledger_parser::Provider::CentralNic => "centralnic",
    }
}

/// A hasher fed with an unambiguous encoding: lengths before texts, tags before options.
struct Canonical(Sha256);

impl Canonical {
    /// A count or length, as u64 little-endian.
    fn count(&mut self, n: usize) {
        // usize is at most 64 bits on every target Rust supports.
        self.0.update((n as u64).to_le_bytes());
    }

    /// A length-prefixed byte string.
    fn text(&mut self, bytes: &[u8]) {
        self.count(bytes.len());
        self.0.update(bytes);
    }

    /// An optional text: a 0 byte for none, a 1 byte and the text for some.
    fn option(&mut self, text: Option<&str>) {
        match text {
            Some(text) => {
                self.0.update([1]);
                self.text(text.as_bytes());
            }
            None => self.0.update([0]),
        }
    }
}

#[cfg(test)]
mod tests {
    use ledger_parser::{Field, Format, MailMeta, Notice, Notification};

    use super::*;

    fn field(block: &str, key: &str, value: &str, line: u32) -> Field {
        Field {
            block: block.into(),
            key: key.into(),
            value: value.into(),
            line,
        }
    }

    /// The seed's S1403 transfer-out notification, as the text reader reads it. Fields:
    /// user, task, status, success_value, transaction (4), kk_start (5).
    fn transfer_out() -> Notification {
        let text = "<system>\nuser: ExampleUser\ntask: 1403\n\
            status: S1403 [Outgoing domain transfer has been started successfully.]\n\
            success_value: domain: example.com\ntransaction: 1234\n</system>\n\
            <reply>\nkk_start: 2010-05-17 08:43:53\n</reply>\n";
        let n = ledger_parser::parse(text.as_bytes(), &ledger_parser::ParseOptions::default())
            .expect("the seed's S1403 parses");
        let keys: Vec<&str> = n.fields.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys[4..], ["transaction", "kk_start"]);
        n
    }

    #[test]
    fn mail_and_line_numbers_do_not_count() {
        let a = transfer_out();
        let mut b = a.clone();
        b.mail = Some(MailMeta {
            message_id: Some("other@mail".into()),
            subject: Some("Fwd: parent notify".into()),
            received: vec!["from relay".into()],
            ..MailMeta::default()
        });
        for f in &mut b.fields {
            f.line += 5;
        }
        b.diagnostics.push(ledger_parser::Diagnostic {
            block: None,
            line: Some(1),
            message: "stray line".into(),
        });
        assert_eq!(content_key(&a), content_key(&b));
    }

    #[test]
    fn every_part_of_a_field_counts() {
        let base = content_key(&transfer_out());
        let changes: [fn(&mut Notification); 7] = [
            |n| n.fields[4].value = "1235".into(),
            |n| n.fields[5].key = "kk_end".into(),
            |n| n.fields[5].block = "system".into(),
            |n| n.fields.swap(0, 1),
            |n| {
                n.fields.pop();
            },
            |n| n.format = Format::AutoDnsXml,
            |n| {
                n.notices.push(Notice {
                    code: "MSG01050".into(),
                    text: None,
                })
            },
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut n = transfer_out();
            change(&mut n);
            assert_ne!(content_key(&n), base, "change #{i} must change the key");
        }
    }

    #[test]
    fn copies_are_within_a_day_of_each_other() {
        use chrono::TimeZone;
        let t = Utc.with_ymd_and_hms(2026, 6, 9, 14, 45, 30).unwrap();
        assert!(is_copy(Some(t), Some(t)));
        assert!(is_copy(Some(t + COPY_WINDOW), Some(t)));
        assert!(is_copy(Some(t - COPY_WINDOW), Some(t)));
        assert!(!is_copy(
            Some(t + COPY_WINDOW + TimeDelta::seconds(1)),
            Some(t)
        ));
        assert!(!is_copy(
            Some(t),
            Some(t + COPY_WINDOW + TimeDelta::seconds(1))
        ));
        assert!(is_copy(None, None));
        assert!(is_copy(Some(t), None));
    }

    #[test]
    fn created_comes_before_the_mail_date() {
        use chrono::TimeZone;
        let mut n = transfer_out();
        assert_eq!(own_time(&n), None);
        let date = chrono::DateTime::parse_from_rfc2822("Mon, 17 May 2010 08:44:00 +0200")
            .expect("a date");
        n.mail = Some(MailMeta {
            date: Some(date),
            ..MailMeta::default()
        });
        assert_eq!(own_time(&n), Some(date.with_timezone(&Utc)));
        let created = Utc.with_ymd_and_hms(2010, 5, 17, 6, 43, 53).unwrap();
        n.created = Some(created);
        assert_eq!(own_time(&n), Some(created));
    }

    #[test]
    fn length_prefixes_keep_boundaries_apart() {
        let mut a = Notification::new(Format::CentralNic);
        a.fields = vec![field("response", "ab", "c", 0)];
        let mut b = a.clone();
        b.fields = vec![field("response", "a", "bc", 0)];
        assert_ne!(content_key(&a), content_key(&b));
    }
}
