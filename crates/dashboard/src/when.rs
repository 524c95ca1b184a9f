//! An instant as the page shows it: UTC, the source zone, and the RFC 3339 form the script
//! turns into the viewer's own zone.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

/// One instant, ready to show.
#[derive(Debug, Clone)]
pub(crate) struct When {
    /// `2010-05-22 00:43:53 UTC`.
    pub(crate) utc: String,
    /// `02:43:53 CEST` (with the date when it differs from the UTC date).
    pub(crate) local: String,
    /// `2010-05-22T00:43:53Z`, for `<time datetime>` and the script.
    pub(crate) iso: String,
}

impl When {
    pub(crate) fn new(t: DateTime<Utc>, tz: Tz) -> When {
        When {
            utc: ledger_documents::values::utc_text(t),
            local: ledger_documents::values::local_text(t, tz),
            iso: t.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}
