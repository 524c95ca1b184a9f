//! Everything that can go wrong between a connection string and a connected client. No message
//! and no `Debug` output holds a password: the connection string itself is never quoted.

use std::path::PathBuf;

/// Why no connection was made.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// The connection string could not be parsed (tokio-postgres's parser said why).
    #[error("the connection string is not valid: {reason}")]
    Syntax {
        /// What is wrong (a setting's name, never its value).
        reason: String,
    },
    /// A setting has a value that cannot be used.
    #[error("{name}: {reason}")]
    Setting {
        /// The setting (`sslmode`, `port`, `PGPORT`, …).
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A libpq setting this crate does not implement.
    #[error("{name} is not supported here: {reason}")]
    Unsupported {
        /// The setting.
        name: String,
        /// What to do instead.
        reason: &'static str,
    },
    /// No user was given and the OS user's name could not be found.
    #[error("no user given (user=, PGUSER) and the OS user's name is unknown")]
    NoUser,
    /// A certificate verifying mode without a root certificate to verify against.
    #[error(
        "sslmode={mode} verifies the server's certificate, but the root certificate file \"{}\" \
         does not exist: set sslrootcert=FILE (the CA that signed the server's certificate), \
         sslrootcert=system for the public CAs, or a weaker sslmode",
        path.display()
    )]
    NoRootCert {
        /// The sslmode in force.
        mode: &'static str,
        /// The file looked for.
        path: PathBuf,
    },
    /// The root certificate file could not be used.
    #[error("root certificate file \"{}\": {reason}", path.display())]
    RootCert {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The server asked for a password and none was found.
    #[error(
        "{target}: the server asks for a password for user \"{user}\", and none was found: {looked}"
    )]
    NoPassword {
        /// The host and port.
        target: String,
        /// The user.
        user: String,
        /// Where a password was looked for, and what was found there.
        looked: String,
    },
    /// The server rejected the password.
    #[error(
        "{target}: password authentication failed for user \"{user}\" (the password came from {from})"
    )]
    Authentication {
        /// The host and port.
        target: String,
        /// The user.
        user: String,
        /// Where the password came from.
        from: String,
        /// The server's error.
        source: tokio_postgres::Error,
    },
    /// TLS could not be set up, or the server's certificate was not accepted.
    #[error("{target}: TLS (sslmode={mode}): {reason}")]
    Tls {
        /// The host and port.
        target: String,
        /// The sslmode in force.
        mode: &'static str,
        /// What failed, with its causes.
        reason: String,
    },
    /// The server refused the connection or the login (no pg_hba entry, no such database, …).
    #[error("{target}: the server refused: {message}{hint}")]
    Refused {
        /// The host and port.
        target: String,
        /// The server's message.
        message: String,
        /// What may help, starting with "; " (or empty).
        hint: String,
        /// The server's error.
        source: tokio_postgres::Error,
    },
    /// The server could not be reached, or the connection broke while starting.
    #[error("{target}: {reason}")]
    Connect {
        /// The host and port.
        target: String,
        /// What failed, with its causes.
        reason: String,
        /// tokio-postgres's error.
        source: tokio_postgres::Error,
    },
    /// Several hosts were tried and none worked: each one's error.
    #[error("no host could be connected to: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    AllHosts {
        /// One error per host, in the order tried.
        errors: Vec<ConnError>,
    },
}

/// The result of this crate's operations.
pub type Result<T, E = ConnError> = std::result::Result<T, E>;

/// An error and its causes on one line, `: `-separated, repeated messages left out.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
