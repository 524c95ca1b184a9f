//! A throwaway PostgreSQL cluster for tests: `initdb` as the `postgres` user in a temporary
//! directory, the server on 127.0.0.1 at a free port (and a Unix socket in that directory for
//! the superuser), with trust or scram-sha-256 password authentication and optionally TLS
//! (a private CA and a server certificate made by `openssl`). Dropping the [`Cluster`] stops
//! the server by the pid in `postmaster.pid` (SIGINT, a fast shutdown) and removes the
//! directory.
//!
//! When no server binaries are installed, [`Cluster::start`] returns
//! [`StartError::NoServer`], and [`Cluster::start_or_skip`] turns that into a loud skip
//! message (a failure when `CI` or `LEDGER_PGTEST_REQUIRED` is set); every other failure is a
//! failure.
//!
//! It knows nothing of the ledger.

#![warn(missing_docs)]

mod certs;
mod command;
mod error;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub use certs::{TlsFiles, make_certificates};
pub use error::StartError;

use command::{RunAs, run};

/// The superuser of every cluster (it connects over the Unix socket, trusted).
pub const SUPERUSER: &str = "postgres";

/// How clients on 127.0.0.1 authenticate (the superuser on the Unix socket is always trusted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Auth {
    /// No password asked (`trust`).
    #[default]
    Trust,
    /// A password asked by SCRAM-SHA-256 (`scram-sha-256` in pg_hba, `password_encryption`
    /// set to it); make roles with [`Cluster::create_role`].
    Scram,
}

/// TLS on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// The names the server's certificate is for (DNS names or IP addresses).
    pub names: Vec<String>,
    /// Whether TCP clients must use TLS (`hostssl` only in pg_hba); else both are accepted.
    pub required: bool,
}

impl TlsOptions {
    /// TLS with a certificate for `names`, plain TCP clients still accepted.
    pub fn for_names(names: &[&str]) -> TlsOptions {
        TlsOptions {
            names: names.iter().map(|name| name.to_string()).collect(),
            required: false,
        }
    }

    /// The same, with TCP clients that do not use TLS refused.
    pub fn required(mut self) -> TlsOptions {
        self.required = true;
        self
    }
}

/// What kind of cluster to start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// How TCP clients authenticate.
    pub auth: Auth,
    /// TLS, if any.
    pub tls: Option<TlsOptions>,
}

/// A running throwaway cluster; stopped and removed when dropped.
#[derive(Debug)]
pub struct Cluster {
    /// Cleared when the directory is to be removed (dropped after the server stopped).
    root: Option<tempfile::TempDir>,
    root_path: PathBuf,
    bin: PathBuf,
    port: u16,
    pid: Option<u32>,
    tls: Option<TlsFiles>,
}

