//! libpq's password file (`~/.pgpass`, `PGPASSFILE`, the `passfile` setting): lines of
//! `hostname:port:database:username:password`, `*` matching anything in the first four fields,
//! `\:` and `\\` standing for `:` and `\`, `#` starting a comment line, the first matching line
//! winning. The file is ignored, with a warning, when it is not a plain file or when its group
//! or others have any access (libpq's rule).

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::Warning;

/// A parsed password file.
///
/// ```
/// use ledger_pgconn::Passfile;
///
/// let file = Passfile::parse(
///     "/home/robot/.pgpass",
///     "# the ledger\n\
///      db.example:5432:ledger:robot:first\n\
///      *:*:*:robot:pa\\:ss\n",
/// );
/// let found = file.lookup("db.example", "5432", "ledger", "robot").unwrap();
/// assert_eq!((found.line(), found.password()), (2, "first"));
/// let found = file.lookup("localhost", "5433", "other", "robot").unwrap();
/// assert_eq!((found.line(), found.password()), (3, "pa:ss"));
/// assert!(file.lookup("localhost", "5433", "other", "alice").is_none());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Passfile {
    path: PathBuf,
    entries: Vec<Entry>,
}

/// One usable line.
#[derive(Clone, PartialEq, Eq)]
struct Entry {
    /// 1-based, counting every line of the file.
    line: usize,
    /// hostname, port, database, username.
    fields: [Field; 4],
    password: String,
}

/// One of the four matched fields.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Field {
    /// `*`: anything.
    Any,
    /// This value exactly (escapes removed).
    Exact(String),
}

impl Field {
    fn matches(&self, value: &str) -> bool {
        match self {
            Field::Any => true,
            Field::Exact(exact) => exact == value,
        }
    }
}

/// The line that matched, and its password.
#[derive(Clone, PartialEq, Eq)]
pub struct Found<'a> {
    line: usize,
    password: &'a str,
}

impl<'a> Found<'a> {
    /// The line's number in the file (1-based).
    pub fn line(&self) -> usize {
        self.line
    }

    /// Its password, escapes removed.
    pub fn password(&self) -> &'a str {
        self.password
    }
}

impl fmt::Debug for Found<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Found")
            .field("line", &self.line)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Passfile {
    /// Parses a password file's text; `path` is only kept to say where a password came from.
    /// Lines that are empty, comments, or have fewer than five fields are skipped, as libpq
    /// skips them.
    pub fn parse(path: impl Into<PathBuf>, text: &str) -> Passfile {
        let entries = text
            .split('\n')
            .enumerate()
            .filter_map(|(n, line)| parse_line(n + 1, line.strip_suffix('\r').unwrap_or(line)))
            .collect();
        Passfile {
            path: path.into(),
            entries,
        }
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The first line matching a connection's host name (`localhost` for the default Unix
    /// socket directory), port, database and user.
    pub fn lookup(&self, host: &str, port: &str, database: &str, user: &str) -> Option<Found<'_>> {
        let wanted = [host, port, database, user];
        self.entries
            .iter()
            .find(|entry| {
                entry
                    .fields
                    .iter()
                    .zip(wanted)
                    .all(|(field, value)| field.matches(value))
            })
            .map(|entry| Found {
                line: entry.line,
                password: &entry.password,
            })
    }
}

impl fmt::Debug for Passfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = self.entries.iter().map(|e| e.line).collect::<Vec<_>>();
        f.debug_struct("Passfile")
            .field("path", &self.path)
            .field("lines", &lines)
            .finish()
    }
}

/// A line's fields split at unescaped colons, escapes removed; `None` for a comment, an empty
/// line or one with fewer than five fields. A sixth field and beyond are ignored (libpq stops
/// the password at the next unescaped colon).
fn parse_line(line: usize, text: &str) -> Option<Entry> {
    if text.is_empty() || text.starts_with('#') {
        return None;
    }
    // (value with escapes removed, whether the raw text was exactly `*`)
    let mut fields: Vec<(String, bool)> = Vec::with_capacity(5);
    let mut current = String::new();
    let mut raw_star = true;
    let mut raw_len = 0;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                raw_star = false;
                raw_len += 1;
                // A backslash at the very end stands for itself.
                current.push(chars.next().unwrap_or('\\'));
            }
            ':' => {
                fields.push((std::mem::take(&mut current), raw_star && raw_len == 1));
                if fields.len() == 5 {
                    break;
                }
                raw_star = true;
                raw_len = 0;
                continue;
            }
            other => {
                raw_len += 1;
                if other != '*' {
                    raw_star = false;
                }
                current.push(other);
            }
        }
    }
    if fields.len() < 5 {
        fields.push((current, raw_star && raw_len == 1));
    }
    if fields.len() < 5 {
        return None;
    }
    let field = |(value, star): &(String, bool)| {
        if *star {
            Field::Any
        } else {
            Field::Exact(value.clone())
        }
    };
    Some(Entry {
        line,
        fields: [
            field(&fields[0]),
            field(&fields[1]),
            field(&fields[2]),
            field(&fields[3]),
        ],
        password: fields[4].0.clone(),
    })
}

/// What came of looking at a password file.
#[derive(Debug)]
pub enum Loaded {
    /// Read and parsed.
    Read(Passfile),
    /// There is no such file (not an error: most machines have none).
    Missing(PathBuf),
    /// The file was ignored, with this warning (not a plain file, or group/world access).
    Ignored(PathBuf, Warning),
    /// The file could not be read (libpq goes on without it; so does this crate, saying so
    /// when a password is then missing).
    Unreadable(PathBuf, String),
}

