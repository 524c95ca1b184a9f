//! CentralNic Reseller (RRPproxy / HEXONET) command responses:
//! `[RESPONSE]` / `code = 200` / `description = …` / `property[NAME][i] = value` / `EOF`.
//!
//! Lines are `key = value`, split on the first `=` (values may contain `=`); keys are
//! case-insensitive; `[RESPONSE]` and `EOF` are optional markers; CRLF and blank lines are
//! fine. Every `key = value` line becomes a [`Field`] (block `response`); a line that is not one
//! is a [`Diagnostic`]. The status is the 3-digit `code`, classed by the
//! [return-code catalog](crate::return_codes). A `StatusEvent` answer (`property[class]`,
//! `property[subclass]`, `property[data]`, `property[date]`) also fills `event_type`, the domain
//! and `created`.

use percent_encoding::percent_decode_str;

use crate::domain::check_key_at;
use crate::time::{dst_note, read_time};
use crate::{
    CentralNicResponse, Diagnostic, DomainName, Field, Format, Notification, ParseError,
    ParseOptions, Property, Result, Status, return_codes,
};

/// The block name of every CentralNic field.
const BLOCK: &str = "response";

/// Parses a CentralNic response body.
pub(crate) fn parse(body: &str, options: &ParseOptions) -> Result<Notification> {
    let mut n = Notification::new(Format::CentralNic);
    let mut code: Option<u16> = None;
    let mut description: Option<String> = None;
    let mut runtime = None;
    let mut queuetime = None;
    let mut properties = Vec::new();
    let mut seen_content = false;
    let mut eof_line: Option<u32> = None;

    for (index, raw) in body.split('\n').enumerate() {
        let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(eof) = eof_line {
            n.diagnostics.push(diag(
                line_no,
                format!("text after EOF (line {eof}) ignored: {line:?}"),
            ));
            continue;
        }
        if line.eq_ignore_ascii_case("[RESPONSE]") {
            if seen_content {
                n.diagnostics
                    .push(diag(line_no, "a second [RESPONSE] marker ignored".into()));
            }
            seen_content = true;
            continue;
        }
        if line.eq_ignore_ascii_case("EOF") {
            eof_line = Some(line_no);
            continue;
        }
        seen_content = true;
        let Some((key, value)) = line.split_once('=') else {
            n.diagnostics
                .push(diag(line_no, format!("not a `key = value` line: {line:?}")));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        n.fields.push(Field {
            block: BLOCK.into(),
            key: key.into(),
            value: value.into(),
            line: line_no,
        });
        let lower = key.to_ascii_lowercase();
        match lower.as_str() {
            "code" => {
                let parsed = read_code(value, line_no)?;
                match code {
                    None => code = Some(parsed),
                    Some(first) => n.diagnostics.push(diag(
                        line_no,
                        format!("a second code {parsed} ignored; the first, {first}, stands"),
                    )),
                }
            }
            "description" if description.is_none() => description = Some(value.to_string()),
            "runtime" => runtime = Some(value.to_string()),
            "queuetime" => queuetime = Some(value.to_string()),
            _ if lower.starts_with("property[") => match read_property(key, value) {
                Ok(mut property) => {
                    if property.name == "info" || property.name == "data" {
                        property.value = url_decode(&property.value, line_no, &mut n);
                    }
                    properties.push(property);
                }
                Err(reason) => n.diagnostics.push(diag(line_no, reason)),
            },
            // Other top-level keys (`PENDING = 1`) are kept as fields only.
            _ => {}
        }
    }

    let Some(code) = code else {
        return Err(ParseError::MissingStatus {
            format: Format::CentralNic,
            hint: " (no `code = NNN` line)".into(),
        });
    };
    let catalog = return_codes::lookup(code);
    let description = description.unwrap_or_default();
    n.status = Some(Status {
        code: code.to_string(),
        prefix: None,
        text: (!description.is_empty()).then(|| description.clone()),
        class: catalog.class.status_class(),
    });
    if catalog.text.is_none() {
        n.diagnostics.push(Diagnostic {
            block: Some(BLOCK.into()),
            line: None,
            message: format!(
                "return code {code} is not in the catalog; classed {} by its first digit",
                catalog.class.name()
            ),
        });
    }
    let response = CentralNicResponse {
        code,
        description,
        runtime,
        queuetime,
        properties,
    };
    read_event(&response, &mut n, options)?;
    if n.domain.is_none() {
        n.domain = single_domain(&response)?;
    }
    n.centralnic = Some(response);
    Ok(n)
}

fn diag(line: u32, message: String) -> Diagnostic {
    Diagnostic {
        block: Some(BLOCK.into()),
        line: Some(line),
        message,
    }
}

/// URL-decodes a value the server encoded (`property[info]` and `property[data]` of
/// StatusEvent: `domain%3aexample.com`).
fn url_decode(value: &str, line: u32, n: &mut Notification) -> String {
    match percent_decode_str(value).decode_utf8() {
        Ok(text) => text.into_owned(),
        Err(_) => {
            n.diagnostics.push(diag(
                line,
                "value is not UTF-8 once URL-decoded; decoded lossily".into(),
            ));
            percent_decode_str(value).decode_utf8_lossy().into_owned()
        }
    }
}

/// Reads `code`: exactly three ASCII digits.
fn read_code(value: &str, line: u32) -> Result<u16> {
    if value.len() == 3 && value.bytes().all(|b| b.is_ascii_digit()) {
        value.parse().map_err(|_| ParseError::CentralNic {
            line,
            reason: format!("code {value:?} is not a 3-digit return code"),
        })
    } else {
        Err(ParseError::CentralNic {
            line,
            reason: format!("code {value:?} is not a 3-digit return code"),
        })
    }
}

/// Reads `property[NAME][i]`: the name lower-cased (it may contain spaces), the row index.
fn read_property(key: &str, value: &str) -> std::result::Result<Property, String> {
    let inner = key
        .get("property[".len()..)
        .and_then(|rest| rest.strip_suffix(']'))
        .ok_or_else(|| format!("property key {key:?} is not `property[NAME][i]`"))?;
    let (name, index) = inner
        .rsplit_once("][")
        .ok_or_else(|| format!("property key {key:?} has no row index"))?;
    let index = index
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("property key {key:?}: row index {index:?} is not a number"))?;
    Ok(Property {
        name: name.trim().to_lowercase(),
        index,
        value: value.to_string(),
    })
}

