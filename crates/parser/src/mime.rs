//! Mail decoding (mail-parser): headers into [`MailMeta`], the notification body out.
//!
//! An input is a mail when it starts with RFC 5322 header lines, at least one of them a header
//! every mail carries (`From`, `Date`, `Subject`, `Message-ID`, `Content-Type`, `Received`, …).
//! Anything else (`<system>`, `<response`, `{`, `[RESPONSE]`, leading white space) is a bare body
//! and is taken as is: UTF-8, or Latin-1 when the bytes are not valid UTF-8.
//!
//! In a mail, every leaf part that can hold text is a candidate (`text/*` except HTML,
//! `application/xml`, `application/json`, and any part named `*.txt`, `*.xml`, `*.json`); the
//! first candidate whose text sniffs as a notification is the body. When none does, the
//! `text/html` parts are read as text ([`html_to_text`]: tags dropped, line breaks kept,
//! entities decoded) and the first that sniffs is the body. Transfer encodings (7bit, 8bit,
//! quoted-printable, base64) and charsets are decoded by mail-parser.

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use mail_parser::{Encoding, Message, MessageParser, MessagePart, MimeHeaders, PartType};

use crate::{MailMeta, ParseError, Result, sniff};

/// How deep nested `message/rfc822` parts are searched.
const MAX_NESTING: usize = 3;

/// How many header lines are looked at to decide whether an input is a mail.
const MAX_SNIFFED_HEADERS: usize = 200;

/// Headers that only a mail has; one of them among the leading header lines makes a mail.
const MAIL_HEADERS: &[&str] = &[
    "from",
    "to",
    "date",
    "subject",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "received",
    "return-path",
    "delivered-to",
    "reply-to",
    "sender",
    "dkim-signature",
    "authentication-results",
];

/// The mail parser, built once: its header table is not free to build.
static PARSER: LazyLock<MessageParser> = LazyLock::new(MessageParser::default);

/// Splits an input into its mail metadata (if it is a mail) and the decoded notification body,
/// without reading the body. A bare body comes back as is (`None` for the mail).
///
/// ```
/// use ledger_parser::split_mail;
/// let mail = b"From: AutoDNS <Robot@AutoDNS.example>\r\nMessage-ID: <1@autodns.example>\r\n\
///              Content-Type: text/plain\r\n\r\n<system>\r\nstatus: S0101\r\n</system>\r\n";
/// let (meta, body) = split_mail(mail).unwrap();
/// let meta = meta.unwrap();
/// assert_eq!(meta.from.as_deref(), Some("robot@autodns.example"));
/// assert_eq!(meta.message_id.as_deref(), Some("1@autodns.example"));
/// assert!(body.starts_with("<system>"));
///
/// let (meta, body) = split_mail(b"[RESPONSE]\ncode = 200\nEOF\n").unwrap();
/// assert!(meta.is_none() && body.starts_with("[RESPONSE]"));
/// ```
///
/// # Errors
///
/// [`ParseError::Unrecognised`] when no part of a mail holds a notification (the reason lists
/// the parts), [`ParseError::Mime`] when the mail headers cannot be read.
pub fn split(input: &[u8]) -> Result<(Option<MailMeta>, String)> {
    split_mail(input).map(|(meta, body, _)| (meta, body))
}

/// [`split`], and whether the body was read from a `text/html` part.
pub(crate) fn split_mail(input: &[u8]) -> Result<(Option<MailMeta>, String, bool)> {
    if !looks_like_mail(input) {
        return Ok((None, decode_bytes(input).into_owned(), false));
    }
    let message = PARSER.parse(input).ok_or_else(|| ParseError::Mime {
        reason: "no mail header could be read".to_string(),
    })?;
    let meta = meta(&message);
    let mut seen = Vec::new();
    let mut html = None;
    match find_body(&message, 0, &mut seen, &mut html) {
        Some(body) => Ok((Some(meta), body, false)),
        None => match html {
            Some(body) => Ok((Some(meta), body, true)),
            None => Err(ParseError::Unrecognised {
                reason: no_body_reason(&seen),
            }),
        },
    }
}

