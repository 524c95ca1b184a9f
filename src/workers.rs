//! The fetchers `ledger serve` runs beside its listeners ([`ledger_server::Worker`]): each
//! fetches from where notifications wait, commits each into the ledger, and only then
//! acknowledges it where it came from.

pub mod maildir;
pub mod poll_autodns;

use std::time::Duration;

/// How long a worker waits after its `failures`-th error in a row: `base`, doubled each time,
/// at most `ceiling` (or `base`, when that is longer).
pub(crate) fn backoff(base: Duration, failures: u32, ceiling: Duration) -> Duration {
    let doubled = base.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    doubled.min(ceiling.max(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let s = Duration::from_secs;
        assert_eq!(backoff(s(60), 1, s(900)), s(60));
        assert_eq!(backoff(s(60), 2, s(900)), s(120));
        assert_eq!(backoff(s(60), 5, s(900)), s(900));
        assert_eq!(backoff(s(60), 99, s(900)), s(900));
        assert_eq!(backoff(s(3600), 3, s(900)), s(3600));
    }
}
