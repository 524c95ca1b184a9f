//! The throwaway cluster itself: started, answering, its settings in force, stopped by pid.

use ledger_pgtest::{Auth, Cluster, Options, TlsOptions};

#[test]
fn a_trust_cluster_answers_and_stops_on_drop() {
    let Some(cluster) = Cluster::start_or_skip(&Options::default(), "a_trust_cluster_answers")
    else {
        return;
    };
    let answer = cluster.psql("postgres", "SELECT 40 + 2;").expect("psql");
    assert_eq!(answer.trim(), "42");
    let listen = cluster
        .psql("postgres", "SHOW listen_addresses;")
        .expect("psql");
    assert_eq!(listen.trim(), "127.0.0.1");
    let port = cluster.port();
    let dir = cluster.socket_dir().to_path_buf();
    drop(cluster);
    assert!(!dir.exists(), "the cluster's directory is removed");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens on {port} any more"
    );
}

#[test]
fn a_scram_tls_cluster_has_its_settings() {
    let options = Options {
        auth: Auth::Scram,
        tls: Some(TlsOptions::for_names(&["localhost"]).required()),
    };
    let Some(cluster) = Cluster::start_or_skip(&options, "a_scram_tls_cluster_has_its_settings")
    else {
        return;
    };
    cluster
        .create_role("robot", Some("it's secret"))
        .expect("role");
    cluster
        .create_database("ledger", "robot")
        .expect("database");
    let ssl = cluster.psql("ledger", "SHOW ssl;").expect("psql");
    assert_eq!(ssl.trim(), "on");
    let verifier = cluster
        .psql(
            "postgres",
            "SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = 'robot';",
        )
        .expect("psql");
    assert_eq!(verifier.trim(), "SCRAM-SHA-256$");
    let hba = cluster
        .psql(
            "postgres",
            "SELECT type, auth_method FROM pg_hba_file_rules ORDER BY line_number;",
        )
        .expect("psql");
    assert_eq!(hba.trim(), "local|trust\nhostssl|scram-sha-256");
    assert!(cluster.tls().expect("tls files").ca.is_file());
}
