//! TODO(parser helper): text format.
use crate::{Notification, ParseOptions, Result};

/// Parses a text body.
pub(crate) fn parse(body: &str, options: &ParseOptions) -> Result<Notification> {
    todo!("{} {:?}", body.len(), options.format)
}
