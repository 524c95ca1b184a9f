//! Mail decoding: transfer encodings, charsets, multipart layouts, attachments, nested mails,
//! mail metadata, and mails that hold no notification.

mod support;

use ledger_parser::{
    Format, MailMeta, ParseError, ParseOptions, StatusClass, parse, sniff, split_mail,
};
use support::{check_err, fixture, parsed};

/// The mail metadata and the decoded body of a fixture, line ends normalised to LF.
fn split(path: &str) -> (MailMeta, String) {
    let (meta, body) = split_mail(&fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let meta = meta.unwrap_or_else(|| panic!("{path}: not read as a mail"));
    (meta, body.replace("\r\n", "\n"))
}

#[test]
fn mail_meta_from_the_headers() {
    let (meta, _) = split("autodns/seed/01-1403008-transfer-out-autoack.eml");
    assert_eq!(
        meta.from.as_deref(),
        Some("robot@autodns.example"),
        "lower-cased address only"
    );
    assert_eq!(
        meta.subject.as_deref(),
        Some("S1403008 transfer out AUTO-ACK example.org")
    );
    assert_eq!(
        meta.message_id.as_deref(),
        Some("20100516194330.1403008.124124124@autodns.example")
    );
    assert_eq!(
        meta.date.map(|d| d.to_rfc3339()).as_deref(),
        Some("2010-05-16T19:43:30+02:00")
    );
    assert_eq!(
        meta.received,
        [
            "from mx1.autodns.example (mx1.autodns.example [192.0.2.10]) by mail.reseller.example \
             (Postfix) with ESMTPS id 4C1A2B3C for <hostmaster@reseller.example>; \
             Sun, 16 May 2010 19:43:30 +0200"
        ]
    );
    assert_eq!(
        meta.authentication_results,
        [
            "mail.reseller.example; spf=pass smtp.mailfrom=autodns.example; \
             dkim=pass header.d=autodns.example"
        ]
    );
}

#[test]
fn mbox_line_folded_headers_and_repeated_received() {
    let (meta, body) = split("mail/mbox-two-received.eml");
    assert_eq!(
        meta.message_id.as_deref(),
        Some("mbox-1403@autodns.example")
    );
    assert_eq!(meta.from.as_deref(), Some("robot@autodns.example"));
    assert_eq!(meta.received.len(), 2);
    assert_eq!(
        meta.received[1],
        "from mx1.autodns.example (mx1.autodns.example [192.0.2.10]) by relay.reseller.example \
         with ESMTP id BB2; Mon, 17 May 2010 08:44:00 +0200"
    );
    assert_eq!(meta.authentication_results.len(), 2);
    assert!(meta.authentication_results[1].starts_with("relay.reseller.example; spf=pass"));
    assert!(
        body.starts_with("<system>\n\t  user: sample_user\n"),
        "{body:?}"
    );
}

#[test]
fn quoted_printable_soft_line_breaks_are_joined() {
    let (_, body) = split("autodns/seed/02-0106-transfer-out-ack-at.eml");
    assert!(
        body.contains(
            "status: S0106 [Outgoing domain transfer has been answered\nsuccessfully.]\n"
        ),
        "{body:?}"
    );
    assert!(!body.contains("=\n"), "no soft break left: {body:?}");
}

#[test]
fn base64_is_decoded() {
    let (_, body) = split("autodns/seed/03-1403005-transfer-out-autonack.eml");
    assert!(
        body.starts_with("<system>\nuser: ExampleUser\ntask: 1403005\n"),
        "{body:?}"
    );
}

#[test]
fn alternative_takes_the_plain_part_not_the_html() {
    for path in [
        "autodns/seed/04-1403006-transfer-out-reminder.eml",
        "autodns/seed/11-0103-delete-success.eml",
        "autodns/seed/15-0104001-transfer-in-ack-ownerc-import.eml",
    ] {
        let (_, body) = split(path);
        assert!(body.starts_with("<system>\n"), "{path}: {body:?}");
        assert!(
            !body.contains("<html>") && !body.contains("&lt;"),
            "{path}: {body:?}"
        );
    }
}

#[test]
fn the_attachment_that_sniffs_wins_over_the_greeting() {
    for path in [
        "autodns/seed/08-0102-update-success.eml",
        "autodns/seed/14-0102-autoupdate-ownerc-import.eml",
        "mail/octet-stream-txt.eml",
    ] {
        let (_, body) = split(path);
        assert!(body.starts_with("<system>\n"), "{path}: {body:?}");
    }
    assert_eq!(
        parsed("mail/octet-stream-txt.eml").ctid.as_deref(),
        Some("mime-0101")
    );
}

#[test]
fn xml_and_json_attachments_are_sniffed_by_content() {
    let (_, body) = split("mail/xml-attachment.eml");
    assert!(body.starts_with("<?xml"), "{body:?}");
    assert_eq!(sniff(&body), Ok(Format::AutoDnsXml));
    let (_, body) = split("mail/json-attachment.eml");
    assert_eq!(sniff(&body), Ok(Format::AutoDnsJson));

    let n = parsed("mail/xml-attachment.eml");
    assert_eq!(n.format, Format::AutoDnsXml);
    assert_eq!(
        n.mail.and_then(|m| m.message_id).as_deref(),
        Some("20220118090000.xml@autodns.example")
    );
    assert_eq!(
        parsed("mail/json-attachment.eml").format,
        Format::AutoDnsJson
    );
}

#[test]
fn a_centralnic_response_in_a_crlf_mail() {
    let n = parsed("mail/centralnic-response.eml");
    assert_eq!(n.format, Format::CentralNic);
    let status = n.status.expect("status");
    assert_eq!(
        (status.code.as_str(), status.class),
        ("421", StatusClass::Temporary)
    );
}

#[test]
fn a_forwarded_mail_is_searched_and_the_outer_headers_kept() {
    let n = parsed("mail/forwarded-rfc822.eml");
    assert_eq!(n.ctid.as_deref(), Some("mime-0101"));
    let meta = n.mail.expect("mail");
    assert_eq!(meta.message_id.as_deref(), Some("forward@reseller.example"));
    assert_eq!(meta.subject.as_deref(), Some("Fwd: S0101 domain create"));
}

#[test]
fn eight_bit_latin1_without_charset_is_read_as_latin1() {
    let n = parsed("mail/8bit-latin1-no-charset.eml");
    let text = n.status.and_then(|s| s.text);
    assert_eq!(text.as_deref(), Some("Die Domäne wurde gelöscht."));
}

#[test]
fn lf_and_crlf_mails_read_the_same() {
    let lf = fixture("autodns/seed/05-1403-transfer-out-start.eml");
    assert!(!lf.contains(&b'\r'));
    let crlf: Vec<u8> = lf
        .iter()
        .flat_map(|&b| {
            if b == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![b]
            }
        })
        .collect();
    let options = ParseOptions::default();
    let a = parse(&lf, &options).expect("LF parses");
    let b = parse(&crlf, &options).expect("CRLF parses");
    assert_eq!(a, b);
}

