//! The IMAP side of `ledger fetch imap://USER@HOST[:PORT]/MAILBOX`: fetch the messages the
//! ledger has not committed yet, hand each to the caller's commit, and only after that commit
//! returned mark it on the server (`--after seen`, `--after move:FOLDER`, or nothing).
//!
//! The crate knows IMAP, TLS and its state file; it does not know the ledger: the caller's
//! callback commits (`Ledger::ingest`, or the socket of the `ledger serve` holding the ledger).
//!
//! - [`url`]: the mailbox URL (`imap://` with STARTTLS or, to loopback only, plain text;
//!   `imaps://` with TLS from the start).
//! - [`fetch()`]: one run, in batches of `UID FETCH n:m (UID BODY.PEEK[])`.
//! - [`watch`]: between two fetches inside `ledger serve --imap`, IDLE (or NOOP polling)
//!   until the mailbox has news.
//! - [`state`]: `PATH/imap-state.json`, the UIDVALIDITY, the last UID committed and the UIDs
//!   committed but not yet marked, rewritten atomically after every commit.
//!
//! A crash at any point loses nothing and counts nothing twice: a message committed but not
//! recorded comes back once more (a duplicate to the ledger); one recorded but not marked is
//! marked by the next run before anything new is fetched.

pub mod after;
pub mod connect;
pub mod error;
pub mod fetch;
pub mod state;
mod test_hook;
pub mod url;
pub mod utf7;
pub mod watch;

pub use after::After;
pub use connect::Transport;
pub use error::{MailboxError, Stopped};
pub use fetch::{Message, Report, Request, Summary, fetch, fetch_async};
pub use url::{MailboxUrl, Scheme};
pub use watch::{Wake, wait_for_news};
