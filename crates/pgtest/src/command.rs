//! Running the server's programs: as the `postgres` user when this process is root (initdb
//! and the server refuse root), as this process's user otherwise.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::StartError;

/// Who runs the server's programs and owns the cluster's files.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RunAs {
    /// This process is root: `runuser -u postgres --`, files chowned to that uid and gid.
    Postgres {
        /// The `postgres` user's uid.
        uid: u32,
        /// Its primary gid.
        gid: u32,
    },
    /// This process is not root: it runs the programs itself.
    Myself,
}

impl RunAs {
    /// Finds out whether this process is root and, if so, the `postgres` user's ids.
    pub(crate) fn detect() -> Result<RunAs, StartError> {
        let euid = output("id", &["-u"])?;
        if euid.trim() != "0" {
            return Ok(RunAs::Myself);
        }
        let id = |flag: &str| {
            output("id", &[flag, "postgres"])
                .map_err(|e| StartError::NoServerUser {
                    reason: e.to_string(),
                })?
                .trim()
                .parse::<u32>()
                .map_err(|e| StartError::NoServerUser {
                    reason: format!("`id {flag} postgres` printed no number: {e}"),
                })
        };
        Ok(RunAs::Postgres {
            uid: id("-u")?,
            gid: id("-g")?,
        })
    }

    /// A command for `program` that runs as the cluster's user.
    pub(crate) fn command(self, program: &Path) -> Command {
        match self {
            RunAs::Postgres { .. } => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(program);
                command
            }
            RunAs::Myself => Command::new(program),
        }
    }

    /// Gives `path` to the cluster's user (nothing to do when that is this process's).
    pub(crate) fn own(self, path: &Path) -> Result<(), StartError> {
        match self {
            RunAs::Postgres { uid, gid } => std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(StartError::io("chown to postgres", path)),
            RunAs::Myself => Ok(()),
        }
    }
}

/// Runs `command` to the end, feeding it `stdin`; its standard output, or what failed.
pub(crate) fn run(mut command: Command, what: &str, stdin: &str) -> Result<String, StartError> {
    let program = format!("{:?}", command.get_program());
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| StartError::Spawn {
            program: program.clone(),
            source,
        })?;
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.as_bytes())
            .map_err(|source| StartError::Spawn {
                program: program.clone(),
                source,
            })?;
    }
    let out = child
        .wait_with_output()
        .map_err(|source| StartError::Spawn { program, source })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(StartError::Command {
            what: what.to_string(),
            status: out.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            ),
        })
    }
}

/// The standard output of a short program run as this process.
fn output(program: &str, args: &[&str]) -> Result<String, StartError> {
    let mut command = Command::new(program);
    command.args(args);
    run(command, &format!("{program} {}", args.join(" ")), "")
}
