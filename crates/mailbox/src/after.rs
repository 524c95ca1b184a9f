//! `--after`: what a committed message becomes on the server.

use std::fmt;
use std::str::FromStr;

/// What is done to a message on the server once the ledger has committed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// Nothing: the mailbox is opened read-only (EXAMINE); the state file's last UID says
    /// where the next run goes on.
    None,
    /// The `\Seen` flag is set (`UID STORE … +FLAGS.SILENT (\Seen)`).
    Seen,
    /// The message is moved to this folder (`UID MOVE`, or `UID COPY`, `\Deleted` and `UID
    /// EXPUNGE` where the server has no MOVE); the folder is created when it is missing.
    Move(String),
}

/// An `--after` value that is none of `none`, `seen`, `move:FOLDER`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--after {0:?}: write none, seen or move:FOLDER (for example move:Processed)")]
pub struct AfterError(pub String);

impl FromStr for After {
    type Err = AfterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "none" => Ok(After::None),
            "seen" => Ok(After::Seen),
            _ => match text.strip_prefix("move:") {
                Some(folder) if !folder.is_empty() && !folder.chars().any(char::is_control) => {
                    Ok(After::Move(folder.to_string()))
                }
                _ => Err(AfterError(text.to_string())),
            },
        }
    }
}

impl fmt::Display for After {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            After::None => f.write_str("none"),
            After::Seen => f.write_str("seen"),
            After::Move(folder) => write!(f, "move:{folder}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::After;

    #[test]
    fn the_three_forms_and_the_errors() {
        assert_eq!("none".parse(), Ok(After::None));
        assert_eq!("seen".parse(), Ok(After::Seen));
        assert_eq!(
            "move:Processed/AutoDNS".parse(),
            Ok(After::Move("Processed/AutoDNS".into()))
        );
        assert_eq!(
            After::Move("Processed".into()).to_string(),
            "move:Processed"
        );
        for bad in ["", "move:", "delete", "Seen", "move"] {
            let error = bad.parse::<After>().unwrap_err().to_string();
            assert!(
                error.contains("none, seen or move:FOLDER"),
                "{bad}: {error}"
            );
        }
    }
}
