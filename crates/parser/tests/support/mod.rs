//! The fixture harness shared by the parser's integration tests: read a file under
//! `fixtures/`, parse it, and compare the notification with an [`Expect`] in one `check`.
//!
//! Every field of [`Expect`] is compared, so a field left at its default asserts that the
//! notification does *not* carry it.
//!
//! The readers with a format of their own (AutoDNS XML and JSON, CentralNic) go through
//! [`Fixtures`], which parses each fixture sniffed and forced and asserts both agree; the XML
//! and JSON fixtures are compared with a [`Document`] in [`Fixtures::check`].

#![allow(dead_code)]

use std::path::PathBuf;

use ledger_parser::{Format, Notification, ParseError, ParseOptions, Provider, StatusClass, parse};

/// The path of a fixture, relative to the workspace's `fixtures/`.
pub fn fixture_path(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(path)
}

/// The bytes of a fixture.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = fixture_path(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("reading {}: {e}", full.display()))
}

/// Parses a fixture with the default options.
pub fn parse_fixture(path: &str) -> Result<Notification, ParseError> {
    parse(&fixture(path), &ParseOptions::default())
}

/// Parses a fixture that must parse.
pub fn parsed(path: &str) -> Notification {
    parse_fixture(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `kk_*` timetable expected, as UTC RFC 3339 instants.
#[derive(Debug, Default, Clone, Copy)]
pub struct Times {
    pub start: Option<&'static str>,
    pub reminder: Option<&'static str>,
    pub autoack: Option<&'static str>,
    pub autonack: Option<&'static str>,
    pub end: Option<&'static str>,
    pub new: Option<&'static str>,
}

/// What a notification must read. `None`/empty means "absent".
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    pub format: Format,
    pub task: Option<&'static str>,
    pub status: &'static str,
    pub class: StatusClass,
    pub status_text: Option<&'static str>,
    pub ctid: Option<&'static str>,
    pub last_transaction: Option<&'static str>,
    pub domain: Option<&'static str>,
    pub notices: &'static [&'static str],
    pub error: Option<&'static str>,
    pub kk_answer: Option<&'static str>,
    pub autoupdate: Option<bool>,
    pub owner_c: Option<&'static str>,
    pub times: Times,
    /// `Message-ID` without brackets; `None` for a bare body (no mail at all).
    pub message_id: Option<&'static str>,
    /// The mail's `Date` as RFC 3339 with its own offset.
    pub date: Option<&'static str>,
    /// `(line, part of the message)` of every diagnostic, in order.
    pub diagnostics: &'static [(Option<u32>, &'static str)],
}

impl Default for Expect {
    fn default() -> Self {
        Expect {
            format: Format::AutoDnsText,
            task: None,
            status: "",
            class: StatusClass::Success,
            status_text: None,
            ctid: None,
            last_transaction: None,
            domain: None,
            notices: &[],
            error: None,
            kk_answer: None,
            autoupdate: None,
            owner_c: None,
            times: Times::default(),
            message_id: None,
            date: None,
            diagnostics: &[],
        }
    }
}

