//! One fetch run: log in, open the mailbox, mark what an earlier run committed but did not
//! mark, then fetch the messages above the last committed UID in batches, hand each to the
//! caller's commit, record it, and only then mark it.

use std::collections::HashMap;
use std::path::Path;

use async_imap::Session;
use futures_util::TryStreamExt;

use crate::after::After;
use crate::connect::{ANSWER, Stream, Transport, login, protocol, tls_config, within};
use crate::error::{MailboxError, Stopped};
use crate::state::{MailboxState, StateFile, StateLock};
use crate::url::MailboxUrl;

/// What one run is asked to do.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The mailbox.
    pub url: &'a MailboxUrl,
    /// The login password.
    pub password: &'a str,
    /// What a committed message becomes on the server.
    pub after: &'a After,
    /// A PEM file of CA certificates trusted beside the public ones.
    pub ca_file: Option<&'a Path>,
    /// The state file (`PATH/imap-state.json`).
    pub state: &'a Path,
    /// How many messages one `UID FETCH` asks for.
    pub batch: usize,
}

/// One message, fetched, for the caller to commit.
#[derive(Debug)]
pub struct Message<'a> {
    /// Its UID in the mailbox.
    pub uid: u32,
    /// The mailbox's UIDVALIDITY.
    pub uidvalidity: u32,
    /// Where it came from, for the ledger: `imap://USER@HOST:PORT/MAILBOX;UIDVALIDITY=V/;UID=N`.
    pub origin: String,
    /// The whole message as the server keeps it (`BODY[]`).
    pub raw: &'a [u8],
}

/// What a run reports while it goes on.
#[derive(Debug)]
pub enum Report<'a> {
    /// Logged in, over this transport.
    Connected(Transport),
    /// Something the operator should know (plain text to loopback, a changed UIDVALIDITY, a
    /// folder created, marks left over from an earlier run), in one sentence.
    Note(&'a str),
    /// `done` of `total` messages committed.
    Progress {
        /// Committed so far.
        done: u64,
        /// To fetch in this run.
        total: u64,
    },
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// How the connection was secured.
    pub transport: Transport,
    /// The mailbox's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The highest UID committed (in this run or before).
    pub last_uid: u32,
    /// The mailbox's UIDNEXT when it was opened: a later one means new mail.
    pub uid_next: Option<u32>,
    /// Messages committed in this run.
    pub committed: u64,
    /// Messages of this run marked on the server.
    pub marked: u64,
    /// Messages an earlier run had committed but not marked, marked now.
    pub marked_from_before: u64,
    /// The UIDVALIDITY had changed: the whole mailbox was read again.
    pub reread: bool,
    /// `stop` said to stop: the messages after the last committed one are left for the next run.
    pub interrupted: bool,
}

/// Runs one fetch on a runtime of its own (the commit callback may block).
///
/// `commit` is called once per message, in UID order; only after it returns `Ok` is the
/// message recorded in the state file and then marked. `stop` is asked before each message.
pub fn fetch<E>(
    request: &Request<'_>,
    commit: impl FnMut(&Message<'_>) -> Result<(), E>,
    report: impl FnMut(Report<'_>),
    stop: &dyn Fn() -> bool,
) -> Result<Summary, Stopped<E>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| protocol(request.url, "starting the I/O runtime", e))?;
    runtime.block_on(fetch_async(request, commit, report, stop))
}

