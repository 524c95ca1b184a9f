//! What libpq would print as a WARNING and go on: returned beside the settings, for the
//! caller to show.

use std::path::PathBuf;

/// Something ignored on the way to a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// The password file is readable or writable by its group or others, so it was ignored.
    #[error(
        "password file \"{}\" has group or world access ({mode:04o}); permissions should be \
         u=rw (0600) or less",
        path.display()
    )]
    PassfileInsecure {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The password file is a directory or another non-plain file, so it was ignored.
    #[error("password file \"{}\" is not a plain file", path.display())]
    PassfileNotPlain {
        /// The file.
        path: PathBuf,
    },
}
