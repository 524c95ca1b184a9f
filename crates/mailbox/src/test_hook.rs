//! A seam for the end-to-end tests only: with `LEDGER_TEST_KILL_AFTER_COMMIT=N` in the
//! environment, a fetch stops dead after its N-th commit (written to the state file, not yet
//! marked on the server), says so on stderr and waits to be killed, so a test can SIGKILL it
//! exactly between the commit and the mark.

/// The environment variable.
const VARIABLE: &str = "LEDGER_TEST_KILL_AFTER_COMMIT";

/// Called after each commit has been recorded, with the number committed so far in this run.
pub(crate) fn after_commit(committed: u64) {
    let Ok(wanted) = std::env::var(VARIABLE) else {
        return;
    };
    if wanted.trim().parse::<u64>().ok() != Some(committed) {
        return;
    }
    eprintln!("test hook: {committed} messages committed, not marked; waiting for SIGKILL");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
