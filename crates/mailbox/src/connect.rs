//! The connection: TCP, TLS (from the start for `imaps://`, by STARTTLS for `imap://`, plain
//! text only to this machine), the greeting and the login.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::types::UnsolicitedResponse;
use async_imap::{Client, Session};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::MailboxError;
use crate::url::{MailboxUrl, Scheme};

/// How long one answer of the server may take (a batch of 50 large mails included).
pub(crate) const ANSWER: Duration = Duration::from_secs(120);

/// How long the TCP connect and the TLS handshake may take.
const CONNECT: Duration = Duration::from_secs(30);

/// How the connection is secured, once it is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `imaps://`: TLS from the first byte.
    Tls,
    /// `imap://`, upgraded by STARTTLS before the login.
    StartTls,
    /// `imap://` to this machine (loopback) whose server offers no STARTTLS: plain text.
    Plain,
}

impl Transport {
    /// `tls`, `starttls` or `plain`.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tls => "tls",
            Transport::StartTls => "starttls",
            Transport::Plain => "plain",
        }
    }
}

/// The byte stream under the IMAP session: TCP, or TLS over TCP.
#[derive(Debug)]
pub enum Stream {
    /// Plain TCP (before STARTTLS, or to loopback without it).
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The TLS client settings: the public CAs (webpki-roots) and those of `ca_file` (PEM).
pub fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, MailboxError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let failed = |reason: String| MailboxError::CaFile {
            path: path.to_path_buf(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
        let mut added = 0;
        for certificate in CertificateDer::pem_slice_iter(&pem) {
            let certificate = certificate.map_err(|e| failed(format!("not PEM: {e}")))?;
            roots
                .add(certificate)
                .map_err(|e| failed(format!("not a CA certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(failed(
                "holds no certificate (-----BEGIN CERTIFICATE-----)".into(),
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MailboxError::CaFile {
            path: ca_file.map(Path::to_path_buf).unwrap_or_default(),
            reason: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Waits for `future` at most `limit`; a timeout is [`MailboxError::Timeout`].
pub(crate) async fn within<T>(
    url: &MailboxUrl,
    during: &'static str,
    limit: Duration,
    future: impl Future<Output = Result<T, MailboxError>>,
) -> Result<T, MailboxError> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| MailboxError::Timeout {
            url: url.to_string(),
            during,
            seconds: limit.as_secs(),
        })?
}

/// A protocol error during `during`.
pub(crate) fn protocol(
    url: &MailboxUrl,
    during: impl Into<String>,
    error: impl std::fmt::Display,
) -> MailboxError {
    MailboxError::Protocol {
        url: url.to_string(),
        during: during.into(),
        message: server_said(&error.to_string()),
    }
}

/// What the server said, out of async-imap's rendering of a `NO` or `BAD`
/// (`code: None, info: Some("[AUTHENTICATIONFAILED] Authentication failed.")`): the text, or
/// the rendering as it is when it has no text.
pub(crate) fn server_said(rendered: &str) -> String {
    for key in ["info: Some(\"", "information: Some(\""] {
        if let Some(start) = rendered.find(key) {
            let rest = &rendered[start + key.len()..];
            let mut text = String::new();
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => text.extend(chars.next()),
                    '"' => return text,
                    _ => text.push(c),
                }
            }
        }
    }
    rendered.to_string()
}

/// Connects, secures the connection as the URL and the server allow, and logs in.
pub async fn login(
    url: &MailboxUrl,
    password: &str,
    tls: Arc<rustls::ClientConfig>,
) -> Result<(Session<Stream>, Transport), MailboxError> {
    let address = url.address();
    let tcp = within(url, "connecting", CONNECT, async {
        TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|source| MailboxError::Connect {
                url: url.to_string(),
                address: address.clone(),
                source,
            })
    })
    .await?;
    let (client, transport) = match url.scheme {
        Scheme::Imaps => {
            let stream = handshake(url, tls, tcp).await?;
            let mut client = Client::new(stream);
            greeting(url, &mut client).await?;
            (client, Transport::Tls)
        }
        Scheme::Imap => {
            let mut client = Client::new(Stream::Plain(tcp));
            greeting(url, &mut client).await?;
            let capabilities = capabilities(url, &mut client).await?;
            if upgrade(url, &capabilities)? == Transport::StartTls {
                within(url, "STARTTLS", ANSWER, async {
                    client
                        .run_command_and_check_ok("STARTTLS", None)
                        .await
                        .map_err(|e| protocol(url, "STARTTLS", e))
                })
                .await?;
                let Stream::Plain(tcp) = client.into_inner() else {
                    return Err(protocol(url, "STARTTLS", "the connection is TLS already"));
                };
                // No greeting after STARTTLS (RFC 3501, 6.2.1).
                (
                    Client::new(handshake(url, tls, tcp).await?),
                    Transport::StartTls,
                )
            } else {
                (client, Transport::Plain)
            }
        }
    };
    let session = within(url, "LOGIN", ANSWER, async {
        client
            .login(&url.user, password)
            .await
            .map_err(|(error, _client)| match error {
                async_imap::error::Error::No(message) | async_imap::error::Error::Bad(message) => {
                    MailboxError::Login {
                        url: url.to_string(),
                        user: url.user.clone(),
                        message: server_said(&message),
                    }
                }
                other => protocol(url, "LOGIN", other),
            })
    })
    .await?;
    Ok((session, transport))
}

/// How an `imap://` connection goes on, given what the server lists before the login:
/// STARTTLS whenever it is offered; plain text only to loopback; refused otherwise.
fn upgrade(url: &MailboxUrl, capabilities: &[String]) -> Result<Transport, MailboxError> {
    if capabilities
        .iter()
        .any(|c| c.eq_ignore_ascii_case("STARTTLS"))
    {
        Ok(Transport::StartTls)
    } else if url.is_loopback() {
        Ok(Transport::Plain)
    } else {
        Err(MailboxError::Plaintext {
            url: url.to_string(),
        })
    }
}

/// The TLS handshake over `tcp`, checking the certificate against the URL's host.
async fn handshake(
    url: &MailboxUrl,
    tls: Arc<rustls::ClientConfig>,
    tcp: TcpStream,
) -> Result<Stream, MailboxError> {
    let failed = |reason: String| MailboxError::Tls {
        url: url.to_string(),
        address: url.address(),
        reason,
    };
    let name = ServerName::try_from(url.host.clone())
        .map_err(|e| failed(format!("{:?} is not a server name: {e}", url.host)))?;
    let stream = within(url, "the TLS handshake", CONNECT, async {
        TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(|e| {
                let reason = e.to_string();
                if reason.contains("CaUsedAsEndEntity") {
                    failed(format!(
                        "{reason}: the server's certificate is a CA certificate; give the \
                         server a certificate signed by that CA (and --ca-file the CA)"
                    ))
                } else {
                    failed(reason)
                }
            })
    })
    .await?;
    Ok(Stream::Tls(Box::new(stream)))
}

/// Reads the server's greeting: `* OK` (or `* PREAUTH`); `* BYE` is a refusal.
async fn greeting(url: &MailboxUrl, client: &mut Client<Stream>) -> Result<(), MailboxError> {
    let response = within(url, "the greeting", ANSWER, async {
        client
            .read_response()
            .await
            .map_err(|e| match e.kind() {
                // A TLS client on a plain port, or the reverse, sees garbage or nothing.
                std::io::ErrorKind::InvalidData => MailboxError::Tls {
                    url: url.to_string(),
                    address: url.address(),
                    reason: e.to_string(),
                },
                _ => protocol(url, "reading the greeting", e),
            })?
            .ok_or_else(|| {
                protocol(
                    url,
                    "reading the greeting",
                    "the server closed the connection",
                )
            })
    })
    .await?;
    match response.parsed() {
        async_imap::imap_proto::Response::Data {
            status: async_imap::imap_proto::Status::Ok | async_imap::imap_proto::Status::PreAuth,
            ..
        } => Ok(()),
        other => Err(protocol(
            url,
            "the greeting",
            format!("the server does not take us: {other:?}"),
        )),
    }
}

/// `CAPABILITY` before the login: the names the server lists.
async fn capabilities(
    url: &MailboxUrl,
    client: &mut Client<Stream>,
) -> Result<Vec<String>, MailboxError> {
    let (tx, rx) = async_channel::bounded(16);
    within(url, "CAPABILITY", ANSWER, async {
        client
            .run_command_and_check_ok("CAPABILITY", Some(tx))
            .await
            .map_err(|e| protocol(url, "CAPABILITY", e))
    })
    .await?;
    let mut names = Vec::new();
    while let Ok(response) = rx.try_recv() {
        if let UnsolicitedResponse::Other(data) = response
            && let async_imap::imap_proto::Response::Capabilities(list) = data.parsed()
        {
            use async_imap::imap_proto::Capability;
            for capability in list {
                names.push(match capability {
                    Capability::Imap4rev1 => "IMAP4rev1".to_string(),
                    Capability::Auth(name) => format!("AUTH={name}"),
                    Capability::Atom(name) => name.to_string(),
                });
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::{Transport, server_said, upgrade};
    use crate::MailboxUrl;

    #[test]
    fn starttls_when_offered_plain_text_only_to_loopback() {
        let remote: MailboxUrl = "imap://robot@mail.example/INBOX".parse().unwrap();
        let local: MailboxUrl = "imap://robot@127.0.0.1:1143/INBOX".parse().unwrap();
        let offered = ["IMAP4rev1".to_string(), "starttls".to_string()];
        let none = ["IMAP4rev1".to_string(), "AUTH=PLAIN".to_string()];
        assert_eq!(upgrade(&remote, &offered).unwrap(), Transport::StartTls);
        assert_eq!(upgrade(&local, &offered).unwrap(), Transport::StartTls);
        assert_eq!(upgrade(&local, &none).unwrap(), Transport::Plain);
        let error = upgrade(&remote, &none).unwrap_err().to_string();
        assert!(
            error.starts_with("imap://robot@mail.example:143/INBOX: the server offers no STARTTLS"),
            "{error}"
        );
    }

    #[test]
    fn the_servers_words_out_of_async_imaps_rendering() {
        assert_eq!(
            server_said(
                r#"code: None, info: Some("[AUTHENTICATIONFAILED] Authentication failed.")"#
            ),
            "[AUTHENTICATIONFAILED] Authentication failed."
        );
        assert_eq!(
            server_said(
                r#"outcome: Outcome { code: None, information: Some("Mailbox doesn't exist: \"Nope\"") }"#
            ),
            r#"Mailbox doesn't exist: "Nope""#
        );
        assert_eq!(server_said("connection lost"), "connection lost");
    }
}
