//! Mail decoding (mail-parser): headers into [`MailMeta`], the notification body out.
use crate::{MailMeta, Result};

/// Splits an input into its mail metadata (if it is a mail) and the decoded notification body.
pub(crate) fn split(input: &[u8]) -> Result<(Option<MailMeta>, String)> {
    todo!("{}", input.len())
}
