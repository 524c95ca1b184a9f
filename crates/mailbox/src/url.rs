//! `imap://USER@HOST[:PORT]/MAILBOX` and `imaps://…`: which server, which account, which
//! mailbox, and whether TLS starts with the connection.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use percent_encoding::percent_decode_str;

/// How the connection is secured, as the URL's scheme says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `imap://` (port 143): STARTTLS when the server offers it; plain text only on loopback.
    Imap,
    /// `imaps://` (port 993): TLS from the first byte.
    Imaps,
}

impl Scheme {
    /// The port a URL without one means: 143 for `imap`, 993 for `imaps`.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Imap => 143,
            Scheme::Imaps => 993,
        }
    }

    /// `imap` or `imaps`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Imap => "imap",
            Scheme::Imaps => "imaps",
        }
    }
}

/// A mailbox on an IMAP server, as a URL names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxUrl {
    /// `imap` or `imaps`.
    pub scheme: Scheme,
    /// The login name, percent-decoded (`user%40example.com` is `user@example.com`).
    pub user: String,
    /// The host name or IP address (an IPv6 address without its brackets).
    pub host: String,
    /// The port, the scheme's default when the URL has none.
    pub port: u16,
    /// The mailbox, percent-decoded (`INBOX`, `Notifications/AutoDNS`).
    pub mailbox: String,
}

/// What is wrong with a mailbox URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Neither `imap://` nor `imaps://`.
    #[error("{url:?} is not an IMAP URL: it must start with imap:// or imaps://")]
    Scheme {
        /// The URL as given.
        url: String,
    },
    /// No `USER@` before the host.
    #[error("{url:?} names no user: write imap://USER@HOST/MAILBOX")]
    NoUser {
        /// The URL as given.
        url: String,
    },
    /// `USER:PASSWORD@`: a password does not belong in a URL (it ends up in shell histories,
    /// process lists and logs).
    #[error(
        "{url:?} holds a password: give it with --password-file or LEDGER_IMAP_PASSWORD, never in the URL"
    )]
    Password {
        /// The URL with the password left out.
        url: String,
    },
    /// No host after the `@`.
    #[error("{url:?} names no host")]
    NoHost {
        /// The URL as given.
        url: String,
    },
    /// A port that is not a number from 1 to 65535.
    #[error("{url:?}: the port {port:?} is not a number from 1 to 65535")]
    Port {
        /// The URL as given.
        url: String,
        /// The port as written.
        port: String,
    },
    /// A bracketed IPv6 address that is not one, or an unclosed bracket.
    #[error("{url:?}: {host:?} is not an IPv6 address in brackets")]
    Ipv6 {
        /// The URL as given.
        url: String,
        /// The host as written.
        host: String,
    },
    /// No `/MAILBOX` after the host.
    #[error("{url:?} names no mailbox: write imap://USER@HOST/INBOX (or another mailbox)")]
    NoMailbox {
        /// The URL as given.
        url: String,
    },
    /// A percent escape that decodes to no UTF-8 text, or to a control character.
    #[error(
        "{url:?}: the {part} {text:?} is not valid once percent-decoded (UTF-8 text without control characters)"
    )]
    Encoding {
        /// The URL as given.
        url: String,
        /// `user` or `mailbox`.
        part: &'static str,
        /// The part as written.
        text: String,
    },
    /// A `?query` or `#fragment`, or `;UID=`-style parameters this tool does not take.
    #[error("{url:?}: {what} is not taken here; the URL names a mailbox only")]
    Extra {
        /// The URL as given.
        url: String,
        /// What was found.
        what: &'static str,
    },
}

