//! The typed notification: what [`crate::parse`] returns.

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use crate::DomainName;

/// The task code of the AutoDNS poll envelope (`S0905`: the notification was polled).
pub(crate) const POLL_TASK: &str = "0905";

/// The status of the poll envelope, given to a bare poll message (pushed without it) wherever
/// the envelope's status would stand.
pub(crate) const POLLED_STATUS: &str = "S0905";

/// The diagnostic of a bare poll message whose status is the envelope's it was pushed without.
pub(crate) const BARE_MESSAGE_STATUS: &str = "a poll message without its envelope: status S0905, \
    as its poll envelope would give";

/// Who sent a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// AutoDNS (InterNetX).
    AutoDns,
    /// CentralNic Reseller (RRPproxy; HEXONET is the same protocol family).
    CentralNic,
}

/// The wire format a notification was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// AutoDNS "Standard" text mail: `<system>`, `<reply>`, `<nic_response>` blocks.
    AutoDnsText,
    /// AutoDNS XML: poll/push message or plain response.
    AutoDnsXml,
    /// AutoDNS JSON: poll/push message or realtime response.
    AutoDnsJson,
    /// CentralNic Reseller `[RESPONSE]` … `EOF` command response.
    CentralNic,
}

impl Format {
    /// The provider that writes this format.
    pub fn provider(self) -> Provider {
        match self {
            Format::CentralNic => Provider::CentralNic,
            _ => Provider::AutoDns,
        }
    }

    /// The name used on the command line and in JSON (`autodns-text`, …).
    pub fn name(self) -> &'static str {
        match self {
            Format::AutoDnsText => "autodns-text",
            Format::AutoDnsXml => "autodns-xml",
            Format::AutoDnsJson => "autodns-json",
            Format::CentralNic => "centralnic",
        }
    }
}

/// The prefix of an AutoDNS status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusPrefix {
    /// `S`: the order succeeded.
    Success,
    /// `E`: the order failed.
    Error,
    /// `N`: the order was accepted and is still running; the final `S`/`E` comes later.
    Notify,
}

/// What a status means for the order it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusClass {
    /// Done: AutoDNS `S…`, CentralNic `2xx`.
    Success,
    /// Accepted and still running: AutoDNS `N…`.
    InProgress,
    /// Failed for now, resubmit later: CentralNic `4xx`.
    Temporary,
    /// Failed: AutoDNS `E…`, CentralNic `5xx`.
    Permanent,
}

impl StatusClass {
    /// The lower-case name used in JSON and tables.
    pub fn name(self) -> &'static str {
        match self {
            StatusClass::Success => "success",
            StatusClass::InProgress => "in_progress",
            StatusClass::Temporary => "temporary",
            StatusClass::Permanent => "permanent",
        }
    }
}

/// The status of a notification: AutoDNS `S0101 [text]` or a CentralNic return code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The code as written: `S0101`, `E0104001`, `N0102`, `421`.
    pub code: String,
    /// The AutoDNS prefix; `None` for CentralNic return codes.
    pub prefix: Option<StatusPrefix>,
    /// The human text (`Domain has been registered successfully.`), in whatever language the
    /// account uses. Never decide on it.
    pub text: Option<String>,
    /// What the status means for the order.
    pub class: StatusClass,
}

impl Status {
    /// The code without its AutoDNS prefix: `0101` for `S0101`, `421` for `421`.
    pub fn task_code(&self) -> &str {
        match self.prefix {
            Some(_) => self.code.get(1..).unwrap_or(""),
            None => &self.code,
        }
    }
}

/// A notice beside the status: `notice: MSG01050 [OwnerC has been imported]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// The notice code, e.g. `MSG01050`.
    pub code: String,
    /// Its text, if any.
    pub text: Option<String>,
}

/// Whether a wall-clock time was unambiguous in the source zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DstFlag {
    /// The time exists exactly once in the zone (or carried its own offset).
    Unambiguous,
    /// The time falls in a DST gap (clocks jumped over it); the instant given is the one an
    /// hour later, as the clock would have read.
    Gap,
    /// The time occurs twice (clocks went back); the instant given is the earlier one.
    Overlap,
}