/// Reads the password file at `path`, checking it as libpq does first.
pub fn load(path: &Path) -> Loaded {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Loaded::Missing(path.to_path_buf());
        }
        Err(e) => return Loaded::Unreadable(path.to_path_buf(), e.to_string()),
    };
    if !metadata.is_file() {
        return Loaded::Ignored(
            path.to_path_buf(),
            Warning::PassfileNotPlain {
                path: path.to_path_buf(),
            },
        );
    }
    let mode = metadata.permissions().mode();
    if mode & 0o077 != 0 {
        return Loaded::Ignored(
            path.to_path_buf(),
            Warning::PassfileInsecure {
                path: path.to_path_buf(),
                mode: mode & 0o777,
            },
        );
    }
    match std::fs::read(path) {
        Ok(bytes) => Loaded::Read(Passfile::parse(path, &String::from_utf8_lossy(&bytes))),
        Err(e) => Loaded::Unreadable(path.to_path_buf(), e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, wanted: [&str; 4], expected: Option<(usize, &str)>) {
        let file = Passfile::parse("/test/.pgpass", text);
        let [host, port, db, user] = wanted;
        let found = file
            .lookup(host, port, db, user)
            .map(|f| (f.line(), f.password()));
        assert_eq!(found, expected, "{text:?} for {wanted:?}");
    }

    #[test]
    fn the_first_matching_line_wins() {
        let text = "db1:5432:ledger:robot:one\n*:*:*:robot:two\ndb1:5432:ledger:robot:three\n";
        check(text, ["db1", "5432", "ledger", "robot"], Some((1, "one")));
        check(text, ["db2", "5432", "ledger", "robot"], Some((2, "two")));
        check(text, ["db1", "5432", "ledger", "alice"], None);
    }

    #[test]
    fn every_field_must_match_and_star_matches_anything() {
        let text = "db1:5433:ledger:robot:port\nlocalhost:*:*:*:any\n";
        check(text, ["db1", "5432", "ledger", "robot"], None);
        check(text, ["db1", "5433", "ledger", "robot"], Some((1, "port")));
        check(text, ["localhost", "1", "x", "y"], Some((2, "any")));
        // Matching is exact: no prefixes, no case folding.
        check(text, ["DB1", "5433", "ledger", "robot"], None);
        check(text, ["db", "5433", "ledger", "robot"], None);
    }

    #[test]
    fn escapes_stand_for_colon_and_backslash() {
        check(
            "/var/run/postgresql:5432:a\\:b:robot:p\\\\w\\:d\n",
            ["/var/run/postgresql", "5432", "a:b", "robot"],
            Some((1, "p\\w:d")),
        );
        // An escaped star is a literal star, not a wildcard.
        check("\\*:*:*:*:lit\n", ["db1", "1", "d", "u"], None);
        check("\\*:*:*:*:lit\n", ["*", "1", "d", "u"], Some((1, "lit")));
        // A star inside a field is literal.
        check("db*:*:*:*:x\n", ["db1", "1", "d", "u"], None);
        // A star as the password is just a password.
        check("*:*:*:*:*\n", ["h", "1", "d", "u"], Some((1, "*")));
    }

    #[test]
    fn comments_short_lines_and_crlf() {
        let text = "# *:*:*:*:comment\r\n\r\nh:1:d:u\r\n*:*:*:*:win\r\n";
        check(text, ["h", "1", "d", "u"], Some((4, "win")));
        // A comment only when # starts the line.
        check("h:1:d:u:#not\n", ["h", "1", "d", "u"], Some((1, "#not")));
    }

    #[test]
    fn the_password_ends_at_the_next_unescaped_colon_and_may_be_empty() {
        check("h:1:d:u:pw:extra\n", ["h", "1", "d", "u"], Some((1, "pw")));
        check("h:1:d:u:\n", ["h", "1", "d", "u"], Some((1, "")));
        check("h:1:d:u:pw\\", ["h", "1", "d", "u"], Some((1, "pw\\")));
    }

    #[test]
    fn debug_output_shows_no_password() {
        let file = Passfile::parse("/p", "*:*:*:*:hunter2\n");
        let found = file.lookup("h", "1", "d", "u").expect("a match");
        assert!(!format!("{file:?} {found:?}").contains("hunter2"));
    }

    #[test]
    fn a_file_others_can_read_is_ignored_with_a_warning() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:pw\n").expect("write");
        for (mode, ok) in [(0o600, true), (0o400, true), (0o640, false), (0o604, false)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            match load(&path) {
                Loaded::Read(file) => {
                    assert!(ok, "{mode:o} read");
                    assert!(file.lookup("h", "1", "d", "u").is_some());
                }
                Loaded::Ignored(_, warning) => {
                    assert!(!ok, "{mode:o} ignored");
                    assert_eq!(
                        warning.to_string(),
                        format!(
                            "password file \"{}\" has group or world access ({mode:04o}); \
                             permissions should be u=rw (0600) or less",
                            path.display()
                        )
                    );
                }
                other => panic!("{mode:o}: {other:?}"),
            }
        }
        assert!(matches!(load(&dir.path().join("none")), Loaded::Missing(_)));
        assert!(matches!(
            load(dir.path()),
            Loaded::Ignored(_, Warning::PassfileNotPlain { .. })
        ));
    }
}
