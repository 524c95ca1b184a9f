//! The one place where library errors become what a person reads, and exit codes.

use std::fmt;
use std::path::Path;

use ledger::{LedgerError, TrustPolicyError};

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: an operational error (missing path, locked ledger, disk full, bad flag value).
pub const EXIT_ERROR: u8 = 1;
/// Exit status of `pending-transfers --fail-if-due-within`: a deadline is that close.
pub const EXIT_DUE: u8 = 2;
/// Exit status of `ingest`: some input was rejected (and kept).
pub const EXIT_REJECTED: u8 = 3;
/// Exit status of `verify`: the stored state differs from a fresh fold of the log.
pub const EXIT_VERIFY_FAILED: u8 = 4;
/// Exit status of `ingest` stopped by Ctrl-C (SIGINT), after committing what it had read: 128 +
/// the signal's number, as a shell reports a process the signal ended.
pub const EXIT_INTERRUPTED: u8 = 130;
/// Exit status: the command line itself is wrong (unknown flag, missing argument).
pub const EXIT_USAGE: u8 = 64;

/// What kind of failure, deciding the exit code and the wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user asked for something that cannot be (a bad `--at`, an unknown zone, a missing path).
    User,
    /// The environment refused (lock held, permissions, disk).
    Environment,
    /// The stored data is damaged or of an unknown version.
    Corrupt,
    /// The command line asks for something that cannot be meant (an `--at` inside a DST gap):
    /// exit 64, like clap's own usage errors.
    Usage,
}

/// An error as the user sees it: one line, optional hints.
#[derive(Debug)]
pub struct CliError {
    /// What kind.
    pub kind: ErrorKind,
    /// The message, one line.
    pub message: String,
    /// Hints, one line each.
    pub hints: Vec<String>,
}

