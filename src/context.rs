//! What every command needs: the ledger's path, the source zone, output mode, lock wait; and
//! reading of the values people type (durations, instants).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ledger::{Ledger, LedgerError, Options, TrustPolicy};
use ledger_documents::values::{self, ValueError};
use ledger_server::socket::SocketAddress;

use crate::cli::Global;
use crate::error::{CliError, PolicyFault};
use crate::holder::Holder;

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
    /// `--trust-policy` (or `LEDGER_TRUST_POLICY`), if given. The policy is read only when a
    /// command asks for it ([`Context::trust_policy`], [`Context::warn_about_trust_policy`]).
    trust_policy: Option<PathBuf>,
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
        Ok(Context {
            db,
            tz,
            json: global.json,
            wait,
            trust_policy: global.trust_policy.clone(),
        })
    }

    /// Library options for this run, without a trust policy (for commands that do not apply
    /// one).
    pub fn options(&self) -> Options {
        let mut options = Options::new(&self.db);
        options.source_tz = self.tz;
        options.wait = self.wait;
        options
    }

    /// Library options with the trust policy in force, for the commands that write with it
    /// (`ingest`, `reparse`, `release`): a policy that cannot be read, does not parse or names
    /// no sender stops them.
    pub fn options_with_trust(&self) -> Result<Options, CliError> {
        let mut options = self.options();
        options.trust = self.trust_policy()?;
        Ok(options)
    }

    /// The policy file in force: `--trust-policy`, else `trust.conf` in the ledger's directory
    /// if it exists.
    pub fn trust_policy_file(&self) -> Option<PathBuf> {
        match &self.trust_policy {
            Some(path) => Some(path.clone()),
            None => Some(self.db.join(ledger::TRUST_POLICY_FILE)).filter(|p| p.is_file()),
        }
    }

    /// `--trust-policy FILE` (or `LEDGER_TRUST_POLICY`), if given.
    pub fn explicit_trust_policy(&self) -> Option<&Path> {
        self.trust_policy.as_deref()
    }

    /// The trusted-senders policy in force, if one is set; an error if it cannot be used.
    pub fn trust_policy(&self) -> Result<Option<TrustPolicy>, CliError> {
        let Some(path) = self.trust_policy_file() else {
            return Ok(None);
        };
        read_trust_policy(&path)
            .map(Some)
            .map_err(|fault| CliError::trust_policy(&path, &fault))
    }

    /// For commands that do not apply the policy (they only read): one warning line on
    /// standard error when the policy in force cannot be used, so that the next `ingest`'s
    /// refusal is no surprise, and the command goes on.
    pub fn warn_about_trust_policy(&self) {
        if let Some(path) = self.trust_policy_file()
            && let Err(fault) = read_trust_policy(&path)
        {
            let _ = writeln!(
                std::io::stderr(),
                "{}",
                crate::error::trust_policy_warning(&path, &fault)
            );
        }
    }

    /// The server holding this ledger, when it answers on the ledger's socket: the commands
    /// that can go through it do, before opening the store.
    pub fn holder(&self) -> Result<Option<Holder>, CliError> {
        Holder::find(&self.db)
    }

    /// Opens the ledger, creating it if needed (for commands that write).
    pub fn open_or_create(&self, options: Options) -> Result<Ledger, CliError> {
        Ledger::open(options).map_err(|e| self.open_error(e))
    }

    /// A failed open as the user reads it: a lock held by the ledger's server (its socket is
    /// there) is said as such.
    fn open_error(&self, error: LedgerError) -> CliError {
        if matches!(error, LedgerError::Locked { .. })
            && let Ok(address) = SocketAddress::of(&self.db)
            && address.exists()
        {
            return match address.connect() {
                Ok(_) => crate::error::held(&self.db, true),
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    crate::error::socket_denied(&address.path)
                }
                Err(_) => crate::error::held(&self.db, false),
            };
        }
        error.into()
    }

    /// Opens an existing ledger (for commands that read); a missing one is an error, not an
    /// empty answer.
    pub fn open_existing(&self) -> Result<Ledger, CliError> {
        self.open_existing_with(self.options())
    }

    /// Opens an existing ledger with these options (a trust policy: `reparse`, `release`).
    pub fn open_existing_with(&self, options: Options) -> Result<Ledger, CliError> {
        self.require_existing()?;
        Ledger::open(options).map_err(|e| self.open_error(e))
    }

    /// Opens only the projections of an existing ledger, for commands that read nothing else
    /// (pending transfers, failed creates, orders, inventory): they do not pay for opening the
    /// whole history.
    pub fn open_views(&self) -> Result<Ledger, CliError> {
        self.require_existing()?;
        Ledger::open_views(self.options()).map_err(|e| self.open_error(e))
    }

    /// A ledger must be there. A missing directory, an empty one or one holding only a trust
    /// policy is "no ledger"; any other directory is left to the library to judge (it says
    /// why it is not a ledger).
    fn require_existing(&self) -> Result<(), CliError> {
        if Ledger::exists(&self.db) {
            return Ok(());
        }
        let unborn = match std::fs::read_dir(&self.db) {
            Ok(entries) => entries
                .filter_map(|entry| entry.ok())
                .all(|entry| entry.file_name() == ledger::TRUST_POLICY_FILE),
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        };
        if !unborn {
            return Ok(());
        }
        Err(
            CliError::user(format!("no ledger at {}", self.db.display())).hint(
                "run `ledger init` or `ledger ingest PATH...` first, or point --db / LEDGER_DB at \
             a ledger",
            ),
        )
    }
}

