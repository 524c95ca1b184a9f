//! Connecting: each host in turn with its own settings and password, tokio-postgres's errors
//! turned into ones that say which host, which user, and where the password came from.

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Socket};

use crate::settings::{Settings, SslMode, Target};
use crate::tls::TlsStream;
use crate::{ConnError, Result, chain};

/// The connection half tokio-postgres hands back beside the [`Client`]: a future to spawn,
/// which performs the I/O.
pub type Connection = tokio_postgres::Connection<Socket, TlsStream>;

impl Settings {
    /// Connects to the first host that accepts, trying them in order; spawn the returned
    /// [`Connection`] (`tokio::spawn(connection)`) and use the client.
    pub async fn connect(&self) -> Result<(Client, Connection)> {
        let mut errors = Vec::new();
        for target in self.targets() {
            match target.config.connect(self.tls.clone()).await {
                Ok(pair) => return Ok(pair),
                Err(error) => errors.push(self.explain(target, error)),
            }
        }
        Err(one_or_all(errors))
    }

    /// The same for blocking code, through the `postgres` crate (which runs its own runtime:
    /// do not call this from inside a tokio runtime).
    pub fn connect_blocking(&self) -> Result<postgres::Client> {
        let mut errors = Vec::new();
        for target in self.targets() {
            match postgres::Config::from(target.config.clone()).connect(self.tls.clone()) {
                Ok(client) => return Ok(client),
                Err(error) => errors.push(self.explain(target, error)),
            }
        }
        Err(one_or_all(errors))
    }

    /// What went wrong with `target`, in words.
    fn explain(&self, target: &Target, error: tokio_postgres::Error) -> ConnError {
        let where_ = target.to_string();
        if let Some(db) = error.as_db_error() {
            if db.code() == &SqlState::INVALID_PASSWORD {
                return ConnError::Authentication {
                    target: where_,
                    user: self.user().to_string(),
                    from: target.password_source().to_string(),
                    source: error,
                };
            }
            let message = db.message().to_string();
            let hint = if message.contains("no encryption") && self.ssl_mode() == SslMode::Disable {
                "; sslmode=disable, and the server takes this connection over TLS only \
                 (hostssl): use sslmode=verify-full (or require)"
                    .to_string()
            } else {
                String::new()
            };
            return ConnError::Refused {
                target: where_,
                message,
                hint,
                source: error,
            };
        }
        let reason = chain(&error);
        if reason.contains("password missing") {
            return ConnError::NoPassword {
                target: where_,
                user: self.user().to_string(),
                looked: target.looked().to_string(),
            };
        }
        if reason.starts_with("error performing TLS handshake") {
            return ConnError::Tls {
                target: where_,
                mode: self.ssl_mode().as_str(),
                reason,
            };
        }
        ConnError::Connect {
            target: where_,
            reason,
            source: error,
        }
    }
}

fn one_or_all(mut errors: Vec<ConnError>) -> ConnError {
    if errors.len() == 1 {
        errors.remove(0)
    } else {
        ConnError::AllHosts { errors }
    }
}
