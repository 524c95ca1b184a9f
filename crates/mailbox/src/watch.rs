//! Waiting for new mail between two fetches, for `ledger serve --imap`: a connection of its
//! own opens the mailbox read-only and waits in IDLE (RFC 2177) until the server says
//! something changed, the interval passes (IDLE is renewed well before the 30 minutes servers
//! allow), or the caller stops; a server without IDLE is polled with NOOP every interval.

use std::future::Future;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;

use crate::connect::{ANSWER, login, protocol, tls_config, within};
use crate::error::MailboxError;
use crate::fetch::{Report, Request};

/// Why the wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The server reported a change (or UIDNEXT moved since the last fetch): fetch now.
    News,
    /// The interval passed without news (fetch anyway: a cheap check).
    Timeout,
    /// The caller's `stopped` completed.
    Stopped,
}

/// Waits for news in the request's mailbox: IDLE where the server has it, NOOP every `every`
/// otherwise. `uid_next` is the mailbox's UIDNEXT at the last fetch ([`crate::Summary`]): mail
/// that came after that fetch and before the wait began wakes it at once. `report` hears a
/// [`Report::Note`] when the wait begins (`IDLE` or `NOOP every …`).
pub async fn wait_for_news(
    request: &Request<'_>,
    uid_next: Option<u32>,
    every: Duration,
    stopped: impl Future<Output = ()>,
    mut report: impl FnMut(Report<'_>),
) -> Result<Wake, MailboxError> {
    let url = request.url;
    let tls = tls_config(request.ca_file)?;
    let (mut session, _transport) = login(url, request.password, tls).await?;
    let capabilities = within(url, "CAPABILITY", ANSWER, async {
        session
            .capabilities()
            .await
            .map_err(|e| protocol(url, "CAPABILITY", e))
    })
    .await?;
    let name = crate::utf7::encode(&url.mailbox);
    let opened = within(url, "EXAMINE", ANSWER, async {
        session.examine(&name).await.map_err(|e| match e {
            async_imap::error::Error::No(message) => MailboxError::NoMailbox {
                url: url.to_string(),
                mailbox: url.mailbox.clone(),
                message: crate::connect::server_said(&message),
            },
            other => protocol(url, "EXAMINE", other),
        })
    })
    .await?;
    if opened.uid_next.is_some() && opened.uid_next != uid_next {
        let _ = within(url, "LOGOUT", ANSWER, async {
            session
                .logout()
                .await
                .map_err(|e| protocol(url, "LOGOUT", e))
        })
        .await;
        return Ok(Wake::News);
    }
    tokio::pin!(stopped);
    if !capabilities.has_str("IDLE") {
        report(Report::Note(&format!(
            "{url} has no IDLE: checking it every {} s",
            every.as_secs()
        )));
        let wake = tokio::select! {
            () = &mut stopped => Wake::Stopped,
            () = tokio::time::sleep(every) => Wake::Timeout,
        };
        let _ = within(url, "NOOP", ANSWER, async {
            session.noop().await.map_err(|e| protocol(url, "NOOP", e))
        })
        .await;
        let _ = within(url, "LOGOUT", ANSWER, async {
            session
                .logout()
                .await
                .map_err(|e| protocol(url, "LOGOUT", e))
        })
        .await;
        return Ok(wake);
    }
    let mut idle = session.idle();
    within(url, "IDLE", ANSWER, async {
        idle.init().await.map_err(|e| protocol(url, "IDLE", e))
    })
    .await?;
    report(Report::Note(&format!(
        "waiting for new mail in {url} (IDLE)"
    )));
    let wake = {
        let (waiting, _interrupt) = idle.wait_with_timeout(every);
        tokio::select! {
            () = &mut stopped => Wake::Stopped,
            answer = waiting => match answer.map_err(|e| protocol(url, "IDLE", e))? {
                IdleResponse::NewData(_) => Wake::News,
                IdleResponse::Timeout | IdleResponse::ManualInterrupt => Wake::Timeout,
            },
        }
    };
    // DONE and LOGOUT, briefly: the connection is dropped either way.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        if let Ok(mut session) = idle.done().await {
            let _ = session.logout().await;
        }
    })
    .await;
    Ok(wake)
}
