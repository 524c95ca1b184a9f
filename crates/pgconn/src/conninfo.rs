//! Takes the settings this crate handles itself (`sslmode`, `sslrootcert`, `passfile`, …) out
//! of a connection string, URL or `key=value` form, and hands back the rest for
//! tokio-postgres's parser, which knows neither those settings nor `verify-ca`/`verify-full`.

use percent_encoding::percent_decode_str;

use crate::{ConnError, Result};

/// The settings read here rather than by tokio-postgres.
pub(crate) const OURS: &[&str] = &[
    "sslmode",
    "sslrootcert",
    "passfile",
    "sslsni",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcrl",
    "sslcrldir",
    "service",
];

/// A connection string split in two. Its `Debug` leaves `rest` out: it may hold a password.
#[derive(Default, PartialEq, Eq)]
pub(crate) struct Split {
    /// The string without our settings, for tokio-postgres.
    pub rest: String,
    /// Our settings, in order, values decoded.
    pub ours: Vec<(String, String)>,
}

impl std::fmt::Debug for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Split")
            .field(
                "rest",
                &format_args!("<{} bytes, not shown>", self.rest.len()),
            )
            .field("ours", &self.ours)
            .finish()
    }
}

impl Split {
    /// The last value given for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.ours
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Splits `s`, a `postgres://` / `postgresql://` URL or a libpq `key=value` string.
pub(crate) fn split(s: &str) -> Result<Split> {
    let s = s.trim();
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        split_url(s)
    } else {
        split_keywords(s)
    }
}

/// The URL form: our settings are query parameters (percent-decoded).
fn split_url(s: &str) -> Result<Split> {
    // As tokio-postgres's parser: the credentials end at the first `@`, the query starts at
    // the first `?` after them.
    let after_credentials = s.find('@').map_or(0, |at| at + 1);
    let Some(question) = s[after_credentials..]
        .find('?')
        .map(|q| q + after_credentials)
    else {
        return Ok(Split {
            rest: s.to_string(),
            ours: Vec::new(),
        });
    };
    let mut kept = Vec::new();
    let mut ours = Vec::new();
    for pair in s[question + 1..].split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or_else(|| ConnError::Syntax {
            reason: "a URL query parameter without `=`".into(),
        })?;
        let key_decoded = decode(key, "a URL query parameter's name")?;
        if OURS.contains(&key_decoded.as_str()) {
            let value = decode(value, &key_decoded)?;
            ours.push((key_decoded, value));
        } else {
            kept.push(pair);
        }
    }
    let mut rest = s[..question].to_string();
    if !kept.is_empty() {
        rest.push('?');
        rest.push_str(&kept.join("&"));
    }
    Ok(Split { rest, ours })
}

fn decode(text: &str, what: &str) -> Result<String> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|value| value.into_owned())
        .map_err(|_| ConnError::Syntax {
            reason: format!("{what} is not UTF-8 once percent-decoded"),
        })
}

/// The `key=value` form, tokenized as libpq (and tokio-postgres) do: whitespace between
/// pairs, optional whitespace around `=`, a value in single quotes or bare, `\` escaping the
/// next character in both. The rest is written back with every value quoted.
fn split_keywords(s: &str) -> Result<Split> {
    let mut split = Split::default();
    let mut chars = s.chars().peekable();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_ws(&mut chars);
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            if chars.peek().is_some() {
                return Err(ConnError::Syntax {
                    reason: "`=` without a setting's name before it".into(),
                });
            }
            break;
        }
        skip_ws(&mut chars);
        if chars.next() != Some('=') {
            return Err(ConnError::Syntax {
                reason: format!("`{key}` is not followed by `=`"),
            });
        }
        skip_ws(&mut chars);
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => {
                        return Err(ConnError::Syntax {
                            reason: format!("the quoted value of `{key}` is not terminated"),
                        });
                    }
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
            if value.is_empty() {
                return Err(ConnError::Syntax {
                    reason: format!("`{key}=` has no value (write `{key}=''` for an empty one)"),
                });
            }
        }
        if OURS.contains(&key.as_str()) {
            split.ours.push((key, value));
        } else {
            if !split.rest.is_empty() {
                split.rest.push(' ');
            }
            let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
            split.rest.push_str(&format!("{key}='{quoted}'"));
        }
    }
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str, rest: &str, ours: &[(&str, &str)]) {
        let split = split(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(split.rest, rest, "{s}");
        let ours = ours
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>();
        assert_eq!(split.ours, ours, "{s}");
    }

    #[test]
    fn url_query_parameters_of_ours_are_taken_out() {
        check(
            "postgres://robot@db.example:5433/ledger?sslmode=verify-full&application_name=gw1&sslrootcert=%2Fetc%2Fca.pem",
            "postgres://robot@db.example:5433/ledger?application_name=gw1",
            &[("sslmode", "verify-full"), ("sslrootcert", "/etc/ca.pem")],
        );
        check(
            "postgresql://robot@h/db?sslmode=require",
            "postgresql://robot@h/db",
            &[("sslmode", "require")],
        );
        check("postgres://h/db", "postgres://h/db", &[]);
    }

    #[test]
    fn a_question_mark_in_the_password_is_not_the_query() {
        check(
            "postgres://robot:pa?ss@h/db?sslmode=disable",
            "postgres://robot:pa?ss@h/db",
            &[("sslmode", "disable")],
        );
    }

    #[test]
    fn keyword_values_are_unquoted_and_the_rest_requoted() {
        check(
            "host=db.example  port = 5433 user=robot password='it\\'s a secret' sslmode=verify-ca passfile='/home/r/my pass'",
            "host='db.example' port='5433' user='robot' password='it\\'s a secret'",
            &[("sslmode", "verify-ca"), ("passfile", "/home/r/my pass")],
        );
        check("", "", &[]);
    }

    #[test]
    fn the_requoted_rest_parses_to_the_same_settings() {
        let s = "host=/var/run/postgresql,db2 port=5432,5433 user=ro\\ bot password='a\\\\b c' dbname=''";
        let original: tokio_postgres::Config = s.parse().expect("tokio-postgres parses it");
        let rest: tokio_postgres::Config = split(s).expect("split").rest.parse().expect("rest");
        assert_eq!(rest, original);
    }

    #[test]
    fn broken_keyword_strings_say_what_is_wrong_without_the_value() {
        for (s, reason) in [
            (
                "host=h password='unterminated",
                "the quoted value of `password` is not terminated",
            ),
            ("host", "`host` is not followed by `=`"),
            (
                "host= ",
                "`host=` has no value (write `host=''` for an empty one)",
            ),
            ("=x", "`=` without a setting's name before it"),
        ] {
            let error = split(s).expect_err(s);
            assert_eq!(
                error.to_string(),
                format!("the connection string is not valid: {reason}")
            );
        }
    }
}