/// Parses the fixture at `path` and asserts it reads as `expected`; returns it for more checks.
pub fn check(path: &str, expected: Expect) -> Notification {
    let n = parsed(path);
    let status = n
        .status
        .as_ref()
        .unwrap_or_else(|| panic!("{path}: no status"));
    assert_eq!(n.format, expected.format, "{path}: format");
    assert_eq!(n.task.as_deref(), expected.task, "{path}: task");
    assert_eq!(status.code, expected.status, "{path}: status code");
    assert_eq!(status.class, expected.class, "{path}: status class");
    if expected.status_text.is_some() {
        assert_eq!(
            status.text.as_deref(),
            expected.status_text,
            "{path}: status text"
        );
    }
    assert_eq!(n.ctid.as_deref(), expected.ctid, "{path}: ctid");
    assert_eq!(
        n.last_transaction.as_deref(),
        expected.last_transaction,
        "{path}: last_transaction"
    );
    assert_eq!(
        n.domain.as_ref().map(|d| d.as_str()),
        expected.domain,
        "{path}: domain"
    );
    let notices: Vec<&str> = n.notices.iter().map(|x| x.code.as_str()).collect();
    assert_eq!(notices, expected.notices, "{path}: notices");
    assert_eq!(n.error.as_deref(), expected.error, "{path}: error");
    assert_eq!(
        n.kk_answer.as_deref(),
        expected.kk_answer,
        "{path}: kk_answer"
    );
    assert_eq!(n.autoupdate, expected.autoupdate, "{path}: autoupdate");
    assert_eq!(n.owner_c.as_deref(), expected.owner_c, "{path}: owner_c");
    let utc = |t: &Option<ledger_parser::TimeReading>| {
        t.as_ref().and_then(|t| t.utc).map(|u| u.to_rfc3339())
    };
    let tt = &n.timetable;
    let want = expected.times;
    assert_eq!(utc(&tt.start).as_deref(), want.start, "{path}: kk_start");
    assert_eq!(
        utc(&tt.reminder).as_deref(),
        want.reminder,
        "{path}: kk_reminder"
    );
    assert_eq!(
        utc(&tt.autoack).as_deref(),
        want.autoack,
        "{path}: kk_autoack"
    );
    assert_eq!(
        utc(&tt.autonack).as_deref(),
        want.autonack,
        "{path}: kk_autonack"
    );
    assert_eq!(utc(&tt.end).as_deref(), want.end, "{path}: kk_end");
    assert_eq!(tt.new.as_deref(), want.new, "{path}: kk_new");
    match (&n.mail, expected.message_id) {
        (None, None) => {}
        (Some(mail), Some(id)) => {
            assert_eq!(mail.message_id.as_deref(), Some(id), "{path}: message_id");
            let date = mail.date.map(|d| d.to_rfc3339());
            assert_eq!(date.as_deref(), expected.date, "{path}: mail date");
        }
        (mail, id) => panic!("{path}: mail {mail:?}, expected message id {id:?}"),
    }
    let diagnostics: Vec<(Option<u32>, &str)> = n
        .diagnostics
        .iter()
        .map(|d| (d.line, d.message.as_str()))
        .collect();
    assert_eq!(
        diagnostics.len(),
        expected.diagnostics.len(),
        "{path}: diagnostics {diagnostics:#?}"
    );
    for ((line, message), (want_line, want_part)) in diagnostics.iter().zip(expected.diagnostics) {
        assert_eq!(line, want_line, "{path}: diagnostic line of {message:?}");
        assert!(
            message.contains(want_part),
            "{path}: diagnostic {message:?} lacks {want_part:?}"
        );
    }
    n
}

/// Parses the fixture at `path`, which must fail; returns the error.
pub fn check_err(path: &str) -> ParseError {
    match parse_fixture(path) {
        Ok(n) => panic!("{path}: expected an error, got {n:#?}"),
        Err(e) => e,
    }
}

/// The fixtures of one format, under `fixtures/<dir>/`.
#[derive(Debug, Clone, Copy)]
pub struct Fixtures {
    pub dir: &'static str,
    pub format: Format,
}

impl Fixtures {
    /// The bytes of the fixture `name` under this directory.
    pub fn bytes(&self, name: &str) -> Vec<u8> {
        fixture(&format!("{}/{name}", self.dir))
    }

    /// Options that force this format.
    pub fn forced(&self) -> ParseOptions {
        ParseOptions {
            format: Some(self.format),
            ..Default::default()
        }
    }

    /// Parses `text` with this format forced.
    pub fn parse_str(&self, text: &str) -> Result<Notification, ParseError> {
        parse(text.as_bytes(), &self.forced())
    }

