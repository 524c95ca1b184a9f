//! The holder of a ledger: a `ledger serve` answering on the ledger's socket
//! (`PATH/ledger.sock`). While it holds the ledger, the read commands fetch their documents
//! from it and `ingest`/`record-response` hand it their items' bytes; the output is what the
//! command prints alone, rendered from the same documents.
//!
//! The client is HTTP/1.1 over the Unix stream, one connection per request
//! (`Connection: close`), a body of `Content-Length` bytes or chunked.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

use ledger_server::socket::SocketAddress;
use serde_json::Value;

use crate::error::CliError;

/// A ledger's holder that answered a connect.
pub struct Holder {
    address: SocketAddress,
}

/// How a response's body is delimited.
enum Length {
    Exact(u64),
    Chunked,
    ToEnd,
}

impl Holder {
    /// The holder of the ledger at `db`, when its socket is there and something accepts a
    /// connection on it; `None` otherwise (no socket, or a stale one: the store is opened). A
    /// socket this user may not connect to is an error: the store behind it is held.
    pub fn find(db: &Path) -> Result<Option<Holder>, CliError> {
        let Ok(address) = SocketAddress::of(db) else {
            return Ok(None);
        };
        if !address.exists() {
            return Ok(None);
        }
        match address.connect() {
            Ok(_) => Ok(Some(Holder { address })),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                Err(crate::error::socket_denied(&address.path))
            }
            Err(_) => Ok(None),
        }
    }

    /// `GET target`, the JSON document it answers.
    pub fn get_json(&self, target: &str) -> Result<Value, CliError> {
        self.json("GET", target, &[])
    }

    /// `POST target` with `body`, the JSON document it answers.
    pub fn post_json(&self, target: &str, body: &[u8]) -> Result<Value, CliError> {
        self.json("POST", target, body)
    }

    /// `POST target` with a body of `len` bytes read from `body` as it is sent (an item over
    /// the size limit, from its temporary file), the JSON document it answers.
    pub fn post_stream_json(
        &self,
        target: &str,
        len: u64,
        body: &mut dyn Read,
    ) -> Result<Value, CliError> {
        let failed = |e: io::Error| crate::error::holder_failed(&self.address.path, &e);
        let (status, mut reader, length) =
            self.send_from("POST", target, len, body).map_err(failed)?;
        let mut answer = Vec::new();
        copy_body(&mut reader, length, &mut answer).map_err(failed)?;
        if status != 200 {
            return Err(refused(status, &answer));
        }
        serde_json::from_slice(&answer).map_err(|e| failed(io::Error::other(e)))
    }

    /// `GET target`, its body copied to `out` as it arrives (the change feed of `export`).
    pub fn get_to(&self, target: &str, out: &mut dyn Write) -> Result<(), CliError> {
        let failed = |e: io::Error| crate::error::holder_failed(&self.address.path, &e);
        let (status, mut reader, length) = self.send("GET", target, &[]).map_err(failed)?;
        if status != 200 {
            let mut body = Vec::new();
            copy_body(&mut reader, length, &mut body).map_err(failed)?;
            return Err(refused(status, &body));
        }
        copy_body(&mut reader, length, out).map_err(failed)
    }

    fn json(&self, method: &str, target: &str, body: &[u8]) -> Result<Value, CliError> {
        let failed = |e: io::Error| crate::error::holder_failed(&self.address.path, &e);
        let (status, mut reader, length) = self.send(method, target, body).map_err(failed)?;
        let mut answer = Vec::new();
        copy_body(&mut reader, length, &mut answer).map_err(failed)?;
        if status != 200 {
            return Err(refused(status, &answer));
        }
        serde_json::from_slice(&answer).map_err(|e| failed(io::Error::other(e)))
    }

    /// Sends a request and reads the response's head.
    fn send(
        &self,
        method: &str,
        target: &str,
        mut body: &[u8],
    ) -> io::Result<(u16, BufReader<std::os::unix::net::UnixStream>, Length)> {
        self.send_from(method, target, body.len() as u64, &mut body)
    }

    /// Sends a request with a body of `len` bytes from `body` and reads the response's head.
    fn send_from(
        &self,
        method: &str,
        target: &str,
        len: u64,
        body: &mut dyn Read,
    ) -> io::Result<(u16, BufReader<std::os::unix::net::UnixStream>, Length)> {
        let mut stream = self.address.connect()?;
        // A holder that hangs does not hang this command forever (a batch's commit, an export
        // of a large ledger take seconds, not minutes).
        stream.set_write_timeout(Some(std::time::Duration::from_secs(60)))?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(300)))?;
        let head = format!(
            "{method} {target} HTTP/1.1\r\nHost: ledger\r\nConnection: close\r\nContent-Length: \
             {len}\r\n\r\n"
        );
        stream.write_all(head.as_bytes())?;
        let sent = copy_exact(body, len, &mut stream).and_then(|()| stream.flush());
        let mut reader = BufReader::new(stream);
        match sent {
            Ok(()) => {}
            // A holder that answers before it has read the whole body (an item over its
            // limit: 413) closes the connection: its answer is read all the same, and the
            // write's error is said only when there is none.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                ) =>
            {
                return Self::read_head(&mut reader)
                    .map(|(status, length)| (status, reader, length))
                    .map_err(|_| e);
            }
            Err(e) => return Err(e),
        }
        let (status, length) = Self::read_head(&mut reader)?;
        Ok((status, reader, length))
    }

    /// Reads a response's status line and headers: the status and how the body is delimited.
    fn read_head(
        reader: &mut BufReader<std::os::unix::net::UnixStream>,
    ) -> io::Result<(u16, Length)> {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| io::Error::other(format!("not an HTTP response: {:?}", line.trim())))?;
        let mut length = Length::ToEnd;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                let n = value
                    .parse()
                    .map_err(|_| io::Error::other("a bad Content-Length"))?;
                length = Length::Exact(n);
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.eq_ignore_ascii_case("chunked")
            {
                length = Length::Chunked;
            }
        }
        Ok((status, length))
    }
}

