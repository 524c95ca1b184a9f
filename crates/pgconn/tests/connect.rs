//! Connecting to real PostgreSQL clusters (crates/pgtest): one demanding a SCRAM password, one
//! with TLS only (a certificate for `localhost`, signed by a CA the test made). Every test
//! reads its settings against an environment of its own (a fresh HOME), never this machine's
//! `~/.pgpass` or `~/.postgresql/root.crt`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use ledger_pgconn::{ConnError, Environment, PasswordSource, Settings, Warning};
use ledger_pgtest::{Auth, Cluster, Options, TlsOptions};

const USER: &str = "robot";
const PASSWORD: &str = "s3cret:pa\\ss";
const DATABASE: &str = "ledger";

/// A cluster asking for a SCRAM password on TCP, with the role and its database.
fn scram(test: &str) -> Option<Cluster> {
    let options = Options {
        auth: Auth::Scram,
        tls: None,
    };
    let cluster = Cluster::start_or_skip(&options, test)?;
    prepare(&cluster);
    Some(cluster)
}

/// A cluster taking TCP clients over TLS only (hostssl), its certificate for `localhost`
/// only, a SCRAM password asked too.
fn tls_only(test: &str) -> Option<Cluster> {
    let options = Options {
        auth: Auth::Scram,
        tls: Some(TlsOptions::for_names(&["localhost"]).required()),
    };
    let cluster = Cluster::start_or_skip(&options, test)?;
    prepare(&cluster);
    Some(cluster)
}

fn prepare(cluster: &Cluster) {
    cluster.create_role(USER, Some(PASSWORD)).expect("role");
    cluster.create_database(DATABASE, USER).expect("database");
}

/// An environment with a home of its own (no `.pgpass`, no root certificate in it).
fn env(home: &Path) -> Environment {
    Environment::empty()
        .with_os_user("nobody-in-particular")
        .with("HOME", home.display().to_string())
}

/// A password file with `text`, at `mode`.
fn passfile(dir: &Path, text: &str, mode: u32) -> std::path::PathBuf {
    let path = dir.join("pgpass");
    std::fs::write(&path, text).expect("passfile");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

/// Connects, and asks the server who we are, where, and whether over TLS.
async fn whoami(settings: &Settings) -> Result<(String, String, bool), ConnError> {
    let (client, connection) = settings.connect().await?;
    let task = tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT current_user::text, current_database()::text, \
             coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
            &[],
        )
        .await
        .expect("query");
    drop(client);
    task.await.expect("connection task").expect("connection");
    Ok((row.get(0), row.get(1), row.get(2)))
}

fn url(cluster: &Cluster, host: &str, query: &str) -> String {
    format!(
        "postgres://{USER}@{host}:{}/{DATABASE}?{query}",
        cluster.port()
    )
}

fn me(tls: bool) -> (String, String, bool) {
    (USER.to_string(), DATABASE.to_string(), tls)
}

#[tokio::test]
async fn pgpassword_is_the_password_when_the_url_has_none() {
    let Some(cluster) = scram("pgpassword_is_the_password_when_the_url_has_none") else {
        return;
    };
    let home = tempfile::tempdir().expect("home");
    let settings = Settings::parse(
        &url(&cluster, "127.0.0.1", "sslmode=disable"),
        &env(home.path()).with("PGPASSWORD", PASSWORD),
    )
    .expect("settings");
    assert_eq!(
        settings.targets()[0].password_source(),
        &PasswordSource::Environment
    );
    assert_eq!(whoami(&settings).await.expect("connects"), me(false));
    assert!(
        cluster
            .log()
            .contains("connection authenticated: identity=\"robot\" method=scram-sha-256"),
        "the server asked for the password by SCRAM:\n{}",
        cluster.log()
    );
}

#[tokio::test]
async fn a_private_passfile_gives_the_password() {
    let Some(cluster) = scram("a_private_passfile_gives_the_password") else {
        return;
    };
    let home = tempfile::tempdir().expect("home");
    let port = cluster.port();
    // The first two lines do not match (another port, another user); the third does, its
    // password's `:` and `\` escaped.
    let path = passfile(
        home.path(),
        &format!(
            "127.0.0.1:{}:*:{USER}:wrong\n*:*:*:alice:wrong\n\
             # the ledger\n127.0.0.1:{port}:{DATABASE}:{USER}:s3cret\\:pa\\\\ss\n*:*:*:*:last\n",
            port + 1
        ),
        0o600,
    );
    let e = env(home.path()).with("PGPASSFILE", path.display().to_string());
    let settings =
        Settings::parse(&url(&cluster, "127.0.0.1", "sslmode=disable"), &e).expect("settings");
    assert!(settings.warnings().is_empty(), "{:?}", settings.warnings());
    assert_eq!(
        settings.targets()[0].password_source(),
        &PasswordSource::Passfile {
            path: path.clone(),
            line: 4
        }
    );
    assert_eq!(whoami(&settings).await.expect("connects"), me(false));
    // The key=value form finds the same line.
    let settings = Settings::parse(
        &format!("host=127.0.0.1 port={port} user={USER} dbname={DATABASE} sslmode=disable"),
        &e,
    )
    .expect("settings");
    assert_eq!(whoami(&settings).await.expect("connects"), me(false));
}

