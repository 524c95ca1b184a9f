//! A connection string read the way libpq reads it: the string's settings first, then the
//! `PG*` variables, then libpq's defaults; the password from the string, `PGPASSWORD` or the
//! password file, per host; the sslmode and root certificate turned into a TLS connector.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_postgres::config::Host;

use crate::conninfo::{self, Split};
use crate::passfile::{self, Loaded};
use crate::tls::{self, MakeRustls, Verify};
use crate::{ConnError, Environment, Result, Warning, chain};

/// The Unix socket directories libpq (Debian's, upstream's) looks in when no host is given;
/// the first that exists is used. A password file's `localhost` matches them.
pub const DEFAULT_SOCKET_DIRS: &[&str] = &["/var/run/postgresql", "/run/postgresql", "/tmp"];

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, the certificate not verified; plain otherwise (the
    /// default).
    Prefer,
    /// TLS or no connection; the certificate verified against the root certificate if that
    /// file exists (libpq's rule: then it is `verify-ca`), else not verified.
    Require,
    /// TLS, the certificate signed by a root certificate, whatever host it is for.
    VerifyCa,
    /// TLS, the certificate signed by a root certificate and valid for the host name.
    VerifyFull,
}

impl SslMode {
    /// Its name in a connection string.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn parse(setting: &str, value: &str) -> Result<SslMode> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            "allow" => {
                return Err(ConnError::Unsupported {
                    name: format!("{setting}=allow"),
                    reason: "use sslmode=prefer (TLS when offered) or sslmode=disable",
                });
            }
            other => {
                return Err(ConnError::Setting {
                    name: setting.to_string(),
                    reason: format!(
                        "{other:?} is not one of disable, prefer, require, verify-ca, verify-full"
                    ),
                });
            }
        })
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a host's password came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// The connection string (the URL's `user:password@` or `password=`).
    ConnectionString,
    /// `PGPASSWORD`.
    Environment,
    /// A line of the password file.
    Passfile {
        /// The file.
        path: PathBuf,
        /// The line (1-based).
        line: usize,
    },
    /// No password: the server may not ask for one.
    None,
}

impl fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordSource::ConnectionString => f.write_str("the connection string"),
            PasswordSource::Environment => f.write_str("PGPASSWORD"),
            PasswordSource::Passfile { path, line } => {
                write!(f, "the password file \"{}\", line {line}", path.display())
            }
            PasswordSource::None => f.write_str("nowhere"),
        }
    }
}

/// One host to try, with everything tokio-postgres needs for it.
#[derive(Debug, Clone)]
pub struct Target {
    host: Option<Host>,
    hostaddr: Option<IpAddr>,
    port: u16,
    password: PasswordSource,
    /// Where a password was looked for, for the message when none was found.
    looked: String,
    pub(crate) config: tokio_postgres::Config,
}

impl Target {
    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host: a name or address, or a Unix socket directory.
    pub fn host(&self) -> Option<&Host> {
        self.host.as_ref()
    }

    /// Where this host's password came from.
    pub fn password_source(&self) -> &PasswordSource {
        &self.password
    }

    /// The tokio-postgres settings for this host alone (its `Debug` shows no password).
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// Where a password was looked for and what was found.
    pub(crate) fn looked(&self) -> &str {
        &self.looked
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.host, self.hostaddr) {
            (Some(Host::Unix(dir)), _) => {
                write!(
                    f,
                    "the Unix socket in {} (port {})",
                    dir.display(),
                    self.port
                )
            }
            (Some(Host::Tcp(name)), Some(addr)) => {
                write!(f, "{} ({addr}):{}", bracketed(name), self.port)
            }
            (Some(Host::Tcp(name)), None) => write!(f, "{}:{}", bracketed(name), self.port),
            (None, Some(addr)) => write!(f, "{}:{}", bracketed(&addr.to_string()), self.port),
            (None, None) => write!(f, "?:{}", self.port),
        }
    }
}

