//! The process environment a connection string is read against: libpq's `PG*` variables,
//! `HOME` (for `~/.pgpass` and `~/.postgresql/root.crt`) and the OS user name (the default
//! PostgreSQL user). Tests build one by hand instead of changing the process's.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The variables this crate reads, as libpq does.
pub const VARIABLES: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGCONNECT_TIMEOUT",
    "PGAPPNAME",
];

/// A snapshot of the environment (variables set to the empty string count as unset, as in
/// libpq). Its `Debug` output never shows `PGPASSWORD`'s value.
///
/// ```
/// use ledger_pgconn::Environment;
///
/// let env = Environment::empty().with("PGPASSWORD", "s3cret").with("PGPORT", "5433");
/// assert_eq!(env.get("PGPORT"), Some("5433"));
/// assert!(!format!("{env:?}").contains("s3cret"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
    home: Option<PathBuf>,
    os_user: Option<String>,
}

impl Environment {
    /// This process's environment: the [`VARIABLES`], `HOME`, and the OS user's name.
    pub fn process() -> Environment {
        let mut env = Environment::empty();
        for name in VARIABLES {
            if let Ok(value) = std::env::var(name) {
                env = env.with(name, value);
            }
        }
        if let Some(home) = std::env::var_os("HOME").filter(|home| !home.is_empty()) {
            env.home = Some(PathBuf::from(home));
        }
        env.os_user = whoami::username().ok();
        env
    }

    /// No variables, no home directory, no OS user.
    pub fn empty() -> Environment {
        Environment::default()
    }

    /// The same with `name` set to `value` (`HOME` sets the home directory).
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Environment {
        let value = value.into();
        if name == "HOME" {
            self.home = (!value.is_empty()).then(|| PathBuf::from(value));
        } else {
            self.vars.insert(name.to_string(), value);
        }
        self
    }

    /// The same with `user` as the OS user's name.
    pub fn with_os_user(mut self, user: impl Into<String>) -> Environment {
        self.os_user = Some(user.into());
        self
    }

    /// A variable's value, `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// The home directory (`HOME`).
    pub fn home(&self) -> Option<&std::path::Path> {
        self.home.as_deref()
    }

    /// The OS user's name, libpq's default PostgreSQL user.
    pub fn os_user(&self) -> Option<&str> {
        self.os_user.as_deref()
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let vars = self
            .vars
            .iter()
            .map(|(name, value)| {
                let shown = if name == "PGPASSWORD" {
                    "<redacted>"
                } else {
                    value.as_str()
                };
                (name.as_str(), shown)
            })
            .collect::<BTreeMap<_, _>>();
        f.debug_struct("Environment")
            .field("vars", &vars)
            .field("home", &self.home)
            .field("os_user", &self.os_user)
            .finish()
    }
}
