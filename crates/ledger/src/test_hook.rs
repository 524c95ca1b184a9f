//! A seam for the end-to-end tests only: with `LEDGER_TEST_FAIL_VIEWS_STEP=N` in the
//! environment, the views step of this process's N-th write (counted from 1) fails after its
//! log batch was committed, as an I/O error of the views database would, so a test can see the
//! views behind the log (`ledger serve`'s `/readyz` answering 503) and caught up by the next
//! write. Without the variable nothing happens.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::LedgerError;

/// The environment variable.
const VARIABLE: &str = "LEDGER_TEST_FAIL_VIEWS_STEP";

/// The write whose views step fails, read once per process.
fn wanted() -> Option<u64> {
    static WANTED: OnceLock<Option<u64>> = OnceLock::new();
    *WANTED.get_or_init(|| std::env::var(VARIABLE).ok()?.trim().parse().ok())
}

/// Called before each write's views step: the error when this is the write to fail.
pub(crate) fn views_step() -> Result<(), LedgerError> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let Some(wanted) = wanted() else {
        return Ok(());
    };
    if WRITES.fetch_add(1, Ordering::Relaxed) + 1 != wanted {
        return Ok(());
    }
    Err(LedgerError::Storage {
        operation: "updating the views",
        source: sled::Error::Io(std::io::Error::other(format!(
            "{VARIABLE}={wanted}: this write's views step fails (a test hook)"
        ))),
    })
}
