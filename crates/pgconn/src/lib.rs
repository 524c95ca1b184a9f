//! PostgreSQL connections made the way libpq makes them, on tokio-postgres and rustls.
//!
//! tokio-postgres reads neither `PGPASSWORD` nor the password file and knows only
//! `sslmode=disable|prefer|require`. [`Settings::parse`] reads a `postgres://` URL or a libpq
//! `key=value` string as libpq does:
//!
//! - the string's settings, then the `PG*` variables ([`env::VARIABLES`]), then libpq's
//!   defaults (the OS user, a database named after the user, the Unix socket in
//!   [`DEFAULT_SOCKET_DIRS`], port 5432);
//! - the password from the string, else `PGPASSWORD`, else the password file (`passfile`,
//!   `PGPASSFILE`, `~/.pgpass`; see [`passfile`]), looked up per host; a password file that
//!   others can read is ignored with a [`Warning`];
//! - `sslmode` `disable`, `prefer`, `require`, `verify-ca` and `verify-full` through rustls
//!   with the ring provider; the root certificate from `sslrootcert` (`PGSSLROOTCERT`, default
//!   `~/.postgresql/root.crt`, or `system` for the public CAs); `require` verifies the chain
//!   when that file exists and nothing otherwise, as libpq.
//!
//! Then [`Settings::connect`] (async) or [`Settings::connect_blocking`] tries each host in
//! turn. Errors ([`ConnError`]) say which host, which user, and where a password came from;
//! none holds a password, nor does any `Debug` output.
//!
//! ```
//! use ledger_pgconn::{ConnError, Environment, Settings};
//!
//! // verify-full needs a root certificate: none here, so it is refused before connecting.
//! let env = Environment::empty().with("HOME", "/nonexistent");
//! let error = Settings::parse("postgres://robot@db.example/ledger?sslmode=verify-full", &env)
//!     .unwrap_err();
//! assert!(matches!(error, ConnError::NoRootCert { .. }));
//! assert!(error.to_string().contains("/nonexistent/.postgresql/root.crt\" does not exist"));
//! ```
//!
//! It knows nothing of the ledger.

#![warn(missing_docs)]

mod connect;
mod conninfo;
mod endpoint;
pub mod env;
mod error;
pub mod passfile;
mod settings;
mod tls;
mod warning;

pub use connect::Connection;
pub use env::Environment;
pub(crate) use error::chain;
pub use error::{ConnError, Result};
pub use passfile::Passfile;
pub use settings::{DEFAULT_SOCKET_DIRS, PasswordSource, Settings, SslMode, Target};
pub use tls::{MakeRustls, RustlsConnect, TlsStream};
pub use warning::Warning;

/// The client crates, re-exported so that users get the versions this crate speaks.
pub use postgres;
pub use tokio_postgres;
