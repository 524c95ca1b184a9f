//! TODO(parser helper): xml format.
use crate::{Notification, ParseOptions, Result};

/// Parses a xml body.
pub(crate) fn parse(body: &str, options: &ParseOptions) -> Result<Notification> {
    todo!("{} {:?}", body.len(), options.format)
}