/// A time as the provider wrote it, and the instant it stands for where it parses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeReading {
    /// The text as written (`2010-05-16 19:43:02`, `2022-01-19T10:54:42.000+0100`).
    pub raw: String,
    /// The instant, in UTC; `None` when the text does not parse as a time.
    pub utc: Option<DateTime<Utc>>,
    /// Whether the wall-clock time was ambiguous in the source zone.
    pub dst: DstFlag,
}

/// The transfer-out timetable (`kk_*` fields, XML `transfer/*`, JSON `start`/`reminder`/…).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TransferTimetable {
    /// `kk_start`: the transfer started.
    pub start: Option<TimeReading>,
    /// `kk_reminder`: when the reminder goes out.
    pub reminder: Option<TimeReading>,
    /// `kk_autoack`: the transfer is confirmed automatically then (the domain leaves).
    pub autoack: Option<TimeReading>,
    /// `kk_autonack`: the transfer is refused automatically then (the domain stays).
    pub autonack: Option<TimeReading>,
    /// `kk_end`: the process ends.
    pub end: Option<TimeReading>,
    /// `kk_new`: undocumented, kept as text.
    pub new: Option<String>,
}

impl TransferTimetable {
    /// True when no entry is present.
    pub fn is_empty(&self) -> bool {
        self.start.is_none()
            && self.reminder.is_none()
            && self.autoack.is_none()
            && self.autonack.is_none()
            && self.end.is_none()
            && self.new.is_none()
    }
}

/// What the mail around a notification said of itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MailMeta {
    /// `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// `Date`, with the offset it was written with.
    pub date: Option<DateTime<FixedOffset>>,
    /// `From`: the address only (`notify@autodns.example`), lower-cased.
    pub from: Option<String>,
    /// `Subject`.
    pub subject: Option<String>,
    /// Every `Received` header, in order.
    pub received: Vec<String>,
    /// Every `Authentication-Results` header, in order.
    pub authentication_results: Vec<String>,
}

/// One field as read, in input order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// Where it stood: a text block (`system`, `reply`, `nic_response`), an XML or JSON path
    /// (`result/data/message/job/ctid`, `data[0].object.value`) or `response` for CentralNic.
    pub block: String,
    /// The key (`status`, `property[domain][0]`).
    pub key: String,
    /// The value, trimmed, continuation lines joined with a space.
    pub value: String,
    /// The 1-based line of the body where it started (0 when the format has no lines).
    pub line: u32,
}

/// Something odd that did not stop the parse: a stray line, an unparsable time, an unknown code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The block it was found in, if any.
    pub block: Option<String>,
    /// The 1-based line of the body, if known.
    pub line: Option<u32>,
    /// What is odd.
    pub message: String,
}

/// One `property[NAME][i] = value` of a CentralNic response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Property {
    /// The property name, lower-cased (`domaincheck`, `credit threshold`).
    pub name: String,
    /// The row index.
    pub index: u32,
    /// The value (URL-decoded for `info` and `data`).
    pub value: String,
}

/// A CentralNic Reseller command response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CentralNicResponse {
    /// The 3-digit return code.
    pub code: u16,
    /// `description`, as written (a detail after `;` is kept).
    pub description: String,
    /// `runtime`, if present.
    pub runtime: Option<String>,
    /// `queuetime`, if present.
    pub queuetime: Option<String>,
    /// Every property, in input order.
    pub properties: Vec<Property>,
}

impl CentralNicResponse {
    /// The value of `property[name][index]` (name compared case-insensitively).
    pub fn property(&self, name: &str, index: u32) -> Option<&str> {
        self.properties
            .iter()
            .find(|p| p.index == index && p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_str())
    }

    /// Every value of `property[name][…]`, in the order written (name compared
    /// case-insensitively).
    ///
    /// ```
    /// use ledger_parser::{CentralNicResponse, Property};
    /// let property = |name: &str, index, value: &str| Property {
    ///     name: name.into(),
    ///     index,
    ///     value: value.into(),
    /// };
    /// let response = CentralNicResponse {
    ///     code: 200,
    ///     description: "Command completed successfully".into(),
    ///     runtime: None,
    ///     queuetime: None,
    ///     properties: vec![
    ///         property("data", 0, "domain:a.example"),
    ///         property("class", 0, "DOMAIN_TRANSFER"),
    ///         property("data", 1, "period:1"),
    ///     ],
    /// };
    /// assert_eq!(response.values("data").collect::<Vec<_>>(), ["domain:a.example", "period:1"]);
    /// ```
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.properties
            .iter()
            .filter(move |p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_str())
    }
}