impl CliError {
    /// A user mistake.
    pub fn user(message: impl Into<String>) -> Self {
        CliError {
            kind: ErrorKind::User,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// A command line that cannot be meant as written (exit 64).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            kind: ErrorKind::Usage,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// An environment failure.
    pub fn environment(message: impl Into<String>) -> Self {
        CliError {
            kind: ErrorKind::Environment,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// The exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            ErrorKind::Usage => EXIT_USAGE,
            ErrorKind::User | ErrorKind::Environment | ErrorKind::Corrupt => EXIT_ERROR,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Corrupt => write!(
                f,
                "error: the ledger's stored data is damaged: {}",
                self.message
            )?,
            ErrorKind::User | ErrorKind::Environment | ErrorKind::Usage => {
                write!(f, "error: {}", self.message)?
            }
        }
        for hint in &self.hints {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl From<ledger_server::ServerError> for CliError {
    fn from(error: ledger_server::ServerError) -> Self {
        let message = error.to_string();
        match error {
            ledger_server::ServerError::Listen { ref source, .. }
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                CliError::environment(message)
                    .hint("another process (another `ledger serve`?) has that port; pick another --listen")
            }
            ledger_server::ServerError::Config(_) => CliError::user(message),
            ledger_server::ServerError::Held(_) => CliError::environment(message).hint(
                "one `ledger serve` per ledger: the other commands already go through that one; \
                 stop it (SIGTERM) to serve this ledger from here",
            ),
            _ => CliError::environment(message),
        }
    }
}

impl From<LedgerError> for CliError {
    fn from(error: LedgerError) -> Self {
        let message = error.to_string();
        match error {
            LedgerError::Locked { .. } => CliError::environment(message)
                .hint("another `ledger` (an ingest?) is using it; retry later or pass --wait 60s"),
            LedgerError::NotWritable {
                ref path,
                operation,
                ref at,
                ref source,
            } => not_writable(path, operation, at, source),
            LedgerError::Io { ref source, .. }
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                CliError::environment(message).hint("check the permissions of the --db directory")
            }
            LedgerError::Io { ref source, .. }
                if source.kind() == std::io::ErrorKind::NotADirectory =>
            {
                CliError::environment(message)
                    .hint("a part of that path is a file where a directory should be")
            }
            LedgerError::Io { .. } | LedgerError::Storage { .. } | LedgerError::Database { .. } => {
                CliError::environment(message)
            }
            LedgerError::StoredEvent { .. } | LedgerError::Corrupt { .. } => CliError {
                kind: ErrorKind::Corrupt,
                message,
                hints: vec![
                    "run `ledger verify`; the raw inputs are kept and can be re-ingested".into(),
                ],
            },
            LedgerError::NotALedger { .. } => CliError::user(message)
                .hint("point --db (or LEDGER_DB) at a ledger directory, or at a new one"),
            LedgerError::InvalidArgument(_) => CliError::user(message),
            // Only a process writing from several threads meets it; the CLI writes from one.
            LedgerError::InBatch(_) => CliError::environment(message),
        }
    }
}

/// The ledger's holder (`ledger serve` on its socket) answered, then failed mid-way.
pub fn holder_failed(socket: &Path, error: &std::io::Error) -> CliError {
    CliError::environment(format!(
        "the server holding this ledger stopped answering on {}: {error}",
        socket.display()
    ))
    .hint("nothing is lost that it reported; run the command again")
}

/// The ledger's holder refused a request: its status and its one line.
pub fn holder_refused(status: u16, message: String) -> CliError {
    match status {
        400 | 404 => CliError::user(message),
        413 => CliError::environment(format!(
            "the server holding this ledger answered {status}: {message}"
        ))
        .hint(
            "that is the server's --socket-item-limit: start it with a larger one, or ingest \
             this while no server holds the ledger",
        ),
        _ => CliError::environment(format!(
            "the server holding this ledger answered {status}: {message}"
        )),
    }
}

/// The ledger is locked and its socket is there: by a server that answers (for a command it
/// cannot take over the socket, which needs the ledger to itself), or by a process that does
/// not answer.
pub fn held(db: &Path, answering: bool) -> CliError {
    let socket = db.join(ledger_server::socket::SOCKET_FILE);
    if answering {
        CliError::environment(format!(
            "the ledger at {} is held by `ledger serve` (answering on {}), and this command              needs the ledger to itself",
            db.display(),
            socket.display()
        ))
        .hint("stop the server (SIGTERM) for the time of this command, then start it again")
    } else {
        CliError::environment(format!(
            "the ledger at {} is held by a process that does not answer on {}",
            db.display(),
            socket.display()
        ))
        .hint(
            "another `ledger` (an ingest?) or a `ledger serve` starting or stopping: retry with \
             --wait 60s; a hung server: stop it",
        )
    }
}

/// The ledger is held by its server, whose socket this user may not connect to.
pub fn socket_denied(socket: &Path) -> CliError {
    CliError::environment(format!(
        "the ledger is held by `ledger serve`, and this user may not connect to {}: permission \
         denied",
        socket.display()
    ))
    .hint(
        "the socket has mode 0660 and the ledger directory's owner and group: run as that user \
         or join that group",
    )
}

/// A client's own settings differ from those of the server it hands its items to: one line.
pub fn settings_differ(differences: &[String]) -> String {
    format!(
        "note: the ledger is held by `ledger serve`, whose settings apply to these items: {}",
        differences.join("; ")
    )
}

/// The ledger at `path` may not be written by this user: say so, and what to do.
fn not_writable(path: &Path, operation: &str, at: &Path, source: &std::io::Error) -> CliError {
    let read_only = source.kind() == std::io::ErrorKind::ReadOnlyFilesystem;
    let why = if read_only {
        "read-only file system"
    } else {
        "permission denied"
    };
    let error = CliError::environment(format!(
        "cannot write the ledger at {}: {why} ({operation} {})",
        path.display(),
        at.display()
    ));
    if read_only {
        return error.hint(
            "the file system holding it is mounted read-only: remount it read-write, or copy the \
             ledger to a writable place and point --db there",
        );
    }
    // The owner of the ledger (or of the nearest directory above it that exists).
    let owner = path
        .ancestors()
        .find_map(|p| std::fs::metadata(p).ok().map(|meta| (p, meta)))
        .map(|(p, meta)| {
            use std::os::unix::fs::MetadataExt;
            format!("{} (uid {})", p.display(), meta.uid())
        })
        .unwrap_or_else(|| path.display().to_string());
    error.hint(format!(
        "ledger opens its files for writing even to read: run it as the user who owns {owner}, \
         or give this user write permission to it and everything in it"
    ))
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            return CliError {
                kind: ErrorKind::Environment,
                message: String::new(),
                hints: vec![],
            };
        }
        CliError::environment(format!("writing output: {error}"))
    }
}

/// Why a trust policy file cannot be used.
#[derive(Debug)]
pub enum PolicyFault {
    /// It cannot be read.
    Unreadable(std::io::Error),
    /// It does not parse (with the line and column).
    Invalid(TrustPolicyError),
    /// It parses but names no sender: every mail would be untrusted.
    NoSender,
}

/// What is wrong with the trust policy at `path`, one line without the `error:` prefix.
fn policy_fault(path: &Path, fault: &PolicyFault) -> String {
    let path = path.display();
    match fault {
        PolicyFault::Unreadable(e) => format!("cannot read the trust policy {path}: {e}"),
        PolicyFault::Invalid(e) => {
            format!("trust policy {path}:{}:{}: {}", e.line, e.column, e.reason)
        }
        PolicyFault::NoSender => {
            format!("trust policy {path} names no sender: every mail would be untrusted")
        }
    }
}

impl CliError {
    /// The trust policy at `path` cannot be used by a command that writes with it (exit 1).
    pub fn trust_policy(path: &Path, fault: &PolicyFault) -> CliError {
        let error = CliError::user(policy_fault(path, fault));
        match fault {
            PolicyFault::Unreadable(_) => error,
            PolicyFault::Invalid(_) => error.hint(
                "one directive a line: `sender ADDRESS-OR-DOMAIN`, `require-authentication`, \
                 `authserv-id ID` (`#` starts a comment)",
            ),
            PolicyFault::NoSender => error.hint("add a line such as `sender autodns.example`"),
        }
    }
}

impl CliError {
    /// `ledger init --trust-policy FILE` on a ledger that has another policy: it is not
    /// replaced.
    pub fn trust_policy_differs(in_ledger: &Path, given: &Path) -> CliError {
        CliError::user(format!(
            "the ledger already has a trust policy, {}, and it differs from {}: not replaced",
            in_ledger.display(),
            given.display()
        ))
        .hint(format!(
            "edit {} (ingest and reparse read it), or remove it and run `ledger init \
             --trust-policy {}` again",
            in_ledger.display(),
            given.display()
        ))
    }