/// A `StatusEvent` answer: `class` and `subclass` with the event's `data` or `date`.
fn read_event(
    response: &CentralNicResponse,
    n: &mut Notification,
    options: &ParseOptions,
) -> Result<()> {
    let (Some(class), Some(subclass)) = (
        response.property("class", 0),
        response.property("subclass", 0),
    ) else {
        return Ok(());
    };
    let data: Vec<&str> = response.values("data").collect();
    let date = response.property("date", 0);
    if data.is_empty() && date.is_none() {
        // `StatusDomain` has a class (DOMAIN) and subclass (the TLD) too, but is no event.
        return Ok(());
    }
    n.event_type = Some(format!(
        "{}/{}",
        class.trim().to_uppercase(),
        subclass.trim().to_uppercase()
    ));
    let named = data.iter().find_map(|d| {
        let (key, value) = d.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case("domain")
            .then_some(value.trim())
    });
    let named = named.or_else(|| response.property("object id", 0));
    if let Some(name) = named {
        check_key_at(
            "domain",
            name,
            " in the event's property[data] or property[object id]",
        )?;
        n.domain = DomainName::parse(name);
        if n.domain.is_none() {
            n.diagnostics.push(Diagnostic {
                block: Some(BLOCK.into()),
                line: None,
                message: format!("event domain {name:?} is not a domain name"),
            });
        }
    }
    if subclass
        .trim()
        .eq_ignore_ascii_case("FOREIGN_TRANSFER_PENDING")
    {
        read_foreign_transfer_timetable(&data, n, options);
    }
    if let Some(date) = date {
        let reading = read_time(date, options.source_tz);
        n.created = reading.utc;
        if n.created.is_none() {
            n.diagnostics.push(Diagnostic {
                block: Some(BLOCK.into()),
                line: None,
                message: format!("event date {date:?} is not a time"),
            });
        }
    }
    Ok(())
}

/// The timetable of an outgoing transfer from its event data: `requested date` (or `request
/// date`) is the start, `execute date` the time by which the transfer is answered, else the
/// registry approves it (the domain leaves): the auto-ACK deadline. A date that is not a time
/// is kept with a diagnostic, so the deadline is unknown rather than wrong.
fn read_foreign_transfer_timetable(data: &[&str], n: &mut Notification, options: &ParseOptions) {
    for entry in data {
        let Some((key, value)) = entry.split_once(':') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let slot = match key.as_str() {
            "requested date" | "request date" => &mut n.timetable.start,
            "execute date" => &mut n.timetable.autoack,
            _ => continue,
        };
        let value = value.trim();
        if value.is_empty() || slot.is_some() {
            continue;
        }
        let reading = read_time(value, options.source_tz);
        if reading.utc.is_none() {
            n.diagnostics.push(Diagnostic {
                block: Some(BLOCK.into()),
                line: None,
                message: format!("event {key} {value:?} is not a time"),
            });
        }
        if let Some(note) = dst_note(&reading) {
            n.diagnostics.push(Diagnostic {
                block: Some(BLOCK.into()),
                line: None,
                message: format!("event {key} {note}"),
            });
        }
        *slot = Some(reading);
    }
}

/// The domain of a single-object answer: exactly one `property[domain]` row, and not a page of
/// a list (no `count`/`total`).
fn single_domain(response: &CentralNicResponse) -> Result<Option<DomainName>> {
    let is_list = response
        .properties
        .iter()
        .any(|p| p.name == "count" || p.name == "total");
    let mut domains = response.properties.iter().filter(|p| p.name == "domain");
    match (domains.next(), domains.next()) {
        (Some(only), None) if !is_list => {
            check_key_at("domain", &only.value, " in property[domain][0]")?;
            Ok(DomainName::parse(&only.value))
        }
        _ => Ok(None),
    }
}
