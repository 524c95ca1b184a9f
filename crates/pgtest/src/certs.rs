//! A private CA and a server certificate signed by it, made with the `openssl` command as the
//! IMAP tests make theirs.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::StartError;
use crate::command::run;

/// The files of a cluster's TLS: the CA a client trusts, the server's certificate and key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA certificate (PEM) that signed the server's certificate.
    pub ca: PathBuf,
    /// The server's certificate (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM, mode 0600).
    pub key: PathBuf,
}

/// Makes a CA and a server certificate for `names` (DNS names or IP addresses, as
/// subjectAltNames; the first is the CN too) in `dir`.
pub fn make_certificates(dir: &Path, names: &[String]) -> Result<TlsFiles, StartError> {
    let openssl = |args: &[&str], what: &str| {
        let mut command = Command::new("openssl");
        command.args(args).current_dir(dir);
        run(command, what, "")
    };
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=ledger pgtest CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
        "openssl: making the test CA",
    )?;
    let cn = format!("/CN={}", names.first().map_or("localhost", String::as_str));
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &cn,
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
        "openssl: making the server key",
    )?;
    let alt_names = names
        .iter()
        .map(|name| match name.parse::<IpAddr>() {
            Ok(_) => format!("IP:{name}"),
            Err(_) => format!("DNS:{name}"),
        })
        .collect::<Vec<_>>()
        .join(",");
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        format!(
            "subjectAltName={alt_names}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        ),
    )
    .map_err(StartError::io("writing", &ext))?;
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
        "openssl: signing the server certificate",
    )?;
    Ok(TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    })
}