/// Decodes bytes as UTF-8, or as Latin-1 when they are not valid UTF-8; drops a leading BOM.
pub(crate) fn decode_bytes(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text.strip_prefix('\u{feff}').unwrap_or(text)),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}

/// True if the input starts with mail header lines, at least one of them a [`MAIL_HEADERS`] one.
fn looks_like_mail(input: &[u8]) -> bool {
    let mut lines = input
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let mut first = true;
    for line in lines.by_ref().take(MAX_SNIFFED_HEADERS) {
        if first && line.starts_with(b"From ") {
            // An mbox separator line.
            first = false;
            continue;
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if continuation && !first {
            continue;
        }
        let Some(name) = header_name(line) else {
            return false;
        };
        if MAIL_HEADERS
            .iter()
            .any(|h| h.as_bytes().eq_ignore_ascii_case(name))
        {
            return true;
        }
        first = false;
    }
    false
}

/// The name of a `Name: value` header line, if the line is one.
fn header_name(line: &[u8]) -> Option<&[u8]> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = line.get(..colon)?;
    let valid = !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b));
    valid.then_some(name)
}

/// The mail's own description of itself.
fn meta(message: &Message<'_>) -> MailMeta {
    let raw_headers = |wanted: &str| -> Vec<String> {
        message
            .headers_raw()
            .filter(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    MailMeta {
        message_id: message
            .message_id()
            .map(|id| {
                id.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
            .filter(|id| !id.is_empty()),
        date: message.date().and_then(to_chrono),
        from: message
            .from()
            .and_then(|from| from.first())
            .and_then(|addr| addr.address())
            .map(|addr| addr.trim().to_lowercase()),
        subject: message.subject().map(|s| s.trim().to_string()),
        received: raw_headers("Received"),
        authentication_results: raw_headers("Authentication-Results"),
    }
}

/// A mail-parser date as a chrono date with its offset; `None` if it names no real instant.
fn to_chrono(date: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    let sign = if date.tz_before_gmt { -1 } else { 1 };
    let offset = sign * (i32::from(date.tz_hour) * 3600 + i32::from(date.tz_minute) * 60);
    let offset = FixedOffset::east_opt(offset)?;
    let naive = NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )?
    .and_hms_opt(
        u32::from(date.hour),
        u32::from(date.minute),
        u32::from(date.second),
    )?;
    offset.from_local_datetime(&naive).single()
}

/// The first candidate part of a message whose text sniffs as a notification; every part
/// looked at is described in `seen`, and the text of the first HTML part that sniffs is kept in
/// `html` (for a mail with no other candidate).
fn find_body(
    message: &Message<'_>,
    depth: usize,
    seen: &mut Vec<String>,
    html: &mut Option<String>,
) -> Option<String> {
    for part in &message.parts {
        match &part.body {
            PartType::Multipart(_) => {}
            PartType::Message(inner) => {
                seen.push("message/rfc822".to_string());
                if depth < MAX_NESTING
                    && let Some(body) = find_body(inner, depth + 1, seen, html)
                {
                    return Some(body);
                }
            }
            PartType::Html(text) if html.is_none() && !named_like_text(part) => {
                let text = html_to_text(text);
                if sniff::sniff_format(&text).is_some() {
                    *html = Some(text);
                } else if text.trim().is_empty() {
                    seen.push("text/html (empty)".to_string());
                } else {
                    seen.push(format!("text/html ({})", sniff::describe(&text)));
                }
            }
            _ => {
                let (text, what) = candidate(message, part);
                if let Some(text) = text
                    && sniff::sniff_format(&text).is_some()
                {
                    return Some(text.into_owned());
                }
                seen.push(what);
            }
        }
    }
    None
}

/// The text of a leaf part if it can hold a notification, and a description of the part.
fn candidate<'a>(
    message: &'a Message<'a>,
    part: &'a MessagePart<'a>,
) -> (Option<Cow<'a, str>>, String) {
    let (ctype, subtype) = match part.content_type() {
        Some(ct) => (
            ct.ctype().to_ascii_lowercase(),
            ct.subtype()
                .map(str::to_ascii_lowercase)
                .unwrap_or_default(),
        ),
        None => ("text".to_string(), "plain".to_string()),
    };
    let name = part.attachment_name();
    let mut what = format!("{ctype}/{subtype}");
    if let Some(name) = name {
        what.push_str(&format!(" {name:?}"));
    }
    let named_like_text = named_like_text(part);
    let eligible = match ctype.as_str() {
        "text" => subtype != "html" || named_like_text,
        "application" => matches!(subtype.as_str(), "xml" | "json") || named_like_text,
        _ => named_like_text,
    };
    if !eligible {
        return (None, what);
    }
    let text = match &part.body {
        PartType::Text(text) | PartType::Html(text) => {
            if text.contains('\u{fffd}') && part.encoding == Encoding::None {
                // mail-parser read 8-bit bytes without a charset as lossy UTF-8: read them again.
                raw_body(message, part)
                    .map(decode_bytes)
                    .unwrap_or(Cow::Borrowed(text.as_ref()))
            } else {
                Cow::Borrowed(text.as_ref())
            }
        }
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
            let charset = part.content_type().and_then(|ct| ct.attribute("charset"));
            match charset
                .and_then(|c| mail_parser::decoders::charsets::map::charset_decoder(c.as_bytes()))
            {
                Some(decoder) => Cow::Owned(decoder(bytes)),
                None => decode_bytes(bytes),
            }
        }
        PartType::Message(_) | PartType::Multipart(_) => return (None, what),
    };
    if text.trim().is_empty() {
        what.push_str(" (empty)");
    } else {
        what.push_str(&format!(" ({})", sniff::describe(&text)));
    }
    (Some(text), what)
}

/// True for a part named `*.txt`, `*.xml` or `*.json`.
fn named_like_text(part: &MessagePart<'_>) -> bool {
    part.attachment_name().is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        n.ends_with(".txt") || n.ends_with(".xml") || n.ends_with(".json")
    })
}

