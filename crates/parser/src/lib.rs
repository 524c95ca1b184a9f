//! `ledger-parser`: bytes in, a typed notification or a clear error out.
//!
//! This crate reads what domain registrars send a reseller:
//!
//! * AutoDNS (InterNetX) notifications in their text form (`<system>`, `<reply>`,
//!   `<nic_response>` blocks), as XML or as JSON, raw or wrapped in an RFC 5322 mail;
//! * CentralNic Reseller (RRPproxy / HEXONET) command responses (`[RESPONSE]` … `EOF`).
//!
//! It does no I/O and knows nothing about storage: [`parse`] takes bytes and returns a
//! [`Notification`] that keeps every field as read, or a [`ParseError`] that says what is wrong
//! and where. A stray line is a [`Diagnostic`] beside the result, never a failure.
//!
//! ```
//! use ledger_parser::{parse, ParseOptions, StatusClass};
//!
//! let body = b"<system>\nuser: ExampleUser\ntask: 0101\n\
//!              status: E0101 [Domain could not be registered.]\n\
//!              transaction: 201005061621\n</system>\n";
//! let n = parse(body, &ParseOptions::default()).unwrap();
//! assert_eq!(n.ctid.as_deref(), Some("201005061621"));
//! let status = n.status.unwrap();
//! assert_eq!(status.code, "E0101");
//! assert_eq!(status.class, StatusClass::Permanent);
//! ```
#![warn(missing_docs)]

mod centralnic;
pub mod codes;
mod domain;
mod error;
mod json;
mod mime;
mod notification;
pub mod return_codes;
mod sniff;
mod text;
mod time;
mod xml;

pub use domain::DomainName;
pub use error::{ParseError, Result};
pub use mime::split as split_mail;
pub use notification::{
    CentralNicResponse, Diagnostic, DstFlag, Field, Format, MailMeta, Notice, Notification,
    Property, Provider, Status, StatusClass, StatusPrefix, TimeReading, TransferTimetable,
};
pub use sniff::sniff;
pub use time::{DEFAULT_SOURCE_TZ, local_to_utc, read_time};

use chrono_tz::Tz;

/// The default limit on the size of one input: 16 MiB.
pub const DEFAULT_MAX_SIZE: usize = 16 * 1024 * 1024;

/// How [`parse`] reads its input.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Force a format instead of sniffing it from the body.
    pub format: Option<Format>,
    /// The zone in which naive provider times (`kk_start: 2010-05-11 19:43:02`) are wall-clock
    /// time. AutoDNS servers run on Europe/Berlin, the default.
    pub source_tz: Tz,
    /// Inputs larger than this many bytes are refused with [`ParseError::TooLarge`].
    pub max_size: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            format: None,
            source_tz: DEFAULT_SOURCE_TZ,
            max_size: DEFAULT_MAX_SIZE,
        }
    }
}

/// Parses one input: a whole RFC 5322 mail (LF or CRLF) or a bare notification body.
///
/// The mail, if any, is decoded with a real MIME parser; the notification is taken from the
/// `text/plain` part, the only part, or an attachment. The body's format is sniffed unless
/// [`ParseOptions::format`] forces it.
pub fn parse(input: &[u8], options: &ParseOptions) -> Result<Notification> {
    if input.len() > options.max_size {
        return Err(ParseError::TooLarge {
            size: input.len(),
            limit: options.max_size,
        });
    }
    let (mail, body, from_html) = mime::split_mail(input)?;
    let mut notification = parse_body(&body, options)?;
    notification.mail = mail;
    if from_html {
        notification.diagnostics.push(Diagnostic {
            block: None,
            line: None,
            message: "the mail has no plain-text notification; read from its text/html part".into(),
        });
    }
    Ok(notification)
}

/// Parses a bare notification body (no mail headers), already decoded to text.
pub fn parse_body(body: &str, options: &ParseOptions) -> Result<Notification> {
    let format = match options.format {
        Some(format) => format,
        None => sniff::sniff(body)?,
    };
    let notification = match format {
        Format::AutoDnsText => text::parse(body, options),
        Format::AutoDnsXml => xml::parse(body, options),
        Format::AutoDnsJson => json::parse(body, options),
        Format::CentralNic => centralnic::parse(body, options),
    }?;
    check_ctid(&notification)?;
    Ok(notification)
}

/// Refuses a ctid with a control character ([`ParseError::ControlCharacter`], naming the field
/// it was read from). Domains are checked where each format reads them.
fn check_ctid(n: &Notification) -> Result<()> {
    let Some(ctid) = &n.ctid else {
        return Ok(());
    };
    if !ctid.chars().any(char::is_control) {
        return Ok(());
    }
    let place = match n.fields.iter().find(|f| f.value == *ctid) {
        Some(f) if f.line > 0 => format!(" on line {}", f.line),
        Some(f) if f.block.is_empty() => format!(" at {}", f.key),
        Some(f) => format!(" at {}.{}", f.block, f.key),
        None => String::new(),
    };
    domain::check_key_at("ctid", ctid, &place)
}