/// [`fetch`] on the caller's tokio runtime. The commit callback runs on the runtime's thread.
pub async fn fetch_async<E>(
    request: &Request<'_>,
    mut commit: impl FnMut(&Message<'_>) -> Result<(), E>,
    mut report: impl FnMut(Report<'_>),
    stop: &dyn Fn() -> bool,
) -> Result<Summary, Stopped<E>> {
    let url = request.url;
    let _lock = StateLock::take(request.state)?;
    let mut state = StateFile::load(request.state)?;
    let tls = tls_config(request.ca_file)?;
    let (mut session, transport) = login(url, request.password, tls).await?;
    report(Report::Connected(transport));
    if transport == Transport::Plain {
        report(Report::Note(&format!(
            "{} offers no STARTTLS: the password and the mail go in plain text (allowed to this machine only)",
            url.address()
        )));
    }
    let capabilities = within(url, "CAPABILITY", ANSWER, async {
        session
            .capabilities()
            .await
            .map_err(|e| protocol(url, "CAPABILITY", e))
    })
    .await?;
    let server = Server {
        url,
        has_move: capabilities.has_str("MOVE"),
        has_uidplus: capabilities.has_str("UIDPLUS"),
    };
    let name = crate::utf7::encode(&url.mailbox);
    let opened = within(url, "SELECT", ANSWER, async {
        let opened = match request.after {
            After::None => session.examine(&name).await,
            _ => session.select(&name).await,
        };
        opened.map_err(|e| match e {
            async_imap::error::Error::No(message) => MailboxError::NoMailbox {
                url: url.to_string(),
                mailbox: url.mailbox.clone(),
                message: crate::connect::server_said(&message),
            },
            other => protocol(url, "SELECT", other),
        })
    })
    .await?;
    let uidvalidity = opened
        .uid_validity
        .ok_or_else(|| protocol(url, "SELECT", "the server gave no UIDVALIDITY"))?;
    if let After::Move(folder) = request.after {
        server
            .ensure_folder(&mut session, folder, &mut report)
            .await?;
    }

    let key = url.state_key();
    let mut reread = false;
    let mut mine = match state.get(&key) {
        Some(known) if known.uidvalidity == uidvalidity => known.clone(),
        Some(known) => {
            report(Report::Note(&format!(
                "the mailbox's UIDVALIDITY changed from {} to {uidvalidity}: its UIDs name other \
                 messages now, so it is read again from the start (what is in the ledger comes \
                 back as duplicates)",
                known.uidvalidity
            )));
            reread = true;
            MailboxState {
                uidvalidity,
                ..MailboxState::default()
            }
        }
        None => MailboxState {
            uidvalidity,
            ..MailboxState::default()
        },
    };
    state.set(&key, mine.clone())?;

    // What an earlier run committed but did not mark (it was killed, or the mark failed).
    // With `--after none` nothing is marked, and they stay listed for a run that marks.
    let marks = *request.after != After::None;
    let mut marked_from_before = 0;
    if !mine.unmarked.is_empty() && !marks {
        report(Report::Note(&format!(
            "{} messages committed by an earlier run are still unmarked; they stay listed \
             for a run with --after seen or move:FOLDER",
            mine.unmarked.len()
        )));
    }
    if !mine.unmarked.is_empty() && marks {
        let pending = std::mem::take(&mut mine.unmarked);
        server.mark(&mut session, request.after, &pending).await?;
        marked_from_before = pending.len() as u64;
        report(Report::Note(&format!(
            "{} messages committed by an earlier run are marked now ({})",
            pending.len(),
            request.after
        )));
        state.set(&key, mine.clone())?;
    }

    let query = format!("UID {}:*", u64::from(mine.last_uid) + 1);
    let mut uids: Vec<u32> = within(url, "UID SEARCH", ANSWER, async {
        session
            .uid_search(&query)
            .await
            .map_err(|e| protocol(url, format!("UID SEARCH {query}"), e))
    })
    .await?
    .into_iter()
    // `N:*` holds the highest UID even when it is below N.
    .filter(|uid| *uid > mine.last_uid)
    .collect();
    uids.sort_unstable();
    let total = uids.len() as u64;
    report(Report::Progress { done: 0, total });

    let mut committed = 0;
    let mut marked = 0;
    let mut interrupted = false;
    for chunk in uids.chunks(request.batch.max(1)) {
        let set = uid_set(chunk);
        let mut bodies: HashMap<u32, Vec<u8>> = within(url, "UID FETCH", ANSWER, async {
            let failed = |e| protocol(url, format!("UID FETCH {set} (UID BODY.PEEK[])"), e);
            let stream = session
                .uid_fetch(&set, "(UID BODY.PEEK[])")
                .await
                .map_err(failed)?;
            let fetches: Vec<_> = stream.try_collect().await.map_err(failed)?;
            Ok(fetches
                .iter()
                .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
                .collect())
        })
        .await?;
        for &uid in chunk {
            if stop() {
                interrupted = true;
                break;
            }
            // No body for it: gone meanwhile (expunged by another client), or a server that
            // answered without one. Only a message the mailbox no longer has is skipped; one it
            // still has stops the run before `last_uid` passes it, so the next run tries again.
            let Some(raw) = bodies.remove(&uid) else {
                let query = format!("UID {uid}");
                let still_there = within(url, "UID SEARCH", ANSWER, async {
                    session
                        .uid_search(&query)
                        .await
                        .map_err(|e| protocol(url, format!("UID SEARCH {query}"), e))
                })
                .await?
                .contains(&uid);
                if still_there {
                    // What was committed before it is marked by the next run (the state
                    // file holds it).
                    return Err(Stopped::Mailbox(protocol(
                        url,
                        format!("UID FETCH {uid} (UID BODY.PEEK[])"),
                        "the server answered without the message's body; it is left for the \
                         next run",
                    )));
                }
                report(Report::Note(&format!(
                    "UID {uid} was gone when fetched (expunged meanwhile); skipped"
                )));
                continue;
            };
            let message = Message {
                uid,
                uidvalidity,
                origin: url.message_origin(uidvalidity, uid),
                raw: &raw,
            };
            if let Err(error) = commit(&message) {
                // What was committed before it is marked, as far as the server lets it.
                if marks
                    && !mine.unmarked.is_empty()
                    && server
                        .mark(&mut session, request.after, &mine.unmarked)
                        .await
                        .is_ok()
                {
                    mine.unmarked.clear();
                    let _ = state.set(&key, mine.clone());
                }
                return Err(Stopped::Commit { uid, error });
            }
            mine.last_uid = uid;
            if marks {
                mine.unmarked.push(uid);
            }
            state.set(&key, mine.clone())?;
            committed += 1;
            crate::test_hook::after_commit(committed);
            report(Report::Progress {
                done: committed,
                total,
            });
        }
        if marks && !mine.unmarked.is_empty() {
            server
                .mark(&mut session, request.after, &mine.unmarked)
                .await?;
            marked += mine.unmarked.len() as u64;
            mine.unmarked.clear();
            state.set(&key, mine.clone())?;
        }
        if interrupted {
            break;
        }
    }
    let _ = within(url, "LOGOUT", ANSWER, async {
        session
            .logout()
            .await
            .map_err(|e| protocol(url, "LOGOUT", e))
    })
    .await;
    Ok(Summary {
        transport,
        uidvalidity,
        last_uid: mine.last_uid,
        uid_next: opened.uid_next,
        committed,
        marked,
        marked_from_before,
        reread,
        interrupted,
    })
}

/// The server's abilities that marking depends on.
struct Server<'a> {
    url: &'a MailboxUrl,
    has_move: bool,
    has_uidplus: bool,
}

impl Server<'_> {
    /// Creates `folder` when the server lists no such mailbox.
    async fn ensure_folder(
        &self,
        session: &mut Session<Stream>,
        folder: &str,
        report: &mut impl FnMut(Report<'_>),
    ) -> Result<(), MailboxError> {
        let url = self.url;
        let failed = |message: String| MailboxError::Folder {
            url: url.to_string(),
            folder: folder.to_string(),
            message,
        };
        if folder == url.mailbox {
            return Err(failed("it is the mailbox being read".into()));
        }
        let name = crate::utf7::encode(folder);
        let pattern = format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""));
        let listed = within(url, "LIST", ANSWER, async {
            let stream = session
                .list(Some(""), Some(&pattern))
                .await
                .map_err(|e| failed(format!("LIST: {e}")))?;
            let names: Vec<_> = stream
                .try_collect()
                .await
                .map_err(|e| failed(format!("LIST: {e}")))?;
            Ok(!names.is_empty())
        })
        .await?;
        if !listed {
            within(url, "CREATE", ANSWER, async {
                session.create(&name).await.map_err(|e| {
                    failed(format!(
                        "it does not exist and CREATE failed: {}",
                        crate::connect::server_said(&e.to_string())
                    ))
                })
            })
            .await?;
            report(Report::Note(&format!(
                "created the folder {folder:?} for --after move:{folder}"
            )));
        }
        Ok(())
    }

    /// Marks the messages `uids` as `after` says.
    async fn mark(
        &self,
        session: &mut Session<Stream>,
        after: &After,
        uids: &[u32],
    ) -> Result<(), MailboxError> {
        let url = self.url;
        let set = uid_set(uids);
        match after {
            After::None => Ok(()),
            After::Seen => {
                within(
                    url,
                    "UID STORE",
                    ANSWER,
                    store(session, url, &set, "\\Seen"),
                )
                .await
            }
            After::Move(folder) => {
                let name = crate::utf7::encode(folder);
                let during = || format!("moving UID {set} to {folder:?}");
                if self.has_move {
                    return within(url, "UID MOVE", ANSWER, async {
                        session
                            .uid_mv(&set, &name)
                            .await
                            .map_err(|e| protocol(url, during(), e))
                    })
                    .await;
                }
                within(url, "UID COPY", ANSWER, async {
                    session
                        .uid_copy(&set, &name)
                        .await
                        .map_err(|e| protocol(url, during(), e))
                })
                .await?;
                within(
                    url,
                    "UID STORE",
                    ANSWER,
                    store(session, url, &set, "\\Deleted"),
                )
                .await?;
                if self.has_uidplus {
                    within(url, "UID EXPUNGE", ANSWER, async {
                        let stream = session
                            .uid_expunge(&set)
                            .await
                            .map_err(|e| protocol(url, during(), e))?;
                        let _: Vec<_> = stream
                            .try_collect()
                            .await
                            .map_err(|e| protocol(url, during(), e))?;
                        Ok(())
                    })
                    .await?;
                }
                // Without UIDPLUS an EXPUNGE would remove every message flagged \Deleted,
                // others' too: the copies stay flagged for the user's own client to expunge.
                Ok(())
            }
        }
    }
}

/// `UID STORE SET +FLAGS.SILENT (FLAG)`.
async fn store(
    session: &mut Session<Stream>,
    url: &MailboxUrl,
    set: &str,
    flag: &str,
) -> Result<(), MailboxError> {
    let during = || format!("UID STORE {set} +FLAGS.SILENT ({flag})");
    let stream = session
        .uid_store(set, format!("+FLAGS.SILENT ({flag})"))
        .await
        .map_err(|e| protocol(url, during(), e))?;
    let _: Vec<_> = stream
        .try_collect()
        .await
        .map_err(|e| protocol(url, during(), e))?;
    Ok(())
}

/// A UID set in ranges: `[1, 2, 3, 5, 8, 9]` is `1:3,5,8:9`.
pub(crate) fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::uid_set;

    #[test]
    fn uid_sets_are_ranges() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 8, 9]), "1:3,5,8:9");
        assert_eq!(uid_set(&[7]), "7");
        assert_eq!(uid_set(&[9, 8, 8, 1]), "1,8:9");
    }
}