/// The text of an HTML part, line by line: tags dropped (and the content of `head`, `script`,
/// `style`), a line break for `<br>` and the end of a block element (`p`, `div`, `pre`, `tr`,
/// `li`, headings), the line breaks of the source kept, entities decoded (`&lt;system&gt;`
/// reads `<system>`).
fn html_to_text(html: &str) -> String {
    const BREAKS: &[&str] = &[
        "br", "/p", "p", "/div", "div", "/pre", "pre", "/tr", "/li", "/h1", "/h2", "/h3", "/table",
    ];
    const HIDDEN: &[&str] = &["head", "script", "style", "title"];
    let mut out = String::with_capacity(html.len());
    let mut hidden: Option<&str> = None;
    let mut rest = html;
    loop {
        if let Some(open) = hidden {
            // Skip to the end tag: `<` inside a script is no tag.
            let at = rest.match_indices("</").map(|(i, _)| i).find(|&i| {
                rest.as_bytes()
                    .get(i + 2..i + 2 + open.len())
                    .is_some_and(|name| name.eq_ignore_ascii_case(open.as_bytes()))
            });
            let Some(at) = at else {
                rest = "";
                break;
            };
            let after = rest.get(at..).unwrap_or("");
            rest = after
                .find('>')
                .and_then(|e| after.get(e + 1..))
                .unwrap_or("");
            hidden = None;
            continue;
        }
        let Some(start) = rest.find(['<', '&']) else {
            break;
        };
        let (text, tail) = rest.split_at(start);
        out.push_str(text);
        if let Some(tag_tail) = tail.strip_prefix('<') {
            let Some(end) = tag_tail.find('>') else {
                // A `<` that opens no tag: text.
                out.push('<');
                rest = tag_tail;
                continue;
            };
            let tag = tag_tail.get(..end).unwrap_or("");
            rest = tag_tail.get(end + 1..).unwrap_or("");
            let name: String = tag
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
                .collect::<String>()
                .to_ascii_lowercase();
            if let Some(open) = HIDDEN.iter().find(|h| **h == name) {
                hidden = Some(open);
            } else if BREAKS.contains(&name.as_str()) && !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
        } else {
            let (decoded, used) = entity(tail);
            out.push_str(&decoded);
            rest = tail.get(used..).unwrap_or("");
        }
    }
    out.push_str(rest);
    out
}

