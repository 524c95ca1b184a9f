//! The schema of a PostgreSQL ledger and its migrations.
//!
//! Each migration is an SQL file in `crates/ledger/migrations/postgres/`, compiled in. The
//! table `ledger_schema` holds one row per migration applied (version, name, when): the
//! database's layout version is the highest. [`migrate`] applies what is missing, each
//! migration in a transaction of its own that first takes a transaction-scoped advisory lock
//! ([`SCHEMA_LOCK`]), so two processes running it at once apply each migration once (the
//! second waits, then finds it applied). A database whose schema is newer than this build's
//! is refused, and so is one whose recorded migrations have other names.

use postgres::Client;

use super::error::{PgError, PgResult, query};

/// A migration: its version (1, 2, …, without gaps), its name (the file's stem) and its SQL.
pub(crate) struct Migration {
    /// The version it brings the schema to.
    pub(crate) version: i32,
    /// The file's stem, recorded in `ledger_schema` and checked on every migrate.
    pub(crate) name: &'static str,
    /// The statements.
    pub(crate) sql: &'static str,
}

/// Every migration of this build, in order.
pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "0001_initial",
    sql: include_str!("../../migrations/postgres/0001_initial.sql"),
}];

/// The schema version this build writes and reads: the last migration's.
pub(crate) const SCHEMA_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The key of the advisory lock every migration transaction takes (`pg_advisory_xact_lock`):
/// "LEDGSCHM" as a big-endian i64, so it is unlikely to meet another application's key.
pub(crate) const SCHEMA_LOCK: i64 = i64::from_be_bytes(*b"LEDGSCHM");

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Migrated {
    /// The schema version found (0: an empty database).
    pub(crate) from: i32,
    /// The version now ([`SCHEMA_VERSION`]).
    pub(crate) to: i32,
}

/// Brings the database's ledger schema to [`SCHEMA_VERSION`]: each missing migration in one
/// transaction under the schema advisory lock, with its `ledger_schema` row. Idempotent;
/// safe to run from several processes at once. Refuses ([`PgError::SchemaNewer`]) a schema
/// newer than this build's, and ([`PgError::SchemaMismatch`]) one whose applied migrations
/// this build names otherwise; neither writes anything.
pub(crate) fn migrate(client: &mut Client) -> PgResult<Migrated> {
    let mut from = None;
    loop {
        let mut txn = client
            .transaction()
            .map_err(query("beginning a migration"))?;
        txn.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .map_err(query("taking the schema lock"))?;
        txn.batch_execute(
            "CREATE TABLE IF NOT EXISTS ledger_schema (
                 version integer PRIMARY KEY CHECK (version > 0),
                 name text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .map_err(query("creating ledger_schema"))?;
        let applied: Vec<(i32, String)> = txn
            .query(
                "SELECT version, name FROM ledger_schema ORDER BY version",
                &[],
            )
            .map_err(query("reading ledger_schema"))?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        let current = applied.last().map_or(0, |(version, _)| *version);
        if current > SCHEMA_VERSION {
            return Err(PgError::SchemaNewer {
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        for (version, name) in &applied {
            let expected = MIGRATIONS
                .iter()
                .find(|migration| migration.version == *version);
            match expected {
                Some(migration) if migration.name == name => {}
                _ => {
                    return Err(PgError::SchemaMismatch {
                        version: *version,
                        found: name.clone(),
                        expected: expected.map_or("(none)", |migration| migration.name),
                    });
                }
            }
        }
        let from = *from.get_or_insert(current);
        let Some(next) = MIGRATIONS
            .iter()
            .find(|migration| migration.version == current + 1)
        else {
            txn.commit().map_err(query("ending a migration"))?;
            return Ok(Migrated { from, to: current });
        };
        txn.batch_execute(next.sql)
            .map_err(query("applying a schema migration"))?;
        txn.execute(
            "INSERT INTO ledger_schema (version, name) VALUES ($1, $2)",
            &[&next.version, &next.name],
        )
        .map_err(query("recording a schema migration"))?;
        txn.commit()
            .map_err(query("committing a schema migration"))?;
    }
}

/// The database's schema version (0 when it has no `ledger_schema` table), read without a
/// lock.
pub(crate) fn schema_version(client: &mut Client) -> PgResult<i32> {
    let row = client
        .query_one(
            "SELECT CASE WHEN to_regclass('ledger_schema') IS NULL THEN 0 END",
            &[],
        )
        .map_err(query("looking for ledger_schema"))?;
    if row.get::<_, Option<i32>>(0) == Some(0) {
        return Ok(0);
    }
    client
        .query_one("SELECT coalesce(max(version), 0) FROM ledger_schema", &[])
        .map(|row| row.get(0))
        .map_err(query("reading ledger_schema"))
}

/// Checks that the database holds a ledger of this build's schema, as every process does
/// before it reads or writes: [`PgError::NoLedger`] without one, [`PgError::SchemaOlder`]
/// (migrate first) or [`PgError::SchemaNewer`] otherwise.
pub(crate) fn require_current(client: &mut Client) -> PgResult<()> {
    match schema_version(client)? {
        0 => Err(PgError::NoLedger),
        SCHEMA_VERSION => Ok(()),
        found if found < SCHEMA_VERSION => Err(PgError::SchemaOlder {
            found,
            supported: SCHEMA_VERSION,
        }),
        found => Err(PgError::SchemaNewer {
            found,
            supported: SCHEMA_VERSION,
        }),
    }
}