/// A connection string read against an environment, ready to connect (see
/// [`Settings::connect`](crate::Settings::connect)). Its `Debug` output shows no password.
///
/// ```
/// use ledger_pgconn::{Environment, PasswordSource, Settings, SslMode};
///
/// let env = Environment::empty().with("PGPASSWORD", "s3cret");
/// let settings = Settings::parse("postgres://robot@db.example:5433/ledger?sslmode=require", &env)?;
/// assert_eq!((settings.user(), settings.dbname()), ("robot", "ledger"));
/// assert_eq!(settings.ssl_mode(), SslMode::Require);
/// let target = &settings.targets()[0];
/// assert_eq!(target.to_string(), "db.example:5433");
/// assert_eq!(target.password_source(), &PasswordSource::Environment);
/// assert!(!format!("{settings:?}").contains("s3cret"));
/// # Ok::<(), ledger_pgconn::ConnError>(())
/// ```
#[derive(Clone)]
pub struct Settings {
    targets: Vec<Target>,
    user: String,
    dbname: String,
    ssl_mode: SslMode,
    verify: Verify,
    pub(crate) tls: MakeRustls,
    warnings: Vec<Warning>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("targets", &self.targets)
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .field("ssl_mode", &self.ssl_mode)
            .field("verify", &self.verify)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Reads `s` (a `postgres://` URL or a `key=value` string) against this process's
    /// environment.
    pub fn read(s: &str) -> Result<Settings> {
        Settings::parse(s, &Environment::process())
    }

    /// Reads `s` against `env`.
    pub fn parse(s: &str, env: &Environment) -> Result<Settings> {
        let split = conninfo::split(s)?;
        for (name, reason) in [
            (
                "sslcert",
                "client certificates are not implemented; use a password",
            ),
            (
                "sslkey",
                "client certificates are not implemented; use a password",
            ),
            (
                "sslpassword",
                "client certificates are not implemented; use a password",
            ),
            ("sslcrl", "certificate revocation lists are not implemented"),
            (
                "sslcrldir",
                "certificate revocation lists are not implemented",
            ),
            (
                "service",
                "pg_service.conf is not read; give the settings themselves",
            ),
        ] {
            if split.get(name).is_some() {
                return Err(ConnError::Unsupported {
                    name: name.to_string(),
                    reason,
                });
            }
        }
        let base: tokio_postgres::Config = if split.rest.trim().is_empty() {
            tokio_postgres::Config::new()
        } else {
            split
                .rest
                .parse()
                .map_err(|e| ConnError::Syntax { reason: chain(&e) })?
        };
        let user = match base.get_user() {
            Some(user) => user.to_string(),
            None => env
                .get("PGUSER")
                .or(env.os_user())
                .ok_or(ConnError::NoUser)?
                .to_string(),
        };
        let dbname = base
            .get_dbname()
            .or(env.get("PGDATABASE"))
            .unwrap_or(&user)
            .to_string();
        let ssl_mode = ssl_mode_of(&split, env)?;
        let sni = split.get("sslsni") != Some("0");
        let mut settings = Settings {
            targets: Vec::new(),
            user,
            dbname,
            ssl_mode,
            verify: Verify::Nothing,
            tls: MakeRustls::new(&Verify::Nothing, sni)?,
            warnings: Vec::new(),
        };
        settings.targets = settings.targets_of(&base, &split, env)?;
        // Only TCP has TLS: a root certificate is looked for only when a host is reached by TCP
        // (libpq ignores sslmode on a Unix socket).
        let tcp = settings
            .targets
            .iter()
            .any(|target| !matches!(target.host, Some(Host::Unix(_))));
        if tcp {
            settings.verify = verify_of(ssl_mode, &split, env)?;
            settings.tls = MakeRustls::new(&settings.verify, sni)?;
        }
        Ok(settings)
    }

    /// The user connecting.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The database connected to.
    pub fn dbname(&self) -> &str {
        &self.dbname
    }

