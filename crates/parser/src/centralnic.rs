//! TODO(parser helper): centralnic format.
use crate::{Notification, ParseOptions, Result};

/// Parses a centralnic body.
pub(crate) fn parse(body: &str, options: &ParseOptions) -> Result<Notification> {
    todo!("{} {:?}", body.len(), options.format)
}