    /// The trust policy could not be written into the ledger.
    pub fn writing_trust_policy(path: &Path, error: std::io::Error) -> CliError {
        CliError::environment(format!(
            "cannot write the trust policy {}: {error}",
            path.display()
        ))
    }
}

/// The one warning line a command that only reads prints about a trust policy it cannot use.
pub fn trust_policy_warning(path: &Path, fault: &PolicyFault) -> String {
    format!(
        "warning: {}; ingest, reparse and release refuse to run until it is fixed",
        policy_fault(path, fault)
    )
}

/// What `ingest` says on standard error when Ctrl-C stopped it: `items` were read and
/// committed (flushed), nothing after them was read.
pub fn interrupted_message(items: u64, ingested: u64, duplicates: u64, rejected: u64) -> String {
    format!(
        "interrupted: {items} items committed ({ingested} new, {duplicates} duplicates, \
         {rejected} rejected), the rest of the input not read; rerun the same command to go on \
         (what is already in comes back as duplicates)"
    )
}

/// What `ingest` says when a second Ctrl-C ends it at once.
pub fn interrupted_again_message() -> String {
    "interrupted again: stopping now; every item reported committed is kept, the batch being \
     written may be lost (rerun the same command)"
        .to_string()
}

/// The result of a command: the exit status to end with.
pub type CliResult = Result<u8, CliError>;