    /// The sslmode in force.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// The hosts, in the order they are tried.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// What was ignored on the way (libpq prints these as WARNINGs): show them to the user.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The hosts with their ports, passwords and tokio-postgres settings.
    fn targets_of(
        &mut self,
        base: &tokio_postgres::Config,
        split: &Split,
        env: &Environment,
    ) -> Result<Vec<Target>> {
        let mut hosts = base.get_hosts().to_vec();
        let mut hostaddrs = base.get_hostaddrs().to_vec();
        if hosts.is_empty() && hostaddrs.is_empty() {
            if let Some(value) = env.get("PGHOST") {
                hosts = value.split(',').map(host_of).collect();
            }
            if let Some(value) = env.get("PGHOSTADDR") {
                hostaddrs = value
                    .split(',')
                    .map(|addr| {
                        addr.parse().map_err(|_| ConnError::Setting {
                            name: "PGHOSTADDR".into(),
                            reason: format!("{addr:?} is not an IP address"),
                        })
                    })
                    .collect::<Result<_>>()?;
            }
        }
        if hosts.is_empty() && hostaddrs.is_empty() {
            let dir = DEFAULT_SOCKET_DIRS
                .iter()
                .find(|dir| Path::new(dir).is_dir())
                .unwrap_or(&DEFAULT_SOCKET_DIRS[0]);
            hosts.push(Host::Unix(PathBuf::from(dir)));
        }
        if !hosts.is_empty() && !hostaddrs.is_empty() && hosts.len() != hostaddrs.len() {
            return Err(ConnError::Setting {
                name: "hostaddr".into(),
                reason: format!("{} hosts but {} hostaddrs", hosts.len(), hostaddrs.len()),
            });
        }
        let count = hosts.len().max(hostaddrs.len());
        let mut ports = base.get_ports().to_vec();
        if ports.is_empty() {
            if let Some(value) = env.get("PGPORT") {
                ports = value
                    .split(',')
                    .map(|port| {
                        if port.is_empty() {
                            return Ok(5432);
                        }
                        port.parse().map_err(|_| ConnError::Setting {
                            name: "PGPORT".into(),
                            reason: format!("{port:?} is not a port number"),
                        })
                    })
                    .collect::<Result<_>>()?;
            } else {
                ports.push(5432);
            }
        }
        if ports.len() != 1 && ports.len() != count {
            return Err(ConnError::Setting {
                name: "port".into(),
                reason: format!(
                    "{} ports for {count} hosts (give one, or one per host)",
                    ports.len()
                ),
            });
        }
        let (password, source) = match base.get_password().filter(|p| !p.is_empty()) {
            Some(password) => (Some(password.to_vec()), PasswordSource::ConnectionString),
            None => match env.get("PGPASSWORD") {
                Some(password) => (
                    Some(password.as_bytes().to_vec()),
                    PasswordSource::Environment,
                ),
                None => (None, PasswordSource::None),
            },
        };
        let passfile = match &password {
            Some(_) => None,
            None => Some(self.load_passfile(split, env)),
        };
        let mut targets = Vec::with_capacity(count);
        for i in 0..count {
            let host = hosts.get(i).cloned();
            let hostaddr = hostaddrs.get(i).copied();
            let port = ports.get(i).copied().unwrap_or(ports[0]);
            let mut config = single_host(base, host.as_ref(), hostaddr, port);
            config.user(&self.user).dbname(&self.dbname);
            let unix = matches!(host, Some(Host::Unix(_)));
            config.ssl_mode(match self.ssl_mode {
                // libpq ignores sslmode on a Unix socket; PostgreSQL has no TLS there.
                _ if unix => tokio_postgres::config::SslMode::Disable,
                SslMode::Disable => tokio_postgres::config::SslMode::Disable,
                SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
                _ => tokio_postgres::config::SslMode::Require,
            });
            if config.get_application_name().is_none()
                && let Some(name) = env.get("PGAPPNAME")
            {
                config.application_name(name);
            }
            if config.get_connect_timeout().is_none()
                && let Some(value) = env.get("PGCONNECT_TIMEOUT")
            {
                let seconds = value.parse::<i64>().map_err(|_| ConnError::Setting {
                    name: "PGCONNECT_TIMEOUT".into(),
                    reason: format!("{value:?} is not a number of seconds"),
                })?;
                if seconds > 0 {
                    config.connect_timeout(std::time::Duration::from_secs(seconds.unsigned_abs()));
                }
            }
            let mut target = Target {
                host,
                hostaddr,
                port,
                password: source.clone(),
                looked: String::new(),
                config,
            };
            match (&password, &passfile) {
                (Some(password), _) => {
                    target.config.password(password.clone());
                }
                (None, Some(loaded)) => {
                    let host_name = passfile_host(&target);
                    let port = port.to_string();
                    let wanted = format!("{host_name}:{port}:{}:{}", self.dbname, self.user);
                    let none = "no password in the connection string, PGPASSWORD is not set";
                    target.looked = match loaded {
                        Loaded::Read(file) => {
                            match file.lookup(&host_name, &port, &self.dbname, &self.user) {
                                Some(found) => {
                                    target.config.password(found.password());
                                    target.password = PasswordSource::Passfile {
                                        path: file.path().to_path_buf(),
                                        line: found.line(),
                                    };
                                    String::new()
                                }
                                None => format!(
                                    "{none}, and no line of the password file \"{}\" matches {wanted}",
                                    file.path().display()
                                ),
                            }
                        }
                        Loaded::Missing(path) => format!(
                            "{none}, and the password file \"{}\" does not exist",
                            path.display()
                        ),
                        Loaded::Ignored(_, warning) => {
                            format!("{none}, and {warning}: it was ignored")
                        }
                        Loaded::Unreadable(path, reason) => format!(
                            "{none}, and the password file \"{}\" could not be read: {reason}",
                            path.display()
                        ),
                    };
                }
                (None, None) => {}
            }
            targets.push(target);
        }
        Ok(targets)
    }