impl Cluster {
    /// Starts a cluster as `options` say and waits until it accepts connections.
    pub fn start(options: &Options) -> Result<Cluster, StartError> {
        let bin = server_bin()?;
        let run_as = RunAs::detect()?;
        let root = tempfile::Builder::new()
            .prefix("ledger-pgtest-")
            .tempdir()
            .map_err(StartError::io(
                "making a temporary directory in",
                std::env::temp_dir(),
            ))?;
        let root_path = root.path().to_path_buf();
        run_as.own(&root_path)?;
        let data = root_path.join("data");
        let mut initdb = run_as.command(&bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "-A", "trust", "--no-sync", "-E", "UTF8"])
            .arg("--locale=C");
        run(initdb, "initdb", "")?;
        let tls = match &options.tls {
            Some(tls) => {
                let dir = root_path.join("tls");
                std::fs::create_dir(&dir).map_err(StartError::io("making", &dir))?;
                let files = certs::make_certificates(&dir, &tls.names)?;
                for path in [&dir, &files.ca, &files.cert, &files.key] {
                    run_as.own(path)?;
                }
                std::fs::set_permissions(
                    &files.key,
                    std::os::unix::fs::PermissionsExt::from_mode(0o600),
                )
                .map_err(StartError::io("chmod 0600", &files.key))?;
                Some(files)
            }
            None => None,
        };
        write_hba(&data, options)?;
        write_conf(&data, &root_path, tls.as_ref())?;
        let mut cluster = Cluster {
            root: Some(root),
            root_path,
            bin,
            port: 0,
            pid: None,
            tls,
        };
        // A port free now may be taken before the server binds it: try a few.
        let mut last = None;
        for _ in 0..3 {
            cluster.port = free_port()?;
            let mut pg_ctl = run_as.command(&cluster.bin.join("pg_ctl"));
            pg_ctl
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(cluster.root_path.join("log"))
                .args(["-w", "-t", "30", "-o"])
                .arg(format!("-p {}", cluster.port))
                .arg("start");
            match run(pg_ctl, "pg_ctl start", "") {
                Ok(_) => {
                    cluster.pid = Some(cluster.read_pid()?);
                    return Ok(cluster);
                }
                Err(StartError::Command {
                    what,
                    status,
                    output,
                }) => {
                    // A server that started but did not answer in time is still stopped (by
                    // Drop) when it left its pid.
                    if let Ok(pid) = cluster.read_pid() {
                        cluster.pid = Some(pid);
                        return Err(StartError::Command {
                            what,
                            status,
                            output: format!("{output}\nserver log:\n{}", cluster.log()),
                        });
                    }
                    let log = cluster.log();
                    let taken = log.contains("could not bind");
                    last = Some(StartError::Command {
                        what,
                        status,
                        output: format!("{output}\nserver log:\n{log}"),
                    });
                    if !taken {
                        break;
                    }
                }
                Err(other) => return Err(other),
            }
        }
        Err(last.unwrap_or_else(|| StartError::Command {
            what: "pg_ctl start".into(),
            status: "not run".into(),
            output: String::new(),
        }))
    }

    /// Starts a cluster, or, when no server is installed, prints a banner saying `test` is
    /// skipped (to stderr directly, past the test harness's capture) and returns `None`. Panics on any other failure, and on a missing server too
    /// when `CI` or `LEDGER_PGTEST_REQUIRED` is set (there a skip would hide a broken setup).
    pub fn start_or_skip(options: &Options, test: &str) -> Option<Cluster> {
        match Cluster::start(options) {
            Ok(cluster) => Some(cluster),
            Err(error @ StartError::NoServer { .. }) if !required() => {
                let line = "=".repeat(78);
                // Written to stderr itself, not through eprintln!, which the test harness
                // captures (and shows only for failing tests): a skip must be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n{line}\nSKIPPED {test}: no PostgreSQL to test against\n{error}\n{line}\n"
                );
                None
            }
            Err(error) => panic!("{test}: starting a PostgreSQL cluster: {error}"),
        }
    }

    /// The address TCP clients connect to.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The TCP port (the Unix socket in [`Cluster::socket_dir`] has the same number).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory of the server's Unix socket (the superuser's way in).
    pub fn socket_dir(&self) -> &Path {
        &self.root_path
    }

    /// The TLS files, when the cluster has TLS.
    pub fn tls(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root_path.join("log")).unwrap_or_default()
    }

    /// Runs SQL as the superuser (psql over the Unix socket, the SQL on its standard input,
    /// stopping at the first error); psql's output.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, StartError> {
        let mut psql = Command::new(self.bin.join("psql"));
        psql.arg("-h")
            .arg(&self.root_path)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                SUPERUSER,
                "-d",
                database,
            ])
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]);
        run(psql, "psql", sql)
    }

    /// Creates a login role, with a password (stored as a SCRAM verifier) or without.
    pub fn create_role(&self, name: &str, password: Option<&str>) -> Result<(), StartError> {
        let password = password.map_or(String::new(), |p| format!(" PASSWORD {}", literal(p)));
        self.psql(
            "postgres",
            &format!("CREATE ROLE {} LOGIN{password};", identifier(name)),
        )
        .map(drop)
    }

    /// Creates a database owned by `owner`.
    pub fn create_database(&self, name: &str, owner: &str) -> Result<(), StartError> {
        self.psql(
            "postgres",
            &format!(
                "CREATE DATABASE {} OWNER {};",
                identifier(name),
                identifier(owner)
            ),
        )
        .map(drop)
    }

    /// Stops the server (SIGINT to the postmaster: a fast shutdown) and waits until it removed
    /// its `postmaster.pid`; SIGKILL after 20 s. Called by `Drop`; harmless twice.
    pub fn stop(&mut self) {
        let Some(pid) = self.pid.take() else {
            return;
        };
        let pid_file = self.root_path.join("data").join("postmaster.pid");
        let _ = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
        let started = Instant::now();
        while pid_file.exists() && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        if pid_file.exists() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }

    /// The postmaster's pid, the first line of `postmaster.pid`.
    fn read_pid(&self) -> Result<u32, StartError> {
        let path = self.root_path.join("data").join("postmaster.pid");
        let text = std::fs::read_to_string(&path).map_err(StartError::io("reading", &path))?;
        text.lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .ok_or_else(|| StartError::Command {
                what: "reading the postmaster's pid".into(),
                status: "no pid".into(),
                output: format!("{}: {text:?}", path.display()),
            })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        drop(self.root.take());
    }
}

