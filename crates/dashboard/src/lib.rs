//! The dashboard of `ledger serve`: one read-only HTML page that shows the ledger the way the
//! people who act on transfers think about it, soonest deadline first.
//!
//! This crate turns the ledger's read functions into that page and knows nothing of HTTP: the
//! server (`crates/server`) routes `/` here, serves [`STYLESHEET`] and [`SCRIPT`], the raw
//! notifications and the live stream, and applies the access rules. The page is rendered by
//! askama templates (`templates/`), which escape every value: a notification is untrusted input,
//! and a status text reading `<script>` shows as text.
//!
//! Invariants:
//! * the page is complete without JavaScript (times in UTC and the source zone, countdowns as
//!   of the page's instant); the script only adds the viewer's own zone, ticking countdowns and
//!   a reload when a new event commits;
//! * nothing is loaded from elsewhere: the stylesheet and the script are compiled in;
//! * a page reads at most [`TRANSFERS_PER_PAGE`] transfers' rows, and bounded lists elsewhere,
//!   so a ledger whose history lost thousands of closing mails still renders at once.

#![warn(missing_docs)]

mod countdown;
mod error;
mod login;
mod page;
mod timeline;
mod when;

pub use countdown::countdown;
pub use error::DashboardError;
pub use login::login_page;
pub use page::{Query, Settings, render};

/// The page's stylesheet, served at `/static/dashboard.css`.
pub const STYLESHEET: &str = include_str!("../assets/dashboard.css");
/// The page's script (plain JavaScript, no library), served at `/static/dashboard.js`.
pub const SCRIPT: &str = include_str!("../assets/dashboard.js");

/// Pending transfers shown on one page; the rest are a link away.
pub const TRANSFERS_PER_PAGE: usize = 200;