    /// The password file (`passfile`, `PGPASSFILE`, `~/.pgpass`), checked as libpq checks it;
    /// a warning kept when it is ignored.
    fn load_passfile(&mut self, split: &Split, env: &Environment) -> Loaded {
        let path = match split.get("passfile").or(env.get("PGPASSFILE")) {
            Some(path) => PathBuf::from(path),
            None => match env.home() {
                Some(home) => home.join(".pgpass"),
                None => {
                    return Loaded::Unreadable(
                        PathBuf::from("~/.pgpass"),
                        "HOME is not set".into(),
                    );
                }
            },
        };
        let loaded = passfile::load(&path);
        if let Loaded::Ignored(_, warning) = &loaded {
            self.warnings.push(warning.clone());
        }
        loaded
    }
}

/// An IPv6 address in brackets, so that the port after it reads as one.
fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// A host of `PGHOST`: a directory (starting with `/`) is a Unix socket's.
fn host_of(value: &str) -> Host {
    if value.starts_with('/') {
        Host::Unix(PathBuf::from(value))
    } else {
        Host::Tcp(value.to_string())
    }
}

/// The host name a password file line must match: the host as given, `localhost` for a
/// default socket directory, the address when only `hostaddr` was given.
fn passfile_host(target: &Target) -> String {
    match (&target.host, target.hostaddr) {
        (Some(Host::Tcp(name)), _) => name.clone(),
        (Some(Host::Unix(dir)), _) => {
            if DEFAULT_SOCKET_DIRS.iter().any(|d| Path::new(d) == dir) {
                "localhost".to_string()
            } else {
                dir.display().to_string()
            }
        }
        (None, Some(addr)) => addr.to_string(),
        (None, None) => "localhost".to_string(),
    }
}

/// `sslrootcert` (or `PGSSLROOTCERT`), with the name it was given by.
fn root_setting<'a>(split: &'a Split, env: &'a Environment) -> Option<(&'static str, &'a str)> {
    split
        .get("sslrootcert")
        .map(|value| ("sslrootcert", value))
        .or(env
            .get("PGSSLROOTCERT")
            .map(|value| ("PGSSLROOTCERT", value)))
}

/// The sslmode in force: `sslmode`, else `PGSSLMODE`, else `verify-full` with
/// `sslrootcert=system` (which refuses weaker modes, as libpq 16) and `prefer` otherwise.
fn ssl_mode_of(split: &Split, env: &Environment) -> Result<SslMode> {
    let mode = match split.get("sslmode") {
        Some(value) => Some(SslMode::parse("sslmode", value)?),
        None => env
            .get("PGSSLMODE")
            .map(|value| SslMode::parse("PGSSLMODE", value))
            .transpose()?,
    };
    match root_setting(split, env) {
        Some((name, "system")) => match mode.unwrap_or(SslMode::VerifyFull) {
            SslMode::VerifyFull => Ok(SslMode::VerifyFull),
            weak => Err(ConnError::Setting {
                name: name.to_string(),
                reason: format!(
                    "sslrootcert=system (the public CAs) needs sslmode=verify-full, not {weak} \
                     (as libpq)"
                ),
            }),
        },
        _ => Ok(mode.unwrap_or(SslMode::Prefer)),
    }
}