/// Whether a missing server is a failure rather than a skip.
fn required() -> bool {
    ["CI", "LEDGER_PGTEST_REQUIRED"].iter().any(|name| {
        std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
    })
}

/// The server's binary directory: `LEDGER_PG_BIN` if set (and only it), else the newest
/// `/usr/lib/postgresql/*/bin` (Debian's layout), else the directory of `initdb` on `PATH`.
fn server_bin() -> Result<PathBuf, StartError> {
    let mut looked: Vec<String> = Vec::new();
    if let Some(dir) = std::env::var_os("LEDGER_PG_BIN") {
        let dir = PathBuf::from(dir);
        if dir.join("initdb").is_file() {
            return Ok(dir);
        }
        // Named, so no other: a wrong setting must not be papered over by another server.
        return Err(StartError::NoServer {
            looked: format!("{} (LEDGER_PG_BIN)", dir.display()),
        });
    }
    let debian = Path::new("/usr/lib/postgresql");
    let mut versions = std::fs::read_dir(debian)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect::<Vec<_>>();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    looked.push("/usr/lib/postgresql/*/bin".into());
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
            return Ok(dir);
        }
    }
    looked.push("PATH".into());
    Err(StartError::NoServer {
        looked: looked.join(", "),
    })
}

/// pg_hba.conf: the superuser trusted on the Unix socket; TCP from 127.0.0.1 by `options`.
fn write_hba(data: &Path, options: &Options) -> Result<(), StartError> {
    let method = match options.auth {
        Auth::Trust => "trust",
        Auth::Scram => "scram-sha-256",
    };
    let kind = match &options.tls {
        Some(tls) if tls.required => "hostssl",
        _ => "host",
    };
    let path = data.join("pg_hba.conf");
    std::fs::write(
        &path,
        format!("local all all trust\n{kind} all all 127.0.0.1/32 {method}\n"),
    )
    .map_err(StartError::io("writing", &path))
}

/// Settings appended to postgresql.conf (the last setting of a name wins).
fn write_conf(data: &Path, root: &Path, tls: Option<&TlsFiles>) -> Result<(), StartError> {
    let mut conf = format!(
        "\n# ledger-pgtest\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
         password_encryption = 'scram-sha-256'\nfsync = off\nmax_connections = 20\n\
         shared_buffers = 16MB\nlog_connections = on\n",
        root.display()
    );
    if let Some(files) = tls {
        conf.push_str(&format!(
            "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
            files.cert.display(),
            files.key.display()
        ));
    }
    let path = data.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&path).map_err(StartError::io("reading", &path))?;
    text.push_str(&conf);
    std::fs::write(&path, text).map_err(StartError::io("writing", &path))
}

/// A port free on 127.0.0.1 at the moment.
fn free_port() -> Result<u16, StartError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(StartError::io("binding a free port on", "127.0.0.1"))
}

/// An SQL identifier, quoted.
fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An SQL string literal, quoted.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}
