//! Secrets the commands read: tokens and passwords, from a file only the ledger's user may read
//! or from an environment variable, never from a flag (a flag shows in `ps`).

use std::path::Path;

use crate::error::CliError;

/// A secret (`what`: a token, a password) from `file` (which others may not read), its line
/// ending removed, else from the environment variable `env`.
pub(crate) fn secret(
    file: Option<&Path>,
    env: &str,
    flag: &str,
    what: &str,
) -> Result<Option<String>, CliError> {
    let Some(path) = file else {
        return Ok(std::env::var(env).ok().filter(|t| !t.trim().is_empty()));
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        CliError::user(format!("{flag} {}: {e}", path.display())).hint(format!(
            "write the {what} into that file (one line), readable only by the ledger's user"
        ))
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o004 != 0 {
            return Err(CliError::user(format!(
                "{flag} {} is readable by every user: the {what} would not be a secret",
                path.display()
            ))
            .hint(format!("chmod o-r {}", path.display())));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::user(format!("{flag} {}: {e}", path.display())))?;
    let value = text.trim_end_matches(['\r', '\n']).to_string();
    if value.trim().is_empty() {
        return Err(CliError::user(format!(
            "{flag} {} is empty",
            path.display()
        )));
    }
    Ok(Some(value))
}