impl FromStr for MailboxUrl {
    type Err = UrlError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let url = || text.to_string();
        let (scheme, rest) = if let Some(rest) = strip_prefix_ignore_case(text, "imaps://") {
            (Scheme::Imaps, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(text, "imap://") {
            (Scheme::Imap, rest)
        } else {
            return Err(UrlError::Scheme { url: url() });
        };
        if rest.contains('?') {
            return Err(UrlError::Extra {
                url: url(),
                what: "a query (?…)",
            });
        }
        if rest.contains('#') {
            return Err(UrlError::Extra {
                url: url(),
                what: "a fragment (#…)",
            });
        }
        let (authority, path) = match rest.split_once('/') {
            Some((authority, path)) => (authority, Some(path)),
            None => (rest, None),
        };
        let Some((userinfo, hostport)) = authority.rsplit_once('@') else {
            return Err(UrlError::NoUser { url: url() });
        };
        if let Some((user, _password)) = userinfo.split_once(':') {
            return Err(UrlError::Password {
                url: format!(
                    "{}://{user}@{hostport}/{}",
                    scheme.name(),
                    path.unwrap_or_default()
                ),
            });
        }
        // `;AUTH=…` after the user (RFC 5092) picks a SASL mechanism: only LOGIN is done here.
        if userinfo.contains(';') {
            return Err(UrlError::Extra {
                url: url(),
                what: "an ;AUTH= mechanism",
            });
        }
        let user = decode(userinfo, "user", text)?;
        if user.is_empty() {
            return Err(UrlError::NoUser { url: url() });
        }
        let (host, port) = split_host_port(hostport, text)?;
        let port = match port {
            None => scheme.default_port(),
            Some(port) => match port.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(UrlError::Port {
                        url: url(),
                        port: port.to_string(),
                    });
                }
            },
        };
        let path = path.unwrap_or_default().trim_end_matches('/');
        if path.contains(';') {
            return Err(UrlError::Extra {
                url: url(),
                what: "a ;UIDVALIDITY= or ;UID= parameter",
            });
        }
        let mailbox = decode(path, "mailbox", text)?;
        if mailbox.is_empty() {
            return Err(UrlError::NoMailbox { url: url() });
        }
        Ok(MailboxUrl {
            scheme,
            user,
            host,
            port,
            mailbox,
        })
    }
}

impl MailboxUrl {
    /// Whether the host is this machine: `localhost` or a loopback address (`127.0.0.0/8`,
    /// `::1`). Only there may `imap://` go without TLS.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .parse::<IpAddr>()
                .is_ok_and(|address| address.is_loopback())
    }

    /// `HOST:PORT` (an IPv6 address in brackets), for connecting and for messages.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The key of this account's mailbox in the state file: `USER@HOST:PORT/MAILBOX`, the
    /// same for `imap://` and `imaps://` on one port.
    pub fn state_key(&self) -> String {
        format!("{}@{}/{}", self.user, self.address(), self.mailbox)
    }

    /// Where one message came from, as the ledger keeps it (the form of RFC 5092):
    /// `imap://USER@HOST:PORT/MAILBOX;UIDVALIDITY=V/;UID=N`.
    pub fn message_origin(&self, uidvalidity: u32, uid: u32) -> String {
        format!("{self};UIDVALIDITY={uidvalidity}/;UID={uid}")
    }
}

