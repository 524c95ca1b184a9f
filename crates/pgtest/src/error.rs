//! Why a throwaway cluster could not be started or driven.

use std::path::PathBuf;

/// A cluster that could not be started, or a command against it that failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No PostgreSQL server binaries on this machine: the one error a test may turn into a skip
    /// (see [`crate::Cluster::start_or_skip`]).
    #[error(
        "no PostgreSQL server found (looked for initdb in {looked}); install one with \
         `apt-get install -y postgresql-15` (.ci/run does)"
    )]
    NoServer {
        /// The places searched, in order.
        looked: String,
    },
    /// Running as root, but there is no `postgres` user to run the server as (initdb refuses
    /// root).
    #[error("running as root, but no `postgres` user to run the server as: {reason}")]
    NoServerUser {
        /// What `id postgres` said.
        reason: String,
    },
    /// A file or directory of the cluster could not be made.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A program could not be started at all.
    #[error("could not run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A program ran and failed.
    #[error("{what} failed ({status}): {output}")]
    Command {
        /// What the program was to do.
        what: String,
        /// Its exit status.
        status: String,
        /// Its standard error (and output), and the server log where it helps.
        output: String,
    },
}

impl StartError {
    /// Wraps an I/O error with what was done and where.
    pub(crate) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> StartError {
        let path = path.into();
        move |source| StartError::Io { what, path, source }
    }
}