/// Copies a response body to `out`.
fn copy_body(reader: &mut impl BufRead, length: Length, out: &mut dyn Write) -> io::Result<()> {
    match length {
        Length::Exact(n) => copy_exact(reader, n, out),
        Length::ToEnd => io::copy(reader, out).map(drop),
        Length::Chunked => {
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                let size = line.trim_end().split(';').next().unwrap_or_default();
                let size = u64::from_str_radix(size.trim(), 16)
                    .map_err(|_| io::Error::other("a bad chunk size"))?;
                if size == 0 {
                    return Ok(());
                }
                copy_exact(reader, size, out)?;
                line.clear();
                reader.read_line(&mut line)?;
            }
        }
    }
}

fn copy_exact(reader: &mut (impl Read + ?Sized), n: u64, out: &mut dyn Write) -> io::Result<()> {
    let copied = io::copy(&mut reader.take(n), out)?;
    if copied < n {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// A response other than 200: its `{"error": …}` as the command's error.
fn refused(status: u16, body: &[u8]) -> CliError {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(String::from))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    crate::error::holder_refused(status, message)
}

/// Says on stderr, in one line, where this client's settings differ from those of the server
/// (`GET /api/v1/settings`) that applies its own to the items handed to it: the source zone,
/// the size limit (`max_size`, when the command has one) and the trust policy in force
/// (`trust`, when the command applies one). Returns the server's settings.
pub fn note_settings(
    holder: &Holder,
    ctx: &crate::context::Context,
    max_size: Option<usize>,
    trust: bool,
) -> Result<Value, CliError> {
    let theirs = holder.get_json("/api/v1/settings")?;
    let mut differences = Vec::new();
    let zone = theirs["source_tz"].as_str().unwrap_or_default();
    if zone != ctx.tz.name() {
        differences.push(format!("source zone {zone} (not {})", ctx.tz.name()));
    }
    if let (Some(mine), Some(limit)) = (max_size, theirs["max_input_size"].as_u64())
        && mine as u64 != limit
    {
        differences.push(format!("size limit {limit} bytes (not {mine})"));
    }
    if trust {
        let policy = &theirs["trust_policy"];
        let mine = ctx.trust_policy_file();
        let my_text = mine
            .as_deref()
            .and_then(|p| std::fs::read_to_string(p).ok());
        if my_text.as_deref() != policy["text"].as_str() {
            let name = |file: Option<String>| file.unwrap_or_else(|| "none".into());
            differences.push(format!(
                "trust policy {} (not {})",
                name(policy["file"].as_str().map(String::from)),
                name(mine.map(|p| p.display().to_string()))
            ));
        }
    }
    if !differences.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "{}",
            crate::error::settings_differ(&differences)
        );
    }
    Ok(theirs)
}

/// Percent-encodes a path segment or a query value (everything but unreserved characters).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunked_bodies_are_joined() {
        let mut reader = &b"5\r\nhello\r\n1;x=y\r\n!\r\n0\r\n\r\n"[..];
        let mut out = Vec::new();
        super::copy_body(&mut reader, super::Length::Chunked, &mut out).expect("chunked");
        assert_eq!(out, b"hello!");
        assert_eq!(super::encode("a b/ü"), "a%20b%2F%C3%BC");
    }
}