/// A parsed notification, keeping everything that was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// Who sent it.
    pub provider: Provider,
    /// The wire format.
    pub format: Format,
    /// The AutoDNS task code (`0101`, `1403008`); for CentralNic, `None`.
    pub task: Option<String>,
    /// The status. Always present on a successful parse.
    pub status: Option<Status>,
    /// The reseller's order id: text `transaction`, XML/JSON `ctid`.
    pub ctid: Option<String>,
    /// `last_transaction`, kept as text (it may read `id #20673# action #domain#`).
    pub last_transaction: Option<String>,
    /// The provider's server transaction id (`stid`).
    pub stid: Option<String>,
    /// The domain: `success_value: domain: …`, `sld` + `tld`, or the XML/JSON object.
    pub domain: Option<DomainName>,
    /// Every notice, in order.
    pub notices: Vec<Notice>,
    /// `error:` (an AutoDNS error id).
    pub error: Option<String>,
    /// `kk_answer`: ACK, NACK, AUTOACK, AUTONACK (upper-cased), or the JSON/XML equivalent.
    pub kk_answer: Option<String>,
    /// `autoupdate: true` marks the AUTOUPDATE after a transfer.
    pub autoupdate: Option<bool>,
    /// `owner-c` from the reply (the new owner contact after an import).
    pub owner_c: Option<String>,
    /// The registry's answer (`<nic_response>` block), as text.
    pub nic_response: Option<String>,
    /// The transfer-out timetable.
    pub timetable: TransferTimetable,
    /// The event type of an event notification: XML/JSON `notify/type` (`transfer_start`,
    /// `domain_away`), or a CentralNic StatusEvent `class/subclass`
    /// (`DOMAIN_TRANSFER/FOREIGN_TRANSFER_PENDING`).
    pub event_type: Option<String>,
    /// The time the provider stamped on the message itself (XML/JSON `created`, CentralNic event
    /// `date`), in UTC.
    pub created: Option<DateTime<Utc>>,
    /// The CentralNic response, for that format.
    pub centralnic: Option<CentralNicResponse>,
    /// The mail around it, if the input was a mail.
    pub mail: Option<MailMeta>,
    /// Every field, in the order read.
    pub fields: Vec<Field>,
    /// Oddities that did not stop the parse.
    pub diagnostics: Vec<Diagnostic>,
}

