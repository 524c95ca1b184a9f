//! `content_key` on real parses: the same notification in two mails is one key, whatever the
//! mails' headers and transfer encodings; a changed field is another key.

use ledger_event::content_key;
use ledger_parser::{Notification, ParseOptions, parse};

/// The seed's "Success with Deletion of the AuthInfo" notification.
const AUTHINFO_DELETED: &str = "<system>
user: ExampleUser
task: 0102
status: S0102 [The domain has been updated successfully]
notice: MSG011304 [The existing AuthInfo was deleted by the
request.]
transaction: qs1282921089
last_transaction: qs1282921089
</system>
";

/// Base64 with lines of 76 characters, as mailers write it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out.as_bytes()
        .chunks(76)
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// The body in a plain 7bit mail with LF line ends.
fn mail_7bit(body: &str) -> Vec<u8> {
    format!(
        "Message-ID: <20100827.1@autodns.example>\n\
         Date: Fri, 27 Aug 2010 17:04:49 +0200\n\
         From: AutoDNS <notify@autodns.example>\n\
         To: reseller@example.net\n\
         Subject: S0102 example.com\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=us-ascii\n\
         Content-Transfer-Encoding: 7bit\n\
         \n\
         {body}"
    )
    .into_bytes()
}

/// The same body as a parent-notify copy: other headers, CRLF, base64, another Message-ID.
fn mail_base64(body: &str) -> Vec<u8> {
    format!(
        "Received: from mx1.example.net by mx2.example.net; Fri, 27 Aug 2010 15:05:01 +0000\r\n\
         Message-ID: <copy-for-parent.77@autodns.example>\r\n\
         Date: Fri, 27 Aug 2010 15:05:00 +0000\r\n\
         From: notify@autodns.example\r\n\
         To: parent@example.org\r\n\
         Subject: =?UTF-8?Q?Kopie:_S0102?=\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         {}\r\n",
        base64(body.as_bytes())
    )
    .into_bytes()
}

fn parsed(input: &[u8]) -> Notification {
    parse(input, &ParseOptions::default()).unwrap_or_else(|e| panic!("parse: {e}"))
}

#[test]
fn same_notification_in_two_mail_dresses_is_one_key() {
    let plain = parsed(&mail_7bit(AUTHINFO_DELETED));
    let copy = parsed(&mail_base64(AUTHINFO_DELETED));
    // The dresses really differ: the mails were read as two different mails.
    assert_ne!(plain.mail, copy.mail);
    assert!(
        !plain.fields.is_empty(),
        "the parser read the body's fields"
    );
    assert_eq!(content_key(&plain), content_key(&copy));
    // And a bare body (no mail at all) is the same notification too.
    assert_eq!(
        content_key(&parsed(AUTHINFO_DELETED.as_bytes())),
        content_key(&plain)
    );
}

#[test]
fn one_changed_field_is_another_key() {
    let original = content_key(&parsed(&mail_7bit(AUTHINFO_DELETED)));
    let changes = [
        ("transaction: qs1282921089\n", "transaction: qs1282921090\n"),
        ("status: S0102", "status: E0102"),
        ("notice: MSG011304", "notice: MSG01050"),
        ("user: ExampleUser", "user: OtherUser"),
    ];
    for (from, to) in changes {
        assert!(AUTHINFO_DELETED.contains(from), "{from:?} is in the body");
        let changed = AUTHINFO_DELETED.replacen(from, to, 1);
        let key = content_key(&parsed(&mail_base64(&changed)));
        assert_ne!(key, original, "{from:?} -> {to:?} must give another key");
    }
}