/// Reads and checks a trust policy file: it must be readable, parse, and name a sender.
pub fn read_trust_policy(path: &Path) -> Result<TrustPolicy, PolicyFault> {
    read_trust_policy_text(path).map(|(_, policy)| policy)
}

/// [`read_trust_policy`], with the text read.
pub fn read_trust_policy_text(path: &Path) -> Result<(String, TrustPolicy), PolicyFault> {
    let text = std::fs::read_to_string(path).map_err(PolicyFault::Unreadable)?;
    let policy = TrustPolicy::parse(&text).map_err(PolicyFault::Invalid)?;
    if policy.senders.is_empty() {
        return Err(PolicyFault::NoSender);
    }
    Ok((text, policy))
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

/// Reads a duration (`90m`, `48h`, `2d`) given to `flag`; a negative one cannot be meant
/// (exit 64).
pub fn parse_duration(text: &str, flag: &str) -> Result<Duration, CliError> {
    values::parse_duration(text).map_err(|e| value_error(e, text, flag))
}

/// Reads an instant given to `flag`: RFC 3339 (`2010-05-20T12:00:00Z`, `…+02:00`) or a
/// wall-clock time in the source zone (`2010-05-20 12:00`, `2010-05-20 12:00:00`,
/// `2010-05-20`). One inside a DST gap is refused (exit 64); one inside an overlap is the
/// earlier instant, with a warning on stderr.
pub fn parse_instant(text: &str, tz: Tz, flag: &str) -> Result<DateTime<Utc>, CliError> {
    let instant = values::parse_instant(text, tz).map_err(|e| value_error(e, text, flag))?;
    if instant.overlap {
        let _ = writeln!(
            std::io::stderr(),
            "warning: {flag} {text:?} happened twice in {tz} (DST overlap); taking the \
             earlier, {}",
            instant.at.to_rfc3339()
        );
    }
    Ok(instant.at)
}

/// A value that was not read, as the user reads it: the flag, the text, why, what to write.
fn value_error(error: ValueError, text: &str, flag: &str) -> CliError {
    let message = match &error {
        ValueError::Negative => format!("{flag} {text:?}: {error}"),
        ValueError::NotADuration(why) => format!("{flag} {text:?} is not a duration: {why}"),
        ValueError::DstGap(_) | ValueError::NotAnInstant => format!("{flag} {text:?} {error}"),
    };
    let error_kind = if error.is_usage() {
        CliError::usage(message)
    } else {
        CliError::user(message)
    };
    error_kind.hint(error.hint())
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
