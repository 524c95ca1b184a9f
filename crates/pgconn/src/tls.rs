//! TLS for tokio-postgres through rustls (the ring provider): the `MakeTlsConnect` it calls
//! per host, and the three ways of judging the server's certificate that libpq's sslmodes
//! need: not at all (`prefer`, `require` without a root certificate), the chain only
//! (`verify-ca`, and `require` with one), the chain and the host name (`verify-full`).

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::Socket;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

use crate::{ConnError, Result};

/// How the server's certificate is judged.
#[derive(Debug, Clone)]
pub(crate) enum Verify {
    /// Any certificate (the handshake's signatures are still checked).
    Nothing,
    /// Signed by one of these roots, whatever name it is for.
    Chain(Arc<RootCertStore>),
    /// Signed by one of these roots and valid for the host name connected to.
    Full(Arc<RootCertStore>),
}

/// The roots in a PEM file (one or more `CERTIFICATE` blocks).
pub(crate) fn roots_from_file(path: &Path) -> Result<RootCertStore> {
    let failed = |reason: String| ConnError::RootCert {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        let certificate = certificate.map_err(|e| failed(format!("not PEM: {e}")))?;
        roots
            .add(certificate)
            .map_err(|e| failed(format!("not a CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(failed(
            "holds no certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    Ok(roots)
}

/// The public CAs (Mozilla's list, from webpki-roots): `sslrootcert=system`.
pub(crate) fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    roots
}

/// The `MakeTlsConnect` handed to tokio-postgres: a rustls client configuration, and whether
/// a host name is needed (verify-full checks the certificate against it).
#[derive(Clone)]
pub struct MakeRustls {
    config: Arc<rustls::ClientConfig>,
    needs_name: bool,
}

impl std::fmt::Debug for MakeRustls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MakeRustls")
            .field("needs_name", &self.needs_name)
            .finish_non_exhaustive()
    }
}

impl MakeRustls {
    /// A connector judging certificates as `verify` says, sending the host name (SNI) when
    /// `sni` (libpq's `sslsni`, on by default).
    pub(crate) fn new(verify: &Verify, sni: bool) -> Result<MakeRustls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let verifier: Arc<dyn ServerCertVerifier> = match verify {
            Verify::Nothing => Arc::new(ChainVerifier {
                roots: None,
                algorithms,
            }),
            Verify::Chain(roots) => Arc::new(ChainVerifier {
                roots: Some(roots.clone()),
                algorithms,
            }),
            Verify::Full(roots) => webpki_verifier(roots, &provider)?,
        };
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_setup(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        // What libpq 17 sends; PostgreSQL 17's direct TLS (sslnegotiation=direct) requires it.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        config.enable_sni = sni;
        Ok(MakeRustls {
            config: Arc::new(config),
            needs_name: matches!(verify, Verify::Full(_)),
        })
    }
}

fn tls_setup(reason: String) -> ConnError {
    ConnError::Setting {
        name: "TLS".into(),
        reason,
    }
}

fn webpki_verifier(
    roots: &Arc<RootCertStore>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
        .build()
        .map_err(|e| tls_setup(e.to_string()))
}

impl MakeTlsConnect<Socket> for MakeRustls {
    type Stream = TlsStream;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        let name = match ServerName::try_from(domain.to_string()) {
            Ok(name) => name,
            // No usable name (hostaddr alone): fine when no name is checked; an IP address
            // as the name sends no SNI.
            Err(_) if !self.needs_name => {
                ServerName::IpAddress(IpAddr::V4(Ipv4Addr::UNSPECIFIED).into())
            }
            Err(e) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "no host name to check the server's certificate against ({domain:?}: {e})"
                    ),
                ));
            }
        };
        Ok(RustlsConnect {
            connector: tokio_rustls::TlsConnector::from(self.config.clone()),
            name,
        })
    }
}

/// One TLS handshake with one host.
pub struct RustlsConnect {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = TlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<TlsStream>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            self.connector
                .connect(self.name, stream)
                .await
                .map(|stream| TlsStream(Box::new(stream)))
        })
    }
}

/// A TLS connection to the server.
pub struct TlsStream(Box<tokio_rustls::client::TlsStream<Socket>>);

impl tokio_postgres::tls::TlsStream for TlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        let (_, connection) = self.0.get_ref();
        connection
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|certificate| crate::endpoint::tls_server_end_point(certificate))
            .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point)
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(self.0.as_mut()).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.0.as_mut()).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.0.as_mut()).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.0.as_mut()).poll_shutdown(cx)
    }
}

/// The verifier of `sslmode` `require` and `verify-ca`: with no roots any certificate is
/// accepted (`require`), with roots the chain must lead to one of them, the name unchecked
/// (`verify-ca`, rustls's own chain check: expiry, key usage, signatures). Either way the
/// handshake's signatures are verified with the certificate presented.
#[derive(Debug)]
struct ChainVerifier {
    roots: Option<Arc<RootCertStore>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ChainVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