    /// Parses a fixture sniffed and forced, asserts both agree, and returns the forced result.
    pub fn parse_both(&self, name: &str) -> Result<Notification, ParseError> {
        let bytes = self.bytes(name);
        let sniffed = parse(&bytes, &ParseOptions::default());
        let forced = parse(&bytes, &self.forced());
        assert_eq!(
            sniffed, forced,
            "{name}: sniffing must pick the {:?} reader",
            self.format
        );
        forced
    }

    /// A fixture that must parse, sniffed and forced alike.
    pub fn read(&self, name: &str) -> Notification {
        self.parse_both(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// A fixture that must be refused, sniffed and forced alike; returns the error.
    pub fn refused(&self, name: &str) -> ParseError {
        self.parse_both(name).expect_err("a bad fixture is refused")
    }

    /// Reads the AutoDNS fixture `e.file` and asserts it reads as `e`, with one field per
    /// `unit` of the fixture as `count_units` counts them independently of the parser.
    pub fn check(&self, e: &Document, count_units: fn(&[u8]) -> usize, unit: &str) -> Notification {
        let file = e.file;
        let n = self.read(file);
        assert_eq!(n.provider, Provider::AutoDns, "{file}");
        assert_eq!(n.format, self.format, "{file}");
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
        assert_eq!(
            n.fields.len(),
            count_units(&self.bytes(file)),
            "{file}: one field per {unit}"
        );
        n
    }
}

/// What an AutoDNS XML or JSON fixture must read as.
#[derive(Debug, Clone, Copy)]
pub struct Document {
    pub file: &'static str,
    pub task: &'static str,
    pub code: &'static str,
    pub class: StatusClass,
    pub text: Option<&'static str>,
    /// True when the status had to be synthesised from `job.action` + `job.status`.
    pub synthesised: bool,
    pub ctid: Option<&'static str>,
    pub stid: &'static str,
    pub domain: Option<&'static str>,
    pub notices: &'static [&'static str],
    pub event_type: Option<&'static str>,
    pub created: Option<&'static str>,
    /// start, reminder, autoack, autonack, end (UTC, RFC 3339).
    pub timetable: [Option<&'static str>; 5],
    pub owner_c: Option<&'static str>,
}

/// A successfully polled notification (`S0905`) with nothing else: the base of a [`Document`].
pub const POLLED: Document = Document {
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

/// Asserts that a bare poll message (pushed without its envelope) reads as the same message
/// inside its poll envelope: everything but the envelope's `stid` and the diagnostics.
pub fn assert_same_message(envelope: &Notification, bare: &Notification, what: &str) {
    assert_eq!(bare.format, envelope.format, "{what}: format");
    assert_eq!(bare.task, envelope.task, "{what}: task");
    let code = |n: &Notification| n.status.as_ref().map(|s| (s.code.clone(), s.class));
    assert_eq!(code(bare), code(envelope), "{what}: status code and class");
    assert_eq!(bare.ctid, envelope.ctid, "{what}: ctid");
    assert_eq!(bare.domain, envelope.domain, "{what}: domain");
    assert_eq!(bare.event_type, envelope.event_type, "{what}: event type");
    assert_eq!(bare.created, envelope.created, "{what}: created");
    assert_eq!(bare.timetable, envelope.timetable, "{what}: timetable");
    assert_eq!(bare.owner_c, envelope.owner_c, "{what}: owner-c");
    assert_eq!(bare.notices, envelope.notices, "{what}: notices");
    assert_eq!(bare.kk_answer, envelope.kk_answer, "{what}: kk_answer");
    assert_eq!(bare.error, envelope.error, "{what}: error");
    assert_eq!(bare.autoupdate, envelope.autoupdate, "{what}: autoupdate");
    assert_eq!(
        bare.is_untyped_transfer_start(),
        envelope.is_untyped_transfer_start(),
        "{what}: untyped transfer start"
    );
}
