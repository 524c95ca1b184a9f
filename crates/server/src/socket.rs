//! The ledger's Unix socket, `PATH/ledger.sock`: where the holder of a ledger answers the other
//! `ledger` commands run on it. Its file mode (0660, owner and group those of the ledger's
//! directory) is its access control; no token is asked on it.
//!
//! A socket's path must fit `sun_path` (108 bytes with its NUL). A ledger deeper than that is
//! reached through `/proc/self/fd/N/ledger.sock`, `N` a descriptor of the ledger's directory
//! held open while binding or connecting: the kernel resolves the directory through the
//! descriptor, so no `chdir` (which would move every thread of the process) is needed.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The socket's name inside the ledger's directory.
pub const SOCKET_FILE: &str = "ledger.sock";

/// The longest path `bind` and `connect` take (`sun_path` is 108 bytes, NUL included).
const SUN_PATH_MAX: usize = 107;

/// Where a ledger's socket is, and a path to it short enough for `bind` and `connect`.
#[derive(Debug)]
pub struct SocketAddress {
    /// The socket's real path, `PATH/ledger.sock` (for `stat`, `chmod`, `unlink`, messages).
    pub path: PathBuf,
    /// A path of at most 107 bytes that names the same file.
    short: PathBuf,
    /// The open directory `short` goes through, when the real path is too long.
    _dir: Option<File>,
}

impl SocketAddress {
    /// The socket of the ledger at `dir`. Opening the directory (only when its path is too long
    /// for a socket address) can fail: then that error.
    pub fn of(dir: &Path) -> std::io::Result<SocketAddress> {
        let path = dir.join(SOCKET_FILE);
        if path.as_os_str().len() <= SUN_PATH_MAX {
            return Ok(SocketAddress {
                short: path.clone(),
                path,
                _dir: None,
            });
        }
        let handle = File::open(dir)?;
        let short =
            PathBuf::from(format!("/proc/self/fd/{}", handle.as_raw_fd())).join(SOCKET_FILE);
        Ok(SocketAddress {
            path,
            short,
            _dir: Some(handle),
        })
    }

    /// The path to give `bind` or `connect` (valid while `self` lives).
    pub fn bind_path(&self) -> &Path {
        &self.short
    }

    /// Whether a socket file is there at all.
    pub fn exists(&self) -> bool {
        std::fs::symlink_metadata(&self.path).is_ok()
    }

    /// Connects to the socket (blocking), if something answers there.
    pub fn connect(&self) -> std::io::Result<std::os::unix::net::UnixStream> {
        std::os::unix::net::UnixStream::connect(&self.short)
    }
}

/// What is at a ledger's socket before `serve` binds it.
#[derive(Debug, PartialEq, Eq)]
pub enum Before {
    /// Nothing.
    Free,
    /// A socket nobody answers on (its holder was killed): removed.
    StaleRemoved,
    /// Another process answers on it.
    Live,
}

/// Looks at the socket before serving: a stale one is removed, a live one is reported.
pub fn clear_stale(address: &SocketAddress) -> std::io::Result<Before> {
    if !address.exists() {
        return Ok(Before::Free);
    }
    match address.connect() {
        Ok(_) => Ok(Before::Live),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
            ) =>
        {
            match std::fs::remove_file(&address.path) {
                Ok(()) => Ok(Before::StaleRemoved),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Before::StaleRemoved),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// The prefix of the private directories a socket is bound in before it is renamed onto
/// `ledger.sock` (`.ledger.sock.PID.tmp`).
const STAGING_PREFIX: &str = ".ledger.sock.";
/// Their suffix.
const STAGING_SUFFIX: &str = ".tmp";

/// Binds the ledger's socket so that it never has another mode than 0660: it is bound inside
/// a private directory (mode 0700, `PATH/.ledger.sock.PID.tmp`, which nobody else may enter),
/// given its mode and owner there ([`restrict`]), then renamed onto `PATH/ledger.sock` (a bound
/// socket keeps working across a rename) and the private directory removed. Private
/// directories a killed holder left behind are removed first (the caller holds the ledger, so
/// no other process is binding in it). The caller has cleared a stale socket
/// ([`clear_stale`]); the rename replaces whatever is at `ledger.sock` after that.
pub(crate) fn bind(
    address: &SocketAddress,
    dir: &Path,
) -> std::io::Result<std::os::unix::net::UnixListener> {
    use std::os::unix::fs::DirBuilderExt;
    remove_staging(dir)?;
    let staging = dir.join(format!(
        "{STAGING_PREFIX}{}{STAGING_SUFFIX}",
        std::process::id()
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&staging)?;
    let bound = (|| -> std::io::Result<std::os::unix::net::UnixListener> {
        let staged = SocketAddress::of(&staging)?;
        let listener = std::os::unix::net::UnixListener::bind(staged.bind_path())?;
        restrict(&staged.path, dir)?;
        std::fs::rename(&staged.path, &address.path)?;
        Ok(listener)
    })();
    let removed = std::fs::remove_dir_all(&staging);
    let listener = bound?;
    removed?;
    Ok(listener)
}

/// Removes the private directories of [`bind`] a killed holder left in `dir`.
fn remove_staging(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(STAGING_PREFIX)
            && name.ends_with(STAGING_SUFFIX)
            && entry.file_type()?.is_dir()
        {
            match std::fs::remove_dir_all(entry.path()) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Gives the bound socket at `path` mode 0660 and the owner and group of the ledger's
/// directory `dir`: both when this process may (root), else the group alone when this user is
/// in it, else only the mode (the socket then belongs to this user and their group).
fn restrict(path: &Path, dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    let meta = std::fs::metadata(dir)?;
    if std::os::unix::fs::chown(path, Some(meta.uid()), Some(meta.gid())).is_err() {
        let _ = std::os::unix::fs::chown(path, None, Some(meta.gid()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deep_directory_is_reached_through_its_descriptor() {
        let top = tempfile_dir();
        let mut deep = top.clone();
        while deep.as_os_str().len() < 200 {
            deep.push("a-rather-long-directory-name");
        }
        std::fs::create_dir_all(&deep).expect("creating the deep directory");
        let address = SocketAddress::of(&deep).expect("opening the directory");
        assert!(address.bind_path().as_os_str().len() <= SUN_PATH_MAX);
        let listener = bind(&address, &deep).expect("binding");
        assert!(deep.join(SOCKET_FILE).exists());
        assert_eq!(
            std::fs::read_dir(&deep).expect("listing").count(),
            1,
            "only the socket is left"
        );
        address.connect().expect("connecting");
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(deep.join(SOCKET_FILE)).expect("the socket");
            assert_eq!(mode.permissions().mode() & 0o777, 0o660);
        }
        drop(listener);
        assert_eq!(
            clear_stale(&address).expect("clearing"),
            Before::StaleRemoved
        );
        assert!(!deep.join(SOCKET_FILE).exists());
        let _ = std::fs::remove_dir_all(&top);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ledger-socket-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("creating a temporary directory");
        dir
    }
}