/// The entity at the start of `text` (which starts with `&`): its text and how many bytes it
/// took; a lone `&` stands for itself.
fn entity(text: &str) -> (Cow<'static, str>, usize) {
    let end = text
        .char_indices()
        .take(12)
        .find(|(_, c)| *c == ';')
        .map(|(i, _)| i);
    let Some(end) = end else {
        return (Cow::Borrowed("&"), 1);
    };
    let name = text.get(1..end).unwrap_or("");
    let named = match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => None,
    };
    let numeric = || {
        let digits = name.strip_prefix('#')?;
        let code = match digits.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => digits.parse().ok()?,
        };
        char::from_u32(code)
    };
    match named.or_else(numeric) {
        Some(c) => (Cow::Owned(c.to_string()), end + 1),
        None => (Cow::Borrowed("&"), 1),
    }
}

/// The undecoded bytes of a part's body, as they stand in the message.
fn raw_body<'a>(message: &'a Message<'a>, part: &MessagePart<'_>) -> Option<&'a [u8]> {
    message
        .raw_message
        .get(part.offset_body as usize..part.offset_end as usize)
}

/// Why a mail yielded no notification: what parts it had.
fn no_body_reason(seen: &[String]) -> String {
    match seen {
        [] => "the mail has no body part".to_string(),
        [only] => format!("the mail's only part, {only}, holds no notification"),
        parts => format!(
            "none of the mail's {} parts holds a notification: {}",
            parts.len(),
            parts.join("; ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_or_bare_body() {
        assert!(looks_like_mail(
            b"From: a@b.example\r\nSubject: x\r\n\r\nbody"
        ));
        assert!(looks_like_mail(
            b"From someone Mon Jan 1 2010\nX-Foo: 1\nDate: x\n\nbody"
        ));
        assert!(looks_like_mail(
            b"X-Spam: no\n  folded\nReceived: by mx\n\n"
        ));
        assert!(!looks_like_mail(b"<system>\nuser: x\n</system>\n"));
        assert!(!looks_like_mail(b"user: x\ntask: 0101\n"));
        assert!(!looks_like_mail(b"  From: a@b.example\n\n"));
        assert!(!looks_like_mail(b"[RESPONSE]\ncode = 200\n"));
        assert!(!looks_like_mail(b""));
    }

    #[test]
    fn html_reads_as_lines_of_text() {
        assert_eq!(
            html_to_text(
                "<html><head><title>x</title></head><body><p>Hi &amp; bye</p><pre>\n\
                 &lt;system&gt;\nuser: A&#x42;&#67;\n&lt;/system&gt;\n</pre>a<br>b &c; &</body></html>"
            ),
            "Hi & bye\n\n<system>\nuser: ABC\n</system>\na\nb &c; &"
        );
        assert_eq!(html_to_text("<unclosed"), "<unclosed");
        assert_eq!(html_to_text("<script>if (a < b) {}</script>ok"), "ok");
    }

    #[test]
    fn bare_bytes_decode_as_utf8_or_latin1() {
        assert_eq!(decode_bytes("\u{feff}<system>".as_bytes()), "<system>");
        assert_eq!(decode_bytes(b"M\xfcller"), "Müller");
        assert_eq!(decode_bytes("Müller".as_bytes()), "Müller");
    }
}
