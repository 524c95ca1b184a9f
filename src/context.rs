//! What every command needs: the ledger's path, the source zone, output mode, lock wait; and
//! reading of the values people type (durations, instants).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use ledger::{Ledger, Options, TrustPolicy};

use crate::cli::Global;
use crate::error::CliError;

/// The settings of one run.
pub struct Context {
    /// The ledger's directory.
    pub db: PathBuf,
    /// The source zone.
    pub tz: Tz,
    /// `--json`.
    pub json: bool,
    /// `--wait`.
    pub wait: Duration,
    /// The trusted-senders policy, if one is set.
    pub trust: Option<TrustPolicy>,
}

impl Context {
    /// Reads the global flags.
    pub fn from_global(global: &Global) -> Result<Context, CliError> {
        let tz: Tz = global.source_tz.parse().map_err(|_| {
            CliError::user(format!("unknown time zone {:?}", global.source_tz))
                .hint("use an IANA name such as Europe/Berlin or UTC")
        })?;
        let wait = parse_duration(&global.wait, "--wait")?;
        let db = match &global.db {
            Some(db) => db.clone(),
            None => default_db()?,
        };
        let trust = read_trust_policy(global.trust_policy.as_deref(), &db)?;
        Ok(Context {
            db,
            tz,
            json: global.json,
            wait,
            trust,
        })
    }

    /// Library options for this run.
    pub fn options(&self) -> Options {
        let mut options = Options::new(&self.db);
        options.source_tz = self.tz;
        options.wait = self.wait;
        options.trust = self.trust.clone();
        options
    }

    /// Opens the ledger, creating it if needed (for commands that write).
    pub fn open_or_create(&self, options: Options) -> Result<Ledger, CliError> {
        Ok(Ledger::open(options)?)
    }

    /// Opens an existing ledger (for commands that read); a missing one is an error, not an
    /// empty answer.
    pub fn open_existing(&self) -> Result<Ledger, CliError> {
        self.require_existing()?;
        Ok(Ledger::open(self.options())?)
    }

    /// Opens only the projections of an existing ledger, for commands that read nothing else
    /// (pending transfers, failed creates, orders, inventory): they do not pay for opening the
    /// whole history.
    pub fn open_views(&self) -> Result<Ledger, CliError> {
        self.require_existing()?;
        Ok(Ledger::open_views(self.options())?)
    }

    pub fn require_existing(&self) -> Result<(), CliError> {
        if self.db.exists() {
            return Ok(());
        }
        Err(
            CliError::user(format!("no ledger at {}", self.db.display()))
                .hint("run `ledger ingest PATH...` first, or point --db / LEDGER_DB at a ledger"),
        )
    }
}

/// The policy named by `--trust-policy`, else `trust.conf` in the ledger's directory if it exists.
fn read_trust_policy(
    explicit: Option<&std::path::Path>,
    db: &std::path::Path,
) -> Result<Option<TrustPolicy>, CliError> {
    let default = db.join("trust.conf");
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None if default.is_file() => default,
        None => return Ok(None),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CliError::user(format!(
            "cannot read the trust policy {}: {e}",
            path.display()
        ))
    })?;
    let policy = TrustPolicy::parse(&text)
        .map_err(|e| CliError::user(format!("trust policy {}: {e}", path.display())))?;
    if policy.senders.is_empty() {
        return Err(CliError::user(format!(
            "trust policy {} names no sender: every mail would be untrusted",
            path.display()
        ))
        .hint("add a line such as `sender autodns.example`"));
    }
    Ok(Some(policy))
}

fn default_db() -> Result<PathBuf, CliError> {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("ledger"));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(home).join(".local/share/ledger"));
    }
    Err(CliError::user(
        "no --db given and neither LEDGER_DB, XDG_DATA_HOME nor HOME is set",
    ))
}

/// Reads a duration people type: `90s`, `72h`, `3days`, `1h 30m`. A negative one (`-5h`) is
/// refused with its own message.
pub fn parse_duration(text: &str, flag: &str) -> Result<Duration, CliError> {
    if text.trim_start().starts_with('-') {
        return Err(
            CliError::usage(format!("{flag} {text:?}: a duration cannot be negative"))
                .hint("write how long ahead to look, like 90m, 48h or 2d"),
        );
    }
    humantime::parse_duration(text.trim()).map_err(|e| {
        CliError::user(format!("{flag} {text:?} is not a duration: {e}"))
            .hint("write it like 90m, 48h or 2d (units s, m, h, d)")
    })
}

/// Reads an instant: RFC 3339 (`2010-05-20T12:00:00Z`, `…+02:00`) or a wall-clock time in the
/// source zone (`2010-05-20 12:00`, `2010-05-20 12:00:00`, `2010-05-20`).
pub fn parse_instant(text: &str, tz: Tz, flag: &str) -> Result<DateTime<Utc>, CliError> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        });
    match naive {
        Ok(naive) => match ledger_parser::local_to_utc(naive, tz) {
            (_, ledger_parser::DstFlag::Gap) => Err(CliError::usage(format!(
                "{flag} {text:?} falls in a DST gap of {tz}: that wall-clock time never happened"
            ))
            .hint("write the instant in RFC 3339 (2026-03-29T01:30:00Z) or a time outside the gap")),
            (utc, ledger_parser::DstFlag::Overlap) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "warning: {flag} {text:?} happened twice in {tz} (DST overlap); taking the \
                     earlier, {}",
                    utc.to_rfc3339()
                );
                Ok(utc)
            }
            (utc, _) => Ok(utc),
        },
        Err(_) => Err(CliError::user(format!("{flag} {text:?} is not an instant")).hint(
            "write RFC 3339 (2010-05-20T12:00:00Z) or a time in the source zone (2010-05-20 14:00)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_in_utc_or_source_zone() {
        let berlin = chrono_tz::Europe::Berlin;
        let utc = parse_instant("2010-05-20T12:00:00Z", berlin, "--at").expect("rfc 3339");
        assert_eq!(utc.to_rfc3339(), "2010-05-20T12:00:00+00:00");
        let local = parse_instant("2010-05-20 14:00", berlin, "--at").expect("local");
        assert_eq!(local, utc);
        let gap = parse_instant("2026-03-29 02:30", berlin, "--at").expect_err("in the gap");
        assert_eq!(gap.exit_code(), crate::error::EXIT_USAGE);
        assert!(
            gap.message.contains("DST gap of Europe/Berlin"),
            "{}",
            gap.message
        );
        let overlap = parse_instant("2026-10-25 02:30", berlin, "--at").expect("the earlier");
        assert_eq!(overlap.to_rfc3339(), "2026-10-25T00:30:00+00:00");
        let err = parse_instant("tomorrow-ish", berlin, "--at").expect_err("not an instant");
        assert!(
            err.message.contains("--at \"tomorrow-ish\""),
            "{}",
            err.message
        );
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("72h", "--due-within").expect("ok"),
            Duration::from_secs(72 * 3600)
        );
        assert!(parse_duration("soon", "--due-within").is_err());
    }
}