#[test]
fn the_blocking_client_connects_the_same_way() {
    let Some(cluster) = scram("the_blocking_client_connects_the_same_way") else {
        return;
    };
    let home = tempfile::tempdir().expect("home");
    std::fs::write(
        home.path().join(".pgpass"),
        format!("*:*:{DATABASE}:{USER}:s3cret\\:pa\\\\ss\n"),
    )
    .expect("pgpass");
    std::fs::set_permissions(
        home.path().join(".pgpass"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    // No PGPASSFILE: ~/.pgpass of the (test's) home.
    let settings =
        Settings::parse(&url(&cluster, "127.0.0.1", ""), &env(home.path())).expect("settings");
    let mut client = settings.connect_blocking().expect("connects");
    let row = client
        .query_one("SELECT current_user::text", &[])
        .expect("query");
    assert_eq!(row.get::<_, String>(0), USER);
}

#[tokio::test]
async fn a_wrong_password_says_who_where_and_from_where() {
    let Some(cluster) = scram("a_wrong_password_says_who_where_and_from_where") else {
        return;
    };
    let home = tempfile::tempdir().expect("home");
    let settings = Settings::parse(
        &url(&cluster, "127.0.0.1", "sslmode=disable"),
        &env(home.path()).with("PGPASSWORD", "not-the-password"),
    )
    .expect("settings");
    let error = whoami(&settings).await.expect_err("refused");
    assert!(
        matches!(error, ConnError::Authentication { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "127.0.0.1:{}: password authentication failed for user \"robot\" (the password \
             came from PGPASSWORD)",
            cluster.port()
        )
    );
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("not-the-password"), "{shown}");
    // From the password file: the error names the file and the line.
    let path = passfile(
        home.path(),
        &format!(
            "# old
*:*:*:{USER}:stale-password
"
        ),
        0o600,
    );
    let settings = Settings::parse(
        &url(&cluster, "127.0.0.1", "sslmode=disable"),
        &env(home.path()).with("PGPASSFILE", path.display().to_string()),
    )
    .expect("settings");
    let error = whoami(&settings).await.expect_err("refused");
    assert_eq!(
        error.to_string(),
        format!(
            "127.0.0.1:{}: password authentication failed for user \"robot\" (the password \
             came from the password file \"{}\", line 2)",
            cluster.port(),
            path.display()
        )
    );
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("stale-password"), "{shown}");
}

#[tokio::test]
async fn a_passfile_others_can_read_is_ignored_with_the_warning() {
    let Some(cluster) = scram("a_passfile_others_can_read_is_ignored_with_the_warning") else {
        return;
    };
    let home = tempfile::tempdir().expect("home");
    let path = passfile(
        home.path(),
        &format!("*:*:*:{USER}:s3cret\\:pa\\\\ss\n"),
        0o644,
    );
    let settings = Settings::parse(
        &url(&cluster, "127.0.0.1", "sslmode=disable"),
        &env(home.path()).with("PGPASSFILE", path.display().to_string()),
    )
    .expect("settings");
    let warning = Warning::PassfileInsecure {
        path: path.clone(),
        mode: 0o644,
    };
    assert_eq!(settings.warnings(), std::slice::from_ref(&warning));
    assert_eq!(
        warning.to_string(),
        format!(
            "password file \"{}\" has group or world access (0644); permissions should be u=rw \
             (0600) or less",
            path.display()
        )
    );
    assert_eq!(
        settings.targets()[0].password_source(),
        &PasswordSource::None
    );
    let error = whoami(&settings).await.expect_err("no password");
    assert!(matches!(error, ConnError::NoPassword { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "127.0.0.1:{}: the server asks for a password for user \"robot\", and none was \
             found: no password in the connection string, PGPASSWORD is not set, and {warning}: \
             it was ignored",
            cluster.port()
        )
    );
}

#[tokio::test]
async fn verify_full_checks_the_chain_and_the_host_name() {
    let Some(cluster) = tls_only("verify_full_checks_the_chain_and_the_host_name") else {
        return;
    };
    let home = tempfile::tempdir().expect("home");
    let e = env(home.path()).with("PGPASSWORD", PASSWORD);
    let ca = cluster.tls().expect("tls").ca.display().to_string();
    let verify_full = format!("sslmode=verify-full&sslrootcert={ca}");
    // The certificate is for localhost: verified.
    let settings =
        Settings::parse(&url(&cluster, "localhost", &verify_full), &e).expect("settings");
    assert_eq!(whoami(&settings).await.expect("connects"), me(true));
    // The same server as 127.0.0.1: the name does not match.
    let settings =
        Settings::parse(&url(&cluster, "127.0.0.1", &verify_full), &e).expect("settings");
    let error = whoami(&settings).await.expect_err("wrong name");
    assert!(matches!(error, ConnError::Tls { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "127.0.0.1:{}: TLS (sslmode=verify-full): ",
            cluster.port()
        )) && text.contains("certificate not valid for name \"127.0.0.1\""),
        "{text}"
    );
    // verify-ca checks only the chain: 127.0.0.1 is fine there.
    let settings = Settings::parse(
        &url(
            &cluster,
            "127.0.0.1",
            &format!("sslmode=verify-ca&sslrootcert={ca}"),
        ),
        &e,
    )
    .expect("settings");
    assert_eq!(whoami(&settings).await.expect("connects"), me(true));
}

#[tokio::test]
async fn verify_full_without_the_ca_fails() {
    let Some(cluster) = tls_only("verify_full_without_the_ca_fails") else {
        return;
    };
    let home = tempfile::tempdir().expect("home");
    let e = env(home.path()).with("PGPASSWORD", PASSWORD);
    // No root certificate at all: refused before connecting, saying which file it looked for.
    let error = Settings::parse(&url(&cluster, "localhost", "sslmode=verify-full"), &e)
        .expect_err("no root certificate");
    assert!(matches!(error, ConnError::NoRootCert { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&format!(
            "\"{}\" does not exist",
            home.path().join(".postgresql/root.crt").display()
        )),
        "{error}"
    );
    // Another CA than the one that signed the server's certificate (of the same name, another
    // key): the chain fails on the signature.
    let other = tempfile::tempdir().expect("other CA");
    let other = ledger_pgtest::make_certificates(other.path(), &["localhost".to_string()])
        .expect("another CA");
    let settings = Settings::parse(
        &url(
            &cluster,
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={}", other.ca.display()),
        ),
        &e,
    )
    .expect("settings");
    let error = whoami(&settings).await.expect_err("unknown issuer");
    assert!(matches!(error, ConnError::Tls { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .ends_with("invalid peer certificate: BadSignature"),
        "{error}"
    );
}

#[tokio::test]
async fn require_without_a_ca_encrypts_without_verifying() {
    let Some(cluster) = tls_only("require_without_a_ca_encrypts_without_verifying") else {
        return;
    };
    let home = tempfile::tempdir().expect("home");
    let e = env(home.path()).with("PGPASSWORD", PASSWORD);
    let settings =
        Settings::parse(&url(&cluster, "127.0.0.1", "sslmode=require"), &e).expect("settings");
    assert_eq!(whoami(&settings).await.expect("connects"), me(true));
    // prefer (the default) takes the TLS the server offers.
    let settings = Settings::parse(&url(&cluster, "127.0.0.1", ""), &e).expect("settings");
    assert_eq!(whoami(&settings).await.expect("connects"), me(true));
}

#[tokio::test]
async fn disable_against_a_tls_only_server_fails_clearly() {
    let Some(cluster) = tls_only("disable_against_a_tls_only_server_fails_clearly") else {
        return;
    };
    let home = tempfile::tempdir().expect("home");
    let e = env(home.path()).with("PGPASSWORD", PASSWORD);
    let settings =
        Settings::parse(&url(&cluster, "127.0.0.1", "sslmode=disable"), &e).expect("settings");
    let error = whoami(&settings).await.expect_err("refused");
    assert!(matches!(error, ConnError::Refused { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "127.0.0.1:{}: the server refused: no pg_hba.conf entry for host \"127.0.0.1\", \
             user \"robot\", database \"ledger\", no encryption; sslmode=disable, and the server \
             takes this connection over TLS only (hostssl): use sslmode=verify-full (or require)",
            cluster.port()
        )
    );
}

#[tokio::test]
async fn scram_binds_the_tls_channel() {
    let Some(cluster) = tls_only("scram_binds_the_tls_channel") else {
        return;
    };
    let home = tempfile::tempdir().expect("home");
    let e = env(home.path()).with("PGPASSWORD", PASSWORD);
    // channel_binding=require: SCRAM-SHA-256-PLUS with tls-server-end-point or no connection;
    // the server checks the binding against its own certificate's hash. Even require, which
    // verifies no certificate, is then bound to the server that knows the password's verifier.
    for query in [
        "sslmode=require&channel_binding=require".to_string(),
        format!(
            "sslmode=verify-full&sslrootcert={}&channel_binding=require",
            cluster.tls().expect("tls").ca.display()
        ),
    ] {
        let settings = Settings::parse(&url(&cluster, "localhost", &query), &e).expect("settings");
        assert_eq!(whoami(&settings).await.expect(&query), me(true));
    }
}

#[tokio::test]
async fn a_unix_socket_connects_without_tls_whatever_the_sslmode() {
    let Some(cluster) = tls_only("a_unix_socket_connects_without_tls_whatever_the_sslmode") else {
        return;
    };
    let home = tempfile::tempdir().expect("home");
    // The socket is trusted by the cluster's pg_hba (`local all all trust`); PostgreSQL has
    // no TLS there, so verify-full without any root certificate still connects.
    let settings = Settings::parse(
        &format!(
            "host={} port={} user={USER} dbname={DATABASE} sslmode=verify-full",
            cluster.socket_dir().display(),
            cluster.port()
        ),
        &env(home.path()),
    )
    .expect("settings");
    assert_eq!(whoami(&settings).await.expect("connects"), me(false));
}