/// The URL again, user and mailbox percent-encoded where they must be; never a password.
impl fmt::Display for MailboxUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
        const USER: &AsciiSet = &CONTROLS
            .add(b' ')
            .add(b'@')
            .add(b':')
            .add(b'/')
            .add(b'%')
            .add(b';')
            .add(b'?')
            .add(b'#');
        const MAILBOX: &AsciiSet = &CONTROLS.add(b' ').add(b'%').add(b';').add(b'?').add(b'#');
        write!(
            f,
            "{}://{}@{}/{}",
            self.scheme.name(),
            utf8_percent_encode(&self.user, USER),
            self.address(),
            utf8_percent_encode(&self.mailbox, MAILBOX)
        )
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Percent-decodes `text` (a part of `url`) into UTF-8 without control characters.
fn decode(text: &str, part: &'static str, url: &str) -> Result<String, UrlError> {
    let failed = || UrlError::Encoding {
        url: url.to_string(),
        part,
        text: text.to_string(),
    };
    let decoded = percent_decode_str(text)
        .decode_utf8()
        .map_err(|_| failed())?;
    if decoded.chars().any(char::is_control) {
        return Err(failed());
    }
    Ok(decoded.into_owned())
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn split_host_port<'a>(text: &'a str, url: &str) -> Result<(String, Option<&'a str>), UrlError> {
    if let Some(rest) = text.strip_prefix('[') {
        let bad = || UrlError::Ipv6 {
            url: url.to_string(),
            host: text.to_string(),
        };
        let (inside, after) = rest.split_once(']').ok_or_else(bad)?;
        inside.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(bad)?),
        };
        return Ok((inside.to_string(), port));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    if host.is_empty() {
        return Err(UrlError::NoHost {
            url: url.to_string(),
        });
    }
    Ok((host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MailboxUrl, UrlError> {
        text.parse()
    }

    #[test]
    fn the_default_ports_and_the_parts() {
        let url = parse("imap://robot@mail.example/INBOX").unwrap();
        assert_eq!(
            url,
            MailboxUrl {
                scheme: Scheme::Imap,
                user: "robot".into(),
                host: "mail.example".into(),
                port: 143,
                mailbox: "INBOX".into(),
            }
        );
        let url = parse("imaps://robot@Mail.Example/INBOX").unwrap();
        assert_eq!((url.scheme, url.port), (Scheme::Imaps, 993));
        assert_eq!(url.host, "mail.example");
        let url = parse("IMAPS://robot@mail.example:10993/INBOX/").unwrap();
        assert_eq!((url.port, url.mailbox.as_str()), (10993, "INBOX"));
    }

    #[test]
    fn user_and_mailbox_are_percent_decoded_and_shown_encoded_again() {
        let url =
            parse("imap://reseller%40example.com@127.0.0.1:1143/Notifications/Auto%20DNS").unwrap();
        assert_eq!(url.user, "reseller@example.com");
        assert_eq!(url.mailbox, "Notifications/Auto DNS");
        assert!(url.is_loopback());
        assert_eq!(
            url.to_string(),
            "imap://reseller%40example.com@127.0.0.1:1143/Notifications/Auto%20DNS"
        );
        assert_eq!(
            url.state_key(),
            "reseller@example.com@127.0.0.1:1143/Notifications/Auto DNS"
        );
        assert_eq!(
            url.message_origin(7, 42),
            "imap://reseller%40example.com@127.0.0.1:1143/Notifications/Auto%20DNS;UIDVALIDITY=7/;UID=42"
        );
        let url = parse("imap://r@h/Gel%C3%B6scht").unwrap();
        assert_eq!(url.mailbox, "Gelöscht");
    }

    #[test]
    fn ipv6_hosts_and_loopback() {
        let url = parse("imap://u@[::1]:1143/INBOX").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 1143));
        assert!(url.is_loopback());
        assert_eq!(url.address(), "[::1]:1143");
        assert!(parse("imap://u@localhost/INBOX").unwrap().is_loopback());
        assert!(parse("imap://u@127.0.0.2/INBOX").unwrap().is_loopback());
        assert!(!parse("imap://u@mail.example/INBOX").unwrap().is_loopback());
        assert!(!parse("imap://u@10.0.0.1/INBOX").unwrap().is_loopback());
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            ("http://u@h/INBOX", "must start with imap:// or imaps://"),
            ("imap://h/INBOX", "names no user"),
            ("imap://@h/INBOX", "names no user"),
            ("imap://u:secret@h/INBOX", "holds a password"),
            ("imap://u@/INBOX", "names no host"),
            ("imap://u@h:0/INBOX", "the port \"0\" is not a number"),
            ("imap://u@h:imap/INBOX", "the port \"imap\" is not a number"),
            ("imap://u@h:70000/INBOX", "is not a number from 1 to 65535"),
            ("imap://u@[::1/INBOX", "is not an IPv6 address"),
            ("imap://u@[nope]/INBOX", "is not an IPv6 address"),
            ("imap://u@h", "names no mailbox"),
            ("imap://u@h/", "names no mailbox"),
            (
                "imap://u@h/IN%FFBOX",
                "the mailbox \"IN%FFBOX\" is not valid",
            ),
            ("imap://u%0A@h/INBOX", "the user \"u%0A\" is not valid"),
            ("imap://u@h/INBOX?x=1", "a query"),
            (
                "imap://u@h/INBOX;UID=3",
                "a ;UIDVALIDITY= or ;UID= parameter",
            ),
            ("imap://u;AUTH=*@h/INBOX", "an ;AUTH= mechanism"),
        ];
        for (url, needle) in cases {
            let error = parse(url).expect_err(url).to_string();
            assert!(error.contains(needle), "{url}: {error}");
        }
        let error = parse("imap://u:secret@h/INBOX").unwrap_err().to_string();
        assert!(!error.contains("secret"), "{error}");
    }
}