#[test]
fn a_bare_body_is_not_a_mail() {
    for path in [
        "autodns/text/ref-1403-start-text.txt",
        "autodns/text/idn-1403-dst.txt",
    ] {
        let (meta, body) = split_mail(&fixture(path)).expect("bare body");
        assert_eq!(meta, None, "{path}");
        assert!(body.starts_with("<system>"), "{path}");
    }
}

#[test]
fn html_only_mail_is_read_from_its_text() {
    // Only a text/html part, the notification in a <pre> with its tags as entities.
    let n = parsed("mail/html-only.eml");
    assert_eq!(n.format, Format::AutoDnsText);
    assert_eq!(n.status.as_ref().map(|s| s.code.as_str()), Some("S0101"));
    assert_eq!(n.ctid.as_deref(), Some("mime-0101"));
    let mail = n.mail.as_ref().expect("a mail");
    assert_eq!(
        mail.message_id.as_deref(),
        Some("html-only@autodns.example")
    );
    let messages: Vec<&str> = n.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "line outside any block, ignored: \"AutoDNS notification\"",
            "the mail has no plain-text notification; read from its text/html part"
        ]
    );
}

#[test]
fn html_only_mail_without_a_notification_is_unrecognised_and_says_so() {
    let mail = b"From: Shop <news@shop.example>\nDate: Mon, 07 Jun 2010 12:00:00 +0200\n\
                 Message-ID: <news@shop.example>\nContent-Type: text/html; charset=utf-8\n\n\
                 <html><body><p>Our offers &amp; news</p></body></html>\n";
    let err = parse(mail, &ParseOptions::default()).expect_err("no notification");
    assert_eq!(
        err,
        ParseError::Unrecognised {
            reason: "the mail's only part, text/html (the body starts with \"Our offers & \
                     news\"), holds no notification"
                .into()
        }
    );
}

#[test]
fn a_mail_without_a_notification_lists_its_parts() {
    let err = check_err("bad/no-notification.eml");
    let ParseError::Unrecognised { reason } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        reason,
        "none of the mail's 2 parts holds a notification: text/plain (the body starts with \
         \"Hello, your invoice for May 2010 is attached.\"); image/png \"logo.png\""
    );
}
