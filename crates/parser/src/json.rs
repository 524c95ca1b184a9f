//! TODO(parser helper): json format.
use crate::{Notification, ParseOptions, Result};

/// Parses a json body.
pub(crate) fn parse(body: &str, options: &ParseOptions) -> Result<Notification> {
    todo!("{} {:?}", body.len(), options.format)
}