/// How certificates are judged under `mode`, with the root certificate of `sslrootcert` (or
/// `PGSSLROOTCERT`, default `~/.postgresql/root.crt`; `system`: the public CAs).
fn verify_of(mode: SslMode, split: &Split, env: &Environment) -> Result<Verify> {
    let root = root_setting(split, env);
    if let Some((_, "system")) = root {
        return Ok(Verify::Full(Arc::new(tls::system_roots())));
    }
    if matches!(mode, SslMode::Disable | SslMode::Prefer) {
        return Ok(Verify::Nothing);
    }
    let path = match root {
        Some((_, path)) => PathBuf::from(path),
        None => env.home().map_or_else(
            || PathBuf::from("~/.postgresql/root.crt"),
            |home| home.join(".postgresql").join("root.crt"),
        ),
    };
    if !path.exists() {
        return match mode {
            SslMode::Require => Ok(Verify::Nothing),
            _ => Err(ConnError::NoRootCert {
                mode: mode.as_str(),
                path,
            }),
        };
    }
    let roots = Arc::new(tls::roots_from_file(&path)?);
    Ok(match mode {
        SslMode::VerifyFull => Verify::Full(roots),
        _ => Verify::Chain(roots),
    })
}

/// `base` for one host: every setting copied but the hosts, addresses and ports.
fn single_host(
    base: &tokio_postgres::Config,
    host: Option<&Host>,
    hostaddr: Option<IpAddr>,
    port: u16,
) -> tokio_postgres::Config {
    let mut config = tokio_postgres::Config::new();
    if let Some(user) = base.get_user() {
        config.user(user);
    }
    // An empty password counts as none (as libpq), so the password file is still asked.
    if let Some(password) = base.get_password().filter(|p| !p.is_empty()) {
        config.password(password);
    }
    if let Some(dbname) = base.get_dbname() {
        config.dbname(dbname);
    }
    if let Some(options) = base.get_options() {
        config.options(options);
    }
    if let Some(name) = base.get_application_name() {
        config.application_name(name);
    }
    config
        .ssl_mode(base.get_ssl_mode())
        .ssl_negotiation(base.get_ssl_negotiation());
    match host {
        Some(Host::Tcp(name)) => {
            config.host(name);
        }
        Some(Host::Unix(dir)) => {
            config.host_path(dir);
        }
        None => {}
    }
    if let Some(addr) = hostaddr {
        config.hostaddr(addr);
    }
    config.port(port);
    if let Some(timeout) = base.get_connect_timeout() {
        config.connect_timeout(*timeout);
    }
    if let Some(timeout) = base.get_tcp_user_timeout() {
        config.tcp_user_timeout(*timeout);
    }
    config
        .keepalives(base.get_keepalives())
        .keepalives_idle(base.get_keepalives_idle());
    if let Some(interval) = base.get_keepalives_interval() {
        config.keepalives_interval(interval);
    }
    if let Some(retries) = base.get_keepalives_retries() {
        config.keepalives_retries(retries);
    }
    config
        .target_session_attrs(base.get_target_session_attrs())
        .channel_binding(base.get_channel_binding())
        .load_balance_hosts(base.get_load_balance_hosts());
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        Environment::empty()
            .with_os_user("osuser")
            .with("HOME", "/nonexistent-home")
    }

    fn parse(s: &str, env: &Environment) -> Settings {
        Settings::parse(s, env).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn hosts(settings: &Settings) -> Vec<String> {
        settings.targets().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_string_wins_over_the_environment_which_wins_over_the_defaults() {
        let pg_env = env()
            .with("PGHOST", "envhost")
            .with("PGPORT", "6000")
            .with("PGUSER", "envuser")
            .with("PGDATABASE", "envdb");
        let s = parse("postgres://robot@db.example:5433/ledger", &pg_env);
        assert_eq!((s.user(), s.dbname()), ("robot", "ledger"));
        assert_eq!(hosts(&s), ["db.example:5433"]);
        let s = parse("", &pg_env);
        assert_eq!((s.user(), s.dbname()), ("envuser", "envdb"));
        assert_eq!(hosts(&s), ["envhost:6000"]);
        let s = parse("postgres://db.example", &env());
        assert_eq!((s.user(), s.dbname()), ("osuser", "osuser"));
        assert_eq!(hosts(&s), ["db.example:5432"]);
        assert!(matches!(
            Settings::parse("host=h", &Environment::empty()),
            Err(ConnError::NoUser)
        ));
    }

    #[test]
    fn no_host_is_the_default_socket_directory() {
        let s = parse("user=robot", &env());
        let host = s.targets()[0].host().expect("a host");
        assert!(
            matches!(host, Host::Unix(dir) if DEFAULT_SOCKET_DIRS.iter().any(|d| Path::new(d) == dir)),
            "{host:?}"
        );
        // And PGHOST can name a socket directory.
        let s = parse("user=robot", &env().with("PGHOST", "/srv/pg,db2"));
        assert_eq!(
            hosts(&s),
            ["the Unix socket in /srv/pg (port 5432)", "db2:5432"]
        );
    }

    #[test]
    fn a_unix_socket_needs_no_root_certificate() {
        // sslmode is ignored on a Unix socket (libpq's rule): no TLS, no root certificate.
        let s = parse("host=/srv/pg user=u sslmode=verify-full", &env());
        assert_eq!(
            s.targets()[0].config().get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
        // With a TCP host beside it the root certificate is needed.
        assert!(matches!(
            Settings::parse("host=/srv/pg,db2 user=u sslmode=verify-full", &env()),
            Err(ConnError::NoRootCert { .. })
        ));
    }

    #[test]
    fn ipv6_hosts_are_bracketed_in_messages() {
        let s = parse("postgres://u@[2001:db8::1]:5433,db2/d", &env());
        assert_eq!(hosts(&s), ["[2001:db8::1]:5433", "db2:5432"]);
        let s = parse("hostaddr=::1 port=6000 user=u", &env());
        assert_eq!(hosts(&s), ["[::1]:6000"]);
    }

    #[test]
    fn url_and_keyword_forms_read_alike() {
        let e = env().with("PGPASSWORD", "pw");
        let url = parse(
            "postgresql://robot@h1:5433,h2:5434/ledger?application_name=gw&sslmode=require&connect_timeout=7",
            &e,
        );
        let kv = parse(
            "host=h1,h2 port=5433,5434 user=robot dbname=ledger application_name=gw sslmode=require connect_timeout=7",
            &e,
        );
        assert_eq!(hosts(&url), ["h1:5433", "h2:5434"]);
        assert_eq!(hosts(&kv), hosts(&url));
        for (a, b) in url.targets().iter().zip(kv.targets()) {
            assert_eq!(a.config(), b.config());
            assert_eq!(a.config().get_application_name(), Some("gw"));
            assert_eq!(
                a.config().get_connect_timeout(),
                Some(&std::time::Duration::from_secs(7))
            );
            assert_eq!(
                a.config().get_ssl_mode(),
                tokio_postgres::config::SslMode::Require
            );
        }
    }

    #[test]
    fn one_host_copies_every_setting() {
        let s = "host=h port=5433 user=u password=p dbname=d options='-c x=1' application_name=a \
                 connect_timeout=3 tcp_user_timeout=4 keepalives=0 keepalives_idle=5 \
                 keepalives_interval=6 keepalives_retries=7 target_session_attrs=read-write \
                 channel_binding=require load_balance_hosts=random sslnegotiation=direct";
        let base: tokio_postgres::Config = s.parse().expect("parses");
        let copy = single_host(&base, base.get_hosts().first(), None, 5433);
        assert_eq!(copy, base);
    }

    #[test]
    fn the_password_comes_from_the_string_then_pgpassword_then_the_passfile() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pgpass = dir.path().join("pgpass");
        std::fs::write(
            &pgpass,
            "# the ledger\nh1:5432:ledger:robot:one\n*:*:ledger:robot:any\n",
        )
        .expect("write");
        std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
        let e = env().with("PGPASSFILE", pgpass.display().to_string());
        let s = parse(
            "postgres://robot:url@h1/ledger",
            &e.clone().with("PGPASSWORD", "env"),
        );
        assert_eq!(
            s.targets()[0].password_source(),
            &PasswordSource::ConnectionString
        );
        assert_eq!(s.targets()[0].config().get_password(), Some(&b"url"[..]));
        let s = parse(
            "postgres://robot@h1/ledger",
            &e.clone().with("PGPASSWORD", "env"),
        );
        assert_eq!(
            s.targets()[0].password_source(),
            &PasswordSource::Environment
        );
        assert_eq!(s.targets()[0].config().get_password(), Some(&b"env"[..]));
        // An empty password counts as none, as in libpq; the file is read per host.
        let s = parse("host=h1,h2 user=robot password='' dbname=ledger", &e);
        let sources = s
            .targets()
            .iter()
            .map(|t| {
                (
                    t.password_source().clone(),
                    t.config().get_password().map(<[u8]>::to_vec),
                )
            })
            .collect::<Vec<_>>();
        assert_eq!(
            sources,
            [
                (
                    PasswordSource::Passfile {
                        path: pgpass.clone(),
                        line: 2
                    },
                    Some(b"one".to_vec())
                ),
                (
                    PasswordSource::Passfile {
                        path: pgpass.clone(),
                        line: 3
                    },
                    Some(b"any".to_vec())
                ),
            ]
        );
        // No match: nothing set, and the reason kept for the error.
        let s = parse("postgres://alice@h1/ledger", &e);
        assert_eq!(s.targets()[0].password_source(), &PasswordSource::None);
        assert_eq!(
            s.targets()[0].looked(),
            format!(
                "no password in the connection string, PGPASSWORD is not set, and no line of \
                 the password file \"{}\" matches h1:5432:ledger:alice",
                pgpass.display()
            )
        );
        // The passfile setting wins over PGPASSFILE; ~/.pgpass is the default.
        let s = parse("postgres://robot@h1/ledger?passfile=%2Fnone%2Fpgpass", &e);
        assert!(
            s.targets()[0]
                .looked()
                .contains("\"/none/pgpass\" does not exist")
        );
        let s = parse("postgres://robot@h1/ledger", &env());
        assert!(
            s.targets()[0]
                .looked()
                .contains("\"/nonexistent-home/.pgpass\" does not exist")
        );
    }

    #[test]
    fn a_default_socket_directory_is_localhost_in_the_passfile() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pgpass = dir.path().join("pgpass");
        std::fs::write(&pgpass, "localhost:5432:*:robot:local\n").expect("write");
        std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
        let e = env().with("PGPASSFILE", pgpass.display().to_string());
        let s = parse("host=/var/run/postgresql user=robot", &e);
        assert_eq!(
            s.targets()[0].password_source(),
            &PasswordSource::Passfile {
                path: pgpass.clone(),
                line: 1
            }
        );
        let s = parse("host=/srv/other user=robot", &e);
        assert_eq!(s.targets()[0].password_source(), &PasswordSource::None);
    }

    #[test]
    fn sslmodes_and_root_certificates_as_libpq() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = ledger_pgtest::make_certificates(dir.path(), &["localhost".to_string()])
            .expect("openssl");
        let ca = files.ca.display().to_string();
        let e = env();
        let mode = |s: &str, e: &Environment| {
            let s = parse(s, e);
            let verify = match s.verify {
                Verify::Nothing => "nothing",
                Verify::Chain(_) => "chain",
                Verify::Full(_) => "full",
            };
            (s.ssl_mode(), verify)
        };
        assert_eq!(mode("host=h user=u", &e), (SslMode::Prefer, "nothing"));
        assert_eq!(
            mode("host=h user=u sslmode=disable", &e),
            (SslMode::Disable, "nothing")
        );
        assert_eq!(
            mode("host=h user=u sslmode=require", &e),
            (SslMode::Require, "nothing")
        );
        let with_ca = format!("host=h user=u sslrootcert={ca}");
        assert_eq!(
            mode(&format!("{with_ca} sslmode=require"), &e),
            (SslMode::Require, "chain")
        );
        assert_eq!(
            mode(&format!("{with_ca} sslmode=verify-ca"), &e),
            (SslMode::VerifyCa, "chain")
        );
        assert_eq!(
            mode(&format!("{with_ca} sslmode=verify-full"), &e),
            (SslMode::VerifyFull, "full")
        );
        assert_eq!(
            mode(&format!("{with_ca} sslmode=prefer"), &e),
            (SslMode::Prefer, "nothing")
        );
        // PGSSLMODE and PGSSLROOTCERT; ~/.postgresql/root.crt is the default root.
        let env_tls = e
            .clone()
            .with("PGSSLMODE", "verify-full")
            .with("PGSSLROOTCERT", &ca);
        assert_eq!(
            mode("host=h user=u", &env_tls),
            (SslMode::VerifyFull, "full")
        );
        std::fs::create_dir(dir.path().join(".postgresql")).expect("mkdir");
        std::fs::copy(&files.ca, dir.path().join(".postgresql/root.crt")).expect("copy");
        let home = e.clone().with("HOME", dir.path().display().to_string());
        assert_eq!(
            mode("host=h user=u sslmode=require", &home),
            (SslMode::Require, "chain")
        );
        assert_eq!(
            mode("host=h user=u sslmode=verify-ca", &home),
            (SslMode::VerifyCa, "chain")
        );
        // sslrootcert=system: the public CAs, verify-full only.
        assert_eq!(
            mode("host=h user=u sslrootcert=system", &e),
            (SslMode::VerifyFull, "full")
        );
        let error = Settings::parse("host=h user=u sslrootcert=system sslmode=require", &e)
            .expect_err("weak mode with system");
        assert_eq!(
            error.to_string(),
            "sslrootcert: sslrootcert=system (the public CAs) needs sslmode=verify-full, not \
             require (as libpq)"
        );
    }

    #[test]
    fn bad_settings_say_which_and_why() {
        let e = env();
        let error = |s: &str| Settings::parse(s, &e).expect_err(s).to_string();
        assert_eq!(
            error("host=h user=u sslmode=verify-full"),
            "sslmode=verify-full verifies the server's certificate, but the root certificate \
             file \"/nonexistent-home/.postgresql/root.crt\" does not exist: set \
             sslrootcert=FILE (the CA that signed the server's certificate), sslrootcert=system \
             for the public CAs, or a weaker sslmode"
        );
        assert_eq!(
            error("postgres://h/db?sslmode=strict"),
            "sslmode: \"strict\" is not one of disable, prefer, require, verify-ca, verify-full"
        );
        assert_eq!(
            Settings::parse("host=h user=u", &e.clone().with("PGSSLMODE", "nope"))
                .expect_err("PGSSLMODE")
                .to_string(),
            "PGSSLMODE: \"nope\" is not one of disable, prefer, require, verify-ca, verify-full"
        );
        assert_eq!(
            error("host=h user=u sslmode=allow"),
            "sslmode=allow is not supported here: use sslmode=prefer (TLS when offered) or \
             sslmode=disable"
        );
        assert_eq!(
            error("host=h user=u sslcert=/c.pem"),
            "sslcert is not supported here: client certificates are not implemented; use a password"
        );
        assert_eq!(
            error("host=a,b,c port=1,2 user=u"),
            "port: 2 ports for 3 hosts (give one, or one per host)"
        );
        assert_eq!(
            error("postgres://u:secret@h/db?frobnicate=1"),
            "the connection string is not valid: invalid connection string: unknown option `frobnicate`"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "secret stuff").expect("write");
        assert_eq!(
            error(&format!(
                "host=h user=u sslmode=verify-ca sslrootcert={}",
                not_pem.display()
            )),
            format!(
                "root certificate file \"{}\": holds no certificate (-----BEGIN CERTIFICATE-----)",
                not_pem.display()
            )
        );
    }

    #[test]
    fn no_password_in_debug_output() {
        let s = parse(
            "postgres://robot:hunter2@h/db",
            &env().with("PGPASSWORD", "swordfish"),
        );
        let shown = format!("{s:?} {:?}", env().with("PGPASSWORD", "swordfish"));
        assert!(
            !shown.contains("hunter2") && !shown.contains("swordfish"),
            "{shown}"
        );
    }
}