impl Notification {
    /// An empty notification of a format, to be filled by a format parser.
    pub fn new(format: Format) -> Self {
        Notification {
            provider: format.provider(),
            format,
            task: None,
            status: None,
            ctid: None,
            last_transaction: None,
            stid: None,
            domain: None,
            notices: Vec::new(),
            error: None,
            kk_answer: None,
            autoupdate: None,
            owner_c: None,
            nic_response: None,
            timetable: TransferTimetable::default(),
            event_type: None,
            created: None,
            centralnic: None,
            mail: None,
            fields: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    /// True if a notice with this code is present (`MSG01050`).
    pub fn has_notice(&self, code: &str) -> bool {
        self.notices
            .iter()
            .any(|n| n.code.eq_ignore_ascii_case(code))
    }

    /// True for an AutoDNS XML/JSON event notification (polled, `S0905`) that names no type
    /// (no `notify/type`; in XML, the event type then is the name of its one telling element,
    /// `transfer`) but carries a transfer timetable with a start and no answer: it opens or
    /// updates the outgoing transfer, the fact a typed `transfer_start` names. The parser says
    /// so in a diagnostic; `ledger_event::classify` reads it as that fact.
    pub fn is_untyped_transfer_start(&self) -> bool {
        matches!(self.format, Format::AutoDnsXml | Format::AutoDnsJson)
            && self.task.as_deref() == Some(POLL_TASK)
            && self
                .event_type
                .as_deref()
                .is_none_or(|t| t.eq_ignore_ascii_case("transfer"))
            && self.timetable.start.is_some()
            && self.kk_answer.is_none()
    }

    /// The fields of the poll message an AutoDNS XML/JSON notification carries, each with its
    /// block relative to the message (`notify/domain`, `job`; `""` for the message's own
    /// leaves such as `id` and `created`), in the order read; `None` when it carries none (a
    /// realtime response, the text format, CentralNic).
    ///
    /// The message is the same whatever carried it: XML `response/result/data/message` inside
    /// an `S0905` envelope, or a bare `<message>` root; JSON `data[0]` (the message the parser
    /// reads) of an `S0905` envelope, or a bare PollMessage (a top level with `job` or
    /// `notify` and no `status.code`). The envelope's own fields (its `stid`, `summary`,
    /// status, JSON `object`) are not among them. Worked out from [`Notification::fields`]
    /// alone, so it gives the same answer for a notification read back from storage.
    ///
    /// ```
    /// use ledger_parser::{parse, ParseOptions};
    ///
    /// let bare = b"<message><id>7</id><notify><type>domain_away</type></notify></message>";
    /// let pushed = b"<response><result><data><summary>1</summary><message><id>7</id>\
    ///     <notify><type>domain_away</type></notify></message></data><status><code>S0905</code>\
    ///     </status></result><stid>20260101-app1-1</stid></response>";
    /// let relative = |body: &[u8]| -> Vec<(String, String, String)> {
    ///     let n = parse(body, &ParseOptions::default()).unwrap();
    ///     n.poll_message_fields().unwrap().into_iter()
    ///         .map(|(block, f)| (block.to_string(), f.key.clone(), f.value.clone()))
    ///         .collect()
    /// };
    /// assert_eq!(relative(bare), relative(pushed));
    /// assert_eq!(relative(bare)[1], ("notify".to_string(), "type".to_string(), "domain_away".to_string()));
    /// ```
    pub fn poll_message_fields(&self) -> Option<Vec<(&str, &Field)>> {
        let (prefix, separator) = self.poll_message_scope()?;
        Some(
            self.fields
                .iter()
                .filter_map(|f| relative_block(&f.block, prefix, separator).map(|b| (b, f)))
                .collect(),
        )
    }

    /// Where the carried poll message's fields are: the block prefix and the path separator.
    fn poll_message_scope(&self) -> Option<(&'static str, char)> {
        let value = |block: &str, key: &str| {
            self.fields
                .iter()
                .find(|f| f.block == block && f.key == key)
                .map(|f| f.value.as_str())
                .filter(|v| !v.trim().is_empty())
        };
        let polled = |block: &str| {
            value(block, "code")
                .and_then(|code| crate::codes::autodns_status(code, None))
                .is_some_and(|status| status.task_code() == POLL_TASK)
        };
        match self.format {
            Format::AutoDnsXml => {
                const BARE: &str = "message";
                const ENVELOPE: &str = "response/result/data/message";
                let under =
                    |prefix: &str, f: &Field| relative_block(&f.block, prefix, '/').is_some();
                if !self.fields.is_empty() && self.fields.iter().all(|f| under(BARE, f)) {
                    Some((BARE, '/'))
                } else if polled("response/result/status")
                    && self.fields.iter().any(|f| under(ENVELOPE, f))
                {
                    Some((ENVELOPE, '/'))
                } else {
                    None
                }
            }
            Format::AutoDnsJson => {
                // A job or a notify member of the message at `prefix`.
                let carries = |prefix: &str| {
                    self.fields.iter().any(|f| {
                        let Some(block) = relative_block(&f.block, prefix, '.') else {
                            return false;
                        };
                        let head = if block.is_empty() {
                            f.key.as_str()
                        } else {
                            block.split('.').next().unwrap_or(block)
                        };
                        head == "job" || head == "notify"
                    })
                };
                if value("status", "code").is_none() && carries("") {
                    Some(("", '.'))
                } else if polled("status") && carries("data[0]") {
                    Some(("data[0]", '.'))
                } else {
                    None
                }
            }
            Format::AutoDnsText | Format::CentralNic => None,
        }
    }

    /// The time the notification itself says it was made: the mail's `Date`, else the
    /// provider's `created` stamp.
    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        self.mail
            .as_ref()
            .and_then(|m| m.date)
            .map(|d| d.with_timezone(&Utc))
            .or(self.created)
    }
}

/// A block relative to `prefix` (`""` for the prefix itself), when it is at or below it.
fn relative_block<'a>(block: &'a str, prefix: &str, separator: char) -> Option<&'a str> {
    if prefix.is_empty() {
        return Some(block);
    }
    let rest = block.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix(separator)
    }
}
