//! Dressing a notification body as a mail, the ways AutoDNS mails arrive: 7bit, quoted-printable,
//! base64, multipart/alternative with HTML, as an attachment, in ISO-8859-1, with CRLF.

use chrono::{DateTime, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The transfer dress of one mail.
#[derive(Debug, Clone, Copy)]
pub enum Dress {
    SevenBit,
    QuotedPrintable,
    Base64,
    Alternative,
    Attachment,
    Latin1,
}

impl Dress {
    /// A dress, with realistic weights.
    pub fn pick(rng: &mut ChaCha8Rng) -> Dress {
        match rng.random_range(0..100) {
            0..50 => Dress::SevenBit,
            50..65 => Dress::QuotedPrintable,
            65..80 => Dress::Base64,
            80..90 => Dress::Alternative,
            90..95 => Dress::Attachment,
            _ => Dress::Latin1,
        }
    }
}

/// A whole mail around `body`.
pub fn mail(
    body: &str,
    subject: &str,
    date: DateTime<Utc>,
    message_id: &str,
    dress: Dress,
    crlf: bool,
    relay: u32,
) -> Vec<u8> {
    let berlin = date.with_timezone(&chrono_tz::Europe::Berlin);
    let mut head = format!(
        "Return-Path: <noreply@notify.autodns.example>\n\
         Received: from mx{relay}.notify.autodns.example (mx{relay}.notify.autodns.example [192.0.2.{relay}])\n\tby mail.reseller.example with ESMTPS; {date}\n\
         From: AutoDNS <noreply@notify.autodns.example>\n\
         To: domains@reseller.example\n\
         Subject: {subject}\n\
         Date: {date}\n\
         Message-ID: <{message_id}@notify.autodns.example>\n\
         MIME-Version: 1.0\n",
        date = berlin.to_rfc2822(),
    );
    let text = match dress {
        Dress::SevenBit => {
            head.push_str(
                "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n",
            );
            format!("{head}{body}")
        }
        Dress::QuotedPrintable => {
            head.push_str("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n");
            format!("{head}{}", quoted_printable(body.as_bytes()))
        }
        Dress::Base64 => {
            head.push_str(
                "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n",
            );
            format!("{head}{}", base64(body.as_bytes()))
        }
        Dress::Alternative => {
            let boundary = format!("=_alt_{message_id}");
            let html = body
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            format!(
                "{head}Content-Type: multipart/alternative; boundary=\"{boundary}\"\n\n\
                 This is a multi-part message in MIME format.\n\n\
                 --{boundary}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n{}\n\
                 --{boundary}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n<html><body><pre>{html}</pre></body></html>\n\
                 --{boundary}--\n",
                quoted_printable(body.as_bytes())
            )
        }
        Dress::Attachment => {
            let boundary = format!("=_mix_{message_id}");
            format!(
                "{head}Content-Type: multipart/mixed; boundary=\"{boundary}\"\n\n\
                 --{boundary}\nContent-Type: text/plain; charset=utf-8\n\nPlease find the notification attached.\n\
                 --{boundary}\nContent-Type: text/plain; charset=utf-8; name=\"notification.txt\"\n\
                 Content-Disposition: attachment; filename=\"notification.txt\"\nContent-Transfer-Encoding: base64\n\n{}\n\
                 --{boundary}--\n",
                base64(body.as_bytes())
            )
        }
        Dress::Latin1 => {
            head.push_str("Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n");
            let latin1: Vec<u8> = body
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect();
            format!("{head}{}", quoted_printable(&latin1))
        }
    };
    if crlf {
        text.replace('\n', "\r\n").into_bytes()
    } else {
        text.into_bytes()
    }
}

/// Quoted-printable (RFC 2045) with soft line breaks.
pub fn quoted_printable(bytes: &[u8]) -> String {
    quoted_printable::encode_to_str(bytes)
}

/// Base64 in lines of 76.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    let flat = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(flat.len() + flat.len() / 76 + 1);
    for (i, c) in flat.chars().enumerate() {
        if i > 0 && i % 76 == 0 {
            out.push('\n');
        }
        out.push(c);
    }
    out.push('\n');
    out
}

/// A small random word (for domain names).
pub fn word(rng: &mut ChaCha8Rng) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ro", "sa", "tu", "ve", "bar", "dor", "fen", "gal", "hus", "lin",
        "mar", "tor",
    ];
    let n = rng.random_range(2..5);
    (0..n)
        .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
        .collect()
}
