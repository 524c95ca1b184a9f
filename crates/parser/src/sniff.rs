//! Sniffing the format of a body.
use crate::{Format, Result};

/// Which format a body is written in.
pub(crate) fn sniff(body: &str) -> Result<Format> {
    todo!("{}", body.len())
}
