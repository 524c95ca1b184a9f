//! What can stop a fetch, each naming the mailbox's URL (so its host and mailbox) and what was
//! being done.

use std::path::PathBuf;

/// A fetch that could not go on. Everything committed before it stays committed, and what
/// was committed but not marked is marked by the next run.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    /// No TCP connection (refused, unreachable, no such host).
    #[error("{url}: cannot connect to {address}: {source}")]
    Connect {
        /// The mailbox URL.
        url: String,
        /// `HOST:PORT`.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The server did not answer in time.
    #[error("{url}: the server did not answer in {seconds} s ({during})")]
    Timeout {
        /// The mailbox URL.
        url: String,
        /// What was waited for.
        during: &'static str,
        /// How long.
        seconds: u64,
    },
    /// The `--ca-file` could not be used.
    #[error("--ca-file {}: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS handshake failed (an untrusted or mismatched certificate, no common protocol).
    #[error("{url}: TLS with {address} failed: {reason}")]
    Tls {
        /// The mailbox URL.
        url: String,
        /// `HOST:PORT`.
        address: String,
        /// What rustls said.
        reason: String,
    },
    /// `imap://` to a host that is not this machine, and the server offers no STARTTLS: the
    /// password would cross the network in plain text.
    #[error(
        "{url}: the server offers no STARTTLS, and a password is sent in plain text only to this machine (loopback)"
    )]
    Plaintext {
        /// The mailbox URL.
        url: String,
    },
    /// The server refused the login (a wrong user or password, or a disabled account).
    #[error("{url}: the login as {user:?} was refused (wrong user or password?): {message}")]
    Login {
        /// The mailbox URL.
        url: String,
        /// The login name.
        user: String,
        /// What the server said.
        message: String,
    },
    /// The mailbox does not exist (or cannot be opened by this user).
    #[error("{url}: no mailbox {mailbox:?} on the server: {message}")]
    NoMailbox {
        /// The mailbox URL.
        url: String,
        /// The mailbox.
        mailbox: String,
        /// What the server said.
        message: String,
    },
    /// The folder of `--after move:FOLDER` cannot be used.
    #[error("{url}: cannot move the messages to {folder:?}: {message}")]
    Folder {
        /// The mailbox URL.
        url: String,
        /// The folder.
        folder: String,
        /// What is wrong.
        message: String,
    },
    /// The server answered something the protocol does not allow here, refused a command, or
    /// closed the connection.
    #[error("{url}: {during}: {message}")]
    Protocol {
        /// The mailbox URL.
        url: String,
        /// The command or step.
        during: String,
        /// What went wrong.
        message: String,
    },
    /// The state file.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

/// What a fetch stopped on: the mailbox, or the caller's commit of a message (its error as
/// the caller made it).
#[derive(Debug)]
pub enum Stopped<E> {
    /// The server, the connection or the state file.
    Mailbox(MailboxError),
    /// The commit callback failed for the message with this UID; nothing of it was marked.
    Commit {
        /// The message's UID.
        uid: u32,
        /// The callback's error.
        error: E,
    },
}

impl<E> From<MailboxError> for Stopped<E> {
    fn from(error: MailboxError) -> Self {
        Stopped::Mailbox(error)
    }
}

impl<E> From<crate::state::StateError> for Stopped<E> {
    fn from(error: crate::state::StateError) -> Self {
        Stopped::Mailbox(error.into())
    }
}
