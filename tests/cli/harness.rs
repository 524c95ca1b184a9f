//! A small harness: a temporary directory, a ledger in it, and a builder that runs the real
//! `ledger` binary, so each test reads as "given these files, this command prints that".

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The repository's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A fixture path.
pub fn fixture(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

/// A scratch directory with a ledger path inside it.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("creating a temporary directory"),
        }
    }

    /// The ledger's directory.
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("ledger")
    }

    /// A path inside the sandbox.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file inside the sandbox (creating parent directories) and returns its path.
    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("creating directories");
        }
        std::fs::write(&path, bytes).expect("writing a file");
        path
    }

    /// Runs `ledger ARGS...`, asserts it succeeded, and returns standard output as JSON.
    #[track_caller]
    pub fn ok_json<I, S>(&self, args: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.ledger().args(args).run().success().json()
    }

    /// Runs `ledger ARGS...`, asserts it succeeded, and returns standard output.
    #[track_caller]
    pub fn ok_stdout<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.ledger().args(args).run().success().stdout()
    }

    /// `ledger --db <sandbox ledger> ARGS...`.
    pub fn ledger(&self) -> Run {
        self.ledger_via(&[])
    }

    /// `WRAPPER... ledger --db <sandbox ledger> ARGS...`: the binary run by another program
    /// (`setpriv --reuid=… --` to run it as another user); no wrapper is [`Sandbox::ledger`].
    pub fn ledger_via(&self, wrapper: &[String]) -> Run {
        self.ledger_at_via(&self.db(), wrapper)
    }

    /// `ledger --db DB ARGS...`, for a ledger elsewhere than the sandbox's.
    pub fn ledger_at(&self, db: &Path) -> Run {
        self.ledger_at_via(db, &[])
    }

    /// [`Sandbox::ledger_via`] for the ledger at `db`.
    pub fn ledger_at_via(&self, db: &Path, wrapper: &[String]) -> Run {
        let binary = env!("CARGO_BIN_EXE_ledger");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command.env_remove("LEDGER_DB").arg("--db").arg(db);
        Run {
            command,
            stdin: None,
        }
    }
}

/// A command being built.
pub struct Run {
    command: Command,
    stdin: Option<Vec<u8>>,
}

impl Run {
    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    /// Feeds standard input.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Runs it.
    pub fn run(mut self) -> Done {
        self.command.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.command.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = self.command.spawn().expect("starting the ledger binary");
        if let Some(bytes) = self.stdin.take() {
            let mut stdin = child.stdin.take().expect("stdin is piped");
            stdin.write_all(&bytes).expect("writing stdin");
        }
        Done {
            output: child
                .wait_with_output()
                .expect("waiting for the ledger binary"),
        }
    }
}

/// A finished run.
pub struct Done {
    pub output: Output,
}

impl Done {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Asserts the exit status, showing both streams when it differs.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            code,
            "exit status\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }

    /// Asserts that standard error contains `needle`, showing it when not.
    #[track_caller]
    pub fn expect_stderr(self, needle: &str) -> Self {
        let stderr = self.stderr();
        assert!(
            stderr.contains(needle),
            "{needle:?} not in stderr:\n{stderr}"
        );
        self
    }

    /// Asserts that standard output contains `needle`, showing it when not.
    #[track_caller]
    pub fn expect_stdout(self, needle: &str) -> Self {
        let stdout = self.stdout();
        assert!(
            stdout.contains(needle),
            "{needle:?} not in stdout:\n{stdout}"
        );
        self
    }

    /// Asserts success (exit 0).
    #[track_caller]
    pub fn success(self) -> Self {
        self.expect_code(0)
    }

    /// Standard output as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.output.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout()))
    }

    /// Standard output as JSON Lines.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout()
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("line is not JSON ({e}): {l}"))
            })
            .collect()
    }
}
